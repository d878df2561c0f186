/* Internals shared by the store's files: store.c (transitions), store_effects.c (what a
 * transition writes besides the expedient and its event), queries.c (read models), audit.c. */
#ifndef ENG_STORE_INTERNAL_H
#define ENG_STORE_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>

#include "store.h"

struct eng_store {
	PGconn *conn;
	const struct eng_calendar *calendar; /* borrowed */
};

/* One transition in progress (store.c drives it; store_effects.c writes its effects). */
struct eng__tx {
	struct eng_store *s;
	struct eng_arena *arena;
	const struct eng_command *cmd;
	const struct eng_definition *def;
	struct eng_expedient exp;
	const char *applicant_name; /* whole, never cut mid-character */
	char last_hash[65];
	struct eng_outcome *out;
	json_t *payload; /* what the event records besides its columns */
	const char *kind_override; /* "migration" for eng_store_repin's event */
};

int eng_store__prepare_all(struct eng_store *s, struct eng_error *err);
int eng_store__prepare(struct eng_store *s, const char *const (*stmts)[2], size_t n,
                       struct eng_error *err);
int eng_store__effects_prepare(struct eng_store *s, struct eng_error *err);
int eng_store__queries_prepare(struct eng_store *s, struct eng_error *err);
PGresult *eng_store__run(struct eng_store *s, const char *name, int n, const char *const *params,
                         ExecStatusType want, struct eng_error *err);
int eng_store__exec(struct eng_store *s, const char *sql, struct eng_error *err);
int eng_store__ensure(struct eng_store *s, struct eng_error *err);
void eng_store__sha256_hex(char out[65], const void *data, size_t len);
/* Canonical JSON text (sorted keys, compact, ASCII); malloc'd. */
char *eng_store__json_text(json_t *j);
json_t *eng_store__values_json(const struct eng_value *v, size_t n);

/* Writes every effect of the step: registry entries and receipts in place, timers as timer
 * rows, the rest as outbox rows. */
int eng_store__effects_write(struct eng__tx *t, struct eng_error *err);

#endif
