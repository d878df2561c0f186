/* The built-in RFC 3161 TSA: OpenSSL's TS_RESP_CTX with a configured key and certificate, a
 * configurable policy, SHA-256/384/512 imprints, ESS signing-certificate-v2 and random 128-bit
 * serial numbers. Invariant: the certificate is checked for a critical timeStamping EKU at open,
 * so every token it issues is acceptable to RFC 3161 verifiers. */
#include "tsa.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "connectors/sign/sign_internal.h"

#define DEFAULT_POLICY "1.3.6.1.4.1.61468.1.1"

struct conn_tsa_server {
	pthread_mutex_t lock;  /* TS_RESP_CTX keeps per-request state */
	TS_RESP_CTX *ctx;
	struct conn_sign_signer *signer;
};

/* Serial numbers: 127 random bits, so two tokens never share one without a counter to keep. */
static ASN1_INTEGER *random_serial(TS_RESP_CTX *ctx, void *payload)
{
	unsigned char r[16];
	ASN1_INTEGER *serial = NULL;
	if (RAND_bytes(r, sizeof(r)) == 1) {
		r[0] &= 0x7f; /* a positive INTEGER */
		BIGNUM *bn = BN_bin2bn(r, sizeof(r), NULL);
		serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
		BN_free(bn);
	}
	if (!serial) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "cannot draw a serial number");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
	}
	return serial;
}

static int ctx_configure(struct conn_tsa_server *s, const char *policy_oid, const char *cert_path,
                         struct conn_sign_error *err)
{
	ASN1_OBJECT *policy = OBJ_txt2obj(policy_oid ? policy_oid : DEFAULT_POLICY, 1);
	int rc = 0;
	if (!policy)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "TSA policy '%s' is not an OID", policy_oid);
	else if (TS_RESP_CTX_set_signer_cert(s->ctx, s->signer->cert) != 1)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID,
		                     "%s: a TSA certificate needs a critical extendedKeyUsage of timeStamping only",
		                     cert_path);
	else if (TS_RESP_CTX_set_signer_key(s->ctx, s->signer->key) != 1 || TS_RESP_CTX_set_def_policy(s->ctx, policy) != 1 ||
	         TS_RESP_CTX_set_signer_digest(s->ctx, EVP_sha256()) != 1 ||
	         TS_RESP_CTX_set_ess_cert_id_digest(s->ctx, EVP_sha256()) != 1 ||
	         TS_RESP_CTX_add_md(s->ctx, EVP_sha256()) != 1 || TS_RESP_CTX_add_md(s->ctx, EVP_sha384()) != 1 ||
	         TS_RESP_CTX_add_md(s->ctx, EVP_sha512()) != 1 || TS_RESP_CTX_set_certs(s->ctx, s->signer->chain) != 1 ||
	         TS_RESP_CTX_set_accuracy(s->ctx, 1, 0, 0) != 1)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot configure the built-in TSA");
	ASN1_OBJECT_free(policy);
	TS_RESP_CTX_set_serial_cb(s->ctx, random_serial, NULL);
	return rc;
}

int conn_tsa_server_open(struct conn_tsa_server **out, const char *key_path, const char *cert_path,
                         const char *policy_oid, struct conn_sign_error *err)
{
	*out = NULL;
	struct conn_tsa_server *s = calloc(1, sizeof(*s));
	if (!s)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	int rc = conn_sign_signer_load(&s->signer, key_path, cert_path, err);
	if (rc == 0 && !(s->ctx = TS_RESP_CTX_new()))
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	if (rc == 0)
		rc = ctx_configure(s, policy_oid, cert_path, err);
	ERR_clear_error();
	if (rc != 0) {
		conn_tsa_server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void conn_tsa_server_free(struct conn_tsa_server *server)
{
	if (!server)
		return;
	TS_RESP_CTX_free(server->ctx);
	conn_sign_signer_free(server->signer);
	pthread_mutex_destroy(&server->lock);
	free(server);
}

int conn_tsa_server_respond(unsigned char **out, size_t *out_len, struct conn_tsa_server *server,
                            const unsigned char *req, size_t req_len, struct conn_sign_error *err)
{
	*out = NULL;
	BIO *in = BIO_new_mem_buf(req, (int)req_len);
	pthread_mutex_lock(&server->lock);
	TS_RESP *resp = in ? TS_RESP_create_response(server->ctx, in) : NULL;
	pthread_mutex_unlock(&server->lock);
	unsigned char *der = NULL;
	int len = resp ? i2d_TS_RESP(resp, &der) : -1;
	int rc = 0;
	if (len <= 0 || !(*out = malloc((size_t)len)))
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "the built-in TSA could not build a reply");
	else {
		memcpy(*out, der, (size_t)len);
		*out_len = (size_t)len;
	}
	OPENSSL_free(der);
	TS_RESP_free(resp);
	BIO_free(in);
	ERR_clear_error();
	return rc;
}
