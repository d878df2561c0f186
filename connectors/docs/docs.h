/* Generated documents (issue 6): the receipt (justificant de registre) the store keeps as
 * canonical JSON under its CSV, rendered as a bilingual A4 PDF with libharu. Invariant: every
 * page carries the CSV and the verification URL in its left margin and a QR code of that URL,
 * and the same input always gives the same bytes (no clock, no random identifiers).
 *
 * All functions are reentrant and keep no state. */
#ifndef CONN_DOCS_H
#define CONN_DOCS_H

#include <stddef.h>

#include "connectors/connector.h"

/* The verification URL printed on documents and encoded in their QR code:
 * "<base>/verify?csv=<csv>", without a doubled slash, the CSV percent-encoded outside
 * [A-Za-z0-9-_.~]. Returns 0, or CONN_EINVALID when base is empty, is not http(s)://, holds
 * spaces or control characters, or the result does not fit in cap bytes. */
int conn_doc_verify_url(char *out, size_t cap, const char *base, const char *csv,
                        struct conn_error *err);

/* Renders a receipt (the JSON document engine/runtime/store_effects.c writes: entity,
 * registry_number, presented_at, expedient_number, tramit, applicant, form, csv) as a PDF.
 * lang is "ca" (Valencian only), "es" (Spanish only) or NULL (Valencian first, then Spanish).
 * The PDF's creation date is the receipt's presented_at, so a re-render is byte-identical.
 *
 * On success *out (malloc'd; release with conn_doc_free) holds *len bytes. Errors:
 * CONN_EINVALID when the JSON is not a receipt or a text cannot be printed in the PDF's font
 * (Windows-1252); msg names the field ("form[2] (nom) value: ..."). CONN_ENOMEM, or
 * CONN_EUNAVAILABLE when libharu or libqrencode fail. On failure *out is NULL. */
int conn_doc_receipt_pdf(unsigned char **out, size_t *len, const char *receipt_json,
                         const char *lang, const char *verify_base_url, struct conn_error *err);

/* The expedient number a stored receipt names (its "expedient_number"), copied into out (cap
 * bytes), for callers that hold only the stored document. Returns 0, or CONN_EINVALID when the
 * len bytes are not a receipt with that member or it does not fit. */
int conn_doc_receipt_expedient(char *out, size_t cap, const char *receipt_json, size_t len,
                               struct conn_error *err);

/* Releases what conn_doc_receipt_pdf returned; accepts NULL. */
void conn_doc_free(unsigned char *pdf);

#endif
