/* Replay: rebuild an expedient from its stored event log with the pure step function, using
 * what was recorded (form values, designer functions' results, CSVs, outcomes, the actor's
 * roles) instead of running anything again, and compare with the stored row. Invariant: a
 * log written by eng_store_apply replays to exactly the stored state, version, data and
 * bookkeeping. */
#ifndef ENG_REPLAY_H
#define ENG_REPLAY_H

#include <stdio.h>

#include "store.h"

struct eng_replay_report {
	int64_t expedients, events, mismatched;
};

/* Replays one expedient. Returns 0 when it reproduces, 1 with why filled when it does not
 * (naming the event or the column that differs), or a negative code. */
int eng_replay_expedient(struct eng_store *s, const char *expedient_id, eng_definition_lookup lookup,
                         void *lookup_payload, const struct eng_calendar *calendar, char *why,
                         size_t why_len, int64_t *n_events, struct eng_error *err);

/* Replays every expedient, writing one line per mismatch to out. */
int eng_replay_all(struct eng_store *s, eng_definition_lookup lookup, void *lookup_payload,
                   const struct eng_calendar *calendar, FILE *out, struct eng_replay_report *report,
                   struct eng_error *err);

#endif
