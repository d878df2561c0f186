/* The portasignatures as pages read it: one request with its circuit and where the reader may
 * act (their own roles, and the roles of whoever delegated to them on that day), the inbox,
 * the bound document and the stored signatures. Reading binds a document that was missing
 * when the request was made, once: a bound document never changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/calendar.h"
#include "portafirmas.h"
#include "portafirmas_internal.h"
#include "store_internal.h"

#define ISO(col) ENG__ISO(col)
#define SUMMARY_COLUMNS \
	"r.id, r.expedient_id, x.number, x.tramit_code, r.document, r.effect_id, r.state, " \
	"r.current_line, r.version, " ISO("r.created_at") ", " ISO("r.expires_at") ", " \
	ISO("r.completed_at") ", " ISO("r.reminded_at") ", r.rejected_by, r.rejection_reason, " \
	"r.decree_number, r.document_id, d.csv, d.sha256, d.media_type " \
	"FROM signature_request r JOIN expedient x ON x.id = r.expedient_id " \
	"LEFT JOIN document d ON d.id = r.document_id "

/* The roles a reader may use on a day: their own (for_whom NULL), then those of whoever
 * delegated to them with a delegation valid that Europe/Madrid day. */
#define CAPACITY \
	"SELECT role, NULL::text AS for_whom FROM role_grant WHERE entity_id = $1 AND username = $2 " \
	"UNION ALL SELECT g.role, d.delegator FROM signature_delegation d JOIN role_grant g " \
	"ON g.entity_id = d.entity_id AND g.username = d.delegator WHERE d.entity_id = $1 " \
	"AND d.delegate = $2 AND d.revoked_at IS NULL AND (to_timestamp($3::bigint / 1000.0) " \
	"AT TIME ZONE 'Europe/Madrid')::date BETWEEN d.valid_from AND d.valid_until"

static const char *const statements[][2] = {
	{"psig_get", "SELECT " SUMMARY_COLUMNS "WHERE r.entity_id = $1 AND r.id = $2::uuid"},
	{"psig_lines", "SELECT seq, need, state FROM signature_line WHERE request_id = $1::uuid ORDER BY seq"},
	{"psig_signers",
	 "SELECT s.line_seq, s.pos, s.role, s.approve, s.state, s.acted_by, ea.name, s.on_behalf_of, "
	 "eb.name, s.signer_nif, s.signer_name, " ISO("s.acted_at") ", s.reason, s.signature_sha256 "
	 "FROM signature_signer s JOIN signature_request r ON r.id = s.request_id "
	 "LEFT JOIN employee ea ON ea.entity_id = r.entity_id AND ea.username = s.acted_by "
	 "LEFT JOIN employee eb ON eb.entity_id = r.entity_id AND eb.username = s.on_behalf_of "
	 "WHERE s.request_id = $1::uuid ORDER BY s.line_seq, s.pos"},
	{"psig_capacity", CAPACITY " ORDER BY 2 NULLS FIRST, 1"},
	{"psig_bind",
	 "UPDATE signature_request r SET document_id = (SELECT id FROM document d WHERE "
	 "d.expedient_id = r.expedient_id AND d.kind = r.document AND d.withdrawn_at IS NULL "
	 "ORDER BY d.created_at DESC LIMIT 1) WHERE r.entity_id = $1 AND r.id = $2::uuid "
	 "AND r.document_id IS NULL"},
	{"psig_inbox_pending",
	 "WITH cap AS (" CAPACITY ") SELECT " SUMMARY_COLUMNS
	 "WHERE r.entity_id = $1 AND r.state = 'pending' AND EXISTS (SELECT 1 FROM signature_signer s "
	 "WHERE s.request_id = r.id AND s.line_seq = r.current_line AND s.state = 'pending' "
	 "AND s.role IN (SELECT role FROM cap)) AND NOT EXISTS (SELECT 1 FROM signature_signer s "
	 "WHERE s.request_id = r.id AND s.line_seq = r.current_line AND s.acted_by = $2) "
	 "ORDER BY r.created_at DESC, r.id LIMIT 200"},
	{"psig_inbox_done",
	 "SELECT " SUMMARY_COLUMNS "WHERE r.entity_id = $1 AND EXISTS (SELECT 1 FROM signature_signer s "
	 "WHERE s.request_id = r.id AND s.acted_by = $2) ORDER BY r.created_at DESC, r.id LIMIT 200"},
	{"psig_document",
	 "SELECT d.content, d.media_type FROM signature_request r JOIN document d ON d.id = r.document_id "
	 "WHERE r.entity_id = $1 AND r.id = $2::uuid"},
	{"psig_blob",
	 "SELECT s.signature FROM signature_signer s JOIN signature_request r ON r.id = s.request_id "
	 "WHERE r.entity_id = $1 AND s.request_id = $2::uuid AND s.line_seq = $3::int "
	 "AND s.pos = $4::int AND s.signature IS NOT NULL"},
	{"psig_delegate",
	 "INSERT INTO signature_delegation (entity_id, delegator, delegate, valid_from, valid_until) "
	 "SELECT $1, $2, $3, $4::date, $5::date WHERE EXISTS (SELECT 1 FROM employee WHERE entity_id = $1 "
	 "AND username = $2) AND EXISTS (SELECT 1 FROM employee WHERE entity_id = $1 AND username = $3)"},
};

