/* The store over libpq. Each transition is one transaction: lock and read the expedient, run
 * the pure step, write its effects (registry entry, receipt, outbox rows, timers), append the
 * event hash-chained to the previous one, and write the expedient row once. A refusal or any
 * failure rolls everything back, so bad input changes nothing and numbers leave no gaps. */
#include "store.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "queries.h"
#include "store_internal.h"

static const char *const statements[][2] = {
	/* The row lock only orders concurrent writers of one expedient; the version is still the
	 * client's optimistic check (expected_version). */
	{"exp_load",
	 "SELECT state, version, applicant_nif, data::text, definition_hash, number, applicant_name, "
	 "last_hash, vars::text FROM expedient x WHERE id = $1::uuid AND entity_id = $2 "
	 "FOR UPDATE"},
	{"exp_counter",
	 "INSERT INTO expedient_counter (entity_id, year, last) VALUES ($1, "
	 "extract(year FROM to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'Europe/Madrid'), 1) "
	 "ON CONFLICT (entity_id, year) DO UPDATE SET last = expedient_counter.last + 1 "
	 "RETURNING year, last"},
#define EXP_INSERT \
	"INSERT INTO expedient (id, entity_id, number, tramit_code, definition_hash, state, version, " \
	"applicant_nif, applicant_name, lang, data, created_at, updated_at, last_hash, vars, " \
	"registry_number, presented_at, receipt_csv) " \
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, to_timestamp($12::bigint / 1000.0), " \
	"to_timestamp($12::bigint / 1000.0), $13, $14::jsonb, $15, $16::timestamptz, $17)"
/* An expedient's filing and receipt are set once, by the transition that made them. */
#define EXP_UPDATE \
	"UPDATE expedient SET state = $3, version = $4, data = $5::jsonb, " \
	"updated_at = to_timestamp($6::bigint / 1000.0), last_hash = $7, vars = $8::jsonb, " \
	"registry_number = coalesce(registry_number, $9), " \
	"presented_at = coalesce(presented_at, $10::timestamptz), receipt_csv = coalesce(receipt_csv, $11) " \
	"WHERE id = $1 AND version = $2"
/* Writes that must change exactly one row fail in the server when they change none (a
 * division by zero, reported as "changed 0 rows"), so a COMMIT already sent behind them in the
 * pipeline cannot commit the transition. */
#define ONE_ROW(write) "WITH u AS (" write " RETURNING 1) SELECT 1 / count(*) FROM u"
/* The same writes answering with the expedient as pages show it, for callers that need it:
 * the answer costs no statement of its own. The row check is a one-time filter. */
#define AS_VIEW(write) \
	"WITH x AS (" write " RETURNING *) SELECT " ENG__VIEW_COLUMNS "FROM x " \
	"WHERE (SELECT 1 / count(*) FROM x) = 1"
	{"exp_insert", EXP_INSERT},
	{"exp_insert_view", AS_VIEW(EXP_INSERT)},
	{"exp_update", ONE_ROW(EXP_UPDATE)},
	{"exp_update_view", AS_VIEW(EXP_UPDATE)},
	{"event_insert",
	 "INSERT INTO event (expedient_id, seq, kind, action, actor_kind, actor_id, from_state, "
	 "to_state, at, payload, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	 "to_timestamp($9::bigint / 1000.0), $10::json, $11, $12)"},
	{"exp_repin",
	 "UPDATE expedient SET definition_hash = $3, state = $4, version = $5, data = $6::jsonb, "
	 "updated_at = to_timestamp($7::bigint / 1000.0), last_hash = $8 "
	 "WHERE id = $1 AND version = $2"},
	{"exp_pinned",
	 "SELECT id, number, state, data::text FROM expedient WHERE entity_id = $1 AND "
	 "definition_hash = $2 ORDER BY created_at, number"},
	{"definition_put",
	 "INSERT INTO tramit_version (hash, code, version, source_path, source) "
	 "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING"},
	/* ON CONFLICT waits for a transaction that holds the same key, so a retry arriving
	 * while the first attempt runs sees its committed outcome, or takes over if it failed. */
	{"cmd_claim",
	 "INSERT INTO command (entity_id, principal, idempotency_key, fingerprint) VALUES ($1, $2, $3, $4) "
	 "ON CONFLICT DO NOTHING"},
	{"cmd_outcome",
	 "SELECT outcome::text, coalesce(fingerprint, '') FROM command WHERE entity_id = $1 AND "
	 "principal = $2 AND idempotency_key = $3"},
	{"cmd_finish",
	 "UPDATE command SET outcome = $4::json WHERE entity_id = $1 AND principal = $2 AND idempotency_key = $3"},
	{"timer_fired",
	 ONE_ROW("UPDATE timer SET state = 'fired', fired_at = now() WHERE id = $1 AND state = 'claimed'")},
	{"outbox_settle",
	 ONE_ROW("UPDATE outbox SET state = $3, result = $2::json, done_at = now(), last_error = $4 "
	 "WHERE id = $1 AND state = 'claimed' AND ($5::int = 0 OR attempts = $5::int)")},
};

