/* Card payments: the gateway's asynchronous notification and the reconciliation of orders that
 * never got one. Payment state comes only from a notice whose signature verified with the
 * merchant key (connectors/redsys), judged against the order we issued: an expedient fee's
 * (its payment effect) or a tax receipt's (the payment manager). A paid fee becomes the result
 * "paid" of its effect, which the tràmit reacts to like any other result; a paid receipt is
 * marked paid with its order. The gateway gets 200 for everything it must not send again
 * (paid, refused, duplicate, or a mismatch an operator must look at) and 4xx for what was not
 * its notification at all. */
#include "payments.h"

#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void answer(struct web_ctx *c, int status, const char *text)
{
	evbuffer_add_printf(c->out, "%s\n", text);
	web_send(c, status, "text/plain; charset=utf-8");
}

static enum conn_redsys_order_status order_status(const char *state)
{
	/* An abandoned order is one the gateway did not know when asked; if it now says it was
	 * paid, the money was taken and the order settles. */
	return strcmp(state, "paid") == 0 ? CONN_REDSYS_ORDER_PAID
	       : strcmp(state, "refused") == 0 ? CONN_REDSYS_ORDER_REFUSED : CONN_REDSYS_ORDER_OPEN;
}

int web_payment_settle(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const struct conn_redsys_merchant *m, const struct conn_redsys_notice *n,
                       const char *by, eng_definition_lookup lookup, void *lookup_payload,
                       enum conn_redsys_verdict *verdict, char reason[256], struct eng_error *err)
{
	struct eng_card_order o;
	int rc = eng_store_card_order_get(s, a, entity_id, n->order, &o, err);
	if (rc && rc != ENG_ENOTFOUND)
		return rc;
	struct conn_redsys_order known = {n->order, (long long)(rc ? 0 : o.amount_cents),
	                                  rc ? CONN_REDSYS_ORDER_OPEN : order_status(o.state)};
	*verdict = conn_redsys_notice_judge(n, m, rc ? NULL : &known, reason);
	if (rc || (*verdict != CONN_REDSYS_PAID && *verdict != CONN_REDSYS_REFUSED))
		return 0;
	struct eng_card_settlement st = {
		.outcome = *verdict == CONN_REDSYS_PAID ? ENG_CARD_PAID : ENG_CARD_REFUSED, .by = by,
		.response = n->response, .authorisation = n->authorisation,
		.amount_cents = n->amount_cents, .time_ms = web_now_ms()};
	char note[256];
	rc = eng_store_card_order_settle(s, a, entity_id, &o, &st, lookup, lookup_payload, note, err);
	if (rc == ENG_ECONFLICT) {
		/* Another server settled it between our read and our write. */
		*verdict = CONN_REDSYS_DUPLICATE;
		snprintf(reason, 256, "order %s was settled meanwhile; this %s changes nothing",
		         n->order, by);
		return 0;
	}
	if (!rc)
		snprintf(reason, 256, "%s", note);
	return rc;
}

void web_route_redsys_notification(struct web_ctx *c)
{
	const struct conn_redsys *r = conn_set_state(c->srv->cfg.connectors, "redsys");
	if (!r)
		return answer(c, 404, "card payments are not configured");
	size_t len;
	char *body = web_body(c, 16384, &len);
	if (!body)
		return answer(c, 413, "the notification is larger than 16 KiB");
	struct evkeyvalq form;
	TAILQ_INIT(&form);
	if (evhttp_parse_query_str(body, &form) != 0)
		return answer(c, 400, "the body is not a form (application/x-www-form-urlencoded)");
	const char *version = evhttp_find_header(&form, "Ds_SignatureVersion");
	const char *params = evhttp_find_header(&form, "Ds_MerchantParameters");
	const char *signature = evhttp_find_header(&form, "Ds_Signature");
	const struct conn_redsys_merchant *m = conn_redsys_merchant_of(r);
	struct conn_redsys_notice n;
	struct conn_error cerr = {0};
	int rc = conn_redsys_notice_verify(&n, m, version ? version : "", params ? params : "",
	                                   signature ? signature : "", &cerr);
	evhttp_clear_headers(&form);
	if (rc) {
		fprintf(stderr, "tramit: payment notification refused: %s\n", cerr.msg);
		return answer(c, rc == CONN_REDSYS_EFORGED ? 403 : 400, cerr.msg);
	}
	enum conn_redsys_verdict v;
	char reason[256];
	struct eng_error err = {0};
	rc = web_payment_settle(c->store, &c->arena, c->srv->cfg.entity_id, m, &n, "notification",
	                        cat_catalog_lookup, (void *)c->srv->catalog, &v, reason, &err);
	if (rc) {
		fprintf(stderr, "tramit: payment of order %s not recorded: %s\n", n.order, err.msg);
		/* The gateway sends it again later; the order is still open then. */
		return answer(c, rc == ENG_EUNAVAILABLE ? 503 : 500, "not recorded; send it again later");
	}
	fprintf(stderr, "tramit: payment notification: %s\n", reason);
	answer(c, 200, v == CONN_REDSYS_PAID ? "paid" : v == CONN_REDSYS_REFUSED ? "refused"
	               : v == CONN_REDSYS_DUPLICATE ? "already settled" : "mismatch: an operator will look at it");
}

