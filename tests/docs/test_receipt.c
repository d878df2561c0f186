/* Receipts as PDF, read back by tools nobody here wrote: poppler's pdftotext for the text of
 * each page (body and left margin cropped apart), pdftoppm + zbarimg for the QR code of every
 * page, and byte comparison of re-renders. Also `tramit document render` as a process. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/docs/docs.h"
#include "tests/support/shell.h"

#define CSV "7K3M-QX2P-ABCD-EFGH-JKMN-PQR5"
#define BASE "https://seu.demostracio.es"
#define URL BASE "/verify?csv=" CSV
#define LONG_FIELDS 40

/* A receipt as the store writes it, with n_fields numbered fields after two real ones. */
static json_t *receipt_json(int n_fields)
{
	json_t *form = json_array();
	json_array_append_new(form, json_pack("{s:s, s:s, s:s, s:s}", "name", "assumpte",
	        "label_ca", "Assumpte", "label_es", "Asunto", "value", "Sol·licitud de còpia"));
	json_array_append_new(form, json_pack("{s:s, s:s, s:s, s:s}", "name", "exposicio",
	        "label_ca", "Exposició", "label_es", "Exposición", "value",
	        "Una línia molt llarga que s'ha de partir en diverses línies perquè no cap en "
	        "l'amplada de la pàgina, amb accents: àéèíïòóúüç ñ € i cometes “així”.\nSegona línia."));
	for (int i = 1; i <= n_fields; i++) {
		char name[32], ca[64], es[64], value[96];
		snprintf(name, sizeof(name), "camp%02d", i);
		snprintf(ca, sizeof(ca), "Camp %02d de la sol·licitud", i);
		snprintf(es, sizeof(es), "Campo %02d de la solicitud", i);
		snprintf(value, sizeof(value), "Valor %02d: Pçl·là € “ñ”", i);
		json_array_append_new(form, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
		                                      "label_ca", ca, "label_es", es, "value", value));
	}
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, "
	                 "s:{s:s, s:s}, s:o, s:s}",
	        "type", "receipt",
	        "entity", "id", "demo", "name_ca", "Ajuntament de Demostració",
	        "name_es", "Ayuntamiento de Demostración",
	        "registry_number", "E/2026/000042", "presented_at", "2026-03-02T10:15:30.123456+01:00",
	        "expedient_number", "GEN-2026-000042",
	        "tramit", "code", "GEN-001", "title_ca", "Instància general",
	        "title_es", "Instancia general", "definition_hash", "abc",
	        "applicant", "nif", "12345678Z", "name", "Maria Puig i Ferrer",
	        "form", form, "csv", CSV);
}

static char *receipt_text(int n_fields)
{
	json_t *doc = receipt_json(n_fields);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Renders and writes the PDF to a fresh /tmp file named in path. */
static void pdf_write(char path[64], const char *json, const char *lang)
{
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error err = {0};
	cr_assert_eq(conn_doc_receipt_pdf(&pdf, &len, json, lang, BASE "/", &err), 0, "%s", err.msg);
	cr_assert(len > 1000 && memcmp(pdf, "%PDF-", 5) == 0);
	snprintf(path, 64, "/tmp/tramit-docs-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
	close(fd);
	conn_doc_free(pdf);
}

/* The non-empty lines of a command's output. */
struct lines {
	char *buf;
	char *v[512];
	size_t n;
};

enum crop { CROP_BODY, CROP_MARGIN };

/* Page p of path as pdftotext reads it: without its left margin (x from 52 pt) or the margin
 * alone. */
static void lines_run(struct lines *l, enum crop crop, const char *path, int p)
{
	int rc = crop == CROP_BODY
	       ? shell_run(&l->buf, NULL, "pdftotext -enc UTF-8 -f %d -l %d -x 52 -y 0 -W 560 "
	                   "-H 842 %s -", p, p, path)
	       : shell_run(&l->buf, NULL, "pdftotext -enc UTF-8 -f %d -l %d -x 0 -y 0 -W 52 "
	                   "-H 842 %s -", p, p, path);
	cr_assert_eq(rc, 0, "pdftotext failed on page %d of %s", p, path);
	l->n = 0;
	for (char *save = NULL, *t = strtok_r(l->buf, "\n\f", &save); t;
	     t = strtok_r(NULL, "\n\f", &save))
		if (*t && l->n < 512)
			l->v[l->n++] = t;
}

static int page_count(const char *path)
{
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "pdfinfo %s 2>/dev/null | sed -n 's/^Pages: *//p'", path), 0);
	int n = atoi(out);
	free(out);
	return n;
}

