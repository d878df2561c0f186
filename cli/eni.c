/* `tramit eni export EXPEDIENT_ID --key SEAL_KEY.pem --cert SEAL_CERT.pem -o DIR [--url BASE]`
 * writes an expedient as an ENI export folder with its index sealed, the files its applicant
 * attached included (read from the repository: TRAMIT_DOCUMENTS_DIR as the server has it); `tramit eni verify DIR
 * --trust CA.pem` checks the seal and every document's SHA-256 against the index and names the
 * first problem. Exit 0 when done or valid, 1 otherwise, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connectors/eni/eni.h"
#include "engine/runtime/docstore.h"
#include "engine/runtime/store.h"

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

/* The repository the attachments' bytes come from: the server's database and folder. */
struct repository {
	struct eng_store *store;
	const char *folder;
};

static int read_blob(void *ctx, const char *sha256, conn_eni_sink sink, void *payload, char *msg,
                     size_t msg_cap)
{
	struct repository *r = ctx;
	struct eng_error err = {0};
	if (eng_docstore_read(r->store, r->folder, sha256, sink, payload, &err) == 0)
		return 0;
	snprintf(msg, msg_cap, "%s", err.msg);
	return -1;
}

static int export_loaded(const char *id, const char *dir, const char *url,
                         const struct conn_sign_signer *seal, struct eng_store *store)
{
	struct conn_eni_expedient *x = NULL;
	struct conn_eni_error err = {0};
	if (conn_eni_expedient_load(&x, eng_store_conn(store), id, &err) != 0) {
		fprintf(stderr, "tramit: eni export: %s\n", err.msg);
		return 1;
	}
	const char *folder = getenv("TRAMIT_DOCUMENTS_DIR");
	struct repository repo = {.store = store, .folder = folder && *folder ? folder : NULL};
	struct conn_eni_export_options opt = {.seal = seal, .verify_base_url = url,
	                                      .read = read_blob, .read_ctx = &repo};
	struct conn_eni_export_report rep;
	int status = 1;
	if (conn_eni_export(&rep, dir, x, &opt, &err) != 0) {
		fprintf(stderr, "tramit: eni export: %s\n", err.msg);
	} else {
		printf("%s: %zu document%s (%zu attached by the applicant) and the sealed index written "
		       "to %s\n", rep.identifier, rep.n_documents, rep.n_documents == 1 ? "" : "s",
		       rep.n_attachments, dir);
		status = 0;
	}
	conn_eni_expedient_free(x);
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
	struct eng_pgcluster cluster;
	char conninfo[1024];
	int status = 1;
	if (cli_database_open(&cluster, conninfo, sizeof(conninfo)) == 0) {
		struct eng_store *store = NULL;
		struct eng_error err = {0};
		if (eng_store_open(&store, conninfo, &err) != 0)
			fprintf(stderr, "tramit: eni export: database: %s\n", err.msg);
		else
			status = export_loaded(id, v[2], v[3] ? v[3] : fallback, seal, store);
		eng_store_close(store);
		cli_database_close(&cluster);
	}
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
