/* Group commit: several transitions in one transaction, written set-based. One statement
 * loads and locks every expedient of the batch, the engine steps each on its own, and one
 * statement each appends all the events, updates all the expedients and settles all the
 * timers and outbox rows that caused them; effects are written per transition. So a batch
 * costs two round trips and a handful of statements however many transitions it carries.
 * Invariants: a command refused by the engine writes nothing; the batch commits all the
 * others or none of them (then each is applied on its own); rows are locked in id order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_internal.h"

/* Each set-based write checks in the server that it changed exactly the rows it was given
 * (1 / false is a division by zero), so a COMMIT sent behind it cannot commit less. */
#define ALL_ROWS "SELECT 1 / (count(*) = $2::int)::int FROM u"
#define EXP_SET_FROM \
	"FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, old bigint, state text, version bigint, " \
	"data jsonb, at bigint, last_hash text, vars jsonb, registry_number text, " \
	"presented_at timestamptz, receipt_csv text) WHERE e.id = r.id AND e.version = r.old "
#define EXP_SET \
	"UPDATE expedient e SET state = r.state, version = r.version, data = r.data, " \
	"updated_at = to_timestamp(r.at / 1000.0), last_hash = r.last_hash, vars = r.vars, " \
	"registry_number = coalesce(e.registry_number, r.registry_number), " \
	"presented_at = coalesce(e.presented_at, r.presented_at), " \
	"receipt_csv = coalesce(e.receipt_csv, r.receipt_csv) " EXP_SET_FROM

/* The queues' statements run with one generic plan per connection (store.c), planned with the
 * statistics of the moment, and then for the connection's life. Planned against a small or
 * empty table, a join on the rows of a batch became a scan of the whole table, or of a
 * partial index such as outbox_claimed, which holds an entry for every row claimed since the
 * last vacuum; as the queue grew, every batch cost more. So the keys are also given as an
 * array (= ANY walks the primary key or timer_one_live) and the state test is written so that
 * no partial index matches it (issue 4; see worker.c). */
#define BATCH_KEYS(field, type) \
	"ARRAY(SELECT (x->>'" field "')::" type " FROM jsonb_array_elements($1::jsonb) x)"
#define STATE_IS(col, value) "CASE WHEN " col " = '" value "' THEN true END"

static const char *const statements[][2] = {
	{"batch_load",
	 "SELECT state, version, applicant_nif, data::text, definition_hash, number, applicant_name, "
	 "last_hash, vars::text, id::text, entity_id FROM expedient x "
	 "WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"},
	{"batch_events",
	 "INSERT INTO event (expedient_id, seq, kind, action, actor_kind, actor_id, from_state, "
	 "to_state, at, payload, prev_hash, hash) SELECT id, seq, kind, action, actor_kind, actor_id, "
	 "from_state, to_state, to_timestamp(at / 1000.0), payload::json, prev_hash, hash "
	 "FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, seq bigint, kind text, action text, "
	 "actor_kind text, actor_id text, from_state text, to_state text, at bigint, payload text, "
	 "prev_hash text, hash text)"},
	{"batch_expedients", "WITH u AS (" EXP_SET "RETURNING 1) " ALL_ROWS},
	{"batch_expedients_view",
	 "WITH x AS (" EXP_SET "RETURNING e.*) SELECT " ENG__VIEW_COLUMNS "FROM x "
	 "WHERE (SELECT 1 / (count(*) = $2::int)::int FROM x) = 1"},
	/* Every timer a batch's transitions disarm or re-arm is cancelled first, then the ones
	 * armed are inserted: the same end state as writing them one by one. */
	{"batch_timer_cancel",
	 "UPDATE timer t SET state = 'cancelled' FROM jsonb_to_recordset($1::jsonb) AS "
	 "r(expedient_id uuid, name text) WHERE t.expedient_id = r.expedient_id AND t.name = r.name "
	 "AND t.expedient_id = ANY (" BATCH_KEYS("expedient_id", "uuid") ") "
	 "AND t.state IN ('armed', 'claimed')"},
	{"batch_timer_insert",
	 "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) SELECT entity_id, "
	 "expedient_id, name, due_ms, to_timestamp(due_ms / 1000.0) FROM jsonb_to_recordset($1::jsonb) "
	 "AS r(entity_id text, expedient_id uuid, name text, due_ms bigint)"},
	{"batch_timers",
	 "WITH u AS (UPDATE timer SET state = 'fired', fired_at = now() WHERE id = ANY($1::bigint[]) "
	 "AND " STATE_IS("state", "claimed") " RETURNING 1) " ALL_ROWS},
	{"batch_outbox",
	 "WITH u AS (UPDATE outbox o SET state = r.state, result = r.result::json, done_at = now(), "
	 "last_error = r.error FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, result text, "
	 "state text, error text, attempts int) WHERE o.id = r.id AND o.id = ANY (" BATCH_KEYS("id", "bigint")
	 ") AND " STATE_IS("o.state", "claimed") " AND (r.attempts = 0 OR o.attempts = r.attempts) "
	 "RETURNING 1) " ALL_ROWS},
};

