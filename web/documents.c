/* Issued documents on the web (issue 6): the issuer this server installs into the engine
 * (CSVs from connectors/csv, PDFs from connectors/docs, the seal from connectors/sign), the list
 * of an expedient's issued documents on the Carpeta and back-office pages, and their download.
 * Invariant: a document is served only to whoever may see its expedient (the applicant, their
 * representative acting for them, an employee of the entity); to anyone else it does not
 * exist (404), as its expedient does not. Anyone holding its CSV gets it at /verify. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/csv/csv.h"
#include "connectors/docs/docs.h"
#include "connectors/docs/issued.h"
#include "connectors/sign/sign.h"
#include "engine/runtime/issue.h"
#include "internal.h"

/* What the installed issuer needs: where documents say they are verified, and the seal. One
 * per process (the engine's issuer is process-wide); a later server replaces it, and the
 * earlier one's seal is kept, since transitions in flight may still be using it. */
struct issuer_state {
	char url[512];
	struct conn_sign_signer *seal;
};
static struct issuer_state state;

static int issuer_csv(char out[64], void *payload)
{
	(void)payload;
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	if (conn_csv_new(csv) != 0)
		return -1;
	snprintf(out, 64, "%s", csv);
	return 0;
}

static int issuer_render(unsigned char **out, size_t *len, const char *record,
                         struct eng_error *err, void *payload)
{
	const struct issuer_state *st = payload;
	struct conn_error cerr = {0};
	if (conn_doc_issued_pdf(out, len, record, st->url, &cerr) != 0)
		return eng_error_set(err, cerr.code == CONN_EINVALID ? ENG_EINVALID : ENG_EUNAVAILABLE,
		                     "rendering the document: %s", cerr.msg);
	return 0;
}

/* CAdES detached rather than XAdES: the content is a PDF (binary), which CMS signs as it is
 * (DOMAIN 5.1, ENI TF04), and `openssl cms -verify -binary -content` checks it as is. */
static int issuer_seal(unsigned char **out, size_t *len, const unsigned char *pdf,
                       size_t pdf_len, struct eng_error *err, void *payload)
{
	const struct issuer_state *st = payload;
	struct conn_sign_error e = {0};
	struct conn_sign_options opt = {.detached = true};
	if (conn_sign_cades(out, len, st->seal, pdf, pdf_len, &opt, &e) != 0)
		return eng_error_set(err, ENG_EUNAVAILABLE, "sealing the document: %s", e.msg);
	return 0;
}

static void issuer_release(void *p)
{
	free(p);
}

/* The stamper: one thread per server that asks the TSA for the time stamps of sealed
 * documents after their transitions committed (the queue is the documents' own rows, claimed
 * with SKIP LOCKED, so any number of servers share it). It sleeps on LISTEN tramit_documents,
 * sent by the issuing transition, and looks again every 10 s in case a wake-up was missed. */
struct stamper {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	int wake[2];
	char conninfo[1024], entity[128], url[512];
};
static struct stamper stamper = {.wake = {-1, -1}};

static void stamp_one(struct eng_store *s, const struct eng_stamp_item *it)
{
	unsigned char *token = NULL;
	size_t len = 0;
	char when[32];
	struct conn_error cerr = {0};
	struct eng_error err = {0};
	int rc = conn_doc_seal_timestamp(&token, &len, when, (const unsigned char *)it->seal,
	                                 it->seal_len, stamper.url, &cerr);
	/* CAdES-T: the token goes into the seal itself, so the seal alone proves when. */
	unsigned char *seal_t = NULL;
	size_t seal_t_len = 0;
	struct conn_sign_error serr = {0};
	if (!rc && conn_sign_cades_add_timestamp(&seal_t, &seal_t_len, (const unsigned char *)it->seal,
	                                         it->seal_len, token, len, &serr) != 0) {
		snprintf(cerr.msg, sizeof(cerr.msg), "adding the time stamp to the seal: %.200s", serr.msg);
		rc = 1;
	}
	if (rc)
		fprintf(stderr, "tramit: document %s (attempt %d): %s\n", it->id, it->attempts, cerr.msg);
	if (eng_issued_stamp_record(s, it->id, rc ? NULL : token, len, when, seal_t, seal_t_len, cerr.msg, &err) != 0)
		fprintf(stderr, "tramit: document %s: recording its time stamp: %s\n", it->id, err.msg);
	free(seal_t);
	conn_doc_free(token);
}

