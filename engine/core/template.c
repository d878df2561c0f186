/* Document templates: placeholder names, their check at compile time and their filling at
 * issue time (template.h). Invariant: the check and the filling read placeholders with the
 * same scanner, so whatever the compiler accepted the runtime can fill. */
#include "template.h"
#include "validate.h"

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

/* What a data.* placeholder names: a field outside repeatable groups (data.FIELD), a whole
 * repeatable group (data.GROUP) or one field of every instance of a group (data.GROUP.FIELD). */
struct data_ref {
	const struct eng_field *field;
	const struct eng_group *group;
};

static bool name_is(const char *name, const char *p, size_t len)
{
	return strlen(name) == len && memcmp(name, p, len) == 0;
}

static bool data_ref(const struct eng_definition *def, const char *name, size_t len, struct data_ref *out)
{
	*out = (struct data_ref){0};
	const char *dot = memchr(name, '.', len);
	size_t head = dot ? (size_t)(dot - name) : len;
	for (size_t i = 0; i < def->n_groups; i++)
		if (name_is(def->groups[i].name, name, head))
			out->group = &def->groups[i];
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (!dot && !f->group && name_is(f->name, name, len))
			out->field = f;
		else if (dot && out->group && f->group && strcmp(f->group, out->group->name) == 0 &&
		         name_is(f->name, dot + 1, len - head - 1))
			out->field = f;
	}
	if (dot && !out->field)
		out->group = NULL;
	return out->field || out->group;
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
		struct data_ref ref;
		if (pc.len > 5 && memcmp(pc.p, "data.", 5) == 0) {
			if (data_ref(def, pc.p + 5, pc.len - 5, &ref))
				continue;
			snprintf(msg, cap, "placeholder {%.*s} names no field or group of the form (a field "
			         "of a repeatable group is named data.GROUP.FIELD)", n, pc.p);
			return ENG_EINVALID;
		}
		snprintf(msg, cap, "unknown placeholder {%.*s}; use expedient.number|date, "
		         "tramit.code|title, applicant.name|nif, registry.number|date, entity.name, "
		         "document.date|csv, data.FIELD, data.GROUP or data.GROUP.FIELD", n, pc.p);
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

static const char *instance_value(const struct eng_template_context *ctx, const char *group, long n,
                                  const char *field)
{
	char name[256];
	snprintf(name, sizeof(name), "%s.%ld.%s", group, n, field);
	return data_value(ctx, name);
}

/* data.GROUP.FIELD: that field of every instance, separated by commas; data.GROUP: one line per
 * instance, "N. Label: value; Label: value", fields without an answer left out. */
static void out_group(struct out *o, const struct data_ref *ref, const struct eng_template_context *ctx,
                      enum eng_lang lang)
{
	long n = eng_group_count(ctx->def, ref->group, ctx->data, ctx->n_data);
	if (n == 0) {
		out_str(o, NULL);
		return;
	}
	const struct eng_definition *def = ctx->def;
	for (long k = 1; k <= n; k++) {
		if (ref->field) {
			if (k > 1)
				out_add(o, ", ", 2);
			out_field(o, ref->field, instance_value(ctx, ref->group->name, k, ref->field->name), lang);
			continue;
		}
		char head[32];
		int len = snprintf(head, sizeof(head), "%s%ld.", k > 1 ? "\n" : "", k);
		out_add(o, head, (size_t)len);
		const char *sep = " ";
		for (size_t i = 0; i < def->n_fields; i++) {
			const struct eng_field *f = &def->fields[i];
			const char *v = f->group && strcmp(f->group, ref->group->name) == 0
			                ? instance_value(ctx, ref->group->name, k, f->name) : NULL;
			if (!v || !*v)
				continue;
			out_add(o, sep, strlen(sep));
			out_str(o, eng_text_get(&f->label, lang));
			out_add(o, ": ", 2);
			out_field(o, f, v, lang);
			sep = "; ";
		}
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
	struct data_ref ref;
	if (pc->len <= 5 || memcmp(pc->p, "data.", 5) != 0 || !data_ref(def, pc->p + 5, pc->len - 5, &ref))
		out_add(o, pc->p - 1, pc->len + 2);
	else if (!ref.group)
		out_field(o, ref.field, data_value(ctx, ref.field->name), lang);
	else
		out_group(o, &ref, ctx, lang);
}

const char *eng_field_display(struct eng_arena *a, const struct eng_field *f, const char *value,
                              enum eng_lang lang)
{
	struct out o = { 0 };
	out_add(&o, "", 0);
	out_field(&o, f, value, lang);
	char *r = eng_arena_strndup(a, o.p, o.n);
	free(o.p);
	return r;
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
