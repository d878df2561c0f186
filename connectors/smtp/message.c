/* Renders a notice e-mail: headers first, each checked before it is written, then the body in
 * quoted-printable. Headers are only ever produced here, from values that passed
 * conn__smtp_header_safe, so a value cannot add a header of its own (no Bcc: smuggled in a
 * subject or an address). */
#include "message.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing buffer; once an allocation fails it stays failed and the caller checks once. */
struct buf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = true;
	else
		buf_add(b, tmp, (size_t)n);
}

bool conn__smtp_header_safe(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

static bool atom_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static bool domain_valid(const char *d)
{
	size_t label = 0, len = strlen(d);
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

bool conn__smtp_address_valid(const char *addr)
{
	const char *at = strrchr(addr, '@');
	if (!at || at == addr || strlen(addr) > 254 || at - addr > 64)
		return false;
	for (const char *p = addr; p < at; p++) {
		if (*p == '.') {
			if (p == addr || p + 1 == at || p[1] == '.')
				return false;
		} else if (!atom_char((unsigned char)*p)) {
			return false;
		}
	}
	return domain_valid(at + 1);
}

int conn__smtp_message_id(char *buf, size_t len, const char *key, const char *domain)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (!domain_valid(domain) ||
	    !EVP_Digest(key, strlen(key), md, &md_len, EVP_sha256(), NULL) || md_len < 16)
		return -1;
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	int n = snprintf(buf, len, "<tramit.%s@%s>", hex, domain);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

bool conn__smtp_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
		          : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (extra < 0 || (extra == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < extra; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static void base64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char table[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);
		char out[4] = {table[v >> 18 & 63], table[v >> 12 & 63],
		               i + 1 < n ? table[v >> 6 & 63] : '=', i + 2 < n ? table[v & 63] : '='};
		buf_add(b, out, 4);
	}
}

/* RFC 2047 "B" encoded-words of at most 45 bytes (60 base64 characters, 72 with the
 * delimiters), never splitting a UTF-8 sequence, folded onto continuation lines. */
static void encoded_words(struct buf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), i = 0;
	while (i < len) {
		size_t n = len - i < 45 ? len - i : 45;
		while (i + n < len && (s[i + n] & 0xc0) == 0x80)
			n--;
		if (i)
			buf_str(b, "\r\n ");
		buf_str(b, "=?UTF-8?B?");
		base64(b, s + i, n);
		buf_str(b, "?=");
		i += n;
	}
}

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters with soft breaks; a leading
 * dot is encoded too, so no line of the body can end the SMTP DATA phase. */
static void quoted_printable(struct buf *b, const char *text)
{
	int col = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			buf_str(b, "\r\n");
			col = 0;
			continue;
		}
		if (*p == '\r')
			continue;
		char enc[4];
		bool at_end = p[1] == '\n' || p[1] == '\0';
		bool plain = (*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0)) ||
		             ((*p == ' ' || *p == '\t') && !at_end);
		if (plain)
			snprintf(enc, sizeof(enc), "%c", *p);
		else
			snprintf(enc, sizeof(enc), "=%02X", *p);
		int w = (int)strlen(enc);
		if (col + w > 75) {
			buf_str(b, "=\r\n");
			col = 0;
			if (*p == '.')
				snprintf(enc, sizeof(enc), "=2E"), w = 3;
		}
		buf_str(b, enc);
		col += w;
	}
	if (col)
		buf_str(b, "\r\n");
}

static void date_header(struct buf *b, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	           tm.tm_sec);
}

static int check(const struct conn__smtp_mail *m, char err[256])
{
	const struct { const char *name, *value; } headers[] = {
		{"sender address", m->from}, {"sender name", m->from_name ? m->from_name : ""},
		{"recipient address", m->to}, {"subject", m->subject}, {"language", m->language},
		{"message id", m->message_id},
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if (!conn__smtp_header_safe(headers[i].value) || !conn__smtp_utf8_valid(headers[i].value)) {
			snprintf(err, 256, "refused: the %s contains a line break, a control character or "
			         "invalid UTF-8 (header injection?)", headers[i].name);
			return -1;
		}
	}
	if (!conn__smtp_address_valid(m->from) || !conn__smtp_address_valid(m->to)) {
		snprintf(err, 256, "refused: '%.100s' is not a valid e-mail address",
		         conn__smtp_address_valid(m->from) ? m->to : m->from);
		return -1;
	}
	if (!conn__smtp_utf8_valid(m->body)) {
		snprintf(err, 256, "refused: the body is not valid UTF-8");
		return -1;
	}
	return 0;
}

int conn__smtp_render(char **out, size_t *len, const struct conn__smtp_mail *m, char err[256])
{
	*out = NULL;
	if (check(m, err) != 0)
		return -1;
	struct buf b = {0};
	buf_str(&b, "From: ");
	if (m->from_name && *m->from_name) {
		encoded_words(&b, m->from_name);
		buf_str(&b, " ");
	}
	buf_printf(&b, "<%s>\r\nTo: <%s>\r\nSubject: ", m->from, m->to);
	encoded_words(&b, m->subject);
	buf_str(&b, "\r\n");
	date_header(&b, m->date);
	buf_printf(&b, "Message-ID: %s\r\n", m->message_id);
	buf_str(&b, "MIME-Version: 1.0\r\n"
	            "Content-Type: text/plain; charset=UTF-8\r\n"
	            "Content-Transfer-Encoding: quoted-printable\r\n");
	buf_printf(&b, "Content-Language: %s\r\n", m->language);
	buf_str(&b, "Auto-Submitted: auto-generated\r\n\r\n");
	quoted_printable(&b, m->body);
	if (b.failed) {
		free(b.p);
		snprintf(err, 256, "out of memory while rendering the message");
		return -1;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}
