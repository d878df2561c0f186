/* The pure step function. Given a definition, an expedient and an event (which carries the
 * time, the actor, the form, the calendar and any random values), it computes the next state,
 * data, bookkeeping and effects, or refuses with the precise reason. It performs no I/O and
 * reads no clock; designer functions run through the definition's host and their results are
 * recorded, so replaying a stored event log reproduces the expedient exactly. */
#include "step.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "form.h"

enum { MAX_VARS = 256 };

/* One step's working state: what the result will hold, built up as the step goes. */
struct eng__step {
	struct eng_step_result *out;
	struct eng_arena *arena;
	const struct eng_definition *def;
	const struct eng_expedient *exp;
	const struct eng_event *ev;
	const struct eng_state *st; /* the state the expedient is in */
	struct eng_value *vars;
	size_t n_vars;
	size_t n_records_cap;
	size_t replay_pos;
};

static int refusef(struct eng__step *s, int code, enum eng_refusal why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refusef(struct eng__step *s, int code, enum eng_refusal why, const char *fmt, ...)
{
	va_list ap;
	s->out->code = code;
	s->out->refusal = why;
	va_start(ap, fmt);
	vsnprintf(s->out->msg, sizeof(s->out->msg), fmt, ap);
	va_end(ap);
	s->out->n_effects = 0;
	return code;
}

const char *eng_effect_kind_name(enum eng_effect_kind kind)
{
	static const char *const names[] = {
		[ENG_EFFECT_REGISTER_IN] = "register_in", [ENG_EFFECT_RECEIPT] = "receipt",
		[ENG_EFFECT_REGISTER_OUT] = "register_out", [ENG_EFFECT_DOCUMENT] = "document",
		[ENG_EFFECT_NOTIFY] = "notify", [ENG_EFFECT_SIGN_REQUEST] = "sign_request",
		[ENG_EFFECT_PAYMENT] = "payment", [ENG_EFFECT_BACKOFFICE] = "backoffice",
		[ENG_EFFECT_TIMER_SET] = "timer_set", [ENG_EFFECT_TIMER_CANCEL] = "timer_cancel",
	};
	return names[kind];
}

static bool acts_for_applicant(const struct eng_expedient *exp, const struct eng_actor *actor)
{
	return actor->represents && exp->applicant_id &&
	       strcmp(actor->represents, exp->applicant_id) == 0;
}

bool eng_actor_may(const struct eng_action *action, const struct eng_expedient *exp,
                   const struct eng_actor *actor)
{
	switch (action->by) {
	case ENG_BY_APPLICANT:
		if (actor->kind == ENG_PRINCIPAL_EMPLOYEE)
			return acts_for_applicant(exp, actor);
		return actor->kind == ENG_PRINCIPAL_CITIZEN && actor->id &&
		       (!exp->applicant_id || strcmp(actor->id, exp->applicant_id) == 0 ||
		        acts_for_applicant(exp, actor));
	case ENG_BY_REPRESENTATIVE:
		return actor->kind == ENG_PRINCIPAL_CITIZEN && acts_for_applicant(exp, actor);
	case ENG_BY_ROLE:
		if (actor->kind != ENG_PRINCIPAL_EMPLOYEE)
			return false;
		/* A role held in a unit is listed as "role@unit"; a plain "role" counts in the actor's
		 * unit only (or anywhere when the action names no unit). */
		for (size_t i = 0; i < actor->n_roles; i++) {
			const char *r = actor->roles[i], *at = strchr(r, '@');
			size_t rl = at ? (size_t)(at - r) : strlen(r);
			if (rl != strlen(action->role) || strncmp(r, action->role, rl) != 0)
				continue;
			const char *unit = at ? at + 1 : actor->unit;
			if (!action->unit || (unit && strcmp(unit, action->unit) == 0))
				return true;
		}
		return false;
	case ENG_BY_SYSTEM:
		return actor->kind == ENG_PRINCIPAL_SYSTEM;
	}
	return false;
}

/* --- bookkeeping (vars) --- */

static const char *var_get(const struct eng__step *s, const char *name)
{
	return eng_values_get(s->vars, s->n_vars, name);
}

static void var_set(struct eng__step *s, const char *name, const char *value)
{
	for (size_t i = 0; i < s->n_vars; i++) {
		if (strcmp(s->vars[i].name, name) == 0) {
			s->vars[i].value = eng_arena_strdup(s->arena, value);
			return;
		}
	}
	assert(s->n_vars < MAX_VARS);
	s->vars[s->n_vars].name = eng_arena_strdup(s->arena, name);
	s->vars[s->n_vars].value = eng_arena_strdup(s->arena, value);
	s->n_vars++;
}

static void var_setf(struct eng__step *s, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void var_setf(struct eng__step *s, const char *name, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	var_set(s, name, buf);
}

static void var_del(struct eng__step *s, const char *name)
{
	for (size_t i = 0; i < s->n_vars; i++) {
		if (strcmp(s->vars[i].name, name) == 0) {
			memmove(&s->vars[i], &s->vars[i + 1], (s->n_vars - i - 1) * sizeof(s->vars[0]));
			s->n_vars--;
			return;
		}
	}
}

static bool var_int(const struct eng__step *s, const char *name, int64_t *out)
{
	const char *v = var_get(s, name);
	char *end;
	if (!v || !*v)
		return false;
	*out = strtoll(v, &end, 10);
	return *end == '\0';
}

/* --- effects --- */

static struct eng_effect *emit(struct eng__step *s, enum eng_effect_kind kind, const char *target)
{
	/* An action lists a handful of effects; the bound is a compile-time check in dsl/. */
	assert(s->out->n_effects < ENG_STEP_MAX_EFFECTS);
	struct eng_effect *e = &s->out->effects[s->out->n_effects++];
	*e = (struct eng_effect){ .kind = kind, .target = target };
	e->id = eng_arena_printf(s->arena, "%s:%s", eng_effect_kind_name(kind), target ? target : "");
	return e;
}

/* Sets n name/value pairs as the effect's args. */
static void effect_args(struct eng__step *s, struct eng_effect *e, size_t n, ...)
{
	struct eng_value *args = eng_arena_alloc(s->arena, n * sizeof(*args));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		args[i].name = va_arg(ap, const char *);
		args[i].value = eng_arena_strdup(s->arena, va_arg(ap, const char *));
	}
	va_end(ap);
	e->args = args;
	e->n_args = n;
}

/* --- designer functions --- */

/* Runs function `fn` (or takes its recorded result) and appends the record to the result. */
static int step_fn(struct eng__step *s, struct eng_fn_record **out, int fn, const struct eng_value *data,
                 size_t n_data, const char *value)
{
	const struct eng_definition *def = s->def;
	assert(fn >= 1 && (size_t)fn <= def->n_fns);
	const struct eng_fn *f = &def->fns[fn - 1];
	struct eng_fn_record rec = { 0 };
	if (s->out->n_records == s->n_records_cap) {
		size_t cap = s->n_records_cap ? s->n_records_cap * 2 : 16;
		struct eng_fn_record *grown = eng_arena_alloc(s->arena, cap * sizeof(*grown));
		if (s->out->n_records)
			memcpy(grown, s->out->records, s->out->n_records * sizeof(*grown));
		s->out->records = grown;
		s->n_records_cap = cap;
	}
	if (s->ev->replay) {
		if (s->replay_pos >= s->ev->n_recorded || s->ev->recorded[s->replay_pos].fn != fn)
			return refusef(s, ENG_EINVALID, ENG_REFUSED_REPLAY,
			               "replay diverged: the step calls function %d (%s, line %d) but the "
			               "recording has %s", fn, f->owner, f->line,
			               s->replay_pos < s->ev->n_recorded ? "another one" : "no more calls");
		rec = s->ev->recorded[s->replay_pos++];
	} else {
		if (!def->host || !def->host->run)
			return refusef(s, ENG_EINTERNAL, ENG_REFUSED_FUNCTION,
			               "%s:%d: tràmit %s has functions but nothing to run them",
			               def->source_path ? def->source_path : "?", f->line, def->code);
		struct eng_fn_call call = {
			.def = def, .fn = fn, .data = data, .n_data = n_data, .vars = s->vars,
			.n_vars = s->n_vars, .value = value, .state = s->st->name, .actor = &s->ev->actor,
			.time_ms = s->ev->time_ms,
		};
		struct eng_error err = { 0 };
		int rc = def->host->run(&rec, s->arena, &call, &err, def->host->payload);
		if (rc < 0)
			return refusef(s, ENG_EINTERNAL, ENG_REFUSED_FUNCTION, "%s", err.msg);
		rec.fn = fn;
	}
	s->out->records[s->out->n_records] = rec;
	*out = &s->out->records[s->out->n_records++];
	return 0;
}

/* --- time --- */

/* The Unix time (seconds) of a Madrid local time: summer time makes the offset one or two
 * hours; of the two candidates, the one that converts back is right. */
static int64_t local_to_unix(int32_t day, int32_t second)
{
	int64_t local = (int64_t)day * 86400 + second;
	for (int off = 1; off <= 2; off++) {
		struct eng_datetime t = eng_datetime_from_unix(local - off * 3600);
		if (t.day == day && t.second == second)
			return local - off * 3600;
	}
	return local - 3600; /* the hour skipped in March: any nearby instant will do */
}

/* Computes when `d` counted from time_ms runs out: *due_ms is the first instant past the
 * period (00:00 of the day after the last day) and *last_day the last day to act. */
static int deadline_due(struct eng__step *s, struct eng_duration d, enum eng_deadline_clock clock,
                        bool roll, int64_t time_ms, const char *what, int64_t *due_ms,
                        int32_t *last_day)
{
	const struct eng_calendar *cal = s->ev->calendar;
	struct eng_datetime from = eng_datetime_from_unix(time_ms / 1000);
	struct eng_error err = { 0 };
	enum eng_roll r = roll ? ENG_ROLL_NEXT_BUSINESS_DAY : ENG_ROLL_NONE;
	int rc = 0;
	bool needs_calendar = !(d.unit == ENG_UNIT_NATURAL_DAYS && !roll);
	if (needs_calendar && !cal)
		return refusef(s, ENG_EUNAVAILABLE, ENG_REFUSED_ENVIRONMENT,
		               "%s counts %s, but the event carries no calendar", what,
		               eng_duration_unit_name(d.unit));
	(void)clock;
	switch (d.unit) {
	case ENG_UNIT_BUSINESS_DAYS:
		rc = eng_calendar_add_business_days(last_day, cal, from.day, d.amount, &err);
		break;
	case ENG_UNIT_NATURAL_DAYS:
		rc = eng_calendar_add_natural_days(last_day, cal, from.day, d.amount, r, &err);
		break;
	case ENG_UNIT_MONTHS:
		rc = eng_calendar_add_months(last_day, cal, from.day, d.amount, r, &err);
		break;
	case ENG_UNIT_YEARS:
		rc = eng_calendar_add_years(last_day, cal, from.day, d.amount, r, &err);
		break;
	case ENG_UNIT_HOURS: {
		struct eng_datetime end;
		rc = eng_calendar_add_hours(&end, cal, from, d.amount, &err);
		if (rc == 0) {
			*due_ms = local_to_unix(end.day, end.second) * 1000;
			*last_day = end.second == 0 ? end.day - 1 : end.day;
			return 0;
		}
		break;
	}
	case ENG_UNIT_NONE:
		assert(!"a deadline without a unit");
	}
	if (rc < 0)
		return refusef(s, ENG_EUNAVAILABLE, ENG_REFUSED_ENVIRONMENT, "%s: %s", what, err.msg);
	*due_ms = local_to_unix(*last_day + 1, 0) * 1000;
	return 0;
}

static void set_timer(struct eng__step *s, const char *name, int64_t due_ms, const char *state,
                      int32_t last_day)
{
	char day[11];
	eng_day_format(day, last_day);
	struct eng_effect *e = emit(s, ENG_EFFECT_TIMER_SET, eng_arena_strdup(s->arena, name));
	e->due_ms = due_ms;
	effect_args(s, e, 2, "state", state, "last_day", day);
}

/* Arms the deadline (and pre-alert) of state `st`, counted from time_ms. */
static int arm_deadline(struct eng__step *s, const struct eng_state *st, int64_t time_ms,
                        int amount)
{
	const struct eng_deadline *dl = st->deadline;
	struct eng_duration period = { dl->period.unit, amount };
	char what[128], name[96];
	int64_t due;
	int32_t last;
	snprintf(what, sizeof(what), "the deadline of state '%s'", st->name);
	bool roll = dl->roll || dl->period.unit == ENG_UNIT_MONTHS || dl->period.unit == ENG_UNIT_YEARS;
	int rc = deadline_due(s, period, dl->clock, roll, time_ms, what, &due, &last);
	if (rc < 0)
		return rc;
	snprintf(name, sizeof(name), "deadline.%s", st->name);
	set_timer(s, name, due, st->name, last);
	snprintf(name, sizeof(name), "due.%s", st->name);
	var_setf(s, name, "%lld", (long long)due);
	char day[11];
	eng_day_format(day, last);
	snprintf(name, sizeof(name), "last_day.%s", st->name);
	var_set(s, name, day);
	snprintf(name, sizeof(name), "start.%s", st->name);
	var_setf(s, name, "%lld", (long long)time_ms);
	if (dl->alert.unit != ENG_UNIT_NONE && amount == dl->period.amount) {
		int64_t alert_due;
		int32_t alert_last;
		snprintf(what, sizeof(what), "the pre-alert of state '%s'", st->name);
		rc = deadline_due(s, dl->alert, dl->clock, false, time_ms, what, &alert_due, &alert_last);
		if (rc < 0)
			return rc;
		snprintf(name, sizeof(name), "alert.%s", st->name);
		set_timer(s, name, alert_due, st->name, alert_last);
	}
	return 0;
}

static void disarm_deadline(struct eng__step *s, const struct eng_state *st)
{
	char name[96];
	snprintf(name, sizeof(name), "deadline.%s", st->name);
	emit(s, ENG_EFFECT_TIMER_CANCEL, eng_arena_strdup(s->arena, name));
	if (st->deadline->alert.unit != ENG_UNIT_NONE) {
		snprintf(name, sizeof(name), "alert.%s", st->name);
		emit(s, ENG_EFFECT_TIMER_CANCEL, eng_arena_strdup(s->arena, name));
	}
	static const char *const keys[] = { "due", "start", "last_day", "extended", "expired" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(name, sizeof(name), "%s.%s", keys[i], st->name);
		var_del(s, name);
	}
}

/* Arms the maximum resolution time (art. 21) when the application enters the register, when
 * the tràmit says what silence does (legal.on_silence). */
static int start_resolution_clock(struct eng__step *s, int64_t time_ms)
{
	const struct eng_definition *def = s->def;
	/* Without a silence target the time only informs; nothing to arm. */
	if (def->resolve_within.unit == ENG_UNIT_NONE || !def->on_silence || var_get(s, "due.resolution") ||
	    var_get(s, "paused.resolution"))
		return 0;
	int64_t due;
	int32_t last;
	int rc = deadline_due(s, def->resolve_within, ENG_DEADLINE_ADMINISTRATION, true, time_ms,
	                      "the maximum resolution time", &due, &last);
	if (rc < 0)
		return rc;
	set_timer(s, "resolution", due, "", last);
	var_setf(s, "due.resolution", "%lld", (long long)due);
	char day[11];
	eng_day_format(day, last);
	var_set(s, "last_day.resolution", day);
	return 0;
}

/* Moves from s->st to `to` at time_ms: disarms what the old state armed, arms what the new one
 * needs, and pauses or resumes the resolution clock (art. 22). */
static int enter_state(struct eng__step *s, const char *to, int64_t time_ms)
{
	const struct eng_state *from = s->st;
	const struct eng_state *next = eng_definition_state(s->def, to);
	assert(next); /* the compiler resolved every target */
	s->out->to_state = next->name;
	if (next == from)
		return 0;
	if (from->deadline)
		disarm_deadline(s, from);
	int64_t due, paused;
	if (from->suspends_resolution && !next->suspends_resolution && !next->final &&
	    var_int(s, "paused.resolution", &paused)) {
		int64_t since = 0, total = 0;
		var_int(s, "suspended_at", &since);
		var_int(s, "suspended_ms", &total);
		var_setf(s, "suspended_ms", "%lld", (long long)(total + (time_ms - since)));
		struct eng_datetime end = eng_datetime_from_unix((time_ms + paused) / 1000);
		set_timer(s, "resolution", time_ms + paused, "", end.second == 0 ? end.day - 1 : end.day);
		var_setf(s, "due.resolution", "%lld", (long long)(time_ms + paused));
		var_del(s, "paused.resolution");
		var_del(s, "suspended_at");
	}
	if (next->final && var_get(s, "due.resolution")) {
		emit(s, ENG_EFFECT_TIMER_CANCEL, "resolution");
		var_del(s, "due.resolution");
	} else if (next->suspends_resolution && !from->suspends_resolution &&
	           var_int(s, "due.resolution", &due)) {
		emit(s, ENG_EFFECT_TIMER_CANCEL, "resolution");
		var_setf(s, "paused.resolution", "%lld", (long long)(due > time_ms ? due - time_ms : 0));
		var_setf(s, "suspended_at", "%lld", (long long)time_ms);
		var_del(s, "due.resolution");
	}
	if (next->deadline)
		return arm_deadline(s, next, time_ms, next->deadline->period.amount);
	return 0;
}

/* --- fees --- */

static int compute_fee(struct eng__step *s, const struct eng_fee *fee, const struct eng_value *data,
                       size_t n_data, int64_t *cents)
{
	char name[96];
	snprintf(name, sizeof(name), "fee.%s", fee->name);
	switch (fee->kind) {
	case ENG_FEE_FIXED:
		*cents = fee->amount;
		break;
	case ENG_FEE_TARIFF: {
		const char *key = eng_values_get(data, n_data, fee->by);
		/* The rate in force on the action's day in Madrid: the last version that began by then
		 * (rates are sorted by key, then by date). */
		int32_t today = eng_datetime_from_unix(s->ev->time_ms / 1000).day;
		const struct eng_rate *rate = NULL;
		for (size_t i = 0; key && i < fee->n_rates; i++)
			if (strcmp(fee->rates[i].key, key) == 0 && (!fee->versioned || fee->rates[i].from <= today))
				rate = &fee->rates[i];
		if (!rate && fee->versioned && key) {
			char day[11];
			eng_day_format(day, today);
			return refusef(s, ENG_EINVALID, ENG_REFUSED_FUNCTION,
			               "fee '%s': no version of %s in force on %s has a rate for %s = '%s'",
			               fee->name, fee->ordinance, day, fee->by, key);
		}
		if (!rate)
			return refusef(s, ENG_EINVALID, ENG_REFUSED_FUNCTION,
			               "fee '%s': the tariff has no rate for %s = '%s'", fee->name, fee->by,
			               key ? key : "");
		if (fee->versioned) {
			/* Which version applied is part of the record, for the receipt and any appeal. */
			char from[11], vname[120];
			eng_day_format(from, rate->from);
			snprintf(vname, sizeof(vname), "fee.%s.tariff_from", fee->name);
			var_set(s, vname, from);
		}
		int64_t units = 1;
		if (fee->per) {
			const char *v = eng_values_get(data, n_data, fee->per);
			units = v ? strtoll(v, NULL, 10) : 0;
		}
		*cents = rate->cents * units;
		break;
	}
	case ENG_FEE_FORMULA: {
		struct eng_fn_record *rec;
		int rc = step_fn(s, &rec, fee->fn, data, n_data, NULL);
		if (rc < 0)
			return rc;
		*cents = rec->amount;
		break;
	}
	}
	var_setf(s, name, "%lld", (long long)*cents);
	return 0;
}

/* --- actions --- */

static const char *join_roles(struct eng__step *s, const struct eng_sign *sg)
{
	size_t len = 1;
	for (size_t i = 0; i < sg->n_signers; i++)
		len += strlen(sg->signers[i]) + 1;
	char *out = eng_arena_alloc(s->arena, len);
	for (size_t i = 0; i < sg->n_signers; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, sg->signers[i]);
	}
	return out;
}

