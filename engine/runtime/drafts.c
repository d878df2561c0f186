/* Drafts of e-office forms (drafts.h). The answers are stored as a JSON array of [name, value]
 * pairs, so a multichoice's repeated name and the order of group instances survive as posted.
 * Invariant: every statement names the principal, so nobody reads or deletes another's draft;
 * an expired draft is never returned, whether or not it was swept yet. */
#include "drafts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define ISO(col) ENG__ISO(col)

static PGresult *run(struct eng_store *s, const char *what, const char *sql, int n,
                     const char *const *params, ExecStatusType want, struct eng_error *err)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != want) {
		eng_store__fail(s, err, what, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

int eng_draft_put(struct eng_store *s, const char *entity_id, const char *principal,
                  const char *code, const char *key, const struct eng_value *answers, size_t n,
                  int days, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *pair = json_pack("[s, s]", answers[i].name, answers[i].value ? answers[i].value : "");
		if (!pair) {
			json_decref(list);
			return eng_error_set(err, ENG_EINVALID, "draft answer %zu (%.60s): not valid UTF-8", i,
			                     answers[i].name);
		}
		json_array_append_new(list, pair);
	}
	char *text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	if (!text)
		return eng_error_set(err, ENG_EINTERNAL, "draft: out of memory");
	char d[16];
	snprintf(d, sizeof(d), "%d", days);
	const char *p[] = {entity_id, principal, code, text, key, d};
	/* One statement: the sweep and the upsert commit together. */
	PGresult *r = run(s, "draft_put",
	                  "WITH swept AS (DELETE FROM form_draft WHERE entity_id = $1 AND principal = $2 "
	                  "AND expires_at <= now()) "
	                  "INSERT INTO form_draft (entity_id, principal, tramit_code, answers, submission_key, "
	                  "updated_at, expires_at) VALUES ($1, $2, $3, $4::jsonb, $5, now(), "
	                  "now() + make_interval(days => $6::int)) "
	                  "ON CONFLICT (entity_id, principal, tramit_code) DO UPDATE SET answers = EXCLUDED.answers, "
	                  "submission_key = EXCLUDED.submission_key, updated_at = now(), "
	                  "expires_at = EXCLUDED.expires_at",
	                  6, p, PGRES_COMMAND_OK, err);
	free(text);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

static int take_answers(struct eng_arena *a, const char *text, struct eng_draft *out,
                        struct eng_error *err)
{
	json_error_t jerr;
	json_t *list = json_loads(text, 0, &jerr);
	if (!json_is_array(list)) {
		json_decref(list);
		return eng_error_set(err, ENG_EINTERNAL, "draft answers: not a JSON array");
	}
	out->answers = eng_arena_alloc(a, sizeof(*out->answers) * (json_array_size(list) + 1));
	out->n_answers = 0;
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *pair = json_array_get(list, i);
		const char *name = json_string_value(json_array_get(pair, 0));
		const char *value = json_string_value(json_array_get(pair, 1));
		if (!name || !value)
			continue;
		out->answers[out->n_answers++] = (struct eng_value){eng_arena_strdup(a, name),
		                                                    eng_arena_strdup(a, value)};
	}
	json_decref(list);
	return 0;
}

int eng_draft_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                  const char *principal, const char *code, struct eng_draft *out,
                  struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, principal, code};
	PGresult *r = run(s, "draft_get", "SELECT tramit_code, submission_key, " ISO("updated_at") ", "
	                  ISO("expires_at") ", answers::text FROM form_draft WHERE entity_id = $1 AND "
	                  "principal = $2 AND tramit_code = $3 AND expires_at > now()",
	                  3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return eng_error_set(err, ENG_ENOTFOUND, "no draft of %.40s", code);
	}
	out->tramit_code = eng_arena_strdup(a, PQgetvalue(r, 0, 0));
	out->key = eng_arena_strdup(a, PQgetvalue(r, 0, 1));
	out->updated_at = eng_arena_strdup(a, PQgetvalue(r, 0, 2));
	out->expires_at = eng_arena_strdup(a, PQgetvalue(r, 0, 3));
	rc = take_answers(a, PQgetvalue(r, 0, 4), out, err);
	PQclear(r);
	return rc;
}

int eng_draft_delete(struct eng_store *s, const char *entity_id, const char *principal,
                     const char *code, int *deleted, struct eng_error *err)
{
	*deleted = 0;
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, principal, code};
	PGresult *r = run(s, "draft_delete", "DELETE FROM form_draft WHERE entity_id = $1 AND "
	                  "principal = $2 AND tramit_code = $3 AND expires_at > now()",
	                  3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	*deleted = atoi(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

int eng_draft_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                   const char *principal, int limit, struct eng_draft **out, size_t *n,
                   struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {entity_id, principal, lim};
	PGresult *r = run(s, "draft_list", "SELECT tramit_code, submission_key, " ISO("updated_at") ", "
	                  ISO("expires_at") " FROM form_draft WHERE entity_id = $1 AND principal = $2 "
	                  "AND expires_at > now() ORDER BY updated_at DESC, tramit_code LIMIT $3::int",
	                  3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (struct eng_draft){
			.tramit_code = eng_arena_strdup(a, PQgetvalue(r, (int)i, 0)),
			.key = eng_arena_strdup(a, PQgetvalue(r, (int)i, 1)),
			.updated_at = eng_arena_strdup(a, PQgetvalue(r, (int)i, 2)),
			.expires_at = eng_arena_strdup(a, PQgetvalue(r, (int)i, 3)),
		};
	PQclear(r);
	return 0;
}

int eng_staged_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *principal, const char *key, struct eng_staged_file **out,
                    size_t *n, struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, principal, key};
	PGresult *r = run(s, "staged_list", "SELECT field, name, sha256, size FROM attachment WHERE "
	                  "entity_id = $1 AND uploaded_by = $2 AND submission_key = $3 AND "
	                  "expedient_id IS NULL ORDER BY ord, id", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (struct eng_staged_file){
			.field = eng_arena_strdup(a, PQgetvalue(r, (int)i, 0)),
			.name = eng_arena_strdup(a, PQgetvalue(r, (int)i, 1)),
			.sha256 = eng_arena_strdup(a, PQgetvalue(r, (int)i, 2)),
			.size = atoll(PQgetvalue(r, (int)i, 3)),
		};
	PQclear(r);
	return 0;
}
