/* Issued documents: an action's document = "name" becomes a PDF under a fresh CSV in the
 * `document` table, in the transition's transaction (issue.h). The template is filled from the
 * expedient as it stands after the step; the date is the event's, never the clock's.
 * Invariant: the row holds the bytes that were rendered and sealed, once; nothing rewrites it. */
#include "issue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/template.h"
#include "store_internal.h"

#define ISO(col) ENG__ISO(col)

static const char *const statements[][2] = {
	/* The session's time zone is Europe/Madrid (store.c), so days are local days. */
	{"issue_context",
	 "SELECT e.name_ca, e.name_es, coalesce(e.dir3, e.id), coalesce(x.registry_number, ''), "
	 "coalesce(to_char(x.presented_at, 'YYYY-MM-DD'), ''), "
	 "coalesce(to_char(x.created_at, 'YYYY-MM-DD'), ''), "
	 "to_char(to_timestamp($3::bigint / 1000.0), 'YYYY-MM-DD'), "
	 "to_char(to_timestamp($3::bigint / 1000.0), 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
	 "replace(to_char(to_timestamp($3::bigint / 1000.0), 'TZH:TZM'), ' ', '') "
	 "FROM entity e LEFT JOIN expedient x ON x.id = $2::uuid AND x.entity_id = e.id "
	 "WHERE e.id = $1"},
	{"issued_insert",
	 "INSERT INTO document (id, entity_id, expedient_id, kind, csv, sha256, media_type, content, "
	 "created_at, template_kind, eni_id, eni_organ, eni_state, eni_type, eni_signature_type, "
	 "lang, seal, seal_format, seal_note, record, timestamp_state) VALUES ($1::uuid, $2, $3::uuid, "
	 "$4, $5, $6, 'application/pdf', decode($7, 'hex'), to_timestamp($8::bigint / 1000.0), $9, "
	 "$10, $11, 'EE01', $12, $13, 'ca+es', decode($14, 'hex'), $15, $16, $17::json, $18)"},
	{"issued_list",
	 "SELECT id, kind, coalesce(record->>'title_ca', kind), coalesce(record->>'title_es', kind), "
	 "template_kind, csv, sha256, media_type, " ISO("created_at") ", seal IS NOT NULL, "
	 ISO("timestamped_at") " FROM document WHERE entity_id = $1 AND expedient_id = $2::uuid "
	 "AND template_kind IS NOT NULL AND withdrawn_at IS NULL ORDER BY created_at, id"},
	{"issued_get",
	 "SELECT id, kind, coalesce(record->>'title_ca', kind), coalesce(record->>'title_es', kind), "
	 "template_kind, csv, sha256, media_type, " ISO("created_at") ", seal IS NOT NULL, "
	 ISO("timestamped_at") ", content, seal, timestamp_token FROM document WHERE entity_id = $1 "
	 "AND expedient_id = $2::uuid AND id = $3::uuid AND template_kind IS NOT NULL "
	 "AND withdrawn_at IS NULL"},
	{"stamp_claim",
	 "UPDATE document SET timestamp_attempts = timestamp_attempts + 1, "
	 "timestamp_claimed_until = now() + make_interval(secs => $3::int) WHERE id IN (SELECT id "
	 "FROM document WHERE entity_id = $1 AND timestamp_state = 'pending' AND "
	 "(timestamp_claimed_until IS NULL OR timestamp_claimed_until < now()) ORDER BY created_at "
	 "LIMIT $2::int FOR UPDATE SKIP LOCKED) RETURNING id, seal, timestamp_attempts"},
	{"stamp_done",
	 "UPDATE document SET timestamp_state = 'done', timestamp_token = decode($2, 'hex'), "
	 "timestamped_at = $3::timestamptz, timestamp_error = NULL, seal = decode($4, 'hex'), "
	 "seal_format = 'cades-t-detached' WHERE id = $1::uuid AND timestamp_state = 'pending'"},
	/* Retried after 30 s, 2 min, 4.5 min, 8 min; the fifth failure is final. */
	{"stamp_failed",
	 "UPDATE document SET timestamp_error = $2, timestamp_state = CASE WHEN timestamp_attempts "
	 ">= 5 THEN 'failed' ELSE 'pending' END, timestamp_claimed_until = now() + "
	 "make_interval(secs => 30 * timestamp_attempts * timestamp_attempts) "
	 "WHERE id = $1::uuid AND timestamp_state = 'pending'"},
};

