/* Running statements on a store's connection, one at a time or in libpq pipeline mode. In
 * pipeline mode (a transition) statements whose results nobody waits for are sent and
 * checked at the next flush, so a transition costs two round trips, not ten; a statement whose
 * result is needed (eng_store__run, eng_store__exec) flushes what was sent before it.
 * Invariant: after a flush every sent statement's result has been read and checked, so the
 * connection is ready for the next; a broken one is marked stale and reconnected before use. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static int pipe_flush(struct eng_store *s, struct eng_error *err);

/* Sends one statement in pipeline mode: SQL text (no parameters) or a prepared statement. */
static int pipe_send(struct eng_store *s, const char *name, const char *sql, int n,
                     const char *const *params, const struct eng__pending *want,
                     struct eng_error *err)
{
	/* A full pipeline is flushed (a sync inside the transaction commits nothing). */
	if (s->n_pending == ENG__MAX_PENDING) {
		int rc = pipe_flush(s, err);
		if (rc)
			return rc;
	}
	int ok = sql ? PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0)
	             : PQsendQueryPrepared(s->conn, name, n, params, NULL, NULL, 0);
	if (!ok)
		return eng_store__fail(s, err, name, NULL);
	s->pending[s->n_pending++] = *want;
	return 0;
}

/* Checks one pending statement's result; returns 0 or its error. */
static int pipe_check(struct eng_store *s, const struct eng__pending *p, PGresult *r,
                      struct eng_error *err)
{
	if (!r)
		return eng_store__fail(s, err, p->name, NULL);
	if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
		return eng_error_set(err, ENG_EINTERNAL, "database: %s: skipped after an error", p->name);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (p->one_row && state && strcmp(state, "22012") == 0) /* ONE_ROW found none */
		return eng_error_set(err, p->code, "database: %s changed 0 rows, not 1", p->name);
	if (PQresultStatus(r) != p->want)
		return eng_store__fail(s, err, p->name, r);
	if (p->one_row && strcmp(PQcmdTuples(r), "1") != 0)
		return eng_error_set(err, p->code, "database: %s changed %s rows, not 1", p->name,
		                     PQcmdTuples(r));
	return 0;
}

/* Ends the pipeline's current segment with a sync and checks every pending result in order.
 * The first failure is reported (PostgreSQL skipped the statements after it). Results are
 * read to the sync even after a failure, so the connection is ready for what follows; when
 * the connection itself broke, it is left broken for eng_store__ensure to reconnect. */
static int pipe_flush(struct eng_store *s, struct eng_error *err)
{
	size_t n = s->n_pending;
	s->n_pending = 0;
	if (PQpipelineSync(s->conn) != 1)
		return eng_store__fail(s, err, "pipeline sync", NULL);
	int rc = 0;
	struct eng_error first = {0};
	for (size_t i = 0; i < n; i++) {
		const struct eng__pending *p = &s->pending[i];
		PGresult *r = PQgetResult(s->conn);
		int bad = pipe_check(s, p, r, &first);
		if (bad && !rc) {
			rc = bad;
			if (err)
				*err = first;
		}
		if (p->keep && !bad)
			*p->keep = r;
		else
			PQclear(r);
		if (!r) /* the connection broke: nothing more will come */
			return rc;
		while ((r = PQgetResult(s->conn)) != NULL)
			PQclear(r);
	}
	PGresult *sync = PQgetResult(s->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC && !rc)
		rc = eng_store__fail(s, err, "pipeline sync", sync);
	PQclear(sync);
	return rc;
}

int eng_store__flush(struct eng_store *s, struct eng_error *err)
{
	return s->pipelined ? pipe_flush(s, err) : 0;
}

int eng_store__send(struct eng_store *s, const char *name, int n, const char *const *params,
                    ExecStatusType want, bool one_row, int code, PGresult **keep,
                    struct eng_error *err)
{
	struct eng__pending p = {name, want, one_row, code, keep};
	if (s->pipelined)
		return pipe_send(s, name, NULL, n, params, &p, err);
	PGresult *r = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
	int rc = pipe_check(s, &p, r, err);
	if (keep && !rc)
		*keep = r;
	else
		PQclear(r);
	return rc;
}

/* Runs a prepared statement; returns the result if its status is `want`, else NULL with err.
 * In pipeline mode it flushes what was sent before it. */
PGresult *eng_store__run(struct eng_store *s, const char *name, int n, const char *const *params,
                         ExecStatusType want, struct eng_error *err)
{
	PGresult *r = NULL;
	if (s->pipelined) {
		struct eng__pending p = {name, want, false, 0, &r};
		int rc = pipe_send(s, name, NULL, n, params, &p, err);
		if (!rc)
			rc = pipe_flush(s, err);
		if (rc) {
			PQclear(r);
			return NULL;
		}
		return r;
	}
	r = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(r) != want) {
		eng_store__fail(s, err, name, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Runs SQL text without parameters; in pipeline mode, one statement, flushing what was sent
 * before it. */
int eng_store__exec(struct eng_store *s, const char *sql, struct eng_error *err)
{
	if (s->pipelined) {
		struct eng__pending p = {sql, PGRES_COMMAND_OK, false, 0, NULL};
		int rc = pipe_send(s, sql, sql, 0, NULL, &p, err);
		return rc ? rc : pipe_flush(s, err);
	}
	PGresult *r = PQexec(s->conn, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : eng_store__fail(s, err, sql, r);
	PQclear(r);
	return rc;
}

int eng_store__send_sql(struct eng_store *s, const char *sql, struct eng_error *err)
{
	if (!s->pipelined)
		return eng_store__exec(s, sql, err);
	struct eng__pending p = {sql, PGRES_COMMAND_OK, false, 0, NULL};
	return pipe_send(s, sql, sql, 0, NULL, &p, err);
}

/* Pipeline mode for one transition; a connection that cannot enter it works without. */
void eng_store__pipeline_enter(struct eng_store *s)
{
	s->pipelined = PQenterPipelineMode(s->conn) == 1;
	s->n_pending = 0;
}

void eng_store__pipeline_leave(struct eng_store *s)
{
	if (!s->pipelined)
		return;
	s->pipelined = false;
	/* Results left unread (a broken connection): reconnect before the next use rather than
	 * misread them. */
	if (PQexitPipelineMode(s->conn) != 1)
		s->stale = true;
}
