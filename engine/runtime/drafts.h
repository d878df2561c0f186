/* Drafts of e-office forms (migration 0020) and the files a form staged before it is filed.
 * A draft is the answers one principal saved for one tràmit, with the form's submission key;
 * it is only ever read, listed or deleted by that same principal, and it expires.
 * Error codes: ENG_ENOTFOUND (no live draft), ENG_EINVALID (answers the schema refuses),
 * ENG_EUNAVAILABLE (the database), ENG_EINTERNAL.
 * Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_DRAFTS_H
#define ENG_DRAFTS_H

#include <stddef.h>

#include "store.h"

/* One saved draft. Strings live in the arena. */
struct eng_draft {
	const char *tramit_code;
	const char *key;        /* the form's submission key */
	const char *updated_at; /* ISO 8601 with offset, Europe/Madrid */
	const char *expires_at;
	struct eng_value *answers; /* in the order they were posted (a multichoice repeats its name) */
	size_t n_answers;
};

/* Saves (replaces) principal's draft of tràmit code, expiring days days from now, and sweeps
 * that principal's expired drafts in the same transaction. */
int eng_draft_put(struct eng_store *s, const char *entity_id, const char *principal,
                  const char *code, const char *key, const struct eng_value *answers, size_t n,
                  int days, struct eng_error *err);
/* principal's live draft of code; ENG_ENOTFOUND when there is none or it expired. */
int eng_draft_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                  const char *principal, const char *code, struct eng_draft *out,
                  struct eng_error *err);
/* Deletes principal's draft of code (0 also when there was none: *deleted says). */
int eng_draft_delete(struct eng_store *s, const char *entity_id, const char *principal,
                     const char *code, int *deleted, struct eng_error *err);
/* principal's live drafts, most recently saved first, at most limit (answers not loaded). */
int eng_draft_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                   const char *principal, int limit, struct eng_draft **out, size_t *n,
                   struct eng_error *err);

/* A file staged under a submission key and not yet linked to an expedient. */
struct eng_staged_file {
	const char *field, *name, *sha256;
	long long size;
};
/* The files principal staged under key (eng_docstore_stage), in the order they were posted. */
int eng_staged_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *principal, const char *key, struct eng_staged_file **out,
                    size_t *n, struct eng_error *err);

#endif
