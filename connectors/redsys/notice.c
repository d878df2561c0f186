/* The gateway's signed answers: verifying a notification's signature in constant time,
 * reading its fields, interpreting Ds_Response and judging it against the order it names.
 * Invariant: nothing is read from the parameters as fact before the signature verified, except
 * Ds_Order, which only selects the key the signature is checked with. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/config.h"
#include "redsys_internal.h"

/* Base64 text of a notification's parameters is a few hundred bytes; refuse anything huge
 * before decoding it. */
enum { PARAMS_TEXT_MAX = 16384 };

/* A field of the parameters, whatever the case of its name (the gateway writes "Ds_Order",
 * some answers "DS_ORDER"). */
static const json_t *field(const json_t *params, const char *name)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)params, key, value)
		if (strcasecmp(key, name) == 0)
			return value;
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies s into out URL-decoded (the gateway sends Ds_Date as "30%2F08%2F2022"). Returns 0, or
 * -1 when it does not fit or holds a control character. */
static int url_decode(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		int c = (unsigned char)s[i];
		if (c == '%' && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
			c = hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Reads a string field into out; digits_max > 0 requires 1..digits_max digits. Absent and not
 * required leaves out empty. */
static int read_text(char *out, size_t cap, const json_t *params, const char *name, bool required,
                     size_t digits_max, struct conn_error *err)
{
	const json_t *v = field(params, name);
	out[0] = '\0';
	if (!v && !required)
		return 0;
	if (!json_is_string(v))
		return conn__errorf(err, CONN_EINVALID, "Ds_MerchantParameters: %s: %s", name,
		                    v ? "expected a string" : "missing");
	const char *s = json_string_value(v);
	if (url_decode(out, cap, s) != 0)
		return conn__errorf(err, CONN_EINVALID, "Ds_MerchantParameters: %s: longer than %zu "
		                    "characters or holding control characters", name, cap - 1);
	size_t len = strlen(out);
	if (digits_max && (len == 0 || len > digits_max || strspn(out, "0123456789") != len))
		return conn__errorf(err, CONN_EINVALID, "Ds_MerchantParameters: %s: expected 1 to %zu "
		                    "digits, found '%.20s'", name, digits_max, out);
	return 0;
}

static int read_fields(struct conn_redsys_notice *n, const json_t *p, struct conn_error *err)
{
	char amount[16];
	int rc = read_text(amount, sizeof(amount), p, "Ds_Amount", true, 12, err);
	if (!rc)
		rc = read_text(n->currency, sizeof(n->currency), p, "Ds_Currency", true, 3, err);
	if (!rc)
		rc = read_text(n->response, sizeof(n->response), p, "Ds_Response", false, 4, err);
	if (!rc)
		rc = read_text(n->merchant_code, sizeof(n->merchant_code), p, "Ds_MerchantCode", true, 15,
		               err);
	if (!rc)
		rc = read_text(n->terminal, sizeof(n->terminal), p, "Ds_Terminal", true, 7, err);
	if (!rc)
		rc = read_text(n->transaction_type, sizeof(n->transaction_type), p, "Ds_TransactionType",
		               false, 3, err);
	if (!rc)
		rc = read_text(n->authorisation, sizeof(n->authorisation), p, "Ds_AuthorisationCode",
		               false, 0, err);
	if (!rc)
		rc = read_text(n->date, sizeof(n->date), p, "Ds_Date", false, 0, err);
	if (!rc)
		rc = read_text(n->hour, sizeof(n->hour), p, "Ds_Hour", false, 0, err);
	if (rc)
		return rc;
	n->amount_cents = strtoll(amount, NULL, 10);
	/* Codes arrive as "0000" but some answers drop leading zeros ("0"): normalise to four. */
	if (n->response[0]) {
		char padded[5];
		snprintf(padded, sizeof(padded), "%04d", atoi(n->response));
		memcpy(n->response, padded, sizeof(padded));
	}
	n->authorised = n->response[0] && conn_redsys_response_authorised(n->response);
	n->reason = n->response[0] ? conn_redsys_response_reason(n->response)
	                           : "no Ds_Response: the operation has not finished";
	return 0;
}

/* Decodes the Base64 parameters into a JSON object (*out, caller json_decref). */
static int params_decode(json_t **out, const char *params_b64, struct conn_error *err)
{
	size_t len = strlen(params_b64);
	if (len == 0 || len > PARAMS_TEXT_MAX)
		return conn__errorf(err, CONN_EINVALID, "Ds_MerchantParameters: expected 1 to %d "
		                    "characters of Base64, found %zu", PARAMS_TEXT_MAX, len);
	unsigned char *raw = malloc(len);
	if (!raw)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	long n = conn__redsys_b64_decode(raw, len, params_b64);
	json_error_t jerr;
	*out = n > 0 ? json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	free(raw);
	if (n <= 0)
		return conn__errorf(err, CONN_EINVALID, "Ds_MerchantParameters: not Base64");
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return conn__errorf(err, CONN_EINVALID,
		                    "Ds_MerchantParameters: the decoded text is not a JSON object");
	}
	return 0;
}

/* Recomputes the signature with the key of order and compares the bytes in constant time.
 * The received text may use either Base64 alphabet: comparing decoded bytes makes "-_" and
 * "+/" (and a missing padding) equal without comparing text that varies. */
static int signature_check(const struct conn_redsys_merchant *m, const char *order,
                           const char *params_b64, const char *signature, struct conn_error *err)
{
	unsigned char want[32], got[33];
	int rc = conn__redsys_mac(want, m->key, order, params_b64, err);
	if (rc)
		return rc;
	long n = strlen(signature) <= 64 ? conn__redsys_b64_decode(got, sizeof(got), signature) : -1;
	bool same = n == 32 && CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!same)
		return conn__errorf(err, CONN_REDSYS_EFORGED,
		                    "Ds_Signature does not match the parameters signed with the merchant "
		                    "key for order %s: forged, altered on the way, or signed with "
		                    "another merchant's key", order);
	return 0;
}

