/* The standalone payment manager (Gestor de Pagaments): a citizen pays a tax receipt by typing
 * its reference and the debtor's NIF, without signing in and without any tràmit; by card
 * (a signed form for the gateway, a new order for every attempt) or with the Cuaderno 60
 * payment document at a bank. Invariants: a reference with the wrong NIF and an unknown one
 * get the same answer, lookups count against the client's allowance, and every POST carries
 * the same-site token of its form (a double-submit cookie: no session is needed). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/c60/c60.h"
#include "internal.h"
#include "payments.h"

#define TOKEN_COOKIE "pm_token"
enum { TOKEN_LEN = 32, FORM_MAX = 4096 };

/* ---- The form token ---------------------------------------------------------------------- */

/* The token of this browser's forms: the cookie's, or a new one (set on this answer). A
 * cross-site page can make the browser post, but can neither read the cookie nor send it
 * (SameSite=Strict), so it cannot put the same value in the form. */
static const char *token_get(struct web_ctx *c)
{
	const char *t = web_cookie(c, TOKEN_COOKIE);
	if (t && strlen(t) == TOKEN_LEN && strspn(t, "0123456789abcdef") == TOKEN_LEN)
		return t;
	char *hex = web_random_hex(c, TOKEN_LEN / 2);
	if (!hex)
		return NULL;
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie",
	                  eng_arena_printf(&c->arena, TOKEN_COOKIE "=%s; Path=/pagaments; HttpOnly; "
	                                   "SameSite=Strict; Max-Age=3600", hex));
	return hex;
}

static bool token_ok(struct web_ctx *c, const char *sent)
{
	const char *t = web_cookie(c, TOKEN_COOKIE);
	return t && sent && strlen(t) == TOKEN_LEN && strlen(sent) == TOKEN_LEN &&
	       CRYPTO_memcmp(t, sent, TOKEN_LEN) == 0;
}

