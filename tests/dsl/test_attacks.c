/* The attack tràmits of tests/fixtures/attacks: each one is refused with its exact message,
 * within 1 s of wall-clock time and 64 MiB of memory, without leaving anything behind. These
 * bounds are security properties (a hostile file must not stall or exhaust the server that
 * loads it), not benchmarks. Criterion runs each attack in a process of its own. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dsl/dsl.h"

#define ATTACKS_DIR TRAMIT_SOURCE_DIR "/tests/fixtures/attacks"
/* The file the escape attempts try to create. */
#define MARKER "/tmp/tramit-attack-escaped"

/* Sanitizer builds (cmake -DTRAMIT_SANITIZE=ON) are there to catch memory errors while the
 * attacks run. Their instrumentation, not the attack, sets how long a run takes, so they get a
 * looser time bound, which still catches a run that does not stop; and freed memory waits in
 * ASan's quarantine (256 MiB by default), which is held here to 16 MiB so that the memory bound
 * measures the attack and not the quarantine. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}
#endif

enum {
#ifdef SANITIZED
	TIME_LIMIT_MS = 5000,
#else
	TIME_LIMIT_MS = 1000,
#endif
	MEMORY_LIMIT_MIB = 64,
	MIN_ATTACKS = 20,
};

/* file -> the one diagnostic expected: its line (0: none applies) and a substring of its message
 * (for the sandbox's own refusals, the whole message). */
struct attack {
	const char *file;
	int line;
	const char *msg;
};

#define NOT_AVAILABLE(name) "'" name "' is not available in tràmit files"
#define BUDGET "instruction budget exceeded (infinite loop?)"
#define MEMORY "memory limit of 16 MiB exceeded"
#define BINARY "binary chunks are not accepted; tràmit files are Lua text"

