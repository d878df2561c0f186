/* Incoming exchanges and the answers to every exchange: import records a checked file once per
 * Identificador_Intercambio; a decision moves an exchange from its first state to a final one,
 * once, and accepting an incoming one writes the next entry of book E with the annexes as
 * documents, all in one transaction. Every change is an interchange_event row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "connectors/sicres/sicres_internal.h"

static const char insert_sql[] =
	"INSERT INTO interchange (entity_id, identifier, direction, state, origin_code, origin_name, "
	"destination_code, destination_name, origin_number, party_nif, party_name, summary, "
	"n_annexes, xml, xml_sha256, created_by) VALUES ($1, $2, 'in', 'received', $3, $4, $5, $6, "
	"$7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (entity_id, direction, identifier) "
	"DO NOTHING RETURNING id";

/* Every column but the file is text, so the binary-format read (for the file's bytes) and the
 * text one parse alike. */
#define EXISTING_SQL \
	"SELECT i.id::text, i.state, coalesce(i.reason, ''), i.xml_sha256, coalesce(r.number, ''), " \
	"i.n_annexes::text, i.xml FROM interchange i LEFT JOIN registry_entry r ON " \
	"r.id = i.registry_entry_id WHERE i.entity_id = $1 AND i.direction = $2 AND i.identifier = $3"
static const char existing_sql[] = EXISTING_SQL;
/* Two people deciding at once are serialised; the second sees the first one's state. */
static const char existing_locked_sql[] = EXISTING_SQL " FOR UPDATE OF i";

/* The party as our registry entry names it: the company, or name and surnames joined. */
static const char *party_name(struct eng_arena *a, const struct conn_sicres_party *p)
{
	if (p->company)
		return p->company;
	return eng_arena_printf(a, "%s%s%s%s%s", p->name, p->surname1 ? " " : "",
	                        p->surname1 ? p->surname1 : "", p->surname2 ? " " : "",
	                        p->surname2 ? p->surname2 : "");
}

static void result_from(struct conn_sicres_result *out, const PGresult *r, const char *identifier)
{
	snprintf(out->identifier, sizeof(out->identifier), "%s", identifier);
	snprintf(out->state, sizeof(out->state), "%s", PQgetvalue(r, 0, 1));
	snprintf(out->reason, sizeof(out->reason), "%s", PQgetvalue(r, 0, 2));
	snprintf(out->registry_number, sizeof(out->registry_number), "%s", PQgetvalue(r, 0, 4));
	out->n_annexes = (size_t)atol(PQgetvalue(r, 0, 5));
}

