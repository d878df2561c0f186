/* Deadlines of Ley 39/2015 arts. 30-31 against every vector of DOMAIN.md 2.3, 2.4 and 6.2,
 * computed over the real tramits/calendars data files, plus the calendar parser's errors and
 * the refusal to count through a year the data does not cover. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/calendar.h"

#define CALENDARS TRAMIT_SOURCE_DIR "/tramits/calendars/"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	cr_assert(n > 0 && n < 65535, "%s: read %zu bytes", path, n);
	fclose(f);
	return buf;
}

static void load(struct eng_calendar *c, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), CALENDARS "%s", file);
	char *text = slurp(path);
	struct eng_error err = {0};
	cr_assert_eq(eng_calendar_parse(c, text, &err), 0, "%s: %s", file, err.msg);
	free(text);
}

static int32_t D(const char *s)
{
	int32_t d;
	struct eng_error err = {0};
	cr_assert_eq(eng_day_parse(&d, s, &err), 0, "%s", err.msg);
	return d;
}

/* The 2026 + 2027 national and CV calendar, optionally with València city's local days. */
static struct eng_calendar *cv(bool valencia_city)
{
	struct eng_calendar *c = NULL;
	cr_assert_eq(eng_calendar_new(&c, NULL), 0);
	load(c, "es-vc-2026.txt");
	load(c, "es-vc-2027.txt");
	if (valencia_city) {
		cr_assert_eq(eng_calendar_add(c, D("2026-01-22"), ENG_HOLIDAY_LOCAL, "Sant Vicent Màrtir",
		                              "San Vicente Mártir", NULL), 0);
		cr_assert_eq(eng_calendar_add(c, D("2026-04-13"), ENG_HOLIDAY_LOCAL, "Sant Vicent Ferrer",
		                              "San Vicente Ferrer", NULL), 0);
	}
	return c;
}

static void expect_day(int32_t got, const char *want, const char *id)
{
	char s[11];
	eng_day_format(s, got);
	cr_expect_str_eq(s, want, "%s: got %s, want %s", id, s, want);
}

Test(days, day_numbers_round_trip_and_know_their_weekday)
{
	cr_expect_eq(eng_day_from_ymd(1970, 1, 1), 0);
	cr_expect_eq(eng_day_weekday(D("2026-01-01")), 4); /* Thursday */
	cr_expect_eq(eng_day_weekday(D("2026-08-15")), 6); /* Saturday */
	cr_expect_eq(eng_day_weekday(D("1969-12-28")), 7); /* Sunday, before the epoch */
	for (int32_t d = D("1999-12-25"); d < D("2031-01-10"); d++) {
		int y, m, dd;
		eng_day_to_ymd(d, &y, &m, &dd);
		cr_assert_eq(eng_day_from_ymd(y, m, dd), d);
	}
	cr_expect_eq(D("2028-03-01") - D("2028-02-28"), 2); /* 2028 is a leap year */
	cr_expect_eq(eng_days_in_month(2100, 2), 28);
	cr_expect_eq(eng_days_in_month(2000, 2), 29);
}

