/* Background workers of a server process: dispatchers deliver outbox rows to connectors and
 * schedulers fire timers that came due. Any number of processes may run them over one
 * database: rows are claimed with FOR UPDATE SKIP LOCKED, never owned, and a claim whose
 * worker died is reaped after its lease. LISTEN/NOTIFY wakes idle workers; polling is only a
 * fallback. Delivery is at least once, with the row's idempotency key; the result, or the
 * timer, becomes an event applied in one transaction with marking the row done.
 * Thread-safety: eng_workers_* are called from one thread; the workers run their own. */
#ifndef ENG_WORKER_H
#define ENG_WORKER_H

#include <stdint.h>

#include "engine/core/delivery.h"
#include "store.h"

/* Called on a worker thread, outside any transaction. */
typedef void (*eng_deliver_fn)(const struct eng_outbox_item *item, struct eng_delivery *out,
                               void *payload);

struct eng_worker_config {
	const char *conninfo;
	const char *name;           /* recorded as claimed_by, e.g. host:pid */
	int dispatchers;            /* outbox threads (0 for none; a server runs 2) */
	int schedulers;             /* timer threads (0 for none; a server runs 2) */
	int batch;                  /* rows per claim, committed together (default 128) */
	int max_attempts;           /* then the row is dead (default 8) */
	int lease_ms;               /* a claim older than this is reaped (default 300000) */
	int backoff_base_ms;        /* first retry delay, doubled per attempt, with jitter (default 1000) */
	int backoff_max_ms;         /* cap on one delay (default 3600000) */
	eng_deliver_fn deliver;
	void *deliver_payload;
	eng_definition_lookup lookup;
	void *lookup_payload;
	const struct eng_calendar *calendar; /* for deadlines that timers and results arm; borrowed */
};

struct eng_worker_stats {
	int64_t delivered, retried, dead, reaped;
	int64_t timers_fired, timers_refused; /* refused: the engine had no use for the timer */
};

struct eng_workers;

/* Starts the threads; each opens its own connection. Returns 0 or a negative code. */
int eng_workers_start(struct eng_workers **out, const struct eng_worker_config *cfg,
                      struct eng_error *err);
/* Asks every thread to stop, wakes them and joins them. Accepts NULL. */
void eng_workers_stop(struct eng_workers *w);
void eng_workers_stats(struct eng_workers *w, struct eng_worker_stats *out);

/* The delay before retry number `attempt` (1-based): d = min(max, base * 2^(attempt-1)), then
 * "equal jitter" d/2 + rnd * d/2, so delays still grow but failing rows do not retry in
 * lockstep. rnd is in [0, 1). */
int64_t eng_backoff_ms(int attempt, int base_ms, int max_ms, double rnd);

#endif
