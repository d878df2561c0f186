/* The back office's inbox: the expedients the employee sees (their units and roles, issue 5:
 * web_employee_tramits), the most urgent first, filtered by state, tràmit, unit, the actions
 * they may take, text (number, registry number, applicant) and legal time limit (passed, or
 * ending within five days). Filters are a GET form, so a filtered list can be bookmarked and
 * works without JavaScript. */
#include <stdlib.h>
#include <string.h>

#include "engine/core/calendar.h"
#include "engine/runtime/units.h"
#include "engine/runtime/visibility.h"
#include "internal.h"

enum { INBOX_LIMIT = 200, SOON_MS = 5 * 86400000 };

/* A query value, or NULL when absent or empty ("any"). */
static const char *param(struct web_ctx *c, const char *name)
{
	const char *v = web_query_get(c, name);
	return v && *v ? v : NULL;
}

static void option(struct web_ctx *c, const char *value, const char *label, const char *chosen)
{
	web_printf(c, "<option value=\"");
	web_attr(c, value);
	web_printf(c, "\"%s>", chosen && strcmp(chosen, value) == 0 ? " selected" : "");
	web_html(c, label);
	web_printf(c, "</option>");
}

/* The states of the catalogue's tràmits, each name once, labelled by the first tràmit that
 * has it. */
static void state_options(struct web_ctx *c, const char *chosen)
{
	const struct cat_catalog *cat = c->srv->catalog;
	const char **seen = eng_arena_alloc(&c->arena, sizeof(*seen) * 512);
	size_t n_seen = 0;
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		if (!web_employee_sees(c, d->code))
			continue;
		for (size_t k = 0; k < d->n_states && n_seen < 512; k++) {
			const char *name = d->states[k].name;
			bool dup = false;
			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = strcmp(seen[j], name) == 0;
			if (dup)
				continue;
			seen[n_seen++] = name;
			option(c, name, eng_text_get(&d->states[k].label, c->lang), chosen);
		}
	}
}

/* The employee's scope and the unit and action filters of issue 5. */
struct scope {
	const char **units;   /* the units the employee holds a role in (below ones included) */
	size_t n_units;
	const char **roles;   /* the role names they hold, each once */
	size_t n_roles;
	struct eng_unit_view *names; /* the units' names, for the unit filter */
	size_t n_names;
	const char *unit, *actions;  /* chosen: a unit code; "me" or a role name; NULL: any */
};

static bool listed(const char *const *xs, size_t n, const char *x)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(xs[i], x) == 0)
			return true;
	return false;
}

static void scope_load(struct web_ctx *c, struct scope *s)
{
	size_t n = c->employee.n_roles;
	s->units = eng_arena_alloc(&c->arena, sizeof(char *) * (n + 1));
	s->roles = eng_arena_alloc(&c->arena, sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		const char *g = c->employee.roles[i], *unit;
		const char *role = eng_arena_strndup(&c->arena, g, eng_grant_split(g, &unit));
		if (unit && !listed(s->units, s->n_units, unit))
			s->units[s->n_units++] = unit;
		if (!listed(s->roles, s->n_roles, role))
			s->roles[s->n_roles++] = role;
	}
}

/* Narrows f to the tràmits the employee sees, of the chosen unit, and to the "CODE/state"
 * pairs where an action waits for them (for the chosen role, when one is). */
