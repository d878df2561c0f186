/* The Lua sandbox for designer code: memory capped in the allocator, work counted by a hook
 * (and by dsl/libs.c), each file run in a fresh environment of vetted names. Invariant: designer
 * code never reaches io, os, debug, package, a loader or bytecode; a spent budget stays spent. */
#include "dsl/sandbox.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

/* The base functions designers may use. Everything that reaches metatables, the collector,
 * the loader or raw table writes is left out: those are the doors out of the sandbox. */
static const char *const base_allowed[] = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
	"type", "xpcall", "rawequal", "rawlen", NULL,
};

/* Names a designer may know from plain Lua; they get a clearer refusal than "unknown name". */
static const char *const globals_refused[] = {
	"os", "io", "debug", "package", "require", "load", "loadfile", "dofile", "loadstring",
	"collectgarbage", "setmetatable", "getmetatable", "rawset", "rawget", "print", "coroutine",
	"_G", "module", "setfenv", "getfenv", NULL,
};

enum {
	HOOK_STEP = 1000,
	/* About what copying these bytes costs next to one Lua instruction, rounded down so
	 * that charging errs on the side of stopping. */
	ALLOC_BYTES_PER_UNIT = 16,
};

static struct dsl_sandbox *sandbox_of(lua_State *L)
{
	void *ud = NULL;
	lua_getallocf(L, &ud);
	return ud;
}

/* Frees always succeed and shrinking never counts against the cap, as Lua requires; growth
 * past the cap is refused, which Lua turns into a memory error. The allocator must not touch
 * the Lua stack: it runs in the middle of stack reallocation, where frames are inconsistent. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct dsl_sandbox *sb = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		sb->mem_used -= old;
		return NULL;
	}
	if (nsize > old && nsize - old > sb->mem_limit - sb->mem_used) {
		if (!sb->mem_refused)
			sb->mem_line = sb->line_hint;
		sb->mem_refused = true;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (!p)
		return NULL;
	sb->mem_used = sb->mem_used - old + nsize;
	/* Copying costs time even when it keeps within the cap: s .. "y" on a 7 MB string is one
	 * instruction that copies 7 MB, and the copy is freed again (cpu_concat_copy.lua in
	 * tests/fixtures/attacks). So once designer code runs (the line hook has seen its source),
	 * growth also spends the budget, a unit per ALLOC_BYTES_PER_UNIT bytes; the hook notices
	 * at the next line or count event. Setting up the environment is not the file's doing. */
	if (sb->running && sb->source && nsize > old) {
		uint64_t units = (uint64_t)(nsize - old) / ALLOC_BYTES_PER_UNIT;
		sb->spent = units > UINT64_MAX - sb->spent ? UINT64_MAX : sb->spent + units;
	}
	return p;
}

int dsl__sandbox_designer_line(lua_State *L, int level)
{
	struct dsl_sandbox *sb = sandbox_of(L);
	lua_Debug ar;
	if (!sb->chunkname)
		return 0;
	for (; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar))
			continue;
		if (ar.currentline > 0 && strcmp(ar.source, sb->chunkname) == 0)
			return ar.currentline;
	}
	return 0;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar);

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stops the run for reason: from now on the hook raises on every instruction, so a pcall in
 * designer code only catches the error to meet it again at the next one. */
static void trip(lua_State *L, struct dsl_sandbox *sb, enum dsl_trip reason, int line)
{
	if (sb->trip == DSL_TRIP_NONE) {
		sb->trip = reason;
		sb->trip_line = line;
	}
	lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
}

static int raise_trip(lua_State *L, const struct dsl_sandbox *sb)
{
	if (sb->trip == DSL_TRIP_CPU)
		lua_pushfstring(L, "CPU time limit of %d ms exceeded", (int)DSL_CPU_LIMIT_MS);
	else
		lua_pushliteral(L, "instruction budget exceeded (infinite loop?)");
	return lua_error(L);
}

/* Line events note the designer's line, for the allocator to quote when it refuses: memory
 * errors raised inside Lua's core skip message handlers, and the allocator itself must not
 * read the stack. A tràmit file runs a few thousand lines, so the cost does not show.
 * Count events spend the budget in steps and watch the CPU-time backstop. */
