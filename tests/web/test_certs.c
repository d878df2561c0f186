/* Certificate sign-in over TLS against the real server and a real PostgreSQL: a test CA made
 * with the `openssl` CLI issues a citizen's, a company representative's, an employee's, an
 * expired, a revoked and a malformed certificate, and another CA one more; curl presents each
 * to /login/certificate and gets exactly the sign-in or the refusal in ca or es. Cookies
 * carry Secure under TLS, and a TLS file that cannot be read stops start-up. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"
#include "tests/support/tls.h"

static struct eng_pgcluster cluster;
static PGconn *conn;
static pid_t server;
static int port;
static char pki[600], cafile[700];

static int cli(char **out, const char *args)
{
	return shell_run(out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=ajuntament '%s' %s 2>&1",
	                 cluster.conninfo, TRAMIT_BINARY, args);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	port = http_free_port();
	snprintf(pki, sizeof(pki), "%s/pki", cluster.dir);
	snprintf(cafile, sizeof(cafile), "%s/ca/ca.pem", pki);
	tls_pki_make(pki);
	char *out;
	cr_assert_eq(cli(&out, "employee add anna --name 'Anna Gestora Prova'"), 0, "%s", out);
	free(out);
	cr_assert_eq(cli(&out, "certificates link anna 45678901G"), 0, "%s", out);
	cr_assert_str_eq(out, "employee anna signs in with the certificate of 45678901G\n");
	free(out);
	char log_path[800];
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[600], env_cert[900], env_key[900], env_ca[900],
		env_crl[900];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_cert, sizeof(env_cert), "TRAMIT_TLS_CERT=%s/server.pem", pki);
	snprintf(env_key, sizeof(env_key), "TRAMIT_TLS_KEY=%s/server.key", pki);
	snprintf(env_ca, sizeof(env_ca), "TRAMIT_TLS_CLIENT_CA=%s", cafile);
	snprintf(env_crl, sizeof(env_crl), "TRAMIT_TLS_CRL=%s/crl.pem", pki);
	const char *env[] = {env_db, env_port, env_dir, env_cert, env_key, env_ca, env_crl,
	                     "TRAMIT_ENTITY=ajuntament", NULL};
	const char *args[] = {"serve", NULL};
	server = tls_tramit_start(args, env, port, log_path, cafile);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(certs, .init = setup, .fini = teardown, .timeout = 240);

static char *sql1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "(null)");
	PQclear(r);
	return v;
}

static struct tls_client *client(const char *who, const char *lang)
{
	char cert[800], key[800];
	snprintf(cert, sizeof(cert), "%s/%s.pem", pki, who);
	snprintf(key, sizeof(key), "%s/%s.key", pki, who);
	return tls_client_new(port, cafile, who ? cert : NULL, who ? key : NULL, lang);
}

/* GET /login/certificate, then POST it as `as`; the answer to the POST in *r. */
static void certificate_sign_in(struct tls_client *c, const char *as, struct tls_response *r)
{
	tls_get(c, "/login/certificate", r);
	cr_assert_eq(r->status, 200, "%s", r->body);
	char *tok = http_extract(r->body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok);
	tls_response_free(r);
	char body[200];
	snprintf(body, sizeof(body), "csrf=%s&who=%s&next=", tok, as);
	free(tok);
	tls_post_form(c, "/login/certificate", body, r);
}

static void expect_refusal(const char *who, const char *lang, const char *as, long status,
                           const char *message)
{
	struct tls_client *c = client(who, lang);
	struct tls_response r;
	certificate_sign_in(c, as, &r);
	cr_expect_eq(r.status, status, "%s: %ld %s", who ? who : "no certificate", r.status, r.body);
	char *shown = http_extract(r.body, "id=\"signin-error\">", '<');
	cr_expect_str_eq(shown ? shown : "", message, "%s", who ? who : "no certificate");
	cr_expect(strstr(r.set_cookie, "sid=") == NULL, "a refused sign-in set a session: %s", r.set_cookie);
	free(shown);
	tls_response_free(&r);
	tls_client_free(c);
}

