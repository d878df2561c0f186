/* Assisted filing at the counter (Llei 39/2015, art. 12.2-12.3): an authorised official files a
 * new expedient for a person who identified themselves and consented expressly. The command
 * carries the official as its actor (kind employee), the person as actor.represents and the
 * consent as eng_command.assisted; the transition that files it also writes the person's
 * record (an existing one is reused), marks the registry entry as filed at the counter by the
 * official, puts the assistance in the receipt and the event, and stores the consent row
 * (migration 0026), which the database keeps immutable. Thread-safety: as eng_store. */
#ifndef ENG_COUNTER_H
#define ENG_COUNTER_H

#include <jansson.h>
#include <stddef.h>

#include "queries.h"
#include "store.h"

/* What the official recorded at the counter. Strings are borrowed for the command's life. */
struct eng_assisted {
	const char *official_name;   /* the official is event.actor.id (an employee's username) */
	const char *person_name;     /* the person is event.actor.represents (their NIF or NIE) */
	const char *email;           /* for notices, or NULL */
	const char *lang;            /* "ca" or "es": the person's language for notices */
	const char *method;          /* "in_person" or "signed_form" */
	const char *id_document_type; /* "dni", "nie" or "passport" */
	const char *id_document;     /* the number on the document shown */
	/* signed_form only: the scan of the signed paper form. */
	const unsigned char *scan;
	size_t scan_len;
	const char *scan_media_type;
};

/* The consent recorded with a counter filing, as pages show it (arena strings). */
struct eng_counter_view {
	const char *id, *official, *official_name, *person_nif, *person_name, *method;
	const char *id_document_type, *id_document, *registry_number, *given_at;
	const char *scan_sha256, *scan_media_type; /* NULL unless signed_form */
	long long scan_len;
};

/* The consent of expedient_id (entity entity_id): 0, ENG_ENOTFOUND when it was not filed at
 * the counter, ENG_EUNAVAILABLE when the database fails. */
int eng_counter_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *expedient_id, struct eng_counter_view *out, struct eng_error *err);
/* The scan of a signed consent form: bytes malloc'd into *out (free()), ENG_ENOTFOUND when
 * there is none. */
int eng_counter_scan(struct eng_store *s, const char *entity_id, const char *expedient_id,
                     unsigned char **out, size_t *len, struct eng_error *err);

/* Checks a's values and the command's shape (an employee acting for a person, creating an
 * expedient): 0 or ENG_EINVALID naming what is wrong. Called by the transition too. */
int eng_assisted_check(const struct eng_command *cmd, struct eng_error *err);

/* Internals for the store (store_effects.c), inside the filing's transaction. */
struct eng__tx;
int eng_store__counter_prepare(struct eng_store *s, struct eng_error *err);
/* Before the effects: the person's record, so notices of this transition find it. */
int eng_store__counter_person(struct eng__tx *t, struct eng_error *err);
/* After the effects: the registry entry's channel, the consent row, the event's record. */
int eng_store__counter_record(struct eng__tx *t, struct eng_error *err);
/* The receipt's "assisted" member (a new reference). */
json_t *eng_store__counter_receipt(const struct eng_command *cmd);

#endif
