/* The XML side shared by XAdES signing and verification: one-time xmlsec set-up, a parser that
 * never reads a DTD or the network, subtree canonicalisation and keys handed to xmlsec.
 * Invariant: no document reaches xmlsec unless it went through conn_sign__xml_parse. */
#include "xades_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/xmlsec.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static void init_xmlsec(void)
{
	xmlInitParser();
	/* xmlsec reports through its own callback to stderr; reasons come back in our errors. */
	xmlSecErrorsDefaultCallbackEnableOutput(0);
	if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 ||
	    xmlSecCryptoInit() < 0)
		return;
	init_status = 0;
}

int conn_sign__xmlsec_init(struct conn_sign_error *err)
{
	pthread_once(&init_once, init_xmlsec);
	if (init_status != 0)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "cannot initialise xmlsec with its OpenSSL back end");
	return 0;
}

/* SAX hook called when the parser meets <!DOCTYPE: stop before any declaration is read. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *public_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

int conn_sign__xml_parse(xmlDocPtr *out, const unsigned char *xml, size_t len, struct conn_sign_error *err)
{
	*out = NULL;
	if (len > INT_MAX)
		return conn_sign__fail(err, CONN_SIGN_EINVALID, "the XML document is too large (%zu bytes)", len);
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return conn_sign__fail(err, CONN_SIGN_EFAIL, "out of memory");
	bool doctype = false;
	ctxt->_private = &doctype;
	ctxt->sax->internalSubset = refuse_doctype;
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, NULL, NULL,
	                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int rc = 0;
	if (doctype) {
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID,
		                     "DOCTYPE refused: DTDs and entity declarations are not accepted in signed XML");
	} else if (!doc || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "unknown error";
		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "not well-formed XML: line %d: %s", e ? e->line : 0, msg);
	} else if (!xmlDocGetRootElement(doc)) {
		rc = conn_sign__fail(err, CONN_SIGN_EINVALID, "the XML document has no root element");
	}
	if (rc != 0) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	*out = doc;
	return rc;
}

/* Visibility for xmlC14NExecute: node (or, for a namespace node, its element) lies in root's
 * subtree. Attributes share xmlNode's layout up to parent. */
static int in_subtree(void *root, xmlNodePtr node, xmlNodePtr parent)
{
	xmlNodePtr n = node && node->type != XML_NAMESPACE_DECL ? node : parent;
	for (; n; n = n->parent)
		if (n == root)
			return 1;
	return 0;
}

int conn_sign__c14n_subtree(unsigned char **out, size_t *len, xmlNodePtr node, struct conn_sign_error *err)
{
	*out = NULL;
	xmlOutputBufferPtr buf = xmlAllocOutputBuffer(NULL);
	int rc = CONN_SIGN_EFAIL;
	if (!buf || xmlC14NExecute(node->doc, in_subtree, node, XML_C14N_1_0, NULL, 0, buf) < 0) {
		conn_sign__fail(err, rc, "cannot canonicalise <%s>", (const char *)node->name);
		goto done;
	}
	*len = xmlOutputBufferGetSize(buf);
	*out = malloc(*len + 1);
	if (!*out) {
		conn_sign__fail(err, rc, "out of memory");
		goto done;
	}
	memcpy(*out, xmlOutputBufferGetContent(buf), *len);
	rc = 0;
done:
	if (buf)
		xmlOutputBufferClose(buf);
	return rc;
}

int conn_sign__xml_is(const xmlNode *node, const char *ns, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && node->ns &&
	       strcmp((const char *)node->ns->href, ns) == 0 && strcmp((const char *)node->name, name) == 0;
}

xmlNodePtr conn_sign__xml_child(xmlNodePtr node, const char *ns, const char *name)
{
	for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
		if (conn_sign__xml_is(c, ns, name))
			return c;
	return NULL;
}

static int adopt_cert(xmlSecKeyDataPtr x509, X509 *cert, bool key_cert)
{
	X509 *copy = X509_dup(cert);
	int rc = copy ? (key_cert ? xmlSecOpenSSLKeyDataX509AdoptKeyCert(x509, copy)
	                          : xmlSecOpenSSLKeyDataX509AdoptCert(x509, copy))
	              : -1;
	if (rc < 0)
		X509_free(copy);
	return rc;
}

xmlSecKeyPtr conn_sign__xmlsec_key(EVP_PKEY *pk, X509 *cert, STACK_OF(X509) *chain)
{
	EVP_PKEY *dup = xmlSecOpenSSLEvpKeyDup(pk);
	xmlSecKeyDataPtr value = dup ? xmlSecOpenSSLEvpKeyAdopt(dup) : NULL;
	xmlSecKeyPtr key = value ? xmlSecKeyCreate() : NULL;
	if (!key || xmlSecKeySetValue(key, value) < 0) {
		if (value)
			xmlSecKeyDataDestroy(value);
		else
			EVP_PKEY_free(dup);
		xmlSecKeyDestroy(key);
		return NULL;
	}
	if (!cert)
		return key;
	/* X509Data is written from the certificate list, so the signer's certificate goes there
	 * first, then the rest of its chain. */
	xmlSecKeyDataPtr x509 = xmlSecKeyEnsureData(key, xmlSecOpenSSLKeyDataX509Id);
	bool ok = x509 && adopt_cert(x509, cert, true) == 0 && adopt_cert(x509, cert, false) == 0;
	for (int i = 0; ok && i < sk_X509_num(chain); i++)
		ok = adopt_cert(x509, sk_X509_value(chain, i), false) == 0;
	if (!ok) {
		xmlSecKeyDestroy(key);
		return NULL;
	}
	return key;
}
