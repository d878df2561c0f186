/* Messages on an expedient through the real server: the applicant writes from the Carpeta,
 * the employee answers from the back office (which writes the applicant's notice in the
 * outbox, with their address and language) or keeps an internal note the applicant never
 * sees; a double post is stored once; another citizen's post, an empty or too long text, a
 * bad key, an unknown field and a missing CSRF token are refused and store nothing; and the
 * database refuses to change a message. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"

static struct test_server srv;
static char *expedient;

static void setup(void)
{
	test_server_start(&srv, &test_server_behind_proxy);
	expedient = http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Fanal\", \"exposa\": "
	                               "\"Fets\", \"solicita\": \"Petició\", \"idioma\": \"es\"}}");
}

static void teardown(void)
{
	free(expedient);
	test_server_stop(&srv);
}

TestSuite(messages, .init = setup, .fini = teardown, .timeout = 120);

/* One text value of a one-row query. */
static char *value(const char *sql)
{
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_assert_eq(PQntuples(r), 1, "%s", sql);
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* The messages section of a page, for failure messages (a whole page is cut short). */
static const char *section(const char *body)
{
	const char *s = strstr(body, "<section id=\"messages\"");
	return s ? s : body;
}

static struct http_client *who(const char *principal)
{
	struct http_client *c = http_client_new(srv.port, "ca");
	char h[120];
	snprintf(h, sizeof(h), "X-Remote-User: %s", principal);
	http_client_header(c, h);
	return c;
}

/* The page of the expedient on that side, and its session's CSRF token. */
static char *page(struct http_client *c, const char *side, struct http_response *r)
{
	char path[200];
	snprintf(path, sizeof(path), "/%s/expedients/%s", side, expedient);
	http_get(c, path, r);
	cr_assert_eq(r->status, 200, "%s: %s", path, r->body);
	return http_extract(r->body, "name=\"csrf\" value=\"", '"');
}

static void post(struct http_client *c, const char *side, const char *form, struct http_response *r)
{
	char path[200];
	snprintf(path, sizeof(path), "/%s/expedients/%s/messages", side, expedient);
	http_post_form(c, path, form, r);
}

static const char key1[] = "0123456789abcdef0123456789abcdef";
static const char key2[] = "fedcba9876543210fedcba9876543210";
static const char key3[] = "00112233445566778899aabbccddeeff";

Test(messages, the_applicant_and_the_unit_write_and_the_notes_stay_inside)
{
	struct http_client *citizen = who("12345678Z"), *employee = who("employee:demo.empleat");
	struct http_response r;
	char *csrf = page(citizen, "carpeta", &r);
	cr_expect(strstr(r.body, "<p id=\"no-messages\">Encara no hi ha cap missatge en aquest "
	                 "expedient.</p>") != NULL, "%s", section(r.body));
	http_response_free(&r);

	char form[600], want[600];
	snprintf(form, sizeof(form), "csrf=%s&key=%s&message=%%20Quan+vindran%%3F%%0D%%0A%%0D%%0AGr%%C3%%A0cies%%0A", csrf, key1);
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 303, "%s", r.body);
	snprintf(want, sizeof(want), "/carpeta/expedients/%s?message=sent#messages", expedient);
	cr_expect_str_eq(r.location, want);
	http_response_free(&r);
	/* The same form again (a double click): still one message. */
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 303);
	http_response_free(&r);
	char q[400];
	snprintf(q, sizeof(q), "SELECT count(*) || '|' || string_agg(author_kind || '|' || author_id || '|' "
	         "|| author_name || '|' || internal || '|' || body, ';') FROM expedient_message "
	         "WHERE expedient_id = '%s'", expedient);
	char *rows = value(q);
	cr_expect_str_eq(rows, "1|citizen|12345678Z|Maria Demo Ciutadana|false|Quan vindran?\n\nGràcies",
	                 "trimmed, line ends as LF, stored once");
	free(rows);
	snprintf(q, sizeof(q), "SELECT count(*) FROM outbox WHERE expedient_id = '%s' AND target = 'message'",
	         expedient);
	rows = value(q);
	cr_expect_str_eq(rows, "0", "the applicant's own message sends them no notice");
	free(rows);

	/* The unit reads it and answers; then keeps a note. */
	char *staff_csrf = page(employee, "backoffice", &r);
	cr_expect(strstr(r.body, "<strong>Maria Demo Ciutadana</strong> · ") != NULL, "%s", section(r.body));
	cr_expect(strstr(r.body, "<p>Quan vindran?</p><p>Gràcies</p>") != NULL, "%s", section(r.body));
	http_response_free(&r);
	snprintf(form, sizeof(form), "csrf=%s&key=%s&message=Dilluns+que+ve.", staff_csrf, key2);
	post(employee, "backoffice", form, &r);
	cr_expect_eq(r.status, 303, "%s", r.body);
	snprintf(want, sizeof(want), "/backoffice/expedients/%s?message=sent#messages", expedient);
	cr_expect_str_eq(r.location, want);
	http_response_free(&r);
	snprintf(form, sizeof(form), "csrf=%s&key=%s&internal=yes&message=Avisar+brigada", staff_csrf, key3);
	post(employee, "backoffice", form, &r);
	cr_expect_eq(r.status, 303, "%s", r.body);
	http_response_free(&r);

	/* One notice for the answer, none for the note, with the applicant's address now. */
	snprintf(q, sizeof(q), "SELECT count(*) || '|' || min(kind) || '|' || min(args::text) || '|' || "
	         "bool_and(idempotency_key = 'message:' || (SELECT id FROM expedient_message WHERE "
	         "idempotency_key = '%s')::text)::text FROM outbox WHERE expedient_id = '%s' AND "
	         "target = 'message'", key2, expedient);
	rows = value(q);
	snprintf(q, sizeof(q), "SELECT json_strip_nulls(json_build_object('audience', 'applicant', "
	         "'channel', 'informative', 'number', x.number, 'medium', 'email', 'email', "
	         "nullif(p.email, ''), 'phone', nullif(p.phone, ''), 'language', p.lang))::text "
	         "FROM expedient x JOIN person p ON p.nif = x.applicant_nif AND p.entity_id = x.entity_id "
	         "WHERE x.id = '%s'", expedient);
	char *args = value(q);
	snprintf(want, sizeof(want), "1|notify|%s|true", args);
	cr_expect_str_eq(rows, want);
	cr_expect(strstr(args, "\"email\"") != NULL, "the demo citizen has an address: %s", args);
	free(rows);
	free(args);

	/* The applicant sees the answer, marked as the unit's, and not the note. */
	char *again = page(citizen, "carpeta", &r);
	cr_expect(strstr(r.body, "<strong>Pere Demo Empleat</strong> (Ajuntament) · ") != NULL, "%s", section(r.body));
	cr_expect(strstr(r.body, "<p>Dilluns que ve.</p>") != NULL, "%s", section(r.body));
	cr_expect(strstr(r.body, "brigada") == NULL, "the note never reaches the applicant");
	cr_expect(strstr(r.body, "Nota interna") == NULL);
	free(again);
	http_response_free(&r);
	char *third = page(employee, "backoffice", &r);
	cr_expect(strstr(r.body, "<span class=\"tag\">Nota interna</span>") != NULL, "%s", section(r.body));
	cr_expect(strstr(r.body, "<p>Avisar brigada</p>") != NULL, "%s", section(r.body));
	free(third);
	http_response_free(&r);

	/* A message is part of the record: the database refuses to change it. */
	PGresult *res = PQexec(srv.conn, "UPDATE expedient_message SET body = 'x'");
	cr_expect_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	cr_expect(strstr(PQresultErrorMessage(res), "expedient_message rows are immutable") != NULL, "%s",
	          PQresultErrorMessage(res));
	PQclear(res);
	free(csrf);
	free(staff_csrf);
	http_client_free(citizen);
	http_client_free(employee);
}

