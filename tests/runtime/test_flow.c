/* A licence with a fee, a subsanación deadline and a payment (VIA-001) run through the real
 * store and workers: effects land in the outbox with their engine names, the deadline becomes
 * a timer row, a payment connector's "paid" comes back as an event that unlocks the report,
 * and a deadline that came due while no server ran fires with its due time and withdraws. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsl/dsl.h"
#include "engine/core/calendar.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/replay.h"
#include "engine/runtime/worker.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static struct eng_calendar *cal;
static PGconn *conn;

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	struct dsl_diags diags = {0};
	cr_assert_eq(dsl_compile_file(&def, TRAMIT_SOURCE_DIR "/tramits/via-publica/terrassa.lua", NULL, &diags), 0);
	dsl_diags_free(&diags);
	cr_assert_eq(eng_calendar_new(&cal, &err), 0);
	for (int y = 2026; y <= 2027; y++) {
		char path[512], text[8192];
		snprintf(path, sizeof(path), TRAMIT_SOURCE_DIR "/tramits/calendars/es-vc-%d.txt", y);
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f);
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		cr_assert_eq(eng_calendar_parse(cal, text, &err), 0, "%s", err.msg);
	}
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Demo", "Demo", true, &err), 0);
	cr_assert_eq(eng_store_put_definition(s, def, "--", &err), 0);
	eng_store_close(s);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	eng_calendar_free(cal);
	pgtmp_stop(&cluster);
}

TestSuite(flow, .init = setup, .fini = teardown, .timeout = 120);

static const char *const tecnic[] = {"tecnic"};

static int act(struct eng_store *s, const char *id, const char *action, struct eng_actor actor,
               int64_t at, const struct eng_value *form, size_t n_form, struct eng_outcome *out,
               struct eng_error *err)
{
	/* The outcome points into this arena (refusal reasons): it lives until teardown. */
	static struct eng_arena arena;
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .def = def, .applicant_name = "Bar Demo",
		.lang = "ca", .expected_version = -1,
		.event = {.action = action, .actor = actor, .time_ms = at, .form = form, .n_form = n_form,
		          .csv = "FLOW-CSV"},
	};
	return eng_store_apply(s, &arena, &cmd, lookup, NULL, out, err);
}

/* A payment gateway that answers "paid". */
static void pay(const struct eng_outbox_item *it, struct eng_delivery *out, void *payload)
{
	out->status = ENG_DELIVERY_DONE;
	snprintf(out->outcome, sizeof(out->outcome), "%s", strcmp(it->kind, "payment") == 0 ? "paid" : "sent");
	snprintf(out->result_json, sizeof(out->result_json), "{\"order\":\"0001ABC\"}");
}

