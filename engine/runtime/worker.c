/* Dispatcher and scheduler threads. Each thread has its own connection, claims a batch of
 * rows with FOR UPDATE SKIP LOCKED (only live rows, through partial indexes), works on them
 * outside any transaction, and settles each one in the transaction that records its event.
 * When there is nothing to do it sleeps on its connection's socket until a NOTIFY, the next
 * due time, or a stop request on its pipe.
 *
 * Claims start at a lower bound instead of the head of the queue's index (issue 4). A row
 * that leaves 'pending' (or 'armed') leaves its entry in the partial index until vacuum
 * removes it; an index scan from the head walks every such entry, and while any snapshot
 * older than the claims is open (a report, a backup, a long transition) it must visit the
 * heap for each of them, so a burst drained in batches costs O(n^2). Measured with a reader's
 * snapshot open (bench/outbox --snapshot 1, 30,000 effects): 121 entries of outbox_ready read
 * per effect from the head, 8 to 13 from the bound (docs/operations.md). The bound is one of:
 *   - after a full batch, the newest (time, id) this thread claimed: the next batch of a
 *     backlog starts where the last one ended (exact cursor);
 *   - otherwise now() - CLAIM_MARGIN_MS: a row is claimed within the margin of coming due,
 *     including rows of transactions that committed out of their start order;
 *   - a sweep from the head, at most every SWEEP_MS and only after something happened (a
 *     NOTIFY, a claim, a reap, a reconnection, or a sleep that ran out: the polling
 *     fallback): it takes whatever sits behind the bound (a timer armed already overdue, a
 *     row whose claimer failed, a reaped claim, a row re-queued without a NOTIFY).
 * So nothing waits behind the bound for longer than SWEEP_MS once anything happens, and an
 * idle worker sweeps only when its sleep runs out (at most once a minute).
 * Time-partitioned tables were considered and not chosen: a partitioned table
 * cannot keep outbox.idempotency_key unique, nor timer_one_live (one live timer per
 * expedient and name), across partitions, and the done rows are read afterwards (payment
 * orders, taxes, bank collections), so partitions could not be dropped.
 *
 * A claim commits asynchronously (synchronous_commit off for its transaction): a claim lost
 * in a crash of PostgreSQL leaves the row pending, the same as a claim whose worker died and
 * was reaped, and the next delivery carries the same idempotency key; the settling
 * transaction, which records the result, commits synchronously and flushes the claim's WAL
 * with it. That is one WAL flush less per batch, so a dispatcher is back sooner to claim what
 * came in meanwhile, which is what an effect's claim latency mostly waited for. */
#include "worker.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "notifications.h"
#include "store_internal.h"

enum { ROLE_DISPATCHER, ROLE_SCHEDULER };

struct eng_workers {
	struct eng_worker_config cfg;
	int stop_pipe[2];
	atomic_bool stop;
	pthread_t *threads;
	int n_threads;
	struct thread_arg *args;
	pthread_mutex_t lock;
	struct eng_worker_stats stats;
};

struct thread_arg {
	struct eng_workers *w;
	int role;
	int index;
};

/* See the top of the file: how often a thread sweeps from the head of its queue when something
 * happened, and how far behind now() its ordinary claims start. */
enum { SWEEP_MS = 1000, CLAIM_MARGIN_MS = 2 * SWEEP_MS };

/* The claims' lower bound on (time, id): $3 the exact cursor in microseconds since the epoch
 * (with $4 its id), or NULL with $4 = 0 for now() - $5 ms, or NULL with $4 = -1 for a sweep.
 * Each claim returns its rows' times in microseconds (exact: extract gives a numeric). */
#define CLAIM_BOUND(col)                                                                          \
	"(" col ", id) > (CASE WHEN $3::bigint IS NOT NULL THEN timestamptz 'epoch' + "               \
	"$3::bigint * interval '1 microsecond' WHEN $4::bigint < 0 THEN timestamptz '-infinity' "     \
	"ELSE now() - $5::bigint * interval '1 millisecond' END, $4::bigint) "