/* The applicant's own deadline: an act after it is refused. Filings on a non-business day
 * count from 00:00 of the next business day for business-day deadlines (art. 31.2.b). */
static int check_deadline(struct eng__step *s, const struct eng_action *a)
{
	const struct eng_state *st = s->st;
	char name[96];
	int64_t due;
	if (!st->deadline || st->deadline->clock != ENG_DEADLINE_PARTY ||
	    (a->by != ENG_BY_APPLICANT && a->by != ENG_BY_REPRESENTATIVE))
		return 0;
	snprintf(name, sizeof(name), "due.%s", st->name);
	if (!var_int(s, name, &due))
		return 0;
	int64_t t = s->ev->time_ms;
	if (st->deadline->period.unit == ENG_UNIT_BUSINESS_DAYS && s->ev->calendar) {
		struct eng_datetime eff;
		struct eng_error err = { 0 };
		struct eng_datetime filed = eng_datetime_from_unix(t / 1000);
		if (eng_calendar_effective_filing(&eff, s->ev->calendar, filed, ENG_CLOCK_PARTY, &err) == 0 &&
		    (eff.day != filed.day || eff.second != filed.second))
			t = local_to_unix(eff.day, eff.second) * 1000;
	}
	if (t < due)
		return 0;
	snprintf(name, sizeof(name), "last_day.%s", st->name);
	const char *last = var_get(s, name);
	s->out->reason = (struct eng_text){
		eng_arena_printf(s->arena, "El termini va acabar el %s.", last ? last : "?"),
		eng_arena_printf(s->arena, "El plazo terminó el %s.", last ? last : "?"),
	};
	return refusef(s, ENG_ECONFLICT, ENG_REFUSED_DEADLINE_PASSED,
	               "the deadline of state '%s' ended on %s", st->name, last ? last : "?");
}

