/* Messages on an expedient (messages.h). The post is one statement: the message row and, for
 * an employee's message to the applicant, the notice in the outbox with the applicant's
 * address and language as their record says at that moment (as store_effects.c does for the
 * engine's notices). */
#include "messages.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const statements[][2] = {
	{"message_post",
	 "WITH m AS (INSERT INTO expedient_message (entity_id, expedient_id, author_kind, author_id, "
	 "author_name, internal, body, sha256, idempotency_key) "
	 "SELECT x.entity_id, x.id, $3, $4, $5, $6::boolean, $7, "
	 "encode(sha256(convert_to($7, 'UTF8')), 'hex'), $8 FROM expedient x "
	 "WHERE x.id = $2::uuid AND x.entity_id = $1 "
	 "ON CONFLICT (expedient_id, author_id, idempotency_key) DO NOTHING RETURNING id), "
	 "n AS (INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, "
	 "idempotency_key, effect_id) "
	 "SELECT x.entity_id, x.id, x.version, 'notify', 'message', json_strip_nulls(json_build_object("
	 "'audience', 'applicant', 'channel', 'informative', 'number', x.number, "
	 "'medium', CASE WHEN coalesce(p.phone, '') <> '' AND p.notice_channel = 'sms' "
	 "THEN 'sms' ELSE 'email' END, 'email', nullif(p.email, ''), 'phone', nullif(p.phone, ''), "
	 "'language', coalesce(p.lang, x.lang))), 'message:' || m.id, 'message:' || m.id "
	 "FROM m JOIN expedient x ON x.id = $2::uuid "
	 "LEFT JOIN person p ON p.entity_id = x.entity_id AND p.nif = x.applicant_nif "
	 "WHERE $3 = 'employee' AND NOT $6::boolean RETURNING 1) "
	 "SELECT m.id::text, (SELECT count(*) FROM n) FROM m "
	 "UNION ALL SELECT id::text, -1 FROM expedient_message WHERE expedient_id = $2::uuid "
	 "AND entity_id = $1 AND author_id = $4 AND idempotency_key = $8 AND NOT EXISTS (SELECT 1 FROM m)"},
	{"message_list",
	 "SELECT id::text, author_kind, author_id, author_name, body, internal, "
	 ENG__ISO("created_at") " FROM expedient_message WHERE entity_id = $1 "
	 "AND expedient_id = $2::uuid AND (NOT internal OR $3::boolean) ORDER BY created_at, id"},
};

int eng_store__messages_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

int eng_messages_post(struct eng_store *s, const struct eng_message_post *m, char id[37],
                      bool *created, struct eng_error *err)
{
	*created = false;
	id[0] = '\0';
	if (!is_uuid(m->expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient '%.40s'", m->expedient_id);
	size_t klen = strlen(m->key);
	if (klen < 16 || klen > 64)
		return eng_error_set(err, ENG_EINVALID, "a message key has 16 to 64 characters");
	const char *p[] = {m->entity_id, m->expedient_id, m->author_kind, m->author_id,
	                   m->author_name, m->internal ? "true" : "false", m->body, m->key};
	PGresult *r = eng_store__run(s, "message_post", 8, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no expedient '%s' in entity '%s'", m->expedient_id,
		                   m->entity_id);
	} else {
		snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
		*created = atoi(PQgetvalue(r, 0, 1)) >= 0;
		if (atoi(PQgetvalue(r, 0, 1)) > 0)
			rc = eng_store__wake(s, true, false, err);
	}
	PQclear(r);
	return rc;
}

int eng_messages_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *expedient_id, bool staff, struct eng_message_view **out,
                      size_t *n, struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	if (!is_uuid(expedient_id))
		return 0;
	const char *p[] = {entity_id, expedient_id, staff ? "true" : "false"};
	PGresult *r = eng_store__run(s, "message_list", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	size_t rows = (size_t)PQntuples(r);
	struct eng_message_view *v = rows ? eng_arena_alloc(a, rows * sizeof(*v)) : NULL;
	for (size_t i = 0; v && i < rows; i++) {
		const char **cols[] = {&v[i].id, &v[i].author_kind, &v[i].author_id, &v[i].author_name,
		                       &v[i].body};
		for (int c = 0; c < 5; c++)
			*cols[c] = eng_arena_strdup(a, PQgetvalue(r, (int)i, c));
		v[i].internal = PQgetvalue(r, (int)i, 5)[0] == 't';
		v[i].at = eng_arena_strdup(a, PQgetvalue(r, (int)i, 6));
	}
	PQclear(r);
	*out = v;
	*n = v ? rows : 0;
	return 0;
}
