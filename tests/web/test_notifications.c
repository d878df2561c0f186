/* Binding notifications through the real server: the Carpeta lists the one waiting, its page
 * shows no content until the recipient opens it with a POST (CSRF-checked), opening records
 * the access and the evidence, someone else's notification is "not found", the back office
 * sees the state and times, and notice preferences are validated, in Valencian and Spanish. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connectors/sign/sign.h"
#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"
#include "web/internal.h"

static struct eng_pgcluster cluster;
static PGconn *db;
static pid_t server;
static int port;

static char *query1(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect(const char *want, const char *sql)
{
	char *v = query1(sql);
	cr_assert_str_eq(v, want, "%s: got %s", sql, v);
	free(v);
}

/* The demo server; behind a trusted proxy header too when proxy is set, so any NIF can sign in. */
static void start(bool proxy)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	port = http_free_port();
	static char env_db[1200], env_dir[600], env_port[32], log[700];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, proxy ? "TRAMIT_TRUSTED_HEADER=X-Remote-User" : NULL,
	                     "TRAMIT_TRUSTED_PROXY=127.0.0.1", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log);
	db = pgtmp_connect(&cluster);
}

static void setup(void)
{
	start(false);
}

static void setup_proxy(void)
{
	start(true);
}

static void teardown(void)
{
	PQfinish(db);
	tramit_stop(server, SIGTERM);
	pgtmp_stop(&cluster);
}

TestSuite(web_notifications, .init = setup, .fini = teardown, .timeout = 180);

/* A client signed in through the demo form as "citizen" or "employee". */
static struct http_client *signed_in(const char *who, const char *lang)
{
	struct http_client *c = http_client_new(port, lang);
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=%s&next=/", tok ? tok : "", who);
	free(tok);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "sign-in as %s: %ld", who, r.status);
	http_response_free(&r);
	return c;
}

/* The CSRF token on a page the client can see. */
static char *csrf_of(struct http_client *c, const char *path)
{
	struct http_response r;
	http_get(c, path, &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok, "no form on %s: %s", path, r.body);
	http_response_free(&r);
	return tok;
}

/* Maria files a terrace licence and an employee requires a fix: a binding notification. */
static char *notified(struct http_client *employee, char **notif_id)
{
	char *id = http_citizen_files(port, "VIA-001", "{\"form\": {\"establiment\": \"Bar Demo\", "
	                              "\"adreca\": \"Plaça Major 3, 46001 València\", \"m2\": \"12\", "
	                              "\"temporada\": \"anual\"}}");
	char sql[300], path[200], body[300];
	/* The fee's payment order is settled first (no gateway here: it fails), which moves the
	 * expedient's version; the employee acts on the version after that. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE expedient_id = '%s' AND "
	         "state IN ('pending', 'claimed')", id);
	for (int i = 0; i < 200; i++) {
		char *left = query1(sql);
		bool settled = strcmp(left, "0") == 0;
		free(left);
		if (settled)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	snprintf(sql, sizeof(sql), "SELECT version FROM expedient WHERE id = '%s'", id);
	char *version = query1(sql);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	char *csrf = csrf_of(employee, path);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/actions/request_fix", id);
	snprintf(body, sizeof(body), "csrf=%s&version=%s&reason=Falta+el+pl%%C3%%A0nol", csrf, version);
	struct http_response r;
	http_post_form(employee, path, body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	free(csrf);
	free(version);
	snprintf(sql, sizeof(sql), "SELECT id FROM notification WHERE expedient_id = '%s'", id);
	*notif_id = query1(sql);
	cr_assert_eq(strlen(*notif_id), 36);
	return id;
}

Test(web_notifications, the_recipient_opens_it_with_a_post_and_the_access_is_recorded)
{
	struct http_client *employee = signed_in("employee", "ca");
	char *nid, *id = notified(employee, &nid);
	struct http_client *maria = signed_in("citizen", "ca");
	struct http_response r;
	char path[200], sql[400];

	http_get(maria, "/carpeta", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "id=\"notif-waiting\"") != NULL, "%s", r.body);
	snprintf(path, sizeof(path), "href=\"/carpeta/notificacions/%s\"", nid);
	cr_assert(strstr(r.body, path) != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "Pendent d&#39;obrir") != NULL, "%s", r.body);
	http_response_free(&r);

	/* Looking is not opening: no content, a button, and nothing recorded. */
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s", nid);
	http_get(maria, path, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "id=\"open\"") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "id=\"notif-content\"") == NULL);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT state FROM notification WHERE id = '%s'", nid);
	expect("made_available", sql);

	/* A POST without the session's token is refused and changes nothing. */
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s/open", nid);
	http_post_form(maria, path, "csrf=wrong", &r);
	cr_assert_eq(r.status, 403);
	http_response_free(&r);
	expect("made_available", sql);

	char body[200];
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	http_post_form(maria, path, body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT state || '|' || accessed_by || '|' || auth_method || '|' || "
	         "(evidence_document_id IS NULL) FROM notification WHERE id = '%s'", nid);
	expect("accessed|12345678Z|demo|true", sql);
	snprintf(sql, sizeof(sql), "SELECT kind || '|' || action || '|' || actor_id || '|' || "
	         "(payload::json->>'outcome') FROM event WHERE expedient_id = '%s' ORDER BY seq DESC LIMIT 1", id);
	expect("result|notify:requeriment|12345678Z|accessed", sql);

	/* Now the content shows, with the evidence issued under a CSV. */
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s", nid);
	http_get(maria, path, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "id=\"notif-content\"") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "id=\"notif-accessed\"") != NULL);
	cr_assert(strstr(r.body, "Es notifica l&#39;acte «Requerir esmena»") != NULL, "%s", r.body);
	char *shown = http_extract(r.body, "id=\"notif-evidence-csv\">", ' ');
	cr_assert_not_null(shown, "%s", r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT d.csv || '|' || (d.sha256 = n.evidence_sha256) FROM notification n "
	         "JOIN document d ON d.id = n.evidence_document_id WHERE n.id = '%s'", nid);
	char want[80];
	snprintf(want, sizeof(want), "%s|true", shown);
	expect(want, sql);
	/* The content hash shown is the hash of the content made available. */
	snprintf(sql, sizeof(sql), "SELECT encode(sha256(convert_to(content, 'UTF8')), 'hex') FROM "
	         "notification WHERE id = '%s'", nid);
	char *hash = query1(sql);
	http_get(maria, path, &r);
	cr_assert(strstr(r.body, hash) != NULL, "%s", r.body);
	http_response_free(&r);

	/* The back office sees the state, when, who and how. */
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	http_get(employee, path, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "id=\"expedient-notifications\"") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "data-state=\"accessed\">Oberta") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "12345678Z (demo)") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, shown) != NULL, "the evidence CSV: %s", r.body);
	http_response_free(&r);

	/* In Spanish too. */
	struct http_client *maria_es = signed_in("citizen", "es");
	http_get(maria_es, "/carpeta", &r);
	cr_assert(strstr(r.body, "Notificaciones anteriores") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, ">Abierta<") != NULL, "%s", r.body);
	http_response_free(&r);
	http_client_free(maria_es);

	free(hash);
	free(shown);
	free(csrf);
	free(id);
	free(nid);
	http_client_free(maria);
	http_client_free(employee);
}

