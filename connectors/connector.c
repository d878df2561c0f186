/* The table of built-in connectors, the set of connectors opened for one entity, and the
 * dispatcher's entry point into them. Invariant: a set only holds connectors of a table that
 * passed conn_table_check, each opened exactly once and closed exactly once. */
#include "connector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antivirus/antivirus.h"
#include "backoffice/backoffice.h"
#include "config.h"
#include "redsys/redsys.h"
#include "sms/sms.h"
#include "smtp/smtp.h"

/* Notices by e-mail and SMS, the upload scanner, card payments and the back-office integration
 * bus; documents and signatures follow. An effect kind no connector performs is dead-lettered
 * with a clear reason. */
const struct conn_type *const conn_builtin[] = {
	&conn_smtp_type,
	&conn_sms_type,
	&conn_antivirus_type,
	&conn_backoffice_type,
	&conn_redsys_type,
	NULL,
};

static size_t builtin_count(void)
{
	size_t n = 0;
	while (conn_builtin[n])
		n++;
	return n;
}

static bool same_medium(const struct conn_type *a, const struct conn_type *b)
{
	return a->medium == b->medium || (a->medium && b->medium && strcmp(a->medium, b->medium) == 0);
}

/* Two connectors may share an effect kind only through different media: otherwise an item
 * of that kind would have two connectors and which one performs it would be an accident. */
static int check_pair(const struct conn_type *o, const struct conn_type *c, struct conn_error *err)
{
	if (!same_medium(o, c))
		return 0;
	for (const char *const *k = c->effect_kinds; k && *k; k++)
		for (const char *const *ok = o->effect_kinds; ok && *ok; ok++) {
			if (strcmp(*k, *ok) != 0)
				continue;
			if (c->medium)
				return conn__errorf(err, CONN_EINVALID, "connectors '%s' and '%s' both "
				                    "perform '%s' effects with medium '%s'", o->name, c->name,
				                    *k, c->medium);
			return conn__errorf(err, CONN_EINVALID,
			                    "connectors '%s' and '%s' both perform '%s' effects",
			                    o->name, c->name, *k);
		}
	return 0;
}

static int check_entry(const struct conn_type *c, size_t i, struct conn_error *err)
{
	if (c->version != CONN_INTERFACE_VERSION)
		return conn__errorf(err, CONN_EINVALID,
		                    "connector %zu ('%s') is built for interface version %d, not %d", i,
		                    c->name ? c->name : "?", c->version, CONN_INTERFACE_VERSION);
	if (!c->name || !*c->name || !c->open || !c->close || !c->describe)
		return conn__errorf(err, CONN_EINVALID,
		                    "connector %zu lacks a name, open, close or describe", i);
	if (c->effect_kinds && c->effect_kinds[0] && !c->perform)
		return conn__errorf(err, CONN_EINVALID,
		                    "connector '%s' lists effect kinds but has no perform", c->name);
	if (c->medium && (!*c->medium || !c->effect_kinds || !c->effect_kinds[0]))
		return conn__errorf(err, CONN_EINVALID,
		                    "connector '%s' has a medium but no effect kinds to route by it",
		                    c->name);
	for (size_t j = 0; j < i; j++) {
		const struct conn_type *o = conn_builtin[j];
		if (strcmp(o->name, c->name) == 0)
			return conn__errorf(err, CONN_EINVALID, "two connectors are named '%s'", c->name);
		int rc = check_pair(o, c, err);
		if (rc)
			return rc;
	}
	return 0;
}

int conn_table_check(struct conn_error *err)
{
	for (size_t i = 0; conn_builtin[i]; i++) {
		int rc = check_entry(conn_builtin[i], i, err);
		if (rc)
			return rc;
	}
	return 0;
}

static bool performs(const struct conn_type *c, const char *effect_kind)
{
	if (c->version != CONN_INTERFACE_VERSION)
		return false;
	for (const char *const *k = c->effect_kinds; k && *k; k++)
		if (strcmp(*k, effect_kind) == 0)
			return true;
	return false;
}

const struct conn_type *conn_table_find(const char *effect_kind)
{
	const struct conn_type *first = NULL;
	for (const struct conn_type *const *c = conn_builtin; *c; c++) {
		if (!performs(*c, effect_kind))
			continue;
		if (!(*c)->medium)
			return *c;
		if (!first)
			first = *c;
	}
	return first;
}

