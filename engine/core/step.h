/* The pure step function: (definition, expedient, event) -> (expedient', effects) or a
 * precise refusal. No I/O, no clock, no randomness: all of that arrives in the event.
 * Invariant: a refused step leaves `out` describing the refusal and changes nothing else. */
#ifndef ENG_STEP_H
#define ENG_STEP_H

#include "model.h"
#include "validate.h"

/* What a transition asks the world to do. The runtime handles the first two inside the
 * transition's transaction (they are local writes); TIMER_* become timer rows in the same
 * transaction; every other kind becomes an outbox row, delivered later to a connector with an
 * idempotency key, whose result comes back as an ENG_EVENT_RESULT. */
enum eng_effect_kind {
	ENG_EFFECT_REGISTER_IN,   /* create an entry-registry record */
	ENG_EFFECT_RECEIPT,       /* issue a receipt (justificant) carrying `csv` */
	ENG_EFFECT_REGISTER_OUT,  /* create an exit-registry record (target: the document) */
	ENG_EFFECT_DOCUMENT,      /* generate a document from template `target` */
	ENG_EFFECT_NOTIFY,        /* notify the applicant: target = template; args: channel, ... */
	ENG_EFFECT_SIGN_REQUEST,  /* start a signature circuit for document `target` */
	ENG_EFFECT_PAYMENT,       /* open a payment order: target = fee name; args: amount_cents */
	ENG_EFFECT_BACKOFFICE,    /* call back-office integration `target` with args */
	ENG_EFFECT_TIMER_SET,     /* arm timer `target` at due_ms; when due it fires ENG_EVENT_TIMER */
	ENG_EFFECT_TIMER_CANCEL,  /* disarm timer `target` */
};

struct eng_effect {
	enum eng_effect_kind kind;
	const char *csv;             /* ENG_EFFECT_RECEIPT */
	const char *target;          /* template, document, fee, integration or timer name */
	int64_t due_ms;              /* ENG_EFFECT_TIMER_SET: when it fires (Unix ms) */
	const struct eng_value *args; /* kind-specific parameters, recorded as given */
	size_t n_args;
};

/* "register_in", "receipt", "register_out", "document", "notify", "sign_request", "payment",
 * "backoffice", "timer_set", "timer_cancel". */
const char *eng_effect_kind_name(enum eng_effect_kind kind);

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