Test(days, parse_refuses_impossible_dates_with_the_text_found)
{
	int32_t d;
	struct eng_error err = {0};
	cr_expect_eq(eng_day_parse(&d, "2026-02-29", &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "expected a date YYYY-MM-DD, found '2026-02-29'");
	cr_expect_eq(eng_day_parse(&d, "26-3-1", &err), ENG_EINVALID);
}

Test(days, madrid_local_time_follows_the_eu_summer_time_rule)
{
	char s[20];
	eng_datetime_format(s, eng_datetime_from_unix(1774745999)); /* 2026-03-29 00:59:59 UTC */
	cr_expect_str_eq(s, "2026-03-29 01:59:59");
	eng_datetime_format(s, eng_datetime_from_unix(1774746000)); /* 01:00:00 UTC: CEST */
	cr_expect_str_eq(s, "2026-03-29 03:00:00");
	eng_datetime_format(s, eng_datetime_from_unix(1792889999)); /* 2026-10-25 00:59:59 UTC */
	cr_expect_str_eq(s, "2026-10-25 02:59:59");
	eng_datetime_format(s, eng_datetime_from_unix(1792890000)); /* back to CET */
	cr_expect_str_eq(s, "2026-10-25 02:00:00");
	/* 23:30 UTC on New Year's Eve is already the next day, and the next year, in Madrid. */
	eng_datetime_format(s, eng_datetime_from_unix(1798759800));
	cr_expect_str_eq(s, "2027-01-01 00:30:00");
}

/* DOMAIN.md 2.3: (notified, business days, València city with 22 Jan and 13 Apr, CV only,
 * ISO weekday of the València due date as printed in the table). */
static const struct {
	const char *id, *from;
	int n;
	const char *valencia, *cv_only;
	int weekday;
} business_vectors[] = {
	{"D1", "2026-03-12", 10, "2026-03-27", "2026-03-27", 5},
	{"D2", "2026-03-13", 10, "2026-03-30", "2026-03-30", 1},
	{"D3", "2026-03-30", 10, "2026-04-16", "2026-04-15", 4},
	{"D4", "2026-04-02", 10, "2026-04-21", "2026-04-20", 2},
	{"D5", "2026-01-15", 10, "2026-01-30", "2026-01-29", 5},
	{"D6", "2026-10-02", 15, "2026-10-27", "2026-10-27", 2},
	{"D7", "2026-12-17", 10, "2027-01-04", "2027-01-04", 1},
	{"D8", "2026-11-30", 20, "2026-12-30", "2026-12-30", 3},
	{"D9", "2026-06-19", 10, "2026-07-06", "2026-07-06", 1},
};

Test(business_days, every_domain_vector_for_valencia_city_and_cv_only)
{
	struct eng_calendar *city = cv(true), *region = cv(false);
	for (size_t i = 0; i < sizeof(business_vectors) / sizeof(business_vectors[0]); i++) {
		int32_t due;
		struct eng_error err = {0};
		const char *id = business_vectors[i].id;
		cr_assert_eq(eng_calendar_add_business_days(&due, city, D(business_vectors[i].from),
		                                            business_vectors[i].n, &err), 0, "%s: %s", id, err.msg);
		expect_day(due, business_vectors[i].valencia, id);
		cr_expect_eq(eng_day_weekday(due), business_vectors[i].weekday, "%s", id);
		cr_assert_eq(eng_calendar_add_business_days(&due, region, D(business_vectors[i].from),
		                                            business_vectors[i].n, &err), 0, "%s: %s", id, err.msg);
		expect_day(due, business_vectors[i].cv_only, id);
	}
	eng_calendar_free(city);
	eng_calendar_free(region);
}

Test(business_days, d4_with_the_art_68_2_extension_of_five_more_days)
{
	struct eng_calendar *city = cv(true);
	int32_t due, extended;
	cr_assert_eq(eng_calendar_add_business_days(&due, city, D("2026-04-02"), 10, NULL), 0);
	cr_assert_eq(eng_calendar_add_business_days(&extended, city, due, 5, NULL), 0);
	expect_day(extended, "2026-04-28", "D4+5");
	eng_calendar_free(city);
}

Test(business_days, days_that_are_not_holidays_in_cv_count)
{
	struct eng_calendar *c = cv(false);
	const char *business[] = {"2026-04-02" /* Maundy Thursday */, "2026-12-24", "2026-12-31",
	                          "2026-08-17" /* August counts */};
	for (size_t i = 0; i < 4; i++) {
		bool b = false;
		cr_assert_eq(eng_calendar_is_business(&b, c, D(business[i]), NULL), 0);
		cr_expect(b, "%s should be a business day", business[i]);
	}
	bool b = true;
	cr_assert_eq(eng_calendar_is_business(&b, c, D("2026-11-01"), NULL), 0);
	cr_expect(!b, "a Sunday is never a business day");
	const struct eng_holiday *h = eng_calendar_holiday(c, D("2026-03-19"));
	cr_assert_not_null(h);
	cr_expect_str_eq(h->name_ca, "Sant Josep");
	cr_expect_str_eq(h->name_es, "San José");
	cr_expect_eq(h->scope, ENG_HOLIDAY_REGIONAL);
	eng_calendar_free(c);
}

Test(business_days, d7_with_only_2026_data_fails_naming_2027_instead_of_returning_1_january)
{
	struct eng_calendar *c = NULL;
	cr_assert_eq(eng_calendar_new(&c, NULL), 0);
	load(c, "es-vc-2026.txt");
	int32_t due = 0;
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_add_business_days(&due, c, D("2026-12-17"), 10, &err), ENG_ENOTFOUND);
	cr_expect_str_eq(err.msg, "no holiday calendar for 2027 (needed to judge 2027-01-01)");
	cr_expect_eq(due, 0, "out must be untouched on failure");
	eng_calendar_free(c);
}

