/* The RFC 3161 client and token verification. A request carries the SHA-256 of the data, a
 * fresh 64-bit nonce and certReq; the reply is refused unless it is granted, echoes the nonce and
 * the imprint, and its token is signed by a timeStamping certificate (chained to the trust store
 * when one is given). Invariant: conn_tsa_verify never trusts the token's own certificates as
 * anchors; only the trust store is. */
#include "tsa.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "connectors/sign/sign_internal.h"

enum { REPLY_MAX = 1 << 20 };

struct buffer {
	unsigned char *p;
	size_t n;
};

/* --- the token --- */

static void info_fill(struct conn_tsa_info *out, TS_TST_INFO *tst, X509 *signer)
{
	struct conn_sign_report who = {0};
	conn_sign__time_format(out->time, TS_TST_INFO_get_time(tst));
	OBJ_obj2txt(out->policy, sizeof(out->policy), TS_TST_INFO_get_policy_id(tst), 1);
	BIGNUM *bn = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(tst), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	conn_sign__report_signer(&who, signer);
	snprintf(out->tsa, sizeof(out->tsa), "%s", who.subject);
}

/* The imprint must be a strong hash of data. */
static int imprint_check(TS_TST_INFO *tst, const unsigned char *data, size_t len, struct conn_sign_error *err)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
	int nid = OBJ_obj2nid(TS_MSG_IMPRINT_get_algo(mi)->algorithm);
	const EVP_MD *md = EVP_get_digestbynid(nid);
	if (!conn_sign__digest_strong(nid) || !md)
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "weak digest algorithm %s in the timestamp imprint: SHA-256 or stronger required",
		                       nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	ASN1_OCTET_STRING *got = TS_MSG_IMPRINT_get_msg(mi);
	if (EVP_Digest(data, len, hash, &n, md, NULL) != 1)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot hash the data");
	if ((unsigned)ASN1_STRING_length(got) != n || memcmp(ASN1_STRING_get0_data(got), hash, n) != 0)
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the timestamp is for another hash than the data's");
	return 0;
}

/* The store the signature is checked with: the trust store, or, when there is none, the
 * signer's own certificate as a partial chain (only the signature is checked then). */
static X509_STORE *store_for(const struct conn_sign_trust *trust, X509 *signer)
{
	if (trust)
		return X509_STORE_up_ref(trust->store) ? trust->store : NULL;
	X509_STORE *s = X509_STORE_new();
	if (s && (X509_STORE_add_cert(s, signer) != 1 || X509_STORE_set_flags(s, X509_V_FLAG_PARTIAL_CHAIN) != 1)) {
		X509_STORE_free(s);
		s = NULL;
	}
	return s;
}

static int signature_check(PKCS7 *token, X509 *signer, const struct conn_sign_trust *trust,
                           struct conn_sign_error *err)
{
	TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	X509_STORE *store = ctx ? store_for(trust, signer) : NULL;
	if (!store) {
		TS_VERIFY_CTX_free(ctx);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	}
	TS_VERIFY_CTX_set_store(ctx, store); /* the context owns one reference */
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE);
	int ok = TS_RESP_verify_token(ctx, token);
	TS_VERIFY_CTX_free(ctx);
	ERR_clear_error();
	if (ok != 1)
		return conn_sign__fail(err, CONN_SIGN_EINVALID,
		                       "bad signature: the timestamp token's signature or signing-certificate is not valid");
	return 0;
}

/* Everything about a token except the nonce: imprint over data, signer and chain, signature. */
static int token_check(struct conn_tsa_info *out, PKCS7 *token, const unsigned char *data, size_t len,
                       const struct conn_sign_trust *trust, struct conn_sign_error *err)
{
	TS_TST_INFO *tst = PKCS7_to_TS_TST_INFO(token);
	STACK_OF(X509) *signers = tst ? PKCS7_get0_signers(token, NULL, 0) : NULL;
	X509 *signer = sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
	int rc;
	ERR_clear_error();
	if (!tst)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "not an RFC 3161 timestamp token");
	else if (!signer)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "the timestamp token does not carry its TSA's certificate");
	else if ((rc = imprint_check(tst, data, len, err)) == 0 &&
	         (!trust || (rc = conn_sign__chain_check(trust, signer, token->d.sign->cert,
	                                                 X509_PURPOSE_TIMESTAMP_SIGN, "TSA", err)) == 0) &&
	         (rc = signature_check(token, signer, trust, err)) == 0 && out)
		info_fill(out, tst, signer);
	sk_X509_free(signers);
	TS_TST_INFO_free(tst);
	return rc;
}

int conn_tsa_verify(struct conn_tsa_info *out, const unsigned char *token, size_t token_len,
                    const unsigned char *data, size_t len, const struct conn_sign_trust *trust,
                    struct conn_sign_error *err)
{
	const unsigned char *p = token;
	PKCS7 *t = d2i_PKCS7(NULL, &p, (long)token_len);
	int rc = t ? token_check(out, t, data, len, trust, err)
	           : conn_sign__fail(err, CONN_SIGN_EINVALID, "not a DER timestamp token (ContentInfo)");
	PKCS7_free(t);
	ERR_clear_error();
	return rc;
}

/* --- the request and its transport --- */

