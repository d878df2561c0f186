/* The compiler's part for what happens to an expedient: what actions cause (documents,
 * signatures, notifications, fees, payments, back-office calls), guards and requirements,
 * deadlines and connector outcomes per state, the fees themselves, and designer functions.
 * Invariant: every name a construct refers to (state, action, fee, document) is checked to
 * exist once the whole tràmit is read, so the step function never meets a dangling name. */
#include "dsl/compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engine/core/calendar.h"

static const char *const sign_attrs[] = { "document", "signers", "order", "need", "lines", NULL };
static const char *const requires_attrs[] = { "paid", "signed", NULL };
static const char *const deadline_attrs[] = { "on_expiry", "alert", "clock", "roll", NULL };
static const char *const fee_attrs[] = { "label", "amount", NULL };
static const char *const tariff_attrs[] = { "by", "per", "rates", "ordinance", "versions", NULL };
static const char *const version_attrs[] = { "from", "rates", NULL };

/* Effects per action are bounded by the step's fixed array (engine/core/step.h): registry,
 * receipt, documents, exit registry, signature, notifications, payment, back office. */
enum { MAX_ACTION_LIST = 6 };

int dsl__fn_add(struct dsl__compiler *c, int idx, enum eng_fn_kind kind, const char *owner)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	lua_Debug ar;
	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);
	lua_getinfo(L, ">S", &ar);
	if (def->n_fns == c->fns_cap) {
		size_t cap = c->fns_cap ? c->fns_cap * 2 : 16;
		struct eng_fn *grown = eng_arena_alloc(&def->arena, cap * sizeof(*grown));
		if (def->n_fns)
			memcpy(grown, def->fns, def->n_fns * sizeof(*grown));
		def->fns = grown;
		c->fns_cap = cap;
	}
	struct eng_fn *f = &def->fns[def->n_fns++];
	f->kind = kind;
	f->owner = owner;
	f->line = ar.linedefined > 0 ? ar.linedefined : 0;
	if (c->fn_table > 0) {
		lua_pushvalue(L, idx);
		lua_rawseti(L, c->fn_table, (lua_Integer)def->n_fns);
	}
	return (int)def->n_fns;
}

bool dsl__duration(struct dsl__compiler *c, int idx, const char *what, const char *key, int line,
                   struct eng_duration *out)
{
	const struct dsl_node *d = dsl__node_check(c->L, idx);
	if (!d || d->kind != DSL_NODE_DURATION) {
		dsl__report(c, line, "%s: %s must be a duration such as business_days(10) or months(3), got %s",
		            what, key, dsl__describe(c->L, idx));
		return false;
	}
	lua_getiuservalue(c->L, idx, 1);
	int unit = eng_duration_unit_from_name(lua_tostring(c->L, -1));
	lua_pop(c->L, 1);
	out->unit = unit > 0 ? (enum eng_duration_unit)unit : ENG_UNIT_MONTHS;
	out->amount = (int)d->number;
	return true;
}

const char *const *dsl__get_names(struct dsl__compiler *c, int t, const char *key,
                                  const char *what, int line, size_t *n_out)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	const char **names = NULL;
	*n_out = 0;
	int type = dsl__get(L, t, key);
	if (type == LUA_TNIL)
		goto done;
	if (type == LUA_TSTRING) {
		names = eng_arena_alloc(&c->def->arena, sizeof(*names));
		names[0] = dsl__copy_string(c, -1, what, key, line);
		*n_out = names[0] ? 1 : 0;
		goto done;
	}
	if (type != LUA_TTABLE) {
		dsl__report(c, line, "%s: %s must be a name or a list of names, got %s", what, key,
		            dsl__describe(L, -1));
		goto done;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
	dsl__check_keys(c, lua_gettop(L), dsl__no_attrs, true, false, key, line);
	names = eng_arena_alloc(&c->def->arena, ((size_t)n + 1) * sizeof(*names));
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, top + 1, i) == LUA_TSTRING) {
			const char *s = dsl__copy_string(c, -1, what, key, line);
			if (s)
				names[(*n_out)++] = s;
		} else {
			dsl__report(c, line, "%s: %s item %lld must be a name in quotes, got %s", what, key,
			            (long long)i, dsl__describe(L, -1));
		}
		lua_pop(L, 1);
	}
