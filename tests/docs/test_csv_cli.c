/* `tramit csv verify` against a real PostgreSQL: a submission filed through the store leaves a
 * receipt under a fresh CSV; the command finds it however it is typed, prints its metadata
 * exactly, logs the lookup, and answers unknown and withdrawn codes alike (exit 1). The stored
 * receipt also renders with `tramit document render`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/fixture.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;
static char csv[CONN_CSV_DISPLAY_LEN + 1];

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

/* Files a general application as a citizen, its receipt under csv. */
static void submit(struct eng_store *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Còpia del padró"}};
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria Puig", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, .form = form,
		          .n_form = 1, .csv = csv},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	eng_arena_free(&arena);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	/* The store's sessions show times in Madrid's zone: so does this one. */
	PQclear(PQexec(conn, "SET TIME ZONE 'Europe/Madrid'"));
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = fixture_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament de Demostració",
	                                     "Ayuntamiento de Demostración", true, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	cr_assert_eq(conn_csv_new(csv), 0);
	submit(s);
	eng_store_close(s);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(csv_cli, .init = setup, .fini = teardown, .timeout = 120);

/* One value of a one-row query with the CSV as $1. */
static char *query_value(const char *sql)
{
	const char *p[] = {csv};
	PGresult *r = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_assert_eq(PQntuples(r), 1, "%s", sql);
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Runs `tramit csv verify ARGS` on the test's database; stdout and stderr in *out. */
static int csv_verify(char **out, const char *args)
{
	return shell_run(out, NULL, "TRAMIT_DATABASE_URL='%s' %s csv verify %s 2>&1",
	                 cluster.conninfo, TRAMIT_BINARY, args);
}

/* The CSV as a person might type it: lower case, groups split by spaces, O for 0. */
static void typed_sloppily(char out[64])
{
	size_t o = 0;
	for (const char *p = csv; *p; p++)
		out[o++] = *p == '-' ? ' ' : *p == '0' ? 'o' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	out[o] = '\0';
}

Test(csv_cli, a_stored_receipt_is_found_however_the_code_is_typed)
{
	char typed[64], *out;
	typed_sloppily(typed);
	int rc = csv_verify(&out, typed);
	cr_assert_eq(rc, 0, "%s", out);
	char *created = query_value("SELECT to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') "
	                            "FROM document WHERE csv = $1");
	char *sha = query_value("SELECT encode(sha256(content), 'hex') FROM document WHERE csv = $1");
	char *stored_sha = query_value("SELECT sha256 FROM document WHERE csv = $1");
	char *number = query_value("SELECT x.number FROM document d JOIN expedient x "
	                           "ON x.id = d.expedient_id WHERE d.csv = $1");
	cr_expect_str_eq(sha, stored_sha, "the stored hash is the content's");
	cr_expect(strlen(number) > 0);
	char want[1024];
	snprintf(want, sizeof(want), "CSV:        %s\nkind:       receipt\ncreated:    %s\n"
	         "sha256:     %s\nmedia type: application/json\nexpedient:  %s\n", csv, created, sha,
	         number);
	cr_expect_str_eq(out, want);
	free(out);
	char *logged = query_value("SELECT count(*) FROM csv_lookup WHERE client = 'tramit csv verify' "
	                           "AND found AND $1 <> ''");
	cr_expect_str_eq(logged, "1");
	free(logged);
	free(created);
	free(sha);
	free(stored_sha);
	free(number);
}

Test(csv_cli, unknown_malformed_and_withdrawn_codes_exit_1)
{
	char unknown[CONN_CSV_DISPLAY_LEN + 1], *out;
	cr_assert_eq(conn_csv_new(unknown), 0);
	int rc = csv_verify(&out, unknown);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: csv verify: no document for that CSV\n");
	free(out);

	/* The right code with its check character changed: caught before any lookup. */
	char wrong[CONN_CSV_DISPLAY_LEN + 1];
	memcpy(wrong, csv, sizeof(wrong));
	wrong[CONN_CSV_DISPLAY_LEN - 1] = csv[CONN_CSV_DISPLAY_LEN - 1] == 'A' ? 'B' : 'A';
	char normal[CONN_CSV_DISPLAY_LEN + 1];
	if (conn_csv_normalize(normal, wrong) == 0) /* 'A' or 'B' could be a valid check too */
		wrong[CONN_CSV_DISPLAY_LEN - 1] = csv[CONN_CSV_DISPLAY_LEN - 1] == 'C' ? 'D' : 'C';
	rc = csv_verify(&out, wrong);
	cr_expect_eq(rc, 1);
	char want[512];
	snprintf(want, sizeof(want), "tramit: csv verify: '%s' is not a CSV: expected 24 letters and "
	         "digits (case, dashes and spaces do not matter) ending in a valid check character\n",
	         wrong);
	cr_expect_str_eq(out, want);
	free(out);
	char *lookups = query_value("SELECT count(*) FROM csv_lookup WHERE $1 <> ''");
	cr_expect_str_eq(lookups, "1", "the malformed code was looked up");
	free(lookups);

	PGresult *r = PQexecParams(conn, "UPDATE document SET withdrawn_at = now() WHERE csv = $1",
	                           1, NULL, (const char *[]){csv}, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	cr_assert_str_eq(PQcmdTuples(r), "1");
	PQclear(r);
	rc = csv_verify(&out, csv);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: csv verify: no document for that CSV\n");
	free(out);

	rc = csv_verify(&out, "");
	cr_expect_eq(rc, 2);
	cr_expect_str_eq(out, "usage: tramit csv verify CODE\n");
	free(out);
}

Test(csv_cli, the_stored_receipt_renders_with_its_csv_on_the_page)
{
	char *content = query_value("SELECT convert_from(content, 'UTF8') FROM document WHERE csv = $1");
	char path[] = "/tmp/tramit-stored-receipt-XXXXXX", *out;
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	int rc = shell_run(&out, NULL, "%s document render %s --url http://127.0.0.1:8080 -o %s.pdf "
	                   ">/dev/null 2>&1 && pdftotext -enc UTF-8 -x 0 -y 0 -W 52 -H 842 %s.pdf - | "
	                   "grep -c 'Codi segur de verificació (CSV) / Código seguro de verificación "
	                   "(CSV): %s$'", TRAMIT_BINARY, path, path, path, csv);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(out, "1\n");
	free(out);
	rc = shell_run(&out, NULL, "pdftotext -enc UTF-8 %s.pdf - | grep -x 'Còpia del padró'; "
	               "rm -f %s %s.pdf", path, path, path);
	cr_expect_str_eq(out, "Còpia del padró\n");
	free(out);
	free(content);
}