int eng_store__portafirmas_read_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

static const char *col(PGresult *r, int row, int c, struct eng_arena *a)
{
	return PQgetisnull(r, row, c) ? NULL : eng_arena_strdup(a, PQgetvalue(r, row, c));
}

static void summary_take(PGresult *r, int row, struct eng_arena *a, struct eng_sig_request *v)
{
	*v = (struct eng_sig_request){
		.id = col(r, row, 0, a), .expedient_id = col(r, row, 1, a),
		.expedient_number = col(r, row, 2, a), .tramit_code = col(r, row, 3, a),
		.document = col(r, row, 4, a), .effect_id = col(r, row, 5, a), .state = col(r, row, 6, a),
		.current_line = atoi(PQgetvalue(r, row, 7)), .version = atoi(PQgetvalue(r, row, 8)),
		.created_at = col(r, row, 9, a), .expires_at = col(r, row, 10, a),
		.completed_at = col(r, row, 11, a), .reminded_at = col(r, row, 12, a),
		.rejected_by = col(r, row, 13, a), .rejection_reason = col(r, row, 14, a),
		.decree_number = col(r, row, 15, a), .document_id = col(r, row, 16, a),
		.document_csv = col(r, row, 17, a), .document_sha256 = col(r, row, 18, a),
		.document_media_type = col(r, row, 19, a),
	};
}

static int list(struct eng_store *s, struct eng_arena *a, const char *name, int n,
                const char *const *p, struct eng_sig_request **out, size_t *count,
                struct eng_error *err)
{
	PGresult *r = eng_store__run(s, name, n, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*count = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*count + 1));
	for (size_t i = 0; i < *count; i++)
		summary_take(r, (int)i, a, &(*out)[i]);
	PQclear(r);
	return 0;
}

/* Where the reader may act: each pending place of the current line whose role they hold,
 * their own first, unless they already acted on that line. */
static int mark_mine(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *reader, int64_t time_ms, struct eng_sig_request *v,
                     struct eng_error *err)
{
	if (!reader || strcmp(v->state, "pending") != 0)
		return 0;
	for (size_t i = 0; i < v->n_signers; i++)
		if (v->signers[i].line == v->current_line && v->signers[i].acted_by &&
		    strcmp(v->signers[i].acted_by, reader) == 0)
			return 0;
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)time_ms);
	const char *p[] = {entity_id, reader, at};
	PGresult *r = eng_store__run(s, "psig_capacity", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	for (size_t i = 0; i < v->n_signers; i++) {
		struct eng_sig_signer *sg = &v->signers[i];
		if (sg->line != v->current_line || strcmp(sg->state, "pending") != 0)
			continue;
		for (int k = 0; k < PQntuples(r) && !sg->mine; k++) {
			if (strcmp(PQgetvalue(r, k, 0), sg->role) != 0)
				continue;
			sg->mine = true;
			sg->mine_for = col(r, k, 1, a);
			v->mine = true;
		}
	}
	PQclear(r);
	return 0;
}

