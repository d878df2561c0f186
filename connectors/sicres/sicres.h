/* Registry interchange in SICRES 3.0 (DOMAIN.md 3.3, issue 7): the "fichero de intercambio"
 * XML written for an entry we send to another administration and read, hardened, from one we
 * receive; and the interchange book over PostgreSQL (migration 0013): export, import,
 * accept/reject/return, and the registry book's list.
 * Invariants: a file we accept parsed without a DTD, entities or network access, within the
 * size and count limits, with every annex's Hash equal to the SHA-256 of its content; an
 * Identificador_Intercambio is recorded once per entity and direction; states only move
 * forward; an accepted incoming exchange is exactly one new entry in book E.
 * Functions keep no global state and are reentrant; a PGconn is used by one thread at a time. */
#ifndef CONN_SICRES_H
#define CONN_SICRES_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/core/arena.h"

enum {
	CONN_SICRES_EFAIL = -1,      /* database, file system or memory */
	CONN_SICRES_ENOTFOUND = -2,  /* no such entry or exchange */
	CONN_SICRES_EINVALID = -3,   /* a refused file or argument: msg names the field and why */
	CONN_SICRES_ECONFLICT = -4,  /* the exchange is already in another state, or the same
	                              * identifier arrived with different content */
};

/* Limits on an incoming file, checked before and while parsing. */
enum {
	CONN_SICRES_MAX_BYTES = 16 * 1024 * 1024,
	CONN_SICRES_MAX_ANNEXES = 100,
	CONN_SICRES_MAX_PARTIES = 20,
	CONN_SICRES_MAX_ELEMENTS = 5000,
};

struct conn_sicres_error {
	int code;
	char msg[512];
};

/* One De_Interesado (the interested party; the representative's fields are not used yet). */
struct conn_sicres_party {
	const char *doc_type;   /* Tipo_Documento_Identificacion_Interesado (codes table) */
	const char *doc_id;     /* Documento_Identificacion_Interesado */
	const char *company;    /* Razon_Social_Interesado, or NULL */
	const char *name, *surname1, *surname2; /* or NULL */
	const char *email, *phone;             /* or NULL */
};

/* One De_Anexo. */
struct conn_sicres_annex {
	const char *file_name;  /* Nombre_Fichero_Anexado */
	const char *file_id;    /* Identificador_Fichero */
	const char *validity;   /* Validez_Documento, or NULL */
	const char *doc_type;   /* Tipo_Documento */
	const char *mime;       /* Tipo_MIME, or NULL */
	const char *hash_b64;   /* Hash: base64 of the SHA-256 of content */
	const unsigned char *content;
	size_t len;
};

/* A whole exchange file. Strings are UTF-8 and NUL-terminated; optional ones may be NULL. */
struct conn_sicres_record {
	/* De_Origen_o_Remitente */
	const char *origin_code, *origin_name, *entry_number;
	const char *entry_time;  /* Fecha_Hora_Entrada: yyyyMMddHHmmss, Europe/Madrid */
	const char *origin_unit, *origin_unit_name;
	/* De_Destino */
	const char *destination_code, *destination_name, *destination_unit, *destination_unit_name;
	struct conn_sicres_party *parties;
	size_t n_parties;
	/* De_Asunto */
	const char *summary, *expedient_number;
	struct conn_sicres_annex *annexes;
	size_t n_annexes;
	/* De_Internos_Control */
	const char *user_name, *exchange_id, *annotation_type, *annotation_text, *record_type;
	const char *physical_docs, *test_flag, *start_code, *start_name;
	/* De_Formulario_Generico */
	const char *expone, *solicita;
};

/* The record as XML (UTF-8, no namespace, elements in the XSD's order). *out is malloc'd
 * (free with free()). Refuses (CONN_SICRES_EINVALID, naming the field) a value longer than the
 * field allows or a required one missing, so what we write is what we would accept. */
int conn_sicres_write(char **out, size_t *len, const struct conn_sicres_record *r,
                      struct conn_sicres_error *err);

/* Parses and checks an incoming file: at most CONN_SICRES_MAX_BYTES, no DOCTYPE, no network,
 * required fields present, lengths within the XSD's, DIR3 codes well formed, dates real,
 * codes known, every annex's Hash equal to the SHA-256 of its decoded content. Strings and
 * annex bytes are allocated in arena a. Returns 0 or CONN_SICRES_EINVALID with msg like
 * "De_Anexo[2]/Hash: ... ". */
