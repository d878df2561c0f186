/* The classification of a tràmit change: walks two definitions construct by construct and
 * records each difference with its class. Invariant: a difference the walk does not recognise
 * is never hidden; if the hashes differ and nothing was found, the change counts as breaking. */
#include "diff.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/template.h" /* issue 6: document templates */

struct walk {
	struct cat_diff *d;
	size_t cap;
	int rc;
	struct cat_change scratch; /* written instead of a change when memory runs out */
};

static const char *str(const char *s)
{
	return s ? s : "";
}

static bool same(const char *a, const char *b)
{
	return strcmp(str(a), str(b)) == 0;
}

static bool same_text(const struct eng_text *a, const struct eng_text *b)
{
	return same(a->ca, b->ca) && same(a->es, b->es);
}

static struct cat_change *add(struct walk *w, enum cat_change_class cls, enum cat_subject subject,
                              const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct cat_change *add(struct walk *w, enum cat_change_class cls, enum cat_subject subject,
                              const char *name, const char *fmt, ...)
{
	struct cat_diff *d = w->d;
	if (d->n_changes == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct cat_change *more = realloc(d->changes, cap * sizeof(*more));
		if (!more) {
			/* The caller keeps writing into a scratch change; the error is reported once. */
			w->rc = ENG_EINTERNAL;
			return memset(&w->scratch, 0, sizeof(w->scratch));
		}
		d->changes = more;
		w->cap = cap;
	}
	struct cat_change *c = &d->changes[d->n_changes++];
	memset(c, 0, sizeof(*c));
	c->cls = cls;
	c->subject = subject;
	snprintf(c->name, sizeof(c->name), "%s", name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof(c->what), fmt, ap);
	va_end(ap);
	if (cls > d->verdict)
		d->verdict = cls;
	return c;
}

/* Lists of names (documents, fees, extensions...): additions widen, removals narrow. */
static void compare_list(struct walk *w, enum cat_subject subject, const char *name,
                         const char *what, const char *const *a, size_t na,
                         const char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			found = same(a[i], b[j]);
		if (!found)
			add(w, CAT_CHANGE_BREAKING, subject, name, "%s '%s' removed", what, a[i]);
	}
	for (size_t j = 0; j < nb; j++) {
		bool found = false;
		for (size_t i = 0; i < na && !found; i++)
			found = same(a[i], b[j]);
		if (!found)
			add(w, CAT_CHANGE_ADDITIVE, subject, name, "%s '%s' added", what, b[j]);
	}
}

/* A lower bound rising or an upper bound falling refuses values accepted before. */
static void compare_limit(struct walk *w, enum cat_subject subject, const char *name,
                          const char *what, bool had, int64_t was, bool has, int64_t is,
                          bool upper)
{
	if (!had && !has)
		return;
	if (had && has && was == is)
		return;
	bool tighter = !had || (has && (upper ? is < was : is > was));
	char a[32], b[32];
	snprintf(a, sizeof(a), had ? "%lld" : "none", (long long)was);
	snprintf(b, sizeof(b), has ? "%lld" : "none", (long long)is);
	add(w, tighter ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, subject, name, "%s %s -> %s",
	    what, a, b);
}

static void compare_fn(struct walk *w, enum cat_subject subject, const char *name,
                       const char *what, int was, int is, enum cat_change_class when_added)
{
	if (!was == !is)
		return;
	/* Removing a rule never refuses what it accepted; adding one may (when_added says). */
	add(w, is ? when_added : CAT_CHANGE_ADDITIVE, subject, name, "%s %s", what,
	    is ? "added" : "removed");
}

static bool field_required(const struct eng_field *f)
{
	return f->required || f->required_fn;
}

