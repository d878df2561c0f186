/* Every state-changing page and API route answers bad requests with a 4xx and a message a
 * person can act on, and changes nothing: an oversized body, a malformed form encoding (or
 * JSON), a field the form does not have, a wrong CSRF token, and an expedient id that names
 * nothing the requester may touch (test_authz tries another citizen's real expedient). The routes
 * include a correction of an application (page and API), filing at the counter (page and API)
 * the portasignatures (a rejection, page and API, and a delegation), drafts through the API and
 * decisions on registry exchanges. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"

static struct test_server srv;

static void setup(void)
{
	test_server_start(&srv, &test_server_behind_proxy);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(bad_requests, .init = setup, .fini = teardown, .timeout = 180);

static char *token_of(struct http_client *c, const char *page, const char *field)
{
	struct http_response r;
	http_get(c, page, &r);
	char after[64];
	snprintf(after, sizeof(after), "name=\"%s\" value=\"", field);
	char *tok = http_extract(r.body, after, '"');
	cr_assert_not_null(tok, "no CSRF token on %s (%ld)", page, r.status);
	http_response_free(&r);
	return tok;
}

/* Everything a bad request could have changed, as one line. */
static char *state(void)
{
	PGresult *r = PQexec(srv.conn, "SELECT (SELECT count(*) FROM expedient) || ' ' || (SELECT count(*) "
	                           "FROM event) || ' ' || (SELECT count(*) FROM outbox) || ' ' || "
	                           "(SELECT coalesce(sum(version), 0) FROM expedient) || ' ' || "
	                           "(SELECT count(*) FROM web_session) || ' ' || (SELECT count(*) FROM "
	                           "card_order) || ' ' || (SELECT count(*) FROM person WHERE "
	                           "notice_channel = 'sms') || ' ' || (SELECT count(*) FROM expedient_message) || ' ' || "
	                           "(SELECT count(*) FROM form_draft) || ' ' || (SELECT count(*) FROM web_session "
	                           "WHERE acting_as IS NOT NULL) || ' ' || (SELECT count(*) FROM notification WHERE "
	                           "state <> 'made_available') || ' ' || (SELECT count(*) FROM expedient WHERE "
	                           "assigned_to IS NOT NULL) || ' ' || (SELECT count(*) FROM counter_consent) || ' ' || "
	                           "(SELECT count(*) FROM person) || ' ' || (SELECT count(*) FROM registry_entry) || ' ' || "
	                           "(SELECT coalesce(sum(version), 0) || '/' || string_agg(state, ',') FROM signature_request) || "
	                           "' ' || (SELECT count(*) FROM signature_delegation) || ' ' || (SELECT count(*) FROM interchange_event)");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

enum kind { PAGE, API, API_PUT };

struct route {
	const char *name;
	enum kind kind;
	const char *path;       /* {id}: the expedient, when the route takes one */
	const char *good;       /* a valid body without the token ("" for none); JSON for the API */
	bool takes_id;
	const char *token;      /* the form's token field: NULL for "csrf" */
	const char *token_message; /* what a wrong token answers, when not the usual page */
	const char *notfound_message; /* what someone else's object answers, when not the usual page */
};

/* The four answers every page gives, in Valencian. */
static const char *const page_message[] = {
	"Les dades enviades superen la mida permesa.",
	"No hem pogut entendre les dades enviades.",
	"El formulari ha enviat un camp que no té: «zzz».",
	"Per seguretat, torneu a carregar la pàgina i envieu el formulari de nou.",
	"La pàgina que busqueu no existeix, o no hi teniu accés.",
};

static void post(struct http_client *c, const struct route *rt, const char *path, const char *body,
                 const char *csrf, struct http_response *r)
{
	if (rt->kind == API)
		http_post_json(c, path, body, csrf, r);
	else if (rt->kind == API_PUT)
		http_put_json(c, path, body, csrf, r);
	else
		http_post_form(c, path, body, r);
}

static void expect_refused(const struct route *rt, const char *what, struct http_response *r,
                           long status, const char *message, const char *before)
{
	cr_expect_eq(r->status, status, "%s, %s: %ld, not %ld: %.300s", rt->name, what, r->status,
	             status, r->body);
	cr_expect(strstr(r->body, message) != NULL, "%s, %s: «%s» not in %.2000s", rt->name, what,
	          message, r->body);
	char *after = state();
	cr_expect_str_eq(after, before, "%s, %s changed something", rt->name, what);
	free(after);
}

/* The binding notification the citizen's expedient gets in setup_notification, and the PAR-004
 * expedient waiting for the citizen's correction (setup_fixing). */
static char notification_id[40], fixing_id[40], request_id[40];

/* The route's path with {id} replaced by id, and {nid}, {fid} and {rid} by the notification's,
 * the expedient waiting for a correction's and the signature request's ids (or by id when id is
 * nobody's). */
static void fill(char *out, size_t cap, const char *tpl, const char *id)
{
	const char *at = strstr(tpl, "{id}"), *nat = strstr(tpl, "{nid}"), *fat = strstr(tpl, "{fid}");
	const char *rat = strstr(tpl, "{rid}");
	bool nobody = strncmp(id, "00000000-", 9) == 0;
	if (at)
		snprintf(out, cap, "%.*s%s%s", (int)(at - tpl), tpl, id, at + 4);
	else if (nat)
		snprintf(out, cap, "%.*s%s%s", (int)(nat - tpl), tpl, nobody ? id : notification_id, nat + 5);
	else if (fat)
		snprintf(out, cap, "%.*s%s%s", (int)(fat - tpl), tpl, nobody ? id : fixing_id, fat + 5);
	else if (rat)
		snprintf(out, cap, "%.*s%s%s", (int)(rat - tpl), tpl, nobody ? id : request_id, rat + 5);
	else
		snprintf(out, cap, "%s", tpl);
}

/* A one-line signature request on expedient id for the head of service (the demo employee holds
 * cap_servei), as a sending action writes it. */
static void setup_request(const char *id)
{
	char sql[1800];
	snprintf(sql, sizeof(sql),
	         "WITH d AS (INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, content, "
	         "created_at) VALUES ('demo', '%1$s', 'resolucio', 'CSV-BAD-REQUESTS', encode(sha256('%%PDF-1.4 r'), "
	         "'hex'), 'application/pdf', convert_to('%%PDF-1.4 r', 'UTF8'), now()) RETURNING id), "
	         "r AS (INSERT INTO signature_request (id, entity_id, expedient_id, event_seq, action, document, "
	         "effect_id, document_id, created_at, expires_at, remind_at) SELECT gen_random_uuid(), 'demo', '%1$s', "
	         "1, 'send', 'resolucio', 'sign_request:resolucio', d.id, now(), now() + interval '15 days', "
	         "now() + interval '5 days' FROM d RETURNING id), "
	         "l AS (INSERT INTO signature_line (request_id, seq, need, state) SELECT id, 1, 'all', 'active' FROM r), "
	         "s AS (INSERT INTO signature_signer (request_id, line_seq, pos, role, approve) "
	         "SELECT id, 1, 1, 'cap_servei', false FROM r) SELECT id FROM r", id);
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	snprintf(request_id, sizeof(request_id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* Waits until the effects of the set-up have been delivered (nothing pending in the outbox and
 * nothing changing), so that what a bad request could change is all that can change. */
static void settle(void)
{
	for (int i = 0; i < 100; i++) {
		char *a = state();
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
		char *b = state();
		PGresult *r = PQexec(srv.conn, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'claimed')");
		bool idle = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
		PQclear(r);
		bool same = strcmp(a, b) == 0;
		free(a);
		free(b);
		if (same && idle)
			return;
	}
	cr_assert_fail("the set-up's effects did not settle within 40 s");
}

/* A PAR-004 expedient of the citizen for which the employee has asked a correction. */
static void setup_fixing(struct http_client *employee, const char *ecsrf)
{
	char *id = http_citizen_files(srv.port, "PAR-004", "{\"form\": {\"nif_entitat\": \"G12345674\", "
	                              "\"nom_entitat\": \"Associació del Carme\", \"compte\": \"ES9121000418450200051332\", "
	                              "\"descripcio\": \"Festa\", \"pressupost\": \"5000\", \"import\": \"2500\", "
	                              "\"activitats.1.activitat\": \"Cercavila\", \"activitats.1.data\": \"2026-06-20\"}}");
	snprintf(fixing_id, sizeof(fixing_id), "%s", id);
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/request_fix", id);
	struct http_response r;
	http_post_json(employee, path, "{\"reason\": \"Falta la memòria del projecte.\"}", ecsrf, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_response_free(&r);
	free(id);
}

/* A binding notification waiting for the citizen on expedient id, as a notifying action
 * leaves it. */
static void setup_notification(const char *id)
{
	char sql[900];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO notification (entity_id, expedient_id, event_seq, recipient_nif, recipient_obliged, "
	         "template, effect_id, content, content_sha256, made_available_at, reject_at, last_day) VALUES "
	         "('demo', '%s', 1, '12345678Z', false, 'requeriment', 'notify:requeriment', 'Requeriment', "
	         "encode(sha256('Requeriment'), 'hex'), now(), now() + interval '10 days', "
	         "current_date + 10) RETURNING id", id);
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	snprintf(notification_id, sizeof(notification_id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static void try_route(const struct route *rt, struct http_client *c, const char *csrf,
                      const char *own_id)
{
	char path[300], other[300], body[600];
	fill(path, sizeof(path), rt->path, own_id);
	fill(other, sizeof(other), rt->path, "00000000-0000-4000-8000-000000000000");
	char *before = state();
	struct http_response r;
	bool api = rt->kind != PAGE;
	const char *field = rt->token ? rt->token : "csrf";

	/* 1. Oversized: 2 MiB, far above any form's limit, below the server's upload limit. */
	size_t big = 2u << 20;
	char *huge = malloc(big + 1);
	memset(huge, 'a', big);
	huge[big] = '\0';
	if (!api)
		memcpy(huge, "x=", 2);
	post(c, rt, path, huge, csrf, &r);
	free(huge);
	expect_refused(rt, "an oversized body", &r, 413, api ? "\"code\":\"too_large\"" : page_message[0], before);
	http_response_free(&r);

	/* 2. Malformed encoding. */
	if (api)
		snprintf(body, sizeof(body), "{\"form\": ");
	else
		snprintf(body, sizeof(body), "%s=%s&%s%sx=%%ZZ", field, csrf, rt->good, *rt->good ? "&" : "");
	post(c, rt, path, body, csrf, &r);
	expect_refused(rt, "a malformed body", &r, 400, api ? "\"code\":\"invalid_json\"" : page_message[1], before);
	http_response_free(&r);
	/* 2b. Bytes that are not UTF-8 (an escaped 0xC3 without its continuation). */
	if (api)
		snprintf(body, sizeof(body), "{\"form\": \"\xc3(\"}");
	else
		snprintf(body, sizeof(body), "%s=%s&%s%sx=%%C3%%28", field, csrf, rt->good, *rt->good ? "&" : "");
	post(c, rt, path, body, csrf, &r);
	expect_refused(rt, "a body that is not UTF-8", &r, 400, api ? "\"code\":\"invalid_json\"" : page_message[1],
	               before);
	http_response_free(&r);

	/* 3. A field the form does not have. */
	if (api)
		snprintf(body, sizeof(body), "%.*s%s\"zzz\": \"1\"}", (int)strlen(rt->good) - 1, rt->good,
		         strcmp(rt->good, "{}") == 0 ? "" : ", ");
	else
		snprintf(body, sizeof(body), "%s=%s&%s%szzz=1", field, csrf, rt->good, *rt->good ? "&" : "");
	post(c, rt, path, body, csrf, &r);
	/* The tràmit's form, a new application's or a correction's, is checked by the engine against
	 * its definition (422, the field named in the error summary); every other route, a draft's
	 * too, refuses the field itself (400). */
	bool form = rt->kind == PAGE && ((strncmp(rt->path, "/tramits/", 9) == 0 && strstr(rt->path, "/new")) ||
	                                 (strncmp(rt->path, "/carpeta/", 9) == 0 && strstr(rt->path, "/actions/")));
	expect_refused(rt, "an unknown field", &r, form ? 422 : 400,
	               api ? "\"code\":\"bad_request\",\"error\":\"unknown member 'zzz': "
	               : form ? "El formulari no té cap camp «zzz»." : page_message[2], before);
	http_response_free(&r);

	/* 4. A wrong CSRF token. */
	if (api)
		snprintf(body, sizeof(body), "%s", rt->good);
	else
		snprintf(body, sizeof(body), "%s=wrong&%s", field, rt->good);
	post(c, rt, path, body, "wrong", &r);
	expect_refused(rt, "a wrong CSRF token", &r, 403, api ? "\"code\":\"csrf\""
	               : rt->token_message ? rt->token_message : page_message[3], before);
	http_response_free(&r);

	/* 5. Someone else's (or nobody's) expedient. */
	if (rt->takes_id) {
		if (api)
			snprintf(body, sizeof(body), "%s", rt->good);
		else
			snprintf(body, sizeof(body), "%s=%s&%s", field, csrf, rt->good);
		post(c, rt, other, body, csrf, &r);
		expect_refused(rt, "someone else's expedient", &r, 404, api ? "\"code\":\"not_found\""
		               : rt->notfound_message ? rt->notfound_message : page_message[4], before);
		http_response_free(&r);
	}
	free(before);
}

Test(bad_requests, every_state_changing_route_refuses_and_explains)
{
	struct http_client *citizen = http_client_new(srv.port, "ca"), *employee = http_client_new(srv.port, "ca");
	http_client_header(citizen, "X-Remote-User: 12345678Z");
	http_client_header(employee, "X-Remote-User: employee:demo.empleat");
	char *ccsrf = token_of(citizen, "/tramits/GEN-001/new", "csrf"), *ecsrf = token_of(employee, "/backoffice", "csrf");
	char *id = http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Mala petició\", "
	                              "\"exposa\": \"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
	setup_notification(id);
	setup_fixing(employee, ecsrf);
	setup_request(id);
	settle();
	static const struct route citizen_routes[] = {
		{"the form", PAGE, "/tramits/GEN-001/new",
		 "assumpte=A&exposa=B&solicita=C&idioma=ca", false, NULL, NULL, NULL},
		{"saving a draft", PAGE, "/tramits/GEN-001/draft", "_action=draft&assumpte=A", false, NULL, NULL, NULL},
		{"saving a draft through the API", API_PUT, "/api/v1/drafts/GEN-001", "{\"answers\": {\"assumpte\": \"A\"}}",
		 false, NULL, NULL, NULL},
		{"acting for someone", PAGE, "/carpeta/representacio", "as=", false, NULL, NULL, NULL},
		{"opening a notification", PAGE, "/carpeta/notificacions/{nid}/open", "", true, NULL, NULL,
		 "Aquesta notificació no existeix o no és per a vosaltres."},
		{"correcting an application", PAGE, "/carpeta/expedients/{fid}/actions/fix",
		 "version=2&nif_entitat=G12345674&nom_entitat=Associaci%C3%B3&compte=ES9121000418450200051332"
		 "&descripcio=Festa&pressupost=5000&import=2500&activitats.1.activitat=Cercavila&activitats.1.data=2026-06-20",
		 true, NULL, NULL, NULL},
		{"correcting through the API", API, "/api/v1/expedients/{fid}/actions/fix",
		 "{\"version\": 2, \"form\": {\"descripcio\": \"Festa\"}}", true, NULL, NULL, NULL},
		{"sign-out", PAGE, "/logout", "", false, NULL, NULL, NULL},
		{"notice preferences", PAGE, "/carpeta/avisos", "channel=sms&phone=612345678", false, NULL, NULL, NULL},
		{"filing through the API", API, "/api/v1/tramits/GEN-001/expedients",
		 "{\"form\": {\"assumpte\": \"A\", \"exposa\": \"B\", \"solicita\": \"C\", \"idioma\": \"ca\"}}", false, NULL, NULL, NULL},
		{"a message from the Carpeta", PAGE, "/carpeta/expedients/{id}/messages",
		 "key=0123456789abcdef0123456789abcdef&message=Hola", true, NULL, NULL, NULL},
		{"a message through the API", API, "/api/v1/expedients/{id}/messages", "{\"message\": \"Hola\"}",
		 true, NULL, NULL, NULL},
	};
	static const struct route employee_routes[] = {
		{"an action in the back office", PAGE, "/backoffice/expedients/{id}/actions/resolve", "version=1", true, NULL, NULL, NULL},
		{"an action through the API", API, "/api/v1/expedients/{id}/actions/resolve", "{}", true, NULL, NULL, NULL},
		{"a note in the back office", PAGE, "/backoffice/expedients/{id}/messages",
		 "key=0123456789abcdef0123456789abcdef&internal=yes&message=Nota", true, NULL, NULL, NULL},
		{"an assignment in the back office", PAGE, "/backoffice/expedients/{id}/assign", "to=me", true,
		 NULL, NULL, NULL},
		{"rejecting a signature request", PAGE, "/backoffice/signatures/{rid}/reject",
		 "version=1&reason=Falta+l%27informe", true, NULL, NULL, NULL},
		{"rejecting a signature request through the API", API, "/api/v1/signatures/{rid}/reject",
		 "{\"version\": 1, \"reason\": \"Falta l'informe\"}", true, NULL, NULL, NULL},
		/* No exchange has this identifier: every check but the last fails on the body first. */
		{"deciding on a registry exchange", PAGE, "/backoffice/registry/exchanges/L01030149_26_00000001",
		 "decision=reject&reason=No+ens+correspon", true, NULL, NULL, NULL},
		{"a delegation of signatures", PAGE, "/backoffice/signatures/delegations",
		 "to=demo.cap&from=2026-12-01&until=2026-12-15", false, NULL, NULL, NULL},
		{"identifying a person at the counter", PAGE, "/backoffice/counter",
		 "_step=identify&counter%3Anif=45678901G&counter%3Aname=Joan+Nou&counter%3Alang=es&counter%3Atramit=GEN-001",
		 false, NULL, NULL, NULL},
		{"filing at the counter through the API", API, "/api/v1/counter/expedients",
		 "{\"tramit\": \"GEN-001\", \"form\": {\"assumpte\": \"A\", \"exposa\": \"B\", \"solicita\": \"C\", "
		 "\"idioma\": \"ca\"}, \"applicant\": {\"nif\": \"45678901G\", \"name\": \"Joan Nou\", \"lang\": \"ca\"}, "
		 "\"consent\": {\"given\": true, \"method\": \"in_person\", \"document\": {\"type\": \"dni\", "
		 "\"number\": \"45678901G\"}}}", false, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(citizen_routes) / sizeof(citizen_routes[0]); i++)
		try_route(&citizen_routes[i], citizen, ccsrf, id);
	for (size_t i = 0; i < sizeof(employee_routes) / sizeof(employee_routes[0]); i++)
		try_route(&employee_routes[i], employee, ecsrf, id);
	/* The payment manager needs no sign-in: its forms carry a double-submit token. */
	struct http_client *anyone = http_client_new(srv.port, "ca");
	char *ptoken = token_of(anyone, "/pagaments", "token");
	static const struct route pay_routes[] = {
		{"finding a tax receipt", PAGE, "/pagaments", "referencia=000001234556&nif=12345678Z", false,
		 "token", "Per seguretat, torneu a la pàgina del gestor de pagaments", NULL},
		{"paying a tax receipt by card", PAGE, "/pagaments/targeta", "referencia=000001234556&nif=12345678Z",
		 false, "token", "Per seguretat, torneu a la pàgina del gestor de pagaments", NULL},
		{"a tax receipt's payment document", PAGE, "/pagaments/document", "referencia=000001234556&nif=12345678Z",
		 false, "token", "Per seguretat, torneu a la pàgina del gestor de pagaments", NULL},
	};
	for (size_t i = 0; i < sizeof(pay_routes) / sizeof(pay_routes[0]); i++)
		try_route(&pay_routes[i], anyone, ptoken, id);
	free(ptoken);
	/* Signing in: a double-submit token too, since there is no session yet. */
	char *ltoken = token_of(anyone, "/login", "csrf");
	static const struct route login_routes[] = {
		{"signing in with a password", PAGE, "/login", "username=demo.empleat&password=no-es-aquesta", false,
		 NULL, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(login_routes) / sizeof(login_routes[0]); i++)
		try_route(&login_routes[i], anyone, ltoken, id);
	free(ltoken);
	http_client_free(anyone);
	free(id);
	free(ccsrf);
	free(ecsrf);
	http_client_free(citizen);
	http_client_free(employee);
}
