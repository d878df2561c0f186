/* Assisted filing at the counter, continued: the receipt printed for the person (in their
 * language), the signed consent form's scan, the line of an expedient's page saying who filed
 * it for whom, and POST /api/v1/counter/expedients. Only employees holding WEB_COUNTER_ROLE
 * reach the receipt, the scan and the API; everyone else gets "not found". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

static bool gate(struct web_ctx *c)
{
	web_session_load(c);
	if (!c->signed_in)
		return web_require(c, "employee");
	if (!web_counter_allowed(c)) {
		web_error_page(c, 404, "err.notfound.title", "err.notfound");
		return false;
	}
	return true;
}

/* The expedient and its consent, or answered (404, 503). */
static bool load(struct web_ctx *c, const char *id, struct eng_expedient_view *x,
                 struct eng_counter_view *k)
{
	struct eng_error err = {0};
	int rc = web_expedient_visible(c, id, x);
	if (!rc)
		rc = eng_counter_get(c->store, &c->arena, c->srv->cfg.entity_id, id, k, &err);
	if (rc == ENG_ENOTFOUND)
		web_error_page(c, 404, "err.notfound.title", "err.notfound");
	else if (rc)
		web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	return rc == 0;
}

/* "Filed at the office with the assistance of NAME (user), authorised official, for NAME
 * (NIF), with their express consent (art. 12 of Llei 39/2015)." in c->lang. */
static void assisted_sentence(struct web_ctx *c, const struct eng_counter_view *k)
{
	web_printf(c, "%s ", web_t(c, "counter.note.by"));
	web_html(c, k->official_name);
	web_printf(c, " (");
	web_html(c, k->official);
	web_printf(c, "), %s ", web_t(c, "counter.note.for"));
	web_html(c, k->person_name);
	web_printf(c, " (");
	web_html(c, k->person_nif);
	web_printf(c, "), %s", web_t(c, "counter.note.consent"));
}

static const char *method_text(struct web_ctx *c, const struct eng_counter_view *k)
{
	return web_t(c, strcmp(k->method, "signed_form") == 0 ? "counter.method.signed_form"
	                                                      : "counter.method.in_person");
}

static const char *document_text(struct web_ctx *c, const struct eng_counter_view *k)
{
	return web_t(c, eng_arena_printf(&c->arena, "counter.doc.%s", k->id_document_type));
}

void web_counter_filing_note(struct web_ctx *c, const char *expedient_id)
{
	struct eng_counter_view k;
	struct eng_error err = {0};
	if (eng_counter_get(c->store, &c->arena, c->srv->cfg.entity_id, expedient_id, &k, &err) != 0)
		return;
	web_printf(c, "<p id=\"counter-filing\">");
	assisted_sentence(c, &k);
	web_printf(c, " %s: ", web_t(c, "counter.consent.how"));
	web_html(c, method_text(c, &k));
	web_printf(c, "; %s ", document_text(c, &k));
	web_html(c, k.id_document);
	web_printf(c, ".</p>");
}

