/* The Redsys connector: DOMAIN.md 9.3's vectors byte for byte, order numbers, the verdicts on
 * notifications, and the whole round trip against a gateway peer on loopback (redsys_peer.py,
 * Debian's python3) that checks our signature on its own, answers, and posts a signed
 * notification to a socket this test listens on. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "connectors/redsys/redsys.h"
#include "tests/support/shell.h"

#define PYTHON "/usr/bin/python3"
#define PEER TRAMIT_SOURCE_DIR "/tests/connectors/redsys_peer.py"
#define SECRET "sq7HjrUOBfKmC576ILgskD5srU870gJ7"
#define V1_PARAMS "eyJEc19EYXRlIjoiMzAlMkYwOCUyRjIwMjIiLCJEc19Ib3VyIjoiMTIlM0ExOCIsIkRzX1NlY3VyZVBheW1lbnQiOiIxIiwiRHNfQ2FyZF9Db3VudHJ5IjoiNzI0IiwiRHNfQW1vdW50IjoiMTU5MDAiLCJEc19DdXJyZW5jeSI6Ijk3OCIsIkRzX09yZGVyIjoiTU4wMDAwNDkiLCJEc19NZXJjaGFudENvZGUiOiIzNTU4NjgxMDAiLCJEc19UZXJtaW5hbCI6IjAwMSIsIkRzX1Jlc3BvbnNlIjoiMDAwMCIsIkRzX01lcmNoYW50RGF0YSI6IiIsIkRzX1RyYW5zYWN0aW9uVHlwZSI6IjAiLCJEc19Db25zdW1lckxhbmd1YWdlIjoiMSIsIkRzX0F1dGhvcmlzYXRpb25Db2RlIjoiMDAyNDEzIiwiRHNfQ2FyZF9CcmFuZCI6IjEiLCJEc19Qcm9jZXNzZWRQYXlNZXRob2QiOiI1IiwiRHNfQ29udHJvbF8xNjYxODU0NjgzOTg4IjoiMTY2MTg1NDY4Mzk4OCJ9"
#define V1_SIGNATURE "O9aFvML5qK8VBQhV4GK8kFHvmAQaSnX1hfckr7abzIs="
#define V2_JSON "{\"DS_MERCHANT_AMOUNT\":\"145\",\"DS_MERCHANT_ORDER\":\"1446068581\"," \
	"\"DS_MERCHANT_MERCHANTCODE\":\"999008881\",\"DS_MERCHANT_CURRENCY\":\"978\"," \
	"\"DS_MERCHANT_TRANSACTIONTYPE\":\"0\",\"DS_MERCHANT_TERMINAL\":\"1\"," \
	"\"DS_MERCHANT_MERCHANTURL\":\"http://www.prueba.com/urlNotificacion.php\"," \
	"\"DS_MERCHANT_URLOK\":\"http://www.prueba.com/urlOK.php\"," \
	"\"DS_MERCHANT_URLKO\":\"http://www.prueba.com/urlKO.php\"}"
#define KEY42 "0b2b6c4e-0000-4000-8000-000000000042/7/0"

static void hex(char *out, const unsigned char *in, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

static void merchant_v2(struct conn_redsys_merchant *m)
{
	struct conn_error err = {0};
	*m = (struct conn_redsys_merchant){
		.merchant_code = "999008881", .terminal = "1",
		.merchant_url = "http://www.prueba.com/urlNotificacion.php",
		.url_ok = "http://www.prueba.com/urlOK.php", .url_ko = "http://www.prueba.com/urlKO.php",
	};
	cr_assert_eq(conn_redsys_key_decode(m->key, SECRET, &err), 0, "%s", err.msg);
}

/* ---- DOMAIN.md vectors -------------------------------------------------------------------- */

Test(redsys, domain_vector_v1_derived_key_and_notification_signature)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	unsigned char derived[16];
	size_t len = 0;
	char text[40];
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_key_derive(derived, &len, m.key, "MN000049", &err), 0, "%s", err.msg);
	cr_assert_eq(len, 8);
	hex(text, derived, len);
	cr_assert_str_eq(text, "7f2f1130a15a7696");
	char sig[CONN_REDSYS_SIG_LEN + 1];
	cr_assert_eq(conn_redsys_sign(sig, m.key, "MN000049", V1_PARAMS, &err), 0, "%s", err.msg);
	cr_assert_str_eq(sig, V1_SIGNATURE);
}

