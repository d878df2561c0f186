/* Informative e-mail notices (Llei 39/2015, art. 41.6) over SMTP with libcurl: performs
 * "notify" effects whose args carry the recipient's address. Delivery is at least once to
 * the SMTP server; a repeat carries the same Message-ID, so the repeat can be recognised and
 * dropped downstream. Thread-safety: perform runs on any number of threads with one state.
 *
 * Args of a notify effect it reads (the engine writes channel and audience; the runtime or
 * the tràmit must add the contact details):
 *   email     recipient address (required; the contact the party gave for notices)
 *   language  "ca" or "es", the party's language; absent: a bilingual message (ca, then es)
 *   medium    optional; when present it must be "email"
 *   channel   "binding" or "informative": picks the built-in template when the effect's
 *             template has no text of its own
 * Any other string arg fills the template's {{placeholder}} of the same name; {{expedient}}
 * and {{sede_url}} always exist. */
#ifndef CONN_SMTP_H
#define CONN_SMTP_H

#include "connectors/connector.h"

extern const struct conn_type conn_smtp_type;

#endif
