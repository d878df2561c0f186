/* `tramit registry`: the registry book and SICRES 3.0 exchanges of the entity TRAMIT_ENTITY.
 * export writes an entry as an exchange file for another administration; import records an
 * incoming file after checking it; accept, reject and return decide on an exchange; list and
 * exchanges print the book and the exchanges; office sets our registry office code.
 * Exit 0 when done, 1 when refused or failed (the reason on stderr), 2 on usage errors. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "connectors/sicres/sicres.h"
#include "engine/runtime/migrate.h"

static int usage(void)
{
	fprintf(stderr,
	        "usage: tramit registry export NUMBER --to DIR3 [--to-name NAME] -o FILE.xml [--url BASE]\n"
	        "       tramit registry import FILE.xml\n"
	        "       tramit registry accept|reject|return IDENTIFIER [--reason TEXT] [--outgoing]\n"
	        "       tramit registry list [--book E|S] [--year YEAR] [--search TEXT] [--limit N]\n"
	        "       tramit registry exchanges [--in|--out]\n"
	        "       tramit registry office DIR3\n");
	return 2;
}


static const char *actor(void)
{
	static char who[96];
	snprintf(who, sizeof(who), "cli:%.80s", cli_env("USER", "operator"));
	return who;
}

static bool is_flag(const char *name)
{
	return strcmp(name, "--in") == 0 || strcmp(name, "--out") == 0 ||
	       strcmp(name, "--outgoing") == 0;
}

/* Options: "--name VALUE" pairs (is_flag's names take no value) and at most one
 * positional argument after the subcommand. values[i] receives names[i]'s value, or "" for a
 * flag that is present. */
static int parse(int argc, char **argv, const char *const *names, const char **values, size_t n,
                 const char **positional)
{
	*positional = NULL;
	for (int i = 2; i < argc; i++) {
		size_t k = 0;
		while (k < n && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k < n && is_flag(names[k])) {
			values[k] = "";
		} else if (k < n) {
			if (i + 1 >= argc)
				return -1;
			values[k] = argv[++i];
		} else if (!*positional && argv[i][0] != '-') {
			*positional = argv[i];
		} else {
			return -1;
		}
	}
	return 0;
}

struct db {
	struct eng_pgcluster cluster;
	PGconn *conn;
};

/* The server's database with its schema brought up to date; prints why and returns 1. */
static int db_open(struct db *d)
{
	char conninfo[1024];
	d->conn = NULL;
	if (cli_database_open(&d->cluster, conninfo, sizeof(conninfo)) != 0)
		return 1;
	struct eng_error err = {0};
	d->conn = PQconnectdb(conninfo);
	if (PQstatus(d->conn) != CONNECTION_OK)
		fprintf(stderr, "tramit: cannot connect to PostgreSQL: %s", PQerrorMessage(d->conn));
	else if (eng_migrate(d->conn, NULL, NULL, &err) != 0)
		fprintf(stderr, "tramit: migration failed: %s\n", err.msg);
	else
		return 0;
	PQfinish(d->conn);
	cli_database_close(&d->cluster);
	return 1;
}

static void db_close(struct db *d)
{
	PQfinish(d->conn);
	cli_database_close(&d->cluster);
}

static int fail(const char *what, const struct conn_sicres_error *err)
{
	fprintf(stderr, "tramit: registry %s: %s\n", what, err->msg);
	return 1;
}

