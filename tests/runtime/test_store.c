/* The store against a real PostgreSQL: one transition per transaction, gap-free registry
 * numbers under concurrency, nothing written for refused input, optimistic versions. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/runtime/audit.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/replay.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/fixture.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	return strcmp(hash, def->hash) == 0 ? def : NULL;
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
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Demo", "Demo", true, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	eng_store_close(s);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 120);

static long long count(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int submit(struct eng_store *s, const char *nif, const char *subject, const char *csv,
                  struct eng_outcome *out, struct eng_error *err)
{
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", subject}};
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = nif},
		          .time_ms = now_ms(), .form = form, .n_form = 1, .csv = csv},
	};
	int rc = eng_store_apply(s, &arena, &cmd, lookup, NULL, out, err);
	eng_arena_free(&arena);
	return rc;
}

struct worker {
	int i;
	int rc;
	struct eng_outcome out;
	char msg[256];
};

static void *work(void *payload)
{
	struct worker *w = payload;
	struct eng_store *s;
	struct eng_error err = {0};
	w->rc = eng_store_open(&s, cluster.conninfo, &err);
	if (w->rc == 0) {
		char csv[32];
		snprintf(csv, sizeof(csv), "CSV-%02d", w->i);
		w->rc = submit(s, "12345678Z", "Concurrent", csv, &w->out, &err);
		eng_store_close(s);
	}
	snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	return NULL;
}

Test(store, registry_numbers_have_no_gaps_under_concurrency)
{
	enum { N = 20 };
	pthread_t th[N];
	struct worker w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){.i = i};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	int seen[N + 1] = {0};
	int year = 0;
	for (int i = 0; i < N; i++) {
		cr_assert_eq(w[i].rc, 0, "submission %d: %s", i, w[i].msg);
		int y, seq;
		cr_assert_eq(sscanf(w[i].out.registry_number, "E/%d/%d", &y, &seq), 2, "%s",
		             w[i].out.registry_number);
		cr_assert(seq >= 1 && seq <= N, "number %d out of 1..%d", seq, N);
		cr_assert_eq(seen[seq], 0, "number %d given twice", seq);
		seen[seq] = 1;
		year = y;
		cr_expect_eq(strlen(w[i].out.registry_number), strlen("E/2026/000001"));
	}
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), N);
	cr_expect_eq(count("SELECT count(DISTINCT number) FROM expedient"), N);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT last FROM registry_counter WHERE entity_id = 'demo' AND "
	         "book = 'E' AND year = %d", year);
	cr_expect_eq(count(sql), N);
	/* Numbers follow time: ordering by number and by presentation time agree. */
	cr_expect_eq(count("SELECT count(*) FROM (SELECT seq, presented_at, lag(presented_at) OVER "
	                   "(ORDER BY seq) AS prev FROM registry_entry) t WHERE prev > presented_at"), 0);
}

Test(store, a_failed_transition_leaves_no_gap)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(submit(s, "12345678Z", "Primer", "SAME", &out, &err), 0, "%s", err.msg);
	cr_expect_str_eq(out.registry_number + 7, "000001");
	/* The same CSV again breaks the document's UNIQUE constraint after the registry number was
	 * taken: the whole transaction must roll back, number included. */
	int rc = submit(s, "12345678Z", "Segon", "SAME", &out, &err);
	cr_expect_eq(rc, ENG_EINTERNAL, "rc %d: %s", rc, err.msg);
	cr_expect(strstr(err.msg, "document_csv_key") != NULL, "%s", err.msg);
	cr_assert_eq(submit(s, "12345678Z", "Tercer", "OTHER", &out, &err), 0, "%s", err.msg);
	cr_expect_str_eq(out.registry_number + 7, "000002");
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 2);
	cr_expect_eq(count("SELECT count(*) FROM event"), 2);
	eng_store_close(s);
}

