/* The tràmit DSL: loads tràmit files in a sandboxed Lua 5.4 state and compiles them into
 * immutable engine definitions (engine/core/model.h) named by a content hash.
 * Only dsl/ includes lua.h. Thread-safety: one struct dsl_sandbox per thread. */
#ifndef DSL_H
#define DSL_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/core/model.h"

/* One problem found in a tràmit file, reported as "path:line: message". */
struct dsl_diag {
	char path[256];
	int line;      /* 0 when no line applies (e.g. unreadable file) */
	char msg[256];
};

struct dsl_diags {
	struct dsl_diag *items;  /* malloc'd; free with dsl_diags_free */
	size_t n, cap;
};

void dsl_diags_free(struct dsl_diags *d);
/* Formats diag i as "path:line: message" (or "path: message" when line is 0). */
void dsl_diag_format(const struct dsl_diag *d, char *buf, size_t size);

struct dsl_limits {
	size_t memory_bytes;     /* cap on the Lua heap for one file (default 16 MiB) */
	uint64_t instructions;   /* instruction budget for loading one file (default 10 million) */
};

/* The CPU-time backstop of a sandboxed load, in milliseconds (longer in sanitizer builds). */
int dsl_cpu_limit_ms(void);

/* Compiles one tràmit file. On success returns 0 and *out owns a new definition (free it with
 * eng_definition_free). On failure returns ENG_EINVALID (or ENG_ENOTFOUND for a missing file),
 * *out is NULL, and every problem found is appended to diags. limits may be NULL for defaults.
 * Each call runs in a sandbox of its own, so calls on different threads do not interfere. */
int dsl_compile_file(struct eng_definition **out, const char *path,
                     const struct dsl_limits *limits, struct dsl_diags *diags);

/* Same, from a string; chunkname is used as the path in messages. */
int dsl_compile_string(struct eng_definition **out, const char *chunkname, const char *src,
                       size_t len, const struct dsl_limits *limits, struct dsl_diags *diags);

/* Writes the canonical form of def: one line per construct in file order, every semantic and
 * citizen-visible value, strings quoted and escaped, without line numbers or the source path.
 * def->hash is the SHA-256 of exactly these bytes. On success returns 0 and *out is a malloc'd,
 * NUL-terminated string of *n_out bytes (free with free()); ENG_EINTERNAL if out of memory. */
int dsl_definition_canonical(char **out, size_t *n_out, const struct eng_definition *def);

/* Collects the tràmit files under each path (a file, or a folder searched recursively for
 * *.lua files, skipping folders named lib/ and calendars/ and files ending in _test.lua),
 * sorted by path. Returns 0, or ENG_ENOTFOUND naming the missing path in diags. */
int dsl_collect_files(char ***out, size_t *n_out, const char *const *paths, size_t n_paths,
                      struct dsl_diags *diags);
void dsl_files_free(char **files, size_t n);
/* The same for scenario test files: *_test.lua under each path (or the path itself). */
int dsl_collect_test_files(char ***out, size_t *n_out, const char *const *paths, size_t n_paths,
                           struct dsl_diags *diags);

struct dsl_test_summary {
	size_t scenarios, failed_scenarios, steps, failures;
};

/* Runs the scenarios of test file `path` against its tràmit (`tramit = "file.lua"` in the
 * scenario, or the test's name without _test) with a fake clock and no database. Each failed
 * expectation is printed to report as "path:line: scenario 'name', act 'x': expected ..., got
 * ..." and counted in *sum. calendar_text holds the non-business days (eng_calendar_parse
 * format; NULL for none); a scenario adds local ones with holidays = { "YYYY-MM-DD" }.
 * Returns 0 when the scenarios ran (whatever their outcome), or ENG_EINVALID / ENG_ENOTFOUND
 * with diags when the test file or the tràmit cannot be loaded. */
int dsl_test_file(struct dsl_test_summary *sum, const char *path, const char *calendar_text,
                  FILE *report, struct dsl_diags *diags);

/* Warnings about a compiled definition that do not stop it from running: unreachable states,
 * states with no way to a final state, deadlines without an expiry target, labels identical in
 * both languages (likely untranslated). Appended to out as "path:line" diags whose msg starts
 * with "warning: ". */
void dsl_definition_warnings(const struct eng_definition *def, struct dsl_diags *out);

#endif
