/* Secure verification codes (CSV, L40 art. 42): 115 random bits from OpenSSL's CSPRNG in
 * Crockford's base-32 alphabet plus one check character (ISO 7064 hybrid construction,
 * MOD 33,32), shown as six groups of four: "7K3M-QX2P-...". Never derived from a sequence.
 * Invariant: every code conn_csv_new returns passes conn_csv_normalize. Thread-safe. */
#ifndef CONN_CSV_H
#define CONN_CSV_H

#include <stdbool.h>
#include <stddef.h>

enum {
	CONN_CSV_CHARS = 24,        /* 23 random characters and a check character */
	CONN_CSV_DISPLAY_LEN = 29,  /* with the five dashes */
};

/* Writes a new code in display form (CONN_CSV_DISPLAY_LEN chars + NUL) into out.
 * Returns 0, or -1 if the random generator failed (never returns a weak code). */
int conn_csv_new(char out[CONN_CSV_DISPLAY_LEN + 1]);

/* Normalises what a person typed (any case, spaces or dashes anywhere, O for 0, I and L for 1)
 * into display form. Returns 0, or -1 if it has the wrong length, a character outside the
 * alphabet, or a wrong check character. */
int conn_csv_normalize(char out[CONN_CSV_DISPLAY_LEN + 1], const char *typed);

#endif
