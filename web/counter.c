/* Assisted filing at the counter (Llei 39/2015, art. 12.2-12.3): an authorised official
 * (funcionari habilitat: an employee holding WEB_COUNTER_ROLE) identifies a person, fills the
 * tràmit's form with them exactly as the citizen's e-office shows it (form.c), records their
 * express consent and files it in their name. The person is the applicant; the registry entry,
 * the receipt and the event say the official filed it, and the consent row is stored in the
 * same transaction (engine/runtime/counter.c). Anything missing or wrong comes back beside
 * its field and nothing is stored. Everyone else gets "not found". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/antivirus/antivirus.h"
#include "connectors/connector.h"
#include "connectors/csv/csv.h"
#include "engine/core/validate.h"
#include "engine/runtime/counter.h"
#include "counter.h"
#include "internal.h"

bool web_counter_allowed(const struct web_ctx *c)
{
	if (!c->signed_in || strcmp(c->session.principal_kind, "employee") != 0)
		return false;
	size_t n = strlen(WEB_COUNTER_ROLE);
	for (size_t i = 0; i < c->employee.n_roles; i++) {
		const char *r = c->employee.roles[i];
		if (strncmp(r, WEB_COUNTER_ROLE, n) == 0 && (r[n] == '\0' || r[n] == '@'))
			return true;
	}
	return false;
}

/* Signed in with the role, or answered: the sign-in page for nobody, 404 for everyone else. */
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

bool web_counter_tramit_ok(const struct eng_definition *d)
{
	/* Art. 12.2 assists persons; the tràmit must admit an employee filing for them. */
	if (!d || !(d->applicants & ENG_APPLICANT_PERSON) || !(d->applicants & ENG_APPLICANT_EMPLOYEE) ||
	    !web_form_action(d))
		return false;
	/* The counter takes no attachments of the tràmit's own yet (only the consent's scan). */
	for (size_t i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == ENG_FIELD_FILE && !d->fields[i].computed_fn)
			return false;
	return true;
}

static void add_error(struct web_ctx *c, struct web_counter_filing *f, const char *id, const char *ca,
                      const char *es)
{
	if (f->n_errors >= WEB_COUNTER_MAX_ERRORS)
		return;
	f->errors[f->n_errors++] = (struct web_form_error){.id = id, .ca = eng_arena_strdup(&c->arena, ca),
	                                                   .es = eng_arena_strdup(&c->arena, es)};
}

/* Upper case without spaces, dots or dashes: "12.345.678-z" reads as 12345678Z. */
static char *squeeze(struct web_ctx *c, const char *s)
{
	char *out = eng_arena_strdup(&c->arena, s ? s : "");
	char *w = out;
	for (const char *p = out; *p; p++) {
		if (*p == ' ' || *p == '.' || *p == '-' || *p == '\t')
			continue;
		*w++ = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
	}
	*w = '\0';
	return out;
}

static const char *trimmed(struct web_ctx *c, const char *s)
{
	if (!s)
		return "";
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return eng_arena_strndup(&c->arena, s, n);
}

void web_counter_person_check(struct web_ctx *c, struct web_counter_filing *f, const char *nif,
                              const char *name, const char *email, const char *lang)
{
	f->nif = squeeze(c, nif);
	f->a.person_name = trimmed(c, name);
	f->a.email = trimmed(c, email);
	f->a.lang = lang ? lang : "";
	if (!*f->nif)
		add_error(c, f, "c-nif", "Escriviu el NIF o NIE de la persona interessada.",
		          "Escriba el NIF o NIE de la persona interesada.");
	else if (!eng_dni_valid(f->nif) && !eng_nie_valid(f->nif))
		add_error(c, f, "c-nif", "El NIF o NIE no és vàlid: comproveu els números i la lletra de control.",
		          "El NIF o NIE no es válido: compruebe los números y la letra de control.");
	size_t len = strlen(f->a.person_name);
	if (len == 0)
		add_error(c, f, "c-name", "Escriviu el nom i els cognoms de la persona interessada.",
		          "Escriba el nombre y los apellidos de la persona interesada.");
	else if (len > 200)
		add_error(c, f, "c-name", "El nom té més de 200 caràcters.", "El nombre tiene más de 200 caracteres.");
	if (*f->a.email && !eng_email_valid(f->a.email))
		add_error(c, f, "c-email", "L'adreça de correu electrònic no és vàlida.",
		          "La dirección de correo electrónico no es válida.");
	if (strcmp(f->a.lang, "ca") != 0 && strcmp(f->a.lang, "es") != 0)
		add_error(c, f, "c-lang", "Trieu la llengua dels avisos: valencià o castellà.",
		          "Elija la lengua de los avisos: valenciano o castellano.");
}

