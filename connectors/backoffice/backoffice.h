/* The integration bus: how an entity's back-office systems (an ERP, the tax office, the census)
 * hear about expedients, move them, and answer questions while a form is filled in.
 *
 * Outbound: performs "backoffice" effects (the tràmit's `backoffice = "NAME"`; NAME is the
 * event type) by POSTing a signed JSON body to every subscriber whose `events` list the event.
 * Inbound: verifies callbacks signed the same way (conn_backoffice_callback_verify), for the
 * web layer's POST /api/v1/callbacks/{subscriber}. Lookups: integration contracts a tràmit can
 * call while a form is filled in (conn_backoffice_lookup), with timeouts and a bounded cache.
 *
 * The signature scheme, the same in both directions (docs/integration.md has a verification
 * snippet):
 *   X-Tramit-Timestamp: T           Unix time in seconds, decimal, when the request was signed
 *   X-Tramit-Delivery:  ID          the outbox idempotency key (the same on every retry); the
 *                                   body carries it too, as "delivery", so it is signed
 *   X-Tramit-Signature: sha256=HEX  HEX = lowercase hex of HMAC-SHA256(key = the subscriber's
 *                                   secret as UTF-8 bytes, message = T + "." + the body bytes
 *                                   exactly as sent)
 * A receiver recomputes HEX, compares in constant time, refuses T more than 300 s old or more
 * than 60 s ahead of its clock, and drops a delivery id it has already processed.
 *
 * Thread-safety: open and close run on one thread; perform, callback verification and lookups
 * run on any number of threads with one state. */
#ifndef CONN_BACKOFFICE_H
#define CONN_BACKOFFICE_H

#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

extern const struct conn_type conn_backoffice_type;

/* The opened state: conn_set_state(set, "backoffice"). */
struct conn_backoffice;

/* Error codes of the bus, besides CONN_EINVALID, CONN_EUNAVAILABLE and CONN_ENOMEM. */
enum {
	CONN_BO_EUNKNOWN = -20, /* no such subscriber (taking callbacks) or contract: HTTP 404 */
	CONN_BO_EDENIED = -21,  /* missing or wrong signature, timestamp out of window: HTTP 401 */
	CONN_BO_EREPLAY = -22,  /* this delivery id was already received: HTTP 409 */
	CONN_BO_ETIMEOUT = -23, /* a lookup's endpoint did not answer in time: HTTP 504 */
};

/* The freshness window of signed requests, in seconds. */
enum { CONN_BO_MAX_AGE_S = 300, CONN_BO_MAX_AHEAD_S = 60 };

/* Writes "sha256=" and 64 lowercase hex digits (72 bytes with the NUL) into out: the
 * X-Tramit-Signature of body sent at timestamp with secret. Returns 0, or -1 when OpenSSL
 * fails. Thread-safe. */
int conn_backoffice_sign(char out[72], const char *secret, int64_t timestamp, const char *body,
                         size_t len);

/* --- inbound callbacks --- */

/* What the web layer received on POST /api/v1/callbacks/{subscriber}. Header values are NULL
 * when the request lacks them. */
struct conn_backoffice_request {
	const char *subscriber; /* the path segment */
	const char *timestamp;  /* X-Tramit-Timestamp */
	const char *delivery;   /* X-Tramit-Delivery */
	const char *signature;  /* X-Tramit-Signature */
	const char *body;       /* the raw body bytes, exactly as received */
	size_t body_len;
	int64_t now;            /* the caller's clock, Unix seconds */
};

/* The caller's replay store: atomically records (subscriber, delivery) and answers 0 when it
 * was new, 1 when it was already there, or a negative value when the store failed. It must
 * keep ids for at least CONN_BO_MAX_AGE_S + CONN_BO_MAX_AHEAD_S seconds (e.g. a table with a
 * unique key, pruned after ten minutes). Called only for correctly signed, fresh, well-formed
 * callbacks, so forged requests cannot fill it. */
typedef int (*conn_backoffice_seen_fn)(const char *subscriber, const char *delivery,
                                       void *payload);

/* A verified callback: the caller turns it into an engine command (action `action` on
 * expedient `expedient` with `data`, by the system on behalf of `subscriber`). */
struct conn_backoffice_callback {
	char subscriber[64];
	char delivery[129];
	char expedient[129];
	char action[65];
	int64_t timestamp;
	char *data_json; /* the body's "data" as a compact JSON object ("{}" when absent); owned */
};

/* Verifies a callback; b may be NULL (the connector is not configured: CONN_BO_EUNKNOWN).
 * The body is {"delivery": ID, "expedient": "...", "action": "...",
 * "data": {...}}: "delivery" must equal X-Tramit-Delivery, which puts the replay key under the
 * signature. Checks, in this order: the subscriber exists and has "callbacks": true
 * (CONN_BO_EUNKNOWN); the three headers are present and well formed, the signature matches
 * (compared in constant time) and the timestamp is within the window (CONN_BO_EDENIED); the
 * body is well formed (CONN_EINVALID) and its action is among the subscriber's "actions" when
 * it lists them (CONN_BO_EDENIED); then seen() (CONN_BO_EREPLAY, or CONN_EUNAVAILABLE when
 * the store failed). Returns 0 and fills *out (release with conn_backoffice_callback_clear),
 * or a code with err->msg saying exactly why; *out is then empty. */
int conn_backoffice_callback_verify(struct conn_backoffice_callback *out,
                                    const struct conn_backoffice *b,
                                    const struct conn_backoffice_request *req,
                                    conn_backoffice_seen_fn seen, struct conn_error *err,
                                    void *payload);
/* Frees what a verified callback owns. Accepts NULL and an empty callback. */
void conn_backoffice_callback_clear(struct conn_backoffice_callback *cb);

/* --- lookups (integration contracts) --- */

/* Asks contract `contract` (backoffice.contracts[].name) the question params_json (a JSON
 * object; NULL means {}), by POSTing {"contract": NAME, "params": PARAMS} to its url, signed
 * with its secret when it has one. Only a 200 answer with a JSON body is an answer; it is
 * cached for the contract's ttl_s under (contract, params with sorted keys). timeout_ms > 0
 * shortens the contract's timeout_ms for this call; 0 keeps it.
 * Returns 0 with *out a malloc'd compact JSON text (free() it), or CONN_BO_EUNKNOWN (no such
 * contract), CONN_EINVALID (params), CONN_BO_ETIMEOUT (no answer in time) or CONN_EUNAVAILABLE
 * (refused connection, a non-200 status, a body that is not JSON); *out is then NULL.
 * b may be NULL (not configured: CONN_BO_EUNKNOWN). Thread-safe; two threads missing the
 * cache at once both ask. */
int conn_backoffice_lookup(char **out, struct conn_backoffice *b, const char *contract,
                           const char *params_json, int timeout_ms, struct conn_error *err);

#endif
