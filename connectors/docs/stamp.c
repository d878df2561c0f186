/* The time stamp of an issued document's seal (CAdES-T): the imprint is the SHA-256 of the
 * seal's signature value, so the token proves the seal existed at genTime. Invariant: nothing
 * is returned unless connectors/tsa accepted the reply (status, nonce, imprint, signature). */
#include <openssl/cms.h>
#include <stdio.h>
#include <string.h>

#include "connectors/config.h"
#include "connectors/tsa/tsa.h"
#include "issued.h"

int conn_doc_seal_timestamp(unsigned char **token, size_t *len, char gen_time[32],
                            const unsigned char *seal, size_t seal_len, const char *tsa_url,
                            struct conn_error *err)
{
	*token = NULL;
	*len = 0;
	gen_time[0] = '\0';
	if (!tsa_url || !*tsa_url)
		return conn__errorf(err, CONN_EINVALID, "time stamp: no TSA URL (TRAMIT_TSA_URL)");
	const unsigned char *p = seal;
	CMS_ContentInfo *cms = seal ? d2i_CMS_ContentInfo(NULL, &p, (long)seal_len) : NULL;
	STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
	CMS_SignerInfo *si = sis && sk_CMS_SignerInfo_num(sis) > 0 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
	ASN1_OCTET_STRING *sig = si ? CMS_SignerInfo_get0_signature(si) : NULL;
	int rc = 0;
	if (!sig || sig->length <= 0) {
		rc = conn__errorf(err, CONN_EINVALID, "time stamp: the seal is not a CMS signature "
		                  "with a signer");
		goto done;
	}
	struct conn_tsa_peer peer = {.url = tsa_url};
	struct conn_tsa_info info = {0};
	struct conn_sign_error e = {0};
	if (conn_tsa_stamp(token, len, &peer, sig->data, (size_t)sig->length, NULL, &info, &e) != 0) {
		rc = conn__errorf(err, e.code == CONN_SIGN_EINVALID ? CONN_EINVALID : CONN_EUNAVAILABLE,
		                  "time stamp from %.100s: %s", tsa_url, e.msg);
		goto done;
	}
	snprintf(gen_time, 32, "%s", info.time);
done:
	CMS_ContentInfo_free(cms);
	return rc;
}
