/* RFC 3161 time stamps: a client that asks a TSA over HTTP (libcurl) or the built-in TSA
 * (OpenSSL TS) and checks the answer, and the verification of a stored token.
 * Invariant: conn_tsa_stamp returns a token only when the reply is "granted", carries our nonce
 * and the SHA-256 of our data, and its signature is valid. Errors use struct conn_sign_error
 * because tokens are checked against the same trust stores as signatures. Thread-safe; a
 * conn_tsa_server may answer from several threads at once. */
#ifndef CONN_TSA_H
#define CONN_TSA_H

#include <stddef.h>

#include "connectors/sign/sign.h"

/* The built-in TSA: signs requests with a key and a certificate whose extendedKeyUsage is
 * (critical) timeStamping. Serial numbers are random 128-bit values. */
struct conn_tsa_server;
/* policy_oid NULL means 1.3.6.1.4.1.61468.1.1 (an arbitrary default; configure your own). */
int conn_tsa_server_open(struct conn_tsa_server **out, const char *key_path, const char *cert_path,
                         const char *policy_oid, struct conn_sign_error *err);
void conn_tsa_server_free(struct conn_tsa_server *server);
/* Answers one DER TimeStampReq with a DER TimeStampResp (malloc'd, free()). Malformed or
 * unacceptable requests get a "rejection" reply, as RFC 3161 wants; returns CONN_SIGN_EFAIL only
 * when no reply at all could be built. */
int conn_tsa_server_respond(unsigned char **out, size_t *out_len, struct conn_tsa_server *server,
                            const unsigned char *req, size_t req_len, struct conn_sign_error *err);

/* Where to ask: exactly one of url (POSTed as application/timestamp-query) or server. */
struct conn_tsa_peer {
	const char *url;
	struct conn_tsa_server *server;
};

/* What a valid token says. */
struct conn_tsa_info {
	char time[32];      /* genTime, "YYYY-MM-DDTHH:MM:SSZ" */
	char policy[64];    /* TSA policy OID */
	char serial[80];    /* hexadecimal */
	char tsa[512];      /* the TSA certificate's subject */
};

/* Time-stamps the SHA-256 of data and returns the TimeStampToken (DER, malloc'd) in *token.
 * trust, when not NULL, must hold the TSA's CA; otherwise only the token's own signature is
 * checked here and the chain when the token is verified. Returns 0, CONN_SIGN_EINVALID when the
 * reply is refused (status, nonce, imprint, signature, chain) or CONN_SIGN_EFAIL when the TSA
 * could not be reached. */
int conn_tsa_stamp(unsigned char **token, size_t *token_len, const struct conn_tsa_peer *peer,
                   const unsigned char *data, size_t len, const struct conn_sign_trust *trust,
                   struct conn_tsa_info *info, struct conn_sign_error *err);

/* Verifies a DER TimeStampToken over data against trust. Returns 0 and fills out (may be NULL),
 * or CONN_SIGN_EINVALID with the reason. */
int conn_tsa_verify(struct conn_tsa_info *out, const unsigned char *token, size_t token_len,
                    const unsigned char *data, size_t len, const struct conn_sign_trust *trust,
                    struct conn_sign_error *err);

#endif
