/* The compiler from the nodes a tràmit file built (dsl/prelude.lua) to a struct eng_definition.
 * It reports every problem it finds, each at the line of its construct, and only a file with
 * none yields a definition. Invariant: every pointer it stores lives in def->arena. */
#include "dsl/compiler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/core/validate.h"

static const char *const tramit_attrs[] = {
	"documents", /* issue 6: dsl/compile_documents.c */
	"version", "title", "summary", "description", "family", "unit",
	"applicant", "legal", "form", "states", "identification", "electronic_only", "fees", NULL,
};
static const char *const legal_attrs[] = { "basis", "resolve_within", "silence", "on_silence", NULL };
static const char *const section_attrs[] = { "label", NULL };
static const char *const group_attrs[] = { "label", "min", "max", NULL };
static const char *const field_attrs[] = {
	"label", "help", "required", "min", "max", "options", "pattern", "pattern_message", "check",
	"visible", "computed", "prefill", "accept", "max_size", NULL,
};
static const char *const state_attrs[] = {
	"label", "initial", "final", "applicant_must_act", "deadline", "suspends_resolution", "on", NULL,
};
static const char *const action_attrs[] = {
	"label", "by", "to", "form", "register", "receipt", "guard", "document", "sign", "notify",
	"fee", "pay", "backoffice", "requires", "extend", NULL,
};

/* Option values end up in form posts and stored data: lower-case ASCII, digits, _ and -. */
static bool valid_option_value(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (i > 0 && (s[i] == '_' || s[i] == '-'))))
			return false;
	return true;
}

/* Tràmit codes (GEN-001) name pages and API routes: upper-case ASCII, digits and -. */
static bool valid_code(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static void compile_applicants(struct dsl__compiler *c, int t, const char *what, int line)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "applicant");
	int list = lua_gettop(L);
	if (type == LUA_TNIL) {
		dsl__report(c, line, "%s: applicant is required, e.g. applicant = { \"person\", \"company\" }",
		       what);
		goto done;
	}
	if (!dsl__expect_list(c, list, what, "applicant", line, "{ \"person\", \"company\" }"))
		goto done;
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "applicant", line);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		const char *kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		unsigned bit = 0;
		if (kind && strcmp(kind, "person") == 0)
			bit = ENG_APPLICANT_PERSON;
		else if (kind && strcmp(kind, "company") == 0)
			bit = ENG_APPLICANT_COMPANY;
		else if (kind && strcmp(kind, "representative") == 0)
			bit = ENG_APPLICANT_REPRESENTATIVE;
		else if (kind && strcmp(kind, "employee") == 0)
			bit = ENG_APPLICANT_EMPLOYEE;
		if (!bit && kind)
			dsl__report(c, line, "%s: applicant kind '%s' is unknown (use person, company, representative or employee)", what,
			       kind);
		else if (!bit)
			dsl__report(c, line, "%s: applicant must list \"person\" or \"company\", got %s", what,
			       dsl__describe(L, -1));
		else if (c->def->applicants & bit)
			dsl__report(c, line, "%s: applicant lists '%s' twice", what, kind);
		c->def->applicants |= bit;
		lua_pop(L, 1);
	}
	if (n == 0 || !(c->def->applicants & (ENG_APPLICANT_PERSON | ENG_APPLICANT_COMPANY)))
		dsl__report(c, line, "%s: applicant must list at least one of person, company", what);
done:
	lua_settop(L, top);
}

