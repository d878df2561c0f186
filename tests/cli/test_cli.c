/* The `tramit` command as a designer and an operator use it: check's messages and exit
 * status, serve with its own embedded PostgreSQL (and nothing left running after SIGINT),
 * and db migrate being a no-op the second time. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/shell.h"
#include "tests/support/http.h"

#define FIX TRAMIT_SOURCE_DIR "/tests/fixtures/dsl/"

Test(check, the_catalogue_is_valid)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s check tramits/ 2>&1", TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect_str_eq(out, "4 tràmit files checked, no problems\n");
	free(out);
}

static void expect_check(const char *file, const char *line)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s check tests/fixtures/dsl/%s 2>&1", TRAMIT_SOURCE_DIR,
	             TRAMIT_BINARY, file);
	cr_expect_eq(rc, 1, "%s: exit %d", file, rc);
	char want[1024];
	snprintf(want, sizeof(want), "%s\n1 of 1 tràmit file with problems (1 problem)\n", line);
	cr_expect_str_eq(out, want);
	free(out);
}

Test(check, a_syntax_error_is_reported_with_its_line)
{
	expect_check("syntax_error.lua",
	             "tests/fixtures/dsl/syntax_error.lua:4: '}' expected (to close '{' at line 2) near 'title'");
}

Test(check, an_unknown_field_type_is_reported_with_its_line)
{
	expect_check("unknown_field_type.lua", "tests/fixtures/dsl/unknown_field_type.lua:11: unknown name 'widget'");
}

Test(check, a_transition_to_an_undefined_state_is_reported_with_its_line)
{
	expect_check("undefined_state.lua",
	             "tests/fixtures/dsl/undefined_state.lua:11: action 'submit' moves to undefined state 'submited'");
}

Test(check, os_execute_is_refused_and_runs_nothing)
{
	unlink("/tmp/tramit-sandbox-escaped");
	expect_check("os_execute.lua", "tests/fixtures/dsl/os_execute.lua:2: 'os' is not available in tràmit files");
	cr_expect_neq(access("/tmp/tramit-sandbox-escaped", F_OK), 0);
}

Test(check, a_missing_path_is_an_error)
{
	char *out;
	int rc = shell_run(&out, NULL, "%s check /nonexistent/tramits 2>&1", TRAMIT_BINARY);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(out, "/nonexistent/tramits") != NULL, "%s", out);
	free(out);
}

static bool postmaster_alive(const char *dir)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/pg/data/postmaster.pid", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && kill((pid_t)pid, 0) == 0;
}

Test(serve, runs_its_own_postgres_and_stops_it_on_sigint, .timeout = 180)
{
	char dir[] = "/tmp/tramit-serve-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755); /* the cluster's unprivileged user must reach it when we are root */
	int port = http_free_port();
	char env_var[600], env_port[32], env_dir[600], log[700];
	snprintf(env_var, sizeof(env_var), "TRAMIT_VAR_DIR=%s", dir);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(log, sizeof(log), "%s/serve.log", dir);
	const char *env[] = {env_var, env_port, env_dir, "TRAMIT_DATABASE_URL=", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	pid_t pid = tramit_start(args, env, port, log);
	cr_expect(postmaster_alive(dir), "the embedded PostgreSQL runs under %s/pg", dir);
	/* No TCP port: only the unix socket in var/pg/run. */
	char sock[700];
	snprintf(sock, sizeof(sock), "%s/pg/run", dir);
	DIR *d = opendir(sock);
	cr_expect_not_null(d);
	bool has_socket = false;
	for (struct dirent *e; d && (e = readdir(d));)
		has_socket = has_socket || strncmp(e->d_name, ".s.PGSQL.", 9) == 0;
	if (d)
		closedir(d);
	cr_expect(has_socket);
	struct http_client *c = http_client_new(port, "ca");
	struct http_response r;
	http_get(c, "/", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "Instància general") != NULL);
	http_response_free(&r);
	http_client_free(c);
	cr_expect_eq(tramit_stop(pid, SIGINT), 0, "serve exits 0 on SIGINT; see %s", log);
	cr_expect(!postmaster_alive(dir), "PostgreSQL was stopped with the server");

	/* The same folder again: the cluster is reused and the migrations are not re-applied. */
	char *out;
	int rc = shell_run(&out, NULL, "TRAMIT_VAR_DIR=%s TRAMIT_DATABASE_URL= %s db migrate 2>&1", dir, TRAMIT_BINARY);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "0 migrations applied") != NULL, "%s", out);
	cr_expect(!postmaster_alive(dir), "db migrate stops the cluster it started");
	free(out);
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

Test(serve, refuses_a_bad_port)
{
	char *out;
	int rc = shell_run(&out, NULL, "PORT=http %s serve 2>&1", TRAMIT_BINARY);
	cr_expect_eq(rc, 2);
	cr_expect_str_eq(out, "tramit: PORT must be a number from 0 to 65535, not 'http'\n");
	free(out);
}
