/* What an employee sees (issue 5): which tràmits' expedients, and which of them wait for an
 * action they may take. Pure functions over a compiled definition and the employee's grants
 * as the session lists them ("role@unit", already extended to every unit below the one
 * granted: employee_grants, migration 0025), so deciding costs no query. Thread-safe.
 *
 * The rule: an employee sees an expedient iff they hold any role in the tràmit's unit (or,
 * through the extension, in a unit above it), or hold a role one of the tràmit's actions or
 * signature circuits names (in the unit the action names, when it names one). Whoever may
 * take an action (eng_actor_may) therefore sees the expedient. */
#ifndef ENG_VISIBILITY_H
#define ENG_VISIBILITY_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/core/model.h"

/* The role of grant "role@unit" is role_len bytes long; *unit (may be NULL) gets the unit,
 * or NULL when the grant names none. */
size_t eng_grant_split(const char *grant, const char **unit);

/* True when some grant names `unit`. */
bool eng_grants_in_unit(const char *const *grants, size_t n, const char *unit);

/* True when the grants let the employee see the expedients of d. */
bool eng_grants_see(const struct eng_definition *d, const char *const *grants, size_t n);

/* True when an action of state `state` of d may be taken by an employee with these grants,
 * by role; role (NULL: any) limits it to the actions that name that role. */
bool eng_grants_act(const struct eng_definition *d, const char *state, const char *const *grants,
                    size_t n, const char *role);

#endif
