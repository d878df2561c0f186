/* Corrections (subsanación, art. 68 LPAC) through the real server: the employee's request
 * must say what is wrong (refused without it, nothing changes), the text reaches the citizen's
 * page, the binding notification and the history; the citizen corrects the grant application
 * (PAR-004) on its form pre-filled with the expedient's answers, or through the API, which
 * registers a second entry with its receipt; another citizen gets "not found"; a stale
 * version changes nothing. Principals are named by a trusted reverse-proxy header. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"
#include "tests/support/shell.h"

static struct test_server srv;

static void setup(void)
{
	test_server_start(&srv, &test_server_behind_proxy);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(corrections, .init = setup, .fini = teardown, .timeout = 180);

struct who {
	struct http_client *http;
	char *csrf;
};

static struct who sign_in(const char *header, const char *lang, const char *page)
{
	struct who w = {.http = http_client_new(srv.port, lang)};
	http_client_header(w.http, header);
	struct http_response r;
	http_get(w.http, page, &r);
	w.csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(w.csrf, "%s has no session on %s (%ld)", header, page, r.status);
	http_response_free(&r);
	return w;
}

static void done(struct who *w)
{
	free(w->csrf);
	http_client_free(w->http);
}

static char *query1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *query1(const char *fmt, ...)
{
	char sql[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

#define expect_sql(want, ...)                                  \
	do {                                                       \
		char *v_ = query1(__VA_ARGS__);                        \
		cr_expect_str_eq(v_, want, "%s", #__VA_ARGS__);        \
		free(v_);                                              \
	} while (0)

#define STATE "SELECT state FROM expedient WHERE id = '%s'"

/* Waits until the notices the last transition queued were delivered (each delivery is a
 * transition of the system's), then returns the expedient's version (malloc'd). */
