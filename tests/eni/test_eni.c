/* `tramit eni export` and `tramit eni verify` against a real PostgreSQL: a general application
 * filed through the store leaves a receipt, and two files attached to it sit in the repository
 * (one in the database, one in the documents folder); its export holds the receipt's JSON and
 * PDF and both files byte for byte, with ENI metadata that xmllint accepts and an index that
 * `xmlsec1 --verify` accepts; our verifier agrees, and names the document and both hashes when
 * a byte changes, the signature's reason when the index changes, the damaged blob when the
 * repository's bytes no longer match their name, and the id of an expedient that does not
 * exist. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/docstore.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/fixture.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static const char dir3[] = "L01462508";

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;
static char csv[CONN_CSV_DISPLAY_LEN + 1];
static char expedient_id[40], number[40];
static char pki[] = "/tmp/tramit-eni-XXXXXX";
static char out_dir[64];
static char docs_dir[64];
/* The two attached files: a PDF kept in the database and a PNG kept in the folder. */
static const char pdf_bytes[] = "%PDF-1.4\n% an attached plan of the street\n%%EOF\n";
static const unsigned char png_bytes[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};
static char pdf_sha[65], png_sha[65];

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

static void submit(struct eng_store *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Còpia del padró"}};
	struct eng_command cmd = {
		.entity_id = "demo", .def = def, .applicant_name = "Maria Puig", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, .form = form,
		          .n_form = 1, .csv = csv},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	snprintf(expedient_id, sizeof(expedient_id), "%s", out.expedient_id);
	snprintf(number, sizeof(number), "%s", out.number);
	eng_arena_free(&arena);
}

/* Stages one file under key and links it to the expedient as the filing transaction's trigger
 * does (migration 0012, attachment_link), with the receipt's CSV. */
static void attach_one(struct eng_store *s, const char *folder, const char *key,
                       struct eng_doc_upload *f)
{
	struct eng_error err = {0};
	cr_assert_eq(eng_docstore_stage(s, folder, "demo", "citizen:12345678Z", key, f, 1, &err), 0,
	             "%s", err.msg);
	const char *p[] = {expedient_id, csv, key};
	PGresult *r = PQexecParams(conn, "UPDATE attachment SET expedient_id = $1::uuid, linked_at = now(), "
	        "organ = 'L01462508', eni_id = format('ES_L01462508_%s_%s', to_char(captured_at AT TIME "
	        "ZONE 'Europe/Madrid', 'YYYY'), replace(id::text, '-', '')), csv = $2, "
	        "signature_type = 'TF01' WHERE submission_key = $3", 3, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	cr_assert_str_eq(PQcmdTuples(r), "1");
	PQclear(r);
}

static void attach(struct eng_store *s)
{
	struct eng_doc_upload pdf = {.field = "plans", .name = "plànol.pdf", .media_type = "application/pdf",
	                             .data = pdf_bytes, .len = sizeof(pdf_bytes) - 1};
	attach_one(s, NULL, "k-pdf", &pdf);
	snprintf(pdf_sha, sizeof(pdf_sha), "%s", pdf.sha256);
	struct eng_doc_upload png = {.field = "photo", .name = "foto.png", .media_type = "image/png",
	                             .data = png_bytes, .len = sizeof(png_bytes)};
	cr_assert_eq(mkdir(docs_dir, 0700), 0, "%s", docs_dir);
	attach_one(s, docs_dir, "k-png", &png);
	snprintf(png_sha, sizeof(png_sha), "%s", png.sha256);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = fixture_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament de Demostració",
	                                     "Ayuntamiento de Demostración", true, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	PGresult *r = PQexecParams(conn, "UPDATE entity SET dir3 = $1 WHERE id = 'demo'", 1, NULL,
	                           (const char *[]){dir3}, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	cr_assert_eq(conn_csv_new(csv), 0);
	submit(s);
	cr_assert_not_null(mkdtemp(pki));
	snprintf(docs_dir, sizeof(docs_dir), "%s/docs", pki);
	attach(s);
	eng_store_close(s);
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "sh %s/tests/sign/make_pki.sh %s 2>&1", TRAMIT_SOURCE_DIR,
	                       pki), 0, "make_pki.sh failed");
	free(out);
	snprintf(out_dir, sizeof(out_dir), "%s/export", pki);
}

