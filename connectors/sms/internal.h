/* Internals shared by the files of the SMS connector (conn__sms_ prefix): the validated
 * configuration, the notice text and its segments, and the gateway request. The state is
 * read-only after open except the counters, which have their own lock. */
#ifndef CONN_SMS_INTERNAL_H
#define CONN_SMS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "sms.h"

enum conn__sms_format { CONN__SMS_JSON, CONN__SMS_FORM };

/* What an HTTP status means, as configured: 0 is "not listed". */
enum conn__sms_meaning { CONN__SMS_UNLISTED, CONN__SMS_DELIVERED, CONN__SMS_RETRY, CONN__SMS_FAILED };

struct conn_sms {
	json_t *config; /* owns every borrowed string below */
	const char *url, *method, *body, *auth_header, *auth_secret, *sender, *sede_url;
	const char *ca_file, *message_id_pointer;
	const json_t *templates; /* {"NAME": {"ca": "...", "es": "..."}} or NULL */
	enum conn__sms_format format;
	long long timeout_ms, max_segments;
	unsigned char by_status[600], by_class[6]; /* enum conn__sms_meaning */
	char shown_url[300]; /* scheme://host[:port]/path: no credentials, no query */
	pthread_mutex_t lock; /* guards the counters and last_error */
	long long sent, retried, failed;
	char last_error[256];
};

/* config.c: validates the "sms" section (s->config already parsed) into s. */
int conn__sms_config_read(struct conn_sms *s, struct conn_error *err);

/* text.c: the recipient and the text. */
/* Writes the E.164 form of phone into out ("+34612345678"). Returns 0, or -1 with err saying
 * what was expected. */
int conn__sms_phone_normalize(char out[20], const char *phone, char err[256]);

struct conn__sms_size {
	bool gsm7;    /* fits the GSM 03.38 alphabet (with its extension table) */
	size_t units; /* septets for GSM-7, UTF-16 code units for UCS-2 */
	int segments; /* 160/153 septets or 70/67 units each, never splitting a character */
};
/* Measures a UTF-8 text as a phone would send it. Returns 0, or -1 for invalid UTF-8. */
int conn__sms_measure(struct conn__sms_size *out, const char *text);

/* The notice for this item in the party's language, or in both (Valencian first) when the
 * args name none, into *out (malloc'd). *language is "ca", "es" or "ca, es". Returns 0, or -1
 * with err saying why the effect can never be sent as asked. */
int conn__sms_text(char **out, const char **language, const struct conn_sms *s,
                   const struct eng_outbox_item *item, const json_t *args, char err[256]);
/* Whether a configured template is usable: UTF-8 without control characters but "\n". */
bool conn__sms_template_valid(const char *text);

/* request.c: the gateway's request and answer. */
/* The body template with {to}, {text}, {key} and {sender} replaced, each value escaped for
 * the content type (JSON string contents or form-urlencoded), into *out (malloc'd). Returns
 * 0, or -1 (out of memory, or a value that is not UTF-8). */
int conn__sms_body(char **out, const struct conn_sms *s, const char *to, const char *text,
                   const char *key);

struct conn__sms_answer {
	int curl_rc;  /* CURLcode */
	long status;  /* 0 when no HTTP answer came */
	char *body;   /* NUL-terminated, malloc'd, at most 16 KiB kept; may be NULL */
	size_t len;
	char error[256];
};
/* Sends one request; the answer is always filled (free it with conn__sms_answer_free). */
void conn__sms_send(struct conn__sms_answer *out, const struct conn_sms *s, const char *body,
                    const char *key);
void conn__sms_answer_free(struct conn__sms_answer *a);
/* What the configuration says a status means. */
enum conn__sms_meaning conn__sms_meaning(const struct conn_sms *s, long status);
/* The gateway's id for the message at message_id_pointer of a JSON answer, into out, or ""
 * when not configured or absent. */
void conn__sms_message_id(char *out, size_t len, const struct conn_sms *s, const char *body);
/* Replaces every occurrence of the secret in buf by "***": gateways echo what they got. */
void conn__sms_scrub(char *buf, const char *secret);

#endif