static void compile_legal(struct dsl__compiler *c, int t, const char *what, int line)
{
	static const struct {
		const char *name;
		enum eng_silence value;
	} silences[] = {
		{ "positive", ENG_SILENCE_POSITIVE }, { "negative", ENG_SILENCE_NEGATIVE },
		{ "lapse", ENG_SILENCE_LAPSE },       { "none", ENG_SILENCE_NONE },
	};
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "legal");
	int legal = lua_gettop(L);
	if (type == LUA_TNIL) {
		dsl__report(c, line, "%s: legal is required: legal = { basis = \"...\", silence = \"...\" }",
		       what);
		goto done;
	}
	if (type != LUA_TTABLE) {
		dsl__report(c, line, "%s: legal must be a table { basis = ..., silence = ... }, got %s", what,
		       dsl__describe(L, legal));
		goto done;
	}
	dsl__check_keys(c, legal, legal_attrs, false, false, "legal", line);
	c->def->legal_basis = dsl__get_string(c, legal, "basis", true, "legal", line);

	if (dsl__get(L, legal, "resolve_within") != LUA_TNIL &&
	    dsl__duration(c, -1, "legal", "resolve_within", line, &c->def->resolve_within) &&
	    c->def->resolve_within.unit == ENG_UNIT_MONTHS)
		c->def->resolve_months = c->def->resolve_within.amount;
	lua_pop(L, 1);
	c->def->on_silence = dsl__get_string(c, legal, "on_silence", false, "legal", line);

	type = dsl__get(L, legal, "silence");
	const char *s = type == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	bool found = false;
	for (size_t i = 0; s && i < sizeof(silences) / sizeof(silences[0]); i++) {
		if (strcmp(s, silences[i].name) == 0) {
			c->def->silence = silences[i].value;
			found = true;
		}
	}
	if (type == LUA_TNIL)
		dsl__report(c, line, "legal: silence is required (positive, negative, lapse or none)");
	else if (!found && s)
		dsl__report(c, line, "legal: silence must be positive, negative, lapse or none, got '%.60s'",
		       s);
	else if (!found)
		dsl__report(c, line, "legal: silence must be positive, negative, lapse or none, got %s",
		       dsl__describe(L, -1));
done:
	lua_settop(L, top);
}

static void compile_options(struct dsl__compiler *c, int t, struct eng_field *f, const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	dsl__get(L, t, "options");
	int list = lua_gettop(L);
	if (!dsl__expect_list(c, list, what, "options", f->line, "{ option \"value\" { ca = ..., es = ... } }"))
		goto done;
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "options", f->line);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	if (n == 0)
		dsl__report(c, f->line, "%s: options must list at least one option", what);
	f->options = n ? eng_arena_alloc(&c->def->arena, (size_t)n * sizeof(*f->options)) : NULL;
	lua_newtable(L);
	int seen = lua_gettop(L);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		int item = lua_gettop(L);
		const struct dsl_node *node = dsl__expect_node(c, item, DSL_NODE_OPTION, what, i,
		                                          "option \"value\" { ca = ..., es = ... }", f->line);
		if (node) {
			struct eng_option *o = &f->options[f->n_options++];
			char name[WHAT_SIZE];
			o->value = dsl__node_name(c, item);
			snprintf(name, sizeof(name), "option '%.60s'", o->value);
			if (!valid_option_value(o->value))
				dsl__report(c, node->line, "%s: option value '%.60s' must use a-z, 0-9, _ and -", what,
				       o->value);
			int first = dsl__seen_before(L, seen, o->value, node->line);
			if (first >= 0)
				dsl__report(c, node->line, "%s: duplicate option '%.60s' (first at line %d)", what,
				       o->value, first);
			dsl__push_attrs(L, item);
			dsl__check_text(c, -1, true, what, name, node->line, &o->label);
			lua_pop(L, 1);
		}
		lua_settop(L, seen);
	}
done:
	lua_settop(L, top);
}

