/* Cuaderno 60 modalidad 2 codes: the reference's control digits, the identification and the
 * 42-digit barcode. Invariant: arithmetic is done on 64-bit integers (the sum reaches about
 * 6 * 10^11), never on floating point as the PHP implementation did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c60.h"
#include "connectors/config.h"

static bool digits(const char *s, size_t n)
{
	return s && strlen(s) == n && strspn(s, "0123456789") == n;
}

static long long number(const char *s)
{
	return strtoll(s, NULL, 10);
}

int conn_c60_control_digits(const char *emisora, const char *document, const char *identification,
                            const char *amount)
{
	if (!digits(emisora, 6) || !digits(document, 10) || !digits(identification, 10) ||
	    !digits(amount, 8))
		return -1;
	long long s = number(emisora) * 76 + number(document) * 9 +
	              (number(identification) + number(amount) - 1) * 55;
	long long r = (s % 97 + 97) % 97; /* s is -55 when identification and amount are zero */
	return (int)(99 - r * 100 / 97);
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Day of the year (1..366) of a date, or 0 when it is not a date. */
static int day_of_year(int y, int m, int d)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1)
		return 0;
	int in_month = days[m - 1] + (m == 2 && leap(y));
	if (d > in_month)
		return 0;
	int n = d;
	for (int i = 0; i < m - 1; i++)
		n += days[i] + (i == 1 && leap(y));
	return n;
}

static int check_input(const struct conn_c60_input *in, struct conn_error *err)
{
	if (!digits(in->emisora, 6))
		return conn__errorf(err, CONN_EINVALID, "emisora: expected 6 digits, found '%.20s'",
		                    in->emisora ? in->emisora : "");
	if (!digits(in->document, 10))
		return conn__errorf(err, CONN_EINVALID, "document: expected 10 digits, found '%.20s'",
		                    in->document ? in->document : "");
	if (in->period < '0' || in->period > '9')
		return conn__errorf(err, CONN_EINVALID, "period: expected one digit");
	if (!digits(in->tributo, 3))
		return conn__errorf(err, CONN_EINVALID, "tributo: expected 3 digits, found '%.20s'",
		                    in->tributo ? in->tributo : "");
	if (in->ejercicio < 2000 || in->ejercicio > 2099)
		return conn__errorf(err, CONN_EINVALID, "ejercicio: expected a year 2000..2099, found %d",
		                    in->ejercicio);
	if (!day_of_year(in->deadline_year, in->deadline_month, in->deadline_day))
		return conn__errorf(err, CONN_EINVALID, "deadline: %04d-%02d-%02d is not a date in "
		                    "2000..2099", in->deadline_year, in->deadline_month, in->deadline_day);
	if (in->amount_cents < 1 || in->amount_cents > 99999999)
		return conn__errorf(err, CONN_EINVALID, "amount_cents: expected 1..99999999 (at most "
		                    "999.999,99 EUR), found %lld", in->amount_cents);
	return 0;
}

int conn_c60_code_make(struct conn_c60_code *out, const struct conn_c60_input *in,
                       struct conn_error *err)
{
	memset(out, 0, sizeof(*out));
	int rc = check_input(in, err);
	if (rc)
		return rc;
	int doy = day_of_year(in->deadline_year, in->deadline_month, in->deadline_day);
	snprintf(out->identification, sizeof(out->identification), "%c%s%02d%d%03d", in->period,
	         in->tributo, in->ejercicio % 100, in->deadline_year % 10, doy);
	snprintf(out->amount, sizeof(out->amount), "%08lld", in->amount_cents);
	int dc = conn_c60_control_digits(in->emisora, in->document, out->identification, out->amount);
	snprintf(out->reference, sizeof(out->reference), "%s%02d", in->document, dc);
	snprintf(out->barcode, sizeof(out->barcode), "90521%s%s%s%s0", in->emisora, out->reference,
	         out->identification, out->amount);
	return 0;
}

int conn_c60_barcode_check(struct conn_c60_code *out, const char *barcode, struct conn_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(barcode), ok = strspn(barcode, "0123456789");
	if (ok < len)
		return conn__errorf(err, CONN_EINVALID, "barcode: character %zu is '%c', expected a digit",
		                    ok + 1, barcode[ok]);
	if (len != CONN_C60_BARCODE_LEN)
		return conn__errorf(err, CONN_EINVALID, "barcode: expected 42 digits, found %zu", len);
	if (strncmp(barcode, "90521", 5) != 0)
		return conn__errorf(err, CONN_EINVALID, "barcode: expected to start with 90521 (modalidad "
		                    "2, format 521), found %.5s", barcode);
	if (barcode[41] != '0')
		return conn__errorf(err, CONN_EINVALID, "barcode: digit 42 is %c, expected 0", barcode[41]);
	char emisora[7], document[11];
	memcpy(emisora, barcode + 5, 6);
	emisora[6] = '\0';
	memcpy(document, barcode + 11, 10);
	document[10] = '\0';
	memcpy(out->reference, barcode + 11, 12);
	memcpy(out->identification, barcode + 23, 10);
	memcpy(out->amount, barcode + 33, 8);
	int dc = conn_c60_control_digits(emisora, document, out->identification, out->amount);
	int given = (barcode[21] - '0') * 10 + (barcode[22] - '0');
	if (dc != given) {
		memset(out, 0, sizeof(*out));
		return conn__errorf(err, CONN_EINVALID, "barcode: the reference's control digits (digits "
		                    "22-23) are %02d, expected %02d: mistyped or altered", given, dc);
	}
	memcpy(out->barcode, barcode, sizeof(out->barcode));
	return 0;
}
