/* Outgoing exchanges: one registry entry, its party and its documents read in one
 * transaction, written as a SICRES 3.0 file under the next Identificador_Intercambio, and
 * recorded as an outgoing exchange in state "sent". The file is written beside its final
 * name and renamed only after COMMIT, so a failure leaves no row, no number used, no file. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connectors/docs/docs.h"
#include "connectors/sicres/sicres_internal.h"

/* The entry, its expedient's application (exposa, solicita, or every field as lines) and the
 * party's contact details. Times in Europe/Madrid (the transaction's time zone). */
static const char entry_sql[] =
	"SELECT r.id, r.number, to_char(r.presented_at, 'YYYYMMDDHH24MISS'), r.party_nif, "
	"r.party_name, r.summary, coalesce(x.number, ''), coalesce(x.id::text, ''), "
	"coalesce(x.data->>'exposa', (SELECT string_agg(key || ': ' || value, E'\\n' ORDER BY key) "
	"FROM jsonb_each_text(x.data)), ''), coalesce(x.data->>'solicita', r.summary), "
	"coalesce(p.email, ''), coalesce(p.phone, ''), r.annulled_at IS NOT NULL "
	"FROM registry_entry r LEFT JOIN expedient x ON x.id = r.expedient_id "
	"LEFT JOIN person p ON p.entity_id = r.entity_id AND p.nif = r.party_nif "
	"WHERE r.entity_id = $1 AND r.number = $2";

/* A filing's documents (its receipt), or the annexes an accepted exchange brought. Binary
 * results so content arrives as bytes; the other columns are text, whose binary form is the
 * text itself. */
static const char docs_sql[] =
	"SELECT d.kind, d.media_type, d.content, coalesce(l.file_name, '') FROM document d "
	"LEFT JOIN registry_entry_document l ON l.document_id = d.id AND l.entry_id = $1::bigint "
	"WHERE (d.expedient_id = nullif($2, '')::uuid OR l.entry_id IS NOT NULL) "
	"ORDER BY l.position, d.created_at, d.id";

static const char counter_sql[] =
	"INSERT INTO interchange_counter (entity_id, office, year, last) VALUES ($1, $2, "
	"extract(year FROM clock_timestamp() AT TIME ZONE 'Europe/Madrid'), 1) "
	"ON CONFLICT (entity_id, office, year) DO UPDATE SET last = interchange_counter.last + 1 "
	"RETURNING year % 100, last";

static const char record_sql[] =
	"INSERT INTO interchange (entity_id, identifier, direction, state, origin_code, origin_name, "
	"destination_code, destination_name, origin_number, party_nif, party_name, summary, "
	"n_annexes, xml, xml_sha256, registry_entry_id, created_by) VALUES ($1, $2, 'out', 'sent', "
	"$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";

struct export {
	const struct conn_sicres_export_options *opt;
	struct conn_sicres_record rec;
	struct eng_arena arena;
	PGconn *conn;
	const char *entry_id, *party_nif, *party_name, *expedient_id;
	struct conn_sicres_error *err;
};

/* A NIF's document type: N for a DNI, E for a NIE, C for a legal entity (UNVERIFIED codes). */
static const char *doc_type_of(const char *nif)
{
	if (isdigit((unsigned char)nif[0]))
		return "N";
	return strchr("XYZ", nif[0]) ? "E" : "C";
}

/* Our person table holds one name; SICRES wants name and two surnames for people: the first
 * word is the name, the second the first surname, the rest the second surname. */
