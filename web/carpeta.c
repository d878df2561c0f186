/* The citizen folder (carpeta ciutadana) and the back office. A citizen sees only the
 * expedients where they are the applicant (anything else is "not found", so existence does
 * not leak); an employee acts only through the actions the definition grants their roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct eng_definition *def_of(struct web_ctx *c, const struct eng_expedient_view *x)
{
	return cat_catalog_by_hash(c->srv->catalog, x->definition_hash);
}

static void render_list(struct web_ctx *c, struct eng_expedient_view *xs, size_t n, bool backoffice)
{
	web_printf(c, "<table id=\"expedients\"><thead><tr><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th>", web_t(c, "col.number"), web_t(c, "col.tramit"));
	if (backoffice)
		web_printf(c, "<th scope=\"col\">%s</th>", web_t(c, "col.applicant"));
	web_printf(c, "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           web_t(c, "col.state"), web_t(c, "col.registry"));
	for (size_t i = 0; i < n; i++) {
		const struct eng_definition *d = def_of(c, &xs[i]);
		const struct eng_state *st = d ? eng_definition_state(d, xs[i].state) : NULL;
		web_printf(c, "<tr data-id=\"%s\"><td><a href=\"/%s/expedients/%s\">", xs[i].id,
		           backoffice ? "backoffice" : "carpeta", xs[i].id);
		web_html(c, xs[i].number);
		web_printf(c, "</a></td><td>");
		web_html(c, d ? eng_text_get(&d->title, c->lang) : xs[i].tramit_code);
		web_printf(c, "</td>");
		if (backoffice) {
			web_printf(c, "<td>");
			web_html(c, xs[i].applicant_name);
			web_printf(c, " (");
			web_html(c, xs[i].applicant_nif);
			web_printf(c, ")</td>");
		}
		web_printf(c, "<td class=\"state\" data-state=\"");
		web_attr(c, xs[i].state);
		web_printf(c, "\">");
		web_html(c, web_state_label(c, d, xs[i].state));
		if (!backoffice && st && st->applicant_must_act)
			web_printf(c, " <span class=\"tag act\">%s</span>", web_t(c, "carpeta.must_act"));
		web_printf(c, "</td><td>");
		if (xs[i].registry_number) {
			web_html(c, xs[i].registry_number);
			web_printf(c, "<br><span class=\"hint\">");
			web_html(c, web_date(c, xs[i].presented_at));
			web_printf(c, "</span>");
		}
		web_printf(c, "</td></tr>");
	}
	web_printf(c, "</tbody></table>");
}

void web_route_carpeta(struct web_ctx *c)
{
	if (!web_require(c, "citizen"))
		return;
	struct eng_expedient_view *xs;
	size_t n;
	struct eng_error err;
	if (eng_store_expedient_list(c->store, &c->arena, c->srv->cfg.entity_id,
	                             c->session.principal_id, 200, &xs, &n, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "carpeta.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "carpeta.title"), web_t(c, "carpeta.intro"));
	if (n == 0)
		web_printf(c, "<p id=\"empty\">%s</p>", web_t(c, "carpeta.empty"));
	else
		render_list(c, xs, n, false);
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

static void render_receipt(struct web_ctx *c, const struct eng_expedient_view *x)
{
	if (!x->registry_number)
		return;
	web_printf(c, "<section aria-labelledby=\"receipt-h\" id=\"receipt\"><h2 id=\"receipt-h\">%s</h2>"
	              "<dl class=\"facts\"><dt>%s</dt><dd id=\"registry-number\">",
	           web_t(c, "receipt.title"), web_t(c, "receipt.registry"));
	web_html(c, x->registry_number);
	web_printf(c, "</dd><dt>%s</dt><dd id=\"presented-at\">", web_t(c, "receipt.presented"));
	web_html(c, web_date(c, x->presented_at));
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "receipt.expedient"));
	web_html(c, x->number);
	web_printf(c, "</dd>");
	if (x->receipt_csv) {
		web_printf(c, "<dt>%s</dt><dd class=\"csv\" id=\"csv\">", web_t(c, "receipt.csv"));
		web_html(c, x->receipt_csv);
		web_printf(c, "</dd></dl><p>%s <a href=\"/verify?csv=%s\">/verify</a></p>",
		           web_t(c, "receipt.verify"), web_url_encode(c, x->receipt_csv));
	} else {
		web_printf(c, "</dl>");
	}
	web_printf(c, "</section>");
}

static void render_history(struct web_ctx *c, const struct eng_definition *d, const char *id)
{
	struct eng_event_view *ev;
	size_t n;
	struct eng_error err;
	if (eng_store_event_list(c->store, &c->arena, id, &ev, &n, &err) != 0)
		return;
	web_printf(c, "<h2>%s</h2><ol id=\"history\">", web_t(c, "expedient.history"));
	for (size_t i = 0; i < n; i++) {
		web_printf(c, "<li>");
		web_html(c, web_date(c, ev[i].at));
		web_printf(c, ": ");
		const struct eng_state *from = d ? eng_definition_state(d, ev[i].from_state) : NULL;
		const struct eng_action *a = from ? eng_state_action(from, ev[i].action) : NULL;
		web_html(c, a ? eng_text_get(&a->label, c->lang) : ev[i].action);
		web_printf(c, " → ");
		web_html(c, web_state_label(c, d, ev[i].to_state));
		web_printf(c, "</li>");
	}
	web_printf(c, "</ol>");
}

static void render_expedient_head(struct web_ctx *c, const struct eng_definition *d,
                                  const struct eng_expedient_view *x)
{
	web_printf(c, "<h1>%s ", web_t(c, "expedient.title"));
	web_html(c, x->number);
	web_printf(c, "</h1><p>");
	web_html(c, d ? eng_text_get(&d->title, c->lang) : x->tramit_code);
	web_printf(c, "</p><p>%s: <strong id=\"state\" data-state=\"", web_t(c, "col.state"));
	web_attr(c, x->state);
	web_printf(c, "\">");
	web_html(c, web_state_label(c, d, x->state));
	web_printf(c, "</strong></p>");
}

/* The part of an expedient page both sides see: receipt, data, history; then the reply. */
static void render_expedient_body(struct web_ctx *c, const struct eng_definition *d,
                                  const struct eng_expedient_view *x)
{
	render_receipt(c, x);
	web_printf(c, "<h2>%s</h2>", web_t(c, "expedient.data"));
	web_render_data(c, d, x->data, x->n_data);
	render_history(c, d, x->id);
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

void web_route_carpeta_expedient(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "citizen"))
		return;
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, id, &x);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const struct eng_definition *d = def_of(c, &x);
	web_page_begin(c, eng_arena_printf(&c->arena, "%s %s", web_t(c, "expedient.title"), x.number));
	const char *submitted = web_query_get(c, "submitted");
	if (submitted && strcmp(submitted, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"submitted\">%s</div>",
		           web_t(c, "receipt.ok"));
	render_expedient_head(c, d, &x);
	render_expedient_body(c, d, &x);
}

