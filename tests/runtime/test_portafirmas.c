/* The portasignatures against a real PostgreSQL: circuits of lines (sequential, parallel
 * needing any or all), approvals, rejection with and without a reason, delegation, expiry and
 * reminders, a missing document, decree numbers without gaps under concurrent completions,
 * the result event moving the expedient, and every stored signature verified by
 * `openssl cms -verify` against the test CA (tests/sign/make_signers.sh). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/sign/sign.h"
#include "dsl/dsl.h"
#include "engine/core/calendar.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/portafirmas.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/trust.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define T0 1772442000000LL /* Mon 2026-03-02 10:00 Madrid */
#define DAY 86400000LL

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;
static char pki[700];
static const char pdf[] = "%PDF-1.4\n% resolucio de prova\n%%EOF\n";

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

static struct eng_sign_line line(struct eng_arena *a, bool any, int n, ...)
{
	struct eng_sign_line l = {.any = any, .n_signers = (size_t)n};
	struct eng_sign_signer *s = eng_arena_alloc(a, sizeof(*s) * (size_t)n);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *role = va_arg(ap, const char *);
		s[i].approve = role[0] == '+'; /* "+role": an approval */
		s[i].role = role + (role[0] == '+');
	}
	va_end(ap);
	l.signers = s;
	return l;
}

static struct eng_sign *circuit(struct eng_arena *a, size_t n, struct eng_sign_line *lines)
{
	struct eng_sign *s = eng_arena_alloc(a, sizeof(*s));
	s->document = "resolucio";
	s->lines = eng_arena_alloc(a, sizeof(*lines) * n);
	memcpy(s->lines, lines, sizeof(*lines) * n);
	s->n_lines = n;
	s->explicit_lines = true;
	const char **roles = eng_arena_alloc(a, sizeof(*roles) * 8);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < lines[i].n_signers; k++)
			roles[s->n_signers++] = lines[i].signers[k].role;
	s->signers = roles;
	return s;
}

/* draft -submit-> proposed; from proposed three ways to the signing state (three circuits);
 * in signing, outcome signed runs grant (-> granted) and rejected runs back (-> proposed). */
static struct eng_definition *signature_definition(void)
{
	struct eng_definition *d = calloc(1, sizeof(*d));
	struct eng_arena *a = &d->arena;
	d->code = "SIG-001";
	d->version = "1";
	d->title = (struct eng_text){"Decret de prova", "Decreto de prueba"};
	d->family = "general";
	d->unit = "participacio";
	d->applicants = ENG_APPLICANT_PERSON | ENG_APPLICANT_COMPANY;
	strcpy(d->hash, "5151515151515151515151515151515151515151515151515151515151515151");
	d->n_sections = 1;
	d->sections = eng_arena_alloc(a, sizeof(*d->sections));
	d->sections[0] = (struct eng_section){"s", {"Secció", "Sección"}, 1};
	d->n_fields = 1;
	d->fields = eng_arena_alloc(a, sizeof(*d->fields));
	d->fields[0] = (struct eng_field){.name = "assumpte", .type = ENG_FIELD_TEXT,
		.label = {"Assumpte", "Asunto"}, .section = "s", .required = true};
	struct eng_sign_line three[] = {line(a, false, 1, "cap_servei"),
		line(a, true, 2, "intervencio", "secretaria"), line(a, false, 1, "alcaldia")};
	struct eng_sign_line all[] = {line(a, false, 2, "cap_servei", "intervencio"),
		line(a, false, 1, "+secretaria")};
	struct eng_sign_line mayor[] = {line(a, false, 1, "alcaldia")};
	struct eng_action *acts = eng_arena_alloc(a, sizeof(*acts) * 6);
	acts[0] = (struct eng_action){.name = "submit", .label = {"Presentar", "Presentar"},
		.by = ENG_BY_APPLICANT, .to = "proposed", .flags = ENG_ACTION_FORM};
	acts[1] = (struct eng_action){.name = "send3", .label = {"Enviar", "Enviar"},
		.by = ENG_BY_ROLE, .role = "tecnic", .to = "signing", .sign = circuit(a, 3, three)};
	acts[2] = (struct eng_action){.name = "send_all", .label = {"Enviar", "Enviar"},
		.by = ENG_BY_ROLE, .role = "tecnic", .to = "signing", .sign = circuit(a, 2, all)};
	acts[3] = (struct eng_action){.name = "send_mayor", .label = {"Enviar", "Enviar"},
		.by = ENG_BY_ROLE, .role = "tecnic", .to = "signing", .sign = circuit(a, 1, mayor)};
	acts[4] = (struct eng_action){.name = "grant", .label = {"Concedir", "Conceder"},
		.by = ENG_BY_SYSTEM, .to = "granted"};
	acts[5] = (struct eng_action){.name = "back", .label = {"Tornar", "Volver"},
		.by = ENG_BY_SYSTEM, .to = "proposed"};
	struct eng_on_result *on = eng_arena_alloc(a, sizeof(*on) * 2);
	on[0] = (struct eng_on_result){"signed", "grant"};
	on[1] = (struct eng_on_result){"rejected", "back"};
	d->n_states = 4;
	d->states = eng_arena_alloc(a, sizeof(*d->states) * 4);
	d->states[0] = (struct eng_state){.name = "draft", .label = {"Esborrany", "Borrador"},
		.initial = true, .actions = &acts[0], .n_actions = 1};
	d->states[1] = (struct eng_state){.name = "proposed", .label = {"Proposta", "Propuesta"},
		.actions = &acts[1], .n_actions = 3};
	d->states[2] = (struct eng_state){.name = "signing", .label = {"A la firma", "A la firma"},
		.actions = &acts[4], .n_actions = 2, .on = on, .n_on = 2};
	d->states[3] = (struct eng_state){.name = "granted", .label = {"Concedida", "Concedida"},
		.final = true};
	return d;
}