static const char *const header_both[] = {
	"Ajuntament de Demostració", "Ayuntamiento de Demostración",
	"Justificant de registre d'entrada", "Justificante de registro de entrada",
	"Número de registre / Número de registro", "E/2026/000042",
	"Data i hora de presentació / Fecha y hora de presentación", "02/03/2026 10:15:30 (UTC+01:00)",
	"Número d'expedient / Número de expediente", "GEN-2026-000042",
	"Tràmit / Trámite", "Instància general / Instancia general (GEN-001)",
	"Persona interessada / Persona interesada", "Maria Puig i Ferrer (12345678Z)",
	"Dades presentades", "Datos presentados",
	"Assumpte / Asunto", "Sol·licitud de còpia",
	"Exposició / Exposición",
	"Una línia molt llarga que s'ha de partir en diverses línies perquè no cap en l'amplada de la pàgina,",
	"amb accents: àéèíïòóúüç ñ € i cometes “així”.",
	"Segona línia.",
};

static const char *const note_both[] = {
	"Este justificant acredita la presentació en el registre electrònic en la data i hora indicades (articles 16 i 31 de la Llei 39/2015).",
	"Este justificante acredita la presentación en el registro electrónico en la fecha y hora indicadas (artículos 16 y 31 de la Ley",
	"39/2015).",
};

/* Every line the body of a bilingual receipt with n numbered fields shows, in order, without
 * page numbers and running headers. */
static size_t expected_body(char want[][160], int n_fields)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(header_both) / sizeof(header_both[0]); i++)
		snprintf(want[n++], 160, "%s", header_both[i]);
	for (int i = 1; i <= n_fields; i++) {
		snprintf(want[n++], 160, "Camp %02d de la sol·licitud / Campo %02d de la solicitud", i, i);
		snprintf(want[n++], 160, "Valor %02d: Pçl·là € “ñ”", i);
	}
	for (size_t i = 0; i < sizeof(note_both) / sizeof(note_both[0]); i++)
		snprintf(want[n++], 160, "%s", note_both[i]);
	return n;
}

Test(receipt, a_long_form_paginates_with_every_label_and_value_in_both_languages)
{
	char *json = receipt_text(LONG_FIELDS), path[64];
	pdf_write(path, json, NULL);
	int pages = page_count(path);
	cr_assert_eq(pages, 3);
	/* qpdf checks the file's structure (xref, streams, page tree) on its own terms. */
	char *qpdf;
	int qrc = shell_run(&qpdf, NULL, "qpdf --check %s 2>&1", path);
	cr_expect_eq(qrc, 0, "qpdf --check: %s", qpdf);
	cr_expect(strstr(qpdf, "No syntax or stream encoding errors found") != NULL, "%s", qpdf);
	free(qpdf);
	static char want[512][160];
	size_t n_want = expected_body(want, LONG_FIELDS), seen = 0;
	for (int p = 1; p <= pages; p++) {
		struct lines l;
		lines_run(&l, CROP_BODY, path, p);
		size_t from = 0, to = l.n;
		char number[64];
		snprintf(number, sizeof(number), "Pàgina %d de 3 / Página %d de 3", p, p);
		cr_assert_gt(l.n, 2);
		cr_expect_str_eq(l.v[l.n - 1], number, "page %d", p);
		to--;
		if (p > 1) {
			cr_expect_str_eq(l.v[0], "Justificant de registre / Justificante de registro E/2026/000042");
			from++;
		}
		for (size_t i = from; i < to; i++, seen++) {
			cr_assert_lt(seen, n_want, "page %d: unexpected line '%s'", p, l.v[i]);
			cr_assert_str_eq(l.v[i], want[seen], "page %d, line %zu", p, i + 1);
		}
		free(l.buf);
	}
	cr_expect_eq(seen, n_want, "%zu of %zu lines found", seen, n_want);
	unlink(path);
	free(json);
}

