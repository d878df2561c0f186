/* cat_diff_compare over the fixtures of tests/fixtures/diff (instancia-general.lua variants):
 * each change's exact line and class, the verdict, and what a migration map covers or misses;
 * cat_map_parse's refusals with their file:line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "catalog/diff.h"
#include "dsl/dsl.h"

#define GENERAL TRAMIT_SOURCE_DIR "/tramits/general/instancia-general.lua"
#define FIXTURE(name) TRAMIT_SOURCE_DIR "/tests/fixtures/diff/" name

static struct eng_definition *compile(const char *path)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	int rc = dsl_compile_file(&def, path, NULL, &diags);
	cr_assert_eq(rc, 0, "%s: %s", path, diags.n ? diags.items[0].msg : "?");
	dsl_diags_free(&diags);
	return def;
}

static struct cat_map *map_of(const char *text)
{
	struct cat_map *m = NULL;
	struct eng_error err = {0};
	cr_assert_eq(cat_map_parse(&m, "test.map", text, strlen(text), &err), 0, "%s", err.msg);
	return m;
}

/* Compares GEN-001 with fixture `name` and checks every change line, in order. */
static struct cat_diff *expect_diff(const char *name, const struct cat_map *map,
                                    const char *const *want, size_t n_want)
{
	struct eng_definition *a = compile(GENERAL), *b = compile(name);
	struct cat_diff *d = NULL;
	struct eng_error err = {0};
	cr_assert_eq(cat_diff_compare(&d, a, b, map, &err), 0, "%s", err.msg);
	cr_expect_eq(d->n_changes, n_want, "%s: %zu changes", name, d->n_changes);
	for (size_t i = 0; i < d->n_changes && i < n_want; i++) {
		char line[512];
		cat_change_format(&d->changes[i], line, sizeof(line));
		cr_expect_str_eq(line, want[i], "%s: change %zu", name, i);
	}
	eng_definition_free(a);
	eng_definition_free(b);
	return d;
}

Test(diff, label_change_is_cosmetic)
{
	static const char *const want[] = {"cosmetic: field assumpte: label changed"};
	struct cat_diff *d = expect_diff(FIXTURE("label.lua"), NULL, want, 1);
	cr_expect_eq(d->verdict, CAT_CHANGE_COSMETIC);
	cr_expect_not(d->identical);
	cr_expect_not(d->migrated);
	cat_diff_free(d);
}

Test(diff, new_optional_field_is_additive)
{
	static const char *const want[] = {"additive: field mobil: added (optional)"};
	struct cat_diff *d = expect_diff(FIXTURE("optional-field.lua"), NULL, want, 1);
	cr_expect_eq(d->verdict, CAT_CHANGE_ADDITIVE);
	cat_diff_free(d);
}

Test(diff, removed_field_is_breaking_and_needs_a_map_entry)
{
	static const char *const want[] = {"breaking: field telefon: removed"};
	struct cat_diff *d = expect_diff(FIXTURE("removed-field.lua"), NULL, want, 1);
	cr_expect_eq(d->verdict, CAT_CHANGE_BREAKING);
	cr_expect_eq(d->changes[0].need, CAT_MAP_FIELD);
	cr_expect_null(d->changes[0].mapped);
	cr_expect_not(d->migrated);
	cat_diff_free(d);
}

Test(diff, removed_field_dropped_by_the_map_is_migrated)
{
	struct cat_map *m = map_of("field telefon -> drop\n");
	static const char *const want[] = {"breaking: field telefon: removed; values dropped"};
	struct cat_diff *d = expect_diff(FIXTURE("removed-field.lua"), m, want, 1);
	cr_expect(d->migrated);
	cr_expect_eq(d->n_problems, 0);
	cr_expect_str_eq(cat_map_field(m, "telefon")->to, "");
	cat_diff_free(d);
	cat_map_free(m);
}

static const char *const removed_state[] = {
	"breaking: action draft.submit: target submitted -> review",
	"breaking: state submitted: removed",
	"additive: state review: added",
};

Test(diff, removed_state_without_map_is_breaking)
{
	struct cat_diff *d = expect_diff(FIXTURE("removed-state.lua"), NULL, removed_state, 3);
	cr_expect_eq(d->verdict, CAT_CHANGE_BREAKING);
	cr_expect_eq(d->changes[1].need, CAT_MAP_STATE);
	cr_expect_not(d->migrated);
	cr_expect_eq(d->n_problems, 0, "no map, so no map problems");
	cat_diff_free(d);
}

Test(diff, removed_state_with_a_complete_map_is_migrated)
{
	struct cat_map *m = map_of("# comment\n\nstate submitted -> review  # trailing comment\n");
	static const char *const want[] = {
		"breaking: action draft.submit: target submitted -> review",
		"breaking: state submitted: removed; expedients move to review",
		"additive: state review: added",
	};
	struct cat_diff *d = expect_diff(FIXTURE("removed-state.lua"), m, want, 3);
	cr_expect_eq(d->verdict, CAT_CHANGE_BREAKING);
	cr_expect(d->migrated);
	cr_expect_str_eq(cat_map_state(m, "submitted"), "review");
	cr_expect_null(cat_map_state(m, "draft"));
	cat_diff_free(d);
	cat_map_free(m);
}

Test(diff, incomplete_map_names_what_it_misses_and_what_does_not_apply)
{
	struct cat_map *m = map_of("field assumpte -> drop\n");
	struct cat_diff *d = expect_diff(FIXTURE("removed-state.lua"), m, removed_state, 3);
	cr_expect_not(d->migrated);
	cr_assert_eq(d->n_problems, 2);
	cr_expect_eq(d->problems[0].line, 0);
	cr_expect_str_eq(d->problems[0].msg, "missing: state submitted was removed; say where its "
	                 "expedients go (state submitted -> STATE)");
	cr_expect_eq(d->problems[1].line, 1);
	cr_expect_str_eq(d->problems[1].msg, "field assumpte was neither removed nor retyped");
	cat_diff_free(d);
	cat_map_free(m);
}