done:
	lua_settop(L, top);
	return names;
}

/* A list of names that must each be a valid name, bounded in length. */
static const char *const *get_valid_names(struct dsl__compiler *c, int t, const char *key,
                                          const char *what, int line, size_t *n_out)
{
	const char *const *names = dsl__get_names(c, t, key, what, line, n_out);
	for (size_t i = 0; i < *n_out; i++)
		if (!dsl__valid_name(names[i]))
			dsl__report(c, line, "%s: %s '%.60s' must start with a-z and use only a-z, 0-9 and _",
			            what, key, names[i]);
	if (*n_out > MAX_ACTION_LIST)
		dsl__report(c, line, "%s: %s lists %zu items; at most %d", what, key, *n_out,
		            MAX_ACTION_LIST);
	return names;
}

/* One signer of a line: role "x", or { role "x", approve = true } for an approval. */
static bool compile_signer(struct dsl__compiler *c, int idx, struct eng_sign_signer *out,
                           size_t line_no, size_t pos, int line)
{
	lua_State *L = c->L;
	const struct dsl_node *r = dsl__node_check(L, idx);
	if (r && r->kind == DSL_NODE_ROLE) {
		out->role = dsl__node_name(c, idx);
		return true;
	}
	if (lua_type(L, idx) == LUA_TTABLE && lua_rawlen(L, idx) == 1) {
		static const char *const signer_attrs[] = { "approve", NULL };
		int top = lua_gettop(L);
		lua_rawgeti(L, idx, 1);
		r = dsl__node_check(L, -1);
		if (r && r->kind == DSL_NODE_ROLE) {
			dsl__check_keys(c, idx, signer_attrs, true, false, "sign line signer", line);
			out->role = dsl__node_name(c, lua_gettop(L));
			out->approve = dsl__get_bool(c, idx, "approve", "sign line signer", line);
			lua_settop(L, top);
			return true;
		}
		lua_settop(L, top);
	}
	dsl__report(c, line, "sign: line %zu signer %zu must be role \"name\" or "
	            "{ role \"name\", approve = true }, got %s", line_no, pos, dsl__describe(L, idx));
	return false;
}

/* lines = { { role "a" }, { role "b", role "c", need = "any", approve = true }, ... } */
static void compile_lines(struct dsl__compiler *c, int list, struct eng_sign *s, int line)
{
	static const char *const line_attrs[] = { "need", "approve", NULL };
	lua_State *L = c->L;
	size_t n = lua_rawlen(L, list);
	if (n == 0) {
		dsl__report(c, line, "sign: lines must list at least one line { role \"...\" }");
		return;
	}
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "sign lines", line);
	s->lines = eng_arena_alloc(&c->def->arena, n * sizeof(*s->lines));
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		int top = lua_gettop(L);
		lua_rawgeti(L, list, (lua_Integer)i + 1);
		int ln = lua_gettop(L);
		size_t m = lua_type(L, ln) == LUA_TTABLE ? lua_rawlen(L, ln) : 0;
		if (m == 0) {
			dsl__report(c, line, "sign: line %zu must be { role \"...\", ... } with at least one "
			            "signer, got %s", i + 1, dsl__describe(L, ln));
			lua_settop(L, top);
			continue;
		}
		dsl__check_keys(c, ln, line_attrs, true, false, "sign line", line);
		struct eng_sign_line *sl = &s->lines[s->n_lines++];
		const char *need = dsl__get_string(c, ln, "need", false, "sign line", line);
		if (need && strcmp(need, "any") == 0)
			sl->any = true;
		else if (need && strcmp(need, "all") != 0)
			dsl__report(c, line, "sign: line %zu need must be all or any, got '%.60s'", i + 1, need);
		bool approve = dsl__get_bool(c, ln, "approve", "sign line", line);
		sl->signers = eng_arena_alloc(&c->def->arena, m * sizeof(*sl->signers));
		for (size_t k = 0; k < m; k++) {
			lua_rawgeti(L, ln, (lua_Integer)k + 1);
			struct eng_sign_signer *sg = &sl->signers[sl->n_signers];
			if (compile_signer(c, lua_gettop(L), sg, i + 1, k + 1, line)) {
				sg->approve = sg->approve || approve;
				for (size_t j = 0; j < sl->n_signers; j++)
					if (strcmp(sl->signers[j].role, sg->role) == 0)
						dsl__report(c, line, "sign: line %zu names role '%.60s' twice", i + 1, sg->role);
				sl->n_signers++;
			}
			lua_pop(L, 1);
		}
		total += sl->n_signers;
		lua_settop(L, top);
	}
	/* The flat list of roles, for the sign_request effect's arguments. */
	const char **roles = eng_arena_alloc(&c->def->arena, (total + 1) * sizeof(*roles));
	for (size_t i = 0; i < s->n_lines; i++)
		for (size_t k = 0; k < s->lines[i].n_signers; k++)
			roles[s->n_signers++] = s->lines[i].signers[k].role;
	s->signers = roles;
	s->explicit_lines = true;
}