static void exec_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec_sql(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static char *query1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *query1(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect(const char *want, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	char *v = query1("%s", sql);
	cr_assert_str_eq(v, want, "%s: got '%s', want '%s'", sql, v, want);
	free(v);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = signature_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament Demo", "Ayuntamiento Demo", true, &err), 0);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	eng_store_close(s);
	exec_sql("INSERT INTO org_unit VALUES ('demo', 'u', 'Unitat', 'Unidad');"
	         "INSERT INTO employee VALUES ('demo', 'cap', 'Anna Cap', false), "
	         "('demo', 'inter', 'Jordi Interventor', false), ('demo', 'secre', 'Laura Secretària', false), "
	         "('demo', 'alcaldessa', 'Rosa Alcaldessa', false), ('demo', 'tecnic', 'Pau Tècnic', false);"
	         "INSERT INTO role_grant VALUES ('demo', 'cap', 'cap_servei', 'u'), "
	         "('demo', 'inter', 'intervencio', 'u'), ('demo', 'secre', 'secretaria', 'u'), "
	         "('demo', 'alcaldessa', 'alcaldia', 'u'), ('demo', 'tecnic', 'tecnic', 'u')");
	snprintf(pki, sizeof(pki), "%s/signers", cluster.dir);
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "sh %s/tests/sign/make_signers.sh %s cap:11111111H:'ANNA CAP' "
	                       "inter:22222222J:'JORDI INTERVENTOR' secre:33333333P:'LAURA SECRETARIA' "
	                       "alcaldessa:44444444A:'ROSA ALCALDESSA'", TRAMIT_SOURCE_DIR, pki), 0);
	free(out);
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(portafirmas, .init = setup, .fini = teardown, .timeout = 240);

static struct eng_store *open_store(void)
{
	struct eng_store *s;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	return s;
}

static const char *const tecnic[] = {"tecnic"};

/* Files an expedient, issues its resolution (unless without_document) and sends it to the
 * circuit of action `send` at time t; returns the request's id (malloc'd). */
static char *requested(struct eng_store *s, const char *send, int64_t t, bool without_document,
                       char **expedient)
{
	struct eng_arena arena = {0};
	struct eng_error err = {0};
	struct eng_outcome out;
	struct eng_value form[] = {{"assumpte", "Subvenció"}};
	struct eng_command create = {
		.entity_id = "demo", .def = def, .applicant_name = "Associació Prova", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "G12345674"},
		          .time_ms = t - 3600000, .form = form, .n_form = 1},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &create, lookup, NULL, &out, &err), 0, "%s", err.msg);
	char *id = strdup(out.expedient_id);
	if (!without_document)
		exec_sql("INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, content, "
		         "created_at) VALUES ('demo', '%s', 'resolucio', 'CSV-%s', encode(sha256(convert_to('%s', "
		         "'UTF8')), 'hex'), 'application/pdf', convert_to('%s', 'UTF8'), now())",
		         id, id, pdf, pdf);
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .expected_version = -1,
		.event = {.action = send, .time_ms = t,
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "tecnic", .roles = tecnic, .n_roles = 1}},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out.to_state, "signing");
	eng_arena_free(&arena);
	char *req = query1("SELECT id FROM signature_request WHERE expedient_id = '%s' AND state = 'pending'", id);
	if (expedient)
		*expedient = id;
	else
		free(id);
	return req;
}

/* A CAdES-BES detached signature of the test document by user's key, as web/ makes it. */
struct made {
	unsigned char *der;
	size_t len;
	char nif[16], subject[512];
};

