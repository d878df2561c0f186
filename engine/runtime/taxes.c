/* Tax receipts and card orders over libpq. Statements run unprepared (PQexecParams): they are
 * off the hot path, and this way they need no place in the store's prepared set. A receipt's
 * payment and its order's settlement are one statement, so neither can happen without the
 * other, and both only from an open order. */
#include "taxes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

#define ISO(col) ENG__ISO(col)
#define RECEIPT_COLUMNS \
	"reference, emisora, identification, concept_ca, concept_es, debtor_nif, debtor_name, " \
	"amount_cents, deadline::text, state, " ISO("paid_at") ", paid_via, paid_order, " \
	"state = 'pending' AND deadline < current_date "

/* Reads a receipt from RECEIPT_COLUMNS starting at column off of row. */
static void receipt_take(struct eng_tax_receipt *out, struct eng_arena *a, PGresult *r, int row,
                         int off)
{
	*out = (struct eng_tax_receipt){
		.reference = eng_store__col(a, r, row, off), .emisora = eng_store__col(a, r, row, off + 1),
		.identification = eng_store__col(a, r, row, off + 2), .concept_ca = eng_store__col(a, r, row, off + 3),
		.concept_es = eng_store__col(a, r, row, off + 4), .debtor_nif = eng_store__col(a, r, row, off + 5),
		.debtor_name = eng_store__col(a, r, row, off + 6), .amount_cents = atoll(PQgetvalue(r, row, off + 7)),
		.deadline = eng_store__col(a, r, row, off + 8), .state = eng_store__col(a, r, row, off + 9),
		.paid_at = eng_store__col(a, r, row, off + 10), .paid_via = eng_store__col(a, r, row, off + 11),
		.paid_order = eng_store__col(a, r, row, off + 12),
		.overdue = strcmp(PQgetvalue(r, row, off + 13), "t") == 0};
}

/* ---- Receipts ---------------------------------------------------------------------------- */

/* Inserts one row unless its reference exists; answers how many were inserted and, for an
 * existing one, the columns whose stored value differs (empty: the same receipt). The outer
 * SELECT does not see the CTE's insert, so a new row reads as no row at all. */
static const char import_sql[] =
	"WITH ins AS (INSERT INTO tax_receipt (entity_id, reference, emisora, identification, "
	"concept_ca, concept_es, debtor_nif, debtor_name, amount_cents, deadline) VALUES ($1, $2, $3, "
	"$4, $5, $6, $7, $8, $9::bigint, $10::date) ON CONFLICT (entity_id, reference) DO NOTHING "
	"RETURNING 1) SELECT (SELECT count(*) FROM ins), (SELECT concat_ws(', ', "
	"CASE WHEN emisora <> $3 THEN 'emisora' END, "
	"CASE WHEN identification <> $4 THEN 'identification' END, "
	"CASE WHEN concept_ca <> $5 THEN 'concept_ca' END, CASE WHEN concept_es <> $6 THEN 'concept_es' END, "
	"CASE WHEN debtor_nif <> $7 THEN 'debtor_nif' END, CASE WHEN debtor_name <> $8 THEN 'debtor_name' END, "
	"CASE WHEN amount_cents <> $9::bigint THEN 'amount_cents' END, "
	"CASE WHEN deadline <> $10::date THEN 'deadline' END) "
	"FROM tax_receipt WHERE entity_id = $1 AND reference = $2)";

