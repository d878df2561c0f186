/* Housekeeping of what people started and never finished: drafts past their expiry, files
 * attached to forms that were never filed, and the stored bytes nothing refers to any more
 * (data minimisation: an upload that never became part of an expedient has no reason to be
 * kept). Filed attachments and the blobs they point at are never touched; the database's
 * foreign keys refuse it even if this code were wrong (migration 0028).
 * Thread-safety: as struct eng_store (one per thread). Any number of servers may sweep at
 * once: each blob is locked while it goes, and a blob another transaction is using is skipped. */
#ifndef ENG_SWEEP_H
#define ENG_SWEEP_H

#include "store.h"

struct eng_sweep_counts {
	long drafts;        /* expired drafts deleted */
	long pending_files; /* pending attachments of abandoned forms deleted */
	long blobs;         /* blobs deleted (their chunks or their file with them) */
	long long bytes;    /* the blobs' size */
	long kept_in_folder; /* unreferenced blobs left because this process has no folder */
};

/* Sweeps every entity of the database: drafts whose expires_at has passed; pending
 * attachments older than pending_hours whose submission key no live draft of the same person
 * still holds; then blobs older than pending_hours that no attachment refers to, in batches,
 * each batch one transaction. folder: the documents folder (TRAMIT_DOCUMENTS_DIR), or NULL;
 * a blob kept in a folder is only deleted when the folder is given. A folder file is renamed
 * aside before its row's deletion commits and unlinked after, so an upload of the same bytes
 * racing the sweep never loses its file. Returns 0 or the error code of the first failure
 * (counts say what was done before it). pending_hours must be at least 1. */
int eng_repository_sweep(struct eng_store *s, const char *folder, int pending_hours,
                         struct eng_sweep_counts *out, struct eng_error *err);

#endif
