/* Collecting tràmit files (dsl/files.c): folders are searched recursively, shared blocks,
 * calendars and scenario tests are skipped, and the list comes back sorted without duplicates. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsl/dsl.h"

static char root[64];

static void touch(const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0700), 0, "cannot create %s", path);
}

static void tree_up(void)
{
	snprintf(root, sizeof(root), "/tmp/dsl-files-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	make_dir("general");
	make_dir("general/deep");
	make_dir("lib");
	make_dir("calendars");
	make_dir(".git");
	touch("general/instancia.lua");
	touch("general/deep/b.lua");
	touch("general/instancia_test.lua");
	touch("general/notes.txt");
	touch("lib/blocks.lua");
	touch("calendars/2025.lua");
	touch(".git/hook.lua");
	touch("a.lua");
}

static void tree_down(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(files, .init = tree_up, .fini = tree_down);

Test(files, folder_yields_sorted_tramits_without_lib_calendars_or_tests)
{
	char **files = NULL;
	size_t n = 0;
	struct dsl_diags diags = { 0 };
	const char *paths[] = { root };
	cr_assert_eq(dsl_collect_files(&files, &n, paths, 1, &diags), 0);
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(n, 3);
	char expected[256];
	snprintf(expected, sizeof(expected), "%s/a.lua", root);
	cr_assert_str_eq(files[0], expected);
	snprintf(expected, sizeof(expected), "%s/general/deep/b.lua", root);
	cr_assert_str_eq(files[1], expected);
	snprintf(expected, sizeof(expected), "%s/general/instancia.lua", root);
	cr_assert_str_eq(files[2], expected);
	dsl_files_free(files, n);
}

Test(files, named_files_are_kept_and_duplicates_dropped)
{
	char **files = NULL;
	size_t n = 0;
	struct dsl_diags diags = { 0 };
	char file[256], folder[256];
	snprintf(file, sizeof(file), "%s/general/instancia.lua", root);
	snprintf(folder, sizeof(folder), "%s/general/", root);
	const char *paths[] = { file, folder };
	cr_assert_eq(dsl_collect_files(&files, &n, paths, 2, &diags), 0);
	cr_assert_eq(n, 2, "%zu files", n);
	char expected[256];
	snprintf(expected, sizeof(expected), "%s/general/deep/b.lua", root);
	cr_assert_str_eq(files[0], expected);
	cr_assert_str_eq(files[1], file);
	dsl_files_free(files, n);
}

Test(files, missing_path_is_named_and_not_found)
{
	char **files = NULL;
	size_t n = 0;
	struct dsl_diags diags = { 0 };
	char missing[256];
	snprintf(missing, sizeof(missing), "%s/nowhere", root);
	const char *paths[] = { root, missing };
	cr_assert_eq(dsl_collect_files(&files, &n, paths, 2, &diags), ENG_ENOTFOUND);
	cr_assert_null(files);
	cr_assert_eq(n, 0);
	cr_assert_eq(diags.n, 1);
	char line[600], expected[300];
	dsl_diag_format(&diags.items[0], line, sizeof(line));
	snprintf(expected, sizeof(expected), "%s: no such file or folder", missing);
	cr_assert_str_eq(line, expected);
	dsl_diags_free(&diags);
}

Test(files, catalogue_folder_holds_instancia_general)
{
	char **files = NULL;
	size_t n = 0;
	struct dsl_diags diags = { 0 };
	const char *paths[] = { TRAMIT_SOURCE_DIR "/tramits" };
	cr_assert_eq(dsl_collect_files(&files, &n, paths, 1, &diags), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(files[i], TRAMIT_SOURCE_DIR "/tramits/general/instancia-general.lua") == 0;
	cr_assert(found);
	dsl_files_free(files, n);
}