#define MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* The claims lock their rows in a subquery whose ids the UPDATE finds through the primary
 * key: written as IN (subquery), the generic plan (store.c) joined them to a sequential scan
 * of the whole table, done rows included (measured: 30 ms a claim at 30,000 rows). */
static const char *const statements[][2] = {
	{"outbox_claim",
	 "UPDATE outbox SET state = 'claimed', claimed_by = $1, claimed_at = now(), attempts = attempts + 1 "
	 "WHERE id = ANY (ARRAY(SELECT id FROM outbox WHERE state = 'pending' AND run_at <= now() AND "
	 CLAIM_BOUND("run_at") "ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)) "
	 "RETURNING id, entity_id, expedient_id, kind, coalesce(target, ''), args::text, "
	 "idempotency_key, attempts, coalesce(effect_id, ''), " MICROS("run_at")},
	{"outbox_retry",
	 "UPDATE outbox SET state = 'pending', run_at = now() + make_interval(secs => $2::bigint / 1000.0), "
	 "last_error = $3, claimed_by = NULL, claimed_at = NULL WHERE id = $1 AND state = 'claimed' "
	 "AND attempts = $4"},
	{"outbox_settle_alone",
	 "UPDATE outbox SET state = $3, result = $2::json, done_at = now(), last_error = $4 "
	 "WHERE id = $1 AND state = 'claimed' AND attempts = $5"},
	{"outbox_reap",
	 "UPDATE outbox SET state = 'pending', claimed_by = NULL, claimed_at = NULL "
	 "WHERE state = 'claimed' AND claimed_at < now() - make_interval(secs => $1::bigint / 1000.0)"},
	/* The next row due in the future (a retry): the index scan starts at now(), past the
	 * entries of rows already claimed. NULL when there is none (greatest(0, NULL) would be
	 * 0: a busy loop); rows already due are the claims' and the sweeps' business. */
	{"outbox_next",
	 "SELECT (extract(epoch FROM min(run_at) - now()) * 1000)::bigint FROM outbox "
	 "WHERE state = 'pending' AND run_at > now()"},
	{"timer_claim",
	 "UPDATE timer SET state = 'claimed', claimed_by = $1, claimed_at = now() "
	 "WHERE id = ANY (ARRAY(SELECT id FROM timer WHERE state = 'armed' AND due_at <= now() AND "
	 CLAIM_BOUND("due_at") "ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)) "
	 "RETURNING id, entity_id, expedient_id, name, due_ms, " MICROS("due_at")},
	{"timer_fired_alone",
	 "UPDATE timer SET state = 'fired', fired_at = now() WHERE id = $1 AND state = 'claimed'"},
	{"timer_reap",
	 "UPDATE timer SET state = 'armed', claimed_by = NULL, claimed_at = NULL "
	 "WHERE state = 'claimed' AND claimed_at < now() - make_interval(secs => $1::bigint / 1000.0)"},
	{"timer_next",
	 "SELECT (extract(epoch FROM min(due_at) - now()) * 1000)::bigint FROM timer "
	 "WHERE state = 'armed' AND due_at > now()"},
};

/* Where a thread's next claim starts (see the top of the file). */
struct claim_bound {
	int64_t us, id;        /* the newest (time, id) this thread claimed */
	bool streaming;        /* the last claim filled its batch: the next starts after it */
	bool dirty;            /* rows may sit behind the bound: sweep once SWEEP_MS passed */
	int64_t last_sweep_ms; /* monotonic */
};

int64_t eng_backoff_ms(int attempt, int base_ms, int max_ms, double rnd)
{
	double d = (double)base_ms * pow(2.0, attempt > 1 ? attempt - 1 : 0);
	if (d > max_ms)
		d = max_ms;
	return (int64_t)(d / 2 + rnd * d / 2);
}

