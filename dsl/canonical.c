/* The canonical form of a definition and its content hash. Same definition, same bytes: the
 * form follows file order, quotes and escapes every string, and leaves out line numbers and the
 * source path, so moving a file or editing a comment keeps the hash while any rule or text changes it. */
#include "dsl/sandbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "engine/core/template.h"

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

static void buf_duration(struct buf *b, const char *key, struct eng_duration d)
{
	buf_key(b, key);
	buf_printf(b, " %d %s", d.amount, eng_duration_unit_name(d.unit));
}

static void buf_names(struct buf *b, const char *key, const char *const *names, size_t n)
{
	if (n == 0)
		return;
	buf_key(b, key);
	buf_printf(b, " %zu", n);
	for (size_t i = 0; i < n; i++)
		buf_str(b, names[i]);
}

static void buf_fn(struct buf *b, const char *key, int fn)
{
	if (fn) {
		buf_key(b, key);
		buf_printf(b, " %d", fn);
	}
}

/* What issue 3 added to actions; written only when used, so older definitions keep their hash. */
static void write_action_flow(struct buf *b, const struct eng_action *a)
{
	if (a->by == ENG_BY_REPRESENTATIVE)
		buf_key(b, "by_representative");
	if (a->unit) {
		buf_key(b, "unit");
		buf_str(b, a->unit);
	}
	if (a->flags & ENG_ACTION_REGISTER_OUT)
		buf_bool(b, "register_out", true);
	buf_fn(b, "guard", a->guard_fn);
	buf_names(b, "documents", a->documents, a->n_documents);
	for (size_t i = 0; i < a->n_notify; i++) {
		buf_key(b, a->notify[i].kind == ENG_NOTIFY_BINDING ? "notify_binding" : "notify_informative");
		buf_str(b, a->notify[i].template_name);
	}
	if (a->sign) {
		buf_key(b, "sign");
		buf_str(b, a->sign->document);
		buf_names(b, "signers", a->sign->signers, a->sign->n_signers);
		buf_key(b, a->sign->order == ENG_SIGN_PARALLEL ? "parallel" : "sequential");
		buf_key(b, a->sign->any ? "any" : "all");
		/* A circuit written as lines names each line's need and approvals (issue 6). */
		for (size_t l = 0; a->sign->explicit_lines && l < a->sign->n_lines; l++) {
			const struct eng_sign_line *sl = &a->sign->lines[l];
			buf_key(b, sl->any ? "line_any" : "line_all");
			for (size_t k = 0; k < sl->n_signers; k++) {
				buf_key(b, sl->signers[k].approve ? "approver" : "signer");
				buf_str(b, sl->signers[k].role);
			}
		}
	}
	buf_names(b, "fees", a->fees, a->n_fees);
	if (a->pay) {
		buf_key(b, "pay");
		buf_str(b, a->pay);
	}
	buf_names(b, "backoffice", a->backoffice, a->n_backoffice);
	buf_names(b, "requires_paid", a->requires_paid, a->n_requires_paid);
	buf_names(b, "requires_signed", a->requires_signed, a->n_requires_signed);
	if (a->extend)
		buf_bool(b, "extend", true);
}

static void write_state_flow(struct buf *b, const struct eng_state *st)
{
	if (st->deadline) {
		const struct eng_deadline *d = st->deadline;
		buf_duration(b, "deadline", d->period);
		if (d->alert.unit != ENG_UNIT_NONE)
			buf_duration(b, "alert", d->alert);
		buf_key(b, "on_expiry");
		buf_str(b, d->on_expiry);
		buf_key(b, d->clock == ENG_DEADLINE_ADMINISTRATION ? "administration" : "party");
		buf_bool(b, "roll", d->roll);
	}
	if (st->suspends_resolution)
		buf_bool(b, "suspends_resolution", true);
	for (size_t i = 0; i < st->n_on; i++) {
		buf_key(b, "on");
		buf_str(b, st->on[i].outcome);
		buf_str(b, st->on[i].action);
	}
}

static void write_field_extras(struct buf *b, const struct eng_field *f)
{
	if (f->group) {
		buf_key(b, "group");
		buf_str(b, f->group);
	}
	if (f->pattern) {
		buf_key(b, "pattern");
		buf_str(b, f->pattern);
		if (f->pattern_msg.ca)
			buf_text(b, "pattern_message", &f->pattern_msg);
	}
	buf_names(b, "accept", f->accept, f->n_accept);
	if (f->max_bytes)
		buf_printf(b, " max_bytes %lld", (long long)f->max_bytes);
	if (f->prefill)
		buf_printf(b, " prefill %d", (int)f->prefill);
	buf_fn(b, "visible", f->visible_fn);
	buf_fn(b, "required_if", f->required_fn);
	buf_fn(b, "computed", f->computed_fn);
	buf_fn(b, "check", f->check_fn);
}

