/* The HMAC_SHA256_V1 signature of DOMAIN.md 9.3 and the Base64 it travels in. Invariant: a
 * signature is always computed over the exact Base64 text sent or received, never over a
 * re-serialised JSON, and the derived key keeps the whole 3DES ciphertext. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <string.h>

#include "connectors/config.h"
#include "redsys_internal.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int conn__redsys_b64_encode(char *out, size_t cap, const unsigned char *in, size_t len)
{
	size_t need = (len + 2) / 3 * 4;
	if (need + 1 > cap)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* The value of one Base64 character in either alphabet, or -1. */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

long conn__redsys_b64_decode(unsigned char *out, size_t cap, const char *in)
{
	size_t n = strlen(in);
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (strlen(in) - n > 2 || n % 4 == 1)
		return -1;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

int conn_redsys_key_decode(unsigned char key[CONN_REDSYS_KEY_LEN], const char *secret_b64,
                           struct conn_error *err)
{
	unsigned char buf[CONN_REDSYS_KEY_LEN + 3];
	long n = conn__redsys_b64_decode(buf, sizeof(buf), secret_b64);
	if (n != CONN_REDSYS_KEY_LEN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		if (n < 0)
			return conn__errorf(err, CONN_EINVALID,
			                    "expected Base64 of a 24-byte key, found text that is not Base64");
		return conn__errorf(err, CONN_EINVALID, "expected Base64 of a 24-byte key, found %ld bytes",
		                    n);
	}
	memcpy(key, buf, CONN_REDSYS_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int conn_redsys_key_derive(unsigned char out[16], size_t *out_len,
                           const unsigned char key[CONN_REDSYS_KEY_LEN], const char *order,
                           struct conn_error *err)
{
	size_t len = strlen(order);
	if (len == 0 || len > CONN_REDSYS_ORDER_MAX)
		return conn__errorf(err, CONN_EINVALID, "order: expected 1 to 12 characters, found %zu",
		                    len);
	/* Zero padding to a multiple of 8, then plain CBC with padding off: the gateway encrypts
	 * the same block(s), so the whole ciphertext is the key, 8 or 16 bytes. */
	unsigned char plain[16] = {0}, iv[8] = {0};
	memcpy(plain, order, len);
	size_t padded = (len + 7) / 8 * 8;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, tail = 0;
	int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_des_ede3_cbc(), NULL, key, iv) == 1 &&
	         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	         EVP_EncryptUpdate(ctx, out, &n, plain, (int)padded) == 1 &&
	         EVP_EncryptFinal_ex(ctx, out + n, &tail) == 1 && (size_t)(n + tail) == padded;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return conn__errorf(err, CONN_EUNAVAILABLE, "3DES-CBC is not available from OpenSSL");
	*out_len = padded;
	return 0;
}

int conn__redsys_mac(unsigned char mac[32], const unsigned char key[CONN_REDSYS_KEY_LEN],
                     const char *order, const char *params_b64, struct conn_error *err)
{
	unsigned char derived[16];
	size_t derived_len = 0;
	unsigned mac_len = 0;
	int rc = conn_redsys_key_derive(derived, &derived_len, key, order, err);
	if (rc)
		return rc;
	bool ok = HMAC(EVP_sha256(), derived, (int)derived_len, (const unsigned char *)params_b64,
	               strlen(params_b64), mac, &mac_len) && mac_len == 32;
	OPENSSL_cleanse(derived, sizeof(derived));
	if (!ok)
		return conn__errorf(err, CONN_EUNAVAILABLE, "HMAC-SHA256 is not available from OpenSSL");
	return 0;
}

int conn_redsys_sign(char out[CONN_REDSYS_SIG_LEN + 1],
                     const unsigned char key[CONN_REDSYS_KEY_LEN], const char *order,
                     const char *params_b64, struct conn_error *err)
{
	unsigned char mac[32];
	int rc = conn__redsys_mac(mac, key, order, params_b64, err);
	if (rc)
		return rc;
	conn__redsys_b64_encode(out, CONN_REDSYS_SIG_LEN + 1, mac, sizeof(mac));
	return 0;
}
