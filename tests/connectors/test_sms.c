/* The SMS connector against a real HTTP SMS gateway on loopback (sms_peer.py, started per test
 * with Debian's python3), which records every request, parses its body with Python's json or
 * urllib and sends one SMS per reference; the tests read the records back and assert numbers,
 * texts, headers and bodies exactly. Routing goes through conn_deliver with smtp (aiosmtpd,
 * smtp_peer.py) and sms configured side by side. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "tests/support/shell.h"

#define PYTHON "/usr/bin/python3"
#define SMS_PEER TRAMIT_SOURCE_DIR "/tests/connectors/sms_peer.py"
#define SMTP_PEER TRAMIT_SOURCE_DIR "/tests/connectors/smtp_peer.py"
#define KEY "EXP-2026-000042/3/1"
#define SECRET "Bearer sk-live-0123456789abcdef"
#define JSON_BODY "{\\\"to\\\":\\\"{to}\\\",\\\"text\\\":\\\"{text}\\\",\\\"ref\\\":\\\"{key}\\\"," \
                  "\\\"from\\\":\\\"{sender}\\\"}"
#define FORM_BODY "to={to}&text={text}&ref={key}&from={sender}"
#define BINDING_CA "Teniu una notificació de l'expedient EXP-2026-000042 en la seu electrònica: " \
                   "https://seu.example.org. Avís informatiu."
#define BINDING_ES "Tiene una notificación del expediente EXP-2026-000042 en la sede " \
                   "electrónica: https://seu.example.org. Aviso informativo."
#define INFORMATIVE_CA "Novetats en el vostre expedient EXP-2026-000042: https://seu.example.org"
#define INFORMATIVE_ES "Novedades en su expediente EXP-2026-000042: https://seu.example.org"

static char dir[64], inbox[128], mailbox[128];
static pid_t peers[2] = {-1, -1};

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tramit-sms-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(inbox, sizeof(inbox), "%s/gateway", dir);
	snprintf(mailbox, sizeof(mailbox), "%s/mail", dir);
	cr_assert_eq(mkdir(inbox, 0700), 0);
	cr_assert_eq(mkdir(mailbox, 0700), 0);
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		if (peers[i] > 0) {
			kill(peers[i], SIGTERM);
			waitpid(peers[i], NULL, 0);
			peers[i] = -1;
		}
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(sms, .init = setup, .fini = teardown, .timeout = 60);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the gateway and returns its port. */
static int gateway_start(void)
{
	char ready[200];
	snprintf(ready, sizeof(ready), "%s/gateway.ready", dir);
	const char *argv[] = {PYTHON, SMS_PEER, inbox, ready, NULL};
	int port;
	peers[0] = shell_peer_start(argv, ready, &port);
	return port;
}

/* Starts the SMTP server (plain, no STARTTLS) and returns its port. */
static int smtp_start(void)
{
	char ready[200];
	snprintf(ready, sizeof(ready), "%s/smtp.ready", dir);
	const char *argv[] = {PYTHON, SMTP_PEER, mailbox, ready, NULL};
	int port;
	peers[1] = shell_peer_start(argv, ready, &port);
	return port;
}

/* A port where nothing listens: bound and closed at once. */
static int port_nobody(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* The "sms" section for the gateway at port and path: a JSON body, a sender, the e-office and
 * the answer's id, each unless extra (may be NULL) gives that key itself. */
static void section(char *buf, size_t len, int port, const char *path, const char *extra)
{
	const char *e = extra ? extra : "";
	snprintf(buf, len, "{\"url\": \"http://127.0.0.1:%d%s\"%s%s%s%s%s%s}", port, path,
	         strstr(e, "\"body\"") ? "" : ", \"body\": \"" JSON_BODY "\"",
	         strstr(e, "\"sender\"") ? "" : ", \"sender\": \"Ajuntament\"",
	         strstr(e, "\"sede_url\"") ? "" : ", \"sede_url\": \"https://seu.example.org\"",
	         strstr(e, "\"message_id_pointer\"") ? "" : ", \"message_id_pointer\": \"/messages/0/id\"",
	         *e ? ", " : "", e);
}

static struct conn_set *open_sms(int port, const char *path, const char *extra)
{
	char sms[2048], json[2200];
	section(sms, sizeof(sms), port, path, extra);
	snprintf(json, sizeof(json), "{\"sms\": %s}", sms);
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	return set;
}

static struct eng_delivery deliver(struct conn_set *set, const char *args, const char *key)
{
	struct eng_outbox_item item = {
		.id = 1, .entity_id = "demo", .expedient_id = "EXP-2026-000042", .kind = "notify",
		.effect_id = "notify:requeriment", .target = "requeriment", .args_json = args,
		.idempotency_key = key, .attempts = 1,
	};
	struct eng_delivery d = {0};
	conn_deliver(&item, &d, set);
	return d;
}

static json_t *load(const char *folder, int n)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/%d.json", folder, n);
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);
	cr_assert_not_null(doc, "%s/%d.json was not written: %s", folder, n, err.text);
	return doc;
}

