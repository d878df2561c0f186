/* Keys, certificates and trust: loading the signer's PEM files and the trust store, checking a
 * certificate chain with a reason a person can act on, and reading the signer's NIF.
 * Invariant: a certificate passes conn_sign__chain_check only if OpenSSL built a chain to a
 * trusted CA that is valid now and the key is not weak. */
#include "sign_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "engine/core/validate.h"

int conn_sign__fail(struct conn_sign_error *err, int code, const char *fmt, ...)
{
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static STACK_OF(X509) *certs_read(const char *path)
{
	BIO *in = BIO_new_file(path, "r");
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *x;
	while (in && certs && (x = PEM_read_bio_X509(in, NULL, NULL, NULL)))
		if (!sk_X509_push(certs, x))
			X509_free(x);
	ERR_clear_error(); /* the end of the file reads as an error */
	BIO_free(in);
	if (certs && sk_X509_num(certs) == 0) {
		sk_X509_free(certs);
		return NULL;
	}
	return certs;
}

int conn_sign_signer_load(struct conn_sign_signer **out, const char *key_path, const char *cert_path,
                          struct conn_sign_error *err)
{
	struct conn_sign_signer *s = calloc(1, sizeof(*s));
	int rc = CONN_SIGN_EFAIL;
	if (!s)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	BIO *in = BIO_new_file(key_path, "r");
	s->key = in ? PEM_read_bio_PrivateKey(in, NULL, NULL, NULL) : NULL;
	BIO_free(in);
	if (!s->key) {
		conn_sign__fail(err, rc, "%s: cannot read a PEM private key (unencrypted)", key_path);
		goto done;
	}
	s->chain = certs_read(cert_path);
	if (!s->chain) {
		conn_sign__fail(err, rc, "%s: cannot read a PEM certificate", cert_path);
		goto done;
	}
	s->cert = sk_X509_shift(s->chain);
	if (X509_check_private_key(s->cert, s->key) != 1) {
		conn_sign__fail(err, rc, "%s does not match the key in %s", cert_path, key_path);
		goto done;
	}
	rc = 0;
done:
	ERR_clear_error();
	if (rc != 0) {
		conn_sign_signer_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void conn_sign_signer_free(struct conn_sign_signer *signer)
{
	if (!signer)
		return;
	EVP_PKEY_free(signer->key);
	X509_free(signer->cert);
	sk_X509_pop_free(signer->chain, X509_free);
	free(signer);
}

int conn_sign_trust_load(struct conn_sign_trust **out, const char *ca_path, struct conn_sign_error *err)
{
	*out = NULL;
	STACK_OF(X509) *certs = certs_read(ca_path);
	if (!certs)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "%s: no PEM certificate in the trust store", ca_path);
	struct conn_sign_trust *t = calloc(1, sizeof(*t));
	if (t)
		t->store = X509_STORE_new();
	for (int i = 0; t && t->store && i < sk_X509_num(certs); i++)
		X509_STORE_add_cert(t->store, sk_X509_value(certs, i));
	sk_X509_pop_free(certs, X509_free);
	if (!t || !t->store) {
		conn_sign_trust_free(t);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	}
	*out = t;
	return 0;
}

void conn_sign_trust_free(struct conn_sign_trust *trust)
{
	if (!trust)
		return;
	X509_STORE_free(trust->store);
	free(trust);
}

static void name_of(char *out, size_t size, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	out[0] = '\0';
	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int n = BIO_read(b, out, (int)size - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

static int key_check(X509 *cert, const char *role, struct conn_sign_error *err)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	if (!pk)
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the %s certificate has an unreadable key", role);
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) < 2048)
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "weak key: the %s certificate has a %d-bit RSA key, 2048 or more required",
		                       role, EVP_PKEY_get_bits(pk));
	return 0;
}

static int chain_reason(X509_STORE_CTX *ctx, const char *role, struct conn_sign_error *err)
{
	int e = X509_STORE_CTX_get_error(ctx);
	X509 *at = X509_STORE_CTX_get_current_cert(ctx);
	char subject[256] = "", when[32] = "";
	if (at)
		name_of(subject, sizeof(subject), X509_get_subject_name(at));
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		conn_sign__time_format(when, X509_get0_notAfter(at));
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "expired certificate: the %s chain's '%s' expired on %s",
		                       role, subject, when);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		conn_sign__time_format(when, X509_get0_notBefore(at));
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "certificate not yet valid: the %s chain's '%s' is valid from %s", role, subject, when);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "untrusted certificate: the %s chain of '%s' does not lead to a trusted CA",
		                       role, subject);
	case X509_V_ERR_INVALID_PURPOSE:
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "wrong certificate purpose: '%s' may not act as %s",
		                       subject, role);
	default:
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the %s certificate chain is not valid at '%s': %s",
		                       role, subject, X509_verify_cert_error_string(e));
	}
}

