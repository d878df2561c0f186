/* The "redsys" connector: validates the entity's merchant configuration and performs "payment"
 * effects by creating the payment order, a signed redirect form the e-office shows the
 * citizen. Invariant: perform does no I/O and derives everything from the outbox row, so any
 * repeat of a row answers the same order number and the same signed fields. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "redsys_internal.h"

/* Long URLs would not fit the parameters and the delivery's result (2 KiB) together. */
enum { URL_MAX = 200 };

static const char *const keys[] = {
	"merchant_code", "terminal", "secret_key", "gateway_url", "merchant_url", "url_ok", "url_ko",
	"query_url", "timeout_s", NULL,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe: open runs at start-up, before the workers. */
static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int read_digits(const char **out, const json_t *c, const char *key, size_t max,
                       struct conn_error *err)
{
	int rc = conn__cfg_string(out, c, key, true, err);
	if (rc)
		return rc;
	size_t len = strlen(*out);
	if (len > max || strspn(*out, "0123456789") != len)
		return conn__errorf(err, CONN_EINVALID, "%s: expected 1 to %zu digits, found '%.40s'",
		                    key, max, *out);
	return 0;
}

static int read_url(const char **out, const json_t *c, const char *key, bool required,
                    struct conn_error *err)
{
	int rc = conn__cfg_string(out, c, key, required, err);
	if (rc || !*out)
		return rc;
	if ((strncmp(*out, "https://", 8) != 0 && strncmp(*out, "http://", 7) != 0) ||
	    strpbrk(*out, " \"<>\\") || strlen(*out) > URL_MAX)
		return conn__errorf(err, CONN_EINVALID, "%s: expected an http:// or https:// address of "
		                    "at most %d characters without spaces or quotes, found '%.60s'",
		                    key, URL_MAX, *out);
	return 0;
}

static int read_config(struct conn_redsys *r, const json_t *c, struct conn_error *err)
{
	struct conn_redsys_merchant *m = &r->merchant;
	const char *secret = NULL;
	int rc = conn__cfg_known(c, keys, err);
	if (!rc)
		rc = read_digits(&m->merchant_code, c, "merchant_code", 9, err);
	if (!rc)
		rc = read_digits(&m->terminal, c, "terminal", 3, err);
	if (!rc)
		rc = conn__cfg_string(&secret, c, "secret_key", true, err);
	struct conn_error key_err = {0};
	if (!rc && conn_redsys_key_decode(m->key, secret, &key_err) != 0)
		rc = conn__errorf(err, CONN_EINVALID, "secret_key: %s (the merchant key from the "
		                  "gateway's administration module)", key_err.msg);
	if (!rc)
		rc = read_url(&r->gateway_url, c, "gateway_url", true, err);
	if (!rc)
		rc = read_url(&m->merchant_url, c, "merchant_url", true, err);
	if (!rc)
		rc = read_url(&m->url_ok, c, "url_ok", true, err);
	if (!rc)
		rc = read_url(&m->url_ko, c, "url_ko", true, err);
	if (!rc)
		rc = read_url(&r->query_url, c, "query_url", false, err);
	if (!rc)
		rc = conn__cfg_int(&r->timeout_s, c, "timeout_s", 1, 300, err);
	return rc;
}

static void redsys_close(void *state)
{
	struct conn_redsys *r = state;
	if (!r)
		return;
	json_decref(r->config);
	OPENSSL_cleanse(r->merchant.key, sizeof(r->merchant.key));
	free(r);
}

static int redsys_open(void **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "not configured");
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	struct conn_redsys *r = calloc(1, sizeof(*r));
	if (!r)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	r->timeout_s = 10;
	int rc = conn__cfg_parse(&r->config, config_json, err);
	if (!rc)
		rc = read_config(r, r->config, err);
	if (rc) {
		redsys_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

const struct conn_redsys_merchant *conn_redsys_merchant_of(const struct conn_redsys *r)
{
	return &r->merchant;
}

const char *conn_redsys_gateway_url(const struct conn_redsys *r)
{
	return r->gateway_url;
}

/* The amount_cents arg the engine writes as a decimal string. */
static int read_amount(long long *out, const json_t *args, char err[256])
{
	const char *s = json_string_value(json_object_get(args, "amount_cents"));
	size_t len = s ? strlen(s) : 0;
	if (!s || len == 0 || len > 11 || strspn(s, "0123456789") != len || strtoll(s, NULL, 10) < 1) {
		snprintf(err, 256, "args.amount_cents: expected a positive whole number of cents as a "
		         "string, found %s", s ? s : "none");
		return -1;
	}
	*out = strtoll(s, NULL, 10);
	return 0;
}

/* The order as the e-office needs it to show the payment page, into out->result_json. */
static int result_write(struct eng_delivery *out, const struct conn_redsys *r,
                        const struct conn_redsys_form *f)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:{s:s, s:s, s:s}}", "order", f->order,
	                      "amount_cents", (json_int_t)f->amount_cents, "currency", "978",
	                      "action", r->gateway_url, "fields", "Ds_SignatureVersion", f->version,
	                      "Ds_MerchantParameters", f->params, "Ds_Signature", f->signature);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	int rc = text && strlen(text) < sizeof(out->result_json) ? 0 : -1;
	if (!rc)
		snprintf(out->result_json, sizeof(out->result_json), "%s", text);
	free(text);
	return rc;
}