Test(certs, citizen_certificate_signs_in_by_the_nif_in_its_serial_number)
{
	struct tls_client *c = client("citizen", "ca");
	struct tls_response r;
	certificate_sign_in(c, "citizen", &r);
	cr_assert_eq(r.status, 303, "%s", r.body);
	cr_expect_str_eq(r.location, "/carpeta");
	char *sid = http_extract(r.set_cookie, "sid=", ';');
	cr_assert_not_null(sid, "no session cookie in %s", r.set_cookie);
	char expected[200];
	snprintf(expected, sizeof(expected), "sid=%s; Path=/; HttpOnly; SameSite=Lax; Secure", sid);
	cr_expect(strstr(r.set_cookie, expected) != NULL, "not a Secure cookie: %s", r.set_cookie);
	free(sid);
	tls_response_free(&r);
	tls_get(c, "/carpeta", &r);
	cr_assert_eq(r.status, 200);
	char *who = http_extract(r.body, "id=\"who\">", '<');
	cr_expect_str_eq(who ? who : "", "MARIA PROVA GARCIA");
	free(who);
	cr_expect(strstr(r.body, "id=\"acting-for\"") == NULL, "a citizen's own certificate acts for nobody");
	tls_response_free(&r);
	char *row = sql1("SELECT principal_kind || ' ' || principal_id || ' ' || method || ' ' || "
	                 "coalesce(cert_company, '-') FROM web_session");
	cr_expect_str_eq(row, "citizen 12345678Z certificate -");
	free(row);
	tls_client_free(c);
}

Test(certs, company_representative_certificate_acts_for_the_company)
{
	struct tls_client *c = client("company", "es");
	struct tls_response r;
	certificate_sign_in(c, "citizen", &r);
	cr_assert_eq(r.status, 303, "%s", r.body);
	tls_response_free(&r);
	tls_get(c, "/carpeta", &r);
	cr_assert_eq(r.status, 200);
	char *acting = http_extract(r.body, "id=\"acting-for\">", '<');
	cr_expect_str_eq(acting ? acting : "", "Actúa en nombre de ");
	cr_expect(strstr(r.body, "<strong>EMPRESA PROVA SL</strong> (B12345674)") != NULL, "%s", r.body);
	free(acting);
	tls_response_free(&r);
	char *row = sql1("SELECT principal_id || ' ' || method || ' ' || cert_company || ' ' || acting_as "
	                 "FROM web_session");
	cr_expect_str_eq(row, "00000000T certificate B12345674 B12345674");
	free(row);
	row = sql1("SELECT name FROM person WHERE nif = 'B12345674'");
	cr_expect_str_eq(row, "EMPRESA PROVA SL");
	free(row);
	/* Back to themselves through the switch: the company is one of the choices. */
	tls_get(c, "/carpeta/representacio", &r);
	cr_expect(strstr(r.body, "id=\"as-B12345674\" checked") != NULL, "%s", r.body);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	tls_response_free(&r);
	char body[200];
	snprintf(body, sizeof(body), "csrf=%s&as=", csrf);
	free(csrf);
	tls_post_form(c, "/carpeta/representacio", body, &r);
	cr_expect_eq(r.status, 303);
	tls_response_free(&r);
	row = sql1("SELECT coalesce(acting_as, '-') FROM web_session");
	cr_expect_str_eq(row, "-");
	free(row);
	tls_client_free(c);
}

Test(certs, employee_certificate_signs_in_the_linked_employee_only_as_employee)
{
	struct tls_client *c = client("employee", "ca");
	struct tls_response r;
	certificate_sign_in(c, "employee", &r);
	cr_assert_eq(r.status, 303, "%s", r.body);
	cr_expect_str_eq(r.location, "/backoffice");
	tls_response_free(&r);
	tls_get(c, "/backoffice", &r);
	cr_expect_eq(r.status, 200);
	tls_response_free(&r);
	char *row = sql1("SELECT principal_kind || ' ' || principal_id || ' ' || method FROM web_session");
	cr_expect_str_eq(row, "employee anna certificate");
	free(row);
	tls_client_free(c);
	expect_refusal("citizen", "ca", "employee", 403,
	               "Aquest certificat no pertany a cap persona del personal de l'Ajuntament. Si sou "
	               "ciutadà o ciutadana, trieu «Ciutadà o ciutadana»; si sou personal, demaneu que "
	               "vinculen el certificat al vostre usuari.");
}