static void party_fill(struct export *x, struct conn_sicres_party *p, const char *email,
                       const char *phone)
{
	struct eng_arena *a = &x->arena;
	p->doc_type = doc_type_of(x->party_nif);
	p->doc_id = x->party_nif;
	p->email = *email ? sicres__fit(a, eng_arena_strdup(a, email), 160) : NULL;
	p->phone = *phone ? sicres__fit(a, eng_arena_strdup(a, phone), 20) : NULL;
	if (strcmp(p->doc_type, "C") == 0) {
		p->company = sicres__fit(a, x->party_name, 80);
		return;
	}
	char *words[3] = {0};
	char *copy = eng_arena_strdup(a, x->party_name), *save = NULL;
	words[0] = strtok_r(copy, " ", &save);
	words[1] = strtok_r(NULL, " ", &save);
	words[2] = strtok_r(NULL, "", &save);
	p->name = words[0] ? sicres__fit(a, words[0], 30) : sicres__fit(a, x->party_nif, 30);
	p->surname1 = words[1] ? sicres__fit(a, words[1], 30) : NULL;
	p->surname2 = words[2] ? sicres__fit(a, words[2], 30) : NULL;
}

static int load_entry(struct export *x)
{
	const char *p[] = {x->opt->entity_id, x->opt->number};
	PGresult *r = sicres__query(x->conn, "reading the registry entry", entry_sql, 2, p, 0, x->err);
	if (!r)
		return CONN_SICRES_EFAIL;
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = sicres__fail(x->err, CONN_SICRES_ENOTFOUND, "no registry entry %s in entity %s",
		                  x->opt->number, x->opt->entity_id);
	else if (strcmp(PQgetvalue(r, 0, 12), "t") == 0)
		rc = sicres__fail(x->err, CONN_SICRES_EINVALID, "registry entry %s is annulled and "
		                  "cannot be sent", x->opt->number);
	if (rc) {
		PQclear(r);
		return rc;
	}
	struct eng_arena *a = &x->arena;
#define COL(i) eng_arena_strdup(a, PQgetvalue(r, 0, i))
	x->entry_id = COL(0);
	x->rec.entry_number = COL(1);
	x->rec.entry_time = COL(2);
	x->party_nif = COL(3);
	x->party_name = COL(4);
	x->rec.summary = sicres__fit(a, COL(5), 240);
	x->rec.expedient_number = *PQgetvalue(r, 0, 6) ? COL(6) : NULL;
	x->expedient_id = COL(7);
	x->rec.expone = sicres__fit(a, COL(8), 4000);
	x->rec.solicita = sicres__fit(a, COL(9), 4000);
	x->rec.parties = eng_arena_alloc(a, sizeof(*x->rec.parties));
	x->rec.n_parties = 1;
	party_fill(x, &x->rec.parties[0], PQgetvalue(r, 0, 10), PQgetvalue(r, 0, 11));
#undef COL
	PQclear(r);
	return 0;
}

static void annex_add(struct export *x, size_t *cap, const char *name, const char *ext,
                      const char *validity, const char *type, const char *mime,
                      const unsigned char *bytes, size_t len)
{
	struct conn_sicres_record *rec = &x->rec;
	if (rec->n_annexes == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		struct conn_sicres_annex *grown = eng_arena_alloc(&x->arena, *cap * sizeof(*grown));
		if (rec->n_annexes)
			memcpy(grown, rec->annexes, rec->n_annexes * sizeof(*grown));
		rec->annexes = grown;
	}
	struct conn_sicres_annex *a = &rec->annexes[rec->n_annexes++];
	a->file_name = sicres__fit(&x->arena, name, 80);
	a->file_id = eng_arena_printf(&x->arena, "%s_01_%04zu.%s", rec->exchange_id, rec->n_annexes, ext);
	a->validity = sicres__code("Validez_Documento", validity);
	a->doc_type = sicres__code("Tipo_Documento", type);
	a->mime = mime;
	a->content = bytes;
	a->len = len;
}

/* A receipt goes as its PDF rendering (what a person reads) and its JSON original (what a
 * program checks); other documents as they are. */
