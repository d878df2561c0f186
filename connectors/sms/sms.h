/* Informative notices by SMS (Llei 39/2015, art. 41.6) through an HTTP SMS gateway whose
 * request shape is configured (URL, JSON or form body template, auth header, statuses).
 * Performs "notify" effects routed to it by medium "sms" (connector.h). Delivery to the
 * gateway is at least once; every request carries the outbox idempotency key (placeholder
 * {key} and the Idempotency-Key header), so a gateway that honours it sends one SMS however
 * often a delivery is retried. Thread-safety: perform runs on any number of threads with one
 * state.
 *
 * Args of a notify effect it reads:
 *   phone     recipient (required): E.164 ("+34612345678", "0034 612 345 678") or a 9-digit
 *             Spanish number starting 6, 7, 8 or 9, which gets +34; anything else is FAILED
 *   language  "ca" or "es" (also accepted as "lang"); absent: both, Valencian first
 *   notice    "binding" or "informative" picks the built-in text; when absent, channel does
 *   channel   (which may instead say "sms", the medium); any other value: the informative text
 * Any other string arg fills the text's {{placeholder}} of the same name; {{expedient}} and
 * {{sede_url}} always exist. */
#ifndef CONN_SMS_H
#define CONN_SMS_H

#include "connectors/connector.h"

extern const struct conn_type conn_sms_type;

#endif
