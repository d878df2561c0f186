/* A folder of hostile XAdES documents (tests/sign/hostile.sh makes them at run time from real
 * signatures): each is refused with its precise reason, in under 100 ms and 10 MiB, by the
 * library the server and `tramit signature verify` use. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "connectors/sign/sign.h"
#include "tests/support/shell.h"

#define HERE TRAMIT_SOURCE_DIR "/tests/sign"

/* The file, and the reason it must be refused with (a prefix when the rest names a random Id). */
static const struct {
	const char *file, *reason;
	bool prefix;
} cases[] = {
	{"01-xxe.xml", "DOCTYPE refused: DTDs and entity declarations are not accepted in signed XML", false},
	{"02-billion-laughs.xml", "DOCTYPE refused: DTDs and entity declarations are not accepted in signed XML", false},
	{"03-doctype-before-signature.xml", "DOCTYPE refused: DTDs and entity declarations are not accepted in signed XML", false},
	{"04-file-reference.xml", "wrong reference: URI 'file:///etc/passwd' is not a same-document reference (\"\" or \"#id\")", false},
	{"05-http-reference.xml", "wrong reference: URI 'http://127.0.0.1:9/x' is not a same-document reference (\"\" or \"#id\")", false},
	{"06-sha1-digest.xml", "weak digest algorithm SHA-1 in reference '': SHA-256 or stronger required", false},
	{"07-md5-digest.xml", "weak digest algorithm MD5 in reference '': SHA-256 or stronger required", false},
	{"08-rsa-sha1-method.xml", "weak signature algorithm RSA-SHA1 in SignedInfo: SHA-256 or stronger required", false},
	{"09-wrapping-duplicate-id.xml", "duplicate Id 'CONTENT-", true},
	{"10-key-substitution.xml", "the SigningCertificate digest matches no certificate in KeyInfo", false},
	{"11-signed-properties-changed.xml", "bad digest: the XAdES SignedProperties were modified", false},
	{"12-two-signatures.xml", "duplicate Id 'Signature-", true},
};

static char dir[64];

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	unsigned char *buf = malloc(*len + 1);
	cr_assert_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static long max_rss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

Test(hostile, every_hostile_document_is_refused_with_its_reason_quickly_and_in_little_memory,
     .timeout = 120)
{
	strcpy(dir, "/tmp/tramit-hostile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char *out;
	int rc = shell_run(&out, NULL, "%s/make_pki.sh %s 2>&1 && printf 'binary\\001data\\n' > %s/data.bin && "
	                   "printf '<?xml version=\"1.0\"?>\\n<doc><a Id=\"x\">hola</a></doc>\\n' > %s/doc.xml && "
	                   "%s/hostile.sh %s %s 2>&1", HERE, dir, dir, dir, HERE, dir, TRAMIT_BINARY);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	char path[256];
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	struct conn_sign_trust *trust = NULL;
	struct conn_sign_error err = {0};
	cr_assert_eq(conn_sign_trust_load(&trust, path, &err), 0, "%s", err.msg);
	long base = max_rss_kb();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		snprintf(path, sizeof(path), "%s/hostile/%s", dir, cases[i].file);
		unsigned char *xml = slurp(path, &len);
		struct conn_sign_report report = {0};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = conn_sign_xades_verify(&report, xml, len, NULL, 0, trust, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		cr_expect_neq(rc, 0, "%s was accepted", cases[i].file);
		if (cases[i].prefix)
			cr_expect(strncmp(err.msg, cases[i].reason, strlen(cases[i].reason)) == 0 &&
			          strstr(err.msg, "refused as a possible signature wrapping"),
			          "%s: %s", cases[i].file, err.msg);
		else
			cr_expect_str_eq(err.msg, cases[i].reason, "%s", cases[i].file);
		cr_expect_lt(ms, 100.0, "%s took %.1f ms", cases[i].file, ms);
		cr_expect_lt(max_rss_kb() - base, 10 * 1024, "%s: %ld KiB more", cases[i].file, max_rss_kb() - base);
		conn_sign_report_clear(&report);
		free(xml);
	}
	conn_sign_trust_free(trust);
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
}