static int receipt_annexes(struct export *x, size_t *cap, const char *json, size_t len)
{
	char *text = eng_arena_strndup(&x->arena, json, len);
	char stem[64];
	snprintf(stem, sizeof(stem), "justificant-%s", x->rec.entry_number);
	for (char *s = stem; *s; s++)
		if (*s == '/')
			*s = '-';
	unsigned char *pdf = NULL;
	size_t pdf_len = 0;
	struct conn_error cerr = {0};
	if (conn_doc_receipt_pdf(&pdf, &pdf_len, text, NULL, x->opt->verify_base_url, &cerr) != 0)
		return sicres__fail(x->err, CONN_SICRES_EFAIL, "rendering the receipt of %s as PDF: %s",
		                    x->rec.entry_number, cerr.msg);
	unsigned char *kept = eng_arena_alloc(&x->arena, pdf_len);
	memcpy(kept, pdf, pdf_len);
	conn_doc_free(pdf);
	annex_add(x, cap, eng_arena_printf(&x->arena, "%s.pdf", stem), "pdf", "copia",
	          "documento adjunto", "application/pdf", kept, pdf_len);
	annex_add(x, cap, eng_arena_printf(&x->arena, "%s.json", stem), "json", "original",
	          "fichero tecnico interno", "application/json", (const unsigned char *)text, len);
	return 0;
}

static int load_annexes(struct export *x)
{
	const char *p[] = {x->entry_id, x->expedient_id};
	PGresult *r = sicres__query(x->conn, "reading the entry's documents", docs_sql, 2, p, 1, x->err);
	if (!r)
		return CONN_SICRES_EFAIL;
	size_t cap = 0;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		/* Copied: annexes outlive the result (sicres__fit returns what fits as it is). */
		const char *kind = PQgetvalue(r, i, 0);
		const char *mime = eng_arena_strdup(&x->arena, PQgetvalue(r, i, 1));
		size_t len = (size_t)PQgetlength(r, i, 2);
		unsigned char *bytes = eng_arena_alloc(&x->arena, len + 1);
		memcpy(bytes, PQgetvalue(r, i, 2), len);
		if (strcmp(kind, "receipt") == 0 && strcmp(mime, "application/json") == 0) {
			rc = receipt_annexes(x, &cap, (const char *)bytes, len);
			continue;
		}
		const char *name = *PQgetvalue(r, i, 3) ? eng_arena_strdup(&x->arena, PQgetvalue(r, i, 3))
		                   : eng_arena_printf(&x->arena, "document-%d", i + 1);
		const char *dot = strrchr(name, '.');
		annex_add(x, &cap, name, dot && strlen(dot) <= 5 ? dot + 1 : "bin", "copia",
		          "documento adjunto", sicres__fit(&x->arena, mime, 20), bytes, len);
	}
	PQclear(r);
	return rc;
}

static int take_identifier(struct export *x, const char *office)
{
	const char *p[] = {x->opt->entity_id, office};
	PGresult *r = sicres__query(x->conn, "taking an exchange identifier", counter_sql, 2, p, 0, x->err);
	if (!r)
		return CONN_SICRES_EFAIL;
	x->rec.exchange_id = eng_arena_printf(&x->arena, "%s_%02d_%08lld", office,
	                                      atoi(PQgetvalue(r, 0, 0)), atoll(PQgetvalue(r, 0, 1)));
	PQclear(r);
	return 0;
}

/* Fills what comes from the entity and the options rather than from the entry. */
static int fill_control(struct export *x)
{
	const char *office, *office_name;
	int rc = sicres__office(&office, &office_name, &x->arena, x->conn, x->opt->entity_id, x->err);
	if (rc == 0)
		rc = take_identifier(x, office);
	if (rc)
		return rc;
	struct conn_sicres_record *rec = &x->rec;
	rec->origin_code = rec->start_code = office;
	rec->origin_name = rec->start_name = sicres__fit(&x->arena, office_name, 80);
	rec->destination_code = x->opt->to;
	rec->destination_name = x->opt->to_name ? sicres__fit(&x->arena, x->opt->to_name, 80) : NULL;
	rec->user_name = sicres__fit(&x->arena, x->opt->actor, 80);
	rec->annotation_type = sicres__code("Tipo_Anotacion", "envio");
	rec->record_type = sicres__code("Tipo_Registro", "entrada");
	rec->physical_docs = sicres__code("Documentacion_Fisica", "no acompana documentacion fisica");
	rec->test_flag = sicres__code("Indicador_Prueba", "normal");
	return 0;
}

