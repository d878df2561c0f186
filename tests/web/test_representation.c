/* Representation end to end against the real server and a real PostgreSQL: mandates added,
 * listed and revoked with `tramit mandates`, the Carpeta's "acting as" switch, a filing by a
 * representative (the party is the applicant, the event records both), the represented
 * person's own Carpeta, refusals outside the mandate's tràmits, and access that ends when the
 * mandate expires or is revoked. People are named by a trusted reverse-proxy header. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define REP "00000000T"   /* the representative */
#define PARTY "12345678Z" /* the person represented */
#define COMPANY "B12345674"

static struct eng_pgcluster cluster;
static PGconn *conn;
static pid_t server;
static int port;

static int cli(char **out, const char *args)
{
	return shell_run(out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo TRAMIT_TRAMITS_DIR='%s/tramits' "
	                 "'%s' %s 2>&1", cluster.conninfo, cluster.dir, TRAMIT_BINARY, args);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	port = http_free_port();
	char log_path[700];
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[800];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	/* Two tràmits that admit representatives (art. 5): GEN-001 and PAD-005 as the catalogue
	 * has them, with "representative" among who may apply. */
	shell_tramit_variant(cluster.dir, "general/instancia-general.lua", "applicant = { \"person\", \"company\", ",
	                     "applicant = { \"person\", \"company\", \"representative\", ");
	shell_tramit_variant(cluster.dir, "padro/certificat-empadronament.lua", "applicant = { \"person\", ",
	                     "applicant = { \"person\", \"representative\", ");
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, "TRAMIT_TRUSTED_HEADER=X-Remote-User",
	                     "TRAMIT_TRUSTED_PROXY=127.0.0.1",
	                     "TRAMIT_CALENDARS_DIR=" TRAMIT_SOURCE_DIR "/tramits/calendars", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
	char *out;
	cr_assert_eq(cli(&out, "employee add clara --name 'Clara Registre'"), 0, "%s", out);
	free(out);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0);
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(representation, .init = setup, .fini = teardown, .timeout = 240);

static char *sql1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql1(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s",
	          sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "(null)");
	PQclear(r);
	return v;
}

struct person {
	struct http_client *http;
	char *csrf;
};

