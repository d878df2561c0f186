/* CSV generation and normalisation. The check character follows the ISO 7064 hybrid
 * construction with M = 32 (M + 1 = 33 is odd, so doubling modulo 33 is a bijection and every
 * single-character error is caught, as are most adjacent swaps). */
#include "csv.h"

#include <ctype.h>
#include <string.h>

#include <openssl/rand.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford: no I L O U */

static int value_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

static char check_char(const int *v, size_t n)
{
	const int m = 32;
	int p = m;
	for (size_t i = 0; i < n; i++) {
		int s = (p + v[i]) % m;
		if (s == 0)
			s = m;
		p = (s * 2) % (m + 1);
	}
	/* The check value c makes (p + c) mod m == 1. */
	return alphabet[(m + 1 - p) % m];
}

static void to_display(char out[CONN_CSV_DISPLAY_LEN + 1], const char *chars)
{
	size_t o = 0;
	for (size_t i = 0; i < CONN_CSV_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = chars[i];
	}
	out[o] = '\0';
}

int conn_csv_new(char out[CONN_CSV_DISPLAY_LEN + 1])
{
	unsigned char bytes[15]; /* 120 bits, of which 115 are used */
	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -1;
	int v[CONN_CSV_CHARS];
	char chars[CONN_CSV_CHARS];
	for (size_t i = 0; i < CONN_CSV_CHARS - 1; i++) {
		size_t bit = i * 5;
		unsigned w = (unsigned)bytes[bit / 8] << 8 | bytes[bit / 8 + 1];
		v[i] = (int)((w >> (11 - bit % 8)) & 31);
		chars[i] = alphabet[v[i]];
	}
	chars[CONN_CSV_CHARS - 1] = check_char(v, CONN_CSV_CHARS - 1);
	to_display(out, chars);
	return 0;
}

int conn_csv_normalize(char out[CONN_CSV_DISPLAY_LEN + 1], const char *typed)
{
	char chars[CONN_CSV_CHARS];
	int v[CONN_CSV_CHARS];
	size_t n = 0;
	for (const char *p = typed; *p; p++) {
		char c = (char)toupper((unsigned char)*p);
		if (c == ' ' || c == '-' || c == '\t')
			continue;
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		int val = value_of(c);
		if (val < 0 || n == CONN_CSV_CHARS)
			return -1;
		v[n] = val;
		chars[n++] = c;
	}
	if (n != CONN_CSV_CHARS || check_char(v, n - 1) != chars[n - 1])
		return -1;
	to_display(out, chars);
	return 0;
}
