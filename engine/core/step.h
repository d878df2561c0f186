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
	/* Added by issue 3: "KIND:TARGET" (e.g. "sign_request:resolucio"), unique within a step.
	 * A connector's result comes back as ENG_EVENT_RESULT with effect_id set to this id and
	 * outcome set to what happened ("signed", "rejected", "paid", "failed", "accessed",
	 * "expired", "done"). Args by kind: NOTIFY channel=binding|informative, audience=
	 * applicant|staff; SIGN_REQUEST signers=r1,r2 order=sequential|parallel need=all|any;
	 * PAYMENT amount_cents; TIMER_SET state, last_day (YYYY-MM-DD, the last day to act). */
	const char *id;
};

/* "register_in", "receipt", "register_out", "document", "notify", "sign_request", "payment",
 * "backoffice", "timer_set", "timer_cancel". */
const char *eng_effect_kind_name(enum eng_effect_kind kind);

enum { ENG_STEP_MAX_EFFECTS = 32, ENG_STEP_MAX_ERRORS = 32 };

/* Why a step was refused, for callers that answer people (the web picks the words). */
enum eng_refusal {
	ENG_REFUSED_NONE,
	ENG_REFUSED_NOT_AVAILABLE,  /* no such action in this state, or a stale timer/result */
	ENG_REFUSED_NOT_ALLOWED,    /* this actor may not take the action */
	ENG_REFUSED_GUARD,          /* the action's guard said no: `reason` says why */
	ENG_REFUSED_REQUIREMENT,    /* a fee unpaid or a document unsigned: `reason` says which */
	ENG_REFUSED_INVALID_FORM,   /* `errors` name each field */
	ENG_REFUSED_DEADLINE_PASSED, /* the state's deadline ran out before the event */
	ENG_REFUSED_ENVIRONMENT,    /* no calendar for a deadline, or a calendar year missing */
	ENG_REFUSED_FUNCTION,       /* designer code failed (msg names file:line) */
	ENG_REFUSED_REPLAY,         /* the recorded results do not match the calls */
};

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
	/* Added by issue 3. */
	enum eng_refusal refusal;
	struct eng_text reason;   /* a citizen-readable reason, for guards and requirements */
	const char *action;       /* the action taken (for timers and results: the one they ran) */
	struct eng_value *vars;   /* the engine's bookkeeping after the step (see eng_expedient) */
	size_t n_vars;
	struct eng_fn_record *records; /* designer functions run, in call order: store them in the
	                                * event and hand them back for a replay */
	size_t n_records;
};

/* May actor take `action` (any state) on this expedient? Used to list available actions.
 * A citizen acting for the applicant (actor->represents) passes for applicant actions; the
 * step also checks that the tràmit admits representatives or assisted filing. */
bool eng_actor_may(const struct eng_action *action, const struct eng_expedient *exp,
                   const struct eng_actor *actor);

/* Applies event to exp (exp->state == NULL means a new expedient in the initial state).
 * Returns out->code. Allocations go to arena.
 *
 * Events:
 * - ENG_EVENT_ACTION: an actor takes action `action` of the current state.
 * - ENG_EVENT_TIMER: timer "deadline.STATE" moves the expedient to the state's on_expiry (by
 *   the system actor), "alert.STATE" notifies staff, "resolution" applies the silence
 *   (def->on_silence). A timer for a state the expedient has left is refused
 *   (ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE): the runtime drops it.
 * - ENG_EVENT_RESULT: effect `effect_id` finished with `outcome`; "paid" and "signed" are
 *   remembered in vars, and the state's `on` table may run a system action.
 *
 * Designer functions run through def->host, and each result is listed in out->records. With
 * event->replay the host is never called: the k-th call takes event->recorded[k], which must
 * be for the same function. Deadlines need event->calendar unless they count natural days
 * without rolling. */
int eng_expedient_step(struct eng_step_result *out, struct eng_arena *arena,
                       const struct eng_definition *def, const struct eng_expedient *exp,
                       const struct eng_event *event);

#endif
