/* Representation in the web ("acting as"): a signed-in citizen acts for themselves, for the
 * company their representative certificate names, or for a person or company whose mandate
 * to them is in force today. The session keeps the choice (session.c reloads and rechecks it
 * on every request); this file offers the switch, tells every page who is acted for, and
 * refuses filings and actions on tràmits the mandate does not cover.
 * Invariant: while acting for X, the citizen reaches X's objects only where a mandate (or
 * the certificate's company) covers X today, and commands record both the principal and X. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/mandates.h"
#include "internal.h"

const char *web_party(const struct web_ctx *c)
{
	return c->acting_for ? c->acting_for : c->session.principal_id;
}

bool web_mandate_covers(const struct web_ctx *c, const char *code)
{
	if (!c->acting_for)
		return true;
	const char *scope = c->acting_scope;
	if (!scope || !code)
		return false;
	if (strcmp(scope, "*") == 0)
		return true;
	size_t n = strlen(code);
	for (const char *p = scope; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, code, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

void web_render_acting(struct web_ctx *c)
{
	if (!c->signed_in || !c->acting_for)
		return;
	web_printf(c, "<p class=\"panel\" role=\"status\" id=\"acting-for\">%s <strong>", web_t(c, "acting.for"));
	web_html(c, c->acting_name ? c->acting_name : c->acting_for);
	web_printf(c, "</strong> (");
	web_html(c, c->acting_for);
	web_printf(c, ") · <a href=\"/carpeta/representacio\">%s</a></p>", web_t(c, "acting.change"));
}

/* The parties this citizen may act for today: their certificate's company first, then
 * those with a mandate in force. */
static int options(struct web_ctx *c, struct eng_represented **out, size_t *n)
{
	struct eng_error err;
	struct eng_represented *ms;
	size_t nm;
	if (eng_mandate_represented_today(c->store, &c->arena, c->srv->cfg.entity_id,
	                                  c->session.principal_id, &ms, &nm, &err) != 0)
		return -1;
	*out = eng_arena_alloc(&c->arena, sizeof(**out) * (nm + 2));
	*n = 0;
	if (c->cert_company)
		(*out)[(*n)++] = (struct eng_represented){c->cert_company,
		        c->acting_for && strcmp(c->acting_for, c->cert_company) == 0 && c->acting_name
		        ? c->acting_name : c->cert_company, NULL};
	for (size_t i = 0; i < nm; i++)
		if (!c->cert_company || strcmp(ms[i].nif, c->cert_company) != 0)
			(*out)[(*n)++] = ms[i];
	return 0;
}

static void render_scope(struct web_ctx *c, const struct eng_represented *o)
{
	if (!o->scope) {
		web_printf(c, " · %s", web_t(c, "acting.company"));
		return;
	}
	if (strcmp(o->scope, "*") == 0) {
		web_printf(c, " · %s", web_t(c, "acting.all"));
		return;
	}
	web_printf(c, " · %s ", web_t(c, "acting.only"));
	web_html(c, o->scope);
}

/* The switch: one radio per party, the current one checked. */
static void render_switch(struct web_ctx *c, const struct eng_represented *os, size_t n)
{
	web_printf(c, "<form method=\"post\" action=\"/carpeta/representacio\" id=\"acting-switch\">"
	              "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><fieldset class=\"field\"><legend>%s</legend><label><input type=\"radio\" "
	              "name=\"as\" value=\"\" id=\"as-self\"%s> %s: ", web_t(c, "acting.label"),
	           c->acting_for ? "" : " checked", web_t(c, "acting.self"));
	web_html(c, c->display_name);
	web_printf(c, " (");
	web_html(c, c->session.principal_id);
	web_printf(c, ")</label>");
	for (size_t i = 0; i < n; i++) {
		bool on = c->acting_for && strcmp(c->acting_for, os[i].nif) == 0;
		web_printf(c, "<label><input type=\"radio\" name=\"as\" value=\"");
		web_attr(c, os[i].nif);
		web_printf(c, "\" id=\"as-");
		web_attr(c, os[i].nif);
		web_printf(c, "\"%s> ", on ? " checked" : "");
		web_html(c, os[i].name);
		web_printf(c, " (");
		web_html(c, os[i].nif);
		web_printf(c, ")");
		render_scope(c, &os[i]);
		web_printf(c, "</label>");
	}
	web_printf(c, "</fieldset><button type=\"submit\" id=\"acting-submit\">%s</button></form>",
	           web_t(c, "acting.submit"));
}

