/* bench/outbox: the engine's dispatchers (eng_workers with outbox threads only, delivering
 * to a connector that does nothing) against graphile-worker draining no-op jobs from the
 * same embedded PostgreSQL, with and without its batching. Rounds alternate baseline and
 * engine; figures are medians. Then the latency from an effect's commit to its claim, with
 * effects written one per transaction and NOTIFY, as transitions do.
 * Every delivery ends as a result event on its expedient (one outbox row per expedient). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "engine/runtime/worker.h"

struct options {
	const char *dir, *tramit, *node, *graphile;
	int effects;          /* rows drained per run (engine and graphile batched) */
	int unbatched;        /* jobs for graphile without batching (slower; a rate all the same) */
	int rounds;
	int rate, rate_seconds; /* latency phase */
	int limit_s;          /* a drain stops after this long */
	int batch;            /* rows per claim; 0: the engine's default */
	int snapshot;         /* 1: a reader holds a snapshot open during the engine's drains */
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: outbox --dir DIR --tramit BENCH.lua --graphile bench/graphile.js [--node node] "
	        "[--effects 100000] [--unbatched 10000] [--rounds 3] [--rate 500] [--rate-seconds 4] "
	        "[--limit 30] [--batch 0] [--snapshot 0]\n");
	exit(2);
}

static struct options parse(int argc, char **argv)
{
	struct options o = {.node = "node", .effects = 100000, .unbatched = 10000, .rounds = 3,
	                    .rate = 500, .rate_seconds = 4, .limit_s = 30};
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--dir")) o.dir = v;
		else if (!strcmp(k, "--tramit")) o.tramit = v;
		else if (!strcmp(k, "--node")) o.node = v;
		else if (!strcmp(k, "--graphile")) o.graphile = v;
		else if (!strcmp(k, "--effects")) o.effects = atoi(v);
		else if (!strcmp(k, "--unbatched")) o.unbatched = atoi(v);
		else if (!strcmp(k, "--rounds")) o.rounds = atoi(v);
		else if (!strcmp(k, "--rate")) o.rate = atoi(v);
		else if (!strcmp(k, "--rate-seconds")) o.rate_seconds = atoi(v);
		else if (!strcmp(k, "--limit")) o.limit_s = atoi(v);
		else if (!strcmp(k, "--batch")) o.batch = atoi(v);
		else if (!strcmp(k, "--snapshot")) o.snapshot = atoi(v);
		else usage();
	}
	if (!o.dir || !o.tramit || !o.graphile || o.effects < 1 || o.unbatched < 1 || o.rounds < 1 ||
	    o.rate < 1 || o.rate > 100000 || o.rate_seconds < 1 || o.limit_s < 1)
		usage();
	return o;
}

/* The connector: performs nothing, successfully. */
static void deliver_noop(const struct eng_outbox_item *item, struct eng_delivery *out, void *payload)
{
	out->status = ENG_DELIVERY_DONE;
	snprintf(out->outcome, sizeof(out->outcome), "done");
}

static struct eng_workers *dispatchers_start(struct bench_env *env, int n, int batch)
{
	static char name[64];
	snprintf(name, sizeof(name), "bench-outbox:%d", (int)getpid());
	struct eng_worker_config cfg = {
		.conninfo = env->conninfo, .name = name, .dispatchers = n, .schedulers = 0,
		.batch = batch, .deliver = deliver_noop, .lookup = bench_lookup, .lookup_payload = env,
	};
	struct eng_workers *w = NULL;
	struct eng_error err = {0};
	if (eng_workers_start(&w, &cfg, &err) != 0)
		bench_die("cannot start the dispatchers: %s", err.msg);
	return w;
}

static int64_t settled(struct eng_workers *w)
{
	struct eng_worker_stats st;
	eng_workers_stats(w, &st);
	return st.delivered + st.dead;
}

/* Stops the workers and checks every delivered row is done with its result event; returns how
 * many were delivered when the clock stopped. */
static int64_t stop_and_check(struct bench_env *env, struct eng_workers *w, int64_t want,
                              const struct options *o)
{
	struct eng_worker_stats st;
	eng_workers_stats(w, &st);
	eng_workers_stop(w);
	double done = bench_sql_number(env, "SELECT count(*) FROM outbox WHERE state = 'done'");
	double events = bench_sql_number(env, "SELECT count(*) FROM event WHERE kind = 'result'");
	if (st.dead > 0 || st.retried > 0 || done < (double)st.delivered || events != done)
		bench_die("the engine delivered %lld effects (%lld dead, %lld retried); the database "
		          "has %.0f rows done and %.0f result events", (long long)st.delivered,
		          (long long)st.dead, (long long)st.retried, done, events);
	if (st.delivered < want)
		printf("  (stopped after %d s: %lld of %lld effects delivered)\n", o->limit_s,
		       (long long)st.delivered, (long long)want);
	return st.delivered;
}

