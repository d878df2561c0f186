/* Form uploads end to end, against the real server, a real PostgreSQL and the real libclamav
 * with a signature database the test writes itself (EICAR by MD5): a clean file is scanned,
 * stored once by its SHA-256 however often it is sent, linked to each expedient that names it,
 * listed with its hash and downloaded byte for byte by its applicant and by employees only;
 * infected, encrypted, oversized, mistyped and malformed posts are refused with their reason
 * and leave no row behind; without a scanner every file is refused. The tràmit is GEN-001 with
 * an attachment field added (small limits), written beside the test's cluster. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/connectors/zipfile.h"
#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"
#include "web/internal.h"

#define MARIA "12345678Z"
#define JOAN "87654321X"
#define BOUNDARY "----tramit-test-boundary-Q7xk"

static struct eng_pgcluster cluster;
static PGconn *db;
static pid_t server;
static int port;
static char dbdir[600], log_path[700];
static char eicar[69];

/* Assembled at run time, so the source and the test binary never hold the EICAR file whole. */
static void make_eicar(void)
{
	snprintf(eicar, sizeof(eicar), "%s%s", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD",
	         "-ANTIVIRUS-TEST-FILE!$H+H*");
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* scanner: a database with the EICAR signature, or no antivirus at all; extra: one more
 * NAME=value for the server's environment, or NULL; max_size: of each attachment. */
static void start_with(bool scanner, const char *extra, long max_size)
{
	char path[800], env_conn[900];
	snprintf(dbdir, sizeof(dbdir), "%s/clamav", cluster.dir);
	cr_assert_eq(mkdir(dbdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/tramit-test.hdb", dbdir);
	write_text(path, "44d88612fea8a8f36de82e1278abb02f:68:Tramit.Test.EICAR\n");
	snprintf(path, sizeof(path), "%s/connectors.json", cluster.dir);
	char json[800];
	snprintf(json, sizeof(json), scanner ? "{\"antivirus\": {\"database_dir\": \"%s\"}}" : "{}", dbdir);
	write_text(path, json);
	snprintf(env_conn, sizeof(env_conn), "TRAMIT_CONNECTORS_CONFIG=%s", path);
	/* The real GEN-001 with an optional attachment field: max_size each, three at most, PDF,
	 * ZIP and TXT (a plain EICAR reaches the scanner as text). */
	char field[600];
	snprintf(field, sizeof(field), "\t\tsection \"annexos\" {\n"
	         "\t\t\tlabel = { ca = \"Annexos\", es = \"Anexos\" },\n"
	         "\t\t\tfile \"annexos\" {\n"
	         "\t\t\t\tlabel = { ca = \"Documents adjunts\", es = \"Documentos adjuntos\" },\n"
	         "\t\t\t\taccept = { \"pdf\", \"zip\", \"txt\" }, max_size = %ld, max = 3,\n"
	         "\t\t\t},\n\t\t},\n\t\tsection \"contacte\" {", max_size);
	shell_tramit_variant(cluster.dir, "general/instancia-general.lua", "\t\tsection \"contacte\" {", field);
	static char env_db[1200], env_dir[700], env_port[32], env_cal[700];
	port = http_free_port();
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", cluster.dir);
	snprintf(env_cal, sizeof(env_cal), "TRAMIT_CALENDARS_DIR=%s/tramits/calendars", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log_path, sizeof(log_path), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_dir, env_cal, env_port, env_conn,
	                     "TRAMIT_TRUSTED_HEADER=X-Remote-User", "TRAMIT_TRUSTED_PROXY=127.0.0.1", extra, NULL};
	const char *args[] = {"serve", "--demo", NULL};
	server = tramit_start(args, env, port, log_path);
	db = pgtmp_connect(&cluster);
}

static void start(bool scanner)
{
	start_with(scanner, NULL, 614400);
}

static void setup(void)
{
	make_eicar();
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	server = 0;
	db = NULL;
}

static void teardown(void)
{
	if (server > 0)
		cr_expect_eq(tramit_stop(server, SIGTERM), 0, "the server stops cleanly on SIGTERM");
	PQfinish(db);
	pgtmp_stop(&cluster);
}

TestSuite(uploads, .init = setup, .fini = teardown, .timeout = 240);

static long long count(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* A person signed in through the trusted header (the demo proxy mode), cookies kept. */
struct who {
	CURL *curl;
	char header[64];
};

struct reply {
	long status;
	char *body;
	size_t len;
	char location[512], disposition[512], ctype[128], nosniff[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *payload)
{
	struct reply *r = payload;
	r->body = realloc(r->body, r->len + size * n + 1);
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static void header_value(char *out, size_t cap, const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	if (len > nl && strncasecmp(line, name, nl) == 0) {
		snprintf(out, cap, "%.*s", (int)(len - nl), line + nl);
		out[strcspn(out, "\r\n")] = '\0';
	}
}

static size_t on_header(char *p, size_t size, size_t n, void *payload)
{
	struct reply *r = payload;
	header_value(r->location, sizeof(r->location), p, size * n, "Location: ");
	header_value(r->disposition, sizeof(r->disposition), p, size * n, "Content-Disposition: ");
	header_value(r->ctype, sizeof(r->ctype), p, size * n, "Content-Type: ");
	header_value(r->nosniff, sizeof(r->nosniff), p, size * n, "X-Content-Type-Options: ");
	return size * n;
}

static struct who *who_new(const char *principal)
{
	struct who *w = calloc(1, sizeof(*w));
	w->curl = curl_easy_init();
	/* Nobody: a header the server ignores, so the request carries no identity. */
	snprintf(w->header, sizeof(w->header), *principal ? "X-Remote-User: %s" : "X-Nobody: %s", principal);
	curl_easy_setopt(w->curl, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(w->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 60L);
	return w;
}

static void who_free(struct who *w)
{
	curl_easy_cleanup(w->curl);
	free(w);
}

/* GET (body NULL) or POST of len bytes with content type ctype. */
static struct reply request(struct who *w, const char *path, const char *ctype, const char *body,
                            size_t len)
{
	struct reply r = {0};
	r.body = calloc(1, 1);
	char url[1024], ct[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct curl_slist *h = curl_slist_append(NULL, w->header);
	h = curl_slist_append(h, "Accept-Language: ca");
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(w->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->curl, CURLOPT_HEADERDATA, &r);
	if (body) {
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(w->curl, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(w->curl);
	curl_slist_free_all(h);
	cr_assert_eq(rc, CURLE_OK, "%s: %s", path, curl_easy_strerror(rc));
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &r.status);
	return r;
}

/* One part of a post: a value (filename NULL) or a file. */
struct part {
	const char *name, *filename;
	const void *data;
	size_t len;
};

/* The multipart body a browser would send for these parts (malloc'd, length in *len). */
static char *multipart(const struct part *parts, size_t n, size_t *len)
{
	char *out = NULL;
	FILE *m = open_memstream(&out, len);
	for (size_t i = 0; i < n; i++) {
		fprintf(m, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", BOUNDARY, parts[i].name);
		if (parts[i].filename)
			fprintf(m, "; filename=\"%s\"\r\nContent-Type: application/octet-stream", parts[i].filename);
		fprintf(m, "\r\n\r\n");
		fwrite(parts[i].data, 1, parts[i].len, m);
		fprintf(m, "\r\n");
	}
	fprintf(m, "--%s--\r\n", BOUNDARY);
	fclose(m);
	return out;
}

/* The form's CSRF token and submission key, from the page as a browser gets it. */
static void form_tokens(struct who *w, char **csrf, char **key)
{
	struct reply r = request(w, "/tramits/GEN-001/new", NULL, NULL, 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "enctype=\"multipart/form-data\"") != NULL, "the form posts multipart");
	*csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	*key = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_assert(*csrf && *key);
	free(r.body);
}

/* Posts GEN-001 with this token, key and subject, and the given files (field annexos). */
static struct reply post_form(struct who *w, const char *csrf, const char *key, const char *assumpte,
                              const struct part *files, size_t n_files)
{
	struct part parts[16] = {
		{"csrf", NULL, csrf, strlen(csrf)},
		{"submission", NULL, key, strlen(key)},
		{"assumpte", NULL, assumpte, strlen(assumpte)},
		{"exposa", NULL, "Tinc un garatge.", 16},
		{"solicita", NULL, "Un gual.", 8},
		{"idioma", NULL, "ca", 2},
	};
	size_t n = 6;
	for (size_t i = 0; i < n_files && n < 16; i++)
		parts[n++] = files[i];
	size_t len;
	char *body = multipart(parts, n, &len);
	struct reply r = request(w, "/tramits/GEN-001/new", "multipart/form-data; boundary=" BOUNDARY, body, len);
	free(body);
	return r;
}

/* Files GEN-001 with the given files, from a freshly loaded form; the reply to the post. */
static struct reply file_with(struct who *w, const struct part *files, size_t n_files)
{
	char *csrf, *key;
	form_tokens(w, &csrf, &key);
	struct reply r = post_form(w, csrf, key, "Gual", files, n_files);
	free(csrf);
	free(key);
	return r;
}

/* A small PDF, larger than one repository chunk (256 KiB), with content that differs by seed. */
static char *make_pdf(size_t *len, int seed)
{
	*len = 300 * 1024 + 17;
	char *p = malloc(*len);
	memcpy(p, "%PDF-1.4\n", 9);
	for (size_t i = 9; i < *len; i++)
		p[i] = (char)('a' + (i * 7 + (size_t)seed) % 26);
	return p;
}

static char *sha256_of(const void *data, size_t len)
{
	char path[700], *out;
	snprintf(path, sizeof(path), "%s/hashme", cluster.dir);
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	cr_assert_eq(shell_run(&out, NULL, "sha256sum '%s' | cut -c1-64 | tr -d '\\n'", path), 0);
	return out;
}

static int collect(const void *data, size_t len, void *payload)
{
	struct reply *r = payload;
	r->body = realloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, data, len);
	r->len += len;
	return 0;
}

static long long rows(void)
{
	return count("SELECT (SELECT count(*) FROM blob) + (SELECT count(*) FROM blob_chunk) + "
	             "(SELECT count(*) FROM attachment) + (SELECT count(*) FROM expedient)");
}

Test(uploads, a_clean_file_is_stored_once_listed_with_its_hash_and_downloaded_intact)
{
	start(true);
	struct who *maria = who_new(MARIA);
	size_t len;
	char *pdf = make_pdf(&len, 1);
	char *sha = sha256_of(pdf, len);
	struct part file = {"annexos", "plànol del gual.pdf", pdf, len};

	struct reply a = file_with(maria, &file, 1);
	cr_assert_eq(a.status, 303, "%s", a.body);
	struct reply b = file_with(maria, &file, 1);
	cr_assert_eq(b.status, 303, "%s", b.body);
	cr_assert_str_neq(a.location, b.location, "two applications");

	char sql[600];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM blob WHERE sha256 = '%s' AND size = %zu AND chunks = 2", sha, len);
	cr_expect_eq(count(sql), 1, "one blob for both uploads");
	cr_expect_eq(count("SELECT count(*) FROM blob"), 1);
	cr_expect_eq(count("SELECT count(*) FROM blob_chunk"), 2, "two chunks of 256 KiB at most");
	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT expedient_id) FROM attachment WHERE sha256 = '%s' "
	         "AND name = 'plànol del gual.pdf' AND field = 'annexos' AND media_type = 'application/pdf'", sha);
	cr_expect_eq(count(sql), 2, "two links, one per expedient");
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NULL"), 0, "none left pending");
	/* ENI metadata: identifier from the entity, the capture year and the document's id. */
	cr_expect_eq(count("SELECT count(*) FROM attachment a JOIN expedient x ON x.id = a.expedient_id WHERE "
	                   "a.eni_id = 'ES_' || a.organ || '_' || to_char(a.captured_at AT TIME ZONE 'Europe/Madrid', 'YYYY') "
	                   "|| '_' || replace(a.id::text, '-', '') AND a.origin = 0 AND a.state = 'EE01' AND "
	                   "a.signature_type = 'TF01' AND a.csv = x.receipt_csv"), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM expedient WHERE data->>'annexos' = 'plànol del gual.pdf|%zu|%s'",
	         len, sha);
	cr_expect_eq(count(sql), 2, "the form value names the file by its hash");

	/* The carpeta lists it with size and hash and a download link. */
	struct reply page = request(maria, a.location, NULL, NULL, 0);
	cr_assert_eq(page.status, 200);
	cr_expect(strstr(page.body, "id=\"attachments\"") != NULL, "%s", page.body);
	cr_expect(strstr(page.body, sha) != NULL, "the hash is shown");
	cr_expect(strstr(page.body, "plànol del gual.pdf") != NULL);
	/* In KiB with one decimal after a comma, as people here write it. */
	char size_cell[160];
	snprintf(size_cell, sizeof(size_cell), "</span></td><td>%zu,%zu KiB</td><td><code class=\"hash\">",
	         len >> 10, ((len % 1024) * 10) >> 10);
	cr_assert(len >= 256 * 1024 && len < 1024 * 1024 && len % 1024 != 0, "%zu", len);
	cr_expect(strstr(page.body, size_cell) != NULL, "the size is shown: %s", size_cell);
	char *link = http_extract(page.body, "<a href=\"/attachments/", '"');
	cr_assert_not_null(link);
	char path[200];
	snprintf(path, sizeof(path), "/attachments/%s", link);

	struct reply dl = request(maria, path, NULL, NULL, 0);
	cr_assert_eq(dl.status, 200);
	cr_expect_eq(dl.len, len);
	cr_expect(dl.len == len && memcmp(dl.body, pdf, len) == 0, "identical bytes");
	cr_expect_str_eq(dl.ctype, "application/pdf");
	cr_expect_str_eq(dl.nosniff, "nosniff");
	cr_expect_str_eq(dl.disposition, "attachment; filename=\"pl__nol del gual.pdf\"; "
	                 "filename*=UTF-8''pl%C3%A0nol%20del%20gual.pdf");

	/* Another citizen, and nobody signed in, get the answer an unknown id gets. */
	struct who *joan = who_new(JOAN);
	struct reply other = request(joan, path, NULL, NULL, 0);
	cr_expect_eq(other.status, 404);
	cr_expect(other.len < 20000 && memmem(other.body, other.len, "%PDF", 4) == NULL);
	struct who *nobody = who_new("");
	struct reply anon = request(nobody, path, NULL, NULL, 0);
	cr_expect_eq(anon.status, 404);
	struct reply unknown = request(maria, "/attachments/00000000-0000-4000-8000-000000000000", NULL, NULL, 0);
	cr_expect_eq(unknown.status, 404);

	/* The employee sees it in the back office and may download it. */
	struct who *pere = who_new("employee:demo.empleat");
	const char *id = strrchr(a.location, '/') + 1;
	char bo[200];
	snprintf(bo, sizeof(bo), "/backoffice/expedients/%.36s", id);
	struct reply bop = request(pere, bo, NULL, NULL, 0);
	cr_expect_eq(bop.status, 200);
	cr_expect(strstr(bop.body, sha) != NULL, "the back office lists the hash");
	struct reply edl = request(pere, path, NULL, NULL, 0);
	cr_expect_eq(edl.status, 200);
	cr_expect(edl.len == len && memcmp(edl.body, pdf, len) == 0);

	/* The receipt acknowledges the attachment by its hash, under its own heading. */
	snprintf(sql, sizeof(sql), "SELECT convert_from(d.content, 'UTF8') FROM document d JOIN expedient x "
	         "ON x.receipt_csv = d.csv WHERE x.id = '%.36s'", id);
	char *receipt = query1(sql), json_path[700], *text;
	snprintf(json_path, sizeof(json_path), "%s/receipt.json", cluster.dir);
	write_text(json_path, receipt);
	cr_assert_eq(shell_run(&text, NULL, "'%s' document render '%s' -o '%s.pdf' >/dev/null && "
	                       "pdftotext -enc UTF-8 -x 52 -y 0 -W 560 -H 842 '%s.pdf' - | tr -s ' \\n' ' '", TRAMIT_BINARY, json_path,
	                       json_path, json_path), 0);
	char want[300];
	snprintf(want, sizeof(want), "Documents adjunts Documentos adjuntos Documents adjunts / Documentos "
	         "adjuntos plànol del gual.pdf (%zu bytes) SHA-256: %s", len, sha);
	cr_expect(strstr(text, want) != NULL, "'%s' not in %s", want, text);
	cr_expect(strstr(text, "|") == NULL, "no raw form value: %s", text);
	free(receipt), free(text);

	/* Immutable in the database, not only by convention. */
	PGresult *r = PQexec(db, "UPDATE blob_chunk SET data = 'x'");
	cr_expect_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	cr_expect(strstr(PQresultErrorMessage(r), "blob_chunk rows are immutable") != NULL, "%s", PQresultErrorMessage(r));
	PQclear(r);
	r = PQexec(db, "DELETE FROM attachment");
	cr_expect_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	/* The repository's own reader checks the bytes against their name as they pass. */
	struct eng_store *st;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&st, cluster.conninfo, &err), 0, "%s", err.msg);
	struct reply got = {0};
	cr_assert_eq(eng_docstore_read(st, NULL, sha, collect, &got, &err), 0, "%s", err.msg);
	cr_expect(got.len == len && memcmp(got.body, pdf, len) == 0);
	r = PQexec(db, "ALTER TABLE blob_chunk DISABLE TRIGGER blob_chunk_immutable; UPDATE blob_chunk SET "
	               "data = overlay(data placing 'X' from 1 for 1) WHERE seq = 1; "
	               "ALTER TABLE blob_chunk ENABLE TRIGGER blob_chunk_immutable");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	free(got.body);
	got = (struct reply){0};
	cr_expect_eq(eng_docstore_read(st, NULL, sha, collect, &got, &err), ENG_EINTERNAL);
	cr_expect(strstr(err.msg, "the repository is damaged") != NULL, "%s", err.msg);
	eng_store_close(st);
	free(got.body);
	free(a.body), free(b.body), free(page.body), free(dl.body), free(other.body), free(anon.body);
	free(unknown.body), free(bop.body), free(edl.body), free(link), free(pdf), free(sha);
	who_free(maria), who_free(joan), who_free(nobody), who_free(pere);
}

Test(uploads, a_form_refused_for_another_field_keeps_its_key_and_links_the_files_once)
{
	start(true);
	struct who *maria = who_new(MARIA);
	size_t len;
	char *pdf = make_pdf(&len, 5);
	struct part file = {"annexos", "a.pdf", pdf, len};
	char *csrf, *key;
	form_tokens(maria, &csrf, &key);
	/* No subject: the engine refuses the form; the file was clean, so it waits, pending. */
	struct reply r = post_form(maria, csrf, key, "", &file, 1);
	cr_assert_eq(r.status, 422, "%s", r.body);
	char *again = http_extract(r.body, "name=\"submission\" value=\"", '"');
	cr_expect_str_eq(again, key, "the form shown again keeps its submission key");
	/* The file it staged is kept, and the form says it need not be chosen again. */
	cr_expect(strstr(r.body, "Els fitxers ja adjuntats es conserven: no cal que torneu a triar els fitxers.")
	          != NULL, "the citizen is told the file is kept");
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NULL"), 1);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 0);
	/* Sent again, fixed, with the file chosen again: one expedient, one attachment. */
	struct reply ok = post_form(maria, csrf, again, "Gual", &file, 1);
	cr_assert_eq(ok.status, 303, "%s", ok.body);
	cr_expect_eq(count("SELECT count(*) FROM attachment"), 1, "the pending one was replaced, not added to");
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NOT NULL"), 1);
	cr_expect_eq(count("SELECT count(*) FROM blob"), 1);
	/* The same post once more (a double click): the first outcome, nothing linked twice. */
	struct reply twice = post_form(maria, csrf, again, "Gual", &file, 1);
	cr_expect_eq(twice.status, 303);
	cr_expect_str_eq(twice.location, ok.location);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NOT NULL"), 1);
	free(r.body), free(ok.body), free(twice.body), free(again), free(csrf), free(key), free(pdf);
	who_free(maria);
}

Test(uploads, with_a_documents_folder_the_bytes_are_a_read_only_file_named_by_their_hash)
{
	static char env_docs[800], docs[700];
	snprintf(docs, sizeof(docs), "%s/documents", cluster.dir);
	cr_assert_eq(mkdir(docs, 0750), 0);
	snprintf(env_docs, sizeof(env_docs), "TRAMIT_DOCUMENTS_DIR=%s", docs);
	start_with(true, env_docs, 614400);
	struct who *maria = who_new(MARIA);
	size_t len;
	char *pdf = make_pdf(&len, 6);
	char *sha = sha256_of(pdf, len);
	struct part file = {"annexos", "a.pdf", pdf, len};
	struct reply a = file_with(maria, &file, 1);
	cr_assert_eq(a.status, 303, "%s", a.body);
	struct reply b = file_with(maria, &file, 1);
	cr_assert_eq(b.status, 303, "%s", b.body);
	char sql[300], path[900], *out;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM blob WHERE sha256 = '%s' AND backend = 'folder' AND chunks = 2", sha);
	cr_expect_eq(count(sql), 1);
	cr_expect_eq(count("SELECT count(*) FROM blob_chunk"), 0, "no bytes in the database");
	cr_expect_eq(count("SELECT count(*) FROM attachment WHERE expedient_id IS NOT NULL"), 2);
	snprintf(path, sizeof(path), "%s/%.2s/%s", docs, sha, sha);
	cr_assert_eq(shell_run(&out, NULL, "stat -c '%%a %%s' '%s' && sha256sum '%s' | cut -c1-64 && "
	                       "ls -A '%s/%.2s' | wc -l", path, path, docs, sha), 0);
	char want[200];
	snprintf(want, sizeof(want), "440 %zu\n%s\n1\n", len, sha);
	cr_expect_str_eq(out, want, "read-only, the exact bytes, no temporary file left");
	free(out);
	struct reply page = request(maria, a.location, NULL, NULL, 0);
	char *link = http_extract(page.body, "<a href=\"/attachments/", '"');
	cr_assert_not_null(link);
	char url[200];
	snprintf(url, sizeof(url), "/attachments/%s", link);
	struct reply dl = request(maria, url, NULL, NULL, 0);
	cr_expect_eq(dl.status, 200);
	cr_expect(dl.len == len && memcmp(dl.body, pdf, len) == 0, "identical bytes from the folder");
	free(a.body), free(b.body), free(page.body), free(link), free(dl.body), free(pdf), free(sha);
	who_free(maria);
}

/* A client that asks for a large file and goes away after its first bytes: the server stops
 * sending, frees the download and goes on serving (under ASan, a use after free would end it). */
Test(uploads, a_download_abandoned_midway_leaves_the_server_serving)
{
	start_with(true, NULL, 10 << 20);
	struct who *maria = who_new(MARIA);
	size_t len = (10 << 20) - 4096;
	char *pdf = malloc(len);
	memcpy(pdf, "%PDF-1.4\n", 9);
	for (size_t i = 9; i < len; i++)
		pdf[i] = (char)((i * 2654435761u) >> 13);
	struct part file = {"annexos", "gran.pdf", pdf, len};
	struct reply a = file_with(maria, &file, 1);
	cr_assert_eq(a.status, 303, "%s", a.body);
	struct reply page = request(maria, a.location, NULL, NULL, 0);
	char *link = http_extract(page.body, "<a href=\"/attachments/", '"');
	cr_assert_not_null(link);
	for (int round = 0; round < 3; round++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int small = 4096;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		char req[300], buf[4096];
		int n = snprintf(req, sizeof(req), "GET /attachments/%s HTTP/1.1\r\nHost: x\r\n"
		                 "X-Remote-User: " MARIA "\r\n\r\n", link);
		cr_assert_eq(write(fd, req, (size_t)n), n);
		cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "the download starts");
		usleep(200 * 1000); /* the server fills the socket and waits for it to drain */
		/* A reset, not a polite close: the next write fails at once. */
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	usleep(300 * 1000);
	struct reply health = request(maria, "/healthz", NULL, NULL, 0);
	cr_expect_eq(health.status, 200, "still serving");
	char *log;
	shell_run(&log, NULL, "grep -c 'GET /attachments/' '%s'", log_path);
	cr_expect_str_eq(log, "3\n", "each abandoned download was ended and logged once");
	free(log), free(health.body), free(link), free(page.body), free(a.body), free(pdf);
	who_free(maria);
}

/* Posts one file and expects the form back (422) with message beside the field, the other
 * values kept and no row written. */
static void expect_refused(struct who *w, const struct part *file, const char *message)
{
	long long before = rows();
	struct reply r = file_with(w, file, 1);
	cr_expect_eq(r.status, 422, "%s: %ld", file->filename, r.status);
	/* As the page escapes it: apostrophes become &#39;. */
	char html[512];
	size_t o = 0;
	for (const char *p = message; *p && o + 6 < sizeof(html); p++)
		o += (size_t)(*p == '\'' ? snprintf(html + o, 6, "&#39;") : snprintf(html + o, 2, "%c", *p));
	cr_expect(strstr(r.body, html) != NULL, "'%s' not in %s", html, r.body);
	cr_expect(strstr(r.body, "id=\"e-annexos\"") != NULL, "the message is beside the field");
	cr_expect(strstr(r.body, "value=\"Gual\"") != NULL, "the other values are kept");
	cr_expect_eq(rows(), before, "%s: nothing stored", file->filename);
	free(r.body);
}

Test(uploads, infected_oversized_and_mistyped_files_are_refused_and_nothing_is_stored)
{
	start(true);
	struct who *maria = who_new(MARIA);
	long long before = rows();
	struct part plain = {"annexos", "nota.txt", eicar, strlen(eicar)};
	expect_refused(maria, &plain, "«nota.txt»: conté un virus i no s'ha acceptat.");
	size_t zlen;
	unsigned char *zip = zip_one(&zlen, "docs/annex.com", eicar, strlen(eicar), NULL);
	struct part zipped = {"annexos", "annexos.zip", zip, zlen};
	expect_refused(maria, &zipped, "«annexos.zip»: conté un virus i no s'ha acceptat.");
	unsigned char *locked = zip_one(&zlen, "secret.txt", "res de res", 10, "contrasenya");
	struct part encrypted = {"annexos", "secret.zip", locked, zlen};
	expect_refused(maria, &encrypted, "«secret.zip»: està xifrat o protegit amb contrasenya");
	size_t big_len = 700 * 1024;
	char *big = calloc(1, big_len);
	memcpy(big, "%PDF-1.4\n", 9);
	struct part oversized = {"annexos", "gran.pdf", big, big_len};
	expect_refused(maria, &oversized, "«gran.pdf»: ocupa 700 KiB i el màxim és 600 KiB.");
	struct part exe = {"annexos", "programa.exe", "MZ", 2};
	expect_refused(maria, &exe, "«programa.exe»: aquest tipus de fitxer no s'accepta; formats admesos: PDF, ZIP, TXT.");
	struct part empty = {"annexos", "buit.pdf", "", 0};
	expect_refused(maria, &empty, "«buit.pdf»: el fitxer està buit.");
	struct part fake = {"annexos", "factura.pdf", "<html>no</html>", 15};
	expect_refused(maria, &fake, "«factura.pdf»: el contingut no és un fitxer PDF.");
	/* One clean file with one infected one: neither is kept. */
	size_t plen;
	char *pdf = make_pdf(&plen, 2);
	struct part both[] = {{"annexos", "bo.pdf", pdf, plen}, {"annexos", "nota.txt", eicar, strlen(eicar)}};
	struct reply r = file_with(maria, both, 2);
	cr_expect_eq(r.status, 422);
	cr_expect_eq(rows(), before, "a clean file is not kept when another is refused");
	cr_expect_eq(count("SELECT count(*) FROM blob"), 0);
	/* Operators learn the signature; the citizen only that there is a virus. */
	char *log;
	shell_run(&log, NULL, "cat '%s'", log_path);
	cr_expect(strstr(log, "nota.txt is infected: Tramit.Test.EICAR.UNOFFICIAL") != NULL, "%s", log);
	cr_expect(strstr(r.body, "Tramit.Test.EICAR") == NULL, "no signature name for citizens");
	free(log), free(r.body), free(zip), free(locked), free(big), free(pdf);
	who_free(maria);
}

Test(uploads, malformed_multipart_gets_400_with_the_reason)
{
	start(true);
	struct who *maria = who_new(MARIA);
	char *csrf, *key;
	form_tokens(maria, &csrf, &key);
	long long before = rows();
	const char *ct = "multipart/form-data; boundary=" BOUNDARY;
	struct { const char *ctype, *body, *message; } cases[] = {
		{"multipart/form-data", "--x\r\n", "separador (boundary) vàlid"},
		{ct, "garbage before --" BOUNDARY "\r\n", "mal format o incomplet"},
		{ct, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc", "mal format o incomplet"},
		{ct, "--" BOUNDARY "\r\nContent-Type: text/plain\r\n\r\nabc\r\n--" BOUNDARY "--\r\n", "Content-Disposition amb name"},
		{ct, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"assumpte\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--"
		     BOUNDARY "--\r\n", "un camp que no admet fitxers"},
		{ct, "--" BOUNDARY "\nContent-Disposition: form-data; name=\"x\"\n\nabc\n--" BOUNDARY "--\n", "mal format o incomplet"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r = request(maria, "/tramits/GEN-001/new", cases[i].ctype, cases[i].body, strlen(cases[i].body));
		cr_expect_eq(r.status, 400, "case %zu: %ld", i, r.status);
		cr_expect(strstr(r.body, cases[i].message) != NULL, "case %zu: %s", i, r.body);
		free(r.body);
	}
	/* Headers of one part past 1024 bytes, and more than 64 parts. */
	char *body = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&body, &len);
	fprintf(m, "--%s\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: %02000d\r\n\r\nv\r\n--%s--\r\n",
	        BOUNDARY, 0, BOUNDARY);
	fclose(m);
	struct reply r = request(maria, "/tramits/GEN-001/new", ct, body, len);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "capçaleres massa llargues") != NULL, "%s", r.body);
	free(r.body), free(body);
	m = open_memstream(&body, &len);
	for (int i = 0; i < 65; i++)
		fprintf(m, "--%s\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nv\r\n", BOUNDARY, i);
	fprintf(m, "--%s--\r\n", BOUNDARY);
	fclose(m);
	r = request(maria, "/tramits/GEN-001/new", ct, body, len);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "massa parts (com a màxim 64)") != NULL, "%s", r.body);
	free(r.body), free(body);
	/* A well-formed post without the CSRF token is refused too. */
	struct part parts[] = {{"assumpte", NULL, "x", 1}};
	body = multipart(parts, 1, &len);
	r = request(maria, "/tramits/GEN-001/new", ct, body, len);
	cr_expect_eq(r.status, 403);
	free(r.body), free(body);
	cr_expect_eq(rows(), before, "nothing stored");
	free(csrf), free(key);
	who_free(maria);
}

Test(uploads, a_file_cannot_be_named_by_its_hash_without_uploading_it)
{
	start(true);
	struct who *maria = who_new(MARIA);
	size_t len;
	char *pdf = make_pdf(&len, 3);
	struct part file = {"annexos", "a.pdf", pdf, len};
	struct reply a = file_with(maria, &file, 1);
	cr_assert_eq(a.status, 303, "%s", a.body);
	char *value = query1("SELECT data->>'annexos' FROM expedient");
	/* Joan knows the hash and names it through the API: refused, nothing linked. */
	struct who *joan = who_new(JOAN);
	char *csrf, *key;
	form_tokens(joan, &csrf, &key);
	char json[1200], header[200];
	snprintf(json, sizeof(json), "{\"form\": {\"assumpte\": \"x\", \"exposa\": \"x\", \"solicita\": \"x\", "
	         "\"idioma\": \"ca\", \"annexos\": \"%s\"}}", value);
	snprintf(header, sizeof(header), "X-CSRF-Token: %s", csrf);
	struct curl_slist *h = curl_slist_append(NULL, header);
	curl_easy_setopt(joan->curl, CURLOPT_HTTPHEADER, h);
	struct reply r = {0};
	r.body = calloc(1, 1);
	char url[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/tramits/GEN-001/expedients", port);
	struct curl_slist *h2 = curl_slist_append(NULL, joan->header);
	h2 = curl_slist_append(h2, header);
	h2 = curl_slist_append(h2, "Content-Type: application/json");
	curl_easy_setopt(joan->curl, CURLOPT_HTTPHEADER, h2);
	curl_easy_setopt(joan->curl, CURLOPT_URL, url);
	curl_easy_setopt(joan->curl, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(joan->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(joan->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(joan->curl, CURLOPT_WRITEDATA, &r);
	cr_assert_eq(curl_easy_perform(joan->curl), CURLE_OK);
	curl_easy_getinfo(joan->curl, CURLINFO_RESPONSE_CODE, &r.status);
	cr_expect_eq(r.status, 422, "%s", r.body);
	cr_expect(strstr(r.body, "adjunteu els fitxers amb el formulari de la seu") != NULL, "%s", r.body);
	cr_expect_eq(count("SELECT count(*) FROM expedient"), 1);
	cr_expect_eq(count("SELECT count(*) FROM attachment"), 1);
	curl_slist_free_all(h), curl_slist_free_all(h2);
	free(r.body), free(a.body), free(value), free(csrf), free(key), free(pdf);
	who_free(maria), who_free(joan);
}

Test(uploads, without_a_scanner_every_file_is_refused)
{
	start(false);
	struct who *maria = who_new(MARIA);
	size_t len;
	char *pdf = make_pdf(&len, 4);
	struct part file = {"annexos", "net.pdf", pdf, len};
	expect_refused(maria, &file, "«net.pdf»: no s'ha pogut analitzar amb l'antivirus i no s'accepta");
	/* The form without files still works. */
	struct reply r = file_with(maria, NULL, 0);
	cr_expect_eq(r.status, 303, "%s", r.body);
	cr_expect_eq(count("SELECT count(*) FROM blob"), 0);
	free(r.body), free(pdf);
	who_free(maria);
}

Test(uploads, a_scanner_with_a_missing_database_stops_the_server_from_starting)
{
	char path[800], *out;
	snprintf(path, sizeof(path), "%s/connectors.json", cluster.dir);
	write_text(path, "{\"antivirus\": {\"database_dir\": \"/nonexistent/clamav\"}}");
	int status = shell_run(&out, NULL, "TRAMIT_DATABASE_URL='%s' TRAMIT_CONNECTORS_CONFIG='%s' PORT=%d "
	                       "TRAMIT_TRAMITS_DIR='%s/tramits' timeout 20 '%s' serve --demo 2>&1",
	                       cluster.conninfo, path, http_free_port(), TRAMIT_SOURCE_DIR, TRAMIT_BINARY);
	/* 1: it refused to start (timeout's 124 would mean it was serving). */
	cr_expect_eq(status, 1, "%s", out);
	cr_expect(strstr(out, "antivirus.database_dir: /nonexistent/clamav is not usable") != NULL, "%s", out);
	free(out);
}

/* The parser on its own, over hostile bodies: whatever the bytes, it refuses with a reason or
 * returns parts that lie wholly inside the body (ASan watches every read). */
static struct web_ctx mp;

static void mp_setup(void)
{
	memset(&mp, 0, sizeof(mp));
}

static void mp_teardown(void)
{
	eng_arena_free(&mp.arena);
}

TestSuite(multipart, .init = mp_setup, .fini = mp_teardown);

#define CT "multipart/form-data; boundary=\"" BOUNDARY "\""

Test(multipart, a_browser_post_parses_into_its_parts)
{
	struct part parts[] = {{"assumpte", NULL, "Gual", 4}, {"annexos", "C:\\Users\\maria\\plànol.pdf", "%PDF-1.4\r\n--x", 13},
	                       {"annexos", "", "", 0}};
	size_t len, n;
	char *body = multipart(parts, 3, &len);
	struct web_part *out;
	const char *why = NULL;
	cr_assert_eq(web_multipart_parse(&mp, CT, body, len, 64, &out, &n, &why), 0, "%s", why);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(out[0].name, "assumpte");
	cr_expect_null(out[0].filename);
	cr_expect(out[0].len == 4 && memcmp(out[0].data, "Gual", 4) == 0);
	cr_expect_str_eq(out[1].filename, "C:\\Users\\maria\\plànol.pdf");
	cr_expect_str_eq(out[1].content_type, "application/octet-stream");
	cr_expect(out[1].len == 13 && memcmp(out[1].data, "%PDF-1.4\r\n--x", 13) == 0, "a CRLF-- inside a file is data");
	cr_expect_str_eq(out[2].filename, "");
	cr_expect_eq(out[2].len, 0);
	free(body);
}

Test(multipart, every_truncation_and_byte_change_is_refused_or_stays_inside_the_body)
{
	struct part parts[] = {{"csrf", NULL, "tok", 3}, {"annexos", "a \"b\".pdf", "%PDF-1.4 abc", 12}};
	size_t len;
	char *body = multipart(parts, 2, &len);
	static const char bytes[] = {'\0', '\r', '\n', '-', '"', ';', '=', '\\', 'x', (char)0xff};
	size_t parsed = 0, refused = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		for (size_t b = 0; b <= sizeof(bytes); b++) {
			/* Exactly the bytes under test, in a buffer of their own size. */
			char *copy = malloc(cut ? cut : 1);
			memcpy(copy, body, cut);
			if (b < sizeof(bytes) && cut > 0)
				copy[cut - 1] = bytes[b];
			struct web_part *out;
			size_t n;
			const char *why = NULL;
			if (web_multipart_parse(&mp, CT, copy, cut, 8, &out, &n, &why) == 0) {
				parsed++;
				for (size_t i = 0; i < n; i++)
					cr_assert(out[i].data >= copy && out[i].data + out[i].len <= copy + cut);
			} else {
				refused++;
				cr_assert(why && strncmp(why, "mp.", 3) == 0);
			}
			free(copy);
		}
	}
	cr_expect_gt(refused, 0);
	cr_expect_gt(parsed, 0, "the whole body, and cuts inside its epilogue, parse");
	free(body);
}

Test(multipart, file_names_are_cleaned_to_a_safe_last_component)
{
	struct { const char *raw, *clean; } cases[] = {
		{"C:\\Users\\maria\\plànol.pdf", "plànol.pdf"},
		{"../../etc/passwd", "passwd"},
		{"a|b\n.pdf", "a_b_.pdf"},
		{".htaccess", "htaccess"},
		{"\xff\xfe.pdf", "__.pdf"},
		{"\"quoted\" <x>.zip", "_quoted_ _x_.zip"},
		{"nom. ", "nom"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(web_filename_clean(&mp, cases[i].raw), cases[i].clean, "case %zu", i);
	char longname[400];
	memset(longname, 'a', 300);
	strcpy(longname + 300, ".pdf");
	const char *c = web_filename_clean(&mp, longname);
	cr_expect_eq(strlen(c), 255);
	cr_expect_str_eq(c + 251, ".pdf");
}