Test(receipt, every_page_carries_the_csv_and_the_url_in_its_margin)
{
	char *json = receipt_text(LONG_FIELDS), path[64];
	pdf_write(path, json, NULL);
	for (int p = 1; p <= 3; p++) {
		struct lines l;
		lines_run(&l, CROP_MARGIN, path, p);
		cr_assert_eq(l.n, 2, "page %d: %zu lines in the margin", p, l.n);
		/* poppler lists the two vertical lines in its own order: compare as a set. */
		int csv = strncmp(l.v[0], "Codi", 4) == 0 ? 0 : 1;
		cr_expect_str_eq(l.v[csv], "Codi segur de verificació (CSV) / Código seguro de "
		                           "verificación (CSV): " CSV, "page %d", p);
		cr_expect_str_eq(l.v[1 - csv], "Verificació a / Verificación en: " URL, "page %d", p);
		free(l.buf);
	}
	unlink(path);
	free(json);
}

Test(receipt, the_qr_code_of_every_page_decodes_to_the_verification_url)
{
	char *json = receipt_text(LONG_FIELDS), path[64];
	pdf_write(path, json, NULL);
	for (int p = 1; p <= 3; p++) {
		char *out;
		cr_assert_eq(shell_run(&out, NULL, "pdftoppm -r 150 -png -f %d -l %d -singlefile %s %s-qr",
		                       p, p, path, path), 0);
		free(out);
		int rc = shell_run(&out, NULL, "zbarimg --raw -q %s-qr.png 2>/dev/null", path);
		cr_expect_eq(rc, 0, "page %d: zbarimg found no code", p);
		cr_expect_str_eq(out, URL "\n", "page %d", p);
		free(out);
		char png[80];
		snprintf(png, sizeof(png), "%s-qr.png", path);
		unlink(png);
	}
	unlink(path);
	free(json);
}

static bool contains(const unsigned char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return true;
	return false;
}

Test(receipt, the_same_receipt_renders_to_the_same_bytes)
{
	char *json = receipt_text(LONG_FIELDS);
	unsigned char *a = NULL, *b = NULL, *c = NULL;
	size_t la = 0, lb = 0, lc = 0;
	struct conn_error err = {0};
	cr_assert_eq(conn_doc_receipt_pdf(&a, &la, json, NULL, BASE, &err), 0, "%s", err.msg);
	cr_assert_eq(conn_doc_receipt_pdf(&b, &lb, json, NULL, BASE "/", &err), 0, "%s", err.msg);
	cr_assert_eq(conn_doc_receipt_pdf(&c, &lc, json, "ca", BASE, &err), 0, "%s", err.msg);
	cr_expect_eq(la, lb);
	cr_expect(la == lb && memcmp(a, b, la) == 0, "two renders differ");
	cr_expect(la != lc || memcmp(a, c, la) != 0, "the Valencian-only render equals the bilingual one");
	/* The creation date is the presentation time, not the clock. */
	cr_expect(contains(a, la, "/CreationDate (D:20260302101530+01'00')"));
	conn_doc_free(a);
	conn_doc_free(b);
	conn_doc_free(c);
	free(json);
}

