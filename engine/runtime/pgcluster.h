/* An embedded PostgreSQL cluster driven through Debian's initdb and pg_ctl: created on first
 * use under a data folder, listening on a unix socket in that folder (and on a loopback TCP
 * port only when asked), run as an unprivileged user when we are root.
 * Invariant: a cluster we started is stopped by eng_pgcluster_stop; one found already running
 * (postmaster.pid alive) is reused and left running. Not thread-safe. */
#ifndef ENG_PGCLUSTER_H
#define ENG_PGCLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "engine/core/model.h"

struct eng_pgcluster {
	char dir[512];       /* root folder: holds data/ (the cluster), run/ (socket), log */
	char socket_dir[600];
	char conninfo[1024]; /* libpq connection string to the cluster's database */
	int port;            /* port number (also names the unix socket); TCP only if tcp */
	bool tcp;
	bool started_by_us;
	uid_t run_uid;       /* user the postmaster runs as */
	gid_t run_gid;
};

struct eng_pgcluster_options {
	const char *dir;      /* e.g. "var/pg"; created if missing */
	int port;             /* 0 picks 5432 for socket-only clusters, or a free port when tcp */
	bool tcp;             /* also listen on 127.0.0.1:port */
	const char *database; /* created if missing; default "tramit" */
	const char *run_as;   /* when root: user to run as; default "postgres", else "nobody" */
	bool quiet;           /* do not print progress to stderr */
};

/* Finds Debian's PostgreSQL binaries (highest version under /usr/lib/postgresql/N/bin, or
 * PG_BINDIR), initialises the cluster if needed, starts it and waits until it accepts
 * connections, and creates the database. Returns 0 or a negative code with err set to a
 * message a person can act on (e.g. "initdb not found: install postgresql"):
 * ENG_EINVALID for a bad folder, user or over-long socket path, ENG_EDENIED when the run_as
 * user cannot reach the folder, ENG_ECONFLICT for a running server we cannot use, and
 * ENG_EUNAVAILABLE when PostgreSQL is missing or does not start. opts->dir may alias out->dir.
 * pg_hba.conf trusts only the superuser "tramit": on the socket (whose folder is private to the
 * cluster's user) and, when tcp, on 127.0.0.1, which any local process can reach. */
int eng_pgcluster_start(struct eng_pgcluster *out, const struct eng_pgcluster_options *opts,
                        struct eng_error *err);

/* Stops the cluster if we started it (fast shutdown, waiting for it to end). Idempotent; a
 * reused cluster is left running. Returns 0 or ENG_EUNAVAILABLE if the server would not stop. */
int eng_pgcluster_stop(struct eng_pgcluster *c, struct eng_error *err);

/* Restarts a cluster we started, in fast or immediate mode (immediate is what a crash looks
 * like to clients). Waits until it accepts connections again. */
int eng_pgcluster_restart(struct eng_pgcluster *c, bool immediate, struct eng_error *err);

/* Removes the cluster's folder entirely (tests use this on temporary clusters), stopping it
 * first if we started it. Returns ENG_ECONFLICT, removing nothing, while a postmaster that we
 * did not start still runs from it. */
int eng_pgcluster_destroy(struct eng_pgcluster *c, struct eng_error *err);

#endif
