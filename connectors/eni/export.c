/* Writes one expedient as an ENI export folder: documents with their metadata first, the
 * sealed index last, so a folder with an index.xml is always a complete export. A receipt is
 * exported twice: its JSON original (EE01) and its PDF rendering (EE02, a copy with format
 * change pointing to the original), both listed in the index. The files the citizen attached
 * follow, streamed from the repository. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "connectors/docs/docs.h"
#include "connectors/eni/eni_internal.h"

/* DOMAIN.md 10.1: TD09 "Acuse de recibo" is the registry receipt; anything else TD99. */
static const char *document_type(const char *kind)
{
	return strcmp(kind, "receipt") == 0 ? "TD09" : "TD99";
}

/* Extension and NTI format name (NombreFormato) of an original by media type: the formats
 * of the NTI catalogue of standards that uploads and issued documents use. */
static void original_format(const char *media_type, const char **ext, const char **format)
{
	static const char *const table[][3] = {
		{"application/json", "json", "JSON"}, {"application/pdf", "pdf", "PDF"},
		{"image/jpeg", "jpg", "JPEG"}, {"image/png", "png", "PNG"}, {"image/tiff", "tiff", "TIFF"},
		{"image/svg+xml", "svg", "SVG"}, {"application/xml", "xml", "XML"}, {"text/xml", "xml", "XML"},
		{"text/plain", "txt", "TXT"}, {"text/csv", "csv", "CSV"}, {"application/rtf", "rtf", "RTF"},
		{"application/zip", "zip", "ZIP"},
		{"application/vnd.oasis.opendocument.text", "odt", "ODT"},
		{"application/vnd.oasis.opendocument.spreadsheet", "ods", "ODS"},
		{"application/vnd.oasis.opendocument.presentation", "odp", "ODP"},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(media_type, table[i][0]) == 0) {
			*ext = table[i][1], *format = table[i][2];
			return;
		}
	*ext = "bin", *format = media_type;
}

