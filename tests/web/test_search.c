/* Catalogue search through the real server: the page in both languages, accents and case
 * ignored, either language's words found on either page, a word found inside longer ones,
 * ranking, the escaped echo, the limit, the same results from the API, and the search box on
 * every page. */
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
	test_server_start(&srv, NULL);
}

static void teardown(void)
{
	test_server_stop(&srv);
}

TestSuite(search, .init = setup, .fini = teardown, .timeout = 120);

/* The codes of the results list of a page, in order, as "A B C". */
static void codes_of(const char *body, char *out, size_t cap)
{
	out[0] = '\0';
	const char *list = strstr(body, "id=\"results\"");
	for (const char *p = list; p && (p = strstr(p, "<a href=\"/tramits/"));) {
		p += strlen("<a href=\"/tramits/");
		size_t len = strcspn(p, "\"");
		snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", out[0] ? " " : "", (int)len, p);
	}
}

static void expect_page(struct http_client *c, const char *q, const char *codes, const char *count)
{
	char path[400], got[200];
	snprintf(path, sizeof(path), "/cerca?q=%s", q);
	struct http_response r;
	http_get(c, path, &r);
	cr_expect_eq(r.status, 200, "%s", path);
	codes_of(r.body, got, sizeof(got));
	cr_expect_str_eq(got, codes, "results of %s", path);
	char *status = http_extract(r.body, "<p id=\"search-count\" role=\"status\">", '<');
	cr_expect_str_eq(status, count, "%s", path);
	free(status);
	http_response_free(&r);
}

Test(search, pages_find_tramits_in_either_language_without_accents)
{
	struct http_client *ca = http_client_new(srv.port, "ca"), *es = http_client_new(srv.port, "es");
	expect_page(ca, "padro", "PAD-005", "1 tràmit per a «padro»");
	expect_page(ca, "Padr%C3%B3", "PAD-005", "1 tràmit per a «Padró»");
	expect_page(ca, "subvenci%C3%B3n", "PAR-004", "1 tràmit per a «subvención»");
	expect_page(es, "AUTORIZACION+terraza", "VIA-001", "1 trámite para «AUTORIZACION terraza»");
	expect_page(es, "gen-001", "GEN-001", "1 trámite para «gen-001»");
	/* Title words rank first: "sol" is in GEN-001's title-less summary and elsewhere. */
	expect_page(ca, "sol", "GEN-001 PAR-004 VIA-001", "3 tràmits per a «sol»");
	expect_page(ca, "zzzz", "", "0 tràmits per a «zzzz»");
	struct http_response r;
	http_get(ca, "/cerca?q=zzzz", &r);
	cr_expect(strstr(r.body, "<p id=\"search-none\">Cap tràmit no coincideix.") != NULL, "%s", r.body);
	http_response_free(&r);
	http_get(ca, "/cerca?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "<script>alert") == NULL, "the query is echoed escaped");
	cr_expect(strstr(r.body, "«&lt;script&gt;alert(1)&lt;/script&gt;»") != NULL, "%s", r.body);
	http_response_free(&r);
	char longq[300];
	memset(longq, 'a', 201);
	strcpy(longq + 201, "");
	char path[400];
	snprintf(path, sizeof(path), "/cerca?q=%s", longq);
	http_get(es, path, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "La búsqueda puede tener como máximo 200 caracteres.") != NULL, "%s", r.body);
	http_response_free(&r);
	/* Every page carries the search box, labelled. */
	http_get(ca, "/verify", &r);
	cr_expect(strstr(r.body, "<form method=\"get\" action=\"/cerca\" role=\"search\" class=\"site-search\">"
	                         "<label for=\"site-search\">Cerca un tràmit</label>") != NULL, "%s", r.body);
	http_response_free(&r);
	http_client_free(ca);
	http_client_free(es);
}

Test(search, the_api_answers_the_same_search)
{
	struct http_client *c = http_client_new(srv.port, NULL);
	struct http_response r;
	http_get(c, "/api/v1/tramits?q=certificat", &r);
	cr_expect_eq(r.status, 200);
	const char *first = "{\"tramits\":[{\"code\":\"PAD-005\",";
	cr_expect(strncmp(r.body, first, strlen(first)) == 0, "%s", r.body);
	cr_expect(strstr(r.body, "\"code\":\"GEN-001\"") == NULL, "%s", r.body);
	http_response_free(&r);
	http_get(c, "/api/v1/tramits?q=zzzz", &r);
	cr_expect_str_eq(r.body, "{\"tramits\":[]}");
	http_response_free(&r);
	char path[400];
	snprintf(path, sizeof(path), "/api/v1/tramits?q=%0201d", 0);
	http_get(c, path, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "\"code\":\"bad_request\",\"error\":\"q: at most 200 bytes\"") != NULL, "%s", r.body);
	http_response_free(&r);
	http_client_free(c);
}
