/* Binding notifications by appearance at the e-office: made available in the transition of the
 * act (row, content hash, rejection timer), settled once by the first of the recipient's
 * access or the deemed rejection, each in a transition that appends the engine's result event
 * and records the evidence. The arbiter of a race is the notification row itself: both
 * settlements change it only while it is 'made_available', under the expedient's row lock. */
#include "notifications.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/calendar.h"
#include "engine/core/validate.h"
#include "store_internal.h"

#define ISO(col) ENG__ISO(col)
#define VIEW_COLUMNS \
	"n.id, n.expedient_id, x.number, x.tramit_code, n.template, n.effect_id, n.recipient_nif, " \
	"n.recipient_obliged, n.state, " ISO("n.made_available_at") ", " ISO("n.reject_at") ", " \
	"n.last_day::text, " ISO("n.accessed_at") ", n.accessed_by, n.auth_method, " \
	ISO("n.rejected_at") ", n.content_sha256, n.content, n.evidence, n.evidence_sha256, d.csv, " \
	"(extract(epoch FROM n.reject_at) * 1000)::bigint " \
	"FROM notification n JOIN expedient x ON x.id = n.expedient_id " \
	"LEFT JOIN document d ON d.id = n.evidence_document_id "

static const char *const statements[][2] = {
	{"notif_insert",
	 "INSERT INTO notification (id, entity_id, expedient_id, event_seq, recipient_nif, "
	 "recipient_obliged, template, effect_id, content, content_sha256, made_available_at, "
	 "reject_at, last_day) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
	 "to_timestamp($11::bigint / 1000.0), to_timestamp($12::bigint / 1000.0), $13::date)"},
	/* The rejection timer is cancelled with the settlement, claimed or not: a scheduler that
	 * claimed it meanwhile then fails to mark it fired, and its transition rolls back. When
	 * the timer itself settles, it was marked fired first and there is nothing to cancel. */
	{"notif_settle",
	 "WITH u AS (UPDATE notification SET state = $3, "
	 "accessed_at = CASE WHEN $3 = 'accessed' THEN to_timestamp($4::bigint / 1000.0) END, "
	 "rejected_at = CASE WHEN $3 = 'rejected' THEN to_timestamp($4::bigint / 1000.0) END, "
	 "accessed_by = $5, auth_method = $6, evidence = $7, evidence_sha256 = $8 "
	 "WHERE id = $1::uuid AND entity_id = $2 AND expedient_id = $9::uuid "
	 "AND state = 'made_available' RETURNING id, expedient_id), "
	 "c AS (UPDATE timer t SET state = 'cancelled' FROM u WHERE t.expedient_id = u.expedient_id AND t.name = 'notification.' || u.id "
	 "AND t.state IN ('armed', 'claimed') RETURNING 1) "
	 "SELECT 1 / count(*) FROM u"},
	{"notif_list",
	 "SELECT " VIEW_COLUMNS "WHERE n.entity_id = $1 AND ($2::text IS NULL OR n.recipient_nif = $2) "
	 "AND ($3::uuid IS NULL OR n.expedient_id = $3::uuid) "
	 "ORDER BY n.made_available_at DESC, n.id LIMIT 200"},
	{"notif_get",
	 "SELECT " VIEW_COLUMNS "WHERE n.entity_id = $1 AND n.id = $2::uuid "
	 "AND ($3::text IS NULL OR n.recipient_nif = $3)"},
	/* The document's id is drawn once and used twice, so the row and the document name each
	 * other; a racing second issue finds evidence_document_id set and inserts nothing. */
	{"notif_issue",
	 "WITH d AS (SELECT gen_random_uuid() AS id), "
	 "u AS (UPDATE notification SET evidence_document_id = (SELECT id FROM d) "
	 "WHERE entity_id = $1 AND id = $2::uuid AND evidence IS NOT NULL "
	 "AND evidence_document_id IS NULL "
	 "RETURNING entity_id, expedient_id, evidence, evidence_sha256, "
	 "coalesce(accessed_at, rejected_at) AS at) "
	 "INSERT INTO document (id, entity_id, expedient_id, kind, csv, sha256, media_type, content, "
	 "created_at) SELECT (SELECT id FROM d), entity_id, expedient_id, 'notification_evidence', $3, "
	 "encode(sha256(convert_to(coalesce($4, evidence), 'UTF8')), 'hex'), "
	 "coalesce($5, 'application/json'), convert_to(coalesce($4, evidence), 'UTF8'), at FROM u"},
	{"notice_prefs_get",
	 "SELECT notice_channel, coalesce(phone, ''), coalesce(email, '') FROM person "
	 "WHERE entity_id = $1 AND nif = $2"},
	{"notice_prefs_set",
	 "UPDATE person SET notice_channel = $3, phone = nullif($4, '') "
	 "WHERE entity_id = $1 AND nif = $2"},
};

