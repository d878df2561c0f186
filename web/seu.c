/* The e-office (seu electrònica): the catalogue, a page per tràmit generated from its
 * definition, and the form that starts an expedient. A post with any invalid value gets the
 * form back (422) with each message beside its field and stores nothing. */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/drafts.h"
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

/* Whether line ("name|bytes|sha256") is one of the files checked and staged for field: by this
 * request, or earlier under the same submission key by the same person (staged). */
static bool file_staged(struct web_ctx *c, const char *field, const char *line, size_t len,
                        const struct eng_staged_file *staged, size_t n_staged)
{
	const struct web_upload_post *p = c->upload;
	for (size_t i = 0; p && i < p->n_files; i++) {
		const struct eng_doc_upload *f = &p->files[i];
		const char *want = eng_arena_printf(&c->arena, "%s|%zu|%s", f->name, f->len, f->sha256);
		if (strcmp(f->field, field) == 0 && strlen(want) == len && memcmp(want, line, len) == 0)
			return true;
	}
	for (size_t i = 0; i < n_staged; i++) {
		const struct eng_staged_file *f = &staged[i];
		const char *want = eng_arena_printf(&c->arena, "%s|%lld|%s", f->name, f->size, f->sha256);
		if (strcmp(f->field, field) == 0 && strlen(want) == len && memcmp(want, line, len) == 0)
			return true;
	}
	return false;
}

/* A file field's value names files by hash. Only files this person uploaded and had scanned
 * under this submission's key may be named; otherwise anyone could claim a stored file (or an
 * unscanned one) by typing its hash into the API. */
