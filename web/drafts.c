/* Drafts of e-office forms: saved with the form's "save draft" button or every 30 seconds by
 * form.js, resumed on the form page and from the Carpeta, deleted by their owner, expiring
 * after TRAMIT_DRAFT_DAYS days (default 30). Answers are stored, files are not: the draft keeps
 * the form's submission key, and the files staged under it are listed again when it resumes.
 * Invariant: a draft is read, listed, changed and deleted only by the principal who saved it
 * (every statement in engine/runtime/drafts.c names the principal from the session). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/drafts.h"
#include "internal.h"

enum { DRAFT_DAYS_DEFAULT = 30, DRAFT_MAX_BODY = 256 * 1024 };

static int draft_days(void)
{
	const char *s = getenv("TRAMIT_DRAFT_DAYS");
	int days = s && *s ? atoi(s) : DRAFT_DAYS_DEFAULT;
	return days >= 1 && days <= 3650 ? days : DRAFT_DAYS_DEFAULT;
}

static const char *principal(struct web_ctx *c)
{
	return eng_arena_printf(&c->arena, "citizen:%s", c->session.principal_id);
}

bool web_draft_resume(struct web_ctx *c, struct web_form *f)
{
	struct eng_draft d;
	struct eng_error err = {0};
	if (eng_draft_get(c->store, &c->arena, c->srv->cfg.entity_id, principal(c), f->def->code, &d,
	                  &err) != 0)
		return false;
	f->values = d.answers;
	f->n_values = d.n_answers;
	web_form_normalise(c, f->def, f->values, &f->n_values);
	f->key = d.key;
	f->draft_at = d.updated_at;
	return true;
}

int web_draft_save(struct web_ctx *c, const struct web_form *f, struct eng_error *err)
{
	/* File fields are not answers: their files stay staged under the key. */
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (f->n_values + 1));
	size_t n = 0;
	for (size_t i = 0; i < f->n_values; i++) {
		int index;
		const struct eng_field *field = eng_form_field(f->def, f->values[i].name, &index);
		if (field && field->type != ENG_FIELD_FILE)
			v[n++] = f->values[i];
	}
	const char *key = f->key;
	if (!key && !(key = web_random_hex(c, 16)))
		return eng_error_set(err, ENG_EUNAVAILABLE, "no random numbers for a submission key");
	return eng_draft_put(c->store, c->srv->cfg.entity_id, principal(c), f->def->code, key, v, n,
	                     draft_days(), err);
}

void web_draft_forget(struct web_ctx *c, const char *code)
{
	int deleted;
	struct eng_error err = {0};
	if (eng_draft_delete(c->store, c->srv->cfg.entity_id, principal(c), code, &deleted, &err) != 0)
		fprintf(stderr, "tramit: draft of %s not deleted: %s\n", code, err.msg);
}

/* The names a post may carry besides the form's fields. */
static bool known(const struct eng_definition *d, const char *name)
{
	int index;
	return eng_form_field(d, name, &index) != NULL || strcmp(name, "submission") == 0 ||
	       strcmp(name, "_action") == 0;
}

/* POST /tramits/CODE/draft: the autosave (answers, 204) or, with _action=delete, the Carpeta's
 * delete button (303 back to the Carpeta). */
void web_route_draft(struct web_ctx *c, const char *code)
{
	const struct eng_definition *d = cat_catalog_by_code(c->srv->catalog, code);
	if (!d)
		return web_error_page(c, 404, "err.notfound.title", "tramit.notfound");
	if (!web_require(c, "citizen"))
		return;
	struct eng_value *v;
	size_t n;
	if (!web_post_form(c, DRAFT_MAX_BODY, &v, &n))
		return;
	struct web_form f = {.def = d};
	const char *action = NULL;
	f.values = eng_arena_alloc(&c->arena, sizeof(*f.values) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		if (!known(d, v[i].name)) {
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
			web_page_begin(c, web_t(c, "err.badrequest.title"));
			web_printf(c, "<h1>%s</h1><p id=\"error\">", web_t(c, "err.badrequest.title"));
			web_printf(c, "%s «", web_t(c, "err.unknownfield"));
			web_html(c, v[i].name);
			web_printf(c, "».");
			web_printf(c, "</p>");
			web_page_end(c);
			return web_send(c, 400, "text/html; charset=utf-8");
		}
		if (strcmp(v[i].name, "submission") == 0)
			f.key = strlen(v[i].value) >= 8 && strlen(v[i].value) <= 200 ? v[i].value : NULL;
		else if (strcmp(v[i].name, "_action") == 0)
			action = v[i].value;
		else
			f.values[f.n_values++] = v[i];
	}
	if (action && strcmp(action, "delete") == 0) {
		web_draft_forget(c, d->code);
		return web_redirect(c, "/carpeta?draft=deleted#drafts");
	}
	if (action && strcmp(action, "draft") != 0)
		return web_error_page(c, 400, "err.badrequest.title", "form.bad_action");
	web_form_normalise(c, d, f.values, &f.n_values);
	struct eng_error err = {0};
	struct eng_draft old;
	/* A post without the form's key keeps the draft's, and with it the draft's staged files. */
	if (!f.key && eng_draft_get(c->store, &c->arena, c->srv->cfg.entity_id, principal(c), d->code,
	                            &old, &err) == 0)
		f.key = old.key;
	if (web_draft_save(c, &f, &err) != 0) {
		fprintf(stderr, "tramit: draft of %s not saved: %s\n", d->code, err.msg);
		return web_error_page(c, err.code == ENG_EINVALID ? 400 : 503,
		                      err.code == ENG_EINVALID ? "err.badrequest.title" : "err.unavailable.title",
		                      err.code == ENG_EINVALID ? "err.badrequest" : "err.unavailable");
	}
	web_send(c, 204, "text/plain; charset=utf-8");
}