/* The attributes added with the language of issue 3: pattern, functions, prefill, files. */
static void compile_field_extras(struct dsl__compiler *c, int t, struct eng_field *f,
                                 const char *what)
{
	static const struct {
		const char *name;
		enum eng_prefill value;
	} prefills[] = {
		{ "name", ENG_PREFILL_NAME },   { "nif", ENG_PREFILL_NIF },
		{ "email", ENG_PREFILL_EMAIL }, { "phone", ENG_PREFILL_PHONE },
		{ "address", ENG_PREFILL_ADDRESS },
	};
	lua_State *L = c->L;
	f->pattern = dsl__get_string(c, t, "pattern", false, what, f->line);
	if (f->pattern && eng_pattern_match(f->pattern, "") < 0)
		dsl__report(c, f->line, "%s: pattern is not a valid POSIX extended regular expression "
		            "(or longer than 500 characters)", what);
	dsl__get_text(c, t, "pattern_message", false, what, f->line, &f->pattern_msg);
	static const struct {
		const char *key;
		enum eng_fn_kind kind;
	} fns[] = { { "check", ENG_FN_CHECK }, { "visible", ENG_FN_VISIBLE }, { "computed", ENG_FN_COMPUTED } };
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int type = dsl__get(L, t, fns[i].key);
		int id = 0;
		if (type == LUA_TFUNCTION)
			id = dsl__fn_add(c, -1, fns[i].kind, f->name);
		else if (type != LUA_TNIL)
			dsl__report(c, f->line, "%s: %s must be a function, got %s", what, fns[i].key,
			            dsl__describe(L, -1));
		lua_pop(L, 1);
		if (fns[i].kind == ENG_FN_CHECK)
			f->check_fn = id;
		else if (fns[i].kind == ENG_FN_VISIBLE)
			f->visible_fn = id;
		else
			f->computed_fn = id;
	}
	if (f->computed_fn && (f->required || f->required_fn))
		dsl__report(c, f->line, "%s: a computed field is filled by the tràmit, so it cannot be required",
		            what);
	const char *prefill = dsl__get_string(c, t, "prefill", false, what, f->line);
	for (size_t i = 0; prefill && i < sizeof(prefills) / sizeof(prefills[0]); i++)
		if (strcmp(prefill, prefills[i].name) == 0)
			f->prefill = prefills[i].value;
	if (prefill && f->prefill == ENG_PREFILL_NONE)
		dsl__report(c, f->line, "%s: prefill must be name, nif, email, phone or address, got '%.60s'",
		            what, prefill);
	size_t n_accept = 0;
	f->accept = dsl__get_names(c, t, "accept", what, f->line, &n_accept);
	f->n_accept = n_accept;
	int64_t max_size = 0;
	if (dsl__get_int(c, t, "max_size", what, f->line, &max_size))
		f->max_bytes = max_size;
	bool file = f->type == ENG_FIELD_FILE;
	if (!file && (f->n_accept || max_size))
		dsl__report(c, f->line, "%s: accept and max_size only apply to file fields", what);
	if (file && max_size < 0)
		dsl__report(c, f->line, "%s: max_size must be a positive number of bytes", what);
}

static void compile_field(struct dsl__compiler *c, int idx, const struct dsl_node *node,
                          struct eng_field *f, const char *section)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	char what[WHAT_SIZE];
	f->name = dsl__node_name(c, idx);
	f->type = (enum eng_field_type)node->number;
	f->section = section;
	f->line = node->line;
	snprintf(what, sizeof(what), "field '%.60s'", f->name);
	if (!dsl__valid_name(f->name))
		dsl__report(c, f->line, "field name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		       f->name);
	int first = dsl__seen_before(L, c->seen_fields, f->name, f->line);
	if (first >= 0)
		dsl__report(c, f->line, "duplicate field '%.60s' (first at line %d)", f->name, first);

	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, field_attrs, false, false, what, f->line);
	dsl__get_text(c, t, "label", true, what, f->line, &f->label);
	dsl__get_text(c, t, "help", false, what, f->line, &f->help);
	if (dsl__get(L, t, "required") == LUA_TFUNCTION)
		f->required_fn = dsl__fn_add(c, -1, ENG_FN_REQUIRED, f->name);
	else
		f->required = dsl__get_bool(c, t, "required", what, f->line);
	lua_pop(L, 1);
	f->has_min = dsl__get_int(c, t, "min", what, f->line, &f->min);
	f->has_max = dsl__get_int(c, t, "max", what, f->line, &f->max);

	/* min and max bound a number's value or a text's length; other types have a fixed form. */
	bool bounded = f->type == ENG_FIELD_TEXT || f->type == ENG_FIELD_LONGTEXT ||
	               f->type == ENG_FIELD_NUMBER || f->type == ENG_FIELD_MONEY ||
	               f->type == ENG_FIELD_MULTICHOICE || f->type == ENG_FIELD_FILE;
	bool is_text = f->type != ENG_FIELD_NUMBER && f->type != ENG_FIELD_MONEY;
	const char *type_name = eng_field_type_name(f->type);
	if (!bounded && (f->has_min || f->has_max))
		dsl__report(c, f->line, "%s: min and max do not apply to a %s field", what, type_name);
	else if (is_text && f->has_min && f->min < 0)
		dsl__report(c, f->line, "%s: min is a length and cannot be negative, got %lld", what,
		       (long long)f->min);
	else if (is_text && f->has_max && f->max < 1)
		dsl__report(c, f->line, "%s: max is a length and must be at least 1, got %lld", what,
		       (long long)f->max);
	else if (f->has_min && f->has_max && f->min > f->max)
		dsl__report(c, f->line, "%s: min (%lld) is greater than max (%lld)", what, (long long)f->min,
		       (long long)f->max);

	compile_field_extras(c, t, f, what);
	bool has_options = dsl__get(L, t, "options") != LUA_TNIL;
	lua_pop(L, 1);
	bool choice = f->type == ENG_FIELD_CHOICE || f->type == ENG_FIELD_MULTICHOICE;
	if (choice && !has_options)
		dsl__report(c, f->line, "%s: a choice needs options = { option \"value\" { ca = ..., es = ... }, ... }",
		       what);
	else if (!choice && has_options)
		dsl__report(c, f->line, "%s: options only apply to choice and multichoice fields", what);
	else if (has_options)
		compile_options(c, t, f, what);
	lua_settop(L, top);
}