int eng_store__batch_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

/* The rows one set-based write is given, as JSON, and how many. */
struct rows {
	json_t *json;
	size_t n;
};

static int send_rows(struct eng_store *s, const char *name, struct rows *r, ExecStatusType want,
                     PGresult **keep, struct eng_error *err)
{
	if (r->n == 0)
		return 0;
	char *text = json_dumps(r->json, JSON_COMPACT);
	char n[24];
	snprintf(n, sizeof(n), "%zu", r->n);
	const char *p[] = {text, n};
	/* The statements that answer rows check their row count, given as $2. */
	int np = want == PGRES_TUPLES_OK ? 2 : 1;
	int rc = text ? eng_store__send(s, name, np, p, want, false, 0, keep, err)
	              : eng_error_set(err, ENG_EINTERNAL, "out of memory");
	free(text);
	return rc;
}

static int batch_order(const void *a, const void *b)
{
	const struct eng_batch_item *x = *(struct eng_batch_item *const *)a;
	const struct eng_batch_item *y = *(struct eng_batch_item *const *)b;
	int by_id = strcasecmp(x->cmd->expedient_id, y->cmd->expedient_id);
	/* Commands on one expedient keep the order they came in (a deadline's alert before its
	 * expiry): the first goes in the batch, the rest after it. */
	return by_id ? by_id : (x > y) - (x < y);
}

/* The row of r (batch_load) holding this command's expedient, or -1. */
static int row_of(PGresult *r, const struct eng_command *c)
{
	for (int i = 0; i < PQntuples(r); i++)
		if (strcasecmp(PQgetvalue(r, i, 9), c->expedient_id) == 0)
			return strcmp(PQgetvalue(r, i, 10), c->entity_id) == 0 ? i : -1;
	return -1;
}

/* Loads and locks every expedient in one statement (BEGIN travels with it), then steps each
 * command; refusals stay in their item. */
static int load_and_step(struct eng_store *s, struct eng_arena *arena, struct eng_batch_item **b,
                         size_t m, struct eng__tx *tx, eng_definition_lookup lookup, void *payload,
                         struct eng_error *err)
{
	char *ids = eng_arena_alloc(arena, m * 40 + 3), *o = ids;
	*o++ = '{';
	for (size_t k = 0; k < m; k++) {
		tx[k] = (struct eng__tx){.s = s, .arena = arena, .cmd = b[k]->cmd, .out = &b[k]->out,
		                         .view = b[k]->view};
		if (!eng_uuid_valid(b[k]->cmd->expedient_id)) {
			b[k]->rc = eng_error_set(&b[k]->err, ENG_ENOTFOUND, "no expedient %.40s",
			                         b[k]->cmd->expedient_id);
			continue;
		}
		o += sprintf(o, "%s%s", o > ids + 1 ? "," : "", b[k]->cmd->expedient_id);
	}
	strcpy(o, "}");
	PGresult *r = NULL;
	const char *p[] = {ids};
	int rc = eng_store__send_sql(s, "BEGIN", err);
	if (!rc)
		rc = eng_store__send(s, "batch_load", 1, p, PGRES_TUPLES_OK, false, 0, &r, err);
	if (!rc)
		rc = eng_store__flush(s, err);
	for (size_t k = 0; k < m && !rc; k++) {
		if (b[k]->rc)
			continue;
		int row = row_of(r, b[k]->cmd);
		b[k]->rc = eng_store__load_take(&tx[k], r, row < 0 ? PQntuples(r) : row, &b[k]->err,
		                                lookup, payload, NULL);
		if (b[k]->rc == 0)
			b[k]->rc = eng_store__step(&tx[k], &b[k]->err);
	}
	PQclear(r);
	return rc;
}