static int check_requirements(struct eng__step *s, const struct eng_action *a)
{
	char name[96];
	for (size_t i = 0; i < a->n_requires_paid; i++) {
		snprintf(name, sizeof(name), "paid.%s", a->requires_paid[i]);
		if (var_get(s, name))
			continue;
		const struct eng_fee *fee = eng_definition_fee(s->def, a->requires_paid[i]);
		s->out->reason = (struct eng_text){
			eng_arena_printf(s->arena, "Cal pagar «%s» abans.", eng_text_get(&fee->label, ENG_LANG_CA)),
			eng_arena_printf(s->arena, "Debe pagar «%s» antes.", eng_text_get(&fee->label, ENG_LANG_ES)),
		};
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_REQUIREMENT,
		               "action '%s' needs fee '%s' paid first", a->name, a->requires_paid[i]);
	}
	for (size_t i = 0; i < a->n_requires_signed; i++) {
		snprintf(name, sizeof(name), "signed.%s", a->requires_signed[i]);
		if (var_get(s, name))
			continue;
		s->out->reason = (struct eng_text){
			eng_arena_printf(s->arena, "El document «%s» encara no està signat.", a->requires_signed[i]),
			eng_arena_printf(s->arena, "El documento «%s» aún no está firmado.", a->requires_signed[i]),
		};
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_REQUIREMENT,
		               "action '%s' needs document '%s' signed first", a->name,
		               a->requires_signed[i]);
	}
	return 0;
}