void web_route_backoffice(struct web_ctx *c)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_expedient_view *xs;
	size_t n;
	struct eng_error err;
	if (eng_store_expedient_list(c->store, &c->arena, c->srv->cfg.entity_id, NULL, 200, &xs,
	                             &n, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "backoffice.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "backoffice.title"), web_t(c, "backoffice.intro"));
	if (n == 0)
		web_printf(c, "<p id=\"empty\">%s</p>", web_t(c, "backoffice.empty"));
	else
		render_list(c, xs, n, true);
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

void web_route_backoffice_expedient(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, id, &x);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const struct eng_definition *d = def_of(c, &x);
	web_page_begin(c, eng_arena_printf(&c->arena, "%s %s", web_t(c, "expedient.title"), x.number));
	const char *done = web_query_get(c, "done");
	if (done && strcmp(done, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"done\">%s</div>",
		           web_t(c, "expedient.done"));
	render_expedient_head(c, d, &x);
	web_printf(c, "<p>%s: ", web_t(c, "col.applicant"));
	web_html(c, x.applicant_name);
	web_printf(c, " (");
	web_html(c, x.applicant_nif);
	web_printf(c, ")</p><h2>%s</h2>", web_t(c, "expedient.actions"));
	const struct eng_state *st = d ? eng_definition_state(d, x.state) : NULL;
	struct eng_expedient exp = {.state = x.state, .version = x.version, .applicant_id = x.applicant_nif};
	struct eng_actor actor = web_actor(c);
	int shown = 0;
	for (size_t i = 0; st && i < st->n_actions; i++) {
		const struct eng_action *a = &st->actions[i];
		if (!eng_actor_may(a, &exp, &actor))
			continue;
		web_printf(c, "<form method=\"post\" action=\"/backoffice/expedients/%s/actions/%s\" "
		              "class=\"field\"><input type=\"hidden\" name=\"csrf\" value=\"", x.id,
		           web_url_encode(c, a->name));
		web_attr(c, c->session.csrf);
		web_printf(c, "\"><input type=\"hidden\" name=\"version\" value=\"%lld\">"
		              "<button type=\"submit\" id=\"action-%s\"%s>", (long long)x.version, a->name,
		           shown ? " class=\"secondary\"" : "");
		web_html(c, eng_text_get(&a->label, c->lang));
		web_printf(c, "</button></form>");
		shown++;
	}
	if (!shown)
		web_printf(c, "<p id=\"no-actions\">%s</p>", web_t(c, "expedient.no_actions"));
	render_expedient_body(c, d, &x);
}

void web_route_backoffice_action(struct web_ctx *c, const char *id, const char *action)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_value *v;
	size_t n;
	if (!web_post_form(c, 16384, &v, &n))
		return;
	const char *version = eng_values_get(v, n, "version");
	char *end = NULL;
	long long expected = version ? strtoll(version, &end, 10) : -1;
	if (!version || !*version || *end || expected < 1)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.expedient_id = id,
		.expected_version = expected,
		.event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
		          .time_ms = web_now_ms()},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	int rc = eng_store_apply(c->store, &c->arena, &cmd, cat_catalog_lookup,
	                         (void *)c->srv->catalog, &out, &err);
	switch (rc) {
	case ENG_OK:
		return web_redirect(c, eng_arena_printf(&c->arena, "/backoffice/expedients/%s?done=1", id));
	case ENG_ENOTFOUND:
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	case ENG_EDENIED:
		return web_error_page(c, 403, "err.denied.title", "err.denied");
	case ENG_ECONFLICT:
		return web_error_page(c, 409, "err.conflict.title", "err.conflict");
	case ENG_EUNAVAILABLE:
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	default:
		fprintf(stderr, "tramit: action %s on %s failed: %s\n", action, id, err.msg);
		return web_error_page(c, 500, "err.internal.title", "err.internal");
	}
}