int eng_store__notifications_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

/* --- time and people --- */

/* The Unix time of 00:00 Europe/Madrid on local day `day`. Midnight is never inside a summer
 * time change (those happen at 02:00 and 03:00), so one of the two offsets converts back. */
static int64_t madrid_midnight(int32_t day)
{
	int64_t local = (int64_t)day * 86400;
	for (int off = 1; off <= 2; off++) {
		struct eng_datetime t = eng_datetime_from_unix(local - off * 3600);
		if (t.day == day && t.second == 0)
			return local - off * 3600;
	}
	return local - 3600;
}

void eng_notification_window(int64_t made_ms, int64_t *reject_ms, char last_day[11])
{
	int64_t secs = made_ms >= 0 ? made_ms / 1000 : -((-made_ms + 999) / 1000);
	int32_t made = eng_datetime_from_unix(secs).day;
	int32_t last;
	/* Natural days without rolling need no calendar and cannot fail for n = 10. */
	eng_calendar_add_natural_days(&last, NULL, made, 10, ENG_ROLL_NONE, NULL);
	eng_day_format(last_day, last);
	*reject_ms = madrid_midnight(last + 1) * 1000;
}

bool eng_nif_obliged(const char *nif)
{
	/* DOMAIN.md 8.3: companies, associations, public bodies, communities of owners and of
	 * property, civil partnerships, joint ventures, foreign entities and the rest. */
	return nif && *nif && strchr("ABCDEFGHJNPQRSUVW", nif[0]) != NULL;
}

/* "YYYY-MM-DDTHH:MM:SS+HH:MM" in Europe/Madrid, like the database's ISO columns. */
static const char *iso_madrid(struct eng_arena *a, int64_t ms)
{
	int64_t secs = ms / 1000;
	struct eng_datetime t = eng_datetime_from_unix(secs);
	int64_t offset = (int64_t)t.day * 86400 + t.second - secs;
	int y, mo, d;
	eng_day_to_ymd(t.day, &y, &mo, &d);
	return eng_arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02d+%02d:00", y, mo, d, t.second / 3600,
	                        t.second / 60 % 60, t.second % 60, (int)(offset / 3600));
}

/* The entity (the sender) as content and evidence name it. */
static json_t *sender_json(struct eng_store *s, const char *entity_id, struct eng_error *err)
{
	const char *p[] = {entity_id};
	PGresult *r = eng_store__run(s, "entity_names", 1, p, PGRES_TUPLES_OK, err);
	if (!r)
		return NULL;
	json_t *j = json_pack("{s:s, s:s, s:s}", "entity", entity_id,
	                      "name_ca", PQntuples(r) ? PQgetvalue(r, 0, 0) : "",
	                      "name_es", PQntuples(r) ? PQgetvalue(r, 0, 1) : "");
	PQclear(r);
	return j;
}

/* --- made available (in the act's transition) --- */

/* The content the recipient will be shown, as canonical JSON: who sends it, about which
 * expedient and act, the documents the act produced, and the access window. */
