/* Corrections (subsanación, art. 68 LPAC) and the applicant's other actions on an expedient
 * already filed. The Carpeta's expedient page says what the applicant must do (the text staff
 * gave when they asked, stored with that transition) and offers the actions the state gives
 * the applicant; a form action opens the tràmit's own form (form.c, form_eval.c) pre-filled
 * with the expedient's answers and files, and filing it runs the action on the expedient:
 * registered, with its receipt, like the first filing.
 * Invariants: only the applicant (or whoever acts for them) reaches these pages, anyone else
 * gets "not found"; a post made against a version that is no longer current changes nothing
 * and shows the current state; a file named in the answers is one this person uploaded and had
 * scanned under this form's key, or one the expedient already holds in the same field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/drafts.h"
#include "internal.h"

bool web_action_needs_reason(const struct eng_definition *d, const struct eng_action *a)
{
	if (!d || !a || a->by == ENG_BY_APPLICANT || a->by == ENG_BY_REPRESENTATIVE || a->extend)
		return false;
	const struct eng_state *to = eng_definition_state(d, a->to);
	return to && to->applicant_must_act && !to->final;
}

void web_reason_actions_init(struct web_server *srv)
{
	const struct cat_catalog *cat = srv->catalog;
	size_t cap = 0;
	for (size_t i = 0; cat && i < cat_catalog_count(cat); i++)
		for (size_t s = 0; s < cat_catalog_at(cat, i)->n_states; s++)
			cap += cat_catalog_at(cat, i)->states[s].n_actions;
	srv->reason_actions = eng_arena_alloc(&srv->arena, sizeof(*srv->reason_actions) * (cap + 1));
	srv->n_reason_actions = 0;
	for (size_t i = 0; cat && i < cat_catalog_count(cat); i++) {
		const struct eng_definition *d = cat_catalog_at(cat, i);
		for (size_t s = 0; s < d->n_states; s++)
			for (size_t k = 0; k < d->states[s].n_actions; k++) {
				const struct eng_action *a = &d->states[s].actions[k];
				bool known = false;
				for (size_t j = 0; j < srv->n_reason_actions && !known; j++)
					known = strcmp(srv->reason_actions[j], a->name) == 0;
				if (!known && web_action_needs_reason(d, a))
					srv->reason_actions[srv->n_reason_actions++] = a->name;
			}
	}
}

bool web_action_may_need_reason(struct web_ctx *c, const char *action)
{
	for (size_t i = 0; i < c->srv->n_reason_actions; i++)
		if (strcmp(c->srv->reason_actions[i], action) == 0)
			return true;
	return false;
}

struct eng_value *web_correction_values(struct web_ctx *c, const struct eng_definition *d,
                                        const struct eng_expedient_view *x, size_t *n)
{
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (x->n_data + 1));
	*n = 0;
	for (size_t i = 0; i < x->n_data; i++) {
		int index;
		const struct eng_field *f = eng_form_field(d, x->data[i].name, &index);
		const char *value = x->data[i].value;
		if (!f || f->computed_fn || !value)
			continue;
		/* The engine keeps money in cents; the form reads euros with a decimal comma. */
		if (f->type == ENG_FIELD_MONEY) {
			char *end = NULL;
			long long cents = strtoll(value, &end, 10);
			if (end && !*end && cents >= 0)
				value = eng_arena_printf(&c->arena, "%lld,%02lld", cents / 100, cents % 100);
		}
		v[(*n)++] = (struct eng_value){x->data[i].name, value};
	}
	return v;
}

/* Whether line (len bytes) is one of the lines of the expedient's value of field. */
static bool held(const struct eng_expedient_view *x, const char *field, const char *line, size_t len)
{
	const char *v = eng_values_get(x->data, x->n_data, field);
	for (const char *p = v; p && *p;) {
		size_t l = strcspn(p, "\n");
		if (l == len && memcmp(p, line, len) == 0)
			return true;
		p += l + (p[l] == '\n');
	}
	return false;
}

