/* An expedient's attachments: the list on the carpeta and back-office pages, and the download,
 * sent a chunk at a time as the client takes it (each chunk read from the repository only
 * when the previous one left), so a large file never sits whole in memory.
 * Invariant: a download is served only to whoever may see the expedient (web_expedient_visible);
 * anyone else gets the same 404 as for an id that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void web_render_attachments(struct web_ctx *c, const struct eng_expedient_view *x)
{
	struct eng_attachment_view *a;
	size_t n;
	struct eng_error err;
	if (eng_docstore_list(c->store, &c->arena, c->srv->cfg.entity_id, x->id, &a, &n, &err) != 0) {
		fprintf(stderr, "tramit: attachments of %s: %s\n", x->id, err.msg);
		web_printf(c, "<p id=\"attachments-error\">%s</p>", web_t(c, "att.unavailable"));
		return;
	}
	if (n == 0)
		return;
	web_printf(c, "<h2>%s</h2><table id=\"attachments\"><thead><tr><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           web_t(c, "att.title"), web_t(c, "att.name"), web_t(c, "att.size"), web_t(c, "att.sha256"));
	for (size_t i = 0; i < n; i++) {
		web_printf(c, "<tr data-sha256=\"%s\"><td><a href=\"/attachments/%s\" download>", a[i].sha256, a[i].id);
		web_html(c, a[i].name);
		web_printf(c, "</a><br><span class=\"hint\">%s: ", web_t(c, "att.eni_id"));
		web_html(c, a[i].eni_id);
		web_printf(c, "</span></td><td>%s</td><td><code class=\"hash\">%s</code></td></tr>",
		           web_size_text(c, a[i].size), a[i].sha256);
	}
	web_printf(c, "</tbody></table>");
}

/* A download in flight: it outlives the handler, so it owns the request's context. */
struct download {
	struct web_ctx *c;
	struct evhttp_connection *conn;
	struct eng_blob blob;
	long next;
};

static int to_buffer(const void *data, size_t len, void *payload)
{
	return evbuffer_add(payload, data, len);
}

/* Ends the reply and frees the download. end is false only when the connection is being
 * freed with the request still on it (server shutdown): libevent frees the request then. */
static void finish(struct download *d, bool end)
{
	struct evhttp_request *req = d->c->req;
	if (d->conn)
		evhttp_connection_set_closecb(d->conn, NULL, NULL);
	web_request_end(d->c); /* logs from the request, so before it is let go */
	/* After a disconnect the request is detached from its connection, and ending the reply
	 * is what frees it. */
	if (end)
		evhttp_send_reply_end(req);
	free(d);
}

static void on_sent(struct evhttp_connection *conn, void *payload);

static void send_next(struct download *d)
{
	if (d->next == d->blob.chunks)
		return finish(d, true);
	struct evbuffer *buf = evbuffer_new();
	struct eng_error err;
	if (!buf || eng_docstore_chunk(d->c->store, d->c->srv->documents_dir, &d->blob, d->next,
	                               to_buffer, buf, &err) != 0) {
		/* The headers are gone: all that is left is to cut the reply short, which the
		 * client sees as a short body against Content-Length. */
		fprintf(stderr, "tramit: download of blob %s stopped at chunk %ld: %s\n", d->blob.sha256,
		        d->next, buf ? err.msg : "out of memory");
		if (buf)
			evbuffer_free(buf);
		return finish(d, true);
	}
	d->next++;
	evhttp_send_reply_chunk_with_cb(d->c->req, buf, on_sent, d);
	evbuffer_free(buf);
}

static void on_sent(struct evhttp_connection *conn, void *payload)
{
	(void)conn;
	send_next(payload);
}

/* The client went away mid-download: no more chunks will be asked for. */
static void on_close(struct evhttp_connection *conn, void *payload)
{
	struct download *d = payload;
	(void)conn;
	d->conn = NULL;
	finish(d, evhttp_request_get_connection(d->c->req) == NULL);
}

/* filename="ascii fallback"; filename*=UTF-8''percent-encoded (RFC 6266). */
static const char *disposition(struct web_ctx *c, const char *name)
{
	char *ascii = eng_arena_strdup(&c->arena, name);
	for (char *p = ascii; *p; p++)
		if ((unsigned char)*p >= 0x80 || *p == '"' || *p == '\\' || *p == ';' || *p < 0x20)
			*p = '_';
	char *enc = evhttp_uriencode(name, -1, 0);
	const char *h = eng_arena_printf(&c->arena, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
	                                 ascii, enc ? enc : "");
	free(enc);
	return h;
}

static void headers(struct web_ctx *c, const struct eng_attachment_view *a, long long size)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	evhttp_add_header(h, "Content-Type", a->media_type);
	evhttp_add_header(h, "Content-Disposition", disposition(c, a->name));
	evhttp_add_header(h, "Content-Length", eng_arena_printf(&c->arena, "%lld", size));
	/* Streamed without web_send, so its headers are set here. */
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* Never rendered as our page, even if a browser ignored the attachment disposition. */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; sandbox");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
}

void web_route_attachment(struct web_ctx *c, const char *id)
{
	if (!c->signed_in)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	struct eng_attachment_view a;
	struct eng_expedient_view x;
	struct eng_error err;
	int rc = eng_docstore_get(c->store, &c->arena, c->srv->cfg.entity_id, id, &a, &err);
	if (rc == 0)
		rc = web_expedient_visible(c, a.expedient_id, &x);
	struct eng_blob blob;
	if (rc == 0)
		rc = eng_docstore_blob(c->store, a.sha256, &blob, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	headers(c, &a, blob.size);
	c->status = 200;
	if (evhttp_request_get_command(c->req) == EVHTTP_REQ_HEAD) {
		evhttp_send_reply(c->req, 200, "OK", NULL);
		return;
	}
	struct download *d = calloc(1, sizeof(*d));
	if (!d)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	*d = (struct download){.c = c, .conn = evhttp_request_get_connection(c->req), .blob = blob};
	c->deferred = true;
	evhttp_send_reply_start(c->req, 200, "OK");
	evhttp_connection_set_closecb(d->conn, on_close, d);
	send_next(d);
}
