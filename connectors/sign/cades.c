/* CAdES-BES/EPES with OpenSSL CMS: signing (detached or attached, SHA-256, signing time,
 * signing-certificate-v2, optional signature policy and signature timestamp), verification, and
 * the upgrade of a CAdES-BES signature to CAdES-T with a token obtained after signing.
 * Invariant: a CMS passes only with one signer, strong algorithms, signed attributes whose
 * signature and content digest check, an ESS signing-certificate attribute naming the very
 * certificate that verified, and a chain to the trust store. */
#include "sign_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/pem.h> /* before cms.h, which declares PEM_read_bio_CMS only then */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

#include "connectors/tsa/tsa.h"

/* SignaturePolicyId (RFC 5126 section 5.8.1); the qualifier is kept as ANY so that policies
 * with user notices still decode. OpenSSL's templates need typedef names. */
typedef struct {
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *value;
} cades_policy_hash;
ASN1_SEQUENCE(cades_policy_hash) = {
	ASN1_SIMPLE(cades_policy_hash, alg, X509_ALGOR),
	ASN1_SIMPLE(cades_policy_hash, value, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(cades_policy_hash)

typedef struct {
	ASN1_OBJECT *id;
	ASN1_TYPE *qualifier;
} cades_policy_qualifier;
ASN1_SEQUENCE(cades_policy_qualifier) = {
	ASN1_SIMPLE(cades_policy_qualifier, id, ASN1_OBJECT),
	ASN1_SIMPLE(cades_policy_qualifier, qualifier, ASN1_ANY),
} static_ASN1_SEQUENCE_END(cades_policy_qualifier)
DEFINE_STACK_OF(cades_policy_qualifier)

typedef struct {
	ASN1_OBJECT *id;
	cades_policy_hash *hash;
	STACK_OF(cades_policy_qualifier) *qualifiers;
} cades_policy_id;
ASN1_SEQUENCE(cades_policy_id) = {
	ASN1_SIMPLE(cades_policy_id, id, ASN1_OBJECT),
	ASN1_SIMPLE(cades_policy_id, hash, cades_policy_hash),
	ASN1_SEQUENCE_OF_OPT(cades_policy_id, qualifiers, cades_policy_qualifier),
} static_ASN1_SEQUENCE_END(cades_policy_id)

#define OID_SPURI "1.2.840.113549.1.9.16.5.1"

static int spuri_add(cades_policy_id *p, const char *uri)
{
	cades_policy_qualifier *q = (cades_policy_qualifier *)ASN1_item_new(ASN1_ITEM_rptr(cades_policy_qualifier));
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	p->qualifiers = sk_cades_policy_qualifier_new_null();
	int ok = q && s && p->qualifiers && ASN1_STRING_set(s, uri, -1) &&
	         (q->id = OBJ_txt2obj(OID_SPURI, 1)) && ASN1_TYPE_set1(q->qualifier, V_ASN1_IA5STRING, s) &&
	         sk_cades_policy_qualifier_push(p->qualifiers, q);
	ASN1_IA5STRING_free(s);
	if (!ok)
		ASN1_item_free((ASN1_VALUE *)q, ASN1_ITEM_rptr(cades_policy_qualifier));
	return ok ? 0 : -1;
}

static int policy_add(CMS_SignerInfo *si, const struct conn_sign__policy *policy)
{
	cades_policy_id *p = (cades_policy_id *)ASN1_item_new(ASN1_ITEM_rptr(cades_policy_id));
	unsigned char *der = NULL;
	int len = -1;
	if (p && (p->id = OBJ_txt2obj(policy->oid, 1)) && X509_ALGOR_set0(p->hash->alg, OBJ_nid2obj(NID_sha256), V_ASN1_UNDEF, NULL) &&
	    ASN1_OCTET_STRING_set(p->hash->value, policy->hash, sizeof(policy->hash)) &&
	    (!policy->uri || spuri_add(p, policy->uri) == 0))
		len = ASN1_item_i2d((ASN1_VALUE *)p, &der, ASN1_ITEM_rptr(cades_policy_id));
	int ok = len > 0 && CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_ets_sigPolicyId, V_ASN1_SEQUENCE, der, len);
	OPENSSL_free(der);
	ASN1_item_free((ASN1_VALUE *)p, ASN1_ITEM_rptr(cades_policy_id));
	return ok ? 0 : -1;
}

static void policy_read(char *out, size_t size, CMS_SignerInfo *si)
{
	out[0] = '\0';
	ASN1_STRING *seq = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_ets_sigPolicyId), -3,
	                                              V_ASN1_SEQUENCE);
	const unsigned char *p = seq ? ASN1_STRING_get0_data(seq) : NULL;
	cades_policy_id *id = p ? (cades_policy_id *)ASN1_item_d2i(NULL, &p, ASN1_STRING_length(seq),
	                                                            ASN1_ITEM_rptr(cades_policy_id))
	                        : NULL;
	if (id)
		OBJ_obj2txt(out, (int)size, id->id, 1);
	ASN1_item_free((ASN1_VALUE *)id, ASN1_ITEM_rptr(cades_policy_id));
}

