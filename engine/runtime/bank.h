/* Bank collection files (Cuaderno 60) over libpq: the import that settles tax receipts and
 * tràmit fees from what a collaborating bank reports it collected, the operator's report of the
 * records that settled nothing, and the payment documents issued for fees. Invariants: a
 * payment is recorded only from a record of an imported file; a file is imported once (by its
 * SHA-256) and a collection applied once (by its record key); everything about a file (its
 * log, its records, its receipts) commits together or not at all, and a fee's payment is the
 * result "paid" of its payment effect, as a card payment's is. Results live in the caller's
 * arena. Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_BANK_H
#define ENG_BANK_H

#include "store.h"

/* ---- Fee documents ----------------------------------------------------------------------- */

/* The Cuaderno 60 document of one fee of an expedient (effect "payment:FEE"). */
struct eng_fee_document {
	const char *expedient_id, *effect_id;
	const char *emisora, *reference, *identification;
	int64_t amount_cents;
	const char *deadline;  /* YYYY-MM-DD */
	bool paid;             /* the fee is paid (by card or bank) */
};

/* The fee an expedient ordered (its payment effect's amount) and whether it is paid; the
 * document issued for it, if any, in doc (doc->reference NULL otherwise). ENG_ENOTFOUND when
 * the expedient ordered no such fee. */
int eng_store_fee_document_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const char *expedient_id, const char *effect_id,
                               struct eng_fee_document *out, struct eng_error *err);
/* A fresh document number (10 digits, 8000000001..8999999999), never handed out twice. */
int eng_store_fee_document_number(struct eng_store *s, int64_t *out, struct eng_error *err);
/* Records doc (codes computed by the caller with connectors/c60). A fee has one document: if
 * one was recorded meanwhile, that one is kept and read back into *out. ENG_ECONFLICT when the
 * fee is paid, or doc's amount is not the fee's. */
int eng_store_fee_document_put(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                               const struct eng_fee_document *doc, struct eng_fee_document *out,
                               struct eng_error *err);

/* ---- Import ------------------------------------------------------------------------------ */

/* One collected document (a record 02) as parsed by connectors/c60. */
struct eng_bank_record {
	int line;
	const char *emisora, *modalidad, *reference, *identification;
	int64_t amount_cents;
	const char *collected_on;            /* YYYY-MM-DD */
	const char *bank, *office, *channel;
};

/* The file: its header and records. */
struct eng_bank_file {
	const char *name;                    /* as the operator named it, for the log */
	const char *bank, *office, *created_on, *file_number;
	int64_t total_cents;
	const struct eng_bank_record *records;
	size_t n;
};

/* What became of one record. outcome: "applied" (a receipt or fee is now paid), "duplicate"
 * (the same collection was imported before), or, for the operator: "unknown" (no receipt or
 * fee with that document number), "mismatch" (found, but the bank's amount or identification
 * differ), "already_paid" (paid before, by card or another record: a refund is due),
 * "not_payable" (a cancelled receipt), "refused" (the expedient refused the payment). */
struct eng_bank_result {
	int line;
	const char *outcome, *reference, *detail;
	int64_t amount_cents;
};

struct eng_bank_stats {
	bool already_imported; /* the same file (SHA-256) was imported before: nothing changed */
	const char *imported_at; /* when it first was, ISO 8601 */
	int applied, duplicate, reported;
};

/* Imports a parsed file whose bytes are bytes[0..len), for the entity whose issuer code is
 * emisora. In one transaction: the file's log, every record's outcome, and every tax receipt
 * it pays. Then each fee it pays gets its result "paid" (one transition each, with an
 * idempotency key from the record, so importing the file again finishes what a crash left
 * and otherwise changes nothing). Returns 0 with one result per record in *out; ENG_EINVALID
 * (nothing stored) when a record is for another emisora (err names its line);
 * ENG_EUNAVAILABLE / ENG_EINTERNAL when the database fails (nothing stored). */
int eng_store_bank_import(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          const char *emisora, const void *bytes, size_t len,
                          const struct eng_bank_file *f, eng_definition_lookup lookup,
                          void *lookup_payload, struct eng_bank_result **out, size_t *n,
                          struct eng_bank_stats *st, struct eng_error *err);

/* ---- Report ------------------------------------------------------------------------------ */

struct eng_bank_report_row {
	const char *file_name, *file_sha256, *imported_at;
	int line;
	const char *outcome, *reference, *identification, *collected_on, *bank, *office, *detail;
	const char *target; /* "receipt R", "fee FEE of expedient N", or "" */
	int64_t amount_cents;
};

/* Records an operator must look at (every outcome but applied and duplicate), oldest first;
 * all: every record. */
int eng_store_bank_report(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          bool all, struct eng_bank_report_row **out, size_t *n,
                          struct eng_error *err);

#endif