/* Request n as the gateway received it, and SMS n as it sent it. */
static json_t *request(int n)
{
	return load(inbox, n);
}

static json_t *sms_sent(int n)
{
	char folder[160];
	snprintf(folder, sizeof(folder), "%s/sms", inbox);
	return load(folder, n);
}

static int count_in(const char *folder)
{
	int n = 0;
	char path[200];
	for (;;) {
		snprintf(path, sizeof(path), "%s/%d.json", folder, n + 1);
		if (access(path, F_OK) != 0)
			return n;
		n++;
	}
}

static int sms_count(void)
{
	char folder[160];
	snprintf(folder, sizeof(folder), "%s/sms", inbox);
	return count_in(folder);
}

static const char *str(const json_t *doc, const char *a, const char *b)
{
	const json_t *v = json_object_get(doc, a);
	return json_string_value(b ? json_object_get(v, b) : v);
}

#define BINDING_ARGS(lang) "{\"channel\": \"binding\", \"audience\": \"applicant\", " \
                           "\"medium\": \"sms\", \"phone\": \"612 345 678\", \"language\": \"" lang "\"}"

Test(sms, valencian_notice_arrives_as_json_with_exact_text_and_e164_number)
{
	int port = gateway_start();
	struct conn_set *set = open_sms(port, "/send", NULL);
	struct eng_delivery d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.outcome, "sent");
	cr_assert_str_eq(d.result_json, "{\"to\":\"+34612345678\",\"message_id\":\"gw-1\","
	                                "\"segments\":2,\"encoding\":\"ucs2\",\"language\":\"ca\"}");
	json_t *r = request(1);
	cr_assert_str_eq(str(r, "method", NULL), "POST");
	cr_assert_str_eq(str(r, "path", NULL), "/send");
	cr_assert_str_eq(str(r, "headers", "Content-Type"), "application/json; charset=utf-8");
	cr_assert_str_eq(str(r, "headers", "Idempotency-Key"), KEY);
	cr_assert_null(json_object_get(json_object_get(r, "headers"), "Authorization"));
	cr_assert_str_eq(str(r, "body", NULL),
	                 "{\"to\":\"+34612345678\",\"text\":\"" BINDING_CA "\",\"ref\":\"" KEY "\","
	                 "\"from\":\"Ajuntament\"}");
	json_decref(r);
	json_t *m = sms_sent(1);
	cr_assert_str_eq(str(m, "id", NULL), "gw-1");
	cr_assert_str_eq(str(m, "fields", "to"), "+34612345678");
	cr_assert_str_eq(str(m, "fields", "text"), BINDING_CA);
	json_decref(m);
	conn_set_close(set);
}

