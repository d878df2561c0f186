/* Time-stamped digests of the hash chains, through `tramit audit digest` and `tramit audit
 * verify --trust` on a real PostgreSQL, with the built-in TSA of a throw-away PKI; the tokens
 * are cross-checked by `openssl ts -verify`. An insider who rewrites an event and recomputes
 * its chain passes the chain walk but not the digest; edited digests and tokens are found. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/audit.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/fixture.h"
#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static struct eng_store *store;
static PGconn *conn;
static char pki[600];

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A citizen files the fixture's application; returns its id (malloc'd). */
static char *file_one(const char *subject)
{
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", subject}};
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	cr_assert_eq(conn_csv_new(csv), 0);
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria Puig", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = now_ms(), .form = form, .n_form = 1, .csv = csv},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_apply(store, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	char *id = strdup(out.expedient_id);
	eng_arena_free(&arena);
	return id;
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = fixture_definition();
	cr_assert_eq(eng_store_open(&store, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(store, "demo", "Ajuntament de Demostració",
	                                     "Ayuntamiento de Demostración", true, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_put_definition(store, def, "-- source", &err), 0, "%s", err.msg);
	/* One throw-away PKI for all the tests of a build (keys take seconds to make): made in a
	 * temporary folder and renamed into place, so tests running at once never see half of one. */
	char here[PATH_MAX];
	cr_assert_not_null(realpath(".", here));
	snprintf(pki, sizeof(pki), "%.500s/digest-pki", here);
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "[ -f '%s/tsa.pem' ] || { t=$(mktemp -d '%s.XXXXXX') && "
	                       "sh '%s/tests/sign/make_pki.sh' \"$t\" && { mv -T \"$t\" '%s' 2>/dev/null || "
	                       "rm -rf \"$t\"; }; } 2>&1", pki, pki, TRAMIT_SOURCE_DIR, pki), 0, "%s", out);
	free(out);
}

