/* The HTTP server: one libevent loop, a router from method and path to the page and API
 * handlers, language negotiation, and clean shutdown on SIGINT/SIGTERM.
 * Invariant: every request gets exactly one reply and its arena is freed afterwards. */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "internal.h"

struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct embedded_file web_static_files[];

/* Splits "a/b/c" after prefix into at most n segments; returns how many. */
static int segments(struct web_ctx *c, const char *path, const char *prefix, const char **out, int n)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0)
		return -1;
	const char *p = path + pl;
	int k = 0;
	while (*p && k < n) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			return -1;
		out[k++] = eng_arena_strndup(&c->arena, p, len);
		p += len;
		if (*p == '/')
			p++;
		else
			break;
	}
	return *p ? -1 : k;
}

static void negotiate_lang(struct web_ctx *c)
{
	const char *cookie = web_cookie(c, "lang");
	if (cookie && (strcmp(cookie, "es") == 0 || strcmp(cookie, "ca") == 0)) {
		c->lang = strcmp(cookie, "es") == 0 ? ENG_LANG_ES : ENG_LANG_CA;
		return;
	}
	/* First language in Accept-Language that we speak wins; q-values are rarely decisive
	 * between two languages a browser lists, and the visible switch corrects the rest. */
	const char *al = web_header(c, "Accept-Language");
	c->lang = ENG_LANG_CA;
	for (const char *p = al; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncasecmp(p, "es", 2) == 0 && (p[2] == '\0' || strchr("-;,", p[2]))) {
			c->lang = ENG_LANG_ES;
			return;
		}
		if ((strncasecmp(p, "ca", 2) == 0 || strncasecmp(p, "va", 2) == 0) &&
		    (p[2] == '\0' || strchr("-;,", p[2])))
			return;
		p = strchr(p, ',');
	}
}

/* For load balancers and operators: 503 only when the database is down; a connector that
 * is unwell makes the status "degraded" but the server still serves (its work waits in the
 * outbox). */
static void route_health(struct web_ctx *c)
{
	bool db = eng_store_ping(c->store, NULL) == 0;
	char conn[4096];
	bool conn_ok = conn_set_health(c->srv->cfg.connectors, conn, sizeof(conn)) == 0;
	json_t *cj = json_loads(conn, 0, NULL);
	json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:b, s:O?}", "status", db && conn_ok ? "ok" : "degraded",
	                      "database", db ? "ok" : "unavailable", "tramits",
	                      (int)cat_catalog_count(c->srv->catalog), "entity", c->srv->cfg.entity_id,
	                      "demo", c->srv->cfg.demo, "connectors", json_object_get(cj, "connectors"));
	json_decref(cj);
	char *text = json_dumps(j, JSON_COMPACT);
	evbuffer_add(c->out, text, strlen(text));
	free(text);
	json_decref(j);
	web_send(c, db ? 200 : 503, "application/json");
}

static void route_static(struct web_ctx *c, const char *name)
{
	for (const struct embedded_file *f = web_static_files; f->name; f++) {
		if (strcmp(f->name, name) == 0) {
			evbuffer_add(c->out, f->data, f->len);
			web_send(c, 200, "text/css; charset=utf-8");
			return;
		}
	}
	web_error_page(c, 404, "err.notfound.title", "err.notfound");
}