static bool staged_here(struct web_ctx *c, const char *field, const char *line, size_t len,
                        const struct eng_staged_file *staged, size_t n_staged)
{
	const struct web_upload_post *p = c->upload;
	for (size_t i = 0; p && i < p->n_files; i++) {
		const struct eng_doc_upload *f = &p->files[i];
		const char *want = eng_arena_printf(&c->arena, "%s|%zu|%s", f->name, f->len, f->sha256);
		if (strcmp(f->field, field) == 0 && strlen(want) == len && memcmp(want, line, len) == 0)
			return true;
	}
	for (size_t i = 0; i < n_staged; i++) {
		const struct eng_staged_file *f = &staged[i];
		const char *want = eng_arena_printf(&c->arena, "%s|%lld|%s", f->name, f->size, f->sha256);
		if (strcmp(f->field, field) == 0 && strlen(want) == len && memcmp(want, line, len) == 0)
			return true;
	}
	return false;
}

bool web_correction_files_ok(struct web_ctx *c, const struct eng_definition *d,
                             const struct eng_expedient_view *x, const char *key,
                             const struct eng_value *v, size_t n, struct eng_outcome *out)
{
	struct eng_staged_file *staged = NULL;
	size_t n_staged = 0;
	if (key && c->signed_in) {
		struct eng_error err;
		const char *who = eng_arena_printf(&c->arena, "citizen:%s", c->session.principal_id);
		if (eng_staged_list(c->store, &c->arena, c->srv->cfg.entity_id, who, key, &staged,
		                    &n_staged, &err) != 0)
			n_staged = 0; /* then only this post's files and the expedient's count */
	}
	for (size_t i = 0; i < n; i++) {
		int index;
		const struct eng_field *f = eng_form_field(d, v[i].name, &index); /* a group's too */
		if (!f || f->type != ENG_FIELD_FILE)
			continue;
		for (const char *p = v[i].value; p && *p;) {
			size_t len = strcspn(p, "\n");
			if (len && !held(x, v[i].name, p, len) && !staged_here(c, v[i].name, p, len, staged, n_staged) &&
			    !staged_here(c, f->name, p, len, staged, n_staged)) {
				memset(out, 0, sizeof(*out));
				struct eng_field_error *e = &out->step.errors[out->step.n_errors++];
				e->field = f->name;
				snprintf(e->ca, sizeof(e->ca), "«%s»: adjunteu els fitxers amb el formulari de la seu.",
				         eng_text_get(&f->label, ENG_LANG_CA));
				snprintf(e->es, sizeof(e->es), "«%s»: adjunte los ficheros con el formulario de la sede.",
				         eng_text_get(&f->label, ENG_LANG_ES));
				out->step.code = ENG_EINVALID;
				snprintf(out->step.msg, sizeof(out->step.msg), "field %s: files are attached by "
				         "uploading them with the form, not named in a value", f->name);
				return false;
			}
			p += len + (p[len] == '\n');
		}
	}
	return true;
}

const char *web_correction_csv(struct web_ctx *c)
{
	char *csv = eng_arena_alloc(&c->arena, CONN_CSV_DISPLAY_LEN + 1);
	return conn_csv_new(csv) == 0 ? csv : NULL;
}

/* The reason given with the transition that brought the expedient to its state, if any. */
static const char *current_reason(struct web_ctx *c, const struct eng_expedient_view *x)
{
	struct eng_event_view *ev;
	size_t n;
	if (web_events(c, x->id, &ev, &n) != 0 || n == 0)
		return NULL;
	/* The transition that entered the state: later ones within it (a notice delivered) keep it. */
	for (size_t i = n; i-- > 0;) {
		const struct eng_event_view *e = &ev[i];
		if (!e->to_state || strcmp(e->to_state, x->state) != 0)
			return NULL;
		if (e->reason || !e->from_state || strcmp(e->from_state, e->to_state) != 0)
			return e->reason;
	}
	return NULL;
}