int conn_redsys_notice_verify(struct conn_redsys_notice *out, const struct conn_redsys_merchant *m,
                              const char *version, const char *params_b64, const char *signature,
                              struct conn_error *err)
{
	memset(out, 0, sizeof(*out));
	json_t *params = NULL;
	char order[CONN_REDSYS_ORDER_MAX + 1];
	int rc = 0;
	if (!version || strcmp(version, "HMAC_SHA256_V1") != 0) {
		rc = conn__errorf(err, CONN_EINVALID, "Ds_SignatureVersion: expected HMAC_SHA256_V1, "
		                  "found '%.40s'", version ? version : "(missing)");
		goto done;
	}
	if (!params_b64 || !signature) {
		rc = conn__errorf(err, CONN_EINVALID, "%s: missing",
		                  params_b64 ? "Ds_Signature" : "Ds_MerchantParameters");
		goto done;
	}
	if ((rc = params_decode(&params, params_b64, err)) != 0)
		goto done;
	if ((rc = read_text(order, sizeof(order), params, "Ds_Order", true, 0, err)) != 0)
		goto done;
	if ((rc = signature_check(m, order, params_b64, signature, err)) != 0)
		goto done;
	if ((rc = read_fields(out, params, err)) != 0)
		goto done;
	memcpy(out->order, order, sizeof(order));
done:
	if (rc)
		memset(out, 0, sizeof(*out));
	json_decref(params);
	return rc;
}

bool conn_redsys_response_authorised(const char *code)
{
	if (strlen(code) != 4 || strspn(code, "0123456789") != 4)
		return false;
	int v = atoi(code);
	return v <= 99 || v == 900;
}

