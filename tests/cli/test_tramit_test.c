/* `tramit test` as a designer runs it: the catalogue's scenarios pass (exit 0), and a wrong
 * expectation fails with exit 1 and a readable expected-vs-got line. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int run(char **out, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t cap = 65536, len = 0, n;
	*out = calloc(1, cap);
	while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0)
		len += n;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(tramit_test, the_catalogue_scenarios_pass)
{
	char *out;
	int rc = run(&out, "cd %s && %s test tramits/ 2>&1", TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "0 failed scenarios, 0 failed expectations") != NULL, "%s", out);
	cr_expect(strstr(out, "ok   tramits/via-publica/terrassa_test.lua") != NULL, "%s", out);
	free(out);
}

Test(tramit_test, a_wrong_expectation_fails_with_expected_and_got)
{
	char dir[] = "/tmp/tramit-test-XXXXXX", *out;
	cr_assert_not_null(mkdtemp(dir));
	run(&out, "cp %s/tramits/general/instancia-general.lua %s/", TRAMIT_SOURCE_DIR, dir);
	free(out);
	char path[600];
	snprintf(path, sizeof(path), "%s/instancia-general_test.lua", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("scenario \"wrong\" {\n"
	      "  act \"submit\" { form = { assumpte = \"a\", exposa = \"b\", solicita = \"c\", idioma = \"ca\" },\n"
	      "    expect = { state = \"resolved\" } },\n"
	      "}\n", f);
	fclose(f);
	int rc = run(&out, "cd %s && %s test . 2>&1", dir, TRAMIT_BINARY);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "./instancia-general_test.lua:2: scenario 'wrong', act 'submit': "
	                      "expected state 'resolved', got 'submitted'\n") != NULL, "%s", out);
	free(out);
	run(&out, "rm -rf %s", dir);
	free(out);
}