/* The signers/order/need form as lines: one line of all signers (parallel), or one line per
 * signer in the order written (sequential). */
static void lines_from_signers(struct dsl__compiler *c, struct eng_sign *s)
{
	bool parallel = s->order == ENG_SIGN_PARALLEL;
	s->n_lines = parallel ? 1 : s->n_signers;
	s->lines = eng_arena_alloc(&c->def->arena, (s->n_lines + 1) * sizeof(*s->lines));
	for (size_t i = 0; i < s->n_lines; i++) {
		struct eng_sign_line *sl = &s->lines[i];
		sl->n_signers = parallel ? s->n_signers : 1;
		sl->any = parallel && s->any;
		sl->signers = eng_arena_alloc(&c->def->arena, (sl->n_signers + 1) * sizeof(*sl->signers));
		for (size_t k = 0; k < sl->n_signers; k++)
			sl->signers[k].role = s->signers[parallel ? k : i];
	}
}

static void compile_sign(struct dsl__compiler *c, int t, struct eng_action *a, const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "sign");
	if (type == LUA_TNIL)
		goto done;
	int sg = lua_gettop(L);
	if (type != LUA_TTABLE) {
		dsl__report(c, a->line, "%s: sign must be { document = \"...\", signers = { role \"...\" } }, got %s",
		            what, dsl__describe(L, sg));
		goto done;
	}
	dsl__check_keys(c, sg, sign_attrs, false, false, "sign", a->line);
	struct eng_sign *s = eng_arena_alloc(&c->def->arena, sizeof(*s));
	a->sign = s;
	s->document = dsl__get_string(c, sg, "document", true, "sign", a->line);
	const char *order = dsl__get_string(c, sg, "order", false, "sign", a->line);
	const char *need = dsl__get_string(c, sg, "need", false, "sign", a->line);
	int lines_type = dsl__get(L, sg, "lines");
	int signers_type = dsl__get(L, sg, "signers");
	if (lines_type != LUA_TNIL) {
		if (signers_type != LUA_TNIL || order || need)
			dsl__report(c, a->line, "sign: write either lines = {...} or signers/order/need, not both "
			            "(each line says its own need)");
		else if (lines_type != LUA_TTABLE)
			dsl__report(c, a->line, "sign: lines must be a list of lines { role \"...\" }, got %s",
			            dsl__describe(L, -2));
		else
			compile_lines(c, lua_gettop(L) - 1, s, a->line);
		goto done;
	}
	if (order && strcmp(order, "parallel") == 0)
		s->order = ENG_SIGN_PARALLEL;
	else if (order && strcmp(order, "sequential") != 0)
		dsl__report(c, a->line, "sign: order must be sequential or parallel, got '%.60s'", order);
	if (need && strcmp(need, "any") == 0)
		s->any = true;
	else if (need && strcmp(need, "all") != 0)
		dsl__report(c, a->line, "sign: need must be all or any, got '%.60s'", need);
	if (signers_type != LUA_TTABLE || lua_rawlen(L, -1) == 0) {
		dsl__report(c, a->line, "sign: signers must list at least one role \"...\" (or write lines = {...})");
		goto done;
	}
	int list = lua_gettop(L);
	size_t n = lua_rawlen(L, list);
	const char **signers = eng_arena_alloc(&c->def->arena, n * sizeof(*signers));
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, list, (lua_Integer)i + 1);
		const struct dsl_node *r = dsl__node_check(L, -1);
		if (r && r->kind == DSL_NODE_ROLE)
			signers[s->n_signers++] = dsl__node_name(c, lua_gettop(L));
		else
			dsl__report(c, a->line, "sign: signer %zu must be role \"name\", got %s", i + 1,
			            dsl__describe(L, -1));
		lua_pop(L, 1);
	}
	s->signers = signers;
	lines_from_signers(c, s);
