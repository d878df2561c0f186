/* The compiler (dsl/compile.c) and the content hash (dsl/canonical.c): the catalogue's
 * instància general compiles to the expected definition, every rule is reported at its line,
 * and the hash follows the content, not the path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl.h"

#define GENERAL TRAMIT_SOURCE_DIR "/tramits/general/instancia-general.lua"
#define FIXTURE(name) TRAMIT_SOURCE_DIR "/tests/fixtures/dsl/" name

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Returns src with the first occurrence of from replaced by to (malloc'd). */
static char *replace(const char *src, const char *from, const char *to)
{
	const char *at = strstr(src, from);
	cr_assert_not_null(at, "'%s' not found", from);
	size_t head = (size_t)(at - src), n = strlen(src) - strlen(from) + strlen(to);
	char *s = malloc(n + 1);
	cr_assert_not_null(s);
	memcpy(s, src, head);
	strcpy(s + head, to);
	strcat(s, at + strlen(from));
	return s;
}

/* All diagnostics formatted, one per line, in a static buffer. */
static const char *format_all(const struct dsl_diags *diags)
{
	static char all[16384];
	size_t used = 0;
	all[0] = '\0';
	for (size_t i = 0; i < diags->n && used < sizeof(all); i++) {
		char line[600];
		dsl_diag_format(&diags->items[i], line, sizeof(line));
		used += (size_t)snprintf(all + used, sizeof(all) - used, "%s%s", i ? "\n" : "", line);
	}
	return all;
}

/* Compiles a file expecting failure; returns every diagnostic, formatted. */
static const char *file_problems(const char *path)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_file(&def, path, NULL, &diags);
	cr_assert_eq(rc, ENG_EINVALID, "rc = %d", rc);
	cr_assert_null(def);
	const char *all = format_all(&diags);
	dsl_diags_free(&diags);
	return all;
}

/* Compiles src as "t.lua" expecting failure; returns every diagnostic, formatted. */
static const char *string_problems(const char *src)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags);
	cr_assert_eq(rc, ENG_EINVALID, "rc = %d", rc);
	cr_assert_null(def);
	cr_assert_gt(diags.n, 0);
	const char *all = format_all(&diags);
	dsl_diags_free(&diags);
	return all;
}

static struct eng_definition *compile_ok(const char *chunkname, const char *src)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_string(&def, chunkname, src, strlen(src), NULL, &diags);
	cr_assert_eq(rc, 0, "rc = %d: %s", rc, format_all(&diags));
	cr_assert_eq(diags.n, 0);
	cr_assert_not_null(def);
	dsl_diags_free(&diags);
	return def;
}

