/* The store over libpq. Each transition is one transaction: read the expedient, run the pure
 * step, then write the expedient (guarded by its version), the event (hash-chained to the
 * previous one), the registry entry (number taken from a locked counter row, so gap-free) and
 * the receipt. A refusal or any failure rolls everything back, so bad input changes nothing. */
#include "store.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char genesis_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct stmt {
	const char *name;
	const char *sql;
};

static const struct stmt statements[] = {
	{"exp_load",
	 "SELECT state, version, applicant_nif, data::text, definition_hash, number, "
	 "applicant_name FROM expedient WHERE id = $1 AND entity_id = $2"},
	{"exp_counter",
	 "INSERT INTO expedient_counter (entity_id, year, last) VALUES ($1, "
	 "extract(year FROM to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'Europe/Madrid'), 1) "
	 "ON CONFLICT (entity_id, year) DO UPDATE SET last = expedient_counter.last + 1 "
	 "RETURNING year, last"},
	{"exp_insert",
	 "INSERT INTO expedient (entity_id, number, tramit_code, definition_hash, state, version, "
	 "applicant_nif, applicant_name, lang, data, created_at, updated_at) "
	 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, to_timestamp($11::bigint / 1000.0), "
	 "to_timestamp($11::bigint / 1000.0)) RETURNING id"},
	{"exp_update",
	 "UPDATE expedient SET state = $3, version = $4, data = $5::jsonb, "
	 "updated_at = to_timestamp($6::bigint / 1000.0) WHERE id = $1 AND version = $2"},
	{"event_last", "SELECT hash FROM event WHERE expedient_id = $1 ORDER BY seq DESC LIMIT 1"},
	{"event_insert",
	 "INSERT INTO event (expedient_id, seq, kind, action, actor_kind, actor_id, from_state, "
	 "to_state, at, payload, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	 "to_timestamp($9::bigint / 1000.0), $10::json, $11, $12)"},
	/* RETURNING runs after the counter row is locked, so clock_timestamp() orders entries
	 * in the same order as their numbers. */
	{"registry_take",
	 "INSERT INTO registry_counter (entity_id, book, year, last) VALUES ($1, $2, "
	 "extract(year FROM clock_timestamp() AT TIME ZONE 'Europe/Madrid'), 1) "
	 "ON CONFLICT (entity_id, book, year) DO UPDATE SET last = registry_counter.last + 1 "
	 "RETURNING year, last, clock_timestamp()::text, "
	 "to_char(clock_timestamp(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || "
	 "replace(to_char(clock_timestamp(), 'TZH:TZM'), ' ', '')"},
	{"registry_insert",
	 "INSERT INTO registry_entry (entity_id, book, year, seq, number, presented_at, "
	 "expedient_id, party_nif, party_name, addressee, summary) "
	 "VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9, $10, $11)"},
	{"document_insert",
	 "INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, content, "
	 "created_at) VALUES ($1, $2, $3, $4, $5, $6, convert_to($7, 'UTF8'), to_timestamp($8::bigint / 1000.0))"},
	{"definition_put",
	 "INSERT INTO tramit_version (hash, code, version, source_path, source) "
	 "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING"},
	{"entity_names", "SELECT name_ca, name_es FROM entity WHERE id = $1"},
};

static int db_fail(struct eng_store *s, struct eng_error *err, const char *what, PGresult *r)
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

int eng_store__prepare_all(struct eng_store *s, struct eng_error *err)
{
	/* Every query is bounded in time; the sede clock is Spanish peninsular time. */
	PGresult *r = PQexec(s->conn, "SET statement_timeout = '15s'; SET TIME ZONE 'Europe/Madrid'");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return db_fail(s, err, "session settings", NULL);
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		r = PQprepare(s->conn, statements[i].name, statements[i].sql, 0, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok) {
			int rc = db_fail(s, err, statements[i].name, r);
			PQclear(r);
			return rc;
		}
		PQclear(r);
	}
	return eng_store__queries_prepare(s, err);
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

