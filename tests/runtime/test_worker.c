/* Dispatchers and schedulers against a real PostgreSQL: every outbox row is delivered once
 * even with several workers claiming at once, passing failures retry with backoff until the
 * row is dead, a claim whose worker died is reaped, and every due timer fires once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/worker.h"
#include "tests/support/fixture.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;
static char expedient[40];

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

static void exec_ok(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static long long count(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = fixture_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Demo", "Demo", true, &err), 0);
	cr_assert_eq(eng_store_put_definition(s, def, "--", &err), 0);
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Prova"}};
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria", .lang = "ca", .expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = 1767225600000, .form = form, .n_form = 1, .csv = "CSV-W"},
	};
	struct eng_outcome out;
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	snprintf(expedient, sizeof(expedient), "%s", out.expedient_id);
	eng_arena_free(&arena);
	eng_store_close(s);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(worker, .init = setup, .fini = teardown, .timeout = 120);

static void add_outbox(int n, const char *kind)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, idempotency_key) "
	         "SELECT 'demo', '%s', 1, '%s', 't', ('{\"i\":\"' || i || '\"}')::json, '%s/1/' || i "
	         "FROM generate_series(1, %d) i", expedient, kind, expedient, n);
	exec_ok(sql);
}

/* A connector that counts what it is asked to do, per idempotency key. */
struct counter {
	pthread_mutex_t lock;
	int per_key[2000];
	int calls;
	enum eng_delivery_status answer;
};

static void deliver(const struct eng_outbox_item *it, struct eng_delivery *out, void *payload)
{
	struct counter *c = payload;
	int i = atoi(strrchr(it->idempotency_key, '/') + 1);
	pthread_mutex_lock(&c->lock);
	c->calls++;
	if (i >= 0 && i < 2000)
		c->per_key[i]++;
	pthread_mutex_unlock(&c->lock);
	out->status = c->answer;
	if (c->answer == ENG_DELIVERY_DONE)
		snprintf(out->result_json, sizeof(out->result_json), "{\"sent\":%d}", i);
	else
		snprintf(out->error, sizeof(out->error), "gateway answered 503");
}

static void wait_until(const char *sql, long long want, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		if (count(sql) == want)
			return;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	cr_assert_eq(count(sql), want, "%s", sql);
}

static struct eng_workers *start(const char *name, int dispatchers, int schedulers, struct counter *c,
                                 int base_ms)
{
	struct eng_worker_config cfg = {
		.conninfo = cluster.conninfo, .name = name, .dispatchers = dispatchers,
		.schedulers = schedulers, .batch = 7, .max_attempts = 3, .lease_ms = 2000,
		.backoff_base_ms = base_ms, .backoff_max_ms = 1000, .deliver = deliver,
		.deliver_payload = c, .lookup = lookup,
	};
	struct eng_workers *w;
	struct eng_error err = {0};
	cr_assert_eq(eng_workers_start(&w, &cfg, &err), 0, "%s", err.msg);
	return w;
}

Test(worker, every_outbox_row_is_delivered_once_by_competing_workers)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	add_outbox(500, "notify");
	/* Two "servers", three dispatchers in all, claiming at once. */
	struct eng_workers *a = start("server-a", 2, 0, &c, 10), *b = start("server-b", 1, 0, &c, 10);
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 500, 60);
	eng_workers_stop(a);
	eng_workers_stop(b);
	cr_expect_eq(c.calls, 500);
	for (int i = 1; i <= 500; i++)
		cr_expect_eq(c.per_key[i], 1, "key %d delivered %d times", i, c.per_key[i]);
	cr_expect_eq(count("SELECT count(*) FROM outbox WHERE result::text = '{\"sent\":' || "
	                   "split_part(idempotency_key, '/', 3) || '}'"), 500);
	cr_expect_eq(count("SELECT count(DISTINCT claimed_by) FROM outbox"), 2, "both servers took work");
}

Test(worker, a_new_row_wakes_an_idle_dispatcher_through_notify)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	struct eng_workers *a = start("server-a", 1, 0, &c, 10);
	/* Let it go idle: with nothing pending it sleeps up to a minute unless notified. */
	nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
	exec_ok("BEGIN");
	add_outbox(1, "notify");
	exec_ok("NOTIFY tramit_outbox");
	exec_ok("COMMIT");
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 1, 5);
	eng_workers_stop(a);
}