Test(store, invalid_input_changes_nothing)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	int rc = submit(s, "12345678Z", "", "X1", &out, &err);
	cr_expect_eq(rc, ENG_EINVALID);
	cr_expect_eq(out.step.n_errors, 1);
	cr_expect_str_eq(out.step.errors[0].ca, "Cal omplir «Assumpte».");
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0);
	cr_expect_eq(count("SELECT count(*) FROM event"), 0);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 0);
	cr_expect_eq(count("SELECT count(*) FROM registry_counter"), 0);
	cr_expect_eq(count("SELECT count(*) FROM expedient_counter"), 0);
	cr_expect_eq(count("SELECT count(*) FROM document"), 0);
	eng_store_close(s);
}

Test(store, transitions_chain_events_and_guard_versions)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(submit(s, "12345678Z", "Hola", "C1", &out, &err), 0, "%s", err.msg);
	char id[40];
	snprintf(id, sizeof(id), "%s", out.expedient_id);
	const char *const roles[] = {"tramitador"};
	struct eng_arena arena = {0};
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .expected_version = 7,
		.event = {.action = "resolve", .time_ms = now_ms(),
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = roles, .n_roles = 1}},
	};
	cr_expect_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), ENG_ECONFLICT);
	cr_expect_str_eq(err.msg, eng_arena_printf(&arena, "expedient %s is at version 1, not 7", id));
	cmd.expected_version = 1;
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	cr_expect_str_eq(out.step.to_state, "resolved");
	/* A second resolve is refused by the engine: resolved is final. */
	cmd.expected_version = -1;
	cr_expect_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), ENG_ECONFLICT);
	cr_expect_str_eq(err.msg, "action 'resolve' is not available in state 'resolved'");
	cr_expect_eq(count("SELECT version FROM expedient"), 2);
	cr_expect_eq(count("SELECT count(*) FROM event e1 JOIN event e2 ON e2.expedient_id = "
	                   "e1.expedient_id AND e2.seq = e1.seq + 1 AND e2.prev_hash = e1.hash"), 1);
	cr_expect_eq(count("SELECT count(*) FROM event WHERE seq = 1 AND prev_hash = repeat('0', 64) "
	                   "AND hash ~ '^[0-9a-f]{64}$'"), 1);
	cr_expect_eq(count("SELECT count(*) FROM event WHERE seq = 2 AND action = 'resolve' AND "
	                   "actor_kind = 'employee' AND from_state = 'submitted' AND to_state = 'resolved'"), 1);
	eng_arena_free(&arena);
	eng_store_close(s);
}

Test(store, sessions_expire_and_store_only_a_hash)
{
	struct eng_store *s;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	char token[64], csrf[64];
	cr_assert_eq(eng_store_session_create(s, token, csrf, "demo", "citizen", "12345678Z", 3600, &err), 0);
	cr_expect_eq(strlen(token), 43);
	cr_expect_str_neq(token, csrf);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM web_session WHERE token_hash = '%s'", token);
	cr_expect_eq(count(sql), 0, "the raw token is never stored");
	struct eng_arena a = {0};
	struct eng_session sess;
	cr_assert_eq(eng_store_session_get(s, &a, token, 60, &sess, &err), 0, "%s", err.msg);
	cr_expect_str_eq(sess.principal_id, "12345678Z");
	cr_expect_str_eq(sess.csrf, csrf);
	PQclear(PQexec(conn, "UPDATE web_session SET last_seen = now() - interval '2 minutes'"));
	cr_expect_eq(eng_store_session_get(s, &a, token, 60, &sess, &err), ENG_ENOTFOUND, "idle expiry");
	eng_arena_free(&a);
	eng_store_close(s);
}

static int submit_keyed(struct eng_store *s, const char *key, struct eng_outcome *out, struct eng_error *err)
{
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Amb clau"}};
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria", .lang = "ca",
		.expected_version = -1, .idempotency_key = key,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = now_ms(), .form = form, .n_form = 1, .csv = "KEYED-CSV"},
	};
	int rc = eng_store_apply(s, &arena, &cmd, lookup, NULL, out, err);
	eng_arena_free(&arena);
	return rc;
}