Test(compile, instancia_general_compiles_to_the_catalogue_definition)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	cr_assert_eq(dsl_compile_file(&def, GENERAL, NULL, &diags), 0, "%s", format_all(&diags));
	cr_assert_eq(diags.n, 0);

	cr_assert_str_eq(def->code, "GEN-001");
	cr_assert_str_eq(def->version, "1");
	cr_assert_str_eq(def->title.ca, "Instància general");
	cr_assert_str_eq(def->title.es, "Instancia general");
	cr_assert_not_null(def->summary.ca);
	cr_assert_not_null(def->description.es);
	cr_assert_str_eq(def->family, "general");
	cr_assert_str_eq(def->unit, "registre");
	cr_assert_eq(def->applicants, ENG_APPLICANT_PERSON | ENG_APPLICANT_COMPANY | ENG_APPLICANT_EMPLOYEE);
	cr_assert_str_eq(def->legal_basis, "Llei 39/2015, d'1 d'octubre, arts. 16 i 66");
	cr_assert_eq(def->resolve_months, 3);
	cr_assert_eq(def->silence, ENG_SILENCE_NEGATIVE);
	cr_assert_str_eq(def->source_path, GENERAL);

	cr_assert_eq(def->n_sections, 2);
	cr_assert_str_eq(def->sections[0].name, "sollicitud");
	cr_assert_str_eq(def->sections[0].label.ca, "Sol·licitud");
	cr_assert_str_eq(def->sections[1].name, "contacte");

	static const struct {
		const char *name, *section;
		enum eng_field_type type;
		bool required;
		int64_t max;
	} fields[] = {
		{ "assumpte", "sollicitud", ENG_FIELD_TEXT, true, 150 },
		{ "exposa", "sollicitud", ENG_FIELD_LONGTEXT, true, 4000 },
		{ "solicita", "sollicitud", ENG_FIELD_LONGTEXT, true, 4000 },
		{ "correu", "contacte", ENG_FIELD_EMAIL, false, 0 },
		{ "telefon", "contacte", ENG_FIELD_PHONE, false, 0 },
		{ "idioma", "contacte", ENG_FIELD_CHOICE, true, 0 },
	};
	cr_assert_eq(def->n_fields, 6);
	for (size_t i = 0; i < 6; i++) {
		const struct eng_field *f = &def->fields[i];
		cr_expect_str_eq(f->name, fields[i].name);
		cr_expect_str_eq(f->section, fields[i].section);
		cr_expect_eq(f->type, fields[i].type, "%s", f->name);
		cr_expect_eq(f->required, fields[i].required, "%s", f->name);
		cr_expect_eq(f->has_max, fields[i].max > 0, "%s", f->name);
		if (f->has_max)
			cr_expect_eq(f->max, fields[i].max, "%s", f->name);
		cr_expect_not_null(f->label.ca);
		cr_expect_not_null(f->label.es);
	}
	cr_assert_str_eq(def->fields[1].label.ca, "Exposa");
	cr_assert_str_eq(def->fields[2].label.ca, "Sol·licita");
	const struct eng_field *idioma = eng_definition_field(def, "idioma");
	cr_assert_eq(idioma->n_options, 2);
	cr_assert_str_eq(idioma->options[0].value, "ca");
	cr_assert_str_eq(idioma->options[0].label.ca, "Valencià");
	cr_assert_str_eq(idioma->options[1].value, "es");
	cr_assert_str_eq(idioma->options[1].label.es, "Castellano");

	cr_assert_eq(def->n_states, 4);
	cr_assert_str_eq(def->states[0].name, "draft");
	cr_assert_str_eq(def->states[1].name, "submitted");
	cr_assert_str_eq(def->states[2].name, "resolved");
	cr_assert_str_eq(def->states[3].name, "rejected");
	const struct eng_state *initial = eng_definition_initial(def);
	cr_assert_str_eq(initial->name, "draft");
	cr_assert(initial->applicant_must_act);
	cr_assert(def->states[2].final && def->states[3].final);
	cr_assert(!def->states[0].final && !def->states[1].final);

	cr_assert_eq(initial->n_actions, 1);
	const struct eng_action *submit = &initial->actions[0];
	cr_assert_str_eq(submit->name, "submit");
	cr_assert_eq(submit->by, ENG_BY_APPLICANT);
	cr_assert_str_eq(submit->to, "submitted");
	cr_assert_eq(submit->flags, ENG_ACTION_FORM | ENG_ACTION_REGISTER_IN | ENG_ACTION_RECEIPT);

	const struct eng_state *submitted = eng_definition_state(def, "submitted");
	cr_assert_eq(submitted->n_actions, 2);
	const struct eng_action *resolve = eng_state_action(submitted, "resolve");
	const struct eng_action *reject = eng_state_action(submitted, "reject");
	cr_assert_eq(resolve->by, ENG_BY_ROLE);
	cr_assert_str_eq(resolve->role, "tramitador");
	cr_assert_str_eq(resolve->to, "resolved");
	cr_assert_eq(resolve->flags, 0);
	cr_assert_eq(reject->by, ENG_BY_ROLE);
	cr_assert_str_eq(reject->role, "tramitador");
	cr_assert_str_eq(reject->to, "rejected");

	eng_definition_free(def);
	dsl_diags_free(&diags);
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

Test(compile, hash_is_64_hex_digits_and_stable_across_compilations)
{
	struct eng_definition *a = NULL, *b = NULL;
	struct dsl_diags diags = { 0 };
	cr_assert_eq(dsl_compile_file(&a, GENERAL, NULL, &diags), 0);
	cr_assert_eq(dsl_compile_file(&b, GENERAL, NULL, &diags), 0);
	cr_assert(is_lower_hex(a->hash, 64), "hash %s", a->hash);
	cr_assert_str_eq(a->hash, b->hash);
	eng_definition_free(a);
	eng_definition_free(b);
	dsl_diags_free(&diags);
}

Test(compile, hash_changes_with_a_one_letter_label_change)
{
	char *src = read_all(GENERAL);
	char *changed = replace(src, "\"Asunto\"", "\"Asunta\"");
	struct eng_definition *a = compile_ok(GENERAL, src);
	struct eng_definition *b = compile_ok(GENERAL, changed);
	cr_assert_str_neq(a->hash, b->hash);
	eng_definition_free(a);
	eng_definition_free(b);
	free(changed);
	free(src);
}

