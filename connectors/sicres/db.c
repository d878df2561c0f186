/* The libpq side shared by the interchange book's files: statements with their purpose in the
 * error, transactions in Europe/Madrid time, the entity's registry office, the registry
 * number taken exactly as a filing takes it, and the exchange's event log.
 * Statements are unnamed (PQexecParams): the connection may be a web loop's, whose prepared
 * statement names belong to the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sicres/sicres_internal.h"

PGresult *sicres__query(PGconn *conn, const char *what, const char *sql, int n,
                        const char *const *params, int binary, struct conn_sicres_error *err)
{
	return sicres__query_bin(conn, what, sql, n, params, NULL, NULL, binary, err);
}

PGresult *sicres__query_bin(PGconn *conn, const char *what, const char *sql, int n,
                            const char *const *params, const int *lengths, const int *formats,
                            int binary, struct conn_sicres_error *err)
{
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, lengths, formats, binary);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	char line[300];
	snprintf(line, sizeof(line), "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
	line[strcspn(line, "\n")] = '\0';
	sicres__fail(err, CONN_SICRES_EFAIL, "database: %s: %s", what, line);
	PQclear(r);
	return NULL;
}

int sicres__command(PGconn *conn, const char *what, const char *sql, int n,
                    const char *const *params, struct conn_sicres_error *err)
{
	PGresult *r = sicres__query(conn, what, sql, n, params, 0, err);
	PQclear(r);
	return r ? 0 : CONN_SICRES_EFAIL;
}

int sicres__begin(PGconn *conn, struct conn_sicres_error *err)
{
	int rc = sicres__command(conn, "beginning a transaction", "BEGIN", 0, NULL, err);
	if (rc == 0 && (rc = sicres__command(conn, "setting the time zone",
	                                     "SET LOCAL TIME ZONE 'Europe/Madrid'", 0, NULL, err)) != 0)
		sicres__rollback(conn);
	return rc;
}

void sicres__rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

int sicres__commit(PGconn *conn, struct conn_sicres_error *err)
{
	return sicres__command(conn, "committing", "COMMIT", 0, NULL, err);
}

int sicres__office(const char **code, const char **name, struct eng_arena *a, PGconn *conn,
                   const char *entity_id, struct conn_sicres_error *err)
{
	const char *p[] = {entity_id};
	PGresult *r = sicres__query(conn, "reading the entity", "SELECT coalesce(registry_office, "
	                            "dir3, ''), name_ca FROM entity WHERE id = $1", 1, p, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = sicres__fail(err, CONN_SICRES_ENOTFOUND, "no entity '%s' (TRAMIT_ENTITY)", entity_id);
	else if (!*PQgetvalue(r, 0, 0))
		rc = sicres__fail(err, CONN_SICRES_EINVALID, "entity '%s' has no registry office code: "
		                  "set it with `tramit registry office DIR3`", entity_id);
	if (rc == 0) {
		*code = eng_arena_strdup(a, PQgetvalue(r, 0, 0));
		*name = eng_arena_strdup(a, PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return rc;
}

/* The same statements as engine/runtime/store_effects.c (registry_take, registry_insert):
 * the counter row stays locked until COMMIT, so numbers have no gaps and follow time. */
static const char take_sql[] =
	"INSERT INTO registry_counter (entity_id, book, year, last) VALUES ($1, $2, "
	"extract(year FROM clock_timestamp() AT TIME ZONE 'Europe/Madrid'), 1) "
	"ON CONFLICT (entity_id, book, year) DO UPDATE SET last = registry_counter.last + 1 "
	"RETURNING year, last, clock_timestamp()::text";
static const char insert_sql[] =
	"INSERT INTO registry_entry (entity_id, book, year, seq, number, presented_at, "
	"party_nif, party_name, addressee, summary) "
	"VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9, $10) RETURNING id";

int sicres__registry_take(char number[40], char entry_id[24], PGconn *conn, const char *entity_id,
                          const char *book, const char *party_nif, const char *party_name,
                          const char *addressee, const char *summary,
                          struct conn_sicres_error *err)
{
	const char *p1[] = {entity_id, book};
	PGresult *r = sicres__query(conn, "taking a registry number", take_sql, 2, p1, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	char year[16], seq[24], at[64];
	snprintf(year, sizeof(year), "%s", PQgetvalue(r, 0, 0));
	snprintf(seq, sizeof(seq), "%s", PQgetvalue(r, 0, 1));
	snprintf(at, sizeof(at), "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	snprintf(number, 40, "%s/%s/%06lld", book, year, atoll(seq));
	const char *p2[] = {entity_id, book, year, seq, number, at, party_nif, party_name,
	                    addressee, summary};
	if (!(r = sicres__query(conn, "writing the registry entry", insert_sql, 10, p2, 0, err)))
		return CONN_SICRES_EFAIL;
	snprintf(entry_id, 24, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int sicres__event(PGconn *conn, const char *interchange_id, const char *from, const char *to,
                  const char *reason, const char *actor, struct conn_sicres_error *err)
{
	const char *p[] = {interchange_id, from, to, reason, actor};
	return sicres__command(conn, "recording the exchange's change", "INSERT INTO "
	                       "interchange_event (interchange_id, from_state, to_state, reason, "
	                       "actor) VALUES ($1, $2, $3, $4, $5)", 5, p, err);
}

int conn_sicres_office_set(PGconn *conn, const char *entity_id, const char *code,
                           struct conn_sicres_error *err)
{
	int rc = conn_sicres_dir3_check(code, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, code};
	PGresult *r = sicres__query(conn, "setting the registry office", "UPDATE entity SET "
	                            "registry_office = $2 WHERE id = $1", 2, p, 0, err);
	if (!r)
		return CONN_SICRES_EFAIL;
	rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0
	     : sicres__fail(err, CONN_SICRES_ENOTFOUND, "no entity '%s' (TRAMIT_ENTITY)", entity_id);
	PQclear(r);
	return rc;
}
