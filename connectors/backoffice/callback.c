/* Inbound callbacks: a back-office system moves an expedient by POSTing a body signed like our
 * own deliveries. Invariant: nothing reaches the caller's replay store, let alone the engine,
 * unless its signature matched in constant time, its timestamp is fresh and its body is well
 * formed; every refusal says exactly which check failed. */
#include "internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"

static const struct conn__bo_subscriber *find_subscriber(const struct conn_backoffice *b,
                                                         const char *name)
{
	for (size_t i = 0; name && i < b->n_subs; i++)
		if (strcmp(b->subs[i].name, name) == 0)
			return &b->subs[i];
	return NULL;
}

static int parse_timestamp(int64_t *out, const char *text, struct conn_error *err)
{
	if (!text)
		return conn__errorf(err, CONN_BO_EDENIED, "missing X-Tramit-Timestamp header");
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || strlen(text) > 12)
		return conn__errorf(err, CONN_BO_EDENIED, "X-Tramit-Timestamp: expected Unix time in "
		                    "seconds, found '%.40s'", text);
	*out = v;
	return 0;
}

/* "sha256=" and 64 hex digits, either case, lowered into hex[65]. */
static int parse_signature(char hex[65], const char *text, struct conn_error *err)
{
	if (!text)
		return conn__errorf(err, CONN_BO_EDENIED, "missing X-Tramit-Signature header");
	bool ok = strncmp(text, "sha256=", 7) == 0 && strlen(text) == 71;
	for (size_t i = 0; ok && i < 64; i++) {
		char c = text[7 + i];
		ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		hex[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	hex[64] = '\0';
	if (!ok)
		return conn__errorf(err, CONN_BO_EDENIED, "X-Tramit-Signature: expected sha256= and "
		                    "64 hex digits");
	return 0;
}

static int check_signature(const struct conn__bo_subscriber *s,
                           const struct conn_backoffice_request *req, int64_t ts,
                           struct conn_error *err)
{
	char given[65], want[72];
	int rc = parse_signature(given, req->signature, err);
	if (rc)
		return rc;
	if (conn_backoffice_sign(want, s->secret, ts, req->body ? req->body : "", req->body_len) != 0)
		return conn__errorf(err, CONN_EUNAVAILABLE, "cannot compute HMAC-SHA256 (OpenSSL)");
	if (CRYPTO_memcmp(given, want + 7, 64) != 0)
		return conn__errorf(err, CONN_BO_EDENIED, "X-Tramit-Signature does not match: the body "
		                    "and timestamp were not signed with subscriber '%s''s secret",
		                    s->name);
	return 0;
}

static int check_fresh(int64_t ts, int64_t now, struct conn_error *err)
{
	if (ts < now - CONN_BO_MAX_AGE_S)
		return conn__errorf(err, CONN_BO_EDENIED, "X-Tramit-Timestamp %lld is %lld s old; "
		                    "callbacks older than %d s are refused", (long long)ts,
		                    (long long)(now - ts), CONN_BO_MAX_AGE_S);
	if (ts > now + CONN_BO_MAX_AHEAD_S)
		return conn__errorf(err, CONN_BO_EDENIED, "X-Tramit-Timestamp %lld is %lld s in the "
		                    "future; more than %d s ahead is refused (check the sender's clock)",
		                    (long long)ts, (long long)(ts - now), CONN_BO_MAX_AHEAD_S);
	return 0;
}

/* A required string member of at most max bytes, printable, copied into buf. */
static int body_string(char *buf, size_t max, const json_t *doc, const char *key,
                       struct conn_error *err)
{
	const char *v = json_string_value(json_object_get(doc, key));
	if (!v || !*v)
		return conn__errorf(err, CONN_EINVALID, "body.%s: required, expected a string", key);
	size_t n = strlen(v);
	bool ok = n <= max && n == json_string_length(json_object_get(doc, key));
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
	if (!ok)
		return conn__errorf(err, CONN_EINVALID, "body.%s: expected at most %zu printable "
		                    "bytes", key, max);
	memcpy(buf, v, n + 1);
	return 0;
}

static int parse_body(struct conn_backoffice_callback *out, const struct conn_backoffice_request *req,
                      struct conn_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES,
	                         &jerr);
	int rc = 0;
	if (!json_is_object(doc)) {
		rc = conn__errorf(err, CONN_EINVALID, "body: expected a JSON object%s%s",
		                  doc ? "" : ": ", doc ? "" : jerr.text);
		goto done;
	}
	static const char *const keys[] = {"delivery", "expedient", "action", "data", NULL};
	rc = conn__cfg_known(doc, keys, err);
	if (rc) {
		char inner[sizeof(err->msg)];
		memcpy(inner, err->msg, sizeof(inner));
		rc = conn__errorf(err, CONN_EINVALID, "body.%s", inner);
		goto done;
	}
	if ((rc = body_string(out->delivery, sizeof(out->delivery) - 1, doc, "delivery", err)) ||
	    (rc = body_string(out->expedient, sizeof(out->expedient) - 1, doc, "expedient", err)) ||
	    (rc = body_string(out->action, sizeof(out->action) - 1, doc, "action", err)))
		goto done;
	const json_t *data = json_object_get(doc, "data");
	if (data && !json_is_object(data)) {
		rc = conn__errorf(err, CONN_EINVALID, "body.data: expected an object");
		goto done;
	}
	out->data_json = data ? json_dumps(data, JSON_COMPACT) : strdup("{}");
	if (!out->data_json)
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory");
done:
	json_decref(doc);
	return rc;
}

static int check_action(const struct conn__bo_subscriber *s, const char *action,
                        struct conn_error *err)
{
	if (!s->actions)
		return 0;
	for (size_t i = 0; i < s->n_actions; i++)
		if (strcmp(s->actions[i], action) == 0)
			return 0;
	return conn__errorf(err, CONN_BO_EDENIED, "action '%.64s' is not among the actions "
	                    "subscriber '%s' may take (its \"actions\")", action, s->name);
}

static int verify(struct conn_backoffice_callback *out, const struct conn_backoffice *b,
                  const struct conn_backoffice_request *req, conn_backoffice_seen_fn seen,
                  struct conn_error *err, void *payload)
{
	if (!b)
		return conn__errorf(err, CONN_BO_EUNKNOWN, "no subscriber takes callbacks: the "
		                    "backoffice connector is not configured");
	const struct conn__bo_subscriber *s = find_subscriber(b, req->subscriber);
	if (!s || !s->callbacks)
		return conn__errorf(err, CONN_BO_EUNKNOWN, "no subscriber named '%.63s' takes callbacks",
		                    req->subscriber ? req->subscriber : "");
	if (!req->delivery)
		return conn__errorf(err, CONN_BO_EDENIED, "missing X-Tramit-Delivery header");
	int64_t ts = 0;
	int rc = parse_timestamp(&ts, req->timestamp, err);
	if (!rc)
		rc = check_signature(s, req, ts, err);
	if (!rc)
		rc = check_fresh(ts, req->now, err);
	if (!rc)
		rc = parse_body(out, req, err);
	if (rc)
		return rc;
	if (strcmp(out->delivery, req->delivery) != 0)
		return conn__errorf(err, CONN_EINVALID, "body.delivery '%.100s' differs from the "
		                    "X-Tramit-Delivery header", out->delivery);
	if ((rc = check_action(s, out->action, err)) != 0)
		return rc;
	snprintf(out->subscriber, sizeof(out->subscriber), "%s", s->name);
	out->timestamp = ts;
	rc = seen(out->subscriber, out->delivery, payload);
	if (rc < 0)
		return conn__errorf(err, CONN_EUNAVAILABLE, "cannot record delivery '%.100s' from "
		                    "subscriber '%s': the replay store failed", out->delivery, s->name);
	if (rc > 0)
		return conn__errorf(err, CONN_BO_EREPLAY, "delivery '%.100s' from subscriber '%s' was "
		                    "already received: a replay is refused", out->delivery, s->name);
	return 0;
}

int conn_backoffice_callback_verify(struct conn_backoffice_callback *out,
                                    const struct conn_backoffice *b,
                                    const struct conn_backoffice_request *req,
                                    conn_backoffice_seen_fn seen, struct conn_error *err,
                                    void *payload)
{
	memset(out, 0, sizeof(*out));
	int rc = verify(out, b, req, seen, err, payload);
	if (rc)
		conn_backoffice_callback_clear(out);
	return rc;
}

void conn_backoffice_callback_clear(struct conn_backoffice_callback *cb)
{
	if (!cb)
		return;
	free(cb->data_json);
	memset(cb, 0, sizeof(*cb));
}
