/* The JSON API keeps its contract: /api/v1/openapi.json describes every route the server
 * answers, each answer's status is one the description lists for that operation, and every
 * error is {"code", "error", "message": {"ca", "es"}} with a code the description names. Also
 * CSV verification for programs (/api/v1/documents/{csv}), the receipt served as its PDF,
 * and the per-client lookup allowance shared by two servers on one database. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "tests/support/http.h"
#include "tests/support/pgtmp.h"

enum { LOOKUPS_PER_MINUTE = 6 };

static struct eng_pgcluster cluster;
static PGconn *conn;
static pid_t server_a, server_b;
static int port_a, port_b;
static char unknown[CONN_CSV_DISPLAY_LEN + 1]; /* well formed, never issued */

static pid_t start_one(int port, const char *name)
{
	char log_path[700];
	snprintf(log_path, sizeof(log_path), "%s/%s.log", cluster.dir, name);
	static char env_db[1200], env_dir[600], env_limit[64];
	char env_port[32];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_limit, sizeof(env_limit), "TRAMIT_CSV_LOOKUPS_PER_MINUTE=%d", LOOKUPS_PER_MINUTE);
	const char *env[] = {env_db, env_port, env_dir, env_limit, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	return tramit_start(args, env, port, log_path);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	cr_assert_eq(conn_csv_new(unknown), 0);
	conn = pgtmp_connect(&cluster);
	port_a = http_free_port();
	server_a = start_one(port_a, "a");
}

static void teardown(void)
{
	if (server_b > 0)
		cr_expect_eq(tramit_stop(server_b, SIGTERM), 0);
	if (server_a > 0)
		cr_expect_eq(tramit_stop(server_a, SIGTERM), 0);
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(api_contract, .init = setup, .fini = teardown, .timeout = 180);

static char *query1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static json_t *openapi(void)
{
	struct http_client *c = http_client_new(port_a, NULL);
	struct http_response r;
	http_get(c, "/api/v1/openapi.json", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.content_type, "application/json");
	json_error_t jerr;
	json_t *doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, &jerr);
	cr_assert_not_null(doc, "openapi.json: %s (line %d)", jerr.text, jerr.line);
	http_response_free(&r);
	http_client_free(c);
	return doc;
}

/* An error body: the three members, a code the description lists, both languages. */
static void expect_error_shape(json_t *doc, const char *body, const char *what)
{
	json_t *e = json_loads(body, 0, NULL);
	cr_assert_not_null(e, "%s: the error is not JSON: %s", what, body);
	const char *code = json_string_value(json_object_get(e, "code"));
	cr_assert_not_null(code, "%s: no code in %s", what, body);
	json_t *codes = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
	        json_object_get(doc, "components"), "schemas"), "Error"), "properties"), "code"), "enum");
	bool listed = false;
	size_t i;
	json_t *v;
	json_array_foreach(codes, i, v)
		listed = listed || strcmp(json_string_value(v), code) == 0;
	cr_expect(listed, "%s: code '%s' is not in the description's Error.code enum", what, code);
	json_t *m = json_object_get(e, "message");
	cr_expect(json_string_length(json_object_get(m, "ca")) > 0, "%s: no Valencian message", what);
	cr_expect(json_string_length(json_object_get(m, "es")) > 0, "%s: no Spanish message", what);
	cr_expect(json_string_length(json_object_get(e, "error")) > 0, "%s: no detail", what);
	json_decref(e);
}

struct probe {
	const char *method, *path, *template, *body;
	long status;
};

static void send(struct http_client *c, const struct probe *p, const char *csrf, struct http_response *r)
{
	if (strcmp(p->method, "GET") == 0)
		http_get(c, p->path, r);
	else if (p->body && p->body[0] == '{')
		http_post_json(c, p->path, p->body, csrf, r);
	else
		http_post_form(c, p->path, p->body ? p->body : "", r);
}