void web_correction_section(struct web_ctx *c, const struct eng_definition *d,
                            const struct eng_expedient_view *x)
{
	const struct eng_state *st = d ? eng_definition_state(d, x->state) : NULL;
	if (!st || st->final || st == eng_definition_initial(d))
		return;
	struct eng_expedient exp = {.state = x->state, .version = x->version, .applicant_id = x->applicant_nif};
	struct eng_actor actor = web_actor(c);
	const char *reason = current_reason(c, x);
	int shown = 0;
	for (size_t i = 0; i < st->n_actions; i++) {
		const struct eng_action *a = &st->actions[i];
		if ((a->by != ENG_BY_APPLICANT && a->by != ENG_BY_REPRESENTATIVE) || !eng_actor_may(a, &exp, &actor))
			continue;
		if (!shown++) {
			web_printf(c, "<section aria-labelledby=\"todo-h\" id=\"todo\" class=\"panel\"><h2 id=\"todo-h\">%s"
			              "</h2>", web_t(c, "correction.todo"));
			if (reason) {
				web_printf(c, "<p>%s</p><blockquote id=\"todo-reason\">", web_t(c, "correction.asked"));
				for (const char *p = reason; *p;) {
					size_t len = strcspn(p, "\n");
					web_html(c, eng_arena_strndup(&c->arena, p, len));
					p += len;
					if (*p == '\n' && *++p)
						web_printf(c, "<br>");
				}
				web_printf(c, "</blockquote>");
			}
			web_printf(c, "<p class=\"actions\">");
		}
		const char *href = eng_arena_printf(&c->arena, "/carpeta/expedients/%s/actions/%s", x->id,
		                                    web_url_encode(c, a->name));
		if (a->flags & ENG_ACTION_FORM) {
			web_printf(c, "<a class=\"button\" id=\"action-%s\" href=\"%s\">", a->name, href);
			web_html(c, eng_text_get(&a->label, c->lang));
			web_printf(c, "</a> ");
			continue;
		}
		web_printf(c, "</p><form method=\"post\" action=\"%s\"><input type=\"hidden\" name=\"csrf\" "
		              "value=\"", href);
		web_attr(c, c->session.csrf);
		web_printf(c, "\"><input type=\"hidden\" name=\"version\" value=\"%lld\"><button type=\"submit\" "
		              "id=\"action-%s\">", (long long)x->version, a->name);
		web_html(c, eng_text_get(&a->label, c->lang));
		web_printf(c, "</button></form><p class=\"actions\">");
	}
	if (shown)
		web_printf(c, "</p></section>");
}

void web_corrections_filed(struct web_ctx *c, const struct eng_expedient_view *x)
{
	struct eng_event_view *ev;
	size_t n;
	if (web_events(c, x->id, &ev, &n) != 0)
		return;
	int shown = 0;
	for (size_t i = 1; i < n; i++) { /* the first entry is the application's receipt */
		if (!ev[i].registry_number)
			continue;
		if (!shown++)
			web_printf(c, "<section aria-labelledby=\"filed-h\" id=\"filed\"><h2 id=\"filed-h\">%s</h2>"
			              "<table id=\"filed-entries\"><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">"
			              "%s</th><th scope=\"col\">%s</th></tr></thead><tbody>", web_t(c, "correction.filed"),
			           web_t(c, "receipt.registry"), web_t(c, "receipt.presented"), web_t(c, "receipt.csv"));
		web_printf(c, "<tr data-seq=\"%lld\"><td class=\"registry-number\">", (long long)ev[i].seq);
		web_html(c, ev[i].registry_number);
		web_printf(c, "</td><td>");
		web_html(c, web_date(c, ev[i].presented_at ? ev[i].presented_at : ev[i].at));
		web_printf(c, "</td><td class=\"csv\">");
		if (ev[i].receipt_csv) {
			web_html(c, ev[i].receipt_csv);
			web_printf(c, " <a href=\"/verify?csv=%s\">/verify</a>", web_url_encode(c, ev[i].receipt_csv));
		}
		web_printf(c, "</td></tr>");
	}
	if (shown)
		web_printf(c, "</tbody></table></section>");
}

