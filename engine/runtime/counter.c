/* Assisted filing at the counter (counter.h): what the filing transition writes besides the
 * expedient, and the reads of the recorded consent. Invariant: a counter filing's person
 * record, registry channel, receipt member, event record and consent row are written in the
 * filing's own transaction, so either all of them exist or none does. */
#include "counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/validate.h"
#include "store_internal.h"

static const char *const statements[][2] = {
	/* An existing record is reused as it is; one the sign-in made from a bare NIF (named
	 * by the NIF) takes the name given at the counter, and a missing e-mail the one given. */
	{"counter_person",
	 "INSERT INTO person (entity_id, nif, name, email, lang) VALUES ($1, $2, $3, nullif($4, ''), $5) "
	 "ON CONFLICT (entity_id, nif) DO UPDATE SET "
	 "name = CASE WHEN person.name = person.nif THEN EXCLUDED.name ELSE person.name END, "
	 "email = coalesce(person.email, EXCLUDED.email)"},
	{"counter_registry",
	 "UPDATE registry_entry SET channel = 'assistit', filed_by = $3, filed_by_name = $4 "
	 "WHERE entity_id = $1 AND number = $2 AND channel IS NULL"},
	{"counter_insert",
	 "INSERT INTO counter_consent (id, entity_id, official, official_name, person_nif, person_name, "
	 "method, id_document_type, id_document, scan, scan_media_type, scan_sha256, expedient_id, "
	 "registry_number, given_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, decode($10, 'hex'), "
	 "$11, $12, $13, $14, to_timestamp($15::bigint / 1000.0))"},
	{"counter_get",
	 "SELECT id::text, official, official_name, person_nif, person_name, method, id_document_type, "
	 "id_document, registry_number, " ENG__ISO("given_at") ", scan_sha256, scan_media_type, "
	 "coalesce(length(scan), 0) FROM counter_consent WHERE entity_id = $1 AND expedient_id = $2::uuid"},
	{"counter_scan",
	 "SELECT encode(scan, 'hex') FROM counter_consent WHERE entity_id = $1 AND "
	 "expedient_id = $2::uuid AND scan IS NOT NULL"},
};

int eng_store__counter_prepare(struct eng_store *s, struct eng_error *err)
{
	return eng_store__prepare(s, statements, sizeof(statements) / sizeof(statements[0]), err);
}

static bool one_of(const char *v, const char *const *set)
{
	for (; v && *set; set++)
		if (strcmp(v, *set) == 0)
			return true;
	return false;
}

/* A document number as printed: letters and digits only, 3 to 20 of them. */
static bool document_number_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 3 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

int eng_assisted_check(const struct eng_command *cmd, struct eng_error *err)
{
	const struct eng_assisted *a = cmd->assisted;
	const struct eng_actor *who = &cmd->event.actor;
	static const char *const methods[] = {"in_person", "signed_form", NULL};
	static const char *const types[] = {"dni", "nie", "passport", NULL};
	static const char *const langs[] = {"ca", "es", NULL};
	if (!a)
		return eng_error_set(err, ENG_EINVALID, "an assisted filing needs the person's consent");
	if (cmd->expedient_id)
		return eng_error_set(err, ENG_EINVALID, "an assisted filing starts a new expedient");
	if (who->kind != ENG_PRINCIPAL_EMPLOYEE || !who->id || !*who->id)
		return eng_error_set(err, ENG_EINVALID, "an assisted filing is made by an employee");
	/* Art. 12.2 assists persons not obliged to use electronic means: natural persons. */
	if (!who->represents || !(eng_dni_valid(who->represents) || eng_nie_valid(who->represents)))
		return eng_error_set(err, ENG_EINVALID, "the person filed for needs a valid DNI or NIE, not '%.20s'",
		                     who->represents ? who->represents : "");
	size_t name = a->person_name ? strlen(a->person_name) : 0;
	if (name == 0 || name > 200)
		return eng_error_set(err, ENG_EINVALID, "the person's name has 1 to 200 bytes, not %zu", name);
	if (!a->official_name || !*a->official_name)
		return eng_error_set(err, ENG_EINVALID, "the official's name is missing");
	if (a->email && *a->email && !eng_email_valid(a->email))
		return eng_error_set(err, ENG_EINVALID, "'%.100s' is not an e-mail address", a->email);
	if (!one_of(a->lang, langs))
		return eng_error_set(err, ENG_EINVALID, "the person's language is ca or es, not '%.10s'",
		                     a->lang ? a->lang : "");
	if (!one_of(a->method, methods))
		return eng_error_set(err, ENG_EINVALID, "consent is given in_person or by signed_form, not '%.20s'",
		                     a->method ? a->method : "");
	if (!one_of(a->id_document_type, types))
		return eng_error_set(err, ENG_EINVALID, "the identity document is a dni, nie or passport, not '%.20s'",
		                     a->id_document_type ? a->id_document_type : "");
	if (!document_number_valid(a->id_document))
		return eng_error_set(err, ENG_EINVALID, "the identity document's number has 3 to 20 capital "
		                     "letters and digits, not '%.30s'", a->id_document ? a->id_document : "");
	bool signed_form = strcmp(a->method, "signed_form") == 0;
	if (signed_form != (a->scan && a->scan_len > 0 && a->scan_media_type))
		return eng_error_set(err, ENG_EINVALID, signed_form ? "a consent on a signed form needs its scan"
		                     : "a consent given in person has no scan");
	return 0;
}

