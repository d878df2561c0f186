/* Scenario tests: a test file beside a tràmit (name_test.lua) lists scenarios, each a run of
 * steps (actions, timers, connector results) at given times with what must follow. The runner
 * drives the pure step function with a fake clock and no database, and reports every
 * expectation that fails as expected vs got at the step's line.
 * Invariant: a scenario starts from a new expedient and its own calendar; nothing leaks into
 * the next one. */
#include "dsl/sandbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/core/calendar.h"
#include "engine/core/step.h"

static const char *const refusal_names[] = {
	[ENG_REFUSED_NONE] = "none",
	[ENG_REFUSED_NOT_AVAILABLE] = "not_available",
	[ENG_REFUSED_NOT_ALLOWED] = "not_allowed",
	[ENG_REFUSED_GUARD] = "guard",
	[ENG_REFUSED_REQUIREMENT] = "requirement",
	[ENG_REFUSED_INVALID_FORM] = "invalid_form",
	[ENG_REFUSED_DEADLINE_PASSED] = "deadline_passed",
	[ENG_REFUSED_ENVIRONMENT] = "environment",
	[ENG_REFUSED_FUNCTION] = "function",
	[ENG_REFUSED_REPLAY] = "replay",
};

struct run {
	lua_State *L;
	const char *path;
	const char *scenario;
	FILE *report;
	struct dsl_test_summary *sum;
	struct eng_arena arena;
	const struct eng_definition *def;
	struct eng_calendar *cal;
	struct eng_expedient exp;
	const char *applicant;
	int64_t now_ms;
	int n_csv;
	bool failed;
};

static void fail(struct run *r, int line, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct run *r, int line, const char *step, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(r->report, "%s:%d: scenario '%s', %s: %s\n", r->path, line, r->scenario, step, msg);
	r->sum->failures++;
	r->failed = true;
}

static const char *field_string(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	const char *s = lua_rawget(L, t) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1); /* the string stays alive in t */
	return s;
}

/* "YYYY-MM-DD HH:MM" (Madrid) into Unix ms; false if malformed. */
static bool parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0;
	char tail;
	int n = sscanf(s, "%4d-%2d-%2d %2d:%2d%c", &y, &mo, &d, &h, &mi, &tail);
	if ((n != 3 && n != 5) || mo < 1 || mo > 12 || d < 1 || d > eng_days_in_month(y, mo) ||
	    h > 23 || mi > 59 || h < 0 || mi < 0)
		return false;
	int32_t day = eng_day_from_ymd(y, mo, d);
	int64_t local = (int64_t)day * 86400 + h * 3600 + mi * 60;
	for (int off = 1; off <= 2; off++) {
		struct eng_datetime t = eng_datetime_from_unix(local - off * 3600);
		if (t.day == day && t.second == h * 3600 + mi * 60) {
			*out = (local - off * 3600) * 1000;
			return true;
		}
	}
	*out = (local - 3600) * 1000;
	return true;
}