/* Art. 32: extends the current state's deadline by half its period, once, before it ends. */
static int extend_deadline(struct eng__step *s, const struct eng_action *a)
{
	const struct eng_state *st = s->st;
	char name[96];
	int64_t due, start;
	snprintf(name, sizeof(name), "due.%s", st->name);
	if (!st->deadline || !var_int(s, name, &due))
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
		               "action '%s' extends a deadline, but state '%s' has none running", a->name,
		               st->name);
	snprintf(name, sizeof(name), "extended.%s", st->name);
	if (var_get(s, name))
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
		               "the deadline of state '%s' was already extended", st->name);
	if (s->ev->time_ms >= due)
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_DEADLINE_PASSED,
		               "the deadline of state '%s' has ended and cannot be extended (art. 32)",
		               st->name);
	snprintf(name, sizeof(name), "start.%s", st->name);
	if (!var_int(s, name, &start))
		start = s->ev->time_ms;
	int amount = st->deadline->period.amount;
	emit(s, ENG_EFFECT_TIMER_CANCEL,
	     eng_arena_printf(s->arena, "deadline.%s", st->name));
	int rc = arm_deadline(s, st, start, amount + amount / 2);
	if (rc < 0)
		return rc;
	snprintf(name, sizeof(name), "extended.%s", st->name);
	var_set(s, name, "yes");
	return 0;
}

