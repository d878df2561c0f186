/* Card payments: the gateway's asynchronous notification. Payment state comes only from a
 * notification whose signature verified with the merchant key (connectors/redsys); it is
 * judged against the order the payment effect issued, and a payment becomes the result
 * "paid" of that effect on its expedient, which the tràmit reacts to like any other result.
 * The gateway gets 200 for everything it must not send again (paid, refused, duplicate, or a
 * mismatch an operator must look at) and 4xx for what was not its notification at all. */
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "connectors/redsys/redsys.h"
#include "internal.h"

static void answer(struct web_ctx *c, int status, const char *text)
{
	evbuffer_add_printf(c->out, "%s\n", text);
	web_send(c, status, "text/plain; charset=utf-8");
}

/* The payment, as the result of the effect that ordered it. */
static int record_paid(struct web_ctx *c, const struct eng_payment_order *o,
                       const struct conn_redsys_notice *n, struct eng_error *err)
{
	json_t *res = json_pack("{s:s, s:I, s:s, s:s, s:s}", "order", n->order,
	                        "amount_cents", (json_int_t)n->amount_cents, "response", n->response,
	                        "authorisation", n->authorisation, "gateway", "redsys");
	char *result = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(res);
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id, .expedient_id = o->expedient_id,
		.expected_version = -1, .result_json = result,
		.event = {.kind = ENG_EVENT_RESULT, .effect_id = o->effect_id, .outcome = "paid",
		          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "redsys"}, .time_ms = web_now_ms()},
	};
	struct eng_outcome out;
	int rc = eng_store_apply(c->store, &c->arena, &cmd, cat_catalog_lookup, (void *)c->srv->catalog,
	                         &out, err);
	free(result);
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
	struct eng_payment_order o;
	struct eng_error err = {0};
	rc = eng_store_payment_order(c->store, &c->arena, c->srv->cfg.entity_id, n.order, &o, &err);
	if (rc && rc != ENG_ENOTFOUND)
		return answer(c, 503, "the database is unavailable; send it again later");
	struct conn_redsys_order known = {n.order, (long long)o.amount_cents,
	                                  o.paid ? CONN_REDSYS_ORDER_PAID : CONN_REDSYS_ORDER_OPEN};
	char reason[256];
	enum conn_redsys_verdict v = conn_redsys_notice_judge(&n, m, rc ? NULL : &known, reason);
	fprintf(stderr, "tramit: payment notification: %s\n", reason);
	if (v == CONN_REDSYS_PAID && (rc = record_paid(c, &o, &n, &err)) != 0) {
		fprintf(stderr, "tramit: payment of order %s not recorded: %s\n", n.order, err.msg);
		/* The gateway sends it again later; the order is still open then. */
		return answer(c, rc == ENG_EUNAVAILABLE ? 503 : 500, "not recorded; send it again later");
	}
	answer(c, 200, v == CONN_REDSYS_PAID ? "paid" : v == CONN_REDSYS_REFUSED ? "refused"
	               : v == CONN_REDSYS_DUPLICATE ? "already settled" : "mismatch: an operator will look at it");
}
