/* Organisation units and role grants as the operator manages them (units.h). Each change is
 * preceded by one query that says what of what it names is missing, so the error can name
 * it; the constraints and the acyclic trigger of migration 0025 still guard the tables. */
#include "units.h"

#include <stdlib.h>
#include <string.h>

#include "queries.h"
#include "store_internal.h"

/* What exists of what a command names: the unit, the parent, the employee, and whether the
 * parent lies below the unit (a move there would make a cycle). */
static const char *const facts_sql =
	"WITH RECURSIVE up(code) AS (SELECT $3::text UNION SELECT o.parent FROM org_unit o JOIN up "
	"ON o.entity_id = $1 AND o.code = up.code WHERE o.parent IS NOT NULL) SELECT "
	"EXISTS (SELECT 1 FROM org_unit WHERE entity_id = $1 AND code = $2), "
	"$3::text IS NULL OR EXISTS (SELECT 1 FROM org_unit WHERE entity_id = $1 AND code = $3), "
	"$4::text IS NULL OR EXISTS (SELECT 1 FROM employee WHERE entity_id = $1 AND username = $4), "
	"$3::text IS NOT NULL AND EXISTS (SELECT 1 FROM up WHERE code = $2)";

struct facts {
	bool unit, parent, employee, cycle;
};

