/* Cuaderno 60 collection files: what a collaborating bank reports it collected for the entity
 * (docs/payments.md, "Bank collection files", gives the layout and its sources). Invariant:
 * a file is accepted whole or not at all; every record's length, type, numeric fields and
 * blanks, every block's and the file's totals, and every reference's control digits are
 * checked before anything is returned, and the first problem names its line and field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c60.h"
#include "connectors/config.h"

enum { RECORD_LEN = 80, MAX_DETAILS = 1000000 };

/* One field of a record: 1-based positions as the layout table states them. */
struct field {
	const char *name;
	int from, to;
};

struct parser {
	const char *rec; /* the current record, RECORD_LEN bytes */
	int line;
	struct conn_error *err;
};

static int fail(struct parser *p, const struct field *f, const char *expected)
{
	int len = f->to - f->from + 1;
	char found[RECORD_LEN + 1];
	int n = 0;
	for (int i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p->rec[f->from - 1 + i];
		found[n++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
	}
	found[n] = '\0';
	return conn__errorf(p->err, CONN_EINVALID, "line %d, %s (positions %d-%d): expected %s, "
	                    "found '%s'", p->line, f->name, f->from, f->to, expected, found);
}

/* Copies a field into out (NUL-terminated). */
static void take(char *out, const struct parser *p, const struct field *f)
{
	int len = f->to - f->from + 1;
	memcpy(out, p->rec + f->from - 1, (size_t)len);
	out[len] = '\0';
}

static int digits(struct parser *p, const struct field *f, char *out)
{
	int len = f->to - f->from + 1;
	for (int i = 0; i < len; i++) {
		char c = p->rec[f->from - 1 + i];
		if (c < '0' || c > '9') {
			char expected[32];
			snprintf(expected, sizeof(expected), "%d digits", len);
			return fail(p, f, expected);
		}
	}
	if (out)
		take(out, p, f);
	return 0;
}

static long long number(const struct parser *p, const struct field *f)
{
	long long v = 0;
	for (int i = f->from - 1; i < f->to; i++)
		v = v * 10 + (p->rec[i] - '0');
	return v;
}

static int blanks(struct parser *p, const struct field *f)
{
	for (int i = f->from - 1; i < f->to; i++)
		if (p->rec[i] != ' ')
			return fail(p, f, "blanks");
	return 0;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A date AAAAMMDD in 2000..2099 into out as YYYY-MM-DD. */
static int date(struct parser *p, const struct field *f, char out[11])
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char raw[9];
	int rc = digits(p, f, raw);
	if (rc)
		return fail(p, f, "a date AAAAMMDD");
	int y = atoi((char[]){raw[0], raw[1], raw[2], raw[3], 0});
	int m = (raw[4] - '0') * 10 + raw[5] - '0', d = (raw[6] - '0') * 10 + raw[7] - '0';
	if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 ||
	    d > days[m - 1] + (m == 2 && leap(y)))
		return fail(p, f, "a date AAAAMMDD from 2000 to 2099");
	snprintf(out, 11, "%.4s-%.2s-%.2s", raw, raw + 4, raw + 6);
	return 0;
}

/* ---- The records ------------------------------------------------------------------------- */

static const struct field f_code = {"record code", 1, 2};

/* 00: presenter's header. */
static const struct field h_bank = {"presenting bank (entidad)", 3, 6};
static const struct field h_office = {"presenting office (oficina)", 7, 10};
static const struct field h_created = {"creation date", 11, 18};
static const struct field h_number = {"file number", 19, 24};
static const struct field h_blank = {"filler", 25, 80};

/* 01: issuer's header: one block per emisora and collection period. */
static const struct field e_emisora = {"emisora", 3, 8};
static const struct field e_from = {"period start", 9, 16};
static const struct field e_to = {"period end", 17, 24};
static const struct field e_blank = {"filler", 25, 80};

/* 02: one collected document. */
static const struct field d_emisora = {"emisora", 3, 8};
static const struct field d_modalidad = {"modalidad", 9, 9};
static const struct field d_reference = {"reference", 10, 21};
static const struct field d_identification = {"identification", 22, 31};
static const struct field d_amount = {"amount", 32, 39};
static const struct field d_date = {"collection date", 40, 47};
static const struct field d_bank = {"collecting bank (entidad)", 48, 51};
static const struct field d_office = {"collecting office (oficina)", 52, 55};
static const struct field d_channel = {"channel", 56, 56};
static const struct field d_blank = {"filler", 57, 80};

/* 08: issuer's totals. */
static const struct field t_emisora = {"emisora", 3, 8};
static const struct field t_count = {"number of collections", 9, 16};
static const struct field t_sum = {"total amount", 17, 30};
static const struct field t_blank = {"filler", 31, 80};

/* 09: file totals. */
static const struct field z_bank = {"presenting bank (entidad)", 3, 6};
static const struct field z_blocks = {"number of emisora blocks", 7, 10};
static const struct field z_count = {"number of collections", 11, 18};
static const struct field z_sum = {"total amount", 19, 32};
static const struct field z_records = {"number of records", 33, 40};
static const struct field z_blank = {"filler", 41, 80};

