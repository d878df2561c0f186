/* `tramit units add|move|list`: the entity's organisation units as a tree (issue 5). A role
 * granted in a unit (`tramit employee grant`) covers the units below it, so an area's staff
 * see its services' expedients. Codes are what tràmits name in `unit = "..."`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/units.h"

int cli_units(int argc, char **argv);                  /* called by cli/main.c */
bool cli_code_ok(const char *what, const char *code); /* also used by cli/employee.c */

static int usage(void)
{
	fprintf(stderr, "usage: tramit units add CODE --name-ca NAME --name-es NAME [--parent CODE]\n"
	                "       tramit units move CODE (--parent CODE | --top)\n"
	                "       tramit units list\n");
	return 2;
}

/* Unit codes and role names travel in URLs and grants ("role@unit"): a plain alphabet. */
bool cli_code_ok(const char *what, const char *code)
{
	size_t n = strlen(code);
	bool ok = n > 0 && n <= 64;
	for (const char *p = code; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
	if (!ok)
		fprintf(stderr, "tramit: %s '%s' must be 1 to 64 characters from a-z, 0-9, '-' and '_'\n", what,
		        code);
	return ok;
}

static int units_add(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *code = argv[1], *parent = NULL, *name_ca = NULL, *name_es = NULL;
	for (int i = 2; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--parent") == 0 ? &parent
		                    : strcmp(argv[i], "--name-ca") == 0 ? &name_ca
		                    : strcmp(argv[i], "--name-es") == 0 ? &name_es : NULL;
		if (!slot || i + 1 >= argc || !*argv[i + 1])
			return usage();
		*slot = argv[++i];
	}
	if (!cli_code_ok("unit code", code) || (parent && !cli_code_ok("parent unit code", parent)))
		return 2;
	if (!name_ca || !name_es) {
		fprintf(stderr, "tramit: units add needs the unit's name in Valencian and Spanish: "
		                "--name-ca NAME --name-es NAME\n");
		return 2;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_unit_add(store, cli_entity(), code, parent, name_ca, name_es, &err) != 0)
		fprintf(stderr, "tramit: adding unit %s: %s; nothing was changed\n", code, err.msg);
	else {
		printf("unit %s (%s / %s) in entity %s%s%s\n", code, name_ca, name_es, cli_entity(),
		       parent ? " under " : " at the top", parent ? parent : "");
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

static int units_move(int argc, char **argv)
{
	const char *parent = NULL;
	bool top = false;
	if (argc == 3 && strcmp(argv[2], "--top") == 0)
		top = true;
	else if (argc == 4 && strcmp(argv[2], "--parent") == 0)
		parent = argv[3];
	else
		return usage();
	if (!cli_code_ok("unit code", argv[1]) || (!top && !cli_code_ok("parent unit code", parent)))
		return 2;
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_unit_move(store, cli_entity(), argv[1], parent, &err) != 0)
		fprintf(stderr, "tramit: moving unit %s: %s; nothing was changed\n", argv[1], err.msg);
	else {
		printf("unit %s is now %s%s\n", argv[1], top ? "at the top" : "under ", top ? "" : parent);
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

static int units_list(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage();
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena arena = {0};
	struct eng_unit_view *u;
	size_t n;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_unit_list(store, &arena, cli_entity(), &u, &n, &err) != 0) {
		fprintf(stderr, "tramit: listing units: %s\n", err.msg);
	} else {
		/* One line a unit, indented under its parent: code, grants held in it, names. */
		for (size_t i = 0; i < n; i++) {
			int depth = 0;
			for (const char *p = u[i].parent; p; depth++) {
				const char *up = NULL;
				for (size_t k = 0; k < i && !up; k++)
					if (strcmp(u[k].code, p) == 0)
						up = u[k].parent ? u[k].parent : "";
				p = up && *up ? up : NULL;
			}
			printf("%*s%s\t%lld grant%s\t%s / %s\n", 2 * depth, "", u[i].code, (long long)u[i].grants,
			       u[i].grants == 1 ? "" : "s", u[i].name_ca, u[i].name_es);
		}
		status = 0;
	}
	eng_arena_free(&arena);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

int cli_units(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return units_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "move") == 0)
		return units_move(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return units_list(argc - 1, argv + 1);
	return usage();
}
