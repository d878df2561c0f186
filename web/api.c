/* The JSON API under /api/v1, mirroring the pages. Authentication is the session cookie;
 * state-changing calls also need the session's CSRF token in X-CSRF-Token. Errors are JSON
 * objects {"error": "...", ...} with the matching HTTP status. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/backoffice/backoffice.h"
#include "connectors/connector.h"
#include "internal.h"

static void send_json(struct web_ctx *c, int status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!text) {
		/* json_pack refuses invalid UTF-8 and returns NULL: never crash on a bad string. */
		status = 500;
		text = strdup("{\"error\":\"internal error\"}");
	}
	evbuffer_add(c->out, text, strlen(text));
	free(text);
	json_decref(j);
	web_send(c, status, "application/json");
}

/* Engine messages quote what the client sent (an action name from the path, say): anything
 * that is not valid UTF-8 becomes '?', so the message can always be sent as JSON. */
static const char *utf8_clean(struct web_ctx *c, const char *msg)
{
	char *out = eng_arena_strdup(&c->arena, msg ? msg : "");
	unsigned char *p = (unsigned char *)out;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		bool ok = len > 0 && !(len == 2 && *p < 0xc2);
		for (int i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (!ok || (len == 1 && *p < 0x20)) {
			*p++ = '?';
			continue;
		}
		p += len;
	}
	return out;
}

static void api_error(struct web_ctx *c, int status, const char *msg)
{
	send_json(c, status, json_pack("{s:s}", "error", utf8_clean(c, msg)));
}

static json_t *text_json(const struct eng_text *t)
{
	return json_pack("{s:s, s:s}", "ca", t->ca ? t->ca : "", "es", t->es ? t->es : "");
}

static json_t *tramit_json(const struct eng_definition *d, bool full)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "code", d->code, "version",
	                      d->version ? d->version : "", "hash", d->hash, "title", text_json(&d->title),
	                      "summary", text_json(&d->summary), "family", d->family ? d->family : "",
	                      "url", "");
	json_object_set_new(j, "url", json_sprintf("/tramits/%s", d->code));
	if (!full)
		return j;
	json_object_set_new(j, "description", text_json(&d->description));
	json_object_set_new(j, "legal_basis", json_string(d->legal_basis ? d->legal_basis : ""));
	json_object_set_new(j, "resolve_months", json_integer(d->resolve_months));
	static const char *const silence[] = {"none", "positive", "negative", "lapse"};
	json_object_set_new(j, "silence", json_string(silence[d->silence]));
	json_t *fields = json_array();
	for (size_t i = 0; i < d->n_fields; i++) {
		const struct eng_field *f = &d->fields[i];
		json_t *fj = json_pack("{s:s, s:s, s:o, s:b}", "name", f->name, "type",
		                       eng_field_type_name(f->type), "label", text_json(&f->label),
		                       "required", f->required);
		if (f->has_min)
			json_object_set_new(fj, "min", json_integer(f->min));
		if (f->has_max)
			json_object_set_new(fj, "max", json_integer(f->max));
		if (f->n_options) {
			json_t *opts = json_array();
			for (size_t k = 0; k < f->n_options; k++)
				json_array_append_new(opts, json_pack("{s:s, s:o}", "value", f->options[k].value,
				                                      "label", text_json(&f->options[k].label)));
			json_object_set_new(fj, "options", opts);
		}
		json_array_append_new(fields, fj);
	}
	json_object_set_new(j, "fields", fields);
	return j;
}

static json_t *expedient_json(struct web_ctx *c, const struct eng_expedient_view *x)
{
	const struct eng_definition *d = cat_catalog_by_hash(c->srv->catalog, x->definition_hash);
	const struct eng_state *st = d ? eng_definition_state(d, x->state) : NULL;
	json_t *data = json_object();
	for (size_t i = 0; i < x->n_data; i++)
		json_object_set_new(data, x->data[i].name, json_string(x->data[i].value));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:b, s:{s:s, s:s}, s:o, s:s, s:s}",
	        "id", x->id, "number", x->number, "tramit", x->tramit_code, "state", x->state,
	        "version", (json_int_t)x->version,
	        "state_label", st ? text_json(&st->label) : json_pack("{s:s, s:s}", "ca", x->state, "es", x->state),
	        "applicant_must_act", st ? st->applicant_must_act : false,
	        "applicant", "nif", x->applicant_nif, "name", x->applicant_name, "data", data,
	        "created_at", x->created_at, "updated_at", x->updated_at);
	if (x->registry_number)
		json_object_set_new(j, "registry", json_pack("{s:s, s:s}", "number", x->registry_number,
		                                             "presented_at", x->presented_at));
	if (x->receipt_csv)
		json_object_set_new(j, "receipt", json_pack("{s:s, s:s}", "csv", x->receipt_csv, "verify_url",
		        eng_arena_printf(&c->arena, "/verify?csv=%s", x->receipt_csv)));
	return j;
}

