/* The repository's housekeeping against a real PostgreSQL: uploads of forms never filed go
 * after their grace period, with the bytes only they held (in the database or in the documents
 * folder); filed attachments, files a live draft keeps and recent uploads stay; blobs remain
 * immutable to anything but the sweep, and a blob someone points at cannot go even then. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/runtime/docstore.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "engine/runtime/sweep.h"
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

TestSuite(sweep, .init = setup, .fini = teardown, .timeout = 120);

static void sql(const char *q)
{
	PGresult *r = PQexec(conn, q);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	          PQresultErrorMessage(r));
	PQclear(r);
}

static char *value(const char *q)
{
	PGresult *r = PQexec(conn, q);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* The error a statement fails with ("" when it succeeds). */
static char *failure(const char *q)
{
	PGresult *r = PQexec(conn, q);
	char *v = strdup(PQresultStatus(r) == PGRES_FATAL_ERROR ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "");
	PQclear(r);
	return v;
}

/* Each upload in a field of its own (a field posted again replaces that field's files). */
static void stage(const char *folder, const char *key, const char *name, const char *bytes)
{
	struct eng_doc_upload f = {.field = name, .name = name, .media_type = "application/pdf",
	                           .data = bytes, .len = strlen(bytes)};
	struct eng_error err = {0};
	cr_assert_eq(eng_docstore_stage(s, folder, "demo", "citizen:12345678Z", key, &f, 1, &err), 0, "%s", err.msg);
}

/* Everything but the uploads named fresh*.pdf is made two days old (the blob rows' triggers are
 * bypassed for this, as only a test may). */
static void age_everything_but_fresh(void)
{
	sql("SET session_replication_role = replica");
	sql("UPDATE attachment SET created_at = now() - interval '48 hours' WHERE name NOT LIKE 'fresh%'");
	sql("UPDATE blob b SET created_at = now() - interval '48 hours' WHERE NOT EXISTS (SELECT 1 FROM "
	    "attachment a WHERE a.sha256 = b.sha256 AND a.name LIKE 'fresh%')");
	sql("SET session_replication_role = origin");
}

/* An expedient the attachments of key can be linked to, as filing would. */
static void file_key(const char *key)
{
	sql("INSERT INTO tramit_version (hash, code, version, source_path, source) VALUES "
	    "(repeat('a', 64), 'GEN-001', '1', 'x.lua', '') ON CONFLICT DO NOTHING");
	char q[600];
	snprintf(q, sizeof(q),
	         "WITH x AS (INSERT INTO expedient (entity_id, number, tramit_code, definition_hash, state, version, "
	         "applicant_nif, applicant_name, lang, created_at, updated_at, last_hash) VALUES ('demo', '%s', "
	         "'GEN-001', repeat('a', 64), 'submitted', 1, '12345678Z', 'Maria', 'ca', now(), now(), "
	         "repeat('0', 64)) RETURNING id) UPDATE attachment SET expedient_id = x.id, linked_at = now() "
	         "FROM x WHERE submission_key = '%s'", key, key);
	sql(q);
}

static void sweep(const char *folder, int hours, struct eng_sweep_counts *c)
{
	struct eng_error err = {0};
	cr_assert_eq(eng_repository_sweep(s, folder, hours, c, &err), 0, "%s", err.msg);
}

Test(sweep, abandoned_uploads_go_with_the_bytes_only_they_held)
{
	const char *old = "%PDF-1.4 abandoned", *gone = "%PDF-1.4 expired draft";
	stage(NULL, "key-old", "old.pdf", old);
	stage(NULL, "key-old", "shared.pdf", "%PDF-1.4 shared"); /* same bytes as a filed file */
	stage(NULL, "key-filed", "shared.pdf", "%PDF-1.4 shared");
	stage(NULL, "key-draft", "draft.pdf", "%PDF-1.4 kept by a draft");
	stage(NULL, "key-expired", "gone.pdf", gone);
	stage(NULL, "key-fresh", "fresh.pdf", "%PDF-1.4 fresh");
	sql("INSERT INTO form_draft (entity_id, principal, tramit_code, answers, submission_key, expires_at) VALUES "
	    "('demo', 'citizen:12345678Z', 'PAR-004', '[]', 'key-draft', now() + interval '20 days'), "
	    "('demo', 'citizen:12345678Z', 'VIA-001', '[]', 'key-expired', now() - interval '1 minute')");
	age_everything_but_fresh();
	file_key("key-filed");

	struct eng_sweep_counts c;
	sweep(NULL, 24, &c);
	cr_expect_eq(c.drafts, 1);
	cr_expect_eq(c.pending_files, 3, "old.pdf and shared.pdf of key-old, gone.pdf: %ld", c.pending_files);
	cr_expect_eq(c.blobs, 2, "the abandoned and the expired draft's bytes: %ld", c.blobs);
	cr_expect_eq(c.bytes, (long long)(strlen(old) + strlen(gone)));
	cr_expect_eq(c.kept_in_folder, 0);
	cr_expect_str_eq(value("SELECT string_agg(submission_key || '/' || name || CASE WHEN expedient_id IS NULL "
	                       "THEN ' pending' ELSE ' filed' END, ', ' ORDER BY submission_key) FROM attachment"),
	                 "key-draft/draft.pdf pending, key-filed/shared.pdf filed, key-fresh/fresh.pdf pending");
	cr_expect_str_eq(value("SELECT count(*) FROM blob"), "3");
	cr_expect_str_eq(value("SELECT count(*) FROM blob_chunk"), "3");
	cr_expect_str_eq(value("SELECT string_agg(tramit_code, ',') FROM form_draft"), "PAR-004");

	/* Nothing left to do: a second pass changes nothing. */
	sweep(NULL, 24, &c);
	cr_expect(c.drafts == 0 && c.pending_files == 0 && c.blobs == 0 && c.bytes == 0);
	/* The shortest grace period still leaves an upload of a minute ago. */
	sweep(NULL, 1, &c);
	cr_expect_eq(c.pending_files, 0);
}

