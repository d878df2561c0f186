/* Order numbers and the signed redirect form. Invariant: an order number we issue is twelve
 * digits, a sequence and its ISO 7064 MOD 97-10 check, so it is well formed for the gateway,
 * one-to-one with the sequence, and a mistyped or foreign number is recognised. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "redsys_internal.h"

/* ISO 7064 MOD 97-10 (the IBAN check): 98 - (sequence * 100 mod 97). */
static int check_digits(long long sequence)
{
	return 98 - (int)((sequence % 97) * 100 % 97);
}

int conn_redsys_order_make(char out[CONN_REDSYS_ORDER_MAX + 1], long long sequence,
                           struct conn_error *err)
{
	if (sequence < 1 || sequence > CONN_REDSYS_SEQUENCE_MAX)
		return conn__errorf(err, CONN_EINVALID,
		                    "order sequence: expected 1..%lld, found %lld",
		                    CONN_REDSYS_SEQUENCE_MAX, sequence);
	snprintf(out, CONN_REDSYS_ORDER_MAX + 1, "%010lld%02d", sequence, check_digits(sequence));
	return 0;
}

bool conn_redsys_order_well_formed(const char *order)
{
	size_t len = strlen(order);
	if (len < 4 || len > CONN_REDSYS_ORDER_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = order[i];
		bool digit = c >= '0' && c <= '9';
		bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		if (!digit && (i < 4 || !letter))
			return false;
	}
	return true;
}

bool conn_redsys_order_ours(const char *order)
{
	if (strlen(order) != CONN_REDSYS_ORDER_MAX || strspn(order, "0123456789") != CONN_REDSYS_ORDER_MAX)
		return false;
	char seq[11];
	memcpy(seq, order, 10);
	seq[10] = '\0';
	long long sequence = strtoll(seq, NULL, 10);
	int check = (order[10] - '0') * 10 + (order[11] - '0');
	return sequence >= 1 && check == check_digits(sequence);
}

/* The parameters JSON in DOMAIN.md's key order, compact, as malloc'd text (NULL: no memory).
 * jansson keeps insertion order and writes "/" unescaped, as the gateway's own kits do. */
static char *params_json(const struct conn_redsys_merchant *m, const char *order,
                         long long amount_cents)
{
	char amount[24];
	snprintf(amount, sizeof(amount), "%lld", amount_cents);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	                      "DS_MERCHANT_AMOUNT", amount, "DS_MERCHANT_ORDER", order,
	                      "DS_MERCHANT_MERCHANTCODE", m->merchant_code,
	                      "DS_MERCHANT_CURRENCY", "978", "DS_MERCHANT_TRANSACTIONTYPE", "0",
	                      "DS_MERCHANT_TERMINAL", m->terminal,
	                      "DS_MERCHANT_MERCHANTURL", m->merchant_url,
	                      "DS_MERCHANT_URLOK", m->url_ok, "DS_MERCHANT_URLKO", m->url_ko);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}

int conn_redsys_form_sign(struct conn_redsys_form *out, const struct conn_redsys_merchant *m,
                          const char *order, long long amount_cents, struct conn_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!conn_redsys_order_well_formed(order))
		return conn__errorf(err, CONN_EINVALID, "order: expected 4 to 12 letters or digits, the "
		                    "first 4 digits, found '%.40s'", order);
	if (amount_cents < 1 || amount_cents > 99999999999LL)
		return conn__errorf(err, CONN_EINVALID, "amount_cents: expected 1..99999999999, found %lld",
		                    amount_cents);
	char *json = params_json(m, order, amount_cents);
	if (!json)
		return conn__errorf(err, CONN_ENOMEM, "out of memory while building the parameters");
	int n = conn__redsys_b64_encode(out->params, sizeof(out->params),
	                                (const unsigned char *)json, strlen(json));
	free(json);
	if (n < 0)
		return conn__errorf(err, CONN_EINVALID, "the merchant parameters exceed %d bytes in "
		                    "Base64: shorten merchant_url, url_ok or url_ko",
		                    CONN_REDSYS_PARAMS_MAX - 1);
	int rc = conn_redsys_sign(out->signature, m->key, order, out->params, err);
	if (rc)
		return rc;
	snprintf(out->order, sizeof(out->order), "%s", order);
	snprintf(out->version, sizeof(out->version), "HMAC_SHA256_V1");
	out->amount_cents = amount_cents;
	return 0;
}
