/* The portasignatures' writes: the request made in the transition of the action that asks
 * for it, each act on the current line (sign, approve, reject) recorded under the request's
 * version, and the act that completes the request (last line done, rejection, expiry)
 * recorded inside the transition that feeds the engine its result, with the decree number.
 * An act is first planned from what the reader saw, then written: a plan made against an
 * older version of the request changes nothing (ENG_ECONFLICT) and is planned again. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portafirmas.h"
#include "portafirmas_internal.h"
#include "store_internal.h"

static const char *const statements[][2] = {
	/* The request, its lines and places in one statement; the document is the latest of its
	 * kind in the expedient, issued earlier in this same transaction or before. */
	{"psig_create",
	 "WITH r AS (INSERT INTO signature_request (id, entity_id, expedient_id, event_seq, action, "
	 "document, effect_id, document_id, created_at, expires_at, remind_at) VALUES ($1::uuid, $2, "
	 "$3::uuid, $4::int, $5, $6, $7, (SELECT id FROM document WHERE expedient_id = $3::uuid "
	 "AND kind = $6 AND withdrawn_at IS NULL ORDER BY created_at DESC LIMIT 1), "
	 "to_timestamp($8::bigint / 1000.0), to_timestamp($9::bigint / 1000.0), "
	 "to_timestamp($10::bigint / 1000.0)) RETURNING id), "
	 "l AS (INSERT INTO signature_line (request_id, seq, need, state) SELECT (SELECT id FROM r), "
	 "(j->>'seq')::int, j->>'need', j->>'state' FROM json_array_elements($11::json) j RETURNING 1) "
	 "INSERT INTO signature_signer (request_id, line_seq, pos, role, approve) "
	 "SELECT (SELECT id FROM r), (j->>'line')::int, (j->>'pos')::int, j->>'role', "
	 "(j->>'approve')::boolean FROM json_array_elements($12::json) j"},
	{"psig_act_request",
	 "UPDATE signature_request SET version = version + 1, current_line = $4::int, state = $5, "
	 "completed_at = CASE WHEN $5 <> 'pending' THEN to_timestamp($6::bigint / 1000.0) END, "
	 "rejected_by = $7, rejection_reason = $8 WHERE entity_id = $1 AND id = $2::uuid "
	 "AND version = $3::int AND state = 'pending' AND expedient_id = $9::uuid RETURNING id"},
	{"psig_act_signer",
	 "UPDATE signature_signer SET state = $4, acted_by = $5, on_behalf_of = $6, signer_nif = $7, "
	 "signer_name = $8, acted_at = to_timestamp($9::bigint / 1000.0), "
	 "signature = decode($10, 'base64'), signature_sha256 = $11, document_sha256 = $12, "
	 "reason = $13 WHERE request_id = $1::uuid AND line_seq = $2::int AND pos = $3::int "
	 "AND state = 'pending' RETURNING 1"},
	{"psig_line_close",
	 "UPDATE signature_line SET state = $3, done_at = to_timestamp($4::bigint / 1000.0) "
	 "WHERE request_id = $1::uuid AND seq = $2::int"},
	{"psig_skip",
	 "UPDATE signature_signer SET state = 'skipped' WHERE request_id = $1::uuid "
	 "AND line_seq BETWEEN $2::int AND $3::int AND state = 'pending'"},
	{"psig_line_open",
	 "UPDATE signature_line SET state = 'active' WHERE request_id = $1::uuid AND seq = $2::int"},
	/* Like the registry: the counter row stays locked until this transition commits. */
	{"psig_decree_take",
	 "INSERT INTO decree_counter (entity_id, year, last) VALUES ($1, "
	 "extract(year FROM to_timestamp($2::bigint / 1000.0) AT TIME ZONE 'Europe/Madrid'), 1) "
	 "ON CONFLICT (entity_id, year) DO UPDATE SET last = decree_counter.last + 1 "
	 "RETURNING year, last"},
	{"psig_decree_insert",
	 "INSERT INTO decree (entity_id, year, seq, number, request_id, expedient_id, document_id, "
	 "signed_at) VALUES ($1, $2::int, $3::bigint, $4, $5::uuid, $6::uuid, $7::uuid, "
	 "to_timestamp($8::bigint / 1000.0))"},
	{"psig_decree_set", "UPDATE signature_request SET decree_number = $2 WHERE id = $1::uuid"},
	{"psig_due",
	 "SELECT id FROM signature_request WHERE entity_id = $1 AND state = 'pending' "
	 "AND expires_at <= to_timestamp($2::bigint / 1000.0) ORDER BY expires_at, id LIMIT 100"},
	{"psig_remind",
	 "WITH r AS (UPDATE signature_request SET reminded_at = to_timestamp($2::bigint / 1000.0) "
	 "WHERE entity_id = $1 AND state = 'pending' AND reminded_at IS NULL "
	 "AND remind_at <= to_timestamp($2::bigint / 1000.0) RETURNING id, current_line) "
	 "INSERT INTO signature_reminder (request_id, line_seq, role, sent_at) "
	 "SELECT DISTINCT s.request_id, s.line_seq, s.role, to_timestamp($2::bigint / 1000.0) "
	 "FROM signature_signer s JOIN r ON s.request_id = r.id AND s.line_seq = r.current_line "
	 "WHERE s.state = 'pending' ON CONFLICT DO NOTHING"},
};

