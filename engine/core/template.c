/* Document templates: placeholder names, their check at compile time and their filling at
 * issue time (template.h). Invariant: the check and the filling read placeholders with the
 * same scanner, so whatever the compiler accepted the runtime can fill. */
#include "template.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
	[ENG_DOC_REQUIREMENT] = "requirement",
	[ENG_DOC_RESOLUTION] = "resolution",
	[ENG_DOC_CERTIFICATE] = "certificate",
	[ENG_DOC_SILENCE_CERTIFICATE] = "silence_certificate",
	[ENG_DOC_PROPOSAL] = "proposal",
	[ENG_DOC_OTHER] = "other",
};

enum { N_KINDS = sizeof(kind_names) / sizeof(kind_names[0]) };

const char *eng_doc_kind_name(enum eng_doc_kind kind)
{
	return (unsigned)kind < N_KINDS ? kind_names[kind] : "other";
}

int eng_doc_kind_from_name(const char *name)
{
	for (int i = 0; name && i < (int)N_KINDS; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

const char *eng_doc_kind_eni_type(enum eng_doc_kind kind)
{
	switch (kind) {
	case ENG_DOC_RESOLUTION: return "TD01";
	case ENG_DOC_CERTIFICATE:
	case ENG_DOC_SILENCE_CERTIFICATE: return "TD11";
	case ENG_DOC_REQUIREMENT: return "TD06";
	default: return "TD99";
	}
}

const struct eng_template *eng_definition_template(const struct eng_definition *def,
                                                   const char *name)
{
	for (size_t i = 0; name && i < def->n_templates; i++)
		if (strcmp(def->templates[i].name, name) == 0)
			return &def->templates[i];
	return NULL;
}

/* The fixed placeholders, in the order the error message lists them. */
enum ph {
	PH_EXPEDIENT_NUMBER, PH_EXPEDIENT_DATE, PH_TRAMIT_CODE, PH_TRAMIT_TITLE, PH_APPLICANT_NAME,
	PH_APPLICANT_NIF, PH_REGISTRY_NUMBER, PH_REGISTRY_DATE, PH_ENTITY_NAME, PH_DOCUMENT_DATE,
	PH_DOCUMENT_CSV, PH__COUNT,
};
static const char *const ph_names[PH__COUNT] = {
	"expedient.number", "expedient.date", "tramit.code", "tramit.title", "applicant.name",
	"applicant.nif", "registry.number", "registry.date", "entity.name", "document.date",
	"document.csv",
};

static int ph_find(const char *name, size_t len)
{
	for (int i = 0; i < PH__COUNT; i++)
		if (strlen(ph_names[i]) == len && memcmp(ph_names[i], name, len) == 0)
			return i;
	return -1;
}

/* A form field a template may name: a field outside repeatable groups. */
static const struct eng_field *data_field(const struct eng_definition *def, const char *name,
                                          size_t len)
{
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (!f->group && strlen(f->name) == len && memcmp(f->name, name, len) == 0)
			return f;
	}
	return NULL;
}

/* One piece of a template: literal text or a placeholder name (without braces). */
struct piece {
	const char *p;
	size_t len;
	bool placeholder;
};

/* Reads the piece at *pos; false at the end. A "{" without its "}" on the same placeholder is
 * reported through *unclosed (its offset), and ends the scan. */
static bool next_piece(const char *text, size_t *pos, struct piece *out, long *unclosed)
{
	const char *s = text + *pos;
	if (!*s)
		return false;
	if (s[0] == '{' && s[1] == '{') {
		*out = (struct piece){ s, 1, false };
		*pos += 2;
		return true;
	}
	if (s[0] == '{') {
		const char *end = strchr(s + 1, '}');
		const char *nl = strchr(s + 1, '\n');
		if (!end || (nl && nl < end) || end - s > 80) {
			*unclosed = (long)(s - text);
			return false;
		}
		*out = (struct piece){ s + 1, (size_t)(end - s - 1), true };
		*pos += (size_t)(end - s) + 1;
		return true;
	}
	size_t n = strcspn(s, "{");
	*out = (struct piece){ s, n, false };
	*pos += n;
	return true;
}

int eng_template_check(const struct eng_definition *def, const char *text, char *msg, size_t cap)
{
	size_t pos = 0;
	long unclosed = -1;
	struct piece pc;
	while (next_piece(text, &pos, &pc, &unclosed)) {
		if (!pc.placeholder || ph_find(pc.p, pc.len) >= 0)
			continue;
		int n = (int)(pc.len > 60 ? 60 : pc.len);
		if (pc.len > 5 && memcmp(pc.p, "data.", 5) == 0) {
			if (data_field(def, pc.p + 5, pc.len - 5))
				continue;
			snprintf(msg, cap, "placeholder {%.*s} names no field of the form (fields in "
			         "repeatable groups cannot be named)", n, pc.p);
			return ENG_EINVALID;
		}
		snprintf(msg, cap, "unknown placeholder {%.*s}; use expedient.number|date, "
		         "tramit.code|title, applicant.name|nif, registry.number|date, entity.name, "
		         "document.date|csv or data.FIELD", n, pc.p);
		return ENG_EINVALID;
	}
	if (unclosed >= 0) {
		snprintf(msg, cap, "unclosed { at character %ld (write {{ for a literal brace)",
		         unclosed + 1);
		return ENG_EINVALID;
	}
	return 0;
}

/* A growing text; out of memory aborts like the arena does. */
struct out {
	char *p;
	size_t n, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (o->n + n + 1 > cap)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p)
			abort();
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	if (!s || !*s)
		s = "\xe2\x80\x94"; /* an em dash: the value is not known */
	out_add(o, s, strlen(s));
}

