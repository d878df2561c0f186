/* Calendars of non-business days and the deadline arithmetic of Ley 39/2015, arts. 30-31.
 * Invariant: holidays are kept sorted by day with no duplicates, and every judgement about a
 * day first checks that its year is covered, so missing data is an error and never a guess. */
#include "calendar.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* The years eng_day_parse accepts; coverage is tracked for these only. */
enum { YEAR_MIN = 1900, YEAR_MAX = 2200 };

struct entry {
	struct eng_holiday pub;
	int line; /* where eng_calendar_parse read it (0 if added otherwise), for duplicate errors */
};

struct eng_calendar {
	struct entry *items; /* sorted by pub.day, unique */
	size_t n, cap;
	bool covered[YEAR_MAX - YEAR_MIN + 1];
};

/* Howard Hinnant's days_from_civil: exact for the whole proleptic Gregorian calendar. */
int32_t eng_day_from_ymd(int year, int month, int day)
{
	assert(month >= 1 && month <= 12 && day >= 1 && day <= eng_days_in_month(year, month));
	int y = year - (month <= 2);
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

void eng_day_to_ymd(int32_t d, int *year, int *month, int *day)
{
	int32_t z = d + 719468;
	int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	int32_t doe = z - era * 146097;
	int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int32_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = m;
	*year = (int)(yoe + era * 400 + (m <= 2));
}

static int year_of(int32_t d)
{
	int y, m, dd;
	eng_day_to_ymd(d, &y, &m, &dd);
	return y;
}

int eng_days_in_month(int year, int month)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	assert(month >= 1 && month <= 12);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return mdays[month - 1] + (month == 2 && leap);
}

int eng_day_parse(int32_t *out, const char *s, struct eng_error *err)
{
	/* validate.c owns the definition of a well-formed date; we only convert. */
	if (!s || !eng_date_valid(s))
		return eng_error_set(err, ENG_EINVALID, "expected a date YYYY-MM-DD, found '%.40s'",
		                     s ? s : "");
	*out = eng_day_from_ymd(atoi(s), atoi(s + 5), atoi(s + 8));
	return ENG_OK;
}

/* Writes n decimal digits of v (0 <= v < 10^n) at out. Done by hand because the formats are
 * fixed-width and snprintf cannot prove to the compiler that they fit. */
static void put_digits(char *out, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
}

void eng_day_format(char out[11], int32_t d)
{
	int y, m, dd;
	eng_day_to_ymd(d, &y, &m, &dd);
	assert(y >= 0 && y <= 9999);
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, dd, 2);
	out[10] = '\0';
}

int eng_day_weekday(int32_t d)
{
	/* 1970-01-01 was a Thursday (ISO 4). */
	int w = (int)(((int64_t)d + 3) % 7);
	if (w < 0)
		w += 7;
	return w + 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int32_t last_sunday(int year, int month)
{
	int32_t last = eng_day_from_ymd(year, month, eng_days_in_month(year, month));
	return last - eng_day_weekday(last) % 7;
}

struct eng_datetime eng_datetime_from_unix(int64_t t)
{
	int year = year_of((int32_t)floor_div(t, 86400));
	int64_t summer_from = (int64_t)last_sunday(year, 3) * 86400 + 3600;
	int64_t summer_to = (int64_t)last_sunday(year, 10) * 86400 + 3600;
	int64_t local = t + (t >= summer_from && t < summer_to ? 7200 : 3600);
	struct eng_datetime r;
	r.day = (int32_t)floor_div(local, 86400);
	r.second = (int32_t)(local - (int64_t)r.day * 86400);
	return r;
}

void eng_datetime_format(char out[20], struct eng_datetime t)
{
	assert(t.second >= 0 && t.second < 86400);
	eng_day_format(out, t.day);
	out[10] = ' ';
	put_digits(out + 11, (int)(t.second / 3600), 2);
	out[13] = ':';
	put_digits(out + 14, (int)(t.second / 60 % 60), 2);
	out[16] = ':';
	put_digits(out + 17, (int)(t.second % 60), 2);
	out[19] = '\0';
}

int eng_calendar_new(struct eng_calendar **out, struct eng_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	return ENG_OK;
}

void eng_calendar_free(struct eng_calendar *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free((char *)c->items[i].pub.name_ca);
		free((char *)c->items[i].pub.name_es);
	}
	free(c->items);
	free(c);
}

