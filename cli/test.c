/* `tramit test PATH...`: runs the scenario tests beside each tràmit (name_test.lua) with a
 * fake clock and no database, under the national + Comunitat Valenciana calendars of
 * tramits/calendars. Prints each failed expectation as "path:line: ... expected ..., got ...".
 * Exit 0 when every scenario passes, 1 if any fails or cannot run, 2 on usage errors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "dsl/dsl.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.txt of the calendars folder, concatenated in name order. */
static char *calendar_text(void)
{
	const char *dir = cli_calendars_dir(NULL);
	DIR *d = opendir(dir);
	char *names[64];
	size_t n = 0;
	for (struct dirent *e; d && (e = readdir(d)) && n < 64;) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0)
			names[n++] = strdup(e->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	size_t size = 0;
	char *text = calloc(1, 1);
	for (size_t i = 0; i < n && text; i++) {
		char path[1024];
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *file = cat_file_read(path, &len);
		char *grown = file ? realloc(text, size + len + 2) : text;
		if (!grown) {
			free(text);
			text = NULL;
		} else if (file) {
			text = grown;
			memcpy(text + size, file, len);
			size += len;
			text[size++] = '\n';
			text[size] = '\0';
		}
		free(file);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return text;
}

/* A tràmit file named on the command line stands for its test file. */
static char *test_path_for(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + 8);
	if (!out)
		return NULL;
	strcpy(out, path);
	if (n > 4 && strcmp(path + n - 4, ".lua") == 0 && (n < 9 || strcmp(path + n - 9, "_test.lua") != 0))
		strcpy(out + n - 4, "_test.lua");
	return out;
}

int cli_test(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tramit test PATH...\n");
		return 2;
	}
	struct dsl_diags diags = {0};
	struct dsl_test_summary sum = {0};
	char **files = NULL;
	size_t n_files = 0, n_broken = 0;
	int status = 1;
	char **paths = calloc((size_t)argc, sizeof(*paths));
	char *calendar = calendar_text();
	for (int i = 1; paths && i < argc; i++)
		paths[i - 1] = test_path_for(argv[i]);
	if (!paths || dsl_collect_test_files(&files, &n_files, (const char *const *)paths,
	                                     (size_t)argc - 1, &diags) != 0)
		goto done;
	for (size_t i = 0; i < n_files; i++) {
		size_t before = sum.failures;
		if (dsl_test_file(&sum, files[i], calendar, stderr, &diags) != 0)
			n_broken++;
		else if (sum.failures == before)
			fprintf(stderr, "ok   %s\n", files[i]);
		else
			fprintf(stderr, "FAIL %s\n", files[i]);
	}
	status = n_broken || sum.failures ? 1 : 0;
	if (n_files == 0) {
		fprintf(stderr, "tramit test: no scenario tests (*_test.lua) found\n");
		status = 1;
	}
done:
	for (size_t i = 0; i < diags.n; i++) {
		char line[600];
		dsl_diag_format(&diags.items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	printf("%zu test file%s, %zu scenario%s, %zu step%s: %zu failed scenario%s, %zu failed "
	       "expectation%s%s\n", n_files, n_files == 1 ? "" : "s", sum.scenarios,
	       sum.scenarios == 1 ? "" : "s", sum.steps, sum.steps == 1 ? "" : "s",
	       sum.failed_scenarios, sum.failed_scenarios == 1 ? "" : "s", sum.failures,
	       sum.failures == 1 ? "" : "s", n_broken ? ", some files could not run" : "");
	for (int i = 1; paths && i < argc; i++)
		free(paths[i - 1]);
	free(paths);
	free(calendar);
	dsl_files_free(files, n_files);
	dsl_diags_free(&diags);
	return status;
}