void web_counter_tramit_check(struct web_ctx *c, struct web_counter_filing *f, const char *code)
{
	f->code = code ? code : "";
	f->def = cat_catalog_by_code(c->srv->catalog, f->code);
	if (!f->def || !web_counter_tramit_ok(f->def)) {
		f->def = NULL;
		add_error(c, f, "c-tramit", "Trieu un tràmit del catàleg que admeta la presentació assistida.",
		          "Elija un trámite del catálogo que admita la presentación asistida.");
	}
}

void web_counter_consent_check(struct web_ctx *c, struct web_counter_filing *f, bool consent,
                               const char *method, const char *doc_type, const char *doc_number)
{
	f->consent = consent;
	f->a.method = method ? method : "";
	f->a.id_document_type = doc_type ? doc_type : "";
	f->a.id_document = squeeze(c, doc_number);
	if (!consent)
		add_error(c, f, "c-consent", "Cal el consentiment exprés de la persona per a presentar en el seu nom.",
		          "Es necesario el consentimiento expreso de la persona para presentar en su nombre.");
	bool signed_form = strcmp(f->a.method, "signed_form") == 0;
	if (!signed_form && strcmp(f->a.method, "in_person") != 0)
		add_error(c, f, "c-method", "Indiqueu com ha donat el consentiment.",
		          "Indique cómo ha dado el consentimiento.");
	bool id_card = strcmp(f->a.id_document_type, "dni") == 0 || strcmp(f->a.id_document_type, "nie") == 0;
	if (!id_card && strcmp(f->a.id_document_type, "passport") != 0)
		add_error(c, f, "c-doctype", "Indiqueu quin document d'identitat ha mostrat.",
		          "Indique qué documento de identidad ha mostrado.");
	size_t n = strlen(f->a.id_document);
	bool alnum = n >= 3 && n <= 20;
	for (size_t i = 0; alnum && i < n; i++)
		alnum = (f->a.id_document[i] >= '0' && f->a.id_document[i] <= '9') ||
		        (f->a.id_document[i] >= 'A' && f->a.id_document[i] <= 'Z');
	if (!alnum)
		add_error(c, f, "c-docnumber", "Escriviu el número del document d'identitat (de 3 a 20 lletres i xifres).",
		          "Escriba el número del documento de identidad (de 3 a 20 letras y cifras).");
	else if (id_card && f->nif && strcmp(f->a.id_document, f->nif) != 0)
		add_error(c, f, "c-docnumber", "El número del DNI o NIE mostrat no coincideix amb el NIF o NIE de la persona.",
		          "El número del DNI o NIE mostrado no coincide con el NIF o NIE de la persona.");
	if (signed_form && !f->a.scan)
		add_error(c, f, "c-scan", "Adjunteu l'escaneig del formulari de consentiment signat.",
		          "Adjunte el escaneo del formulario de consentimiento firmado.");
	if (!signed_form && f->a.scan)
		add_error(c, f, "c-scan", "L'escaneig és només per al consentiment en formulari signat.",
		          "El escaneo es solo para el consentimiento en formulario firmado.");
}

static bool has_magic(const unsigned char *d, size_t n, const char *magic, size_t m)
{
	return n >= m && memcmp(d, magic, m) == 0;
}

