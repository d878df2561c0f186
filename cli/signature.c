/* `tramit signature sign|verify`: XAdES and CAdES signatures for operators and cross-checks.
 * verify prints what the signature says and exits 0, or prints the precise reason and exits 1;
 * usage errors exit 2. The format of a file to verify is read from its first byte. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "connectors/sign/sign.h"

static const char sign_usage[] =
	"usage: tramit signature sign --format xades|cades [--detached]\n"
	"         [--policy OID --policy-hash BASE64-SHA256 [--policy-uri URI]] [--tsa URL]\n"
	"         --key KEY.pem --cert CERT.pem IN OUT\n"
	"       tramit signature verify FILE [--data DETACHED] --trust CA.pem\n";

static int usage(void)
{
	fputs(sign_usage, stderr);
	return 2;
}

/* Takes "--name VALUE" at argv[*i] into *out; returns true if argv[*i] was that option. */
static bool option(int argc, char **argv, int *i, const char *name, const char **out)
{
	if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
		return false;
	*out = argv[++*i];
	return true;
}

static int file_write(const char *path, const unsigned char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "tramit signature: cannot write %s\n", path);
	return ok ? 0 : 1;
}

struct sign_args {
	const char *format, *key, *cert;
	const char *files[2];  /* IN and OUT */
	struct conn_sign_policy policy;
	struct conn_sign_options opt;
};

static int sign_parse(struct sign_args *a, int argc, char **argv)
{
	int n = 0;
	for (int i = 2; i < argc; i++) {
		if (option(argc, argv, &i, "--format", &a->format) || option(argc, argv, &i, "--key", &a->key) ||
		    option(argc, argv, &i, "--cert", &a->cert) || option(argc, argv, &i, "--policy", &a->policy.oid) ||
		    option(argc, argv, &i, "--policy-hash", &a->policy.hash_b64) ||
		    option(argc, argv, &i, "--policy-uri", &a->policy.uri) || option(argc, argv, &i, "--tsa", &a->opt.tsa_url))
			continue;
		if (strcmp(argv[i], "--detached") == 0)
			a->opt.detached = true;
		else if (argv[i][0] != '-' && n < 2)
			a->files[n++] = argv[i];
		else
			return usage();
	}
	if (n != 2 || !a->format || !a->key || !a->cert || (strcmp(a->format, "xades") && strcmp(a->format, "cades")))
		return usage();
	if (!a->policy.oid != !a->policy.hash_b64 || (a->policy.uri && !a->policy.oid)) {
		fprintf(stderr, "tramit signature sign: --policy needs --policy-hash (and --policy-uri needs both)\n");
		return 2;
	}
	a->opt.policy = a->policy.oid ? &a->policy : NULL;
	return 0;
}

static int sign_run(int argc, char **argv)
{
	struct sign_args a = {0};
	int status = sign_parse(&a, argc, argv);
	if (status != 0)
		return status;
	struct conn_sign_error err = {0};
	struct conn_sign_signer *signer = NULL;
	unsigned char *sig = NULL;
	size_t in_len = 0, sig_len = 0;
	char *in = cat_file_read(a.files[0], &in_len);
	status = 1;
	if (!in) {
		fprintf(stderr, "tramit signature sign: cannot read %s\n", a.files[0]);
		goto done;
	}
	if (conn_sign_signer_load(&signer, a.key, a.cert, &err) != 0 ||
	    (strcmp(a.format, "xades") == 0
	         ? conn_sign_xades(&sig, &sig_len, signer, (unsigned char *)in, in_len, &a.opt, &err)
	         : conn_sign_cades(&sig, &sig_len, signer, (unsigned char *)in, in_len, &a.opt, &err)) != 0) {
		fprintf(stderr, "tramit signature sign: %s: %s\n", a.files[0], err.msg);
		goto done;
	}
	status = file_write(a.files[1], sig, sig_len);
done:
	free(sig);
	conn_sign_signer_free(signer);
	free(in);
	return status;
}

static void report_print(const char *format, const struct conn_sign_report *r)
{
	printf("valid %s signature\nsubject: %s\n", format, r->subject);
	if (r->nif[0])
		printf("nif: %s\n", r->nif);
	if (r->signing_time[0])
		printf("signing time: %s\n", r->signing_time);
	if (r->policy[0])
		printf("policy: %s\n", r->policy);
	if (r->timestamp[0])
		printf("timestamp: %s\n", r->timestamp);
}

static int verify_run(int argc, char **argv)
{
	const char *file = NULL, *data_path = NULL, *trust_path = NULL;
	for (int i = 2; i < argc; i++) {
		if (option(argc, argv, &i, "--data", &data_path) || option(argc, argv, &i, "--trust", &trust_path))
			continue;
		if (argv[i][0] == '-' || file)
			return usage();
		file = argv[i];
	}
	if (!file || !trust_path)
		return usage();
	struct conn_sign_error err = {0};
	struct conn_sign_trust *trust = NULL;
	struct conn_sign_report report = {0};
	size_t len = 0, data_len = 0;
	char *sig = cat_file_read(file, &len), *data = data_path ? cat_file_read(data_path, &data_len) : NULL;
	int status = 1;
	if (!sig || (data_path && !data)) {
		fprintf(stderr, "tramit signature verify: cannot read %s\n", !sig ? file : data_path);
		goto done;
	}
	size_t lead = strspn(sig, " \t\r\n\xef\xbb\xbf");
	bool xml = lead < len && sig[lead] == '<';
	if (conn_sign_trust_load(&trust, trust_path, &err) != 0 ||
	    (xml ? conn_sign_xades_verify(&report, (unsigned char *)sig, len, (unsigned char *)data, data_len, trust, &err)
	         : conn_sign_cades_verify(&report, (unsigned char *)sig, len, (unsigned char *)data, data_len, trust,
	                                  &err)) != 0) {
		fprintf(stderr, "tramit signature verify: %s: %s\n", file, err.msg);
		goto done;
	}
	report_print(xml ? "XAdES" : "CAdES", &report);
	status = 0;
done:
	conn_sign_report_clear(&report);
	conn_sign_trust_free(trust);
	free(sig);
	free(data);
	return status;
}

int cli_signature(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return sign_run(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return verify_run(argc, argv);
	return usage();
}
