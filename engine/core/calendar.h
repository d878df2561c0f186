/* Calendars of non-business days (días inhábiles) and the deadline rules of Ley 39/2015,
 * arts. 30-31. Pure: the caller passes the data text and every instant; no I/O, no clock.
 * Invariant: a day is judged only inside a year the data covers; otherwise callers get an
 * error naming the year, never a silent "no holidays". */
#ifndef ENG_CALENDAR_H
#define ENG_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Dates are day numbers: days since 1970-01-01 in the proleptic Gregorian calendar, so a
 * date plus n is n days later and differences are plain subtraction. They name a civil day
 * in Spanish peninsular time (Europe/Madrid), the sede's official time. */

/* Day number of a valid date (asserted: 1 <= month <= 12, 1 <= day <= days in that month). */
int32_t eng_day_from_ymd(int year, int month, int day);
void eng_day_to_ymd(int32_t d, int *year, int *month, int *day);
/* Parses YYYY-MM-DD (a real calendar day, years 1900-2200). ENG_EINVALID otherwise. */
int eng_day_parse(int32_t *out, const char *s, struct eng_error *err);
/* Writes YYYY-MM-DD and a NUL into out. */
void eng_day_format(char out[11], int32_t d);
/* ISO weekday: 1 = Monday ... 7 = Sunday. */
int eng_day_weekday(int32_t d);
int eng_days_in_month(int year, int month);

/* A local time in Europe/Madrid: a day and the second within it (0-86399). */
struct eng_datetime {
	int32_t day;
	int32_t second;
};

/* Converts a Unix time (UTC) into Madrid local time. The EU rule applies: summer time (UTC+2)
 * from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October,
 * UTC+1 otherwise. Day boundaries of deadlines are local, never UTC (DOMAIN.md 2.2). */
struct eng_datetime eng_datetime_from_unix(int64_t unix_seconds);
/* Writes "YYYY-MM-DD HH:MM:SS" and a NUL into out. */
void eng_datetime_format(char out[20], struct eng_datetime t);

enum eng_holiday_scope {
	ENG_HOLIDAY_NATIONAL,
	ENG_HOLIDAY_REGIONAL, /* the Comunitat Valenciana's own days */
	ENG_HOLIDAY_LOCAL,    /* a municipality's two local days */
};

struct eng_holiday {
	int32_t day;
	enum eng_holiday_scope scope;
	const char *name_ca; /* owned by the calendar */
	const char *name_es;
};

/* A set of holidays plus the years it covers. A year is covered once the calendar holds at
 * least one national or regional holiday of that year (every year has 1 January): local days
 * alone never cover a year, because they do not tell us the official list is loaded.
 * Not thread-safe while being built; read-only use from many threads is safe. */
struct eng_calendar;

/* Creates an empty calendar (covers no year). Returns 0, or ENG_EINTERNAL out of memory. */
int eng_calendar_new(struct eng_calendar **out, struct eng_error *err);
/* Accepts NULL. */
void eng_calendar_free(struct eng_calendar *c);

/* Adds the holidays in text, one a line:
 *     YYYY-MM-DD  scope  name-ca | name-es
 * with scope national, regional or local, fields separated by spaces or tabs, and `#`
 * starting a comment line. Blank lines are ignored. On a bad line returns ENG_EINVALID with
 * "line N: message" in err and leaves the calendar unchanged. A date listed twice in the
 * calendar is an error: two data files disagreeing about a day must be fixed, not merged. */
int eng_calendar_parse(struct eng_calendar *c, const char *text, struct eng_error *err);
/* Adds one holiday (names may be NULL; they default to ""). ENG_EINVALID if already listed. */
int eng_calendar_add(struct eng_calendar *c, int32_t day, enum eng_holiday_scope scope,
                     const char *name_ca, const char *name_es, struct eng_error *err);

bool eng_calendar_covers(const struct eng_calendar *c, int year);
/* The holiday on day d, or NULL. Borrowed: lives as long as c. */
const struct eng_holiday *eng_calendar_holiday(const struct eng_calendar *c, int32_t d);

/* Art. 30.2: Saturdays, Sundays and declared holidays are not business days. ENG_ENOTFOUND,
 * naming the year, when the calendar does not cover d's year. */
int eng_calendar_is_business(bool *out, const struct eng_calendar *c, int32_t d,
                             struct eng_error *err);
