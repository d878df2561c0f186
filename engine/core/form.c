/* The form part of a step: which fields are shown and required (designer functions may say),
 * whether each value is valid (built-in checks in C, custom checks in the sandbox), and what
 * is stored: visible values in definition order, money in cents, computed values added.
 * Invariant: a refused form stores nothing, and a hidden field's value is never stored. */
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct values {
	struct eng_value *v;
	size_t n, cap;
};

static void values_put(struct values *w, struct eng_arena *arena, const char *name,
                       const char *value)
{
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->v[i].name, name) == 0) {
			w->v[i].value = value;
			return;
		}
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct eng_value *grown = eng_arena_alloc(arena, cap * sizeof(*grown));
		if (w->n)
			memcpy(grown, w->v, w->n * sizeof(*grown));
		w->v = grown;
		w->cap = cap;
	}
	w->v[w->n].name = name;
	w->v[w->n].value = value;
	w->n++;
}

static void values_drop(struct values *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->v[i].name, name) == 0) {
			memmove(&w->v[i], &w->v[i + 1], (w->n - i - 1) * sizeof(w->v[0]));
			w->n--;
			return;
		}
	}
}

static void add_error(struct eng_step_result *out, const struct eng_field_error *e)
{
	if (out->n_errors < ENG_STEP_MAX_ERRORS)
		out->errors[out->n_errors] = *e;
	out->n_errors++;
}

/* The names a field's values go by: "name", or "group.N.name" for each instance. */
static int instance_count(const struct eng_definition *def, const struct eng_field *f,
                          const struct eng_event *ev)
{
	if (!f->group)
		return 1;
	return eng_group_count(def, eng_definition_group(def, f->group), ev->form, ev->n_form);
}

static const char *instance_name(struct eng_arena *arena, const struct eng_field *f, int k)
{
	return f->group ? eng_arena_printf(arena, "%s.%d.%s", f->group, k, f->name) : f->name;
}

static void custom_error(struct eng_step_result *out, const struct eng_field *f,
                         const struct eng_fn_record *rec)
{
	struct eng_field_error e = { .field = f->name };
	const char *ca = rec->message.ca, *es = rec->message.es ? rec->message.es : rec->message.ca;
	snprintf(e.ca, sizeof(e.ca), "«%s»: %s", eng_text_get(&f->label, ENG_LANG_CA),
	         ca ? ca : "el valor no és vàlid.");
	snprintf(e.es, sizeof(e.es), "«%s»: %s", eng_text_get(&f->label, ENG_LANG_ES),
	         es ? es : "el valor no es válido.");
	add_error(out, &e);
}

int eng__step_form(struct eng_step_result *out, struct eng_arena *arena,
                   const struct eng_definition *def, const struct eng_event *ev,
                   struct eng__step *s, eng__fn_runner run)
{
	struct values w = { 0 };
	struct eng_fn_record *rec;
	int rc;

	/* What designer functions see: the non-empty values, money already in cents. */
	for (size_t i = 0; i < ev->n_form; i++) {
		int index;
		const struct eng_field *f = eng_form_field(def, ev->form[i].name, &index);
		const char *v = ev->form[i].value;
		int64_t cents;
		if (!f || !v || !*v || eng_values_get(w.v, w.n, ev->form[i].name))
			continue;
		if (f->type == ENG_FIELD_MONEY && eng_money_parse(v, &cents))
			v = eng_arena_printf(arena, "%lld", (long long)cents);
		values_put(&w, arena, ev->form[i].name, v);
	}

	bool *hidden = eng_arena_alloc(arena, (def->n_fields + 1) * sizeof(*hidden));
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (f->computed_fn)
			continue;
		if (f->visible_fn) {
			if ((rc = run(s, &rec, f->visible_fn, w.v, w.n, NULL)) < 0)
				return rc;
			hidden[i] = !rec->ok;
		}
		int count = instance_count(def, f, ev);
		if (hidden[i]) {
			for (int k = 1; k <= count; k++)
				values_drop(&w, instance_name(arena, f, k));
			continue;
		}
		bool required = f->required;
		if (f->required_fn) {
			if ((rc = run(s, &rec, f->required_fn, w.v, w.n, NULL)) < 0)
				return rc;
			required = rec->ok;
		}
		for (int k = 1; k <= count; k++) {
			const char *name = instance_name(arena, f, k);
			const char *v = eng_values_get(ev->form, ev->n_form, name);
			struct eng_field_error e;
			if (!eng_field_check_as(f, v, required, &e)) {
				add_error(out, &e);
				continue;
			}
			if (!f->check_fn || !v || !*v)
				continue;
			if ((rc = run(s, &rec, f->check_fn, w.v, w.n, eng_values_get(w.v, w.n, name))) < 0)
				return rc;
			if (!rec->ok)
				custom_error(out, f, rec);
		}
	}

	/* Groups hold between min and max instances; names must be fields, once each. */
	struct eng_field_error errs[ENG_STEP_MAX_ERRORS];
	struct eng_definition shape = *def;
	size_t n = eng_form_validate(&shape, ev->form, ev->n_form, errs, ENG_STEP_MAX_ERRORS);
	for (size_t i = 0; i < n && i < ENG_STEP_MAX_ERRORS; i++) {
		bool structural = errs[i].field == NULL || eng_definition_group(def, errs[i].field);
		if (structural)
			add_error(out, &errs[i]);
	}
	if (out->n_errors > 0) {
		out->code = ENG_EINVALID;
		out->refusal = ENG_REFUSED_INVALID_FORM;
		snprintf(out->msg, sizeof(out->msg), "the form has %zu invalid value(s)", out->n_errors);
		return ENG_EINVALID;
	}

	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (!f->computed_fn)
			continue;
		if ((rc = run(s, &rec, f->computed_fn, w.v, w.n, NULL)) < 0)
			return rc;
		if (rec->value && *rec->value)
			values_put(&w, arena, f->name, rec->value);
	}

	/* Definition order; a group's instances together, instance by instance. */
	out->data = eng_arena_alloc(arena, (w.n + 1) * sizeof(*out->data));
	out->n_data = 0;
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (f->group) {
			if (i > 0 && def->fields[i - 1].group && strcmp(def->fields[i - 1].group, f->group) == 0)
				continue;
			int count = eng_group_count(def, eng_definition_group(def, f->group), w.v, w.n);
			for (int k = 1; k <= count; k++) {
				for (size_t j = i; j < def->n_fields && def->fields[j].group &&
				                   strcmp(def->fields[j].group, f->group) == 0; j++) {
					const char *name = instance_name(arena, &def->fields[j], k);
					const char *v = eng_values_get(w.v, w.n, name);
					if (v)
						out->data[out->n_data++] = (struct eng_value){ name, eng_arena_strdup(arena, v) };
				}
			}
			continue;
		}
		const char *v = eng_values_get(w.v, w.n, f->name);
		if (v)
			out->data[out->n_data++] = (struct eng_value){ f->name, eng_arena_strdup(arena, v) };
	}
	return 0;
}
