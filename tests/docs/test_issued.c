/* Issued documents through the real server (issue 6): an employee's action with document =
 * "certificat" issues, in the transition's transaction, one PDF under a CSV with its ENI
 * metadata and no outbox row; the event lists its CSV and SHA-256; the PDF (read back with
 * pdftotext and qpdf, tools nobody here wrote) has the CSV on every page and the template's
 * placeholders filled; the seal verifies with `openssl cms -verify`; the applicant and staff
 * download it, another citizen gets 404; and without a seal it is issued unsealed and says so. */
#include <criterion/criterion.h>
#include <openssl/cms.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static PGconn *db;
static pid_t server;
static int port;
static char key_path[600], cert_path[600], ca_path[600];
static pid_t tsa = -1;

enum mode { SEALED, UNSEALED, SEALED_TSA };

/* A real RFC 3161 TSA on loopback (tests/sign/tsa_peer.py, `openssl ts -reply` with the test
 * PKI's TSA key); returns its port. */
static int tsa_start(const char *pki)
{
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	tsa = fork();
	cr_assert_geq(tsa, 0);
	if (tsa == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl("/usr/bin/python3", "python3", TRAMIT_SOURCE_DIR "/tests/sign/tsa_peer.py", pki,
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	int p = 0;
	cr_assert(f && fscanf(f, "%d", &p) == 1, "the TSA peer did not start");
	fclose(f);
	return p;
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect(const char *want, const char *sql)
{
	char *v = query1(sql);
	cr_assert_str_eq(v, want, "%s: got %s", sql, v);
	free(v);
}

/* The seal is the test PKI's (tests/sign/make_pki.sh: issued by its CA). */
static void start(enum mode mode)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	port = http_free_port();
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "mkdir -p %s/pki && %s/tests/sign/make_pki.sh %s/pki 2>&1",
	                       cluster.dir, TRAMIT_SOURCE_DIR, cluster.dir), 0, "make_pki.sh: %s", out);
	free(out);
	snprintf(key_path, sizeof(key_path), "%s/pki/seal.key", cluster.dir);
	snprintf(cert_path, sizeof(cert_path), "%s/pki/seal.pem", cluster.dir);
	snprintf(ca_path, sizeof(ca_path), "%s/pki/ca.pem", cluster.dir);
	bool sealed = mode != UNSEALED;
	static char env_tsa[200];
	env_tsa[0] = '\0';
	if (mode == SEALED_TSA) {
		char pki[700];
		snprintf(pki, sizeof(pki), "%s/pki", cluster.dir);
		snprintf(env_tsa, sizeof(env_tsa), "TRAMIT_TSA_URL=http://127.0.0.1:%d/", tsa_start(pki));
	}
	static char env_db[1200], env_dir[600], env_port[32], env_key[700], env_cert[700], log[700];
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(env_key, sizeof(env_key), "TRAMIT_SEAL_KEY=%s", key_path);
	snprintf(env_cert, sizeof(env_cert), "TRAMIT_SEAL_CERT=%s", cert_path);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, "TRAMIT_TRUSTED_HEADER=X-Remote-User",
	                     "TRAMIT_TRUSTED_PROXY=127.0.0.1", sealed ? env_key : NULL,
	                     sealed ? env_cert : NULL, *env_tsa ? env_tsa : NULL, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log);
	db = pgtmp_connect(&cluster);
}

static void setup_sealed(void)
{
	start(SEALED);
}

static void setup_unsealed(void)
{
	start(UNSEALED);
}

static void setup_tsa(void)
{
	start(SEALED_TSA);
}

static void teardown(void)
{
	PQfinish(db);
	tramit_stop(server, SIGTERM);
	if (tsa > 0) {
		kill(tsa, SIGTERM);
		waitpid(tsa, NULL, 0);
		tsa = -1;
	}
	pgtmp_stop(&cluster);
}

/* A client signed in through the demo form as "citizen" (12345678Z) or "employee". */
static struct http_client *signed_in(const char *who)
{
	struct http_client *c = http_client_new(port, "ca");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=%s&next=/", tok ? tok : "", who);
	free(tok);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "sign-in as %s: %ld", who, r.status);
	http_response_free(&r);
	return c;
}

/* Maria asks for a registration certificate; the register of inhabitants has no back-office
 * link in the demo, so the expedient goes to a clerk's review; the clerk issues it by hand.
 * Returns the expedient's id. */
