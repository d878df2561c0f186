/* CAdES-BES upgraded to CAdES-T (conn_sign_cades_add_timestamp), with tokens from the built-in
 * TSA (`tramit timestamp request`): the upgraded signature still verifies with `openssl cms`,
 * our verifier reports the token's time, and a token over anything but the signature value,
 * or a second token, is refused. */
#include <criterion/criterion.h>
#include <openssl/cms.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/sign/sign.h"
#include "tests/support/shell.h"

#define HERE TRAMIT_SOURCE_DIR "/tests/sign"

static char dir[64];

static void pki(void)
{
	strcpy(dir, "/tmp/tramit-cadest-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "%s/make_pki.sh %s 2>&1 && printf 'resolució\\n' > %s/doc.txt", HERE, dir, dir),
	             0, "make_pki.sh: %s", out);
	free(out);
}

static void cleanup(void)
{
	char *out;
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

TestSuite(cades_t, .init = pki, .fini = cleanup, .timeout = 60);

static unsigned char *slurp(const char *name, size_t *len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	unsigned char *buf = malloc(65536);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static void spill(const char *name, const unsigned char *data, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A CAdES-BES detached seal over doc.txt, and the built-in TSA's token over file `over`
 * (NULL: the seal's signature value). Returns the token's time as `tramit` printed it. */
static void seal_and_stamp(unsigned char **seal, size_t *seal_len, const char *over, char time[40])
{
	char key[128], cert[128];
	snprintf(key, sizeof(key), "%s/seal.key", dir);
	snprintf(cert, sizeof(cert), "%s/seal.pem", dir);
	struct conn_sign_signer *signer;
	struct conn_sign_error err = {0};
	cr_assert_eq(conn_sign_signer_load(&signer, key, cert, &err), 0, "%s", err.msg);
	size_t doc_len;
	unsigned char *doc = slurp("doc.txt", &doc_len);
	struct conn_sign_options opt = {.detached = true};
	cr_assert_eq(conn_sign_cades(seal, seal_len, signer, doc, doc_len, &opt, &err), 0, "%s", err.msg);
	conn_sign_signer_free(signer);
	free(doc);
	spill("seal.p7s", *seal, *seal_len);
	const unsigned char *p = *seal;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)*seal_len);
	ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0));
	spill("sigvalue.bin", value->data, (size_t)value->length);
	CMS_ContentInfo_free(cms);
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "cd %s && %s timestamp request --key tsa.key --cert tsa.pem --data %s "
	                       "--out token.tst 2>&1 | sed -n 's/^time: //p'", dir, TRAMIT_BINARY,
	                       over ? over : "sigvalue.bin"), 0, "%s", out);
	snprintf(time, 40, "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	cr_assert_neq(time[0], '\0', "the TSA printed no time");
}

Test(cades_t, the_token_goes_into_the_seal_which_still_verifies)
{
	unsigned char *seal, *t;
	size_t seal_len, t_len, token_len;
	char time[40];
	seal_and_stamp(&seal, &seal_len, NULL, time);
	unsigned char *token = slurp("token.tst", &token_len);
	struct conn_sign_error err = {0};
	cr_assert_eq(conn_sign_cades_add_timestamp(&t, &t_len, seal, seal_len, token, token_len, &err), 0, "%s", err.msg);
	cr_assert_gt(t_len, seal_len + token_len);
	spill("seal-t.p7s", t, t_len);

	/* OpenSSL's CMS still verifies it, and our verifier checks the token and says when. */
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "cd %s && openssl cms -verify -binary -inform DER -in seal-t.p7s -content "
	                       "doc.txt -CAfile ca.pem -purpose any -out /dev/null 2>&1", dir), 0, "%s", out);
	free(out);
	size_t doc_len;
	unsigned char *doc = slurp("doc.txt", &doc_len);
	char ca[128];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	struct conn_sign_trust *trust;
	cr_assert_eq(conn_sign_trust_load(&trust, ca, &err), 0, "%s", err.msg);
	struct conn_sign_report report;
	cr_assert_eq(conn_sign_cades_verify(&report, t, t_len, doc, doc_len, trust, &err), 0, "%s", err.msg);
	cr_expect_str_eq(report.timestamp, time);
	cr_expect_str_eq(report.subject, "CN=Segell de l'Ajuntament de Prova,O=Ajuntament de Prova,C=ES");
	conn_sign_report_clear(&report);
	/* The BES seal had none. */
	cr_assert_eq(conn_sign_cades_verify(&report, seal, seal_len, doc, doc_len, trust, &err), 0, "%s", err.msg);
	cr_expect_str_eq(report.timestamp, "");
	conn_sign_report_clear(&report);

	/* A second time stamp is refused. */
	unsigned char *twice;
	size_t twice_len;
	cr_expect_eq(conn_sign_cades_add_timestamp(&twice, &twice_len, t, t_len, token, token_len, &err),
	             CONN_SIGN_EINVALID);
	cr_expect_str_eq(err.msg, "the signature already carries a signature time stamp");
	cr_expect_null(twice);
	conn_sign_trust_free(trust);
	free(doc);
	free(token);
	free(seal);
	free(t);
}

Test(cades_t, a_token_over_other_data_or_not_a_token_is_refused)
{
	unsigned char *seal, *t;
	size_t seal_len, t_len, token_len;
	char time[40];
	seal_and_stamp(&seal, &seal_len, "doc.txt", time); /* over the document, not the signature value */
	unsigned char *token = slurp("token.tst", &token_len);
	struct conn_sign_error err = {0};
	cr_expect_eq(conn_sign_cades_add_timestamp(&t, &t_len, seal, seal_len, token, token_len, &err),
	             CONN_SIGN_EINVALID);
	cr_expect_str_eq(err.msg, "the time-stamp token does not cover this signature's value (SHA-256 imprint)");
	cr_expect_null(t);
	cr_expect_eq(conn_sign_cades_add_timestamp(&t, &t_len, seal, seal_len, (const unsigned char *)"\x30\x03\x02\x01\x01",
	                                           5, &err), CONN_SIGN_EINVALID);
	cr_expect_str_eq(err.msg, "not an RFC 3161 time-stamp token");
	cr_expect_eq(conn_sign_cades_add_timestamp(&t, &t_len, token, token_len, token, token_len, &err),
	             CONN_SIGN_EINVALID, "a token is no CAdES signature of one signer with signed attributes");
	free(token);
	free(seal);
}
