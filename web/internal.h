/* Internals shared by the web layer's files: the request context, HTML building, i18n,
 * sessions and routing helpers. Not used outside web/. */
#ifndef WEB_INTERNAL_H
#define WEB_INTERNAL_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <pthread.h>

#include "web.h"
#include "engine/runtime/docstore.h"

/* One event loop on its own thread, with its own database connection. All loops accept
 * from the same listening socket; the kernel hands each connection to one of them. */
struct web_loop {
	struct web_server *srv;
	struct event_base *base;
	struct evhttp *http;
	struct eng_store *store;
	pthread_t thread;
	bool running;
};

struct web_server {
	struct web_config cfg;
	const struct cat_catalog *catalog;
	struct web_loop *loops;
	int n_loops;
	struct event *sigint, *sigterm; /* on loop 0 */
	struct web_committer *committer; /* group commit of actions; NULL: each loop commits alone */
	char *tramits_json;              /* GET /api/v1/tramits, built once (web_tramits_json) */
	struct eng_entity_view entity;  /* read-only once started */
	struct eng_arena arena;         /* long-lived: entity names */
	int port;
	const char *documents_dir; /* TRAMIT_DOCUMENTS_DIR: uploads' bytes in a folder; NULL: in PostgreSQL */
	struct web_tls *tls;       /* TLS (tls.c); NULL: plain HTTP */
	/* The names of the catalogue's actions that may need a reason (web_action_needs_reason),
	 * found once at start so a request does not walk the catalogue (correction.c). */
	const char **reason_actions;
	size_t n_reason_actions;
};

/* One request. Everything allocated for it lives in arena and dies with it. */
struct web_ctx {
	struct web_server *srv;
	struct eng_store *store; /* the loop's connection */
	struct event_base *base; /* the loop's */
	struct evhttp_request *req;
	double started_ms;       /* for the access log */
	bool deferred;           /* answered later (group commit): web_request_end then */
	struct eng_arena arena;
	enum eng_lang lang;
	const char *path;       /* decoded path, without query */
	const char *query;      /* raw query string or NULL */
	const char *client;     /* peer address */
	bool signed_in;
	bool via_proxy;         /* signed in by the trusted reverse proxy's header on this request */
	struct eng_session session;
	const char *display_name;
	struct eng_employee_view employee; /* when the principal is an employee */
	struct evbuffer *out;   /* response body */
	int status;             /* set by web_send, for the access log */
	struct web_upload_post *upload; /* this request's checked and staged files, or NULL */
	/* Representation (session.c, mandates.c): the party a signed-in citizen acts for now, with
	 * their name and what covers it today ("*" every tràmit, or codes joined by ","); NULL when
	 * acting for themselves. session_loaded makes web_session_load idempotent. */
	const char *acting_for, *acting_name, *acting_scope;
	const char *cert_company; /* the company the sign-in certificate represents, or NULL */
	const char *signin_method; /* "certificate", "password", "demo", "proxy"; NULL: unknown */
	const char *session_token; /* the live session's token, once signed in */
	bool session_loaded;
	/* The events of expedient events_of, read once per request by web_events. */
	const char *events_of;
	struct eng_event_view *events;
	size_t n_events;
};

/* i18n */
const char *web_t(const struct web_ctx *c, const char *key);
const char *web_lang_code(enum eng_lang lang);

