/* Employee sign-in against a real server started without --demo and a real PostgreSQL: the
 * password form, the same answer for a wrong password and an unknown user, the rate limit
 * per username and per address, session rotation, the trusted-header mode behind a proxy,
 * and `tramit employee password`. Raw HTTP over a socket where cookies and headers must be
 * seen or set by hand. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define ANNA_PASSWORD "correcte cavall bateria grapa"
#define BERNAT_PASSWORD "una altra contrasenya llarga"

static struct eng_pgcluster cluster;
static PGconn *conn;
static pid_t server;
static int port;
static char log_path[600];

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	port = http_free_port();
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	server = 0;
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(signin, .init = setup, .fini = teardown, .timeout = 240);

/* Runs `tramit ARGS` on the test's database with stdin from `input`; stdout and stderr
 * together into *out. Returns the exit status. */
static int cli(char **out, const char *input, const char *args)
{
	return shell_run(out, NULL, "printf '%%s\\n' '%s' | TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=ajuntament "
	                 "'%s' %s 2>&1", input, cluster.conninfo, TRAMIT_BINARY, args);
}

static void add_employee(const char *username, const char *name, const char *password)
{
	char *out, args[256];
	snprintf(args, sizeof(args), "employee add %s --name '%s'", username, name);
	cr_assert_eq(cli(&out, "", args), 0, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "employee password %s", username);
	cr_assert_eq(cli(&out, password, args), 0, "%s", out);
	cr_assert(strstr(out, password) == NULL, "the password was echoed: %s", out);
	free(out);
}

/* Starts the server without --demo; extra is NULL or up to two more NAME=value settings. */
static void start(const char *extra1, const char *extra2)
{
	add_employee("anna", "Anna Gestora Prova", ANNA_PASSWORD);
	add_employee("bernat", "Bernat Gestor Prova", BERNAT_PASSWORD);
	static char env_db[1200], env_port[32], env_dir[600];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	const char *env[] = {env_db, env_port, env_dir, "TRAMIT_ENTITY=ajuntament", extra1, extra2, NULL};
	const char *args[] = {"serve", NULL};
	server = tramit_start(args, env, port, log_path);
}

/* One request over a fresh connection; returns the whole response (malloc'd). */
static char *raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *raw(const char *fmt, ...)
{
	char req[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t got;
	while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)got;
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static int status_of(const char *resp)
{
	int st = 0;
	sscanf(resp, "HTTP/1.%*d %d", &st);
	return st;
}

/* The value of cookie `name` set by the response, or NULL (malloc'd). */
static char *set_cookie(const char *resp, const char *name)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "Set-Cookie: %s=", name);
	const char *p = strstr(resp, needle);
	return p ? http_extract(p, needle, ';') : NULL;
}

