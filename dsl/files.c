/* Finding the tràmit files under the paths a designer or operator names. Invariant: the list
 * is sorted and free of duplicates, so checks and catalogue builds run in a stable order. */
#include "dsl/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Folders deeper than this are a symlink loop, not a catalogue. */
enum { MAX_DEPTH = 16 };

struct file_list {
	char **items;
	size_t n, cap;
};

static int list_add(struct file_list *l, char *path)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **items = realloc(l->items, cap * sizeof(*items));
		if (!items) {
			free(path);
			return ENG_EINTERNAL;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = path;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	bool slash = n > 0 && dir[n - 1] == '/';
	char *p = malloc(n + strlen(name) + 2);
	if (p)
		sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
	return p;
}

/* Shared blocks (lib/), calendars and scenario tests (*_test.lua) are not tràmits. */
static int walk(struct file_list *l, const char *dir, int depth, bool tests,
                struct dsl_diags *diags)
{
	int rc = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		dsl__diag_add(diags, dir, 0, "cannot read folder: %s", strerror(errno));
		rc = ENG_EINVALID;
		goto done;
	}
	if (depth > MAX_DEPTH) {
		dsl__diag_add(diags, dir, 0, "folders nested more than %d deep (a symlink loop?)",
		              MAX_DEPTH);
		rc = ENG_EINVALID;
		goto done;
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		char *child = path_join(dir, e->d_name);
		if (!child) {
			rc = ENG_EINTERNAL;
			break;
		}
		if (stat(child, &st) != 0) {
			free(child);
			continue; /* a dangling symlink names nothing to check */
		}
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(e->d_name, "lib") != 0 && strcmp(e->d_name, "calendars") != 0)
				rc = walk(l, child, depth + 1, tests, diags);
			free(child);
		} else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".lua") &&
		           ends_with(e->d_name, "_test.lua") == tests) {
			rc = list_add(l, child);
		} else {
			free(child);
		}
	}
done:
	if (d)
		closedir(d);
	return rc;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(char ***out, size_t *n_out, const char *const *paths, size_t n_paths,
                   bool tests, struct dsl_diags *diags)
{
	struct file_list l = { 0 };
	int rc = 0;
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n_paths && rc != ENG_EINTERNAL; i++) {
		struct stat st;
		int r = 0;
		if (stat(paths[i], &st) != 0) {
			dsl__diag_add(diags, paths[i], 0, "no such file or folder");
			r = ENG_ENOTFOUND;
		} else if (S_ISDIR(st.st_mode)) {
			r = walk(&l, paths[i], 0, tests, diags);
		} else {
			char *copy = strdup(paths[i]);
			r = copy ? list_add(&l, copy) : ENG_EINTERNAL;
		}
		/* Keep looking, so one run names every missing path; the first failure wins. */
		if (r < 0 && rc == 0)
			rc = r;
		if (r == ENG_EINTERNAL)
			rc = r;
	}
	if (rc < 0)
		goto done;
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), cmp_paths);
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (n > 0 && strcmp(l.items[n - 1], l.items[i]) == 0)
			free(l.items[i]);
		else
			l.items[n++] = l.items[i];
	}
	*out = l.items;
	*n_out = n;
	l.items = NULL;
	l.n = 0;
done:
	dsl_files_free(l.items, l.n);
	return rc;
}

int dsl_collect_files(char ***out, size_t *n_out, const char *const *paths, size_t n_paths,
                      struct dsl_diags *diags)
{
	return collect(out, n_out, paths, n_paths, false, diags);
}

int dsl_collect_test_files(char ***out, size_t *n_out, const char *const *paths, size_t n_paths,
                           struct dsl_diags *diags)
{
	return collect(out, n_out, paths, n_paths, true, diags);
}

void dsl_files_free(char **files, size_t n)
{
	if (!files)
		return;
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}
