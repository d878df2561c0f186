/* `tramit certificates link USERNAME NIF`: an employee signs in with their certificate when
 * its subject's serial number carries this NIF (web/session.c, /login/certificate). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/runtime/mandates.h"

int cli_certificates(int argc, char **argv);

int cli_certificates(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "link") != 0) {
		fprintf(stderr, "usage: tramit certificates link USERNAME NIF\n"
		                "  the employee USERNAME signs in with the certificate of NIF (DNI or NIE)\n");
		return 2;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	int status = 0;
	if (eng_employee_nif_set(store, cli_entity(), argv[2], argv[3], &err) != 0) {
		fprintf(stderr, "tramit: %s; nothing was changed\n", err.msg);
		status = 1;
	} else {
		printf("employee %s signs in with the certificate of %s\n", argv[2], argv[3]);
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}
