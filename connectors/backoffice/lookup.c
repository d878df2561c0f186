/* Integration contracts: questions a tràmit asks a back-office system while a form is filled
 * in (is this person on the census? does this NIF owe taxes?), answered over HTTP with a
 * timeout and cached for the contract's TTL. Invariant: the cache never holds more than its
 * capacity, never answers past an entry's expiry, and only holds 200 answers that are JSON. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"

enum { MAX_ANSWER = 64 * 1024 };

struct entry {
	uint64_t hash;
	char *key;   /* "CONTRACT\nPARAMS" with params' keys sorted; NULL: a free slot */
	char *value; /* compact JSON */
	int64_t expires_ms;
};

/* A flat array searched linearly: with a capacity in the thousands a scan of 64-bit hashes
 * costs less than the HTTP request a miss makes, and eviction (the entry expiring first) needs
 * no second structure. */
struct conn__bo_cache {
	pthread_mutex_t lock;
	size_t capacity, used;
	struct entry *entries;
};

int conn__bo_cache_new(struct conn__bo_cache **out, size_t capacity)
{
	struct conn__bo_cache *c = calloc(1, sizeof(*c));
	if (!c || !(c->entries = calloc(capacity, sizeof(*c->entries)))) {
		free(c);
		*out = NULL;
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->capacity = capacity;
	*out = c;
	return 0;
}

static void entry_clear(struct entry *e)
{
	free(e->key);
	free(e->value);
	memset(e, 0, sizeof(*e));
}

void conn__bo_cache_free(struct conn__bo_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->capacity; i++)
		entry_clear(&c->entries[i]);
	free(c->entries);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

size_t conn__bo_cache_size(struct conn__bo_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->used;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* A malloc'd copy of the live answer for key, or NULL. */
static char *cache_get(struct conn__bo_cache *c, const char *key, uint64_t hash, int64_t now)
{
	char *copy = NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->capacity; i++) {
		struct entry *e = &c->entries[i];
		if (!e->key || e->hash != hash || strcmp(e->key, key) != 0)
			continue;
		if (e->expires_ms > now)
			copy = strdup(e->value);
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return copy;
}

/* The slot for key: its own, else a free one, else the one expiring first. */
static struct entry *slot_for(struct conn__bo_cache *c, const char *key, uint64_t hash)
{
	struct entry *free_slot = NULL, *soonest = NULL;
	for (size_t i = 0; i < c->capacity; i++) {
		struct entry *e = &c->entries[i];
		if (!e->key) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
		if (!soonest || e->expires_ms < soonest->expires_ms)
			soonest = e;
	}
	return free_slot ? free_slot : soonest;
}

static void cache_put(struct conn__bo_cache *c, const char *key, uint64_t hash,
                      const char *value, int64_t expires_ms)
{
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return; /* not caching is always correct */
	}
	pthread_mutex_lock(&c->lock);
	struct entry *e = slot_for(c, key, hash);
	if (!e->key)
		c->used++;
	entry_clear(e);
	*e = (struct entry){hash, k, v, expires_ms};
	pthread_mutex_unlock(&c->lock);
}

static const struct conn__bo_contract *find_contract(const struct conn_backoffice *b,
                                                     const char *name)
{
	for (size_t i = 0; name && i < b->n_contracts; i++)
		if (strcmp(b->contracts[i].name, name) == 0)
			return &b->contracts[i];
	return NULL;
}

/* The request body {"contract": ..., "params": ...} with sorted keys, which is also the cache
 * key: the same question always has the same text. */
static int question(char **out, const char *contract, const char *params_json,
                    struct conn_error *err)
{
	json_error_t jerr;
	json_t *params = json_loads(params_json ? params_json : "{}", JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(params)) {
		json_decref(params);
		return conn__errorf(err, CONN_EINVALID, "lookup '%s': params: expected a JSON object",
		                    contract);
	}
	json_t *doc = json_pack("{s:s, s:o}", "contract", contract, "params", params);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	return *out ? 0 : conn__errorf(err, CONN_ENOMEM, "out of memory");
}

/* Turns the endpoint's answer into *out (a compact JSON text) or an error naming the URL. */
static int read_answer(char **out, const struct conn__bo_contract *c, long timeout_ms,
                       const struct conn__bo_answer *a, struct conn_error *err)
{
	char snippet[121];
	conn__bo_snippet(snippet, sizeof(snippet), a->body ? a->body : "", a->len);
	if (a->rc == CURLE_OPERATION_TIMEDOUT)
		return conn__errorf(err, CONN_BO_ETIMEOUT, "lookup '%s': %s did not answer within "
		                    "%ld ms", c->name, c->url, timeout_ms);
	if (a->rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "lookup '%s': %s: %s", c->name, c->url,
		                    a->error);
	if (a->status != 200)
		return conn__errorf(err, CONN_EUNAVAILABLE, "lookup '%s': %s answered %ld%s%s", c->name,
		                    c->url, a->status, snippet[0] ? ": " : "", snippet);
	json_error_t jerr;
	json_t *doc = a->truncated ? NULL : json_loadb(a->body ? a->body : "", a->len,
	                                               JSON_DECODE_ANY, &jerr);
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(doc);
	if (!text)
		return conn__errorf(err, CONN_EUNAVAILABLE, "lookup '%s': %s answered 200 without a "
		                    "JSON body of at most %d bytes", c->name, c->url, MAX_ANSWER);
	*out = text;
	return 0;
}

static int ask(char **out, const struct conn_backoffice *b, const struct conn__bo_contract *c,
               const char *body, long timeout_ms, struct conn_error *err)
{
	struct curl_slist *headers = NULL;
	size_t len = strlen(body);
	if (conn__bo_headers(&headers, c->secret, conn__bo_now(), NULL, NULL, body, len) != 0)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	struct conn__bo_post req = {c->url, b->ca_file, timeout_ms, headers, body, len};
	struct conn__bo_answer a;
	conn__bo_http_post(&a, &req, MAX_ANSWER);
	curl_slist_free_all(headers);
	int rc = read_answer(out, c, timeout_ms, &a, err);
	conn__bo_answer_free(&a);
	return rc;
}

static void count(struct conn_backoffice *b, bool hit)
{
	pthread_mutex_lock(&b->lock);
	b->lookups++;
	b->lookup_hits += hit;
	pthread_mutex_unlock(&b->lock);
}

int conn_backoffice_lookup(char **out, struct conn_backoffice *b, const char *contract,
                           const char *params_json, int timeout_ms, struct conn_error *err)
{
	*out = NULL;
	if (!b)
		return conn__errorf(err, CONN_BO_EUNKNOWN, "lookup '%.63s': the backoffice connector is "
		                    "not configured", contract ? contract : "");
	const struct conn__bo_contract *c = find_contract(b, contract);
	if (!c)
		return conn__errorf(err, CONN_BO_EUNKNOWN, "lookup '%.63s': no such contract in "
		                    "backoffice.contracts", contract ? contract : "");
	char *body = NULL;
	int rc = question(&body, c->name, params_json, err);
	if (rc)
		return rc;
	uint64_t hash = fnv1a(body);
	int64_t now = conn__bo_monotonic_ms();
	*out = c->ttl_s > 0 ? cache_get(b->cache, body, hash, now) : NULL;
	count(b, *out != NULL);
	if (*out)
		goto done;
	long timeout = timeout_ms > 0 && timeout_ms < c->timeout_ms ? timeout_ms : (long)c->timeout_ms;
	rc = ask(out, b, c, body, timeout, err);
	if (!rc && c->ttl_s > 0)
		cache_put(b->cache, body, hash, *out, conn__bo_monotonic_ms() + c->ttl_s * 1000);
done:
	free(body);
	return rc;
}