Test(sms, spanish_notice_arrives_as_a_form_with_the_api_key_header)
{
	int port = gateway_start();
	struct conn_set *set = open_sms(port, "/send", "\"content_type\": \"form\", \"body\": \""
	                                FORM_BODY "\", \"auth_header\": \"X-Api-Key\", "
	                                "\"auth_secret\": \"k3y-for-the-gateway\"");
	struct eng_delivery d = deliver(set, "{\"channel\": \"informative\", \"medium\": \"sms\", "
	                                     "\"phone\": \"0034 699-000-111\", \"language\": \"es\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.result_json, "{\"to\":\"+34699000111\",\"message_id\":\"gw-1\","
	                                "\"segments\":1,\"encoding\":\"gsm7\",\"language\":\"es\"}");
	json_t *r = request(1);
	cr_assert_str_eq(str(r, "headers", "Content-Type"), "application/x-www-form-urlencoded");
	cr_assert_str_eq(str(r, "headers", "X-Api-Key"), "k3y-for-the-gateway");
	cr_assert_str_eq(str(r, "body", NULL),
	                 "to=%2B34699000111&text=Novedades%20en%20su%20expediente%20EXP-2026-000042"
	                 "%3A%20https%3A%2F%2Fseu.example.org&ref=EXP-2026-000042%2F3%2F1"
	                 "&from=Ajuntament");
	cr_assert_str_eq(str(r, "fields", "to"), "+34699000111");
	cr_assert_str_eq(str(r, "fields", "text"), INFORMATIVE_ES);
	cr_assert_str_eq(str(r, "fields", "ref"), KEY);
	json_decref(r);
	cr_assert_eq(sms_count(), 1);
	conn_set_close(set);
}

Test(sms, notice_without_language_is_bilingual_valencian_first)
{
	struct conn_set *set = open_sms(gateway_start(), "/send", NULL);
	struct eng_delivery d = deliver(set, "{\"channel\": \"binding\", \"medium\": \"sms\", "
	                                     "\"phone\": \"+34612345678\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.result_json, "{\"to\":\"+34612345678\",\"message_id\":\"gw-1\","
	                                "\"segments\":4,\"encoding\":\"ucs2\",\"language\":\"ca, es\"}");
	json_t *m = sms_sent(1);
	cr_assert_str_eq(str(m, "fields", "text"), BINDING_CA "\n" BINDING_ES);
	json_decref(m);
	/* Informative texts without accents fit one GSM-7 segment in both languages. */
	d = deliver(set, "{\"channel\": \"informative\", \"medium\": \"sms\", "
	                 "\"phone\": \"+34612345678\"}", "EXP-2026-000042/4/0");
	cr_assert_str_eq(d.result_json, "{\"to\":\"+34612345678\",\"message_id\":\"gw-2\","
	                                "\"segments\":1,\"encoding\":\"gsm7\",\"language\":\"ca, es\"}");
	m = sms_sent(2);
	cr_assert_str_eq(str(m, "fields", "text"), INFORMATIVE_CA "\n" INFORMATIVE_ES);
	json_decref(m);
	conn_set_close(set);
}

Test(sms, entity_template_values_are_escaped_for_json)
{
	struct conn_set *set = open_sms(gateway_start(), "/send",
	                                "\"templates\": {\"requeriment\": {"
	                                "\"ca\": \"Requeriment \\\"{{title}}\\\": {{sede_url}}\", "
	                                "\"es\": \"Requerimiento \\\"{{title}}\\\": {{sede_url}}\"}}");
	struct eng_delivery d = deliver(set, "{\"medium\": \"sms\", \"phone\": \"612345678\", "
	                                     "\"language\": \"ca\", \"title\": \"DNI & \\\\ \\\"x\\\"\"}",
	                                KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	json_t *r = request(1);
	cr_assert_str_eq(str(r, "fields", "text"),
	                 "Requeriment \"DNI & \\ \"x\"\": https://seu.example.org");
	cr_assert_str_eq(str(r, "body", NULL), "{\"to\":\"+34612345678\",\"text\":\"Requeriment "
	                 "\\\"DNI & \\\\ \\\"x\\\"\\\": https://seu.example.org\",\"ref\":\"" KEY "\","
	                 "\"from\":\"Ajuntament\"}");
	json_decref(r);
	d = deliver(set, "{\"medium\": \"sms\", \"phone\": \"612345678\", \"language\": \"es\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": the template uses {{title}}, which the notify "
	                          "effect's args do not carry");
	cr_assert_eq(sms_count(), 1);
	conn_set_close(set);
}

Test(sms, duplicate_delivery_of_one_outbox_item_sends_one_sms)
{
	struct conn_set *set = open_sms(gateway_start(), "/send", NULL);
	struct eng_delivery a = deliver(set, BINDING_ARGS("ca"), KEY);
	struct eng_delivery b = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(a.status, ENG_DELIVERY_DONE, "%s", a.error);
	cr_assert_eq(b.status, ENG_DELIVERY_DONE, "%s", b.error);
	cr_assert_str_eq(a.result_json, b.result_json);
	cr_assert_eq(count_in(inbox), 2, "both deliveries reach the gateway");
	cr_assert_eq(sms_count(), 1, "the gateway sends one SMS for one reference");
	json_t *r = request(2);
	cr_assert_str_eq(str(r, "headers", "Idempotency-Key"), KEY);
	cr_assert_str_eq(str(r, "fields", "ref"), KEY);
	json_decref(r);
	struct eng_delivery c = deliver(set, BINDING_ARGS("ca"), "EXP-2026-000042/3/2");
	cr_assert_eq(c.status, ENG_DELIVERY_DONE, "%s", c.error);
	cr_assert(strstr(c.result_json, "\"message_id\":\"gw-2\""), "%s", c.result_json);
	cr_assert_eq(sms_count(), 2);
	conn_set_close(set);
}

/* Runs fn with this process's stderr going to a file, and returns what was written there. */
static char *stderr_of(void (*fn)(void *), void *payload)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	fn(payload);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

struct secret_run {
	int port;
	struct eng_delivery sent, refused;
	char health[4096];
};

static void secret_scenario(void *payload)
{
	struct secret_run *run = payload;
	char sms[2048], json[2200];
	section(sms, sizeof(sms), run->port, "/send?account=demo", "\"auth_secret\": \"" SECRET "\"");
	snprintf(json, sizeof(json), "{\"sms\": %s}", sms);
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	run->sent = deliver(set, BINDING_ARGS("ca"), KEY);
	conn_set_close(set);
	/* A gateway that refuses and echoes the credential it got. */
	section(sms, sizeof(sms), run->port, "/status/401", "\"auth_secret\": \"" SECRET "\"");
	snprintf(json, sizeof(json), "{\"sms\": %s}", sms);
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	run->refused = deliver(set, BINDING_ARGS("ca"), KEY);
	conn_set_health(set, run->health, sizeof(run->health));
	conn_set_close(set);
}

Test(sms, secret_header_reaches_the_gateway_and_nowhere_else)
{
	struct secret_run run = {.port = gateway_start()};
	char *err_text = stderr_of(secret_scenario, &run);
	cr_assert_eq(run.sent.status, ENG_DELIVERY_DONE, "%s", run.sent.error);
	json_t *r = request(1);
	cr_assert_str_eq(str(r, "headers", "Authorization"), SECRET);
	cr_assert_str_eq(str(r, "path", NULL), "/send?account=demo");
	json_decref(r);
	cr_assert_eq(run.refused.status, ENG_DELIVERY_FAILED);
	char want[300];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/status/401 refused the SMS to "
	         "+34612345678 permanently (401): gateway says 401; auth was ***", run.port);
	cr_assert_str_eq(run.refused.error, want);
	cr_assert_null(strstr(run.health, "sk-live"), "%s", run.health);
	cr_assert(strstr(run.health, "\"last_error\": \"http://127.0.0.1:"), "%s", run.health);
	cr_assert_null(strstr(err_text, "sk-live"), "%s", err_text);
	free(err_text);
	/* Neither `tramit connectors` nor its --check prints it. */
	char path[200], sms[2048], *out;
	snprintf(path, sizeof(path), "%s/connectors.json", dir);
	section(sms, sizeof(sms), run.port, "/send", "\"auth_secret\": \"" SECRET "\"");
	FILE *f = fopen(path, "w");
	fprintf(f, "{\"sms\": %s}\n", sms);
	fclose(f);
	cr_assert_eq(shell_run(&out, NULL, "%s connectors --check %s 2>&1", TRAMIT_BINARY, path), 0);
	cr_assert(strstr(out, ": ok; configured: sms\n"), "%s", out);
	free(out);
	cr_assert_eq(shell_run(&out, NULL, "%s connectors 2>&1", TRAMIT_BINARY), 0);
	cr_assert(strstr(out, "sms\n  capabilities: effects,health\n  effect kinds: notify (when the effect's medium is \"sms\")\n"), "%s", out);
	cr_assert(strstr(out, "    auth_secret         string   its value, e.g. \"Bearer ...\"; never "
	                      "shown\n"), "%s", out);
	cr_assert_null(strstr(out, "sk-live"));
	free(out);
}

Test(sms, gateway_down_is_retried)
{
	int port = port_nobody();
	struct conn_set *set = open_sms(port, "/send", NULL);
	struct eng_delivery d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[120];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/send: Failed to connect to 127.0.0.1 "
	         "port %d", port, port);
	cr_assert(strncmp(d.error, want, strlen(want)) == 0, "%s", d.error);
	conn_set_close(set);
}

Test(sms, slow_gateway_times_out_within_the_configured_time_and_is_retried)
{
	int port = gateway_start();
	struct conn_set *set = open_sms(port, "/slow/3000", "\"timeout_ms\": 500");
	double start = now_s();
	struct eng_delivery d = deliver(set, BINDING_ARGS("ca"), KEY);
	double took = now_s() - start;
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[120];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/slow/3000 did not answer within 500 ms",
	         port);
	cr_assert_str_eq(d.error, want);
	cr_assert(took >= 0.45 && took < 1.5, "the 500 ms timeout took %.3f s", took);
	conn_set_close(set);
}

