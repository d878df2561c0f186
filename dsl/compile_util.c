/* Reading the Lua values a tràmit file built: typed getters that report what was expected
 * and what was found at the construct's line, text in both languages, names and codes.
 * Invariant: every string they return is copied into the definition's arena and counted
 * against the memory limit. */
#include "dsl/compiler.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

enum { MAX_UNKNOWN_KEYS = 16 };

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