int eng_store__fail(struct eng_store *s, struct eng_error *err, const char *what, PGresult *r)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
	char line[200];
	snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "unknown error");
	line[strcspn(line, "\n")] = '\0';
	int code = PQstatus(s->conn) == CONNECTION_OK ? ENG_EINTERNAL : ENG_EUNAVAILABLE;
	return eng_error_set(err, code, "database: %s: %s", what, line);
}

int eng_store_open(struct eng_store **out, const char *conninfo, struct eng_error *err)
{
	*out = NULL;
	struct eng_store *s = calloc(1, sizeof(*s));
	if (!s)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	int rc = 0;
	s->conn = PQconnectdb(conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char line[200];
		snprintf(line, sizeof(line), "%s", PQerrorMessage(s->conn));
		line[strcspn(line, "\n")] = '\0';
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "cannot connect to PostgreSQL: %s", line);
		goto done;
	}
	rc = eng_store__prepare_all(s, err);
done:
	if (rc != 0)
		eng_store_close(s);
	else
		*out = s;
	return rc;
}

int eng_store__prepare(struct eng_store *s, const char *const (*stmts)[2], size_t n,
                       struct eng_error *err)
{
	for (size_t i = 0; i < n; i++) {
		PGresult *r = PQprepare(s->conn, stmts[i][0], stmts[i][1], 0, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		int rc = ok ? 0 : eng_store__fail(s, err, stmts[i][0], r);
		PQclear(r);
		if (rc)
			return rc;
	}
	return 0;
}

int eng_store__prepare_all(struct eng_store *s, struct eng_error *err)
{
	/* Every query is bounded in time; the sede clock is Spanish peninsular time. Our
	 * statements look rows up by key, so one generic plan serves every execution: planning
	 * anew at each bind (PostgreSQL's first choice) cost more than executing. */
	int rc = eng_store__exec(s, "SET statement_timeout = '15s'; SET TIME ZONE 'Europe/Madrid'; "
	                            "SET plan_cache_mode = force_generic_plan", err);
	if (!rc)
		rc = eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
	if (!rc)
		rc = eng_store__effects_prepare(s, err);
	if (!rc)
		rc = eng_store__batch_prepare(s, err);
	if (!rc && s->extra)
		rc = eng_store__prepare(s, s->extra, s->n_extra, err);
	if (!rc)
		rc = eng_store__queries_prepare(s, err);
	if (!rc)
		rc = eng_store__messages_prepare(s, err);
	return rc;
}

PGresult *eng_store__query_in_tx(struct eng_store *s, const char *what, const char *sql, int n,
                                 const char *const *p, ExecStatusType want, struct eng_error *err)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == want)
		return r;
	eng_store__fail(s, err, what, r);
	PQclear(r);
	return NULL;
}

PGresult *eng_store__query(struct eng_store *s, const char *what, const char *sql, int n,
                           const char *const *p, ExecStatusType want, struct eng_error *err)
{
	return eng_store__ensure(s, err) ? NULL : eng_store__query_in_tx(s, what, sql, n, p, want, err);
}

int eng_store__command_in_tx(struct eng_store *s, const char *what, const char *sql, int n,
                             const char *const *p, struct eng_error *err)
{
	PGresult *r = eng_store__query_in_tx(s, what, sql, n, p, PGRES_COMMAND_OK, err);
	PQclear(r);
	return r ? 0 : err->code;
}

int eng_store__command(struct eng_store *s, const char *what, const char *sql, int n,
                       const char *const *p, struct eng_error *err)
{
	PGresult *r = eng_store__query(s, what, sql, n, p, PGRES_COMMAND_OK, err);
	PQclear(r);
	return r ? 0 : err->code;
}

const char *eng_store__col(struct eng_arena *a, const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : eng_arena_strdup(a, PQgetvalue(r, row, col));
}

int eng_store__adopt(struct eng_store *s, const char *const (*stmts)[2], size_t n,
                     struct eng_error *err)
{
	s->extra = stmts;
	s->n_extra = n;
	return eng_store__prepare(s, stmts, n, err);
}

