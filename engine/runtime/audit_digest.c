/* Time-stamped digests of the hash chains (audit_digest.h). Made in one transaction under an
 * advisory lock, so concurrent makers serialise and the digests never fork (the UNIQUE
 * prev_digest backs that); the stamp is asked for inside it, so a digest is stored only with
 * its token. */
#include "audit_digest.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "store_internal.h"

/* "tramit digest" in ASCII, as the migrations' lock spells "tramit". */
#define DIGEST_LOCK_KEY "128034609654133"

static PGresult *exec_params(struct eng_store *s, const char *sql, int n, const char *const *p,
                             const int *lengths, const int *formats, ExecStatusType want,
                             struct eng_error *err)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, p, lengths, formats, 0);
	if (PQresultStatus(r) != want) {
		eng_error_set(err, ENG_EUNAVAILABLE, "audit digest: %s", PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return r;
}

static void digest_of(char out[65], const char *prev, const char *heads)
{
	size_t pl = strlen(prev), hl = strlen(heads);
	char *material = malloc(pl + 1 + hl + 1);
	memcpy(material, prev, pl);
	material[pl] = '\n';
	memcpy(material + pl + 1, heads, hl + 1);
	eng_store__sha256_hex(out, material, pl + 1 + hl);
	free(material);
}

/* The heads that moved since they were last anchored, as sorted "id seq hash\n" lines. */
static char *changed_heads(struct eng_store *s, int64_t *n, struct eng_error *err)
{
	PGresult *r = exec_params(s,
	        "SELECT e.expedient_id::text || ' ' || e.seq || ' ' || e.hash FROM expedient x "
	        "JOIN event e ON e.expedient_id = x.id AND e.hash = x.last_hash "
	        "LEFT JOIN audit_head h ON h.expedient_id = x.id "
	        "WHERE h.hash IS DISTINCT FROM x.last_hash ORDER BY 1", 0, NULL, NULL, NULL,
	        PGRES_TUPLES_OK, err);
	if (!r)
		return NULL;
	*n = PQntuples(r);
	size_t len = 0;
	for (int i = 0; i < PQntuples(r); i++)
		len += (size_t)PQgetlength(r, i, 0) + 1;
	char *text = malloc(len + 1), *p = text;
	for (int i = 0; i < PQntuples(r); i++) {
		size_t l = (size_t)PQgetlength(r, i, 0);
		memcpy(p, PQgetvalue(r, i, 0), l);
		p[l] = '\n';
		p += l + 1;
	}
	*p = '\0';
	PQclear(r);
	return text;
}

static int store_digest(struct eng_store *s, const char *prev, const char *digest,
                        const char *heads, int64_t n, const unsigned char *token, size_t token_len,
                        const char *stamped_at, const char *tsa, int64_t *id, struct eng_error *err)
{
	char count[24];
	snprintf(count, sizeof(count), "%lld", (long long)n);
	const char *p[] = {prev, digest, heads, count, (const char *)token, stamped_at, tsa};
	int lengths[] = {0, 0, 0, 0, (int)token_len, 0, 0}, formats[] = {0, 0, 0, 0, 1, 0, 0};
	PGresult *r = exec_params(s,
	        "INSERT INTO audit_digest (prev_digest, digest, heads, n_heads, token, stamped_at, tsa) "
	        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", 7, p, lengths, formats,
	        PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*id = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	char idtext[24];
	snprintf(idtext, sizeof(idtext), "%lld", (long long)*id);
	const char *q[] = {heads, idtext};
	r = exec_params(s,
	        "INSERT INTO audit_head (expedient_id, seq, hash, digest_id) "
	        "SELECT split_part(l, ' ', 1)::uuid, split_part(l, ' ', 2)::int, split_part(l, ' ', 3), "
	        "$2::bigint FROM unnest(string_to_array(rtrim($1, E'\\n'), E'\\n')) l "
	        "ON CONFLICT (expedient_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, "
	        "digest_id = EXCLUDED.digest_id", 2, q, NULL, NULL, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

static int make_locked(struct eng_store *s, eng_digest_stamp_fn stamp, void *payload,
                       struct eng_digest_report *report, struct eng_error *err)
{
	PGresult *r = exec_params(s, "SELECT digest FROM audit_digest ORDER BY id DESC LIMIT 1", 0,
	                          NULL, NULL, NULL, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	char prev[65];
	snprintf(prev, sizeof(prev), "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : eng_genesis_hash);
	PQclear(r);
	int64_t n = 0;
	char *heads = changed_heads(s, &n, err);
	if (!heads)
		return err->code;
	int rc = 0;
	if (n > 0) {
		digest_of(report->digest, prev, heads);
		unsigned char *token = NULL;
		size_t token_len = 0;
		char tsa[512] = "";
		rc = stamp(report->digest, &token, &token_len, report->stamped_at, tsa, payload, err);
		if (!rc)
			rc = store_digest(s, prev, report->digest, heads, n, token, token_len,
			                  report->stamped_at, tsa, &report->id, err);
		free(token);
		report->heads = rc ? 0 : n;
	}
	free(heads);
	return rc;
}

int eng_audit_digest_make(struct eng_store *s, eng_digest_stamp_fn stamp, void *payload,
                          struct eng_digest_report *report, struct eng_error *err)
{
	memset(report, 0, sizeof(*report));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	rc = eng_store__exec(s, "BEGIN", err);
	PGresult *lock = rc ? NULL : exec_params(s, "SELECT pg_advisory_xact_lock(" DIGEST_LOCK_KEY ")",
	                                         0, NULL, NULL, NULL, PGRES_TUPLES_OK, err);
	if (!rc && !lock)
		rc = err->code;
	PQclear(lock);
	if (!rc)
		rc = make_locked(s, stamp, payload, report, err);
	struct eng_error ignored;
	if (rc || report->id == 0)
		eng_store__exec(s, "ROLLBACK", &ignored);
	else
		rc = eng_store__exec(s, "COMMIT", err);
	if (rc)
		memset(report, 0, sizeof(*report));
	return rc;
}

/* The heads of one digest that no longer match an event, one line each to out. */
static int64_t check_heads(struct eng_store *s, const char *id, const char *heads, FILE *out,
                           struct eng_error *err)
{
	const char *p[] = {heads};
	PGresult *r = exec_params(s,
	        "SELECT l FROM unnest(string_to_array(rtrim($1, E'\\n'), E'\\n')) l WHERE NOT EXISTS "
	        "(SELECT 1 FROM event e WHERE e.expedient_id = split_part(l, ' ', 1)::uuid AND "
	        "e.seq = split_part(l, ' ', 2)::int AND e.hash = split_part(l, ' ', 3))", 1, p, NULL,
	        NULL, PGRES_TUPLES_OK, err);
	if (!r)
		return -1;
	int64_t bad = PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++) {
		char head[200];
		snprintf(head, sizeof(head), "%s", PQgetvalue(r, i, 0));
		char *sp = strchr(head, ' ');
		if (sp)
			*sp = '\0';
		fprintf(out, "digest %s: expedient %s: its anchored event is gone or was rewritten after "
		             "it was time-stamped\n", id, head);
	}
	PQclear(r);
	return bad;
}

static int64_t check_one(PGresult *r, int i, const char *prev, eng_digest_check_fn check,
                         void *payload, FILE *out)
{
	const char *id = PQgetvalue(r, i, 0), *made = PQgetvalue(r, i, 1);
	const char *stored_prev = PQgetvalue(r, i, 2), *digest = PQgetvalue(r, i, 3);
	const char *heads = PQgetvalue(r, i, 4);
	char want[65], why[300] = "";
	if (strcmp(stored_prev, prev) != 0)
		snprintf(why, sizeof(why), "it does not follow the digest before it");
	else if (digest_of(want, stored_prev, heads), strcmp(want, digest) != 0)
		snprintf(why, sizeof(why), "its heads do not hash to its digest (changed after it was made)");
	else if (check) {
		size_t len = 0;
		unsigned char *token = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 5), &len);
		char reason[256] = "";
		if (!token || check(digest, token, len, reason, sizeof(reason), payload) != 0)
			snprintf(why, sizeof(why), "its time stamp does not verify: %s", reason);
		PQfreemem(token);
	}
	if (!why[0])
		return 0;
	fprintf(out, "digest %s (made %s): %s\n", id, made, why);
	return 1;
}

int eng_audit_digest_verify(struct eng_store *s, eng_digest_check_fn check, void *payload,
                            FILE *out, struct eng_digest_verify_report *report,
                            struct eng_error *err)
{
	memset(report, 0, sizeof(*report));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	PGresult *r = exec_params(s,
	        "SELECT id, to_char(made_at, 'YYYY-MM-DD HH24:MI:SS'), prev_digest, digest, heads, token, "
	        "n_heads FROM audit_digest ORDER BY id", 0, NULL, NULL, NULL, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	char prev[65];
	snprintf(prev, sizeof(prev), "%s", eng_genesis_hash);
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		report->digests++;
		report->heads += atoll(PQgetvalue(r, i, 6));
		report->broken += check_one(r, i, prev, check, payload, out);
		int64_t bad = check_heads(s, PQgetvalue(r, i, 0), PQgetvalue(r, i, 4), out, err);
		if (bad < 0)
			rc = err->code;
		else
			report->broken += bad;
		snprintf(prev, sizeof(prev), "%s", PQgetvalue(r, i, 3));
	}
	PQclear(r);
	return rc;
}

int eng_audit_digest_made_today(struct eng_store *s, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	PGresult *r = exec_params(s,
	        "SELECT EXISTS (SELECT 1 FROM audit_digest WHERE made_at >= "
	        "date_trunc('day', now() AT TIME ZONE 'Europe/Madrid') AT TIME ZONE 'Europe/Madrid')",
	        0, NULL, NULL, NULL, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return rc;
}
