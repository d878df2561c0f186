/* `tramit csv verify CODE`: what the public verification page would find for a CSV, for
 * operators: the document's kind, creation time, SHA-256, media type and expedient. The code
 * is normalised (case, dashes, spaces, O for 0) and its check character verified first; an
 * unknown and a withdrawn code get the same answer, as on the page. Exit 0 found, 1 not. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "connectors/csv/csv.h"
#include "connectors/docs/docs.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"

/* The lookup is logged like the page's, with this as the client. */
static const char lookup_client[] = "tramit csv verify";

/* Joins the arguments with spaces: a code typed in groups arrives as several. */
static int typed_join(char *out, size_t cap, int argc, char **argv)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < argc; i++) {
		int n = snprintf(out + o, cap - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= cap - o)
			return -1;
		o += (size_t)n;
	}
	return 0;
}

static void print_document(const struct eng_document_view *doc)
{
	char expedient[128];
	struct conn_error err = {0};
	if (strcmp(doc->kind, "receipt") != 0 ||
	    conn_doc_receipt_expedient(expedient, sizeof(expedient), doc->content, doc->content_len,
	                               &err) != 0)
		snprintf(expedient, sizeof(expedient), "(not recorded in the document)");
	printf("CSV:        %s\nkind:       %s\ncreated:    %s\nsha256:     %s\n"
	       "media type: %s\nexpedient:  %s\n", doc->csv, doc->kind, doc->created_at,
	       doc->sha256, doc->media_type, expedient);
}

static int lookup(const char *csv)
{
	struct eng_pgcluster cluster;
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	struct eng_store *store = NULL;
	struct eng_arena arena = {0};
	struct eng_document_view doc;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_open(&store, conninfo, &err) != 0) {
		fprintf(stderr, "tramit: csv verify: %s\n", err.msg);
	} else if (eng_store_csv_lookup(store, &arena, csv, lookup_client, 0, &doc, &err) != 0) {
		/* ENG_ENOTFOUND's message is the same for unknown and withdrawn codes. */
		fprintf(stderr, "tramit: csv verify: %s\n", err.msg);
	} else {
		print_document(&doc);
		status = 0;
	}
	eng_arena_free(&arena);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

int cli_csv(int argc, char **argv)
{
	char typed[256], csv[CONN_CSV_DISPLAY_LEN + 1];
	if (argc < 3 || strcmp(argv[1], "verify") != 0 ||
	    typed_join(typed, sizeof(typed), argc - 2, argv + 2) != 0) {
		fprintf(stderr, "usage: tramit csv verify CODE\n");
		return 2;
	}
	if (conn_csv_normalize(csv, typed) != 0) {
		fprintf(stderr, "tramit: csv verify: '%s' is not a CSV: expected %d letters and digits "
		                "(case, dashes and spaces do not matter) ending in a valid check "
		                "character\n", typed, CONN_CSV_CHARS);
		return 1;
	}
	return lookup(csv);
}