/* ES_<organ>_<year>_<specific>: the year is the one of the date (its first four characters). */
static int make_identifier(char *out, size_t cap, const char *organ, const char *date,
                           const char *specific)
{
	int n = snprintf(out, cap, "ES_%s_%.4s_%s", organ, date, specific);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The expedient's specific part: EXP_ and its number's sequence (2026/000123 -> 000123, as
 * the year is already in the identifier); other characters than letters and digits become _. */
static void expedient_specific(char *out, size_t cap, const char *number)
{
	const char *slash = strrchr(number, '/');
	const char *seq = slash ? slash + 1 : number;
	size_t o = (size_t)snprintf(out, cap, "EXP_");
	for (; *seq && o + 1 < cap; seq++)
		out[o++] = (*seq >= '0' && *seq <= '9') || (*seq >= 'A' && *seq <= 'Z') ||
		                   (*seq >= 'a' && *seq <= 'z') ? *seq : '_';
	out[o] = '\0';
}

static void uuid_hex(char out[33], const char *uuid)
{
	size_t o = 0;
	for (; *uuid && o < 32; uuid++)
		if (*uuid != '-')
			out[o++] = *uuid;
	out[o] = '\0';
}

static int fill_doc(struct eni__doc *e, const char *organ, const struct conn_eni_document *d,
                    const char *suffix, const char *ext, struct conn_eni_error *err)
{
	char hex[33], specific[48];
	uuid_hex(hex, d->id);
	snprintf(specific, sizeof(specific), "%s%s", hex, suffix);
	if (make_identifier(e->id, sizeof(e->id), organ, d->created_at, specific) != 0 ||
	    (size_t)snprintf(e->file, sizeof(e->file), "%s.%s", e->id, ext) >= sizeof(e->file))
		return eni__fail(err, CONN_ENI_EFAIL, "document %s: organ '%s' makes too long an "
		                 "identifier", d->id, organ);
	e->doc_type = document_type(d->kind);
	e->captured_at = d->created_at;
	e->csv = d->csv;
	return 0;
}

/* A citizen's attachment: its original (EE01), of citizen origin, under the identifier it got
 * when it was linked (or one made like the documents' for a row that has none). */
static int plan_attachment(struct eni__doc *e, const char *organ, const struct conn_eni_attachment *a,
                           struct conn_eni_error *err)
{
	const char *ext;
	original_format(a->media_type, &ext, &e->format);
	char hex[33];
	uuid_hex(hex, a->id);
	int bad = a->eni_id[0] ? (size_t)snprintf(e->id, sizeof(e->id), "%s", a->eni_id) >= sizeof(e->id)
	                       : make_identifier(e->id, sizeof(e->id), organ, a->captured_at, hex) != 0;
	if (bad || (size_t)snprintf(e->file, sizeof(e->file), "%s.%s", e->id, ext) >= sizeof(e->file))
		return eni__fail(err, CONN_ENI_EFAIL, "attachment %s: too long an identifier", a->id);
	/* TD99 Otros: the form field says what it is, the document type list does not. */
	e->doc_type = "TD99";
	e->captured_at = a->captured_at;
	e->csv = a->csv;
	e->state = a->state;
	e->origin = a->origin == 0 ? "0" : "1";
	e->attachment = a;
	return 0;
}

/* The receipt's PDF rendering; its JSON must be a NUL-terminated string for the renderer. */
static int render_receipt(unsigned char **pdf, size_t *len, const struct conn_eni_document *d,
                          const char *url, struct conn_eni_error *err)
{
	char *json = malloc(d->content_len + 1);
	if (!json)
		return eni__fail(err, CONN_ENI_EFAIL, "out of memory");
	memcpy(json, d->content, d->content_len);
	json[d->content_len] = '\0';
	struct conn_error cerr = {0};
	int rc = conn_doc_receipt_pdf(pdf, len, json, NULL, url, &cerr);
	free(json);
	if (rc != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "document %s: rendering the receipt as PDF: %s",
		                 d->id, cerr.msg);
	return 0;
}

/* The ENI documents of x: each original, then for a receipt its PDF copy. pdfs[i] holds the
 * rendering of x->docs[i] (NULL for non-receipts); docs[] borrows from x and pdfs. */
static int plan(struct eni__doc *docs, size_t *n, unsigned char **pdfs, size_t *pdf_lens,
                const struct conn_eni_expedient *x, const struct conn_eni_export_options *opt,
                struct conn_eni_error *err)
{
	*n = 0;
	for (size_t i = 0; i < x->n_docs; i++) {
		const struct conn_eni_document *d = &x->docs[i];
		struct eni__doc *orig = &docs[(*n)++];
		const char *ext;
		original_format(d->media_type, &ext, &orig->format);
		if (fill_doc(orig, x->organ, d, "", ext, err) != 0)
			return CONN_ENI_EFAIL;
		orig->state = "EE01";
		orig->bytes = d->content;
		orig->len = d->content_len;
		if (strcmp(d->kind, "receipt") != 0)
			continue;
		if (render_receipt(&pdfs[i], &pdf_lens[i], d, opt->verify_base_url, err) != 0)
			return CONN_ENI_EFAIL;
		struct eni__doc *copy = &docs[(*n)++];
		if (fill_doc(copy, x->organ, d, "_PDF", "pdf", err) != 0)
			return CONN_ENI_EFAIL;
		copy->format = "PDF";
		copy->state = "EE02";
		copy->origin_id = orig->id;
		copy->bytes = pdfs[i];
		copy->len = pdf_lens[i];
	}
	for (size_t i = 0; i < x->n_attachments; i++)
		if (plan_attachment(&docs[(*n)++], x->organ, &x->attachments[i], err) != 0)
			return CONN_ENI_EFAIL;
	return 0;
}

static int make_folders(const char *dir, struct conn_eni_error *err)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/index.xml", dir);
	if (stat(path, &st) == 0)
		return eni__fail(err, CONN_ENI_EFAIL, "%s already exists: export into an empty folder",
		                 path);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot create: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/documents", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot create: %s", path, strerror(errno));
	return 0;
}

/* Where an attachment's chunks go: the file and the running hash. */
struct stream {
	FILE *f;
	EVP_MD_CTX *md;
	long long written;
};

static int stream_sink(const void *data, size_t len, void *payload)
{
	struct stream *st = payload;
	if (fwrite(data, 1, len, st->f) != len || EVP_DigestUpdate(st->md, data, len) != 1)
		return -1;
	st->written += (long long)len;
	return 0;
}

/* Writes an attachment's bytes from the repository a chunk at a time, hashing them as they
 * pass: the index gets the hash of what was written, and a blob whose bytes no longer match
 * their name fails the export instead of entering a sealed index. */