/* CAdES-T: the token over the SignerInfo's signature value, as an unsigned attribute. */
static int timestamp_add(CMS_SignerInfo *si, const char *url, struct conn_sign_error *err)
{
	ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
	struct conn_tsa_peer peer = {.url = url};
	unsigned char *token = NULL;
	size_t len = 0;
	int rc = conn_tsa_stamp(&token, &len, &peer, ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value),
	                        NULL, NULL, err);
	if (rc == 0 && !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token, (int)len))
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot add the signature timestamp");
	free(token);
	return rc;
}

static int der_out(unsigned char **out, size_t *out_len, CMS_ContentInfo *cms, struct conn_sign_error *err)
{
	unsigned char *der = NULL;
	int len = i2d_CMS_ContentInfo(cms, &der);
	if (len <= 0 || !(*out = malloc((size_t)len))) {
		OPENSSL_free(der);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot encode the CMS signature");
	}
	memcpy(*out, der, (size_t)len);
	*out_len = (size_t)len;
	OPENSSL_free(der);
	return 0;
}

int conn_sign_cades(unsigned char **out, size_t *out_len, const struct conn_sign_signer *signer,
                    const unsigned char *data, size_t len, const struct conn_sign_options *opt,
                    struct conn_sign_error *err)
{
	*out = NULL;
	struct conn_sign__policy policy;
	int rc = opt->policy ? conn_sign__policy_check(&policy, opt->policy, err) : 0;
	if (rc != 0)
		return rc;
	/* CMS_CADES adds signing-certificate-v2 (SHA-256); signing time is added by CMS itself. */
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP | CMS_CADES | (opt->detached ? CMS_DETACHED : 0);
	BIO *in = BIO_new_mem_buf(data, (int)len);
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si = cms ? CMS_add1_signer(cms, signer->cert, signer->key, EVP_sha256(), flags) : NULL;
	bool ok = in && si && (!opt->policy || policy_add(si, &policy) == 0);
	for (int i = 0; ok && i < sk_X509_num(signer->chain); i++)
		ok = CMS_add1_cert(cms, sk_X509_value(signer->chain, i)) == 1;
	if (!ok || CMS_final(cms, in, NULL, flags) != 1) {
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "OpenSSL could not build the CMS signature");
		goto done;
	}
	if (opt->tsa_url && (rc = timestamp_add(si, opt->tsa_url, err)) != 0)
		goto done;
	rc = der_out(out, out_len, cms, err);
done:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

/* --- verification --- */

struct cverify {
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	X509 *cert;
	STACK_OF(X509) *certs;
	struct conn_sign_error *err;
};

static int cms_read(struct cverify *v, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	if (len > 10 && memcmp(der, "-----BEGIN", 10) == 0) {
		BIO *b = BIO_new_mem_buf(der, (int)len);
		v->cms = b ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	} else {
		v->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	}
	if (!v->cms || OBJ_obj2nid(CMS_get0_type(v->cms)) != NID_pkcs7_signed)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "not a CMS SignedData structure (DER or PEM)");
	STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(v->cms);
	if (sk_CMS_SignerInfo_num(infos) != 1)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "%d signers: only one signer is accepted",
		                       sk_CMS_SignerInfo_num(infos));
	v->si = sk_CMS_SignerInfo_value(infos, 0);
	return 0;
}

static int algorithms_check(struct cverify *v)
{
	X509_ALGOR *dig, *sig;
	CMS_SignerInfo_get0_algs(v->si, NULL, NULL, &dig, &sig);
	int md = OBJ_obj2nid(dig->algorithm), sig_md = NID_undef, pk;
	if (!conn_sign__digest_strong(md))
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "weak digest algorithm %s in the signer info: SHA-256 or stronger required",
		                       md == NID_undef ? "(unknown)" : OBJ_nid2sn(md));
	if (OBJ_find_sigid_algs(OBJ_obj2nid(sig->algorithm), &sig_md, &pk) && sig_md != NID_undef &&
	    !conn_sign__digest_strong(sig_md))
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "weak signature algorithm %s: SHA-256 or stronger required",
		                       OBJ_nid2sn(OBJ_obj2nid(sig->algorithm)));
	if (CMS_signed_get_attr_count(v->si) <= 0)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "not CAdES: the signer info has no signed attributes");
	return 0;
}

