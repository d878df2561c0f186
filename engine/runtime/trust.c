/* What vouches for a document (trust.h): read from the document row and the signature
 * circuits bound to it; only circuits that completed signed count. */
#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define ISO(col) ENG__ISO(col)

/* The bytes come back in binary: no escaping on the way out. */
static PGresult *query_binary(struct eng_store *s, const char *what, const char *sql, int n,
                              const char *const *p, struct eng_error *err)
{
	if (eng_store__ensure(s, err))
		return NULL;
	PGresult *r = PQexecParams(eng_store_conn(s), sql, n, NULL, p, NULL, NULL, 1);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	eng_store__fail(s, err, what, r);
	PQclear(r);
	return NULL;
}

int eng_trust_get(struct eng_store *s, struct eng_arena *a, const char *document_id,
                  struct eng_trust *out, struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *p[] = {document_id};
	PGresult *r = eng_store__query(s, "reading a document's seal",
	        "SELECT seal IS NOT NULL, seal_note, " ISO("timestamped_at") ", (SELECT decree_number "
	        "FROM signature_request WHERE document_id = d.id AND state = 'signed' AND decree_number "
	        "IS NOT NULL ORDER BY completed_at DESC LIMIT 1) FROM document d WHERE id = $1::uuid",
	        1, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return eng_error_set(err, ENG_ENOTFOUND, "no document %s", document_id);
	}
	out->sealed = PQgetvalue(r, 0, 0)[0] == 't';
	out->seal_note = eng_store__col(a, r, 0, 1);
	out->timestamped_at = eng_store__col(a, r, 0, 2);
	out->decree_number = eng_store__col(a, r, 0, 3);
	PQclear(r);
	r = eng_store__query(s, "reading a document's signatures",
	          "SELECT g.request_id::text, g.line_seq, g.pos, g.state = 'approved', "
	          "coalesce(g.signer_name, e.name, g.acted_by), g.signer_nif, g.role, " ISO("g.acted_at")
	          ", coalesce(b.name, g.on_behalf_of) FROM signature_request q "
	          "JOIN signature_signer g ON g.request_id = q.id AND g.state IN ('signed', 'approved') "
	          "LEFT JOIN employee e ON e.entity_id = q.entity_id AND e.username = g.acted_by "
	          "LEFT JOIN employee b ON b.entity_id = q.entity_id AND b.username = g.on_behalf_of "
	          "WHERE q.document_id = $1::uuid AND q.state = 'signed' "
	          "ORDER BY q.completed_at, g.line_seq, g.pos", 1, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	size_t n = (size_t)PQntuples(r);
	out->signatures = n ? eng_arena_alloc(a, n * sizeof(*out->signatures)) : NULL;
	for (size_t i = 0; i < n && out->signatures; i++) {
		struct eng_trust_signature *g = &out->signatures[i];
		g->request_id = eng_store__col(a, r, (int)i, 0);
		g->line = atoi(PQgetvalue(r, (int)i, 1));
		g->pos = atoi(PQgetvalue(r, (int)i, 2));
		g->approval = PQgetvalue(r, (int)i, 3)[0] == 't';
		g->signer_name = eng_store__col(a, r, (int)i, 4);
		g->signer_nif = eng_store__col(a, r, (int)i, 5);
		g->role = eng_store__col(a, r, (int)i, 6);
		g->acted_at = eng_store__col(a, r, (int)i, 7);
		g->on_behalf_of_name = eng_store__col(a, r, (int)i, 8);
	}
	out->n_signatures = out->signatures ? n : 0;
	PQclear(r);
	return 0;
}

int eng_trust_blob(struct eng_store *s, const char *document_id, const char *what,
                   unsigned char **out, size_t *len, struct eng_error *err)
{
	*out = NULL;
	*len = 0;
	char request[40] = "";
	int line = 0, pos = 0, used = 0;
	bool seal = strcmp(what, "seal") == 0, stamp = strcmp(what, "timestamp") == 0;
	if (!seal && !stamp && (sscanf(what, "%36[0-9a-f-]/%d/%d%n", request, &line, &pos, &used) != 3 ||
	                        what[used] != '\0'))
		return eng_error_set(err, ENG_ENOTFOUND, "no such part '%.40s'", what);
	char l[16], ps[16];
	snprintf(l, sizeof(l), "%d", line);
	snprintf(ps, sizeof(ps), "%d", pos);
	const char *p[] = {document_id, request, l, ps};
	PGresult *r = seal ? query_binary(s, "reading a seal", "SELECT seal FROM document WHERE "
	                                  "id = $1::uuid AND seal IS NOT NULL", 1, p, err)
	            : stamp ? query_binary(s, "reading a time stamp", "SELECT timestamp_token FROM "
	                                   "document WHERE id = $1::uuid AND timestamp_token IS NOT NULL",
	                                   1, p, err)
	            : query_binary(s, "reading a signature", "SELECT g.signature FROM signature_request q JOIN "
	                    "signature_signer g ON g.request_id = q.id WHERE q.document_id = $1::uuid AND "
	                    "q.id = $2::uuid AND q.state = 'signed' AND g.line_seq = $3::int AND "
	                    "g.pos = $4::int AND g.state = 'signed'", 4, p, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "document %s has no %s", document_id, what);
	} else {
		*len = (size_t)PQgetlength(r, 0, 0);
		*out = malloc(*len ? *len : 1);
		if (!*out)
			rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
		else
			memcpy(*out, PQgetvalue(r, 0, 0), *len);
	}
	PQclear(r);
	return rc;
}