static void scope_apply(struct web_ctx *c, const struct scope *s, struct eng_inbox_filter *f)
{
	size_t n;
	const char **codes = web_employee_tramits(c, &n), **kept = codes;
	size_t n_kept = 0;
	const struct cat_catalog *cat = c->srv->catalog;
	for (size_t i = 0; i < n; i++) {
		const struct eng_definition *d = cat_catalog_by_code(cat, codes[i]);
		if (!s->unit || (d->unit && strcmp(d->unit, s->unit) == 0))
			kept[n_kept++] = codes[i];
	}
	f->tramits = kept;
	f->n_tramits = n_kept;
	if (!s->actions)
		return;
	const char *role = strcmp(s->actions, "me") == 0 ? NULL : s->actions;
	size_t cap = 0;
	for (size_t i = 0; i < n_kept; i++)
		cap += cat_catalog_by_code(cat, kept[i])->n_states;
	const char **pairs = eng_arena_alloc(&c->arena, sizeof(char *) * (cap + 1));
	size_t n_pairs = 0;
	for (size_t i = 0; i < n_kept; i++) {
		const struct eng_definition *d = cat_catalog_by_code(cat, kept[i]);
		for (size_t k = 0; k < d->n_states; k++)
			if (eng_grants_act(d, d->states[k].name, c->employee.roles, c->employee.n_roles, role))
				pairs[n_pairs++] = eng_arena_printf(&c->arena, "%s/%s", d->code, d->states[k].name);
	}
	f->waiting = pairs;
	f->n_waiting = n_pairs;
}

static void scope_filters(struct web_ctx *c, const struct scope *s)
{
	web_printf(c, "<div class=\"field\"><label for=\"f-unitat\">%s</label><select id=\"f-unitat\" "
	              "name=\"unitat\">", web_t(c, "inbox.unit"));
	option(c, "", web_t(c, "inbox.any"), s->unit ? s->unit : "");
	for (size_t i = 0; i < s->n_names; i++)
		option(c, s->names[i].code, c->lang == ENG_LANG_ES ? s->names[i].name_es : s->names[i].name_ca,
		       s->unit);
	web_printf(c, "</select></div><div class=\"field\"><label for=\"f-accions\">%s</label><select "
	              "id=\"f-accions\" name=\"accions\">", web_t(c, "inbox.actions"));
	option(c, "", web_t(c, "inbox.any"), s->actions ? s->actions : "");
	option(c, "me", web_t(c, "inbox.actions.me"), s->actions);
	for (size_t i = 0; i < s->n_roles; i++)
		option(c, s->roles[i], eng_arena_printf(&c->arena, "%s %s", web_t(c, "inbox.actions.as"), s->roles[i]),
		       s->actions);
	web_printf(c, "</select></div>");
}

static void filters(struct web_ctx *c, const struct eng_inbox_filter *f, const char *assigned,
                    const struct scope *s)
{
	const struct cat_catalog *cat = c->srv->catalog;
	web_printf(c, "<form method=\"get\" action=\"/backoffice\" class=\"filters\" id=\"filters\">"
	              "<div class=\"field\"><label for=\"f-estat\">%s</label><select id=\"f-estat\" "
	              "name=\"estat\">", web_t(c, "inbox.state"));
	option(c, "", web_t(c, "inbox.any"), f->state ? f->state : "");
	state_options(c, f->state);
	web_printf(c, "</select></div><div class=\"field\"><label for=\"f-tramit\">%s</label>"
	              "<select id=\"f-tramit\" name=\"tramit\">", web_t(c, "col.tramit"));
	option(c, "", web_t(c, "inbox.any"), f->tramit ? f->tramit : "");
	for (size_t i = 0; i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		if (!web_employee_sees(c, d->code))
			continue;
		option(c, d->code, eng_arena_printf(&c->arena, "%s (%s)", eng_text_get(&d->title, c->lang),
		                                    d->code), f->tramit);
	}
	web_printf(c, "</select></div>");
	scope_filters(c, s);
	web_printf(c, "<div class=\"field\"><label for=\"f-termini\">%s</label>"
	              "<select id=\"f-termini\" name=\"termini\">", web_t(c, "inbox.due"));
	option(c, "", web_t(c, "inbox.any"), f->due ? f->due : "");
	option(c, "soon", web_t(c, "inbox.due.soon"), f->due);
	option(c, "overdue", web_t(c, "inbox.due.overdue"), f->due);
	web_printf(c, "</select></div><div class=\"field\"><label for=\"f-assignat\">%s</label>"
	              "<select id=\"f-assignat\" name=\"assignat\">", web_t(c, "inbox.assigned"));
	option(c, "", web_t(c, "inbox.any"), assigned ? assigned : "");
	option(c, "me", web_t(c, "inbox.assigned.me"), assigned);
	option(c, "none", web_t(c, "inbox.assigned.none"), assigned);
	web_printf(c, "</select></div><div class=\"field\"><label for=\"f-text\">%s</label>"
	              "<input type=\"text\" id=\"f-text\" name=\"q\" maxlength=\"100\" value=\"",
	           web_t(c, "inbox.text"));
	web_attr(c, f->text ? f->text : "");
	web_printf(c, "\"></div><button type=\"submit\">%s</button> <a href=\"/backoffice\">%s</a></form>",
	           web_t(c, "inbox.filter"), web_t(c, "inbox.clear"));
}