/* The same identifier again: the same answer for the same bytes, a conflict otherwise. */
static int replay(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                  const char *identifier, const char *sha, struct conn_sicres_error *err)
{
	const char *p[] = {entity_id, "in", identifier};
	PGresult *r = sicres__query(conn, "reading the earlier exchange", existing_sql, 3, p, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = sicres__fail(err, CONN_SICRES_EFAIL, "exchange %s vanished while importing", identifier);
	else if (strcmp(PQgetvalue(r, 0, 3), sha) != 0)
		rc = sicres__fail(err, CONN_SICRES_ECONFLICT, "exchange %s was already received with "
		                  "different content (SHA-256 %.12s..., this file %.12s...); nothing "
		                  "stored", identifier, PQgetvalue(r, 0, 3), sha);
	else
		result_from(out, r, identifier), out->replayed = true;
	PQclear(r);
	return rc;
}

static int check_addressee(struct eng_arena *a, PGconn *conn, const char *entity_id,
                           const struct conn_sicres_record *rec, struct conn_sicres_error *err)
{
	const char *office, *name;
	int rc = sicres__office(&office, &name, a, conn, entity_id, err);
	if (rc == 0 && strcmp(office, rec->destination_code) != 0)
		rc = sicres__fail(err, CONN_SICRES_EINVALID, "De_Destino/Codigo_Entidad_Registral_Destino:"
		                  " the file is addressed to %s, but this entity's registry office is %s",
		                  rec->destination_code, office);
	return rc;
}

static int insert(struct conn_sicres_result *out, PGconn *conn, struct eng_arena *a,
                  const char *entity_id, const struct conn_sicres_record *rec,
                  const unsigned char *xml, size_t len, const char *actor,
                  struct conn_sicres_error *err)
{
	char sha[65], n_annexes[16];
	sicres__sha256_hex(sha, xml, len);
	snprintf(n_annexes, sizeof(n_annexes), "%zu", rec->n_annexes);
	const struct conn_sicres_party *p = &rec->parties[0];
	const char *params[] = {entity_id, rec->exchange_id, rec->origin_code,
	                        rec->origin_name ? rec->origin_name : "", rec->destination_code,
	                        rec->destination_name ? rec->destination_name : "", rec->entry_number,
	                        p->doc_id ? p->doc_id : "", party_name(a, p), rec->summary, n_annexes,
	                        (const char *)xml, sha, actor};
	int lengths[14] = {0}, formats[14] = {0};
	lengths[11] = (int)len;
	formats[11] = 1;
	PGresult *r = sicres__query_bin(conn, "recording the exchange", insert_sql, 14, params,
	                                lengths, formats, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return replay(out, conn, entity_id, rec->exchange_id, sha, err);
	}
	char id[24];
	snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(out->identifier, sizeof(out->identifier), "%s", rec->exchange_id);
	snprintf(out->state, sizeof(out->state), "received");
	out->n_annexes = rec->n_annexes;
	return sicres__event(conn, id, NULL, "received", NULL, actor, err);
}

int conn_sicres_import(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                       const unsigned char *xml, size_t len, const char *actor,
                       struct conn_sicres_error *err)
{
	memset(out, 0, sizeof(*out));
	struct eng_arena a = {0};
	struct conn_sicres_record rec;
	int rc = conn_sicres_read(&rec, &a, xml, len, err);
	if (rc == 0)
		rc = check_addressee(&a, conn, entity_id, &rec, err);
	if (rc == 0 && (rc = sicres__begin(conn, err)) == 0) {
		rc = insert(out, conn, &a, entity_id, &rec, xml, len, actor, err);
		if (rc == 0)
			rc = sicres__commit(conn, err);
		if (rc)
			sicres__rollback(conn);
	}
	eng_arena_free(&a);
	return rc;
}

/* --- decisions --- */

static const char *const decision_state[] = {"accepted", "rejected", "returned"};

static const char document_sql[] =
	"WITH d AS (INSERT INTO document (entity_id, kind, csv, sha256, media_type, content, "
	"created_at) VALUES ($1, 'sicres_annex', $2, $3, $4, $5, clock_timestamp()) RETURNING id) "
	"INSERT INTO registry_entry_document (entry_id, position, document_id, file_name) "
	"SELECT $6::bigint, $7::int, d.id, $8 FROM d";

/* The media type an annex is stored (and later served) under: the sender's when it is one we
 * expect from a registry, otherwise application/octet-stream, so an annex declared as HTML is
 * never handed to a browser as a page. */
static const char *media_type(const char *declared)
{
	static const char *const known[] = {"application/pdf", "application/json", "application/xml",
	                                    "text/xml", "text/plain", "image/jpeg", "image/png",
	                                    "image/tiff", "application/zip"};
	for (size_t i = 0; declared && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(declared, known[i]) == 0)
			return known[i];
	return "application/octet-stream";
}

static int store_annex(PGconn *conn, const char *entity_id, const char *entry_id, int position,
                       const struct conn_sicres_annex *x, struct conn_sicres_error *err)
{
	char csv[CONN_CSV_DISPLAY_LEN + 1], sha[65], pos[16];
	if (conn_csv_new(csv) != 0)
		return sicres__fail(err, CONN_SICRES_EFAIL, "the random generator failed making a CSV");
	sicres__sha256_hex(sha, x->content, x->len);
	snprintf(pos, sizeof(pos), "%d", position);
	const char *p[] = {entity_id, csv, sha, media_type(x->mime),
	                   (const char *)x->content, entry_id, pos, x->file_name};
	int lengths[8] = {0}, formats[8] = {0};
	lengths[4] = (int)x->len;
	formats[4] = 1;
	PGresult *r = sicres__query_bin(conn, "storing an annex", document_sql, 8, p, lengths,
	                                formats, 0, err);
	PQclear(r);
	return r ? 0 : CONN_SICRES_EFAIL;
}

/* Accepting an incoming exchange: the next entry of book E for its party and summary,
 * addressed to the destination unit (or office) the file names, with its annexes. */
static int accept_incoming(char number[40], char entry_id[24], PGconn *conn,
                           const char *entity_id, const PGresult *row,
                           struct conn_sicres_error *err)
{
	struct eng_arena a = {0};
	struct conn_sicres_record rec;
	int rc = conn_sicres_read(&rec, &a, (const unsigned char *)PQgetvalue(row, 0, 6),
	                          (size_t)PQgetlength(row, 0, 6), err);
	if (rc == 0) {
		const struct conn_sicres_party *p = &rec.parties[0];
		const char *addressee = rec.destination_unit_name ? rec.destination_unit_name
		                        : rec.destination_unit ? rec.destination_unit
		                        : rec.destination_name ? rec.destination_name : rec.destination_code;
		rc = sicres__registry_take(number, entry_id, conn, entity_id, "E", p->doc_id ? p->doc_id : "",
		                           party_name(&a, p), addressee, rec.summary, err);
	}
	for (size_t i = 0; rc == 0 && i < rec.n_annexes; i++)
		rc = store_annex(conn, entity_id, entry_id, (int)i + 1, &rec.annexes[i], err);
	eng_arena_free(&a);
	return rc;
}

static int transition(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                      const PGresult *row, bool outgoing, enum conn_sicres_decision d,
                      const char *reason, const char *actor, struct conn_sicres_error *err)
{
	char number[40] = "", entry_id[24] = "";
	const char *id = PQgetvalue(row, 0, 0), *from = PQgetvalue(row, 0, 1);
	int rc = 0;
	if (!outgoing && d == CONN_SICRES_ACCEPT)
		rc = accept_incoming(number, entry_id, conn, entity_id, row, err);
	const char *p[] = {id, decision_state[d], reason, *entry_id ? entry_id : NULL};
	if (rc == 0)
		rc = sicres__command(conn, "changing the exchange's state", "UPDATE interchange SET "
		                     "state = $2, reason = $3, registry_entry_id = coalesce($4::bigint, "
		                     "registry_entry_id), updated_at = clock_timestamp() WHERE id = $1",
		                     4, p, err);
	if (rc == 0)
		rc = sicres__event(conn, id, from, decision_state[d], reason, actor, err);
	if (rc == 0) {
		snprintf(out->state, sizeof(out->state), "%s", decision_state[d]);
		snprintf(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
		snprintf(out->registry_number, sizeof(out->registry_number), "%s",
		         *number ? number : PQgetvalue(row, 0, 4));
		out->n_annexes = (size_t)atol(PQgetvalue(row, 0, 5));
	}
	return rc;
}

/* A decision on an exchange already out of its first state: the same one answers the same. */
static int decided(struct conn_sicres_result *out, const PGresult *row, const char *identifier,
                   enum conn_sicres_decision d, struct conn_sicres_error *err)
{
	const char *state = PQgetvalue(row, 0, 1);
	if (strcmp(state, decision_state[d]) != 0)
		return sicres__fail(err, CONN_SICRES_ECONFLICT, "exchange %s is already %s%s%s; states "
		                    "only move forward", identifier, state, *PQgetvalue(row, 0, 4)
		                    ? " as entry " : "", PQgetvalue(row, 0, 4));
	result_from(out, row, identifier);
	out->replayed = true;
	return 0;
}

static int reason_check(enum conn_sicres_decision d, const char **reason,
                        struct conn_sicres_error *err)
{
	const char *r = *reason;
	while (r && (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r'))
		r++;
	if (d == CONN_SICRES_ACCEPT) {
		*reason = r && *r ? *reason : NULL;
		return 0;
	}
	if (!r || !*r)
		return sicres__fail(err, CONN_SICRES_EINVALID, "a reason is required to %s an exchange",
		                    d == CONN_SICRES_REJECT ? "reject" : "return");
	long chars = sicres__utf8_chars(*reason);
	if (chars < 0 || chars > 500)
		return sicres__fail(err, CONN_SICRES_EINVALID, "the reason must be valid UTF-8 of at most "
		                    "500 characters (found %ld)", chars);
	return 0;
}

int conn_sicres_decide(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                       const char *identifier, bool outgoing, enum conn_sicres_decision d,
                       const char *reason, const char *actor, struct conn_sicres_error *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->identifier, sizeof(out->identifier), "%s", identifier);
	int rc = reason_check(d, &reason, err);
	if (rc || (rc = sicres__begin(conn, err)) != 0)
		return rc;
	const char *p[] = {entity_id, outgoing ? "out" : "in", identifier};
	PGresult *row = sicres__query(conn, "reading the exchange", existing_locked_sql, 3, p, 1, err);
	if (!row)
		rc = CONN_SICRES_EFAIL;
	else if (PQntuples(row) == 0)
		rc = sicres__fail(err, CONN_SICRES_ENOTFOUND, "no %s exchange %s in entity %s",
		                  outgoing ? "outgoing" : "incoming", identifier, entity_id);
	else if (strcmp(PQgetvalue(row, 0, 1), outgoing ? "sent" : "received") != 0)
		rc = decided(out, row, identifier, d, err);
	else if ((rc = transition(out, conn, entity_id, row, outgoing, d, reason, actor, err)) == 0)
		rc = sicres__commit(conn, err);
	if (rc || out->replayed)
		sicres__rollback(conn);
	PQclear(row);
	return rc;
}
