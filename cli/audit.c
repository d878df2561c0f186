/* `tramit audit verify`: walks every expedient's hash-chained event log and reports the first
 * broken link of each broken chain. `tramit audit replay`: rebuilds every expedient from its
 * log with the tràmits of the catalogue folder and reports those that differ from the stored
 * row. Exit 0 when everything checks, 1 otherwise. */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "engine/core/calendar.h"
#include "engine/runtime/audit.h"
#include "engine/runtime/replay.h"

static int replay(struct eng_store *store)
{
	struct dsl_diags diags = {0};
	struct cat_catalog *catalog = NULL;
	struct eng_calendar *calendar = NULL;
	struct eng_error err = {0};
	size_t n_bad = 0;
	int status = 1;
	const char *dir = cli_tramits_dir();
	if (cat_catalog_load(&catalog, &dir, 1, &diags, &n_bad, &err) != 0 ||
	    eng_calendar_new(&calendar, &err) != 0) {
		fprintf(stderr, "tramit: audit replay: %s\n", err.msg);
		goto done;
	}
	if (cli_calendar_load_dir(calendar, cli_calendars_dir(NULL)) != 0)
		goto done;
	struct eng_replay_report rep;
	if (eng_replay_all(store, cat_catalog_lookup, catalog, calendar, stdout, &rep, &err) != 0) {
		fprintf(stderr, "tramit: audit replay: %s\n", err.msg);
		goto done;
	}
	if (rep.mismatched == 0) {
		printf("%lld expedient%s, %lld event%s replayed: every expedient reproduces\n",
		       (long long)rep.expedients, rep.expedients == 1 ? "" : "s", (long long)rep.events,
		       rep.events == 1 ? "" : "s");
		status = 0;
	} else {
		printf("%lld of %lld expedient%s do not reproduce from their events\n", (long long)rep.mismatched,
		       (long long)rep.expedients, rep.expedients == 1 ? "" : "s");
	}
done:
	cat_catalog_free(catalog);
	eng_calendar_free(calendar);
	dsl_diags_free(&diags);
	return status;
}

static int verify(struct eng_store *store)
{
	struct eng_error err = {0};
	struct eng_audit_report rep;
	if (eng_audit_verify(store, stdout, &rep, &err) != 0) {
		fprintf(stderr, "tramit: audit: %s\n", err.msg);
		return 1;
	}
	if (rep.broken == 0) {
		printf("%lld expedient%s, %lld event%s: every hash chain verifies\n", (long long)rep.expedients,
		       rep.expedients == 1 ? "" : "s", (long long)rep.events, rep.events == 1 ? "" : "s");
		return 0;
	}
	printf("%lld of %lld expedient%s have a broken hash chain\n", (long long)rep.broken,
	       (long long)rep.expedients, rep.expedients == 1 ? "" : "s");
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: tramit audit verify [--trust CA.pem]\n"
	                "       tramit audit replay\n"
	                "       tramit audit digest (--tsa-url URL | --tsa-key KEY --tsa-cert CERT) "
	                "[--trust CA.pem]\n");
	return 2;
}

/* Options after the subcommand: each takes a value; unknown ones are a usage error. */
static int options(int argc, char **argv, const char *const *names, const char **values, int n)
{
	for (int i = 2; i < argc; i += 2) {
		int k = 0;
		while (k < n && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k == n || i + 1 >= argc)
			return -1;
		values[k] = argv[i + 1];
	}
	return 0;
}

int cli_audit(int argc, char **argv)
{
	static const char *const names[] = {"--trust", "--tsa-url", "--tsa-key", "--tsa-cert"};
	const char *v[4] = {0};
	const char *cmd = argc >= 2 ? argv[1] : "";
	bool known = strcmp(cmd, "verify") == 0 || strcmp(cmd, "replay") == 0 ||
	             strcmp(cmd, "digest") == 0;
	if (!known || options(argc, argv, names, v, 4) != 0 ||
	    (strcmp(cmd, "replay") == 0 && argc != 2) ||
	    (strcmp(cmd, "verify") == 0 && (v[1] || v[2] || v[3])))
		return usage();
	struct cli_tsa tsa = {0};
	if (strcmp(cmd, "digest") == 0 && cli_tsa_open(&tsa, v[1], v[2], v[3], v[0]) != 0)
		return 1;
	struct eng_pgcluster cluster;
	char conninfo[1024];
	int status = 1;
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0) {
		cli_tsa_close(&tsa);
		return 1;
	}
	struct eng_store *store = NULL;
	struct eng_error err = {0};
	if (eng_store_open(&store, conninfo, &err) != 0) {
		fprintf(stderr, "tramit: audit: %s\n", err.msg);
	} else if (strcmp(cmd, "verify") == 0) {
		/* Both walks always run: a broken chain does not hide a broken digest. */
		int chains = verify(store);
		int digests = cli_digest_verify(store, v[0]);
		status = chains || digests;
	} else {
		status = strcmp(cmd, "replay") == 0 ? replay(store) : cli_digest_make(store, &tsa);
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	cli_tsa_close(&tsa);
	return status;
}