int conn_sicres_read(struct conn_sicres_record *out, struct eng_arena *a, const unsigned char *xml,
                     size_t len, struct conn_sicres_error *err);

/* A DIR3 code as the exchange carries it: 1-21 characters, an upper-case letter then upper-case
 * letters and digits; an ayuntamiento's (L01 + 6 digits) must have the right control digit. */
int conn_sicres_dir3_check(const char *code, struct conn_sicres_error *err);

/* --- The interchange book (PostgreSQL, migration 0013) --- */

struct conn_sicres_export_options {
	const char *entity_id;
	const char *number;           /* our registry number, e.g. E/2026/000001 */
	const char *to;               /* destination registry office (DIR3) */
	const char *to_name;          /* its name, or NULL */
	const char *verify_base_url;  /* printed on the receipt's PDF rendering */
	const char *actor;            /* who: "cli:USER", "employee:USERNAME" */
	const char *path;             /* where the file goes (written whole, then renamed) */
};

struct conn_sicres_result {
	char identifier[40];       /* Identificador_Intercambio */
	char state[16];
	char registry_number[40];  /* the entry it came from or created, or "" */
	char reason[512];
	size_t n_annexes;
	bool replayed;             /* an earlier call already did this; nothing changed */
};

/* Takes the next identifier, writes the file and records the outgoing exchange (state sent)
 * in one transaction: a failure leaves no row, no number used and no file. */
int conn_sicres_export(struct conn_sicres_result *out, PGconn *conn,
                       const struct conn_sicres_export_options *opt, struct conn_sicres_error *err);

/* Records an incoming file (state received) after conn_sicres_read accepted it and it is
 * addressed to this entity's registry office. The same identifier again: the same answer with
 * replayed set when the bytes are the same, CONN_SICRES_ECONFLICT when they differ. */
int conn_sicres_import(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                       const unsigned char *xml, size_t len, const char *actor,
                       struct conn_sicres_error *err);

enum conn_sicres_decision { CONN_SICRES_ACCEPT, CONN_SICRES_REJECT, CONN_SICRES_RETURN };

/* Moves an exchange out of its first state. Incoming: accept creates the next entry in book E
 * with the annexes as documents; reject and return need a reason and create nothing.
 * Outgoing (outgoing = true): records the receiver's answer. Repeating the decision that was
 * taken answers the same (replayed); another decision is CONN_SICRES_ECONFLICT. */
int conn_sicres_decide(struct conn_sicres_result *out, PGconn *conn, const char *entity_id,
                       const char *identifier, bool outgoing, enum conn_sicres_decision d,
                       const char *reason, const char *actor, struct conn_sicres_error *err);

/* The registry book: entries in (E) and out (S), newest first. */
struct conn_sicres_book_query {
	const char *entity_id;
	char book;             /* 'E', 'S' or 0 for both */
	int year;              /* 0 for every year */
	const char *search;    /* case-insensitive, over number, party NIF and name, summary; or NULL */
	int offset, limit;
};
struct conn_sicres_entry {
	const char *number, *book, *presented_at; /* presented_at: ISO 8601, Europe/Madrid */
	const char *party_nif, *party_name, *addressee, *summary;
	const char *receipt_csv;  /* the filing's receipt, or NULL */
	const char *exchange;     /* the Identificador_Intercambio it came from, or NULL */
	int n_documents;          /* documents from an exchange */
};
int conn_sicres_book_list(struct conn_sicres_entry **out, size_t *n, long *total,
                          struct eng_arena *a, PGconn *conn, const struct conn_sicres_book_query *q,
                          struct conn_sicres_error *err);

/* Exchanges, newest first; direction "in", "out" or NULL for both. */
struct conn_sicres_exchange {
	const char *identifier, *direction, *state, *reason;
	const char *origin_code, *origin_name, *destination_code, *origin_number;
	const char *party_nif, *party_name, *summary, *registry_number, *created_at, *updated_at;
	int n_annexes;
};
int conn_sicres_exchange_list(struct conn_sicres_exchange **out, size_t *n, struct eng_arena *a,
                              PGconn *conn, const char *entity_id, const char *direction,
                              int limit, struct conn_sicres_error *err);

/* Sets the entity's registry office code (checked with conn_sicres_dir3_check). */
int conn_sicres_office_set(PGconn *conn, const char *entity_id, const char *code,
                           struct conn_sicres_error *err);

#endif
