/* A migration that fails: this binary links its own eng_migration_files, which the linker then
 * takes instead of the generated table in libengine_runtime.a (an archive member is only pulled
 * in for a symbol still undefined), so the broken SQL never ships in the real one. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/migrate.h"
#include "tests/support/pgtmp.h"

struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};

#define FILE_ENTRY(name, text) {name, text, sizeof(text) - 1}
const struct embedded_file eng_migration_files[] = {
	FILE_ENTRY("0001_ok.sql", "CREATE TABLE a (x int);\n"),
	/* The comment's accented letters check that PostgreSQL's character position becomes the
	 * right line although the file is UTF-8. */
	FILE_ENTRY("0002_bad.sql", "-- Taula de proves: àèòú\nCREATE TABLE b (x int);\n"
	                           "INSERT INTO b VALUES (1);\nSELEC 1;\n"),
	FILE_ENTRY("0003_never.sql", "CREATE TABLE c (x int);\n"),
	{NULL, NULL, 0},
};

static struct eng_pgcluster cluster;

static void cluster_up(void)
{
	struct eng_error err = {0};
	if (pgtmp_start(&cluster, &err) < 0)
		cr_assert_fail("pgtmp_start: %s", err.msg);
}

static void cluster_down(void)
{
	pgtmp_stop(&cluster);
}

static int count_rows(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
	int v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

Test(migrate, failing_file_is_named_with_its_line_and_rolled_back, .init = cluster_up,
     .fini = cluster_down)
{
	struct eng_error err = {0};
	int applied = -1;
	PGconn *conn = pgtmp_connect(&cluster);

	cr_assert_eq(eng_migrate_count(), 3);
	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), ENG_EINTERNAL);
	cr_assert_str_eq(err.msg, "migration 0002_bad.sql:4 failed: syntax error at or near \"SELEC\"");
	cr_assert_eq(applied, 1);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration"), 1);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration "
	                              "WHERE name = '0001_ok.sql'"), 1);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM pg_class WHERE relname IN ('b', 'c')"), 0);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
	cr_assert_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	PQfinish(conn);
}
