/* Validation of the "sms" section: the gateway's address and request shape, its secret, the
 * sender, the texts and what each HTTP status means. Every message names the key, so that an
 * operator can fix the file: "body: with content_type json ...". */
#include "internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"

static const char *const keys[] = {
	"url", "method", "content_type", "body", "auth_header", "auth_secret", "sender", "sede_url",
	"templates", "max_segments", "timeout_ms", "delivered_statuses", "retry_statuses",
	"failed_statuses", "message_id_pointer", "ca_file", NULL,
};

enum { MIN_SECRET = 8 };

/* http:// or https:// with a host and no user:password (a secret in a URL reaches logs and
 * error messages); shown_url keeps what may be shown: no query either, which some gateways
 * use for an API key. */
static int read_url(struct conn_sms *s, struct conn_error *err)
{
	int rc = conn__cfg_string(&s->url, s->config, "url", true, err);
	if (rc)
		return rc;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL;
	bool ok = u && (strncmp(s->url, "http://", 7) == 0 || strncmp(s->url, "https://", 8) == 0) &&
	          curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
	          curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	          curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host &&
	          curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && !strpbrk(s->url, " \t");
	bool has_user = ok && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
	if (ok && curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		snprintf(s->shown_url, sizeof(s->shown_url), "%s://%s:%s%s", scheme, host, port, path);
	else if (ok)
		snprintf(s->shown_url, sizeof(s->shown_url), "%s://%s%s", scheme, host, path);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_url_cleanup(u);
	if (!ok)
		return conn__errorf(err, CONN_EINVALID, "url: expected an http:// or https:// URL, "
		                    "found '%.120s'", s->url);
	if (has_user)
		return conn__errorf(err, CONN_EINVALID, "url: expected no user or password in the URL; "
		                    "put the gateway's credential in auth_secret");
	return 0;
}

/* The body with sample values that need escaping, to prove the template escapes them. */
static int check_body(struct conn_sms *s, struct conn_error *err)
{
	if (!strstr(s->body, "{to}") || !strstr(s->body, "{text}"))
		return conn__errorf(err, CONN_EINVALID, "body: expected the placeholders {to} and "
		                    "{text} (and {key}, so the gateway can drop repeats)");
	if (strstr(s->body, "{sender}") && !s->sender)
		return conn__errorf(err, CONN_EINVALID, "body: uses {sender}, but no sender is "
		                    "configured");
	char *sample = NULL;
	if (conn__sms_body(&sample, s, "+34600000000", "a \"quoted\" \\ line\nè&=+%", "k/1") != 0)
		return conn__errorf(err, CONN_ENOMEM, "body: out of memory");
	int rc = 0;
	if (s->format == CONN__SMS_JSON) {
		json_error_t jerr;
		json_t *doc = json_loads(sample, 0, &jerr);
		if (!doc)
			rc = conn__errorf(err, CONN_EINVALID, "body: with content_type \"json\" the filled "
			                  "template is not JSON (%s): put each placeholder inside a JSON "
			                  "string, e.g. {\"to\": \"{to}\"}", jerr.text);
		json_decref(doc);
	} else if (strspn(s->body, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                           "-._~%{}=&+") != strlen(s->body)) {
		rc = conn__errorf(err, CONN_EINVALID, "body: with content_type \"form\" expected "
		                  "name={placeholder} pairs joined by &, already URL-encoded");
	}
	free(sample);
	return rc;
}

static int read_shape(struct conn_sms *s, struct conn_error *err)
{
	const char *type = "json";
	s->method = "POST";
	int rc = conn__cfg_string(&s->method, s->config, "method", false, err);
	if (!rc && strcmp(s->method, "POST") != 0 && strcmp(s->method, "PUT") != 0)
		rc = conn__errorf(err, CONN_EINVALID, "method: expected \"POST\" or \"PUT\", found "
		                  "'%.20s'", s->method);
	if (!rc)
		rc = conn__cfg_string(&type, s->config, "content_type", false, err);
	if (!rc && strcmp(type, "json") != 0 && strcmp(type, "form") != 0)
		rc = conn__errorf(err, CONN_EINVALID, "content_type: expected \"json\" or \"form\", "
		                  "found '%.40s'", type);
	s->format = strcmp(type, "form") == 0 ? CONN__SMS_FORM : CONN__SMS_JSON;
	if (!rc)
		rc = conn__cfg_string(&s->body, s->config, "body", true, err);
	return rc ? rc : check_body(s, err);
}

static bool header_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static int read_auth(struct conn_sms *s, struct conn_error *err)
{
	int rc = conn__cfg_string(&s->auth_header, s->config, "auth_header", false, err);
	if (!rc)
		rc = conn__cfg_string(&s->auth_secret, s->config, "auth_secret", false, err);
	if (rc)
		return rc;
	if (s->auth_header && !header_name_valid(s->auth_header))
		return conn__errorf(err, CONN_EINVALID, "auth_header: expected a header name of "
		                    "letters, digits and '-', like \"Authorization\"");
	if (s->auth_header && !s->auth_secret)
		return conn__errorf(err, CONN_EINVALID, "auth_header: expected together with "
		                    "auth_secret");
	/* The secret is never quoted back, not even in part. */
	if (s->auth_secret && strlen(s->auth_secret) < MIN_SECRET)
		return conn__errorf(err, CONN_EINVALID, "auth_secret: expected at least %d characters",
		                    MIN_SECRET);
	if (s->auth_secret && !s->auth_header)
		s->auth_header = "Authorization";
	return 0;
}

/* An alphanumeric sender id (GSM 03.40 allows 11 characters) or a number in E.164. */
static int read_sender(struct conn_sms *s, struct conn_error *err)
{
	int rc = conn__cfg_string(&s->sender, s->config, "sender", false, err);
	if (rc || !s->sender)
		return rc;
	const char *alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = strlen(s->sender);
	bool id = n <= 11 && strspn(s->sender, alnum) == n &&
	          strspn(s->sender, "0123456789") != n;
	bool number = s->sender[0] == '+' && n >= 9 && n <= 16 &&
	              strspn(s->sender + 1, "0123456789") == n - 1 && s->sender[1] != '0';
	if (!id && !number)
		return conn__errorf(err, CONN_EINVALID, "sender: expected up to 11 letters and digits "
		                    "(an alphanumeric sender id) or a number like +34600000000, found "
		                    "'%.40s'", s->sender);
	return 0;
}

static int read_template(const char *name, const json_t *t, struct conn_error *err)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return conn__errorf(err, CONN_EINVALID, "templates.%.64s: expected a name of a-z, 0-9, "
		                    "_ and -", name);
	if (!json_is_object(t) || json_object_size(t) != 2)
		return conn__errorf(err, CONN_EINVALID, "templates.%s: expected {\"ca\": \"...\", "
		                    "\"es\": \"...\"}: every notice exists in both languages", name);
	static const char *const langs[] = {"ca", "es"};
	for (int i = 0; i < 2; i++) {
		const char *text = json_string_value(json_object_get(t, langs[i]));
		if (!text)
			return conn__errorf(err, CONN_EINVALID, "templates.%s.%s: required, expected a "
			                    "string", name, langs[i]);
		if (!*text || !conn__sms_template_valid(text))
			return conn__errorf(err, CONN_EINVALID, "templates.%s.%s: expected non-empty "
			                    "text without control characters other than line breaks",
			                    name, langs[i]);
	}
	return 0;
}

