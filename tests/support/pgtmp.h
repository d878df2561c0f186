/* Test support: a throw-away PostgreSQL cluster under /tmp, listening on its private unix socket
 * and on a free loopback TCP port. Invariant: pgtmp_stop leaves no server and no folder behind.
 * For tests only (it trusts the superuser on loopback); not thread-safe. */
#ifndef TRAMIT_TESTS_PGTMP_H
#define TRAMIT_TESTS_PGTMP_H

#include <libpq-fe.h>

#include "engine/runtime/pgcluster.h"

/* Creates and starts a cluster in a fresh /tmp/tramit-test-XXXXXX folder, quietly, with the
 * database "tramit". out->conninfo reaches it over the socket; host=127.0.0.1 port=out->port
 * user=tramit dbname=tramit reaches it over TCP. Returns 0 or a negative code with err set; on
 * failure nothing is left behind. */
int pgtmp_start(struct eng_pgcluster *out, struct eng_error *err);

/* Stops the cluster and removes its /tmp folder. Accepts a cluster whose start failed. */
void pgtmp_stop(struct eng_pgcluster *c);

/* Connects to c->conninfo; aborts the current Criterion test with libpq's message on failure.
 * The caller owns the connection (PQfinish). */
PGconn *pgtmp_connect(const struct eng_pgcluster *c);

#endif
