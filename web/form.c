/* The e-office form of a tràmit and its review page, rendered from the definition and from
 * what the engine's dry run said about the answers (form_eval.c): sections, every field type,
 * repeatable groups as numbered fieldsets with "add" and "remove" buttons, fields hidden while
 * their condition does not hold, the fees, files already staged, errors beside each input.
 * Works without JavaScript: every change is a submit button (name="_action"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/drafts.h"
#include "internal.h"

static const struct web_form_error *error_for(const struct web_form *f, const char *id)
{
	for (size_t i = 0; i < f->n_errors; i++)
		if (f->errors[i].id && strcmp(f->errors[i].id, id) == 0)
			return &f->errors[i];
	return NULL;
}

static const char *msg(const struct web_ctx *c, const struct web_form_error *e)
{
	return c->lang == ENG_LANG_ES ? e->es : e->ca;
}

/* One input: name is what it posts as ("f" or "group.N.f"), id its element id. */
static void render_input(struct web_ctx *c, const struct eng_field *f, const char *name,
                         const char *id, const char *value, const char *extra, bool required)
{
	static const char *const input_type[ENG_FIELD__COUNT] = {
		[ENG_FIELD_TEXT] = "text", [ENG_FIELD_NUMBER] = "text", [ENG_FIELD_DATE] = "date",
		[ENG_FIELD_EMAIL] = "email", [ENG_FIELD_PHONE] = "tel", [ENG_FIELD_NIF] = "text",
		[ENG_FIELD_POSTAL] = "text", [ENG_FIELD_MONEY] = "text", [ENG_FIELD_PERSON_NIF] = "text",
		[ENG_FIELD_COMPANY_NIF] = "text", [ENG_FIELD_IBAN] = "text",
		[ENG_FIELD_MUNICIPALITY] = "text", [ENG_FIELD_CADASTRAL] = "text",
		[ENG_FIELD_FILE] = "file"};
	const char *req = required ? " required" : "";
	switch (f->type) {
	case ENG_FIELD_MULTICHOICE:
		for (size_t i = 0; i < f->n_options; i++) {
			bool on = false;
			for (const char *p = value; p && *p;) {
				const char *comma = strchr(p, ',');
				size_t len = comma ? (size_t)(comma - p) : strlen(p);
				on = on || (strlen(f->options[i].value) == len && strncmp(p, f->options[i].value, len) == 0);
				p = comma ? comma + 1 : p + len;
			}
			web_printf(c, "<label><input type=\"checkbox\" name=\"%s\" value=\"", name);
			web_attr(c, f->options[i].value);
			web_printf(c, "\"%s%s%s> ", i == 0 ? eng_arena_printf(&c->arena, " id=\"%s\"", id) : "",
			           on ? " checked" : "", extra);
			web_html(c, eng_text_get(&f->options[i].label, c->lang));
			web_printf(c, "</label> ");
		}
		return;
	case ENG_FIELD_ADDRESS:
	case ENG_FIELD_LONGTEXT:
		web_printf(c, "<textarea id=\"%s\" name=\"%s\"%s%s", id, name, req, extra);
		if (f->has_max)
			web_printf(c, " maxlength=\"%lld\"", (long long)f->max);
		web_printf(c, ">");
		web_html(c, value);
		web_printf(c, "</textarea>");
		return;
	case ENG_FIELD_CHOICE:
		web_printf(c, "<select id=\"%s\" name=\"%s\"%s%s><option value=\"\">%s</option>", id, name,
		           req, extra, web_t(c, "form.choose"));
		for (size_t i = 0; i < f->n_options; i++) {
			web_printf(c, "<option value=\"");
			web_attr(c, f->options[i].value);
			web_printf(c, "\"%s>", value && strcmp(value, f->options[i].value) == 0 ? " selected" : "");
			web_html(c, eng_text_get(&f->options[i].label, c->lang));
			web_printf(c, "</option>");
		}
		web_printf(c, "</select>");
		return;
	case ENG_FIELD_FILE:
		web_printf(c, "<input type=\"file\" id=\"%s\" name=\"%s\"%s%s", id, name, extra,
		           !f->has_max || f->max > 1 ? " multiple" : "");
		if (f->n_accept) {
			web_printf(c, " accept=\"");
			for (size_t i = 0; i < f->n_accept; i++)
				web_printf(c, "%s.%s", i ? "," : "", f->accept[i]);
			web_printf(c, "\"");
		}
		web_printf(c, ">");
		return;
	case ENG_FIELD_YESNO:
		for (int i = 0; i < 2; i++) {
			const char *v = i == 0 ? "yes" : "no";
			web_printf(c, "<label><input type=\"radio\" name=\"%s\" value=\"%s\"%s%s%s> %s</label> ",
			           name, v, i == 0 ? eng_arena_printf(&c->arena, " id=\"%s\"", id) : "",
			           value && strcmp(value, v) == 0 ? " checked" : "", extra,
			           web_t(c, i == 0 ? "form.yes" : "form.no"));
		}
		return;
	default:
		web_printf(c, "<input type=\"%s\" id=\"%s\" name=\"%s\"%s%s", input_type[f->type], id, name,
		           req, extra);
		if (f->type == ENG_FIELD_NUMBER || f->type == ENG_FIELD_POSTAL)
			web_printf(c, " inputmode=\"numeric\"");
		if (f->type == ENG_FIELD_MONEY)
			web_printf(c, " inputmode=\"decimal\"");
		if (f->type == ENG_FIELD_EMAIL)
			web_printf(c, " autocomplete=\"email\"");
		if (f->type == ENG_FIELD_PHONE)
			web_printf(c, " autocomplete=\"tel\"");
		if (f->has_max && f->type == ENG_FIELD_TEXT)
			web_printf(c, " maxlength=\"%lld\"", (long long)f->max);
		web_printf(c, " value=\"");
		web_attr(c, value);
		web_printf(c, "\">");
	}
}

