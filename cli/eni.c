/* `tramit eni export EXPEDIENT_ID --key SEAL_KEY.pem --cert SEAL_CERT.pem -o DIR [--url BASE]`
 * writes an expedient as an ENI export folder with its index sealed; `tramit eni verify DIR
 * --trust CA.pem` checks the seal and every document's SHA-256 against the index and names the
 * first problem. Exit 0 when done or valid, 1 otherwise, 2 on usage errors. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "connectors/eni/eni.h"

static int usage(void)
{
	fprintf(stderr, "usage: tramit eni export EXPEDIENT_ID --key SEAL_KEY.pem --cert SEAL_CERT.pem "
	                "-o DIR [--url BASE]\n"
	                "       tramit eni verify DIR --trust CA.pem\n");
	return 2;
}

/* Options are "--name VALUE" pairs after the positional argument; names[i] fills values[i]. */
static int parse(int argc, char **argv, const char *const *names, const char **values, size_t n,
                 const char **positional)
{
	*positional = NULL;
	for (int i = 2; i < argc; i++) {
		size_t k = 0;
		while (k < n && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k < n) {
			if (i + 1 >= argc)
				return -1;
			values[k] = argv[++i];
		} else if (!*positional && argv[i][0] != '-') {
			*positional = argv[i];
		} else {
			return -1;
		}
	}
	return *positional ? 0 : -1;
}

static int load(struct conn_eni_expedient **x, const char *id)
{
	struct eng_pgcluster cluster;
	char conninfo[1024];
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	int status = 1;
	PGconn *conn = PQconnectdb(conninfo);
	struct conn_eni_error err = {0};
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "tramit: eni export: database: %s", PQerrorMessage(conn));
	else if (conn_eni_expedient_load(x, conn, id, &err) != 0)
		fprintf(stderr, "tramit: eni export: %s\n", err.msg);
	else
		status = 0;
	PQfinish(conn);
	cli_database_close(&cluster);
	return status;
}

static int export(int argc, char **argv)
{
	static const char *const names[] = {"--key", "--cert", "-o", "--url"};
	const char *v[4] = {0}, *id;
	if (parse(argc, argv, names, v, 4, &id) != 0 || !v[0] || !v[1] || !v[2])
		return usage();
	char fallback[64];
	snprintf(fallback, sizeof(fallback), "http://127.0.0.1:%.8s", cli_env("PORT", "8080"));
	struct conn_sign_signer *seal = NULL;
	struct conn_sign_error serr = {0};
	if (conn_sign_signer_load(&seal, v[0], v[1], &serr) != 0) {
		fprintf(stderr, "tramit: eni export: seal: %s\n", serr.msg);
		return 1;
	}
	struct conn_eni_expedient *x = NULL;
	int status = load(&x, id);
	if (status == 0) {
		struct conn_eni_export_options opt = {.seal = seal, .verify_base_url = v[3] ? v[3] : fallback};
		struct conn_eni_export_report rep;
		struct conn_eni_error err = {0};
		if (conn_eni_export(&rep, v[2], x, &opt, &err) != 0) {
			fprintf(stderr, "tramit: eni export: %s\n", err.msg);
			status = 1;
		} else {
			printf("%s: %zu document%s and the sealed index written to %s\n", rep.identifier,
			       rep.n_documents, rep.n_documents == 1 ? "" : "s", v[2]);
		}
	}
	conn_eni_expedient_free(x);
	conn_sign_signer_free(seal);
	return status;
}

static int verify(int argc, char **argv)
{
	static const char *const names[] = {"--trust"};
	const char *v[1] = {0}, *dir;
	if (parse(argc, argv, names, v, 1, &dir) != 0 || !v[0])
		return usage();
	struct conn_sign_trust *trust = NULL;
	struct conn_sign_error serr = {0};
	if (conn_sign_trust_load(&trust, v[0], &serr) != 0) {
		fprintf(stderr, "tramit: eni verify: trust: %s\n", serr.msg);
		return 1;
	}
	struct conn_eni_verify_report rep;
	struct conn_eni_error err = {0};
	int status = 1;
	if (conn_eni_verify(&rep, dir, trust, &err) != 0) {
		fprintf(stderr, "tramit: eni verify: %s: %s\n", dir, err.msg);
	} else {
		printf("%s: index sealed by %s\n%zu document%s: every SHA-256 matches the index\n",
		       rep.identifier, rep.signer, rep.n_documents, rep.n_documents == 1 ? "" : "s");
		status = 0;
	}
	conn_sign_trust_free(trust);
	return status;
}

int cli_eni(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "export") == 0)
		return export(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return verify(argc, argv);
	return usage();
}
