/* The bus's HTTP client and signature: one libcurl handle per thread, reset and reused for
 * every request so connections to subscribers stay open between deliveries (a new TCP and TLS
 * handshake per event would cost more than the event). Invariant: a handle never leaves its
 * thread; it is cleaned up when the thread exits. */
#include "internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static int key_rc = -1;

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void init_key(void)
{
	key_rc = pthread_key_create(&handle_key, handle_free);
}

/* This thread's handle, reset to defaults but with its connection cache intact. */
static CURL *thread_handle(void)
{
	pthread_once(&once, init_key);
	if (key_rc != 0)
		return curl_easy_init(); /* no key: a handle per request, freed by the caller */
	CURL *h = pthread_getspecific(handle_key);
	if (h) {
		curl_easy_reset(h);
		return h;
	}
	h = curl_easy_init();
	if (h && pthread_setspecific(handle_key, h) != 0) {
		curl_easy_cleanup(h);
		h = NULL;
	}
	return h;
}

int64_t conn__bo_now(void)
{
	return (int64_t)time(NULL);
}

int64_t conn__bo_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fetched once: looking the algorithm up costs more than the MAC of a small body. */
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac;

static void fetch_hmac(void)
{
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int conn_backoffice_sign(char out[72], const char *secret, int64_t timestamp, const char *body,
                         size_t len)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)timestamp);
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	out[0] = '\0';
	pthread_once(&mac_once, fetch_hmac);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	int ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
	         EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) &&
	         EVP_MAC_update(ctx, (const unsigned char *)body, len) &&
	         EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) && mac_len == 32;
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(out, "sha256=", 7);
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[8 + 2 * i] = hex[mac[i] & 15];
	}
	out[71] = '\0';
	return 0;
}

/* Appends "name: value", or "name:" for a NULL value, which tells libcurl to leave the header
 * out. */
static int append(struct curl_slist **list, const char *name, const char *value)
{
	char line[400];
	snprintf(line, sizeof(line), "%s:%s%s", name, value ? " " : "", value ? value : "");
	struct curl_slist *grown = curl_slist_append(*list, line);
	if (!grown) {
		curl_slist_free_all(*list);
		*list = NULL;
		return -1;
	}
	*list = grown;
	return 0;
}

int conn__bo_headers(struct curl_slist **list, const char *secret, int64_t timestamp,
                     const char *event, const char *delivery, const char *body, size_t len)
{
	char ts[24], sig[72];
	snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	/* No "Expect: 100-continue": it costs a round trip per request for a body we send anyway. */
	if (append(list, "Content-Type", "application/json") || append(list, "Expect", NULL) ||
	    append(list, "User-Agent", "tramit-backoffice/1") ||
	    (event && append(list, "X-Tramit-Event", event)) ||
	    (delivery && append(list, "X-Tramit-Delivery", delivery)) ||
	    append(list, "X-Tramit-Timestamp", ts))
		return -1;
	if (!secret)
		return 0;
	if (conn_backoffice_sign(sig, secret, timestamp, body, len) != 0) {
		curl_slist_free_all(*list);
		*list = NULL;
		return -1;
	}
	return append(list, "X-Tramit-Signature", sig);
}

struct sink {
	struct conn__bo_answer *a;
	size_t limit, cap;
};

/* Keeps the first `limit` bytes and swallows the rest: a subscriber cannot exhaust memory. */
static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb, room = s->limit - s->a->len;
	size_t take = n < room ? n : room;
	if (take < n)
		s->a->truncated = true;
	if (take == 0)
		return n;
	if (s->a->len + take + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap < s->a->len + take + 1)
			cap *= 2;
		char *grown = realloc(s->a->body, cap);
		if (!grown)
			return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
		s->a->body = grown;
		s->cap = cap;
	}
	memcpy(s->a->body + s->a->len, data, take);
	s->a->len += take;
	s->a->body[s->a->len] = '\0';
	return n;
}

void conn__bo_http_post(struct conn__bo_answer *out, const struct conn__bo_post *req,
                        size_t limit)
{
	memset(out, 0, sizeof(*out));
	struct sink sink = {out, limit, 0};
	bool own = false;
	CURL *h = thread_handle();
	if (!h) {
		out->rc = CURLE_OUT_OF_MEMORY;
		snprintf(out->error, sizeof(out->error), "cannot set up libcurl (out of memory?)");
		return;
	}
	own = key_rc != 0;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM for timeouts */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, out->error);
	if (req->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	out->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	/* The error buffer belongs to this call; the handle outlives it. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (out->rc != CURLE_OK && !out->error[0])
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(out->rc));
	if (own)
		curl_easy_cleanup(h);
}

void conn__bo_answer_free(struct conn__bo_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

void conn__bo_snippet(char *buf, size_t size, const char *body, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < size; i++)
		buf[n++] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
	buf[n] = '\0';
}