static int send_cmd(struct eng__tx *t, const char *name, int n, const char *const *p, bool one_row,
                    struct eng_error *err)
{
	return eng_store__send(t->s, name, n, p, PGRES_COMMAND_OK, one_row, ENG_EINTERNAL, NULL, err);
}

int eng_store__counter_person(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	int rc = eng_assisted_check(c, err);
	if (rc)
		return rc;
	const struct eng_assisted *a = c->assisted;
	const char *p[] = {c->entity_id, c->event.actor.represents, a->person_name,
	                   a->email ? a->email : "", a->lang};
	return send_cmd(t, "counter_person", 5, p, false, err);
}

static char *hex(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(2 * n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

int eng_store__counter_record(struct eng__tx *t, struct eng_error *err)
{
	const struct eng_command *c = t->cmd;
	const struct eng_assisted *a = c->assisted;
	/* The filing is the registry entry: a tràmit that does not register cannot be filed here. */
	if (!t->out->registry_number[0])
		return eng_error_set(err, ENG_EINVALID, "tràmit %s makes no registry entry when filed, so it "
		                     "cannot be filed at the counter", t->def->code);
	const char *pr[] = {c->entity_id, t->out->registry_number, c->event.actor.id, a->official_name};
	int rc = send_cmd(t, "counter_registry", 4, pr, true, err);
	if (rc)
		return rc;
	char id[37], at[24], sha[65] = "";
	eng_store__uuid_new(id);
	snprintf(at, sizeof(at), "%lld", (long long)c->event.time_ms);
	char *scan = NULL;
	if (a->scan) {
		if (!(scan = hex(a->scan, a->scan_len)))
			return eng_error_set(err, ENG_EINTERNAL, "out of memory for a scan of %zu bytes", a->scan_len);
		eng_store__sha256_hex(sha, a->scan, a->scan_len);
	}
	const char *p[] = {id, c->entity_id, c->event.actor.id, a->official_name, c->event.actor.represents,
	                   a->person_name, a->method, a->id_document_type, a->id_document, scan,
	                   scan ? a->scan_media_type : NULL, scan ? sha : NULL, t->out->expedient_id,
	                   t->out->registry_number, at};
	rc = send_cmd(t, "counter_insert", 15, p, true, err);
	free(scan);
	if (rc)
		return rc;
	/* The event says who filed for whom and under which consent; replay and audit read it. */
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "channel", "assistit", "consent", id,
	                      "method", a->method, "official_name", a->official_name,
	                      "person_name", a->person_name);
	if (!j)
		return eng_error_set(err, ENG_EINVALID, "the official's or the person's name is not UTF-8");
	json_object_set_new(t->payload, "assisted", j);
	return 0;
}

json_t *eng_store__counter_receipt(const struct eng_command *c)
{
	const struct eng_assisted *a = c->assisted;
	return json_pack("{s:s, s:s, s:s, s:s}", "channel", "assistit", "official", c->event.actor.id,
	                 "official_name", a->official_name, "consent", a->method);
}

int eng_counter_get(struct eng_store *s, struct eng_arena *a, const char *entity_id,
                    const char *expedient_id, struct eng_counter_view *out, struct eng_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!eng_uuid_valid(expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient '%.40s'", expedient_id);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, expedient_id};
	PGresult *r = eng_store__run(s, "counter_get", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return eng_error_set(err, ENG_ENOTFOUND, "expedient %s was not filed at the counter", expedient_id);
	}
	const char **cols[] = {&out->id, &out->official, &out->official_name, &out->person_nif,
	                       &out->person_name, &out->method, &out->id_document_type, &out->id_document,
	                       &out->registry_number, &out->given_at, &out->scan_sha256,
	                       &out->scan_media_type};
	for (int i = 0; i < (int)(sizeof(cols) / sizeof(cols[0])); i++)
		*cols[i] = eng_store__col(a, r, 0, i);
	out->scan_len = atoll(PQgetvalue(r, 0, 12));
	PQclear(r);
	return 0;
}

static int nibble(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int eng_counter_scan(struct eng_store *s, const char *entity_id, const char *expedient_id,
                     unsigned char **out, size_t *len, struct eng_error *err)
{
	*out = NULL;
	*len = 0;
	if (!eng_uuid_valid(expedient_id))
		return eng_error_set(err, ENG_ENOTFOUND, "no expedient '%.40s'", expedient_id);
	int rc = eng_store__ensure(s, err);
	if (rc)
		return rc;
	const char *p[] = {entity_id, expedient_id};
	PGresult *r = eng_store__run(s, "counter_scan", 2, p, PGRES_TUPLES_OK, err);
	if (!r)
		return err->code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return eng_error_set(err, ENG_ENOTFOUND, "expedient %s has no consent scan", expedient_id);
	}
	const char *h = PQgetvalue(r, 0, 0);
	size_t n = strlen(h) / 2;
	unsigned char *b = malloc(n ? n : 1);
	for (size_t i = 0; b && i < n; i++)
		b[i] = (unsigned char)(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
	PQclear(r);
	if (!b)
		return eng_error_set(err, ENG_EINTERNAL, "out of memory for a scan of %zu bytes", n);
	*out = b;
	*len = n;
	return 0;
}
