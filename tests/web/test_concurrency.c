/* Two servers on one database, 20 citizens submitting at once: registry numbers 1..20 with
 * no gap and no repeat, each submission answered once and stored once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"

enum { N = 20 };

static struct eng_pgcluster cluster;
static int ports[2];

struct client {
	int i;
	long status;
	char registry[64];
	char body[512];
};

static void *submit(void *payload)
{
	struct client *w = payload;
	struct http_client *c = http_client_new(ports[w->i % 2], "ca");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=citizen&next=/tramits/GEN-001/new", tok);
	free(tok);
	http_post_form(c, "/login", body, &r);
	http_response_free(&r);
	http_get(c, "/tramits/GEN-001/new", &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char json[512];
	snprintf(json, sizeof(json), "{\"form\": {\"assumpte\": \"Sol·licitud %d\", \"exposa\": \"Fets\", "
	         "\"solicita\": \"Petició\", \"idioma\": \"ca\"}}", w->i);
	http_post_json(c, "/api/v1/tramits/GEN-001/expedients", json, csrf, &r);
	w->status = r.status;
	char *reg = http_extract(r.body, "\"registry\":{\"number\":\"", '"');
	snprintf(w->registry, sizeof(w->registry), "%s", reg ? reg : "");
	snprintf(w->body, sizeof(w->body), "%s", r.body);
	free(reg);
	free(csrf);
	http_response_free(&r);
	http_client_free(c);
	return NULL;
}

Test(concurrency, twenty_submissions_through_two_servers_get_numbers_1_to_20, .timeout = 180)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	static char env_db[1200], env_dir[600], env_port[2][32], log[2][700];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	pid_t pids[2];
	for (int s = 0; s < 2; s++) {
		ports[s] = http_free_port();
		snprintf(env_port[s], sizeof(env_port[s]), "PORT=%d", ports[s]);
		snprintf(log[s], sizeof(log[s]), "%s/server%d.log", cluster.dir, s);
		const char *env[] = {env_db, env_port[s], env_dir, NULL};
		const char *args[] = {"serve", "--demo", NULL};
		pids[s] = tramit_start(args, env, ports[s], log[s]);
	}
	pthread_t th[N];
	struct client w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct client){.i = i};
		pthread_create(&th[i], NULL, submit, &w[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	int seen[N + 1] = {0};
	for (int i = 0; i < N; i++) {
		cr_expect_eq(w[i].status, 201, "client %d: %ld %s", i, w[i].status, w[i].body);
		int year, seq = 0;
		cr_expect_eq(sscanf(w[i].registry, "E/%d/%d", &year, &seq), 2, "client %d: %s", i, w[i].registry);
		if (seq >= 1 && seq <= N) {
			cr_expect_eq(seen[seq], 0, "number %d given twice", seq);
			seen[seq]++;
		} else {
			cr_expect_fail("number %d outside 1..%d", seq, N);
		}
	}
	PGconn *conn = pgtmp_connect(&cluster);
	PGresult *r = PQexec(conn, "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM registry_entry");
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "20");
	cr_expect_str_eq(PQgetvalue(r, 0, 1), "1");
	cr_expect_str_eq(PQgetvalue(r, 0, 2), "20");
	cr_expect_str_eq(PQgetvalue(r, 0, 3), "20");
	PQclear(r);
	r = PQexec(conn, "SELECT count(*) FROM expedient WHERE state = 'submitted'");
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "20");
	PQclear(r);
	PQfinish(conn);
	for (int s = 0; s < 2; s++)
		cr_expect_eq(tramit_stop(pids[s], SIGTERM), 0);
	pgtmp_stop(&cluster);
}
