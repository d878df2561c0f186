/* Throw-away PostgreSQL clusters for tests (pgtmp.h). Invariant: the cluster lives in
 * <tmp>/pg where <tmp> is a folder this module created, so removing <tmp> removes it all. */
#include "tests/support/pgtmp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pgtmp_start(struct eng_pgcluster *out, struct eng_error *err)
{
	char root[] = "/tmp/tramit-test-XXXXXX";
	char dir[sizeof(root) + 8];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!mkdtemp(root))
		return eng_error_set(err, ENG_EUNAVAILABLE, "mkdtemp %s: %s", root, strerror(errno));
	/* mkdtemp makes it 0700; when we are root the postgres user must be able to enter it. */
	if (chmod(root, 0755) != 0) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "chmod %s: %s", root, strerror(errno));
		rmdir(root);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s/pg", root);
	struct eng_pgcluster_options opts = {.dir = dir, .tcp = true, .quiet = true};
	rc = eng_pgcluster_start(out, &opts, err);
	if (rc < 0) {
		/* start has already stopped anything it started; out->dir may be unset if it failed
		 * early, so clean up from the names we know. */
		snprintf(out->dir, sizeof(out->dir), "%s", dir);
		out->started_by_us = false;
		pgtmp_stop(out);
	}
	return rc;
}

void pgtmp_stop(struct eng_pgcluster *c)
{
	struct eng_error err = {0};
	char root[sizeof(c->dir)];

	if (c->dir[0] != '/')
		return;
	snprintf(root, sizeof(root), "%s", c->dir);
	/* Only folders pgtmp_start made are ever removed. */
	if (strncmp(root, "/tmp/tramit-test-", 17) != 0) {
		fprintf(stderr, "pgtmp_stop: refusing to remove %s\n", c->dir);
		return;
	}
	if (eng_pgcluster_destroy(c, &err) < 0)
		fprintf(stderr, "pgtmp_stop: %s\n", err.msg);
	if (rmdir(dirname(root)) != 0)
		fprintf(stderr, "pgtmp_stop: rmdir %s: %s\n", root, strerror(errno));
	c->dir[0] = '\0';
}

PGconn *pgtmp_connect(const struct eng_pgcluster *c)
{
	PGconn *conn = PQconnectdb(c->conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
		PQfinish(conn);
		cr_assert_fail("cannot connect to %s: %s", c->conninfo, msg);
	}
	return conn;
}
