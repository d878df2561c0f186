/* The back office's registry book (issue 5) and SIR inbox (issue 7): entries in and out,
 * filtered by book, year and text, paged, each with its receipt; and the incoming exchanges
 * with the forms that accept, reject or return them. Only registry staff (any role in unit
 * "registre" or a unit above it, or the role "registre" in any unit) see it and decide: the
 * book lists every party and subject of the entity, whatever unit handles them (issue 5). A
 * decision needs the session's CSRF token and, to reject or return, a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sicres/sicres.h"
#include "internal.h"

enum { PAGE_SIZE = 50 };

/* Registry staff: the demo seeds the employee with tramitador@registre. The session's grants
 * reach the units below the one granted (migration 0025), so a grant above "registre" counts. */
static bool may_decide(const struct web_ctx *c)
{
	for (size_t i = 0; i < c->employee.n_roles; i++) {
		const char *g = c->employee.roles[i], *at = strchr(g, '@');
		if (at && (strcmp(at + 1, "registre") == 0 ||
		           ((size_t)(at - g) == 8 && strncmp(g, "registre", 8) == 0)))
			return true;
	}
	return false;
}

struct filters {
	char book;         /* 'E', 'S' or 0 */
	int year, page;    /* 0: every year; page from 1 */
	const char *search;
};

static struct filters filters_read(struct web_ctx *c)
{
	struct filters f = {.page = 1};
	const char *book = web_query_get(c, "book"), *year = web_query_get(c, "year");
	const char *page = web_query_get(c, "page"), *q = web_query_get(c, "q");
	if (book && (strcmp(book, "E") == 0 || strcmp(book, "S") == 0))
		f.book = book[0];
	int y = year ? atoi(year) : 0;
	f.year = y >= 1900 && y <= 9999 ? y : 0;
	int p = page ? atoi(page) : 1;
	f.page = p >= 1 && p <= 100000 ? p : 1;
	f.search = q && *q ? q : NULL;
	return f;
}

static void filter_form(struct web_ctx *c, const struct filters *f)
{
	web_printf(c, "<form method=\"get\" action=\"/backoffice/registry\" id=\"filters\" "
	              "role=\"search\"><div class=\"field\"><label for=\"f-book\">%s</label>"
	              "<select id=\"f-book\" name=\"book\"><option value=\"\">%s</option>",
	           web_t(c, "registry.book"), web_t(c, "registry.book.all"));
	web_printf(c, "<option value=\"E\"%s>%s</option><option value=\"S\"%s>%s</option></select></div>",
	           f->book == 'E' ? " selected" : "", web_t(c, "registry.book.E"),
	           f->book == 'S' ? " selected" : "", web_t(c, "registry.book.S"));
	web_printf(c, "<div class=\"field\"><label for=\"f-year\">%s</label><input type=\"number\" "
	              "id=\"f-year\" name=\"year\" min=\"1900\" max=\"9999\" value=\"",
	           web_t(c, "registry.year"));
	if (f->year)
		web_printf(c, "%d", f->year);
	web_printf(c, "\"></div><div class=\"field\"><label for=\"f-q\">%s</label><span class=\"hint\" "
	              "id=\"h-q\">%s</span><input type=\"text\" id=\"f-q\" name=\"q\" "
	              "aria-describedby=\"h-q\" value=\"", web_t(c, "registry.search"),
	           web_t(c, "registry.search.hint"));
	web_attr(c, f->search ? f->search : "");
	web_printf(c, "\"></div><button type=\"submit\">%s</button></form>", web_t(c, "registry.filter"));
}

static void entry_row(struct web_ctx *c, const struct conn_sicres_entry *e)
{
	web_printf(c, "<tr><td class=\"number\">");
	web_html(c, e->number);
	web_printf(c, "</td><td>%s</td><td>", web_t(c, e->book[0] == 'S' ? "registry.book.S" : "registry.book.E"));
	web_html(c, web_date(c, e->presented_at));
	web_printf(c, "</td><td>");
	web_html(c, e->party_name);
	web_printf(c, " (");
	web_html(c, e->party_nif);
	web_printf(c, ")</td><td>");
	web_html(c, e->summary);
	if (e->exchange) {
		web_printf(c, "<br><span class=\"hint\">%s ", web_t(c, "registry.from_exchange"));
		web_html(c, e->exchange);
		web_printf(c, " (%d %s)</span>", e->n_documents, web_t(c, "registry.annexes"));
	}
	web_printf(c, "</td><td>");
	if (e->receipt_csv) {
		web_printf(c, "<a href=\"/verify/%s/document\">%s<span class=\"skip\"> ",
		           web_url_encode(c, e->receipt_csv), web_t(c, "registry.receipt.download"));
		web_html(c, e->number);
		web_printf(c, "</span></a>");
	}
	web_printf(c, "</td></tr>");
}