static void hidden(struct web_ctx *c, const char *name, const char *value)
{
	web_printf(c, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	web_attr(c, value ? value : "");
	web_printf(c, "\">");
}

/* ---- Reading what was typed -------------------------------------------------------------- */

/* Keeps digits (references) or letters and digits upper-cased (NIFs): people type spaces,
 * dashes and dots. A 42-digit barcode stands for its reference. */
static const char *normalise(struct web_ctx *c, const char *typed, bool letters)
{
	size_t n = typed ? strlen(typed) : 0;
	char *out = eng_arena_alloc(&c->arena, n + 1), *o = out;
	for (size_t i = 0; i < n && o - out < 64; i++) {
		char ch = typed[i];
		if (letters && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if ((ch >= '0' && ch <= '9') || (letters && ch >= 'A' && ch <= 'Z'))
			*o++ = ch;
	}
	*o = '\0';
	struct conn_c60_code code;
	struct conn_error err;
	if (!letters && strlen(out) == CONN_C60_BARCODE_LEN && conn_c60_barcode_check(&code, out, &err) == 0)
		return eng_arena_strdup(&c->arena, code.reference);
	return out;
}

/* Reads a POST with its token. On a problem it answers and returns false. */
static bool post_read(struct web_ctx *c, const char **reference, const char **nif)
{
	size_t len, n;
	struct eng_value *v;
	char *body = web_body(c, FORM_MAX, &len);
	if (!body) {
		web_error_page(c, 413, "err.toolarge.title", "err.toolarge");
		return false;
	}
	if (web_parse_form(c, body, len, &v, &n) != 0) {
		web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
		return false;
	}
	if (!token_ok(c, eng_values_get(v, n, "token"))) {
		web_error_page(c, 403, "err.csrf.title", "pm.token");
		return false;
	}
	static const char *const fields[] = {"token", "referencia", "nif", NULL};
	if (!web_only_fields(c, v, n, fields))
		return false;
	*reference = normalise(c, eng_values_get(v, n, "referencia"), false);
	*nif = normalise(c, eng_values_get(v, n, "nif"), true);
	return true;
}

/* The receipt for what was typed: 0, ENG_ENOTFOUND (unknown reference or another NIF alike),
 * or it answers (429, 503) and returns another code. */
static int receipt_find(struct web_ctx *c, const char *reference, const char *nif,
                        struct eng_tax_receipt *t)
{
	/* A malformed reference is looked up (and counted) like any other: it finds nothing. */
	struct eng_error err;
	int rc = eng_store_tax_find(c->store, &c->arena, c->srv->cfg.entity_id, reference, nif,
	                            c->client, c->srv->cfg.csv_lookups_per_minute, t, &err);
	if (rc == ENG_EDENIED) {
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "60");
		web_error_page(c, 429, "verify.limit.title", "verify.limit");
	} else if (rc && rc != ENG_ENOTFOUND) {
		web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	}
	return rc;
}

/* ---- Pages ------------------------------------------------------------------------------- */

static const char *euros(struct web_ctx *c, int64_t cents)
{
	return eng_arena_printf(&c->arena, "%lld,%02lld €", (long long)cents / 100,
	                        (long long)cents % 100);
}

/* "2026-11-30" as "30/11/2026", as both languages write dates on receipts. */
static const char *day(struct web_ctx *c, const char *iso)
{
	int y, m, d;
	if (!iso || sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return iso ? iso : "";
	return eng_arena_printf(&c->arena, "%02d/%02d/%04d", d, m, y);
}

static void lookup_form(struct web_ctx *c, const char *token, const char *reference,
                        const char *nif)
{
	web_printf(c, "<form method=\"post\" action=\"/pagaments\">");
	hidden(c, "token", token);
	web_printf(c, "<div class=\"field\"><label for=\"f-ref\">%s</label><span class=\"hint\" "
	              "id=\"h-ref\">%s</span><input type=\"text\" id=\"f-ref\" name=\"referencia\" "
	              "inputmode=\"numeric\" autocomplete=\"off\" aria-describedby=\"h-ref\" value=\"",
	           web_t(c, "pm.reference"), web_t(c, "pm.reference.hint"));
	web_attr(c, reference);
	web_printf(c, "\"></div><div class=\"field\"><label for=\"f-nif\">%s</label><span "
	              "class=\"hint\" id=\"h-nif\">%s</span><input type=\"text\" id=\"f-nif\" "
	              "name=\"nif\" autocomplete=\"off\" aria-describedby=\"h-nif\" value=\"",
	           web_t(c, "pm.nif"), web_t(c, "pm.nif.hint"));
	web_attr(c, nif);
	web_printf(c, "\"></div><button type=\"submit\">%s</button></form>", web_t(c, "pm.find"));
}

static void page_send(struct web_ctx *c, int status)
{
	web_page_end(c);
	web_send(c, status, "text/html; charset=utf-8");
}

void web_route_paymgr(struct web_ctx *c)
{
	const char *token = token_get(c);
	if (!token)
		return web_error_page(c, 500, "err.internal.title", "err.internal");
	web_page_begin(c, web_t(c, "pm.title"));
	web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "pm.title"), web_t(c, "pm.intro"));
	lookup_form(c, token, "", "");
	page_send(c, 200);
}

/* The two ways to pay a pending receipt, each a form posting what was typed again. */
static void pay_forms(struct web_ctx *c, const struct eng_tax_receipt *t, const char *token)
{
	const char *actions[][3] = {{"/pagaments/targeta", "pay-card", "pm.pay.card"},
	                            {"/pagaments/document", "pay-bank", "pm.pay.bank"}};
	/* Without a card gateway, the bank is the only way. */
	bool card = conn_set_state(c->srv->cfg.connectors, "redsys") != NULL;
	web_printf(c, "<h2>%s</h2><ul class=\"actions\">", web_t(c, "pm.pay"));
	for (int i = card ? 0 : 1; i < 2; i++) {
		web_printf(c, "<li><form method=\"post\" action=\"%s\">", actions[i][0]);
		hidden(c, "token", token);
		hidden(c, "referencia", t->reference);
		hidden(c, "nif", t->debtor_nif);
		web_printf(c, "<button type=\"submit\" id=\"%s\">%s</button></form></li>", actions[i][1],
		           web_t(c, actions[i][2]));
	}
	web_printf(c, "</ul><p>%s</p>", web_t(c, "pm.pay.bank.hint"));
}

