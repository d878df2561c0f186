/* The back office's registry book and SIR inbox against the real server (--demo) and a real
 * PostgreSQL: a citizen's filing is listed with its receipt and found by the filters; an
 * exchange imported with `tramit registry import` is accepted through the form with the CSRF
 * token (and refused without it, or without a reason to reject); citizens and anonymous
 * visitors are kept out. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"
#include "tests/support/shell.h"

#define DEMO_DIR3 "L01462508"

static struct test_server srv;

static void setup(void)
{
	test_server_start(&srv, NULL);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 240);

static char *query1(const char *sql)
{
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static long count(const char *sql)
{
	char *v = query1(sql);
	long n = atol(v);
	free(v);
	return n;
}

static void expect_contains(const struct http_response *r, const char *needle)
{
	cr_expect(strstr(r->body, needle) != NULL, "expected «%s» in the page:\n%.4000s", needle, r->body);
}

static void expect_lacks(const struct http_response *r, const char *needle)
{
	cr_expect(strstr(r->body, needle) == NULL, "did not expect «%s» in the page", needle);
}

/* Signs in with the demo form as "citizen" or "employee". */
static struct http_client *signed_in(const char *who, const char *lang)
{
	struct http_client *c = http_client_new(srv.port, lang);
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok);
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=%s&next=", tok, who);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "sign-in answered %ld", r.status);
	http_response_free(&r);
	free(tok);
	return c;
}

static int registry(char **out, const char *args)
{
	return shell_run(out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s registry %s 2>&1",
	                 srv.cluster.dir, srv.cluster.conninfo, TRAMIT_BINARY, args);
}

/* The demo municipality sends its first entry to itself and imports it: one exchange in the
 * inbox. Returns its identifier (malloc'd). */
static char *exchange_in_inbox(const char *number)
{
	char *out, args[256];
	cr_assert_eq(registry(&out, "office " DEMO_DIR3), 0, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "export %s --to " DEMO_DIR3 " -o sent.xml", number);
	cr_assert_eq(registry(&out, args), 0, "%s", out);
	char *id = strndup(out, strcspn(out, ":"));
	free(out);
	cr_assert_eq(registry(&out, "import sent.xml"), 0, "%s", out);
	free(out);
	return id;
}

