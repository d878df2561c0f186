/* Fuzzes the card gateway's asynchronous notification, which anyone can post to us before its
 * signature is known good: conn_redsys_notice_verify decodes Ds_MerchantParameters (Base64,
 * then JSON) to find the order whose key checks the signature. An input is the parameters and
 * the signature, separated by a newline; seeds are notifications signed with the published
 * test key (DOMAIN.md 9.1). Invariants: an accepted notification's signature is the one we
 * compute over exactly those parameters; a refusal says why, and a forged one leaves nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "connectors/redsys/redsys.h"
#include "driver.h"

#define SECRET "sq7HjrUOBfKmC576ILgskD5srU870gJ7"

static char seed_text[2][2048];
static struct fuzz_seed seeds[2];
static struct conn_redsys_merchant merchant = {.merchant_code = "999008881", .terminal = "1",
                                               .merchant_url = "https://seu.example/api", .url_ok = "https://seu.example/ok",
                                               .url_ko = "https://seu.example/ko"};

static const char *const dictionary[] = {
	"\n", "=", "==", "+", "/", "-", "_", "eyJ", "fQ", "\"Ds_Order\":\"", "\"Ds_Amount\":\"",
	"\"Ds_Response\":\"", "\\u0000", "\\\"", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "redsys", .seeds = seeds, .n_seeds = 2, .dictionary = dictionary, .iterations = 100000,
	.max_len = 4096,
};

/* params: Base64 of json; then its signature; into out as "params\nsignature". */
static int make_seed(char *out, size_t cap, const char *json)
{
	char params[1600], sig[CONN_REDSYS_SIG_LEN + 1];
	EVP_EncodeBlock((unsigned char *)params, (const unsigned char *)json, (int)strlen(json));
	struct conn_error err = {0};
	const char *order = strstr(json, "\"Ds_Order\":\"") + 12;
	char o[16];
	snprintf(o, sizeof(o), "%.*s", (int)strcspn(order, "\""), order);
	if (conn_redsys_sign(sig, merchant.key, o, params, &err) != 0)
		return -1;
	snprintf(out, cap, "%s\n%s", params, sig);
	return 0;
}

int fuzz_init(const char *dir)
{
	(void)dir;
	struct conn_error err = {0};
	if (conn_redsys_key_decode(merchant.key, SECRET, &err) != 0)
		return -1;
	if (make_seed(seed_text[0], sizeof(seed_text[0]), "{\"Ds_Date\":\"27/11/2026\",\"Ds_Hour\":\"12:18\","
	              "\"Ds_Amount\":\"4500\",\"Ds_Currency\":\"978\",\"Ds_Order\":\"000000000197\","
	              "\"Ds_MerchantCode\":\"999008881\",\"Ds_Terminal\":\"1\",\"Ds_Response\":\"0000\","
	              "\"Ds_TransactionType\":\"0\",\"Ds_AuthorisationCode\":\"123456\"}") != 0 ||
	    make_seed(seed_text[1], sizeof(seed_text[1]), "{\"Ds_Amount\":\"1\",\"Ds_Currency\":\"978\",\"Ds_Order\":\"1234abcd\","
	              "\"Ds_Response\":\"0190\",\"Ds_MerchantCode\":\"999008881\",\"Ds_Terminal\":\"001\"}") != 0)
		return -1;
	/* The seeds must pass, or the harness would only ever test refusals. */
	for (int i = 0; i < 2; i++) {
		seeds[i] = (struct fuzz_seed){seed_text[i], 0};
		char *nl = strchr(seed_text[i], '\n');
		*nl = '\0';
		struct conn_redsys_notice n;
		int rc = conn_redsys_notice_verify(&n, &merchant, "HMAC_SHA256_V1", seed_text[i], nl + 1, &err);
		*nl = '\n';
		if (rc != 0) {
			fprintf(stderr, "fuzz: redsys: seed %d refused: %s\n", i, err.msg);
			return -1;
		}
	}
	return 0;
}

/* Decodes a Base64 MAC in either alphabet, with any padding or none; its length, or -1. */
static int decode_mac(unsigned char out[48], const char *s)
{
	char std[64];
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		n--;
	if (n > 44)
		return -1;
	for (size_t i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4)
		std[n++] = '=';
	std[n] = '\0';
	int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
	return len < 0 ? -1 : len - (n >= 1 && std[n - 1] == '=') - (n >= 2 && std[n - 2] == '=');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	if (!nl || memchr(data, '\0', size))
		return 0;
	char *params = strndup((const char *)data, (size_t)(nl - (const char *)data));
	char *sig = strndup(nl + 1, size - (size_t)(nl + 1 - (const char *)data));
	struct conn_redsys_notice n;
	struct conn_error err = {0};
	int rc = conn_redsys_notice_verify(&n, &merchant, "HMAC_SHA256_V1", params, sig, &err);
	if (rc == 0) {
		char want[CONN_REDSYS_SIG_LEN + 1];
		struct conn_error e2 = {0};
		if (conn_redsys_sign(want, merchant.key, n.order, params, &e2) != 0)
			fuzz_fail("accepted an order we cannot sign: %s", n.order);
		/* The same 32 bytes, whichever Base64 alphabet and whatever the unused low bits of
		 * the last character (which decoding ignores). */
		unsigned char a[48], b[48];
		if (decode_mac(a, want) != 32 || decode_mac(b, sig) != 32 || memcmp(a, b, 32) != 0)
			fuzz_fail("accepted a signature that is not ours over these parameters");
	} else if (!err.msg[0]) {
		fuzz_fail("refused without a reason");
	} else if (rc == CONN_REDSYS_EFORGED && n.order[0]) {
		fuzz_fail("a forged notification left its order behind");
	}
	free(params);
	free(sig);
	return 0;
}
