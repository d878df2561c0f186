/* Texts for generated documents: UTF-8 to the Windows-1252 of the standard PDF fonts (refusing,
 * with the field's name, any character the font cannot print rather than dropping it), the
 * bilingual pick, and the ISO 8601 times receipts carry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "docs_internal.h"

/* The characters of Windows-1252's 0x80-0x9F block that Valencian and Spanish texts use. */
static const struct { unsigned cp; unsigned char b; } cp1252_extra[] = {
	{0x20AC, 0x80}, {0x201A, 0x82}, {0x201E, 0x84}, {0x2026, 0x85}, {0x2018, 0x91},
	{0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95}, {0x2013, 0x96},
	{0x2014, 0x97}, {0x0152, 0x8C}, {0x0153, 0x9C}, {0x2122, 0x99},
};

/* Decodes one UTF-8 sequence at p into *cp; returns its length, or 0 when malformed
 * (overlong forms, surrogates and values past U+10FFFF included). */
static int utf8_next(unsigned *cp, const unsigned char *p)
{
	static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
	int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
	      : (*p & 0xF8) == 0xF0 ? 4 : 0;
	if (!n)
		return 0;
	unsigned c = n == 1 ? *p : n == 2 ? *p & 0x1Fu : n == 3 ? *p & 0x0Fu : *p & 0x07u;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3Fu);
	}
	if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

static int cp1252_byte(unsigned cp)
{
	if (cp == '\n')
		return '\n';
	if (cp == '\t')
		return ' ';
	if ((cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xFF))
		return (int)cp;
	for (size_t i = 0; i < sizeof(cp1252_extra) / sizeof(cp1252_extra[0]); i++)
		if (cp1252_extra[i].cp == cp)
			return cp1252_extra[i].b;
	return -1;
}

int conn__doc_cp1252(char **out, const char *utf8, const char *field, struct conn_error *err)
{
	*out = malloc(strlen(utf8) + 1);
	if (!*out)
		return conn__errorf(err, CONN_ENOMEM, "%s: out of memory", field);
	size_t o = 0, chars = 0;
	for (const unsigned char *p = (const unsigned char *)utf8; *p;) {
		unsigned cp = 0;
		int n = utf8_next(&cp, p);
		chars++;
		if (!n) {
			conn__errorf(err, CONN_EINVALID, "%s: invalid UTF-8 at character %zu", field, chars);
			goto fail;
		}
		p += n;
		if (cp == '\r')
			continue;
		int b = cp1252_byte(cp);
		if (b < 0) {
			conn__errorf(err, CONN_EINVALID, "%s: character %zu (U+%04X) cannot be printed in the "
			             "PDF's font, which has the Latin letters of Valencian and Spanish; "
			             "replace it", field, chars, cp);
			goto fail;
		}
		(*out)[o++] = (char)b;
	}
	(*out)[o] = '\0';
	return 0;
fail:
	free(*out);
	*out = NULL;
	return err->code;
}

char *conn__doc_pick(enum conn__doc_lang lang, const char *ca, const char *es)
{
	if (lang == CONN__DOC_CA || strcmp(ca, es) == 0)
		return strdup(ca);
	if (lang == CONN__DOC_ES)
		return strdup(es);
	size_t n = strlen(ca) + strlen(es) + 4;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s / %s", ca, es);
	return s;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

int conn__doc_time_parse(struct conn__doc_time *out, const char *iso, const char *field,
                         struct conn_error *err)
{
	struct conn__doc_time t = {0};
	int used = 0;
	const char *p = iso;
	if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.year, &t.month, &t.day, &t.hour, &t.minute,
	           &t.second, &used) != 6 || used != 19)
		goto bad;
	p += used;
	if (*p == '.') {
		do
			p++;
		while (*p >= '0' && *p <= '9');
	}
	if (*p == 'Z' && p[1] == '\0') {
		t.sign = 'Z';
	} else if ((*p == '+' || *p == '-') &&
	           sscanf(p + 1, "%2d:%2d%n", &t.off_hour, &t.off_minute, &used) == 2 && used == 5 &&
	           p[6] == '\0') {
		t.sign = *p;
	} else {
		goto bad;
	}
	if (t.year < 1900 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1 ||
	    t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59 ||
	    t.hour < 0 || t.minute < 0 || t.second < 0 || t.off_hour < 0 || t.off_hour > 23 ||
	    t.off_minute < 0 || t.off_minute > 59)
		goto bad;
	*out = t;
	return 0;
bad:
	return conn__errorf(err, CONN_EINVALID, "%s: expected an ISO 8601 time like "
	                    "2026-03-02T10:15:30+01:00, found '%.40s'", field, iso);
}

void conn__doc_time_format(char out[48], const struct conn__doc_time *t)
{
	if (t->sign == 'Z')
		snprintf(out, 48, "%02d/%02d/%04d %02d:%02d:%02d (UTC)", t->day, t->month, t->year,
		         t->hour, t->minute, t->second);
	else
		snprintf(out, 48, "%02d/%02d/%04d %02d:%02d:%02d (UTC%c%02d:%02d)", t->day, t->month,
		         t->year, t->hour, t->minute, t->second, t->sign, t->off_hour, t->off_minute);
}