static int import_row(struct eng_store *s, const char *entity_id, const struct eng_tax_receipt *t,
                      bool *added, struct eng_error *err)
{
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld", (long long)t->amount_cents);
	const char *p[] = {entity_id, t->reference, t->emisora, t->identification, t->concept_ca,
	                   t->concept_es, t->debtor_nif, t->debtor_name, amount, t->deadline};
	PGresult *r = eng_store__query_in_tx(s, "tax receipt import", import_sql, 10, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	*added = strcmp(PQgetvalue(r, 0, 0), "1") == 0;
	if (!*added && *PQgetvalue(r, 0, 1))
		rc = eng_error_set(err, ENG_ECONFLICT, "reference %s was imported before with other data "
		                   "(%s differ); a receipt cannot be changed by importing it again",
		                   t->reference, PQgetvalue(r, 0, 1));
	PQclear(r);
	return rc;
}

int eng_store_tax_import(struct eng_store *s, const char *entity_id,
                         const struct eng_tax_receipt *rows, size_t n, size_t *added,
                         size_t *unchanged, size_t *bad, struct eng_error *err)
{
	*added = *unchanged = 0;
	*bad = n;
	/* As `tramit employee add` does: the entity is named by its id until `tramit serve`
	 * names it, so receipts can be loaded before the first start. */
	const char *pe[] = {entity_id};
	int rc = eng_store__command(s, "begin", "BEGIN", 0, NULL, err);
	PGresult *r = rc ? NULL : eng_store__query_in_tx(s, "entity", "INSERT INTO entity (id, name_ca, name_es) "
	                                     "VALUES ($1, $1, $1) ON CONFLICT (id) DO NOTHING", 1, pe,
	                                     PGRES_COMMAND_OK, err);
	if (!rc && !r)
		rc = err->code;
	PQclear(r);
	for (size_t i = 0; !rc && i < n; i++) {
		bool fresh = false;
		rc = import_row(s, entity_id, &rows[i], &fresh, err);
		if (rc)
			*bad = i;
		else if (fresh)
			(*added)++;
		else
			(*unchanged)++;
	}
	if (!rc) {
		r = eng_store__query_in_tx(s, "commit", "COMMIT", 0, NULL, PGRES_COMMAND_OK, err);
		bool committed = r != NULL;
		PQclear(r);
		if (committed)
			return 0;
		rc = err->code;
	}
	r = PQexec(s->conn, "ROLLBACK");
	PQclear(r);
	*added = *unchanged = 0;
	return rc;
}

int eng_store_tax_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const char *state, struct eng_tax_receipt **out, size_t *n,
                       struct eng_error *err)
{
	const char *p[] = {entity_id, state};
	PGresult *r = eng_store__query(s, "tax receipt list", "SELECT " RECEIPT_COLUMNS "FROM tax_receipt WHERE "
	                   "entity_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY reference",
	                   2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		receipt_take(&(*out)[i], a, r, (int)i, 0);
	PQclear(r);
	return 0;
}

/* One round trip: the client's allowance over the last minute ($5 = 0: no limit), the
 * receipt, and the log row, written only when the lookup was allowed. */
static const char find_sql[] =
	"WITH recent AS (SELECT $5::bigint = 0 OR count(*) < $5::bigint AS ok FROM tax_lookup "
	"WHERE client = $4 AND at > now() - interval '1 minute'), "
	"gone AS (DELETE FROM tax_lookup WHERE at < now() - interval '10 minutes'), "
	"logged AS (INSERT INTO tax_lookup (client) SELECT $4 WHERE (SELECT ok FROM recent)) "
	"SELECT (SELECT ok FROM recent), t.* FROM (SELECT 1) one LEFT JOIN (SELECT " RECEIPT_COLUMNS
	"FROM tax_receipt WHERE entity_id = $1 AND reference = $2 AND debtor_nif = $3 "
	"AND (SELECT ok FROM recent)) t ON true";

int eng_store_tax_find(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const char *reference, const char *nif, const char *client,
                       int64_t per_minute, struct eng_tax_receipt *out, struct eng_error *err)
{
	char limit[24];
	snprintf(limit, sizeof(limit), "%lld", (long long)per_minute);
	const char *p[] = {entity_id, reference, nif, client ? client : "", limit};
	PGresult *r = eng_store__query(s, "tax receipt lookup", find_sql, 5, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		rc = eng_error_set(err, ENG_EDENIED, "this client made %lld receipt lookups in the last "
		                   "minute", (long long)per_minute);
	} else if (PQgetisnull(r, 0, 1)) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no receipt for that reference and NIF");
	} else {
		receipt_take(out, a, r, 0, 1); /* after the allowance's column */
	}
	PQclear(r);
	return rc;
}