static struct person sign_in(const char *nif, const char *lang)
{
	struct person p = {.http = http_client_new(port, lang)};
	char header[64];
	snprintf(header, sizeof(header), "X-Remote-User: %s", nif);
	http_client_header(p.http, header);
	struct http_response r;
	http_get(p.http, "/carpeta", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	p.csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(p.csrf);
	http_response_free(&r);
	return p;
}

static void person_free(struct person *p)
{
	http_client_free(p->http);
	free(p->csrf);
}

/* Switches who p acts for ("" for themselves); returns the status. */
static long act_as(struct person *p, const char *nif)
{
	char body[200];
	snprintf(body, sizeof(body), "csrf=%s&as=%s", p->csrf, nif);
	struct http_response r;
	http_post_form(p->http, "/carpeta/representacio", body, &r);
	long st = r.status;
	http_response_free(&r);
	return st;
}

static long get_status(struct person *p, const char *path, char **body)
{
	struct http_response r;
	http_get(p->http, path, &r);
	long st = r.status;
	if (body)
		*body = strdup(r.body);
	http_response_free(&r);
	return st;
}

static const char form[] = "{\"form\": {\"assumpte\": \"Llicència de la comunitat\", \"exposa\": "
                           "\"Fets\", \"solicita\": \"Petició\", \"idioma\": \"ca\"}}";

Test(representation, mandates_cli_checks_its_input_and_changes_nothing_on_error)
{
	char *out;
	cr_expect_eq(cli(&out, "mandates add 00000000X " PARTY " --to 2099-12-31 --employee clara"), 1);
	cr_expect_str_eq(out, "tramit: representative NIF '00000000X' is not a valid NIF, NIE or CIF; "
	                      "nothing was changed\n");
	free(out);
	cr_expect_eq(cli(&out, "mandates add " REP " " PARTY " --from 2026-05-01 --to 2026-04-01 "
	                       "--employee clara"), 1);
	cr_expect_str_eq(out, "tramit: valid-to 2026-04-01 is before valid-from 2026-05-01; nothing was changed\n");
	free(out);
	cr_expect_eq(cli(&out, "mandates add " REP " " PARTY " --to 2099-12-31 --employee nobody"), 1);
	cr_expect_str_eq(out, "tramit: no employee 'nobody' in entity demo; nothing was changed\n");
	free(out);
	cr_expect_eq(cli(&out, "mandates add " REP " " PARTY " --to 2099-12-31 --tramit 'GEN 001' --import rea"), 1);
	cr_expect_str_eq(out, "tramit: tràmit code 'GEN 001' must be 1 to 32 letters, digits, '-' or '_'; "
	                      "nothing was changed\n");
	free(out);
	cr_expect_eq(cli(&out, "mandates revoke 77 --employee clara"), 1);
	cr_expect_str_eq(out, "tramit: no mandate 77 in entity demo; nothing was changed\n");
	free(out);
	char *n = sql1("SELECT count(*) FROM mandate");
	cr_expect_str_eq(n, "0");
	free(n);
}

Test(representation, a_representative_files_for_the_party_within_the_mandate)
{
	char *out;
	cr_assert_eq(cli(&out, "mandates add " REP " " PARTY " --from 2026-01-01 --to 2099-12-31 "
	                       "--tramit GEN-001 --employee clara"), 0, "%s", out);
	cr_expect_str_eq(out, "mandate 1: 00000000T acts for 12345678Z on the tràmits listed from "
	                      "2026-01-01 to 2099-12-31\n");
	free(out);
	cr_assert_eq(cli(&out, "mandates add " REP " " COMPANY " --name 'Comunitat Prova' --from 2020-01-01 "
	                       "--to 2020-12-31 --import rea"), 0, "%s", out);
	free(out);
	cr_assert_eq(cli(&out, "mandates list " REP), 0, "%s", out);
	cr_expect_str_eq(out,
	        "2\t00000000T\tB12345674 (Comunitat Prova)\t2020-01-01..2020-12-31\t*\timport:rea\tnot in force today\n"
	        "1\t00000000T\t12345678Z (Maria Demo Ciutadana)\t2026-01-01..2099-12-31\tGEN-001\temployee:clara\tin force\n");
	free(out);

	struct person rep = sign_in(REP, "ca");
	char *body;
	cr_expect_eq(get_status(&rep, "/carpeta/representacio", &body), 200);
	cr_expect(strstr(body, "id=\"as-12345678Z\"") != NULL, "the party in force is offered");
	cr_expect(strstr(body, "id=\"as-B12345674\"") == NULL, "an expired mandate is offered");
	free(body);
	cr_expect_eq(act_as(&rep, COMPANY), 403, "acting under an expired mandate");
	cr_expect_eq(act_as(&rep, PARTY), 303);
	cr_expect_eq(get_status(&rep, "/carpeta", &body), 200);
	char *acting = http_extract(body, "id=\"acting-for\">", '<');
	cr_expect_str_eq(acting ? acting : "", "Actueu en nom de ");
	cr_expect(strstr(body, "(12345678Z) · <a href=\"/carpeta/representacio\">") != NULL, "%s", body);
	free(acting);
	free(body);

	/* The form says whose application it is and who files it for them. */
	cr_expect_eq(get_status(&rep, "/tramits/GEN-001/new", &body), 200);
	cr_expect(strstr(body, "Maria Demo Ciutadana (12345678Z), presentada en la seua representació per ") != NULL,
	          "%s", strstr(body, "id=\"applicant\"") ? strstr(body, "id=\"applicant\"") : body);
	cr_expect(strstr(body, " (" REP ")</p>") != NULL, "the representative is named");
	free(body);

	/* Filing: the party is the applicant; the event names the representative and the party. */
	struct http_response r;
	http_post_json(rep.http, "/api/v1/tramits/GEN-001/expedients", form, rep.csrf, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	char *id = http_extract(r.body, "\"id\":\"", '"');
	http_response_free(&r);
	char *row = sql1("SELECT applicant_nif || ' ' || applicant_name FROM expedient WHERE id = '%s'", id);
	cr_expect_str_eq(row, PARTY " Maria Demo Ciutadana");
	free(row);
	row = sql1("SELECT actor_kind || ':' || actor_id || ' represents ' || (payload->>'represents') "
	           "FROM event WHERE expedient_id = '%s' AND seq = 1", id);
	cr_expect_str_eq(row, "citizen:00000000T represents 12345678Z");
	free(row);
	/* A replay of the log rebuilds the party as applicant from the event alone. */
	cr_expect_eq(cli(&out, "audit replay"), 0, "%s", out);
	free(out);

	/* Outside the mandate's tràmits: refused, with the reason, and nothing filed. */
	cr_expect_eq(get_status(&rep, "/tramits/PAD-005/new", &body), 403);
	char *why = http_extract(body, "id=\"error\">", '<');
	cr_expect_str_eq(why ? why : "", "La representació amb què actueu no cobreix aquest tràmit avui: no "
	                 "el podeu presentar ni hi podeu actuar en nom de la persona o empresa representada. "
	                 "Torneu a actuar en nom vostre o demaneu una representació que l'incloga.");
	free(why);
	free(body);
	http_post_json(rep.http, "/api/v1/tramits/PAD-005/expedients", "{\"form\": {}}", rep.csrf, &r);
	cr_expect_eq(r.status, 403);
	cr_expect(strstr(r.body, "\"es\":\"La representación con la que actúa no cubre este trámite hoy") != NULL,
	          "%s", r.body);
	http_response_free(&r);
	row = sql1("SELECT count(*) FROM expedient");
	cr_expect_str_eq(row, "1");
	free(row);

	/* The representative sees it while acting; the party sees it in their own folder. */
	char path[200];
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	cr_expect_eq(get_status(&rep, path, NULL), 200);
	struct person party = sign_in(PARTY, "es");
	cr_expect_eq(get_status(&party, "/carpeta", &body), 200);
	cr_expect(strstr(body, id) != NULL, "the party's folder lists the expedient");
	cr_expect(strstr(body, "id=\"acting-for\"") == NULL);
	free(body);
	cr_expect_eq(get_status(&party, path, NULL), 200);
	/* Acting for themselves again, the representative's own folder does not list it. */
	cr_expect_eq(act_as(&rep, ""), 303);
	cr_expect_eq(get_status(&rep, "/carpeta", &body), 200);
	cr_expect(strstr(body, id) == NULL, "the representative's own folder lists the party's expedient");
	free(body);
	cr_expect_eq(get_status(&rep, path, NULL), 404);
	free(id);
	person_free(&rep);
	person_free(&party);
}

Test(representation, expiry_and_revocation_end_access)
{
	char *id = http_citizen_files(port, "GEN-001", form); /* the demo citizen, 12345678Z */
	char *out, path[200];
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	cr_assert_eq(cli(&out, "mandates add " REP " " PARTY " --to 2099-12-31 --employee clara"), 0, "%s", out);
	free(out);
	struct person rep = sign_in(REP, "ca");
	cr_assert_eq(act_as(&rep, PARTY), 303);
	cr_expect_eq(get_status(&rep, path, NULL), 200, "a mandate for every tràmit covers GEN-001");

	/* The mandate's last day passes. */
	free(sql1("UPDATE mandate SET valid_from = current_date - 30, valid_to = current_date - 1"));
	char *body;
	cr_expect_eq(get_status(&rep, path, NULL), 404, "an expired mandate still gives access");
	cr_expect_eq(get_status(&rep, "/carpeta", &body), 200);
	cr_expect(strstr(body, "id=\"acting-for\"") == NULL, "still acting under an expired mandate");
	cr_expect(strstr(body, id) == NULL);
	free(body);
	char *row = sql1("SELECT coalesce(acting_as, '-') FROM web_session WHERE principal_id = '" REP "'");
	cr_expect_str_eq(row, "-");
	free(row);

	/* A new mandate, then its revocation. */
	cr_assert_eq(cli(&out, "mandates add " REP " " PARTY " --to 2099-12-31 --import rea"), 0, "%s", out);
	free(out);
	cr_assert_eq(act_as(&rep, PARTY), 303);
	cr_expect_eq(get_status(&rep, path, NULL), 200);
	cr_expect_eq(cli(&out, "mandates revoke 2 --employee clara"), 0, "%s", out);
	cr_expect_str_eq(out, "mandate 2 revoked\n");
	free(out);
	cr_expect_eq(cli(&out, "mandates revoke 2 --employee clara"), 1);
	cr_expect_str_eq(out, "tramit: mandate 2 was revoked already; nothing was changed\n");
	free(out);
	cr_expect_eq(get_status(&rep, path, NULL), 404, "a revoked mandate still gives access");
	char api[200];
	snprintf(api, sizeof(api), "/api/v1/expedients/%s", id);
	cr_expect_eq(get_status(&rep, api, NULL), 404);
	cr_expect_eq(act_as(&rep, PARTY), 403, "switching to a party under a revoked mandate");
	free(id);
	person_free(&rep);
}