int eng_store__portafirmas_prepare(struct eng_store *s, struct eng_error *err)
{
	int rc = eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
	return rc ? rc : eng_store__portafirmas_read_prepare(s, err);
}

const char *eng_signature_decree_role(void)
{
	const char *r = getenv("TRAMIT_DECREE_ROLE");
	return r && *r ? r : "alcaldia";
}

/* Natural days from the environment (TRAMIT_SIGN_EXPIRY_DAYS, TRAMIT_SIGN_REMIND_DAYS). */
static int64_t env_days(const char *name, int fallback)
{
	const char *v = getenv(name);
	int d = v && *v ? atoi(v) : fallback;
	return (int64_t)(d > 0 && d <= 3650 ? d : fallback) * 86400000;
}

/* --- the request, made by the action's transition --- */

/* The circuit as lines; a hand-built definition without lines gets them from the effect's
 * arguments (signers=r1,r2 order=sequential|parallel need=all|any). */
static void circuit_json(struct eng__tx *t, const struct eng_effect *e, json_t *lines, json_t *places)
{
	const struct eng_step_result *st = &t->out->step;
	const struct eng_state *from = eng_definition_state(t->def, st->from_state);
	const struct eng_action *a = from && st->action ? eng_state_action(from, st->action) : NULL;
	const struct eng_sign *sg = a ? a->sign : NULL;
	if (sg && sg->n_lines) {
		for (size_t i = 0; i < sg->n_lines; i++) {
			json_array_append_new(lines, json_pack("{s:i, s:s, s:s}", "seq", (int)i + 1,
			        "need", sg->lines[i].any ? "any" : "all", "state", i ? "waiting" : "active"));
			for (size_t k = 0; k < sg->lines[i].n_signers; k++)
				json_array_append_new(places, json_pack("{s:i, s:i, s:s, s:b}", "line", (int)i + 1,
				        "pos", (int)k + 1, "role", sg->lines[i].signers[k].role,
				        "approve", sg->lines[i].signers[k].approve));
		}
		return;
	}
	const char *roles = eng_values_get(e->args, e->n_args, "signers");
	const char *order = eng_values_get(e->args, e->n_args, "order");
	const char *need = eng_values_get(e->args, e->n_args, "need");
	bool parallel = order && strcmp(order, "parallel") == 0;
	char *copy = eng_arena_strdup(t->arena, roles ? roles : "");
	int n = 0;
	for (char *save = NULL, *r = strtok_r(copy, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		n++;
		int line = parallel ? 1 : n;
		if (!parallel || n == 1)
			json_array_append_new(lines, json_pack("{s:i, s:s, s:s}", "seq", line, "need",
			        parallel && need && strcmp(need, "any") == 0 ? "any" : "all",
			        line == 1 ? "active" : "waiting"));
		json_array_append_new(places, json_pack("{s:i, s:i, s:s, s:b}", "line", line,
		        "pos", parallel ? n : 1, "role", r, "approve", 0));
	}
}

int eng_store__signature_request_create(struct eng__tx *t, const struct eng_effect *e,
                                        struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	json_t *lines = json_array(), *places = json_array();
	circuit_json(t, e, lines, places);
	if (json_array_size(lines) == 0) {
		json_decref(lines);
		json_decref(places);
		return eng_error_set(err, ENG_EINVALID, "sign_request '%s' names no signers",
		                     e->target ? e->target : "");
	}
	char id[37], seq[24], made[24], expires[24], remind[24];
	eng_store__uuid_new(id);
	int64_t now = c->event.time_ms;
	snprintf(seq, sizeof(seq), "%lld", (long long)t->out->step.version);
	snprintf(made, sizeof(made), "%lld", (long long)now);
	snprintf(expires, sizeof(expires), "%lld",
	         (long long)(now + env_days("TRAMIT_SIGN_EXPIRY_DAYS", 15)));
	snprintf(remind, sizeof(remind), "%lld",
	         (long long)(now + env_days("TRAMIT_SIGN_REMIND_DAYS", 5)));
	char *lt = eng_store__json_text(lines), *pt = eng_store__json_text(places);
	size_t n_lines = json_array_size(lines);
	json_decref(lines);
	json_decref(places);
	const char *action = t->out->step.action ? t->out->step.action : "";
	const char *p[] = {id, c->entity_id, t->out->expedient_id, seq, action,
	                   e->target ? e->target : "", e->id ? e->id : "", made, expires, remind, lt, pt};
	int rc = eng_store__send(t->s, "psig_create", 12, p, PGRES_COMMAND_OK, false, 0, NULL, err);
	free(lt);
	free(pt);
	if (rc)
		return rc;
	/* The event names the request, so the hash chain covers that it was asked for. */
	json_object_set_new(t->payload, "signature_request",
	                    json_pack("{s:s, s:s, s:i}", "id", id, "document", e->target ? e->target : "",
	                              "lines", (int)n_lines));
	return 0;
}

/* --- acts --- */

/* What one act writes. Strings are borrowed (arena or the act). */
struct plan {
	const char *request_id, *expedient_id, *act; /* signed, approved, rejected, expired */
	int version, line, pos, n_lines;
	const char *by, *on_behalf_of, *signer_nif, *signer_name, *signature_b64, *signature_sha256;
	const char *document_sha256, *document_id, *reason;
	int64_t at_ms;
	bool line_done;
	int next_line;       /* 0: none */
	const char *state;   /* the request's after the act: pending, signed, rejected */
	bool decree;
};

static json_t *plan_json(const struct plan *p)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
	                 "s:s?, s:s?, s:s?, s:I, s:b, s:i, s:s, s:b}",
	        "signature_request", p->request_id, "expedient", p->expedient_id, "act", p->act,
	        "version", p->version, "line", p->line, "pos", p->pos, "lines", p->n_lines,
	        "by", p->by, "on_behalf_of", p->on_behalf_of, "signer_nif", p->signer_nif,
	        "signer_name", p->signer_name, "signature", p->signature_b64,
	        "signature_sha256", p->signature_sha256, "document_sha256", p->document_sha256,
	        "document_id", p->document_id, "reason", p->reason, "at_ms", (json_int_t)p->at_ms,
	        "line_done", p->line_done, "next_line", p->next_line, "state", p->state,
	        "decree", p->decree);
}

