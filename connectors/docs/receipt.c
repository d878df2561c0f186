/* The receipt (justificant de registre, L39 art. 16.3) as a PDF: the JSON the store keeps
 * under the receipt's CSV, laid out in Valencian and Spanish. Invariant: every text is checked
 * and converted before the first page is drawn, so a refused receipt leaves nothing half done,
 * and the refusal names the field. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "connectors/config.h"
#include "docs.h"
#include "docs_internal.h"

/* The receipt's texts, in Windows-1252. */
struct field {
	char *label_ca, *label_es, *value;
	bool files; /* an upload field: listed under the attachments, value rewritten */
};

struct receipt {
	char *entity_ca, *entity_es, *registry, *expedient, *code, *title_ca, *title_es;
	char *applicant, *nif, *csv;
	struct conn__doc_time presented;
	struct field *fields;
	size_t n_fields;
	/* Art. 21.4 LPAC, when the receipt carries it: the maximum time to resolve and notify
	 * (resolve_within 0: not stated) and the effect of silence. */
	long resolve_within;
	char unit[16], silence[12];
	bool suspended_while_fixing; /* art. 22.1.a: the clock stops while a fix is awaited */
	/* Filed at the counter (art. 12.2 LPAC): the official's name (UTF-8) and how the person
	 * consented ("in_person" or "signed_form"); NULL when the person filed it themselves. */
	char *assisted_by, *consent;
};

static void receipt_clear(struct receipt *r)
{
	char **texts[] = {&r->entity_ca, &r->entity_es, &r->registry, &r->expedient, &r->code,
	                  &r->title_ca, &r->title_es, &r->applicant, &r->nif, &r->csv};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		free(*texts[i]);
	free(r->assisted_by);
	free(r->consent);
	for (size_t i = 0; i < r->n_fields; i++) {
		free(r->fields[i].label_ca);
		free(r->fields[i].label_es);
		free(r->fields[i].value);
	}
	free(r->fields);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* A required string member of obj, converted; path names it in messages. */
static int text_get(char **out, const json_t *obj, const char *key, const char *path,
                    struct conn_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return conn__errorf(err, CONN_EINVALID, "receipt: %s: expected a string, found %s",
		                    path, v ? json_kind(v) : "nothing");
	char field[200];
	snprintf(field, sizeof(field), "receipt: %s", path);
	return conn__doc_cp1252(out, json_string_value(v), field, err);
}

static int object_get(const json_t **out, const json_t *obj, const char *key,
                      struct conn_error *err)
{
	*out = json_object_get(obj, key);
	if (!json_is_object(*out))
		return conn__errorf(err, CONN_EINVALID, "receipt: %s: expected an object, found %s",
		                    key, *out ? json_kind(*out) : "nothing");
	return 0;
}

static int csv_check(const char *csv, struct conn_error *err)
{
	size_t n = strlen(csv);
	bool ok = n > 0 && n <= 64;
	for (size_t i = 0; ok && i < n; i++)
		ok = csv[i] > 0x20 && csv[i] < 0x7F;
	return ok ? 0 : conn__errorf(err, CONN_EINVALID, "receipt: csv: expected 1 to 64 printable "
	                             "ASCII characters without spaces, found '%.64s'", csv);
}

/* Whether value is a list of uploaded files, one "name|bytes|sha256" line each (how the
 * engine records a file field). */
static bool file_list(const char *value)
{
	bool any = false;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, "\n");
		const char *bar2 = len > 66 ? p + len - 65 : NULL;
		const char *bar1 = bar2 ? bar2 - 1 : NULL;
		while (bar1 && bar1 > p && *bar1 >= '0' && *bar1 <= '9')
			bar1--;
		if (!bar2 || *bar2 != '|' || !bar1 || *bar1 != '|' || bar1 == p || bar1 + 1 == bar2)
			return false;
		for (const char *h = bar2 + 1; h < p + len; h++)
			if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
				return false;
		any = true;
		p += len + (p[len] == '\n');
	}
	return any;
}

/* "name|bytes|sha256" lines become "name (N bytes)" and "SHA-256: hex" lines: the receipt
 * acknowledges each attachment by its hash (L39 art. 16.3, DOMAIN 3.1). */
