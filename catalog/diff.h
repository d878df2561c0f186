/* Comparing two versions of one tràmit: every difference between two compiled definitions,
 * classified by what it means for expedients already running on the old one, and checked
 * against a migration map. Pure functions over definitions; thread-safe, no I/O. */
#ifndef CAT_DIFF_H
#define CAT_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/core/model.h"

/* Ordered by severity, so the verdict is the largest class found. */
enum cat_change_class {
	CAT_CHANGE_COSMETIC = 0, /* only what people read: labels, help, descriptions */
	CAT_CHANGE_ADDITIVE = 1, /* more is possible; everything valid before still is */
	CAT_CHANGE_BREAKING = 2, /* something valid or reachable before may no longer be */
};

enum cat_subject {
	CAT_SUBJECT_TRAMIT,
	CAT_SUBJECT_SECTION,
	CAT_SUBJECT_GROUP,
	CAT_SUBJECT_FIELD,
	CAT_SUBJECT_STATE,
	CAT_SUBJECT_ACTION, /* name is "state.action" */
	CAT_SUBJECT_FEE,
};

/* Breaking changes that strand running expedients need an entry in the migration map: a
 * removed state (where its expedients go) and a removed, retyped or regrouped field (where its
 * values go). The other changes only alter what happens next and need none. */
enum cat_map_need { CAT_MAP_NONE, CAT_MAP_STATE, CAT_MAP_FIELD };

/* A migration map: "state OLD -> NEW" and "field OLD -> NEW|drop" entries. */
struct cat_map_entry {
	enum cat_map_need kind;  /* CAT_MAP_STATE or CAT_MAP_FIELD */
	char from[64];
	char to[64];             /* "" for a dropped field */
	int line;
};

struct cat_map {
	struct cat_map_entry *entries;
	size_t n;
};

struct cat_change {
	enum cat_change_class cls;
	enum cat_subject subject;
	char name[132];
	char what[200];          /* "removed", "label changed", "max 150 -> 100" */
	enum cat_map_need need;
	const struct cat_map_entry *mapped; /* borrowed from the map; NULL when not covered */
};

struct cat_map_problem {
	int line;                /* map line, 0 for a missing entry */
	char msg[256];
};

struct cat_diff {
	struct cat_change *changes; /* in the order of the old file, then additions */
	size_t n_changes;
	bool identical;             /* same content hash */
	enum cat_change_class verdict;
	/* With a map: entries missing for changes that need one, and entries that do not apply
	 * (a state that was not removed, a destination the new version lacks, a type mismatch). */
	struct cat_map_problem *problems;
	size_t n_problems;
	bool migrated;              /* breaking, a map was given and it has no problems */
};

/* Compares old_def with new_def (same code; ENG_EINVALID otherwise, with err saying both).
 * map may be NULL. On success *out is a new diff (free with cat_diff_free) whose mapped
 * pointers borrow from map. ENG_EINTERNAL when out of memory. */
int cat_diff_compare(struct cat_diff **out, const struct eng_definition *old_def,
                     const struct eng_definition *new_def, const struct cat_map *map,
                     struct eng_error *err);
void cat_diff_free(struct cat_diff *d);

/* "cosmetic", "additive", "breaking". */
const char *cat_change_class_name(enum cat_change_class cls);
/* One line without newline: "breaking: field telefon: removed; mapped to mobil". */
void cat_change_format(const struct cat_change *c, char *buf, size_t size);

/* Parses a map (format in docs/dsl.md); name is used in messages. Returns 0 and a new map
 * (free with cat_map_free), or ENG_EINVALID with err naming "name:line". */
int cat_map_parse(struct cat_map **out, const char *name, const char *text, size_t len,
                  struct eng_error *err);
void cat_map_free(struct cat_map *m);
/* Where expedients in removed state old_state go, or NULL when the map does not say. */
const char *cat_map_state(const struct cat_map *m, const char *old_state);
/* The entry for removed or retyped field old_field (to "" means drop), or NULL. */
const struct cat_map_entry *cat_map_field(const struct cat_map *m, const char *old_field);

#endif