/* The Carpeta's list of drafts, each with "continue" and "delete". */
void web_render_drafts(struct web_ctx *c)
{
	struct eng_draft *ds;
	size_t n;
	struct eng_error err = {0};
	if (eng_draft_list(c->store, &c->arena, c->srv->cfg.entity_id, principal(c), 50, &ds, &n, &err) != 0) {
		fprintf(stderr, "tramit: drafts of the carpeta: %s\n", err.msg);
		return;
	}
	web_printf(c, "<section id=\"drafts\" aria-labelledby=\"drafts-h\"><h2 id=\"drafts-h\">%s</h2>",
	           web_t(c, "draft.list"));
	const char *done = web_query_get(c, "draft");
	if (done && strcmp(done, "deleted") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"draft-deleted\">%s</div>",
		           web_t(c, "draft.deleted"));
	if (n == 0) {
		web_printf(c, "<p id=\"drafts-empty\">%s</p></section>", web_t(c, "draft.none"));
		return;
	}
	web_printf(c, "<ul class=\"drafts\">");
	for (size_t i = 0; i < n; i++) {
		const struct eng_definition *d = cat_catalog_by_code(c->srv->catalog, ds[i].tramit_code);
		if (!d)
			continue;
		const char *code = web_url_encode(c, d->code);
		web_printf(c, "<li id=\"draft-%s\"><a href=\"/tramits/%s/new\">", code, code);
		web_html(c, eng_text_get(&d->title, c->lang));
		web_printf(c, "</a> <span class=\"hint\">");
		web_printf(c, "%s ", web_t(c, "draft.saved_on"));
		web_html(c, web_date(c, ds[i].updated_at));
		web_printf(c, ". %s ", web_t(c, "draft.expires_on"));
		web_html(c, web_day(c, ds[i].expires_at));
		web_printf(c, ".");
		web_printf(c, "</span><form method=\"post\" action=\"/tramits/%s/draft\">"
		              "<input type=\"hidden\" name=\"csrf\" value=\"", code);
		web_attr(c, c->session.csrf);
		web_printf(c, "\"><button type=\"submit\" class=\"warning\" name=\"_action\" value=\"delete\">%s: ",
		           web_t(c, "draft.delete"));
		web_html(c, eng_text_get(&d->title, c->lang));
		web_printf(c, "</button></form></li>");
	}
	web_printf(c, "</ul></section>");
}

/* --- GET/PUT/DELETE /api/v1/drafts/{code} --- */

/* The API's error shape, with the message of a page's i18n key (what the form would say). */
static void api_fail(struct web_ctx *c, int status, const char *code, const char *detail,
                     const char *key)
{
	enum eng_lang lang = c->lang;
	c->lang = ENG_LANG_CA;
	const char *ca = web_t(c, key);
	c->lang = ENG_LANG_ES;
	const char *es = web_t(c, key);
	c->lang = lang;
	web_api_send(c, status, json_pack("{s:s, s:s, s:{s:s, s:s}}", "code", code, "error", detail,
	                               "message", "ca", ca, "es", es));
}

static json_t *draft_json(const struct eng_draft *d)
{
	json_t *answers = json_object();
	for (size_t i = 0; i < d->n_answers; i++)
		json_object_set_new(answers, d->answers[i].name, json_string(d->answers[i].value));
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "tramit", d->tramit_code, "submission_key", d->key,
	                 "updated_at", d->updated_at, "expires_at", d->expires_at, "answers", answers);
}

static void api_get(struct web_ctx *c, const struct eng_definition *def)
{
	struct eng_draft d;
	struct eng_error err = {0};
	int rc = eng_draft_get(c->store, &c->arena, c->srv->cfg.entity_id, principal(c), def->code, &d, &err);
	if (rc == ENG_ENOTFOUND)
		return api_fail(c, 404, "not_found", "no draft of this tràmit", "draft.api.none");
	if (rc)
		return api_fail(c, 503, "unavailable", err.msg, "err.unavailable");
	web_api_send(c, 200, draft_json(&d));
}

