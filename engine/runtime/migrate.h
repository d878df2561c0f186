/* Schema migrations: ordered SQL files (engine/runtime/migrations/NNNN_name.sql) compiled
 * into the binary, each applied once in its own transaction and recorded in
 * schema_migration. Invariant: re-running applies nothing; concurrent runners serialise on
 * an advisory lock. */
#ifndef ENG_MIGRATE_H
#define ENG_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

#include "engine/core/model.h"

/* Applies every migration not yet recorded. *applied (if not NULL) receives how many were
 * applied now, also on failure (those before the failing file stay). Progress lines
 * ("applied 0001_init.sql") go to log (may be NULL). Returns 0 or a negative code: ENG_ECONFLICT
 * when a recorded migration was edited since or is unknown to this binary (nothing is applied
 * then), ENG_EUNAVAILABLE when the connection fails, ENG_EINTERNAL when a migration's SQL fails
 * (err names the file, the line when PostgreSQL gives a position, and PostgreSQL's message).
 * Safe to call from several threads or processes at once, each on its own connection. */
int eng_migrate(PGconn *conn, int *applied, FILE *log, struct eng_error *err);

/* The number of migrations compiled into the binary. */
int eng_migrate_count(void);

#endif
