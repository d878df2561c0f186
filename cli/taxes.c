/* `tramit taxes import FILE.csv | list [--state S] | cancel REFERENCE`: the tax receipts (liquidacions) the
 * payment manager lets citizens pay by reference. An import is all or nothing: every bad row is
 * reported with its line and column and nothing is stored; importing the same file again
 * changes nothing. The Cuaderno 60 issuer code comes from TRAMIT_C60_EMISORA. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connectors/c60/c60.h"
#include "engine/core/validate.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/taxes.h"

enum { N_COLUMNS = 9, TEXT_MAX = 200, FILE_MAX = 32 << 20 };

static const char *const columns[N_COLUMNS] = {
	"reference", "tributo", "ejercicio", "concept_ca", "concept_es", "debtor_nif", "debtor_name",
	"amount_cents", "deadline",
};

static int usage(void)
{
	fprintf(stderr, "usage: tramit taxes import FILE.csv\n"
	                "       tramit taxes list [--state pending|paid|cancelled]\n"
	                "       tramit taxes cancel REFERENCE\n");
	return 2;
}

/* ---- CSV (RFC 4180: commas, double quotes, "" inside quotes, CRLF or LF) ----------------- */

struct record {
	int line;               /* where it starts */
	int n;
	char *field[N_COLUMNS + 1]; /* one more, to notice extra columns */
};

/* Reads the record at *p into r (fields point into a copy made in place: the text is
 * rewritten as it is unquoted). Returns 1 for a record, 0 at the end, -1 for an unterminated
 * quote. */
static int record_next(struct record *r, char **p, int *line)
{
	char *s = *p;
	while (*s == '\n' || *s == '\r') { /* blank lines */
		*line += *s == '\n';
		s++;
	}
	if (!*s)
		return 0;
	*r = (struct record){.line = *line};
	for (;;) {
		char *out = s, *start = s;
		if (*s == '"') {
			s++;
			for (;;) {
				if (!*s)
					return -1;
				if (*s == '"' && s[1] == '"') {
					*out++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					*line += *s == '\n';
					*out++ = *s++;
				}
			}
			while (*s && *s != ',' && *s != '\n' && *s != '\r')
				*out++ = *s++; /* text after a closing quote is kept, then judged */
		} else {
			while (*s && *s != ',' && *s != '\n' && *s != '\r')
				out++, s++;
		}
		char end = *s;
		*out = '\0';
		if (r->n <= N_COLUMNS)
			r->field[r->n] = start;
		r->n++;
		if (end == ',') {
			s++;
			continue;
		}
		/* The delimiter itself may have been overwritten by the terminator. */
		if (end == '\r' && s[1] == '\n')
			s++;
		if (end == '\r' || end == '\n') {
			s++;
			(*line)++;
		}
		break;
	}
	*p = s;
	return 1;
}

/* ---- One row ----------------------------------------------------------------------------- */

/* Text a person reads on the document: valid UTF-8 the PDF fonts can show (Windows-1252),
 * no control characters, 1 to TEXT_MAX bytes. */
static bool text_ok(const char *s)
{
	static const unsigned extra[] = {0x20AC, 0x2018, 0x2019, 0x201C, 0x201D, 0x2013, 0x2014, 0x2026};
	size_t len = strlen(s);
	if (len == 0 || len > TEXT_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 0;
		if (!n)
			return false;
		unsigned cp = n == 1 ? *p : n == 2 ? *p & 0x1Fu : *p & 0x0Fu;
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3Fu);
		}
		p += n;
		bool ok = (cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xFF);
		for (size_t i = 0; !ok && i < sizeof(extra) / sizeof(extra[0]); i++)
			ok = cp == extra[i];
		if (!ok)
			return false;
	}
	return true;
}

static bool digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

/* Prints the problem of column c and counts it. */
static void bad(int *errors, const char *file, const struct record *r, int c, const char *expected)
{
	fprintf(stderr, "%s:%d: column %s: expected %s, found '%.60s'\n", file, r->line, columns[c],
	        expected, r->field[c]);
	(*errors)++;
}