static struct made sign_as(const char *user)
{
	struct made m = {0};
	char key[800], cert[800], ca[800];
	snprintf(key, sizeof(key), "%s/%s.key", pki, user);
	snprintf(cert, sizeof(cert), "%s/%s.pem", pki, user);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	struct conn_sign_signer *signer;
	struct conn_sign_trust *trust;
	struct conn_sign_error err = {0};
	struct conn_sign_report rep = {0};
	struct conn_sign_options opt = {.detached = true};
	cr_assert_eq(conn_sign_signer_load(&signer, key, cert, &err), 0, "%s", err.msg);
	cr_assert_eq(conn_sign_trust_load(&trust, ca, &err), 0, "%s", err.msg);
	const unsigned char *data = (const unsigned char *)pdf;
	cr_assert_eq(conn_sign_cades(&m.der, &m.len, signer, data, strlen(pdf), &opt, &err), 0, "%s", err.msg);
	cr_assert_eq(conn_sign_cades_verify(&rep, m.der, m.len, data, strlen(pdf), trust, &err), 0, "%s", err.msg);
	snprintf(m.nif, sizeof(m.nif), "%s", rep.nif);
	snprintf(m.subject, sizeof(m.subject), "%s", rep.subject);
	conn_sign_report_clear(&rep);
	conn_sign_trust_free(trust);
	conn_sign_signer_free(signer);
	return m;
}

static char *pdf_sha(void)
{
	return query1("SELECT encode(sha256(convert_to('%s', 'UTF8')), 'hex')", pdf);
}

/* user acts on request id at time t; returns the runtime's code, err and res filled. */
static int act_as(struct eng_store *s, const char *user, const char *id, enum eng_sig_act_kind kind,
                  const char *reason, int64_t t, struct eng_sig_result *res, struct eng_error *err)
{
	struct eng_arena arena = {0};
	struct made m = {0};
	char *sha = pdf_sha();
	struct eng_sig_act a = {.entity_id = "demo", .request_id = id, .by = user, .kind = kind,
	                        .time_ms = t, .reason = reason, .document_sha256 = sha};
	if (kind == ENG_SIG_SIGN) {
		m = sign_as(user);
		a.signature = m.der;
		a.signature_len = m.len;
		a.signer_nif = m.nif;
		a.signer_name = m.subject;
	}
	int rc = eng_signature_act(s, &arena, &a, lookup, NULL, res, err);
	free(m.der);
	free(sha);
	eng_arena_free(&arena);
	return rc;
}

static void ok(struct eng_store *s, const char *user, const char *id, enum eng_sig_act_kind kind,
               int64_t t, const char *outcome)
{
	struct eng_sig_result res;
	struct eng_error err = {0};
	cr_assert_eq(act_as(s, user, id, kind, kind == ENG_SIG_REJECT ? "No escau." : NULL, t, &res, &err),
	             0, "%s: %s", user, err.msg);
	if (outcome)
		cr_assert_str_eq(res.outcome ? res.outcome : "(none)", outcome);
	else
		cr_assert_null(res.outcome, "%s completed the request early", user);
}

/* The stored signature of place line-pos verifies with the openssl command line. */
static void openssl_verifies(const char *id, int line, int pos)
{
	struct eng_store *s = open_store();
	unsigned char *der;
	size_t len;
	struct eng_error err = {0};
	cr_assert_eq(eng_signature_blob(s, "demo", id, line, pos, &der, &len, &err), 0, "%s", err.msg);
	eng_store_close(s);
	char sig[800], doc[800];
	snprintf(sig, sizeof(sig), "%s/%s-%d-%d.p7s", cluster.dir, id, line, pos);
	snprintf(doc, sizeof(doc), "%s/doc.pdf", cluster.dir);
	FILE *f = fopen(sig, "wb");
	fwrite(der, 1, len, f);
	fclose(f);
	free(der);
	f = fopen(doc, "wb");
	fwrite(pdf, 1, strlen(pdf), f);
	fclose(f);
	char *out;
	int rc = shell_run(&out, NULL, "openssl cms -verify -binary -inform DER -in %s -content %s "
	                   "-CAfile %s/ca.pem -purpose any -out /dev/null 2>&1", sig, doc, pki);
	cr_assert_eq(rc, 0, "openssl cms -verify refused %d-%d: %s", line, pos, out);
	free(out);
	/* A changed byte fails. */
	f = fopen(doc, "ab");
	fputs("x", f);
	fclose(f);
	rc = shell_run(&out, NULL, "openssl cms -verify -binary -inform DER -in %s -content %s "
	               "-CAfile %s/ca.pem -purpose any -out /dev/null 2>&1", sig, doc, pki);
	cr_assert_neq(rc, 0, "a changed document still verified");
	free(out);
}

