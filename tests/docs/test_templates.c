/* Document templates in the DSL (issue 6): documents = { name = template { ... } } compiles into
 * the definition (sorted by name, in the canonical form), an unknown placeholder and an action
 * naming a document without a template are refused at file:line with exact messages, and the
 * filling writes what a citizen reads (option labels, euros, dates) in each language. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl.h"
#include "engine/core/template.h"

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

/* A small tràmit: its documents block and the deny action's document are the parameters. */
static char *source(const char *documents, const char *deny_document)
{
	static const char fmt[] =
		"local function t(ca, es) return { ca = ca, es = es } end\n"           /* 1 */
		"tramit \"DOC-001\" {\n"                                                  /* 2 */
		"  version = \"1\", title = t(\"Prova\", \"Prueba\"), family = \"f\", unit = \"u\",\n" /* 3 */
		"  applicant = { \"person\" }, legal = { basis = \"b\", silence = \"negative\" },\n" /* 4 */
		"  form = { section \"s\" { label = t(\"S\", \"S\"),\n"                  /* 5 */
		"    choice \"tipus\" { label = t(\"Tipus\", \"Tipo\"), options = {\n"     /* 6 */
		"      option \"a\" { ca = \"Opció A\", es = \"Opción A\" } } },\n"        /* 7 */
		"    money \"import\" { label = t(\"Import\", \"Importe\") },\n"          /* 8 */
		"    date \"dia\" { label = t(\"Dia\", \"Día\") },\n"                      /* 9 */
		"    group \"g\" { label = t(\"G\", \"G\"), text \"x\" { label = t(\"X\", \"X\") } } } },\n" /* 10 */
		"  documents = %s,\n"                                                     /* 11 */
		"  states = {\n"                                                          /* 12 */
		"    state \"draft\" { initial = true, label = t(\"E\", \"B\"),\n"         /* 13 */
		"      action \"submit\" { label = t(\"P\", \"P\"), by = applicant, to = \"done\", form = true },\n" /* 14 */
		"      action \"deny\" { label = t(\"D\", \"D\"), by = role \"tecnic\", to = \"done\", document = \"%s\" } },\n" /* 15 */
		"    state \"done\" { final = true, label = t(\"F\", \"F\") },\n"          /* 16 */
		"  },\n"
		"}\n";
	size_t n = sizeof(fmt) + strlen(documents) + strlen(deny_document);
	char *s = malloc(n);
	snprintf(s, n, fmt, documents, deny_document);
	return s;
}

static const char *problems(const char *documents, const char *deny_document)
{
	char *src = source(documents, deny_document);
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags);
	free(src);
	cr_assert_eq(rc, ENG_EINVALID, "rc = %d", rc);
	cr_assert_null(def);
	const char *all = format_all(&diags);
	dsl_diags_free(&diags);
	return all;
}

static struct eng_definition *compiled(const char *documents, const char *deny_document)
{
	char *src = source(documents, deny_document);
	struct eng_definition *def = NULL;
	struct dsl_diags diags = { 0 };
	int rc = dsl_compile_string(&def, "t.lua", src, strlen(src), NULL, &diags);
	free(src);
	cr_assert_eq(rc, 0, "%s", format_all(&diags));
	dsl_diags_free(&diags);
	return def;
}

#define RESOLUCIO \
	"{ resolucio = template { kind = \"resolution\", title = t(\"Resolució\", \"Resolución\"),\n" \
	"    body = t(\"Exp. {expedient.number}: {data.tipus}, {data.import}, {data.dia} {{x}\", " \
	"\"Exp. {expedient.number}: {data.tipus}, {data.import}, {data.dia}\") },\n" \
	"  avis = template { kind = \"other\", title = t(\"A\", \"A\"), body = t(\"{entity.name}\", \"{entity.name}\") } }"

Test(docs_templates, compile_keeps_templates_sorted_with_their_kind)
{
	struct eng_definition *def = compiled(RESOLUCIO, "resolucio");
	cr_assert_eq(def->n_templates, 2);
	cr_assert_str_eq(def->templates[0].name, "avis");
	cr_assert_eq(def->templates[0].kind, ENG_DOC_OTHER);
	cr_assert_str_eq(def->templates[1].name, "resolucio");
	cr_assert_eq(def->templates[1].kind, ENG_DOC_RESOLUTION);
	cr_assert_eq(def->templates[1].line, 11);
	cr_assert_str_eq(def->templates[1].title.es, "Resolución");
	char *canon = NULL;
	size_t n = 0;
	cr_assert_eq(dsl_definition_canonical(&canon, &n, def), 0);
	cr_assert(strstr(canon, "document \"resolucio\" kind resolution") != NULL, "%s", canon);
	free(canon);
	eng_definition_free(def);
}

