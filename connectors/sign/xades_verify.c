/* Hardened XAdES verification. Before xmlsec sees the document: no DOCTYPE, unique Ids, one
 * signature, same-document references only, SHA-256 or stronger, one reference to the data and
 * one to this signature's own SignedProperties, and the signer's certificate chosen by the
 * SigningCertificate digest (never a key from KeyInfo alone).
 * Invariant: the content reported is read from the node xmlsec digested, re-resolved after
 * verification, so a wrapped copy elsewhere in the document can never be what the caller reads. */
#include "xades_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "connectors/tsa/tsa.h"

#define DSIG (const char *)xmlSecDSigNs

struct algorithm {
	const char *uri;
	const char *name;
	bool strong;
};

static const struct algorithm digests[] = {
	{"http://www.w3.org/2001/04/xmlenc#sha256", "SHA-256", true},
	{"http://www.w3.org/2001/04/xmldsig-more#sha384", "SHA-384", true},
	{"http://www.w3.org/2001/04/xmlenc#sha512", "SHA-512", true},
	{"http://www.w3.org/2000/09/xmldsig#sha1", "SHA-1", false},
	{"http://www.w3.org/2001/04/xmldsig-more#md5", "MD5", false},
	{"http://www.w3.org/2001/04/xmldsig-more#sha224", "SHA-224", false},
	{NULL, NULL, false},
};

