/* Bank collection files over libpq (bank.h). Statements run unprepared (PQexecParams), as in
 * taxes.c: an import is rare and off the hot path. Imports of one entity are serialised by a
 * transaction-scoped advisory lock, so two operators loading files at once cannot both apply
 * the same collection; a receipt is paid by a conditional UPDATE (state = 'pending') inside the
 * file's transaction, and a fee by a transition carrying an idempotency key. */
#include "bank.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

static bool uuid_shaped(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

/* Euros as an operator reads them in the log: "123.45 EUR". */
static const char *euros(struct eng_arena *a, int64_t cents)
{
	return eng_arena_printf(a, "%lld.%02lld EUR", (long long)(cents / 100),
	                        (long long)(cents % 100));
}

/* ---- Fee documents ----------------------------------------------------------------------- */

/* The fee's latest order (a fee ordered again, on re-entering a state, has the later amount)
 * and the document issued for it. */
static const char fee_get_sql[] =
	"SELECT o.expedient_id::text, o.effect_id, (o.args->>'amount_cents')::bigint, "
	"coalesce(x.vars->>('paid.' || split_part(o.effect_id, ':', 2)), '') = 'yes', "
	"d.emisora, d.reference, d.identification, d.amount_cents, d.deadline::text "
	"FROM outbox o JOIN expedient x ON x.id = o.expedient_id LEFT JOIN fee_document d ON "
	"d.entity_id = o.entity_id AND d.expedient_id = o.expedient_id AND d.effect_id = o.effect_id "
	"WHERE o.kind = 'payment' AND o.entity_id = $1 AND o.expedient_id = $2::uuid AND "
	"o.effect_id = $3 ORDER BY o.id DESC LIMIT 1";

int eng_store_fee_document_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const char *expedient_id, const char *effect_id,
                               struct eng_fee_document *out, struct eng_error *err)
{
	if (!uuid_shaped(expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %.40s", expedient_id);
	const char *p[] = {entity_id, expedient_id, effect_id};
	PGresult *r = eng_store__query(s, "fee document", fee_get_sql, 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "expedient %s ordered no fee %s", expedient_id,
		                   effect_id);
	} else {
		bool issued = !PQgetisnull(r, 0, 5);
		*out = (struct eng_fee_document){
			.expedient_id = eng_store__col(a, r, 0, 0), .effect_id = eng_store__col(a, r, 0, 1),
			.amount_cents = atoll(PQgetvalue(r, 0, issued ? 7 : 2)),
			.paid = strcmp(PQgetvalue(r, 0, 3), "t") == 0,
			.emisora = eng_store__col(a, r, 0, 4), .reference = eng_store__col(a, r, 0, 5),
			.identification = eng_store__col(a, r, 0, 6), .deadline = eng_store__col(a, r, 0, 8)};
	}
	PQclear(r);
	return rc;
}

int eng_store_fee_document_number(struct eng_store *s, int64_t *out, struct eng_error *err)
{
	PGresult *r = eng_store__query(s, "fee document number", "SELECT nextval('fee_document_seq')", 0, NULL,
	                   PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*out = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int eng_store_fee_document_put(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const struct eng_fee_document *doc, struct eng_fee_document *out,
                               struct eng_error *err)
{
	struct eng_fee_document now;
	int rc = eng_store_fee_document_get(s, a, entity_id, doc->expedient_id, doc->effect_id, &now,
	                                    err);
	if (rc)
		return rc;
	if (now.reference) {
		*out = now;
		return 0;
	}
	if (now.paid)
		return eng_error_set(err, ENG_ECONFLICT, "fee %s of expedient %s is already paid",
		                     doc->effect_id, doc->expedient_id);
	if (now.amount_cents != doc->amount_cents)
		return eng_error_set(err, ENG_ECONFLICT, "fee %s is %lld cents, not %lld",
		                     doc->effect_id, (long long)now.amount_cents,
		                     (long long)doc->amount_cents);
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld", (long long)doc->amount_cents);
	const char *p[] = {entity_id, doc->expedient_id, doc->effect_id, doc->emisora,
	                   doc->reference, doc->identification, amount, doc->deadline};
	PGresult *r = eng_store__query(s, "fee document", "INSERT INTO fee_document (entity_id, expedient_id, "
	                   "effect_id, emisora, reference, identification, amount_cents, deadline) "
	                   "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7::bigint, $8::date) ON CONFLICT "
	                   "(entity_id, expedient_id, effect_id) DO NOTHING", 8, p, PGRES_COMMAND_OK,
	                   err);
	if (!r)
		return err->code;
	PQclear(r);
	return eng_store_fee_document_get(s, a, entity_id, doc->expedient_id, doc->effect_id, out,
	                                  err);
}

/* ---- Import ------------------------------------------------------------------------------ */

/* A record being classified: what it pays, if anything. */
struct verdict {
	const char *outcome, *detail;
	const char *tax_reference, *expedient_id, *effect_id;
};

/* The same collection (every field of the record 02) imported before, from any file. */
static int find_duplicate(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          const char *key, struct verdict *v, struct eng_error *err)
{
	const char *p[] = {entity_id, key};
	PGresult *r = eng_store__query_in_tx(s, "bank record", "SELECT f.name, r.line FROM bank_record r JOIN "
	                         "bank_file f ON f.entity_id = r.entity_id AND f.sha256 = "
	                         "r.file_sha256 WHERE r.entity_id = $1 AND r.record_key = $2 AND "
	                         "r.outcome <> 'duplicate'", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 1) {
		v->outcome = "duplicate";
		v->detail = eng_arena_printf(a, "the same collection was imported from %s, line %s",
		                             PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

/* A tax receipt with the record's document number: paid now when it is pending and the
 * bank's reference, identification and amount are the receipt's. */
static int match_receipt(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const struct eng_bank_record *b, struct verdict *v, bool *found,
                         struct eng_error *err)
{
	char document[11];
	snprintf(document, sizeof(document), "%.10s", b->reference);
	const char *p[] = {entity_id, b->emisora, document};
	PGresult *r = eng_store__query_in_tx(s, "tax receipt", "SELECT reference, identification, amount_cents, "
	                         "state, coalesce(paid_via, ''), coalesce(paid_order, ''), "
	                         "coalesce(to_char(paid_at AT TIME ZONE 'Europe/Madrid', 'YYYY-MM-DD'), "
	                         "'') FROM tax_receipt WHERE entity_id = $1 AND emisora = $2 AND "
	                         "left(reference, 10) = $3 FOR UPDATE", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*found = PQntuples(r) == 1;
	if (!*found) {
		PQclear(r);
		return 0;
	}
	const char *ref = eng_store__col(a, r, 0, 0), *ident = PQgetvalue(r, 0, 1), *state = PQgetvalue(r, 0, 3);
	int64_t amount = atoll(PQgetvalue(r, 0, 2));
	v->tax_reference = ref;
	int rc = 0;
	if (strcmp(ref, b->reference) != 0 || strcmp(ident, b->identification) != 0 ||
	    amount != b->amount_cents) {
		v->outcome = "mismatch";
		v->detail = eng_arena_printf(a, "receipt %s is for %s (identification %s); the bank "
		                             "collected %s with reference %s (identification %s)", ref,
		                             euros(a, amount), ident, euros(a, b->amount_cents),
		                             b->reference, b->identification);
	} else if (strcmp(state, "paid") == 0) {
		const char *order = PQgetvalue(r, 0, 5);
		v->outcome = "already_paid";
		v->detail = eng_arena_printf(a, "receipt %s was already paid (%s%s%s, %s): a refund of %s "
		                             "is due", ref, PQgetvalue(r, 0, 4), *order ? " order " : "",
		                             order, PQgetvalue(r, 0, 6), euros(a, b->amount_cents));
	} else if (strcmp(state, "cancelled") == 0) {
		v->outcome = "not_payable";
		v->detail = eng_arena_printf(a, "receipt %s is cancelled: a refund of %s is due", ref,
		                             euros(a, b->amount_cents));
	} else {
		const char *pu[] = {entity_id, ref, b->collected_on};
		rc = eng_store__command_in_tx(s, "tax receipt payment",
		        "UPDATE tax_receipt SET state = 'paid', paid_at = "
		        "$3::date::timestamp AT TIME ZONE 'Europe/Madrid', paid_via = 'bank', "
		        "paid_order = NULL WHERE entity_id = $1 AND reference = $2 AND state = "
		        "'pending'", 3, pu, err);
		v->outcome = "applied";
		v->detail = eng_arena_printf(a, "receipt %s paid at the bank on %s", ref, b->collected_on);
	}
	PQclear(r);
	return rc;
}

/* Fees this import pays, so a second record for the same fee in the same file finds it paid
 * (its transition runs after the file's commit). */
struct fee_seen {
	const char *expedient_id, *effect_id;
};

/* A fee document with the record's document number: paid (after the commit) when the fee is
 * not yet paid and the bank's codes and amount are the document's. */
static int match_fee(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const struct eng_bank_record *b, const struct fee_seen *seen, size_t n_seen,
                     struct verdict *v, bool *found, struct eng_error *err)
{
	char document[11];
	snprintf(document, sizeof(document), "%.10s", b->reference);
	const char *p[] = {entity_id, b->emisora, document};
	PGresult *r = eng_store__query_in_tx(s, "fee document", "SELECT d.expedient_id::text, d.effect_id, "
	                         "d.reference, d.identification, d.amount_cents, coalesce(x.vars->>"
	                         "('paid.' || split_part(d.effect_id, ':', 2)), '') = 'yes', x.number "
	                         "FROM fee_document d JOIN expedient x ON x.id = d.expedient_id WHERE "
	                         "d.entity_id = $1 AND d.emisora = $2 AND left(d.reference, 10) = $3",
	                         3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*found = PQntuples(r) == 1;
	if (!*found) {
		PQclear(r);
		return 0;
	}
	v->expedient_id = eng_store__col(a, r, 0, 0);
	v->effect_id = eng_store__col(a, r, 0, 1);
	const char *ref = PQgetvalue(r, 0, 2), *ident = PQgetvalue(r, 0, 3);
	const char *fee = strchr(v->effect_id, ':') + 1, *number = PQgetvalue(r, 0, 6);
	int64_t amount = atoll(PQgetvalue(r, 0, 4));
	bool paid = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
	for (size_t i = 0; !paid && i < n_seen; i++)
		paid = strcmp(seen[i].expedient_id, v->expedient_id) == 0 &&
		       strcmp(seen[i].effect_id, v->effect_id) == 0;
	if (strcmp(ref, b->reference) != 0 || strcmp(ident, b->identification) != 0 ||
	    amount != b->amount_cents) {
		v->outcome = "mismatch";
		v->detail = eng_arena_printf(a, "fee %s of expedient %s is %s (reference %s, "
		                             "identification %s); the bank collected %s with reference %s "
		                             "(identification %s)", fee, number, euros(a, amount), ref,
		                             ident, euros(a, b->amount_cents), b->reference,
		                             b->identification);
	} else if (paid) {
		v->outcome = "already_paid";
		v->detail = eng_arena_printf(a, "fee %s of expedient %s was already paid: a refund of %s "
		                             "is due", fee, number, euros(a, b->amount_cents));
	} else {
		v->outcome = "applied";
		v->detail = eng_arena_printf(a, "fee %s of expedient %s paid at the bank on %s", fee,
		                             number, b->collected_on);
	}
	PQclear(r);
	return 0;
}

static const char *record_key(struct eng_arena *a, const struct eng_bank_record *b)
{
	return eng_arena_printf(a, "%s-%s-%s-%08lld-%s-%s-%s-%s", b->emisora, b->reference,
	                        b->identification, (long long)b->amount_cents, b->collected_on,
	                        b->bank, b->office, b->channel);
}

static const char insert_record_sql[] =
	"INSERT INTO bank_record (entity_id, file_sha256, line, record_key, emisora, modalidad, "
	"reference, identification, amount_cents, collected_on, bank, office, channel, outcome, "
	"tax_reference, expedient_id, effect_id, detail) VALUES ($1, $2, $3::int, $4, $5, $6, $7, $8, "
	"$9::bigint, $10::date, $11, $12, $13, $14, $15, $16::uuid, $17, $18)";

static int record_one(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *sha, const struct eng_bank_record *b, struct fee_seen *seen,
                      size_t *n_seen, struct eng_bank_result *res, struct eng_error *err)
{
	struct verdict v = {0};
	const char *key = record_key(a, b);
	bool receipt = false, fee = false;
	int rc = find_duplicate(s, a, entity_id, key, &v, err);
	if (!rc && !v.outcome)
		rc = match_receipt(s, a, entity_id, b, &v, &receipt, err);
	if (!rc && !v.outcome) {
		rc = match_fee(s, a, entity_id, b, seen, *n_seen, &v, &fee, err);
		if (!rc && fee && strcmp(v.outcome, "applied") == 0)
			seen[(*n_seen)++] = (struct fee_seen){v.expedient_id, v.effect_id};
	}
	if (rc)
		return rc;
	if (!v.outcome) {
		v.outcome = "unknown";
		v.detail = eng_arena_printf(a, "no tax receipt or fee document has document number %.10s "
		                            "for emisora %s", b->reference, b->emisora);
	}
	char line[16], amount[24];
	snprintf(line, sizeof(line), "%d", b->line);
	snprintf(amount, sizeof(amount), "%lld", (long long)b->amount_cents);
	const char *p[] = {entity_id, sha, line, key, b->emisora, b->modalidad, b->reference,
	                   b->identification, amount, b->collected_on, b->bank, b->office, b->channel,
	                   v.outcome, v.tax_reference, v.expedient_id, v.effect_id, v.detail};
	rc = eng_store__command_in_tx(s, "bank record", insert_record_sql, 18, p, err);
	*res = (struct eng_bank_result){b->line, v.outcome, b->reference, v.detail, b->amount_cents};
	return rc;
}

/* The fee's payment, as the result "paid" of the effect that ordered it: the same event a
 * card payment makes, with the bank's record as its result. */
static int fee_pay(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                   const char *sha, const char *key, const char *expedient_id,
                   const char *effect_id, int line, int64_t amount, eng_definition_lookup lookup,
                   void *payload, struct eng_error *err)
{
	json_t *res = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i}", "via", "bank", "gateway", "c60",
	                        "amount_cents", (json_int_t)amount, "record", key, "file", sha,
	                        "line", line);
	char *result = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(res);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct eng_command cmd = {
		.entity_id = entity_id, .expedient_id = expedient_id, .expected_version = -1,
		.idempotency_key = eng_arena_printf(a, "bank:%s", key), .result_json = result,
		.event = {.kind = ENG_EVENT_RESULT, .effect_id = effect_id, .outcome = "paid",
		          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "bank"},
		          .time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000},
	};
	struct eng_outcome out;
	int rc = eng_store_apply(s, a, &cmd, lookup, payload, &out, err);
	free(result);
	return rc;
}

/* After the file's commit: each applied fee of the file gets its transition (replayed, and
 * so a no-op, when it already has it). A fee the expedient refuses is marked refused for the
 * operator; the database failing stops here, and importing the file again finishes. */
static int fees_settle(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const char *sha, eng_definition_lookup lookup, void *payload,
                       struct eng_bank_result *res, size_t n, struct eng_bank_stats *st,
                       struct eng_error *err)
{
	const char *p[] = {entity_id, sha};
	PGresult *r = eng_store__query(s, "bank fees", "SELECT line, record_key, expedient_id::text, effect_id, "
	                   "amount_cents FROM bank_record WHERE entity_id = $1 AND file_sha256 = $2 "
	                   "AND outcome = 'applied' AND expedient_id IS NOT NULL ORDER BY line", 2, p,
	                   PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		int line = atoi(PQgetvalue(r, i, 0));
		struct eng_error why = {0};
		rc = fee_pay(s, a, entity_id, sha, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		             PQgetvalue(r, i, 3), line, atoll(PQgetvalue(r, i, 4)), lookup, payload, &why);
		if (rc == ENG_EUNAVAILABLE || rc == ENG_EINTERNAL) {
			eng_error_set(err, rc, "line %d: %s (import the file again to finish)", line, why.msg);
			break;
		}
		if (!rc)
			continue;
		const char *detail = eng_arena_printf(a, "the expedient refused the payment: %s", why.msg);
		char l[16];
		snprintf(l, sizeof(l), "%d", line);
		const char *pu[] = {entity_id, sha, l, detail};
		PGresult *u = eng_store__query(s, "bank record", "UPDATE bank_record SET outcome = 'refused', detail = "
		                   "$4 WHERE entity_id = $1 AND file_sha256 = $2 AND line = $3::int", 4, pu,
		                   PGRES_COMMAND_OK, err);
		rc = u ? 0 : err->code;
		PQclear(u);
		for (size_t j = 0; !rc && j < n; j++)
			if (res[j].line == line) {
				res[j].outcome = "refused";
				res[j].detail = detail;
				st->applied--;
				st->reported++;
			}
	}
	PQclear(r);
	return rc;
}

/* A file imported before: its records' outcomes as they stand. */
static int results_read(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        const char *sha, struct eng_bank_result **out, size_t *n,
                        struct eng_error *err)
{
	const char *p[] = {entity_id, sha};
	PGresult *r = eng_store__query_in_tx(s, "bank records", "SELECT line, outcome, reference, detail, "
	                         "amount_cents FROM bank_record WHERE entity_id = $1 AND file_sha256 = "
	                         "$2 ORDER BY line", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (struct eng_bank_result){atoi(PQgetvalue(r, (int)i, 0)), eng_store__col(a, r, (int)i, 1),
		                                     eng_store__col(a, r, (int)i, 2), eng_store__col(a, r, (int)i, 3),
		                                     atoll(PQgetvalue(r, (int)i, 4))};
	PQclear(r);
	return 0;
}

/* Everything inside the file's transaction. Returns 0 or a negative code. */
static int import_tx(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *sha, const struct eng_bank_file *f,
                     struct eng_bank_result **out, size_t *n, struct eng_bank_stats *st,
                     struct eng_error *err)
{
	const char *pe[] = {entity_id, sha};
	int rc = eng_store__command_in_tx(s, "entity",
	        "INSERT INTO entity (id, name_ca, name_es) VALUES ($1, $1, "
	        "$1) ON CONFLICT (id) DO NOTHING", 1, pe, err);
	PGresult *r = rc ? NULL : eng_store__query_in_tx(s, "bank file", "SELECT pg_advisory_xact_lock("
	                                     "hashtext('bank:' || $1)), (SELECT " ENG__ISO("imported_at")
	                                     " FROM bank_file WHERE entity_id = $1 AND sha256 = $2)",
	                                     2, pe, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	st->already_imported = !PQgetisnull(r, 0, 1);
	st->imported_at = eng_store__col(a, r, 0, 1);
	PQclear(r);
	if (st->already_imported)
		return results_read(s, a, entity_id, sha, out, n, err);
	char records[16], total[24];
	snprintf(records, sizeof(records), "%zu", f->n);
	snprintf(total, sizeof(total), "%lld", (long long)f->total_cents);
	const char *pf[] = {entity_id, sha, f->name, f->bank, f->office, f->created_on,
	                    f->file_number, records, total};
	rc = eng_store__command_in_tx(s, "bank file",
	        "INSERT INTO bank_file (entity_id, sha256, name, bank, office, "
	        "created_on, file_number, records, total_cents, applied, reported) VALUES ($1, "
	        "$2, $3, $4, $5, $6::date, $7, $8::int, $9::bigint, 0, 0)", 9, pf, err);
	*n = f->n;
	*out = eng_arena_alloc(a, sizeof(**out) * (f->n + 1));
	struct fee_seen *seen = eng_arena_alloc(a, sizeof(*seen) * (f->n + 1));
	size_t n_seen = 0;
	for (size_t i = 0; !rc && i < f->n; i++) {
		rc = record_one(s, a, entity_id, sha, &f->records[i], seen, &n_seen, &(*out)[i], err);
		if (rc)
			break;
		const char *o = (*out)[i].outcome;
		st->applied += strcmp(o, "applied") == 0;
		st->duplicate += strcmp(o, "duplicate") == 0;
		st->reported += strcmp(o, "applied") != 0 && strcmp(o, "duplicate") != 0;
	}
	char applied[16], reported[16];
	snprintf(applied, sizeof(applied), "%d", st->applied);
	snprintf(reported, sizeof(reported), "%d", st->reported);
	const char *pc[] = {entity_id, sha, applied, reported};
	if (!rc)
		rc = eng_store__command_in_tx(s, "bank file",
		        "UPDATE bank_file SET applied = $3::int, reported = $4::int "
		        "WHERE entity_id = $1 AND sha256 = $2", 4, pc, err);
	return rc;
}

int eng_store_bank_import(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          const char *emisora, const void *bytes, size_t len,
                          const struct eng_bank_file *f, eng_definition_lookup lookup,
                          void *lookup_payload, struct eng_bank_result **out, size_t *n,
                          struct eng_bank_stats *st, struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	*st = (struct eng_bank_stats){0};
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->records[i].emisora, emisora) != 0)
			return eng_error_set(err, ENG_EINVALID, "line %d: emisora %s is not this entity's "
			                     "(%s): the file is for another issuer", f->records[i].line,
			                     f->records[i].emisora, emisora);
	char sha[65];
	eng_store__sha256_hex(sha, bytes, len);
	int rc = eng_store__ensure(s, err);
	if (!rc)
		rc = eng_store__command_in_tx(s, "begin", "BEGIN", 0, NULL, err);
	if (rc)
		return rc;
	rc = import_tx(s, a, entity_id, sha, f, out, n, st, err);
	if (!rc)
		rc = eng_store__command_in_tx(s, "commit", "COMMIT", 0, NULL, err);
	if (rc) {
		PGresult *r = PQexec(s->conn, "ROLLBACK");
		PQclear(r);
		*out = NULL;
		*n = 0;
		*st = (struct eng_bank_stats){0};
		return rc;
	}
	return fees_settle(s, a, entity_id, sha, lookup, lookup_payload, *out, *n, st, err);
}

/* ---- Report ------------------------------------------------------------------------------ */

static const char report_sql[] =
	"SELECT f.name, f.sha256, " ENG__ISO("f.imported_at") ", r.line, r.outcome, r.reference, "
	"r.identification, r.collected_on::text, r.bank, r.office, r.detail, CASE WHEN "
	"r.tax_reference IS NOT NULL THEN 'receipt ' || r.tax_reference WHEN r.expedient_id IS NOT "
	"NULL THEN 'fee ' || split_part(r.effect_id, ':', 2) || ' of expedient ' || coalesce(x.number, "
	"r.expedient_id::text) ELSE '' END, r.amount_cents FROM bank_record r JOIN bank_file f ON "
	"f.entity_id = r.entity_id AND f.sha256 = r.file_sha256 LEFT JOIN expedient x ON x.id = "
	"r.expedient_id WHERE r.entity_id = $1 AND ($2::bool OR (r.outcome NOT IN ('applied', "
	"'duplicate') AND r.resolved_at IS NULL)) ORDER BY f.imported_at, f.sha256, r.line";

int eng_store_bank_report(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          bool all, struct eng_bank_report_row **out, size_t *n,
                          struct eng_error *err)
{
	const char *p[] = {entity_id, all ? "true" : "false"};
	PGresult *r = eng_store__query(s, "bank report", report_sql, 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (int i = 0; i < (int)*n; i++)
		(*out)[i] = (struct eng_bank_report_row){
			.file_name = eng_store__col(a, r, i, 0), .file_sha256 = eng_store__col(a, r, i, 1),
			.imported_at = eng_store__col(a, r, i, 2), .line = atoi(PQgetvalue(r, i, 3)),
			.outcome = eng_store__col(a, r, i, 4), .reference = eng_store__col(a, r, i, 5),
			.identification = eng_store__col(a, r, i, 6), .collected_on = eng_store__col(a, r, i, 7),
			.bank = eng_store__col(a, r, i, 8), .office = eng_store__col(a, r, i, 9),
			        .detail = eng_store__col(a, r, i, 10),
			.target = eng_store__col(a, r, i, 11), .amount_cents = atoll(PQgetvalue(r, i, 12))};
	PQclear(r);
	return 0;
}