static pthread_mutex_t issuer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct eng_issuer issuer;
static bool issuer_set;

void eng_issue_set(const struct eng_issuer *in)
{
	pthread_mutex_lock(&issuer_lock);
	issuer_set = in && in->csv_new && in->render && in->release;
	issuer = issuer_set ? *in : (struct eng_issuer){0};
	pthread_mutex_unlock(&issuer_lock);
}

static bool issuer_get(struct eng_issuer *out)
{
	pthread_mutex_lock(&issuer_lock);
	bool ok = issuer_set;
	*out = issuer;
	pthread_mutex_unlock(&issuer_lock);
	return ok;
}

bool eng_store__issue_ready(void)
{
	struct eng_issuer i;
	return issuer_get(&i);
}

int eng_store__issue_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

static char *hex_new(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *h = malloc(2 * n + 1);
	if (!h)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		h[2 * i] = digits[p[i] >> 4];
		h[2 * i + 1] = digits[p[i] & 15];
	}
	h[2 * n] = '\0';
	return h;
}

/* What the document says, filled, with everything the renderer prints around it. */
struct filled {
	const struct eng_template *tp;
	char csv[64], id[37], eni_id[160], organ[96], issued_at[48];
	json_t *record;
};

static int fill(struct eng__tx *t, struct filled *f, struct eng_issuer *is, bool sealed,
                struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	char when[24];
	snprintf(when, sizeof(when), "%lld", (long long)c->event.time_ms);
	const char *p[] = {c->entity_id, t->out->expedient_id, when};
	PGresult *r = eng_store__run(t->s, "issue_context", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return eng_error_set(err, ENG_EINTERNAL, "entity %s is not in the database", c->entity_id);
	}
	struct eng_arena *a = t->arena;
	const char *name_ca = eng_arena_strdup(a, PQgetvalue(r, 0, 0));
	const char *name_es = eng_arena_strdup(a, PQgetvalue(r, 0, 1));
	snprintf(f->organ, sizeof(f->organ), "%s", PQgetvalue(r, 0, 2));
	/* This transition's own filing, else the expedient's (a later action). */
	const char *reg = t->out->registry_number[0] ? t->out->registry_number
	                                             : eng_arena_strdup(a, PQgetvalue(r, 0, 3));
	const char *reg_day = t->out->presented_at[0]
	                      ? eng_arena_strndup(a, t->out->presented_at, 10)
	                      : eng_arena_strdup(a, PQgetvalue(r, 0, 4));
	const char *day = eng_arena_strdup(a, PQgetvalue(r, 0, 6));
	const char *opened = *PQgetvalue(r, 0, 5) ? eng_arena_strdup(a, PQgetvalue(r, 0, 5)) : day;
	snprintf(f->issued_at, sizeof(f->issued_at), "%s", PQgetvalue(r, 0, 7));
	PQclear(r);
	if (is->csv_new(f->csv, is->payload) != 0)
		return eng_error_set(err, ENG_EINTERNAL, "cannot make a CSV for document '%s'", f->tp->name);
	eng_store__uuid_new(f->id);
	char compact[33];
	size_t k = 0;
	for (const char *q = f->id; *q && k < 32; q++)
		if (*q != '-')
			compact[k++] = *q;
	compact[k] = '\0';
	snprintf(f->eni_id, sizeof(f->eni_id), "ES_%s_%.4s_%s", f->organ, day, compact);

	struct eng_template_context ctx = {
		.def = t->def, .data = t->out->step.data, .n_data = t->out->step.n_data,
		.expedient_number = t->out->number, .expedient_date = opened,
		.applicant_name = t->applicant_name, .applicant_nif = t->exp.applicant_id,
		.registry_number = reg, .registry_date = reg_day, .document_date = day,
		.document_csv = f->csv, .entity_name = {name_ca, name_es},
	};
	const struct eng_template *tp = f->tp;
	f->record = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
		"s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
		"type", "issued", "name", tp->name, "kind", eng_doc_kind_name(tp->kind),
		"title_ca", eng_template_fill(a, eng_text_get(&tp->title, ENG_LANG_CA), &ctx, ENG_LANG_CA),
		"title_es", eng_template_fill(a, eng_text_get(&tp->title, ENG_LANG_ES), &ctx, ENG_LANG_ES),
		"body_ca", eng_template_fill(a, eng_text_get(&tp->body, ENG_LANG_CA), &ctx, ENG_LANG_CA),
		"body_es", eng_template_fill(a, eng_text_get(&tp->body, ENG_LANG_ES), &ctx, ENG_LANG_ES),
		"entity", "name_ca", name_ca, "name_es", name_es, "organ", f->organ,
		"tramit", "code", t->def->code, "title_ca", eng_text_get(&t->def->title, ENG_LANG_CA),
		"title_es", eng_text_get(&t->def->title, ENG_LANG_ES),
		"applicant", "name", t->applicant_name ? t->applicant_name : "",
		"nif", t->exp.applicant_id ? t->exp.applicant_id : "",
		"expedient_number", t->out->number, "registry_number", reg ? reg : "",
		"issued_at", f->issued_at, "csv", f->csv, "eni_id", f->eni_id,
		"eni_type", eng_doc_kind_eni_type(tp->kind), "sealed", sealed);
	if (!f->record)
		return eng_error_set(err, ENG_EINTERNAL, "document '%s': a text is not valid UTF-8",
		                     tp->name);
	return 0;
}