static bool has_files(const struct eng_definition *d)
{
	for (size_t i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == ENG_FIELD_FILE && !d->fields[i].computed_fn)
			return true;
	return false;
}

/* What a file field takes, said beside it: formats, size of each, how many; and the files
 * already staged for it, which a browser cannot put back in a file input but the server keeps. */
static void render_file_limits(struct web_ctx *c, const struct web_form *form,
                               const struct eng_field *f, const char *id)
{
	web_printf(c, "<span class=\"hint\" id=\"l-%s\">", id + 2);
	if (f->n_accept) {
		web_printf(c, "%s: ", web_t(c, "upload.formats"));
		web_html(c, web_upload_formats(c, f));
		web_printf(c, ". ");
	}
	long long limit = web_upload_limit(f);
	web_printf(c, "%s: %s", web_t(c, "upload.max_size"), web_size_text(c, limit));
	if (f->has_max)
		web_printf(c, ". %s: %lld", web_t(c, "upload.max_files"), (long long)f->max);
	web_printf(c, ". %s</span>", web_t(c, "upload.scanned"));
	bool any = false;
	for (size_t i = 0; i < form->n_kept; i++) {
		if (strcmp(form->kept[i].field, f->name) != 0)
			continue;
		if (!any)
			web_printf(c, "<ul class=\"kept\" id=\"kept-%s\">", f->name);
		any = true;
		web_printf(c, "<li>%s: ", web_t(c, "form.kept"));
		web_html(c, form->kept[i].name);
		web_printf(c, " (%s)</li>", web_size_text(c, form->kept[i].size));
	}
	if (any)
		web_printf(c, "</ul><span class=\"hint\">%s</span>", web_t(c, "form.kept_hint"));
	else if (form->n_errors > 0)
		web_printf(c, "<span class=\"hint\">%s</span>", web_t(c, "upload.again"));
}

