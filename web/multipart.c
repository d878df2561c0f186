/* multipart/form-data (RFC 7578) for form posts with files: a strict, bounded parser over a
 * body already in memory. Parts point into the body (nothing is copied but names); the limits
 * on parts, header sizes and names are checked before anything is allocated for them, and
 * anything a browser would not send (no boundary, a missing closing delimiter, a part without
 * a name, bare LF line ends, NUL in a name) is refused with a reason, never guessed at.
 * Invariant: every part returned lies wholly inside the body. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

enum {
	MP_MAX_BOUNDARY = 70,  /* RFC 2046 */
	MP_MAX_HEADERS = 1024, /* the header block of one part */
	MP_MAX_NAME = 100,     /* a field name */
	MP_MAX_FILENAME = 1024 /* a file name before sanitising */
};

static int fail(const char **why, const char *key)
{
	*why = key;
	return -1;
}

/* The boundary parameter of a multipart/form-data Content-Type, unquoted, into out. */
static int boundary_of(const char *ctype, char out[MP_MAX_BOUNDARY + 1])
{
	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19) != 0)
		return -1;
	const char *p = ctype + 19;
	while (*p) {
		p += strspn(p, " \t;");
		if (strncasecmp(p, "boundary=", 9) == 0) {
			p += 9;
			bool quoted = *p == '"';
			p += quoted;
			size_t n = quoted ? strcspn(p, "\"") : strcspn(p, " \t;");
			if (n == 0 || n > MP_MAX_BOUNDARY || (quoted && p[n] != '"'))
				return -1;
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
					return -1;
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
		p += strcspn(p, ";");
	}
	return -1;
}

/* A parameter of Content-Disposition (name="x"), as a quoted string or a token; NULL when
 * absent, "\x01" (never a valid value) when malformed. */
static const char *disposition_param(struct web_ctx *c, const char *h, size_t hlen,
                                     const char *param, size_t max)
{
	size_t pl = strlen(param);
	for (size_t i = 0; i + pl + 1 < hlen; i++) {
		if ((i > 0 && h[i - 1] != ';' && h[i - 1] != ' ' && h[i - 1] != '\t') ||
		    strncasecmp(h + i, param, pl) != 0 || h[i + pl] != '=')
			continue;
		const char *v = h + i + pl + 1, *end = h + hlen;
		char *out = eng_arena_alloc(&c->arena, max + 1);
		size_t o = 0;
		if (v < end && *v == '"') {
			/* Browsers send a backslash as itself and a quote as %22 (HTML's form
			 * encoding), so there are no escapes to undo. */
			for (v++; v < end && *v != '"'; v++) {
				if (o == max || *v == '\0')
					return "\x01";
				out[o++] = *v;
			}
			if (v >= end)
				return "\x01";
		} else {
			for (; v < end && *v != ';' && *v != ' ' && *v != '\t'; v++) {
				if (o == max)
					return "\x01";
				out[o++] = *v;
			}
		}
		out[o] = '\0';
		return out;
	}
	return NULL;
}

/* Reads the header block [h, h+len) of one part into part. */
static int part_headers(struct web_ctx *c, const char *h, size_t len, struct web_part *part,
                        const char **why)
{
	bool disposition = false;
	for (size_t i = 0; i < len;) {
		const char *eol = memchr(h + i, '\r', len - i);
		if (!eol || eol + 1 >= h + len || eol[1] != '\n')
			return fail(why, "mp.structure");
		size_t n = (size_t)(eol - (h + i));
		const char *line = h + i;
		if (n > 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
			const char *v = line + 20;
			size_t vn = n - 20;
			while (vn && (*v == ' ' || *v == '\t'))
				v++, vn--;
			if (vn < 9 || strncasecmp(v, "form-data", 9) != 0)
				return fail(why, "mp.disposition");
			part->name = disposition_param(c, v, vn, "name", MP_MAX_NAME);
			part->filename = disposition_param(c, v, vn, "filename", MP_MAX_FILENAME);
			disposition = true;
		} else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
			const char *v = line + 13;
			while (*v == ' ' || *v == '\t')
				v++;
			part->content_type = eng_arena_strndup(&c->arena, v, (size_t)(eol - v));
		}
		i += n + 2;
	}
	if (!disposition || !part->name || !*part->name || part->name[0] == '\x01' ||
	    (part->filename && part->filename[0] == '\x01'))
		return fail(why, "mp.disposition");
	return 0;
}

