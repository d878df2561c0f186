/* End to end over HTTP against a real server and a real PostgreSQL: a citizen signs in (demo),
 * files the general application, gets a receipt; an employee resolves it; anyone verifies
 * the receipt by its CSV. Then the database is checked directly. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"

static struct test_server srv;

static void setup(void)
{
	test_server_start(&srv, NULL);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(journey, .init = setup, .fini = teardown, .timeout = 180);

static char *query1(const char *sql)
{
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static long long count(const char *sql)
{
	char *v = query1(sql);
	long long n = atoll(v);
	free(v);
	return n;
}

static void expect_contains(const struct http_response *r, const char *needle)
{
	cr_expect(strstr(r->body, needle) != NULL, "expected «%s» in the page:\n%.3000s", needle, r->body);
}

/* Signs in with the demo form; returns the session's CSRF token from the next page. */
static void sign_in(struct http_client *c, const char *who)
{
	struct http_response r;
	http_get(c, "/login", &r);
	cr_assert_eq(r.status, 200);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok);
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=%s&next=", tok, who);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "sign-in answered %ld", r.status);
	cr_expect_str_eq(r.location, strcmp(who, "citizen") == 0 ? "/carpeta" : "/backoffice");
	http_response_free(&r);
	free(tok);
}

static char *form_csrf(struct http_client *c, const char *path)
{
	struct http_response r;
	http_get(c, path, &r);
	cr_assert_eq(r.status, 200, "GET %s: %ld", path, r.status);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok, "no CSRF token in %s", path);
	http_response_free(&r);
	return tok;
}

static char *good_form(const char *csrf, const char *subject)
{
	char *s = http_form_escape(subject);
	char *body = malloc(2048);
	snprintf(body, 2048, "csrf=%s&assumpte=%s&exposa=%s&solicita=%s&correu=maria.demo%%40example.org"
	         "&telefon=961234567&idioma=ca", csrf, s,
	         "Hi%20ha%20un%20fanal%20apagat%0Aal%20carrer%20Major.", "Que%20el%20reparen.");
	free(s);
	return body;
}

