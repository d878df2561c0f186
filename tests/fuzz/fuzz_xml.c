/* Fuzzes what peers send as XML or CMS: a SICRES 3.0 interchange file (conn_sicres_read) and
 * citizens' XAdES and CAdES signatures (conn_sign_xades_verify, conn_sign_cades_verify). The
 * seeds are a file our writer made and signatures `tramit signature sign` made at test time
 * with a throw-away PKI (signed.sh). An input's first byte picks the reader. Invariants: a
 * refusal always says why; a verified signature reports the signer and the content it covers;
 * and no mutant of a signed seed verifies unless its signed bytes are intact. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sicres/sicres.h"
#include "connectors/sign/sign.h"
#include "driver.h"

static struct fuzz_seed seeds[4];
static struct conn_sign_trust *trust;
static unsigned char *signed_content; /* what the seeds signed */
static size_t signed_len;

static const char *const dictionary[] = {
	"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", "&e;", "<![CDATA[", "]]>", "<?xml",
	"Id=\"", "URI=\"", "URI=\"#", "URI=\"http://", "xmlns=\"", "<ds:Reference", "</ds:Reference>",
	"<ds:Object>", "http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/04/xmlenc#sha256",
	"<De_Anexo>", "</De_Anexo>", "<Hash>", "</Hash>", "<Anexo>", "=", "==", "\x30\x82", "\x06\x09",
	"\xa0\x80", "\x00\x00", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "xml", .seeds = seeds, .n_seeds = 0, .dictionary = dictionary, .iterations = 6000,
	.max_len = 65536,
};

static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: %s: %s missing\n", fuzz_harness.name, path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n + 2);
	size_t got = fread(b + 1, 1, (size_t)n, f);
	fclose(f);
	*len = got + 1;
	return b; /* b[0] is left for the selector */
}

/* A SICRES file our writer makes, so the reader's seed is one it accepts. */
static char *sicres_seed(size_t *len)
{
	static const char content[] = "%PDF-1.4\n%%EOF\n";
	struct conn_sicres_party party = {.doc_type = "N", .doc_id = "12345678Z", .name = "Maria",
	                                  .surname1 = "Puig", .email = "maria@example.org"};
	struct conn_sicres_annex annex = {.file_name = "plànol.pdf", .file_id = "ANX-1", .doc_type = "02",
	                                  .mime = "application/pdf",
	                                  .hash_b64 = "", .content = (const unsigned char *)content,
	                                  .len = sizeof(content) - 1};
	struct conn_sicres_record r = {
		.origin_code = "L01462508", .origin_name = "Ajuntament de València",
		.entry_number = "E/2026/000123", .entry_time = "20261127101500",
		.destination_code = "L01030149", .destination_name = "Ajuntament d'Alacant",
		.parties = &party, .n_parties = 1, .summary = "Instància general",
		.annexes = &annex, .n_annexes = 1, .user_name = "registre", .exchange_id =
		"L01462508_26_00000001", .annotation_type = "02", .record_type = "0",
		.physical_docs = "3", .test_flag = "1", .start_code = "L01462508",
		.start_name = "Ajuntament de València", .expone = "Fets", .solicita = "Petició",
	};
	char *out = NULL;
	struct conn_sicres_error err = {0};
	unsigned char md[32];
	static char hash[48];
	SHA256((const unsigned char *)content, sizeof(content) - 1, md);
	EVP_EncodeBlock((unsigned char *)hash, md, 32);
	annex.hash_b64 = hash;
	if (conn_sicres_write(&out, len, &r, &err) != 0) {
		fprintf(stderr, "fuzz: sicres seed: %s\n", err.msg);
		return NULL;
	}
	char *b = malloc(*len + 1);
	memcpy(b + 1, out, *len);
	free(out);
	*len += 1;
	return b;
}

int fuzz_init(const char *dir)
{
	if (!dir)
		return -1;
	char ca[1024];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	struct conn_sign_error serr = {0};
	if (conn_sign_trust_load(&trust, ca, &serr) != 0) {
		fprintf(stderr, "fuzz: trust: %s\n", serr.msg);
		return -1;
	}
	size_t n;
	unsigned char *b;
	if (!(b = slurp(dir, "signed.xml", &n)))
		return -1;
	b[0] = 'x';
	seeds[0] = (struct fuzz_seed){(const char *)b, n};
	if (!(b = slurp(dir, "signed.p7s", &n)))
		return -1;
	b[0] = 'c';
	seeds[1] = (struct fuzz_seed){(const char *)b, n};
	if (!(signed_content = slurp(dir, "content.xml", &signed_len)))
		return -1;
	signed_len -= 1;
	memmove(signed_content, signed_content + 1, signed_len);
	char *s = sicres_seed(&n);
	if (!s)
		return -1;
	s[0] = 's';
	seeds[2] = (struct fuzz_seed){s, n};
	seeds[3] = (struct fuzz_seed){"x<?xml version=\"1.0\"?><a/>", 0};
	fuzz_harness.n_seeds = 4;
	/* The three real seeds must pass, or the harness would only ever test refusals. */
	for (int i = 0; i < 3; i++) {
		const unsigned char *in = (const unsigned char *)seeds[i].data + 1;
		size_t len = seeds[i].len - 1;
		struct conn_sign_report rep = {0};
		struct conn_sicres_error xerr = {0};
		struct eng_arena a = {0};
		struct conn_sicres_record r;
		int rc = i == 0 ? conn_sign_xades_verify(&rep, in, len, NULL, 0, trust, &serr)
		       : i == 1 ? conn_sign_cades_verify(&rep, in, len, signed_content, signed_len, trust, &serr)
		       : conn_sicres_read(&r, &a, in, len, &xerr);
		conn_sign_report_clear(&rep);
		eng_arena_free(&a);
		if (rc != 0) {
			fprintf(stderr, "fuzz: xml: seed %d refused: %s\n", i, i < 2 ? serr.msg : xerr.msg);
			return -1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const unsigned char *in = data + 1;
	size_t len = size - 1;
	if (data[0] == 's') {
		struct eng_arena a = {0};
		struct conn_sicres_record r;
		struct conn_sicres_error err = {0};
		if (conn_sicres_read(&r, &a, in, len, &err) != 0 && !err.msg[0])
			fuzz_fail("a refused SICRES file with no reason");
		eng_arena_free(&a);
		return 0;
	}
	struct conn_sign_report rep = {0};
	struct conn_sign_error err = {0};
	int rc = data[0] == 'x' ? conn_sign_xades_verify(&rep, in, len, NULL, 0, trust, &err)
	       : conn_sign_cades_verify(&rep, in, len, signed_content, signed_len, trust, &err);
	if (rc != 0 && !err.msg[0])
		fuzz_fail("a refused signature with no reason");
	if (rc == 0 && (!rep.subject[0] || !rep.content))
		fuzz_fail("a verified signature without its signer or content");
	conn_sign_report_clear(&rep);
	return 0;
}
