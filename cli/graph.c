/* `tramit graph FILE [-o OUT.svg]`: draws a tràmit's state machine as SVG on stdout or into
 * OUT. A file that does not compile prints its diagnostics and draws nothing (exit 1);
 * usage errors exit 2. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/graph.h"
#include "cli.h"
#include "dsl/dsl.h"

/* Prints the compiler's diagnostics the way `tramit check` does. */
void cli_print_diags(const struct dsl_diags *diags)
{
	for (size_t i = 0; i < diags->n; i++) {
		char line[600];
		dsl_diag_format(&diags->items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
}

int cli_graph(int argc, char **argv)
{
	const char *file = NULL, *out_path = NULL;
	bool bad = false;
	for (int i = 1; i < argc && !bad; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out_path = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			bad = true;
	}
	if (!file || bad) {
		fprintf(stderr, "usage: tramit graph FILE [-o OUT.svg]\n");
		return 2;
	}
	struct dsl_diags diags = {0};
	struct eng_definition *def = NULL;
	struct eng_error err = {0};
	char *svg = NULL;
	size_t n = 0;
	int status = 1;
	if (dsl_compile_file(&def, file, NULL, &diags) != 0) {
		cli_print_diags(&diags);
		goto done;
	}
	if (cat_graph_svg(&svg, &n, def, &err) != 0) {
		fprintf(stderr, "tramit graph: %s\n", err.msg);
		goto done;
	}
	FILE *f = out_path ? fopen(out_path, "wb") : stdout;
	if (!f) {
		fprintf(stderr, "tramit graph: cannot write %s\n", out_path);
		goto done;
	}
	bool ok = fwrite(svg, 1, n, f) == n;
	ok = (out_path ? fclose(f) : fflush(f)) == 0 && ok;
	if (!ok) {
		fprintf(stderr, "tramit graph: cannot write %s\n", out_path ? out_path : "stdout");
		goto done;
	}
	status = 0;
done:
	free(svg);
	eng_definition_free(def);
	dsl_diags_free(&diags);
	return status;
}
