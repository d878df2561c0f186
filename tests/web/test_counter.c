/* Assisted filing at the counter (art. 12 LPAC) against the real server and a real PostgreSQL:
 * an authorised official (demo.empleat holds "habilitat") files GEN-001 for a person the
 * entity did not know; the registry entry, receipt, event and consent row say who filed for
 * whom; the person signs in (named by a trusted reverse-proxy header) and finds it in their
 * Carpeta. A missing consent, a bad NIF or a form error store nothing; a double submit files
 * once; employees without the role, citizens and the API's callers without it are refused.
 * GEN-001 is the catalogue's, with "employee" among who may apply (the designer's opt-in). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"
#include "tests/support/shell.h"

#define PERSON "45678901G"
#define PERSON_NAME "Joan Nou Prova"

static struct test_server srv;
static char work[64];

static void setup(void)
{
	snprintf(work, sizeof(work), "/tmp/counter-XXXXXX");
	cr_assert_not_null(mkdtemp(work));
	/* The catalogue as it is: GEN-001 and PAD-005 admit an employee filing for a person. */
	static char dir[128];
	snprintf(dir, sizeof(dir), "%s/tramits", TRAMIT_SOURCE_DIR);
	/* The real antivirus (libclamav) with one test signature: the md5 of virus.pdf. */
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "cd '%s' && mkdir clamav && printf '%%%%PDF-1.4 signed consent\\n' > "
	                       "scan.pdf && printf '%%%%PDF-1.4 counter test virus\\n' > virus.pdf && "
	                       "echo \"$(md5sum < virus.pdf | cut -c1-32):$(wc -c < virus.pdf):Tramit.Test.Counter\" "
	                       "> clamav/counter.hdb && echo '{\"antivirus\": {\"database_dir\": \"'\"$PWD\"'/clamav\"}}' "
	                       "> connectors.json 2>&1", work), 0, "%s", out);
	free(out);
	static char conn[128];
	snprintf(conn, sizeof(conn), "TRAMIT_CONNECTORS_CONFIG=%s/connectors.json", work);
	const char *const env[] = {"TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=127.0.0.1",
	                           "TRAMIT_CALENDARS_DIR=" TRAMIT_SOURCE_DIR "/tramits/calendars", conn, NULL};
	struct test_server_options opt = {.env = env, .tramits_dir = dir};
	test_server_start(&srv, &opt);
	cr_assert_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s employee add clara "
	                       "--name 'Clara Registre' --role tramitador@registre 2>&1", srv.cluster.conninfo,
	                       TRAMIT_BINARY), 0, "%s", out);
	free(out);
}

static void teardown(void)
{
	test_server_stop(&srv);
	char *out = NULL;
	shell_run(&out, NULL, "rm -rf '%s'", work);
	free(out);
}

TestSuite(counter, .init = setup, .fini = teardown, .timeout = 240);

static char *sql1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql1(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "(null)");
	PQclear(r);
	return v;
}

static void expect_sql(const char *want, const char *sql)
{
	char *got = sql1("%s", sql);
	cr_expect_str_eq(got, want, "%s", sql);
	free(got);
}

/* What the filing writes: expedients, registry entries, consents, people. */
static char *stored(void)
{
	return sql1("SELECT (SELECT count(*) FROM expedient) || '/' || (SELECT count(*) FROM registry_entry) "
	            "|| '/' || (SELECT count(*) FROM counter_consent) || '/' || (SELECT count(*) FROM person)");
}

struct who {
	struct http_client *http;
	char *csrf;
};

static struct who sign_in(const char *header_value, const char *page, const char *lang)
{
	struct who w = {.http = http_client_new(srv.port, lang)};
	char header[96];
	snprintf(header, sizeof(header), "X-Remote-User: %s", header_value);
	http_client_header(w.http, header);
	struct http_response r;
	http_get(w.http, page, &r);
	w.csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(w.csrf, "%s has no session on %s (%ld)", header_value, page, r.status);
	http_response_free(&r);
	return w;
}

static void who_free(struct who *w)
{
	http_client_free(w->http);
	free(w->csrf);
}

static void expect_contains(const struct http_response *r, const char *needle)
{
	cr_expect(strstr(r->body, needle) != NULL, "expected «%s» in:\n%.3000s", needle, r->body);
}

