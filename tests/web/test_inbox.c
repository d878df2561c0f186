/* The back office's inbox through the real server: the most urgent first, and the filters by
 * legal time limit (passed, ending within five days), state, tràmit and text, which is taken
 * literally; bad filter values get 400 and citizens no inbox. Issue 5: each employee sees the
 * expedients of their units (and the units below them) and of the tràmits whose actions name
 * a role they hold, filtered by their units and by the actions they may take. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"
#include "tests/support/shell.h"

static struct test_server srv;

static void setup(void)
{
	test_server_start(&srv, &test_server_behind_proxy);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(inbox, .init = setup, .fini = teardown, .timeout = 120);

static void sql(const char *text)
{
	PGresult *r = PQexec(srv.conn, text);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s",
	          text, PQresultErrorMessage(r));
	PQclear(r);
}

/* The ids of the page's rows, in order, each replaced by its name in names/ids (n of them). */
static void rows_of(struct http_client *c, const char *path, char *const *ids, const char *const *names,
                    int n, char *out, size_t cap, long *status)
{
	struct http_response r;
	http_get(c, path, &r);
	*status = r.status;
	out[0] = '\0';
	for (const char *p = r.body; (p = strstr(p, "<tr data-id=\"")); ) {
		p += strlen("<tr data-id=\"");
		const char *name = "?";
		for (int i = 0; i < n; i++)
			if (strncmp(p, ids[i], strlen(ids[i])) == 0)
				name = names[i];
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", name);
	}
	http_response_free(&r);
}

static void rows(struct http_client *c, const char *path, char *const *ids, const char *const *names,
                 char *out, size_t cap, long *status)
{
	rows_of(c, path, ids, names, 3, out, cap, status);
}