Test(sweep, a_blob_in_the_documents_folder_goes_with_its_file)
{
	char folder[700], path[800];
	snprintf(folder, sizeof(folder), "%s/documents", cluster.dir);
	cr_assert_eq(mkdir(folder, 0750), 0);
	stage(folder, "key-old", "old.pdf", "%PDF-1.4 in the folder");
	char *sha = value("SELECT sha256 FROM blob");
	snprintf(path, sizeof(path), "%s/%.2s/%s", folder, sha, sha);
	cr_assert_eq(access(path, F_OK), 0, "the upload is a file: %s", path);
	age_everything_but_fresh();

	/* A server without the folder cannot delete the file, so it leaves the row. */
	struct eng_sweep_counts c;
	sweep(NULL, 24, &c);
	cr_expect_eq(c.pending_files, 1);
	cr_expect_eq(c.blobs, 0);
	cr_expect_eq(c.kept_in_folder, 1);
	cr_expect_eq(access(path, F_OK), 0, "the file stays");

	sweep(folder, 24, &c);
	cr_expect_eq(c.blobs, 1);
	cr_expect_eq(c.bytes, (long long)strlen("%PDF-1.4 in the folder"));
	cr_expect_eq(c.kept_in_folder, 0);
	cr_expect_neq(access(path, F_OK), 0, "the file is gone");
	char aside[800];
	snprintf(aside, sizeof(aside), "%s/%.2s/.%s.swept", folder, sha, sha);
	cr_expect_neq(access(aside, F_OK), 0, "nothing is left set aside");
	cr_expect_str_eq(value("SELECT count(*) FROM blob"), "0");

	/* The same bytes uploaded again are stored again, file and all. */
	stage(folder, "key-new", "again.pdf", "%PDF-1.4 in the folder");
	cr_expect_eq(access(path, F_OK), 0, "uploaded again, the file is back");
	free(sha);
}

Test(sweep, blobs_stay_immutable_and_referenced_blobs_cannot_go)
{
	stage(NULL, "key-filed", "filed.pdf", "%PDF-1.4 filed");
	stage(NULL, "key-free", "free.pdf", "%PDF-1.4 free");
	file_key("key-filed");
	sql("DELETE FROM attachment WHERE submission_key = 'key-free'");
	cr_expect_str_eq(failure("DELETE FROM blob_chunk"), "blob_chunk rows are immutable (content-addressed repository)");
	cr_expect_str_eq(failure("UPDATE blob SET size = 1"), "blob rows are immutable (content-addressed repository)");
	sql("BEGIN");
	sql("SET LOCAL tramit.repository_sweep = 'on'");
	cr_expect_str_eq(failure("UPDATE blob SET size = 1"), "blob rows are immutable (content-addressed repository)");
	sql("ROLLBACK");
	sql("BEGIN");
	sql("SET LOCAL tramit.repository_sweep = 'on'");
	sql("DELETE FROM blob_chunk WHERE sha256 = encode(sha256('%PDF-1.4 filed'), 'hex')");
	cr_expect_str_eq(failure("DELETE FROM blob WHERE sha256 = encode(sha256('%PDF-1.4 filed'), 'hex')"),
	                 "update or delete on table \"blob\" violates foreign key constraint "
	                 "\"attachment_sha256_fkey\" on table \"attachment\"");
	sql("ROLLBACK");
	cr_expect_str_eq(value("SELECT count(*) FROM blob_chunk"), "2");

	struct eng_sweep_counts c;
	struct eng_error err = {0};
	cr_expect_eq(eng_repository_sweep(s, NULL, 0, &c, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "the age of an abandoned upload must be at least one hour");
}
