/* The primitives behind the DSL prelude: opaque nodes, the designer's current line, and errors
 * raised at that line. Invariant: a node's kind and line are set once, here, and designer code
 * cannot read, change or forge a node (it is userdata with a locked metatable). */
#include "dsl/sandbox.h"

#include <string.h>

#include <lauxlib.h>

static const char *const kind_names[] = {
	[DSL_NODE_TRAMIT] = "tramit",       [DSL_NODE_SECTION] = "section",
	[DSL_NODE_FIELD] = "field",         [DSL_NODE_OPTION] = "option",
	[DSL_NODE_STATE] = "state",         [DSL_NODE_ACTION] = "action",
	[DSL_NODE_ROLE] = "role",           [DSL_NODE_APPLICANT] = "applicant",
	[DSL_NODE_DURATION] = "duration",   [DSL_NODE_GROUP] = "group",
	[DSL_NODE_FEE] = "fee",             [DSL_NODE_TARIFF] = "tariff",
	[DSL_NODE_NOTIFY] = "notify",       [DSL_NODE_SYSTEM] = "system",
	[DSL_NODE_REPRESENTATIVE] = "representative",
	[DSL_NODE_SCENARIO] = "scenario",   [DSL_NODE_STEP] = "step",
	[DSL_NODE_TEMPLATE] = "template",
};

const char *dsl__node_kind_name(enum dsl_node_kind kind)
{
	return kind_names[kind];
}

struct dsl_node *dsl__node_check(lua_State *L, int idx)
{
	return luaL_testudata(L, idx, DSL_NODE_META);
}

/* prim.node(kind, name, line, attrs, extra) -> node [-5, +1].
 * name: string or nil; attrs: table or nil; extra: the field type name for fields, the number
 * in the unit named by `name` for durations. Called only by the trusted prelude, so misuse is a bug (luaL_arg*). */
static int prim_node(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1);
	int k = -1;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(kind, kind_names[i]) == 0)
			k = (int)i;
	luaL_argcheck(L, k >= 0, 1, "unknown node kind");
	lua_Integer number = 0;
	if (k == DSL_NODE_FIELD) {
		number = eng_field_type_from_name(luaL_checkstring(L, 5));
		luaL_argcheck(L, number >= 0, 5, "unknown field type");
	} else if (k == DSL_NODE_DURATION) {
		number = luaL_checkinteger(L, 5);
	}
	struct dsl_node *n = lua_newuserdatauv(L, sizeof(*n), 2);
	n->kind = (enum dsl_node_kind)k;
	n->line = (int)luaL_optinteger(L, 3, 0);
	n->number = number;
	luaL_setmetatable(L, DSL_NODE_META);
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, -2, 1);
	lua_pushvalue(L, 4);
	lua_setiuservalue(L, -2, 2);
	return 1;
}

/* prim.line() -> integer [-0, +1]: the line in the designer's file that led here. */
static int prim_line(lua_State *L)
{
	lua_pushinteger(L, dsl__sandbox_designer_line(L, 1));
	return 1;
}

/* prim.fail(message) [-1, +0]: raises message at the designer's current line, however deep in
 * the prelude the check sits; never returns. */
static int prim_fail(lua_State *L)
{
	const char *msg = luaL_checkstring(L, 1);
	void *ud = NULL;
	lua_getallocf(L, &ud);
	const struct dsl_sandbox *sb = ud;
	int line = dsl__sandbox_designer_line(L, 1);
	if (line > 0 && sb->chunkname)
		lua_pushfstring(L, "%s:%d: %s", sb->chunkname + 1, line, msg);
	else
		lua_pushstring(L, msg);
	return lua_error(L);
}

static const luaL_Reg prim_funcs[] = {
	{ "node", prim_node },
	{ "line", prim_line },
	{ "fail", prim_fail },
	{ NULL, NULL },
};

void dsl__prim_push(lua_State *L)
{
	/* Lua adds " value": type errors then read "attempt to index a DSL value". */
	luaL_newmetatable(L, DSL_NODE_META);
	lua_pushliteral(L, "DSL");
	lua_setfield(L, -2, "__name");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);

	luaL_newlib(L, prim_funcs);
	lua_newtable(L);
	for (int t = ENG_FIELD_TEXT; t < ENG_FIELD__COUNT; t++) {
		lua_pushstring(L, eng_field_type_name((enum eng_field_type)t));
		lua_rawseti(L, -2, t + 1);
	}
	lua_setfield(L, -2, "field_types");
}