Test(docs_templates, unknown_placeholder_is_refused_at_its_line)
{
	const char *all = problems("{ resolucio = template { kind = \"resolution\", title = t(\"R\", \"R\"), "
	                           "body = t(\"{expedient.numero}\", \"{data.x}\") } }", "resolucio");
	cr_assert_str_eq(all,
		"t.lua:11: document 'resolucio': body.ca: unknown placeholder {expedient.numero}; use "
		"expedient.number|date, tramit.code|title, applicant.name|nif, registry.number|date, "
		"entity.name, document.date|csv, data.FIELD, data.GROUP or data.GROUP.FIELD\n"
		"t.lua:11: document 'resolucio': body.es: placeholder {data.x} names no field or group of the "
		"form (a field of a repeatable group is named data.GROUP.FIELD)");
	/* Nor a group's field that is not in that group. */
	all = problems("{ resolucio = template { kind = \"resolution\", title = t(\"R\", \"R\"), "
	               "body = t(\"{data.g.x}\", \"{data.g.tipus}\") } }", "resolucio");
	cr_assert_str_eq(all, "t.lua:11: document 'resolucio': body.es: placeholder {data.g.tipus} names no "
	                      "field or group of the form (a field of a repeatable group is named "
	                      "data.GROUP.FIELD)");
}

/* A repeatable group: one field of every instance, or every instance on a line of its own. */
Test(docs_templates, fill_lists_the_instances_of_a_repeatable_group)
{
	struct eng_definition *def = compiled("{ resolucio = template { kind = \"resolution\", title = "
	                                      "t(\"R\", \"R\"), body = t(\"{data.g.x}|{data.g}\", \"{data.g}\") } }",
	                                      "resolucio");
	struct eng_arena a = { 0 };
	/* Instances as the form posts them, in any order; the second has no answer. */
	struct eng_value data[] = { { "g.3.x", "tercer" }, { "g.1.x", "primer" }, { "tipus", "a" } };
	struct eng_template_context ctx = { .def = def, .data = data, .n_data = 3 };
	const struct eng_template *tp = eng_definition_template(def, "resolucio");
	cr_assert_str_eq(eng_template_fill(&a, tp->body.ca, &ctx, ENG_LANG_CA),
	                 "primer, \xe2\x80\x94, tercer|1. X: primer\n2.\n3. X: tercer");
	ctx.n_data = 1; /* only g.3.x */
	ctx.data = data;
	cr_assert_str_eq(eng_template_fill(&a, tp->body.es, &ctx, ENG_LANG_ES),
	                 "1.\n2.\n3. X: tercer");
	ctx.n_data = 0;
	cr_assert_str_eq(eng_template_fill(&a, tp->body.es, &ctx, ENG_LANG_ES), "\xe2\x80\x94");
	eng_arena_free(&a);
	eng_definition_free(def);
}

Test(docs_templates, action_naming_a_document_without_template_is_refused)
{
	const char *all = problems(RESOLUCIO, "certificat");
	/* RESOLUCIO spans three lines, so the deny action is on line 17. */
	cr_assert_str_eq(all, "t.lua:17: action 'deny' issues document 'certificat', which has no "
	                      "template: add documents = { certificat = template { kind = ..., "
	                      "title = ..., body = ... } }");
}

Test(docs_templates, bad_kind_unclosed_brace_and_missing_language_are_refused)
{
	const char *all = problems("{ resolucio = template { kind = \"decree\", title = t(\"R\", \"R\"), "
	                           "body = { ca = \"{document.date\" } } }", "resolucio");
	cr_assert_str_eq(all,
		"t.lua:11: document 'resolucio': kind must be requirement, resolution, certificate, "
		"silence_certificate, proposal or other, got 'decree'\n"
		"t.lua:11: document 'resolucio': body needs both ca and es\n"
		"t.lua:11: document 'resolucio': body.ca: unclosed { at character 1 (write {{ for a "
		"literal brace)");
}

Test(docs_templates, fill_writes_what_a_citizen_reads_in_each_language)
{
	struct eng_definition *def = compiled(RESOLUCIO, "resolucio");
	struct eng_arena a = { 0 };
	struct eng_value data[] = { { "tipus", "a" }, { "import", "123456" }, { "dia", "2026-01-22" } };
	struct eng_template_context ctx = { .def = def, .data = data, .n_data = 3,
	                                    .expedient_number = "2026/000007",
	                                    .entity_name = { "Ajuntament", "Ayuntamiento" } };
	const struct eng_template *tp = eng_definition_template(def, "resolucio");
	cr_assert_not_null(tp);
	cr_assert_str_eq(eng_template_fill(&a, tp->body.ca, &ctx, ENG_LANG_CA),
	                 "Exp. 2026/000007: Opció A, 1.234,56 \xe2\x82\xac, 22/01/2026 {x}");
	cr_assert_str_eq(eng_template_fill(&a, tp->body.es, &ctx, ENG_LANG_ES),
	                 "Exp. 2026/000007: Opción A, 1.234,56 \xe2\x82\xac, 22/01/2026");
	const struct eng_template *avis = eng_definition_template(def, "avis");
	cr_assert_str_eq(eng_template_fill(&a, avis->body.es, &ctx, ENG_LANG_ES), "Ayuntamiento");
	/* A value nobody gave prints as an em dash, not as nothing. */
	ctx.n_data = 0;
	cr_assert_str_eq(eng_template_fill(&a, tp->body.es, &ctx, ENG_LANG_ES),
	                 "Exp. 2026/000007: \xe2\x80\x94, \xe2\x80\x94, \xe2\x80\x94");
	cr_assert_str_eq(eng_doc_kind_eni_type(tp->kind), "TD01");
	eng_arena_free(&a);
	eng_definition_free(def);
}

