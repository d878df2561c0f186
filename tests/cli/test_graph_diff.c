/* `tramit graph` and `tramit diff` run as a designer runs them: the SVG parsed back with libxml2
 * (no network, no DTD) holding every state and action, and the exact diff lines, verdicts and
 * exit statuses for the fixtures of tests/fixtures/diff. */
#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dsl/dsl.h"
#include "tests/support/shell.h"

/* Every text of the elements named `element` (text, title), one per line. */
static void collect(xmlNode *node, const char *element, char *buf, size_t size)
{
	for (xmlNode *n = node; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, element) == 0) {
			xmlChar *t = xmlNodeGetContent(n);
			size_t len = strlen(buf);
			snprintf(buf + len, size - len, "%s\n", t ? (const char *)t : "");
			xmlFree(t);
		}
		collect(n->children, element, buf, size);
	}
}

static bool has_line(const char *lines, const char *want)
{
	size_t n = strlen(want);
	for (const char *p = lines; (p = strstr(p, want)); p++)
		if ((p == lines || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define TERRASSA "tramits/via-publica/terrassa.lua"

Test(graph, terrassa_svg_is_xml_with_every_state_and_action)
{
	char *svg;
	size_t len;
	int rc = shell_run(&svg, &len, "cd %s && %s graph " TERRASSA, TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_assert_eq(rc, 0);
	/* XML_PARSE_NONET and no DTD loading: the DOCTYPE's address must never be fetched. */
	xmlDoc *doc = xmlReadMemory(svg, (int)len, "graph.svg", NULL, XML_PARSE_NONET);
	cr_assert_not_null(doc, "the SVG is not well-formed XML");
	xmlNode *root = xmlDocGetRootElement(doc);
	cr_assert_str_eq((const char *)root->name, "svg");
	static char texts[65536], titles[65536];
	texts[0] = titles[0] = '\0';
	collect(root, "text", texts, sizeof(texts));
	collect(root, "title", titles, sizeof(titles));

	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	cr_assert_eq(dsl_compile_file(&def, TRAMIT_SOURCE_DIR "/" TERRASSA, NULL, &diags), 0);
	for (size_t i = 0; i < def->n_states; i++) {
		const struct eng_state *s = &def->states[i];
		cr_expect(has_line(titles, s->name), "state %s has no node", s->name);
		cr_expect(has_line(texts, s->name), "state %s is not written", s->name);
		for (size_t j = 0; j < s->n_actions; j++)
			cr_expect(has_line(texts, s->actions[j].name), "action %s is not written",
			          s->actions[j].name);
	}
	eng_definition_free(def);
	dsl_diags_free(&diags);

	cr_expect(has_line(texts, "VIA-001 (version 1): Autorització de terrassa"));
	cr_expect(has_line(texts, "initial, applicant must act"));
	cr_expect(has_line(texts, "Pendent d'esmena"), "the citizen label in Valencian");
	cr_expect(has_line(texts, "by role cap (via-publica)"));
	cr_expect(has_line(texts, "by role tecnic"));
	cr_expect(has_line(texts, "by applicant"));
	cr_expect(has_line(texts, "deadline 10 business days"));
	cr_expect(has_line(texts, "alert after 7 business days"));
	cr_expect(has_line(texts, "silence (negative) after 3 months"));
	cr_expect(has_line(titles, "fixing->withdrawn"), "the deadline is an edge to on_expiry");
	xmlFreeDoc(doc);
	free(svg);
}

Test(graph, signature_circuit_and_outcomes_are_edges)
{
	char *svg;
	size_t len;
	int rc = shell_run(&svg, &len, "cd %s && %s graph tramits/participacio/subvencions-associacions.lua",
	             TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_assert_eq(rc, 0);
	xmlDoc *doc = xmlReadMemory(svg, (int)len, "graph.svg", NULL, XML_PARSE_NONET);
	cr_assert_not_null(doc);
	static char texts[65536];
	texts[0] = '\0';
	collect(xmlDocGetRootElement(doc), "text", texts, sizeof(texts));
	cr_expect(has_line(texts, "sign resolucio: cap_servei then (intervencio or secretaria) then alcaldia"), "%s", texts);
	cr_expect(has_line(texts, "on signed: notify_grant"));
	cr_expect(has_line(texts, "on rejected: back_to_proposal"));
	cr_expect(has_line(texts, "by system"));
	xmlFreeDoc(doc);
	free(svg);
}

Test(graph, writes_the_file_given_with_o)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s graph " TERRASSA " -o /tmp/tramit-graph-test.svg && "
	             "head -c 5 /tmp/tramit-graph-test.svg && rm /tmp/tramit-graph-test.svg",
	             TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(out, "<?xml");
	free(out);
}

Test(graph, file_with_errors_prints_diagnostics_and_exits_1)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s graph tests/fixtures/dsl/undefined_state.lua 2>&1",
	             TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tests/fixtures/dsl/undefined_state.lua:11: action 'submit' moves to "
	                 "undefined state 'submited'\n");
	free(out);
}

Test(graph, usage_errors_exit_2)
{
	char *out;
	cr_expect_eq(shell_run(&out, NULL, "%s graph 2>&1", TRAMIT_BINARY), 2);
	cr_expect_str_eq(out, "usage: tramit graph FILE [-o OUT.svg]\n");
	free(out);
	cr_expect_eq(shell_run(&out, NULL, "%s graph a.lua b.lua 2>&1", TRAMIT_BINARY), 2);
	free(out);
}

#define GENERAL "tramits/general/instancia-general.lua"
#define FIX "tests/fixtures/diff/"

/* Runs `tramit diff ARGS` in the source tree; checks the exit status and stdout exactly. */
static void expect_diff(int status, const char *want, const char *args)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s diff %s 2>/dev/null", TRAMIT_SOURCE_DIR, TRAMIT_BINARY,
	             args);
	cr_expect_eq(rc, status, "tramit diff %s: exit %d, output %s", args, rc, out);
	cr_expect_str_eq(out, want, "tramit diff %s", args);
	free(out);
}

