/* `tramit test` as a designer runs it: the catalogue's scenarios pass (exit 0), and a wrong
 * expectation fails with exit 1 and a readable expected-vs-got line. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "tests/support/shell.h"

Test(tramit_test, the_catalogue_scenarios_pass)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && %s test tramits/ 2>&1", TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "0 failed scenarios, 0 failed expectations") != NULL, "%s", out);
	cr_expect(strstr(out, "ok   tramits/via-publica/terrassa_test.lua") != NULL, "%s", out);
	free(out);
}

Test(tramit_test, a_wrong_expectation_fails_with_expected_and_got)
{
	char dir[] = "/tmp/tramit-test-XXXXXX", *out;
	cr_assert_not_null(mkdtemp(dir));
	shell_run(&out, NULL, "cp %s/tramits/general/instancia-general.lua %s/", TRAMIT_SOURCE_DIR, dir);
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
	int rc = shell_run(&out, NULL, "cd %s && %s test . 2>&1", dir, TRAMIT_BINARY);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "./instancia-general_test.lua:2: scenario 'wrong', act 'submit': "
	                      "expected state 'resolved', got 'submitted'\n") != NULL, "%s", out);
	free(out);
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}
