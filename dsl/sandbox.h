/* Internals shared by the files of dsl/: the Lua sandbox, the opaque nodes the DSL constructors
 * build, and the diagnostics list. Not installed; only dsl/ and its tests include it.
 * Invariant: designer code only ever runs through dsl__sandbox_run, under both limits. */
#ifndef DSL_SANDBOX_H
#define DSL_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "dsl/dsl.h"

/* The CPU-time backstop behind the instruction budget. Sanitizer builds run Lua several
 * times slower, so the budget would no longer trip first: they get a longer backstop. */
#if defined(__SANITIZE_ADDRESS__)
#define DSL__CPU_LIMIT_MS 4000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DSL__CPU_LIMIT_MS 4000
#endif
#endif
#ifndef DSL__CPU_LIMIT_MS
#define DSL__CPU_LIMIT_MS 750
#endif

enum {
	DSL_DEFAULT_MEMORY = 16u << 20,
	DSL_DEFAULT_INSTRUCTIONS = 10000000,
	/* A backstop, not a budget: some work costs time without costing instructions (comparing
	 * two long strings is one instruction). Far above what any real file needs. */
	DSL_CPU_LIMIT_MS = DSL__CPU_LIMIT_MS,
	DSL_MAX_DIAGS = 100, /* per file: past this, one more diag says the list was cut */
};

/* Embedded by cmake/embed.cmake from the .lua files of dsl/, sorted by name, NULL-terminated. */
struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct embedded_file dsl_prelude_files[];

/* One Lua state with its limits. The allocator's userdata is the sandbox itself, so C functions
 * running inside reach it with lua_getallocf. Not thread-safe: one sandbox per thread. */
/* Why a run is being stopped. Sticky until the next run: the hook raises on every
 * instruction, so pcall in designer code cannot swallow it. */
enum dsl_trip { DSL_TRIP_NONE, DSL_TRIP_BUDGET, DSL_TRIP_CPU };

/* One Lua state with its limits. The allocator's userdata is the sandbox itself, so C functions
 * running inside reach it with lua_getallocf. Not thread-safe: one sandbox per thread. */
struct dsl_sandbox {
	lua_State *L;
	size_t mem_used, mem_limit;
	uint64_t budget, spent;  /* instructions, plus the work charged by library functions */
	int hook_step;           /* instructions between two count-hook calls */
	uint64_t cpu_deadline_ns; /* thread CPU time at which the run stops */
	bool running;            /* designer code may run: charges and deadlines apply */
	enum dsl_trip trip;
	int trip_line;           /* designer line where the run was stopped, 0 if unknown */
	bool mem_refused;        /* the allocator refused a request during this run */
	int mem_line;            /* designer line of the first refusal, 0 if unknown */
	int line_hint;           /* last designer line the line hook saw */
	const char *source;      /* the designer chunk's source string, once the hook has seen it */
	char *chunkname;         /* "@path" of the file running; malloc'd, owned by the sandbox */
	int prim_ref, base_ref, env_meta_ref, libs_ref, prelude_ref; /* registry references */
};

/* Opens a sandbox with limits (NULL or zero fields mean the defaults). Returns 0, or
 * ENG_EINVALID / ENG_EINTERNAL with err set when the state cannot be built within the limits. */
int dsl__sandbox_open(struct dsl_sandbox **out, const struct dsl_limits *limits,
                      struct eng_error *err);
/* Closes the state and frees the sandbox; accepts NULL. */
void dsl__sandbox_close(struct dsl_sandbox *sb);

/* Runs one tràmit file (Lua text only) in a fresh environment holding the trimmed libraries
 * and the DSL. On success returns 0 and pushes the list of tramit nodes it defined [-0, +1].
 * On failure pushes nothing, returns ENG_EINVALID and appends exactly one diag to diags. */
int dsl__sandbox_run(struct dsl_sandbox *sb, const char *path, const char *src, size_t len,
                     struct dsl_diags *diags);

/* Adds cost to the work spent by this run: library functions whose work grows with their
 * arguments call it first, so that work counts like instructions [-0, +0]. Raises, at the
 * designer's line, once the budget is spent. */
void dsl__sandbox_charge(lua_State *L, uint64_t cost);

/* Pushes the library tables designers get, keyed by name ("string", "table", "math", "utf8")
 * [-0, +1]: trimmed copies of the real ones, costly functions wrapped to charge their work, each
 * with a locked metatable that names refused members. Also points the string metatable's
 * __index at the trimmed string table, so ("").dump is out of reach. May raise (memory). */
void dsl__libs_push(lua_State *L);

