/* `tramit units` and `tramit employee grant|revoke|roles` against a real PostgreSQL (issue 5):
 * the unit tree, a grant reaching the units below it, and every refusal naming what is wrong
 * and changing nothing (an unknown unit, parent or employee, a unit that exists, a move that
 * would make a cycle, a grant not held). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static PGconn *db;

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	db = pgtmp_connect(&cluster);
}

static void teardown(void)
{
	PQfinish(db);
	pgtmp_stop(&cluster);
}

TestSuite(units, .init = setup, .fini = teardown, .timeout = 120);

static void expect_output(const char *args, int status, const char *expected)
{
	char *out;
	int rc = shell_run(&out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s %s 2>&1",
	                   cluster.dir, cluster.conninfo, TRAMIT_BINARY, args);
	cr_expect_eq(rc, status, "tramit %s: %s", args, out);
	if (expected)
		cr_expect_str_eq(out, expected, "tramit %s\n got: %s\nwant: %s", args, out, expected);
	free(out);
}

static void expect_query(const char *expected, const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_expect_str_eq(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0), expected, "%s", sql);
	PQclear(r);
}

static const char *const tree =
	"SELECT string_agg(code || '<' || coalesce(parent, '-'), ' ' ORDER BY code) FROM org_unit";
static const char *const grants =
	"SELECT string_agg(username || ':' || role || '@' || unit, ' ' ORDER BY username, role, unit) "
	"FROM role_grant";

Test(units, the_tree_and_the_grants_with_every_refusal)
{
	expect_output("units list", 0, NULL); /* brings the schema up to date */
	expect_output("units add territori --name-ca 'Àrea de Territori' --name-es 'Área de Territorio'", 0,
	              "unit territori (Àrea de Territori / Área de Territorio) in entity demo at the top\n");
	expect_output("units add via-publica --parent territori --name-ca 'Via pública' --name-es 'Vía pública'",
	              0, "unit via-publica (Via pública / Vía pública) in entity demo under territori\n");
	expect_output("units add padro --name-ca 'Padró' --name-es 'Padrón'", 0, NULL);
	/* Refusals of units add and move. */
	expect_output("units add obres --parent enlloc --name-ca Obres --name-es Obras", 1,
	              "tramit: adding unit obres: no unit 'enlloc' in entity demo (see `tramit units list`); "
	              "nothing was changed\n");
	expect_output("units add padro --name-ca Padró --name-es Padrón", 1,
	              "tramit: adding unit padro: unit 'padro' already exists in entity demo; nothing was changed\n");
	expect_output("units add 'Obres!' --name-ca Obres --name-es Obras", 2,
	              "tramit: unit code 'Obres!' must be 1 to 64 characters from a-z, 0-9, '-' and '_'\n");
	expect_output("units add obres --name-ca Obres", 2,
	              "tramit: units add needs the unit's name in Valencian and Spanish: --name-ca NAME "
	              "--name-es NAME\n");
	expect_output("units move territori --parent via-publica", 1,
	              "tramit: moving unit territori: unit 'territori' cannot go under 'via-publica', which is "
	              "below it; nothing was changed\n");
	expect_output("units move territori --parent territori", 1,
	              "tramit: moving unit territori: unit 'territori' cannot go under 'territori', which is "
	              "itself; nothing was changed\n");
	expect_output("units move enlloc --top", 1,
	              "tramit: moving unit enlloc: no unit 'enlloc' in entity demo (see `tramit units list`); "
	              "nothing was changed\n");
	expect_query("padro<- territori<- via-publica<territori", tree);
	/* The database refuses a cycle written behind the command's back too. */
	PGresult *r = PQexec(db, "UPDATE org_unit SET parent = 'via-publica' WHERE code = 'territori'");
	cr_expect_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514", "%s", PQresultErrorMessage(r));
	PQclear(r);
	expect_query("padro<- territori<- via-publica<territori", tree);

	/* Grants: the employee and the unit must exist; a grant reaches the units below. */
	expect_output("employee grant ningu cap territori", 1,
	              "tramit: granting cap@territori to ningu: no employee 'ningu' in entity demo (add them "
	              "with `tramit employee add`); nothing was changed\n");
	expect_output("employee add anna --name 'Anna Puig'", 0, NULL);
	expect_output("employee grant anna cap enlloc", 1,
	              "tramit: granting cap@enlloc to anna: no unit 'enlloc' in entity demo (see `tramit units "
	              "list`); nothing was changed\n");
	expect_output("employee grant anna 'Cap' territori", 2,
	              "tramit: role 'Cap' must be 1 to 64 characters from a-z, 0-9, '-' and '_'\n");
	expect_output("employee grant anna cap territori", 0,
	              "anna now holds role cap in unit territori (and the units below it)\n");
	expect_output("employee grant anna cap territori", 0,
	              "anna already held role cap in unit territori (and the units below it)\n");
	expect_output("employee grant anna padro padro", 0, NULL);
	expect_output("employee roles anna", 0, "cap@territori\ncap@via-publica\npadro@padro\n");
	expect_output("units list", 0,
	              "padro\t1 grant\tPadró / Padrón\n"
	              "territori\t1 grant\tÀrea de Territori / Área de Territorio\n"
	              "  via-publica\t0 grants\tVia pública / Vía pública\n");
	expect_output("employee revoke anna tecnic territori", 1,
	              "tramit: revoking tecnic@territori from anna: employee 'anna' holds no role 'tecnic' in "
	              "unit 'territori'; nothing was changed\n");
	expect_query("anna:cap@territori anna:padro@padro", grants);
	expect_output("employee revoke anna cap territori", 0, "anna no longer holds role cap in unit territori\n");
	expect_output("employee roles anna", 0, "padro@padro\n");
	expect_output("units move via-publica --top", 0, "unit via-publica is now at the top\n");
	expect_query("padro<- territori<- via-publica<-", tree);
	expect_output("employee roles ningu", 1, "tramit: no employee ningu\n");
}
