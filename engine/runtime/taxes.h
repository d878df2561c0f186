/* Tax receipts (liquidacions issued outside any tràmit) and card orders: the store side of the
 * standalone payment manager and of reconciliation. Invariant: a receipt becomes paid only
 * together with the settlement of one of its card orders (or a bank collection), in one
 * statement, and a card order is settled at most once (later settlements change nothing).
 * Results live in the caller's arena. Thread-safety: as struct eng_store (one per thread). */
#ifndef ENG_TAXES_H
#define ENG_TAXES_H

#include "store.h"

/* A receipt as imported and as the payment manager shows it. On import, state and the paid_*
 * fields are ignored. */
struct eng_tax_receipt {
	const char *reference;      /* 12 digits, control digits included */
	const char *emisora;        /* 6 digits */
	const char *identification; /* 10 digits (Cuaderno 60 modalidad 2) */
	const char *concept_ca, *concept_es;
	const char *debtor_nif, *debtor_name;
	int64_t amount_cents;
	const char *deadline;       /* YYYY-MM-DD, the last day of the voluntary period */
	const char *state;          /* "pending", "paid" or "cancelled" */
	const char *paid_at, *paid_via, *paid_order; /* ISO 8601, "card"/"bank", order; or NULL */
	bool overdue;               /* pending and the deadline passed (Europe/Madrid) */
};

/* Stores rows in one transaction: all or nothing. A reference already stored with the same
 * data is left as it is (idempotent re-import, counted in *unchanged); one stored with other
 * data refuses the whole import with ENG_ECONFLICT, *bad the row's index and err naming the
 * columns that differ. */
int eng_store_tax_import(struct eng_store *s, const char *entity_id,
                         const struct eng_tax_receipt *rows, size_t n, size_t *added,
                         size_t *unchanged, size_t *bad, struct eng_error *err);
/* Receipts by reference, of one state (NULL: all). */
int eng_store_tax_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const char *state, struct eng_tax_receipt **out, size_t *n,
                       struct eng_error *err);
/* The receipt with this reference whose debtor is nif, within client's allowance of lookups
 * per minute (0: no limit; counted over every server). ENG_ENOTFOUND for an unknown
 * reference and for a wrong NIF alike; ENG_EDENIED when the allowance is used up. */
int eng_store_tax_find(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                       const char *reference, const char *nif, const char *client,
                       int64_t per_minute, struct eng_tax_receipt *out, struct eng_error *err);

/* Cancels a pending receipt (annulled by the tax office): the payment manager then says it
 * need not be paid. ENG_ENOTFOUND for an unknown reference; ENG_ECONFLICT when it is not
 * pending (err names its state). */
int eng_store_tax_cancel(struct eng_store *s, const char *entity_id, const char *reference,
                         struct eng_error *err);

/* ---- Card orders ------------------------------------------------------------------------- */

struct eng_card_order {
	const char *order_no, *purpose;     /* purpose "tax" or "fee" */
	const char *tax_reference;          /* tax */
	const char *expedient_id, *effect_id; /* fee */
	const char *state;                  /* "open", "paid", "refused" or "abandoned" */
	int64_t amount_cents;
};

/* A fresh number for a tax receipt's card order (never handed out twice, disjoint from the
 * fee orders' outbox ids). */
int eng_store_card_sequence_next(struct eng_store *s, int64_t *out, struct eng_error *err);
/* Records order_no as an attempt to pay the receipt, for its amount. ENG_ECONFLICT when the
 * receipt is no longer pending or its deadline passed. */
int eng_store_card_order_add_tax(struct eng_store *s, const char *entity_id, const char *order_no,
                                 const char *reference, struct eng_error *err);
/* The order a gateway names: a tax receipt's, or a fee's (from the card_order table, or from
 * the payment effect that issued it). ENG_ENOTFOUND for an order we never issued. */
int eng_store_card_order_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                             const char *order_no, struct eng_card_order *out,
                             struct eng_error *err);

enum eng_card_outcome { ENG_CARD_PAID, ENG_CARD_REFUSED, ENG_CARD_ABANDONED };

/* What the gateway said, after its signature verified and it was judged against the order. */
struct eng_card_settlement {
	enum eng_card_outcome outcome;
	const char *by;            /* "notification" or "query" */
	const char *response;      /* Ds_Response, may be "" */
	const char *authorisation; /* may be "" */
	int64_t amount_cents;      /* as the gateway signed it */
	int64_t time_ms;
};

/* Settles o. Paid: a tax receipt becomes paid by card with this order, a fee becomes the
 * result "paid" of its payment effect (lookup finds the expedient's definition). Refused and
 * abandoned close the order only. note receives one line for the operator's log (a receipt
 * paid twice says a refund is due). Returns 0, or ENG_ECONFLICT when the order was settled
 * meanwhile (nothing changed). */
int eng_store_card_order_settle(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                const struct eng_card_order *o,
                                const struct eng_card_settlement *st,
                                eng_definition_lookup lookup, void *lookup_payload,
                                char note[256], struct eng_error *err);

/* Reconciliation. Copies in the fee orders the connector issued, then claims up to limit open
 * orders older than older_than_s whose next check is due (FOR UPDATE SKIP LOCKED, so two
 * servers never claim the same one) and leases them for lease_s seconds. */
int eng_store_card_orders_claim(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                                int older_than_s, int lease_s, int limit,
                                struct eng_card_order **out, size_t *n, struct eng_error *err);
/* Leaves an order open and asks again in retry_s seconds; why is kept for operators. */
int eng_store_card_order_retry(struct eng_store *s, const char *entity_id, const char *order_no,
                               int retry_s, const char *why, struct eng_error *err);

#endif