/* Adds the stepped transition's event and expedient row to the set-based writes. */
static void add_rows(struct eng__tx *t, struct rows *events, struct rows *exps)
{
	const struct eng_step_result *st = &t->out->step;
	int64_t old = t->exp.version;
	struct eng__event_row e;
	eng_store__event_prepare(t, &e);
	json_array_append_new(events->json, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
	        "id", e.rec.expedient_id, "seq", (json_int_t)e.rec.seq, "kind", e.rec.kind,
	        "action", e.rec.action, "actor_kind", e.rec.actor_kind, "actor_id", e.rec.actor_id,
	        "from_state", e.rec.from_state, "to_state", e.rec.to_state, "at", (json_int_t)e.rec.at_ms,
	        "payload", e.payload, "prev_hash", e.prev, "hash", e.hash));
	free(e.payload);
	events->n++;
	const struct eng_outcome *o = t->out;
	json_array_append_new(exps->json, json_pack("{s:s, s:I, s:s, s:I, s:o, s:I, s:s, s:o, s:s?, s:s?, s:s?}",
	        "id", o->expedient_id, "old", (json_int_t)old, "state", st->to_state,
	        "version", (json_int_t)st->version, "data", eng_store__values_json(st->data, st->n_data),
	        "at", (json_int_t)t->cmd->event.time_ms, "last_hash", t->last_hash,
	        "vars", eng_store__values_json(st->vars, st->n_vars),
	        "registry_number", o->registry_number[0] ? o->registry_number : NULL,
	        "presented_at", o->presented_at[0] ? o->presented_at : NULL,
	        "receipt_csv", o->csv[0] ? o->csv : NULL));
	exps->n++;
	snprintf(t->out->to_state, sizeof(t->out->to_state), "%s", st->to_state);
	t->out->version = st->version;
}

/* Settles the timers and outbox rows that caused the stepped transitions, before any effect
 * (an effect may disarm a timer of the same name as the one firing). */
static int settle_sources(struct eng_store *s, struct eng_batch_item **b, size_t m,
                          struct eng_error *err)
{
	struct rows timers = {json_array(), 0}, outbox = {json_array(), 0};
	for (size_t k = 0; k < m; k++) {
		const struct eng_command *c = b[k]->cmd;
		if (b[k]->rc)
			continue;
		if (c->timer_id > 0) {
			json_array_append_new(timers.json, json_integer(c->timer_id));
			timers.n++;
		} else if (c->outbox_id > 0) {
			json_array_append_new(outbox.json, json_pack("{s:I, s:s, s:s, s:s?, s:i}",
			        "id", (json_int_t)c->outbox_id, "result", c->result_json ? c->result_json : "null",
			        "state", c->outbox_dead ? "dead" : "done", "error", c->outbox_error,
			        "attempts", c->outbox_attempts));
			outbox.n++;
		}
	}
	/* The timer ids as a PostgreSQL array: "[1,2]" becomes "{1,2}". */
	char *list = timers.n ? json_dumps(timers.json, JSON_COMPACT) : NULL;
	int rc = 0;
	if (list) {
		list[0] = '{';
		list[strlen(list) - 1] = '}';
		char n[24];
		snprintf(n, sizeof(n), "%zu", timers.n);
		const char *p[] = {list, n};
		rc = eng_store__send(s, "batch_timers", 2, p, PGRES_TUPLES_OK, false, 0, NULL, err);
		free(list);
	}
	if (!rc)
		rc = send_rows(s, "batch_outbox", &outbox, PGRES_TUPLES_OK, NULL, err);
	json_decref(timers.json);
	json_decref(outbox.json);
	return rc;
}