static void dispatch(struct web_ctx *c)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD, post = m == EVHTTP_REQ_POST;
	const char *p = c->path;
	const char *seg[4];
	int n;

	if (!web_mandate_guard(c)) /* a representative filing outside their mandate */
		return;
	if (strncmp(p, "/api/v1/drafts/", 15) == 0)
		return web_route_api_drafts(c, p + 15);
	if (get && (strcmp(p, "/static/form.js") == 0 || strcmp(p, "/static/forms.css") == 0))
		return web_route_form_js(c, p + 8);
	/* The portasignatures' JSON API (portafirmas.c). */
	if (strcmp(p, "/api/v1/signatures") == 0 || strncmp(p, "/api/v1/signatures/", 19) == 0)
		return web_route_api_signatures(c, p + 18);
	if (strcmp(p, "/api/v1/counter/expedients") == 0) /* assisted filing (counter_api.c) */
		return web_route_api_counter(c);
	if (strncmp(p, "/api/", 5) == 0)
		return web_route_api(c, p + 4);
	if (get && strcmp(p, "/healthz") == 0)
		return route_health(c);
	if (get && (n = segments(c, p, "/static/", seg, 1)) == 1)
		return route_static(c, seg[0]);
	web_session_load(c);
	if (get && strcmp(p, "/") == 0)
		return web_route_home(c);
	if ((get || post) && strcmp(p, "/login") == 0)
		return web_route_login(c);
	if (post && strcmp(p, "/logout") == 0)
		return web_route_logout(c);
	if ((get || post) && strcmp(p, "/login/certificate") == 0)
		return web_route_login_certificate(c);
	if ((get || post) && strcmp(p, "/carpeta/representacio") == 0)
		return web_route_acting(c);
	if (get && strcmp(p, "/lang") == 0)
		return web_route_lang(c);
	if ((n = segments(c, p, "/tramits/", seg, 2)) >= 1) {
		if (n == 1 && get)
			return web_route_tramit(c, seg[0]);
		if (n == 2 && strcmp(seg[1], "new") == 0 && (get || post))
			return web_route_form(c, seg[0]);
	}
	if (post && (n = segments(c, p, "/tramits/", seg, 2)) == 2 && strcmp(seg[1], "draft") == 0)
		return web_route_draft(c, seg[0]);
	if (get && strcmp(p, "/carpeta") == 0)
		return web_route_carpeta(c);
	if (get && (n = segments(c, p, "/carpeta/expedients/", seg, 1)) == 1)
		return web_route_carpeta_expedient(c, seg[0]);
	if (post && (n = segments(c, p, "/carpeta/expedients/", seg, 2)) == 2 && strcmp(seg[1], "messages") == 0)
		return web_route_message_post(c, seg[0], "citizen");
	/* An applicant's action on their expedient: a correction's form (correction.c). */
	if ((get || post) && (n = segments(c, p, "/carpeta/expedients/", seg, 3)) == 3 && strcmp(seg[1], "actions") == 0)
		return web_route_correction(c, seg[0], seg[2]);
	if ((n = segments(c, p, "/carpeta/notificacions/", seg, 2)) == 1 && get)
		return web_route_notification(c, seg[0]);
	if (n == 2 && post && strcmp(seg[1], "open") == 0)
		return web_route_notification_open(c, seg[0]);
	if ((get || post) && strcmp(p, "/carpeta/avisos") == 0)
		return web_route_notice_prefs(c);
	if (get && (n = segments(c, p, "/attachments/", seg, 1)) == 1)
		return web_route_attachment(c, seg[0]);
	if (get && strcmp(p, "/backoffice") == 0)
		return web_route_backoffice(c);
	if ((n = segments(c, p, "/backoffice/expedients/", seg, 3)) >= 1) {
		if (n == 1 && get)
			return web_route_backoffice_expedient(c, seg[0]);
		if (n == 3 && post && strcmp(seg[1], "actions") == 0)
			return web_route_backoffice_action(c, seg[0], seg[2]);
		if (n == 2 && post && strcmp(seg[1], "assign") == 0)
			return web_route_backoffice_assign(c, seg[0]);
		if (n == 2 && post && strcmp(seg[1], "messages") == 0)
			return web_route_message_post(c, seg[0], "employee");
	}
	/* The portasignatures (portafirmas.c): the inbox, requests, acts and delegations. */
	if (strcmp(p, "/backoffice/signatures") == 0 || strncmp(p, "/backoffice/signatures/", 23) == 0)
		return web_route_signatures(c, p + 22);
	if (get && strcmp(p, "/backoffice/registry") == 0)
		return web_route_registry(c);
	if (post && (n = segments(c, p, "/backoffice/registry/exchanges/", seg, 1)) == 1)
		return web_route_registry_decide(c, seg[0]);
	/* Assisted filing at the counter (counter.c, counter_api.c). */
	if ((get || post) && strcmp(p, "/backoffice/counter") == 0)
		return web_route_counter(c);
	if (get && (n = segments(c, p, "/backoffice/counter/receipts/", seg, 1)) == 1)
		return web_route_counter_receipt(c, seg[0]);
	if (get && (n = segments(c, p, "/backoffice/counter/consents/", seg, 2)) == 2 && strcmp(seg[1], "scan") == 0)
		return web_route_counter_scan(c, seg[0]);
	if (get && strcmp(p, "/pagaments") == 0)
		return web_route_paymgr(c);
	if (post && strcmp(p, "/pagaments") == 0)
		return web_route_paymgr_find(c);
	if (post && strcmp(p, "/pagaments/targeta") == 0)
		return web_route_paymgr_card(c);
	if (post && strcmp(p, "/pagaments/document") == 0)
		return web_route_paymgr_document(c);
	if (get && strcmp(p, "/cerca") == 0)
		return web_route_search(c);
	/* Issued documents (documents.c): the applicant's copy and the staff's. */
	if (get && (n = segments(c, p, "/carpeta/expedients/", seg, 3)) == 3 && strcmp(seg[1], "documents") == 0)
		return web_route_issued_document(c, "citizen", seg[0], seg[2]);
	if (get && (n = segments(c, p, "/backoffice/expedients/", seg, 3)) == 3 && strcmp(seg[1], "documents") == 0)
		return web_route_issued_document(c, "employee", seg[0], seg[2]);
	if (get && strcmp(p, "/verify") == 0)
		return web_route_verify(c);
	if (get && (n = segments(c, p, "/verify/", seg, 2)) == 2 && strcmp(seg[1], "document") == 0)
		return web_route_verify_document(c, seg[0]);
	web_error_page(c, 404, "err.notfound.title", "err.notfound");
}