static double random_unit(void)
{
	uint32_t r;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0.5;
	return r / 4294967296.0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct eng_workers *w, int64_t *field, int64_t n)
{
	pthread_mutex_lock(&w->lock);
	*field += n;
	pthread_mutex_unlock(&w->lock);
}

static void log_line(struct eng_workers *w, const char *fmt, const char *a, const char *b)
{
	/* Messages name rows and kinds; arguments of effects may hold personal data and are
	 * never logged. */
	fprintf(stderr, "tramit: worker %s: ", w->cfg.name);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	fprintf(stderr, fmt, a, b);
#pragma GCC diagnostic pop
	fputc('\n', stderr);
}

/* Runs a statement with up to 4 text parameters; returns the result or NULL (logged). */
static PGresult *run(struct eng_workers *w, struct eng_store *s, const char *name, int n,
                     const char *const *p, ExecStatusType want)
{
	struct eng_error err = {0};
	PGresult *r = eng_store__run(s, name, n, p, want, &err);
	if (!r)
		log_line(w, "%s%s", err.msg, "");
	return r;
}

/* Waits for a NOTIFY on the connection, the stop pipe, or timeout_ms. */
static void sleep_on(struct eng_workers *w, struct eng_store *s, int64_t timeout_ms)
{
	PGconn *conn = eng_store_conn(s);
	struct pollfd fds[2] = {{.fd = PQsocket(conn), .events = POLLIN},
	                        {.fd = w->stop_pipe[0], .events = POLLIN}};
	if (timeout_ms > 60000)
		timeout_ms = 60000;
	/* A notification may already sit in libpq's queue, read along with the last reply. */
	PQconsumeInput(conn);
	PGnotify *queued = PQnotifies(conn);
	if (queued) {
		do
			PQfreemem(queued);
		while ((queued = PQnotifies(conn)));
		return;
	}
	if (poll(fds, 2, (int)timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
		PQconsumeInput(conn);
		PGnotify *n;
		while ((n = PQnotifies(conn)))
			PQfreemem(n);
	}
}

static int64_t next_due_ms(struct eng_workers *w, struct eng_store *s, const char *stmt)
{
	PGresult *r = run(w, s, stmt, 0, NULL, PGRES_TUPLES_OK);
	int64_t ms = 1000;
	if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		ms = atoll(PQgetvalue(r, 0, 0));
	else if (r)
		ms = 60000; /* nothing pending: a NOTIFY will wake us */
	PQclear(r);
	return ms < 1 ? 1 : ms;
}

/* Returns true when claims were handed back (they sit behind the bound: sweep). */
static bool reap(struct eng_workers *w, struct eng_store *s, const char *stmt)
{
	char lease[24];
	snprintf(lease, sizeof(lease), "%d", w->cfg.lease_ms);
	const char *p[] = {lease};
	PGresult *r = run(w, s, stmt, 1, p, PGRES_COMMAND_OK);
	int n = r ? atoi(PQcmdTuples(r)) : 0;
	if (n > 0)
		count(w, &w->stats.reaped, n);
	PQclear(r);
	return n > 0;
}

/* Claims up to cfg.batch rows from the bound b (see the top of the file) in one round trip:
 * BEGIN, synchronous_commit off for this transaction only, the claim, COMMIT. Updates b from
 * the rows; `key_col` is the column of their times in microseconds. NULL on failure (logged;
 * the connection may be left in a failed transaction: the caller reconnects). */
static PGresult *claim(struct eng_workers *w, struct eng_store *s, const char *stmt,
                       struct claim_bound *b, int key_col)
{
	char batch[16], us[24], id[24], margin[16];
	snprintf(batch, sizeof(batch), "%d", w->cfg.batch);
	snprintf(margin, sizeof(margin), "%d", (int)CLAIM_MARGIN_MS);
	const char *p[] = {w->cfg.name, batch, NULL, id, margin};
	bool sweep = b->dirty && mono_ms() - b->last_sweep_ms >= SWEEP_MS;
	if (sweep) {
		snprintf(id, sizeof(id), "-1");
		b->last_sweep_ms = mono_ms();
	} else if (b->streaming) {
		snprintf(us, sizeof(us), "%lld", (long long)b->us);
		snprintf(id, sizeof(id), "%lld", (long long)b->id);
		p[2] = us;
	} else {
		snprintf(id, sizeof(id), "0");
	}
	struct eng_error err = {0};
	PGresult *r = NULL;
	eng_store__pipeline_enter(s);
	int rc = eng_store__send_sql(s, "BEGIN", &err);
	if (!rc)
		rc = eng_store__send_sql(s, "SET LOCAL synchronous_commit TO off", &err);
	if (!rc)
		rc = eng_store__send(s, stmt, 5, p, PGRES_TUPLES_OK, false, 0, &r, &err);
	if (!rc)
		rc = eng_store__send_sql(s, "COMMIT", &err);
	if (!rc)
		rc = eng_store__flush(s, &err);
	eng_store__pipeline_leave(s);
	if (rc) {
		log_line(w, "%s%s", err.msg, "");
		PQclear(r);
		return NULL;
	}
	/* RETURNING keeps no order: the cursor is the newest key of the batch. */
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		int64_t k = atoll(PQgetvalue(r, i, key_col)), kid = atoll(PQgetvalue(r, i, 0));
		if (i == 0 || k > b->us || (k == b->us && kid > b->id)) {
			b->us = k;
			b->id = kid;
		}
	}
	b->streaming = n == w->cfg.batch;
	if (n > 0)
		b->dirty = true; /* activity: out-of-order commits may land behind the bound */
	else if (sweep)
		b->dirty = false;
	return r;
}