int eng_store_tax_cancel(struct eng_store *s, const char *entity_id, const char *reference,
                         struct eng_error *err)
{
	const char *p[] = {entity_id, reference};
	PGresult *r = eng_store__query(s, "tax receipt cancel", "WITH u AS (UPDATE tax_receipt SET state = "
	                   "'cancelled' WHERE entity_id = $1 AND reference = $2 AND state = 'pending' "
	                   "RETURNING 1) SELECT (SELECT count(*) FROM u), (SELECT state FROM tax_receipt "
	                   "WHERE entity_id = $1 AND reference = $2)", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQgetisnull(r, 0, 1))
		rc = eng_error_set(err, ENG_ENOTFOUND, "no receipt with reference %.20s", reference);
	else if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
		rc = eng_error_set(err, ENG_ECONFLICT, "receipt %.20s is %s, only a pending one can be "
		                   "cancelled", reference, PQgetvalue(r, 0, 1));
	PQclear(r);
	return rc;
}

/* ---- Card orders ------------------------------------------------------------------------- */

#define ORDER_COLUMNS \
	"order_no, purpose, tax_reference, expedient_id::text, effect_id, state, amount_cents "

static void order_take(struct eng_card_order *out, struct eng_arena *a, PGresult *r, int row)
{
	*out = (struct eng_card_order){
		.order_no = eng_store__col(a, r, row, 0), .purpose = eng_store__col(a, r, row, 1),
		.tax_reference = eng_store__col(a, r, row, 2), .expedient_id = eng_store__col(a, r, row, 3),
		.effect_id = eng_store__col(a, r, row, 4), .state = eng_store__col(a, r, row, 5),
		.amount_cents = atoll(PQgetvalue(r, row, 6))};
}