static int signer_find(struct cverify *v)
{
	v->certs = CMS_get1_certs(v->cms);
	for (int i = 0; i < sk_X509_num(v->certs) && !v->cert; i++)
		if (CMS_SignerInfo_cert_cmp(v->si, sk_X509_value(v->certs, i)) == 0)
			v->cert = sk_X509_value(v->certs, i);
	if (!v->cert)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "the signer's certificate is not in the signature");
	CMS_SignerInfo_set1_signer_cert(v->si, v->cert);
	return 0;
}

static void bio_free_upto(BIO *chain, BIO *stop)
{
	while (chain && chain != stop) {
		BIO *next = BIO_pop(chain);
		BIO_free(chain);
		chain = next;
	}
}

/* The signature over the signed attributes, then the messageDigest over the content. */
static int crypto_check(struct cverify *v, BIO *detached)
{
	if (CMS_SignerInfo_verify(v->si) != 1)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "bad signature value: the signed attributes were modified or signed with another key");
	BIO *chain = CMS_dataInit(v->cms, detached);
	if (!chain)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "the signed content cannot be read");
	char buf[4096];
	while (BIO_read(chain, buf, sizeof(buf)) > 0)
		;
	int ok = CMS_SignerInfo_verify_content(v->si, chain);
	bio_free_upto(chain, detached);
	if (ok != 1)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "bad digest: the content differs from what was signed");
	return 0;
}

/* CAdES-BES binds the signer's certificate with ESS signing-certificate(-v2). */
static int signing_cert_check(struct cverify *v)
{
	ASN1_STRING *v1 = CMS_signed_get0_data_by_OBJ(v->si, OBJ_nid2obj(NID_id_smime_aa_signingCertificate), -3,
	                                             V_ASN1_SEQUENCE);
	ASN1_STRING *v2 = CMS_signed_get0_data_by_OBJ(v->si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2), -3,
	                                             V_ASN1_SEQUENCE);
	if (!v1 && !v2)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "not CAdES-BES: no signing-certificate(-v2) attribute binds the signer's certificate");
	const unsigned char *p1 = v1 ? ASN1_STRING_get0_data(v1) : NULL, *p2 = v2 ? ASN1_STRING_get0_data(v2) : NULL;
	ESS_SIGNING_CERT *ss = p1 ? d2i_ESS_SIGNING_CERT(NULL, &p1, ASN1_STRING_length(v1)) : NULL;
	ESS_SIGNING_CERT_V2 *ss2 = p2 ? d2i_ESS_SIGNING_CERT_V2(NULL, &p2, ASN1_STRING_length(v2)) : NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc = 0;
	if (!chain || !sk_X509_push(chain, v->cert))
		rc = conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	else if ((v1 && !ss) || (v2 && !ss2) || OSSL_ESS_check_signing_certs(ss, ss2, chain, 1) <= 0)
		rc = conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                     "the signing-certificate attribute does not match the signer's certificate");
	sk_X509_free(chain);
	ESS_SIGNING_CERT_free(ss);
	ESS_SIGNING_CERT_V2_free(ss2);
	return rc;
}

static int timestamp_check(struct cverify *v, const struct conn_sign_trust *trust, struct conn_sign_report *out)
{
	ASN1_STRING *token = CMS_unsigned_get0_data_by_OBJ(v->si, OBJ_nid2obj(NID_id_smime_aa_timeStampToken), -3,
	                                                  V_ASN1_SEQUENCE);
	if (!token)
		return 0;
	ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(v->si);
	struct conn_tsa_info info;
	int rc = conn_tsa_verify(&info, ASN1_STRING_get0_data(token), (size_t)ASN1_STRING_length(token),
	                         ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), trust, v->err);
	if (rc != 0) {
		char reason[sizeof(v->err->msg)];
		snprintf(reason, sizeof(reason), "%s", v->err->msg);
		return conn_sign__fail(v->err, rc, "signature timestamp: %.200s", reason);
	}
	snprintf(out->timestamp, sizeof(out->timestamp), "%s", info.time);
	return 0;
}

static void signing_time_read(char out[32], CMS_SignerInfo *si)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	ASN1_TYPE *t = i >= 0 ? X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, i), 0) : NULL;
	out[0] = '\0';
	if (t && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME))
		conn_sign__time_format(out, (const ASN1_TIME *)t->value.asn1_string);
}

static int content_take(struct cverify *v, const unsigned char *detached, size_t detached_len,
                        struct conn_sign_report *out)
{
	const unsigned char *p = detached;
	size_t n = detached_len;
	if (!detached) {
		ASN1_OCTET_STRING **content = CMS_get0_content(v->cms);
		p = content && *content ? ASN1_STRING_get0_data(*content) : (const unsigned char *)"";
		n = content && *content ? (size_t)ASN1_STRING_length(*content) : 0;
	}
	out->content = malloc(n + 1);
	if (!out->content)
		return conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	memcpy(out->content, p, n);
	out->content_len = n;
	return 0;
}

