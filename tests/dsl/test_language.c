/* The language of issue 3 through the compiler and the Lua host: new field types, groups,
 * fees, deadlines, outcomes, and designer functions run in the sandbox at step time with
 * frozen inputs and file:line errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dsl/dsl.h"
#include "engine/core/step.h"

#define TRAMITS TRAMIT_SOURCE_DIR "/tramits/"

static struct eng_definition *compile(const char *path)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_file(&def, path, NULL, &diags);
	char line[600] = "";
	if (diags.n)
		dsl_diag_format(&diags.items[0], line, sizeof(line));
	cr_assert_eq(rc, 0, "%s", line);
	dsl_diags_free(&diags);
	return def;
}

static struct eng_definition *compile_src(const char *src, char *first_problem)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags);
	if (first_problem) {
		first_problem[0] = '\0';
		if (diags.n)
			dsl_diag_format(&diags.items[0], first_problem, 600);
	}
	dsl_diags_free(&diags);
	return def;
}

Test(language, the_terrace_licence_compiles_every_construct)
{
	struct eng_definition *def = compile(TRAMITS "via-publica/terrassa.lua");
	cr_expect_eq(def->identification, ENG_IDENT_SUBSTANTIAL);
	cr_expect(def->applicants & ENG_APPLICANT_REPRESENTATIVE);
	cr_expect_str_eq(def->on_silence, "dismissed");
	cr_expect_eq(def->resolve_within.unit, ENG_UNIT_MONTHS);
	const struct eng_field *plano = eng_definition_field(def, "plano");
	cr_assert_not_null(plano);
	cr_expect_eq(plano->type, ENG_FIELD_FILE);
	cr_expect_eq(plano->max_bytes, 10 << 20);
	cr_expect_str_eq(plano->accept[0], "pdf");
	cr_expect_gt(plano->required_fn, 0);
	cr_expect_eq(def->fns[plano->required_fn - 1].kind, ENG_FN_REQUIRED);
	const struct eng_fee *taxa = eng_definition_fee(def, "taxa");
	cr_expect_eq(taxa->kind, ENG_FEE_TARIFF);
	cr_expect_str_eq(taxa->rates[0].key, "anual");
	cr_expect_eq(taxa->rates[1].cents, 900);
	const struct eng_state *fixing = eng_definition_state(def, "fixing");
	cr_assert_not_null(fixing->deadline);
	cr_expect_eq(fixing->deadline->period.unit, ENG_UNIT_BUSINESS_DAYS);
	cr_expect_eq(fixing->deadline->period.amount, 10);
	cr_expect_eq(fixing->deadline->alert.amount, 7);
	cr_expect_str_eq(fixing->deadline->on_expiry, "withdrawn");
	cr_expect(fixing->suspends_resolution);
	const struct eng_action *grant = eng_state_action(eng_definition_state(def, "reported"), "grant");
	cr_expect_str_eq(grant->unit, "via-publica");
	cr_expect(grant->flags & ENG_ACTION_REGISTER_OUT);
	cr_expect_eq(grant->notify[0].kind, ENG_NOTIFY_BINDING);
	cr_expect_not_null(def->code_digest);
	eng_definition_free(def);
}

Test(language, the_hash_follows_the_code_of_functions_but_not_their_comments)
{
	static const char base[] =
		"tramit \"FIX-002\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		"form = { section \"s\" { label = { ca = \"S\", es = \"S\" },\n"
		"  number \"n\" { label = { ca = \"N\", es = \"N\" } } } },\n"
		"fees = { fee \"t\" { label = { ca = \"T\", es = \"T\" }, amount = function(f) return (f.n or 0) * %d end } },\n"
		"states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		"  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\", form = true, fee = \"t\" } },\n"
		"  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n%s";
	char a[2048], b[2048], c[2048];
	snprintf(a, sizeof(a), base, 100, "");
	snprintf(b, sizeof(b), base, 100, "-- a comment\n");
	snprintf(c, sizeof(c), base, 101, "");
	struct eng_definition *da = compile_src(a, NULL), *db = compile_src(b, NULL), *dc = compile_src(c, NULL);
	cr_assert(da && db && dc);
	cr_expect_str_eq(da->hash, db->hash);
	cr_expect_str_neq(da->hash, dc->hash);

	/* And the fee runs in the sandbox at step time. */
	struct eng_arena arena = { 0 };
	static const struct eng_value form[] = { { "n", "7" } };
	struct eng_event ev = { .action = "go", .actor = { .kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z" },
		                    .form = form, .n_form = 1, .time_ms = 1773388800000 };
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_assert_eq(eng_expedient_step(&r, &arena, dc, &exp, &ev), 0, "%s", r.msg);
	cr_expect_str_eq(eng_values_get(r.vars, r.n_vars, "fee.t"), "707");
	cr_assert_eq(r.n_records, 1);
	cr_assert_eq(r.records[0].n_inputs, 1, "the fee read one value");
	cr_expect_str_eq(r.records[0].inputs[0].name, "n");
	eng_arena_free(&arena);
	eng_definition_free(da);
	eng_definition_free(db);
	eng_definition_free(dc);
}