/* group "name" { label = ..., min = 1, max = 5, fields... }: repeatable, values "name.N.field". */
static void compile_group(struct dsl__compiler *c, int idx, const struct dsl_node *node,
                          const char *section)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	struct eng_definition *def = c->def;
	struct eng_group *g = &def->groups[def->n_groups++];
	char what[WHAT_SIZE];
	g->name = dsl__node_name(c, idx);
	g->section = section;
	g->line = node->line;
	snprintf(what, sizeof(what), "group '%.60s'", g->name);
	if (!dsl__valid_name(g->name))
		dsl__report(c, g->line, "group name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		            g->name);
	int first = dsl__seen_before(L, c->seen_fields, g->name, g->line);
	if (first >= 0)
		dsl__report(c, g->line, "duplicate name '%.60s' (first at line %d)", g->name, first);
	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, group_attrs, true, false, what, g->line);
	dsl__get_text(c, t, "label", true, what, g->line, &g->label);
	if (!dsl__get_int(c, t, "min", what, g->line, &g->min))
		g->min = 0;
	if (!dsl__get_int(c, t, "max", what, g->line, &g->max))
		g->max = 20;
	if (g->min < 0 || g->max < 1 || g->min > g->max || g->max > 1000)
		dsl__report(c, g->line, "%s: needs 0 <= min <= max <= 1000 and max >= 1", what);
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		const struct dsl_node *fn = dsl__expect_node(c, -1, DSL_NODE_FIELD, what, i,
		                                             "a field such as text \"name\" { ... }", g->line);
		if (fn) {
			struct eng_field *f = &def->fields[def->n_fields++];
			compile_field(c, lua_gettop(L), fn, f, section);
			f->group = g->name;
		}
		lua_pop(L, 1);
	}
	if (n == 0)
		dsl__report(c, g->line, "%s: a group needs at least one field", what);
	lua_settop(L, top);
}