static const struct algorithm signature_methods[] = {
	{"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "RSA-SHA256", true},
	{"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "RSA-SHA384", true},
	{"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "RSA-SHA512", true},
	{"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "ECDSA-SHA256", true},
	{"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "ECDSA-SHA384", true},
	{"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "ECDSA-SHA512", true},
	{"http://www.w3.org/2000/09/xmldsig#rsa-sha1", "RSA-SHA1", false},
	{"http://www.w3.org/2000/09/xmldsig#dsa-sha1", "DSA-SHA1", false},
	{"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", "ECDSA-SHA1", false},
	{"http://www.w3.org/2001/04/xmldsig-more#rsa-md5", "RSA-MD5", false},
	{NULL, NULL, false},
};

/* Canonicalisations, and the transforms a reference may use: those plus enveloped-signature. */
static const char *const c14n_methods[] = {
	CONN_XADES_C14N,
	"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
	"http://www.w3.org/2001/10/xml-exc-c14n#",
	"http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
	"http://www.w3.org/2006/12/xml-c14n11",
	"http://www.w3.org/2006/12/xml-c14n11#WithComments",
	NULL,
};
#define ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

struct verify {
	xmlDocPtr doc;
	xmlNodePtr sig;
	xmlNodePtr refs[2];       /* the data reference and the SignedProperties reference */
	int data_index;           /* position of the data reference in SignedInfo */
	xmlNodePtr data;          /* the element the data reference designates */
	xmlNodePtr props;         /* this signature's SignedProperties */
	X509 *cert;               /* the signer, picked by the SigningCertificate digest */
	STACK_OF(X509) *certs;    /* every certificate of KeyInfo, as untrusted intermediates */
	struct conn_sign_error *err;
};

static char *attr(const xmlNode *node, const char *name)
{
	return (char *)xmlGetProp(node, BAD_CAST name);
}

static bool in_list(const char *uri, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(uri, *list) == 0)
			return true;
	return false;
}

/* Fails unless the Algorithm of node is a strong member of table. what names it in messages. */
static int algorithm_check(const xmlNode *node, const struct algorithm *table, const char *kind,
                           const char *where, struct conn_sign_error *err)
{
	char *uri = node ? attr(node, "Algorithm") : NULL;
	int rc = 0;
	const struct algorithm *a = table;
	while (uri && a->uri && strcmp(a->uri, uri) != 0)
		a++;
	if (!uri)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "missing %s algorithm in %s", kind, where);
	else if (!a->uri)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "unsupported %s algorithm '%s' in %s", kind, uri, where);
	else if (!a->strong)
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID,
		                     "weak %s algorithm %s in %s: SHA-256 or stronger required", kind, a->name, where);
	xmlFree(uri);
	return rc;
}

/* Registers every Id/ID/id attribute as an XML ID, refusing a value used twice: with one
 * element per Id, a reference can designate only one node. */
static int ids_register(xmlNodePtr node, struct conn_sign_error *err)
{
	for (; node; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttrPtr a = node->properties; a; a = a->next) {
			bool xml_id = a->ns && xmlStrEqual(a->name, BAD_CAST "id") && xmlStrEqual(a->ns->prefix, BAD_CAST "xml");
			bool id = !a->ns && (xmlStrEqual(a->name, BAD_CAST "Id") || xmlStrEqual(a->name, BAD_CAST "ID") ||
			                     xmlStrEqual(a->name, BAD_CAST "id"));
			if (!id && !xml_id)
				continue;
			xmlChar *value = xmlNodeListGetString(node->doc, a->children, 1);
			xmlAttrPtr known = value ? xmlGetID(node->doc, value) : NULL;
			int rc = 0;
			if (!value)
				rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
			else if (known && known != a)
				rc = conn_sign__fail(err, CONN_SIGN_EINVALID,
				                     "duplicate Id '%.100s': refused as a possible signature wrapping", value);
			else if (!known && !xmlAddID(NULL, node->doc, value, a))
				rc = conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot register Id '%.100s'", value);
			xmlFree(value);
			if (rc != 0)
				return rc;
		}
		int rc = ids_register(node->children, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void signatures_find(xmlNodePtr node, xmlNodePtr *first, int *count)
{
	for (; node; node = node->next) {
		if (conn_sign__xml_is(node, DSIG, "Signature")) {
			if ((*count)++ == 0)
				*first = node;
		}
		signatures_find(node->children, first, count);
	}
}

static bool inside(const xmlNode *node, const xmlNode *ancestor)
{
	for (; node; node = node->parent)
		if (node == ancestor)
			return true;
	return false;
}

/* The element a same-document URI designates: the root for "", the element with the Id for
 * "#id". Anything else (files, http, XPointer) is refused. */
static int uri_resolve(xmlNodePtr *out, struct verify *v, const char *uri)
{
	*out = NULL;
	if (uri && uri[0] == '\0') {
		*out = xmlDocGetRootElement(v->doc);
		return 0;
	}
	if (!uri || uri[0] != '#' || strchr(uri, '(') || uri[1] == '\0')
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "wrong reference: URI '%.80s' is not a same-document reference (\"\" or \"#id\")",
		                       uri ? uri : "(missing)");
	xmlAttrPtr id = xmlGetID(v->doc, BAD_CAST(uri + 1));
	if (!id || !id->parent)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "wrong reference: no element has Id '%.80s'", uri + 1);
	*out = id->parent;
	return 0;
}

static int transforms_check(struct verify *v, xmlNodePtr ref, const char *uri, bool *enveloped)
{
	*enveloped = false;
	xmlNodePtr transforms = conn_sign__xml_child(ref, DSIG, "Transforms");
	for (xmlNodePtr t = transforms ? transforms->children : NULL; t; t = t->next) {
		if (t->type != XML_ELEMENT_NODE)
			continue;
		char *alg = attr(t, "Algorithm");
		bool ok = alg && (in_list(alg, c14n_methods) || strcmp(alg, ENVELOPED) == 0);
		*enveloped |= alg && strcmp(alg, ENVELOPED) == 0;
		if (!ok)
			conn_sign__fail(v->err, CONN_SIGN_EINVALID, "transform '%.80s' is not allowed in reference '%.60s'",
			                alg ? alg : "(missing)", uri);
		xmlFree(alg);
		if (!ok)
			return CONN_SIGN_EINVALID;
	}
	return 0;
}

/* One reference: same-document URI, allowed transforms, strong digest; then sorted into the
 * data reference or the SignedProperties one. */
static int reference_check(struct verify *v, xmlNodePtr ref, int index, int *n_data, int *n_props)
{
	char *uri = attr(ref, "URI"), *type = attr(ref, "Type");
	char where[120];
	snprintf(where, sizeof(where), "reference '%.80s'", uri ? uri : "(no URI)");
	bool props = type && strcmp(type, CONN_XADES_SIGNED_PROPS_TYPE) == 0, enveloped;
	xmlNodePtr target;
	int rc = uri_resolve(&target, v, uri);
	if (rc == 0)
		rc = transforms_check(v, ref, uri, &enveloped);
	if (rc == 0)
		rc = algorithm_check(conn_sign__xml_child(ref, DSIG, "DigestMethod"), digests, "digest", where, v->err);
	if (rc != 0)
		goto done;
	if (props) {
		v->refs[1] = ref;
		v->props = target;
		(*n_props)++;
	} else {
		if (uri[0] == '\0' && !enveloped)
			rc = conn_sign__fail(v->err, CONN_SIGN_EINVALID,
			                     "wrong reference: URI=\"\" without the enveloped-signature transform");
		else if (inside(target, v->sig))
			rc = conn_sign__fail(v->err, CONN_SIGN_EINVALID,
			                     "wrong reference: '%.80s' points inside the signature, not at the data", uri);
		v->refs[0] = ref;
		v->data = target;
		v->data_index = index;
		(*n_data)++;
	}
done:
	xmlFree(uri);
	xmlFree(type);
	return rc;
}

static int signed_info_check(struct verify *v)
{
	xmlNodePtr si = conn_sign__xml_child(v->sig, DSIG, "SignedInfo");
	if (!si)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "the signature has no SignedInfo");
	char *c14n = attr(conn_sign__xml_child(si, DSIG, "CanonicalizationMethod"), "Algorithm");
	bool c14n_ok = c14n && in_list(c14n, c14n_methods);
	if (!c14n_ok)
		conn_sign__fail(v->err, CONN_SIGN_EINVALID, "canonicalisation '%.80s' is not allowed",
		                c14n ? c14n : "(missing)");
	xmlFree(c14n);
	if (!c14n_ok)
		return CONN_SIGN_EINVALID;
	int rc = algorithm_check(conn_sign__xml_child(si, DSIG, "SignatureMethod"), signature_methods, "signature",
	                         "SignedInfo", v->err);
	int n_data = 0, n_props = 0, index = 0;
	for (xmlNodePtr r = si->children; rc == 0 && r; r = r->next)
		if (conn_sign__xml_is(r, DSIG, "Reference"))
			rc = reference_check(v, r, index++, &n_data, &n_props);
	if (rc == 0 && (n_data != 1 || n_props != 1))
		rc = conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                     "wrong reference: expected one reference to the data and one to the XAdES "
		                     "SignedProperties, found %d and %d",
		                     n_data, n_props);
	return rc;
}

