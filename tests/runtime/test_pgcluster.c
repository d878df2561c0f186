/* The embedded PostgreSQL cluster (engine/runtime/pgcluster.c) against the real server: start,
 * reuse, stop and destroy. Every test builds its own cluster under /tmp and removes it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/runtime/pgcluster.h"
#include "tests/support/pgtmp.h"

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

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* A zombie counts as dead: nothing may reap an orphaned postmaster in this container. */
static bool pid_alive(pid_t pid)
{
	char path[64], stat[256] = "";
	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *paren = strrchr(stat, ')');
	return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

static pid_t postmaster_pid(const struct eng_pgcluster *c)
{
	char path[700];
	long pid = 0;
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", c->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

static int query_int(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
	cr_assert_eq(PQntuples(res), 1);
	int v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

Test(pgcluster, starts_and_answers_select_1, .init = cluster_up, .fini = cluster_down)
{
	char expected[700];
	cr_assert(cluster.started_by_us);
	cr_assert(cluster.tcp);
	cr_assert_gt(cluster.port, 0);
	snprintf(expected, sizeof(expected), "%s/run", cluster.dir);
	cr_assert_str_eq(cluster.socket_dir, expected);
	PGconn *conn = pgtmp_connect(&cluster);
	cr_assert_eq(query_int(conn, "SELECT 1"), 1);
	PGresult *res = PQexec(conn, "SELECT current_user, current_database()");
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "tramit");
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "tramit");
	PQclear(res);
	PQfinish(conn);
}

Test(pgcluster, accepts_tcp_on_loopback, .init = cluster_up, .fini = cluster_down)
{
	char conninfo[128];
	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d user=tramit dbname=tramit",
	         cluster.port);
	PGconn *conn = PQconnectdb(conninfo);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
	cr_assert_eq(query_int(conn, "SELECT 2"), 2);
	PQfinish(conn);
}

Test(pgcluster, refuses_roles_other_than_tramit, .init = cluster_up, .fini = cluster_down)
{
	char conninfo[800];
	PGconn *conn = pgtmp_connect(&cluster);
	PQclear(PQexec(conn, "CREATE ROLE intruder LOGIN"));
	PQfinish(conn);
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%d user=intruder dbname=tramit",
	         cluster.socket_dir, cluster.port);
	conn = PQconnectdb(conninfo);
	cr_assert_eq(PQstatus(conn), CONNECTION_BAD);
	cr_assert(strstr(PQerrorMessage(conn), "no pg_hba.conf entry"), "%s", PQerrorMessage(conn));
	PQfinish(conn);
}

Test(pgcluster, second_start_reuses_the_running_server, .init = cluster_up, .fini = cluster_down)
{
	struct eng_pgcluster again;
	struct eng_error err = {0};
	struct eng_pgcluster_options opts = {.dir = cluster.dir, .quiet = true};
	pid_t before = postmaster_pid(&cluster);

	cr_assert_eq(eng_pgcluster_start(&again, &opts, &err), 0, "%s", err.msg);
	cr_assert_not(again.started_by_us);
	cr_assert_eq(again.port, cluster.port);
	cr_assert_str_eq(again.conninfo, cluster.conninfo);
	cr_assert_eq(postmaster_pid(&again), before);
	/* Stopping a reused cluster leaves it running for its owner. */
	cr_assert_eq(eng_pgcluster_stop(&again, &err), 0, "%s", err.msg);
	cr_assert(pid_alive(before));
	PGconn *conn = pgtmp_connect(&again);
	cr_assert_eq(query_int(conn, "SELECT 1"), 1);
	PQfinish(conn);
}

