/* The canonical form of a definition and its content hash. Same definition, same bytes: the
 * form follows file order, quotes and escapes every string, and leaves out line numbers and the
 * source path, so moving a file or editing a comment keeps the hash while any rule or text changes it. */
#include "dsl/sandbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void buf_grow(struct buf *b, size_t more)
{
	if (b->oom || b->cap - b->n > more)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap - b->n <= more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true; /* only short keywords and numbers go through here */
		return;
	}
	buf_add(b, tmp, (size_t)n);
}

/* A string as " quoted ", with \" \\ and \xNN for control bytes; NULL (not stated) as -,
 * which no quoted string can be confused with. */
static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, " ", 1);
	if (!s) {
		buf_add(b, "-", 1);
		return;
	}
	buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };
			buf_add(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_printf(b, "\\x%02x", *p);
		} else {
			buf_add(b, (const char *)p, 1);
		}
	}
	buf_add(b, "\"", 1);
}

/* Writes key, preceded by a space unless it starts the line. */
static void buf_key(struct buf *b, const char *key)
{
	if (b->n > 0 && b->p[b->n - 1] != '\n')
		buf_add(b, " ", 1);
	buf_add(b, key, strlen(key));
}

static void buf_text(struct buf *b, const char *key, const struct eng_text *t)
{
	buf_key(b, key);
	buf_str(b, t->ca);
	buf_str(b, t->es);
}

static void buf_bool(struct buf *b, const char *key, bool v)
{
	buf_key(b, key);
	buf_add(b, v ? " true" : " false", v ? 5 : 6);
}

static void buf_limit(struct buf *b, const char *key, bool has, int64_t v)
{
	buf_key(b, key);
	if (has)
		buf_printf(b, " %lld", (long long)v);
	else
		buf_add(b, " -", 2);
}

static const char *silence_name(enum eng_silence s)
{
	switch (s) {
	case ENG_SILENCE_POSITIVE: return "positive";
	case ENG_SILENCE_NEGATIVE: return "negative";
	case ENG_SILENCE_LAPSE: return "lapse";
	case ENG_SILENCE_NONE: return "none";
	}
	return "?";
}

static void write_state(struct buf *b, const struct eng_state *st)
{
	buf_add(b, "state", 5);
	buf_str(b, st->name);
	buf_text(b, "label", &st->label);
	buf_bool(b, "initial", st->initial);
	buf_bool(b, "final", st->final);
	buf_bool(b, "applicant_must_act", st->applicant_must_act);
	buf_add(b, "\n", 1);
	for (size_t j = 0; j < st->n_actions; j++) {
		const struct eng_action *a = &st->actions[j];
		buf_add(b, "action", 6);
		buf_str(b, a->name);
		buf_text(b, "label", &a->label);
		buf_key(b, "by");
		if (a->by == ENG_BY_ROLE) {
			buf_key(b, "role");
			buf_str(b, a->role);
		} else {
			buf_key(b, a->by == ENG_BY_APPLICANT ? "applicant" : "system");
		}
		buf_add(b, " to", 3);
		buf_str(b, a->to);
		buf_bool(b, "form", a->flags & ENG_ACTION_FORM);
		buf_bool(b, "register_in", a->flags & ENG_ACTION_REGISTER_IN);
		buf_bool(b, "receipt", a->flags & ENG_ACTION_RECEIPT);
		buf_add(b, "\n", 1);
	}
}

int dsl_definition_canonical(char **out, size_t *n_out, const struct eng_definition *def)
{
	struct buf b = { 0 };
	int rc = ENG_EINTERNAL;
	*out = NULL;
	*n_out = 0;

	/* The first line names the format, so a future change of form cannot collide with it. */
	buf_add(&b, "tramit-canonical 1\n", 19);
	buf_key(&b, "code");
	buf_str(&b, def->code);
	buf_add(&b, "\n", 1);
	buf_key(&b, "version");
	buf_str(&b, def->version);
	buf_add(&b, "\n", 1);
	buf_text(&b, "title", &def->title);
	buf_add(&b, "\n", 1);
	buf_text(&b, "summary", &def->summary);
	buf_add(&b, "\n", 1);
	buf_text(&b, "description", &def->description);
	buf_add(&b, "\n", 1);
	buf_key(&b, "family");
	buf_str(&b, def->family);
	buf_add(&b, "\n", 1);
	buf_key(&b, "unit");
	buf_str(&b, def->unit);
	buf_add(&b, "\n", 1);
	buf_bool(&b, "applicant_person", def->applicants & ENG_APPLICANT_PERSON);
	buf_bool(&b, "applicant_company", def->applicants & ENG_APPLICANT_COMPANY);
	buf_add(&b, "\n", 1);
	buf_key(&b, "legal_basis");
	buf_str(&b, def->legal_basis);
	buf_printf(&b, " resolve_months %d silence %s\n", def->resolve_months,
	           silence_name(def->silence));
	for (size_t i = 0; i < def->n_sections; i++) {
		const struct eng_section *s = &def->sections[i];
		buf_add(&b, "section", 7);
		buf_str(&b, s->name);
		buf_text(&b, "label", &s->label);
		buf_add(&b, "\n", 1);
		for (size_t j = 0; j < def->n_fields; j++) {
			const struct eng_field *f = &def->fields[j];
			if (strcmp(f->section, s->name) != 0)
				continue;
			buf_add(&b, "field", 5);
			buf_str(&b, f->name);
			buf_printf(&b, " type %s", eng_field_type_name(f->type));
			buf_text(&b, "label", &f->label);
			buf_text(&b, "help", &f->help);
			buf_bool(&b, "required", f->required);
			buf_limit(&b, "min", f->has_min, f->min);
			buf_limit(&b, "max", f->has_max, f->max);
			buf_add(&b, "\n", 1);
			for (size_t k = 0; k < f->n_options; k++) {
				buf_add(&b, "option", 6);
				buf_str(&b, f->options[k].value);
				buf_text(&b, "label", &f->options[k].label);
				buf_add(&b, "\n", 1);
			}
		}
	}
	for (size_t i = 0; i < def->n_states; i++)
		write_state(&b, &def->states[i]);
	if (b.oom)
		goto done;
	*out = b.p;
	*n_out = b.n;
	b.p = NULL;
	rc = 0;
done:
	free(b.p);
	return rc;
}

int dsl__definition_hash(struct eng_definition *def)
{
	static const char hex[] = "0123456789abcdef";
	char *canon = NULL;
	size_t n = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int rc = dsl_definition_canonical(&canon, &n, def);
	if (rc < 0)
		goto done;
	rc = ENG_EINTERNAL;
	if (!EVP_Digest(canon, n, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
		goto done;
	for (unsigned int i = 0; i < md_len; i++) {
		def->hash[2 * i] = hex[md[i] >> 4];
		def->hash[2 * i + 1] = hex[md[i] & 0xf];
	}
	def->hash[64] = '\0';
	rc = 0;
done:
	free(canon);
	return rc;
}
