/* The host that runs a definition's designer functions for the step function (struct
 * eng_host): one sandboxed Lua state per thread, each definition loaded into it once (by its
 * content hash), and a fresh environment and frozen inputs for every call (DESIGN.md 8).
 * Invariant: a call sees only its inputs, the designer's file and the trimmed libraries; its
 * writes to globals die with the call, and it cannot read the clock or a random number. */
#include "dsl/sandbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "engine/core/calendar.h"
#include "engine/core/validate.h"

enum {
	HOST_MEMORY = 256u << 20,       /* the whole per-thread state */
	CALL_MEMORY = 16u << 20,        /* what one call may add to it */
	CALL_INSTRUCTIONS = 1000000,    /* one call's budget */
	MAX_LOADED = 64,                /* definitions kept per thread before starting afresh */
};

/* What the definition carries for the host: enough to load it on any thread. Lives in the
 * definition's arena. */
struct program {
	struct eng_host host;
	const char *path;
	const char *src;
	size_t len;
};

struct runner {
	struct dsl_sandbox *sb;
	int loaded_ref; /* registry: definition hash -> table of functions by id */
	size_t n_loaded;
};

static pthread_key_t runner_key;
static pthread_once_t runner_once = PTHREAD_ONCE_INIT;

static void runner_free(void *p)
{
	struct runner *r = p;
	if (!r)
		return;
	dsl__sandbox_close(r->sb);
	free(r);
}

static void runner_key_make(void)
{
	pthread_key_create(&runner_key, runner_free);
}

/* The calling thread's runner, opened on first use. */
static struct runner *runner_get(struct eng_error *err)
{
	pthread_once(&runner_once, runner_key_make);
	struct runner *r = pthread_getspecific(runner_key);
	if (r && r->n_loaded < MAX_LOADED && r->sb->mem_used < HOST_MEMORY / 2)
		return r;
	/* Starting afresh is simpler than evicting: loading a definition again costs one run. */
	runner_free(r);
	pthread_setspecific(runner_key, NULL);
	r = calloc(1, sizeof(*r));
	struct dsl_limits limits = { .memory_bytes = HOST_MEMORY };
	if (!r || dsl__sandbox_open(&r->sb, &limits, err) < 0) {
		free(r);
		eng_error_set(err, ENG_EINTERNAL, "cannot open the Lua sandbox for designer functions");
		return NULL;
	}
	lua_newtable(r->sb->L);
	r->loaded_ref = luaL_ref(r->sb->L, LUA_REGISTRYINDEX);
	pthread_setspecific(runner_key, r);
	return r;
}

/* Pushes the function table of def, loading the definition into this thread's state if it is
 * not there yet [-0, +1]. */
static int push_functions(struct runner *r, const struct eng_definition *def,
                          const struct program *p, struct eng_error *err)
{
	lua_State *L = r->sb->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->loaded_ref);
	if (lua_getfield(L, -1, def->hash) == LUA_TTABLE) {
		lua_remove(L, -2);
		return 0;
	}
	lua_pop(L, 1);
	struct dsl_diags diags = { 0 };
	struct eng_definition *scratch = calloc(1, sizeof(*scratch));
	int rc = scratch ? dsl__sandbox_run(r->sb, p->path, p->src, p->len, &diags) : ENG_EINTERNAL;
	if (rc == 0)
		rc = dsl__compile_with_functions(scratch, r->sb, p->path, &diags);
	if (rc == 0 && scratch->n_fns != def->n_fns)
		rc = ENG_EINTERNAL;
	if (rc < 0) {
		char line[600] = "out of memory";
		if (diags.n > 0)
			dsl_diag_format(&diags.items[0], line, sizeof(line));
		eng_error_set(err, ENG_EINTERNAL, "cannot load the functions of %s: %s", def->code, line);
		lua_pop(L, 1);
	} else {
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, def->hash);
		lua_remove(L, -2);
		r->n_loaded++;
	}
	eng_definition_free(scratch);
	dsl_diags_free(&diags);
	return rc;
}

/* __index of a frozen table: upvalue 1 the real table, upvalue 2 the set of keys read (or
 * nil). Reading is recorded, so a fee says which values it depended on. */
static int frozen_index(lua_State *L)
{
	if (!lua_isnil(L, lua_upvalueindex(2)) && lua_type(L, 2) == LUA_TSTRING) {
		lua_pushvalue(L, 2);
		lua_pushboolean(L, 1);
		lua_rawset(L, lua_upvalueindex(2));
	}
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	return 1;
}

static int frozen_newindex(lua_State *L)
{
	return luaL_error(L, "the values a function receives are read-only");
}

static int frozen_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

