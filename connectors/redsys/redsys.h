/* Card payments through a Redsys-compatible gateway (HMAC_SHA256_V1, DOMAIN.md 9.3): the signed
 * redirect form, order numbers, the signed asynchronous notification and the reconciliation
 * query. Invariant: payment state is only ever derived from a notification or a query answer
 * whose signature verified with the merchant key, compared in constant time.
 *
 * Everything here is reentrant: the pure functions keep no state, and an opened connector
 * (struct conn_redsys, found with conn_set_state(set, "redsys")) is read-only after open, so
 * the web layer may verify notifications on any number of threads at once.
 *
 * Performs "payment" effects (args: amount_cents, a decimal string, as engine/core/step.c
 * writes it): the order number derives from the outbox row's id, so a repeat of the same row
 * gives the same order and the same signed form, and the delivery is DONE with outcome
 * "ordered" (never "paid": only a verified notification may say that). */
#ifndef CONN_REDSYS_H
#define CONN_REDSYS_H

#include <stdbool.h>
#include <stddef.h>

#include "connectors/connector.h"

extern const struct conn_type conn_redsys_type;

enum {
	CONN_REDSYS_KEY_LEN = 24,   /* a 3DES merchant key */
	CONN_REDSYS_ORDER_MAX = 12, /* characters of an order number */
	CONN_REDSYS_SIG_LEN = 44,   /* Base64 of an HMAC-SHA256 */
	CONN_REDSYS_PARAMS_MAX = 2048,
};

/* Error codes beyond connector.h's. */
enum {
	CONN_REDSYS_EFORGED = -10,  /* a signature that does not verify with the merchant key */
	CONN_REDSYS_EGATEWAY = -11, /* the gateway answered a query with an error code (msg has it) */
};

/* Digits in an order number we issue: a 10-digit sequence and two check digits. */
#define CONN_REDSYS_SEQUENCE_MAX 9999999999LL

/* ---- Order numbers ---------------------------------------------------------------------- */

/* Writes the order number of sequence (1..CONN_REDSYS_SEQUENCE_MAX) into out: the sequence in
 * 10 zero-padded digits followed by its ISO 7064 MOD 97-10 check digits, 12 digits in all. A
 * sequence maps to exactly one order and two sequences never share one, so an order is never
 * reused as long as the caller never reuses a sequence number (the connector uses the outbox
 * row's id). Returns 0 or CONN_EINVALID for a sequence out of range. */
int conn_redsys_order_make(char out[CONN_REDSYS_ORDER_MAX + 1], long long sequence,
                           struct conn_error *err);
/* Whether order has Redsys's shape: 4 to 12 characters, the first 4 digits, the rest ASCII
 * letters or digits. */
bool conn_redsys_order_well_formed(const char *order);
/* Whether order is one conn_redsys_order_make could have written (shape and check digits). */
bool conn_redsys_order_ours(const char *order);

/* ---- Signatures (pure) ------------------------------------------------------------------ */

/* The per-order key: 3DES-CBC of the order, zero-padded to a multiple of 8, with an all-zero
 * IV, keeping the whole ciphertext. out has room for 16 bytes (orders are at most 12 long);
 * *out_len receives 8 or 16. Returns 0, or CONN_EINVALID for an empty or over-long order. */
int conn_redsys_key_derive(unsigned char out[16], size_t *out_len,
                           const unsigned char key[CONN_REDSYS_KEY_LEN], const char *order,
                           struct conn_error *err);
/* Base64 (standard alphabet, padded) of HMAC-SHA256(derived key, params_b64 as given). */
int conn_redsys_sign(char out[CONN_REDSYS_SIG_LEN + 1],
                     const unsigned char key[CONN_REDSYS_KEY_LEN], const char *order,
                     const char *params_b64, struct conn_error *err);
/* Decodes a merchant secret (Base64 of 24 bytes) into key. Returns 0 or CONN_EINVALID. */
int conn_redsys_key_decode(unsigned char key[CONN_REDSYS_KEY_LEN], const char *secret_b64,
                           struct conn_error *err);

/* ---- The merchant and the redirect ------------------------------------------------------ */

/* What a request needs; strings are borrowed. */
struct conn_redsys_merchant {
	const char *merchant_code;  /* FUC, digits */
	const char *terminal;       /* digits, e.g. "1" */
	const char *merchant_url;   /* where the gateway posts the notification */
	const char *url_ok, *url_ko; /* where the citizen's browser returns (a hint only) */
	unsigned char key[CONN_REDSYS_KEY_LEN];
};

/* The three fields of the form the citizen's browser posts to the gateway. */
struct conn_redsys_form {
	char order[CONN_REDSYS_ORDER_MAX + 1];
	long long amount_cents;
	char version[16];                        /* "HMAC_SHA256_V1" */
	char params[CONN_REDSYS_PARAMS_MAX];     /* Ds_MerchantParameters */
	char signature[CONN_REDSYS_SIG_LEN + 1]; /* Ds_Signature */
};

/* Signs an authorisation (transaction type 0, currency 978) of amount_cents (1..99999999999)
 * for order (well formed). The parameters are the compact JSON of DOMAIN.md 9.3's vector V2,
 * keys in its order. Returns 0 or CONN_EINVALID naming the bad input. */
