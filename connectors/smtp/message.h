/* Building one notice e-mail as an RFC 5322 / MIME message: UTF-8 text, quoted-printable body,
 * RFC 2047 encoded Subject and display name, and a Message-ID derived from the outbox
 * idempotency key. Invariant: no header value reaches the message with a CR, an LF or another
 * control character, and every address passed the conservative check below. Thread-safe. */
#ifndef CONN_SMTP_MESSAGE_H
#define CONN_SMTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A plain ASCII addr-spec, local@domain: dot-atom local part (at most 64 bytes), domain of
 * letters, digits and hyphens in dot-separated labels, at most 254 bytes in all. Quoted local
 * parts, IP literals and non-ASCII (SMTPUTF8) addresses are refused. */
bool conn__smtp_address_valid(const char *addr);

/* "<tramit.HEX@domain>": HEX is the first 128 bits of SHA-256(key), so the same outbox row
 * always gives the same Message-ID. Returns 0, or -1 if buf is too small or domain invalid. */
int conn__smtp_message_id(char *buf, size_t len, const char *key, const char *domain);

struct conn__smtp_mail {
	const char *from, *from_name; /* from_name may be NULL */
	const char *to;
	const char *subject, *body;   /* UTF-8; body lines end with \n */
	const char *language;         /* Content-Language, e.g. "ca" or "ca, es" */
	const char *message_id;       /* as made by conn__smtp_message_id */
	time_t date;
};

/* Renders the message with CRLF line ends into *out (malloc'd, NUL-terminated, caller frees)
 * and its length into *len. Returns 0, or -1 with a one-line reason in err (a header value
 * with CR/LF or control characters, an invalid address, invalid UTF-8, out of memory). */
int conn__smtp_render(char **out, size_t *len, const struct conn__smtp_mail *m, char err[256]);

/* Refuses CR, LF and other control characters (tab allowed) in a header value. */
bool conn__smtp_header_safe(const char *value);

/* Whether s is well-formed UTF-8 (no overlong two-byte forms). */
bool conn__smtp_utf8_valid(const char *s);

#endif
