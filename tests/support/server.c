/* The web tests' fixture (server.h). */
#include "server.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"

enum { MAX_ENV = 16 };

const struct test_server_options test_server_behind_proxy = {
	.env = (const char *const[]){"TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=127.0.0.1",
	                             NULL},
};

void test_server_start(struct test_server *t, const struct test_server_options *opt)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&t->cluster, &err), 0, "%s", err.msg);
	t->conn = pgtmp_connect(&t->cluster);
	t->port = http_free_port();
	snprintf(t->log_path, sizeof(t->log_path), "%s/server.log", t->cluster.dir);
	/* tramit_start copies nothing: the strings live as long as the process's environment
	 * needs them, which is until the server has started. */
	static char env_db[1200], env_port[32], env_dir[700];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", t->cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", t->port);
	if (opt && opt->tramits_dir)
		snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s", opt->tramits_dir);
	else
		snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	const char *env[MAX_ENV + 4] = {env_db, env_port, env_dir};
	size_t n = 3;
	for (const char *const *e = opt ? opt->env : NULL; e && *e; e++) {
		cr_assert_lt(n, (size_t)MAX_ENV + 3, "test_server_start: more than %d variables", MAX_ENV);
		env[n++] = *e;
	}
	env[n] = NULL;
	const char *args[] = {"serve", "--demo", NULL};
	t->pid = tramit_start(args, env, t->port, t->log_path);
}

void test_server_stop(struct test_server *t)
{
	if (t->pid > 0)
		cr_expect_eq(tramit_stop(t->pid, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	t->pid = 0;
	PQfinish(t->conn);
	t->conn = NULL;
	pgtmp_stop(&t->cluster);
}
