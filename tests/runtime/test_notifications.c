/* Binding notifications against a real PostgreSQL: the window of DOMAIN.md 6.2 (N1, N2), the
 * notification made available in the act's transaction with the hash of its content, the
 * notice's channel, the first access, the deemed rejection by the scheduler, the race between
 * the two (exactly one wins), someone else's notification refused, obliged companies, the
 * evidence, and the hash chains still verifying. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/runtime/audit.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/notifications.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/replay.h"
#include "engine/runtime/worker.h"
#include "tests/support/pgtmp.h"

/* DOMAIN.md 6.2 N1: made available Mon 2026-03-02 10:00 Madrid (09:00 UTC). */
#define N1_MADE 1772442000000LL
#define N1_REJECT 1773356400000LL  /* 2026-03-13 00:00 Madrid = 2026-03-12T23:00Z */
#define N3_ACCESS 1772883000000LL  /* Sat 2026-03-07 12:30 Madrid */

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

/* draft -submit-> submitted -require (binding "requeriment")-> fixing; in fixing the
 * outcome "accessed" runs `seen` (to read) and "rejected" runs `lapsed` (to deemed). */
static struct eng_definition *notification_definition(void)
{
	struct eng_definition *d = calloc(1, sizeof(*d));
	struct eng_arena *a = &d->arena;
	d->code = "NOT-001";
	d->version = "1";
	d->title = (struct eng_text){"Notificació de prova", "Notificación de prueba"};
	d->family = "general";
	d->unit = "registre";
	d->applicants = ENG_APPLICANT_PERSON | ENG_APPLICANT_COMPANY;
	strcpy(d->hash, "2222222222222222222222222222222222222222222222222222222222222222");
	d->n_sections = 1;
	d->sections = eng_arena_alloc(a, sizeof(*d->sections));
	d->sections[0] = (struct eng_section){"s", {"Secció", "Sección"}, 1};
	d->n_fields = 1;
	d->fields = eng_arena_alloc(a, sizeof(*d->fields));
	d->fields[0] = (struct eng_field){.name = "assumpte", .type = ENG_FIELD_TEXT,
		.label = {"Assumpte", "Asunto"}, .section = "s", .required = true};
	struct eng_action *acts = eng_arena_alloc(a, sizeof(*acts) * 4);
	struct eng_notify *nt = eng_arena_alloc(a, sizeof(*nt));
	*nt = (struct eng_notify){ENG_NOTIFY_BINDING, "requeriment"};
	acts[0] = (struct eng_action){.name = "submit", .label = {"Presentar", "Presentar"},
		.by = ENG_BY_APPLICANT, .to = "submitted", .flags = ENG_ACTION_FORM};
	acts[1] = (struct eng_action){.name = "require", .label = {"Requerir", "Requerir"},
		.by = ENG_BY_ROLE, .role = "tramitador", .to = "fixing", .notify = nt, .n_notify = 1};
	acts[2] = (struct eng_action){.name = "seen", .label = {"Llegida", "Leída"},
		.by = ENG_BY_SYSTEM, .to = "read"};
	acts[3] = (struct eng_action){.name = "lapsed", .label = {"Rebutjada", "Rechazada"},
		.by = ENG_BY_SYSTEM, .to = "deemed"};
	struct eng_on_result *on = eng_arena_alloc(a, sizeof(*on) * 2);
	on[0] = (struct eng_on_result){"accessed", "seen"};
	on[1] = (struct eng_on_result){"rejected", "lapsed"};
	d->n_states = 5;
	d->states = eng_arena_alloc(a, sizeof(*d->states) * 5);
	d->states[0] = (struct eng_state){.name = "draft", .label = {"Esborrany", "Borrador"},
		.initial = true, .actions = &acts[0], .n_actions = 1};
	d->states[1] = (struct eng_state){.name = "submitted", .label = {"Presentada", "Presentada"},
		.actions = &acts[1], .n_actions = 1};
	d->states[2] = (struct eng_state){.name = "fixing", .label = {"Requerida", "Requerida"},
		.actions = &acts[2], .n_actions = 2, .on = on, .n_on = 2};
	d->states[3] = (struct eng_state){.name = "read", .label = {"Llegida", "Leída"}, .final = true};
	d->states[4] = (struct eng_state){.name = "deemed", .label = {"Rebutjada", "Rechazada"},
		.final = true};
	return d;
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = notification_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament Demo", "Ayuntamiento Demo", true, &err), 0);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	eng_store_close(s);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(notifications, .init = setup, .fini = teardown, .timeout = 180);

static char *query1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *query1(const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect(const char *want, const char *sql)
{
	char *v = query1("%s", sql);
	cr_assert_str_eq(v, want, "%s: got %s", sql, v);
	free(v);
}

static void exec_sql(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static const char *const tramitador[] = {"tramitador"};

/* Files an expedient for nif and has an employee require a fix at made_ms, which makes the
 * notification available; returns the expedient id and the notification id (malloc'd). */
static void notified(struct eng_store *s, const char *nif, int64_t made_ms, char **exp_id,
                     char **notif_id)
{
	struct eng_arena arena = {0};
	struct eng_error err = {0};
	struct eng_outcome out;
	struct eng_value form[] = {{"assumpte", "Llicència"}};
	struct eng_command create = {
		.entity_id = "demo", .def = def, .applicant_name = "Persona Prova", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = nif},
		          .time_ms = made_ms - 3600000, .form = form, .n_form = 1},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &create, lookup, NULL, &out, &err), 0, "%s", err.msg);
	*exp_id = strdup(out.expedient_id);
	struct eng_command require = {
		.entity_id = "demo", .expedient_id = *exp_id, .expected_version = -1,
		.event = {.action = "require", .time_ms = made_ms,
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "pere", .roles = tramitador,
		                    .n_roles = 1}},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &require, lookup, NULL, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out.to_state, "fixing");
	*notif_id = query1("SELECT id FROM notification WHERE expedient_id = '%s'", *exp_id);
	cr_assert_eq(strlen(*notif_id), 36);
	eng_arena_free(&arena);
}