/* The person's details and the tràmit, urlencoded (names with ':' escaped). */
static void person_body(char *out, size_t n, const struct who *w, const char *step, const char *nif)
{
	snprintf(out, n, "csrf=%s&_step=%s&counter%%3Anif=%s&counter%%3Aname=Joan+Nou+Prova&"
	         "counter%%3Aemail=joan%%40example.org&counter%%3Alang=es&counter%%3Atramit=GEN-001",
	         w->csrf, step, nif);
}

/* Step 1 for PERSON; returns step 2's submission key. */
static char *identify(struct who *w)
{
	char body[600];
	person_body(body, sizeof(body), w, "identify", PERSON);
	struct http_response r;
	http_post_form(w->http, "/backoffice/counter", body, &r);
	cr_assert_eq(r.status, 200, "%.2000s", r.body);
	expect_contains(&r, "id=\"f-assumpte\"");
	expect_contains(&r, "id=\"c-consent\"");
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_assert_not_null(key);
	http_response_free(&r);
	return key;
}

/* Step 2: the form and the consent; consent NULL leaves the box unticked; method and docnumber
 * NULL are "in_person" and the person's DNI as typed at the counter. */
static void file_as(struct who *w, const char *key, const char *assumpte, const char *consent,
                    const char *method, const char *docnumber, struct http_response *r)
{
	char body[2000], person[600];
	person_body(person, sizeof(person), w, "file", PERSON);
	snprintf(body, sizeof(body), "%s&submission=%s&_action=file&assumpte=%s&exposa=Fets+a+l%%27oficina&"
	         "solicita=Una+resposta&idioma=es%s%s&counter%%3Amethod=%s&counter%%3Adoctype=dni&"
	         "counter%%3Adocnumber=%s", person, key, assumpte, consent ? "&counter%3Aconsent=" : "",
	         consent ? consent : "", method ? method : "in_person", docnumber ? docnumber : "45678901g");
	http_post_form(w->http, "/backoffice/counter", body, r);
}

static void file(struct who *w, const char *key, const char *assumpte, const char *consent,
                 struct http_response *r)
{
	file_as(w, key, assumpte, consent, NULL, NULL, r);
}

static int year_now(void)
{
	char *y = sql1("SELECT extract(year FROM now() AT TIME ZONE 'Europe/Madrid')::int");
	int v = atoi(y);
	free(y);
	return v;
}

