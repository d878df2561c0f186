/* Shared rendering: the page frame (demo banner, header, navigation, language switch), error
 * pages, state labels and form data in the definition's field order. */
#include <stdio.h>
#include <string.h>

#include "engine/core/template.h"
#include "engine/core/validate.h"
#include "internal.h"

void web_page_begin(struct web_ctx *c, const char *title)
{
	const struct eng_entity_view *e = &c->srv->entity;
	const char *entity = c->lang == ENG_LANG_ES ? e->name_es : e->name_ca;
	web_printf(c, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	              "<title>", c->lang == ENG_LANG_ES ? "es" : "ca");
	web_html(c, title);
	web_printf(c, " · ");
	web_html(c, entity);
	web_printf(c, "</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>"
	              "<a class=\"skip\" href=\"#main\">%s</a><header>", web_t(c, "nav.skip"));
	/* Inside the banner landmark, so that no content lies outside a landmark. */
	if (c->srv->cfg.demo)
		web_printf(c, "<div class=\"demo\" role=\"note\" id=\"demo-banner\">%s</div>",
		           web_t(c, "demo.banner"));
	web_printf(c, "<div class=\"top\"><a class=\"entity\" href=\"/\">");
	web_html(c, entity);
	web_printf(c, " · %s</a><span>", web_t(c, "site.name"));
	const char *here = eng_arena_printf(&c->arena, "%s%s%s", c->path, c->query ? "?" : "",
	                                    c->query ? c->query : "");
	web_printf(c, "<a href=\"/lang?to=%s&amp;next=", web_t(c, "lang.other.code"));
	web_attr(c, web_url_encode(c, here));
	web_printf(c, "\" lang=\"%s\">%s</a>", web_t(c, "lang.other.code"), web_t(c, "lang.other"));
	web_printf(c, "</span></div><nav aria-label=\"%s\"><ul>"
	              "<li><a href=\"/\">%s</a></li>", web_t(c, "nav.label"), web_t(c, "nav.catalogue"));
	if (!c->signed_in || strcmp(c->session.principal_kind, "citizen") == 0)
		web_printf(c, "<li><a href=\"/carpeta\">%s</a></li>", web_t(c, "nav.carpeta"));
	if (c->signed_in && strcmp(c->session.principal_kind, "employee") == 0)
		web_printf(c, "<li><a href=\"/backoffice\">%s</a></li><li><a href=\"/backoffice/registry\">%s</a></li>",
		           web_t(c, "nav.backoffice"), web_t(c, "nav.registry"));
	if (c->signed_in && strcmp(c->session.principal_kind, "employee") == 0)
		web_printf(c, "<li><a href=\"/backoffice/signatures\">%s</a></li>", web_t(c, "nav.signatures"));
	if (web_counter_allowed(c)) /* assisted filing at the counter (counter.c) */
		web_printf(c, "<li><a href=\"/backoffice/counter\">%s</a></li>", web_t(c, "nav.counter"));
	web_printf(c, "<li><a href=\"/pagaments\">%s</a></li>", web_t(c, "nav.pay"));
	web_printf(c, "<li><a href=\"/verify\">%s</a></li>", web_t(c, "nav.verify"));
	if (c->signed_in) {
		web_printf(c, "<li>%s <strong id=\"who\">", web_t(c, "nav.signed_as"));
		web_html(c, c->display_name);
		web_printf(c, "</strong> <form method=\"post\" action=\"/logout\"><input type=\"hidden\" "
		              "name=\"csrf\" value=\"");
		web_attr(c, c->session.csrf);
		web_printf(c, "\"><button class=\"link\" type=\"submit\">%s</button></form></li>",
		           web_t(c, "nav.signout"));
	} else {
		web_printf(c, "<li><a href=\"/login\">%s</a></li>", web_t(c, "nav.signin"));
	}
	web_printf(c, "</ul></nav><form method=\"get\" action=\"/cerca\" role=\"search\" "
	              "class=\"site-search\"><label for=\"site-search\">%s</label> <input type=\"search\" "
	              "id=\"site-search\" name=\"q\" maxlength=\"200\"> <button type=\"submit\">%s</button>"
	              "</form></header><main id=\"main\">", web_t(c, "search.label"), web_t(c, "search.button"));
	web_render_acting(c); /* "acting for X" on every page while representing someone */
}

void web_page_end(struct web_ctx *c)
{
	const struct eng_entity_view *e = &c->srv->entity;
	web_printf(c, "</main><footer>");
	web_html(c, c->lang == ENG_LANG_ES ? e->name_es : e->name_ca);
	web_printf(c, " · %s</footer></body></html>\n", web_t(c, "site.name"));
}