/* The query string of this listing at another page. */
static const char *page_link(struct web_ctx *c, const struct filters *f, int page)
{
	return eng_arena_printf(&c->arena, "/backoffice/registry?book=%s&amp;year=%s&amp;q=%s&amp;page=%d",
	                        f->book == 'E' ? "E" : f->book == 'S' ? "S" : "",
	                        f->year ? eng_arena_printf(&c->arena, "%d", f->year) : "",
	                        web_url_encode(c, f->search ? f->search : ""), page);
}

static void book_table(struct web_ctx *c, const struct filters *f, const struct conn_sicres_entry *e,
                       size_t n, long total)
{
	long first = (long)(f->page - 1) * PAGE_SIZE;
	web_printf(c, "<h2 id=\"book-h\">%s</h2><p id=\"book-count\">%ld-%ld %s %ld</p>",
	           web_t(c, "registry.entries"), first + (n ? 1 : 0), first + (long)n,
	           web_t(c, "registry.of"), total);
	if (n == 0) {
		web_printf(c, "<p id=\"empty\">%s</p>", web_t(c, "registry.empty"));
		return;
	}
	/* Six columns do not fit a phone: the table scrolls sideways inside its own region, which
	 * a keyboard can reach (WCAG 1.4.10 lets a data table keep its two dimensions). */
	web_printf(c, "<div class=\"table-scroll\" role=\"region\" aria-labelledby=\"book-h\" tabindex=\"0\">"
	              "<table id=\"book\" aria-labelledby=\"book-h\"><thead><tr>");
	static const char *const cols[] = {"registry.col.number", "registry.book", "registry.col.presented",
	                                   "registry.col.party", "registry.col.summary", "registry.col.receipt"};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		web_printf(c, "<th scope=\"col\">%s</th>", web_t(c, cols[i]));
	web_printf(c, "</tr></thead><tbody>");
	for (size_t i = 0; i < n; i++)
		entry_row(c, &e[i]);
	web_printf(c, "</tbody></table></div>");
	bool prev = f->page > 1, next = (long)f->page * PAGE_SIZE < total;
	if (prev || next) {
		web_printf(c, "<nav aria-label=\"%s\"><ul class=\"pages\">", web_t(c, "registry.pages"));
		if (prev)
			web_printf(c, "<li><a rel=\"prev\" href=\"%s\">%s</a></li>", page_link(c, f, f->page - 1),
			           web_t(c, "registry.prev"));
		if (next)
			web_printf(c, "<li><a rel=\"next\" href=\"%s\">%s</a></li>", page_link(c, f, f->page + 1),
			           web_t(c, "registry.next"));
		web_printf(c, "</ul></nav>");
	}
}

static void decision_form(struct web_ctx *c, const struct conn_sicres_exchange *x)
{
	web_printf(c, "<form method=\"post\" action=\"/backoffice/registry/exchanges/%s\">"
	              "<input type=\"hidden\" name=\"csrf\" value=\"", web_url_encode(c, x->identifier));
	web_attr(c, c->session.csrf);
	web_printf(c, "\"><div class=\"field\"><label for=\"r-%s\">%s</label><textarea id=\"r-%s\" "
	              "name=\"reason\" maxlength=\"500\"></textarea></div>", x->identifier,
	           web_t(c, "registry.reason"), x->identifier);
	web_printf(c, "<button type=\"submit\" name=\"decision\" value=\"accept\" id=\"accept-%s\">%s"
	              "</button> <button type=\"submit\" name=\"decision\" value=\"reject\" "
	              "class=\"warning\" id=\"reject-%s\">%s</button> <button type=\"submit\" "
	              "name=\"decision\" value=\"return\" class=\"secondary\" id=\"return-%s\">%s</button>"
	              "</form>", x->identifier, web_t(c, "registry.accept"), x->identifier,
	           web_t(c, "registry.reject"), x->identifier, web_t(c, "registry.return"));
}

static void exchange_item(struct web_ctx *c, const struct conn_sicres_exchange *x)
{
	web_printf(c, "<li class=\"exchange\" data-id=\"%s\" data-state=\"%s\"><h3>", x->identifier, x->state);
	web_html(c, x->identifier);
	web_printf(c, "</h3><dl class=\"facts\"><dt>%s</dt><dd>", web_t(c, "registry.origin"));
	web_html(c, *x->origin_name ? x->origin_name : x->origin_code);
	web_printf(c, " (");
	web_html(c, x->origin_code);
	web_printf(c, "), ");
	web_html(c, x->origin_number);
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "registry.col.party"));
	web_html(c, x->party_name);
	web_printf(c, " (");
	web_html(c, x->party_nif);
	web_printf(c, ")</dd><dt>%s</dt><dd>", web_t(c, "registry.col.summary"));
	web_html(c, x->summary);
	web_printf(c, "</dd><dt>%s</dt><dd>%d</dd><dt>%s</dt><dd>", web_t(c, "registry.annexes.label"),
	           x->n_annexes, web_t(c, "registry.received_at"));
	web_html(c, web_date(c, x->created_at));
	web_printf(c, "</dd><dt>%s</dt><dd class=\"state\">%s", web_t(c, "col.state"),
	           web_t(c, eng_arena_printf(&c->arena, "registry.state.%s", x->state)));
	if (x->registry_number) {
		web_printf(c, ": ");
		web_html(c, x->registry_number);
	}
	if (x->reason) {
		web_printf(c, ": ");
		web_html(c, x->reason);
	}
	web_printf(c, "</dd></dl>");
	if (strcmp(x->state, "received") == 0)
		decision_form(c, x);
	web_printf(c, "</li>");
}