/* The effects an action lists, in the order the world should see them. */
static int action_effects(struct eng__step *s, const struct eng_action *a)
{
	if (a->flags & ENG_ACTION_REGISTER_IN)
		emit(s, ENG_EFFECT_REGISTER_IN, a->name);
	if (a->flags & ENG_ACTION_RECEIPT) {
		if (!s->ev->csv || !*s->ev->csv)
			return refusef(s, ENG_EINVALID, ENG_REFUSED_ENVIRONMENT,
			               "action '%s' issues a receipt but the event carries no CSV", a->name);
		emit(s, ENG_EFFECT_RECEIPT, a->name)->csv = s->ev->csv;
	}
	for (size_t i = 0; i < a->n_fees; i++) {
		int64_t cents;
		int rc = compute_fee(s, eng_definition_fee(s->def, a->fees[i]), s->out->data,
		                     s->out->n_data, &cents);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < a->n_documents; i++)
		emit(s, ENG_EFFECT_DOCUMENT, a->documents[i]);
	if (a->flags & ENG_ACTION_REGISTER_OUT)
		emit(s, ENG_EFFECT_REGISTER_OUT, a->n_documents ? a->documents[0] : a->name);
	if (a->sign) {
		struct eng_effect *e = emit(s, ENG_EFFECT_SIGN_REQUEST, a->sign->document);
		effect_args(s, e, 3, "signers", join_roles(s, a->sign), "order",
		            a->sign->order == ENG_SIGN_PARALLEL ? "parallel" : "sequential", "need",
		            a->sign->any ? "any" : "all");
	}
	for (size_t i = 0; i < a->n_notify; i++) {
		struct eng_effect *e = emit(s, ENG_EFFECT_NOTIFY, a->notify[i].template_name);
		effect_args(s, e, 2, "channel",
		            a->notify[i].kind == ENG_NOTIFY_BINDING ? "binding" : "informative",
		            "audience", "applicant");
	}
	if (a->pay) {
		char name[96], cents[32];
		int64_t amount;
		snprintf(name, sizeof(name), "fee.%s", a->pay);
		if (!var_int(s, name, &amount)) {
			int rc = compute_fee(s, eng_definition_fee(s->def, a->pay), s->out->data,
			                     s->out->n_data, &amount);
			if (rc < 0)
				return rc;
		}
		snprintf(cents, sizeof(cents), "%lld", (long long)amount);
		effect_args(s, emit(s, ENG_EFFECT_PAYMENT, a->pay), 1, "amount_cents", cents);
	}
	for (size_t i = 0; i < a->n_backoffice; i++)
		emit(s, ENG_EFFECT_BACKOFFICE, a->backoffice[i]);
	return 0;
}