static int export(int argc, char **argv)
{
	static const char *const names[] = {"--to", "--to-name", "-o", "--url"};
	const char *v[4] = {0}, *number;
	if (parse(argc, argv, names, v, 4, &number) != 0 || !number || !v[0] || !v[2])
		return usage();
	char fallback[64];
	snprintf(fallback, sizeof(fallback), "http://127.0.0.1:%.8s", cli_env("PORT", "8080"));
	struct conn_sicres_export_options opt = {
		.entity_id = cli_entity(), .number = number, .to = v[0], .to_name = v[1],
		.verify_base_url = v[3] ? v[3] : fallback, .actor = actor(), .path = v[2],
	};
	struct db d;
	if (db_open(&d) != 0)
		return 1;
	struct conn_sicres_result res;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_export(&res, d.conn, &opt, &err) != 0)
		status = fail("export", &err);
	else
		printf("%s: entry %s with %zu annex%s written to %s, sent to %s\n", res.identifier,
		       res.registry_number, res.n_annexes, res.n_annexes == 1 ? "" : "es", v[2], v[0]);
	db_close(&d);
	return status;
}

/* Reads the whole file, refusing one over the limit before reading it. */
static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "tramit: registry import: %s: not a readable file\n", path);
		return NULL;
	}
	if (st.st_size > CONN_SICRES_MAX_BYTES) {
		fprintf(stderr, "tramit: registry import: %s: the file is %lld bytes; the limit is %d "
		        "bytes; nothing stored\n", path, (long long)st.st_size, CONN_SICRES_MAX_BYTES);
		return NULL;
	}
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc((size_t)st.st_size + 1);
	*len = f && buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	if (f)
		fclose(f);
	if (!buf || *len != (size_t)st.st_size) {
		fprintf(stderr, "tramit: registry import: %s: cannot read it\n", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static int import(int argc, char **argv)
{
	const char *path;
	if (parse(argc, argv, NULL, NULL, 0, &path) != 0 || !path)
		return usage();
	size_t len = 0;
	unsigned char *xml = slurp(path, &len);
	if (!xml)
		return 1;
	struct db d;
	if (db_open(&d) != 0) {
		free(xml);
		return 1;
	}
	struct conn_sicres_result res;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_import(&res, d.conn, cli_entity(), xml, len, actor(), &err) != 0) {
		fprintf(stderr, "tramit: registry import: %s: %s; nothing stored\n", path, err.msg);
		status = 1;
	} else if (res.replayed) {
		printf("%s: already received (state %s%s%s); nothing new stored\n", res.identifier,
		       res.state, *res.registry_number ? ", entry " : "", res.registry_number);
	} else {
		printf("%s: received with %zu annex%s; accept, reject or return it\n", res.identifier,
		       res.n_annexes, res.n_annexes == 1 ? "" : "es");
	}
	free(xml);
	db_close(&d);
	return status;
}

static int decide(int argc, char **argv, enum conn_sicres_decision dec)
{
	static const char *const names[] = {"--reason", "--outgoing"};
	const char *v[2] = {0}, *identifier;
	if (parse(argc, argv, names, v, 2, &identifier) != 0 || !identifier)
		return usage();
	struct db d;
	if (db_open(&d) != 0)
		return 1;
	struct conn_sicres_result res;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_decide(&res, d.conn, cli_entity(), identifier, v[1] != NULL, dec, v[0],
	                       actor(), &err) != 0) {
		status = fail(argv[1], &err);
	} else {
		printf("%s: %s%s%s%s%s%s\n", res.identifier, res.state,
		       *res.registry_number && dec == CONN_SICRES_ACCEPT && !v[1] ? " as entry " : "",
		       dec == CONN_SICRES_ACCEPT && !v[1] ? res.registry_number : "",
		       *res.reason ? ": " : "", res.reason,
		       res.replayed ? " (already; nothing changed)" : "");
	}
	db_close(&d);
	return status;
}