Test(portafirmas, three_lines_sequential_then_any_one_then_mayor_sign_and_move_the_expedient)
{
	struct eng_store *s = open_store();
	char *exp;
	char *id = requested(s, "send3", T0, false, &exp);
	expect("3|active,waiting,waiting|4", "SELECT (SELECT count(*) FROM signature_line WHERE request_id = '%1$s') || '|' || "
	       "(SELECT string_agg(state, ',' ORDER BY seq) FROM signature_line WHERE request_id = '%1$s') || '|' || "
	       "(SELECT count(*) FROM signature_signer WHERE request_id = '%1$s')", id);
	/* Nobody but the head of service may act on line 1; the mayor waits for line 3. */
	struct eng_sig_result res;
	struct eng_error err = {0};
	cr_assert_eq(act_as(s, "alcaldessa", id, ENG_SIG_SIGN, NULL, T0 + 1000, &res, &err), ENG_EDENIED);
	cr_assert_str_eq(err.msg, "line 1 of this request has no pending place for you");
	ok(s, "cap", id, ENG_SIG_SIGN, T0 + 2000, NULL);
	expect("2|done,active,waiting", "SELECT current_line || '|' || (SELECT string_agg(state, ',' ORDER BY seq) "
	       "FROM signature_line WHERE request_id = '%1$s') FROM signature_request WHERE id = '%1$s'", id);
	/* Any one of the comptroller and the secretary: the comptroller's signature ends line 2. */
	ok(s, "inter", id, ENG_SIG_SIGN, T0 + 3000, NULL);
	expect("signed,skipped", "SELECT string_agg(state, ',' ORDER BY pos) FROM signature_signer "
	       "WHERE request_id = '%s' AND line_seq = 2", id);
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_SIGN, NULL, T0 + 3500, &res, &err), ENG_EDENIED);
	expect("signing", "SELECT state FROM expedient WHERE id = '%s'", exp);
	ok(s, "alcaldessa", id, ENG_SIG_SIGN, T0 + 4000, "signed");
	/* The result moved the expedient in the same transaction that closed the request. */
	expect("granted|yes", "SELECT state || '|' || (vars->>'signed.resolucio') FROM expedient WHERE id = '%s'", exp);
	expect("signed|done,done,done|D/2026/000001", "SELECT state || '|' || (SELECT string_agg(state, ',' ORDER BY seq) "
	       "FROM signature_line WHERE request_id = '%1$s') || '|' || decree_number FROM signature_request "
	       "WHERE id = '%1$s'", id);
	expect("1", "SELECT count(*) FROM event WHERE expedient_id = '%s' AND kind = 'result' "
	       "AND payload::jsonb->'signature_request'->>'decree_number' = 'D/2026/000001'", exp);
	expect("11111111H,22222222J,44444444A", "SELECT string_agg(signer_nif, ',' ORDER BY line_seq, pos) "
	       "FROM signature_signer WHERE request_id = '%s' AND state = 'signed'", id);
	openssl_verifies(id, 1, 1);
	openssl_verifies(id, 2, 1);
	openssl_verifies(id, 3, 1);
	/* What the verification page shows of the document: its decree and its three
	 * signatures in circuit order, each with the very bytes stored (engine/runtime/trust.h). */
	char *doc = query1("SELECT document_id FROM signature_request WHERE id = '%s'", id);
	struct eng_arena ta = {0};
	struct eng_trust t;
	cr_assert_eq(eng_trust_get(s, &ta, doc, &t, &err), 0, "%s", err.msg);
	cr_assert_str_eq(t.decree_number, "D/2026/000001");
	cr_assert_eq(t.n_signatures, 3);
	const char *nifs[] = {"11111111H", "22222222J", "44444444A"};
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(t.signatures[i].signer_nif, nifs[i]);
		cr_expect_eq(t.signatures[i].line, (int)i + 1);
		cr_expect_eq(t.signatures[i].pos, 1);
		cr_expect(!t.signatures[i].approval && !t.signatures[i].on_behalf_of_name);
	}
	unsigned char *der;
	size_t der_len;
	char part[80];
	snprintf(part, sizeof(part), "%s/2/1", id);
	cr_assert_eq(eng_trust_blob(s, doc, part, &der, &der_len, &err), 0, "%s", err.msg);
	char *stored = query1("SELECT encode(signature, 'hex') FROM signature_signer WHERE "
	                      "request_id = '%s' AND line_seq = 2 AND pos = 1", id);
	char *got = malloc(der_len * 2 + 1);
	for (size_t i = 0; i < der_len; i++)
		snprintf(got + 2 * i, 3, "%02x", der[i]);
	cr_expect_str_eq(got, stored);
	free(got);
	free(der);
	free(stored);
	snprintf(part, sizeof(part), "%s/2/2", id); /* the secretary's place was skipped */
	cr_expect_eq(eng_trust_blob(s, doc, part, &der, &der_len, &err), ENG_ENOTFOUND);
	cr_expect_eq(eng_trust_blob(s, doc, "../../etc", &der, &der_len, &err), ENG_ENOTFOUND);
	eng_arena_free(&ta);
	free(doc);
	/* Completed: no more acts. */
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_REJECT, "tard", T0 + 5000, &res, &err), ENG_ECONFLICT);
	cr_assert_str_eq(err.msg, "the request is already signed");
	free(id);
	free(exp);
	eng_store_close(s);
}