/* Signs in over raw HTTP with the cookies in `cookies` ("" for none); returns the raw response. */
static char *raw_sign_in(const char *cookies, const char *username, const char *password)
{
	char *page = raw("GET /login HTTP/1.0\r\nCookie: %s\r\n\r\n", cookies);
	cr_assert_eq(status_of(page), 200);
	/* A signed-in page also holds the sign-out form's token: take the sign-in form's. */
	const char *form = strstr(page, "action=\"/login\"");
	cr_assert_not_null(form);
	char *lcsrf = set_cookie(page, "lcsrf"), *tok = http_extract(form, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(lcsrf);
	cr_assert_not_null(tok);
	char *pw = http_form_escape(password), body[512];
	snprintf(body, sizeof(body), "csrf=%s&next=&username=%s&password=%s", tok, username, pw);
	char *resp = raw("POST /login HTTP/1.0\r\nCookie: %s%slcsrf=%s\r\nContent-Type: "
	                 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
	                 cookies, *cookies ? "; " : "", lcsrf, strlen(body), body);
	free(page);
	free(lcsrf);
	free(tok);
	free(pw);
	return resp;
}

/* Posts the password form with client c; returns the status and leaves the message shown
 * (or "" if none) in *message (malloc'd). */
static long sign_in(struct http_client *c, const char *username, const char *password, char **message)
{
	struct http_response r;
	http_get(c, "/login", &r);
	cr_assert_eq(r.status, 200);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok);
	http_response_free(&r);
	char *pw = http_form_escape(password), body[512];
	snprintf(body, sizeof(body), "csrf=%s&next=&username=%s&password=%s", tok, username, pw);
	http_post_form(c, "/login", body, &r);
	long status = r.status;
	if (status == 303)
		cr_expect_str_eq(r.location, "/backoffice");
	char *m = http_extract(r.body, "id=\"signin-error\">", '<');
	*message = m ? m : strdup("");
	http_response_free(&r);
	free(tok);
	free(pw);
	return status;
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static char *read_log(void)
{
	FILE *f = fopen(log_path, "r");
	cr_assert_not_null(f);
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

#define WRONG_CA "El nom d&#39;usuari o la contrasenya no són correctes. Reviseu-los i torneu-ho a provar."
#define WRONG_ES "El nombre de usuario o la contraseña no son correctos. Revíselos y vuelva a intentarlo."

Test(signin, password_signs_an_employee_into_the_back_office)
{
	start(NULL, NULL);
	struct http_client *c = http_client_new(port, "ca-ES,ca;q=0.9");
	struct http_response r;
	http_get(c, "/login", &r);
	cr_expect(strstr(r.body, "<input type=\"password\" id=\"password\" name=\"password\"") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "id=\"signin-citizen\"") == NULL, "no demo sign-in outside demo mode");
	http_response_free(&r);
	char *msg;
	cr_assert_eq(sign_in(c, "anna", ANNA_PASSWORD, &msg), 303);
	cr_expect_str_eq(msg, "");
	free(msg);
	http_get(c, "/backoffice", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "Anna Gestora Prova") != NULL, "%.2000s", r.body);
	http_response_free(&r);
	http_client_free(c);

	char *hash = query1("SELECT password_hash FROM employee WHERE username = 'anna'");
	cr_expect_eq(strncmp(hash, "scrypt$N=32768,r=8,p=1$", 23), 0, "%s", hash);
	char *when = query1("SELECT last_signin_at > now() - interval '1 minute' FROM employee WHERE username = 'anna'");
	cr_expect_str_eq(when, "t");
	char *log = read_log();
	cr_expect(strstr(log, ANNA_PASSWORD) == NULL && strstr(log, hash + 23) == NULL,
	          "the password or its hash reached the log");
	free(log);
	free(when);
	free(hash);
}

Test(signin, wrong_password_and_unknown_user_get_the_same_message_in_both_languages)
{
	start(NULL, NULL);
	struct http_client *ca = http_client_new(port, "ca-ES,ca;q=0.9"), *es = http_client_new(port, "es-ES,es;q=0.9");
	char *m1, *m2, *m3, *m4;
	cr_expect_eq(sign_in(ca, "anna", "no és la contrasenya", &m1), 401);
	cr_expect_eq(sign_in(ca, "ningu", ANNA_PASSWORD, &m2), 401);
	cr_expect_eq(sign_in(es, "anna", "no es la contraseña", &m3), 401);
	cr_expect_eq(sign_in(es, "nadie", ANNA_PASSWORD, &m4), 401);
	cr_expect_str_eq(m1, WRONG_CA);
	cr_expect_str_eq(m2, WRONG_CA);
	cr_expect_str_eq(m3, WRONG_ES);
	cr_expect_str_eq(m4, WRONG_ES);
	free(m1), free(m2), free(m3), free(m4);
	http_client_free(ca);
	http_client_free(es);
}

