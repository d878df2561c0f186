/* `tramit diff OLD NEW [--map MAP]`: one line per change between two versions of a tràmit,
 * then the verdict. Exit 0 for cosmetic, additive or a breaking change a complete map
 * migrates; 1 for an unmigrated breaking change or a file that does not compile; 2 on usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/diff.h"
#include "cli.h"
#include "dsl/dsl.h"

static int usage(void)
{
	fprintf(stderr, "usage: tramit diff OLD NEW [--map MAP]\n");
	return 2;
}

int cli_diff(int argc, char **argv)
{
	const char *files[2] = {0}, *map_path = NULL;
	size_t n_files = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			map_path = argv[++i];
		else if (strncmp(argv[i], "--map=", 6) == 0)
			map_path = argv[i] + 6;
		else if (argv[i][0] != '-' && n_files < 2)
			files[n_files++] = argv[i];
		else
			return usage();
	}
	if (n_files != 2)
		return usage();
	struct dsl_diags diags = {0};
	struct eng_definition *old_def = NULL, *new_def = NULL;
	struct cat_map *map = NULL;
	struct cat_diff *d = NULL;
	struct eng_error err = {0};
	char *text = NULL;
	int status = 1;
	if (map_path) {
		size_t len = 0;
		text = cat_file_read(map_path, &len);
		if (!text) {
			fprintf(stderr, "tramit diff: cannot read map %s\n", map_path);
			status = 2;
			goto done;
		}
		if (cat_map_parse(&map, map_path, text, len, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			status = 2;
			goto done;
		}
	}
	/* Both files are compiled before giving up, so one run shows every problem. */
	int rc_old = dsl_compile_file(&old_def, files[0], NULL, &diags);
	int rc_new = dsl_compile_file(&new_def, files[1], NULL, &diags);
	if (rc_old || rc_new) {
		cli_print_diags(&diags);
		goto done;
	}
	if (cat_diff_compare(&d, old_def, new_def, map, &err) != 0) {
		fprintf(stderr, "tramit diff: %s\n", err.msg);
		status = err.code == ENG_EINVALID ? 2 : 1;
		goto done;
	}
	if (d->identical) {
		printf("verdict: identical\n");
		status = 0;
		goto done;
	}
	for (size_t i = 0; i < d->n_changes; i++) {
		char line[512];
		cat_change_format(&d->changes[i], line, sizeof(line));
		printf("%s\n", line);
	}
	for (size_t i = 0; i < d->n_problems; i++) {
		if (d->problems[i].line)
			printf("%s:%d: %s\n", map_path, d->problems[i].line, d->problems[i].msg);
		else
			printf("%s: %s\n", map_path, d->problems[i].msg);
	}
	if (d->verdict != CAT_CHANGE_BREAKING) {
		printf("verdict: %s\n", cat_change_class_name(d->verdict));
		status = 0;
	} else if (d->migrated) {
		printf("verdict: breaking, migrated by %s\n", map_path);
		status = 0;
	} else if (map) {
		printf("verdict: breaking, %s is incomplete\n", map_path);
	} else {
		printf("verdict: breaking\n");
	}
done:
	cat_diff_free(d);
	cat_map_free(map);
	free(text);
	eng_definition_free(old_def);
	eng_definition_free(new_def);
	dsl_diags_free(&diags);
	return status;
}
