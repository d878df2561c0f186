/* What a form shows for the answers as they stand, decided by the engine itself: a dry run of
 * the pure step (the applicant's form action on a new expedient, nothing stored) says which
 * fields are visible and required (the designer functions it ran), what is wrong and where,
 * and the fees. Invariant: the page never evaluates a rule of its own; what it shows is what
 * the submission would do with the same answers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/drafts.h"
#include "internal.h"

const char *web_form_action(const struct eng_definition *d)
{
	const struct eng_state *initial = eng_definition_initial(d);
	const char *action = NULL;
	for (size_t i = 0; initial && i < initial->n_actions; i++)
		if (initial->actions[i].by == ENG_BY_APPLICANT && (initial->actions[i].flags & ENG_ACTION_FORM))
			action = initial->actions[i].name;
	return action;
}

void web_form_normalise(struct web_ctx *c, const struct eng_definition *d, struct eng_value *v,
                        size_t *n)
{
	/* People paste with spaces around. */
	for (size_t i = 0; i < *n; i++) {
		char *s = eng_arena_strdup(&c->arena, v[i].value ? v[i].value : "");
		size_t len = strlen(s);
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
		size_t start = 0;
		while (isspace((unsigned char)s[start]))
			start++;
		v[i].value = s + start;
	}
	/* Checkboxes post one value per ticked option; the engine takes them joined by commas. */
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		int index;
		const struct eng_field *f = eng_form_field(d, v[i].name, &index);
		size_t j = 0;
		while (f && f->type == ENG_FIELD_MULTICHOICE && j < k && strcmp(v[j].name, v[i].name) != 0)
			j++;
		if (f && f->type == ENG_FIELD_MULTICHOICE && j < k) {
			v[j].value = *v[j].value ? *v[i].value ? eng_arena_printf(&c->arena, "%s,%s", v[j].value,
			                                                         v[i].value) : v[j].value
			                         : v[i].value;
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

/* The step over a new expedient with these answers, at this instant, or over the expedient
 * being corrected (f->act, in its state, the party's); nothing is stored. */
static struct eng_step_result *dry_run(struct web_ctx *c, const struct web_form *f,
                                       const struct eng_definition *d, const struct eng_value *v,
                                       size_t n)
{
	struct eng_step_result *out = eng_arena_alloc(&c->arena, sizeof(*out));
	memset(out, 0, sizeof(*out));
	const char *action = f->act ? f->act : web_form_action(d);
	if (!action) {
		out->code = ENG_ECONFLICT;
		return out;
	}
	struct eng_expedient exp = {0};
	if (f->act)
		exp = (struct eng_expedient){.state = f->act_state, .version = f->act_version,
		                             .applicant_id = web_party(c)};
	struct eng_event ev = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
	                       .time_ms = web_now_ms(), .form = v, .n_form = n, .csv = "PREVIEW",
	                       .calendar = c->srv->cfg.calendar};
	eng_expedient_step(out, &c->arena, d, &exp, &ev);
	return out;
}

const struct eng_step_result *web_form_check(struct web_ctx *c, struct web_form *f)
{
	return dry_run(c, f, f->def, f->values, f->n_values);
}

/* The fees of a form not yet complete: the same step over a copy of the definition that
 * requires nothing and checks nothing of its own, with only the answers that are valid so far.
 * A fee that still lacks what it is computed from stays unknown. */