Test(redsys, domain_vector_v1_notification_verifies_in_both_alphabets)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	/* The vector's signature has no '+' or '/', so the URL-safe form differs only by padding. */
	const char *forms[] = {V1_SIGNATURE, "O9aFvML5qK8VBQhV4GK8kFHvmAQaSnX1hfckr7abzIs"};
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS, forms[i], &err),
		             0, "%s", err.msg);
		cr_assert_str_eq(n.order, "MN000049");
		cr_assert_eq(n.amount_cents, 15900);
		cr_assert_str_eq(n.currency, "978");
		cr_assert_str_eq(n.response, "0000");
		cr_assert_str_eq(n.merchant_code, "355868100");
		cr_assert_str_eq(n.terminal, "001");
		cr_assert_str_eq(n.transaction_type, "0");
		cr_assert_str_eq(n.authorisation, "002413");
		cr_assert_str_eq(n.date, "30/08/2022");
		cr_assert_str_eq(n.hour, "12:18");
		cr_assert(n.authorised);
		cr_assert_str_eq(n.reason, "authorised");
	}
}

Test(redsys, domain_vector_v2_redirect_form)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	struct conn_redsys_form f;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_form_sign(&f, &m, "1446068581", 145, &err), 0, "%s", err.msg);
	/* The parameters must be Base64 of exactly the vector's JSON. */
	char *b64 = calloc(1, 2048);
	FILE *p = popen("printf '%s' '" V2_JSON "' | base64 -w0", "r");
	cr_assert_not_null(fgets(b64, 2048, p));
	pclose(p);
	cr_assert_str_eq(f.params, b64);
	free(b64);
	cr_assert_str_eq(f.version, "HMAC_SHA256_V1");
	cr_assert_str_eq(f.order, "1446068581");
	cr_assert_str_eq(f.signature, "6+dGI9y1CPrz1xpkQpXA5lTlJY1Nlfqb3acBKuDB6e4=");
	unsigned char derived[16];
	size_t len = 0;
	char text[40];
	cr_assert_eq(conn_redsys_key_derive(derived, &len, m.key, "1446068581", &err), 0);
	cr_assert_eq(len, 16);
	hex(text, derived, len);
	cr_assert_str_eq(text, "decaf4a139d22921434c30c18e0431af");
}

/* ---- Order numbers ------------------------------------------------------------------------ */

Test(redsys, order_numbers_carry_their_sequence_and_check_digits)
{
	char order[CONN_REDSYS_ORDER_MAX + 1];
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_order_make(order, 1, &err), 0);
	cr_assert_str_eq(order, "000000000195");
	cr_assert_eq(conn_redsys_order_make(order, 42, &err), 0);
	cr_assert_str_eq(order, "000000004269");
	cr_assert_eq(conn_redsys_order_make(order, CONN_REDSYS_SEQUENCE_MAX, &err), 0);
	cr_assert_str_eq(order, "999999999951");
	cr_assert(conn_redsys_order_ours("000000004269"));
	cr_assert(!conn_redsys_order_ours("000000004296"), "swapped check digits");
	cr_assert(!conn_redsys_order_ours("000000002469"), "swapped sequence digits");
	cr_assert(!conn_redsys_order_ours("MN000049"));
	cr_assert_eq(conn_redsys_order_make(order, 0, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "order sequence: expected 1..9999999999, found 0");
	cr_assert_eq(conn_redsys_order_make(order, 10000000000LL, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "order sequence: expected 1..9999999999, found 10000000000");
}

Test(redsys, order_numbers_are_never_shared_and_always_well_formed)
{
	char order[CONN_REDSYS_ORDER_MAX + 1], seq[11];
	struct conn_error err = {0};
	for (long long s = 1; s <= 100000; s++) {
		cr_assert_eq(conn_redsys_order_make(order, s, &err), 0);
		snprintf(seq, sizeof(seq), "%010lld", s);
		/* The sequence is the order's prefix, so two sequences cannot share an order. */
		cr_assert(strncmp(order, seq, 10) == 0, "%lld -> %s", s, order);
		cr_assert(conn_redsys_order_well_formed(order) && conn_redsys_order_ours(order), "%s", order);
	}
}

Test(redsys, order_shape_follows_the_gateway)
{
	cr_assert(conn_redsys_order_well_formed("1234"));
	cr_assert(conn_redsys_order_well_formed("1234abcDEF12"));
	cr_assert(!conn_redsys_order_well_formed("123"));
	cr_assert(!conn_redsys_order_well_formed("123A5678"));
	cr_assert(!conn_redsys_order_well_formed("1234567890123"));
	cr_assert(!conn_redsys_order_well_formed("1234-5"));
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	struct conn_redsys_form f;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_form_sign(&f, &m, "AB12", 100, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "order: expected 4 to 12 letters or digits, the first 4 digits, "
	                          "found 'AB12'");
	cr_assert_eq(conn_redsys_form_sign(&f, &m, "1234", 0, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "amount_cents: expected 1..99999999999, found 0");
}

/* ---- Notifications refused ---------------------------------------------------------------- */

Test(redsys, notification_with_wrong_version_or_garbage_is_refused)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA512_V2", V1_PARAMS, V1_SIGNATURE, &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "Ds_SignatureVersion: expected HMAC_SHA256_V1, found 'HMAC_SHA512_V2'");
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", "not*base64", V1_SIGNATURE,
	                                       &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "Ds_MerchantParameters: not Base64");
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", "WzFd", V1_SIGNATURE, &err),
	             CONN_EINVALID); /* "[1]" */
	cr_assert_str_eq(err.msg, "Ds_MerchantParameters: the decoded text is not a JSON object");
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", "e30=", V1_SIGNATURE, &err),
	             CONN_EINVALID); /* "{}" */
	cr_assert_str_eq(err.msg, "Ds_MerchantParameters: Ds_Order: missing");
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS, NULL, &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "Ds_Signature: missing");
}

