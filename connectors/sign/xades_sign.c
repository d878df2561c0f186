/* XAdES-BES/EPES signing with xmlsec: enveloped (the signature becomes the last child of the
 * document's root) or internally detached (ENI TF02: the data in base64 inside a wrapper, next
 * to the signature), optionally lifted to XAdES-T with a SignatureTimeStamp.
 * Invariant: every Id we add carries a fresh random suffix, so it cannot collide with the
 * document's own Ids, and the SignedProperties are covered by the signature. */
#include "xades_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "connectors/tsa/tsa.h"

/* The Ids of one signature: "Signature-<hex>", "SignedProperties-<hex>", ... */
struct ids {
	char suffix[17];
	char sig[40], props[48], ref[40], content[40], stamp[40];
	char props_uri[49], ref_uri[41], content_uri[41], sig_uri[41];
};

static int ids_make(struct ids *ids)
{
	unsigned char r[8];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(ids->suffix + 2 * i, 3, "%02x", r[i]);
	snprintf(ids->sig, sizeof(ids->sig), "Signature-%s", ids->suffix);
	snprintf(ids->props, sizeof(ids->props), "SignedProperties-%s", ids->suffix);
	snprintf(ids->ref, sizeof(ids->ref), "Reference-%s", ids->suffix);
	snprintf(ids->content, sizeof(ids->content), "CONTENT-%s", ids->suffix);
	snprintf(ids->stamp, sizeof(ids->stamp), "TimeStamp-%s", ids->suffix);
	snprintf(ids->props_uri, sizeof(ids->props_uri), "#%s", ids->props);
	snprintf(ids->ref_uri, sizeof(ids->ref_uri), "#%s", ids->ref);
	snprintf(ids->content_uri, sizeof(ids->content_uri), "#%s", ids->content);
	snprintf(ids->sig_uri, sizeof(ids->sig_uri), "#%s", ids->sig);
	return 0;
}

static xmlNodePtr add(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	return xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
}

static xmlNodePtr add_digest(xmlNodePtr parent, xmlNsPtr ds, const unsigned char *hash, size_t len)
{
	char *b64 = conn_sign__b64_encode(hash, len);
	xmlNodePtr m = add(parent, ds, "DigestMethod", NULL);
	xmlNodePtr v = add(parent, ds, "DigestValue", b64);
	free(b64);
	return m && v && xmlNewProp(m, BAD_CAST "Algorithm", BAD_CAST CONN_XADES_SHA256) ? v : NULL;
}

static int add_policy(xmlNodePtr ssp, xmlNsPtr x, xmlNsPtr ds, const struct conn_sign__policy *p)
{
	char urn[140];
	snprintf(urn, sizeof(urn), "urn:oid:%s", p->oid);
	xmlNodePtr id = add(add(ssp, x, "SignaturePolicyIdentifier", NULL), x, "SignaturePolicyId", NULL);
	xmlNodePtr ident = add(add(id, x, "SigPolicyId", NULL), x, "Identifier", urn);
	if (!ident || !xmlNewProp(ident, BAD_CAST "Qualifier", BAD_CAST "OIDAsURN") ||
	    !add_digest(add(id, x, "SigPolicyHash", NULL), ds, p->hash, sizeof(p->hash)))
		return -1;
	if (p->uri && !add(add(add(id, x, "SigPolicyQualifiers", NULL), x, "SigPolicyQualifier", NULL), x,
	                   "SPURI", p->uri))
		return -1;
	return 0;
}

static int add_signing_certificate(xmlNodePtr ssp, xmlNsPtr x, xmlNsPtr ds, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return -1;
	xmlNodePtr c = add(add(ssp, x, "SigningCertificateV2", NULL), x, "Cert", NULL);
	return add_digest(add(c, x, "CertDigest", NULL), ds, md, n) ? 0 : -1;
}

