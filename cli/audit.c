/* `tramit audit verify`: walks every expedient's hash-chained event log and reports the
 * first broken link of each broken chain. Exit 0 when every chain verifies, 1 otherwise. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/runtime/audit.h"

int cli_audit(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "usage: tramit audit verify\n");
		return 2;
	}
	struct eng_pgcluster cluster;
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	int status = 1;
	struct eng_store *store = NULL;
	struct eng_error err = {0};
	struct eng_audit_report rep;
	if (eng_store_open(&store, conninfo, &err) != 0 || eng_audit_verify(store, stdout, &rep, &err) != 0) {
		fprintf(stderr, "tramit: audit: %s\n", err.msg);
		goto done;
	}
	if (rep.broken == 0) {
		printf("%lld expedient%s, %lld event%s: every hash chain verifies\n", (long long)rep.expedients,
		       rep.expedients == 1 ? "" : "s", (long long)rep.events, rep.events == 1 ? "" : "s");
		status = 0;
	} else {
		printf("%lld of %lld expedient%s have a broken hash chain\n", (long long)rep.broken,
		       (long long)rep.expedients, rep.expedients == 1 ? "" : "s");
	}
done:
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}