static const char *jstr(struct eng_arena *a, json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));
	return v ? eng_arena_strdup(a, v) : NULL;
}

static int plan_parse(struct plan *p, struct eng_arena *a, const char *text, struct eng_error *err)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return eng_error_set(err, ENG_EINVALID, "a signature act must be a JSON object");
	}
	*p = (struct plan){
		.request_id = jstr(a, j, "signature_request"), .expedient_id = jstr(a, j, "expedient"),
		.act = jstr(a, j, "act"), .version = (int)json_integer_value(json_object_get(j, "version")),
		.line = (int)json_integer_value(json_object_get(j, "line")),
		.pos = (int)json_integer_value(json_object_get(j, "pos")),
		.n_lines = (int)json_integer_value(json_object_get(j, "lines")),
		.by = jstr(a, j, "by"), .on_behalf_of = jstr(a, j, "on_behalf_of"),
		.signer_nif = jstr(a, j, "signer_nif"), .signer_name = jstr(a, j, "signer_name"),
		.signature_b64 = jstr(a, j, "signature"), .signature_sha256 = jstr(a, j, "signature_sha256"),
		.document_sha256 = jstr(a, j, "document_sha256"), .document_id = jstr(a, j, "document_id"),
		.reason = jstr(a, j, "reason"), .at_ms = json_integer_value(json_object_get(j, "at_ms")),
		.line_done = json_is_true(json_object_get(j, "line_done")),
		.next_line = (int)json_integer_value(json_object_get(j, "next_line")),
		.state = jstr(a, j, "state"), .decree = json_is_true(json_object_get(j, "decree")),
	};
	json_decref(j);
	if (!p->request_id || !eng_uuid_valid(p->request_id) || !p->act || !p->state || p->line < 1)
		return eng_error_set(err, ENG_EINVALID, "a signature act names no request, act or line");
	return 0;
}

