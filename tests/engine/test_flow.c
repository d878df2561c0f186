/* The step function's flow constructs, on hand-built definitions (no Lua): deadlines armed
 * and resolved by timers, suspension of the resolution clock, extensions, connector results,
 * fees, requirements, and the recording contract for designer functions: a replay with the
 * recorded values gives the same expedient without calling the host. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/core/calendar.h"
#include "engine/core/step.h"

static struct eng_arena arena;
static struct eng_calendar *cal;
static struct eng_definition def;
static int host_calls;

/* 2026-03-13 09:00 Madrid (UTC+1). */
static const int64_t MAR13 = 1773388800000;

static int fake_host(struct eng_fn_record *out, struct eng_arena *a, const struct eng_fn_call *call,
                     struct eng_error *err, void *payload)
{
	(void)a, (void)err, (void)payload;
	host_calls++;
	memset(out, 0, sizeof(*out));
	out->fn = call->fn;
	if (call->def->fns[call->fn - 1].kind == ENG_FN_FEE) {
		const char *m2 = eng_values_get(call->data, call->n_data, "m2");
		out->amount = m2 ? 100 * strtoll(m2, NULL, 10) : 0;
	} else {
		out->ok = call->time_ms < MAR13 + 86400000; /* a guard that says no after a day */
		out->message = (struct eng_text){ "massa tard", "demasiado tarde" };
	}
	return 0;
}

static struct eng_host host = { fake_host, NULL };

static void setup(void)
{
	static const char holidays[] = "2026-01-01 national a | a\n2026-03-19 regional b | b\n"
	                               "2026-04-03 national c | c\n2026-04-06 regional d | d\n";
	struct eng_error err;
	cr_assert_eq(eng_calendar_new(&cal, &err), 0);
	cr_assert_eq(eng_calendar_parse(cal, holidays, &err), 0, "%s", err.msg);
	static struct eng_field fields[] = {
		{ .name = "m2", .type = ENG_FIELD_NUMBER, .label = { "m2", "m2" }, .section = "s", .required = true },
	};
	static struct eng_fn fns[] = { { ENG_FN_FEE, "taxa", 10 }, { ENG_FN_GUARD, "report", 20 } };
	static struct eng_fee fees[] = { { .name = "taxa", .label = { "Taxa", "Tasa" }, .kind = ENG_FEE_FORMULA, .fn = 1 } };
	static struct eng_deadline fix_deadline = { .period = { ENG_UNIT_BUSINESS_DAYS, 10 },
		                                        .on_expiry = "withdrawn" };
	static const char *const paid[] = { "taxa" };
	static struct eng_action draft_actions[] = {
		{ .name = "submit", .by = ENG_BY_APPLICANT, .to = "submitted", .fees = paid, .n_fees = 1,
		  .pay = "taxa", .flags = ENG_ACTION_FORM | ENG_ACTION_REGISTER_IN },
	};
	static struct eng_action submitted_actions[] = {
		{ .name = "request_fix", .by = ENG_BY_ROLE, .role = "tecnic", .to = "fixing" },
		{ .name = "report", .by = ENG_BY_ROLE, .role = "tecnic", .to = "done", .guard_fn = 2,
		  .requires_paid = paid, .n_requires_paid = 1 },
	};
	static struct eng_action fixing_actions[] = {
		{ .name = "fix", .by = ENG_BY_APPLICANT, .to = "submitted" },
		{ .name = "extend", .by = ENG_BY_ROLE, .role = "tecnic", .to = "fixing", .extend = true },
	};
	static struct eng_state states[] = {
		{ .name = "draft", .initial = true, .actions = draft_actions, .n_actions = 1 },
		{ .name = "submitted", .actions = submitted_actions, .n_actions = 2 },
		{ .name = "fixing", .actions = fixing_actions, .n_actions = 2, .deadline = &fix_deadline,
		  .suspends_resolution = true },
		{ .name = "done", .final = true },
		{ .name = "withdrawn", .final = true },
		{ .name = "dismissed", .final = true },
	};
	def = (struct eng_definition){
		.code = "TST-002", .fields = fields, .n_fields = 1, .states = states, .n_states = 6,
		.fns = fns, .n_fns = 2, .fees = fees, .n_fees = 1, .host = &host,
		.resolve_within = { ENG_UNIT_MONTHS, 3 }, .on_silence = "dismissed",
	};
	host_calls = 0;
}