Test(signin, sixth_failure_is_refused_and_the_address_limit_follows)
{
	start(NULL, NULL);
	struct http_client *c = http_client_new(port, "ca-ES,ca;q=0.9");
	char *m;
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(sign_in(c, "anna", "no és la contrasenya", &m), 401, "failure %d", i + 1);
		free(m);
	}
	cr_assert_eq(sign_in(c, "anna", ANNA_PASSWORD, &m), 429, "the right password after 5 failures");
	PQclear(PQexec(conn, "SET TIME ZONE 'Europe/Madrid'"));
	char *until = query1("SELECT to_char(date_trunc('minute', min(at) + interval '15 minutes') + "
	                     "interval '1 minute', 'HH24:MI') FROM signin_failure WHERE username = 'anna'");
	char want[256];
	snprintf(want, sizeof(want), "Massa intents d&#39;identificació fallits. Per seguretat, torneu-ho "
	         "a provar a partir de les %s.", until);
	cr_expect_str_eq(m, want);
	free(m);
	struct http_client *es = http_client_new(port, "es-ES,es;q=0.9");
	cr_expect_eq(sign_in(es, "anna", ANNA_PASSWORD, &m), 429);
	snprintf(want, sizeof(want), "Demasiados intentos de identificación fallidos. Por seguridad, "
	         "vuelva a intentarlo a partir de las %s.", until);
	cr_expect_str_eq(m, want);
	free(m);
	free(until);
	char *count = query1("SELECT count(*) FROM signin_failure");
	cr_expect_str_eq(count, "5", "refused attempts do not extend the window");
	free(count);

	/* Another username from the same address: 5 failures so far, the limit is 20. */
	cr_expect_eq(sign_in(es, "bernat", BERNAT_PASSWORD, &m), 303);
	free(m);
	for (int i = 0; i < 15; i++) {
		char user[32];
		snprintf(user, sizeof(user), "ningu%d", i);
		cr_assert_eq(sign_in(c, user, "qualsevol cosa llarga", &m), 401, "failure %d", i + 6);
		free(m);
	}
	struct http_client *b = http_client_new(port, "ca-ES,ca;q=0.9");
	cr_expect_eq(sign_in(b, "bernat", BERNAT_PASSWORD, &m), 429, "the 21st attempt from the address");
	cr_expect_eq(strncmp(m, "Massa intents", 13), 0, "%s", m);
	free(m);
	http_client_free(b);
	http_client_free(es);
	http_client_free(c);
}

Test(signin, success_clears_the_failures_of_the_username)
{
	start(NULL, NULL);
	struct http_client *c = http_client_new(port, "ca-ES,ca;q=0.9");
	char *m;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(sign_in(c, "anna", "no és la contrasenya", &m), 401);
		free(m);
	}
	cr_assert_eq(sign_in(c, "anna", ANNA_PASSWORD, &m), 303);
	free(m);
	char *count = query1("SELECT count(*) FROM signin_failure WHERE username = 'anna'");
	cr_expect_str_eq(count, "0");
	free(count);
	http_client_free(c);
}

Test(signin, signing_in_again_ends_the_old_session)
{
	start(NULL, NULL);
	char *resp = raw_sign_in("", "anna", ANNA_PASSWORD);
	cr_assert_eq(status_of(resp), 303, "%s", resp);
	char *sid1 = set_cookie(resp, "sid");
	cr_assert_not_null(sid1);
	free(resp);
	resp = raw("GET /backoffice HTTP/1.0\r\nCookie: sid=%s\r\n\r\n", sid1);
	cr_expect_eq(status_of(resp), 200);
	free(resp);

	char cookies[128];
	snprintf(cookies, sizeof(cookies), "sid=%s", sid1);
	resp = raw_sign_in(cookies, "anna", ANNA_PASSWORD);
	cr_assert_eq(status_of(resp), 303, "%s", resp);
	char *sid2 = set_cookie(resp, "sid");
	cr_assert_not_null(sid2);
	cr_expect_str_neq(sid1, sid2);
	free(resp);
	resp = raw("GET /backoffice HTTP/1.0\r\nCookie: sid=%s\r\n\r\n", sid1);
	cr_expect_eq(status_of(resp), 303, "the old session no longer works");
	cr_expect(strstr(resp, "Location: /login?next=%2Fbackoffice\r\n") != NULL, "%s", resp);
	free(resp);
	resp = raw("GET /backoffice HTTP/1.0\r\nCookie: sid=%s\r\n\r\n", sid2);
	cr_expect_eq(status_of(resp), 200);
	free(resp);
	char *count = query1("SELECT count(*) FROM web_session WHERE principal_id = 'anna'");
	cr_expect_str_eq(count, "1");
	free(count);
	free(sid1);
	free(sid2);
}