static int read_templates(struct conn_sms *s, struct conn_error *err)
{
	const json_t *t = json_object_get(s->config, "templates");
	if (!t)
		return 0;
	if (!json_is_object(t))
		return conn__errorf(err, CONN_EINVALID, "templates: expected an object of "
		                    "{\"ca\": ..., \"es\": ...} by template or channel name");
	const char *name;
	json_t *value;
	json_object_foreach((json_t *)t, name, value) {
		int rc = read_template(name, value, err);
		if (rc)
			return rc;
	}
	s->templates = t;
	return 0;
}

static const char *const list_keys[] = {NULL, "delivered_statuses", "retry_statuses",
                                        "failed_statuses"};

/* One entry of a status list: 100..599 or a class "4xx"; an entry set twice is an error. */
static int read_status(struct conn_sms *s, enum conn__sms_meaning m, const json_t *v, size_t i,
                       struct conn_error *err)
{
	const char *text = json_string_value(v);
	unsigned char *slot = NULL;
	if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599)
		slot = &s->by_status[json_integer_value(v)];
	else if (text && strlen(text) == 3 && text[0] >= '1' && text[0] <= '5' &&
	         strcmp(text + 1, "xx") == 0)
		slot = &s->by_class[text[0] - '0'];
	if (!slot)
		return conn__errorf(err, CONN_EINVALID, "%s[%zu]: expected a status 100..599 or a "
		                    "class like \"5xx\"", list_keys[m], i);
	if (*slot && *slot != m)
		return conn__errorf(err, CONN_EINVALID, "%s[%zu]: already listed in %s", list_keys[m],
		                    i, list_keys[*slot]);
	*slot = (unsigned char)m;
	return 0;
}