/* Checks a row's columns and builds its receipt (strings point into the record). */
static void row_read(struct eng_tax_receipt *t, struct eng_arena *a, const char *emisora,
                     const char *file, struct record *r, int *errors)
{
	int before = *errors;
	char **f = r->field;
	for (char *c = f[5]; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	if (!digits(f[0], 10, 10) && !digits(f[0], 12, 12))
		bad(errors, file, r, 0, "10 digits (a document number) or 12 (with its control digits)");
	if (!digits(f[1], 3, 3))
		bad(errors, file, r, 1, "3 digits (the tax code, e.g. 001)");
	if (!digits(f[2], 4, 4) || atoi(f[2]) < 2000 || atoi(f[2]) > 2099)
		bad(errors, file, r, 2, "a year from 2000 to 2099");
	for (int c = 3; c <= 6; c += 1 + (c == 4))
		if (!text_ok(f[c]))
			bad(errors, file, r, c, "1 to 200 bytes of text printable in Windows-1252, without "
			                         "control characters");
	if (!eng_nif_valid(f[5]))
		bad(errors, file, r, 5, "a valid NIF, NIE or DNI with its letter");
	if (!digits(f[7], 1, 8) || atoll(f[7]) < 1)
		bad(errors, file, r, 7, "a whole number of cents from 1 to 99999999");
	if (!eng_date_valid(f[8]))
		bad(errors, file, r, 8, "a date YYYY-MM-DD");
	if (*errors != before)
		return;
	char document[11];
	memcpy(document, f[0], 10);
	document[10] = '\0';
	struct conn_c60_input in = {.emisora = emisora, .document = document, .period = '1',
	                            .tributo = f[1], .ejercicio = atoi(f[2]),
	                            .amount_cents = atoll(f[7])};
	sscanf(f[8], "%4d-%2d-%2d", &in.deadline_year, &in.deadline_month, &in.deadline_day);
	struct conn_c60_code code;
	struct conn_error cerr = {0};
	if (conn_c60_code_make(&code, &in, &cerr) != 0) {
		fprintf(stderr, "%s:%d: %s\n", file, r->line, cerr.msg);
		(*errors)++;
		return;
	}
	if (strlen(f[0]) == 12 && strcmp(f[0], code.reference) != 0) {
		char expected[200];
		snprintf(expected, sizeof(expected), "control digits %s (computed from the emisora, the "
		         "identification and the amount)", code.reference + 10);
		bad(errors, file, r, 0, expected);
		return;
	}
	*t = (struct eng_tax_receipt){.reference = eng_arena_strdup(a, code.reference),
	                              .emisora = emisora,
	                              .identification = eng_arena_strdup(a, code.identification),
	                              .concept_ca = f[3], .concept_es = f[4], .debtor_nif = f[5],
	                              .debtor_name = f[6], .amount_cents = atoll(f[7]),
	                              .deadline = f[8]};
}

static bool header_ok(const char *file, const struct record *h)
{
	bool ok = h->n == N_COLUMNS;
	for (int i = 0; ok && i < N_COLUMNS; i++)
		ok = strcmp(h->field[i], columns[i]) == 0;
	if (!ok)
		fprintf(stderr, "%s:%d: expected the header reference,tributo,ejercicio,concept_ca,"
		                "concept_es,debtor_nif,debtor_name,amount_cents,deadline\n", file, h->line);
	return ok;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	char *text = malloc(FILE_MAX + 1);
	size_t len = text ? fread(text, 1, FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!text || len > FILE_MAX || memchr(text, '\0', len)) {
		fprintf(stderr, "%s: expected a CSV text file of at most 32 MiB\n", path);
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

/* Reads and checks every row into *out (malloc'd; strings in text and a) and the line each
 * starts on into *lines (malloc'd); returns how many errors were printed. */
static int rows_read(struct eng_tax_receipt **out, int **lines, size_t *n, struct eng_arena *a,
                     char *text, const char *file, const char *emisora)
{
	int errors = 0, line = 1, rc;
	size_t cap = 64;
	struct record r, header;
	char *p = text;
	*n = 0;
	*out = malloc(cap * sizeof(**out));
	*lines = malloc(cap * sizeof(**lines));
	if (p[0] == '\xEF' && p[1] == '\xBB' && p[2] == '\xBF')
		p += 3; /* a spreadsheet's byte order mark */
	if (record_next(&header, &p, &line) != 1 || !header_ok(file, &header))
		return 1;
	while ((rc = record_next(&r, &p, &line)) == 1) {
		if (r.n != N_COLUMNS) {
			fprintf(stderr, "%s:%d: expected %d columns, found %d\n", file, r.line, N_COLUMNS, r.n);
			errors++;
			continue;
		}
		if (*n == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof(**out));
			*lines = realloc(*lines, cap * sizeof(**lines));
		}
		int before = errors;
		struct eng_tax_receipt *t = &(*out)[*n];
		row_read(t, a, emisora, file, &r, &errors);
		for (size_t i = 0; errors == before && i < *n; i++)
			if (strcmp((*out)[i].reference, t->reference) == 0) {
				fprintf(stderr, "%s:%d: column reference: %s appears twice in the file (first on "
				        "an earlier line)\n", file, r.line, t->reference);
				errors++;
			}
		if (errors == before)
			(*lines)[(*n)++] = r.line;
	}
	if (rc < 0) {
		fprintf(stderr, "%s:%d: a quoted value is never closed\n", file, line);
		errors++;
	}
	return errors;
}

static int taxes_import(const char *file)
{
	const char *emisora = getenv("TRAMIT_C60_EMISORA");
	if (!emisora || !digits(emisora, 6, 6)) {
		fprintf(stderr, "tramit: TRAMIT_C60_EMISORA must be the 6-digit issuer code (emisora) the "
		                "collecting bank assigned to the entity, found '%s'\n",
		        emisora ? emisora : "(unset)");
		return 2;
	}
	char *text = file_read(file);
	if (!text)
		return 1;
	struct eng_arena a = {0};
	struct eng_tax_receipt *rows = NULL;
	int *lines = NULL;
	size_t n = 0;
	int status = 1;
	int errors = rows_read(&rows, &lines, &n, &a, text, file, emisora);
	if (errors) {
		fprintf(stderr, "tramit: %s: %d problem%s; nothing was imported\n", file, errors,
		        errors == 1 ? "" : "s");
		goto done;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		goto done;
	struct eng_error err = {0};
	size_t added, unchanged, bad_row;
	if (eng_store_tax_import(store, cli_entity(), rows, n, &added, &unchanged, &bad_row, &err) != 0) {
		if (bad_row < n)
			fprintf(stderr, "%s:%d: %s; nothing was imported\n", file, lines[bad_row], err.msg);
		else
			fprintf(stderr, "tramit: importing %s: %s; nothing was imported\n", file, err.msg);
	} else {
		printf("%zu receipt%s imported, %zu already present and unchanged (entity %s)\n", added,
		       added == 1 ? "" : "s", unchanged, cli_entity());
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	free(rows);
	free(lines);
	free(text);
	eng_arena_free(&a);
	return status;
}

static int taxes_list(int argc, char **argv)
{
	const char *state = NULL;
	if (argc == 3 && strcmp(argv[1], "--state") == 0 && (strcmp(argv[2], "pending") == 0 ||
	    strcmp(argv[2], "paid") == 0 || strcmp(argv[2], "cancelled") == 0))
		state = argv[2];
	else if (argc != 1)
		return usage();
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena a = {0};
	struct eng_tax_receipt *t;
	size_t n = 0;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_tax_list(store, &a, cli_entity(), state, &t, &n, &err) != 0) {
		fprintf(stderr, "tramit: listing receipts: %s\n", err.msg);
	} else {
		printf("reference\tstate\tamount\tdeadline\tdebtor\tconcept\tpaid\n");
		for (size_t i = 0; i < n; i++)
			printf("%s\t%s\t%lld.%02lld\t%s\t%s\t%s\t%s%s%s\n", t[i].reference,
			       t[i].overdue ? "overdue" : t[i].state, (long long)t[i].amount_cents / 100,
			       (long long)t[i].amount_cents % 100, t[i].deadline, t[i].debtor_nif,
			       t[i].concept_ca, t[i].paid_via ? t[i].paid_via : "-",
			       t[i].paid_order ? " " : "", t[i].paid_order ? t[i].paid_order : "");
		status = 0;
	}
	eng_arena_free(&a);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

static int taxes_cancel(const char *reference)
{
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	int status = 1;
	if (eng_store_tax_cancel(store, cli_entity(), reference, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
	} else {
		printf("receipt %s cancelled\n", reference);
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

int cli_taxes(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "cancel") == 0)
		return taxes_cancel(argv[2]);
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return taxes_import(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return taxes_list(argc - 1, argv + 1);
	return usage();
}
