/* Nothing lost, nothing repeated: 8 clients file applications through the API without pause
 * while the test kills the server with SIGKILL at random moments (restarting it each time)
 * and once crashes PostgreSQL itself (immediate shutdown). Each client retries with the same
 * Idempotency-Key until it gets an answer. Every filing also tells the back office (an
 * effect delivered through the outbox to a real HTTP subscriber, backoffice_peer.py).
 * Afterwards every acknowledged submission exists exactly once, registry numbers have no gap
 * and no repeat and follow time, every effect was delivered at least once and its result
 * applied once, and every hash chain verifies. The test prints its counts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

enum { CLIENTS = 8, MAX_ACKS = 20000 };

#define PYTHON "/usr/bin/python3"
#define PEER TRAMIT_SOURCE_DIR "/tests/connectors/backoffice_peer.py"
#define SECRET "fault-test-secret-0123456789"

static struct eng_pgcluster cluster;
static atomic_int port;
static atomic_bool stop;
static atomic_int acks, retries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char (*acked_keys)[40];
static char (*acked_ids)[40];

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

/* Signs in and reads the session's CSRF token; retries while the server is down. */
static char *sign_in(struct http_client **c)
{
	for (;;) {
		http_client_free(*c);
		*c = http_client_new(atomic_load(&port), "ca");
		struct http_response r;
		if (http_try_get(*c, "/login", &r) != 0 || r.status != 200) {
			http_response_free(&r);
			sleep_ms(50);
			continue;
		}
		char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
		http_response_free(&r);
		char body[256];
		snprintf(body, sizeof(body), "csrf=%s&who=citizen&next=/tramits/GEN-001/new", tok ? tok : "");
		free(tok);
		if (http_try_post_form(*c, "/login", body, &r) != 0 || r.status != 303) {
			http_response_free(&r);
			sleep_ms(50);
			continue;
		}
		http_response_free(&r);
		if (http_try_get(*c, "/tramits/GEN-001/new", &r) != 0 || r.status != 200) {
			http_response_free(&r);
			sleep_ms(50);
			continue;
		}
		char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
		http_response_free(&r);
		if (csrf)
			return csrf;
	}
}

static void *client(void *payload)
{
	int me = (int)(intptr_t)payload;
	struct http_client *c = NULL;
	char *csrf = sign_in(&c);
	for (int n = 0; !atomic_load(&stop); n++) {
		char key[40], json[256];
		snprintf(key, sizeof(key), "client%d-submission%06d", me, n);
		snprintf(json, sizeof(json), "{\"form\": {\"assumpte\": \"%s\", \"exposa\": \"Fets\", "
		         "\"solicita\": \"Petició\", \"idioma\": \"ca\"}}", key);
		/* Until the answer arrives: a killed server, a restarting database or a lost answer
		 * are all retried with the same key. Stopping mid-way leaves it unacknowledged. */
		while (!atomic_load(&stop)) {
			struct http_response r;
			int rc = http_try_post_json_key(c, "/api/v1/tramits/GEN-001/expedients", json, csrf, key, &r);
			if (rc == 0 && r.status == 201) {
				char *id = http_extract(r.body, "\"id\":\"", '"');
				pthread_mutex_lock(&lock);
				int i = atomic_fetch_add(&acks, 1);
				if (i < MAX_ACKS) {
					snprintf(acked_keys[i], 40, "%s", key);
					snprintf(acked_ids[i], 40, "%s", id ? id : "");
				}
				pthread_mutex_unlock(&lock);
				free(id);
				http_response_free(&r);
				break;
			}
			atomic_fetch_add(&retries, 1);
			/* A restarted server listens on the same port and curl reconnects by itself; the
			 * session lives in the database, so it survives the server. */
			http_response_free(&r);
			if (rc == 0 && (r.status == 401 || r.status == 403)) {
				free(csrf);
				csrf = sign_in(&c);
			}
			sleep_ms(20);
		}
	}
	free(csrf);
	http_client_free(c);
	return NULL;
}

static PGconn *conn;

