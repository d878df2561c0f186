/* The connector interface: how the engine reaches the world. A connector is one const struct
 * conn_type with an interface version, a unique name, the effect kinds it performs and its
 * functions; the built-in ones are listed in one static table (connector.c).
 * A connector must be safe to call twice with the same idempotency key, and never touches
 * engine state: it answers with a delivery that the runtime turns into an event.
 * Thread-safety: perform may run on several worker threads at once with the same state. */
#ifndef CONN_CONNECTOR_H
#define CONN_CONNECTOR_H

#include "engine/core/delivery.h"

enum { CONN_INTERFACE_VERSION = 1 };

struct conn_type {
	int version;                       /* CONN_INTERFACE_VERSION */
	const char *name;                  /* unique, e.g. "smtp" */
	const char *const *effect_kinds;   /* NULL-terminated, e.g. {"notify", NULL} */
	/* Validates the entity's JSON configuration and builds the connector's state; returns 0,
	 * or -1 with a message naming the bad key in err. */
	int (*open)(void **state, const char *config_json, char err[256]);
	void (*perform)(void *state, const struct eng_outbox_item *item, struct eng_delivery *out);
	void (*close)(void *state);
	const char *(*describe)(void);     /* capabilities and configuration schema, for operators */
};

/* The built-in connectors, NULL-terminated. */
extern const struct conn_type *const conn_builtin[];

/* Finds the built-in connector that performs effects of this kind, or NULL. */
const struct conn_type *conn_table_find(const char *effect_kind);

/* An eng_deliver_fn for the dispatcher: routes the item to its connector. An effect kind no
 * connector performs is dead-lettered with a message saying so. payload is unused for now
 * (per-entity connector state arrives with the connectors' configuration). */
void conn_deliver(const struct eng_outbox_item *item, struct eng_delivery *out, void *payload);

#endif
