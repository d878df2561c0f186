/* Housekeeping of drafts, abandoned uploads and unreferenced blobs (sweep.h).
 * The order matters: drafts first (a live draft protects the files of its submission key),
 * then pending attachments (which may leave blobs unreferenced), then the blobs. */
#include "sweep.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

enum { BATCH = 200 };

static long affected(PGresult *r)
{
	return atol(PQcmdTuples(r));
}

static int delete_counted(struct eng_store *s, const char *what, const char *sql, int n,
                          const char *const *p, long *count, struct eng_error *err)
{
	PGresult *r = eng_store__query(s, what, sql, n, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	*count += affected(r);
	PQclear(r);
	return 0;
}

/* FOLDER/ab/<hash>, as docstore.c writes it, and the name it is set aside under. */
static int blob_paths(const char *folder, const char *sha256, char path[PATH_MAX],
                      char aside[PATH_MAX], struct eng_error *err)
{
	int n1 = snprintf(path, PATH_MAX, "%s/%.2s/%s", folder, sha256, sha256);
	int n2 = snprintf(aside, PATH_MAX, "%s/%.2s/.%s.swept", folder, sha256, sha256);
	if (n1 < 0 || n2 < 0 || n1 >= PATH_MAX || n2 >= PATH_MAX)
		return eng_error_set(err, ENG_EINVALID, "documents folder: %.80s... is too long a path", folder);
	return 0;
}

/* Puts back the files set aside by a batch that did not commit. */
static void restore(const char *folder, PGresult *r, const bool *aside_done)
{
	for (int i = 0; i < PQntuples(r); i++) {
		char path[PATH_MAX], aside[PATH_MAX];
		struct eng_error ignored = {0};
		if (aside_done[i] && blob_paths(folder, PQgetvalue(r, i, 0), path, aside, &ignored) == 0 &&
		    rename(aside, path) != 0)
			fprintf(stderr, "tramit: repository sweep: cannot put back %s: %s\n", path, strerror(errno));
	}
}

/* Sets aside the folder files of the batch's blobs; a file already gone (set aside by a sweep
 * that crashed before its commit, or lost) does not stop the row from going. */
static int set_aside(const char *folder, PGresult *r, bool *aside_done, struct eng_error *err)
{
	for (int i = 0; i < PQntuples(r); i++) {
		if (strcmp(PQgetvalue(r, i, 1), "folder") != 0)
			continue;
		char path[PATH_MAX], aside[PATH_MAX];
		int rc = blob_paths(folder, PQgetvalue(r, i, 0), path, aside, err);
		if (rc)
			return rc;
		if (rename(path, aside) == 0)
			aside_done[i] = true;
		else if (errno != ENOENT)
			return eng_error_set(err, ENG_EUNAVAILABLE, "documents folder: cannot set aside %s: %s",
			                     path, strerror(errno));
	}
	return 0;
}

/* One batch of unreferenced blobs in one transaction; *more when the batch was full. */
static int sweep_blobs(struct eng_store *s, const char *folder, const char *hours,
                       struct eng_sweep_counts *out, bool *more, struct eng_error *err)
{
	*more = false;
	int rc = eng_store__command(s, "begin", "BEGIN", 0, NULL, err);
	if (rc)
		return rc;
	rc = eng_store__command_in_tx(s, "sweep mode", "SET LOCAL tramit.repository_sweep = 'on'", 0, NULL, err);
	char batch[16];
	snprintf(batch, sizeof(batch), "%d", BATCH);
	const char *p[] = {hours, folder ? "true" : "false", batch};
	PGresult *r = rc ? NULL
	              : eng_store__query_in_tx(
	                    s, "unreferenced blobs",
	                    "SELECT b.sha256, b.backend, b.size FROM blob b "
	                    "WHERE b.created_at < now() - make_interval(hours => $1::int) "
	                    "AND (b.backend = 'database' OR $2::boolean) "
	                    "AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.sha256 = b.sha256) "
	                    "ORDER BY b.created_at LIMIT $3::int FOR UPDATE OF b SKIP LOCKED",
	                    3, p, PGRES_TUPLES_OK, err);
	if (!r) {
		eng_store__command_in_tx(s, "rollback", "ROLLBACK", 0, NULL, &(struct eng_error){0});
		return rc ? rc : err->code;
	}
	int n = PQntuples(r);
	bool *aside_done = calloc((size_t)n + 1, sizeof(bool));
	char *list = malloc((size_t)n * 66 + 3);
	if (!aside_done || !list) {
		rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
		goto fail;
	}
	size_t len = 0;
	list[len++] = '{';
	long long bytes = 0;
	for (int i = 0; i < n; i++) {
		len += (size_t)sprintf(list + len, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
		bytes += atoll(PQgetvalue(r, i, 2));
	}
	list[len++] = '}';
	list[len] = '\0';
	if (n == 0) {
		rc = eng_store__command_in_tx(s, "commit", "COMMIT", 0, NULL, err);
		goto done;
	}
	if (folder && (rc = set_aside(folder, r, aside_done, err)) != 0)
		goto fail;
	const char *lp[] = {list};
	if ((rc = eng_store__command_in_tx(s, "blob chunks", "DELETE FROM blob_chunk WHERE sha256 = ANY($1::text[])",
	                                   1, lp, err)) != 0 ||
	    (rc = eng_store__command_in_tx(s, "blobs", "DELETE FROM blob WHERE sha256 = ANY($1::text[])", 1, lp,
	                                   err)) != 0 ||
	    (rc = eng_store__command_in_tx(s, "commit", "COMMIT", 0, NULL, err)) != 0)
		goto fail;
	/* Committed: the files set aside belong to nothing now. */
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], aside[PATH_MAX];
		if (aside_done[i] && blob_paths(folder, PQgetvalue(r, i, 0), path, aside, err) == 0 && unlink(aside) != 0)
			fprintf(stderr, "tramit: repository sweep: cannot remove %s: %s\n", aside, strerror(errno));
	}
	out->blobs += n;
	out->bytes += bytes;
	*more = n == BATCH;
	goto done;
fail:
	eng_store__command_in_tx(s, "rollback", "ROLLBACK", 0, NULL, &(struct eng_error){0});
	if (aside_done)
		restore(folder, r, aside_done);
done:
	free(aside_done);
	free(list);
	PQclear(r);
	return rc;
}

