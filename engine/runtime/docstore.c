/* The document repository (docstore.h). In the database, blobs go in as chunks sent as binary
 * parameters straight from the caller's buffer and come out one chunk per query in binary
 * results, so neither direction copies or escapes a file whole; in a folder, as one file per
 * blob read with pread a chunk at a time. Invariant: a blob row commits only after all its
 * bytes are durable (chunks in the same transaction, or a file synced and renamed before the
 * COMMIT), under the SHA-256 of those very bytes. */
#include "docstore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define ISO(col) ENG__ISO(col)

#define ATTACHMENT_COLUMNS \
	"a.id::text, a.expedient_id::text, a.field, a.name, a.sha256, a.media_type, a.size, " \
	"coalesce(a.eni_id, ''), coalesce(a.organ, ''), " ISO("a.captured_at") ", a.state, " \
	"coalesce(a.signature_type, ''), coalesce(a.csv, ''), a.origin "

/* Runs sql with text parameters (binary where lengths says so); NULL and err on failure. */
static PGresult *run(struct eng_store *s, const char *what, const char *sql, int n,
                     const char *const *params, const int *lengths, const int *formats,
                     int result_format, ExecStatusType want, struct eng_error *err)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, params, lengths, formats, result_format);
	if (PQresultStatus(r) != want) {
		eng_store__fail(s, err, what, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int run_cmd(struct eng_store *s, const char *what, const char *sql, int n,
                   const char *const *params, struct eng_error *err)
{
	PGresult *r = run(s, what, sql, n, params, NULL, NULL, 0, PGRES_COMMAND_OK, err);
	PQclear(r);
	return r ? 0 : err->code;
}

static void sha256_hex(char out[65], const void *data, size_t len)
{
	eng_store__sha256_hex(out, data, len);
}

static int folder_fail(struct eng_error *err, const char *what, const char *path)
{
	return eng_error_set(err, ENG_EUNAVAILABLE, "documents folder: cannot %s %s: %s", what, path,
	                     strerror(errno));
}

/* FOLDER/ab/abcd...: written whole under a temporary name, synced, made read-only and renamed,
 * so a reader never sees half a file and a crash leaves at worst a temporary one. Only one
 * transaction writes a given new blob at a time (the blob row's lock), so the temporary name
 * needs only the process to be unique across servers. */
static int folder_put(const char *folder, const char *sha256, const void *data, size_t len,
                      struct eng_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int n1 = snprintf(dir, sizeof(dir), "%s/%.2s", folder, sha256);
	int n2 = snprintf(path, sizeof(path), "%s/%.2s/%s", folder, sha256, sha256);
	int n3 = snprintf(tmp, sizeof(tmp), "%s/%.2s/.%s.%ld.tmp", folder, sha256, sha256, (long)getpid());
	if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n3 >= sizeof(tmp) || (size_t)n2 >= sizeof(path) ||
	    (size_t)n1 >= sizeof(dir))
		return eng_error_set(err, ENG_EINVALID, "documents folder: %.80s... is too long a path", folder);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return folder_fail(err, "create", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return folder_fail(err, "create", tmp);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = folder_fail(err, "write", tmp);
			close(fd);
			unlink(tmp);
			return rc;
		}
		off += (size_t)w;
	}
	int rc = fsync(fd) != 0 || fchmod(fd, 0440) != 0 ? folder_fail(err, "sync", tmp) : 0;
	close(fd);
	if (!rc && rename(tmp, path) != 0)
		rc = folder_fail(err, "rename into", path);
	int dfd = rc ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself survives a crash */
		close(dfd);
	}
	if (rc)
		unlink(tmp);
	return rc;
}

/* Writes one blob unless it exists. ON CONFLICT waits for a transaction writing the same
 * bytes, so two uploads of one file at once still store it once. */
