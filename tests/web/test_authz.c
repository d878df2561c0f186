/* The authorisation matrix: every principal (nobody, two citizens, an employee who holds the
 * role the tràmit needs, one who holds another role) against every route that reads or moves
 * an expedient, on their own expedient and on someone else's. Each cell says allowed or
 * denied; a denial must answer without a 2xx, must not show the expedient's subject, and must
 * change nothing. Removing any ownership or role check turns a cell's denial into an access
 * and fails the test. Principals are named by a trusted reverse-proxy header, so any NIF can
 * sign in. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static PGconn *conn;
static pid_t server;
static int port;

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	port = http_free_port();
	char log_path[700];
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[600];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	const char *env[] = {env_db, env_port, env_dir, "TRAMIT_TRUSTED_HEADER=X-Remote-User",
	                     "TRAMIT_TRUSTED_PROXY=127.0.0.1", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
	/* An employee of the same entity who holds a role GEN-001 does not use. */
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s employee add "
	                       "clara --name 'Clara Padró' --role padro@padro 2>&1", cluster.conninfo,
	                       TRAMIT_BINARY), 0, "%s", out);
	free(out);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0);
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(authz, .init = setup, .fini = teardown, .timeout = 180);

enum who { ANON, CITIZEN_A, CITIZEN_B, EMPLOYEE, OTHER_ROLE, N_WHO };
static const char *const who_name[] = {"nobody", "citizen A", "citizen B", "employee (tramitador)",
                                        "employee (padró only)"};
static const char *const who_header[] = {NULL, "X-Remote-User: 12345678Z", "X-Remote-User: 00000000T",
                                         "X-Remote-User: employee:demo.empleat",
                                         "X-Remote-User: employee:clara"};

struct principal {
	struct http_client *http;
	char *csrf; /* the session's token; "none" for nobody */
};

static struct principal sign_in(enum who w)
{
	struct principal p = {.http = http_client_new(port, "ca")};
	http_client_header(p.http, who_header[w]);
	struct http_response r;
	const char *page = w == EMPLOYEE || w == OTHER_ROLE ? "/backoffice" : "/tramits/GEN-001/new";
	http_get(p.http, page, &r);
	p.csrf = w == ANON ? strdup("none") : http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(p.csrf, "%s has no session on %s (%ld)", who_name[w], page, r.status);
	http_response_free(&r);
	return p;
}