Test(counter, official_files_for_a_new_person_who_finds_it_in_their_carpeta)
{
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "ca");
	struct http_response r;
	http_get(official.http, "/backoffice/counter", &r);
	cr_assert_eq(r.status, 200);
	expect_contains(&r, "<option value=\"GEN-001\">GEN-001: Instància general</option>");
	expect_contains(&r, "href=\"/backoffice/counter\""); /* the header's link */
	http_response_free(&r);
	expect_sql("0", "SELECT count(*) FROM person WHERE nif = '" PERSON "'");
	char *key = identify(&official);
	file(&official, key, "Llum+del+carrer", "yes", &r);
	cr_assert_eq(r.status, 303, "%.3000s", r.body);
	char *id = sql1("SELECT id FROM expedient WHERE applicant_nif = '" PERSON "'");
	char want[200];
	snprintf(want, sizeof(want), "/backoffice/counter/receipts/%s", id);
	cr_expect_str_eq(r.location, want);
	http_response_free(&r);

	/* The expedient is the person's; the registry entry and the consent name the official. */
	char number[32], q[400];
	snprintf(number, sizeof(number), "E/%d/000001", year_now());
	snprintf(q, sizeof(q), "SELECT applicant_name || '|' || lang || '|' || registry_number FROM expedient "
	         "WHERE id = '%s'", id);
	char line[200];
	snprintf(line, sizeof(line), PERSON_NAME "|es|%s", number);
	expect_sql(line, q);
	snprintf(q, sizeof(q), "SELECT number || '|' || party_nif || '|' || party_name || '|' || channel || '|' "
	         "|| filed_by || '|' || filed_by_name FROM registry_entry WHERE expedient_id = '%s'", id);
	snprintf(line, sizeof(line), "%s|" PERSON "|" PERSON_NAME "|assistit|demo.empleat|Pere Demo Empleat", number);
	expect_sql(line, q);
	snprintf(q, sizeof(q), "SELECT official || '|' || official_name || '|' || person_nif || '|' || person_name "
	         "|| '|' || method || '|' || id_document_type || '|' || id_document || '|' || registry_number || '|' "
	         "|| (scan IS NULL) || '|' || (abs(extract(epoch FROM now() - given_at)) < 60) FROM counter_consent "
	         "WHERE expedient_id = '%s'", id);
	snprintf(line, sizeof(line), "demo.empleat|Pere Demo Empleat|" PERSON "|" PERSON_NAME
	         "|in_person|dni|" PERSON "|%s|true|true", number);
	expect_sql(line, q);
	expect_sql(PERSON_NAME "|joan@example.org|es",
	           "SELECT name || '|' || email || '|' || lang FROM person WHERE nif = '" PERSON "'");
	/* The event: the official acted, for the person, under the consent recorded. */
	snprintf(q, sizeof(q), "SELECT e.actor_kind || '|' || e.actor_id || '|' || (e.payload->>'represents') || '|' "
	         "|| (e.payload->'assisted'->>'consent' = k.id::text) || '|' || (e.payload->'assisted'->>'method') "
	         "FROM event e JOIN counter_consent k ON k.expedient_id = e.expedient_id WHERE e.expedient_id = '%s'", id);
	expect_sql("employee|demo.empleat|" PERSON "|true|in_person", q);
	snprintf(q, sizeof(q), "SELECT convert_from(content, 'UTF8')::json->>'assisted' FROM document WHERE "
	         "kind = 'receipt' AND expedient_id = '%s'", id);
	expect_sql("{\"channel\":\"assistit\",\"consent\":\"in_person\",\"official\":\"demo.empleat\","
	           "\"official_name\":\"Pere Demo Empleat\"}", q);
	/* The consent is a record: the database refuses to change or delete it. */
	PGresult *res = PQexec(srv.conn, "UPDATE counter_consent SET person_name = 'Altre'");
	cr_expect_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	cr_expect(strstr(PQresultErrorMessage(res), "never changes") != NULL, "%s", PQresultErrorMessage(res));
	PQclear(res);

	/* The receipt for the person, in their language (es) while the official reads ca. */
	snprintf(want, sizeof(want), "/backoffice/counter/receipts/%s", id);
	http_get(official.http, want, &r);
	cr_assert_eq(r.status, 200, "%.2000s", r.body);
	char *csv = sql1("SELECT receipt_csv FROM expedient WHERE id = '%s'", id);
	char needle[300];
	snprintf(needle, sizeof(needle), "<dd id=\"registry-number\">%s</dd>", number);
	expect_contains(&r, needle);
	snprintf(needle, sizeof(needle), "<dd class=\"csv\" id=\"csv\">%s</dd>", csv);
	expect_contains(&r, needle);
	expect_contains(&r, "<section id=\"receipt\" lang=\"es\"><h1>Justificante de presentación</h1>");
	expect_contains(&r, "<p id=\"assisted\">Presentada en la oficina con la asistencia de Pere Demo Empleat "
	                    "(demo.empleat), funcionario habilitado, en nombre de Joan Nou Prova (" PERSON "), con su "
	                    "consentimiento expreso (art. 12 de la Ley 39/2015).</p>");
	expect_contains(&r, "<p id=\"consent-how\">Consentimiento: en persona, mostrando el documento de identidad; "
	                    "DNI " PERSON ".</p>");
	expect_contains(&r, "id=\"filed\">La sol·licitud s'ha presentat."); /* the official's language */
	http_response_free(&r);

	/* The back office's history says who filed it for whom. */
	snprintf(want, sizeof(want), "/backoffice/expedients/%s", id);
	http_get(official.http, want, &r);
	cr_assert_eq(r.status, 200);
	expect_contains(&r, "<p id=\"counter-filing\">Presentada a l'oficina amb l'assistència de Pere Demo Empleat "
	                    "(demo.empleat), funcionari habilitat, en nom de Joan Nou Prova (" PERSON "), amb el seu "
	                    "consentiment exprés (art. 12 de la Llei 39/2015).");
	http_response_free(&r);

	/* The person signs in and finds it in their Carpeta, with the same line. */
	struct who person = sign_in(PERSON, "/carpeta", "ca");
	http_get(person.http, "/carpeta", &r);
	cr_assert_eq(r.status, 200);
	snprintf(needle, sizeof(needle), "href=\"/carpeta/expedients/%s\"", id);
	expect_contains(&r, needle);
	http_response_free(&r);
	snprintf(want, sizeof(want), "/carpeta/expedients/%s", id);
	http_get(person.http, want, &r);
	cr_assert_eq(r.status, 200);
	expect_contains(&r, "Llum del carrer");
	expect_contains(&r, "en nom de Joan Nou Prova (" PERSON "), amb el seu consentiment exprés");
	http_response_free(&r);
	expect_sql(PERSON_NAME, "SELECT name FROM person WHERE nif = '" PERSON "'"); /* the row was reused */
	/* The hash chain verifies and the expedient replays from its events (official and person). */
	char *out = NULL;
	cr_expect_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_TRAMITS_DIR='%s/tramits' %s audit replay "
	                       "2>&1", srv.cluster.conninfo, TRAMIT_SOURCE_DIR, TRAMIT_BINARY), 0, "%s", out);
	cr_expect_str_eq(out, "1 expedient, 1 event replayed: every expedient reproduces\n");
	free(out);
	cr_expect_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' %s audit verify 2>&1", srv.cluster.conninfo,
	                       TRAMIT_BINARY), 0, "%s", out);
	free(out);
	free(csv);
	free(key);
	free(id);
	who_free(&person);
	who_free(&official);
}

