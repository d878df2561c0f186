/* The table of built-in connectors and the dispatcher's entry point into it. Invariant: at
 * most one connector per effect kind, each at the interface version this build knows. */
#include "connector.h"

#include <stdio.h>
#include <string.h>

/* No connector is built in yet; effects of every kind are dead-lettered with a clear reason
 * until one is (notifications, payments, documents, signatures, back office). */
const struct conn_type *const conn_builtin[] = {NULL};

const struct conn_type *conn_table_find(const char *effect_kind)
{
	for (const struct conn_type *const *c = conn_builtin; *c; c++) {
		if ((*c)->version != CONN_INTERFACE_VERSION)
			continue;
		for (const char *const *k = (*c)->effect_kinds; k && *k; k++)
			if (strcmp(*k, effect_kind) == 0)
				return *c;
	}
	return NULL;
}

void conn_deliver(const struct eng_outbox_item *item, struct eng_delivery *out, void *payload)
{
	const struct conn_type *c = conn_table_find(item->kind);
	if (!c) {
		out->status = ENG_DELIVERY_FAILED;
		snprintf(out->error, sizeof(out->error),
		         "no connector performs '%s' effects in this build", item->kind);
		return;
	}
	c->perform(NULL, item, out);
}
