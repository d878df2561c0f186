/* The public CSV verification page. Anyone holding a code gets the original document; an
 * unknown, malformed or withdrawn code gets the same page and status (404), so the answer
 * never tells which. Every lookup is logged by the store. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "connectors/docs/docs.h"
#include "internal.h"

static void verify_form(struct web_ctx *c, const char *typed)
{
	web_printf(c, "<form method=\"get\" action=\"/verify\"><div class=\"field\">"
	              "<label for=\"f-csv\">%s</label><span class=\"hint\" id=\"h-csv\">%s</span>"
	              "<input type=\"text\" id=\"f-csv\" name=\"csv\" aria-describedby=\"h-csv\" "
	              "autocomplete=\"off\" spellcheck=\"false\" value=\"",
	           web_t(c, "verify.label"), web_t(c, "verify.hint"));
	web_attr(c, typed);
	web_printf(c, "\"></div><button type=\"submit\">%s</button></form>", web_t(c, "verify.button"));
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void render_receipt_document(struct web_ctx *c, json_t *doc)
{
	bool es = c->lang == ENG_LANG_ES;
	json_t *tramit = json_object_get(doc, "tramit"), *app = json_object_get(doc, "applicant");
	json_t *entity = json_object_get(doc, "entity");
	web_printf(c, "<h2>%s</h2><dl class=\"facts\" id=\"document\"><dt>%s</dt><dd>",
	           web_t(c, "receipt.title"), es ? "Entidad" : "Entitat");
	web_html(c, jstr(entity, es ? "name_es" : "name_ca"));
	web_printf(c, "</dd><dt>%s</dt><dd id=\"registry-number\">", web_t(c, "receipt.registry"));
	web_html(c, jstr(doc, "registry_number"));
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "receipt.presented"));
	web_html(c, web_date(c, jstr(doc, "presented_at")));
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "receipt.expedient"));
	web_html(c, jstr(doc, "expedient_number"));
	web_printf(c, "</dd><dt>%s</dt><dd>", web_t(c, "col.tramit"));
	web_html(c, jstr(tramit, es ? "title_es" : "title_ca"));
	web_printf(c, " (");
	web_html(c, jstr(tramit, "code"));
	web_printf(c, ")</dd><dt>%s</dt><dd>", web_t(c, "col.applicant"));
	web_html(c, jstr(app, "name"));
	web_printf(c, " (");
	web_html(c, jstr(app, "nif"));
	web_printf(c, ")</dd>");
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(doc, "form"), i, f) {
		web_printf(c, "<dt>");
		web_html(c, jstr(f, es ? "label_es" : "label_ca"));
		web_printf(c, "</dt><dd>");
		web_html(c, jstr(f, "value"));
		web_printf(c, "</dd>");
	}
	web_printf(c, "</dl>");
}

/* The base of the verification URL printed on documents: the configured public address, or
 * this server's own. Never the request's Host header: a document must read the same whoever
 * downloads it. */
static const char *web_public_url(struct web_ctx *c)
{
	const struct web_config *cfg = &c->srv->cfg;
	if (cfg->public_url && *cfg->public_url)
		return cfg->public_url;
	return eng_arena_printf(&c->arena, "http://%s:%d", cfg->bind ? cfg->bind : "127.0.0.1",
	                        c->srv->port);
}

/* A malformed code is answered like an unknown one (ENG_ENOTFOUND) and counts against the
 * allowance like any other lookup. */
int web_verify_lookup(struct web_ctx *c, const char *typed, struct eng_document_view *doc)
{
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	struct eng_error err;
	if (conn_csv_normalize(csv, typed) != 0)
		csv[0] = '\0';
	int rc = eng_store_csv_lookup(c->store, &c->arena, csv, c->client,
	                              c->srv->cfg.csv_lookups_per_minute, doc, &err);
	if (rc == ENG_EDENIED) {
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "60");
		return WEB_ELIMITED;
	}
	return rc;
}