/* Writes a memory size as designers read it: "16 MiB", "512 KiB" or "1000 bytes". */
void dsl__format_size(char *buf, size_t size, size_t bytes);

/* Returns the current line of the innermost frame running the designer's file, starting at
 * stack level `level`; 0 when there is none. Safe only where the stack is consistent (C
 * functions, hooks, message handlers), never from the allocator. */
int dsl__sandbox_designer_line(lua_State *L, int level);

/* What the DSL constructors build: opaque full userdata, so designer code can neither read nor
 * forge them. User value 1 holds the name (string or nil), user value 2 the attribute table. */
enum dsl_node_kind {
	DSL_NODE_TRAMIT,
	DSL_NODE_SECTION,
	DSL_NODE_FIELD,    /* number: enum eng_field_type */
	DSL_NODE_OPTION,   /* attributes: the label itself, { ca = ..., es = ... } */
	DSL_NODE_STATE,
	DSL_NODE_ACTION,
	DSL_NODE_ROLE,
	DSL_NODE_APPLICANT,
	DSL_NODE_DURATION, /* name: the unit ("months", "business_days", ...); number: amount */
	/* Added by issue 3. */
	DSL_NODE_GROUP,          /* a repeatable group of fields */
	DSL_NODE_FEE,
	DSL_NODE_TARIFF,         /* attributes: by, per, rates */
	DSL_NODE_NOTIFY,         /* name: template; attributes: { kind = "binding" | "informative" } */
	DSL_NODE_SYSTEM,         /* who acts: the engine itself */
	DSL_NODE_REPRESENTATIVE, /* who acts: a representative of the applicant */
	DSL_NODE_SCENARIO,       /* a scenario test (dsl/scenario.c) */
	DSL_NODE_STEP,           /* a scenario's step; name: "act", "timer", "result" */
	DSL_NODE_TEMPLATE,       /* issue 6: a document template; attributes: kind, title, body */
};

struct dsl_node {
	enum dsl_node_kind kind;
	int line;
	lua_Integer number;
};

#define DSL_NODE_META "dsl.node"

/* Creates the table of primitives the prelude receives (node, line, fail, field_types)
 * and the node metatable [-0, +1]. May raise (memory). */
void dsl__prim_push(lua_State *L);
/* Returns the node at idx, or NULL if the value there is not a node [-0, +0]. */
struct dsl_node *dsl__node_check(lua_State *L, int idx);
/* Names a node kind as designers write it ("field", "state", ...). */
const char *dsl__node_kind_name(enum dsl_node_kind kind);

/* Compiles the list of tramit nodes at the top of the sandbox stack into def (calloc'd by the
 * caller, arena empty). Pops the list. Returns 0, or ENG_EINVALID with every problem found
 * appended to diags. */
int dsl__compile(struct eng_definition *def, struct dsl_sandbox *sb, const char *path,
                 struct dsl_diags *diags);
/* The same, and on success also pushes the table of the definition's functions, indexed by
 * function id [-1, +1] (on failure [-1, +0]). The host (dsl/host.c) keeps it per thread. */
int dsl__compile_with_functions(struct eng_definition *def, struct dsl_sandbox *sb,
                                const char *path, struct dsl_diags *diags);

/* Runs the function below nargs arguments on the stack under a fresh budget (instructions)
 * and a memory allowance above what the state already holds, as designer code from `path`
 * [-(nargs+1), +nresults] on success, [-(nargs+1), +0] on failure. On failure returns
 * ENG_EINVALID with "path:line: message" in err. */
int dsl__sandbox_pcall(struct dsl_sandbox *sb, const char *path, int nargs, int nresults,
                       uint64_t budget, size_t memory, struct eng_error *err);

/* Sets def->host to the thread-local sandbox host (dsl/host.c) with the source it needs to
 * load the definition's functions on any thread. src is copied into def's arena. */
void dsl__host_attach(struct eng_definition *def, const char *path, const char *src, size_t len);

/* SHA-256 (hex) of the designer code of src, stripped of names and lines, so comments and
 * layout do not count [-0, +0]. Returns 0 or ENG_EINTERNAL. */
int dsl__code_digest(struct dsl_sandbox *sb, const char *src, size_t len, char out[65]);

/* Fills def->hash with the SHA-256 of its canonical form. Returns 0 or ENG_EINTERNAL. */
int dsl__definition_hash(struct eng_definition *def);

/* Appends one diag; the message is cut to fit. Aborts on out-of-memory, like the arena. */
void dsl__diag_add(struct dsl_diags *d, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