/* One field, or one instance of a group field (k > 0). */
static void render_field(struct web_ctx *c, const struct web_form *form, const struct eng_field *f,
                         int k)
{
	size_t i = (size_t)(f - form->def->fields);
	const char *name = k ? eng_arena_printf(&c->arena, "%s.%d.%s", f->group, k, f->name) : f->name;
	const char *id = k ? eng_arena_printf(&c->arena, "f-%s-%d-%s", f->group, k, f->name)
	                   : eng_arena_printf(&c->arena, "f-%s", f->name);
	const char *bare = id + 2;
	bool hidden = form->hidden[i], required = form->required[i], file = f->type == ENG_FIELD_FILE;
	const struct web_form_error *e = error_for(form, id);
	bool hint = eng_text_get(&f->help, c->lang)[0] != '\0';
	/* A hidden field is disabled, so the browser does not post its value either. */
	web_printf(c, "<div class=\"field%s\" id=\"w-%s\"%s%s>", e ? " error" : "", bare,
	           f->visible_fn ? " data-conditional" : "", hidden ? " hidden" : "");
	web_printf(c, "<label for=\"%s\">", id);
	web_html(c, eng_text_get(&f->label, c->lang));
	web_printf(c, " <span class=\"hint\">(%s)</span></label>",
	           web_t(c, required ? "form.required" : "form.optional"));
	if (hint) {
		web_printf(c, "<span class=\"hint\" id=\"h-%s\">", bare);
		web_html(c, eng_text_get(&f->help, c->lang));
		web_printf(c, "</span>");
	}
	if (file)
		render_file_limits(c, form, f, id);
	if (e) {
		web_printf(c, "<span class=\"error-message\" id=\"e-%s\">", bare);
		web_html(c, msg(c, e));
		web_printf(c, "</span>");
	}
	const char *described = "";
	if (hint || e || file)
		described = eng_arena_printf(&c->arena, " aria-describedby=\"%s%s%s%s%s%s%s%s\"",
		        hint ? "h-" : "", hint ? bare : "", hint && (e || file) ? " " : "",
		        file ? "l-" : "", file ? bare : "", file && e ? " " : "", e ? "e-" : "", e ? bare : "");
	const char *extra = eng_arena_printf(&c->arena, "%s%s%s", described,
	                                     e ? " aria-invalid=\"true\"" : "", hidden ? " disabled" : "");
	render_input(c, f, name, id, eng_values_get(form->values, form->n_values, name), extra, required);
	web_printf(c, "</div>");
}

static void render_group(struct web_ctx *c, const struct web_form *form, const struct eng_group *g)
{
	const struct eng_definition *d = form->def;
	int count = form->count[g - d->groups];
	const char *label = eng_text_get(&g->label, c->lang);
	const char *gid = eng_arena_printf(&c->arena, "g-%s", g->name);
	const struct web_form_error *e = error_for(form, gid);
	web_printf(c, "<fieldset class=\"group%s\" id=\"%s\"><legend>", e ? " error" : "", gid);
	web_html(c, label);
	web_printf(c, "</legend><span class=\"hint\">%s: %lld. %s: %lld.</span>", web_t(c, "form.group.min"),
	           (long long)g->min, web_t(c, "form.group.max"), (long long)g->max);
	if (e) {
		web_printf(c, "<span class=\"error-message\" id=\"e-%s\">", gid + 2);
		web_html(c, msg(c, e));
		web_printf(c, "</span>");
	}
	for (int k = 1; k <= count; k++) {
		web_printf(c, "<fieldset class=\"instance\" id=\"%s-%d\"><legend>", gid, k);
		web_html(c, label);
		web_printf(c, " %d</legend>", k);
		for (size_t i = 0; i < d->n_fields; i++) {
			const struct eng_field *f = &d->fields[i];
			if (f->group && strcmp(f->group, g->name) == 0 && !f->computed_fn)
				render_field(c, form, f, k);
		}
		if (count > g->min) {
			web_printf(c, "<button type=\"submit\" class=\"secondary\" name=\"_action\" value=\"remove:%s.%d\" "
			              "id=\"remove-%s-%d\">%s: ", g->name, k, g->name, k, web_t(c, "form.remove"));
			web_html(c, label);
			web_printf(c, " %d</button>", k);
		}
		web_printf(c, "</fieldset>");
	}
	if (count < g->max) {
		web_printf(c, "<button type=\"submit\" class=\"secondary\" name=\"_action\" value=\"add:%s\" "
		              "id=\"add-%s\">%s: ", g->name, g->name, web_t(c, "form.add"));
		web_html(c, label);
		web_printf(c, "</button>");
	}
	web_printf(c, "</fieldset>");
}