Test(counter, double_submit_files_once)
{
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "ca");
	char *key = identify(&official);
	struct http_response a, b;
	file(&official, key, "Dues+vegades", "yes", &a);
	file(&official, key, "Dues+vegades", "yes", &b);
	cr_assert_eq(a.status, 303, "%.2000s", a.body);
	cr_assert_eq(b.status, 303, "%.2000s", b.body);
	cr_expect_str_eq(a.location, b.location);
	char *s = stored();
	cr_expect_str_eq(s, "1/1/1/2", "expedients/entries/consents/people");
	free(s);
	http_response_free(&a);
	http_response_free(&b);
	free(key);
	who_free(&official);
}

Test(counter, missing_consent_or_a_form_error_stores_nothing)
{
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "ca");
	char *key = identify(&official);
	char *before = stored();
	struct http_response r;
	file(&official, key, "Sense+consentiment", NULL, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "<span class=\"error-message\" id=\"e-c-consent\">Cal el consentiment exprés de la "
	                    "persona per a presentar en el seu nom.</span>");
	expect_contains(&r, "<a href=\"#c-consent\">Cal el consentiment exprés");
	expect_contains(&r, "value=\"Sense consentiment\""); /* the answers are kept */
	http_response_free(&r);
	/* A form error and a document that is not the person's, beside their fields. */
	file_as(&official, key, "", "yes", NULL, "12345678Z", &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "id=\"e-assumpte\"");
	expect_contains(&r, "<span class=\"error-message\" id=\"e-c-docnumber\">El número del DNI o NIE mostrat no "
	                    "coincideix amb el NIF o NIE de la persona.</span>");
	http_response_free(&r);
	/* A signed form without its scan. */
	file_as(&official, key, "Signat", "yes", "signed_form", NULL, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "<span class=\"error-message\" id=\"e-c-scan\">Adjunteu l&#39;escaneig del formulari de "
	                    "consentiment signat.</span>");
	http_response_free(&r);
	/* The counter's own value twice: which one would hold? Refused. */
	file_as(&official, key, "Dos+metodes", "yes", "in_person&counter%3Amethod=signed_form", NULL, &r);
	cr_expect_eq(r.status, 400);
	http_response_free(&r);
	char *after = stored();
	cr_expect_str_eq(after, before, "nothing stored");
	free(before);
	free(after);
	free(key);
	who_free(&official);
}

Test(counter, bad_nif_is_refused_beside_its_field)
{
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "es");
	char *before = stored();
	char body[600];
	person_body(body, sizeof(body), &official, "identify", "45678901A");
	struct http_response r;
	http_post_form(official.http, "/backoffice/counter", body, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "<span class=\"error-message\" id=\"e-c-nif\">El NIF o NIE no es válido: compruebe los "
	                    "números y la letra de control.</span>");
	expect_contains(&r, "value=\"45678901A\"");
	http_response_free(&r);
	/* The same at the last step: nothing filed. */
	person_body(body, sizeof(body), &official, "file", "45678901A");
	strcat(body, "&assumpte=A&exposa=B&solicita=C&idioma=ca&counter%3Aconsent=yes&counter%3Amethod=in_person"
	             "&counter%3Adoctype=dni&counter%3Adocnumber=45678901A");
	http_post_form(official.http, "/backoffice/counter", body, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "id=\"e-c-nif\"");
	http_response_free(&r);
	char *after = stored();
	cr_expect_str_eq(after, before, "nothing stored");
	free(before);
	free(after);
	who_free(&official);
}