void web_route_counter_receipt(struct web_ctx *c, const char *id)
{
	if (!gate(c))
		return;
	struct eng_expedient_view x;
	struct eng_counter_view k;
	if (!load(c, id, &x, &k))
		return;
	const struct eng_definition *d = cat_catalog_by_hash(c->srv->catalog, x.definition_hash);
	web_page_begin(c, web_t(c, "receipt.title"));
	web_printf(c, "<div class=\"panel\" role=\"status\" id=\"filed\">%s</div>", web_t(c, "counter.filed"));
	/* The receipt is the person's: in their language, whatever the official reads. */
	enum eng_lang official = c->lang;
	c->lang = strcmp(x.lang, "es") == 0 ? ENG_LANG_ES : ENG_LANG_CA;
	const struct eng_entity_view *e = &c->srv->entity;
	web_printf(c, "<section id=\"receipt\" lang=\"%s\"><h1>%s</h1><p class=\"lead\">", x.lang,
	           web_t(c, "receipt.title"));
	web_html(c, c->lang == ENG_LANG_ES ? e->name_es : e->name_ca);
	web_printf(c, "</p><dl class=\"facts\"><dt>%s</dt><dd id=\"tramit\">", web_t(c, "col.tramit"));
	web_html(c, d ? eng_text_get(&d->title, c->lang) : x.tramit_code);
	web_printf(c, " (");
	web_html(c, x.tramit_code);
	web_printf(c, ")</dd><dt>%s</dt><dd id=\"applicant\">", web_t(c, "form.applicant"));
	web_html(c, x.applicant_name);
	web_printf(c, " (");
	web_html(c, x.applicant_nif);
	web_printf(c, ")</dd><dt>%s</dt><dd id=\"registry-number\">", web_t(c, "receipt.registry"));
	web_html(c, x.registry_number ? x.registry_number : "");
	web_printf(c, "</dd><dt>%s</dt><dd id=\"presented-at\">", web_t(c, "receipt.presented"));
	web_html(c, web_date(c, x.presented_at));
	web_printf(c, "</dd><dt>%s</dt><dd id=\"expedient-number\">", web_t(c, "receipt.expedient"));
	web_html(c, x.number);
	web_printf(c, "</dd><dt>%s</dt><dd class=\"csv\" id=\"csv\">", web_t(c, "receipt.csv"));
	web_html(c, x.receipt_csv ? x.receipt_csv : "");
	web_printf(c, "</dd></dl><p id=\"assisted\">");
	assisted_sentence(c, &k);
	web_printf(c, "</p><p id=\"consent-how\">%s: ", web_t(c, "counter.consent.how"));
	web_html(c, method_text(c, &k));
	web_printf(c, "; %s ", document_text(c, &k));
	web_html(c, k.id_document);
	web_printf(c, ".</p><p>%s <a href=\"/verify?csv=%s\">/verify</a></p>", web_t(c, "receipt.verify"),
	           web_url_encode(c, x.receipt_csv ? x.receipt_csv : ""));
	web_printf(c, "<p>%s</p></section>", web_t(c, "counter.carpeta"));
	c->lang = official;
	web_printf(c, "<p class=\"hint\" id=\"print-hint\">%s</p>", web_t(c, "counter.print"));
	if (k.scan_sha256)
		web_printf(c, "<p><a href=\"/backoffice/counter/consents/%s/scan\" id=\"scan-link\">%s</a></p>",
		           x.id, web_t(c, "counter.scan.download"));
	web_printf(c, "<p><a href=\"/backoffice/expedients/%s\">%s</a> · <a href=\"/backoffice/counter\" "
	              "id=\"counter-again\">%s</a></p>", x.id, web_t(c, "counter.open"), web_t(c, "counter.again"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

void web_route_counter_scan(struct web_ctx *c, const char *id)
{
	if (!gate(c))
		return;
	struct eng_expedient_view x;
	struct eng_counter_view k;
	if (!load(c, id, &x, &k))
		return;
	unsigned char *bytes = NULL;
	size_t len = 0;
	struct eng_error err = {0};
	int rc = eng_counter_scan(c->store, c->srv->cfg.entity_id, id, &bytes, &len, &err);
	if (rc)
		return web_error_page(c, rc == ENG_ENOTFOUND ? 404 : 503,
		                      rc == ENG_ENOTFOUND ? "err.notfound.title" : "err.unavailable.title",
		                      rc == ENG_ENOTFOUND ? "err.notfound" : "err.unavailable");
	evbuffer_add(c->out, bytes, len);
	free(bytes);
	const char *ext = strcmp(k.scan_media_type, "application/pdf") == 0 ? "pdf"
	                  : strcmp(k.scan_media_type, "image/png") == 0 ? "png" : "jpg";
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Disposition",
	                  eng_arena_printf(&c->arena, "attachment; filename=\"consentiment-%s.%s\"", x.id, ext));
	web_send(c, 200, k.scan_media_type);
}

/* --- POST /api/v1/counter/expedients --- */

static void api_errors(struct web_ctx *c, int status, const char *code, const char *detail,
                       const char *ca, const char *es, const struct web_counter_filing *f)
{
	json_t *j = json_pack("{s:s, s:s, s:{s:s, s:s}}", "code", code, "error", detail, "message", "ca", ca,
	                      "es", es);
	if (f && f->n_errors) {
		static const char *const names[][2] = {
			{"c-nif", "applicant.nif"}, {"c-name", "applicant.name"}, {"c-email", "applicant.email"},
			{"c-lang", "applicant.lang"}, {"c-tramit", "tramit"}, {"c-consent", "consent.given"},
			{"c-method", "consent.method"}, {"c-doctype", "consent.document.type"},
			{"c-docnumber", "consent.document.number"}, {"c-scan", "consent.scan"}};
		json_t *errs = json_array();
		for (size_t i = 0; i < f->n_errors; i++) {
			const char *field = f->errors[i].id;
			for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
				if (strcmp(names[n][0], field) == 0)
					field = names[n][1];
			json_array_append_new(errs, json_pack("{s:s, s:{s:s, s:s}}", "field", field, "message", "ca",
			                                      f->errors[i].ca, "es", f->errors[i].es));
		}
		json_object_set_new(j, "errors", errs);
	}
	web_api_send(c, status, j);
}

static const char *str(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The first member of o not in names (NULL-terminated), or NULL. */
static const char *unknown_member(json_t *o, const char *const *names)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool known = false;
		for (const char *const *n = names; *n; n++)
			known = known || strcmp(key, *n) == 0;
		if (!known)
			return key;
	}
	return NULL;
}

static json_t *filed_json(struct web_ctx *c, const struct eng_expedient_view *x,
                          const struct web_counter_filing *f)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:{s:s, s:s}}", "id", x->id, "number", x->number,
	                      "tramit", x->tramit_code, "state", x->state, "version", (json_int_t)x->version,
	                      "applicant", "nif", x->applicant_nif, "name", x->applicant_name);
	if (x->registry_number)
		json_object_set_new(j, "registry", json_pack("{s:s, s:s, s:s}", "number", x->registry_number,
		                                             "presented_at", x->presented_at, "channel", "assistit"));
	if (x->receipt_csv)
		json_object_set_new(j, "receipt", json_pack("{s:s, s:s}", "csv", x->receipt_csv, "verify_url",
		                    eng_arena_printf(&c->arena, "/verify?csv=%s", x->receipt_csv)));
	json_object_set_new(j, "assisted", json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "official",
	                    c->session.principal_id, "official_name", f->a.official_name, "method", f->a.method,
	                    "document", "type", f->a.id_document_type, "number", f->a.id_document));
	json_object_set_new(j, "receipt_page", json_string(eng_arena_printf(&c->arena,
	                    "/backoffice/counter/receipts/%s", x->id)));
	return j;
}

