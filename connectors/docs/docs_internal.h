/* Internals shared by the generated-document files (conn__doc_ prefix): text conversion to the
 * PDF's Windows-1252, dates, and the page writer that paginates and stamps every page with the
 * CSV margin and the QR code. Not for use outside connectors/docs/. */
#ifndef CONN_DOCS_INTERNAL_H
#define CONN_DOCS_INTERNAL_H

#include <stddef.h>

#include "connectors/connector.h"

/* Which languages a document shows: Valencian first, then Spanish, or only one. */
enum conn__doc_lang { CONN__DOC_BOTH, CONN__DOC_CA, CONN__DOC_ES };

/* ---- text.c ---- */

/* UTF-8 to Windows-1252, the encoding of the standard PDF fonts, into *out (malloc'd, caller
 * frees). Newlines are kept (the writer breaks lines there), carriage returns dropped and tabs
 * become spaces. Returns 0, or CONN_EINVALID naming field and the character that the font
 * cannot print, or CONN_ENOMEM. */
int conn__doc_cp1252(char **out, const char *utf8, const char *field, struct conn_error *err);

/* The text for lang from two Windows-1252 texts: ca, es, or "ca / es" (one of them when they
 * are equal). Returns malloc'd text or NULL when out of memory. */
char *conn__doc_pick(enum conn__doc_lang lang, const char *ca, const char *es);

/* A local time with its UTC offset, as ISO 8601 writes it. */
struct conn__doc_time {
	int year, month, day, hour, minute, second;
	char sign;              /* '+', '-' or 'Z' */
	int off_hour, off_minute;
};

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". Returns 0 or CONN_EINVALID
 * naming field. */
int conn__doc_time_parse(struct conn__doc_time *out, const char *iso, const char *field,
                         struct conn_error *err);

/* "02/03/2026 10:15:30 (UTC+01:00)": the Spanish and Valencian way to write it. */
void conn__doc_time_format(char out[48], const struct conn__doc_time *t);

/* ---- pdf.c ---- */

struct conn__doc_pdf;

struct conn__doc_setup {
	enum conn__doc_lang lang;
	const char *csv;       /* printable ASCII */
	const char *url;       /* the verification URL, printable ASCII */
	const char *running;   /* Windows-1252: a header line for pages 2..n, or NULL */
	const char *title;     /* Windows-1252: the PDF's Title entry, or NULL */
	struct conn__doc_time created;
};

enum conn__doc_style {
	CONN__DOC_ENTITY,  /* bold 13: the issuing entity */
	CONN__DOC_TITLE,   /* bold 15: the document's title */
	CONN__DOC_HEADING, /* bold 11: a section */
	CONN__DOC_LABEL,   /* bold 8.5: a field's label */
	CONN__DOC_VALUE,   /* regular 10.5, indented: a field's value */
	CONN__DOC_NOTE,    /* regular 8.5: legal notes */
};

/* Starts an A4 document. Returns 0, CONN_ENOMEM or CONN_EUNAVAILABLE (libharu). */
int conn__doc_pdf_new(struct conn__doc_pdf **out, const struct conn__doc_setup *setup,
                      struct conn_error *err);
/* Writes Windows-1252 text in a style, breaking lines at '\n' and at the right margin
 * (inside a word only when the word alone is wider than a line), on new pages as needed. */
void conn__doc_pdf_text(struct conn__doc_pdf *w, enum conn__doc_style style, const char *text);
/* Vertical space in points. */
void conn__doc_pdf_gap(struct conn__doc_pdf *w, float pt);
/* Starts a new page unless pt points are left: keeps a label with its first value line. */
void conn__doc_pdf_keep(struct conn__doc_pdf *w, float pt);
/* The height of one line of a style, for conn__doc_pdf_keep. */
float conn__doc_pdf_line_height(enum conn__doc_style style);
/* Stamps every page (CSV and URL in the left margin, QR code, "page n of N", the running
 * header) and returns the bytes (*out malloc'd). Returns 0, CONN_ENOMEM or CONN_EUNAVAILABLE. */
int conn__doc_pdf_finish(struct conn__doc_pdf *w, unsigned char **out, size_t *len,
                         struct conn_error *err);
/* Accepts NULL. */
void conn__doc_pdf_free(struct conn__doc_pdf *w);

#endif
