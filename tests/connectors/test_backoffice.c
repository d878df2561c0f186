/* The integration bus against a real HTTP subscriber on loopback (backoffice_peer.py, started
 * per test with Debian's python3), which checks our HMAC signatures with Python's hmac and
 * records every request; the tests read the records back and assert headers and bodies
 * exactly. Inbound callbacks are signed by the same script, as a back-office system would. */
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

#include "connectors/backoffice/backoffice.h"
#include "connectors/connector.h"
#include "tests/support/shell.h"

#define PYTHON "/usr/bin/python3"
#define PEER TRAMIT_SOURCE_DIR "/tests/connectors/backoffice_peer.py"
#define SECRET "s3cret-shared-with-the-erp"
#define KEY "EXP-2026-000042/3/0"

static char dir[64], inbox[128];
static pid_t peer = -1;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tramit-bo-XXXXXX");
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

TestSuite(backoffice, .init = setup, .fini = teardown, .timeout = 60);

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the subscriber and returns its port. */
static int peer_start(void)
{
	char ready[200];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	const char *argv[] = {PYTHON, PEER, inbox, ready, SECRET, NULL};
	int port;
	peer = shell_peer_start(argv, ready, &port);
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

static struct conn_set *open_set(const char *section)
{
	char json[4096];
	snprintf(json, sizeof(json), "{\"backoffice\": %s}", section);
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), 0, "%s", err.msg);
	return set;
}

/* A section with one subscriber "erp" of `events` at PATH on port. */
static struct conn_set *open_one(int port, const char *path, const char *events, int timeout_ms)
{
	char section[1024];
	snprintf(section, sizeof(section),
	         "{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://127.0.0.1:%d%s\", "
	         "\"secret\": \"" SECRET "\", \"events\": %s, \"timeout_ms\": %d}]}",
	         port, path, events, timeout_ms);
	return open_set(section);
}

