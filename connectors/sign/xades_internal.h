/* Internals of the XAdES code: hardened parsing, subtree canonicalisation and xmlsec keys.
 * Only connectors/sign/xades_*.c include this. */
#ifndef CONN_XADES_INTERNAL_H
#define CONN_XADES_INTERNAL_H

#include <libxml/tree.h>
#include <xmlsec/keys.h>

#include "sign_internal.h"

#define CONN_XADES_NS "http://uri.etsi.org/01903/v1.3.2#"
#define CONN_XADES_SIGNED_PROPS_TYPE "http://uri.etsi.org/01903#SignedProperties"
#define CONN_XADES_C14N "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define CONN_XADES_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
/* The internally detached (ENI TF02) wrapper, named as AutoFirma names it so that Spanish
 * validators recognise it: <AFIRMA><CONTENT Id=.. Encoding="base64">..</CONTENT><ds:Signature/>. */
#define CONN_XADES_WRAPPER "AFIRMA"
#define CONN_XADES_CONTENT "CONTENT"

/* Parses xml with no network, no DTD loading and no entity substitution, and refuses any
 * DOCTYPE outright (the parser stops at it, before its declarations are read). Returns 0 or
 * CONN_SIGN_EINVALID with the reason. */
int conn_sign__xml_parse(xmlDocPtr *out, const unsigned char *xml, size_t len, struct conn_sign_error *err);

/* Inclusive Canonical XML 1.0 of node's subtree (as XAdES time-stamps the SignatureValue).
 * *out is malloc'd. Returns 0 or CONN_SIGN_EFAIL. */
int conn_sign__c14n_subtree(unsigned char **out, size_t *len, xmlNodePtr node, struct conn_sign_error *err);

/* The first element child of node named (ns, name), or NULL. */
xmlNodePtr conn_sign__xml_child(xmlNodePtr node, const char *ns, const char *name);
/* Whether node is an element named (ns, name). */
int conn_sign__xml_is(const xmlNode *node, const char *ns, const char *name);

/* An xmlsec key for pk (and, when cert is not NULL, with cert and chain for X509Data).
 * The OpenSSL objects are not taken over. NULL when out of memory. */
xmlSecKeyPtr conn_sign__xmlsec_key(EVP_PKEY *pk, X509 *cert, STACK_OF(X509) *chain);

#endif