/* The connector of this kind that claims the medium, or NULL. */
static const struct conn_type *claimed_by(const char *effect_kind, const char *medium)
{
	for (const struct conn_type *const *c = conn_builtin; medium && *c; c++)
		if ((*c)->medium && strcmp((*c)->medium, medium) == 0 && performs(*c, effect_kind))
			return *c;
	return NULL;
}

static bool has_media(const char *effect_kind)
{
	for (const struct conn_type *const *c = conn_builtin; *c; c++)
		if ((*c)->medium && performs(*c, effect_kind))
			return true;
	return false;
}

const struct conn_type *conn_table_route(const char *effect_kind, const char *args_json)
{
	const struct conn_type *c = NULL;
	if (args_json && has_media(effect_kind)) {
		json_t *args = json_loads(args_json, 0, NULL);
		c = claimed_by(effect_kind, json_string_value(json_object_get(args, "medium")));
		json_decref(args);
	}
	/* Any other medium goes to the default connector, which refuses what it cannot send
	 * with its own message (smtp: "args.medium is 'fax'; this connector only sends e-mail"). */
	return c ? c : conn_table_find(effect_kind);
}

const struct conn_type *conn_table_named(const char *name)
{
	for (const struct conn_type *const *c = conn_builtin; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

void conn_capabilities_format(unsigned capabilities, char *buf, size_t len)
{
	static const struct { unsigned flag; const char *name; } names[] = {
		{CONN_CAP_EFFECTS, "effects"}, {CONN_CAP_SCAN, "scan"}, {CONN_CAP_HEALTH, "health"},
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(capabilities & names[i].flag))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

struct conn_set {
	size_t n;
	void **states;
	bool *opened;
};

void conn_set_close(struct conn_set *set)
{
	if (!set)
		return;
	for (size_t i = set->n; i-- > 0;)
		if (set->opened[i])
			conn_builtin[i]->close(set->states[i]);
	free(set->states);
	free(set->opened);
	free(set);
}

/* The top level names connectors and nothing else, each with an object. */
static int check_top_level(const json_t *root, struct conn_error *err)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)root, key, value) {
		if (!conn_table_named(key))
			return conn__errorf(err, CONN_EINVALID,
			                    "%s: unknown connector (run `tramit connectors` for the list)", key);
		if (!json_is_object(value))
			return conn__errorf(err, CONN_EINVALID, "%s: expected an object", key);
	}
	return 0;
}

static int open_one(struct conn_set *set, size_t i, const json_t *root, struct conn_error *err)
{
	const struct conn_type *c = conn_builtin[i];
	const json_t *section = root ? json_object_get(root, c->name) : NULL;
	char *text = section ? json_dumps(section, JSON_COMPACT) : NULL;
	if (section && !text)
		return conn__errorf(err, CONN_ENOMEM, "%s: out of memory", c->name);
	struct conn_error cerr = {0};
	int rc = c->open(&set->states[i], text, &cerr);
	free(text);
	if (rc == CONN_ENOTCONFIGURED && !section)
		return 0;
	if (rc)
		return conn__errorf(err, rc, "%s.%s", c->name, cerr.msg);
	set->opened[i] = true;
	return 0;
}

int conn_set_open(struct conn_set **out, const char *config_json, struct conn_error *err)
{
	*out = NULL;
	json_t *root = NULL;
	struct conn_set *set = NULL;
	int rc = conn_table_check(err);
	if (rc)
		goto done;
	if (config_json && (rc = conn__cfg_parse(&root, config_json, err)) != 0)
		goto done;
	if (root && (rc = check_top_level(root, err)) != 0)
		goto done;
	set = calloc(1, sizeof(*set));
	size_t n = builtin_count();
	if (!set || !(set->states = calloc(n + 1, sizeof(void *))) ||
	    !(set->opened = calloc(n + 1, sizeof(bool)))) {
		rc = conn__errorf(err, CONN_ENOMEM, "out of memory");
		goto done;
	}
	set->n = n;
	for (size_t i = 0; i < n && !rc; i++)
		rc = open_one(set, i, root, err);
	if (!rc) {
		*out = set;
		set = NULL;
	}
done:
	conn_set_close(set);
	json_decref(root);
	return rc;
}