/* Idle workers wait for a NOTIFY or the next due time; they once polled in a busy loop
 * because greatest(0, NULL) is 0, not NULL. Counted as transactions the database saw. */
Test(worker, idle_workers_sleep_instead_of_polling)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	exec_ok("DELETE FROM timer");
	struct eng_workers *a = start("server-a", 2, 1, &c, 10);
	const char *sql = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
	nanosleep(&(struct timespec){1, 0}, NULL);
	long long before = count(sql);
	nanosleep(&(struct timespec){3, 0}, NULL);
	long long after = count(sql);
	eng_workers_stop(a);
	cr_expect_lt(after - before, 100, "%lld transactions in 3 s of idleness", after - before);
}

Test(worker, passing_failures_retry_with_backoff_then_dead_letter)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_RETRY};
	add_outbox(3, "payment");
	struct eng_workers *a = start("server-a", 1, 0, &c, 50);
	wait_until("SELECT count(*) FROM outbox WHERE state = 'dead'", 3, 30);
	struct eng_worker_stats st;
	eng_workers_stats(a, &st);
	eng_workers_stop(a);
	cr_expect_eq(c.calls, 9, "three attempts each");
	cr_expect_eq(st.retried, 6, "two retries each, then dead");
	cr_expect_eq(st.dead, 3);
	cr_expect_eq(st.delivered, 0);
	cr_expect_eq(count("SELECT count(*) FROM outbox WHERE attempts = 3 AND last_error = "
	                   "'gateway answered 503'"), 3);
}

Test(worker, permanent_failures_dead_letter_at_once)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_FAILED};
	add_outbox(2, "backoffice");
	struct eng_workers *a = start("server-a", 1, 0, &c, 50);
	wait_until("SELECT count(*) FROM outbox WHERE state = 'dead' AND attempts = 1", 2, 30);
	eng_workers_stop(a);
	cr_expect_eq(c.calls, 2);
}

Test(worker, a_claim_whose_worker_died_is_reaped_and_delivered)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	add_outbox(4, "notify");
	exec_ok("UPDATE outbox SET state = 'claimed', claimed_by = 'killed-server', "
	        "claimed_at = now() - interval '1 hour', attempts = 1");
	struct eng_workers *a = start("server-a", 1, 0, &c, 10);
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done' AND claimed_by = 'server-a'", 4, 30);
	eng_workers_stop(a);
	cr_expect_eq(c.calls, 4);
}

Test(worker, every_due_timer_fires_once_including_those_due_while_down)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	char sql[512];
	/* 200 overdue (came due while no server ran) and 50 due in half a second. */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) SELECT 'demo', '%s', "
	         "'t' || i, d, to_timestamp(d / 1000.0) FROM (SELECT i, (extract(epoch FROM now()) * 1000)::bigint "
	         "+ CASE WHEN i <= 200 THEN -3600000 ELSE 500 END AS d FROM generate_series(1, 250) i) s",
	         expedient);
	exec_ok(sql);
	struct eng_workers *a = start("server-a", 0, 1, &c, 10), *b = start("server-b", 0, 1, &c, 10);
	wait_until("SELECT count(*) FROM timer WHERE state = 'fired'", 250, 60);
	eng_workers_stop(a);
	eng_workers_stop(b);
	cr_expect_eq(count("SELECT count(*) FROM timer WHERE fired_at >= due_at"), 250, "none fires early");
}

Test(worker, backoff_grows_and_is_capped)
{
	cr_expect_eq(eng_backoff_ms(1, 1000, 3600000, 0.0), 500);
	cr_expect_eq(eng_backoff_ms(1, 1000, 3600000, 0.999999), 999);
	cr_expect_eq(eng_backoff_ms(4, 1000, 3600000, 0.0), 4000);
	cr_expect_eq(eng_backoff_ms(30, 1000, 3600000, 0.0), 1800000);
}

