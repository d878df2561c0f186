/* Validation of connector configuration sections: each reader checks one key's type and range
 * and says what it expected and what it found, naming the key. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int conn__errorf(struct conn_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

int conn__cfg_parse(json_t **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	if (!config_json) {
		*out = json_object();
		return *out ? 0 : conn__errorf(err, CONN_ENOMEM, "out of memory");
	}
	json_error_t jerr;
	json_t *root = json_loads(config_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return conn__errorf(err, CONN_EINVALID, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		conn__errorf(err, CONN_EINVALID, "expected an object, found %s", type_name(root));
		json_decref(root);
		return CONN_EINVALID;
	}
	*out = root;
	return 0;
}

int conn__cfg_known(const json_t *obj, const char *const *keys, struct conn_error *err)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)obj, key, value) {
		const char *const *k = keys;
		while (*k && strcmp(*k, key) != 0)
			k++;
		if (!*k)
			return conn__errorf(err, CONN_EINVALID, "%s: unknown key", key);
	}
	return 0;
}

int conn__cfg_string(const char **out, const json_t *obj, const char *key, bool required,
                     struct conn_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return conn__errorf(err, CONN_EINVALID, "%s: required, expected a string", key);
		return 0;
	}
	if (!json_is_string(v))
		return conn__errorf(err, CONN_EINVALID, "%s: expected a string, found %s", key,
		                    type_name(v));
	const char *s = json_string_value(v);
	if (!*s)
		return conn__errorf(err, CONN_EINVALID, "%s: expected a non-empty string", key);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return conn__errorf(err, CONN_EINVALID,
			                    "%s: expected a string without control characters", key);
	if (strlen(s) != json_string_length(v))
		return conn__errorf(err, CONN_EINVALID, "%s: expected a string without NUL bytes", key);
	*out = s;
	return 0;
}

int conn__cfg_int(long long *out, const json_t *obj, const char *key, long long min,
                  long long max, struct conn_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return conn__errorf(err, CONN_EINVALID, "%s: expected an integer %lld..%lld, found %s",
		                    key, min, max, json_is_integer(v) ? "one out of range" : type_name(v));
	*out = json_integer_value(v);
	return 0;
}

int conn__cfg_bool(bool *out, const json_t *obj, const char *key, struct conn_error *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return conn__errorf(err, CONN_EINVALID, "%s: expected true or false, found %s", key,
		                    type_name(v));
	*out = json_is_true(v);
	return 0;
}

void conn__json_quote(char *buf, size_t len, const char *s)
{
	json_t *str = json_string(s ? s : "");
	char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	snprintf(buf, len, "%s", text ? text : "\"\"");
	free(text);
	json_decref(str);
}
