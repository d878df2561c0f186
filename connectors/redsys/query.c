/* Reconciliation: asks the gateway's REST query endpoint what became of an order that never
 * got a notification. Invariant: the answer is trusted exactly as much as a notification, that
 * is only after its signature verified with the merchant key and it names the order asked. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "redsys_internal.h"

enum { ANSWER_MAX = 65536 };

struct answer {
	char *text;
	size_t len;
	bool too_long;
};

static size_t collect(char *data, size_t size, size_t nitems, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nitems;
	if (a->len + n > ANSWER_MAX) {
		a->too_long = true;
		return 0;
	}
	char *bigger = realloc(a->text, a->len + n + 1);
	if (!bigger)
		return 0;
	a->text = bigger;
	memcpy(a->text + a->len, data, n);
	a->len += n;
	a->text[a->len] = '\0';
	return n;
}

/* The signed request body, malloc'd, or NULL with err set. */
static char *request_body(const struct conn_redsys *r, const char *order, struct conn_error *err)
{
	const struct conn_redsys_merchant *m = &r->merchant;
	json_t *p = json_pack("{s:s, s:s, s:s}", "DS_MERCHANT_ORDER", order,
	                      "DS_MERCHANT_MERCHANTCODE", m->merchant_code,
	                      "DS_MERCHANT_TERMINAL", m->terminal);
	char *json = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(p);
	char params[1024], signature[CONN_REDSYS_SIG_LEN + 1];
	int n = json ? conn__redsys_b64_encode(params, sizeof(params), (const unsigned char *)json,
	                                       strlen(json)) : -1;
	free(json);
	if (n < 0) {
		conn__errorf(err, CONN_ENOMEM, "out of memory while building the query");
		return NULL;
	}
	if (conn_redsys_sign(signature, m->key, order, params, err) != 0)
		return NULL;
	json_t *body = json_pack("{s:s, s:s, s:s}", "Ds_SignatureVersion", "HMAC_SHA256_V1",
	                         "Ds_MerchantParameters", params, "Ds_Signature", signature);
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!text)
		conn__errorf(err, CONN_ENOMEM, "out of memory while building the query");
	return text;
}

/* POSTs body to the query endpoint; on success a->text holds a 200 answer. */
static int post(const struct conn_redsys *r, const char *body, struct answer *a,
                struct conn_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = headers ? curl_easy_init() : NULL;
	if (!c) {
		curl_slist_free_all(headers);
		return conn__errorf(err, CONN_ENOMEM, "cannot set up libcurl (out of memory?)");
	}
	curl_easy_setopt(c, CURLOPT_URL, r->query_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)r->timeout_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)r->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM for timeouts */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "query_url %s: %s", r->query_url,
		                    a->too_long ? "answer longer than 64 KiB"
		                                : errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (status != 200)
		return conn__errorf(err, CONN_EUNAVAILABLE, "query_url %s answered HTTP %ld, expected 200",
		                    r->query_url, status);
	if (!a->text)
		return conn__errorf(err, CONN_EINVALID, "query_url %s answered an empty body",
		                    r->query_url);
	return 0;
}

/* Reads the answer: an error code from the gateway, or the three signed fields. */
static int answer_read(struct conn_redsys_notice *out, const struct conn_redsys *r,
                       const char *order, const char *text, struct conn_error *err)
{
	json_t *doc = json_loads(text, 0, NULL);
	int rc;
	const char *code = json_string_value(json_object_get(doc, "errorCode"));
	if (!json_is_object(doc))
		rc = conn__errorf(err, CONN_EINVALID, "query_url %s: the answer is not a JSON object",
		                  r->query_url);
	else if (code)
		rc = conn__errorf(err, CONN_REDSYS_EGATEWAY, "query for order %s: the gateway answered "
		                  "errorCode %.40s", order, code);
	else
		rc = conn_redsys_notice_verify(
			out, &r->merchant, json_string_value(json_object_get(doc, "Ds_SignatureVersion")),
			json_string_value(json_object_get(doc, "Ds_MerchantParameters")),
			json_string_value(json_object_get(doc, "Ds_Signature")), err);
	if (!rc && strcmp(out->order, order) != 0) {
		rc = conn__errorf(err, CONN_EINVALID, "query for order %s: the signed answer is for "
		                  "order %s", order, out->order);
		memset(out, 0, sizeof(*out));
	}
	json_decref(doc);
	return rc;
}

int conn_redsys_query(struct conn_redsys_notice *out, const struct conn_redsys *r,
                      const char *order, struct conn_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!r->query_url)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "query_url: not configured, so orders "
		                    "cannot be reconciled; add the gateway's REST query address");
	if (!conn_redsys_order_well_formed(order))
		return conn__errorf(err, CONN_EINVALID, "order: expected 4 to 12 letters or digits, the "
		                    "first 4 digits, found '%.40s'", order);
	struct answer a = {0};
	char *body = request_body(r, order, err);
	int rc = body ? post(r, body, &a, err) : err->code;
	if (!rc)
		rc = answer_read(out, r, order, a.text, err);
	free(body);
	free(a.text);
	return rc;
}

bool conn_redsys_can_query(const struct conn_redsys *r)
{
	return r->query_url != NULL;
}
