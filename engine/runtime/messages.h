/* Messages on an expedient: the applicant (or whoever acts for them) and the employees of the
 * unit write to each other, and employees keep internal notes (migration 0023). A message is
 * stored once per form key and never changes; one an employee sends to the applicant writes an
 * informative notice (notify effect "message") in the outbox in the same statement.
 * Error codes: ENG_ENOTFOUND (no such expedient in this entity), ENG_EINVALID (what the schema
 * refuses: an empty or too long body, a bad key), ENG_EUNAVAILABLE (the database).
 * Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_MESSAGES_H
#define ENG_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

enum { ENG_MESSAGE_MAX = 4000 }; /* characters of a body */

struct eng_message_post {
	const char *entity_id, *expedient_id;
	const char *author_kind; /* "citizen" or "employee" */
	const char *author_id;   /* NIF or user name */
	const char *author_name;
	const char *body;        /* UTF-8, 1..ENG_MESSAGE_MAX characters */
	const char *key;         /* the form's idempotency key, 16..64 characters */
	bool internal;           /* an employee's note: never shown to the applicant, no notice */
};

/* Stores the message unless one with the same author and key exists (*created false then;
 * id is the first one's either way). */
int eng_messages_post(struct eng_store *s, const struct eng_message_post *m, char id[37],
                      bool *created, struct eng_error *err);

struct eng_message_view {
	const char *id, *author_kind, *author_id, *author_name, *body, *at; /* at: ISO 8601 */
	bool internal;
};

/* The messages of an expedient, oldest first; internal notes only when staff. */
int eng_messages_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *expedient_id, bool staff, struct eng_message_view **out,
                      size_t *n, struct eng_error *err);

#endif
