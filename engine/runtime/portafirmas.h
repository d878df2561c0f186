/* The portasignatures (issue 6): signature requests over an expedient's issued document, with
 * a circuit of lines. A request is created in the transition whose action asks for it; each
 * act (sign, approve, reject) is recorded under the request's version, and the act that
 * completes the request (the last line done, or a rejection, or the expiry) is recorded in the
 * very transition that feeds the engine its result "sign_request:DOC" (signed or rejected),
 * together with the decree book's number when the mayor's line signed it.
 * Invariant: a request is completed once, with its result event, or not at all; decree
 * numbers are gap-free per entity and Europe/Madrid year.
 * The engine never signs: the caller brings the signature bytes (web/ signs with
 * connectors/sign). Thread-safety: as struct eng_store (one connection, one thread). */
#ifndef ENG_PORTAFIRMAS_H
#define ENG_PORTAFIRMAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One place of a line as pages show it. Times are ISO 8601 (Europe/Madrid); NULL when unset. */
struct eng_sig_signer {
	int line, pos;
	const char *role;
	bool approve;
	const char *state;        /* pending, signed, approved, rejected, skipped */
	const char *acted_by, *acted_by_name, *on_behalf_of, *on_behalf_of_name;
	const char *signer_nif, *signer_name, *acted_at, *reason, *signature_sha256;
	bool mine;                /* the reader may act on it now (directly or by delegation) */
	const char *mine_for;     /* when mine by delegation: the delegator's username */
};

struct eng_sig_line {
	int seq;
	bool any;
	const char *state;        /* waiting, active, done, rejected */
};

struct eng_sig_request {
	const char *id, *expedient_id, *expedient_number, *tramit_code, *document, *effect_id;
	const char *document_id, *document_csv, *document_sha256, *document_media_type;
	const char *state;        /* pending, signed, rejected */
	int current_line, version;
	const char *created_at, *expires_at, *completed_at, *reminded_at;
	const char *rejected_by, *rejection_reason, *decree_number;
	struct eng_sig_line *lines;
	size_t n_lines;
	struct eng_sig_signer *signers; /* by line, then position */
	size_t n_signers;
	bool mine;                /* the reader may act on the current line */
};

/* One request of the entity, as `reader` (an employee's username) sees it: the `mine` flags
 * say where they may act at time_ms. Binds the document when it was missing and exists now.
 * ENG_ENOTFOUND when unknown. Arena-allocated. */
int eng_signature_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *id, const char *reader, int64_t time_ms,
                      struct eng_sig_request *out, struct eng_error *err);

/* The reader's inbox: requests where they may act now (pending), and requests they acted on
 * (done), newest first, at most 200 each. Only the summary fields are filled. */
int eng_signature_inbox(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        const char *reader, int64_t time_ms, struct eng_sig_request **pending,
                        size_t *n_pending, struct eng_sig_request **done, size_t *n_done,
                        struct eng_error *err);

/* The bound document's bytes (malloc'd; free()) and media type (arena). ENG_ENOTFOUND when the
 * request is unknown or its document does not exist yet. */
int eng_signature_document(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           const char *id, unsigned char **bytes, size_t *len,
                           const char **media_type, struct eng_error *err);

/* The stored signature (DER, malloc'd) of place (line, pos). ENG_ENOTFOUND when none. */
int eng_signature_blob(struct eng_store *s, const char *entity_id, const char *id, int line,
                       int pos, unsigned char **der, size_t *len, struct eng_error *err);

enum eng_sig_act_kind { ENG_SIG_SIGN, ENG_SIG_APPROVE, ENG_SIG_REJECT };

/* An act on the current line of a request by employee `by`. */
struct eng_sig_act {
	const char *entity_id, *request_id;
	const char *by;               /* the employee's username */
	enum eng_sig_act_kind kind;
	int64_t time_ms;
	int version;                  /* the version the act was prepared against; 0 = any */
	/* ENG_SIG_SIGN: the CAdES detached signature over the bound document's bytes, and who
	 * the certificate names; document_sha256 is the hash of the bytes that were signed. */
	const unsigned char *signature;
	size_t signature_len;
	const char *signer_nif, *signer_name, *document_sha256;
	const char *reason;           /* ENG_SIG_REJECT: required */
};

/* What an act did. */
struct eng_sig_result {
	const char *outcome;          /* NULL: the request goes on; "signed" or "rejected" */
	char decree_number[40];       /* when the act gave the resolution a decree number */
	char to_state[64];            /* the expedient's state after a completing act */
};

/* Records the act. ENG_EDENIED when `by` holds no role of a pending place of the current line
 * (nor acts for someone who does, by a delegation valid on that day), or already acted on
 * this line; ENG_EINVALID (changing nothing) for a rejection without a reason, a signature
 * over other bytes than the bound document's, or a document still missing; ENG_ECONFLICT
 * when the request is no longer pending or changed since `version`; ENG_ENOTFOUND when
 * unknown. A completing act applies the engine's result in the same transaction. */
int eng_signature_act(struct eng_store *s, struct eng_arena *a, const struct eng_sig_act *act,
                      eng_definition_lookup lookup, void *lookup_payload,
                      struct eng_sig_result *out, struct eng_error *err);

/* Delegation: `delegate` may act for `delegator` (with the delegator's roles) from `from`
 * to `until` (YYYY-MM-DD, inclusive, Europe/Madrid). ENG_EINVALID for bad dates or oneself,
 * ENG_ENOTFOUND for an unknown employee. */
int eng_signature_delegate(struct eng_store *s, const char *entity_id, const char *delegator,
                           const char *delegate, const char *from, const char *until,
                           struct eng_error *err);

/* Expires the entity's pending requests whose time ran out by now_ms (each rejected with the
 * reason "expired", its result fed to the engine) and records a reminder for the pending
 * places of requests past their reminder time. *expired and *reminded (may be NULL) count
 * them. Safe to run from several servers at once: a request is completed once. */
int eng_signature_sweep(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        int64_t now_ms, eng_definition_lookup lookup, void *lookup_payload,
                        int *expired, int *reminded, struct eng_error *err);

/* The decree role (TRAMIT_DECREE_ROLE, default "alcaldia"): a signed line holding a place of
 * this role gives the completed resolution a decree number. */
const char *eng_signature_decree_role(void);

/* Internals for the store (store_effects.c), inside a transition's transaction. */
struct eng__tx;
struct eng_effect;
int eng_store__portafirmas_prepare(struct eng_store *s, struct eng_error *err);
/* A sign_request effect: writes the request, its lines and places. */
int eng_store__signature_request_create(struct eng__tx *t, const struct eng_effect *e,
                                        struct eng_error *err);
/* A result event that completes a request (cmd->result_json names it): records the act. */
bool eng_store__signature_completes(const struct eng__tx *t);
int eng_store__signature_complete(struct eng__tx *t, struct eng_error *err);

#endif