static void compare_field(struct walk *w, const struct eng_field *a, const struct eng_field *b)
{
	const char *n = a->name;
	if (a->type != b->type || !same(a->group, b->group)) {
		struct cat_change *c = a->type != b->type
			? add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FIELD, n, "type %s -> %s",
			      eng_field_type_name(a->type), eng_field_type_name(b->type))
			: add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FIELD, n, "group '%s' -> '%s'",
			      str(a->group), str(b->group));
		c->need = CAT_MAP_FIELD;
		/* Stored values no longer fit: the rest of the comparison would only add noise. */
		return;
	}
	if (!same_text(&a->label, &b->label))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FIELD, n, "label changed");
	if (!same_text(&a->help, &b->help))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FIELD, n, "help changed");
	if (!same_text(&a->pattern_msg, &b->pattern_msg))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FIELD, n, "pattern message changed");
	if (!same(a->section, b->section))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FIELD, n, "moved to section %s", str(b->section));
	if (a->required != b->required)
		add(w, b->required ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FIELD, n,
		    "%s", b->required ? "made required" : "made optional");
	compare_fn(w, CAT_SUBJECT_FIELD, n, "requirement rule", a->required_fn, b->required_fn,
	           CAT_CHANGE_BREAKING);
	compare_fn(w, CAT_SUBJECT_FIELD, n, "check", a->check_fn, b->check_fn, CAT_CHANGE_BREAKING);
	compare_fn(w, CAT_SUBJECT_FIELD, n, "visibility rule", a->visible_fn, b->visible_fn,
	           CAT_CHANGE_ADDITIVE);
	compare_fn(w, CAT_SUBJECT_FIELD, n, "computed value", a->computed_fn, b->computed_fn,
	           CAT_CHANGE_ADDITIVE);
	compare_limit(w, CAT_SUBJECT_FIELD, n, "min", a->has_min, a->min, b->has_min, b->min, false);
	compare_limit(w, CAT_SUBJECT_FIELD, n, "max", a->has_max, a->max, b->has_max, b->max, true);
	compare_limit(w, CAT_SUBJECT_FIELD, n, "max_size", a->max_bytes > 0, a->max_bytes,
	              b->max_bytes > 0, b->max_bytes, true);
	if (!same(a->pattern, b->pattern))
		add(w, b->pattern ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FIELD, n,
		    "pattern %s", !a->pattern ? "added" : b->pattern ? "changed" : "removed");
	if (a->prefill != b->prefill)
		add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FIELD, n, "prefill changed");
	compare_list(w, CAT_SUBJECT_FIELD, n, "file type", a->accept, a->n_accept, b->accept,
	             b->n_accept);
	for (size_t i = 0; i < a->n_options; i++) {
		const struct eng_option *o = &a->options[i], *p = NULL;
		for (size_t j = 0; j < b->n_options && !p; j++)
			if (same(o->value, b->options[j].value))
				p = &b->options[j];
		if (!p)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FIELD, n, "option '%s' removed", o->value);
		else if (!same_text(&o->label, &p->label))
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FIELD, n, "option '%s' label changed",
			    o->value);
	}
	for (size_t j = 0; j < b->n_options; j++) {
		bool found = false;
		for (size_t i = 0; i < a->n_options && !found; i++)
			found = same(a->options[i].value, b->options[j].value);
		if (!found)
			add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FIELD, n, "option '%s' added",
			    b->options[j].value);
	}
}

static void compare_fields(struct walk *w, const struct eng_definition *a,
                           const struct eng_definition *b)
{
	for (size_t i = 0; i < a->n_sections; i++) {
		const struct eng_section *s = &a->sections[i], *t = NULL;
		for (size_t j = 0; j < b->n_sections && !t; j++)
			if (same(s->name, b->sections[j].name))
				t = &b->sections[j];
		/* Sections are layout: their fields are compared one by one below. */
		if (!t)
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_SECTION, s->name, "removed");
		else if (!same_text(&s->label, &t->label))
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_SECTION, s->name, "label changed");
	}
	for (size_t j = 0; j < b->n_sections; j++) {
		bool found = false;
		for (size_t i = 0; i < a->n_sections && !found; i++)
			found = same(a->sections[i].name, b->sections[j].name);
		if (!found)
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_SECTION, b->sections[j].name, "added");
	}
	for (size_t i = 0; i < a->n_groups; i++) {
		const struct eng_group *g = &a->groups[i];
		const struct eng_group *h = eng_definition_group(b, g->name);
		if (!h) {
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_GROUP, g->name, "removed");
			continue;
		}
		if (!same_text(&g->label, &h->label))
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_GROUP, g->name, "label changed");
		compare_limit(w, CAT_SUBJECT_GROUP, g->name, "min", true, g->min, true, h->min, false);
		compare_limit(w, CAT_SUBJECT_GROUP, g->name, "max", true, g->max, true, h->max, true);
	}
	for (size_t j = 0; j < b->n_groups; j++)
		if (!eng_definition_group(a, b->groups[j].name))
			add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_GROUP, b->groups[j].name, "added");
	for (size_t i = 0; i < a->n_fields; i++) {
		const struct eng_field *f = &a->fields[i];
		const struct eng_field *g = eng_definition_field(b, f->name);
		if (!g)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FIELD, f->name, "removed")->need =
				CAT_MAP_FIELD;
		else
			compare_field(w, f, g);
	}
	for (size_t j = 0; j < b->n_fields; j++) {
		const struct eng_field *g = &b->fields[j];
		if (eng_definition_field(a, g->name))
			continue;
		bool required = field_required(g);
		add(w, required ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FIELD, g->name,
		    "added (%s)", required ? "required" : "optional");
	}
}