static int files_backed(struct web_ctx *c, const struct eng_definition *d, const char *key,
                        const struct eng_value *v, size_t n, struct eng_outcome *out,
                        struct eng_error *err)
{
	struct eng_staged_file *staged = NULL;
	size_t n_staged = 0;
	bool loaded = false;
	for (size_t i = 0; i < n; i++) {
		const struct eng_field *f = eng_definition_field(d, v[i].name);
		if (!f || f->type != ENG_FIELD_FILE)
			continue;
		for (const char *p = v[i].value; *p;) {
			size_t len = strcspn(p, "\n");
			if (len && !file_staged(c, f->name, p, len, staged, n_staged) && key && c->signed_in &&
			    !loaded) {
				loaded = true;
				const char *who = eng_arena_printf(&c->arena, "citizen:%s", c->session.principal_id);
				int rc = eng_staged_list(c->store, &c->arena, c->srv->cfg.entity_id, who, key,
				                         &staged, &n_staged, err);
				if (rc)
					return rc;
			}
			if (len && !file_staged(c, f->name, p, len, staged, n_staged)) {
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
	int rc = files_backed(c, d, key, form, n_form, out, err);
	if (rc)
		return rc;
	web_form_normalise(c, d, form, &n_form);
	const char *action = web_form_action(d);
	if (!action)
		return eng_error_set(err, ENG_ECONFLICT, "tràmit %s cannot be started by an applicant", d->code);
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	if (conn_csv_new(csv) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "no random numbers for a CSV");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.def = d,
		/* The party acted for is the applicant (engine: actor.represents). */
		.applicant_name = c->acting_for ? c->acting_name : c->display_name,
		.lang = web_lang_code(c->lang),
		.expected_version = -1,
		.idempotency_key = key,
		.event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
		          .time_ms = web_now_ms(), .form = form, .n_form = n_form, .csv = csv},
	};
	return eng_store_apply_view(c->store, &c->arena, &cmd, cat_catalog_lookup,
	                            (void *)c->srv->catalog, out, view, err);
}

/* The form again with the engine's messages beside their inputs. */
static void form_with_errors(struct web_ctx *c, struct web_form *f, const struct eng_step_result *r)
{
	struct eng_error err = {0};
	if (web_form_keep_files(c, f, &err) != 0)
		fprintf(stderr, "tramit: staged files of %s: %s\n", f->def->code, err.msg);
	web_form_eval(c, f, r);
	web_form_render(c, f, 422);
}

/* The answer to a submission, the same with or without files. */
static void answer(struct web_ctx *c, struct web_form *f, int rc, const struct eng_outcome *out,
                   const struct eng_error *err)
{
	if (rc == ENG_EINVALID && out->step.n_errors > 0)
		return form_with_errors(c, f, &out->step);
	if (rc == ENG_EDENIED || rc == ENG_ECONFLICT)
		return web_error_page(c, 403, "err.denied.title", "err.denied");
	if (rc) {
		fprintf(stderr, "tramit: submission of %s failed: %s\n", f->def->code, err->msg);
		return web_error_page(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable.title" : "err.internal.title",
		                      rc == ENG_EUNAVAILABLE ? "err.unavailable" : "err.internal");
	}
	/* Filed: the draft it came from has done its job. */
	web_draft_forget(c, f->def->code);
	web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/expedients/%s?submitted=1", out->expedient_id));
}

/* What the form's buttons do (_action): nothing named is a direct submission (scripts and
 * older pages); "review" checks and shows the answers read-only; "submit" files them;
 * "update", "change", "add:G", "remove:G.N" show the form again; "draft" saves a draft. */
static void act(struct web_ctx *c, struct web_form *f, const char *action)
{
	struct eng_error err = {0};
	struct eng_outcome out = {0};
	if (!action || strcmp(action, "submit") == 0) {
		/* A file field left empty files what was staged for it before (listed as kept). */
		if (web_form_keep_files(c, f, &err) != 0) {
			fprintf(stderr, "tramit: staged files of %s: %s\n", f->def->code, err.msg);
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		}
		int rc = web_submit(c, f->def, f->values, f->n_values, f->key, &out, NULL, &err);
		return answer(c, f, rc, &out, &err);
	}
	web_form_normalise(c, f->def, f->values, &f->n_values);
	if (strcmp(action, "draft") == 0) {
		if (web_draft_save(c, f, &err) != 0) {
			fprintf(stderr, "tramit: draft of %s not saved: %s\n", f->def->code, err.msg);
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		}
		return web_redirect(c, eng_arena_printf(&c->arena, "/tramits/%s/new?draft=saved",
		                                        web_url_encode(c, f->def->code)));
	}
	bool group = strncmp(action, "add:", 4) == 0 || strncmp(action, "remove:", 7) == 0;
	if (!group && strcmp(action, "review") != 0 && strcmp(action, "update") != 0 &&
	    strcmp(action, "change") != 0)
		return web_error_page(c, 400, "err.badrequest.title", "form.bad_action");
	if (group && !web_form_group_action(c, f, action))
		return;
	if (web_form_keep_files(c, f, &err) != 0) {
		fprintf(stderr, "tramit: staged files of %s: %s\n", f->def->code, err.msg);
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	}
	const struct eng_step_result *r = web_form_check(c, f);
	if (strcmp(action, "review") == 0) {
		if (r->n_errors > 0)
			return form_with_errors(c, f, r);
		web_form_eval(c, f, NULL);
		return web_form_review(c, f);
	}
	/* Shown again without judging the answers, except what is wrong with the post itself:
	 * names the form does not have, instances a group cannot hold. */
	struct eng_step_result *shape = eng_arena_alloc(&c->arena, sizeof(*shape));
	memset(shape, 0, sizeof(*shape));
	for (size_t i = 0; i < r->n_errors && i < ENG_STEP_MAX_ERRORS; i++)
		if (!r->errors[i].field || eng_definition_group(f->def, r->errors[i].field))
			shape->errors[shape->n_errors++] = r->errors[i];
	web_form_eval(c, f, shape->n_errors ? shape : NULL);
	web_form_render(c, f, shape->n_errors ? 422 : 200);
}

/* Pulls the submission key and the button out of the values. */
static const char *take_controls(struct web_form *f, const char **key)
{
	const char *action = NULL;
	size_t m = 0;
	for (size_t i = 0; i < f->n_values; i++) {
		if (strcmp(f->values[i].name, "submission") == 0)
			*key = f->values[i].value;
		else if (strcmp(f->values[i].name, "_action") == 0)
			action = f->values[i].value;
		else
			f->values[m++] = f->values[i];
	}
	f->n_values = m;
	return action;
}

/* A form with files: every file checked and scanned first; one refused and the form comes
 * back with the reason beside its field, the other values kept, nothing stored. Otherwise the
 * files are staged (content-addressed, their own transaction) under the submission key, which
 * later posts of the same form (review, submit, a draft) refer to. */
static void post_with_files(struct web_ctx *c, const struct eng_definition *d)
{
	struct web_upload_post post;
	if (!web_upload_read(c, d, &post))
		return;
	struct web_form f = {.def = d, .values = post.values, .n_values = post.n_values};
	const char *unused = NULL;
	const char *action = take_controls(&f, &unused);
	f.key = post.key;
	post.values = f.values;
	post.n_values = f.n_values;
	if (post.refused->n_errors > 0) {
		/* Shown again as posted: ticked options joined the way the form reads them. */
		web_form_normalise(c, d, f.values, &f.n_values);
		return form_with_errors(c, &f, post.refused);
	}
	struct eng_error err = {0};
	if (web_upload_stage(c, &post, &err) != 0) {
		fprintf(stderr, "tramit: staging files of %s failed: %s\n", d->code, err.msg);
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	}
	f.values = post.values;
	f.n_values = post.n_values;
	c->upload = &post;
	act(c, &f, action);
	c->upload = NULL;
}

void web_route_form(struct web_ctx *c, const char *code)
{
	const struct eng_definition *d = cat_catalog_by_code(c->srv->catalog, code);
	if (!d)
		return web_error_page(c, 404, "err.notfound.title", "tramit.notfound");
	if (!web_require(c, "citizen"))
		return;
	struct web_form f = {.def = d};
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST) {
		/* A saved draft comes back with its answers and its staged files. */
		web_draft_resume(c, &f);
		const char *saved = web_query_get(c, "draft");
		if (saved && strcmp(saved, "saved") == 0)
			f.notice = "draft.saved";
		struct eng_error err = {0};
		if (web_form_keep_files(c, &f, &err) != 0)
			fprintf(stderr, "tramit: staged files of %s: %s\n", d->code, err.msg);
		web_form_eval(c, &f, NULL);
		return web_form_render(c, &f, 200);
	}
	const char *ctype = web_header(c, "Content-Type");
	if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0)
		return post_with_files(c, d);
	if (!web_post_form(c, 256 * 1024, &f.values, &f.n_values))
		return;
	/* The form carries a key drawn when it was shown: a second click, or a reload after a
	 * lost answer, finds the first submission instead of filing a second one. */
	const char *key = NULL;
	const char *action = take_controls(&f, &key);
	f.key = key && *key ? key : NULL;
	act(c, &f, action);
}