/* Adds a transition's timer effects to the set-based writes: each timer it names is
 * cancelled, and armed again when the last effect naming it arms it. */
static int add_timers(struct eng__tx *t, struct rows *cancel, struct rows *arm, struct eng_error *err)
{
	const struct eng_step_result *st = &t->out->step;
	for (size_t i = 0; i < st->n_effects; i++) {
		const struct eng_effect *e = &st->effects[i];
		if (e->kind != ENG_EFFECT_TIMER_SET && e->kind != ENG_EFFECT_TIMER_CANCEL)
			continue;
		if (!e->target || !*e->target)
			return eng_error_set(err, ENG_EINVALID, "a timer effect needs a name");
		t->out->n_timers++;
		bool last = true;
		for (size_t k = i + 1; k < st->n_effects && last; k++)
			last = !((st->effects[k].kind == ENG_EFFECT_TIMER_SET ||
			          st->effects[k].kind == ENG_EFFECT_TIMER_CANCEL) &&
			         st->effects[k].target && strcmp(st->effects[k].target, e->target) == 0);
		if (!last)
			continue;
		json_array_append_new(cancel->json, json_pack("{s:s, s:s}", "expedient_id",
		                      t->out->expedient_id, "name", e->target));
		cancel->n++;
		if (e->kind == ENG_EFFECT_TIMER_SET) {
			json_array_append_new(arm->json, json_pack("{s:s, s:s, s:s, s:I}", "entity_id",
			                      t->cmd->entity_id, "expedient_id", t->out->expedient_id,
			                      "name", e->target, "due_ms", (json_int_t)e->due_ms));
			arm->n++;
		}
	}
	return 0;
}

/* Sends the effects of the stepped transitions: timers set-based, the rest one by one, and
 * one NOTIFY per channel. */
static int write_effects(struct eng_store *s, struct eng_batch_item **b, size_t m,
                         struct eng__tx *tx, struct eng_error *err)
{
	struct rows cancel = {json_array(), 0}, arm = {json_array(), 0};
	bool outbox = false, timers = false;
	int rc = 0;
	for (size_t k = 0; k < m && !rc; k++) {
		if (b[k]->rc || tx[k].out->step.n_effects == 0)
			continue;
		tx[k].quiet = true;
		rc = eng_store__effects_write(&tx[k], err);
		if (!rc)
			rc = add_timers(&tx[k], &cancel, &arm, err);
		outbox |= tx[k].out->n_outbox > 0;
		/* Counted by the transition, not read off the batch's own lists: effects_write also
		 * arms timers by itself (a binding notification's window). */
		timers |= tx[k].out->n_timers > 0;
	}
	if (!rc)
		rc = send_rows(s, "batch_timer_cancel", &cancel, PGRES_COMMAND_OK, NULL, err);
	if (!rc)
		rc = send_rows(s, "batch_timer_insert", &arm, PGRES_COMMAND_OK, NULL, err);
	if (!rc)
		rc = eng_store__wake(s, outbox, timers, err);
	json_decref(cancel.json);
	json_decref(arm.json);
	return rc;
}

/* Sends every write of the stepped transitions and the COMMIT, and waits for them. */
static int write_and_commit(struct eng_store *s, struct eng_batch_item **b, size_t m,
                            struct eng__tx *tx, PGresult **views, struct eng_error *err)
{
	int rc = settle_sources(s, b, m, err);
	if (!rc)
		rc = write_effects(s, b, m, tx, err);
	struct rows events = {json_array(), 0}, exps = {json_array(), 0};
	bool want_view = false;
	for (size_t k = 0; k < m; k++) {
		if (b[k]->rc == 0) {
			add_rows(&tx[k], &events, &exps);
			want_view |= b[k]->view != NULL;
		}
	}
	if (!rc)
		rc = send_rows(s, "batch_events", &events, PGRES_COMMAND_OK, NULL, err);
	if (!rc)
		rc = send_rows(s, want_view ? "batch_expedients_view" : "batch_expedients", &exps,
		               PGRES_TUPLES_OK, views, err);
	json_decref(events.json);
	json_decref(exps.json);
	if (!rc)
		rc = eng_store__exec(s, "COMMIT", err);
	return rc;
}