/* --- the correction's form --- */

/* The expedient's files, listed as kept, for the file fields the answers fill from it. */
static void keep_expedient_files(struct web_ctx *c, struct web_form *f, const struct eng_expedient_view *x)
{
	const struct eng_definition *d = f->def;
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (f->n_values + d->n_fields + 1));
	memcpy(v, f->values, sizeof(*v) * f->n_values);
	size_t nv = f->n_values, cap = f->n_kept + 16;
	struct eng_staged_file *kept = eng_arena_alloc(&c->arena, sizeof(*kept) * cap);
	if (f->n_kept)
		memcpy(kept, f->kept, sizeof(*kept) * f->n_kept);
	size_t nk = f->n_kept;
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct eng_field *field = &d->fields[i];
		const char *ours = eng_values_get(x->data, x->n_data, field->name);
		if (field->type != ENG_FIELD_FILE || field->group || !ours || !*ours)
			continue;
		const char *now = eng_values_get(v, nv, field->name);
		if (now && *now && strcmp(now, ours) != 0)
			continue; /* replaced by this post's files */
		if (!now || !*now) {
			size_t j = 0;
			while (j < nv && strcmp(v[j].name, field->name) != 0)
				j++;
			if (j == nv)
				nv++;
			v[j] = (struct eng_value){field->name, ours};
		}
		for (const char *p = ours; *p && nk < cap;) {
			size_t len = strcspn(p, "\n");
			const char *line = eng_arena_strndup(&c->arena, p, len);
			char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
			if (bar1 && bar2) {
				kept[nk++] = (struct eng_staged_file){
					.field = field->name, .name = eng_arena_strndup(&c->arena, line, (size_t)(bar1 - line)),
					.sha256 = bar2 + 1, .size = atoll(bar1 + 1)};
			}
			p += len + (p[len] == '\n');
		}
	}
	f->values = v;
	f->n_values = nv;
	f->kept = kept;
	f->n_kept = nk;
}

static void show_form(struct web_ctx *c, struct web_form *f, const struct eng_expedient_view *x,
                      const struct eng_step_result *errors, int status)
{
	struct eng_error err = {0};
	if (web_form_keep_files(c, f, &err) != 0)
		fprintf(stderr, "tramit: staged files of %s: %s\n", f->def->code, err.msg);
	keep_expedient_files(c, f, x);
	web_form_eval(c, f, errors);
	web_form_render(c, f, status);
}

static void changed(struct web_ctx *c, const char *id)
{
	web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/expedients/%s?changed=1", id));
}

