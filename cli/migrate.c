/* `tramit migrate OLD.lua NEW.lua [--map MAP] [--entity ID] [--dry-run]`: moves the running
 * expedients of a tràmit to its new version. Breaking changes need a complete migration map
 * (see tramit diff); expedients in a final state stay where they ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/migrate.h"
#include "dsl/dsl.h"
#include "cli.h"

static struct eng_definition *compile(const char *path)
{
	struct dsl_diags diags = {0};
	struct eng_definition *def = NULL;
	if (dsl_compile_file(&def, path, NULL, &diags) != 0)
		cli_print_diags(&diags);
	dsl_diags_free(&diags);
	return def;
}

int cli_migrate(int argc, char **argv)
{
	const char *old_path = NULL, *new_path = NULL, *map_path = NULL;
	const char *entity = cli_env("TRAMIT_ENTITY", "ajuntament");
	bool dry = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			map_path = argv[++i];
		else if (strcmp(argv[i], "--entity") == 0 && i + 1 < argc)
			entity = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
		else if (argv[i][0] != '-' && !old_path)
			old_path = argv[i];
		else if (argv[i][0] != '-' && !new_path)
			new_path = argv[i];
		else
			old_path = NULL, new_path = NULL, i = argc;
	}
	if (!old_path || !new_path) {
		fprintf(stderr, "usage: tramit migrate OLD.lua NEW.lua [--map MAP] [--entity ID] [--dry-run]\n");
		return 2;
	}
	int status = 1;
	struct eng_definition *old_def = compile(old_path), *new_def = compile(new_path);
	struct cat_map *map = NULL;
	struct eng_store *store = NULL;
	struct eng_pgcluster cluster = {0};
	struct eng_error err = {0};
	char *old_src = NULL, *new_src = NULL, *map_text = NULL;
	size_t len;
	if (!old_def || !new_def)
		goto done;
	if (map_path) {
		map_text = cat_file_read(map_path, &len);
		if (!map_text || cat_map_parse(&map, map_path, map_text, len, &err) != 0) {
			fprintf(stderr, "tramit migrate: %s\n", map_text ? err.msg : "cannot read the map");
			goto done;
		}
	}
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		goto done;
	old_src = cat_file_read(old_path, NULL);
	new_src = cat_file_read(new_path, NULL);
	char operator_id[128];
	snprintf(operator_id, sizeof(operator_id), "cli:%s", cli_env("USER", "operator"));
	struct cat_migration_report rep;
	if (eng_store_open(&store, conninfo, &err) != 0 ||
	    eng_store_put_definition(store, old_def, old_src ? old_src : "", &err) != 0 ||
	    eng_store_put_definition(store, new_def, new_src ? new_src : "", &err) != 0 ||
	    cat_migrate(store, entity, old_def, new_def, map, map_path ? map_path : "", operator_id, dry,
	                stdout, &rep, &err) != 0) {
		fprintf(stderr, "tramit migrate: %s\n", err.msg);
		goto done;
	}
	printf("%s%zu expedient%s moved from %.12s to %.12s; %zu in a final state kept\n",
	       dry ? "dry run: " : "", rep.moved, rep.moved == 1 ? "" : "s", old_def->hash, new_def->hash,
	       rep.kept_final);
	status = 0;
done:
	eng_store_close(store);
	cli_database_close(&cluster);
	cat_map_free(map);
	eng_definition_free(old_def);
	eng_definition_free(new_def);
	free(old_src);
	free(new_src);
	free(map_text);
	return status;
}
