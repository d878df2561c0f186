/* bench/seals: how many documents the municipality's seal signs per second, as XAdES
 * (enveloped, a receipt-sized XML document) and as CAdES (detached, a 100 KiB PDF-sized
 * payload), and how many of our XAdES signatures verify per second. Run by bench/seals.sh,
 * which measures `openssl speed rsa2048` in the same run as the yardstick: an RSA-2048
 * signature is the floor of every seal.
 * Usage: bench_seals KEY.pem CERT.pem CA.pem [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/sign/sign.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const struct conn_sign_error *err)
{
	fprintf(stderr, "bench_seals: %s: %s\n", what, err->msg);
	exit(1);
}

/* Signs (or verifies) for `seconds`; returns operations per second. */
static double rate(const char *what, double seconds, const struct conn_sign_signer *signer,
                   const struct conn_sign_trust *trust, const unsigned char *data, size_t len,
                   bool cades, const unsigned char *signed_doc, size_t signed_len)
{
	struct conn_sign_error err = {0};
	struct conn_sign_options opt = {.detached = cades};
	long n = 0;
	double t0 = now_s(), t;
	do {
		if (signed_doc) {
			struct conn_sign_report report = {0};
			if (conn_sign_xades_verify(&report, signed_doc, signed_len, NULL, 0, trust, &err) != 0)
				fail(what, &err);
			conn_sign_report_clear(&report);
		} else {
			unsigned char *out = NULL;
			size_t out_len = 0;
			int rc = cades ? conn_sign_cades(&out, &out_len, signer, data, len, &opt, &err)
			               : conn_sign_xades(&out, &out_len, signer, data, len, &opt, &err);
			if (rc != 0)
				fail(what, &err);
			free(out);
		}
		n++;
		t = now_s();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_seals KEY.pem CERT.pem CA.pem [SECONDS]\n");
		return 2;
	}
	double seconds = argc > 4 ? atof(argv[4]) : 3;
	struct conn_sign_error err = {0};
	struct conn_sign_signer *signer = NULL;
	struct conn_sign_trust *trust = NULL;
	if (conn_sign_signer_load(&signer, argv[1], argv[2], &err) != 0)
		fail("loading the seal", &err);
	if (conn_sign_trust_load(&trust, argv[3], &err) != 0)
		fail("loading the trust store", &err);
	/* A receipt-sized document, and a payload the size of a small PDF. */
	char xml[4096];
	int len = snprintf(xml, sizeof(xml), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<justificant>");
	for (int i = 0; i < 40; i++)
		len += snprintf(xml + len, sizeof(xml) - (size_t)len, "<camp n=\"%d\">Valor del camp %d</camp>", i, i);
	len += snprintf(xml + len, sizeof(xml) - (size_t)len, "</justificant>\n");
	size_t pdf_len = 100 * 1024;
	unsigned char *pdf = malloc(pdf_len);
	for (size_t i = 0; i < pdf_len; i++)
		pdf[i] = (unsigned char)(i * 31 + 7);
	unsigned char *signed_doc = NULL;
	size_t signed_len = 0;
	struct conn_sign_options opt = {0};
	if (conn_sign_xades(&signed_doc, &signed_len, signer, (unsigned char *)xml, (size_t)len, &opt, &err) != 0)
		fail("signing the sample", &err);
	printf("xades_sign %.0f\n", rate("XAdES", seconds, signer, trust, (unsigned char *)xml, (size_t)len,
	                                 false, NULL, 0));
	printf("cades_sign %.0f\n", rate("CAdES", seconds, signer, trust, pdf, pdf_len, true, NULL, 0));
	printf("xades_verify %.0f\n", rate("verify", seconds, signer, trust, NULL, 0, false, signed_doc,
	                                   signed_len));
	free(signed_doc);
	free(pdf);
	conn_sign_signer_free(signer);
	conn_sign_trust_free(trust);
	return 0;
}
