/* The portasignatures in the back office: the employee's inbox (pending for me, by my roles or
 * by delegation, and done by me), a request's page (the document, the circuit line by line,
 * the signature stamp listing every signature with its .p7s, and the forms to sign with the
 * server-held key confirmed by the password, approve, or reject with a reason), and the
 * delegation form. Anyone on the staff may read a request; only a signer of its current line
 * or their delegate may act (the runtime decides, and says 403 otherwise). The JSON API under
 * /api/v1/signatures mirrors the pages. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sign/sign.h"
#include "engine/runtime/portafirmas.h"
#include "internal.h"

enum { REASON_MAX = 2000 };

static const struct eng_signin_limits act_limits = {15 * 60, 5, 20};

/* The summary table of a list of requests. */
static void table(struct web_ctx *c, const char *id, const struct eng_sig_request *rs, size_t n)
{
	web_printf(c, "<table id=\"%s\"><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
	              "</tr></thead><tbody>", id, web_t(c, "sig.col.document"),
	           web_t(c, "sig.col.expedient"), web_t(c, "sig.col.state"),
	           web_t(c, "sig.col.created"), web_t(c, "sig.col.expires"));
	for (size_t i = 0; i < n; i++) {
		const struct eng_sig_request *r = &rs[i];
		web_printf(c, "<tr data-id=\"%s\"><td><a href=\"/backoffice/signatures/%s\">", r->id, r->id);
		web_html(c, r->document);
		web_printf(c, "</a></td><td>");
		web_html(c, r->expedient_number);
		web_printf(c, " (");
		web_html(c, r->tramit_code);
		web_printf(c, ")</td><td class=\"state\" data-state=\"%s\">%s", r->state,
		           web_t(c, eng_arena_printf(&c->arena, "sig.state.%s", r->state)));
		if (r->reminded_at && strcmp(r->state, "pending") == 0)
			web_printf(c, " <span class=\"tag act\">%s</span>", web_t(c, "sig.reminded"));
		web_printf(c, "</td><td>");
		web_html(c, web_date(c, r->created_at));
		web_printf(c, "</td><td>");
		web_html(c, web_date(c, r->expires_at));
		web_printf(c, "</td></tr>");
	}
	web_printf(c, "</tbody></table>");
}

/* Expired requests are completed as rejections when anyone looks (a scheduler may also call
 * eng_signature_sweep): the answer never shows a request past its time as pending. */
static int sweep(struct web_ctx *c)
{
	struct eng_error err;
	return eng_signature_sweep(c->store, &c->arena, c->srv->cfg.entity_id, web_now_ms(),
	                           cat_catalog_lookup, (void *)c->srv->catalog, NULL, NULL, &err);
}

