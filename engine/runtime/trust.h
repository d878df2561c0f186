/* What vouches for a document found by its CSV, for the verification page and API: the
 * municipality's seal over it and the seal's time stamp (migration 0018), the signatures the
 * portasignatures gathered on it and its decree number (migration 0019), and the bytes of
 * each, to download. Everything here is what the CSV's holder may see: the CSV is the key.
 * Error codes: ENG_ENOTFOUND, ENG_EUNAVAILABLE. Thread-safety: as struct eng_store. */
#ifndef ENG_TRUST_H
#define ENG_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* One signature or approval of a completed circuit. Times ISO 8601 (Europe/Madrid). */
struct eng_trust_signature {
	const char *request_id;
	int line, pos;
	bool approval;                 /* a visto bueno: no signature bytes */
	const char *signer_name, *signer_nif, *role, *acted_at;
	const char *on_behalf_of_name; /* per delegació: whom they signed for, or NULL */
};

struct eng_trust {
	bool sealed;
	const char *seal_note;         /* why it is not sealed, or NULL */
	const char *timestamped_at;    /* the seal's time stamp, or NULL */
	const char *decree_number;     /* the decree book's number, or NULL */
	struct eng_trust_signature *signatures; /* of signed circuits, in order */
	size_t n_signatures;
};

/* The trust of document id (arena). A document nobody sealed or signed has none of it. */
int eng_trust_get(struct eng_store *s, struct eng_arena *a, const char *document_id,
                  struct eng_trust *out, struct eng_error *err);

/* The bytes (DER, malloc'd) of what: "seal", "timestamp", or a signature named
 * "REQUEST_ID/LINE/POS" of a signed circuit on that document. ENG_ENOTFOUND otherwise. */
int eng_trust_blob(struct eng_store *s, const char *document_id, const char *what,
                   unsigned char **out, size_t *len, struct eng_error *err);

#endif