static json_t *content_json(struct eng__tx *t, const struct eng_effect *e, json_t *sender,
                            const char *made_at, const char *last_day, bool obliged)
{
	const struct eng_step_result *st = &t->out->step;
	const struct eng_state *from = eng_definition_state(t->def, st->from_state);
	const struct eng_state *to = eng_definition_state(t->def, st->to_state);
	const struct eng_action *a = from && st->action ? eng_state_action(from, st->action) : NULL;
	json_t *docs = json_array();
	for (size_t i = 0; a && i < a->n_documents; i++)
		json_array_append_new(docs, json_string(a->documents[i]));
	const char *act_ca = a ? eng_text_get(&a->label, ENG_LANG_CA) : (st->action ? st->action : "");
	const char *act_es = a ? eng_text_get(&a->label, ENG_LANG_ES) : (st->action ? st->action : "");
	const char *title_ca = eng_text_get(&t->def->title, ENG_LANG_CA);
	const char *title_es = eng_text_get(&t->def->title, ENG_LANG_ES);
	const char *text_ca = eng_arena_printf(t->arena,
	        "Es notifica l'acte «%s» de l'expedient %s (%s). Esta notificació es practica en el "
	        "moment en què hi accediu (art. 43 de la Llei 39/2015).", act_ca, t->out->number, title_ca);
	const char *text_es = eng_arena_printf(t->arena,
	        "Se notifica el acto «%s» del expediente %s (%s). Esta notificación se practica en el "
	        "momento en que accede a ella (art. 43 de la Ley 39/2015).", act_es, t->out->number, title_es);
	return json_pack("{s:s, s:O, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, "
	                 "s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:o, s:{s:s, s:s, s:b}, s:s, s:s, "
	                 "s:s, s:s}",
	        "type", "notification", "sender", sender,
	        "expedient", "id", t->out->expedient_id, "number", t->out->number,
	        "tramit", "code", t->def->code, "title_ca", title_ca, "title_es", title_es,
	        "template", e->target ? e->target : "",
	        "act", "action", st->action ? st->action : "", "label_ca", act_ca, "label_es", act_es,
	        "state", "name", st->to_state,
	        "label_ca", to ? eng_text_get(&to->label, ENG_LANG_CA) : st->to_state,
	        "label_es", to ? eng_text_get(&to->label, ENG_LANG_ES) : st->to_state,
	        "documents", docs,
	        "recipient", "nif", t->exp.applicant_id ? t->exp.applicant_id : "",
	        "name", t->applicant_name ? t->applicant_name : "", "obliged", obliged,
	        "made_available_at", made_at, "access_until", last_day,
	        "text_ca", text_ca, "text_es", text_es);
}

int eng_store__notification_make_available(struct eng__tx *t, const struct eng_effect *e,
                                           struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const char *nif = t->exp.applicant_id ? t->exp.applicant_id : "";
	int64_t made = c->event.time_ms, reject;
	char last_day[11], id[37];
	eng_notification_window(made, &reject, last_day);
	eng_store__uuid_new(id);
	json_t *sender = sender_json(t->s, c->entity_id, err);
	if (!sender)
		return err->code;
	/* Art. 14.2: an obliged party is notified electronically whatever it chose; this
	 * platform notifies only by appearance, so the flag records why that is lawful. */
	bool obliged = eng_nif_obliged(nif);
	json_t *content = content_json(t, e, sender, iso_madrid(t->arena, made), last_day, obliged);
	json_decref(sender);
	if (c->reason && *c->reason) /* what the applicant must do, in the actor's words */
		json_object_set_new(content, "reason", json_string(c->reason));
	char *text = eng_store__json_text(content);
	json_decref(content);
	char sha[65], seq[24], made_s[24], reject_s[24];
	eng_store__sha256_hex(sha, text, strlen(text));
	snprintf(seq, sizeof(seq), "%lld", (long long)t->out->step.version);
	snprintf(made_s, sizeof(made_s), "%lld", (long long)made);
	snprintf(reject_s, sizeof(reject_s), "%lld", (long long)reject);
	const char *pn[] = {id, c->entity_id, t->out->expedient_id, seq, nif, obliged ? "true" : "false",
	                    e->target ? e->target : "", e->id ? e->id : "", text, sha, made_s, reject_s,
	                    last_day};
	int rc = eng_store__send(t->s, "notif_insert", 13, pn, PGRES_COMMAND_OK, false, 0, NULL, err);
	free(text);
	const char *timer = eng_arena_printf(t->arena, "notification.%s", id);
	const char *pt[] = {c->entity_id, t->out->expedient_id, timer, reject_s};
	if (!rc)
		rc = eng_store__send(t->s, "timer_insert", 4, pt, PGRES_COMMAND_OK, false, 0, NULL, err);
	if (rc)
		return rc;
	t->out->n_timers++;
	/* The event names the notification and the hash of its content, so the hash chain
	 * covers what was made available. */
	json_t *list = json_object_get(t->payload, "notifications");
	if (!list) {
		list = json_array();
		json_object_set_new(t->payload, "notifications", list);
	}
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "id", id,
	        "template", e->target ? e->target : "", "content_sha256", sha,
	        "reject_ms", (json_int_t)reject, "last_day", last_day, "obliged", obliged));
	return 0;
}

