/* Validation of the "backoffice" section: subscribers (outbound events and inbound callbacks)
 * and contracts (lookups). Every message names the key with its array index, 0-based like jq:
 * "subscribers[1].url: expected an http:// or https:// URL". */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"

static const char *const top_keys[] = {"subscribers", "contracts", "cache_entries", "ca_file",
                                       NULL};
static const char *const sub_keys[] = {"name", "url", "secret", "events", "timeout_ms",
                                       "callbacks", "actions", NULL};
static const char *const contract_keys[] = {"name", "url", "secret", "timeout_ms", "ttl_s",
                                            NULL};

enum { MIN_SECRET = 16 };

/* Rewrites err's message "key: ..." as "array[i].key: ...". */
static int at(struct conn_error *err, int rc, const char *array, size_t i)
{
	char inner[sizeof(err->msg)];
	memcpy(inner, err->msg, sizeof(inner));
	return conn__errorf(err, rc, "%s[%zu].%s", array, i, inner);
}

bool conn__bo_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.' || (*p == '*' && n == 1)))
			return false;
	return true;
}

/* http:// or https:// with a host, and nothing libcurl would read differently. */
static bool url_valid(const char *url)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return false;
	CURLU *u = curl_url();
	char *host = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	          curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host &&
	          !strpbrk(url, " \t");
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* A required array of names (events) or an optional one (actions) into *out (owned array). */
static int read_names(const char ***out, size_t *n, const json_t *obj, const char *key,
                      bool required, struct conn_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!v && !required)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return conn__errorf(err, CONN_EINVALID, "%s: expected a non-empty array of names", key);
	*out = calloc(json_array_size(v), sizeof(**out));
	if (!*out)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (!s || !conn__bo_name_valid(s, 64))
			return conn__errorf(err, CONN_EINVALID, "%s[%zu]: expected a name of letters, "
			                    "digits, '_', '-' and '.' (at most 64), or \"*\"", key, i);
		(*out)[(*n)++] = s;
	}
	return 0;
}

static int read_secret(const char **out, const json_t *obj, bool required,
                       struct conn_error *err)
{
	int rc = conn__cfg_string(out, obj, "secret", required, err);
	if (!rc && *out && strlen(*out) < MIN_SECRET)
		rc = conn__errorf(err, CONN_EINVALID, "secret: expected at least %d characters "
		                  "(a random string shared with the subscriber)", MIN_SECRET);
	return rc;
}

static int read_endpoint(const char **name, const char **url, const json_t *obj,
                         struct conn_error *err)
{
	int rc = conn__cfg_string(name, obj, "name", true, err);
	if (!rc && (!conn__bo_name_valid(*name, 63) || strcmp(*name, "*") == 0))
		rc = conn__errorf(err, CONN_EINVALID, "name: expected letters, digits, '_', '-' and "
		                  "'.' (at most 63), found '%.80s'", *name);
	if (!rc)
		rc = conn__cfg_string(url, obj, "url", true, err);
	if (!rc && !url_valid(*url))
		rc = conn__errorf(err, CONN_EINVALID, "url: expected an http:// or https:// URL, "
		                  "found '%.120s'", *url);
	return rc;
}

static int read_subscriber(struct conn__bo_subscriber *s, const json_t *obj,
                           struct conn_error *err)
{
	if (!json_is_object(obj))
		return conn__errorf(err, CONN_EINVALID, "expected an object");
	s->timeout_ms = 5000;
	int rc = conn__cfg_known(obj, sub_keys, err);
	if (!rc)
		rc = read_endpoint(&s->name, &s->url, obj, err);
	if (!rc)
		rc = read_secret(&s->secret, obj, true, err);
	if (!rc)
		rc = read_names(&s->events, &s->n_events, obj, "events", true, err);
	if (!rc)
		rc = conn__cfg_int(&s->timeout_ms, obj, "timeout_ms", 1, 600000, err);
	if (!rc)
		rc = conn__cfg_bool(&s->callbacks, obj, "callbacks", err);
	if (!rc)
		rc = read_names(&s->actions, &s->n_actions, obj, "actions", false, err);
	if (!rc && s->actions && !s->callbacks)
		rc = conn__errorf(err, CONN_EINVALID, "actions: only meaningful with \"callbacks\": true");
	return rc;
}

