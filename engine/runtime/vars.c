/* An expedient's engine variables (vars.h), read from the expedient row's jsonb. */
#include "vars.h"

#include <string.h>

#include "store_internal.h"

int eng_store_expedient_vars(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *id, struct eng_value **out, size_t *n,
                             struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	static const char sql[] =
		"SELECT v.key, v.value FROM expedient x, jsonb_each_text(x.vars) v "
		"WHERE x.id = $2::uuid AND x.entity_id = $1 ORDER BY v.key";
	if (strlen(id) != 36 || strspn(id, "0123456789abcdef-") != 36)
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient '%.40s'", id);
	const char *p[] = {entity_id, id};
	PGresult *r = eng_store__query(s, "reading an expedient's variables", sql, 2, p, PGRES_TUPLES_OK,
	                               err);
	if (!r)
		return err->code;
	size_t rows = (size_t)PQntuples(r);
	struct eng_value *v = rows ? eng_arena_alloc(a, rows * sizeof(*v)) : NULL;
	for (size_t i = 0; v && i < rows; i++) {
		v[i].name = eng_store__col(a, r, (int)i, 0);
		v[i].value = eng_store__col(a, r, (int)i, 1);
	}
	PQclear(r);
	*out = v;
	*n = v ? rows : 0;
	return 0;
}