static void teardown(void)
{
	eng_store_close(store);
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(audit_digest, .init = setup, .fini = teardown, .timeout = 120);

/* Runs `tramit audit ARGS` on the test's database; stdout and stderr in *out. */
static int audit(char **out, const char *args)
{
	return shell_run(out, NULL, "TRAMIT_DATABASE_URL='%s' %s audit %s 2>&1", cluster.conninfo,
	                 TRAMIT_BINARY, args);
}

static int digest(char **out)
{
	char args[2400];
	snprintf(args, sizeof(args), "digest --tsa-key '%s/tsa.key' --tsa-cert '%s/tsa.pem' --trust "
	         "'%s/ca.pem'", pki, pki, pki);
	return audit(out, args);
}

static int verify(char **out, const char *ca)
{
	char args[900];
	snprintf(args, sizeof(args), "verify --trust '%s/%s.pem'", pki, ca);
	return audit(out, args);
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect_query(const char *sql, const char *want)
{
	char *v = query1(sql);
	cr_expect_str_eq(v, want, "%s", sql);
	free(v);
}

/* "digest N: H chain heads anchored, <64 hex>, time-stamped <time>\n" */
static void expect_made(const char *out, int id, int heads)
{
	char *digest = query1("SELECT digest || ', time-stamped ' || stamped_at FROM audit_digest "
	                      "ORDER BY id DESC LIMIT 1");
	char want[300];
	snprintf(want, sizeof(want), "digest %d: %d chain head%s anchored, %s\n", id, heads,
	         heads == 1 ? "" : "s", digest);
	cr_expect_str_eq(out, want);
	free(digest);
}

Test(audit_digest, heads_that_changed_are_anchored_stamped_and_verified)
{
	char *a = file_one("Primera"), *b = file_one("Segona"), *out = NULL;
	cr_assert_eq(digest(&out), 0, "%s", out);
	expect_made(out, 1, 2);
	free(out);
	/* The heads text is exactly the chains' newest events, sorted by expedient. */
	expect_query("SELECT string_agg(e.expedient_id || ' ' || e.seq || ' ' || e.hash || E'\\n', '' "
	             "ORDER BY e.expedient_id::text) = (SELECT heads FROM audit_digest WHERE id = 1) "
	             "FROM event e JOIN expedient x ON x.id = e.expedient_id AND x.last_hash = e.hash", "t");
	expect_query("SELECT prev_digest = repeat('0', 64) AND n_heads = 2 FROM audit_digest", "t");
	expect_query("SELECT encode(sha256(convert_to(prev_digest || E'\\n' || heads, 'UTF8')), 'hex') "
	             "= digest FROM audit_digest", "t");

	/* openssl, not us, judges the token over the digest's text. */
	char *digest_hex = query1("SELECT digest FROM audit_digest WHERE id = 1");
	char *token_text = query1("SELECT token FROM audit_digest WHERE id = 1");
	size_t token_len = 0;
	unsigned char *token = PQunescapeBytea((const unsigned char *)token_text, &token_len);
	char path[700];
	snprintf(path, sizeof(path), "%s/token.der", pki);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(token, 1, token_len, f);
	fclose(f);
	PQfreemem(token);
	cr_assert_eq(shell_run(&out, NULL, "cd '%s' && printf '%%s' '%s' > digest.txt && openssl ts "
	                       "-verify -data digest.txt -in token.der -token_in -CAfile ca.pem "
	                       "-untrusted tsa.pem 2>&1", pki, digest_hex), 0, "%s", out);
	cr_expect(strstr(out, "Verification: OK") != NULL, "%s", out);
	free(out);
	free(digest_hex);
	free(token_text);

	/* Nothing new: no digest. One chain grows, a new one starts: both anchored next. */
	cr_assert_eq(digest(&out), 0, "%s", out);
	cr_expect_str_eq(out, "no hash chain changed since the last digest: none made\n");
	free(out);
	char *c = file_one("Tercera");
	const char *const roles[] = {"tramitador"};
	struct eng_arena arena = {0};
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = a, .expected_version = -1,
		.event = {.action = "resolve", .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "pere",
		                                                 .roles = roles, .n_roles = 1},
		          .time_ms = now_ms()},
	};
	struct eng_outcome o;
	struct eng_error err = {0};
	int rc = eng_store_apply(store, &arena, &cmd, lookup, NULL, &o, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	eng_arena_free(&arena);
	cr_assert_eq(digest(&out), 0, "%s", out);
	expect_made(out, 2, 2);
	free(out);
	expect_query("SELECT (SELECT prev_digest FROM audit_digest WHERE id = 2) = "
	             "(SELECT digest FROM audit_digest WHERE id = 1)", "t");
	expect_query("SELECT count(*) || ' ' || count(*) FILTER (WHERE digest_id = 2) FROM audit_head", "3 2");

	cr_expect_eq(verify(&out, "ca"), 0, "%s", out);
	cr_expect_str_eq(out, "3 expedients, 4 events: every hash chain verifies\n"
	                      "2 time-stamped digests anchoring 4 chain heads: every one verifies\n");
	free(out);
	/* Against another CA the tokens do not verify. */
	cr_expect_eq(verify(&out, "rogue"), 1, "%s", out);
	cr_expect(strstr(out, "digest 1 (made ") && strstr(out, "its time stamp does not verify: "), "%s", out);
	cr_expect(strstr(out, "2 problems in 2 time-stamped digests\n") != NULL, "%s", out);
	free(out);
	free(a); free(b); free(c);
}

/* An insider rewrites an event's payload and recomputes its hash and the expedient's head:
 * the chains verify, the digest does not. */
Test(audit_digest, a_consistently_rewritten_history_is_found)
{
	char *a = file_one("Original"), *out = NULL;
	cr_assert_eq(digest(&out), 0, "%s", out);
	free(out);
	char sql[600];
	snprintf(sql, sizeof(sql), "SELECT expedient_id, seq, kind, coalesce(action, ''), actor_kind, "
	         "actor_id, coalesce(from_state, ''), to_state, round(extract(epoch FROM at) * 1000)::bigint, "
	         "replace(payload::text, 'Original', 'Falsificat'), prev_hash FROM event WHERE expedient_id = '%s'", a);
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQntuples(r), 1, "%s", PQresultErrorMessage(r));
	struct eng_event_record e = {
		.expedient_id = PQgetvalue(r, 0, 0), .seq = atoll(PQgetvalue(r, 0, 1)),
		.kind = PQgetvalue(r, 0, 2), .action = PQgetvalue(r, 0, 3), .actor_kind = PQgetvalue(r, 0, 4),
		.actor_id = PQgetvalue(r, 0, 5), .from_state = PQgetvalue(r, 0, 6),
		.to_state = PQgetvalue(r, 0, 7), .at_ms = atoll(PQgetvalue(r, 0, 8)), .payload = PQgetvalue(r, 0, 9),
	};
	char hash[65];
	eng_event_hash(hash, PQgetvalue(r, 0, 10), &e);
	const char *p[] = {e.payload, hash, a};
	PGresult *u = PQexecParams(conn, "WITH ev AS (UPDATE event SET payload = $1::json, hash = $2 "
	                           "WHERE expedient_id = $3) UPDATE expedient SET last_hash = $2 WHERE id = $3",
	                           3, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(u), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(u));
	PQclear(u);
	PQclear(r);
	cr_expect_eq(verify(&out, "ca"), 1, "%s", out);
	char want[400];
	snprintf(want, sizeof(want), "1 expedient, 1 event: every hash chain verifies\n"
	         "digest 1: expedient %s: its anchored event is gone or was rewritten after it was "
	         "time-stamped\n1 problem in 1 time-stamped digest\n", a);
	cr_expect_str_eq(out, want);
	free(out);
	free(a);
}

