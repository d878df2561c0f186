/* bench/timers: the engine's schedulers (eng_workers with timer threads only) against
 * pgbench's single-row commit rate on the same embedded PostgreSQL. Three figures:
 * a burst of timers all due at once, fired and committed (rounds alternate pgbench and the
 * engine; medians); lateness (fired_at - due_at) at a steady rate of timers coming due; and
 * this process's memory with few and with many timers pending.
 * Every timer is BENCH-001's "deadline.open": firing it closes its expedient, as a real one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"
#include "engine/runtime/worker.h"

struct options {
	const char *dir, *tramit, *pgbench;
	int timers;          /* burst size */
	int rounds;
	int pgbench_seconds;
	int rate;            /* timers due per second, lateness phase */
	int rate_seconds;
	int pending;         /* the larger pending count, memory phase */
	int batch;           /* rows per claim; 0: the engine's default */
	int memory_seconds;
	int limit_s;         /* a burst or a drain stops after this long */
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: timers --dir DIR --tramit BENCH.lua --pgbench PGBENCH [--timers 100000] "
	        "[--rounds 3] [--pgbench-seconds 5] [--rate 10000] [--rate-seconds 10] "
	        "[--pending 1000000] [--memory-seconds 5] [--batch 0] [--limit 40]\n");
	exit(2);
}

static struct options parse(int argc, char **argv)
{
	struct options o = {.timers = 100000, .rounds = 3, .pgbench_seconds = 5, .rate = 10000,
	                    .rate_seconds = 10, .pending = 1000000, .memory_seconds = 5, .limit_s = 40};
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--dir")) o.dir = v;
		else if (!strcmp(k, "--tramit")) o.tramit = v;
		else if (!strcmp(k, "--pgbench")) o.pgbench = v;
		else if (!strcmp(k, "--timers")) o.timers = atoi(v);
		else if (!strcmp(k, "--rounds")) o.rounds = atoi(v);
		else if (!strcmp(k, "--pgbench-seconds")) o.pgbench_seconds = atoi(v);
		else if (!strcmp(k, "--rate")) o.rate = atoi(v);
		else if (!strcmp(k, "--rate-seconds")) o.rate_seconds = atoi(v);
		else if (!strcmp(k, "--pending")) o.pending = atoi(v);
		else if (!strcmp(k, "--memory-seconds")) o.memory_seconds = atoi(v);
		else if (!strcmp(k, "--batch")) o.batch = atoi(v);
		else if (!strcmp(k, "--limit")) o.limit_s = atoi(v);
		else usage();
	}
	if (!o.dir || !o.tramit || !o.pgbench || o.timers < 1 || o.rounds < 1 || o.rate < 20 ||
	    o.rate_seconds < 1 || o.pending < 1000 || o.pgbench_seconds < 1 || o.limit_s < 1)
		usage();
	return o;
}

static struct eng_workers *schedulers_start(struct bench_env *env, int n, int batch)
{
	static char name[64];
	snprintf(name, sizeof(name), "bench-timers:%d", (int)getpid());
	struct eng_worker_config cfg = {
		.conninfo = env->conninfo, .name = name, .dispatchers = 0, .schedulers = n,
		.batch = batch, .lookup = bench_lookup, .lookup_payload = env,
	};
	struct eng_workers *w = NULL;
	struct eng_error err = {0};
	if (eng_workers_start(&w, &cfg, &err) != 0)
		bench_die("cannot start the schedulers: %s", err.msg);
	return w;
}

static int64_t timers_done(struct eng_workers *w)
{
	struct eng_worker_stats st;
	eng_workers_stats(w, &st);
	return st.timers_fired + st.timers_refused;
}

/* Waits until the workers settled `want` timers or timeout_s passed; returns the seconds. */
static double wait_settled(struct eng_workers *w, int64_t want, double t0, double timeout_s)
{
	while (timers_done(w) < want && bench_clock_s() - t0 < timeout_s)
		bench_sleep_ms(10);
	return bench_clock_s() - t0;
}

/* Stops the workers and checks that the run did what it claims: every fired timer closed
 * its expedient, none was refused. Returns how many had fired when the clock stopped. */
static int64_t stop_and_check(struct bench_env *env, struct eng_workers *w, int64_t want,
                              double limit_s)
{
	struct eng_worker_stats st;
	eng_workers_stats(w, &st);
	eng_workers_stop(w);
	double fired = bench_sql_number(env, "SELECT count(*) FROM timer WHERE state = 'fired'");
	double closed = bench_sql_number(env, "SELECT count(*) FROM expedient WHERE state = 'closed'");
	if (st.timers_refused > 0 || fired < (double)st.timers_fired || closed != fired)
		bench_die("the engine fired %lld timers and refused %lld; the database has %.0f fired "
		          "and %.0f expedients closed", (long long)st.timers_fired,
		          (long long)st.timers_refused, fired, closed);
	if (st.timers_fired < want)
		printf("  (stopped after %.0f s: %lld of %lld timers fired)\n", limit_s,
		       (long long)st.timers_fired, (long long)want);
	return st.timers_fired;
}