void web_error_page(struct web_ctx *c, int status, const char *title_key, const char *text_key)
{
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
	web_page_begin(c, web_t(c, title_key));
	web_printf(c, "<h1>%s</h1><p id=\"error\">%s</p>", web_t(c, title_key), web_t(c, text_key));
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

const char *web_state_label(struct web_ctx *c, const struct eng_definition *def, const char *state)
{
	const struct eng_state *st = def ? eng_definition_state(def, state) : NULL;
	return st ? eng_text_get(&st->label, c->lang) : state;
}

/* A stored value as the citizen reads it (engine/core/template.h), long texts keeping their
 * paragraphs; an empty one says so. */
static void data_value(struct web_ctx *c, const struct eng_field *f, const char *v)
{
	if (!*v) {
		web_printf(c, "<span class=\"hint\">%s</span>", web_t(c, "review.empty"));
		return;
	}
	const char *text = eng_field_display(&c->arena, f, v, c->lang);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		web_html(c, eng_arena_strndup(&c->arena, p, len));
		if (!nl)
			break;
		web_printf(c, "<br>");
		p = nl + 1;
	}
}

/* A repeatable group: its label, then each instance's answers. */
static void data_group(struct web_ctx *c, const struct eng_definition *def, const struct eng_group *g,
                       const struct eng_value *data, size_t n)
{
	long instances = eng_group_count(def, g, data, n);
	if (!instances)
		return;
	web_printf(c, "<dt>");
	web_html(c, eng_text_get(&g->label, c->lang));
	web_printf(c, "</dt><dd data-field=\"");
	web_attr(c, g->name);
	web_printf(c, "\"><ol class=\"instances\">");
	for (long k = 1; k <= instances; k++) {
		web_printf(c, "<li><dl>");
		for (size_t i = 0; i < def->n_fields; i++) {
			const struct eng_field *f = &def->fields[i];
			if (!f->group || strcmp(f->group, g->name) != 0)
				continue;
			const char *name = eng_arena_printf(&c->arena, "%s.%ld.%s", g->name, k, f->name);
			const char *v = eng_values_get(data, n, name);
			if (!v)
				continue;
			web_printf(c, "<dt>");
			web_html(c, eng_text_get(&f->label, c->lang));
			web_printf(c, "</dt><dd data-field=\"");
			web_attr(c, name);
			web_printf(c, "\">");
			data_value(c, f, v);
			web_printf(c, "</dd>");
		}
		web_printf(c, "</dl></li>");
	}
	web_printf(c, "</ol></dd>");
}

int web_events(struct web_ctx *c, const char *id, struct eng_event_view **ev, size_t *n)
{
	if (!c->events_of || strcmp(c->events_of, id) != 0) {
		struct eng_error err;
		int rc = eng_store_event_list(c->store, &c->arena, id, &c->events, &c->n_events, &err);
		if (rc)
			return rc;
		c->events_of = eng_arena_strdup(&c->arena, id);
	}
	*ev = c->events;
	*n = c->n_events;
	return 0;
}

void web_render_data(struct web_ctx *c, const struct eng_definition *def,
                     const struct eng_value *data, size_t n)
{
	web_printf(c, "<dl class=\"facts\" id=\"data\">");
	/* Fields in the form's order; a group where its first field stands. */
	for (size_t i = 0; def && i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		if (f->group) {
			bool first = true;
			for (size_t k = 0; k < i; k++)
				first = first && !(def->fields[k].group && strcmp(def->fields[k].group, f->group) == 0);
			const struct eng_group *g = first ? eng_definition_group(def, f->group) : NULL;
			if (g)
				data_group(c, def, g, data, n);
			continue;
		}
		const char *v = eng_values_get(data, n, f->name);
		if (!v)
			continue;
		web_printf(c, "<dt>");
		web_html(c, eng_text_get(&f->label, c->lang));
		web_printf(c, "</dt><dd data-field=\"");
		web_attr(c, f->name);
		web_printf(c, "\">");
		data_value(c, f, v);
		web_printf(c, "</dd>");
	}
	web_printf(c, "</dl>");
}

struct eng_actor web_actor(struct web_ctx *c)
{
	struct eng_actor a = {.kind = ENG_PRINCIPAL_CITIZEN, .id = c->session.principal_id};
	a.represents = c->acting_for; /* the principal stays the actor; the party is whom they act for */
	if (c->signed_in && strcmp(c->session.principal_kind, "employee") == 0) {
		a.kind = ENG_PRINCIPAL_EMPLOYEE;
		a.roles = c->employee.roles;
		a.n_roles = c->employee.n_roles;
	}
	return a;
}