/* Cents as people read euros: "1.234,50 €" in both languages. */
static const char *euros(struct web_ctx *c, long long cents)
{
	long long e = cents / 100, r = (cents < 0 ? -cents : cents) % 100;
	char digits[32], grouped[48];
	snprintf(digits, sizeof(digits), "%lld", e < 0 ? -e : e);
	size_t n = strlen(digits), k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[k++] = '.';
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	return eng_arena_printf(&c->arena, "%s%s,%02lld €", cents < 0 ? "-" : "", grouped, r);
}

static void render_fees(struct web_ctx *c, const struct web_form *f)
{
	if (f->n_fees == 0)
		return;
	web_printf(c, "<section id=\"fees\" aria-labelledby=\"fees-h\" aria-live=\"polite\">"
	              "<h2 id=\"fees-h\">%s</h2><dl class=\"facts\">", web_t(c, "form.fees"));
	for (size_t i = 0; i < f->n_fees; i++) {
		const struct web_fee_line *l = &f->fees[i];
		web_printf(c, "<dt>");
		web_html(c, eng_text_get(&l->fee->label, c->lang));
		web_printf(c, "</dt><dd id=\"fee-%s\">", l->fee->name);
		if (l->known)
			web_html(c, euros(c, l->cents));
		else
			web_printf(c, "%s", web_t(c, "form.fee_pending"));
		if (l->known && l->tariff_from) {
			web_printf(c, " <span class=\"hint\">");
			web_printf(c, "%s ", web_t(c, "form.tariff_from"));
			web_html(c, web_day(c, l->tariff_from));
			if (l->fee->ordinance) {
				web_printf(c, " (");
				web_html(c, l->fee->ordinance);
				web_printf(c, ")");
			}
			web_printf(c, "</span>");
		}
		web_printf(c, "</dd>");
	}
	web_printf(c, "</dl></section>");
}

static void render_summary(struct web_ctx *c, const struct web_form *f)
{
	/* autofocus, not a script: keyboard and screen reader users start at the summary with
	 * JavaScript off too. */
	web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus "
	              "id=\"error-summary\"><h2>%s</h2><ul>", web_t(c, "form.errors"));
	for (size_t i = 0; i < f->n_errors; i++) {
		const struct web_form_error *e = &f->errors[i];
		if (e->id)
			web_printf(c, "<li><a href=\"#%s\">", e->id);
		else
			web_printf(c, "<li>");
		web_html(c, msg(c, e));
		web_printf(c, "%s</li>", e->id ? "</a>" : "");
	}
	web_printf(c, "</ul></div>");
}

static void hidden_input(struct web_ctx *c, const char *name, const char *value)
{
	web_printf(c, "<input type=\"hidden\" name=\"");
	web_attr(c, name);
	web_printf(c, "\" value=\"");
	web_attr(c, value);
	web_printf(c, "\">");
}

