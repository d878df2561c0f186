/* The citizen folder (carpeta ciutadana) and the back office. A citizen sees only the
 * expedients where they are the applicant (anything else is "not found", so existence does
 * not leak); an employee acts only through the actions the definition grants their roles.
 * Binding notifications are opened only by their recipient, by a POST that records the
 * access before the content is shown. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "connectors/sign/sign.h"
#include "engine/core/validate.h"
#include "engine/runtime/notifications.h"
#include "internal.h"

static void render_carpeta_notifications(struct web_ctx *c);
static void render_expedient_notifications(struct web_ctx *c, const char *expedient_id, bool staff);

static const struct eng_definition *def_of(struct web_ctx *c, const struct eng_expedient_view *x)
{
	return cat_catalog_by_hash(c->srv->catalog, x->definition_hash);
}

/* The citizen's own expedients (the back office has its inbox, inbox.c). */
static void render_list(struct web_ctx *c, struct eng_expedient_view *xs, size_t n)
{
	web_printf(c, "<table id=\"expedients\"><thead><tr><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th>", web_t(c, "col.number"), web_t(c, "col.tramit"));
	web_printf(c, "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           web_t(c, "col.state"), web_t(c, "col.registry"));
	for (size_t i = 0; i < n; i++) {
		const struct eng_definition *d = def_of(c, &xs[i]);
		const struct eng_state *st = d ? eng_definition_state(d, xs[i].state) : NULL;
		web_printf(c, "<tr data-id=\"%s\"><td><a href=\"/carpeta/expedients/%s\">", xs[i].id, xs[i].id);
		web_html(c, xs[i].number);
		web_printf(c, "</a></td><td>");
		web_html(c, d ? eng_text_get(&d->title, c->lang) : xs[i].tramit_code);
		web_printf(c, "</td><td class=\"state\" data-state=\"");
		web_attr(c, xs[i].state);
		web_printf(c, "\">");
		web_html(c, web_state_label(c, d, xs[i].state));
		if (st && st->applicant_must_act)
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
	                             web_party(c), 200, &xs, &n, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	/* Acting for someone: only the tràmits the mandate covers today. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (web_mandate_covers(c, xs[i].tramit_code))
			xs[kept++] = xs[i];
	n = kept;
	web_page_begin(c, web_t(c, "carpeta.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "carpeta.title"), web_t(c, "carpeta.intro"));
	web_printf(c, "<p><a href=\"/carpeta/representacio\" id=\"acting-link\">%s</a></p>",
	           web_t(c, "acting.title"));
	if (n == 0)
		web_printf(c, "<p id=\"empty\">%s</p>", web_t(c, "carpeta.empty"));
	else
		render_list(c, xs, n);
	render_carpeta_notifications(c);
	web_render_drafts(c); /* saved forms to resume or delete (drafts.c) */
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
	if (web_events(c, id, &ev, &n) != 0)
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
		if (ev[i].reason) {
			/* What staff asked the applicant to do (a request to correct). */
			web_printf(c, "<br><span class=\"reason\">%s: ", web_t(c, "reason.history"));
			web_html(c, ev[i].reason);
			web_printf(c, "</span>");
		}
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
static void render_expedient_body_as(struct web_ctx *c, const struct eng_definition *d,
                                     const struct eng_expedient_view *x, int status)
{
	render_receipt(c, x);
	web_corrections_filed(c, x); /* correction.c: entries filed after the application */
	web_printf(c, "<h2>%s</h2>", web_t(c, "expedient.data"));
	web_render_data(c, d, x->data, x->n_data);
	web_render_attachments(c, x);
	render_history(c, d, x->id);
	web_counter_filing_note(c, x->id); /* counter.c: filed at the counter, by whom, for whom */
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

static void render_expedient_body(struct web_ctx *c, const struct eng_definition *d,
                                  const struct eng_expedient_view *x)
{
	render_expedient_body_as(c, d, x, 200);
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
	const char *corrected = web_query_get(c, "corrected"), *moved = web_query_get(c, "changed");
	if (corrected && strcmp(corrected, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"corrected\">%s</div>",
		           web_t(c, "correction.done"));
	if (moved && strcmp(moved, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"changed\">%s</div>",
		           web_t(c, "correction.changed"));
	render_expedient_head(c, d, &x);
	web_correction_section(c, d, &x); /* correction.c: what the applicant must do, and how */
	web_deadlines_section(c, d, &x);
	render_expedient_notifications(c, x.id, false);
	web_documents_section(c, x.id, "/carpeta/expedients"); /* issue 6: documents.c */
	web_messages_section(c, x.id, false);
	render_expedient_body(c, d, &x);
}

/* An action's button; one that sends the applicant to act asks what they must do
 * (web_action_needs_reason), with the refused text and its message when failed. */
static void render_action(struct web_ctx *c, const struct eng_definition *d,
                          const struct eng_expedient_view *x, const struct eng_action *a, int shown,
                          const char *failed, const char *typed, const char *error_key)
{
	web_printf(c, "<form method=\"post\" action=\"/backoffice/expedients/%s/actions/%s\" "
	              "class=\"field\"><input type=\"hidden\" name=\"csrf\" value=\"", x->id,
	           web_url_encode(c, a->name));
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><input type=\"hidden\" name=\"version\" value=\"%lld\">", (long long)x->version);
	if (web_action_needs_reason(d, a)) {
		bool wrong = failed && strcmp(failed, a->name) == 0 && error_key;
		web_printf(c, "<div class=\"field%s\"><label for=\"reason-%s\">%s <span class=\"hint\">(%s)"
		              "</span></label><span class=\"hint\" id=\"reason-%s-hint\">%s</span>",
		           wrong ? " error" : "", a->name, web_t(c, "reason.label"), web_t(c, "form.required"),
		           a->name, web_t(c, "reason.hint"));
		if (wrong)
			web_printf(c, "<span class=\"error-message\" id=\"reason-%s-error\">%s</span>", a->name,
			           web_t(c, error_key));
		web_printf(c, "<textarea name=\"reason\" id=\"reason-%s\" required maxlength=\"%d\" "
		              "aria-describedby=\"reason-%s-hint%s%s%s\"%s>", a->name, WEB_REASON_MAX, a->name,
		           wrong ? " reason-" : "", wrong ? a->name : "", wrong ? "-error" : "",
		           wrong ? " aria-invalid=\"true\" autofocus" : "");
		if (wrong && typed)
			web_html(c, typed);
		web_printf(c, "</textarea></div>");
	}
	web_printf(c, "<button type=\"submit\" id=\"action-%s\"%s>", a->name,
	           shown ? " class=\"secondary\"" : "");
	web_html(c, eng_text_get(&a->label, c->lang));
	web_printf(c, "</button></form>");
}

static void backoffice_page(struct web_ctx *c, const char *id, const char *failed,
                            const char *typed, const char *error_key);

void web_route_backoffice_expedient(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "employee"))
		return;
	backoffice_page(c, id, NULL, NULL, NULL);
}

static void backoffice_page(struct web_ctx *c, const char *id, const char *failed,
                            const char *typed, const char *error_key)
{
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, id, &x);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const struct eng_definition *d = def_of(c, &x);
	web_page_begin(c, eng_arena_printf(&c->arena, "%s %s", web_t(c, "expedient.title"), x.number));
	const char *done = web_query_get(c, "done");
	if (error_key)
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\">"
		              "<h2>%s</h2><ul><li><a href=\"#reason-%s\">%s</a></li></ul></div>",
		           web_t(c, "form.errors"), failed, web_t(c, error_key));
	else if (done && strcmp(done, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"done\">%s</div>",
		           web_t(c, "expedient.done"));
	render_expedient_head(c, d, &x);
	web_printf(c, "<p>%s: ", web_t(c, "col.applicant"));
	web_html(c, x.applicant_name);
	web_printf(c, " (");
	web_html(c, x.applicant_nif);
	web_printf(c, ")</p>");
	web_deadlines_section(c, d, &x);
	web_render_assignment(c, x.id);
	web_documents_section(c, x.id, "/backoffice/expedients"); /* issue 6: documents.c */
	web_printf(c, "<h2>%s</h2>", web_t(c, "expedient.actions"));
	const struct eng_state *st = d ? eng_definition_state(d, x.state) : NULL;
	struct eng_expedient exp = {.state = x.state, .version = x.version, .applicant_id = x.applicant_nif};
	struct eng_actor actor = web_actor(c);
	int shown = 0;
	for (size_t i = 0; st && i < st->n_actions; i++) {
		const struct eng_action *a = &st->actions[i];
		if (!eng_actor_may(a, &exp, &actor))
			continue;
		render_action(c, d, &x, a, shown, failed, typed, error_key);
		shown++;
	}
	if (!shown)
		web_printf(c, "<p id=\"no-actions\">%s</p>", web_t(c, "expedient.no_actions"));
	render_expedient_notifications(c, x.id, true);
	web_messages_section(c, x.id, true);
	render_expedient_body_as(c, d, &x, error_key ? 422 : 200);
}

void web_route_backoffice_action(struct web_ctx *c, const char *id, const char *action)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_value *v;
	size_t n;
	static const char *const fields[] = {"version", "reason", NULL};
	if (!web_post_fields(c, 65536, fields, &v, &n))
		return;
	const char *version = eng_values_get(v, n, "version");
	char *end = NULL;
	long long expected = version ? strtoll(version, &end, 10) : -1;
	if (!version || !*version || *end || expected < 1)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	/* An action sending the applicant to act says what they must do: refused without it. */
	const char *typed = eng_values_get(v, n, "reason");
	char *reason = eng_arena_strdup(&c->arena, typed ? typed : "");
	size_t chars = web_message_clean(reason);
	if (web_action_may_need_reason(c, action)) {
		struct eng_expedient_view x;
		int vis = web_expedient_visible(c, id, &x);
		if (vis == ENG_ENOTFOUND)
			return web_error_page(c, 404, "err.notfound.title", "err.notfound");
		if (vis)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		const struct eng_definition *d = def_of(c, &x);
		const struct eng_state *st = d ? eng_definition_state(d, x.state) : NULL;
		const struct eng_action *a = st ? eng_state_action(st, action) : NULL;
		struct eng_expedient exp = {.state = x.state, .version = x.version, .applicant_id = x.applicant_nif};
		struct eng_actor actor = web_actor(c);
		bool needed = a && web_action_needs_reason(d, a) && x.version == expected &&
		              eng_actor_may(a, &exp, &actor);
		if (needed && chars == 0)
			return backoffice_page(c, id, action, typed, "reason.err.empty");
		if (needed && chars > WEB_REASON_MAX)
			return backoffice_page(c, id, action, typed, "reason.err.long");
	}
	if (chars > WEB_REASON_MAX)
		return web_error_page(c, 400, "err.badrequest.title", "reason.err.long");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.expedient_id = id,
		.reason = chars ? reason : NULL,
		.expected_version = expected,
		.event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
		          .time_ms = web_now_ms()},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	int rc = eng_store_apply(c->store, &c->arena, &cmd, cat_catalog_lookup,
	                         (void *)c->srv->catalog, &out, &err);
	rc = web_expedient_refusal(c, id, rc); /* issue 5: out of the employee's scope is 404 */
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

/* --- binding notifications (arts. 40-43) --- */

static const char *notif_state_label(struct web_ctx *c, const char *state)
{
	return web_t(c, eng_arena_printf(&c->arena, "notif.state.%s", state));
}

/* A hash as text that may wrap every 16 characters: 64 hex digits do not fit a phone. */
static void html_hash(struct web_ctx *c, const char *hash)
{
	for (const char *p = hash ? hash : ""; *p;) {
		size_t len = strnlen(p, 16);
		web_html(c, eng_arena_strndup(&c->arena, p, len));
		p += len;
		if (*p)
			web_printf(c, "<wbr>");
	}
}

/* The notifications table: in the Carpeta each links to its page; staff also see who
 * opened it, how they were identified and the evidence, under its state. Four columns, the
 * expedient's number under the subject, so the table fits a phone's screen. */
static void render_notifications(struct web_ctx *c, const struct eng_notification_view *ns,
                                 size_t n, const char *table_id, bool staff)
{
	web_printf(c, "<table id=\"%s\"><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           table_id, web_t(c, "notif.col.subject"), web_t(c, "notif.col.made"),
	           web_t(c, "notif.col.deadline"), web_t(c, "col.state"));
	for (size_t i = 0; i < n; i++) {
		const struct eng_notification_view *x = &ns[i];
		web_printf(c, "<tr data-id=\"%s\"><td>", x->id);
		if (!staff)
			web_printf(c, "<a href=\"/carpeta/notificacions/%s\">", x->id);
		web_html(c, x->template_name);
		web_printf(c, "%s<br><span class=\"hint\">%s ", staff ? "" : "</a>", web_t(c, "col.number"));
		web_html(c, x->expedient_number);
		web_printf(c, "</span></td><td>");
		web_html(c, web_date(c, x->made_available_at));
		web_printf(c, "</td><td>");
		web_html(c, web_day(c, x->last_day));
		web_printf(c, "</td><td class=\"state\" data-state=\"%s\">", x->state);
		web_html(c, notif_state_label(c, x->state));
		if (staff) {
			if (x->accessed_at || x->rejected_at)
				web_printf(c, "<br><span class=\"hint\">%s: ", web_t(c, "notif.col.settled"));
			if (x->accessed_at) {
				web_html(c, web_date(c, x->accessed_at));
				web_printf(c, ", ");
				web_html(c, x->accessed_by);
				web_printf(c, " (");
				web_html(c, x->auth_method);
				web_printf(c, ")</span>");
			} else if (x->rejected_at) {
				web_html(c, web_date(c, x->rejected_at));
				web_printf(c, "</span>");
			}
			web_printf(c, "<br><span class=\"hint\">%s ", web_t(c, "notif.hash"));
			html_hash(c, x->content_sha256);
			web_printf(c, "</span>");
			if (x->evidence_sha256) {
				web_printf(c, "<span class=\"hint\">%s ", web_t(c, "notif.evidence_hash"));
				html_hash(c, x->evidence_sha256);
				web_printf(c, "</span>");
			}
			if (x->evidence_csv) {
				web_printf(c, "<span class=\"hint\">%s: </span><span class=\"csv\">", web_t(c, "notif.evidence"));
				web_html(c, x->evidence_csv);
				web_printf(c, "</span>");
			}
		}
		web_printf(c, "</td></tr>");
	}
	web_printf(c, "</tbody></table>");
}

/* The Carpeta's notifications: those waiting to be opened, then the rest. */
static void render_carpeta_notifications(struct web_ctx *c)
{
	struct eng_notification_view *ns;
	size_t n;
	struct eng_error err;
	if (eng_notification_list(c->store, &c->arena, c->srv->cfg.entity_id,
	                          web_party(c), NULL, &ns, &n, &err) != 0)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (web_mandate_covers(c, ns[i].tramit_code))
			ns[kept++] = ns[i];
	n = kept;
	struct eng_notification_view *waiting = eng_arena_alloc(&c->arena, sizeof(*ns) * (n + 1));
	struct eng_notification_view *past = eng_arena_alloc(&c->arena, sizeof(*ns) * (n + 1));
	size_t nw = 0, np = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ns[i].state, "made_available") == 0)
			waiting[nw++] = ns[i];
		else
			past[np++] = ns[i];
	}
	web_printf(c, "<section aria-labelledby=\"notif-h\" id=\"notifications\"><h2 id=\"notif-h\">%s</h2>"
	              "<p>%s</p>", web_t(c, "notif.title"), web_t(c, "notif.intro"));
	if (n == 0)
		web_printf(c, "<p id=\"notif-none\">%s</p>", web_t(c, "notif.none"));
	if (nw) {
		web_printf(c, "<h3>%s</h3>", web_t(c, "notif.waiting"));
		render_notifications(c, waiting, nw, "notif-waiting", false);
	}
	if (np) {
		web_printf(c, "<h3>%s</h3>", web_t(c, "notif.past"));
		render_notifications(c, past, np, "notif-past", false);
	}
	web_printf(c, "<p><a href=\"/carpeta/avisos\" id=\"prefs-link\">%s</a></p></section>",
	           web_t(c, "prefs.link"));
}