static void format_duration(char *buf, size_t size, const struct eng_duration *d)
{
	if (d->unit == ENG_UNIT_NONE)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%d %s", d->amount, eng_duration_unit_name(d->unit));
}

static void compare_deadline(struct walk *w, const char *n, const struct eng_deadline *a,
                             const struct eng_deadline *b)
{
	char x[48], y[48];
	if (!a && !b)
		return;
	if (!a || !b) {
		format_duration(x, sizeof(x), &(a ? a : b)->period);
		/* A deadline armed on entry was never armed for expedients already here. */
		add(w, b ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, CAT_SUBJECT_STATE, n,
		    "deadline %s %s", x, b ? "added" : "removed");
		return;
	}
	if (a->period.unit != b->period.unit || a->period.amount != b->period.amount) {
		format_duration(x, sizeof(x), &a->period);
		format_duration(y, sizeof(y), &b->period);
		bool longer = a->period.unit == b->period.unit && b->period.amount > a->period.amount;
		add(w, longer ? CAT_CHANGE_ADDITIVE : CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n,
		    "deadline %s -> %s", x, y);
	}
	if (!same(a->on_expiry, b->on_expiry))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "on expiry %s -> %s",
		    a->on_expiry ? a->on_expiry : "none", b->on_expiry ? b->on_expiry : "none");
	if (a->alert.unit != b->alert.unit || a->alert.amount != b->alert.amount) {
		format_duration(x, sizeof(x), &a->alert);
		format_duration(y, sizeof(y), &b->alert);
		add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_STATE, n, "deadline alert %s -> %s", x, y);
	}
	if (a->clock != b->clock || a->roll != b->roll)
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "deadline counting changed");
}

static const char *actor_name(char *buf, size_t size, const struct eng_action *a)
{
	switch (a->by) {
	case ENG_BY_APPLICANT: return "applicant";
	case ENG_BY_REPRESENTATIVE: return "representative";
	case ENG_BY_SYSTEM: return "system";
	case ENG_BY_ROLE: break;
	}
	if (a->unit)
		snprintf(buf, size, "role %s (%s)", str(a->role), a->unit);
	else
		snprintf(buf, size, "role %s", str(a->role));
	return buf;
}

static bool same_sign(const struct eng_sign *a, const struct eng_sign *b)
{
	if (!a || !b)
		return !a && !b;
	if (!same(a->document, b->document) || a->order != b->order || a->any != b->any ||
	    a->n_signers != b->n_signers)
		return false;
	for (size_t i = 0; i < a->n_signers; i++)
		if (!same(a->signers[i], b->signers[i]))
			return false;
	/* The circuit's lines: their grouping, need and approvals (issue 6). */
	if (a->explicit_lines != b->explicit_lines || a->n_lines != b->n_lines)
		return false;
	for (size_t i = 0; i < a->n_lines; i++) {
		const struct eng_sign_line *x = &a->lines[i], *y = &b->lines[i];
		if (x->any != y->any || x->n_signers != y->n_signers)
			return false;
		for (size_t k = 0; k < x->n_signers; k++)
			if (!same(x->signers[k].role, y->signers[k].role) ||
			    x->signers[k].approve != y->signers[k].approve)
				return false;
	}
	return true;
}