static void sandbox_hook(lua_State *L, lua_Debug *ar)
{
	struct dsl_sandbox *sb = sandbox_of(L);
	if (ar->event == LUA_HOOKLINE) {
		/* A loop on one line sends that line again and again; whatever function it comes
		 * from, the hint would not change, so the lookup (most of the hook's cost) is skipped. */
		if (ar->currentline != sb->line_hint && lua_getinfo(L, "S", ar)) {
			/* Every function of one chunk shares its source string, so after one strcmp a
			 * pointer comparison recognises the designer's file. */
			if (!sb->source && sb->chunkname && strcmp(ar->source, sb->chunkname) == 0)
				sb->source = ar->source;
			if (ar->source == sb->source)
				sb->line_hint = ar->currentline;
		}
		/* Allocations and library calls spend the budget between count events; a line event
		 * comes at least once per loop iteration, so the budget stops such a loop without
		 * waiting for a thousand more (costly) instructions. */
		if (sb->trip == DSL_TRIP_NONE && sb->spent < sb->budget)
			return;
		if (sb->trip == DSL_TRIP_NONE)
			trip(L, sb, DSL_TRIP_BUDGET, dsl__sandbox_designer_line(L, 0));
		raise_trip(L, sb);
	}
	if (sb->trip == DSL_TRIP_NONE) {
		sb->spent += (uint64_t)sb->hook_step;
		if (sb->spent >= sb->budget)
			trip(L, sb, DSL_TRIP_BUDGET, dsl__sandbox_designer_line(L, 0));
		else if (cpu_now_ns() >= sb->cpu_deadline_ns)
			trip(L, sb, DSL_TRIP_CPU, dsl__sandbox_designer_line(L, 0));
		else
			return;
	}
	raise_trip(L, sb);
}

void dsl__sandbox_charge(lua_State *L, uint64_t cost)
{
	struct dsl_sandbox *sb = sandbox_of(L);
	if (!sb->running)
		return;
	sb->spent = cost > UINT64_MAX - sb->spent ? UINT64_MAX : sb->spent + cost;
	if (sb->spent >= sb->budget && sb->trip == DSL_TRIP_NONE)
		trip(L, sb, DSL_TRIP_BUDGET, dsl__sandbox_designer_line(L, 1));
	if (sb->trip != DSL_TRIP_NONE)
		raise_trip(L, sb);
}

/* tonumber(s) converts the whole string in C: one call, 8 MB of digits (cpu_tonumber.lua in
 * tests/fixtures/attacks). Upvalue 1 is the original tonumber. */
static int charged_tonumber(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TSTRING)
		dsl__sandbox_charge(L, lua_rawlen(L, 1));
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* The message handler xpcall installs in place of the designer's (upvalue 1). When the hook
 * raises a spent budget or the CPU backstop, Lua calls message handlers with hooks still
 * switched off (luaD_hook re-enables them only when the hook returns), so a designer handler
 * that loops would run forever, seen by neither budget nor backstop (loop_xpcall_handler.lua
 * in tests/fixtures/attacks). Such errors pass on as they are; others, raised with hooks on,
 * go to the designer's handler, which runs under the budget like any code. */