static struct eng_store *open_store(void)
{
	struct eng_store *s;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	return s;
}

Test(notifications, window_follows_vectors_n1_and_n2)
{
	int64_t reject;
	char last[11];
	eng_notification_window(N1_MADE, &reject, last);
	cr_assert_str_eq(last, "2026-03-12");
	cr_assert_eq(reject, N1_REJECT);
	/* N2: Fri 2026-12-18 12:00 Madrid; 25 December counts, nothing rolls. */
	eng_notification_window(1797591600000LL, &reject, last);
	cr_assert_str_eq(last, "2026-12-28");
	cr_assert_eq(reject, 1798498800000LL); /* 2026-12-29 00:00 Madrid */
	/* Across the change to summer time: 00:00 of 31 March is 22:00 UTC the day before. */
	eng_notification_window(1773997200000LL, &reject, last);
	cr_assert_str_eq(last, "2026-03-30");
	cr_assert_eq(reject, 1774908000000LL);
	/* 23:59:59 Madrid on day 0 still counts from the next day. */
	eng_notification_window(N1_MADE + 14 * 3600000LL - 1000, &reject, last);
	cr_assert_str_eq(last, "2026-03-12");
}

Test(notifications, obliged_parties_are_legal_persons_and_entities)
{
	cr_assert(eng_nif_obliged("B12345674"));
	cr_assert(eng_nif_obliged("A58818501"));
	cr_assert(eng_nif_obliged("G46082111"));
	cr_assert(eng_nif_obliged("H46000000"));
	cr_assert_not(eng_nif_obliged("12345678Z"));
	cr_assert_not(eng_nif_obliged("X1234567L"));
	cr_assert_not(eng_nif_obliged(""));
	cr_assert_not(eng_nif_obliged(NULL));
}