static void compile_section(struct dsl__compiler *c, int idx, const struct dsl_node *node,
                            struct eng_section *s)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	struct eng_definition *def = c->def;
	char what[WHAT_SIZE];
	s->name = dsl__node_name(c, idx);
	s->line = node->line;
	snprintf(what, sizeof(what), "section '%.60s'", s->name);
	if (!dsl__valid_name(s->name))
		dsl__report(c, s->line, "section name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		       s->name);
	int first = dsl__seen_before(L, c->seen_sections, s->name, s->line);
	if (first >= 0)
		dsl__report(c, s->line, "duplicate section '%.60s' (first at line %d)", s->name, first);

	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, section_attrs, true, false, what, s->line);
	dsl__get_text(c, t, "label", true, what, s->line, &s->label);
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		const struct dsl_node *gn = dsl__node_check(L, -1);
		if (gn && gn->kind == DSL_NODE_GROUP) {
			compile_group(c, lua_gettop(L), gn, s->name);
			lua_pop(L, 1);
			continue;
		}
		const struct dsl_node *fn = dsl__expect_node(c, -1, DSL_NODE_FIELD, what, i,
		                                        "a field such as text \"name\" { ... }", s->line);
		if (fn)
			compile_field(c, lua_gettop(L), fn, &def->fields[def->n_fields++], s->name);
		lua_pop(L, 1);
	}
	if (n == 0)
		dsl__report(c, s->line, "%s: a section needs at least one field", what);
	lua_settop(L, top);
}

static void compile_form(struct dsl__compiler *c, int t, const char *what, int line)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	int top = lua_gettop(L);
	if (dsl__get(L, t, "form") == LUA_TNIL)
		goto done;
	int list = lua_gettop(L);
	if (!dsl__expect_list(c, list, what, "form", line, "{ section \"name\" { ... } }"))
		goto done;
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "form", line);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	size_t n_fields = 0, n_groups = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		const struct dsl_node *s = dsl__node_check(L, -1);
		if (s && s->kind == DSL_NODE_SECTION) {
			dsl__push_attrs(L, -1);
			lua_Integer k = (lua_Integer)lua_rawlen(L, -1);
			n_fields += (size_t)k;
			for (lua_Integer j = 1; j <= k; j++) {
				lua_rawgeti(L, -1, j);
				const struct dsl_node *g = dsl__node_check(L, -1);
				if (g && g->kind == DSL_NODE_GROUP) {
					dsl__push_attrs(L, -1);
					n_fields += lua_rawlen(L, -1);
					n_groups++;
					lua_pop(L, 1);
				}
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (n_groups > 0)
		def->groups = eng_arena_alloc(&def->arena, n_groups * sizeof(*def->groups));
	if (n > 0)
		def->sections = eng_arena_alloc(&def->arena, (size_t)n * sizeof(*def->sections));
	if (n_fields > 0)
		def->fields = eng_arena_alloc(&def->arena, n_fields * sizeof(*def->fields));
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		const struct dsl_node *s = dsl__expect_node(c, -1, DSL_NODE_SECTION, "form", i,
		                                       "section \"name\" { ... }", line);
		if (s)
			compile_section(c, lua_gettop(L), s, &def->sections[def->n_sections++]);
		lua_pop(L, 1);
	}
done:
	lua_settop(L, top);
}