Test(redsys, forged_or_tampered_notification_is_refused)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	const char *want = "Ds_Signature does not match the parameters signed with the merchant key "
	                   "for order MN000049: forged, altered on the way, or signed with another "
	                   "merchant's key";
	/* One character of the signature changed. */
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS,
	                                       "P9aFvML5qK8VBQhV4GK8kFHvmAQaSnX1hfckr7abzIs=", &err),
	             CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(n.amount_cents, 0, "a refused notice must not leak its fields");
	/* Signed with another merchant's key. */
	struct conn_redsys_merchant other = m;
	memset(other.key, 7, sizeof(other.key));
	char sig[CONN_REDSYS_SIG_LEN + 1];
	cr_assert_eq(conn_redsys_sign(sig, other.key, "MN000049", V1_PARAMS, &err), 0);
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS, sig, &err),
	             CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, want);
	/* The amount 15900 raised to 95900 in the parameters, the signature kept: "MTU5MDAi" is
	 * Base64 of "15900\"" at a 3-byte boundary of the vector. */
	char tampered[sizeof(V1_PARAMS)];
	strcpy(tampered, V1_PARAMS);
	char *at = strstr(tampered, "MTU5MDAi");
	cr_assert_not_null(at);
	memcpy(at, "OTU5MDAi", 8);
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", tampered, V1_SIGNATURE, &err),
	             CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, want);
	/* A signature of the wrong length. */
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS, "O9aF", &err),
	             CONN_REDSYS_EFORGED);
}

Test(redsys, response_codes_are_interpreted)
{
	cr_assert(conn_redsys_response_authorised("0000"));
	cr_assert(conn_redsys_response_authorised("0099"));
	cr_assert(conn_redsys_response_authorised("0900"));
	cr_assert(!conn_redsys_response_authorised("0100"));
	cr_assert(!conn_redsys_response_authorised("0190"));
	cr_assert(!conn_redsys_response_authorised("9915"));
	cr_assert(!conn_redsys_response_authorised("00"));
	cr_assert_str_eq(conn_redsys_response_reason("0050"), "authorised");
	cr_assert_str_eq(conn_redsys_response_reason("0900"), "refund or confirmation authorised");
	cr_assert_str_eq(conn_redsys_response_reason("0190"),
	                 "the card issuer declined without giving a reason");
	cr_assert_str_eq(conn_redsys_response_reason("0129"), "wrong security code (CVV2/CVC2)");
	cr_assert_str_eq(conn_redsys_response_reason("9915"), "the citizen cancelled the payment");
	cr_assert_str_eq(conn_redsys_response_reason("0188"),
	                 "refused (a code this platform does not describe: see the gateway's manual)");
	cr_assert_str_eq(conn_redsys_response_reason("x"), "not a Ds_Response code");
}

