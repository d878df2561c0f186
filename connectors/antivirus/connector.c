/* The antivirus as a connector: its JSON section becomes a struct conn_av_config, and the
 * opened engine is the connector's state, which the web layer finds in the set to scan uploads.
 * It performs no outbox effects: a scan is part of accepting an upload, not a later effect. */
#include <stdio.h>

#include "antivirus.h"
#include "connectors/config.h"

static const char *const keys[] = {
	"database_dir", "max_file_size", "max_scan_size", "max_recursion", "max_files",
	"max_scan_time_ms", NULL,
};

static int read_config(struct conn_av_config *cfg, const json_t *obj, struct conn_error *err)
{
	int rc = conn__cfg_known(obj, keys, err);
	if (!rc)
		rc = conn__cfg_string(&cfg->database_dir, obj, "database_dir", false, err);
	if (!rc)
		rc = conn__cfg_int(&cfg->max_file_size, obj, "max_file_size", 1, 1LL << 32, err);
	if (!rc)
		rc = conn__cfg_int(&cfg->max_scan_size, obj, "max_scan_size", 1, 1LL << 34, err);
	if (!rc)
		rc = conn__cfg_int(&cfg->max_recursion, obj, "max_recursion", 1, 64, err);
	if (!rc)
		rc = conn__cfg_int(&cfg->max_files, obj, "max_files", 1, 1000000, err);
	if (!rc)
		rc = conn__cfg_int(&cfg->max_scan_time_ms, obj, "max_scan_time_ms", 100, 600000, err);
	return rc;
}

/* Only opened when configured: without a section every upload is refused as unscanned, which
 * is the fail-closed answer for an entity that forgot to set the antivirus up. */
static int av_conn_open(void **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json)
		return conn__errorf(err, CONN_ENOTCONFIGURED, "not configured");
	json_t *obj = NULL;
	struct conn_av_config cfg = {0};
	int rc = conn__cfg_parse(&obj, config_json, err);
	if (!rc)
		rc = read_config(&cfg, obj, err);
	struct conn_av *av = NULL;
	if (!rc)
		rc = conn_av_open(&av, &cfg, err);
	json_decref(obj); /* cfg's strings were copied by conn_av_open */
	*out = av;
	return rc;
}

static void av_conn_close(void *state)
{
	conn_av_close(state);
}

static const char *av_conn_describe(void)
{
	return "scans every upload with libclamav before it is accepted; fails closed (an error,\n"
	       "a timeout, a limit exceeded, an encrypted archive or a missing database means not\n"
	       "clean). The engine is loaded once at start-up and shared by all threads.\n"
	       "configuration (\"antivirus\": {...}); uploads are refused when it is absent:\n"
	       "  database_dir      string   ClamAV database folder (default: the system's)\n"
	       "  max_file_size     integer  bytes per file or archive member (default 26214400)\n"
	       "  max_scan_size     integer  bytes scanned in total per upload (default 104857600)\n"
	       "  max_recursion     integer  archive nesting depth, 1..64 (default 8)\n"
	       "  max_files         integer  files inside archives (default 1000)\n"
	       "  max_scan_time_ms  integer  time for one scan, 100..600000 (default 30000)\n";
}

static int av_conn_health(void *state, char *buf, size_t len)
{
	const struct conn_av *av = state;
	unsigned n = conn_av_signatures(av);
	snprintf(buf, len, "{\"status\": \"%s\", \"signatures\": %u}", n ? "ok" : "no signatures", n);
	return n ? 0 : -1;
}

const struct conn_type conn_antivirus_type = {
	.version = CONN_INTERFACE_VERSION,
	.name = "antivirus",
	.capabilities = CONN_CAP_SCAN | CONN_CAP_HEALTH,
	.effect_kinds = NULL,
	.open = av_conn_open,
	.perform = NULL,
	.close = av_conn_close,
	.describe = av_conn_describe,
	.health = av_conn_health,
};
