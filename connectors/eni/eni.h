/* ENI expedient export (DOMAIN.md section 10, NTI of 19 July 2011): one expedient written as a
 * folder holding its documents with their ENI metadata and an electronic index that lists each
 * document's SHA-256 and is sealed with our XAdES enveloped signature; and its verification.
 * Invariant: an export's index names every document file it wrote, with the hash of its exact
 * bytes, and a verification reads the document list only from the index node that was verified.
 *
 * Layout of an export folder DIR:
 *   DIR/index.xml                   eniexp:expediente (index + expedient metadata), sealed
 *   DIR/documents/<ENI id>.<ext>    each document's bytes (json, pdf, an attachment's type)
 *   DIR/documents/<ENI id>.xml      its enidoc:documento (content reference, metadata, CSV)
 * The files citizens attached go with the documents the municipality issued: their bytes are
 * streamed from the repository a chunk at a time, never held whole.
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

/* One file a citizen attached to the application (migration 0012), linked to the expedient;
 * the bytes stay in the repository and are read through conn_eni_export_options.read. */
struct conn_eni_attachment {
	char *id;           /* uuid */
	char *eni_id;       /* ENI Identificador given when it was linked */
	char *name;         /* the file name the citizen chose */
	char *sha256;       /* lower-case hex: the blob that holds the bytes */
	char *media_type;
	char *captured_at;  /* xsd:dateTime, Europe/Madrid offset */
	char *csv;          /* the receipt that lists its hash */
	char *state;        /* EE01... */
	long long size;
	int origin;         /* 0 citizen, 1 administration */
};

/* One expedient, its documents in order of inclusion (creation time, then id) and the files
 * attached to it in the order they were posted. */
struct conn_eni_expedient {
	char *id, *number, *organ, *tramit_code, *state, *applicant_nif;
	char *entity_id;
	char *opened_at;    /* xsd:dateTime, Europe/Madrid offset */
	struct conn_eni_document *docs;
	size_t n_docs;
	struct conn_eni_attachment *attachments;
	size_t n_attachments;
};

/* Reads the expedient (a uuid) and its documents in one read-only snapshot on conn. organ is
 * the entity's DIR3 code, or its id when it has none. Returns 0, CONN_ENI_ENOTFOUND (also for
 * a malformed id) or CONN_ENI_EFAIL with libpq's message. *out is the caller's (free with
 * conn_eni_expedient_free). Leaves conn's session settings as they were. */
int conn_eni_expedient_load(struct conn_eni_expedient **out, PGconn *conn, const char *id,
                            struct conn_eni_error *err);
void conn_eni_expedient_free(struct conn_eni_expedient *x);

/* Called with each chunk of a blob in order; non-zero stops the read. */
typedef int (*conn_eni_sink)(const void *data, size_t len, void *payload);
/* Streams the bytes of blob sha256 (hex) to sink; 0, or non-zero with msg filled. */
typedef int (*conn_eni_reader)(void *ctx, const char *sha256, conn_eni_sink sink, void *payload,
                               char *msg, size_t msg_cap);

struct conn_eni_export_options {
	const struct conn_sign_signer *seal;  /* the municipality's seal; signs index.xml */
	const char *verify_base_url;          /* printed on PDF renderings of receipts */
	const char *csv_regulation;           /* RegulacionGeneracionCSV; NULL: the laws */
	conn_eni_reader read;                 /* attachments' bytes; required when there are any */
	void *read_ctx;
};

struct conn_eni_export_report {
	char identifier[160];  /* the expedient's ENI identifier */
	size_t n_documents;    /* ENI documents written (a receipt gives two: JSON and PDF) */
	size_t n_attachments;  /* of which files citizens attached */
};

/* Writes the export into dir (created if missing; refused if dir/index.xml exists). Receipts
 * go as their JSON original (EE01) and a PDF rendering (EE02, pointing to the original);
 * attachments as their original bytes, checked against their SHA-256 as they are written.
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