int eng_store__notification_settle(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const char *outcome = c->event.outcome ? c->event.outcome : "";
	if (strcmp(outcome, "accessed") != 0 && strcmp(outcome, "rejected") != 0)
		return eng_error_set(err, ENG_EINVALID, "a notification is settled as accessed or "
		                     "rejected, not '%s'", outcome);
	const char *evidence = c->notification_evidence ? c->notification_evidence : "{}";
	char sha[65], at[24];
	eng_store__sha256_hex(sha, evidence, strlen(evidence));
	snprintf(at, sizeof(at), "%lld", (long long)c->event.time_ms);
	const char *p[] = {c->notification_id, c->entity_id, outcome, at, c->notification_by,
	                   c->notification_auth, evidence, sha, t->out->expedient_id};
	int rc = eng_store__send(t->s, "notif_settle", 9, p, PGRES_TUPLES_OK, true, ENG_ECONFLICT,
	                         NULL, err);
	if (!rc)
		json_object_set_new(t->payload, "notification",
		                    json_pack("{s:s, s:s}", "id", c->notification_id, "evidence_sha256", sha));
	return rc;
}

/* --- reading --- */

static const char *col(PGresult *r, int row, int c, struct eng_arena *a)
{
	return PQgetisnull(r, row, c) ? NULL : eng_arena_strdup(a, PQgetvalue(r, row, c));
}

static void view_take(PGresult *r, int row, struct eng_arena *a, struct eng_notification_view *v)
{
	*v = (struct eng_notification_view){
		.id = col(r, row, 0, a), .expedient_id = col(r, row, 1, a),
		.expedient_number = col(r, row, 2, a), .tramit_code = col(r, row, 3, a),
		.template_name = col(r, row, 4, a), .effect_id = col(r, row, 5, a),
		.recipient_nif = col(r, row, 6, a),
		.recipient_obliged = strcmp(PQgetvalue(r, row, 7), "t") == 0,
		.state = col(r, row, 8, a), .made_available_at = col(r, row, 9, a),
		.reject_at = col(r, row, 10, a), .last_day = col(r, row, 11, a),
		.accessed_at = col(r, row, 12, a), .accessed_by = col(r, row, 13, a),
		.auth_method = col(r, row, 14, a), .rejected_at = col(r, row, 15, a),
		.content_sha256 = col(r, row, 16, a), .content = col(r, row, 17, a),
		.evidence = col(r, row, 18, a), .evidence_sha256 = col(r, row, 19, a),
		.evidence_csv = col(r, row, 20, a), .reject_ms = atoll(PQgetvalue(r, row, 21)),
	};
}

int eng_notification_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                          const char *recipient_nif, const char *expedient_id,
                          struct eng_notification_view **out, size_t *n, struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	if (expedient_id && !eng_uuid_valid(expedient_id))
		return 0; /* a malformed id names nothing */
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, recipient_nif, expedient_id};
	PGresult *r = eng_store__run(s, "notif_list", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	*n = (size_t)PQntuples(r);
	*out = eng_arena_alloc(a, sizeof(**out) * (*n + 1));
	for (size_t i = 0; i < *n; i++)
		view_take(r, (int)i, a, &(*out)[i]);
	PQclear(r);
	return 0;
}

