/* The catalogue index. Definitions are sorted by code once at load, then only read.
 * Invariant: at most one definition per code (the one in the files now); hashes are unique. */
#include "catalog.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct eng_definition *def;
	char *source;
};

struct cat_catalog {
	struct entry *items;
	size_t n;
};

char *cat_file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n < 2) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	bool failed = ferror(f) != 0;
	fclose(f);
	if (!buf || failed) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int by_code(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->def->code, ((const struct entry *)b)->def->code);
}

int cat_catalog_load(struct cat_catalog **out, const char *const *paths, size_t n_paths,
                     struct dsl_diags *diags, size_t *n_bad, struct eng_error *err)
{
	*out = NULL;
	*n_bad = 0;
	char **files = NULL;
	size_t n_files = 0;
	int rc = dsl_collect_files(&files, &n_files, paths, n_paths, diags);
	if (rc)
		return eng_error_set(err, rc, "cannot list the tràmit folders");
	struct cat_catalog *c = calloc(1, sizeof(*c));
	c->items = calloc(n_files + 1, sizeof(*c->items));
	for (size_t i = 0; i < n_files; i++) {
		struct eng_definition *def = NULL;
		if (dsl_compile_file(&def, files[i], NULL, diags) != 0) {
			(*n_bad)++;
			continue;
		}
		if (cat_catalog_by_code(c, def->code)) {
			size_t at = diags->n;
			if (diags->n == diags->cap) {
				diags->cap = diags->cap ? diags->cap * 2 : 8;
				diags->items = realloc(diags->items, diags->cap * sizeof(*diags->items));
			}
			struct dsl_diag *d = &diags->items[at];
			snprintf(d->path, sizeof(d->path), "%s", files[i]);
			d->line = 0;
			snprintf(d->msg, sizeof(d->msg), "tràmit code %s is already defined in another file",
			         def->code);
			diags->n++;
			eng_definition_free(def);
			(*n_bad)++;
			continue;
		}
		c->items[c->n].def = def;
		c->items[c->n].source = cat_file_read(files[i], NULL);
		c->n++;
	}
	dsl_files_free(files, n_files);
	qsort(c->items, c->n, sizeof(*c->items), by_code);
	*out = c;
	return 0;
}

void cat_catalog_free(struct cat_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		eng_definition_free(c->items[i].def);
		free(c->items[i].source);
	}
	free(c->items);
	free(c);
}

int cat_catalog_publish(const struct cat_catalog *c, struct eng_store *s, struct eng_error *err)
{
	for (size_t i = 0; i < c->n; i++) {
		int rc = eng_store_put_definition(s, c->items[i].def,
		                                  c->items[i].source ? c->items[i].source : "", err);
		if (rc)
			return rc;
	}
	return 0;
}

size_t cat_catalog_count(const struct cat_catalog *c)
{
	return c->n;
}

const struct eng_definition *cat_catalog_at(const struct cat_catalog *c, size_t i)
{
	return i < c->n ? c->items[i].def : NULL;
}

const struct eng_definition *cat_catalog_by_code(const struct cat_catalog *c, const char *code)
{
	for (size_t i = 0; code && i < c->n; i++)
		if (strcmp(c->items[i].def->code, code) == 0)
			return c->items[i].def;
	return NULL;
}

const struct eng_definition *cat_catalog_by_hash(const struct cat_catalog *c, const char *hash)
{
	for (size_t i = 0; hash && i < c->n; i++)
		if (strcmp(c->items[i].def->hash, hash) == 0)
			return c->items[i].def;
	return NULL;
}

const struct eng_definition *cat_catalog_lookup(const char *hash, void *payload)
{
	return cat_catalog_by_hash(payload, hash);
}
