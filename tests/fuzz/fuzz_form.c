/* Fuzzes the two body parsers of the web layer: application/x-www-form-urlencoded
 * (web_parse_form, also every query string) and multipart/form-data (web_multipart_parse, the
 * uploads). An input is a Content-Type line, then the body. Invariants: a parsed form has at
 * most 256 values, each a NUL-free UTF-8 string; a parsed multipart body has parts whose data
 * lie inside the body; a refusal names its reason with an i18n key. */
#include <stdbool.h>
#include <string.h>

#include "driver.h"
#include "web/internal.h"

static const struct fuzz_seed seeds[] = {
	{"application/x-www-form-urlencoded\ncsrf=abc&assumpte=Fanal+apagat&exposa=Hi+ha%0D%0Aun+fanal&idioma=ca", 0},
	{"application/x-www-form-urlencoded\na=%C3%A0%E2%82%AC&b=&=c&&d", 0},
	{"multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
	 "tok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"plans\"; filename=\"pl\xc3\xa0nol.pdf\"\r\n"
	 "Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n%%EOF\r\n--XyZ--\r\n", 0},
	{"multipart/form-data; boundary=\"quoted b\"\n--quoted b\r\nContent-Disposition: form-data; "
	 "name=\"x\"\r\n\r\n1\r\n--quoted b--", 0},
};

static const char *const dictionary[] = {
	"%", "%0", "%C3%A0", "%00", "%ZZ", "+", "&", "=", "--XyZ", "\r\n", "\r\n\r\n", "--XyZ--",
	"Content-Disposition: form-data; name=\"", "\"; filename=\"", "Content-Type: ", "boundary=",
	"multipart/form-data; boundary=", "application/x-www-form-urlencoded\n", "\xc3", "\xe2\x82",
	"\xf0\x9f\x98", "\xed\xa0\x80", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "form", .seeds = seeds, .n_seeds = sizeof(seeds) / sizeof(seeds[0]),
	.dictionary = dictionary, .iterations = 300000, .max_len = 8192,
};

int fuzz_init(const char *dir)
{
	(void)dir;
	return 0;
}

static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	struct web_ctx c = {0};
	char *ctype = eng_arena_strndup(&c.arena, (const char *)data, (size_t)(nl - (const char *)data));
	const char *body = nl + 1;
	size_t len = size - (size_t)(body - (const char *)data);
	if (strncmp(ctype, "multipart/", 10) == 0) {
		struct web_part *parts;
		size_t n;
		const char *why = NULL;
		if (web_multipart_parse(&c, ctype, body, len, 16, &parts, &n, &why) == 0) {
			if (n > 16)
				fuzz_fail("%zu parts, more than the 16 allowed", n);
			for (size_t i = 0; i < n; i++) {
				if (!parts[i].name)
					fuzz_fail("part %zu has no name", i);
				if (parts[i].len && (parts[i].data < body || parts[i].data + parts[i].len > body + len))
					fuzz_fail("part %zu's data lies outside the body", i);
			}
		} else if (!why || strncmp(why, "mp.", 3) != 0) {
			fuzz_fail("a refused multipart body gives no reason key");
		}
	} else {
		struct eng_value *v;
		size_t n;
		if (web_parse_form(&c, body, len, &v, &n) == 0) {
			if (n > 256)
				fuzz_fail("%zu values, more than 256", n);
			for (size_t i = 0; i < n; i++)
				if (!utf8_ok(v[i].name) || !utf8_ok(v[i].value))
					fuzz_fail("value %zu is not UTF-8", i);
		}
	}
	eng_arena_free(&c.arena);
	return 0;
}