static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
	return m <= n ? memmem(hay, n, needle, m) : NULL;
}

int web_multipart_parse(struct web_ctx *c, const char *ctype, const char *body, size_t len,
                        size_t max_parts, struct web_part **out, size_t *n, const char **why)
{
	char boundary[MP_MAX_BOUNDARY + 1];
	*out = NULL;
	*n = 0;
	if (boundary_of(ctype, boundary) != 0)
		return fail(why, "mp.boundary");
	/* delim is "\r\n--boundary"; the body starts with it minus the CRLF. */
	char delim[MP_MAX_BOUNDARY + 5];
	size_t dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (len < dl - 2 || memcmp(body, delim + 2, dl - 2) != 0)
		return fail(why, "mp.structure");
	*out = eng_arena_alloc(&c->arena, sizeof(**out) * (max_parts + 1));
	const char *p = body + dl - 2, *end = body + len;
	for (;;) {
		/* After a delimiter: "--" closes the body, CRLF opens a part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return fail(why, "mp.structure");
		p += 2;
		if (*n == max_parts)
			return fail(why, "mp.parts");
		size_t room = (size_t)(end - p) < MP_MAX_HEADERS + 4 ? (size_t)(end - p) : MP_MAX_HEADERS + 4;
		const char *blank = find(p, room, "\r\n\r\n", 4);
		if (!blank)
			return fail(why, (size_t)(end - p) > MP_MAX_HEADERS ? "mp.headers" : "mp.structure");
		struct web_part *part = &(*out)[*n];
		*part = (struct web_part){0};
		if (part_headers(c, p, (size_t)(blank - p) + 2, part, why) != 0)
			return -1;
		const char *data = blank + 4;
		const char *next = find(data, (size_t)(end - data), delim, dl);
		if (!next)
			return fail(why, "mp.structure");
		part->data = data;
		part->len = (size_t)(next - data);
		(*n)++;
		p = next + dl;
	}
}

char *web_filename_clean(struct web_ctx *c, const char *raw)
{
	/* Only the last path component: some browsers send the whole client path. */
	const char *base = raw;
	for (const char *p = raw; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = strlen(base);
	char *out = eng_arena_alloc(&c->arena, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = web_utf8_len((const unsigned char *)base + i, n - i);
		unsigned char ch = (unsigned char)base[i];
		/* "|" and line breaks separate files in a form value; the rest are unsafe in a
		 * Content-Disposition header or on a desktop. */
		if (k == 0 || ch < 0x20 || ch == 0x7f || strchr("|\"<>:*?", ch)) {
			out[o++] = '_';
			i += k ? k : 1;
			continue;
		}
		memcpy(out + o, base + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	char *s = out;
	while (*s == '.' || *s == ' ')
		s++; /* no hidden files, no "..": a name, not a path */
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '.'))
		out[--o] = '\0';
	if (strlen(s) <= 255)
		return s;
	/* Too long: keep the extension and cut the stem at a character boundary. */
	const char *dot = strrchr(s, '.');
	size_t ext = dot && strlen(dot) <= 16 ? strlen(dot) : 0;
	size_t stem = 255 - ext;
	while (stem > 0 && ((unsigned char)s[stem] & 0xC0) == 0x80)
		stem--;
	return eng_arena_printf(&c->arena, "%.*s%s", (int)stem, s, ext ? dot : "");
}