Test(registry, the_book_lists_filters_and_keeps_out_citizens_and_strangers)
{
	free(http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Fanal apagat al carrer Major\", "
	                        "\"exposa\": \"Fa una setmana que no funciona.\", \"solicita\": \"Que el reparen.\", "
	                        "\"correu\": \"maria.demo@example.org\", \"idioma\": \"ca\"}}"));
	char *number = query1("SELECT number FROM registry_entry");
	char *csv = query1("SELECT receipt_csv FROM expedient");
	struct http_client *emp = signed_in("employee", "ca");
	struct http_response r;
	http_get(emp, "/backoffice/registry", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	expect_contains(&r, "<h1>Llibre de registre</h1>");
	expect_contains(&r, number);
	char link[128];
	snprintf(link, sizeof(link), "href=\"/verify/%s/document\"", csv);
	expect_contains(&r, link);
	expect_contains(&r, "<p id=\"book-count\">1-1 de 1</p>");
	expect_contains(&r, "<p id=\"inbox-empty\">");
	http_response_free(&r);

	http_get(emp, "/backoffice/registry?q=12345678z&book=E", &r);
	expect_contains(&r, number);
	http_response_free(&r);
	http_get(emp, "/backoffice/registry?q=carrer+de+la+pau", &r);
	expect_contains(&r, "<p id=\"empty\">");
	expect_lacks(&r, link);
	http_response_free(&r);
	http_get(emp, "/backoffice/registry?book=S", &r);
	expect_contains(&r, "<p id=\"empty\">");
	http_response_free(&r);
	http_get(emp, "/backoffice/registry?year=1999", &r);
	expect_contains(&r, "<p id=\"book-count\">0-0 de 0</p>");
	http_response_free(&r);
	http_client_free(emp);

	struct http_client *es = signed_in("employee", "es");
	http_get(es, "/backoffice/registry", &r);
	expect_contains(&r, "<h1>Libro de registro</h1>");
	expect_contains(&r, "Descargar el justificante");
	http_response_free(&r);
	http_client_free(es);

	struct http_client *citizen = signed_in("citizen", "ca");
	http_get(citizen, "/backoffice/registry", &r);
	cr_expect_eq(r.status, 403);
	expect_lacks(&r, number);
	http_response_free(&r);
	http_client_free(citizen);
	struct http_client *anon = http_client_new(srv.port, "ca");
	http_get(anon, "/backoffice/registry", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/login?next=%2Fbackoffice%2Fregistry");
	http_response_free(&r);
	http_client_free(anon);
	free(number);
	free(csv);
}

Test(registry, accepting_through_the_form_needs_the_csrf_token_and_writes_the_next_entry)
{
	free(http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Gual\", \"exposa\": \"Fets\", "
	                        "\"solicita\": \"Peticio\", \"correu\": \"maria.demo@example.org\", "
	                        "\"idioma\": \"ca\"}}"));
	char *number = query1("SELECT number FROM registry_entry");
	char *id = exchange_in_inbox(number);
	struct http_client *emp = signed_in("employee", "ca");
	struct http_response r;
	http_get(emp, "/backoffice/registry", &r);
	cr_assert_eq(r.status, 200);
	char action[160];
	snprintf(action, sizeof(action), "action=\"/backoffice/registry/exchanges/%s\"", id);
	expect_contains(&r, action);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(csrf);
	http_response_free(&r);
	char path[160], body[512];
	snprintf(path, sizeof(path), "/backoffice/registry/exchanges/%s", id);

	http_post_form(emp, path, "decision=accept", &r);
	cr_expect_eq(r.status, 403, "without the CSRF token");
	http_response_free(&r);
	snprintf(body, sizeof(body), "csrf=%s&decision=reject&reason=+", csrf);
	http_post_form(emp, path, body, &r);
	cr_expect_eq(r.status, 422, "rejecting without a reason");
	expect_contains(&r, "cal escriure'n el motiu");
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 1);
	cr_expect_eq(count("SELECT count(*) FROM interchange WHERE direction = 'in' AND state = 'received'"), 1);

	snprintf(body, sizeof(body), "csrf=%s&decision=accept&reason=", csrf);
	http_post_form(emp, path, body, &r);
	cr_expect_eq(r.status, 303, "%s", r.body);
	cr_expect_str_eq(r.location, "/backoffice/registry?done=accepted");
	http_response_free(&r);
	char next[40];
	snprintf(next, sizeof(next), "%.7s000002", number);
	char *created = query1("SELECT number FROM registry_entry ORDER BY seq DESC LIMIT 1");
	cr_expect_str_eq(created, next);
	cr_expect_eq(count("SELECT count(*) FROM interchange_event WHERE actor = 'employee:demo.empleat' "
	                   "AND to_state = 'accepted'"), 1);
	http_get(emp, "/backoffice/registry?done=accepted", &r);
	expect_contains(&r, "id=\"done\"");
	expect_contains(&r, next);
	expect_contains(&r, "Acceptat: ");
	http_response_free(&r);

	/* A second decision on the same exchange: refused, nothing changes. */
	snprintf(body, sizeof(body), "csrf=%s&decision=return&reason=Tard", csrf);
	http_post_form(emp, path, body, &r);
	cr_expect_eq(r.status, 409);
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 2);
	free(created);
	free(csrf);
	free(id);
	free(number);
	http_client_free(emp);
}

/* Issue 5: the book lists every party and subject of the entity, so only registry staff read it. */
Test(registry, an_employee_outside_the_registry_neither_reads_the_book_nor_decides)
{
	free(http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Gual\", \"exposa\": \"Fets\", "
	                        "\"solicita\": \"Peticio\", \"correu\": \"maria.demo@example.org\", "
	                        "\"idioma\": \"ca\"}}"));
	char *number = query1("SELECT number FROM registry_entry");
	char *id = exchange_in_inbox(number), *out;
	cr_assert_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s employee add "
	                       "tecnica --name 'Tècnica Prova' --role tecnic@via-publica 2>&1 && printf "
	                       "'%%s\\n' 'una contrasenya prou llarga' | TRAMIT_DATABASE_URL='%s' "
	                       "TRAMIT_ENTITY=demo %s employee password tecnica 2>&1", srv.cluster.conninfo,
	                       TRAMIT_BINARY, srv.cluster.conninfo, TRAMIT_BINARY), 0, "%s", out);
	free(out);
	struct http_client *c = http_client_new(srv.port, "ca");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[512];
	snprintf(body, sizeof(body), "csrf=%s&next=&username=tecnica&password=una+contrasenya+prou+llarga", tok);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "%s", r.body);
	http_response_free(&r);
	free(tok);
	http_get(c, "/backoffice/registry", &r);
	cr_assert_eq(r.status, 403);
	expect_contains(&r, "<p id=\"error\">Només el personal del registre pot consultar el llibre de registre "
	                "i els intercanvis.</p>");
	expect_lacks(&r, number);
	expect_lacks(&r, "name=\"decision\"");
	http_response_free(&r);
	http_get(c, "/backoffice", &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char path[160];
	snprintf(path, sizeof(path), "/backoffice/registry/exchanges/%s", id);
	snprintf(body, sizeof(body), "csrf=%s&decision=accept", csrf);
	http_post_form(c, path, body, &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);
	cr_expect_eq(count("SELECT count(*) FROM interchange WHERE state = 'received'"), 1);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), 1);
	http_client_free(c);
	free(csrf);
	free(id);
	free(number);
}