/* "2026-01-22" -> "22/01/2026"; anything else as given. */
static void out_date(struct out *o, const char *ymd)
{
	if (ymd && strlen(ymd) >= 10 && ymd[4] == '-' && ymd[7] == '-') {
		char d[11] = { ymd[8], ymd[9], '/', ymd[5], ymd[6], '/', ymd[0], ymd[1], ymd[2], ymd[3], 0 };
		out_add(o, d, 10);
		return;
	}
	out_str(o, ymd);
}

/* Integer cents as "1.234,56 €". */
static void out_money(struct out *o, const char *cents_text)
{
	char *end = NULL;
	long long cents = cents_text ? strtoll(cents_text, &end, 10) : 0;
	if (!cents_text || !*cents_text || *end) {
		out_str(o, cents_text);
		return;
	}
	bool neg = cents < 0;
	unsigned long long v = neg ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
	char digits[32], buf[64];
	int nd = snprintf(digits, sizeof(digits), "%llu", v / 100);
	size_t k = 0;
	if (neg)
		buf[k++] = '-';
	for (int i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[k++] = '.';
		buf[k++] = digits[i];
	}
	snprintf(buf + k, sizeof(buf) - k, ",%02llu \xe2\x82\xac", v % 100);
	out_add(o, buf, strlen(buf));
}

static const char *data_value(const struct eng_template_context *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_data; i++)
		if (strcmp(ctx->data[i].name, name) == 0)
			return ctx->data[i].value;
	return NULL;
}

static void out_option(struct out *o, const struct eng_field *f, const char *value,
                       enum eng_lang lang)
{
	for (size_t i = 0; i < f->n_options; i++)
		if (strcmp(f->options[i].value, value) == 0) {
			out_str(o, eng_text_get(&f->options[i].label, lang));
			return;
		}
	out_str(o, value);
}

/* A form value as the citizen reads it. */
static void out_field(struct out *o, const struct eng_field *f, const char *v, enum eng_lang lang)
{
	if (!v || !*v) {
		out_str(o, NULL);
		return;
	}
	switch (f->type) {
	case ENG_FIELD_CHOICE:
		out_option(o, f, v, lang);
		break;
	case ENG_FIELD_MULTICHOICE:
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, ",");
			char one[128];
			snprintf(one, sizeof(one), "%.*s", (int)(n < 127 ? n : 127), p);
			if (p != v)
				out_add(o, ", ", 2);
			out_option(o, f, one, lang);
			p += n + (p[n] == ',');
		}
		break;
	case ENG_FIELD_MONEY:
		out_money(o, v);
		break;
	case ENG_FIELD_DATE:
		out_date(o, v);
		break;
	case ENG_FIELD_YESNO:
		out_str(o, strcmp(v, "yes") == 0 ? "S\xc3\xad" : "No");
		break;
	case ENG_FIELD_FILE:
		/* "name|bytes|sha256" per line: the names. */
		for (const char *p = v; *p;) {
			size_t line = strcspn(p, "\n"), bar = strcspn(p, "|");
			if (p != v)
				out_add(o, ", ", 2);
			out_add(o, p, bar < line ? bar : line);
			p += line + (p[line] == '\n');
		}
		break;
	default:
		out_add(o, v, strlen(v));
		break;
	}
}

static void out_placeholder(struct out *o, const struct piece *pc,
                            const struct eng_template_context *ctx, enum eng_lang lang)
{
	const struct eng_definition *def = ctx->def;
	switch (ph_find(pc->p, pc->len)) {
	case PH_EXPEDIENT_NUMBER: out_str(o, ctx->expedient_number); return;
	case PH_EXPEDIENT_DATE: out_date(o, ctx->expedient_date); return;
	case PH_TRAMIT_CODE: out_str(o, def->code); return;
	case PH_TRAMIT_TITLE: out_str(o, eng_text_get(&def->title, lang)); return;
	case PH_APPLICANT_NAME: out_str(o, ctx->applicant_name); return;
	case PH_APPLICANT_NIF: out_str(o, ctx->applicant_nif); return;
	case PH_REGISTRY_NUMBER: out_str(o, ctx->registry_number); return;
	case PH_REGISTRY_DATE: out_date(o, ctx->registry_date); return;
	case PH_ENTITY_NAME: out_str(o, eng_text_get(&ctx->entity_name, lang)); return;
	case PH_DOCUMENT_DATE: out_date(o, ctx->document_date); return;
	case PH_DOCUMENT_CSV: out_str(o, ctx->document_csv); return;
	default: break;
	}
	const struct eng_field *f =
		pc->len > 5 && memcmp(pc->p, "data.", 5) == 0 ? data_field(def, pc->p + 5, pc->len - 5) : NULL;
	if (f) {
		out_field(o, f, data_value(ctx, f->name), lang);
		return;
	}
	out_add(o, pc->p - 1, pc->len + 2);
}

const char *eng_template_fill(struct eng_arena *a, const char *text,
                              const struct eng_template_context *ctx, enum eng_lang lang)
{
	struct out o = { 0 };
	size_t pos = 0;
	long unclosed = -1;
	struct piece pc;
	out_add(&o, "", 0);
	while (next_piece(text, &pos, &pc, &unclosed)) {
		if (pc.placeholder)
			out_placeholder(&o, &pc, ctx, lang);
		else
			out_add(&o, pc.p, pc.len);
	}
	if (unclosed >= 0)
		out_add(&o, text + unclosed, strlen(text + unclosed));
	char *r = eng_arena_strndup(a, o.p, o.n);
	free(o.p);
	return r;
}
