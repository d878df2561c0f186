/* Read models and small writes for the web layer. Each function runs prepared statements and
 * copies what it returns into the caller's arena, so no PGresult outlives the call. */
#include "queries.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define ISO(col) ENG__ISO(col)

/* An expedient as pages show it, over the expedient table. */
#define EXPEDIENT_VIEW \
	"SELECT " ENG__VIEW_COLUMNS " FROM expedient x WHERE x.entity_id = $1 AND "

static const struct {
	const char *name, *sql;
} queries[] = {
	{"entity_ensure",
	 "INSERT INTO entity (id, name_ca, name_es, demo) VALUES ($1, $2, $3, $4) "
	 "ON CONFLICT (id) DO UPDATE SET name_ca = $2, name_es = $3, demo = $4"},
	{"entity_get", "SELECT id, name_ca, name_es, demo FROM entity WHERE id = $1"},
	{"employee_get",
	 "SELECT e.username, e.name, (SELECT coalesce(array_to_json(array_agg(g ORDER BY g))::text, "
	 "'[]') FROM employee_grants(e.entity_id, e.username) g) FROM employee e WHERE "
	 "e.entity_id = $1 AND e.username = $2"},
	{"session_insert",
	 "INSERT INTO web_session (token_hash, entity_id, principal_kind, principal_id, csrf, "
	 "expires_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::int))"},
	/* Refreshing last_seen on every request would make every read a write and a commit;
	 * once a minute is precise enough for an idle limit counted in minutes. The last column
	 * says a refresh is due (session_touch). Who the principal is comes in the same round
	 * trip: every signed-in request needs it. */
	{"session_get",
	 "SELECT s.entity_id, s.principal_kind, s.principal_id, s.csrf, CASE s.principal_kind "
	 "WHEN 'citizen' THEN (SELECT name FROM person p WHERE p.entity_id = s.entity_id AND "
	 "p.nif = s.principal_id) ELSE (SELECT name FROM employee e WHERE e.entity_id = s.entity_id "
	 "AND e.username = s.principal_id) END, "
	 /* An employee's grants reach the units below the one granted (migration 0025). */
	 "(SELECT coalesce(array_to_json(array_agg(g ORDER BY g))::text, '[]') FROM "
	 "employee_grants(s.entity_id, s.principal_id) g WHERE s.principal_kind = 'employee'), "
	 "s.last_seen < now() - interval '60 seconds', "
	 /* Representation: what covers the party acted for today (NULL: nothing any more). */
	 "s.method, s.cert_company, s.acting_as, CASE WHEN s.acting_as IS NOT NULL THEN "
	 "coalesce((SELECT name FROM person pp WHERE pp.entity_id = s.entity_id AND pp.nif = "
	 "s.acting_as), s.acting_as) END, CASE WHEN s.acting_as IS NULL THEN NULL "
	 "WHEN s.acting_as = s.cert_company THEN '*' ELSE (SELECT CASE WHEN bool_or(m.scope IS NULL) "
	 "THEN '*' ELSE string_agg(array_to_string(m.scope, ','), ',') END FROM mandate m "
	 "WHERE m.entity_id = s.entity_id AND m.representative_nif = s.principal_id "
	 "AND m.represented_nif = s.acting_as AND m.revoked_at IS NULL "
	 "AND (now() AT TIME ZONE 'Europe/Madrid')::date BETWEEN m.valid_from AND m.valid_to) END "
	 "FROM web_session s WHERE s.token_hash = $1 AND s.expires_at > now() "
	 "AND s.last_seen > now() - make_interval(secs => $2::int)"},
	{"session_touch", "UPDATE web_session SET last_seen = now() WHERE token_hash = $1"},
	{"session_delete", "DELETE FROM web_session WHERE token_hash = $1"},
	{"expedient_get",
	 EXPEDIENT_VIEW "x.id = $2::uuid"},
	{"expedient_list",
	 EXPEDIENT_VIEW "($2::text IS NULL OR x.applicant_nif = $2) "
	 "ORDER BY x.created_at DESC, x.number DESC LIMIT $3"},
	/* The back office's inbox: the next legal time limit of each expedient is the earlier of
	 * its state's deadline and the resolution's (the step keeps both in vars, in ms, and
	 * drops them when they stop running); the most urgent first. */
	{"expedient_inbox",
	 "SELECT " ENG__VIEW_COLUMNS ", coalesce(x.assigned_to, ''), d.due, count(*) OVER () "
	 "FROM expedient x CROSS JOIN LATERAL (SELECT "
	 "least(nullif(x.vars->>('due.' || x.state), '')::bigint, "
	 "nullif(x.vars->>'due.resolution', '')::bigint) AS due) d, "
	 "(SELECT (extract(epoch FROM now()) * 1000)::bigint AS ms) n WHERE x.entity_id = $1 "
	 "AND ($2::text IS NULL OR x.state = $2) AND ($3::text IS NULL OR x.tramit_code = $3) "
	 "AND ($4::text IS NULL OR x.number ILIKE $4 OR x.applicant_nif ILIKE $4 OR "
	 "x.applicant_name ILIKE $4 OR coalesce(x.registry_number, '') ILIKE $4) "
	 "AND ($5::text IS NULL OR ($5 = 'overdue' AND d.due < n.ms) OR ($5 = 'soon' AND "
	 "d.due >= n.ms AND d.due < n.ms + 5 * 86400000)) "
	 "AND ($7::text IS NULL OR ($7 = '' AND x.assigned_to IS NULL) OR x.assigned_to = $7) "
	 /* Issue 5: the tràmits the employee sees, and those waiting for an action they may take
	 * (both decided from the catalogue and the session's grants: visibility.h). */
	 "AND ($8::text[] IS NULL OR x.tramit_code = ANY ($8)) "
	 "AND ($9::text[] IS NULL OR x.tramit_code || '/' || x.state = ANY ($9)) "
	 "ORDER BY d.due NULLS LAST, x.created_at DESC, x.number DESC LIMIT $6"},
	/* Assigning is one statement: the row and its log change together, and only an
	 * expedient of this entity moves. */
	{"expedient_assign",
	 "WITH x AS (UPDATE expedient SET assigned_to = nullif($3, '') WHERE entity_id = $1 AND id = $2 "
	 "AND ($5::text[] IS NULL OR tramit_code = ANY ($5)) RETURNING id) "
	 "INSERT INTO expedient_assignment (expedient_id, assigned_to, assigned_by) "
	 "SELECT id, nullif($3, ''), $4 FROM x"},
	{"expedient_assignee",
	 "SELECT coalesce(e.name, x.assigned_to) FROM expedient x LEFT JOIN employee e ON "
	 "e.entity_id = x.entity_id AND e.username = x.assigned_to WHERE x.entity_id = $1 AND "
	 "x.id = $2 AND x.assigned_to IS NOT NULL"},
	{"event_list",
	 "SELECT seq, action, actor_kind, actor_id, from_state, to_state, " ISO("at")
	 ", payload->>'reason', payload->>'registry_number', payload->>'presented_at', "
	 "payload->>'receipt_csv' FROM event WHERE expedient_id = $1 ORDER BY seq"},
	/* One round trip: the client's allowance over the last minute (counted on the log every
	 * server writes; $3 = 0: no limit), the document, and the log row, written only when the
	 * lookup was allowed. */
	{"document_by_csv",
	 "WITH recent AS (SELECT $3::bigint = 0 OR count(*) < $3::bigint AS ok FROM csv_lookup "
	 "WHERE client = $2 AND at > now() - interval '1 minute'), "
	 "doc AS (SELECT id, kind, csv, sha256, media_type, created_at, content, withdrawn_at IS NOT "
	 "NULL AS withdrawn FROM document WHERE csv = $1 AND (SELECT ok FROM recent)), "
	 "logged AS (INSERT INTO csv_lookup (client, found) SELECT $2, EXISTS (SELECT 1 FROM doc "
	 "WHERE NOT withdrawn) WHERE (SELECT ok FROM recent)) "
	 "SELECT (SELECT ok FROM recent), doc.id, doc.kind, doc.csv, doc.sha256, doc.media_type, "
	 ISO("doc.created_at") ", doc.content, doc.withdrawn FROM (SELECT 1) one LEFT JOIN doc ON true"},
	/* Old ids are pruned as new ones arrive; the window is far shorter than ten minutes. */
	{"payment_order",
	 "SELECT o.expedient_id::text, o.effect_id, (o.result->>'amount_cents')::bigint, "
	 "coalesce(x.vars->>('paid.' || split_part(o.effect_id, ':', 2)), '') = 'yes' "
	 "FROM outbox o JOIN expedient x ON x.id = o.expedient_id WHERE o.kind = 'payment' "
	 "AND o.result->>'order' = $1 AND o.entity_id = $2"},
	{"callback_seen",
	 "WITH gone AS (DELETE FROM callback_seen WHERE received_at < now() - interval '10 minutes') "
	 "INSERT INTO callback_seen (entity_id, subscriber, delivery) VALUES ($1, $2, $3) "
	 "ON CONFLICT DO NOTHING"},
	/* Employees and password sign-in (the end of this file). */
	{"employee_units_missing",
	 "SELECT string_agg(r, ', ') FROM json_array_elements_text($2::json) g(r) WHERE NOT EXISTS "
	 "(SELECT 1 FROM org_unit o WHERE o.entity_id = $1 AND o.code = split_part(r, '@', 2))"},
	/* Row triggers checking foreign keys run at the end of the statement, so the entity,
	 * the employee and their grants can be written by one statement. */
	{"employee_add",
	 "WITH ent AS (INSERT INTO entity (id, name_ca, name_es) VALUES ($1, $1, $1) "
	 "ON CONFLICT (id) DO NOTHING), emp AS (INSERT INTO employee (entity_id, username, name) "
	 "VALUES ($1, $2, $3) ON CONFLICT (entity_id, username) DO UPDATE SET name = EXCLUDED.name "
	 "RETURNING username) INSERT INTO role_grant (entity_id, username, role, unit) "
	 "SELECT $1, emp.username, split_part(r, '@', 1), split_part(r, '@', 2) FROM emp, "
	 "json_array_elements_text($4::json) g(r) ON CONFLICT DO NOTHING"},
	{"employee_password_set",
	 "UPDATE employee SET password_hash = $3 WHERE entity_id = $1 AND username = $2"},
	{"employee_password_get",
	 "SELECT password_hash FROM employee WHERE entity_id = $1 AND username = $2"},
	/* When the username's or the address's last max failures all fall inside the window,
	 * sign-in opens again once the oldest of them leaves it: that minute, rounded up. */
	{"signin_blocked",
	 "SELECT to_char(date_trunc('minute', max(t) + make_interval(secs => $4::int)) + "
	 "interval '1 minute', 'HH24:MI') FROM (SELECT min(at) AS t FROM (SELECT at FROM "
	 "signin_failure WHERE entity_id = $1 AND username = $2 AND at > now() - make_interval(secs "
	 "=> $4::int) ORDER BY at DESC LIMIT $5) u HAVING count(*) >= $5 UNION ALL SELECT min(at) "
	 "FROM (SELECT at FROM signin_failure WHERE entity_id = $1 AND client = $3 AND at > now() - "
	 "make_interval(secs => $4::int) ORDER BY at DESC LIMIT $6) c HAVING count(*) >= $6) w"},
	{"signin_failed",
	 "WITH gone AS (DELETE FROM signin_failure WHERE at < now() - interval '1 hour') "
	 "INSERT INTO signin_failure (entity_id, username, client) VALUES ($1, $2, $3)"},
	{"signin_succeeded",
	 "WITH cleared AS (DELETE FROM signin_failure WHERE entity_id = $1 AND username = $2) "
	 "UPDATE employee SET last_signin_at = now() WHERE entity_id = $1 AND username = $2"},
	{"person_ensure",
	 "INSERT INTO person (entity_id, nif, name) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING"},
};