static void compare_action(struct walk *w, const char *n, const struct eng_action *a,
                           const struct eng_action *b)
{
	char x[160], y[160];
	if (!same_text(&a->label, &b->label))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_ACTION, n, "label changed");
	if (a->by != b->by || !same(a->role, b->role) || !same(a->unit, b->unit))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n, "by %s -> %s",
		    actor_name(x, sizeof(x), a), actor_name(y, sizeof(y), b));
	if (!same(a->to, b->to))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n, "target %s -> %s", a->to, b->to);
	static const struct { unsigned bit; const char *name; } flags[] = {
		{ENG_ACTION_FORM, "form"}, {ENG_ACTION_REGISTER_IN, "register in"},
		{ENG_ACTION_RECEIPT, "receipt"}, {ENG_ACTION_REGISTER_OUT, "register out"},
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		bool had = a->flags & flags[i].bit, has = b->flags & flags[i].bit;
		if (had != has)
			add(w, has ? CAT_CHANGE_ADDITIVE : CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n,
			    "%s %s", flags[i].name, has ? "added" : "removed");
	}
	compare_fn(w, CAT_SUBJECT_ACTION, n, "guard", a->guard_fn, b->guard_fn, CAT_CHANGE_BREAKING);
	compare_list(w, CAT_SUBJECT_ACTION, n, "document", a->documents, a->n_documents,
	             b->documents, b->n_documents);
	for (size_t i = 0; i < a->n_notify || i < b->n_notify; i++) {
		if (i >= a->n_notify || i >= b->n_notify || a->notify[i].kind != b->notify[i].kind ||
		    !same(a->notify[i].template_name, b->notify[i].template_name)) {
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n, "notifications changed");
			break;
		}
	}
	if (!same_sign(a->sign, b->sign))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n, "signature circuit %s",
		    !a->sign ? "added" : b->sign ? "changed" : "removed");
	compare_list(w, CAT_SUBJECT_ACTION, n, "fee", a->fees, a->n_fees, b->fees, b->n_fees);
	if (!same(a->pay, b->pay))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n, "payment '%s' -> '%s'", str(a->pay),
		    str(b->pay));
	compare_list(w, CAT_SUBJECT_ACTION, n, "back-office call", a->backoffice, a->n_backoffice,
	             b->backoffice, b->n_backoffice);
	/* Requirements are the reverse of effects: a new one refuses what passed before. */
	compare_list(w, CAT_SUBJECT_ACTION, n, "requirement paid", b->requires_paid,
	             b->n_requires_paid, a->requires_paid, a->n_requires_paid);
	compare_list(w, CAT_SUBJECT_ACTION, n, "requirement signed", b->requires_signed,
	             b->n_requires_signed, a->requires_signed, a->n_requires_signed);
	if (a->extend != b->extend)
		add(w, b->extend ? CAT_CHANGE_ADDITIVE : CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, n,
		    "extension %s", b->extend ? "added" : "removed");
}

static void compare_state(struct walk *w, const struct eng_state *a, const struct eng_state *b)
{
	const char *n = a->name;
	char an[160];
	if (!same_text(&a->label, &b->label))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_STATE, n, "label changed");
	if (a->applicant_must_act != b->applicant_must_act)
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_STATE, n, "applicant must act: %s",
		    b->applicant_must_act ? "yes" : "no");
	if (a->initial != b->initial)
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "%s", b->initial ? "made initial" : "no longer initial");
	if (a->final != b->final)
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "%s", b->final ? "made final" : "no longer final");
	if (a->suspends_resolution != b->suspends_resolution)
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "suspends resolution: %s",
		    b->suspends_resolution ? "yes" : "no");
	compare_deadline(w, n, a->deadline, b->deadline);
	for (size_t i = 0; i < a->n_on; i++) {
		const struct eng_on_result *o = &a->on[i], *p = NULL;
		for (size_t j = 0; j < b->n_on && !p; j++)
			if (same(o->outcome, b->on[j].outcome))
				p = &b->on[j];
		if (!p)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "outcome '%s' removed", o->outcome);
		else if (!same(o->action, p->action))
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, n, "outcome '%s' runs %s -> %s",
			    o->outcome, o->action, p->action);
	}
	for (size_t j = 0; j < b->n_on; j++) {
		bool found = false;
		for (size_t i = 0; i < a->n_on && !found; i++)
			found = same(a->on[i].outcome, b->on[j].outcome);
		if (!found)
			add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_STATE, n, "outcome '%s' added",
			    b->on[j].outcome);
	}
	for (size_t i = 0; i < a->n_actions; i++) {
		const struct eng_action *x = &a->actions[i];
		const struct eng_action *y = eng_state_action(b, x->name);
		snprintf(an, sizeof(an), "%s.%s", n, x->name);
		if (!y)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_ACTION, an, "removed");
		else
			compare_action(w, an, x, y);
	}
	for (size_t j = 0; j < b->n_actions; j++) {
		if (eng_state_action(a, b->actions[j].name))
			continue;
		snprintf(an, sizeof(an), "%s.%s", n, b->actions[j].name);
		add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_ACTION, an, "added");
	}
}