Test(messages, bad_posts_are_refused_and_store_nothing)
{
	struct http_client *citizen = who("12345678Z"), *other = who("87654321X");
	struct http_response r;
	char *csrf = page(citizen, "carpeta", &r);
	http_response_free(&r);
	char form[9000];

	/* Empty after trimming: the form again, 422, with the reason beside the field. */
	snprintf(form, sizeof(form), "csrf=%s&key=%s&message=+%%0A+", csrf, key1);
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 422);
	cr_expect(strstr(r.body, "<span class=\"error-message\" id=\"e-message\">Escriviu el missatge.</span>")
	          != NULL, "%s", section(r.body));
	http_response_free(&r);
	/* 4,001 characters (two bytes each): the typed text comes back. */
	int n = snprintf(form, sizeof(form), "csrf=%s&key=%s&message=", csrf, key1);
	for (int i = 0; i < 4001; i++)
		n += snprintf(form + n, sizeof(form) - (size_t)n, "%s", i == 0 ? "%C3%A0" : "a");
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 422);
	cr_expect(strstr(r.body, "El missatge no pot passar de 4.000 caràcters.") != NULL, "%s", section(r.body));
	cr_expect(strstr(r.body, "aria-invalid=\"true\" autofocus>àaaa") != NULL, "the text is kept");
	http_response_free(&r);
	snprintf(form, sizeof(form), "csrf=%s&key=short&message=Hola", csrf);
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 400);
	http_response_free(&r);
	/* A citizen cannot write a note: the field is unknown to their form. */
	snprintf(form, sizeof(form), "csrf=%s&key=%s&internal=yes&message=Hola", csrf, key1);
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "internal") != NULL, "%s", section(r.body));
	http_response_free(&r);
	snprintf(form, sizeof(form), "key=%s&message=Hola", key1);
	post(citizen, "carpeta", form, &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);

	/* Someone else's expedient does not exist for them. */
	struct http_response o;
	http_get(other, "/carpeta", &o);
	char *other_csrf = http_extract(o.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(other_csrf, "%s", o.body);
	http_response_free(&o);
	snprintf(form, sizeof(form), "csrf=%s&key=%s&message=Hola", other_csrf, key2);
	post(other, "carpeta", form, &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);
	/* And a citizen cannot use the back office's door. */
	snprintf(form, sizeof(form), "csrf=%s&key=%s&message=Hola", csrf, key3);
	post(citizen, "backoffice", form, &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);

	char *count = value("SELECT count(*) FROM expedient_message");
	cr_expect_str_eq(count, "0", "nothing was stored");
	free(count);
	free(csrf);
	free(other_csrf);
	http_client_free(citizen);
	http_client_free(other);
}