static double monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_request(struct evhttp_request *req, void *payload)
{
	struct web_loop *loop = payload;
	struct web_ctx *c = calloc(1, sizeof(*c));
	if (!c) {
		evhttp_send_error(req, 503, "Service Unavailable");
		return;
	}
	*c = (struct web_ctx){.srv = loop->srv, .store = loop->store, .base = loop->base, .req = req,
	                      .out = evbuffer_new(), .started_ms = monotonic_ms()};
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = evhttp_uri_get_path(uri);
	size_t decoded_len = 0;
	char *path = evhttp_uridecode(raw ? raw : "/", 0, &decoded_len);
	bool bad_path = !path || strlen(path) != decoded_len; /* an encoded NUL */
	c->path = eng_arena_strdup(&c->arena, path ? path : "/");
	free(path);
	c->query = evhttp_uri_get_query(uri);
	char *host = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
	c->client = host ? host : "";
	negotiate_lang(c);
	if (bad_path)
		web_error_page(c, 400, "err.badrequest.title", "err.badrequest");
	else
		dispatch(c);
	if (!c->deferred)
		web_request_end(c);
}

void web_request_end(struct web_ctx *c)
{
	/* One access-log line per request. CSVs grant access to documents, so the one path that
	 * carries a CSV is logged without it; query strings are never logged. */
	static const char *const methods[] = {"GET", "POST", "HEAD"};
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	const char *method = m == EVHTTP_REQ_GET ? methods[0] : m == EVHTTP_REQ_POST ? methods[1]
	                     : m == EVHTTP_REQ_HEAD ? methods[2] : "OTHER";
	char *logged = eng_arena_strdup(&c->arena, strncmp(c->path, "/verify/", 8) == 0
	                                           ? "/verify/(csv)/document" : c->path);
	for (unsigned char *q = (unsigned char *)logged; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			*q = '?'; /* a decoded %0A must not forge a log line */
	fprintf(stderr, "tramit: %s %.200s %d %.1fms\n", method, logged, c->status,
	        monotonic_ms() - c->started_ms);
	evbuffer_free(c->out);
	eng_arena_free(&c->arena);
	free(c);
}

static void on_signal(evutil_socket_t sig, short events, void *payload)
{
	struct web_server *s = payload;
	fprintf(stderr, "tramit: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	for (int i = 0; i < s->n_loops; i++)
		event_base_loopexit(s->loops[i].base, NULL);
}

/* Blocking libpq calls keep a loop busy while PostgreSQL commits, so a server runs more loops
 * than cores: the waiting is what they overlap. */
static int default_loops(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long n = (cores > 0 ? cores : 1) * 4;
	return n > 32 ? 32 : (int)n;
}

static int loop_init(struct web_loop *l, struct web_server *s, evutil_socket_t fd,
                     struct eng_error *err)
{
	l->srv = s;
	int rc = eng_store_open(&l->store, s->cfg.conninfo, err);
	if (rc)
		return rc;
	eng_store_set_calendar(l->store, s->cfg.calendar);
	l->base = event_base_new();
	l->http = evhttp_new(l->base);
	if (!l->base || !l->http)
		return eng_error_set(err, ENG_EINTERNAL, "cannot create an event loop");
	evhttp_set_max_body_size(l->http, WEB_UPLOAD_MAX_BODY); /* form uploads; every handler caps its own body */
	evhttp_set_max_headers_size(l->http, 16384);
	evhttp_set_timeout(l->http, 30);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	/* The drafts API (drafts.c) also takes PUT and DELETE; every other route answers them 404/405. */
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(l->http, on_request, l);
	web_tls_attach(s->tls, l->http); /* every connection speaks TLS when it is configured */
	if (fd >= 0) {
		/* Each loop's listener closes its own descriptor when freed. */
		evutil_socket_t own = dup(fd);
		if (own < 0 || evhttp_accept_socket(l->http, own) != 0)
			return eng_error_set(err, ENG_EINTERNAL, "cannot share the listening socket");
	}
	return 0;
}

int web_server_new(struct web_server **out, const struct web_config *cfg,
                   const struct cat_catalog *catalog, struct eng_error *err)
{
	*out = NULL;
	evthread_use_pthreads();
	struct web_server *s = calloc(1, sizeof(*s));
	int rc = 0;
	s->cfg = *cfg;
	s->catalog = catalog;
	web_reason_actions_init(s);
	if ((rc = web_upload_folder(&s->documents_dir, err)) != 0) /* uploads' bytes (docstore.h) */
		goto done;
	if ((rc = web_tls_open(&s->tls, err)) != 0) /* TRAMIT_TLS_*: a bad path stops start-up */
		goto done;
	if (!s->cfg.bind)
		s->cfg.bind = "127.0.0.1";
	s->n_loops = cfg->loops > 0 ? cfg->loops : default_loops();
	s->loops = calloc((size_t)s->n_loops, sizeof(*s->loops));
	rc = loop_init(&s->loops[0], s, -1, err);
	if (rc)
		goto done;
	rc = eng_store_entity_get(s->loops[0].store, &s->arena, cfg->entity_id, &s->entity, err);
	if (rc)
		goto done;
	struct evhttp_bound_socket *sock =
		evhttp_bind_socket_with_handle(s->loops[0].http, s->cfg.bind, (ev_uint16_t)cfg->port);
	if (!sock) {
		rc = eng_error_set(err, ENG_EUNAVAILABLE,
		                   "cannot listen on %s:%d (is another server using the port? set PORT)",
		                   s->cfg.bind, cfg->port);
		goto done;
	}
	evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
	struct sockaddr_storage ss;
	ev_socklen_t len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	/* Issued documents name this server's address and carry its seal (documents.c). */
	if ((rc = web_documents_install(&s->cfg, s->port, err)) != 0)
		goto done;
	for (int i = 1; i < s->n_loops && rc == 0; i++)
		rc = loop_init(&s->loops[i], s, fd, err);
	if (rc == 0 && !(s->tramits_json = web_tramits_json(catalog)))
		rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
	if (rc == 0 && s->cfg.group_commit)
		rc = web_committer_start(&s->committer, &s->cfg, catalog, err);
	if (rc)
		goto done;
	s->sigint = evsignal_new(s->loops[0].base, SIGINT, on_signal, s);
	s->sigterm = evsignal_new(s->loops[0].base, SIGTERM, on_signal, s);
	event_add(s->sigint, NULL);
	event_add(s->sigterm, NULL);
done:
	if (rc)
		web_server_free(s);
	else
		*out = s;
	return rc;
}

static void *loop_main(void *payload)
{
	struct web_loop *l = payload;
	event_base_dispatch(l->base);
	return NULL;
}

int web_server_run(struct web_server *s)
{
	for (int i = 1; i < s->n_loops; i++)
		s->loops[i].running = pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) == 0;
	int rc = event_base_dispatch(s->loops[0].base) < 0 ? ENG_EINTERNAL : 0;
	for (int i = 1; i < s->n_loops; i++) {
		if (s->loops[i].running) {
			event_base_loopexit(s->loops[i].base, NULL);
			pthread_join(s->loops[i].thread, NULL);
			s->loops[i].running = false;
		}
	}
	return rc;
}

int web_server_port(const struct web_server *s)
{
	return s->port;
}

void web_server_free(struct web_server *s)
{
	if (!s)
		return;
	if (s->sigint)
		event_free(s->sigint);
	if (s->sigterm)
		event_free(s->sigterm);
	web_committer_stop(s->committer);
	web_documents_stop(); /* issue 6: the time-stamp thread (documents.c) */
	for (int i = 0; i < s->n_loops; i++) {
		struct web_loop *l = &s->loops[i];
		if (l->http)
			evhttp_free(l->http);
		if (l->base)
			event_base_free(l->base);
		eng_store_close(l->store);
	}
	free(s->loops);
	web_tls_free(s->tls);
	free(s->tramits_json);
	eng_arena_free(&s->arena);
	free(s);
}
