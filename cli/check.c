/* `tramit check PATH...`: compiles every tràmit file found and prints each problem as
 * "path:line: message" on stderr, then warnings as "path:line: warning: ...". Exit 0 with a one-line summary when all are valid, 1 if
 * any file has a problem, 2 on usage errors. */
#include <stdio.h>

#include "catalog/catalog.h"
#include "cli.h"

int cli_check(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tramit check PATH...\n");
		return 2;
	}
	struct dsl_diags diags = {0}, warnings = {0};
	char **files = NULL;
	size_t n_files = 0, n_bad = 0;
	int status = 1;
	if (dsl_collect_files(&files, &n_files, (const char *const *)argv + 1, (size_t)argc - 1, &diags) != 0) {
		n_bad = 1;
		goto done;
	}
	for (size_t i = 0; i < n_files; i++) {
		struct eng_definition *def = NULL;
		if (dsl_compile_file(&def, files[i], NULL, &diags) != 0)
			n_bad++;
		else
			dsl_definition_warnings(def, &warnings);
		eng_definition_free(def);
	}
	status = n_bad ? 1 : 0;
done:
	for (size_t i = 0; i < diags.n; i++) {
		char line[600];
		dsl_diag_format(&diags.items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	/* Warnings never change the exit status: the tràmit runs as written. */
	for (size_t i = 0; i < warnings.n; i++) {
		char line[600];
		dsl_diag_format(&warnings.items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (status == 0)
		printf("%zu tràmit file%s checked, no problems\n", n_files, n_files == 1 ? "" : "s");
	else
		fprintf(stderr, "%zu of %zu tràmit file%s with problems (%zu problem%s)\n", n_bad,
		        n_files, n_files == 1 ? "" : "s", diags.n, diags.n == 1 ? "" : "s");
	if (n_files == 0 && status == 0) {
		fprintf(stderr, "tramit check: no tràmit files (*.lua) found\n");
		status = 1;
	}
	dsl_files_free(files, n_files);
	dsl_diags_free(&diags);
	dsl_diags_free(&warnings);
	return status;
}