/* One outbox row per expedient D/1..D/n, all pending, as transitions left them. */
static void effects_make(struct bench_env *env, const char *prefix, int64_t from, int64_t to)
{
	bench_expedients_make(env, prefix, from, to, 0, 0, 0);
	bench_sql(env,
	          "INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, "
	          "idempotency_key, effect_id) SELECT 'bench', id, 1, 'notify', 'bench', '{}', "
	          "id || '/1/0', 'notify:bench' FROM expedient WHERE number BETWEEN '%s/' AND '%s/~'",
	          prefix, prefix);
}

/* With --snapshot 1, a reader (a report, a backup) keeps one snapshot open during a drain:
 * the index entries of claimed rows cannot be pruned meanwhile, so a claim that starts at the
 * head of the queue's index visits the heap for every row claimed before it. */
static PGconn *reader_open(struct bench_env *env, const struct options *o)
{
	if (!o->snapshot)
		return NULL;
	PGconn *c = PQconnectdb(env->conninfo);
	PGresult *r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM entity");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		bench_die("the reader could not take its snapshot: %s", PQerrorMessage(c));
	PQclear(r);
	return c;
}

/* Index entries of outbox_ready that scans read so far (the claims and the next-due probes;
 * a backend's counts arrive when it goes idle or ends). */
static double ready_entries_read(struct bench_env *env)
{
	bench_sleep_ms(1100);
	return bench_sql_number(env, "SELECT idx_tup_read FROM pg_stat_user_indexes "
	                        "WHERE indexrelname = 'outbox_ready'");
}

static double engine_drain(struct bench_env *env, const struct options *o, int dispatchers)
{
	bench_reset(env);
	effects_make(env, "D", 1, o->effects);
	bench_sql(env, "ANALYZE expedient; ANALYZE outbox; CHECKPOINT");
	double read0 = ready_entries_read(env);
	PGconn *reader = reader_open(env, o);
	double t0 = bench_clock_s();
	struct eng_workers *w = dispatchers_start(env, dispatchers, o->batch);
	while (settled(w) < o->effects && bench_clock_s() - t0 < o->limit_s)
		bench_sleep_ms(10);
	double s = bench_clock_s() - t0;
	int64_t done = stop_and_check(env, w, o->effects, o);
	PQfinish(reader);
	double read = ready_entries_read(env) - read0;
	printf("  (%d dispatchers: %lld effects; the claims read %.0f entries of outbox_ready, %.1f per "
	       "effect)\n", dispatchers, (long long)done, read, done ? read / (double)done : 0);
	return done / s;
}

static double graphile_drain(struct bench_env *env, const struct options *o, int jobs, const char *mode)
{
	bench_reset(env);
	char url[200], n[24];
	snprintf(url, sizeof(url), "postgres://tramit@127.0.0.1:%d/tramit", env->cluster.port);
	snprintf(n, sizeof(n), "%d", jobs);
	const char *argv[] = {o->node, o->graphile, url, n, mode, NULL};
	char out[4096];
	int status = bench_run_capture(out, sizeof(out), argv);
	const char *r = strstr(out, "RESULT ");
	if (status != 0 || !r)
		bench_die("graphile-worker (%s) failed, status %d: %s", mode, status, out);
	double rate = 0;
	int left = -1;
	if (sscanf(r, "RESULT %lf %d", &rate, &left) != 2)
		bench_die("graphile-worker (%s) answered: %s", mode, out);
	if (left != 0)
		printf("  (graphile-worker %s: %d jobs still in its table 5 s after the last one ran)\n",
		       mode, left);
	return rate;
}

