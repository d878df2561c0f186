/* Cuaderno 60 modalidad 2: DOMAIN.md 9.2's vector, control digits, barcode checks, and the
 * payment document read back from the PDF with poppler's pdftotext and its barcode decoded
 * from a rendering of the page by zbarimg, so what a bank's scanner would read is asserted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/c60/c60.h"

#define VECTOR_BARCODE "905214625000000012345561001266334000123450"

static struct conn_c60_input vector_input(void)
{
	return (struct conn_c60_input){
		.emisora = "462500", .document = "0000012345", .period = '1', .tributo = "001",
		.ejercicio = 2026, .deadline_year = 2026, .deadline_month = 11, .deadline_day = 30,
		.amount_cents = 12345,
	};
}

Test(c60, domain_vector_control_digits)
{
	cr_assert_eq(conn_c60_control_digits("462500", "0000012345", "1001266334", "00012345"), 56);
	/* R = 0: the quotient has no decimals and the digits are 99. */
	cr_assert_eq(conn_c60_control_digits("462500", "0000000086", "1001266334", "00012345"), 99);
	cr_assert_eq(conn_c60_control_digits("46250", "0000012345", "1001266334", "00012345"), -1);
	cr_assert_eq(conn_c60_control_digits("462500", "000001234X", "1001266334", "00012345"), -1);
}

Test(c60, domain_vector_codes_and_barcode)
{
	struct conn_c60_input in = vector_input();
	struct conn_c60_code code;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_code_make(&code, &in, &err), 0, "%s", err.msg);
	cr_assert_str_eq(code.identification, "1001266334");
	cr_assert_str_eq(code.amount, "00012345");
	cr_assert_str_eq(code.reference, "000001234556");
	cr_assert_str_eq(code.barcode, VECTOR_BARCODE);
	cr_assert_eq(strlen(code.barcode), 42);
}

Test(c60, identification_counts_days_in_leap_years)
{
	struct conn_c60_input in = vector_input();
	in.document = "0000000001";
	in.ejercicio = 2028;
	in.deadline_year = 2028;
	in.deadline_month = 12;
	in.deadline_day = 31;
	in.amount_cents = 100;
	struct conn_c60_code code;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_code_make(&code, &in, &err), 0, "%s", err.msg);
	cr_assert_str_eq(code.identification, "1001288366");
	cr_assert_str_eq(code.reference, "000000000155");
	cr_assert_str_eq(code.barcode, "905214625000000000001551001288366000001000");
}

static void expect_refused(struct conn_c60_input in, const char *want)
{
	struct conn_c60_code code;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_code_make(&code, &in, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, want);
	cr_assert_str_eq(code.barcode, "");
}

Test(c60, malformed_inputs_are_refused_naming_the_field)
{
	struct conn_c60_input in = vector_input();
	in.emisora = "4625";
	expect_refused(in, "emisora: expected 6 digits, found '4625'");
	in = vector_input();
	in.document = "00000123456";
	expect_refused(in, "document: expected 10 digits, found '00000123456'");
	in = vector_input();
	in.tributo = "0A1";
	expect_refused(in, "tributo: expected 3 digits, found '0A1'");
	in = vector_input();
	in.period = 'x';
	expect_refused(in, "period: expected one digit");
	in = vector_input();
	in.ejercicio = 1999;
	expect_refused(in, "ejercicio: expected a year 2000..2099, found 1999");
	in = vector_input();
	in.deadline_month = 2;
	in.deadline_day = 29;
	expect_refused(in, "deadline: 2026-02-29 is not a date in 2000..2099");
	in = vector_input();
	in.amount_cents = 100000000;
	expect_refused(in, "amount_cents: expected 1..99999999 (at most 999.999,99 EUR), found 100000000");
	in.amount_cents = 0;
	expect_refused(in, "amount_cents: expected 1..99999999 (at most 999.999,99 EUR), found 0");
}