static int read_list(struct conn_sms *s, enum conn__sms_meaning m, struct conn_error *err)
{
	const json_t *list = json_object_get(s->config, list_keys[m]);
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) == 0)
		return conn__errorf(err, CONN_EINVALID, "%s: expected a non-empty array of statuses "
		                    "(200) or classes (\"2xx\")", list_keys[m]);
	for (size_t i = 0; i < json_array_size(list); i++) {
		int rc = read_status(s, m, json_array_get(list, i), i, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The lists the file gives replace their defaults: 2xx delivered; 408, 429 and 5xx retried
 * (the gateway is busy or broken); 4xx failed (it will refuse the same request again). */
static int read_statuses(struct conn_sms *s, struct conn_error *err)
{
	int rc = 0;
	for (int m = CONN__SMS_DELIVERED; m <= CONN__SMS_FAILED && !rc; m++)
		rc = read_list(s, (enum conn__sms_meaning)m, err);
	if (rc)
		return rc;
	if (!json_object_get(s->config, "delivered_statuses") && !s->by_class[2])
		s->by_class[2] = CONN__SMS_DELIVERED;
	if (!json_object_get(s->config, "retry_statuses")) {
		if (!s->by_status[408])
			s->by_status[408] = CONN__SMS_RETRY;
		if (!s->by_status[429])
			s->by_status[429] = CONN__SMS_RETRY;
		if (!s->by_class[5])
			s->by_class[5] = CONN__SMS_RETRY;
	}
	if (!json_object_get(s->config, "failed_statuses") && !s->by_class[4])
		s->by_class[4] = CONN__SMS_FAILED;
	return 0;
}

static int read_rest(struct conn_sms *s, struct conn_error *err)
{
	int rc = conn__cfg_string(&s->sede_url, s->config, "sede_url", true, err);
	if (!rc)
		rc = conn__cfg_string(&s->ca_file, s->config, "ca_file", false, err);
	if (!rc)
		rc = conn__cfg_int(&s->max_segments, s->config, "max_segments", 1, 10, err);
	if (!rc)
		rc = conn__cfg_int(&s->timeout_ms, s->config, "timeout_ms", 100, 120000, err);
	if (!rc)
		rc = conn__cfg_string(&s->message_id_pointer, s->config, "message_id_pointer", false,
		                      err);
	if (!rc && s->message_id_pointer && s->message_id_pointer[0] != '/')
		rc = conn__errorf(err, CONN_EINVALID, "message_id_pointer: expected a JSON pointer "
		                  "like \"/messages/0/id\"");
	return rc;
}

int conn__sms_config_read(struct conn_sms *s, struct conn_error *err)
{
	s->max_segments = 4;
	s->timeout_ms = 10000;
	int rc = conn__cfg_known(s->config, keys, err);
	if (!rc)
		rc = read_url(s, err);
	if (!rc)
		rc = read_auth(s, err);
	if (!rc)
		rc = read_sender(s, err);
	if (!rc)
		rc = read_shape(s, err);
	if (!rc)
		rc = read_templates(s, err);
	if (!rc)
		rc = read_statuses(s, err);
	if (!rc)
		rc = read_rest(s, err);
	return rc;
}