/* The SignedProperties must be this signature's: Signature/Object/QualifyingProperties
 * with Target="#<Signature Id>". */
static int properties_check(struct verify *v)
{
	xmlNodePtr qp = v->props ? v->props->parent : NULL;
	if (!conn_sign__xml_is(v->props, CONN_XADES_NS, "SignedProperties") ||
	    !conn_sign__xml_is(qp, CONN_XADES_NS, "QualifyingProperties") ||
	    !conn_sign__xml_is(qp->parent, DSIG, "Object") || qp->parent->parent != v->sig)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "wrong reference: the SignedProperties reference does not designate this "
		                       "signature's xades:QualifyingProperties/xades:SignedProperties");
	char *target = attr(qp, "Target"), *id = attr(v->sig, "Id");
	bool ok = target && id && target[0] == '#' && strcmp(target + 1, id) == 0;
	xmlFree(target);
	xmlFree(id);
	if (!ok)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "QualifyingProperties/@Target does not name this signature's Id");
	return 0;
}

static const EVP_MD *digest_of(const xmlNode *method)
{
	char *uri = attr(method, "Algorithm");
	const EVP_MD *md = NULL;
	if (uri && strcmp(uri, digests[0].uri) == 0)
		md = EVP_sha256();
	else if (uri && strcmp(uri, digests[1].uri) == 0)
		md = EVP_sha384();
	else if (uri && strcmp(uri, digests[2].uri) == 0)
		md = EVP_sha512();
	xmlFree(uri);
	return md;
}

