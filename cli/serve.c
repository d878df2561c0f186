/* `tramit serve [--demo]`: opens the database (embedded cluster by default), applies
 * migrations, loads and publishes the catalogue, and serves HTTP until SIGINT/SIGTERM, then
 * stops the embedded PostgreSQL it started. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "engine/core/calendar.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/portafirmas.h"
#include "connectors/connector.h"
#include "connectors/docs/docs.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/worker.h"
#include "web/web.h"

int cli_payments_demo_seed(struct eng_store *store, const char *entity, struct eng_error *err); /* cli/bank.c */

static volatile sig_atomic_t early_stop;

static void on_early_signal(int sig)
{
	early_stop = sig;
}

static int prepare_database(const char *conninfo, bool demo, const char *entity,
                            const struct cat_catalog *catalog)
{
	PGconn *conn = PQconnectdb(conninfo);
	struct eng_error err = {0};
	int status = 1;
	struct eng_store *store = NULL;
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "tramit: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		goto done;
	}
	int applied = 0;
	if (eng_migrate(conn, &applied, NULL, &err) != 0) {
		fprintf(stderr, "tramit: migration failed: %s\n", err.msg);
		goto done;
	}
	if (applied)
		fprintf(stderr, "tramit: applied %d migration%s\n", applied, applied == 1 ? "" : "s");
	if (eng_store_open(&store, conninfo, &err) != 0 ||
	    eng_store_entity_ensure(store, entity,
	                            cli_env("TRAMIT_ENTITY_NAME_CA", demo ? "Ajuntament de Demostració" : entity),
	                            cli_env("TRAMIT_ENTITY_NAME_ES", demo ? "Ayuntamiento de Demostración" : entity),
	                            demo, &err) != 0 ||
	    (demo && eng_store_seed_demo(store, entity, &err) != 0) ||
	    (demo && cli_payments_demo_seed(store, entity, &err) != 0) ||
	    cat_catalog_publish(catalog, store, &err) != 0) {
		fprintf(stderr, "tramit: preparing the database: %s\n", err.msg);
		goto done;
	}
	status = 0;
done:
	eng_store_close(store);
	PQfinish(conn);
	return status;
}

/* The portasignatures' expiry and reminders (engine/runtime/portafirmas.h), so a request
 * past its time ends even when nobody opens the portasignatures. */
struct cli_sweeper {
	struct cli_periodic *chore;
	const char *entity_id;
	const struct cat_catalog *catalog;
};

static void sweep(struct eng_store *store, void *payload)
{
	struct cli_sweeper *w = payload;
	struct eng_arena arena = {0};
	struct eng_error err = {0};
	int expired = 0, reminded = 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (eng_signature_sweep(store, &arena, w->entity_id, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
	                        cat_catalog_lookup, (void *)w->catalog, &expired, &reminded, &err) != 0)
		fprintf(stderr, "tramit: portasignatures: %s\n", err.msg);
	else if (expired || reminded)
		fprintf(stderr, "tramit: portasignatures: %d request%s expired, %d reminder%s recorded\n",
		        expired, expired == 1 ? "" : "s", reminded, reminded == 1 ? "" : "s");
	eng_arena_free(&arena);
}

int cli_sweeper_start(struct cli_sweeper **out, const char *conninfo, const char *entity,
                      const struct cat_catalog *catalog, const struct eng_calendar *calendar)
{
	*out = NULL;
	const char *m = cli_env("TRAMIT_SIGN_SWEEP_MINUTES", "5");
	char *end;
	long minutes = strtol(m, &end, 10);
	if (*m == '\0' || *end != '\0' || minutes < 0 || minutes > 1440) {
		fprintf(stderr, "tramit: TRAMIT_SIGN_SWEEP_MINUTES must be 0 to 1440, not '%s'\n", m);
		return 1;
	}
	if (minutes == 0)
		return 0;
	struct cli_sweeper *w = calloc(1, sizeof(*w));
	if (!w)
		return 1;
	*w = (struct cli_sweeper){.entity_id = entity, .catalog = catalog};
	if (cli_periodic_start(&w->chore, "portasignatures", (int)minutes * 60, false, conninfo, calendar,
	                       sweep, w) != 0) {
		free(w);
		return 1;
	}
	*out = w;
	return 0;
}