Test(sms, statuses_mean_what_the_configuration_says)
{
	int port = gateway_start();
	struct conn_set *set = open_sms(port, "/status/400", NULL);
	struct eng_delivery d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	char want[300];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/status/400 refused the SMS to "
	         "+34612345678 permanently (400): gateway says 400; auth was (none)", port);
	cr_assert_str_eq(d.error, want);
	conn_set_close(set);
	set = open_sms(port, "/status/503", NULL);
	d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/status/503 answered 503, to be retried: "
	         "gateway says 503; auth was (none)", port);
	cr_assert_str_eq(d.error, want);
	conn_set_close(set);
	set = open_sms(port, "/status/302", NULL);
	d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/status/302 answered 302, which no "
	         "*_statuses key lists: retried until the configuration says what it means", port);
	cr_assert_str_eq(d.error, want);
	conn_set_close(set);
	/* A gateway that says "try later" with 404 and "never" with 409 only. */
	const char *lists = "\"retry_statuses\": [\"4xx\"], \"failed_statuses\": [409]";
	set = open_sms(port, "/status/404", lists);
	cr_assert_eq(deliver(set, BINDING_ARGS("ca"), KEY).status, ENG_DELIVERY_RETRY);
	conn_set_close(set);
	set = open_sms(port, "/status/409", lists);
	cr_assert_eq(deliver(set, BINDING_ARGS("ca"), KEY).status, ENG_DELIVERY_FAILED);
	conn_set_close(set);
	set = open_sms(port, "/status/202", "\"delivered_statuses\": [202]");
	d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	/* An answer without the pointer's value: delivered, the gateway's id unknown. */
	cr_assert(strstr(d.result_json, ",\"message_id\":null,"), "%s", d.result_json);
	conn_set_close(set);
	cr_assert_eq(sms_count(), 0);
}

