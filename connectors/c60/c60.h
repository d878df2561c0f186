/* Cuaderno 60 modalidad 2 (AEB/CSB, barcode format 521; DOMAIN.md 9.2): the reference with its
 * control digits, the identification, the 42-digit barcode, and the bilingual payment document
 * a citizen takes to a collaborating bank, as a PDF. Invariant: every reference and barcode
 * this module writes or accepts carries control digits that verify.
 *
 * All functions are reentrant and keep no state. The layout is the one two independent public
 * implementations agree on; the bank that collects owns Anexo I of the standard and must
 * confirm it (DOMAIN.md marks the emisora convention UNVERIFIED). */
#ifndef CONN_C60_H
#define CONN_C60_H

#include <stddef.h>

#include "connectors/connector.h"

enum { CONN_C60_BARCODE_LEN = 42 };

/* What a modalidad 2 payment is made of. Digit strings are exactly as long as stated. */
struct conn_c60_input {
	const char *emisora;   /* 6 digits: the issuer code the bank assigned to the entity */
	const char *document;  /* 10 digits: the entity's document (liquidation) number */
	char period;           /* discriminante de periodo, one digit, usually '1' */
	const char *tributo;   /* 3 digits: the tax or fee code */
	int ejercicio;         /* fiscal year, 2000..2099 */
	int deadline_year, deadline_month, deadline_day; /* last day to pay at the bank */
	long long amount_cents; /* 1..99999999 */
};

/* The codes of one payment, NUL-terminated digit strings. */
struct conn_c60_code {
	char reference[13];      /* document number + 2 control digits */
	char identification[11]; /* period, tributo, ejercicio (YY), deadline year digit, day */
	char amount[9];          /* cents, 8 digits */
	char barcode[CONN_C60_BARCODE_LEN + 1]; /* "90" "521" emisora reference identification
	                                         * amount "0" */
};

/* The two control digits of a reference (0..99): S = emisora*76 + document*9 +
 * (identification + amount - 1)*55 in 64-bit integers, R = S mod 97, DC = 99 - floor(100R/97).
 * Arguments are digit strings of 6, 10, 10 and 8 digits; returns -1 for anything else. */
int conn_c60_control_digits(const char *emisora, const char *document, const char *identification,
                            const char *amount);

/* Builds every code of a payment. Returns 0, or CONN_EINVALID with err->msg naming the input
 * ("deadline: 2026-02-30 is not a date"). */
int conn_c60_code_make(struct conn_c60_code *out, const struct conn_c60_input *in,
                       struct conn_error *err);

/* Checks a barcode as typed or scanned (the standalone payment manager reads references this
 * way): 42 digits, "90521", a zero at the end, control digits that verify. Fills out (its
 * barcode too). Returns 0 or CONN_EINVALID with the position of the first problem. */
int conn_c60_barcode_check(struct conn_c60_code *out, const char *barcode, struct conn_error *err);

/* The payment document: who collects, for what, until when, and the codes. Texts are UTF-8
 * and must be printable in Windows-1252 (Valencian and Spanish are). */
struct conn_c60_document {
	const char *entity_va, *entity_es;   /* official names, e.g. "Ajuntament de València" */
	const char *concept_va, *concept_es; /* what is paid */
	const char *payer_name, *payer_id;   /* the person obliged to pay, and their NIF; optional */
	struct conn_c60_input payment;
};

/* Writes the document as a one-page A4 PDF into *out (malloc'd, caller frees with free) and
 * its size into *len: the entity, the concept, the payer, the amount, the deadline, the
 * emisora, reference and identification, the barcode drawn as Code 128 (by libzint) with its
 * digits below it, each label in Valencian and Spanish. Returns 0; CONN_EINVALID for inputs
 * conn_c60_code_make refuses or text outside Windows-1252 (msg names the field); CONN_ENOMEM
 * or CONN_EUNAVAILABLE when libharu or libzint fail. */
int conn_c60_pdf(unsigned char **out, size_t *len, const struct conn_c60_document *doc,
                 struct conn_error *err);

/* ---- Collection files (docs/payments.md, "Bank collection files") ------------------------ */

/* One collected document (a record 02) as the bank reported it. */
struct conn_c60_collected {
	int line;                /* 1-based line of the record in the file */
	char emisora[7];
	char modalidad;          /* '1', '2' (liquidaciones) or '3' (autoliquidaciones) */
	char reference[13];      /* 10-digit document number + 2 control digits, verified */
	char identification[11];
	long long amount_cents;  /* 1..99999999 */
	char collected_on[11];   /* YYYY-MM-DD */
	char bank[5], office[5]; /* where it was paid */
	char channel;            /* '1' counter, '2' self-service, '3' remote banking */
};

/* A whole collection file. items is malloc'd; conn_c60_collection_free releases it. */
struct conn_c60_collection {
	char bank[5], office[5]; /* the presenter (record 00) */
	char created_on[11];     /* YYYY-MM-DD */
	char file_number[7];
	size_t n;                /* records 02 */
	long long total_cents;
	struct conn_c60_collected *items;
};

/* Parses a collection file of len bytes (80-character records, LF or CRLF). The file is
 * checked whole: record lengths, codes and order (00, then blocks 01 02... 08, then 09),
 * numeric fields, dates, blanks, each block's and the file's counts and sums, and each
 * reference's control digits (conn_c60_control_digits). Returns 0 and fills out, or
 * CONN_EINVALID with err->msg naming the line, the field and its positions ("line 4, amount
 * (positions 32-39): expected 8 digits, found '0001234A'") and out left empty; CONN_ENOMEM.
 * Reentrant. */
int conn_c60_collection_parse(struct conn_c60_collection *out, const char *text, size_t len,
                              struct conn_error *err);
/* Frees the items and empties c; accepts NULL. */
void conn_c60_collection_free(struct conn_c60_collection *c);

#endif
