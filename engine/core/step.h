/* The pure step function: (definition, expedient, event) -> (expedient', effects) or a
 * precise refusal. No I/O, no clock, no randomness: all of that arrives in the event.
 * Invariant: a refused step leaves `out` describing the refusal and changes nothing else. */
#ifndef ENG_STEP_H
#define ENG_STEP_H

#include "model.h"
#include "validate.h"

enum eng_effect_kind {
	ENG_EFFECT_REGISTER_IN, /* create an entry-registry record */
	ENG_EFFECT_RECEIPT,     /* issue a receipt (justificant) carrying `csv` */
};

struct eng_effect {
	enum eng_effect_kind kind;
	const char *csv; /* ENG_EFFECT_RECEIPT */
};

enum { ENG_STEP_MAX_EFFECTS = 8, ENG_STEP_MAX_ERRORS = 32 };

struct eng_step_result {
	int code;                 /* ENG_OK or ENG_EDENIED / ENG_EINVALID / ENG_ECONFLICT / ENG_ENOTFOUND */
	char msg[256];            /* why it was refused (English, for logs and operators) */
	const char *from_state;
	const char *to_state;
	int64_t version;          /* the expedient's version after the step */
	struct eng_value *data;   /* data after the step (allocated in the caller's arena) */
	size_t n_data;
	struct eng_effect effects[ENG_STEP_MAX_EFFECTS];
	size_t n_effects;
	struct eng_field_error errors[ENG_STEP_MAX_ERRORS];
	size_t n_errors;          /* for ENG_EINVALID: form errors (may exceed the array) */
};

/* May actor take `action` (any state) on this expedient? Used to list available actions. */
bool eng_actor_may(const struct eng_action *action, const struct eng_expedient *exp,
                   const struct eng_actor *actor);

/* Applies event to exp (exp->state == NULL means a new expedient in the initial state).
 * Returns out->code. Allocations go to arena. */
int eng_expedient_step(struct eng_step_result *out, struct eng_arena *arena,
                       const struct eng_definition *def, const struct eng_expedient *exp,
                       const struct eng_event *event);

#endif