static int keyinfo_certs(struct verify *v)
{
	v->certs = sk_X509_new_null();
	xmlNodePtr data = conn_sign__xml_child(conn_sign__xml_child(v->sig, DSIG, "KeyInfo"), DSIG, "X509Data");
	for (xmlNodePtr c = data ? data->children : NULL; v->certs && c; c = c->next) {
		if (!conn_sign__xml_is(c, DSIG, "X509Certificate"))
			continue;
		xmlChar *b64 = xmlNodeGetContent(c);
		unsigned char *der = NULL;
		long n = b64 ? conn_sign__b64_decode(&der, (const char *)b64) : -1;
		const unsigned char *p = der;
		X509 *x = n > 0 ? d2i_X509(NULL, &p, n) : NULL;
		xmlFree(b64);
		free(der);
		if (!x)
			return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "KeyInfo holds an unreadable X509Certificate");
		if (!sk_X509_push(v->certs, x)) {
			X509_free(x);
			break;
		}
	}
	if (!v->certs)
		return conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	return 0;
}

/* Picks the KeyInfo certificate whose digest the signed SigningCertificate(V2) carries. */
static int signer_find(struct verify *v)
{
	int rc = keyinfo_certs(v);
	if (rc != 0)
		return rc;
	xmlNodePtr ssp = conn_sign__xml_child(v->props, CONN_XADES_NS, "SignedSignatureProperties");
	xmlNodePtr sc = conn_sign__xml_child(ssp, CONN_XADES_NS, "SigningCertificateV2");
	if (!sc)
		sc = conn_sign__xml_child(ssp, CONN_XADES_NS, "SigningCertificate");
	xmlNodePtr digest = conn_sign__xml_child(conn_sign__xml_child(sc, CONN_XADES_NS, "Cert"), CONN_XADES_NS,
	                                         "CertDigest");
	if (!digest)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "not XAdES-BES: the SignedProperties have no SigningCertificate digest");
	xmlNodePtr method = conn_sign__xml_child(digest, DSIG, "DigestMethod");
	if ((rc = algorithm_check(method, digests, "digest", "SigningCertificate", v->err)) != 0)
		return rc;
	xmlChar *b64 = xmlNodeGetContent(conn_sign__xml_child(digest, DSIG, "DigestValue"));
	unsigned char *want = NULL;
	long want_len = b64 ? conn_sign__b64_decode(&want, (const char *)b64) : -1;
	xmlFree(b64);
	for (int i = 0; want_len > 0 && i < sk_X509_num(v->certs) && !v->cert; i++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		X509 *x = sk_X509_value(v->certs, i);
		if (X509_digest(x, digest_of(method), md, &n) == 1 && n == (unsigned)want_len && memcmp(md, want, n) == 0)
			v->cert = x;
	}
	free(want);
	if (!v->cert)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "the SigningCertificate digest matches no certificate in KeyInfo");
	return 0;
}

static void reference_failure(struct verify *v, xmlSecDSigCtxPtr ctx)
{
	xmlSecSize n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
	for (xmlSecSize i = 0; i < n; i++) {
		xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
		if (!r || r->status == xmlSecDSigStatusSucceeded)
			continue;
		if ((int)i == v->data_index)
			conn_sign__fail(v->err, CONN_SIGN_EINVALID,
			                "bad digest: the signed content (reference '%.80s') was modified after signing",
			                r->uri ? (const char *)r->uri : "");
		else
			conn_sign__fail(v->err, CONN_SIGN_EINVALID, "bad digest: the XAdES SignedProperties were modified");
		return;
	}
	conn_sign__fail(v->err, CONN_SIGN_EINVALID,
	                "bad signature value: SignedInfo was modified or signed with another key");
}

/* The bytes the caller gets: the decoded base64 of a TF02 CONTENT element, otherwise the
 * canonical bytes xmlsec digested for the data reference. */
