/* Designer text is untrusted (it comes from tràmit Lua): a tràmit whose repeatable group is
 * labelled with markup gets it escaped on the form page and on the review page, including
 * the review's line for a group left empty. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/server.h"
#include "tests/support/shell.h"

static struct test_server srv;
static char dir[] = "/tmp/tramit-designer-XXXXXX";

#define HOSTILE "<script>x()</script>"
#define ESCAPED "&lt;script&gt;x()&lt;/script&gt;"

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	shell_tramit_variant(dir, "participacio/subvencions-associacions.lua",
	                     "label = t(\"Activitats\", \"Actividades\"), min = 1",
	                     "label = t(\"" HOSTILE "\", \"" HOSTILE "\"), min = 0");
	static char tramits[300];
	snprintf(tramits, sizeof(tramits), "%s/tramits", dir);
	static const char *const env[] = {"TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=127.0.0.1",
	                                  "TRAMIT_CALENDARS_DIR=" TRAMIT_SOURCE_DIR "/tramits/calendars", NULL};
	struct test_server_options opt = {.env = env, .tramits_dir = tramits};
	test_server_start(&srv, &opt);
}

static void teardown(void)
{
	test_server_stop(&srv);
	char *out;
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

TestSuite(designer_text, .init = setup, .fini = teardown, .timeout = 120);

Test(designer_text, a_group_label_is_escaped_on_the_form_and_the_review)
{
	struct http_client *c = http_client_new(srv.port, "ca");
	http_client_header(c, "X-Remote-User: G12345674");
	struct http_response r;
	http_get(c, "/tramits/PAR-004/new", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, HOSTILE) == NULL, "raw markup on the form");
	cr_expect(strstr(r.body, ESCAPED) != NULL, "the label is missing from the form");
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(csrf);
	http_response_free(&r);
	/* No instance of the group: the review says so under its label. */
	char body[600];
	snprintf(body, sizeof(body), "csrf=%s&nif_entitat=G12345674&nom_entitat=Associaci%%C3%%B3&"
	         "compte=ES9121000418450200051332&descripcio=Festa&pressupost=5000&import=2500&"
	         "_action=review", csrf);
	http_post_form(c, "/tramits/PAR-004/new", body, &r);
	cr_expect(strstr(r.body, HOSTILE) == NULL, "raw markup on the review (%ld)", r.status);
	cr_expect(strstr(r.body, "<dt>" ESCAPED "</dt>") != NULL, "the empty group's line (%ld): %s", r.status,
	          r.body);
	http_response_free(&r);
	free(csrf);
	http_client_free(c);
}
