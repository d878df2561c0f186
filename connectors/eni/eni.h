/* ENI expedient export (DOMAIN.md section 10, NTI of 19 July 2011): one expedient written as a
 * folder holding its documents with their ENI metadata and an electronic index that lists each
 * document's SHA-256 and is sealed with our XAdES enveloped signature; and its verification.
 * Invariant: an export's index names every document file it wrote, with the hash of its exact
 * bytes, and a verification reads the document list only from the index node that was verified.
 *
 * Layout of an export folder DIR:
 *   DIR/index.xml                   eniexp:expediente (index + expedient metadata), sealed
 *   DIR/documents/<ENI id>.<ext>    each document's bytes (json, pdf or bin)
 *   DIR/documents/<ENI id>.xml      its enidoc:documento (content reference, metadata, CSV)
 * Functions keep no state and are reentrant. */
#ifndef CONN_ENI_H
#define CONN_ENI_H

#include <libpq-fe.h>
#include <stddef.h>

#include "connectors/sign/sign.h"

enum {
	CONN_ENI_EFAIL = -1,      /* could not do the work: database, file system, memory, signing */
	CONN_ENI_ENOTFOUND = -2,  /* no such expedient */
	CONN_ENI_EINVALID = -3,   /* verification failed: msg names the file and what differs */
};

struct conn_eni_error {
	int code;
	char msg[512];
};

/* One stored document as the database holds it. */
struct conn_eni_document {
	char *id;           /* uuid */
	char *kind;         /* "receipt", ... */
	char *csv;
	char *media_type;
	char *created_at;   /* xsd:dateTime, Europe/Madrid offset */
	unsigned char *content;
	size_t content_len;
};

/* One expedient and its documents in order of inclusion (creation time, then id). */
struct conn_eni_expedient {
	char *id, *number, *organ, *tramit_code, *state, *applicant_nif;
	char *opened_at;    /* xsd:dateTime, Europe/Madrid offset */
	struct conn_eni_document *docs;
	size_t n_docs;
};

/* Reads the expedient (a uuid) and its documents in one read-only snapshot on conn. organ is
 * the entity's DIR3 code, or its id when it has none. Returns 0, CONN_ENI_ENOTFOUND (also for
 * a malformed id) or CONN_ENI_EFAIL with libpq's message. *out is the caller's (free with
 * conn_eni_expedient_free). Leaves conn's session settings as they were. */
int conn_eni_expedient_load(struct conn_eni_expedient **out, PGconn *conn, const char *id,
                            struct conn_eni_error *err);
void conn_eni_expedient_free(struct conn_eni_expedient *x);

struct conn_eni_export_options {
	const struct conn_sign_signer *seal;  /* the municipality's seal; signs index.xml */
	const char *verify_base_url;          /* printed on PDF renderings of receipts */
	const char *csv_regulation;           /* RegulacionGeneracionCSV; NULL: the laws */
};

struct conn_eni_export_report {
	char identifier[160];  /* the expedient's ENI identifier */
	size_t n_documents;    /* ENI documents written (a receipt gives two: JSON and PDF) */
};

/* Writes the export into dir (created if missing; refused if dir/index.xml exists). Receipts
 * go as their JSON original (EE01) and a PDF rendering (EE02, pointing to the original).
 * Returns 0, or CONN_ENI_EFAIL with the file or document named. A failed export may leave
 * partial files behind but never an index.xml. */
int conn_eni_export(struct conn_eni_export_report *out, const char *dir,
                    const struct conn_eni_expedient *x, const struct conn_eni_export_options *opt,
                    struct conn_eni_error *err);

struct conn_eni_verify_report {
	char identifier[160];  /* the expedient's ENI identifier, from the verified index */
	char signer[512];      /* the seal's subject, RFC 2253 */
	size_t n_documents;
};

/* Verifies dir: the index signature against trust (conn_sign_xades_verify), then, in index
 * order, that each listed document's file exists once and its SHA-256 is the indexed one, then
 * that documents/ holds no file the index does not cover. Returns 0, CONN_ENI_EINVALID with
 * the first problem ("documents/X.json: SHA-256 is A, the index says B"), or CONN_ENI_EFAIL
 * when a file cannot be read. */
int conn_eni_verify(struct conn_eni_verify_report *out, const char *dir,
                    const struct conn_sign_trust *trust, struct conn_eni_error *err);

#endif