static void teardown(void)
{
	eng_calendar_free(cal);
	eng_arena_free(&arena);
}

TestSuite(flow, .init = setup, .fini = teardown);

#define CITIZEN ((struct eng_actor){ .kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z" })
static const char *const tecnic[] = { "tecnic" };
#define TECNIC ((struct eng_actor){ .kind = ENG_PRINCIPAL_EMPLOYEE, .id = "t", .roles = tecnic, .n_roles = 1 })

static const struct eng_value form[] = { { "m2", "12" } };

/* Applies ev to *exp and, on success, moves *exp forward. */
static int apply(struct eng_expedient *exp, struct eng_event ev, struct eng_step_result *r)
{
	ev.calendar = cal;
	int rc = eng_expedient_step(r, &arena, &def, exp, &ev);
	if (rc == 0) {
		*exp = (struct eng_expedient){ .state = r->to_state, .version = r->version,
			                           .applicant_id = "12345678Z", .data = r->data,
			                           .n_data = r->n_data, .vars = r->vars, .n_vars = r->n_vars };
	}
	return rc;
}

static const char *var(const struct eng_step_result *r, const char *name)
{
	return eng_values_get(r->vars, r->n_vars, name);
}

static bool has_effect(const struct eng_step_result *r, const char *id)
{
	for (size_t i = 0; i < r->n_effects; i++)
		if (strcmp(r->effects[i].id, id) == 0)
			return true;
	return false;
}

Test(flow, submit_computes_the_fee_through_the_host_and_records_it_with_its_inputs)
{
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "submit", .actor = CITIZEN, .form = form,
	                                             .n_form = 1, .time_ms = MAR13 - 86400000 }, &r), 0, "%s", r.msg);
	cr_expect_str_eq(var(&r, "fee.taxa"), "1200");
	cr_assert_eq(r.n_records, 1);
	cr_expect_eq(r.records[0].fn, 1);
	cr_expect_eq(r.records[0].amount, 1200);
	cr_expect(has_effect(&r, "payment:taxa"));
	cr_expect(has_effect(&r, "timer_set:resolution"));
	cr_expect_str_eq(var(&r, "last_day.resolution"), "2026-06-12");
	cr_expect_eq(host_calls, 1);
}

Test(flow, replay_uses_the_recorded_values_and_never_calls_the_host)
{
	struct eng_expedient exp = { 0 };
	struct eng_step_result first, again;
	struct eng_event ev = { .action = "submit", .actor = CITIZEN, .form = form, .n_form = 1,
		                    .time_ms = MAR13, .calendar = cal };
	cr_assert_eq(eng_expedient_step(&first, &arena, &def, &exp, &ev), 0);
	host_calls = 0;
	def.host = NULL; /* a replay must not need the host at all */
	struct eng_fn_record changed = first.records[0];
	ev.replay = true;
	ev.recorded = first.records;
	ev.n_recorded = first.n_records;
	cr_assert_eq(eng_expedient_step(&again, &arena, &def, &exp, &ev), 0, "%s", again.msg);
	cr_expect_eq(host_calls, 0);
	cr_expect_str_eq(again.to_state, first.to_state);
	cr_assert_eq(again.n_vars, first.n_vars);
	for (size_t i = 0; i < first.n_vars; i++) {
		cr_expect_str_eq(again.vars[i].name, first.vars[i].name);
		cr_expect_str_eq(again.vars[i].value, first.vars[i].value);
	}
	/* The recorded value wins over what the function would compute today. */
	changed.amount = 999;
	ev.recorded = &changed;
	cr_assert_eq(eng_expedient_step(&again, &arena, &def, &exp, &ev), 0);
	cr_expect_str_eq(var(&again, "fee.taxa"), "999");
	/* A recording that does not match the calls is refused, not guessed at. */
	ev.n_recorded = 0;
	cr_expect_eq(eng_expedient_step(&again, &arena, &def, &exp, &ev), ENG_EINVALID);
	cr_expect_eq(again.refusal, ENG_REFUSED_REPLAY);
}