static TS_REQ *request_make(ASN1_INTEGER **nonce, const unsigned char *data, size_t len)
{
	unsigned char hash[32], r[8];
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	BIGNUM *bn = NULL;
	bool ok = req && mi && alg && EVP_Digest(data, len, hash, NULL, EVP_sha256(), NULL) == 1 &&
	          RAND_bytes(r, sizeof(r)) == 1 && (bn = BN_bin2bn(r, sizeof(r), NULL)) &&
	          (*nonce = BN_to_ASN1_INTEGER(bn, NULL)) && TS_REQ_set_version(req, 1) == 1;
	X509_ALGOR_set_md(alg, EVP_sha256());
	ok = ok && TS_MSG_IMPRINT_set_algo(mi, alg) == 1 && TS_MSG_IMPRINT_set_msg(mi, hash, sizeof(hash)) == 1 &&
	     TS_REQ_set_msg_imprint(req, mi) == 1 && TS_REQ_set_nonce(req, *nonce) == 1 && TS_REQ_set_cert_req(req, 1) == 1;
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(req);
		req = NULL;
	}
	return req;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct buffer *b = payload;
	size_t n = size * nmemb;
	if (b->n + n > REPLY_MAX)
		return 0;
	unsigned char *more = realloc(b->p, b->n + n);
	if (!more)
		return 0;
	memcpy(more + b->n, ptr, n);
	b->p = more;
	b->n += n;
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int http_post(struct buffer *reply, const char *url, const unsigned char *req, size_t len,
                     struct conn_sign_error *err)
{
	pthread_once(&curl_once, curl_init);
	CURL *c = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/timestamp-query");
	if (!c || !headers) {
		curl_slist_free_all(headers);
		curl_easy_cleanup(c);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	CURLcode res = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	int rc = 0;
	if (res != CURLE_OK)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "TSA %s: %s", url, curl_easy_strerror(res));
	else if (status != 200)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "TSA %s answered HTTP %ld instead of 200", url, status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return rc;
}

static int exchange(struct buffer *reply, const struct conn_tsa_peer *peer, TS_REQ *req, struct conn_sign_error *err)
{
	unsigned char *der = NULL;
	int len = i2d_TS_REQ(req, &der);
	int rc;
	if (len <= 0)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot encode the timestamp request");
	else if (peer->server)
		rc = conn_tsa_server_respond(&reply->p, &reply->n, peer->server, der, (size_t)len, err);
	else
		rc = http_post(reply, peer->url, der, (size_t)len, err);
	OPENSSL_free(der);
	return rc;
}

static int status_check(TS_RESP *resp, struct conn_sign_error *err)
{
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
	if (status == TS_STATUS_GRANTED || status == TS_STATUS_GRANTED_WITH_MODS)
		return 0;
	const STACK_OF(ASN1_UTF8STRING) *text = TS_STATUS_INFO_get0_text(si);
	const ASN1_UTF8STRING *first = sk_ASN1_UTF8STRING_num(text) > 0 ? sk_ASN1_UTF8STRING_value(text, 0) : NULL;
	return conn_sign__fail(err, CONN_SIGN_EINVALID, "the TSA refused the request: status %ld%s%.*s", status,
	                       first ? ": " : "", first ? ASN1_STRING_length(first) : 0,
	                       first ? (const char *)ASN1_STRING_get0_data(first) : "");
}

/* The reply: granted, our nonce, then the token as conn_tsa_verify checks it. */
static int reply_check(struct conn_tsa_info *info, TS_RESP *resp, const ASN1_INTEGER *nonce, const unsigned char *data,
                       size_t len, const struct conn_sign_trust *trust, struct conn_sign_error *err)
{
	int rc = status_check(resp, err);
	if (rc != 0)
		return rc;
	TS_TST_INFO *tst = TS_RESP_get_tst_info(resp);
	PKCS7 *token = TS_RESP_get_token(resp);
	if (!tst || !token)
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the TSA granted the request but sent no token");
	const ASN1_INTEGER *got = TS_TST_INFO_get_nonce(tst);
	if (!got || ASN1_INTEGER_cmp(got, nonce) != 0)
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the TSA's reply carries another nonce than our request");
	return token_check(info, token, data, len, trust, err);
}

int conn_tsa_stamp(unsigned char **token, size_t *token_len, const struct conn_tsa_peer *peer,
                   const unsigned char *data, size_t len, const struct conn_sign_trust *trust,
                   struct conn_tsa_info *info, struct conn_sign_error *err)
{
	*token = NULL;
	ASN1_INTEGER *nonce = NULL;
	struct buffer reply = {0};
	TS_RESP *resp = NULL;
	TS_REQ *req = request_make(&nonce, data, len);
	int rc = req ? exchange(&reply, peer, req, err) : conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot build the request");
	const unsigned char *p = reply.p;
	if (rc == 0 && !(resp = d2i_TS_RESP(NULL, &p, (long)reply.n)))
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "the TSA's reply is not a DER TimeStampResp");
	if (rc == 0)
		rc = reply_check(info, resp, nonce, data, len, trust, err);
	unsigned char *der = NULL;
	int n = rc == 0 ? i2d_PKCS7(TS_RESP_get_token(resp), &der) : 0;
	if (rc == 0 && (n <= 0 || !(*token = malloc((size_t)n))))
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot encode the timestamp token");
	else if (rc == 0) {
		memcpy(*token, der, (size_t)n);
		*token_len = (size_t)n;
	}
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_REQ_free(req);
	ASN1_INTEGER_free(nonce);
	free(reply.p);
	ERR_clear_error();
	return rc;
}