Test(compile, hash_changes_with_a_rule_change)
{
	char *src = read_all(GENERAL);
	char *changed = replace(src, "required = true, max = 150", "required = true, max = 151");
	struct eng_definition *a = compile_ok(GENERAL, src);
	struct eng_definition *b = compile_ok(GENERAL, changed);
	cr_assert_str_neq(a->hash, b->hash);
	eng_definition_free(a);
	eng_definition_free(b);
	free(changed);
	free(src);
}

Test(compile, hash_ignores_the_path_and_comments)
{
	char *src = read_all(GENERAL);
	size_t n = strlen(src);
	char *moved = malloc(n + 64);
	cr_assert_not_null(moved);
	snprintf(moved, n + 64, "-- moved, with a new comment\n%s", src);
	struct eng_definition *a = compile_ok(GENERAL, src);
	struct eng_definition *b = compile_ok("elsewhere/general.lua", moved);
	cr_assert_str_eq(a->hash, b->hash);
	eng_definition_free(a);
	eng_definition_free(b);
	free(moved);
	free(src);
}

Test(compile, canonical_form_starts_with_its_format_and_code)
{
	char *src = read_all(GENERAL);
	struct eng_definition *def = compile_ok(GENERAL, src);
	char *canon = NULL;
	size_t n = 0;
	cr_assert_eq(dsl_definition_canonical(&canon, &n, def), 0);
	cr_assert_eq(strlen(canon), n);
	const char *head = "tramit-canonical 1\ncode \"GEN-001\"\nversion \"1\"\n"
	                   "title \"Instància general\" \"Instancia general\"\n";
	cr_assert_eq(strncmp(canon, head, strlen(head)), 0, "%.200s", canon);
	cr_assert_not_null(strstr(canon, "\noption \"ca\" label \"Valencià\" \"Valenciano\"\n"));
	free(canon);
	eng_definition_free(def);
	free(src);
}

Test(compile, compile_reports_syntax_errors_with_luas_message_and_line)
{
	cr_assert_str_eq(file_problems(FIXTURE("syntax_error.lua")),
	                 FIXTURE("syntax_error.lua") ":4: '}' expected (to close '{' at line 2) near 'title'");
}

Test(compile, compile_reports_unknown_field_type_with_line)
{
	cr_assert_str_eq(file_problems(FIXTURE("unknown_field_type.lua")),
	                 FIXTURE("unknown_field_type.lua") ":11: unknown name 'widget'");
}

Test(compile, compile_reports_transition_to_undefined_state_with_line)
{
	cr_assert_str_eq(file_problems(FIXTURE("undefined_state.lua")),
	                 FIXTURE("undefined_state.lua") ":11: action 'submit' moves to undefined state 'submited'");
}

Test(compile, compile_refuses_os_execute_with_line)
{
	cr_assert_str_eq(file_problems(FIXTURE("os_execute.lua")),
	                 FIXTURE("os_execute.lua") ":2: 'os' is not available in tràmit files");
}

Test(compile, compile_reports_label_missing_a_language_with_line)
{
	cr_assert_str_eq(file_problems(FIXTURE("missing_label.lua")),
	                 FIXTURE("missing_label.lua") ":11: field 'assumpte': label needs both ca and es");
}

Test(compile, compile_reports_every_problem_in_line_order)
{
#define P FIXTURE("many_problems.lua")
	cr_assert_str_eq(file_problems(P),
		P ":2: tramit 'FIX-001': applicant kind 'citizen' is unknown (use person, company, representative or employee)\n"
		P ":2: legal: silence must be positive, negative, lapse or none, got 'maybe'\n"
		P ":11: unknown attribute 'requird' in field 'assumpte'\n"
		P ":12: field 'edat': min (120) is greater than max (18)\n"
		P ":13: field 'idioma': a choice needs options = { option \"value\" { ca = ..., es = ... }, ... }\n"
		P ":14: field 'accepta': required must be true or false, got string\n"
		P ":15: duplicate field 'assumpte' (first at line 11)\n"
		P ":21: action 'submit' moves to undefined state 'submited'\n"
		P ":23: state 'review': only one state may be initial, and 'draft' already is\n"
		P ":23: state 'review': a state that is not final needs at least one action or a deadline with on_expiry\n"
		P ":26: state 'done': a final state cannot have actions\n"
		P ":30: duplicate state 'done' (first at line 26)");
#undef P
}

