/* What an SMS notice says and to whom: the recipient in E.164, the text in the party's
 * language from a built-in or configured template, and its size in segments as a phone
 * network counts them (GSM 03.38 septets, or UCS-2 when a character falls outside it). The
 * text only says where to look: the notification itself is at the e-office (art. 41.6). */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {{placeholders}} are filled exactly as in the e-mail texts, so one tràmit's args serve both. */
#include "connectors/smtp/templates.h"

/* Short on purpose: Valencian and Spanish accents push a text into UCS-2, 70 characters a
 * segment, and every segment is paid for. */
static const struct {
	const char *name, *ca, *es;
} builtin[] = {
	{"binding",
	 "Teniu una notificació de l'expedient {{expedient}} en la seu electrònica: "
	 "{{sede_url}}. Avís informatiu.",
	 "Tiene una notificación del expediente {{expedient}} en la sede electrónica: "
	 "{{sede_url}}. Aviso informativo."},
	{"informative",
	 "Novetats en el vostre expedient {{expedient}}: {{sede_url}}",
	 "Novedades en su expediente {{expedient}}: {{sede_url}}"},
};

int conn__sms_phone_normalize(char out[20], const char *phone, char err[256])
{
	char d[24];
	size_t n = 0;
	const char *p = phone;
	bool plus = *p == '+', ok = true;
	for (p += plus; *p && ok; p++) {
		if (*p >= '0' && *p <= '9' && n < 20)
			d[n++] = *p;
		else if (!strchr(" -.()", *p) || n >= 20)
			ok = false; /* only the separators people write between groups of digits */
	}
	d[n] = '\0';
	if (ok && !plus && n > 2 && d[0] == '0' && d[1] == '0') {
		plus = true; /* the international prefix dialled from Spain */
		memmove(d, d + 2, n - 1);
		n -= 2;
	}
	if (ok && !plus && n == 9 && strchr("6789", d[0])) {
		snprintf(out, 20, "+34%s", d);
		return 0;
	}
	/* E.164: at most 15 digits, a country code that does not start with 0; Spain's numbers
	 * have nine digits after +34. */
	if (ok && plus && n >= 8 && n <= 15 && d[0] != '0' &&
	    (strncmp(d, "34", 2) != 0 || (n == 11 && strchr("6789", d[2])))) {
		snprintf(out, 20, "+%s", d);
		return 0;
	}
	snprintf(err, 256, "args.phone: expected a number in E.164 (+34612345678) or nine Spanish "
	         "digits starting 6, 7, 8 or 9, found '%.40s'", phone);
	return -1;
}

/* The next code point of a UTF-8 text, or -1 when it is not UTF-8. */
static long next_code_point(const unsigned char **p)
{
	const unsigned char *s = *p;
	int extra = s[0] < 0x80 ? 0 : (s[0] & 0xe0) == 0xc0 ? 1 : (s[0] & 0xf0) == 0xe0 ? 2
	          : (s[0] & 0xf8) == 0xf0 ? 3 : -1;
	if (extra < 0 || (extra == 1 && s[0] < 0xc2))
		return -1;
	long cp = extra == 0 ? s[0] : s[0] & (0x3f >> extra);
	for (int i = 1; i <= extra; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*p = s + extra + 1;
	return cp;
}

/* Septets a character takes in GSM 03.38: 1 in the basic table, 2 through the extension
 * table's escape, 0 when it is not in the alphabet. */
static int gsm_septets(long cp)
{
	static const char *const basic_ascii =
		"\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
	static const long basic_other[] = {
		0xa3, 0xa5, 0xe8, 0xe9, 0xf9, 0xec, 0xf2, 0xc7, 0xd8, 0xf8, 0xc5, 0xe5, 0x394, 0x3a6,
		0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398, 0x39e, 0xc6, 0xe6, 0xdf, 0xc9, 0xa4,
		0xa1, 0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf, 0xe4, 0xf6, 0xf1, 0xfc, 0xe0,
	};
	if (cp > 0 && cp < 0x80 && strchr(basic_ascii, (int)cp))
		return 1;
	if (cp > 0 && cp < 0x80 && strchr("^{}\\[~]|\f", (int)cp))
		return 2;
	if (cp == 0x20ac) /* the euro sign */
		return 2;
	for (size_t i = 0; i < sizeof(basic_other) / sizeof(basic_other[0]); i++)
		if (basic_other[i] == cp)
			return 1;
	return 0;
}

int conn__sms_measure(struct conn__sms_size *out, const char *text)
{
	memset(out, 0, sizeof(*out));
	out->gsm7 = true;
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		long cp = next_code_point(&p);
		if (cp < 0)
			return -1;
		out->gsm7 = out->gsm7 && gsm_septets(cp) > 0;
	}
	size_t single = out->gsm7 ? 160 : 70, part = out->gsm7 ? 153 : 67, used = 0;
	out->segments = 1;
	/* A concatenated message never splits a character (an escape and its septet, or a
	 * surrogate pair) across two segments, so segments are packed character by character. */
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		long cp = next_code_point(&p);
		size_t cost = out->gsm7 ? (size_t)gsm_septets(cp) : cp > 0xffff ? 2 : 1;
		if (used + cost > part) {
			out->segments++;
			used = 0;
		}
		used += cost;
		out->units += cost;
	}
	if (out->units <= single)
		out->segments = 1;
	return 0;
}