static void inbox(struct web_ctx *c, const struct conn_sicres_exchange *x, size_t n)
{
	web_printf(c, "<section aria-labelledby=\"inbox-h\" id=\"inbox\"><h2 id=\"inbox-h\">%s</h2>",
	           web_t(c, "registry.inbox"));
	if (n == 0)
		web_printf(c, "<p id=\"inbox-empty\">%s</p>", web_t(c, "registry.inbox.empty"));
	else
		web_printf(c, "<ul class=\"exchanges\">");
	for (size_t i = 0; i < n; i++)
		exchange_item(c, &x[i]);
	if (n)
		web_printf(c, "</ul>");
	web_printf(c, "</section>");
}

void web_route_registry(struct web_ctx *c)
{
	if (!web_require(c, "employee"))
		return;
	if (!may_decide(c))
		return web_error_page(c, 403, "err.denied.title", "registry.staff_only");
	struct filters f = filters_read(c);
	struct conn_sicres_book_query q = {.entity_id = c->srv->cfg.entity_id, .book = f.book,
	                                   .year = f.year, .search = f.search,
	                                   .offset = (f.page - 1) * PAGE_SIZE, .limit = PAGE_SIZE};
	PGconn *conn = eng_store_conn(c->store);
	struct conn_sicres_entry *e;
	struct conn_sicres_exchange *x;
	size_t n, nx;
	long total;
	struct conn_sicres_error err = {0};
	if (conn_sicres_book_list(&e, &n, &total, &c->arena, conn, &q, &err) != 0 ||
	    conn_sicres_exchange_list(&x, &nx, &c->arena, conn, c->srv->cfg.entity_id, "in", 100, &err) != 0) {
		fprintf(stderr, "tramit: registry page: %s\n", err.msg);
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	}
	web_page_begin(c, web_t(c, "registry.title"));
	const char *done = web_query_get(c, "done");
	if (done && (strcmp(done, "accepted") == 0 || strcmp(done, "rejected") == 0 ||
	             strcmp(done, "returned") == 0))
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"done\">%s</div>",
		           web_t(c, eng_arena_printf(&c->arena, "registry.done.%s", done)));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "registry.title"), web_t(c, "registry.intro"));
	filter_form(c, &f);
	book_table(c, &f, e, n, total);
	inbox(c, x, nx);
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

static int decision_of(const char *s, enum conn_sicres_decision *out)
{
	static const char *const names[] = {"accept", "reject", "return"};
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum conn_sicres_decision)i;
			return 0;
		}
	return -1;
}

void web_route_registry_decide(struct web_ctx *c, const char *identifier)
{
	if (!web_require(c, "employee"))
		return;
	struct eng_value *v;
	size_t n;
	static const char *const fields[] = {"decision", "reason", NULL};
	if (!web_post_fields(c, 8192, fields, &v, &n))
		return;
	if (!may_decide(c))
		return web_error_page(c, 403, "err.denied.title", "registry.denied");
	enum conn_sicres_decision d;
	if (decision_of(eng_values_get(v, n, "decision"), &d) != 0)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	const char *actor = eng_arena_printf(&c->arena, "employee:%s", c->session.principal_id);
	struct conn_sicres_result res;
	struct conn_sicres_error err = {0};
	int rc = conn_sicres_decide(&res, eng_store_conn(c->store), c->srv->cfg.entity_id, identifier,
	                            false, d, eng_values_get(v, n, "reason"), actor, &err);
	switch (rc) {
	case 0:
		return web_redirect(c, eng_arena_printf(&c->arena, "/backoffice/registry?done=%s", res.state));
	case CONN_SICRES_EINVALID:
		return web_error_page(c, 422, "registry.reason.title", "registry.reason.required");
	case CONN_SICRES_ENOTFOUND:
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	case CONN_SICRES_ECONFLICT:
		return web_error_page(c, 409, "registry.conflict.title", "registry.conflict");
	default:
		fprintf(stderr, "tramit: exchange %s: %s\n", identifier, err.msg);
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	}
}