static void api_expedient(struct web_ctx *c, const char *id)
{
	web_session_load(c);
	if (!c->signed_in)
		return api_error(c, 401, "sign in first: this call needs a session cookie");
	struct eng_expedient_view x;
	int rc = web_expedient_visible(c, id, &x);
	if (rc == ENG_ENOTFOUND)
		return api_error(c, 404, "no such expedient");
	if (rc)
		return api_error(c, 503, "the database is unavailable; try again later");
	send_json(c, 200, expedient_json(c, &x));
}

/* POST /api/v1/tramits/{code}/expedients with {"form": {"field": "value", ...}}. */
static void api_submit(struct web_ctx *c, const struct eng_definition *d)
{
	web_session_load(c);
	if (!c->signed_in)
		return api_error(c, 401, "sign in first: this call needs a session cookie");
	if (strcmp(c->session.principal_kind, "citizen") != 0)
		return api_error(c, 403, "only citizens start expedients here");
	if (!web_csrf_ok(c, web_header(c, "X-CSRF-Token")))
		return api_error(c, 403, "missing or wrong X-CSRF-Token header");
	size_t len;
	char *body = web_body(c, 256 * 1024, &len);
	if (!body)
		return api_error(c, 413, "the body is larger than 256 KiB");
	json_error_t jerr;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return send_json(c, 400, json_pack("{s:s}", "error",
		        eng_arena_printf(&c->arena, "the body is not valid JSON: %s (line %d, column %d)",
		                         jerr.text, jerr.line, jerr.column)));
	json_t *form = json_object_get(j, "form");
	if (!json_is_object(form) || json_object_size(j) != 1) {
		json_decref(j);
		return api_error(c, 400, "expected an object {\"form\": {\"field\": \"value\", ...}} and nothing else");
	}
	size_t n = json_object_size(form), k = 0;
	struct eng_value *v = eng_arena_alloc(&c->arena, sizeof(*v) * (n + 1));
	const char *key;
	json_t *val;
	json_object_foreach(form, key, val) {
		if (!json_is_string(val)) {
			const char *msg = eng_arena_printf(&c->arena, "form value '%s' must be a string", key);
			json_decref(j);
			return api_error(c, 400, msg);
		}
		v[k].name = eng_arena_strdup(&c->arena, key);
		v[k].value = eng_arena_strdup(&c->arena, json_string_value(val));
		k++;
	}
	json_decref(j);
	struct eng_outcome out;
	struct eng_expedient_view x;
	struct eng_error err = {0};
	int rc = web_submit(c, d, v, k, web_header(c, "Idempotency-Key"), &out, &x, &err);
	if (rc == ENG_EINVALID && out.step.n_errors > 0) {
		json_t *errs = json_array();
		for (size_t i = 0; i < out.step.n_errors && i < ENG_STEP_MAX_ERRORS; i++) {
			const struct eng_field_error *e = &out.step.errors[i];
			json_array_append_new(errs, json_pack("{s:s?, s:{s:s, s:s}}", "field", e->field,
			                                      "message", "ca", e->ca, "es", e->es));
		}
		return send_json(c, 422, json_pack("{s:s, s:o}", "error", "the form has invalid values",
		                                   "errors", errs));
	}
	if (rc == ENG_EINVALID)
		return api_error(c, 400, err.msg);
	if (rc == ENG_EDENIED || rc == ENG_ECONFLICT)
		return api_error(c, 403, err.msg);
	if (rc)
		return api_error(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
		                 rc == ENG_EUNAVAILABLE ? "the database is unavailable; try again later"
		                                        : "internal error; nothing was stored");
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location",
	                  eng_arena_printf(&c->arena, "/api/v1/expedients/%s", x.id));
	send_json(c, 201, expedient_json(c, &x));
}