/* How the signed-in person was identified, as the evidence records it: by the trusted
 * proxy's header only when session.c believed it on this request (never a header sent from
 * an address that is not the proxy). */
static const char *auth_method(struct web_ctx *c)
{
	const struct web_config *cfg = &c->srv->cfg;
	if (c->via_proxy)
		return eng_arena_printf(&c->arena, "reverse-proxy:%s", cfg->trusted_header);
	if (c->signin_method && strcmp(c->signin_method, "certificate") == 0)
		return "certificate";
	return cfg->demo ? "demo" : "session";
}

/* The content made available, from its JSON: the text, the act and its documents. */
static void render_notification_content(struct web_ctx *c, const struct eng_notification_view *x)
{
	json_t *j = json_loads(x->content ? x->content : "", 0, NULL);
	bool es = c->lang == ENG_LANG_ES;
	web_printf(c, "<section aria-labelledby=\"content-h\" id=\"notif-content\"><h2 id=\"content-h\">"
	              "%s</h2><p id=\"notif-text\">", web_t(c, "notif.content"));
	web_html(c, json_string_value(json_object_get(j, es ? "text_es" : "text_ca")));
	web_printf(c, "</p>");
	const char *reason = json_string_value(json_object_get(j, "reason"));
	if (reason) { /* what the applicant must do, as staff wrote it */
		web_printf(c, "<h3>%s</h3><blockquote id=\"notif-reason\">", web_t(c, "correction.todo"));
		web_html(c, reason);
		web_printf(c, "</blockquote>");
	}
	json_t *docs = json_object_get(j, "documents");
	if (json_array_size(docs)) {
		web_printf(c, "<h3>%s</h3><ul id=\"notif-documents\">", web_t(c, "notif.documents"));
		size_t i;
		json_t *d;
		json_array_foreach(docs, i, d) {
			web_printf(c, "<li>");
			web_html(c, json_string_value(d));
			web_printf(c, "</li>");
		}
		web_printf(c, "</ul>");
	}
	/* In a list of facts, whose values wrap anywhere: the hash does not widen a phone's page. */
	web_printf(c, "<dl class=\"facts\"><dt>%s</dt><dd><code id=\"notif-hash\">", web_t(c, "notif.hash"));
	web_html(c, x->content_sha256);
	web_printf(c, "</code></dd></dl></section>");
	json_decref(j);
}

