/* Messages on an expedient (engine/runtime/messages.h) in the Carpeta and the back office: the
 * conversation between the applicant and the unit, the employees' internal notes, and the
 * forms that add to them: POST /carpeta/expedients/ID/messages (the applicant, or whoever may
 * see the expedient on their behalf) and POST /backoffice/expedients/ID/messages (employees;
 * "internal=yes" makes a note). Invariant: a message is written and shown only to whoever
 * web_expedient_visible lets see its expedient, and a note never reaches a citizen's page. */
#include <string.h>

#include "engine/runtime/messages.h"
#include "internal.h"

/* The message form, with the text the person typed when it comes back with an error. */
static void render_form(struct web_ctx *c, const char *expedient_id, bool staff, const char *text,
                        const char *error_key, bool internal)
{
	const char *key = web_random_hex(c, 16);
	if (!key)
		return;
	web_printf(c, "<form method=\"post\" action=\"/%s/expedients/%s/messages\" id=\"message-form\">"
	              "<input type=\"hidden\" name=\"csrf\" value=\"", staff ? "backoffice" : "carpeta",
	           expedient_id);
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><input type=\"hidden\" name=\"key\" value=\"%s\"><div class=\"field%s\">"
	              "<label for=\"f-message\">%s</label><span class=\"hint\" id=\"h-message\">%s</span>",
	           key, error_key ? " error" : "", web_t(c, staff ? "message.new.staff" : "message.new"),
	           web_t(c, staff ? "message.hint.staff" : "message.hint"));
	if (error_key)
		web_printf(c, "<span class=\"error-message\" id=\"e-message\">%s</span>", web_t(c, error_key));
	web_printf(c, "<textarea id=\"f-message\" name=\"message\" rows=\"5\" maxlength=\"%d\" "
	              "aria-describedby=\"h-message%s\"%s>", ENG_MESSAGE_MAX,
	           error_key ? " e-message" : "", error_key ? " aria-invalid=\"true\" autofocus" : "");
	web_html(c, text ? text : "");
	web_printf(c, "</textarea></div>");
	if (staff)
		web_printf(c, "<div class=\"field\"><label><input type=\"checkbox\" name=\"internal\" "
		              "value=\"yes\" id=\"f-internal\"%s> %s</label></div>", internal ? " checked" : "",
		           web_t(c, "message.internal.check"));
	web_printf(c, "<button type=\"submit\" id=\"message-send\">%s</button></form>",
	           web_t(c, "message.send"));
}

/* Paragraphs as the person wrote them: blank lines separate, single newlines break. */
static void render_body(struct web_ctx *c, const char *body)
{
	web_printf(c, "<p>");
	for (const char *p = body; *p;) {
		size_t len = strcspn(p, "\n");
		web_html(c, eng_arena_printf(&c->arena, "%.*s", (int)len, p));
		p += len;
		if (!*p)
			break;
		p++;
		if (*p == '\n') {
			web_printf(c, "</p><p>");
			while (*p == '\n')
				p++;
		} else if (*p) {
			web_printf(c, "<br>");
		}
	}
	web_printf(c, "</p>");
}

void web_messages_section(struct web_ctx *c, const char *expedient_id, bool staff)
{
	struct eng_message_view *m;
	size_t n;
	struct eng_error err = {0};
	if (eng_messages_list(c->store, &c->arena, c->srv->cfg.entity_id, expedient_id, staff, &m, &n,
	                      &err) != 0)
		return;
	web_printf(c, "<section id=\"messages\" aria-labelledby=\"messages-title\"><h2 id=\"messages-title\">%s</h2>",
	           web_t(c, staff ? "message.title.staff" : "message.title"));
	const char *sent = web_query_get(c, "message");
	if (sent && strcmp(sent, "sent") == 0)
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"message-sent\">%s</div>",
		           web_t(c, "message.sent"));
	if (n == 0)
		web_printf(c, "<p id=\"no-messages\">%s</p>", web_t(c, "message.none"));
	else
		web_printf(c, "<ol class=\"messages\">");
	for (size_t i = 0; i < n; i++) {
		bool ours = strcmp(m[i].author_kind, "employee") == 0;
		web_printf(c, "<li class=\"message%s\" data-id=\"%s\" data-author=\"%s\"><p class=\"meta\">"
		              "<strong>", m[i].internal ? " internal" : "", m[i].id, m[i].author_kind);
		/* Citizens see who wrote for the unit: public employees act under their name. */
		web_html(c, m[i].author_name);
		web_printf(c, "</strong>%s", ours && !staff ? eng_arena_printf(&c->arena, " (%s)",
		           web_t(c, "message.from_unit")) : "");
		if (m[i].internal)
			web_printf(c, " <span class=\"tag\">%s</span>", web_t(c, "message.internal"));
		web_printf(c, " · <time datetime=\"");
		web_attr(c, m[i].at);
		web_printf(c, "\">");
		web_html(c, web_date(c, m[i].at));
		web_printf(c, "</time></p>");
		render_body(c, m[i].body);
		web_printf(c, "</li>");
	}
	if (n)
		web_printf(c, "</ol>");
	render_form(c, expedient_id, staff, NULL, NULL, false);
	web_printf(c, "</section>");
}