static char *issued(struct http_client *employee)
{
	char *id = http_citizen_files(port, "PAD-005", "{\"form\": {\"tipus\": \"actual\", "
	                              "\"motiu\": \"Beca\"}}");
	char sql[300], path[200], body[300];
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", id);
	for (int i = 0; i < 400; i++) {
		char *state = query1(sql);
		bool review = strcmp(state, "review") == 0;
		free(state);
		if (review)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	expect("review", sql);
	snprintf(sql, sizeof(sql), "SELECT version FROM expedient WHERE id = '%s'", id);
	char *version = query1(sql);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	struct http_response r;
	http_get(employee, path, &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(csrf, "%s", r.body);
	http_response_free(&r);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/actions/issue_manual", id);
	snprintf(body, sizeof(body), "csrf=%s&version=%s", csrf, version);
	http_post_form(employee, path, body, &r);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	http_response_free(&r);
	free(csrf);
	free(version);
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", id);
	expect("issued", sql);
	return id;
}

/* GETs path into file; returns the status. */
static long download(struct http_client *c, const char *path, const char *file, char *ctype)
{
	struct http_response r;
	http_get(c, path, &r);
	long status = r.status;
	if (ctype)
		snprintf(ctype, 128, "%s", r.content_type);
	if (file) {
		FILE *f = fopen(file, "wb");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(r.body, 1, r.len, f), r.len);
		fclose(f);
	}
	http_response_free(&r);
	return status;
}

static int page_count(const char *path)
{
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "pdfinfo %s 2>/dev/null | sed -n 's/^Pages: *//p'", path), 0);
	int n = atoi(out);
	free(out);
	return n;
}

/* The whole text of the PDF, pdftotext's way, lines joined. */
static char *pdf_text(const char *path, int page)
{
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "pdftotext -enc UTF-8 -f %d -l %d %s - | tr '\\n' ' '",
	                       page, page, path), 0);
	return out;
}

static void document_of(const char *id, char **doc_id, char **csv)
{
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT id FROM document WHERE expedient_id = '%s' AND kind = "
	         "'certificat'", id);
	*doc_id = query1(sql);
	snprintf(sql, sizeof(sql), "SELECT csv FROM document WHERE expedient_id = '%s' AND kind = "
	         "'certificat'", id);
	*csv = query1(sql);
	cr_assert_eq(strlen(*doc_id), 36);
	cr_assert_gt(strlen(*csv), 20);
}

TestSuite(docs_issued, .init = setup_sealed, .fini = teardown, .timeout = 240);