void web_form_render(struct web_ctx *c, struct web_form *form, int status)
{
	const struct eng_definition *d = form->def;
	bool errors = form->n_errors > 0;
	if (!form->key && !(form->key = web_random_hex(c, 16)))
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	/* The title says there are errors: it is the first thing a screen reader reads. */
	web_page_begin(c, errors ? eng_arena_printf(&c->arena, "%s: %s", web_t(c, "form.error_title"),
	                                            eng_text_get(&d->title, c->lang))
	                         : eng_text_get(&d->title, c->lang));
	web_printf(c, "<link rel=\"stylesheet\" href=\"/static/forms.css\">");
	if (errors)
		render_summary(c, form);
	if (form->notice)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"notice\">%s</div>", web_t(c, form->notice));
	web_printf(c, "<h1>");
	web_html(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "</h1>");
	if (form->draft_at) {
		web_printf(c, "<p class=\"notice\" id=\"draft-resumed\">");
		web_printf(c, "%s ", web_t(c, "draft.resumed"));
		web_html(c, web_date(c, form->draft_at));
		web_printf(c, ".");
		web_printf(c, "</p>");
	}
	const char *code = web_url_encode(c, d->code);
	if (form->post_to) {
		/* A correction: what is corrected, and no draft (drafts are new applications'). */
		web_printf(c, "<p class=\"lead\" id=\"correcting\">%s</p>", web_t(c, "correction.intro"));
		web_printf(c, "<form method=\"post\" action=\"%s\" novalidate id=\"tramit-form\"%s>",
		           form->post_to, has_files(d) ? " enctype=\"multipart/form-data\"" : "");
	} else {
		web_printf(c, "<form method=\"post\" action=\"/tramits/%s/new\" novalidate id=\"tramit-form\" "
		              "data-draft=\"/tramits/%s/draft\"%s>", code, code,
		           has_files(d) ? " enctype=\"multipart/form-data\"" : "");
	}
	/* Enter in a text box presses the first submit button: make it "continue", not "add". */
	web_printf(c, "<button type=\"submit\" name=\"_action\" value=\"review\" class=\"default-action\" "
	              "tabindex=\"-1\" aria-hidden=\"true\">%s</button>", web_t(c, "form.review"));
	hidden_input(c, "csrf", c->session.csrf);
	hidden_input(c, "submission", form->key);
	if (form->post_to)
		hidden_input(c, "version", eng_arena_printf(&c->arena, "%lld", (long long)form->act_version));
	/* Acting for someone: they are the applicant, and the page says who files for them. */
	web_printf(c, "<p id=\"applicant\"><strong>%s:</strong> ", web_t(c, "form.applicant"));
	web_html(c, c->acting_for ? (c->acting_name ? c->acting_name : c->acting_for) : c->display_name);
	web_printf(c, " (");
	web_html(c, c->acting_for ? c->acting_for : c->session.principal_id);
	web_printf(c, ")");
	if (c->acting_for) {
		web_printf(c, ", %s ", web_t(c, "form.filed_by"));
		web_html(c, c->session.name ? c->session.name : c->session.principal_id);
		web_printf(c, " (");
		web_html(c, c->session.principal_id);
		web_printf(c, ")");
	}
	web_printf(c, "</p>");
	web_form_render_fields(c, form);
	/* The main button first: Tab reaches it right after the last answer. */
	web_printf(c, "<p class=\"hint\">%s</p><p class=\"actions\"><button type=\"submit\" name=\"_action\" "
	              "value=\"review\" id=\"submit\">%s</button> ", web_t(c, "form.update_hint"),
	           web_t(c, "form.review"));
	if (!form->post_to)
		web_printf(c, "<button type=\"submit\" class=\"secondary\" name=\"_action\" value=\"draft\" "
		              "id=\"save-draft\">%s</button> ", web_t(c, "draft.save"));
	web_printf(c, "<button type=\"submit\" class=\"secondary\" name=\"_action\" value=\"update\" "
	              "id=\"update\">%s</button></p></form>", web_t(c, "form.update"));
	web_printf(c, "<script src=\"/static/form.js\" defer></script>");
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