Test(portafirmas, a_line_needing_all_waits_for_each_and_an_approval_signs_nothing)
{
	struct eng_store *s = open_store();
	char *exp;
	char *id = requested(s, "send_all", T0, false, &exp);
	ok(s, "inter", id, ENG_SIG_SIGN, T0 + 1000, NULL);
	struct eng_sig_result res;
	struct eng_error err = {0};
	/* One person, one place per line; and the approval line is not open yet. */
	cr_assert_eq(act_as(s, "inter", id, ENG_SIG_SIGN, NULL, T0 + 1500, &res, &err), ENG_EDENIED);
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_APPROVE, NULL, T0 + 1600, &res, &err), ENG_EDENIED);
	expect("1|active", "SELECT current_line || '|' || (SELECT state FROM signature_line WHERE request_id = '%1$s' "
	       "AND seq = 1) FROM signature_request WHERE id = '%1$s'", id);
	ok(s, "cap", id, ENG_SIG_SIGN, T0 + 2000, NULL);
	/* The approver's place takes an approval, not a signature. */
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_SIGN, NULL, T0 + 2500, &res, &err), ENG_EDENIED);
	cr_assert_str_eq(err.msg, "your place in line 2 is an approval: approve instead of signing");
	ok(s, "secre", id, ENG_SIG_APPROVE, T0 + 3000, "signed");
	expect("approved|secre|true|false", "SELECT state || '|' || acted_by || '|' || (signature IS NULL) || '|' || "
	       "(document_sha256 IS NULL) FROM signature_signer WHERE request_id = '%s' AND line_seq = 2", id);
	/* No mayor in the circuit: no decree number. */
	expect("granted||0", "SELECT x.state || '|' || coalesce(r.decree_number, '') || '|' || "
	       "(SELECT count(*) FROM decree WHERE request_id = r.id) FROM signature_request r "
	       "JOIN expedient x ON x.id = r.expedient_id WHERE r.id = '%s'", id);
	openssl_verifies(id, 1, 1);
	openssl_verifies(id, 1, 2);
	free(id);
	free(exp);
	eng_store_close(s);
}

Test(portafirmas, a_rejection_needs_a_reason_and_ends_the_request)
{
	struct eng_store *s = open_store();
	char *exp;
	char *id = requested(s, "send3", T0, false, &exp);
	ok(s, "cap", id, ENG_SIG_SIGN, T0 + 1000, NULL);
	struct eng_sig_result res;
	struct eng_error err = {0};
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_REJECT, "  \n", T0 + 2000, &res, &err), ENG_EINVALID);
	cr_assert_str_eq(err.msg, "reason: a rejection needs a reason");
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_REJECT, NULL, T0 + 2000, &res, &err), ENG_EINVALID);
	expect("pending|2|2", "SELECT state || '|' || version || '|' || current_line FROM signature_request "
	       "WHERE id = '%s'", id);
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_REJECT, "L'import no quadra amb la proposta.", T0 + 3000,
	                    &res, &err), 0, "%s", err.msg);
	cr_assert_str_eq(res.outcome, "rejected");
	cr_assert_str_eq(res.to_state, "proposed");
	expect("rejected|secre|L'import no quadra amb la proposta.", "SELECT state || '|' || rejected_by || '|' || "
	       "rejection_reason FROM signature_request WHERE id = '%s'", id);
	/* The signature already made stays; every other place ends. */
	expect("signed,skipped,rejected,skipped", "SELECT string_agg(state, ',' ORDER BY line_seq, pos) "
	       "FROM signature_signer WHERE request_id = '%s'", id);
	expect("proposed", "SELECT state FROM expedient WHERE id = '%s'", exp);
	openssl_verifies(id, 1, 1);
	/* It can be sent again: a new request. */
	struct eng_arena arena = {0};
	struct eng_outcome out;
	struct eng_command again = {
		.entity_id = "demo", .expedient_id = exp, .expected_version = -1,
		.event = {.action = "send3", .time_ms = T0 + 4000,
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "tecnic", .roles = tecnic, .n_roles = 1}},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &again, lookup, NULL, &out, &err), 0, "%s", err.msg);
	expect("2|1", "SELECT count(*) || '|' || count(*) FILTER (WHERE state = 'pending') FROM signature_request "
	       "WHERE expedient_id = '%s'", exp);
	eng_arena_free(&arena);
	free(id);
	free(exp);
	eng_store_close(s);
}

