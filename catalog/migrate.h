/* Moving running expedients to a new version of their tràmit. A change that tramit diff
 * classifies as breaking moves only with a complete migration map; cosmetic and additive ones
 * move as they are. Expedients in a final state stay on the version they ended with. */
#ifndef CAT_MIGRATE_H
#define CAT_MIGRATE_H

#include <stdio.h>

#include "catalog/diff.h"
#include "engine/runtime/store.h"

struct cat_migration_report {
	size_t moved, kept_final;
};

/* Moves every expedient of entity_id pinned to old_def that is not in a final state to
 * new_def, mapping states and fields with map (may be NULL). Writes one line per expedient to
 * out ("2026/000001: submitted -> review"). With dry_run nothing is written to the database.
 * Returns 0, ENG_EINVALID when the diff is breaking and the map is missing or incomplete (err
 * says what to add), or the store's error. */
int cat_migrate(struct eng_store *s, const char *entity_id, const struct eng_definition *old_def,
                const struct eng_definition *new_def, const struct cat_map *map, const char *map_name,
                const char *operator_id, bool dry_run, FILE *out, struct cat_migration_report *report,
                struct eng_error *err);

#endif