/* What the subscriber received: deliveries in all, distinct delivery ids, bad signatures. */
static void peer_count(const char *dir, int *all, int *distinct, int *forged)
{
	char inbox[700];
	snprintf(inbox, sizeof(inbox), "%s/inbox", dir);
	DIR *d = opendir(inbox);
	cr_assert_not_null(d);
	json_t *seen = json_object();
	*all = *forged = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".json") || strstr(e->d_name, ".tmp"))
			continue;
		char path[1000];
		snprintf(path, sizeof(path), "%s/%s", inbox, e->d_name);
		json_t *doc = json_load_file(path, 0, NULL);
		cr_assert_not_null(doc, "%s", path);
		const char *id = json_string_value(json_object_get(json_object_get(doc, "headers"),
		                                                   "X-Tramit-Delivery"));
		cr_assert_not_null(id, "%s has no X-Tramit-Delivery", path);
		json_object_set_new(seen, id, json_true());
		(*all)++;
		*forged += !json_is_true(json_object_get(doc, "signature_valid"));
		json_decref(doc);
	}
	closedir(d);
	*distinct = (int)json_object_size(seen);
	json_decref(seen);
}

static long long count(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

Test(fault, acknowledged_submissions_survive_kill_9_of_server_and_database, .timeout = 300)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	acked_keys = calloc(MAX_ACKS, 40);
	acked_ids = calloc(MAX_ACKS, 40);
	static char env_db[1200], env_dir[800], env_port[32], log[700], env_conn[800], config[700];
	/* The subscriber records every request in cluster.dir/inbox. */
	char inbox[700], ready[700];
	snprintf(inbox, sizeof(inbox), "%s/inbox", cluster.dir);
	snprintf(ready, sizeof(ready), "%s/ready", cluster.dir);
	mkdir(inbox, 0755);
	int peer_port;
	const char *peer_argv[] = {PYTHON, PEER, inbox, ready, SECRET, NULL};
	pid_t peer = shell_peer_start(peer_argv, ready, &peer_port);
	/* GEN-001 as the catalogue has it, plus a back-office call on filing. */
	shell_tramit_variant(cluster.dir, "general/instancia-general.lua", "register = \"in\", receipt = true,",
	                     "register = \"in\", receipt = true, backoffice = \"expedient_created\",");
	snprintf(config, sizeof(config), "%s/connectors.json", cluster.dir);
	FILE *cf = fopen(config, "w");
	fprintf(cf, "{\"backoffice\": {\"subscribers\": [{\"name\": \"registre\", \"url\": "
	        "\"http://127.0.0.1:%d/hook\", \"secret\": \"%s\", \"events\": [\"expedient_created\"], "
	        "\"timeout_ms\": 2000}]}}", peer_port, SECRET);
	fclose(cf);
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", config);
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", cluster.dir);
	atomic_store(&port, http_free_port());
	snprintf(env_port, sizeof(env_port), "PORT=%d", atomic_load(&port));
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	/* A delivery claimed by a killed server is taken over after 3 s. */
	const char *env[] = {env_db, env_port, env_dir, env_conn, "TRAMIT_LEASE_SECONDS=3",
	                     "TRAMIT_CALENDARS_DIR=" TRAMIT_SOURCE_DIR "/tramits/calendars", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	pid_t server = tramit_start(args, env, atomic_load(&port), log);

	pthread_t th[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);

	/* A fixed number of crashes at random moments, however slow the machine (sanitizer
	 * builds start the server slowly): six server kills, and PostgreSQL crashed after the
	 * third. */
	enum { KILLS = 6 };
	unsigned seed = (unsigned)time(NULL);
	int kills = 0;
	bool db_crashed = false;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (kills < KILLS) {
		sleep_ms(300 + rand_r(&seed) % 1000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert(t.tv_sec - t0.tv_sec < 180, "only %d kills in 3 minutes", kills);
		if (!db_crashed && kills == 3) {
			cr_assert_eq(eng_pgcluster_restart(&cluster, true, &err), 0, "%s", err.msg);
			db_crashed = true;
			continue;
		}
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		kills++;
		server = tramit_start(args, env, atomic_load(&port), log);
	}
	/* Let every client finish the submission it has in hand. */
	sleep_ms(1500);
	atomic_store(&stop, true);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	/* The last server delivers what is still in the outbox (claims of killed servers after
	 * their lease). */
	conn = pgtmp_connect(&cluster);
	for (int i = 0; i < 600 && count("SELECT count(*) FROM outbox WHERE state <> 'done'") > 0; i++)
		sleep_ms(100);
	cr_expect_eq(tramit_stop(server, SIGTERM), 0);
	kill(peer, SIGTERM);
	waitpid(peer, NULL, 0);

	int n = atomic_load(&acks);
	cr_assert(n > 0 && n < MAX_ACKS, "%d acknowledged", n);
	long long stored = count("SELECT count(*) FROM expedient");
	printf("fault: %d submissions acknowledged, %d retries, %d server kills, PostgreSQL crashed %s; "
	       "%lld expedients stored\n", n, atomic_load(&retries), kills, db_crashed ? "once" : "never", stored);
	/* Every acknowledged submission exactly once: one expedient per key, with the id answered. */
	for (int i = 0; i < n; i++) {
		char sql[400];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM expedient WHERE data->>'assumpte' = '%s' "
		         "AND id::text = '%s'", acked_keys[i], acked_ids[i]);
		cr_expect_eq(count(sql), 1, "acknowledged %s (%s) is not stored exactly once", acked_keys[i], acked_ids[i]);
	}
	cr_expect_eq(count("SELECT count(*) FROM (SELECT data->>'assumpte' FROM expedient GROUP BY 1 "
	                   "HAVING count(*) > 1) d"), 0, "no submission stored twice");
	/* Stored but unacknowledged ones can exist only for the submissions in hand at the stop. */
	cr_expect(stored >= n && stored <= n + CLIENTS, "%lld stored for %d acknowledged", stored, n);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry"), stored);
	cr_expect_eq(count("SELECT max(seq) FROM registry_entry"), stored, "no gap");
	cr_expect_eq(count("SELECT count(DISTINCT seq) FROM registry_entry"), stored, "no repeat");
	cr_expect_eq(count("SELECT count(*) FROM (SELECT presented_at < lag(presented_at) OVER (ORDER BY seq) "
	                   "AS back FROM registry_entry) t WHERE back"), 0, "numbers follow time");
	/* Effects: one per filing, each delivered at least once (a kill between the subscriber's
	 * answer and our commit delivers it again, with the same X-Tramit-Delivery), and each
	 * result applied once: one result event per outbox row. */
	int all, distinct, forged;
	peer_count(cluster.dir, &all, &distinct, &forged);
	printf("fault: %lld effects, %d deliveries received (%d distinct, %d repeated)\n",
	       count("SELECT count(*) FROM outbox"), all, distinct, all - distinct);
	cr_expect_eq(count("SELECT count(*) FROM outbox"), stored, "one back-office effect per filing");
	cr_expect_eq(count("SELECT count(*) FROM outbox WHERE state = 'done'"), stored, "every effect done");
	cr_expect_eq(distinct, stored, "every effect delivered");
	cr_expect_eq(forged, 0, "every delivery signed");
	cr_expect_eq(count("SELECT count(*) FROM event WHERE kind = 'result'"), stored, "each result applied once");
	cr_expect_eq(count("SELECT count(DISTINCT payload->>'result') FROM event WHERE kind = 'result'"), 1);
	PQfinish(conn);

	char cmd[1600], out[512];
	snprintf(cmd, sizeof(cmd), "TRAMIT_DATABASE_URL='%s' %s audit verify 2>&1", cluster.conninfo, TRAMIT_BINARY);
	FILE *p = popen(cmd, "r");
	size_t got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	cr_expect_eq(WEXITSTATUS(pclose(p)), 0, "%s", out);
	cr_expect(strstr(out, "every hash chain verifies") != NULL, "%s", out);
	free(acked_keys);
	free(acked_ids);
	pgtmp_stop(&cluster);
}