static void expect_refused(const char *extra, const char *msg)
{
	char sms[2048], json[2200];
	section(sms, sizeof(sms), 9, "/send", extra);
	snprintf(json, sizeof(json), "{\"sms\": %s}", sms);
	struct conn_set *set = (struct conn_set *)1;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID, "%s -> %s", json, err.msg);
	cr_assert_null(set);
	cr_assert_str_eq(err.msg, msg);
}

Test(sms, bad_configuration_is_refused_naming_the_key)
{
	expect_refused("\"urll\": \"x\"", "sms.urll: unknown key");
	expect_refused("\"method\": \"GET\"", "sms.method: expected \"POST\" or \"PUT\", found 'GET'");
	expect_refused("\"content_type\": \"xml\"",
	               "sms.content_type: expected \"json\" or \"form\", found 'xml'");
	expect_refused("\"body\": \"{\\\"to\\\": \\\"{to}\\\"}\"",
	               "sms.body: expected the placeholders {to} and {text} (and {key}, so the "
	               "gateway can drop repeats)");
	expect_refused("\"content_type\": \"form\", \"body\": \"to={to}&text={text} now\"",
	               "sms.body: with content_type \"form\" expected name={placeholder} pairs "
	               "joined by &, already URL-encoded");
	expect_refused("\"auth_header\": \"X-Key\"", "sms.auth_header: expected together with auth_secret");
	expect_refused("\"auth_secret\": \"short\"", "sms.auth_secret: expected at least 8 characters");
	expect_refused("\"auth_header\": \"X Key\", \"auth_secret\": \"long enough\"",
	               "sms.auth_header: expected a header name of letters, digits and '-', like "
	               "\"Authorization\"");
	expect_refused("\"max_segments\": 11",
	               "sms.max_segments: expected an integer 1..10, found one out of range");
	expect_refused("\"timeout_ms\": \"5s\"",
	               "sms.timeout_ms: expected an integer 100..120000, found a string");
	expect_refused("\"retry_statuses\": [700]",
	               "sms.retry_statuses[0]: expected a status 100..599 or a class like \"5xx\"");
	expect_refused("\"delivered_statuses\": [200], \"failed_statuses\": [201, 200]",
	               "sms.failed_statuses[1]: already listed in delivered_statuses");
	expect_refused("\"templates\": {\"requeriment\": {\"ca\": \"Text\"}}",
	               "sms.templates.requeriment: expected {\"ca\": \"...\", \"es\": \"...\"}: "
	               "every notice exists in both languages");
	expect_refused("\"templates\": {\"requeriment\": {\"ca\": \"a\\tb\", \"es\": \"c\"}}",
	               "sms.templates.requeriment.ca: expected non-empty text without control "
	               "characters other than line breaks");
	expect_refused("\"message_id_pointer\": \"messages.0.id\"",
	               "sms.message_id_pointer: expected a JSON pointer like \"/messages/0/id\"");
	expect_refused("\"sede_url\": 3", "sms.sede_url: expected a string, found an integer");
}