static int write_tmp(const char *tmp, const char *xml, size_t len, struct conn_sicres_error *err)
{
	FILE *f = fopen(tmp, "wb");
	bool ok = f && fwrite(xml, 1, len, f) == len;
	ok = f && fclose(f) == 0 && ok;
	if (!ok) {
		unlink(tmp);
		return sicres__fail(err, CONN_SICRES_EFAIL, "cannot write %s", tmp);
	}
	return 0;
}

static int record(struct export *x, const char *xml, size_t len, const char *tmp)
{
	char sha[65], n_annexes[16];
	sicres__sha256_hex(sha, (const unsigned char *)xml, len);
	snprintf(n_annexes, sizeof(n_annexes), "%zu", x->rec.n_annexes);
	const struct conn_sicres_record *r = &x->rec;
	const char *p[] = {x->opt->entity_id, r->exchange_id, r->origin_code, r->origin_name,
	                   r->destination_code, r->destination_name ? r->destination_name : "",
	                   r->entry_number, x->party_nif, x->party_name, r->summary, n_annexes, xml,
	                   sha, x->entry_id, x->opt->actor};
	int lengths[15] = {0}, formats[15] = {0};
	lengths[11] = (int)len;
	formats[11] = 1;
	PGresult *res = sicres__query_bin(x->conn, "recording the exchange", record_sql, 15, p,
	                                  lengths, formats, 0, x->err);
	if (!res)
		return CONN_SICRES_EFAIL;
	char id[24];
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	int rc = sicres__event(x->conn, id, NULL, "sent", NULL, x->opt->actor, x->err);
	return rc ? rc : write_tmp(tmp, xml, len, x->err);
}

static int run(struct conn_sicres_result *out, struct export *x)
{
	char *xml = NULL;
	size_t len = 0;
	int rc = conn_sicres_dir3_check(x->opt->to, x->err);
	if (rc || (rc = sicres__begin(x->conn, x->err)) != 0)
		return rc;
	if ((rc = load_entry(x)) == 0 && (rc = fill_control(x)) == 0 &&
	    (rc = load_annexes(x)) == 0 && (rc = conn_sicres_write(&xml, &len, &x->rec, x->err)) == 0) {
		char *tmp = eng_arena_printf(&x->arena, "%s.tmp", x->opt->path);
		if ((rc = record(x, xml, len, tmp)) == 0 && (rc = sicres__commit(x->conn, x->err)) != 0)
			unlink(tmp);
		if (rc == 0 && rename(tmp, x->opt->path) != 0)
			rc = sicres__fail(x->err, CONN_SICRES_EFAIL, "exchange %s recorded, but %s could not "
			                  "be renamed to %s", x->rec.exchange_id, tmp, x->opt->path);
	}
	if (rc)
		sicres__rollback(x->conn);
	free(xml);
	if (rc == 0) {
		snprintf(out->identifier, sizeof(out->identifier), "%s", x->rec.exchange_id);
		snprintf(out->state, sizeof(out->state), "sent");
		snprintf(out->registry_number, sizeof(out->registry_number), "%s", x->rec.entry_number);
		out->n_annexes = x->rec.n_annexes;
	}
	return rc;
}

int conn_sicres_export(struct conn_sicres_result *out, PGconn *conn,
                       const struct conn_sicres_export_options *opt, struct conn_sicres_error *err)
{
	memset(out, 0, sizeof(*out));
	struct export x = {.opt = opt, .conn = conn, .err = err};
	int rc = run(out, &x);
	eng_arena_free(&x.arena);
	return rc;
}