Test(flow, table_of_deadline_transitions)
{
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "submit", .actor = CITIZEN, .form = form,
	                                             .n_form = 1, .time_ms = MAR13 - 86400000 }, &r), 0);
	/* Entering fixing arms its deadline (D2: 13 Mar + 10 b.d. = 30 Mar) and pauses the
	 * resolution clock. */
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "request_fix", .actor = TECNIC, .time_ms = MAR13 }, &r), 0);
	cr_expect_str_eq(var(&r, "last_day.fixing"), "2026-03-30");
	cr_expect(has_effect(&r, "timer_set:deadline.fixing"));
	cr_expect(has_effect(&r, "timer_cancel:resolution"));
	cr_expect_not_null(var(&r, "paused.resolution"));
	cr_expect_null(var(&r, "due.resolution"));
	struct eng_expedient in_fixing = exp;

	/* A stale timer is refused; the real one moves to on_expiry. */
	struct eng_event stale = { .kind = ENG_EVENT_TIMER, .timer = "deadline.submitted",
		                       .actor = { .kind = ENG_PRINCIPAL_SYSTEM }, .time_ms = MAR13 };
	cr_expect_eq(apply(&exp, stale, &r), ENG_ECONFLICT);
	cr_expect_eq(r.refusal, ENG_REFUSED_NOT_AVAILABLE);
	int64_t due = strtoll(var(&(struct eng_step_result){ .vars = (struct eng_value *)in_fixing.vars,
	                                                      .n_vars = in_fixing.n_vars }, "due.fixing"), NULL, 10);
	cr_assert_eq(apply(&exp, (struct eng_event){ .kind = ENG_EVENT_TIMER, .timer = "deadline.fixing",
	                                             .actor = { .kind = ENG_PRINCIPAL_SYSTEM }, .time_ms = due }, &r), 0);
	cr_expect_str_eq(r.to_state, "withdrawn");
	cr_expect(has_effect(&r, "timer_cancel:deadline.fixing"));

	/* After the deadline the applicant's fix is refused: deadline passed. */
	exp = in_fixing;
	cr_expect_eq(apply(&exp, (struct eng_event){ .action = "fix", .actor = CITIZEN, .time_ms = due + 1000 }, &r),
	             ENG_ECONFLICT);
	cr_expect_eq(r.refusal, ENG_REFUSED_DEADLINE_PASSED);
	cr_expect_str_eq(r.msg, "the deadline of state 'fixing' ended on 2026-03-30");

	/* Extension (art. 32): half the period more, once, before it ends (+5: 8 Apr). */
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "extend", .actor = TECNIC, .time_ms = MAR13 + 86400000 }, &r), 0, "%s", r.msg);
	cr_expect_str_eq(var(&r, "last_day.fixing"), "2026-04-08");
	cr_expect_eq(apply(&exp, (struct eng_event){ .action = "extend", .actor = TECNIC, .time_ms = MAR13 + 86400000 }, &r),
	             ENG_ECONFLICT);

	/* Fixing in time resumes the resolution clock with the time that was left. */
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "fix", .actor = CITIZEN, .time_ms = MAR13 + 2 * 86400000 }, &r), 0);
	cr_expect(has_effect(&r, "timer_set:resolution"));
	cr_expect_not_null(var(&r, "due.resolution"));
	cr_expect_str_eq(var(&r, "suspended_ms"), "172800000");
}

