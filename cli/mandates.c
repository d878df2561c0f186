/* `tramit mandates add|list|revoke`: representation mandates (LPAC arts. 5-6) of the entity
 * the server serves (TRAMIT_ENTITY), registered by an employee at the counter or imported
 * from a register of powers. Bad input changes nothing and says which value was wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine/runtime/mandates.h"
#include "engine/runtime/queries.h"

int cli_mandates(int argc, char **argv);

static int usage(void)
{
	fprintf(stderr,
	        "usage: tramit mandates add REPRESENTATIVE_NIF REPRESENTED_NIF --to YYYY-MM-DD\n"
	        "           [--from YYYY-MM-DD] [--name NAME] [--tramit CODE ...]\n"
	        "           (--employee USERNAME | --import SOURCE)\n"
	        "       tramit mandates list [NIF]\n"
	        "       tramit mandates revoke ID (--employee USERNAME | --import SOURCE)\n"
	        "  --from defaults to today; without --tramit the mandate covers every tràmit.\n");
	return 2;
}

/* Today in Europe/Madrid, as the mandates count their days. */
static void today(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "Europe/Madrid", 1);
	tzset();
	localtime_r(&now, &tm);
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* --employee USERNAME or --import SOURCE as registered_by ("employee:..." / "import:...");
 * consumes the value. Returns 1 when argv[*i] is one of them, 0 otherwise. */
static int by_option(char **argv, int argc, int *i, const char **by, char *buf, size_t size)
{
	bool employee = strcmp(argv[*i], "--employee") == 0, import = strcmp(argv[*i], "--import") == 0;
	if (!(employee || import) || *i + 1 >= argc)
		return 0;
	snprintf(buf, size, "%s:%s", employee ? "employee" : "import", argv[++*i]);
	*by = buf;
	return 1;
}

/* An employee named as registering must exist in the entity. */
static int employee_known(struct eng_store *store, const char *by)
{
	if (strncmp(by, "employee:", 9) != 0)
		return 0;
	struct eng_arena a = {0};
	struct eng_employee_view e;
	struct eng_error err = {0};
	int rc = eng_store_employee_get(store, &a, cli_entity(), by + 9, &e, &err);
	eng_arena_free(&a);
	if (rc == ENG_ENOTFOUND)
		fprintf(stderr, "tramit: no employee '%s' in entity %s; nothing was changed\n", by + 9,
		        cli_entity());
	else if (rc)
		fprintf(stderr, "tramit: %s\n", err.msg);
	return rc ? 1 : 0;
}

static int mandates_add(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	char from[11], bybuf[200];
	today(from);
	struct eng_mandate_new m = {.representative_nif = argv[1], .represented_nif = argv[2],
	                            .valid_from = from};
	const char **scope = calloc((size_t)argc, sizeof(char *));
	int status = 2;
	for (int i = 3; i < argc; i++) {
		if (by_option(argv, argc, &i, &m.registered_by, bybuf, sizeof(bybuf)))
			continue;
		if (i + 1 >= argc) {
			usage();
			goto done;
		}
		if (strcmp(argv[i], "--from") == 0)
			m.valid_from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0)
			m.valid_to = argv[++i];
		else if (strcmp(argv[i], "--name") == 0)
			m.represented_name = argv[++i];
		else if (strcmp(argv[i], "--tramit") == 0)
			scope[m.n_scope++] = argv[++i];
		else {
			usage();
			goto done;
		}
	}
	m.scope = scope;
	if (!m.valid_to || !m.registered_by) {
		fprintf(stderr, "tramit: mandates add needs --to and one of --employee or --import; "
		                "nothing was changed\n");
		goto done;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	status = 1;
	if (cli_store_open(&cluster, &store) != 0)
		goto done;
	struct eng_error err = {0};
	long long id = 0;
	if (employee_known(store, m.registered_by) == 0) {
		int rc = eng_mandate_add(store, cli_entity(), &m, &id, &err);
		if (rc)
			fprintf(stderr, "tramit: %s; nothing was changed\n", err.msg);
		else {
			printf("mandate %lld: %s acts for %s on %s from %s to %s\n", id, m.representative_nif,
			       m.represented_nif, m.n_scope ? "the tràmits listed" : "every tràmit", m.valid_from,
			       m.valid_to);
			status = 0;
		}
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	free(scope);
	return status;
}

static int mandates_list(int argc, char **argv)
{
	if (argc > 2)
		return usage();
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena a = {0};
	struct eng_mandate_view *ms;
	size_t n;
	struct eng_error err = {0};
	int status = 0;
	if (eng_mandate_list(store, &a, cli_entity(), argc == 2 ? argv[1] : NULL, &ms, &n, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		status = 1;
	}
	for (size_t i = 0; status == 0 && i < n; i++) {
		printf("%lld\t%s\t%s (%s)\t%s..%s\t", ms[i].id, ms[i].representative_nif,
		       ms[i].represented_nif, ms[i].represented_name, ms[i].valid_from, ms[i].valid_to);
		if (!ms[i].n_scope)
			printf("*");
		for (size_t k = 0; k < ms[i].n_scope; k++)
			printf("%s%s", k ? "," : "", ms[i].scope[k]);
		printf("\t%s\t%s\n", ms[i].registered_by,
		       ms[i].revoked_at ? "revoked" : ms[i].valid_today ? "in force" : "not in force today");
	}
	eng_arena_free(&a);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

static int mandates_revoke(int argc, char **argv)
{
	char bybuf[200];
	const char *by = NULL;
	for (int i = 2; i < argc; i++)
		if (!by_option(argv, argc, &i, &by, bybuf, sizeof(bybuf)))
			return usage();
	char *end = NULL;
	long long id = argc >= 2 ? strtoll(argv[1], &end, 10) : 0;
	if (argc < 2 || !*argv[1] || *end || id < 1) {
		if (argc >= 2)
			fprintf(stderr, "tramit: '%s' is not a mandate number (see `tramit mandates list`)\n",
			        argv[1]);
		return usage();
	}
	if (!by) {
		fprintf(stderr, "tramit: mandates revoke needs --employee USERNAME or --import SOURCE; "
		                "nothing was changed\n");
		return 2;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	int status = 1;
	if (employee_known(store, by) == 0) {
		if (eng_mandate_revoke(store, cli_entity(), id, by, &err) != 0)
			fprintf(stderr, "tramit: %s; nothing was changed\n", err.msg);
		else {
			printf("mandate %lld revoked\n", id);
			status = 0;
		}
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

int cli_mandates(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return mandates_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return mandates_list(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return mandates_revoke(argc - 1, argv + 1);
	return usage();
}