void eng_store_close(struct eng_store *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	free(s);
}

PGconn *eng_store_conn(struct eng_store *s)
{
	return s->conn;
}

/* Reconnects once if the connection dropped (PostgreSQL restarted). */
int eng_store__ensure(struct eng_store *s, struct eng_error *err)
{
	if (PQstatus(s->conn) == CONNECTION_OK && !s->stale)
		return 0;
	PQreset(s->conn);
	s->stale = false;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return eng_error_set(err, ENG_EUNAVAILABLE, "PostgreSQL is unavailable");
	return eng_store__prepare_all(s, err);
}

void eng_store_set_calendar(struct eng_store *s, const struct eng_calendar *calendar)
{
	s->calendar = calendar;
}

int eng_store_ping(struct eng_store *s, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	PGresult *r = PQexec(s->conn, "SELECT 1");
	rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : eng_store__fail(s, err, "ping", r);
	PQclear(r);
	return rc;
}

int eng_store_put_definition(struct eng_store *s, const struct eng_definition *def,
                             const char *source, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {def->hash, def->code, def->version ? def->version : "",
	                   def->source_path ? def->source_path : "", source};
	PGresult *r = eng_store__run(s, "definition_put", 5, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err ? err->code : ENG_EINTERNAL;
	PQclear(r);
	return 0;
}

void eng_store__sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

char *eng_store__json_text(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!t)
		abort();
	return t;
}

json_t *eng_store__values_json(const struct eng_value *v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, v[i].name, json_string(v[i].value));
	return o;
}