static int put_blob(struct eng_store *s, const char *folder, struct eng_doc_upload *f,
                    struct eng_error *err)
{
	sha256_hex(f->sha256, f->data, f->len);
	size_t chunks = (f->len + ENG_DOC_CHUNK - 1) / ENG_DOC_CHUNK;
	char size[24], count[24];
	snprintf(size, sizeof(size), "%zu", f->len);
	snprintf(count, sizeof(count), "%zu", chunks);
	const char *p[] = {f->sha256, size, count, folder ? "folder" : "database"};
	PGresult *r = run(s, "blob_insert", "INSERT INTO blob (sha256, size, chunks, backend) VALUES "
	                  "($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING", 4, p, NULL, NULL, 0,
	                  PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	f->created = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (f->created && folder)
		return folder_put(folder, f->sha256, f->data, f->len, err);
	for (size_t i = 0; f->created && i < chunks; i++) {
		size_t off = i * ENG_DOC_CHUNK, len = f->len - off < ENG_DOC_CHUNK ? f->len - off : ENG_DOC_CHUNK;
		char seq[24];
		snprintf(seq, sizeof(seq), "%zu", i);
		const char *cp[] = {f->sha256, seq, (const char *)f->data + off};
		const int lengths[] = {0, 0, (int)len}, formats[] = {0, 0, 1};
		r = run(s, "blob_chunk_insert", "INSERT INTO blob_chunk (sha256, seq, data) VALUES ($1, $2, $3)",
		        3, cp, lengths, formats, 0, PGRES_COMMAND_OK, err);
		if (!r)
			return err->code;
		PQclear(r);
	}
	return 0;
}

static int stage_all(struct eng_store *s, const char *folder, const char *entity_id,
                     const char *principal, const char *key, struct eng_doc_upload *files, size_t n,
                     struct eng_error *err)
{
	/* Files chosen again for a field replace that field's; other fields keep theirs. The
	 * fields go as a text[] literal, each quoted with " and \\ escaped. */
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(files[i].field) + 3;
	char *fields = malloc(cap);
	if (!fields)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	size_t o = 0;
	fields[o++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			fields[o++] = ',';
		fields[o++] = '"';
		for (const char *c = files[i].field; *c; c++) {
			if (*c == '"' || *c == '\\')
				fields[o++] = '\\';
			fields[o++] = *c;
		}
		fields[o++] = '"';
	}
	fields[o++] = '}';
	fields[o] = '\0';
	const char *pk[] = {entity_id, principal, key, fields};
	int rc = run_cmd(s, "attachment_unstage", "DELETE FROM attachment WHERE entity_id = $1 AND "
	                 "uploaded_by = $2 AND submission_key = $3 AND expedient_id IS NULL AND "
	                 "field = ANY ($4::text[])", 4, pk, err);
	free(fields);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = put_blob(s, folder, &files[i], err);
		if (rc)
			break;
		char ord[24], size[24];
		snprintf(ord, sizeof(ord), "%zu", i);
		snprintf(size, sizeof(size), "%zu", files[i].len);
		const char *p[] = {entity_id, files[i].field, ord, files[i].name, files[i].sha256, size,
		                   files[i].media_type, principal, key};
		rc = run_cmd(s, "attachment_stage",
		             "INSERT INTO attachment (entity_id, field, ord, name, sha256, size, media_type, "
		             "uploaded_by, submission_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		             9, p, err);
	}
	return rc;
}

int eng_docstore_stage(struct eng_store *s, const char *folder, const char *entity_id,
                       const char *principal, const char *key, struct eng_doc_upload *files,
                       size_t n, struct eng_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!files[i].name || !*files[i].name || strlen(files[i].name) > 255 || !files[i].field)
			return eng_error_set(err, ENG_EINVALID, "file %zu: a name of 1 to 255 bytes and a field are required", i);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	rc = eng_store__exec(s, "BEGIN", err);
	if (rc)
		return rc;
	rc = stage_all(s, folder, entity_id, principal, key, files, n, err);
	if (!rc)
		rc = eng_store__exec(s, "COMMIT", err);
	if (rc)
		eng_store__exec(s, "ROLLBACK", &(struct eng_error){0});
	return rc;
}