Test(compile, compile_file_reports_a_missing_file_as_not_found)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	cr_assert_eq(dsl_compile_file(&def, FIXTURE("no_such_file.lua"), NULL, &diags), ENG_ENOTFOUND);
	cr_assert_null(def);
	cr_assert_str_eq(format_all(&diags),
	                 FIXTURE("no_such_file.lua") ": cannot open: No such file or directory");
	dsl_diags_free(&diags);
}

Test(compile, compile_reports_each_rule_at_the_line_of_its_construct)
{
	static const struct {
		const char *from, *to, *problems;
	} cases[] = {
		{ "text \"nom\" { label = { ca = \"Nom\", es = \"Nombre\" }, required = true }",
		  "date \"nom\" { label = { ca = \"Nom\", es = \"Nombre\" }, min = 1 }",
		  "t.lua:11: field 'nom': min and max do not apply to a date field" },
		{ "required = true }", "required = true, max = 1.5 }",
		  "t.lua:11: field 'nom': max must be a whole number, got 1.5" },
		{ "required = true }", "required = true, options = { option \"a\" { ca = \"A\", es = \"A\" } } }",
		  "t.lua:11: field 'nom': options only apply to choice and multichoice fields" },
		{ "text \"nom\" { label = { ca = \"Nom\", es = \"Nombre\" }, required = true }",
		  "choice \"nom\" { label = { ca = \"Nom\", es = \"Nombre\" }, options = {\n"
		  "option \"a\" { ca = \"A\", es = \"A\" },\noption \"a\" { ca = \"B\", es = \"B\" } } }",
		  "t.lua:13: field 'nom': duplicate option 'a' (first at line 12)" },
		{ "required = true }", "required = true, help = { ca = \"Ajuda\", en = \"Help\" } }",
		  "t.lua:11: field 'nom': help has unknown language 'en' (only ca and es)\n"
		  "t.lua:11: field 'nom': help needs both ca and es" },
		{ "label = { ca = \"Dades\", es = \"Datos\" }", "label = \"Dades\"",
		  "t.lua:9: section 'dades': label must be written { ca = \"...\", es = \"...\" }, got string" },
		{ "text \"nom\"", "text \"Nom Complet\"",
		  "t.lua:11: field name 'Nom Complet' must start with a-z and use only a-z, 0-9 and _" },
		{ "to = \"done\", form = true", "to = \"done\", receipt = true",
		  "t.lua:17: action 'submit': receipt = true needs register = \"in\"" },
		{ "by = applicant, ", "",
		  "t.lua:17: action 'submit': by is required: by = applicant or by = role \"name\"" },
		{ "by = applicant, ", "by = \"applicant\", ",
		  "t.lua:17: action 'submit': by must be applicant, representative, role \"name\" or system, got string" },
		{ "form = true }", "register = \"sideways\" }",
		  "t.lua:17: action 'submit': register must be \"in\" or \"out\", got 'sideways'" },
		{ "initial = true, ", "",
		  "t.lua:2: tramit 'FIX-001': no initial state; mark one with initial = true" },
		{ "state \"done\" { final = true, label = { ca = \"Fet\", es = \"Hecho\" } },",
		  "done = { final = true },",
		  "t.lua:2: states: found 'done = ...'; write the items as a list\n"
		  "t.lua:17: action 'submit' moves to undefined state 'done'" },
		{ "state \"done\" { final = true, label = { ca = \"Fet\", es = \"Hecho\" } },",
		  "state \"done\",",
		  "t.lua:2: states: item 2 is unfinished; did you forget the { ... } after the name?\n"
		  "t.lua:17: action 'submit' moves to undefined state 'done'" },
		{ "silence = \"none\"", "silence = \"none\", resolve_within = 3",
		  "t.lua:2: legal: resolve_within must be a duration such as business_days(10) or months(3), got number" },
		{ "\"FIX-001\"", "\"fix 1\"",
		  "t.lua:2: tramit code 'fix 1' must use A-Z, 0-9 and -, as in GEN-001" },
		{ "\tversion = \"1\",\n", "", "t.lua:2: tramit 'FIX-001': version is required" },
		{ "applicant = { \"person\" }", "applicant = { \"person\", \"person\" }",
		  "t.lua:2: tramit 'FIX-001': applicant lists 'person' twice" },
	};
	char *minimal = read_all(FIXTURE("minimal.lua"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *src = replace(minimal, cases[i].from, cases[i].to);
		cr_expect_str_eq(string_problems(src), cases[i].problems, "case %zu", i);
		free(src);
	}
	free(minimal);
}

Test(compile, compile_accepts_exactly_one_tramit_per_file)
{
	char *minimal = read_all(FIXTURE("minimal.lua"));
	size_t n = strlen(minimal);
	char *twice = malloc(2 * n + 1);
	cr_assert_not_null(twice);
	memcpy(twice, minimal, n);
	memcpy(twice + n, minimal, n + 1);
	cr_assert_str_eq(string_problems(twice),
	                 "t.lua:23: a file holds one tramit, and one already starts at line 2");
	cr_assert_str_eq(string_problems("-- nothing here\n"),
	                 "t.lua: no tramit \"CODE\" { ... } in this file");
	free(twice);
	free(minimal);
}

Test(compile, plain_lua_helpers_build_the_form)
{
	char *minimal = read_all(FIXTURE("minimal.lua"));
	char *helper = replace(minimal, "tramit \"FIX-001\" {",
	                       "local function numbered(names)\n"
	                       "\tlocal s = { label = { ca = \"Més\", es = \"Más\" } }\n"
	                       "\tfor i, name in ipairs(names) do\n"
	                       "\t\ts[#s + 1] = text(name) { label = { ca = string.format(\"Camp %d\", i), es = \"Campo \" .. i } }\n"
	                       "\tend\n"
	                       "\treturn s\n"
	                       "end\n"
	                       "tramit \"FIX-001\" {");
	char *src = replace(helper, "\tform = {", "\tform = {\n\t\tsection \"extra\" (numbered({ \"a\", \"b\", \"c\" })),");
	free(helper);
	struct eng_definition *def = compile_ok("t.lua", src);
	cr_assert_eq(def->n_fields, 4);
	cr_assert_str_eq(def->fields[0].name, "a");
	cr_assert_str_eq(def->fields[2].label.ca, "Camp 3");
	cr_assert_str_eq(def->fields[2].label.es, "Campo 3");
	cr_assert_eq(def->fields[2].line, 5); /* the line inside the helper */
	cr_assert_str_eq(def->fields[3].section, "dades");
	eng_definition_free(def);
	free(src);
	free(minimal);
}

Test(compile, compile_stops_listing_after_one_hundred_problems)
{
	const char *src = "local s = { label = { ca = \"S\", es = \"S\" } }\n"
	                  "for i = 1, 150 do s[i] = text(\"f\" .. i) {} end\n"
	                  "tramit \"FIX-001\" {\n"
	                  "\tversion = \"1\", title = { ca = \"T\", es = \"T\" }, family = \"f\", unit = \"u\",\n"
	                  "\tapplicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
	                  "\tform = { section \"s\" (s) },\n"
	                  "\tstates = { state \"a\" { initial = true, final = false, label = { ca = \"A\", es = \"A\" },\n"
	                  "\t\taction \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\" } },\n"
	                  "\t\tstate \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } },\n"
	                  "}\n";
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	cr_assert_eq(dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags), ENG_EINVALID);
	cr_assert_eq(diags.n, 101);
	char line[600];
	dsl_diag_format(&diags.items[0], line, sizeof(line));
	cr_assert_str_eq(line, "t.lua:2: field 'f1': label needs both ca and es");
	dsl_diag_format(&diags.items[100], line, sizeof(line));
	cr_assert_str_eq(line, "t.lua:2: too many problems; stopped after 100");
	dsl_diags_free(&diags);
}

Test(compile, compile_keeps_full_paths_longer_than_luas_short_source)
{
	/* Lua shortens chunk names past 60 bytes to "...tail"; diagnostics keep the whole path. */
	const char *path = "catalogue/a-long-family-folder-name/another-long-folder-name/tramit.lua";
	const char *src = "local x\nx.y = 1\n";
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	cr_assert_eq(dsl_compile_string(&def, path, src, strlen(src), NULL, &diags), ENG_EINVALID);
	cr_assert_str_eq(format_all(&diags),
	                 "catalogue/a-long-family-folder-name/another-long-folder-name/tramit.lua:2: "
	                 "attempt to index a nil value (local 'x')");
	dsl_diags_free(&diags);
}