Test(language, a_failing_function_refuses_the_step_with_file_and_line)
{
	static const char src[] =
		"tramit \"FIX-003\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		"states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		"  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\",\n"
		"    guard = function(f)\n"
		"      leaked = 1\n"
		"      while true do end\n"
		"    end } },\n"
		"  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n";
	struct eng_definition *def = compile_src(src, NULL);
	cr_assert_not_null(def);
	struct eng_arena arena = { 0 };
	struct eng_event ev = { .action = "go", .actor = { .kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z" } };
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_expect_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_EINTERNAL);
	cr_expect_eq(r.refusal, ENG_REFUSED_FUNCTION);
	cr_expect_str_eq(r.msg, "t.lua:7: instruction budget exceeded (infinite loop?)");
	eng_arena_free(&arena);
	eng_definition_free(def);
}

Test(language, new_constructs_are_checked_at_their_line)
{
	static const struct {
		const char *src, *problem;
	} cases[] = {
		{ "tramit \"F-1\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		  "applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		  "form = { section \"s\" { label = { ca = \"S\", es = \"S\" },\n"
		  "  text \"x\" { label = { ca = \"X\", es = \"X\" }, pattern = \"[a-\" } } },\n"
		  "states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" }, deadline = { hours(2), on_expiry = \"a\" } } } }\n",
		  "t.lua:4: field 'x': pattern is not a valid POSIX extended regular expression (or longer than 500 characters)" },
		{ "tramit \"F-1\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		  "applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		  "states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		  "  deadline = { business_days(10), on_expiry = \"nowhere\" },\n"
		  "  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\" } },\n"
		  "  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n",
		  "t.lua:3: state 'a': deadline on_expiry names undefined state 'nowhere'" },
		{ "tramit \"F-1\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		  "applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		  "states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		  "  on = { signed = \"go\" },\n"
		  "  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\", pay = \"taxa\" } },\n"
		  "  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n",
		  "t.lua:3: state 'a': on signed runs action 'go', which must be by = system" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char problem[600];
		struct eng_definition *def = compile_src(cases[i].src, problem);
		cr_expect_null(def, "case %zu", i);
		cr_expect_str_eq(problem, cases[i].problem, "case %zu", i);
		eng_definition_free(def);
	}
}

Test(language, warnings_name_unreachable_states_and_missing_expiry)
{
	static const char src[] =
		"tramit \"F-2\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		"states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		"  deadline = { natural_days(5) },\n"
		"  action \"go\" { label = { ca = \"Anar-hi ara\", es = \"Anar-hi ara\" }, by = applicant, to = \"a\" } },\n"
		"  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n";
	struct eng_definition *def = compile_src(src, NULL);
	cr_assert_not_null(def);
	struct dsl_diags w = { 0 };
	dsl_definition_warnings(def, &w);
	char lines[4][600];
	cr_assert_eq(w.n, 4);
	for (size_t i = 0; i < 4; i++)
		dsl_diag_format(&w.items[i], lines[i], sizeof(lines[i]));
	cr_expect_str_eq(lines[0], "t.lua:3: warning: state 'a' has no way out to a final state");
	cr_expect_str_eq(lines[1], "t.lua:3: warning: the deadline of state 'a' has no on_expiry target");
	cr_expect_str_eq(lines[2], "t.lua:5: warning: the label of this action reads the same in ca and es ('Anar-hi ara'); is it translated?");
	cr_expect_str_eq(lines[3], "t.lua:6: warning: state 'b' cannot be reached from the initial state");
	dsl_diags_free(&w);
	eng_definition_free(def);
}

Test(language, the_catalogue_scenarios_pass)
{
	char **files = NULL;
	size_t n = 0;
	struct dsl_diags diags = { 0 };
	const char *paths[] = { TRAMITS };
	cr_assert_eq(dsl_collect_test_files(&files, &n, paths, 1, &diags), 0);
	cr_assert_geq(n, 4);
	static const char cal[] = "2026-01-01 national a | a\n2026-03-19 regional b | b\n"
	                          "2026-04-03 national c | c\n2026-04-06 regional d | d\n"
	                          "2026-06-24 regional e | e\n2026-08-15 national f | f\n"
	                          "2027-01-01 national g | g\n";
	for (size_t i = 0; i < n; i++) {
		struct dsl_test_summary sum = { 0 };
		cr_expect_eq(dsl_test_file(&sum, files[i], cal, stderr, &diags), 0, "%s", files[i]);
		cr_expect_eq(sum.failures, 0, "%s", files[i]);
		cr_expect_gt(sum.scenarios, 0);
	}
	dsl_files_free(files, n);
	dsl_diags_free(&diags);
}

/* A tariff that follows its fiscal ordinance's versions: the fee uses the rate in force on the
 * action's day in Madrid, records which version applied, and is refused before the first. */
Test(language, tariff_versions_follow_the_ordinance_by_date)
{
	static const char src[] =
		"tramit \"FIX-004\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		"form = { section \"s\" { label = { ca = \"S\", es = \"S\" },\n"
		"  choice \"temporada\" { label = { ca = \"T\", es = \"T\" }, options = { option \"anual\" { ca = \"A\", es = \"A\" },\n"
		"    option \"estiu\" { ca = \"E\", es = \"E\" } } },\n"
		"  number \"m2\" { label = { ca = \"M\", es = \"M\" } } } },\n"
		"fees = { fee \"taxa\" { label = { ca = \"T\", es = \"T\" }, amount = tariff { by = \"temporada\", per = \"m2\",\n"
		"  ordinance = \"OF-12\", versions = {\n"
		"    { from = \"2026-01-01\", rates = { anual = 1500, estiu = 900 } },\n"
		"    { from = \"2027-01-01\", rates = { anual = 1550 } } } } } },\n"
		"states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
		"  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\", form = true, fee = \"taxa\" } },\n"
		"  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n";
	char problem[600];
	struct eng_definition *def = compile_src(src, problem);
	cr_assert_not_null(def, "%s", problem);
	const struct eng_fee *taxa = eng_definition_fee(def, "taxa");
	cr_expect_str_eq(taxa->ordinance, "OF-12");
	cr_assert_eq(taxa->n_rates, 3);
	static const struct {
		int64_t ms;           /* the action's instant */
		const char *temporada, *fee, *from, *refusal;
	} cases[] = {
		/* 2026-12-31 23:30 in Madrid (22:30 UTC): still the 2026 version. */
		{ 1798756200000, "anual", "18000", "2026-01-01", NULL },
		/* 2027-01-01 00:30 in Madrid (2026-12-31 23:30 UTC): the 2027 version already. */
		{ 1798759800000, "anual", "18600", "2027-01-01", NULL },
		/* The 2027 version has no summer rate: the 2026 one still applies to it. */
		{ 1798759800000, "estiu", "10800", "2026-01-01", NULL },
		/* 2025-12-31 23:30 in Madrid: before the first version. */
		{ 1767220200000, "anual", NULL, NULL,
		  "fee 'taxa': no version of OF-12 in force on 2025-12-31 has a rate for temporada = 'anual'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eng_arena arena = { 0 };
		const struct eng_value form[] = { { "temporada", cases[i].temporada }, { "m2", "12" } };
		struct eng_event ev = { .action = "go", .actor = { .kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z" },
			                    .form = form, .n_form = 2, .time_ms = cases[i].ms };
		struct eng_expedient exp = { 0 };
		struct eng_step_result r;
		int rc = eng_expedient_step(&r, &arena, def, &exp, &ev);
		if (cases[i].refusal) {
			cr_expect_eq(rc, ENG_EINVALID, "case %zu: %d %s", i, rc, r.msg);
			cr_expect_str_eq(r.msg, cases[i].refusal, "case %zu", i);
		} else {
			cr_assert_eq(rc, 0, "case %zu: %s", i, r.msg);
			cr_expect_str_eq(eng_values_get(r.vars, r.n_vars, "fee.taxa"), cases[i].fee, "case %zu", i);
			cr_expect_str_eq(eng_values_get(r.vars, r.n_vars, "fee.taxa.tariff_from"), cases[i].from,
			                 "case %zu", i);
		}
		eng_arena_free(&arena);
	}
	eng_definition_free(def);
}

Test(language, tariff_versions_are_checked_at_their_line)
{
	static const char head[] =
		"tramit \"F-1\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
		"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
		"form = { section \"s\" { label = { ca = \"S\", es = \"S\" },\n"
		"  choice \"k\" { label = { ca = \"K\", es = \"K\" }, options = { option \"a\" { ca = \"A\", es = \"A\" } } } } },\n"
		"fees = { fee \"t\" { label = { ca = \"T\", es = \"T\" }, amount = tariff { by = \"k\",\n%s } } },\n"
		"states = { state \"a\" { initial = true, final = true, label = { ca = \"A\", es = \"A\" } } } }\n";
	static const struct {
		const char *tariff, *problem;
	} cases[] = {
		{ "ordinance = \"OF\", rates = { a = 1 }, versions = { { from = \"2026-01-01\", rates = { a = 2 } } }",
		  "t.lua:5: fee 't': tariff needs either rates = { value = cents, ... } or versions = "
		  "{ { from = \"YYYY-MM-DD\", rates = { ... } }, ... }" },
		{ "versions = { { from = \"2026-01-01\", rates = { a = 2 } } }",
		  "t.lua:5: fee 't': a tariff with versions names its fiscal ordinance (ordinance = \"...\")" },
		{ "ordinance = \"OF\", versions = { { from = \"2026-02-30\", rates = { a = 2 } } }",
		  "t.lua:5: fee 't': versions[1]: from = '2026-02-30' is not a date YYYY-MM-DD" },
		{ "ordinance = \"OF\", versions = { { from = \"2027-01-01\", rates = { a = 2 } },\n"
		  "  { from = \"2026-01-01\", rates = { a = 3 } } }",
		  "t.lua:5: fee 't': versions[2]: from = '2026-01-01' must come after the version before it" },
		{ "ordinance = \"OF\", versions = { { from = \"2026-01-01\" } }",
		  "t.lua:5: fee 't': versions[1]: needs rates = { value = cents, ... }" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char src[2048], problem[600];
		snprintf(src, sizeof(src), head, cases[i].tariff);
		struct eng_definition *def = compile_src(src, problem);
		cr_expect_null(def, "case %zu", i);
		cr_expect_str_eq(problem, cases[i].problem, "case %zu", i);
		eng_definition_free(def);
	}
}
