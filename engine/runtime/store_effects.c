/* What a transition writes besides its expedient and event: the registry entry (its number
 * from a counter row locked until commit, so numbers have no gaps and follow time), the
 * receipt under its CSV, timers, and outbox rows for everything a connector must do.
 * Invariant: all of it is in the transition's transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "engine/core/validate.h"
#include "issue.h"
#include "notifications.h"
#include "portafirmas.h"
#include "store_internal.h"

static const char *const statements[][2] = {
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
	 "created_at) VALUES ($1, $2, $3, $4, $5, $6, convert_to($7, 'UTF8'), "
	 "to_timestamp($8::bigint / 1000.0))"},
	{"entity_names", "SELECT name_ca, name_es FROM entity WHERE id = $1"},
	/* The person's record, and the expedient's language for a party without one. */
	{"notify_party",
	 "SELECT coalesce(p.email, ''), coalesce(p.lang, x.lang, ''), coalesce(p.phone, ''), "
	 "coalesce(p.notice_channel, 'email') FROM (SELECT 1) one "
	 "LEFT JOIN person p ON p.entity_id = $1 AND p.nif = $2 LEFT JOIN expedient x ON x.id = $3::uuid"},
	{"outbox_insert",
	 "INSERT INTO outbox (entity_id, expedient_id, event_seq, kind, target, args, idempotency_key, "
	 "effect_id) VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8)"},
	{"timer_cancel",
	 "UPDATE timer SET state = 'cancelled' WHERE expedient_id = $1 AND name = $2 "
	 "AND state IN ('armed', 'claimed')"},
	{"timer_insert",
	 "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) "
	 "VALUES ($1, $2, $3, $4, to_timestamp($4::bigint / 1000.0))"},
};

int eng_store__effects_prepare(struct eng_store *s, struct eng_error *err)
{
	int rc = eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
	if (!rc)
		rc = eng_store__portafirmas_prepare(s, err);
	if (!rc)
		rc = eng_store__issue_prepare(s, err); /* issue 6: issued documents */
	if (!rc)
		rc = eng_store__counter_prepare(s, err); /* issue 5: assisted filing at the counter */
	return rc ? rc : eng_store__notifications_prepare(s, err);
}

static int send_cmd(struct eng__tx *t, const char *name, int n, const char *const *p,
                   struct eng_error *err)
{
	return eng_store__send(t->s, name, n, p, PGRES_COMMAND_OK, false, 0, NULL, err);
}

/* Takes the next entry number and writes the entry; fills the outcome's number and time. */
static int registry_in(struct eng__tx *t, struct eng_error *err)
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
	/* Built whole in the arena: a fixed buffer could cut a title mid-character, and
	 * PostgreSQL would refuse the entry. */
	const char *summary = eng_arena_printf(t->arena, "%s %s: %s", t->def->code,
	        eng_text_get(&t->def->title, ENG_LANG_CA), eng_text_get(&t->def->title, ENG_LANG_ES));
	const char *p2[] = {c->entity_id, "E", year, seq, t->out->registry_number, at,
	                    t->out->expedient_id, t->exp.applicant_id, t->applicant_name,
	                    t->def->unit ? t->def->unit : "", summary};
	int rc = send_cmd(t, "registry_insert", 11, p2, err);
	if (rc)
		return rc;
	json_object_set_new(t->payload, "registry_number", json_string(t->out->registry_number));
	json_object_set_new(t->payload, "presented_at", json_string(t->out->presented_at));
	return 0;
}