Test(messages, the_api_posts_once_per_key_and_keeps_notes_from_citizens)
{
	struct http_client *citizen = who("12345678Z"), *employee = who("employee:demo.empleat");
	struct http_response r;
	char *csrf = page(citizen, "carpeta", &r);
	http_response_free(&r);
	char *staff_csrf = page(employee, "backoffice", &r);
	http_response_free(&r);
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/messages", expedient);

	http_post_json_key(citizen, path, "{\"message\": \"  Per l'API  \"}", csrf, key1, &r);
	cr_expect_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	cr_assert_not_null(id, "%s", r.body);
	cr_expect(strstr(r.body, "\"created\":true") != NULL, "%s", r.body);
	http_response_free(&r);
	http_post_json_key(citizen, path, "{\"message\": \"  Per l'API  \"}", csrf, key1, &r);
	cr_expect_eq(r.status, 200, "the same key again: the first message");
	char *again = http_extract(r.body, "\"id\":\"", '"');
	cr_expect_str_eq(again, id);
	free(again);
	http_response_free(&r);

	http_post_json_key(citizen, path, "{\"message\": \"Nota\", \"internal\": true}", csrf, key2, &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	cr_expect(strstr(r.body, "only employees write internal notes") != NULL, "%s", r.body);
	http_response_free(&r);
	http_post_json_key(citizen, path, "{\"message\": \"Hola\", \"to\": \"x\"}", csrf, key2, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "unknown member 'to'") != NULL, "%s", r.body);
	http_response_free(&r);
	http_post_json_key(citizen, path, "{\"message\": \" \\n \"}", csrf, key2, &r);
	cr_expect_eq(r.status, 422);
	cr_expect(strstr(r.body, "\"code\":\"invalid_form\"") != NULL, "%s", r.body);
	http_response_free(&r);
	http_post_json_key(citizen, path, "{\"message\": \"Hola\"}", csrf, "short", &r);
	cr_expect_eq(r.status, 400);
	http_response_free(&r);
	http_post_json_key(citizen, path, "{\"message\": \"Hola\"}", "wrong", key2, &r);
	cr_expect_eq(r.status, 403);
	http_response_free(&r);

	http_post_json_key(employee, path, "{\"message\": \"Revisat\", \"internal\": true}", staff_csrf,
	                   key3, &r);
	cr_expect_eq(r.status, 201, "%s", r.body);
	http_response_free(&r);

	/* Each side reads what it may: the note only in the back office. */
	http_get(citizen, path, &r);
	cr_expect_eq(r.status, 200);
	char want[600];
	snprintf(want, sizeof(want), "\",\"author\":{\"id\":\"12345678Z\",\"kind\":\"citizen\","
	         "\"name\":\"Maria Demo Ciutadana\"},\"body\":\"Per l'API\",\"id\":\"%s\","
	         "\"internal\":false}]}", id);
	const char *at = "{\"messages\":[{\"at\":\"";
	cr_expect(strncmp(r.body, at, strlen(at)) == 0, "%s", r.body);
	/* "at" is an ISO 8601 time with the Madrid offset: 25 characters. */
	cr_expect(strlen(r.body) == strlen(at) + 25 + strlen(want) && strcmp(r.body + strlen(at) + 25, want) == 0,
	          "%s", r.body);
	http_response_free(&r);
	http_get(employee, path, &r);
	cr_expect(strstr(r.body, "\"name\":\"Pere Demo Empleat\"},\"body\":\"Revisat\",\"id\":\"") != NULL,
	          "%s", r.body);
	cr_expect(strstr(r.body, "\"internal\":true}]}") != NULL, "%s", r.body);
	http_response_free(&r);
	struct http_client *other = who("87654321X");
	http_get(other, path, &r);
	cr_expect_eq(r.status, 404, "someone else's expedient");
	http_response_free(&r);
	http_client_free(other);
	free(id);
	free(csrf);
	free(staff_csrf);
	http_client_free(citizen);
	http_client_free(employee);
}