Test(inbox, the_most_urgent_first_and_every_filter)
{
	char *ids[3];
	for (int i = 0; i < 3; i++)
		ids[i] = http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Safata\", \"exposa\": "
		                            "\"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
	const char *names[] = {"late", "soon", "none"};
	char q[600];
	/* One whose resolution time passed a day ago, one that ends in two days, one resolved. */
	snprintf(q, sizeof(q), "UPDATE expedient SET vars = vars || jsonb_build_object('due.resolution', "
	         "((extract(epoch FROM now()) - 86400) * 1000)::bigint::text) WHERE id = '%s'", ids[0]);
	sql(q);
	snprintf(q, sizeof(q), "UPDATE expedient SET vars = vars || jsonb_build_object('due.resolution', "
	         "((extract(epoch FROM now()) + 2 * 86400) * 1000)::bigint::text) WHERE id = '%s'", ids[1]);
	sql(q);
	snprintf(q, sizeof(q), "UPDATE expedient SET state = 'resolved', vars = vars - 'due.resolution' "
	         "WHERE id = '%s'", ids[2]);
	sql(q);
	struct http_client *e = http_client_new(srv.port, "ca");
	http_client_header(e, "X-Remote-User: employee:demo.empleat");
	char got[200];
	long status;
	rows(e, "/backoffice", ids, names, got, sizeof(got), &status);
	cr_expect_eq(status, 200);
	cr_expect_str_eq(got, "late soon none", "the most urgent first");
	rows(e, "/backoffice?termini=overdue", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "late");
	rows(e, "/backoffice?termini=soon", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "soon");
	rows(e, "/backoffice?estat=resolved", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "none");
	rows(e, "/backoffice?estat=&tramit=GEN-001&termini=&q=", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "late soon none", "empty values mean any");
	rows(e, "/backoffice?tramit=VIA-001", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "");
	snprintf(q, sizeof(q), "SELECT number FROM expedient WHERE id = '%s'", ids[1]);
	PGresult *r = PQexec(srv.conn, q);
	char path[200];
	snprintf(path, sizeof(path), "/backoffice?q=%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	rows(e, path, ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "soon", "by number");
	rows(e, "/backoffice?q=maria+DEMO", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "late soon none", "by the applicant's name, without case");
	rows(e, "/backoffice?q=%25", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "", "a typed %% is a character, not a wildcard");
	rows(e, "/backoffice?termini=ahir", ids, names, got, sizeof(got), &status);
	cr_expect_eq(status, 400);

	/* What the page says: the count, the tags, the filters kept in the form. */
	struct http_response page;
	http_get(e, "/backoffice?termini=overdue", &page);
	cr_expect(strstr(page.body, "<p id=\"count\" role=\"status\">1 expedient</p>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<span class=\"tag act\">Vençut</span>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<option value=\"overdue\" selected>Vençut</option>") != NULL, "%s", page.body);
	http_response_free(&page);
	http_get(e, "/backoffice?tramit=VIA-001", &page);
	cr_expect(strstr(page.body, "<p id=\"empty\">Cap expedient no compleix aquests filtres.</p>") != NULL,
	          "%s", page.body);
	http_response_free(&page);
	struct http_client *citizen = http_client_new(srv.port, "ca");
	http_client_header(citizen, "X-Remote-User: 12345678Z");
	http_get(citizen, "/backoffice?termini=overdue", &page);
	cr_expect_eq(page.status, 403);
	http_response_free(&page);

	/* Assignment: the employee takes the late one; the inbox filters by it, the page and
	 * the log say who; leaving it hands it to nobody. */
	http_get(e, "/backoffice", &page);
	char *csrf = http_extract(page.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&page);
	char form[200];
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/assign", ids[0]);
	snprintf(form, sizeof(form), "csrf=%s&to=me", csrf);
	http_post_form(e, path, form, &page);
	cr_expect_eq(page.status, 303, "%s", page.body);
	http_response_free(&page);
	rows(e, "/backoffice?assignat=me", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "late");
	rows(e, "/backoffice?assignat=none", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "soon none");
	http_get(e, "/backoffice", &page);
	cr_expect(strstr(page.body, "<td class=\"assignee\">demo.empleat</td>") != NULL, "%s", page.body);
	http_response_free(&page);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", ids[0]);
	http_get(e, path, &page);
	cr_expect(strstr(page.body, "<strong id=\"assignee\">Pere Demo Empleat</strong>") != NULL, "%s", page.body);
	http_response_free(&page);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/assign", ids[0]);
	snprintf(form, sizeof(form), "csrf=%s&to=none", csrf);
	http_post_form(e, path, form, &page);
	cr_expect_eq(page.status, 303);
	http_response_free(&page);
	rows(e, "/backoffice?assignat=me", ids, names, got, sizeof(got), &status);
	cr_expect_str_eq(got, "");
	snprintf(q, sizeof(q), "SELECT string_agg(coalesce(assigned_to, '-') || ' by ' || assigned_by, ', ' "
	         "ORDER BY id) FROM expedient_assignment WHERE expedient_id = '%s'", ids[0]);
	r = PQexec(srv.conn, q);
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "demo.empleat by demo.empleat, - by demo.empleat");
	PQclear(r);
	/* Refused: a citizen, another value, an unknown expedient, a wrong token. */
	http_post_form(citizen, path, form, &page);
	cr_expect_eq(page.status, 403);
	http_response_free(&page);
	snprintf(form, sizeof(form), "csrf=%s&to=pere", csrf);
	http_post_form(e, path, form, &page);
	cr_expect_eq(page.status, 400);
	http_response_free(&page);
	snprintf(form, sizeof(form), "csrf=%s&to=me", csrf);
	http_post_form(e, "/backoffice/expedients/00000000-0000-4000-8000-000000000000/assign", form, &page);
	cr_expect_eq(page.status, 404);
	http_response_free(&page);
	http_post_form(e, path, "csrf=wrong&to=me", &page);
	cr_expect_eq(page.status, 403);
	http_response_free(&page);
	r = PQexec(srv.conn, "SELECT count(*) FROM expedient_assignment");
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "2", "the refusals changed nothing");
	PQclear(r);
	free(csrf);
	http_client_free(citizen);
	http_client_free(e);
	for (int i = 0; i < 3; i++)
		free(ids[i]);
}

