/* The compiler from the nodes a tràmit file built (dsl/prelude.lua) to a struct eng_definition.
 * It reports every problem it finds, each at the line of its construct, and only a file with
 * none yields a definition. Invariant: every pointer it stores lives in def->arena. */
#include "dsl/compiler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/core/validate.h"

enum { MAX_UNKNOWN_KEYS = 16 };

static const char *const tramit_attrs[] = {
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
static const char *const languages[] = { "ca", "es", NULL };
const char *const dsl__no_attrs[] = { NULL };

/* Past DSL_MAX_DIAGS the rest would only bury the first problems; say the list was cut. */
void dsl__report(struct dsl__compiler *c, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	if (c->n_reported > DSL_MAX_DIAGS)
		return;
	if (c->n_reported++ == DSL_MAX_DIAGS) {
		dsl__diag_add(c->diags, c->path, line, "too many problems; stopped after %d",
		              DSL_MAX_DIAGS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dsl__diag_add(c->diags, c->path, line, "%s", msg);
}

bool dsl__in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* What a value is, in the words of the "got ..." part of messages. */
const char *dsl__describe(lua_State *L, int idx)
{
	const struct dsl_node *n = dsl__node_check(L, idx);
	return n ? dsl__node_kind_name(n->kind) : luaL_typename(L, idx);
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char b = s[i];
		size_t len;
		unsigned long cp;
		if (b < 0x80) {
			if (b == 0)
				return false;
			i++;
			continue;
		} else if ((b & 0xe0) == 0xc0) {
			len = 2, cp = b & 0x1f;
		} else if ((b & 0xf0) == 0xe0) {
			len = 3, cp = b & 0x0f;
		} else if ((b & 0xf8) == 0xf0) {
			len = 4, cp = b & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const unsigned long min_for_len[] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* Names of fields, sections, states, actions and roles end up in URLs, form posts and the
 * database, so they keep to lower-case ASCII. */
bool dsl__valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

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

/* Copies the string at idx into the arena, or reports it and returns NULL when it is not
 * UTF-8 text (pages and documents print it as is). */
const char *dsl__copy_string(struct dsl__compiler *c, int idx, const char *what, const char *key,
                               int line)
{
	size_t len;
	const char *s = lua_tolstring(c->L, idx, &len);
	if (!utf8_valid((const unsigned char *)s, len)) {
		dsl__report(c, line, "%s: %s is not valid UTF-8 text", what, key);
		return NULL;
	}
	/* One Lua string used as the text of many constructs is copied each time: the copies
	 * count against the same memory limit as the Lua heap, or a small file could make the
	 * definition gigabytes large. */
	c->text_bytes += len + 1;
	if (c->text_bytes > c->text_limit) {
		if (c->n_reported <= DSL_MAX_DIAGS)
			dsl__report(c, line, "memory limit of %zu MiB exceeded", c->text_limit >> 20);
		c->n_reported = DSL_MAX_DIAGS + 1; /* nothing after this one: it explains the rest */
		return NULL;
	}
	return eng_arena_strndup(&c->def->arena, s, len);
}

/* Keeps the MAX_UNKNOWN_KEYS smallest keys, sorted: the same ones whatever Lua's hash order. */
static void keep_smallest(const char **keys, size_t *n, const char *k)
{
	size_t i = *n < MAX_UNKNOWN_KEYS ? (*n)++ : MAX_UNKNOWN_KEYS;
	while (i > 0 && strcmp(keys[i - 1], k) > 0) {
		if (i < MAX_UNKNOWN_KEYS)
			keys[i] = keys[i - 1];
		i--;
	}
	if (i < MAX_UNKNOWN_KEYS)
		keys[i] = k;
}

/* Reports the keys of table t that are not in allowed, in sorted order so the report does not
 * depend on Lua's hash order. With children, t may also hold a list (keys 1..#t). With langs, the keys
 * are the languages of a text and `what` names the text. */
void dsl__check_keys(struct dsl__compiler *c, int t, const char *const *allowed, bool children,
                       bool langs, const char *what, int line)
{
	lua_State *L = c->L;
	lua_Integer n = children ? (lua_Integer)lua_rawlen(L, t) : 0;
	const char *unknown[MAX_UNKNOWN_KEYS];
	size_t n_unknown = 0;
	const char *stray = NULL;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) == LUA_TSTRING) {
			const char *k = lua_tostring(L, -2);
			if (!dsl__in_list(allowed, k))
				keep_smallest(unknown, &n_unknown, k);
		} else if (!(lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
		             lua_tointeger(L, -2) <= n) && !stray) {
			stray = dsl__describe(L, -1);
		}
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < n_unknown; i++) {
		if (allowed == dsl__no_attrs)
			dsl__report(c, line, "%s: found '%s = ...'; write the items as a list", what, unknown[i]);
		else if (langs)
			dsl__report(c, line, "%s has unknown language '%s' (only ca and es)", what, unknown[i]);
		else
			dsl__report(c, line, "unknown attribute '%s' in %s", unknown[i], what);
	}
	if (stray && langs)
		dsl__report(c, line, "%s must be written { ca = \"...\", es = \"...\" }", what);
	else if (stray && children)
		dsl__report(c, line, "%s: unexpected %s among its items (a hole in the list?)", what, stray);
	else if (stray)
		dsl__report(c, line, "%s: unexpected %s without a name; attributes are written name = value",
		       what, stray);
}

/* Pushes t[key] without metamethods and returns its type. */
int dsl__get(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	return lua_rawget(L, t);
}

const char *dsl__get_string(struct dsl__compiler *c, int t, const char *key, bool required,
                              const char *what, int line)
{
	const char *s = NULL;
	int type = dsl__get(c->L, t, key);
	if (type == LUA_TNIL && required)
		dsl__report(c, line, "%s: %s is required", what, key);
	else if (type != LUA_TNIL && type != LUA_TSTRING)
		dsl__report(c, line, "%s: %s must be a string, got %s", what, key, dsl__describe(c->L, -1));
	else if (type == LUA_TSTRING)
		s = dsl__copy_string(c, -1, what, key, line);
	lua_pop(c->L, 1);
	return s;
}

bool dsl__get_bool(struct dsl__compiler *c, int t, const char *key, const char *what, int line)
{
	bool b = false;
	int type = dsl__get(c->L, t, key);
	if (type == LUA_TBOOLEAN)
		b = lua_toboolean(c->L, -1);
	else if (type != LUA_TNIL)
		dsl__report(c, line, "%s: %s must be true or false, got %s", what, key, dsl__describe(c->L, -1));
	lua_pop(c->L, 1);
	return b;
}

bool dsl__get_int(struct dsl__compiler *c, int t, const char *key, const char *what, int line,
                    int64_t *out)
{
	lua_State *L = c->L;
	bool has = false;
	int type = dsl__get(L, t, key);
	if (type == LUA_TNUMBER) {
		int ok;
		lua_Integer v = lua_tointegerx(L, -1, &ok);
		if (ok) {
			*out = v;
			has = true;
		} else {
			dsl__report(c, line, "%s: %s must be a whole number, got %s", what, key,
			       lua_tostring(L, -1));
		}
	} else if (type != LUA_TNIL) {
		dsl__report(c, line, "%s: %s must be a whole number, got %s", what, key, dsl__describe(L, -1));
	}
	lua_pop(L, 1);
	return has;
}

/* Checks the text at idx: a table with exactly ca and es, both non-empty strings. `name` is
 * what the text is called in messages ("label", "title", "option 'ca'"). */
void dsl__check_text(struct dsl__compiler *c, int idx, bool required, const char *what,
                       const char *name, int line, struct eng_text *out)
{
	lua_State *L = c->L;
	char where[WHAT_SIZE + 32];
	idx = lua_absindex(L, idx);
	if (lua_isnil(L, idx)) {
		if (required)
			dsl__report(c, line, "%s: %s needs both ca and es", what, name);
		return;
	}
	if (!lua_istable(L, idx)) {
		dsl__report(c, line, "%s: %s must be written { ca = \"...\", es = \"...\" }, got %s", what,
		       name, dsl__describe(L, idx));
		return;
	}
	snprintf(where, sizeof(where), "%s: %s", what, name);
	dsl__check_keys(c, idx, languages, false, true, where, line);
	const char *t[2] = { NULL, NULL };
	bool missing = false;
	for (int i = 0; i < 2; i++) {
		int type = dsl__get(L, idx, languages[i]);
		if (type == LUA_TSTRING && lua_rawlen(L, -1) > 0) {
			t[i] = dsl__copy_string(c, -1, where, languages[i], line);
		} else if (type == LUA_TNIL || type == LUA_TSTRING) {
			missing = true;
		} else {
			dsl__report(c, line, "%s: %s.%s must be a string, got %s", what, name, languages[i],
			       dsl__describe(L, -1));
		}
		lua_pop(L, 1);
	}
	if (missing)
		dsl__report(c, line, "%s: %s needs both ca and es", what, name);
	out->ca = t[0];
	out->es = t[1];
}

void dsl__get_text(struct dsl__compiler *c, int t, const char *key, bool required, const char *what,
                     int line, struct eng_text *out)
{
	dsl__get(c->L, t, key);
	dsl__check_text(c, -1, required, what, key, line, out);
	lua_pop(c->L, 1);
}

/* Records name in the table at slot `seen`; returns the line it was first seen at, or -1. */
int dsl__seen_before(lua_State *L, int seen, const char *name, int line)
{
	int first = -1;
	if (lua_getfield(L, seen, name) == LUA_TNUMBER)
		first = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (first < 0) {
		lua_pushinteger(L, line);
		lua_setfield(L, seen, name);
	}
	return first;
}

/* Pushes the attribute table of the node at idx (nil for nodes without one). */
void dsl__push_attrs(lua_State *L, int idx)
{
	lua_getiuservalue(L, idx, 2);
}

const char *dsl__node_name(struct dsl__compiler *c, int idx)
{
	const char *name = NULL;
	if (lua_getiuservalue(c->L, idx, 1) == LUA_TSTRING)
		name = eng_arena_strdup(&c->def->arena, lua_tostring(c->L, -1));
	lua_pop(c->L, 1);
	return name ? name : "";
}

/* Returns the node at idx if it is of kind `kind`, or reports what was found instead. */
const struct dsl_node *dsl__expect_node(struct dsl__compiler *c, int idx, enum dsl_node_kind kind,
                                          const char *what, lua_Integer pos, const char *example,
                                          int line)
{
	const struct dsl_node *n = dsl__node_check(c->L, idx);
	if (n && n->kind == kind)
		return n;
	if (lua_isfunction(c->L, idx))
		dsl__report(c, line, "%s: item %lld is unfinished; did you forget the { ... } after the name?",
		       what, (long long)pos);
	else
		dsl__report(c, line, "%s: item %lld is a %s; expected %s", what, (long long)pos,
		       dsl__describe(c->L, idx), example);
	return NULL;
}

/* Checks that the value at idx is a table, reporting it otherwise. */
bool dsl__expect_list(struct dsl__compiler *c, int idx, const char *what, const char *key, int line,
                        const char *example)
{
	if (lua_istable(c->L, idx))
		return true;
	dsl__report(c, line, "%s: %s must be a list such as %s, got %s", what, key, example,
	       dsl__describe(c->L, idx));
	return false;
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
	compile_states(c, t, what, line);
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