int eng_store__queries_prepare(struct eng_store *s, struct eng_error *err)
{
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		PGresult *r = PQprepare(s->conn, queries[i].name, queries[i].sql, 0, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok) {
			char line[200];
			snprintf(line, sizeof(line), "%s", PQresultErrorMessage(r));
			line[strcspn(line, "\n")] = '\0';
			PQclear(r);
			return eng_error_set(err, ENG_EINTERNAL, "database: preparing %s: %s",
			                     queries[i].name, line);
		}
		PQclear(r);
	}
	return 0;
}

static int run_cmd(struct eng_store *s, const char *name, int n, const char *const *p,
                   struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	PGresult *r = eng_store__run(s, name, n, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err ? err->code : ENG_EINTERNAL;
	PQclear(r);
	return 0;
}

static PGresult *run_query(struct eng_store *s, const char *name, int n, const char *const *p,
                           struct eng_error *err)
{
	if (eng_store__ensure(s, err))
		return NULL;
	return eng_store__run(s, name, n, p, PGRES_TUPLES_OK, err);
}

int eng_store_entity_ensure(struct eng_store *s, const char *id, const char *name_ca,
                            const char *name_es, bool demo, struct eng_error *err)
{
	const char *p[] = {id, name_ca, name_es, demo ? "true" : "false"};
	return run_cmd(s, "entity_ensure", 4, p, err);
}

int eng_store_seed_demo(struct eng_store *s, const char *entity_id, struct eng_error *err)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "BEGIN;"
	         "INSERT INTO org_unit VALUES ('%1$s', 'registre', 'Registre i atenció ciutadana',"
	         " 'Registro y atención ciudadana'), ('%1$s', 'via-publica', 'Via pública', 'Vía pública'),"
	         " ('%1$s', 'padro', 'Padró municipal', 'Padrón municipal'),"
	         " ('%1$s', 'participacio', 'Participació ciutadana', 'Participación ciudadana'),"
	         " ('%1$s', 'hisenda', 'Hisenda i tresoreria', 'Hacienda y tesorería'),"
	         " ('%1$s', 'alcaldia', 'Alcaldia', 'Alcaldía') ON CONFLICT DO NOTHING;"
	         "INSERT INTO person (entity_id, nif, name, email, lang, demo) VALUES ('%1$s',"
	         " '12345678Z', 'Maria Demo Ciutadana', 'maria.demo@example.org', 'ca', true)"
	         " ON CONFLICT DO NOTHING;"
	         "INSERT INTO employee VALUES ('%1$s', 'demo.empleat', 'Pere Demo Empleat', true)"
	         " ON CONFLICT DO NOTHING;"
	         /* The demo employee can carry every tràmit of the catalogue through. */
	         "INSERT INTO role_grant VALUES ('%1$s', 'demo.empleat', 'tramitador', 'registre'),"
	         " ('%1$s', 'demo.empleat', 'habilitat', 'registre'),"
	         " ('%1$s', 'demo.empleat', 'tecnic', 'via-publica'), ('%1$s', 'demo.empleat', 'cap', 'via-publica'),"
	         " ('%1$s', 'demo.empleat', 'padro', 'padro'), ('%1$s', 'demo.empleat', 'tecnic', 'participacio'),"
	         " ('%1$s', 'demo.empleat', 'cap_servei', 'participacio'), ('%1$s', 'demo.empleat', 'tresoreria', 'hisenda'),"
	         " ('%1$s', 'demo.empleat', 'alcaldia', 'alcaldia') ON CONFLICT DO NOTHING;"
	         /* An employee of one unit only: the inbox and the expedients of the Padró, and no
	          * others (issue 5: what an employee sees follows their units and roles). */
	         "INSERT INTO employee VALUES ('%1$s', 'demo.padro', 'Marta Demo Padró', true)"
	         " ON CONFLICT DO NOTHING;"
	         "INSERT INTO role_grant VALUES ('%1$s', 'demo.padro', 'padro', 'padro') ON CONFLICT DO NOTHING;"
	         /* The signature circuit of PAR-004, one person per line (the portasignatures). */
	         "INSERT INTO employee VALUES ('%1$s', 'demo.cap', 'Anna Demo Cap de Servei', true),"
	         " ('%1$s', 'demo.interventor', 'Jordi Demo Interventor', true),"
	         " ('%1$s', 'demo.secretaria', 'Laura Demo Secretària', true),"
	         " ('%1$s', 'demo.alcaldessa', 'Rosa Demo Alcaldessa', true) ON CONFLICT DO NOTHING;"
	         "INSERT INTO role_grant VALUES ('%1$s', 'demo.cap', 'cap_servei', 'participacio'),"
	         " ('%1$s', 'demo.interventor', 'intervencio', 'hisenda'),"
	         " ('%1$s', 'demo.secretaria', 'secretaria', 'alcaldia'),"
	         " ('%1$s', 'demo.alcaldessa', 'alcaldia', 'alcaldia') ON CONFLICT DO NOTHING;"
	         "COMMIT",
	         entity_id);
	/* entity_id was checked against the entity table's pattern when it was created. */
	for (const char *p = entity_id; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p))
			return eng_error_set(err, ENG_EINVALID, "bad entity id '%s'", entity_id);
	int rc = eng_store__ensure(s, err);
	return rc ? rc : eng_store__exec(s, sql, err);
}