void web_counter_scan_check(struct web_ctx *c, struct web_counter_filing *f, const char *name,
                            const unsigned char *data, size_t len)
{
	if (len == 0)
		return;
	const char *type = has_magic(data, len, "%PDF-", 5) ? "application/pdf"
	                   : has_magic(data, len, "\x89PNG\r\n\x1a\n", 8) ? "image/png"
	                   : has_magic(data, len, "\xff\xd8\xff", 3) ? "image/jpeg" : NULL;
	if (len > WEB_COUNTER_MAX_SCAN) {
		add_error(c, f, "c-scan", "L'escaneig ocupa més de 5 MiB.", "El escaneo ocupa más de 5 MiB.");
		return;
	}
	if (!type) {
		add_error(c, f, "c-scan", "L'escaneig ha de ser un PDF, JPEG o PNG.", "El escaneo debe ser un PDF, JPEG o PNG.");
		return;
	}
	/* The same antivirus as the e-office's uploads; without one, nothing is accepted. */
	struct conn_av_result av;
	const struct conn_av *engine = conn_set_state(c->srv->cfg.connectors, "antivirus");
	if (conn_av_scan_buffer(engine, data, len, name ? name : "consent", &av) != 0) {
		fprintf(stderr, "tramit: consent scan refused (%s): %s\n", conn_av_reason_code(av.reason), av.msg);
		add_error(c, f, "c-scan", "L'escaneig no ha passat l'anàlisi de l'antivirus i no s'accepta.",
		          "El escaneo no ha pasado el análisis del antivirus y no se acepta.");
		return;
	}
	f->a.scan = data;
	f->a.scan_len = len;
	f->a.scan_media_type = type;
}

/* The form's answers checked as the person would file them: the dry run takes the person as
 * the actor (the official acting for them is only known to the real command). */
static const struct eng_step_result *as_person(struct web_ctx *c, struct web_counter_filing *f,
                                               const struct eng_step_result *place)
{
	struct eng_session saved = c->session;
	const char *acting = c->acting_for;
	c->session.principal_kind = "citizen";
	c->session.principal_id = f->nif;
	c->acting_for = NULL;
	const struct eng_step_result *r = NULL;
	if (place)
		web_form_eval(c, &f->form, place);
	else
		r = web_form_check(c, &f->form);
	c->session = saved;
	c->acting_for = acting;
	return r;
}

void web_counter_form_eval(struct web_ctx *c, struct web_counter_filing *f,
                           const struct eng_step_result *errors)
{
	static const struct eng_step_result none = {0};
	as_person(c, f, errors ? errors : &none);
}

const struct eng_step_result *web_counter_form_check(struct web_ctx *c, struct web_counter_filing *f)
{
	web_form_normalise(c, f->def, f->form.values, &f->form.n_values);
	return as_person(c, f, NULL);
}

int web_counter_file(struct web_ctx *c, struct web_counter_filing *f, const char *key,
                     struct eng_outcome *out, struct eng_expedient_view *view, struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	web_form_normalise(c, f->def, f->form.values, &f->form.n_values);
	const char *action = web_form_action(f->def);
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	if (conn_csv_new(csv) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "no random numbers for a CSV");
	f->a.official_name = c->session.name ? c->session.name : c->session.principal_id;
	struct eng_actor actor = web_actor(c);
	actor.represents = f->nif; /* the person consented: the engine makes them the applicant */
	/* The key names this person's filing: the same form posted for someone else is not a
	 * repeat of it. */
	const char *k = key && *key ? eng_arena_printf(&c->arena, "counter:%s:%s", f->nif, key) : NULL;
	if (k && strlen(k) > 200)
		return eng_error_set(err, ENG_EINVALID, "an idempotency key has at most 160 characters");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.def = f->def,
		.applicant_name = f->a.person_name,
		.lang = f->a.lang,
		.expected_version = -1,
		.idempotency_key = k,
		.event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = actor,
		          .time_ms = web_now_ms(), .form = f->form.values, .n_form = f->form.n_values,
		          .csv = csv},
		.assisted = &f->a,
	};
	int rc = eng_assisted_check(&cmd, err);
	if (rc)
		return rc;
	return eng_store_apply_view(c->store, &c->arena, &cmd, cat_catalog_lookup,
	                            (void *)c->srv->catalog, out, view, err);
}