Test(redsys, verdicts_against_the_order)
{
	struct conn_redsys_merchant m;
	merchant_v2(&m);
	m.merchant_code = "355868100";
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	char reason[256];
	cr_assert_eq(conn_redsys_notice_verify(&n, &m, "HMAC_SHA256_V1", V1_PARAMS, V1_SIGNATURE, &err), 0);
	struct conn_redsys_order o = {"MN000049", 15900, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_PAID);
	cr_assert_str_eq(reason, "order MN000049 paid: 159,00 EUR, Ds_Response 0000, authorisation 002413");
	o.status = CONN_REDSYS_ORDER_PAID;
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_DUPLICATE);
	cr_assert_str_eq(reason, "order MN000049 was already settled as paid; this notification "
	                         "(Ds_Response 0000) changes nothing");
	o = (struct conn_redsys_order){"MN000049", 1590, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_MISMATCH);
	cr_assert_str_eq(reason, "order MN000049: amount: the order is for 1590 cents, the "
	                         "notification says 15900");
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, NULL, reason), CONN_REDSYS_MISMATCH);
	cr_assert_str_eq(reason, "order MN000049: no such order here");
	o.amount_cents = 15900;
	m.terminal = "2";
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_MISMATCH);
	cr_assert_str_eq(reason, "order MN000049: the notification is for merchant 355868100 terminal "
	                         "001, this entity is merchant 355868100 terminal 2");
	m.terminal = "1";
	strcpy(n.currency, "840");
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_MISMATCH);
	cr_assert_str_eq(reason, "order MN000049: currency: the order is in euros (978), the "
	                         "notification says 840");
	strcpy(n.currency, "978");
	strcpy(n.response, "0190");
	n.authorised = false;
	n.reason = conn_redsys_response_reason("0190");
	cr_assert_eq(conn_redsys_notice_judge(&n, &m, &o, reason), CONN_REDSYS_REFUSED);
	cr_assert_str_eq(reason, "order MN000049 refused by the gateway: Ds_Response 0190 (the card "
	                         "issuer declined without giving a reason)");
}

/* ---- The connector ------------------------------------------------------------------------ */

static struct conn_set *open_set(int gateway_port, int notify_port, const char *extra)
{
	char json[2048];
	snprintf(json, sizeof(json),
	         "{\"redsys\": {\"merchant_code\": \"999008881\", \"terminal\": \"1\", "
	         "\"secret_key\": \"" SECRET "\", "
	         "\"gateway_url\": \"http://127.0.0.1:%d/sis/realizarPago\", "
	         "\"merchant_url\": \"http://127.0.0.1:%d/notify\", "
	         "\"url_ok\": \"https://seu.example.org/pagament/ok\", "
	         "\"url_ko\": \"https://seu.example.org/pagament/ko\", "
	         "\"query_url\": \"http://127.0.0.1:%d/sis/rest/consulta\"%s%s%s}}",
	         gateway_port, notify_port, gateway_port,
	         extra && strstr(extra, "timeout_s") ? "" : ", \"timeout_s\": 5", extra ? ", " : "",
	         extra ? extra : "");
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	return set;
}

static void expect_config_refused(const char *section, const char *want)
{
	char json[1024];
	snprintf(json, sizeof(json), "{\"redsys\": {%s}}", section);
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID, "%s", json);
	cr_assert_str_eq(err.msg, want);
	cr_assert_null(set);
}

#define GOOD_URLS "\"gateway_url\": \"https://sis-t.redsys.es:25443/sis/realizarPago\", " \
	"\"merchant_url\": \"https://seu.example.org/api/v1/redsys\", " \
	"\"url_ok\": \"https://seu.example.org/ok\", \"url_ko\": \"https://seu.example.org/ko\""

Test(redsys, configuration_errors_name_the_key)
{
	expect_config_refused("\"terminal\": \"1\", \"secret_key\": \"" SECRET "\", " GOOD_URLS,
	                      "redsys.merchant_code: required, expected a string");
	expect_config_refused("\"merchant_code\": \"99900888A\", \"terminal\": \"1\", \"secret_key\": "
	                      "\"" SECRET "\", " GOOD_URLS,
	                      "redsys.merchant_code: expected 1 to 9 digits, found '99900888A'");
	expect_config_refused("\"merchant_code\": \"999008881\", \"terminal\": \"1001\", "
	                      "\"secret_key\": \"" SECRET "\", " GOOD_URLS,
	                      "redsys.terminal: expected 1 to 3 digits, found '1001'");
	expect_config_refused("\"merchant_code\": \"999008881\", \"terminal\": \"1\", "
	                      "\"secret_key\": \"c2hvcnQ=\", " GOOD_URLS,
	                      "redsys.secret_key: expected Base64 of a 24-byte key, found 5 bytes (the "
	                      "merchant key from the gateway's administration module)");
	expect_config_refused("\"merchant_code\": \"999008881\", \"terminal\": \"1\", "
	                      "\"secret_key\": \"" SECRET "\", " GOOD_URLS ", \"query_url\": \"ftp://x\"",
	                      "redsys.query_url: expected an http:// or https:// address of at most 200 "
	                      "characters without spaces or quotes, found 'ftp://x'");
	expect_config_refused("\"merchant_code\": \"999008881\", \"terminal\": \"1\", "
	                      "\"secret_key\": \"" SECRET "\", " GOOD_URLS ", \"urlok\": \"x\"",
	                      "redsys.urlok: unknown key");
}