static const struct eng_step_result *fees_so_far(struct web_ctx *c, const struct web_form *f)
{
	const struct eng_definition *d = f->def;
	struct eng_definition *loose = eng_arena_alloc(&c->arena, sizeof(*loose));
	*loose = *d;
	struct eng_field *fields = eng_arena_alloc(&c->arena, sizeof(*fields) * (d->n_fields + 1));
	memcpy(fields, d->fields, sizeof(*fields) * d->n_fields);
	for (size_t i = 0; i < d->n_fields; i++) {
		fields[i].required = false;
		fields[i].required_fn = 0;
		fields[i].check_fn = 0;
	}
	loose->fields = fields;
	struct eng_group *groups = eng_arena_alloc(&c->arena, sizeof(*groups) * (d->n_groups + 1));
	if (d->n_groups)
		memcpy(groups, d->groups, sizeof(*groups) * d->n_groups);
	for (size_t g = 0; g < d->n_groups; g++)
		groups[g].min = 0;
	loose->groups = groups;
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (f->n_values + 1));
	size_t n = 0;
	for (size_t i = 0; i < f->n_values; i++) {
		int index;
		const struct eng_field *field = eng_form_field(d, f->values[i].name, &index);
		struct eng_field_error e;
		if (!field || !eng_field_check_as(field, f->values[i].value, false, &e))
			continue;
		if (field->group && index > eng_definition_group(d, field->group)->max)
			continue;
		v[n++] = f->values[i];
	}
	return dry_run(c, f, loose, v, n);
}

/* Whether field name has a valid, non-empty answer. */
static bool answered(const struct web_form *f, const char *name)
{
	const struct eng_field *field = eng_definition_field(f->def, name);
	const char *v = eng_values_get(f->values, f->n_values, name);
	struct eng_field_error e;
	return field && v && *v && eng_field_check_as(field, v, true, &e);
}

static void take_fees(struct web_ctx *c, struct web_form *f, const struct eng_step_result *r)
{
	const struct eng_action *a = f->act
	        ? eng_state_action(eng_definition_state(f->def, f->act_state), f->act)
	        : eng_state_action(eng_definition_initial(f->def), web_form_action(f->def));
	size_t cap = a ? a->n_fees + 1 : 0;
	f->fees = eng_arena_alloc(&c->arena, sizeof(*f->fees) * (cap + 1));
	f->n_fees = 0;
	for (size_t i = 0; a && i < a->n_fees + (a->pay ? 1 : 0); i++) {
		const char *name = i < a->n_fees ? a->fees[i] : a->pay;
		bool seen = false;
		for (size_t k = 0; k < f->n_fees; k++)
			seen = seen || strcmp(f->fees[k].fee->name, name) == 0;
		const struct eng_fee *fee = eng_definition_fee(f->def, name);
		if (seen || !fee)
			continue;
		struct web_fee_line *line = &f->fees[f->n_fees++];
		*line = (struct web_fee_line){.fee = fee};
		const char *cents = r->code == ENG_OK
		                    ? eng_values_get(r->vars, r->n_vars, eng_arena_printf(&c->arena, "fee.%s", name))
		                    : NULL;
		/* A tariff counts what its fields say: not yet said (or not validly) is not zero. */
		if (cents && fee->kind == ENG_FEE_TARIFF && (!answered(f, fee->by) || (fee->per && !answered(f, fee->per))))
			cents = NULL;
		if (cents) {
			line->known = true;
			line->cents = atoll(cents);
			line->tariff_from = eng_values_get(r->vars, r->n_vars,
			                                   eng_arena_printf(&c->arena, "fee.%s.tariff_from", name));
		}
	}
}

/* Where an engine message goes: group fields are checked instance by instance with the
 * engine's own check, so the message lands beside the instance that is wrong. */