int eng_signature_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *id, const char *reader, int64_t time_ms,
                      struct eng_sig_request *out, struct eng_error *err)
{
	if (!id || !eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no signature request %.40s", id ? id : "");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, id};
	PGresult *r = eng_store__run(s, "psig_get", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	bool unbound = PQntuples(r) == 1 && PQgetisnull(r, 0, 16);
	PQclear(r);
	if (unbound) {
		/* The document may have been issued since the request was made. */
		r = eng_store__run(s, "psig_bind", 2, p, PGRES_COMMAND_OK, err);
		if (!r)
			return err->code;
		PQclear(r);
	}
	r = eng_store__run(s, "psig_get", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return eng_error_set(err, ENG_ENOTFOUND, "no signature request %s", id);
	}
	summary_take(r, 0, a, out);
	PQclear(r);
	const char *pl[] = {id};
	r = eng_store__run(s, "psig_lines", 1, pl, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	out->n_lines = (size_t)PQntuples(r);
	out->lines = eng_arena_alloc(a, sizeof(*out->lines) * (out->n_lines + 1));
	for (size_t i = 0; i < out->n_lines; i++)
		out->lines[i] = (struct eng_sig_line){atoi(PQgetvalue(r, (int)i, 0)),
			strcmp(PQgetvalue(r, (int)i, 1), "any") == 0, col(r, (int)i, 2, a)};
	PQclear(r);
	r = eng_store__run(s, "psig_signers", 1, pl, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	out->n_signers = (size_t)PQntuples(r);
	out->signers = eng_arena_alloc(a, sizeof(*out->signers) * (out->n_signers + 1));
	for (size_t i = 0; i < out->n_signers; i++) {
		int k = (int)i;
		out->signers[i] = (struct eng_sig_signer){
			.line = atoi(PQgetvalue(r, k, 0)), .pos = atoi(PQgetvalue(r, k, 1)),
			.role = col(r, k, 2, a), .approve = strcmp(PQgetvalue(r, k, 3), "t") == 0,
			.state = col(r, k, 4, a), .acted_by = col(r, k, 5, a), .acted_by_name = col(r, k, 6, a),
			.on_behalf_of = col(r, k, 7, a), .on_behalf_of_name = col(r, k, 8, a),
			.signer_nif = col(r, k, 9, a), .signer_name = col(r, k, 10, a),
			.acted_at = col(r, k, 11, a), .reason = col(r, k, 12, a),
			.signature_sha256 = col(r, k, 13, a),
		};
	}
	PQclear(r);
	return mark_mine(s, a, entity_id, reader, time_ms, out, err);
}

int eng_signature_inbox(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        const char *reader, int64_t time_ms, struct eng_sig_request **pending,
                        size_t *n_pending, struct eng_sig_request **done, size_t *n_done,
                        struct eng_error *err)
{
	*n_pending = *n_done = 0;
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)time_ms);
	const char *p[] = {entity_id, reader, at};
	rc = list(s, a, "psig_inbox_pending", 3, p, pending, n_pending, err);
	return rc ? rc : list(s, a, "psig_inbox_done", 2, p, done, n_done, err);
}

/* Reads one bytea column of a one-row result as malloc'd bytes. */
static int bytes_take(PGresult *r, int c, unsigned char **out, size_t *len, struct eng_error *err)
{
	size_t n = 0;
	unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, c), &n);
	if (!raw)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory reading a document");
	*out = malloc(n ? n : 1);
	if (!*out) {
		PQfreemem(raw);
		return eng_error_set(err, ENG_EINTERNAL, "out of memory reading a document");
	}
	memcpy(*out, raw, n);
	*len = n;
	PQfreemem(raw);
	return 0;
}

int eng_signature_document(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           const char *id, unsigned char **bytes, size_t *len,
                           const char **media_type, struct eng_error *err)
{
	*bytes = NULL;
	*len = 0;
	if (!id || !eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no signature request %.40s", id ? id : "");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, id};
	PGresult *r = eng_store__run(s, "psig_document", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1)
		rc = eng_error_set(err, ENG_ENOTFOUND, "the document of request %s is not issued yet", id);
	else
		rc = bytes_take(r, 0, bytes, len, err);
	if (!rc)
		*media_type = eng_arena_strdup(a, PQgetvalue(r, 0, 1));
	PQclear(r);
	return rc;
}

int eng_signature_blob(struct eng_store *s, const char *entity_id, const char *id, int line,
                       int pos, unsigned char **der, size_t *len, struct eng_error *err)
{
	*der = NULL;
	*len = 0;
	if (!id || !eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no signature request %.40s", id ? id : "");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	char l[16], ps[16];
	snprintf(l, sizeof(l), "%d", line);
	snprintf(ps, sizeof(ps), "%d", pos);
	const char *p[] = {entity_id, id, l, ps};
	PGresult *r = eng_store__run(s, "psig_blob", 4, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no signature %d.%d in request %s", line, pos, id);
	else
		rc = bytes_take(r, 0, der, len, err);
	PQclear(r);
	return rc;
}

static bool day_valid(const char *s)
{
	int32_t day;
	return s && eng_day_parse(&day, s, NULL) == 0;
}

int eng_signature_delegate(struct eng_store *s, const char *entity_id, const char *delegator,
                           const char *delegate, const char *from, const char *until,
                           struct eng_error *err)
{
	if (!day_valid(from) || !day_valid(until))
		return eng_error_set(err, ENG_EINVALID, "delegation dates: expected YYYY-MM-DD, found "
		                     "'%.12s' and '%.12s'", from ? from : "", until ? until : "");
	if (strcmp(until, from) < 0)
		return eng_error_set(err, ENG_EINVALID, "delegation: it ends (%s) before it starts (%s)",
		                     until, from);
	if (!delegator || !delegate || strcmp(delegator, delegate) == 0)
		return eng_error_set(err, ENG_EINVALID, "delegation: an employee cannot delegate to themself");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, delegator, delegate, from, until};
	PGresult *r = eng_store__run(s, "psig_delegate", 5, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "delegation: no employee %.64s or %.64s in %s",
		                   delegator, delegate, entity_id);
	PQclear(r);
	return rc;
}