static void compare_fees(struct walk *w, const struct eng_definition *a,
                         const struct eng_definition *b)
{
	for (size_t i = 0; i < a->n_fees; i++) {
		const struct eng_fee *f = &a->fees[i];
		const struct eng_fee *g = eng_definition_fee(b, f->name);
		if (!g) {
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FEE, f->name, "removed");
			continue;
		}
		if (!same_text(&f->label, &g->label))
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_FEE, f->name, "label changed");
		bool same_rates = f->n_rates == g->n_rates;
		for (size_t k = 0; same_rates && k < f->n_rates; k++)
			same_rates = same(f->rates[k].key, g->rates[k].key) &&
			             f->rates[k].cents == g->rates[k].cents &&
			             f->rates[k].from == g->rates[k].from;
		/* The amount a citizen pays is never a detail, whichever way it moves. */
		if (f->kind != g->kind || f->amount != g->amount || !same(f->by, g->by) ||
		    !same(f->per, g->per) || !same_rates || f->versioned != g->versioned || !f->fn != !g->fn)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_FEE, f->name, "amount changed");
	}
	for (size_t j = 0; j < b->n_fees; j++)
		if (!eng_definition_fee(a, b->fees[j].name))
			add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_FEE, b->fees[j].name, "added");
}

/* Issue 6: document templates. New wording changes the documents issued from now on and
 * strands nothing; another kind changes their ENI type; a removed template was named by no
 * action (the compiler sees to that), but documents of its name stop being issued. */
static void compare_templates(struct walk *w, const struct eng_definition *a,
                              const struct eng_definition *b)
{
	char name[132];
	for (size_t i = 0; i < a->n_templates; i++) {
		const struct eng_template *t = &a->templates[i];
		const struct eng_template *u = eng_definition_template(b, t->name);
		snprintf(name, sizeof(name), "document %s", t->name);
		if (!u) {
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, name, "removed");
			continue;
		}
		if (t->kind != u->kind)
			add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, name, "kind %s -> %s",
			    eng_doc_kind_name(t->kind), eng_doc_kind_name(u->kind));
		if (!same_text(&t->title, &u->title) || !same_text(&t->body, &u->body))
			add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, name, "text changed");
	}
	for (size_t j = 0; j < b->n_templates; j++)
		if (!eng_definition_template(a, b->templates[j].name)) {
			snprintf(name, sizeof(name), "document %s", b->templates[j].name);
			add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_TRAMIT, name, "added");
		}
}

