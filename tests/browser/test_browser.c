/* Browser journeys: the test starts a throw-away PostgreSQL and `tramit serve --demo` on
 * loopback, then runs Node scripts (tests/browser/<name>.mjs) that drive Debian's headless
 * Chromium through the pages and check each with axe-core. Each script's exit status and its
 * "journey ok" lines decide; its output is always printed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static pid_t server;
static int port;
static char log_path[600];

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	port = http_free_port();
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[600];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	const char *env[] = {env_db, env_port, env_dir, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	pgtmp_stop(&cluster);
}

TestSuite(browser, .init = setup, .fini = teardown, .timeout = 180);

/* The last bytes of the server's log, to show beside a failing script's output. */
static char *log_tail(void)
{
	static char tail[4096];
	tail[0] = '\0';
	FILE *f = fopen(log_path, "r");
	if (!f)
		return tail;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0, SEEK_SET);
	size_t n = fread(tail, 1, sizeof(tail) - 1, f);
	tail[n] = '\0';
	fclose(f);
	return tail;
}

/* Runs `node tests/browser/<script>.mjs http://127.0.0.1:PORT`; expects exit status 0, one
 * "journey ok: <name>" line per expected journey and no accessibility finding. */
static void run_script(const char *script, const char *const *journeys)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && TRAMIT_BROWSER_NODE_DIR='%s' TRAMIT_BROWSER_SCREENSHOTS='%s/%s' "
	         "node tests/browser/%s.mjs http://127.0.0.1:%d 2>&1",
	         TRAMIT_SOURCE_DIR, TRAMIT_BROWSER_NODE_DIR, TRAMIT_BROWSER_SCREENSHOTS, script, script, port);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "cannot run %s", cmd);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	size_t got;
	while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += got;
		if (cap - len < 1024)
			out = realloc(out, cap *= 2);
	}
	out[len] = '\0';
	int st = pclose(p);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	/* Always visible with ctest --output-on-failure or -V: the summary line has the timing. */
	fprintf(stderr, "--- %s.mjs (exit %d) ---\n%s", script, code, out);
	cr_expect_eq(code, 0, "%s.mjs exited with %d; server log tail:\n%s", script, code, log_tail());
	for (const char *const *j = journeys; *j; j++) {
		char line[512];
		snprintf(line, sizeof(line), "journey ok: %s (", *j);
		cr_expect(strstr(out, line) != NULL, "%s.mjs did not report «%s»", script, line);
	}
	cr_expect(strstr(out, " 0 accessibility findings, ") != NULL,
	          "%s.mjs: serious or critical axe-core violations, or a page wider than a phone's "
	          "screen (listed above)", script);
	free(out);
}

/* One server for the three scripts: a cluster and a server per script would cost more than
 * the journeys themselves. The scripts do not depend on each other's expedients. */
Test(browser, journeys_work_in_both_languages_without_javascript_and_by_keyboard)
{
	const char *const journeys[] = {"citizen files, employee acts (ca)",
	                                "citizen files, employee acts (es, phone)", NULL};
	run_script("journey", journeys);
	const char *const nojs[] = {"form without JavaScript (es)", NULL};
	run_script("nojs", nojs);
	const char *const keyboard[] = {"keyboard only (ca)", NULL};
	run_script("keyboard", keyboard);
}