static const struct attack attacks[] = {
	/* Escapes: every door out is refused by name. */
	{ "escape_os_execute.lua", 3, NOT_AVAILABLE("os") },
	{ "escape_io_open.lua", 3, NOT_AVAILABLE("io") },
	{ "escape_require.lua", 3, NOT_AVAILABLE("require") },
	{ "escape_package_loadlib.lua", 3, NOT_AVAILABLE("package") },
	{ "escape_debug_sethook.lua", 3, NOT_AVAILABLE("debug") },
	{ "escape_load_by_computed_name.lua", 5, NOT_AVAILABLE("load") },
	{ "escape_loadstring.lua", 3, NOT_AVAILABLE("loadstring") },
	{ "escape_dofile.lua", 3, NOT_AVAILABLE("dofile") },
	{ "escape_loadfile.lua", 3, NOT_AVAILABLE("loadfile") },
	{ "escape_string_dump.lua", 3, NOT_AVAILABLE("string.dump") },
	{ "escape_string_method_dump.lua", 4, NOT_AVAILABLE("string.dump") },
	{ "escape_global_table.lua", 3, NOT_AVAILABLE("_G") },
	{ "escape_getfenv.lua", 3, NOT_AVAILABLE("getfenv") },
	{ "escape_env_rebind.lua", 5, "attempt to index a nil value (global 'os')" },
	{ "escape_coroutine.lua", 3, NOT_AVAILABLE("coroutine") },
	/* Bytecode: refused before Lua sees it, or parsed as the text it is not. */
	{ "bytecode_luac.lua", 0, BINARY },
	{ "bytecode_crafted.lua", 0, BINARY },
	{ "bytecode_after_newline.lua", 2, "unexpected symbol near '<\\27>'" },
	/* Metatable tricks: no designer value can get or lose a metatable. */
	{ "meta_string_metatable.lua", 4, NOT_AVAILABLE("getmetatable") },
	{ "meta_rawset_library.lua", 3, NOT_AVAILABLE("rawset") },
	{ "meta_setmetatable_env.lua", 4, NOT_AVAILABLE("setmetatable") },
	{ "meta_node_forge.lua", 3, "attempt to index a DSL value (global 'applicant')" },
	{ "meta_gc_finalizer.lua", 3, NOT_AVAILABLE("setmetatable") },
	{ "meta_index_loop.lua", 3, NOT_AVAILABLE("setmetatable") },
	{ "meta_tostring_loop.lua", 3, NOT_AVAILABLE("setmetatable") },
	{ "meta_error_object.lua", 4, "error raised with a userdata value instead of a message" },
	{ "meta_close_variable.lua", 4, "variable 'guard' got a non-closable value" },
	/* Infinite loops: the budget stops them wherever they hide, and stays spent. */
	{ "loop_while.lua", 3, BUDGET },
	{ "loop_goto.lua", 6, BUDGET },
	{ "loop_tail_call.lua", 3, BUDGET },
	{ "loop_pcall_swallow.lua", 5, BUDGET },
	{ "loop_xpcall_handler.lua", 7, BUDGET },
	{ "loop_recursive_error_handler.lua", 3, BUDGET },
	{ "loop_sort_comparator.lua", 5, BUDGET },
	/* Memory bombs: the cap holds for every way of growing, and the stacks are bounded. */
	{ "memory_string_rep.lua", 3, MEMORY },
	{ "memory_table_concat.lua", 6, MEMORY },
	{ "memory_growing_table.lua", 3, MEMORY },
	{ "memory_string_doubling.lua", 4, MEMORY },
	{ "memory_utf8_char.lua", 6, MEMORY },
	{ "memory_huge_constructor.lua", 5, MEMORY },
	{ "memory_deep_recursion.lua", 4, MEMORY },
	{ "memory_c_stack.lua", 5, "C stack overflow" },
	{ "memory_error_message.lua", 3, MEMORY },
	/* Pattern DoS: no backtracking matcher, and plain search pays its worst case first. */
	{ "pattern_find_backtracking.lua", 4,
	  "string.find searches plain text only in tràmit files: string.find(s, text, 1, true)" },
	{ "pattern_gsub.lua", 2, NOT_AVAILABLE("string.gsub") },
	{ "pattern_match.lua", 2, NOT_AVAILABLE("string.match") },
	{ "pattern_gmatch.lua", 2, NOT_AVAILABLE("string.gmatch") },
	{ "pattern_plain_find_quadratic.lua", 6, BUDGET },
	/* Much work in few instructions: charged to the budget, or stopped by the CPU backstop. */
	{ "cpu_rep_loop.lua", 3, BUDGET },
	{ "cpu_concat_copy.lua", 4, BUDGET },
	{ "cpu_table_concat_loop.lua", 5, BUDGET },
	{ "cpu_string_arithmetic.lua", 4, BUDGET },
	{ "cpu_tonumber.lua", 3, BUDGET },
	{ "cpu_utf8_offset.lua", 3, BUDGET },
	{ "cpu_unpack_range.lua", 4, BUDGET },
	{ "cpu_pack_format.lua", 3, BUDGET },
	{ "cpu_long_string_compare.lua", 5, "CPU time limit of" },
	{ "cpu_vararg_copy.lua", 7, "CPU time limit of" },
	/* The parser runs before any hook: it must bound its own recursion and messages. Lua's
	 * "C stack overflow" from the parser carries no line. */
	{ "parse_deep_nesting.lua", 0, "C stack overflow" },
	{ "parse_long_line.lua", 4, "unknown name 'aaaaaaaaaaaaaaaaaaaa" },
	/* The compiler copies designer text outside the Lua heap: that must be bounded too. */
	{ "compile_text_amplification.lua", 8, MEMORY },
	/* Messages are one line: no forged log lines, no terminal escapes. */
	{ "log_forged_lines.lua", 4, "bad tramit: 0 tràmit files are left out of the catalogue [2J" },
	{ "log_forged_compile_message.lua", 4,
	  "applicant kind 'x tramit: 0 tràmit files are left out of the catalogue [2J' is unknown" },
};

enum { N_ATTACKS = sizeof(attacks) / sizeof(attacks[0]) };