static void *stamper_main(void *payload)
{
	(void)payload;
	struct eng_store *s = NULL;
	while (!atomic_load(&stamper.stop)) {
		struct eng_error err = {0};
		if (!s && eng_store_open(&s, stamper.conninfo, &err) == 0) {
			PGresult *r = PQexec(eng_store_conn(s), "LISTEN tramit_documents");
			PQclear(r);
		}
		size_t n = 0;
		struct eng_arena a = {0};
		struct eng_stamp_item *items = NULL;
		if (s && eng_issued_stamp_claim(s, &a, stamper.entity, 8, 300, &items, &n, &err) != 0)
			fprintf(stderr, "tramit: time stamps: %s\n", err.msg);
		for (size_t i = 0; i < n && !atomic_load(&stamper.stop); i++)
			stamp_one(s, &items[i]);
		eng_arena_free(&a);
		if (n > 0)
			continue;
		struct pollfd fds[2] = {{.fd = stamper.wake[0], .events = POLLIN},
		                        {.fd = s ? PQsocket(eng_store_conn(s)) : -1, .events = POLLIN}};
		poll(fds, 2, 10000);
		if (s && (fds[1].revents & POLLIN) && PQconsumeInput(eng_store_conn(s))) {
			PGnotify *note;
			while ((note = PQnotifies(eng_store_conn(s))))
				PQfreemem(note);
		}
	}
	eng_store_close(s);
	return NULL;
}

static int stamper_start(const struct web_config *cfg, struct eng_error *err)
{
	if (stamper.running)
		return 0;
	snprintf(stamper.conninfo, sizeof(stamper.conninfo), "%s", cfg->conninfo ? cfg->conninfo : "");
	snprintf(stamper.entity, sizeof(stamper.entity), "%s", cfg->entity_id ? cfg->entity_id : "");
	snprintf(stamper.url, sizeof(stamper.url), "%s", cfg->tsa_url);
	atomic_store(&stamper.stop, false);
	if (pipe(stamper.wake) != 0)
		return eng_error_set(err, ENG_EINTERNAL, "time stamps: pipe: %s", strerror(errno));
	if (pthread_create(&stamper.thread, NULL, stamper_main, NULL) != 0) {
		close(stamper.wake[0]);
		close(stamper.wake[1]);
		return eng_error_set(err, ENG_EINTERNAL, "time stamps: cannot start a thread");
	}
	stamper.running = true;
	return 0;
}

void web_documents_stop(void)
{
	if (!stamper.running)
		return;
	atomic_store(&stamper.stop, true);
	ssize_t w = write(stamper.wake[1], "x", 1);
	(void)w;
	pthread_join(stamper.thread, NULL);
	close(stamper.wake[0]);
	close(stamper.wake[1]);
	stamper.running = false;
}

int web_documents_install(const struct web_config *cfg, int port, struct eng_error *err)
{
	struct conn_sign_signer *seal = NULL;
	if (cfg->seal_key && cfg->seal_cert) {
		struct conn_sign_error e = {0};
		if (conn_sign_signer_load(&seal, cfg->seal_key, cfg->seal_cert, &e) != 0)
			return eng_error_set(err, ENG_EINVALID, "the electronic seal (TRAMIT_SEAL_KEY, "
			                     "TRAMIT_SEAL_CERT): %s", e.msg);
	}
	/* The same base the verification page prints: a document must read the same whoever
	 * downloads it. */
	if (cfg->public_url && *cfg->public_url)
		snprintf(state.url, sizeof(state.url), "%s", cfg->public_url);
	else
		snprintf(state.url, sizeof(state.url), "http://%s:%d", cfg->bind ? cfg->bind : "127.0.0.1",
		         port);
	if (seal)
		state.seal = seal;
	bool stamps = seal && cfg->tsa_url && *cfg->tsa_url;
	struct eng_issuer is = {.csv_new = issuer_csv, .render = issuer_render,
	                        .seal = seal ? issuer_seal : NULL, .release = issuer_release,
	                        .payload = &state, .timestamps = stamps};
	eng_issue_set(&is);
	return stamps ? stamper_start(cfg, err) : 0;
}