Test(flow, requirements_and_guards_refuse_with_their_reason)
{
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "submit", .actor = CITIZEN, .form = form,
	                                             .n_form = 1, .time_ms = MAR13 }, &r), 0);
	cr_expect_eq(apply(&exp, (struct eng_event){ .action = "report", .actor = TECNIC, .time_ms = MAR13 }, &r),
	             ENG_ECONFLICT);
	cr_expect_eq(r.refusal, ENG_REFUSED_REQUIREMENT);
	cr_expect_str_eq(r.reason.ca, "Cal pagar «Taxa» abans.");
	cr_assert_eq(apply(&exp, (struct eng_event){ .kind = ENG_EVENT_RESULT, .effect_id = "payment:taxa",
	                                             .outcome = "paid", .actor = { .kind = ENG_PRINCIPAL_SYSTEM },
	                                             .time_ms = MAR13 }, &r), 0);
	cr_expect_str_eq(var(&r, "paid.taxa"), "yes");
	cr_expect_eq(apply(&exp, (struct eng_event){ .action = "report", .actor = TECNIC, .time_ms = MAR13 + 2 * 86400000 }, &r),
	             ENG_ECONFLICT);
	cr_expect_eq(r.refusal, ENG_REFUSED_GUARD);
	cr_expect_str_eq(r.reason.es, "demasiado tarde");
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "report", .actor = TECNIC, .time_ms = MAR13 }, &r), 0);
	cr_expect_str_eq(r.to_state, "done");
	cr_expect(has_effect(&r, "timer_cancel:resolution"), "a final state disarms the resolution clock");
}

Test(flow, silence_moves_to_on_silence_and_business_days_need_a_calendar)
{
	struct eng_expedient exp = { 0 };
	struct eng_step_result r;
	cr_assert_eq(apply(&exp, (struct eng_event){ .action = "submit", .actor = CITIZEN, .form = form,
	                                             .n_form = 1, .time_ms = MAR13 }, &r), 0);
	cr_assert_eq(apply(&exp, (struct eng_event){ .kind = ENG_EVENT_TIMER, .timer = "resolution",
	                                             .actor = { .kind = ENG_PRINCIPAL_SYSTEM }, .time_ms = MAR13 }, &r), 0);
	cr_expect_str_eq(r.to_state, "dismissed");
	struct eng_expedient submitted = { .state = "submitted", .version = 1, .applicant_id = "12345678Z" };
	struct eng_event ev = { .action = "request_fix", .actor = TECNIC, .time_ms = MAR13 };
	cr_expect_eq(eng_expedient_step(&r, &arena, &def, &submitted, &ev), ENG_EUNAVAILABLE);
	cr_expect_eq(r.refusal, ENG_REFUSED_ENVIRONMENT);
	cr_expect_str_eq(r.msg, "the deadline of state 'fixing' counts business_days, but the event carries no calendar");
}

Test(flow, representatives_act_only_where_the_tramit_admits_them)
{
	struct eng_expedient exp = { .state = "fixing", .version = 2, .applicant_id = "12345678Z" };
	struct eng_actor rep = { .kind = ENG_PRINCIPAL_CITIZEN, .id = "00000000T", .represents = "12345678Z" };
	struct eng_step_result r;
	struct eng_event ev = { .action = "fix", .actor = rep, .time_ms = MAR13, .calendar = cal };
	cr_expect_eq(eng_expedient_step(&r, &arena, &def, &exp, &ev), ENG_EDENIED);
	def.applicants = ENG_APPLICANT_PERSON | ENG_APPLICANT_REPRESENTATIVE;
	cr_expect_eq(eng_expedient_step(&r, &arena, &def, &exp, &ev), 0, "%s", r.msg);
}