/* <ds:Object><xades:QualifyingProperties Target=#sig><xades:SignedProperties Id=..>...</> */
static xmlNodePtr add_qualifying_properties(xmlNodePtr sig, const struct ids *ids,
                                            const struct conn_sign_signer *signer, const char *mime,
                                            const struct conn_sign__policy *policy)
{
	xmlNodePtr object = xmlSecTmplSignatureAddObject(sig, NULL, NULL, NULL);
	xmlNsPtr ds = object ? xmlSearchNsByHref(sig->doc, sig, xmlSecDSigNs) : NULL;
	xmlNodePtr qp = ds ? xmlNewChild(object, NULL, BAD_CAST "QualifyingProperties", NULL) : NULL;
	xmlNsPtr x = qp ? xmlNewNs(qp, BAD_CAST CONN_XADES_NS, BAD_CAST "xades") : NULL;
	if (!x)
		return NULL;
	xmlSetNs(qp, x);
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	xmlNodePtr sp = add(qp, x, "SignedProperties", NULL);
	xmlNodePtr ssp = add(sp, x, "SignedSignatureProperties", NULL);
	xmlNodePtr fmt = add(add(sp, x, "SignedDataObjectProperties", NULL), x, "DataObjectFormat", NULL);
	if (!xmlNewProp(qp, BAD_CAST "Target", BAD_CAST ids->sig_uri) || !sp ||
	    !xmlNewProp(sp, BAD_CAST "Id", BAD_CAST ids->props) || !add(ssp, x, "SigningTime", now) ||
	    add_signing_certificate(ssp, x, ds, signer->cert) != 0 || (policy && add_policy(ssp, x, ds, policy) != 0) ||
	    !fmt || !xmlNewProp(fmt, BAD_CAST "ObjectReference", BAD_CAST ids->ref_uri) ||
	    !add(fmt, x, "MimeType", mime))
		return NULL;
	return qp;
}

/* The template: SignedInfo with the data reference and the SignedProperties reference. */
static xmlNodePtr signature_template(xmlDocPtr doc, const struct ids *ids, const struct conn_sign_signer *signer,
                                     bool detached)
{
	xmlSecTransformId method = EVP_PKEY_get_base_id(signer->key) == EVP_PKEY_EC ? xmlSecTransformEcdsaSha256Id
	                                                                            : xmlSecTransformRsaSha256Id;
	xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformInclC14NId, method, BAD_CAST ids->sig,
	                                                 BAD_CAST "ds");
	if (!sig)
		return NULL;
	xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, BAD_CAST ids->ref,
	                                                 BAD_CAST(detached ? ids->content_uri : ""), NULL);
	xmlNodePtr props = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST ids->props_uri,
	                                                   BAD_CAST CONN_XADES_SIGNED_PROPS_TYPE);
	xmlNodePtr keyinfo = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
	if (!ref || !props || !keyinfo || !xmlSecTmplKeyInfoAddX509Data(keyinfo) ||
	    !xmlSecTmplReferenceAddTransform(ref, detached ? xmlSecTransformInclC14NId : xmlSecTransformEnvelopedId)) {
		xmlFreeNode(sig);
		return NULL;
	}
	return sig;
}

/* The document to sign: the caller's XML, or the TF02 wrapper holding data in base64. */
static int document_make(xmlDocPtr *out, const unsigned char *data, size_t len, bool detached,
                         const struct ids *ids, struct conn_sign_error *err)
{
	if (!detached)
		return conn_sign__xml_parse(out, data, len, err);
	*out = NULL;
	char *b64 = conn_sign__b64_encode(data, len);
	xmlDocPtr doc = b64 ? xmlNewDoc(BAD_CAST "1.0") : NULL;
	xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST CONN_XADES_WRAPPER) : NULL;
	xmlNodePtr content = root ? xmlNewTextChild(root, NULL, BAD_CAST CONN_XADES_CONTENT, BAD_CAST b64) : NULL;
	xmlAttrPtr id = content ? xmlNewProp(content, BAD_CAST "Id", BAD_CAST ids->content) : NULL;
	free(b64);
	if (root)
		xmlDocSetRootElement(doc, root);
	if (!id || !xmlNewProp(content, BAD_CAST "Encoding", BAD_CAST "base64") ||
	    !xmlNewProp(content, BAD_CAST "MimeType", BAD_CAST "application/octet-stream") ||
	    !xmlAddID(NULL, doc, BAD_CAST ids->content, id)) {
		xmlFreeDoc(doc);
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory building the detached wrapper");
	}
	*out = doc;
	return 0;
}

