/* Back-office callbacks through the real server: a subscriber with "callbacks": true moves an
 * expedient by a signed POST to /api/v1/callbacks/{subscriber}. The signatures are made by
 * backoffice_peer.py (Python's hmac), not by our code. Replays, forgeries, unknown
 * subscribers and actions outside the subscriber's list are refused with their reasons. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define PEER "/usr/bin/python3 " TRAMIT_SOURCE_DIR "/tests/connectors/backoffice_peer.py"
#define SECRET "callback-secret-0123456789"

static struct eng_pgcluster cluster;
static int port;
static pid_t server;

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	/* GEN-001 as the catalogue has it, plus an action the system takes. */
	shell_tramit_variant(cluster.dir, "general/instancia-general.lua", "action \"reject\" {",
	                     "action \"confirm\" { label = { ca = \"Confirmar\", es = \"Confirmar\" }, "
	                     "by = system, to = \"resolved\" },\n\t\t\taction \"reject\" {");
	static char env_db[1200], env_dir[800], env_port[32], env_conn[800], config[700], log[700];
	snprintf(config, sizeof(config), "%s/connectors.json", cluster.dir);
	FILE *f = fopen(config, "w");
	fprintf(f, "{\"backoffice\": {\"subscribers\": [{\"name\": \"tax\", \"url\": \"http://127.0.0.1:9/none\", "
	        "\"secret\": \"%s\", \"events\": [\"never\"], \"callbacks\": true, \"actions\": [\"confirm\"]}]}}",
	        SECRET);
	fclose(f);
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", config);
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", cluster.dir);
	port = http_free_port();
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, env_conn,
	                     "TRAMIT_CALENDARS_DIR=" TRAMIT_SOURCE_DIR "/tramits/calendars", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log);
}

static void teardown(void)
{
	tramit_stop(server, SIGTERM);
	pgtmp_stop(&cluster);
}

TestSuite(callbacks, .init = setup, .fini = teardown, .timeout = 120);

/* A citizen files GEN-001; returns the expedient id (malloc'd). */
static char *file_one(void)
{
	return http_citizen_files(port, "GEN-001", "{\"form\": {\"assumpte\": \"Deute\", "
	                          "\"exposa\": \"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
}

/* The signature a back-office system would send, computed by the Python peer. */
static void sign(const char *ts, const char *body, const char *secret, char out[128])
{
	char path[700], cmd[1600];
	snprintf(path, sizeof(path), "%s/body", cluster.dir);
	FILE *f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), PEER " sign '%s' %s %s", secret, ts, path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(fgets(out, 128, p));
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

static size_t gather(char *data, size_t size, size_t n, void *payload)
{
	fwrite(data, size, n, payload);
	return size * n;
}

/* POSTs a callback for `subscriber`; answers the status, the body in *body (malloc'd). */
static long callback(const char *subscriber, const char *delivery, const char *json,
                     const char *secret, char **body)
{
	char ts[24], sig[128], url[200], h[3][200];
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	sign(ts, json, secret, sig);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/callbacks/%s", port, subscriber);
	snprintf(h[0], sizeof(h[0]), "X-Tramit-Timestamp: %s", ts);
	snprintf(h[1], sizeof(h[1]), "X-Tramit-Delivery: %s", delivery);
	snprintf(h[2], sizeof(h[2]), "X-Tramit-Signature: %s", sig);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (int i = 0; i < 3; i++)
		headers = curl_slist_append(headers, h[i]);
	size_t len = 0;
	FILE *out = open_memstream(body, &len);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	fclose(out);
	return status;
}

Test(callbacks, a_signed_callback_moves_the_expedient_once)
{
	char *id = file_one(), json[400], *body;
	snprintf(json, sizeof(json), "{\"delivery\": \"tax-1\", \"expedient\": \"%s\", \"action\": \"confirm\"}", id);
	cr_assert_eq(callback("tax", "tax-1", json, SECRET, &body), 200, "%s", body);
	cr_expect(strstr(body, "\"state\":\"resolved\"") && strstr(body, "\"version\":2"), "%s", body);
	free(body);
	/* The same delivery again: refused, nothing changes. */
	cr_expect_eq(callback("tax", "tax-1", json, SECRET, &body), 409);
	cr_expect_str_eq(body, "{\"code\":\"replay\",\"error\":\"delivery 'tax-1' from subscriber 'tax' was already received: "
	                       "a replay is refused\",\"message\":{\"ca\":\"Aquesta entrega ja s'havia rebut.\",\"es\":\"Esta entrega ya se había recibido.\"}}");
	free(body);
	PGconn *db = pgtmp_connect(&cluster);
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT actor_kind || ' ' || actor_id || ' ' || action FROM event "
	         "WHERE expedient_id = '%s' AND seq = 2", id);
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQntuples(r), 1);
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "system backoffice:tax confirm");
	PQclear(r);
	r = PQexec(db, "SELECT count(*) FROM event WHERE seq > 2");
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(db);
	free(id);
}

Test(callbacks, forged_unknown_and_unlisted_callbacks_are_refused)
{
	char *id = file_one(), json[400], *body;
	snprintf(json, sizeof(json), "{\"delivery\": \"tax-2\", \"expedient\": \"%s\", \"action\": \"confirm\"}", id);
	cr_expect_eq(callback("tax", "tax-2", json, "another-secret-0123456789", &body), 401);
	cr_expect_str_eq(body, "{\"code\":\"unauthenticated\",\"error\":\"X-Tramit-Signature does not match: "
	                       "the body and timestamp were not signed with subscriber 'tax''s secret\",\"message\":"
	                       "{\"ca\":\"Cal identificar-se: inicieu la sessió o signeu la petició.\",\"es\":"
	                       "\"Es necesario identificarse: inicie sesión o firme la petición.\"}}");
	free(body);
	cr_expect_eq(callback("erp", "tax-2", json, SECRET, &body), 404);
	cr_expect_str_eq(body, "{\"code\":\"not_found\",\"error\":\"no subscriber named 'erp' takes callbacks\",\"message\":{\"ca\":\"No existeix o no hi teniu accés.\",\"es\":\"No existe o no tiene acceso.\"}}");
	free(body);
	snprintf(json, sizeof(json), "{\"delivery\": \"tax-3\", \"expedient\": \"%s\", \"action\": \"resolve\"}", id);
	cr_expect_eq(callback("tax", "tax-3", json, SECRET, &body), 401);
	cr_expect_str_eq(body, "{\"code\":\"unauthenticated\",\"error\":\"action 'resolve' is not among the actions subscriber 'tax' "
	                       "may take (its \\\"actions\\\")\",\"message\":{\"ca\":\"Cal identificar-se: inicieu la sessió o signeu la petició.\",\"es\":\"Es necesario identificarse: inicie sesión o firme la petición.\"}}");
	free(body);
	/* Nothing moved: the expedient is as filed, with its one event, and no delivery id was
	 * recorded for the refused ones. */
	PGconn *db = pgtmp_connect(&cluster);
	PGresult *pr = PQexec(db, "SELECT string_agg(state, ',') || ' ' || (SELECT count(*) FROM event) || ' ' "
	                          "|| (SELECT count(*) FROM callback_seen) FROM expedient");
	cr_expect_str_eq(PQgetvalue(pr, 0, 0), "submitted 1 0");
	PQclear(pr);
	PQfinish(db);
	free(id);
}