Test(store, a_retried_command_gets_the_first_outcome_not_a_second_transition)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome first, again;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(submit_keyed(s, "client-key-0001", &first, &err), 0, "%s", err.msg);
	cr_expect(!first.replayed);
	/* Same key: the answer to the first command, nothing new written (the CSV would even clash). */
	cr_assert_eq(submit_keyed(s, "client-key-0001", &again, &err), 0, "%s", err.msg);
	cr_expect(again.replayed);
	cr_expect_str_eq(again.expedient_id, first.expedient_id);
	cr_expect_str_eq(again.registry_number, first.registry_number);
	cr_expect_str_eq(again.csv, "KEYED-CSV");
	cr_expect_str_eq(again.to_state, "submitted");
	cr_expect_eq(again.version, 1);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 1);
	/* The same key for another request (here: an action on that expedient) is refused. */
	struct eng_arena arena = {0};
	const char *const roles[] = {"tramitador"};
	struct eng_command other = {
		.entity_id = "demo", .expedient_id = first.expedient_id, .expected_version = -1,
		.idempotency_key = "client-key-0001",
		.event = {.action = "resolve", .time_ms = now_ms(),
		          .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z", .roles = roles, .n_roles = 1}},
	};
	cr_expect_eq(eng_store_apply(s, &arena, &other, lookup, NULL, &again, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "idempotency key client-key-0001 was already used for another request");
	eng_arena_free(&arena);
	cr_expect_eq(submit_keyed(s, "short", &again, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "an idempotency key has 8 to 200 characters, not 5");
	eng_store_close(s);
}

Test(store, the_audit_finds_the_first_broken_link)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(submit(s, "12345678Z", "Auditada", "A1", &out, &err), 0, "%s", err.msg);
	const char *const roles[] = {"tramitador"};
	struct eng_arena arena = {0};
	char id[40];
	snprintf(id, sizeof(id), "%s", out.expedient_id);
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .expected_version = 1,
		.event = {.action = "resolve", .time_ms = now_ms(),
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = roles, .n_roles = 1}},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(submit(s, "00000000T", "Una altra", "A2", &out, &err), 0, "%s", err.msg);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct eng_audit_report rep;
	cr_assert_eq(eng_audit_verify(s, f, &rep, &err), 0, "%s", err.msg);
	fflush(f);
	cr_expect_eq(rep.expedients, 2);
	cr_expect_eq(rep.events, 3);
	cr_expect_eq(rep.broken, 0, "%s", text);
	fclose(f);
	free(text);

	/* Someone edits what the citizen asked for, directly in the database. */
	char sql[300];
	snprintf(sql, sizeof(sql), "UPDATE event SET payload = replace(payload::text, 'Auditada', 'Editada')::json "
	         "WHERE expedient_id = '%s' AND seq = 1", id);
	PQclear(PQexec(conn, sql));
	f = open_memstream(&text, &len);
	cr_assert_eq(eng_audit_verify(s, f, &rep, &err), 0, "%s", err.msg);
	fclose(f);
	cr_expect_eq(rep.broken, 1);
	char want[200];
	snprintf(want, sizeof(want), "expedient %s (", id);
	cr_expect(strstr(text, want) != NULL, "%s", text);
	cr_expect(strstr(text, "): event 1: its content does not match its hash (changed after it was written)\n"),
	          "%s", text);
	free(text);

	/* Deleting the first event instead breaks the next link. */
	snprintf(sql, sizeof(sql), "DELETE FROM event WHERE expedient_id = '%s' AND seq = 1", id);
	PQclear(PQexec(conn, sql));
	f = open_memstream(&text, &len);
	cr_assert_eq(eng_audit_verify(s, f, &rep, &err), 0, "%s", err.msg);
	fclose(f);
	cr_expect_eq(rep.broken, 1);
	cr_expect(strstr(text, "): event 2: events are missing before it (sequence gap)\n"), "%s", text);
	free(text);
	eng_arena_free(&arena);
	eng_store_close(s);
}