int eng_store_entity_get(struct eng_store *s, struct eng_arena *a, const char *id,
                         struct eng_entity_view *out, struct eng_error *err)
{
	const char *p[] = {id};
	PGresult *r = run_query(s, "entity_get", 1, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no entity '%s'", id);
	else
		*out = (struct eng_entity_view){eng_store__col(a, r, 0, 0), eng_store__col(a, r, 0, 1),
		                                eng_store__col(a, r, 0, 2),
		                                 strcmp(PQgetvalue(r, 0, 3), "t") == 0};
	PQclear(r);
	return rc;
}

/* A JSON array of "role@unit" strings into a NULL-terminated array in the arena. */
static const char **roles_parse(struct eng_arena *a, const char *text, size_t *n)
{
	json_t *roles = json_loads(text, 0, NULL);
	*n = json_array_size(roles);
	const char **out = eng_arena_alloc(a, sizeof(char *) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		out[i] = eng_arena_strdup(a, json_string_value(json_array_get(roles, i)));
	out[*n] = NULL;
	json_decref(roles);
	return out;
}

int eng_store_employee_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           const char *username, struct eng_employee_view *out,
                           struct eng_error *err)
{
	const char *p[] = {entity_id, username};
	PGresult *r = run_query(s, "employee_get", 2, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no employee %s", username);
		goto done;
	}
	out->username = eng_store__col(a, r, 0, 0);
	out->name = eng_store__col(a, r, 0, 1);
	out->roles = roles_parse(a, PQgetvalue(r, 0, 2), &out->n_roles);
done:
	PQclear(r);
	return rc;
}

static void random_token(char *out, size_t bytes)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[48];
	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
		abort(); /* a session without a strong token must never be issued */
	size_t o = 0;
	for (size_t i = 0; i < bytes; i += 3) {
		unsigned v = raw[i] << 16 | (i + 1 < bytes ? raw[i + 1] << 8 : 0) |
		             (i + 2 < bytes ? raw[i + 2] : 0);
		size_t chars = i + 2 < bytes ? 4 : i + 1 < bytes ? 3 : 2;
		for (size_t k = 0; k < chars; k++)
			out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

int eng_store_session_create(struct eng_store *s, char token[64], char csrf[64],
                             const char *entity_id, const char *kind, const char *principal,
                             int absolute_seconds, struct eng_error *err)
{
	random_token(token, 32);
	random_token(csrf, 32);
	char hash[65], secs[16];
	eng_store__sha256_hex(hash, token, strlen(token));
	snprintf(secs, sizeof(secs), "%d", absolute_seconds);
	const char *p[] = {hash, entity_id, kind, principal, csrf, secs};
	return run_cmd(s, "session_insert", 6, p, err);
}

int eng_store_session_get(struct eng_store *s, struct eng_arena *a, const char *token,
                          int idle_seconds, struct eng_session *out, struct eng_error *err)
{
	char hash[65], secs[16];
	eng_store__sha256_hex(hash, token, strlen(token));
	snprintf(secs, sizeof(secs), "%d", idle_seconds);
	const char *p[] = {hash, secs};
	PGresult *r = eng_store__ensure(s, err) ? NULL
	              : eng_store__run(s, "session_get", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no live session");
	else
		*out = (struct eng_session){.entity_id = eng_store__col(a, r, 0, 0),
		                            .principal_kind = eng_store__col(a, r, 0, 1),
		                            .principal_id = eng_store__col(a, r, 0, 2),
		                            .csrf = eng_store__col(a, r, 0, 3),
		                            .name = eng_store__col(a, r, 0, 4)};
	bool touch = rc == 0 && strcmp(PQgetvalue(r, 0, 6), "t") == 0;
	if (rc == 0) {
		out->roles = roles_parse(a, PQgetvalue(r, 0, 5), &out->n_roles);
		out->method = eng_store__col(a, r, 0, 7);
		out->cert_company = eng_store__col(a, r, 0, 8);
		out->acting_as = eng_store__col(a, r, 0, 9);
		out->acting_name = eng_store__col(a, r, 0, 10);
		out->acting_scope = eng_store__col(a, r, 0, 11);
	}
	PQclear(r);
	/* A refresh that fails only shortens the session: the request goes on. */
	const char *pt[] = {hash};
	if (touch)
		run_cmd(s, "session_touch", 1, pt, NULL);
	return rc;
}

int eng_store_session_delete(struct eng_store *s, const char *token, struct eng_error *err)
{
	char hash[65];
	eng_store__sha256_hex(hash, token, strlen(token));
	const char *p[] = {hash};
	return run_cmd(s, "session_delete", 1, p, err);
}

static void expedient_row(struct eng_expedient_view *v, struct eng_arena *a, PGresult *r, int i)
{
	v->id = eng_store__col(a, r, i, 0);
	v->number = eng_store__col(a, r, i, 1);
	v->tramit_code = eng_store__col(a, r, i, 2);
	v->definition_hash = eng_store__col(a, r, i, 3);
	v->state = eng_store__col(a, r, i, 4);
	v->version = atoll(PQgetvalue(r, i, 5));
	v->applicant_nif = eng_store__col(a, r, i, 6);
	v->applicant_name = eng_store__col(a, r, i, 7);
	v->lang = eng_store__col(a, r, i, 8);
	v->created_at = eng_store__col(a, r, i, 10);
	v->updated_at = eng_store__col(a, r, i, 11);
	v->registry_number = eng_store__col(a, r, i, 12);
	v->presented_at = eng_store__col(a, r, i, 13);
	v->receipt_csv = eng_store__col(a, r, i, 14);
	/* Data is kept in the order the definition lists its fields by the caller; here in
	 * the order PostgreSQL's jsonb keeps it. */
	json_t *o = json_loads(PQgetvalue(r, i, 9), 0, NULL);
	v->n_data = 0;
	v->data = eng_arena_alloc(a, sizeof(*v->data) * (json_object_size(o) + 1));
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val) {
		v->data[v->n_data].name = eng_arena_strdup(a, k);
		v->data[v->n_data].value = eng_arena_strdup(a, json_string_value(val) ? json_string_value(val) : "");
		v->n_data++;
	}
	json_decref(o);
}

int eng_store__view_take(PGresult *r, int row, struct eng_arena *a, struct eng_expedient_view *out,
                         struct eng_error *err)
{
	if (!r || row >= PQntuples(r))
		return eng_error_set(err, ENG_ENOTFOUND, "no such expedient");
	expedient_row(out, a, r, row);
	return 0;
}

int eng_store_expedient_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                            const char *id, struct eng_expedient_view *out, struct eng_error *err)
{
	if (!eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %.40s", id);
	const char *p[] = {entity_id, id};
	PGresult *r = run_query(s, "expedient_get", 2, p, err);
	if (!r)
		return err->code;
	int rc = eng_store__view_take(r, 0, a, out, err);
	PQclear(r);
	return rc;
}

int eng_store_expedient_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *applicant_nif, int limit,
                             struct eng_expedient_view **out, size_t *n, struct eng_error *err)
{
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {entity_id, applicant_nif, lim};
	PGresult *r = run_query(s, "expedient_list", 3, p, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		expedient_row(&(*out)[i], a, r, (int)i);
	PQclear(r);
	return 0;
}

int eng_store_event_list(struct eng_store *s, struct eng_arena *a, const char *expedient_id,
                         struct eng_event_view **out, size_t *n, struct eng_error *err)
{
	const char *p[] = {expedient_id};
	PGresult *r = run_query(s, "event_list", 1, p, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++) {
		int row = (int)i;
		(*out)[i] = (struct eng_event_view){atoll(PQgetvalue(r, row, 0)), eng_store__col(a, r, row, 1),
		        eng_store__col(a, r, row, 2), eng_store__col(a, r, row, 3),
		                eng_store__col(a, r, row, 4), eng_store__col(a, r, row, 5),
		        eng_store__col(a, r, row, 6), eng_store__col(a, r, row, 7),
		        eng_store__col(a, r, row, 8), eng_store__col(a, r, row, 9),
		        eng_store__col(a, r, row, 10)};
	}
	PQclear(r);
	return 0;
}

const char *eng_pg_array(struct eng_arena *a, const char *const *items, size_t n)
{
	if (!items)
		return NULL;
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(items[i]) + 3;
	char *out = eng_arena_alloc(a, len), *p = out;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		for (const char *c = items[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

int eng_store_expedient_inbox(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                              const struct eng_inbox_filter *f, int limit,
                              struct eng_expedient_view **out, int64_t **due_ms,
                              const char ***assignee, size_t *n, size_t *total, struct eng_error *err)
{
	char lim[16], *like = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if (f->text && *f->text) {
		/* The typed text is matched literally: % and _ are not wildcards here. */
		size_t len = strlen(f->text);
		like = eng_arena_alloc(a, 2 * len + 3);
		char *p = like;
		*p++ = '%';
		for (const char *t = f->text; *t; t++) {
			if (*t == '%' || *t == '_' || *t == '\\')
				*p++ = '\\';
			*p++ = *t;
		}
		*p++ = '%';
		*p = '\0';
	}
	const char *p[] = {entity_id, f->state, f->tramit, like, f->due, lim, f->assigned,
	                   eng_pg_array(a, f->tramits, f->n_tramits), eng_pg_array(a, f->waiting, f->n_waiting)};
	PGresult *r = run_query(s, "expedient_inbox", 9, p, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*total = *n ? (size_t)atoll(PQgetvalue(r, 0, PQnfields(r) - 1)) : 0;
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	*due_ms = eng_arena_alloc(a, sizeof(**due_ms) * (*n + 1));
	*assignee = eng_arena_alloc(a, sizeof(**assignee) * (*n + 1));
	int cols = PQnfields(r);
	for (size_t i = 0; i < *n; i++) {
		expedient_row(&(*out)[i], a, r, (int)i);
		(*assignee)[i] = eng_store__col(a, r, (int)i, cols - 3);
		(*due_ms)[i] = PQgetisnull(r, (int)i, cols - 2) ? 0 : atoll(PQgetvalue(r, (int)i, cols - 2));
	}
	PQclear(r);
	return 0;
}

int eng_store_expedient_assign(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const char *id, const char *const *tramits, size_t n_tramits,
                               const char *to, const char *by, struct eng_error *err)
{
	if (!eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %s", id);
	const char *p[] = {entity_id, id, to ? to : "", by, eng_pg_array(a, tramits, n_tramits)};
	PGresult *r = eng_store__ensure(s, err) ? NULL
	              : eng_store__run(s, "expedient_assign", 5, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	bool moved = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return moved ? 0 : eng_error_set(err, ENG_ENOTFOUND, "no expedient %s", id);
}

const char *eng_store_expedient_assignee(struct eng_store *s, struct eng_arena *a,
                                         const char *entity_id, const char *id)
{
	const char *p[] = {entity_id, id};
	struct eng_error err;
	PGresult *r = eng_uuid_valid(id) ? run_query(s, "expedient_assignee", 2, p, &err) : NULL;
	if (!r)
		return NULL;
	const char *name = PQntuples(r) ? eng_store__col(a, r, 0, 0) : NULL;
	PQclear(r);
	return name;
}

int eng_store_csv_lookup(struct eng_store *s, struct eng_arena *a, const char *csv,
                         const char *client, int64_t per_minute, struct eng_document_view *out,
                         struct eng_error *err)
{
	char limit[24];
	snprintf(limit, sizeof(limit), "%lld", (long long)per_minute);
	const char *p[] = {csv, client ? client : "", limit};
	PGresult *r = run_query(s, "document_by_csv", 3, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		rc = eng_error_set(err, ENG_EDENIED, "this client made %lld CSV lookups in the last minute",
		                   (long long)per_minute);
	} else if (PQgetisnull(r, 0, 1) || strcmp(PQgetvalue(r, 0, 8), "t") == 0) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no document for that CSV");
	} else {
		size_t len = 0;
		unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 7), &len);
		*out = (struct eng_document_view){
			.id = eng_store__col(a, r, 0, 1), .kind = eng_store__col(a, r, 0, 2), .csv = eng_store__col(a, r, 0, 3),
			.sha256 = eng_store__col(a, r, 0, 4), .media_type = eng_store__col(a, r, 0, 5),
			.created_at = eng_store__col(a, r, 0, 6),
			.content = eng_arena_strndup(a, (const char *)bytes, len), .content_len = len};
		PQfreemem(bytes);
	}
	PQclear(r);
	return rc;
}

int eng_store_callback_seen(struct eng_store *s, const char *entity_id, const char *subscriber,
                            const char *delivery, struct eng_error *err)
{
	const char *p[] = {entity_id, subscriber, delivery};
	PGresult *r = eng_store__ensure(s, err) ? NULL
	              : eng_store__run(s, "callback_seen", 3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err ? err->code : ENG_EUNAVAILABLE;
	int seen = strcmp(PQcmdTuples(r), "1") != 0;
	PQclear(r);
	return seen;
}

int eng_store_payment_order(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                            const char *order, struct eng_payment_order *out, struct eng_error *err)
{
	const char *p[] = {order, entity_id};
	PGresult *r = run_query(s, "payment_order", 2, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no payment order %.20s", order);
	else
		*out = (struct eng_payment_order){eng_store__col(a, r, 0, 0), eng_store__col(a, r, 0, 1),
		                                  atoll(PQgetvalue(r, 0, 2)),
		                                  strcmp(PQgetvalue(r, 0, 3), "t") == 0};
	PQclear(r);
	return rc;
}

int eng_store_employee_add(struct eng_store *s, const char *entity_id, const char *username,
                           const char *name, const char *const *roles, size_t n_roles,
                           struct eng_error *err)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n_roles; i++)
		json_array_append_new(list, json_string(roles[i]));
	char *roles_json = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	int rc = 0;
	const char *pc[] = {entity_id, roles_json};
	PGresult *r = run_query(s, "employee_units_missing", 2, pc, err);
	if (!r) {
		rc = err->code;
		goto done;
	}
	if (!PQgetisnull(r, 0, 0))
		rc = eng_error_set(err, ENG_ENOTFOUND, "no such unit in entity %s for role %s",
		                   entity_id, PQgetvalue(r, 0, 0));
	PQclear(r);
	if (rc)
		goto done;
	const char *p[] = {entity_id, username, name, roles_json};
	rc = run_cmd(s, "employee_add", 4, p, err);
done:
	free(roles_json);
	return rc;
}

int eng_store_employee_password_set(struct eng_store *s, const char *entity_id,
                                    const char *username, const char *hash, struct eng_error *err)
{
	const char *p[] = {entity_id, username, hash};
	PGresult *r = eng_store__ensure(s, err) ? NULL
	              : eng_store__run(s, "employee_password_set", 3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	int rc = strcmp(PQcmdTuples(r), "1") == 0
	         ? 0 : eng_error_set(err, ENG_ENOTFOUND, "no employee %s in entity %s", username, entity_id);
	PQclear(r);
	return rc;
}

int eng_store_employee_password_get(struct eng_store *s, struct eng_arena *a,
                                    const char *entity_id, const char *username,
                                    const char **out, struct eng_error *err)
{
	const char *p[] = {entity_id, username};
	PGresult *r = run_query(s, "employee_password_get", 2, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no employee %s", username);
	else
		*out = eng_store__col(a, r, 0, 0);
	PQclear(r);
	return rc;
}

int eng_store_signin_blocked(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *username, const char *client,
                             const struct eng_signin_limits *lim, const char **until,
                             struct eng_error *err)
{
	char win[16], mu[16], mc[16];
	snprintf(win, sizeof(win), "%d", lim->window_seconds);
	snprintf(mu, sizeof(mu), "%d", lim->max_per_username);
	snprintf(mc, sizeof(mc), "%d", lim->max_per_client);
	const char *p[] = {entity_id, username, client, win, mu, mc};
	PGresult *r = run_query(s, "signin_blocked", 6, p, err);
	if (!r)
		return err->code;
	*until = PQntuples(r) ? eng_store__col(a, r, 0, 0) : NULL;
	PQclear(r);
	return 0;
}

int eng_store_signin_failed(struct eng_store *s, const char *entity_id, const char *username,
                            const char *client, struct eng_error *err)
{
	const char *p[] = {entity_id, username, client};
	return run_cmd(s, "signin_failed", 3, p, err);
}

int eng_store_signin_succeeded(struct eng_store *s, const char *entity_id, const char *username,
                               struct eng_error *err)
{
	const char *p[] = {entity_id, username};
	return run_cmd(s, "signin_succeeded", 2, p, err);
}

int eng_store_person_ensure(struct eng_store *s, const char *entity_id, const char *nif,
                            struct eng_error *err)
{
	const char *p[] = {entity_id, nif};
	return run_cmd(s, "person_ensure", 2, p, err);
}

/* Password hashes: "scrypt$N=32768,r=8,p=1$<base64 salt>$<base64 key>". The parameters
 * travel with the hash, so raising them later leaves existing hashes verifiable; they are
 * bounded on reading so a tampered row cannot make a sign-in allocate gigabytes. */
enum { PW_SALT = 16, PW_KEY = 32, PW_N = 32768, PW_R = 8, PW_P = 1 };
#define PW_MAXMEM ((uint64_t)128 * 1024 * 1024)

static int pw_derive(unsigned char *key, size_t key_len, const char *password,
                     const unsigned char *salt, size_t salt_len, uint64_t n, uint64_t r, uint64_t p)
{
	return EVP_PBE_scrypt(password, strlen(password), salt, salt_len, n, r, p, PW_MAXMEM, key,
	                      key_len) == 1 ? 0 : -1;
}

/* Decodes standard base64 of at most max bytes; returns the length or -1. */
static int pw_unbase64(unsigned char *out, size_t max, const char *in, size_t len)
{
	if (len == 0 || len % 4 || len / 4 * 3 > max + 2)
		return -1;
	unsigned char buf[96];
	if (len / 4 * 3 > sizeof(buf))
		return -1;
	int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	n -= (in[len - 1] == '=') + (in[len - 2] == '=');
	if (n <= 0 || (size_t)n > max)
		return -1;
	memcpy(out, buf, (size_t)n);
	return n;
}

int eng_password_hash(char out[ENG_PASSWORD_HASH_MAX], const char *password, struct eng_error *err)
{
	unsigned char salt[PW_SALT], key[PW_KEY];
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return eng_error_set(err, ENG_EINTERNAL, "no random bytes for a password salt");
	if (pw_derive(key, sizeof(key), password, salt, sizeof(salt), PW_N, PW_R, PW_P) != 0)
		return eng_error_set(err, ENG_EINTERNAL, "scrypt failed (N=%d, r=%d, p=%d)", PW_N, PW_R, PW_P);
	unsigned char salt64[4 * ((PW_SALT + 2) / 3) + 1], key64[4 * ((PW_KEY + 2) / 3) + 1];
	EVP_EncodeBlock(salt64, salt, sizeof(salt));
	EVP_EncodeBlock(key64, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	snprintf(out, ENG_PASSWORD_HASH_MAX, "scrypt$N=%d,r=%d,p=%d$%s$%s", PW_N, PW_R, PW_P,
	         (const char *)salt64, (const char *)key64);
	return 0;
}

bool eng_password_verify(const char *stored, const char *password)
{
	unsigned long long n = PW_N, r = PW_R, p = PW_P;
	unsigned char salt[64] = {0}, want[64] = {0}, got[64];
	int salt_len = PW_SALT, key_len = PW_KEY, used = 0;
	bool usable = false;
	if (stored && sscanf(stored, "scrypt$N=%llu,r=%llu,p=%llu$%n", &n, &r, &p, &used) == 3 &&
	    used > 0 && n >= 2 && n <= (1u << 20) && (n & (n - 1)) == 0 && r >= 1 && r <= 32 &&
	    p >= 1 && p <= 4) {
		const char *s64 = stored + used, *k64 = strchr(s64, '$');
		if (k64) {
			salt_len = pw_unbase64(salt, sizeof(salt), s64, (size_t)(k64 - s64));
			key_len = pw_unbase64(want, sizeof(want), k64 + 1, strlen(k64 + 1));
			usable = salt_len >= 8 && key_len >= 16;
		}
	}
	if (!usable) {
		/* No password or an unreadable hash: spend the same time as a real check, so
		 * the answer's delay does not tell which usernames exist. */
		n = PW_N, r = PW_R, p = PW_P, salt_len = PW_SALT, key_len = PW_KEY;
	}
	bool ok = pw_derive(got, (size_t)key_len, password, salt, (size_t)salt_len, n, r, p) == 0 &&
	          CRYPTO_memcmp(got, want, (size_t)key_len) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return usable && ok;
}
