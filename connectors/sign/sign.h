/* Electronic signatures in the formats Spanish administrations accept (DOMAIN.md section 5):
 * XAdES-BES/EPES (enveloped, or internally detached as ENI TF02) with xmlsec, CAdES-BES
 * (detached or attached) with OpenSSL CMS, and their hardened verification against a trust store.
 * Invariant: a verification either fails with one precise reason or reports exactly what was
 * verified (signer, time, policy and the bytes that the signature covers). Thread-safe: every
 * object may be shared by threads once loaded; calls keep no global state besides the one-time
 * library initialisation. */
#ifndef CONN_SIGN_H
#define CONN_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum {
	CONN_SIGN_EFAIL = -1,    /* could not do the work: unreadable key, out of memory, TSA down */
	CONN_SIGN_EINVALID = -2, /* the signature, token or input is not valid; msg says why */
};

struct conn_sign_error {
	int code;
	char msg[256];
};

/* A signature policy (EPES): the OID ("2.16.724..." or "urn:oid:2.16.724..."), the base64
 * SHA-256 of the policy document and, optionally, where it is published. */
struct conn_sign_policy {
	const char *oid;
	const char *hash_b64;
	const char *uri;         /* may be NULL */
};

/* Loaded PEM key and certificate (plus any further certificates in the same file, taken as
 * the chain). Owned by the caller; free with conn_sign_signer_free. */
struct conn_sign_signer;
int conn_sign_signer_load(struct conn_sign_signer **out, const char *key_path, const char *cert_path,
                          struct conn_sign_error *err);
void conn_sign_signer_free(struct conn_sign_signer *signer);

/* A PEM bundle of trusted CA certificates. Owned by the caller; free with conn_sign_trust_free. */
struct conn_sign_trust;
int conn_sign_trust_load(struct conn_sign_trust **out, const char *ca_path, struct conn_sign_error *err);
void conn_sign_trust_free(struct conn_sign_trust *trust);

struct conn_sign_options {
	bool detached;                          /* XAdES: TF02 wrapper; CAdES: content not included */
	const struct conn_sign_policy *policy;  /* NULL: BES, no policy */
	const char *tsa_url;                    /* NULL: no signature timestamp (XAdES only) */
};

/* Signs data and returns the signature document in *out (malloc'd; free()). XAdES enveloped
 * needs data to be an XML document; detached XAdES wraps any bytes in base64. CAdES output is
 * DER. Returns 0, CONN_SIGN_EINVALID if the input cannot be signed as asked, CONN_SIGN_EFAIL. */
int conn_sign_xades(unsigned char **out, size_t *out_len, const struct conn_sign_signer *signer,
                    const unsigned char *data, size_t len, const struct conn_sign_options *opt,
                    struct conn_sign_error *err);
int conn_sign_cades(unsigned char **out, size_t *out_len, const struct conn_sign_signer *signer,
                    const unsigned char *data, size_t len, const struct conn_sign_options *opt,
                    struct conn_sign_error *err);

/* What a valid signature says. content is the signed content, taken from the very node (or
 * CMS content) that was verified: for enveloped XAdES the canonical bytes that were digested
 * (the document without its signature), for detached XAdES the decoded wrapped bytes, for
 * CAdES the attached or given content. Free with conn_sign_report_clear. */
struct conn_sign_report {
	char subject[512];       /* RFC 2253 form */
	char nif[16];            /* from the subject serialNumber, "" when absent or invalid */
	char signing_time[32];   /* claimed by the signer, "YYYY-MM-DDTHH:MM:SSZ", "" if absent */
	char policy[160];        /* policy OID, "" for BES */
	char timestamp[32];      /* time of a verified signature timestamp, "" if none */
	unsigned char *content;
	size_t content_len;
};
void conn_sign_report_clear(struct conn_sign_report *report);

/* Verifies a XAdES document (enveloped or TF02 detached). detached, when not NULL, must equal
 * the signed content. Refuses DTDs, foreign references, SHA-1/MD5, duplicate Ids and more than
 * one signature. Returns 0 and fills out, or CONN_SIGN_EINVALID with the reason. */
int conn_sign_xades_verify(struct conn_sign_report *out, const unsigned char *xml, size_t len,
                           const unsigned char *detached, size_t detached_len,
                           const struct conn_sign_trust *trust, struct conn_sign_error *err);
/* CAdES-T from CAdES-BES: returns in *out (malloc'd; free()) the DER signature der with token
 * (an RFC 3161 TimeStampToken, DER, over the SHA-256 of the signature value, as
 * conn_tsa_stamp gives it) added as its signature-time-stamp unsigned attribute (ETSI EN 319
 * 122-1). The signed part is untouched, so the signature still verifies. Returns 0, or
 * CONN_SIGN_EINVALID when der is not a one-signer CMS, already has a time stamp, or the token
 * does not cover its signature value; CONN_SIGN_EFAIL otherwise. */
int conn_sign_cades_add_timestamp(unsigned char **out, size_t *out_len, const unsigned char *der, size_t len,
                                  const unsigned char *token, size_t token_len, struct conn_sign_error *err);
/* Verifies a DER CAdES signature; detached is the content of a detached one (NULL otherwise). */
int conn_sign_cades_verify(struct conn_sign_report *out, const unsigned char *der, size_t len,
                           const unsigned char *detached, size_t detached_len,
                           const struct conn_sign_trust *trust, struct conn_sign_error *err);

#endif