/* The answer to an action, once applied (on this loop, or by the committer). */
static void action_answer(struct web_ctx *c, struct web_job *job)
{
	int rc = job->rc;
	if (rc == ENG_ENOTFOUND)
		return api_error(c, 404, "no such expedient");
	if (rc == ENG_ECONFLICT) {
		struct eng_expedient_view x;
		if (web_expedient_visible(c, job->cmd.expedient_id, &x) != 0)
			return api_error(c, 503, "the database is unavailable; try again later");
		return send_json(c, 409, json_pack("{s:s, s:s, s:I}", "error",
		        job->out.step.msg[0] ? utf8_clean(c, job->out.step.msg) : "the expedient changed: read it again",
		        "state", x.state, "version", (json_int_t)x.version));
	}
	if (rc == ENG_EDENIED)
		return api_error(c, 403, job->out.step.msg);
	if (rc == ENG_EINVALID)
		return api_error(c, 400, job->err.msg);
	if (rc)
		return api_error(c, rc == ENG_EUNAVAILABLE ? 503 : 500,
		                 rc == ENG_EUNAVAILABLE ? "the database is unavailable; try again later"
		                                        : "internal error; nothing was changed");
	send_json(c, 200, expedient_json(c, &job->view));
}

/* POST /api/v1/expedients/{id}/actions/{action} with an optional {"version": N}: the
 * optimistic check; a stale version gets 409 with the current state. */
static void api_action(struct web_ctx *c, const char *id, const char *action)
{
	web_session_load(c);
	if (!c->signed_in)
		return api_error(c, 401, "sign in first: this call needs a session cookie");
	if (!web_csrf_ok(c, web_header(c, "X-CSRF-Token")))
		return api_error(c, 403, "missing or wrong X-CSRF-Token header");
	size_t len;
	char *body = web_body(c, 16384, &len);
	if (!body)
		return api_error(c, 413, "the body is larger than 16 KiB");
	int64_t version = -1;
	if (len > 0) {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j)
			return send_json(c, 400, json_pack("{s:s}", "error",
			        eng_arena_printf(&c->arena, "the body is not valid JSON: %s (line %d, column %d)",
			                         jerr.text, jerr.line, jerr.column)));
		json_t *v = json_object_get(j, "version");
		bool ok = json_is_object(j) && json_object_size(j) == (v ? 1u : 0u) &&
		          (!v || (json_is_integer(v) && json_integer_value(v) > 0));
		version = v ? json_integer_value(v) : -1;
		json_decref(j);
		if (!ok)
			return api_error(c, 400, "expected {} or {\"version\": N} with N the version you saw");
	}
	/* Authorisation travels with the command (web_applicant_only), and the answer is read in
	 * the transition's transaction: one request, two round trips to the database. */
	struct web_job *job = eng_arena_alloc(&c->arena, sizeof(*job));
	*job = (struct web_job){
		.cmd = {.entity_id = c->srv->cfg.entity_id, .expedient_id = id, .expected_version = version,
		        .applicant_only = web_applicant_only(c),
		        .idempotency_key = web_header(c, "Idempotency-Key"),
		        .event = {.kind = ENG_EVENT_ACTION, .action = action, .actor = web_actor(c),
		                  .time_ms = web_now_ms()}},
		.answer = action_answer,
	};
	/* Keyed commands are deduplicated one by one: they commit on this loop. */
	if (c->srv->committer && !job->cmd.idempotency_key)
		return web_commit(c, job);
	job->rc = eng_store_apply_view(c->store, &c->arena, &job->cmd, cat_catalog_lookup,
	                               (void *)c->srv->catalog, &job->out, &job->view, &job->err);
	action_answer(c, job);
}

static int callback_seen(const char *subscriber, const char *delivery, void *payload)
{
	struct web_ctx *c = payload;
	return eng_store_callback_seen(c->store, c->srv->cfg.entity_id, subscriber, delivery, NULL);
}

/* The callback's "data" as the action's form values: strings only. */
static int callback_form(struct web_ctx *c, const char *data_json, struct eng_value **v, size_t *n)
{
	json_t *data = json_loads(data_json, 0, NULL);
	*n = 0;
	*v = eng_arena_alloc(&c->arena, sizeof(**v) * (json_object_size(data) + 1));
	const char *key;
	json_t *val;
	int rc = 0;
	json_object_foreach(data, key, val) {
		if (!json_is_string(val)) {
			rc = -1;
			break;
		}
		(*v)[(*n)++] = (struct eng_value){eng_arena_strdup(&c->arena, key),
		                                  eng_arena_strdup(&c->arena, json_string_value(val))};
	}
	json_decref(data);
	return rc;
}

/* POST /api/v1/callbacks/{subscriber}: a back-office system moves an expedient, signed with
 * its secret (connectors/backoffice/backoffice.h, docs/integration.md). The action is taken
 * by the system on the subscriber's behalf: only `by = system` actions admit it. */