static void compile_action(struct dsl__compiler *c, int idx, const struct dsl_node *node,
                           struct eng_action *a, int seen, const char *state_what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	char what[WHAT_SIZE];
	a->name = dsl__node_name(c, idx);
	a->line = node->line;
	snprintf(what, sizeof(what), "action '%.60s'", a->name);
	if (!dsl__valid_name(a->name))
		dsl__report(c, a->line, "action name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		       a->name);
	int first = dsl__seen_before(L, seen, a->name, a->line);
	if (first >= 0)
		dsl__report(c, a->line, "duplicate action '%.60s' in %s (first at line %d)", a->name,
		       state_what, first);

	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, action_attrs, false, false, what, a->line);
	dsl__get_text(c, t, "label", true, what, a->line, &a->label);

	dsl__get(L, t, "by");
	const struct dsl_node *by = dsl__node_check(L, -1);
	if (by && by->kind == DSL_NODE_APPLICANT) {
		a->by = ENG_BY_APPLICANT;
	} else if (by && by->kind == DSL_NODE_ROLE) {
		a->by = ENG_BY_ROLE;
		a->role = dsl__node_name(c, lua_gettop(L));
		if (!dsl__valid_name(a->role))
			dsl__report(c, a->line, "%s: role name '%.60s' must start with a-z and use only a-z, 0-9 and _",
			       what, a->role);
		dsl__push_attrs(L, -1);
		a->unit = dsl__get_string(c, lua_gettop(L), "unit", false, what, a->line);
		lua_pop(L, 1);
	} else if (by && by->kind == DSL_NODE_SYSTEM) {
		a->by = ENG_BY_SYSTEM;
	} else if (by && by->kind == DSL_NODE_REPRESENTATIVE) {
		a->by = ENG_BY_REPRESENTATIVE;
	} else if (lua_isnil(L, -1)) {
		dsl__report(c, a->line, "%s: by is required: by = applicant or by = role \"name\"", what);
	} else {
		dsl__report(c, a->line, "%s: by must be applicant, representative, role \"name\" or system, got %s",
		            what, dsl__describe(L, -1));
	}
	lua_pop(L, 1);

	a->to = dsl__get_string(c, t, "to", true, what, a->line);
	if (dsl__get_bool(c, t, "form", what, a->line))
		a->flags |= ENG_ACTION_FORM;
	int type = dsl__get(L, t, "register");
	if (type == LUA_TSTRING && strcmp(lua_tostring(L, -1), "in") == 0)
		a->flags |= ENG_ACTION_REGISTER_IN;
	else if (type == LUA_TSTRING && strcmp(lua_tostring(L, -1), "out") == 0)
		a->flags |= ENG_ACTION_REGISTER_OUT;
	else if (type == LUA_TSTRING)
		dsl__report(c, a->line, "%s: register must be \"in\" or \"out\", got '%.60s'", what, lua_tostring(L, -1));
	else if (type != LUA_TNIL)
		dsl__report(c, a->line, "%s: register must be \"in\" or \"out\", got %s", what, dsl__describe(L, -1));
	lua_pop(L, 1);
	if (dsl__get_bool(c, t, "receipt", what, a->line)) {
		a->flags |= ENG_ACTION_RECEIPT;
		/* The receipt (justificant) certifies a registry entry: without one it has nothing to
		 * certify. */
		if (!(a->flags & ENG_ACTION_REGISTER_IN))
			dsl__report(c, a->line, "%s: receipt = true needs register = \"in\"", what);
	}
	dsl__compile_action_flow(c, t, a, what);
	lua_settop(L, top);
}

static void compile_state(struct dsl__compiler *c, int idx, const struct dsl_node *node,
                          struct eng_state *st)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	char what[WHAT_SIZE];
	st->name = dsl__node_name(c, idx);
	st->line = node->line;
	snprintf(what, sizeof(what), "state '%.60s'", st->name);
	if (!dsl__valid_name(st->name))
		dsl__report(c, st->line, "state name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		       st->name);
	int first = dsl__seen_before(L, c->seen_states, st->name, st->line);
	if (first >= 0)
		dsl__report(c, st->line, "duplicate state '%.60s' (first at line %d)", st->name, first);

	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, state_attrs, true, false, what, st->line);
	dsl__get_text(c, t, "label", true, what, st->line, &st->label);
	st->initial = dsl__get_bool(c, t, "initial", what, st->line);
	st->final = dsl__get_bool(c, t, "final", what, st->line);
	st->applicant_must_act = dsl__get_bool(c, t, "applicant_must_act", what, st->line);
	dsl__compile_state_flow(c, t, st, what);

	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	if (n > 0)
		st->actions = eng_arena_alloc(&c->def->arena, (size_t)n * sizeof(*st->actions));
	lua_newtable(L);
	int seen = lua_gettop(L);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		const struct dsl_node *an = dsl__expect_node(c, -1, DSL_NODE_ACTION, what, i,
		                                        "action \"name\" { ... }", st->line);
		if (an)
			compile_action(c, lua_gettop(L), an, &st->actions[st->n_actions++], seen, what);
		lua_pop(L, 1);
	}
	lua_settop(L, top);
}