/* What is open while the records are read. */
struct block {
	bool open;
	char emisora[7], from[11], to[11];
	long long count, sum;
};

static int header(struct parser *p, struct conn_c60_collection *c)
{
	int rc = digits(p, &h_bank, c->bank);
	if (!rc)
		rc = digits(p, &h_office, c->office);
	if (!rc)
		rc = date(p, &h_created, c->created_on);
	if (!rc)
		rc = digits(p, &h_number, c->file_number);
	return rc ? rc : blanks(p, &h_blank);
}

static int block_open(struct parser *p, struct block *b)
{
	*b = (struct block){.open = true};
	int rc = digits(p, &e_emisora, b->emisora);
	if (!rc)
		rc = date(p, &e_from, b->from);
	if (!rc)
		rc = date(p, &e_to, b->to);
	if (!rc && strcmp(b->to, b->from) < 0)
		rc = fail(p, &e_to, "a date on or after the period start");
	return rc ? rc : blanks(p, &e_blank);
}

static int detail(struct parser *p, const struct block *b, struct conn_c60_collected *d)
{
	*d = (struct conn_c60_collected){.line = p->line};
	char modalidad[2], amount[9], channel[2];
	int rc = digits(p, &d_emisora, d->emisora);
	if (!rc && strcmp(d->emisora, b->emisora) != 0) {
		char expected[64];
		snprintf(expected, sizeof(expected), "the block's emisora %s", b->emisora);
		rc = fail(p, &d_emisora, expected);
	}
	if (!rc)
		rc = digits(p, &d_modalidad, modalidad);
	if (!rc && (modalidad[0] < '1' || modalidad[0] > '3'))
		rc = fail(p, &d_modalidad, "1 or 2 (liquidaciones) or 3 (autoliquidaciones)");
	if (!rc)
		rc = digits(p, &d_reference, d->reference);
	if (!rc)
		rc = digits(p, &d_identification, d->identification);
	if (!rc)
		rc = digits(p, &d_amount, amount);
	if (!rc && number(p, &d_amount) == 0)
		rc = fail(p, &d_amount, "an amount in cents above zero");
	if (!rc)
		rc = date(p, &d_date, d->collected_on);
	if (!rc && (strcmp(d->collected_on, b->from) < 0 || strcmp(d->collected_on, b->to) > 0)) {
		char expected[64];
		snprintf(expected, sizeof(expected), "a date within the block's period %s..%s",
		         b->from, b->to);
		rc = fail(p, &d_date, expected);
	}
	if (!rc)
		rc = digits(p, &d_bank, d->bank);
	if (!rc)
		rc = digits(p, &d_office, d->office);
	if (!rc)
		rc = digits(p, &d_channel, channel);
	if (!rc && (channel[0] < '1' || channel[0] > '3'))
		rc = fail(p, &d_channel, "1 (counter), 2 (self-service) or 3 (remote banking)");
	if (!rc)
		rc = blanks(p, &d_blank);
	if (rc)
		return rc;
	d->modalidad = modalidad[0];
	d->channel = channel[0];
	d->amount_cents = number(p, &d_amount);
	char document[11];
	memcpy(document, d->reference, 10);
	document[10] = '\0';
	int dc = conn_c60_control_digits(d->emisora, document, d->identification, amount);
	if (dc != atoi(d->reference + 10)) {
		char expected[160];
		snprintf(expected, sizeof(expected), "control digits %02d (from the emisora, the "
		         "identification and the amount)", dc);
		return fail(p, &d_reference, expected);
	}
	return 0;
}

static int block_close(struct parser *p, struct block *b)
{
	char emisora[7];
	int rc = digits(p, &t_emisora, emisora);
	if (!rc && strcmp(emisora, b->emisora) != 0) {
		char expected[64];
		snprintf(expected, sizeof(expected), "the block's emisora %s", b->emisora);
		rc = fail(p, &t_emisora, expected);
	}
	if (!rc)
		rc = digits(p, &t_count, NULL);
	if (!rc && number(p, &t_count) != b->count) {
		char expected[64];
		snprintf(expected, sizeof(expected), "%lld (the block's records 02)", b->count);
		rc = fail(p, &t_count, expected);
	}
	if (!rc)
		rc = digits(p, &t_sum, NULL);
	if (!rc && number(p, &t_sum) != b->sum) {
		char expected[64];
		snprintf(expected, sizeof(expected), "%lld (the sum of the block's amounts)", b->sum);
		rc = fail(p, &t_sum, expected);
	}
	b->open = false;
	return rc ? rc : blanks(p, &t_blank);
}