static char *settled(const char *id)
{
	for (int i = 0; i < 200; i++) {
		char *left = query1("SELECT count(*) FROM outbox WHERE expedient_id = '%s' AND "
		                    "state IN ('pending', 'claimed')", id);
		bool done = strcmp(left, "0") == 0;
		free(left);
		if (done)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	return query1("SELECT version FROM expedient WHERE id = '%s'", id);
}

static const char *const form_json =
	"{\"form\": {\"nif_entitat\": \"G12345674\", \"nom_entitat\": \"Associació Veïnal del Carme\", "
	"\"compte\": \"ES9121000418450200051332\", \"descripcio\": \"Festa del barri.\", "
	"\"pressupost\": \"5000\", \"import\": \"2500,50\", \"activitats.1.activitat\": \"Cercavila\", "
	"\"activitats.1.data\": \"2026-06-20\", \"activitats.2.activitat\": \"Sopar\", "
	"\"activitats.2.data\": \"2026-06-21\"}}";

static char *file_grant(struct who *citizen)
{
	struct http_response r;
	http_post_json(citizen->http, "/api/v1/tramits/PAR-004/expedients", form_json, citizen->csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	return id;
}

/* The employee asks for a correction from the back office with text (may be ""). */
static void request_fix(struct who *employee, const char *id, const char *version, const char *text,
                        struct http_response *r)
{
	char path[200], body[600];
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/actions/request_fix", id);
	char *escaped = http_form_escape(text);
	snprintf(body, sizeof(body), "csrf=%s&version=%s&reason=%s", employee->csrf, version, escaped);
	free(escaped);
	http_post_form(employee->http, path, body, r);
}

static const char *const asked = "Falta la memòria signada & el pressupost detallat <per partides>.";

Test(corrections, the_request_says_what_is_wrong_and_the_citizen_corrects_on_the_form)
{
	struct who maria = sign_in("X-Remote-User: 12345678Z", "ca", "/tramits/PAR-004/new");
	struct who pere = sign_in("X-Remote-User: employee:demo.empleat", "es", "/backoffice");
	struct who other = sign_in("X-Remote-User: 00000000T", "ca", "/tramits/PAR-004/new");
	char *id = file_grant(&maria);
	expect_sql("submitted", STATE, id);
	char *v1 = settled(id);

	/* The back office asks for the text beside the button; an empty one is refused. */
	char path[200];
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	struct http_response r;
	http_get(pere.http, path, &r);
	cr_expect(strstr(r.body, "<textarea name=\"reason\" id=\"reason-request_fix\" required") != NULL,
	          "%s", r.body);
	cr_expect(strstr(r.body, "id=\"reason-reject\"") == NULL, "rejecting needs no text");
	http_response_free(&r);
	request_fix(&pere, id, v1, " \r\n ", &r);
	cr_expect_eq(r.status, 422, "%ld", r.status);
	cr_expect(strstr(r.body, "<span class=\"error-message\" id=\"reason-request_fix-error\">Escriba qué "
	                 "debe subsanar la persona interesada.</span>") != NULL, "%s", r.body);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql(v1, "SELECT version FROM expedient WHERE id = '%s'", id);
	expect_sql("0", "SELECT count(*) FROM notification WHERE expedient_id = '%s'", id);

	request_fix(&pere, id, v1, asked, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	expect_sql("fixing", STATE, id);
	expect_sql(asked, "SELECT payload->>'reason' FROM event WHERE expedient_id = '%s' AND action = "
	           "'request_fix'", id);
	char *v2 = settled(id);
	expect_sql(asked, "SELECT content::json->>'reason' FROM notification WHERE expedient_id = '%s'", id);

	/* The citizen's page says what to do and offers the correction. */
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	http_get(maria.http, path, &r);
	cr_expect(strstr(r.body, "<h2 id=\"todo-h\">Què heu de fer</h2>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "<blockquote id=\"todo-reason\">Falta la memòria signada &amp; el "
	                 "pressupost detallat &lt;per partides&gt;.</blockquote>") != NULL, "%s", r.body);
	char want[300];
	snprintf(want, sizeof(want), "<a class=\"button\" id=\"action-fix\" href=\"/carpeta/expedients/%s/"
	         "actions/fix\">Esmenar</a>", id);
	cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "Motiu: Falta la memòria signada") != NULL, "the history shows the reason");
	http_response_free(&r);

	/* The form, pre-filled: money in euros, both activities, no draft. */
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/actions/fix", id);
	http_get(maria.http, path, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "value=\"Associació Veïnal del Carme\"") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "value=\"2500,50\"") != NULL, "money back in euros");
	cr_expect(strstr(r.body, "value=\"5000,00\"") != NULL, "money back in euros");
	cr_expect(strstr(r.body, "name=\"activitats.2.activitat\" required value=\"Sopar\"") != NULL,
	          "the second activity");
	cr_expect(strstr(r.body, "data-draft") == NULL && strstr(r.body, "id=\"save-draft\"") == NULL);
	snprintf(want, sizeof(want), "action=\"/carpeta/expedients/%s/actions/fix\"", id);
	cr_expect(strstr(r.body, want) != NULL, "the form posts to the correction");
	snprintf(want, sizeof(want), "name=\"version\" value=\"%s\"", v2);
	cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_assert_not_null(key);
	http_response_free(&r);

	/* Another citizen: not found, on the page and the post. */
	http_get(other.http, path, &r);
	cr_expect_eq(r.status, 404, "%ld", r.status);
	cr_expect(strstr(r.body, "Associació Veïnal") == NULL);
	http_response_free(&r);
	char body[1500];
	snprintf(body, sizeof(body), "csrf=%s&version=%s&submission=%s&_action=submit&nif_entitat=G12345674&"
	         "nom_entitat=Intrus&compte=ES9121000418450200051332&descripcio=x&pressupost=5000&import=1&"
	         "activitats.1.activitat=A&activitats.1.data=2026-06-20", other.csrf, v2, key);
	http_post_form(other.http, path, body, &r);
	cr_expect_eq(r.status, 404, "%ld", r.status);
	http_response_free(&r);
	expect_sql("fixing", STATE, id);

	/* A wrong answer: the form again with the message beside it; nothing changes. */