int eng_store__issue(struct eng__tx *t, const struct eng_effect *e, struct eng_error *err)
{
	struct eng_issuer is;
	if (!issuer_get(&is))
		return eng_error_set(err, ENG_EINTERNAL, "no document issuer in this process");
	struct filled f = {.tp = eng_definition_template(t->def, e->target)};
	if (!f.tp)
		return eng_error_set(err, ENG_EINVALID, "tràmit %s has no template for document '%s'",
		                     t->def->code, e->target);
	unsigned char *pdf = NULL, *seal = NULL;
	size_t len = 0, seal_len = 0;
	char *record = NULL, *pdf_hex = NULL, *seal_hex = NULL;
	bool sealed = is.seal != NULL;
	int rc = fill(t, &f, &is, sealed, err);
	if (rc)
		goto done;
	record = eng_store__json_text(f.record);
	if ((rc = is.render(&pdf, &len, record, err, is.payload)) != 0)
		goto done;
	if (sealed && (rc = is.seal(&seal, &seal_len, pdf, len, err, is.payload)) != 0)
		goto done;
	char sha[65], when[24];
	eng_store__sha256_hex(sha, pdf, len);
	snprintf(when, sizeof(when), "%lld", (long long)t->cmd->event.time_ms);
	pdf_hex = hex_new(pdf, len);
	seal_hex = seal ? hex_new(seal, seal_len) : NULL;
	if (!pdf_hex || (seal && !seal_hex)) {
		rc = eng_error_set(err, ENG_EINTERNAL, "out of memory issuing document '%s'", f.tp->name);
		goto done;
	}
	const char *p[] = {f.id, t->cmd->entity_id, t->out->expedient_id, f.tp->name, f.csv, sha,
	                   pdf_hex, when, eng_doc_kind_name(f.tp->kind), f.eni_id, f.organ,
	                   eng_doc_kind_eni_type(f.tp->kind), seal ? "TF04" : "TF01", seal_hex,
	                   seal ? "cades-detached" : NULL,
	                   seal ? NULL : "not sealed: this server has no electronic seal "
	                                 "(TRAMIT_SEAL_KEY, TRAMIT_SEAL_CERT)", record,
	                   seal && is.timestamps ? "pending" : "none"};
	rc = eng_store__send(t->s, "issued_insert", 18, p, PGRES_COMMAND_OK, false, 0, NULL, err);
	/* The servers' stampers wake at commit (web/documents.c). */
	if (!rc && seal && is.timestamps)
		rc = eng_store__send_sql(t->s, "NOTIFY tramit_documents", err);
	if (rc)
		goto done;
	json_t *list = json_object_get(t->payload, "documents");
	if (!list) {
		list = json_array();
		json_object_set_new(t->payload, "documents", list);
	}
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}", "name", f.tp->name, "csv", f.csv,
	                                      "sha256", sha, "sealed", seal != NULL));
done:
	if (pdf)
		is.release(pdf);
	if (seal)
		is.release(seal);
	free(pdf_hex);
	free(seal_hex);
	free(record);
	json_decref(f.record);
	return rc;
}

