/* Schema migrations (engine/runtime/migrate.c) against a real cluster: applied once, recorded,
 * guarded against edits, and serialised between concurrent runners. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/migrate.h"
#include "tests/support/pgtmp.h"

struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct embedded_file eng_migration_files[];

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

Test(migrate, count_matches_the_embedded_files)
{
	int n = 0;
	while (eng_migration_files[n].name)
		n++;
	cr_assert_gt(n, 0);
	cr_assert_eq(eng_migrate_count(), n);
	cr_assert_str_eq(eng_migration_files[0].name, "0001_init.sql");
	for (int i = 1; i < n; i++)
		cr_assert_lt(strcmp(eng_migration_files[i - 1].name, eng_migration_files[i].name), 0);
}

Test(migrate, applies_every_file_once_then_nothing, .init = cluster_up, .fini = cluster_down)
{
	struct eng_error err = {0};
	int n = eng_migrate_count(), applied = -1;
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *log = open_memstream(&logbuf, &loglen);
	PGconn *conn = pgtmp_connect(&cluster);

	cr_assert_eq(eng_migrate(conn, &applied, log, &err), 0, "%s", err.msg);
	cr_assert_eq(applied, n);
	fclose(log);
	cr_assert_str_eq(strtok(logbuf, "\n"), "applied 0001_init.sql");
	free(logbuf);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration"), n);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration WHERE "
	                              "sha256 ~ '^[0-9a-f]{64}$'"), n);
	/* The first migration's tables exist. */
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM entity"), 0);

	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(applied, 0);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration"), n);
	/* The advisory lock was released. */
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
	PQfinish(conn);
}

Test(migrate, refuses_a_migration_edited_after_it_was_applied, .init = cluster_up,
     .fini = cluster_down)
{
	struct eng_error err = {0};
	int applied = -1;
	PGconn *conn = pgtmp_connect(&cluster);

	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), 0, "%s", err.msg);
	PGresult *res = PQexec(conn, "UPDATE schema_migration SET sha256 = repeat('0', 64) "
	                             "WHERE name = '0001_init.sql'");
	cr_assert_str_eq(PQcmdTuples(res), "1");
	PQclear(res);
	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), ENG_ECONFLICT);
	cr_assert_eq(applied, 0);
	const char *prefix = "migration 0001_init.sql changed after it was applied (sha256 "
	                     "000000000000... recorded, ";
	cr_assert(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s", err.msg);
	cr_assert(strstr(err.msg, "restore it and add a new migration instead"), "%s", err.msg);
	PQfinish(conn);
}

Test(migrate, refuses_a_database_with_an_unknown_migration, .init = cluster_up,
     .fini = cluster_down)
{
	struct eng_error err = {0};
	int applied = -1;
	PGconn *conn = pgtmp_connect(&cluster);

	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), 0, "%s", err.msg);
	PQclear(PQexec(conn, "INSERT INTO schema_migration (name, sha256) "
	                     "VALUES ('9999_future.sql', repeat('a', 64))"));
	cr_assert_eq(eng_migrate(conn, &applied, NULL, &err), ENG_ECONFLICT);
	cr_assert_str_eq(err.msg, "the database has migration 9999_future.sql, which this binary "
	                          "does not have: run a newer tramit");
	PQfinish(conn);
}

struct runner {
	const struct eng_pgcluster *cluster;
	pthread_barrier_t *start;
	int rc;
	int applied;
	struct eng_error err;
};

static void *run_migrate(void *payload)
{
	struct runner *r = payload;
	PGconn *conn = PQconnectdb(r->cluster->conninfo);
	/* Both threads wait at the barrier even if one failed to connect, so neither hangs. */
	pthread_barrier_wait(r->start);
	if (PQstatus(conn) == CONNECTION_OK)
		r->rc = eng_migrate(conn, &r->applied, NULL, &r->err);
	else
		snprintf(r->err.msg, sizeof(r->err.msg), "%s", PQerrorMessage(conn));
	PQfinish(conn);
	return NULL;
}

Test(migrate, concurrent_runners_apply_each_file_once, .init = cluster_up, .fini = cluster_down)
{
	pthread_barrier_t start;
	struct runner r[2];
	pthread_t t[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct runner){.cluster = &cluster, .start = &start, .rc = -100, .applied = -1};
		cr_assert_eq(pthread_create(&t[i], NULL, run_migrate, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(r[i].rc, 0, "runner %d: %s", i, r[i].err.msg);
	cr_assert_eq(r[0].applied + r[1].applied, eng_migrate_count());
	PGconn *conn = pgtmp_connect(&cluster);
	cr_assert_eq(count_rows(conn, "SELECT count(*) FROM schema_migration"), eng_migrate_count());
	PQfinish(conn);
}