/* Runs the action with the answers (or none); the answer is a redirect, or the form again. */
static void run(struct web_ctx *c, struct web_form *f, const struct eng_expedient_view *x, bool form)
{
	struct eng_outcome out = {0};
	struct eng_error err = {0};
	char csv[CONN_CSV_DISPLAY_LEN + 1] = "";
	if (form && !web_correction_files_ok(c, f->def, x, f->key, f->values, f->n_values, &out))
		return show_form(c, f, x, &out.step, 422);
	if (conn_csv_new(csv) != 0)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	struct eng_command cmd = {
		.entity_id = c->srv->cfg.entity_id,
		.expedient_id = x->id,
		.expected_version = f->act_version,
		.applicant_only = web_applicant_only(c),
		.idempotency_key = f->key,
		.event = {.kind = ENG_EVENT_ACTION, .action = f->act, .actor = web_actor(c),
		          .time_ms = web_now_ms(), .form = form ? f->values : NULL,
		          .n_form = form ? f->n_values : 0, .csv = csv},
	};
	int rc = eng_store_apply(c->store, &c->arena, &cmd, cat_catalog_lookup, (void *)c->srv->catalog,
	                         &out, &err);
	if (rc == ENG_OK)
		return web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/expedients/%s?%s=1", x->id,
		                                        form ? "corrected" : "submitted"));
	if (rc == ENG_EINVALID && out.step.n_errors > 0 && form)
		return show_form(c, f, x, &out.step, 422);
	if (rc == ENG_ENOTFOUND || rc == ENG_EDENIED)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc == ENG_ECONFLICT) {
		struct eng_expedient_view now;
		if (web_expedient_visible(c, x->id, &now) == 0 && now.version != f->act_version)
			return changed(c, x->id);
		return web_error_page(c, 409, "err.conflict.title", "correction.refused");
	}
	fprintf(stderr, "tramit: action %s on %s failed: %s\n", f->act, x->id, err.msg);
	web_error_page(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
	               rc == ENG_EUNAVAILABLE ? "err.unavailable.title" : "err.internal.title",
	               rc == ENG_EUNAVAILABLE ? "err.unavailable" : "err.internal");
}

/* Whether every transition since version seen was the system's own bookkeeping that left
 * the state as it was (a notice delivered, say): then the page the person saw still holds. */
static bool still_current(struct web_ctx *c, const struct eng_expedient_view *x, long long seen)
{
	struct eng_event_view *ev;
	size_t n;
	struct eng_error err;
	if (seen > x->version || eng_store_event_list(c->store, &c->arena, x->id, &ev, &n, &err) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].seq <= seen)
			continue;
		if (!ev[i].actor_kind || strcmp(ev[i].actor_kind, "system") != 0 || !ev[i].from_state ||
		    strcmp(ev[i].from_state, ev[i].to_state) != 0)
			return false;
	}
	return true;
}

/* Takes the controls out of the posted values: the key, the button and the version. */
static const char *take_controls(struct web_form *f, const char **key, const char **version)
{
	const char *button = NULL;
	size_t m = 0;
	for (size_t i = 0; i < f->n_values; i++) {
		const char *name = f->values[i].name;
		if (strcmp(name, "submission") == 0)
			*key = f->values[i].value;
		else if (strcmp(name, "_action") == 0)
			button = f->values[i].value;
		else if (strcmp(name, "version") == 0)
			*version = f->values[i].value;
		else
			f->values[m++] = f->values[i];
	}
	f->n_values = m;
	return button;
}

/* What the form's buttons do, as on the new application's form (seu.c) but on the
 * expedient: "review" shows the answers, "submit" (or none) files them, the rest redraw. */
static void act_on(struct web_ctx *c, struct web_form *f, const struct eng_expedient_view *x,
                   const char *button)
{
	if (!button || strcmp(button, "submit") == 0) {
		struct eng_error err = {0};
		if (web_form_keep_files(c, f, &err) != 0) {
			fprintf(stderr, "tramit: staged files of %s: %s\n", f->def->code, err.msg);
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		}
		struct eng_staged_file *staged = f->kept;
		size_t n_staged = f->n_kept;
		keep_expedient_files(c, f, x);
		f->kept = staged;
		f->n_kept = n_staged;
		web_form_normalise(c, f->def, f->values, &f->n_values);
		return run(c, f, x, true);
	}
	web_form_normalise(c, f->def, f->values, &f->n_values);
	bool group = strncmp(button, "add:", 4) == 0 || strncmp(button, "remove:", 7) == 0;
	if (!group && strcmp(button, "review") != 0 && strcmp(button, "update") != 0 &&
	    strcmp(button, "change") != 0)
		return web_error_page(c, 400, "err.badrequest.title", "form.bad_action");
	if (group && !web_form_group_action(c, f, button))
		return;
	if (strcmp(button, "review") == 0) {
		struct eng_error err = {0};
		if (web_form_keep_files(c, f, &err) != 0)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		keep_expedient_files(c, f, x);
		const struct eng_step_result *r = web_form_check(c, f);
		if (r->n_errors > 0) {
			web_form_eval(c, f, r);
			return web_form_render(c, f, 422);
		}
		web_form_eval(c, f, NULL);
		return web_form_review(c, f);
	}
	show_form(c, f, x, NULL, 200);
}