/* Index of the first entry with day >= d. */
static size_t lower_bound(const struct eng_calendar *c, int32_t d)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->items[mid].pub.day < d)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct eng_holiday *eng_calendar_holiday(const struct eng_calendar *c, int32_t d)
{
	size_t i = lower_bound(c, d);
	return i < c->n && c->items[i].pub.day == d ? &c->items[i].pub : NULL;
}

bool eng_calendar_covers(const struct eng_calendar *c, int year)
{
	return year >= YEAR_MIN && year <= YEAR_MAX && c->covered[year - YEAR_MIN];
}

static void mark_covered(struct eng_calendar *c, int32_t d, enum eng_holiday_scope scope)
{
	int y = year_of(d);
	if (scope != ENG_HOLIDAY_LOCAL && y >= YEAR_MIN && y <= YEAR_MAX)
		c->covered[y - YEAR_MIN] = true;
}

static int insert(struct eng_calendar *c, int32_t day, enum eng_holiday_scope scope,
                  const char *ca, const char *es, int line, struct eng_error *err)
{
	size_t i = lower_bound(c, day);
	if (i < c->n && c->items[i].pub.day == day) {
		char ds[11];
		eng_day_format(ds, day);
		if (line && c->items[i].line)
			return eng_error_set(err, ENG_EINVALID, "line %d: %s is already listed on line %d",
			                     line, ds, c->items[i].line);
		if (line)
			return eng_error_set(err, ENG_EINVALID, "line %d: %s is already in the calendar",
			                     line, ds);
		return eng_error_set(err, ENG_EINVALID, "%s is already in the calendar", ds);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct entry *items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return eng_error_set(err, ENG_EINTERNAL, "out of memory");
		c->items = items;
		c->cap = cap;
	}
	char *nca = strdup(ca ? ca : ""), *nes = strdup(es ? es : "");
	if (!nca || !nes) {
		free(nca);
		free(nes);
		return eng_error_set(err, ENG_EINTERNAL, "out of memory");
	}
	memmove(&c->items[i + 1], &c->items[i], (c->n - i) * sizeof(*c->items));
	c->items[i] = (struct entry){{day, scope, nca, nes}, line};
	c->n++;
	mark_covered(c, day, scope);
	return ENG_OK;
}

int eng_calendar_add(struct eng_calendar *c, int32_t day, enum eng_holiday_scope scope,
                     const char *name_ca, const char *name_es, struct eng_error *err)
{
	return insert(c, day, scope, name_ca, name_es, 0, err);
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	return p;
}

/* Copies [p, q) without surrounding blanks into a malloc'd string. */
static char *trimmed(const char *p, const char *q)
{
	p = skip_blank(p, q);
	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	return strndup(p, (size_t)(q - p));
}

/* Parses one non-comment line into tmp. */
static int parse_line(struct eng_calendar *tmp, const char *p, const char *end, int line,
                      struct eng_error *err)
{
	const char *q = word_end(p, end);
	char date[16] = "";
	int32_t day;
	if ((size_t)(q - p) < sizeof(date))
		memcpy(date, p, (size_t)(q - p));
	if ((size_t)(q - p) >= sizeof(date) || eng_day_parse(&day, date, NULL) != 0)
		return eng_error_set(err, ENG_EINVALID, "line %d: expected a date YYYY-MM-DD, found '%.*s'",
		                     line, (int)(q - p > 40 ? 40 : q - p), p);
	p = skip_blank(q, end);
	q = word_end(p, end);
	static const char *const scopes[] = {"national", "regional", "local"};
	int scope = -1;
	for (int i = 0; i < 3; i++)
		if ((size_t)(q - p) == strlen(scopes[i]) && memcmp(p, scopes[i], (size_t)(q - p)) == 0)
			scope = i;
	if (scope < 0)
		return eng_error_set(err, ENG_EINVALID,
		                     "line %d: expected scope national, regional or local after the date, found '%.*s'",
		                     line, (int)(q - p > 40 ? 40 : q - p), p);
	p = skip_blank(q, end);
	const char *bar = memchr(p, '|', (size_t)(end - p));
	if (!bar)
		return eng_error_set(err, ENG_EINVALID,
		                     "line %d: expected 'name-ca | name-es' after the scope, found no '|'",
		                     line);
	char *ca = trimmed(p, bar), *es = trimmed(bar + 1, end);
	int rc;
	if (!ca || !es)
		rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
	else if (!*ca || !*es || strchr(es, '|'))
		rc = eng_error_set(err, ENG_EINVALID,
		                   "line %d: expected one Valencian and one Spanish name, 'name-ca | name-es'",
		                   line);
	else
		rc = insert(tmp, day, (enum eng_holiday_scope)scope, ca, es, line, err);
	free(ca);
	free(es);
	return rc;
}