static int list(int argc, char **argv)
{
	static const char *const names[] = {"--book", "--year", "--search", "--limit"};
	const char *v[4] = {0}, *extra;
	if (parse(argc, argv, names, v, 4, &extra) != 0 || extra)
		return usage();
	struct conn_sicres_book_query q = {.entity_id = cli_entity(), .search = v[2], .limit = 100};
	if (v[0] && (strlen(v[0]) != 1 || !strchr("ES", v[0][0]))) {
		fprintf(stderr, "tramit: registry list: --book is E (entries in) or S (out), not '%s'\n", v[0]);
		return 1;
	}
	q.book = v[0] ? v[0][0] : 0;
	char *end = NULL;
	if (v[1] && ((q.year = (int)strtol(v[1], &end, 10)) < 1900 || q.year > 9999 || *end)) {
		fprintf(stderr, "tramit: registry list: --year is a four-digit year, not '%s'\n", v[1]);
		return 1;
	}
	if (v[3] && ((q.limit = (int)strtol(v[3], &end, 10)) < 1 || q.limit > 10000 || *end)) {
		fprintf(stderr, "tramit: registry list: --limit is 1 to 10000, not '%s'\n", v[3]);
		return 1;
	}
	struct db d;
	if (db_open(&d) != 0)
		return 1;
	struct eng_arena a = {0};
	struct conn_sicres_entry *e;
	size_t n;
	long total;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_book_list(&e, &n, &total, &a, d.conn, &q, &err) != 0) {
		status = fail("list", &err);
	} else {
		/* Tab-separated; the receipt's CSV and the exchange it came from, or "-". */
		for (size_t i = 0; i < n; i++)
			printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e[i].number, e[i].presented_at, e[i].party_nif,
			       e[i].party_name, e[i].summary, e[i].receipt_csv ? e[i].receipt_csv : "-",
			       e[i].exchange ? e[i].exchange : "-");
		printf("%zu of %ld entr%s\n", n, total, total == 1 ? "y" : "ies");
	}
	eng_arena_free(&a);
	db_close(&d);
	return status;
}

static int exchanges(int argc, char **argv)
{
	static const char *const names[] = {"--in", "--out"};
	const char *v[2] = {0}, *extra;
	if (parse(argc, argv, names, v, 2, &extra) != 0 || extra || (v[0] && v[1]))
		return usage();
	struct db d;
	if (db_open(&d) != 0)
		return 1;
	struct eng_arena a = {0};
	struct conn_sicres_exchange *x;
	size_t n;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_exchange_list(&x, &n, &a, d.conn, cli_entity(), v[0] ? "in" : v[1] ? "out" : NULL,
	                              200, &err) != 0) {
		status = fail("exchanges", &err);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s\t%s\t%s\t%s -> %s\t%s\t%s\t%s\n", x[i].identifier, x[i].direction, x[i].state,
			       x[i].origin_code, x[i].destination_code, x[i].summary,
			       x[i].registry_number ? x[i].registry_number : "", x[i].reason ? x[i].reason : "");
		printf("%zu exchange%s\n", n, n == 1 ? "" : "s");
	}
	eng_arena_free(&a);
	db_close(&d);
	return status;
}

static int office(int argc, char **argv)
{
	const char *code;
	if (parse(argc, argv, NULL, NULL, 0, &code) != 0 || !code)
		return usage();
	struct db d;
	if (db_open(&d) != 0)
		return 1;
	struct conn_sicres_error err = {0};
	int status = 0;
	if (conn_sicres_office_set(d.conn, cli_entity(), code, &err) != 0)
		status = fail("office", &err);
	else
		printf("entity %s: registry office %s\n", cli_entity(), code);
	db_close(&d);
	return status;
}

int cli_registry(int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	if (strcmp(sub, "export") == 0)
		return export(argc, argv);
	if (strcmp(sub, "import") == 0)
		return import(argc, argv);
	if (strcmp(sub, "accept") == 0)
		return decide(argc, argv, CONN_SICRES_ACCEPT);
	if (strcmp(sub, "reject") == 0)
		return decide(argc, argv, CONN_SICRES_REJECT);
	if (strcmp(sub, "return") == 0)
		return decide(argc, argv, CONN_SICRES_RETURN);
	if (strcmp(sub, "list") == 0)
		return list(argc, argv);
	if (strcmp(sub, "exchanges") == 0)
		return exchanges(argc, argv);
	if (strcmp(sub, "office") == 0)
		return office(argc, argv);
	return usage();
}