Test(portafirmas, a_delegate_signs_per_delegacio_within_the_dates_only)
{
	struct eng_store *s = open_store();
	struct eng_error err = {0};
	cr_assert_eq(eng_signature_delegate(s, "demo", "alcaldessa", "secre", "2026-03-10", "2026-03-05", &err),
	             ENG_EINVALID);
	cr_assert_str_eq(err.msg, "delegation: it ends (2026-03-05) before it starts (2026-03-10)");
	cr_assert_eq(eng_signature_delegate(s, "demo", "alcaldessa", "secre", "2026-02-30", "2026-03-05", &err),
	             ENG_EINVALID);
	cr_assert_str_eq(err.msg, "delegation dates: expected YYYY-MM-DD, found '2026-02-30' and '2026-03-05'");
	cr_assert_eq(eng_signature_delegate(s, "demo", "alcaldessa", "alcaldessa", "2026-03-01", "2026-03-05", &err),
	             ENG_EINVALID);
	cr_assert_eq(eng_signature_delegate(s, "demo", "alcaldessa", "ningu", "2026-03-01", "2026-03-05", &err),
	             ENG_ENOTFOUND);
	cr_assert_eq(eng_signature_delegate(s, "demo", "alcaldessa", "secre", "2026-03-01", "2026-03-05", &err),
	             0, "%s", err.msg);
	char *exp;
	char *id = requested(s, "send_mayor", T0, false, &exp);
	struct eng_sig_result res;
	/* 6 March 2026 is past the delegation. */
	cr_assert_eq(act_as(s, "secre", id, ENG_SIG_SIGN, NULL, T0 + 4 * DAY, &res, &err), ENG_EDENIED);
	struct eng_arena arena = {0};
	struct eng_sig_request v;
	cr_assert_eq(eng_signature_get(s, &arena, "demo", id, "secre", T0 + DAY, &v, &err), 0, "%s", err.msg);
	cr_assert(v.mine);
	cr_assert_str_eq(v.signers[0].mine_for, "alcaldessa");
	struct eng_sig_request *pending, *done;
	size_t n_pending, n_done;
	cr_assert_eq(eng_signature_inbox(s, &arena, "demo", "secre", T0 + DAY, &pending, &n_pending, &done,
	                                 &n_done, &err), 0, "%s", err.msg);
	cr_assert_eq(n_pending, 1);
	cr_assert_str_eq(pending[0].id, id);
	cr_assert_eq(eng_signature_inbox(s, &arena, "demo", "secre", T0 + 4 * DAY, &pending, &n_pending, &done,
	                                 &n_done, &err), 0, "%s", err.msg);
	cr_assert_eq(n_pending, 0);
	ok(s, "secre", id, ENG_SIG_SIGN, T0 + DAY, "signed");
	expect("secre|alcaldessa|33333333P", "SELECT acted_by || '|' || on_behalf_of || '|' || signer_nif "
	       "FROM signature_signer WHERE request_id = '%s'", id);
	/* The mayor's place, signed for her, gives the decree its number. */
	expect("t", "SELECT decree_number ~ '^D/2026/[0-9]{6}$' FROM signature_request WHERE id = '%s'", id);
	openssl_verifies(id, 1, 1);
	/* The verification page names both: who signed, for whom. */
	char *doc = query1("SELECT document_id FROM signature_request WHERE id = '%s'", id);
	char *mayor = query1("SELECT name FROM employee WHERE entity_id = 'demo' AND username = 'alcaldessa'");
	struct eng_trust t;
	cr_assert_eq(eng_trust_get(s, &arena, doc, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.n_signatures, 1);
	cr_expect_str_eq(t.signatures[0].signer_nif, "33333333P");
	cr_expect_str_eq(t.signatures[0].on_behalf_of_name, mayor);
	free(mayor);
	free(doc);
	eng_arena_free(&arena);
	free(id);
	free(exp);
	eng_store_close(s);
}

Test(portafirmas, a_request_reminds_then_expires_as_a_rejection)
{
	struct eng_store *s = open_store();
	char *exp;
	char *id = requested(s, "send3", T0, false, &exp);
	struct eng_arena arena = {0};
	struct eng_error err = {0};
	int expired, reminded;
	cr_assert_eq(eng_signature_sweep(s, &arena, "demo", T0 + 4 * DAY, lookup, NULL, &expired, &reminded,
	                                 &err), 0, "%s", err.msg);
	cr_assert_eq(expired, 0);
	cr_assert_eq(reminded, 0);
	cr_assert_eq(eng_signature_sweep(s, &arena, "demo", T0 + 6 * DAY, lookup, NULL, &expired, &reminded,
	                                 &err), 0, "%s", err.msg);
	cr_assert_eq(reminded, 1);
	expect("cap_servei", "SELECT string_agg(role, ',') FROM signature_reminder WHERE request_id = '%s'", id);
	cr_assert_eq(eng_signature_sweep(s, &arena, "demo", T0 + 15 * DAY, lookup, NULL, &expired, &reminded,
	                                 &err), 0, "%s", err.msg);
	cr_assert_eq(expired, 1);
	cr_assert_eq(reminded, 0);
	expect("rejected|system|expired", "SELECT state || '|' || rejected_by || '|' || rejection_reason "
	       "FROM signature_request WHERE id = '%s'", id);
	expect("proposed", "SELECT state FROM expedient WHERE id = '%s'", exp);
	expect("portasignatures", "SELECT actor_id FROM event WHERE expedient_id = '%s' ORDER BY seq DESC LIMIT 1", exp);
	/* Once: a second sweep finds nothing. */
	cr_assert_eq(eng_signature_sweep(s, &arena, "demo", T0 + 16 * DAY, lookup, NULL, &expired, &reminded,
	                                 &err), 0, "%s", err.msg);
	cr_assert_eq(expired, 0);
	eng_arena_free(&arena);
	free(id);
	free(exp);
	eng_store_close(s);
}

Test(portafirmas, a_missing_document_is_bound_when_it_is_issued_and_refused_before)
{
	struct eng_store *s = open_store();
	char *exp;
	char *id = requested(s, "send_mayor", T0, true, &exp);
	struct eng_sig_result res;
	struct eng_error err = {0};
	cr_assert_eq(act_as(s, "alcaldessa", id, ENG_SIG_SIGN, NULL, T0 + 1000, &res, &err), ENG_EINVALID);
	cr_assert_str_eq(err.msg, "document 'resolucio' is not issued yet: it cannot be signed or approved "
	                 "until it exists");
	expect("1", "SELECT version FROM signature_request WHERE id = '%s'", id);
	exec_sql("INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, content, created_at) "
	         "VALUES ('demo', '%1$s', 'resolucio', 'CSV-L-%1$s', encode(sha256(convert_to('%2$s', 'UTF8')), 'hex'), "
	         "'application/pdf', convert_to('%2$s', 'UTF8'), now())", exp, pdf);
	ok(s, "alcaldessa", id, ENG_SIG_SIGN, T0 + 2000, "signed");
	expect("CSV-L-", "SELECT left(d.csv, 6) FROM signature_request r JOIN document d ON d.id = r.document_id "
	       "WHERE r.id = '%s'", id);
	openssl_verifies(id, 1, 1);
	free(id);
	free(exp);
	eng_store_close(s);
}

struct racer {
	const char *id;
	const char *sha;  /* the document's SHA-256, read before the race: the test's own
	                   * connection is not for several threads at once */
	pthread_barrier_t *start;
	int rc;
	char decree[40];
};

static void *race(void *payload)
{
	struct racer *r = payload;
	struct eng_store *s;
	struct eng_error err = {0};
	if (eng_store_open(&s, cluster.conninfo, &err) != 0) {
		r->rc = -100;
		return NULL;
	}
	struct made m = sign_as("alcaldessa");
	const char *sha = r->sha;
	struct eng_arena arena = {0};
	struct eng_sig_act a = {.entity_id = "demo", .request_id = r->id, .by = "alcaldessa",
	                        .kind = ENG_SIG_SIGN, .time_ms = T0 + 1000, .signature = m.der,
	                        .signature_len = m.len, .signer_nif = m.nif, .signer_name = m.subject,
	                        .document_sha256 = sha};
	struct eng_sig_result res;
	pthread_barrier_wait(r->start);
	r->rc = eng_signature_act(s, &arena, &a, lookup, NULL, &res, &err);
	snprintf(r->decree, sizeof(r->decree), "%s", r->rc == 0 ? res.decree_number : "");
	eng_arena_free(&arena);
	free(m.der);
	eng_store_close(s);
	return NULL;
}

Test(portafirmas, decree_numbers_have_no_gaps_under_concurrent_completions)
{
	struct eng_store *s = open_store();
	enum { N = 4 };
	struct racer rs[N];
	pthread_t th[N];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, N);
	char *sha = pdf_sha();
	for (int i = 0; i < N; i++)
		rs[i] = (struct racer){.id = requested(s, "send_mayor", T0, false, NULL), .sha = sha,
		                       .start = &start};
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, race, &rs[i]);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < N; i++)
		cr_assert_eq(rs[i].rc, 0, "racer %d: %d", i, rs[i].rc);
	expect("4|1,2,3,4|4", "SELECT count(*) || '|' || string_agg(seq::text, ',' ORDER BY seq) || '|' || "
	       "(SELECT last FROM decree_counter WHERE entity_id = 'demo' AND year = 2026) FROM decree");
	for (int i = 0; i < N; i++) {
		expect(rs[i].decree, "SELECT number FROM decree WHERE request_id = '%s'", rs[i].id);
		free((char *)rs[i].id);
	}
	free(sha);
	eng_store_close(s);
}