Test(worker, workers_carry_on_after_postgresql_crashes)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	struct eng_workers *a = start("server-a", 1, 1, &c, 10);
	add_outbox(3, "notify");
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 3, 30);
	struct eng_error err = {0};
	cr_assert_eq(eng_pgcluster_restart(&cluster, true, &err), 0, "%s", err.msg);
	PQreset(conn);
	/* New work after the crash is found and delivered: the workers reconnected, prepared
	 * their statements again and listen again. */
	exec_ok("BEGIN");
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, idempotency_key) "
	         "SELECT 'demo', '%s', 2, 'notify', 't', '{}'::json, '%s/2/' || i FROM generate_series(1, 4) i",
	         expedient, expedient);
	exec_ok(sql);
	exec_ok("NOTIFY tramit_outbox");
	exec_ok("COMMIT");
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 7, 60);
	eng_workers_stop(a);
}

/* Index entries that claims read from outbox_ready, as PostgreSQL counts them (the counts of
 * a backend reach the statistics when it ends or goes idle). */
static long long ready_entries_read(void)
{
	nanosleep(&(struct timespec){1, 200 * 1000 * 1000}, NULL);
	exec_ok("SELECT pg_stat_clear_snapshot()");
	return count("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'outbox_ready'");
}

/* While a reader keeps a snapshot open, the entries of rows already claimed cannot be pruned:
 * a claim that started at the head of the index would read every one of them again (2,000
 * rows in claims of 10: about 200,000 entries). Claims that start after what they took read
 * each entry about once, plus a sweep from the head each second. */
Test(worker, claims_start_after_what_they_took_even_under_an_open_snapshot)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	add_outbox(1999, "notify");
	PGconn *reader = pgtmp_connect(&cluster);
	PGresult *r = PQexec(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM outbox");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(reader));
	PQclear(r);
	long long before = ready_entries_read();
	struct eng_worker_config cfg = {
		.conninfo = cluster.conninfo, .name = "server-a", .dispatchers = 1, .batch = 10,
		.max_attempts = 3, .deliver = deliver, .deliver_payload = &c, .lookup = lookup,
	};
	struct eng_workers *w;
	struct eng_error err = {0};
	cr_assert_eq(eng_workers_start(&w, &cfg, &err), 0, "%s", err.msg);
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 1999, 90);
	eng_workers_stop(w);
	long long read = ready_entries_read() - before;
	PQfinish(reader);
	cr_expect_eq(c.calls, 1999);
	for (int i = 1; i <= 1999; i++)
		cr_expect_eq(c.per_key[i], 1, "key %d delivered %d times", i, c.per_key[i]);
	cr_log_info("claims read %lld entries of outbox_ready", read);
	cr_expect_lt(read, 60000, "claims read %lld index entries for 1,999 rows", read);
}

/* Rows that come due behind the claims' bound (an effect re-queued with an old run_at, a timer
 * armed when it was already overdue) are taken by the next sweep, within about a second of
 * the NOTIFY that announced them. */
Test(worker, rows_behind_the_claims_bound_are_swept)
{
	struct counter c = {.lock = PTHREAD_MUTEX_INITIALIZER, .answer = ENG_DELIVERY_DONE};
	exec_ok("DELETE FROM timer");
	struct eng_workers *a = start("server-a", 1, 1, &c, 10);
	exec_ok("BEGIN");
	add_outbox(1, "notify");
	exec_ok("NOTIFY tramit_outbox");
	exec_ok("COMMIT");
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 1, 5);
	exec_ok("BEGIN");
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, "
	         "idempotency_key, run_at) SELECT 'demo', '%s', 3, 'notify', 't', '{}'::json, "
	         "'%s/3/' || i, now() - interval '1 hour' FROM generate_series(1, 3) i", expedient, expedient);
	exec_ok(sql);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) SELECT 'demo', '%s', "
	         "'late', (extract(epoch FROM now()) * 1000)::bigint - 3600000, now() - interval '1 hour'",
	         expedient);
	exec_ok(sql);
	exec_ok("NOTIFY tramit_outbox");
	exec_ok("NOTIFY tramit_timer");
	exec_ok("COMMIT");
	wait_until("SELECT count(*) FROM outbox WHERE state = 'done'", 4, 5);
	wait_until("SELECT count(*) FROM timer WHERE name = 'late' AND state = 'fired'", 1, 5);
	eng_workers_stop(a);
	cr_expect_eq(c.calls, 4);
}
