/* The Lua sandbox (dsl/sandbox.c) seen from designer code: every door out is refused with the
 * file and line, and the instruction budget and memory cap stop runaway files, pcall or not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dsl/dsl.h"

/* Compiles src as "sandbox.lua", expects it to fail with exactly one diagnostic and returns
 * that diagnostic formatted as "path:line: message". */
static const char *fail_with(const char *src, size_t len, const struct dsl_limits *limits)
{
	static char buf[600];
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_string(&def, "sandbox.lua", src, len, limits, &diags);
	cr_assert_eq(rc, ENG_EINVALID, "rc = %d", rc);
	cr_assert_null(def);
	cr_assert_eq(diags.n, 1, "%zu diagnostics", diags.n);
	dsl_diag_format(&diags.items[0], buf, sizeof(buf));
	dsl_diags_free(&diags);
	return buf;
}

static const char *fail(const char *src)
{
	return fail_with(src, strlen(src), NULL);
}

Test(sandbox, refuses_os_execute_at_the_callers_line)
{
	cr_assert_str_eq(fail("local x = 1\nos.execute('touch /tmp/escaped')\n"),
	                 "sandbox.lua:2: 'os' is not available in tràmit files");
}

Test(sandbox, refuses_every_door_out_by_name)
{
	static const struct {
		const char *src, *msg;
	} cases[] = {
		{ "io.open('/etc/passwd')", "sandbox.lua:1: 'io' is not available in tràmit files" },
		{ "require 'os'", "sandbox.lua:1: 'require' is not available in tràmit files" },
		{ "load('return 1')()", "sandbox.lua:1: 'load' is not available in tràmit files" },
		{ "loadfile('/etc/passwd')", "sandbox.lua:1: 'loadfile' is not available in tràmit files" },
		{ "dofile('/etc/passwd')", "sandbox.lua:1: 'dofile' is not available in tràmit files" },
		{ "debug.getinfo(1)", "sandbox.lua:1: 'debug' is not available in tràmit files" },
		{ "package.loadlib('x', 'y')", "sandbox.lua:1: 'package' is not available in tràmit files" },
		{ "collectgarbage()", "sandbox.lua:1: 'collectgarbage' is not available in tràmit files" },
		{ "setmetatable({}, {})", "sandbox.lua:1: 'setmetatable' is not available in tràmit files" },
		{ "rawset({}, 1, 1)", "sandbox.lua:1: 'rawset' is not available in tràmit files" },
		{ "print('hi')", "sandbox.lua:1: 'print' is not available in tràmit files" },
		{ "local f = string.dump(function() end)",
		  "sandbox.lua:1: 'string.dump' is not available in tràmit files" },
		{ "local n = math.random(6)", "sandbox.lua:1: 'math.random' is not available in tràmit files" },
		{ "for w in string.gmatch('a b', '%a+') do end",
		  "sandbox.lua:1: 'string.gmatch' is not available in tràmit files" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(fail(cases[i].src), cases[i].msg, "for %s", cases[i].src);
}

Test(sandbox, reports_unknown_names)
{
	cr_assert_str_eq(fail("\n\nwidget \"x\" {}\n"), "sandbox.lua:3: unknown name 'widget'");
}

Test(sandbox, string_metatable_is_out_of_reach)
{
	cr_assert_str_eq(fail("local mt = getmetatable('')"),
	                 "sandbox.lua:1: 'getmetatable' is not available in tràmit files");
	/* Method syntax goes through the string metatable's __index: the trimmed table too. */
	cr_assert_str_eq(fail("local f = ('').dump"),
	                 "sandbox.lua:1: 'string.dump' is not available in tràmit files");
}

Test(sandbox, stops_an_infinite_loop_with_the_budget)
{
	cr_assert_str_eq(fail("local n = 0\nwhile true do n = n + 1 end\n"),
	                 "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, budget_is_not_swallowed_by_pcall)
{
	const char *src = "local ok, err = pcall(function()\n"
	                  "\twhile true do end\n"
	                  "end)\n"
	                  "error('pcall swallowed the budget: ' .. tostring(err))\n";
	cr_assert_str_eq(fail(src), "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, budget_is_not_swallowed_by_pcall_in_a_loop_or_xpcall)
{
	const char *src = "for i = 1, 100 do\n"
	                  "\tpcall(function() while true do end end)\n"
	                  "\txpcall(function() while true do end end, function(e) return e end)\n"
	                  "end\n"
	                  "error('escaped')\n";
	cr_assert_str_eq(fail(src), "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, budget_charges_library_loops_that_allocate_nothing)
{
	cr_assert_str_eq(fail("local s = ''\nlocal r = string.rep(s, 1e15)\n"),
	                 "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
	cr_assert_str_eq(fail("local t = {}\ntable.move(t, 1, 1e12, 2)\n"),
	                 "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, budget_charges_work_per_element_of_long_tables)
{
	/* Each insert at the front shifts the whole table in C: one instruction, a million moves. */
	const char *src = "local t = {}\n"
	                  "for i = 1, 100000 do t[i] = i end\n"
	                  "while true do table.insert(t, 1, 0) end\n";
	cr_assert_str_eq(fail(src), "sandbox.lua:3: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, cpu_time_limit_stops_work_that_costs_few_instructions)
{
	/* Comparing two distinct 4 MB strings is one instruction and a 4 MB memcmp. */
	const char *src = "local a, b = string.rep('x', 4e6), string.rep('x', 4e6)\n"
	                  "local same = 0\n"
	                  "while true do if a == b then same = same + 1 end end\n";
	char want[96];
	snprintf(want, sizeof(want), "sandbox.lua:3: CPU time limit of %d ms exceeded", dsl_cpu_limit_ms());
	cr_assert_str_eq(fail(src), want);
}

Test(sandbox, refuses_patterns_that_could_backtrack_without_limit)
{
	/* One string.find call with this pattern backtracks for hours inside C. */
	cr_assert_str_eq(fail("local s = ('a'):rep(30)\n"
	                      "local r = s:find(('a?'):rep(30) .. s .. 'b')\n"),
	                 "sandbox.lua:2: string.find searches plain text only in tràmit files: "
	                 "string.find(s, text, 1, true)");
	cr_assert_str_eq(fail("local r = string.gsub('a', 'a', 'b')"),
	                 "sandbox.lua:1: 'string.gsub' is not available in tràmit files");
	cr_assert_str_eq(fail("local r = ('a'):match('a')"),
	                 "sandbox.lua:1: 'string.match' is not available in tràmit files");
	cr_assert_str_eq(fail("error('found at ' .. ('a?b'):find('?', 1, true), 0)"),
	                 "sandbox.lua:1: found at 2");
}

Test(sandbox, library_errors_carry_the_designers_line)
{
	cr_assert_str_eq(fail("\nlocal s = string.rep()\n"),
	                 "sandbox.lua:2: bad argument #1 to 'string.rep' (string expected, got no value)");
}

Test(sandbox, budget_follows_the_limits)
{
	struct dsl_limits limits = { .instructions = 5000 };
	const char *src = "local n = 0\nfor i = 1, 100000 do n = n + i end\n";
	cr_assert_str_eq(fail_with(src, strlen(src), &limits),
	                 "sandbox.lua:2: instruction budget exceeded (infinite loop?)");
}

Test(sandbox, memory_cap_stops_a_huge_string)
{
	cr_assert_str_eq(fail("local s = string.rep('x', 1e9)\n"),
	                 "sandbox.lua:1: memory limit of 16 MiB exceeded");
}

Test(sandbox, memory_cap_stops_a_growing_table)
{
	cr_assert_str_eq(fail("local t = {}\nfor i = 1, 1e9 do t[i] = i end\n"),
	                 "sandbox.lua:2: memory limit of 16 MiB exceeded");
}

Test(sandbox, memory_cap_stops_doubling_strings)
{
	cr_assert_str_eq(fail("local s = 'x'\nwhile true do s = s .. s end\n"),
	                 "sandbox.lua:2: memory limit of 16 MiB exceeded");
}

Test(sandbox, memory_cap_holds_when_pcall_catches_it)
{
	/* The refused allocation never happened: the file goes on within the cap. */
	cr_assert_str_eq(fail("local ok, err = pcall(string.rep, 'x', 1e9)\n"
	                      "error(tostring(ok) .. ': ' .. err)\n"),
	                 "sandbox.lua:2: false: not enough memory");
}

Test(sandbox, memory_cap_follows_the_limits)
{
	struct dsl_limits limits = { .memory_bytes = 1u << 20 };
	const char *src = "local s = string.rep('x', 2 * 1024 * 1024)\n";
	cr_assert_str_eq(fail_with(src, strlen(src), &limits),
	                 "sandbox.lua:1: memory limit of 1 MiB exceeded");
}

Test(sandbox, refuses_binary_chunks)
{
	static const char chunk[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08";
	cr_assert_str_eq(fail_with(chunk, sizeof(chunk) - 1, NULL),
	                 "sandbox.lua: binary chunks are not accepted; tràmit files are Lua text");
}

Test(sandbox, gives_a_line_to_errors_raised_with_tables)
{
	cr_assert_str_eq(fail("\nerror({ code = 1 })\n"),
	                 "sandbox.lua:2: error raised with a table value instead of a message");
}

Test(sandbox, constructors_report_misuse_at_the_designers_line)
{
	cr_assert_str_eq(fail("local f =\n\ttext(42)\n"),
	                 "sandbox.lua:2: text needs a field name in quotes, as in text \"name\" { ... }");
	cr_assert_str_eq(fail("local d = months(1.5)\n"),
	                 "sandbox.lua:1: months needs a whole number from 1 to 120, got 1.5");
	cr_assert_str_eq(fail("local s = section \"a\" \"b\"\n"),
	                 "sandbox.lua:1: section \"a\" needs its attributes in braces: section \"a\" { ... }");
}

Test(sandbox, nodes_are_opaque_to_designer_code)
{
	cr_assert_str_eq(fail("local r = role \"tramitador\"\nlocal name = r.name\n"),
	                 "sandbox.lua:2: attempt to index a DSL value (local 'r')");
}