static int frozen_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(1)))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int frozen_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, frozen_next, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Replaces the table at the top with a read-only proxy; reads go to the table at `reads`
 * when it is not 0 [-1, +1]. Nested tables are frozen first by the caller. */
static void freeze(lua_State *L, int reads)
{
	int real = lua_gettop(L);
	lua_newtable(L); /* proxy */
	lua_newtable(L); /* metatable */
	lua_pushvalue(L, real);
	if (reads)
		lua_pushvalue(L, reads);
	else
		lua_pushnil(L);
	lua_pushcclosure(L, frozen_index, 2);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, frozen_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, frozen_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushvalue(L, real);
	lua_pushcclosure(L, frozen_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_remove(L, real);
}

/* Pushes a form value as its field's Lua type: whole numbers and money (cents) as integers,
 * yes/no as booleans, multiple choices as a frozen list, the rest as strings. */
static void push_typed(lua_State *L, const struct eng_field *f, const char *v)
{
	char *end;
	if (!f) {
		lua_pushstring(L, v);
		return;
	}
	switch (f->type) {
	case ENG_FIELD_NUMBER:
	case ENG_FIELD_MONEY: {
		long long n = strtoll(v, &end, 10);
		if (*v && !*end)
			lua_pushinteger(L, n);
		else
			lua_pushstring(L, v);
		return;
	}
	case ENG_FIELD_YESNO:
		lua_pushboolean(L, strcmp(v, "yes") == 0);
		return;
	case ENG_FIELD_MULTICHOICE: {
		lua_newtable(L);
		lua_Integer i = 0;
		for (const char *p = v; *p;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			lua_pushlstring(L, p, len);
			lua_rawseti(L, -2, ++i);
			p = comma ? comma + 1 : p + len;
		}
		freeze(L, 0);
		return;
	}
	default:
		lua_pushstring(L, v);
	}
}

/* Pushes the form as designers read it: f.field, and f.group as a list of instances. */
static void push_form(lua_State *L, const struct eng_fn_call *call, int reads)
{
	const struct eng_definition *def = call->def;
	lua_newtable(L);
	int form = lua_gettop(L);
	for (size_t g = 0; g < def->n_groups; g++) {
		const struct eng_group *grp = &def->groups[g];
		int count = eng_group_count(def, grp, call->data, call->n_data);
		lua_newtable(L);
		for (int k = 1; k <= count; k++) {
			lua_newtable(L);
			lua_rawseti(L, -2, k);
		}
		lua_setfield(L, form, grp->name);
	}
	for (size_t i = 0; i < call->n_data; i++) {
		int index;
		const struct eng_field *f = eng_form_field(def, call->data[i].name, &index);
		if (f && f->group) {
			lua_getfield(L, form, f->group);
			lua_rawgeti(L, -1, index);
			push_typed(L, f, call->data[i].value);
			lua_setfield(L, -2, f->name);
			lua_pop(L, 2);
		} else {
			push_typed(L, f ? f : eng_definition_field(def, call->data[i].name),
			           call->data[i].value);
			lua_setfield(L, form, call->data[i].name);
		}
	}
	for (size_t g = 0; g < def->n_groups; g++) {
		lua_getfield(L, form, def->groups[g].name);
		int list = lua_gettop(L);
		for (lua_Integer k = 1; lua_rawgeti(L, list, k) == LUA_TTABLE; k++) {
			freeze(L, 0);
			lua_rawseti(L, list, k);
		}
		lua_pop(L, 1);
		freeze(L, 0);
		lua_setfield(L, form, def->groups[g].name);
	}
	freeze(L, reads);
}

/* The second argument: when and where the function runs, and the fees computed so far. */
static void push_context(lua_State *L, const struct eng_fn_call *call)
{
	char day[11];
	lua_newtable(L);
	lua_pushinteger(L, call->time_ms);
	lua_setfield(L, -2, "now");
	eng_day_format(day, eng_datetime_from_unix(call->time_ms / 1000).day);
	lua_pushstring(L, day);
	lua_setfield(L, -2, "today");
	lua_pushstring(L, call->state ? call->state : "");
	lua_setfield(L, -2, "state");
	static const char *const kinds[] = { "citizen", "employee", "system" };
	lua_pushstring(L, kinds[call->actor ? call->actor->kind : ENG_PRINCIPAL_SYSTEM]);
	lua_setfield(L, -2, "actor");
	lua_newtable(L);
	for (size_t i = 0; i < call->n_vars; i++) {
		if (strncmp(call->vars[i].name, "fee.", 4) == 0) {
			lua_pushinteger(L, strtoll(call->vars[i].value, NULL, 10));
			lua_setfield(L, -2, call->vars[i].name + 4);
		}
	}
	freeze(L, 0);
	lua_setfield(L, -2, "fees");
	freeze(L, 0);
}

/* A fresh environment for this call: reads fall through to the file's globals, writes stay in
 * the new table and vanish with it. Every function of a file shares the file's _ENV upvalue,
 * so setting it through the function being called reaches its helpers too. A fresh
 * environment's metatable is marked, so the next call finds the file's own behind it. */
static void fresh_env(lua_State *L, int fn)
{
	for (int i = 1;; i++) {
		const char *name = lua_getupvalue(L, fn, i);
		if (!name)
			return;
		if (strcmp(name, "_ENV") != 0) {
			lua_pop(L, 1);
			continue;
		}
		int file_env = lua_gettop(L);
		if (lua_getmetatable(L, file_env)) {
			if (lua_getfield(L, -1, "__fresh") == LUA_TBOOLEAN) {
				lua_getfield(L, -2, "__index");
				lua_replace(L, file_env);
			}
			lua_pop(L, 2);
		}
		lua_newtable(L);
		lua_newtable(L);
		lua_pushvalue(L, file_env);
		lua_setfield(L, -2, "__index");
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "__fresh");
		lua_setmetatable(L, -2);
		lua_setupvalue(L, fn, i);
		lua_pop(L, 1);
		return;
	}
}

