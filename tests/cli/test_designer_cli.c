/* `tramit calendar deadline` and `tramit validate` as a designer runs them: exact stdout and
 * stderr lines and exit statuses for a subset of the DOMAIN.md vectors, the calendar folder
 * lookup, and the refusal to compute through a year with no calendar file. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/shell.h"

/* Runs `tramit ARGS` from the source tree (so ./tramits/calendars is found) and checks the
 * exit status and stdout exactly; stderr is discarded. */
static void expect_stdout(int status, const char *want, const char *args)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && env -u TRAMIT_CALENDARS_DIR %s %s 2>/dev/null", TRAMIT_SOURCE_DIR,
	             TRAMIT_BINARY, args);
	cr_expect_eq(rc, status, "tramit %s: exit %d, output %s", args, rc, out);
	cr_expect_str_eq(out, want, "tramit %s", args);
	free(out);
}

/* Same, but checks stderr exactly and that stdout is empty. */
static void expect_stderr(int status, const char *want, const char *args)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && env -u TRAMIT_CALENDARS_DIR %s %s 2>&1 >/dev/null", TRAMIT_SOURCE_DIR,
	             TRAMIT_BINARY, args);
	cr_expect_eq(rc, status, "tramit %s: exit %d, output %s", args, rc, out);
	cr_expect_str_eq(out, want, "tramit %s", args);
	free(out);
	rc = shell_run(&out, NULL, "cd %s && env -u TRAMIT_CALENDARS_DIR %s %s 2>/dev/null", TRAMIT_SOURCE_DIR,
	         TRAMIT_BINARY, args);
	cr_expect_str_eq(out, "", "tramit %s printed on stdout", args);
	free(out);
}

#define VALENCIA "--holidays 2026-01-22,2026-04-13"

Test(calendar_cli, business_day_vectors_for_valencia_city_and_cv_only)
{
	expect_stdout(0, "2026-04-16\n", "calendar deadline --from 2026-03-30 --amount 10 --unit business-days " VALENCIA);
	expect_stdout(0, "2026-04-15\n", "calendar deadline --from 2026-03-30 --amount 10 --unit business-days");
	expect_stdout(0, "2026-01-30\n", "calendar deadline --from 2026-01-15 --amount 10 --unit business-days " VALENCIA);
	expect_stdout(0, "2026-10-27\n", "calendar deadline --from=2026-10-02 --amount=15 --unit=business-days");
	expect_stdout(0, "2026-07-06\n", "calendar deadline --from 2026-06-19 --amount 10 --unit business-days");
}

Test(calendar_cli, d7_crosses_into_2027_with_its_data)
{
	expect_stdout(0, "2027-01-04\n", "calendar deadline --from 2026-12-17 --amount 10 --unit business-days " VALENCIA);
}

Test(calendar_cli, months_roll_by_default_and_not_with_no_roll)
{
	expect_stdout(0, "2026-03-02\n", "calendar deadline --from 2026-01-31 --amount 1 --unit months");
	expect_stdout(0, "2026-08-17\n", "calendar deadline --from 2026-07-15 --amount 1 --unit months");
	expect_stdout(0, "2026-05-11\n", "calendar deadline --from 2026-02-10 --amount 3 --unit months");
	expect_stdout(0, "2026-05-10\n", "calendar deadline --from 2026-02-10 --amount 3 --unit months --no-roll");
	expect_stdout(0, "2027-12-27\n", "calendar deadline --from 2026-12-25 --amount 1 --unit years");
}

Test(calendar_cli, natural_days_do_not_roll_unless_asked)
{
	expect_stdout(0, "2026-03-12\n", "calendar deadline --from 2026-03-02 --amount 10 --unit natural-days");
	expect_stdout(0, "2026-12-28\n", "calendar deadline --from 2026-12-18 --amount 10 --unit natural-days");
	expect_stdout(0, "2026-03-19\n", "calendar deadline --from 2026-03-09 --amount 10 --unit natural-days");
	expect_stdout(0, "2026-03-20\n", "calendar deadline --from 2026-03-09 --amount 10 --unit natural-days --roll");
}

Test(calendar_cli, a_computation_needing_2028_fails_naming_2028)
{
	expect_stderr(1, "tramit calendar: no holiday calendar for 2028 (needed to judge 2028-01-01); "
	                 "calendars are read from tramits/calendars/es-vc-YYYY.txt\n",
	              "calendar deadline --from 2027-12-20 --amount 10 --unit business-days");
}

Test(calendar_cli, usage_errors_exit_2_with_one_line)
{
	expect_stderr(2, "tramit calendar: --from: expected a date YYYY-MM-DD, found '2026-02-30'\n",
	              "calendar deadline --from 2026-02-30 --amount 10 --unit business-days");
	expect_stderr(2, "tramit calendar: --unit: expected business-days, natural-days, months or years, found 'weeks'\n",
	              "calendar deadline --from 2026-03-02 --amount 2 --unit weeks");
	expect_stderr(2, "tramit calendar: --amount: expected a whole number from 1 to 36500, found '0'\n",
	              "calendar deadline --from 2026-03-02 --amount 0 --unit months");
	expect_stderr(2, "tramit calendar: --holidays: expected a date YYYY-MM-DD, found '2026-13-01'\n",
	              "calendar deadline --from 2026-03-02 --amount 2 --unit months --holidays 2026-01-22,2026-13-01");
	expect_stderr(2, "tramit calendar: --holidays: 2026-03-19 is already a holiday (Sant Josep)\n",
	              "calendar deadline --from 2026-03-02 --amount 2 --unit months --holidays 2026-03-19");
}