static void take(PGresult *r, int row, struct eng_arena *a, struct eng_attachment_view *v)
{
	const char **cols[] = {&v->id, &v->expedient_id, &v->field, &v->name, &v->sha256,
	                       &v->media_type, NULL, &v->eni_id, &v->organ, &v->captured_at,
	                       &v->state, &v->signature_type, &v->csv};
	for (int i = 0; i < (int)(sizeof(cols) / sizeof(cols[0])); i++)
		if (cols[i])
			*cols[i] = eng_arena_strdup(a, PQgetvalue(r, row, i));
	v->size = atoll(PQgetvalue(r, row, 6));
	v->origin = atoi(PQgetvalue(r, row, 13));
}

int eng_docstore_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const char *expedient_id, struct eng_attachment_view **out, size_t *n,
                      struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	if (!eng_uuid_valid(expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %.40s", expedient_id);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, expedient_id};
	PGresult *r = run(s, "attachment_list", "SELECT " ATTACHMENT_COLUMNS "FROM attachment a "
	                  "WHERE a.expedient_id = $2::uuid AND a.entity_id = $1 ORDER BY a.ord, a.id",
	                  2, p, NULL, NULL, 0, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		take(r, (int)i, a, &(*out)[i]);
	PQclear(r);
	return 0;
}

int eng_docstore_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                     const char *id, struct eng_attachment_view *out, struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no attachment %.40s", id);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, id};
	PGresult *r = run(s, "attachment_get", "SELECT " ATTACHMENT_COLUMNS "FROM attachment a "
	                  "WHERE a.id = $2::uuid AND a.entity_id = $1 AND a.expedient_id IS NOT NULL",
	                  2, p, NULL, NULL, 0, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 1)
		take(r, 0, a, out);
	else
		rc = eng_error_set(err, ENG_ENOTFOUND, "no attachment %s", id);
	PQclear(r);
	return rc;
}

static bool hex64(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* Fetches chunk seq of blob sha256 from the database (binary result: no escaping). */
static int chunk_db(struct eng_store *s, const char *sha256, long seq, eng_doc_sink sink,
                    void *payload, struct eng_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%ld", seq);
	const char *p[] = {sha256, n};
	PGresult *r = run(s, "blob_chunk_get", "SELECT data FROM blob_chunk WHERE sha256 = $1 AND seq = $2",
	                  2, p, NULL, NULL, 1, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1)
		rc = eng_error_set(err, ENG_EINTERNAL, "blob %s: chunk %ld is missing", sha256, seq);
	else if (sink(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), payload) != 0)
		rc = eng_error_set(err, ENG_EINTERNAL, "blob %s: the reader stopped at chunk %ld", sha256, seq);
	PQclear(r);
	return rc;
}

/* Reads chunk seq of a blob kept in the folder with pread: one chunk in memory at a time. */
static int chunk_folder(const char *folder, const struct eng_blob *b, long seq, eng_doc_sink sink,
                        void *payload, struct eng_error *err)
{
	if (!folder)
		return eng_error_set(err, ENG_EUNAVAILABLE, "blob %s is kept in the documents folder, and "
		                     "this server has none (set TRAMIT_DOCUMENTS_DIR)", b->sha256);
	char path[PATH_MAX];
	int np = snprintf(path, sizeof(path), "%s/%.2s/%s", folder, b->sha256, b->sha256);
	if (np < 0 || (size_t)np >= sizeof(path))
		return eng_error_set(err, ENG_EINVALID, "documents folder: %.80s... is too long a path", folder);
	long long off = (long long)seq * ENG_DOC_CHUNK;
	size_t want = b->size - off < ENG_DOC_CHUNK ? (size_t)(b->size - off) : ENG_DOC_CHUNK;
	char *buf = malloc(want ? want : 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	while (buf && fd >= 0 && got < want) {
		ssize_t k = pread(fd, buf + got, want - got, (off_t)(off + (long long)got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	int rc = !buf ? eng_error_set(err, ENG_EINTERNAL, "out of memory for a chunk")
	         : fd < 0 ? folder_fail(err, "open", path)
	         : got < want ? eng_error_set(err, ENG_EINTERNAL, "blob %s: %s ends before byte %lld; the "
	                                      "repository is damaged", b->sha256, path, off + (long long)want)
	         : sink(buf, want, payload) != 0 ? eng_error_set(err, ENG_EINTERNAL, "blob %s: the reader "
	                                                         "stopped at chunk %ld", b->sha256, seq)
	         : 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int eng_docstore_chunk(struct eng_store *s, const char *folder, const struct eng_blob *b,
                       long seq, eng_doc_sink sink, void *payload, struct eng_error *err)
{
	if (seq < 0 || seq >= b->chunks)
		return eng_error_set(err, ENG_EINVALID, "blob %s has %ld chunks, not %ld", b->sha256, b->chunks, seq + 1);
	if (b->in_folder)
		return chunk_folder(folder, b, seq, sink, payload, err);
	int rc = eng_store__ensure(s, err);
	return rc ? rc : chunk_db(s, b->sha256, seq, sink, payload, err);
}

/* Hashes what passes on its way to the caller's sink. */
struct hashing {
	EVP_MD_CTX *md;
	long long total;
	eng_doc_sink sink;
	void *payload;
};

static int hash_sink(const void *data, size_t len, void *payload)
{
	struct hashing *h = payload;
	h->total += (long long)len;
	EVP_DigestUpdate(h->md, data, len);
	return h->sink(data, len, h->payload);
}

int eng_docstore_blob(struct eng_store *s, const char *sha256, struct eng_blob *out,
                      struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!hex64(sha256))
		return eng_error_set(err, ENG_EINVALID, "a blob is named by 64 lower-case hex digits, not %.70s", sha256);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {sha256};
	PGresult *r = run(s, "blob_get", "SELECT chunks, size, backend = 'folder' FROM blob WHERE sha256 = $1",
	                  1, p, NULL, NULL, 0, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 1) {
		snprintf(out->sha256, sizeof(out->sha256), "%s", sha256);
		out->chunks = atol(PQgetvalue(r, 0, 0));
		out->size = atoll(PQgetvalue(r, 0, 1));
		out->in_folder = PQgetvalue(r, 0, 2)[0] == 't';
	} else {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no blob %s", sha256);
	}
	PQclear(r);
	return rc;
}

int eng_docstore_read(struct eng_store *s, const char *folder, const char *sha256,
                      eng_doc_sink sink, void *payload, struct eng_error *err)
{
	struct eng_blob b;
	int rc = eng_docstore_blob(s, sha256, &b, err);
	if (rc)
		return rc;
	struct hashing h = {EVP_MD_CTX_new(), 0, sink, payload};
	if (!h.md || EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) != 1)
		rc = eng_error_set(err, ENG_EINTERNAL, "cannot start a SHA-256 digest");
	for (long i = 0; !rc && i < b.chunks; i++)
		rc = eng_docstore_chunk(s, folder, &b, i, hash_sink, &h, err);
	unsigned char digest[32];
	unsigned int dn = 0;
	char hex[65];
	if (!rc && (EVP_DigestFinal_ex(h.md, digest, &dn) != 1 || dn != 32))
		rc = eng_error_set(err, ENG_EINTERNAL, "cannot finish a SHA-256 digest");
	for (unsigned i = 0; !rc && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	if (!rc && (h.total != b.size || strcmp(hex, sha256) != 0))
		rc = eng_error_set(err, ENG_EINTERNAL, "blob %s: its %lld stored bytes hash to %s; the "
		                   "repository is damaged", sha256, h.total, hex);
	EVP_MD_CTX_free(h.md);
	return rc;
}