Test(signin, trusted_header_from_a_trusted_proxy_signs_in)
{
	start("TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=10.0.0.9, 127.0.0.1");
	char *resp = raw("GET /backoffice HTTP/1.0\r\nX-Remote-User: employee:anna\r\n\r\n");
	cr_expect_eq(status_of(resp), 200, "%.500s", resp);
	cr_expect(strstr(resp, "Anna Gestora Prova") != NULL);
	char *sid = set_cookie(resp, "sid");
	cr_assert_not_null(sid);
	free(resp);
	/* The header wins over the cookie: another employee, or someone unknown, is not Anna. */
	resp = raw("GET /backoffice HTTP/1.0\r\nCookie: sid=%s\r\nX-Remote-User: employee:bernat\r\n\r\n", sid);
	cr_expect_eq(status_of(resp), 200);
	cr_expect(strstr(resp, "Bernat Gestor Prova") != NULL && strstr(resp, "Anna Gestora Prova") == NULL);
	free(resp);
	resp = raw("GET /backoffice HTTP/1.0\r\nCookie: sid=%s\r\nX-Remote-User: employee:ningu\r\n\r\n", sid);
	cr_expect_eq(status_of(resp), 303);
	free(resp);
	free(sid);
	resp = raw("GET /carpeta HTTP/1.0\r\nX-Remote-User: 12345678Z\r\n\r\n");
	cr_expect_eq(status_of(resp), 200, "%.500s", resp);
	cr_expect(strstr(resp, "12345678Z") != NULL);
	free(resp);
	/* Neither a valid NIF nor a known employee: not signed in. */
	resp = raw("GET /backoffice HTTP/1.0\r\nX-Remote-User: employee:ningu\r\n\r\n");
	cr_expect_eq(status_of(resp), 303);
	free(resp);
	resp = raw("GET /carpeta HTTP/1.0\r\nX-Remote-User: 12345678A\r\n\r\n");
	cr_expect_eq(status_of(resp), 303);
	free(resp);
}

Test(signin, trusted_header_from_another_address_is_ignored)
{
	start("TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=10.0.0.9");
	for (int i = 0; i < 2; i++) {
		char *resp = raw("GET /backoffice HTTP/1.0\r\nX-Remote-User: employee:anna\r\n\r\n");
		cr_expect_eq(status_of(resp), 303);
		cr_expect(strstr(resp, "Location: /login?next=%2Fbackoffice\r\n") != NULL, "%s", resp);
		cr_expect(strstr(resp, "Set-Cookie: sid=") == NULL);
		free(resp);
	}
	char *log = read_log();
	const char *line = "tramit: ignoring the X-Remote-User header from 127.0.0.1, which is not in "
	                   "TRAMIT_TRUSTED_PROXY (further ones are ignored silently)\n";
	const char *first = strstr(log, line);
	cr_expect_not_null(first, "%s", log);
	cr_expect(first && strstr(first + 1, line) == NULL, "logged once");
	free(log);
}

Test(signin, employee_password_refuses_a_short_password_and_never_echoes_it)
{
	char *out;
	cr_assert_eq(cli(&out, "", "employee add anna --name 'Anna Gestora Prova'"), 0, "%s", out);
	cr_expect_str_eq(out, "employee anna (Anna Gestora Prova) in entity ajuntament with 0 roles; set a "
	                 "password with `tramit employee password anna`\n");
	free(out);
	cr_expect_eq(cli(&out, "curta-11ch", "employee password anna"), 1);
	cr_expect_str_eq(out, "tramit: the password must have at least 12 characters; it has 10. Nothing was changed.\n");
	free(out);
	/* Twelve characters, fourteen bytes: characters are counted, not bytes. */
	cr_expect_eq(cli(&out, "àààààààààààà", "employee password anna"), 0);
	cr_expect_str_eq(out, "password set for employee anna in entity ajuntament\n");
	free(out);
	cr_expect_eq(cli(&out, "ççççççççççç", "employee password anna"), 1);
	cr_expect_str_eq(out, "tramit: the password must have at least 12 characters; it has 11. Nothing was changed.\n");
	free(out);
	cr_expect_eq(cli(&out, ANNA_PASSWORD, "employee password ningu"), 1);
	cr_expect_str_eq(out, "tramit: setting the password: no employee ningu in entity ajuntament; add the "
	                 "employee first with `tramit employee add`\n");
	cr_expect(strstr(out, ANNA_PASSWORD) == NULL);
	free(out);
	char *hash = query1("SELECT password_hash FROM employee WHERE username = 'anna'");
	cr_expect_eq(strncmp(hash, "scrypt$N=32768,r=8,p=1$", 23), 0, "%s", hash);
	free(hash);
}
