/* An expedient's engine variables as the engine last wrote them (armed deadlines "due.STATE",
 * "last_day.STATE", "start.STATE", "due.resolution", "paid.FEE", ...): for pages that explain
 * them, never for deciding anything (the engine reads its own, in the transition).
 * Error codes: ENG_ENOTFOUND (no such expedient in this entity), ENG_EUNAVAILABLE.
 * Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_VARS_H
#define ENG_VARS_H

#include <stddef.h>

#include "store.h"

/* The variables of expedient id of this entity, sorted by name (arena). */
int eng_store_expedient_vars(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *id, struct eng_value **out, size_t *n,
                             struct eng_error *err);

#endif