static void acting_page(struct web_ctx *c, int status, const char *error_key)
{
	struct eng_represented *os;
	size_t n;
	if (options(c, &os, &n) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "acting.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "acting.title"), web_t(c, "acting.intro"));
	if (error_key)
		web_printf(c, "<p class=\"error\" role=\"alert\" id=\"acting-error\">%s</p>", web_t(c, error_key));
	render_switch(c, os, n);
	web_printf(c, "<p><a href=\"/carpeta\">%s</a></p>", web_t(c, "carpeta.title"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

void web_route_acting(struct web_ctx *c)
{
	if (!web_require(c, "citizen"))
		return;
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return acting_page(c, 200, NULL);
	struct eng_value *v;
	size_t n;
	static const char *const fields[] = {"as", NULL};
	if (!web_post_fields(c, 4096, fields, &v, &n))
		return;
	const char *as = eng_values_get(v, n, "as");
	if (as && (!*as || strcmp(as, c->session.principal_id) == 0))
		as = NULL;
	if (as) {
		struct eng_represented *os;
		size_t k;
		if (options(c, &os, &k) != 0)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		size_t i = 0;
		while (i < k && strcmp(os[i].nif, as) != 0)
			i++;
		if (i == k)
			return acting_page(c, 403, "acting.refused");
	}
	struct eng_error err;
	if (eng_session_acting_set(c->store, c->session_token, as, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_redirect(c, "/carpeta");
}

/* The tràmit a request files or acts on, when it is one of the routes a representative must
 * be covered for: the form (/tramits/CODE/new), the API's filing and its actions. NULL for
 * any other route; *api tells how to answer, *action that it acts on an expedient. */
static const char *guarded_tramit(struct web_ctx *c, bool *api, bool *action)
{
	const char *p = c->path;
	*api = strncmp(p, "/api/", 5) == 0;
	*action = false;
	if (strncmp(p, "/tramits/", 9) == 0 || strncmp(p, "/api/v1/tramits/", 16) == 0) {
		const char *code = p + (*api ? 16 : 9), *slash = strchr(code, '/');
		if (!slash || strcmp(slash, *api ? "/expedients" : "/new") != 0)
			return NULL;
		return eng_arena_strndup(&c->arena, code, (size_t)(slash - code));
	}
	if (strncmp(p, "/api/v1/expedients/", 19) == 0) {
		const char *id = p + 19, *slash = strchr(id, '/');
		if (!slash || strncmp(slash, "/actions/", 9) != 0)
			return NULL;
		web_session_load(c);
		if (!c->acting_for)
			return NULL;
		struct eng_expedient_view x;
		struct eng_error err;
		char *eid = eng_arena_strndup(&c->arena, id, (size_t)(slash - id));
		/* Someone else's or none: the action answers 404 itself (applicant_only). */
		if (!eng_uuid_valid(eid) ||
		    eng_store_expedient_get(c->store, &c->arena, c->srv->cfg.entity_id, eid, &x, &err) != 0 ||
		    strcmp(x.applicant_nif, c->acting_for) != 0)
			return NULL;
		*action = true;
		return x.tramit_code;
	}
	return NULL;
}

bool web_mandate_guard(struct web_ctx *c)
{
	bool api, action;
	const char *code = guarded_tramit(c, &api, &action);
	if (!code)
		return true;
	web_session_load(c);
	if (!c->signed_in)
		return true;
	if (web_mandate_covers(c, code))
		return true;
	if (!api) {
		web_error_page(c, 403, "mandate.scope.title", "mandate.scope");
		return false;
	}
	enum eng_lang keep = c->lang;
	c->lang = ENG_LANG_CA;
	const char *ca = web_t(c, "mandate.scope");
	c->lang = ENG_LANG_ES;
	const char *es = web_t(c, "mandate.scope");
	c->lang = keep;
	/* An expedient outside the mandate is not the representative's to see: as if it did not
	 * exist, like web_expedient_visible. A filing is refused with the reason. */
	json_t *j = action
	        ? json_pack("{s:s, s:s, s:{s:s, s:s}}", "code", "not_found", "error", "no such expedient",
	                    "message", "ca", "No existeix o no hi teniu accés.", "es", "No existe o no tiene acceso.")
	        : json_pack("{s:s, s:s, s:{s:s, s:s}}", "code", "forbidden", "error",
	                    "the representation this session acts under does not cover this tràmit today",
	                    "message", "ca", ca, "es", es);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	evbuffer_add(c->out, text, strlen(text));
	free(text);
	web_send(c, action ? 404 : 403, "application/json");
	return false;
}
