/* Shared internals of the Redsys connector (conn__redsys_ prefix): Base64 in both alphabets and
 * the opened connector's state. Not for use outside connectors/redsys/. */
#ifndef CONN_REDSYS_INTERNAL_H
#define CONN_REDSYS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "redsys.h"

struct conn_redsys {
	struct conn_redsys_merchant merchant; /* strings borrowed from config */
	const char *gateway_url, *query_url;  /* query_url may be NULL */
	long long timeout_s;
	json_t *config;                       /* owns the strings */
};

/* Standard Base64 with padding into out (NUL-terminated). Returns the length written, or -1
 * when out (cap bytes) is too small. */
int conn__redsys_b64_encode(char *out, size_t cap, const unsigned char *in, size_t len);
/* Decodes Base64 in either alphabet ("+/" or "-_"), padding optional, no whitespace. Returns
 * the number of bytes written, or -1 for a character outside the alphabets, a bad length or
 * more than cap bytes. */
long conn__redsys_b64_decode(unsigned char *out, size_t cap, const char *in);

/* The raw HMAC-SHA256 of params_b64 under the key derived for order. */
int conn__redsys_mac(unsigned char mac[32], const unsigned char key[CONN_REDSYS_KEY_LEN],
                     const char *order, const char *params_b64, struct conn_error *err);

#endif