done:
	lua_settop(L, top);
}

static void compile_notify(struct dsl__compiler *c, int t, struct eng_action *a, const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "notify");
	int v = lua_gettop(L);
	if (type == LUA_TNIL)
		goto done;
	size_t n = dsl__node_check(L, v) ? 1 : type == LUA_TTABLE ? lua_rawlen(L, v) : 0;
	if (n == 0 || n > MAX_ACTION_LIST) {
		dsl__report(c, a->line, "%s: notify must be binding \"template\", informative \"template\" "
		            "or a list of up to %d of them", what, MAX_ACTION_LIST);
		goto done;
	}
	a->notify = eng_arena_alloc(&c->def->arena, n * sizeof(*a->notify));
	for (size_t i = 0; i < n; i++) {
		if (dsl__node_check(L, v))
			lua_pushvalue(L, v);
		else
			lua_rawgeti(L, v, (lua_Integer)i + 1);
		const struct dsl_node *node = dsl__node_check(L, -1);
		if (node && node->kind == DSL_NODE_NOTIFY) {
			struct eng_notify *nt = &a->notify[a->n_notify++];
			nt->template_name = dsl__node_name(c, lua_gettop(L));
			dsl__push_attrs(L, -1);
			dsl__get(L, lua_gettop(L), "kind");
			nt->kind = strcmp(lua_tostring(L, -1), "binding") == 0 ? ENG_NOTIFY_BINDING
			                                                        : ENG_NOTIFY_INFORMATIVE;
			lua_pop(L, 2);
			if (!dsl__valid_name(nt->template_name))
				dsl__report(c, a->line, "%s: template name '%.60s' must use a-z, 0-9 and _", what,
				            nt->template_name);
		} else {
			dsl__report(c, a->line, "%s: notify item %zu must be binding \"...\" or informative \"...\", got %s",
			            what, i + 1, dsl__describe(L, -1));
		}
		lua_pop(L, 1);
	}
done:
	lua_settop(L, top);
}

void dsl__compile_action_flow(struct dsl__compiler *c, int t, struct eng_action *a,
                              const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "guard");
	if (type == LUA_TFUNCTION)
		a->guard_fn = dsl__fn_add(c, -1, ENG_FN_GUARD, a->name);
	else if (type != LUA_TNIL)
		dsl__report(c, a->line, "%s: guard must be a function, got %s", what, dsl__describe(L, -1));
	lua_settop(L, top);

	size_t n;
	a->documents = get_valid_names(c, t, "document", what, a->line, &n);
	a->n_documents = n;
	a->fees = get_valid_names(c, t, "fee", what, a->line, &n);
	a->n_fees = n;
	a->backoffice = get_valid_names(c, t, "backoffice", what, a->line, &n);
	a->n_backoffice = n;
	a->pay = dsl__get_string(c, t, "pay", false, what, a->line);
	a->extend = dsl__get_bool(c, t, "extend", what, a->line);
	compile_sign(c, t, a, what);
	compile_notify(c, t, a, what);

	type = dsl__get(L, t, "requires");
	if (type == LUA_TTABLE) {
		int rq = lua_gettop(L);
		dsl__check_keys(c, rq, requires_attrs, false, false, "requires", a->line);
		a->requires_paid = get_valid_names(c, rq, "paid", "requires", a->line, &n);
		a->n_requires_paid = n;
		a->requires_signed = get_valid_names(c, rq, "signed", "requires", a->line, &n);
		a->n_requires_signed = n;
	} else if (type != LUA_TNIL) {
		dsl__report(c, a->line, "%s: requires must be { paid = \"fee\", signed = \"document\" }, got %s",
		            what, dsl__describe(L, -1));
	}
	lua_settop(L, top);
	if (a->sign && a->sign->document && !dsl__valid_name(a->sign->document))
		dsl__report(c, a->line, "%s: sign document '%.60s' must use a-z, 0-9 and _", what,
		            a->sign->document);
}