/* Runs a prepared statement; returns the result if its status is `want`, else NULL with err. */
PGresult *eng_store__run(struct eng_store *s, const char *name, int n, const char *const *params,
                         ExecStatusType want, struct eng_error *err)
{
	PGresult *r = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(r) != want) {
		db_fail(s, err, name, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

int eng_store__exec(struct eng_store *s, const char *sql, struct eng_error *err)
{
	PGresult *r = PQexec(s->conn, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : db_fail(s, err, sql, r);
	PQclear(r);
	return rc;
}

/* Reconnects once if the connection dropped (PostgreSQL restarted). */
int eng_store__ensure(struct eng_store *s, struct eng_error *err)
{
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK)
		return eng_error_set(err, ENG_EUNAVAILABLE, "PostgreSQL is unavailable");
	return eng_store__prepare_all(s, err);
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

static char *json_text(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!t)
		abort();
	return t;
}

static json_t *values_json(const struct eng_value *v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, v[i].name, json_string(v[i].value));
	return o;
}

static const char *actor_kind_name(enum eng_principal_kind k)
{
	return k == ENG_PRINCIPAL_CITIZEN ? "citizen" : k == ENG_PRINCIPAL_EMPLOYEE ? "employee" : "system";
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

struct tx {
	struct eng_store *s;
	struct eng_arena *arena;
	const struct eng_command *cmd;
	const struct eng_definition *def;
	struct eng_expedient exp;
	char applicant_name[256];
	struct eng_outcome *out;
	json_t *payload;
};

/* Takes the next registry number and writes the entry; fills outcome's number and time. */
static int registry_in(struct tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const char *p1[] = {c->entity_id, "E"};
	PGresult *r = eng_store__run(t->s, "registry_take", 2, p1, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	char year[16], seq[24], at[64];
	snprintf(year, sizeof(year), "%s", PQgetvalue(r, 0, 0));
	snprintf(seq, sizeof(seq), "%s", PQgetvalue(r, 0, 1));
	snprintf(at, sizeof(at), "%s", PQgetvalue(r, 0, 2));
	snprintf(t->out->presented_at, sizeof(t->out->presented_at), "%s", PQgetvalue(r, 0, 3));
	PQclear(r);
	snprintf(t->out->registry_number, sizeof(t->out->registry_number), "E/%s/%06lld", year,
	         atoll(seq));
	char summary[300];
	snprintf(summary, sizeof(summary), "%s %s: %s", t->def->code,
	         eng_text_get(&t->def->title, ENG_LANG_CA), eng_text_get(&t->def->title, ENG_LANG_ES));
	const char *p2[] = {c->entity_id, "E", year, seq, t->out->registry_number, at,
	                    t->out->expedient_id, t->exp.applicant_id, t->applicant_name,
	                    t->def->unit ? t->def->unit : "", summary};
	r = eng_store__run(t->s, "registry_insert", 11, p2, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	json_object_set_new(t->payload, "registry_number", json_string(t->out->registry_number));
	json_object_set_new(t->payload, "presented_at", json_string(t->out->presented_at));
	return 0;
}

/* Builds the receipt (justificant) as canonical JSON and stores it under its CSV. */
static int receipt(struct tx *t, const char *csv, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const struct eng_step_result *st = &t->out->step;
	const char *pe[] = {c->entity_id};
	PGresult *r = eng_store__run(t->s, "entity_names", 1, pe, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	json_t *entity = json_pack("{s:s, s:s, s:s}", "id", c->entity_id,
	                           "name_ca", PQntuples(r) ? PQgetvalue(r, 0, 0) : "",
	                           "name_es", PQntuples(r) ? PQgetvalue(r, 0, 1) : "");
	PQclear(r);
	json_t *form = json_array();
	for (size_t i = 0; i < st->n_data; i++) {
		const struct eng_field *f = eng_definition_field(t->def, st->data[i].name);
		json_array_append_new(form, json_pack("{s:s, s:s, s:s, s:s}", "name", st->data[i].name,
		        "label_ca", f ? eng_text_get(&f->label, ENG_LANG_CA) : st->data[i].name,
		        "label_es", f ? eng_text_get(&f->label, ENG_LANG_ES) : st->data[i].name,
		        "value", st->data[i].value));
	}
	json_t *doc = json_pack("{s:s, s:o, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:o, s:s}",
	        "type", "receipt", "entity", entity,
	        "registry_number", t->out->registry_number, "presented_at", t->out->presented_at,
	        "expedient_number", t->out->number,
	        "tramit", "code", t->def->code, "title_ca", eng_text_get(&t->def->title, ENG_LANG_CA),
	        "title_es", eng_text_get(&t->def->title, ENG_LANG_ES), "definition_hash", t->def->hash,
	        "applicant", "nif", t->exp.applicant_id, "name", t->applicant_name,
	        "form", form, "csv", csv);
	char *text = json_text(doc);
	json_decref(doc);
	char sha[65], when[24];
	eng_store__sha256_hex(sha, text, strlen(text));
	snprintf(when, sizeof(when), "%lld", (long long)c->event.time_ms);
	const char *pd[] = {c->entity_id, t->out->expedient_id, "receipt", csv, sha,
	                    "application/json", text, when};
	r = eng_store__run(t->s, "document_insert", 8, pd, PGRES_COMMAND_OK, err);
	free(text);
	if (!r)
		return err->code;
	PQclear(r);
	snprintf(t->out->csv, sizeof(t->out->csv), "%s", csv);
	json_object_set_new(t->payload, "receipt_csv", json_string(csv));
	json_object_set_new(t->payload, "receipt_sha256", json_string(sha));
	return 0;
}

static int append_event(struct tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const struct eng_step_result *st = &t->out->step;
	char prev[65] = "";
	if (c->expedient_id) {
		const char *p[] = {t->out->expedient_id};
		PGresult *r = eng_store__run(t->s, "event_last", 1, p, PGRES_TUPLES_OK, err);
		if (!r)
			return err->code;
		snprintf(prev, sizeof(prev), "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : genesis_hash);
		PQclear(r);
	} else {
		snprintf(prev, sizeof(prev), "%s", genesis_hash);
	}
	char seq[24], at[24];
	snprintf(seq, sizeof(seq), "%lld", (long long)st->version);
	snprintf(at, sizeof(at), "%lld", (long long)c->event.time_ms);
	char *payload = json_text(t->payload);
	const char *from = st->from_state ? st->from_state : "";
	/* The hash covers every column that describes the event, in a fixed order. */
	size_t cap = strlen(payload) + 1024 + strlen(c->event.actor.id ? c->event.actor.id : "");
	char *material = malloc(cap);
	int len = snprintf(material, cap, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s", prev,
	                   t->out->expedient_id, seq, "action", c->event.action,
	                   actor_kind_name(c->event.actor.kind),
	                   c->event.actor.id ? c->event.actor.id : "", from, st->to_state, at, payload);
	char hash[65];
	eng_store__sha256_hex(hash, material, (size_t)len);
	free(material);
	const char *p[] = {t->out->expedient_id, seq, "action", c->event.action,
	                   actor_kind_name(c->event.actor.kind),
	                   c->event.actor.id ? c->event.actor.id : "", from, st->to_state, at,
	                   payload, prev, hash};
	PGresult *r = eng_store__run(t->s, "event_insert", 12, p, PGRES_COMMAND_OK, err);
	free(payload);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

/* Writes the expedient row: insert for a new one, version-guarded update otherwise.
 * Returns 1 when another transaction moved the expedient first. */
static int write_expedient(struct tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const struct eng_step_result *st = &t->out->step;
	json_t *data = values_json(st->data, st->n_data);
	char *data_text = json_text(data);
	json_decref(data);
	char version[24], at[24];
	snprintf(version, sizeof(version), "%lld", (long long)st->version);
	snprintf(at, sizeof(at), "%lld", (long long)c->event.time_ms);
	int rc = 0;
	PGresult *r = NULL;
	if (!c->expedient_id) {
		const char *pc[] = {c->entity_id, at};
		r = eng_store__run(t->s, "exp_counter", 2, pc, PGRES_TUPLES_OK, err);
		if (!r) {
			rc = err->code;
			goto done;
		}
		snprintf(t->out->number, sizeof(t->out->number), "%s/%06lld", PQgetvalue(r, 0, 0),
		         atoll(PQgetvalue(r, 0, 1)));
		PQclear(r);
		const char *p[] = {c->entity_id, t->out->number, t->def->code, t->def->hash,
		                   st->to_state, version, t->exp.applicant_id, t->applicant_name,
		                   c->lang ? c->lang : "ca", data_text, at};
		r = eng_store__run(t->s, "exp_insert", 11, p, PGRES_TUPLES_OK, err);
		if (!r) {
			rc = err->code;
			goto done;
		}
		snprintf(t->out->expedient_id, sizeof(t->out->expedient_id), "%s", PQgetvalue(r, 0, 0));
	} else {
		char old[24];
		snprintf(old, sizeof(old), "%lld", (long long)t->exp.version);
		const char *p[] = {c->expedient_id, old, st->to_state, version, data_text, at};
		r = eng_store__run(t->s, "exp_update", 6, p, PGRES_COMMAND_OK, err);
		if (!r) {
			rc = err->code;
			goto done;
		}
		rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : 1;
	}
done:
	PQclear(r);
	free(data_text);
	return rc;
}

/* Loads the expedient and its definition. */
static int load(struct tx *t, struct eng_error *err, eng_definition_lookup lookup, void *payload)
{
	const struct eng_command *c = t->cmd;
	if (!c->expedient_id) {
		t->def = c->def;
		t->exp = (struct eng_expedient){.applicant_id = c->event.actor.id};
		snprintf(t->applicant_name, sizeof(t->applicant_name), "%s",
		         c->applicant_name ? c->applicant_name : "");
		return t->def ? 0 : eng_error_set(err, ENG_EINVALID, "no definition to create the expedient with");
	}
	const char *p[] = {c->expedient_id, c->entity_id};
	PGresult *r = eng_store__run(t->s, "exp_load", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) == 0) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no expedient %s", c->expedient_id);
		goto done;
	}
	t->exp.state = eng_arena_strdup(t->arena, PQgetvalue(r, 0, 0));
	t->exp.version = atoll(PQgetvalue(r, 0, 1));
	t->exp.applicant_id = eng_arena_strdup(t->arena, PQgetvalue(r, 0, 2));
	if (data_parse(&t->exp.data, &t->exp.n_data, t->arena, PQgetvalue(r, 0, 3)) != 0) {
		rc = eng_error_set(err, ENG_EINTERNAL, "expedient %s has malformed data", c->expedient_id);
		goto done;
	}
	t->def = lookup(PQgetvalue(r, 0, 4), payload);
	if (!t->def) {
		rc = eng_error_set(err, ENG_EINTERNAL, "expedient %s is pinned to unknown definition %s",
		                   c->expedient_id, PQgetvalue(r, 0, 4));
		goto done;
	}
	snprintf(t->out->number, sizeof(t->out->number), "%s", PQgetvalue(r, 0, 5));
	snprintf(t->applicant_name, sizeof(t->applicant_name), "%s", PQgetvalue(r, 0, 6));
	snprintf(t->out->expedient_id, sizeof(t->out->expedient_id), "%s", c->expedient_id);
	if (c->expected_version >= 0 && c->expected_version != t->exp.version)
		rc = eng_error_set(err, ENG_ECONFLICT, "expedient %s is at version %lld, not %lld",
		                   c->expedient_id, (long long)t->exp.version,
		                   (long long)c->expected_version);
done:
	PQclear(r);
	return rc;
}

/* One attempt. Returns 0, a negative code, or 1 when a concurrent transition won the race. */
static int attempt(struct tx *t, eng_definition_lookup lookup, void *lookup_payload,
                   struct eng_error *err)
{
	int rc = eng_store__exec(t->s, "BEGIN", err);
	if (rc)
		return rc;
	rc = load(t, err, lookup, lookup_payload);
	if (rc)
		goto done;
	rc = eng_expedient_step(&t->out->step, t->arena, t->def, &t->exp, &t->cmd->event);
	if (rc) {
		eng_error_set(err, rc, "%s", t->out->step.msg);
		goto done;
	}
	t->payload = json_object();
	json_object_set_new(t->payload, "version", json_integer(t->out->step.version));
	if (eng_state_action(eng_definition_state(t->def, t->out->step.from_state),
	                     t->cmd->event.action)->flags & ENG_ACTION_FORM)
		json_object_set_new(t->payload, "form", values_json(t->cmd->event.form, t->cmd->event.n_form));
	rc = write_expedient(t, err);
	if (rc)
		goto done;
	for (size_t i = 0; i < t->out->step.n_effects && rc == 0; i++) {
		const struct eng_effect *e = &t->out->step.effects[i];
		if (e->kind == ENG_EFFECT_REGISTER_IN)
			rc = registry_in(t, err);
		else if (e->kind == ENG_EFFECT_RECEIPT)
			rc = receipt(t, e->csv, err);
	}
	if (rc)
		goto done;
	rc = append_event(t, err);
	if (rc)
		goto done;
	rc = eng_store__exec(t->s, "COMMIT", err);
done:
	if (rc != 0)
		PQclear(PQexec(t->s->conn, "ROLLBACK"));
	json_decref(t->payload);
	t->payload = NULL;
	return rc;
}

int eng_store_apply(struct eng_store *s, struct eng_arena *arena, const struct eng_command *cmd,
                    eng_definition_lookup lookup, void *lookup_payload,
                    struct eng_outcome *outcome, struct eng_error *err)
{
	struct eng_error local;
	if (!err)
		err = &local;
	memset(outcome, 0, sizeof(*outcome));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	/* A lost race against another transition is retried from a fresh read, unless the
	 * client named the version it saw: then it must see the new state first. */
	for (int tries = 0; tries < 5; tries++) {
		struct tx t = {.s = s, .arena = arena, .cmd = cmd, .out = outcome};
		memset(outcome, 0, sizeof(*outcome));
		rc = attempt(&t, lookup, lookup_payload, err);
		if (rc != 1)
			return rc;
		if (cmd->expected_version >= 0)
			break;
	}
	return eng_error_set(err, ENG_ECONFLICT, "expedient %s was changed by another transition",
	                     cmd->expedient_id);
}
