/* Browser journeys: the test starts a throw-away PostgreSQL and `tramit serve --demo` on
 * loopback, then runs Node scripts (tests/browser/<name>.mjs) that drive Debian's headless
 * Chromium through the pages and check each with axe-core. Each script's exit status and its
 * "journey ok" lines decide; its output is always printed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static pid_t server;
static int port;
static char log_path[600];

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	port = http_free_port();
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[600];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	const char *env[] = {env_db, env_port, env_dir, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	/* The portasignatures' server-held keys (signatures.mjs), made by its test. */
	static char signer_dir[700];
	snprintf(signer_dir, sizeof(signer_dir), "%s/signers", cluster.dir);
	setenv("TRAMIT_SIGNER_DIR", signer_dir, 1);
	/* Uploads are scanned: libclamav with a test signature database (as tests/web/test_uploads.c). */
	static char av_dir[700], av_file[800], av_conf[800];
	snprintf(av_dir, sizeof(av_dir), "%s/clamav", cluster.dir);
	cr_assert_eq(mkdir(av_dir, 0755), 0);
	snprintf(av_file, sizeof(av_file), "%s/tramit-test.hdb", av_dir);
	FILE *av = fopen(av_file, "w");
	cr_assert_not_null(av);
	fputs("44d88612fea8a8f36de82e1278abb02f:68:Tramit.Test.EICAR\n", av);
	fclose(av);
	snprintf(av_conf, sizeof(av_conf), "%s/connectors.json", cluster.dir);
	av = fopen(av_conf, "w");
	cr_assert_not_null(av);
	fprintf(av, "{\"antivirus\": {\"database_dir\": \"%s\"}}", av_dir);
	fclose(av);
	setenv("TRAMIT_CONNECTORS_CONFIG", av_conf, 1);
	server = tramit_start(args, env, port, log_path);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	pgtmp_stop(&cluster);
}

TestSuite(browser, .init = setup, .fini = teardown, .timeout = 180);

/* The last bytes of the server's log, to show beside a failing script's output. */
static char *log_tail(void)
{
	static char tail[4096];
	tail[0] = '\0';
	FILE *f = fopen(log_path, "r");
	if (!f)
		return tail;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0, SEEK_SET);
	size_t n = fread(tail, 1, sizeof(tail) - 1, f);
	tail[n] = '\0';
	fclose(f);
	return tail;
}

/* Runs `node tests/browser/<script>.mjs http://127.0.0.1:PORT`; expects exit status 0, one
 * "journey ok: <name>" line per expected journey and no accessibility finding. */
static void run_script(const char *script, const char *const *journeys)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && TRAMIT_BROWSER_NODE_DIR='%s' TRAMIT_BROWSER_SCREENSHOTS='%s/%s' "
	         "node tests/browser/%s.mjs http://127.0.0.1:%d 2>&1",
	         TRAMIT_SOURCE_DIR, TRAMIT_BROWSER_NODE_DIR, TRAMIT_BROWSER_SCREENSHOTS, script, script, port);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "cannot run %s", cmd);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	size_t got;
	while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += got;
		if (cap - len < 1024)
			out = realloc(out, cap *= 2);
	}
	out[len] = '\0';
	int st = pclose(p);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	/* Always visible with ctest --output-on-failure or -V: the summary line has the timing. */
	fprintf(stderr, "--- %s.mjs (exit %d) ---\n%s", script, code, out);
	cr_expect_eq(code, 0, "%s.mjs exited with %d; server log tail:\n%s", script, code, log_tail());
	for (const char *const *j = journeys; *j; j++) {
		char line[512];
		snprintf(line, sizeof(line), "journey ok: %s (", *j);
		cr_expect(strstr(out, line) != NULL, "%s.mjs did not report «%s»", script, line);
	}
	cr_expect(strstr(out, " 0 accessibility findings, ") != NULL,
	          "%s.mjs: serious or critical axe-core violations, or a page wider than a phone's "
	          "screen (listed above)", script);
	free(out);
}

/* One server for the three scripts: a cluster and a server per script would cost more than
 * the journeys themselves. The scripts do not depend on each other's expedients. */
Test(browser, journeys_work_in_both_languages_without_javascript_and_by_keyboard)
{
	const char *const journeys[] = {"citizen files, employee acts (ca)",
	                                "citizen files, employee acts (es, phone)", NULL};
	run_script("journey", journeys);
	const char *const nojs[] = {"form without JavaScript (es)", NULL};
	run_script("nojs", nojs);
	const char *const keyboard[] = {"keyboard only (ca)", NULL};
	run_script("keyboard", keyboard);
}

/* Issue 5's dynamic forms: a conditional field, a repeatable group, an upload scanned by the
 * test signature database, a draft resumed from the Carpeta, the review, the receipt. */
Test(browser, a_form_with_a_group_and_a_file_is_saved_resumed_reviewed_and_filed)
{
	const char *const forms[] = {"forms: condition, group, upload, draft, review (ca, then es on a phone)", NULL};
	run_script("forms", forms);
}

