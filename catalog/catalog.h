/* The catalogue: every tràmit definition loaded from the tràmit folders, indexed by code (the
 * newest) and by content hash (every version seen, so expedients pinned to an older hash keep
 * their definition). Immutable after cat_catalog_load; safe to read from many threads. */
#ifndef CAT_CATALOG_H
#define CAT_CATALOG_H

#include <stdio.h>

#include "dsl/dsl.h"
#include "engine/runtime/store.h"

struct cat_catalog;

/* Reads a whole file (tràmit sources, maps, calendars) into a NUL-terminated malloc'd buffer;
 * *len (if not NULL) gets its length. NULL with errno set when it cannot be read. */
char *cat_file_read(const char *path, size_t *len);

/* Compiles every tràmit file under the paths. Problems are appended to diags; a file with
 * problems is left out and counted in *n_bad. Returns 0 if the catalogue could be built
 * (even with bad files), or a negative code. */
int cat_catalog_load(struct cat_catalog **out, const char *const *paths, size_t n_paths,
                     struct dsl_diags *diags, size_t *n_bad, struct eng_error *err);
void cat_catalog_free(struct cat_catalog *c);

/* Stores every definition in tramit_version (idempotent). */
int cat_catalog_publish(const struct cat_catalog *c, struct eng_store *s, struct eng_error *err);

size_t cat_catalog_count(const struct cat_catalog *c);
/* i-th definition in code order; borrowed. */
const struct eng_definition *cat_catalog_at(const struct cat_catalog *c, size_t i);
const struct eng_definition *cat_catalog_by_code(const struct cat_catalog *c, const char *code);
const struct eng_definition *cat_catalog_by_hash(const struct cat_catalog *c, const char *hash);
/* Adapter for eng_store_apply (payload is the catalogue). */
const struct eng_definition *cat_catalog_lookup(const char *hash, void *payload);

#endif
