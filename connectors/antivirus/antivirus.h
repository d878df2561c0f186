/* The upload scanner: libclamav with one engine loaded and compiled once, shared by every
 * thread. Invariant: it fails closed. Only a scan that libclamav completed within its limits,
 * over a database holding signatures, with no alert, is CLEAN; anything else (an error, a
 * timeout, a limit exceeded, an encrypted archive, no engine) is not.
 * Thread-safety: conn_av_scan_buffer may run on any number of threads at once with one
 * engine; open and close run on one thread. */
#ifndef CONN_ANTIVIRUS_H
#define CONN_ANTIVIRUS_H

#include <stddef.h>

#include "connectors/connector.h"

enum conn_av_verdict {
	CONN_AV_CLEAN,    /* scanned in full, nothing found */
	CONN_AV_INFECTED, /* a signature matched: signature names it */
	CONN_AV_ERROR,    /* could not be shown clean: reason says why; treat as not clean */
};

/* Stable reasons, for the web layer to pick the words it shows citizens. */
enum conn_av_reason {
	CONN_AV_REASON_NONE,        /* clean */
	CONN_AV_REASON_SIGNATURE,   /* "signature": malware found */
	CONN_AV_REASON_ENCRYPTED,   /* "encrypted": an encrypted archive or document, unscannable */
	CONN_AV_REASON_LIMIT,       /* "limit": too big, too deep or too many files to scan */
	CONN_AV_REASON_TIMEOUT,     /* "timeout": the scan took longer than allowed */
	CONN_AV_REASON_NO_DATABASE, /* "no_database": the engine has no signatures */
	CONN_AV_REASON_UNAVAILABLE, /* "unavailable": no engine is loaded (not configured, or failed) */
	CONN_AV_REASON_FAILED,      /* "scan_failed": libclamav reported an error */
};

struct conn_av_result {
	enum conn_av_verdict verdict;
	enum conn_av_reason reason;
	char signature[128]; /* CONN_AV_INFECTED (or the heuristic that fired): the name */
	char msg[256];       /* one line in English for operators and logs */
};

struct conn_av_config {
	const char *database_dir;  /* NULL: the system's (cl_retdbdir()) */
	long long max_file_size;   /* bytes, one file or archive member (default 25 MiB) */
	long long max_scan_size;   /* bytes extracted in total (default 100 MiB) */
	long long max_recursion;   /* archive nesting (default 8) */
	long long max_files;       /* files inside archives (default 1000) */
	long long max_scan_time_ms; /* one scan (default 30000) */
};

struct conn_av;

/* Loads the signatures of cfg->database_dir and compiles the engine. Returns 0, or
 * CONN_EUNAVAILABLE when the directory is missing, unreadable or holds no signatures, or
 * CONN_EINVALID for a value out of range, with err->msg naming the key ("database_dir: ...").
 * *out is NULL on failure. */
int conn_av_open(struct conn_av **out, const struct conn_av_config *cfg, struct conn_error *err);
/* Accepts NULL. */
void conn_av_close(struct conn_av *av);

/* Scans len bytes; name (may be NULL) is only used in messages. Always fills out. Returns 0
 * when CLEAN, -1 otherwise. av NULL refuses every scan (CONN_AV_REASON_UNAVAILABLE). */
int conn_av_scan_buffer(const struct conn_av *av, const void *bytes, size_t len,
                        const char *name, struct conn_av_result *out);

/* "signature", "encrypted", ... as listed above; "clean" for NONE. */
const char *conn_av_reason_code(enum conn_av_reason reason);

/* Number of signatures loaded. */
unsigned conn_av_signatures(const struct conn_av *av);

/* The connector ("antivirus", capability scan): its state is a struct conn_av *, found with
 * conn_set_state(set, "antivirus"). It performs no effects. */
extern const struct conn_type conn_antivirus_type;

#endif
