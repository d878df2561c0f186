/* Bilingual notice templates: a subject and a body per template name and language (ca, es),
 * with {{name}} placeholders. Built-in templates cover the engine's channels; an entity's
 * templates_dir adds or overrides them with files NAME.LANG.txt ("Subject: ..." on the first
 * line, a blank line, then the body). Invariant: every loaded template is valid UTF-8 with a
 * one-line subject. Read-only after loading, so thread-safe. */
#ifndef CONN_SMTP_TEMPLATES_H
#define CONN_SMTP_TEMPLATES_H

#include <jansson.h>
#include <stddef.h>

#include "connectors/connector.h"

struct conn__smtp_template {
	const char *name, *lang, *subject, *body; /* owned when loaded from a folder */
};

struct conn__smtp_templates {
	struct conn__smtp_template *items;
	size_t n;
};

/* Loads every NAME.ca.txt and NAME.es.txt of dir. Errors name the file ("templates_dir:
 * x.ca.txt: ..."). Returns 0 or CONN_EINVALID / CONN_ENOMEM. */
int conn__smtp_templates_load(struct conn__smtp_templates *t, const char *dir,
                              struct conn_error *err);
void conn__smtp_templates_free(struct conn__smtp_templates *t);

/* The template for this name and language: the entity's, else the built-in one for the name,
 * else the built-in one for the channel ("binding" or "informative"); NULL if none. */
const struct conn__smtp_template *conn__smtp_template_find(const struct conn__smtp_templates *t,
                                                           const char *name, const char *channel,
                                                           const char *lang);

/* Replaces each {{key}} of text by vars[key] (a JSON object of strings) into *out (malloc'd).
 * Returns 0, or -1 with err naming a placeholder that vars lack. */
int conn__smtp_template_fill(char **out, const char *text, const json_t *vars, char err[256]);

#endif
