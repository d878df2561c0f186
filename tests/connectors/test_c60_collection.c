/* Cuaderno 60 collection files: a valid file built here from the layout in docs/payments.md is
 * read exactly; every kind of malformed record, and totals that do not add up, refuse the whole
 * file with the line and the field named, and leave nothing behind. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/c60/c60.h"

/* A file under construction: records of 80 characters, LF after each. */
struct file {
	char text[8192];
	size_t len;
};

static void add(struct file *f, const char *fmt, ...)
{
	char rec[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rec, sizeof(rec), fmt, ap);
	va_end(ap);
	cr_assert(n <= 80, "a test record of %d characters: %s", n, rec);
	memset(rec + n, ' ', (size_t)(80 - n));
	memcpy(f->text + f->len, rec, 80);
	f->len += 80;
	f->text[f->len++] = '\n';
	f->text[f->len] = '\0';
}

static void header(struct file *f)
{
	add(f, "00%s%s%s%s", "2100", "0001", "20261127", "000042");
}

static void block(struct file *f, const char *emisora)
{
	add(f, "01%s%s%s", emisora, "20261101", "20261126");
}

/* A record 02 of emisora 462500 paid at counter 2100-0735. */
static void detail(struct file *f, char modalidad, const char *reference, const char *ident,
                   const char *amount, const char *date)
{
	add(f, "02462500%c%s%s%s%s21000735%c", modalidad, reference, ident, amount, date, '1');
}

/* The vector of DOMAIN.md 9.2 and a receipt of 98,50 EUR computed by conn_c60_code_make. */
#define REF1 "000001234556"
#define IDENT1 "1001266334"
#define AMOUNT1 "00012345"

static struct conn_c60_code second(void)
{
	struct conn_c60_input in = {.emisora = "462500", .document = "0000000101", .period = '1',
	                            .tributo = "001", .ejercicio = 2026, .deadline_year = 2026,
	                            .deadline_month = 12, .deadline_day = 31, .amount_cents = 9850};
	struct conn_c60_code code;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_code_make(&code, &in, &err), 0, "%s", err.msg);
	return code;
}

/* Header, one block of two collections, its totals and the file's: 6 records. */
static struct file valid(void)
{
	struct file f = {0};
	struct conn_c60_code c = second();
	header(&f);
	block(&f, "462500");
	detail(&f, '2', REF1, IDENT1, AMOUNT1, "20261120");
	detail(&f, '2', c.reference, c.identification, c.amount, "20261126");
	add(&f, "08462500%08d%014lld", 2, 12345LL + 9850);
	add(&f, "092100%04d%08d%014lld%08d", 1, 2, 12345LL + 9850, 6);
	return f;
}

static void expect_refused(const struct file *f, const char *msg)
{
	struct conn_c60_collection c;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_collection_parse(&c, f->text, f->len, &err), CONN_EINVALID,
	             "accepted; expected: %s", msg);
	cr_expect_str_eq(err.msg, msg);
	cr_expect_eq(c.n, 0);
	cr_expect_null(c.items);
}

/* The valid file with record `line` (1-based) replaced by rec (80 characters or not). */
static struct file replaced(int line, const char *rec)
{
	struct file v = valid(), f = {0};
	const char *p = v.text;
	for (int i = 1; *p; i++) {
		const char *nl = strchr(p, '\n');
		if (i == line) {
			size_t n = strlen(rec);
			memcpy(f.text + f.len, rec, n);
			f.len += n;
		} else {
			memcpy(f.text + f.len, p, (size_t)(nl - p));
			f.len += (size_t)(nl - p);
		}
		f.text[f.len++] = '\n';
		p = nl + 1;
	}
	return f;
}

/* Record `line` of the valid file with `with` written over positions from.. (1-based). */
static struct file patched(int line, int from, const char *with)
{
	struct file f = valid();
	char *rec = f.text + (line - 1) * 81;
	memcpy(rec + from - 1, with, strlen(with));
	return f;
}