Test(diff_cli, label_change_is_cosmetic)
{
	expect_diff(0, "cosmetic: field assumpte: label changed\nverdict: cosmetic\n",
	            GENERAL " " FIX "label.lua");
}

Test(diff_cli, new_optional_field_is_additive)
{
	expect_diff(0, "additive: field mobil: added (optional)\nverdict: additive\n",
	            GENERAL " " FIX "optional-field.lua");
}

Test(diff_cli, removed_field_is_breaking_unless_mapped)
{
	expect_diff(1, "breaking: field telefon: removed\nverdict: breaking\n",
	            GENERAL " " FIX "removed-field.lua");
	expect_diff(0, "breaking: field telefon: removed; values dropped\n"
	            "verdict: breaking, migrated by " FIX "removed-field.map\n",
	            GENERAL " " FIX "removed-field.lua --map " FIX "removed-field.map");
}

Test(diff_cli, removed_state_without_map_exits_1)
{
	expect_diff(1, "breaking: action draft.submit: target submitted -> review\n"
	            "breaking: state submitted: removed\n"
	            "additive: state review: added\n"
	            "verdict: breaking\n", GENERAL " " FIX "removed-state.lua");
}

Test(diff_cli, removed_state_with_complete_map_is_migrated)
{
	expect_diff(0, "breaking: action draft.submit: target submitted -> review\n"
	            "breaking: state submitted: removed; expedients move to review\n"
	            "additive: state review: added\n"
	            "verdict: breaking, migrated by " FIX "removed-state.map\n",
	            GENERAL " " FIX "removed-state.lua --map=" FIX "removed-state.map");
}

Test(diff_cli, incomplete_map_names_what_it_misses)
{
	expect_diff(1, "breaking: action draft.submit: target submitted -> review\n"
	            "breaking: state submitted: removed\n"
	            "additive: state review: added\n"
	            FIX "incomplete.map: missing: state submitted was removed; say where its "
	            "expedients go (state submitted -> STATE)\n"
	            FIX "incomplete.map:2: field assumpte was neither removed nor retyped\n"
	            "verdict: breaking, " FIX "incomplete.map is incomplete\n",
	            GENERAL " " FIX "removed-state.lua --map " FIX "incomplete.map");
}

Test(diff_cli, same_file_is_identical)
{
	expect_diff(0, "verdict: identical\n", GENERAL " " GENERAL);
}

Test(diff_cli, usage_errors_exit_2)
{
	char *out;
	cr_expect_eq(shell_run(&out, NULL, "cd %s && %s diff " GENERAL " 2>&1", TRAMIT_SOURCE_DIR,
	                 TRAMIT_BINARY), 2);
	cr_expect_str_eq(out, "usage: tramit diff OLD NEW [--map MAP]\n");
	free(out);
	cr_expect_eq(shell_run(&out, NULL, "cd %s && %s diff " GENERAL " tramits/padro/certificat-empadronament.lua 2>&1",
	                 TRAMIT_SOURCE_DIR, TRAMIT_BINARY), 2);
	cr_expect_str_eq(out, "tramit diff: the old version is GEN-001 but the new one is PAD-005: "
	                 "compare two versions of one tràmit\n");
	free(out);
	cr_expect_eq(shell_run(&out, NULL, "cd %s && printf 'move a\\n' > /tmp/tramit-bad.map && %s diff "
	                 GENERAL " " GENERAL " --map /tmp/tramit-bad.map 2>&1; rc=$?; rm -f /tmp/tramit-bad.map; exit $rc",
	                 TRAMIT_SOURCE_DIR, TRAMIT_BINARY), 2);
	cr_expect_str_eq(out, "/tmp/tramit-bad.map:1: expected 'state OLD -> NEW' or 'field OLD -> "
	                 "NEW|drop', got 'move a'\n");
	free(out);
}

Test(diff_cli, file_with_errors_prints_diagnostics_and_exits_1)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s diff " GENERAL " tests/fixtures/dsl/undefined_state.lua 2>&1",
	             TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tests/fixtures/dsl/undefined_state.lua:11: action 'submit' moves to "
	                 "undefined state 'submited'\n");
	free(out);
}