static void fail(struct eng_delivery *out, const struct eng_outbox_item *item, const char *why)
{
	out->status = ENG_DELIVERY_FAILED;
	/* Bounded so the reason always fits after the key. */
	snprintf(out->error, sizeof(out->error), "payment %.60s: %.180s", item->idempotency_key, why);
}

static void redsys_perform(void *state, const struct eng_outbox_item *item,
                           struct eng_delivery *out)
{
	struct conn_redsys *r = state;
	char why[256] = "";
	long long amount = 0;
	struct conn_redsys_form *form = calloc(1, sizeof(*form));
	struct conn_error err = {0};
	json_t *args = json_loads(item->args_json ? item->args_json : "{}", 0, NULL);
	char order[CONN_REDSYS_ORDER_MAX + 1];
	if (!form)
		fail(out, item, "out of memory");
	else if (!json_is_object(args))
		fail(out, item, "args are not a JSON object");
	else if (read_amount(&amount, args, why) != 0)
		fail(out, item, why);
	else if (conn_redsys_order_make(order, item->id, &err) != 0 ||
	         conn_redsys_form_sign(form, &r->merchant, order, amount, &err) != 0)
		fail(out, item, err.msg);
	else if (result_write(out, r, form) != 0)
		fail(out, item, "the signed form does not fit the delivery's result (2 KiB): shorten "
		                "gateway_url, merchant_url, url_ok or url_ko");
	else {
		out->status = ENG_DELIVERY_DONE;
		snprintf(out->outcome, sizeof(out->outcome), "ordered");
	}
	json_decref(args);
	free(form);
}

static const char *redsys_describe(void)
{
	return "creates card payment orders on a Redsys-compatible gateway (HMAC_SHA256_V1) for\n"
	       "\"payment\" effects (args: amount_cents); the result carries the order number and\n"
	       "the signed form the citizen's browser posts to the gateway. Payment is confirmed\n"
	       "only by the gateway's signed notification (or a reconciliation query).\n"
	       "configuration (\"redsys\": {...}):\n"
	       "  merchant_code  string   merchant number (FUC), up to 9 digits (required)\n"
	       "  terminal       string   terminal number, up to 3 digits (required)\n"
	       "  secret_key     string   merchant key, Base64 of 24 bytes (required)\n"
	       "  gateway_url    string   where the citizen's browser posts the form (required)\n"
	       "  merchant_url   string   where the gateway posts its notification (required)\n"
	       "  url_ok, url_ko string   where the citizen returns after paying or not (required)\n"
	       "  query_url      string   the gateway's REST query endpoint, for reconciliation\n"
	       "  timeout_s      integer  query timeout, 1..300 (default 10)\n";
}

static int redsys_health(void *state, char *buf, size_t len)
{
	struct conn_redsys *r = state;
	char gateway[300], merchant[40];
	conn__json_quote(gateway, sizeof(gateway), r->gateway_url);
	conn__json_quote(merchant, sizeof(merchant), r->merchant.merchant_code);
	snprintf(buf, len, "{\"status\": \"ok\", \"gateway\": %s, \"merchant_code\": %s, "
	         "\"reconciliation\": %s}", gateway, merchant, r->query_url ? "true" : "false");
	return 0;
}

static const char *const effect_kinds[] = {"payment", NULL};

const struct conn_type conn_redsys_type = {
	.version = CONN_INTERFACE_VERSION,
	.name = "redsys",
	.capabilities = CONN_CAP_EFFECTS | CONN_CAP_HEALTH,
	.effect_kinds = effect_kinds,
	.open = redsys_open,
	.perform = redsys_perform,
	.close = redsys_close,
	.describe = redsys_describe,
	.health = redsys_health,
};
