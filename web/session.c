/* Sessions and sign-in. The session token lives in an HttpOnly, SameSite cookie; only its
 * hash is stored. Every state-changing form carries the session's CSRF token, compared in
 * constant time. Demo sign-in exists only when the server runs in demo mode; employees sign
 * in with a password (rate-limited in the database), and a trusted reverse proxy may name the
 * person in a header; under TLS, a client certificate signs in a citizen, a company's
 * representative or an employee (certificate_sign_in). Every sign-in gets a new token and
 * ends the session it replaces, and records how the person signed in. */
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/core/validate.h"
#include "engine/runtime/mandates.h"
#include "engine/runtime/portafirmas.h"
#include "engine/runtime/visibility.h"
#include "internal.h"

enum { SESSION_IDLE = 30 * 60, SESSION_ABSOLUTE = 12 * 3600 };

/* After 5 failures for a username, or 20 from one address, within 15 minutes, sign-in is
 * refused until the oldest of them is 15 minutes old. */
static const struct eng_signin_limits signin_limits = {15 * 60, 5, 20};

/* Whom a citizen acts for, read with the session: kept only while their certificate's company
 * or a mandate in force today covers it; once it lapses (expired, revoked) the session falls
 * back to the person themselves, so access ends with the mandate. */
static void acting_load(struct web_ctx *c, const char *token)
{
	const struct eng_session *q = &c->session;
	c->signin_method = q->method;
	c->cert_company = q->cert_company;
	if (q->acting_as && q->acting_scope) {
		c->acting_for = q->acting_as;
		c->acting_name = q->acting_name;
		c->acting_scope = q->acting_scope;
	} else if (q->acting_as) {
		struct eng_error err;
		eng_session_acting_set(c->store, token, NULL, &err);
	}
}

static void session_use(struct web_ctx *c, const char *token)
{
	struct eng_error err;
	if (eng_store_session_get(c->store, &c->arena, token, SESSION_IDLE, &c->session, &err))
		return;
	if (strcmp(c->session.entity_id, c->srv->cfg.entity_id) != 0)
		return;
	if (!c->session.name)
		return; /* the person or employee was removed */
	c->display_name = c->session.name;
	c->signed_in = true;
	c->session_token = eng_arena_strdup(&c->arena, token);
	if (strcmp(c->session.principal_kind, "employee") == 0)
		c->employee = (struct eng_employee_view){c->session.principal_id, c->session.name,
		                                         c->session.roles, c->session.n_roles};
	else
		acting_load(c, token);
}

/* Rotation: a sign-in always gets a new token; the session whose cookie came with the
 * request, if any, ends. Writes the token and sets the cookie; 0 or -1. */
static int session_start(struct web_ctx *c, const char *kind, const char *principal,
                         const char *method, const char *company, char token[64])
{
	const char *old = web_cookie(c, "sid");
	if (old)
		eng_store_session_delete(c->store, old, NULL);
	char csrf[64];
	struct eng_error err;
	if (eng_store_session_create(c->store, token, csrf, c->srv->cfg.entity_id, kind, principal,
	                             SESSION_ABSOLUTE, &err) != 0)
		return -1;
	if (eng_session_mark(c->store, token, method, company, &err) != 0) {
		eng_store_session_delete(c->store, token, NULL);
		return -1;
	}
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "sid=%s; Path=/; HttpOnly; SameSite=Lax%s", token,
	                                   web_cookie_secure(c)));
	return 0;
}