static void read_text(lua_State *L, int idx, struct eng_arena *arena, struct eng_text *out)
{
	if (lua_type(L, idx) == LUA_TSTRING) {
		out->ca = out->es = eng_arena_strdup(arena, lua_tostring(L, idx));
	} else if (lua_type(L, idx) == LUA_TTABLE) {
		if (lua_getfield(L, idx, "ca") == LUA_TSTRING)
			out->ca = eng_arena_strdup(arena, lua_tostring(L, -1));
		if (lua_getfield(L, idx, "es") == LUA_TSTRING)
			out->es = eng_arena_strdup(arena, lua_tostring(L, -1));
		lua_pop(L, 2);
	}
}

static int convert(struct eng_fn_record *out, struct eng_arena *arena, lua_State *L,
                   const struct eng_fn *f, const char *path, struct eng_error *err)
{
	int r1 = lua_gettop(L) - 1;
	switch (f->kind) {
	case ENG_FN_GUARD:
	case ENG_FN_CHECK:
		out->ok = lua_toboolean(L, r1);
		if (!out->ok)
			read_text(L, r1 + 1, arena, &out->message);
		return 0;
	case ENG_FN_VISIBLE:
	case ENG_FN_REQUIRED:
		out->ok = lua_toboolean(L, r1);
		return 0;
	case ENG_FN_FEE: {
		int isint = 0;
		lua_Integer cents = lua_tointegerx(L, r1, &isint);
		if (!isint || cents < 0)
			return eng_error_set(err, ENG_EINVALID,
			                     "%s:%d: fee '%s' must return whole cents (an integer >= 0), got %s",
			                     path, f->line, f->owner,
			                     lua_type(L, r1) == LUA_TNUMBER ? lua_tostring(L, r1)
			                                                    : luaL_typename(L, r1));
		out->amount = cents;
		out->ok = true;
		return 0;
	}
	case ENG_FN_COMPUTED:
		out->ok = true;
		if (lua_type(L, r1) == LUA_TBOOLEAN)
			out->value = lua_toboolean(L, r1) ? "yes" : "no";
		else if (lua_type(L, r1) == LUA_TNUMBER || lua_type(L, r1) == LUA_TSTRING)
			out->value = eng_arena_strdup(arena, lua_tostring(L, r1));
		else if (!lua_isnil(L, r1))
			return eng_error_set(err, ENG_EINVALID,
			                     "%s:%d: computed field '%s' must return text, a number or "
			                     "true/false, got %s", path, f->line, f->owner,
			                     luaL_typename(L, r1));
		return 0;
	}
	return 0;
}

struct run_call {
	const struct eng_fn_call *call;
	const struct program *p;
	struct eng_fn_record *out;
	struct eng_arena *arena;
	struct runner *r;
	struct eng_error *err;
	int rc;
};

/* Runs under lua_pcall: builds the inputs (which allocates) and calls the designer function
 * under the sandbox's limits; converts what it returned. */