static int files_format(struct field *f, struct conn_error *err)
{
	size_t cap = 2 * strlen(f->value) + 64, o = 0;
	char *out = malloc(cap);
	if (!out)
		return conn__errorf(err, CONN_ENOMEM, "receipt: out of memory for the attachments");
	for (const char *p = f->value; *p;) {
		size_t len = strcspn(p, "\n");
		const char *bar2 = p + len - 65, *bar1 = bar2 - 1;
		while (*bar1 != '|')
			bar1--;
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s (%.*s bytes)\nSHA-256: %.64s", o ? "\n" : "",
		                      (int)(bar1 - p), p, (int)(bar2 - bar1 - 1), bar1 + 1, bar2 + 1);
		p += len + (p[len] == '\n');
	}
	free(f->value);
	f->value = out;
	f->files = true;
	return 0;
}

static int form_read(struct receipt *r, const json_t *form, struct conn_error *err)
{
	if (!json_is_array(form))
		return conn__errorf(err, CONN_EINVALID, "receipt: form: expected an array, found %s",
		                    form ? json_kind(form) : "nothing");
	r->fields = calloc(json_array_size(form) + 1, sizeof(*r->fields));
	if (!r->fields)
		return conn__errorf(err, CONN_ENOMEM, "receipt: form: out of memory");
	size_t i;
	const json_t *f;
	json_array_foreach(form, i, f) {
		struct field *out = &r->fields[r->n_fields++];
		const char *name = json_string_value(json_object_get(f, "name"));
		char path[3][160];
		const char *keys[] = {"label_ca", "label_es", "value"};
		char **dst[] = {&out->label_ca, &out->label_es, &out->value};
		for (int k = 0; k < 3; k++) {
			snprintf(path[k], sizeof(path[k]), "form[%zu] (%.64s) %s", i, name ? name : "?",
			         keys[k]);
			if (!json_is_object(f))
				return conn__errorf(err, CONN_EINVALID, "receipt: form[%zu]: expected an "
				                    "object, found %s", i, json_kind(f));
			int rc = text_get(dst[k], f, keys[k], path[k], err);
			if (rc)
				return rc;
		}
		if (file_list(out->value) && files_format(out, err) != 0)
			return err->code;
	}
	return 0;
}

/* The optional "assisted" member of a filing at the counter (engine/runtime/counter.c):
 * {"channel": "assistit", "official": USERNAME, "official_name": NAME, "consent": METHOD}. */
static int assisted_read(struct receipt *r, const json_t *a, struct conn_error *err)
{
	if (!a)
		return 0;
	const char *consent = json_string_value(json_object_get(a, "consent"));
	if (!json_is_object(a) || !consent || (strcmp(consent, "in_person") != 0 && strcmp(consent, "signed_form") != 0))
		return conn__errorf(err, CONN_EINVALID, "receipt: assisted: expected {\"official_name\": ..., "
		                    "\"consent\": in_person|signed_form}");
	/* Checked as every printed text is, but kept in UTF-8: it goes inside a sentence that is
	 * converted whole. */
	char *printable = NULL;
	int rc = text_get(&printable, a, "official_name", "assisted.official_name", err);
	free(printable);
	if (!rc && (!(r->assisted_by = strdup(json_string_value(json_object_get(a, "official_name")))) ||
	            !(r->consent = strdup(consent))))
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory");
	return rc;
}

/* The optional "procedure" member: {"resolve_within": N, "unit": U, "silence": S,
 * "suspended_while_fixing": B}. */
static int procedure_read(struct receipt *r, const json_t *p, struct conn_error *err)
{
	if (!p)
		return 0;
	static const char *const units[] = {"business_days", "natural_days", "months", "years", "hours", NULL};
	static const char *const silences[] = {"positive", "negative", "lapse", "none", NULL};
	const json_t *n = json_object_get(p, "resolve_within");
	const char *unit = json_string_value(json_object_get(p, "unit"));
	const char *silence = json_string_value(json_object_get(p, "silence"));
	const json_t *suspends = json_object_get(p, "suspended_while_fixing");
	bool unit_ok = false, silence_ok = false;
	for (int i = 0; unit && units[i]; i++)
		unit_ok |= strcmp(unit, units[i]) == 0;
	for (int i = 0; silence && silences[i]; i++)
		silence_ok |= strcmp(silence, silences[i]) == 0;
	if (!json_is_object(p) || !json_is_integer(n) || json_integer_value(n) < 1 ||
	    json_integer_value(n) > 1000 || !unit_ok || !silence_ok || !json_is_boolean(suspends))
		return conn__errorf(err, CONN_EINVALID, "receipt: procedure: expected {\"resolve_within\": 1..1000, "
		                    "\"unit\": business_days|natural_days|months|years|hours, \"silence\": "
		                    "positive|negative|lapse|none, \"suspended_while_fixing\": true|false}");
	r->resolve_within = (long)json_integer_value(n);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	snprintf(r->silence, sizeof(r->silence), "%s", silence);
	r->suspended_while_fixing = json_is_true(suspends);
	return 0;
}