static void receipt_facts(struct web_ctx *c, const struct eng_tax_receipt *t)
{
	web_printf(c, "<dl class=\"facts\" id=\"receipt\"><dt>%s</dt><dd id=\"concept\">",
	           web_t(c, "pm.concept"));
	web_html(c, c->lang == ENG_LANG_ES ? t->concept_es : t->concept_ca);
	web_printf(c, "</dd><dt>%s</dt><dd id=\"reference\">", web_t(c, "pm.reference"));
	web_html(c, t->reference);
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "pm.debtor"));
	web_html(c, t->debtor_name);
	web_printf(c, "</dd><dt>%s</dt><dd id=\"amount\">%s</dd><dt>%s</dt><dd id=\"deadline\">%s</dd></dl>",
	           web_t(c, "pm.amount"), euros(c, t->amount_cents), web_t(c, "pm.deadline"),
	           day(c, t->deadline));
}

/* Where a receipt stands, and what can be done with it. */
static void receipt_state(struct web_ctx *c, const struct eng_tax_receipt *t, const char *token)
{
	if (strcmp(t->state, "paid") == 0) {
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"paid\"><h2>%s</h2><p>%s %s",
		           web_t(c, "pm.paid"), web_t(c, "pm.paid.on"), web_date(c, t->paid_at));
		if (t->paid_order)
			web_printf(c, ". %s <strong id=\"order\">%s</strong>", web_t(c, "pm.order"),
			           t->paid_order);
		web_printf(c, ".</p></div>");
	} else if (strcmp(t->state, "cancelled") == 0) {
		web_printf(c, "<div class=\"panel\" role=\"status\" id=\"cancelled\"><p>%s</p></div>",
		           web_t(c, "pm.cancelled"));
	} else if (t->overdue) {
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" id=\"overdue\"><h2>%s</h2>"
		              "<p>%s</p></div>", web_t(c, "pm.overdue.title"), web_t(c, "pm.overdue"));
	} else {
		pay_forms(c, t, token);
	}
}

static void not_found(struct web_ctx *c, const char *reference, const char *nif)
{
	web_page_begin(c, web_t(c, "pm.title"));
	web_printf(c, "<h1>%s</h1><div class=\"error-summary\" role=\"alert\" id=\"not-found\">"
	              "<h2>%s</h2><p>%s</p></div>", web_t(c, "pm.title"),
	           web_t(c, "pm.notfound.title"), web_t(c, "pm.notfound"));
	lookup_form(c, token_get(c), reference, nif);
	page_send(c, 404);
}

void web_route_paymgr_find(struct web_ctx *c)
{
	const char *reference, *nif;
	struct eng_tax_receipt t;
	if (!post_read(c, &reference, &nif))
		return;
	int rc = receipt_find(c, reference, nif, &t);
	if (rc == ENG_ENOTFOUND)
		return not_found(c, reference, nif);
	if (rc)
		return;
	web_page_begin(c, web_t(c, "pm.title"));
	web_printf(c, "<h1>%s</h1>", web_t(c, "pm.receipt"));
	receipt_facts(c, &t);
	receipt_state(c, &t, token_get(c));
	page_send(c, 200);
}

/* A new order for this attempt (the gateway never accepts a number twice) and its signed form. */
static int card_order(struct web_ctx *c, const struct conn_redsys *r, const struct eng_tax_receipt *t,
                      struct conn_redsys_form *f)
{
	int64_t seq;
	char order[CONN_REDSYS_ORDER_MAX + 1];
	struct eng_error err = {0};
	struct conn_error cerr = {0};
	int rc = eng_store_card_sequence_next(c->store, &seq, &err);
	if (!rc && conn_redsys_order_make(order, seq, &cerr) != 0)
		rc = eng_error_set(&err, ENG_EINTERNAL, "%s", cerr.msg);
	if (!rc)
		rc = eng_store_card_order_add_tax(c->store, c->srv->cfg.entity_id, order, t->reference, &err);
	if (!rc && conn_redsys_form_sign(f, conn_redsys_merchant_of(r), order, t->amount_cents, &cerr) != 0)
		rc = eng_error_set(&err, ENG_EINTERNAL, "%s", cerr.msg);
	if (rc && rc != ENG_ECONFLICT)
		fprintf(stderr, "tramit: payment manager: card order for receipt %s: %s\n", t->reference,
		        err.msg);
	return rc;
}

