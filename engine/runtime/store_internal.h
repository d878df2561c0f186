/* Internals shared by the store's files (store.c: transitions; queries.c: read models). */
#ifndef ENG_STORE_INTERNAL_H
#define ENG_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store.h"

struct eng_store {
	PGconn *conn;
};

int eng_store__prepare_all(struct eng_store *s, struct eng_error *err);
int eng_store__queries_prepare(struct eng_store *s, struct eng_error *err);
PGresult *eng_store__run(struct eng_store *s, const char *name, int n, const char *const *params,
                         ExecStatusType want, struct eng_error *err);
int eng_store__exec(struct eng_store *s, const char *sql, struct eng_error *err);
int eng_store__ensure(struct eng_store *s, struct eng_error *err);
void eng_store__sha256_hex(char out[65], const void *data, size_t len);

#endif