/* The facts of a notification: when it was made available, until when, and how it ended. */
static void render_notification_facts(struct web_ctx *c, const struct eng_notification_view *x)
{
	web_printf(c, "<dl class=\"facts\"><dt>%s</dt><dd>", web_t(c, "receipt.expedient"));
	web_html(c, x->expedient_number);
	web_printf(c, "</dd><dt>%s</dt><dd id=\"notif-made\">", web_t(c, "notif.col.made"));
	web_html(c, web_date(c, x->made_available_at));
	web_printf(c, "</dd><dt>%s</dt><dd id=\"notif-deadline\">", web_t(c, "notif.col.deadline"));
	web_html(c, web_day(c, x->last_day));
	web_printf(c, "</dd><dt>%s</dt><dd id=\"notif-state\" data-state=\"%s\">", web_t(c, "col.state"),
	           x->state);
	web_html(c, notif_state_label(c, x->state));
	web_printf(c, "</dd>");
	if (x->accessed_at) {
		web_printf(c, "<dt>%s</dt><dd id=\"notif-accessed\">", web_t(c, "notif.accessed_at"));
		web_html(c, web_date(c, x->accessed_at));
		web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "notif.accessed_by"));
		web_html(c, x->accessed_by);
		web_printf(c, "</dd>");
	}
	if (x->rejected_at) {
		web_printf(c, "<dt>%s</dt><dd id=\"notif-rejected\">", web_t(c, "notif.rejected_at"));
		web_html(c, web_date(c, x->rejected_at));
		web_printf(c, "</dd>");
	}
	if (x->evidence_csv) {
		web_printf(c, "<dt>%s</dt><dd class=\"csv\" id=\"notif-evidence-csv\">", web_t(c, "notif.evidence"));
		web_html(c, x->evidence_csv);
		web_printf(c, " <a href=\"/verify?csv=%s\">/verify</a></dd>", web_url_encode(c, x->evidence_csv));
	}
	web_printf(c, "</dl>");
	if (x->recipient_obliged)
		web_printf(c, "<p class=\"hint\" id=\"notif-obliged\">%s</p>", web_t(c, "notif.obliged"));
}