/* Takes action a of the current state for the event's actor (or the system). */
static int take_action(struct eng__step *s, const struct eng_action *a, bool by_system)
{
	const struct eng_event *ev = s->ev;
	const struct eng_definition *def = s->def;
	int rc;
	s->out->action = a->name;
	if (!by_system) {
		bool may = eng_actor_may(a, s->exp, &ev->actor);
		bool self = ev->actor.kind == ENG_PRINCIPAL_CITIZEN && ev->actor.id &&
		            (!s->exp->applicant_id || strcmp(ev->actor.id, s->exp->applicant_id) == 0);
		/* Acting for someone else needs the tràmit to admit it (art. 5, art. 12). */
		if (may && a->by == ENG_BY_APPLICANT && !self) {
			unsigned need = ev->actor.kind == ENG_PRINCIPAL_EMPLOYEE ? ENG_APPLICANT_EMPLOYEE
			                                                         : ENG_APPLICANT_REPRESENTATIVE;
			may = (def->applicants & need) != 0;
		}
		if (!may)
			return refusef(s, ENG_EDENIED, ENG_REFUSED_NOT_ALLOWED,
			               "'%s' may not take action '%s' here",
			               ev->actor.id ? ev->actor.id : "(anonymous)", a->name);
	}
	if ((rc = check_deadline(s, a)) < 0 || (rc = check_requirements(s, a)) < 0)
		return rc;

	if (a->flags & ENG_ACTION_FORM) {
		rc = eng__step_form(s->out, s->arena, def, ev, s, step_fn);
		if (rc < 0)
			return rc;
	} else {
		s->out->data = s->exp->data;
		s->out->n_data = s->exp->n_data;
	}
	if (a->guard_fn) {
		struct eng_fn_record *rec;
		if ((rc = step_fn(s, &rec, a->guard_fn, s->out->data, s->out->n_data, NULL)) < 0)
			return rc;
		if (!rec->ok) {
			s->out->reason = rec->message;
			return refusef(s, ENG_ECONFLICT, ENG_REFUSED_GUARD, "the guard of action '%s' said no: %s",
			               a->name, rec->message.ca ? rec->message.ca : "(no message)");
		}
	}
	if ((rc = action_effects(s, a)) < 0)
		return rc;
	if (a->extend)
		return extend_deadline(s, a);
	if ((a->flags & ENG_ACTION_REGISTER_IN) && !eng_definition_state(def, a->to)->final &&
	    (rc = start_resolution_clock(s, ev->time_ms)) < 0)
		return rc;
	return enter_state(s, a->to, ev->time_ms);
}