Test(store, a_thousand_events_replay_to_the_stored_expedients)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	const char *const roles[] = {"tramitador"};
	for (int i = 0; i < 500; i++) {
		char subject[32], csv[32], id[40];
		snprintf(subject, sizeof(subject), "Replay %d", i);
		snprintf(csv, sizeof(csv), "R-%d", i);
		cr_assert_eq(submit(s, i % 2 ? "12345678Z" : "00000000T", subject, csv, &out, &err), 0, "%s", err.msg);
		snprintf(id, sizeof(id), "%s", out.expedient_id);
		struct eng_arena arena = {0};
		struct eng_command cmd = {
			.entity_id = "demo", .expedient_id = id, .expected_version = 1,
			.event = {.action = i % 3 ? "resolve" : "reject", .time_ms = now_ms(),
			          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = roles, .n_roles = 1}},
		};
		cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
		eng_arena_free(&arena);
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct eng_replay_report rep;
	cr_assert_eq(eng_replay_all(s, lookup, NULL, NULL, f, &rep, &err), 0, "%s", err.msg);
	fclose(f);
	cr_expect_eq(rep.expedients, 500);
	cr_expect_eq(rep.events, 1000);
	cr_expect_eq(rep.mismatched, 0, "%s", text);
	free(text);
	/* A stored row that no longer matches its history is found. */
	PQclear(PQexec(conn, "UPDATE expedient SET data = '{\"assumpte\": \"Canviat\"}' "
	                     "WHERE id = (SELECT id FROM expedient ORDER BY created_at LIMIT 1)"));
	f = open_memstream(&text, &len);
	cr_assert_eq(eng_replay_all(s, lookup, NULL, NULL, f, &rep, &err), 0, "%s", err.msg);
	fclose(f);
	cr_expect_eq(rep.mismatched, 1);
	cr_expect(strstr(text, "): the replayed data differs from the stored one\n") != NULL, "%s", text);
	free(text);
	eng_store_close(s);
}

