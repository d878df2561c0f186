/* `tramit document render RECEIPT.json [--lang ca|es] [--url BASE] -o OUT.pdf`: renders a
 * stored receipt (the JSON the verification page downloads) as the PDF citizens get, with the
 * CSV and verification URL on every page. The same input always writes the same bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "connectors/docs/docs.h"

enum { RECEIPT_MAX = 16 << 20 };

static int usage(void)
{
	fprintf(stderr, "usage: tramit document render RECEIPT.json [--lang ca|es] [--url BASE] "
	                "-o OUT.pdf\n"
	                "  --lang  one language only (default: Valencian, then Spanish)\n"
	                "  --url   the e-office address printed and put in the QR code as\n"
	                "          BASE/verify?csv=CODE (default http://127.0.0.1:$PORT, port 8080)\n");
	return 2;
}

/* Reads a whole file of at most RECEIPT_MAX bytes into *out (NUL-terminated, malloc'd). */
static int file_read(char **out, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "tramit: document render: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	char *buf = malloc(RECEIPT_MAX + 1);
	size_t n = buf ? fread(buf, 1, RECEIPT_MAX + 1, f) : 0;
	int rc = 0;
	if (!buf || ferror(f) || n > RECEIPT_MAX) {
		fprintf(stderr, "tramit: document render: %s: %s\n", path,
		        !buf ? "out of memory" : ferror(f) ? strerror(errno)
		             : "larger than 16 MiB, not a receipt");
		free(buf);
		rc = 1;
	} else {
		buf[n] = '\0';
		*out = buf;
	}
	fclose(f);
	return rc;
}

static int file_write(const char *path, const unsigned char *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "tramit: document render: cannot create %s: %s\n", path, strerror(errno));
		return 1;
	}
	bool ok = fwrite(bytes, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		fprintf(stderr, "tramit: document render: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		return 1;
	}
	return 0;
}

static int render(const char *in, const char *lang, const char *url, const char *out)
{
	char *json = NULL;
	if (file_read(&json, in) != 0)
		return 1;
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error err = {0};
	int status = 1;
	if (conn_doc_receipt_pdf(&pdf, &len, json, lang, url, &err) != 0)
		fprintf(stderr, "tramit: document render: %s: %s\n", in, err.msg);
	else if (file_write(out, pdf, len) == 0)
		status = 0, printf("%s: %zu bytes\n", out, len);
	conn_doc_free(pdf);
	free(json);
	return status;
}

int cli_document(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "render") != 0)
		return usage();
	const char *in = NULL, *lang = NULL, *url = NULL, *out = NULL;
	for (int i = 2; i < argc; i++) {
		const char **opt = strcmp(argv[i], "--lang") == 0 ? &lang
		                 : strcmp(argv[i], "--url") == 0 ? &url
		                 : strcmp(argv[i], "-o") == 0 ? &out : NULL;
		if (opt && i + 1 < argc)
			*opt = argv[++i];
		else if (!opt && !in && argv[i][0] != '-')
			in = argv[i];
		else
			return usage();
	}
	if (!in || !out)
		return usage();
	if (lang && strcmp(lang, "ca") != 0 && strcmp(lang, "es") != 0) {
		fprintf(stderr, "tramit: document render: --lang: expected ca or es, found '%s'\n", lang);
		return 2;
	}
	char fallback[64];
	snprintf(fallback, sizeof(fallback), "http://127.0.0.1:%.8s", cli_env("PORT", "8080"));
	return render(in, lang, url ? url : fallback, out);
}