Test(journey, catalogue_health_and_languages)
{
	struct http_client *ca = http_client_new(srv.port, "ca-ES,ca;q=0.9"), *es = http_client_new(srv.port, "es-ES,es;q=0.9");
	struct http_response r;
	http_get(ca, "/healthz", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"status\":\"ok\",\"database\":\"ok\",\"tramits\":4,\"entity\":\"demo\",\"demo\":true,"
	                 "\"connectors\":{\"smtp\":{\"status\":\"not configured\"},\"sms\":{\"status\":"
	                 "\"not configured\"},\"antivirus\":{\"status\":\"not configured\"},"
	                 "\"backoffice\":{\"status\":\"not configured\"},\"redsys\":{\"status\":\"not configured\"}}}");
	http_response_free(&r);

	http_get(ca, "/", &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "<html lang=\"ca\">");
	expect_contains(&r, "id=\"demo-banner\">DEMOSTRACIÓ");
	expect_contains(&r, "<a href=\"/tramits/GEN-001\">Instància general</a>");
	expect_contains(&r, "Ajuntament de Demostració");
	http_response_free(&r);

	http_get(es, "/", &r);
	expect_contains(&r, "<html lang=\"es\">");
	expect_contains(&r, "id=\"demo-banner\">DEMOSTRACIÓN");
	expect_contains(&r, "<a href=\"/tramits/GEN-001\">Instancia general</a>");
	http_response_free(&r);

	/* The visible switch wins over Accept-Language and sticks. */
	http_get(ca, "/lang?to=es&next=%2Ftramits%2FGEN-001", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/tramits/GEN-001");
	http_response_free(&r);
	http_get(ca, "/tramits/GEN-001", &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "<h1>Instancia general</h1>");
	expect_contains(&r, "Llei 39/2015, d&#39;1 d&#39;octubre, arts. 16 i 66");
	expect_contains(&r, "3 meses");
	expect_contains(&r, "La solicitud se entiende desestimada");
	http_response_free(&r);
	/* An open redirect through the switch is refused, however it is spelled. */
	http_get(ca, "/lang?to=ca&next=//evil.example", &r);
	cr_expect_str_eq(r.location, "/");
	http_response_free(&r);
	http_get(ca, "/lang?to=ca&next=/%09/evil.example", &r);
	cr_expect_str_eq(r.location, "/", "browsers drop the tab and read //evil.example");
	http_response_free(&r);
	http_get(ca, "/lang?to=ca&next=/%5Cevil.example", &r);
	cr_expect_str_eq(r.location, "/");
	http_response_free(&r);
	/* A decoded newline in the path cannot forge an access-log line. */
	http_get(ca, "/x%0Atramit:%20POST%20/forged%20200", &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);
	FILE *lf = fopen(srv.log_path, "r");
	cr_assert_not_null(lf);
	char line[512];
	bool forged = false;
	while (fgets(line, sizeof(line), lf))
		forged = forged || strncmp(line, "tramit: POST /forged", 20) == 0;
	fclose(lf);
	cr_expect(!forged, "a request forged a log line");

	http_get(ca, "/tramits/NOPE-1", &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);

	http_get(ca, "/api/v1/tramits", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/json");
	expect_contains(&r, "\"code\":\"GEN-001\"");
	expect_contains(&r, "\"title\":{\"ca\":\"Instància general\",\"es\":\"Instancia general\"}");
	http_response_free(&r);
	http_client_free(ca);
	http_client_free(es);
}

Test(journey, citizen_files_employee_resolves_anyone_verifies)
{
	struct http_client *citizen = http_client_new(srv.port, "ca");
	struct http_response r;

	/* Not signed in: the form sends you to sign in and back. */
	http_get(citizen, "/tramits/GEN-001/new", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/login?next=%2Ftramits%2FGEN-001%2Fnew");
	http_response_free(&r);

	sign_in(citizen, "citizen");
	char *csrf = form_csrf(citizen, "/tramits/GEN-001/new");

	/* A missing required field and a bad e-mail: the form comes back, nothing is stored. */
	char body[2048];
	snprintf(body, sizeof(body), "csrf=%s&assumpte=&exposa=Fets&solicita=Peticio&correu=no-arroba&idioma=ca", csrf);
	http_post_form(citizen, "/tramits/GEN-001/new", body, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "<a href=\"#f-assumpte\">Cal omplir «Assumpte».</a>");
	expect_contains(&r, "<span class=\"error-message\" id=\"e-assumpte\">Cal omplir «Assumpte».</span>");
	expect_contains(&r, "id=\"e-correu\">«Correu electrònic» no és una adreça de correu vàlida");
	expect_contains(&r, "value=\"no-arroba\"");
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 0);
	cr_expect_eq(count("SELECT count(*) FROM event"), 0);

	/* A wrong CSRF token is refused. */
	char *bad = good_form("wrong", "Fanal");
	http_post_form(citizen, "/tramits/GEN-001/new", bad, &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);
	free(bad);

	/* The form carries a submission key; posting it twice (a double click, a reload after a
	 * lost answer) files one application. */
	http_get(citizen, "/tramits/GEN-001/new", &r);
	char *submission = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_assert_not_null(submission);
	cr_expect_eq(strlen(submission), 32);
	http_response_free(&r);
	char *base = good_form(csrf, "Fanal apagat <script>");
	char *good = malloc(strlen(base) + 64);
	sprintf(good, "%s&submission=%s", base, submission);
	free(base);
	free(submission);
	http_post_form(citizen, "/tramits/GEN-001/new", good, &r);
	cr_assert_eq(r.status, 303, "submission answered %ld:\n%.2000s", r.status, r.body);
	char *id = http_extract(r.location, "/carpeta/expedients/", '?');
	cr_assert_not_null(id, "redirected to %s", r.location);
	char receipt_path[1100];
	snprintf(receipt_path, sizeof(receipt_path), "%s", r.location);
	http_response_free(&r);
	http_post_form(citizen, "/tramits/GEN-001/new", good, &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, receipt_path, "the repeat leads to the same expedient");
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	free(good);

	char *year = query1("SELECT extract(year FROM now() AT TIME ZONE 'Europe/Madrid')::int::text");
	char registry[64];
	snprintf(registry, sizeof(registry), "E/%s/000001", year);
	http_get(citizen, receipt_path, &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "id=\"submitted\">La vostra sol·licitud s'ha presentat correctament.");
	char *reg_html = http_extract(r.body, "id=\"registry-number\">", '<');
	cr_expect_str_eq(reg_html, registry);
	char *csv = http_extract(r.body, "class=\"csv\" id=\"csv\">", '<');
	cr_assert_not_null(csv);
	cr_expect_eq(strlen(csv), 29);
	expect_contains(&r, "data-state=\"submitted\">En tramitació</strong>");
	expect_contains(&r, "Fanal apagat &lt;script&gt;");
	expect_contains(&r, "Hi ha un fanal apagat<br>al carrer Major.");
	http_response_free(&r);

	http_get(citizen, "/carpeta", &r);
	expect_contains(&r, id);
	expect_contains(&r, "data-state=\"submitted\">En tramitació");
	http_response_free(&r);

	/* The API shows the same expedient to its owner, and nothing without a session. */
	char api_path[128];
	snprintf(api_path, sizeof(api_path), "/api/v1/expedients/%s", id);
	http_get(citizen, api_path, &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "\"state\":\"submitted\"");
	expect_contains(&r, registry);
	http_response_free(&r);
	struct http_client *anon = http_client_new(srv.port, "ca");
	http_get(anon, api_path, &r);
	cr_expect_eq(r.status, 401);
	http_response_free(&r);

	/* The citizen cannot reach the back office. */
	http_get(citizen, "/backoffice", &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);

	/* The employee resolves it. */
	struct http_client *employee = http_client_new(srv.port, "es");
	sign_in(employee, "employee");
	char bo_path[128];
	snprintf(bo_path, sizeof(bo_path), "/backoffice/expedients/%s", id);
	http_get(employee, "/backoffice", &r);
	expect_contains(&r, id);
	expect_contains(&r, "Maria Demo Ciutadana (12345678Z)");
	http_response_free(&r);
	http_get(employee, bo_path, &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "id=\"action-resolve\">Resolver</button>");
	expect_contains(&r, "id=\"action-reject\" class=\"secondary\">Desestimar</button>");
	char *ecsrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char action_path[256];
	snprintf(action_path, sizeof(action_path), "%s/actions/resolve", bo_path);
	snprintf(body, sizeof(body), "csrf=%s&version=1", ecsrf);
	http_post_form(employee, action_path, body, &r);
	cr_expect_eq(r.status, 303, "resolve answered %ld", r.status);
	http_response_free(&r);
	/* The same click again carries a stale version: 409, nothing changes. */
	http_post_form(employee, action_path, body, &r);
	cr_expect_eq(r.status, 409);
	expect_contains(&r, "El expediente ha cambiado");
	http_response_free(&r);

	http_get(citizen, receipt_path, &r);
	expect_contains(&r, "data-state=\"resolved\">Resolta</strong>");
	http_response_free(&r);

	/* The database holds exactly what happened. */
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT state || ' ' || version FROM expedient WHERE id = '%s'", id);
	char *sv = query1(sql);
	cr_expect_str_eq(sv, "resolved 2");
	free(sv);
	cr_expect_eq(count("SELECT count(*) FROM event"), 2);
	cr_expect_eq(count("SELECT count(*) FROM event e2 JOIN event e1 ON e1.expedient_id = e2.expedient_id "
	                   "AND e1.seq = 1 AND e2.seq = 2 AND e2.prev_hash = e1.hash AND e2.actor_id = 'demo.empleat'"), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM registry_entry WHERE number = '%s' AND party_nif = "
	         "'12345678Z' AND expedient_id = '%s' AND presented_at <= now()", registry, id);
	cr_expect_eq(count(sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM document WHERE csv = '%s' AND kind = 'receipt' "
	         "AND sha256 = encode(sha256(content), 'hex')", csv);
	cr_expect_eq(count(sql), 1);

	/* The hash chains verify; an edited event is found by tramit audit verify. */
	char cmd[1600], out[1024];
	snprintf(cmd, sizeof(cmd), "TRAMIT_DATABASE_URL='%s' %s audit verify 2>&1", srv.cluster.conninfo, TRAMIT_BINARY);
	FILE *pipe = popen(cmd, "r");
	size_t got = fread(out, 1, sizeof(out) - 1, pipe);
	out[got] = '\0';
	cr_expect_eq(WEXITSTATUS(pclose(pipe)), 0, "%s", out);
	cr_expect_str_eq(out, "1 expedient, 2 events: every hash chain verifies\n"
	                      "no time-stamped digest of the chains yet (tramit audit digest makes one; "
	                      "tramit serve does daily with TRAMIT_TSA_URL)\n");
	snprintf(cmd, sizeof(cmd), "TRAMIT_DATABASE_URL='%s' TRAMIT_TRAMITS_DIR='%s/tramits' %s audit replay 2>&1",
	         srv.cluster.conninfo, TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	pipe = popen(cmd, "r");
	got = fread(out, 1, sizeof(out) - 1, pipe);
	out[got] = '\0';
	cr_expect_eq(WEXITSTATUS(pclose(pipe)), 0, "%s", out);
	cr_expect_str_eq(out, "1 expedient, 2 events replayed: every expedient reproduces\n");

	/* Anyone with the CSV verifies the receipt, typed loosely. */
	char verify_path[256];
	char lower[64];
	size_t k = 0;
	for (const char *p = csv; *p; p++)
		if (*p != '-')
			lower[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	lower[k] = '\0';
	snprintf(verify_path, sizeof(verify_path), "/verify?csv=%s", lower);
	http_get(anon, verify_path, &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "id=\"verified\"");
	char *vreg = http_extract(r.body, "id=\"registry-number\">", '<');
	cr_expect_str_eq(vreg, registry);
	expect_contains(&r, "Fanal apagat &lt;script&gt;");
	http_response_free(&r);
	snprintf(verify_path, sizeof(verify_path), "/verify/%s/document", csv);
	http_get(anon, verify_path, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/pdf");
	cr_expect(r.len > 5 && memcmp(r.body, "%PDF-", 5) == 0, "the receipt downloads as a PDF");
	http_response_free(&r);
	snprintf(verify_path, sizeof(verify_path), "/verify/%s/document?format=json", csv);
	http_get(anon, verify_path, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/json");
	expect_contains(&r, "\"type\":\"receipt\"");
	/* Art. 21.4 LPAC: what the receipt tells the applicant about the maximum time and silence. */
	expect_contains(&r, "\"procedure\":{\"resolve_within\":3,\"silence\":\"negative\","
	                    "\"suspended_while_fixing\":false,\"unit\":\"months\"}");
	snprintf(sql, sizeof(sql), "SELECT convert_from(content, 'UTF8') FROM document WHERE csv = '%s'", csv);
	char *stored = query1(sql);
	cr_expect_str_eq(r.body, stored, "the download is the stored original");
	free(stored);
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM csv_lookup WHERE found"), 3);

	/* An unknown code and a withdrawn one get the same answer. */
	http_get(anon, "/verify?csv=0000-0000-0000-0000-0000-0000", &r);
	cr_expect_eq(r.status, 404);
	char *unknown = strdup(r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "UPDATE document SET withdrawn_at = now() WHERE csv = '%s'", csv);
	PQclear(PQexec(srv.conn, sql));
	snprintf(verify_path, sizeof(verify_path), "/verify?csv=%s", csv);
	http_get(anon, verify_path, &r);
	cr_expect_eq(r.status, 404);
	/* Same page apart from the echoed code. */
	char *a = strstr(unknown, "id=\"not-found\""), *b = strstr(r.body, "id=\"not-found\"");
	cr_assert(a && b);
	cr_expect_eq(strncmp(a, b, 300), 0);
	http_response_free(&r);
	free(unknown);

	free(year); free(reg_html); free(csv); free(id); free(csrf); free(ecsrf); free(vreg);
	http_client_free(citizen);
	http_client_free(employee);
	http_client_free(anon);
}

Test(journey, api_refuses_bad_input_and_stores_nothing)
{
	struct http_client *citizen = http_client_new(srv.port, "ca");
	sign_in(citizen, "citizen");
	char *csrf = form_csrf(citizen, "/tramits/GEN-001/new");
	struct http_response r;
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {\"assumpte\": \"x\"}}", csrf, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "{\"field\":\"exposa\",\"message\":{\"ca\":\"Cal omplir «Exposa».\",\"es\":\"Debe rellenar «Expone».\"}}");
	http_response_free(&r);
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {\"assumpte\": ", csrf, &r);
	cr_expect_eq(r.status, 400);
	expect_contains(&r, "the body is not valid JSON");
	http_response_free(&r);
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {\"assumpte\": 3}}", csrf, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(r.body, "{\"code\":\"bad_request\",\"error\":\"form value 'assumpte' must be a string\",\"message\":{\"ca\":\"La petició no té la forma esperada.\",\"es\":\"La petición no tiene la forma esperada.\"}}");
	http_response_free(&r);
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients",
	               "{\"form\": {\"assumpte\": \"A\", \"exposa\": \"B\", \"solicita\": \"C\", \"idioma\": \"es\"}}",
	               "not-the-token", &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0);
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients",
	               "{\"form\": {\"assumpte\": \"A\", \"exposa\": \"B\", \"solicita\": \"C\", \"idioma\": \"es\"}}",
	               csrf, &r);
	cr_expect_eq(r.status, 201, "%s", r.body);
	expect_contains(&r, "\"state\":\"submitted\"");
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	/* With an Idempotency-Key, a retry gets the first answer. */
	const char *json = "{\"form\": {\"assumpte\": \"B\", \"exposa\": \"B\", \"solicita\": \"C\", \"idioma\": \"ca\"}}";
	http_post_json_key(citizen, "/api/v1/tramits/GEN-001/expedients", json, csrf, "retry-0000001", &r);
	cr_expect_eq(r.status, 201, "%s", r.body);
	char *first = strdup(r.body);
	http_response_free(&r);
	http_post_json_key(citizen, "/api/v1/tramits/GEN-001/expedients", json, csrf, "retry-0000001", &r);
	cr_expect_eq(r.status, 201);
	cr_expect_str_eq(r.body, first);
	http_response_free(&r);
	free(first);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 2);
	http_post_json_key(citizen, "/api/v1/tramits/GEN-001/expedients", json, csrf, "short", &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(r.body, "{\"code\":\"bad_request\",\"error\":\"an idempotency key has 8 to 200 characters, not 5\",\"message\":{\"ca\":\"La petició no té la forma esperada.\",\"es\":\"La petición no tiene la forma esperada.\"}}");
	http_response_free(&r);
	free(csrf);
	http_client_free(citizen);
}

Test(journey, api_actions_check_the_version_and_the_actor)
{
	struct http_client *citizen = http_client_new(srv.port, "ca");
	sign_in(citizen, "citizen");
	char *csrf = form_csrf(citizen, "/tramits/GEN-001/new");
	struct http_response r;
	http_post_json(citizen, "/api/v1/tramits/GEN-001/expedients",
	               "{\"form\": {\"assumpte\": \"A\", \"exposa\": \"B\", \"solicita\": \"C\", \"idioma\": \"es\"}}",
	               csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/resolve", id);
	/* The applicant may not resolve their own application. */
	http_post_json(citizen, path, "{}", csrf, &r);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(r.body, "{\"code\":\"forbidden\",\"error\":\"'12345678Z' may not take action 'resolve' here\",\"message\":{\"ca\":\"No podeu fer aquesta acció.\",\"es\":\"No puede realizar esta acción.\"}}");
	http_response_free(&r);

	struct http_client *employee = http_client_new(srv.port, "ca");
	sign_in(employee, "employee");
	char bo[200];
	snprintf(bo, sizeof(bo), "/backoffice/expedients/%s", id);
	char *ecsrf = form_csrf(employee, bo);
	http_post_json(employee, path, "{\"version\": 5}", ecsrf, &r);
	cr_expect_eq(r.status, 409);
	cr_expect_str_eq(r.body, "{\"code\":\"conflict\",\"error\":\"the expedient changed: read it again\",\"message\":{\"ca\":\"Ha canviat mentrestant o ja no admet aquesta acció; torneu-lo a llegir.\",\"es\":\"Ha cambiado entretanto o ya no admite esta acción; vuelva a leerlo.\"},\"state\":\"submitted\",\"version\":1}");
	http_response_free(&r);
	http_post_json(employee, path, "{\"version\": \"1\"}", ecsrf, &r);
	cr_expect_eq(r.status, 400);
	http_response_free(&r);
	http_post_json(employee, path, "{\"version\": 1}", ecsrf, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	expect_contains(&r, "\"state\":\"resolved\"");
	expect_contains(&r, "\"version\":2");
	http_response_free(&r);
	http_post_json(employee, path, "{}", ecsrf, &r);
	cr_expect_eq(r.status, 409);
	cr_expect_str_eq(r.body, "{\"code\":\"conflict\",\"error\":\"action 'resolve' is not available in state 'resolved'\",\"message\":{\"ca\":\"Ha canviat mentrestant o ja no admet aquesta acció; torneu-lo a llegir.\",\"es\":\"Ha cambiado entretanto o ya no admite esta acción; vuelva a leerlo.\"},\"state\":\"resolved\",\"version\":2}");
	http_response_free(&r);
	http_post_json(employee, "/api/v1/expedients/00000000-0000-4000-8000-000000000000/actions/resolve", "{}", ecsrf, &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);
	http_post_json(employee, "/api/v1/expedients/not-a-uuid/actions/resolve", "{}", ecsrf, &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);
	/* An action name that is not UTF-8 is quoted back safely, not a crash. */
	char bad[200];
	snprintf(bad, sizeof(bad), "/api/v1/expedients/%s/actions/%%FF", id);
	http_post_json(employee, bad, "{}", ecsrf, &r);
	cr_expect_eq(r.status, 409);
	cr_expect_str_eq(r.body, "{\"code\":\"conflict\",\"error\":\"action '?' is not available in state 'resolved'\",\"message\":{\"ca\":\"Ha canviat mentrestant o ja no admet aquesta acció; torneu-lo a llegir.\",\"es\":\"Ha cambiado entretanto o ya no admite esta acción; vuelva a leerlo.\"},\"state\":\"resolved\",\"version\":2}");
	http_response_free(&r);
	http_get(employee, "/healthz", &r);
	cr_expect_eq(r.status, 200, "the server is still up");
	http_response_free(&r);
	free(id);
	free(csrf);
	free(ecsrf);
	http_client_free(citizen);
	http_client_free(employee);
}
