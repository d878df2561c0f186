/* What a connector is asked to do for one effect, and what it answers. Pure data shared by the
 * runtime's dispatcher and the connectors, so connectors never see the store. */
#ifndef ENG_DELIVERY_H
#define ENG_DELIVERY_H

#include <stdint.h>

struct eng_outbox_item {
	int64_t id;
	const char *entity_id, *expedient_id;
	const char *kind;            /* eng_effect_kind_name() */
	const char *effect_id;       /* the engine's name for it (KIND:TARGET); may be "" */
	const char *target;          /* may be "" */
	const char *args_json;       /* the effect's args as a JSON object */
	const char *idempotency_key; /* the connector must treat a repeat as the same request */
	int attempts;                /* including this one */
};

enum eng_delivery_status {
	ENG_DELIVERY_DONE,   /* performed; result_json describes it */
	ENG_DELIVERY_RETRY,  /* a passing failure: try again later with backoff */
	ENG_DELIVERY_FAILED, /* will never work as asked: dead-letter it now */
};

struct eng_delivery {
	enum eng_delivery_status status;
	char outcome[32];       /* for DONE: what happened ("sent", "signed", "paid", ...); "done" if empty */
	char result_json[2048]; /* a JSON value; "null" if empty */
	char error[256];        /* for RETRY and FAILED, shown to operators */
};

#endif
