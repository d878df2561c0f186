/* Fuzzes the Cuaderno 60 collection file a bank sends (conn_c60_collection_parse), the only
 * source besides the card gateway's signed notifications that may mark a payment as made.
 * The seed is a valid file built from the layout in docs/payments.md. Invariants: an accepted
 * file's documents add up to its total, each amount within 1..99999999 cents and each
 * reference 12 digits; a refusal names the line (or what the whole file lacks) and leaves
 * nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "connectors/c60/c60.h"
#include "driver.h"

static char seed_text[2048];
static struct fuzz_seed seeds[1];

static const char *const dictionary[] = {
	"\r\n", "\n", "00", "01", "02", "08", "09", "462500", "20261127", "20260229", "99999999",
	"00000000", "000001234556", " ", "-", "+", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "c60", .seeds = seeds, .n_seeds = 1, .dictionary = dictionary, .iterations = 300000,
	.max_len = 4096,
};

static size_t len;

static void add(const char *fmt, ...)
{
	char rec[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rec, sizeof(rec), fmt, ap);
	va_end(ap);
	memset(rec + n, ' ', (size_t)(80 - n));
	memcpy(seed_text + len, rec, 80);
	len += 80;
	seed_text[len++] = '\n';
}

int fuzz_init(const char *dir)
{
	(void)dir;
	add("00%s%s%s%s", "2100", "0001", "20261127", "000042");
	add("01%s%s%s", "462500", "20261101", "20261126");
	add("02462500%c%s%s%s%s21000735%c", '2', "000001234556", "1001266334", "00012345", "20261120", '1');
	add("08462500%08d%014lld", 1, 12345LL);
	add("092100%04d%08d%014lld%08d", 1, 1, 12345LL, 5);
	seeds[0] = (struct fuzz_seed){seed_text, len};
	struct conn_c60_collection c;
	struct conn_error err = {0};
	if (conn_c60_collection_parse(&c, seed_text, len, &err) != 0) {
		fprintf(stderr, "fuzz: c60: the seed is refused: %s\n", err.msg);
		return -1;
	}
	conn_c60_collection_free(&c);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn_c60_collection c;
	struct conn_error err = {0};
	if (conn_c60_collection_parse(&c, (const char *)data, size, &err) != 0) {
		/* The line, or the whole file ("the file is empty", "the file ends before ..."). */
		if (strstr(err.msg, "line ") == NULL && strncmp(err.msg, "the file", 8) != 0)
			fuzz_fail("a refused file says neither the line nor what the file lacks: %s", err.msg);
		if (c.items || c.n)
			fuzz_fail("a refused file left documents behind");
		return 0;
	}
	long long sum = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct conn_c60_collected *d = &c.items[i];
		if (d->amount_cents < 1 || d->amount_cents > 99999999)
			fuzz_fail("an amount of %lld cents", d->amount_cents);
		if (strlen(d->reference) != 12 || strspn(d->reference, "0123456789") != 12)
			fuzz_fail("a reference '%s'", d->reference);
		sum += d->amount_cents;
	}
	if (sum != c.total_cents)
		fuzz_fail("documents add up to %lld, the file says %lld", sum, c.total_cents);
	conn_c60_collection_free(&c);
	return 0;
}