static void compare_tramit(struct walk *w, const struct eng_definition *a,
                           const struct eng_definition *b)
{
	const char *n = a->code;
	char x[48], y[48];
	if (!same(a->version, b->version))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "version \"%s\" -> \"%s\"",
		    str(a->version), str(b->version));
	if (!same_text(&a->title, &b->title))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "title changed");
	if (!same_text(&a->summary, &b->summary))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "summary changed");
	if (!same_text(&a->description, &b->description))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "description changed");
	if (!same(a->family, b->family))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "family %s -> %s", str(a->family),
		    str(b->family));
	if (!same(a->legal_basis, b->legal_basis))
		add(w, CAT_CHANGE_COSMETIC, CAT_SUBJECT_TRAMIT, n, "legal basis changed");
	if (!same(a->unit, b->unit))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, n, "unit %s -> %s", str(a->unit),
		    str(b->unit));
	if (a->applicants != b->applicants)
		add(w, (a->applicants & ~b->applicants) ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE,
		    CAT_SUBJECT_TRAMIT, n, "who may apply changed");
	if (a->identification != b->identification)
		add(w, b->identification > a->identification ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE,
		    CAT_SUBJECT_TRAMIT, n, "identification level %s",
		    b->identification > a->identification ? "raised" : "lowered");
	if (a->electronic_only != b->electronic_only)
		add(w, b->electronic_only ? CAT_CHANGE_BREAKING : CAT_CHANGE_ADDITIVE, CAT_SUBJECT_TRAMIT,
		    n, "electronic means %s", b->electronic_only ? "made compulsory" : "made optional");
	/* The resolution clock is armed when an expedient starts: a new term or effect would
	 * apply to running expedients only if someone recomputed it. */
	if (a->resolve_within.unit != b->resolve_within.unit ||
	    a->resolve_within.amount != b->resolve_within.amount) {
		format_duration(x, sizeof(x), &a->resolve_within);
		format_duration(y, sizeof(y), &b->resolve_within);
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, n, "resolution time %s -> %s", x, y);
	}
	if (a->silence != b->silence || !same(a->on_silence, b->on_silence))
		add(w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, n, "silence changed");
	/* The code digest covers every constant of the file, labels included, so a changed digest
	 * cannot tell a new formula from a new label: report it without calling it cosmetic. */
	if ((a->n_fns || b->n_fns) && !same(a->code_digest, b->code_digest))
		add(w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_TRAMIT, n,
		    "designer code changed (guards, fees and checks may decide differently)");
}

