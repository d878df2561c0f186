/* Test support for TLS: a test PKI made with the `openssl` CLI at test time, an HTTPS client
 * over libcurl that presents a client certificate, and a runner that starts `tramit serve`
 * over TLS. */
#ifndef TRAMIT_TESTS_TLS_H
#define TRAMIT_TESTS_TLS_H

#include <stddef.h>
#include <sys/types.h>

/* Writes into dir (created): ca/ca.pem (the client and server CA), server.{pem,key} for
 * 127.0.0.1, and client certificates NAME.{pem,key} from that CA:
 *   citizen   serialNumber IDCES-12345678Z, MARIA PROVA GARCIA
 *   company   IDCES-00000000T, JOAN REPRESENTANT, O=EMPRESA PROVA SL, VATES-B12345674
 *   employee  IDCES-45678901G, ANNA GESTORA
 *   expired   IDCES-99999999R, valid only during 2020
 *   revoked   IDCES-00000022E, revoked in crl.pem
 *   nonif     serialNumber 12345678A (a wrong check letter)
 * and stranger.{pem,key}: the citizen's subject from another CA (other/ca.pem).
 * Fails the test when openssl fails. */
void tls_pki_make(const char *dir);

struct tls_response {
	long status;
	char *body;           /* NUL-terminated, malloc'd */
	char location[1024];
	char set_cookie[2048]; /* every Set-Cookie header value, joined by "\n" */
};

struct tls_client;
/* A client of https://127.0.0.1:port trusting cafile; cert and key (PEM files) may be NULL
 * for a client without a certificate. Cookies are kept; redirects are not followed. */
struct tls_client *tls_client_new(int port, const char *cafile, const char *cert, const char *key,
                                  const char *lang);
void tls_client_free(struct tls_client *c);
void tls_get(struct tls_client *c, const char *path, struct tls_response *out);
void tls_post_form(struct tls_client *c, const char *path, const char *body, struct tls_response *out);
void tls_response_free(struct tls_response *r);

/* Starts TRAMIT_BINARY serve (args, env as tramit_start) and waits until /healthz answers
 * 200 over TLS (at most 60 s); returns the pid or fails the test. */
pid_t tls_tramit_start(const char *const *args, const char *const *env, int port,
                       const char *log_path, const char *cafile);

#endif