/* Every route, answered with the status we expect and the description lists for it. */
Test(api_contract, every_route_is_described_and_answers_as_described)
{
	json_t *doc = openapi();
	cr_expect_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	json_t *paths = json_object_get(doc, "paths");
	char *id = http_citizen_files(port_a, "GEN-001", "{\"form\": {\"assumpte\": \"Contracte\", "
	                              "\"exposa\": \"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
	char expedient[128], action[160], messages[160];
	snprintf(expedient, sizeof(expedient), "/api/v1/expedients/%s", id);
	snprintf(messages, sizeof(messages), "/api/v1/expedients/%s/messages", id);
	snprintf(action, sizeof(action), "/api/v1/expedients/%s/actions/resolve", id);
	const struct probe probes[] = {
		{"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", NULL, 200},
		{"POST", "/api/v1/openapi.json", "/api/v1/openapi.json", "x=1", 405},
		{"GET", "/api/v1/tramits", "/api/v1/tramits", NULL, 200},
		{"POST", "/api/v1/tramits", "/api/v1/tramits", "x=1", 405},
		{"GET", "/api/v1/tramits/GEN-001", "/api/v1/tramits/{code}", NULL, 200},
		{"GET", "/api/v1/tramits/NOPE-999", "/api/v1/tramits/{code}", NULL, 404},
		{"POST", "/api/v1/tramits/GEN-001/expedients", "/api/v1/tramits/{code}/expedients", "{\"form\": {}}", 401},
		{"GET", "/api/v1/tramits/GEN-001/expedients", "/api/v1/tramits/{code}/expedients", NULL, 405},
		{"GET", expedient, "/api/v1/expedients/{id}", NULL, 401},
		{"POST", expedient, "/api/v1/expedients/{id}", "x=1", 405},
		{"POST", action, "/api/v1/expedients/{id}/actions/{action}", "{}", 401},
		{"GET", action, "/api/v1/expedients/{id}/actions/{action}", NULL, 405},
		{"GET", messages, "/api/v1/expedients/{id}/messages", NULL, 401},
		{"POST", messages, "/api/v1/expedients/{id}/messages", "{}", 401},
		{"GET", "/api/v1/documents/ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", "/api/v1/documents/{csv}", NULL, 404},
		{"POST", "/api/v1/documents/ZZZZ", "/api/v1/documents/{csv}", "x=1", 405},
		{"POST", "/api/v1/callbacks/erp", "/api/v1/callbacks/{subscriber}", "{}", 404},
		{"GET", "/api/v1/callbacks/erp", "/api/v1/callbacks/{subscriber}", NULL, 405},
		{"POST", "/api/v1/payments/redsys/notification", "/api/v1/payments/redsys/notification", "Ds_Signature=x", 404},
		{"GET", "/api/v1/payments/redsys/notification", "/api/v1/payments/redsys/notification", NULL, 405},
		{"GET", "/healthz", "/healthz", NULL, 200},
		{"GET", "/api/v1/drafts/GEN-001", "/api/v1/drafts/{code}", NULL, 401},
		{"POST", "/api/v1/drafts/GEN-001", "/api/v1/drafts/{code}", "x=1", 405},
		/* The portasignatures (issue 6). */
		{"GET", "/api/v1/signatures", "/api/v1/signatures", NULL, 401},
		{"POST", "/api/v1/signatures", "/api/v1/signatures", "x=1", 405},
		{"GET", "/api/v1/signatures/00000000-0000-4000-8000-000000000000", "/api/v1/signatures/{id}", NULL, 401},
		{"POST", "/api/v1/signatures/00000000-0000-4000-8000-000000000000", "/api/v1/signatures/{id}", "x=1", 405},
		{"POST", "/api/v1/signatures/00000000-0000-4000-8000-000000000000/reject", "/api/v1/signatures/{id}/{act}",
		 "{}", 401},
		{"GET", "/api/v1/signatures/00000000-0000-4000-8000-000000000000/reject", "/api/v1/signatures/{id}/{act}",
		 NULL, 405},
		/* Assisted filing at the counter (issue 5). */
		{"POST", "/api/v1/counter/expedients", "/api/v1/counter/expedients", "{}", 401},
		{"GET", "/api/v1/counter/expedients", "/api/v1/counter/expedients", NULL, 405},
	};
	struct http_client *anon = http_client_new(port_a, NULL);
	size_t n_templates = 0;
	const char *seen[32];
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		struct http_response r;
		send(anon, p, "none", &r);
		cr_expect_eq(r.status, p->status, "%s %s answered %ld, not %ld: %s", p->method, p->path,
		             r.status, p->status, r.body);
		json_t *item = json_object_get(paths, p->template);
		cr_assert_not_null(item, "%s is not described in openapi.json", p->template);
		char method[8], status[8];
		snprintf(method, sizeof(method), "%s", strcmp(p->method, "GET") == 0 ? "get" : "post");
		snprintf(status, sizeof(status), "%ld", r.status);
		json_t *op = json_object_get(item, method);
		if (r.status == 405) {
			/* The other method's operation lists 405 for the path. */
			op = json_object_get(item, strcmp(method, "get") == 0 ? "post" : "get");
		}
		cr_assert_not_null(op, "%s %s: no operation described", p->method, p->template);
		cr_expect_not_null(json_object_get(json_object_get(op, "responses"), status),
		                   "%s %s answered %s, which the description does not list", p->method,
		                   p->template, status);
		/* Every API error is JSON in the contract's shape; the payment gateway's notification
		 * answers the gateway in plain text, as its description says. */
		bool plain = strcmp(p->template, "/api/v1/payments/redsys/notification") == 0 && r.status != 405;
		if (r.status >= 400 && strncmp(p->path, "/api/", 5) == 0 && !plain) {
			cr_expect_str_eq(r.content_type, "application/json", "%s %s", p->method, p->path);
			expect_error_shape(doc, r.body, p->path);
		}
		bool known = false;
		for (size_t k = 0; k < n_templates; k++)
			known = known || strcmp(seen[k], p->template) == 0;
		if (!known)
			seen[n_templates++] = p->template;
		http_response_free(&r);
	}
	/* And the description lists nothing this test does not reach. */
	cr_expect_eq(json_object_size(paths), n_templates, "openapi.json describes %zu paths, the "
	             "server answers %zu", json_object_size(paths), n_templates);

	/* A route the router does not know: the same error shape. */
	struct http_response r;
	http_get(anon, "/api/v1/nothing", &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(r.body, "{\"code\":\"not_found\",\"error\":\"no such API route\",\"message\":"
	                 "{\"ca\":\"No existeix o no hi teniu accés.\",\"es\":\"No existe o no tiene acceso.\"}}");
	http_response_free(&r);
	http_client_free(anon);
	free(id);
	json_decref(doc);
}

/* The citizen's own session: CSRF and malformed JSON get their codes. */
Test(api_contract, session_errors_carry_their_codes)
{
	json_t *doc = openapi();
	struct http_client *c = http_client_new(port_a, "es");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=citizen&next=", tok);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303);
	http_response_free(&r);
	http_post_json(c, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {}}", "wrong", &r);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(r.body, "{\"code\":\"csrf\",\"error\":\"missing or wrong X-CSRF-Token header\","
	                 "\"message\":{\"ca\":\"El testimoni de seguretat (CSRF) de la sessió falta o no és "
	                 "correcte; torneu a carregar la pàgina.\",\"es\":\"El token de seguridad (CSRF) de la "
	                 "sesión falta o no es correcto; vuelva a cargar la página.\"}}");
	http_response_free(&r);
	http_get(c, "/tramits/GEN-001/new", &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	http_post_json(c, "/api/v1/tramits/GEN-001/expedients", "{\"form\": ", csrf, &r);
	cr_expect_eq(r.status, 400);
	expect_error_shape(doc, r.body, "truncated JSON");
	json_t *e = json_loads(r.body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(e, "code")), "invalid_json");
	json_decref(e);
	http_response_free(&r);
	http_post_json(c, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {\"assumpte\": \"\"}}", csrf, &r);
	cr_expect_eq(r.status, 422);
	expect_error_shape(doc, r.body, "invalid form");
	e = json_loads(r.body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(e, "code")), "invalid_form");
	cr_expect(json_array_size(json_object_get(e, "errors")) > 0);
	json_decref(e);
	http_response_free(&r);
	free(tok);
	free(csrf);
	http_client_free(c);
	json_decref(doc);
}

/* Programs verify a receipt by its CSV; people download it as the PDF they were given. */
Test(api_contract, documents_verify_by_csv_and_receipts_download_as_pdf)
{
	char *id = http_citizen_files(port_a, "GEN-001", "{\"form\": {\"assumpte\": \"Verificació\", "
	                              "\"exposa\": \"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT receipt_csv FROM expedient WHERE id = '%s'", id);
	char *csv = query1(sql);
	cr_assert(strlen(csv) > 20, "no receipt CSV: '%s'", csv);
	snprintf(sql, sizeof(sql), "SELECT sha256 FROM document WHERE csv = '%s'", csv);
	char *sha = query1(sql);
	snprintf(sql, sizeof(sql), "SELECT registry_number FROM expedient WHERE id = '%s'", id);
	char *registry = query1(sql);

	/* Typed loosely: lower case, no dashes. */
	char loose[64], path[200];
	size_t k = 0;
	for (const char *p = csv; *p; p++)
		if (*p != '-')
			loose[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	loose[k] = '\0';
	struct http_client *anon = http_client_new(port_a, NULL);
	struct http_response r;
	snprintf(path, sizeof(path), "/api/v1/documents/%s", loose);
	http_get(anon, path, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *d = json_loads(r.body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(d, "csv")), csv);
	cr_expect_str_eq(json_string_value(json_object_get(d, "kind")), "receipt");
	cr_expect_str_eq(json_string_value(json_object_get(d, "media_type")), "application/json");
	cr_expect_str_eq(json_string_value(json_object_get(d, "sha256")), sha);
	char want[160];
	snprintf(want, sizeof(want), "/verify/%s/document", csv);
	cr_expect_str_eq(json_string_value(json_object_get(d, "download_url")), want);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "receipt"), "registry_number")),
	                 registry);
	/* A receipt: no seal, no signatures (its CSV is its guarantee). */
	cr_expect(json_is_false(json_object_get(d, "sealed")));
	cr_expect_eq(json_array_size(json_object_get(d, "signatures")), 0);
	cr_expect(json_is_array(json_object_get(d, "signatures")));
	json_decref(d);
	http_response_free(&r);

	/* The PDF: what the citizen holds, with the CSV on it; the data behind it hashes to sha256. */
	http_get(anon, want, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/pdf");
	cr_assert(r.len > 1000 && memcmp(r.body, "%PDF-", 5) == 0, "not a PDF (%zu bytes)", r.len);
	char pdf_path[700], cmd[1600], text[65536];
	snprintf(pdf_path, sizeof(pdf_path), "%s/receipt.pdf", cluster.dir);
	FILE *f = fopen(pdf_path, "wb");
	cr_assert_not_null(f);
	fwrite(r.body, 1, r.len, f);
	fclose(f);
	http_response_free(&r);
	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' - 2>&1", pdf_path);
	FILE *p = popen(cmd, "r");
	size_t got = fread(text, 1, sizeof(text) - 1, p);
	text[got] = '\0';
	cr_expect_eq(pclose(p), 0, "pdftotext: %s", text);
	cr_expect(strstr(text, csv) != NULL, "the CSV %s is not in the PDF's text:\n%.2000s", csv, text);
	cr_expect(strstr(text, registry) != NULL, "the registry number is not in the PDF");
	snprintf(path, sizeof(path), "%s?format=json", want);
	http_get(anon, path, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.content_type, "application/json");
	const char *param[] = {r.body};
	PGresult *h = PQexecParams(conn, "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", 1,
	                           NULL, param, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(h), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(h));
	cr_expect_str_eq(PQgetvalue(h, 0, 0), sha, "the data download hashes to the SHA-256 the page shows");
	PQclear(h);
	http_response_free(&r);

	/* Unknown and withdrawn codes: the very same answer. */
	snprintf(path, sizeof(path), "/api/v1/documents/%s", unknown);
	http_get(anon, path, &r);
	cr_expect_eq(r.status, 404);
	char *unknown_body = strdup(r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "UPDATE document SET withdrawn_at = now() WHERE csv = '%s'", csv);
	PQclear(PQexec(conn, sql));
	snprintf(path, sizeof(path), "/api/v1/documents/%s", csv);
	http_get(anon, path, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(r.body, unknown_body);
	http_response_free(&r);
	free(unknown_body);
	free(id); free(csv); free(sha); free(registry);
	http_client_free(anon);
}

/* The allowance is per client over every server: lookups on A and B add up; the next one
 * is refused on either, as a page and as JSON, with Retry-After; refusals are not lookups. */
Test(api_contract, csv_lookups_are_limited_per_client_across_servers)
{
	port_b = http_free_port();
	server_b = start_one(port_b, "b");
	struct http_client *a = http_client_new(port_a, NULL), *b = http_client_new(port_b, "es");
	struct http_response r;
	char page[128], api[128];
	snprintf(page, sizeof(page), "/verify?csv=%s", unknown);
	snprintf(api, sizeof(api), "/api/v1/documents/%s", unknown);
	for (int i = 0; i < LOOKUPS_PER_MINUTE; i++) {
		struct http_client *c = i % 2 ? b : a;
		if (i % 3 == 0)
			http_get(c, page, &r);
		else
			http_get(c, api, &r);
		cr_expect_eq(r.status, 404, "lookup %d answered %ld", i + 1, r.status);
		http_response_free(&r);
	}
	http_get(a, page, &r);
	cr_expect_eq(r.status, 429);
	cr_expect_str_eq(r.retry_after, "60");
	cr_expect(strstr(r.body, "Heu fet massa consultes en poc temps.") != NULL, "%.2000s", r.body);
	http_response_free(&r);
	http_get(b, api, &r);
	cr_expect_eq(r.status, 429);
	cr_expect_str_eq(r.retry_after, "60");
	json_t *e = json_loads(r.body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(e, "code")), "rate_limited");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(e, "message"), "es")),
	                 "Demasiadas peticiones; espere un minuto.");
	json_decref(e);
	http_response_free(&r);
	char *n = query1("SELECT count(*) FROM csv_lookup");
	cr_expect_str_eq(n, "6", "every lookup is logged, refusals are not lookups");
	free(n);
	http_client_free(a);
	http_client_free(b);
}