static int cverify_steps(struct cverify *v, const unsigned char *detached, size_t detached_len,
                         const struct conn_sign_trust *trust, struct conn_sign_report *out)
{
	bool is_detached = CMS_is_detached(v->cms) == 1;
	if (is_detached && !detached)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "detached CAdES signature: the signed data must be given as well");
	if (!is_detached && detached)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "the signature already contains its content: do not give the data separately");
	BIO *data = detached ? BIO_new_mem_buf(detached, (int)detached_len) : NULL;
	int rc;
	if (detached && !data)
		rc = conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	else if ((rc = algorithms_check(v)) == 0 && (rc = signer_find(v)) == 0 && (rc = crypto_check(v, data)) == 0 &&
	         (rc = signing_cert_check(v)) == 0 &&
	         (rc = conn_sign__chain_check(trust, v->cert, v->certs, 0, "signer", v->err)) == 0 &&
	         (rc = timestamp_check(v, trust, out)) == 0) {
		conn_sign__report_signer(out, v->cert);
		signing_time_read(out->signing_time, v->si);
		policy_read(out->policy, sizeof(out->policy), v->si);
		rc = content_take(v, detached, detached_len, out);
	}
	BIO_free(data);
	return rc;
}

int conn_sign_cades_verify(struct conn_sign_report *out, const unsigned char *der, size_t len,
                           const unsigned char *detached, size_t detached_len,
                           const struct conn_sign_trust *trust, struct conn_sign_error *err)
{
	memset(out, 0, sizeof(*out));
	struct cverify v = {.err = err};
	int rc = cms_read(&v, der, len);
	if (rc == 0)
		rc = cverify_steps(&v, detached, detached_len, trust, out);
	if (rc != 0)
		conn_sign_report_clear(out);
	sk_X509_pop_free(v.certs, X509_free);
	CMS_ContentInfo_free(v.cms);
	ERR_clear_error();
	return rc;
}

/* The token's imprint must be the SHA-256 of the signature value it is attached to. */
static int imprint_matches(const unsigned char *token, size_t token_len, const ASN1_OCTET_STRING *value,
                           struct conn_sign_error *err)
{
	const unsigned char *p = token;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)token_len);
	TS_TST_INFO *info = p7 && p == token + token_len ? PKCS7_to_TS_TST_INFO(p7) : NULL;
	TS_MSG_IMPRINT *imprint = info ? TS_TST_INFO_get_msg_imprint(info) : NULL;
	ASN1_OCTET_STRING *got = imprint ? TS_MSG_IMPRINT_get_msg(imprint) : NULL;
	X509_ALGOR *alg = imprint ? TS_MSG_IMPRINT_get_algo(imprint) : NULL;
	unsigned char want[32];
	SHA256(ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), want);
	int rc = 0;
	if (!got)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "not an RFC 3161 time-stamp token");
	else if (OBJ_obj2nid(alg->algorithm) != NID_sha256 || ASN1_STRING_length(got) != 32 ||
	         memcmp(ASN1_STRING_get0_data(got), want, 32) != 0)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "the time-stamp token does not cover this "
		                     "signature's value (SHA-256 imprint)");
	TS_TST_INFO_free(info);
	PKCS7_free(p7);
	return rc;
}

int conn_sign_cades_add_timestamp(unsigned char **out, size_t *out_len, const unsigned char *der, size_t len,
                                  const unsigned char *token, size_t token_len, struct conn_sign_error *err)
{
	*out = NULL;
	*out_len = 0;
	struct cverify v = {.err = err};
	int rc = cms_read(&v, der, len);
	if (!rc && CMS_unsigned_get_attr_by_NID(v.si, NID_id_smime_aa_timeStampToken, -1) >= 0)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "the signature already carries a signature time stamp");
	if (!rc)
		rc = imprint_matches(token, token_len, CMS_SignerInfo_get0_signature(v.si), err);
	/* The attribute's value is the token itself (a ContentInfo, hence a SEQUENCE). */
	if (!rc && !CMS_unsigned_add1_attr_by_NID(v.si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token,
	                                          (int)token_len))
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot add the time stamp to the signature");
	unsigned char *p = NULL;
	int n = rc ? 0 : i2d_CMS_ContentInfo(v.cms, &p);
	if (!rc && n <= 0)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot encode the signature");
	if (!rc) {
		*out = malloc((size_t)n);
		if (!*out)
			rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
		else
			memcpy(*out, p, (size_t)n), *out_len = (size_t)n;
	}
	OPENSSL_free(p);
	sk_X509_pop_free(v.certs, X509_free);
	CMS_ContentInfo_free(v.cms);
	ERR_clear_error();
	return rc;
}
