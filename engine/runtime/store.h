/* The store: expedients, their hash-chained event log, the registry and receipts over
 * PostgreSQL. eng_store_apply runs one step of the pure engine inside one transaction: the
 * expedient row (optimistic version), the appended event, the registry entry and the receipt
 * commit together or not at all.
 * Thread-safety: a struct eng_store holds one connection; use one per thread. */
#ifndef ENG_STORE_H
#define ENG_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/core/step.h"

struct eng_store;

/* Connects (conninfo as libpq takes it), sets a statement timeout and prepares statements. */
int eng_store_open(struct eng_store **out, const char *conninfo, struct eng_error *err);
void eng_store_close(struct eng_store *s);
/* The non-business days deadlines are counted under (borrowed; must outlive the store). */
void eng_store_set_calendar(struct eng_store *s, const struct eng_calendar *calendar);

/* Checks the connection (reconnecting if it dropped); 0 when PostgreSQL answers. */
int eng_store_ping(struct eng_store *s, struct eng_error *err);
/* Borrowed; valid until eng_store_close. */
PGconn *eng_store_conn(struct eng_store *s);

/* True for a UUID in its canonical 36-character text form (ids in URLs are checked first). */
bool eng_uuid_valid(const char *s);

/* Finds the definition an expedient is pinned to, by content hash; returns NULL if unknown. */
typedef const struct eng_definition *(*eng_definition_lookup)(const char *hash, void *payload);

/* Records a compiled definition (idempotent; keyed by its hash). */
int eng_store_put_definition(struct eng_store *s, const struct eng_definition *def,
                             const char *source, struct eng_error *err);

struct eng_assisted; /* counter.h */
struct eng_command {
	const char *entity_id;
	const char *expedient_id;        /* NULL: create an expedient with the initial state's action */
	const struct eng_definition *def; /* required when creating; ignored otherwise */
	const char *applicant_name;      /* when creating */
	const char *lang;                /* "ca" or "es", the applicant's language, when creating */
	int64_t expected_version;        /* refuse with ENG_ECONFLICT if different; -1 for any */
	/* Not NULL: the expedient must be this applicant's (a citizen acting on their own
	 * expedient); anyone else's is ENG_ENOTFOUND, as if it did not exist. */
	const char *applicant_only;
	/* A client's name for this command (8-200 characters). A second command with the same
	 * key from the same principal gets the first one's outcome (outcome->replayed) and
	 * changes nothing. NULL: no deduplication. */
	const char *idempotency_key;
	int64_t timer_id;                /* > 0: this command fires that timer (marked fired in the same transaction) */
	int64_t outbox_id;               /* > 0: this command reports that outbox row's delivery (marked done) */
	const char *result_json;         /* with outbox_id: the connector's result, stored on the row */
	int outbox_attempts;             /* with outbox_id: the claim's attempt number; a row reclaimed
	                                  * since (lease expired) is not ours to settle */
	bool outbox_dead;                /* with outbox_id: the effect failed for good (row dead, not done) */
	const char *outbox_error;        /* with outbox_dead: why, for operators */
	struct eng_event event;
	/* Binding notifications (notifications.h): settles notification_id as event.outcome
	 * ("accessed" or "rejected") in the same transaction, with its evidence record (JSON);
	 * ENG_ECONFLICT when it was settled first. */
	const char *notification_id;
	const char *notification_by, *notification_auth; /* accessed: who, and how identified */
	const char *notification_evidence;
	/* What the actor says the applicant must do (a request to correct, art. 68): stored in
	 * the event's payload ("reason") and in the content of the binding notification it
	 * makes available. NULL: none. */
	const char *reason;
	/* Assisted filing at the counter (counter.h, art. 12 LPAC): the person's consent, when an
	 * authorised official files for them (event.actor.represents); NULL otherwise. */
	const struct eng_assisted *assisted;
};

struct eng_outcome {
	struct eng_step_result step;     /* the engine's answer (errors for ENG_EINVALID) */
	char expedient_id[40];
	char number[40];                 /* expedient number, e.g. 2026/000001 */
	char registry_number[40];        /* e.g. E/2026/000001, when registered */
	char presented_at[40];           /* ISO 8601 with offset, Europe/Madrid */
	char csv[40];                    /* receipt CSV, when issued */
	char to_state[64];               /* state after the transition */
	int64_t version;                 /* version after the transition */
	bool replayed;                   /* the answer of an earlier command with the same key */
	int n_outbox, n_timers;          /* effects queued and timers armed or cancelled */
};

/* Applies cmd in one transaction. Returns 0 or the step's refusal code (outcome->step says
 * why), ENG_ENOTFOUND for an unknown expedient, ENG_ECONFLICT when the expected version does
 * not match (after retrying internal races), ENG_EUNAVAILABLE when the database fails.
 * arena holds the step's allocations. */
int eng_store_apply(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                    eng_definition_lookup lookup, void *lookup_payload,
                    struct eng_outcome *outcome, struct eng_error *err);

/* Group commit: several commands applied in one transaction, one round trip for all their
 * loads and one for all their writes and the commit. Each command succeeds or fails on its
 * own, with the code eng_store_apply would return (item->rc, item->err); a refused command
 * changes nothing. Creations, commands with an idempotency key and a second command on the
 * same expedient are applied on their own after the shared transaction, and so is every
 * command if the database refuses the shared one. view (may be NULL) receives the expedient
 * as pages show it (struct eng_expedient_view, queries.h). Returns 0, or ENG_EUNAVAILABLE
 * when the database cannot be reached (every item->rc says so). */
struct eng_expedient_view;
struct eng_batch_item {
	const struct eng_command *cmd;   /* in */
	struct eng_expedient_view *view; /* in: where to put the view, or NULL */
	struct eng_outcome out;          /* out */
	int rc;                          /* out */
	struct eng_error err;            /* out */
};
int eng_store_apply_batch(struct eng_store *s, struct eng_arena *arena, struct eng_batch_item *items,
                          size_t n, eng_definition_lookup lookup, void *payload);


/* Moves one running expedient from definition `from` to `to` (a new version of the same
 * tràmit), in one transaction: the expedient must still be pinned to `from`; it takes
 * to_state and data (already mapped by the caller) and one more version, and a "migration"
 * event records both hashes, both states and the data, so audit and replay follow it. The
 * engine's bookkeeping (vars) is kept. Returns 0, ENG_ENOTFOUND, ENG_ECONFLICT (pinned to
 * another definition, or changed meanwhile) or ENG_EUNAVAILABLE. */
struct eng_repin {
	const char *entity_id, *expedient_id;
	const struct eng_definition *from, *to;
	const char *to_state;
	const struct eng_value *data;
	size_t n_data;
	const char *operator_id; /* who ran the migration */
	const char *map_name;    /* the migration map used, or "" */
	int64_t time_ms;
};
int eng_store_repin(struct eng_store *s, const struct eng_repin *r, struct eng_outcome *out,
                    struct eng_error *err);

/* Lists the expedients pinned to a definition, with their state (arena-allocated). */
struct eng_pinned {
	const char *id, *number, *state;
	struct eng_value *data;
	size_t n_data;
};
int eng_store_pinned(struct eng_store *s, struct eng_arena *a, const char *entity_id, const char *hash,
                     struct eng_pinned **out, size_t *n, struct eng_error *err);

#endif