/* A value as the review shows it: option labels, yes/no, euros, file names. */
static void review_value(struct web_ctx *c, const struct eng_field *f, const char *v)
{
	if (!v || !*v) {
		web_printf(c, "<span class=\"hint\">%s</span>", web_t(c, "review.empty"));
		return;
	}
	switch (f->type) {
	case ENG_FIELD_CHOICE:
	case ENG_FIELD_MULTICHOICE: {
		const char *sep = "";
		for (const char *p = v; *p;) {
			size_t len = f->type == ENG_FIELD_MULTICHOICE ? strcspn(p, ",") : strlen(p);
			const char *one = eng_arena_strndup(&c->arena, p, len);
			const char *label = one;
			for (size_t i = 0; i < f->n_options; i++)
				if (strcmp(f->options[i].value, one) == 0)
					label = eng_text_get(&f->options[i].label, c->lang);
			web_printf(c, "%s", sep);
			web_html(c, label);
			sep = ", ";
			p += len + (p[len] == ',');
		}
		return;
	}
	case ENG_FIELD_YESNO:
		web_printf(c, "%s", web_t(c, strcmp(v, "yes") == 0 ? "form.yes" : "form.no"));
		return;
	case ENG_FIELD_MONEY: {
		int64_t cents;
		web_html(c, eng_money_parse(v, &cents) ? euros(c, cents) : v);
		return;
	}
	case ENG_FIELD_FILE:
		web_printf(c, "<ul class=\"files\">");
		for (const char *p = v; *p;) {
			size_t len = strcspn(p, "\n");
			const char *line = eng_arena_strndup(&c->arena, p, len);
			const char *bar = strchr(line, '|');
			web_printf(c, "<li>");
			web_html(c, bar ? eng_arena_strndup(&c->arena, line, (size_t)(bar - line)) : line);
			if (bar)
				web_printf(c, " (%s)", web_size_text(c, atoll(bar + 1)));
			web_printf(c, "</li>");
			p += len + (p[len] == '\n');
		}
		web_printf(c, "</ul>");
		return;
	default:
		web_html(c, v);
	}
}

static void review_row(struct web_ctx *c, const struct web_form *form, const struct eng_field *f,
                       const char *name)
{
	web_printf(c, "<dt>");
	web_html(c, eng_text_get(&f->label, c->lang));
	web_printf(c, "</dt><dd data-field=\"");
	web_attr(c, name);
	web_printf(c, "\">");
	review_value(c, f, eng_values_get(form->values, form->n_values, name));
	web_printf(c, "</dd>");
}

