/* TLS for the server: every connection of every loop is wrapped in OpenSSL through
 * libevent's bufferevent_openssl when TRAMIT_TLS_CERT and TRAMIT_TLS_KEY are set. With
 * TRAMIT_TLS_CLIENT_CA the server asks for a client certificate but never requires one: the
 * handshake always completes, and /login/certificate reads the verification's verdict, so a
 * person with an expired or unknown certificate gets a page that says so instead of a broken
 * connection. Invariant: a certificate counts as verified only when OpenSSL's verdict against
 * the client CA (and the CRL, when TRAMIT_TLS_CRL is set) is X509_V_OK. */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct web_tls {
	SSL_CTX *ctx;
	bool client_ca; /* client certificates are asked for */
};

/* The first OpenSSL error, as one line. */
static const char *ssl_why(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	if (!e)
		return "unknown error";
	ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* Where a connection keeps the first verification error (+1; 0: none). Verification goes on
 * after an error once the callback accepts it, and later checks (a CRL the unknown issuer
 * cannot have) overwrite OpenSSL's verdict: the first error is the one that explains. */
static int first_error_index = -1;
static pthread_once_t first_error_once = PTHREAD_ONCE_INIT;

static void first_error_init(void)
{
	first_error_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The handshake never fails on a client certificate: the sign-in page explains the verdict. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (!ok && ssl && first_error_index >= 0 && !SSL_get_ex_data(ssl, first_error_index))
		SSL_set_ex_data(ssl, first_error_index, (void *)(intptr_t)(X509_STORE_CTX_get_error(x) + 1));
	return 1;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int web_tls_open(struct web_tls **out, struct eng_error *err)
{
	*out = NULL;
	const char *cert = env("TRAMIT_TLS_CERT"), *key = env("TRAMIT_TLS_KEY");
	const char *ca = env("TRAMIT_TLS_CLIENT_CA"), *crl = env("TRAMIT_TLS_CRL");
	if (!cert && !key) {
		if (ca || crl)
			return eng_error_set(err, ENG_EINVALID, "TRAMIT_TLS_CLIENT_CA and TRAMIT_TLS_CRL need "
			                     "TLS: set TRAMIT_TLS_CERT and TRAMIT_TLS_KEY too");
		return 0;
	}
	if (!cert || !key)
		return eng_error_set(err, ENG_EINVALID, "TLS needs both TRAMIT_TLS_CERT and TRAMIT_TLS_KEY; "
		                     "only %s is set", cert ? "TRAMIT_TLS_CERT" : "TRAMIT_TLS_KEY");
	if (crl && !ca)
		return eng_error_set(err, ENG_EINVALID, "TRAMIT_TLS_CRL needs TRAMIT_TLS_CLIENT_CA");
	char why[256];
	pthread_once(&first_error_once, first_error_init);
	struct web_tls *t = calloc(1, sizeof(*t));
	int rc = 0;
	if (!t || !(t->ctx = SSL_CTX_new(TLS_server_method()))) {
		rc = eng_error_set(err, ENG_EINTERNAL, "cannot create a TLS context: %s", ssl_why(why, sizeof(why)));
		goto done;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		rc = eng_error_set(err, ENG_EINVALID, "cannot read the TLS certificate TRAMIT_TLS_CERT=%s "
		                   "(a PEM certificate chain is expected): %s", cert, ssl_why(why, sizeof(why)));
		goto done;
	}
	ERR_clear_error();
	bool loaded = SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) == 1;
	/* A readable key of another certificate is refused here already: say which. */
	bool mismatch = !loaded && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
	if (!loaded && !mismatch) {
		rc = eng_error_set(err, ENG_EINVALID, "cannot read the TLS key TRAMIT_TLS_KEY=%s (a PEM "
		                   "private key without a passphrase is expected): %s", key,
		                   ssl_why(why, sizeof(why)));
		goto done;
	}
	if (mismatch || SSL_CTX_check_private_key(t->ctx) != 1) {
		ERR_clear_error();
		rc = eng_error_set(err, ENG_EINVALID, "the TLS key TRAMIT_TLS_KEY=%s does not belong to the "
		                   "certificate TRAMIT_TLS_CERT=%s", key, cert);
		goto done;
	}
	if (ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (!names || SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) {
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			rc = eng_error_set(err, ENG_EINVALID, "cannot read the client CA TRAMIT_TLS_CLIENT_CA=%s "
			                   "(PEM certificates are expected): %s", ca, ssl_why(why, sizeof(why)));
			goto done;
		}
		SSL_CTX_set_client_CA_list(t->ctx, names);
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, accept_any);
		SSL_CTX_set_verify_depth(t->ctx, 5);
		/* A session resumed from a ticket keeps the verdict of its first handshake; the
		 * context id lets OpenSSL resume sessions that carry a client certificate. */
		static const unsigned char sid[] = "tramit";
		SSL_CTX_set_session_id_context(t->ctx, sid, sizeof(sid) - 1);
		t->client_ca = true;
	}
	if (crl) {
		X509_STORE *store = SSL_CTX_get_cert_store(t->ctx);
		if (X509_STORE_load_file(store, crl) != 1) {
			rc = eng_error_set(err, ENG_EINVALID, "cannot read the CRL TRAMIT_TLS_CRL=%s (PEM is "
			                   "expected): %s", crl, ssl_why(why, sizeof(why)));
			goto done;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
done:
	if (rc)
		web_tls_free(t);
	else
		*out = t;
	return rc;
}

void web_tls_free(struct web_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

static struct bufferevent *tls_bev(struct event_base *base, void *payload)
{
	struct web_tls *t = payload;
	SSL *ssl = SSL_new(t->ctx);
	if (!ssl)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                                         BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void web_tls_attach(struct web_tls *t, struct evhttp *http)
{
	if (t)
		evhttp_set_bevcb(http, tls_bev, t);
}

bool web_tls_on(const struct web_ctx *c)
{
	return c->srv->tls != NULL;
}

bool web_tls_client_ca(const struct web_ctx *c)
{
	return c->srv->tls && c->srv->tls->client_ca;
}

/* The request's TLS connection, or NULL. */
static SSL *request_ssl(struct web_ctx *c)
{
	if (!c->srv->tls)
		return NULL;
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/* One text entry of a name (arena), or NULL. */
static const char *name_entry(struct web_ctx *c, const X509_NAME *name, int nid)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return NULL;
	ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, s);
	if (len < 0)
		return NULL;
	const char *out = eng_arena_strndup(&c->arena, (const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return out;
}

int web_tls_peer(struct web_ctx *c, struct web_peer_cert *out)
{
	*out = (struct web_peer_cert){0};
	SSL *ssl = request_ssl(c);
	if (!ssl)
		return WEB_CERT_NONE;
	X509 *x = SSL_get1_peer_certificate(ssl);
	if (!x)
		return WEB_CERT_NONE;
	const X509_NAME *subject = X509_get_subject_name(x);
	out->serial_number = name_entry(c, subject, NID_serialNumber);
	out->org_identifier = name_entry(c, subject, NID_organizationIdentifier);
	out->organization = name_entry(c, subject, NID_organizationName);
	out->given_name = name_entry(c, subject, NID_givenName);
	out->surname = name_entry(c, subject, NID_surname);
	out->common_name = name_entry(c, subject, NID_commonName);
	intptr_t first = first_error_index >= 0 ? (intptr_t)SSL_get_ex_data(ssl, first_error_index) : 0;
	long v = first ? (long)(first - 1) : SSL_get_verify_result(ssl);
	X509_free(x);
	switch (v) {
	case X509_V_OK:
		return WEB_CERT_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return WEB_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return WEB_CERT_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return WEB_CERT_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return WEB_CERT_UNKNOWN_CA;
	default:
		fprintf(stderr, "tramit: a client certificate was refused: %s\n",
		        X509_verify_cert_error_string(v));
		return WEB_CERT_INVALID;
	}
}