#define ANSWERS "nif_entitat=G12345674&nom_entitat=Associaci%%C3%%B3+Ve%%C3%%AFnal+del+Carme&" \
	                      "compte=ES9121000418450200051332&descripcio=Festa+del+barri+amb+pressupost.&" \
	                      "pressupost=6000&import=%s&activitats.1.activitat=Cercavila&" \
	                      "activitats.1.data=2026-06-20&activitats.2.activitat=Sopar&activitats.2.data=2026-06-21"
	char fields[800];
	snprintf(fields, sizeof(fields), ANSWERS, "9000");
	snprintf(body, sizeof(body), "csrf=%s&version=%s&submission=%s&_action=submit&%s", maria.csrf, v2, key, fields);
	http_post_form(maria.http, path, body, &r);
	cr_expect_eq(r.status, 422, "%ld", r.status);
	cr_expect(strstr(r.body, "«Import sol·licitat»: no pot superar el pressupost.") != NULL, "%s", r.body);
	http_response_free(&r);
	expect_sql("fixing", STATE, id);
	expect_sql(v2, "SELECT version FROM expedient WHERE id = '%s'", id);

	/* Corrected: registered again with its receipt, back to evaluation. */
	snprintf(fields, sizeof(fields), ANSWERS, "3000");
	snprintf(body, sizeof(body), "csrf=%s&version=%s&submission=%s&_action=submit&%s", maria.csrf, v2, key, fields);
	http_post_form(maria.http, path, body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	snprintf(want, sizeof(want), "/carpeta/expedients/%s?corrected=1", id);
	cr_expect_str_eq(r.location + strlen(r.location) - strlen(want), want);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql("300000", "SELECT data->>'import' FROM expedient WHERE id = '%s'", id);
	expect_sql("Festa del barri amb pressupost.", "SELECT data->>'descripcio' FROM expedient WHERE id = '%s'", id);
	expect_sql("2", "SELECT count(*) FROM registry_entry WHERE expedient_id = '%s'", id);
	char *second = query1("SELECT number FROM registry_entry WHERE expedient_id = '%s' ORDER BY seq DESC LIMIT 1", id);
	cr_expect(strlen(second) == 13 && strncmp(second, "E/", 2) == 0 && second[6] == '/', "%s", second);
	expect_sql("2", "SELECT count(*) FROM document WHERE kind = 'receipt' AND expedient_id = '%s'", id);

	/* The same post again (a second click): the state as it is now, no second transition. */
	http_post_form(maria.http, path, body, &r);
	cr_expect_eq(r.status, 303, "%ld", r.status);
	snprintf(want, sizeof(want), "/carpeta/expedients/%s?changed=1", id);
	cr_expect(strstr(r.location, want) != NULL, "%s", r.location);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql("2", "SELECT count(*) FROM registry_entry WHERE expedient_id = '%s'", id);
	expect_sql("1", "SELECT count(*) FROM event WHERE expedient_id = '%s' AND action = 'fix'", id);

	/* The receipt of the correction on the expedient's page. */
	snprintf(path, sizeof(path), "/carpeta/expedients/%s?corrected=1", id);
	http_get(maria.http, path, &r);
	cr_expect(strstr(r.body, "<div class=\"panel\" role=\"status\" id=\"corrected\">La vostra esmena "
	                 "s'ha presentat correctament i s'ha registrat.</div>") != NULL, "%s", r.body);
	snprintf(want, sizeof(want), "<td class=\"registry-number\">%s</td>", second);
	cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "id=\"todo\"") == NULL, "nothing more to do");
	http_response_free(&r);
	free(second);
	free(key);
	free(v1);
	free(v2);
	free(id);
	done(&maria);
	done(&pere);
	done(&other);
}

Test(corrections, through_the_api_the_reason_is_required_and_the_form_corrects)
{
	struct who maria = sign_in("X-Remote-User: 12345678Z", "ca", "/tramits/PAR-004/new");
	struct who pere = sign_in("X-Remote-User: employee:demo.empleat", "ca", "/backoffice");
	struct who other = sign_in("X-Remote-User: 00000000T", "ca", "/tramits/PAR-004/new");
	char *id = file_grant(&maria);
	char *v1 = settled(id), path[200], body[1200];
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/request_fix", id);
	struct http_response r;
	snprintf(body, sizeof(body), "{\"version\": %s}", v1);
	http_post_json(pere.http, path, body, pere.csrf, &r);
	cr_expect_eq(r.status, 422, "%ld", r.status);
	cr_expect(strstr(r.body, "\"code\":\"reason_required\"") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "\"ca\":\"Cal dir què ha de fer la persona interessada (\\\"reason\\\").\"") != NULL,
	          "%s", r.body);
	cr_expect(strstr(r.body, "\"es\":\"Hay que decir qué debe hacer la persona interesada (\\\"reason\\\").\"") != NULL,
	          "%s", r.body);
	http_response_free(&r);
	snprintf(body, sizeof(body), "{\"version\": %s, \"reason\": 42}", v1);
	http_post_json(pere.http, path, body, pere.csrf, &r);
	cr_expect_eq(r.status, 400, "%ld", r.status);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql(v1, "SELECT version FROM expedient WHERE id = '%s'", id);
	snprintf(body, sizeof(body), "{\"version\": %s, \"text\": \"Cal el NIF correcte.\"}", v1);
	http_post_json(pere.http, path, body, pere.csrf, &r);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	http_response_free(&r);
	expect_sql("Cal el NIF correcte.", "SELECT payload->>'reason' FROM event WHERE expedient_id = '%s' AND "
	           "action = 'request_fix'", id);
	char *v2 = settled(id);

	/* Someone else's expedient: 404; a stale version: 409 with the current state. */
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/fix", id);
	snprintf(body, sizeof(body), "{\"version\": %s, %s", v2, form_json + 1);
	http_post_json(other.http, path, body, other.csrf, &r);
	cr_expect_eq(r.status, 404, "%ld %s", r.status, r.body);
	http_response_free(&r);
	snprintf(body, sizeof(body), "{\"version\": %s, %s", v1, form_json + 1);
	http_post_json(maria.http, path, body, maria.csrf, &r);
	cr_expect_eq(r.status, 409, "%ld %s", r.status, r.body);
	char want[100];
	snprintf(want, sizeof(want), "\"state\":\"fixing\",\"version\":%s}", v2);
	cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
	http_response_free(&r);
	/* A file named by hash that the expedient does not hold is refused. */
	snprintf(body, sizeof(body), "{\"version\": %s, \"form\": {\"memoria\": \"m.pdf|10|"
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}", v2);
	http_post_json(maria.http, path, body, maria.csrf, &r);
	cr_expect_eq(r.status, 422, "%ld %s", r.status, r.body);
	cr_expect(strstr(r.body, "\"field\":\"memoria\",\"message\":{\"ca\":\"«Memòria del projecte»: adjunteu els "
	                 "fitxers amb el formulari de la seu.\"") != NULL, "%s", r.body);
	http_response_free(&r);
	expect_sql("fixing", STATE, id);
	expect_sql(v2, "SELECT version FROM expedient WHERE id = '%s'", id);
	snprintf(body, sizeof(body), "{\"version\": %s, %s", v2, form_json + 1);
	http_post_json(maria.http, path, body, maria.csrf, &r);
	cr_expect_eq(r.status, 200, "%ld %s", r.status, r.body);
	cr_expect(strstr(r.body, "\"state\":\"submitted\"") != NULL, "%s", r.body);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql("2", "SELECT count(*) FROM registry_entry WHERE expedient_id = '%s'", id);
	free(v1);
	free(v2);
	free(id);
	done(&maria);
	done(&pere);
	done(&other);
}