static int by_day(const void *a, const void *b)
{
	int32_t x = ((const struct entry *)a)->pub.day, y = ((const struct entry *)b)->pub.day;
	return (x > y) - (x < y);
}

int eng_calendar_parse(struct eng_calendar *c, const char *text, struct eng_error *err)
{
	/* Parse into a scratch calendar first so that a bad line leaves c untouched. */
	struct eng_calendar *tmp = NULL;
	int rc = eng_calendar_new(&tmp, err);
	if (rc != 0)
		return rc;
	int line = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *next = nl ? nl + 1 : end;
		line++;
		if (end > p && end[-1] == '\r')
			end--;
		p = skip_blank(p, end);
		if (p < end && *p != '#') {
			rc = parse_line(tmp, p, end, line, err);
			if (rc != 0)
				goto done;
		}
		p = next;
	}
	for (size_t i = 0; i < tmp->n; i++) {
		if (eng_calendar_holiday(c, tmp->items[i].pub.day)) {
			char ds[11];
			eng_day_format(ds, tmp->items[i].pub.day);
			rc = eng_error_set(err, ENG_EINVALID, "line %d: %s is already in the calendar",
			                   tmp->items[i].line, ds);
			goto done;
		}
	}
	/* Reserve first, then move the entries (names included) over: nothing can fail once c
	 * starts changing. */
	if (c->cap < c->n + tmp->n) {
		struct entry *items = realloc(c->items, (c->n + tmp->n) * sizeof(*items));
		if (!items) {
			rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
			goto done;
		}
		c->items = items;
		c->cap = c->n + tmp->n;
	}
	/* An empty text has no items, and memcpy and qsort must not see a NULL. */
	if (tmp->n)
		memcpy(&c->items[c->n], tmp->items, tmp->n * sizeof(*tmp->items));
	c->n += tmp->n;
	tmp->n = 0;
	if (c->n)
		qsort(c->items, c->n, sizeof(*c->items), by_day);
	for (int y = YEAR_MIN; y <= YEAR_MAX; y++)
		c->covered[y - YEAR_MIN] = c->covered[y - YEAR_MIN] || tmp->covered[y - YEAR_MIN];
done:
	eng_calendar_free(tmp);
	return rc;
}

int eng_calendar_union(struct eng_calendar **out, const struct eng_calendar *a,
                       const struct eng_calendar *b, struct eng_error *err)
{
	*out = NULL;
	struct eng_calendar *u = NULL;
	int rc = eng_calendar_new(&u, err);
	if (rc != 0)
		return rc;
	const struct eng_calendar *sides[] = {a, b};
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < sides[s]->n; i++) {
			const struct entry *e = &sides[s]->items[i];
			if (eng_calendar_holiday(u, e->pub.day))
				continue;
			rc = insert(u, e->pub.day, e->pub.scope, e->pub.name_ca, e->pub.name_es, 0, err);
			if (rc != 0)
				goto done;
		}
	}
	/* insert() marked every year either side has data for; keep only the shared ones. */
	for (int y = YEAR_MIN; y <= YEAR_MAX; y++)
		u->covered[y - YEAR_MIN] = eng_calendar_covers(a, y) && eng_calendar_covers(b, y);
	*out = u;
	u = NULL;
done:
	eng_calendar_free(u);
	return rc;
}

int eng_calendar_is_business(bool *out, const struct eng_calendar *c, int32_t d,
                             struct eng_error *err)
{
	int y = year_of(d);
	if (!eng_calendar_covers(c, y)) {
		char ds[11];
		eng_day_format(ds, d);
		return eng_error_set(err, ENG_ENOTFOUND,
		                     "no holiday calendar for %d (needed to judge %s)", y, ds);
	}
	*out = eng_day_weekday(d) < 6 && !eng_calendar_holiday(c, d);
	return ENG_OK;
}

int eng_calendar_next_business(int32_t *out, const struct eng_calendar *c, int32_t d,
                               struct eng_error *err)
{
	bool business = false;
	do {
		d++;
		int rc = eng_calendar_is_business(&business, c, d, err);
		if (rc != 0)
			return rc;
	} while (!business);
	*out = d;
	return ENG_OK;
}

