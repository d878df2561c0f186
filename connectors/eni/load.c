/* Reads an expedient, its documents and the metadata of its attachments for an ENI export
 * straight from PostgreSQL, in one read-only repeatable-read transaction so the index and the
 * documents are one snapshot (attachments' bytes are immutable and read later, streamed).
 * Times are rendered in Europe/Madrid (SET LOCAL: the caller's session is left untouched). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/eni/eni_internal.h"

#define ISO_TIME(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"

static const char expedient_sql[] =
	"SELECT x.id, x.number, coalesce(e.dir3, e.id), x.tramit_code, x.state, x.applicant_nif, "
	"x.entity_id, " ISO_TIME("x.created_at") " FROM expedient x JOIN entity e ON e.id = x.entity_id "
	"WHERE x.id = $1::uuid";

/* Withdrawn documents stay in the expedient: withdrawing a CSV does not remove the document. */
static const char documents_sql[] =
	"SELECT id::text, kind, csv, media_type, " ISO_TIME("created_at") ", content FROM document "
	"WHERE expedient_id = $1::uuid ORDER BY created_at, id";

/* Only linked attachments (a pending one belongs to no expedient yet), in the order they were
 * posted: by post, then by their place in it. */
static const char attachments_sql[] =
	"SELECT id::text, coalesce(eni_id, ''), name, sha256, media_type, " ISO_TIME("captured_at")
	", coalesce(csv, ''), state, size::text, origin::text FROM attachment "
	"WHERE expedient_id = $1::uuid ORDER BY captured_at, ord, id";

/* 8-4-4-4-12 hex digits: anything else cannot name an expedient, and must not reach the
 * uuid cast (whose syntax error would read like a database failure). */
static int is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int command(PGconn *conn, const char *sql, struct conn_eni_error *err)
{
	PGresult *r = PQexec(conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		eni__fail(err, CONN_ENI_EFAIL, "database: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : CONN_ENI_EFAIL;
}

static PGresult *query(PGconn *conn, const char *sql, const char *id, int binary,
                       struct conn_eni_error *err)
{
	const char *params[] = {id};
	PGresult *r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, binary);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	eni__fail(err, CONN_ENI_EFAIL, "database: reading expedient %s: %s", id, PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

static char *dup_text(const PGresult *r, int row, int col)
{
	return strdup(PQgetvalue(r, row, col));
}

static int fill_expedient(struct conn_eni_expedient *x, const PGresult *r)
{
	char **fields[] = {&x->id, &x->number, &x->organ, &x->tramit_code, &x->state,
	                   &x->applicant_nif, &x->entity_id, &x->opened_at};
	for (int i = 0; i < 8; i++)
		if (!(*fields[i] = dup_text(r, 0, i)))
			return -1;
	return 0;
}

static int fill_documents(struct conn_eni_expedient *x, const PGresult *r)
{
	int n = PQntuples(r);
	x->docs = calloc(n ? (size_t)n : 1, sizeof(*x->docs));
	if (!x->docs)
		return -1;
	x->n_docs = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct conn_eni_document *d = &x->docs[i];
		char **fields[] = {&d->id, &d->kind, &d->csv, &d->media_type, &d->created_at};
		for (int c = 0; c < 5; c++)
			if (!(*fields[c] = dup_text(r, i, c)))
				return -1;
		d->content_len = (size_t)PQgetlength(r, i, 5);
		d->content = malloc(d->content_len ? d->content_len : 1);
		if (!d->content)
			return -1;
		memcpy(d->content, PQgetvalue(r, i, 5), d->content_len);
	}
	return 0;
}

static int fill_attachments(struct conn_eni_expedient *x, const PGresult *r)
{
	int n = PQntuples(r);
	x->attachments = calloc(n ? (size_t)n : 1, sizeof(*x->attachments));
	if (!x->attachments)
		return -1;
	x->n_attachments = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct conn_eni_attachment *a = &x->attachments[i];
		char **fields[] = {&a->id, &a->eni_id, &a->name, &a->sha256, &a->media_type,
		                   &a->captured_at, &a->csv, &a->state};
		for (int c = 0; c < 8; c++)
			if (!(*fields[c] = dup_text(r, i, c)))
				return -1;
		a->size = atoll(PQgetvalue(r, i, 8));
		a->origin = atoi(PQgetvalue(r, i, 9));
	}
	return 0;
}

/* libpq returns one format per query: the documents query asks for binary results so that
 * content arrives as raw bytes, and casts every other column to text, whose binary form is its
 * text (libpq NUL-terminates every value). */
static int read_snapshot(struct conn_eni_expedient *x, PGconn *conn, const char *id,
                         struct conn_eni_error *err)
{
	PGresult *r = query(conn, expedient_sql, id, 0, err);
	if (!r)
		return CONN_ENI_EFAIL;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return eni__fail(err, CONN_ENI_ENOTFOUND, "no expedient with id '%s'", id);
	}
	int rc = fill_expedient(x, r);
	PQclear(r);
	if (rc != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory reading expedient %s", id);
	if (!(r = query(conn, documents_sql, id, 1, err)))
		return CONN_ENI_EFAIL;
	rc = fill_documents(x, r);
	PQclear(r);
	if (rc != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory reading the documents of expedient %s", id);
	if (!(r = query(conn, attachments_sql, id, 0, err)))
		return CONN_ENI_EFAIL;
	rc = fill_attachments(x, r);
	PQclear(r);
	if (rc != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory reading the attachments of expedient %s", id);
	return 0;
}

int conn_eni_expedient_load(struct conn_eni_expedient **out, PGconn *conn, const char *id,
                            struct conn_eni_error *err)
{
	*out = NULL;
	if (!is_uuid(id))
		return eni__fail(err, CONN_ENI_ENOTFOUND, "no expedient with id '%s': expected a uuid", id);
	struct conn_eni_expedient *x = calloc(1, sizeof(*x));
	if (!x)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory");
	int rc = command(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (rc == 0) {
		if ((rc = command(conn, "SET LOCAL TIME ZONE 'Europe/Madrid'", err)) == 0)
			rc = read_snapshot(x, conn, id, err);
		/* Read only: ending it either way commits nothing. */
		PQclear(PQexec(conn, "ROLLBACK"));
	}
	if (rc != 0) {
		conn_eni_expedient_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void conn_eni_expedient_free(struct conn_eni_expedient *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_docs; i++) {
		struct conn_eni_document *d = &x->docs[i];
		free(d->id);
		free(d->kind);
		free(d->csv);
		free(d->media_type);
		free(d->created_at);
		free(d->content);
	}
	free(x->docs);
	for (size_t i = 0; i < x->n_attachments; i++) {
		struct conn_eni_attachment *a = &x->attachments[i];
		char *fields[] = {a->id, a->eni_id, a->name, a->sha256, a->media_type, a->captured_at,
		                  a->csv, a->state};
		for (size_t c = 0; c < sizeof(fields) / sizeof(fields[0]); c++)
			free(fields[c]);
	}
	free(x->attachments);
	free(x->entity_id);
	free(x->id);
	free(x->number);
	free(x->organ);
	free(x->tramit_code);
	free(x->state);
	free(x->applicant_nif);
	free(x->opened_at);
	free(x);
}