static int content_take(struct verify *v, xmlSecDSigCtxPtr ctx, struct conn_sign_report *out)
{
	char *encoding = attr(v->data, "Encoding");
	bool base64 = encoding && strstr(encoding, "base64");
	xmlFree(encoding);
	if (base64) {
		xmlChar *text = xmlNodeGetContent(v->data);
		long n = text ? conn_sign__b64_decode(&out->content, (const char *)text) : -1;
		xmlFree(text);
		if (n < 0)
			return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "the signed CONTENT is not valid base64");
		out->content_len = (size_t)n;
		return 0;
	}
	xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, (xmlSecSize)v->data_index);
	xmlSecBufferPtr buf = r ? xmlSecDSigReferenceCtxGetPreDigestBuffer(r) : NULL;
	if (!buf)
		return conn_sign__fail(v->err, CONN_SIGN_EFAIL, "xmlsec kept no copy of the signed content");
	out->content_len = xmlSecBufferGetSize(buf);
	out->content = malloc(out->content_len + 1);
	if (!out->content)
		return conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	memcpy(out->content, xmlSecBufferGetData(buf), out->content_len);
	return 0;
}

/* After xmlsec: the URIs must still designate the nodes we checked and read from. */
static int nodes_recheck(struct verify *v)
{
	for (int i = 0; i < 2; i++) {
		char *uri = attr(v->refs[i], "URI");
		xmlNodePtr now = NULL;
		int rc = uri_resolve(&now, v, uri);
		xmlFree(uri);
		if (rc != 0 || now != (i == 0 ? v->data : v->props))
			return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
			                       "a reference designates another node than the one verified");
	}
	return 0;
}

static int crypto_check(struct verify *v, struct conn_sign_report *out)
{
	xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
	if (!ctx)
		return conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	ctx->signKey = conn_sign__xmlsec_key(X509_get0_pubkey(v->cert), NULL, NULL);
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
	ctx->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES | XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
	int rc;
	if (!ctx->signKey)
		rc = conn_sign__fail(v->err, CONN_SIGN_EFAIL, "out of memory");
	else if (xmlSecDSigCtxVerify(ctx, v->sig) < 0)
		rc = conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                     "xmlsec could not process the signature (malformed ds:Signature or key type)");
	else if (ctx->status != xmlSecDSigStatusSucceeded) {
		reference_failure(v, ctx);
		rc = CONN_SIGN_EINVALID;
	} else if ((rc = nodes_recheck(v)) == 0)
		rc = content_take(v, ctx, out);
	xmlSecDSigCtxDestroy(ctx);
	ERR_clear_error();
	return rc;
}

static void text_copy(char *out, size_t size, xmlNodePtr node)
{
	xmlChar *text = node ? xmlNodeGetContent(node) : NULL;
	const char *t = text ? (const char *)text : "";
	t += strspn(t, " \t\r\n");
	if (strncmp(t, "urn:oid:", 8) == 0)
		t += 8;
	snprintf(out, size, "%s", t);
	out[strcspn(out, " \t\r\n")] = '\0';
	xmlFree(text);
}

static void properties_read(struct verify *v, struct conn_sign_report *out)
{
	xmlNodePtr ssp = conn_sign__xml_child(v->props, CONN_XADES_NS, "SignedSignatureProperties");
	text_copy(out->signing_time, sizeof(out->signing_time), conn_sign__xml_child(ssp, CONN_XADES_NS, "SigningTime"));
	xmlNodePtr n = conn_sign__xml_child(ssp, CONN_XADES_NS, "SignaturePolicyIdentifier");
	n = conn_sign__xml_child(n, CONN_XADES_NS, "SignaturePolicyId");
	n = conn_sign__xml_child(n, CONN_XADES_NS, "SigPolicyId");
	text_copy(out->policy, sizeof(out->policy), conn_sign__xml_child(n, CONN_XADES_NS, "Identifier"));
}

/* XAdES-T: a SignatureTimeStamp, when present, must be a valid token over the canonical
 * SignatureValue from a TSA of the trust store. */