static void place_errors(struct web_ctx *c, struct web_form *f, const struct eng_step_result *r)
{
	const struct eng_definition *d = f->def;
	size_t cap = ENG_STEP_MAX_ERRORS * 4 + 4;
	f->errors = eng_arena_alloc(&c->arena, sizeof(*f->errors) * cap);
	f->n_errors = 0;
	for (size_t i = 0; i < r->n_errors && i < ENG_STEP_MAX_ERRORS && f->n_errors < cap; i++) {
		const struct eng_field_error *e = &r->errors[i];
		const struct eng_field *field = e->field ? eng_definition_field(d, e->field) : NULL;
		const struct eng_group *group = e->field ? eng_definition_group(d, e->field) : NULL;
		struct web_form_error *out = &f->errors[f->n_errors];
		*out = (struct web_form_error){.ca = eng_arena_strdup(&c->arena, e->ca),
		                               .es = eng_arena_strdup(&c->arena, e->es)};
		if (group) {
			out->id = eng_arena_printf(&c->arena, "g-%s", group->name);
		} else if (field && !field->group) {
			out->id = eng_arena_printf(&c->arena, "f-%s", field->name);
		} else if (field) {
			/* The step reports a group field once per wrong instance: place them all once. */
			bool again = false;
			for (size_t j = 0; j < i; j++)
				again = again || (r->errors[j].field && strcmp(r->errors[j].field, e->field) == 0);
			if (again)
				continue;
			size_t g = (size_t)(eng_definition_group(d, field->group) - d->groups);
			bool placed = false;
			for (int k = 1; k <= f->count[g] && f->n_errors < cap; k++) {
				const char *v = eng_values_get(f->values, f->n_values,
				                               eng_arena_printf(&c->arena, "%s.%d.%s", field->group, k, field->name));
				struct eng_field_error one;
				if (eng_field_check_as(field, v, f->required[field - d->fields], &one))
					continue;
				f->errors[f->n_errors++] = (struct web_form_error){
					.id = eng_arena_printf(&c->arena, "f-%s-%d-%s", field->group, k, field->name),
					.ca = eng_arena_printf(&c->arena, "%s (%d)", one.ca, k),
					.es = eng_arena_printf(&c->arena, "%s (%d)", one.es, k)};
				placed = true;
			}
			if (placed)
				continue;
			/* A designer's check said no: beside the first instance. */
			out->id = eng_arena_printf(&c->arena, "f-%s-1-%s", field->group, field->name);
		}
		f->n_errors++;
	}
}

void web_form_eval(struct web_ctx *c, struct web_form *f, const struct eng_step_result *errors)
{
	const struct eng_definition *d = f->def;
	f->hidden = eng_arena_alloc(&c->arena, sizeof(bool) * (d->n_fields + 1));
	f->required = eng_arena_alloc(&c->arena, sizeof(bool) * (d->n_fields + 1));
	f->count = eng_arena_alloc(&c->arena, sizeof(int) * (d->n_groups + 1));
	for (size_t i = 0; i < d->n_fields; i++) {
		f->hidden[i] = false;
		f->required[i] = d->fields[i].required;
	}
	for (size_t g = 0; g < d->n_groups; g++) {
		int n = eng_group_count(d, &d->groups[g], f->values, f->n_values);
		f->count[g] = n < d->groups[g].min ? (int)d->groups[g].min : n;
	}
	const struct eng_step_result *r = dry_run(c, f, d, f->values, f->n_values);
	/* The functions the step ran say what is shown and required now. */
	for (size_t i = 0; i < r->n_records; i++) {
		const struct eng_fn_record *rec = &r->records[i];
		if (rec->fn < 1 || (size_t)rec->fn > d->n_fns)
			continue;
		const struct eng_fn *fn = &d->fns[rec->fn - 1];
		const struct eng_field *field = eng_definition_field(d, fn->owner);
		if (!field)
			continue;
		if (fn->kind == ENG_FN_VISIBLE)
			f->hidden[field - d->fields] = !rec->ok;
		else if (fn->kind == ENG_FN_REQUIRED)
			f->required[field - d->fields] = rec->ok;
	}
	f->valid = r->code == ENG_OK || (r->refusal != ENG_REFUSED_INVALID_FORM && r->n_errors == 0);
	take_fees(c, f, r->code == ENG_OK ? r : fees_so_far(c, f));
	if (errors)
		place_errors(c, f, errors);
}