static void drain_phase(struct bench_env *env, const struct options *o)
{
	int r_n = o->rounds;
	double *gb = calloc((size_t)r_n, sizeof(double)), *gu = calloc((size_t)r_n, sizeof(double));
	double *e2 = calloc((size_t)r_n, sizeof(double)), *e4 = calloc((size_t)r_n, sizeof(double));
	for (int r = 0; r < r_n; r++) {
		gb[r] = graphile_drain(env, o, o->effects, "batched");
		e2[r] = engine_drain(env, o, 2);
		gu[r] = graphile_drain(env, o, o->unbatched, "unbatched");
		e4[r] = engine_drain(env, o, 4);
		printf("  round %d: graphile-worker batched %.0f/s, unbatched %.0f/s; engine 2 dispatchers "
		       "%.0f/s, 4 dispatchers %.0f/s\n", r + 1, gb[r], gu[r], e2[r], e4[r]);
	}
	double mgb = bench_median(gb, r_n), mgu = bench_median(gu, r_n);
	double me2 = bench_median(e2, r_n), me4 = bench_median(e4, r_n);
	printf("  %-40s %9.0f/s\n", "graphile-worker, batched", mgb);
	printf("  %-40s %9.0f/s\n", "graphile-worker, unbatched", mgu);
	printf("  %-40s %9.0f/s  %5.2fx graphile batched\n", "engine, 2 dispatchers", me2, me2 / mgb);
	printf("  %-40s %9.0f/s  %5.2fx graphile batched\n", "engine, 4 dispatchers", me4, me4 / mgb);
	printf("  target: at least 2x graphile-worker batched\n");
	free(gb);
	free(gu);
	free(e2);
	free(e4);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes effects one per transaction with NOTIFY, as a transition commits them, at `rate`
 * per second; records when each COMMIT was acknowledged (this process's clock, which is
 * PostgreSQL's: the same machine) in table bench_ack; returns how many. */
static int64_t trickle(struct bench_env *env, const struct options *o)
{
	int64_t n = (int64_t)o->rate * o->rate_seconds;
	int64_t *ack = calloc((size_t)n + 1, sizeof(*ack));
	int64_t t0 = bench_now_ms();
	for (int64_t k = 1; k <= n; k++) {
		bench_sleep_ms(t0 + (k - 1) * 1000 / o->rate - bench_now_ms());
		bench_sql(env,
		          "BEGIN; INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, "
		          "args, idempotency_key, effect_id) SELECT 'bench', id, 1, 'notify', 'bench', "
		          "'{}', id || '/1/0', 'notify:bench' FROM expedient WHERE entity_id = 'bench' "
		          "AND number = 'Q/%lld'; NOTIFY tramit_outbox; COMMIT", (long long)k);
		ack[k] = now_us();
	}
	bench_sql(env, "DROP TABLE IF EXISTS bench_ack; CREATE TABLE bench_ack (k bigint, us bigint)");
	for (int64_t k = 1; k <= n; k += 100) {
		char values[3600];
		size_t len = 0;
		for (int64_t j = k; j < k + 100 && j <= n; j++)
			len += (size_t)snprintf(values + len, sizeof(values) - len, "%s(%lld,%lld)",
			                        j > k ? "," : "", (long long)j, (long long)ack[j]);
		bench_sql(env, "INSERT INTO bench_ack VALUES %s", values);
	}
	free(ack);
	return n;
}

static void latency_phase(struct bench_env *env, const struct options *o)
{
	bench_reset(env);
	int64_t n = (int64_t)o->rate * o->rate_seconds;
	bench_expedients_make(env, "Q", 1, n, 0, 0, 0);
	bench_sql(env, "ANALYZE expedient; CHECKPOINT");
	struct eng_workers *w = dispatchers_start(env, 2, o->batch);
	bench_sleep_ms(500); /* connected and listening */
	trickle(env, o);
	double t0 = bench_clock_s();
	while (settled(w) < n && bench_clock_s() - t0 < o->limit_s)
		bench_sleep_ms(10);
	int64_t delivered = stop_and_check(env, w, n, o);
	double q[4];
	bench_sql_numbers(env, q, 4,
	                  "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY c), "
	                  "percentile_cont(0.99) WITHIN GROUP (ORDER BY c), "
	                  "percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
	                  "percentile_cont(0.99) WITHIN GROUP (ORDER BY d) FROM "
	                  "(SELECT extract(epoch FROM claimed_at - created_at) * 1000 AS c, "
	                  "extract(epoch FROM done_at - created_at) * 1000 AS d FROM outbox "
	                  "WHERE state = 'done') x");
	double a[2];
	bench_sql_numbers(env, a, 2,
	                  "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
	                  "percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM (SELECT "
	                  "(extract(epoch FROM o.claimed_at) * 1000000 - b.us) / 1000 AS ms FROM bench_ack b "
	                  "JOIN expedient x ON x.entity_id = 'bench' AND x.number = 'Q/' || b.k "
	                  "JOIN outbox o ON o.expedient_id = x.id WHERE o.state = 'done') y");
	printf("  %lld of %lld effects delivered\n", (long long)delivered, (long long)n);
	printf("  claimed_at - created_at: p50 %.2f ms, p99 %.2f ms (target: p50 under 1 ms)\n", q[0], q[1]);
	printf("  done_at - created_at:    p50 %.2f ms, p99 %.2f ms\n", q[2], q[3]);
	/* created_at is when the effect's transaction began: its own commit (a WAL flush) is in
	 * the figures above. From the moment its COMMIT was acknowledged instead (negative: the
	 * claim began before the writer heard back): */
	printf("  claimed_at - commit acknowledged: p50 %.2f ms, p99 %.2f ms\n", a[0], a[1]);
}

int main(int argc, char **argv)
{
	struct options o = parse(argc, argv);
	static struct bench_env env;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_env_start(&env, o.dir, o.tramit, "pgbench");
	double version = bench_sql_number(&env, "SELECT current_setting('server_version_num')::int");
	printf("bench/outbox: %ld cores, PostgreSQL %.0f, synchronous_commit on, claims of %d rows\n",
	       sysconf(_SC_NPROCESSORS_ONLN), version, o.batch > 0 ? o.batch : 128 /* the workers' default */);
	bench_print_command(argc, argv);
	printf("drain: %d no-op effects pending (graphile-worker unbatched: %d jobs); medians of %d "
	       "rounds%s\n", o.effects, o.unbatched, o.rounds,
	       o.snapshot ? "; a reader holds a snapshot open during the engine's drains" : "");
	drain_phase(&env, &o);
	printf("latency: %d effects per second for %d s, each committed alone with NOTIFY; "
	       "2 dispatchers\n", o.rate, o.rate_seconds);
	latency_phase(&env, &o);
	bench_env_stop();
	return 0;
}