static int receipt_read(struct receipt *r, const json_t *doc, struct conn_error *err)
{
	const json_t *entity, *tramit, *applicant;
	const char *type = json_string_value(json_object_get(doc, "type"));
	if (!type || strcmp(type, "receipt") != 0)
		return conn__errorf(err, CONN_EINVALID, "receipt: type: expected \"receipt\", found %s",
		                    type ? type : "nothing");
	int rc;
	if ((rc = object_get(&entity, doc, "entity", err)) ||
	    (rc = object_get(&tramit, doc, "tramit", err)) ||
	    (rc = object_get(&applicant, doc, "applicant", err)) ||
	    (rc = text_get(&r->entity_ca, entity, "name_ca", "entity.name_ca", err)) ||
	    (rc = text_get(&r->entity_es, entity, "name_es", "entity.name_es", err)) ||
	    (rc = text_get(&r->registry, doc, "registry_number", "registry_number", err)) ||
	    (rc = text_get(&r->expedient, doc, "expedient_number", "expedient_number", err)) ||
	    (rc = text_get(&r->code, tramit, "code", "tramit.code", err)) ||
	    (rc = text_get(&r->title_ca, tramit, "title_ca", "tramit.title_ca", err)) ||
	    (rc = text_get(&r->title_es, tramit, "title_es", "tramit.title_es", err)) ||
	    (rc = text_get(&r->applicant, applicant, "name", "applicant.name", err)) ||
	    (rc = text_get(&r->nif, applicant, "nif", "applicant.nif", err)) ||
	    (rc = text_get(&r->csv, doc, "csv", "csv", err)) || (rc = csv_check(r->csv, err)))
		return rc;
	const char *presented = json_string_value(json_object_get(doc, "presented_at"));
	if ((rc = conn__doc_time_parse(&r->presented, presented ? presented : "",
	                               "receipt: presented_at", err)))
		return rc;
	if ((rc = procedure_read(r, json_object_get(doc, "procedure"), err)) ||
	    (rc = assisted_read(r, json_object_get(doc, "assisted"), err)))
		return rc;
	return form_read(r, json_object_get(doc, "form"), err);
}

/* ---- Layout ---------------------------------------------------------------------------- */

/* Writes text for lang: Valencian then Spanish on their own lines, or one of them. */
static void both_lines(struct conn__doc_pdf *w, enum conn__doc_lang lang,
                       enum conn__doc_style style, const char *ca, const char *es)
{
	if (lang != CONN__DOC_ES)
		conn__doc_pdf_text(w, style, ca);
	if (lang == CONN__DOC_ES || (lang == CONN__DOC_BOTH && strcmp(ca, es) != 0))
		conn__doc_pdf_text(w, style, es);
}

/* A label (Windows-1252 or our UTF-8 literal) and its value, kept on one page. */
static int row(struct conn__doc_pdf *w, enum conn__doc_lang lang, const char *ca, const char *es,
               bool literal, const char *value, struct conn_error *err)
{
	char *a = NULL, *b = NULL;
	if (literal) {
		conn__doc_cp1252(&a, ca, "label", err);
		conn__doc_cp1252(&b, es, "label", err);
	}
	char *label = !literal ? conn__doc_pick(lang, ca, es)
	            : a && b ? conn__doc_pick(lang, a, b) : NULL;
	free(a);
	free(b);
	if (!label)
		return conn__errorf(err, CONN_ENOMEM, "out of memory for a label");
	conn__doc_pdf_gap(w, 3);
	conn__doc_pdf_keep(w, conn__doc_pdf_line_height(CONN__DOC_LABEL) +
	                   conn__doc_pdf_line_height(CONN__DOC_VALUE));
	conn__doc_pdf_text(w, CONN__DOC_LABEL, label);
	conn__doc_pdf_text(w, CONN__DOC_VALUE, value);
	free(label);
	return 0;
}