static struct eng_delivery pay(struct conn_set *set, int64_t id, const char *args)
{
	struct eng_outbox_item item = {
		.id = id, .entity_id = "demo", .expedient_id = "0b2b6c4e-0000-4000-8000-000000000042",
		.kind = "payment", .effect_id = "payment:taxa", .target = "taxa", .args_json = args,
		.idempotency_key = KEY42, .attempts = 1,
	};
	struct eng_delivery d = {0};
	conn_deliver(&item, &d, set);
	return d;
}

Test(redsys, payment_effect_creates_a_signed_order_and_repeats_identically)
{
	struct conn_set *set = open_set(1, 2, NULL);
	struct eng_delivery d = pay(set, 42, "{\"amount_cents\": \"12345\"}");
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.outcome, "ordered");
	/* The expected fields, signed independently of the connector's own path. */
	struct conn_redsys_merchant m = {
		.merchant_code = "999008881", .terminal = "1",
		.merchant_url = "http://127.0.0.1:2/notify",
		.url_ok = "https://seu.example.org/pagament/ok", .url_ko = "https://seu.example.org/pagament/ko",
	};
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_key_decode(m.key, SECRET, &err), 0);
	struct conn_redsys_form f;
	cr_assert_eq(conn_redsys_form_sign(&f, &m, "000000004269", 12345, &err), 0);
	char want[4096];
	snprintf(want, sizeof(want), "{\"order\":\"000000004269\",\"amount_cents\":12345,"
	         "\"currency\":\"978\",\"action\":\"http://127.0.0.1:1/sis/realizarPago\","
	         "\"fields\":{\"Ds_SignatureVersion\":\"HMAC_SHA256_V1\",\"Ds_MerchantParameters\":"
	         "\"%s\",\"Ds_Signature\":\"%s\"}}", f.params, f.signature);
	cr_assert_str_eq(d.result_json, want);
	struct eng_delivery again = pay(set, 42, "{\"amount_cents\": \"12345\"}");
	cr_assert_str_eq(again.result_json, d.result_json);
	conn_set_close(set);
}

Test(redsys, payment_effect_with_bad_amount_is_failed)
{
	struct conn_set *set = open_set(1, 2, NULL);
	struct eng_delivery d = pay(set, 42, "{\"amount_cents\": \"12,50\"}");
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "payment " KEY42 ": args.amount_cents: expected a positive whole "
	                          "number of cents as a string, found 12,50");
	d = pay(set, 42, "{}");
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "payment " KEY42 ": args.amount_cents: expected a positive whole "
	                          "number of cents as a string, found none");
	d = pay(set, 42, "{\"amount_cents\": \"0\"}");
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	conn_set_close(set);
}

/* ---- Against the gateway peer ------------------------------------------------------------- */

static char dir[64];
static pid_t peer = -1;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tramit-redsys-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	if (peer > 0) {
		kill(peer, SIGTERM);
		waitpid(peer, NULL, 0);
		peer = -1;
	}
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(redsys_gateway, .init = setup, .fini = teardown, .timeout = 60);

static int peer_start(void)
{
	char ready[200];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	const char *argv[] = {PYTHON, PEER, SECRET, ready, NULL};
	int port;
	peer = shell_peer_start(argv, ready, &port);
	return port;
}

/* A socket on loopback: listening (where the notification arrives, or a silent peer), or
 * bound and closed at once (a peer that is down). */
static int socket_loopback(bool listening, int *fd_out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (listening) {
		cr_assert_eq(listen(fd, 4), 0);
		*fd_out = fd;
	} else {
		close(fd);
	}
	return ntohs(a.sin_port);
}

/* Accepts one HTTP POST on fd, answers 200 and returns its body (malloc'd). */
static char *notification_receive(int fd, char path[64])
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 10000), 1, "no notification within 10 s");
	int c = accept(fd, NULL, NULL);
	cr_assert_geq(c, 0);
	char *buf = calloc(1, 65536);
	size_t used = 0;
	char *end = NULL;
	long length = -1;
	while (used < 65535) {
		ssize_t n = read(c, buf + used, 65535 - used);
		cr_assert_gt(n, 0, "the notification was cut short");
		used += (size_t)n;
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char *cl = strstr(buf, "\r\nContent-Length:");
			cr_assert(cl && cl < end, "no Content-Length: %s", buf);
			length = strtol(cl + 17, NULL, 10);
		}
		if (end && (long)(used - (size_t)(end + 4 - buf)) >= length)
			break;
	}
	cr_assert(sscanf(buf, "POST %63s HTTP/1.", path) == 1, "%s", buf);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	cr_assert_eq(write(c, ok, strlen(ok)), (ssize_t)strlen(ok));
	close(c);
	char *body = strdup(end + 4);
	free(buf);
	return body;
}

