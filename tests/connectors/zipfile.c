/* A zip writer for tests: local header, data, central directory and end record, all for one
 * stored member; encryption is the traditional PKWARE stream cipher (APPNOTE 6.1). */
#include "zipfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_byte(uint32_t crc, unsigned char b)
{
	return crc_table[(crc ^ b) & 0xff] ^ (crc >> 8);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = crc_byte(c, p[i]);
	return c ^ 0xffffffffu;
}

struct keys {
	uint32_t k0, k1, k2;
};

static void keys_update(struct keys *k, unsigned char c)
{
	k->k0 = crc_byte(k->k0, c);
	k->k1 = (k->k1 + (k->k0 & 0xff)) * 134775813u + 1;
	k->k2 = crc_byte(k->k2, (unsigned char)(k->k1 >> 24));
}

static unsigned char keys_stream(const struct keys *k)
{
	uint16_t t = (uint16_t)(k->k2 | 2);
	return (unsigned char)(((unsigned)t * (t ^ 1u)) >> 8);
}

static unsigned char *put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	return put16(put16(p, v & 0xffff), v >> 16);
}

/* The fields the local header and the central directory share, from "version needed" on. */
static unsigned char *common(unsigned char *p, unsigned flags, uint32_t crc, size_t csize,
                             size_t usize, size_t name_len)
{
	p = put16(p, 20);
	p = put16(p, flags);
	p = put16(p, 0);      /* stored */
	p = put16(p, 0);      /* time 00:00 */
	p = put16(p, 0x21);   /* date 1980-01-01 */
	p = put32(p, crc);
	p = put32(p, (uint32_t)csize);
	p = put32(p, (uint32_t)usize);
	p = put16(p, (unsigned)name_len);
	return put16(p, 0);   /* extra length */
}

unsigned char *zip_one(size_t *len, const char *member, const void *data, size_t n,
                       const char *password)
{
	crc_init();
	size_t name_len = strlen(member), csize = n + (password ? 12 : 0);
	uint32_t crc = crc32_of(data, n);
	unsigned flags = password ? 1 : 0;
	unsigned char *z = malloc(30 + name_len + csize + 46 + name_len + 22), *p = z;
	if (!z)
		return NULL;
	p = put32(p, 0x04034b50);
	p = common(p, flags, crc, csize, n, name_len);
	memcpy(p, member, name_len);
	p += name_len;
	if (password) {
		struct keys k = {0x12345678u, 0x23456789u, 0x34567890u};
		for (const char *c = password; *c; c++)
			keys_update(&k, (unsigned char)*c);
		unsigned char plain[12] = "tramit-test";
		plain[11] = (unsigned char)(crc >> 24); /* the check byte */
		for (size_t i = 0; i < 12 + n; i++) {
			unsigned char b = i < 12 ? plain[i] : ((const unsigned char *)data)[i - 12];
			*p++ = b ^ keys_stream(&k);
			keys_update(&k, b);
		}
	} else {
		memcpy(p, data, n);
		p += n;
	}
	size_t cd_offset = (size_t)(p - z);
	p = put32(p, 0x02014b50);
	p = put16(p, 20); /* made by */
	p = common(p, flags, crc, csize, n, name_len);
	p = put16(p, 0);  /* comment */
	p = put16(p, 0);  /* disk */
	p = put16(p, 0);  /* internal attributes */
	p = put32(p, 0);  /* external attributes */
	p = put32(p, 0);  /* local header offset */
	memcpy(p, member, name_len);
	p += name_len;
	size_t cd_size = (size_t)(p - z) - cd_offset;
	p = put32(p, 0x06054b50);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, 1);
	p = put16(p, 1);
	p = put32(p, (uint32_t)cd_size);
	p = put32(p, (uint32_t)cd_offset);
	p = put16(p, 0);
	*len = (size_t)(p - z);
	return z;
}
