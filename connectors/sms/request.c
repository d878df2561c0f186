/* The gateway's request and answer: the configured body template filled with values escaped
 * for its content type, one HTTP request with libcurl, and what the answer means. Invariant:
 * the auth secret goes into one header of one request and nowhere else; an answer that
 * echoes it is scrubbed before any part of it is kept. */
#include "internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEEP_ANSWER = 16 * 1024 };

struct buf {
	char *s;
	size_t n, cap;
	bool failed;
};

static void add(struct buf *b, const char *p, size_t len)
{
	if (b->failed)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = (b->n + len + 1) * 2;
		char *grown = realloc(b->s, cap);
		if (!grown) {
			b->failed = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->n, p, len);
	b->n += len;
	b->s[b->n] = '\0';
}

/* The contents of a JSON string (without its quotes) or a form-urlencoded value. */
static void add_escaped(struct buf *b, enum conn__sms_format format, const char *value)
{
	if (format == CONN__SMS_FORM) {
		char *e = curl_easy_escape(NULL, value, 0);
		if (!e) {
			b->failed = true;
			return;
		}
		add(b, e, strlen(e));
		curl_free(e);
		return;
	}
	json_t *str = json_string(value); /* NULL for invalid UTF-8 */
	char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	if (!text)
		b->failed = true;
	else
		add(b, text + 1, strlen(text) - 2);
	free(text);
	json_decref(str);
}

int conn__sms_body(char **out, const struct conn_sms *s, const char *to, const char *text,
                   const char *key)
{
	const struct {
		const char *name, *value;
	} vars[] = {{"{to}", to}, {"{text}", text}, {"{key}", key}, {"{sender}", s->sender}};
	struct buf b = {0};
	add(&b, "", 0);
	/* Only these four names are placeholders: any other brace is the template's own JSON. */
	for (const char *p = s->body; *p && !b.failed;) {
		size_t i = 0;
		while (i < 4 && (*p != '{' || strncmp(p, vars[i].name, strlen(vars[i].name)) != 0))
			i++;
		if (i == 4) {
			add(&b, p++, 1);
			continue;
		}
		add_escaped(&b, s->format, vars[i].value ? vars[i].value : "");
		p += strlen(vars[i].name);
	}
	if (b.failed) {
		free(b.s);
		return -1;
	}
	*out = b.s;
	return 0;
}

void conn__sms_scrub(char *buf, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *hit;
	while (n && (hit = strstr(buf, secret)) != NULL) {
		memcpy(hit, "***", 3);
		memmove(hit + 3, hit + n, strlen(hit + n) + 1);
	}
}

/* Appends "name: value" (or "name:", which tells libcurl to leave the header out) to *list;
 * on failure frees the list, sets it to NULL and returns -1. */
static int header(struct curl_slist **list, const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 4;
	char *line = malloc(n);
	struct curl_slist *grown = NULL;
	if (line) {
		snprintf(line, n, "%s:%s%s", name, *value ? " " : "", value);
		grown = curl_slist_append(*list, line);
		/* The line may hold the secret: wipe it before it goes back to the allocator. */
		memset(line, 0, n);
		free(line);
	}
	if (!grown) {
		curl_slist_free_all(*list);
		*list = NULL;
		return -1;
	}
	*list = grown;
	return 0;
}

static struct curl_slist *headers_for(const struct conn_sms *s, const char *key)
{
	struct curl_slist *h = NULL;
	const char *type = s->format == CONN__SMS_JSON ? "application/json; charset=utf-8"
	                                               : "application/x-www-form-urlencoded";
	/* No "Expect: 100-continue": a round trip for a small body we send anyway. */
	if (header(&h, "Content-Type", type) || header(&h, "Accept", "application/json") ||
	    header(&h, "Expect", "") || header(&h, "User-Agent", "tramit-sms/1") ||
	    header(&h, "Idempotency-Key", key) ||
	    (s->auth_secret && header(&h, s->auth_header, s->auth_secret)))
		return NULL;
	return h;
}

struct sink {
	struct conn__sms_answer *a;
	size_t cap;
};

/* Keeps the first KEEP_ANSWER bytes and swallows the rest: a gateway cannot exhaust memory. */
static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *k = userdata;
	size_t n = size * nmemb, room = KEEP_ANSWER - k->a->len, take = n < room ? n : room;
	if (take == 0)
		return n;
	if (k->a->len + take + 1 > k->cap) {
		size_t cap = k->a->len + take + 1 > 1024 ? KEEP_ANSWER + 1 : 1024;
		char *grown = realloc(k->a->body, cap);
		if (!grown)
			return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
		k->a->body = grown;
		k->cap = cap;
	}
	memcpy(k->a->body + k->a->len, data, take);
	k->a->len += take;
	k->a->body[k->a->len] = '\0';
	return n;
}

static void setup(CURL *c, const struct conn_sms *s, const char *body, struct curl_slist *h,
                  struct sink *k, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	if (strcmp(s->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, s->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM for timeouts */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
}

/* A handle per request: notices are few, and a fresh handle keeps no secret between calls. */
void conn__sms_send(struct conn__sms_answer *out, const struct conn_sms *s, const char *body,
                    const char *key)
{
	memset(out, 0, sizeof(*out));
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink k = {out, 0};
	struct curl_slist *h = headers_for(s, key);
	CURL *c = h ? curl_easy_init() : NULL;
	if (!c) {
		curl_slist_free_all(h);
		out->curl_rc = CURLE_OUT_OF_MEMORY;
		snprintf(out->error, sizeof(out->error), "cannot set up libcurl (out of memory?)");
		return;
	}
	setup(c, s, body, h, &k, errbuf);
	out->curl_rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	snprintf(out->error, sizeof(out->error), "%s",
	         errbuf[0] ? errbuf : curl_easy_strerror((CURLcode)out->curl_rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	conn__sms_scrub(out->error, s->auth_secret);
	if (out->body) {
		conn__sms_scrub(out->body, s->auth_secret);
		out->len = strlen(out->body);
	}
}

void conn__sms_answer_free(struct conn__sms_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

enum conn__sms_meaning conn__sms_meaning(const struct conn_sms *s, long status)
{
	if (status < 100 || status > 599)
		return CONN__SMS_UNLISTED;
	if (s->by_status[status])
		return (enum conn__sms_meaning)s->by_status[status];
	return (enum conn__sms_meaning)s->by_class[status / 100];
}

/* One step of an RFC 6901 pointer: the token up to the next '/', with ~1 and ~0 undone. */
static const json_t *step(const json_t *v, const char **p)
{
	char token[128];
	size_t n = 0;
	for (; **p && **p != '/' && n + 1 < sizeof(token); (*p)++) {
		if (**p == '~' && ((*p)[1] == '0' || (*p)[1] == '1')) {
			token[n++] = (*p)[1] == '0' ? '~' : '/';
			(*p)++;
		} else {
			token[n++] = **p;
		}
	}
	token[n] = '\0';
	if (json_is_object(v))
		return json_object_get(v, token);
	char *end;
	unsigned long i = strtoul(token, &end, 10);
	if (!json_is_array(v) || !n || *end || (token[0] == '0' && n > 1))
		return NULL;
	return json_array_get(v, i);
}

void conn__sms_message_id(char *out, size_t len, const struct conn_sms *s, const char *body)
{
	out[0] = '\0';
	if (!s->message_id_pointer || !body)
		return;
	json_t *doc = json_loads(body, 0, NULL);
	const json_t *v = doc;
	for (const char *p = s->message_id_pointer; v && *p == '/';) {
		p++;
		v = step(v, &p);
	}
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	json_decref(doc);
}