static int on_timer(struct eng__step *s)
{
	const char *timer = s->ev->timer ? s->ev->timer : "";
	const struct eng_state *st = s->st;
	s->out->data = s->exp->data;
	s->out->n_data = s->exp->n_data;
	if (strcmp(timer, "resolution") == 0) {
		if (!var_get(s, "due.resolution") || st->final)
			return refusef(s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
			               "timer 'resolution' is not armed in state '%s'", st->name);
		var_del(s, "due.resolution");
		var_set(s, "silence", "yes");
		if (!s->def->on_silence) {
			s->out->to_state = st->name;
			return 0;
		}
		return enter_state(s, s->def->on_silence, s->ev->time_ms);
	}
	const char *dot = strchr(timer, '.');
	bool deadline = dot && strncmp(timer, "deadline.", 9) == 0;
	bool alert = dot && strncmp(timer, "alert.", 6) == 0;
	if ((!deadline && !alert) || strcmp(dot + 1, st->name) != 0 || !st->deadline)
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
		               "timer '%s' does not apply in state '%s'", timer, st->name);
	if (alert) {
		struct eng_effect *e = emit(s, ENG_EFFECT_NOTIFY, "deadline_alert");
		effect_args(s, e, 3, "channel", "informative", "audience", "staff", "state", st->name);
		s->out->to_state = st->name;
		return 0;
	}
	char name[96];
	snprintf(name, sizeof(name), "due.%s", st->name);
	int64_t due;
	if (!var_int(s, name, &due) || s->ev->time_ms < due)
		return refusef(s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
		               "timer '%s' fired before the deadline it was armed for", timer);
	if (!st->deadline->on_expiry) {
		snprintf(name, sizeof(name), "expired.%s", st->name);
		var_set(s, name, "yes");
		s->out->to_state = st->name;
		return 0;
	}
	return enter_state(s, st->deadline->on_expiry, s->ev->time_ms);
}

