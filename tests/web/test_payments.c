/* A card payment end to end, with a real gateway peer (redsys_peer.py, which checks our
 * signatures with its own code): a citizen files VIA-001, whose fee becomes a payment order
 * (the redsys connector, from the outbox); the citizen's browser posts the signed form to the
 * gateway; the gateway notifies our server, which verifies the notification and records the
 * fee as paid on the expedient. A forged notification changes nothing. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
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

static struct eng_pgcluster cluster;
static PGconn *db;

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static char *wait_for(const char *sql)
{
	for (int i = 0; i < 200; i++) {
		char *v = query1(sql);
		if (*v)
			return v;
		free(v);
		sleep_ms(50);
	}
	cr_assert_fail("nothing came for %s", sql);
	return NULL;
}

static size_t gather(char *data, size_t size, size_t n, void *payload)
{
	fwrite(data, size, n, payload);
	return size * n;
}

/* POSTs a form; answers the status and the body (malloc'd). */
static long post_form(const char *url, const char *form, char **body)
{
	size_t len = 0;
	FILE *out = open_memstream(body, &len);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
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

/* The three signed fields of the payment order, as the browser posts them. */
static char *browser_form(const char *result_json)
{
	json_t *res = json_loads(result_json, 0, NULL), *f = json_object_get(res, "fields");
	cr_assert_not_null(f, "%s", result_json);
	CURL *c = curl_easy_init();
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	const char *names[] = {"Ds_SignatureVersion", "Ds_MerchantParameters", "Ds_Signature"};
	for (int i = 0; i < 3; i++) {
		char *v = curl_easy_escape(c, json_string_value(json_object_get(f, names[i])), 0);
		fprintf(mem, "%s%s=%s", i ? "&" : "", names[i], v);
		curl_free(v);
	}
	fclose(mem);
	curl_easy_cleanup(c);
	json_decref(res);
	return out;
}

Test(payments, a_card_payment_is_recorded_from_the_gateways_signed_notification, .timeout = 120)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	char ready[700];
	snprintf(ready, sizeof(ready), "%s/gateway-ready", cluster.dir);
	int gw, port = http_free_port();
	const char *gateway_argv[] = {PYTHON, GATEWAY, SECRET, ready, NULL};
	pid_t gateway = shell_peer_start(gateway_argv, ready, &gw);
	static char env_db[1200], env_dir[600], env_port[32], env_conn[800], config[700], log[700];
	snprintf(config, sizeof(config), "%s/connectors.json", cluster.dir);
	FILE *f = fopen(config, "w");
	fprintf(f, "{\"redsys\": {\"merchant_code\": \"999008881\", \"terminal\": \"1\", \"secret_key\": \"%s\", "
	        "\"gateway_url\": \"http://127.0.0.1:%d/sis/realizarPago\", "
	        "\"merchant_url\": \"http://127.0.0.1:%d/api/v1/payments/redsys/notification\", "
	        "\"url_ok\": \"http://127.0.0.1:%d/carpeta\", \"url_ko\": \"http://127.0.0.1:%d/carpeta\", "
	        "\"query_url\": \"http://127.0.0.1:%d/sis/rest/consulta\", \"timeout_s\": 5}}",
	        SECRET, gw, port, port, port, gw);
	fclose(f);
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", config);
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, env_conn, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	pid_t server = tramit_start(args, env, port, log);
	db = pgtmp_connect(&cluster);

	char *id = http_citizen_files(port, "VIA-001", "{\"form\": {\"establiment\": \"Bar Demo\", "
	                              "\"adreca\": \"Plaça Major 3, 46001 València\", \"m2\": \"12\", "
	                              "\"temporada\": \"anual\"}}");
	char sql[400], url[200], *body;
	/* The fee became a payment order: the connector's answer holds the form to sign. */
	snprintf(sql, sizeof(sql), "SELECT result::text FROM outbox WHERE expedient_id = '%s' AND "
	         "kind = 'payment' AND state = 'done'", id);
	char *result = wait_for(sql);
	char *form = browser_form(result);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/sis/realizarPago", gw);
	cr_assert_eq(post_form(url, form, &body), 200, "%s", body);
	cr_expect(strstr(body, "response 0000") != NULL, "%s", body);
	free(body);
	/* The gateway's notification, verified, makes the fee paid. */
	snprintf(sql, sizeof(sql), "SELECT vars->>'paid.taxa' FROM expedient WHERE id = '%s' AND "
	         "vars->>'paid.taxa' = 'yes'", id);
	free(wait_for(sql));
	snprintf(sql, sizeof(sql), "SELECT actor_id || ' ' || action || ' ' || (payload->>'outcome') || ' ' || "
	         "(payload->'result'->>'amount_cents') FROM event WHERE expedient_id = '%s' AND kind = 'result' "
	         "AND payload->>'outcome' = 'paid'", id);
	char *paid = query1(sql);
	cr_expect_str_eq(paid, "redsys payment:taxa paid 18000");
	free(paid);

	/* A notification with a signature that is not the gateway's: refused, nothing recorded. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/payments/redsys/notification", port);
	json_t *res = json_loads(result, 0, NULL);
	char forged[600];
	snprintf(forged, sizeof(forged), "{\"Ds_Order\":\"%s\",\"Ds_Amount\":\"18000\",\"Ds_Currency\":\"978\","
	         "\"Ds_Response\":\"0000\",\"Ds_MerchantCode\":\"999008881\",\"Ds_Terminal\":\"001\","
	         "\"Ds_TransactionType\":\"0\"}", json_string_value(json_object_get(res, "order")));
	json_decref(res);
	char cmd[900], b64[900] = "";
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | base64 -w0", forged);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(fgets(b64, sizeof(b64), p));
	pclose(p);
	char fake[1200];
	snprintf(fake, sizeof(fake), "Ds_SignatureVersion=HMAC_SHA256_V1&Ds_MerchantParameters=%s"
	         "&Ds_Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%%3D", b64);
	cr_expect_eq(post_form(url, fake, &body), 403, "%s", body);
	free(body);
	snprintf(sql, sizeof(sql), "SELECT count(*)::text FROM event WHERE expedient_id = '%s' AND kind = 'result'", id);
	char *results = query1(sql);
	cr_expect_str_eq(results, "2", "the order and the payment, no more");
	free(results);

	free(form);
	free(result);
	free(id);
	PQfinish(db);
	tramit_stop(server, SIGTERM);
	kill(gateway, SIGTERM);
	waitpid(gateway, NULL, 0);
	pgtmp_stop(&cluster);
}
