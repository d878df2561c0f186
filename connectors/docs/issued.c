/* An issued document (resolution, requirement, certificate...) as a PDF: the filled template
 * the store recorded, in Valencian then Spanish, stamped on every page by pdf.c with the CSV,
 * the verification URL and the QR code. Invariant: every text is converted before the first
 * page is drawn, so a refused record leaves nothing half done and the refusal names the member. */
#include "issued.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/config.h"
#include "docs.h"
#include "docs_internal.h"

enum {
	T_ENTITY_CA, T_ENTITY_ES, T_TITLE_CA, T_TITLE_ES, T_BODY_CA, T_BODY_ES, T_NUMBER, T_CODE,
	T_TRAMIT_CA, T_TRAMIT_ES, T_APPLICANT, T_NIF, T_REGISTRY, T_CSV, T_ENI, T__COUNT,
};

/* Where each text is in the record: an object member (or "" for the top level) and its key. */
static const char *const paths[T__COUNT][2] = {
	[T_ENTITY_CA] = {"entity", "name_ca"}, [T_ENTITY_ES] = {"entity", "name_es"},
	[T_TITLE_CA] = {"", "title_ca"},       [T_TITLE_ES] = {"", "title_es"},
	[T_BODY_CA] = {"", "body_ca"},         [T_BODY_ES] = {"", "body_es"},
	[T_NUMBER] = {"", "expedient_number"}, [T_CODE] = {"tramit", "code"},
	[T_TRAMIT_CA] = {"tramit", "title_ca"}, [T_TRAMIT_ES] = {"tramit", "title_es"},
	[T_APPLICANT] = {"applicant", "name"}, [T_NIF] = {"applicant", "nif"},
	[T_REGISTRY] = {"", "registry_number"}, [T_CSV] = {"", "csv"}, [T_ENI] = {"", "eni_id"},
};

struct issued {
	char *t[T__COUNT]; /* Windows-1252 */
	struct conn__doc_time issued;
	bool sealed;
};

static void issued_clear(struct issued *d)
{
	for (int i = 0; i < T__COUNT; i++)
		free(d->t[i]);
}

/* Text a citizen typed may hold characters the PDF's font cannot print (an emoji, a CJK
 * name). A legal act must not be blocked by one: each such character prints as "?", while the
 * filled text itself stays exact in the stored record. */
static int lossy_cp1252(char **out, const char *utf8, const char *field, struct conn_error *err)
{
	if (conn__doc_cp1252(out, utf8, field, err) == 0)
		return 0;
	size_t n = strlen(utf8);
	char *safe = malloc(n + 1);
	if (!safe)
		return conn__errorf(err, CONN_ENOMEM, "%s: out of memory", field);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char b = (unsigned char)utf8[i];
		size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
		if (i + len > n)
			len = n - i;
		char one[8] = {0}, *conv = NULL;
		memcpy(one, utf8 + i, len);
		struct conn_error ignored;
		if (conn__doc_cp1252(&conv, one, field, &ignored) == 0) {
			memcpy(safe + o, one, len);
			o += len;
		} else {
			safe[o++] = '?';
		}
		free(conv);
		i += len;
	}
	safe[o] = '\0';
	int rc = conn__doc_cp1252(out, safe, field, err);
	free(safe);
	return rc;
}

static int issued_read(struct issued *d, const json_t *doc, struct conn_error *err)
{
	const char *type = json_string_value(json_object_get(doc, "type"));
	if (!type || strcmp(type, "issued") != 0)
		return conn__errorf(err, CONN_EINVALID, "document: type: expected \"issued\", found %s",
		                    type ? type : "nothing");
	for (int i = 0; i < T__COUNT; i++) {
		const json_t *obj = *paths[i][0] ? json_object_get(doc, paths[i][0]) : doc;
		const json_t *v = json_object_get(obj, paths[i][1]);
		char field[96];
		snprintf(field, sizeof(field), "document: %s%s%s", paths[i][0], *paths[i][0] ? "." : "",
		         paths[i][1]);
		if (!json_is_string(v))
			return conn__errorf(err, CONN_EINVALID, "%s: expected a string", field);
		int rc = lossy_cp1252(&d->t[i], json_string_value(v), field, err);
		if (rc)
			return rc;
	}
	size_t n = strlen(d->t[T_CSV]);
	bool ok = n > 0 && n <= 64;
	for (size_t i = 0; ok && i < n; i++)
		ok = d->t[T_CSV][i] > 0x20 && d->t[T_CSV][i] < 0x7F;
	if (!ok)
		return conn__errorf(err, CONN_EINVALID, "document: csv: expected 1 to 64 printable "
		                    "ASCII characters without spaces, found '%.64s'", d->t[T_CSV]);
	d->sealed = json_is_true(json_object_get(doc, "sealed"));
	const char *at = json_string_value(json_object_get(doc, "issued_at"));
	return conn__doc_time_parse(&d->issued, at ? at : "", "document: issued_at", err);
}

/* Our own UTF-8 literal, converted: it always converts. */
static void literal(struct conn__doc_pdf *w, enum conn__doc_style style, const char *utf8)
{
	char *s = NULL;
	struct conn_error ignored;
	if (conn__doc_cp1252(&s, utf8, "literal", &ignored) == 0)
		conn__doc_pdf_text(w, style, s);
	free(s);
}

/* A bilingual label (our literal) and its value, kept on one page. */
static void row(struct conn__doc_pdf *w, const char *label, const char *value)
{
	conn__doc_pdf_gap(w, 3);
	conn__doc_pdf_keep(w, conn__doc_pdf_line_height(CONN__DOC_LABEL) +
	                   conn__doc_pdf_line_height(CONN__DOC_VALUE));
	literal(w, CONN__DOC_LABEL, label);
	conn__doc_pdf_text(w, CONN__DOC_VALUE, *value ? value : "-");
}