static bool proxy_trusted(const char *list, const char *client)
{
	size_t n = strlen(client);
	for (const char *p = list; *p;) {
		p += strspn(p, " ,");
		size_t len = strcspn(p, ","), end = len;
		while (end && p[end - 1] == ' ')
			end--;
		if (n && end == n && memcmp(p, client, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Trusted-header mode: the reverse proxy authenticated the person and names them in a
 * header on every request. Believed only from the proxy's own addresses; anyone else could
 * send the same header. */
static void trusted_sign_in(struct web_ctx *c)
{
	const struct web_config *cfg = &c->srv->cfg;
	if (!cfg->trusted_header || !cfg->trusted_proxies)
		return;
	const char *who = web_header(c, cfg->trusted_header);
	if (!who)
		return;
	if (!proxy_trusted(cfg->trusted_proxies, c->client)) {
		/* Logged once: a client probing with the header must not flood the log. */
		static atomic_flag logged = ATOMIC_FLAG_INIT;
		if (!atomic_flag_test_and_set(&logged))
			fprintf(stderr, "tramit: ignoring the %s header from %s, which is not in "
			                "TRAMIT_TRUSTED_PROXY (further ones are ignored silently)\n",
			        cfg->trusted_header, c->client);
		return;
	}
	bool employee = strncmp(who, "employee:", 9) == 0;
	const char *kind = employee ? "employee" : "citizen", *principal = employee ? who + 9 : who;
	if (c->signed_in && strcmp(c->session.principal_kind, kind) == 0 &&
	    strcmp(c->session.principal_id, principal) == 0) {
		c->via_proxy = true;
		return;
	}
	/* The proxy's word overrides the cookie: whatever session the cookie carried belongs to
	 * someone else now, and if the person named cannot sign in, nobody is signed in. */
	c->signed_in = false;
	c->display_name = NULL;
	c->session = (struct eng_session){0};
	c->employee = (struct eng_employee_view){0};
	struct eng_error err;
	if (employee) {
		struct eng_employee_view e;
		int rc = eng_store_employee_get(c->store, &c->arena, cfg->entity_id, principal, &e, &err);
		if (rc == ENG_ENOTFOUND)
			fprintf(stderr, "tramit: the %s header from %s names an employee unknown in entity "
			                "%s; add them with `tramit employee add`\n", cfg->trusted_header,
			        c->client, cfg->entity_id);
		if (rc)
			return;
	} else if (!eng_nif_valid(principal)) {
		fprintf(stderr, "tramit: the %s header from %s holds neither a valid NIF nor "
		                "employee:USERNAME\n", cfg->trusted_header, c->client);
		return;
	} else if (eng_store_person_ensure(c->store, cfg->entity_id, principal, &err) != 0) {
		return;
	}
	char token[64];
	if (session_start(c, kind, principal, "proxy", NULL, token) == 0) {
		session_use(c, token);
		c->via_proxy = c->signed_in;
	}
}

void web_session_load(struct web_ctx *c)
{
	if (c->session_loaded)
		return;
	c->session_loaded = true;
	const char *token = web_cookie(c, "sid");
	if (token && strlen(token) == 43)
		session_use(c, token);
	trusted_sign_in(c);
}

bool web_csrf_ok(struct web_ctx *c, const char *token)
{
	if (!c->signed_in || !token)
		return false;
	size_t n = strlen(c->session.csrf);
	return strlen(token) == n && CRYPTO_memcmp(token, c->session.csrf, n) == 0;
}

bool web_only_fields(struct web_ctx *c, const struct eng_value *v, size_t n,
                     const char *const *fields)
{
	for (size_t i = 0; i < n; i++) {
		const char *const *f = fields;
		while (*f && strcmp(*f, v[i].name) != 0)
			f++;
		if (*f)
			continue;
		web_page_begin(c, web_t(c, "err.badrequest.title"));
		web_printf(c, "<h1>%s</h1><p id=\"error\">%s «", web_t(c, "err.badrequest.title"),
		           web_t(c, "err.unknownfield"));
		web_html(c, v[i].name);
		web_printf(c, "».</p>");
		web_page_end(c);
		web_send(c, 400, "text/html; charset=utf-8");
		return false;
	}
	return true;
}

bool web_post_fields(struct web_ctx *c, size_t max, const char *const *fields, struct eng_value **v,
                     size_t *n)
{
	return web_post_form(c, max, v, n) && web_only_fields(c, *v, *n, fields);
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
	/* Not signed in (a signed back-office callback): the system acts on any expedient. A
	 * citizen acting for someone acts on that party's expedients, not their own. */
	const char *kind = c->session.principal_kind;
	return kind && strcmp(kind, "citizen") == 0 ? web_party(c) : NULL;
}

static bool is_employee(const struct web_ctx *c)
{
	return c->signed_in && c->session.principal_kind && strcmp(c->session.principal_kind, "employee") == 0;
}

/* Issue 5: an employee sees the tràmits of their units and those whose actions name a role
 * they hold (visibility.h); the grants come with the session, so deciding costs no query.
 * A tràmit is judged by its current definition, the one the inbox lists it under. */
bool web_employee_sees(struct web_ctx *c, const char *tramit_code)
{
	return eng_grants_see(cat_catalog_by_code(c->srv->catalog, tramit_code),
	                      c->employee.roles, c->employee.n_roles);
}

const char **web_employee_tramits(struct web_ctx *c, size_t *n)
{
	*n = 0;
	if (!is_employee(c))
		return NULL;
	const struct cat_catalog *cat = c->srv->catalog;
	const char **codes = eng_arena_alloc(&c->arena, sizeof(*codes) * (cat_catalog_count(cat) + 1));
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		if (eng_grants_see(d, c->employee.roles, c->employee.n_roles))
			codes[(*n)++] = d->code;
	}
	return codes;
}

int web_expedient_visible(struct web_ctx *c, const char *id, struct eng_expedient_view *x)
{
	struct eng_error err;
	int rc = eng_store_expedient_get(c->store, &c->arena, c->srv->cfg.entity_id, id, x, &err);
	const char *only = web_applicant_only(c);
	if (rc == 0 && only && strcmp(x->applicant_nif, only) != 0)
		rc = ENG_ENOTFOUND; /* another person's expedient: as if it did not exist */
	if (rc == 0 && only && !web_mandate_covers(c, x->tramit_code))
		rc = ENG_ENOTFOUND; /* the party's, but no mandate covers its tràmit today */
	if (rc == 0 && is_employee(c) && !web_employee_sees(c, x->tramit_code))
		rc = ENG_ENOTFOUND; /* outside the employee's units and roles: as if it did not exist */
	return rc;
}

int web_expedient_refusal(struct web_ctx *c, const char *id, int rc)
{
	/* Only refusals are looked at again, so an action that succeeds costs nothing more. */
	if ((rc != ENG_EDENIED && rc != ENG_ECONFLICT) || !is_employee(c))
		return rc;
	struct eng_expedient_view x;
	return web_expedient_visible(c, id, &x) == ENG_ENOTFOUND ? ENG_ENOTFOUND : rc;
}

int web_signature_scope(struct web_ctx *c, const char *id, const struct eng_sig_request *r, int rc)
{
	struct eng_sig_request loaded;
	struct eng_error err;
	if (!r && rc == 0) {
		rc = eng_signature_get(c->store, &c->arena, c->srv->cfg.entity_id, id, c->session.principal_id,
		                       web_now_ms(), &loaded, &err);
		r = &loaded;
	}
	if (rc || !is_employee(c) || r->mine || web_employee_sees(c, r->tramit_code))
		return rc;
	/* A signer reads what they are asked to sign, and what they signed, whatever its unit. */
	for (size_t i = 0; i < r->n_signers; i++)
		if (r->signers[i].mine ||
		    (r->signers[i].acted_by && strcmp(r->signers[i].acted_by, c->session.principal_id) == 0))
			return 0;
	return ENG_ENOTFOUND;
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

/* The sign-in page: the demo buttons in demo mode, and the employees' password form always.
 * error (may be NULL) is shown above the forms. */
static void login_page(struct web_ctx *c, int status, const char *next, const char *username,
                       const char *error)
{
	/* Double-submit token: the sign-in forms have no session yet to carry a CSRF token. */
	const char *tok = web_random_hex(c, 16);
	if (!tok)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "lcsrf=%s; Path=/login; HttpOnly; SameSite=Strict%s", tok,
	                                   web_cookie_secure(c)));
	web_page_begin(c, web_t(c, "signin.title"));
	web_printf(c, "<h1>%s</h1>", web_t(c, "signin.title"));
	if (error) {
		web_printf(c, "<p class=\"error\" role=\"alert\" id=\"signin-error\">");
		web_html(c, error);
		web_printf(c, "</p>");
	}
	if (c->srv->cfg.demo) {
		web_printf(c, "<p>%s</p>", web_t(c, "signin.demo"));
		static const char *const who[] = {"citizen", "employee", "employee-padro"};
		static const char *const label[] = {"signin.citizen", "signin.employee", "signin.employee.padro"};
		for (int i = 0; i < 3; i++) {
			web_printf(c, "<form method=\"post\" action=\"/login\" class=\"field\">"
			              "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
			              "<input type=\"hidden\" name=\"who\" value=\"%s\">"
			              "<input type=\"hidden\" name=\"next\" value=\"", tok, who[i]);
			web_attr(c, next ? next : "");
			web_printf(c, "\"><button type=\"submit\" id=\"signin-%s\">%s</button></form>", who[i],
			           web_t(c, label[i]));
		}
	} else if (!web_tls_client_ca(c)) {
		web_printf(c, "<p>%s</p>", web_t(c, "signin.unavailable"));
	}
	if (web_tls_client_ca(c)) {
		web_printf(c, "<h2>%s</h2><p><a id=\"signin-certificate-link\" href=\"/login/certificate?next=",
		           web_t(c, "signin.cert.title"));
		web_attr(c, web_url_encode(c, next ? next : ""));
		web_printf(c, "\">%s</a></p>", web_t(c, "signin.cert.link"));
	}
	web_printf(c, "<h2>%s</h2><form method=\"post\" action=\"/login\">"
	              "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	              "<input type=\"hidden\" name=\"next\" value=\"", web_t(c, "signin.staff"), tok);
	web_attr(c, next ? next : "");
	web_printf(c, "\"><div class=\"field\"><label for=\"username\">%s</label>"
	              "<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" "
	              "autocapitalize=\"none\" required value=\"", web_t(c, "signin.username"));
	web_attr(c, username ? username : "");
	web_printf(c, "\"></div><div class=\"field\"><label for=\"password\">%s</label>"
	              "<input type=\"password\" id=\"password\" name=\"password\" "
	              "autocomplete=\"current-password\" required></div>"
	              "<button type=\"submit\" id=\"signin-password\">%s</button></form>",
	           web_t(c, "signin.password"), web_t(c, "signin.submit"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

static void signed_in(struct web_ctx *c, const char *kind, const char *principal, const char *next,
                      const char *method, const char *company)
{
	char token[64];
	if (session_start(c, kind, principal, method, company, token) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  "lcsrf=; Path=/login; Max-Age=0");
	web_redirect(c, safe_next(next, strcmp(kind, "citizen") == 0 ? "/carpeta" : "/backoffice"));
}

/* An employee's password sign-in. Unknown usernames, employees without a password and wrong
 * passwords get the same answer after the same work. Neither the password nor its hash is
 * ever logged. */
static void password_sign_in(struct web_ctx *c, const char *username, const char *password,
                             const char *next)
{
	const char *entity = c->srv->cfg.entity_id;
	/* Failures are recorded under the name typed; an absurdly long one still counts
	 * against the address. */
	const char *key = strlen(username) <= 64 ? username : "";
	const char *until = NULL, *hash = NULL;
	struct eng_error err;
	if (eng_store_signin_blocked(c->store, &c->arena, entity, key, c->client, &signin_limits,
	                             &until, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	if (until)
		return login_page(c, 429, next, username,
		                  eng_arena_printf(&c->arena, "%s %s.", web_t(c, "signin.limited"), until));
	int rc = *key ? eng_store_employee_password_get(c->store, &c->arena, entity, key, &hash, &err)
	              : ENG_ENOTFOUND;
	if (rc != 0 && rc != ENG_ENOTFOUND)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	if (!eng_password_verify(rc == 0 ? hash : NULL, password)) {
		/* Without the record the limit would not hold: refuse rather than go on. */
		if (eng_store_signin_failed(c->store, entity, key, c->client, &err) != 0)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		return login_page(c, 401, next, username, web_t(c, "signin.wrong"));
	}
	if (eng_store_signin_succeeded(c->store, entity, key, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	signed_in(c, "employee", key, next, "password", NULL);
}

void web_route_login(struct web_ctx *c)
{
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return login_page(c, 200, web_query_get(c, "next"), NULL, NULL);
	size_t len;
	char *body = web_body(c, 4096, &len);
	struct eng_value *v;
	size_t n;
	if (!body)
		return web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
	if (web_parse_form(c, body, len, &v, &n) != 0)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	static const char *const fields[] = {"csrf", "next", "who", "username", "password", NULL};
	if (!web_only_fields(c, v, n, fields))
		return;
	const char *tok = eng_values_get(v, n, "csrf"), *cookie = web_cookie(c, "lcsrf");
	if (!tok || !cookie || strlen(tok) != strlen(cookie) ||
	    CRYPTO_memcmp(tok, cookie, strlen(tok)) != 0)
		return web_error_page(c, 403, "err.csrf.title", "err.csrf");
	const char *next = eng_values_get(v, n, "next"), *username = eng_values_get(v, n, "username");
	if (username) {
		const char *password = eng_values_get(v, n, "password");
		return password_sign_in(c, username, password ? password : "", next);
	}
	const char *who = eng_values_get(v, n, "who");
	if (!c->srv->cfg.demo || !who)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	if (strcmp(who, "citizen") == 0)
		return signed_in(c, "citizen", "12345678Z", next, "demo", NULL);
	if (strcmp(who, "employee") == 0)
		return signed_in(c, "employee", "demo.empleat", next, "demo", NULL);
	if (strcmp(who, "employee-padro") == 0)
		return signed_in(c, "employee", "demo.padro", next, "demo", NULL);
	web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
}

void web_route_logout(struct web_ctx *c)
{
	struct eng_value *v;
	size_t n;
	static const char *const none[] = {NULL};
	if (!web_post_fields(c, 4096, none, &v, &n))
		return;
	eng_store_session_delete(c->store, web_cookie(c, "sid"), NULL);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s",
	                                   web_cookie_secure(c)));
	web_redirect(c, "/");
}

void web_route_lang(struct web_ctx *c)
{
	const char *to = web_query_get(c, "to");
	if (!to || (strcmp(to, "ca") != 0 && strcmp(to, "es") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "lang=%s; Path=/; Max-Age=31536000; SameSite=Lax%s", to,
	                                   web_cookie_secure(c)));
	web_redirect(c, safe_next(web_query_get(c, "next"), "/"));
}

/* --- certificate sign-in --- */

const char *web_cookie_secure(const struct web_ctx *c)
{
	return web_tls_on(c) ? "; Secure" : "";
}

/* The page of /login/certificate: who the person signs in as, and why a sign-in was refused
 * (error_key, may be NULL). */
static void certificate_page(struct web_ctx *c, int status, const char *next, const char *error_key)
{
	const char *tok = web_random_hex(c, 16);
	if (!tok)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, "lcsrf=%s; Path=/login; HttpOnly; SameSite=Strict%s",
	                                   tok, web_cookie_secure(c)));
	web_page_begin(c, web_t(c, "signin.cert.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "signin.cert.title"), web_t(c, "signin.cert.intro"));
	if (error_key)
		web_printf(c, "<p class=\"error\" role=\"alert\" id=\"signin-error\">%s</p>", web_t(c, error_key));
	web_printf(c, "<form method=\"post\" action=\"/login/certificate\">"
	              "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"next\" "
	              "value=\"", tok);
	web_attr(c, next ? next : "");
	web_printf(c, "\"><fieldset class=\"field\"><legend>%s</legend>"
	              "<label><input type=\"radio\" name=\"who\" value=\"citizen\" id=\"who-citizen\" checked> %s</label>"
	              "<label><input type=\"radio\" name=\"who\" value=\"employee\" id=\"who-employee\"> %s</label>"
	              "</fieldset><button type=\"submit\" id=\"signin-certificate\">%s</button></form>",
	           web_t(c, "signin.cert.as"), web_t(c, "signin.cert.citizen"),
	           web_t(c, "signin.cert.employee"), web_t(c, "signin.cert.submit"));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

/* The identifier after an ETSI EN 319 412-1 prefix ("IDCES-", "VATES-"), upper-cased
 * (arena); a bare identifier as it is. */
static const char *etsi_id(struct web_ctx *c, const char *v, const char *const *prefixes)
{
	if (!v)
		return NULL;
	for (const char *const *p = prefixes; *p; p++)
		if (strncasecmp(v, *p, strlen(*p)) == 0) {
			v += strlen(*p);
			break;
		}
	char *out = eng_arena_strdup(&c->arena, v);
	for (char *q = out; *q; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 'a' + 'A');
	return out;
}

static const char *verdict_key(int verdict)
{
	switch (verdict) {
	case WEB_CERT_NONE: return "signin.cert.none";
	case WEB_CERT_EXPIRED: return "signin.cert.expired";
	case WEB_CERT_NOT_YET_VALID: return "signin.cert.notyet";
	case WEB_CERT_REVOKED: return "signin.cert.revoked";
	case WEB_CERT_UNKNOWN_CA: return "signin.cert.unknown_ca";
	default: return "signin.cert.invalid";
	}
}

/* Signs in the holder of the verified client certificate: a citizen by the NIF in the
 * subject's serialNumber, marking the company of a representative's certificate
 * (organizationIdentifier) as the party they act for; or the employee linked to that NIF. */
static void certificate_sign_in(struct web_ctx *c, const char *who, const char *next)
{
	struct web_peer_cert pc;
	int verdict = web_tls_peer(c, &pc);
	if (verdict != WEB_CERT_OK)
		return certificate_page(c, verdict == WEB_CERT_NONE ? 401 : 403, next, verdict_key(verdict));
	static const char *const person_prefixes[] = {"IDCES-", "TINES-", NULL};
	static const char *const company_prefixes[] = {"VATES-", "NTRES-", NULL};
	const char *nif = etsi_id(c, pc.serial_number, person_prefixes);
	if (!nif || !(eng_dni_valid(nif) || eng_nie_valid(nif)))
		return certificate_page(c, 403, next, "signin.cert.nonif");
	const char *company = etsi_id(c, pc.org_identifier, company_prefixes);
	if (company && !eng_cif_valid(company))
		return certificate_page(c, 403, next, "signin.cert.badorg");
	const char *entity = c->srv->cfg.entity_id;
	struct eng_error err;
	if (strcmp(who, "employee") == 0) {
		const char *username = NULL;
		int rc = eng_employee_by_nif(c->store, &c->arena, entity, nif, &username, &err);
		if (rc == ENG_ENOTFOUND)
			return certificate_page(c, 403, next, "signin.cert.noemployee");
		if (rc)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		return signed_in(c, "employee", username, next, "certificate", NULL);
	}
	const char *name = pc.given_name && pc.surname
	                   ? eng_arena_printf(&c->arena, "%s %s", pc.given_name, pc.surname)
	                   : pc.common_name;
	if (eng_person_name(c->store, entity, nif, name, &err) != 0 ||
	    (company && eng_person_name(c->store, entity, company, pc.organization, &err) != 0))
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	signed_in(c, "citizen", nif, next, "certificate", company);
}

void web_route_login_certificate(struct web_ctx *c)
{
	if (!web_tls_client_ca(c))
		return web_error_page(c, 404, "signin.cert.title", "signin.cert.off");
	if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
		return certificate_page(c, 200, web_query_get(c, "next"), NULL);
	size_t len;
	char *body = web_body(c, 4096, &len);
	struct eng_value *v;
	size_t n;
	if (!body)
		return web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
	if (web_parse_form(c, body, len, &v, &n) != 0)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	static const char *const fields[] = {"csrf", "next", "who", NULL};
	if (!web_only_fields(c, v, n, fields))
		return;
	const char *tok = eng_values_get(v, n, "csrf"), *cookie = web_cookie(c, "lcsrf");
	if (!tok || !cookie || strlen(tok) != strlen(cookie) ||
	    CRYPTO_memcmp(tok, cookie, strlen(tok)) != 0)
		return web_error_page(c, 403, "err.csrf.title", "err.csrf");
	const char *who = eng_values_get(v, n, "who");
	if (!who || (strcmp(who, "citizen") != 0 && strcmp(who, "employee") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "signin.cert.who");
	certificate_sign_in(c, who, eng_values_get(v, n, "next"));
}