static void compile_deadline(struct dsl__compiler *c, int t, struct eng_state *st,
                             const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "deadline");
	int d = lua_gettop(L);
	if (type == LUA_TNIL)
		goto done;
	if (type != LUA_TTABLE) {
		dsl__report(c, st->line, "%s: deadline must be { business_days(10), on_expiry = \"state\" }, got %s",
		            what, dsl__describe(L, d));
		goto done;
	}
	dsl__check_keys(c, d, deadline_attrs, true, false, "deadline", st->line);
	struct eng_deadline *dl = eng_arena_alloc(&c->def->arena, sizeof(*dl));
	dl->line = st->line;
	lua_rawgeti(L, d, 1);
	bool ok = dsl__duration(c, -1, what, "deadline", st->line, &dl->period);
	lua_pop(L, 1);
	if (!ok)
		goto done;
	st->deadline = dl;
	dl->on_expiry = dsl__get_string(c, d, "on_expiry", false, "deadline", st->line);
	if (dsl__get(L, d, "alert") != LUA_TNIL &&
	    dsl__duration(c, -1, "deadline", "alert", st->line, &dl->alert) &&
	    (dl->alert.unit != dl->period.unit || dl->alert.amount >= dl->period.amount))
		dsl__report(c, st->line, "deadline: alert must count in the same unit as the deadline, "
		            "and less of it");
	lua_pop(L, 1);
	const char *clock = dsl__get_string(c, d, "clock", false, "deadline", st->line);
	if (clock && strcmp(clock, "administration") == 0)
		dl->clock = ENG_DEADLINE_ADMINISTRATION;
	else if (clock && strcmp(clock, "party") != 0)
		dsl__report(c, st->line, "deadline: clock must be party or administration, got '%.60s'",
		            clock);
	dl->roll = dsl__get_bool(c, d, "roll", "deadline", st->line);
done:
	lua_settop(L, top);
}

/* on = { signed = "action", paid = "action", ... }: connector outcomes to system actions.
 * Outcomes are sorted, so the definition does not depend on Lua's hash order. */
static void compile_on(struct dsl__compiler *c, int t, struct eng_state *st, const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	int type = dsl__get(L, t, "on");
	int on = lua_gettop(L);
	if (type == LUA_TNIL)
		goto done;
	if (type != LUA_TTABLE) {
		dsl__report(c, st->line, "%s: on must be { outcome = \"action\", ... }, got %s", what,
		            dsl__describe(L, on));
		goto done;
	}
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, on)) {
		n++;
		lua_pop(L, 1);
	}
	st->on = eng_arena_alloc(&c->def->arena, (n + 1) * sizeof(*st->on));
	lua_pushnil(L);
	while (lua_next(L, on)) {
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
		    !dsl__valid_name(lua_tostring(L, -2))) {
			dsl__report(c, st->line, "%s: on must map outcome names to action names, as in "
			            "on = { signed = \"notify\" }", what);
			lua_pop(L, 1);
			continue;
		}
		struct eng_on_result r = {
			eng_arena_strdup(&c->def->arena, lua_tostring(L, -2)),
			eng_arena_strdup(&c->def->arena, lua_tostring(L, -1)),
		};
		size_t i = st->n_on++;
		while (i > 0 && strcmp(st->on[i - 1].outcome, r.outcome) > 0) {
			st->on[i] = st->on[i - 1];
			i--;
		}
		st->on[i] = r;
		lua_pop(L, 1);
	}