/* Output. web_printf appends raw text; web_html appends escaped text. */
void web_printf(struct web_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void web_html(struct web_ctx *c, const char *text);
void web_attr(struct web_ctx *c, const char *text); /* escaped for an attribute value */
char *web_url_encode(struct web_ctx *c, const char *s);
void web_send(struct web_ctx *c, int status, const char *content_type);
void web_redirect(struct web_ctx *c, const char *location);
void web_page_begin(struct web_ctx *c, const char *title);
void web_page_end(struct web_ctx *c);
/* A whole error page with status and a message key. */
void web_error_page(struct web_ctx *c, int status, const char *title_key, const char *text_key);

/* Request helpers. */
/* Parses an application/x-www-form-urlencoded body or query into values (arena). Returns -1
 * on malformed input (bad percent escape, invalid UTF-8, too large). */
int web_parse_form(struct web_ctx *c, const char *text, size_t len, struct eng_value **out,
                   size_t *n);
/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), 0 if invalid (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
size_t web_utf8_len(const unsigned char *s, size_t n);
bool web_utf8_valid(const char *s, size_t n);
/* Reads the body of a POST into the arena; returns NULL if larger than max. */
char *web_body(struct web_ctx *c, size_t max, size_t *len);
const char *web_query_get(struct web_ctx *c, const char *name);
const char *web_header(struct web_ctx *c, const char *name);
const char *web_cookie(struct web_ctx *c, const char *name);

/* Sessions (session.c). */
void web_session_load(struct web_ctx *c);
bool web_csrf_ok(struct web_ctx *c, const char *token);
/* Reads a form POST of at most max bytes, checks its CSRF token and drops it from the values.
 * On any problem it answers with an error page (413, 400, 403) and returns false. */
/* Answers 400 naming the first value of v whose name is not in fields (NULL-terminated) and
 * returns false; true when every name is one of them. */
bool web_only_fields(struct web_ctx *c, const struct eng_value *v, size_t n,
                     const char *const *fields);
/* web_post_form, then web_only_fields (fields without csrf). */
bool web_post_fields(struct web_ctx *c, size_t max, const char *const *fields, struct eng_value **v,
                     size_t *n);
bool web_post_form(struct web_ctx *c, size_t max, struct eng_value **v, size_t *n);
/* Redirects to the sign-in page unless the principal has this kind; returns true if so. */
bool web_require(struct web_ctx *c, const char *kind);
/* Object-level authorisation for expedients, in one place: loads expedient id of this entity
 * into x if the signed-in principal may see it (a citizen only their own, or their represented
 * party's; an employee those of the tràmits their units and roles reach, below). ENG_ENOTFOUND
 * otherwise, so existence never leaks; ENG_EUNAVAILABLE when the database fails. */
int web_expedient_visible(struct web_ctx *c, const char *id, struct eng_expedient_view *x);
/* The same rule for commands (eng_command.applicant_only): the citizen's NIF, so they can act
 * only on their own expedients; NULL for employees. */
const char *web_applicant_only(struct web_ctx *c);
/* Issue 5 (web/session.c): for an employee, web_expedient_visible wants the expedient's
 * tràmit among those their units and roles reach (engine/runtime/visibility.h).
 * web_employee_sees says whether the signed-in employee sees tràmit_code's expedients;
 * web_employee_tramits lists every such code (NULL for anyone but an employee).
 * web_expedient_refusal turns an action's refusal (ENG_EDENIED, ENG_ECONFLICT) on an
 * expedient the employee may not see into ENG_ENOTFOUND, so refusals do not tell it exists;
 * any other rc is returned as it is, and nothing is read then. */
bool web_employee_sees(struct web_ctx *c, const char *tramit_code);
const char **web_employee_tramits(struct web_ctx *c, size_t *n);
int web_expedient_refusal(struct web_ctx *c, const char *id, int rc);
/* The same scope for the portasignatures: rc (from eng_signature_get of request id into r) or,
 * when r is NULL, the request read now; ENG_ENOTFOUND when the employee neither sees the
 * request's tràmit nor holds or held a place in its circuit. */
struct eng_sig_request;
int web_signature_scope(struct web_ctx *c, const char *id, const struct eng_sig_request *r, int rc);
void web_route_login(struct web_ctx *c);
void web_route_logout(struct web_ctx *c);
void web_route_lang(struct web_ctx *c);

/* Group commit (commit.c): a transition handed to the committer thread; `answer` runs on the
 * request's loop once it committed (or failed), with out, view, rc and err filled. */
struct web_job {
	struct eng_command cmd;          /* its strings live in the request's arena */
	void (*answer)(struct web_ctx *c, struct web_job *job);
	struct eng_outcome out;
	struct eng_expedient_view view;
	int rc;
	struct eng_error err;
	struct web_ctx *c;
	struct batch *batch;
	struct web_job *next;
};
struct web_committer;
int web_committer_start(struct web_committer **out, const struct web_config *cfg,
                        const struct cat_catalog *catalog, struct eng_error *err);
void web_committer_stop(struct web_committer *k);
/* Queues the job (allocated in the request's arena); the request is answered later. */
void web_commit(struct web_ctx *c, struct web_job *job);
/* Logs the request and frees it; after its reply was sent. */
void web_request_end(struct web_ctx *c);

/* Pages. */
void web_route_home(struct web_ctx *c);
void web_route_tramit(struct web_ctx *c, const char *code);
void web_route_form(struct web_ctx *c, const char *code);
void web_route_carpeta(struct web_ctx *c);
void web_route_carpeta_expedient(struct web_ctx *c, const char *id);
void web_route_backoffice(struct web_ctx *c);
void web_route_backoffice_expedient(struct web_ctx *c, const char *id);
void web_route_backoffice_action(struct web_ctx *c, const char *id, const char *action);
/* Binding notifications in the Carpeta (carpeta.c): GET /carpeta/notificacions/ID shows one
 * to its recipient, POST /carpeta/notificacions/ID/open records the access, and GET or POST
 * /carpeta/avisos reads or sets where notices go (e-mail or SMS). */
void web_route_notification(struct web_ctx *c, const char *id);
void web_route_notification_open(struct web_ctx *c, const char *id);
void web_route_notice_prefs(struct web_ctx *c);
/* Seals a notification's evidence record with cfg's seal: detached XAdES (ENI TF02) over the
 * JSON bytes, time-stamped by cfg->tsa_url when set. *out is the XML (malloc'd, free()).
 * Returns 0, or -1 with err saying why. */
int web_evidence_seal(char **out, const struct web_config *cfg, const char *evidence, char err[256]);
/* The registry book and SIR inbox (registry.c): GET /backoffice/registry, and the decision on
 * an incoming exchange, POST /backoffice/registry/exchanges/IDENTIFIER. */
void web_route_registry(struct web_ctx *c);
void web_route_registry_decide(struct web_ctx *c, const char *identifier);
/* Catalogue search (search.c): the tràmits matching query, best first (arena); -1 when the
 * query is longer than 200 bytes. */
int web_search(struct web_ctx *c, const char *query, const struct eng_definition ***out, size_t *n);
void web_route_search(struct web_ctx *c);
void web_route_verify(struct web_ctx *c);
void web_route_verify_document(struct web_ctx *c, const char *csv);
/* Looks up a typed CSV for the page and the API: 0, ENG_ENOTFOUND (unknown, malformed or
 * withdrawn alike), WEB_ELIMITED when this client used its lookups of the last minute, or
 * another ENG_E* code. Every lookup is logged. */
enum { WEB_ELIMITED = -100 };
int web_verify_lookup(struct web_ctx *c, const char *typed, struct eng_document_view *doc);
void web_route_api(struct web_ctx *c, const char *rest);
/* The API's answers (api.c): j as JSON (taken; NULL or unencodable answers 500 in the error
 * shape), and an error {"code", "error": detail, "message": {"ca", "es"}} with the bilingual
 * message of code (bad_request, invalid_json, forbidden, csrf, not_found, ...). */
void web_api_send(struct web_ctx *c, int status, json_t *j);
void web_api_error(struct web_ctx *c, int status, const char *code, const char *detail);
/* The catalogue's list as the API serves it (malloc'd, NULL when out of memory). */
char *web_tramits_json(const struct cat_catalog *cat);
/* POST /api/v1/payments/redsys/notification: the card gateway's signed notification. */
void web_route_redsys_notification(struct web_ctx *c);
/* The payment manager (paymgr.c): GET /pagaments, the form; POST /pagaments, a receipt by
 * reference and NIF; POST /pagaments/targeta, a new card order and the gateway's signed form;
 * POST /pagaments/document, the Cuaderno 60 payment document as PDF. */
void web_route_paymgr(struct web_ctx *c);
void web_route_paymgr_find(struct web_ctx *c);
void web_route_paymgr_card(struct web_ctx *c);
void web_route_paymgr_document(struct web_ctx *c);

/* The portasignatures (portafirmas.c): everything under /backoffice/signatures; rest is the
 * path after it ("" or "/..."). */
void web_route_signatures(struct web_ctx *c, const char *rest);
/* The same as JSON: GET /api/v1/signatures (inbox), GET /api/v1/signatures/{id}, POST
 * /api/v1/signatures/{id}/{sign|approve|reject}; rest is the path after /api/v1/signatures. */
void web_route_api_signatures(struct web_ctx *c, const char *rest);

/* Messages on an expedient (messages.c): the section of the Carpeta's and the back office's
 * expedient page, and POST /carpeta|backoffice/expedients/ID/messages (kind "citizen" or
 * "employee"). */
void web_messages_section(struct web_ctx *c, const char *expedient_id, bool staff);
void web_route_message_post(struct web_ctx *c, const char *expedient_id, const char *kind);
/* A message's text as stored: line ends as LF, surrounding white space trimmed, in place.
 * Returns its length in characters (the limit, ENG_MESSAGE_MAX, counts characters). */
size_t web_message_clean(char *s);

/* The time limits running on an expedient and how they were counted (deadlines.c): nothing
 * when none runs. */
void web_deadlines_section(struct web_ctx *c, const struct eng_definition *d,
                           const struct eng_expedient_view *x);

/* Shared rendering (render.c). */
const char *web_state_label(struct web_ctx *c, const struct eng_definition *def, const char *state);
/* The events of expedient id, oldest first: read from the store the first time a request asks,
 * then the same array (the page's history, its corrections and what the applicant must do all
 * read them). 0, or the store's error code. */
int web_events(struct web_ctx *c, const char *id, struct eng_event_view **ev, size_t *n);
void web_render_data(struct web_ctx *c, const struct eng_definition *def,
                     const struct eng_value *data, size_t n);
const char *web_date(struct web_ctx *c, const char *iso); /* "27 de novembre de 2026, 15:31" */
/* The inbox's assignment (inbox.c): POST /backoffice/expedients/{id}/assign, and the line
 * on the expedient's back-office page that shows and changes who handles it. */
void web_route_backoffice_assign(struct web_ctx *c, const char *id);
void web_render_assignment(struct web_ctx *c, const char *id);
const char *web_day(struct web_ctx *c, const char *ymd); /* "3 d'abril de 2026" */

/* Starts an expedient with the initial action. key (may be NULL) makes a repeat of the same
 * submission return the first outcome instead of a second expedient. view (may be NULL)
 * receives the new expedient as pages show it. */
int web_submit(struct web_ctx *c, const struct eng_definition *d, struct eng_value *form,
               size_t n_form, const char *key, struct eng_outcome *out,
               struct eng_expedient_view *view, struct eng_error *err);

/* The actor for engine commands from the signed-in principal. */
struct eng_actor web_actor(struct web_ctx *c);
int64_t web_now_ms(void);
/* bytes random bytes (at most 64) as lower-case hex, in the arena; NULL when the generator
 * fails. For tokens and keys. */
char *web_random_hex(struct web_ctx *c, size_t bytes);
/* A size as people read it, with a decimal comma: "64 KiB", "10 MiB", "1,5 MiB" (upload.c). */
const char *web_size_text(struct web_ctx *c, long long n);

/* Uploads (multipart.c, upload.c, attachments.c). A post with files is at most
 * WEB_UPLOAD_MAX_BODY bytes (the server's body limit), each file at most WEB_UPLOAD_MAX_FILE
 * or its field's max_size, whichever is smaller. */
enum { WEB_UPLOAD_MAX_BODY = 12 << 20, WEB_UPLOAD_MAX_FILE = 10 << 20 };
/* One part of a multipart/form-data body; data points into the body. */
struct web_part {
	const char *name;         /* the field */
	const char *filename;     /* as sent (NULL: a plain value); clean it with web_filename_clean */
	const char *content_type; /* as declared, or NULL */
	const char *data;
	size_t len;
};
/* Parses a multipart/form-data body of Content-Type ctype into at most max_parts parts (arena).
 * Returns 0, or -1 with *why an i18n key naming the problem ("mp.boundary", "mp.structure",
 * "mp.parts", "mp.headers", "mp.disposition"). */
int web_multipart_parse(struct web_ctx *c, const char *ctype, const char *body, size_t len,
                        size_t max_parts, struct web_part **out, size_t *n, const char **why);
/* A file name safe to store and to send back: the last path component, valid UTF-8, no
 * control characters, "|" or quotes, no leading dots, at most 255 bytes (arena). */
char *web_filename_clean(struct web_ctx *c, const char *raw);
/* A form post with files, read, checked and scanned (upload.c). */
struct web_upload_post {
	struct eng_value *values; /* the plain fields, without csrf and submission */
	size_t n_values;
	const char *key;          /* the submission key (drawn here when the form sent none) */
	struct eng_doc_upload *files;
	size_t n_files;
	struct eng_step_result *refused; /* per-field messages; n_errors 0 when every file passed */
};
/* Reads the multipart post of form d: CSRF, limits, each file's size and type against its
 * field and the antivirus verdict. On a malformed or forbidden post it answers (400, 403,
 * 413) and returns false; refused files are not an answer but out->refused. */
bool web_upload_read(struct web_ctx *c, const struct eng_definition *d, struct web_upload_post *out);
/* Stores the accepted files (pending until the submission under post->key commits) and adds
 * each file field's value ("name|bytes|sha256" lines) to post->values. */
int web_upload_stage(struct web_ctx *c, struct web_upload_post *post, struct eng_error *err);
/* Reads TRAMIT_DOCUMENTS_DIR into *out (NULL when unset or empty) and checks it is a folder
 * this process can write; 0, or ENG_EUNAVAILABLE with err naming the folder. */
int web_upload_folder(const char **out, struct eng_error *err);
/* A file field's limit in bytes, and its accepted formats as people name them ("PDF, ZIP"). */
long long web_upload_limit(const struct eng_field *f);
const char *web_upload_formats(struct web_ctx *c, const struct eng_field *f);
/* The attachments of an expedient, for the carpeta and the back office. */
void web_render_attachments(struct web_ctx *c, const struct eng_expedient_view *x);
/* GET /attachments/{id}: the file, to the applicant of its expedient and to employees. */
void web_route_attachment(struct web_ctx *c, const char *id);


/* TLS (tls.c). Reads TRAMIT_TLS_CERT, TRAMIT_TLS_KEY, TRAMIT_TLS_CLIENT_CA and TRAMIT_TLS_CRL;
 * *out stays NULL when TLS is off. ENG_EINVALID with err naming the variable and the file
 * that cannot be used. */
struct web_tls;
int web_tls_open(struct web_tls **out, struct eng_error *err);
void web_tls_free(struct web_tls *t);
void web_tls_attach(struct web_tls *t, struct evhttp *http); /* no-op for NULL */
bool web_tls_on(const struct web_ctx *c);
bool web_tls_client_ca(const struct web_ctx *c); /* client certificates are asked for */
enum web_cert_verdict {
	WEB_CERT_OK, WEB_CERT_NONE, WEB_CERT_EXPIRED, WEB_CERT_NOT_YET_VALID, WEB_CERT_REVOKED,
	WEB_CERT_UNKNOWN_CA, WEB_CERT_INVALID,
};
/* The client certificate of the request's connection: its subject's entries (arena, NULL
 * when absent) and OpenSSL's verdict against the client CA. */
struct web_peer_cert {
	const char *serial_number, *org_identifier, *organization, *given_name, *surname, *common_name;
};
int web_tls_peer(struct web_ctx *c, struct web_peer_cert *out);
/* "; Secure" under TLS, else "": appended to every cookie the server sets. */
const char *web_cookie_secure(const struct web_ctx *c);
/* GET and POST /login/certificate (session.c). */
void web_route_login_certificate(struct web_ctx *c);
/* Representation (mandates.c): GET and POST /carpeta/representacio, the "acting as" switch;
 * web_party is whose folder the citizen sees (the party acted for, or themselves);
 * web_mandate_covers says whether the party acted for may be acted for on tràmit code today
 * (always true when acting for oneself); web_mandate_guard answers a refusal (403 with a
 * message in ca and es) and returns false when the request files or acts on a tràmit the
 * session's representation does not cover; web_render_acting prints the "acting for X" line
 * of the page header. */
void web_route_acting(struct web_ctx *c);
const char *web_party(const struct web_ctx *c);
bool web_mandate_covers(const struct web_ctx *c, const char *code);
bool web_mandate_guard(struct web_ctx *c);
void web_render_acting(struct web_ctx *c);

/* Dynamic forms (form.c renders, form_eval.c evaluates, drafts.c saves and resumes). What a
 * form shows is decided by a dry run of the engine's own step over the answers as they stand
 * (visibility, requirement, errors, fees): one source of truth with the submission. */
struct eng_staged_file;
struct web_fee_line {
	const struct eng_fee *fee;
	bool known;              /* computed from the answers so far */
	long long cents;
	const char *tariff_from; /* YYYY-MM-DD of the tariff version applied, or NULL */
};
struct web_form_error {
	const char *id;          /* the input it belongs to ("f-name", "f-group-2-name"), or NULL */
	const char *ca, *es;
};
struct web_form {
	const struct eng_definition *def;
	struct eng_value *values; /* the answers as posted (trimmed, multichoice joined) */
	size_t n_values;
	const char *key;          /* the submission key the form carries */
	bool *hidden;             /* per field: not shown given the answers */
	bool *required;           /* per field: required given the answers */
	int *count;               /* per group: instances shown */
	bool valid;               /* the engine takes the answers as they stand */
	struct web_form_error *errors; /* shown beside their inputs and in the summary */
	size_t n_errors;
	struct web_fee_line *fees;
	size_t n_fees;
	struct eng_staged_file *kept; /* files already staged under key */
	size_t n_kept;
	const char *notice;       /* i18n key of a status line ("draft.saved"), or NULL */
	const char *draft_at;     /* a saved draft was resumed: when it was saved */
	/* Correcting an expedient (correction.c): the applicant's form action taken on it, the
	 * state and version it is in, and where the form posts; act NULL: a new application. */
	const char *act, *act_state, *post_to;
	int64_t act_version;
};
/* The applicant's form action of d's initial state, or NULL. */
const char *web_form_action(const struct eng_definition *d);
/* Trims every value and joins a multichoice's ticked options with commas, in place. */
void web_form_normalise(struct web_ctx *c, const struct eng_definition *d, struct eng_value *v,
                        size_t *n);
/* Fills f's visibility, requirement, group counts, fees and validity from a dry run of the
 * step; with errors (may be NULL: none shown) the messages are placed beside each input,
 * the instance of a group included. */
void web_form_eval(struct web_ctx *c, struct web_form *f, const struct eng_step_result *errors);
/* The dry run's refusal for f's answers (a step result in the arena). */
const struct eng_step_result *web_form_check(struct web_ctx *c, struct web_form *f);
/* Loads the files staged under f->key into f->kept and names them in the values of file
 * fields that carry none. 0, or a negative code with err. */
int web_form_keep_files(struct web_ctx *c, struct web_form *f, struct eng_error *err);
/* Applies a group button ("add:GROUP", "remove:GROUP.N"); false after answering 400. */
bool web_form_group_action(struct web_ctx *c, struct web_form *f, const char *action);
void web_form_render(struct web_ctx *c, struct web_form *f, int status);
void web_form_review(struct web_ctx *c, struct web_form *f);
/* Drafts: POST /tramits/CODE/draft (save, autosave or delete), the Carpeta's list, the
 * resumed draft of the form page, and GET/PUT/DELETE /api/v1/drafts/CODE. */
void web_route_draft(struct web_ctx *c, const char *code);
void web_render_drafts(struct web_ctx *c);
bool web_draft_resume(struct web_ctx *c, struct web_form *f);
int web_draft_save(struct web_ctx *c, const struct web_form *f, struct eng_error *err);
void web_draft_forget(struct web_ctx *c, const char *code);
void web_route_api_drafts(struct web_ctx *c, const char *code);
/* Corrections (correction.c): an applicant's action on their expedient (art. 68 LPAC).
 * GET and POST /carpeta/expedients/ID/actions/ACTION: the tràmit's form pre-filled with the
 * expedient's answers and files for a form action, or the action alone; the section of the
 * Carpeta's expedient page saying what the applicant must do and offering those actions;
 * the corrections filed since the first receipt. web_action_needs_reason says whether an
 * action by staff sends the applicant to a state where they must act (it then needs a text
 * saying what, of at most WEB_REASON_MAX characters, cleaned by web_message_clean). */
enum { WEB_REASON_MAX = 4000 };
void web_route_correction(struct web_ctx *c, const char *id, const char *action);
void web_correction_section(struct web_ctx *c, const struct eng_definition *d,
                            const struct eng_expedient_view *x);
void web_corrections_filed(struct web_ctx *c, const struct eng_expedient_view *x);
bool web_action_needs_reason(const struct eng_definition *d, const struct eng_action *a);
bool web_action_may_need_reason(struct web_ctx *c, const char *action);
void web_reason_actions_init(struct web_server *s);
/* The values of x's data as its tràmit's form takes them back (money in euros, computed
 * fields left out), for a correction's form and the API. */
struct eng_value *web_correction_values(struct web_ctx *c, const struct eng_definition *d,
                                        const struct eng_expedient_view *x, size_t *n);
/* Whether every file a correction's values name was uploaded by this request, staged under
 * key by this person, or is already the expedient's in the same field; false fills out's
 * step errors (ENG_EINVALID) as a submission's refusal. */
bool web_correction_files_ok(struct web_ctx *c, const struct eng_definition *d,
                             const struct eng_expedient_view *x, const char *key,
                             const struct eng_value *v, size_t n, struct eng_outcome *out);
/* A fresh CSV for a receipt (arena), or NULL when there are no random numbers. */
const char *web_correction_csv(struct web_ctx *c);
/* GET /static/form.js and /static/forms.css. */
void web_route_form_js(struct web_ctx *c, const char *name);
/* Issue 5: a tràmit's form inside another page's <form> (form.c): its error summary (nothing
 * without errors), and its sections, fields and fees as web_form_render draws them. */
void web_form_render_summary(struct web_ctx *c, const struct web_form *form);
void web_form_render_fields(struct web_ctx *c, const struct web_form *form);
/* Assisted filing at the counter (counter.c, art. 12 LPAC), for employees holding the role
 * WEB_COUNTER_ROLE (others get 404): GET and POST /backoffice/counter (identify the person and
 * the tràmit, then its form and the consent, then file), GET /backoffice/counter/receipts/ID
 * (the printable receipt), GET /backoffice/counter/consents/ID/scan (the signed form's scan),
 * POST /api/v1/counter/expedients; and the line of an expedient's page saying it was filed
 * at the counter, by whom and for whom (nothing for other expedients). */
#define WEB_COUNTER_ROLE "habilitat"
void web_route_counter(struct web_ctx *c);
void web_route_counter_receipt(struct web_ctx *c, const char *expedient_id);
void web_route_counter_scan(struct web_ctx *c, const char *expedient_id);
void web_route_api_counter(struct web_ctx *c);
void web_counter_filing_note(struct web_ctx *c, const char *expedient_id);
bool web_counter_allowed(const struct web_ctx *c); /* holds WEB_COUNTER_ROLE */

/* documents.c (issue 6): issued documents. Installs this process's document issuer into the
 * engine (ENG_EINVALID when the seal cannot be loaded); lists an expedient's issued documents
 * with links under base ("/carpeta/expedients" or "/backoffice/expedients"); serves one to a
 * signed-in principal of kind ("citizen" or "employee") who may see its expedient. */
int web_documents_install(const struct web_config *cfg, int port, struct eng_error *err);
void web_documents_section(struct web_ctx *c, const char *expedient_id, const char *base);
/* Stops the time-stamp thread install started (when a seal and TRAMIT_TSA_URL are set). */
void web_documents_stop(void);
void web_route_issued_document(struct web_ctx *c, const char *kind, const char *expedient_id,
                               const char *id);

#endif
