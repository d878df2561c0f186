/* Time-stamped digests of the hash chains (migration 0016). A digest anchors, at the time a
 * TSA vouches for, the head of every chain that grew since the previous digest; digests chain
 * to one another by their own hash. Invariant: digest = SHA-256 of prev_digest, "\n" and the
 * heads text, and the token is a valid RFC 3161 token over the digest's 64 hex characters.
 *
 * The engine does not talk to a TSA: callers pass the stamping and checking functions
 * (connectors/tsa), so the runtime keeps no dependency on connectors. */
#ifndef ENG_AUDIT_DIGEST_H
#define ENG_AUDIT_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* Stamps digest (64 hex characters): returns 0 and a malloc'd DER token with the token's time
 * and TSA subject, or a negative ENG_E* code with err filled. */
typedef int (*eng_digest_stamp_fn)(const char *digest, unsigned char **token, size_t *len,
                                   char time[32], char tsa[512], void *payload,
                                   struct eng_error *err);
/* Checks a stored token over digest: 0, or non-zero with the reason in why (len bytes). */
typedef int (*eng_digest_check_fn)(const char *digest, const unsigned char *token, size_t len,
                                   char *why, size_t why_len, void *payload);

struct eng_digest_report {
	int64_t id;         /* the digest made (0: none was needed) */
	int64_t heads;      /* chains anchored by it */
	char digest[65];
	char stamped_at[32];
};

/* Makes the next digest: the heads that changed since the last one, stamped. Two servers
 * making one at once: one waits for the other and then finds nothing new, or chains after it.
 * With no chain changed, makes none (report->id 0). Returns 0 or a negative ENG_E* code; on
 * failure nothing is stored. */
int eng_audit_digest_make(struct eng_store *s, eng_digest_stamp_fn stamp, void *payload,
                          struct eng_digest_report *report, struct eng_error *err);

struct eng_digest_verify_report {
	int64_t digests, heads, broken;
};

/* Walks every digest in order and writes one line per problem to out ("digest 3 (made
 * 2026-11-27 ...): ..."): a broken link to the previous digest, a digest that does not match
 * its heads, a token that check refuses, a head whose event is gone or has another hash.
 * Returns 0 when the walk completed (see report->broken) or a negative code. */
int eng_audit_digest_verify(struct eng_store *s, eng_digest_check_fn check, void *payload,
                            FILE *out, struct eng_digest_verify_report *report,
                            struct eng_error *err);

/* Whether a digest was made since the start of today in Europe/Madrid: 1 yes, 0 no, or a
 * negative code. For a daily job. */
int eng_audit_digest_made_today(struct eng_store *s, struct eng_error *err);

#endif