int eng_notification_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *id, const char *recipient_nif,
                         struct eng_notification_view *out, struct eng_error *err)
{
	if (!id || !eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no notification %.40s", id ? id : "");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, id, recipient_nif};
	PGresult *r = eng_store__run(s, "notif_get", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 1)
		view_take(r, 0, a, out);
	else
		rc = eng_error_set(err, ENG_ENOTFOUND, "no notification %s for this recipient", id);
	PQclear(r);
	return rc;
}

/* --- settling (access and deemed rejection) --- */

/* The evidence record (art. 41.1): times, the recipient and how they were identified, the
 * sender and the hash of the content, as canonical JSON (malloc'd). */
static char *evidence_text(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           const struct eng_notification_view *v, const char *outcome,
                           int64_t at_ms, const char *by, const char *auth, struct eng_error *err)
{
	json_t *sender = sender_json(s, entity_id, err);
	if (!sender)
		return NULL;
	bool accessed = strcmp(outcome, "accessed") == 0;
	json_t *j = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:s, s:s, s:{s:s, s:b}, s:s, s:s, s:s, "
	                      "s:s, s:s}",
	        "type", "notification_evidence", "notification", v->id, "sender", sender,
	        "expedient", "id", v->expedient_id, "number", v->expedient_number,
	        "tramit", v->tramit_code, "template", v->template_name,
	        "recipient", "nif", v->recipient_nif, "obliged", v->recipient_obliged,
	        "content_sha256", v->content_sha256, "made_available_at", v->made_available_at,
	        "last_day", v->last_day, "outcome", outcome,
	        accessed ? "accessed_at" : "rejected_at", iso_madrid(a, at_ms));
	if (accessed) {
		json_object_set_new(j, "accessed_by", json_string(by));
		json_object_set_new(j, "auth_method", json_string(auth));
	}
	char *text = eng_store__json_text(j);
	json_decref(j);
	return text;
}

/* Applies the engine's result for v as a transition that also settles v. */
static int settle(struct eng_store *s, struct eng_arena *a, struct eng_command *cmd,
                  const struct eng_notification_view *v, const char *outcome, const char *by,
                  const char *auth, eng_definition_lookup lookup, void *payload,
                  struct eng_error *err)
{
	char *evidence = evidence_text(s, a, cmd->entity_id, v, outcome, cmd->event.time_ms, by, auth, err);
	if (!evidence)
		return err->code;
	cmd->expedient_id = v->expedient_id;
	cmd->expected_version = -1;
	cmd->event.kind = ENG_EVENT_RESULT;
	cmd->event.effect_id = v->effect_id;
	cmd->event.outcome = outcome;
	cmd->notification_id = v->id;
	cmd->notification_by = by;
	cmd->notification_auth = auth;
	cmd->notification_evidence = evidence;
	/* The evidence rides in the event too, so the expedient's hash chain covers it. */
	cmd->result_json = evidence;
	struct eng_outcome out;
	int rc = eng_store_apply(s, a, cmd, lookup, payload, &out, err);
	free(evidence);
	return rc;
}

