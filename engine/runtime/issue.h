/* Issued documents (issue 6): an action's document = "name" fills the tràmit's template and
 * issues it, in the transition's own transaction, as a PDF under a fresh CSV in the `document`
 * table (kind = the template's name, template_kind, ENI metadata; migration 0018), sealed when
 * the process has a seal. The event records each document's CSV and SHA-256.
 * Invariant: a document is stored once, as the bytes its holders receive and signers sign; the
 * transition commits with it or not at all.
 *
 * The engine renders nothing itself (it includes no connector): the process that applies
 * transitions installs an issuer, the callbacks that make CSVs, render PDFs and seal them
 * (web/documents.c does it with connectors/csv, docs and sign). A process without one leaves
 * "document" effects to the outbox, as before issue 6.
 * Error codes: ENG_ENOTFOUND (no such document for that expedient), ENG_EINVALID (a template
 * the definition lacks; a renderer refusal), ENG_EUNAVAILABLE (the database, or the renderer).
 * Thread-safety: eng_issue_set before the threads that apply transitions start; the rest as
 * struct eng_store. */
#ifndef ENG_ISSUE_H
#define ENG_ISSUE_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct eng_issuer {
	/* A fresh random CSV, NUL-terminated, at most 63 characters. Returns 0 or negative. */
	int (*csv_new)(char out[64], void *payload);
	/* The PDF of a document record (canonical JSON text, written by issue.c: type "issued",
	 * name, kind, title_ca/es, body_ca/es already filled, entity, tramit, applicant,
	 * expedient_number, registry_number, issued_at, csv, eni_id, sealed). *out is released
	 * with release. Returns 0 or a negative code with err set. */
	int (*render)(unsigned char **out, size_t *len, const char *record, struct eng_error *err,
	              void *payload);
	/* The seal over the PDF's bytes, CAdES-BES detached (DER), into *out (released with
	 * release). Returns 0 or a negative code with err set. NULL when the process has no seal:
	 * documents are then issued unsealed (CSV only, ENI TF01) and their row says so. */
	int (*seal)(unsigned char **out, size_t *len, const unsigned char *pdf, size_t pdf_len,
	            struct eng_error *err, void *payload);
	void (*release)(void *p);
	void *payload;
	/* Sealed documents are queued for an RFC 3161 time stamp (timestamp_state 'pending'),
	 * which eng_issued_stamp_claim hands out after the commit: no transition waits on a TSA. */
	bool timestamps;
};

/* Installs the process's issuer (copied); NULL removes it. */
void eng_issue_set(const struct eng_issuer *issuer);

/* An issued document of an expedient as pages list it. Strings live in the arena. */
struct eng_issued_view {
	const char *id, *name, *template_kind, *csv, *sha256, *media_type, *created_at;
	struct eng_text title;
	bool sealed;
	const char *timestamped_at; /* the seal's time stamp (genTime, ISO 8601), or NULL */
	const char *content;     /* eng_issued_get only: the bytes, content_len of them */
	size_t content_len;
	const char *seal;        /* eng_issued_get only: the seal (DER), seal_len bytes, or NULL */
	size_t seal_len;
	const char *timestamp;   /* eng_issued_get only: the TimeStampToken (DER), or NULL */
	size_t timestamp_len;
};

/* The documents issued for an expedient of this entity, oldest first (not its receipts). */
int eng_issued_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *expedient_id, struct eng_issued_view **out, size_t *n,
                    struct eng_error *err);
/* One of them with its bytes; ENG_ENOTFOUND when it is not that expedient's, is withdrawn or
 * the id is malformed. */
int eng_issued_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                   const char *expedient_id, const char *id, struct eng_issued_view *out,
                   struct eng_error *err);

/* The time-stamp queue. A document waiting for its seal's time stamp, claimed for lease_s
 * seconds (another server may take it after that); seal lives in the arena. */
struct eng_stamp_item {
	const char *id;
	const char *seal;
	size_t seal_len;
	int attempts;   /* including this one */
};
/* Claims at most max waiting documents of the entity (FOR UPDATE SKIP LOCKED, committed at
 * once). *n may be 0. */
int eng_issued_stamp_claim(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           int max, int lease_s, struct eng_stamp_item **out, size_t *n,
                           struct eng_error *err);
/* Settles a claimed document: its token (DER), genTime and the seal with the token embedded
 * (CAdES-T, which replaces the CAdES-BES seal), or with token or seal_t NULL the reason it
 * failed (retried later, with a growing delay; after 5 attempts it stays 'failed'). */
int eng_issued_stamp_record(struct eng_store *s, const char *id, const unsigned char *token,
                            size_t len, const char *gen_time, const unsigned char *seal_t,
                            size_t seal_t_len, const char *why, struct eng_error *err);

/* Internals for the store (store_effects.c). */
struct eng__tx;
int eng_store__issue_prepare(struct eng_store *s, struct eng_error *err);
/* True when this process can issue documents in place. */
bool eng_store__issue_ready(void);
/* Issues document effect e in the transition's transaction. */
int eng_store__issue(struct eng__tx *t, const struct eng_effect *e, struct eng_error *err);

#endif