/* Our own literal lines in UTF-8, converted here: they always convert. */
static void literal_lines(struct conn__doc_pdf *w, enum conn__doc_lang lang,
                          enum conn__doc_style style, const char *ca, const char *es)
{
	char *a = NULL, *b = NULL;
	struct conn_error ignored;
	if (conn__doc_cp1252(&a, ca, "literal", &ignored) == 0 &&
	    conn__doc_cp1252(&b, es, "literal", &ignored) == 0)
		both_lines(w, lang, style, a, b);
	free(a);
	free(b);
}

/* Art. 12.2 LPAC: filed by an authorised official for the person, with their express consent. */
static void assisted_lines(struct conn__doc_pdf *w, enum conn__doc_lang lang, const struct receipt *r)
{
	bool form = strcmp(r->consent, "signed_form") == 0;
	size_t n = strlen(r->assisted_by) + 400;
	char *ca = malloc(n), *es = malloc(n);
	if (ca && es) {
		snprintf(ca, n, "Presentada en l'oficina d'assistència per %s, funcionari habilitat, en nom de la persona "
		         "interessada i amb el seu consentiment exprés (%s), d'acord amb l'article 12.2 de la Llei 39/2015.",
		         r->assisted_by, form ? "formulari signat" : "donat en persona, amb el document d'identitat");
		snprintf(es, n, "Presentada en la oficina de asistencia por %s, funcionario habilitado, en nombre de la "
		         "persona interesada y con su consentimiento expreso (%s), de acuerdo con el artículo 12.2 de la Ley "
		         "39/2015.", r->assisted_by, form ? "formulario firmado" : "dado en persona, con el documento de identidad");
		conn__doc_pdf_gap(w, 10);
		literal_lines(w, lang, CONN__DOC_VALUE, ca, es); /* the name passed assisted_read's check */
	}
	free(ca);
	free(es);
}

/* What art. 21.4 LPAC requires the applicant be told: the maximum time to resolve and notify,
 * counted from the entry in the registry, and what silence means when it runs out. */
static void procedure_lines(struct conn__doc_pdf *w, enum conn__doc_lang lang, const struct receipt *r)
{
	if (!r->resolve_within)
		return;
	static const struct {
		const char *unit, *ca1, *ca, *es1, *es;
	} words[] = {
		{"business_days", "dia hàbil", "dies hàbils", "día hábil", "días hábiles"},
		{"natural_days", "dia natural", "dies naturals", "día natural", "días naturales"},
		{"months", "mes", "mesos", "mes", "meses"},
		{"years", "any", "anys", "año", "años"},
		{"hours", "hora", "hores", "hora", "horas"},
	};
	size_t k = 0;
	while (k + 1 < sizeof(words) / sizeof(words[0]) && strcmp(words[k].unit, r->unit) != 0)
		k++;
	bool one = r->resolve_within == 1;
	char ca[400], es[400];
	conn__doc_pdf_gap(w, 10);
	conn__doc_pdf_keep(w, 3 * conn__doc_pdf_line_height(CONN__DOC_HEADING));
	literal_lines(w, lang, CONN__DOC_HEADING, "Informació sobre el procediment", "Información sobre el procedimiento");
	snprintf(ca, sizeof(ca), "Termini màxim per a resoldre i notificar: %ld %s, comptats des de l'entrada de la "
	         "sol·licitud en el registre (article 21 de la Llei 39/2015).%s", r->resolve_within,
	         one ? words[k].ca1 : words[k].ca, r->suspended_while_fixing ? " El termini se suspén mentre "
	         "s'espera que esmeneu la sol·licitud (article 22.1.a)." : "");
	snprintf(es, sizeof(es), "Plazo máximo para resolver y notificar: %ld %s, contados desde la entrada de la "
	         "solicitud en el registro (artículo 21 de la Ley 39/2015).%s", r->resolve_within,
	         one ? words[k].es1 : words[k].es, r->suspended_while_fixing ? " El plazo se suspende mientras "
	         "se espera que subsane la solicitud (artículo 22.1.a)." : "");
	literal_lines(w, lang, CONN__DOC_VALUE, ca, es);
	const char *sca = NULL, *ses = NULL;
	if (strcmp(r->silence, "positive") == 0) {
		sca = "Si en aquest termini no s'ha notificat la resolució, podeu entendre estimada la sol·licitud "
		      "(silenci administratiu positiu, article 24 de la Llei 39/2015).";
		ses = "Si en este plazo no se ha notificado la resolución, puede entender estimada la solicitud "
		      "(silencio administrativo positivo, artículo 24 de la Ley 39/2015).";
	} else if (strcmp(r->silence, "negative") == 0) {
		sca = "Si en aquest termini no s'ha notificat la resolució, podeu entendre desestimada la sol·licitud "
		      "(silenci administratiu negatiu, article 24 de la Llei 39/2015) i interposar el recurs que hi "
		      "corresponga.";
		ses = "Si en este plazo no se ha notificado la resolución, puede entender desestimada la solicitud "
		      "(silencio administrativo negativo, artículo 24 de la Ley 39/2015) e interponer el recurso "
		      "que corresponda.";
	} else if (strcmp(r->silence, "lapse") == 0) {
		sca = "Si en aquest termini no s'ha notificat la resolució, el procediment caducarà (article 25 de "
		      "la Llei 39/2015).";
		ses = "Si en este plazo no se ha notificado la resolución, el procedimiento caducará (artículo 25 de "
		      "la Ley 39/2015).";
	}
	if (sca) {
		conn__doc_pdf_gap(w, 3);
		literal_lines(w, lang, CONN__DOC_VALUE, sca, ses);
	}
}

