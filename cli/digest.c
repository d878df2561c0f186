/* Time-stamped digests of the hash chains, for `tramit audit digest`, `tramit audit verify
 * --trust` and the daily job of `tramit serve` (engine/runtime/audit_digest.h). The time
 * stamp comes from an RFC 3161 TSA at a URL or from the built-in TSA (connectors/tsa). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "connectors/tsa/tsa.h"
#include "engine/runtime/audit_digest.h"

static int stamp(const char *digest, unsigned char **token, size_t *len, char time[32],
                 char tsa[512], void *payload, struct eng_error *err)
{
	const struct cli_tsa *t = payload;
	struct conn_tsa_peer peer = {.url = t->url, .server = t->server};
	struct conn_tsa_info info;
	struct conn_sign_error serr = {0};
	if (conn_tsa_stamp(token, len, &peer, (const unsigned char *)digest, strlen(digest), t->trust,
	                   &info, &serr) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "time stamp: %s", serr.msg);
	snprintf(time, 32, "%s", info.time);
	snprintf(tsa, 512, "%s", info.tsa);
	return 0;
}

static int check(const char *digest, const unsigned char *token, size_t len, char *why,
                 size_t why_len, void *payload)
{
	struct conn_sign_error serr = {0};
	if (conn_tsa_verify(NULL, token, len, (const unsigned char *)digest, strlen(digest), payload,
	                    &serr) == 0)
		return 0;
	snprintf(why, why_len, "%s", serr.msg);
	return -1;
}

int cli_tsa_open(struct cli_tsa *t, const char *url, const char *key, const char *cert,
                 const char *trust)
{
	memset(t, 0, sizeof(*t));
	struct conn_sign_error err = {0};
	bool builtin = key || cert;
	if ((url != NULL) == builtin || (builtin && !(key && cert))) {
		fprintf(stderr, "tramit: a time-stamp authority is needed: --tsa-url URL, or --tsa-key KEY "
		                "and --tsa-cert CERT for the built-in one\n");
		return -1;
	}
	t->url = url;
	if ((key && conn_tsa_server_open(&t->server, key, cert, NULL, &err) != 0) ||
	    (trust && conn_sign_trust_load(&t->trust, trust, &err) != 0)) {
		fprintf(stderr, "tramit: time-stamp authority: %s\n", err.msg);
		cli_tsa_close(t);
		return -1;
	}
	return 0;
}

void cli_tsa_close(struct cli_tsa *t)
{
	conn_tsa_server_free(t->server);
	conn_sign_trust_free(t->trust);
	memset(t, 0, sizeof(*t));
}

int cli_digest_make(struct eng_store *store, struct cli_tsa *tsa)
{
	struct eng_digest_report rep;
	struct eng_error err = {0};
	if (eng_audit_digest_make(store, stamp, tsa, &rep, &err) != 0) {
		fprintf(stderr, "tramit: audit digest: %s (nothing was stored)\n", err.msg);
		return 1;
	}
	if (rep.id == 0)
		printf("no hash chain changed since the last digest: none made\n");
	else
		printf("digest %lld: %lld chain head%s anchored, %s, time-stamped %s\n", (long long)rep.id,
		       (long long)rep.heads, rep.heads == 1 ? "" : "s", rep.digest, rep.stamped_at);
	return 0;
}

int cli_digest_verify(struct eng_store *store, const char *trust_path)
{
	struct conn_sign_trust *trust = NULL;
	struct conn_sign_error serr = {0};
	if (trust_path && conn_sign_trust_load(&trust, trust_path, &serr) != 0) {
		fprintf(stderr, "tramit: audit: --trust: %s\n", serr.msg);
		return 1;
	}
	struct eng_digest_verify_report rep;
	struct eng_error err = {0};
	int rc = eng_audit_digest_verify(store, trust ? check : NULL, trust, stdout, &rep, &err);
	conn_sign_trust_free(trust);
	if (rc != 0) {
		fprintf(stderr, "tramit: audit: %s\n", err.msg);
		return 1;
	}
	if (rep.digests == 0) {
		printf("no time-stamped digest of the chains yet (tramit audit digest makes one; "
		       "tramit serve does daily with TRAMIT_TSA_URL)\n");
		return 0;
	}
	if (rep.broken) {
		printf("%lld problem%s in %lld time-stamped digest%s\n", (long long)rep.broken,
		       rep.broken == 1 ? "" : "s", (long long)rep.digests, rep.digests == 1 ? "" : "s");
		return 1;
	}
	printf("%lld time-stamped digest%s anchoring %lld chain head%s: every one verifies%s\n",
	       (long long)rep.digests, rep.digests == 1 ? "" : "s", (long long)rep.heads,
	       rep.heads == 1 ? "" : "s", trust ? "" : " (time stamps not checked: no --trust)");
	return 0;
}

/* The daily job of `tramit serve`: at start and then once an hour, a digest if none was made
 * today (a chore, cli/periodic.c). */
struct cli_digest_daily {
	struct cli_periodic *chore;
	struct cli_tsa tsa;
};

static void daily(struct eng_store *store, void *payload)
{
	struct cli_digest_daily *d = payload;
	struct eng_error err = {0};
	int made = eng_audit_digest_made_today(store, &err);
	if (made == 0)
		cli_digest_make(store, &d->tsa);
	else if (made < 0)
		fprintf(stderr, "tramit: daily digest: %s; trying again in an hour\n", err.msg);
}

int cli_digest_daily_start(struct cli_digest_daily **out, const char *conninfo)
{
	*out = NULL;
	const char *url = cli_env("TRAMIT_TSA_URL", NULL), *key = cli_env("TRAMIT_TSA_KEY", NULL);
	const char *cert = cli_env("TRAMIT_TSA_CERT", NULL);
	if (!url && !key && !cert)
		return 0; /* not configured: `tramit audit digest` from cron is the other way */
	struct cli_digest_daily *d = calloc(1, sizeof(*d));
	if (!d || cli_tsa_open(&d->tsa, url, key, cert, cli_env("TRAMIT_TSA_TRUST", NULL)) != 0) {
		free(d);
		return -1;
	}
	if (cli_periodic_start(&d->chore, "daily digest", 3600, true, conninfo, NULL, daily, d) != 0) {
		cli_tsa_close(&d->tsa);
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void cli_digest_daily_stop(struct cli_digest_daily *d)
{
	if (!d)
		return;
	cli_periodic_stop(d->chore);
	cli_tsa_close(&d->tsa);
	free(d);
}
