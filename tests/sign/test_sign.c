/* Signatures and timestamps against tools nobody here wrote: our XAdES checked by `xmlsec1`,
 * xmlsec1's by us; our CAdES by `openssl cms`, OpenSSL's by us; our TSA's tokens by `openssl ts`
 * and `openssl ts -reply`'s by us, the client talking HTTP to a real TSA on loopback. Hostile
 * inputs are refused with their exact reason. The PKI is made once per run by make_pki.sh. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/shell.h"

#define HERE TRAMIT_SOURCE_DIR "/tests/sign"
#define CITIZEN "subject: CN=GARCIA JOAN - 12345678Z,SN=GARCIA,GN=JOAN,serialNumber=IDCES-12345678Z,C=ES\nnif: 12345678Z\n"
#define SEAL "subject: CN=Segell de l'Ajuntament de Prova,O=Ajuntament de Prova,C=ES\n"
#define AGE_POLICY "--policy 2.16.724.1.3.1.1.2.1.9 --policy-hash Dkx2R3nMv8kWo7iSAh+/1SQ70hfseOEaQbpJnURk+pg="

/* Made in the runner before the tests start; Criterion's workers may be fresh processes, so
 * they learn the folder and the TSA's port from the environment (see env_read). */
static char dir[64];
static pid_t peer;
static int port;

static void env_read(void)
{
	const char *d = getenv("TRAMIT_SIGN_DIR"), *p = getenv("TRAMIT_SIGN_PORT");
	cr_assert(d && p, "the PKI was not made");
	snprintf(dir, sizeof(dir), "%s", d);
	port = atoi(p);
}