static int run_protected(lua_State *L)
{
	struct run_call *a = lua_touserdata(L, 1);
	const struct eng_fn_call *call = a->call;
	const struct eng_fn *f = &call->def->fns[call->fn - 1];
	lua_settop(L, 0);
	a->rc = push_functions(a->r, call->def, a->p, a->err);
	if (a->rc < 0)
		return 0;
	int fns = lua_gettop(L);
	lua_newtable(L);
	int reads = lua_gettop(L);
	lua_rawgeti(L, fns, call->fn);
	fresh_env(L, lua_gettop(L));
	int nargs = 2;
	push_form(L, call, reads);
	push_context(L, call);
	if (f->kind == ENG_FN_CHECK) {
		const struct eng_field *field = eng_definition_field(call->def, f->owner);
		if (call->value)
			push_typed(L, field, call->value);
		else
			lua_pushnil(L);
		lua_insert(L, -3); /* check(value, f, ctx) */
		nargs = 3;
	}
	a->rc = dsl__sandbox_pcall(a->r->sb, a->p->path, nargs, 2, CALL_INSTRUCTIONS, CALL_MEMORY,
	                           a->err);
	if (a->rc < 0)
		return 0;
	a->rc = convert(a->out, a->arena, L, f, a->p->path, a->err);
	if (a->rc < 0)
		return 0;
	/* The inputs: the form values the function read, sorted by name. */
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, reads)) {
		n++;
		lua_pop(L, 1);
	}
	struct eng_value *inputs = eng_arena_alloc(a->arena, (n + 1) * sizeof(*inputs));
	size_t k = 0;
	lua_pushnil(L);
	while (lua_next(L, reads)) {
		const char *name = lua_tostring(L, -2);
		const char *v = eng_values_get(call->data, call->n_data, name);
		lua_pop(L, 1);
		if (!v)
			continue;
		size_t i = k++;
		while (i > 0 && strcmp(inputs[i - 1].name, name) > 0) {
			inputs[i] = inputs[i - 1];
			i--;
		}
		inputs[i] = (struct eng_value){ eng_arena_strdup(a->arena, name), eng_arena_strdup(a->arena, v) };
	}
	a->out->inputs = inputs;
	a->out->n_inputs = k;
	return 0;
}

static int host_run(struct eng_fn_record *out, struct eng_arena *arena,
                    const struct eng_fn_call *call, struct eng_error *err, void *payload)
{
	const struct program *p = payload;
	struct runner *r = runner_get(err);
	if (!r)
		return ENG_EINTERNAL;
	memset(out, 0, sizeof(*out));
	out->fn = call->fn;
	struct run_call a = { call, p, out, arena, r, err, 0 };
	lua_State *L = r->sb->L;
	int top = lua_gettop(L);
	lua_pushcfunction(L, run_protected);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		a.rc = eng_error_set(err, ENG_EINTERNAL, "%s: running designer code: %s", p->path,
		                     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "memory");
	}
	lua_settop(L, top);
	return a.rc;
}

void dsl__host_attach(struct eng_definition *def, const char *path, const char *src, size_t len)
{
	struct program *p = eng_arena_alloc(&def->arena, sizeof(*p));
	p->path = eng_arena_strdup(&def->arena, path);
	p->src = eng_arena_strndup(&def->arena, src, len);
	p->len = len;
	p->host.run = host_run;
	p->host.payload = p;
	def->host = &p->host;
}

struct digest {
	EVP_MD_CTX *md;
	bool failed;
};

static int digest_write(lua_State *L, const void *data, size_t n, void *ud)
{
	(void)L;
	struct digest *d = ud;
	if (!EVP_DigestUpdate(d->md, data, n))
		d->failed = true;
	return 0;
}

struct digest_args {
	const char *src;
	size_t len;
	struct digest *d;
};

static int digest_protected(lua_State *L)
{
	struct digest_args *a = lua_touserdata(L, 1);
	if (luaL_loadbufferx(L, a->src, a->len, "=digest", "t") != LUA_OK)
		return lua_error(L);
	lua_dump(L, digest_write, a->d, 1);
	return 0;
}

int dsl__code_digest(struct dsl_sandbox *sb, const char *src, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	struct digest d = { EVP_MD_CTX_new(), false };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int rc = ENG_EINTERNAL;
	struct digest_args a = { src, len, &d };
	int top = lua_gettop(sb->L);
	if (!d.md || !EVP_DigestInit_ex(d.md, EVP_sha256(), NULL))
		goto done;
	lua_pushcfunction(sb->L, digest_protected);
	lua_pushlightuserdata(sb->L, &a);
	if (lua_pcall(sb->L, 1, 0, 0) != LUA_OK || d.failed)
		goto done;
	if (!EVP_DigestFinal_ex(d.md, md, &md_len) || md_len != 32)
		goto done;
	for (unsigned int i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	rc = 0;
done:
	lua_settop(sb->L, top);
	EVP_MD_CTX_free(d.md);
	return rc;
}