int eng_repository_sweep(struct eng_store *s, const char *folder, int pending_hours,
                         struct eng_sweep_counts *out, struct eng_error *err)
{
	*out = (struct eng_sweep_counts){0};
	if (pending_hours < 1)
		return eng_error_set(err, ENG_EINVALID, "the age of an abandoned upload must be at least one hour");
	char hours[16];
	snprintf(hours, sizeof(hours), "%d", pending_hours);
	const char *p[] = {hours};
	int rc = delete_counted(s, "expired drafts", "DELETE FROM form_draft WHERE expires_at <= now()", 0, NULL,
	                        &out->drafts, err);
	if (!rc)
		rc = delete_counted(
		    s, "abandoned uploads",
		    "DELETE FROM attachment a WHERE a.expedient_id IS NULL "
		    "AND a.created_at < now() - make_interval(hours => $1::int) "
		    "AND NOT EXISTS (SELECT 1 FROM form_draft d WHERE d.entity_id = a.entity_id "
		    "AND d.principal = a.uploaded_by AND d.submission_key = a.submission_key AND d.expires_at > now())",
		    1, p, &out->pending_files, err);
	for (bool more = true; !rc && more;)
		rc = sweep_blobs(s, folder, hours, out, &more, err);
	if (!rc && !folder) {
		PGresult *r = eng_store__query(
		    s, "blobs kept in a folder",
		    "SELECT count(*) FROM blob b WHERE b.backend = 'folder' "
		    "AND b.created_at < now() - make_interval(hours => $1::int) "
		    "AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.sha256 = b.sha256)",
		    1, p, PGRES_TUPLES_OK, err);
		if (!r)
			return err->code;
		out->kept_in_folder = atol(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return rc;
}