Test(receipt, one_language_shows_only_that_language)
{
	char *json = receipt_text(0), path[64];
	pdf_write(path, json, "es");
	cr_assert_eq(page_count(path), 1);
	const char *const want[] = {
		"Ayuntamiento de Demostración", "Justificante de registro de entrada",
		"Número de registro", "E/2026/000042",
		"Fecha y hora de presentación", "02/03/2026 10:15:30 (UTC+01:00)",
		"Número de expediente", "GEN-2026-000042",
		"Trámite", "Instancia general (GEN-001)",
		"Persona interesada", "Maria Puig i Ferrer (12345678Z)",
		"Datos presentados", "Asunto", "Sol·licitud de còpia", "Exposición",
		"Una línia molt llarga que s'ha de partir en diverses línies perquè no cap en l'amplada de la pàgina,",
		"amb accents: àéèíïòóúüç ñ € i cometes “així”.", "Segona línia.",
		note_both[1], note_both[2], "Página 1 de 1",
	};
	struct lines l;
	lines_run(&l, CROP_BODY, path, 1);
	cr_assert_eq(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < l.n; i++)
		cr_expect_str_eq(l.v[i], want[i], "line %zu", i + 1);
	free(l.buf);
	lines_run(&l, CROP_MARGIN, path, 1);
	cr_assert_eq(l.n, 2);
	int csv = strncmp(l.v[0], "Código", 7) == 0 ? 0 : 1;
	cr_expect_str_eq(l.v[csv], "Código seguro de verificación (CSV): " CSV);
	cr_expect_str_eq(l.v[1 - csv], "Verificación en: " URL);
	free(l.buf);
	unlink(path);
	free(json);
}

/* Renders json, expecting CONN_EINVALID with exactly msg and nothing returned. */
static void expect_refused(const char *json, const char *lang, const char *base, const char *msg)
{
	unsigned char *pdf = (unsigned char *)"untouched";
	size_t len = 7;
	struct conn_error err = {0};
	cr_expect_eq(conn_doc_receipt_pdf(&pdf, &len, json, lang, base, &err), CONN_EINVALID);
	cr_expect_str_eq(err.msg, msg);
	cr_expect_null(pdf);
	cr_expect_eq(len, 0);
}