static void wait_for(const char *sql, const char *want)
{
	for (int i = 0; i < 200; i++) {
		char *v = query1(sql);
		bool ok = strcmp(v, want) == 0;
		free(v);
		if (ok)
			return;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	char *v = query1(sql);
	cr_assert_str_eq(v, want, "%s", sql);
	free(v);
}

Test(flow, fee_payment_deadline_and_withdrawal_through_store_and_workers)
{
	struct eng_store *s;
	struct eng_error err = {0};
	struct eng_outcome out;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	eng_store_set_calendar(s, cal);
	/* Filed on Thursday 12 March 2026, 10:00 Madrid (09:00 UTC). */
	const int64_t filed = 1773306000000;
	struct eng_value form[] = {{"establiment", "Bar Demo"}, {"adreca", "Plaça Major 3, 46001 València"},
	                           {"m2", "12"}, {"temporada", "anual"}};
	struct eng_actor citizen = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"};
	cr_assert_eq(act(s, NULL, "submit", citizen, filed, form, 4, &out, &err), 0, "%s", err.msg);
	char id[40];
	snprintf(id, sizeof(id), "%s", out.expedient_id);
	cr_expect_eq(out.n_outbox, 1, "the payment order goes to the outbox");
	char sql[400];
	snprintf(sql, sizeof(sql), "SELECT kind || ' ' || effect_id || ' ' || args::text FROM outbox WHERE expedient_id = '%s'", id);
	char *row = query1(sql);
	cr_expect_str_eq(row, "payment payment:taxa {\"amount_cents\":\"18000\"}", "12 m² x 15.00 EUR");
	free(row);
	snprintf(sql, sizeof(sql), "SELECT vars->>'fee.taxa' FROM expedient WHERE id = '%s'", id);
	char *fee = query1(sql);
	cr_expect_str_eq(fee, "18000");
	free(fee);

	/* The report needs the fee paid: refused until the gateway says so. */
	struct eng_actor tech = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "tec1", .roles = tecnic, .n_roles = 1};
	cr_expect_eq(act(s, id, "report", tech, filed + 3600000, NULL, 0, &out, &err), ENG_ECONFLICT);
	cr_expect_eq(out.step.refusal, ENG_REFUSED_REQUIREMENT);
	cr_expect_str_eq(out.step.reason.ca, "Cal pagar «Taxa d'ocupació de la via pública» abans.");

	struct eng_worker_config cfg = {
		.conninfo = cluster.conninfo, .name = "flow", .dispatchers = 1, .schedulers = 0,
		.batch = 8, .max_attempts = 3, .lease_ms = 5000, .backoff_base_ms = 10, .backoff_max_ms = 100,
		.deliver = pay, .lookup = lookup, .calendar = cal,
	};
	struct eng_workers *w;
	cr_assert_eq(eng_workers_start(&w, &cfg, &err), 0, "%s", err.msg);
	snprintf(sql, sizeof(sql), "SELECT vars->>'paid.taxa' FROM expedient WHERE id = '%s'", id);
	wait_for(sql, "yes");
	snprintf(sql, sizeof(sql), "SELECT payload->>'outcome' FROM event WHERE expedient_id = '%s' AND kind = 'result'", id);
	wait_for(sql, "paid");
	eng_workers_stop(w);

	/* Now the technician asks for a fix instead: a 10 business-day deadline is armed, and
	 * the binding notice carries the applicant's address and language as their record says
	 * at the time of the act. */
	PQclear(PQexec(conn, "INSERT INTO person (entity_id, nif, name, email, lang, demo) VALUES "
	                     "('demo', '12345678Z', 'Maria', 'maria@example.org', 'es', true)"));
	cr_assert_eq(act(s, id, "request_fix", tech, filed + 7200000, NULL, 0, &out, &err), 0, "%s", err.msg);
	cr_expect_str_eq(out.to_state, "fixing");
	snprintf(sql, sizeof(sql), "SELECT args::text FROM outbox WHERE expedient_id = '%s' AND kind = 'notify'", id);
	char *notice = query1(sql);
	cr_expect_str_eq(notice, "{\"audience\":\"applicant\",\"channel\":\"binding\","
	                         "\"email\":\"maria@example.org\",\"language\":\"es\",\"medium\":\"email\"}");
	free(notice);
	snprintf(sql, sizeof(sql), "SELECT to_char(due_at AT TIME ZONE 'Europe/Madrid', 'YYYY-MM-DD') FROM timer "
	         "WHERE expedient_id = '%s' AND name = 'deadline.fixing' AND state = 'armed'", id);
	char *due = query1(sql);
	/* Thursday 12 March + 10 business days, skipping 19 March (Sant Josep): Friday 27 March,
	 * so the period ends when that day ends. */
	cr_expect_str_eq(due, "2026-03-28");
	free(due);
	/* That date is long past (as if no server had run since): a scheduler fires it as soon as
	 * it starts, with its due time. */
	cfg.dispatchers = 0;
	cfg.schedulers = 1;
	cr_assert_eq(eng_workers_start(&w, &cfg, &err), 0, "%s", err.msg);
	snprintf(sql, sizeof(sql), "SELECT state FROM expedient WHERE id = '%s'", id);
	wait_for(sql, "withdrawn");
	snprintf(sql, sizeof(sql), "SELECT to_char(e.at, 'YYYY-MM-DD HH24:MI') = to_char(t.due_at, 'YYYY-MM-DD HH24:MI') "
	         "FROM event e JOIN timer t ON t.expedient_id = e.expedient_id AND t.name = e.action "
	         "WHERE e.expedient_id = '%s' AND e.kind = 'timer' AND e.to_state = 'withdrawn'", id);
	char *same = query1(sql);
	cr_expect_str_eq(same, "t", "the expiry event carries the due time, not the time it fired");
	free(same);
	eng_workers_stop(w);
	/* The whole history replays, with the designer functions' recorded results, to the
	 * stored expedient. */
	char why[300] = "";
	int64_t n = 0;
	cr_expect_eq(eng_replay_expedient(s, id, lookup, NULL, cal, why, sizeof(why), &n, &err), 0,
	             "%s %s", why, err.msg);
	snprintf(sql, sizeof(sql), "SELECT string_agg(kind || ':' || coalesce(action, ''), ' ' ORDER BY seq) "
	         "FROM event WHERE expedient_id = '%s'", id);
	char *events = query1(sql);
	/* In the order of their due times: the requirement, a binding notification nobody opened,
	 * is deemed rejected ten natural days after it was made available (23 March); the
	 * pre-alert (25 March) and the expiry (28 March) follow. */
	cr_expect_str_eq(events, "action:submit result:payment:taxa action:request_fix "
	                         "result:notify:requeriment timer:alert.fixing timer:deadline.fixing");
	free(events);
	cr_expect_eq(n, 6, "%lld events replayed", (long long)n);
	eng_store_close(s);
}
