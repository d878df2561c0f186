/* Validation helpers for connector configuration sections, shared by the connectors (internal:
 * conn__ prefix). Every helper names the offending key in err->msg as "key: expected ..., found
 * ..." so a person can fix the file; the set prefixes the connector's name. Not thread-safe
 * beyond what jansson is: use them in open only. */
#ifndef CONN_CONFIG_H
#define CONN_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "connector.h"

/* Parses a section's JSON text into an object (*out, caller json_decref). NULL text gives an
 * empty object. Returns 0 or CONN_EINVALID. */
int conn__cfg_parse(json_t **out, const char *config_json, struct conn_error *err);
/* Refuses keys of obj not in the NULL-terminated list. */
int conn__cfg_known(const json_t *obj, const char *const *keys, struct conn_error *err);
/* Reads an optional string (borrowed from obj) or keeps *out (a default) when absent. Refuses
 * empty strings and strings with control characters. */
int conn__cfg_string(const char **out, const json_t *obj, const char *key, bool required,
                     struct conn_error *err);
/* Reads an optional integer in [min, max], or keeps *out when absent. */
int conn__cfg_int(long long *out, const json_t *obj, const char *key, long long min,
                  long long max, struct conn_error *err);
/* Reads an optional boolean, or keeps *out when absent. */
int conn__cfg_bool(bool *out, const json_t *obj, const char *key, struct conn_error *err);

/* Sets err and returns code: a one-line message. */
int conn__errorf(struct conn_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies at most len-1 bytes of a JSON-escaped rendition of s, with quotes, into buf: for the
 * health documents built with snprintf. */
void conn__json_quote(char *buf, size_t len, const char *s);

#endif
