/* The legal time limits running on an expedient, with their computation explained (issue 5,
 * the expedient view): the current state's deadline and the maximum time to resolve, each as
 * the last day and how it was counted: from which day, how many days of which kind, which days
 * did not count (weekends and the holidays of the calendar the engine used) and whether the
 * last day rolled to the next business day. The last days shown are the engine's own
 * (last_day.* variables); the explanation recounts them with the same calendar functions and,
 * where an extension or a suspension changed them, says that instead of a count that would
 * not add up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/calendar.h"
#include "engine/core/validate.h"
#include "engine/runtime/vars.h"
#include "internal.h"

static const char *var(const struct eng_value *v, size_t n, const char *name)
{
	return eng_values_get(v, n, name);
}

/* The day a Unix time in ms falls on in Madrid (the deadline counts from it). */
static int32_t day_of_ms(const char *ms)
{
	return eng_datetime_from_unix(atoll(ms) / 1000).day;
}

static const char *day_text(struct web_ctx *c, int32_t d)
{
	char ymd[11];
	eng_day_format(ymd, d);
	return web_day(c, eng_arena_strdup(&c->arena, ymd));
}

static const char *unit_key(enum eng_duration_unit u, int amount)
{
	switch (u) {
	case ENG_UNIT_BUSINESS_DAYS: return amount == 1 ? "deadline.business_day" : "deadline.business_days";
	case ENG_UNIT_NATURAL_DAYS: return amount == 1 ? "deadline.natural_day" : "deadline.natural_days";
	case ENG_UNIT_MONTHS: return amount == 1 ? "tramit.month" : "tramit.months";
	case ENG_UNIT_YEARS: return amount == 1 ? "deadline.year" : "deadline.years";
	default: return "deadline.hours";
	}
}

/* The last day of `amount` units counted from `from`, as the engine counts it (step.c
 * deadline_due); -1 when the calendar cannot say (a year it does not cover). */
static int recount(int32_t *last, const struct eng_calendar *cal, enum eng_duration_unit unit,
                   int amount, bool roll, int32_t from)
{
	struct eng_error err = {0};
	enum eng_roll r = roll ? ENG_ROLL_NEXT_BUSINESS_DAY : ENG_ROLL_NONE;
	switch (unit) {
	case ENG_UNIT_BUSINESS_DAYS:
		return cal ? eng_calendar_add_business_days(last, cal, from, amount, &err) : -1;
	case ENG_UNIT_NATURAL_DAYS:
		return cal || !roll ? eng_calendar_add_natural_days(last, cal, from, amount, r, &err) : -1;
	case ENG_UNIT_MONTHS:
		return cal ? eng_calendar_add_months(last, cal, from, amount, r, &err) : -1;
	case ENG_UNIT_YEARS:
		return cal ? eng_calendar_add_years(last, cal, from, amount, r, &err) : -1;
	default:
		return -1;
	}
}

/* "No hi compten: 4 dies de dissabte o diumenge; festius: 8 de desembre de 2026 (La
 * Immaculada)." for the days after `from` up to `last` that are not business days. */
static void skipped_days(struct web_ctx *c, const struct eng_calendar *cal, int32_t from, int32_t last)
{
	int weekend = 0, holidays = 0;
	for (int32_t d = from + 1; d <= last; d++)
		if (eng_day_weekday(d) >= 6)
			weekend++;
	web_printf(c, " %s: %d %s", web_t(c, "deadline.skipped"), weekend, web_t(c, "deadline.weekend_days"));
	for (int32_t d = from + 1; cal && d <= last; d++) {
		const struct eng_holiday *h = eng_calendar_holiday(cal, d);
		if (!h || eng_day_weekday(d) >= 6)
			continue;
		web_printf(c, "%s", holidays++ ? ", " : eng_arena_printf(&c->arena, "; %s: ", web_t(c, "deadline.holidays")));
		web_html(c, day_text(c, d));
		web_printf(c, " (");
		web_html(c, c->lang == ENG_LANG_ES ? h->name_es : h->name_ca);
		web_printf(c, ")");
	}
	web_printf(c, ".");
}

/* The count behind last: "10 dies hàbils comptats des de l'endemà del 27 de novembre de 2026.
 * No hi compten: ..." when the recount gives the same day. */
static void explain(struct web_ctx *c, enum eng_duration_unit unit, int amount, bool roll,
                    int32_t from, int32_t last)
{
	const struct eng_calendar *cal = c->srv->cfg.calendar;
	int32_t again;
	if (recount(&again, cal, unit, amount, roll, from) != 0 || again != last) {
		web_printf(c, " %s", web_t(c, "deadline.changed"));
		return;
	}
	bool by_date = unit == ENG_UNIT_MONTHS || unit == ENG_UNIT_YEARS;
	web_printf(c, " %d %s %s ", amount, web_t(c, unit_key(unit, amount)),
	           web_t(c, by_date ? "deadline.from_date" : "deadline.from_next"));
	web_html(c, day_text(c, from));
	web_printf(c, ".");
	if (unit == ENG_UNIT_BUSINESS_DAYS) {
		skipped_days(c, cal, from, last);
		return;
	}
	/* Natural days, months and years: the plain count, and a roll when there was one. */
	int32_t plain;
	if (roll && recount(&plain, cal, unit, amount, false, from) == 0 && plain != last) {
		web_printf(c, " %s (", web_t(c, "deadline.rolled"));
		web_html(c, day_text(c, plain));
		web_printf(c, ").");
	}
}

