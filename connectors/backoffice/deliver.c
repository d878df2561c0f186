/* Outbound events: a "backoffice" effect becomes one signed POST to each subscriber of its
 * event. Invariant: the status says what the subscribers made of it: 2xx from every one is
 * DONE; a refused connection, a timeout, 408, 429 or 5xx from any one is RETRY (the ones that
 * already took it see the same X-Tramit-Delivery again and drop it); otherwise a 4xx (or a
 * redirect) is FAILED, since sending the same request again cannot change the answer. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a subscriber answered, kept for an error message. */
enum { SNIPPET = 120, KEEP_BODY = 1024 };

static bool subscribed(const struct conn__bo_subscriber *s, const char *event)
{
	for (size_t i = 0; i < s->n_events; i++)
		if (strcmp(s->events[i], "*") == 0 || strcmp(s->events[i], event) == 0)
			return true;
	return false;
}

static void count(struct conn_backoffice *b, enum eng_delivery_status status, const char *error)
{
	pthread_mutex_lock(&b->lock);
	if (status == ENG_DELIVERY_DONE)
		b->delivered++;
	else if (status == ENG_DELIVERY_RETRY)
		b->retried++;
	else
		b->failed++;
	if (status != ENG_DELIVERY_DONE)
		snprintf(b->last_error, sizeof(b->last_error), "%s", error);
	pthread_mutex_unlock(&b->lock);
}

static void fail(struct eng_delivery *out, enum eng_delivery_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct eng_delivery *out, enum eng_delivery_status status, const char *fmt, ...)
{
	va_list ap;
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

/* Header values come from the tràmit and the store: a line break would forge headers. */
static bool header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return *s != '\0';
}

/* The body every subscriber of this item receives, signed at `timestamp`, or NULL with jerr
 * saying why (invalid UTF-8 in an id). Its keys and their order are part of the contract
 * documented in docs/integration.md. */
static char *body_for(const struct eng_outbox_item *item, json_t *args, int64_t timestamp,
                      json_error_t *jerr)
{
	char when[32];
	time_t t = (time_t)timestamp;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *doc = json_pack_ex(jerr, 0, "{s:s, s:s, s:s, s:s, s:s, s:s, s:O}",
	                           "event", item->target, "delivery", item->idempotency_key,
	                           "entity", item->entity_id ? item->entity_id : "",
	                           "expedient", item->expedient_id ? item->expedient_id : "",
	                           "effect", item->effect_id ? item->effect_id : "", "time", when,
	                           "args", args);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

static void say(char why[256], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages are cut at 256 bytes on purpose: the operator needs the start of each. */
static void say(char why[256], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, 256, fmt, ap);
	va_end(ap);
}

/* One POST to one subscriber; returns its status and fills why for RETRY and FAILED. */
static enum eng_delivery_status post_one(long *http_status, char why[256],
                                         const struct conn_backoffice *b,
                                         const struct conn__bo_subscriber *s,
                                         const struct eng_outbox_item *item, const char *body,
                                         int64_t timestamp)
{
	struct curl_slist *headers = NULL;
	size_t len = strlen(body);
	if (conn__bo_headers(&headers, s->secret, timestamp, item->target, item->idempotency_key,
	                     body, len) != 0) {
		say(why, "subscriber '%s': out of memory while signing", s->name);
		return ENG_DELIVERY_RETRY;
	}
	struct conn__bo_post req = {s->url, b->ca_file, (long)s->timeout_ms, headers, body, len};
	struct conn__bo_answer a;
	conn__bo_http_post(&a, &req, KEEP_BODY);
	curl_slist_free_all(headers);
	*http_status = a.status;
	enum eng_delivery_status st = ENG_DELIVERY_DONE;
	char snippet[SNIPPET + 1];
	conn__bo_snippet(snippet, sizeof(snippet), a.body ? a.body : "", a.len);
	if (a.rc == CURLE_OPERATION_TIMEDOUT) {
		st = ENG_DELIVERY_RETRY;
		say(why, "subscriber '%s': %s did not answer within %lld ms", s->name, s->url,
		    s->timeout_ms);
	} else if (a.rc != CURLE_OK) {
		st = ENG_DELIVERY_RETRY;
		say(why, "subscriber '%s': %s: %s", s->name, s->url, a.error);
	} else if (a.status >= 200 && a.status <= 299) {
		st = ENG_DELIVERY_DONE;
	} else {
		bool passing = a.status == 408 || a.status == 429 || a.status >= 500;
		st = passing ? ENG_DELIVERY_RETRY : ENG_DELIVERY_FAILED;
		say(why, "subscriber '%s': %s answered %ld%s%s%s", s->name, s->url, a.status,
		    a.status >= 300 && a.status <= 399 ? " (redirects are not followed: configure "
		                                         "the final URL)" : "",
		    snippet[0] ? ": " : "", snippet);
	}
	conn__bo_answer_free(&a);
	return st;
}

/* The worse of two outcomes: RETRY over FAILED over DONE, so an item is dead-lettered only
 * once no subscriber can still change its mind. */
static int rank(enum eng_delivery_status st)
{
	return st == ENG_DELIVERY_RETRY ? 2 : st == ENG_DELIVERY_FAILED ? 1 : 0;
}

/* Posts body to every subscriber of the event; the worst answer decides, and its message is
 * the one the operator sees. result lists each subscriber's HTTP status. */
static void post_all(struct eng_delivery *out, json_t *result, const struct conn_backoffice *b,
                     const struct eng_outbox_item *item, const char *body, int64_t timestamp)
{
	out->status = ENG_DELIVERY_DONE;
	size_t failing = 0;
	for (size_t i = 0; i < b->n_subs; i++) {
		const struct conn__bo_subscriber *s = &b->subs[i];
		if (!subscribed(s, item->target))
			continue;
		char why[256] = "";
		long status = 0;
		enum eng_delivery_status st = post_one(&status, why, b, s, item, body, timestamp);
		json_array_append_new(result, json_pack("{s:s, s:i}", "name", s->name, "status",
		                                        (json_int_t)status));
		failing += st != ENG_DELIVERY_DONE;
		if (rank(st) > rank(out->status)) {
			out->status = st;
			snprintf(out->error, sizeof(out->error), "%s", why);
		}
	}
	if (failing > 1) {
		char more[48];
		snprintf(more, sizeof(more), " (and %zu more failing)", failing - 1);
		size_t n = strlen(out->error), room = sizeof(out->error) - strlen(more) - 1;
		snprintf(out->error + (n < room ? n : room), sizeof(out->error) - (n < room ? n : room),
		         "%s", more);
	}
}

static size_t count_subscribers(const struct conn_backoffice *b, const char *event)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n_subs; i++)
		n += subscribed(&b->subs[i], event);
	return n;
}

