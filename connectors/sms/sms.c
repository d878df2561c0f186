/* The SMS connector: opens the "sms" section, turns a notify effect into one request to the
 * gateway, and says what the answer means. Invariant: what is wrong with the notice itself (a
 * malformed number, a missing text, too many segments, a status listed as failed) is FAILED
 * at once and nothing is sent; what is wrong with the way there (refused connection, timeout,
 * a status listed as retry or not listed at all) is RETRY, and the retry carries the same
 * idempotency key so the gateway sends one SMS. */
#include "internal.h"

#include <curl/curl.h>
#include <stdarg.h>
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

static void sms_close(void *state)
{
	struct conn_sms *s = state;
	if (!s)
		return;
	json_decref(s->config);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int sms_open(void **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "not configured");
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	struct conn_sms *s = calloc(1, sizeof(*s));
	if (!s)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	int rc = conn__cfg_parse(&s->config, config_json, err);
	if (!rc)
		rc = conn__sms_config_read(s, err);
	if (rc) {
		sms_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void finish(struct conn_sms *s, struct eng_delivery *out, enum eng_delivery_status status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records the outcome with its message, for the operator and for health. */
static void finish(struct conn_sms *s, struct eng_delivery *out, enum eng_delivery_status status,
                   const char *fmt, ...)
{
	va_list ap;
	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->lock);
	if (status == ENG_DELIVERY_DONE)
		s->sent++;
	else if (status == ENG_DELIVERY_RETRY)
		s->retried++;
	else
		s->failed++;
	if (status != ENG_DELIVERY_DONE)
		snprintf(s->last_error, sizeof(s->last_error), "%s", out->error);
	pthread_mutex_unlock(&s->lock);
}

/* What the notice is and to whom, or err saying why it can never be sent as asked. */
struct notice {
	char to[20];
	char *text;
	const char *language;
	struct conn__sms_size size;
};

static int say(char err[256], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the reason into err and returns -1. */
static int say(char err[256], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, 256, fmt, ap);
	va_end(ap);
	return -1;
}

static int prepare(struct notice *n, const struct conn_sms *s, const struct eng_outbox_item *item,
                   const json_t *args, char err[256])
{
	const char *medium = json_string_value(json_object_get(args, "medium"));
	const char *phone = json_string_value(json_object_get(args, "phone"));
	if (!json_is_object(args))
		return say(err, "args are not a JSON object");
	if (medium && strcmp(medium, "sms") != 0)
		return say(err, "args.medium is '%.40s'; this connector only sends SMS",
		                medium);
	if (!phone)
		return say(err, "args.phone is missing: the notify effect must carry the "
		                "party's mobile number for SMS notices");
	if (conn__sms_phone_normalize(n->to, phone, err) != 0 ||
	    conn__sms_text(&n->text, &n->language, s, item, args, err) != 0)
		return -1;
	if (conn__sms_measure(&n->size, n->text) != 0)
		return say(err, "the text is not valid UTF-8");
	/* Refused rather than cut: the end of the text is the e-office address, the one thing a
	 * notice must carry. */
	if (n->size.segments > s->max_segments)
		return say(err, "the text needs %d SMS segments (%zu %s); max_segments is "
		                "%lld: shorten the template or raise max_segments", n->size.segments,
		                n->size.units, n->size.gsm7 ? "GSM-7 septets" : "UCS-2 characters",
		                s->max_segments);
	return 0;
}

static void result(struct eng_delivery *out, const struct notice *n, const char *message_id)
{
	snprintf(out->outcome, sizeof(out->outcome), "sent");
	json_t *r = json_pack("{s:s, s:o, s:i, s:s, s:s}", "to", n->to, "message_id",
	                      message_id[0] ? json_string(message_id) : json_null(), "segments",
	                      n->size.segments, "encoding", n->size.gsm7 ? "gsm7" : "ucs2",
	                      "language", n->language);
	char *dump = r ? json_dumps(r, JSON_COMPACT) : NULL;
	snprintf(out->result_json, sizeof(out->result_json), "%s", dump ? dump : "null");
	free(dump);
	json_decref(r);
}

/* The first bytes of an answer on one line, for an error message. */
static void snippet(char *buf, size_t size, const struct conn__sms_answer *a)
{
	size_t n = 0;
	for (size_t i = 0; a->body && i < a->len && n + 1 < size; i++)
		buf[n++] = (unsigned char)a->body[i] < 0x20 ? ' ' : a->body[i];
	buf[n] = '\0';
}

/* The status for this answer, with its message in why. */
static enum eng_delivery_status judge(char why[256], const struct conn_sms *s,
                                      const struct notice *n, const struct conn__sms_answer *a)
{
	char said[100];
	snippet(said, sizeof(said), a);
	if (a->curl_rc == CURLE_OPERATION_TIMEDOUT) {
		say(why, "%s did not answer within %lld ms", s->shown_url, s->timeout_ms);
		return ENG_DELIVERY_RETRY;
	}
	if (a->curl_rc != CURLE_OK) {
		say(why, "%s: %s", s->shown_url, a->error);
		return ENG_DELIVERY_RETRY;
	}
	switch (conn__sms_meaning(s, a->status)) {
	case CONN__SMS_DELIVERED:
		return ENG_DELIVERY_DONE;
	case CONN__SMS_FAILED:
		say(why, "%s refused the SMS to %s permanently (%ld): %s", s->shown_url, n->to,
		    a->status, said);
		return ENG_DELIVERY_FAILED;
	case CONN__SMS_RETRY:
		say(why, "%s answered %ld, to be retried: %s", s->shown_url, a->status, said);
		return ENG_DELIVERY_RETRY;
	case CONN__SMS_UNLISTED:
		break;
	}
	say(why, "%s answered %ld, which no *_statuses key lists: retried until the configuration "
	    "says what it means", s->shown_url, a->status);
	return ENG_DELIVERY_RETRY;
}

static void sms_perform(void *state, const struct eng_outbox_item *item, struct eng_delivery *out)
{
	struct conn_sms *s = state;
	char err[256] = "";
	struct notice n = {0};
	char *body = NULL;
	json_t *args = json_loads(item->args_json ? item->args_json : "{}", 0, NULL);
	if (prepare(&n, s, item, args, err) != 0) {
		finish(s, out, ENG_DELIVERY_FAILED, "notify %s: %s", item->idempotency_key, err);
	} else if (conn__sms_body(&body, s, n.to, n.text, item->idempotency_key) != 0) {
		finish(s, out, ENG_DELIVERY_FAILED, "notify %s: cannot fill the body template (a "
		       "value that is not UTF-8?)", item->idempotency_key);
	} else {
		struct conn__sms_answer a;
		char why[256] = "", id[128];
		conn__sms_send(&a, s, body, item->idempotency_key);
		enum eng_delivery_status st = judge(why, s, &n, &a);
		if (st == ENG_DELIVERY_DONE) {
			conn__sms_message_id(id, sizeof(id), s, a.body);
			result(out, &n, id);
		}
		finish(s, out, st, "%s", why);
		conn__sms_answer_free(&a);
	}
	free(body);
	free(n.text);
	json_decref(args);
}

static const char *sms_describe(void)
{
	return "sends informative notices by SMS (Llei 39/2015 art. 41.6) through an HTTP gateway,\n"
	       "for \"notify\" effects whose args.medium (or args.channel) is \"sms\"; args carry\n"
	       "`phone` (E.164, or 9 Spanish digits: +34 is added) and `language` (ca or es; both\n"
	       "when absent). The idempotency key goes as {key} and the Idempotency-Key header.\n"
	       "configuration (\"sms\": {...}):\n"
	       "  url                 string   http(s) endpoint of the gateway (required)\n"
	       "  method              string   POST (default) or PUT\n"
	       "  content_type        string   json (default) or form\n"
	       "  body                string   template with {to} {text} {key} {sender} (required)\n"
	       "  auth_header         string   header carrying auth_secret (default Authorization)\n"
	       "  auth_secret         string   its value, e.g. \"Bearer ...\"; never shown\n"
	       "  sender              string   sender id: 11 letters/digits, or +34600000000\n"
	       "  sede_url            string   e-office address shown in notices (required)\n"
	       "  templates           object   {\"NAME\": {\"ca\": \"...\", \"es\": \"...\"}} by effect\n"
	       "                               or channel (binding, informative); {{placeholders}}\n"
	       "  max_segments        integer  1..10 (default 4); a longer text is refused\n"
	       "  timeout_ms          integer  connect and answer timeout, 100..120000 (default 10000)\n"
	       "  delivered_statuses  array    statuses or classes (default [\"2xx\"])\n"
	       "  retry_statuses      array    (default [408, 429, \"5xx\"]); unlisted: retried\n"
	       "  failed_statuses     array    (default [\"4xx\"])\n"
	       "  message_id_pointer  string   JSON pointer to the gateway's id, e.g. /messages/0/id\n"
	       "  ca_file             string   CA certificates to verify an https gateway with\n";
}

static int sms_health(void *state, char *buf, size_t len)
{
	struct conn_sms *s = state;
	char url[700], last[600];
	conn__json_quote(url, sizeof(url), s->shown_url);
	pthread_mutex_lock(&s->lock);
	conn__json_quote(last, sizeof(last), s->last_error);
	snprintf(buf, len,
	         "{\"status\": \"ok\", \"gateway\": %s, \"content_type\": \"%s\", \"sent\": %lld, "
	         "\"retried\": %lld, \"failed\": %lld, \"last_error\": %s}",
	         url, s->format == CONN__SMS_JSON ? "json" : "form", s->sent, s->retried, s->failed,
	         last);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const char *const effect_kinds[] = {"notify", NULL};

const struct conn_type conn_sms_type = {
	.version = CONN_INTERFACE_VERSION,
	.name = "sms",
	.capabilities = CONN_CAP_EFFECTS | CONN_CAP_HEALTH,
	.effect_kinds = effect_kinds,
	.medium = "sms",
	.open = sms_open,
	.perform = sms_perform,
	.close = sms_close,
	.describe = sms_describe,
	.health = sms_health,
};
