/* The connector interface: how the engine reaches the world. A connector is one const struct
 * conn_type with an interface version, a unique name, capability flags, the effect kinds it
 * performs and its functions; the built-in ones are listed in one static table (connector.c).
 * A connector must be safe to call twice with the same idempotency key, and never touches
 * engine state: it answers with a delivery that the runtime turns into an event.
 *
 * Invariants of the table, checked by conn_table_check before any set is opened: every entry
 * is at CONN_INTERFACE_VERSION, names are unique, a connector that lists effect kinds has a
 * perform function, and an outbox item always has exactly one connector or none: for each
 * effect kind at most one connector is the default (medium NULL) and at most one claims each
 * medium. Several connectors share a kind only when they reach people by different media:
 * "notify" goes by e-mail (smtp, the default) or by SMS (sms, medium "sms").
 *
 * Thread-safety: open and close run on one thread (start-up and exit); perform and health may
 * run on several threads at once with the same state, so a state is read-only after open or
 * guards what it changes. */
#ifndef CONN_CONNECTOR_H
#define CONN_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/core/delivery.h"

/* Version 2: capabilities, struct conn_error in open, optional health, and a set of opened
 * states passed to conn_deliver. Version 3: medium, so that one effect kind can be performed
 * by several connectors. A connector built for another version is refused. */
enum { CONN_INTERFACE_VERSION = 3 };

/* Error codes of this module. */
enum {
	CONN_EINVALID = -1,       /* a configuration that does not validate: msg names the key */
	CONN_ENOTCONFIGURED = -2, /* open: the connector needs a configuration section and got none */
	CONN_EUNAVAILABLE = -3,   /* open: a resource it needs is missing (a database, a file) */
	CONN_ENOMEM = -4,
};

struct conn_error {
	int code;
	char msg[256];
};

/* What a connector offers, for `tramit connectors` and for callers that look one up. */
enum conn_capability {
	CONN_CAP_EFFECTS = 1 << 0, /* performs outbox effects (effect_kinds) */
	CONN_CAP_SCAN = 1 << 1,    /* scans uploads (connectors/antivirus/antivirus.h) */
	CONN_CAP_HEALTH = 1 << 2,  /* reports its health (health is set) */
};

struct conn_type {
	int version;                       /* CONN_INTERFACE_VERSION */
	const char *name;                  /* unique, e.g. "smtp"; also its configuration key */
	unsigned capabilities;             /* CONN_CAP_* */
	const char *const *effect_kinds;   /* NULL-terminated, e.g. {"notify", NULL}; may be NULL */
	/* NULL: the default connector of its effect kinds. Otherwise the value of the item's
	 * args.medium that routes an item to this connector
	 * rather than to the default; e.g. "sms". See conn_table_route. */
	const char *medium;
	/* Validates the entity's JSON configuration (the connector's section, or NULL when the
	 * file has none) and builds the connector's state into *out. Returns 0, or a negative
	 * CONN_E* code with a message in err naming the bad key relative to the section
	 * ("port: expected an integer 1..65535"). CONN_ENOTCONFIGURED for a NULL config means the
	 * connector is simply not used; any other failure refuses the whole configuration. */
	int (*open)(void **out, const char *config_json, struct conn_error *err);
	/* Performs one outbox item; required when effect_kinds is not empty. Always fills out. */
	void (*perform)(void *state, const struct eng_outbox_item *item, struct eng_delivery *out);
	void (*close)(void *state);        /* accepts NULL */
	/* Capabilities and configuration schema for operators: static text, several lines. */
	const char *(*describe)(void);
	/* Optional: writes a JSON object ({"status": "ok", ...}) into buf; returns 0 when healthy,
	 * -1 otherwise. Must be cheap (no network): /healthz calls it often. */
	int (*health)(void *state, char *buf, size_t len);
};

/* The built-in connectors, NULL-terminated. */
extern const struct conn_type *const conn_builtin[];

/* Checks the invariants above over conn_builtin. Returns 0, or CONN_EINVALID naming the entry. */
int conn_table_check(struct conn_error *err);
/* Finds the default built-in connector of this effect kind (the one without a medium), else
 * the first that performs it, or NULL. */
const struct conn_type *conn_table_find(const char *effect_kind);
/* The connector an outbox item of this kind goes to: the one whose medium is the args'
 * "medium" string, else the default connector of the kind, which judges any medium it is handed. Args are
 * only parsed when some connector of the kind has a medium; args_json may be NULL or not an
 * object (then: the default). NULL when no connector performs the kind. Thread-safe. */
const struct conn_type *conn_table_route(const char *effect_kind, const char *args_json);
/* Finds a built-in connector by name, or NULL. */
const struct conn_type *conn_table_named(const char *name);
/* "effects,scan,health" for the flags set, into buf. */
void conn_capabilities_format(unsigned capabilities, char *buf, size_t len);

/* The opened connectors of one entity. Opened once at start-up, read by many threads, closed
 * at exit after the workers stopped. */
struct conn_set;

/* Opens every built-in connector with its section of config_json ({"smtp": {...}, ...}), or
 * with NULL for those the configuration leaves out (config_json NULL: none configured).
 * Unknown top-level keys are an error. Returns 0, or a negative code with err->msg naming the
 * key ("smtp.port: expected an integer 1..65535"); *out is then NULL. */
int conn_set_open(struct conn_set **out, const char *config_json, struct conn_error *err);
/* The same from a file; messages start with the path ("connectors.json: smtp.port: ..."). */
int conn_set_open_file(struct conn_set **out, const char *path, struct conn_error *err);
/* Closes every opened connector. Accepts NULL. */
void conn_set_close(struct conn_set *set);
/* The state of an opened connector (borrowed, lives as long as the set), or NULL when the
 * connector is not configured. set may be NULL. */
void *conn_set_state(const struct conn_set *set, const char *name);
/* Whether the set opened this connector (its state may still be NULL). set may be NULL. */
bool conn_set_configured(const struct conn_set *set, const char *name);
/* Writes {"connectors": {"smtp": {...}, "antivirus": {"status": "not configured"}}, "ok": B}
 * into buf (truncated JSON is never written: a too small buffer gets {"ok": false}). Returns
 * 0 when every configured connector is healthy, -1 otherwise. Thread-safe. */
int conn_set_health(const struct conn_set *set, char *buf, size_t len);

/* An eng_deliver_fn for the dispatcher; payload is the struct conn_set * (may be NULL). Routes
 * the item to its connector with conn_table_route. An effect kind no connector performs, or
 * whose connector (for the item's medium) is not configured, is dead-lettered with a message
 * saying so. */
void conn_deliver(const struct eng_outbox_item *item, struct eng_delivery *out, void *payload);

#endif