Test(web_notifications, someone_elses_notification_is_not_found_and_stays_unopened)
{
	struct http_client *employee = signed_in("employee", "ca");
	char *nid, *id = notified(employee, &nid);
	char sql[300], path[200], body[200];
	/* The notification belongs to another person. */
	snprintf(sql, sizeof(sql), "UPDATE notification SET recipient_nif = '00000000T' WHERE id = '%s' "
	         "RETURNING id", nid);
	free(query1(sql));
	struct http_client *maria = signed_in("citizen", "ca");
	struct http_response r;
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s", nid);
	http_get(maria, path, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(r.body, "Només la persona destinatària la pot obrir.") != NULL, "%s", r.body);
	http_response_free(&r);
	char *csrf = csrf_of(maria, "/carpeta/avisos");
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s/open", nid);
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	http_post_form(maria, path, body, &r);
	cr_assert_eq(r.status, 404);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT state || '|' || (SELECT count(*) FROM event e WHERE "
	         "e.expedient_id = n.expedient_id AND e.payload::json->>'outcome' IN ('accessed', 'rejected')) "
	         "FROM notification n WHERE id = '%s'", nid);
	expect("made_available|0", sql);
	free(csrf);
	free(id);
	free(nid);
	http_client_free(maria);
	http_client_free(employee);
}

Test(web_notifications, notice_preferences_are_validated_and_saved)
{
	struct http_client *maria = signed_in("citizen", "ca");
	struct http_response r;
	http_get(maria, "/carpeta/avisos", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "<label for=\"phone\">Telèfon mòbil</label>") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "id=\"channel-email\" checked") != NULL, "%s", r.body);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[300];
	snprintf(body, sizeof(body), "csrf=%s&channel=sms&phone=", csrf);
	http_post_form(maria, "/carpeta/avisos", body, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "Per a rebre els avisos per SMS, escriviu el vostre telèfon mòbil.") != NULL, "%s", r.body);
	http_response_free(&r);
	snprintf(body, sizeof(body), "csrf=%s&channel=sms&phone=12ab", csrf);
	http_post_form(maria, "/carpeta/avisos", body, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "aria-invalid=\"true\"") != NULL, "%s", r.body);
	http_response_free(&r);
	expect("email|", "SELECT notice_channel || '|' || coalesce(phone, '') FROM person WHERE nif = '12345678Z'");
	snprintf(body, sizeof(body), "csrf=%s&channel=sms&phone=+600+111+222+", csrf);
	http_post_form(maria, "/carpeta/avisos", body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	expect("sms|600 111 222", "SELECT notice_channel || '|' || phone FROM person WHERE nif = '12345678Z'");
	http_get(maria, "/carpeta/avisos?saved=1", &r);
	cr_assert(strstr(r.body, "id=\"channel-sms\" checked") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "id=\"saved\"") != NULL);
	http_response_free(&r);
	free(csrf);
	http_client_free(maria);
}