/* --- the pages --- */

static void hidden(struct web_ctx *c, const char *name, const char *value)
{
	web_printf(c, "<input type=\"hidden\" name=\"");
	web_attr(c, name);
	web_printf(c, "\" value=\"");
	web_attr(c, value ? value : "");
	web_printf(c, "\">");
}

static const struct web_form_error *error_for(const struct web_counter_filing *f, const char *id)
{
	for (size_t i = 0; i < f->n_errors; i++)
		if (strcmp(f->errors[i].id, id) == 0)
			return &f->errors[i];
	return NULL;
}

/* A labelled field: the wrapper, label, hint and message beside it; the caller draws the input
 * between field_open and field_close with field_attrs. */
static const struct web_form_error *field_open(struct web_ctx *c, const struct web_counter_filing *f,
                                               const char *id, const char *label_key, bool required,
                                               const char *hint_key)
{
	const struct web_form_error *e = error_for(f, id);
	web_printf(c, "<div class=\"field%s\" id=\"w-%s\"><label for=\"%s\">%s <span class=\"hint\">(%s)</span>"
	              "</label>", e ? " error" : "", id, id, web_t(c, label_key),
	           web_t(c, required ? "form.required" : "form.optional"));
	if (hint_key)
		web_printf(c, "<span class=\"hint\" id=\"h-%s\">%s</span>", id, web_t(c, hint_key));
	if (e) {
		web_printf(c, "<span class=\"error-message\" id=\"e-%s\">", id);
		web_html(c, c->lang == ENG_LANG_ES ? e->es : e->ca);
		web_printf(c, "</span>");
	}
	return e;
}

static void field_attrs(struct web_ctx *c, const char *id, const struct web_form_error *e, bool hint)
{
	if (e || hint)
		web_printf(c, " aria-describedby=\"%s%s%s%s%s\"", hint ? "h-" : "", hint ? id : "",
		           hint && e ? " " : "", e ? "e-" : "", e ? id : "");
	if (e)
		web_printf(c, " aria-invalid=\"true\"");
}

static void text_field(struct web_ctx *c, const struct web_counter_filing *f, const char *id,
                       const char *name, const char *label_key, const char *type, const char *value,
                       bool required, const char *hint_key)
{
	const struct web_form_error *e = field_open(c, f, id, label_key, required, hint_key);
	web_printf(c, "<input type=\"%s\" id=\"%s\" name=\"%s\"%s", type, id, name, required ? " required" : "");
	field_attrs(c, id, e, hint_key != NULL);
	web_printf(c, " value=\"");
	web_attr(c, value ? value : "");
	web_printf(c, "\"></div>");
}

static void select_field(struct web_ctx *c, const struct web_counter_filing *f, const char *id,
                         const char *name, const char *label_key, const char *value,
                         const char *const *options, const char *const *labels, size_t n)
{
	const struct web_form_error *e = field_open(c, f, id, label_key, true, NULL);
	web_printf(c, "<select id=\"%s\" name=\"%s\" required", id, name);
	field_attrs(c, id, e, false);
	web_printf(c, "><option value=\"\">%s</option>", web_t(c, "form.choose"));
	for (size_t i = 0; i < n; i++) {
		web_printf(c, "<option value=\"");
		web_attr(c, options[i]);
		web_printf(c, "\"%s>", value && strcmp(value, options[i]) == 0 ? " selected" : "");
		web_html(c, labels[i]);
		web_printf(c, "</option>");
	}
	web_printf(c, "</select></div>");
}

static void summary(struct web_ctx *c, struct web_counter_filing *f, bool with_form)
{
	size_t n = f->n_errors + (with_form ? f->form.n_errors : 0);
	if (n == 0)
		return;
	struct web_form all = {.def = f->def};
	all.errors = eng_arena_alloc(&c->arena, sizeof(*all.errors) * n);
	for (size_t i = 0; i < f->n_errors; i++)
		all.errors[all.n_errors++] = f->errors[i];
	for (size_t i = 0; with_form && i < f->form.n_errors; i++)
		all.errors[all.n_errors++] = f->form.errors[i];
	web_form_render_summary(c, &all);
}