Test(audit_digest, edited_digests_and_tokens_are_found)
{
	char *a = file_one("Una"), *out = NULL;
	cr_assert_eq(digest(&out), 0, "%s", out);
	free(out);
	PQclear(PQexec(conn, "UPDATE audit_digest SET heads = heads || heads"));
	cr_expect_eq(verify(&out, "ca"), 1, "%s", out);
	cr_expect(strstr(out, "its heads do not hash to its digest (changed after it was made)\n"), "%s", out);
	free(out);
	PQclear(PQexec(conn, "UPDATE audit_digest SET heads = substr(heads, 1, length(heads) / 2), "
	                     "token = overlay(token placing '\\x00'::bytea from 60 for 1)"));
	cr_expect_eq(verify(&out, "ca"), 1, "%s", out);
	cr_expect(strstr(out, "its time stamp does not verify: "), "%s", out);
	free(out);
	free(a);
}

Test(audit_digest, without_a_tsa_nothing_is_stored)
{
	char *a = file_one("Sense segell"), *out = NULL;
	cr_expect_eq(audit(&out, "digest --tsa-url http://127.0.0.1:1/tsa"), 1, "%s", out);
	cr_expect(strstr(out, "tramit: audit digest: time stamp: ") && strstr(out, "(nothing was stored)\n"),
	          "%s", out);
	free(out);
	expect_query("SELECT count(*) FROM audit_digest", "0");
	expect_query("SELECT count(*) FROM audit_head", "0");
	cr_expect_eq(audit(&out, "digest --tsa-url http://x --tsa-key k"), 1);
	cr_expect_str_eq(out, "tramit: a time-stamp authority is needed: --tsa-url URL, or --tsa-key KEY "
	                      "and --tsa-cert CERT for the built-in one\n");
	free(out);
	cr_expect_eq(audit(&out, "verify --tsa-url http://x"), 2);
	free(out);
	free(a);
}

/* `tramit serve` with a TSA makes the day's digest by itself, and only one. */
Test(audit_digest, serve_makes_the_daily_digest)
{
	char *a = file_one("Diària");
	char env_db[1200], env_key[700], env_cert[700], env_trust[700], env_port[32], log[700];
	int port = http_free_port();
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_key, sizeof(env_key), "TRAMIT_TSA_KEY=%s/tsa.key", pki);
	snprintf(env_cert, sizeof(env_cert), "TRAMIT_TSA_CERT=%s/tsa.pem", pki);
	snprintf(env_trust, sizeof(env_trust), "TRAMIT_TSA_TRUST=%s/ca.pem", pki);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_key, env_cert, env_trust, env_port, "TRAMIT_ENTITY=demo", NULL};
	const char *args[] = {"serve", NULL};
	pid_t server = tramit_start(args, env, port, log);
	char *n = NULL;
	for (int i = 0; i < 100; i++) {
		free(n);
		n = query1("SELECT count(*) FROM audit_digest");
		if (strcmp(n, "1") == 0)
			break;
		usleep(100 * 1000);
	}
	cr_expect_str_eq(n, "1", "the server made no digest; see %s", log);
	free(n);
	cr_expect_eq(tramit_stop(server, SIGTERM), 0);
	/* A chain grows and the server starts again the same day: its daily job, which runs as
	 * soon as it starts, finds today's digest and makes no second one. */
	char *b = file_one("Una altra");
	server = tramit_start(args, env, port, log);
	usleep(1500 * 1000);
	cr_expect_eq(tramit_stop(server, SIGTERM), 0);
	expect_query("SELECT count(*) || ' ' || max(n_heads) FROM audit_digest", "1 1");
	free(a);
	free(b);
}