/* A scratch folder for calendar files, removed by the caller. */
static void scratch(char dir[64])
{
	snprintf(dir, 64, "/tmp/tramit-calendars-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(const char *dir)
{
	char *out;
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

Test(calendar_cli, the_folder_comes_from_tramit_calendars_dir_and_a_missing_year_is_an_error)
{
	char dir[64], *out;
	scratch(dir);
	shell_run(&out, NULL, "cp %s/tramits/calendars/es-vc-2026.txt %s/", TRAMIT_SOURCE_DIR, dir);
	free(out);
	int rc = shell_run(&out, NULL, "cd / && TRAMIT_CALENDARS_DIR=%s %s calendar deadline --from 2026-12-17 --amount 10 "
	             "--unit business-days 2>&1", dir, TRAMIT_BINARY);
	cr_expect_eq(rc, 1);
	char want[256];
	snprintf(want, sizeof(want), "tramit calendar: no holiday calendar for 2027 (needed to judge 2027-01-01); "
	         "calendars are read from %s/es-vc-YYYY.txt\n", dir);
	cr_expect_str_eq(out, want);
	free(out);
	rc = shell_run(&out, NULL, "cd / && %s calendar deadline --calendars %s --from 2026-03-12 --amount 10 "
	         "--unit business-days 2>&1", TRAMIT_BINARY, dir);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(out, "2026-03-27\n");
	free(out);
	cleanup(dir);
}

Test(calendar_cli, a_bad_calendar_file_is_reported_with_path_and_line)
{
	char dir[64], *out;
	scratch(dir);
	shell_run(&out, NULL, "printf '# test\\n2026-01-01 national Any Nou | Año Nuevo\\n2026-01-06 nacional Reis | Reyes\\n' "
	    "> %s/es-vc-2026.txt", dir);
	free(out);
	int rc = shell_run(&out, NULL, "%s calendar deadline --calendars %s --from 2026-03-12 --amount 10 "
	             "--unit business-days 2>&1", TRAMIT_BINARY, dir);
	cr_expect_eq(rc, 1);
	char want[256];
	snprintf(want, sizeof(want), "tramit calendar: %s/es-vc-2026.txt: line 3: expected scope national, "
	         "regional or local after the date, found 'nacional'\n", dir);
	cr_expect_str_eq(out, want);
	free(out);
	cleanup(dir);
}

Test(validate_cli, valid_values_print_valid_and_exit_0)
{
	expect_stdout(0, "valid\n", "validate nif 12345678Z");
	expect_stdout(0, "valid\n", "validate nie X1234567L");
	expect_stdout(0, "valid\n", "validate cif P4625200C");
	expect_stdout(0, "valid\n", "validate nif G4608211A");
	expect_stdout(0, "valid\n", "validate iban 'ES91 2100 0418 4502 0005 1332'");
	expect_stdout(0, "valid\n", "validate iban ES7000491500010512345678");
	expect_stdout(0, "valid\n", "validate ccc 21000418450200051332");
	expect_stdout(0, "valid\n", "validate postal 46001");
	expect_stdout(0, "valid\n", "validate ine 462508");
	expect_stdout(0, "valid\n", "validate dir3 L01221199");
}

Test(validate_cli, invalid_values_print_the_reason_and_exit_1)
{
	expect_stdout(1, "invalid: the control letter should be Z, not A\n", "validate nif 12345678A");
	expect_stdout(1, "invalid: the control letter should be L, not A\n", "validate nie X1234567A");
	expect_stdout(1, "invalid: the control character should be the letter C, not '3' (entity type P takes a letter)\n",
	              "validate cif P46252003");
	expect_stdout(1, "invalid: mod 97 check gives 28, not 1\n", "validate iban ES9121000418450200051333");
	expect_stdout(1, "invalid: the control digits should be 45, not 54\n", "validate ccc 21000418540200051332");
	expect_stdout(1, "invalid: province 53 does not exist: postal codes start with a province code 01-52\n",
	              "validate postal 53000");
	expect_stdout(1, "invalid: the control digit should be 8, not 7\n", "validate ine 462507");
	expect_stdout(1, "invalid: expected 6 digits (code and control digit), found 5: the control digit of 03014 is 9\n",
	              "validate ine 03014");
}

Test(validate_cli, usage_errors_exit_2)
{
	char *out;
	int rc = shell_run(&out, NULL, "%s validate passport X 2>&1 >/dev/null | head -1", TRAMIT_BINARY);
	cr_expect_eq(rc, 0); /* head's status; the line is what matters */
	cr_expect_str_eq(out, "tramit validate: unknown kind 'passport'\n");
	free(out);
	rc = shell_run(&out, NULL, "%s validate passport X >/dev/null 2>&1", TRAMIT_BINARY);
	cr_expect_eq(rc, 2);
	free(out);
	rc = shell_run(&out, NULL, "%s validate nif >/dev/null 2>&1", TRAMIT_BINARY);
	cr_expect_eq(rc, 2);
	free(out);
}