/* The views of a committed batch, matched to their items by expedient id. */
static void take_views(PGresult *r, struct eng_arena *arena, struct eng_batch_item **b, size_t m)
{
	for (size_t k = 0; k < m; k++) {
		if (b[k]->rc || !b[k]->view)
			continue;
		int row = 0;
		while (r && row < PQntuples(r) && strcmp(PQgetvalue(r, row, 0), b[k]->out.expedient_id) != 0)
			row++;
		b[k]->rc = eng_store__view_take(r, row, arena, b[k]->view, &b[k]->err);
	}
}

/* The shared transaction. Returns 0, or the database's error (then nothing was committed). */
static int batch_attempt(struct eng_store *s, struct eng_arena *arena, struct eng_batch_item **b,
                         size_t m, eng_definition_lookup lookup, void *payload, struct eng_error *err)
{
	struct eng__tx *tx = eng_arena_alloc(arena, sizeof(*tx) * (m + 1));
	PGresult *views = NULL;
	eng_store__pipeline_enter(s);
	int rc = load_and_step(s, arena, b, m, tx, lookup, payload, err);
	if (!rc)
		rc = write_and_commit(s, b, m, tx, &views, err);
	if (rc)
		eng_store__exec(s, "ROLLBACK", &(struct eng_error){0});
	eng_store__pipeline_leave(s);
	for (size_t k = 0; k < m; k++)
		eng_store__tx_end(&tx[k]);
	if (!rc)
		take_views(views, arena, b, m);
	PQclear(views);
	return rc;
}

int eng_store_apply_batch(struct eng_store *s, struct eng_arena *arena, struct eng_batch_item *items,
                          size_t n, eng_definition_lookup lookup, void *payload)
{
	struct eng_batch_item **b = eng_arena_alloc(arena, sizeof(*b) * (n + 1));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		items[i].rc = 0;
		items[i].err = (struct eng_error){0};
		memset(&items[i].out, 0, sizeof(items[i].out));
		if (items[i].cmd->expedient_id && !items[i].cmd->idempotency_key)
			b[m++] = &items[i];
	}
	/* Rows are locked in one order (by id), so concurrent batches cannot deadlock. */
	qsort(b, m, sizeof(*b), batch_order);
	/* A second command on one expedient must see the first's result: it runs alone, after. */
	size_t kept = 0;
	for (size_t k = 0; k < m; k++)
		if (kept == 0 || strcasecmp(b[kept - 1]->cmd->expedient_id, b[k]->cmd->expedient_id) != 0)
			b[kept++] = b[k];
	struct eng_error err = {0};
	int rc = eng_store__ensure(s, &err);
	if (!rc && kept > 0)
		rc = batch_attempt(s, arena, b, kept, lookup, payload, &err);
	if (rc == ENG_EUNAVAILABLE) {
		for (size_t i = 0; i < n; i++)
			items[i].rc = rc, items[i].err = err;
		return rc;
	}
	/* Whatever the shared transaction did not settle runs on its own: creations, keyed
	 * commands, repeats of an expedient, and all of them if the shared one failed. */
	bool committed = rc == 0;
	for (size_t i = 0; i < n; i++) {
		bool in_batch = false;
		for (size_t k = 0; committed && k < kept && !in_batch; k++)
			in_batch = b[k] == &items[i];
		if (!in_batch)
			items[i].rc = eng_store__apply_one(s, arena, items[i].cmd, lookup, payload,
			                                   &items[i].out, items[i].view, &items[i].err);
	}
	return 0;
}
