/* The expedient pages explain the time limits running on an expedient: the last day the
 * engine armed and how it was counted, recounted with the municipality's calendar. Dates are
 * fixed in the expedient's variables and checked against counts made by hand with the 2026
 * Valencian calendar: 10 business days from Friday 4 December 2026 skip three weekends and 8
 * December and end on Monday 21 December; extended by half (art. 32) they end on 29 December,
 * skipping Christmas; 3 months from 30 November 2026 end on Sunday 28 February 2027 and roll
 * to Monday 1 March. A last day that no count explains is said to have been modified. And
 * through the real engine: a correction required today shows a last day the count agrees
 * with. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/server.h"

static struct test_server srv;
static char *expedient;

static void setup(void)
{
	test_server_start(&srv, &test_server_behind_proxy);
	expedient = http_citizen_files(srv.port, "VIA-001", "{\"form\": {\"establiment\": \"Bar Demo\", "
	                               "\"adreca\": \"Plaça Major 3, 46001 València\", \"m2\": \"12\", "
	                               "\"temporada\": \"anual\"}}");
}

static void teardown(void)
{
	free(expedient);
	test_server_stop(&srv);
}

TestSuite(deadlines, .init = setup, .fini = teardown, .timeout = 120);

static char *value(const char *sql)
{
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* Puts the expedient in state with these variables (a JSON object) and presentation time. */
static void set(const char *state, const char *vars, const char *presented_at)
{
	char sql[1200];
	snprintf(sql, sizeof(sql), "UPDATE expedient SET state = '%s', vars = '%s'::jsonb, "
	         "presented_at = '%s' WHERE id = '%s'", state, vars, presented_at, expedient);
	PGresult *r = PQexec(srv.conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
}

/* The text of the element with this id on the page (tags removed), or "" when absent. */
static char *text_of(const char *body, const char *id)
{
	char open[80];
	snprintf(open, sizeof(open), "<dd id=\"%s\">", id);
	const char *p = strstr(body, open);
	if (!p)
		return strdup("");
	p += strlen(open);
	const char *end = strstr(p, "</dd>");
	char *out = malloc((size_t)(end - p) + 1);
	size_t o = 0;
	for (bool tag = false; p < end; p++) {
		if (*p == '<')
			tag = true;
		else if (*p == '>')
			tag = false;
		else if (!tag)
			out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

static char *page(const char *principal, const char *side, const char *lang)
{
	struct http_client *c = http_client_new(srv.port, lang);
	char h[100], path[200];
	snprintf(h, sizeof(h), "X-Remote-User: %s", principal);
	http_client_header(c, h);
	snprintf(path, sizeof(path), "/%s/expedients/%s", side, expedient);
	struct http_response r;
	http_get(c, path, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *body = strdup(r.body);
	http_response_free(&r);
	http_client_free(c);
	return body;
}

/* 10:00 on Friday 4 December 2026 in Madrid (UTC+1), in ms. */
#define DEC4 "1796374800000"

Test(deadlines, business_days_skip_weekends_and_holidays_in_both_languages)
{
	set("fixing", "{\"start.fixing\": \"" DEC4 "\", \"last_day.fixing\": \"2026-12-21\", "
	    "\"due.fixing\": \"1797894000000\", \"paused.resolution\": \"7000000000\"}", "2026-12-01 09:00+01");
	char *body = page("12345678Z", "carpeta", "ca");
	char *t = text_of(body, "deadline-state");
	cr_expect_str_eq(t, "Últim dia: 21 de desembre de 2026. 10 dies hàbils comptats des de l'endemà "
	                 "del 4 de desembre de 2026. No hi compten: 6 dies de dissabte o diumenge; ni els "
	                 "festius: 8 de desembre de 2026 (Immaculada Concepció). Si acaba sense actuar, "
	                 "l'expedient passa a «Desistida».");
	free(t);
	t = text_of(body, "deadline-resolution");
	cr_expect_str_eq(t, "Suspès mentre l'expedient és en aquest estat (art. 22 de la Llei 39/2015): "
	                 "tornarà a córrer quan isca'n.");
	free(t);
	cr_expect(strstr(body, "<dt>Termini de l&#39;estat «Pendent d&#39;esmena»</dt>") != NULL, "%s",
	          strstr(body, "<section id=\"deadlines\""));
	free(body);
	body = page("employee:demo.empleat", "backoffice", "es");
	t = text_of(body, "deadline-state");
	cr_expect_str_eq(t, "Último día: 21 de diciembre de 2026. 10 días hábiles contados desde el día "
	                 "siguiente al 4 de diciembre de 2026. No cuentan: 6 días de sábado o domingo; ni "
	                 "los festivos: 8 de diciembre de 2026 (Inmaculada Concepción). Si termina sin "
	                 "actuar, el expediente pasa a «Desistida».");
	free(t);
	free(body);
}

Test(deadlines, an_extension_a_roll_and_a_date_no_count_explains)
{
	/* Extended by half: 15 business days, past Christmas. */
	set("fixing", "{\"start.fixing\": \"" DEC4 "\", \"last_day.fixing\": \"2026-12-29\", "
	    "\"extended.fixing\": \"yes\"}", "2026-12-01 09:00+01");
	char *body = page("12345678Z", "carpeta", "ca");
	char *t = text_of(body, "deadline-state");
	cr_expect_str_eq(t, "Últim dia: 29 de desembre de 2026. 15 dies hàbils comptats des de l'endemà "
	                 "del 4 de desembre de 2026. No hi compten: 8 dies de dissabte o diumenge; ni els "
	                 "festius: 8 de desembre de 2026 (Immaculada Concepció), 25 de desembre de 2026 "
	                 "(Nadal). El termini s'ha ampliat en la meitat (art. 32 de la Llei 39/2015). Si "
	                 "acaba sense actuar, l'expedient passa a «Desistida».");
	free(t);
	free(body);

	/* Three months from 30 November end on a Sunday and roll to Monday. */
	set("submitted", "{\"last_day.resolution\": \"2027-03-01\", \"due.resolution\": \"1803942000000\"}",
	    "2026-11-30 12:00+01");
	body = page("12345678Z", "carpeta", "ca");
	t = text_of(body, "deadline-resolution");
	cr_expect_str_eq(t, "Últim dia: 1 de març de 2027. 3 mesos comptats de data a data des del 30 de "
	                 "novembre de 2026. L'últim dia del còmput era inhàbil i el termini acaba el primer "
	                 "dia hàbil següent (art. 30.5 de la Llei 39/2015) (28 de febrer de 2027). Si no es "
	                 "notifica la resolució dins del termini: La sol·licitud s'entén desestimada.");
	free(t);
	cr_expect(strstr(body, "id=\"deadline-state\"") == NULL, "no deadline in state submitted");
	free(body);

	/* A last day that neither count gives. */
	set("fixing", "{\"start.fixing\": \"" DEC4 "\", \"last_day.fixing\": \"2026-12-22\"}",
	    "2026-12-01 09:00+01");
	body = page("12345678Z", "carpeta", "ca");
	t = text_of(body, "deadline-state");
	cr_expect_str_eq(t, "Últim dia: 22 de desembre de 2026. Aquesta data no és la del còmput inicial: "
	                 "el termini s'ha modificat. Vegeu l'historial de l'expedient. Si acaba sense "
	                 "actuar, l'expedient passa a «Desistida».");
	free(t);
	free(body);

	/* No time limit running: no section. */
	set("granted", "{}", "2026-12-01 09:00+01");
	body = page("12345678Z", "carpeta", "ca");
	cr_expect(strstr(body, "id=\"deadlines\"") == NULL);
	free(body);
}

Test(deadlines, the_engines_own_deadline_is_one_the_count_agrees_with)
{
	/* The resolution clock the engine armed at filing, today, explained without a caveat. */
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT vars->>'last_day.resolution' FROM expedient WHERE id = '%s'", expedient);
	char *last = value(sql);
	cr_assert_str_neq(last, "", "the engine armed the resolution time");
	char *body = page("12345678Z", "carpeta", "ca");
	char *t = text_of(body, "deadline-resolution");
	cr_expect(strncmp(t, "Últim dia: ", 11) == 0, "%s", t);
	cr_expect(strstr(t, " 3 mesos comptats de data a data des del ") != NULL, "%s", t);
	cr_expect(strstr(t, "modificat") == NULL, "the count agrees with the engine: %s", t);
	free(t);
	free(body);
	free(last);
}