/* Checks what the item carries before anything is sent; returns the parsed args or NULL with
 * out FAILED. */
static json_t *item_args(struct eng_delivery *out, const struct conn_backoffice *b,
                         const struct eng_outbox_item *item)
{
	if (!item->target || !header_safe(item->target)) {
		fail(out, ENG_DELIVERY_FAILED, "backoffice %s: the effect has no integration name (its "
		     "target), or one with control characters",
		     item->idempotency_key ? item->idempotency_key : "(no key)");
		return NULL;
	}
	if (!item->idempotency_key || !header_safe(item->idempotency_key)) {
		fail(out, ENG_DELIVERY_FAILED, "backoffice '%s': the idempotency key is empty or has "
		     "control characters", item->target);
		return NULL;
	}
	if (count_subscribers(b, item->target) == 0) {
		fail(out, ENG_DELIVERY_FAILED, "backoffice %s: no subscriber takes '%s' events: add it "
		     "to the \"events\" of one in backoffice.subscribers", item->idempotency_key,
		     item->target);
		return NULL;
	}
	json_t *args = json_loads(item->args_json ? item->args_json : "{}", 0, NULL);
	if (!json_is_object(args)) {
		json_decref(args);
		fail(out, ENG_DELIVERY_FAILED, "backoffice %s: args are not a JSON object",
		     item->idempotency_key);
		return NULL;
	}
	return args;
}

void conn__bo_perform(void *state, const struct eng_outbox_item *item, struct eng_delivery *out)
{
	struct conn_backoffice *b = state;
	char *body = NULL;
	json_t *result = NULL;
	json_t *args = item_args(out, b, item);
	if (!args)
		goto done;
	int64_t timestamp = conn__bo_now();
	json_error_t jerr;
	body = body_for(item, args, timestamp, &jerr);
	if (!body) {
		fail(out, ENG_DELIVERY_FAILED, "backoffice %s: cannot encode the event as JSON: %s",
		     item->idempotency_key, jerr.text);
		goto done;
	}
	if (!(result = json_array())) {
		fail(out, ENG_DELIVERY_RETRY, "backoffice %s: out of memory", item->idempotency_key);
		goto done;
	}
	post_all(out, result, b, item, body, timestamp);
	if (out->status == ENG_DELIVERY_DONE) {
		snprintf(out->outcome, sizeof(out->outcome), "delivered");
		json_t *doc = json_pack("{s:O}", "subscribers", result);
		char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		/* Never a cut JSON text: with very many subscribers only their number fits. */
		if (text && strlen(text) < sizeof(out->result_json))
			snprintf(out->result_json, sizeof(out->result_json), "%s", text);
		else
			snprintf(out->result_json, sizeof(out->result_json), "{\"subscribers\":%zu}",
			         json_array_size(result));
		free(text);
		json_decref(doc);
	}
done:
	count(b, out->status, out->error);
	free(body);
	json_decref(result);
	json_decref(args);
}
