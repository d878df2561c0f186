/* The hash chain of each expedient's event log: how an event's hash is computed, and a walk
 * that verifies every chain. Invariant: event n stores the hash of event n-1 (the first one
 * stores 64 zeros) and its own hash over every column that describes it. */
#ifndef ENG_AUDIT_H
#define ENG_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

extern const char eng_genesis_hash[65];

struct eng_event_record {
	const char *expedient_id;
	int64_t seq;
	const char *kind;       /* "action", "timer", "result" */
	const char *action;     /* action, timer or effect name; may be "" */
	const char *actor_kind; /* "citizen", "employee", "system" */
	const char *actor_id;
	const char *from_state; /* "" for none */
	const char *to_state;
	int64_t at_ms;
	const char *payload;    /* the exact JSON text stored */
};

/* SHA-256 (hex) of prev_hash and the record's fields, newline-separated, in a fixed order. */
void eng_event_hash(char out[65], const char *prev_hash, const struct eng_event_record *e);

struct eng_audit_report {
	int64_t expedients, events, broken;
};

/* Walks every event of every expedient (streamed, not loaded at once) and writes one line per
 * broken chain to out: "expedient <id> (<number>): event <seq>: <what is wrong>", naming the
 * first broken link of that chain. Returns 0 when the walk completed (see report->broken) or
 * a negative code if the database failed. */
int eng_audit_verify(struct eng_store *s, FILE *out, struct eng_audit_report *report,
                     struct eng_error *err);

#endif