static char *receipt_with(const char *path_a, const char *key, const char *value)
{
	json_t *doc = receipt_json(0);
	json_t *obj = path_a ? json_object_get(doc, path_a) : doc;
	if (json_is_array(obj))
		obj = json_array_get(obj, 1);
	if (value)
		json_object_set_new(obj, key, json_string(value));
	else
		json_object_del(obj, key);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

Test(receipt, text_the_font_cannot_print_is_refused_naming_the_field)
{
	char *json = receipt_with("form", "value", "Exposició en 中文");
	expect_refused(json, NULL, BASE, "receipt: form[1] (exposicio) value: character 14 (U+4E2D) "
	               "cannot be printed in the PDF's font, which has the Latin letters of Valencian "
	               "and Spanish; replace it");
	free(json);
	json = receipt_with("applicant", "name", "Ελένη Παππά");
	expect_refused(json, NULL, BASE, "receipt: applicant.name: character 1 (U+0395) cannot be "
	               "printed in the PDF's font, which has the Latin letters of Valencian and "
	               "Spanish; replace it");
	free(json);
}

Test(receipt, malformed_receipts_and_options_are_refused)
{
	char *json = receipt_with("tramit", "title_es", NULL);
	expect_refused(json, NULL, BASE, "receipt: tramit.title_es: expected a string, found nothing");
	free(json);
	json = receipt_with(NULL, "type", "resolution");
	expect_refused(json, NULL, BASE, "receipt: type: expected \"receipt\", found resolution");
	free(json);
	json = receipt_with(NULL, "presented_at", "2026-02-30T10:00:00+01:00");
	expect_refused(json, NULL, BASE, "receipt: presented_at: expected an ISO 8601 time like "
	               "2026-03-02T10:15:30+01:00, found '2026-02-30T10:00:00+01:00'");
	free(json);
	json = receipt_text(0);
	expect_refused(json, "fr", BASE, "lang: expected ca, es or none (both), found 'fr'");
	expect_refused(json, NULL, "seu.demostracio.es", "verification URL: expected an http:// or "
	               "https:// address without spaces, found 'seu.demostracio.es'");
	expect_refused("{\"type\": ", NULL, BASE, "receipt: line 1: unexpected token near end of file");
	free(json);
}

/* A receipt with the procedure's information (art. 21.4 LPAC) rendered in one language. */
static struct lines procedure_lines_of(const char *procedure_json, const char *lang)
{
	json_t *doc = receipt_json(0);
	json_error_t jerr;
	json_object_set_new(doc, "procedure", json_loads(procedure_json, 0, &jerr));
	char *json = json_dumps(doc, JSON_COMPACT), path[64];
	json_decref(doc);
	pdf_write(path, json, lang);
	struct lines l;
	lines_run(&l, CROP_BODY, path, 1);
	unlink(path);
	free(json);
	return l;
}

/* The lines of l from the first that starts with first up to the legal note, joined by spaces. */
static char *section(const struct lines *l, const char *first, const char *note)
{
	static char out[2048];
	out[0] = '\0';
	bool in = false;
	for (size_t i = 0; i < l->n && strncmp(l->v[i], note, strlen(note)) != 0; i++) {
		in = in || strncmp(l->v[i], first, strlen(first)) == 0;
		if (in)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", *out ? " " : "", l->v[i]);
	}
	return out;
}

Test(receipt, it_says_the_maximum_time_and_what_silence_means)
{
	struct lines l = procedure_lines_of("{\"resolve_within\": 3, \"unit\": \"months\", \"silence\": \"negative\", "
	                                    "\"suspended_while_fixing\": true}", "ca");
	cr_expect_str_eq(section(&l, "Informació sobre el procediment", "Este justificant"),
	                 "Informació sobre el procediment Termini màxim per a resoldre i notificar: 3 mesos, comptats "
	                 "des de l'entrada de la sol·licitud en el registre (article 21 de la Llei 39/2015). El termini "
	                 "se suspén mentre s'espera que esmeneu la sol·licitud (article 22.1.a). Si en aquest termini no "
	                 "s'ha notificat la resolució, podeu entendre desestimada la sol·licitud (silenci administratiu "
	                 "negatiu, article 24 de la Llei 39/2015) i interposar el recurs que hi corresponga.");
	free(l.buf);
	l = procedure_lines_of("{\"resolve_within\": 1, \"unit\": \"months\", \"silence\": \"positive\", "
	                       "\"suspended_while_fixing\": false}", "es");
	cr_expect_str_eq(section(&l, "Información sobre el procedimiento", "Este justificante"),
	                 "Información sobre el procedimiento Plazo máximo para resolver y notificar: 1 mes, contados "
	                 "desde la entrada de la solicitud en el registro (artículo 21 de la Ley 39/2015). Si en este "
	                 "plazo no se ha notificado la resolución, puede entender estimada la solicitud (silencio "
	                 "administrativo positivo, artículo 24 de la Ley 39/2015).");
	free(l.buf);
	/* Without it (receipts issued before, or a tràmit that states no time), no section. */
	char *json = receipt_text(0), path[64];
	pdf_write(path, json, "ca");
	lines_run(&l, CROP_BODY, path, 1);
	cr_expect_str_eq(section(&l, "Informació sobre el procediment", "Este justificant"), "");
	free(l.buf);
	unlink(path);
	free(json);
	/* A malformed one is refused naming it. */
	json_t *doc = receipt_json(0);
	json_object_set_new(doc, "procedure", json_pack("{s:i, s:s, s:s, s:b}", "resolve_within", 3, "unit",
	                                                "weeks", "silence", "negative", "suspended_while_fixing", 0));
	json = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	expect_refused(json, NULL, BASE, "receipt: procedure: expected {\"resolve_within\": 1..1000, \"unit\": "
	               "business_days|natural_days|months|years|hours, \"silence\": positive|negative|lapse|none, "
	               "\"suspended_while_fixing\": true|false}");
	free(json);
}

/* Filed at the counter: the receipt says by whom and with what consent (art. 12.2 LPAC). */
Test(receipt, a_filing_at_the_counter_says_who_filed_it_with_what_consent)
{
	json_t *doc = receipt_json(0);
	json_object_set_new(doc, "assisted", json_pack("{s:s, s:s, s:s, s:s}", "channel", "assistit", "official",
	                                               "demo.empleat", "official_name", "Pere Demo Empleat",
	                                               "consent", "in_person"));
	char *json = json_dumps(doc, JSON_COMPACT), path[64];
	pdf_write(path, json, "es");
	struct lines l;
	lines_run(&l, CROP_BODY, path, 1);
	cr_expect_str_eq(section(&l, "Presentada en la oficina", "Este justificante"),
	                 "Presentada en la oficina de asistencia por Pere Demo Empleat, funcionario habilitado, en "
	                 "nombre de la persona interesada y con su consentimiento expreso (dado en persona, con el "
	                 "documento de identidad), de acuerdo con el artículo 12.2 de la Ley 39/2015.");
	free(l.buf);
	unlink(path);
	free(json);
	/* A consent the receipt does not know is refused. */
	json_object_set_new(json_object_get(doc, "assisted"), "consent", json_string("by phone"));
	json = json_dumps(doc, JSON_COMPACT);
	expect_refused(json, NULL, BASE, "receipt: assisted: expected {\"official_name\": ..., \"consent\": "
	               "in_person|signed_form}");
	free(json);
	json_decref(doc);
}

Test(receipt, the_verification_url_encodes_the_csv)
{
	char url[128];
	struct conn_error err = {0};
	cr_assert_eq(conn_doc_verify_url(url, sizeof(url), "http://127.0.0.1:8080//", "AB CD/É", &err), 0);
	cr_expect_str_eq(url, "http://127.0.0.1:8080/verify?csv=AB%20CD%2F%C3%89");
	cr_expect_eq(conn_doc_verify_url(url, 20, "http://127.0.0.1:8080", CSV, &err), CONN_EINVALID);
	cr_expect_str_eq(err.msg, "verification URL: expected at most 19 bytes with the CSV, found a "
	                          "21-byte address");
}

/* ---- tramit document render ---------------------------------------------------------- */

static void file_put(char path[64], const char *text)
{
	snprintf(path, 64, "/tmp/tramit-receipt-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(document_cli, render_writes_the_same_bytes_twice_and_as_the_library)
{
	char *json = receipt_text(LONG_FIELDS), in[64], *out;
	file_put(in, json);
	int rc = shell_run(&out, NULL, "%s document render %s --url %s -o %s.a.pdf 2>&1 && "
	                   "%s document render %s -o %s.b.pdf --url %s/ >/dev/null 2>&1 && "
	                   "cmp %s.a.pdf %s.b.pdf 2>&1", TRAMIT_BINARY, in, BASE, in, TRAMIT_BINARY,
	                   in, in, BASE, in, in);
	cr_assert_eq(rc, 0, "%s", out);
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error err = {0};
	cr_assert_eq(conn_doc_receipt_pdf(&pdf, &len, json, NULL, BASE, &err), 0, "%s", err.msg);
	char want[128];
	snprintf(want, sizeof(want), "%s.a.pdf: %zu bytes\n", in, len);
	cr_expect_str_eq(out, want);
	free(out);
	char *bytes;
	size_t got;
	cr_assert_eq(shell_run(&bytes, &got, "cat %s.a.pdf", in), 0);
	cr_expect(got == len && memcmp(bytes, pdf, len) == 0, "the command's PDF differs");
	free(bytes);
	conn_doc_free(pdf);
	shell_run(&out, NULL, "rm -f %s %s.a.pdf %s.b.pdf", in, in, in);
	free(out);
	free(json);
}

Test(document_cli, a_refused_receipt_exits_1_naming_the_field_and_writes_nothing)
{
	char *json = receipt_with("form", "value", "中"), in[64], *out;
	file_put(in, json);
	int rc = shell_run(&out, NULL, "%s document render %s -o %s.pdf 2>&1; test ! -e %s.pdf",
	                   TRAMIT_BINARY, in, in, in);
	cr_expect_eq(rc, 0, "a PDF was written");
	char want[512];
	snprintf(want, sizeof(want), "tramit: document render: %s: receipt: form[1] (exposicio) "
	         "value: character 1 (U+4E2D) cannot be printed in the PDF's font, which has the "
	         "Latin letters of Valencian and Spanish; replace it\n", in);
	cr_expect_str_eq(out, want);
	free(out);
	rc = shell_run(&out, NULL, "%s document render %s 2>&1", TRAMIT_BINARY, in);
	cr_expect_eq(rc, 2);
	cr_expect(strncmp(out, "usage: tramit document render RECEIPT.json", 42) == 0, "%s", out);
	free(out);
	unlink(in);
	free(json);
}