/* The time limit cell: its last moment in Madrid, tagged when passed or near. */
static void due_cell(struct web_ctx *c, int64_t due, int64_t now)
{
	web_printf(c, "<td class=\"due\">");
	if (due > 0) {
		/* The limit is the first instant past the last day: show that last day. */
		struct eng_datetime t = eng_datetime_from_unix((due - 1000) / 1000);
		char day[11];
		eng_day_format(day, t.day);
		web_html(c, web_day(c, day));
		if (due < now)
			web_printf(c, " <span class=\"tag act\">%s</span>", web_t(c, "inbox.due.overdue"));
		else if (due < now + SOON_MS)
			web_printf(c, " <span class=\"tag\">%s</span>", web_t(c, "inbox.due.soon"));
	}
	web_printf(c, "</td>");
}

static void table(struct web_ctx *c, const struct eng_expedient_view *xs, const int64_t *due,
                  const char *const *assignee, size_t n)
{
	int64_t now = web_now_ms();
	web_printf(c, "<table id=\"expedients\"><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s"
	              "</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           web_t(c, "col.number"), web_t(c, "col.tramit"), web_t(c, "col.applicant"),
	           web_t(c, "col.state"), web_t(c, "inbox.due"), web_t(c, "inbox.assigned"),
	           web_t(c, "col.registry"));
	for (size_t i = 0; i < n; i++) {
		const struct eng_definition *d = cat_catalog_by_hash(c->srv->catalog, xs[i].definition_hash);
		web_printf(c, "<tr data-id=\"%s\"><td><a href=\"/backoffice/expedients/%s\">", xs[i].id, xs[i].id);
		web_html(c, xs[i].number);
		web_printf(c, "</a></td><td>");
		web_html(c, d ? eng_text_get(&d->title, c->lang) : xs[i].tramit_code);
		web_printf(c, "</td><td>");
		web_html(c, xs[i].applicant_name);
		web_printf(c, " (");
		web_html(c, xs[i].applicant_nif);
		web_printf(c, ")</td><td class=\"state\" data-state=\"");
		web_attr(c, xs[i].state);
		web_printf(c, "\">");
		web_html(c, web_state_label(c, d, xs[i].state));
		web_printf(c, "</td>");
		due_cell(c, due[i], now);
		web_printf(c, "<td class=\"assignee\">");
		web_html(c, assignee[i]);
		web_printf(c, "</td><td>");
		if (xs[i].registry_number)
			web_html(c, xs[i].registry_number);
		web_printf(c, "</td></tr>");
	}
	web_printf(c, "</tbody></table>");
}