Test(notifications, made_available_with_exact_times_hash_timer_and_notice_channel)
{
	struct eng_store *s = open_store();
	exec_sql("INSERT INTO person (entity_id, nif, name, email, phone, lang, notice_channel) VALUES "
	         "('demo', '12345678Z', 'Maria', 'maria@example.org', '+34600111222', 'es', 'sms')");
	char *exp, *id;
	notified(s, "12345678Z", N1_MADE, &exp, &id);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT state || '|' || to_char(made_available_at AT TIME ZONE "
	         "'Europe/Madrid', 'YYYY-MM-DD HH24:MI:SS') || '|' || to_char(reject_at AT TIME ZONE "
	         "'Europe/Madrid', 'YYYY-MM-DD HH24:MI:SS') || '|' || last_day || '|' || recipient_nif "
	         "|| '|' || recipient_obliged || '|' || template FROM notification WHERE id = '%s'", id);
	expect("made_available|2026-03-02 10:00:00|2026-03-13 00:00:00|2026-03-12|12345678Z|false|requeriment", sql);
	/* The hash is of the exact content stored, which is what the recipient will see. */
	snprintf(sql, sizeof(sql), "SELECT encode(sha256(convert_to(content, 'UTF8')), 'hex') = "
	         "content_sha256 FROM notification WHERE id = '%s'", id);
	expect("t", sql);
	snprintf(sql, sizeof(sql), "SELECT content::json->>'access_until' || '|' || "
	         "(content::json->'sender'->>'name_ca') FROM notification WHERE id = '%s'", id);
	expect("2026-03-12|Ajuntament Demo", sql);
	snprintf(sql, sizeof(sql), "SELECT state || '|' || due_ms FROM timer WHERE name = "
	         "'notification.%s'", id);
	expect("armed|1773356400000", sql);
	/* The event of the act carries the content hash: the hash chain covers it. */
	snprintf(sql, sizeof(sql), "SELECT e.payload::json->'notifications'->0->>'content_sha256' = "
	         "n.content_sha256 FROM event e JOIN notification n ON n.expedient_id = e.expedient_id "
	         "WHERE n.id = '%s' AND e.seq = n.event_seq", id);
	expect("t", sql);
	/* The notice goes to the person's chosen channel, in their language. */
	snprintf(sql, sizeof(sql), "SELECT args::json->>'channel' || '|' || (args::json->>'medium') || '|' "
	         "|| (args::json->>'phone') || '|' || (args::json->>'language') || '|' || "
	         "(args::json->>'email') || '|' || effect_id || '|' || (SELECT string_agg(k, ',' ORDER BY k) "
	         "FROM json_object_keys(args::json) k) FROM outbox WHERE expedient_id = '%s' AND kind = 'notify'", exp);
	expect("binding|sms|+34600111222|es|maria@example.org|notify:requeriment|"
	       "audience,channel,email,language,medium,phone", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

Test(notifications, a_person_without_phone_gets_email_notices_even_if_sms_was_chosen)
{
	struct eng_store *s = open_store();
	exec_sql("INSERT INTO person (entity_id, nif, name, email, lang, notice_channel) VALUES "
	         "('demo', '00000000T', 'Joan', 'joan@example.org', 'ca', 'sms')");
	char *exp, *id;
	notified(s, "00000000T", N1_MADE, &exp, &id);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT args::json->>'channel' || '|' || (args::json->>'medium') || '|' "
	         "|| coalesce(args::json->>'phone', '-') || '|' || (args::json->>'language') "
	         "FROM outbox WHERE expedient_id = '%s' AND kind = 'notify'", exp);
	expect("binding|email|-|ca", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

Test(notifications, company_is_notified_electronically_whatever_it_chose)
{
	struct eng_store *s = open_store();
	/* A company that asked for SMS notices and gave no phone: the notification is still made
	 * available at the e-office, flagged as obliged (art. 14.2). */
	exec_sql("INSERT INTO person (entity_id, nif, name, email, lang, notice_channel) VALUES "
	         "('demo', 'B12345674', 'Empresa SL', 'empresa@example.org', 'ca', 'sms')");
	char *exp, *id;
	notified(s, "B12345674", N1_MADE, &exp, &id);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT state || '|' || recipient_obliged || '|' || "
	         "(content::json->'recipient'->>'obliged') FROM notification WHERE id = '%s'", id);
	expect("made_available|true|true", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

static int open_as(struct eng_store *s, const char *id, const char *nif, int64_t at,
                   struct eng_notification_view *v, bool *first, struct eng_error *err)
{
	static struct eng_arena arena;
	struct eng_notification_access acc = {"demo", id, nif, "demo", at};
	return eng_notification_open(s, &arena, &acc, lookup, NULL, v, first, err);
}

Test(notifications, first_access_records_time_identity_and_evidence_once)
{
	struct eng_store *s = open_store();
	char *exp, *id;
	notified(s, "45678901G", N1_MADE, &exp, &id);
	struct eng_notification_view v;
	struct eng_error err = {0};
	bool first = false;
	/* N3: accessed on Saturday 7 March; that is the notification date. */
	cr_assert_eq(open_as(s, id, "45678901G", N3_ACCESS, &v, &first, &err), 0, "%s", err.msg);
	cr_assert(first);
	cr_assert_str_eq(v.state, "accessed");
	cr_assert_str_eq(v.accessed_at, "2026-03-07T12:30:00+01:00");
	cr_assert_str_eq(v.accessed_by, "45678901G");
	cr_assert_str_eq(v.auth_method, "demo");
	cr_assert_not_null(v.content);
	char sql[640];
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", exp);
	expect("read", sql);
	snprintf(sql, sizeof(sql), "SELECT state FROM timer WHERE name = 'notification.%s'", id);
	expect("cancelled", sql);
	snprintf(sql, sizeof(sql), "SELECT kind || '|' || action || '|' || actor_kind || '|' || actor_id "
	         "|| '|' || (payload::json->>'outcome') || '|' || to_state FROM event WHERE "
	         "expedient_id = '%s' ORDER BY seq DESC LIMIT 1", exp);
	expect("result|notify:requeriment|citizen|45678901G|accessed|read", sql);
	/* The evidence names the content's hash, the times, who and how; its own hash is kept. */
	snprintf(sql, sizeof(sql), "SELECT (evidence::json->>'content_sha256' = content_sha256) || '|' || "
	         "(encode(sha256(convert_to(evidence, 'UTF8')), 'hex') = evidence_sha256) || '|' || "
	         "(evidence::json->>'made_available_at') || '|' || (evidence::json->>'accessed_at') || '|' "
	         "|| (evidence::json->>'auth_method') || '|' || (evidence::json->'sender'->>'entity') "
	         "FROM notification WHERE id = '%s'", id);
	expect("true|true|2026-03-02T10:00:00+01:00|2026-03-07T12:30:00+01:00|demo|demo", sql);
	snprintf(sql, sizeof(sql), "SELECT e.payload::json->'result'->>'content_sha256' = n.content_sha256 "
	         "FROM event e JOIN notification n ON n.expedient_id = e.expedient_id WHERE n.id = '%s' "
	         "ORDER BY e.seq DESC LIMIT 1", id);
	expect("t", sql);
	/* Opening again changes nothing. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM event WHERE expedient_id = '%s'", exp);
	char *before = query1("%s", sql);
	cr_assert_eq(open_as(s, id, "45678901G", N3_ACCESS + 60000, &v, &first, &err), 0, "%s", err.msg);
	cr_assert_not(first);
	cr_assert_str_eq(v.accessed_at, "2026-03-07T12:30:00+01:00");
	expect(before, sql);
	free(before);
	/* The evidence is issued once as a document under a CSV. */
	cr_assert_eq(eng_notification_issue_evidence(s, "demo", id, "AAAA-BBBB-CCCC-DDDD-EEEE-FFF1",
	                                             NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_notification_issue_evidence(s, "demo", id, "AAAA-BBBB-CCCC-DDDD-EEEE-FFF2",
	                                             "<sealed/>", "application/xml", &err), 0, "%s", err.msg);
	snprintf(sql, sizeof(sql), "SELECT count(*) || '|' || min(d.csv) || '|' || bool_and(d.sha256 = "
	         "n.evidence_sha256) FROM document d JOIN notification n ON n.evidence_document_id = d.id "
	         "WHERE n.id = '%s' AND d.kind = 'notification_evidence'", id);
	expect("1|AAAA-BBBB-CCCC-DDDD-EEEE-FFF1|true", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

Test(notifications, someone_else_cannot_open_it_and_nothing_changes)
{
	struct eng_store *s = open_store();
	char *exp, *id;
	notified(s, "99999999R", N1_MADE, &exp, &id);
	struct eng_notification_view v;
	struct eng_error err = {0};
	bool first = true;
	cr_assert_eq(open_as(s, id, "12345678Z", N3_ACCESS, &v, &first, &err), ENG_ENOTFOUND);
	cr_assert_not(first);
	cr_assert_eq(open_as(s, "not-a-uuid", "99999999R", N3_ACCESS, &v, &first, &err), ENG_ENOTFOUND);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT state FROM notification WHERE id = '%s'", id);
	expect("made_available", sql);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM event WHERE expedient_id = '%s'", exp);
	expect("2", sql);
	/* With no person record, the notice is in the language the expedient was filed in. */
	snprintf(sql, sizeof(sql), "SELECT (args::json->>'language') || '|' || (args::json->>'medium') || '|' "
	         "|| coalesce(args::json->>'email', '-') FROM outbox WHERE expedient_id = '%s' AND "
	         "kind = 'notify'", exp);
	expect("ca|email|-", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

Test(notifications, opening_after_the_window_records_the_rejection_instead)
{
	struct eng_store *s = open_store();
	char *exp, *id;
	notified(s, "00000022E", N1_MADE, &exp, &id);
	struct eng_notification_view v;
	struct eng_error err = {0};
	bool first = true;
	cr_assert_eq(open_as(s, id, "00000022E", N1_REJECT, &v, &first, &err), 0, "%s", err.msg);
	cr_assert_not(first);
	cr_assert_str_eq(v.state, "rejected");
	cr_assert_str_eq(v.rejected_at, "2026-03-13T00:00:00+01:00");
	cr_assert_null(v.accessed_at);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", exp);
	expect("deemed", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

Test(notifications, the_scheduler_deems_it_rejected_at_the_window_end)
{
	struct eng_store *s = open_store();
	char *exp, *id;
	/* The window of a notification made available in March ended long ago: the scheduler
	 * fires it at once, with its due time. */
	notified(s, "X1234567L", N1_MADE, &exp, &id);
	struct eng_worker_config cfg = {.conninfo = cluster.conninfo, .name = "test", .schedulers = 1,
	                                .lookup = lookup};
	struct eng_workers *w;
	struct eng_error err = {0};
	cr_assert_eq(eng_workers_start(&w, &cfg, &err), 0, "%s", err.msg);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT state FROM notification WHERE id = '%s'", id);
	for (int i = 0; i < 200; i++) {
		char *st = query1("%s", sql);
		bool done = strcmp(st, "rejected") == 0;
		free(st);
		if (done)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	struct eng_worker_stats stats;
	eng_workers_stats(w, &stats);
	eng_workers_stop(w);
	expect("rejected", sql);
	cr_assert_eq(stats.timers_fired, 1);
	cr_assert_eq(stats.timers_refused, 0);
	snprintf(sql, sizeof(sql), "SELECT to_char(rejected_at AT TIME ZONE 'Europe/Madrid', "
	         "'YYYY-MM-DD HH24:MI:SS') || '|' || (evidence::json->>'outcome') || '|' || "
	         "(evidence::json->>'rejected_at') FROM notification WHERE id = '%s'", id);
	expect("2026-03-13 00:00:00|rejected|2026-03-13T00:00:00+01:00", sql);
	snprintf(sql, sizeof(sql), "SELECT state FROM timer WHERE name = 'notification.%s'", id);
	expect("fired", sql);
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", exp);
	expect("deemed", sql);
	snprintf(sql, sizeof(sql), "SELECT kind || '|' || action || '|' || actor_id || '|' || "
	         "(payload::json->>'outcome') || '|' || round(extract(epoch FROM at) * 1000) FROM event "
	         "WHERE expedient_id = '%s' ORDER BY seq DESC LIMIT 1", exp);
	expect("result|notify:requeriment|timer|rejected|1773356400000", sql);
	/* The recipient comes later: it stays rejected and nothing is appended. */
	struct eng_notification_view v;
	bool first = true;
	cr_assert_eq(open_as(s, id, "X1234567L", N1_REJECT + 86400000, &v, &first, &err), 0, "%s", err.msg);
	cr_assert_not(first);
	cr_assert_str_eq(v.state, "rejected");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM event WHERE expedient_id = '%s'", exp);
	expect("3", sql);
	free(exp);
	free(id);
	eng_store_close(s);
}

/* One side of the race: the recipient opens, or the scheduler fires the claimed timer. */
struct racer {
	pthread_barrier_t *go;
	const char *id, *exp;
	int64_t timer_id;
	bool opener;
	int rc;
	bool first;
	char msg[256];
};

static void *race(void *payload)
{
	struct racer *r = payload;
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_arena arena = {0};
	if (eng_store_open(&s, cluster.conninfo, &err) != 0) {
		r->rc = err.code;
		return NULL;
	}
	pthread_barrier_wait(r->go);
	if (r->opener) {
		struct eng_notification_view v;
		struct eng_notification_access acc = {"demo", r->id, "12345678Z", "demo", N3_ACCESS};
		r->rc = eng_notification_open(s, &arena, &acc, lookup, NULL, &v, &r->first, &err);
	} else {
		const char *timer = eng_arena_printf(&arena, "notification.%s", r->id);
		struct eng_command cmd = {
			.entity_id = "demo", .expedient_id = r->exp, .expected_version = -1,
			.timer_id = r->timer_id,
			.event = {.kind = ENG_EVENT_TIMER, .timer = timer, .time_ms = N1_REJECT,
			          .actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "timer"}},
		};
		r->rc = eng_notification_expire(s, &arena, &cmd, lookup, NULL, &err);
	}
	snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
	eng_arena_free(&arena);
	eng_store_close(s);
	return NULL;
}

Test(notifications, access_racing_the_timer_has_exactly_one_outcome)
{
	struct eng_store *s = open_store();
	int accessed = 0, rejected = 0;
	for (int round = 0; round < 12; round++) {
		char *exp, *id;
		notified(s, "12345678Z", N1_MADE, &exp, &id);
		/* The scheduler has claimed the timer, as it would at 00:00 of day 11. */
		char *timer = query1("UPDATE timer SET state = 'claimed', claimed_by = 'test', claimed_at = "
		                     "now() WHERE name = 'notification.%s' RETURNING id", id);
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, 2);
		struct racer a = {&go, id, exp, 0, true, 0, false, ""};
		struct racer b = {&go, id, exp, atoll(timer), false, 0, false, ""};
		pthread_t ta, tb;
		/* Both wait at the barrier, so which one wins is the scheduler's choice: every round
		 * must end with exactly one outcome, whichever it is. Each order on its own is tested
		 * above (access before expiry; expiry, then a late open). */
		pthread_create(&ta, NULL, race, &a);
		pthread_create(&tb, NULL, race, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		cr_assert_eq(a.rc, 0, "open: %s", a.msg);
		/* Exactly one wins; the loser changed nothing. */
		cr_assert(a.first != (b.rc == 0), "round %d: open first=%d, timer rc=%d (%s)", round,
		          a.first, b.rc, b.msg);
		char sql[512];
		snprintf(sql, sizeof(sql), "SELECT n.state || '|' || x.state || '|' || t.state || '|' || "
		         "(SELECT count(*) FROM event e WHERE e.expedient_id = x.id AND e.kind = 'result') "
		         "FROM notification n JOIN expedient x ON x.id = n.expedient_id JOIN timer t ON "
		         "t.expedient_id = x.id AND t.name = 'notification.' || n.id WHERE n.id = '%s'", id);
		if (a.first) {
			accessed++;
			cr_assert_eq(b.rc, ENG_ECONFLICT, "%s", b.msg);
			expect("accessed|read|cancelled|1", sql);
		} else {
			rejected++;
			expect("rejected|deemed|fired|1", sql);
		}
		free(timer);
		free(exp);
		free(id);
	}
	cr_log_info("race: the access won %d rounds, the timer %d", accessed, rejected);
	eng_store_close(s);
}

Test(notifications, hash_chains_verify_and_logs_replay_after_access_and_rejection)
{
	struct eng_store *s = open_store();
	char *exp1, *id1, *exp2, *id2;
	notified(s, "45678901G", N1_MADE, &exp1, &id1);
	notified(s, "00000000T", N1_MADE, &exp2, &id2);
	struct eng_notification_view v;
	struct eng_error err = {0};
	bool first;
	cr_assert_eq(open_as(s, id1, "45678901G", N3_ACCESS, &v, &first, &err), 0, "%s", err.msg);
	cr_assert_eq(open_as(s, id2, "00000000T", N1_REJECT + 1000, &v, &first, &err), 0, "%s", err.msg);
	struct eng_audit_report rep = {0};
	cr_assert_eq(eng_audit_verify(s, stderr, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(rep.broken, 0);
	cr_assert_eq(rep.expedients, 2);
	cr_assert_eq(rep.events, 6);
	/* Each log replays to the stored expedient, the notification results included. */
	const char *ids[] = {exp1, exp2};
	for (int i = 0; i < 2; i++) {
		char why[300] = "";
		int64_t n = 0;
		cr_assert_eq(eng_replay_expedient(s, ids[i], lookup, NULL, NULL, why, sizeof(why), &n, &err),
		             0, "%s %s", why, err.msg);
		cr_assert_eq(n, 3);
	}
	free(exp1);
	free(id1);
	free(exp2);
	free(id2);
	eng_store_close(s);
}

Test(notifications, notice_preferences_are_validated_before_anything_changes)
{
	struct eng_store *s = open_store();
	struct eng_error err = {0};
	struct eng_arena arena = {0};
	exec_sql("INSERT INTO person (entity_id, nif, name) VALUES ('demo', '12345678Z', 'Maria')");
	cr_assert_eq(eng_notice_prefs_set(s, "demo", "12345678Z", "sms", "", &err), ENG_EINVALID);
	cr_assert_str_eq(err.msg, "phone: SMS notices need a phone number");
	cr_assert_eq(eng_notice_prefs_set(s, "demo", "12345678Z", "sms", "12ab", &err), ENG_EINVALID);
	cr_assert_eq(eng_notice_prefs_set(s, "demo", "12345678Z", "fax", "", &err), ENG_EINVALID);
	cr_assert_str_eq(err.msg, "channel: expected email or sms, found 'fax'");
	expect("email|", "SELECT notice_channel || '|' || coalesce(phone, '') FROM person WHERE nif = '12345678Z'");
	cr_assert_eq(eng_notice_prefs_set(s, "demo", "12345678Z", "sms", "+34600111222", &err), 0, "%s", err.msg);
	struct eng_notice_prefs p;
	cr_assert_eq(eng_notice_prefs_get(s, &arena, "demo", "12345678Z", &p, &err), 0, "%s", err.msg);
	cr_assert_str_eq(p.channel, "sms");
	cr_assert_str_eq(p.phone, "+34600111222");
	cr_assert_eq(eng_notice_prefs_set(s, "demo", "00000000T", "email", "", &err), ENG_ENOTFOUND);
	eng_arena_free(&arena);
	eng_store_close(s);
}
