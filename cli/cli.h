/* The `tramit` command's subcommands. Each returns the process exit status. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

#include "engine/runtime/pgcluster.h"

int cli_serve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_calendar(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_signature(int argc, char **argv);
int cli_timestamp(int argc, char **argv);
int cli_connectors(int argc, char **argv);
int cli_document(int argc, char **argv);
int cli_csv(int argc, char **argv);
int cli_eni(int argc, char **argv);
int cli_registry(int argc, char **argv);
int cli_employee(int argc, char **argv);
int cli_taxes(int argc, char **argv);
int cli_payments(int argc, char **argv);
/* Opens the database the server uses (cli_database_open) and brings its schema up to date;
 * prints why and returns 1 on failure (the cluster is then closed). cli/db.c. */
struct eng_store;
int cli_store_open(struct eng_pgcluster *cluster, struct eng_store **store);
/* The entity the command works on: TRAMIT_ENTITY, else "demo" with TRAMIT_DEMO=1, else
 * "ajuntament", as `tramit serve` chooses it (cli/db.c). */
const char *cli_entity(void);
/* A chore of `tramit serve` (cli/periodic.c): fn(store, payload) every period_s seconds on
 * a thread with its own database connection (reopened after a failure, which is logged
 * under name), the first time at once when at_once, until cli_periodic_stop, which wakes it
 * at once. The arguments are borrowed until then. Returns 0, or prints why and 1. */
struct cli_periodic;
struct eng_calendar;
typedef void (*cli_periodic_fn)(struct eng_store *store, void *payload);
int cli_periodic_start(struct cli_periodic **out, const char *name, int period_s, bool at_once,
                       const char *conninfo, const struct eng_calendar *calendar,
                       cli_periodic_fn fn, void *payload);
void cli_periodic_stop(struct cli_periodic *p); /* accepts NULL */
/* Reconciliation of card orders inside `tramit serve` (cli/payments.c): a chore that runs a
 * pass every TRAMIT_RECONCILE_MINUTES (default 10; 0: never) over orders older than
 * TRAMIT_RECONCILE_AFTER_MINUTES (default 30). *out stays NULL when redsys has no query_url.
 * The arguments are borrowed until cli_reconciler_stop. Returns 0, or prints why and 1. */
struct cli_reconciler;
struct conn_set;
struct cat_catalog;
int cli_reconciler_start(struct cli_reconciler **out, const char *conninfo, const char *entity,
                         const struct conn_set *connectors, const struct cat_catalog *catalog,
                         const struct eng_calendar *calendar);
void cli_reconciler_stop(struct cli_reconciler *k); /* accepts NULL */
/* The portasignatures' expiry and reminders inside `tramit serve` (cli/serve.c): a sweep
 * every TRAMIT_SIGN_SWEEP_MINUTES (default 5; 0: only when someone opens the portasignatures). */
struct cli_sweeper;
int cli_sweeper_start(struct cli_sweeper **out, const char *conninfo, const char *entity,
                      const struct cat_catalog *catalog, const struct eng_calendar *calendar);
void cli_sweeper_stop(struct cli_sweeper *s); /* accepts NULL */
/* The document repository's housekeeping inside `tramit serve` (cli/repository.c): a sweep
 * every TRAMIT_HOUSEKEEPING_MINUTES (default 60; 0: never) of drafts, uploads of forms not filed
 * within TRAMIT_UPLOAD_KEEP_HOURS (default 24) and unreferenced blobs. */
struct cli_housekeeping;
int cli_housekeeping_start(struct cli_housekeeping **out, const char *conninfo);
void cli_housekeeping_stop(struct cli_housekeeping *h); /* accepts NULL */
int cli_repository(int argc, char **argv);

/* Time-stamped digests of the hash chains (digest.c). A TSA at a URL or the built-in one;
 * trust, when set, holds the TSA's CA and every token is checked against it. */
struct eng_store;
struct conn_tsa_server;
struct conn_sign_trust;
struct cli_tsa {
	const char *url;
	struct conn_tsa_server *server;
	struct conn_sign_trust *trust;
};
int cli_tsa_open(struct cli_tsa *t, const char *url, const char *key, const char *cert,
                 const char *trust);
void cli_tsa_close(struct cli_tsa *t);
/* One digest now (prints what it did); 0, or 1 with the reason on stderr. */
int cli_digest_make(struct eng_store *store, struct cli_tsa *tsa);
/* Every digest checked (tokens too when trust_path is set); 0 when all verify. */
int cli_digest_verify(struct eng_store *store, const char *trust_path);
/* `tramit serve`'s daily digest, when TRAMIT_TSA_URL or TRAMIT_TSA_KEY and TRAMIT_TSA_CERT are
 * set (TRAMIT_TSA_TRUST optional): *out NULL when not configured. -1 on a bad setting. */
struct cli_digest_daily;
int cli_digest_daily_start(struct cli_digest_daily **out, const char *conninfo);
void cli_digest_daily_stop(struct cli_digest_daily *d);

/* The national + Comunitat Valenciana calendars: the folder ($TRAMIT_CALENDARS_DIR,
 * ./tramits/calendars or the source tree's; option wins when not NULL), loading every
 * es-vc-YYYY.txt in it (prints why and returns 1 on failure), and adding a municipality's
 * comma-separated local holidays (prints why and returns non-zero on failure). */
struct eng_calendar;
const char *cli_calendars_dir(const char *option);
int cli_calendar_load_dir(struct eng_calendar *c, const char *dir);
int cli_calendar_add_local(struct eng_calendar *c, const char *list);
int cli_test(int argc, char **argv);
int cli_graph(int argc, char **argv);
int cli_diff(int argc, char **argv);
/* Prints each compiler diagnostic as "path:line: message" on stderr. */
struct dsl_diags;
void cli_print_diags(const struct dsl_diags *diags);

/* The database to use: TRAMIT_DATABASE_URL if set (cluster untouched, started_by_us false),
 * otherwise the embedded cluster under $TRAMIT_VAR_DIR/pg (default ./var/pg), started if
 * needed. Writes the connection string to conninfo. Returns 0 or prints why and returns 1. */
int cli_database_open(struct eng_pgcluster *cluster, char *conninfo, size_t size);
/* Stops the embedded cluster if this process started it. */
void cli_database_close(struct eng_pgcluster *cluster);

/* Environment helpers. */
const char *cli_env(const char *name, const char *fallback);
/* The default tràmit folder: $TRAMIT_TRAMITS_DIR, ./tramits, or the source tree's. */
const char *cli_tramits_dir(void);

#endif
