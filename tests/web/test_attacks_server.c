/* The real server over a tràmit folder holding the general application and every attack of
 * tests/fixtures/attacks: it starts, names each attack as left out of the catalogue (one line
 * each, nothing forged), and serves the home page and GEN-001 as usual. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"

#define ATTACKS_DIR TRAMIT_SOURCE_DIR "/tests/fixtures/attacks"
#define GENERAL TRAMIT_SOURCE_DIR "/tramits/general/instancia-general.lua"
#define MARKER "/tmp/tramit-attack-escaped"

enum { MAX_ATTACKS = 256 };

static struct eng_pgcluster cluster;
static pid_t server;
static int port;
static char log_path[600], tramits_dir[600];
static char *attack_files[MAX_ATTACKS];
static size_t n_attacks;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void copy_file(const char *from, const char *dir, const char *name)
{
	char to[1200], buf[65536];
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	cr_assert_not_null(in, "%s: %s", from, strerror(errno));
	cr_assert_not_null(out, "%s: %s", to, strerror(errno));
	for (size_t n; (n = fread(buf, 1, sizeof(buf), in)) > 0;)
		cr_assert_eq(fwrite(buf, 1, n, out), n, "writing %s", to);
	cr_assert(!ferror(in), "reading %s", from);
	fclose(in);
	cr_assert_eq(fclose(out), 0, "closing %s", to);
}

/* Copies the general application and every attack into a fresh folder under the cluster's,
 * which pgtmp_stop removes with everything in it. */
static void make_tramits_dir(void)
{
	snprintf(tramits_dir, sizeof(tramits_dir), "%s/tramits", cluster.dir);
	cr_assert_eq(mkdir(tramits_dir, 0755), 0, "mkdir %s: %s", tramits_dir, strerror(errno));
	copy_file(GENERAL, tramits_dir, "instancia-general.lua");
	DIR *d = opendir(ATTACKS_DIR);
	cr_assert_not_null(d, "cannot read %s: %s", ATTACKS_DIR, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (!ends_with(e->d_name, ".lua"))
			continue;
		cr_assert_lt(n_attacks, MAX_ATTACKS);
		char from[1200];
		snprintf(from, sizeof(from), "%s/%s", ATTACKS_DIR, e->d_name);
		copy_file(from, tramits_dir, e->d_name);
		attack_files[n_attacks++] = strdup(e->d_name);
	}
	closedir(d);
	cr_assert_geq(n_attacks, 20, "only %zu attack files in %s", n_attacks, ATTACKS_DIR);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert(unlink(MARKER) == 0 || errno == ENOENT, "cannot remove %s", MARKER);
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	make_tramits_dir();
	port = http_free_port();
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	static char env_db[1200], env_port[32], env_dir[700];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s", tramits_dir);
	const char *env[] = {env_db, env_port, env_dir, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	pgtmp_stop(&cluster);
	for (size_t i = 0; i < n_attacks; i++)
		free(attack_files[i]);
	n_attacks = 0;
}

TestSuite(attacks_server, .init = setup, .fini = teardown, .timeout = 180);

static char *read_log(void)
{
	FILE *f = fopen(log_path, "rb");
	cr_assert_not_null(f, "%s: %s", log_path, strerror(errno));
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	for (size_t n; (n = fread(s + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (cap - len - 1 == 0)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	s[len] = '\0';
	return s;
}

/* Counts the log lines that start with prefix and, when it is not NULL, contain needle. */
static size_t lines_with(const char *log, const char *prefix, const char *needle)
{
	size_t n = 0, len = strlen(prefix);
	for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '\n');
		size_t line_len = end ? (size_t)(end - p) : strlen(p);
		if (strncmp(p, prefix, len) != 0)
			continue;
		const char *hit = needle ? strstr(p, needle) : p;
		if (hit && (size_t)(hit - p) < line_len)
			n++;
	}
	return n;
}

Test(attacks_server, leaves_each_attack_out_of_the_catalogue_on_one_line)
{
	char *log = read_log();
	for (size_t i = 0; i < n_attacks; i++) {
		char prefix[1200];
		snprintf(prefix, sizeof(prefix), "%s/%s:", tramits_dir, attack_files[i]);
		cr_expect_eq(lines_with(log, prefix, NULL), 1,
		             "%s is not named exactly once as refused in %s", attack_files[i], log_path);
	}
	char summary[128];
	snprintf(summary, sizeof(summary), "tramit: %zu tràmit files are left out of the catalogue",
	         n_attacks);
	cr_expect_eq(lines_with(log, summary, NULL), 1, "no «%s» line in %s", summary, log_path);
	/* An attack that smuggles a newline into its message would add a line of its own. */
	size_t summaries = lines_with(log, "tramit: ", "left out of the catalogue");
	cr_expect_eq(summaries, 1, "%zu lines of %s say what was left out: one is forged", summaries,
	             log_path);
	char loaded[800];
	snprintf(loaded, sizeof(loaded), "tramit: 1 tràmit loaded from %s\n", tramits_dir);
	cr_expect(strstr(log, loaded) != NULL, "no «%.*s» in %s", (int)strlen(loaded) - 1, loaded,
	          log_path);
	cr_expect(strchr(log, '\x1b') == NULL, "a terminal escape reached the log");
	cr_expect(access(MARKER, F_OK) != 0 && errno == ENOENT, "%s exists: an attack escaped",
	          MARKER);
	free(log);
}

static void expect_contains(const struct http_response *r, const char *needle)
{
	cr_expect(strstr(r->body, needle) != NULL, "expected «%s» in the page:\n%.3000s", needle,
	          r->body);
}

Test(attacks_server, serves_the_home_page_and_gen_001)
{
	struct http_client *c = http_client_new(port, "ca-ES,ca;q=0.9");
	struct http_response r;
	http_get(c, "/healthz", &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "\"database\":\"ok\",\"tramits\":1,");
	http_response_free(&r);

	http_get(c, "/", &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "<a href=\"/tramits/GEN-001\">Instància general</a>");
	cr_expect(strstr(r.body, "ATK-") == NULL, "an attack reached the catalogue:\n%.3000s", r.body);
	http_response_free(&r);

	http_get(c, "/tramits/GEN-001", &r);
	cr_expect_eq(r.status, 200);
	expect_contains(&r, "<h1>Instància general</h1>");
	http_response_free(&r);

	/* No attack is reachable by its code either. */
	http_get(c, "/tramits/ATK-001", &r);
	cr_expect_eq(r.status, 404);
	http_response_free(&r);

	/* And the server goes on answering. */
	http_get(c, "/", &r);
	cr_expect_eq(r.status, 200);
	http_response_free(&r);
	http_client_free(c);
}