/* The catalogue's own PAR-004 compiled by the DSL: its three-line circuit run to the end
 * moves the expedient to `granted` through its `on = { signed = ... }`. */
static struct eng_definition *par;

static const struct eng_definition *par_lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, par->hash) == 0 ? par : NULL;
}

static void par_act(struct eng_store *s, const char *id, const char *action, const char *role,
                    const char *want)
{
	struct eng_arena arena = {0};
	struct eng_error err = {0};
	struct eng_outcome out;
	const char *roles[] = {role};
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .expected_version = -1,
		.event = {.action = action, .time_ms = T0,
		          .actor = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "tecnic", .roles = roles, .n_roles = 1}},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, par_lookup, NULL, &out, &err), 0, "%s: %s", action, err.msg);
	cr_assert_str_eq(out.to_state, want);
	eng_arena_free(&arena);
}

Test(portafirmas, par_004_circuit_from_the_dsl_runs_to_granted)
{
	struct dsl_diags diags = {0};
	int crc = dsl_compile_file(&par, TRAMIT_SOURCE_DIR "/tramits/participacio/subvencions-associacions.lua",
	                           NULL, &diags);
	char first[600] = "";
	if (diags.n)
		dsl_diag_format(&diags.items[0], first, sizeof(first));
	dsl_diags_free(&diags);
	cr_assert_eq(crc, 0, "PAR-004 does not compile: %s", first);
	const struct eng_action *send = eng_state_action(eng_definition_state(par, "proposed"), "send_to_sign");
	cr_assert_not_null(send);
	cr_assert_eq(send->sign->n_lines, 3);
	cr_assert(send->sign->lines[1].any);
	cr_assert_str_eq(send->sign->lines[2].signers[0].role, "alcaldia");
	struct eng_store *s = open_store();
	struct eng_error err = {0};
	/* Its resolution time counts months, under the calendar of the year. */
	struct eng_calendar *cal;
	cr_assert_eq(eng_calendar_new(&cal, &err), 0);
	char text[8192];
	FILE *f = fopen(TRAMIT_SOURCE_DIR "/tramits/calendars/es-vc-2026.txt", "r");
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	cr_assert_eq(eng_calendar_parse(cal, text, &err), 0, "%s", err.msg);
	eng_store_set_calendar(s, cal);
	cr_assert_eq(eng_store_put_definition(s, par, "-- PAR-004", &err), 0, "%s", err.msg);
	struct eng_arena arena = {0};
	struct eng_outcome out;
	struct eng_value form[] = {{"nif_entitat", "G12345674"}, {"nom_entitat", "Associació Veïnal del Carme"},
		{"compte", "ES9121000418450200051332"}, {"descripcio", "Festa del barri."},
		{"pressupost", "5000"}, {"import", "2500,50"}, {"activitats.1.activitat", "Cercavila"},
		{"activitats.1.data", "2026-06-20"}};
	struct eng_command create = {
		.entity_id = "demo", .def = par, .applicant_name = "Associació Veïnal del Carme", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "G12345674"},
		          .time_ms = T0 - DAY, .form = form, .n_form = 8, .csv = "PAR4TESTCSV0000000000000001"},
	};
	cr_assert_eq(eng_store_apply(s, &arena, &create, par_lookup, NULL, &out, &err), 0, "%s", err.msg);
	char *id = strdup(out.expedient_id);
	par_act(s, id, "propose", "tecnic", "proposed");
	exec_sql("INSERT INTO document (entity_id, expedient_id, kind, csv, sha256, media_type, content, created_at) "
	         "VALUES ('demo', '%1$s', 'resolucio', 'CSV-P-%1$s', encode(sha256(convert_to('%2$s', 'UTF8')), 'hex'), "
	         "'application/pdf', convert_to('%2$s', 'UTF8'), now())", id, pdf);
	par_act(s, id, "send_to_sign", "tecnic", "signing");
	char *req = query1("SELECT id FROM signature_request WHERE expedient_id = '%s' AND state = 'pending'", id);
	cr_assert_eq(strlen(req), 36);
	expect("cap_servei|intervencio,secretaria|alcaldia", "SELECT string_agg(r, '|' ORDER BY l) FROM "
	       "(SELECT line_seq l, string_agg(role, ',' ORDER BY pos) r FROM signature_signer "
	       "WHERE request_id = '%s' GROUP BY line_seq) x", req);
	struct eng_sig_result res;
	const char *signers[] = {"cap", "secre", "alcaldessa"};
	for (int i = 0; i < 3; i++) {
		struct eng_sig_act a = {0};
		struct made m = sign_as(signers[i]);
		char *sha = pdf_sha();
		a = (struct eng_sig_act){.entity_id = "demo", .request_id = req, .by = signers[i],
		                         .kind = ENG_SIG_SIGN, .time_ms = T0 + i * 1000, .signature = m.der,
		                         .signature_len = m.len, .signer_nif = m.nif, .signer_name = m.subject,
		                         .document_sha256 = sha};
		cr_assert_eq(eng_signature_act(s, &arena, &a, par_lookup, NULL, &res, &err), 0, "%s", err.msg);
		free(m.der);
		free(sha);
	}
	cr_assert_str_eq(res.outcome, "signed");
	cr_assert_str_eq(res.to_state, "granted");
	expect("granted|yes", "SELECT state || '|' || (vars->>'signed.resolucio') FROM expedient WHERE id = '%s'", id);
	free(req);
	free(id);
	eng_arena_free(&arena);
	eng_store_close(s);
	eng_calendar_free(cal);
	eng_definition_free(par);
}