done:
	lua_settop(L, top);
}

void dsl__compile_state_flow(struct dsl__compiler *c, int t, struct eng_state *st,
                             const char *what)
{
	compile_deadline(c, t, st, what);
	st->suspends_resolution = dsl__get_bool(c, t, "suspends_resolution", what, st->line);
	compile_on(c, t, st, what);
}

static size_t table_size(lua_State *L, int t)
{
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		n++;
		lua_pop(L, 1);
	}
	return n;
}

/* Adds the rates table at index `rates` to fee->rates (kept sorted by key, then by date). */
static void add_rates(struct dsl__compiler *c, int rates, struct eng_fee *fee, int32_t from,
                      const char *what)
{
	lua_State *L = c->L;
	lua_pushnil(L);
	while (lua_next(L, rates)) {
		int ok = 0;
		lua_Integer cents = lua_tointegerx(L, -1, &ok);
		if (lua_type(L, -2) != LUA_TSTRING || !ok || cents < 0) {
			dsl__report(c, fee->line, "%s: rates map option values to whole cents (>= 0)", what);
			lua_pop(L, 1);
			continue;
		}
		struct eng_rate r = { eng_arena_strdup(&c->def->arena, lua_tostring(L, -2)), cents, from };
		size_t i = fee->n_rates++;
		while (i > 0 && (strcmp(fee->rates[i - 1].key, r.key) > 0 ||
		                 (strcmp(fee->rates[i - 1].key, r.key) == 0 && fee->rates[i - 1].from > r.from))) {
			fee->rates[i] = fee->rates[i - 1];
			i--;
		}
		fee->rates[i] = r;
		lua_pop(L, 1);
	}
}

/* versions = { { from = "YYYY-MM-DD", rates = { ... } }, ... }, dates strictly increasing. */
static void compile_versions(struct dsl__compiler *c, int list, struct eng_fee *fee, const char *what)
{
	lua_State *L = c->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	if (n == 0 || (size_t)n != table_size(L, list)) {
		dsl__report(c, fee->line, "%s: versions must be a list { { from = \"YYYY-MM-DD\", rates = "
		            "{ ... } }, ... }", what);
		return;
	}
	size_t total = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		if (lua_istable(L, -1) && dsl__get(L, lua_gettop(L), "rates") == LUA_TTABLE)
			total += table_size(L, lua_gettop(L));
		lua_settop(L, list);
	}
	fee->rates = eng_arena_alloc(&c->def->arena, (total + 1) * sizeof(*fee->rates));
	int32_t last = INT32_MIN;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		int v = lua_gettop(L);
		char vwhat[WHAT_SIZE];
		snprintf(vwhat, sizeof(vwhat), "%.60s: versions[%lld]", what, (long long)i);
		if (!lua_istable(L, v)) {
			dsl__report(c, fee->line, "%s: expected { from = \"YYYY-MM-DD\", rates = { ... } }", vwhat);
			lua_settop(L, list);
			continue;
		}
		dsl__check_keys(c, v, version_attrs, false, false, vwhat, fee->line);
		const char *from = dsl__get_string(c, v, "from", true, vwhat, fee->line);
		int32_t day = 0;
		struct eng_error err;
		if (from && eng_day_parse(&day, from, &err) != 0)
			dsl__report(c, fee->line, "%s: from = '%.40s' is not a date YYYY-MM-DD", vwhat, from);
		else if (from && day <= last)
			dsl__report(c, fee->line, "%s: from = '%.40s' must come after the version before it",
			            vwhat, from);
		if (from)
			last = day > last ? day : last;
		if (dsl__get(L, v, "rates") != LUA_TTABLE)
			dsl__report(c, fee->line, "%s: needs rates = { value = cents, ... }", vwhat);
		else if (from)
			add_rates(c, lua_gettop(L), fee, day, vwhat);
		lua_settop(L, list);
	}
}