int eng_store_card_sequence_next(struct eng_store *s, int64_t *out, struct eng_error *err)
{
	PGresult *r = eng_store__query(s, "card order number", "SELECT nextval('card_order_tax_seq')", 0, NULL,
	                   PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*out = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int eng_store_card_order_add_tax(struct eng_store *s, const char *entity_id, const char *order_no,
                                 const char *reference, struct eng_error *err)
{
	const char *p[] = {order_no, entity_id, reference};
	PGresult *r = eng_store__query(s, "card order", "INSERT INTO card_order (order_no, entity_id, purpose, "
	                   "tax_reference, amount_cents) SELECT $1, $2, 'tax', reference, amount_cents "
	                   "FROM tax_receipt WHERE entity_id = $2 AND reference = $3 AND state = "
	                   "'pending' AND deadline >= current_date", 3, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	int rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0
	         : eng_error_set(err, ENG_ECONFLICT, "receipt %s is not pending or its voluntary "
	                         "period is over", reference);
	PQclear(r);
	return rc;
}

int eng_store_card_order_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *order_no, struct eng_card_order *out,
                             struct eng_error *err)
{
	const char *p[] = {order_no, entity_id};
	PGresult *r = eng_store__query(s, "card order", "SELECT " ORDER_COLUMNS "FROM card_order WHERE order_no = "
	                   "$1 AND entity_id = $2", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	bool known = PQntuples(r) == 1;
	if (known)
		order_take(out, a, r, 0);
	PQclear(r);
	if (known && strcmp(out->purpose, "tax") == 0)
		return 0;
	/* A fee's order: its effect says whether the fee is paid, whichever order paid it. */
	struct eng_payment_order fee;
	int rc = eng_store_payment_order(s, a, entity_id, order_no, &fee, err);
	if (rc)
		return rc;
	if (!known)
		*out = (struct eng_card_order){.order_no = eng_arena_strdup(a, order_no), .purpose = "fee",
		                               .expedient_id = fee.expedient_id, .effect_id = fee.effect_id,
		                               .state = "open", .amount_cents = fee.amount_cents};
	if (fee.paid)
		out->state = "paid";
	return 0;
}

static const char *const outcome_names[] = {"paid", "refused", "abandoned"};

/* Settles a tax receipt's order and, when paid, the receipt, in one statement. A paid answer
 * also settles an order closed as abandoned: the money was taken, whatever we thought. The
 * last column reads the receipt as it was before (the statement's snapshot). */
static const char settle_tax_sql[] =
	"WITH o AS (UPDATE card_order SET state = $3, settled_at = now(), settled_by = $4, "
	"response = $5, authorisation = $6 WHERE order_no = $1 AND entity_id = $2 AND purpose = 'tax' "
	"AND (state = 'open' OR (state = 'abandoned' AND $3 = 'paid')) RETURNING tax_reference), "
	"r AS (UPDATE tax_receipt t SET state = 'paid', paid_at = now(), paid_via = 'card', "
	"paid_order = $1 FROM o WHERE $3 = 'paid' AND t.entity_id = $2 AND t.reference = "
	"o.tax_reference AND t.state = 'pending' RETURNING t.reference) "
	"SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM r), (SELECT t.state || ' ' || "
	"coalesce(t.paid_order, '') FROM tax_receipt t JOIN card_order c ON c.entity_id = t.entity_id "
	"AND c.tax_reference = t.reference WHERE c.order_no = $1)";

static int settle_tax(struct eng_store *s, const char *entity_id, const struct eng_card_order *o,
                      const struct eng_card_settlement *st, char note[256], struct eng_error *err)
{
	const char *outcome = outcome_names[st->outcome];
	const char *p[] = {o->order_no, entity_id, outcome, st->by, st->response, st->authorisation};
	PGresult *r = eng_store__query(s, "card order settlement", settle_tax_sql, 6, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
		rc = eng_error_set(err, ENG_ECONFLICT, "order %s was settled meanwhile", o->order_no);
	else if (st->outcome != ENG_CARD_PAID)
		snprintf(note, 256, "order %s %s; receipt %s still pending", o->order_no, outcome,
		         o->tax_reference);
	else if (strcmp(PQgetvalue(r, 0, 1), "1") == 0)
		snprintf(note, 256, "receipt %s paid by card, order %s", o->tax_reference, o->order_no);
	else
		snprintf(note, 256, "order %s paid, but receipt %s was already %.60s: a refund is due",
		         o->order_no, o->tax_reference, PQgetvalue(r, 0, 2));
	PQclear(r);
	return rc;
}

/* The payment, as the result "paid" of the effect that ordered the fee. */
static int fee_paid(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const struct eng_card_order *o, const struct eng_card_settlement *st,
                    eng_definition_lookup lookup, void *payload, struct eng_error *err)
{
	json_t *res = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "order", o->order_no,
	                        "amount_cents", (json_int_t)st->amount_cents, "response", st->response,
	                        "authorisation", st->authorisation, "gateway", "redsys", "by", st->by);
	char *result = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(res);
	struct eng_command cmd = {
		.entity_id = entity_id, .expedient_id = o->expedient_id, .expected_version = -1,
		.result_json = result,
		.event = {.kind = ENG_EVENT_RESULT, .effect_id = o->effect_id, .outcome = "paid",
		          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "redsys"}, .time_ms = st->time_ms},
	};
	struct eng_outcome out;
	int rc = eng_store_apply(s, a, &cmd, lookup, payload, &out, err);
	free(result);
	return rc;
}

/* Records a fee order's settlement for reconciliation (the expedient has the payment). */
static const char settle_fee_sql[] =
	"INSERT INTO card_order AS c (order_no, entity_id, purpose, expedient_id, effect_id, "
	"amount_cents, state, settled_at, settled_by, response, authorisation) VALUES ($1, $2, 'fee', "
	"$3::uuid, $4, $5::bigint, $6, now(), $7, $8, $9) ON CONFLICT (order_no) DO UPDATE SET "
	"state = EXCLUDED.state, settled_at = now(), settled_by = EXCLUDED.settled_by, "
	"response = EXCLUDED.response, authorisation = EXCLUDED.authorisation "
	"WHERE c.state = 'open' OR (c.state = 'abandoned' AND EXCLUDED.state = 'paid')";

static int settle_fee(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const struct eng_card_order *o, const struct eng_card_settlement *st,
                      eng_definition_lookup lookup, void *payload, char note[256],
                      struct eng_error *err)
{
	if (st->outcome == ENG_CARD_PAID) {
		int rc = fee_paid(s, a, entity_id, o, st, lookup, payload, err);
		/* ENG_ECONFLICT means "settled meanwhile" to callers; an expedient refusing the
		 * result is something else, and an operator must see it. */
		if (rc == ENG_ECONFLICT) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			rc = eng_error_set(err, ENG_EINTERNAL, "order %s: expedient %s refused the payment: "
			                   "%.150s", o->order_no, o->expedient_id, why);
		}
		if (rc)
			return rc;
	}
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld", (long long)o->amount_cents);
	const char *p[] = {o->order_no, entity_id, o->expedient_id, o->effect_id, amount,
	                   outcome_names[st->outcome], st->by, st->response, st->authorisation};
	int rc = eng_store__command(s, "card order settlement", settle_fee_sql, 9, p, err);
	if (!rc)
		snprintf(note, 256, "order %s %s (%s of expedient %.40s)", o->order_no,
		         outcome_names[st->outcome], o->effect_id, o->expedient_id);
	return rc;
}

int eng_store_card_order_settle(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                const struct eng_card_order *o,
                                const struct eng_card_settlement *st,
                                eng_definition_lookup lookup, void *lookup_payload,
                                char note[256], struct eng_error *err)
{
	note[0] = '\0';
	if (strcmp(o->purpose, "tax") == 0)
		return settle_tax(s, entity_id, o, st, note, err);
	return settle_fee(s, a, entity_id, o, st, lookup, lookup_payload, note, err);
}

/* Fee orders live in their payment effects' results; reconciliation needs them here. A fee
 * already paid comes in settled. */
static const char discover_sql[] =
	"INSERT INTO card_order (order_no, entity_id, purpose, expedient_id, effect_id, amount_cents, "
	"state, created_at) SELECT o.result->>'order', o.entity_id, 'fee', o.expedient_id, o.effect_id, "
	"(o.result->>'amount_cents')::bigint, CASE WHEN coalesce(x.vars->>('paid.' || "
	"split_part(o.effect_id, ':', 2)), '') = 'yes' THEN 'paid' ELSE 'open' END, "
	"coalesce(o.done_at, o.created_at) FROM outbox o JOIN expedient x ON x.id = o.expedient_id "
	"WHERE o.kind = 'payment' AND o.state = 'done' AND o.entity_id = $1 AND "
	"o.result->>'order' IS NOT NULL AND NOT EXISTS (SELECT 1 FROM card_order c WHERE "
	"c.order_no = o.result->>'order') ON CONFLICT (order_no) DO NOTHING";

/* A fee paid through another order (a second attempt) needs no answer about this one: the
 * notice would be judged a duplicate and the order asked about again at every lease. */
static const char claim_sql[] =
	"UPDATE card_order SET next_check_at = now() + make_interval(secs => $3::int), "
	"checks = checks + 1 WHERE order_no IN (SELECT c.order_no FROM card_order c WHERE "
	"c.entity_id = $1 AND c.state = 'open' AND c.next_check_at <= now() AND c.created_at < now() "
	"- make_interval(secs => $2::int) AND NOT EXISTS (SELECT 1 FROM expedient x WHERE "
	"c.purpose = 'fee' AND x.id = c.expedient_id AND x.vars->>('paid.' || "
	"split_part(c.effect_id, ':', 2)) = 'yes') ORDER BY c.next_check_at LIMIT $4::int "
	"FOR UPDATE OF c SKIP LOCKED) RETURNING " ORDER_COLUMNS;

int eng_store_card_orders_claim(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                int older_than_s, int lease_s, int limit,
                                struct eng_card_order **out, size_t *n, struct eng_error *err)
{
	*n = 0;
	const char *pd[] = {entity_id};
	int rc = eng_store__command(s, "fee orders", discover_sql, 1, pd, err);
	if (rc)
		return rc;
	char older[16], lease[16], lim[16];
	snprintf(older, sizeof(older), "%d", older_than_s);
	snprintf(lease, sizeof(lease), "%d", lease_s);
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {entity_id, older, lease, lim};
	PGresult *r = eng_store__query(s, "card order claim", claim_sql, 4, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		order_take(&(*out)[i], a, r, (int)i);
	PQclear(r);
	return 0;
}

int eng_store_card_order_retry(struct eng_store *s, const char *entity_id, const char *order_no,
                               int retry_s, const char *why, struct eng_error *err)
{
	char retry[16];
	snprintf(retry, sizeof(retry), "%d", retry_s);
	const char *p[] = {entity_id, order_no, retry, why};
	return eng_store__command(s, "card order retry", "UPDATE card_order SET next_check_at = now() + "
	                "make_interval(secs => $3::int), last_error = left($4, 500) WHERE entity_id = $1 "
	                "AND order_no = $2 AND state = 'open'", 4, p, err);
}