static void teardown(void)
{
	char *out;
	shell_run(&out, NULL, "rm -rf %s", pki);
	free(out);
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(eni, .init = setup, .fini = teardown, .timeout = 180);

/* One value of a one-row query about the receipt, with its CSV as $1. */
static char *receipt_value(const char *sql)
{
	PGresult *r = PQexecParams(conn, sql, 1, NULL, (const char *[]){csv}, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	cr_assert_eq(PQntuples(r), 1, "%s", sql);
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* The receipt's ENI identifier: ES_<DIR3>_<year>_<uuid without dashes>. */
static void receipt_identifier(char out[128])
{
	char *v = receipt_value("SELECT 'ES_L01462508_' || to_char(created_at AT TIME ZONE "
	                        "'Europe/Madrid', 'YYYY') || '_' || replace(id::text, '-', '') "
	                        "FROM document WHERE csv = $1");
	snprintf(out, 128, "%s", v);
	free(v);
}

/* ES_<DIR3>_<year>_EXP_<sequence>: from number YYYY/NNNNNN. */
static void expedient_identifier(char out[128])
{
	snprintf(out, 128, "ES_%s_%.4s_EXP_%s", dir3, number, number + 5);
}

static int tramit(char **out, const char *args)
{
	return shell_run(out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_DOCUMENTS_DIR='%s' %s "
	                 "eni %s 2>&1", pki, cluster.conninfo, docs_dir, TRAMIT_BINARY, args);
}

static void export_ok(void)
{
	char *out, args[512], want[512], exp_id[128];
	snprintf(args, sizeof(args), "export %s --key seal.key --cert seal.pem -o export", expedient_id);
	int rc = tramit(&out, args);
	cr_assert_eq(rc, 0, "%s", out);
	expedient_identifier(exp_id);
	snprintf(want, sizeof(want), "%s: 4 documents (2 attached by the applicant) and the sealed "
	         "index written to export\n", exp_id);
	cr_assert_str_eq(out, want);
	free(out);
}

/* An XPath string value of an export file (by local names, so namespace prefixes don't matter). */
static char *xpath(const char *file, const char *expr)
{
	char *out;
	int rc = shell_run(&out, NULL, "xmllint --xpath \"%s\" %s/%s", expr, out_dir, file);
	cr_assert_eq(rc, 0, "xmllint --xpath %s %s: %s", expr, file, out);
	out[strcspn(out, "\n")] = '\0'; /* xmllint ends a string result with a newline */
	return out;
}

#define LN(name) "*[local-name()='" name "']"

/* An attachment's ENI identifier, by the key it was staged under. */
static void attachment_identifier(char out[128], const char *key)
{
	PGresult *r = PQexecParams(conn, "SELECT eni_id FROM attachment WHERE submission_key = $1", 1,
	                           NULL, (const char *[]){key}, NULL, NULL, 0);
	cr_assert_eq(PQntuples(r), 1, "%s", PQresultErrorMessage(r));
	snprintf(out, 128, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

Test(eni, export_writes_documents_and_metadata_that_xmllint_accepts)
{
	export_ok();
	char id[128], *out, want[1024];
	receipt_identifier(id);
	char pdf_id[128], png_id[128];
	attachment_identifier(pdf_id, "k-pdf");
	attachment_identifier(png_id, "k-png");
	int rc = shell_run(&out, NULL, "cd %s && ls documents | LC_ALL=C sort", out_dir);
	cr_assert_eq(rc, 0);
	char *sorted;
	shell_run(&sorted, NULL, "printf '%%s\\n' %s.json %s.xml %s_PDF.pdf %s_PDF.xml %s.pdf %s.xml "
	          "%s.png %s.xml | LC_ALL=C sort", id, id, id, id, pdf_id, pdf_id, png_id, png_id);
	cr_expect_str_eq(out, sorted);
	free(sorted);
	free(out);
	rc = shell_run(&out, NULL, "cd %s && xmllint --noout index.xml documents/*.xml 2>&1", out_dir);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect_str_eq(out, "");
	free(out);

	/* The JSON is the stored receipt byte for byte; the PDF is a rendering with its CSV. */
	rc = shell_run(&out, NULL, "cd %s/documents && sha256sum < %s.json | cut -c1-64", out_dir, id);
	char *stored = receipt_value("SELECT sha256 || E'\\n' FROM document WHERE csv = $1");
	cr_expect_str_eq(out, stored);
	free(out);
	free(stored);
	rc = shell_run(&out, NULL, "pdftotext -enc UTF-8 %s/documents/%s_PDF.pdf - | grep -c '%s'",
	               out_dir, id, csv);
	cr_expect_eq(rc, 0, "the PDF carries the CSV");
	free(out);

	char file[200];
	snprintf(file, sizeof(file), "documents/%s_PDF.xml", id);
	char *v = xpath(file, "concat(//" LN("Identificador") ",'|',//" LN("Organo") ",'|',//"
	                LN("ValorEstadoElaboracion") ",'|',//" LN("IdentificadorDocumentoOrigen")
	                ",'|',//" LN("NombreFormato") ",'|',//" LN("referenciaFichero") ",'|',//"
	                LN("TipoFirma") ",'|',//" LN("ValorCSV") ")");
	snprintf(want, sizeof(want), "%s_PDF|%s|EE02|%s|PDF|%s_PDF.pdf|TF01|%s", id, dir3, id, id, csv);
	cr_expect_str_eq(v, want);
	free(v);
	snprintf(file, sizeof(file), "documents/%s.xml", id);
	v = xpath(file, "concat(//" LN("ValorEstadoElaboracion") ",'|',count(//"
	          LN("IdentificadorDocumentoOrigen") "),'|',//" LN("NombreFormato") ",'|',//"
	          LN("OrigenCiudadanoAdministracion") ",'|',//" LN("TipoDocumental") ")");
	cr_expect_str_eq(v, "EE01|0|JSON|1|TD09");
	free(v);
}

Test(eni, the_index_lists_each_hash_and_xmlsec1_verifies_its_seal)
{
	export_ok();
	char id[128], exp_id[128], want[1024], *out;
	receipt_identifier(id);
	expedient_identifier(exp_id);
	int rc = shell_run(&out, NULL, "xmlsec1 --verify --trusted-pem %s/ca.pem %s/index.xml 2>&1",
	                   pki, out_dir);
	cr_expect_eq(rc, 0, "%s", out);
	free(out);

	char *json_b64 = receipt_value("SELECT encode(sha256(content), 'base64') FROM document "
	                               "WHERE csv = $1");
	rc = shell_run(&out, NULL, "openssl dgst -sha256 -binary %s/documents/%s_PDF.pdf | base64",
	               out_dir, id);
	out[strcspn(out, "\n")] = '\0';
	char *opened = receipt_value("SELECT to_char(x.created_at AT TIME ZONE 'Europe/Madrid', "
	                             "'YYYY-MM-DD\"T\"HH24:MI:SS') FROM document d JOIN expedient x "
	                             "ON x.id = d.expedient_id WHERE d.csv = $1");
	char *v = xpath("index.xml", "concat(//" LN("metadatosExp") "/" LN("Identificador") ",'|',//"
	                LN("metadatosExp") "/" LN("Organo") ",'|',substring(//"
	                LN("FechaAperturaExpediente") ",1,19),'|',//" LN("Clasificacion") ",'|',//"
	                LN("Estado") ",'|',//" LN("Interesado") ")");
	snprintf(want, sizeof(want), "%s|%s|%s|%s|E01|12345678Z", exp_id, dir3, opened, def->code);
	cr_expect_str_eq(v, want);
	free(v);
	v = xpath("index.xml", "concat(//" LN("DocumentoIndizado") "[1]/" LN("IdentificadorDocumento")
	          ",'|',//" LN("DocumentoIndizado") "[1]/" LN("ValorHuella") ",'|',//"
	          LN("DocumentoIndizado") "[1]/" LN("OrdenDocumentoExpediente") ",'|',//"
	          LN("DocumentoIndizado") "[2]/" LN("IdentificadorDocumento") ",'|',//"
	          LN("DocumentoIndizado") "[2]/" LN("ValorHuella") ",'|',//" LN("DocumentoIndizado")
	          "[2]/" LN("OrdenDocumentoExpediente") ",'|',//" LN("DocumentoIndizado") "[2]/"
	          LN("FuncionResumen") ")");
	json_b64[strcspn(json_b64, "\n")] = '\0';
	snprintf(want, sizeof(want), "%s|%s|1|%s_PDF|%s|2|http://www.w3.org/2001/04/xmlenc#sha256",
	         id, json_b64, id, out);
	cr_expect_str_eq(v, want);
	free(v);
	free(out);
	free(json_b64);
	free(opened);
}

Test(eni, verify_accepts_the_export_with_an_exact_summary)
{
	export_ok();
	char exp_id[128], want[1024], *subject, *out;
	expedient_identifier(exp_id);
	shell_run(&subject, NULL, "openssl x509 -noout -subject -nameopt RFC2253 -in %s/seal.pem | "
	          "sed 's/^subject=//'", pki);
	subject[strcspn(subject, "\n")] = '\0';
	int rc = tramit(&out, "verify export --trust ca.pem");
	cr_expect_eq(rc, 0, "%s", out);
	snprintf(want, sizeof(want), "%s: index sealed by %s\n4 documents: every SHA-256 matches the "
	         "index\n", exp_id, subject);
	cr_expect_str_eq(out, want);
	free(out);
	free(subject);
}

Test(eni, a_changed_document_byte_names_the_document_and_both_hashes)
{
	export_ok();
	char id[128], want[1024], *out, *now;
	receipt_identifier(id);
	char *before = receipt_value("SELECT encode(sha256(content), 'base64') FROM document "
	                             "WHERE csv = $1");
	before[strcspn(before, "\n")] = '\0';
	/* The first byte of the JSON, '{', becomes '['. */
	cr_assert_eq(shell_run(&out, NULL, "cd %s/documents && printf '[' | dd of=%s.json bs=1 "
	                       "count=1 conv=notrunc 2>/dev/null", out_dir, id), 0);
	free(out);
	shell_run(&now, NULL, "openssl dgst -sha256 -binary %s/documents/%s.json | base64", out_dir, id);
	now[strcspn(now, "\n")] = '\0';
	cr_assert_str_neq(now, before);
	int rc = tramit(&out, "verify export --trust ca.pem");
	cr_expect_eq(rc, 1);
	snprintf(want, sizeof(want), "tramit: eni verify: export: documents/%s.json: SHA-256 is %s, "
	         "the index says %s\n", id, now, before);
	cr_expect_str_eq(out, want);
	free(out);
	free(now);
	free(before);
}

Test(eni, a_changed_index_fails_with_the_signature_reason)
{
	export_ok();
	char *out;
	/* Renumber the first document: the index still parses, its digest no longer matches. */
	cr_assert_eq(shell_run(&out, NULL, "cd %s && sed -i 's|<eniconind:OrdenDocumentoExpediente>1<|"
	                       "<eniconind:OrdenDocumentoExpediente>5<|' index.xml && grep -c "
	                       "'OrdenDocumentoExpediente>5<' index.xml", out_dir), 0);
	cr_assert_str_eq(out, "1\n");
	free(out);
	int rc = tramit(&out, "verify export --trust ca.pem");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: eni verify: export: index.xml: signature: bad digest: the "
	                 "signed content (reference '') was modified after signing\n");
	free(out);
	rc = shell_run(&out, NULL, "xmlsec1 --verify --trusted-pem %s/ca.pem %s/index.xml 2>&1", pki,
	               out_dir);
	cr_expect_eq(rc, 1, "xmlsec1 refuses it too");
	free(out);
}

Test(eni, an_extra_file_in_documents_is_refused)
{
	export_ok();
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "echo x > %s/documents/extra.txt", out_dir), 0);
	free(out);
	int rc = tramit(&out, "verify export --trust ca.pem");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: eni verify: export: documents/extra.txt is not listed in the "
	                 "index\n");
	free(out);
}

Test(eni, an_unknown_expedient_and_bad_usage_are_refused)
{
	char *out;
	int rc = tramit(&out, "export 00000000-0000-4000-8000-000000000000 --key seal.key "
	                "--cert seal.pem -o export");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: eni export: no expedient with id "
	                 "'00000000-0000-4000-8000-000000000000'\n");
	free(out);
	rc = tramit(&out, "export 2026/000001 --key seal.key --cert seal.pem -o export");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(out, "tramit: eni export: no expedient with id '2026/000001': expected a "
	                 "uuid\n");
	free(out);
	rc = shell_run(&out, NULL, "test -e %s", out_dir);
	cr_expect_neq(rc, 0, "nothing was written");
	free(out);
	rc = tramit(&out, "verify export");
	cr_expect_eq(rc, 2);
	cr_expect_str_eq(out, "usage: tramit eni export EXPEDIENT_ID --key SEAL_KEY.pem --cert "
	                 "SEAL_CERT.pem -o DIR [--url BASE]\n       tramit eni verify DIR --trust "
	                 "CA.pem\n");
	free(out);
}

