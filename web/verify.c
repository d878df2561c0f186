/* The public CSV verification page. Anyone holding a code gets the original document; an
 * unknown, malformed or withdrawn code gets the same page and status (404), so the answer
 * never tells which. Every lookup is logged by the store. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "connectors/docs/docs.h"
#include "engine/runtime/trust.h"
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

/* What vouches for the document: the seal and its time stamp, the signatures gathered by the
 * portasignatures and the decree number, each with its bytes to download. Nothing when the
 * document has none of them (a receipt's CSV is its guarantee). */
static void render_trust(struct web_ctx *c, const struct eng_document_view *doc)
{
	struct eng_trust t;
	struct eng_error err = {0};
	if (eng_trust_get(c->store, &c->arena, doc->id, &t, &err) != 0 ||
	    (!t.sealed && !t.seal_note && !t.n_signatures && !t.decree_number))
		return;
	const char *base = eng_arena_printf(&c->arena, "/verify/%s/document?part=", web_url_encode(c, doc->csv));
	web_printf(c, "<section id=\"trust\" aria-labelledby=\"trust-title\"><h2 id=\"trust-title\">%s</h2>"
	              "<ul class=\"trust\">", web_t(c, "verify.trust"));
	if (t.decree_number) {
		web_printf(c, "<li id=\"decree\">%s: <strong>", web_t(c, "verify.decree"));
		web_html(c, t.decree_number);
		web_printf(c, "</strong></li>");
	}
	for (size_t i = 0; i < t.n_signatures; i++) {
		const struct eng_trust_signature *g = &t.signatures[i];
		web_printf(c, "<li class=\"signature\">%s ", web_t(c, g->approval ? "verify.approved_by" : "verify.signed_by"));
		web_html(c, g->signer_name ? g->signer_name : "");
		if (g->signer_nif) {
			web_printf(c, " (");
			web_html(c, g->signer_nif);
			web_printf(c, ")");
		}
		if (g->on_behalf_of_name) {
			web_printf(c, ", %s ", web_t(c, "verify.on_behalf_of"));
			web_html(c, g->on_behalf_of_name);
		}
		web_printf(c, ", ");
		web_html(c, web_date(c, g->acted_at));
		if (!g->approval)
			web_printf(c, " · <a href=\"%s%s/%d/%d\">%s</a>", base, g->request_id, g->line, g->pos,
			           web_t(c, "verify.download.signature"));
		web_printf(c, "</li>");
	}
	if (t.sealed) {
		web_printf(c, "<li id=\"seal\">%s · <a href=\"%sseal\">%s</a></li>", web_t(c, "verify.sealed"),
		           base, web_t(c, "verify.download.seal"));
		if (t.timestamped_at) {
			web_printf(c, "<li id=\"timestamp\">%s: ", web_t(c, "verify.timestamped"));
			web_html(c, web_date(c, t.timestamped_at));
			web_printf(c, " · <a href=\"%stimestamp\">%s</a></li>", base, web_t(c, "verify.download.timestamp"));
		}
	} else if (t.seal_note) {
		web_printf(c, "<li id=\"seal\">%s</li>", web_t(c, "verify.unsealed"));
	}
	web_printf(c, "</ul></section>");
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
	/* A receipt is its JSON data; an issued document is a PDF the page does not read. */
	bool receipt = rc == 0 && strcmp(doc.kind, "receipt") == 0;
	json_t *content = receipt ? json_loadb(doc.content, doc.content_len, 0, NULL) : NULL;
	if (rc == WEB_ELIMITED)
		return web_error_page(c, 429, "verify.limit.title", "verify.limit");
	if (rc != 0 && rc != ENG_ENOTFOUND)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	web_page_begin(c, web_t(c, "verify.title"));
	web_printf(c, "<h1>%s</h1>", web_t(c, "verify.title"));
	if (rc == ENG_ENOTFOUND || (receipt && !content)) {
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
	           web_t(c, receipt ? "verify.kind.receipt" : "verify.kind.issued"),
	           web_t(c, "verify.issued"));
	web_html(c, web_date(c, doc.created_at));
	web_printf(c, "</dd><dt>%s</dt><dd><code id=\"sha256\">", web_t(c, "verify.sha256"));
	web_html(c, doc.sha256);
	web_printf(c, "</code></dd></dl>");
	if (strcmp(doc.kind, "receipt") == 0)
		render_receipt_document(c, content);
	json_decref(content);
	render_trust(c, &doc);
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
	const char *part = web_query_get(c, "part");
	if (part) {
		/* The seal, its time stamp or one signature: DER, as a person or a program checks it
		 * (openssl cms -verify, openssl ts -verify). */
		unsigned char *der = NULL;
		size_t len = 0;
		struct eng_error err = {0};
		rc = eng_trust_blob(c->store, doc.id, part, &der, &len, &err);
		if (rc == ENG_ENOTFOUND)
			return web_error_page(c, 404, "verify.notfound.title", "verify.notfound");
		if (rc)
			return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
		bool stamp = strcmp(part, "timestamp") == 0;
		evbuffer_add(c->out, der, len);
		free(der);
		evhttp_add_header(h, "Content-Disposition", eng_arena_printf(&c->arena,
		                  "attachment; filename=\"%s-%s.%s\"", stamp ? "timestamp" : strcmp(part, "seal") == 0
		                  ? "seal" : "signature", doc.csv, stamp ? "tst" : "p7s"));
		return web_send(c, 200, stamp ? "application/octet-stream" : "application/pkcs7-signature");
	}
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
