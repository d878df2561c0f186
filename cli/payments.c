/* `tramit payments reconcile [--older-than MINUTES]`: one reconciliation pass over the card
 * orders that never got a notification (web/payments.h), and the same pass run periodically
 * by `tramit serve` on its own thread (bank collection files are cli/bank.c's). Invariant: an
 * order is only settled from the gateway's signed answer; a pass on several servers at once
 * never asks about the same order twice (the store claims orders with FOR UPDATE SKIP LOCKED
 * and leases them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "engine/core/calendar.h"
#include "web/payments.h"

/* An order whose query failed is asked about again this much later. */
enum { RETRY_S = 5 * 60 };


static int minutes_read(int *out, const char *text, const char *what)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (!*text || *end || v < 0 || v > 100000) {
		fprintf(stderr, "tramit: %s must be a number of minutes from 0 to 100000, not '%s'\n",
		        what, text);
		return 2;
	}
	*out = (int)v;
	return 0;
}

static void stats_print(FILE *out, const struct web_reconcile_stats *st)
{
	fprintf(out, "%d order%s asked about: %d paid, %d refused, %d abandoned, %d left for later\n",
	        st->checked, st->checked == 1 ? "" : "s", st->paid, st->refused, st->abandoned,
	        st->later);
}

/* What a pass needs besides the database: the tràmits (a paid fee moves its expedient on) and
 * their calendars, and the connectors' configuration. Prints why and returns 1 on failure. */
struct context {
	struct cat_catalog *catalog;
	struct eng_calendar *calendar;
	struct conn_set *connectors;
	struct dsl_diags diags;
};

static void context_free(struct context *x)
{
	cat_catalog_free(x->catalog);
	eng_calendar_free(x->calendar);
	conn_set_close(x->connectors);
	dsl_diags_free(&x->diags);
}

static int context_open(struct context *x)
{
	*x = (struct context){0};
	struct eng_error err = {0};
	struct conn_error cerr = {0};
	size_t n_bad = 0;
	const char *dir = cli_tramits_dir();
	const char *conn_path = getenv("TRAMIT_CONNECTORS_CONFIG");
	if (cat_catalog_load(&x->catalog, &dir, 1, &x->diags, &n_bad, &err) != 0) {
		fprintf(stderr, "tramit: loading tràmits from %s: %s\n", dir, err.msg);
		return 1;
	}
	if (eng_calendar_new(&x->calendar, &err) != 0 ||
	    cli_calendar_load_dir(x->calendar, cli_calendars_dir(NULL)) != 0)
		return 1;
	const char *local = getenv("TRAMIT_LOCAL_HOLIDAYS");
	if (local && *local && cli_calendar_add_local(x->calendar, local) != 0)
		return 1;
	if ((conn_path && *conn_path ? conn_set_open_file(&x->connectors, conn_path, &cerr)
	                             : conn_set_open(&x->connectors, NULL, &cerr)) != 0) {
		fprintf(stderr, "tramit: %s\n", cerr.msg);
		return 1;
	}
	return 0;
}

static int reconcile(int argc, char **argv)
{
	int older = 30;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--older-than") == 0 && i + 1 < argc) {
			if (minutes_read(&older, argv[++i], "--older-than"))
				return 2;
		} else {
			fprintf(stderr, "usage: tramit payments reconcile [--older-than MINUTES]\n");
			return 2;
		}
	}
	struct context x;
	struct eng_pgcluster cluster;
	struct eng_store *store = NULL;
	int status = 1;
	if (context_open(&x) != 0 || cli_store_open(&cluster, &store) != 0)
		goto done;
	eng_store_set_calendar(store, x.calendar);
	struct web_reconcile_stats st;
	struct eng_error err = {0};
	int rc = web_payments_reconcile(store, cli_entity(), x.connectors, cat_catalog_lookup,
	                                x.catalog, older * 60, RETRY_S, stdout, &st, &err);
	if (rc == 0 || rc == WEB_ENOPAYMENTS) {
		if (rc)
			printf("nothing to do: %s\n", err.msg);
		else
			stats_print(stdout, &st);
		status = 0;
	} else {
		fprintf(stderr, "tramit: reconciliation stopped: %s\n", err.msg);
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	context_free(&x);
	return status;
}

int cli_payments_bank(int argc, char **argv); /* cli/bank.c */

int cli_payments(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "reconcile") == 0)
		return reconcile(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "import-bank") == 0 || strcmp(argv[1], "bank-report") == 0 ||
	                  strcmp(argv[1], "fee-document") == 0))
		return cli_payments_bank(argc - 1, argv + 1);
	fprintf(stderr, "usage: tramit payments reconcile [--older-than MINUTES]\n"
	                "       tramit payments import-bank FILE\n"
	                "       tramit payments bank-report [--all]\n"
	                "       tramit payments fee-document EXPEDIENT_ID FEE [--pdf OUT.pdf]\n");
	return 2;
}

/* ---- Inside `tramit serve` --------------------------------------------------------------- */

struct cli_reconciler {
	struct cli_periodic *chore;
	int period_s, older_s;
	const char *entity_id;
	const struct conn_set *connectors;
	const struct cat_catalog *catalog;
};

static void pass(struct eng_store *store, void *payload)
{
	struct cli_reconciler *k = payload;
	char *text = NULL;
	size_t len = 0;
	FILE *report = open_memstream(&text, &len);
	struct web_reconcile_stats st;
	struct eng_error err = {0};
	int rc = web_payments_reconcile(store, k->entity_id, k->connectors, cat_catalog_lookup,
	                                (void *)k->catalog, k->older_s, RETRY_S, report, &st, &err);
	if (report)
		fclose(report);
	/* One log line per order, so an operator can follow each. */
	for (char *line = text, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		fprintf(stderr, "tramit: reconciliation: %.*s\n", (int)(nl - line), line);
	}
	free(text);
	if (rc)
		fprintf(stderr, "tramit: reconciliation: %s (trying again in %d s)\n", err.msg, k->period_s);
}

int cli_reconciler_start(struct cli_reconciler **out, const char *conninfo, const char *entity,
                         const struct conn_set *connectors, const struct cat_catalog *catalog,
                         const struct eng_calendar *calendar)
{
	*out = NULL;
	int period = 10, older = 30;
	if (minutes_read(&period, cli_env("TRAMIT_RECONCILE_MINUTES", "10"), "TRAMIT_RECONCILE_MINUTES") ||
	    minutes_read(&older, cli_env("TRAMIT_RECONCILE_AFTER_MINUTES", "30"),
	                 "TRAMIT_RECONCILE_AFTER_MINUTES"))
		return 1;
	const struct conn_redsys *r = conn_set_state(connectors, "redsys");
	if (period == 0 || !r || !conn_redsys_can_query(r))
		return 0; /* nothing to reconcile with */
	struct cli_reconciler *k = calloc(1, sizeof(*k));
	if (!k)
		return 1;
	*k = (struct cli_reconciler){.period_s = period * 60, .older_s = older * 60,
	                             .entity_id = entity, .connectors = connectors, .catalog = catalog};
	if (cli_periodic_start(&k->chore, "reconciliation", k->period_s, false, conninfo, calendar, pass, k) != 0) {
		free(k);
		return 1;
	}
	fprintf(stderr, "tramit: reconciling card orders older than %d min every %d min\n", older,
	        period);
	*out = k;
	return 0;
}

void cli_reconciler_stop(struct cli_reconciler *k)
{
	if (!k)
		return;
	cli_periodic_stop(k->chore);
	free(k);
}