/* A representative acting for the applicant under a mandate for PAR-004 corrects for them;
 * the event records whom they represent. */
Test(corrections, a_representative_under_a_mandate_corrects_for_the_applicant)
{
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s mandates add "
	                       "99999999R 12345678Z --to 2099-12-31 --tramit PAR-004 --import test 2>&1",
	                       srv.cluster.conninfo, TRAMIT_BINARY), 0, "%s", out);
	free(out);
	struct who maria = sign_in("X-Remote-User: 12345678Z", "ca", "/tramits/PAR-004/new");
	struct who pere = sign_in("X-Remote-User: employee:demo.empleat", "ca", "/backoffice");
	struct who rep = sign_in("X-Remote-User: 99999999R", "es", "/carpeta/representacio");
	char *id = file_grant(&maria);
	char *v1 = settled(id);
	struct http_response r;
	request_fix(&pere, id, v1, "Falta el NIF del tresorer.", &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	char *v2 = settled(id), path[200], body[1500];
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/actions/fix", id);
	http_get(rep.http, path, &r);
	cr_expect_eq(r.status, 404, "not acting for Maria yet: %ld", r.status);
	http_response_free(&r);
	snprintf(body, sizeof(body), "csrf=%s&as=12345678Z", rep.csrf);
	http_post_form(rep.http, "/carpeta/representacio", body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	snprintf(body, sizeof(body), "/carpeta/expedients/%s", id);
	http_get(rep.http, body, &r);
	cr_expect(strstr(r.body, "<blockquote id=\"todo-reason\">Falta el NIF del tresorer.</blockquote>") != NULL,
	          "%s", r.body);
	cr_expect(strstr(r.body, ">Subsanar</a>") != NULL, "%s", r.body);
	http_response_free(&r);
	http_get(rep.http, path, &r);
	cr_assert_eq(r.status, 200, "%ld", r.status);
	cr_expect(strstr(r.body, "value=\"Associació Veïnal del Carme\"") != NULL, "%s", r.body);
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	http_response_free(&r);
	snprintf(body, sizeof(body), "csrf=%s&version=%s&submission=%s&_action=submit&nif_entitat=G12345674&"
	         "nom_entitat=Associaci%%C3%%B3+Ve%%C3%%AFnal+del+Carme&compte=ES9121000418450200051332&"
	         "descripcio=Festa.&pressupost=5000&import=2500&activitats.1.activitat=Cercavila&"
	         "activitats.1.data=2026-06-20", rep.csrf, v2, key);
	http_post_form(rep.http, path, body, &r);
	cr_expect_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	expect_sql("submitted", STATE, id);
	expect_sql("99999999R|12345678Z", "SELECT actor_id || '|' || (payload->>'represents') FROM event "
	           "WHERE expedient_id = '%s' AND action = 'fix'", id);
	free(key);
	free(v1);
	free(v2);
	free(id);
	done(&maria);
	done(&pere);
	done(&rep);
}