static int facts_get(struct eng_store *s, const char *entity_id, const char *unit,
                     const char *parent, const char *username, struct facts *out,
                     struct eng_error *err)
{
	const char *p[] = {entity_id, unit, parent, username};
	PGresult *r = eng_store__query(s, "checking units", facts_sql, 4, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*out = (struct facts){strcmp(PQgetvalue(r, 0, 0), "t") == 0, strcmp(PQgetvalue(r, 0, 1), "t") == 0,
	                      strcmp(PQgetvalue(r, 0, 2), "t") == 0, strcmp(PQgetvalue(r, 0, 3), "t") == 0};
	PQclear(r);
	return 0;
}

static int no_unit(struct eng_error *err, const char *entity_id, const char *code)
{
	return eng_error_set(err, ENG_ENOTFOUND, "no unit '%s' in entity %s (see `tramit units list`)",
	                     code, entity_id);
}

int eng_store_unit_add(struct eng_store *s, const char *entity_id, const char *code,
                       const char *parent, const char *name_ca, const char *name_es,
                       struct eng_error *err)
{
	struct facts f;
	int rc = facts_get(s, entity_id, code, parent, NULL, &f, err);
	if (rc)
		return rc;
	if (f.unit)
		return eng_error_set(err, ENG_ECONFLICT, "unit '%s' already exists in entity %s", code,
		                     entity_id);
	if (!f.parent)
		return no_unit(err, entity_id, parent);
	/* Foreign keys are checked at the end of the statement: entity and unit go in together. */
	const char *p[] = {entity_id, code, name_ca, name_es, parent};
	return eng_store__command(s, "adding a unit",
	                          "WITH ent AS (INSERT INTO entity (id, name_ca, name_es) VALUES ($1, $1, $1) "
	                          "ON CONFLICT (id) DO NOTHING) INSERT INTO org_unit (entity_id, code, "
	                          "name_ca, name_es, parent) VALUES ($1, $2, $3, $4, $5)", 5, p, err);
}

int eng_store_unit_move(struct eng_store *s, const char *entity_id, const char *code,
                        const char *parent, struct eng_error *err)
{
	struct facts f;
	int rc = facts_get(s, entity_id, code, parent, NULL, &f, err);
	if (rc)
		return rc;
	if (!f.unit)
		return no_unit(err, entity_id, code);
	if (!f.parent)
		return no_unit(err, entity_id, parent);
	if (f.cycle)
		return eng_error_set(err, ENG_EINVALID, "unit '%s' cannot go under '%s', which is %s",
		                     code, parent, strcmp(code, parent) == 0 ? "itself" : "below it");
	const char *p[] = {entity_id, code, parent};
	return eng_store__command(s, "moving a unit", "UPDATE org_unit SET parent = $3 WHERE entity_id = $1 "
	                          "AND code = $2", 3, p, err);
}

int eng_store_unit_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        struct eng_unit_view **out, size_t *n, struct eng_error *err)
{
	const char *p[] = {entity_id};
	PGresult *r = eng_store__query(s, "listing units",
	        "WITH RECURSIVE t(code, path) AS (SELECT code, ARRAY[code] FROM org_unit WHERE entity_id = $1 "
	        "AND parent IS NULL UNION ALL SELECT o.code, t.path || o.code FROM org_unit o JOIN t ON "
	        "o.entity_id = $1 AND o.parent = t.code) SELECT o.code, o.parent, o.name_ca, o.name_es, "
	        "(SELECT count(*) FROM role_grant g WHERE g.entity_id = $1 AND g.unit = o.code) FROM t "
	        "JOIN org_unit o ON o.entity_id = $1 AND o.code = t.code ORDER BY t.path", 1, p,
	        PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (int i = 0; i < (int)*n; i++)
		(*out)[i] = (struct eng_unit_view){eng_store__col(a, r, i, 0), eng_store__col(a, r, i, 1),
		                                   eng_store__col(a, r, i, 2), eng_store__col(a, r, i, 3),
		                                   atoll(PQgetvalue(r, i, 4))};
	PQclear(r);
	return 0;
}

int eng_store_unit_names(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *const *codes, size_t n_codes, const char *lang,
                         struct eng_unit_view **out, size_t *n, struct eng_error *err)
{
	const char *p[] = {entity_id, eng_pg_array(a, codes, n_codes), lang};
	PGresult *r = eng_store__query(s, "unit names", "SELECT code, parent, name_ca, name_es FROM org_unit "
	                               "WHERE entity_id = $1 AND code = ANY ($2::text[]) ORDER BY CASE $3 "
	                               "WHEN 'es' THEN name_es ELSE name_ca END, code", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (int i = 0; i < (int)*n; i++)
		(*out)[i] = (struct eng_unit_view){eng_store__col(a, r, i, 0), eng_store__col(a, r, i, 1),
		                                   eng_store__col(a, r, i, 2), eng_store__col(a, r, i, 3), 0};
	PQclear(r);
	return 0;
}

static int grant_check(struct eng_store *s, const char *entity_id, const char *username,
                       const char *unit, struct eng_error *err)
{
	struct facts f;
	int rc = facts_get(s, entity_id, unit, NULL, username, &f, err);
	if (rc)
		return rc;
	if (!f.employee)
		return eng_error_set(err, ENG_ENOTFOUND, "no employee '%s' in entity %s (add them with "
		                     "`tramit employee add`)", username, entity_id);
	return f.unit ? 0 : no_unit(err, entity_id, unit);
}

int eng_store_grant_add(struct eng_store *s, const char *entity_id, const char *username,
                        const char *role, const char *unit, bool *added, struct eng_error *err)
{
	int rc = grant_check(s, entity_id, username, unit, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, username, role, unit};
	PGresult *r = eng_store__query(s, "granting a role", "INSERT INTO role_grant (entity_id, username, "
	                               "role, unit) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, p,
	                               PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	*added = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return 0;
}

int eng_store_grant_revoke(struct eng_store *s, const char *entity_id, const char *username,
                           const char *role, const char *unit, struct eng_error *err)
{
	int rc = grant_check(s, entity_id, username, unit, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, username, role, unit};
	PGresult *r = eng_store__query(s, "revoking a role", "DELETE FROM role_grant WHERE entity_id = $1 "
	                               "AND username = $2 AND role = $3 AND unit = $4", 4, p,
	                               PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	bool gone = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return gone ? 0 : eng_error_set(err, ENG_ENOTFOUND, "employee '%s' holds no role '%s' in unit '%s'",
	                                username, role, unit);
}