static struct eng_delivery deliver(struct conn_set *set, const char *event, const char *args,
                                   const char *key)
{
	char effect[100];
	snprintf(effect, sizeof(effect), "backoffice:%s", event);
	struct eng_outbox_item item = {
		.id = 1, .entity_id = "demo", .expedient_id = "EXP-2026-000042", .kind = "backoffice",
		.effect_id = effect, .target = event, .args_json = args, .idempotency_key = key,
		.attempts = 1,
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
	cr_assert_not_null(doc, "request %d was not received: %s", n, err.text);
	return doc;
}

static int received_count(void)
{
	int n = 0;
	char path[200];
	for (;;) {
		snprintf(path, sizeof(path), "%s/%d.json", inbox, n + 1);
		if (access(path, F_OK) != 0)
			return n;
		n++;
	}
}

static const char *header(const json_t *doc, const char *name)
{
	return json_string_value(json_object_get(json_object_get(doc, "headers"), name));
}

static const char *field(const json_t *doc, const char *name)
{
	return json_string_value(json_object_get(doc, name));
}

/* --- outbound --- */

Test(backoffice, delivery_arrives_signed_with_exact_headers_and_body)
{
	int port = peer_start();
	struct conn_set *set = open_one(port, "/hook", "[\"alta_padro\"]", 5000);
	struct eng_delivery d = deliver(set, "alta_padro", "{\"nif\": \"12345678Z\", \"n\": \"2\"}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.outcome, "delivered");
	cr_assert_str_eq(d.result_json, "{\"subscribers\":[{\"name\":\"erp\",\"status\":204}]}");
	cr_assert_eq(received_count(), 1);
	json_t *r = received(1);
	cr_assert_str_eq(field(r, "method"), "POST");
	cr_assert_str_eq(field(r, "path"), "/hook");
	cr_assert(json_is_true(json_object_get(r, "signature_valid")),
	          "Python's hmac does not verify %s", header(r, "X-Tramit-Signature"));
	json_int_t age = json_integer_value(json_object_get(r, "timestamp_age"));
	cr_assert(age >= 0 && age <= 2, "timestamp is %lld s old", (long long)age);
	/* Exactly these headers, in this order. */
	const char *order[] = {"Host", "Accept", "Content-Type", "User-Agent", "X-Tramit-Event",
	                       "X-Tramit-Delivery", "X-Tramit-Timestamp", "X-Tramit-Signature",
	                       "Content-Length"};
	json_t *names = json_object_get(r, "header_names");
	cr_assert_eq(json_array_size(names), 9, "%s", json_dumps(names, 0));
	for (size_t i = 0; i < 9; i++)
		cr_assert_str_eq(json_string_value(json_array_get(names, i)), order[i]);
	char host[40];
	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	cr_assert_str_eq(header(r, "Host"), host);
	cr_assert_str_eq(header(r, "Content-Type"), "application/json");
	cr_assert_str_eq(header(r, "User-Agent"), "tramit-backoffice/1");
	cr_assert_str_eq(header(r, "X-Tramit-Event"), "alta_padro");
	cr_assert_str_eq(header(r, "X-Tramit-Delivery"), KEY);
	const char *ts = header(r, "X-Tramit-Timestamp");
	const char *body = field(r, "body");
	char sig[72];
	cr_assert_eq(conn_backoffice_sign(sig, SECRET, strtoll(ts, NULL, 10), body, strlen(body)), 0);
	cr_assert_str_eq(header(r, "X-Tramit-Signature"), sig);
	char when[32], want[600];
	time_t t = (time_t)strtoll(ts, NULL, 10);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	snprintf(want, sizeof(want),
	         "{\"event\":\"alta_padro\",\"delivery\":\"" KEY "\",\"entity\":\"demo\","
	         "\"expedient\":\"EXP-2026-000042\",\"effect\":\"backoffice:alta_padro\","
	         "\"time\":\"%s\",\"args\":{\"nif\":\"12345678Z\",\"n\":\"2\"}}", when);
	cr_assert_str_eq(body, want);
	char length[24];
	snprintf(length, sizeof(length), "%zu", strlen(body));
	cr_assert_str_eq(header(r, "Content-Length"), length);
	json_decref(r);
	conn_set_close(set);
}

Test(backoffice, same_idempotency_key_gives_the_same_delivery_id)
{
	struct conn_set *set = open_one(peer_start(), "/hook", "[\"*\"]", 5000);
	cr_assert_eq(deliver(set, "resolucio", "{}", KEY).status, ENG_DELIVERY_DONE);
	cr_assert_eq(deliver(set, "resolucio", "{}", KEY).status, ENG_DELIVERY_DONE);
	cr_assert_eq(deliver(set, "resolucio", "{}", "EXP-2026-000042/4/0").status, ENG_DELIVERY_DONE);
	json_t *a = received(1), *b = received(2), *c = received(3);
	cr_assert_str_eq(header(a, "X-Tramit-Delivery"), KEY);
	cr_assert_str_eq(header(b, "X-Tramit-Delivery"), KEY);
	cr_assert_str_eq(header(c, "X-Tramit-Delivery"), "EXP-2026-000042/4/0");
	cr_assert(strstr(field(b, "body"), "\"delivery\":\"" KEY "\""), "%s", field(b, "body"));
	cr_assert(json_is_true(json_object_get(c, "signature_valid")));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	conn_set_close(set);
}

Test(backoffice, event_goes_only_to_its_subscribers)
{
	int port = peer_start();
	char section[1024];
	snprintf(section, sizeof(section),
	         "{\"subscribers\": ["
	         "{\"name\": \"erp\", \"url\": \"http://127.0.0.1:%d/hook?to=erp\", \"secret\": \"" SECRET
	         "\", \"events\": [\"alta_padro\", \"baixa_padro\"]},"
	         "{\"name\": \"census\", \"url\": \"http://127.0.0.1:%d/hook?to=census\", \"secret\": \""
	         SECRET "\", \"events\": [\"canvi_domicili\"]},"
	         "{\"name\": \"archive\", \"url\": \"http://127.0.0.1:%d/hook?to=archive\", \"secret\": \""
	         SECRET "\", \"events\": [\"*\"]}]}", port, port, port);
	struct conn_set *set = open_set(section);
	struct eng_delivery d = deliver(set, "baixa_padro", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_DONE, "%s", d.error);
	cr_assert_str_eq(d.result_json, "{\"subscribers\":[{\"name\":\"erp\",\"status\":204},"
	                                "{\"name\":\"archive\",\"status\":204}]}");
	cr_assert_eq(received_count(), 2);
	json_t *a = received(1), *b = received(2);
	cr_assert_str_eq(field(a, "path"), "/hook?to=erp");
	cr_assert_str_eq(field(b, "path"), "/hook?to=archive");
	json_decref(a);
	json_decref(b);
	conn_set_close(set);
}

Test(backoffice, event_without_subscribers_is_dead_lettered)
{
	struct conn_set *set = open_one(peer_start(), "/hook", "[\"alta_padro\"]", 5000);
	struct eng_delivery d = deliver(set, "llicencia_obres", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "backoffice " KEY ": no subscriber takes 'llicencia_obres' events: "
	                          "add it to the \"events\" of one in backoffice.subscribers");
	d = deliver(set, "alta_padro", "[1]", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "backoffice " KEY ": args are not a JSON object");
	d = deliver(set, "alta_padro", "{}", "EXP-1/1/0\r\nX-Evil: 1");
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "backoffice 'alta_padro': the idempotency key is empty or has "
	                          "control characters");
	struct eng_outbox_item item = {
		.entity_id = "demo", .expedient_id = "EXP-\xff", .kind = "backoffice",
		.effect_id = "backoffice:alta_padro", .target = "alta_padro", .args_json = "{}",
		.idempotency_key = KEY, .attempts = 1,
	};
	conn_deliver(&item, &d, set);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	cr_assert_str_eq(d.error, "backoffice " KEY ": cannot encode the event as JSON: Invalid UTF-8 "
	                          "string");
	sleep_ms(100);
	cr_assert_eq(received_count(), 0);
	conn_set_close(set);
}

Test(backoffice, subscriber_down_is_retried)
{
	int port = port_nobody();
	struct conn_set *set = open_one(port, "/hook", "[\"*\"]", 5000);
	struct eng_delivery d = deliver(set, "alta_padro", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[200];
	snprintf(want, sizeof(want), "subscriber 'erp': http://127.0.0.1:%d/hook: Failed to connect "
	         "to 127.0.0.1 port %d", port, port);
	cr_assert(strncmp(d.error, want, strlen(want)) == 0, "%s", d.error);
	conn_set_close(set);
}

Test(backoffice, slow_subscriber_times_out_and_is_retried)
{
	int port = peer_start();
	struct conn_set *set = open_one(port, "/slow/3000", "[\"*\"]", 300);
	double start = now_s();
	struct eng_delivery d = deliver(set, "alta_padro", "{}", KEY);
	double took = now_s() - start;
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY, "%s", d.error);
	char want[200];
	snprintf(want, sizeof(want), "subscriber 'erp': http://127.0.0.1:%d/slow/3000 did not answer "
	         "within 300 ms", port);
	cr_assert_str_eq(d.error, want);
	cr_assert(took >= 0.25 && took < 2.0, "the 300 ms timeout took %.2f s", took);
	conn_set_close(set);
}

Test(backoffice, bad_request_is_dead_lettered)
{
	int port = peer_start();
	struct conn_set *set = open_one(port, "/status/400", "[\"*\"]", 5000);
	struct eng_delivery d = deliver(set, "alta_padro", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	char want[200];
	snprintf(want, sizeof(want), "subscriber 'erp': http://127.0.0.1:%d/status/400 answered 400: "
	         "peer says 400", port);
	cr_assert_str_eq(d.error, want);
	conn_set_close(set);
	set = open_one(port, "/status/301", "[\"*\"]", 5000);
	d = deliver(set, "alta_padro", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_FAILED);
	snprintf(want, sizeof(want), "subscriber 'erp': http://127.0.0.1:%d/status/301 answered 301 "
	         "(redirects are not followed: configure the final URL): peer says 301", port);
	cr_assert_str_eq(d.error, want);
	conn_set_close(set);
}

Test(backoffice, unavailable_and_throttled_are_retried)
{
	int port = peer_start();
	const char *paths[] = {"/status/503", "/status/500", "/status/429", "/status/408"};
	for (size_t i = 0; i < 4; i++) {
		struct conn_set *set = open_one(port, paths[i], "[\"*\"]", 5000);
		struct eng_delivery d = deliver(set, "alta_padro", "{}", KEY);
		cr_assert_eq(d.status, ENG_DELIVERY_RETRY, "%s: %s", paths[i], d.error);
		char want[200];
		snprintf(want, sizeof(want), "subscriber 'erp': http://127.0.0.1:%d%s answered %s: "
		         "peer says %s", port, paths[i], paths[i] + 8, paths[i] + 8);
		cr_assert_str_eq(d.error, want);
		conn_set_close(set);
	}
}

Test(backoffice, the_worst_answer_decides_among_subscribers)
{
	int port = peer_start();
	char section[1024];
	snprintf(section, sizeof(section),
	         "{\"subscribers\": ["
	         "{\"name\": \"erp\", \"url\": \"http://127.0.0.1:%d/hook\", \"secret\": \"" SECRET
	         "\", \"events\": [\"*\"]},"
	         "{\"name\": \"tax\", \"url\": \"http://127.0.0.1:%d/status/400\", \"secret\": \""
	         SECRET "\", \"events\": [\"*\"]},"
	         "{\"name\": \"census\", \"url\": \"http://127.0.0.1:%d/status/503\", \"secret\": \""
	         SECRET "\", \"events\": [\"*\"]}]}", port, port, port);
	struct conn_set *set = open_set(section);
	struct eng_delivery d = deliver(set, "alta_padro", "{}", KEY);
	cr_assert_eq(d.status, ENG_DELIVERY_RETRY);
	char want[200];
	snprintf(want, sizeof(want), "subscriber 'census': http://127.0.0.1:%d/status/503 answered "
	         "503: peer says 503 (and 1 more failing)", port);
	cr_assert_str_eq(d.error, want);
	cr_assert_eq(received_count(), 3);
	char health[2048];
	cr_assert_eq(conn_set_health(set, health, sizeof(health)), 0);
	cr_assert(strstr(health, "\"backoffice\": {\"status\": \"ok\", \"subscribers\": 3, "
	                         "\"contracts\": 0, \"delivered\": 0, \"retried\": 1, \"failed\": 0, "),
	          "%s", health);
	conn_set_close(set);
}

static void expect_refused(const char *section, const char *msg)
{
	char json[2048];
	snprintf(json, sizeof(json), "{\"backoffice\": %s}", section);
	struct conn_set *set = (struct conn_set *)1;
	struct conn_error err = {0};
	cr_assert_eq(conn_set_open(&set, json, &err), CONN_EINVALID, "%s -> %s", json, err.msg);
	cr_assert_null(set);
	cr_assert_str_eq(err.msg, msg);
}

#define SUB_OK "{\"name\": \"erp\", \"url\": \"http://erp.example.org/events\", " \
               "\"secret\": \"" SECRET "\", \"events\": [\"*\"]}"

Test(backoffice, configuration_errors_name_the_key)
{
	expect_refused("{\"subscribers\": [" SUB_OK ", {\"name\": \"tax\", \"url\": \"ftp://tax\", "
	               "\"secret\": \"" SECRET "\", \"events\": [\"*\"]}]}",
	               "backoffice.subscribers[1].url: expected an http:// or https:// URL, found "
	               "'ftp://tax'");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://erp\", "
	               "\"secret\": \"short\", \"events\": [\"*\"]}]}",
	               "backoffice.subscribers[0].secret: expected at least 16 characters (a random "
	               "string shared with the subscriber)");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://erp\", "
	               "\"secret\": \"" SECRET "\"}]}",
	               "backoffice.subscribers[0].events: expected a non-empty array of names");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://erp\", "
	               "\"secret\": \"" SECRET "\", \"events\": [\"a b\"]}]}",
	               "backoffice.subscribers[0].events[0]: expected a name of letters, digits, '_', "
	               "'-' and '.' (at most 64), or \"*\"");
	expect_refused("{\"subscribers\": [" SUB_OK ", " SUB_OK "]}",
	               "backoffice.subscribers[1].name: 'erp' is already the name of subscribers[0]");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://erp\", "
	               "\"secret\": \"" SECRET "\", \"events\": [\"*\"], \"timeout_ms\": 0}]}",
	               "backoffice.subscribers[0].timeout_ms: expected an integer 1..600000, found "
	               "one out of range");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"url\": \"http://erp\", "
	               "\"secret\": \"" SECRET "\", \"events\": [\"*\"], \"actions\": [\"pay\"]}]}",
	               "backoffice.subscribers[0].actions: only meaningful with \"callbacks\": true");
	expect_refused("{\"subscribers\": [{\"name\": \"erp\", \"uri\": \"http://erp\"}]}",
	               "backoffice.subscribers[0].uri: unknown key");
	expect_refused("{\"subscribers\": {}}", "backoffice.subscribers: expected an array");
	expect_refused("{\"contracts\": [{\"name\": \"padro\", \"url\": \"http://padro\", "
	               "\"ttl_s\": -1}]}",
	               "backoffice.contracts[0].ttl_s: expected an integer 0..86400, found one out "
	               "of range");
	expect_refused("{}", "backoffice.subscribers: expected at least one subscriber or contract; "
	                     "leave the \"backoffice\" section out to use neither");
}