int conn_redsys_form_sign(struct conn_redsys_form *out, const struct conn_redsys_merchant *m,
                          const char *order, long long amount_cents, struct conn_error *err);

/* ---- Notifications ---------------------------------------------------------------------- */

/* What a verified notification (or query answer) says. Strings as sent, URL-decoded. */
struct conn_redsys_notice {
	char order[CONN_REDSYS_ORDER_MAX + 1]; /* Ds_Order */
	long long amount_cents;                /* Ds_Amount */
	char currency[4];                      /* Ds_Currency, "978" */
	char response[5];                      /* Ds_Response, 4 digits, "" when absent */
	char merchant_code[16], terminal[8];   /* Ds_MerchantCode, Ds_Terminal */
	char transaction_type[4];              /* Ds_TransactionType */
	char authorisation[16];                /* Ds_AuthorisationCode, may be "" */
	char date[16], hour[8];                /* Ds_Date "30/08/2022", Ds_Hour "12:18" */
	bool authorised;                       /* Ds_Response 0000-0099 or 0900 */
	const char *reason;                    /* English, for people: static text */
};

/* Verifies and decodes a notification's three fields. The signature may be in either Base64
 * alphabet (notifications use the URL-safe one); it is recomputed over params_b64 exactly as
 * received, with the key of the Ds_Order inside, and compared with CRYPTO_memcmp. Returns 0;
 * CONN_EINVALID for a wrong version or undecodable parameters (msg names the field); or
 * CONN_REDSYS_EFORGED when the signature does not verify (out is then cleared). */
int conn_redsys_notice_verify(struct conn_redsys_notice *out, const struct conn_redsys_merchant *m,
                              const char *version, const char *params_b64, const char *signature,
                              struct conn_error *err);

/* Whether a Ds_Response code means the money was taken (0000-0099; 0900 for refunds and
 * confirmations), and its reason in plain English (static text; never NULL). */
bool conn_redsys_response_authorised(const char *code);
const char *conn_redsys_response_reason(const char *code);

/* The caller's record of the order a notification names, looked up by notice.order. */
enum conn_redsys_order_status {
	CONN_REDSYS_ORDER_OPEN,    /* waiting for the gateway */
	CONN_REDSYS_ORDER_PAID,    /* settled: a payment was recorded */
	CONN_REDSYS_ORDER_REFUSED, /* settled: the gateway refused it (a new order is needed) */
};

struct conn_redsys_order {
	const char *order;
	long long amount_cents;
	enum conn_redsys_order_status status;
};

enum conn_redsys_verdict {
	CONN_REDSYS_PAID,      /* record the payment; answer the gateway 200 */
	CONN_REDSYS_REFUSED,   /* the bank said no: settle the order as refused */
	CONN_REDSYS_DUPLICATE, /* the order was already settled: change nothing, answer 200 */
	CONN_REDSYS_MISMATCH,  /* signed, but not for this order, merchant, amount or currency:
	                        * change nothing and alert an operator */
};

/* Judges a verified notice against the caller's record of its order (order NULL: no such
 * order here). Writes one line for the operator's log into reason ("order ... paid: 123,45 EUR,
 * authorisation 002413", "amount: the order is for 12345 cents, the notification says 100").
 * Pure: the caller records the outcome. */
enum conn_redsys_verdict conn_redsys_notice_judge(const struct conn_redsys_notice *n,
                                                  const struct conn_redsys_merchant *m,
                                                  const struct conn_redsys_order *order,
                                                  char reason[256]);

/* ---- The opened connector --------------------------------------------------------------- */

struct conn_redsys;

/* The merchant of an opened connector (borrowed; lives as long as the set). */
const struct conn_redsys_merchant *conn_redsys_merchant_of(const struct conn_redsys *r);
/* The gateway address the citizen's browser posts the form to (gateway_url). */
const char *conn_redsys_gateway_url(const struct conn_redsys *r);

/* Reconciliation for an order with no notification: asks the configured query_url (a REST
 * endpoint shaped like the gateway's: a JSON body with the three signed fields around
 * {DS_MERCHANT_ORDER, DS_MERCHANT_MERCHANTCODE, DS_MERCHANT_TERMINAL}) and verifies the
 * signed answer like a notification. Blocking, bounded by timeout_s; thread-safe.
 * Returns 0 with out filled (judge it with conn_redsys_notice_judge); CONN_ENOTCONFIGURED
 * without query_url; CONN_EUNAVAILABLE when the endpoint cannot be reached or answers other
 * than 200 (try later); CONN_REDSYS_EGATEWAY when it answers {"errorCode": "SIS..."} (msg
 * quotes it: the gateway has no such operation, or refused the query); CONN_REDSYS_EFORGED or
 * CONN_EINVALID for an answer that does not verify or parse. */
int conn_redsys_query(struct conn_redsys_notice *out, const struct conn_redsys *r,
                      const char *order, struct conn_error *err);
/* Whether query_url is configured, so open orders can be reconciled. */
bool conn_redsys_can_query(const struct conn_redsys *r);

#endif