static char *read_file(const char *path, struct conn_error *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t size = 0, used = 0;
	if (!f) {
		conn__errorf(err, CONN_EINVALID, "cannot open: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (used + 4096 + 1 > size) {
			char *bigger = realloc(text, size = size ? size * 2 : 8192);
			if (!bigger || size > (1u << 24)) {
				free(bigger);
				text = NULL;
				conn__errorf(err, CONN_EINVALID, "larger than 16 MiB or out of memory");
				break;
			}
			text = bigger;
		}
		size_t got = fread(text + used, 1, size - used - 1, f);
		used += got;
		if (got == 0) {
			text[used] = '\0';
			break;
		}
	}
	if (text && ferror(f)) {
		conn__errorf(err, CONN_EINVALID, "cannot read: %s", strerror(errno));
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

int conn_set_open_file(struct conn_set **out, const char *path, struct conn_error *err)
{
	*out = NULL;
	struct conn_error inner = {0};
	char *text = read_file(path, &inner);
	int rc = text ? conn_set_open(out, text, &inner) : CONN_EINVALID;
	free(text);
	if (rc)
		conn__errorf(err, rc, "%s: %s", path, inner.msg);
	return rc;
}

void *conn_set_state(const struct conn_set *set, const char *name)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->opened[i] && strcmp(conn_builtin[i]->name, name) == 0)
			return set->states[i];
	return NULL;
}

bool conn_set_configured(const struct conn_set *set, const char *name)
{
	for (size_t i = 0; set && i < set->n; i++)
		if (set->opened[i] && strcmp(conn_builtin[i]->name, name) == 0)
			return true;
	return false;
}

/* One connector's entry of the health document, "name": {...}. */
static int health_one(const struct conn_set *set, size_t i, char *buf, size_t len)
{
	const struct conn_type *c = conn_builtin[i];
	char inner[1024];
	int rc = 0;
	if (!set || !set->opened[i])
		snprintf(inner, sizeof(inner), "{\"status\": \"not configured\"}");
	else if (!c->health)
		snprintf(inner, sizeof(inner), "{\"status\": \"ok\"}");
	else if ((rc = c->health(set->states[i], inner, sizeof(inner))) != 0 && !inner[0])
		snprintf(inner, sizeof(inner), "{\"status\": \"failing\"}");
	int n = snprintf(buf, len, "\"%s\": %s", c->name, inner);
	if (n < 0 || (size_t)n >= len)
		return -2;
	return rc ? -1 : 0;
}

int conn_set_health(const struct conn_set *set, char *buf, size_t len)
{
	size_t used = 0;
	bool ok = true;
	int n = snprintf(buf, len, "{\"connectors\": {");
	if (n < 0 || (size_t)n >= len)
		goto too_small;
	used = (size_t)n;
	for (size_t i = 0; conn_builtin[i]; i++) {
		if (i && used + 2 < len) {
			memcpy(buf + used, ", ", 3);
			used += 2;
		}
		int rc = health_one(set, i, buf + used, len - used);
		if (rc == -2)
			goto too_small;
		ok = ok && rc == 0;
		used += strlen(buf + used);
	}
	n = snprintf(buf + used, len - used, "}, \"ok\": %s}", ok ? "true" : "false");
	if (n < 0 || (size_t)n >= len - used)
		goto too_small;
	return ok ? 0 : -1;
too_small:
	snprintf(buf, len, "{\"ok\": false}");
	return -1;
}

void conn_deliver(const struct eng_outbox_item *item, struct eng_delivery *out, void *payload)
{
	const struct conn_set *set = payload;
	const struct conn_type *c = conn_table_route(item->kind, item->args_json);
	if (!c) {
		out->status = ENG_DELIVERY_FAILED;
		snprintf(out->error, sizeof(out->error),
		         "no connector performs '%s' effects in this build", item->kind);
		return;
	}
	for (size_t i = 0; set && i < set->n; i++) {
		if (conn_builtin[i] == c && set->opened[i]) {
			c->perform(set->states[i], item, out);
			return;
		}
	}
	char by[64] = "";
	if (c->medium)
		snprintf(by, sizeof(by), " by medium '%s'", c->medium);
	out->status = ENG_DELIVERY_FAILED;
	snprintf(out->error, sizeof(out->error),
	         "connector '%s' performs '%s' effects%s but is not configured: add a \"%s\" "
	         "section to the connectors configuration (TRAMIT_CONNECTORS_CONFIG)",
	         c->name, item->kind, by, c->name);
}
