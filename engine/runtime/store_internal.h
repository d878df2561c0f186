/* Internals shared by the store's files: store.c (transitions), store_effects.c (what a
 * transition writes besides the expedient and its event), queries.c (read models), audit.c. */
#ifndef ENG_STORE_INTERNAL_H
#define ENG_STORE_INTERNAL_H

#include <jansson.h>
#include <libpq-fe.h>

#include "audit.h"
#include "queries.h"
#include "store.h"

/* A statement sent in pipeline mode whose result is checked when the pipeline is flushed. */
struct eng__pending {
	const char *name;     /* for error messages; static storage */
	ExecStatusType want;
	bool one_row;         /* it must affect exactly one row... */
	int code;             /* ...or the flush fails with this code */
	PGresult **keep;      /* where to leave the result, or NULL to discard it */
};

enum { ENG__MAX_PENDING = 64 };

struct eng_store {
	PGconn *conn;
	const struct eng_calendar *calendar; /* borrowed */
	/* In pipeline mode (a transition), statements whose results nobody waits for are sent
	 * and checked at the next flush, so a transition costs two round trips, not ten. */
	bool pipelined;
	bool stale; /* left mid-pipeline by a failure: reconnect before the next use */
	/* A caller's own statements (the workers'), prepared again after a reconnection. */
	const char *const (*extra)[2];
	size_t n_extra;
	size_t n_pending;
	struct eng__pending pending[ENG__MAX_PENDING];
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
	struct eng_expedient_view *view; /* read back before COMMIT when not NULL */
	/* In a batch: the batch writes the timers and wakes the workers (NOTIFY) once for all
	 * its transitions. */
	bool quiet;
	PGresult *view_result;
};

int eng_store__prepare_all(struct eng_store *s, struct eng_error *err);
/* Sets err from a failed result (or the connection's message when r is NULL): the first line,
 * ENG_EUNAVAILABLE when the connection is gone, else ENG_EINTERNAL. Returns the code. */
int eng_store__fail(struct eng_store *s, struct eng_error *err, const char *what, PGresult *r);
/* Prepares the caller's statements now and after every reconnection; stmts must outlive s. */
int eng_store__adopt(struct eng_store *s, const char *const (*stmts)[2], size_t n,
                     struct eng_error *err);
int eng_store__prepare(struct eng_store *s, const char *const (*stmts)[2], size_t n,
                       struct eng_error *err);
int eng_store__effects_prepare(struct eng_store *s, struct eng_error *err);
int eng_store__batch_prepare(struct eng_store *s, struct eng_error *err);
int eng_store__queries_prepare(struct eng_store *s, struct eng_error *err);
int eng_store__messages_prepare(struct eng_store *s, struct eng_error *err);
PGresult *eng_store__run(struct eng_store *s, const char *name, int n, const char *const *params,
                         ExecStatusType want, struct eng_error *err);
int eng_store__exec(struct eng_store *s, const char *sql, struct eng_error *err);
/* Runs sql with text parameters, unprepared (for statements that run seldom): the result, or
 * NULL with err naming what when its status is not want. eng_store__query reconnects first
 * if PostgreSQL went away; the _in_tx forms never do, since a new connection would carry on
 * outside the caller's transaction. The command forms want PGRES_COMMAND_OK and return 0 or
 * the error code. */
PGresult *eng_store__query(struct eng_store *s, const char *what, const char *sql, int n,
                           const char *const *p, ExecStatusType want, struct eng_error *err);
PGresult *eng_store__query_in_tx(struct eng_store *s, const char *what, const char *sql, int n,
                                 const char *const *p, ExecStatusType want, struct eng_error *err);
int eng_store__command(struct eng_store *s, const char *what, const char *sql, int n,
                       const char *const *p, struct eng_error *err);
int eng_store__command_in_tx(struct eng_store *s, const char *what, const char *sql, int n,
                             const char *const *p, struct eng_error *err);
/* A column's text copied into the arena; NULL for SQL NULL. */
const char *eng_store__col(struct eng_arena *a, const PGresult *r, int row, int col);
/* Sends a prepared statement without waiting for it: in pipeline mode its result is checked
 * (status want; exactly one row affected when one_row, else error `code`) at the next flush
 * (any eng_store__run or eng_store__exec); out of pipeline mode it runs now. keep, if not
 * NULL, receives the result after the flush (the caller clears it). */