/* Builds the receipt (justificant) as canonical JSON and stores it under its CSV. */
static int receipt(struct eng__tx *t, const char *csv, struct eng_error *err)
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
	/* Art. 21.4 LPAC: the applicant is told the maximum time to resolve and notify and what
	 * silence means; the receipt is where they get it (connectors/docs/receipt.c prints it). */
	bool suspends = false;
	for (size_t i = 0; i < t->def->n_states; i++)
		suspends |= t->def->states[i].suspends_resolution;
	if (t->def->resolve_within.unit != ENG_UNIT_NONE)
		json_object_set_new(doc, "procedure", json_pack("{s:i, s:s, s:s, s:b}",
		        "resolve_within", t->def->resolve_within.amount,
		        "unit", eng_duration_unit_name(t->def->resolve_within.unit),
		        "silence", t->def->silence == ENG_SILENCE_POSITIVE ? "positive"
		                   : t->def->silence == ENG_SILENCE_NEGATIVE ? "negative"
		                   : t->def->silence == ENG_SILENCE_LAPSE ? "lapse" : "none",
		        "suspended_while_fixing", suspends));
	if (c->assisted) /* filed at the counter by an official (counter.c) */
		json_object_set_new(doc, "assisted", eng_store__counter_receipt(c));
	char *text = eng_store__json_text(doc);
	json_decref(doc);
	char sha[65], when[24];
	eng_store__sha256_hex(sha, text, strlen(text));
	snprintf(when, sizeof(when), "%lld", (long long)c->event.time_ms);
	const char *pd[] = {c->entity_id, t->out->expedient_id, "receipt", csv, sha,
	                    "application/json", text, when};
	int rc = send_cmd(t, "document_insert", 8, pd, err);
	free(text);
	if (rc)
		return rc;
	snprintf(t->out->csv, sizeof(t->out->csv), "%s", csv);
	json_object_set_new(t->payload, "receipt_csv", json_string(csv));
	json_object_set_new(t->payload, "receipt_sha256", json_string(sha));
	return 0;
}

static int timer_write(struct eng__tx *t, const struct eng_effect *e, struct eng_error *err)
{
	if (!e->target || !*e->target)
		return eng_error_set(err, ENG_EINVALID, "a timer effect needs a name");
	const char *pc[] = {t->out->expedient_id, e->target};
	int rc = send_cmd(t, "timer_cancel", 2, pc, err);
	if (rc || e->kind == ENG_EFFECT_TIMER_CANCEL)
		goto done;
	char due[24];
	snprintf(due, sizeof(due), "%lld", (long long)e->due_ms);
	const char *pi[] = {t->cmd->entity_id, t->out->expedient_id, e->target, due};
	rc = send_cmd(t, "timer_insert", 4, pi, err);
done:
	if (!rc)
		t->out->n_timers++;
	return rc;
}

static bool notify_applicant(const struct eng_effect *e)
{
	const char *audience = eng_values_get(e->args, e->n_args, "audience");
	return e->kind == ENG_EFFECT_NOTIFY && audience && strcmp(audience, "applicant") == 0;
}

/* A notice to the applicant carries where and in which language to send it, as the person's
 * record says when the effect is written: the address in force at the time of the act. A
 * person without an e-mail address gets no "email" and the connector says so.
 * "medium" (how: e-mail unless they chose SMS and gave a phone) routes the notice to its
 * connector; "channel" keeps the engine's binding|informative, by which both pick texts. */