Test(c60, barcode_check_accepts_the_vector_and_finds_mistakes)
{
	struct conn_c60_code code;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_barcode_check(&code, VECTOR_BARCODE, &err), 0, "%s", err.msg);
	cr_assert_str_eq(code.reference, "000001234556");
	cr_assert_str_eq(code.identification, "1001266334");
	cr_assert_str_eq(code.amount, "00012345");
	cr_assert_str_eq(code.barcode, VECTOR_BARCODE);
	/* Digit 16 (in the document number) mistyped 0 -> 9. */
	cr_assert_eq(conn_c60_barcode_check(&code, "905214625000000912345561001266334000123450", &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "barcode: the reference's control digits (digits 22-23) are 56, "
	                          "expected 41: mistyped or altered");
	cr_assert_str_eq(code.reference, "");
	/* The amount raised from 123,45 to 923,45. */
	cr_assert_eq(conn_c60_barcode_check(&code, "905214625000000012345561001266334000923450", &err),
	             CONN_EINVALID);
	cr_assert(strstr(err.msg, "barcode: the reference's control digits (digits 22-23) are 56, "
	                          "expected "), "%s", err.msg);
	cr_assert_eq(conn_c60_barcode_check(&code, "905214x25000000012345561001266334000123450", &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "barcode: character 7 is 'x', expected a digit");
	cr_assert_eq(conn_c60_barcode_check(&code, "90521462500000001234556100126633400012345", &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "barcode: expected 42 digits, found 41");
	cr_assert_eq(conn_c60_barcode_check(&code, "905024625000000012345561001266334000123450", &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "barcode: expected to start with 90521 (modalidad 2, format 521), "
	                          "found 90502");
	cr_assert_eq(conn_c60_barcode_check(&code, "905214625000000012345561001266334000123451", &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "barcode: digit 42 is 1, expected 0");
}

/* ---- The PDF ------------------------------------------------------------------------------ */

static struct conn_c60_document document(void)
{
	struct conn_c60_document doc = {
		.entity_va = "Ajuntament de Demostració", .entity_es = "Ayuntamiento de Demostración",
		.concept_va = "Taxa per llicència d'obres", .concept_es = "Tasa por licencia de obras",
		.payer_name = "Maria Puig i Ferrer", .payer_id = "12345678Z",
		.payment = vector_input(),
	};
	doc.payment.amount_cents = 123456; /* 1.234,56 EUR: thousands and decimals */
	return doc;
}

static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "%s", cmd);
	char *text = calloc(1, 65536);
	size_t got = fread(text, 1, 65535, p);
	text[got] = '\0';
	int status = pclose(p);
	cr_assert_eq(status, 0, "`%s` failed (%d): %s", cmd, status, text);
	return text;
}

static void pdf_write(char path[64], const struct conn_c60_document *doc)
{
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_pdf(&pdf, &len, doc, &err), 0, "%s", err.msg);
	cr_assert_gt(len, 1000);
	cr_assert(memcmp(pdf, "%PDF-", 5) == 0);
	snprintf(path, 64, "/tmp/tramit-c60-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, pdf, len), (ssize_t)len);
	close(fd);
	free(pdf);
}

Test(c60, pdf_shows_the_payment_in_both_languages)
{
	struct conn_c60_document doc = document();
	char path[64], cmd[200];
	pdf_write(path, &doc);
	/* qpdf checks the file's structure (xref, streams, page tree) on its own terms. */
	snprintf(cmd, sizeof(cmd), "qpdf --check %s 2>&1", path);
	char *check = run(cmd);
	cr_expect(strstr(check, "No syntax or stream encoding errors found") != NULL, "%s", check);
	free(check);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout -enc UTF-8 %s -", path);
	char *text = run(cmd);
	const char *want[] = {
		"Ajuntament de Demostració", "Ayuntamiento de Demostración",
		"Document de pagament / Documento de pago",
		"Taxa per llicència d'obres", "Tasa por licencia de obras",
		"Maria Puig i Ferrer - 12345678Z",
		"Import / Importe", "1.234,56 €",
		"Termini de pagament / Plazo de pago",
		"30 de novembre de 2026 / 30 de noviembre de 2026",
		"Emissora / Emisora", "462500",
		"Referència / Referencia", "000001234548",
		"Identificació / Identificación", "1001266334",
		"905214625000000012345481001266334001234560",
		"entitat col·laboradora", "entidad colaboradora",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(text, want[i]), "'%s' is not in the PDF's text:\n%s", want[i], text);
	free(text);
	unlink(path);
}

Test(c60, pdf_barcode_scans_as_code_128_with_the_42_digits)
{
	struct conn_c60_document doc = document();
	char path[64], cmd[400];
	pdf_write(path, &doc);
	snprintf(cmd, sizeof(cmd), "pdftoppm -r 300 -gray -png -singlefile %s %s && "
	         "zbarimg --quiet --raw -Sdisable -Scode128.enable %s.png", path, path, path);
	char *text = run(cmd);
	cr_assert_str_eq(text, "905214625000000012345481001266334001234560\n");
	free(text);
	snprintf(cmd, sizeof(cmd), "%s.png", path);
	unlink(cmd);
	unlink(path);
}

Test(c60, pdf_refuses_text_it_cannot_print_and_bad_codes)
{
	struct conn_c60_document doc = document();
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error err = {0};
	doc.concept_va = "Taxa \xe2\x9c\x93"; /* a check mark: not in Windows-1252 */
	cr_assert_eq(conn_c60_pdf(&pdf, &len, &doc, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "concept_va: expected at most 511 characters that Windows-1252 can "
	                          "print (Valencian and Spanish letters, €)");
	cr_assert_null(pdf);
	doc = document();
	doc.entity_es = NULL;
	cr_assert_eq(conn_c60_pdf(&pdf, &len, &doc, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "entity_es: required");
	doc = document();
	doc.payment.tributo = "1";
	cr_assert_eq(conn_c60_pdf(&pdf, &len, &doc, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "tributo: expected 3 digits, found '1'");
	cr_assert_null(pdf);
	cr_assert_eq(len, 0);
}