Test(c60_collection, a_valid_file_is_read_exactly)
{
	struct file f = valid();
	struct conn_c60_collection c;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_collection_parse(&c, f.text, f.len, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.bank, "2100");
	cr_assert_str_eq(c.office, "0001");
	cr_assert_str_eq(c.created_on, "2026-11-27");
	cr_assert_str_eq(c.file_number, "000042");
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.total_cents, 22195);
	const struct conn_c60_collected *d = &c.items[0];
	cr_assert_eq(d->line, 3);
	cr_assert_str_eq(d->emisora, "462500");
	cr_assert_eq(d->modalidad, '2');
	cr_assert_str_eq(d->reference, REF1);
	cr_assert_str_eq(d->identification, IDENT1);
	cr_assert_eq(d->amount_cents, 12345);
	cr_assert_str_eq(d->collected_on, "2026-11-20");
	cr_assert_str_eq(d->bank, "2100");
	cr_assert_str_eq(d->office, "0735");
	cr_assert_eq(d->channel, '1');
	cr_assert_eq(c.items[1].line, 4);
	cr_assert_str_eq(c.items[1].reference, second().reference);
	cr_assert_eq(c.items[1].amount_cents, 9850);
	conn_c60_collection_free(&c);
	cr_assert_null(c.items);
}

Test(c60_collection, crlf_and_a_missing_last_newline_are_accepted)
{
	struct file v = valid(), f = {0};
	for (size_t i = 0; i < v.len; i++) {
		if (v.text[i] == '\n')
			f.text[f.len++] = '\r';
		f.text[f.len++] = v.text[i];
	}
	f.len--; /* no newline after the last record */
	struct conn_c60_collection c;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_collection_parse(&c, f.text, f.len, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 2);
	conn_c60_collection_free(&c);
}

Test(c60_collection, records_of_the_wrong_length_are_refused)
{
	struct file f = valid();
	memmove(f.text + 2 * 81 + 79, f.text + 2 * 81 + 80, f.len - (2 * 81 + 80) + 1);
	f.len--;
	expect_refused(&f, "line 3: expected a record of 80 characters, found 79");
	struct file empty = {0};
	expect_refused(&empty, "the file is empty: expected a Cuaderno 60 collection file (records "
	                       "00, 01, 02, 08, 09)");
	struct file blank = replaced(4, "");
	expect_refused(&blank, "line 4: expected a record of 80 characters, found 0");
}

Test(c60_collection, record_codes_and_their_order_are_checked)
{
	struct file f = patched(3, 1, "07");
	expect_refused(&f, "line 3, record code (positions 1-2): expected 00, 01, 02, 08 or 09, "
	                   "found '07'");
	f = patched(1, 1, "01");
	expect_refused(&f, "line 1, record code (positions 1-2): expected 00 (the presenter's "
	                   "header) on the first line, found '01'");
	f = patched(2, 1, "00");
	expect_refused(&f, "line 2, record code (positions 1-2): expected 01, 02, 08 or 09 (00 only "
	                   "on the first line), found '00'");
	f = patched(2, 1, "02");
	expect_refused(&f, "line 2, record code (positions 1-2): expected 01 (an emisora header) "
	                   "before records 02, found '02'");
	f = patched(5, 1, "01");
	expect_refused(&f, "line 5, record code (positions 1-2): expected 08 (the totals of the open "
	                   "emisora block) before a new 01, found '01'");
	f = patched(1, 1, "0A");
	expect_refused(&f, "line 1, record code (positions 1-2): expected 2 digits, found '0A'");
}