static void view_take(PGresult *r, int i, struct eng_arena *a, struct eng_issued_view *v)
{
	*v = (struct eng_issued_view){
		.id = eng_arena_strdup(a, PQgetvalue(r, i, 0)),
		.name = eng_arena_strdup(a, PQgetvalue(r, i, 1)),
		.title = {eng_arena_strdup(a, PQgetvalue(r, i, 2)), eng_arena_strdup(a, PQgetvalue(r, i, 3))},
		.template_kind = eng_arena_strdup(a, PQgetvalue(r, i, 4)),
		.csv = eng_arena_strdup(a, PQgetvalue(r, i, 5)),
		.sha256 = eng_arena_strdup(a, PQgetvalue(r, i, 6)),
		.media_type = eng_arena_strdup(a, PQgetvalue(r, i, 7)),
		.created_at = eng_arena_strdup(a, PQgetvalue(r, i, 8)),
		.sealed = strcmp(PQgetvalue(r, i, 9), "t") == 0,
		.timestamped_at = PQgetisnull(r, i, 10) ? NULL : eng_arena_strdup(a, PQgetvalue(r, i, 10)),
	};
}

int eng_issued_list(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *expedient_id, struct eng_issued_view **out, size_t *n,
                    struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	if (!eng_uuid_valid(expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no such expedient");
	const char *p[] = {entity_id, expedient_id};
	PGresult *r = eng_store__run(s, "issued_list", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rows = PQntuples(r);
	*out = rows ? eng_arena_alloc(a, (size_t)rows * sizeof(**out)) : NULL;
	for (int i = 0; i < rows; i++)
		view_take(r, i, a, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(r);
	return 0;
}

static const char *bytes_take(PGresult *r, int i, int col, struct eng_arena *a, size_t *len)
{
	*len = 0;
	if (PQgetisnull(r, i, col))
		return NULL;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, col), len);
	const char *copy = b ? eng_arena_strndup(a, (const char *)b, *len) : NULL;
	PQfreemem(b);
	return copy;
}

int eng_issued_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                   const char *expedient_id, const char *id, struct eng_issued_view *out,
                   struct eng_error *err)
{
	if (!eng_uuid_valid(expedient_id) || !eng_uuid_valid(id))
		return eng_error_set(err, ENG_ENOTFOUND, "no such document");
	const char *p[] = {entity_id, expedient_id, id};
	PGresult *r = eng_store__run(s, "issued_get", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rc = 0;
	if (PQntuples(r) != 1) {
		rc = eng_error_set(err, ENG_ENOTFOUND, "no such document");
	} else {
		view_take(r, 0, a, out);
		out->content = bytes_take(r, 0, 11, a, &out->content_len);
		out->seal = bytes_take(r, 0, 12, a, &out->seal_len);
		out->timestamp = bytes_take(r, 0, 13, a, &out->timestamp_len);
	}
	PQclear(r);
	return rc;
}

int eng_issued_stamp_claim(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                           int max, int lease_s, struct eng_stamp_item **out, size_t *n,
                           struct eng_error *err)
{
	*out = NULL;
	*n = 0;
	char lim[16], lease[16];
	snprintf(lim, sizeof(lim), "%d", max);
	snprintf(lease, sizeof(lease), "%d", lease_s);
	const char *p[] = {entity_id, lim, lease};
	PGresult *r = eng_store__run(s, "stamp_claim", 3, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	int rows = PQntuples(r);
	*out = rows ? eng_arena_alloc(a, (size_t)rows * sizeof(**out)) : NULL;
	for (int i = 0; i < rows; i++) {
		struct eng_stamp_item *it = &(*out)[i];
		it->id = eng_arena_strdup(a, PQgetvalue(r, i, 0));
		it->seal = bytes_take(r, i, 1, a, &it->seal_len);
		it->attempts = atoi(PQgetvalue(r, i, 2));
	}
	*n = (size_t)rows;
	PQclear(r);
	return 0;
}

int eng_issued_stamp_record(struct eng_store *s, const char *id, const unsigned char *token,
                            size_t len, const char *gen_time, const unsigned char *seal_t,
                            size_t seal_t_len, const char *why, struct eng_error *err)
{
	PGresult *r;
	if (token && seal_t) {
		char *hex = hex_new(token, len), *seal_hex = hex_new(seal_t, seal_t_len);
		const char *p[] = {id, hex, gen_time, seal_hex};
		r = hex && seal_hex ? eng_store__run(s, "stamp_done", 4, p, PGRES_COMMAND_OK, err) : NULL;
		if (!hex || !seal_hex)
			eng_error_set(err, ENG_EINTERNAL, "out of memory");
		free(hex);
		free(seal_hex);
	} else {
		const char *p[] = {id, why ? why : "unknown"};
		r = eng_store__run(s, "stamp_failed", 2, p, PGRES_COMMAND_OK, err);
	}
	if (!r)
		return err->code;
	PQclear(r);
	return 0;
}