/* The renderer (connectors/docs/issued.c): a record that is not an issued document is refused
 * naming the member, and a character the PDF's font lacks prints as "?" instead of blocking
 * the act; the same record always gives the same bytes. */
#include <unistd.h>

#include "connectors/docs/docs.h"
#include "connectors/docs/issued.h"
#include "tests/support/shell.h"

#define RECORD(body) \
	"{\"type\":\"issued\",\"name\":\"resolucio\",\"kind\":\"resolution\",\"title_ca\":\"Resolució\"," \
	"\"title_es\":\"Resolución\",\"body_ca\":\"" body "\",\"body_es\":\"Cuerpo\",\"entity\":" \
	"{\"name_ca\":\"Ajuntament de Prova\",\"name_es\":\"Ayuntamiento de Prueba\",\"organ\":\"L01\"}," \
	"\"tramit\":{\"code\":\"DOC-001\",\"title_ca\":\"Prova\",\"title_es\":\"Prueba\"},\"applicant\":" \
	"{\"name\":\"Maria\",\"nif\":\"12345678Z\"},\"expedient_number\":\"2026/000007\"," \
	"\"registry_number\":\"E/2026/000003\",\"issued_at\":\"2026-03-02T10:15:30+01:00\"," \
	"\"csv\":\"ABCD-EFGH-JKLM\",\"eni_id\":\"ES_L01_2026_x\",\"eni_type\":\"TD01\",\"sealed\":false}"

Test(docs_templates, renderer_prints_what_the_font_lacks_as_a_question_mark)
{
	unsigned char *pdf = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	struct conn_error err = {0};
	cr_assert_eq(conn_doc_issued_pdf(&pdf, &len, RECORD("Bar \xf0\x9f\x8d\xba Demo"),
	                                 "https://seu.example.org", &err), 0, "%s", err.msg);
	cr_assert_eq(conn_doc_issued_pdf(&again, &len2, RECORD("Bar \xf0\x9f\x8d\xba Demo"),
	                                 "https://seu.example.org", &err), 0, "%s", err.msg);
	cr_assert_eq(len, len2);
	cr_assert_eq(memcmp(pdf, again, len), 0, "the same record gave other bytes");
	char path[] = "/tmp/tramit-issued-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
	close(fd);
	char *text;
	cr_assert_eq(shell_run(&text, NULL, "pdftotext -enc UTF-8 %s - | tr '\\n' ' '", path), 0);
	cr_assert(strstr(text, "Bar ? Demo") != NULL, "%s", text);
	cr_assert(strstr(text, "ABCD-EFGH-JKLM") != NULL, "%s", text);
	free(text);
	unlink(path);
	conn_doc_free(pdf);
	conn_doc_free(again);
	cr_assert_eq(conn_doc_issued_pdf(&pdf, &len, "{\"type\":\"receipt\"}", "https://seu.example.org",
	                                 &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "document: type: expected \"issued\", found receipt");
	cr_assert_null(pdf);
}

/* catalog/diff.c: new wording is cosmetic (it strands nothing), a new template additive,
 * another kind breaking; the hash changes with any of them. */
#include "catalog/diff.h"

Test(docs_templates, diff_classifies_template_changes)
{
	struct eng_definition *a = compiled(RESOLUCIO, "resolucio");
	struct eng_definition *b = compiled(
		"{ resolucio = template { kind = \"resolution\", title = t(\"Resolució\", \"Resolución\"),\n"
		"    body = t(\"Nou text {expedient.number}\", \"Nuevo texto {expedient.number}\") },\n"
		"  avis = template { kind = \"requirement\", title = t(\"A\", \"A\"), body = t(\"{entity.name}\", \"{entity.name}\") },\n"
		"  nou = template { kind = \"other\", title = t(\"N\", \"N\"), body = t(\"N\", \"N\") } }",
		"resolucio");
	cr_assert_str_neq(a->hash, b->hash);
	struct cat_diff *d = NULL;
	struct eng_error err = {0};
	cr_assert_eq(cat_diff_compare(&d, a, b, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(d->n_changes, 3);
	cr_assert_str_eq(d->changes[0].name, "document avis");
	cr_assert_str_eq(d->changes[0].what, "kind other -> requirement");
	cr_assert_eq(d->changes[0].cls, CAT_CHANGE_BREAKING);
	cr_assert_str_eq(d->changes[1].name, "document resolucio");
	cr_assert_str_eq(d->changes[1].what, "text changed");
	cr_assert_eq(d->changes[1].cls, CAT_CHANGE_COSMETIC);
	cr_assert_str_eq(d->changes[2].name, "document nou");
	cr_assert_eq(d->changes[2].cls, CAT_CHANGE_ADDITIVE);
	cat_diff_free(d);
	eng_definition_free(a);
	eng_definition_free(b);
}
