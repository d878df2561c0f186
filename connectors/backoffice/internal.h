/* Internals shared by the files of the integration bus (conn__bo_ prefix): the validated
 * configuration, the HTTP client and the lookup cache. The configuration is read-only after
 * open; everything that changes later (counters, cache) has its own lock. */
#ifndef CONN_BACKOFFICE_INTERNAL_H
#define CONN_BACKOFFICE_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backoffice.h"

struct conn__bo_subscriber {
	const char *name, *url, *secret;  /* borrowed from the configuration document */
	const char **events;              /* owned array of borrowed strings */
	size_t n_events;
	const char **actions;             /* callbacks may only ask these; NULL: any action */
	size_t n_actions;
	long long timeout_ms;
	bool callbacks;
};

struct conn__bo_contract {
	const char *name, *url, *secret; /* secret may be NULL: the request is not signed */
	long long timeout_ms, ttl_s;
};

struct conn__bo_cache;

struct conn_backoffice {
	json_t *config; /* owns every borrowed string */
	const char *ca_file;
	struct conn__bo_subscriber *subs;
	size_t n_subs;
	struct conn__bo_contract *contracts;
	size_t n_contracts;
	long long cache_entries;
	struct conn__bo_cache *cache;
	pthread_mutex_t lock; /* guards the counters and last_error */
	long long delivered, retried, failed, lookups, lookup_hits;
	char last_error[256];
};

/* deliver.c: the connector's perform. */
void conn__bo_perform(void *state, const struct eng_outbox_item *item, struct eng_delivery *out);

/* config.c: validates the "backoffice" section into b (b->config already parsed). */
int conn__bo_config_read(struct conn_backoffice *b, struct conn_error *err);
void conn__bo_config_free(struct conn_backoffice *b);
bool conn__bo_name_valid(const char *s, size_t max);

/* http.c: one POST on this thread's reusable handle (connections are kept alive between
 * calls). The response body is kept up to limit bytes. */
struct conn__bo_post {
	const char *url, *ca_file;
	long timeout_ms;
	const struct curl_slist *headers;
	const char *body;
	size_t len;
};
struct conn__bo_answer {
	CURLcode rc;
	long status;
	char *body; /* NUL-terminated, malloc'd; may be NULL */
	size_t len;
	bool truncated;
	char error[CURL_ERROR_SIZE];
};
void conn__bo_http_post(struct conn__bo_answer *out, const struct conn__bo_post *req,
                        size_t limit);
void conn__bo_answer_free(struct conn__bo_answer *a);
/* Appends the signing headers and Content-Type to *list (event and delivery may be NULL; no
 * signature without secret). Returns 0, or -1 out of memory (*list is then freed and NULL). */
int conn__bo_headers(struct curl_slist **list, const char *secret, int64_t timestamp,
                     const char *event, const char *delivery, const char *body, size_t len);
/* The body with control characters shown as spaces, cut to fit, for one-line error messages. */
void conn__bo_snippet(char *buf, size_t size, const char *body, size_t len);
/* Unix seconds and a monotonic clock in milliseconds. */
int64_t conn__bo_now(void);
int64_t conn__bo_monotonic_ms(void);

/* lookup.c: the cache behind conn_backoffice_lookup. */
int conn__bo_cache_new(struct conn__bo_cache **out, size_t capacity);
void conn__bo_cache_free(struct conn__bo_cache *c);
size_t conn__bo_cache_size(struct conn__bo_cache *c);

#endif