Test(docs_issued, an_action_issues_one_sealed_pdf_in_its_transaction)
{
	struct http_client *employee = signed_in("employee");
	char *id = issued(employee);
	char sql[600], *doc_id, *csv;
	document_of(id, &doc_id, &csv);
	/* Stored once, as the PDF the template made, with its ENI metadata. */
	snprintf(sql, sizeof(sql), "SELECT count(*) || '|' || min(media_type) || '|' || "
	         "min(template_kind) || '|' || min(eni_state) || '|' || min(eni_type) || '|' || "
	         "min(eni_signature_type) || '|' || min(seal_format) || '|' || min(lang) || '|' || "
	         "bool_and(sha256 = encode(sha256(content), 'hex')) || '|' || "
	         "bool_and(eni_id = 'ES_demo_' || to_char(created_at, 'YYYY') || '_' || "
	         "replace(id::text, '-', '')) FROM document WHERE expedient_id = '%s' AND "
	         "kind = 'certificat'", id);
	expect("1|application/pdf|certificate|EE01|TD11|TF04|cades-detached|ca+es|true|true", sql);
	/* Done in the transaction: nothing for a connector, and the event says what was issued. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE expedient_id = '%s' AND "
	         "kind = 'document'", id);
	expect("0", sql);
	snprintf(sql, sizeof(sql), "SELECT (e.payload::json->'documents'->0->>'csv') = d.csv AND "
	         "(e.payload::json->'documents'->0->>'sha256') = d.sha256 AND "
	         "(e.payload::json->'documents'->0->>'name') = 'certificat' FROM event e "
	         "JOIN document d ON d.expedient_id = e.expedient_id AND d.kind = 'certificat' "
	         "WHERE e.expedient_id = '%s' AND e.action = 'issue_manual'", id);
	expect("t", sql);

	/* The applicant downloads it from the Carpeta, which lists it. */
	struct http_client *maria = signed_in("citizen");
	char path[300], ctype[128], pdf[700], seal[700];
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	struct http_response r;
	http_get(maria, path, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "data-document=\"certificat\"") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, csv) != NULL);
	cr_assert(strstr(r.body, "Documents emesos") != NULL);
	http_response_free(&r);
	snprintf(pdf, sizeof(pdf), "%s/certificat.pdf", cluster.dir);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(maria, path, pdf, ctype), 200);
	cr_assert_str_eq(ctype, "application/pdf");
	char *out;
	snprintf(sql, sizeof(sql), "SELECT sha256 FROM document WHERE id = '%s'", doc_id);
	char *sha = query1(sql);
	cr_assert_eq(shell_run(&out, NULL, "sha256sum %s | cut -c1-64 | tr -d '\\n'", pdf), 0);
	cr_assert_str_eq(out, sha, "the download is the stored original");
	free(out);

	/* Tools nobody here wrote: structure, the CSV on every page, the placeholders filled. */
	int qrc = shell_run(&out, NULL, "qpdf --check %s 2>&1", pdf);
	cr_assert_eq(qrc, 0, "qpdf --check: %s", out);
	free(out);
	int pages = page_count(pdf);
	cr_assert_geq(pages, 1);
	for (int p = 1; p <= pages; p++) {
		char *text = pdf_text(pdf, p);
		cr_assert(strstr(text, csv) != NULL, "page %d lacks the CSV %s: %s", p, csv, text);
		free(text);
	}
	snprintf(sql, sizeof(sql), "SELECT registry_number || '|' || number FROM expedient WHERE id = '%s'", id);
	char *numbers = query1(sql);
	char *bar = strchr(numbers, '|');
	*bar = '\0';
	char *all;
	cr_assert_eq(shell_run(&all, NULL, "pdftotext -enc UTF-8 %s - | tr '\\n' ' '", pdf), 0);
	const char *want[] = {
		"Certificat d'empadronament", "Certificado de empadronamiento",
		"Ajuntament de Demostració CERTIFICA que",
		"Tipus de certificat: Empadronament actual.", "Tipo de certificado: Empadronamiento actual.",
		"12345678Z", numbers, bar + 1, NULL,
	};
	for (int i = 0; want[i]; i++)
		cr_assert(strstr(all, want[i]) != NULL, "the PDF lacks \"%s\": %s", want[i], all);
	cr_assert(strstr(all, "Document segellat amb el segell electrònic de l'entitat") != NULL, "%s", all);
	cr_assert(strstr(all, "{") == NULL, "a placeholder was left unfilled: %s", all);
	free(all);
	free(numbers);

	/* The seal: CAdES detached over exactly those bytes, verified by OpenSSL's own CMS. */
	snprintf(seal, sizeof(seal), "%s/certificat.p7s", cluster.dir);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s?part=seal", id, doc_id);
	cr_assert_eq(download(maria, path, seal, ctype), 200);
	cr_assert_str_eq(ctype, "application/pkcs7-signature");
	int vrc = shell_run(&out, NULL, "openssl cms -verify -binary -inform DER -in %s -content %s "
	                    "-CAfile %s -purpose any -out /dev/null 2>&1", seal, pdf, ca_path);
	cr_assert_eq(vrc, 0, "openssl cms -verify: %s", out);
	cr_assert(strstr(out, "Verification successful") != NULL, "%s", out);
	free(out);
	/* One changed byte and OpenSSL refuses it. */
	vrc = shell_run(&out, NULL, "printf 'X' | dd of=%s bs=1 seek=200 conv=notrunc 2>/dev/null; "
	                "openssl cms -verify -binary -inform DER -in %s -content %s -CAfile %s "
	                "-purpose any -out /dev/null 2>&1", pdf, seal, pdf, ca_path);
	cr_assert_neq(vrc, 0, "a tampered PDF verified: %s", out);
	free(out);

	/* Anyone holding the CSV gets the very same bytes at the verification address. */
	snprintf(path, sizeof(path), "/verify/%s/document", csv);
	snprintf(pdf, sizeof(pdf), "%s/verified.pdf", cluster.dir);
	struct http_client *anyone = http_client_new(port, "es");
	cr_assert_eq(download(anyone, path, pdf, ctype), 200);
	cr_assert_str_eq(ctype, "application/pdf");
	cr_assert_eq(shell_run(&out, NULL, "sha256sum %s | cut -c1-64 | tr -d '\\n'", pdf), 0);
	cr_assert_str_eq(out, sha);
	free(out);
	free(sha);
	/* The verification page says what it is and what vouches for it, and gives the seal. */
	struct http_response page;
	snprintf(path, sizeof(path), "/verify?csv=%s", csv);
	http_get(anyone, path, &page);
	cr_assert_eq(page.status, 200, "%s", page.body);
	cr_expect(strstr(page.body, "<dd>Documento emitido por el Ayuntamiento</dd>") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "<li id=\"seal\">Sellado con el sello electrónico del Ayuntamiento "
	                 "(CAdES) · <a href=\"/verify/") != NULL, "%s", strstr(page.body, "<section id=\"trust\""));
	http_response_free(&page);
	char public_seal[700];
	snprintf(public_seal, sizeof(public_seal), "%s/public.p7s", cluster.dir);
	snprintf(path, sizeof(path), "/verify/%s/document?part=seal", csv);
	cr_assert_eq(download(anyone, path, public_seal, ctype), 200);
	cr_assert_str_eq(ctype, "application/pkcs7-signature");
	cr_assert_eq(shell_run(&out, NULL, "cmp %s %s 2>&1", seal, public_seal), 0, "the seal differs: %s", out);
	free(out);
	snprintf(path, sizeof(path), "/verify/%s/document?part=timestamp", csv);
	cr_assert_eq(download(anyone, path, public_seal, ctype), 404, "no time stamp without a TSA");
	/* Programs get the same through the API. */
	snprintf(path, sizeof(path), "/api/v1/documents/%s", csv);
	http_get(anyone, path, &page);
	cr_assert_eq(page.status, 200, "%s", page.body);
	char want_api[300];
	snprintf(want_api, sizeof(want_api), "\"seal_url\":\"/verify/%s/document?part=seal\",\"sealed\":true,"
	         "\"sha256\":", csv);
	cr_expect(strstr(page.body, want_api) != NULL, "%s", page.body);
	cr_expect(strstr(page.body, "\"signatures\":[]") != NULL, "%s", page.body);
	http_response_free(&page);
	http_client_free(anyone);
	http_client_free(maria);
	free(doc_id);
	free(csv);
	free(id);
	http_client_free(employee);
}