Test(diff, map_destination_must_exist_in_the_new_version)
{
	struct cat_map *m = map_of("state submitted -> limbo\n");
	struct cat_diff *d = expect_diff(FIXTURE("removed-state.lua"), m, removed_state, 3);
	cr_expect_not(d->migrated);
	cr_assert_eq(d->n_problems, 2);
	cr_expect_str_eq(d->problems[0].msg, "missing: state submitted was removed; say where its "
	                 "expedients go (state submitted -> STATE)");
	cr_expect_eq(d->problems[1].line, 1);
	cr_expect_str_eq(d->problems[1].msg, "state limbo does not exist in the new version");
	cat_diff_free(d);
	cat_map_free(m);
}

Test(diff, same_file_is_identical)
{
	struct cat_diff *d = expect_diff(GENERAL, NULL, NULL, 0);
	cr_expect(d->identical);
	cr_expect_eq(d->verdict, CAT_CHANGE_COSMETIC);
	cat_diff_free(d);
}

Test(diff, different_codes_are_refused)
{
	struct eng_definition *a = compile(GENERAL);
	struct eng_definition *b = compile(TRAMIT_SOURCE_DIR "/tramits/padro/certificat-empadronament.lua");
	struct cat_diff *d = NULL;
	struct eng_error err = {0};
	cr_expect_eq(cat_diff_compare(&d, a, b, NULL, &err), ENG_EINVALID);
	cr_expect_null(d);
	cr_expect_str_eq(err.msg, "the old version is GEN-001 but the new one is PAD-005: compare "
	                 "two versions of one tràmit");
	eng_definition_free(a);
	eng_definition_free(b);
}

Test(diff, tightened_and_relaxed_limits_and_required_flags)
{
	/* The definitions are data: edit a compiled copy in place to vary one rule at a time. */
	struct eng_definition *a = compile(GENERAL), *b = compile(GENERAL);
	struct eng_field *assumpte = (struct eng_field *)eng_definition_field(b, "assumpte");
	struct eng_field *telefon = (struct eng_field *)eng_definition_field(b, "telefon");
	assumpte->max = 100;
	telefon->required = true;
	b->hash[0] = b->hash[0] == '0' ? '1' : '0';
	struct cat_diff *d = NULL;
	struct eng_error err = {0};
	cr_assert_eq(cat_diff_compare(&d, a, b, NULL, &err), 0);
	cr_assert_eq(d->n_changes, 2);
	char line[512];
	cat_change_format(&d->changes[0], line, sizeof(line));
	cr_expect_str_eq(line, "breaking: field assumpte: max 150 -> 100");
	cat_change_format(&d->changes[1], line, sizeof(line));
	cr_expect_str_eq(line, "breaking: field telefon: made required");
	cat_diff_free(d);
	assumpte->max = 300;
	telefon->required = false;
	cr_assert_eq(cat_diff_compare(&d, a, b, NULL, &err), 0);
	cr_assert_eq(d->n_changes, 1);
	cat_change_format(&d->changes[0], line, sizeof(line));
	cr_expect_str_eq(line, "additive: field assumpte: max 150 -> 300");
	cr_expect_eq(d->verdict, CAT_CHANGE_ADDITIVE);
	cat_diff_free(d);
	assumpte->max = 150;
	cr_assert_eq(cat_diff_compare(&d, a, b, NULL, &err), 0);
	cat_change_format(&d->changes[0], line, sizeof(line));
	cr_expect_str_eq(line, "breaking: tramit GEN-001: unclassified change (order of sections, "
	                 "fields, options or states?)", "a hash change nothing explains is breaking");
	cat_diff_free(d);
	eng_definition_free(a);
	eng_definition_free(b);
}

Test(map, parse_refuses_bad_lines_with_file_and_line)
{
	static const struct { const char *text, *msg; } cases[] = {
		{"state a -> b\nmove a to b\n", "m.map:2: expected 'state OLD -> NEW' or 'field OLD -> NEW|drop', got 'move a to b'"},
		{"state a b\n", "m.map:1: expected 'state OLD -> NEW' or 'field OLD -> NEW|drop', got 'state a b'"},
		{"state a -> drop x\n", "m.map:1: expected 'state OLD -> NEW' or 'field OLD -> NEW|drop', got 'state a -> drop x'"},
		{"field Tel -> x\n", "m.map:1: 'Tel -> x': names use a-z, 0-9 and _ and start with a letter"},
		{"state a -> b\nstate a -> c\n", "m.map:2: state a is already mapped at line 1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cat_map *m = NULL;
		struct eng_error err = {0};
		cr_expect_eq(cat_map_parse(&m, "m.map", cases[i].text, strlen(cases[i].text), &err),
		             ENG_EINVALID, "%s", cases[i].text);
		cr_expect_null(m);
		cr_expect_str_eq(err.msg, cases[i].msg);
	}
}

Test(map, state_to_drop_is_a_name_not_a_drop)
{
	/* Only fields can be dropped; "drop" after a state names a state called drop. */
	struct cat_map *m = map_of("state a -> drop\nfield b -> drop\nfield c -> d\n");
	cr_expect_str_eq(cat_map_state(m, "a"), "drop");
	cr_expect_str_eq(cat_map_field(m, "b")->to, "");
	cr_expect_str_eq(cat_map_field(m, "c")->to, "d");
	cr_expect_eq(cat_map_field(m, "c")->line, 3);
	cat_map_free(m);
}