/* One burst: n timers all due a second ago; returns timers fired and committed per second,
 * from starting the schedulers to the last commit (or to the time limit). */
static double burst(struct bench_env *env, const struct options *o, int schedulers)
{
	bench_reset(env);
	bench_expedients_make(env, "B", 1, o->timers, 1, bench_now_ms() - 1000, 0);
	bench_sql(env, "ANALYZE expedient; ANALYZE timer; CHECKPOINT");
	double t0 = bench_clock_s();
	struct eng_workers *w = schedulers_start(env, schedulers, o->batch);
	double s = wait_settled(w, o->timers, t0, o->limit_s);
	return stop_and_check(env, w, o->timers, o->limit_s) / s;
}

static double pgbench_rows(struct bench_env *env, const char *script, int clients, int seconds)
{
	bench_sql(env, "TRUNCATE bench_row; CHECKPOINT");
	return bench_pgbench_tps(env, script, clients, seconds);
}

static void burst_phase(struct bench_env *env, const struct options *o)
{
	char script[700];
	snprintf(script, sizeof(script), "%s/row.sql", o->dir);
	FILE *f = fopen(script, "w");
	if (!f || fputs("INSERT INTO bench_row DEFAULT VALUES;\n", f) < 0 || fclose(f) != 0)
		bench_die("cannot write %s", script);
	double *pg1 = calloc((size_t)o->rounds, sizeof(double));
	double *pg16 = calloc((size_t)o->rounds, sizeof(double));
	double *e1 = calloc((size_t)o->rounds, sizeof(double));
	double *e2 = calloc((size_t)o->rounds, sizeof(double));
	for (int r = 0; r < o->rounds; r++) {
		pg1[r] = pgbench_rows(env, script, 1, o->pgbench_seconds);
		e1[r] = burst(env, o, 1);
		pg16[r] = pgbench_rows(env, script, 16, o->pgbench_seconds);
		e2[r] = burst(env, o, 2);
		printf("  round %d: pgbench 1 client %.0f/s, 16 clients %.0f/s; engine 1 scheduler %.0f/s, "
		       "2 schedulers %.0f/s\n", r + 1, pg1[r], pg16[r], e1[r], e2[r]);
		fflush(stdout);
	}
	double m1 = bench_median(pg1, o->rounds), m16 = bench_median(pg16, o->rounds);
	double me1 = bench_median(e1, o->rounds), me2 = bench_median(e2, o->rounds);
	printf("  %-44s %9.0f/s\n", "pgbench single-row commits, 1 client", m1);
	printf("  %-44s %9.0f/s\n", "pgbench single-row commits, 16 clients", m16);
	printf("  %-44s %9.0f/s  %5.2fx 1 client  %5.2fx 16 clients\n", "engine, 1 scheduler", me1,
	       me1 / m1, me1 / m16);
	printf("  %-44s %9.0f/s  %5.2fx 1 client  %5.2fx 16 clients\n", "engine, 2 schedulers", me2,
	       me2 / m1, me2 / m16);
	printf("  target: at least 3x pgbench's single-row commits\n");
	free(pg1);
	free(pg16);
	free(e1);
	free(e2);
}

/* Arms timers ahead of time in chunks, as transitions would (with NOTIFY in the same
 * transaction), so that `rate` come due per second for `seconds`. Returns the smallest
 * margin, in ms, between a chunk's commit and its first due time (negative: armed late). */
static int64_t feed(struct bench_env *env, int rate, int seconds, int64_t first_due_ms, int64_t lead_ms)
{
	const int chunk_ms = 50;
	const int64_t per = (int64_t)rate * chunk_ms / 1000;
	const int chunks = seconds * 1000 / chunk_ms;
	int64_t margin = INT64_MAX;
	for (int k = 0; k < chunks; k++) {
		int64_t due = first_due_ms + (int64_t)k * chunk_ms;
		bench_sleep_ms(due - lead_ms - bench_now_ms());
		bench_sql(env, "BEGIN");
		bench_expedients_make(env, "L", k * per + 1, (k + 1) * per, 1, due, 1000000 / rate);
		bench_sql(env, "NOTIFY tramit_timer; COMMIT");
		int64_t m = due - bench_now_ms();
		if (m < margin)
			margin = m;
	}
	return margin;
}