/* Reads the list of strings at t[key] into a NULL-terminated arena array, or NULL if absent. */
static const char **string_list(struct run *r, int t, const char *key)
{
	lua_State *L = r->L;
	if (lua_getfield(L, t, key) != LUA_TTABLE) {
		lua_pop(L, 1);
		return NULL;
	}
	size_t n = lua_rawlen(L, -1);
	const char **out = eng_arena_alloc(&r->arena, (n + 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		out[i] = eng_arena_strdup(&r->arena, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return out;
}

static const char *join(struct run *r, const char *const *items, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 2;
	char *s = eng_arena_alloc(&r->arena, len);
	strcat(s, "{");
	for (size_t i = 0; i < n; i++) {
		strcat(s, i ? ", " : "");
		strcat(s, items[i]);
	}
	strcat(s, "}");
	return s;
}

/* Compares an expected list with what the step produced, in order. */
static void expect_list(struct run *r, int line, const char *step, const char *what,
                        const char **want, const char *const *got, size_t n_got)
{
	size_t n_want = 0;
	while (want[n_want])
		n_want++;
	bool same = n_want == n_got;
	for (size_t i = 0; same && i < n_got; i++)
		same = strcmp(want[i], got[i]) == 0;
	if (!same)
		fail(r, line, step, "expected %s %s, got %s", what, join(r, want, n_want),
		     join(r, got, n_got));
}

static struct eng_actor actor_of(struct run *r, int attrs, bool system)
{
	lua_State *L = r->L;
	struct eng_actor a = { .kind = system ? ENG_PRINCIPAL_SYSTEM : ENG_PRINCIPAL_CITIZEN,
		                   .id = system ? "system" : r->applicant };
	lua_getfield(L, attrs, "by");
	const struct dsl_node *n = dsl__node_check(L, -1);
	if (n && n->kind == DSL_NODE_ROLE) {
		const char **roles = eng_arena_alloc(&r->arena, sizeof(*roles));
		lua_getiuservalue(L, -1, 1);
		roles[0] = eng_arena_strdup(&r->arena, lua_tostring(L, -1));
		lua_pop(L, 1);
		lua_getiuservalue(L, -1, 2);
		const char *unit = lua_istable(L, -1) ? field_string(L, lua_gettop(L), "unit") : NULL;
		lua_pop(L, 1);
		a = (struct eng_actor){ .kind = ENG_PRINCIPAL_EMPLOYEE, .id = "employee", .roles = roles,
			                    .n_roles = 1, .unit = eng_arena_strdup(&r->arena, unit) };
	} else if (n && n->kind == DSL_NODE_REPRESENTATIVE) {
		a = (struct eng_actor){ .kind = ENG_PRINCIPAL_CITIZEN, .id = "00000000T",
			                    .represents = r->applicant };
	} else if (n && n->kind == DSL_NODE_SYSTEM) {
		a = (struct eng_actor){ .kind = ENG_PRINCIPAL_SYSTEM, .id = "system" };
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		a.id = eng_arena_strdup(&r->arena, lua_tostring(L, -1)); /* another citizen, by NIF */
	}
	lua_pop(L, 1);
	return a;
}

/* The form of an act: strings as they are, numbers as digits, booleans as yes/no, lists of
 * strings as a multiple choice ("a,b"). Sorted by name: Lua's table order is not defined. */
static void read_form(struct run *r, int attrs, struct eng_event *ev)
{
	lua_State *L = r->L;
	if (lua_getfield(L, attrs, "form") != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	int t = lua_gettop(L);
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		n++;
		lua_pop(L, 1);
	}
	struct eng_value *v = eng_arena_alloc(&r->arena, (n + 1) * sizeof(*v));
	size_t k = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 1);
			continue;
		}
		const char *value;
		if (lua_type(L, -1) == LUA_TBOOLEAN) {
			value = lua_toboolean(L, -1) ? "yes" : "no";
		} else if (lua_type(L, -1) == LUA_TTABLE) {
			size_t m = lua_rawlen(L, -1);
			const char **items = eng_arena_alloc(&r->arena, (m + 1) * sizeof(*items));
			for (size_t i = 0; i < m; i++) {
				lua_rawgeti(L, -1, (lua_Integer)i + 1);
				items[i] = eng_arena_strdup(&r->arena, lua_tostring(L, -1));
				lua_pop(L, 1);
			}
			const char *joined = join(r, items, m);
			char *s = eng_arena_strndup(&r->arena, joined + 1, strlen(joined) - 2);
			char *w = s;
			for (const char *p = s; *p; p++)
				if (*p != ' ')
					*w++ = *p;
			*w = '\0';
			value = s;
		} else {
			value = lua_tostring(L, -1);
		}
		struct eng_value item = { eng_arena_strdup(&r->arena, lua_tostring(L, -2)),
			                      eng_arena_strdup(&r->arena, value ? value : "") };
		size_t i = k++;
		while (i > 0 && strcmp(v[i - 1].name, item.name) > 0) {
			v[i] = v[i - 1];
			i--;
		}
		v[i] = item;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	ev->form = v;
	ev->n_form = k;
}

static void check_expect(struct run *r, int line, const char *step, int attrs,
                         const struct eng_step_result *res, int rc)
{
	lua_State *L = r->L;
	if (lua_getfield(L, attrs, "expect") != LUA_TTABLE) {
		if (rc != 0)
			fail(r, line, step, "refused (%s): %s", refusal_names[res->refusal], res->msg);
		lua_pop(L, 1);
		return;
	}
	int e = lua_gettop(L);
	const char *refused = field_string(L, e, "refused");
	if (refused && rc == 0)
		fail(r, line, step, "expected a refusal (%s), got state '%s'", refused, res->to_state);
	else if (refused && strcmp(refused, refusal_names[res->refusal]) != 0)
		fail(r, line, step, "expected refusal '%s', got '%s': %s", refused,
		     refusal_names[res->refusal], res->msg);
	else if (!refused && rc != 0)
		fail(r, line, step, "refused (%s): %s", refusal_names[res->refusal], res->msg);
	const char *message = field_string(L, e, "message");
	if (message && !strstr(res->msg, message))
		fail(r, line, step, "expected a message containing '%s', got '%s'", message, res->msg);
	const char *state = field_string(L, e, "state");
	const char *now = rc == 0 ? res->to_state : res->from_state;
	if (state && (!now || strcmp(state, now) != 0))
		fail(r, line, step, "expected state '%s', got '%s'", state, now ? now : "(new)");

	const char **want = string_list(r, e, "errors");
	if (want) {
		const char **got = eng_arena_alloc(&r->arena, (res->n_errors + 1) * sizeof(*got));
		size_t n = 0;
		for (size_t i = 0; i < res->n_errors && i < ENG_STEP_MAX_ERRORS; i++)
			got[n++] = res->errors[i].field ? res->errors[i].field : "(form)";
		expect_list(r, line, step, "errors", want, got, n);
	}
	static const struct {
		const char *key;
		int kind; /* -1: every effect except timers */
	} lists[] = {
		{ "effects", -1 },
		{ "documents", ENG_EFFECT_DOCUMENT },
		{ "notifications", ENG_EFFECT_NOTIFY },
		{ "timers", ENG_EFFECT_TIMER_SET },
	};
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		want = string_list(r, e, lists[k].key);
		if (!want)
			continue;
		const char *got[ENG_STEP_MAX_EFFECTS];
		size_t n = 0;
		for (size_t i = 0; i < res->n_effects; i++) {
			const struct eng_effect *ef = &res->effects[i];
			bool timer = ef->kind == ENG_EFFECT_TIMER_SET || ef->kind == ENG_EFFECT_TIMER_CANCEL;
			if (lists[k].kind < 0 ? !timer : (int)ef->kind == lists[k].kind)
				got[n++] = lists[k].kind < 0 ? ef->id : ef->target;
		}
		expect_list(r, line, step, lists[k].key, want, got, n);
	}
	if (lua_getfield(L, e, "fees") == LUA_TTABLE) {
		int fees = lua_gettop(L);
		lua_pushnil(L);
		while (lua_next(L, fees)) {
			char name[96];
			snprintf(name, sizeof(name), "fee.%s", lua_tostring(L, -2));
			const char *got = eng_values_get(res->vars, res->n_vars, name);
			long long want_cents = (long long)lua_tointeger(L, -1);
			if (!got || strtoll(got, NULL, 10) != want_cents)
				fail(r, line, step, "expected fee %s = %lld cents, got %s", lua_tostring(L, -2),
				     want_cents, got ? got : "none");
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	const char *deadline = field_string(L, e, "deadline");
	if (deadline && rc == 0) {
		char name[96];
		snprintf(name, sizeof(name), "last_day.%s", res->to_state);
		const char *got = eng_values_get(res->vars, res->n_vars, name);
		if (!got || strcmp(got, deadline) != 0)
			fail(r, line, step, "expected the deadline of state '%s' to end on %s, got %s",
			     res->to_state, deadline, got ? got : "no deadline");
	}
	const char *resolution = field_string(L, e, "resolution");
	if (resolution && rc == 0) {
		const char *got = eng_values_get(res->vars, res->n_vars, "last_day.resolution");
		if (!got || strcmp(got, resolution) != 0)
			fail(r, line, step, "expected the resolution time to end on %s, got %s", resolution,
			     got ? got : "none");
	}
	lua_pop(L, 1);
}

/* The time a timer step fires at: the due time the engine recorded for it. */
static int64_t timer_due(const struct run *r, const char *timer)
{
	char name[96];
	const char *dot = strchr(timer, '.');
	if (strcmp(timer, "resolution") == 0)
		snprintf(name, sizeof(name), "due.resolution");
	else if (dot && strncmp(timer, "deadline.", 9) == 0)
		snprintf(name, sizeof(name), "due.%s", dot + 1);
	else
		return r->now_ms;
	const char *v = eng_values_get(r->exp.vars, r->exp.n_vars, name);
	return v ? strtoll(v, NULL, 10) : r->now_ms;
}

static void run_step(struct run *r, int idx)
{
	lua_State *L = r->L;
	const struct dsl_node *node = dsl__node_check(L, idx);
	lua_getiuservalue(L, idx, 1);
	const char *kind = lua_tostring(L, -1);
	lua_getiuservalue(L, idx, 2);
	int attrs = lua_gettop(L);
	const char *name = field_string(L, attrs, "name");
	char step[160];
	snprintf(step, sizeof(step), "%s '%s'", kind, name);
	r->sum->steps++;

	struct eng_event ev = { .time_ms = r->now_ms + 60000, .calendar = r->cal };
	const char *at = field_string(L, attrs, "at");
	if (strcmp(kind, "act") == 0) {
		ev.kind = ENG_EVENT_ACTION;
		ev.action = name;
		ev.actor = actor_of(r, attrs, false);
		read_form(r, attrs, &ev);
		ev.csv = eng_arena_printf(&r->arena, "CSV-TEST-%d", ++r->n_csv);
	} else if (strcmp(kind, "timer") == 0) {
		ev.kind = ENG_EVENT_TIMER;
		ev.timer = name;
		ev.actor = actor_of(r, attrs, true);
		ev.time_ms = timer_due(r, name);
	} else {
		ev.kind = ENG_EVENT_RESULT;
		ev.effect_id = name;
		ev.outcome = field_string(L, attrs, "outcome");
		ev.actor = actor_of(r, attrs, true);
	}
	if (at && !parse_time(at, &ev.time_ms)) {
		fail(r, node->line, step, "at must be \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM\", got '%s'", at);
		lua_settop(L, idx);
		return;
	}
	r->now_ms = ev.time_ms;

	struct eng_step_result *res = eng_arena_alloc(&r->arena, sizeof(*res));
	int rc = eng_expedient_step(res, &r->arena, r->def, &r->exp, &ev);
	check_expect(r, node->line, step, attrs, res, rc);
	if (rc == 0) {
		if (!r->exp.applicant_id && ev.actor.kind == ENG_PRINCIPAL_CITIZEN)
			r->exp.applicant_id = ev.actor.represents ? ev.actor.represents : ev.actor.id;
		r->exp.state = res->to_state;
		r->exp.version = res->version;
		r->exp.data = res->data;
		r->exp.n_data = res->n_data;
		r->exp.vars = res->vars;
		r->exp.n_vars = res->n_vars;
	}
	lua_settop(L, idx);
}

static struct eng_calendar *scenario_calendar(struct run *r, int attrs, const char *text)
{
	struct eng_calendar *cal = NULL;
	struct eng_error err = { 0 };
	if (!text || eng_calendar_new(&cal, &err) < 0)
		return NULL;
	if (eng_calendar_parse(cal, text, &err) < 0) {
		fprintf(r->report, "%s: calendar: %s\n", r->path, err.msg);
		eng_calendar_free(cal);
		return NULL;
	}
	const char **local = string_list(r, attrs, "holidays");
	for (size_t i = 0; local && local[i]; i++) {
		int32_t day;
		if (eng_day_parse(&day, local[i], &err) < 0 ||
		    eng_calendar_add(cal, day, ENG_HOLIDAY_LOCAL, "local", "local", &err) < 0)
			fprintf(r->report, "%s: scenario '%s': holidays: %s\n", r->path, r->scenario, err.msg);
	}
	return cal;
}

static void run_scenario(struct run *r, int idx, const char *calendar_text)
{
	lua_State *L = r->L;
	lua_getiuservalue(L, idx, 1);
	r->scenario = lua_tostring(L, -1);
	lua_getiuservalue(L, idx, 2);
	int attrs = lua_gettop(L);
	r->sum->scenarios++;
	r->failed = false;
	r->exp = (struct eng_expedient){ 0 };
	r->applicant = field_string(L, attrs, "applicant");
	if (!r->applicant)
		r->applicant = "12345678Z";
	const char *start = field_string(L, attrs, "start");
	if (!start || !parse_time(start, &r->now_ms))
		parse_time("2026-03-02 09:00", &r->now_ms);
	r->cal = scenario_calendar(r, attrs, calendar_text);
	lua_Integer n = (lua_Integer)lua_rawlen(L, attrs);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, attrs, i);
		const struct dsl_node *s = dsl__node_check(L, -1);
		if (s && s->kind == DSL_NODE_STEP)
			run_step(r, lua_gettop(L));
		else
			fail(r, 0, "list", "item %lld is not act/timer/result \"...\" { ... }", (long long)i);
		lua_pop(L, 1);
	}
	if (r->failed)
		r->sum->failed_scenarios++;
	eng_calendar_free(r->cal);
	r->cal = NULL;
	lua_settop(L, idx);
}