Test(certs, expired_revoked_unknown_and_missing_certificates_are_refused_in_both_languages)
{
	expect_refusal("expired", "ca", "citizen", 403,
	               "El vostre certificat ha caducat. Renoveu-lo amb l'entitat que el va emetre (FNMT, "
	               "ACCV, DNIe) i torneu-ho a provar.");
	expect_refusal("expired", "es", "citizen", 403,
	               "Su certificado ha caducado. Renuévelo con la entidad que lo emitió (FNMT, ACCV, DNIe) "
	               "y vuelva a intentarlo.");
	expect_refusal("revoked", "ca", "citizen", 403,
	               "El vostre certificat ha sigut revocat i ja no es pot utilitzar. Sol·liciteu-ne un de "
	               "nou a l'entitat que el va emetre.");
	expect_refusal("stranger", "es", "citizen", 403,
	               "Su certificado lo ha emitido una entidad que esta sede no acepta. Utilice un "
	               "certificado cualificado (DNIe, FNMT, ACCV).");
	expect_refusal("stranger", "ca", "citizen", 403,
	               "El vostre certificat l'ha emès una entitat que aquesta seu no accepta. Utilitzeu un "
	               "certificat qualificat (DNIe, FNMT, ACCV).");
	expect_refusal("nonif", "ca", "citizen", 403,
	               "El certificat no porta un DNI o NIE vàlid en el número de sèrie del titular, de "
	               "manera que no sabem qui sou. Utilitzeu un certificat de persona física.");
	expect_refusal(NULL, "ca", "citizen", 401,
	               "El navegador no ha enviat cap certificat. Instal·leu el vostre certificat digital al "
	               "navegador, torneu a carregar la pàgina i trieu-lo quan us el demane.");
	char *n = sql1("SELECT count(*) FROM web_session");
	cr_expect_str_eq(n, "0", "a refused certificate left a session");
	free(n);
	n = sql1("SELECT count(*) FROM person");
	cr_expect_str_eq(n, "0", "a refused certificate recorded a person");
	free(n);
}

Test(certs, cookies_are_secure_under_tls)
{
	struct tls_client *c = client(NULL, "ca");
	struct tls_response r;
	tls_get(c, "/lang?to=es&next=/", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.set_cookie, "lang=es; Path=/; Max-Age=31536000; SameSite=Lax; Secure");
	tls_response_free(&r);
	tls_get(c, "/login", &r);
	cr_expect(strstr(r.set_cookie, "; HttpOnly; SameSite=Strict; Secure") != NULL, "%s", r.set_cookie);
	cr_expect(strstr(r.body, "href=\"/login/certificate?next=\"") != NULL, "no link to the certificate sign-in");
	tls_response_free(&r);
	tls_client_free(c);
}

Test(certs, unreadable_tls_files_stop_start_up_with_the_variable_named)
{
	char *out;
	int st = shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=ajuntament PORT=%d "
	                   "TRAMIT_TLS_CERT=/nonexistent/server.pem TRAMIT_TLS_KEY='%s/server.key' "
	                   "timeout 60 '%s' serve 2>&1", cluster.conninfo, http_free_port(), pki, TRAMIT_BINARY);
	cr_expect_eq(st, 1, "%s", out);
	cr_expect(strstr(out, "cannot read the TLS certificate TRAMIT_TLS_CERT=/nonexistent/server.pem "
	                      "(a PEM certificate chain is expected)") != NULL, "%s", out);
	free(out);
	st = shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=ajuntament PORT=%d "
	               "TRAMIT_TLS_CERT='%s/server.pem' TRAMIT_TLS_KEY='%s/citizen.key' "
	               "timeout 60 '%s' serve 2>&1", cluster.conninfo, http_free_port(), pki, pki, TRAMIT_BINARY);
	cr_expect_eq(st, 1, "%s", out);
	cr_expect(strstr(out, "/citizen.key does not belong to the certificate TRAMIT_TLS_CERT=") != NULL,
	          "%s", out);
	free(out);
}