Test(sms, bad_url_body_and_sender_are_refused_naming_the_key)
{
	struct conn_set *set = (struct conn_set *)1;
	struct conn_error err = {0};
	const char *tail = "\"body\": \"to={to}&text={text}\", \"content_type\": \"form\", "
	                   "\"sede_url\": \"https://seu.example.org\"";
	char json[1024];
	snprintf(json, sizeof(json), "{\"sms\": {\"url\": \"ftp://gw.example.org/send\", %s}}", tail);
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "sms.url: expected an http:// or https:// URL, found "
	                          "'ftp://gw.example.org/send'");
	snprintf(json, sizeof(json), "{\"sms\": {\"url\": \"https://user:pw@gw.example.org/send\", "
	         "%s}}", tail);
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "sms.url: expected no user or password in the URL; put the "
	                          "gateway's credential in auth_secret");
	cr_assert_null(strstr(err.msg, "pw@"));
	snprintf(json, sizeof(json), "{\"sms\": {%s}}", tail);
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "sms.url: required, expected a string");
	snprintf(json, sizeof(json), "{\"sms\": {\"url\": \"https://gw.example.org/send\", "
	         "\"sender\": \"Ajuntament de Xàtiva\", %s}}", tail);
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "sms.sender: expected up to 11 letters and digits (an "
	                          "alphanumeric sender id) or a number like +34600000000, found "
	                          "'Ajuntament de Xàtiva'");
	snprintf(json, sizeof(json), "{\"sms\": {\"url\": \"https://gw.example.org/send\", "
	         "\"body\": \"{\\\"to\\\": {to}, \\\"text\\\": \\\"{text}\\\"}\", "
	         "\"sede_url\": \"https://seu.example.org\"}}");
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	const char *want = "sms.body: with content_type \"json\" the filled template is not JSON (";
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	cr_assert(strstr(err.msg, "): put each placeholder inside a JSON string, e.g. "
	                          "{\"to\": \"{to}\"}"), "%s", err.msg);
	snprintf(json, sizeof(json), "{\"sms\": {\"url\": \"https://gw.example.org/send\", "
	         "\"body\": \"to={to}&text={text}&from={sender}\", \"content_type\": \"form\", "
	         "\"sede_url\": \"https://seu.example.org\"}}");
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "sms.body: uses {sender}, but no sender is configured");
	cr_assert_null(set);
}

Test(sms, numbers_are_normalised_to_e164_and_malformed_ones_fail_unsent)
{
	struct conn_set *set = open_sms(gateway_start(), "/send", NULL);
	const char *good[][2] = {
		{"612345678", "+34612345678"},       {"+34 612 34 56 78", "+34612345678"},
		{"0034612345678", "+34612345678"},   {"712-345-678", "+34712345678"},
		{"(+33) 6 12 34 56 78", NULL},       {"+33 6 12 34 56 78", "+33612345678"},
		{"+351 912 345 678", "+351912345678"},
	};
	char args[200], key[40], want[100];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(args, sizeof(args), "{\"medium\": \"sms\", \"phone\": \"%s\", "
		         "\"language\": \"ca\"}", good[i][0]);
		snprintf(key, sizeof(key), "EXP-2026-000042/9/%zu", i);
		struct eng_delivery d = deliver(set, args, key);
		if (!good[i][1]) {
			cr_assert_eq(d.status, ENG_DELIVERY_FAILED, "%s", good[i][0]);
			continue;
		}
		cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s: %s", good[i][0], d.error);
		snprintf(want, sizeof(want), "{\"to\":\"%s\",", good[i][1]);
		cr_assert(strncmp(d.result_json, want, strlen(want)) == 0, "%s", d.result_json);
	}
	int before = sms_count();
	cr_assert_eq(before, 6);
	const char *bad[] = {"61234", "512345678", "+34 512 345 678", "+34 6123 456 789",
	                     "612345678x", "+0612345678", "612\\n345678"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(args, sizeof(args), "{\"medium\": \"sms\", \"phone\": \"%s\"}", bad[i]);
		struct eng_delivery d = deliver(set, args, KEY);
		cr_assert_eq(d.status, ENG_DELIVERY_FAILED, "%s", bad[i]);
		cr_assert(strstr(d.error, "notify " KEY ": args.phone: expected a number in E.164 "
		                          "(+34612345678) or nine Spanish digits starting 6, 7, 8 or 9, "
		                          "found '"), "%s", d.error);
	}
	struct eng_delivery d = deliver(set, "{\"medium\": \"sms\", \"phone\": \"61234\"}", KEY);
	cr_assert_str_eq(d.error, "notify " KEY ": args.phone: expected a number in E.164 "
	                          "(+34612345678) or nine Spanish digits starting 6, 7, 8 or 9, "
	                          "found '61234'");
	d = deliver(set, "{\"medium\": \"sms\", \"email\": \"maria@example.org\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": args.phone is missing: the notify effect must "
	                          "carry the party's mobile number for SMS notices");
	d = deliver(set, "{\"medium\": \"sms\", \"phone\": \"612345678\", \"language\": \"en\"}", KEY);
	cr_assert_str_eq(d.error, "notify " KEY ": args.language: expected \"ca\" or \"es\", found 'en'");
	cr_assert_eq(sms_count(), before, "nothing more was sent");
	conn_set_close(set);
}

