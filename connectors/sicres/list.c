/* Read models of the registry book and the exchanges, for `tramit registry list` and the back
 * office: one statement each, copied into the caller's arena so no PGresult outlives a call.
 * Times are Europe/Madrid wall-clock ISO 8601 without offset (what pages print). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sicres/sicres_internal.h"

#define LOCAL_ISO(col) "to_char(" col " AT TIME ZONE 'Europe/Madrid', 'YYYY-MM-DD\"T\"HH24:MI:SS')"

/* strpos over lower(): the text is searched literally, so % and _ mean themselves. */
static const char book_sql[] =
	"SELECT r.number, r.book, " LOCAL_ISO("r.presented_at") ", r.party_nif, r.party_name, "
	"r.addressee, r.summary, x.receipt_csv, i.identifier, (SELECT count(*) FROM "
	"registry_entry_document l WHERE l.entry_id = r.id)::text, (count(*) OVER ())::text "
	"FROM registry_entry r LEFT JOIN expedient x ON x.id = r.expedient_id "
	"LEFT JOIN interchange i ON i.registry_entry_id = r.id AND i.direction = 'in' "
	"WHERE r.entity_id = $1 AND ($2::text = '' OR r.book = $2::text) "
	"AND ($3::int = 0 OR r.year = $3::int) AND ($4::text = '' OR strpos(lower(r.number || ' ' || "
	"r.party_nif || ' ' || r.party_name || ' ' || r.summary), lower($4::text)) > 0) "
	"ORDER BY r.presented_at DESC, r.id DESC LIMIT $5::int OFFSET $6::int";

static const char exchange_sql[] =
	"SELECT i.identifier, i.direction, i.state, i.reason, i.origin_code, i.origin_name, "
	"i.destination_code, i.origin_number, i.party_nif, i.party_name, i.summary, r.number, "
	LOCAL_ISO("i.created_at") ", " LOCAL_ISO("i.updated_at") ", i.n_annexes::text "
	"FROM interchange i LEFT JOIN registry_entry r ON r.id = i.registry_entry_id "
	"WHERE i.entity_id = $1 AND ($2::text = '' OR i.direction = $2::text) "
	"ORDER BY i.created_at DESC, i.id DESC LIMIT $3::int";

/* A column as an arena string; NULL for SQL NULL. */
static const char *col(struct eng_arena *a, const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : eng_arena_strdup(a, PQgetvalue(r, row, c));
}

int conn_sicres_book_list(struct conn_sicres_entry **out, size_t *n, long *total,
                          struct eng_arena *a, PGconn *conn, const struct conn_sicres_book_query *q,
                          struct conn_sicres_error *err)
{
	*out = NULL;
	*n = 0;
	*total = 0;
	char book[2] = {q->book, 0}, year[16], limit[16], offset[16];
	snprintf(year, sizeof(year), "%d", q->year);
	snprintf(limit, sizeof(limit), "%d", q->limit > 0 ? q->limit : 50);
	snprintf(offset, sizeof(offset), "%d", q->offset > 0 ? q->offset : 0);
	const char *p[] = {q->entity_id, book, year, q->search ? q->search : "", limit, offset};
	PGresult *r = sicres__query(conn, "listing the registry book", book_sql, 6, p, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	int rows = PQntuples(r);
	*out = eng_arena_alloc(a, (rows ? (size_t)rows : 1) * sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct conn_sicres_entry *e = &(*out)[i];
		*e = (struct conn_sicres_entry){col(a, r, i, 0), col(a, r, i, 1), col(a, r, i, 2),
		                                col(a, r, i, 3), col(a, r, i, 4), col(a, r, i, 5),
		                                col(a, r, i, 6), col(a, r, i, 7), col(a, r, i, 8),
		                                atoi(PQgetvalue(r, i, 9))};
	}
	*n = (size_t)rows;
	*total = rows ? atol(PQgetvalue(r, 0, 10)) : 0;
	PQclear(r);
	return 0;
}

int conn_sicres_exchange_list(struct conn_sicres_exchange **out, size_t *n, struct eng_arena *a,
                              PGconn *conn, const char *entity_id, const char *direction,
                              int limit, struct conn_sicres_error *err)
{
	*out = NULL;
	*n = 0;
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 50);
	const char *p[] = {entity_id, direction ? direction : "", lim};
	PGresult *r = sicres__query(conn, "listing the exchanges", exchange_sql, 3, p, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	int rows = PQntuples(r);
	*out = eng_arena_alloc(a, (rows ? (size_t)rows : 1) * sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct conn_sicres_exchange *x = &(*out)[i];
		*x = (struct conn_sicres_exchange){col(a, r, i, 0), col(a, r, i, 1), col(a, r, i, 2),
		                                   col(a, r, i, 3), col(a, r, i, 4), col(a, r, i, 5),
		                                   col(a, r, i, 6), col(a, r, i, 7), col(a, r, i, 8),
		                                   col(a, r, i, 9), col(a, r, i, 10), col(a, r, i, 11),
		                                   col(a, r, i, 12), col(a, r, i, 13),
		                                   atoi(PQgetvalue(r, i, 14))};
	}
	*n = (size_t)rows;
	PQclear(r);
	return 0;
}
