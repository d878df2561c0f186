/* Mandates and the session's "acting as" over PostgreSQL (migration 0022). Every check of a
 * mandate counts days in Europe/Madrid, the municipality's calendar day, whatever the
 * server's time zone. Statements are sent unprepared: they run at sign-in, on the folder's
 * switch and once per citizen request, never inside a transition. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/validate.h"
#include "mandates.h"
#include "store_internal.h"

#define TODAY "(now() AT TIME ZONE 'Europe/Madrid')::date"
/* The mandates of representative $2 for party X that hold today, in entity $1. */
#define IN_FORCE "m.entity_id = $1 AND m.representative_nif = $2 AND m.revoked_at IS NULL " \
                 "AND " TODAY " BETWEEN m.valid_from AND m.valid_to"

static bool code_ok(const char *code)
{
	size_t n = strlen(code);
	if (n == 0 || n > 32)
		return false;
	for (const char *p = code; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	return true;
}

/* The scope as a PostgreSQL array literal ({A,B}); the codes were checked (no quoting). */
static char *scope_literal(const char *const *scope, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += strlen(scope[i]) + 1;
	char *out = malloc(len);
	if (!out)
		return NULL;
	strcpy(out, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, scope[i]);
	}
	strcat(out, "}");
	return out;
}

static int check(const struct eng_mandate_new *m, struct eng_error *err)
{
	if (!m->representative_nif || !eng_nif_valid(m->representative_nif))
		return eng_error_set(err, ENG_EINVALID, "representative NIF '%s' is not a valid NIF, NIE or CIF",
		                     m->representative_nif ? m->representative_nif : "");
	if (!m->represented_nif || !eng_nif_valid(m->represented_nif))
		return eng_error_set(err, ENG_EINVALID, "represented NIF '%s' is not a valid NIF, NIE or CIF",
		                     m->represented_nif ? m->represented_nif : "");
	if (strcmp(m->representative_nif, m->represented_nif) == 0)
		return eng_error_set(err, ENG_EINVALID, "a person cannot hold a mandate for themselves (%s)",
		                     m->represented_nif);
	if (!m->valid_from || !eng_date_valid(m->valid_from))
		return eng_error_set(err, ENG_EINVALID, "valid-from '%s' is not a date YYYY-MM-DD",
		                     m->valid_from ? m->valid_from : "");
	if (!m->valid_to || !eng_date_valid(m->valid_to))
		return eng_error_set(err, ENG_EINVALID, "valid-to '%s' is not a date YYYY-MM-DD",
		                     m->valid_to ? m->valid_to : "");
	if (strcmp(m->valid_from, m->valid_to) > 0)
		return eng_error_set(err, ENG_EINVALID, "valid-to %s is before valid-from %s", m->valid_to,
		                     m->valid_from);
	if (m->n_scope > ENG_MANDATE_MAX_SCOPE)
		return eng_error_set(err, ENG_EINVALID, "a mandate lists at most %d tràmits, not %zu",
		                     ENG_MANDATE_MAX_SCOPE, m->n_scope);
	for (size_t i = 0; i < m->n_scope; i++)
		if (!code_ok(m->scope[i]))
			return eng_error_set(err, ENG_EINVALID, "tràmit code '%s' must be 1 to 32 letters, "
			                     "digits, '-' or '_'", m->scope[i]);
	const char *by = m->registered_by ? m->registered_by : "";
	if ((strncmp(by, "employee:", 9) != 0 || !by[9]) && (strncmp(by, "import:", 7) != 0 || !by[7]))
		return eng_error_set(err, ENG_EINVALID, "registered-by '%s' must be employee:USERNAME or "
		                     "import:SOURCE", by);
	if (m->represented_name && strlen(m->represented_name) > 200)
		return eng_error_set(err, ENG_EINVALID, "the represented name is longer than 200 bytes");
	return 0;
}