Test(eni, attachments_go_byte_for_byte_with_citizen_origin_and_their_hash_in_the_index)
{
	export_ok();
	char pdf_id[128], png_id[128], want[1024], *out;
	attachment_identifier(pdf_id, "k-pdf");
	attachment_identifier(png_id, "k-png");
	/* The bytes: the database's blob and the folder's, as they were uploaded. */
	int rc = shell_run(&out, NULL, "cd %s/documents && sha256sum %s.pdf %s.png | cut -c1-64", out_dir,
	                   pdf_id, png_id);
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(want, sizeof(want), "%s\n%s\n", pdf_sha, png_sha);
	cr_expect_str_eq(out, want);
	free(out);
	char file[200];
	snprintf(file, sizeof(file), "documents/%s.xml", png_id);
	char *v = xpath(file, "concat(//" LN("Identificador") ",'|',//" LN("Organo") ",'|',//"
	                LN("OrigenCiudadanoAdministracion") ",'|',//" LN("ValorEstadoElaboracion")
	                ",'|',//" LN("TipoDocumental") ",'|',//" LN("NombreFormato") ",'|',//"
	                LN("referenciaFichero") ",'|',//" LN("TipoFirma") ",'|',//" LN("ValorCSV") ")");
	snprintf(want, sizeof(want), "%s|%s|0|EE01|TD99|PNG|%s.png|TF01|%s", png_id, dir3, png_id, csv);
	cr_expect_str_eq(v, want);
	free(v);
	snprintf(file, sizeof(file), "documents/%s.xml", pdf_id);
	v = xpath(file, "concat(//" LN("OrigenCiudadanoAdministracion") ",'|',//" LN("NombreFormato") ")");
	cr_expect_str_eq(v, "0|PDF");
	free(v);
	/* In the index after the receipt's two, in the order they were posted, with their hashes. */
	rc = shell_run(&out, NULL, "cd %s/documents && for f in %s.pdf %s.png; do openssl dgst -sha256 "
	               "-binary $f | base64; done", out_dir, pdf_id, png_id);
	cr_assert_eq(rc, 0);
	v = xpath("index.xml", "concat(//" LN("DocumentoIndizado") "[3]/" LN("IdentificadorDocumento")
	          ",'|',//" LN("DocumentoIndizado") "[3]/" LN("ValorHuella") ",'|',//"
	          LN("DocumentoIndizado") "[3]/" LN("OrdenDocumentoExpediente") ",'|',//"
	          LN("DocumentoIndizado") "[4]/" LN("IdentificadorDocumento") ",'|',//"
	          LN("DocumentoIndizado") "[4]/" LN("ValorHuella") ",'|',//" LN("DocumentoIndizado")
	          "[4]/" LN("OrdenDocumentoExpediente") ")");
	char *nl = strchr(out, '\n');
	cr_assert_not_null(nl);
	*nl = '\0';
	char *second = nl + 1;
	second[strcspn(second, "\n")] = '\0';
	snprintf(want, sizeof(want), "%s|%s|3|%s|%s|4", pdf_id, out, png_id, second);
	cr_expect_str_eq(v, want);
	free(v);
	free(out);
	rc = shell_run(&out, NULL, "xmlsec1 --verify --trusted-pem %s/ca.pem %s/index.xml 2>&1", pki,
	               out_dir);
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
}

