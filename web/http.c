/* HTTP plumbing: escaping, body and form parsing, cookies, responses with security headers.
 * Invariant: nothing user-supplied reaches HTML without web_html/web_attr escaping. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "internal.h"

void web_printf(struct web_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(c->out, fmt, ap);
	va_end(ap);
}

static void escape(struct web_ctx *c, const char *s, bool attr)
{
	if (!s)
		return;
	const char *run = s;
	for (const char *p = s; *p; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\n': rep = attr ? "&#10;" : NULL; break;
		default: break;
		}
		if (rep) {
			evbuffer_add(c->out, run, (size_t)(p - run));
			evbuffer_add(c->out, rep, strlen(rep));
			run = p + 1;
		}
	}
	evbuffer_add(c->out, run, strlen(run));
}

void web_html(struct web_ctx *c, const char *text)
{
	escape(c, text, false);
}

void web_attr(struct web_ctx *c, const char *text)
{
	escape(c, text, true);
}

char *web_url_encode(struct web_ctx *c, const char *s)
{
	char *enc = evhttp_uriencode(s, -1, 0);
	char *r = eng_arena_strdup(&c->arena, enc ? enc : "");
	free(enc);
	return r;
}

void web_send(struct web_ctx *c, int status, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	evhttp_add_header(h, "Content-Security-Policy",
	                  "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Language", web_lang_code(c->lang));
	const char *reason = status == 200 ? "OK" : status == 201 ? "Created" : status == 303 ? "See Other"
	        : status == 400 ? "Bad Request" : status == 401 ? "Unauthorized"
	        : status == 403 ? "Forbidden" : status == 404 ? "Not Found"
	        : status == 405 ? "Method Not Allowed" : status == 409 ? "Conflict"
	        : status == 413 ? "Payload Too Large" : status == 422 ? "Unprocessable Entity"
	        : status == 503 ? "Service Unavailable" : status >= 500 ? "Internal Server Error" : "OK";
	c->status = status;
	evhttp_send_reply(c->req, status, reason, c->out);
}

void web_redirect(struct web_ctx *c, const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", location);
	web_send(c, 303, "text/plain; charset=utf-8");
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

size_t web_utf8_len(const unsigned char *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
	         : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (k == 0 || k > n || (k == 2 && s[0] < 0xC2) || (k == 4 && s[0] > 0xF4))
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((k == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (k == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
	    (k == 3 && s[0] == 0xED && s[1] >= 0xA0) || (k == 4 && s[0] == 0xF4 && s[1] >= 0x90))
		return 0;
	return k;
}

bool web_utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = web_utf8_len((const unsigned char *)s + i, n - i)))
			return false;
	return true;
}

/* Decodes one urlencoded component into the arena; NULL if malformed: a bad escape, a NUL, or
 * bytes that are not UTF-8 (every page is UTF-8, and so is everything the database stores). */
static char *decode(struct web_ctx *c, const char *s, size_t n)
{
	char *out = eng_arena_alloc(&c->arena, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return NULL;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	if (strlen(out) != o || !web_utf8_valid(out, o))
		return NULL;
	return out;
}

int web_parse_form(struct web_ctx *c, const char *text, size_t len, struct eng_value **out,
                   size_t *n)
{
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += text[i] == '&';
	if (cap > 256)
		return -1;
	*out = eng_arena_alloc(&c->arena, sizeof(**out) * cap);
	*n = 0;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && text[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && text[eq] != '=')
				eq++;
			char *name = decode(c, text + i, eq - i);
			char *value = eq < end ? decode(c, text + eq + 1, end - eq - 1)
			                       : eng_arena_strdup(&c->arena, "");
			if (!name || !value)
				return -1;
			(*out)[*n].name = name;
			(*out)[*n].value = value;
			(*n)++;
		}
		i = end + 1;
	}
	return 0;
}

char *web_body(struct web_ctx *c, size_t max, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t n = evbuffer_get_length(in);
	if (n > max)
		return NULL;
	char *body = eng_arena_alloc(&c->arena, n + 1);
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	*len = n;
	return body;
}

const char *web_query_get(struct web_ctx *c, const char *name)
{
	if (!c->query)
		return NULL;
	struct eng_value *v;
	size_t n;
	if (web_parse_form(c, c->query, strlen(c->query), &v, &n) != 0)
		return NULL;
	return eng_values_get(v, n, name);
}

const char *web_header(struct web_ctx *c, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(c->req), name);
}

const char *web_cookie(struct web_ctx *c, const char *name)
{
	const char *h = web_header(c, "Cookie");
	size_t nl = strlen(name);
	while (h && *h) {
		while (*h == ' ' || *h == ';')
			h++;
		const char *end = strchr(h, ';');
		size_t len = end ? (size_t)(end - h) : strlen(h);
		if (len > nl && strncmp(h, name, nl) == 0 && h[nl] == '=')
			return eng_arena_strndup(&c->arena, h + nl + 1, len - nl - 1);
		h = end;
	}
	return NULL;
}

char *web_random_hex(struct web_ctx *c, size_t bytes)
{
	unsigned char raw[64];
	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
		return NULL;
	char *hex = eng_arena_alloc(&c->arena, 2 * bytes + 1);
	for (size_t i = 0; i < bytes; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return hex;
}

int64_t web_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
