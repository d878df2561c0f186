/* The SMTP connector against a real SMTP server on loopback (aiosmtpd, started per test by
 * smtp_peer.py with Debian's python3), which stores what it receives; the test reads the
 * message back, decoded by Python's email package, and asserts headers and body exactly. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
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
#define PEER TRAMIT_SOURCE_DIR "/tests/connectors/smtp_peer.py"
#define KEY "EXP-2026-000042/3/1"
#define MSGID "<tramit.b491e3c32c33fa95a669162397a07c82@example.org>"

static char dir[64], inbox[128];
static pid_t peer = -1;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tramit-smtp-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(inbox, sizeof(inbox), "%s/inbox", dir);
	cr_assert_eq(mkdir(inbox, 0700), 0);
}

static void teardown(void)
{
	if (peer > 0) {
		kill(peer, SIGTERM);
		waitpid(peer, NULL, 0);
		peer = -1;
	}
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(smtp, .init = setup, .fini = teardown, .timeout = 60);

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Starts the peer (with STARTTLS when tls) and returns its port. */
static int peer_start(bool tls)
{
	char ready[200], cert[200], key[200];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (tls) {
		char cmd[800];
		snprintf(cmd, sizeof(cmd),
		         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		         "-keyout %s -out %s -days 1 -subj /CN=localhost "
		         "-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null", key, cert);
		cr_assert_eq(system(cmd), 0, "openssl could not make a test certificate");
	}
	/* Exits at once when python3-aiosmtpd is missing. */
	const char *plain[] = {PYTHON, PEER, inbox, ready, NULL};
	const char *secure[] = {PYTHON, PEER, inbox, ready, cert, key, NULL};
	int port;
	peer = shell_peer_start(tls ? secure : plain, ready, &port);
	return port;
}

/* A port where nothing listens: bound and closed at once. With listen_forever, a socket that
 * completes TCP handshakes (the kernel does) but never says a word: a slow peer. */
static int port_nobody(bool listen_forever, int *fd_out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (listen_forever) {
		cr_assert_eq(listen(fd, 4), 0);
		*fd_out = fd;
	} else {
		close(fd);
	}
	return ntohs(a.sin_port);
}

static struct conn_set *open_set(int port, const char *extra)
{
	/* Defaults for the tests unless extra sets them: plain SMTP and a 5 s timeout. */
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"smtp\": {\"host\": \"127.0.0.1\", \"port\": %d, %s%s"
	         "\"from\": \"avisos@example.org\", \"from_name\": \"Ajuntament de Demostració\", "
	         "\"sede_url\": \"https://seu.example.org\"%s%s}}", port,
	         extra && strstr(extra, "starttls") ? "" : "\"starttls\": false, ",
	         extra && strstr(extra, "timeout_s") ? "" : "\"timeout_s\": 5, ",
	         extra ? ", " : "", extra ? extra : "");
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

static json_t *received(int n)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/%d.json", inbox, n);
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);
	cr_assert_not_null(doc, "message %d was not received: %s", n, err.text);
	return doc;
}

static int received_count(void)
{
	char cmd[300], *end;
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.json$'", inbox);
	FILE *p = popen(cmd, "r");
	char line[32] = "0";
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	return (int)strtol(line, &end, 10);
}

/* The bytes of message n as received, for asserting header lines exactly as sent. */
static char *received_raw(int n)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/%d.eml", inbox, n);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "message %d was not received", n);
	char *text = calloc(1, 65536);
	size_t got = fread(text, 1, 65535, f);
	fclose(f);
	cr_assert_gt(got, 0);
	return text;
}

static const char *header(const json_t *doc, const char *name)
{
	return json_string_value(json_object_get(json_object_get(doc, "headers"), name));
}

#define APPLICANT_CA "{\"channel\": \"binding\", \"audience\": \"applicant\", " \
                     "\"email\": \"maria@example.org\", \"language\": \"ca\"}"