static int notify_address(struct eng__tx *t, const struct eng_effect *e, json_t *args,
                          struct eng_error *err)
{
	if (!notify_applicant(e))
		return 0;
	const char *p[] = {t->cmd->entity_id, t->exp.applicant_id ? t->exp.applicant_id : "",
	                   t->out->expedient_id};
	PGresult *r = eng_store__run(t->s, "notify_party", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	bool known = PQntuples(r) == 1;
	if (known && *PQgetvalue(r, 0, 0))
		json_object_set_new(args, "email", json_string(PQgetvalue(r, 0, 0)));
	const char *lang = known && *PQgetvalue(r, 0, 1) ? PQgetvalue(r, 0, 1) : t->cmd->lang;
	if (lang && (strcmp(lang, "ca") == 0 || strcmp(lang, "es") == 0))
		json_object_set_new(args, "language", json_string(lang));
	const char *phone = known ? PQgetvalue(r, 0, 2) : "";
	bool sms = known && *phone && strcmp(PQgetvalue(r, 0, 3), "sms") == 0;
	json_object_set_new(args, "medium", json_string(sms ? "sms" : "email"));
	if (*phone)
		json_object_set_new(args, "phone", json_string(phone));
	PQclear(r);
	return 0;
}

static bool binding(const struct eng_effect *e)
{
	const char *channel = eng_values_get(e->args, e->n_args, "channel");
	return notify_applicant(e) && channel && strcmp(channel, "binding") == 0;
}

/* The idempotency key names the effect forever: expedient, event and position in it. */
static int outbox_write(struct eng__tx *t, const struct eng_effect *e, size_t index,
                        struct eng_error *err)
{
	char seq[24], key[96];
	snprintf(seq, sizeof(seq), "%lld", (long long)t->out->step.version);
	snprintf(key, sizeof(key), "%s/%lld/%zu", t->out->expedient_id,
	         (long long)t->out->step.version, index);
	json_t *args = eng_store__values_json(e->args, e->n_args);
	int rc = notify_address(t, e, args, err);
	char *text = eng_store__json_text(args);
	json_decref(args);
	const char *p[] = {t->cmd->entity_id, t->out->expedient_id, seq, eng_effect_kind_name(e->kind),
	                   e->target, text, key, e->id};
	if (!rc)
		rc = send_cmd(t, "outbox_insert", 8, p, err);
	free(text);
	if (!rc)
		t->out->n_outbox++;
	return rc;
}

int eng_store__wake(struct eng_store *s, bool outbox, bool timers, struct eng_error *err)
{
	int rc = outbox ? eng_store__send_sql(s, "NOTIFY tramit_outbox", err) : 0;
	return !rc && timers ? eng_store__send_sql(s, "NOTIFY tramit_timer", err) : rc;
}

int eng_store__effects_write(struct eng__tx *t, struct eng_error *err)
{
	/* A command that settles a notification does so in its own transition. */
	int rc = t->cmd->notification_id ? eng_store__notification_settle(t, err) : 0;
	/* Filed at the counter: the person's record first, so this transition's notices find it. */
	if (!rc && t->cmd->assisted)
		rc = eng_store__counter_person(t, err);
	/* The portasignatures: the act completing a request is recorded with its result. */
	if (!rc && eng_store__signature_completes(t))
		rc = eng_store__signature_complete(t, err);
	for (size_t i = 0; i < t->out->step.n_effects && rc == 0; i++) {
		const struct eng_effect *e = &t->out->step.effects[i];
		switch (e->kind) {
		case ENG_EFFECT_REGISTER_IN:
			rc = registry_in(t, err);
			break;
		case ENG_EFFECT_RECEIPT:
			rc = receipt(t, e->csv, err);
			break;
		case ENG_EFFECT_DOCUMENT:
			/* Issued in place (issue.c) before any signature request of the same action,
			 * which the step emits after it; a process that cannot render leaves it queued. */
			rc = eng_store__issue_ready() ? eng_store__issue(t, e, err) : outbox_write(t, e, i, err);
			break;
		case ENG_EFFECT_SIGN_REQUEST:
			/* Performed here, not by a connector: the request is a row of this database. */
			rc = eng_store__signature_request_create(t, e, err);
			break;
		case ENG_EFFECT_TIMER_SET:
		case ENG_EFFECT_TIMER_CANCEL:
			/* In a batch, timers are written set-based for all transitions at once. */
			if (!t->quiet)
				rc = timer_write(t, e, err);
			break;
		default:
			/* A binding notification is made available here; its outbox row is the notice. */
			if (binding(e))
				rc = eng_store__notification_make_available(t, e, err);
			if (!rc)
				rc = outbox_write(t, e, i, err);
			break;
		}
	}
	if (!rc && t->cmd->assisted)
		rc = eng_store__counter_record(t, err); /* the consent, with the registry entry made */
	/* Idle dispatchers and schedulers wake at commit instead of polling. */
	if (!rc && !t->quiet)
		rc = eng_store__wake(t->s, t->out->n_outbox > 0, t->out->n_timers > 0, err);
	return rc;
}