Test(business_days, a_computation_needing_2028_fails_naming_2028)
{
	struct eng_calendar *c = cv(false);
	int32_t due;
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_add_business_days(&due, c, D("2027-12-20"), 10, &err), ENG_ENOTFOUND);
	cr_expect_str_eq(err.msg, "no holiday calendar for 2028 (needed to judge 2028-01-01)");
	cr_expect_eq(eng_calendar_add_months(&due, c, D("2027-12-15"), 1, ENG_ROLL_NEXT_BUSINESS_DAY, &err),
	             ENG_ENOTFOUND);
	cr_expect_str_eq(err.msg, "no holiday calendar for 2028 (needed to judge 2028-01-15)");
	eng_calendar_free(c);
}

Test(business_days, amounts_outside_the_range_are_refused)
{
	struct eng_calendar *c = cv(false);
	int32_t due;
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_add_business_days(&due, c, D("2026-03-02"), 0, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "a period of 0 business days: expected 1 to 36500");
	cr_expect_eq(eng_calendar_add_months(&due, c, D("2026-03-02"), -1, ENG_ROLL_NONE, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "a period of -1 months: expected 1 to 1200");
	eng_calendar_free(c);
}

/* DOMAIN.md 2.4, M1-M8: one month (three for M8) with art. 30.5 rolling. */
static const struct {
	const char *id, *from;
	int months;
	const char *due;
} month_vectors[] = {
	{"M1", "2026-01-31", 1, "2026-03-02"}, {"M2", "2026-01-30", 1, "2026-03-02"},
	{"M3", "2026-03-31", 1, "2026-04-30"}, {"M4", "2026-07-15", 1, "2026-08-17"},
	{"M5", "2026-11-08", 1, "2026-12-09"}, {"M6", "2026-09-12", 1, "2026-10-13"},
	{"M7", "2026-07-31", 1, "2026-08-31"}, {"M8", "2026-02-10", 3, "2026-05-11"},
};

Test(months, every_domain_vector_m1_to_m8)
{
	struct eng_calendar *c = cv(false);
	for (size_t i = 0; i < sizeof(month_vectors) / sizeof(month_vectors[0]); i++) {
		int32_t due;
		struct eng_error err = {0};
		cr_assert_eq(eng_calendar_add_months(&due, c, D(month_vectors[i].from), month_vectors[i].months,
		                                     ENG_ROLL_NEXT_BUSINESS_DAY, &err), 0, "%s: %s",
		             month_vectors[i].id, err.msg);
		expect_day(due, month_vectors[i].due, month_vectors[i].id);
	}
	eng_calendar_free(c);
}

Test(months, m8_without_rolling_ends_on_the_sunday)
{
	struct eng_calendar *c = cv(false);
	int32_t due;
	cr_assert_eq(eng_calendar_add_months(&due, c, D("2026-02-10"), 3, ENG_ROLL_NONE, NULL), 0);
	expect_day(due, "2026-05-10", "M8 no roll");
	/* M1 unrolled shows the clamping on its own. */
	cr_assert_eq(eng_calendar_add_months(&due, c, D("2026-01-31"), 1, ENG_ROLL_NONE, NULL), 0);
	expect_day(due, "2026-02-28", "M1 no roll");
	eng_calendar_free(c);
}

Test(months, years_are_twelve_months_and_cross_into_next_years_data)
{
	struct eng_calendar *c = cv(false);
	int32_t due;
	cr_assert_eq(eng_calendar_add_years(&due, c, D("2026-02-10"), 1, ENG_ROLL_NEXT_BUSINESS_DAY, NULL), 0);
	expect_day(due, "2027-02-10", "1 year");
	/* 2026-12-25 + 1 year = Sat 2027-12-25, rolled over Sunday to Monday. */
	cr_assert_eq(eng_calendar_add_years(&due, c, D("2026-12-25"), 1, ENG_ROLL_NEXT_BUSINESS_DAY, NULL), 0);
	expect_day(due, "2027-12-27", "1 year from Christmas");
	eng_calendar_free(c);
}

Test(natural_days, n1_access_through_12_march_rejected_at_13_march_0000)
{
	struct eng_calendar *c = cv(false);
	int32_t last;
	cr_assert_eq(eng_calendar_add_natural_days(&last, c, D("2026-03-02"), 10, ENG_ROLL_NONE, NULL), 0);
	expect_day(last, "2026-03-12", "N1 last day");
	/* Access is possible through 23:59:59 of the last day; rejection takes effect at the next
	 * midnight. */
	struct eng_datetime rejected = {last + 1, 0};
	char s[20];
	eng_datetime_format(s, rejected);
	cr_expect_str_eq(s, "2026-03-13 00:00:00");
	eng_calendar_free(c);
}

Test(natural_days, n2_christmas_counts_and_the_window_ends_on_28_december)
{
	int32_t last;
	/* Without rolling the calendar is not needed at all. */
	cr_assert_eq(eng_calendar_add_natural_days(&last, NULL, D("2026-12-18"), 10, ENG_ROLL_NONE, NULL), 0);
	expect_day(last, "2026-12-28", "N2");
}

Test(natural_days, n3_access_on_saturday_notifies_then_and_the_appeal_month_runs_to_7_april)
{
	struct eng_calendar *c = cv(false);
	int32_t last, due;
	cr_assert_eq(eng_calendar_add_natural_days(&last, c, D("2026-03-02"), 10, ENG_ROLL_NONE, NULL), 0);
	int32_t accessed = D("2026-03-07");
	cr_expect(accessed <= last, "accessed inside the window, so notified on 2026-03-07");
	cr_assert_eq(eng_calendar_add_months(&due, c, accessed, 1, ENG_ROLL_NEXT_BUSINESS_DAY, NULL), 0);
	expect_day(due, "2026-04-07", "N3");
	eng_calendar_free(c);
}

Test(natural_days, rolling_is_only_done_when_asked)
{
	struct eng_calendar *c = cv(false);
	int32_t due;
	cr_assert_eq(eng_calendar_add_natural_days(&due, c, D("2026-03-09"), 10, ENG_ROLL_NONE, NULL), 0);
	expect_day(due, "2026-03-19", "no roll onto Sant Josep");
	cr_assert_eq(eng_calendar_add_natural_days(&due, c, D("2026-03-09"), 10, ENG_ROLL_NEXT_BUSINESS_DAY, NULL), 0);
	expect_day(due, "2026-03-20", "rolled past Sant Josep");
	eng_calendar_free(c);
}

static struct eng_datetime at(const char *day, int h, int m, int s)
{
	return (struct eng_datetime){D(day), h * 3600 + m * 60 + s};
}

static void expect_time(struct eng_datetime t, const char *want, const char *id)
{
	char s[20];
	eng_datetime_format(s, t);
	cr_expect_str_eq(s, want, "%s", id);
}

/* DOMAIN.md 2.4, R1-R4: the sede's calendar only (CV, no local days of the party). */
Test(register, r1_saturday_filing_is_effective_monday_0000)
{
	struct eng_calendar *sede = cv(false);
	struct eng_datetime eff;
	cr_assert_eq(eng_calendar_effective_filing(&eff, sede, at("2026-03-21", 10, 15, 0), ENG_CLOCK_PARTY, NULL), 0);
	expect_time(eff, "2026-03-23 00:00:00", "R1");
	/* A business-day deadline ending on Friday 20 March is missed. */
	int32_t deadline;
	cr_assert_eq(eng_calendar_add_business_days(&deadline, sede, D("2026-03-05"), 10, NULL), 0);
	expect_day(deadline, "2026-03-20", "R1 deadline");
	cr_expect(eff.day > deadline, "the filing is late");
	eng_calendar_free(sede);
}

Test(register, r2_holiday_filing_is_effective_next_day_0000_and_ranks_first)
{
	struct eng_calendar *sede = cv(false);
	struct eng_datetime filed = at("2026-03-19", 23, 59, 0), eff;
	cr_assert_eq(eng_calendar_effective_filing(&eff, sede, filed, ENG_CLOCK_PARTY, NULL), 0);
	expect_time(eff, "2026-03-20 00:00:00", "R2");
	/* Sorting by (effective, filed) puts it before a filing at 00:00:00 on the 20th. */
	struct eng_datetime other = at("2026-03-20", 0, 0, 0), eff2;
	cr_assert_eq(eng_calendar_effective_filing(&eff2, sede, other, ENG_CLOCK_PARTY, NULL), 0);
	cr_expect(eff.day == eff2.day && eff.second == eff2.second && filed.day < other.day);
	eng_calendar_free(sede);
}

Test(register, r3_business_day_filing_is_effective_as_filed)
{
	struct eng_calendar *sede = cv(false);
	struct eng_datetime eff;
	cr_assert_eq(eng_calendar_effective_filing(&eff, sede, at("2026-03-18", 23, 59, 59), ENG_CLOCK_PARTY, NULL), 0);
	expect_time(eff, "2026-03-18 23:59:59", "R3");
	eng_calendar_free(sede);
}

Test(register, r4_the_administrations_clock_starts_at_the_real_filing_time)
{
	struct eng_calendar *sede = cv(false);
	struct eng_datetime eff;
	cr_assert_eq(eng_calendar_effective_filing(&eff, sede, at("2026-03-21", 10, 15, 0),
	                                           ENG_CLOCK_ADMINISTRATION, NULL), 0);
	expect_time(eff, "2026-03-21 10:15:00", "R4");
	eng_calendar_free(sede);
}

Test(hours, only_hours_of_business_days_count)
{
	struct eng_calendar *c = cv(false);
	struct eng_datetime due;
	/* Wednesday noon + 24 h: 12 h on Wednesday, none on Sant Josep, 12 h on Friday. */
	cr_assert_eq(eng_calendar_add_hours(&due, c, at("2026-03-18", 12, 0, 0), 24, NULL), 0);
	expect_time(due, "2026-03-20 12:00:00", "over a holiday");
	/* Notified on Saturday: counting starts on Monday at 00:00. */
	cr_assert_eq(eng_calendar_add_hours(&due, c, at("2026-03-21", 10, 15, 0), 1, NULL), 0);
	expect_time(due, "2026-03-23 01:00:00", "from a Saturday");
	/* Ending exactly at midnight is reported as the next calendar day at 00:00. */
	cr_assert_eq(eng_calendar_add_hours(&due, c, at("2026-03-20", 0, 0, 0), 24, NULL), 0);
	expect_time(due, "2026-03-21 00:00:00", "to midnight");
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_add_hours(&due, c, at("2026-03-20", 0, 0, 0), 25, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "a period of 25 hours: expected 1 to 24 (longer periods are set in days, art. 30.1)");
	eng_calendar_free(c);
}

Test(union, a_holiday_at_the_residence_counts_for_the_party_art_30_6)
{
	struct eng_calendar *seat = cv(true), *residence = cv(false), *both = NULL;
	cr_assert_eq(eng_calendar_add(residence, D("2026-03-16"), ENG_HOLIDAY_LOCAL, "festa", "fiesta", NULL), 0);
	cr_assert_eq(eng_calendar_union(&both, seat, residence, NULL), 0);
	int32_t due;
	cr_assert_eq(eng_calendar_add_business_days(&due, both, D("2026-03-12"), 10, NULL), 0);
	expect_day(due, "2026-03-30", "D1 plus a residence holiday");
	cr_assert_eq(eng_calendar_add_business_days(&due, both, D("2026-01-15"), 10, NULL), 0);
	expect_day(due, "2026-01-30", "D5 keeps the seat's 22 January");
	eng_calendar_free(both);
	eng_calendar_free(seat);
	eng_calendar_free(residence);
}

Test(union, covers_only_the_years_both_sides_cover)
{
	struct eng_calendar *full = cv(false), *only2026 = NULL, *both = NULL;
	cr_assert_eq(eng_calendar_new(&only2026, NULL), 0);
	load(only2026, "es-vc-2026.txt");
	cr_assert_eq(eng_calendar_union(&both, full, only2026, NULL), 0);
	cr_expect(eng_calendar_covers(both, 2026));
	cr_expect(!eng_calendar_covers(both, 2027));
	eng_calendar_free(both);
	eng_calendar_free(full);
	eng_calendar_free(only2026);
}

Test(parse, the_data_files_cover_their_year_with_the_listed_days)
{
	struct eng_calendar *c = cv(false);
	cr_expect(eng_calendar_covers(c, 2026));
	cr_expect(eng_calendar_covers(c, 2027));
	cr_expect(!eng_calendar_covers(c, 2025));
	cr_expect(!eng_calendar_covers(c, 2028));
	size_t n2026 = 0;
	for (int32_t d = D("2026-01-01"); d <= D("2026-12-31"); d++)
		n2026 += eng_calendar_holiday(c, d) != NULL;
	cr_expect_eq(n2026, 12, "DOMAIN.md 2.5 lists 12 days, found %zu", n2026);
	eng_calendar_free(c);
}

Test(parse, comments_blank_lines_and_crlf_are_accepted)
{
	struct eng_calendar *c = NULL;
	cr_assert_eq(eng_calendar_new(&c, NULL), 0);
	struct eng_error err = {0};
	cr_assert_eq(eng_calendar_parse(c, "# header\r\n\r\n  2030-01-01\tnational  Any Nou |Año Nuevo \r\n"
	                                   "2030-05-02 local Festa | Fiesta", &err), 0, "%s", err.msg);
	const struct eng_holiday *h = eng_calendar_holiday(c, D("2030-01-01"));
	cr_assert_not_null(h);
	cr_expect_str_eq(h->name_ca, "Any Nou");
	cr_expect_str_eq(h->name_es, "Año Nuevo");
	cr_expect_not_null(eng_calendar_holiday(c, D("2030-05-02")));
	cr_expect(eng_calendar_covers(c, 2030));
	eng_calendar_free(c);
}

Test(parse, local_days_alone_do_not_cover_a_year)
{
	struct eng_calendar *c = NULL;
	cr_assert_eq(eng_calendar_new(&c, NULL), 0);
	cr_assert_eq(eng_calendar_parse(c, "2031-01-22 local Sant Vicent | San Vicente\n", NULL), 0);
	cr_expect(!eng_calendar_covers(c, 2031));
	bool b;
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_is_business(&b, c, D("2031-03-03"), &err), ENG_ENOTFOUND);
	cr_expect_str_eq(err.msg, "no holiday calendar for 2031 (needed to judge 2031-03-03)");
	eng_calendar_free(c);
}

