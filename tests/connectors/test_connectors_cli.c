/* `tramit connectors`: the listing shows each built-in connector with its capabilities and
 * configuration schema; --check validates a file with the exit status and message serve uses. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/shell.h"

Test(connectors_cli, lists_connectors_with_capabilities_and_schema)
{
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "%s connectors", TRAMIT_BINARY), 0);
	cr_assert(strstr(out, "smtp\n  capabilities: effects,health\n  effect kinds: notify\n"), "%s", out);
	cr_assert(strstr(out, "antivirus\n  capabilities: scan,health\n  effect kinds: none\n"), "%s", out);
	cr_assert(strstr(out, "    port               integer  1..65535 (default 25)\n"), "%s", out);
	cr_assert(strstr(out, "    database_dir      string   ClamAV database folder"), "%s", out);
	free(out);
}

static void write_config(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(connectors_cli, check_accepts_a_good_file_and_names_the_bad_key)
{
	char dir[] = "/tmp/tramit-conncli-XXXXXX", path[200];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/connectors.json", dir);
	write_config(path, "{\"smtp\": {\"host\": \"mail.example.org\", \"port\": 587, "
	                   "\"from\": \"avisos@example.org\", \"sede_url\": \"https://seu.example.org\"}}");
	char *out, want[400];
	cr_assert_eq(shell_run(&out, NULL, "%s connectors --check %s 2>&1", TRAMIT_BINARY, path), 0,
	             "%s", out);
	snprintf(want, sizeof(want), "%s: ok; configured: smtp\n", path);
	cr_assert_str_eq(out, want);
	free(out);
	write_config(path, "{\"smtp\": {\"host\": \"mail.example.org\", \"port\": 0, "
	                   "\"from\": \"avisos@example.org\", \"sede_url\": \"https://seu.example.org\"}}");
	cr_assert_eq(shell_run(&out, NULL, "%s connectors --check %s 2>&1", TRAMIT_BINARY, path), 1);
	snprintf(want, sizeof(want),
	         "%s: smtp.port: expected an integer 1..65535, found one out of range\n", path);
	cr_assert_str_eq(out, want);
	free(out);
	cr_assert_eq(shell_run(&out, NULL, "%s connectors --check 2>&1", TRAMIT_BINARY), 2);
	cr_assert_str_eq(out, "usage: tramit connectors [--check FILE]\n");
	free(out);
	unlink(path);
	rmdir(dir);
}

Test(connectors_cli, serve_refuses_to_start_with_a_bad_configuration)
{
	char dir[] = "/tmp/tramit-connserve-XXXXXX", path[200];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/connectors.json", dir);
	write_config(path, "{\"smtp\": {\"host\": \"mail.example.org\", \"prot\": 25}}");
	/* TRAMIT_DATABASE_URL points nowhere: the configuration must be refused before any
	 * database work, so nothing is ever started. */
	char *out, want[300];
	cr_assert_eq(shell_run(&out, NULL,
	                       "TRAMIT_CONNECTORS_CONFIG=%s TRAMIT_DATABASE_URL=postgresql:///nowhere "
	                       "TRAMIT_VAR_DIR=%s %s serve 2>&1 >/dev/null; echo \"exit $?\"",
	                       path, dir, TRAMIT_BINARY), 0);
	snprintf(want, sizeof(want), "tramit: %s: smtp.prot: unknown key\nexit 1\n", path);
	size_t n = strlen(out), w = strlen(want);
	cr_assert(n >= w && strcmp(out + n - w, want) == 0, "%s", out);
	free(out);
	unlink(path);
	rmdir(dir);
}