static int guarded_msgh(lua_State *L)
{
	if (sandbox_of(L)->trip != DSL_TRIP_NONE)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* xpcall(f, msgh, ...) with msgh behind guarded_msgh. Upvalue 1 is the original xpcall, which
 * keeps its own argument checks and messages. */
static int guarded_xpcall(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TFUNCTION) {
		lua_pushvalue(L, 2);
		lua_pushcclosure(L, guarded_msgh, 1);
		lua_replace(L, 2);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* __index of every environment: reading a name that is not there is always a mistake. */
static int env_index(lua_State *L)
{
	if (lua_type(L, 2) != LUA_TSTRING) {
		lua_pushnil(L);
		return 1;
	}
	const char *name = lua_tostring(L, 2);
	for (size_t i = 0; globals_refused[i]; i++)
		if (strcmp(name, globals_refused[i]) == 0)
			return luaL_error(L, "'%s' is not available in tràmit files", name);
	return luaL_error(L, "unknown name '%s'", name);
}

/* Builds what every run copies from: the vetted base functions, one metatable per library,
 * the environment metatable, the primitives and the compiled prelude. Runs protected. */
static int sandbox_setup(lua_State *L)
{
	struct dsl_sandbox *sb = lua_touserdata(L, 1);

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	lua_pop(L, 5);

	/* The prelude is trusted, but it has no use for a loader either. */
	static const char *const prelude_refused[] = { "load", "loadfile", "dofile", NULL };
	for (size_t i = 0; prelude_refused[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, prelude_refused[i]);
	}

	lua_newtable(L);
	for (size_t i = 0; base_allowed[i]; i++) {
		lua_getglobal(L, base_allowed[i]);
		if (strcmp(base_allowed[i], "tonumber") == 0)
			lua_pushcclosure(L, charged_tonumber, 1);
		else if (strcmp(base_allowed[i], "xpcall") == 0)
			lua_pushcclosure(L, guarded_xpcall, 1);
		lua_setfield(L, -2, base_allowed[i]);
	}
	sb->base_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	dsl__libs_push(L);
	sb->libs_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	lua_newtable(L);
	lua_pushcfunction(L, env_index);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	sb->env_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	dsl__prim_push(L);
	sb->prim_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	lua_newtable(L);
	for (int i = 0; dsl_prelude_files[i].name; i++) {
		const struct embedded_file *f = &dsl_prelude_files[i];
		lua_pushfstring(L, "@dsl/%s", f->name);
		if (luaL_loadbufferx(L, f->data, f->len, lua_tostring(L, -1), "t") != LUA_OK)
			return lua_error(L);
		lua_rawseti(L, -3, i + 1);
		lua_pop(L, 1);
	}
	sb->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int dsl__sandbox_open(struct dsl_sandbox **out, const struct dsl_limits *limits,
                      struct eng_error *err)
{
	int rc = ENG_EINTERNAL;
	struct dsl_sandbox *sb = calloc(1, sizeof(*sb));
	*out = NULL;
	if (!sb) {
		eng_error_set(err, rc, "out of memory opening the Lua sandbox");
		goto done;
	}
	sb->mem_limit = limits && limits->memory_bytes ? limits->memory_bytes : DSL_DEFAULT_MEMORY;
	sb->budget = limits && limits->instructions ? limits->instructions : DSL_DEFAULT_INSTRUCTIONS;
	sb->hook_step = sb->budget < HOOK_STEP ? (int)sb->budget : HOOK_STEP;
	sb->L = lua_newstate(sandbox_alloc, sb);
	if (!sb->L) {
		rc = eng_error_set(err, ENG_EINVALID, "memory limit of %zu bytes is too small for Lua",
		                   sb->mem_limit);
		goto done;
	}
	lua_pushcfunction(sb->L, sandbox_setup);
	lua_pushlightuserdata(sb->L, sb);
	if (lua_pcall(sb->L, 1, 0, 0) != LUA_OK) {
		rc = eng_error_set(err, sb->mem_refused ? ENG_EINVALID : ENG_EINTERNAL,
		                   "cannot start the Lua sandbox: %s", lua_tostring(sb->L, -1));
		goto done;
	}
	*out = sb;
	sb = NULL;
	rc = 0;
done:
	dsl__sandbox_close(sb);
	return rc;
}

void dsl__sandbox_close(struct dsl_sandbox *sb)
{
	if (!sb)
		return;
	if (sb->L)
		lua_close(sb->L);
	free(sb->chunkname);
	free(sb);
}

/* Splits "where:line: text" when `where` is path or Lua's shortened form of it ("...tail"),
 * as in luaO_chunkid. Returns the line, or 0 when msg does not start with a position. */
static int message_position(const char *msg, const char *path, const char **rest)
{
	size_t plen = strlen(path);
	for (const char *p = strchr(msg, ':'); p; p = strchr(p + 1, ':')) {
		size_t wlen = (size_t)(p - msg);
		bool same = wlen == plen && strncmp(msg, path, plen) == 0;
		bool shortened = wlen > 3 && strncmp(msg, "...", 3) == 0 && wlen - 3 <= plen &&
		                 strncmp(msg + 3, path + plen - (wlen - 3), wlen - 3) == 0;
		if (!same && !shortened)
			continue;
		const char *q = p + 1;
		long line = 0;
		while (*q >= '0' && *q <= '9' && line < 100000000)
			line = line * 10 + (*q++ - '0');
		if (q == p + 1 || q[0] != ':' || q[1] != ' ')
			continue;
		*rest = q + 2;
		return (int)line;
	}
	*rest = msg;
	return 0;
}

/* Replaces the message on top of the stack by a copy with control characters turned into
 * spaces, when it has any. Messages are printed as one line of a log or a terminal: designer
 * text with a newline or an escape sequence would forge log lines or take over the operator's
 * terminal (log_forged_lines.lua in tests/fixtures/attacks). May raise (memory). */
static void one_line(lua_State *L)
{
	size_t len, i = 0;
	const char *s = lua_tolstring(L, -1, &len);
	while (i < len && (unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
		i++;
	if (i == len)
		return;
	luaL_Buffer b;
	int msg = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (i = 0; i < len; i++)
		luaL_addchar(&b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
	luaL_pushresult(&b);
	lua_replace(L, msg);
}

/* Gives every error the designer's position: error values that are not strings become a
 * message, and errors raised by library functions called from C (the charged wrappers of
 * dsl/libs.c) carry no position of their own. */
static int run_msgh(lua_State *L)
{
	struct dsl_sandbox *sb = sandbox_of(L);
	const char *path = sb->chunkname + 1, *rest;
	int line = dsl__sandbox_designer_line(L, 1);
	if (lua_type(L, 1) != LUA_TSTRING) {
		const char *type = luaL_typename(L, 1);
		if (line > 0)
			lua_pushfstring(L, "%s:%d: error raised with a %s value instead of a message", path,
			                line, type);
		else
			lua_pushfstring(L, "error raised with a %s value instead of a message", type);
		return 1;
	}
	const char *msg = lua_tostring(L, 1);
	if (line > 0 && message_position(msg, path, &rest) == 0)
		lua_pushfstring(L, "%s:%d: %s", path, line, msg);
	one_line(L);
	return 1;
}

struct run_args {
	const char *src;
	size_t len;
};

/* Loads the file, builds its environment, installs the DSL and runs the file; returns the
 * list of tramit nodes. Every failure, designer's or ours, leaves as a Lua error. */
static int run_protected(lua_State *L)
{
	struct dsl_sandbox *sb = sandbox_of(L);
	const struct run_args *a = lua_touserdata(L, 1);

	if (luaL_loadbufferx(L, a->src, a->len, sb->chunkname, "t") != LUA_OK)
		return lua_error(L);
	int chunk = lua_gettop(L);

	/* A fresh environment per file: copies, so a file that rewrites string.format or
	 * table.insert changes nothing for the next one. */
	lua_newtable(L);
	int env = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->base_ref);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, env);
	}
	lua_pop(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->libs_ref);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		int lib = lua_gettop(L);
		lua_newtable(L);
		lua_pushnil(L);
		while (lua_next(L, lib)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_rawset(L, lib + 1);
		}
		lua_getmetatable(L, lib);
		lua_setmetatable(L, lib + 1);
		lua_pushvalue(L, lib - 1);
		lua_insert(L, -2);
		lua_rawset(L, env);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	lua_newtable(L);
	int tramits = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->prelude_ref);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TFUNCTION; i++) {
		lua_pushvalue(L, env);
		lua_rawgeti(L, LUA_REGISTRYINDEX, sb->prim_ref);
		lua_pushvalue(L, tramits);
		lua_call(L, 3, 0);
	}
	lua_pop(L, 2);

	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->env_meta_ref);
	lua_setmetatable(L, env);
	lua_pushvalue(L, env);
	if (!lua_setupvalue(L, chunk, 1))
		lua_pop(L, 1); /* a chunk always has _ENV as upvalue 1; keep the stack right anyway */
	lua_pushvalue(L, chunk);
	lua_call(L, 0, 0);
	lua_pushvalue(L, tramits);
	return 1;
}

