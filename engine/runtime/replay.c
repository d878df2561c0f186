/* Replays stored event logs through the pure step function. Each event is rebuilt from its
 * columns and payload; designer functions are never run again (event.replay with the
 * recorded results), so a replay depends only on what the log holds. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static struct eng_value *values_from(json_t *o, size_t *n, struct eng_arena *a)
{
	*n = json_object_size(o);
	struct eng_value *v = eng_arena_alloc(a, sizeof(*v) * (*n + 1));
	size_t i = 0;
	const char *k;
	json_t *val;
	json_object_foreach(o, k, val) {
		v[i].name = eng_arena_strdup(a, k);
		v[i].value = eng_arena_strdup(a, json_is_string(val) ? json_string_value(val) : "");
		i++;
	}
	*n = i;
	return v;
}

static const char *jstr(json_t *o, const char *key, struct eng_arena *a)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? eng_arena_strdup(a, s) : NULL;
}

static struct eng_fn_record *records_from(json_t *arr, size_t *n, struct eng_arena *a)
{
	*n = json_array_size(arr);
	struct eng_fn_record *r = eng_arena_alloc(a, sizeof(*r) * (*n + 1));
	for (size_t i = 0; i < *n; i++) {
		json_t *o = json_array_get(arr, i), *m = json_object_get(o, "message");
		r[i].fn = (int)json_integer_value(json_object_get(o, "fn"));
		r[i].ok = json_is_true(json_object_get(o, "ok"));
		r[i].amount = json_integer_value(json_object_get(o, "amount"));
		r[i].value = jstr(o, "value", a);
		r[i].message = (struct eng_text){jstr(m, "ca", a), jstr(m, "es", a)};
		r[i].inputs = values_from(json_object_get(o, "inputs"), &r[i].n_inputs, a);
	}
	return r;
}

/* The same pairs in any order: compared through canonical JSON. */
static bool same_values(const struct eng_value *a, size_t na, const char *stored_json)
{
	json_t *mine = eng_store__values_json(a, na), *theirs = json_loads(stored_json, 0, NULL);
	bool same = theirs && json_equal(mine, theirs);
	json_decref(mine);
	json_decref(theirs);
	return same;
}

/* The definition the expedient started on: the from_hash of its first migration, or the one
 * it is pinned to when it never migrated. */
static const struct eng_definition *first_definition(struct eng_store *s, const char *id,
                                                     eng_definition_lookup lookup, void *payload,
                                                     const char *pinned)
{
	const char *p[] = {id};
	PGresult *r = PQexecParams(s->conn, "SELECT payload->>'from_hash' FROM event WHERE expedient_id = "
	                           "$1::uuid AND kind = 'migration' ORDER BY seq LIMIT 1", 1, NULL, p,
	                           NULL, NULL, 0);
	const struct eng_definition *d = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		d = lookup(PQntuples(r) ? PQgetvalue(r, 0, 0) : pinned, payload);
	PQclear(r);
	return d;
}