/* XAdES-T: a SignatureTimeStamp over the canonical SignatureValue, in UnsignedProperties. */
static int add_timestamp(xmlNodePtr sig, xmlNodePtr qp, const struct ids *ids, const char *url,
                         struct conn_sign_error *err)
{
	xmlNodePtr value = conn_sign__xml_child(sig, (const char *)xmlSecDSigNs, "SignatureValue");
	unsigned char *c14n = NULL, *token = NULL;
	size_t c14n_len = 0, token_len = 0;
	int rc = conn_sign__c14n_subtree(&c14n, &c14n_len, value, err);
	if (rc != 0)
		return rc;
	struct conn_tsa_peer peer = {.url = url};
	rc = conn_tsa_stamp(&token, &token_len, &peer, c14n, c14n_len, NULL, NULL, err);
	free(c14n);
	if (rc != 0)
		return rc;
	char *b64 = conn_sign__b64_encode(token, token_len);
	free(token);
	xmlNsPtr x = qp->ns, ds = xmlSearchNsByHref(sig->doc, sig, xmlSecDSigNs);
	xmlNodePtr ts = add(add(add(qp, x, "UnsignedProperties", NULL), x, "UnsignedSignatureProperties", NULL), x,
	                    "SignatureTimeStamp", NULL);
	xmlNodePtr method = ts ? add(ts, ds, "CanonicalizationMethod", NULL) : NULL;
	bool ok = b64 && method && xmlNewProp(ts, BAD_CAST "Id", BAD_CAST ids->stamp) &&
	          xmlNewProp(method, BAD_CAST "Algorithm", BAD_CAST CONN_XADES_C14N) &&
	          add(ts, x, "EncapsulatedTimeStamp", b64);
	free(b64);
	return ok ? 0 : conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory adding the signature timestamp");
}

static int sign_document(xmlNodePtr sig, const struct conn_sign_signer *signer, struct conn_sign_error *err)
{
	xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
	if (!ctx)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	ctx->signKey = conn_sign__xmlsec_key(signer->key, signer->cert, signer->chain);
	int rc = 0;
	if (!ctx->signKey || xmlSecDSigCtxSign(ctx, sig) < 0)
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "xmlsec could not sign the document");
	xmlSecDSigCtxDestroy(ctx);
	return rc;
}

int conn_sign_xades(unsigned char **out, size_t *out_len, const struct conn_sign_signer *signer,
                    const unsigned char *data, size_t len, const struct conn_sign_options *opt,
                    struct conn_sign_error *err)
{
	*out = NULL;
	struct conn_sign__policy policy;
	struct ids ids;
	xmlDocPtr doc = NULL;
	int rc = conn_sign__xmlsec_init(err);
	if (rc != 0 || (opt->policy && (rc = conn_sign__policy_check(&policy, opt->policy, err)) != 0))
		return rc;
	if (ids_make(&ids) != 0)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "the random generator failed");
	if ((rc = document_make(&doc, data, len, opt->detached, &ids, err)) != 0)
		return rc;
	xmlNodePtr sig = signature_template(doc, &ids, signer, opt->detached);
	xmlNodePtr qp = sig ? add_qualifying_properties(sig, &ids, signer,
	                                                opt->detached ? "application/octet-stream" : "text/xml",
	                                                opt->policy ? &policy : NULL)
	                    : NULL;
	if (!qp) {
		xmlFreeNode(sig);
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory building the signature");
		goto done;
	}
	xmlAddChild(xmlDocGetRootElement(doc), sig);
	if ((rc = sign_document(sig, signer, err)) != 0)
		goto done;
	if (opt->tsa_url && (rc = add_timestamp(sig, qp, &ids, opt->tsa_url, err)) != 0)
		goto done;
	xmlChar *mem = NULL;
	int n = 0;
	xmlDocDumpMemoryEnc(doc, &mem, &n, "UTF-8");
	if (!mem || !(*out = malloc((size_t)n))) {
		xmlFree(mem);
		rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory writing the signed document");
		goto done;
	}
	memcpy(*out, mem, (size_t)n);
	*out_len = (size_t)n;
	xmlFree(mem);
done:
	xmlFreeDoc(doc);
	return rc;
}