void web_route_api_counter(struct web_ctx *c)
{
	web_session_load(c);
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return web_api_error(c, 405, "method_not_allowed", "POST a filing to this address");
	if (!c->signed_in)
		return web_api_error(c, 401, "unauthenticated", "sign in first: this call needs a session cookie");
	if (!web_counter_allowed(c))
		return web_api_error(c, 404, "not_found", "no such resource");
	if (!web_csrf_ok(c, web_header(c, "X-CSRF-Token")))
		return web_api_error(c, 403, "csrf", "missing or wrong X-CSRF-Token header");
	size_t len;
	char *body = web_body(c, 256 * 1024, &len);
	if (!body)
		return web_api_error(c, 413, "too_large", "the body is larger than 256 KiB");
	json_error_t jerr;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return web_api_error(c, 400, "invalid_json",
		        eng_arena_printf(&c->arena, "the body is not valid JSON: %s (line %d, column %d)",
		                         jerr.text, jerr.line, jerr.column));
	static const char *const top[] = {"tramit", "form", "applicant", "consent", NULL};
	static const char *const person[] = {"nif", "name", "email", "lang", NULL};
	static const char *const consent[] = {"given", "method", "document", NULL};
	static const char *const doc[] = {"type", "number", NULL};
	json_t *form = json_object_get(j, "form"), *applicant = json_object_get(j, "applicant");
	json_t *given = json_object_get(j, "consent");
	json_t *document = json_is_object(given) ? json_object_get(given, "document") : NULL;
	const char *bad = !json_is_object(j) ? "the body must be an object"
	                  : unknown_member(j, top) ? eng_arena_printf(&c->arena, "unknown member '%s': expected "
	                                                              "\"tramit\", \"form\", \"applicant\" and \"consent\"",
	                                                              unknown_member(j, top))
	                  : !json_is_string(json_object_get(j, "tramit")) ? "\"tramit\" must be a tràmit's code"
	                  : !json_is_object(form) ? "\"form\" must be an object of strings"
	                  : !json_is_object(applicant) || unknown_member(applicant, person)
	                  ? "\"applicant\" must be {\"nif\", \"name\", \"email\", \"lang\"}"
	                  : given && (!json_is_object(given) || unknown_member(given, consent))
	                  ? "\"consent\" must be {\"given\", \"method\", \"document\"}"
	                  : document && (!json_is_object(document) || unknown_member(document, doc))
	                  ? "\"consent.document\" must be {\"type\", \"number\"}" : NULL;
	if (bad) {
		const char *msg = eng_arena_strdup(&c->arena, bad);
		json_decref(j);
		return web_api_error(c, 400, "bad_request", msg);
	}
	struct web_counter_filing *f = eng_arena_alloc(&c->arena, sizeof(*f));
	memset(f, 0, sizeof(*f));
	size_t n = json_object_size(form), k = 0;
	f->form.values = eng_arena_alloc(&c->arena, sizeof(*f->form.values) * (n + 1));
	const char *key;
	json_t *val;
	json_object_foreach(form, key, val) {
		if (!json_is_string(val)) {
			const char *msg = eng_arena_printf(&c->arena, "form value '%s' must be a string", key);
			json_decref(j);
			return web_api_error(c, 400, "bad_request", msg);
		}
		f->form.values[k++] = (struct eng_value){eng_arena_strdup(&c->arena, key),
		                                         eng_arena_strdup(&c->arena, json_string_value(val))};
	}
	f->form.n_values = k;
	/* Copied out of j before it goes: the arena outlives it. */
	const char *code = eng_arena_strdup(&c->arena, str(j, "tramit"));
	const char *nif = eng_arena_strdup(&c->arena, str(applicant, "nif"));
	const char *name = eng_arena_strdup(&c->arena, str(applicant, "name"));
	const char *email = eng_arena_strdup(&c->arena, str(applicant, "email"));
	const char *lang = eng_arena_strdup(&c->arena, str(applicant, "lang") ? str(applicant, "lang") : "ca");
	bool has_consent = json_is_object(given) && json_is_true(json_object_get(given, "given"));
	const char *method = json_is_object(given) ? eng_arena_strdup(&c->arena, str(given, "method")) : NULL;
	const char *type = document ? eng_arena_strdup(&c->arena, str(document, "type")) : NULL;
	const char *number = document ? eng_arena_strdup(&c->arena, str(document, "number")) : NULL;
	json_decref(j);
	if (!has_consent)
		return api_errors(c, 422, "consent_required", "the person's express consent is missing "
		                  "(consent.given must be true)",
		                  "Cal el consentiment exprés de la persona per a presentar en el seu nom (art. 12 de la Llei 39/2015).",
		                  "Es necesario el consentimiento expreso de la persona para presentar en su nombre (art. 12 de la Ley 39/2015).",
		                  NULL);
	web_counter_person_check(c, f, nif, name, email, lang);
	web_counter_tramit_check(c, f, code);
	/* A signed form's scan is attached through the counter's page, which takes files. */
	web_counter_consent_check(c, f, true, method, type, number);
	if (f->n_errors > 0)
		return api_errors(c, 422, "invalid_filing", "the applicant, the tràmit or the consent has invalid values",
		                  "Les dades de la persona, el tràmit o el consentiment no són vàlids.",
		                  "Los datos de la persona, el trámite o el consentimiento no son válidos.", f);
	f->form.def = f->def;
	struct eng_outcome out;
	struct eng_expedient_view x;
	struct eng_error err = {0};
	int rc = web_counter_file(c, f, web_header(c, "Idempotency-Key"), &out, &x, &err);
	if (rc == ENG_EINVALID && out.step.n_errors > 0) {
		json_t *errs = json_array();
		for (size_t i = 0; i < out.step.n_errors && i < ENG_STEP_MAX_ERRORS; i++) {
			const struct eng_field_error *e = &out.step.errors[i];
			json_array_append_new(errs, json_pack("{s:s?, s:{s:s, s:s}}", "field", e->field, "message",
			                                      "ca", e->ca, "es", e->es));
		}
		json_t *j422 = json_pack("{s:s, s:s, s:{s:s, s:s}}", "code", "invalid_form", "error",
		                         "the form has invalid values", "message", "ca",
		                         "El formulari té valors no vàlids.", "es", "El formulario tiene valores no válidos.");
		json_object_set_new(j422, "errors", errs);
		return web_api_send(c, 422, j422);
	}
	if (rc == ENG_EINVALID)
		return web_api_error(c, 400, "bad_request", err.msg);
	if (rc == ENG_EDENIED || rc == ENG_ECONFLICT)
		return web_api_error(c, 403, "forbidden", err.msg);
	if (rc)
		return web_api_error(c, rc == ENG_EUNAVAILABLE ? 503 : 500, rc == ENG_EUNAVAILABLE ? "unavailable" : "internal",
		                     rc == ENG_EUNAVAILABLE ? "the database is unavailable; try again later"
		                                            : "internal error; nothing was stored");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location",
	                  eng_arena_printf(&c->arena, "/api/v1/expedients/%s", x.id));
	web_api_send(c, 201, filed_json(c, &x, f)); /* a repeat answers as the first did */
}