Test(sms, text_beyond_max_segments_is_refused_not_cut)
{
	struct conn_set *set = open_sms(gateway_start(), "/send", "\"max_segments\": 1");
	struct eng_delivery d = deliver(set, BINDING_ARGS("ca"), KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": the text needs 2 SMS segments (117 UCS-2 "
	                          "characters); max_segments is 1: shorten the template or raise "
	                          "max_segments");
	d = deliver(set, "{\"channel\": \"informative\", \"medium\": \"sms\", "
	                 "\"phone\": \"612345678\", \"language\": \"ca\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_eq(sms_count(), 1);
	conn_set_close(set);
}

/* The text is n copies of unit; the answer's segments and encoding as the connector counted. */
static struct eng_delivery deliver_repeated(struct conn_set *set, const char *unit, int n)
{
	static int serial;
	char text[1024] = "", args[1200], key[40];
	for (int i = 0; i < n; i++)
		strcat(text, unit);
	snprintf(args, sizeof(args), "{\"channel\": \"informative\", \"medium\": \"sms\", "
	         "\"phone\": \"612345678\", \"language\": \"ca\", \"x\": \"%s\"}", text);
	snprintf(key, sizeof(key), "EXP-2026-000042/7/%d", serial++);
	struct eng_delivery d = deliver(set, args, key);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	return d;
}

Test(sms, segments_are_counted_as_the_network_does)
{
	struct conn_set *set = open_sms(gateway_start(), "/send", "\"max_segments\": 10, "
	                                "\"templates\": {\"informative\": {\"ca\": \"{{x}}\", "
	                                "\"es\": \"{{x}}\"}}");
	const struct {
		const char *unit;
		int n;
		const char *want;
	} cases[] = {
		{"a", 160, "\"segments\":1,\"encoding\":\"gsm7\""},
		{"a", 161, "\"segments\":2,\"encoding\":\"gsm7\""},
		{"à", 160, "\"segments\":1,\"encoding\":\"gsm7\""},  /* in the GSM alphabet */
		{"€", 80, "\"segments\":1,\"encoding\":\"gsm7\""},   /* two septets each */
		{"€", 81, "\"segments\":2,\"encoding\":\"gsm7\""},
		{"€", 153, "\"segments\":3,\"encoding\":\"gsm7\""},  /* 76 a segment: never split */
		{"á", 70, "\"segments\":1,\"encoding\":\"ucs2\""},   /* outside it: UCS-2 */
		{"á", 71, "\"segments\":2,\"encoding\":\"ucs2\""},
		{"😀", 35, "\"segments\":1,\"encoding\":\"ucs2\""},  /* a surrogate pair each */
		{"😀", 36, "\"segments\":2,\"encoding\":\"ucs2\""},
		{"😀", 67, "\"segments\":3,\"encoding\":\"ucs2\""},  /* 33 a segment */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eng_delivery d = deliver_repeated(set, cases[i].unit, cases[i].n);
		cr_assert(strstr(d.result_json, cases[i].want), "%d x %s: %s", cases[i].n,
		          cases[i].unit, d.result_json);
	}
	conn_set_close(set);
}

Test(sms, health_shows_the_gateway_without_query_and_counts)
{
	int port = gateway_start();
	struct conn_set *set = open_sms(port, "/send?api_key=q5ecret", NULL);
	cr_assert_eq(deliver(set, BINDING_ARGS("ca"), KEY).status, ENG_DELIVERY_DONE);
	char buf[4096];
	cr_assert_eq(conn_set_health(set, buf, sizeof(buf)), 0, "%s", buf);
	json_t *doc = json_loads(buf, 0, NULL);
	cr_assert_not_null(doc, "%s", buf);
	json_t *h = json_object_get(json_object_get(doc, "connectors"), "sms");
	char want[100];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/send", port);
	cr_assert_str_eq(json_string_value(json_object_get(h, "gateway")), want);
	cr_assert_eq(json_integer_value(json_object_get(h, "sent")), 1);
	cr_assert_eq(json_integer_value(json_object_get(h, "failed")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(h, "content_type")), "json");
	cr_assert_null(strstr(buf, "q5ecret"));
	json_decref(doc);
	conn_set_close(set);
}

Test(sms, routing_sends_sms_medium_to_the_gateway_and_the_rest_to_smtp)
{
	struct conn_error err = {0};
	cr_assert_eq(conn_table_check(&err), 0, "%s", err.msg);
	const struct conn_type *smtp = conn_table_named("smtp"), *sms = conn_table_named("sms");
	cr_assert_eq(conn_table_find("notify"), smtp);
	cr_assert_eq(conn_table_route("notify", NULL), smtp);
	cr_assert_eq(conn_table_route("notify", "{\"medium\": \"sms\"}"), sms);
	/* Only the medium routes; channel says binding or informative. */
	cr_assert_eq(conn_table_route("notify", "{\"channel\": \"sms\"}"), smtp);
	cr_assert_eq(conn_table_route("notify", "{\"channel\": \"binding\"}"), smtp);
	cr_assert_eq(conn_table_route("notify", "{\"medium\": \"email\", \"channel\": \"sms\"}"), smtp);
	cr_assert_eq(conn_table_route("notify", "not json"), smtp);
	cr_assert_eq(conn_table_route("payment", "{\"medium\": \"sms\"}"), conn_table_named("redsys"));
	cr_assert_null(conn_table_route("document", "{\"medium\": \"sms\"}"));

	int gw = gateway_start(), mail = smtp_start();
	char sms_section[2048], json[3000];
	section(sms_section, sizeof(sms_section), gw, "/send", NULL);
	snprintf(json, sizeof(json), "{\"smtp\": {\"host\": \"127.0.0.1\", \"port\": %d, "
	         "\"starttls\": false, \"from\": \"avisos@example.org\", "
	         "\"sede_url\": \"https://seu.example.org\"}, \"sms\": %s}", mail, sms_section);
	struct conn_set *set = NULL;
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	const char *contact = "\"email\": \"maria@example.org\", \"phone\": \"612345678\", "
	                      "\"language\": \"ca\"";
	char args[300];
	snprintf(args, sizeof(args), "{\"channel\": \"binding\", \"medium\": \"sms\", %s}", contact);
	cr_assert_eq(deliver(set, args, "EXP-2026-000042/5/0").status, ENG_DELIVERY_DONE);
	snprintf(args, sizeof(args), "{\"channel\": \"informative\", \"medium\": \"sms\", %s}", contact);
	cr_assert_eq(deliver(set, args, "EXP-2026-000042/5/1").status, ENG_DELIVERY_DONE);
	cr_assert_eq(sms_count(), 2);
	cr_assert_eq(count_in(mailbox), 0);
	json_t *m = sms_sent(1);
	cr_assert_str_eq(str(m, "fields", "text"), BINDING_CA);
	json_decref(m);
	m = sms_sent(2);
	cr_assert_str_eq(str(m, "fields", "text"), INFORMATIVE_CA);
	json_decref(m);
	snprintf(args, sizeof(args), "{\"channel\": \"binding\", %s}", contact);
	struct eng_delivery d = deliver(set, args, "EXP-2026-000042/5/2");
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	snprintf(args, sizeof(args), "{\"channel\": \"informative\", \"medium\": \"email\", %s}",
	         contact);
	cr_assert_eq(deliver(set, args, "EXP-2026-000042/5/4").status, ENG_DELIVERY_DONE);
	cr_assert_eq(count_in(mailbox), 2);
	cr_assert_eq(sms_count(), 2);
	m = load(mailbox, 1);
	cr_assert_str_eq(str(m, "headers", "To"), "maria@example.org");
	json_decref(m);
	conn_set_close(set);
}

Test(sms, sms_notice_without_sms_connector_is_dead_lettered_saying_so)
{
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, "{\"smtp\": {\"host\": \"127.0.0.1\", \"from\": "
	                                 "\"avisos@example.org\", \"sede_url\": \"https://seu.example.org\"}}",
	                           &err), 0, "%s", err.msg);
	struct eng_delivery d = deliver(set, "{\"medium\": \"sms\", \"phone\": \"612345678\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "connector 'sms' performs 'notify' effects by medium 'sms' but is "
	                          "not configured: add a \"sms\" section to the connectors "
	                          "configuration (TRAMIT_CONNECTORS_CONFIG)");
	conn_set_close(set);
}