static void compile_tariff(struct dsl__compiler *c, int idx, struct eng_fee *fee,
                           const char *what)
{
	lua_State *L = c->L;
	int top = lua_gettop(L);
	dsl__push_attrs(L, idx);
	int t = lua_gettop(L);
	fee->kind = ENG_FEE_TARIFF;
	dsl__check_keys(c, t, tariff_attrs, false, false, "tariff", fee->line);
	fee->by = dsl__get_string(c, t, "by", true, "tariff", fee->line);
	fee->per = dsl__get_string(c, t, "per", false, "tariff", fee->line);
	fee->ordinance = dsl__get_string(c, t, "ordinance", false, "tariff", fee->line);
	int rates_type = dsl__get(L, t, "rates");
	int rates = lua_gettop(L);
	int versions_type = dsl__get(L, t, "versions");
	int versions = lua_gettop(L);
	if ((rates_type == LUA_TNIL) == (versions_type == LUA_TNIL)) {
		dsl__report(c, fee->line, "%s: tariff needs either rates = { value = cents, ... } or "
		            "versions = { { from = \"YYYY-MM-DD\", rates = { ... } }, ... }", what);
	} else if (versions_type != LUA_TNIL) {
		fee->versioned = true;
		if (versions_type == LUA_TTABLE)
			compile_versions(c, versions, fee, what);
		else
			dsl__report(c, fee->line, "%s: versions must be a list", what);
		if (!fee->ordinance)
			dsl__report(c, fee->line, "%s: a tariff with versions names its fiscal ordinance "
			            "(ordinance = \"...\")", what);
	} else if (rates_type != LUA_TTABLE) {
		dsl__report(c, fee->line, "%s: tariff needs rates = { value = cents, ... }", what);
	} else {
		fee->rates = eng_arena_alloc(&c->def->arena, (table_size(L, rates) + 1) * sizeof(*fee->rates));
		add_rates(c, rates, fee, 0, what);
	}
	lua_settop(L, top);
}

void dsl__compile_fees(struct dsl__compiler *c, int t, const char *what, int line)
{
	lua_State *L = c->L;
	struct eng_definition *def = c->def;
	int top = lua_gettop(L);
	if (dsl__get(L, t, "fees") == LUA_TNIL)
		goto done;
	int list = lua_gettop(L);
	if (!dsl__expect_list(c, list, what, "fees", line, "{ fee \"name\" { ... } }"))
		goto done;
	dsl__check_keys(c, list, dsl__no_attrs, true, false, "fees", line);
	lua_Integer n = (lua_Integer)lua_rawlen(L, list);
	def->fees = eng_arena_alloc(&def->arena, ((size_t)n + 1) * sizeof(*def->fees));
	lua_newtable(L);
	int seen = lua_gettop(L);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		int item = lua_gettop(L);
		const struct dsl_node *node = dsl__expect_node(c, item, DSL_NODE_FEE, "fees", i,
		                                               "fee \"name\" { ... }", line);
		if (node) {
			struct eng_fee *fee = &def->fees[def->n_fees++];
			char fwhat[WHAT_SIZE];
			fee->name = dsl__node_name(c, item);
			fee->line = node->line;
			snprintf(fwhat, sizeof(fwhat), "fee '%.60s'", fee->name);
			if (!dsl__valid_name(fee->name))
				dsl__report(c, fee->line, "fee name '%.60s' must start with a-z and use only a-z, 0-9 and _",
				            fee->name);
			int first = dsl__seen_before(L, seen, fee->name, fee->line);
			if (first >= 0)
				dsl__report(c, fee->line, "duplicate fee '%.60s' (first at line %d)", fee->name, first);
			dsl__push_attrs(L, item);
			int attrs = lua_gettop(L);
			dsl__check_keys(c, attrs, fee_attrs, false, false, fwhat, fee->line);
			dsl__get_text(c, attrs, "label", true, fwhat, fee->line, &fee->label);
			int type = dsl__get(L, attrs, "amount");
			const struct dsl_node *tn = dsl__node_check(L, -1);
			int ok = 0;
			lua_Integer cents = lua_tointegerx(L, -1, &ok);
			if (type == LUA_TFUNCTION) {
				fee->kind = ENG_FEE_FORMULA;
				fee->fn = dsl__fn_add(c, -1, ENG_FN_FEE, fee->name);
			} else if (tn && tn->kind == DSL_NODE_TARIFF) {
				compile_tariff(c, lua_gettop(L), fee, fwhat);
			} else if (type == LUA_TNUMBER && ok && cents >= 0) {
				fee->kind = ENG_FEE_FIXED;
				fee->amount = cents;
			} else {
				dsl__report(c, fee->line, "%s: amount must be whole cents, a tariff { ... } or a "
				            "function, got %s", fwhat, dsl__describe(L, -1));
			}
		}
		lua_settop(L, seen);
	}