/* The first business day strictly after d. */
int eng_calendar_next_business(int32_t *out, const struct eng_calendar *c, int32_t d,
                               struct eng_error *err);

/* Art. 30.6: a day that is a holiday at the body's seat or at the party's residence counts as
 * a holiday, so the calendar for a party's deadline is the union of both. The union covers
 * only the years both cover (a year known on one side only would hide the other side's
 * holidays). Not for the electronic register, which uses the sede's calendar alone
 * (art. 31.3). Duplicated days are kept once, with a's names. */
int eng_calendar_union(struct eng_calendar **out, const struct eng_calendar *a,
                       const struct eng_calendar *b, struct eng_error *err);

/* Whether a due date that is not a business day moves to the next business day. */
enum eng_roll {
	ENG_ROLL_NONE,
	ENG_ROLL_NEXT_BUSINESS_DAY,
};

/* Every add function counts from `from`, the day of notification or publication, and sets out
 * to the last day of the period (inclusive). n must be positive (1 to 36500 days, 1200
 * months, 100 years): ENG_EINVALID otherwise. ENG_ENOTFOUND, naming the year, when the
 * computation needs a year the calendar does not cover. */

/* Arts. 30.2-30.3: start the day after `from` and count only business days. The result is a
 * business day by construction, so art. 30.5 has nothing to roll. */
int eng_calendar_add_business_days(int32_t *out, const struct eng_calendar *c, int32_t from,
                                   int n, struct eng_error *err);
/* Arts. 30.2-30.3 for periods a law sets in natural days: start the day after `from` and
 * count every day. Whether art. 30.5 then rolls a non-business last day is UNVERIFIED for
 * these periods (DOMAIN.md 6.2): the 10-day access window of an electronic notification
 * (art. 43.2) does NOT roll, so pass ENG_ROLL_NONE for it. With ENG_ROLL_NONE the
 * calendar is not consulted and may be NULL. */
int eng_calendar_add_natural_days(int32_t *out, const struct eng_calendar *c, int32_t from,
                                  int n, enum eng_roll roll, struct eng_error *err);
/* Art. 30.4: the period ends on the same day of the month as `from`, n months later; if the
 * target month is shorter, on its last day. Art. 30.5 then rolls a non-business last day
 * forward (ENG_ROLL_NEXT_BUSINESS_DAY). Whether the Administration's own maximum time
 * (art. 21) rolls too is a common reading but UNVERIFIED, hence the choice. */
int eng_calendar_add_months(int32_t *out, const struct eng_calendar *c, int32_t from, int n,
                            enum eng_roll roll, struct eng_error *err);
/* Art. 30.4 for years: 12 * n months (so 29 February ends on 28 February). */
int eng_calendar_add_years(int32_t *out, const struct eng_calendar *c, int32_t from, int n,
                           enum eng_roll roll, struct eng_error *err);
/* Art. 30.1: hours count from the minute of notification, only within business days (a
 * non-business day contributes no hours). At most 24 hours: longer periods must be set in
 * days, so hours outside 1-24 are ENG_EINVALID. A notification on a non-business day starts
 * counting at 00:00 of the next business day. A period ending exactly at midnight is reported
 * as 00:00:00 of the following calendar day, which is the same instant. */
int eng_calendar_add_hours(struct eng_datetime *out, const struct eng_calendar *c,
                           struct eng_datetime from, int hours, struct eng_error *err);

/* Whose deadline a register entry is measured against (art. 31.2.b-c). */
enum eng_clock {
	ENG_CLOCK_PARTY,          /* the party must meet a business-day deadline */
	ENG_CLOCK_ADMINISTRATION, /* the Administration's own time starts with the entry */
};

/* Art. 31.2.b: for a party's business-day deadline, an entry filed on a non-business day takes
 * effect at 00:00:00 of the next business day; on a business day it takes effect as filed.
 * Art. 31.2.c: for the Administration's deadlines the real filing time counts (the filer must
 * be told it). Pass the sede's calendar only (art. 31.3). Entries that share an effective time
 * keep their filing order: sort by (effective, filed), so weekend entries rank before those
 * filed on the next business day. */
int eng_calendar_effective_filing(struct eng_datetime *out, const struct eng_calendar *sede,
                                  struct eng_datetime filed, enum eng_clock clock,
                                  struct eng_error *err);

#endif
