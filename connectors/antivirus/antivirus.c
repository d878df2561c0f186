/* The upload scanner over libclamav: cl_init once per process, one compiled engine per
 * configuration shared by all threads, and every scan judged fail-closed (see antivirus.h).
 * Limits are alerts, not silent skips: CL_SCAN_HEURISTIC_EXCEEDS_MAX turns "too big to look
 * at" into a verdict, and encrypted archives are alerts too. */
#include "antivirus.h"

#include <clamav.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/config.h"

struct conn_av {
	struct cl_engine *engine;
	struct conn_av_config cfg; /* database_dir points into dir */
	char dir[1024];
	unsigned signatures;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_rc = CL_EARG;

/* libclamav prints to stderr by default; keep its errors (an operator needs them) and drop the
 * warnings and chatter it emits while loading and scanning. */
static void on_clamav_message(enum cl_msg severity, const char *fullmsg, const char *msg,
                              void *context)
{
	if (severity >= CL_MSG_ERROR)
		fprintf(stderr, "tramit: antivirus: %s", msg ? msg : fullmsg);
}

static void init_clamav(void)
{
	cl_set_clcb_msg(on_clamav_message);
	init_rc = cl_init(CL_INIT_DEFAULT);
}

const char *conn_av_reason_code(enum conn_av_reason reason)
{
	switch (reason) {
	case CONN_AV_REASON_NONE: return "clean";
	case CONN_AV_REASON_SIGNATURE: return "signature";
	case CONN_AV_REASON_ENCRYPTED: return "encrypted";
	case CONN_AV_REASON_LIMIT: return "limit";
	case CONN_AV_REASON_TIMEOUT: return "timeout";
	case CONN_AV_REASON_NO_DATABASE: return "no_database";
	case CONN_AV_REASON_UNAVAILABLE: return "unavailable";
	case CONN_AV_REASON_FAILED: return "scan_failed";
	}
	return "scan_failed";
}

static void defaults(struct conn_av_config *c)
{
	if (!c->max_file_size)
		c->max_file_size = 25LL << 20;
	if (!c->max_scan_size)
		c->max_scan_size = 100LL << 20;
	if (!c->max_recursion)
		c->max_recursion = 8;
	if (!c->max_files)
		c->max_files = 1000;
	if (!c->max_scan_time_ms)
		c->max_scan_time_ms = 30000;
}

static int set_limits(struct cl_engine *engine, const struct conn_av_config *c,
                      struct conn_error *err)
{
	const struct { enum cl_engine_field field; long long value; const char *key; } limits[] = {
		{CL_ENGINE_MAX_FILESIZE, c->max_file_size, "max_file_size"},
		{CL_ENGINE_MAX_SCANSIZE, c->max_scan_size, "max_scan_size"},
		{CL_ENGINE_MAX_RECURSION, c->max_recursion, "max_recursion"},
		{CL_ENGINE_MAX_FILES, c->max_files, "max_files"},
		{CL_ENGINE_MAX_SCANTIME, c->max_scan_time_ms, "max_scan_time_ms"},
	};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		cl_error_t rc = cl_engine_set_num(engine, limits[i].field, limits[i].value);
		if (rc != CL_SUCCESS)
			return conn__errorf(err, CONN_EINVALID, "%s: libclamav refused %lld: %s",
			                    limits[i].key, limits[i].value, cl_strerror(rc));
	}
	return 0;
}

/* A missing folder and a folder without signatures are told apart: the first is usually a
 * wrong path, the second a database that was never downloaded. */
static int load_signatures(struct conn_av *av, struct conn_error *err)
{
	struct stat st;
	const char *problem = stat(av->dir, &st) != 0 ? strerror(errno)
	                      : !S_ISDIR(st.st_mode) ? "not a folder" : NULL;
	if (problem)
		return conn__errorf(err, CONN_EUNAVAILABLE,
		                    "database_dir: %s is not usable (%s); install the ClamAV database "
		                    "(freshclam) or point database_dir at one; uploads are refused until "
		                    "then", av->dir, problem);
	cl_error_t rc = cl_load(av->dir, av->engine, &av->signatures, CL_DB_STDOPT);
	if (rc != CL_SUCCESS)
		return conn__errorf(err, CONN_EUNAVAILABLE,
		                    "database_dir: cannot load signatures from %s: %s; uploads are "
		                    "refused until it holds a valid ClamAV database", av->dir,
		                    cl_strerror(rc));
	if (av->signatures == 0)
		return conn__errorf(err, CONN_EUNAVAILABLE,
		                    "database_dir: %s holds no signatures; uploads are refused until "
		                    "it holds a ClamAV database", av->dir);
	rc = cl_engine_compile(av->engine);
	if (rc != CL_SUCCESS)
		return conn__errorf(err, CONN_EUNAVAILABLE, "database_dir: compiling %s: %s", av->dir,
		                    cl_strerror(rc));
	return 0;
}

