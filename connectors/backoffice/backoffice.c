/* The integration bus as a connector: open validates the "backoffice" section and builds the
 * state, health reports counters without touching the network. Invariant: a state is
 * read-only after open except for its counters and lookup cache, which have their own locks. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe: open runs at start-up, before the workers. */
static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void bo_close(void *state)
{
	struct conn_backoffice *b = state;
	if (!b)
		return;
	conn__bo_cache_free(b->cache);
	conn__bo_config_free(b);
	json_decref(b->config);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int bo_open(void **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "not configured");
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libcurl: %s",
		                    curl_easy_strerror(curl_init_rc));
	struct conn_backoffice *b = calloc(1, sizeof(*b));
	if (!b)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	pthread_mutex_init(&b->lock, NULL);
	int rc = conn__cfg_parse(&b->config, config_json, err);
	if (!rc)
		rc = conn__bo_config_read(b, err);
	if (!rc && conn__bo_cache_new(&b->cache, (size_t)b->cache_entries) != 0)
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory");
	if (rc) {
		bo_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

static const char *bo_describe(void)
{
	return "the integration bus: \"backoffice\" effects (the tràmit's `backoffice = NAME`, NAME\n"
	       "being the event) are POSTed as signed JSON to every subscriber of the event; 2xx is\n"
	       "delivered, 408/429/5xx/timeouts are retried, other 4xx dead-lettered. Inbound\n"
	       "callbacks and lookups (contracts) use the same HMAC-SHA256 scheme; see\n"
	       "docs/integration.md. Array indexes in messages count from 0.\n"
	       "configuration (\"backoffice\": {...}):\n"
	       "  subscribers[]      array    endpoints that receive events (and may call back)\n"
	       "    name             string   letters, digits, _ - . (required, unique)\n"
	       "    url              string   http:// or https:// URL to POST to (required)\n"
	       "    secret           string   HMAC key shared with it, 16+ characters (required)\n"
	       "    events           array    event names it takes, or [\"*\"] (required)\n"
	       "    timeout_ms       integer  connect and answer timeout, 1..600000 (default 5000)\n"
	       "    callbacks        boolean  accept POST /api/v1/callbacks/NAME (default false)\n"
	       "    actions          array    the only actions its callbacks may take (default any)\n"
	       "  contracts[]        array    lookups a tràmit may call while a form is filled in\n"
	       "    name             string   the contract's name (required, unique)\n"
	       "    url              string   http:// or https:// URL to POST the question to\n"
	       "    secret           string   HMAC key to sign questions with, 16+ characters\n"
	       "    timeout_ms       integer  1..60000 (default 3000)\n"
	       "    ttl_s            integer  seconds an answer is cached, 0..86400 (default 300)\n"
	       "  cache_entries      integer  answers kept at most, 1..1000000 (default 1024)\n"
	       "  ca_file            string   CA certificates to verify https:// endpoints with\n";
}

static int bo_health(void *state, char *buf, size_t len)
{
	struct conn_backoffice *b = state;
	char last[600];
	size_t cached = conn__bo_cache_size(b->cache);
	pthread_mutex_lock(&b->lock);
	conn__json_quote(last, sizeof(last), b->last_error);
	snprintf(buf, len,
	         "{\"status\": \"ok\", \"subscribers\": %zu, \"contracts\": %zu, \"delivered\": %lld, "
	         "\"retried\": %lld, \"failed\": %lld, \"lookups\": %lld, \"lookup_cache_hits\": %lld, "
	         "\"cached_answers\": %zu, \"last_error\": %s}",
	         b->n_subs, b->n_contracts, b->delivered, b->retried, b->failed, b->lookups,
	         b->lookup_hits, cached, last);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static const char *const effect_kinds[] = {"backoffice", NULL};

const struct conn_type conn_backoffice_type = {
	.version = CONN_INTERFACE_VERSION,
	.name = "backoffice",
	.capabilities = CONN_CAP_EFFECTS | CONN_CAP_HEALTH,
	.effect_kinds = effect_kinds,
	.open = bo_open,
	.perform = conn__bo_perform,
	.close = bo_close,
	.describe = bo_describe,
	.health = bo_health,
};