static int problem(struct cat_diff *d, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int problem(struct cat_diff *d, int line, const char *fmt, ...)
{
	struct cat_map_problem *more = realloc(d->problems, (d->n_problems + 1) * sizeof(*more));
	if (!more)
		return ENG_EINTERNAL;
	d->problems = more;
	struct cat_map_problem *p = &d->problems[d->n_problems++];
	p->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* Whether entry e can be carried out on the new version: the destination exists and, for a
 * field, holds the same kind of value. Writes why not into why. */
static bool entry_valid(const struct cat_map_entry *e, const struct eng_definition *a,
                        const struct eng_definition *b, char *why, size_t size)
{
	if (e->kind == CAT_MAP_STATE) {
		if (eng_definition_state(b, e->to))
			return true;
		snprintf(why, size, "state %s does not exist in the new version", e->to);
		return false;
	}
	if (!e->to[0])
		return true;
	const struct eng_field *f = eng_definition_field(b, e->to);
	const struct eng_field *old = eng_definition_field(a, e->from);
	if (!f) {
		snprintf(why, size, "field %s does not exist in the new version", e->to);
		return false;
	}
	if (old && (old->type != f->type || !same(old->group, f->group))) {
		snprintf(why, size, "field %s is %s but %s is %s in the new version", e->from,
		         eng_field_type_name(old->type), e->to, eng_field_type_name(f->type));
		return false;
	}
	return true;
}

/* Matches each change that needs an entry with the map, and each entry with a change. An
 * entry that cannot be carried out covers nothing, so its change is reported missing too. */
static int apply_map(struct cat_diff *d, const struct eng_definition *a,
                     const struct eng_definition *b, const struct cat_map *map)
{
	int rc = 0;
	bool *used = calloc(map->n + 1, sizeof(*used)), *valid = calloc(map->n + 1, sizeof(*valid));
	char (*why)[200] = calloc(map->n + 1, sizeof(*why));
	if (!used || !valid || !why) {
		rc = ENG_EINTERNAL;
		goto done;
	}
	for (size_t k = 0; k < map->n; k++)
		valid[k] = entry_valid(&map->entries[k], a, b, why[k], sizeof(why[k]));
	for (size_t i = 0; i < d->n_changes && !rc; i++) {
		struct cat_change *c = &d->changes[i];
		if (c->need == CAT_MAP_NONE)
			continue;
		for (size_t k = 0; k < map->n && !c->mapped; k++) {
			if (map->entries[k].kind != c->need || strcmp(map->entries[k].from, c->name) != 0)
				continue;
			used[k] = true;
			if (valid[k])
				c->mapped = &map->entries[k];
		}
		if (!c->mapped && c->need == CAT_MAP_STATE)
			rc = problem(d, 0, "missing: state %s was removed; say where its expedients go "
			             "(state %s -> STATE)", c->name, c->name);
		else if (!c->mapped)
			rc = problem(d, 0, "missing: field %s was %s; say where its values go "
			             "(field %s -> FIELD or drop)", c->name,
			             strcmp(c->what, "removed") == 0 ? "removed" : "retyped", c->name);
	}
	for (size_t k = 0; k < map->n && !rc; k++) {
		const struct cat_map_entry *e = &map->entries[k];
		if (!used[k])
			rc = problem(d, e->line, "%s %s was neither removed nor retyped",
			             e->kind == CAT_MAP_STATE ? "state" : "field", e->from);
		else if (!valid[k])
			rc = problem(d, e->line, "%s", why[k]);
	}
done:
	free(used);
	free(valid);
	free(why);
	return rc;
}

int cat_diff_compare(struct cat_diff **out, const struct eng_definition *old_def,
                     const struct eng_definition *new_def, const struct cat_map *map,
                     struct eng_error *err)
{
	*out = NULL;
	if (!same(old_def->code, new_def->code))
		return eng_error_set(err, ENG_EINVALID,
		                     "the old version is %s but the new one is %s: compare two versions "
		                     "of one tràmit", str(old_def->code), str(new_def->code));
	struct walk w = {.d = calloc(1, sizeof(*w.d))};
	if (!w.d)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	struct cat_diff *d = w.d;
	d->identical = strcmp(old_def->hash, new_def->hash) == 0;
	if (!d->identical) {
		compare_tramit(&w, old_def, new_def);
		compare_fields(&w, old_def, new_def);
		for (size_t i = 0; i < old_def->n_states; i++) {
			const struct eng_state *s = &old_def->states[i];
			const struct eng_state *t = eng_definition_state(new_def, s->name);
			if (!t)
				add(&w, CAT_CHANGE_BREAKING, CAT_SUBJECT_STATE, s->name, "removed")->need =
					CAT_MAP_STATE;
			else
				compare_state(&w, s, t);
		}
		for (size_t j = 0; j < new_def->n_states; j++)
			if (!eng_definition_state(old_def, new_def->states[j].name))
				add(&w, CAT_CHANGE_ADDITIVE, CAT_SUBJECT_STATE, new_def->states[j].name, "added");
		compare_fees(&w, old_def, new_def);
		compare_templates(&w, old_def, new_def);
		/* The canonical form orders every construct; a reordering alone lands here. */
		if (d->n_changes == 0)
			add(&w, CAT_CHANGE_BREAKING, CAT_SUBJECT_TRAMIT, old_def->code,
			    "unclassified change (order of sections, fields, options or states?)");
	}
	int rc = w.rc;
	if (!rc && map)
		rc = apply_map(d, old_def, new_def, map);
	if (rc) {
		cat_diff_free(d);
		return eng_error_set(err, rc, "out of memory comparing %s", str(old_def->code));
	}
	d->migrated = map && d->verdict == CAT_CHANGE_BREAKING && d->n_problems == 0;
	*out = d;
	return 0;
}

void cat_diff_free(struct cat_diff *d)
{
	if (!d)
		return;
	free(d->changes);
	free(d->problems);
	free(d);
}

const char *cat_change_class_name(enum cat_change_class cls)
{
	switch (cls) {
	case CAT_CHANGE_COSMETIC: return "cosmetic";
	case CAT_CHANGE_ADDITIVE: return "additive";
	case CAT_CHANGE_BREAKING: return "breaking";
	}
	return "?";
}

static const char *subject_name(enum cat_subject s)
{
	switch (s) {
	case CAT_SUBJECT_TRAMIT: return "tramit";
	case CAT_SUBJECT_SECTION: return "section";
	case CAT_SUBJECT_GROUP: return "group";
	case CAT_SUBJECT_FIELD: return "field";
	case CAT_SUBJECT_STATE: return "state";
	case CAT_SUBJECT_ACTION: return "action";
	case CAT_SUBJECT_FEE: return "fee";
	}
	return "?";
}

void cat_change_format(const struct cat_change *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s: %s %s: %s", cat_change_class_name(c->cls),
	                 subject_name(c->subject), c->name, c->what);
	if (!c->mapped || n < 0 || (size_t)n >= size)
		return;
	if (c->mapped->kind == CAT_MAP_STATE)
		snprintf(buf + n, size - (size_t)n, "; expedients move to %s", c->mapped->to);
	else if (c->mapped->to[0])
		snprintf(buf + n, size - (size_t)n, "; values move to %s", c->mapped->to);
	else
		snprintf(buf + n, size - (size_t)n, "; values dropped");
}

/* Map lines: "state OLD -> NEW", "field OLD -> NEW", "field OLD -> drop"; "#" starts a
 * comment. A word is a DSL name: a lower-case letter, then a-z, 0-9 and "_". */
static bool read_word(const char **p, const char *end, char *buf, size_t size)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	size_t n = 0;
	while (*p < end && !isspace((unsigned char)**p) && **p != '#') {
		if (n + 1 >= size)
			return false;
		buf[n++] = *(*p)++;
	}
	buf[n] = '\0';
	return n > 0;
}