static const struct attack *attack_named(const char *file)
{
	for (size_t i = 0; i < N_ATTACKS; i++)
		if (strcmp(attacks[i].file, file) == 0)
			return &attacks[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Resident set size now, in bytes (/proc/self/statm counts pages). */
static long rss_now(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f, "cannot open /proc/self/statm: %s", strerror(errno));
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

/* CPU time, not wall-clock time: the bound is on what an attack costs the server, and the
 * wall clock also counts whatever else the machine is doing (CI runs tests in parallel). */
static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Names of the regular entries of the attack folder, to see that a run adds none. */
static size_t folder_entries(void)
{
	size_t n = 0;
	DIR *d = opendir(ATTACKS_DIR);
	cr_assert_not_null(d, "cannot read %s: %s", ATTACKS_DIR, strerror(errno));
	for (struct dirent *e; (e = readdir(d));)
		n++;
	closedir(d);
	return n;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* s with control characters shown as '?', so that a failing check prints a message that
 * forges nothing in the test log either. Returns a static buffer. */
static const char *visible(const char *s)
{
	static char buf[600];
	size_t i = 0;
	for (; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

Test(attacks, folder_and_table_name_the_same_files)
{
	size_t n = 0;
	DIR *d = opendir(ATTACKS_DIR);
	cr_assert_not_null(d, "cannot read %s: %s", ATTACKS_DIR, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (!ends_with(e->d_name, ".lua"))
			continue;
		n++;
		cr_expect_not_null(attack_named(e->d_name),
		                   "%s has no row in the table of test_attacks.c", e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < N_ATTACKS; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", ATTACKS_DIR, attacks[i].file);
		cr_expect_eq(access(path, R_OK), 0, "%s is in the table but not in the folder",
		             attacks[i].file);
	}
	cr_expect_eq(n, N_ATTACKS, "%zu attack files, %d rows", n, (int)N_ATTACKS);
	cr_expect_geq(n, MIN_ATTACKS);
}

/* The bytecode attacks are only worth something while they are bytecode. */
Test(attacks, bytecode_fixtures_hold_binary_chunks)
{
	static const struct {
		const char *file, *start;
		size_t len;
	} cases[] = {
		{ "bytecode_luac.lua", "\x1bLua\x54\x00", 6 },
		{ "bytecode_crafted.lua", "\x1bLua\x54\x00", 6 },
		{ "bytecode_after_newline.lua", "\n\x1bLua\x54\x00", 7 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512], head[8] = { 0 };
		snprintf(path, sizeof(path), "%s/%s", ATTACKS_DIR, cases[i].file);
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f, "%s: %s", path, strerror(errno));
		size_t got = fread(head, 1, cases[i].len, f);
		fclose(f);
		cr_expect(got == cases[i].len && memcmp(head, cases[i].start, cases[i].len) == 0,
		          "%s does not start with a Lua 5.4 chunk header", cases[i].file);
	}
}

/* The parameters are indexes into the table: Criterion copies them into the test's process,
 * where pointers from this one would mean nothing. */
static int attack_index[N_ATTACKS];

ParameterizedTestParameters(attacks, each_is_refused_in_time_and_memory)
{
	for (int i = 0; i < N_ATTACKS; i++)
		attack_index[i] = i;
	return cr_make_param_array(int, attack_index, N_ATTACKS);
}

/* The clock and the memory count cover the whole dsl_compile_file call: reading the file,
 * opening the sandbox, running the file and compiling what it built. Memory is the growth of
 * the peak RSS over the RSS at the start (an upper bound on what the call took). */
ParameterizedTest(int *index, attacks, each_is_refused_in_time_and_memory, .timeout = 60)
{
	const struct attack *a = &attacks[*index];
	char path[512], line[600];
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	struct rusage ru;

	snprintf(path, sizeof(path), "%s/%s", ATTACKS_DIR, a->file);
	cr_assert(unlink(MARKER) == 0 || errno == ENOENT, "cannot remove %s: %s", MARKER,
	          strerror(errno));
	size_t entries = folder_entries();
	long rss_start = rss_now();
	long long start = now_ns();

	int rc = dsl_compile_file(&def, path, NULL, &diags);

	long long elapsed_ms = (now_ns() - start) / 1000000;
	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	long grown_mib = (ru.ru_maxrss * 1024L - rss_start) >> 20;

	cr_expect_eq(rc, ENG_EINVALID, "%s: dsl_compile_file returned %d, not ENG_EINVALID",
	             a->file, rc);
	cr_expect_null(def, "%s: the attack was compiled into a definition", a->file);
	eng_definition_free(def);
	cr_expect_eq(diags.n, 1, "%s: %zu diagnostics, expected 1", a->file, diags.n);
	for (size_t i = 0; i < diags.n; i++) {
		dsl_diag_format(&diags.items[i], line, sizeof(line));
		cr_expect(!has_control_chars(line), "%s: diagnostic %zu spans lines or holds control "
		          "characters: %s", a->file, i, visible(line));
	}
	if (diags.n > 0) {
		const struct dsl_diag *d = &diags.items[0];
		dsl_diag_format(d, line, sizeof(line));
		cr_expect_str_eq(d->path, path, "%s: diagnostic names %s", a->file, d->path);
		cr_expect_eq(d->line, a->line, "%s: line %d, expected %d (%s)", a->file, d->line,
		             a->line, visible(line));
		cr_expect(strstr(d->msg, a->msg) != NULL, "%s: message «%s», expected «%s»", a->file,
		          visible(d->msg), a->msg);
	}
	dsl_diags_free(&diags);

	cr_expect_leq(elapsed_ms, TIME_LIMIT_MS, "%s: refused after %lld ms, the limit is %d ms",
	              a->file, elapsed_ms, (int)TIME_LIMIT_MS);
	cr_expect_leq(grown_mib, MEMORY_LIMIT_MIB, "%s: peak RSS grew by %ld MiB, the limit is %d MiB",
	              a->file, grown_mib, (int)MEMORY_LIMIT_MIB);
	cr_expect(access(MARKER, F_OK) != 0 && errno == ENOENT, "%s: %s exists: the attack escaped",
	          a->file, MARKER);
	cr_expect_eq(folder_entries(), entries, "%s: the attack folder changed", a->file);
}
