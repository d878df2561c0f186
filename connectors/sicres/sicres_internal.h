/* Shared internals of the SICRES connector: the code and length tables (codes.c), character
 * counting and base64 and hashing (codes.c), and the small libpq helpers the book's files use
 * (db.c). Not used outside connectors/sicres. */
#ifndef CONN_SICRES_INTERNAL_H
#define CONN_SICRES_INTERNAL_H

#include <stdbool.h>

#include "connectors/sicres/sicres.h"

#define SICRES_ROOT "Fichero_Intercambio_SICRES_3"

/* The value of a coded field by what it means ("Tipo_Registro", "entrada" -> "0"); the pair
 * must be in the table (an assert). */
const char *sicres__code(const char *field, const char *meaning);
/* What a value means, or NULL when the field has no such value. */
const char *sicres__meaning(const char *field, const char *value);
/* The XSD's maxLength of an element, in characters; 0 when unbounded (base64 fields). */
int sicres__max_len(const char *element);
/* Number of UTF-8 characters, or -1 when s is not valid UTF-8. */
long sicres__utf8_chars(const char *s);
/* s cut to at most max characters, never inside one (arena copy when cut). */
const char *sicres__fit(struct eng_arena *a, const char *s, int max);

/* Base64 (no line breaks) of data, in the arena. */
char *sicres__b64(struct eng_arena *a, const unsigned char *data, size_t len);
/* Decodes base64 ignoring whitespace; -1 on a character outside the alphabet or bad padding. */
int sicres__unb64(unsigned char **out, size_t *len, struct eng_arena *a, const char *text);
/* Base64 of the SHA-256 of data (44 characters and a NUL). */
void sicres__sha256_b64(char out[48], const unsigned char *data, size_t len);
void sicres__sha256_hex(char out[65], const unsigned char *data, size_t len);

int sicres__fail(struct conn_sicres_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* libpq helpers (db.c). Each sets err with the statement's purpose and libpq's first line. */
PGresult *sicres__query(PGconn *conn, const char *what, const char *sql, int n,
                        const char *const *params, int binary, struct conn_sicres_error *err);
/* The same with some parameters in binary (formats[i] = 1, lengths[i] their size): bytea. */
PGresult *sicres__query_bin(PGconn *conn, const char *what, const char *sql, int n,
                            const char *const *params, const int *lengths, const int *formats,
                            int binary, struct conn_sicres_error *err);
int sicres__command(PGconn *conn, const char *what, const char *sql, int n,
                    const char *const *params, struct conn_sicres_error *err);
/* BEGIN with SET LOCAL TIME ZONE 'Europe/Madrid'; and ROLLBACK that ignores failures. */
int sicres__begin(PGconn *conn, struct conn_sicres_error *err);
void sicres__rollback(PGconn *conn);
int sicres__commit(PGconn *conn, struct conn_sicres_error *err);
/* The registry office code of the entity (registry_office, else dir3) and its name; or
 * CONN_SICRES_EINVALID saying how to set one. Strings in the arena. */
int sicres__office(const char **code, const char **name, struct eng_arena *a, PGconn *conn,
                   const char *entity_id, struct conn_sicres_error *err);
/* Takes the next number of book `book` for the entity, exactly as a filing does
 * (store_effects.c's registry_take), and writes the entry; *number receives "E/2026/000001"
 * and *entry_id the row id. Inside the caller's transaction. */
int sicres__registry_take(char number[40], char entry_id[24], PGconn *conn, const char *entity_id,
                          const char *book, const char *party_nif, const char *party_name,
                          const char *addressee, const char *summary,
                          struct conn_sicres_error *err);
/* Appends to interchange_event. */
int sicres__event(PGconn *conn, const char *interchange_id, const char *from, const char *to,
                  const char *reason, const char *actor, struct conn_sicres_error *err);

#endif