void cli_sweeper_stop(struct cli_sweeper *w)
{
	if (!w)
		return;
	cli_periodic_stop(w->chore);
	free(w);
}

int cli_serve(int argc, char **argv)
{
	bool demo = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--demo") == 0) {
			demo = true;
		} else {
			fprintf(stderr, "usage: tramit serve [--demo]\n");
			return 2;
		}
	}
	const char *d = getenv("TRAMIT_DEMO");
	demo = demo || (d && strcmp(d, "1") == 0);
	const char *entity = cli_env("TRAMIT_ENTITY", demo ? "demo" : "ajuntament");
	const char *port_s = cli_env("PORT", "8080");
	char *end;
	long port = strtol(port_s, &end, 10);
	if (*end || port < 0 || port > 65535) {
		fprintf(stderr, "tramit: PORT must be a number from 0 to 65535, not '%s'\n", port_s);
		return 2;
	}
	const char *public_url = cli_env("TRAMIT_PUBLIC_URL", NULL);
	if (public_url) {
		char url[512];
		struct conn_error uerr = {0};
		if (conn_doc_verify_url(url, sizeof(url), public_url, "CSV", &uerr) != 0) {
			fprintf(stderr, "tramit: TRAMIT_PUBLIC_URL: %s\n", uerr.msg);
			return 2;
		}
	}
	const char *csv_s = cli_env("TRAMIT_CSV_LOOKUPS_PER_MINUTE", "60");
	long csv_limit = strtol(csv_s, &end, 10);
	if (!*csv_s || *end || csv_limit < 0 || csv_limit > 1000000000) {
		fprintf(stderr, "tramit: TRAMIT_CSV_LOOKUPS_PER_MINUTE must be a number from 0 (no limit) "
		                "to 1000000000, not '%s'\n", csv_s);
		return 2;
	}

	/* Until the event loop takes over, a Ctrl-C must still stop the cluster we start. */
	signal(SIGINT, on_early_signal);
	signal(SIGTERM, on_early_signal);
	signal(SIGPIPE, SIG_IGN);

	struct dsl_diags diags = {0};
	struct cat_catalog *catalog = NULL;
	struct eng_pgcluster cluster = {0};
	struct web_server *server = NULL;
	struct eng_workers *workers = NULL;
	struct cli_digest_daily *digests = NULL;
	struct eng_calendar *calendar = NULL;
	struct conn_set *connectors = NULL;
	struct cli_reconciler *reconciler = NULL;
	struct cli_sweeper *sweeper = NULL;
	struct cli_housekeeping *housekeeping = NULL;
	struct eng_error err = {0};
	size_t n_bad = 0;
	int status = 1;
	const char *dir = cli_tramits_dir();
	if (cat_catalog_load(&catalog, &dir, 1, &diags, &n_bad, &err) != 0) {
		fprintf(stderr, "tramit: loading tràmits from %s: %s\n", dir, err.msg);
		goto done;
	}
	for (size_t i = 0; i < diags.n; i++) {
		char line[600];
		dsl_diag_format(&diags.items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (n_bad)
		fprintf(stderr, "tramit: %zu tràmit file%s left out of the catalogue (see above)\n", n_bad,
		        n_bad == 1 ? " is" : "s are");
	fprintf(stderr, "tramit: %zu tràmit%s loaded from %s\n", cat_catalog_count(catalog),
	        cat_catalog_count(catalog) == 1 ? "" : "s", dir);

	/* Deadlines count business days under the national and regional calendars plus the
	 * municipality's own two local holidays (TRAMIT_LOCAL_HOLIDAYS). */
	if (eng_calendar_new(&calendar, &err) != 0 ||
	    cli_calendar_load_dir(calendar, cli_calendars_dir(NULL)) != 0)
		goto done;
	const char *local = getenv("TRAMIT_LOCAL_HOLIDAYS");
	if (local && *local && cli_calendar_add_local(calendar, local) != 0)
		goto done;
	/* A bad connectors configuration refuses to start, naming the key, before any database work. */
	const char *conn_path = getenv("TRAMIT_CONNECTORS_CONFIG");
	struct conn_error cerr = {0};
	if ((conn_path && *conn_path ? conn_set_open_file(&connectors, conn_path, &cerr)
	                             : conn_set_open(&connectors, NULL, &cerr)) != 0) {
		fprintf(stderr, "tramit: %s\n", cerr.msg);
		goto done;
	}
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		goto done;
	if (early_stop || prepare_database(conninfo, demo, entity, catalog) != 0 || early_stop)
		goto done;
	struct web_config cfg = {
		.bind = cli_env("TRAMIT_BIND", "127.0.0.1"),
		.port = (int)port,
		.entity_id = entity,
		.demo = demo,
		.conninfo = conninfo,
		.loops = atoi(cli_env("TRAMIT_WEB_LOOPS", "0")),
		.group_commit = strcmp(cli_env("TRAMIT_GROUP_COMMIT", "1"), "0") != 0,
		.calendar = calendar,
		.connectors = connectors,
		.trusted_header = cli_env("TRAMIT_TRUSTED_HEADER", NULL),
		.trusted_proxies = cli_env("TRAMIT_TRUSTED_PROXY", NULL),
		.csv_lookups_per_minute = (int)csv_limit,
		.public_url = public_url,
		.seal_key = cli_env("TRAMIT_SEAL_KEY", NULL),
		.seal_cert = cli_env("TRAMIT_SEAL_CERT", NULL),
		.tsa_url = cli_env("TRAMIT_TSA_URL", NULL),
	};
	if (web_server_new(&server, &cfg, catalog, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		goto done;
	}
	/* Outbox dispatchers and the timer scheduler share the work with every other server on
	 * this database. */
	char worker_name[128], host[64] = "localhost";
	gethostname(host, sizeof(host) - 1);
	snprintf(worker_name, sizeof(worker_name), "%s:%d", host, (int)getpid());
	struct eng_worker_config wcfg = {
		.conninfo = conninfo, .name = worker_name, .dispatchers = 2, .schedulers = 2,
		.deliver = conn_deliver, .deliver_payload = connectors,
		.lookup = cat_catalog_lookup, .lookup_payload = catalog,
		.calendar = calendar,
		/* How long a claimed effect may stay unanswered before another worker takes it
		 * (its server died): longer than the slowest connector's timeout. */
		.lease_ms = atoi(cli_env("TRAMIT_LEASE_SECONDS", "300")) * 1000,
	};
	if (eng_workers_start(&workers, &wcfg, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		goto done;
	}
	if (cli_reconciler_start(&reconciler, conninfo, entity, connectors, catalog, calendar) != 0 ||
	    cli_sweeper_start(&sweeper, conninfo, entity, catalog, calendar) != 0 ||
	    cli_housekeeping_start(&housekeeping, conninfo) != 0)
		goto done;
	/* The chains' daily time-stamped digest, when a TSA is configured. */
	if (cli_digest_daily_start(&digests, conninfo) != 0)
		goto done;
	const char *tls = getenv("TRAMIT_TLS_CERT");
	fprintf(stderr, "tramit: serving %s://%s:%d/%s; press Ctrl-C to stop\n",
	        tls && *tls ? "https" : "http", cfg.bind, web_server_port(server),
	        demo ? " in DEMO mode" : "");
	if (!early_stop && web_server_run(server) == 0)
		status = 0;
	if (early_stop)
		status = 0;
done:
	cli_housekeeping_stop(housekeeping);
	cli_sweeper_stop(sweeper);
	cli_reconciler_stop(reconciler);
	cli_digest_daily_stop(digests);
	eng_workers_stop(workers);
	conn_set_close(connectors);
	web_server_free(server);
	cli_database_close(&cluster);
	cat_catalog_free(catalog);
	eng_calendar_free(calendar);
	dsl_diags_free(&diags);
	return status;
}