Test(counter, only_authorised_officials_reach_it)
{
	struct who clara = sign_in("employee:clara", "/backoffice", "ca");
	struct who citizen = sign_in("12345678Z", "/carpeta", "ca");
	struct who *refused[] = {&clara, &citizen};
	for (int i = 0; i < 2; i++) {
		struct http_response r;
		http_get(refused[i]->http, "/backoffice/counter", &r);
		cr_expect_eq(r.status, 404, "GET /backoffice/counter answered %ld", r.status);
		cr_expect(strstr(r.body, "counter-identify") == NULL);
		http_response_free(&r);
		char body[600];
		person_body(body, sizeof(body), refused[i], "identify", PERSON);
		http_post_form(refused[i]->http, "/backoffice/counter", body, &r);
		cr_expect_eq(r.status, 404);
		http_response_free(&r);
		http_post_json(refused[i]->http, "/api/v1/counter/expedients", "{}", refused[i]->csrf, &r);
		cr_expect_eq(r.status, 404);
		expect_contains(&r, "\"code\":\"not_found\"");
		http_response_free(&r);
		http_get(refused[i]->http, "/backoffice", &r);
		cr_expect(strstr(r.body, "href=\"/backoffice/counter\"") == NULL, "no link without the role");
		http_response_free(&r);
	}
	struct http_client *anon = http_client_new(srv.port, "ca");
	struct http_response r;
	http_get(anon, "/backoffice/counter", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/login?next=%2Fbackoffice%2Fcounter");
	http_response_free(&r);
	http_client_free(anon);
	who_free(&clara);
	who_free(&citizen);
}

Test(counter, api_files_for_the_person_and_wants_consent)
{
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "ca");
	const char *form = "\"tramit\": \"GEN-001\", \"form\": {\"assumpte\": \"Per API\", \"exposa\": \"Fets\", "
	                   "\"solicita\": \"Res\", \"idioma\": \"ca\"}, \"applicant\": {\"nif\": \"" PERSON "\", "
	                   "\"name\": \"" PERSON_NAME "\", \"lang\": \"ca\"}";
	char body[1000];
	snprintf(body, sizeof(body), "{%s}", form);
	char *before = stored();
	struct http_response r;
	http_post_json(official.http, "/api/v1/counter/expedients", body, official.csrf, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "\"code\":\"consent_required\"");
	expect_contains(&r, "\"message\":{\"ca\":\"Cal el consentiment exprés de la persona per a presentar en el seu "
	                    "nom (art. 12 de la Llei 39/2015).\",\"es\":\"Es necesario el consentimiento expreso de la "
	                    "persona para presentar en su nombre (art. 12 de la Ley 39/2015).\"}");
	http_response_free(&r);
	snprintf(body, sizeof(body), "{%s, \"consent\": {\"given\": false, \"method\": \"in_person\"}}", form);
	http_post_json(official.http, "/api/v1/counter/expedients", body, official.csrf, &r);
	cr_expect_eq(r.status, 422);
	expect_contains(&r, "\"code\":\"consent_required\"");
	http_response_free(&r);
	char *after = stored();
	cr_expect_str_eq(after, before, "nothing stored");
	free(after);
	snprintf(body, sizeof(body), "{%s, \"consent\": {\"given\": true, \"method\": \"in_person\", \"document\": "
	         "{\"type\": \"passport\", \"number\": \"XDA123456\"}}}", form);
	http_post_json_key(official.http, "/api/v1/counter/expedients", body, official.csrf, "api-counter-0001", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	char needle[200];
	snprintf(needle, sizeof(needle), "\"registry\":{\"channel\":\"assistit\",\"number\":\"E/%d/000001\"", year_now());
	expect_contains(&r, needle);
	expect_contains(&r, "\"applicant\":{\"name\":\"" PERSON_NAME "\",\"nif\":\"" PERSON "\"}");
	http_response_free(&r);
	http_post_json_key(official.http, "/api/v1/counter/expedients", body, official.csrf, "api-counter-0001", &r);
	cr_expect_eq(r.status, 201);
	char *again = http_extract(r.body, "\"id\":\"", '"');
	cr_expect_str_eq(again, id, "a repeat answers with the first filing");
	http_response_free(&r);
	expect_sql("passport|XDA123456|1", "SELECT id_document_type || '|' || id_document || '|' || count(*) OVER () "
	                                   "FROM counter_consent");
	free(id);
	free(again);
	free(before);
	who_free(&official);
}

/* A multipart post of step 2 with the consent's scan, through curl (cookies in a jar, the
 * session's CSRF token read from the page); *status and *location from the answer. */
static void file_with_scan(const char *scan, char *status, size_t n)
{
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "cd '%s' && H='X-Remote-User: employee:demo.empleat' && "
	                       "U=http://127.0.0.1:%d/backoffice/counter && curl -s -c jar -b jar -H \"$H\" $U > p1 && "
	                       "T=$(sed -n 's/.*name=\"csrf\" value=\"\\([^\"]*\\)\".*/\\1/p' p1) && "
	                       "curl -s -o p2 -w '%%{http_code} %%{redirect_url}' -c jar -b jar -H \"$H\" -F csrf=$T "
	                       "-F _step=file -F _action=file -F submission=scan-%s-0001 -F counter:nif=" PERSON " "
	                       "-F 'counter:name=" PERSON_NAME "' -F counter:lang=ca -F counter:tramit=GEN-001 "
	                       "-F assumpte=Amb+escaneig -F exposa=Fets -F solicita=Res -F idioma=ca "
	                       "-F counter:consent=yes -F counter:method=signed_form -F counter:doctype=dni "
	                       "-F counter:docnumber=" PERSON " -F 'counter:scan=@%s;type=application/pdf' $U",
	                       work, srv.port, scan, scan), 0, "%s", out);
	snprintf(status, n, "%s", out);
	free(out);
}

