/* Dynamic forms end to end, against the real server, a real PostgreSQL and libclamav with a
 * test signature: repeatable groups added and removed without JavaScript, conditional fields
 * hidden by the tràmit's own rule, fees refreshed with the answers, drafts saved, resumed,
 * listed, deleted and expired (and never seen by anyone else), the review page before filing,
 * files that survive to the review and are kept when the form comes back with an error, and
 * bad posts refused with a message. The catalogue is the real one: PAR-004 (a group and an
 * upload), PAD-005 (a conditional field), VIA-001 (a tariff fee), GEN-001. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define MARIA "12345678Z"
#define JOAN "87654321X"
#define ASSOC "G12345674"
#define BOUNDARY "----tramit-forms-boundary-3Jq"

static struct eng_pgcluster cluster;
static PGconn *db;
static pid_t server;
static int port;

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* tariff_anchor: NULL serves the source tree's catalogue; otherwise VIA-001 alone, with that line
 * of its fee replaced by a tariff that follows its ordinance's versions. */
static void start(const char *tariff_anchor)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	char dbdir[700], path[800];
	snprintf(dbdir, sizeof(dbdir), "%s/clamav", cluster.dir);
	cr_assert_eq(mkdir(dbdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/tramit-test.hdb", dbdir);
	write_text(path, "44d88612fea8a8f36de82e1278abb02f:68:Tramit.Test.EICAR\n");
	snprintf(path, sizeof(path), "%s/connectors.json", cluster.dir);
	char json[800];
	snprintf(json, sizeof(json), "{\"antivirus\": {\"database_dir\": \"%s\"}}", dbdir);
	write_text(path, json);
	static char env_db[1200], env_dir[700], env_port[32], env_cal[700], env_conn[900], log_path[700];
	port = http_free_port();
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	if (tariff_anchor)
		shell_tramit_variant(cluster.dir, "via-publica/terrassa.lua", tariff_anchor,
		                     "amount = tariff { by = \"temporada\", per = \"m2\", ordinance = \"Ordenança fiscal 12\",\n"
		                     "\t\t\t\tversions = { { from = \"2020-01-01\", rates = { anual = 1400, estiu = 800 } },\n"
		                     "\t\t\t\t             { from = \"2026-01-01\", rates = { anual = 1500 } } } },");
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", tariff_anchor ? cluster.dir : TRAMIT_SOURCE_DIR);
	snprintf(env_cal, sizeof(env_cal), "TRAMIT_CALENDARS_DIR=%s/tramits/calendars", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", path);
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_dir, env_cal, env_port, env_conn, "TRAMIT_DRAFT_DAYS=7",
	                     "TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=127.0.0.1", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
	db = pgtmp_connect(&cluster);
}

static void setup(void)
{
	start(NULL);
}

static void setup_versioned(void)
{
	start("amount = tariff { by = \"temporada\", per = \"m2\", rates = { anual = 1500, estiu = 900 } },");
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	PQfinish(db);
	pgtmp_stop(&cluster);
}

TestSuite(forms, .init = setup, .fini = teardown, .timeout = 240);
TestSuite(forms_versioned, .init = setup_versioned, .fini = teardown, .timeout = 240);

static long long count(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* A person signed in through the trusted header, with their cookies and CSRF token. */
struct who {
	CURL *curl;
	char header[64];
	char *csrf;
};

struct reply {
	long status;
	char *body;
	size_t len;
	char location[512];
};

static size_t on_body(char *p, size_t size, size_t n, void *payload)
{
	struct reply *r = payload;
	r->body = realloc(r->body, r->len + size * n + 1);
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *payload)
{
	struct reply *r = payload;
	if (size * n > 10 && strncasecmp(p, "Location: ", 10) == 0) {
		snprintf(r->location, sizeof(r->location), "%.*s", (int)(size * n - 10), p + 10);
		r->location[strcspn(r->location, "\r\n")] = '\0';
	}
	return size * n;
}

/* method: "GET", "POST", "PUT", "DELETE"; ctype and body NULL for none; lang "ca" or "es". */
static struct reply send_as(struct who *w, const char *method, const char *path, const char *ctype,
                            const char *body, size_t len, const char *lang)
{
	struct reply r = {.body = calloc(1, 1)};
	char url[1024], ct[256], csrf[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct curl_slist *h = curl_slist_append(NULL, w->header);
	h = curl_slist_append(h, strcmp(lang, "es") == 0 ? "Accept-Language: es" : "Accept-Language: ca");
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	if (w->csrf) {
		snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", w->csrf);
		h = curl_slist_append(h, csrf);
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(w->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->curl, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(w->curl, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(w->curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(w->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(w->curl);
	curl_slist_free_all(h);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &r.status);
	return r;
}

static struct reply get(struct who *w, const char *path)
{
	return send_as(w, "GET", path, NULL, NULL, 0, "ca");
}

/* A urlencoded post of the form; body without the csrf token, which is added. */
static struct reply post(struct who *w, const char *path, const char *body)
{
	char *full = malloc(strlen(body) + 200);
	sprintf(full, "csrf=%s%s%s", w->csrf, *body ? "&" : "", body);
	struct reply r = send_as(w, "POST", path, "application/x-www-form-urlencoded", full, strlen(full), "ca");
	free(full);
	return r;
}

static struct who *who_new(const char *principal)
{
	struct who *w = calloc(1, sizeof(*w));
	w->curl = curl_easy_init();
	snprintf(w->header, sizeof(w->header), "X-Remote-User: %s", principal);
	curl_easy_setopt(w->curl, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(w->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 60L);
	struct reply r = get(w, "/carpeta");
	cr_assert_eq(r.status, 200, "%s signs in: %ld", principal, r.status);
	w->csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(w->csrf);
	free(r.body);
	return w;
}

static void who_free(struct who *w)
{
	curl_easy_cleanup(w->curl);
	free(w->csrf);
	free(w);
}

static void has(const struct reply *r, const char *text)
{
	cr_expect(r->body && strstr(r->body, text) != NULL, "expected «%s» in the answer (%ld):\n%.3000s",
	          text, r->status, r->body);
}

static void lacks(const struct reply *r, const char *text)
{
	cr_expect(!r->body || strstr(r->body, text) == NULL, "did not expect «%s» in the answer (%ld)",
	          text, r->status);
}

#define PAR "/tramits/PAR-004/new"
#define PAR_BASE "nif_entitat=" ASSOC "&nom_entitat=Associaci%C3%B3+del+Carme&compte=ES9121000418450200051332" \
                 "&descripcio=Festa&pressupost=5000&import=2500"

Test(forms, groups_grow_and_shrink_without_javascript)
{
	struct who *w = who_new(ASSOC);
	struct reply r = get(w, PAR);
	cr_assert_eq(r.status, 200);
	/* min = 1: one instance from the start, not removable; an "add" button. */
	has(&r, "<fieldset class=\"group\" id=\"g-activitats\">");
	has(&r, "<input type=\"text\" id=\"f-activitats-1-activitat\" name=\"activitats.1.activitat\" required");
	has(&r, "id=\"add-activitats\"");
	lacks(&r, "id=\"remove-activitats-1\"");
	lacks(&r, "f-activitats-2-activitat");
	free(r.body);

	r = post(w, PAR, PAR_BASE "&activitats.1.activitat=Cercavila&activitats.1.data=2026-06-20&_action=add%3Aactivitats");
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "name=\"activitats.1.activitat\" required value=\"Cercavila\"");
	has(&r, "id=\"f-activitats-2-activitat\" name=\"activitats.2.activitat\" required value=\"\"");
	has(&r, "id=\"remove-activitats-1\"");
	has(&r, "id=\"remove-activitats-2\"");
	has(&r, ">Festa</textarea>");
	lacks(&r, "error-summary");
	free(r.body);

	/* Removing the first renumbers the second. */
	r = post(w, PAR, PAR_BASE "&activitats.1.activitat=Cercavila&activitats.1.data=2026-06-20"
	         "&activitats.2.activitat=Concert&activitats.2.data=2026-06-21&_action=remove%3Aactivitats.1");
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "name=\"activitats.1.activitat\" required value=\"Concert\"");
	has(&r, "name=\"activitats.1.data\" required value=\"2026-06-21\"");
	lacks(&r, "Cercavila");
	lacks(&r, "f-activitats-2-activitat");
	free(r.body);

	/* The review finds the empty instance and says so beside it, and only there. */
	r = post(w, PAR, PAR_BASE "&activitats.1.activitat=Cercavila&activitats.1.data=2026-06-20"
	         "&activitats.2.activitat=&activitats.2.data=2026-06-21&_action=review");
	cr_assert_eq(r.status, 422, "%s", r.body);
	has(&r, "<a href=\"#f-activitats-2-activitat\">Cal omplir «Activitat». (2)</a>");
	has(&r, "<span class=\"error-message\" id=\"e-activitats-2-activitat\">");
	lacks(&r, "id=\"e-activitats-1-activitat\"");
	free(r.body);

	/* Bad posts: an instance that does not exist, a group at its limit, a group that is not. */
	r = post(w, PAR, PAR_BASE "&activitats.1.activitat=A&_action=remove%3Aactivitats.9");
	cr_expect_eq(r.status, 400);
	has(&r, "L'element que voleu llevar no existeix en aquest grup.");
	free(r.body);
	r = post(w, PAR, PAR_BASE "&activitats.1.activitat=A&_action=remove%3Aactivitats.1");
	cr_expect_eq(r.status, 400);
	has(&r, "Aquest grup ja té el nombre mínim d'elements");
	free(r.body);
	r = post(w, PAR, PAR_BASE "&activitats.5.activitat=E&_action=add%3Aactivitats");
	cr_expect_eq(r.status, 400);
	has(&r, "Aquest grup ja té el nombre màxim d'elements");
	free(r.body);
	r = post(w, PAR, PAR_BASE "&_action=add%3Apersones");
	cr_expect_eq(r.status, 400);
	has(&r, "El formulari no té aquest grup de camps repetibles.");
	free(r.body);
	/* Beyond max, an unknown field, an unknown button. */
	r = post(w, PAR, PAR_BASE "&activitats.6.activitat=F&_action=update");
	cr_expect_eq(r.status, 422);
	has(&r, "<li><a href=\"#g-activitats\">«Activitats»: n&#39;hi ha d&#39;haver entre 1 i 5.</a></li>");
	has(&r, "<span class=\"error-message\" id=\"e-activitats\">");
	free(r.body);
	r = post(w, PAR, PAR_BASE "&zzz=1&_action=update");
	cr_expect_eq(r.status, 422);
	has(&r, "zzz");
	free(r.body);
	r = post(w, PAR, PAR_BASE "&_action=explode");
	cr_expect_eq(r.status, 400);
	has(&r, "El formulari ha enviat una acció que no existeix");
	free(r.body);
	/* Oversized: refused before anything is read into a form. */
	size_t big = 300 * 1024;
	char *huge = malloc(big + 64);
	memset(huge, 'a', big);
	strcpy(huge + big, "&_action=update");
	memcpy(huge, "descripcio=", 11);
	r = post(w, PAR, huge);
	cr_expect_eq(r.status, 413);
	free(r.body);
	free(huge);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0, "nothing of this was filed");
	cr_expect_eq(count("SELECT count(*) FROM form_draft"), 0, "nor saved");
	who_free(w);
}

Test(forms, conditional_fields_follow_the_tramits_rule)
{
	struct who *w = who_new(MARIA);
	struct reply r = get(w, "/tramits/PAD-005/new");
	cr_assert_eq(r.status, 200);
	/* Hidden, and disabled so a browser does not post it. */
	has(&r, "<div class=\"field\" id=\"w-des_de\" data-conditional hidden>");
	has(&r, "name=\"des_de\" disabled value=\"\">");
	has(&r, "<script src=\"/static/form.js\" defer></script>");
	free(r.body);
	r = post(w, "/tramits/PAD-005/new", "tipus=historic&_action=update");
	cr_assert_eq(r.status, 200);
	has(&r, "<div class=\"field\" id=\"w-des_de\" data-conditional>");
	/* Required by the same rule now: shown as such. */
	has(&r, "Des de la data <span class=\"hint\">(obligatori)</span>");
	free(r.body);
	r = post(w, "/tramits/PAD-005/new", "tipus=historic&des_de=&_action=review");
	cr_expect_eq(r.status, 422);
	has(&r, "<a href=\"#f-des_de\">");
	free(r.body);
	/* A value posted for a hidden field is neither reviewed nor stored. */
	r = post(w, "/tramits/PAD-005/new", "tipus=actual&des_de=2001-01-01&_action=review");
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<h1>Reviseu la sol·licitud</h1>");
	lacks(&r, "2001-01-01");
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_assert_not_null(key);
	free(r.body);
	char body[400];
	snprintf(body, sizeof(body), "submission=%s&tipus=actual&des_de=2001-01-01&_action=submit", key);
	r = post(w, "/tramits/PAD-005/new", body);
	cr_assert_eq(r.status, 303, "%s", r.body);
	free(r.body);
	char *data = query1("SELECT data::text FROM expedient");
	cr_expect(strstr(data, "des_de") == NULL, "the hidden field was stored: %s", data);
	cr_expect(strstr(data, "\"tipus\": \"actual\"") != NULL, "%s", data);
	free(data);
	free(key);
	who_free(w);
}

Test(forms, fees_follow_the_answers)
{
	struct who *w = who_new(MARIA);
	struct reply r = get(w, "/tramits/VIA-001/new");
	cr_assert_eq(r.status, 200);
	has(&r, "<dd id=\"fee-taxa\">Es calcularà quan hàgeu omplit les dades de què depén.</dd>");
	free(r.body);
	r = post(w, "/tramits/VIA-001/new", "m2=10&temporada=anual&_action=update");
	cr_assert_eq(r.status, 200);
	has(&r, "<dd id=\"fee-taxa\">150,00 €</dd>");
	free(r.body);
	r = post(w, "/tramits/VIA-001/new", "m2=12&temporada=estiu&_action=update");
	has(&r, "<dd id=\"fee-taxa\">108,00 €</dd>");
	free(r.body);
	/* A value the form refuses does not count: the fee waits for a valid one. */
	r = post(w, "/tramits/VIA-001/new", "m2=900&temporada=estiu&_action=update");
	has(&r, "<dd id=\"fee-taxa\">Es calcularà quan hàgeu omplit les dades de què depén.</dd>");
	free(r.body);
	/* In Spanish too, on the review page. */
	char body[400];
	snprintf(body, sizeof(body), "csrf=%s&establiment=Bar+Sol&adreca=Carrer+Major+1%%2C+46001+Val%%C3%%A8ncia"
	         "&m2=10&temporada=anual&_action=review", w->csrf);
	r = send_as(w, "POST", "/tramits/VIA-001/new", "application/x-www-form-urlencoded", body, strlen(body), "es");
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<h1>Revise la solicitud</h1>");
	has(&r, "<dd id=\"fee-taxa\">150,00 €</dd>");
	has(&r, "Todo el año");
	free(r.body);
	who_free(w);
}

Test(forms, drafts_are_saved_resumed_deleted_and_expire_for_their_owner_only)
{
	struct who *maria = who_new(MARIA), *joan = who_new(JOAN);
	struct reply r = get(maria, "/tramits/GEN-001/new");
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	free(r.body);
	char body[600];
	snprintf(body, sizeof(body), "submission=%s&assumpte=Secret+de+Maria&exposa=&solicita=&idioma=ca"
	         "&_action=draft", key);
	r = post(maria, "/tramits/GEN-001/new", body);
	cr_assert_eq(r.status, 303, "%s", r.body);
	cr_expect_str_eq(r.location, "/tramits/GEN-001/new?draft=saved");
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM form_draft WHERE principal = 'citizen:" MARIA "'"), 1);
	cr_expect_eq(count("SELECT count(*) FROM form_draft WHERE expires_at - updated_at = interval '7 days'"), 1,
	             "TRAMIT_DRAFT_DAYS sets the expiry");

	/* Resumed on the form, with its key, from the folder's list. */
	r = get(maria, "/tramits/GEN-001/new?draft=saved");
	has(&r, "S'ha desat l'esborrany.");
	has(&r, "id=\"draft-resumed\"");
	has(&r, "value=\"Secret de Maria\"");
	char *again = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_expect_str_eq(again, key, "the draft keeps its submission key");
	free(again);
	free(r.body);
	r = get(maria, "/carpeta");
	has(&r, "<li id=\"draft-GEN-001\"><a href=\"/tramits/GEN-001/new\">Instància general</a>");
	free(r.body);

	/* Nobody else sees it: not on the form, not in their folder, not through the API. */
	r = get(joan, "/tramits/GEN-001/new");
	lacks(&r, "Secret de Maria");
	lacks(&r, "draft-resumed");
	free(r.body);
	r = get(joan, "/carpeta");
	lacks(&r, "draft-GEN-001");
	has(&r, "No teniu cap esborrany desat.");
	free(r.body);
	r = get(joan, "/api/v1/drafts/GEN-001");
	cr_expect_eq(r.status, 404);
	lacks(&r, "Secret");
	free(r.body);
	r = send_as(joan, "DELETE", "/api/v1/drafts/GEN-001", NULL, NULL, 0, "ca");
	cr_expect_eq(r.status, 404);
	free(r.body);
	r = post(joan, "/tramits/GEN-001/draft", "_action=delete");
	cr_expect_eq(r.status, 303);
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM form_draft WHERE principal = 'citizen:" MARIA "'"), 1,
	             "another citizen's delete leaves Maria's draft");

	/* The API: read, replace (same key kept), refuse bad bodies. */
	r = get(maria, "/api/v1/drafts/GEN-001");
	cr_expect_eq(r.status, 200, "%s", r.body);
	has(&r, "\"answers\":{\"assumpte\":\"Secret de Maria\",\"exposa\":\"\",\"idioma\":\"ca\",\"solicita\":\"\"}");
	has(&r, "\"tramit\":\"GEN-001\"");
	free(r.body);
	const char *put = "{\"answers\": {\"assumpte\": \"Fanal\", \"idioma\": \"es\"}}";
	r = send_as(maria, "PUT", "/api/v1/drafts/GEN-001", "application/json", put, strlen(put), "ca");
	cr_expect_eq(r.status, 200, "%s", r.body);
	has(&r, "\"answers\":{\"assumpte\":\"Fanal\",\"idioma\":\"es\"}");
	char *api_key = http_extract(r.body, "\"submission_key\":\"", '"');
	cr_expect_str_eq(api_key, key);
	free(api_key);
	free(r.body);
	const char *bad = "{\"answers\": {\"zzz\": \"1\"}}";
	r = send_as(maria, "PUT", "/api/v1/drafts/GEN-001", "application/json", bad, strlen(bad), "ca");
	cr_expect_eq(r.status, 400);
	has(&r, "\"error\":\"answers.zzz is not a field of this form\"");
	free(r.body);
	r = send_as(maria, "PUT", "/api/v1/drafts/NOPE-9", "application/json", put, strlen(put), "ca");
	cr_expect_eq(r.status, 404);
	free(r.body);
	char *csrf = maria->csrf;
	maria->csrf = NULL;
	r = send_as(maria, "PUT", "/api/v1/drafts/GEN-001", "application/json", put, strlen(put), "ca");
	cr_expect_eq(r.status, 403);
	has(&r, "\"code\":\"csrf\"");
	free(r.body);
	maria->csrf = csrf;

	/* The autosave endpoint: 204, answers replaced; an unknown name is refused. */
	r = post(maria, "/tramits/GEN-001/draft", "assumpte=Autodesat&idioma=ca");
	cr_expect_eq(r.status, 204, "%s", r.body);
	free(r.body);
	char *saved = query1("SELECT answers::text FROM form_draft");
	cr_expect_str_eq(saved, "[[\"assumpte\", \"Autodesat\"], [\"idioma\", \"ca\"]]");
	free(saved);
	saved = query1("SELECT submission_key FROM form_draft");
	cr_expect_str_eq(saved, key, "a save without the key keeps the draft's");
	free(saved);
	r = post(maria, "/tramits/GEN-001/draft", "assumpte=X&zzz=1");
	cr_expect_eq(r.status, 400);
	has(&r, "«zzz»");
	free(r.body);

	/* Deleted from the folder. */
	r = post(maria, "/tramits/GEN-001/draft", "_action=delete");
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/carpeta?draft=deleted#drafts");
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM form_draft"), 0);
	r = send_as(maria, "DELETE", "/api/v1/drafts/GEN-001", NULL, NULL, 0, "ca");
	cr_expect_eq(r.status, 404);
	free(r.body);

	/* Expired: gone from the form, the folder and the API, then swept by the next save. */
	r = post(maria, "/tramits/GEN-001/draft", "assumpte=Caducat&idioma=ca");
	free(r.body);
	PQclear(PQexec(db, "UPDATE form_draft SET expires_at = now() - interval '1 second'"));
	r = get(maria, "/tramits/GEN-001/new");
	lacks(&r, "Caducat");
	free(r.body);
	r = get(maria, "/api/v1/drafts/GEN-001");
	cr_expect_eq(r.status, 404);
	free(r.body);
	r = get(maria, "/carpeta");
	lacks(&r, "draft-GEN-001");
	free(r.body);
	r = post(maria, "/tramits/PAD-005/draft", "tipus=actual");
	cr_expect_eq(r.status, 204);
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM form_draft"), 1, "the expired draft was swept");
	/* Nobody signed in: the API says so, in its error shape. */
	struct who anon = {.curl = curl_easy_init()};
	snprintf(anon.header, sizeof(anon.header), "X-Nobody: 1");
	r = get(&anon, "/api/v1/drafts/GEN-001");
	cr_expect_eq(r.status, 401);
	has(&r, "\"code\":\"unauthenticated\"");
	free(r.body);
	curl_easy_cleanup(anon.curl);
	free(key);
	who_free(maria);
	who_free(joan);
}

Test(forms, review_then_submit_files_once_and_consumes_the_draft)
{
	struct who *w = who_new(MARIA);
	struct reply r = get(w, "/tramits/GEN-001/new");
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	free(r.body);
	char body[800];
	snprintf(body, sizeof(body), "submission=%s&assumpte=Fanal+apagat&exposa=Fa+dies.&solicita=Que+l%%27arreglen"
	         "&idioma=es&_action=draft", key);
	r = post(w, "/tramits/GEN-001/new", body);
	free(r.body);
	snprintf(body, sizeof(body), "submission=%s&assumpte=Fanal+apagat&exposa=Fa+dies.&solicita=Que+l%%27arreglen"
	         "&idioma=es&_action=review", key);
	r = post(w, "/tramits/GEN-001/new", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<dd data-field=\"assumpte\">Fanal apagat</dd>");
	has(&r, "<dd data-field=\"idioma\">Castellà</dd>");
	has(&r, "<dd data-field=\"correu\"><span class=\"hint\">No s'ha indicat</span></dd>");
	has(&r, "<input type=\"hidden\" name=\"assumpte\" value=\"Fanal apagat\">");
	has(&r, "value=\"change\" id=\"change\"");
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0, "the review files nothing");
	free(r.body);
	/* "Change" goes back with the answers. */
	snprintf(body, sizeof(body), "submission=%s&assumpte=Fanal+apagat&exposa=Fa+dies.&solicita=Que+l%%27arreglen"
	         "&idioma=es&_action=change", key);
	r = post(w, "/tramits/GEN-001/new", body);
	cr_expect_eq(r.status, 200);
	has(&r, "value=\"Fanal apagat\"");
	has(&r, "id=\"tramit-form\"");
	free(r.body);
	/* Submit, twice: one expedient, the same answer; the draft is gone. */
	snprintf(body, sizeof(body), "submission=%s&assumpte=Fanal+apagat&exposa=Fa+dies.&solicita=Que+l%%27arreglen"
	         "&idioma=es&_action=submit", key);
	r = post(w, "/tramits/GEN-001/new", body);
	cr_assert_eq(r.status, 303, "%s", r.body);
	char first[512];
	snprintf(first, sizeof(first), "%s", r.location);
	cr_expect(strncmp(first, "/carpeta/expedients/", 20) == 0, "%s", first);
	free(r.body);
	r = post(w, "/tramits/GEN-001/new", body);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, first);
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	cr_expect_eq(count("SELECT count(*) FROM form_draft"), 0, "filing consumed the draft");
	free(key);
	who_free(w);
}

/* A multipart post of PAR-004 with these extra parts (a file, the button). */
static struct reply post_par(struct who *w, const char *key, const char *action, const char *nom,
                             const char *file, size_t file_len)
{
	const char *values[][2] = {{"csrf", w->csrf}, {"submission", key}, {"nif_entitat", ASSOC},
	                           {"nom_entitat", nom}, {"compte", "ES9121000418450200051332"},
	                           {"descripcio", "Festa del barri."}, {"pressupost", "5000"}, {"import", "2500"},
	                           {"activitats.1.activitat", "Cercavila"}, {"activitats.1.data", "2026-06-20"},
	                           {"_action", action}};
	char *out = NULL;
	size_t len;
	FILE *m = open_memstream(&out, &len);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		fprintf(m, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", BOUNDARY,
		        values[i][0], values[i][1]);
	fprintf(m, "--%s\r\nContent-Disposition: form-data; name=\"memoria\"; filename=\"%s\"\r\n"
	        "Content-Type: application/pdf\r\n\r\n", BOUNDARY, file ? "memoria.pdf" : "");
	if (file)
		fwrite(file, 1, file_len, m);
	fprintf(m, "\r\n--%s--\r\n", BOUNDARY);
	fclose(m);
	struct reply r = send_as(w, "POST", PAR, "multipart/form-data; boundary=" BOUNDARY, out, len, "ca");
	free(out);
	return r;
}

Test(forms, files_survive_to_the_review_and_are_kept_after_an_error)
{
	struct who *w = who_new(ASSOC);
	struct reply r = get(w, PAR);
	has(&r, "enctype=\"multipart/form-data\"");
	char *key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	free(r.body);
	static const char pdf[] = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
	/* An error elsewhere: the file is staged and listed as kept, not asked for again. */
	r = post_par(w, key, "review", "", pdf, sizeof(pdf) - 1);
	cr_assert_eq(r.status, 422, "%s", r.body);
	has(&r, "<a href=\"#f-nom_entitat\">");
	has(&r, "<li>Ja adjuntat: memoria.pdf (");
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NULL"), 1);
	/* Fixed without choosing the file again: the review lists it and carries it. */
	r = post_par(w, key, "review", "Associació del Carme", NULL, 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<h3>Activitats 1</h3>");
	has(&r, "<li>memoria.pdf (");
	char *line = http_extract(r.body, "name=\"memoria\" value=\"", '"');
	cr_assert_not_null(line, "the review carries the staged file");
	cr_expect(strncmp(line, "memoria.pdf|", 12) == 0, "%s", line);
	free(r.body);
	/* Submitted from the review (no file in this post): linked to the expedient. */
	char *esc = http_form_escape(line);
	char body[1200];
	snprintf(body, sizeof(body), "submission=%s&nif_entitat=" ASSOC "&nom_entitat=Associaci%%C3%%B3+del+Carme"
	         "&compte=ES9121000418450200051332&descripcio=Festa+del+barri.&pressupost=5000&import=2500"
	         "&activitats.1.activitat=Cercavila&activitats.1.data=2026-06-20&memoria=%s&_action=submit", key, esc);
	r = post(w, PAR, body);
	cr_assert_eq(r.status, 303, "%s", r.body);
	char where[600];
	snprintf(where, sizeof(where), "%s", r.location);
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NOT NULL AND name = 'memoria.pdf'"), 1);
	/* The expedient shows what was filed as the citizen wrote it: euros, dates, the group's
	 * instances, the file by name. */
	r = get(w, where);
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<dd data-field=\"pressupost\">5.000,00 \xe2\x82\xac</dd>");
	has(&r, "<dt>Activitats</dt><dd data-field=\"activitats\"><ol class=\"instances\"><li><dl><dt>Activitat</dt>"
	        "<dd data-field=\"activitats.1.activitat\">Cercavila</dd><dt>Data prevista</dt>"
	        "<dd data-field=\"activitats.1.data\">20/06/2026</dd></dl></li></ol></dd>");
	has(&r, "<dd data-field=\"memoria\">memoria.pdf</dd>");
	free(r.body);
	/* Another person cannot claim the staged file of this key by naming it. */
	struct who *joan = who_new(JOAN);
	snprintf(body, sizeof(body), "submission=%s&nif_entitat=" ASSOC "&nom_entitat=X&compte=ES9121000418450200051332"
	         "&descripcio=X&pressupost=5000&import=2500&activitats.1.activitat=A&activitats.1.data=2026-06-20"
	         "&memoria=%s&_action=submit", key, esc);
	r = post(joan, PAR, body);
	cr_expect_eq(r.status, 422);
	has(&r, "adjunteu els fitxers amb el formulari de la seu");
	free(r.body);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	free(esc);
	free(line);
	free(key);
	who_free(joan);
	who_free(w);
}

/* A tariff that follows its ordinance's versions: the fee says which version applies. */
Test(forms_versioned, the_fee_names_the_tariff_version_in_force)
{
	struct who *w = who_new(MARIA);
	struct reply r = post(w, "/tramits/VIA-001/new", "m2=10&temporada=anual&_action=update");
	cr_assert_eq(r.status, 200, "%s", r.body);
	has(&r, "<dd id=\"fee-taxa\">150,00 € <span class=\"hint\">Tarifa en vigor des del 1 de gener de 2026 "
	        "(Ordenança fiscal 12)</span></dd>");
	free(r.body);
	r = post(w, "/tramits/VIA-001/new", "m2=10&temporada=estiu&_action=update");
	has(&r, "<dd id=\"fee-taxa\">80,00 € <span class=\"hint\">Tarifa en vigor des del 1 de gener de 2020 "
	        "(Ordenança fiscal 12)</span></dd>");
	free(r.body);
	who_free(w);
}
