/* The e-office (seu electrònica): the catalogue, a page per tràmit generated from its
 * definition, and the form that starts an expedient. A post with any invalid value gets the
 * form back (422) with each message beside its field and stores nothing. */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/csv/csv.h"
#include "internal.h"

void web_route_home(struct web_ctx *c)
{
	const struct cat_catalog *cat = c->srv->catalog;
	web_page_begin(c, web_t(c, "home.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "home.title"), web_t(c, "home.intro"));
	if (cat_catalog_count(cat) == 0)
		web_printf(c, "<p>%s</p>", web_t(c, "home.empty"));
	const char *family = NULL;
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		if (!family || strcmp(family, d->family ? d->family : "") != 0) {
			if (family)
				web_printf(c, "</ul>");
			family = d->family ? d->family : "";
			const char *key = eng_arena_printf(&c->arena, "family.%s", family);
			const char *label = web_t(c, key);
			web_printf(c, "<h2>");
			web_html(c, label == key ? family : label);
			web_printf(c, "</h2><ul class=\"catalogue\">");
		}
		web_printf(c, "<li><a href=\"/tramits/%s\">", web_url_encode(c, d->code));
		web_html(c, eng_text_get(&d->title, c->lang));
		web_printf(c, "</a> <span class=\"hint\">");
		web_html(c, eng_text_get(&d->summary, c->lang));
		web_printf(c, "</span></li>");
	}
	if (family)
		web_printf(c, "</ul>");
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

static void paragraphs(struct web_ctx *c, const char *text)
{
	/* Descriptions are plain paragraphs separated by blank lines. */
	const char *p = text;
	while (p && *p) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		web_printf(c, "<p>");
		web_html(c, eng_arena_strndup(&c->arena, p, len));
		web_printf(c, "</p>");
		p = end ? end + 2 : NULL;
	}
}

void web_route_tramit(struct web_ctx *c, const char *code)
{
	const struct eng_definition *d = cat_catalog_by_code(c->srv->catalog, code);
	if (!d)
		return web_error_page(c, 404, "err.notfound.title", "tramit.notfound");
	web_page_begin(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "<h1>");
	web_html(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "</h1><p class=\"lead\">");
	web_html(c, eng_text_get(&d->summary, c->lang));
	web_printf(c, "</p>");
	paragraphs(c, eng_text_get(&d->description, c->lang));
	web_printf(c, "<dl class=\"facts\"><dt>%s</dt><dd>", web_t(c, "tramit.code"));
	web_html(c, d->code);
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "tramit.applicants"));
	if (d->applicants & ENG_APPLICANT_PERSON)
		web_printf(c, "%s<br>", web_t(c, "applicant.person"));
	if (d->applicants & ENG_APPLICANT_COMPANY)
		web_printf(c, "%s", web_t(c, "applicant.company"));
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "tramit.legal"));
	web_html(c, d->legal_basis);
	web_printf(c, "</dd>");
	if (d->resolve_months > 0)
		web_printf(c, "<dt>%s</dt><dd>%d %s</dd>", web_t(c, "tramit.resolve"), d->resolve_months,
		           web_t(c, d->resolve_months == 1 ? "tramit.month" : "tramit.months"));
	static const char *const silence[] = {"silence.none", "silence.positive", "silence.negative",
	                                      "silence.lapse"};
	web_printf(c, "<dt>%s</dt><dd>%s</dd></dl>", web_t(c, "tramit.silence"),
	           web_t(c, silence[d->silence]));
	web_printf(c, "<h2>%s</h2><ul>", web_t(c, "tramit.fields"));
	for (size_t i = 0; i < d->n_fields; i++) {
		web_printf(c, "<li>");
		web_html(c, eng_text_get(&d->fields[i].label, c->lang));
		web_printf(c, " (%s)</li>", web_t(c, d->fields[i].required ? "form.required" : "form.optional"));
	}
	web_printf(c, "</ul><p><a class=\"button\" id=\"start\" href=\"/tramits/%s/new\">%s</a></p>",
	           web_url_encode(c, d->code), web_t(c, "tramit.start"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

static const struct eng_field_error *error_for(const struct eng_step_result *r, const char *field)
{
	for (size_t i = 0; r && i < r->n_errors && i < ENG_STEP_MAX_ERRORS; i++)
		if (r->errors[i].field && strcmp(r->errors[i].field, field) == 0)
			return &r->errors[i];
	return NULL;
}

static void render_input(struct web_ctx *c, const struct eng_field *f, const char *value,
                         const char *described)
{
	static const char *const input_type[ENG_FIELD__COUNT] = {
		[ENG_FIELD_TEXT] = "text", [ENG_FIELD_NUMBER] = "text", [ENG_FIELD_DATE] = "date",
		[ENG_FIELD_EMAIL] = "email", [ENG_FIELD_PHONE] = "tel", [ENG_FIELD_NIF] = "text",
		[ENG_FIELD_POSTAL] = "text", [ENG_FIELD_MONEY] = "text", [ENG_FIELD_PERSON_NIF] = "text",
		[ENG_FIELD_COMPANY_NIF] = "text", [ENG_FIELD_IBAN] = "text",
		[ENG_FIELD_MUNICIPALITY] = "text", [ENG_FIELD_CADASTRAL] = "text",
		[ENG_FIELD_FILE] = "file"};
	const char *req = f->required ? " required" : "";
	switch (f->type) {
	case ENG_FIELD_MULTICHOICE:
		for (size_t i = 0; i < f->n_options; i++) {
			bool on = false;
			for (const char *p = value; p && *p;) {
				const char *comma = strchr(p, ',');
				size_t len = comma ? (size_t)(comma - p) : strlen(p);
				on = on || (strlen(f->options[i].value) == len && strncmp(p, f->options[i].value, len) == 0);
				p = comma ? comma + 1 : p + len;
			}
			web_printf(c, "<label><input type=\"checkbox\" name=\"%s\" value=\"", f->name);
			web_attr(c, f->options[i].value);
			web_printf(c, "\"%s%s> ", i == 0 ? eng_arena_printf(&c->arena, " id=\"f-%s\"", f->name) : "",
			           on ? " checked" : "");
			web_html(c, eng_text_get(&f->options[i].label, c->lang));
			web_printf(c, "</label> ");
		}
		return;
	case ENG_FIELD_ADDRESS:
	case ENG_FIELD_LONGTEXT:
		web_printf(c, "<textarea id=\"f-%s\" name=\"%s\"%s%s", f->name, f->name, req, described);
		if (f->has_max)
			web_printf(c, " maxlength=\"%lld\"", (long long)f->max);
		web_printf(c, ">");
		web_html(c, value);
		web_printf(c, "</textarea>");
		return;
	case ENG_FIELD_CHOICE:
		web_printf(c, "<select id=\"f-%s\" name=\"%s\"%s%s><option value=\"\">%s</option>",
		           f->name, f->name, req, described, web_t(c, "form.choose"));
		for (size_t i = 0; i < f->n_options; i++) {
			web_printf(c, "<option value=\"");
			web_attr(c, f->options[i].value);
			web_printf(c, "\"%s>", value && strcmp(value, f->options[i].value) == 0 ? " selected" : "");
			web_html(c, eng_text_get(&f->options[i].label, c->lang));
			web_printf(c, "</option>");
		}
		web_printf(c, "</select>");
		return;
	case ENG_FIELD_FILE:
		/* A browser cannot refill a file input: after an error the files are chosen again. */
		web_printf(c, "<input type=\"file\" id=\"f-%s\" name=\"%s\"%s%s%s", f->name, f->name, req,
		           described, !f->has_max || f->max > 1 ? " multiple" : "");
		if (f->n_accept) {
			web_printf(c, " accept=\"");
			for (size_t i = 0; i < f->n_accept; i++)
				web_printf(c, "%s.%s", i ? "," : "", f->accept[i]);
			web_printf(c, "\"");
		}
		web_printf(c, ">");
		return;
	case ENG_FIELD_YESNO:
		for (int i = 0; i < 2; i++) {
			const char *v = i == 0 ? "yes" : "no";
			web_printf(c, "<label><input type=\"radio\" name=\"%s\" value=\"%s\"%s%s> %s</label> ",
			           f->name, v, i == 0 ? eng_arena_printf(&c->arena, " id=\"f-%s\"", f->name) : "",
			           value && strcmp(value, v) == 0 ? " checked" : "",
			           web_t(c, i == 0 ? "form.yes" : "form.no"));
		}
		return;
	default:
		web_printf(c, "<input type=\"%s\" id=\"f-%s\" name=\"%s\"%s%s", input_type[f->type],
		           f->name, f->name, req, described);
		if (f->type == ENG_FIELD_NUMBER || f->type == ENG_FIELD_POSTAL)
			web_printf(c, " inputmode=\"numeric\"");
		if (f->type == ENG_FIELD_MONEY)
			web_printf(c, " inputmode=\"decimal\"");
		if (f->type == ENG_FIELD_EMAIL)
			web_printf(c, " autocomplete=\"email\"");
		if (f->type == ENG_FIELD_PHONE)
			web_printf(c, " autocomplete=\"tel\"");
		if (f->has_max && f->type == ENG_FIELD_TEXT)
			web_printf(c, " maxlength=\"%lld\"", (long long)f->max);
		web_printf(c, " value=\"");
		web_attr(c, value);
		web_printf(c, "\">");
	}
}

static bool has_files(const struct eng_definition *d)
{
	for (size_t i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == ENG_FIELD_FILE && !d->fields[i].computed_fn)
			return true;
	return false;
}

/* What a file field takes, said beside it: formats, size of each, how many. again: the form
 * comes back with errors, and browsers never refill a file input. */
static void render_file_limits(struct web_ctx *c, const struct eng_field *f, bool again)
{
	web_printf(c, "<span class=\"hint\" id=\"l-%s\">", f->name);
	if (f->n_accept) {
		web_printf(c, "%s: ", web_t(c, "upload.formats"));
		web_html(c, web_upload_formats(c, f));
		web_printf(c, ". ");
	}
	long long limit = web_upload_limit(f);
	web_printf(c, "%s: %s", web_t(c, "upload.max_size"), web_size_text(c, limit));
	if (f->has_max)
		web_printf(c, ". %s: %lld", web_t(c, "upload.max_files"), (long long)f->max);
	web_printf(c, ". %s%s%s</span>", web_t(c, "upload.scanned"), again ? " " : "",
	           again ? web_t(c, "upload.again") : "");
}

/* key: the submission key to carry (a form shown again after an error keeps its key, so the
 * files it staged are replaced, not added to); NULL draws a new one. */
static void render_form(struct web_ctx *c, const struct eng_definition *d,
                        const struct eng_value *values, size_t n, const struct eng_step_result *r,
                        int status, const char *key)
{
	bool errors = r && r->n_errors > 0;
	if (!key && !(key = web_random_hex(c, 16)))
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	/* The title says there are errors: it is the first thing a screen reader reads. */
	web_page_begin(c, errors ? eng_arena_printf(&c->arena, "%s: %s", web_t(c, "form.error_title"),
	                                            eng_text_get(&d->title, c->lang))
	                         : eng_text_get(&d->title, c->lang));
	if (errors) {
		/* autofocus, not a script: keyboard and screen reader users start at the summary with
		 * JavaScript off too. */
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus "
		              "id=\"error-summary\"><h2>%s</h2><ul>", web_t(c, "form.errors"));
		for (size_t i = 0; i < r->n_errors && i < ENG_STEP_MAX_ERRORS; i++) {
			const struct eng_field_error *e = &r->errors[i];
			if (e->field)
				web_printf(c, "<li><a href=\"#f-%s\">", e->field);
			else
				web_printf(c, "<li>");
			web_html(c, c->lang == ENG_LANG_ES ? e->es : e->ca);
			web_printf(c, "%s</li>", e->field ? "</a>" : "");
		}
		web_printf(c, "</ul></div>");
	}
	web_printf(c, "<h1>");
	web_html(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "</h1><form method=\"post\" action=\"/tramits/%s/new\" novalidate%s>"
	              "<input type=\"hidden\" name=\"csrf\" value=\"", web_url_encode(c, d->code),
	           has_files(d) ? " enctype=\"multipart/form-data\"" : "");
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><input type=\"hidden\" name=\"submission\" value=\"");
	web_attr(c, key);
	web_printf(c, "\"><p><strong>%s:</strong> ", web_t(c, "form.applicant"));
	web_html(c, c->display_name);
	web_printf(c, " (");
	web_html(c, c->session.principal_id);
	web_printf(c, ")</p>");
	for (size_t s = 0; s < d->n_sections; s++) {
		web_printf(c, "<fieldset><legend><h2>");
		web_html(c, eng_text_get(&d->sections[s].label, c->lang));
		web_printf(c, "</h2></legend>");
		for (size_t i = 0; i < d->n_fields; i++) {
			const struct eng_field *f = &d->fields[i];
			if (!f->section || strcmp(f->section, d->sections[s].name) != 0 || f->computed_fn)
				continue;
			const struct eng_field_error *e = error_for(r, f->name);
			bool hint = eng_text_get(&f->help, c->lang)[0] != '\0';
			web_printf(c, "<div class=\"field%s\"><label for=\"f-%s\">", e ? " error" : "", f->name);
			web_html(c, eng_text_get(&f->label, c->lang));
			web_printf(c, " <span class=\"hint\">(%s)</span></label>",
			           web_t(c, f->required ? "form.required" : "form.optional"));
			if (hint) {
				web_printf(c, "<span class=\"hint\" id=\"h-%s\">", f->name);
				web_html(c, eng_text_get(&f->help, c->lang));
				web_printf(c, "</span>");
			}
			bool file = f->type == ENG_FIELD_FILE;
			if (file)
				render_file_limits(c, f, errors);
			if (e) {
				web_printf(c, "<span class=\"error-message\" id=\"e-%s\">", f->name);
				web_html(c, c->lang == ENG_LANG_ES ? e->es : e->ca);
				web_printf(c, "</span>");
			}
			const char *described = eng_arena_printf(&c->arena, "%s%s%s%s%s%s%s%s%s%s",
			        hint || e || file ? " aria-describedby=\"" : "", hint ? "h-" : "", hint ? f->name : "",
			        hint && (e || file) ? " " : "", file ? "l-" : "", file ? f->name : "",
			        file && e ? " " : "", e ? "e-" : "", e ? f->name : "", hint || e || file ? "\"" : "");
			if (e)
				described = eng_arena_printf(&c->arena, "%s aria-invalid=\"true\"", described);
			render_input(c, f, eng_values_get(values, n, f->name), described);
			web_printf(c, "</div>");
		}
		web_printf(c, "</fieldset>");
	}
	web_printf(c, "<p class=\"notice\">%s</p><button type=\"submit\" id=\"submit\">%s</button></form>",
	           web_t(c, "form.notice"), web_t(c, "form.submit"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

/* Trims surrounding white space from every value (people paste with spaces). */
static void trim_values(struct eng_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *s = (char *)v[i].value;
		size_t len = strlen(s);
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
		size_t start = 0;
		while (isspace((unsigned char)s[start]))
			start++;
		v[i].value = s + start;
	}
}

/* Checkboxes post one value per ticked option; the engine takes them joined by commas. */
static size_t join_multichoice(struct web_ctx *c, const struct eng_definition *d,
                               struct eng_value *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct eng_field *f = eng_definition_field(d, v[i].name);
		size_t j = 0;
		while (f && f->type == ENG_FIELD_MULTICHOICE && j < k && strcmp(v[j].name, v[i].name) != 0)
			j++;
		if (f && f->type == ENG_FIELD_MULTICHOICE && j < k) {
			v[j].value = eng_arena_printf(&c->arena, "%s,%s", v[j].value, v[i].value);
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

/* Whether line ("name|bytes|sha256") is one of the files this request checked and staged
 * for field. */
static bool file_staged(struct web_ctx *c, const char *field, const char *line, size_t len)
{
	const struct web_upload_post *p = c->upload;
	for (size_t i = 0; p && i < p->n_files; i++) {
		const struct eng_doc_upload *f = &p->files[i];
		const char *want = eng_arena_printf(&c->arena, "%s|%zu|%s", f->name, f->len, f->sha256);
		if (strcmp(f->field, field) == 0 && strlen(want) == len && memcmp(want, line, len) == 0)
			return true;
	}
	return false;
}

/* A file field's value names files by hash. Only the files uploaded and scanned with this
 * very request may be named; otherwise anyone could claim a stored file (or an unscanned
 * one) by typing its hash into the API. */
static int files_backed(struct web_ctx *c, const struct eng_definition *d,
                        const struct eng_value *v, size_t n, struct eng_outcome *out,
                        struct eng_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct eng_field *f = eng_definition_field(d, v[i].name);
		if (!f || f->type != ENG_FIELD_FILE)
			continue;
		for (const char *p = v[i].value; *p;) {
			size_t len = strcspn(p, "\n");
			if (len && !file_staged(c, f->name, p, len)) {
				memset(out, 0, sizeof(*out));
				struct eng_field_error *e = &out->step.errors[out->step.n_errors++];
				e->field = f->name;
				snprintf(e->ca, sizeof(e->ca), "«%s»: adjunteu els fitxers amb el formulari de la seu.",
				         eng_text_get(&f->label, ENG_LANG_CA));
				snprintf(e->es, sizeof(e->es), "«%s»: adjunte los ficheros con el formulario de la sede.",
				         eng_text_get(&f->label, ENG_LANG_ES));
				return eng_error_set(err, ENG_EINVALID, "field %s: files are attached by uploading "
				                     "them with the form, not named in a value", f->name);
			}
			p += len + (p[len] == '\n');
		}
	}
	return 0;
}

/* Shared by the HTML form and the JSON API: starts an expedient with the initial action. */
int web_submit(struct web_ctx *c, const struct eng_definition *d, struct eng_value *form,
               size_t n_form, const char *key, struct eng_outcome *out,
               struct eng_expedient_view *view, struct eng_error *err)
{
	int rc = files_backed(c, d, form, n_form, out, err);
	if (rc)
		return rc;
	trim_values(form, n_form);
	n_form = join_multichoice(c, d, form, n_form);
	const struct eng_state *initial = eng_definition_initial(d);
	const char *action = NULL;
	for (size_t i = 0; initial && i < initial->n_actions; i++)
		if (initial->actions[i].by == ENG_BY_APPLICANT && (initial->actions[i].flags & ENG_ACTION_FORM))
			action = initial->actions[i].name;
	if (!action)
		return eng_error_set(err, ENG_ECONFLICT, "tràmit %s cannot be started by an applicant", d->code);
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	if (conn_csv_new(csv) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "no random numbers for a CSV");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.def = d,
		.applicant_name = c->display_name,
		.lang = web_lang_code(c->lang),
		.expected_version = -1,
		.idempotency_key = key,
		.event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
		          .time_ms = web_now_ms(), .form = form, .n_form = n_form, .csv = csv},
	};
	return eng_store_apply_view(c->store, &c->arena, &cmd, cat_catalog_lookup,
	                            (void *)c->srv->catalog, out, view, err);
}

/* The answer to a submission, the same with or without files. */
static void answer(struct web_ctx *c, const struct eng_definition *d, struct eng_value *v,
                   size_t k, const char *key, int rc, const struct eng_outcome *out,
                   const struct eng_error *err)
{
	if (rc == ENG_EINVALID && out->step.n_errors > 0)
		return render_form(c, d, v, k, &out->step, 422, key && *key ? key : NULL);
	if (rc == ENG_EDENIED || rc == ENG_ECONFLICT)
		return web_error_page(c, 403, "err.denied.title", "err.denied");
	if (rc) {
		fprintf(stderr, "tramit: submission of %s failed: %s\n", d->code, err->msg);
		return web_error_page(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable.title" : "err.internal.title",
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable" : "err.internal");
	}
	web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/expedients/%s?submitted=1", out->expedient_id));
}

/* A form with files: every file checked and scanned first; one refused and the form comes
 * back with the reason beside its field, the other values kept, nothing stored. Otherwise the
 * files are staged (content-addressed, their own transaction) and the submission links them
 * in its transaction. */
static void submit_with_files(struct web_ctx *c, const struct eng_definition *d)
{
	struct web_upload_post post;
	if (!web_upload_read(c, d, &post))
		return;
	if (post.refused->n_errors > 0) {
		/* Shown again as posted: ticked options joined the way the form reads them. */
		post.n_values = join_multichoice(c, d, post.values, post.n_values);
		return render_form(c, d, post.values, post.n_values, post.refused, 422, post.key);
	}
	struct eng_error err = {0};
	struct eng_outcome out = {0};
	int rc = web_upload_stage(c, &post, &err);
	if (rc == 0) {
		c->upload = &post;
		rc = web_submit(c, d, post.values, post.n_values, post.key, &out, NULL, &err);
		c->upload = NULL;
	}
	answer(c, d, post.values, post.n_values, post.key, rc, &out, &err);
}

void web_route_form(struct web_ctx *c, const char *code)
{
	const struct eng_definition *d = cat_catalog_by_code(c->srv->catalog, code);
	if (!d)
		return web_error_page(c, 404, "err.notfound.title", "tramit.notfound");
	if (!web_require(c, "citizen"))
		return;
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return render_form(c, d, NULL, 0, NULL, 200, NULL);
	const char *ctype = web_header(c, "Content-Type");
	if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0)
		return submit_with_files(c, d);
	struct eng_value *v;
	size_t k;
	if (!web_post_form(c, 256 * 1024, &v, &k))
		return;
	/* The form carries a key drawn when it was shown: a second click, or a reload after a
	 * lost answer, finds the first submission instead of filing a second one. */
	const char *key = NULL;
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (strcmp(v[i].name, "submission") == 0)
			key = v[i].value;
		else
			v[m++] = v[i];
	}
	k = m;
	struct eng_outcome out;
	struct eng_error err = {0};
	int rc = web_submit(c, d, v, k, key && *key ? key : NULL, &out, NULL, &err);
	answer(c, d, v, k, key, rc, &out, &err);
}