static void inbox(struct web_ctx *c)
{
	struct eng_sig_request *pending, *done;
	size_t n_pending, n_done;
	struct eng_error err;
	if (sweep(c) != 0 ||
	    eng_signature_inbox(c->store, &c->arena, c->srv->cfg.entity_id, c->session.principal_id,
	                        web_now_ms(), &pending, &n_pending, &done, &n_done, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "sig.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p><h2 id=\"pending-title\">%s</h2>", web_t(c, "sig.title"),
	           web_t(c, "sig.intro"), web_t(c, "sig.pending"));
	if (n_pending)
		table(c, "pending", pending, n_pending);
	else
		web_printf(c, "<p id=\"pending-empty\">%s</p>", web_t(c, "sig.none_pending"));
	web_printf(c, "<h2>%s</h2>", web_t(c, "sig.done"));
	if (n_done)
		table(c, "done", done, n_done);
	else
		web_printf(c, "<p id=\"done-empty\">%s</p>", web_t(c, "sig.none_done"));
	web_printf(c, "<p><a href=\"/backoffice/signatures/delegations\" id=\"delegate-link\">%s</a></p>",
	           web_t(c, "sig.delegate.title"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

static void csrf_field(struct web_ctx *c)
{
	web_printf(c, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_attr(c, c->session.csrf);
	web_printf(c, "\">");
}

/* The circuit, line by line, each place with who acted and how. */
static void circuit(struct web_ctx *c, const struct eng_sig_request *r)
{
	web_printf(c, "<h2>%s</h2><ol id=\"circuit\">", web_t(c, "sig.circuit"));
	for (size_t i = 0; i < r->n_lines; i++) {
		const struct eng_sig_line *l = &r->lines[i];
		web_printf(c, "<li class=\"line\" data-line=\"%d\" data-state=\"%s\"><p><strong>%s %d</strong>: "
		              "%s. <span class=\"tag\">%s</span></p><ul>", l->seq, l->state,
		           web_t(c, "sig.line"), l->seq, web_t(c, l->any ? "sig.need.any" : "sig.need.all"),
		           web_t(c, eng_arena_printf(&c->arena, "sig.line.%s", l->state)));
		for (size_t k = 0; k < r->n_signers; k++) {
			const struct eng_sig_signer *s = &r->signers[k];
			if (s->line != l->seq)
				continue;
			web_printf(c, "<li class=\"place\" data-place=\"%d-%d\" data-state=\"%s\">%s: ", s->line,
			           s->pos, s->state, web_t(c, "sig.role"));
			web_html(c, s->role);
			if (s->approve)
				web_printf(c, " (%s)", web_t(c, "sig.approve_place"));
			web_printf(c, " — %s", web_t(c, eng_arena_printf(&c->arena, "sig.place.%s", s->state)));
			if (s->acted_by) {
				web_printf(c, ": ");
				web_html(c, s->acted_by_name ? s->acted_by_name : s->acted_by);
				if (s->on_behalf_of) {
					web_printf(c, ", %s ", web_t(c, "sig.delegation"));
					web_html(c, s->on_behalf_of_name ? s->on_behalf_of_name : s->on_behalf_of);
				}
				web_printf(c, ", ");
				web_html(c, web_date(c, s->acted_at));
			}
			if (s->reason) {
				web_printf(c, ". %s: <q class=\"reason\">", web_t(c, "sig.reason"));
				web_html(c, s->reason);
				web_printf(c, "</q>");
			}
			web_printf(c, "</li>");
		}
		web_printf(c, "</ul></li>");
	}
	web_printf(c, "</ol>");
}

/* The signature stamp: what the document carries once signed, with each signature to
 * download and check (`openssl cms -verify -binary -inform DER -content DOC`). */
static void stamp(struct web_ctx *c, const struct eng_sig_request *r)
{
	web_printf(c, "<section id=\"stamp\" aria-labelledby=\"stamp-title\"><h2 id=\"stamp-title\">%s</h2>",
	           web_t(c, "sig.stamp"));
	if (r->document_csv) {
		web_printf(c, "<p>%s: <strong id=\"csv\">", web_t(c, "sig.csv"));
		web_html(c, r->document_csv);
		web_printf(c, "</strong> (<a href=\"/verify?csv=%s\">%s</a>)</p>",
		           web_url_encode(c, r->document_csv), web_t(c, "nav.verify"));
	}
	if (r->decree_number) {
		web_printf(c, "<p>%s <strong id=\"decree\">", web_t(c, "sig.decree"));
		web_html(c, r->decree_number);
		web_printf(c, "</strong></p>");
	}
	web_printf(c, "<ul id=\"signatures\">");
	size_t n = 0;
	for (size_t k = 0; k < r->n_signers; k++) {
		const struct eng_sig_signer *s = &r->signers[k];
		if (strcmp(s->state, "signed") != 0 && strcmp(s->state, "approved") != 0)
			continue;
		n++;
		web_printf(c, "<li data-place=\"%d-%d\">%s ", s->line, s->pos,
		           web_t(c, strcmp(s->state, "signed") == 0 ? "sig.signed_by" : "sig.approved_by"));
		web_html(c, s->signer_name ? s->signer_name : (s->acted_by_name ? s->acted_by_name : s->acted_by));
		if (s->signer_nif && *s->signer_nif) {
			web_printf(c, " (NIF ");
			web_html(c, s->signer_nif);
			web_printf(c, ")");
		}
		if (s->on_behalf_of) {
			web_printf(c, ", %s ", web_t(c, "sig.delegation"));
			web_html(c, s->on_behalf_of_name ? s->on_behalf_of_name : s->on_behalf_of);
		}
		web_printf(c, ", ");
		web_html(c, web_date(c, s->acted_at));
		if (s->signature_sha256)
			web_printf(c, " — <a href=\"/backoffice/signatures/%s/signatures/%d-%d.p7s\" download>%s</a>",
			           r->id, s->line, s->pos, web_t(c, "sig.download_p7s"));
		web_printf(c, "</li>");
	}
	if (!n)
		web_printf(c, "<li>%s</li>", web_t(c, "sig.stamp.none"));
	web_printf(c, "</ul></section>");
}

/* The forms of the reader's place on the current line. */
static void act_forms(struct web_ctx *c, const struct eng_sig_request *r, const char *error)
{
	bool sign = false, approve = false;
	const char *for_whom = NULL;
	for (size_t k = 0; k < r->n_signers; k++) {
		if (!r->signers[k].mine)
			continue;
		sign = sign || !r->signers[k].approve;
		approve = approve || r->signers[k].approve;
		if (r->signers[k].mine_for)
			for_whom = r->signers[k].mine_for;
	}
	if (!sign && !approve)
		return;
	web_printf(c, "<section id=\"act\" aria-labelledby=\"act-title\"><h2 id=\"act-title\">%s</h2>",
	           web_t(c, "sig.act.title"));
	if (error) {
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\">"
		              "<h2>%s</h2><p id=\"act-error\">", web_t(c, "sig.err.title"));
		web_html(c, error);
		web_printf(c, "</p></div>");
	}
	if (for_whom) {
		web_printf(c, "<p id=\"for-whom\">%s <strong>", web_t(c, "sig.mine_for"));
		web_html(c, for_whom);
		web_printf(c, "</strong>.</p>");
	}
	const char *base = eng_arena_printf(&c->arena, "/backoffice/signatures/%s", r->id);
	if (!r->document_id)
		web_printf(c, "<p id=\"document-missing\">%s</p>", web_t(c, "sig.document.missing"));
	else if (sign) {
		web_printf(c, "<form method=\"post\" action=\"%s/sign\" id=\"sign-form\"><p>%s</p>", base,
		           web_t(c, "sig.sign.help"));
		csrf_field(c);
		web_printf(c, "<input type=\"hidden\" name=\"version\" value=\"%d\"><div class=\"field\">"
		              "<label for=\"password\">%s</label><input type=\"password\" id=\"password\" "
		              "name=\"password\" autocomplete=\"current-password\" required></div>"
		              "<button type=\"submit\" id=\"sign\">%s</button></form>",
		           r->version, web_t(c, "sig.password"), web_t(c, "sig.sign.submit"));
	} else {
		web_printf(c, "<form method=\"post\" action=\"%s/approve\" id=\"approve-form\">", base);
		csrf_field(c);
		web_printf(c, "<input type=\"hidden\" name=\"version\" value=\"%d\">"
		              "<button type=\"submit\" id=\"approve\">%s</button></form>",
		           r->version, web_t(c, "sig.approve.submit"));
	}
	web_printf(c, "<form method=\"post\" action=\"%s/reject\" id=\"reject-form\"><h3>%s</h3><p>%s</p>",
	           base, web_t(c, "sig.reject.title"), web_t(c, "sig.reject.help"));
	csrf_field(c);
	web_printf(c, "<input type=\"hidden\" name=\"version\" value=\"%d\"><div class=\"field\">"
	              "<label for=\"reason\">%s</label><textarea id=\"reason\" name=\"reason\" rows=\"3\" "
	              "maxlength=\"%d\" required></textarea></div><button type=\"submit\" class=\"secondary\" "
	              "id=\"reject\">%s</button></form></section>",
	           r->version, web_t(c, "sig.reject.reason"), REASON_MAX, web_t(c, "sig.reject.submit"));
}

static void request_page(struct web_ctx *c, const char *id, int status, const char *error,
                         const char *notice)
{
	struct eng_sig_request r;
	struct eng_error err;
	if (sweep(c) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	int rc = eng_signature_get(c->store, &c->arena, c->srv->cfg.entity_id, id,
	                           c->session.principal_id, web_now_ms(), &r, &err);
	rc = web_signature_scope(c, id, &r, rc); /* issue 5: the employee's units and roles */
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "sig.request.title"));
	web_printf(c, "<h1>%s: ", web_t(c, "sig.request.title"));
	web_html(c, r.document);
	web_printf(c, "</h1>");
	if (notice)
		web_printf(c, "<p class=\"notice\" role=\"status\" id=\"notice\">%s</p>", web_t(c, notice));
	web_printf(c, "<dl><dt>%s</dt><dd><a href=\"/backoffice/expedients/%s\">", web_t(c, "sig.col.expedient"),
	           r.expedient_id);
	web_html(c, r.expedient_number);
	web_printf(c, "</a> (");
	web_html(c, r.tramit_code);
	web_printf(c, ")</dd><dt>%s</dt><dd id=\"request-state\" data-state=\"%s\">%s</dd>",
	           web_t(c, "sig.col.state"), r.state,
	           web_t(c, eng_arena_printf(&c->arena, "sig.state.%s", r.state)));
	if (r.rejection_reason) {
		web_printf(c, "<dt>%s</dt><dd id=\"rejection\">", web_t(c, "sig.reason"));
		web_html(c, strcmp(r.rejection_reason, "expired") == 0 ? web_t(c, "sig.expired")
		                                                       : r.rejection_reason);
		web_printf(c, "</dd>");
	}
	web_printf(c, "<dt>%s</dt><dd>", web_t(c, "sig.col.expires"));
	web_html(c, web_date(c, r.expires_at));
	web_printf(c, "</dd></dl>");
	if (r.document_id)
		web_printf(c, "<p><a href=\"/backoffice/signatures/%s/document\" id=\"document-link\">%s</a></p>",
		           r.id, web_t(c, "sig.document.download"));
	else
		web_printf(c, "<p id=\"document-pending\">%s</p>", web_t(c, "sig.document.missing"));
	circuit(c, &r);
	act_forms(c, &r, error);
	stamp(c, &r);
	web_printf(c, "<p><a href=\"/backoffice/signatures\">%s</a></p>", web_t(c, "sig.back"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

static void send_bytes(struct web_ctx *c, unsigned char *bytes, size_t len, const char *type,
                       const char *filename)
{
	evbuffer_add(c->out, bytes, len);
	free(bytes);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Disposition",
	                  eng_arena_printf(&c->arena, "attachment; filename=\"%s\"", filename));
	web_send(c, 200, type);
}

static void document(struct web_ctx *c, const char *id)
{
	unsigned char *bytes;
	size_t len;
	const char *type;
	struct eng_error err;
	int rc = web_signature_scope(c, id, NULL, 0); /* issue 5: the employee's units and roles */
	if (rc == 0)
		rc = eng_signature_document(c->store, &c->arena, c->srv->cfg.entity_id, id, &bytes, &len,
		                            &type, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	send_bytes(c, bytes, len, type, strcmp(type, "application/pdf") == 0 ? "document.pdf" : "document");
}

static void signature_file(struct web_ctx *c, const char *id, const char *name)
{
	int line, pos;
	char tail[8];
	if (sscanf(name, "%d-%d.p7%1s", &line, &pos, tail) != 3 || strcmp(tail, "s") != 0 || line < 1 ||
	    pos < 1 || strcmp(name, eng_arena_printf(&c->arena, "%d-%d.p7s", line, pos)) != 0)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	unsigned char *der;
	size_t len;
	struct eng_error err;
	int rc = web_signature_scope(c, id, NULL, 0); /* issue 5: the employee's units and roles */
	if (rc == 0)
		rc = eng_signature_blob(c->store, c->srv->cfg.entity_id, id, line, pos, &der, &len, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	send_bytes(c, der, len, "application/pkcs7-signature", name);
}

/* The employee's password again, against the same limits as the sign-in. */
static const char *password_check(struct web_ctx *c, const char *password)
{
	const char *entity = c->srv->cfg.entity_id, *me = c->session.principal_id;
	const char *until = NULL, *hash = NULL;
	struct eng_error err;
	if (eng_store_signin_blocked(c->store, &c->arena, entity, me, c->client, &act_limits, &until,
	                             &err) != 0)
		return web_t(c, "err.unavailable");
	if (until)
		return eng_arena_printf(&c->arena, "%s %s.", web_t(c, "signin.limited"), until);
	int rc = eng_store_employee_password_get(c->store, &c->arena, entity, me, &hash, &err);
	if (rc != 0 && rc != ENG_ENOTFOUND)
		return web_t(c, "err.unavailable");
	if (!eng_password_verify(rc == 0 ? hash : NULL, password ? password : "")) {
		eng_store_signin_failed(c->store, entity, me, c->client, &err);
		return web_t(c, "sig.err.password");
	}
	return NULL;
}

/* Signs the request's document with the employee's server-held key (TRAMIT_SIGNER_DIR/
 * USERNAME.key and USERNAME.pem, checked against TRAMIT_SIGNER_DIR/ca.pem): CAdES-BES
 * detached. Returns NULL and fills act, or the message to show. */
static const char *sign_document(struct web_ctx *c, const struct eng_sig_request *r,
                                 struct eng_sig_act *act, unsigned char **der, size_t *der_len)
{
	const char *dir = getenv("TRAMIT_SIGNER_DIR");
	const char *me = c->session.principal_id;
	if (!dir || !*dir)
		return web_t(c, "sig.err.nokey");
	unsigned char *bytes = NULL;
	size_t len = 0;
	const char *type;
	struct eng_error err;
	if (eng_signature_document(c->store, &c->arena, c->srv->cfg.entity_id, r->id, &bytes, &len,
	                           &type, &err) != 0)
		return web_t(c, "sig.document.missing");
	struct conn_sign_signer *signer = NULL;
	struct conn_sign_trust *trust = NULL;
	struct conn_sign_error serr = {0};
	struct conn_sign_report rep = {0};
	const char *why = NULL;
	const char *key = eng_arena_printf(&c->arena, "%s/%s.key", dir, me);
	const char *cert = eng_arena_printf(&c->arena, "%s/%s.pem", dir, me);
	const char *ca = eng_arena_printf(&c->arena, "%s/ca.pem", dir);
	struct conn_sign_options opt = {.detached = true};
	if (conn_sign_signer_load(&signer, key, cert, &serr) != 0)
		why = web_t(c, "sig.err.nokey");
	else if (conn_sign_trust_load(&trust, ca, &serr) != 0 ||
	         conn_sign_cades(der, der_len, signer, bytes, len, &opt, &serr) != 0 ||
	         conn_sign_cades_verify(&rep, *der, *der_len, bytes, len, trust, &serr) != 0)
		why = eng_arena_printf(&c->arena, "%s%s", web_t(c, "sig.err.certificate"), serr.msg);
	if (!why) {
		act->signature = *der;
		act->signature_len = *der_len;
		act->signer_nif = eng_arena_strdup(&c->arena, rep.nif);
		act->signer_name = eng_arena_strdup(&c->arena, rep.subject);
		act->document_sha256 = r->document_sha256;
	}
	conn_sign_report_clear(&rep);
	conn_sign_trust_free(trust);
	conn_sign_signer_free(signer);
	free(bytes);
	return why;
}

/* Whether the reader holds a place of the current line that takes this act: a signature, or
 * an approval (checked before the key is used; the runtime checks again when recording). */
static bool place_of_kind(const struct eng_sig_request *r, enum eng_sig_act_kind kind)
{
	for (size_t k = 0; k < r->n_signers; k++)
		if (r->signers[k].mine && r->signers[k].approve == (kind == ENG_SIG_APPROVE))
			return true;
	return false;
}

/* POST /backoffice/signatures/{id}/{sign|approve|reject} */
static void act(struct web_ctx *c, const char *id, enum eng_sig_act_kind kind)
{
	static const char *const fields[] = {"version", "password", "reason", NULL};
	struct eng_value *v;
	size_t n;
	if (!web_post_fields(c, 16384, fields, &v, &n))
		return;
	const char *version = eng_values_get(v, n, "version");
	struct eng_sig_act a = {.entity_id = c->srv->cfg.entity_id, .request_id = id,
	                        .by = c->session.principal_id, .kind = kind, .time_ms = web_now_ms(),
	                        .version = version ? atoi(version) : 0,
	                        .reason = eng_values_get(v, n, "reason")};
	struct eng_sig_request r;
	struct eng_error err = {0};
	int rc = eng_signature_get(c->store, &c->arena, a.entity_id, id, a.by, a.time_ms, &r, &err);
	rc = web_signature_scope(c, id, &r, rc); /* issue 5: the employee's units and roles */
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	if (!r.mine || (kind != ENG_SIG_REJECT && !place_of_kind(&r, kind)))
		return web_error_page(c, 403, "err.denied.title", "sig.err.denied");
	if (kind == ENG_SIG_REJECT && (!a.reason || strspn(a.reason, " \t\r\n") == strlen(a.reason)))
		return request_page(c, id, 400, web_t(c, "sig.err.reason"), NULL);
	if (kind == ENG_SIG_REJECT && strlen(a.reason) > REASON_MAX)
		return request_page(c, id, 400, web_t(c, "sig.err.reason_long"), NULL);
	unsigned char *der = NULL;
	size_t der_len = 0;
	if (kind == ENG_SIG_SIGN) {
		const char *why = password_check(c, eng_values_get(v, n, "password"));
		if (!why)
			why = sign_document(c, &r, &a, &der, &der_len);
		if (why) {
			free(der);
			return request_page(c, id, 400, why, NULL);
		}
	}
	struct eng_sig_result res;
	rc = eng_signature_act(c->store, &c->arena, &a, cat_catalog_lookup, (void *)c->srv->catalog,
	                       &res, &err);
	free(der);
	if (rc == ENG_EDENIED)
		return web_error_page(c, 403, "err.denied.title", "sig.err.denied");
	if (rc == ENG_ECONFLICT)
		return request_page(c, id, 409, web_t(c, "sig.err.conflict"), NULL);
	if (rc == ENG_EINVALID)
		return request_page(c, id, 400, err.msg, NULL);
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	static const char *const done[] = {"sig.done.signed", "sig.done.approved", "sig.done.rejected"};
	web_redirect(c, eng_arena_printf(&c->arena, "/backoffice/signatures/%s?fet=%s", id,
	                                 done[kind] + 9));
}

/* GET and POST /backoffice/signatures/delegations: I delegate my signing to a colleague. */
static void delegations(struct web_ctx *c, bool post)
{
	const char *error = NULL, *notice = NULL;
	int status = 200;
	const char *to = "", *from = "", *until = "";
	if (post) {
		static const char *const fields[] = {"to", "from", "until", NULL};
		struct eng_value *v;
		size_t n;
		if (!web_post_fields(c, 4096, fields, &v, &n))
			return;
		to = eng_values_get(v, n, "to") ? eng_values_get(v, n, "to") : "";
		from = eng_values_get(v, n, "from") ? eng_values_get(v, n, "from") : "";
		until = eng_values_get(v, n, "until") ? eng_values_get(v, n, "until") : "";
		struct eng_error err = {0};
		int rc = eng_signature_delegate(c->store, c->srv->cfg.entity_id, c->session.principal_id,
		                                to, from, until, &err);
		if (rc == ENG_EINVALID || rc == ENG_ENOTFOUND) {
			status = 400;
			error = rc == ENG_ENOTFOUND ? web_t(c, "sig.delegate.unknown") : web_t(c, "sig.delegate.bad");
		} else if (rc) {
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		} else {
			notice = "sig.delegate.done";
		}
	}
	web_page_begin(c, web_t(c, "sig.delegate.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "sig.delegate.title"), web_t(c, "sig.delegate.intro"));
	if (notice)
		web_printf(c, "<p class=\"notice\" role=\"status\" id=\"notice\">%s</p>", web_t(c, notice));
	if (error) {
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\">"
		              "<h2>%s</h2><p>", web_t(c, "sig.err.title"));
		web_html(c, error);
		web_printf(c, "</p></div>");
	}
	web_printf(c, "<form method=\"post\" action=\"/backoffice/signatures/delegations\" id=\"delegate-form\">");
	csrf_field(c);
	web_printf(c, "<div class=\"field\"><label for=\"to\">%s</label><input type=\"text\" id=\"to\" "
	              "name=\"to\" maxlength=\"64\" required value=\"", web_t(c, "sig.delegate.to"));
	web_attr(c, to);
	web_printf(c, "\"></div><div class=\"field\"><label for=\"from\">%s</label><input type=\"date\" "
	              "id=\"from\" name=\"from\" required value=\"", web_t(c, "sig.delegate.from"));
	web_attr(c, from);
	web_printf(c, "\"></div><div class=\"field\"><label for=\"until\">%s</label><input type=\"date\" "
	              "id=\"until\" name=\"until\" required value=\"", web_t(c, "sig.delegate.until"));
	web_attr(c, until);
	web_printf(c, "\"></div><button type=\"submit\" id=\"delegate\">%s</button></form>"
	              "<p><a href=\"/backoffice/signatures\">%s</a></p>",
	           web_t(c, "sig.delegate.submit"), web_t(c, "sig.back"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

void web_route_signatures(struct web_ctx *c, const char *rest)
{
	if (!web_require(c, "employee"))
		return;
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD, post = m == EVHTTP_REQ_POST;
	if (!*rest || strcmp(rest, "/") == 0) {
		if (get)
			return inbox(c);
		return web_error_page(c, 405, "err.badrequest.title", "err.badrequest");
	}
	rest++; /* the "/" */
	if (strcmp(rest, "delegations") == 0 && (get || post))
		return delegations(c, post);
	char id[40];
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (idlen != 36)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	if (!eng_uuid_valid(id))
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	const char *sub = slash ? slash + 1 : "";
	if (!*sub && get) {
		const char *done = web_query_get(c, "fet");
		const char *notice = NULL;
		if (done && strcmp(done, "signed") == 0)
			notice = "sig.done.signed";
		else if (done && strcmp(done, "approved") == 0)
			notice = "sig.done.approved";
		else if (done && strcmp(done, "rejected") == 0)
			notice = "sig.done.rejected";
		return request_page(c, id, 200, NULL, notice);
	}
	if (get && strcmp(sub, "document") == 0)
		return document(c, id);
	if (get && strncmp(sub, "signatures/", 11) == 0)
		return signature_file(c, id, sub + 11);
	if (post && strcmp(sub, "sign") == 0)
		return act(c, id, ENG_SIG_SIGN);
	if (post && strcmp(sub, "approve") == 0)
		return act(c, id, ENG_SIG_APPROVE);
	if (post && strcmp(sub, "reject") == 0)
		return act(c, id, ENG_SIG_REJECT);
	web_error_page(c, 404, "err.notfound.title", "err.notfound");
}

/* --- the JSON API: /api/v1/signatures (the same rules as the pages) --- */

static json_t *summary_json(const struct eng_sig_request *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s?, s:s?, s:s?, s:s?, s:s?}",
	        "id", r->id, "expedient", r->expedient_id, "expedient_number", r->expedient_number,
	        "document", r->document, "state", r->state, "current_line", r->current_line,
	        "version", r->version, "created_at", r->created_at, "expires_at", r->expires_at,
	        "completed_at", r->completed_at, "rejection_reason", r->rejection_reason,
	        "decree_number", r->decree_number);
}

static json_t *request_json(const struct eng_sig_request *r)
{
	json_t *j = summary_json(r);
	json_t *lines = json_array();
	for (size_t i = 0; i < r->n_lines; i++) {
		json_t *places = json_array();
		for (size_t k = 0; k < r->n_signers; k++) {
			const struct eng_sig_signer *s = &r->signers[k];
			if (s->line != r->lines[i].seq)
				continue;
			json_array_append_new(places, json_pack("{s:i, s:s, s:b, s:s, s:b, s:s?, s:s?, s:s?, s:s?, "
			        "s:s?, s:s?}", "pos", s->pos, "role", s->role, "approve", s->approve, "state", s->state,
			        "mine", s->mine, "acted_by", s->acted_by, "on_behalf_of", s->on_behalf_of,
			        "signer_nif", s->signer_nif, "acted_at", s->acted_at, "reason", s->reason,
			        "signature_sha256", s->signature_sha256));
		}
		json_array_append_new(lines, json_pack("{s:i, s:s, s:s, s:o}", "seq", r->lines[i].seq,
		        "need", r->lines[i].any ? "any" : "all", "state", r->lines[i].state, "places", places));
	}
	json_object_set_new(j, "lines", lines);
	json_object_set_new(j, "mine", json_boolean(r->mine));
	if (r->document_csv)
		json_object_set_new(j, "document_csv", json_string(r->document_csv));
	return j;
}

/* POST /api/v1/signatures/{id}/{sign|approve|reject} with {"version", "password", "reason"}. */
static void api_act(struct web_ctx *c, const char *id, enum eng_sig_act_kind kind)
{
	if (!web_csrf_ok(c, web_header(c, "X-CSRF-Token")))
		return web_api_error(c, 403, "csrf", "missing or wrong X-CSRF-Token header");
	size_t len;
	char *body = web_body(c, 16384, &len);
	if (!body)
		return web_api_error(c, 413, "too_large", "the body is larger than 16 KiB");
	json_error_t jerr;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return web_api_error(c, 400, "invalid_json", "expected a JSON object {\"version\": N, ...}");
	}
	const char *k;
	json_t *v;
	const char *extra = NULL;
	json_object_foreach(j, k, v)
		if (strcmp(k, "version") != 0 && strcmp(k, "password") != 0 && strcmp(k, "reason") != 0 && !extra)
			extra = eng_arena_strdup(&c->arena, k);
	json_t *jv = json_object_get(j, "version"), *jp = json_object_get(j, "password");
	json_t *jr = json_object_get(j, "reason");
	struct eng_sig_act a = {.entity_id = c->srv->cfg.entity_id, .request_id = id,
	                        .by = c->session.principal_id, .kind = kind, .time_ms = web_now_ms(),
	                        .version = json_is_integer(jv) ? (int)json_integer_value(jv) : 0,
	                        .reason = json_is_string(jr) ? eng_arena_strdup(&c->arena, json_string_value(jr)) : NULL};
	const char *password = json_is_string(jp) ? eng_arena_strdup(&c->arena, json_string_value(jp)) : NULL;
	bool bad_types = (jv && !json_is_integer(jv)) || (jp && !json_is_string(jp)) || (jr && !json_is_string(jr));
	json_decref(j);
	if (extra)
		return web_api_error(c, 400, "bad_request", eng_arena_printf(&c->arena, "unknown member '%s': expected "
		                     "\"version\", \"password\" (to sign or approve) and \"reason\" (to reject)", extra));
	if (bad_types)
		return web_api_error(c, 400, "bad_request", "version must be a number, password and reason strings");
	struct eng_sig_request r;
	struct eng_error err = {0};
	int rc = eng_signature_get(c->store, &c->arena, a.entity_id, id, a.by, a.time_ms, &r, &err);
	rc = web_signature_scope(c, id, &r, rc); /* issue 5: the employee's units and roles */
	if (rc == ENG_ENOTFOUND)
		return web_api_error(c, 404, "not_found", "no such signature request");
	if (rc)
		return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
	if (!r.mine || (kind != ENG_SIG_REJECT && !place_of_kind(&r, kind)))
		return web_api_error(c, 403, "forbidden", "you hold no pending place of this kind on the current line");
	unsigned char *der = NULL;
	size_t der_len = 0;
	if (kind == ENG_SIG_SIGN) {
		const char *why = password_check(c, password);
		if (!why)
			why = sign_document(c, &r, &a, &der, &der_len);
		if (why) {
			free(der);
			return web_api_error(c, 422, "invalid_form", why);
		}
	}
	struct eng_sig_result res;
	rc = eng_signature_act(c->store, &c->arena, &a, cat_catalog_lookup, (void *)c->srv->catalog,
	                       &res, &err);
	free(der);
	if (rc == ENG_EDENIED)
		return web_api_error(c, 403, "forbidden", err.msg);
	if (rc == ENG_ECONFLICT)
		return web_api_error(c, 409, "conflict", err.msg);
	if (rc == ENG_EINVALID)
		return web_api_error(c, 422, "invalid_form", err.msg);
	if (rc)
		return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
	rc = eng_signature_get(c->store, &c->arena, a.entity_id, id, a.by, web_now_ms(), &r, &err);
	if (rc)
		return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
	web_api_send(c, 200, request_json(&r));
}

void web_route_api_signatures(struct web_ctx *c, const char *rest)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD, post = m == EVHTTP_REQ_POST;
	web_session_load(c);
	const char *id = NULL, *act = NULL;
	char idbuf[40];
	if (*rest) {
		const char *slash = strchr(rest + 1, '/');
		size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
		if (rest[0] != '/' || n != 36)
			return web_api_error(c, 404, "not_found", "no such signature request");
		memcpy(idbuf, rest + 1, n);
		idbuf[n] = '\0';
		id = idbuf;
		act = slash ? slash + 1 : NULL;
		if (!eng_uuid_valid(id) || (act && strcmp(act, "sign") != 0 && strcmp(act, "approve") != 0 &&
		                            strcmp(act, "reject") != 0))
			return web_api_error(c, 404, "not_found", "no such signature request or act");
	}
	if ((act && !post) || (!act && !get))
		return web_api_error(c, 405, "method_not_allowed", act ? "use POST" : "use GET");
	if (!c->signed_in)
		return web_api_error(c, 401, "unauthenticated", "sign in first: this call needs a session cookie");
	if (strcmp(c->session.principal_kind, "employee") != 0)
		return web_api_error(c, 403, "forbidden", "the portasignatures is for employees");
	struct eng_error err = {0};
	if (sweep(c) != 0)
		return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
	if (act)
		return api_act(c, id, strcmp(act, "sign") == 0 ? ENG_SIG_SIGN
		                      : strcmp(act, "approve") == 0 ? ENG_SIG_APPROVE : ENG_SIG_REJECT);
	if (id) {
		struct eng_sig_request r;
		int rc = eng_signature_get(c->store, &c->arena, c->srv->cfg.entity_id, id,
		                           c->session.principal_id, web_now_ms(), &r, &err);
		rc = web_signature_scope(c, id, &r, rc); /* issue 5: the employee's units and roles */
		if (rc == ENG_ENOTFOUND)
			return web_api_error(c, 404, "not_found", "no such signature request");
		if (rc)
			return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
		return web_api_send(c, 200, request_json(&r));
	}
	struct eng_sig_request *pending, *done;
	size_t n_pending, n_done;
	if (eng_signature_inbox(c->store, &c->arena, c->srv->cfg.entity_id, c->session.principal_id,
	                        web_now_ms(), &pending, &n_pending, &done, &n_done, &err) != 0)
		return web_api_error(c, 503, "unavailable", "the database is unavailable; try again later");
	json_t *jp = json_array(), *jd = json_array();
	for (size_t i = 0; i < n_pending; i++)
		json_array_append_new(jp, summary_json(&pending[i]));
	for (size_t i = 0; i < n_done; i++)
		json_array_append_new(jd, summary_json(&done[i]));
	web_api_send(c, 200, json_pack("{s:o, s:o}", "pending", jp, "done", jd));
}