int conn_av_open(struct conn_av **out, const struct conn_av_config *cfg, struct conn_error *err)
{
	*out = NULL;
	pthread_once(&init_once, init_clamav);
	if (init_rc != CL_SUCCESS)
		return conn__errorf(err, CONN_EUNAVAILABLE, "libclamav: initialisation failed: %s",
		                    cl_strerror(init_rc));
	struct conn_av *av = calloc(1, sizeof(*av));
	if (!av)
		return conn__errorf(err, CONN_ENOMEM, "out of memory");
	av->cfg = *cfg;
	defaults(&av->cfg);
	const char *dir = cfg->database_dir ? cfg->database_dir : cl_retdbdir();
	if (snprintf(av->dir, sizeof(av->dir), "%s", dir) >= (int)sizeof(av->dir)) {
		free(av);
		return conn__errorf(err, CONN_EINVALID, "database_dir: longer than %zu bytes",
		                    sizeof(av->dir) - 1);
	}
	av->cfg.database_dir = av->dir;
	int rc = CONN_ENOMEM;
	av->engine = cl_engine_new();
	if (!av->engine)
		conn__errorf(err, rc, "libclamav: cannot create an engine");
	else
		rc = set_limits(av->engine, &av->cfg, err);
	if (!rc)
		rc = load_signatures(av, err);
	if (rc) {
		conn_av_close(av);
		return rc;
	}
	*out = av;
	return 0;
}

void conn_av_close(struct conn_av *av)
{
	if (!av)
		return;
	if (av->engine)
		cl_engine_free(av->engine);
	free(av);
}

unsigned conn_av_signatures(const struct conn_av *av)
{
	return av ? av->signatures : 0;
}

static int refuse(struct conn_av_result *out, enum conn_av_verdict verdict,
                  enum conn_av_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(struct conn_av_result *out, enum conn_av_verdict verdict,
                  enum conn_av_reason reason, const char *fmt, ...)
{
	va_list ap;
	out->verdict = verdict;
	out->reason = reason;
	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An alert is a signature, or one of the heuristics that stand for "could not look inside". */
static int judge_alert(const char *virname, const char *name, struct conn_av_result *out)
{
	snprintf(out->signature, sizeof(out->signature), "%s", virname ? virname : "unknown");
	if (virname && starts_with(virname, "Heuristics.Encrypted"))
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_ENCRYPTED,
		              "%s is encrypted (%s) and cannot be scanned; ask for it unencrypted", name,
		              virname);
	if (virname && starts_with(virname, "Heuristics.Limits.Exceeded.MaxScanTime"))
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_TIMEOUT,
		              "scanning %s took longer than max_scan_time_ms (%s)", name, virname);
	if (virname && starts_with(virname, "Heuristics.Limits.Exceeded"))
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_LIMIT,
		              "%s exceeds a scan limit (%s); it cannot be checked whole", name, virname);
	return refuse(out, CONN_AV_INFECTED, CONN_AV_REASON_SIGNATURE, "%s is infected: %s", name,
	              out->signature);
}

static int judge_error(cl_error_t rc, const char *name, struct conn_av_result *out)
{
	switch (rc) {
	case CL_ETIMEOUT:
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_TIMEOUT,
		              "scanning %s took longer than max_scan_time_ms", name);
	case CL_EMAXREC:
	case CL_EMAXSIZE:
	case CL_EMAXFILES:
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_LIMIT,
		              "%s exceeds a scan limit: %s", name, cl_strerror(rc));
	default:
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_FAILED, "scanning %s failed: %s",
		              name, cl_strerror(rc));
	}
}

int conn_av_scan_buffer(const struct conn_av *av, const void *bytes, size_t len,
                        const char *name, struct conn_av_result *out)
{
	memset(out, 0, sizeof(*out));
	name = name && *name ? name : "the file";
	if (!av)
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_UNAVAILABLE,
		              "no antivirus engine is loaded (see the antivirus configuration); %s "
		              "was not scanned and is refused", name);
	if (av->signatures == 0)
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_NO_DATABASE,
		              "the antivirus engine has no signatures; %s is refused", name);
	/* libclamav would skip a top-level file over the limit without alerting on every path;
	 * decide it here so the verdict never depends on that. */
	if ((long long)len > av->cfg.max_file_size)
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_LIMIT,
		              "%s is %zu bytes, over max_file_size (%lld)", name, len,
		              av->cfg.max_file_size);
	cl_fmap_t *map = cl_fmap_open_memory(bytes, len);
	if (!map)
		return refuse(out, CONN_AV_ERROR, CONN_AV_REASON_FAILED,
		              "scanning %s failed: cannot map %zu bytes", name, len);
	struct cl_scan_options opts = {
		.general = CL_SCAN_GENERAL_HEURISTICS,
		.parse = ~0u,
		.heuristic = CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC |
		             CL_SCAN_HEURISTIC_EXCEEDS_MAX,
	};
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_error_t rc = cl_scanmap_callback(map, name, &virname, &scanned, av->engine, &opts, NULL);
	int result;
	if (rc == CL_CLEAN) {
		out->verdict = CONN_AV_CLEAN;
		out->reason = CONN_AV_REASON_NONE;
		snprintf(out->msg, sizeof(out->msg), "%s is clean", name);
		result = 0;
	} else if (rc == CL_VIRUS) {
		result = judge_alert(virname, name, out);
	} else {
		result = judge_error(rc, name, out);
	}
	cl_fmap_close(map);
	return result;
}