int web_form_keep_files(struct web_ctx *c, struct web_form *f, struct eng_error *err)
{
	f->kept = NULL;
	f->n_kept = 0;
	if (!f->key || !c->signed_in)
		return 0;
	bool files = false;
	for (size_t i = 0; i < f->def->n_fields; i++)
		files = files || f->def->fields[i].type == ENG_FIELD_FILE;
	if (!files)
		return 0;
	const char *principal = eng_arena_printf(&c->arena, "citizen:%s", c->session.principal_id);
	int rc = eng_staged_list(c->store, &c->arena, c->srv->cfg.entity_id, principal, f->key,
	                         &f->kept, &f->n_kept, err);
	if (rc)
		return rc;
	/* A file field the post left empty keeps what was staged for it before. */
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (f->n_values + f->n_kept + 1));
	memcpy(v, f->values, sizeof(*v) * f->n_values);
	size_t n = f->n_values;
	for (size_t i = 0; i < f->n_kept; i++) {
		const struct eng_staged_file *k = &f->kept[i];
		const char *line = eng_arena_printf(&c->arena, "%s|%lld|%s", k->name, k->size, k->sha256);
		size_t j = 0;
		while (j < n && strcmp(v[j].name, k->field) != 0)
			j++;
		if (j == n)
			v[n++] = (struct eng_value){k->field, line};
		else if (j >= f->n_values)
			v[j].value = eng_arena_printf(&c->arena, "%s\n%s", v[j].value, line);
	}
	f->values = v;
	f->n_values = n;
	return 0;
}

/* Renumbers group instances after one is removed: N+1 becomes N. */
static void drop_instance(struct web_ctx *c, struct web_form *f, const struct eng_group *g, int k)
{
	size_t m = 0;
	for (size_t i = 0; i < f->n_values; i++) {
		int index;
		const struct eng_field *field = eng_form_field(f->def, f->values[i].name, &index);
		if (field && field->group && strcmp(field->group, g->name) == 0) {
			if (index == k)
				continue;
			if (index > k)
				f->values[i].name = eng_arena_printf(&c->arena, "%s.%d.%s", g->name, index - 1, field->name);
		}
		f->values[m++] = f->values[i];
	}
	f->n_values = m;
}

static bool refuse(struct web_ctx *c, const char *key)
{
	web_error_page(c, 400, "err.badrequest.title", key);
	return false;
}

bool web_form_group_action(struct web_ctx *c, struct web_form *f, const char *action)
{
	const struct eng_definition *d = f->def;
	bool add = strncmp(action, "add:", 4) == 0;
	const char *name = action + (add ? 4 : 7);
	const char *dot = add ? NULL : strchr(name, '.');
	char *group_name = eng_arena_strndup(&c->arena, name, dot ? (size_t)(dot - name) : strlen(name));
	const struct eng_group *g = eng_definition_group(d, group_name);
	if (!g)
		return refuse(c, "form.bad_group");
	int count = eng_group_count(d, g, f->values, f->n_values);
	if (count < g->min)
		count = (int)g->min;
	if (add) {
		if (count >= g->max)
			return refuse(c, "form.group_full");
		/* The new instance exists by its (empty) values. */
		struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (f->n_values + d->n_fields + 1));
		memcpy(v, f->values, sizeof(*v) * f->n_values);
		for (size_t i = 0; i < d->n_fields; i++)
			if (d->fields[i].group && strcmp(d->fields[i].group, g->name) == 0 && !d->fields[i].computed_fn)
				v[f->n_values++] = (struct eng_value){
					eng_arena_printf(&c->arena, "%s.%d.%s", g->name, count + 1, d->fields[i].name), ""};
		f->values = v;
		return true;
	}
	char *end = NULL;
	long k = dot ? strtol(dot + 1, &end, 10) : 0;
	if (!dot || end == dot + 1 || *end || k < 1 || k > count)
		return refuse(c, "form.bad_instance");
	if (count <= g->min)
		return refuse(c, "form.group_min");
	drop_instance(c, f, g, (int)k);
	return true;
}