Test(smtp, valencian_notice_arrives_with_exact_headers_and_body)
{
	struct conn_set *set = open_set(peer_start(false), NULL);
	struct eng_delivery d = deliver(set, APPLICANT_CA, KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.outcome, "sent");
	cr_assert_str_eq(d.result_json, "{\"message_id\":\"" MSGID "\",\"to\":\"maria@example.org\"}");
	json_t *m = received(1);
	cr_assert_str_eq(json_string_value(json_object_get(m, "mail_from")), "avisos@example.org");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "rcpt_tos"), 0)),
	                 "maria@example.org");
	cr_assert_str_eq(header(m, "From"), "Ajuntament de Demostració <avisos@example.org>");
	cr_assert_str_eq(header(m, "To"), "maria@example.org");
	cr_assert_str_eq(header(m, "Subject"), "Teniu una notificació en la seu electrònica");
	cr_assert_str_eq(header(m, "Message-ID"), MSGID);
	cr_assert_str_eq(header(m, "Content-Type"), "text/plain; charset=\"UTF-8\"");
	cr_assert_str_eq(header(m, "Content-Language"), "ca");
	cr_assert_str_eq(json_string_value(json_object_get(m, "transfer_encoding")), "quoted-printable");
	cr_assert_str_eq(json_string_value(json_object_get(m, "charset")), "utf-8");
	cr_assert_str_eq(json_string_value(json_object_get(m, "body")),
	                 "Vos informem que hi ha una notificació a la vostra disposició en la seu "
	                 "electrònica, relativa a l'expedient EXP-2026-000042.\n\n"
	                 "Per a accedir-hi, entreu en https://seu.example.org i identifiqueu-vos.\n\n"
	                 "Este correu és només un avís: la notificació es practica quan hi accediu en "
	                 "la seu electrònica. Si no hi accediu en 10 dies naturals, s'entendrà "
	                 "rebutjada (arts. 41 i 43 de la Llei 39/2015).\n");
	cr_assert(!json_boolean_value(json_object_get(m, "tls")));
	/* Exactly these headers, once each, in this order (Date varies, so only its shape). */
	json_t *names = json_object_get(m, "header_names");
	const char *order[] = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	                       "Content-Type", "Content-Transfer-Encoding", "Content-Language",
	                       "Auto-Submitted"};
	cr_assert_eq(json_array_size(names), 10);
	for (size_t i = 0; i < 10; i++)
		cr_assert_str_eq(json_string_value(json_array_get(names, i)), order[i]);
	char *raw = received_raw(1);
	const char *want =
		"From: =?UTF-8?B?QWp1bnRhbWVudCBkZSBEZW1vc3RyYWNpw7M=?= <avisos@example.org>\r\n"
		"To: <maria@example.org>\r\n"
		"Subject: =?UTF-8?B?VGVuaXUgdW5hIG5vdGlmaWNhY2nDsyBlbiBsYSBzZXUgZWxlY3Ryw7JuaWNh?=\r\n"
		"Date: ";
	cr_assert(strncmp(raw, want, strlen(want)) == 0, "%s", raw);
	cr_assert(strstr(raw, "\r\nMessage-ID: " MSGID "\r\nMIME-Version: 1.0\r\n"
	                      "Content-Type: text/plain; charset=UTF-8\r\n"
	                      "Content-Transfer-Encoding: quoted-printable\r\n"
	                      "Content-Language: ca\r\nAuto-Submitted: auto-generated\r\n\r\n"
	                      "Vos informem que hi ha una notificaci=C3=B3 a la vostra "), "%s", raw);
	free(raw);
	json_decref(m);
	conn_set_close(set);
}