/* The result event of a delivered effect (or of a dead one, with outcome "failed"): applied
 * in the transaction that settles the row, so the procedure can react. */
static struct eng_command report_command(struct eng_workers *w, const struct eng_outbox_item *it,
                                         const struct eng_delivery *d, bool dead)
{
	return (struct eng_command){
		.entity_id = it->entity_id, .expedient_id = it->expedient_id, .expected_version = -1,
		.outbox_id = it->id, .outbox_attempts = it->attempts,
		.result_json = d->result_json[0] ? d->result_json : "null",
		.outbox_dead = dead, .outbox_error = dead ? d->error : NULL,
		.event = {.kind = ENG_EVENT_RESULT,
		          .effect_id = it->effect_id[0] ? it->effect_id : it->idempotency_key,
		          .outcome = dead ? "failed" : d->outcome[0] ? d->outcome : "done",
		          .calendar = w->cfg.calendar,
		          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "outbox"}, .time_ms = now_ms()},
	};
}

/* After the result event was applied (rc): if the engine had no use for it the row is
 * settled alone; if the database was unavailable the claim stays, and the reaper hands the
 * row out again after the lease. */
static void report_settled(struct eng_workers *w, struct eng_store *s, const struct eng_command *cmd,
                           int rc, const struct eng_error *err)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)cmd->outbox_id);
	if (rc == ENG_EUNAVAILABLE) {
		log_line(w, "outbox %s finished but not recorded: %s", id, err->msg);
		return;
	}
	if (rc != 0) {
		char attempts[16];
		snprintf(attempts, sizeof(attempts), "%d", cmd->outbox_attempts);
		const char *p[] = {id, cmd->result_json, cmd->outbox_dead ? "dead" : "done",
		                   cmd->outbox_dead ? cmd->outbox_error : err->msg, attempts};
		PQclear(run(w, s, "outbox_settle_alone", 5, p, PGRES_COMMAND_OK));
	}
	count(w, cmd->outbox_dead ? &w->stats.dead : &w->stats.delivered, 1);
	if (cmd->outbox_dead)
		log_line(w, "outbox %s is dead: %s", id, cmd->outbox_error);
}