static void api_put(struct web_ctx *c, const struct eng_definition *def)
{
	size_t len;
	char *body = web_body(c, DRAFT_MAX_BODY, &len);
	if (!body)
		return api_fail(c, 413, "too_large", "the body is larger than 256 KiB", "err.toolarge");
	json_error_t jerr;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return api_fail(c, 400, "invalid_json",
		                eng_arena_printf(&c->arena, "the body is not valid JSON: %s (line %d, column %d)",
		                                 jerr.text, jerr.line, jerr.column), "err.badrequest");
	json_t *answers = json_object_get(j, "answers");
	const char *extra = NULL, *member;
	json_t *mv;
	json_object_foreach(j, member, mv)
		if (!extra && strcmp(member, "answers") != 0)
			extra = eng_arena_strdup(&c->arena, member);
	if (!json_is_object(answers) || extra) {
		json_decref(j);
		return api_fail(c, 400, "bad_request", eng_arena_printf(&c->arena, "%s%s%sexpected {\"answers\": "
		                "{\"field\": \"value\", ...}} and nothing else", extra ? "unknown member '" : "",
		                extra ? extra : "", extra ? "': " : ""), "err.badrequest");
	}
	struct web_form f = {.def = def};
	f.values = eng_arena_alloc(&c->arena, sizeof(*f.values) * (json_object_size(answers) + 1));
	const char *name;
	json_t *val;
	json_object_foreach(answers, name, val) {
		int index;
		const char *problem = !json_is_string(val) ? "must be a string"
		                      : !eng_form_field(def, name, &index) ? "is not a field of this form" : NULL;
		if (problem) {
			const char *detail = eng_arena_printf(&c->arena, "answers.%s %s", name, problem);
			json_decref(j);
			return api_fail(c, 400, "bad_request", detail, "err.badrequest");
		}
		f.values[f.n_values++] = (struct eng_value){eng_arena_strdup(&c->arena, name),
		                                            eng_arena_strdup(&c->arena, json_string_value(val))};
	}
	json_decref(j);
	/* The key stays the same across saves, so files staged under it stay the draft's. */
	struct eng_draft old;
	struct eng_error err = {0};
	if (eng_draft_get(c->store, &c->arena, c->srv->cfg.entity_id, principal(c), def->code, &old, &err) == 0)
		f.key = old.key;
	web_form_normalise(c, def, f.values, &f.n_values);
	if (web_draft_save(c, &f, &err) != 0)
		return api_fail(c, err.code == ENG_EINVALID ? 400 : 503,
		                err.code == ENG_EINVALID ? "bad_request" : "unavailable", err.msg,
		                err.code == ENG_EINVALID ? "err.badrequest" : "err.unavailable");
	api_get(c, def);
}

void web_route_api_drafts(struct web_ctx *c, const char *code)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
	if (!*code || strchr(code, '/'))
		return api_fail(c, 404, "not_found", "no such API route", "err.notfound");
	if (!get && m != EVHTTP_REQ_PUT && m != EVHTTP_REQ_DELETE)
		return api_fail(c, 405, "method_not_allowed", "use GET, PUT or DELETE", "draft.api.method");
	web_session_load(c);
	if (!c->signed_in)
		return api_fail(c, 401, "unauthenticated", "sign in first: this call needs a session cookie",
		                "draft.api.signin");
	if (strcmp(c->session.principal_kind, "citizen") != 0)
		return api_fail(c, 403, "forbidden", "drafts belong to citizens", "err.denied");
	const struct eng_definition *def = cat_catalog_by_code(c->srv->catalog, code);
	if (!def)
		return api_fail(c, 404, "not_found", "no such tràmit", "tramit.notfound");
	if (get)
		return api_get(c, def);
	if (!web_csrf_ok(c, web_header(c, "X-CSRF-Token")))
		return api_fail(c, 403, "csrf", "missing or wrong X-CSRF-Token header", "err.csrf");
	if (m == EVHTTP_REQ_PUT)
		return api_put(c, def);
	int deleted;
	struct eng_error err = {0};
	if (eng_draft_delete(c->store, c->srv->cfg.entity_id, principal(c), def->code, &deleted, &err) != 0)
		return api_fail(c, 503, "unavailable", err.msg, "err.unavailable");
	if (!deleted)
		return api_fail(c, 404, "not_found", "no draft of this tràmit", "draft.api.none");
	web_send(c, 204, "application/json");
}

/* GET /static/form.js and /static/forms.css: the forms' progressive enhancement (refresh on
 * change, autosave) and their few styles. */
struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct embedded_file web_form_js_files[];

void web_route_form_js(struct web_ctx *c, const char *name)
{
	for (const struct embedded_file *f = web_form_js_files; f->name; f++) {
		if (strcmp(f->name, name) != 0)
			continue;
		evbuffer_add_reference(c->out, f->data, f->len, NULL, NULL);
		bool js = strstr(name, ".js") != NULL;
		return web_send(c, 200, js ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
	}
	web_error_page(c, 404, "err.notfound.title", "err.notfound");
}