static void cli_ok(const char *args)
{
	char *out = NULL;
	cr_assert_eq(shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo %s %s 2>&1",
	                       srv.cluster.conninfo, TRAMIT_BINARY, args), 0, "%s: %s", args, out);
	free(out);
}

static struct http_client *employee(const char *username)
{
	struct http_client *c = http_client_new(srv.port, "ca");
	char header[100];
	snprintf(header, sizeof(header), "X-Remote-User: employee:%s", username);
	http_client_header(c, header);
	return c;
}

/* One expedient of each kind: GEN-001 waiting for the tramitador (unit registre), PAD-005 for
 * the Padró, VIA-001 for its head (role cap in via-publica) and VIA-001 in correction, where
 * a tècnic of any unit may extend the time limit. Due in 1, 2, 3 and 4 days: that order. */
Test(inbox, each_employee_sees_their_units_and_roles_and_filters_by_them)
{
	static const char *const kind[] = {"GEN-001 submitted", "PAD-005 review", "VIA-001 reported",
	                                   "VIA-001 fixing"};
	const char *names[] = {"gen", "pad", "via", "fix"};
	char *ids[4], q[700];
	for (int i = 0; i < 4; i++) {
		ids[i] = http_citizen_files(srv.port, "GEN-001", "{\"form\": {\"assumpte\": \"Unitats\", \"exposa\": "
		                            "\"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}");
		snprintf(q, sizeof(q), "UPDATE expedient SET tramit_code = split_part('%s', ' ', 1), state = "
		         "split_part('%s', ' ', 2), definition_hash = (SELECT hash FROM tramit_version WHERE code = "
		         "split_part('%s', ' ', 1) ORDER BY loaded_at DESC LIMIT 1), vars = jsonb_build_object("
		         "'due.resolution', ((extract(epoch FROM now()) + %d * 86400) * 1000)::bigint::text) "
		         "WHERE id = '%s'", kind[i], kind[i], kind[i], i + 1, ids[i]);
		sql(q);
	}
	/* An area above via-publica; its head holds cap there; a tècnic of Participació. */
	cli_ok("units add territori --name-ca 'Àrea de Territori' --name-es 'Área de Territorio'");
	cli_ok("units move via-publica --parent territori");
	cli_ok("employee add arnau --name 'Arnau Cap d Area' --role cap@territori");
	cli_ok("employee add teresa --name 'Teresa Tecnica' --role tecnic@participacio");
	struct http_client *pere = employee("demo.empleat"), *marta = employee("demo.padro"),
	                   *arnau = employee("arnau"), *teresa = employee("teresa");
	char got[200];
	long status;
	const struct {
		struct http_client **who;
		const char *path, *rows;
	} cases[] = {
		{&pere, "/backoffice", "gen pad via fix"},
		{&pere, "/backoffice?accions=me", "gen pad via fix"},
		{&pere, "/backoffice?unitat=padro", "pad"},
		{&pere, "/backoffice?unitat=via-publica", "via fix"},
		{&pere, "/backoffice?accions=cap", "via"},
		{&pere, "/backoffice?accions=tecnic", "fix"},
		{&pere, "/backoffice?unitat=registre&accions=tramitador", "gen"},
		{&pere, "/backoffice?unitat=padro&accions=cap", ""},
		{&marta, "/backoffice", "pad"},
		{&marta, "/backoffice?accions=padro", "pad"},
		{&marta, "/backoffice?tramit=GEN-001", ""},
		{&marta, "/backoffice?q=Maria", "pad"},
		/* The head of the area above via-publica: its expedients, and acts on the reported one. */
		{&arnau, "/backoffice", "via fix"},
		{&arnau, "/backoffice?accions=me", "via"},
		{&arnau, "/backoffice?unitat=territori", ""},
		{&arnau, "/backoffice?unitat=via-publica", "via fix"},
		/* `role "tecnic"` names no unit: any tècnic acts on VIA-001, so sees it. */
		{&teresa, "/backoffice", "via fix"},
		{&teresa, "/backoffice?accions=me", "fix"},
		{&teresa, "/backoffice?unitat=participacio", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rows_of(*cases[i].who, cases[i].path, ids, names, 4, got, sizeof(got), &status);
		cr_expect_eq(status, 200, "%s", cases[i].path);
		cr_expect_str_eq(got, cases[i].rows, "case %zu: %s", i, cases[i].path);
	}
	/* Only one's own units and roles are filters. */
	static const char *const bad[] = {"/backoffice?unitat=registre", "/backoffice?unitat=res",
	                                   "/backoffice?accions=tecnic", "/backoffice?accions=tots"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rows_of(marta, bad[i], ids, names, 4, got, sizeof(got), &status);
		cr_expect_eq(status, 400, "%s", bad[i]);
	}
	/* What the page offers Marta: her unit and role, the Padró's tràmit only, the count. */
	struct http_response page;
	http_get(marta, "/backoffice", &page);
	cr_expect(strstr(page.body, "<p id=\"count\" role=\"status\">1 expedient</p>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<select id=\"f-unitat\" name=\"unitat\"><option value=\"\" selected>Qualsevol"
	                 "</option><option value=\"padro\">Padró municipal</option></select>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<select id=\"f-accions\" name=\"accions\"><option value=\"\" selected>Qualsevol"
	                 "</option><option value=\"me\">Amb qualsevol dels meus rols</option><option value=\"padro\">"
	                 "Com a padro</option></select>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<option value=\"PAD-005\">") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<option value=\"GEN-001\">") == NULL, "%s", page.body);
	http_response_free(&page);
	http_get(arnau, "/backoffice?unitat=via-publica", &page);
	cr_expect(strstr(page.body, "<p id=\"count\" role=\"status\">2 expedients</p>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<option value=\"via-publica\" selected>Via pública</option>") != NULL, "%s",
	          page.body);
	http_response_free(&page);
	http_client_free(pere);
	http_client_free(arnau);
	http_client_free(teresa);

	/* Outside her scope an expedient is not found, with the very answer an unknown id gets, and
	 * she cannot take it either. */
	struct http_response unknown;
	http_get(marta, "/backoffice/expedients/00000000-0000-4000-8000-000000000000", &unknown);
	char path[200];
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", ids[0]);
	http_get(marta, path, &page);
	cr_expect_eq(page.status, 404);
	cr_expect_eq(unknown.status, 404);
	/* The page names the address asked for (the language links): the id is all that differs. */
	for (char *at = page.body; (at = strstr(at, ids[0])); at += 36)
		memcpy(at, "00000000-0000-4000-8000-000000000000", 36);
	cr_expect_str_eq(page.body, unknown.body, "the same page as an unknown id");
	http_response_free(&unknown);
	http_response_free(&page);
	http_get(marta, "/backoffice", &page);
	char *csrf = http_extract(page.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&page);
	char form[200];
	snprintf(form, sizeof(form), "csrf=%s&to=me", csrf);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/assign", ids[0]);
	http_post_form(marta, path, form, &page);
	cr_expect_eq(page.status, 404);
	http_response_free(&page);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/assign", ids[1]);
	http_post_form(marta, path, form, &page);
	cr_expect_eq(page.status, 303, "%s", page.body);
	http_response_free(&page);
	PGresult *r = PQexec(srv.conn, "SELECT string_agg(e.tramit_code || ' ' || a.assigned_to, ', ') FROM "
	                               "expedient_assignment a JOIN expedient e ON e.id = a.expedient_id");
	cr_expect_str_eq(PQgetvalue(r, 0, 0), "PAD-005 demo.padro", "only her own expedient moved");
	PQclear(r);
	free(csrf);
	http_client_free(marta);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
}
