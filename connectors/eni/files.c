/* Small helpers shared by the ENI export and its verification: error text, SHA-256 in base64
 * (of memory, or of a file read a piece at a time), whole-file reads and writes. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/eni/eni_internal.h"

int eni__fail(struct conn_eni_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

void eni__sha256_b64(char out[48], const unsigned char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok = EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
	/* SHA-256 over memory cannot fail short of a broken OpenSSL. */
	if (!ok || md_len != 32)
		abort();
	EVP_EncodeBlock((unsigned char *)out, md, 32);
}

int eni__file_sha256_b64(char out[48], const char *path, struct conn_eni_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot open: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	unsigned char buf[1 << 16];
	for (size_t n; ok && (n = fread(buf, 1, sizeof(buf), f)) > 0;)
		ok = EVP_DigestUpdate(ctx, buf, n) == 1;
	int bad = ferror(f);
	fclose(f);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	ok = ok && !bad && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: %s", path, bad ? "read error" : "hashing failed");
	EVP_EncodeBlock((unsigned char *)out, md, 32);
	return 0;
}

int eni__file_read(unsigned char **out, size_t *len, const char *path, struct conn_eni_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot open: %s", path, strerror(errno));
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap + 1);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *bigger = realloc(buf, cap * 2 + 1);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad) {
		free(buf);
		return eni__fail(err, CONN_ENI_EFAIL, "%s: %s", path, bad ? "read error" : "out of memory");
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int eni__file_write(const char *path, const unsigned char *data, size_t len,
                    struct conn_eni_error *err)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: cannot create: %s", path, strerror(errno));
	size_t written = fwrite(data, 1, len, f);
	int bad = fclose(f) != 0 || written != len;
	if (bad)
		return eni__fail(err, CONN_ENI_EFAIL, "%s: write error: %s", path, strerror(errno));
	return 0;
}