static void expect_parse_error(const char *text, const char *msg)
{
	struct eng_calendar *c = NULL;
	cr_assert_eq(eng_calendar_new(&c, NULL), 0);
	cr_assert_eq(eng_calendar_parse(c, "2026-01-01 national A | B\n", NULL), 0);
	struct eng_error err = {0};
	cr_expect_eq(eng_calendar_parse(c, text, &err), ENG_EINVALID, "%s", text);
	cr_expect_str_eq(err.msg, msg);
	/* Nothing of the bad text was kept. */
	cr_expect_null(eng_calendar_holiday(c, D("2026-02-02")));
	eng_calendar_free(c);
}

Test(parse, bad_lines_are_reported_with_their_number)
{
	expect_parse_error("2026-02-02 national A | B\n2026-02-30 national A | B\n",
	                   "line 2: expected a date YYYY-MM-DD, found '2026-02-30'");
	expect_parse_error("# c\n2026-02-02 nacional A | B\n",
	                   "line 2: expected scope national, regional or local after the date, found 'nacional'");
	expect_parse_error("2026-02-02 national Sant Josep\n",
	                   "line 1: expected 'name-ca | name-es' after the scope, found no '|'");
	expect_parse_error("2026-02-02 national  | B\n",
	                   "line 1: expected one Valencian and one Spanish name, 'name-ca | name-es'");
	expect_parse_error("2026-02-02 national A | B\n\n2026-02-02 regional C | D\n",
	                   "line 3: 2026-02-02 is already listed on line 1");
	expect_parse_error("2026-02-02 national A | B\n2026-01-01 regional C | D\n",
	                   "line 2: 2026-01-01 is already in the calendar");
	expect_parse_error("2026-02-02\n", "line 1: expected scope national, regional or local after the date, found ''");
}
