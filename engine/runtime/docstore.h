/* The document repository: files kept once per content, named by their SHA-256, written and
 * read in chunks of ENG_DOC_CHUNK bytes, never changed (migration 0012 refuses updates), and
 * attachments that point at them with their ENI metadata (DOMAIN 10.1).
 * The bytes live in PostgreSQL (blob_chunk rows) or, when a folder is given, in files named by
 * hash (FOLDER/ab/abcd...); the blob row says which, so a blob is read from wherever it was
 * written whatever the current setting. The folder must be shared by every server.
 * Error codes: ENG_ENOTFOUND (no such attachment or blob), ENG_EINVALID (a malformed id or
 * hash, a name the schema refuses), ENG_EUNAVAILABLE (the database), ENG_EINTERNAL.
 * Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_DOCSTORE_H
#define ENG_DOCSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum { ENG_DOC_CHUNK = 256 * 1024 };

/* One file of a form post, already checked and scanned by the caller. */
struct eng_doc_upload {
	const char *field;      /* the form field */
	const char *name;       /* sanitised file name, 1..255 bytes */
	const char *media_type; /* e.g. "application/pdf" */
	const void *data;       /* borrowed */
	size_t len;
	char sha256[65];        /* out: lower-case hex */
	bool created;           /* out: its blob was new (false: the bytes were already stored) */
};

/* Stores each file's bytes as a blob (skipping blobs already present: deduplication) and
 * records them as the pending attachments of submission `key` by `principal`
 * ("citizen:NIF"), replacing the pending ones an earlier post with the same key left for the
 * same fields (another field's files stay pending). One transaction; all or nothing. The
 * submission that commits with that key links them (migration 0012, attachment_link). */
/* folder: where new blobs' bytes go (NULL: the database). A file is written to a temporary
 * name, synced and renamed, read-only, before the transaction commits. */
int eng_docstore_stage(struct eng_store *s, const char *folder, const char *entity_id,
                       const char *principal, const char *key, struct eng_doc_upload *files,
                       size_t n, struct eng_error *err);

/* An attachment linked to an expedient, with its ENI metadata. Strings live in the arena. */
struct eng_attachment_view {
	const char *id, *expedient_id, *field, *name, *sha256, *media_type;
	int64_t size;
	const char *eni_id, *organ, *captured_at, *state, *signature_type, *csv;
	int origin; /* 0 citizen, 1 administration */
};

/* The linked attachments of an expedient of this entity, in the order they were posted. */
int eng_docstore_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *expedient_id, struct eng_attachment_view **out, size_t *n,
                      struct eng_error *err);
/* One linked attachment of this entity; ENG_ENOTFOUND for an unknown, malformed or pending id. */
int eng_docstore_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *id, struct eng_attachment_view *out, struct eng_error *err);

/* Called with each chunk in order; a non-zero return stops the read with ENG_EINTERNAL. */
typedef int (*eng_doc_sink)(const void *data, size_t len, void *payload);
/* Reads blob sha256 a chunk at a time (memory stays at one chunk whatever the size) and
 * checks the bytes against their name as they pass: a blob whose content no longer hashes to
 * it fails with ENG_EINTERNAL after the last chunk. folder: as for eng_docstore_stage, needed
 * for blobs kept in a folder (ENG_EUNAVAILABLE without it). */
int eng_docstore_read(struct eng_store *s, const char *folder, const char *sha256,
                      eng_doc_sink sink, void *payload, struct eng_error *err);

struct eng_blob {
	char sha256[65];
	long long size;
	long chunks;    /* of ENG_DOC_CHUNK bytes, the last one shorter */
	bool in_folder; /* false: in the database */
};
/* Blob sha256 as stored; ENG_ENOTFOUND if absent. */
int eng_docstore_blob(struct eng_store *s, const char *sha256, struct eng_blob *out,
                      struct eng_error *err);
/* Chunk seq (0-based) of a blob, to sink: for a reader that paces itself (an HTTP reply sent
 * as the client takes it). Unlike eng_docstore_read it cannot check the whole hash. */
int eng_docstore_chunk(struct eng_store *s, const char *folder, const struct eng_blob *b,
                       long seq, eng_doc_sink sink, void *payload, struct eng_error *err);

#endif