bool conn__sms_template_valid(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		long cp = next_code_point(&p);
		if (cp < 0 || (cp < 0x20 && cp != '\n') || cp == 0x7f)
			return false;
	}
	return true;
}

/* The entity's template for the effect's name, else its template for the channel, else
 * ours for the channel; a channel we do not know reads as "informative". */
static const char *template_for(const struct conn_sms *s, const struct eng_outbox_item *item,
                                const char *channel, const char *lang)
{
	const char *kind = channel && strcmp(channel, "binding") == 0 ? "binding" : "informative";
	const json_t *own = json_object_get(s->templates, item->target ? item->target : "");
	if (!own)
		own = json_object_get(s->templates, kind);
	if (own)
		return json_string_value(json_object_get(own, lang));
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i].name, kind) == 0)
			return strcmp(lang, "ca") == 0 ? builtin[i].ca : builtin[i].es;
	return NULL;
}

/* The placeholders a text may use: the effect's string args, then ours, which win. */
static json_t *template_vars(const struct conn_sms *s, const json_t *args,
                             const struct eng_outbox_item *item)
{
	json_t *vars = json_object();
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)args, key, value)
		if (json_is_string(value))
			json_object_set(vars, key, value);
	json_object_set_new(vars, "expedient", json_string(item->expedient_id ? item->expedient_id : ""));
	json_object_set_new(vars, "sede_url", json_string(s->sede_url));
	return vars;
}

static int fill(char **out, const struct conn_sms *s, const struct eng_outbox_item *item,
                const char *channel, const char *lang, const json_t *vars, char err[256])
{
	const char *t = template_for(s, item, channel, lang);
	if (!t) {
		snprintf(err, 256, "no SMS text for '%.60s' in '%s'", item->target ? item->target : "",
		         lang);
		return -1;
	}
	if (conn__smtp_template_fill(out, t, vars, err) != 0)
		return -1;
	if (!conn__sms_template_valid(*out)) {
		snprintf(err, 256, "refused: an arg put a control character or invalid UTF-8 into "
		         "the '%s' text", lang);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int conn__sms_text(char **out, const char **language, const struct conn_sms *s,
                   const struct eng_outbox_item *item, const json_t *args, char err[256])
{
	const char *lang = json_string_value(json_object_get(args, "language"));
	const char *channel = json_string_value(json_object_get(args, "channel"));
	*out = NULL;
	if (lang && strcmp(lang, "ca") != 0 && strcmp(lang, "es") != 0) {
		snprintf(err, 256, "args.language: expected \"ca\" or \"es\", found '%.40s'", lang);
		return -1;
	}
	json_t *vars = template_vars(s, args, item);
	char *ca = NULL, *es = NULL;
	int rc = -1;
	if (lang) {
		*language = strcmp(lang, "ca") == 0 ? "ca" : "es";
		rc = fill(out, s, item, channel, *language, vars, err);
	} else if (fill(&ca, s, item, channel, "ca", vars, err) == 0 &&
	           fill(&es, s, item, channel, "es", vars, err) == 0) {
		/* Every communication reaches the party in a language they read: both, when the
		 * record does not say which. */
		size_t n = strlen(ca) + strlen(es) + 2;
		*out = malloc(n);
		if (*out)
			snprintf(*out, n, "%s\n%s", ca, es);
		*language = "ca, es";
		rc = *out ? 0 : -1;
		if (rc)
			snprintf(err, 256, "out of memory while composing the text");
	}
	free(ca);
	free(es);
	json_decref(vars);
	return rc;
}