/* The tràmit a test file tests: `tramit = "file.lua"` beside it, or its own name without
 * _test. */
static char *tramit_path(const char *test_path, const char *named)
{
	const char *slash = strrchr(test_path, '/');
	size_t dir = slash ? (size_t)(slash - test_path + 1) : 0;
	char *out = malloc(strlen(test_path) + (named ? strlen(named) : 0) + 8);
	if (!out)
		return NULL;
	memcpy(out, test_path, dir);
	if (named) {
		strcpy(out + dir, named);
		return out;
	}
	strcpy(out + dir, test_path + dir);
	char *suffix = strstr(out + dir, "_test.lua");
	if (suffix)
		strcpy(suffix, ".lua");
	return out;
}

int dsl_test_file(struct dsl_test_summary *sum, const char *path, const char *calendar_text,
                  FILE *report, struct dsl_diags *diags)
{
	struct dsl_sandbox *sb = NULL;
	struct eng_definition *def = NULL;
	struct eng_error err = { 0 };
	char *src = NULL, *tpath = NULL;
	int rc = ENG_EINVALID;
	FILE *f = fopen(path, "rb");
	if (!f) {
		dsl__diag_add(diags, path, 0, "cannot open the test file");
		goto done;
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	src = len >= 0 && len < DSL_DEFAULT_MEMORY ? malloc((size_t)len + 1) : NULL;
	if (!src || fread(src, 1, (size_t)len, f) != (size_t)len) {
		dsl__diag_add(diags, path, 0, "cannot read the test file");
		goto done;
	}
	if ((rc = dsl__sandbox_open(&sb, NULL, &err)) < 0) {
		dsl__diag_add(diags, path, 0, "%s", err.msg);
		goto done;
	}
	if ((rc = dsl__sandbox_run(sb, path, src, (size_t)len, diags)) < 0)
		goto done;
	lua_State *L = sb->L;
	int list = lua_gettop(L);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	const char *named = NULL;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		const struct dsl_node *node = dsl__node_check(L, -1);
		if (node->kind != DSL_NODE_SCENARIO) {
			dsl__diag_add(diags, path, node->line, "a test file holds scenarios, not a tramit");
			rc = ENG_EINVALID;
			goto done;
		}
		lua_getiuservalue(L, -1, 2);
		if (!named)
			named = field_string(L, lua_gettop(L), "tramit");
		lua_pop(L, 2);
	}
	if (n == 0) {
		dsl__diag_add(diags, path, 0, "no scenario \"...\" { ... } in this test file");
		rc = ENG_EINVALID;
		goto done;
	}
	tpath = tramit_path(path, named);
	if (!tpath || (rc = dsl_compile_file(&def, tpath, NULL, diags)) < 0)
		goto done;
	struct run r = { .L = L, .path = path, .report = report, .sum = sum, .def = def };
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		run_scenario(&r, lua_gettop(L), calendar_text);
		lua_pop(L, 1);
	}
	eng_arena_free(&r.arena);
	rc = 0;
done:
	if (f)
		fclose(f);
	free(src);
	free(tpath);
	eng_definition_free(def);
	dsl__sandbox_close(sb);
	return rc;
}
