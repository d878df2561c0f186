/* Issued documents (issue 6): the PDF of a document a tràmit's template produced, from the
 * record engine/runtime/issue.c writes (type "issued": name, kind, title_ca/es and body_ca/es
 * already filled, entity, tramit, applicant, expedient_number, registry_number, issued_at, csv,
 * eni_id, sealed). Valencian first, then Spanish (DOMAIN 13: bilingual documents are always
 * acceptable), with the CSV and verification URL in the margin of every page and a QR code.
 * Invariant: the same record and base URL always give the same bytes (the PDF's date is
 * issued_at). Reentrant; keeps no state. */
#ifndef CONN_DOCS_ISSUED_H
#define CONN_DOCS_ISSUED_H

#include <stddef.h>

#include "connectors/connector.h"

/* Returns 0 with *out (malloc'd; conn_doc_free) holding *len bytes, or CONN_EINVALID naming
 * the member that is missing or cannot be printed in the PDF's font (Windows-1252),
 * CONN_ENOMEM, CONN_EUNAVAILABLE (libharu, libqrencode). On failure *out is NULL. */
int conn_doc_issued_pdf(unsigned char **out, size_t *len, const char *record_json,
                        const char *verify_base_url, struct conn_error *err);

/* CAdES-T for an issued document's seal: asks the TSA at tsa_url (RFC 3161, connectors/tsa)
 * for a time stamp over the signature value of the seal's first SignerInfo (a CAdES-BES
 * detached signature, DER), as a signature-time-stamp covers it (ETSI EN 319 122-1). On
 * success *token (malloc'd; conn_doc_free) holds the TimeStampToken and gen_time its genTime
 * ("YYYY-MM-DDTHH:MM:SSZ"). Returns 0, CONN_EINVALID when the seal is not such a signature or
 * the TSA's reply was refused (msg says why), CONN_EUNAVAILABLE when the TSA cannot be reached. */
int conn_doc_seal_timestamp(unsigned char **token, size_t *len, char gen_time[32],
                            const unsigned char *seal, size_t seal_len, const char *tsa_url,
                            struct conn_error *err);

#endif