static void last_day_line(struct web_ctx *c, const char *id, const char *title, int32_t last)
{
	web_printf(c, "<dt>");
	web_html(c, title);
	web_printf(c, "</dt><dd id=\"%s\"><strong>%s: ", id, web_t(c, "deadline.last_day"));
	web_html(c, day_text(c, last));
	web_printf(c, "</strong>.");
}

static bool state_deadline(struct web_ctx *c, const struct eng_definition *d, const char *state,
                           const struct eng_value *v, size_t n)
{
	const struct eng_state *st = d ? eng_definition_state(d, state) : NULL;
	if (!st || !st->deadline)
		return false;
	const char *last_s = var(v, n, eng_arena_printf(&c->arena, "last_day.%s", state));
	const char *start = var(v, n, eng_arena_printf(&c->arena, "start.%s", state));
	int32_t last;
	struct eng_error err = {0};
	if (!last_s || !start || eng_day_parse(&last, last_s, &err) != 0)
		return false;
	const struct eng_deadline *dl = st->deadline;
	last_day_line(c, "deadline-state", eng_arena_printf(&c->arena, "%s «%s»", web_t(c, "deadline.state"),
	              web_state_label(c, d, state)), last);
	int amount = dl->period.amount;
	bool extended = var(v, n, eng_arena_printf(&c->arena, "extended.%s", state)) != NULL;
	if (extended)
		amount += amount / 2;
	bool roll = dl->roll || dl->period.unit == ENG_UNIT_MONTHS || dl->period.unit == ENG_UNIT_YEARS;
	explain(c, dl->period.unit, amount, roll, day_of_ms(start), last);
	if (extended)
		web_printf(c, " %s", web_t(c, "deadline.extended"));
	if (dl->on_expiry) {
		web_printf(c, " %s «", web_t(c, "deadline.then"));
		web_html(c, web_state_label(c, d, dl->on_expiry));
		web_printf(c, "».");
	}
	web_printf(c, "</dd>");
	return true;
}

static bool resolution_deadline(struct web_ctx *c, const struct eng_definition *d,
                                const struct eng_expedient_view *x, const struct eng_value *v, size_t n)
{
	if (!d || d->resolve_within.unit == ENG_UNIT_NONE)
		return false;
	const char *last_s = var(v, n, "last_day.resolution");
	const char *paused = var(v, n, "paused.resolution");
	const char *began = x->presented_at ? x->presented_at : x->created_at;
	int32_t last, from;
	struct eng_error err = {0};
	if (!began || eng_day_parse(&from, eng_arena_strndup(&c->arena, began, 10), &err) != 0)
		return false;
	if (paused) {
		web_printf(c, "<dt>%s</dt><dd id=\"deadline-resolution\">%s</dd>", web_t(c, "deadline.resolution"),
		           web_t(c, "deadline.paused"));
		return true;
	}
	if (!last_s || eng_day_parse(&last, last_s, &err) != 0)
		return false;
	last_day_line(c, "deadline-resolution", web_t(c, "deadline.resolution"), last);
	if (var(v, n, "suspended_ms"))
		web_printf(c, " %s", web_t(c, "deadline.suspended"));
	else
		explain(c, d->resolve_within.unit, d->resolve_within.amount, true, from, last);
	static const char *const silence[] = {"silence.none", "silence.positive", "silence.negative",
	                                      "silence.lapse"};
	if (d->silence != ENG_SILENCE_NONE)
		web_printf(c, " %s: %s.", web_t(c, "deadline.silence"), web_t(c, silence[d->silence]));
	web_printf(c, "</dd>");
	return true;
}

void web_deadlines_section(struct web_ctx *c, const struct eng_definition *d,
                           const struct eng_expedient_view *x)
{
	struct eng_value *v;
	size_t n;
	struct eng_error err = {0};
	if (eng_store_expedient_vars(c->store, &c->arena, c->srv->cfg.entity_id, x->id, &v, &n, &err) != 0)
		return;
	/* Rendered into its own buffer first: with no deadline running there is no section. */
	struct evbuffer *page = c->out;
	c->out = evbuffer_new();
	if (!c->out) {
		c->out = page;
		return;
	}
	bool any = state_deadline(c, d, x->state, v, n);
	any = resolution_deadline(c, d, x, v, n) || any;
	if (any) {
		evbuffer_add_printf(page, "<section id=\"deadlines\" aria-labelledby=\"deadlines-title\"><h2 "
		                    "id=\"deadlines-title\">%s</h2><dl class=\"facts\">", web_t(c, "deadline.title"));
		evbuffer_add_buffer(page, c->out);
		evbuffer_add_printf(page, "</dl><p class=\"hint\">%s</p></section>", web_t(c, "deadline.rule"));
	}
	evbuffer_free(c->out);
	c->out = page;
}