void web_route_correction(struct web_ctx *c, const char *id, const char *action)
{
	if (!web_require(c, "citizen"))
		return;
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, id, &x);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const struct eng_definition *d = cat_catalog_by_hash(c->srv->catalog, x.definition_hash);
	const struct eng_state *st = d ? eng_definition_state(d, x.state) : NULL;
	const struct eng_action *a = st ? eng_state_action(st, action) : NULL;
	struct eng_expedient exp = {.state = x.state, .version = x.version, .applicant_id = x.applicant_nif};
	struct eng_actor actor = web_actor(c);
	bool post = evhttp_request_get_command(c->req) == EVHTTP_REQ_POST;
	if (!a) {
		/* An action of another state (already taken, or the deadline ran out): what is now. */
		for (size_t s = 0; d && s < d->n_states; s++) {
			const struct eng_action *other = eng_state_action(&d->states[s], action);
			if (other && (other->by == ENG_BY_APPLICANT || other->by == ENG_BY_REPRESENTATIVE))
				return changed(c, x.id);
		}
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	}
	if ((a->by != ENG_BY_APPLICANT && a->by != ENG_BY_REPRESENTATIVE) || !eng_actor_may(a, &exp, &actor))
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	const char *here = eng_arena_printf(&c->arena, "/carpeta/expedients/%s/actions/%s", x.id,
	                                    web_url_encode(c, a->name));
	struct web_form f = {.def = d, .act = a->name, .act_state = x.state, .act_version = x.version,
	                     .post_to = here};
	bool form = (a->flags & ENG_ACTION_FORM) != 0;
	if (!post) {
		if (!form)
			return web_redirect(c, eng_arena_printf(&c->arena, "/carpeta/expedients/%s", x.id));
		f.values = web_correction_values(c, d, &x, &f.n_values);
		return show_form(c, &f, &x, NULL, 200);
	}
	const char *key = NULL, *version = NULL, *button = NULL;
	struct web_upload_post upload;
	const char *ctype = web_header(c, "Content-Type");
	bool multipart = form && ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0;
	if (multipart) {
		if (!web_upload_read(c, d, &upload))
			return;
		f.values = upload.values;
		f.n_values = upload.n_values;
		const char *unused = NULL;
		button = take_controls(&f, &unused, &version);
		key = upload.key;
		upload.values = f.values;
		upload.n_values = f.n_values;
	} else {
		if (!web_post_form(c, 256 * 1024, &f.values, &f.n_values))
			return;
		button = take_controls(&f, &key, &version);
	}
	char *end = NULL;
	long long seen = version ? strtoll(version, &end, 10) : -1;
	if (!version || !*version || *end || seen < 1)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	if (seen != x.version && !still_current(c, &x, seen))
		return changed(c, x.id); /* a stale page: nothing is done twice */
	f.key = key && *key ? key : NULL;
	if (!form) {
		f.values = NULL;
		f.n_values = 0;
		return run(c, &f, &x, false);
	}
	if (multipart) {
		if (upload.refused->n_errors > 0) {
			web_form_normalise(c, d, f.values, &f.n_values);
			return show_form(c, &f, &x, upload.refused, 422);
		}
		struct eng_error err = {0};
		if (web_upload_stage(c, &upload, &err) != 0) {
			fprintf(stderr, "tramit: staging files of %s failed: %s\n", d->code, err.msg);
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		}
		f.values = upload.values;
		f.n_values = upload.n_values;
		c->upload = &upload;
	}
	act_on(c, &f, &x, button);
	c->upload = NULL;
}