static void peer_start(void)
{
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	peer = fork();
	cr_assert_geq(peer, 0);
	if (peer == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl("/usr/bin/python3", "python3", HERE "/tsa_peer.py", dir, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	cr_assert(f && fscanf(f, "%d", &port) == 1, "the TSA peer did not start");
	fclose(f);
	char text[16];
	snprintf(text, sizeof(text), "%d", port);
	setenv("TRAMIT_SIGN_PORT", text, 1);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	strcpy(dir, "/tmp/tramit-sign-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	setenv("TRAMIT_SIGN_DIR", dir, 1);
	char *out;
	int rc = shell_run(&out, NULL, "%s/make_pki.sh %s 2>&1 && printf 'binary\\001data\\n' > %s/data.bin && "
	                   "printf '<?xml version=\"1.0\"?>\\n<doc><a Id=\"x\">hola</a></doc>\\n' > %s/doc.xml",
	                   HERE, dir, dir, dir);
	cr_assert_eq(rc, 0, "make_pki.sh: %s", out);
	free(out);
	peer_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	if (peer > 0) {
		kill(peer, SIGTERM);
		waitpid(peer, NULL, 0);
	}
	char *out;
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}

/* A copy of s where the value of every "signing time: ", "timestamp: " and "time: " line is
 * "*" (the clock's); malloc'd. */
static char *mask_times(const char *s)
{
	static const char *const keys[] = {"signing time: ", "timestamp: ", "time: ", NULL};
	char *out = malloc(2 * strlen(s) + 1), *w = out; /* a masked line may grow by one byte */
	cr_assert_not_null(out);
	for (const char *line = s; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);
		const char *const *k = keys;
		while (*k && strncmp(line, *k, strlen(*k)) != 0)
			k++;
		size_t keep = *k ? strlen(*k) : len;
		memcpy(w, line, keep);
		w += keep;
		if (*k)
			w += sprintf(w, end ? "*\n" : "*");
		line += len;
	}
	*w = '\0';
	return out;
}

/* Runs cmd in the PKI folder with stderr folded into stdout (a part of cmd may send its own
 * elsewhere); expects the exit status and, unless want is NULL, the exact output. */
static void expect(int status, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void expect(int status, const char *want, const char *fmt, ...)
{
	char cmd[4096], *out;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = shell_run(&out, NULL, "cd %s && { %s; } 2>&1", dir, cmd);
	char *masked = mask_times(out);
	cr_expect_eq(rc, status, "%s: exit %d, output:\n%s", cmd, rc, out);
	if (want)
		cr_expect_str_eq(masked, want, "%s\ngot:\n%s", cmd, out);
	free(masked);
	free(out);
}

#define T TRAMIT_BINARY

TestSuite(xades, .init = env_read);
TestSuite(cades, .init = env_read);
TestSuite(usage, .init = env_read);
TestSuite(timestamp, .init = env_read);

/* --- XAdES --- */

Test(xades, enveloped_by_us_verifies_with_xmlsec1_and_with_us)
{
	expect(0, "", T " signature sign --format xades --key citizen.key --cert citizen.pem doc.xml env.xml");
	expect(0, NULL, "xmlsec1 --verify --trusted-pem ca.pem env.xml");
	expect(0, "valid XAdES signature\n" CITIZEN "signing time: *\n", T " signature verify env.xml --trust ca.pem");
}

Test(xades, detached_with_policy_by_us_verifies_with_xmlsec1_and_with_us)
{
	expect(0, "", T " signature sign --format xades --detached " AGE_POLICY
	               " --policy-uri https://sede.administracion.gob.es/politica_de_firma_anexo_1.pdf"
	               " --key seal.key --cert seal.pem data.bin det.xml");
	expect(0, NULL, "xmlsec1 --verify --trusted-pem ca.pem --id-attr:Id CONTENT det.xml");
	expect(0, "valid XAdES signature\n" SEAL "signing time: *\npolicy: 2.16.724.1.3.1.1.2.1.9\n",
	       T " signature verify det.xml --data data.bin --trust ca.pem");
}

Test(xades, detached_data_that_differs_from_the_signed_content_is_refused)
{
	expect(0, "", T " signature sign --format xades --detached --key seal.key --cert seal.pem data.bin det1.xml");
	expect(1, "tramit signature verify: det1.xml: the detached data differs from the signed content\n",
	       T " signature verify det1.xml --data doc.xml --trust ca.pem");
}

Test(xades, signed_by_xmlsec1_from_a_template_verifies_with_us)
{
	expect(0, "", "sed \"s|@CERT_DIGEST@|$(openssl x509 -in citizen.pem -outform DER | openssl dgst -sha256 -binary "
	              "| base64)|\" %s/xmlsec_template.xml > tmpl.xml && "
	              "xmlsec1 --sign --privkey-pem citizen.key,citizen.pem --output xs.xml tmpl.xml",
	       HERE);
	expect(0, "valid XAdES signature\n" CITIZEN "signing time: *\npolicy: 2.16.724.1.3.1.1.2.1.9\n",
	       T " signature verify xs.xml --trust ca.pem");
	expect(0, "", "sed 's/12,50/12,90/' xs.xml > xs-bad.xml");
	expect(1, NULL, "xmlsec1 --verify --trusted-pem ca.pem xs-bad.xml");
	expect(1, "tramit signature verify: xs-bad.xml: bad digest: the signed content (reference '') was modified "
	          "after signing\n",
	       T " signature verify xs-bad.xml --trust ca.pem");
}

Test(xades, one_tampered_byte_fails_in_xmlsec1_and_in_us)
{
	expect(0, "", T " signature sign --format xades --key citizen.key --cert citizen.pem doc.xml t.xml && "
	              "sed 's/hola/hole/' t.xml > t-bad.xml");
	expect(1, NULL, "xmlsec1 --verify --trusted-pem ca.pem t-bad.xml");
	expect(1, "tramit signature verify: t-bad.xml: bad digest: the signed content (reference '') was modified "
	          "after signing\n",
	       T " signature verify t-bad.xml --trust ca.pem");
	expect(0, "", "sed 's/<xades:SigningTime>2/<xades:SigningTime>1/' t.xml > t-props.xml");
	expect(1, "tramit signature verify: t-props.xml: bad digest: the XAdES SignedProperties were modified\n",
	       T " signature verify t-props.xml --trust ca.pem");
}

Test(xades, a_signer_from_an_untrusted_ca_is_refused)
{
	expect(0, "", T " signature sign --format xades --key stranger.key --cert stranger.pem doc.xml u.xml");
	expect(1, NULL, "xmlsec1 --verify --trusted-pem ca.pem u.xml");
	expect(1, "tramit signature verify: u.xml: untrusted certificate: the signer chain of "
	          "'CN=STRANGER,serialNumber=IDCES-00000000T,C=ES' does not lead to a trusted CA\n",
	       T " signature verify u.xml --trust ca.pem");
}

Test(xades, an_expired_certificate_is_refused)
{
	expect(0, "", T " signature sign --format xades --key expired.key --cert expired.pem doc.xml e.xml");
	expect(1, "tramit signature verify: e.xml: expired certificate: the signer chain's 'CN=EXPIRED SIGNER' "
	          "expired on 2021-01-01T00:00:00Z\n",
	       T " signature verify e.xml --trust ca.pem");
}

Test(xades, a_sha1_digest_is_refused)
{
	expect(0, "", T " signature sign --format xades --key citizen.key --cert citizen.pem doc.xml s.xml && "
	              "sed '0,/xmlenc#sha256/s//xmldsig#sha1/' s.xml | sed 's|2001/04/xmldsig#sha1|2000/09/xmldsig#sha1|' "
	              "> s1.xml");
	expect(1, "tramit signature verify: s1.xml: weak digest algorithm SHA-1 in reference '': SHA-256 or stronger "
	          "required\n",
	       T " signature verify s1.xml --trust ca.pem");
	expect(0, "", "sed 's|xmldsig-more#rsa-sha256|xmldsig#rsa-sha1|; s|2001/04/xmldsig#rsa-sha1|2000/09/xmldsig#rsa-sha1|' "
	              "s.xml > s2.xml");
	expect(1, "tramit signature verify: s2.xml: weak signature algorithm RSA-SHA1 in SignedInfo: SHA-256 or "
	          "stronger required\n",
	       T " signature verify s2.xml --trust ca.pem");
}

Test(xades, a_doctype_with_an_external_entity_is_refused)
{
	expect(0, "", "printf '<?xml version=\"1.0\"?>\\n<!DOCTYPE doc [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\\n"
	              "<doc>&x;</doc>\\n' > xxe.xml");
	expect(1, "tramit signature verify: xxe.xml: DOCTYPE refused: DTDs and entity declarations are not accepted in "
	          "signed XML\n",
	       T " signature verify xxe.xml --trust ca.pem");
	expect(1, "tramit signature sign: xxe.xml: DOCTYPE refused: DTDs and entity declarations are not accepted in "
	          "signed XML\n",
	       T " signature sign --format xades --key seal.key --cert seal.pem xxe.xml xxe-signed.xml");
}

Test(xades, a_wrapped_copy_with_the_same_id_is_refused)
{
	/* The signed CONTENT moves into <Hidden>; an unsigned one with the same Id takes its place. */
	expect(0, "", T " signature sign --format xades --detached --key citizen.key --cert citizen.pem data.bin w.xml && "
	              "c=$(grep -o '<CONTENT [^>]*>[^<]*</CONTENT>' w.xml) && "
	              "evil=$(printf '%%s' \"$c\" | sed 's/>[^<]*</>ZXZpbA==</') && "
	              "awk -v c=\"$c\" -v e=\"$evil\" '{i=index($0,c); if(i){$0=substr($0,1,i-1) e substr($0,i+length(c))} "
	              "sub(\"</AFIRMA>\",\"<Hidden>\" c \"</Hidden></AFIRMA>\"); print}' w.xml > w-bad.xml && "
	              "grep -c ZXZpbA== w-bad.xml >/dev/null");
	char *out;
	shell_run(&out, NULL, "cd %s && grep -o 'Id=\"CONTENT-[0-9a-f]*' w.xml | cut -c5-", dir);
	out[strcspn(out, "\n")] = '\0';
	char want[256];
	snprintf(want, sizeof(want),
	         "tramit signature verify: w-bad.xml: duplicate Id '%s': refused as a possible signature wrapping\n", out);
	expect(1, want, T " signature verify w-bad.xml --trust ca.pem");
	free(out);
}

Test(xades, a_reference_to_an_external_file_is_refused)
{
	expect(0, "", T " signature sign --format xades --detached --key seal.key --cert seal.pem data.bin x.xml && "
	              "sed 's|URI=\"#CONTENT-[0-9a-f]*\"|URI=\"file:///etc/passwd\"|' x.xml > x-bad.xml");
	expect(1, "tramit signature verify: x-bad.xml: wrong reference: URI 'file:///etc/passwd' is not a same-document "
	          "reference (\"\" or \"#id\")\n",
	       T " signature verify x-bad.xml --trust ca.pem");
}

Test(xades, a_substituted_certificate_is_refused)
{
	expect(0, "", T " signature sign --format xades --key citizen.key --cert citizen.pem doc.xml k.xml && "
	              "other=$(grep -v -- '-----' stranger.pem | tr -d '\\n') && "
	              "tr -d '\\n' < k.xml | sed \"s|<ds:X509Certificate>[^<]*<|<ds:X509Certificate>$other<|\" > k-bad.xml");
	expect(1, "tramit signature verify: k-bad.xml: the SigningCertificate digest matches no certificate in "
	          "KeyInfo\n",
	       T " signature verify k-bad.xml --trust ca.pem");
}

/* --- CAdES --- */

Test(cades, detached_by_us_verifies_with_openssl_cms_and_with_us)
{
	expect(0, "", T " signature sign --format cades --detached --key citizen.key --cert citizen.pem data.bin d.p7s");
	expect(0, NULL, "openssl cms -verify -binary -inform DER -in d.p7s -content data.bin -CAfile ca.pem -out /dev/null");
	expect(0, "valid CAdES signature\n" CITIZEN "signing time: *\n",
	       T " signature verify d.p7s --data data.bin --trust ca.pem");
}

Test(cades, attached_with_policy_by_us_verifies_with_openssl_cms_and_with_us)
{
	expect(0, "", T " signature sign --format cades " AGE_POLICY " --key seal.key --cert seal.pem data.bin a.p7s");
	expect(0, NULL, "openssl cms -verify -binary -inform DER -in a.p7s -CAfile ca.pem -out a.out && cmp a.out data.bin");
	expect(0, "valid CAdES signature\n" SEAL "signing time: *\npolicy: 2.16.724.1.3.1.1.2.1.9\n",
	       T " signature verify a.p7s --trust ca.pem");
}

Test(cades, made_by_openssl_cms_verifies_with_us)
{
	expect(0, "", "openssl cms -sign -binary -md sha256 -cades -nodetach -signer citizen.pem -inkey citizen.key "
	              "-in data.bin -outform DER -out o.p7s && "
	              "openssl cms -sign -binary -md sha256 -cades -signer citizen.pem -inkey citizen.key "
	              "-in data.bin -outform DER -out od.p7s");
	expect(0, "valid CAdES signature\n" CITIZEN "signing time: *\n", T " signature verify o.p7s --trust ca.pem");
	expect(0, "valid CAdES signature\n" CITIZEN "signing time: *\n",
	       T " signature verify od.p7s --data data.bin --trust ca.pem");
}

Test(cades, plain_cms_without_a_signing_certificate_attribute_is_refused)
{
	expect(0, "", "openssl cms -sign -binary -md sha256 -nodetach -signer citizen.pem -inkey citizen.key "
	              "-in data.bin -outform DER -out p.p7s");
	expect(1, "tramit signature verify: p.p7s: not CAdES-BES: no signing-certificate(-v2) attribute binds the "
	          "signer's certificate\n",
	       T " signature verify p.p7s --trust ca.pem");
}

Test(cades, tampered_content_fails_in_openssl_cms_and_in_us)
{
	expect(0, "", T " signature sign --format cades --detached --key citizen.key --cert citizen.pem data.bin t.p7s && "
	              "printf 'binary\\001dbta\\n' > data-bad.bin");
	expect(4, NULL, "openssl cms -verify -binary -inform DER -in t.p7s -content data-bad.bin -CAfile ca.pem "
	                "-out /dev/null");
	expect(1, "tramit signature verify: t.p7s: bad digest: the content differs from what was signed\n",
	       T " signature verify t.p7s --data data-bad.bin --trust ca.pem");
}

Test(cades, sha1_expired_and_untrusted_signers_are_refused)
{
	expect(0, "", "openssl cms -sign -binary -md sha1 -cades -nodetach -signer citizen.pem -inkey citizen.key "
	              "-in data.bin -outform DER -out w1.p7s");
	expect(1, "tramit signature verify: w1.p7s: weak digest algorithm SHA1 in the signer info: SHA-256 or stronger "
	          "required\n",
	       T " signature verify w1.p7s --trust ca.pem");
	expect(0, "", T " signature sign --format cades --key expired.key --cert expired.pem data.bin x.p7s");
	expect(1, "tramit signature verify: x.p7s: expired certificate: the signer chain's 'CN=EXPIRED SIGNER' expired "
	          "on 2021-01-01T00:00:00Z\n",
	       T " signature verify x.p7s --trust ca.pem");
	expect(1, "tramit signature verify: x.p7s: untrusted certificate: the signer chain of 'CN=EXPIRED SIGNER' does "
	          "not lead to a trusted CA\n",
	       T " signature verify x.p7s --trust rogue.pem");
}

Test(usage, errors_exit_2)
{
	expect(2, NULL, T " signature verify d.p7s");
	expect(2, NULL, T " signature sign --format pades --key seal.key --cert seal.pem data.bin z");
	expect(2, NULL, T " timestamp verify tok.tst --trust ca.pem");
}

/* --- timestamps --- */

Test(timestamp, builtin_tsa_tokens_verify_with_openssl_ts_and_with_us)
{
	expect(0, "time: *\npolicy: 1.2.3.4.5\n", T " timestamp request --key tsa.key --cert tsa.pem --policy 1.2.3.4.5 "
	                                            "--data data.bin --out b.tst --trust ca.pem | head -2");
	expect(0, "Verification: OK\n", "openssl ts -verify -data data.bin -in b.tst -token_in -CAfile ca.pem "
	                                "-untrusted tsa.pem 2>/dev/null");
	expect(0, NULL, T " timestamp verify b.tst --data data.bin --trust ca.pem");
	expect(1, "tramit timestamp verify: b.tst: the timestamp is for another hash than the data's\n",
	       T " timestamp verify b.tst --data doc.xml --trust ca.pem");
	expect(1, "tramit timestamp verify: b.tst: untrusted certificate: the TSA chain of "
	          "'CN=Tramit Test TSA,O=Tramit Test,C=ES' does not lead to a trusted CA\n",
	       T " timestamp verify b.tst --data data.bin --trust rogue.pem");
}

Test(timestamp, builtin_tsa_serial_numbers_differ)
{
	expect(0, "", T " timestamp request --key tsa.key --cert tsa.pem --data data.bin --out s1.tst | grep serial > s1 && "
	              T " timestamp request --key tsa.key --cert tsa.pem --data data.bin --out s2.tst | grep serial > s2 && "
	              "! cmp -s s1 s2");
}

Test(timestamp, a_certificate_without_timestamping_usage_cannot_run_the_tsa)
{
	expect(1, "tramit timestamp request: citizen.pem: a TSA certificate needs a critical extendedKeyUsage of "
	          "timeStamping only\n",
	       T " timestamp request --key citizen.key --cert citizen.pem --data data.bin --out c.tst");
}

Test(timestamp, openssl_ts_reply_tokens_verify_with_us)
{
	expect(0, "", "openssl ts -query -data data.bin -sha256 -cert -out q.tsq 2>/dev/null && "
	              "openssl ts -reply -config tsa.cnf -queryfile q.tsq -token_out -out o.tst 2>/dev/null");
	expect(0, "valid timestamp\ntime: *\npolicy: 1.3.6.1.4.1.61468.9.9\n",
	       T " timestamp verify o.tst --data data.bin --trust ca.pem | head -3");
}

Test(timestamp, the_client_gets_a_token_from_a_tsa_over_http)
{
	expect(0, "time: *\npolicy: 1.3.6.1.4.1.61468.9.9\n",
	       T " timestamp request --url http://127.0.0.1:%d/ --data data.bin --out h.tst --trust ca.pem | head -2", port);
	expect(0, "Verification: OK\n", "openssl ts -verify -data data.bin -in h.tst -token_in -CAfile ca.pem "
	                                "-untrusted tsa.pem 2>/dev/null");
}

Test(timestamp, the_client_rejects_a_reply_for_another_hash_or_nonce)
{
	expect(1, "tramit timestamp request: the timestamp is for another hash than the data's\n",
	       T " timestamp request --url http://127.0.0.1:%d/other-hash --data data.bin --out x.tst", port);
	expect(1, "tramit timestamp request: the TSA's reply carries another nonce than our request\n",
	       T " timestamp request --url http://127.0.0.1:%d/other-nonce --data data.bin --out x.tst", port);
}

Test(timestamp, xades_t_carries_a_verified_signature_timestamp)
{
	expect(0, "", T " signature sign --format xades --tsa http://127.0.0.1:%d/ --key citizen.key --cert citizen.pem "
	                "doc.xml xt.xml",
	       port);
	expect(0, NULL, "xmlsec1 --verify --trusted-pem ca.pem xt.xml");
	expect(0, "valid XAdES signature\n" CITIZEN "signing time: *\ntimestamp: *\n",
	       T " signature verify xt.xml --trust ca.pem");
	/* A token taken from another signature covers another SignatureValue. */
	expect(0, "", T " signature sign --format xades --tsa http://127.0.0.1:%d/ --key seal.key --cert seal.pem "
	                "doc.xml xt2.xml && other=$(grep -o '<xades:EncapsulatedTimeStamp>[^<]*' xt2.xml | cut -c30-) && "
	                "sed \"s|<xades:EncapsulatedTimeStamp>[^<]*|<xades:EncapsulatedTimeStamp>$other|\" xt.xml > xt-bad.xml",
	       port);
	expect(1, "tramit signature verify: xt-bad.xml: signature timestamp: the timestamp is for another hash than the "
	          "data's\n",
	       T " signature verify xt-bad.xml --trust ca.pem");
}