/* A passing failure with attempts left is retried later; returns false for a final answer. */
static bool retry_later(struct eng_workers *w, struct eng_store *s, const struct eng_outbox_item *it,
                        const struct eng_delivery *d)
{
	if (d->status != ENG_DELIVERY_RETRY || it->attempts >= w->cfg.max_attempts)
		return false;
	char id[24], delay[24], attempts[16];
	snprintf(id, sizeof(id), "%lld", (long long)it->id);
	snprintf(delay, sizeof(delay), "%lld", (long long)eng_backoff_ms(it->attempts,
	         w->cfg.backoff_base_ms, w->cfg.backoff_max_ms, random_unit()));
	snprintf(attempts, sizeof(attempts), "%d", it->attempts);
	const char *p[] = {id, delay, d->error, attempts};
	PQclear(run(w, s, "outbox_retry", 4, p, PGRES_COMMAND_OK));
	count(w, &w->stats.retried, 1);
	return true;
}

/* Claims a batch, delivers each row, then records every final answer in one transaction
 * (group commit); retries are rescheduled one by one. */
static int dispatch_batch(struct eng_workers *w, struct eng_store *s, struct claim_bound *b)
{
	PGresult *r = claim(w, s, "outbox_claim", b, 9);
	if (!r)
		return -1;
	int n = PQntuples(r);
	struct eng_arena arena = {0};
	struct eng_outbox_item *its = eng_arena_alloc(&arena, sizeof(*its) * ((size_t)n + 1));
	struct eng_delivery *ds = eng_arena_alloc(&arena, sizeof(*ds) * ((size_t)n + 1));
	struct eng_command *cmds = eng_arena_alloc(&arena, sizeof(*cmds) * ((size_t)n + 1));
	struct eng_batch_item *items = eng_arena_alloc(&arena, sizeof(*items) * ((size_t)n + 1));
	size_t m = 0;
	for (int i = 0; i < n && !atomic_load(&w->stop); i++) {
		its[i] = (struct eng_outbox_item){
			.id = atoll(PQgetvalue(r, i, 0)), .entity_id = PQgetvalue(r, i, 1),
			.expedient_id = PQgetvalue(r, i, 2), .kind = PQgetvalue(r, i, 3),
			.target = PQgetvalue(r, i, 4), .args_json = PQgetvalue(r, i, 5),
			.idempotency_key = PQgetvalue(r, i, 6), .attempts = atoi(PQgetvalue(r, i, 7)),
			.effect_id = PQgetvalue(r, i, 8),
		};
		ds[i] = (struct eng_delivery){.status = ENG_DELIVERY_FAILED};
		if (w->cfg.deliver)
			w->cfg.deliver(&its[i], &ds[i], w->cfg.deliver_payload);
		else
			snprintf(ds[i].error, sizeof(ds[i].error), "no connector is configured");
		if (retry_later(w, s, &its[i], &ds[i]))
			continue;
		cmds[m] = report_command(w, &its[i], &ds[i], ds[i].status != ENG_DELIVERY_DONE);
		items[m] = (struct eng_batch_item){.cmd = &cmds[m]};
		m++;
	}
	if (m > 0)
		eng_store_apply_batch(s, &arena, items, m, w->cfg.lookup, w->cfg.lookup_payload);
	for (size_t k = 0; k < m; k++)
		report_settled(w, s, items[k].cmd, items[k].rc, &items[k].err);
	eng_arena_free(&arena);
	PQclear(r);
	return n;
}

/* Fires due timers as events carrying their due time, so a late firing still computes the
 * right legal dates; the whole claim is committed together (group commit). */
static int by_due(const void *a, const void *b)
{
	const struct eng_command *x = a, *y = b;
	if (x->event.time_ms != y->event.time_ms)
		return x->event.time_ms < y->event.time_ms ? -1 : 1;
	return x->timer_id < y->timer_id ? -1 : x->timer_id > y->timer_id;
}

