/* Card payment settlement, shared by the gateway's notification (web/payments.c), the payment
 * manager (web/paymgr.c) and the reconciliation job (`tramit payments reconcile` and the one
 * `tramit serve` runs). Invariant: an order is settled only from a notice whose signature
 * verified with the merchant key and that matches the order; everything else changes nothing.
 * Thread-safety: as struct eng_store (one per thread); the connector set is read-only. */
#ifndef WEB_PAYMENTS_H
#define WEB_PAYMENTS_H

#include <stdio.h>

#include "connectors/connector.h"
#include "connectors/redsys/redsys.h"
#include "engine/runtime/taxes.h"

/* Judges a verified notice (from a notification or a query: by) against our record of its
 * order and settles a paid or refused one. *verdict receives the judgement; reason one line
 * for the operator's log. Returns 0 (including for a duplicate or a mismatch, which change
 * nothing), or an ENG_E* code when the database failed (try again later). */
int web_payment_settle(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const struct conn_redsys_merchant *m, const struct conn_redsys_notice *n,
                       const char *by, eng_definition_lookup lookup, void *lookup_payload,
                       enum conn_redsys_verdict *verdict, char reason[256], struct eng_error *err);

/* What one reconciliation pass did. */
struct web_reconcile_stats {
	int checked, paid, refused, abandoned, later;
};

/* One pass: claims the open card orders (fees' and tax receipts') older than older_than_s,
 * asks the gateway's query endpoint about each and settles from its signed answer exactly as
 * from a notification. An unreachable gateway, or an answer that does not verify or match,
 * leaves the order open until retry_s later; an order the gateway does not know is closed as
 * abandoned (a later signed "paid" still settles it). Writes one line per order to report
 * (may be NULL). Returns 0; WEB_ENOPAYMENTS when card payments or query_url are not
 * configured (nothing claimed); or an ENG_E* code when the database failed. */
enum { WEB_ENOPAYMENTS = -101 };
int web_payments_reconcile(struct eng_store *s, const char *entity_id,
                           const struct conn_set *connectors, eng_definition_lookup lookup,
                           void *lookup_payload, int older_than_s, int retry_s, FILE *report,
                           struct web_reconcile_stats *out, struct eng_error *err);

#endif