/* Issue 6: the portasignatures. Three demo employees get a password and a key; the demo
 * citizen files a general application, on which two requests are written as the sending
 * action would write them: the decree-signing circuit of PAR-004 (three lines) over
 * "resolucio", and a one-line circuit over "informe" for the rejection path. */
static void signature_requests(const char *expedient_id)
{
	PGconn *db = pgtmp_connect(&cluster);
	static const char *const docs[] = {"resolucio", "informe"};
	for (int i = 0; i < 2; i++) {
		char sql[3000];
		snprintf(sql, sizeof(sql),
		         "WITH d AS (INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, "
		         "content, created_at) VALUES ('demo', '%1$s', '%2$s', 'CSV-BROWSER-%2$s', "
		         "encode(sha256('%%PDF-1.4 %2$s'), 'hex'), 'application/pdf', convert_to('%%PDF-1.4 %2$s', 'UTF8'), "
		         "now()) RETURNING id), r AS (INSERT INTO signature_request (id, entity_id, expedient_id, "
		         "event_seq, action, document, effect_id, document_id, created_at, expires_at, remind_at) "
		         "SELECT gen_random_uuid(), 'demo', '%1$s', 1, 'send_to_sign', '%2$s', 'sign_request:%2$s', d.id, "
		         "now(), now() + interval '15 days', now() + interval '5 days' FROM d RETURNING id), "
		         "l AS (INSERT INTO signature_line (request_id, seq, need, state) SELECT id, s, n, "
		         "CASE WHEN s = 1 THEN 'active' ELSE 'waiting' END FROM r, (VALUES (1, 'all'), (2, 'any'), "
		         "(3, 'all')) v(s, n) WHERE s = 1 OR %3$d = 0) "
		         "INSERT INTO signature_signer (request_id, line_seq, pos, role, approve) SELECT id, l, p, role, false "
		         "FROM r, (VALUES (1, 1, 'cap_servei'), (2, 1, 'intervencio'), (2, 2, 'secretaria'), "
		         "(3, 1, 'alcaldia')) v(l, p, role) WHERE l = 1 OR %3$d = 0", expedient_id, docs[i], i);
		PGresult *r = PQexec(db, sql);
		cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(db);
}

Test(browser, a_three_line_signature_circuit_and_a_rejection)
{
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "sh %s/tests/sign/make_signers.sh %s/signers "
	                       "demo.cap:11111111H:'ANNA DEMO' demo.interventor:22222222J:'JORDI DEMO' "
	                       "demo.alcaldessa:44444444A:'ROSA DEMO' 2>&1", TRAMIT_SOURCE_DIR, cluster.dir),
	             0, "%s", out);
	free(out);
	static const char *const users[] = {"demo.cap", "demo.interventor", "demo.alcaldessa"};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(shell_run(&out, NULL, "printf 'contrasenya-de-prova-1\\n' | TRAMIT_DATABASE_URL='%s' "
		                       "TRAMIT_ENTITY=demo %s employee password %s 2>&1", cluster.conninfo,
		                       TRAMIT_BINARY, users[i]), 0, "%s", out);
		free(out);
	}
	/* The demo citizen files GEN-001 through the API. */
	struct http_client *h = http_client_new(port, "ca");
	struct http_response r;
	http_get(h, "/login", &r);
	char *lcsrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(lcsrf);
	http_response_free(&r);
	char body[300];
	snprintf(body, sizeof(body), "csrf=%s&who=citizen&next=%%2Ftramits%%2FGEN-001%%2Fnew", lcsrf);
	http_post_form(h, "/login", body, &r);
	http_response_free(&r);
	http_get(h, "/tramits/GEN-001/new", &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(csrf, "no session: %ld", r.status);
	http_response_free(&r);
	http_post_json(h, "/api/v1/tramits/GEN-001/expedients", "{\"form\": {\"assumpte\": \"Subvencio\", "
	               "\"exposa\": \"Fets\", \"solicita\": \"Peticio\", \"idioma\": \"ca\"}}", csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	signature_requests(id);
	const char *const journeys[] = {"three-line circuit signed by three employees",
	                                "rejection needs a reason (es)", NULL};
	run_script("signatures", journeys);
	free(id);
	free(csrf);
	free(lcsrf);
	http_client_free(h);
}

/* Subsanación (art. 68 LPAC): the employee's request says what to correct, the citizen opens
 * the binding notification, corrects the pre-filled grants form (the file kept) and gets a
 * second registry entry; the employee rejects, and the citizen opens the resolution. */
Test(browser, a_correction_is_requested_with_a_text_filed_on_the_prefilled_form_and_resolved)
{
	const char *const journeys[] = {"correction: request with a text, notification, pre-filled form, "
	                                "second entry, rejection (ca, then es on a phone)", NULL};
	run_script("correction", journeys);
}