/* Takes the next decree number and enters the resolution in the book. */
static int decree_write(struct eng_store *s, const char *entity_id, const struct plan *p,
                        char number[40], struct eng_error *err)
{
	char at[24];
	snprintf(at, sizeof(at), "%lld", (long long)p->at_ms);
	const char *pt[] = {entity_id, at};
	PGresult *r = eng_store__run(s, "psig_decree_take", 2, pt, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	char year[16], seq[24];
	snprintf(year, sizeof(year), "%s", PQgetvalue(r, 0, 0));
	snprintf(seq, sizeof(seq), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(number, 40, "D/%s/%06lld", year, atoll(seq));
	const char *pi[] = {entity_id, year, seq, number, p->request_id, p->expedient_id,
	                    p->document_id, at};
	int rc = eng_store__send(s, "psig_decree_insert", 8, pi, PGRES_COMMAND_OK, false, 0, NULL, err);
	const char *pu[] = {p->request_id, number};
	return rc ? rc : eng_store__send(s, "psig_decree_set", 2, pu, PGRES_COMMAND_OK, false, 0, NULL, err);
}

/* Sends every write of the plan (in the caller's transaction). */
static int plan_write(struct eng_store *s, const char *entity_id, const struct plan *p,
                      char decree[40], struct eng_error *err)
{
	char version[16], line[16], pos[16], at[24], next[16], last[16];
	snprintf(version, sizeof(version), "%d", p->version);
	snprintf(line, sizeof(line), "%d", p->line);
	snprintf(pos, sizeof(pos), "%d", p->pos);
	snprintf(at, sizeof(at), "%lld", (long long)p->at_ms);
	snprintf(next, sizeof(next), "%d", p->next_line ? p->next_line : p->line);
	snprintf(last, sizeof(last), "%d", p->n_lines > p->line ? p->n_lines : p->line);
	bool rejected = strcmp(p->state, "rejected") == 0;
	const char *pr[] = {entity_id, p->request_id, version, next, p->state, at,
	                    rejected ? (p->by ? p->by : "system") : NULL, rejected ? p->reason : NULL,
	                    p->expedient_id};
	int rc = eng_store__send(s, "psig_act_request", 9, pr, PGRES_TUPLES_OK, true, ENG_ECONFLICT,
	                         NULL, err);
	if (!rc && p->pos > 0) {
		const char *ps[] = {p->request_id, line, pos, p->act, p->by, p->on_behalf_of,
		                    p->signer_nif, p->signer_name, at, p->signature_b64,
		                    p->signature_sha256, p->document_sha256, p->reason};
		rc = eng_store__send(s, "psig_act_signer", 13, ps, PGRES_TUPLES_OK, true, ENG_ECONFLICT,
		                     NULL, err);
	}
	if (!rc && (p->line_done || rejected)) {
		const char *pc[] = {p->request_id, line, rejected ? "rejected" : "done", at};
		rc = eng_store__send(s, "psig_line_close", 4, pc, PGRES_COMMAND_OK, false, 0, NULL, err);
		/* A line that needed any one is done with its other places; a rejection ends them all. */
		const char *pk[] = {p->request_id, line, rejected ? last : line};
		if (!rc)
			rc = eng_store__send(s, "psig_skip", 3, pk, PGRES_COMMAND_OK, false, 0, NULL, err);
	}
	if (!rc && p->next_line && !rejected) {
		const char *po[] = {p->request_id, next};
		rc = eng_store__send(s, "psig_line_open", 2, po, PGRES_COMMAND_OK, false, 0, NULL, err);
	}
	if (!rc && p->decree && strcmp(p->state, "signed") == 0)
		rc = decree_write(s, entity_id, p, decree, err);
	return rc;
}

bool eng_store__signature_completes(const struct eng__tx *t)
{
	const struct eng_command *c = t->cmd;
	return c->event.kind == ENG_EVENT_RESULT && c->event.effect_id &&
	       strncmp(c->event.effect_id, "sign_request:", 13) == 0 && c->result_json &&
	       strstr(c->result_json, "\"signature_request\"") != NULL;
}

int eng_store__signature_complete(struct eng__tx *t, struct eng_error *err)
{
	struct plan p;
	int rc = plan_parse(&p, t->arena, t->cmd->result_json, err);
	if (rc)
		return rc;
	if (!p.expedient_id || strcmp(p.expedient_id, t->out->expedient_id) != 0 ||
	    strcmp(p.state, t->cmd->event.outcome ? t->cmd->event.outcome : "") != 0)
		return eng_error_set(err, ENG_EINVALID, "signature act for request %s does not match "
		                     "its result event", p.request_id);
	char decree[40] = "";
	rc = plan_write(t->s, t->cmd->entity_id, &p, decree, err);
	if (rc)
		return rc;
	json_t *j = json_pack("{s:s, s:s}", "id", p.request_id, "state", p.state);
	if (*decree)
		json_object_set_new(j, "decree_number", json_string(decree));
	json_object_set_new(t->payload, "signature_request", j);
	return 0;
}

static const char *b64(struct eng_arena *a, const unsigned char *data, size_t len)
{
	char *out = eng_arena_alloc(a, 4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* The place the act takes: a pending place of the current line that is the reader's, of the
 * act's kind (a signature or an approval; a rejection takes any), their own before one held
 * by delegation. Returns its index, or -1 with err saying why not. */
static int place_pick(const struct eng_sig_request *v, enum eng_sig_act_kind kind,
                      struct eng_error *err)
{
	int best = -1;
	bool other_kind = false;
	for (size_t i = 0; i < v->n_signers; i++) {
		const struct eng_sig_signer *sg = &v->signers[i];
		if (!sg->mine)
			continue;
		if ((kind == ENG_SIG_SIGN && sg->approve) || (kind == ENG_SIG_APPROVE && !sg->approve)) {
			other_kind = true;
			continue;
		}
		if (best < 0 || (v->signers[best].mine_for && !sg->mine_for))
			best = (int)i;
	}
	if (best < 0 && other_kind)
		eng_error_set(err, ENG_EDENIED, "your place in line %d %s", v->current_line,
		              kind == ENG_SIG_SIGN ? "is an approval: approve instead of signing"
		                                   : "needs a signature: sign instead of approving");
	else if (best < 0)
		eng_error_set(err, ENG_EDENIED, "line %d of this request has no pending place for you",
		              v->current_line);
	return best;
}

static int plan_make(struct plan *p, struct eng_arena *a, const struct eng_sig_request *v,
                     const struct eng_sig_act *act, struct eng_error *err)
{
	static const char *const acts[] = {"signed", "approved", "rejected"};
	if (strcmp(v->state, "pending") != 0)
		return eng_error_set(err, ENG_ECONFLICT, "the request is already %s", v->state);
	if (act->version && act->version != v->version)
		return eng_error_set(err, ENG_ECONFLICT, "the request changed since it was shown "
		                     "(version %d, now %d): look at it again", act->version, v->version);
	const char *reason = act->reason;
	while (reason && (*reason == ' ' || *reason == '\t' || *reason == '\n' || *reason == '\r'))
		reason++;
	if (act->kind == ENG_SIG_REJECT && (!reason || !*reason))
		return eng_error_set(err, ENG_EINVALID, "reason: a rejection needs a reason");
	if (act->kind == ENG_SIG_REJECT && strlen(reason) > 2000)
		return eng_error_set(err, ENG_EINVALID, "reason: at most 2000 characters, found %zu",
		                     strlen(reason));
	int k = place_pick(v, act->kind, err);
	if (k < 0)
		return ENG_EDENIED;
	if (act->kind != ENG_SIG_REJECT && !v->document_id)
		return eng_error_set(err, ENG_EINVALID, "document '%s' is not issued yet: it cannot be "
		                     "signed or approved until it exists", v->document);
	if (act->kind == ENG_SIG_SIGN &&
	    (!act->signature || !act->signature_len || !act->document_sha256 ||
	     strcmp(act->document_sha256, v->document_sha256) != 0))
		return eng_error_set(err, ENG_EINVALID, "the signature is not over document '%s' as issued "
		                     "(SHA-256 %.64s)", v->document, v->document_sha256);
	const struct eng_sig_signer *place = &v->signers[k];
	*p = (struct plan){
		.request_id = v->id, .expedient_id = v->expedient_id, .act = acts[act->kind],
		.version = v->version, .line = place->line, .pos = place->pos, .n_lines = (int)v->n_lines,
		.by = act->by, .on_behalf_of = place->mine_for, .at_ms = act->time_ms,
		.document_sha256 = act->kind == ENG_SIG_REJECT ? NULL : v->document_sha256,
		.document_id = v->document_id,
		.reason = act->kind == ENG_SIG_REJECT ? reason : NULL, .state = "pending",
	};
	if (act->kind == ENG_SIG_SIGN) {
		char sha[65];
		eng_store__sha256_hex(sha, act->signature, act->signature_len);
		p->signature_b64 = b64(a, act->signature, act->signature_len);
		p->signature_sha256 = eng_arena_strdup(a, sha);
		p->signer_nif = act->signer_nif;
		p->signer_name = act->signer_name;
	}
	if (act->kind == ENG_SIG_REJECT) {
		p->state = "rejected";
		return 0;
	}
	/* Done when it needed any one, or when every other place of the line has acted. */
	const struct eng_sig_line *line = &v->lines[place->line - 1];
	p->line_done = true;
	for (size_t i = 0; i < v->n_signers && !line->any; i++)
		if (v->signers[i].line == place->line && (int)i != k &&
		    strcmp(v->signers[i].state, "pending") == 0)
			p->line_done = false;
	if (p->line_done && place->line < (int)v->n_lines)
		p->next_line = place->line + 1;
	if (!p->line_done || p->next_line)
		return 0;
	p->state = "signed";
	const char *mayor = eng_signature_decree_role();
	for (size_t i = 0; i < v->n_signers; i++) {
		const struct eng_sig_signer *sg = &v->signers[i];
		bool signed_now = (int)i == k && act->kind == ENG_SIG_SIGN;
		if (strcmp(sg->role, mayor) == 0 && (signed_now || strcmp(sg->state, "signed") == 0))
			p->decree = true;
	}
	return 0;
}

/* Applies the plan: alone in a transaction of its own, or, when it completes the request,
 * inside the transition that gives the engine its result. */
static int plan_apply(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                      const struct plan *p, const char *effect_id, const struct eng_actor *actor,
                      eng_definition_lookup lookup, void *lookup_payload,
                      struct eng_sig_result *out, struct eng_error *err)
{
	if (strcmp(p->state, "pending") == 0) {
		int rc = eng_store__exec(s, "BEGIN", err);
		char unused[40] = "";
		if (!rc)
			rc = plan_write(s, entity_id, p, unused, err);
		if (!rc)
			rc = eng_store__exec(s, "COMMIT", err);
		if (rc)
			eng_store__exec(s, "ROLLBACK", &(struct eng_error){0});
		return rc;
	}
	json_t *j = plan_json(p);
	char *text = eng_store__json_text(j);
	json_decref(j);
	struct eng_command cmd = {
		.entity_id = entity_id, .expedient_id = p->expedient_id, .expected_version = -1,
		.result_json = text,
		.event = {.kind = ENG_EVENT_RESULT, .effect_id = effect_id, .outcome = p->state,
		          .actor = *actor, .time_ms = p->at_ms},
	};
	struct eng_outcome o;
	int rc = eng_store_apply(s, a, &cmd, lookup, lookup_payload, &o, err);
	free(text);
	if (rc)
		return rc;
	out->outcome = strcmp(p->state, "signed") == 0 ? "signed" : "rejected";
	snprintf(out->to_state, sizeof(out->to_state), "%s", o.to_state);
	return 0;
}

int eng_signature_act(struct eng_store *s, struct eng_arena *a, const struct eng_sig_act *act,
                      eng_definition_lookup lookup, void *lookup_payload,
                      struct eng_sig_result *out, struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	int rc = ENG_ECONFLICT;
	/* A parallel signer may act between our read and our write: read again, a few times. */
	for (int attempt = 0; attempt < 5 && rc == ENG_ECONFLICT; attempt++) {
		struct eng_sig_request v;
		rc = eng_signature_get(s, a, act->entity_id, act->request_id, act->by, act->time_ms, &v, err);
		if (rc)
			return rc;
		struct plan p;
		rc = plan_make(&p, a, &v, act, err);
		if (rc)
			return rc;
		struct eng_actor actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = act->by};
		rc = plan_apply(s, a, act->entity_id, &p, v.effect_id, &actor, lookup, lookup_payload,
		                out, err);
		if (rc == 0 && p.decree) {
			struct eng_sig_request after;
			if (eng_signature_get(s, a, act->entity_id, act->request_id, NULL, act->time_ms,
			                      &after, err) == 0 && after.decree_number)
				snprintf(out->decree_number, sizeof(out->decree_number), "%s", after.decree_number);
		}
		if (act->version)
			break;
	}
	return rc;
}

int eng_signature_sweep(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                        int64_t now_ms, eng_definition_lookup lookup, void *lookup_payload,
                        int *expired, int *reminded, struct eng_error *err)
{
	if (expired)
		*expired = 0;
	if (reminded)
		*reminded = 0;
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)now_ms);
	const char *p[] = {entity_id, now};
	PGresult *r = eng_store__run(s, "psig_remind", 2, p, PGRES_COMMAND_OK, err);
	if (!r)
		return err->code;
	if (reminded)
		*reminded = atoi(PQcmdTuples(r));
	PQclear(r);
	r = eng_store__run(s, "psig_due", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int n = PQntuples(r);
	const char **ids = eng_arena_alloc(a, sizeof(*ids) * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		ids[i] = eng_arena_strdup(a, PQgetvalue(r, i, 0));
	PQclear(r);
	for (int i = 0; i < n; i++) {
		struct eng_sig_request v;
		rc = eng_signature_get(s, a, entity_id, ids[i], NULL, now_ms, &v, err);
		if (rc)
			return rc;
		if (strcmp(v.state, "pending") != 0)
			continue;
		/* The expiry is the system's rejection of the whole request, at its due time. */
		struct plan pl = {
			.request_id = v.id, .expedient_id = v.expedient_id, .act = "expired",
			.version = v.version, .line = v.current_line, .n_lines = (int)v.n_lines,
			.by = "system", .reason = "expired", .document_id = v.document_id,
			.at_ms = now_ms, .state = "rejected",
		};
		struct eng_actor actor = {.kind = ENG_PRINCIPAL_SYSTEM, .id = "portasignatures"};
		struct eng_sig_result res;
		struct eng_error why = {0};
		rc = plan_apply(s, a, entity_id, &pl, v.effect_id, &actor, lookup, lookup_payload, &res, &why);
		if (rc == ENG_ECONFLICT)
			continue; /* acted on or expired by another server meanwhile */
		if (rc) {
			*err = why;
			return rc;
		}
		if (expired)
			(*expired)++;
	}
	return 0;
}