static void person_fields(struct web_ctx *c, const struct web_counter_filing *f)
{
	web_printf(c, "<fieldset id=\"counter-person\"><legend><h2>%s</h2></legend>", web_t(c, "counter.person"));
	text_field(c, f, "c-nif", "counter:nif", "counter.nif", "text", f->nif, true, "counter.nif.hint");
	text_field(c, f, "c-name", "counter:name", "counter.name", "text", f->a.person_name, true, NULL);
	text_field(c, f, "c-email", "counter:email", "counter.email", "email", f->a.email, false,
	           "counter.email.hint");
	static const char *const langs[] = {"ca", "es"};
	const char *labels[] = {web_t(c, "counter.lang.ca"), web_t(c, "counter.lang.es")};
	select_field(c, f, "c-lang", "counter:lang", "counter.lang", f->a.lang, langs, labels, 2);
	web_printf(c, "</fieldset>");
}

static void page_identify(struct web_ctx *c, struct web_counter_filing *f, int status)
{
	web_page_begin(c, web_t(c, "counter.title"));
	summary(c, f, false);
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "counter.title"), web_t(c, "counter.intro"));
	web_printf(c, "<form method=\"post\" action=\"/backoffice/counter\" novalidate id=\"counter-identify\">");
	hidden(c, "csrf", c->session.csrf);
	hidden(c, "_step", "identify");
	person_fields(c, f);
	const struct cat_catalog *cat = c->srv->catalog;
	size_t n = 0;
	const char **codes = eng_arena_alloc(&c->arena, sizeof(*codes) * (cat_catalog_count(cat) + 1));
	const char **titles = eng_arena_alloc(&c->arena, sizeof(*titles) * (cat_catalog_count(cat) + 1));
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		if (!web_counter_tramit_ok(d))
			continue;
		codes[n] = d->code;
		titles[n++] = eng_arena_printf(&c->arena, "%s: %s", d->code, eng_text_get(&d->title, c->lang));
	}
	web_printf(c, "<fieldset><legend><h2>%s</h2></legend>", web_t(c, "counter.tramit"));
	if (n == 0)
		web_printf(c, "<p id=\"counter-none\">%s</p>", web_t(c, "counter.none"));
	select_field(c, f, "c-tramit", "counter:tramit", "counter.tramit.choose", f->code, codes, titles, n);
	web_printf(c, "</fieldset><p class=\"actions\"><button type=\"submit\" id=\"counter-next\">%s</button></p>"
	              "</form>", web_t(c, "counter.next"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

static void consent_fields(struct web_ctx *c, const struct web_counter_filing *f)
{
	web_printf(c, "<fieldset id=\"consent\"><legend><h2>%s</h2></legend><p class=\"hint\">%s</p>",
	           web_t(c, "counter.consent"), web_t(c, "counter.consent.law"));
	const struct web_form_error *e = error_for(f, "c-consent");
	web_printf(c, "<div class=\"field%s\" id=\"w-c-consent\">", e ? " error" : "");
	if (e) {
		web_printf(c, "<span class=\"error-message\" id=\"e-c-consent\">");
		web_html(c, c->lang == ENG_LANG_ES ? e->es : e->ca);
		web_printf(c, "</span>");
	}
	web_printf(c, "<label><input type=\"checkbox\" id=\"c-consent\" name=\"counter:consent\" value=\"yes\" "
	              "required%s%s> %s</label></div>", f->consent ? " checked" : "",
	           e ? " aria-invalid=\"true\" aria-describedby=\"e-c-consent\"" : "",
	           web_t(c, "counter.consent.box"));
	e = error_for(f, "c-method");
	web_printf(c, "<div class=\"field%s\" id=\"w-c-method\"><span class=\"label\">%s</span>", e ? " error" : "",
	           web_t(c, "counter.method"));
	if (e) {
		web_printf(c, "<span class=\"error-message\" id=\"e-c-method\">");
		web_html(c, c->lang == ENG_LANG_ES ? e->es : e->ca);
		web_printf(c, "</span>");
	}
	static const char *const methods[] = {"in_person", "signed_form"};
	for (int i = 0; i < 2; i++)
		web_printf(c, "<label><input type=\"radio\" name=\"counter:method\" value=\"%s\"%s%s> %s</label> ",
		           methods[i], i == 0 ? " id=\"c-method\"" : "",
		           strcmp(f->a.method ? f->a.method : "", methods[i]) == 0 ? " checked" : "",
		           web_t(c, i == 0 ? "counter.method.in_person" : "counter.method.signed_form"));
	web_printf(c, "</div>");
	static const char *const types[] = {"dni", "nie", "passport"};
	const char *labels[] = {web_t(c, "counter.doc.dni"), web_t(c, "counter.doc.nie"),
	                        web_t(c, "counter.doc.passport")};
	select_field(c, f, "c-doctype", "counter:doctype", "counter.doctype", f->a.id_document_type, types,
	             labels, 3);
	text_field(c, f, "c-docnumber", "counter:docnumber", "counter.docnumber", "text", f->a.id_document,
	           true, NULL);
	e = field_open(c, f, "c-scan", "counter.scan", false, "counter.scan.hint");
	web_printf(c, "<input type=\"file\" id=\"c-scan\" name=\"counter:scan\" accept=\".pdf,.jpg,.jpeg,.png\"");
	field_attrs(c, "c-scan", e, true);
	web_printf(c, "></div></fieldset>");
}

static void page_form(struct web_ctx *c, struct web_counter_filing *f, int status)
{
	const struct eng_definition *d = f->def;
	if (!f->form.key && !(f->form.key = web_random_hex(c, 16)))
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	bool errors = f->n_errors + f->form.n_errors > 0;
	const char *title = eng_arena_printf(&c->arena, "%s: %s", web_t(c, "counter.title"),
	                                     eng_text_get(&d->title, c->lang));
	web_page_begin(c, errors ? eng_arena_printf(&c->arena, "%s: %s", web_t(c, "form.error_title"), title)
	                         : title);
	web_printf(c, "<link rel=\"stylesheet\" href=\"/static/forms.css\">");
	summary(c, f, true);
	web_printf(c, "<h1>");
	web_html(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "</h1><p class=\"lead\">%s</p>", web_t(c, "counter.title"));
	web_printf(c, "<p id=\"applicant\"><strong>%s:</strong> ", web_t(c, "form.applicant"));
	web_html(c, f->a.person_name);
	web_printf(c, " (");
	web_html(c, f->nif);
	web_printf(c, "), %s ", web_t(c, "counter.filed_by"));
	web_html(c, c->session.name ? c->session.name : c->session.principal_id);
	web_printf(c, " (");
	web_html(c, c->session.principal_id);
	web_printf(c, ")</p>");
	web_printf(c, "<form method=\"post\" action=\"/backoffice/counter\" enctype=\"multipart/form-data\" "
	              "novalidate id=\"tramit-form\">");
	/* Enter in a text box files (after every check), never "add" to a group. */
	web_printf(c, "<button type=\"submit\" name=\"_action\" value=\"file\" class=\"default-action\" "
	              "tabindex=\"-1\" aria-hidden=\"true\">%s</button>", web_t(c, "counter.file"));
	hidden(c, "csrf", c->session.csrf);
	hidden(c, "submission", f->form.key);
	hidden(c, "_step", "file");
	hidden(c, "counter:tramit", d->code);
	hidden(c, "counter:nif", f->nif);
	hidden(c, "counter:name", f->a.person_name);
	hidden(c, "counter:email", f->a.email);
	hidden(c, "counter:lang", f->a.lang);
	web_form_render_fields(c, &f->form);
	consent_fields(c, f);
	web_printf(c, "<p class=\"notice\">%s</p><p class=\"actions\"><button type=\"submit\" name=\"_action\" "
	              "value=\"file\" id=\"counter-file\">%s</button> <button type=\"submit\" class=\"secondary\" "
	              "name=\"_action\" value=\"update\" id=\"update\">%s</button></p></form>",
	           web_t(c, "counter.notice"), web_t(c, "counter.file"), web_t(c, "form.update"));
	web_printf(c, "<script src=\"/static/form.js\" defer></script>");
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

/* A post's values (urlencoded, or multipart with the consent scan), CSRF checked and taken
 * out; false after answering. */
static bool read_post(struct web_ctx *c, struct web_counter_filing *f, struct eng_value **v, size_t *n)
{
	const char *ctype = web_header(c, "Content-Type");
	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19) != 0)
		return web_post_form(c, 256 * 1024, v, n);
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	if (len > WEB_UPLOAD_MAX_BODY) {
		web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
		return false;
	}
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	struct web_part *parts;
	size_t np;
	const char *why = NULL;
	if (!body || web_multipart_parse(c, ctype, body, len, 64, &parts, &np, &why) != 0) {
		web_error_page(c, 400, "err.badrequest.title", why ? why : "mp.structure");
		return false;
	}
	*v = eng_arena_alloc(&c->arena, sizeof(**v) * (np + 1));
	*n = 0;
	const char *csrf = NULL;
	for (size_t i = 0; i < np; i++) {
		const struct web_part *p = &parts[i];
		if (p->filename && strcmp(p->name, "counter:scan") == 0) {
			f->scan_name = web_filename_clean(c, p->filename);
			f->scan_data = (const unsigned char *)p->data;
			f->scan_len = p->len;
			continue;
		}
		if (p->filename || !web_utf8_valid(p->data, p->len)) {
			web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
			return false;
		}
		const char *value = eng_arena_strndup(&c->arena, p->data, p->len);
		if (strcmp(p->name, "csrf") == 0)
			csrf = value;
		else
			(*v)[(*n)++] = (struct eng_value){.name = p->name, .value = value};
	}
	if (!web_csrf_ok(c, csrf)) {
		web_error_page(c, 403, "err.csrf.title", "err.csrf");
		return false;
	}
	return true;
}

/* Splits the post into the counter's own values (counter:*), the controls and the tràmit's. */
static void split_post(struct web_ctx *c, struct web_counter_filing *f, struct eng_value *v, size_t n,
                       const char **step, const char **action, bool *duplicate)
{
	f->form.values = eng_arena_alloc(&c->arena, sizeof(*v) * (n + 1));
	f->form.n_values = 0;
	f->own = eng_arena_alloc(&c->arena, sizeof(*v) * (n + 1));
	f->n_own = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "_step") == 0)
			*step = v[i].value;
		else if (strcmp(v[i].name, "_action") == 0)
			*action = v[i].value;
		else if (strcmp(v[i].name, "submission") == 0)
			f->form.key = strlen(v[i].value) >= 8 && strlen(v[i].value) <= 128 ? v[i].value : NULL;
		else if (strncmp(v[i].name, "counter:", 8) == 0 && !eng_values_get(f->own, f->n_own, v[i].name))
			f->own[f->n_own++] = v[i];
		else if (strncmp(v[i].name, "counter:", 8) == 0)
			*duplicate = true;
		else
			f->form.values[f->form.n_values++] = v[i];
	}
}

