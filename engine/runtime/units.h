/* Organisation units and role grants (issue 5), as the operator manages them (`tramit units`,
 * `tramit employee grant|revoke`). Units form a tree (migration 0025); a grant in a unit
 * covers the units below it. Every function checks what it names exists and says which does
 * not: ENG_ENOTFOUND (unknown unit, parent, employee or grant), ENG_ECONFLICT (the unit
 * exists already), ENG_EINVALID (a move that would put a unit under itself). Nothing changes
 * on error. Thread-safety: as struct eng_store. */
#ifndef ENG_UNITS_H
#define ENG_UNITS_H

#include "store.h"

struct eng_unit_view {
	const char *code, *parent; /* parent NULL: a top unit */
	const char *name_ca, *name_es;
	int64_t grants;            /* grants held in the unit itself */
};

/* Creates unit code (under parent, NULL for a top unit), and the entity row if missing. */
int eng_store_unit_add(struct eng_store *s, const char *entity_id, const char *code,
                       const char *parent, const char *name_ca, const char *name_es,
                       struct eng_error *err);
/* Puts unit code under parent (NULL: at the top). */
int eng_store_unit_move(struct eng_store *s, const char *entity_id, const char *code,
                        const char *parent, struct eng_error *err);
/* Every unit of the entity, each after its parent (depth first, by code). */
int eng_store_unit_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        struct eng_unit_view **out, size_t *n, struct eng_error *err);
/* The units among codes (in the order of their names in lang, "ca" or "es"), for labels. */
int eng_store_unit_names(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *const *codes, size_t n_codes, const char *lang,
                         struct eng_unit_view **out, size_t *n, struct eng_error *err);
/* Grants role in unit to username; *added is false when it was held already. */
int eng_store_grant_add(struct eng_store *s, const char *entity_id, const char *username,
                        const char *role, const char *unit, bool *added, struct eng_error *err);
/* Takes the grant away; ENG_ENOTFOUND when it was not held. */
int eng_store_grant_revoke(struct eng_store *s, const char *entity_id, const char *username,
                           const char *role, const char *unit, struct eng_error *err);

#endif
