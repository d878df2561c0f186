/* Sessions and sign-in. The session token lives in an HttpOnly, SameSite cookie; only its
 * hash is stored. Every state-changing form carries the session's CSRF token, compared in
 * constant time. Demo sign-in exists only when the server runs in demo mode. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum { SESSION_IDLE = 30 * 60, SESSION_ABSOLUTE = 12 * 3600 };

void web_session_load(struct web_ctx *c)
{
	const char *token = web_cookie(c, "sid");
	if (!token || strlen(token) != 43)
		return;
	struct eng_error err;
	if (eng_store_session_get(c->store, &c->arena, token, SESSION_IDLE, &c->session, &err))
		return;
	if (strcmp(c->session.entity_id, c->srv->cfg.entity_id) != 0)
		return;
	if (!c->session.name)
		return; /* the person or employee was removed */
	c->display_name = c->session.name;
	c->signed_in = true;
	if (strcmp(c->session.principal_kind, "employee") == 0)
		c->employee = (struct eng_employee_view){c->session.principal_id, c->session.name,
		                                         c->session.roles, c->session.n_roles};
}

bool web_csrf_ok(struct web_ctx *c, const char *token)
{
	if (!c->signed_in || !token)
		return false;
	size_t n = strlen(c->session.csrf);
	return strlen(token) == n && CRYPTO_memcmp(token, c->session.csrf, n) == 0;
}

bool web_post_form(struct web_ctx *c, size_t max, struct eng_value **v, size_t *n)
{
	size_t len;
	char *body = web_body(c, max, &len);
	if (!body) {
		web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
		return false;
	}
	if (web_parse_form(c, body, len, v, n) != 0) {
		web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
		return false;
	}
	if (!web_csrf_ok(c, eng_values_get(*v, *n, "csrf"))) {
		web_error_page(c, 403, "err.csrf.title", "err.csrf");
		return false;
	}
	/* The token is transport, not form data. */
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, "csrf") != 0)
			(*v)[k++] = (*v)[i];
	*n = k;
	return true;
}

/* Only local absolute paths may be redirect targets (no open redirects). */
static const char *safe_next(const char *next, const char *fallback)
{
	/* Browsers drop tabs and newlines from URLs and read '\\' as '/': any control byte or
	 * backslash could turn "/\t/host" into "//host", another site. */
	if (!next || next[0] != '/' || next[1] == '/')
		return fallback;
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return fallback;
	return next;
}

const char *web_applicant_only(struct web_ctx *c)
{
	/* Not signed in (a signed back-office callback): the system acts on any expedient. */
	const char *kind = c->session.principal_kind;
	return kind && strcmp(kind, "citizen") == 0 ? c->session.principal_id : NULL;
}

int web_expedient_visible(struct web_ctx *c, const char *id, struct eng_expedient_view *x)
{
	struct eng_error err;
	int rc = eng_store_expedient_get(c->store, &c->arena, c->srv->cfg.entity_id, id, x, &err);
	const char *only = web_applicant_only(c);
	if (rc == 0 && only && strcmp(x->applicant_nif, only) != 0)
		rc = ENG_ENOTFOUND; /* another person's expedient: as if it did not exist */
	return rc;
}

bool web_require(struct web_ctx *c, const char *kind)
{
	if (!c->signed_in) {
		const char *here = eng_arena_printf(&c->arena, "%s%s%s", c->path, c->query ? "?" : "",
		                                    c->query ? c->query : "");
		web_redirect(c, eng_arena_printf(&c->arena, "/login?next=%s", web_url_encode(c, here)));
		return false;
	}
	if (strcmp(c->session.principal_kind, kind) != 0) {
		web_error_page(c, 403, "err.denied.title", "err.denied");
		return false;
	}
	return true;
}