/* --- inbound callbacks --- */

#define NOW 1767225600 /* 2026-01-01T00:00:00Z, the caller's clock in these tests */

/* The X-Tramit-Signature Python computes for body at ts with secret. */
static void python_sign(char out[80], const char *secret, long long ts, const char *body)
{
	char path[200], cmd[600];
	snprintf(path, sizeof(path), "%s/body", dir);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fputs(body, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), PYTHON " " PEER " sign '%s' %lld %s", secret, ts, path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(out, 80, p));
	cr_assert_eq(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
}

struct seen_store {
	int calls;
	char ids[8][200];
	int n;
};

static int seen(const char *subscriber, const char *delivery, void *payload)
{
	struct seen_store *s = payload;
	char id[200];
	snprintf(id, sizeof(id), "%s/%s", subscriber, delivery);
	s->calls++;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], id) == 0)
			return 1;
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", id);
	return 0;
}

#define CALLBACK_BODY "{\"delivery\": \"tax-7781\", \"expedient\": \"EXP-2026-000042\", " \
                      "\"action\": \"confirm_debt\", \"data\": {\"debt_cents\": 12050, " \
                      "\"concept\": \"IBI 2025\"}}"

static struct conn_set *open_callbacks(void)
{
	return open_set("{\"subscribers\": ["
	                "{\"name\": \"tax\", \"url\": \"http://tax.example.org/events\", "
	                "\"secret\": \"" SECRET "\", \"events\": [\"*\"], \"callbacks\": true, "
	                "\"actions\": [\"confirm_debt\", \"deny_debt\"]},"
	                "{\"name\": \"erp\", \"url\": \"http://erp.example.org/events\", "
	                "\"secret\": \"" SECRET "\", \"events\": [\"*\"]}]}");
}