void web_form_review(struct web_ctx *c, struct web_form *form)
{
	const struct eng_definition *d = form->def;
	web_page_begin(c, eng_arena_printf(&c->arena, "%s: %s", web_t(c, "review.title"),
	                                   eng_text_get(&d->title, c->lang)));
	web_printf(c, "<h1>%s</h1><p class=\"lead\">", web_t(c, "review.title"));
	web_html(c, eng_text_get(&d->title, c->lang));
	web_printf(c, "</p><p>%s</p>", web_t(c, "review.intro"));
	for (size_t s = 0; s < d->n_sections; s++) {
		web_printf(c, "<section class=\"review\"><h2>");
		web_html(c, eng_text_get(&d->sections[s].label, c->lang));
		web_printf(c, "</h2><dl class=\"facts\">");
		for (size_t i = 0; i < d->n_fields; i++) {
			const struct eng_field *f = &d->fields[i];
			if (!f->section || strcmp(f->section, d->sections[s].name) != 0 || f->computed_fn ||
			    form->hidden[i])
				continue;
			if (!f->group) {
				review_row(c, form, f, f->name);
				continue;
			}
			if (i > 0 && d->fields[i - 1].group && strcmp(d->fields[i - 1].group, f->group) == 0)
				continue;
			const struct eng_group *g = eng_definition_group(d, f->group);
			for (int k = 1; k <= form->count[g - d->groups]; k++) {
				web_printf(c, "</dl><h3>");
				web_html(c, eng_text_get(&g->label, c->lang));
				web_printf(c, " %d</h3><dl class=\"facts\">", k);
				for (size_t j = i; j < d->n_fields && d->fields[j].group &&
				                   strcmp(d->fields[j].group, g->name) == 0; j++)
					if (!form->hidden[j] && !d->fields[j].computed_fn)
						review_row(c, form, &d->fields[j],
						           eng_arena_printf(&c->arena, "%s.%d.%s", g->name, k, d->fields[j].name));
			}
			if (form->count[g - d->groups] == 0) {
				/* Designer text: escaped like every label. */
				web_printf(c, "<dt>");
				web_html(c, eng_text_get(&g->label, c->lang));
				web_printf(c, "</dt><dd>%s</dd>", web_t(c, "review.none"));
			}
		}
		web_printf(c, "</dl></section>");
	}
	render_fees(c, form);
	/* The answers travel back in hidden inputs: "change" shows them in the form again,
	 * "submit" files them under the same submission key (idempotent). */
	const char *code = web_url_encode(c, d->code);
	if (form->post_to)
		web_printf(c, "<form method=\"post\" action=\"%s\" id=\"review-form\">", form->post_to);
	else
		web_printf(c, "<form method=\"post\" action=\"/tramits/%s/new\" id=\"review-form\">", code);
	hidden_input(c, "csrf", c->session.csrf);
	hidden_input(c, "submission", form->key);
	if (form->post_to)
		hidden_input(c, "version", eng_arena_printf(&c->arena, "%lld", (long long)form->act_version));
	for (size_t i = 0; i < form->n_values; i++) {
		int index;
		const struct eng_field *f = eng_form_field(d, form->values[i].name, &index);
		if (f && !form->hidden[f - d->fields])
			hidden_input(c, form->values[i].name, form->values[i].value);
	}
	web_printf(c, "<p class=\"notice\">%s</p><p class=\"actions\"><button type=\"submit\" name=\"_action\" "
	              "value=\"submit\" id=\"submit\">%s</button> <button type=\"submit\" class=\"secondary\" "
	              "name=\"_action\" value=\"change\" id=\"change\">%s</button></p></form>",
	           web_t(c, "form.notice"), web_t(c, "form.submit"), web_t(c, "review.change"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

/* The error summary, and the form's sections and fees alone: web_form_render draws them for the
 * citizen, and the counter (counter.c) inside a <form> of its own with inputs of its own. */
void web_form_render_summary(struct web_ctx *c, const struct web_form *form)
{
	if (form->n_errors > 0)
		render_summary(c, form);
}

void web_form_render_fields(struct web_ctx *c, const struct web_form *form)
{
	const struct eng_definition *d = form->def;
	for (size_t s = 0; s < d->n_sections; s++) {
		web_printf(c, "<fieldset><legend><h2>");
		web_html(c, eng_text_get(&d->sections[s].label, c->lang));
		web_printf(c, "</h2></legend>");
		for (size_t i = 0; i < d->n_fields; i++) {
			const struct eng_field *f = &d->fields[i];
			if (!f->section || strcmp(f->section, d->sections[s].name) != 0 || f->computed_fn)
				continue;
			if (!f->group) {
				render_field(c, form, f, 0);
				continue;
			}
			/* A group is drawn where its first field stands. */
			if (i > 0 && d->fields[i - 1].group && strcmp(d->fields[i - 1].group, f->group) == 0)
				continue;
			render_group(c, form, eng_definition_group(d, f->group));
		}
		web_printf(c, "</fieldset>");
	}
	render_fees(c, form);
}