int conn_sign__chain_check(const struct conn_sign_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
                           int purpose, const char *role, struct conn_sign_error *err)
{
	int rc = key_check(cert, role, err);
	if (rc != 0)
		return rc;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, trust->store, cert, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory checking the %s certificate", role);
	}
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	rc = X509_verify_cert(ctx) == 1 ? 0 : chain_reason(ctx, role, err);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* The NIF in a serialNumber: ETSI EN 319 412-1 semantics ("IDCES-12345678Z", "VATES-B1234567")
 * or the bare number as older Spanish certificates carry it. */
static void nif_of(char out[16], const char *serial)
{
	const char *v = serial;
	if (strlen(v) > 6 && v[5] == '-' && strncmp(v + 3, "ES", 2) == 0)
		v += 6;
	out[0] = '\0';
	if (strlen(v) < 16 && eng_nif_valid(v))
		strcpy(out, v);
}

void conn_sign__report_signer(struct conn_sign_report *out, X509 *cert)
{
	const X509_NAME *subject = X509_get_subject_name(cert);
	name_of(out->subject, sizeof(out->subject), subject);
	out->nif[0] = '\0';
	int i = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
	if (i < 0)
		return;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
	char serial[64];
	int n = ASN1_STRING_length(s);
	if (n <= 0 || n >= (int)sizeof(serial))
		return;
	memcpy(serial, ASN1_STRING_get0_data(s), (size_t)n);
	serial[n] = '\0';
	nif_of(out->nif, serial);
}

void conn_sign__time_format(char out[32], const ASN1_TIME *t)
{
	struct tm tm;
	out[0] = '\0';
	if (t && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int conn_sign__digest_strong(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 || nid == NID_sha3_256 ||
	       nid == NID_sha3_384 || nid == NID_sha3_512;
}

char *conn_sign__b64_encode(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

long conn_sign__b64_decode(unsigned char **out, const char *s)
{
	*out = NULL;
	size_t n = strlen(s);
	char *clean = malloc(n + 1);
	unsigned char *bytes = malloc(n / 4 * 3 + 3);
	long len = -1;
	size_t c = 0;
	if (!clean || !bytes)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			clean[c++] = s[i];
	clean[c] = '\0';
	if (c % 4 != 0)
		goto done;
	int got = EVP_DecodeBlock(bytes, (unsigned char *)clean, (int)c);
	if (got < 0)
		goto done;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	len = got - (c > 0 && clean[c - 1] == '=') - (c > 1 && clean[c - 2] == '=');
	*out = bytes;
	bytes = NULL;
done:
	free(clean);
	free(bytes);
	return len;
}

void conn_sign_report_clear(struct conn_sign_report *report)
{
	if (!report)
		return;
	free(report->content);
	memset(report, 0, sizeof(*report));
}

int conn_sign__policy_check(struct conn_sign__policy *out, const struct conn_sign_policy *in,
                            struct conn_sign_error *err)
{
	const char *oid = in->oid ? in->oid : "";
	if (strncmp(oid, "urn:oid:", 8) == 0)
		oid += 8;
	size_t n = strlen(oid);
	if (n == 0 || n >= sizeof(out->oid) || strspn(oid, "0123456789.") != n || oid[0] == '.' ||
	    oid[n - 1] == '.' || strstr(oid, ".."))
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "policy OID '%s' is not a dotted number such as 2.16.724.1.3.1.1.2.1.9",
		                       in->oid ? in->oid : "");
	unsigned char *hash;
	long len = conn_sign__b64_decode(&hash, in->hash_b64 ? in->hash_b64 : "");
	if (len != 32) {
		free(hash);
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "policy hash must be the base64 SHA-256 of the policy document (32 bytes), got %s",
		                       len < 0 ? "invalid base64" : "another length");
	}
	memcpy(out->hash, hash, 32);
	free(hash);
	memcpy(out->oid, oid, n + 1);
	out->uri = in->uri;
	return 0;
}
