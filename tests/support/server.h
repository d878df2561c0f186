/* The web tests' fixture: a throw-away PostgreSQL (pgtmp) and the real `tramit serve` on a free
 * loopback port, with the source tree's tràmits; stopped with SIGTERM, which must end it
 * cleanly. Compiled into each test with http.c (it needs TRAMIT_BINARY). */
#ifndef TESTS_SUPPORT_SERVER_H
#define TESTS_SUPPORT_SERVER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/types.h>

#include "engine/runtime/pgcluster.h"

struct test_server_options {
	const char *const *env;  /* more NAME=value, NULL-terminated; NULL for none */
	const char *tramits_dir; /* NULL: TRAMIT_SOURCE_DIR/tramits */
};

struct test_server {
	struct eng_pgcluster cluster;
	PGconn *conn;            /* the test's own connection to the cluster */
	pid_t pid;
	int port;
	char log_path[700];      /* the server's output: CLUSTER_DIR/server.log */
};

/* Behind a reverse proxy on loopback that names people in X-Remote-User ("12345678Z",
 * "employee:USERNAME"): how most web tests sign people in. */
extern const struct test_server_options test_server_behind_proxy;

/* Starts the cluster, then `tramit serve --demo` with TRAMIT_DATABASE_URL, PORT and
 * TRAMIT_TRAMITS_DIR set; waits until it answers. Aborts the test on any failure. */
void test_server_start(struct test_server *t, const struct test_server_options *opt);
/* Stops the server (expecting a clean exit on SIGTERM), closes conn and stops the cluster. */
void test_server_stop(struct test_server *t);

#endif
