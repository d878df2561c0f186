/* The document repository's staging, against a real PostgreSQL: files posted again under the
 * same submission key replace that field's pending files and leave another field's alone, so
 * a form that comes back with an error keeps what was attached elsewhere. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/docstore.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static PGconn *conn;
static struct eng_store *s;

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament", "Ayuntamiento", true, &err), 0, "%s",
	             err.msg);
}

static void teardown(void)
{
	eng_store_close(s);
	PQfinish(conn);
	pgtmp_stop(&cluster);
}

TestSuite(docstore, .init = setup, .fini = teardown, .timeout = 120);

static void stage(const char *field, const char *name, const char *bytes)
{
	struct eng_doc_upload f = {.field = field, .name = name, .media_type = "application/pdf",
	                           .data = bytes, .len = strlen(bytes)};
	struct eng_error err = {0};
	cr_assert_eq(eng_docstore_stage(s, NULL, "demo", "citizen:12345678Z", "key-1", &f, 1, &err), 0,
	             "%s", err.msg);
}

static char *pending(void)
{
	PGresult *r = PQexec(conn, "SELECT string_agg(field || ':' || name, ',' ORDER BY field, name) "
	                           "FROM attachment WHERE expedient_id IS NULL");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

Test(docstore, a_field_posted_again_replaces_its_files_only)
{
	stage("plans", "plànol.pdf", "%PDF-1.4 plans");
	stage("photos", "foto.pdf", "%PDF-1.4 photo");
	char *p = pending();
	cr_expect_str_eq(p, "photos:foto.pdf,plans:plànol.pdf");
	free(p);
	/* The plans chosen again: the new file replaces the old one; the photo stays. */
	stage("plans", "plànol-2.pdf", "%PDF-1.4 plans, corrected");
	p = pending();
	cr_expect_str_eq(p, "photos:foto.pdf,plans:plànol-2.pdf");
	free(p);
	/* A field name with a quote and a backslash is still one array element. */
	stage("we\"ird\\", "x.pdf", "%PDF-1.4 x");
	stage("we\"ird\\", "y.pdf", "%PDF-1.4 y");
	p = pending();
	cr_expect_str_eq(p, "photos:foto.pdf,plans:plànol-2.pdf,we\"ird\\:y.pdf");
	free(p);
}