/* The value of one field of an application/x-www-form-urlencoded body (malloc'd), or NULL. */
static char *form_field(const char *body, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
			continue;
		const char *v = p + nlen + 1;
		size_t len = strcspn(v, "&");
		char *out = calloc(1, len + 1), *o = out;
		for (size_t i = 0; i < len; i++) {
			unsigned hexv;
			if (v[i] == '%' && i + 2 < len + 1 && sscanf(v + i + 1, "%2x", &hexv) == 1) {
				*o++ = (char)hexv;
				i += 2;
			} else {
				*o++ = v[i] == '+' ? ' ' : v[i];
			}
		}
		return out;
	}
	return NULL;
}

struct reply {
	long status;
	char text[512];
};

static size_t reply_collect(char *data, size_t size, size_t nitems, void *userdata)
{
	struct reply *r = userdata;
	size_t used = strlen(r->text), n = size * nitems;
	if (used + n < sizeof(r->text))
		memcpy(r->text + used, data, n);
	return n;
}

/* The citizen's browser: posts the signed fields of result_json (plus the peer's test fields)
 * to the form's action. params, when set, replaces Ds_MerchantParameters. */
static struct reply browser_post(const char *result_json, const char *params, const char *extra)
{
	json_t *r = json_loads(result_json, 0, NULL);
	cr_assert_not_null(r, "%s", result_json);
	json_t *fields = json_object_get(r, "fields");
	CURL *c = curl_easy_init();
	char *v = curl_easy_escape(c, json_string_value(json_object_get(fields, "Ds_SignatureVersion")), 0);
	char *p = curl_easy_escape(c, params ? params : json_string_value(json_object_get(fields, "Ds_MerchantParameters")), 0);
	char *s = curl_easy_escape(c, json_string_value(json_object_get(fields, "Ds_Signature")), 0);
	char body[4096];
	snprintf(body, sizeof(body), "Ds_SignatureVersion=%s&Ds_MerchantParameters=%s&Ds_Signature=%s%s%s",
	         v, p, s, extra ? "&" : "", extra ? extra : "");
	struct reply out = {0};
	curl_easy_setopt(c, CURLOPT_URL, json_string_value(json_object_get(r, "action")));
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
	curl_free(v);
	curl_free(p);
	curl_free(s);
	curl_easy_cleanup(c);
	json_decref(r);
	return out;
}

struct received {
	char *version, *params, *signature;
};

static struct received receive(int fd)
{
	char path[64];
	char *body = notification_receive(fd, path);
	cr_assert_str_eq(path, "/notify");
	struct received r = {form_field(body, "Ds_SignatureVersion"),
	                     form_field(body, "Ds_MerchantParameters"), form_field(body, "Ds_Signature")};
	cr_assert(r.version && r.params && r.signature, "%s", body);
	free(body);
	return r;
}

static void received_free(struct received *r)
{
	free(r->version);
	free(r->params);
	free(r->signature);
}

/* One order through the peer: the connector's form, the browser's post, the notification. */
static struct received order_through_gateway(struct conn_set *set, int fd, int64_t id,
                                             const char *extra, const char *want_reply)
{
	struct eng_delivery d = pay(set, id, "{\"amount_cents\": \"12345\"}");
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	struct reply reply = browser_post(d.result_json, NULL, extra);
	cr_assert_eq(reply.status, 200, "%s", reply.text);
	cr_assert_str_eq(reply.text, want_reply);
	return receive(fd);
}

static const struct conn_redsys *redsys_of(struct conn_set *set)
{
	const struct conn_redsys *r = conn_set_state(set, "redsys");
	cr_assert_not_null(r);
	return r;
}

