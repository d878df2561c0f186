/* `tramit timestamp request|verify`: RFC 3161 tokens from a TSA over HTTP or from the built-in
 * TSA (--key/--cert), and their verification. verify exits 0 with what the token says, or 1
 * with the precise reason; usage errors exit 2. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "connectors/tsa/tsa.h"

static const char timestamp_usage[] =
	"usage: tramit timestamp request (--url URL | --key TSA-KEY.pem --cert TSA-CERT.pem [--policy OID])\n"
	"         --data FILE --out TOKEN [--trust CA.pem]\n"
	"       tramit timestamp verify TOKEN --data FILE --trust CA.pem\n";

static int usage(void)
{
	fputs(timestamp_usage, stderr);
	return 2;
}

static bool option(int argc, char **argv, int *i, const char *name, const char **out)
{
	if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
		return false;
	*out = argv[++*i];
	return true;
}

static void info_print(const struct conn_tsa_info *info)
{
	printf("time: %s\npolicy: %s\nserial: %s\ntsa: %s\n", info->time, info->policy, info->serial, info->tsa);
}

struct request_args {
	const char *url, *key, *cert, *policy, *data, *out, *trust;
};

static int request_parse(struct request_args *a, int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!option(argc, argv, &i, "--url", &a->url) && !option(argc, argv, &i, "--key", &a->key) &&
		    !option(argc, argv, &i, "--cert", &a->cert) && !option(argc, argv, &i, "--policy", &a->policy) &&
		    !option(argc, argv, &i, "--data", &a->data) && !option(argc, argv, &i, "--out", &a->out) &&
		    !option(argc, argv, &i, "--trust", &a->trust))
			return usage();
	bool local = a->key || a->cert || a->policy;
	if (!a->data || !a->out || !a->url == !local || (local && (!a->key || !a->cert)))
		return usage();
	return 0;
}

static int request_run(int argc, char **argv)
{
	struct request_args a = {0};
	int status = request_parse(&a, argc, argv);
	if (status != 0)
		return status;
	struct conn_sign_error err = {0};
	struct conn_sign_trust *trust = NULL;
	struct conn_tsa_peer peer = {.url = a.url};
	struct conn_tsa_info info = {0};
	unsigned char *token = NULL;
	size_t len = 0, token_len = 0;
	char *data = cat_file_read(a.data, &len);
	status = 1;
	if (!data) {
		fprintf(stderr, "tramit timestamp request: cannot read %s\n", a.data);
		goto done;
	}
	if ((a.trust && conn_sign_trust_load(&trust, a.trust, &err) != 0) ||
	    (a.key && conn_tsa_server_open(&peer.server, a.key, a.cert, a.policy, &err) != 0) ||
	    conn_tsa_stamp(&token, &token_len, &peer, (unsigned char *)data, len, trust, &info, &err) != 0) {
		fprintf(stderr, "tramit timestamp request: %s\n", err.msg);
		goto done;
	}
	FILE *f = fopen(a.out, "wb");
	bool ok = f && fwrite(token, 1, token_len, f) == token_len;
	if ((f && fclose(f) != 0) || !ok) {
		fprintf(stderr, "tramit timestamp request: cannot write %s\n", a.out);
		goto done;
	}
	info_print(&info);
	status = 0;
done:
	free(token);
	conn_tsa_server_free(peer.server);
	conn_sign_trust_free(trust);
	free(data);
	return status;
}

static int verify_run(int argc, char **argv)
{
	const char *token_path = NULL, *data_path = NULL, *trust_path = NULL;
	for (int i = 2; i < argc; i++) {
		if (option(argc, argv, &i, "--data", &data_path) || option(argc, argv, &i, "--trust", &trust_path))
			continue;
		if (argv[i][0] == '-' || token_path)
			return usage();
		token_path = argv[i];
	}
	if (!token_path || !data_path || !trust_path)
		return usage();
	struct conn_sign_error err = {0};
	struct conn_sign_trust *trust = NULL;
	struct conn_tsa_info info = {0};
	size_t token_len = 0, len = 0;
	char *token = cat_file_read(token_path, &token_len), *data = cat_file_read(data_path, &len);
	int status = 1;
	if (!token || !data) {
		fprintf(stderr, "tramit timestamp verify: cannot read %s\n", !token ? token_path : data_path);
		goto done;
	}
	if (conn_sign_trust_load(&trust, trust_path, &err) != 0 ||
	    conn_tsa_verify(&info, (unsigned char *)token, token_len, (unsigned char *)data, len, trust, &err) != 0) {
		fprintf(stderr, "tramit timestamp verify: %s: %s\n", token_path, err.msg);
		goto done;
	}
	printf("valid timestamp\n");
	info_print(&info);
	status = 0;
done:
	conn_sign_trust_free(trust);
	free(token);
	free(data);
	return status;
}

int cli_timestamp(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "request") == 0)
		return request_run(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return verify_run(argc, argv);
	return usage();
}