static void lateness_phase(struct bench_env *env, const struct options *o)
{
	bench_reset(env);
	const int64_t lead_ms = 1000;
	const int64_t total = (int64_t)o->rate * 50 / 1000 * (o->rate_seconds * 1000 / 50);
	struct eng_workers *w = schedulers_start(env, 1, o->batch);
	int64_t margin = feed(env, o->rate, o->rate_seconds, bench_now_ms() + lead_ms + 500, lead_ms);
	wait_settled(w, total, bench_clock_s(), o->limit_s);
	int64_t fired = stop_and_check(env, w, total, o->limit_s);
	/* A timer not fired yet is at least as late as it is now: counted so, p99 stays honest. */
	double q[4];
	bench_sql_numbers(env, q, 4,
	                  "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
	                  "percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms), min(ms) FROM "
	                  "(SELECT extract(epoch FROM coalesce(fired_at, clock_timestamp()) - due_at) "
	                  "* 1000 AS ms FROM timer WHERE name = 'deadline.open') x");
	printf("  %lld of %lld timers fired\n", (long long)fired, (long long)total);
	if (margin < 0)
		printf("  (the feeder fell behind: some timers were armed %lld ms after they came due, "
		       "which counts as lateness)\n", (long long)-margin);
	printf("  lateness fired_at - due_at: p50 %.1f ms, p99 %.1f ms, max %.1f ms, min %.1f ms "
	       "(target: p99 under 100 ms)\n", q[0], q[1], q[2], q[3]);
}

/* Adds n far-future timers spread over the memory phase's expedients (names pending.K). */
static void pending_add(struct bench_env *env, int64_t from, int64_t to)
{
	int64_t due = bench_now_ms() + 30LL * 86400 * 1000;
	bench_sql(env,
	          "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) "
	          "SELECT 'bench', e.ids[1 + g %% array_length(e.ids, 1)], 'pending.' || g, %lld, "
	          "to_timestamp(%lld / 1000.0) FROM (SELECT array_agg(id) ids FROM expedient) e, "
	          "generate_series(%lld, %lld) g; ANALYZE timer; NOTIFY tramit_timer",
	          (long long)due, (long long)due, (long long)from, (long long)to);
}

static void memory_phase(struct bench_env *env, const struct options *o)
{
	bench_reset(env);
	const int small = 1000;
	bench_expedients_make(env, "M", 1, small, 1, bench_now_ms() + 30LL * 86400 * 1000, 0);
	long before = bench_rss_kb();
	struct eng_workers *w = schedulers_start(env, 1, o->batch);
	bench_sleep_ms(o->memory_seconds * 1000LL);
	long few = bench_rss_kb();
	double pending_few = bench_sql_number(env, "SELECT count(*) FROM timer WHERE state = 'armed'");
	pending_add(env, small + 1, o->pending);
	bench_sleep_ms(o->memory_seconds * 1000LL);
	long many = bench_rss_kb();
	double pending_many = bench_sql_number(env, "SELECT count(*) FROM timer WHERE state = 'armed'");
	eng_workers_stop(w);
	printf("  RSS before the scheduler started: %ld kB\n", before);
	printf("  RSS after %d s with %.0f timers pending: %ld kB\n", o->memory_seconds, pending_few, few);
	printf("  RSS after %d s with %.0f timers pending: %ld kB (%+ld kB; target: the same)\n",
	       o->memory_seconds, pending_many, many, many - few);
}

int main(int argc, char **argv)
{
	struct options o = parse(argc, argv);
	static struct bench_env env;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_env_start(&env, o.dir, o.tramit, o.pgbench);
	double version = bench_sql_number(&env, "SELECT current_setting('server_version_num')::int");
	printf("bench/timers: %ld cores, PostgreSQL %.0f, synchronous_commit on, claims of %d rows\n",
	       sysconf(_SC_NPROCESSORS_ONLN), version, o.batch > 0 ? o.batch : 128 /* the workers' default */);
	bench_print_command(argc, argv);
	printf("memory: one scheduler, this process's VmRSS\n");
	memory_phase(&env, &o);
	printf("burst: %d timers due at once, fired and committed; pgbench %d s per run; "
	       "medians of %d rounds\n", o.timers, o.pgbench_seconds, o.rounds);
	burst_phase(&env, &o);
	printf("lateness: %d timers coming due per second for %d s, one scheduler\n", o.rate,
	       o.rate_seconds);
	lateness_phase(&env, &o);
	bench_env_stop();
	return 0;
}