static int fire_batch(struct eng_workers *w, struct eng_store *s, struct claim_bound *b)
{
	PGresult *r = claim(w, s, "timer_claim", b, 5);
	if (!r)
		return -1;
	int n = PQntuples(r);
	struct eng_arena arena = {0};
	struct eng_command *cmds = eng_arena_alloc(&arena, sizeof(*cmds) * ((size_t)n + 1));
	struct eng_batch_item *items = eng_arena_alloc(&arena, sizeof(*items) * ((size_t)n + 1));
	for (int i = 0; i < n; i++) {
		cmds[i] = (struct eng_command){
			.entity_id = PQgetvalue(r, i, 1), .expedient_id = PQgetvalue(r, i, 2),
			.expected_version = -1, .timer_id = atoll(PQgetvalue(r, i, 0)),
			.event = {.kind = ENG_EVENT_TIMER, .timer = PQgetvalue(r, i, 3), .calendar = w->cfg.calendar,
			          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "timer"},
			          .time_ms = atoll(PQgetvalue(r, i, 4))},
		};
		items[i] = (struct eng_batch_item){.cmd = &cmds[i]};
	}
	/* RETURNING does not keep the claim's order: events must follow the due times. */
	qsort(cmds, (size_t)n, sizeof(*cmds), by_due);
	/* A notification's window is no state deadline: notifications.c settles it in a
	 * transition of its own, between the batches of the timers due before and after it, so
	 * an expedient's events keep the order of their due times. */
	int start = 0;
	for (int i = 0; i <= n; i++) {
		bool notice = i < n && eng_notification_timer(cmds[i].event.timer);
		if (i < n && !notice)
			continue;
		if (i > start)
			eng_store_apply_batch(s, &arena, items + start, (size_t)(i - start), w->cfg.lookup,
			                      w->cfg.lookup_payload);
		if (notice)
			items[i].rc = eng_notification_expire(s, &arena, &cmds[i], w->cfg.lookup,
			                                      w->cfg.lookup_payload, &items[i].err);
		start = i + 1;
	}
	for (int i = 0; i < n; i++) {
		if (items[i].rc == 0) {
			count(w, &w->stats.timers_fired, 1);
		} else if (items[i].rc != ENG_EUNAVAILABLE) {
			/* The expedient moved on (or the engine refuses the timer): settle it anyway. */
			char id[24];
			snprintf(id, sizeof(id), "%lld", (long long)cmds[i].timer_id);
			const char *pf[] = {id};
			PQclear(run(w, s, "timer_fired_alone", 1, pf, PGRES_COMMAND_OK));
			count(w, &w->stats.timers_refused, 1);
			log_line(w, "timer refused by the engine: %s%s", items[i].err.msg, "");
		}
	}
	eng_arena_free(&arena);
	PQclear(r);
	return n;
}