Test(docs_issued, only_the_applicant_and_staff_may_download_it)
{
	struct http_client *employee = signed_in("employee");
	char *id = issued(employee);
	char path[300], ctype[128], *doc_id, *csv;
	document_of(id, &doc_id, &csv);
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(employee, path, NULL, ctype), 200, "staff");
	cr_assert_str_eq(ctype, "application/pdf");
	/* The back-office page lists it too. */
	struct http_response r;
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	http_get(employee, path, &r);
	cr_assert(strstr(r.body, "data-document=\"certificat\"") != NULL);
	http_response_free(&r);
	/* Another citizen: as if it did not exist. So for a document id of another expedient. */
	struct http_client *other = http_client_new(port, "ca");
	http_client_header(other, "X-Remote-User: 00000000T");
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(other, path, NULL, NULL), 404, "another citizen");
	/* An employee on the citizen's address, a citizen on the staff's: refused. */
	cr_assert_eq(download(employee, path, NULL, NULL), 403);
	struct http_client *maria = signed_in("citizen");
	snprintf(path, sizeof(path), "/backoffice/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(maria, path, NULL, NULL), 403);
	/* Malformed ids and an unknown part are answered without a crash or a leak. */
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/not-a-uuid", id);
	cr_assert_eq(download(maria, path, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s?part=other", id, doc_id);
	cr_assert_eq(download(maria, path, NULL, NULL), 400);
	/* Signed out: to the sign-in page. */
	struct http_client *nobody = http_client_new(port, "ca");
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(nobody, path, NULL, NULL), 303);
	http_client_free(nobody);
	http_client_free(maria);
	http_client_free(other);
	free(doc_id);
	free(csv);
	free(id);
	http_client_free(employee);
}

TestSuite(docs_issued_unsealed, .init = setup_unsealed, .fini = teardown, .timeout = 240);

Test(docs_issued_unsealed, without_a_seal_the_document_is_issued_unsealed_and_says_so)
{
	struct http_client *employee = signed_in("employee");
	char *id = issued(employee);
	char sql[400], path[300], pdf[700], *doc_id, *csv;
	document_of(id, &doc_id, &csv);
	snprintf(sql, sizeof(sql), "SELECT eni_signature_type || '|' || (seal IS NULL) || '|' || "
	         "(seal_format IS NULL) || '|' || seal_note || '|' || (record->>'sealed') FROM document "
	         "WHERE id = '%s'", doc_id);
	expect("TF01|true|true|not sealed: this server has no electronic seal (TRAMIT_SEAL_KEY, "
	       "TRAMIT_SEAL_CERT)|false", sql);
	struct http_client *maria = signed_in("citizen");
	snprintf(pdf, sizeof(pdf), "%s/unsealed.pdf", cluster.dir);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(maria, path, pdf, NULL), 200);
	char *all;
	cr_assert_eq(shell_run(&all, NULL, "pdftotext -enc UTF-8 %s - | tr '\\n' ' '", pdf), 0);
	cr_assert(strstr(all, "sense segell electrònic") != NULL, "%s", all);
	cr_assert(strstr(all, "sin sello electrónico") != NULL, "%s", all);
	free(all);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s?part=seal", id, doc_id);
	cr_assert_eq(download(maria, path, NULL, NULL), 404);
	struct http_response r;
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	http_get(maria, path, &r);
	cr_assert(strstr(r.body, "Sense segell electrònic: autenticat amb el CSV") != NULL);
	http_response_free(&r);
	http_client_free(maria);
	free(doc_id);
	free(csv);
	free(id);
	http_client_free(employee);
}