void web_route_paymgr_card(struct web_ctx *c)
{
	const char *reference, *nif;
	struct eng_tax_receipt t;
	if (!post_read(c, &reference, &nif))
		return;
	const struct conn_redsys *r = conn_set_state(c->srv->cfg.connectors, "redsys");
	int rc = receipt_find(c, reference, nif, &t);
	if (rc == ENG_ENOTFOUND)
		return not_found(c, reference, nif);
	if (rc)
		return;
	if (!r)
		return web_error_page(c, 503, "pm.nocard.title", "pm.nocard");
	struct conn_redsys_form *f = eng_arena_alloc(&c->arena, sizeof(*f));
	rc = strcmp(t.state, "pending") == 0 && !t.overdue ? card_order(c, r, &t, f) : ENG_ECONFLICT;
	web_page_begin(c, web_t(c, "pm.title"));
	if (rc == ENG_ECONFLICT) {
		/* Paid, cancelled or overdue meanwhile: say where it stands. */
		web_printf(c, "<h1>%s</h1>", web_t(c, "pm.receipt"));
		receipt_facts(c, &t);
		receipt_state(c, &t, token_get(c));
		return page_send(c, 409);
	}
	if (rc) {
		web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "err.unavailable.title"),
		           web_t(c, "err.unavailable"));
		return page_send(c, 503);
	}
	web_printf(c, "<h1>%s</h1>", web_t(c, "pm.card.title"));
	receipt_facts(c, &t);
	web_printf(c, "<p>%s <strong id=\"order\">%s</strong>.</p><p>%s</p><form method=\"post\" "
	              "action=\"", web_t(c, "pm.order"), f->order, web_t(c, "pm.card.intro"));
	web_attr(c, conn_redsys_gateway_url(r));
	web_printf(c, "\" id=\"gateway-form\">");
	hidden(c, "Ds_SignatureVersion", f->version);
	hidden(c, "Ds_MerchantParameters", f->params);
	hidden(c, "Ds_Signature", f->signature);
	web_printf(c, "<button type=\"submit\">%s</button></form>", web_t(c, "pm.card.go"));
	page_send(c, 200);
}

/* The Cuaderno 60 payment document for the receipt, as the bank expects it. */
static int document_pdf(struct web_ctx *c, const struct eng_tax_receipt *t, unsigned char **pdf,
                        size_t *len)
{
	const char *id = t->identification;
	char document[11], tributo[4];
	memcpy(document, t->reference, 10);
	document[10] = '\0';
	memcpy(tributo, id + 1, 3);
	tributo[3] = '\0';
	struct conn_c60_document doc = {
		.entity_va = c->srv->entity.name_ca, .entity_es = c->srv->entity.name_es,
		.concept_va = t->concept_ca, .concept_es = t->concept_es,
		.payer_name = t->debtor_name, .payer_id = t->debtor_nif,
		.payment = {.emisora = t->emisora, .document = document, .period = id[0],
		            .tributo = tributo, .ejercicio = 2000 + (id[4] - '0') * 10 + (id[5] - '0'),
		            .amount_cents = t->amount_cents}};
	sscanf(t->deadline, "%4d-%2d-%2d", &doc.payment.deadline_year, &doc.payment.deadline_month,
	       &doc.payment.deadline_day);
	struct conn_error err = {0};
	int rc = conn_c60_pdf(pdf, len, &doc, &err);
	if (rc)
		fprintf(stderr, "tramit: payment manager: document for receipt %s: %s\n", t->reference,
		        err.msg);
	return rc;
}

void web_route_paymgr_document(struct web_ctx *c)
{
	const char *reference, *nif;
	struct eng_tax_receipt t;
	if (!post_read(c, &reference, &nif))
		return;
	int rc = receipt_find(c, reference, nif, &t);
	if (rc == ENG_ENOTFOUND)
		return not_found(c, reference, nif);
	if (rc)
		return;
	if (strcmp(t.state, "pending") != 0 || t.overdue) {
		web_page_begin(c, web_t(c, "pm.title"));
		web_printf(c, "<h1>%s</h1>", web_t(c, "pm.receipt"));
		receipt_facts(c, &t);
		receipt_state(c, &t, token_get(c));
		return page_send(c, 409);
	}
	unsigned char *pdf = NULL;
	size_t len = 0;
	if (document_pdf(c, &t, &pdf, &len) != 0)
		return web_error_page(c, 500, "err.internal.title", "err.internal");
	evbuffer_add(c->out, pdf, len);
	free(pdf);
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(h, "Content-Disposition", eng_arena_printf(&c->arena, "attachment; "
	                  "filename=\"document-pagament-%s.pdf\"", t.reference));
	web_send(c, 200, "application/pdf");
}