int web_evidence_seal(char **out, const struct web_config *cfg, const char *evidence, char err[256])
{
	struct conn_sign_signer *seal = NULL;
	struct conn_sign_error e = {0};
	unsigned char *xml = NULL;
	size_t len = 0;
	*out = NULL;
	/* Loaded per evidence: a notification is settled once, and a renewed seal takes effect
	 * without a restart. */
	if (conn_sign_signer_load(&seal, cfg->seal_key, cfg->seal_cert, &e) != 0) {
		snprintf(err, 256, "the seal: %.200s", e.msg);
		return -1;
	}
	struct conn_sign_options opt = {.detached = true, .tsa_url = cfg->tsa_url};
	int rc = conn_sign_xades(&xml, &len, seal, (const unsigned char *)evidence, strlen(evidence),
	                         &opt, &e);
	conn_sign_signer_free(seal);
	if (rc != 0) {
		snprintf(err, 256, "sealing: %.200s", e.msg);
		return -1;
	}
	*out = malloc(len + 1);
	if (*out) {
		memcpy(*out, xml, len);
		(*out)[len] = '\0';
	}
	free(xml);
	return *out ? 0 : -1;
}

/* A settled notification's evidence is issued as a document with a CSV the first time it is
 * shown: CSVs and seals are made here, at the edge (a TSA is a network call, never inside a
 * transition), and the evidence itself was fixed and hashed into the expedient's log when it
 * was settled. A seal that fails leaves it unissued until the next showing. */
