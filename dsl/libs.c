/* The standard libraries as designers see them: trimmed copies, with the functions whose work
 * grows with their arguments charged to the run's budget. Invariant: no designer-reachable
 * function runs an unbounded C loop without paying for it first. */
#include "dsl/sandbox.h"

#include <string.h>

#include <lauxlib.h>

/* Members left out: dump hands out bytecode, random breaks replay (DESIGN.md section 1), and
 * Lua patterns backtrack inside one C call that no hook can stop: string.find(("a"):rep(30),
 * ("a?"):rep(30) .. ("a"):rep(30) .. "b") runs for hours. They can come back with a matcher that
 * charges its steps; until then string.find searches plain text only. */
static const struct {
	const char *name;
	const char *const refused[5];
} libs[] = {
	{ "string", { "dump", "match", "gmatch", "gsub", NULL } },
	{ "table", { NULL } },
	{ "math", { "random", "randomseed", NULL } },
	{ "utf8", { NULL } },
};

/* How a wrapped function's work is measured from its arguments. */
enum cost {
	COST_LENGTH,   /* length of argument 1, string or table */
	COST_REP,      /* string.rep: a KiB of result is one unit, which leaves big results to the
	                * memory cap; an empty piece costs each repetition, because
	                * string.rep("", 1e15) allocates nothing and would loop for days */
	COST_RANGE,    /* arguments 2 to 3: table.move's source range */
	COST_SORT,     /* n log n comparisons of argument 1 */
	COST_FIND,     /* length of argument 1; only plain searches (argument 4 true) are allowed */
	COST_UNPACK,   /* table.unpack: the range i..j it pushes, which defaults to 1..#t */
	COST_STRINGS,  /* length of arguments 1 and 2 that are strings: a pack format and the data
	                * string.unpack reads, or the operands of string arithmetic */
};

static const struct {
	const char *lib, *name;
	enum cost cost;
} charged[] = {
	{ "string", "rep", COST_REP },        { "string", "find", COST_FIND },
	{ "string", "byte", COST_LENGTH },    { "string", "upper", COST_LENGTH },
	{ "string", "lower", COST_LENGTH },   { "string", "reverse", COST_LENGTH },
	{ "table", "insert", COST_LENGTH },   { "table", "remove", COST_LENGTH },
	{ "table", "concat", COST_LENGTH },   { "table", "unpack", COST_UNPACK },
	{ "table", "move", COST_RANGE },      { "table", "sort", COST_SORT },
	{ "utf8", "len", COST_LENGTH },       { "utf8", "codepoint", COST_LENGTH },
	/* Added after tests/fixtures/attacks: each of these walks its whole argument in one call
	 * (a 3 MB pack format, an 8 MB string for utf8.offset) and ran uncharged in a loop until
	 * the CPU backstop, seconds later. */
	{ "string", "pack", COST_STRINGS },   { "string", "packsize", COST_STRINGS },
	{ "string", "unpack", COST_STRINGS }, { "string", "format", COST_LENGTH },
	{ "utf8", "offset", COST_LENGTH },
};

/* The string metatable's arithmetic metamethods convert string operands to numbers ("10" + 1):
 * one instruction, and a conversion as long as the string (cpu_string_arithmetic.lua). */
static const char *const string_arith[] = {
	"__add", "__sub", "__mul", "__div", "__mod", "__pow", "__unm", "__idiv", NULL,
};

static uint64_t span_cost(lua_Integer f, lua_Integer e)
{
	if (e < f)
		return 0;
	uint64_t d = (uint64_t)e - (uint64_t)f;
	return d == UINT64_MAX ? d : d + 1;
}

static uint64_t range_cost(lua_State *L, int first, int last)
{
	lua_Integer f = lua_tointeger(L, first), e = lua_tointeger(L, last);
	return span_cost(f, e);
}

static uint64_t string_len(lua_State *L, int idx)
{
	return lua_type(L, idx) == LUA_TSTRING ? (uint64_t)lua_rawlen(L, idx) : 0;
}

/* A plain search (lmemfind) looks for the needle's first byte with memchr and, at each place
 * it is found, compares the rest: up to (text - needle + 1) * (needle - 1) bytes, 4e12 for a
 * 2 MB needle in a 4 MB text, in one C call no hook can stop. Charge that worst case, a unit
 * per 64 bytes compared, on top of the scan itself. */
static uint64_t find_cost(lua_State *L)
{
	uint64_t text = string_len(L, 1), needle = string_len(L, 2);
	if (needle <= 1 || text < needle)
		return text;
	uint64_t places = text - needle + 1, rest = needle - 1;
	if (rest > UINT64_MAX / 64 / places)
		return UINT64_MAX;
	return text + places * rest / 64;
}