static bool is_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int cat_map_parse(struct cat_map **out, const char *name, const char *text, size_t len,
                  struct eng_error *err)
{
	*out = NULL;
	struct cat_map *m = calloc(1, sizeof(*m));
	if (!m)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	const char *p = text, *end = text + len;
	int rc = 0;
	for (int line = 1; p < end && !rc; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		char kind[16], from[64], arrow[8], to[64], extra[8];
		const char *q = p, *start = p;
		p = eol + 1;
		if (!read_word(&q, eol, kind, sizeof(kind)))
			continue; /* blank or comment */
		bool ok = read_word(&q, eol, from, sizeof(from)) &&
		          read_word(&q, eol, arrow, sizeof(arrow)) && strcmp(arrow, "->") == 0 &&
		          read_word(&q, eol, to, sizeof(to)) && !read_word(&q, eol, extra, sizeof(extra));
		bool is_state = strcmp(kind, "state") == 0, is_field = strcmp(kind, "field") == 0;
		if (!ok || (!is_state && !is_field)) {
			rc = eng_error_set(err, ENG_EINVALID, "%s:%d: expected 'state OLD -> NEW' or "
			                   "'field OLD -> NEW|drop', got '%.*s'", name, line,
			                   (int)(eol - start), start);
			break;
		}
		if (!is_name(from) || (!is_name(to) && !(is_field && strcmp(to, "drop") == 0))) {
			rc = eng_error_set(err, ENG_EINVALID, "%s:%d: '%s -> %s': names use a-z, 0-9 "
			                   "and _ and start with a letter", name, line, from, to);
			break;
		}
		for (size_t k = 0; k < m->n && !rc; k++)
			if (strcmp(m->entries[k].from, from) == 0 &&
			    (m->entries[k].kind == CAT_MAP_STATE) == is_state)
				rc = eng_error_set(err, ENG_EINVALID, "%s:%d: %s %s is already mapped at line %d",
				                   name, line, kind, from, m->entries[k].line);
		if (rc)
			break;
		struct cat_map_entry *more = realloc(m->entries, (m->n + 1) * sizeof(*more));
		if (!more) {
			rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
			break;
		}
		m->entries = more;
		struct cat_map_entry *e = &m->entries[m->n++];
		memset(e, 0, sizeof(*e));
		e->kind = is_state ? CAT_MAP_STATE : CAT_MAP_FIELD;
		e->line = line;
		snprintf(e->from, sizeof(e->from), "%s", from);
		snprintf(e->to, sizeof(e->to), "%s", is_field && strcmp(to, "drop") == 0 ? "" : to);
	}
	if (rc) {
		cat_map_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void cat_map_free(struct cat_map *m)
{
	if (!m)
		return;
	free(m->entries);
	free(m);
}

const char *cat_map_state(const struct cat_map *m, const char *old_state)
{
	for (size_t k = 0; m && k < m->n; k++)
		if (m->entries[k].kind == CAT_MAP_STATE && strcmp(m->entries[k].from, old_state) == 0)
			return m->entries[k].to;
	return NULL;
}

const struct cat_map_entry *cat_map_field(const struct cat_map *m, const char *old_field)
{
	for (size_t k = 0; m && k < m->n; k++)
		if (m->entries[k].kind == CAT_MAP_FIELD && strcmp(m->entries[k].from, old_field) == 0)
			return &m->entries[k];
	return NULL;
}