int eng_replay_expedient(struct eng_store *s, const char *expedient_id, eng_definition_lookup lookup,
                         void *lookup_payload, const struct eng_calendar *calendar, char *why,
                         size_t why_len, int64_t *n_events, struct eng_error *err)
{
	struct eng_arena a = {0};
	PGresult *x = NULL, *ev = NULL;
	int rc = 0;
	*n_events = 0;
	const char *p[] = {expedient_id};
	x = PQexecParams(s->conn, "SELECT definition_hash, state, version, data::text, vars::text "
	                 "FROM expedient WHERE id = $1::uuid", 1, NULL, p, NULL, NULL, 0);
	ev = PQexecParams(s->conn, "SELECT seq, kind, coalesce(action, ''), actor_kind, actor_id, "
	                  "round(extract(epoch FROM at) * 1000)::bigint, payload::text, to_state FROM event "
	                  "WHERE expedient_id = $1::uuid ORDER BY seq", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(x) != PGRES_TUPLES_OK || PQresultStatus(ev) != PGRES_TUPLES_OK) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "replay: %s", PQerrorMessage(s->conn));
		goto done;
	}
	if (PQntuples(x) != 1) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no expedient %s", expedient_id);
		goto done;
	}
	/* The log starts on the definition of its first event; migrations switch it. */
	const struct eng_definition *def = NULL;
	def = first_definition(s, expedient_id, lookup, lookup_payload, PQgetvalue(x, 0, 0));
	if (!def) {
		rc = eng_error_set(err, ENG_EINTERNAL, "expedient %s is pinned to unknown definition %s",
		                   expedient_id, PQgetvalue(x, 0, 0));
		goto done;
	}
	struct eng_expedient exp = {0};
	for (int i = 0; i < PQntuples(ev); i++) {
		json_t *pl = json_loads(PQgetvalue(ev, i, 6), 0, NULL);
		const char *kind = PQgetvalue(ev, i, 1), *name = eng_arena_strdup(&a, PQgetvalue(ev, i, 2));
		if (strcmp(kind, "migration") == 0) {
			/* A move to a new version of the tràmit: the event holds its result. */
			const char *to_hash = json_string_value(json_object_get(pl, "to_hash"));
			def = to_hash ? lookup(to_hash, lookup_payload) : NULL;
			if (!def) {
				json_decref(pl);
				rc = eng_error_set(err, ENG_EINTERNAL, "expedient %s migrated to unknown definition %s",
				                   expedient_id, to_hash ? to_hash : "(none)");
				goto done;
			}
			struct eng_value *data = values_from(json_object_get(pl, "data"), &exp.n_data, &a);
			exp.data = data;
			json_decref(pl);
			exp.state = eng_arena_strdup(&a, PQgetvalue(ev, i, 7));
			exp.version = atoll(PQgetvalue(ev, i, 0));
			(*n_events)++;
			continue;
		}
		const char *ak = PQgetvalue(ev, i, 3);
		struct eng_event e = {
			.kind = strcmp(kind, "timer") == 0 ? ENG_EVENT_TIMER
			        : strcmp(kind, "result") == 0 ? ENG_EVENT_RESULT : ENG_EVENT_ACTION,
			.actor = {.kind = strcmp(ak, "citizen") == 0 ? ENG_PRINCIPAL_CITIZEN
			          : strcmp(ak, "employee") == 0 ? ENG_PRINCIPAL_EMPLOYEE : ENG_PRINCIPAL_SYSTEM,
			          .id = eng_arena_strdup(&a, PQgetvalue(ev, i, 4)),
			          .unit = jstr(pl, "unit", &a), .represents = jstr(pl, "represents", &a)},
			.time_ms = atoll(PQgetvalue(ev, i, 5)),
			.csv = jstr(pl, "receipt_csv", &a), .outcome = jstr(pl, "outcome", &a),
			.calendar = calendar, .replay = true,
		};
		if (e.kind == ENG_EVENT_TIMER)
			e.timer = name;
		else if (e.kind == ENG_EVENT_RESULT)
			e.effect_id = name;
		else
			e.action = name;
		json_t *roles = json_object_get(pl, "roles");
		const char **rl = eng_arena_alloc(&a, sizeof(char *) * (json_array_size(roles) + 1));
		for (size_t k = 0; k < json_array_size(roles); k++) {
			const char *role = json_string_value(json_array_get(roles, k));
			rl[k] = eng_arena_strdup(&a, role ? role : "");
		}
		e.actor.roles = rl;
		e.actor.n_roles = json_array_size(roles);
		struct eng_value *form = values_from(json_object_get(pl, "form"), &e.n_form, &a);
		e.form = form;
		struct eng_fn_record *rec = records_from(json_object_get(pl, "records"), &e.n_recorded, &a);
		e.recorded = rec;
		json_decref(pl);
		/* A filing for someone else names them the applicant before the step, as the store's
		 * load_new does: an official filing at the counter may act only for the applicant. */
		if (!exp.state && !exp.applicant_id && e.actor.represents)
			exp.applicant_id = e.actor.represents;
		struct eng_step_result r;
		int step = eng_expedient_step(&r, &a, def, &exp, &e);
		(*n_events)++;
		if (step != 0) {
			snprintf(why, why_len, "event %s (%s %s) is refused on replay: %s", PQgetvalue(ev, i, 0),
			         kind, name, r.msg);
			rc = 1;
			goto done;
		}
		if (r.version != atoll(PQgetvalue(ev, i, 0))) {
			snprintf(why, why_len, "event %s gives version %lld", PQgetvalue(ev, i, 0), (long long)r.version);
			rc = 1;
			goto done;
		}
		exp = (struct eng_expedient){.state = r.to_state, .version = r.version,
		        .applicant_id = exp.applicant_id ? exp.applicant_id
		                        : e.actor.represents ? e.actor.represents : e.actor.id,
		        .data = r.data, .n_data = r.n_data, .vars = r.vars, .n_vars = r.n_vars};
	}
	const char *what = NULL;
	if (!exp.state || strcmp(exp.state, PQgetvalue(x, 0, 1)) != 0)
		what = "state";
	else if (exp.version != atoll(PQgetvalue(x, 0, 2)))
		what = "version";
	else if (!same_values(exp.data, exp.n_data, PQgetvalue(x, 0, 3)))
		what = "data";
	else if (!same_values(exp.vars, exp.n_vars, PQgetvalue(x, 0, 4)))
		what = "vars";
	if (what) {
		snprintf(why, why_len, "the replayed %s differs from the stored one", what);
		rc = 1;
	}
done:
	PQclear(x);
	PQclear(ev);
	eng_arena_free(&a);
	return rc;
}

int eng_replay_all(struct eng_store *s, eng_definition_lookup lookup, void *lookup_payload,
                   const struct eng_calendar *calendar, FILE *out, struct eng_replay_report *report,
                   struct eng_error *err)
{
	memset(report, 0, sizeof(*report));
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	PGresult *ids = PQexec(s->conn, "SELECT id, number FROM expedient ORDER BY created_at, id");
	if (PQresultStatus(ids) != PGRES_TUPLES_OK) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE, "replay: %s", PQerrorMessage(s->conn));
		PQclear(ids);
		return rc;
	}
	for (int i = 0; i < PQntuples(ids) && rc >= 0; i++) {
		char why[300] = "";
		int64_t n = 0;
		rc = eng_replay_expedient(s, PQgetvalue(ids, i, 0), lookup, lookup_payload, calendar, why,
		                          sizeof(why), &n, err);
		report->expedients++;
		report->events += n;
		if (rc == 1) {
			fprintf(out, "expedient %s (%s): %s\n", PQgetvalue(ids, i, 0), PQgetvalue(ids, i, 1), why);
			report->mismatched++;
			rc = 0;
		}
	}
	PQclear(ids);
	return rc < 0 ? rc : 0;
}