TestSuite(docs_issued_tsa, .init = setup_tsa, .fini = teardown, .timeout = 240);

/* The seal's signature value, as a CAdES signature-time-stamp covers it. */
static void signature_value(const char *seal_path, const char *out_path)
{
	FILE *f = fopen(seal_path, "rb");
	cr_assert_not_null(f);
	unsigned char der[16384];
	size_t n = fread(der, 1, sizeof(der), f);
	fclose(f);
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	cr_assert_not_null(cms);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	f = fopen(out_path, "wb");
	cr_assert_eq(fwrite(sig->data, 1, (size_t)sig->length, f), (size_t)sig->length);
	fclose(f);
	CMS_ContentInfo_free(cms);
}

/* The signature-time-stamp token a CAdES-T seal carries in its unsigned attributes. */
static void embedded_token(const char *seal_path, const char *out_path)
{
	FILE *f = fopen(seal_path, "rb");
	cr_assert_not_null(f);
	unsigned char der[32768];
	size_t n = fread(der, 1, sizeof(der), f);
	fclose(f);
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	cr_assert_not_null(cms);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	ASN1_STRING *token = CMS_unsigned_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_timeStampToken), -3,
	                                                  V_ASN1_SEQUENCE);
	cr_assert_not_null(token, "the seal has no signature-time-stamp attribute");
	f = fopen(out_path, "wb");
	cr_assert_eq(fwrite(ASN1_STRING_get0_data(token), 1, (size_t)ASN1_STRING_length(token), f),
	             (size_t)ASN1_STRING_length(token));
	fclose(f);
	CMS_ContentInfo_free(cms);
}