/* Art. 30.5: a last day that is not a business day moves to the next business day. */
static int roll(int32_t *out, const struct eng_calendar *c, int32_t d, enum eng_roll how,
                struct eng_error *err)
{
	if (how == ENG_ROLL_NONE) {
		*out = d;
		return ENG_OK;
	}
	bool business;
	int rc = eng_calendar_is_business(&business, c, d, err);
	if (rc != 0)
		return rc;
	if (business) {
		*out = d;
		return ENG_OK;
	}
	return eng_calendar_next_business(out, c, d, err);
}

static int check_amount(int n, int max, const char *unit, struct eng_error *err)
{
	if (n < 1 || n > max)
		return eng_error_set(err, ENG_EINVALID, "a period of %d %s: expected 1 to %d", n, unit, max);
	return ENG_OK;
}

int eng_calendar_add_business_days(int32_t *out, const struct eng_calendar *c, int32_t from,
                                   int n, struct eng_error *err)
{
	int rc = check_amount(n, 36500, "business days", err);
	int32_t d = from;
	for (int k = 0; rc == 0 && k < n; k++)
		rc = eng_calendar_next_business(&d, c, d, err);
	if (rc == 0)
		*out = d;
	return rc;
}

int eng_calendar_add_natural_days(int32_t *out, const struct eng_calendar *c, int32_t from,
                                  int n, enum eng_roll how, struct eng_error *err)
{
	int rc = check_amount(n, 36500, "natural days", err);
	if (rc != 0)
		return rc;
	/* Counting from the day after and including the n-th day lands on from + n. */
	return roll(out, c, from + n, how, err);
}

int eng_calendar_add_months(int32_t *out, const struct eng_calendar *c, int32_t from, int n,
                            enum eng_roll how, struct eng_error *err)
{
	int rc = check_amount(n, 1200, "months", err);
	if (rc != 0)
		return rc;
	int y, m, d;
	eng_day_to_ymd(from, &y, &m, &d);
	int total = y * 12 + (m - 1) + n;
	int ty = total / 12, tm = total % 12 + 1;
	int last = eng_days_in_month(ty, tm);
	return roll(out, c, eng_day_from_ymd(ty, tm, d < last ? d : last), how, err);
}

int eng_calendar_add_years(int32_t *out, const struct eng_calendar *c, int32_t from, int n,
                           enum eng_roll how, struct eng_error *err)
{
	int rc = check_amount(n, 100, "years", err);
	if (rc != 0)
		return rc;
	return eng_calendar_add_months(out, c, from, n * 12, how, err);
}

int eng_calendar_add_hours(struct eng_datetime *out, const struct eng_calendar *c,
                           struct eng_datetime from, int hours, struct eng_error *err)
{
	assert(from.second >= 0 && from.second < 86400);
	if (hours < 1 || hours > 24)
		return eng_error_set(err, ENG_EINVALID,
		                     "a period of %d hours: expected 1 to 24 (longer periods are set in days, art. 30.1)",
		                     hours);
	bool business;
	int rc = eng_calendar_is_business(&business, c, from.day, err);
	if (rc != 0)
		return rc;
	struct eng_datetime t = from;
	if (!business) {
		t.second = 0;
		if ((rc = eng_calendar_next_business(&t.day, c, t.day, err)) != 0)
			return rc;
	}
	int32_t left = hours * 3600;
	for (;;) {
		int32_t in_day = 86400 - t.second;
		if (left <= in_day) {
			t.second += left;
			if (t.second == 86400) {
				t.day++;
				t.second = 0;
			}
			*out = t;
			return ENG_OK;
		}
		left -= in_day;
		t.second = 0;
		if ((rc = eng_calendar_next_business(&t.day, c, t.day, err)) != 0)
			return rc;
	}
}

int eng_calendar_effective_filing(struct eng_datetime *out, const struct eng_calendar *sede,
                                  struct eng_datetime filed, enum eng_clock clock,
                                  struct eng_error *err)
{
	assert(filed.second >= 0 && filed.second < 86400);
	if (clock == ENG_CLOCK_ADMINISTRATION) {
		*out = filed;
		return ENG_OK;
	}
	bool business;
	int rc = eng_calendar_is_business(&business, sede, filed.day, err);
	if (rc != 0)
		return rc;
	if (business) {
		*out = filed;
		return ENG_OK;
	}
	struct eng_datetime t = {0, 0};
	if ((rc = eng_calendar_next_business(&t.day, sede, filed.day, err)) != 0)
		return rc;
	*out = t;
	return ENG_OK;
}