/* A citizen files GEN-001 with a subject nobody else may read; returns the id. */
static char *file_as(struct principal *p, const char *subject)
{
	char body[400];
	snprintf(body, sizeof(body), "{\"form\": {\"assumpte\": \"%s\", \"exposa\": \"Fets\", "
	         "\"solicita\": \"Petició\", \"idioma\": \"ca\"}}", subject);
	struct http_response r;
	http_post_json(p->http, "/api/v1/tramits/GEN-001/expedients", body, p->csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	return id;
}

static char *version_of(const char *id)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT state || ' ' || version FROM expedient WHERE id = '%s'", id);
	PGresult *r = PQexec(conn, sql);
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

enum route { PAGE_CARPETA, PAGE_BACKOFFICE, PAGE_ACTION, API_GET, API_ACTION, N_ROUTES };
static const char *const route_name[] = {"GET /carpeta/expedients/{id}", "GET /backoffice/expedients/{id}",
                                         "POST /backoffice/expedients/{id}/actions/resolve",
                                         "GET /api/v1/expedients/{id}",
                                         "POST /api/v1/expedients/{id}/actions/resolve"};

static void request(struct principal *p, enum route route, const char *id, struct http_response *r)
{
	char path[200], form[200];
	switch (route) {
	case PAGE_CARPETA:
		snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
		return http_get(p->http, path, r);
	case PAGE_BACKOFFICE:
		snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
		return http_get(p->http, path, r);
	case PAGE_ACTION:
		snprintf(path, sizeof(path), "/backoffice/expedients/%s/actions/resolve", id);
		snprintf(form, sizeof(form), "csrf=%s&version=1", p->csrf);
		return http_post_form(p->http, path, form, r);
	case API_GET:
		snprintf(path, sizeof(path), "/api/v1/expedients/%s", id);
		return http_get(p->http, path, r);
	case API_ACTION:
	default:
		snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/resolve", id);
		return http_post_json(p->http, path, "{}", p->csrf, r);
	}
}

/* Who may use each route on A's expedient (the owner is citizen A). Citizen B's rows mirror
 * A's on B's own expedient. */
static bool allowed(enum route route, enum who w, bool own)
{
	switch (route) {
	case PAGE_CARPETA:
		return (w == CITIZEN_A || w == CITIZEN_B) && own;
	case PAGE_BACKOFFICE:
		return w == EMPLOYEE || w == OTHER_ROLE;
	case API_GET:
		return ((w == CITIZEN_A || w == CITIZEN_B) && own) || w == EMPLOYEE || w == OTHER_ROLE;
	case PAGE_ACTION:
	case API_ACTION:
	default:
		return w == EMPLOYEE;
	}
}

Test(authz, every_principal_route_and_ownership)
{
	struct principal ps[N_WHO];
	for (int w = 0; w < N_WHO; w++)
		ps[w] = sign_in((enum who)w);
	const char *subject[2] = {"Secret de la ciutadana A", "Secret del ciutada B"};
	char *ids[2] = {file_as(&ps[CITIZEN_A], subject[0]), file_as(&ps[CITIZEN_B], subject[1])};
	int cells = 0, denials = 0;
	/* Reads first, then the actions of everyone who may not take them; the allowed actions
	 * last (they move the expedient). */
	for (int pass = 0; pass < 2; pass++) {
		for (int route = 0; route < N_ROUTES; route++) {
			bool action = route == PAGE_ACTION || route == API_ACTION;
			for (int w = 0; w < N_WHO; w++) {
				for (int x = 0; x < 2; x++) {
					bool own = (w == CITIZEN_A && x == 0) || (w == CITIZEN_B && x == 1);
					bool ok = allowed((enum route)route, (enum who)w, own);
					if ((pass == 1) != (action && ok))
						continue;
					/* One allowed action per expedient: the page resolves A's, the API B's. */
					if (pass == 1 && (route == PAGE_ACTION) != (x == 0))
						continue;
					char *before = version_of(ids[x]);
					struct http_response r;
					request(&ps[w], (enum route)route, ids[x], &r);
					char *after = version_of(ids[x]);
					bool granted = r.status >= 200 && r.status < 300;
					if (route == PAGE_ACTION && r.status == 303)
						granted = strstr(r.location, "/login") == NULL;
					cells++;
					if (ok) {
						cr_expect(granted, "%s on %s's expedient via %s: expected access, got %ld",
						          who_name[w], x ? "B" : "A", route_name[route], r.status);
						if (action)
							cr_expect_str_neq(after, before, "%s moved nothing", route_name[route]);
					} else {
						denials++;
						cr_expect(!granted, "%s on %s's expedient via %s: expected a denial, got %ld",
						          who_name[w], x ? "B" : "A", route_name[route], r.status);
						cr_expect(strstr(r.body, subject[x]) == NULL, "%s saw %s's subject via %s",
						          who_name[w], x ? "B" : "A", route_name[route]);
						cr_expect_str_eq(after, before, "%s changed %s's expedient via %s",
						                 who_name[w], x ? "B" : "A", route_name[route]);
					}
					free(before);
					free(after);
					http_response_free(&r);
				}
			}
		}
	}
	/* 50 cells less the two allowed actions not taken (an expedient resolves once). */
	cr_expect_eq(cells, 48, "cells tried");
	cr_expect_eq(denials, 34, "denials in the matrix");

	/* Lists: each citizen's folder shows only their own; citizens get no back office. */
	struct http_response r;
	http_get(ps[CITIZEN_A].http, "/carpeta", &r);
	cr_expect(strstr(r.body, subject[0]) || strstr(r.body, ids[0]), "A's folder lists A's expedient");
	cr_expect(!strstr(r.body, subject[1]) && !strstr(r.body, ids[1]), "A's folder lists B's expedient");
	http_response_free(&r);
	for (int w = CITIZEN_A; w <= CITIZEN_B; w++) {
		http_get(ps[w].http, "/backoffice", &r);
		cr_expect_eq(r.status, 403, "%s got %ld from /backoffice", who_name[w], r.status);
		http_response_free(&r);
	}
	http_get(ps[ANON].http, "/backoffice", &r);
	cr_expect_eq(r.status, 303);
	cr_expect_str_eq(r.location, "/login?next=%2Fbackoffice");
	http_response_free(&r);
	for (int w = 0; w < N_WHO; w++) {
		http_client_free(ps[w].http);
		free(ps[w].csrf);
	}
	free(ids[0]);
	free(ids[1]);
}