/* Upvalue 1 is the original function, upvalue 2 its enum cost. Arguments of the wrong type
 * cost nothing here: the original then refuses them with its usual message. The original is
 * called from C, so its errors carry no position; the run's message handler adds the
 * designer's line. */
static int charged_call(lua_State *L)
{
	uint64_t cost = 0;
	switch ((enum cost)lua_tointeger(L, lua_upvalueindex(2))) {
	case COST_FIND:
		if (!lua_toboolean(L, 4))
			return luaL_error(L, "string.find searches plain text only in tràmit files: "
			                     "string.find(s, text, 1, true)");
		cost = find_cost(L);
		break;
	case COST_LENGTH:
		if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TTABLE)
			cost = lua_rawlen(L, 1);
		break;
	case COST_REP: {
		lua_Number n = lua_type(L, 2) == LUA_TNUMBER ? lua_tonumber(L, 2) : 0;
		lua_Number piece = (lua_type(L, 1) == LUA_TSTRING ? (lua_Number)lua_rawlen(L, 1) : 0) +
		                   (lua_type(L, 3) == LUA_TSTRING ? (lua_Number)lua_rawlen(L, 3) : 0);
		lua_Number units = piece > 0 ? n * piece / 1024 : n;
		cost = !(units > 0) ? 0 : units >= 1e18 ? UINT64_C(1000000000000000000) : (uint64_t)units;
		break;
	}
	case COST_RANGE:
		cost = range_cost(L, 2, 3);
		break;
	case COST_UNPACK: {
		/* table.unpack({}, 1, 2e5) pushes 200,000 values from an empty table. */
		int given;
		lua_Integer i = lua_tointegerx(L, 2, &given);
		if (!given)
			i = 1;
		lua_Integer j = lua_tointegerx(L, 3, &given);
		if (!given)
			j = lua_type(L, 1) == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, 1) : 0;
		cost = span_cost(i, j);
		break;
	}
	case COST_STRINGS:
		cost = string_len(L, 1) + string_len(L, 2);
		break;
	case COST_SORT:
		if (lua_type(L, 1) == LUA_TTABLE) {
			uint64_t n = lua_rawlen(L, 1), log = 1;
			while ((1ull << log) < n && log < 63)
				log++;
			cost = n * log;
		}
		break;
	}
	dsl__sandbox_charge(L, cost);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* __index of each designer library; upvalue 1 is the library name, upvalue 2 the refused set.
 * Other missing members read as nil, as in plain Lua. */
static int lib_index(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING) {
		lua_pushvalue(L, 2);
		if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
			return luaL_error(L, "'%s.%s' is not available in tràmit files",
			                  lua_tostring(L, lua_upvalueindex(1)), lua_tostring(L, 2));
	}
	lua_pushnil(L);
	return 1;
}

void dsl__libs_push(lua_State *L)
{
	lua_newtable(L);
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		lua_newtable(L);
		int lib = lua_gettop(L);
		lua_getglobal(L, libs[i].name);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			bool refused = false;
			for (size_t j = 0; libs[i].refused[j]; j++)
				refused |= strcmp(lua_tostring(L, -2), libs[i].refused[j]) == 0;
			if (refused) {
				lua_pop(L, 1);
				continue;
			}
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_rawset(L, lib);
		}
		lua_pop(L, 1);
		for (size_t j = 0; j < sizeof(charged) / sizeof(charged[0]); j++) {
			if (strcmp(charged[j].lib, libs[i].name) != 0)
				continue;
			lua_getfield(L, lib, charged[j].name);
			lua_pushinteger(L, charged[j].cost);
			lua_pushcclosure(L, charged_call, 2);
			lua_setfield(L, lib, charged[j].name);
		}

		lua_newtable(L); /* metatable */
		lua_pushstring(L, libs[i].name);
		lua_newtable(L);
		for (size_t j = 0; libs[i].refused[j]; j++) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, libs[i].refused[j]);
		}
		lua_pushcclosure(L, lib_index, 2);
		lua_setfield(L, -2, "__index");
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_setmetatable(L, lib);

		/* Method calls on strings look up this table, never the real one. */
		if (strcmp(libs[i].name, "string") == 0) {
			lua_pushliteral(L, "");
			lua_getmetatable(L, -1);
			lua_pushvalue(L, lib);
			lua_setfield(L, -2, "__index");
			for (size_t j = 0; string_arith[j]; j++) {
				if (lua_getfield(L, -1, string_arith[j]) != LUA_TFUNCTION) {
					lua_pop(L, 1);
					continue;
				}
				lua_pushinteger(L, COST_STRINGS);
				lua_pushcclosure(L, charged_call, 2);
				lua_setfield(L, -2, string_arith[j]);
			}
			lua_pop(L, 2);
		}
		lua_setfield(L, -2, libs[i].name);
	}
}