static int on_result(struct eng__step *s)
{
	const struct eng_event *ev = s->ev;
	const char *id = ev->effect_id ? ev->effect_id : "";
	const char *outcome = ev->outcome ? ev->outcome
	                                  : eng_values_get(ev->form, ev->n_form, "outcome");
	const char *colon = strchr(id, ':');
	char name[160];
	if (!outcome || !*outcome)
		return refusef(s, ENG_EINVALID, ENG_REFUSED_NOT_AVAILABLE,
		               "result of effect '%s' carries no outcome", id);
	if (colon && strncmp(id, "payment:", 8) == 0 && strcmp(outcome, "paid") == 0) {
		snprintf(name, sizeof(name), "paid.%s", colon + 1);
		var_set(s, name, "yes");
	} else if (colon && strncmp(id, "sign_request:", 13) == 0 && strcmp(outcome, "signed") == 0) {
		snprintf(name, sizeof(name), "signed.%s", colon + 1);
		var_set(s, name, "yes");
	}
	for (size_t i = 0; i < s->st->n_on; i++) {
		if (strcmp(s->st->on[i].outcome, outcome) != 0)
			continue;
		const struct eng_action *a = eng_state_action(s->st, s->st->on[i].action);
		assert(a); /* the compiler resolved it */
		return take_action(s, a, true);
	}
	s->out->data = s->exp->data;
	s->out->n_data = s->exp->n_data;
	s->out->to_state = s->st->name;
	return 0;
}

int eng_expedient_step(struct eng_step_result *out, struct eng_arena *arena,
                       const struct eng_definition *def, const struct eng_expedient *exp,
                       const struct eng_event *event)
{
	memset(out, 0, sizeof(*out));
	struct eng__step s = { .out = out, .arena = arena, .def = def, .exp = exp, .ev = event };
	s.st = exp->state ? eng_definition_state(def, exp->state) : eng_definition_initial(def);
	if (!s.st)
		return refusef(&s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
		               "expedient is in state '%s', which tràmit %s does not define",
		               exp->state ? exp->state : "(none)", def->code);
	out->from_state = s.st->name;
	s.vars = eng_arena_alloc(arena, MAX_VARS * sizeof(*s.vars));
	for (size_t i = 0; i < exp->n_vars && i < MAX_VARS; i++)
		s.vars[s.n_vars++] = exp->vars[i];

	int rc;
	switch (event->kind) {
	case ENG_EVENT_ACTION: {
		const struct eng_action *a = eng_state_action(s.st, event->action);
		if (!a)
			return refusef(&s, ENG_ECONFLICT, ENG_REFUSED_NOT_AVAILABLE,
			               "action '%s' is not available in state '%s'",
			               event->action ? event->action : "(none)", s.st->name);
		rc = take_action(&s, a, false);
		break;
	}
	case ENG_EVENT_TIMER:
		rc = on_timer(&s);
		break;
	case ENG_EVENT_RESULT:
		rc = on_result(&s);
		break;
	default:
		return refusef(&s, ENG_EINVALID, ENG_REFUSED_NOT_AVAILABLE, "unknown event kind %d",
		               (int)event->kind);
	}
	if (rc < 0)
		return rc;
	if (!out->to_state)
		out->to_state = s.st->name;
	out->vars = s.vars;
	out->n_vars = s.n_vars;
	out->version = exp->version + 1;
	out->code = ENG_OK;
	return ENG_OK;
}