int eng_store__send(struct eng_store *s, const char *name, int n, const char *const *params,
                    ExecStatusType want, bool one_row, int code, PGresult **keep,
                    struct eng_error *err);
/* Waits for everything sent so far (pipeline mode) and checks it; 0 out of pipeline mode. */
int eng_store__flush(struct eng_store *s, struct eng_error *err);
/* SQL text without parameters, sent like eng_store__send (NOTIFY, COMMIT's companions). */
int eng_store__send_sql(struct eng_store *s, const char *sql, struct eng_error *err);
int eng_store__ensure(struct eng_store *s, struct eng_error *err);
void eng_store__sha256_hex(char out[65], const void *data, size_t len);
/* A random (version 4) UUID. */
void eng_store__uuid_new(char out[37]);
/* Canonical JSON text (sorted keys, compact, ASCII); malloc'd. */
char *eng_store__json_text(json_t *j);
json_t *eng_store__values_json(const struct eng_value *v, size_t n);

/* An expedient as pages show it, over a row source aliased x that has the expedient table's
 * columns (its filing and receipt are columns too, migration 0010). A transition reads it
 * from its own UPDATE ... RETURNING, a page from the table. eng_store__view_take (queries.c)
 * parses row `row` of a result of these columns (ENG_ENOTFOUND past the end). */
#define ENG__ISO(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"
#define ENG__VIEW_COLUMNS \
	"x.id, x.number, x.tramit_code, x.definition_hash, x.state, x.version, " \
	"x.applicant_nif, x.applicant_name, x.lang, x.data::text, " ENG__ISO("x.created_at") ", " \
	ENG__ISO("x.updated_at") ", x.registry_number, " ENG__ISO("x.presented_at") ", x.receipt_csv "
int eng_store__view_take(PGresult *r, int row, struct eng_arena *a, struct eng_expedient_view *out,
                         struct eng_error *err);

/* The pieces of a transition that store_batch.c shares with store.c. */
void eng_store__pipeline_enter(struct eng_store *s);
void eng_store__pipeline_leave(struct eng_store *s);
/* Reads the expedient in row `row` of an exp_load-shaped result into t (ENG_ENOTFOUND past
 * the end or when t->cmd->applicant_only does not match; ENG_ECONFLICT on a stale version). */
int eng_store__load_take(struct eng__tx *t, PGresult *r, int row, struct eng_error *err,
                         eng_definition_lookup lookup, void *payload, const char **pinned_to);
/* Steps the loaded expedient; an engine refusal comes back here, before anything is sent. */
int eng_store__step(struct eng__tx *t, struct eng_error *err);
/* Marks the timer fired or the outbox row settled that caused the event (sent, checked at
 * the flush: ENG_ECONFLICT when it is no longer ours). */
int eng_store__settle_source(struct eng__tx *t, struct eng_error *err);
void eng_store__tx_end(struct eng__tx *t);
/* A transition on its own, in its own transaction (store.c's eng_store_apply). */
int eng_store__apply_one(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                         eng_definition_lookup lookup, void *lookup_payload,
                         struct eng_outcome *outcome, struct eng_expedient_view *view,
                         struct eng_error *err);
/* The event of a stepped transition with its hash chained onto t->last_hash, which then
 * becomes the new event's hash; payload is malloc'd (the caller frees it). */
struct eng__event_row {
	struct eng_event_record rec;
	char *payload;
	char prev[65], hash[65];
};
void eng_store__event_prepare(struct eng__tx *t, struct eng__event_row *e);

/* Writes every effect of the step: registry entries and receipts in place, timers as timer
 * rows, the rest as outbox rows. */
int eng_store__effects_write(struct eng__tx *t, struct eng_error *err);
/* Sends the NOTIFYs that wake idle dispatchers (outbox) and schedulers (timers) at commit. */
int eng_store__wake(struct eng_store *s, bool outbox, bool timers, struct eng_error *err);

#endif