/* The evidence sealed with the municipality's seal and time-stamped by a real TSA peer: the
 * seal verifies against the test CA and covers exactly the evidence bytes. */
Test(evidence_seal, sealed_evidence_verifies_and_covers_the_exact_record, .timeout = 120)
{
	char dir[] = "/tmp/tramit-seal-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "%s/tests/sign/make_pki.sh %s 2>&1", TRAMIT_SOURCE_DIR, dir),
	             0, "make_pki.sh: %s", out);
	free(out);
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	pid_t tsa = fork();
	cr_assert_geq(tsa, 0);
	if (tsa == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl("/usr/bin/python3", "python3", TRAMIT_SOURCE_DIR "/tests/sign/tsa_peer.py", dir,
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	int tsa_port = 0;
	cr_assert(f && fscanf(f, "%d", &tsa_port) == 1, "the TSA peer did not start");
	fclose(f);
	char key[300], cert[300], ca[300], url[100];
	snprintf(key, sizeof(key), "%s/seal.key", dir);
	snprintf(cert, sizeof(cert), "%s/seal.pem", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", tsa_port);
	struct web_config cfg = {.seal_key = key, .seal_cert = cert, .tsa_url = url};
	const char *evidence = "{\"content_sha256\":\"ab\",\"outcome\":\"accessed\",\"type\":\"notification_evidence\"}";
	char err[256] = "", *xml = NULL;
	int rc = web_evidence_seal(&xml, &cfg, evidence, err);
	kill(tsa, SIGTERM);
	waitpid(tsa, NULL, 0);
	cr_assert_eq(rc, 0, "%s", err);
	struct conn_sign_trust *trust;
	struct conn_sign_error e = {0};
	struct conn_sign_report rep = {0};
	cr_assert_eq(conn_sign_trust_load(&trust, ca, &e), 0, "%s", e.msg);
	cr_assert_eq(conn_sign_xades_verify(&rep, (const unsigned char *)xml, strlen(xml), NULL, 0,
	                                    trust, &e), 0, "%s", e.msg);
	cr_assert_eq(rep.content_len, strlen(evidence));
	cr_assert_eq(memcmp(rep.content, evidence, rep.content_len), 0);
	cr_assert(strstr(rep.subject, "Segell") != NULL, "%s", rep.subject);
	cr_assert_neq(rep.timestamp[0], '\0', "the seal carries no time stamp");
	conn_sign_report_clear(&rep);
	conn_sign_trust_free(trust);
	free(xml);
	/* Without a usable key nothing is sealed, and the reason says which file. */
	snprintf(key, sizeof(key), "%s/missing.key", dir);
	cr_assert_eq(web_evidence_seal(&xml, &cfg, evidence, err), -1);
	cr_assert(strncmp(err, "the seal: ", 10) == 0, "%s", err);
	cr_assert_null(xml);
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

TestSuite(web_notifications_proxy, .init = setup_proxy, .fini = teardown, .timeout = 180);

/* A citizen named by the reverse proxy's header. */
static struct http_client *proxied(const char *nif, char **csrf)
{
	struct http_client *c = http_client_new(port, "ca");
	char header[64];
	snprintf(header, sizeof(header), "X-Remote-User: %s", nif);
	http_client_header(c, header);
	*csrf = csrf_of(c, "/carpeta/avisos");
	return c;
}

Test(web_notifications_proxy, another_citizen_is_refused_and_the_recipient_is_recorded_as_identified)
{
	struct http_client *employee = signed_in("employee", "ca");
	char *nid, *id = notified(employee, &nid);
	char *csrf_b, *csrf_a;
	struct http_client *b = proxied("00000000T", &csrf_b), *a = proxied("12345678Z", &csrf_a);
	struct http_response r;
	char path[200], body[200], sql[300];
	/* B is signed in (the preferences page served a form) but the notification is not theirs. */
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s", nid);
	http_get(b, path, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(r.body, "notif-content") == NULL);
	http_response_free(&r);
	http_get(b, "/carpeta", &r);
	cr_assert(strstr(r.body, nid) == NULL, "B's folder lists A's notification");
	http_response_free(&r);
	snprintf(path, sizeof(path), "/carpeta/notificacions/%s/open", nid);
	snprintf(body, sizeof(body), "csrf=%s", csrf_b);
	http_post_form(b, path, body, &r);
	cr_assert_eq(r.status, 404);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT state FROM notification WHERE id = '%s'", nid);
	expect("made_available", sql);
	/* A opens it: the evidence says how A was identified. */
	snprintf(body, sizeof(body), "csrf=%s", csrf_a);
	http_post_form(a, path, body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	snprintf(sql, sizeof(sql), "SELECT state || '|' || accessed_by || '|' || auth_method || '|' || "
	         "(evidence::json->>'auth_method') FROM notification WHERE id = '%s'", nid);
	expect("accessed|12345678Z|reverse-proxy:X-Remote-User|reverse-proxy:X-Remote-User", sql);
	free(csrf_a);
	free(csrf_b);
	free(id);
	free(nid);
	http_client_free(a);
	http_client_free(b);
	http_client_free(employee);
}