done:
	lua_settop(L, top);
}

static bool field_of_type(const struct eng_definition *def, const char *name, bool number)
{
	const struct eng_field *f = eng_definition_field(def, name);
	return f && !f->group && (!number || f->type == ENG_FIELD_NUMBER);
}

void dsl__check_flow(struct dsl__compiler *c)
{
	const struct eng_definition *def = c->def;
	for (size_t i = 0; i < def->n_fees; i++) {
		const struct eng_fee *f = &def->fees[i];
		if (f->kind != ENG_FEE_TARIFF)
			continue;
		if (f->by && !field_of_type(def, f->by, false))
			dsl__report(c, f->line, "fee '%.60s': tariff by = '%.60s' is not a field of the form",
			            f->name, f->by);
		if (f->per && !field_of_type(def, f->per, true))
			dsl__report(c, f->line, "fee '%.60s': tariff per = '%.60s' is not a number field",
			            f->name, f->per);
	}
	if (def->on_silence && !eng_definition_state(def, def->on_silence))
		dsl__report(c, 0, "legal: on_silence names undefined state '%.60s'", def->on_silence);
	if (def->on_silence && def->resolve_within.unit == ENG_UNIT_NONE)
		dsl__report(c, 0, "legal: on_silence needs resolve_within, the time after which silence applies");
	for (size_t i = 0; i < def->n_states; i++) {
		const struct eng_state *st = &def->states[i];
		if (st->deadline && st->deadline->on_expiry &&
		    !eng_definition_state(def, st->deadline->on_expiry))
			dsl__report(c, st->line, "state '%.60s': deadline on_expiry names undefined state '%.60s'",
			            st->name, st->deadline->on_expiry);
		for (size_t k = 0; k < st->n_on; k++) {
			const struct eng_action *a = eng_state_action(st, st->on[k].action);
			if (!a)
				dsl__report(c, st->line, "state '%.60s': on %s names undefined action '%.60s'",
				            st->name, st->on[k].outcome, st->on[k].action);
			else if (a->by != ENG_BY_SYSTEM)
				dsl__report(c, st->line, "state '%.60s': on %s runs action '%.60s', which must be by = system",
				            st->name, st->on[k].outcome, a->name);
		}
		for (size_t j = 0; j < st->n_actions; j++) {
			const struct eng_action *a = &st->actions[j];
			for (size_t k = 0; k < a->n_fees; k++)
				if (!eng_definition_fee(def, a->fees[k]))
					dsl__report(c, a->line, "action '%.60s': fee '%.60s' is not in fees", a->name,
					            a->fees[k]);
			for (size_t k = 0; k < a->n_requires_paid; k++)
				if (!eng_definition_fee(def, a->requires_paid[k]))
					dsl__report(c, a->line, "action '%.60s': requires paid '%.60s', which is not in fees",
					            a->name, a->requires_paid[k]);
			if (a->pay && !eng_definition_fee(def, a->pay))
				dsl__report(c, a->line, "action '%.60s': pay = '%.60s' is not in fees", a->name, a->pay);
			if (a->extend && (!st->deadline || !a->to || strcmp(a->to, st->name) != 0))
				dsl__report(c, a->line, "action '%.60s': extend = true needs a deadline in this state "
				            "and to = \"%.60s\"", a->name, st->name);
			if (a->extend && st->deadline && st->deadline->period.unit == ENG_UNIT_HOURS)
				dsl__report(c, a->line, "action '%.60s': a deadline in hours cannot be extended", a->name);
		}
	}
}