void web_route_verify(struct web_ctx *c)
{
	const char *typed = web_query_get(c, "csv");
	if (!typed) {
		web_page_begin(c, web_t(c, "verify.title"));
		web_printf(c, "<h1>%s</h1><p>%s</p>", web_t(c, "verify.title"), web_t(c, "verify.intro"));
		verify_form(c, "");
		web_page_end(c);
		return web_send(c, 200, "text/html; charset=utf-8");
	}
	struct eng_document_view doc;
	int rc = web_verify_lookup(c, typed, &doc);
	json_t *content = rc == 0 ? json_loadb(doc.content, doc.content_len, 0, NULL) : NULL;
	if (rc == WEB_ELIMITED)
		return web_error_page(c, 429, "verify.limit.title", "verify.limit");
	if (rc != 0 && rc != ENG_ENOTFOUND)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "verify.title"));
	web_printf(c, "<h1>%s</h1>", web_t(c, "verify.title"));
	if (rc == ENG_ENOTFOUND || !content) {
		web_printf(c, "<div class=\"error-summary\" role=\"alert\" id=\"not-found\"><h2>%s</h2><p>%s</p></div>",
		           web_t(c, "verify.notfound.title"), web_t(c, "verify.notfound"));
		verify_form(c, typed);
		web_page_end(c);
		return web_send(c, 404, "text/html; charset=utf-8");
	}
	web_printf(c, "<div class=\"panel\" role=\"status\" id=\"verified\">%s</div>", web_t(c, "verify.found"));
	web_printf(c, "<dl class=\"facts\"><dt>%s</dt><dd class=\"csv\" id=\"csv\">", web_t(c, "receipt.csv"));
	web_html(c, doc.csv);
	web_printf(c, "</dd><dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>", web_t(c, "verify.kind"),
	           web_t(c, strcmp(doc.kind, "receipt") == 0 ? "verify.kind.receipt" : "verify.kind"),
	           web_t(c, "verify.issued"));
	web_html(c, web_date(c, doc.created_at));
	web_printf(c, "</dd><dt>%s</dt><dd><code id=\"sha256\">", web_t(c, "verify.sha256"));
	web_html(c, doc.sha256);
	web_printf(c, "</code></dd></dl>");
	if (strcmp(doc.kind, "receipt") == 0)
		render_receipt_document(c, content);
	json_decref(content);
	if (strcmp(doc.kind, "receipt") == 0)
		web_printf(c, "<p><a class=\"button\" id=\"download\" href=\"/verify/%s/document\">%s</a> "
		           "<a id=\"download-data\" href=\"/verify/%s/document?format=json\">%s</a></p>",
		           web_url_encode(c, doc.csv), web_t(c, "verify.download.pdf"),
		           web_url_encode(c, doc.csv), web_t(c, "verify.download.data"));
	else
		web_printf(c, "<p><a class=\"button\" id=\"download\" href=\"/verify/%s/document\">%s</a></p>",
		           web_url_encode(c, doc.csv), web_t(c, "verify.download"));
	web_page_end(c);
	web_send(c, 200, "text/html; charset=utf-8");
}

/* The document itself: a receipt as the PDF every holder of its CSV was given (re-rendered
 * from the stored receipt, byte for byte the same: connectors/docs), or with ?format=json the
 * stored data whose SHA-256 the page shows; any other document as stored. */
void web_route_verify_document(struct web_ctx *c, const char *typed)
{
	struct eng_document_view doc;
	int rc = web_verify_lookup(c, typed, &doc);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "verify.notfound.title", "verify.notfound");
	if (rc == WEB_ELIMITED)
		return web_error_page(c, 429, "verify.limit.title", "verify.limit");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const char *format = web_query_get(c, "format");
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	if (strcmp(doc.kind, "receipt") == 0 && !(format && strcmp(format, "json") == 0)) {
		unsigned char *pdf = NULL;
		size_t len = 0;
		struct conn_error cerr = {0};
		if (conn_doc_receipt_pdf(&pdf, &len, doc.content, NULL, web_public_url(c), &cerr) != 0) {
			fprintf(stderr, "tramit: verify: rendering the receipt %s: %s\n", doc.csv, cerr.msg);
			return web_error_page(c, 500, "err.internal.title", "err.internal");
		}
		evbuffer_add(c->out, pdf, len);
		conn_doc_free(pdf);
		evhttp_add_header(h, "Content-Disposition",
		                  eng_arena_printf(&c->arena, "attachment; filename=\"%s-%s.pdf\"", doc.kind, doc.csv));
		return web_send(c, 200, "application/pdf");
	}
	/* Any other document as stored: an issued PDF, or a receipt's JSON data. */
	const char *ext = strcmp(doc.media_type, "application/pdf") == 0 ? "pdf"
	                : strcmp(doc.media_type, "application/json") == 0 ? "json" : "bin";
	evbuffer_add(c->out, doc.content, doc.content_len);
	evhttp_add_header(h, "Content-Disposition", eng_arena_printf(&c->arena,
	                  "attachment; filename=\"%s-%s.%s\"", doc.kind, doc.csv, ext));
	web_send(c, 200, doc.media_type);
}
