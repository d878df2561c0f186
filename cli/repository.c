/* `tramit repository sweep [--hours N]` and the same housekeeping as a chore of `tramit serve`:
 * expired drafts, files attached to forms never filed, and stored bytes nothing refers to any
 * more are deleted (engine/runtime/sweep.h). Filed documents are never touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine/runtime/pgcluster.h"
#include "engine/runtime/store.h"
#include "engine/runtime/sweep.h"

/* Hours an upload may wait for its form to be filed before it counts as abandoned. */
static int parse_hours(const char *s, const char *from)
{
	char *end;
	long h = strtol(s, &end, 10);
	if (!*s || *end || h < 1 || h > 24 * 365) {
		fprintf(stderr, "tramit: %s must be a number of hours from 1 to 8760, not '%s'\n", from, s);
		return -1;
	}
	return (int)h;
}

static void report(const struct eng_sweep_counts *c, FILE *out, const char *prefix)
{
	fprintf(out, "%s%ld expired draft%s, %ld abandoned upload%s, %ld unreferenced blob%s (%lld bytes) deleted\n",
	        prefix, c->drafts, c->drafts == 1 ? "" : "s", c->pending_files, c->pending_files == 1 ? "" : "s",
	        c->blobs, c->blobs == 1 ? "" : "s", c->bytes);
	if (c->kept_in_folder)
		fprintf(out, "%s%ld unreferenced blob%s kept in the documents folder: set TRAMIT_DOCUMENTS_DIR to "
		        "sweep them\n", prefix, c->kept_in_folder, c->kept_in_folder == 1 ? "" : "s");
}

static const char *folder(void)
{
	const char *f = getenv("TRAMIT_DOCUMENTS_DIR");
	return f && *f ? f : NULL;
}

int cli_repository(int argc, char **argv)
{
	const char *hours_s = cli_env("TRAMIT_UPLOAD_KEEP_HOURS", "24");
	bool bad = argc < 2 || strcmp(argv[1], "sweep") != 0;
	for (int i = 2; !bad && i < argc; i++) {
		if (strcmp(argv[i], "--hours") == 0 && i + 1 < argc)
			hours_s = argv[++i];
		else
			bad = true;
	}
	if (bad) {
		fprintf(stderr, "usage: tramit repository sweep [--hours N]\n"
		                "  deletes expired drafts, files attached to forms not filed within N hours\n"
		                "  (default TRAMIT_UPLOAD_KEEP_HOURS or 24) unless a live draft keeps them,\n"
		                "  and stored files nothing refers to any more\n");
		return 2;
	}
	int hours = parse_hours(hours_s, "--hours");
	if (hours < 0)
		return 2;
	struct eng_pgcluster cluster = {0};
	struct eng_store *store = NULL;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_sweep_counts c;
	struct eng_error err = {0};
	int rc = eng_repository_sweep(store, folder(), hours, &c, &err);
	report(&c, stdout, "");
	if (rc)
		fprintf(stderr, "tramit: repository sweep: %s\n", err.msg);
	eng_store_close(store);
	cli_database_close(&cluster);
	return rc ? 1 : 0;
}

struct cli_housekeeping {
	struct cli_periodic *chore;
	int hours;
	const char *folder;
};

static void pass(struct eng_store *store, void *payload)
{
	struct cli_housekeeping *h = payload;
	struct eng_sweep_counts c;
	struct eng_error err = {0};
	int rc = eng_repository_sweep(store, h->folder, h->hours, &c, &err);
	if (c.drafts || c.pending_files || c.blobs || c.kept_in_folder)
		report(&c, stderr, "tramit: repository sweep: ");
	if (rc)
		fprintf(stderr, "tramit: repository sweep: %s\n", err.msg);
}

int cli_housekeeping_start(struct cli_housekeeping **out, const char *conninfo)
{
	*out = NULL;
	const char *m = cli_env("TRAMIT_HOUSEKEEPING_MINUTES", "60");
	char *end;
	long minutes = strtol(m, &end, 10);
	if (*m == '\0' || *end != '\0' || minutes < 0 || minutes > 1440) {
		fprintf(stderr, "tramit: TRAMIT_HOUSEKEEPING_MINUTES must be 0 to 1440, not '%s'\n", m);
		return 1;
	}
	int hours = parse_hours(cli_env("TRAMIT_UPLOAD_KEEP_HOURS", "24"), "TRAMIT_UPLOAD_KEEP_HOURS");
	if (hours < 0)
		return 1;
	if (minutes == 0)
		return 0;
	struct cli_housekeeping *h = calloc(1, sizeof(*h));
	if (!h)
		return 1;
	*h = (struct cli_housekeeping){.hours = hours, .folder = folder()};
	if (cli_periodic_start(&h->chore, "repository sweep", (int)minutes * 60, false, conninfo, NULL, pass, h) != 0) {
		free(h);
		return 1;
	}
	*out = h;
	return 0;
}

void cli_housekeeping_stop(struct cli_housekeeping *h)
{
	if (!h)
		return;
	cli_periodic_stop(h->chore);
	free(h);
}