void web_route_backoffice(struct web_ctx *c)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_inbox_filter f = {.state = param(c, "estat"), .tramit = param(c, "tramit"),
	                             .text = param(c, "q"), .due = param(c, "termini")};
	const char *assigned = param(c, "assignat");
	if (assigned && strcmp(assigned, "me") == 0)
		f.assigned = c->session.principal_id;
	else if (assigned && strcmp(assigned, "none") == 0)
		f.assigned = "";
	struct scope sc = {.unit = param(c, "unitat"), .actions = param(c, "accions")};
	scope_load(c, &sc);
	/* Only the employee's own units and roles are filters; anything else is a bad request. */
	if ((f.due && strcmp(f.due, "soon") != 0 && strcmp(f.due, "overdue") != 0) ||
	    (assigned && !f.assigned) || (f.text && strlen(f.text) > 100) ||
	    (sc.unit && !listed(sc.units, sc.n_units, sc.unit)) ||
	    (sc.actions && strcmp(sc.actions, "me") != 0 && !listed(sc.roles, sc.n_roles, sc.actions)))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	scope_apply(c, &sc, &f);
	struct eng_expedient_view *xs;
	int64_t *due;
	const char **assignee;
	size_t n, total;
	struct eng_error err;
	if (eng_store_expedient_inbox(c->store, &c->arena, c->srv->cfg.entity_id, &f, INBOX_LIMIT, &xs,
	                              &due, &assignee, &n, &total, &err) != 0 ||
	    eng_store_unit_names(c->store, &c->arena, c->srv->cfg.entity_id, sc.units, sc.n_units,
	                         web_lang_code(c->lang), &sc.names, &sc.n_names, &err) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	bool filtered = f.state || f.tramit || f.text || f.due || f.assigned || sc.unit || sc.actions;
	web_page_begin(c, web_t(c, "backoffice.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "backoffice.title"), web_t(c, "backoffice.intro.scoped"));
	filters(c, &f, assigned, &sc);
	web_printf(c, "<p id=\"count\" role=\"status\">%zu %s</p>", total,
	           web_t(c, total == 1 ? "inbox.one" : "inbox.many"));
	if (n == 0)
		web_printf(c, "<p id=\"empty\">%s</p>", web_t(c, filtered ? "inbox.none" : "backoffice.empty"));
	else
		table(c, xs, due, assignee, n);
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

/* POST /backoffice/expedients/{id}/assign: to=me takes the expedient, to=none leaves it. */
void web_route_backoffice_assign(struct web_ctx *c, const char *id)
{
	if (!web_require(c, "employee"))
		return;
	static const char *const fields[] = {"to", NULL};
	struct eng_value *v;
	size_t n;
	if (!web_post_fields(c, 1024, fields, &v, &n))
		return;
	const char *to = eng_values_get(v, n, "to");
	if (!to || (strcmp(to, "me") != 0 && strcmp(to, "none") != 0))
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	struct eng_error err;
	const char *me = c->session.principal_id;
	/* Only an expedient the employee sees moves; any other is not found (issue 5). */
	size_t n_tramits;
	const char **tramits = web_employee_tramits(c, &n_tramits);
	int rc = eng_store_expedient_assign(c->store, &c->arena, c->srv->cfg.entity_id, id, tramits,
	                                    n_tramits, strcmp(to, "me") == 0 ? me : NULL, me, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_redirect(c, eng_arena_printf(&c->arena, "/backoffice/expedients/%s", id));
}

void web_render_assignment(struct web_ctx *c, const char *id)
{
	const char *name = eng_store_expedient_assignee(c->store, &c->arena, c->srv->cfg.entity_id, id);
	web_printf(c, "<form method=\"post\" action=\"/backoffice/expedients/%s/assign\" id=\"assignment\">"
	              "<p>%s: <strong id=\"assignee\">", id, web_t(c, "inbox.assigned"));
	web_html(c, name ? name : web_t(c, "inbox.assigned.nobody"));
	web_printf(c, "</strong> <input type=\"hidden\" name=\"csrf\" value=\"");
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><button type=\"submit\" name=\"to\" value=\"me\" class=\"secondary\" "
	              "id=\"assign-me\">%s</button>", web_t(c, "inbox.assign.me"));
	if (name)
		web_printf(c, " <button type=\"submit\" name=\"to\" value=\"none\" class=\"secondary\" "
		              "id=\"assign-none\">%s</button>", web_t(c, "inbox.assign.none"));
	web_printf(c, "</p></form>");
}