/* Line ends as "\n" (browsers send a textarea's as CRLF), surrounding white space trimmed, in
 * place; the count of characters (not bytes) after. */
size_t web_message_clean(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		s[--len] = '\0';
	size_t start = strspn(s, " \t\r\n");
	memmove(s, s + start, len - start + 1);
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		chars += (*p & 0xC0) != 0x80;
	return chars;
}

/* The form again with the typed text and the reason, 422: nothing was stored. */
static void refuse(struct web_ctx *c, const char *expedient_id, bool staff, const char *text,
                   const char *error_key, bool internal)
{
	web_page_begin(c, eng_arena_printf(&c->arena, "%s: %s", web_t(c, "form.error_title"),
	                                   web_t(c, staff ? "message.title.staff" : "message.title")));
	web_printf(c, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\">"
	              "<h2>%s</h2><ul><li><a href=\"#f-message\">%s</a></li></ul></div><h1>%s</h1>",
	           web_t(c, "form.errors"), web_t(c, error_key),
	           web_t(c, staff ? "message.title.staff" : "message.title"));
	render_form(c, expedient_id, staff, text, error_key, internal);
	web_printf(c, "<p><a href=\"/%s/expedients/%s\">%s</a></p>", staff ? "backoffice" : "carpeta",
	           expedient_id, web_t(c, "message.back"));
	web_page_end(c);
	web_send(c, 422, "text/html; charset=utf-8");
}

void web_route_message_post(struct web_ctx *c, const char *expedient_id, const char *kind)
{
	if (!web_require(c, kind))
		return;
	bool staff = strcmp(kind, "employee") == 0;
	static const char *const citizen_fields[] = {"message", "key", NULL};
	static const char *const staff_fields[] = {"message", "key", "internal", NULL};
	struct eng_value *v;
	size_t n;
	if (!web_post_fields(c, 32768, staff ? staff_fields : citizen_fields, &v, &n))
		return;
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, expedient_id, &x);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const char *typed = eng_values_get(v, n, "message");
	const char *key = eng_values_get(v, n, "key");
	const char *internal_v = eng_values_get(v, n, "internal");
	bool internal = internal_v && strcmp(internal_v, "yes") == 0;
	if (internal_v && !internal)
		return web_error_page(c, 400, "err.badrequest.title", "message.err.internal");
	if (!key || strlen(key) != 32 || strspn(key, "0123456789abcdef") != 32)
		return web_error_page(c, 400, "err.badrequest.title", "message.err.key");
	char *body = eng_arena_strdup(&c->arena, typed ? typed : "");
	size_t chars = web_message_clean(body);
	if (chars == 0)
		return refuse(c, x.id, staff, typed, "message.err.empty", internal);
	if (chars > ENG_MESSAGE_MAX)
		return refuse(c, x.id, staff, typed, "message.err.long", internal);
	struct eng_message_post m = {
		.entity_id = c->srv->cfg.entity_id, .expedient_id = x.id, .author_kind = kind,
		.author_id = c->session.principal_id,
		.author_name = c->display_name ? c->display_name : c->session.principal_id,
		.body = body, .key = key, .internal = internal,
	};
	char id[37];
	bool created;
	struct eng_error err = {0};
	rc = eng_messages_post(c->store, &m, id, &created, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_redirect(c, eng_arena_printf(&c->arena, "/%s/expedients/%s?message=sent#messages",
	                                 staff ? "backoffice" : "carpeta", x.id));
}