static void *thread_main(void *payload)
{
	struct thread_arg *a = payload;
	struct eng_workers *w = a->w;
	bool dispatcher = a->role == ROLE_DISPATCHER;
	struct eng_store *s = NULL;
	struct eng_error err = {0};
	int64_t last_reap = 0;
	struct claim_bound bound = {.dirty = true}; /* a (re)start sweeps first */
	while (!atomic_load(&w->stop)) {
		if (!s) {
			bound = (struct claim_bound){.dirty = true};
			if (eng_store_open(&s, w->cfg.conninfo, &err) != 0 ||
			    eng_store__adopt(s, statements, sizeof(statements) / sizeof(statements[0]), &err) != 0 ||
			    eng_store__exec(s, dispatcher ? "LISTEN tramit_outbox" : "LISTEN tramit_timer", &err) != 0 ||
			    /* Every statement of a worker finds its rows by key or through a queue's
			     * index; its generic plans (store.c) are made once, maybe against empty
			     * tables, where a sequential scan looks cheapest, and kept while the
			     * tables grow: measured, that made every claim read the whole outbox. */
			    eng_store__exec(s, "SET enable_seqscan = off", &err) != 0) {
				log_line(w, "cannot reach PostgreSQL, retrying: %s%s", err.msg, "");
				eng_store_close(s);
				s = NULL;
				struct pollfd fd = {.fd = w->stop_pipe[0], .events = POLLIN};
				poll(&fd, 1, 1000);
				continue;
			}
		}
		if (now_ms() - last_reap > w->cfg.lease_ms / 2) {
			if (reap(w, s, dispatcher ? "outbox_reap" : "timer_reap"))
				bound.dirty = true;
			last_reap = now_ms();
		}
		int n = dispatcher ? dispatch_batch(w, s, &bound) : fire_batch(w, s, &bound);
		if (n < 0) {
			/* A failed claim may mean a connection that broke (a reset would also forget
			 * our LISTEN): start afresh. */
			eng_store_close(s);
			s = NULL;
			continue;
		}
		/* After a batch, claim again at once: what came in meanwhile is taken without a
		 * next-due probe and a sleep in between. Sleep after a claim that found nothing. */
		if (n == 0 && !atomic_load(&w->stop)) {
			int64_t ms = next_due_ms(w, s, dispatcher ? "outbox_next" : "timer_next");
			/* Something happened since the last sweep: the next one is due soon. */
			int64_t sweep_in = bound.last_sweep_ms + SWEEP_MS - mono_ms();
			if (bound.dirty && sweep_in < ms)
				ms = sweep_in < 1 ? 1 : sweep_in;
			sleep_on(w, s, ms);
			/* Woken by a NOTIFY (new rows), or by the clock: the polling fallback, for rows
			 * written without a NOTIFY (an operator re-queueing a dead one), sweeps. */
			bound.dirty = true;
		}
	}
	eng_store_close(s);
	return NULL;
}

int eng_workers_start(struct eng_workers **out, const struct eng_worker_config *cfg,
                      struct eng_error *err)
{
	*out = NULL;
	struct eng_workers *w = calloc(1, sizeof(*w));
	w->cfg = *cfg;
	if (!w->cfg.name)
		w->cfg.name = "tramit";
	if (w->cfg.batch <= 0)
		w->cfg.batch = 128;
	if (w->cfg.max_attempts <= 0)
		w->cfg.max_attempts = 8;
	if (w->cfg.lease_ms <= 0)
		w->cfg.lease_ms = 300000;
	if (w->cfg.backoff_base_ms <= 0)
		w->cfg.backoff_base_ms = 1000;
	if (w->cfg.backoff_max_ms <= 0)
		w->cfg.backoff_max_ms = 3600000;
	pthread_mutex_init(&w->lock, NULL);
	if (pipe(w->stop_pipe) != 0) {
		free(w);
		return eng_error_set(err, ENG_EINTERNAL, "pipe: %s", strerror(errno));
	}
	int total = w->cfg.dispatchers + w->cfg.schedulers;
	w->threads = calloc((size_t)total + 1, sizeof(*w->threads));
	w->args = calloc((size_t)total + 1, sizeof(*w->args));
	for (int i = 0; i < total; i++) {
		w->args[i] = (struct thread_arg){w, i < w->cfg.dispatchers ? ROLE_DISPATCHER : ROLE_SCHEDULER, i};
		if (pthread_create(&w->threads[i], NULL, thread_main, &w->args[i]) != 0) {
			eng_workers_stop(w);
			return eng_error_set(err, ENG_EINTERNAL, "cannot start worker thread %d", i);
		}
		w->n_threads++;
	}
	*out = w;
	return 0;
}

void eng_workers_stop(struct eng_workers *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	ssize_t wr = write(w->stop_pipe[1], "x", 1);
	(void)wr;
	for (int i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	close(w->stop_pipe[0]);
	close(w->stop_pipe[1]);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w->args);
	free(w);
}

void eng_workers_stats(struct eng_workers *w, struct eng_worker_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}