Test(c60_collection, malformed_detail_fields_are_named)
{
	struct file f = patched(3, 32, "0001234A");
	expect_refused(&f, "line 3, amount (positions 32-39): expected 8 digits, found '0001234A'");
	f = patched(3, 32, "00000000");
	expect_refused(&f, "line 3, amount (positions 32-39): expected an amount in cents above "
	                   "zero, found '00000000'");
	f = patched(3, 40, "20261131");
	expect_refused(&f, "line 3, collection date (positions 40-47): expected a date AAAAMMDD "
	                   "from 2000 to 2099, found '20261131'");
	f = patched(3, 40, "20261127");
	expect_refused(&f, "line 3, collection date (positions 40-47): expected a date within the "
	                   "block's period 2026-11-01..2026-11-26, found '20261127'");
	f = patched(3, 9, "4");
	expect_refused(&f, "line 3, modalidad (positions 9-9): expected 1 or 2 (liquidaciones) or 3 "
	                   "(autoliquidaciones), found '4'");
	f = patched(3, 56, "9");
	expect_refused(&f, "line 3, channel (positions 56-56): expected 1 (counter), 2 "
	                   "(self-service) or 3 (remote banking), found '9'");
	f = patched(3, 3, "462501");
	expect_refused(&f, "line 3, emisora (positions 3-8): expected the block's emisora 462500, "
	                   "found '462501'");
	f = patched(3, 70, "X");
	expect_refused(&f, "line 3, filler (positions 57-80): expected blanks, found '             X"
	                   "          '");
	f = patched(3, 22, "10012 6334");
	expect_refused(&f, "line 3, identification (positions 22-31): expected 10 digits, found "
	                   "'10012 6334'");
}

Test(c60_collection, a_reference_whose_control_digits_do_not_verify_is_refused)
{
	struct file f = patched(3, 20, "57");
	expect_refused(&f, "line 3, reference (positions 10-21): expected control digits 56 (from "
	                   "the emisora, the identification and the amount), found '000001234557'");
	/* The same reference with one cent more: the digits cover the amount. S grows by 55, so
	 * R = (42 + 55) mod 97 = 0 and the digits are 99. */
	f = patched(3, 32, "00012346");
	expect_refused(&f, "line 3, reference (positions 10-21): expected control digits 99 (from "
	                   "the emisora, the identification and the amount), found '000001234556'");
}

Test(c60_collection, totals_that_do_not_add_up_are_refused)
{
	struct file f = patched(5, 9, "00000003");
	expect_refused(&f, "line 5, number of collections (positions 9-16): expected 2 (the block's "
	                   "records 02), found '00000003'");
	f = patched(5, 17, "00000000022196");
	expect_refused(&f, "line 5, total amount (positions 17-30): expected 22195 (the sum of the "
	                   "block's amounts), found '00000000022196'");
	f = patched(6, 11, "00000001");
	expect_refused(&f, "line 6, number of collections (positions 11-18): expected 2 (records "
	                   "02), found '00000001'");
	f = patched(6, 19, "00000000022194");
	expect_refused(&f, "line 6, total amount (positions 19-32): expected 22195 (the sum of every "
	                   "amount), found '00000000022194'");
	f = patched(6, 33, "00000005");
	expect_refused(&f, "line 6, number of records (positions 33-40): expected 6 (every record, "
	                   "this one included), found '00000005'");
	f = patched(6, 7, "0002");
	expect_refused(&f, "line 6, number of emisora blocks (positions 7-10): expected 1 (records "
	                   "01), found '0002'");
	f = patched(6, 3, "2101");
	expect_refused(&f, "line 6, presenting bank (entidad) (positions 3-6): expected the "
	                   "header's bank 2100, found '2101'");
	f = patched(5, 3, "462501");
	expect_refused(&f, "line 5, emisora (positions 3-8): expected the block's emisora 462500, "
	                   "found '462501'");
}

Test(c60_collection, a_file_cut_short_or_with_records_after_its_totals_is_refused)
{
	struct file f = valid();
	f.len -= 81;
	f.text[f.len] = '\0';
	expect_refused(&f, "line 5: the file ends without its totals record (09): it was cut short");
	f = valid();
	add(&f, "01462500%s%s", "20261101", "20261126");
	expect_refused(&f, "line 7: a record after the file totals (09), which must be the last");
	f = patched(1, 11, "20260229");
	expect_refused(&f, "line 1, creation date (positions 11-18): expected a date AAAAMMDD from "
	                   "2000 to 2099, found '20260229'");
	f = patched(2, 17, "20261031");
	expect_refused(&f, "line 2, period end (positions 17-24): expected a date on or after the "
	                   "period start, found '20261031'");
}