/* Verifies body as sent by `subscriber` at ts, signed by Python with secret. */
static int verify(struct conn_set *set, struct conn_backoffice_callback *cb, const char *subscriber,
                  const char *secret, long long ts, const char *body, const char *delivery,
                  struct seen_store *store, struct conn_error *err)
{
	char sig[80], tstext[24];
	python_sign(sig, secret, ts, body);
	snprintf(tstext, sizeof(tstext), "%lld", ts);
	struct conn_backoffice_request req = {
		.subscriber = subscriber, .timestamp = tstext, .delivery = delivery, .signature = sig,
		.body = body, .body_len = strlen(body), .now = NOW,
	};
	return conn_backoffice_callback_verify(cb, conn_set_state(set, "backoffice"), &req, seen, err,
	                                       store);
}

Test(backoffice, valid_callback_is_accepted)
{
	struct conn_set *set = open_callbacks();
	struct seen_store store = {0};
	struct conn_backoffice_callback cb;
	struct conn_error err = {0};
	int rc = verify(set, &cb, "tax", SECRET, NOW - 10, CALLBACK_BODY, "tax-7781", &store, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(cb.subscriber, "tax");
	cr_assert_str_eq(cb.delivery, "tax-7781");
	cr_assert_str_eq(cb.expedient, "EXP-2026-000042");
	cr_assert_str_eq(cb.action, "confirm_debt");
	cr_assert_eq(cb.timestamp, NOW - 10);
	cr_assert_str_eq(cb.data_json, "{\"debt_cents\":12050,\"concept\":\"IBI 2025\"}");
	cr_assert_eq(store.calls, 1);
	cr_assert_str_eq(store.ids[0], "tax/tax-7781");
	conn_backoffice_callback_clear(&cb);
	/* The edges of the window are inside it. */
	const char *body = "{\"delivery\": \"tax-7782\", \"expedient\": \"EXP-1\", \"action\": \"deny_debt\"}";
	cr_assert_eq(verify(set, &cb, "tax", SECRET, NOW - 300, body, "tax-7782", &store, &err), 0,
	             "%s", err.msg);
	cr_assert_str_eq(cb.data_json, "{}");
	conn_backoffice_callback_clear(&cb);
	body = "{\"delivery\": \"tax-7783\", \"expedient\": \"EXP-1\", \"action\": \"deny_debt\"}";
	cr_assert_eq(verify(set, &cb, "tax", SECRET, NOW + 60, body, "tax-7783", &store, &err), 0,
	             "%s", err.msg);
	conn_backoffice_callback_clear(&cb);
	conn_set_close(set);
}

static void expect_callback_refused(struct conn_set *set, const char *subscriber,
                                    const char *secret, long long ts, const char *body,
                                    const char *delivery, int code, const char *msg)
{
	struct seen_store store = {0};
	struct conn_backoffice_callback cb;
	struct conn_error err = {0};
	cr_assert_eq(verify(set, &cb, subscriber, secret, ts, body, delivery, &store, &err), code,
	             "%s", err.msg);
	cr_assert_str_eq(err.msg, msg);
	cr_assert_null(cb.data_json);
	cr_assert_eq(store.calls, 0, "a refused callback reached the replay store");
}

Test(backoffice, forged_signature_is_refused)
{
	struct conn_set *set = open_callbacks();
	expect_callback_refused(set, "tax", "another-secret-of-16+", NOW, CALLBACK_BODY, "tax-7781",
	                        CONN_BO_EDENIED,
	                        "X-Tramit-Signature does not match: the body and timestamp were not "
	                        "signed with subscriber 'tax''s secret");
	/* A body changed after signing. */
	char sig[80];
	python_sign(sig, SECRET, NOW, CALLBACK_BODY);
	const char *tampered = "{\"delivery\": \"tax-7781\", \"expedient\": \"EXP-2026-000042\", "
	                       "\"action\": \"confirm_debt\", \"data\": {\"debt_cents\": 0}}";
	struct conn_backoffice_request req = {
		.subscriber = "tax", .timestamp = "1767225600", .delivery = "tax-7781",
		.signature = sig, .body = tampered, .body_len = strlen(tampered), .now = NOW,
	};
	struct seen_store store = {0};
	struct conn_backoffice_callback cb;
	struct conn_error err = {0};
	cr_assert_eq(conn_backoffice_callback_verify(&cb, conn_set_state(set, "backoffice"), &req,
	                                             seen, &err, &store), CONN_BO_EDENIED);
	cr_assert_str_eq(err.msg, "X-Tramit-Signature does not match: the body and timestamp were "
	                          "not signed with subscriber 'tax''s secret");
	/* The same signature presented with another timestamp. */
	req.body = CALLBACK_BODY;
	req.body_len = strlen(CALLBACK_BODY);
	req.timestamp = "1767225601";
	cr_assert_eq(conn_backoffice_callback_verify(&cb, conn_set_state(set, "backoffice"), &req,
	                                             seen, &err, &store), CONN_BO_EDENIED);
	cr_assert(strstr(err.msg, "does not match"), "%s", err.msg);
	req.signature = "sha256=abc";
	cr_assert_eq(conn_backoffice_callback_verify(&cb, conn_set_state(set, "backoffice"), &req,
	                                             seen, &err, &store), CONN_BO_EDENIED);
	cr_assert_str_eq(err.msg, "X-Tramit-Signature: expected sha256= and 64 hex digits");
	req.signature = NULL;
	cr_assert_eq(conn_backoffice_callback_verify(&cb, conn_set_state(set, "backoffice"), &req,
	                                             seen, &err, &store), CONN_BO_EDENIED);
	cr_assert_str_eq(err.msg, "missing X-Tramit-Signature header");
	cr_assert_eq(store.calls, 0);
	conn_set_close(set);
}

Test(backoffice, old_and_future_timestamps_are_refused)
{
	struct conn_set *set = open_callbacks();
	expect_callback_refused(set, "tax", SECRET, NOW - 301, CALLBACK_BODY, "tax-7781",
	                        CONN_BO_EDENIED,
	                        "X-Tramit-Timestamp 1767225299 is 301 s old; callbacks older than "
	                        "300 s are refused");
	expect_callback_refused(set, "tax", SECRET, NOW + 61, CALLBACK_BODY, "tax-7781",
	                        CONN_BO_EDENIED,
	                        "X-Tramit-Timestamp 1767225661 is 61 s in the future; more than 60 s "
	                        "ahead is refused (check the sender's clock)");
	conn_set_close(set);
}

Test(backoffice, replayed_delivery_is_refused)
{
	struct conn_set *set = open_callbacks();
	struct seen_store store = {0};
	struct conn_backoffice_callback cb;
	struct conn_error err = {0};
	cr_assert_eq(verify(set, &cb, "tax", SECRET, NOW, CALLBACK_BODY, "tax-7781", &store, &err), 0,
	             "%s", err.msg);
	conn_backoffice_callback_clear(&cb);
	/* The very same request again, even re-signed a second later. */
	cr_assert_eq(verify(set, &cb, "tax", SECRET, NOW + 1, CALLBACK_BODY, "tax-7781", &store, &err),
	             CONN_BO_EREPLAY);
	cr_assert_str_eq(err.msg, "delivery 'tax-7781' from subscriber 'tax' was already received: a "
	                          "replay is refused");
	cr_assert_null(cb.data_json);
	/* A replay with a fresh X-Tramit-Delivery: the body's signed id gives it away. */
	cr_assert_eq(verify(set, &cb, "tax", SECRET, NOW, CALLBACK_BODY, "tax-9999", &store, &err),
	             CONN_EINVALID);
	cr_assert_str_eq(err.msg, "body.delivery 'tax-7781' differs from the X-Tramit-Delivery header");
	cr_assert_eq(store.calls, 2);
	conn_set_close(set);
}

Test(backoffice, callback_refusals_name_the_check)
{
	struct conn_set *set = open_callbacks();
	struct conn_backoffice_request req = {.subscriber = "tax", .now = NOW};
	struct conn_backoffice_callback cb;
	struct conn_error err = {0};
	cr_assert_eq(conn_backoffice_callback_verify(&cb, NULL, &req, seen, &err, NULL),
	             CONN_BO_EUNKNOWN);
	cr_assert_str_eq(err.msg, "no subscriber takes callbacks: the backoffice connector is not "
	                          "configured");
	expect_callback_refused(set, "nobody", SECRET, NOW, CALLBACK_BODY, "tax-7781",
	                        CONN_BO_EUNKNOWN, "no subscriber named 'nobody' takes callbacks");
	expect_callback_refused(set, "erp", SECRET, NOW, CALLBACK_BODY, "tax-7781",
	                        CONN_BO_EUNKNOWN, "no subscriber named 'erp' takes callbacks");
	expect_callback_refused(set, "tax", SECRET, NOW, CALLBACK_BODY, NULL,
	                        CONN_BO_EDENIED, "missing X-Tramit-Delivery header");
	expect_callback_refused(set, "tax", SECRET, NOW,
	                        "{\"delivery\": \"d1\", \"expedient\": \"EXP-1\", \"action\": \"pay\"}",
	                        "d1", CONN_BO_EDENIED,
	                        "action 'pay' is not among the actions subscriber 'tax' may take (its "
	                        "\"actions\")");
	expect_callback_refused(set, "tax", SECRET, NOW, "{\"delivery\": \"d1\", \"action\": \"pay\"}",
	                        "d1", CONN_EINVALID, "body.expedient: required, expected a string");
	expect_callback_refused(set, "tax", SECRET, NOW,
	                        "{\"delivery\": \"d1\", \"expedient\": \"E\", \"action\": \"pay\", "
	                        "\"data\": [1]}", "d1", CONN_EINVALID, "body.data: expected an object");
	expect_callback_refused(set, "tax", SECRET, NOW,
	                        "{\"delivery\": \"d1\", \"expedient\": \"E\", \"action\": \"pay\", "
	                        "\"amount\": 1}", "d1", CONN_EINVALID, "body.amount: unknown key");
	expect_callback_refused(set, "tax", SECRET, NOW, "not json", "d1", CONN_EINVALID,
	                        "body: expected a JSON object: '[' or '{' expected near 'not'");
	conn_set_close(set);
}

/* --- lookups --- */

static struct conn_set *open_contract(int port, const char *path, int timeout_ms, int ttl_s,
                                      int entries)
{
	char section[1024];
	snprintf(section, sizeof(section),
	         "{\"contracts\": [{\"name\": \"padro\", \"url\": \"http://127.0.0.1:%d%s\", "
	         "\"secret\": \"" SECRET "\", \"timeout_ms\": %d, \"ttl_s\": %d}], "
	         "\"cache_entries\": %d}", port, path, timeout_ms, ttl_s, entries);
	return open_set(section);
}

static char *lookup(struct conn_set *set, const char *params, int timeout_ms)
{
	char *answer = NULL;
	struct conn_error err = {0};
	int rc = conn_backoffice_lookup(&answer, conn_set_state(set, "backoffice"), "padro", params,
	                                timeout_ms, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	return answer;
}

Test(backoffice, lookup_answer_is_cached_within_its_ttl)
{
	struct conn_set *set = open_contract(peer_start(), "/lookup/padro", 5000, 300, 16);
	char *a = lookup(set, "{\"nif\": \"12345678Z\", \"municipi\": \"46250\"}", 0);
	char *b = lookup(set, "{\"municipi\": \"46250\", \"nif\": \"12345678Z\"}", 0);
	const char *want = "{\"contract\":\"padro\",\"params\":{\"municipi\":\"46250\","
	                   "\"nif\":\"12345678Z\"},\"served\":1}";
	cr_assert_str_eq(a, want);
	cr_assert_str_eq(b, want);
	cr_assert_eq(received_count(), 1, "two lookups within the TTL asked the peer twice");
	json_t *r = received(1);
	cr_assert_str_eq(field(r, "body"), "{\"contract\":\"padro\",\"params\":{\"municipi\":\"46250\","
	                                   "\"nif\":\"12345678Z\"}}");
	cr_assert(json_is_true(json_object_get(r, "signature_valid")));
	json_decref(r);
	char *c = lookup(set, "{\"nif\": \"87654321X\"}", 0);
	cr_assert_str_eq(c, "{\"contract\":\"padro\",\"params\":{\"nif\":\"87654321X\"},\"served\":2}");
	cr_assert_eq(received_count(), 2);
	free(a);
	free(b);
	free(c);
	conn_set_close(set);
}

Test(backoffice, lookup_cache_expires_and_stays_bounded)
{
	int port = peer_start();
	struct conn_set *set = open_contract(port, "/lookup/padro", 5000, 1, 2);
	free(lookup(set, "{\"n\": 1}", 0));
	sleep_ms(1100);
	char *again = lookup(set, "{\"n\": 1}", 0);
	cr_assert_str_eq(again, "{\"contract\":\"padro\",\"params\":{\"n\":1},\"served\":2}");
	free(again);
	conn_set_close(set);
	/* A long TTL, so only the bound can push an answer out. */
	set = open_contract(port, "/lookup/padro", 5000, 300, 2);
	free(lookup(set, "{\"n\": 1}", 0));
	free(lookup(set, "{\"n\": 2}", 0));
	free(lookup(set, "{\"n\": 3}", 0)); /* evicts n=1, the entry expiring first */
	cr_assert_eq(received_count(), 5);
	char health[2048];
	cr_assert_eq(conn_set_health(set, health, sizeof(health)), 0);
	cr_assert(strstr(health, "\"lookups\": 3, \"lookup_cache_hits\": 0, \"cached_answers\": 2,"),
	          "%s", health);
	free(lookup(set, "{\"n\": 3}", 0));
	free(lookup(set, "{\"n\": 2}", 0));
	cr_assert_eq(received_count(), 5);
	free(lookup(set, "{\"n\": 1}", 0));
	cr_assert_eq(received_count(), 6);
	cr_assert_eq(conn_set_health(set, health, sizeof(health)), 0);
	cr_assert(strstr(health, "\"lookups\": 6, \"lookup_cache_hits\": 2, \"cached_answers\": 2,"),
	          "%s", health);
	conn_set_close(set);
}

Test(backoffice, lookup_timeout_is_reported)
{
	int port = peer_start();
	struct conn_set *set = open_contract(port, "/lookup-slow/3000", 300, 300, 16);
	char *answer = (char *)1;
	struct conn_error err = {0};
	double start = now_s();
	cr_assert_eq(conn_backoffice_lookup(&answer, conn_set_state(set, "backoffice"), "padro",
	                                    "{}", 0, &err), CONN_BO_ETIMEOUT);
	cr_assert(now_s() - start < 2.0);
	cr_assert_null(answer);
	char want[200];
	snprintf(want, sizeof(want), "lookup 'padro': http://127.0.0.1:%d/lookup-slow/3000 did not "
	         "answer within 300 ms", port);
	cr_assert_str_eq(err.msg, want);
	/* The caller may shorten the contract's timeout for one call. */
	cr_assert_eq(conn_backoffice_lookup(&answer, conn_set_state(set, "backoffice"), "padro",
	                                    "{}", 100, &err), CONN_BO_ETIMEOUT);
	snprintf(want, sizeof(want), "lookup 'padro': http://127.0.0.1:%d/lookup-slow/3000 did not "
	         "answer within 100 ms", port);
	cr_assert_str_eq(err.msg, want);
	conn_set_close(set);
}

Test(backoffice, lookup_failures_are_reported_and_not_cached)
{
	int port = peer_start();
	struct conn_set *set = open_contract(port, "/status/500", 5000, 300, 16);
	struct conn_backoffice *b = conn_set_state(set, "backoffice");
	char *answer = NULL;
	struct conn_error err = {0};
	char want[200];
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(conn_backoffice_lookup(&answer, b, "padro", "{}", 0, &err), CONN_EUNAVAILABLE);
		snprintf(want, sizeof(want), "lookup 'padro': http://127.0.0.1:%d/status/500 answered "
		         "500: peer says 500", port);
		cr_assert_str_eq(err.msg, want);
	}
	cr_assert_eq(received_count(), 2);
	cr_assert_eq(conn_backoffice_lookup(&answer, b, "cadastre", "{}", 0, &err), CONN_BO_EUNKNOWN);
	cr_assert_str_eq(err.msg, "lookup 'cadastre': no such contract in backoffice.contracts");
	cr_assert_eq(conn_backoffice_lookup(&answer, b, "padro", "[1]", 0, &err), CONN_EINVALID);
	cr_assert_str_eq(err.msg, "lookup 'padro': params: expected a JSON object");
	cr_assert_eq(conn_backoffice_lookup(&answer, NULL, "padro", "{}", 0, &err), CONN_BO_EUNKNOWN);
	cr_assert_str_eq(err.msg, "lookup 'padro': the backoffice connector is not configured");
	conn_set_close(set);
	set = open_contract(port, "/hook", 5000, 300, 16);
	cr_assert_eq(conn_backoffice_lookup(&answer, conn_set_state(set, "backoffice"), "padro", "{}",
	                                    0, &err), CONN_EUNAVAILABLE);
	snprintf(want, sizeof(want), "lookup 'padro': http://127.0.0.1:%d/hook answered 204", port);
	cr_assert_str_eq(err.msg, want);
	conn_set_close(set);
	int down = port_nobody();
	set = open_contract(down, "/lookup/padro", 5000, 300, 16);
	cr_assert_eq(conn_backoffice_lookup(&answer, conn_set_state(set, "backoffice"), "padro", "{}",
	                                    0, &err), CONN_EUNAVAILABLE);
	snprintf(want, sizeof(want), "lookup 'padro': http://127.0.0.1:%d/lookup/padro: Failed to "
	         "connect to 127.0.0.1 port %d", down, down);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	cr_assert_null(answer);
	conn_set_close(set);
}