Test(pgcluster, stop_leaves_no_postmaster, .init = cluster_up, .fini = cluster_down)
{
	struct eng_error err = {0};
	char pidfile[700];
	pid_t pid = postmaster_pid(&cluster);

	cr_assert_gt(pid, 0);
	cr_assert(pid_alive(pid));
	cr_assert_eq(eng_pgcluster_stop(&cluster, &err), 0, "%s", err.msg);
	cr_assert_not(cluster.started_by_us);
	snprintf(pidfile, sizeof(pidfile), "%s/data/postmaster.pid", cluster.dir);
	cr_assert_not(path_exists(pidfile));
	cr_assert_not(pid_alive(pid), "postmaster %ld still alive", (long)pid);
	cr_assert_eq(PQping(cluster.conninfo), PQPING_NO_RESPONSE);
	/* A second stop is a no-op. */
	cr_assert_eq(eng_pgcluster_stop(&cluster, &err), 0, "%s", err.msg);
}

Test(pgcluster, restarts_an_existing_cluster_after_stop, .init = cluster_up, .fini = cluster_down)
{
	struct eng_error err = {0};
	struct eng_pgcluster_options opts = {.dir = cluster.dir, .tcp = true, .quiet = true};
	PGconn *conn = pgtmp_connect(&cluster);
	PQclear(PQexec(conn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"));
	PQfinish(conn);

	cr_assert_eq(eng_pgcluster_stop(&cluster, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_pgcluster_start(&cluster, &opts, &err), 0, "%s", err.msg);
	cr_assert(cluster.started_by_us);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(query_int(conn, "SELECT v FROM kept"), 42);
	PQfinish(conn);
}

Test(pgcluster, destroy_removes_the_folder, .init = cluster_up, .fini = cluster_down)
{
	struct eng_error err = {0};
	char dir[sizeof(cluster.dir)];
	pid_t pid = postmaster_pid(&cluster);

	snprintf(dir, sizeof(dir), "%s", cluster.dir);
	cr_assert(path_exists(dir));
	cr_assert_eq(eng_pgcluster_destroy(&cluster, &err), 0, "%s", err.msg);
	cr_assert_not(path_exists(dir));
	cr_assert_not(pid_alive(pid));
}

Test(pgcluster, rejects_a_socket_folder_too_long_for_unix_sockets)
{
	char dir[200];
	struct eng_pgcluster c;
	struct eng_error err = {0};
	char root[] = "/tmp/tramit-test-XXXXXX";

	cr_assert_not_null(mkdtemp(root));
	/* 23 + 1 + 90 + 4 ("/run") + 15 ("/.s.PGSQL.65535") = 133 bytes, over the 107 allowed. */
	snprintf(dir, sizeof(dir), "%s/%090d", root, 0);
	struct eng_pgcluster_options opts = {.dir = dir, .quiet = true};
	int rc = eng_pgcluster_start(&c, &opts, &err);
	char expected[400];
	snprintf(expected, sizeof(expected),
	         "socket folder %s/run is too long (133 bytes with the socket name, unix sockets allow "
	         "107): set TRAMIT_VAR_DIR to a shorter folder", dir);
	rmdir(dir);
	rmdir(root);
	cr_assert_eq(rc, ENG_EINVALID);
	cr_assert_str_eq(err.msg, expected);
}

Test(pgcluster, as_root_refuses_a_folder_the_postgres_user_cannot_reach)
{
	char dir[100];
	struct eng_pgcluster c;
	struct eng_error err = {0};
	char root[] = "/tmp/tramit-test-XXXXXX";

	if (geteuid() != 0)
		cr_skip_test("only root drops to another user");
	cr_assert_not_null(mkdtemp(root)); /* 0700, owned by root */
	snprintf(dir, sizeof(dir), "%s/pg", root);
	struct eng_pgcluster_options opts = {.dir = dir, .run_as = "nobody", .quiet = true};
	int rc = eng_pgcluster_start(&c, &opts, &err);
	char expected[400];
	snprintf(expected, sizeof(expected),
	         "PostgreSQL must run as user nobody, who cannot reach %s (blocked at %s): give the "
	         "parent folders o+x or set TRAMIT_VAR_DIR to a reachable folder", dir, root);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(rc, ENG_EDENIED);
	cr_assert_str_eq(err.msg, expected);
}