static int trailer(struct parser *p, const struct conn_c60_collection *c, long long blocks,
                   long long records)
{
	char bank[5], expected[80];
	int rc = digits(p, &z_bank, bank);
	if (!rc && strcmp(bank, c->bank) != 0) {
		snprintf(expected, sizeof(expected), "the header's bank %s", c->bank);
		rc = fail(p, &z_bank, expected);
	}
	const struct {
		const struct field *f;
		long long want;
		const char *what;
	} totals[] = {
		{&z_blocks, blocks, "records 01"},
		{&z_count, (long long)c->n, "records 02"},
		{&z_sum, c->total_cents, "the sum of every amount"},
		{&z_records, records, "every record, this one included"},
	};
	for (size_t i = 0; !rc && i < sizeof(totals) / sizeof(totals[0]); i++) {
		rc = digits(p, totals[i].f, NULL);
		if (!rc && number(p, totals[i].f) != totals[i].want) {
			snprintf(expected, sizeof(expected), "%lld (%s)", totals[i].want, totals[i].what);
			rc = fail(p, totals[i].f, expected);
		}
	}
	return rc ? rc : blanks(p, &z_blank);
}

/* ---- The file ---------------------------------------------------------------------------- */

/* The next line without its terminator (LF or CRLF); NULL at the end of the text. */
static const char *line_next(const char **cursor, const char *end, size_t *len)
{
	const char *s = *cursor;
	if (s >= end)
		return NULL;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *stop = nl ? nl : end;
	*cursor = nl ? nl + 1 : end;
	if (stop > s && stop[-1] == '\r')
		stop--;
	*len = (size_t)(stop - s);
	return s;
}

static int record(struct parser *p, struct conn_c60_collection *c, struct block *b,
                  size_t *cap, long long *blocks, bool *ended)
{
	char code[3];
	int rc = digits(p, &f_code, code);
	if (rc)
		return rc;
	bool first = p->line == 1;
	if (*ended)
		return conn__errorf(p->err, CONN_EINVALID, "line %d: a record after the file totals "
		                    "(09), which must be the last", p->line);
	if (first != (strcmp(code, "00") == 0))
		return fail(p, &f_code, first ? "00 (the presenter's header) on the first line"
		                                : "01, 02, 08 or 09 (00 only on the first line)");
	if (first)
		return header(p, c);
	if (strcmp(code, "01") == 0) {
		if (b->open)
			return fail(p, &f_code, "08 (the totals of the open emisora block) before a new 01");
		(*blocks)++;
		return block_open(p, b);
	}
	if (strcmp(code, "02") == 0) {
		if (!b->open)
			return fail(p, &f_code, "01 (an emisora header) before records 02");
		if (c->n == MAX_DETAILS)
			return conn__errorf(p->err, CONN_EINVALID, "line %d: more than %d records 02 in one "
			                    "file; ask the bank to split it", p->line, MAX_DETAILS);
		if (c->n == *cap) {
			size_t want = *cap ? *cap * 2 : 64;
			void *grown = realloc(c->items, want * sizeof(*c->items));
			if (!grown)
				return conn__errorf(p->err, CONN_ENOMEM, "out of memory at line %d", p->line);
			c->items = grown;
			*cap = want;
		}
		struct conn_c60_collected *d = &c->items[c->n];
		rc = detail(p, b, d);
		if (rc)
			return rc;
		c->n++;
		b->count++;
		b->sum += d->amount_cents;
		c->total_cents += d->amount_cents;
		return 0;
	}
	if (strcmp(code, "08") == 0) {
		if (!b->open)
			return fail(p, &f_code, "01 (an emisora header) before its totals 08");
		return block_close(p, b);
	}
	if (strcmp(code, "09") == 0) {
		if (b->open)
			return fail(p, &f_code, "08 (the totals of the open emisora block) before 09");
		*ended = true;
		return trailer(p, c, *blocks, p->line);
	}
	return fail(p, &f_code, "00, 01, 02, 08 or 09");
}

int conn_c60_collection_parse(struct conn_c60_collection *out, const char *text, size_t len,
                              struct conn_error *err)
{
	*out = (struct conn_c60_collection){0};
	struct parser p = {.err = err};
	struct block b = {0};
	size_t cap = 0, n;
	long long blocks = 0;
	bool ended = false;
	int rc = 0;
	const char *cursor = text, *end = text + len, *line;
	while (!rc && (line = line_next(&cursor, end, &n)) != NULL) {
		p.line++;
		if (n != RECORD_LEN || memchr(line, '\0', n)) {
			rc = conn__errorf(err, CONN_EINVALID, "line %d: expected a record of %d characters, "
			                  "found %zu", p.line, RECORD_LEN, n);
			break;
		}
		p.rec = line;
		rc = record(&p, out, &b, &cap, &blocks, &ended);
	}
	if (!rc && p.line == 0)
		rc = conn__errorf(err, CONN_EINVALID, "the file is empty: expected a Cuaderno 60 "
		                  "collection file (records 00, 01, 02, 08, 09)");
	else if (!rc && !ended)
		rc = conn__errorf(err, CONN_EINVALID, "line %d: the file ends without its totals record "
		                  "(09): it was cut short", p.line);
	if (rc)
		conn_c60_collection_free(out);
	return rc;
}

void conn_c60_collection_free(struct conn_c60_collection *c)
{
	if (!c)
		return;
	free(c->items);
	*c = (struct conn_c60_collection){0};
}
