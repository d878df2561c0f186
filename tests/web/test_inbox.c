/* The back office's inbox through the real server: the most urgent first, and the filters by
 * legal time limit (passed, ending within five days), state, tràmit and text, which is taken
 * literally; bad filter values get 400 and citizens no inbox. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"

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

/* The ids of the page's rows, in order, each replaced by its name in names/ids. */
static void rows(struct http_client *c, const char *path, char *const *ids, const char *const *names,
                 char *out, size_t cap, long *status)
{
	struct http_response r;
	http_get(c, path, &r);
	*status = r.status;
	out[0] = '\0';
	for (const char *p = r.body; (p = strstr(p, "<tr data-id=\"")); ) {
		p += strlen("<tr data-id=\"");
		const char *name = "?";
		for (int i = 0; i < 3; i++)
			if (strncmp(p, ids[i], strlen(ids[i])) == 0)
				name = names[i];
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", name);
	}
	http_response_free(&r);
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