/* Rules that need every state: one initial state, where actions lead, what final means. */
static void check_states(struct dsl__compiler *c, const char *what, int line)
{
	const struct eng_definition *def = c->def;
	const struct eng_state *initial = NULL;
	for (size_t i = 0; i < def->n_states; i++) {
		const struct eng_state *st = &def->states[i];
		if (st->initial && initial)
			dsl__report(c, st->line, "state '%.60s': only one state may be initial, and '%.60s' already is",
			       st->name, initial->name);
		else if (st->initial)
			initial = st;
		if (st->initial && st->final)
			dsl__report(c, st->line, "state '%.60s': the initial state cannot be final", st->name);
		if (st->final && st->n_actions > 0)
			dsl__report(c, st->line, "state '%.60s': a final state cannot have actions", st->name);
		if (st->final && st->applicant_must_act)
			dsl__report(c, st->line, "state '%.60s': a final state leaves nothing for the applicant to do",
			       st->name);
		if (!st->final && st->n_actions == 0 && !(st->deadline && st->deadline->on_expiry))
			dsl__report(c, st->line, "state '%.60s': a state that is not final needs at least one "
			            "action or a deadline with on_expiry", st->name);
		if (st->final && (st->deadline || st->suspends_resolution))
			dsl__report(c, st->line, "state '%.60s': a final state cannot have a deadline or suspend "
			            "anything", st->name);
		for (size_t j = 0; j < st->n_actions; j++) {
			const struct eng_action *a = &st->actions[j];
			if (a->to && !eng_definition_state(def, a->to))
				dsl__report(c, a->line, "action '%.60s' moves to undefined state '%.60s'", a->name,
				       a->to);
		}
	}
	if (def->n_states > 0 && !initial)
		dsl__report(c, line, "%s: no initial state; mark one with initial = true", what);
	dsl__check_flow(c);
}

static void compile_states(struct dsl__compiler *c, int t, const char *what, int line)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	int top = lua_gettop(L);
	if (dsl__get(L, t, "states") == LUA_TNIL) {
		dsl__report(c, line, "%s: states is required: states = { state \"name\" { ... }, ... }", what);
		goto done;
	}
	int list = lua_gettop(L);
	if (!dsl__expect_list(c, list, what, "states", line, "{ state \"name\" { ... } }"))
		goto done;
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "states", line);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	if (n == 0) {
		dsl__report(c, line, "%s: states must list at least one state", what);
		goto done;
	}
	def->states = eng_arena_alloc(&def->arena, (size_t)n * sizeof(*def->states));
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		const struct dsl_node *s = dsl__expect_node(c, -1, DSL_NODE_STATE, "states", i,
		                                       "state \"name\" { ... }", line);
		if (s)
			compile_state(c, lua_gettop(L), s, &def->states[def->n_states++]);
		lua_pop(L, 1);
	}
	check_states(c, what, line);
done:
	lua_settop(L, top);
}

static void compile_identification(struct dsl__compiler *c, int t, const char *what, int line)
{
	static const char *const levels[] = { "any", "low", "substantial", "high", NULL };
	const char *s = dsl__get_string(c, t, "identification", false, what, line);
	for (int i = 0; s && levels[i]; i++)
		if (strcmp(s, levels[i]) == 0)
			c->def->identification = (enum eng_ident_level)i;
	if (s && !dsl__in_list(levels, s))
		dsl__report(c, line, "%s: identification must be any, low, substantial or high, got '%.60s'",
		            what, s);
}

static void compile_tramit(struct dsl__compiler *c, int idx, const struct dsl_node *node)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	char what[WHAT_SIZE];
	int line = node->line;
	def->code = dsl__node_name(c, idx);
	snprintf(what, sizeof(what), "tramit '%.60s'", def->code);
	if (!valid_code(def->code))
		dsl__report(c, line, "tramit code '%.60s' must use A-Z, 0-9 and -, as in GEN-001", def->code);

	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, tramit_attrs, false, false, what, line);
	def->version = dsl__get_string(c, t, "version", true, what, line);
	dsl__get_text(c, t, "title", true, what, line, &def->title);
	dsl__get_text(c, t, "summary", false, what, line, &def->summary);
	dsl__get_text(c, t, "description", false, what, line, &def->description);
	def->family = dsl__get_string(c, t, "family", true, what, line);
	def->unit = dsl__get_string(c, t, "unit", true, what, line);
	compile_applicants(c, t, what, line);
	compile_legal(c, t, what, line);
	compile_identification(c, t, what, line);
	def->electronic_only = dsl__get_bool(c, t, "electronic_only", what, line);
	compile_form(c, t, what, line);
	dsl__compile_fees(c, t, what, line);
	dsl__compile_documents(c, t, what, line);
	compile_states(c, t, what, line);
	dsl__check_documents(c);
	lua_pop(L, 1);
}