Test(eni, a_damaged_blob_in_the_repository_stops_the_export_before_the_index)
{
	char *out, *hash, want[1024], args[512], id[64];
	/* One byte of the folder's file changes behind the repository's back. */
	cr_assert_eq(shell_run(&out, NULL, "f=%s/%.2s/%s; chmod u+w $f && printf X | dd of=$f bs=1 "
	                       "seek=9 conv=notrunc 2>/dev/null", docs_dir, png_sha, png_sha), 0);
	free(out);
	shell_run(&hash, NULL, "sha256sum < %s/%.2s/%s | cut -c1-64", docs_dir, png_sha, png_sha);
	hash[strcspn(hash, "\n")] = '\0';
	PGresult *r = PQexec(conn, "SELECT id FROM attachment WHERE submission_key = 'k-png'");
	snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(args, sizeof(args), "export %s --key seal.key --cert seal.pem -o export", expedient_id);
	int rc = tramit(&out, args);
	cr_expect_eq(rc, 1);
	snprintf(want, sizeof(want), "tramit: eni export: attachment %s (foto.png): blob %s: its %zu "
	         "stored bytes hash to %s; the repository is damaged\n", id, png_sha, sizeof(png_bytes),
	         hash);
	cr_expect_str_eq(out, want);
	free(out);
	free(hash);
	rc = shell_run(&out, NULL, "test -e %s/index.xml", out_dir);
	cr_expect_neq(rc, 0, "no index was written");
	free(out);
}