int eng_notification_open(struct eng_store *s, struct eng_arena *a,
                          const struct eng_notification_access *acc, eng_definition_lookup lookup,
                          void *lookup_payload, struct eng_notification_view *out, bool *first,
                          struct eng_error *err)
{
	*first = false;
	if (!acc->nif || !*acc->nif)
		return eng_error_set(err, ENG_ENOTFOUND, "no notification for an anonymous reader");
	int rc = eng_notification_get(s, a, acc->entity_id, acc->notification_id, acc->nif, out, err);
	if (rc || strcmp(out->state, "made_available") != 0)
		return rc;
	struct eng_command cmd = {
		.entity_id = acc->entity_id,
		.event = {.actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = acc->nif},
		          .time_ms = acc->time_ms},
	};
	struct eng_error why = {0};
	/* Opened after the window (the scheduler was behind): the rejection came first, at
	 * 00:00 of day 11, and is what gets recorded. */
	if (acc->time_ms >= out->reject_ms) {
		cmd.event.actor = (struct eng_actor){.kind = ENG_PRINCIPAL_SYSTEM, .id = "notification"};
		cmd.event.time_ms = out->reject_ms;
		rc = settle(s, a, &cmd, out, "rejected", NULL, NULL, lookup, lookup_payload, &why);
	} else {
		rc = settle(s, a, &cmd, out, "accessed", acc->nif,
		            acc->auth_method ? acc->auth_method : "", lookup, lookup_payload, &why);
	}
	/* Settled meanwhile (the timer, or a second tab): the first outcome stands. */
	if (rc == ENG_ECONFLICT || rc == 0) {
		int again = eng_notification_get(s, a, acc->entity_id, acc->notification_id, acc->nif, out, err);
		if (again)
			return again;
		if (rc == 0 || strcmp(out->state, "made_available") != 0) {
			*first = rc == 0 && strcmp(out->state, "accessed") == 0;
			return 0;
		}
	}
	if (err)
		*err = why;
	return rc;
}

bool eng_notification_timer(const char *timer_name)
{
	return timer_name && strncmp(timer_name, "notification.", 13) == 0;
}

int eng_notification_expire(struct eng_store *s, struct eng_arena *a, const struct eng_command *cmd,
                            eng_definition_lookup lookup, void *lookup_payload,
                            struct eng_error *err)
{
	const char *id = eng_notification_timer(cmd->event.timer) ? cmd->event.timer + 13 : "";
	struct eng_notification_view v;
	int rc = eng_notification_get(s, a, cmd->entity_id, id, NULL, &v, err);
	if (rc)
		return rc;
	if (strcmp(v.state, "made_available") != 0)
		return eng_error_set(err, ENG_ECONFLICT, "notification %s was %s first", v.id, v.state);
	struct eng_command c = {
		.entity_id = cmd->entity_id, .timer_id = cmd->timer_id,
		.event = {.actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "timer"},
		          .time_ms = cmd->event.time_ms, .calendar = cmd->event.calendar},
	};
	return settle(s, a, &c, &v, "rejected", NULL, NULL, lookup, lookup_payload, err);
}

int eng_notification_issue_evidence(struct eng_store *s, const char *entity_id, const char *id,
                                    const char *csv, const char *content, const char *media_type,
                                    struct eng_error *err)
{
	if (!eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no notification %.40s", id);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, id, csv, content, content ? media_type : NULL};
	PGresult *r = eng_store__run(s, "notif_issue", 5, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}

/* --- notice preferences --- */

int eng_notice_prefs_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                         const char *nif, struct eng_notice_prefs *out, struct eng_error *err)
{
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, nif};
	PGresult *r = eng_store__run(s, "notice_prefs_get", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) == 1)
		*out = (struct eng_notice_prefs){col(r, 0, 0, a), col(r, 0, 1, a), col(r, 0, 2, a)};
	else
		rc = eng_error_set(err, ENG_ENOTFOUND, "no person %s in entity %s", nif, entity_id);
	PQclear(r);
	return rc;
}

int eng_notice_prefs_set(struct eng_store *s, const char *entity_id, const char *nif,
                         const char *channel, const char *phone, struct eng_error *err)
{
	if (!channel || (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0))
		return eng_error_set(err, ENG_EINVALID, "channel: expected email or sms, found '%.20s'",
		                     channel ? channel : "");
	if (phone && *phone && !eng_phone_valid(phone))
		return eng_error_set(err, ENG_EINVALID, "phone: expected a Spanish or international "
		                     "phone number, found '%.40s'", phone);
	if (strcmp(channel, "sms") == 0 && (!phone || !*phone))
		return eng_error_set(err, ENG_EINVALID, "phone: SMS notices need a phone number");
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, nif, channel, phone ? phone : ""};
	PGresult *r = eng_store__run(s, "notice_prefs_set", 4, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		rc = eng_error_set(err, ENG_ENOTFOUND, "no person %s in entity %s", nif, entity_id);
	PQclear(r);
	return rc;
}