void dsl__format_size(char *buf, size_t size, size_t bytes)
{
	if (bytes % (1u << 20) == 0)
		snprintf(buf, size, "%zu MiB", bytes >> 20);
	else if (bytes % (1u << 10) == 0)
		snprintf(buf, size, "%zu KiB", bytes >> 10);
	else
		snprintf(buf, size, "%zu bytes", bytes);
}

int dsl__sandbox_run(struct dsl_sandbox *sb, const char *path, const char *src, size_t len,
                     struct dsl_diags *diags)
{
	lua_State *L = sb->L;
	struct run_args args = { src, len };
	int rc = ENG_EINVALID;
	int top = lua_gettop(L);

	sb->spent = 0;
	sb->trip = DSL_TRIP_NONE;
	sb->trip_line = 0;
	sb->mem_refused = false;
	sb->mem_line = 0;
	sb->line_hint = 0;
	sb->source = NULL;
	free(sb->chunkname);
	sb->chunkname = malloc(strlen(path) + 2);
	if (!sb->chunkname) {
		dsl__diag_add(diags, path, 0, "out of memory");
		rc = ENG_EINTERNAL;
		goto done;
	}
	sb->chunkname[0] = '@';
	strcpy(sb->chunkname + 1, path);

	/* Lua would refuse it in text mode too, but with a message that names no file. */
	if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
		dsl__diag_add(diags, path, 0, "binary chunks are not accepted; tràmit files are Lua text");
		goto done;
	}

	lua_sethook(L, sandbox_hook, LUA_MASKCOUNT | LUA_MASKLINE, sb->hook_step);
	sb->cpu_deadline_ns = cpu_now_ns() + (uint64_t)DSL_CPU_LIMIT_MS * 1000000u;
	sb->running = true;
	lua_pushcfunction(L, run_msgh);
	lua_pushcfunction(L, run_protected);
	lua_pushlightuserdata(L, &args);
	int status = lua_pcall(L, 1, 1, top + 1);
	sb->running = false;
	lua_sethook(L, NULL, 0, 0);
	if (status == LUA_OK) {
		lua_remove(L, top + 1);
		rc = 0;
		goto done;
	}

	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
	const char *rest;
	int line = message_position(msg, path, &rest);
	if (sb->trip == DSL_TRIP_BUDGET) {
		dsl__diag_add(diags, path, sb->trip_line, "instruction budget exceeded (infinite loop?)");
	} else if (sb->trip == DSL_TRIP_CPU) {
		dsl__diag_add(diags, path, sb->trip_line, "CPU time limit of %d ms exceeded",
		              (int)DSL_CPU_LIMIT_MS);
	} else if (status == LUA_ERRMEM ||
	           (sb->mem_refused && strcmp(rest, "not enough memory") == 0)) {
		char size[32];
		dsl__format_size(size, sizeof(size), sb->mem_limit);
		dsl__diag_add(diags, path, sb->mem_line, "memory limit of %s exceeded", size);
	} else {
		dsl__diag_add(diags, path, line, "%s", rest);
	}
	lua_settop(L, top);