static void version(struct conn__doc_pdf *w, const char *heading, const char *title,
                    const char *body)
{
	conn__doc_pdf_gap(w, 12);
	conn__doc_pdf_keep(w, 4 * conn__doc_pdf_line_height(CONN__DOC_HEADING));
	literal(w, CONN__DOC_HEADING, heading);
	conn__doc_pdf_gap(w, 4);
	conn__doc_pdf_text(w, CONN__DOC_HEADING, title);
	conn__doc_pdf_gap(w, 4);
	conn__doc_pdf_text(w, CONN__DOC_VALUE, body);
}

static int layout(struct conn__doc_pdf *w, const struct issued *d, struct conn_error *err)
{
	char when[48];
	conn__doc_time_format(when, &d->issued);
	size_t n = strlen(d->t[T_TRAMIT_CA]) + strlen(d->t[T_TRAMIT_ES]) + strlen(d->t[T_CODE]) +
	           strlen(d->t[T_APPLICANT]) + strlen(d->t[T_NIF]) + 16;
	char *tramit = malloc(n), *applicant = malloc(n);
	char *entity = conn__doc_pick(CONN__DOC_BOTH, d->t[T_ENTITY_CA], d->t[T_ENTITY_ES]);
	if (!tramit || !applicant || !entity) {
		free(tramit);
		free(applicant);
		free(entity);
		return conn__errorf(err, CONN_ENOMEM, "out of memory for the document's texts");
	}
	if (strcmp(d->t[T_TRAMIT_CA], d->t[T_TRAMIT_ES]) == 0)
		snprintf(tramit, n, "%s (%s)", d->t[T_TRAMIT_CA], d->t[T_CODE]);
	else
		snprintf(tramit, n, "%s / %s (%s)", d->t[T_TRAMIT_CA], d->t[T_TRAMIT_ES], d->t[T_CODE]);
	snprintf(applicant, n, "%s (%s)", d->t[T_APPLICANT], d->t[T_NIF]);
	conn__doc_pdf_text(w, CONN__DOC_ENTITY, entity);
	conn__doc_pdf_gap(w, 8);
	conn__doc_pdf_text(w, CONN__DOC_TITLE, d->t[T_TITLE_CA]);
	if (strcmp(d->t[T_TITLE_CA], d->t[T_TITLE_ES]) != 0)
		conn__doc_pdf_text(w, CONN__DOC_TITLE, d->t[T_TITLE_ES]);
	conn__doc_pdf_gap(w, 6);
	row(w, "Número d'expedient / Número de expediente", d->t[T_NUMBER]);
	row(w, "Tràmit / Trámite", tramit);
	row(w, "Persona interessada / Persona interesada", applicant);
	row(w, "Registre d'entrada / Registro de entrada", d->t[T_REGISTRY]);
	row(w, "Data d'emissió / Fecha de emisión", when);
	row(w, "Identificador ENI", d->t[T_ENI]);
	version(w, "Versió en valencià", d->t[T_TITLE_CA], d->t[T_BODY_CA]);
	version(w, "Versión en castellano", d->t[T_TITLE_ES], d->t[T_BODY_ES]);
	conn__doc_pdf_gap(w, 14);
	if (d->sealed) {
		literal(w, CONN__DOC_NOTE, "Document segellat amb el segell electrònic de l'entitat "
		        "(CAdES, art. 42 de la Llei 40/2015). Podeu comprovar-ne l'original amb el CSV.");
		literal(w, CONN__DOC_NOTE, "Documento sellado con el sello electrónico de la entidad "
		        "(CAdES, art. 42 de la Ley 40/2015). Puede comprobar el original con el CSV.");
	} else {
		literal(w, CONN__DOC_NOTE, "Document autenticat amb el codi segur de verificació (CSV, "
		        "art. 42 de la Llei 40/2015), sense segell electrònic.");
		literal(w, CONN__DOC_NOTE, "Documento autenticado con el código seguro de verificación "
		        "(CSV, art. 42 de la Ley 40/2015), sin sello electrónico.");
	}
	free(tramit);
	free(applicant);
	free(entity);
	return 0;
}

int conn_doc_issued_pdf(unsigned char **out, size_t *len, const char *record_json,
                        const char *verify_base_url, struct conn_error *err)
{
	*out = NULL;
	*len = 0;
	json_error_t jerr;
	json_t *doc = json_loads(record_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return conn__errorf(err, CONN_EINVALID, "document: line %d: %s", jerr.line, jerr.text);
	struct issued d = {0};
	char url[1024];
	struct conn__doc_pdf *w = NULL;
	int rc = issued_read(&d, doc, err);
	json_decref(doc);
	if (!rc)
		rc = conn_doc_verify_url(url, sizeof(url), verify_base_url, d.t[T_CSV], err);
	if (rc)
		goto done;
	char *running = malloc(strlen(d.t[T_TITLE_CA]) + strlen(d.t[T_NUMBER]) + 8);
	if (!running) {
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory for the document's header");
		goto done;
	}
	sprintf(running, "%s - %s", d.t[T_TITLE_CA], d.t[T_NUMBER]);
	struct conn__doc_setup setup = {.lang = CONN__DOC_BOTH, .csv = d.t[T_CSV], .url = url,
	                                .running = running, .title = d.t[T_TITLE_CA],
	                                .created = d.issued};
	rc = conn__doc_pdf_new(&w, &setup, err);
	if (!rc)
		rc = layout(w, &d, err);
	if (!rc)
		rc = conn__doc_pdf_finish(w, out, len, err);
	free(running);
done:
	conn__doc_pdf_free(w);
	issued_clear(&d);
	return rc;
}