static const char *own(const struct web_counter_filing *f, const char *name)
{
	return eng_values_get(f->own, f->n_own, name);
}

static void answer_filed(struct web_ctx *c, struct web_counter_filing *f, int rc,
                         struct eng_outcome *out, const struct eng_error *err)
{
	if (rc == ENG_EINVALID && out->step.n_errors > 0) {
		web_counter_form_eval(c, f, &out->step);
		return page_form(c, f, 422);
	}
	if (rc == ENG_EDENIED || rc == ENG_ECONFLICT || rc == ENG_EINVALID) {
		fprintf(stderr, "tramit: counter filing of %s refused: %s\n", f->def->code, err->msg);
		return web_error_page(c, 403, "err.denied.title", "err.denied");
	}
	if (rc) {
		fprintf(stderr, "tramit: counter filing of %s failed: %s\n", f->def->code, err->msg);
		return web_error_page(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable.title" : "err.internal.title",
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable" : "err.internal");
	}
	web_redirect(c, eng_arena_printf(&c->arena, "/backoffice/counter/receipts/%s", out->expedient_id));
}

void web_route_counter(struct web_ctx *c)
{
	if (!gate(c))
		return;
	struct web_counter_filing *f = eng_arena_alloc(&c->arena, sizeof(*f));
	memset(f, 0, sizeof(*f));
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST) {
		f->a.lang = web_lang_code(c->lang);
		return page_identify(c, f, 200);
	}
	struct eng_value *v;
	size_t n;
	if (!read_post(c, f, &v, &n))
		return;
	const char *step = NULL, *action = NULL;
	bool duplicate = false; /* one of the counter's own values posted twice: which one holds? */
	split_post(c, f, v, n, &step, &action, &duplicate);
	if (duplicate || !step || (strcmp(step, "identify") != 0 && strcmp(step, "file") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	/* A field the page does not have is refused naming it: the counter's own fields at either
	 * step, and at the first step anything else too (the tràmit's form comes after; its fields
	 * are checked against the definition when it is filed). */
	static const char *const identify_fields[] = {"csrf", "_step", "_action", "submission", "counter:nif",
	                                              "counter:name", "counter:email", "counter:lang",
	                                              "counter:tramit", NULL};
	static const char *const own_fields[] = {"counter:nif", "counter:name", "counter:email", "counter:lang",
	                                         "counter:tramit", "counter:consent", "counter:method",
	                                         "counter:doctype", "counter:docnumber", "counter:scan", NULL};
	if (!web_only_fields(c, strcmp(step, "identify") == 0 ? v : f->own, strcmp(step, "identify") == 0 ? n : f->n_own,
	                     strcmp(step, "identify") == 0 ? identify_fields : own_fields))
		return;
	web_counter_person_check(c, f, own(f, "counter:nif"), own(f, "counter:name"), own(f, "counter:email"),
	                         own(f, "counter:lang"));
	web_counter_tramit_check(c, f, own(f, "counter:tramit"));
	if (f->n_errors > 0)
		return page_identify(c, f, 422);
	f->form.def = f->def;
	if (strcmp(step, "identify") == 0) {
		web_counter_form_eval(c, f, NULL);
		return page_form(c, f, 200);
	}
	/* Buttons that only change the form (a group's "add", "update") show it again. */
	if (action && strcmp(action, "file") != 0) {
		bool group = strncmp(action, "add:", 4) == 0 || strncmp(action, "remove:", 7) == 0;
		if (!group && strcmp(action, "update") != 0)
			return web_error_page(c, 400, "err.badrequest.title", "form.bad_action");
		web_form_normalise(c, f->def, f->form.values, &f->form.n_values);
		if (group && !web_form_group_action(c, &f->form, action))
			return;
		f->consent = own(f, "counter:consent") != NULL;
		f->a.method = own(f, "counter:method");
		f->a.id_document_type = own(f, "counter:doctype");
		f->a.id_document = own(f, "counter:docnumber");
		web_counter_form_eval(c, f, NULL);
		return page_form(c, f, 200);
	}
	web_counter_scan_check(c, f, f->scan_name, f->scan_data, f->scan_len);
	const char *consent = own(f, "counter:consent");
	web_counter_consent_check(c, f, consent && strcmp(consent, "yes") == 0, own(f, "counter:method"),
	                          own(f, "counter:doctype"), own(f, "counter:docnumber"));
	const struct eng_step_result *r = web_counter_form_check(c, f);
	if (f->n_errors > 0 || r->n_errors > 0) {
		web_counter_form_eval(c, f, r);
		return page_form(c, f, 422);
	}
	struct eng_outcome out;
	struct eng_error err = {0};
	int rc = web_counter_file(c, f, f->form.key, &out, NULL, &err);
	answer_filed(c, f, rc, &out, &err);
}