static int layout(struct conn__doc_pdf *w, enum conn__doc_lang lang, const struct receipt *r,
                  struct conn_error *err)
{
	char when[48];
	conn__doc_time_format(when, &r->presented);
	char *title = conn__doc_pick(lang, r->title_ca, r->title_es);
	size_t n = (title ? strlen(title) : 0) + strlen(r->code) + strlen(r->applicant) +
	           strlen(r->nif) + 8;
	char *tramit = malloc(n), *applicant = malloc(n);
	int rc = 0;
	if (!title || !tramit || !applicant) {
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory for the receipt's texts");
		goto done;
	}
	snprintf(tramit, n, "%s (%s)", title, r->code);
	snprintf(applicant, n, "%s (%s)", r->applicant, r->nif);
	both_lines(w, lang, CONN__DOC_ENTITY, r->entity_ca, r->entity_es);
	conn__doc_pdf_gap(w, 8);
	literal_lines(w, lang, CONN__DOC_TITLE, "Justificant de registre d'entrada",
	              "Justificante de registro de entrada");
	conn__doc_pdf_gap(w, 6);
	if ((rc = row(w, lang, "Número de registre", "Número de registro", true, r->registry, err)) ||
	    (rc = row(w, lang, "Data i hora de presentació", "Fecha y hora de presentación", true,
	              when, err)) ||
	    (rc = row(w, lang, "Número d'expedient", "Número de expediente", true, r->expedient,
	              err)) ||
	    (rc = row(w, lang, "Tràmit", "Trámite", true, tramit, err)) ||
	    (rc = row(w, lang, "Persona interessada", "Persona interesada", true, applicant, err)))
		goto done;
	conn__doc_pdf_gap(w, 10);
	conn__doc_pdf_keep(w, 3 * conn__doc_pdf_line_height(CONN__DOC_HEADING));
	literal_lines(w, lang, CONN__DOC_HEADING, "Dades presentades", "Datos presentados");
	size_t files = 0;
	for (size_t i = 0; !rc && i < r->n_fields; i++) {
		files += r->fields[i].files;
		if (!r->fields[i].files)
			rc = row(w, lang, r->fields[i].label_ca, r->fields[i].label_es, false,
			         r->fields[i].value, err);
	}
	if (!rc && files) {
		conn__doc_pdf_gap(w, 10);
		conn__doc_pdf_keep(w, 3 * conn__doc_pdf_line_height(CONN__DOC_HEADING));
		literal_lines(w, lang, CONN__DOC_HEADING, "Documents adjunts", "Documentos adjuntos");
	}
	for (size_t i = 0; !rc && i < r->n_fields; i++)
		if (r->fields[i].files)
			rc = row(w, lang, r->fields[i].label_ca, r->fields[i].label_es, false,
			         r->fields[i].value, err);
	if (rc)
		goto done;
	if (r->assisted_by)
		assisted_lines(w, lang, r);
	procedure_lines(w, lang, r);
	conn__doc_pdf_gap(w, 12);
	literal_lines(w, lang, CONN__DOC_NOTE,
	              "Este justificant acredita la presentació en el registre electrònic en la data "
	              "i hora indicades (articles 16 i 31 de la Llei 39/2015).",
	              "Este justificante acredita la presentación en el registro electrónico en la "
	              "fecha y hora indicadas (artículos 16 y 31 de la Ley 39/2015).");
done:
	free(title);
	free(tramit);
	free(applicant);
	return rc;
}

