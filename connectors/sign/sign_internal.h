/* Internals shared by the XAdES, CAdES and timestamp code: the OpenSSL objects behind the
 * opaque types, certificate-chain checking with a precise reason, and small helpers.
 * Only files under connectors/sign and connectors/tsa include this. */
#ifndef CONN_SIGN_INTERNAL_H
#define CONN_SIGN_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sign.h"

struct conn_sign_signer {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;  /* further certificates of the PEM file, possibly empty */
};

struct conn_sign_trust {
	X509_STORE *store;
};

/* Fills err (printf-style) and returns code. */
int conn_sign__fail(struct conn_sign_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checks that cert chains up to the trust store now, for purpose (an X509_PURPOSE_* value, or
 * 0 for any), using untrusted (may be NULL) as intermediates. Also refuses RSA keys under 2048
 * bits. role names the certificate in messages ("signer", "TSA"). Returns 0 or
 * CONN_SIGN_EINVALID with the reason (expired, untrusted, wrong purpose, ...). */
int conn_sign__chain_check(const struct conn_sign_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
                           int purpose, const char *role, struct conn_sign_error *err);

/* Writes the subject (RFC 2253) and the NIF of its serialNumber, if any, into out. */
void conn_sign__report_signer(struct conn_sign_report *out, X509 *cert);

/* "YYYY-MM-DDTHH:MM:SSZ" of an ASN1_TIME or GENERALIZEDTIME; "" when it cannot be read. */
void conn_sign__time_format(char out[32], const ASN1_TIME *t);

/* Whether a digest (NID) is SHA-256 or stronger. */
int conn_sign__digest_strong(int nid);

/* Base64 without line breaks into a malloc'd string (NULL on allocation failure); decoding
 * returns the length or -1 if s is not base64 (whitespace is skipped). */
char *conn_sign__b64_encode(const unsigned char *data, size_t len);
long conn_sign__b64_decode(unsigned char **out, const char *s);

/* A policy option checked for use: the dotted OID and the 32-byte SHA-256 of the document. */
struct conn_sign__policy {
	char oid[128];
	unsigned char hash[32];
	const char *uri;  /* borrowed, may be NULL */
};
/* Accepts "2.16.724.1.3.1.1.2.1.9" or "urn:oid:2.16..." and a base64 SHA-256; returns 0 or
 * CONN_SIGN_EINVALID naming the bad value. */
int conn_sign__policy_check(struct conn_sign__policy *out, const struct conn_sign_policy *in,
                            struct conn_sign_error *err);

/* Initialises libxml2, xmlsec and its OpenSSL back end once; returns 0 or CONN_SIGN_EFAIL. */
int conn_sign__xmlsec_init(struct conn_sign_error *err);

#endif