static int write_streamed(const char *path, struct eni__doc *d, const struct conn_eni_export_options *opt,
                          struct conn_eni_error *err)
{
	const struct conn_eni_attachment *a = d->attachment;
	if (!opt->read)
		return eni__fail(err, CONN_ENI_EFAIL, "attachment %s: no reader for the repository", a->id);
	struct stream st = {.f = fopen(path, "wb"), .md = EVP_MD_CTX_new()};
	char msg[256] = "";
	int rc = !st.f ? eni__fail(err, CONN_ENI_EFAIL, "%s: cannot create: %s", path, strerror(errno))
	       : !st.md || EVP_DigestInit_ex(st.md, EVP_sha256(), NULL) != 1
	         ? eni__fail(err, CONN_ENI_EFAIL, "%s: hashing failed", path)
	       : opt->read(opt->read_ctx, a->sha256, stream_sink, &st, msg, sizeof(msg)) != 0
	         ? eni__fail(err, CONN_ENI_EFAIL, "attachment %s (%s): %s", a->id, a->name,
	                     msg[0] ? msg : "reading from the repository failed")
	         : 0;
	if (st.f && fclose(st.f) != 0 && rc == 0)
		rc = eni__fail(err, CONN_ENI_EFAIL, "%s: write error: %s", path, strerror(errno));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (rc == 0 && (EVP_DigestFinal_ex(st.md, md, &md_len) != 1 || md_len != 32))
		rc = eni__fail(err, CONN_ENI_EFAIL, "%s: hashing failed", path);
	EVP_MD_CTX_free(st.md);
	if (rc != 0)
		return rc;
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, a->sha256) != 0 || st.written != a->size)
		return eni__fail(err, CONN_ENI_EFAIL, "attachment %s (%s): the repository gave %lld bytes "
		                 "hashing to %s, not the %lld bytes of %s", a->id, a->name, st.written, hex,
		                 a->size, a->sha256);
	EVP_EncodeBlock((unsigned char *)d->sha256_b64, md, 32);
	return 0;
}

static int write_document(const char *dir, struct eni__doc *d, const char *organ,
                          const struct conn_eni_export_options *opt, struct conn_eni_error *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/documents/%s", dir, d->file);
	if (d->attachment) {
		if (write_streamed(path, d, opt, err) != 0)
			return CONN_ENI_EFAIL;
	} else {
		eni__sha256_b64(d->sha256_b64, d->bytes, d->len);
		if (eni__file_write(path, d->bytes, d->len, err) != 0)
			return CONN_ENI_EFAIL;
	}
	const char *regulation = opt->csv_regulation;
	xmlChar *xml = NULL;
	int len = 0;
	if (eni__document_xml(&xml, &len, d, organ, regulation, err) != 0)
		return CONN_ENI_EFAIL;
	snprintf(path, sizeof(path), "%s/documents/%s.xml", dir, d->id);
	int rc = eni__file_write(path, xml, (size_t)len, err);
	xmlFree(xml);
	return rc;
}

static void now_utc(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_index(const char *dir, const struct conn_eni_expedient *x, const char *identifier,
                       const struct eni__doc *docs, size_t n,
                       const struct conn_eni_export_options *opt, struct conn_eni_error *err)
{
	char now[32], path[4096];
	now_utc(now);
	xmlChar *xml = NULL;
	int len = 0;
	if (eni__index_xml(&xml, &len, x, identifier, docs, n, now, err) != 0)
		return CONN_ENI_EFAIL;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	struct conn_sign_options sopt = {.detached = false};
	struct conn_sign_error serr = {0};
	int rc = conn_sign_xades(&sealed, &sealed_len, opt->seal, xml, (size_t)len, &sopt, &serr);
	xmlFree(xml);
	if (rc != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "index.xml: sealing: %s", serr.msg);
	snprintf(path, sizeof(path), "%s/index.xml", dir);
	rc = eni__file_write(path, sealed, sealed_len, err);
	free(sealed);
	return rc;
}

int conn_eni_export(struct conn_eni_export_report *out, const char *dir,
                    const struct conn_eni_expedient *x, const struct conn_eni_export_options *opt,
                    struct conn_eni_error *err)
{
	memset(out, 0, sizeof(*out));
	char specific[64];
	expedient_specific(specific, sizeof(specific), x->number);
	if (make_identifier(out->identifier, sizeof(out->identifier), x->organ, x->opened_at,
	                    specific) != 0)
		return eni__fail(err, CONN_ENI_EFAIL, "expedient %s: organ '%s' makes too long an "
		                 "identifier", x->id, x->organ);
	size_t cap = x->n_docs * 2 + x->n_attachments + 1, n = 0;
	struct eni__doc *docs = calloc(cap, sizeof(*docs));
	unsigned char **pdfs = calloc(cap, sizeof(*pdfs));
	size_t *pdf_lens = calloc(cap, sizeof(*pdf_lens));
	int rc = CONN_ENI_EFAIL;
	if (!docs || !pdfs || !pdf_lens) {
		eni__fail(err, CONN_ENI_EFAIL, "out of memory");
		goto done;
	}
	if (make_folders(dir, err) != 0 || plan(docs, &n, pdfs, pdf_lens, x, opt, err) != 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (write_document(dir, &docs[i], x->organ, opt, err) != 0)
			goto done;
	if (write_index(dir, x, out->identifier, docs, n, opt, err) != 0)
		goto done;
	out->n_documents = n;
	out->n_attachments = x->n_attachments;
	rc = 0;
done:
	for (size_t i = 0; pdfs && i < x->n_docs; i++)
		conn_doc_free(pdfs[i]);
	free(pdfs);
	free(pdf_lens);
	free(docs);
	return rc;
}