/* ---- Reconciliation ---------------------------------------------------------------------- */

/* Asks the gateway about one claimed order and settles it, or leaves it for later. */
static int reconcile_one(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const struct conn_redsys *r, const struct eng_card_order *o,
                         eng_definition_lookup lookup, void *payload, int retry_s, FILE *report,
                         struct web_reconcile_stats *st, struct eng_error *err)
{
	struct conn_redsys_notice n;
	struct conn_error cerr = {0};
	char reason[256];
	int rc = conn_redsys_query(&n, r, o->order_no, &cerr);
	st->checked++;
	if (rc == CONN_REDSYS_EGATEWAY) {
		struct eng_card_settlement gone = {.outcome = ENG_CARD_ABANDONED, .by = "query",
		                                   .response = "", .authorisation = "",
		                                   .time_ms = web_now_ms()};
		rc = eng_store_card_order_settle(s, a, entity_id, o, &gone, lookup, payload, reason, err);
		if (rc == ENG_ECONFLICT)
			return 0;
		if (!rc) {
			st->abandoned++;
			if (report)
				fprintf(report, "order %s abandoned: %s\n", o->order_no, cerr.msg);
		}
		return rc;
	}
	enum conn_redsys_verdict v = CONN_REDSYS_MISMATCH;
	if (!rc) {
		rc = web_payment_settle(s, a, entity_id, conn_redsys_merchant_of(r), &n, "query", lookup,
		                        payload, &v, reason, err);
		if (rc)
			return rc;
		if (v == CONN_REDSYS_PAID || v == CONN_REDSYS_REFUSED || v == CONN_REDSYS_DUPLICATE) {
			st->paid += v == CONN_REDSYS_PAID;
			st->refused += v == CONN_REDSYS_REFUSED;
			if (report)
				fprintf(report, "%s\n", reason);
			return 0;
		}
	} else {
		snprintf(reason, sizeof(reason), "%s", cerr.msg);
	}
	/* Unreachable, unverifiable, unfinished or mismatched: ask again later. */
	st->later++;
	if (report)
		fprintf(report, "order %s left open, asking again in %d s: %s\n", o->order_no, retry_s,
		        reason);
	return eng_store_card_order_retry(s, entity_id, o->order_no, retry_s, reason, err);
}

int web_payments_reconcile(struct eng_store *s, const char *entity_id,
                           const struct conn_set *connectors, eng_definition_lookup lookup,
                           void *lookup_payload, int older_than_s, int retry_s, FILE *report,
                           struct web_reconcile_stats *out, struct eng_error *err)
{
	*out = (struct web_reconcile_stats){0};
	const struct conn_redsys *r = conn_set_state(connectors, "redsys");
	if (!r || !conn_redsys_can_query(r))
		return eng_error_set(err, WEB_ENOPAYMENTS, "%s", r ? "redsys.query_url is not "
		                     "configured: open orders cannot be asked about"
		                     : "card payments (redsys) are not configured");
	/* The lease outlasts the slowest query, so no other server asks about a claimed order. */
	int lease_s = 60 + 2 * 300;
	int rc = 0;
	for (;;) {
		struct eng_arena a = {0};
		struct eng_card_order *orders;
		size_t n = 0;
		rc = eng_store_card_orders_claim(s, &a, entity_id, older_than_s, lease_s, 20, &orders,
		                                 &n, err);
		for (size_t i = 0; !rc && i < n; i++)
			rc = reconcile_one(s, &a, entity_id, r, &orders[i], lookup, lookup_payload, retry_s,
			                   report, out, err);
		eng_arena_free(&a);
		if (rc || n == 0)
			break;
	}
	return rc;
}
