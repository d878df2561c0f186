/* What an employee sees and may act on, decided from a definition and the session's grants
 * (visibility.h). Invariant: whatever eng_actor_may lets an employee do to an expedient,
 * eng_grants_see lets them see. */
#include "visibility.h"

#include <string.h>

#include "engine/core/step.h"

size_t eng_grant_split(const char *grant, const char **unit)
{
	const char *at = strchr(grant, '@');
	if (unit)
		*unit = at ? at + 1 : NULL;
	return at ? (size_t)(at - grant) : strlen(grant);
}

static bool role_is(const char *grant, const char *role)
{
	size_t len = eng_grant_split(grant, NULL);
	return strlen(role) == len && strncmp(grant, role, len) == 0;
}

bool eng_grants_in_unit(const char *const *grants, size_t n, const char *unit)
{
	for (size_t i = 0; unit && i < n; i++) {
		const char *u;
		eng_grant_split(grants[i], &u);
		if (u && strcmp(u, unit) == 0)
			return true;
	}
	return false;
}

/* A role named with a unit needs the role in that unit; without one, anywhere (the engine's
 * rule, eng_actor_may). */
static bool grants_hold(const char *const *grants, size_t n, const char *role, const char *unit)
{
	for (size_t i = 0; role && i < n; i++) {
		const char *u;
		eng_grant_split(grants[i], &u);
		if (role_is(grants[i], role) && (!unit || (u && strcmp(u, unit) == 0)))
			return true;
	}
	return false;
}

bool eng_grants_see(const struct eng_definition *d, const char *const *grants, size_t n)
{
	if (!d)
		return false;
	if (eng_grants_in_unit(grants, n, d->unit))
		return true;
	for (size_t s = 0; s < d->n_states; s++) {
		const struct eng_state *st = &d->states[s];
		for (size_t k = 0; k < st->n_actions; k++) {
			const struct eng_action *a = &st->actions[k];
			if (a->by == ENG_BY_ROLE && grants_hold(grants, n, a->role, a->unit))
				return true;
			/* Signers of the action's circuit read what they are asked to sign. */
			for (size_t l = 0; a->sign && l < a->sign->n_lines; l++)
				for (size_t g = 0; g < a->sign->lines[l].n_signers; g++)
					if (grants_hold(grants, n, a->sign->lines[l].signers[g].role, NULL))
						return true;
		}
	}
	return false;
}

bool eng_grants_act(const struct eng_definition *d, const char *state, const char *const *grants,
                    size_t n, const char *role)
{
	const struct eng_state *st = d && state ? eng_definition_state(d, state) : NULL;
	if (!st)
		return false;
	struct eng_actor actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .roles = grants, .n_roles = n};
	struct eng_expedient exp = {.state = state};
	for (size_t k = 0; k < st->n_actions; k++) {
		const struct eng_action *a = &st->actions[k];
		if (a->by != ENG_BY_ROLE || (role && strcmp(a->role, role) != 0))
			continue;
		if (eng_actor_may(a, &exp, &actor))
			return true;
	}
	return false;
}