static int lang_parse(enum conn__doc_lang *out, const char *lang, struct conn_error *err)
{
	if (!lang)
		*out = CONN__DOC_BOTH;
	else if (strcmp(lang, "ca") == 0)
		*out = CONN__DOC_CA;
	else if (strcmp(lang, "es") == 0)
		*out = CONN__DOC_ES;
	else
		return conn__errorf(err, CONN_EINVALID, "lang: expected ca, es or none (both), "
		                    "found '%.16s'", lang);
	return 0;
}

static int render(unsigned char **out, size_t *len, const struct receipt *r,
                  enum conn__doc_lang lang, const char *url, struct conn_error *err)
{
	char *running = malloc(strlen(r->registry) + 128);
	char *title = conn__doc_pick(lang, "Justificant de registre", "Justificante de registro");
	if (!running || !title) {
		free(running);
		free(title);
		return conn__errorf(err, CONN_ENOMEM, "out of memory for the receipt's header");
	}
	sprintf(running, "%s %s", title, r->registry);
	struct conn__doc_setup setup = {.lang = lang, .csv = r->csv, .url = url,
	                                .running = running, .title = running,
	                                .created = r->presented};
	struct conn__doc_pdf *w = NULL;
	int rc = conn__doc_pdf_new(&w, &setup, err);
	if (!rc)
		rc = layout(w, lang, r, err);
	if (!rc)
		rc = conn__doc_pdf_finish(w, out, len, err);
	conn__doc_pdf_free(w);
	free(running);
	free(title);
	return rc;
}

int conn_doc_receipt_pdf(unsigned char **out, size_t *len, const char *receipt_json,
                         const char *lang, const char *verify_base_url, struct conn_error *err)
{
	*out = NULL;
	*len = 0;
	enum conn__doc_lang l = CONN__DOC_BOTH;
	int rc = lang_parse(&l, lang, err);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *doc = json_loads(receipt_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return conn__errorf(err, CONN_EINVALID, "receipt: line %d: %s", jerr.line, jerr.text);
	struct receipt r = {0};
	char url[1024];
	rc = receipt_read(&r, doc, err);
	json_decref(doc);
	if (!rc)
		rc = conn_doc_verify_url(url, sizeof(url), verify_base_url, r.csv, err);
	if (!rc)
		rc = render(out, len, &r, l, url, err);
	receipt_clear(&r);
	return rc;
}

int conn_doc_receipt_expedient(char *out, size_t cap, const char *receipt_json, size_t len,
                               struct conn_error *err)
{
	json_t *doc = json_loadb(receipt_json, len, 0, NULL);
	const char *type = json_string_value(json_object_get(doc, "type"));
	const char *number = json_string_value(json_object_get(doc, "expedient_number"));
	int rc = 0;
	if (!type || strcmp(type, "receipt") != 0 || !number)
		rc = conn__errorf(err, CONN_EINVALID, "expected a receipt with an expedient_number");
	else if ((size_t)snprintf(out, cap, "%s", number) >= cap)
		rc = conn__errorf(err, CONN_EINVALID, "expedient_number: longer than %zu bytes", cap - 1);
	json_decref(doc);
	return rc;
}

void conn_doc_free(unsigned char *pdf)
{
	free(pdf);
}

int conn_doc_verify_url(char *out, size_t cap, const char *base, const char *csv,
                        struct conn_error *err)
{
	size_t n = base ? strlen(base) : 0;
	bool ok = n > 0 && (strncmp(base, "http://", 7) == 0 || strncmp(base, "https://", 8) == 0);
	for (size_t i = 0; ok && i < n; i++)
		ok = base[i] > 0x20 && base[i] < 0x7F && base[i] != '"' && base[i] != '<' &&
		     base[i] != '>';
	if (!ok)
		return conn__errorf(err, CONN_EINVALID, "verification URL: expected an http:// or "
		                    "https:// address without spaces, found '%.128s'", base ? base : "");
	while (n > 0 && base[n - 1] == '/')
		n--;
	/* Every CSV byte takes at most three: the worst case must fit. */
	if (n + strlen("/verify?csv=") + 3 * strlen(csv) >= cap)
		return conn__errorf(err, CONN_EINVALID, "verification URL: expected at most %zu bytes "
		                    "with the CSV, found a %zu-byte address", cap - 1, n);
	size_t o = (size_t)snprintf(out, cap, "%.*s/verify?csv=", (int)n, base);
	for (const unsigned char *p = (const unsigned char *)csv; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~", *p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
	}
	out[o] = '\0';
	return 0;
}