static void login_page(struct web_ctx *c, const char *next)
{
	web_page_begin(c, web_t(c, "signin.title"));
	web_printf(c, "<h1>%s</h1>", web_t(c, "signin.title"));
	if (!c->srv->cfg.demo) {
		web_printf(c, "<p>%s</p>", web_t(c, "signin.unavailable"));
		web_page_end(c);
		web_send(c, 200, "text/html; charset=utf-8");
		return;
	}
	/* Double-submit token: the sign-in form has no session yet to carry a CSRF token. */
	unsigned char raw[16];
	char tok[33];
	RAND_bytes(raw, sizeof(raw));
	for (int i = 0; i < 16; i++)
		snprintf(tok + 2 * i, 3, "%02x", raw[i]);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "lcsrf=%s; Path=/login; HttpOnly; SameSite=Strict", tok));
	web_printf(c, "<p>%s</p>", web_t(c, "signin.demo"));
	static const char *const who[] = {"citizen", "employee"};
	for (int i = 0; i < 2; i++) {
		web_printf(c, "<form method=\"post\" action=\"/login\" class=\"field\">"
		              "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		              "<input type=\"hidden\" name=\"who\" value=\"%s\">"
		              "<input type=\"hidden\" name=\"next\" value=\"", tok, who[i]);
		web_attr(c, next ? next : "");
		web_printf(c, "\"><button type=\"submit\" id=\"signin-%s\">%s</button></form>", who[i],
		           web_t(c, i == 0 ? "signin.citizen" : "signin.employee"));
	}
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

void web_route_login(struct web_ctx *c)
{
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return login_page(c, web_query_get(c, "next"));
	size_t len;
	char *body = web_body(c, 4096, &len);
	struct eng_value *v;
	size_t n;
	if (!c->srv->cfg.demo || !body || web_parse_form(c, body, len, &v, &n) != 0)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	const char *tok = eng_values_get(v, n, "csrf"), *cookie = web_cookie(c, "lcsrf");
	if (!tok || !cookie || strlen(tok) != strlen(cookie) ||
	    CRYPTO_memcmp(tok, cookie, strlen(tok)) != 0)
		return web_error_page(c, 403, "err.csrf.title", "err.csrf");
	const char *who = eng_values_get(v, n, "who");
	const char *kind, *principal;
	if (who && strcmp(who, "citizen") == 0) {
		kind = "citizen";
		principal = "12345678Z";
	} else if (who && strcmp(who, "employee") == 0) {
		kind = "employee";
		principal = "demo.empleat";
	} else {
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	}
	/* Rotation: a sign-in always gets a new token; the old session, if any, ends. */
	const char *old = web_cookie(c, "sid");
	if (old)
		eng_store_session_delete(c->store, old, NULL);
	char token[64], csrf[64];
	struct eng_error err;
	if (eng_store_session_create(c->store, token, csrf, c->srv->cfg.entity_id, kind,
	                             principal, SESSION_ABSOLUTE, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(h, "Set-Cookie",
	                  eng_arena_printf(&c->arena, "sid=%s; Path=/; HttpOnly; SameSite=Lax", token));
	evhttp_add_header(h, "Set-Cookie", "lcsrf=; Path=/login; Max-Age=0");
	const char *fallback = strcmp(kind, "citizen") == 0 ? "/carpeta" : "/backoffice";
	web_redirect(c, safe_next(eng_values_get(v, n, "next"), fallback));
}

void web_route_logout(struct web_ctx *c)
{
	struct eng_value *v;
	size_t n;
	if (!web_post_form(c, 4096, &v, &n))
		return;
	eng_store_session_delete(c->store, web_cookie(c, "sid"), NULL);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
	web_redirect(c, "/");
}

void web_route_lang(struct web_ctx *c)
{
	const char *to = web_query_get(c, "to");
	if (!to || (strcmp(to, "ca") != 0 && strcmp(to, "es") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "lang=%s; Path=/; Max-Age=31536000; SameSite=Lax", to));
	web_redirect(c, safe_next(web_query_get(c, "next"), "/"));
}
