/* Writes one expedient as an ENI export folder: documents with their metadata first, the
 * sealed index last, so a folder with an index.xml is always a complete export. A receipt is
 * exported twice: its JSON original (EE01) and its PDF rendering (EE02, a copy with format
 * change pointing to the original), both listed in the index. */
#include <errno.h>
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

/* Extension and NTI format name of an original by media type. */
static void original_format(const char *media_type, const char **ext, const char **format)
{
	if (strcmp(media_type, "application/json") == 0)
		*ext = "json", *format = "JSON";
	else if (strcmp(media_type, "application/pdf") == 0)
		*ext = "pdf", *format = "PDF";
	else
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

static int write_document(const char *dir, struct eni__doc *d, const char *organ,
                          const char *regulation, struct conn_eni_error *err)
{
	char path[4096];
	eni__sha256_b64(d->sha256_b64, d->bytes, d->len);
	snprintf(path, sizeof(path), "%s/documents/%s", dir, d->file);
	if (eni__file_write(path, d->bytes, d->len, err) != 0)
		return CONN_ENI_EFAIL;
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
	size_t cap = x->n_docs * 2 + 1, n = 0;
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
		if (write_document(dir, &docs[i], x->organ, opt->csv_regulation, err) != 0)
			goto done;
	if (write_index(dir, x, out->identifier, docs, n, opt, err) != 0)
		goto done;
	out->n_documents = n;
	rc = 0;
done:
	for (size_t i = 0; pdfs && i < x->n_docs; i++)
		conn_doc_free(pdfs[i]);
	free(pdfs);
	free(pdf_lens);
	free(docs);
	return rc;
}