Test(counter, signed_form_keeps_its_scan_after_the_antivirus)
{
	char *before = stored(), status[300];
	file_with_scan("virus.pdf", status, sizeof(status));
	cr_expect_str_eq(status, "422 ");
	char *page = NULL;
	shell_run(&page, NULL, "cat '%s/p2'", work);
	cr_expect(strstr(page, "<span class=\"error-message\" id=\"e-c-scan\">L&#39;escaneig no ha passat "
	                       "l&#39;anàlisi de l&#39;antivirus i no s&#39;accepta.</span>") != NULL, "%.3000s", page);
	free(page);
	char *after = stored();
	cr_expect_str_eq(after, before, "nothing stored");
	free(after);
	free(before);

	file_with_scan("scan.pdf", status, sizeof(status));
	char *id = sql1("SELECT id FROM expedient WHERE applicant_nif = '" PERSON "'");
	char want[300];
	snprintf(want, sizeof(want), "303 http://127.0.0.1:%d/backoffice/counter/receipts/%s", srv.port, id);
	cr_expect_str_eq(status, want);
	char *sha = NULL;
	shell_run(&sha, NULL, "sha256sum < '%s/scan.pdf' | cut -c1-64 | tr -d '\\n'", work);
	char q[300], line[200];
	snprintf(q, sizeof(q), "SELECT method || '|' || scan_media_type || '|' || scan_sha256 || '|' || length(scan) "
	         "FROM counter_consent WHERE expedient_id = '%s'", id);
	snprintf(line, sizeof(line), "signed_form|application/pdf|%s|24", sha);
	expect_sql(line, q);
	/* The official downloads the scan as it was attached. */
	struct who official = sign_in("employee:demo.empleat", "/backoffice/counter", "ca");
	struct http_response r;
	snprintf(want, sizeof(want), "/backoffice/counter/receipts/%s", id);
	http_get(official.http, want, &r);
	expect_contains(&r, "Consentiment: en un formulari en paper signat, escanejat i adjuntat; DNI " PERSON ".");
	http_response_free(&r);
	snprintf(want, sizeof(want), "/backoffice/counter/consents/%s/scan", id);
	http_get(official.http, want, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/pdf");
	cr_expect(r.len == 24 && memcmp(r.body, "%PDF-1.4 signed consent\n", 24) == 0, "%.*s", (int)r.len, r.body);
	http_response_free(&r);
	free(sha);
	free(id);
	who_free(&official);
}