static int read_contract(struct conn__bo_contract *c, const json_t *obj, struct conn_error *err)
{
	if (!json_is_object(obj))
		return conn__errorf(err, CONN_EINVALID, "expected an object");
	c->timeout_ms = 3000;
	c->ttl_s = 300;
	int rc = conn__cfg_known(obj, contract_keys, err);
	if (!rc)
		rc = read_endpoint(&c->name, &c->url, obj, err);
	if (!rc)
		rc = read_secret(&c->secret, obj, false, err);
	if (!rc)
		rc = conn__cfg_int(&c->timeout_ms, obj, "timeout_ms", 1, 60000, err);
	if (!rc)
		rc = conn__cfg_int(&c->ttl_s, obj, "ttl_s", 0, 86400, err);
	return rc;
}

static int read_subscribers(struct conn_backoffice *b, const json_t *list, struct conn_error *err)
{
	if (!list)
		return 0;
	if (!json_is_array(list))
		return conn__errorf(err, CONN_EINVALID, "subscribers: expected an array");
	b->subs = calloc(json_array_size(list) + 1, sizeof(*b->subs));
	if (!b->subs)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct conn__bo_subscriber *s = &b->subs[b->n_subs++];
		int rc = read_subscriber(s, json_array_get(list, i), err);
		if (rc)
			return at(err, rc, "subscribers", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->subs[j].name, s->name) == 0)
				return conn__errorf(err, CONN_EINVALID, "subscribers[%zu].name: '%s' is "
				                    "already the name of subscribers[%zu]", i, s->name, j);
	}
	return 0;
}

static int read_contracts(struct conn_backoffice *b, const json_t *list, struct conn_error *err)
{
	if (!list)
		return 0;
	if (!json_is_array(list))
		return conn__errorf(err, CONN_EINVALID, "contracts: expected an array");
	b->contracts = calloc(json_array_size(list) + 1, sizeof(*b->contracts));
	if (!b->contracts)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct conn__bo_contract *c = &b->contracts[b->n_contracts++];
		int rc = read_contract(c, json_array_get(list, i), err);
		if (rc)
			return at(err, rc, "contracts", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->contracts[j].name, c->name) == 0)
				return conn__errorf(err, CONN_EINVALID, "contracts[%zu].name: '%s' is "
				                    "already the name of contracts[%zu]", i, c->name, j);
	}
	return 0;
}

int conn__bo_config_read(struct conn_backoffice *b, struct conn_error *err)
{
	b->cache_entries = 1024;
	int rc = conn__cfg_known(b->config, top_keys, err);
	if (!rc)
		rc = read_subscribers(b, json_object_get(b->config, "subscribers"), err);
	if (!rc)
		rc = read_contracts(b, json_object_get(b->config, "contracts"), err);
	if (!rc)
		rc = conn__cfg_int(&b->cache_entries, b->config, "cache_entries", 1, 1000000, err);
	if (!rc)
		rc = conn__cfg_string(&b->ca_file, b->config, "ca_file", false, err);
	if (!rc && b->n_subs == 0 && b->n_contracts == 0)
		rc = conn__errorf(err, CONN_EINVALID, "subscribers: expected at least one subscriber "
		                  "or contract; leave the \"backoffice\" section out to use neither");
	return rc;
}

void conn__bo_config_free(struct conn_backoffice *b)
{
	for (size_t i = 0; i < b->n_subs; i++) {
		free(b->subs[i].events);
		free(b->subs[i].actions);
	}
	free(b->subs);
	free(b->contracts);
}