bool eng_uuid_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A random (version 4) UUID: ids are not guessable from each other. */
void eng_store__uuid_new(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

static const char *actor_kind_name(enum eng_principal_kind k)
{
	return k == ENG_PRINCIPAL_CITIZEN ? "citizen" : k == ENG_PRINCIPAL_EMPLOYEE ? "employee" : "system";
}

static const char *event_kind_name(enum eng_event_kind k)
{
	return k == ENG_EVENT_TIMER ? "timer" : k == ENG_EVENT_RESULT ? "result" : "action";
}

static const char *event_name(const struct eng_event *e)
{
	const char *n = e->kind == ENG_EVENT_TIMER ? e->timer : e->kind == ENG_EVENT_RESULT ? e->effect_id
	                                                                                     : e->action;
	return n ? n : "";
}

/* Loads data JSON into name/value pairs allocated in arena. */
static int data_parse(struct eng_value **out, size_t *n, struct eng_arena *arena, const char *text)
{
	json_t *o = json_loads(text, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	*out = eng_arena_alloc(arena, sizeof(**out) * (json_object_size(o) + 1));
	*n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		(*out)[*n].name = eng_arena_strdup(arena, k);
		(*out)[*n].value = eng_arena_strdup(arena, json_is_string(v) ? json_string_value(v) : "");
		(*n)++;
	}
	json_decref(o);
	return 0;
}

static const char *principal_of(const struct eng_command *c, struct eng_arena *a)
{
	return eng_arena_printf(a, "%s:%s", actor_kind_name(c->event.actor.kind),
	                        c->event.actor.id ? c->event.actor.id : "");
}

static int outcome_from_json(struct eng_outcome *out, const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
#define COPY(field) snprintf(out->field, sizeof(out->field), "%s", \
	json_string_value(json_object_get(j, #field)) ? json_string_value(json_object_get(j, #field)) : "")
	COPY(expedient_id);
	COPY(number);
	COPY(registry_number);
	COPY(presented_at);
	COPY(csv);
	COPY(to_state);
#undef COPY
	out->version = json_integer_value(json_object_get(j, "version"));
	out->replayed = true;
	json_decref(j);
	return 0;
}

static char *outcome_json(const struct eng_outcome *o)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "expedient_id", o->expedient_id,
	                      "number", o->number, "registry_number", o->registry_number,
	                      "presented_at", o->presented_at, "csv", o->csv, "to_state", o->to_state,
	                      "version", (json_int_t)o->version);
	char *t = eng_store__json_text(j);
	json_decref(j);
	return t;
}

/* Claims the command's idempotency key. Returns 0 to go on, 1 when an earlier command with
 * the same key already has an outcome (copied into t->out), or a negative code. */
static int idempotency_claim(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	size_t len = strlen(c->idempotency_key);
	if (len < 8 || len > 200)
		return eng_error_set(err, ENG_EINVALID, "an idempotency key has 8 to 200 characters, not %zu", len);
	/* The request the key names: which expedient (or which tràmit, for a new one) and what. */
	const char *fingerprint = eng_arena_printf(t->arena, "%s/%s/%s",
	        c->expedient_id ? c->expedient_id : c->def ? c->def->code : "",
	        event_kind_name(c->event.kind), event_name(&c->event));
	const char *p[] = {c->entity_id, principal_of(c, t->arena), c->idempotency_key, fingerprint};
	PGresult *r = eng_store__run(t->s, "cmd_claim", 4, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	bool fresh = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (fresh)
		return 0;
	r = eng_store__run(t->s, "cmd_outcome", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc;
	if (PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] && strcmp(PQgetvalue(r, 0, 1), fingerprint) != 0)
		rc = eng_error_set(err, ENG_EINVALID, "idempotency key %s was already used for another request",
		                   c->idempotency_key);
	else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && outcome_from_json(t->out, PQgetvalue(r, 0, 0)) == 0)
		rc = 1;
	else
		rc = eng_error_set(err, ENG_EINTERNAL, "command %s has no recorded outcome", c->idempotency_key);
	PQclear(r);
	return rc;
}

static int idempotency_finish(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	char *text = outcome_json(t->out);
	const char *p[] = {c->entity_id, principal_of(c, t->arena), c->idempotency_key, text};
	int rc = eng_store__send(t->s, "cmd_finish", 4, p, PGRES_COMMAND_OK, false, 0, NULL, err);
	free(text);
	return rc;
}

/* A new expedient: nothing to load; its id is made here. */
static int load_new(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	t->def = c->def;
	/* A representative files for the party they represent: the party is the applicant. */
	t->exp = (struct eng_expedient){.applicant_id = c->event.actor.represents
	                                                ? c->event.actor.represents : c->event.actor.id};
	t->applicant_name = c->applicant_name ? c->applicant_name : "";
	snprintf(t->last_hash, sizeof(t->last_hash), "%s", eng_genesis_hash);
	eng_store__uuid_new(t->out->expedient_id);
	return t->def ? 0 : eng_error_set(err, ENG_EINVALID, "no definition to create the expedient with");
}

/* Sends the query that loads and locks the expedient (ENG_ENOTFOUND for a malformed id). */
static int load_send(struct eng__tx *t, PGresult **keep, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	if (!eng_uuid_valid(c->expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %.40s", c->expedient_id);
	const char *p[] = {c->expedient_id, c->entity_id};
	return eng_store__send(t->s, "exp_load", 2, p, PGRES_TUPLES_OK, false, 0, keep, err);
}

/* Reads the loaded expedient from row `row` of r (ENG_ENOTFOUND past the end) and finds its definition (when lookup is not NULL);
 * pinned_to (if not NULL) receives the hash it is pinned to. */
int eng_store__load_take(struct eng__tx *t, PGresult *r, int row, struct eng_error *err,
                         eng_definition_lookup lookup, void *payload, const char **pinned_to)
{
	const struct eng_command *c = t->cmd;
	if (row >= PQntuples(r) || (c->applicant_only && strcmp(PQgetvalue(r, row, 2), c->applicant_only) != 0))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient %s", c->expedient_id);
	t->exp.state = eng_arena_strdup(t->arena, PQgetvalue(r, row, 0));
	t->exp.version = atoll(PQgetvalue(r, row, 1));
	t->exp.applicant_id = eng_arena_strdup(t->arena, PQgetvalue(r, row, 2));
	if (data_parse(&t->exp.data, &t->exp.n_data, t->arena, PQgetvalue(r, row, 3)) != 0)
		return eng_error_set(err, ENG_EINTERNAL, "expedient %s has malformed data", c->expedient_id);
	if (pinned_to)
		*pinned_to = eng_arena_strdup(t->arena, PQgetvalue(r, row, 4));
	t->def = lookup ? lookup(PQgetvalue(r, row, 4), payload) : NULL;
	if (!t->def && lookup)
		return eng_error_set(err, ENG_EINTERNAL, "expedient %s is pinned to unknown definition %s",
		                     c->expedient_id, PQgetvalue(r, row, 4));
	snprintf(t->out->number, sizeof(t->out->number), "%s", PQgetvalue(r, row, 5));
	t->applicant_name = eng_arena_strdup(t->arena, PQgetvalue(r, row, 6));
	snprintf(t->last_hash, sizeof(t->last_hash), "%s", PQgetvalue(r, row, 7));
	struct eng_value *vars = NULL;
	if (data_parse(&vars, &t->exp.n_vars, t->arena, PQgetvalue(r, row, 8)) != 0)
		return eng_error_set(err, ENG_EINTERNAL, "expedient %s has malformed vars", c->expedient_id);
	t->exp.vars = vars;
	snprintf(t->out->expedient_id, sizeof(t->out->expedient_id), "%s", c->expedient_id);
	if (c->expected_version >= 0 && c->expected_version != t->exp.version)
		return eng_error_set(err, ENG_ECONFLICT, "expedient %s is at version %lld, not %lld",
		                     c->expedient_id, (long long)t->exp.version,
		                     (long long)c->expected_version);
	return 0;
}

/* Loads and locks the expedient now (one round trip, with whatever was sent before). */
static int load_row(struct eng__tx *t, struct eng_error *err, eng_definition_lookup lookup,
                    void *payload, const char **pinned_to)
{
	if (!t->cmd->expedient_id)
		return load_new(t, err);
	PGresult *r = NULL;
	int rc = load_send(t, &r, err);
	if (!rc)
		rc = eng_store__flush(t->s, err);
	if (!rc)
		rc = eng_store__load_take(t, r, 0, err, lookup, payload, pinned_to);
	PQclear(r);
	return rc;
}

static int load(struct eng__tx *t, struct eng_error *err, eng_definition_lookup lookup, void *payload)
{
	return load_row(t, err, lookup, payload, NULL);
}

static int load_pinned(struct eng__tx *t, struct eng_error *err, const char **pinned_to)
{
	return load_row(t, err, NULL, NULL, pinned_to);
}

void eng_store__event_prepare(struct eng__tx *t, struct eng__event_row *e)
{
	const struct eng_command *c = t->cmd;
	const struct eng_step_result *st = &t->out->step;
	e->payload = eng_store__json_text(t->payload);
	e->rec = (struct eng_event_record){
		.expedient_id = t->out->expedient_id, .seq = st->version,
		.kind = t->kind_override ? t->kind_override : event_kind_name(c->event.kind),
		.action = event_name(&c->event),
		.actor_kind = actor_kind_name(c->event.actor.kind),
		.actor_id = c->event.actor.id ? c->event.actor.id : "",
		.from_state = st->from_state ? st->from_state : "", .to_state = st->to_state,
		.at_ms = c->event.time_ms, .payload = e->payload,
	};
	snprintf(e->prev, sizeof(e->prev), "%s", t->last_hash);
	eng_event_hash(e->hash, e->prev, &e->rec);
	/* The expedient row records the hash of its newest event. */
	snprintf(t->last_hash, sizeof(t->last_hash), "%s", e->hash);
}

/* Appends the event; leaves its hash in t->last_hash for the expedient row. */
static int append_event(struct eng__tx *t, struct eng_error *err)
{
	struct eng__event_row e;
	eng_store__event_prepare(t, &e);
	char seq[24], at[24];
	snprintf(seq, sizeof(seq), "%lld", (long long)e.rec.seq);
	snprintf(at, sizeof(at), "%lld", (long long)e.rec.at_ms);
	const char *p[] = {e.rec.expedient_id, seq, e.rec.kind, e.rec.action, e.rec.actor_kind,
	                   e.rec.actor_id, e.rec.from_state, e.rec.to_state, at, e.payload, e.prev, e.hash};
	int rc = eng_store__send(t->s, "event_insert", 12, p, PGRES_COMMAND_OK, false, 0, NULL, err);
	free(e.payload);
	return rc;
}

static int migration_event(struct eng__tx *t, struct eng_error *err)
{
	t->kind_override = "migration";
	return append_event(t, err);
}

/* Writes the expedient row once, with the hash of the event just appended. */
static int write_expedient(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const struct eng_step_result *st = &t->out->step;
	json_t *data = eng_store__values_json(st->data, st->n_data);
	char *data_text = eng_store__json_text(data);
	json_decref(data);
	json_t *vars = eng_store__values_json(st->vars, st->n_vars);
	char *vars_text = eng_store__json_text(vars);
	json_decref(vars);
	char version[24], at[24];
	snprintf(version, sizeof(version), "%lld", (long long)st->version);
	snprintf(at, sizeof(at), "%lld", (long long)c->event.time_ms);
	/* With a view wanted, the write answers with it (one row, or the flush fails). */
	ExecStatusType want = t->view || c->expedient_id ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
	PGresult **keep = t->view ? &t->view_result : NULL;
	/* The filing and receipt this transition made, if any (NULL: none). */
	const char *reg = t->out->registry_number[0] ? t->out->registry_number : NULL;
	const char *presented = t->out->presented_at[0] ? t->out->presented_at : NULL;
	const char *csv = t->out->csv[0] ? t->out->csv : NULL;
	int rc;
	if (!c->expedient_id) {
		const char *p[] = {t->out->expedient_id, c->entity_id, t->out->number, t->def->code,
		                   t->def->hash, st->to_state, version, t->exp.applicant_id,
		                   t->applicant_name, c->lang ? c->lang : "ca", data_text, at, t->last_hash,
		                   vars_text, reg, presented, csv};
		rc = eng_store__send(t->s, t->view ? "exp_insert_view" : "exp_insert", 17, p, want, true,
		                     ENG_EINTERNAL, keep, err);
	} else {
		char old[24];
		snprintf(old, sizeof(old), "%lld", (long long)t->exp.version);
		const char *p[] = {c->expedient_id, old, st->to_state, version, data_text, at, t->last_hash,
		                   vars_text, reg, presented, csv};
		/* The row is locked since load, so the version cannot have moved. */
		rc = eng_store__send(t->s, t->view ? "exp_update_view" : "exp_update", 11, p, want, true,
		                     ENG_EINTERNAL, keep, err);
	}
	free(data_text);
	free(vars_text);
	return rc;
}

/* Takes the expedient's number (a new expedient only): per entity and year, gap-free. */
static int number_expedient(struct eng__tx *t, struct eng_error *err)
{
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)t->cmd->event.time_ms);
	const char *p[] = {t->cmd->entity_id, at};
	PGresult *r = eng_store__run(t->s, "exp_counter", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	snprintf(t->out->number, sizeof(t->out->number), "%s/%06lld", PQgetvalue(r, 0, 0),
	         atoll(PQgetvalue(r, 0, 1)));
	PQclear(r);
	return 0;
}

/* Marks the timer fired or the outbox row done in the same transaction as the event it
 * caused, so each fires or is reported exactly once. */
int eng_store__settle_source(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	char id[24], attempts[16];
	if (c->timer_id > 0) {
		snprintf(id, sizeof(id), "%lld", (long long)c->timer_id);
		const char *p[] = {id};
		return eng_store__send(t->s, "timer_fired", 1, p, PGRES_TUPLES_OK, true, ENG_ECONFLICT,
		                       NULL, err);
	}
	if (c->outbox_id <= 0)
		return 0;
	snprintf(id, sizeof(id), "%lld", (long long)c->outbox_id);
	snprintf(attempts, sizeof(attempts), "%d", c->outbox_attempts);
	const char *p[] = {id, c->result_json ? c->result_json : "null",
	                   c->outbox_dead ? "dead" : "done", c->outbox_error, attempts};
	/* A row no longer claimed by us (its lease expired) fails with ENG_ECONFLICT. */
	return eng_store__send(t->s, "outbox_settle", 5, p, PGRES_TUPLES_OK, true, ENG_ECONFLICT,
	                       NULL, err);
}

static void record_event_payload(struct eng__tx *t)
{
	const struct eng_command *c = t->cmd;
	t->payload = json_object();
	json_object_set_new(t->payload, "version", json_integer(t->out->step.version));
	if (c->event.kind == ENG_EVENT_ACTION) {
		const struct eng_state *from = eng_definition_state(t->def, t->out->step.from_state);
		const struct eng_action *a = from ? eng_state_action(from, c->event.action) : NULL;
		if (a && (a->flags & ENG_ACTION_FORM))
			json_object_set_new(t->payload, "form",
			                    eng_store__values_json(c->event.form, c->event.n_form));
	}
	/* Who acted, as far as the engine's decision depended on it, so a replay decides alike. */
	const struct eng_actor *who = &c->event.actor;
	if (who->n_roles) {
		json_t *roles = json_array();
		for (size_t i = 0; i < who->n_roles; i++)
			json_array_append_new(roles, json_string(who->roles[i]));
		json_object_set_new(t->payload, "roles", roles);
	}
	if (who->unit)
		json_object_set_new(t->payload, "unit", json_string(who->unit));
	if (who->represents)
		json_object_set_new(t->payload, "represents", json_string(who->represents));
	const struct eng_step_result *st = &t->out->step;
	if (st->n_records) {
		/* What designer functions returned and read: a replay uses these, never Lua. */
		json_t *recs = json_array();
		for (size_t i = 0; i < st->n_records; i++) {
			const struct eng_fn_record *fr = &st->records[i];
			json_t *m = json_pack("{s:s, s:s}", "ca", fr->message.ca ? fr->message.ca : "",
			                      "es", fr->message.es ? fr->message.es : "");
			json_array_append_new(recs, json_pack("{s:i, s:b, s:I, s:s?, s:o, s:o}", "fn", fr->fn,
			        "ok", fr->ok, "amount", (json_int_t)fr->amount, "value", fr->value, "message", m,
			        "inputs", eng_store__values_json(fr->inputs, fr->n_inputs)));
		}
		json_object_set_new(t->payload, "records", recs);
	}
	if (c->event.kind == ENG_EVENT_RESULT && c->event.outcome)
		json_object_set_new(t->payload, "outcome", json_string(c->event.outcome));
	if (c->reason && *c->reason)
		json_object_set_new(t->payload, "reason", json_string(c->reason));
	if (c->result_json) {
		json_t *res = json_loads(c->result_json, JSON_DECODE_ANY, NULL);
		json_object_set_new(t->payload, "result", res ? res : json_string(c->result_json));
	}
}

/* One attempt in one transaction. Returns 0 or a negative code (everything rolled back). */
/* Steps the loaded expedient: an engine refusal is returned here, before anything is sent. */
int eng_store__step(struct eng__tx *t, struct eng_error *err)
{
	/* Deadlines are counted under the store's calendar unless the command brings its own
	 * (the union with the party's, art. 30.6). */
	struct eng_event ev = t->cmd->event;
	if (!ev.calendar)
		ev.calendar = t->s->calendar;
	int rc = eng_expedient_step(&t->out->step, t->arena, t->def, &t->exp, &ev);
	if (rc)
		return eng_error_set(err, rc, "%s", t->out->step.msg);
	record_event_payload(t);
	return 0;
}

/* Sends every write of a stepped transition (pipeline mode: none is waited for, except
 * numbers a later write needs). A failure here is the database's, never the engine's. */
static int write_all(struct eng__tx *t, struct eng_error *err)
{
	/* The timer or outbox row that caused this event is settled first, so that effects
	 * disarming timers of the same name leave the one firing now alone. */
	int rc = eng_store__settle_source(t, err);
	if (!rc && !t->cmd->expedient_id)
		rc = number_expedient(t, err);
	if (!rc)
		rc = eng_store__effects_write(t, err);
	if (!rc)
		rc = append_event(t, err);
	if (!rc)
		rc = write_expedient(t, err);
	if (rc)
		return rc;
	snprintf(t->out->to_state, sizeof(t->out->to_state), "%s", t->out->step.to_state);
	t->out->version = t->out->step.version;
	return t->cmd->idempotency_key ? idempotency_finish(t, err) : 0;
}

void eng_store__tx_end(struct eng__tx *t)
{
	json_decref(t->payload);
	t->payload = NULL;
}

/* One attempt in one transaction, pipelined: BEGIN travels with the load, and every write
 * after the step travels with the COMMIT, so a transition takes two round trips (three with
 * an idempotency key). Returns 0 or a negative code (everything rolled back). */
static int attempt(struct eng__tx *t, eng_definition_lookup lookup, void *lookup_payload,
                   struct eng_error *err)
{
	int rc = eng_store__send_sql(t->s, "BEGIN", err);
	if (rc)
		return rc;
	if (t->cmd->idempotency_key) {
		rc = idempotency_claim(t, err);
		if (rc == 1) {
			rc = eng_store__exec(t->s, "COMMIT", err);
			goto done;
		}
		if (rc)
			goto done;
	}
	rc = load(t, err, lookup, lookup_payload);
	if (!rc)
		rc = eng_store__step(t, err);
	if (!rc)
		rc = write_all(t, err);
	if (!rc)
		rc = eng_store__exec(t->s, "COMMIT", err);
done:
	if (rc != 0)
		eng_store__exec(t->s, "ROLLBACK", &(struct eng_error){0});
	eng_store__tx_end(t);
	return rc;
}

int eng_store__apply_one(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                         eng_definition_lookup lookup, void *lookup_payload,
                         struct eng_outcome *outcome, struct eng_expedient_view *view,
                         struct eng_error *err)
{
	struct eng_error local;
	if (!err)
		err = &local;
	memset(outcome, 0, sizeof(*outcome));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	struct eng__tx t = {.s = s, .arena = arena, .cmd = cmd, .out = outcome, .view = view};
	eng_store__pipeline_enter(s);
	rc = attempt(&t, lookup, lookup_payload, err);
	eng_store__pipeline_leave(s);
	if (rc == 0 && view) {
		/* A replayed command read nothing in its transaction: read the view now. */
		rc = t.view_result ? eng_store__view_take(t.view_result, 0, arena, view, err)
		                   : eng_store_expedient_get(s, arena, cmd->entity_id, outcome->expedient_id,
		                                             view, err);
	}
	PQclear(t.view_result);
	return rc;
}

int eng_store_apply(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                    eng_definition_lookup lookup, void *lookup_payload,
                    struct eng_outcome *outcome, struct eng_error *err)
{
	return eng_store__apply_one(s, arena, cmd, lookup, lookup_payload, outcome, NULL, err);
}

int eng_store_apply_view(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                         eng_definition_lookup lookup, void *lookup_payload,
                         struct eng_outcome *outcome, struct eng_expedient_view *view,
                         struct eng_error *err)
{
	return eng_store__apply_one(s, arena, cmd, lookup, lookup_payload, outcome, view, err);
}

int eng_store_pinned(struct eng_store *s, struct eng_arena *a, const char *entity_id, const char *hash,
                     struct eng_pinned **out, size_t *n, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, hash};
	PGresult *r = eng_store__run(s, "exp_pinned", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n && rc == 0; i++) {
		struct eng_pinned *x = &(*out)[i];
		x->id = eng_arena_strdup(a, PQgetvalue(r, (int)i, 0));
		x->number = eng_arena_strdup(a, PQgetvalue(r, (int)i, 1));
		x->state = eng_arena_strdup(a, PQgetvalue(r, (int)i, 2));
		if (data_parse(&x->data, &x->n_data, a, PQgetvalue(r, (int)i, 3)) != 0)
			rc = eng_error_set(err, ENG_EINTERNAL, "expedient %s has malformed data", x->id);
	}
	PQclear(r);
	return rc;
}

/* The migration itself: one transaction, one event, like any transition. */
int eng_store_repin(struct eng_store *s, const struct eng_repin *r, struct eng_outcome *out,
                    struct eng_error *err)
{
	struct eng_error local;
	if (!err)
		err = &local;
	memset(out, 0, sizeof(*out));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	struct eng_arena arena = {0};
	struct eng_command cmd = {
		.entity_id = r->entity_id, .expedient_id = r->expedient_id, .expected_version = -1,
		.event = {.kind = ENG_EVENT_ACTION, .action = "migrate", .time_ms = r->time_ms,
		          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = r->operator_id}},
	};
	struct eng__tx t = {.s = s, .arena = &arena, .cmd = &cmd, .out = out};
	rc = eng_store__exec(s, "BEGIN", err);
	if (rc)
		goto out;
	const char *pinned_to = NULL;
	rc = load_pinned(&t, err, &pinned_to);
	if (rc)
		goto done;
	if (strcmp(pinned_to, r->from->hash) != 0) {
		rc = eng_error_set(err, ENG_ECONFLICT, "expedient %s is pinned to %.12s, not to %.12s",
		                   r->expedient_id, pinned_to, r->from->hash);
		goto done;
	}
	const char *from_state = t.exp.state;
	t.out->step = (struct eng_step_result){.from_state = from_state, .to_state = r->to_state,
	                                       .version = t.exp.version + 1};
	t.payload = json_pack("{s:I, s:s, s:s, s:s, s:o}", "version", (json_int_t)(t.exp.version + 1),
	                      "from_hash", r->from->hash, "to_hash", r->to->hash,
	                      "map", r->map_name ? r->map_name : "",
	                      "data", eng_store__values_json(r->data, r->n_data));
	rc = migration_event(&t, err);
	if (rc)
		goto done;
	json_t *data = eng_store__values_json(r->data, r->n_data);
	char *data_text = eng_store__json_text(data);
	json_decref(data);
	char old[24], version[24], at[24];
	snprintf(old, sizeof(old), "%lld", (long long)t.exp.version);
	snprintf(version, sizeof(version), "%lld", (long long)(t.exp.version + 1));
	snprintf(at, sizeof(at), "%lld", (long long)r->time_ms);
	const char *p[] = {r->expedient_id, old, r->to->hash, r->to_state, version, data_text, at, t.last_hash};
	PGresult *res = eng_store__run(s, "exp_repin", 8, p, PGRES_COMMAND_OK, err);
	free(data_text);
	if (!res) {
		rc = err->code;
		goto done;
	}
	PQclear(res);
	snprintf(out->to_state, sizeof(out->to_state), "%s", r->to_state);
	out->version = t.exp.version + 1;
	rc = eng_store__exec(s, "COMMIT", err);
done:
	if (rc)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	json_decref(t.payload);
out:
	eng_arena_free(&arena);
	return rc;
}
