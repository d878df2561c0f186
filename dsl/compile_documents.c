/* The compiler's part for the documents a tràmit issues (issue 6):
 *   documents = { resolucio = template { kind = "resolution", title = t(...), body = t(...) } }
 * Invariant: a definition that compiles has a template for every document its actions name,
 * and every placeholder of every template is one the runtime can fill (engine/core/template.h).
 * Templates are kept sorted by name, so the canonical form does not follow Lua's hash order. */
#include "dsl/compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/core/template.h"

static const char *const template_attrs[] = { "kind", "title", "body", NULL };

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_text(struct dsl__compiler *c, const struct eng_template *tp, const char *key,
                       const struct eng_text *text)
{
	const char *langs[] = { "ca", "es" };
	const char *texts[] = { text->ca, text->es };
	for (int i = 0; i < 2; i++) {
		char msg[224];
		if (texts[i] && eng_template_check(c->def, texts[i], msg, sizeof(msg)) != 0)
			dsl__report(c, tp->line, "document '%.60s': %s.%s: %s", tp->name, key, langs[i], msg);
	}
}

/* The template node at idx, named name. */
static void compile_template(struct dsl__compiler *c, int idx, const char *name,
                             struct eng_template *tp, int line)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	char what[WHAT_SIZE];
	snprintf(what, sizeof(what), "document '%.60s'", name);
	tp->name = eng_arena_strdup(&c->def->arena, name);
	tp->line = line;
	tp->kind = ENG_DOC_OTHER;
	if (!dsl__valid_name(name))
		dsl__report(c, line, "document name '%.60s' must start with a-z and use only a-z, 0-9 and _",
		            name);
	const struct dsl_node *node = dsl__node_check(L, idx);
	if (!node || node->kind != DSL_NODE_TEMPLATE) {
		dsl__report(c, line, "%s must be template { kind = \"...\", title = ..., body = ... }, got %s",
		            what, dsl__describe(L, idx));
		goto done;
	}
	tp->line = node->line;
	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	dsl__check_keys(c, t, template_attrs, false, false, what, tp->line);
	const char *kind = dsl__get_string(c, t, "kind", true, what, tp->line);
	int k = eng_doc_kind_from_name(kind);
	if (kind && k < 0)
		dsl__report(c, tp->line, "%s: kind must be requirement, resolution, certificate, "
		            "silence_certificate, proposal or other, got '%.60s'", what, kind);
	else if (k >= 0)
		tp->kind = (enum eng_doc_kind)k;
	dsl__get_text(c, t, "title", true, what, tp->line, &tp->title);
	dsl__get_text(c, t, "body", true, what, tp->line, &tp->body);
	check_text(c, tp, "title", &tp->title);
	check_text(c, tp, "body", &tp->body);
done:
	lua_settop(L, top);
}

void dsl__compile_documents(struct dsl__compiler *c, int t, const char *what, int line)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	int top = lua_gettop(L);
	const char **names = NULL;
	int type = dsl__get(L, t, "documents");
	int map = lua_gettop(L);
	if (type == LUA_TNIL)
		goto done;
	if (type != LUA_TTABLE || dsl__node_check(L, map)) {
		dsl__report(c, line, "%s: documents must be a table { name = template { ... }, ... }, got %s",
		            what, dsl__describe(L, map));
		goto done;
	}
	/* Names first, sorted, so templates and messages come out in the same order every time. */
	size_t n = 0, cap = 8;
	names = malloc(cap * sizeof(*names));
	if (!names)
		luaL_error(L, "out of memory");
	bool stray = false;
	lua_pushnil(L);
	while (lua_next(L, map)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			stray = true;
			continue;
		}
		if (n == cap) {
			const char **more = realloc(names, 2 * cap * sizeof(*names));
			if (!more) {
				free(names);
				luaL_error(L, "out of memory");
			}
			names = more;
			cap *= 2;
		}
		names[n++] = lua_tostring(L, -1); /* the key stays referenced by the table */
	}
	if (stray)
		dsl__report(c, line, "%s: documents must name each template, as in "
		            "documents = { resolucio = template { ... } }", what);
	qsort(names, n, sizeof(*names), by_name);
	def->templates = n ? eng_arena_alloc(&def->arena, n * sizeof(*def->templates)) : NULL;
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawget(L, map);
		compile_template(c, lua_gettop(L), names[i], &def->templates[def->n_templates++], line);
		lua_pop(L, 1);
	}
done:
	free(names);
	lua_settop(L, top);
}

void dsl__check_documents(struct dsl__compiler *c)
{
	const struct eng_definition *def = c->def;
	for (size_t i = 0; i < def->n_states; i++) {
		const struct eng_state *st = &def->states[i];
		for (size_t j = 0; j < st->n_actions; j++) {
			const struct eng_action *a = &st->actions[j];
			for (size_t k = 0; k < a->n_documents; k++)
				if (a->documents[k] && !eng_definition_template(def, a->documents[k]))
					dsl__report(c, a->line, "action '%.60s' issues document '%.60s', which has no "
					            "template: add documents = { %.60s = template { kind = ..., "
					            "title = ..., body = ... } }", a->name, a->documents[k],
					            a->documents[k]);
		}
	}
}