/* Group commit: each command of a batch succeeds or fails on its own, as if applied alone. */
Test(store, a_batch_commits_together_and_refuses_alone)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	char ids[3][40];
	for (int i = 0; i < 3; i++) {
		const char *csv = i == 0 ? "BATCH0" : i == 1 ? "BATCH1" : "BATCH2";
		cr_assert_eq(submit(s, "12345678Z", "Lot", csv, &out, &err), 0, "%s", err.msg);
		snprintf(ids[i], sizeof(ids[i]), "%s", out.expedient_id);
	}
	const char *const roles[] = {"tramitador"};
	struct eng_actor clerk = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = roles, .n_roles = 1};
	struct eng_command cmds[] = {
		{.entity_id = "demo", .expedient_id = ids[0], .expected_version = -1,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
		{.entity_id = "demo", .expedient_id = ids[1], .expected_version = 1,
		 .event = {.action = "reject", .time_ms = now_ms(), .actor = clerk}},
		/* Refused by the engine: no such action. */
		{.entity_id = "demo", .expedient_id = ids[2], .expected_version = -1,
		 .event = {.action = "archive", .time_ms = now_ms(), .actor = clerk}},
		/* A stale version. */
		{.entity_id = "demo", .expedient_id = ids[2], .expected_version = 9,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
		{.entity_id = "demo", .expedient_id = "00000000-0000-4000-8000-000000000000",
		 .expected_version = -1, .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
		{.entity_id = "demo", .expedient_id = "not-a-uuid", .expected_version = -1,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
		/* The same expedient again: applied after the first, so it sees 'resolved'. */
		{.entity_id = "demo", .expedient_id = ids[0], .expected_version = -1,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
	};
	enum { N = sizeof(cmds) / sizeof(cmds[0]) };
	struct eng_batch_item items[N];
	struct eng_expedient_view views[N];
	for (int i = 0; i < N; i++)
		items[i] = (struct eng_batch_item){.cmd = &cmds[i], .view = &views[i]};
	struct eng_arena arena = {0};
	cr_assert_eq(eng_store_apply_batch(s, &arena, items, N, lookup, NULL), 0);
	cr_expect_eq(items[0].rc, 0, "%s", items[0].err.msg);
	cr_expect_str_eq(views[0].state, "resolved");
	cr_expect_eq(views[0].version, 2);
	cr_expect_eq(items[1].rc, 0, "%s", items[1].err.msg);
	cr_expect_str_eq(items[1].out.to_state, "rejected");
	cr_expect_str_eq(views[1].id, ids[1]);
	cr_expect_eq(items[2].rc, ENG_ECONFLICT);
	cr_expect_str_eq(items[2].err.msg, "action 'archive' is not available in state 'submitted'");
	cr_expect_eq(items[3].rc, ENG_ECONFLICT);
	cr_expect_str_eq(items[3].err.msg, eng_arena_printf(&arena, "expedient %s is at version 1, not 9", ids[2]));
	cr_expect_eq(items[4].rc, ENG_ENOTFOUND);
	cr_expect_eq(items[5].rc, ENG_ENOTFOUND);
	cr_expect_eq(items[6].rc, ENG_ECONFLICT);
	cr_expect_str_eq(items[6].err.msg, "action 'resolve' is not available in state 'resolved'");
	cr_expect_eq(count("SELECT count(*) FROM expedient WHERE version = 2"), 2);
	cr_expect_eq(count("SELECT count(*) FROM expedient WHERE version = 1 AND state = 'submitted'"), 1);
	cr_expect_eq(count("SELECT count(*) FROM event WHERE seq = 2"), 2);
	/* One transaction for the batch, not one per command. */
	cr_expect_eq(count("SELECT count(DISTINCT xmin::text) FROM event WHERE seq = 2"), 1);
	/* Both committed transitions chain onto their expedient's first event. */
	cr_expect_eq(count("SELECT count(*) FROM event e1 JOIN event e2 ON e2.expedient_id = "
	                   "e1.expedient_id AND e2.seq = 2 AND e1.seq = 1 AND e2.prev_hash = e1.hash"), 2);
	eng_arena_free(&arena);
	eng_store_close(s);
}

/* A batch the database refuses (a timer no longer claimed) is applied again item by item:
 * only the bad item fails. */
Test(store, a_refused_batch_falls_back_to_one_by_one)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	char ids[2][40];
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(submit(s, "12345678Z", "Lot", i ? "FALLBACK1" : "FALLBACK0", &out, &err), 0, "%s", err.msg);
		snprintf(ids[i], sizeof(ids[i]), "%s", out.expedient_id);
	}
	const char *const roles[] = {"tramitador"};
	struct eng_actor clerk = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = roles, .n_roles = 1};
	struct eng_command cmds[] = {
		{.entity_id = "demo", .expedient_id = ids[0], .expected_version = -1,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
		/* Claims to fire timer 424242, which nobody claimed: settling it fails at commit. */
		{.entity_id = "demo", .expedient_id = ids[1], .expected_version = -1, .timer_id = 424242,
		 .event = {.action = "resolve", .time_ms = now_ms(), .actor = clerk}},
	};
	struct eng_batch_item items[2] = {{.cmd = &cmds[0]}, {.cmd = &cmds[1]}};
	struct eng_arena arena = {0};
	cr_assert_eq(eng_store_apply_batch(s, &arena, items, 2, lookup, NULL), 0);
	cr_expect_eq(items[0].rc, 0, "%s", items[0].err.msg);
	cr_expect_eq(items[1].rc, ENG_ECONFLICT, "%s", items[1].err.msg);
	cr_expect_str_eq(items[1].err.msg, "database: timer_fired changed 0 rows, not 1");
	cr_expect_eq(count("SELECT count(*) FROM expedient WHERE state = 'resolved'"), 1);
	cr_expect_eq(count("SELECT count(*) FROM event"), 3);
	eng_arena_free(&arena);
	eng_store_close(s);
}