static int timestamp_check(struct verify *v, const struct conn_sign_trust *trust, struct conn_sign_report *out)
{
	xmlNodePtr n = conn_sign__xml_child(v->props->parent, CONN_XADES_NS, "UnsignedProperties");
	n = conn_sign__xml_child(n, CONN_XADES_NS, "UnsignedSignatureProperties");
	xmlNodePtr ts = conn_sign__xml_child(n, CONN_XADES_NS, "SignatureTimeStamp");
	if (!ts)
		return 0;
	char *c14n = attr(conn_sign__xml_child(ts, DSIG, "CanonicalizationMethod"), "Algorithm");
	bool c14n_ok = !c14n || strcmp(c14n, CONN_XADES_C14N) == 0;
	xmlFree(c14n);
	if (!c14n_ok)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID,
		                       "signature timestamp: only inclusive Canonical XML 1.0 is supported");
	xmlChar *b64 = xmlNodeGetContent(conn_sign__xml_child(ts, CONN_XADES_NS, "EncapsulatedTimeStamp"));
	unsigned char *token = NULL, *value = NULL;
	size_t value_len = 0;
	long token_len = b64 ? conn_sign__b64_decode(&token, (const char *)b64) : -1;
	xmlFree(b64);
	int rc = token_len > 0 ? 0 : conn_sign__fail(v->err, CONN_SIGN_EINVALID, "signature timestamp: unreadable token");
	if (rc == 0)
		rc = conn_sign__c14n_subtree(&value, &value_len, conn_sign__xml_child(v->sig, DSIG, "SignatureValue"), v->err);
	struct conn_tsa_info info;
	if (rc == 0 && (rc = conn_tsa_verify(&info, token, (size_t)token_len, value, value_len, trust, v->err)) != 0) {
		char reason[sizeof(v->err->msg)];
		snprintf(reason, sizeof(reason), "%s", v->err->msg);
		conn_sign__fail(v->err, rc, "signature timestamp: %.200s", reason);
	}
	if (rc == 0)
		snprintf(out->timestamp, sizeof(out->timestamp), "%s", info.time);
	free(token);
	free(value);
	return rc;
}

static int verify_steps(struct verify *v, const unsigned char *detached, size_t detached_len,
                        const struct conn_sign_trust *trust, struct conn_sign_report *out)
{
	int rc, count = 0;
	if ((rc = ids_register(xmlDocGetRootElement(v->doc), v->err)) != 0)
		return rc;
	signatures_find(xmlDocGetRootElement(v->doc), &v->sig, &count);
	if (count != 1)
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, count == 0 ? "no ds:Signature: the document is not signed"
		                                                              : "%d ds:Signature elements: only one is accepted",
		                       count);
	if ((rc = signed_info_check(v)) != 0 || (rc = properties_check(v)) != 0 || (rc = signer_find(v)) != 0 ||
	    (rc = crypto_check(v, out)) != 0)
		return rc;
	if (detached && (detached_len != out->content_len || memcmp(detached, out->content, detached_len) != 0))
		return conn_sign__fail(v->err, CONN_SIGN_EINVALID, "the detached data differs from the signed content");
	if ((rc = conn_sign__chain_check(trust, v->cert, v->certs, 0, "signer", v->err)) != 0)
		return rc;
	conn_sign__report_signer(out, v->cert);
	properties_read(v, out);
	return timestamp_check(v, trust, out);
}

int conn_sign_xades_verify(struct conn_sign_report *out, const unsigned char *xml, size_t len,
                           const unsigned char *detached, size_t detached_len,
                           const struct conn_sign_trust *trust, struct conn_sign_error *err)
{
	memset(out, 0, sizeof(*out));
	struct verify v = {.err = err, .data_index = -1};
	int rc = conn_sign__xmlsec_init(err);
	if (rc == 0 && (rc = conn_sign__xml_parse(&v.doc, xml, len, err)) == 0)
		rc = verify_steps(&v, detached, detached_len, trust, out);
	if (rc != 0)
		conn_sign_report_clear(out);
	sk_X509_pop_free(v.certs, X509_free);
	xmlFreeDoc(v.doc);
	return rc;
}