static void issue_evidence(struct web_ctx *c, struct eng_notification_view *x, const char *nif)
{
	const struct web_config *cfg = &c->srv->cfg;
	char csv[CONN_CSV_DISPLAY_LEN + 1], why[256];
	char *sealed = NULL;
	struct eng_error err;
	if (!x->evidence || x->evidence_csv || conn_csv_new(csv) != 0)
		return;
	if (cfg->seal_key && cfg->seal_cert && web_evidence_seal(&sealed, cfg, x->evidence, why) != 0) {
		fprintf(stderr, "tramit: evidence of notification %s not issued: %s\n", x->id, why);
		return;
	}
	if (eng_notification_issue_evidence(c->store, cfg->entity_id, x->id, csv, sealed,
	                                    "application/xml", &err) == 0)
		eng_notification_get(c->store, &c->arena, cfg->entity_id, x->id, nif, x, &err);
	free(sealed);
}

void web_route_notification(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "citizen"))
		return;
	struct eng_notification_view x;
	struct eng_error err;
	const char *nif = web_party(c);
	int rc = eng_notification_get(c->store, &c->arena, c->srv->cfg.entity_id, id, nif, &x, &err);
	if (rc == 0 && !web_mandate_covers(c, x.tramit_code))
		rc = ENG_ENOTFOUND;
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "notif.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	issue_evidence(c, &x, nif);
	web_page_begin(c, web_t(c, "notif.one"));
	web_printf(c, "<h1>%s: ", web_t(c, "notif.one"));
	/* A template's name may be long ("resolucio_desestimacio"): it may wrap after each "_". */
	for (const char *p = x.template_name ? x.template_name : ""; *p;) {
		size_t len = strcspn(p, "_");
		web_html(c, eng_arena_strndup(&c->arena, p, len + (p[len] == '_')));
		p += len + (p[len] == '_');
		if (*p)
			web_printf(c, "%s", p[-1] == '_' ? "<wbr>" : "");
	}
	web_printf(c, "</h1>");
	render_notification_facts(c, &x);
	if (strcmp(x.state, "made_available") == 0) {
		/* The content is shown only once the access is recorded: opening is a POST. */
		web_printf(c, "<form method=\"post\" action=\"/carpeta/notificacions/%s/open\">"
		              "<p id=\"open-warning\">%s</p><input type=\"hidden\" name=\"csrf\" value=\"",
		           x.id, web_t(c, "notif.open.warning"));
		web_attr(c, c->session.csrf);
		web_printf(c, "\"><button type=\"submit\" id=\"open\">%s</button></form>",
		           web_t(c, "notif.open"));
	} else {
		if (strcmp(x.state, "rejected") == 0)
			web_printf(c, "<p class=\"panel\" id=\"rejected-text\">%s</p>",
			           web_t(c, "notif.rejected.text"));
		render_notification_content(c, &x);
	}
	web_printf(c, "<p><a href=\"/carpeta/expedients/%s\">%s</a></p>", x.expedient_id,
	           web_t(c, "notif.to_expedient"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

void web_route_notification_open(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "citizen"))
		return;
	struct eng_value *v;
	size_t n;
	static const char *const no_fields[] = {NULL};
	if (!web_post_fields(c, 4096, no_fields, &v, &n))
		return;
	/* A representative opens the party's notification; the access records who did. */
	struct eng_notification_access acc = {
		.entity_id = c->srv->cfg.entity_id, .notification_id = id,
		.nif = web_party(c), .auth_method = auth_method(c), .time_ms = web_now_ms(),
	};
	if (c->acting_for) {
		struct eng_notification_view shown;
		struct eng_error gerr;
		int g = eng_notification_get(c->store, &c->arena, acc.entity_id, id, acc.nif, &shown, &gerr);
		if (g == 0 && !web_mandate_covers(c, shown.tramit_code))
			g = ENG_ENOTFOUND;
		if (g)
			return web_error_page(c, g == ENG_ENOTFOUND ? 404 : 503,
			                      g == ENG_ENOTFOUND ? "err.notfound.title" : "err.unavailable.title",
			                      g == ENG_ENOTFOUND ? "notif.notfound" : "err.unavailable");
		acc.auth_method = eng_arena_printf(&c->arena, "%s; representative:%s", acc.auth_method,
		                                   c->session.principal_id);
	}
	struct eng_notification_view x;
	struct eng_error err = {0};
	bool first;
	int rc = eng_notification_open(c->store, &c->arena, &acc, cat_catalog_lookup,
	                               (void *)c->srv->catalog, &x, &first, &err);
	switch (rc) {
	case ENG_OK:
		return web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/notificacions/%s", x.id));
	case ENG_ENOTFOUND:
		return web_error_page(c, 404, "err.notfound.title", "notif.notfound");
	case ENG_EUNAVAILABLE:
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	default:
		fprintf(stderr, "tramit: opening notification %s failed: %s\n", id, err.msg);
		return web_error_page(c, 500, "err.internal.title", "err.internal");
	}
}