static void api_callback(struct web_ctx *c, const char *subscriber)
{
	size_t len;
	char *body = web_body(c, 64 * 1024, &len);
	if (!body)
		return api_error(c, 413, "the body is larger than 64 KiB");
	const struct conn_backoffice_request req = {
		.subscriber = subscriber, .timestamp = web_header(c, "X-Tramit-Timestamp"),
		.delivery = web_header(c, "X-Tramit-Delivery"), .signature = web_header(c, "X-Tramit-Signature"),
		.body = body, .body_len = len, .now = web_now_ms() / 1000,
	};
	struct conn_backoffice_callback cb = {0};
	struct conn_error cerr = {0};
	int rc = conn_backoffice_callback_verify(&cb, conn_set_state(c->srv->cfg.connectors, "backoffice"),
	                                         &req, callback_seen, &cerr, c);
	if (rc)
		return api_error(c, rc == CONN_BO_EUNKNOWN ? 404 : rc == CONN_BO_EDENIED ? 401
		                    : rc == CONN_BO_EREPLAY ? 409 : rc == CONN_EINVALID ? 400 : 503, cerr.msg);
	struct eng_value *form;
	size_t n_form;
	if (callback_form(c, cb.data_json, &form, &n_form) != 0) {
		conn_backoffice_callback_clear(&cb);
		return api_error(c, 400, "body.data: expected an object of strings");
	}
	struct web_job *job = eng_arena_alloc(&c->arena, sizeof(*job));
	*job = (struct web_job){
		.cmd = {.entity_id = c->srv->cfg.entity_id,
		        .expedient_id = eng_arena_strdup(&c->arena, cb.expedient), .expected_version = -1,
		        .event = {.kind = ENG_EVENT_ACTION, .action = eng_arena_strdup(&c->arena, cb.action),
		                  .actor = {.kind = ENG_PRINCIPAL_SYSTEM,
		                            .id = eng_arena_printf(&c->arena, "backoffice:%s", cb.subscriber)},
		                  .time_ms = web_now_ms(), .form = form, .n_form = n_form}},
	};
	conn_backoffice_callback_clear(&cb);
	job->rc = eng_store_apply_view(c->store, &c->arena, &job->cmd, cat_catalog_lookup,
	                               (void *)c->srv->catalog, &job->out, &job->view, &job->err);
	action_answer(c, job);
}

char *web_tramits_json(const struct cat_catalog *cat)
{
	json_t *list = json_array();
	for (size_t i = 0; i < cat_catalog_count(cat); i++)
		json_array_append_new(list, tramit_json(cat_catalog_at(cat, i), false));
	json_t *j = json_pack("{s:o}", "tramits", list);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return text;
}

void web_route_api(struct web_ctx *c, const char *rest)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
	const struct cat_catalog *cat = c->srv->catalog;
	if (strcmp(rest, "/v1/tramits") == 0) {
		if (!get)
			return api_error(c, 405, "use GET");
		/* The catalogue does not change while the server runs: its list is built once. */
		evbuffer_add_reference(c->out, c->srv->tramits_json, strlen(c->srv->tramits_json), NULL, NULL);
		return web_send(c, 200, "application/json");
	}
	if (strncmp(rest, "/v1/tramits/", 12) == 0) {
		const char *code = rest + 12, *slash = strchr(code, '/');
		char *name = eng_arena_strndup(&c->arena, code, slash ? (size_t)(slash - code) : strlen(code));
		const struct eng_definition *d = cat_catalog_by_code(cat, name);
		if (!d)
			return api_error(c, 404, "no such tràmit");
		if (!slash)
			return get ? send_json(c, 200, tramit_json(d, true)) : api_error(c, 405, "use GET");
		if (strcmp(slash, "/expedients") == 0)
			return m == EVHTTP_REQ_POST ? api_submit(c, d) : api_error(c, 405, "use POST");
	}
	if (strcmp(rest, "/v1/payments/redsys/notification") == 0)
		return m == EVHTTP_REQ_POST ? web_route_redsys_notification(c) : api_error(c, 405, "use POST");
	if (strncmp(rest, "/v1/callbacks/", 14) == 0 && rest[14] && !strchr(rest + 14, '/'))
		return m == EVHTTP_REQ_POST ? api_callback(c, rest + 14) : api_error(c, 405, "use POST");
	if (strncmp(rest, "/v1/expedients/", 15) == 0 && rest[15]) {
		const char *id = rest + 15, *slash = strchr(id, '/');
		if (!slash)
			return get ? api_expedient(c, id) : api_error(c, 405, "use GET");
		const char *action = slash + 9;
		if (strncmp(slash, "/actions/", 9) == 0 && *action && !strchr(action, '/'))
			return m == EVHTTP_REQ_POST
			       ? api_action(c, eng_arena_strndup(&c->arena, id, (size_t)(slash - id)), action)
			       : api_error(c, 405, "use POST");
	}
	api_error(c, 404, "no such API route");
}
