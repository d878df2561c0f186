/* The standalone payment manager end to end: tax receipts loaded with `tramit taxes import`
 * (all or nothing, idempotent), found by reference and NIF on the real server, paid by card
 * through a real gateway peer (redsys_peer.py checks our signatures with its own code), the
 * Cuaderno 60 payment document judged by qpdf and pdftotext, and `tramit payments reconcile`
 * settling an order whose notification was lost from the gateway's signed answer. */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define PYTHON "/usr/bin/python3"
#define GATEWAY TRAMIT_SOURCE_DIR "/tests/connectors/redsys_peer.py"
#define SECRET "sq7HjrUOBfKmC576ILgskD5srU870gJ7"
#define HEADER "reference,tributo,ejercicio,concept_ca,concept_es,debtor_nif,debtor_name,amount_cents,deadline\n"

static struct eng_pgcluster cluster;
static PGconn *db;
static char connectors_json[700];

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

static char *query1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *query1(const char *fmt, ...)
{
	char sql[1000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void write_file(const char *name, const char *text)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/%s", cluster.dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Runs `tramit ARGS` in the cluster's folder against its database; stdout and stderr in *out. */
static int tramit(char **out, const char *args)
{
	return shell_run(out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo "
	                 "TRAMIT_C60_EMISORA=462500 TRAMIT_CONNECTORS_CONFIG='%s' "
	                 "TRAMIT_TRAMITS_DIR=%s/tramits %s %s 2>&1", cluster.dir, cluster.conninfo,
	                 connectors_json, TRAMIT_SOURCE_DIR, TRAMIT_BINARY, args);
}

static void expect_output(const char *args, int status, const char *expected)
{
	char *out;
	cr_expect_eq(tramit(&out, args), status, "tramit %s: %s", args, out);
	cr_expect_str_eq(out, expected, "tramit %s", args);
	free(out);
}

Test(paymgr, taxes_import_refuses_every_bad_row_and_is_idempotent, .timeout = 120)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	db = pgtmp_connect(&cluster);
	char *migrated;
	cr_assert_eq(tramit(&migrated, "db migrate"), 0, "%s", migrated);
	free(migrated);
	write_file("bad.csv", HEADER
	           "000001234557,001,2026,Taxa de fem,Tasa de basura,12345678Z,Maria Demo,12345,2026-11-30\n"
	           "0000012347,01,2026,\"Multa, trànsit\",\"Multa, tráfico\",87654321X,Pere Prova,9000,2099-12-31\n"
	           "0000012348,003,2026,Concepte,Concepto,12345678A,Nom,0,2026-02-30\n"
	           "0000012349,003,2026,Concepte\n");
	expect_output("taxes import bad.csv", 1,
	              "bad.csv:2: column reference: expected control digits 56 (computed from the "
	              "emisora, the identification and the amount), found '000001234557'\n"
	              "bad.csv:3: column tributo: expected 3 digits (the tax code, e.g. 001), found '01'\n"
	              "bad.csv:4: column debtor_nif: expected a valid NIF, NIE or DNI with its letter, "
	              "found '12345678A'\n"
	              "bad.csv:4: column amount_cents: expected a whole number of cents from 1 to "
	              "99999999, found '0'\n"
	              "bad.csv:4: column deadline: expected a date YYYY-MM-DD, found '2026-02-30'\n"
	              "bad.csv:5: expected 9 columns, found 4\n"
	              "tramit: bad.csv: 6 problems; nothing was imported\n");
	char *count = query1("SELECT count(*)::text FROM tax_receipt");
	cr_expect_str_eq(count, "0", "a bad file stores nothing");
	free(count);

	/* DOMAIN.md 9.2's vector, given with its control digits; and a document number alone. */
	write_file("good.csv", HEADER
	           "000001234556,001,2026,\"Taxa de fem, 2026\",\"Tasa de basura, 2026\",12345678Z,Maria Demo,12345,2026-11-30\n"
	           "\r\n"
	           "0000012346,002,2026,\"Multa \"\"ORA\"\"\",Multa de tráfico,87654321x,Pere Prova,9000,2099-12-31\r\n");
	expect_output("taxes import good.csv", 0,
	              "2 receipts imported, 0 already present and unchanged (entity demo)\n");
	expect_output("taxes import good.csv", 0,
	              "0 receipts imported, 2 already present and unchanged (entity demo)\n");
	char *row = query1("SELECT string_agg(reference || ' ' || identification || ' ' || debtor_nif || ' ' "
	             "|| concept_ca || ' ' || amount_cents, ' | ' ORDER BY reference) FROM tax_receipt");
	char *second = query1("SELECT reference FROM tax_receipt WHERE debtor_nif = '87654321X'");
	char expected[400];
	snprintf(expected, sizeof(expected), "000001234556 1001266334 12345678Z Taxa de fem, 2026 12345 | "
	         "%s 1002269365 87654321X Multa \"ORA\" 9000", second);
	cr_expect_str_eq(row, expected);
	cr_expect_eq(strlen(second), 12);
	free(row);

	/* The same reference with other data refuses the whole file, naming the line. */
	write_file("changed.csv", HEADER
	           "0000099999,001,2026,Nou,Nuevo,12345678Z,Maria Demo,500,2099-12-31\n"
	           "000001234556,001,2026,\"Taxa de fem, 2026\",\"Tasa de basura, 2026\",12345678Z,Maria Altra,12345,2026-11-30\n");
	expect_output("taxes import changed.csv", 1,
	              "changed.csv:3: reference 000001234556 was imported before with other data "
	              "(debtor_name differ); a receipt cannot be changed by importing it again; "
	              "nothing was imported\n");
	count = query1("SELECT count(*)::text FROM tax_receipt");
	cr_expect_str_eq(count, "2", "the new row on line 2 was not stored either");
	free(count);
	char list[600];
	snprintf(list, sizeof(list), "reference\tstate\tamount\tdeadline\tdebtor\tconcept\tpaid\n"
	         "%s\tpending\t90.00\t2099-12-31\t87654321X\tMulta \"ORA\"\t-\n", second);
	expect_output("taxes list --state pending 2>/dev/null | grep -v 000001234556", 0, list);
	free(second);
	PQfinish(db);
	pgtmp_stop(&cluster);
}

/* ---- On the server ----------------------------------------------------------------------- */

struct visit {
	struct http_client *http;
	char token[64];
};

static void visit_start(struct visit *v, int port, const char *lang)
{
	v->http = http_client_new(port, lang);
	struct http_response r;
	http_get(v->http, "/pagaments", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *t = http_extract(r.body, "name=\"token\" value=\"", '"');
	cr_assert_not_null(t, "%s", r.body);
	snprintf(v->token, sizeof(v->token), "%s", t);
	free(t);
	http_response_free(&r);
}

/* POSTs reference and NIF (as typed) to path with the form's token. */
static void post_receipt(struct visit *v, const char *path, const char *reference, const char *nif,
                         struct http_response *r)
{
	char *ref = http_form_escape(reference), *n = http_form_escape(nif);
	char body[400];
	snprintf(body, sizeof(body), "token=%s&referencia=%s&nif=%s", v->token, ref, n);
	http_post_form(v->http, path, body, r);
	free(ref);
	free(n);
}

static size_t gather(char *data, size_t size, size_t n, void *payload)
{
	fwrite(data, size, n, payload);
	return size * n;
}

/* POSTs a form with curl; the status and the body (malloc'd). */
static long post_raw(const char *url, const char *form, char **body)
{
	size_t len = 0;
	FILE *out = open_memstream(body, &len);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (form)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	fclose(out);
	return status;
}

/* A card attempt: the order number shown and the gateway form's three fields as a form body. */
struct attempt {
	char order[16];
	char *form;
	char *params;
};

static void card_attempt(struct visit *v, const char *reference, const char *nif, struct attempt *a)
{
	struct http_response r;
	post_receipt(v, "/pagaments/targeta", reference, nif, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *order = http_extract(r.body, "<strong id=\"order\">", '<');
	cr_assert_not_null(order, "%s", r.body);
	snprintf(a->order, sizeof(a->order), "%s", order);
	free(order);
	const char *names[] = {"Ds_SignatureVersion", "Ds_MerchantParameters", "Ds_Signature"};
	char *form = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&form, &len);
	for (int i = 0; i < 3; i++) {
		char after[80];
		snprintf(after, sizeof(after), "name=\"%s\" value=\"", names[i]);
		char *value = http_extract(r.body, after, '"');
		cr_assert_not_null(value, "%s in %s", names[i], r.body);
		char *escaped = http_form_escape(value);
		fprintf(mem, "%s%s=%s", i ? "&" : "", names[i], escaped);
		if (i == 1)
			a->params = value;
		else
			free(value);
		free(escaped);
	}
	fclose(mem);
	a->form = form;
	http_response_free(&r);
}

static void attempt_free(struct attempt *a)
{
	free(a->form);
	free(a->params);
}

static char *wait_for(const char *sql)
{
	for (int i = 0; i < 200; i++) {
		char *v = query1("%s", sql);
		if (*v)
			return v;
		free(v);
		sleep_ms(50);
	}
	cr_assert_fail("nothing came for %s", sql);
	return NULL;
}

static char *reference_of(const char *debtor_name)
{
	char *ref = query1("SELECT reference FROM tax_receipt WHERE debtor_name = '%s'", debtor_name);
	cr_assert_eq(strlen(ref), 12, "%s", debtor_name);
	return ref;
}

Test(paymgr, a_receipt_is_found_paid_by_card_and_reconciled, .timeout = 180)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	char ready[700];
	snprintf(ready, sizeof(ready), "%s/gateway-ready", cluster.dir);
	int gw, port = http_free_port();
	const char *gateway_argv[] = {PYTHON, GATEWAY, SECRET, ready, NULL};
	pid_t gateway = shell_peer_start(gateway_argv, ready, &gw);
	snprintf(connectors_json, sizeof(connectors_json), "%s/connectors.json", cluster.dir);
	FILE *f = fopen(connectors_json, "w");
	fprintf(f, "{\"redsys\": {\"merchant_code\": \"999008881\", \"terminal\": \"1\", \"secret_key\": \"%s\", "
	        "\"gateway_url\": \"http://127.0.0.1:%d/sis/realizarPago\", "
	        "\"merchant_url\": \"http://127.0.0.1:%d/api/v1/payments/redsys/notification\", "
	        "\"url_ok\": \"http://127.0.0.1:%d/pagaments\", \"url_ko\": \"http://127.0.0.1:%d/pagaments\", "
	        "\"query_url\": \"http://127.0.0.1:%d/sis/rest/consulta\", \"timeout_s\": 5}}",
	        SECRET, gw, port, port, port, gw);
	fclose(f);
	static char env_db[1200], env_dir[600], env_port[32], env_conn[800], log[700];
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", connectors_json);
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, env_conn, "TRAMIT_CSV_LOOKUPS_PER_MINUTE=40",
	                     "TRAMIT_RECONCILE_MINUTES=0", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	pid_t server = tramit_start(args, env, port, log);
	db = pgtmp_connect(&cluster);
	write_file("receipts.csv", HEADER
	           "0000000001,001,2026,Taxa de fem 2026,Tasa de basura 2026,12345678Z,Maria Demo,4550,2099-12-31\n"
	           "0000000002,002,2026,Guals 2026,Vados 2026,87654321X,Pere Perdut,2000,2099-12-31\n"
	           "0000000003,003,2026,Taxa de terrasses,Tasa de terrazas,87654321X,Pere Consulta,3000,2099-12-31\n"
	           "0000000004,004,2020,Multa antiga,Multa antigua,87654321X,Pere Tard,1000,2020-01-15\n");
	char *out;
	cr_assert_eq(tramit(&out, "taxes import receipts.csv"), 0, "%s", out);
	free(out);
	char *r1 = reference_of("Maria Demo"), *r2 = reference_of("Pere Perdut");
	char *r3 = reference_of("Pere Consulta"), *r4 = reference_of("Pere Tard");

	/* Found by reference (typed with spaces) and NIF (lower case). */
	struct visit ca, es;
	visit_start(&ca, port, "ca");
	struct http_response r;
	char typed[40];
	snprintf(typed, sizeof(typed), "%.4s %.4s %.4s", r1, r1 + 4, r1 + 8);
	post_receipt(&ca, "/pagaments", typed, "12345678z", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "<dd id=\"concept\">Taxa de fem 2026</dd>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "<dd id=\"amount\">45,50 €</dd>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "<dd id=\"deadline\">31/12/2099</dd>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "id=\"pay-card\">Pagar amb targeta</button>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "id=\"pay-bank\">Descarregar el document de pagament (PDF)") != NULL);
	http_response_free(&r);

	/* Another person's NIF and an unknown reference get the same answer. */
	struct http_response wrong, unknown;
	post_receipt(&ca, "/pagaments", r1, "87654321X", &wrong);
	post_receipt(&ca, "/pagaments", "999999999999", "87654321X", &unknown);
	cr_expect_eq(wrong.status, 404);
	cr_expect_eq(unknown.status, 404);
	char *w = strstr(wrong.body, "<h1>"), *u = strstr(unknown.body, "<h1>");
	cr_assert(w && u);
	cr_expect_eq(strncmp(w, u, strstr(w, "<form") - w), 0, "%s\n---\n%s", w, u);
	cr_expect(strstr(w, "Rebut no trobat") != NULL, "%s", w);
	cr_expect(strstr(wrong.body, "Taxa de fem") == NULL);
	http_response_free(&wrong);
	http_response_free(&unknown);
	/* A post without the form's token changes nothing and says why. */
	http_post_form(ca.http, "/pagaments/targeta", "referencia=1&nif=2&token=00000000000000000000000000000000", &r);
	cr_expect_eq(r.status, 403, "%s", r.body);
	http_response_free(&r);

	/* Pay by card: every attempt gets its own order, signed for the receipt's amount. */
	struct attempt first, second;
	card_attempt(&ca, r1, "12345678Z", &first);
	card_attempt(&ca, r1, "12345678Z", &second);
	cr_expect_str_neq(first.order, second.order);
	cr_expect_eq(strncmp(second.order, "90000000", 8), 0, "%s", second.order);
	char *params;
	cr_assert_eq(shell_run(&params, NULL, "printf '%%s' '%s' | base64 -d", second.params), 0);
	char expected[200];
	snprintf(expected, sizeof(expected), "{\"DS_MERCHANT_AMOUNT\":\"4550\",\"DS_MERCHANT_ORDER\":\"%s\",",
	         second.order);
	cr_expect_eq(strncmp(params, expected, strlen(expected)), 0, "%s", params);
	free(params);
	char url[200], *body;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/sis/realizarPago", gw);
	cr_assert_eq(post_raw(url, second.form, &body), 200, "%s", body);
	free(body);
	/* The gateway's signed notification settles the receipt. */
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT paid_via || ' ' || paid_order FROM tax_receipt WHERE "
	         "reference = '%s' AND state = 'paid'", r1);
	char *paid = wait_for(sql), *expect_paid;
	cr_assert_eq(asprintf(&expect_paid, "card %s", second.order), (int)strlen(second.order) + 5);
	cr_expect_str_eq(paid, expect_paid);
	free(paid);
	free(expect_paid);
	post_receipt(&ca, "/pagaments", r1, "12345678Z", &r);
	cr_expect(strstr(r.body, "<div class=\"panel\" role=\"status\" id=\"paid\"><h2>Rebut pagat</h2>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, second.order) != NULL);
	cr_expect(strstr(r.body, "id=\"pay-card\"") == NULL);
	http_response_free(&r);

	/* The same notification again (the gateway repeats them) changes nothing. */
	char *before = query1("SELECT paid_at::text || settled_at::text FROM tax_receipt t JOIN card_order c "
	                      "ON c.order_no = t.paid_order WHERE t.reference = '%s'", r1);
	char *sent;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/test/notification?order=%s", gw, second.order);
	cr_assert_eq(post_raw(url, NULL, &sent), 200, "%s", sent);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/payments/redsys/notification", port);
	cr_expect_eq(post_raw(url, sent, &body), 200, "%s", body);
	cr_expect_str_eq(body, "already settled\n");
	free(body);
	/* A forged one (its signature altered) is refused. */
	char *sig = strstr(sent, "Ds_Signature=");
	cr_assert_not_null(sig);
	sig[13] = sig[13] == 'A' ? 'B' : 'A';
	cr_expect_eq(post_raw(url, sent, &body), 403, "%s", body);
	free(body);
	free(sent);
	char *after = query1("SELECT paid_at::text || settled_at::text FROM tax_receipt t JOIN card_order c "
	                     "ON c.order_no = t.paid_order WHERE t.reference = '%s'", r1);
	cr_expect_str_eq(after, before);
	free(after);
	free(before);

	/* The payment document: a valid PDF holding the reference. */
	post_receipt(&ca, "/pagaments/document", r3, "87654321X", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(r.content_type, "application/pdf");
	char pdf[800];
	snprintf(pdf, sizeof(pdf), "%s/document.pdf", cluster.dir);
	FILE *p = fopen(pdf, "wb");
	fwrite(r.body, 1, r.len, p);
	fclose(p);
	http_response_free(&r);
	cr_expect_eq(shell_run(&out, NULL, "qpdf --check '%s' 2>&1", pdf), 0, "%s", out);
	free(out);
	cr_assert_eq(shell_run(&out, NULL, "pdftotext -enc UTF-8 '%s' - | tr -s ' \\n' ' '", pdf), 0);
	cr_expect(strstr(out, r3) != NULL, "%s not in %s", r3, out);
	cr_expect(strstr(out, "Taxa de terrasses") != NULL, "%s", out);
	free(out);

	char line[400];
	/* A card the bank refuses closes that order only: the receipt can still be paid. */
	struct attempt refused;
	card_attempt(&ca, r3, "87654321X", &refused);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/sis/realizarPago", gw);
	char *form;
	cr_assert_gt(asprintf(&form, "%s&test_response=0190", refused.form), 0);
	cr_assert_eq(post_raw(url, form, &body), 200, "%s", body);
	free(body);
	free(form);
	snprintf(sql, sizeof(sql), "SELECT state || ' ' || response FROM card_order WHERE order_no = "
	         "'%s' AND state <> 'open'", refused.order);
	char *settled = wait_for(sql);
	cr_expect_str_eq(settled, "refused 0190");
	free(settled);
	post_receipt(&ca, "/pagaments", r3, "87654321X", &r);
	cr_expect(strstr(r.body, "id=\"pay-card\"") != NULL, "%s", r.body);
	http_response_free(&r);
	attempt_free(&refused);

	/* Past its deadline: the voluntary period is over, in both languages; no card order. */
	post_receipt(&ca, "/pagaments", r4, "87654321X", &r);
	cr_expect(strstr(r.body, "<h2>Termini voluntari acabat</h2>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "id=\"pay-card\"") == NULL);
	http_response_free(&r);
	post_receipt(&ca, "/pagaments/targeta", r4, "87654321X", &r);
	cr_expect_eq(r.status, 409, "%s", r.body);
	http_response_free(&r);
	visit_start(&es, port, "es");
	post_receipt(&es, "/pagaments", r4, "87654321X", &r);
	cr_expect(strstr(r.body, "<h2>Plazo voluntario finalizado</h2>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "<dd id=\"concept\">Multa antigua</dd>") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "<dt>Importe</dt><dd id=\"amount\">10,00 €</dd>") != NULL, "%s", r.body);
	http_response_free(&r);
	char *card_orders = query1("SELECT count(*)::text FROM card_order WHERE tax_reference = '%s'", r4);
	cr_expect_str_eq(card_orders, "0");
	free(card_orders);

	/* The tax office cancels a receipt: nothing to pay. A paid one cannot be cancelled. */
	char cmd[80];
	snprintf(cmd, sizeof(cmd), "taxes cancel %s", r4);
	snprintf(line, sizeof(line), "receipt %s cancelled\n", r4);
	expect_output(cmd, 0, line);
	snprintf(cmd, sizeof(cmd), "taxes cancel %s", r1);
	snprintf(line, sizeof(line), "tramit: receipt %s is paid, only a pending one can be cancelled\n", r1);
	expect_output(cmd, 1, line);
	post_receipt(&es, "/pagaments", r4, "87654321X", &r);
	cr_expect(strstr(r.body, "<p>Este recibo está anulado: no debe pagarlo.</p>") != NULL, "%s", r.body);
	http_response_free(&r);

	/* Reconciliation: r2's first attempt never reached the gateway, its second was paid but the
	 * notification was lost; r3's was paid, notification lost, and the gateway's query is down.
	 * r1's first attempt never reached the gateway either. */
	struct attempt lost_never, lost_paid, down;
	card_attempt(&es, r2, "87654321X", &lost_never);
	card_attempt(&es, r2, "87654321X", &lost_paid);
	card_attempt(&es, r3, "87654321X", &down);
	cr_assert_gt(asprintf(&form, "%s&test_notify=lost", lost_paid.form), 0);
	cr_assert_eq(post_raw(url, form, &body), 200, "%s", body);
	free(body);
	free(form);
	cr_assert_gt(asprintf(&form, "%s&test_notify=lost&test_query=unavailable", down.form), 0);
	cr_assert_eq(post_raw(url, form, &body), 200, "%s", body);
	free(body);
	free(form);
	/* And an expedient's fee, paid by card, whose notification was lost too. */
	char *id = http_citizen_files(port, "VIA-001", "{\"form\": {\"establiment\": \"Bar Demo\", "
	                              "\"adreca\": \"Plaça Major 3, 46001 València\", \"m2\": \"12\", "
	                              "\"temporada\": \"anual\"}}");
	snprintf(sql, sizeof(sql), "SELECT result::text FROM outbox WHERE expedient_id = '%s' AND "
	         "kind = 'payment' AND state = 'done'", id);
	char *result = wait_for(sql), *fee_order = http_extract(result, "\"order\":\"", '"');
	char *fee_params = http_extract(result, "\"Ds_MerchantParameters\":\"", '"');
	char *fee_signature = http_extract(result, "\"Ds_Signature\":\"", '"');
	cr_assert(fee_order && fee_params && fee_signature, "%s", result);
	char *ep = http_form_escape(fee_params), *esig = http_form_escape(fee_signature);
	cr_assert_gt(asprintf(&form, "Ds_SignatureVersion=HMAC_SHA256_V1&Ds_MerchantParameters=%s&"
	                      "Ds_Signature=%s&test_notify=lost", ep, esig), 0);
	cr_assert_eq(post_raw(url, form, &body), 200, "%s", body);
	free(body);
	free(form);
	free(ep);
	free(esig);
	free(fee_params);
	free(fee_signature);
	free(result);
	cr_assert_eq(tramit(&out, "payments reconcile --older-than 0"), 0, "%s", out);
	snprintf(line, sizeof(line), "order %s paid (payment:taxa of expedient %s)\n", fee_order, id);
	cr_expect(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
	snprintf(line, sizeof(line), "order %s abandoned: query for order %s: the gateway answered "
	         "errorCode SIS9999\n", first.order, first.order);
	cr_expect(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
	snprintf(line, sizeof(line), "order %s abandoned: query for order %s: the gateway answered "
	         "errorCode SIS9999\n", lost_never.order, lost_never.order);
	cr_expect(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
	snprintf(line, sizeof(line), "receipt %s paid by card, order %s\n", r2, lost_paid.order);
	cr_expect(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
	snprintf(line, sizeof(line), "order %s left open, asking again in 300 s: query_url "
	         "http://127.0.0.1:%d/sis/rest/consulta answered HTTP 503, expected 200\n", down.order, gw);
	cr_expect(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
	cr_expect(strstr(out, "5 orders asked about: 2 paid, 0 refused, 2 abandoned, 1 left for later\n") != NULL,
	          "%s", out);
	free(out);
	char *states = query1("SELECT string_agg(state || ':' || coalesce(settled_by, '-'), ' ' ORDER BY "
	                      "order_no) FROM card_order");
	cr_expect_str_eq(states, "paid:query abandoned:query paid:notification refused:notification "
	                 "abandoned:query paid:query open:-", "the fee's order (from the outbox) first");
	free(states);
	char *fee = query1("SELECT (SELECT vars->>'paid.taxa' FROM expedient WHERE id = '%s') || ' ' || "
	                   "(SELECT actor_id || ' ' || action || ' ' || (payload->'result'->>'by') FROM "
	                   "event WHERE expedient_id = '%s' AND payload->>'outcome' = 'paid')", id, id);
	cr_expect_str_eq(fee, "yes redsys payment:taxa query");
	free(fee);
	free(fee_order);
	free(id);
	/* The demo's own receipts (cli/bank.c seeds them for Maria Demo Ciutadana) aside. */
	char *receipts = query1("SELECT string_agg(state || ' ' || coalesce(paid_order, '-'), ', ' "
	                        "ORDER BY reference) FROM tax_receipt WHERE debtor_name <> "
	                        "'Maria Demo Ciutadana'");
	snprintf(line, sizeof(line), "paid %s, paid %s, pending -, cancelled -", second.order, lost_paid.order);
	cr_expect_str_eq(receipts, line);
	free(receipts);
	/* The order whose query failed waits for its retry; nothing else is due. */
	expect_output("payments reconcile --older-than 0", 0,
	              "0 orders asked about: 0 paid, 0 refused, 0 abandoned, 0 left for later\n");

	/* Two passes at once (two servers) never ask about the same order: eight orders the
	 * gateway never saw, each asked about exactly once between them. */
	PGresult *ins = PQexec(db, "INSERT INTO card_order (order_no, entity_id, purpose, tax_reference, "
	                       "amount_cents) SELECT '91000000' || lpad(i::text, 4, '0'), 'demo', 'tax', "
	                       "reference, amount_cents FROM tax_receipt, generate_series(1, 8) i WHERE "
	                       "debtor_name = 'Pere Consulta'");
	cr_assert_eq(PQresultStatus(ins), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(ins));
	PQclear(ins);
	cr_assert_eq(shell_run(&out, NULL, "cd %s && export TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo "
	                       "TRAMIT_CONNECTORS_CONFIG='%s' TRAMIT_TRAMITS_DIR=%s/tramits && "
	                       "{ %s payments reconcile --older-than 0 > one.txt & %s payments reconcile "
	                       "--older-than 0 > two.txt; wait; } && cat one.txt two.txt | grep asked | "
	                       "awk '{n += $1} END {print n}'", cluster.dir, cluster.conninfo,
	                       connectors_json, TRAMIT_SOURCE_DIR, TRAMIT_BINARY, TRAMIT_BINARY), 0,
	             "%s", out);
	cr_expect_str_eq(out, "8\n");
	free(out);
	char *checks = query1("SELECT count(*) || ' ' || sum(checks) || ' ' || min(state) || ' ' || "
	                      "max(state) FROM card_order WHERE order_no LIKE '91%%'");
	cr_expect_str_eq(checks, "8 8 abandoned abandoned");
	free(checks);

	/* Lookups are limited per client, and the limit says when to come back. */
	int status = 0;
	for (int i = 0; i < 45 && status != 429; i++) {
		post_receipt(&ca, "/pagaments", r3, "87654321X", &r);
		status = (int)r.status;
		if (status == 429)
			cr_expect_str_eq(r.retry_after, "60");
		http_response_free(&r);
	}
	cr_expect_eq(status, 429);

	attempt_free(&first);
	attempt_free(&second);
	attempt_free(&lost_never);
	attempt_free(&lost_paid);
	attempt_free(&down);
	http_client_free(ca.http);
	http_client_free(es.http);
	free(r1);
	free(r2);
	free(r3);
	free(r4);
	PQfinish(db);
	char *server_log;
	shell_run(&server_log, NULL, "grep -E 'ERROR|runtime error|Sanitizer' '%s' | head -5", log);
	cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly: %s", server_log);
	free(server_log);
	kill(gateway, SIGTERM);
	waitpid(gateway, NULL, 0);
	pgtmp_stop(&cluster);
}
