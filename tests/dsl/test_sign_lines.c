/* Signature circuits written as lines (issue 6): lines in order, any/all per line, approvals
 * per line or per signer; the signers/order/need form still compiles, as lines; bad shapes
 * are refused with file:line; the hash and the catalogue diff tell circuits apart. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "catalog/diff.h"
#include "dsl/dsl.h"

static const char base[] =
	"tramit \"SIG-002\" { version = \"1\", title = { ca = \"P\", es = \"P\" }, family = \"f\", unit = \"u\",\n"
	"applicant = { \"person\" }, legal = { basis = \"b\", silence = \"none\" },\n"
	"form = { section \"s\" { label = { ca = \"S\", es = \"S\" },\n"
	"  number \"n\" { label = { ca = \"N\", es = \"N\" } } } },\n"
	"states = { state \"a\" { initial = true, label = { ca = \"A\", es = \"A\" },\n"
	"  action \"go\" { label = { ca = \"G\", es = \"G\" }, by = applicant, to = \"b\", form = true,\n"
	"    sign = %s } },\n"
	"  state \"b\" { final = true, label = { ca = \"B\", es = \"B\" } } } }\n";

static struct eng_definition *compile_sign(const char *sign, char first[600])
{
	char src[4096];
	snprintf(src, sizeof(src), base, sign);
	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags);
	first[0] = '\0';
	if (diags.n)
		dsl_diag_format(&diags.items[0], first, 600);
	dsl_diags_free(&diags);
	return def;
}

static const struct eng_sign *sign_of(const struct eng_definition *def)
{
	return eng_state_action(eng_definition_state(def, "a"), "go")->sign;
}

Test(sign_lines, lines_compile_with_need_and_approvals)
{
	char first[600];
	struct eng_definition *def = compile_sign(
		"{ document = \"resolucio\", lines = { { role \"cap_servei\" },\n"
		"  { role \"intervencio\", role \"secretaria\", need = \"any\" },\n"
		"  { { role \"tecnic\", approve = true }, role \"alcaldia\" }, { role \"arxiu\", approve = true } } }",
		first);
	cr_assert_not_null(def, "%s", first);
	const struct eng_sign *s = sign_of(def);
	cr_assert(s->explicit_lines);
	cr_assert_eq(s->n_lines, 4);
	cr_expect_eq(s->lines[0].n_signers, 1);
	cr_expect(!s->lines[0].any);
	cr_expect(s->lines[1].any);
	cr_expect_str_eq(s->lines[1].signers[1].role, "secretaria");
	cr_expect(s->lines[2].signers[0].approve);
	cr_expect(!s->lines[2].signers[1].approve);
	cr_expect(s->lines[3].signers[0].approve);
	/* The flat list feeds the effect's arguments. */
	cr_assert_eq(s->n_signers, 6);
	cr_expect_str_eq(s->signers[5], "arxiu");
	eng_definition_free(def);
}

Test(sign_lines, the_signers_form_becomes_lines)
{
	char first[600];
	struct eng_definition *seq = compile_sign(
		"{ document = \"r\", signers = { role \"a\", role \"b\" }, order = \"sequential\" }", first);
	cr_assert_not_null(seq, "%s", first);
	cr_expect(!sign_of(seq)->explicit_lines);
	cr_assert_eq(sign_of(seq)->n_lines, 2);
	cr_expect_str_eq(sign_of(seq)->lines[1].signers[0].role, "b");
	struct eng_definition *par = compile_sign(
		"{ document = \"r\", signers = { role \"a\", role \"b\" }, order = \"parallel\", need = \"any\" }", first);
	cr_assert_not_null(par, "%s", first);
	cr_assert_eq(sign_of(par)->n_lines, 1);
	cr_expect_eq(sign_of(par)->lines[0].n_signers, 2);
	cr_expect(sign_of(par)->lines[0].any);
	eng_definition_free(seq);
	eng_definition_free(par);
}

Test(sign_lines, the_hash_tells_line_groupings_apart)
{
	char first[600];
	struct eng_definition *a = compile_sign("{ document = \"r\", lines = { { role \"x\" }, { role \"y\" } } }", first);
	struct eng_definition *b = compile_sign("{ document = \"r\", lines = { { role \"x\", role \"y\" } } }", first);
	struct eng_definition *c = compile_sign("{ document = \"r\", lines = { { role \"x\", role \"y\", need = \"any\" } } }", first);
	struct eng_definition *d = compile_sign("{ document = \"r\", lines = { { role \"x\", role \"y\", approve = true } } }", first);
	cr_assert(a && b && c && d);
	cr_expect_str_neq(a->hash, b->hash);
	cr_expect_str_neq(b->hash, c->hash);
	cr_expect_str_neq(b->hash, d->hash);
	eng_definition_free(a);
	eng_definition_free(b);
	eng_definition_free(c);
	eng_definition_free(d);
}

static void refused(const char *sign, const char *want)
{
	char first[600];
	struct eng_definition *def = compile_sign(sign, first);
	cr_expect_null(def, "%s compiled", sign);
	cr_expect_str_eq(first, want, "for %s: got %s", sign, first);
	eng_definition_free(def);
}

Test(sign_lines, bad_shapes_are_refused_with_file_and_line)
{
	refused("{ document = \"r\", lines = {} }", "t.lua:6: sign: lines must list at least one line { role \"...\" }");
	refused("{ document = \"r\", lines = { { } } }",
	        "t.lua:6: sign: line 1 must be { role \"...\", ... } with at least one signer, got table");
	refused("{ document = \"r\", lines = { { role \"a\", need = \"most\" } } }",
	        "t.lua:6: sign: line 1 need must be all or any, got 'most'");
	refused("{ document = \"r\", lines = { { \"a\" } } }",
	        "t.lua:6: sign: line 1 signer 1 must be role \"name\" or { role \"name\", approve = true }, got string");
	refused("{ document = \"r\", lines = { { role \"a\", role \"a\" } } }",
	        "t.lua:6: sign: line 1 names role 'a' twice");
	refused("{ document = \"r\", lines = { { role \"a\" } }, order = \"parallel\" }",
	        "t.lua:6: sign: write either lines = {...} or signers/order/need, not both (each line says its own need)");
	refused("{ document = \"r\", lines = \"a\" }",
	        "t.lua:6: sign: lines must be a list of lines { role \"...\" }, got string");
	refused("{ document = \"r\", lines = { { role \"a\", quorum = 2 } } }",
	        "t.lua:6: unknown attribute 'quorum' in sign line");
}

/* catalog/diff.c: regrouping the lines of a circuit is a breaking change to the action. */

Test(sign_lines, the_catalogue_diff_sees_a_regrouped_circuit)
{
	char first[600];
	struct eng_definition *a = compile_sign("{ document = \"r\", lines = { { role \"x\" }, { role \"y\" } } }", first);
	struct eng_definition *b = compile_sign("{ document = \"r\", lines = { { role \"x\", role \"y\", need = \"any\" } } }", first);
	cr_assert(a && b);
	struct cat_diff *d;
	struct eng_error err = {0};
	cr_assert_eq(cat_diff_compare(&d, a, b, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(d->n_changes, 1);
	char line[400];
	cat_change_format(&d->changes[0], line, sizeof(line));
	cr_expect_str_eq(line, "breaking: action a.go: signature circuit changed");
	cat_diff_free(d);
	cr_assert_eq(cat_diff_compare(&d, a, a, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq(d->n_changes, 0);
	cat_diff_free(d);
	eng_definition_free(a);
	eng_definition_free(b);
}