/* Lines for the tràmit-wide constructs of issue 3, only when used. */
static void write_extras(struct buf *b, const struct eng_definition *def)
{
	if (def->identification || def->electronic_only ||
	    (def->applicants & (ENG_APPLICANT_REPRESENTATIVE | ENG_APPLICANT_EMPLOYEE))) {
		buf_add(b, "access", 6);
		buf_printf(b, " identification %d", (int)def->identification);
		buf_bool(b, "electronic_only", def->electronic_only);
		buf_bool(b, "applicant_representative", def->applicants & ENG_APPLICANT_REPRESENTATIVE);
		buf_bool(b, "applicant_employee", def->applicants & ENG_APPLICANT_EMPLOYEE);
		buf_add(b, "\n", 1);
	}
	if ((def->resolve_within.unit != ENG_UNIT_NONE && def->resolve_within.unit != ENG_UNIT_MONTHS) ||
	    def->on_silence) {
		buf_add(b, "resolution", 10);
		buf_duration(b, "within", def->resolve_within);
		buf_key(b, "on_silence");
		buf_str(b, def->on_silence);
		buf_add(b, "\n", 1);
	}
	for (size_t i = 0; i < def->n_groups; i++) {
		const struct eng_group *g = &def->groups[i];
		buf_add(b, "group", 5);
		buf_str(b, g->name);
		buf_text(b, "label", &g->label);
		buf_str(b, g->section);
		buf_printf(b, " min %lld max %lld\n", (long long)g->min, (long long)g->max);
	}
	for (size_t i = 0; i < def->n_fees; i++) {
		const struct eng_fee *f = &def->fees[i];
		buf_add(b, "fee", 3);
		buf_str(b, f->name);
		buf_text(b, "label", &f->label);
		if (f->kind == ENG_FEE_FIXED)
			buf_printf(b, " fixed %lld", (long long)f->amount);
		if (f->kind == ENG_FEE_FORMULA)
			buf_fn(b, "formula", f->fn);
		if (f->kind == ENG_FEE_TARIFF) {
			buf_key(b, "tariff");
			buf_str(b, f->by);
			buf_str(b, f->per);
			/* Unversioned tariffs keep the text (and so the hash) they always had. */
			if (f->ordinance)
				buf_str(b, f->ordinance);
			for (size_t k = 0; k < f->n_rates; k++) {
				buf_str(b, f->rates[k].key);
				buf_printf(b, " %lld", (long long)f->rates[k].cents);
				if (f->versioned)
					buf_printf(b, " from %ld", (long)f->rates[k].from);
			}
		}
		buf_add(b, "\n", 1);
	}
	for (size_t i = 0; i < def->n_fns; i++) {
		static const char *const kinds[] = { "guard", "fee", "visible", "required", "computed", "check" };
		buf_add(b, "function", 8);
		buf_printf(b, " %zu %s", i + 1, kinds[def->fns[i].kind]);
		buf_str(b, def->fns[i].owner);
		buf_add(b, "\n", 1);
	}
	if (def->code_digest) {
		buf_key(b, "code");
		buf_str(b, def->code_digest);
		buf_add(b, "\n", 1);
	}
}

static void write_state(struct buf *b, const struct eng_state *st)
{
	buf_add(b, "state", 5);
	buf_str(b, st->name);
	buf_text(b, "label", &st->label);
	buf_bool(b, "initial", st->initial);
	buf_bool(b, "final", st->final);
	buf_bool(b, "applicant_must_act", st->applicant_must_act);
	write_state_flow(b, st);
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
		write_action_flow(b, a);
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
			write_field_extras(&b, f);
			buf_add(&b, "\n", 1);
			for (size_t k = 0; k < f->n_options; k++) {
				buf_add(&b, "option", 6);
				buf_str(&b, f->options[k].value);
				buf_text(&b, "label", &f->options[k].label);
				buf_add(&b, "\n", 1);
			}
		}
	}
	write_extras(&b, def);
	for (size_t i = 0; i < def->n_states; i++)
		write_state(&b, &def->states[i]);
	/* Issue 6: document templates, sorted by name by the compiler; none adds nothing, so the
	 * hashes of tràmits without documents stay as they were. */
	for (size_t i = 0; i < def->n_templates; i++) {
		const struct eng_template *tp = &def->templates[i];
		buf_add(&b, "document", 8);
		buf_str(&b, tp->name);
		buf_printf(&b, " kind %s", eng_doc_kind_name(tp->kind));
		buf_text(&b, "title", &tp->title);
		buf_text(&b, "body", &tp->body);
		buf_add(&b, "\n", 1);
	}
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