Test(redsys_gateway, authorised_payment_is_notified_verified_and_a_replay_is_duplicate)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	const struct conn_redsys_merchant *m = conn_redsys_merchant_of(redsys_of(set));
	struct received r = order_through_gateway(set, fd, 42, "test_response=0000",
	                                          "order 000000004269 response 0000");
	/* The gateway signs notifications in URL-safe Base64. */
	cr_assert_eq(strcspn(r.signature, "+/"), strlen(r.signature), "%s", r.signature);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, r.params, r.signature, &err), 0,
	             "%s", err.msg);
	cr_assert_str_eq(n.order, "000000004269");
	cr_assert_eq(n.amount_cents, 12345);
	cr_assert_str_eq(n.date, "14/05/2026");
	cr_assert_str_eq(n.hour, "10:32");
	char reason[256];
	struct conn_redsys_order o = {"000000004269", 12345, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, m, &o, reason), CONN_REDSYS_PAID, "%s", reason);
	cr_assert_str_eq(reason, "order 000000004269 paid: 123,45 EUR, Ds_Response 0000, "
	                         "authorisation 002413");
	/* The same notification again, once the caller recorded the payment. */
	o.status = CONN_REDSYS_ORDER_PAID;
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, r.params, r.signature, &err), 0);
	cr_assert_eq(conn_redsys_notice_judge(&n, m, &o, reason), CONN_REDSYS_DUPLICATE);
	cr_assert_str_eq(reason, "order 000000004269 was already settled as paid; this notification "
	                         "(Ds_Response 0000) changes nothing");
	/* The gateway refuses the same order number twice. */
	struct reply again = browser_post(pay(set, 42, "{\"amount_cents\": \"12345\"}").result_json,
	                                  NULL, NULL);
	cr_assert_eq(again.status, 400);
	cr_assert_str_eq(again.text, "SIS0051 order 000000004269 repeated");
	received_free(&r);
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, gateway_refuses_a_form_whose_parameters_were_altered)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	struct eng_delivery d = pay(set, 43, "{\"amount_cents\": \"12345\"}");
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	/* The citizen lowers the amount to 1 cent and keeps our signature. */
	char params[1024];
	snprintf(params, sizeof(params), "%s", "eyJEU19NRVJDSEFOVF9BTU9VTlQiOiIxIn0="); /* {"DS_MERCHANT_AMOUNT":"1"} */
	struct reply reply = browser_post(d.result_json, params, NULL);
	cr_assert_eq(reply.status, 400);
	cr_assert_str_eq(reply.text, "SIS0074 DS_MERCHANT_ORDER: not a well-formed order number");
	json_t *r = json_loads(d.result_json, 0, NULL);
	const char *ours = json_string_value(json_object_get(json_object_get(r, "fields"),
	                                                     "Ds_MerchantParameters"));
	/* Same order, amount 1: well formed, but not what we signed. */
	char json[1024], b64[2048];
	snprintf(json, sizeof(json), "printf '%%s' '{\"DS_MERCHANT_AMOUNT\":\"1\",\"DS_MERCHANT_ORDER\":"
	         "\"000000004366\",\"DS_MERCHANT_MERCHANTCODE\":\"999008881\",\"DS_MERCHANT_CURRENCY\":"
	         "\"978\",\"DS_MERCHANT_TRANSACTIONTYPE\":\"0\"}' | base64 -w0");
	FILE *p = popen(json, "r");
	cr_assert_not_null(fgets(b64, sizeof(b64), p));
	pclose(p);
	cr_assert_str_neq(b64, ours);
	reply = browser_post(d.result_json, b64, NULL);
	cr_assert_eq(reply.status, 400);
	cr_assert_str_eq(reply.text, "SIS0042 Ds_Signature: signature error");
	json_decref(r);
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, refused_card_is_judged_refused_with_its_reason)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	const struct conn_redsys_merchant *m = conn_redsys_merchant_of(redsys_of(set));
	struct received r = order_through_gateway(set, fd, 44, "test_response=0190",
	                                          "order 000000004463 response 0190");
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, r.params, r.signature, &err), 0,
	             "%s", err.msg);
	cr_assert(!n.authorised);
	cr_assert_str_eq(n.authorisation, "");
	char reason[256];
	struct conn_redsys_order o = {"000000004463", 12345, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, m, &o, reason), CONN_REDSYS_REFUSED);
	cr_assert_str_eq(reason, "order 000000004463 refused by the gateway: Ds_Response 0190 (the "
	                         "card issuer declined without giving a reason)");
	o.status = CONN_REDSYS_ORDER_REFUSED;
	cr_assert_eq(conn_redsys_notice_judge(&n, m, &o, reason), CONN_REDSYS_DUPLICATE);
	cr_assert_str_eq(reason, "order 000000004463 was already settled as refused; this "
	                         "notification (Ds_Response 0190) changes nothing");
	received_free(&r);
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, notification_altered_on_the_way_is_refused_as_forged)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	const struct conn_redsys_merchant *m = conn_redsys_merchant_of(redsys_of(set));
	struct received r = order_through_gateway(set, fd, 45, NULL, "order 000000004560 response 0000");
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	const char *want = "Ds_Signature does not match the parameters signed with the merchant key "
	                   "for order 000000004560: forged, altered on the way, or signed with another "
	                   "merchant's key";
	/* The parameters decoded, the amount raised, encoded again; the signature kept. */
	char cmd[4096], b64[4096];
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | base64 -d | sed 's/\"12345\"/\"99999\"/' | "
	         "base64 -w0", r.params);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(fgets(b64, sizeof(b64), p));
	pclose(p);
	cr_assert_str_neq(b64, r.params);
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, b64, r.signature, &err),
	             CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, want);
	/* The signature's first character changed. */
	r.signature[0] = r.signature[0] == 'A' ? 'B' : 'A';
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, r.params, r.signature, &err),
	             CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, want);
	received_free(&r);
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, signed_notification_for_another_amount_is_a_mismatch)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	const struct conn_redsys_merchant *m = conn_redsys_merchant_of(redsys_of(set));
	struct received r = order_through_gateway(set, fd, 46, "test_amount=100",
	                                          "order 000000004657 response 0000");
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_notice_verify(&n, m, r.version, r.params, r.signature, &err), 0,
	             "%s", err.msg);
	char reason[256];
	struct conn_redsys_order o = {"000000004657", 12345, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, m, &o, reason), CONN_REDSYS_MISMATCH);
	cr_assert_str_eq(reason, "order 000000004657: amount: the order is for 12345 cents, the "
	                         "notification says 100");
	received_free(&r);
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, reconciliation_query_reads_the_operation)
{
	int fd = -1;
	int notify_port = socket_loopback(true, &fd);
	struct conn_set *set = open_set(peer_start(), notify_port, NULL);
	const struct conn_redsys *rs = redsys_of(set);
	struct received r = order_through_gateway(set, fd, 47, NULL, "order 000000004754 response 0000");
	received_free(&r);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_query(&n, rs, "000000004754", &err), 0, "%s", err.msg);
	cr_assert_str_eq(n.order, "000000004754");
	cr_assert_eq(n.amount_cents, 12345);
	cr_assert_str_eq(n.response, "0000");
	char reason[256];
	struct conn_redsys_order o = {"000000004754", 12345, CONN_REDSYS_ORDER_OPEN};
	cr_assert_eq(conn_redsys_notice_judge(&n, conn_redsys_merchant_of(rs), &o, reason),
	             CONN_REDSYS_PAID);
	/* An order the gateway never saw. */
	cr_assert_eq(conn_redsys_query(&n, rs, "000000009912", &err), CONN_REDSYS_EGATEWAY);
	cr_assert_str_eq(err.msg, "query for order 000000009912: the gateway answered errorCode SIS9999");
	/* An answer signed with another key. */
	r = order_through_gateway(set, fd, 48, "test_query=forged", "order 000000004851 response 0000");
	received_free(&r);
	cr_assert_eq(conn_redsys_query(&n, rs, "000000004851", &err), CONN_REDSYS_EFORGED);
	cr_assert_str_eq(err.msg, "Ds_Signature does not match the parameters signed with the merchant "
	                          "key for order 000000004851: forged, altered on the way, or signed "
	                          "with another merchant's key");
	cr_assert_eq(conn_redsys_query(&n, rs, "12", &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "order: expected 4 to 12 letters or digits, the first 4 digits, "
	                          "found '12'");
	close(fd);
	conn_set_close(set);
}

Test(redsys_gateway, reconciliation_query_with_the_gateway_down_or_silent_is_unavailable)
{
	int down = socket_loopback(false, NULL);
	struct conn_set *set = open_set(down, 2, NULL);
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	cr_assert_eq(conn_redsys_query(&n, redsys_of(set), "000000004269", &err), CONN_EUNAVAILABLE);
	char want[200];
	snprintf(want, sizeof(want), "query_url http://127.0.0.1:%d/sis/rest/consulta: Failed to "
	         "connect to 127.0.0.1 port %d", down, down);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	conn_set_close(set);
	int fd = -1;
	int silent = socket_loopback(true, &fd);
	set = open_set(silent, 2, "\"timeout_s\": 1");
	time_t start = time(NULL);
	cr_assert_eq(conn_redsys_query(&n, redsys_of(set), "000000004269", &err), CONN_EUNAVAILABLE);
	snprintf(want, sizeof(want), "query_url http://127.0.0.1:%d/sis/rest/consulta: Operation "
	         "timed out after ", silent);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	cr_assert_leq(time(NULL) - start, 4);
	close(fd);
	conn_set_close(set);
}