int eng_mandate_add(struct eng_store *s, const char *entity_id, const struct eng_mandate_new *m,
                    long long *id, struct eng_error *err)
{
	int rc = check(m, err);
	if (rc)
		return rc;
	char *scope = m->n_scope ? scope_literal(m->scope, m->n_scope) : NULL;
	if (m->n_scope && !scope)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	/* One statement: the persons and the mandate commit together. */
	const char *p[] = {entity_id, m->representative_nif, m->represented_nif, m->represented_name,
	                   scope, m->valid_from, m->valid_to, m->registered_by};
	PGresult *r = eng_store__query(s, "adding the mandate",
	        "WITH rep AS (INSERT INTO person (entity_id, nif, name) VALUES ($1, $2, $2) "
	        "ON CONFLICT DO NOTHING), "
	        "party AS (INSERT INTO person (entity_id, nif, name) VALUES ($1, $3, coalesce($4, $3)) "
	        "ON CONFLICT (entity_id, nif) DO UPDATE SET name = coalesce($4, person.name)) "
	        "INSERT INTO mandate (entity_id, representative_nif, represented_nif, scope, valid_from, "
	        "valid_to, registered_by) VALUES ($1, $2, $3, $5::text[], $6::date, $7::date, $8) RETURNING id",
	        8, p, PGRES_TUPLES_OK, err);
	free(scope);
	if (!r)
		return err->code;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

/* "{A,B}" into its codes (arena). */
static const char **scope_parse(struct eng_arena *a, const char *text, size_t *n)
{
	*n = 0;
	if (!text || strlen(text) < 3)
		return NULL;
	const char **out = eng_arena_alloc(a, sizeof(char *) * (ENG_MANDATE_MAX_SCOPE + 1));
	const char *p = text + 1;
	while (*p && *p != '}' && *n < ENG_MANDATE_MAX_SCOPE) {
		size_t len = strcspn(p, ",}");
		out[(*n)++] = eng_arena_strndup(a, p, len);
		p += len + (p[len] == ',');
	}
	return out;
}

int eng_mandate_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *nif, struct eng_mandate_view **out, size_t *n,
                     struct eng_error *err)
{
	const char *p[] = {entity_id, nif};
	PGresult *r = eng_store__query(s, "listing mandates",
	        "SELECT m.id, m.representative_nif, m.represented_nif, coalesce(pp.name, m.represented_nif), "
	        "m.scope::text, m.valid_from::text, m.valid_to::text, m.registered_by, "
	        ENG__ISO("m.registered_at") ", " ENG__ISO("m.revoked_at") ", "
	        "m.revoked_at IS NULL AND " TODAY " BETWEEN m.valid_from AND m.valid_to "
	        "FROM mandate m LEFT JOIN person pp ON pp.entity_id = m.entity_id AND pp.nif = m.represented_nif "
	        "WHERE m.entity_id = $1 AND ($2::text IS NULL OR $2 IN (m.representative_nif, m.represented_nif)) "
	        "ORDER BY m.id DESC", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (int i = 0; i < (int)*n; i++) {
		struct eng_mandate_view *v = &(*out)[i];
		v->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		v->representative_nif = eng_store__col(a, r, i, 1);
		v->represented_nif = eng_store__col(a, r, i, 2);
		v->represented_name = eng_store__col(a, r, i, 3);
		v->scope = scope_parse(a, eng_store__col(a, r, i, 4), &v->n_scope);
		v->valid_from = eng_store__col(a, r, i, 5);
		v->valid_to = eng_store__col(a, r, i, 6);
		v->registered_by = eng_store__col(a, r, i, 7);
		v->registered_at = eng_store__col(a, r, i, 8);
		v->revoked_at = eng_store__col(a, r, i, 9);
		v->valid_today = strcmp(PQgetvalue(r, i, 10), "t") == 0;
	}
	PQclear(r);
	return 0;
}

int eng_mandate_revoke(struct eng_store *s, const char *entity_id, long long id, const char *by,
                       struct eng_error *err)
{
	char num[24];
	snprintf(num, sizeof(num), "%lld", id);
	const char *p[] = {entity_id, num, by};
	PGresult *r = eng_store__query(s, "revoking the mandate",
	        "WITH m AS (SELECT id, revoked_at FROM mandate WHERE entity_id = $1 AND id = $2::bigint "
	        "FOR UPDATE), u AS (UPDATE mandate SET revoked_at = now(), revoked_by = $3 WHERE id IN "
	        "(SELECT id FROM m WHERE revoked_at IS NULL) RETURNING id) "
	        "SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM u)", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no mandate %lld in entity %s", id, entity_id);
	else if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
		rc = eng_error_set(err, ENG_ECONFLICT, "mandate %lld was revoked already", id);
	PQclear(r);
	return rc;
}

/* The scope of the mandates a representative ($2) holds today for party X (alias x.nif):
 * "*" when one of them covers every tràmit, else their codes, else NULL. */
#define SCOPE_TODAY(party) \
	"(SELECT CASE WHEN bool_or(m.scope IS NULL) THEN '*' ELSE string_agg(array_to_string(m.scope, ','), ',') END " \
	"FROM mandate m WHERE " IN_FORCE " AND m.represented_nif = " party ")"

int eng_mandate_represented_today(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                  const char *representative, struct eng_represented **out,
                                  size_t *n, struct eng_error *err)
{
	const char *p[] = {entity_id, representative};
	PGresult *r = eng_store__query(s, "listing the parties represented",
	        "SELECT x.nif, coalesce(pp.name, x.nif), " SCOPE_TODAY("x.nif") " FROM "
	        "(SELECT DISTINCT m.represented_nif AS nif FROM mandate m WHERE " IN_FORCE ") x "
	        "LEFT JOIN person pp ON pp.entity_id = $1 AND pp.nif = x.nif ORDER BY 2, 1",
	        2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (int i = 0; i < (int)*n; i++)
		(*out)[i] = (struct eng_represented){eng_store__col(a, r, i, 0),
		                                     eng_store__col(a, r, i, 1),
		                                     eng_store__col(a, r, i, 2)};
	PQclear(r);
	return 0;
}

int eng_session_acting_set(struct eng_store *s, const char *token, const char *acting_as,
                           struct eng_error *err)
{
	char hash[65];
	eng_store__sha256_hex(hash, token, strlen(token));
	const char *p[] = {hash, acting_as};
	PGresult *r = eng_store__query(s, "setting the party acted for",
	                   "UPDATE web_session SET acting_as = $2 WHERE token_hash = $1", 2, p,
	                   PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

int eng_session_mark(struct eng_store *s, const char *token, const char *method,
                     const char *cert_company, struct eng_error *err)
{
	char hash[65];
	eng_store__sha256_hex(hash, token, strlen(token));
	const char *p[] = {hash, method, cert_company};
	PGresult *r = eng_store__query(s, "recording the sign-in method",
	                   "UPDATE web_session SET method = $2, cert_company = $3, acting_as = $3 "
	                   "WHERE token_hash = $1", 3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

int eng_person_name(struct eng_store *s, const char *entity_id, const char *nif, const char *name,
                    struct eng_error *err)
{
	const char *p[] = {entity_id, nif, name && *name ? name : nif};
	PGresult *r = eng_store__query(s, "recording the person",
	                   "INSERT INTO person (entity_id, nif, name) VALUES ($1, $2, $3) "
	                   "ON CONFLICT (entity_id, nif) DO UPDATE SET name = $3 WHERE person.name = person.nif",
	                   3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

int eng_employee_by_nif(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        const char *nif, const char **username, struct eng_error *err)
{
	const char *p[] = {entity_id, nif};
	PGresult *r = eng_store__query(s, "finding the employee by NIF",
	                   "SELECT username FROM employee WHERE entity_id = $1 AND nif = $2", 2, p,
	                   PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no employee of %s has NIF %s", entity_id, nif);
	else
		*username = eng_store__col(a, r, 0, 0);
	PQclear(r);
	return rc;
}

int eng_employee_nif_set(struct eng_store *s, const char *entity_id, const char *username,
                         const char *nif, struct eng_error *err)
{
	if (!eng_dni_valid(nif) && !eng_nie_valid(nif))
		return eng_error_set(err, ENG_EINVALID, "'%s' is not a valid DNI or NIE", nif);
	const char *p[] = {entity_id, username, nif};
	if (eng_store__ensure(s, err))
		return err->code;
	PGresult *r = PQexecParams(eng_store_conn(s),
	                           "UPDATE employee SET nif = $3 WHERE entity_id = $1 AND username = $2",
	                           3, NULL, p, NULL, NULL, 0);
	int rc = 0;
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state && strcmp(state, "23505") == 0)
		rc = eng_error_set(err, ENG_ECONFLICT, "another employee of %s already has NIF %s",
		                   entity_id, nif);
	else if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = eng_store__fail(s, err, "linking the NIF", r);
	else if (strcmp(PQcmdTuples(r), "0") == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no employee '%s' in entity %s", username, entity_id);
	PQclear(r);
	return rc;
}
