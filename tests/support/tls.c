/* Test TLS support: the test PKI, an HTTPS client with a client certificate, a TLS runner. */
#include "tls.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http.h"
#include "tests/support/shell.h"

/* `openssl ca` keeps a database, so certificates can be revoked and a CRL issued; it also
 * takes explicit dates, for a certificate that expired in 2020. */
static const char pki_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"mkca() {\n"
	"  mkdir -p $1/db; : > $1/db/index.txt; echo 1000 > $1/db/serial\n"
	"  cat > $1/ca.cnf <<CNF\n"
	"[ca]\ndefault_ca = this\n[this]\ndir = $PWD/$1\ndatabase = \\$dir/db/index.txt\n"
	"serial = \\$dir/db/serial\nnew_certs_dir = \\$dir/db\ncertificate = \\$dir/ca.pem\n"
	"private_key = \\$dir/ca.key\ndefault_md = sha256\ndefault_days = 365\n"
	"default_crl_days = 30\npolicy = pol\nunique_subject = no\ncopy_extensions = copy\n"
	"[pol]\ncommonName = supplied\n[leaf]\nbasicConstraints = CA:FALSE\n"
	"keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth, serverAuth\n"
	"CNF\n"
	"  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1/ca.key "
	"-out $1/ca.pem -days 3650 -subj \"/C=ES/O=Test/CN=$2\" 2>/dev/null\n"
	"}\n"
	"leaf() {\n"
	"  ca=$1; name=$2; subj=$3; shift 3\n"
	"  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $name.key "
	"-out $name.csr -subj \"$subj\" -addext \"subjectAltName=IP:127.0.0.1\" 2>/dev/null\n"
	"  openssl ca -batch -notext -preserveDN -config $ca/ca.cnf -extensions leaf -in $name.csr "
	"-out $name.pem \"$@\" 2>/dev/null\n"
	"}\n"
	"mkca ca 'Test CA Ciutadania'\n"
	"mkca other 'Altra CA'\n"
	"leaf ca server '/CN=127.0.0.1'\n"
	"leaf ca citizen '/C=ES/serialNumber=IDCES-12345678Z/GN=MARIA/SN=PROVA GARCIA/CN=PROVA GARCIA MARIA - 12345678Z'\n"
	"leaf ca company '/C=ES/serialNumber=IDCES-00000000T/GN=JOAN/SN=REPRESENTANT/CN=00000000T JOAN "
	"REPRESENTANT (R: B12345674)/O=EMPRESA PROVA SL/organizationIdentifier=VATES-B12345674'\n"
	"leaf ca employee '/C=ES/serialNumber=IDCES-45678901G/GN=ANNA/SN=GESTORA/CN=GESTORA ANNA - 45678901G'\n"
	"leaf ca expired '/C=ES/serialNumber=IDCES-99999999R/GN=CADUCAT/SN=PROVA/CN=PROVA CADUCAT - 99999999R' "
	"-startdate 200101000000Z -enddate 210101000000Z\n"
	"leaf ca revoked '/C=ES/serialNumber=IDCES-00000022E/GN=REVOCAT/SN=PROVA/CN=PROVA REVOCAT - 00000022E'\n"
	"leaf ca nonif '/C=ES/serialNumber=IDCES-12345678A/GN=ERRADA/SN=PROVA/CN=PROVA ERRADA'\n"
	"leaf other stranger '/C=ES/serialNumber=IDCES-12345678Z/GN=MARIA/SN=PROVA GARCIA/CN=ALTRA MARIA - 12345678Z'\n"
	"openssl ca -batch -config ca/ca.cnf -revoke revoked.pem 2>/dev/null\n"
	"openssl ca -batch -config ca/ca.cnf -gencrl -out crl.pem 2>/dev/null\n";

void tls_pki_make(const char *dir)
{
	mkdir(dir, 0700);
	char path[1024];
	snprintf(path, sizeof(path), "%s/make-pki.sh", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(pki_script, f);
	fclose(f);
	char *out = NULL;
	int st = shell_run(&out, NULL, "sh '%s' '%s' 2>&1", path, dir);
	cr_assert_eq(st, 0, "making the test PKI failed: %s", out);
	free(out);
}

struct tls_client {
	CURL *curl;
	int port;
	char lang[32];
};

struct tls_client *tls_client_new(int port, const char *cafile, const char *cert, const char *key,
                                  const char *lang)
{
	struct tls_client *c = calloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	c->port = port;
	snprintf(c->lang, sizeof(c->lang), "%s", lang ? lang : "");
	curl_easy_setopt(c->curl, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c->curl, CURLOPT_CAINFO, cafile);
	if (cert) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, key);
	}
	return c;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *payload)
{
	struct tls_response *r = payload;
	size_t len = size * n, have = strlen(r->body);
	r->body = realloc(r->body, have + len + 1);
	memcpy(r->body + have, ptr, len);
	r->body[have + len] = '\0';
	return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *payload)
{
	struct tls_response *r = payload;
	size_t len = size * n;
	if (len > 10 && strncasecmp(ptr, "Location: ", 10) == 0) {
		snprintf(r->location, sizeof(r->location), "%.*s", (int)(len - 10), ptr + 10);
		r->location[strcspn(r->location, "\r\n")] = '\0';
	}
	if (len > 12 && strncasecmp(ptr, "Set-Cookie: ", 12) == 0) {
		size_t have = strlen(r->set_cookie);
		snprintf(r->set_cookie + have, sizeof(r->set_cookie) - have, "%s%.*s", have ? "\n" : "",
		         (int)(len - 12), ptr + 12);
		r->set_cookie[strcspn(r->set_cookie + have, "\r") + have] = '\0';
	}
	return len;
}

static void perform(struct tls_client *c, const char *path, const char *post, struct tls_response *out)
{
	memset(out, 0, sizeof(*out));
	out->body = calloc(1, 1);
	char url[2048], lang[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", c->port, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, out);
	struct curl_slist *h = NULL;
	if (c->lang[0]) {
		snprintf(lang, sizeof(lang), "Accept-Language: %s", c->lang);
		h = curl_slist_append(h, lang);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	if (post) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	cr_assert_eq(rc, CURLE_OK, "%s: %s", path, curl_easy_strerror(rc));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
}

void tls_get(struct tls_client *c, const char *path, struct tls_response *out)
{
	perform(c, path, NULL, out);
}

void tls_post_form(struct tls_client *c, const char *path, const char *body, struct tls_response *out)
{
	perform(c, path, body, out);
}

void tls_response_free(struct tls_response *r)
{
	free(r->body);
	r->body = NULL;
}

pid_t tls_tramit_start(const char *const *args, const char *const *env, int port,
                       const char *log_path, const char *cafile)
{
	pid_t pid = tramit_spawn(args, env, log_path);
	CURL *curl = curl_easy_init();
	char url[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_CAINFO, cafile);
	tramit_await(pid, curl, log_path);
	curl_easy_cleanup(curl);
	return pid;
}
