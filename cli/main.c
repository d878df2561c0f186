/* `tramit`: one command with subcommands for designers (check), operators (serve, db) and
 * tests. Usage errors exit 2, failures 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_mandates(int argc, char **argv); /* cli/mandates.c */
int cli_certificates(int argc, char **argv); /* cli/certificates.c */
int cli_units(int argc, char **argv); /* cli/units.c */

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: tramit COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  serve [--demo]       run the e-office, citizen folder, back office and API\n"
	        "  check PATH...        check tràmit files or folders; print path:line: message\n"
	        "  test PATH...         run the scenario tests (*_test.lua) of tràmits, fake clock\n"
	        "  graph FILE [-o OUT]  draw a tràmit's state machine as SVG\n"
	        "  diff OLD NEW [--map MAP]\n"
	        "                       classify a change as cosmetic, additive or breaking\n"
	        "  db migrate           apply pending database migrations\n"
	        "  migrate OLD NEW [--map MAP] [--dry-run]\n"
	        "                       move running expedients to a new version of their tràmit\n"
	        "  audit verify [--trust CA.pem]  check every hash chain and time-stamped digest\n"
	        "  audit replay         rebuild every expedient from its events and compare\n"
	        "  audit digest --tsa-url URL | --tsa-key KEY --tsa-cert CERT\n"
	        "                       time-stamp the heads of the chains that changed\n"
	        "  calendar deadline --from DATE --amount N --unit UNIT [--holidays D,...]\n"
	        "                       print the due date (units: business-days, natural-days,\n"
	        "                       months, years) under the national + CV calendar\n"
	        "  validate KIND VALUE  check a nif, dni, nie, cif, iban, ccc, postal, ine or dir3\n"
	        "  signature sign|verify\n"
	        "                       sign as XAdES or CAdES; verify against a trust store\n"
	        "  timestamp request|verify\n"
	        "                       get an RFC 3161 timestamp token; verify one\n"
	        "  connectors [--check FILE]  list connectors and settings, or check a config file\n"
	        "  document render RECEIPT.json -o OUT.pdf  a receipt as PDF [--lang ca|es] [--url BASE]\n"
	        "  csv verify CODE      print the metadata of the document a CSV names\n"
	        "  eni export|verify    write an expedient as ENI with a sealed index; check one\n"
	        "  registry export|import|accept|reject|return|list|exchanges|office\n"
	        "                       the registry book and SICRES 3.0 exchanges\n"
	        "  taxes import FILE.csv | list [--state S] | cancel REFERENCE\n"
	        "                       load tax receipts for the payment manager; list them\n"
	        "  payments reconcile [--older-than MINUTES]\n"
	        "                       ask the card gateway about orders with no notification\n"
	        "  payments import-bank FILE | bank-report [--all]\n"
	        "                       settle receipts and fees from a bank's Cuaderno 60 file;\n"
	        "                       list the collections an operator must look at\n"
	        "  payments fee-document EXPEDIENT_ID FEE [--pdf OUT.pdf]\n"
	        "                       the Cuaderno 60 payment document of a tràmit's fee\n"
	        "  employee add|password USERNAME\n"
	        "                       add a back-office employee; set their password (from stdin)\n"
	        "  employee grant|revoke USERNAME ROLE UNIT | roles USERNAME\n"
	        "                       give or take a role in a unit (and the units below it)\n"
	        "  units add|move|list  the organisation units, a tree: who sees which expedients\n"
	        "  mandates add|list|revoke\n"
	        "                       representation mandates: who may act for whom, on what, when\n"
	        "  certificates link USERNAME NIF\n"
	        "                       an employee signs in with the certificate of NIF\n"
	        "  repository sweep [--hours N]\n"
	        "                       delete expired drafts, uploads of forms never filed and\n"
	        "                       stored files nothing refers to\n"
	        "  version              print the version\n"
	        "\n"
	        "environment: TRAMIT_DATABASE_URL, TRAMIT_VAR_DIR, PORT, TRAMIT_BIND,\n"
	        "  TRAMIT_ENTITY, TRAMIT_ENTITY_NAME_CA, TRAMIT_ENTITY_NAME_ES, TRAMIT_TRAMITS_DIR,\n"
	        "  TRAMIT_PG_PORT, TRAMIT_CALENDARS_DIR (see README.md)\n");
}

const char *cli_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const char *cli_tramits_dir(void)
{
	const char *dir = getenv("TRAMIT_TRAMITS_DIR");
	if (dir && *dir)
		return dir;
	if (access("tramits", F_OK) == 0)
		return "tramits";
	return TRAMIT_SOURCE_DIR "/tramits";
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return cli_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cli_check(argc - 1, argv + 1);
	if (strcmp(cmd, "db") == 0)
		return cli_db(argc - 1, argv + 1);
	if (strcmp(cmd, "migrate") == 0)
		return cli_migrate(argc - 1, argv + 1);
	if (strcmp(cmd, "audit") == 0)
		return cli_audit(argc - 1, argv + 1);
	if (strcmp(cmd, "calendar") == 0)
		return cli_calendar(argc - 1, argv + 1);
	if (strcmp(cmd, "validate") == 0)
		return cli_validate(argc - 1, argv + 1);
	if (strcmp(cmd, "signature") == 0)
		return cli_signature(argc - 1, argv + 1);
	if (strcmp(cmd, "timestamp") == 0)
		return cli_timestamp(argc - 1, argv + 1);
	if (strcmp(cmd, "test") == 0)
		return cli_test(argc - 1, argv + 1);
	if (strcmp(cmd, "graph") == 0)
		return cli_graph(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cli_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "connectors") == 0)
		return cli_connectors(argc - 1, argv + 1);
	if (strcmp(cmd, "document") == 0)
		return cli_document(argc - 1, argv + 1);
	if (strcmp(cmd, "csv") == 0)
		return cli_csv(argc - 1, argv + 1);
	if (strcmp(cmd, "employee") == 0)
		return cli_employee(argc - 1, argv + 1);
	if (strcmp(cmd, "eni") == 0)
		return cli_eni(argc - 1, argv + 1);
	if (strcmp(cmd, "registry") == 0)
		return cli_registry(argc - 1, argv + 1);
	if (strcmp(cmd, "taxes") == 0)
		return cli_taxes(argc - 1, argv + 1);
	if (strcmp(cmd, "payments") == 0)
		return cli_payments(argc - 1, argv + 1);
	if (strcmp(cmd, "mandates") == 0)
		return cli_mandates(argc - 1, argv + 1);
	if (strcmp(cmd, "units") == 0)
		return cli_units(argc - 1, argv + 1);
	if (strcmp(cmd, "certificates") == 0)
		return cli_certificates(argc - 1, argv + 1);
	if (strcmp(cmd, "repository") == 0)
		return cli_repository(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0) {
		printf("tramit %s\n", TRAMIT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "tramit: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