Test(smtp, spanish_notice_follows_the_party_language)
{
	struct conn_set *set = open_set(peer_start(false), NULL);
	struct eng_delivery d = deliver(set, "{\"channel\": \"informative\", \"email\": "
	                                     "\"joan@example.org\", \"language\": \"es\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	json_t *m = received(1);
	cr_assert_str_eq(header(m, "Subject"), "Novedades en su expediente EXP-2026-000042");
	cr_assert_str_eq(header(m, "Content-Language"), "es");
	cr_assert_str_eq(json_string_value(json_object_get(m, "body")),
	                 "Hay novedades en su expediente EXP-2026-000042. Puede consultarlo en "
	                 "https://seu.example.org.\n\nEste correo es solo un aviso informativo.\n");
	json_decref(m);
	conn_set_close(set);
}

Test(smtp, notice_without_language_is_bilingual)
{
	struct conn_set *set = open_set(peer_start(false), NULL);
	struct eng_delivery d = deliver(set, "{\"channel\": \"informative\", \"email\": "
	                                     "\"joan@example.org\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	json_t *m = received(1);
	cr_assert_str_eq(header(m, "Subject"), "Novetats en el vostre expedient EXP-2026-000042 / "
	                                       "Novedades en su expediente EXP-2026-000042");
	cr_assert_str_eq(header(m, "Content-Language"), "ca, es");
	const char *body = json_string_value(json_object_get(m, "body"));
	cr_assert(strstr(body, "Hi ha novetats") == body, "%s", body);
	cr_assert(strstr(body, "\n----------\n\nHay novedades"), "%s", body);
	json_decref(m);
	conn_set_close(set);
}

Test(smtp, same_idempotency_key_gives_the_same_message_id)
{
	struct conn_set *set = open_set(peer_start(false), NULL);
	cr_assert_eq(deliver(set, APPLICANT_CA, KEY).status, ENG_DELIVERY_DONE);
	cr_assert_eq(deliver(set, APPLICANT_CA, KEY).status, ENG_DELIVERY_DONE);
	cr_assert_eq(deliver(set, APPLICANT_CA, "EXP-2026-000042/3/2").status, ENG_DELIVERY_DONE);
	json_t *a = received(1), *b = received(2), *c = received(3);
	cr_assert_str_eq(header(a, "Message-ID"), MSGID);
	cr_assert_str_eq(header(b, "Message-ID"), MSGID);
	cr_assert_str_neq(header(c, "Message-ID"), MSGID);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	conn_set_close(set);
}

static void write_template(const char *name, const char *text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(smtp, entity_template_fills_placeholders_from_args)
{
	write_template("requeriment.ca.txt", "Subject: Requeriment: {{title}}\n\n"
	                                     "Heu d'esmenar l'expedient {{expedient}}: {{title}}.\n");
	char extra[300];
	snprintf(extra, sizeof(extra), "\"templates_dir\": \"%s\"", dir);
	struct conn_set *set = open_set(peer_start(false), extra);
	struct eng_delivery d = deliver(set, "{\"email\": \"maria@example.org\", \"language\": \"ca\", "
	                                     "\"title\": \"falta el DNI de la persona, sol·licitant\"}",
	                                KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	json_t *m = received(1);
	/* 45 bytes per encoded-word would cut the "·" in two: the word must end before it. */
	cr_assert_str_eq(header(m, "Subject"),
	                 "Requeriment: falta el DNI de la persona, sol·licitant");
	char *raw = received_raw(1);
	cr_assert(strstr(raw, "\r\nSubject: =?UTF-8?B?UmVxdWVyaW1lbnQ6IGZhbHRhIGVsIEROSSBkZSBsYSBwZXJzb25hLCBzb2w=?=\r\n"
	                      " =?UTF-8?B?wrdsaWNpdGFudA==?=\r\n"), "%s", raw);
	free(raw);
	cr_assert_str_eq(json_string_value(json_object_get(m, "body")),
	                 "Heu d'esmenar l'expedient EXP-2026-000042: falta el DNI de la persona, "
	                 "sol·licitant.\n");
	json_decref(m);
	d = deliver(set, "{\"email\": \"maria@example.org\", \"language\": \"ca\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": the template uses {{title}}, which the notify "
	                          "effect's args do not carry");
	conn_set_close(set);
}

Test(smtp, header_injection_is_failed_and_nothing_is_sent)
{
	write_template("requeriment.ca.txt", "Subject: Requeriment: {{title}}\n\nText.\n");
	char extra[300];
	snprintf(extra, sizeof(extra), "\"templates_dir\": \"%s\"", dir);
	struct conn_set *set = open_set(peer_start(false), extra);
	struct eng_delivery d = deliver(set, "{\"email\": \"maria@example.org\", \"language\": \"ca\", "
	                                     "\"title\": \"x\\r\\nBcc: evil@example.net\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": refused: the subject contains a line break, a "
	                          "control character or invalid UTF-8 (header injection?)");
	d = deliver(set, "{\"email\": \"maria@example.org\\r\\nBcc: evil@example.net\", "
	                 "\"language\": \"ca\", \"title\": \"t\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": refused: the recipient address contains a line "
	                          "break, a control character or invalid UTF-8 (header injection?)");
	d = deliver(set, "{\"email\": \"maria@example.org>, <evil@example.net\", \"language\": \"ca\", "
	                 "\"title\": \"t\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": refused: 'maria@example.org>, <evil@example.net' "
	                          "is not a valid e-mail address");
	sleep_ms(200);
	cr_assert_eq(received_count(), 0);
	conn_set_close(set);
}

Test(smtp, missing_address_is_failed)
{
	struct conn_set *set = open_set(peer_start(false), NULL);
	struct eng_delivery d = deliver(set, "{\"channel\": \"binding\", \"audience\": \"applicant\"}",
	                                KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": args.email is missing: the notify effect must "
	                          "carry the party's e-mail address for notices");
	d = deliver(set, "{\"email\": \"maria@example.org\", \"language\": \"en\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "notify " KEY ": args.language: expected \"ca\" or \"es\", found 'en'");
	conn_set_close(set);
}

Test(smtp, permanent_refusal_is_failed_and_passing_one_is_retried)
{
	int port = peer_start(false);
	struct conn_set *set = open_set(port, NULL);
	struct eng_delivery d = deliver(set, "{\"email\": \"reject@example.org\", \"language\": \"ca\", "
	                                     "\"channel\": \"binding\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED, "%s", d.error);
	char want[200];
	snprintf(want, sizeof(want), "smtp://127.0.0.1:%d refused the message for "
	         "<reject@example.org> permanently (550): ", port);
	cr_assert(strncmp(d.error, want, strlen(want)) == 0, "%s", d.error);
	d = deliver(set, "{\"email\": \"later@example.org\", \"language\": \"ca\", "
	                 "\"channel\": \"binding\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY, "%s", d.error);
	cr_assert(strstr(d.error, "(last reply 451)"), "%s", d.error);
	cr_assert_eq(received_count(), 0);
	conn_set_close(set);
}

Test(smtp, peer_down_is_retried)
{
	int port = port_nobody(false, NULL);
	struct conn_set *set = open_set(port, NULL);
	struct eng_delivery d = deliver(set, APPLICANT_CA, KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[100];
	snprintf(want, sizeof(want), "smtp://127.0.0.1:%d: Failed to connect to 127.0.0.1 port %d",
	         port, port);
	cr_assert(strncmp(d.error, want, strlen(want)) == 0, "%s", d.error);
	conn_set_close(set);
}

Test(smtp, silent_peer_times_out_and_is_retried)
{
	int fd = -1;
	int port = port_nobody(true, &fd);
	struct conn_set *set = open_set(port, "\"timeout_s\": 1");
	time_t start = time(NULL);
	struct eng_delivery d = deliver(set, APPLICANT_CA, KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[100];
	snprintf(want, sizeof(want), "smtp://127.0.0.1:%d timed out after 1 s: ", port);
	cr_assert(strncmp(d.error, want, strlen(want)) == 0, "%s", d.error);
	cr_assert_leq(time(NULL) - start, 4, "the 1 s timeout took %lld s",
	              (long long)(time(NULL) - start));
	close(fd);
	conn_set_close(set);
}

Test(smtp, starttls_is_used_when_required)
{
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	int port = peer_start(true);
	char json[1024];
	snprintf(json, sizeof(json),
	         "{\"smtp\": {\"host\": \"127.0.0.1\", \"port\": %d, \"starttls\": true, "
	         "\"ca_file\": \"%s/cert.pem\", \"from\": \"avisos@example.org\", "
	         "\"sede_url\": \"https://seu.example.org\"}}", port, dir);
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	struct eng_delivery d = deliver(set, APPLICANT_CA, KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	json_t *m = received(1);
	cr_assert(json_boolean_value(json_object_get(m, "tls")));
	cr_assert_str_eq(header(m, "From"), "avisos@example.org");
	json_decref(m);
	conn_set_close(set);
}

Test(smtp, starttls_required_but_not_offered_is_retried_unsent)
{
	struct conn_set *set = open_set(peer_start(false), "\"starttls\": true");
	struct eng_delivery d = deliver(set, APPLICANT_CA, KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY, "%s", d.error);
	cr_assert(strstr(d.error, "STARTTLS") || strstr(d.error, "SSL"), "%s", d.error);
	cr_assert_eq(received_count(), 0);
	conn_set_close(set);
}