/* The codes a municipal e-office meets most; the gateway's manual lists the rest. */
static const struct { int code; const char *reason; } reasons[] = {
	{101, "the card has expired"},
	{102, "the card is blocked temporarily or suspected of fraud"},
	{106, "too many wrong PIN attempts"},
	{125, "the card is not active"},
	{129, "wrong security code (CVV2/CVC2)"},
	{172, "refused, do not retry"},
	{173, "refused, do not retry without updating the card details"},
	{174, "refused, do not retry within 72 hours"},
	{180, "the card is not accepted by this service"},
	{184, "the cardholder failed authentication (3-D Secure)"},
	{190, "the card issuer declined without giving a reason"},
	{191, "wrong expiry date"},
	{195, "strong customer authentication required"},
	{202, "the card is blocked (suspected fraud); the issuer asks to retain it"},
	{400, "cancellation accepted"},
	{900, "refund or confirmation authorised"},
	{904, "merchant not registered at the gateway (check merchant_code)"},
	{909, "gateway system error"},
	{912, "the card issuer is not available"},
	{913, "repeated order number"},
	{944, "wrong session"},
	{950, "refund not allowed"},
	{9064, "wrong number of card digits"},
	{9078, "operation type not allowed for this card"},
	{9093, "the card does not exist"},
	{9094, "refused by the international servers"},
	{9104, "the merchant requires secure payment and the cardholder has no secure-purchase key"},
	{9218, "the merchant does not accept secure operations through this entry"},
	{9253, "the card number fails its check digit"},
	{9256, "the merchant cannot take preauthorisations"},
	{9257, "the card does not allow preauthorisations"},
	{9261, "stopped by the gateway's restriction controls"},
	{9912, "the card issuer is not available"},
	{9915, "the citizen cancelled the payment"},
	{9997, "another operation with the same card is in progress"},
	{9998, "the operation is waiting for card details"},
	{9999, "the operation was sent to the issuer for authentication"},
};

const char *conn_redsys_response_reason(const char *code)
{
	if (strlen(code) == 0 || strlen(code) > 4 || strspn(code, "0123456789") != strlen(code))
		return "not a Ds_Response code";
	int v = atoi(code);
	if (v <= 99)
		return "authorised";
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == v)
			return reasons[i].reason;
	return "refused (a code this platform does not describe: see the gateway's manual)";
}

static bool same_number(const char *a, const char *b)
{
	return strtoll(a, NULL, 10) == strtoll(b, NULL, 10);
}

enum conn_redsys_verdict conn_redsys_notice_judge(const struct conn_redsys_notice *n,
                                                  const struct conn_redsys_merchant *m,
                                                  const struct conn_redsys_order *order,
                                                  char reason[256])
{
	if (!order || strcmp(order->order, n->order) != 0) {
		snprintf(reason, 256, "order %s: no such order here", n->order);
		return CONN_REDSYS_MISMATCH;
	}
	if (!same_number(n->merchant_code, m->merchant_code) || !same_number(n->terminal, m->terminal)) {
		snprintf(reason, 256, "order %s: the notification is for merchant %s terminal %s, this "
		         "entity is merchant %s terminal %s", n->order, n->merchant_code, n->terminal,
		         m->merchant_code, m->terminal);
		return CONN_REDSYS_MISMATCH;
	}
	if (strcmp(n->currency, "978") != 0) {
		snprintf(reason, 256, "order %s: currency: the order is in euros (978), the "
		         "notification says %s", n->order, n->currency);
		return CONN_REDSYS_MISMATCH;
	}
	if (n->amount_cents != order->amount_cents) {
		snprintf(reason, 256, "order %s: amount: the order is for %lld cents, the notification "
		         "says %lld", n->order, order->amount_cents, n->amount_cents);
		return CONN_REDSYS_MISMATCH;
	}
	if (order->status != CONN_REDSYS_ORDER_OPEN) {
		snprintf(reason, 256, "order %s was already settled as %s; this notification (Ds_Response "
		         "%s) changes nothing", n->order,
		         order->status == CONN_REDSYS_ORDER_PAID ? "paid" : "refused",
		         n->response[0] ? n->response : "none");
		return CONN_REDSYS_DUPLICATE;
	}
	if (!n->response[0]) {
		snprintf(reason, 256, "order %s: no Ds_Response yet: the operation has not finished",
		         n->order);
		return CONN_REDSYS_MISMATCH;
	}
	if (n->authorised) {
		snprintf(reason, 256, "order %s paid: %lld,%02lld EUR, Ds_Response %s, authorisation %s",
		         n->order, n->amount_cents / 100, n->amount_cents % 100, n->response,
		         n->authorisation[0] ? n->authorisation : "none");
		return CONN_REDSYS_PAID;
	}
	snprintf(reason, 256, "order %s refused by the gateway: Ds_Response %s (%s)", n->order,
	         n->response, n->reason);
	return CONN_REDSYS_REFUSED;
}