/* Runs under lua_pcall: walking the nodes allocates Lua strings, which may raise. Arguments:
 * the compiler (light userdata) and the list of tramit nodes. */
static int compile_protected(lua_State *L)
{
	struct dsl__compiler *c = lua_touserdata(L, 1);
	luaL_checkstack(L, 64, "compiling a tràmit");
	lua_newtable(L);
	c->seen_sections = lua_gettop(L);
	lua_newtable(L);
	c->seen_fields = lua_gettop(L);
	lua_newtable(L);
	c->seen_states = lua_gettop(L);

	if (c->fn_table) {
		lua_newtable(L);
		c->fn_table = lua_gettop(L);
	}

	lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
	if (n == 0) {
		dsl__report(c, 0, "no tramit \"CODE\" { ... } in this file");
		return 0;
	}
	lua_rawgeti(L, 2, 1);
	int first = lua_gettop(L);
	const struct dsl_node *node = dsl__node_check(L, first);
	if (node->kind != DSL_NODE_TRAMIT) {
		dsl__report(c, node->line, "a scenario belongs in a test file (name_test.lua), not in a tràmit file");
		return 0;
	}
	for (lua_Integer i = 2; i <= n; i++) {
		lua_rawgeti(L, 2, i);
		const struct dsl_node *other = dsl__node_check(L, -1);
		dsl__report(c, other->line, "a file holds one tramit, and one already starts at line %d",
		       node->line);
		lua_pop(L, 1);
	}
	compile_tramit(c, first, node);
	if (c->fn_table) {
		lua_pushvalue(L, c->fn_table);
		return 1;
	}
	return 0;
}

/* Insertion sort by line: stable, so problems on one line keep the order they were found in,
 * and at most DSL_MAX_DIAGS + 1 items make its cost irrelevant. */
static void sort_by_line(struct dsl_diag *items, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct dsl_diag d = items[i];
		size_t j = i;
		while (j > 0 && items[j - 1].line > d.line) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = d;
	}
}

static int compile_run(struct eng_definition *def, struct dsl_sandbox *sb, const char *path,
                       struct dsl_diags *diags, bool keep_fns)
{
	lua_State *L = sb->L;
	struct dsl__compiler c = { .L = L, .def = def, .diags = diags, .path = path,
	                           .fn_table = keep_fns ? -1 : 0, .text_limit = sb->mem_limit };
	size_t first_diag = diags->n;
	int rc = ENG_EINVALID;

	def->source_path = eng_arena_strdup(&def->arena, path);
	lua_pushcfunction(L, compile_protected);
	lua_insert(L, -2);
	lua_pushlightuserdata(L, &c);
	lua_insert(L, -2);
	int status = lua_pcall(L, 2, keep_fns ? 1 : 0, 0);
	if (status != LUA_OK) {
		/* Only running out of the sandbox's memory can raise here. */
		char size[32];
		dsl__format_size(size, sizeof(size), sb->mem_limit);
		if (status == LUA_ERRMEM || sb->mem_refused)
			dsl__diag_add(diags, path, 0, "memory limit of %s exceeded", size);
		else
			dsl__diag_add(diags, path, 0, "internal error while compiling: %s",
			              lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
		lua_pop(L, 1);
		goto done;
	}
	sort_by_line(diags->items + first_diag, diags->n - first_diag);
	if (diags->n == first_diag)
		rc = 0;
	else if (keep_fns)
		lua_pop(L, 1);
done:
	return rc;
}

int dsl__compile(struct eng_definition *def, struct dsl_sandbox *sb, const char *path,
                 struct dsl_diags *diags)
{
	return compile_run(def, sb, path, diags, false);
}

int dsl__compile_with_functions(struct eng_definition *def, struct dsl_sandbox *sb,
                                const char *path, struct dsl_diags *diags)
{
	return compile_run(def, sb, path, diags, true);
}