Test(docs_issued_tsa, the_seal_is_time_stamped_after_the_commit_by_a_real_tsa)
{
	struct http_client *employee = signed_in("employee");
	char *id = issued(employee);
	char sql[300], path[300], seal[700], sigval[700], token[700], ctype[128], *doc_id, *csv;
	document_of(id, &doc_id, &csv);
	/* The transition did not wait for the TSA; the stamper settles the queue after it. */
	snprintf(sql, sizeof(sql), "SELECT timestamp_state FROM document WHERE id = '%s'", doc_id);
	for (int i = 0; i < 400; i++) {
		char *state = query1(sql);
		bool waiting = strcmp(state, "pending") == 0;
		free(state);
		if (!waiting)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	snprintf(sql, sizeof(sql), "SELECT timestamp_state || '|' || timestamp_attempts || '|' || "
	         "(timestamp_error IS NULL) || '|' || (timestamped_at BETWEEN created_at - interval '1 "
	         "minute' AND now()) FROM document WHERE id = '%s'", doc_id);
	expect("done|1|true|true", sql);
	struct http_client *maria = signed_in("citizen");
	snprintf(seal, sizeof(seal), "%s/doc.p7s", cluster.dir);
	snprintf(sigval, sizeof(sigval), "%s/doc.sig", cluster.dir);
	snprintf(token, sizeof(token), "%s/doc.tst", cluster.dir);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s?part=seal", id, doc_id);
	cr_assert_eq(download(maria, path, seal, NULL), 200);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s?part=timestamp", id, doc_id);
	cr_assert_eq(download(maria, path, token, ctype), 200);
	cr_assert_str_eq(ctype, "application/octet-stream");
	signature_value(seal, sigval);
	/* OpenSSL's own TS verifier: the token covers the seal's signature value. */
	char *out;
	int rc = shell_run(&out, NULL, "openssl ts -verify -token_in -in %s -data %s -CAfile %s "
	                   "-untrusted %s/pki/tsa.pem 2>&1", token, sigval, ca_path, cluster.dir);
	cr_assert_eq(rc, 0, "openssl ts -verify: %s", out);
	cr_assert(strstr(out, "Verification: OK") != NULL, "%s", out);
	free(out);
	rc = shell_run(&out, NULL, "printf 'X' | dd of=%s bs=1 seek=3 conv=notrunc 2>/dev/null; "
	               "openssl ts -verify -token_in -in %s -data %s -CAfile %s -untrusted %s/pki/tsa.pem "
	               "2>&1", sigval, token, sigval, ca_path, cluster.dir);
	cr_assert_neq(rc, 0, "a token verified for other data: %s", out);
	free(out);
	/* CAdES-T: the seal itself carries that very token as its signature-time-stamp attribute,
	 * still verifies with OpenSSL's CMS, and our verifier reports the token's time. */
	char embedded[700], pdf[700];
	snprintf(embedded, sizeof(embedded), "%s/embedded.tst", cluster.dir);
	embedded_token(seal, embedded);
	cr_assert_eq(shell_run(&out, NULL, "cmp %s %s 2>&1", token, embedded), 0, "the embedded token differs: %s", out);
	free(out);
	snprintf(sql, sizeof(sql), "SELECT seal_format || '|' || eni_signature_type FROM document WHERE id = '%s'",
	         doc_id);
	expect("cades-t-detached|TF04", sql);
	snprintf(pdf, sizeof(pdf), "%s/doc.pdf", cluster.dir);
	snprintf(path, sizeof(path), "/carpeta/expedients/%s/documents/%s", id, doc_id);
	cr_assert_eq(download(maria, path, pdf, NULL), 200);
	rc = shell_run(&out, NULL, "openssl cms -verify -binary -inform DER -in %s -content %s -CAfile %s "
	               "-purpose any -out /dev/null 2>&1", seal, pdf, ca_path);
	cr_assert_eq(rc, 0, "openssl cms -verify of the CAdES-T seal: %s", out);
	free(out);
	snprintf(sql, sizeof(sql), "SELECT to_char(timestamped_at AT TIME ZONE 'UTC', "
	         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM document WHERE id = '%s'", doc_id);
	char *when = query1(sql), want[80];
	snprintf(want, sizeof(want), "timestamp: %s\n", when);
	rc = shell_run(&out, NULL, "%s signature verify %s --data %s --trust %s 2>&1", TRAMIT_BINARY, seal, pdf, ca_path);
	cr_assert_eq(rc, 0, "tramit signature verify: %s", out);
	cr_assert(strstr(out, want) != NULL, "no %s in: %s", want, out);
	free(out);
	free(when);
	struct http_response r;
	snprintf(path, sizeof(path), "/carpeta/expedients/%s", id);
	http_get(maria, path, &r);
	cr_assert(strstr(r.body, "i segell de temps del") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "part=timestamp") != NULL);
	http_response_free(&r);
	/* The verification page shows the time stamp and serves the same token. */
	struct http_client *anyone = http_client_new(port, "ca");
	snprintf(path, sizeof(path), "/verify?csv=%s", csv);
	http_get(anyone, path, &r);
	cr_assert(strstr(r.body, "<li id=\"timestamp\">Segell de temps: ") != NULL, "%s",
	          strstr(r.body, "<section id=\"trust\""));
	http_response_free(&r);
	char public_token[700];
	snprintf(public_token, sizeof(public_token), "%s/public.tst", cluster.dir);
	snprintf(path, sizeof(path), "/verify/%s/document?part=timestamp", csv);
	cr_assert_eq(download(anyone, path, public_token, ctype), 200);
	cr_assert_eq(shell_run(&out, NULL, "cmp %s %s 2>&1", token, public_token), 0, "the token differs: %s", out);
	free(out);
	http_client_free(anyone);
	http_client_free(maria);
	free(doc_id);
	free(csv);
	free(id);
	http_client_free(employee);
}