void web_documents_section(struct web_ctx *c, const char *expedient_id, const char *base)
{
	struct eng_issued_view *ds = NULL;
	size_t n = 0;
	struct eng_error err;
	if (eng_issued_list(c->store, &c->arena, c->srv->cfg.entity_id, expedient_id, &ds, &n, &err) != 0)
		return;
	web_printf(c, "<section id=\"issued-documents\"><h2>%s</h2>", web_t(c, "docs.title"));
	if (n == 0) {
		web_printf(c, "<p>%s</p></section>", web_t(c, "docs.none"));
		return;
	}
	web_printf(c, "<table><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
	              "<th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead><tbody>",
	           web_t(c, "docs.col.name"), web_t(c, "docs.col.date"), web_t(c, "docs.col.csv"),
	           web_t(c, "docs.col.file"));
	for (size_t i = 0; i < n; i++) {
		web_printf(c, "<tr data-document=\"");
		web_attr(c, ds[i].name);
		web_printf(c, "\"><td>");
		web_html(c, eng_text_get(&ds[i].title, c->lang));
		web_printf(c, "<br><span class=\"hint\">%s", web_t(c, ds[i].sealed ? "docs.sealed" : "docs.unsealed"));
		if (ds[i].timestamped_at) {
			web_printf(c, " <span class=\"timestamped\">%s ", web_t(c, "docs.timestamped"));
			web_html(c, web_date(c, ds[i].timestamped_at));
			web_printf(c, "</span>");
		}
		web_printf(c, "</span></td><td>");
		web_html(c, web_date(c, ds[i].created_at));
		web_printf(c, "</td><td class=\"csv\">");
		web_html(c, ds[i].csv);
		web_printf(c, "</td><td><a class=\"download\" href=\"%s/%s/documents/%s\">%s</a>", base,
		           expedient_id, ds[i].id, web_t(c, "docs.download"));
		if (ds[i].sealed)
			web_printf(c, " <a class=\"seal\" href=\"%s/%s/documents/%s?part=seal\">%s</a>", base,
			           expedient_id, ds[i].id, web_t(c, "docs.seal"));
		if (ds[i].timestamped_at)
			web_printf(c, " <a class=\"timestamp\" href=\"%s/%s/documents/%s?part=timestamp\">%s</a>",
			           base, expedient_id, ds[i].id, web_t(c, "docs.timestamp"));
		web_printf(c, "</td></tr>");
	}
	web_printf(c, "</tbody></table></section>");
}

void web_route_issued_document(struct web_ctx *c, const char *kind, const char *expedient_id,
                               const char *id)
{
	if (!web_require(c, kind))
		return;
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, expedient_id, &x);
	struct eng_issued_view d;
	struct eng_error err;
	if (rc == 0)
		rc = eng_issued_get(c->store, &c->arena, c->srv->cfg.entity_id, x.id, id, &d, &err);
	if (rc == ENG_ENOTFOUND)
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	if (rc)
		return web_error_page(c, 503, "err.unavailable.title", "err.unavailable");
	const char *part = web_query_get(c, "part");
	bool seal = part && strcmp(part, "seal") == 0, stamp = part && strcmp(part, "timestamp") == 0;
	if (part && !seal && !stamp)
		return web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	if ((seal && !d.seal) || (stamp && !d.timestamp))
		return web_error_page(c, 404, "err.notfound.title", "err.notfound");
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	/* Names and CSVs are [a-z0-9_] and [A-Z0-9-]: safe inside the quoted file name. */
	evhttp_add_header(h, "Content-Disposition",
	                  eng_arena_printf(&c->arena, "attachment; filename=\"%s-%s.%s\"", d.name,
	                                   d.csv, seal ? "pdf.p7s" : stamp ? "p7s.tst" : "pdf"));
	evhttp_add_header(h, "Cache-Control", "private, no-store");
	if (stamp) {
		evbuffer_add(c->out, d.timestamp, d.timestamp_len);
		return web_send(c, 200, "application/octet-stream");
	}
	if (seal) {
		evbuffer_add(c->out, d.seal, d.seal_len);
		return web_send(c, 200, "application/pkcs7-signature");
	}
	evbuffer_add(c->out, d.content, d.content_len);
	web_send(c, 200, d.media_type);
}