done:
	return rc;
}

/* Designer functions of a loaded definition run here, one call at a time, each with its own
 * budget and memory allowance; the state and what it holds persist between calls. */
int dsl__sandbox_pcall(struct dsl_sandbox *sb, const char *path, int nargs, int nresults,
                       uint64_t budget, size_t memory, struct eng_error *err)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs; /* the function's slot */
	size_t limit = sb->mem_limit;
	uint64_t saved_budget = sb->budget;
	char *chunkname = malloc(strlen(path) + 2);
	if (!chunkname) {
		lua_settop(L, base - 1);
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	}
	chunkname[0] = '@';
	strcpy(chunkname + 1, path);
	free(sb->chunkname);
	sb->chunkname = chunkname;
	sb->spent = 0;
	sb->budget = budget;
	sb->trip = DSL_TRIP_NONE;
	sb->trip_line = 0;
	sb->mem_refused = false;
	sb->mem_line = 0;
	sb->line_hint = 0;
	sb->source = NULL;
	if (memory < limit - sb->mem_used)
		sb->mem_limit = sb->mem_used + memory;

	lua_sethook(L, sandbox_hook, LUA_MASKCOUNT | LUA_MASKLINE, sb->hook_step);
	sb->cpu_deadline_ns = cpu_now_ns() + (uint64_t)DSL_CPU_LIMIT_MS * 1000000u;
	sb->running = true;
	lua_pushcfunction(L, run_msgh);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nresults, base);
	sb->running = false;
	lua_sethook(L, NULL, 0, 0);
	sb->mem_limit = limit;
	sb->budget = saved_budget;
	if (status == LUA_OK) {
		lua_remove(L, base);
		return 0;
	}
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
	const char *rest;
	int line = message_position(msg, path, &rest);
	char size[32];
	if (sb->trip == DSL_TRIP_BUDGET) {
		eng_error_set(err, ENG_EINVALID, "%s:%d: instruction budget exceeded (infinite loop?)",
		              path, sb->trip_line);
	} else if (sb->trip == DSL_TRIP_CPU) {
		eng_error_set(err, ENG_EINVALID, "%s:%d: CPU time limit of %d ms exceeded", path,
		              sb->trip_line, (int)DSL_CPU_LIMIT_MS);
	} else if (status == LUA_ERRMEM || (sb->mem_refused && strcmp(rest, "not enough memory") == 0)) {
		dsl__format_size(size, sizeof(size), memory);
		eng_error_set(err, ENG_EINVALID, "%s:%d: memory limit of %s exceeded", path, sb->mem_line,
		              size);
	} else {
		eng_error_set(err, ENG_EINVALID, "%s:%d: %s", path, line, rest);
	}
	lua_settop(L, base - 1);
	return ENG_EINVALID;
}