/* --- notice preferences --- */

static void render_prefs(struct web_ctx *c, const char *channel, const char *phone,
                         const char *error_key)
{
	web_page_begin(c, web_t(c, "prefs.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "prefs.title"), web_t(c, "prefs.intro"));
	if (error_key)
		web_printf(c, "<div class=\"errors\" role=\"alert\" id=\"error-summary\"><h2>%s</h2><ul>"
		              "<li><a href=\"#phone\">%s</a></li></ul></div>", web_t(c, "form.error_title"),
		           web_t(c, error_key));
	const char *saved = web_query_get(c, "saved");
	if (saved && strcmp(saved, "1") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"saved\">%s</div>", web_t(c, "prefs.saved"));
	bool sms = strcmp(channel, "sms") == 0;
	web_printf(c, "<form method=\"post\" action=\"/carpeta/avisos\"><input type=\"hidden\" "
	              "name=\"csrf\" value=\"");
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><fieldset class=\"field\"><legend>%s</legend>"
	              "<label><input type=\"radio\" name=\"channel\" value=\"email\" id=\"channel-email\"%s> %s</label>"
	              "<label><input type=\"radio\" name=\"channel\" value=\"sms\" id=\"channel-sms\"%s> %s</label>"
	              "</fieldset><div class=\"field\"><label for=\"phone\">%s</label>"
	              "<span class=\"hint\" id=\"phone-hint\">%s</span>",
	           web_t(c, "prefs.channel"), sms ? "" : " checked", web_t(c, "prefs.email"),
	           sms ? " checked" : "", web_t(c, "prefs.sms"), web_t(c, "prefs.phone"),
	           web_t(c, "prefs.phone.hint"));
	if (error_key)
		web_printf(c, "<span class=\"error\" id=\"phone-error\">%s</span>", web_t(c, error_key));
	web_printf(c, "<input type=\"tel\" name=\"phone\" id=\"phone\" autocomplete=\"tel\" "
	              "aria-describedby=\"phone-hint%s\"%s value=\"", error_key ? " phone-error" : "",
	           error_key ? " aria-invalid=\"true\"" : "");
	web_attr(c, phone);
	web_printf(c, "\"></div><button type=\"submit\" id=\"save\">%s</button></form>"
	              "<p><a href=\"/carpeta\">%s</a></p>", web_t(c, "prefs.save"), web_t(c, "carpeta.title"));
	web_page_end(c);
	web_send(c, error_key ? 400 : 200, "text/html; charset=utf-8");
}

/* Spaces around a typed value are not part of it. */
static const char *trimmed(struct web_ctx *c, const char *s)
{
	if (!s)
		return "";
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return eng_arena_strndup(&c->arena, s, n);
}

void web_route_notice_prefs(struct web_ctx *c)
{
	if (!web_require(c, "citizen"))
		return;
	const char *entity = c->srv->cfg.entity_id, *nif = c->session.principal_id;
	struct eng_error err;
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST) {
		struct eng_notice_prefs p;
		int rc = eng_notice_prefs_get(c->store, &c->arena, entity, nif, &p, &err);
		if (rc == ENG_ENOTFOUND)
			p = (struct eng_notice_prefs){"email", "", ""};
		else if (rc)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		return render_prefs(c, p.channel, p.phone, NULL);
	}
	struct eng_value *v;
	size_t n;
	static const char *const prefs_fields[] = {"channel", "phone", NULL};
	if (!web_post_fields(c, 4096, prefs_fields, &v, &n))
		return;
	const char *channel = eng_values_get(v, n, "channel");
	const char *phone = trimmed(c, eng_values_get(v, n, "phone"));
	if (!channel || (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	if (*phone && !eng_phone_valid(phone))
		return render_prefs(c, channel, phone, "prefs.err.phone");
	if (strcmp(channel, "sms") == 0 && !*phone)
		return render_prefs(c, channel, phone, "prefs.err.sms_phone");
	int rc = eng_notice_prefs_set(c->store, entity, nif, channel, phone, &err);
	if (rc == ENG_EINVALID)
		return render_prefs(c, channel, phone, "prefs.err.phone");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_redirect(c, "/carpeta/avisos?saved=1");
}

/* An expedient's notifications, on its page: the citizen's own, or all of them for staff. */
static void render_expedient_notifications(struct web_ctx *c, const char *expedient_id, bool staff)
{
	struct eng_notification_view *ns;
	size_t n;
	struct eng_error err;
	const char *nif = staff ? NULL : web_party(c);
	if (eng_notification_list(c->store, &c->arena, c->srv->cfg.entity_id, nif, expedient_id,
	                          &ns, &n, &err) != 0 || n == 0)
		return;
	/* Evidence of a rejection the scheduler recorded is issued the first time anyone looks. */
	for (size_t i = 0; i < n; i++)
		issue_evidence(c, &ns[i], nif);
	web_printf(c, "<h2>%s</h2>", web_t(c, "notif.title"));
	render_notifications(c, ns, n, "expedient-notifications", staff);
}
