/* Internals of the compiler (dsl/compile.c and dsl/compile_flow.c): the state of one
 * compilation and the helpers that read attribute tables and report problems at their line.
 * Invariant: helpers never raise for designer mistakes; they report and carry on. */
#ifndef DSL_COMPILER_H
#define DSL_COMPILER_H

#include "dsl/sandbox.h"

enum { WHAT_SIZE = 112 };

struct dsl__compiler {
	lua_State *L;
	struct eng_definition *def;
	struct dsl_diags *diags;
	const char *path;
	size_t n_reported;
	int seen_sections, seen_fields, seen_states; /* stack slots: tables name -> first line */
	int fn_table;     /* stack slot of the table collecting functions by id, 0 = not kept */
	size_t fns_cap;
	size_t text_bytes, text_limit; /* texts copied into the definition, and their cap */
};

extern const char *const dsl__no_attrs[];

void dsl__report(struct dsl__compiler *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool dsl__in_list(const char *const *list, const char *s);
/* What a value is, in the words of the "got ..." part of messages. */
const char *dsl__describe(lua_State *L, int idx);
/* Names of fields, states, actions, roles, templates: a-z first, then a-z, 0-9 and _. */
bool dsl__valid_name(const char *s);
const char *dsl__copy_string(struct dsl__compiler *c, int idx, const char *what, const char *key,
                             int line);
void dsl__check_keys(struct dsl__compiler *c, int t, const char *const *allowed, bool children,
                     bool langs, const char *what, int line);
/* Pushes t[key] without metamethods and returns its type [-0, +1]. */
int dsl__get(lua_State *L, int t, const char *key);
const char *dsl__get_string(struct dsl__compiler *c, int t, const char *key, bool required,
                            const char *what, int line);
bool dsl__get_bool(struct dsl__compiler *c, int t, const char *key, const char *what, int line);
bool dsl__get_int(struct dsl__compiler *c, int t, const char *key, const char *what, int line,
                  int64_t *out);
void dsl__check_text(struct dsl__compiler *c, int idx, bool required, const char *what,
                     const char *name, int line, struct eng_text *out);
void dsl__get_text(struct dsl__compiler *c, int t, const char *key, bool required,
                   const char *what, int line, struct eng_text *out);
int dsl__seen_before(lua_State *L, int seen, const char *name, int line);
void dsl__push_attrs(lua_State *L, int idx);
const char *dsl__node_name(struct dsl__compiler *c, int idx);
const struct dsl_node *dsl__expect_node(struct dsl__compiler *c, int idx, enum dsl_node_kind kind,
                                        const char *what, lua_Integer pos, const char *example,
                                        int line);
bool dsl__expect_list(struct dsl__compiler *c, int idx, const char *what, const char *key,
                      int line, const char *example);

/* Registers the Lua function at idx as a definition function of kind; returns its id (from 1),
 * keeping the function in the table at c->fn_table when there is one. */
int dsl__fn_add(struct dsl__compiler *c, int idx, enum eng_fn_kind kind, const char *owner);
/* Reads a duration node at idx into out; reports and returns false otherwise. */
bool dsl__duration(struct dsl__compiler *c, int idx, const char *what, const char *key, int line,
                   struct eng_duration *out);
/* A string or a list of strings (names) at t[key], copied into the arena. */
const char *const *dsl__get_names(struct dsl__compiler *c, int t, const char *key,
                                  const char *what, int line, size_t *n_out);

/* compile_flow.c: what compile.c hands over for the constructs of states and actions. */
void dsl__compile_action_flow(struct dsl__compiler *c, int t, struct eng_action *a,
                              const char *what);
void dsl__compile_state_flow(struct dsl__compiler *c, int t, struct eng_state *st,
                             const char *what);
void dsl__compile_fees(struct dsl__compiler *c, int t, const char *what, int line);
/* Rules across states and actions added by the flow constructs (targets, on tables, fees). */
void dsl__check_flow(struct dsl__compiler *c);

/* compile_documents.c (issue 6): documents = { name = template { ... } }, and every document
 * an action or signature names must have its template. */
void dsl__compile_documents(struct dsl__compiler *c, int t, const char *what, int line);
void dsl__check_documents(struct dsl__compiler *c);

#endif
