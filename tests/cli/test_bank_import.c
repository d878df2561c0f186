/* `tramit payments import-bank` against a real server and PostgreSQL: the demo seeds tax
 * receipts; a citizen files VIA-001, whose fee gets a Cuaderno 60 document; a collection file
 * built here from the layout of docs/payments.md pays the fee (the expedient gets the same
 * result "paid" a card payment gives it) and a receipt, and reports an unknown reference, an
 * amount that is not the receipt's, a receipt already paid by card and a cancelled one. A
 * refused file and a file for another emisora change nothing; importing a file again changes
 * nothing. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/c60/c60.h"
#include "tests/support/http.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

static struct eng_pgcluster cluster;
static PGconn *db;

static char *query1(const char *fmt, ...)
{
	char sql[2000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(db, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static void expect_query(const char *expected, const char *sql)
{
	char *v = query1("%s", sql);
	cr_expect_str_eq(v, expected, "%s\n got: %s\nwant: %s", sql, v, expected);
	free(v);
}

/* Runs `tramit ARGS` in the cluster's folder against its database; stdout and stderr in *out. */
static int tramit(char **out, const char *args)
{
	return shell_run(out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=demo "
	                 "TRAMIT_C60_EMISORA=462500 TRAMIT_TRAMITS_DIR=%s/tramits %s %s 2>&1",
	                 cluster.dir, cluster.conninfo, TRAMIT_SOURCE_DIR, TRAMIT_BINARY, args);
}

static void expect_output(const char *args, int status, const char *expected)
{
	char *out;
	cr_expect_eq(tramit(&out, args), status, "tramit %s: %s", args, out);
	cr_expect_str_eq(out, expected, "tramit %s\n got: %s\nwant: %s", args, out, expected);
	free(out);
}

/* ---- A collection file, record by record (80 characters each) ---------------------------- */

struct file {
	char text[4096];
	size_t len;
	int records, details;
	long long sum;
};

static void add(struct file *f, const char *fmt, ...)
{
	char rec[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rec, sizeof(rec), fmt, ap);
	va_end(ap);
	cr_assert(n <= 80, "%s", rec);
	memset(rec + n, ' ', (size_t)(80 - n));
	memcpy(f->text + f->len, rec, 80);
	f->len += 80;
	f->text[f->len++] = '\n';
	f->text[f->len] = '\0';
	f->records++;
}

static void begin(struct file *f, const char *number, const char *emisora)
{
	*f = (struct file){0};
	add(f, "00%s%s%s%s", "2100", "0001", "20261127", number);
	add(f, "01%s%s%s", emisora, "20261101", "20261126");
}

static void collected(struct file *f, const char *emisora, const char *reference,
                      const char *identification, long long cents)
{
	add(f, "02%s2%s%s%08lld%s21000735%c", emisora, reference, identification, cents, "20261120",
	    '1');
	f->details++;
	f->sum += cents;
}

static void end(struct file *f, const char *emisora)
{
	add(f, "08%s%08d%014lld", emisora, f->details, f->sum);
	add(f, "092100%04d%08d%014lld%08d", 1, f->details, f->sum, f->records + 1);
}

static void save(const struct file *f, const char *name)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/%s", cluster.dir, name);
	FILE *out = fopen(path, "w");
	cr_assert_not_null(out, "%s", path);
	fwrite(f->text, 1, f->len, out);
	fclose(out);
}

/* The codes of a document of `cents` with this number, as conn_c60_code_make writes them. */
static struct conn_c60_code code_for(const char *emisora, const char *document, long long cents)
{
	struct conn_c60_input in = {.emisora = emisora, .document = document, .period = '1',
	                            .tributo = "001", .ejercicio = 2026, .deadline_year = 2026,
	                            .deadline_month = 12, .deadline_day = 31, .amount_cents = cents};
	struct conn_c60_code c;
	struct conn_error err = {0};
	cr_assert_eq(conn_c60_code_make(&c, &in, &err), 0, "%s", err.msg);
	return c;
}

/* What must not move while refused files are offered: the files and records logged, the
 * receipts' states, the expedient's events and its fee. */
static char *state_now(const char *expedient)
{
	return query1("SELECT (SELECT count(*) FROM bank_file) || ' ' || (SELECT count(*) FROM "
	              "bank_record) || ' ' || (SELECT string_agg(state, ',' ORDER BY reference) FROM "
	              "tax_receipt) || ' ' || (SELECT count(*) FROM event WHERE expedient_id = '%s') "
	              "|| ' ' || (SELECT coalesce(vars->>'paid.taxa', 'no') FROM expedient WHERE id = "
	              "'%s')", expedient, expedient);
}

/* The same without the file log. */
static char *payments_now(const char *expedient)
{
	return query1("SELECT (SELECT string_agg(state, ',' ORDER BY reference) FROM tax_receipt) "
	              "|| ' ' || (SELECT count(*) FROM event WHERE expedient_id = '%s') || ' ' || "
	              "(SELECT coalesce(vars->>'paid.taxa', 'no') FROM expedient WHERE id = '%s')",
	              expedient, expedient);
}

/* The demo employee (tècnic of via pública) signed in through the demo form. */
static struct http_client *employee_in(int port)
{
	struct http_client *c = http_client_new(port, "ca");
	struct http_response r;
	http_get(c, "/login", &r);
	char *tok = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(tok);
	http_response_free(&r);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&who=employee&next=", tok);
	http_post_form(c, "/login", body, &r);
	cr_assert_eq(r.status, 303, "sign-in answered %ld", r.status);
	http_response_free(&r);
	free(tok);
	return c;
}

/* The employee asks for action "report" (it needs the fee paid): the answer's status. */
static long report_action(struct http_client *c, const char *id, char **body)
{
	char path[200];
	struct http_response r;
	snprintf(path, sizeof(path), "/backoffice/expedients/%s", id);
	http_get(c, path, &r);
	char *csrf = http_extract(r.body, "name=\"csrf\" value=\"", '"');
	cr_assert_not_null(csrf, "%s", r.body);
	http_response_free(&r);
	snprintf(path, sizeof(path), "/api/v1/expedients/%s/actions/report", id);
	http_post_json(c, path, "{}", csrf, &r);
	free(csrf);
	*body = r.body;
	return r.status;
}

Test(bank_import, a_collection_file_settles_a_fee_and_a_receipt_once, .timeout = 240)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	static char env_db[1200], env_dir[600], env_port[32], log[700];
	int port = http_free_port();
	snprintf(env_db, sizeof(env_db), "TRAMIT_DATABASE_URL=%s", cluster.conninfo);
	snprintf(env_dir, sizeof(env_dir), "TRAMIT_TRAMITS_DIR=%s/tramits", TRAMIT_SOURCE_DIR);
	snprintf(env_port, sizeof(env_port), "PORT=%d", port);
	snprintf(log, sizeof(log), "%s/server.log", cluster.dir);
	const char *env[] = {env_db, env_port, env_dir, "TRAMIT_C60_EMISORA=462500", NULL};
	const char *args[] = {"serve", "--demo", NULL};
	pid_t server = tramit_start(args, env, port, log);
	db = pgtmp_connect(&cluster);
	PQclear(PQexec(db, "SET TIME ZONE 'Europe/Madrid'")); /* as the store reads times */

	/* The demo's receipts, for the payment manager: two pending, one overdue, one cancelled. */
	expect_query("0000000101 pending 9850 false,0000000102 pending 6872 false,0000000103 pending "
	             "9000 true,0000000104 cancelled 4500 false",
	             "SELECT string_agg(left(reference, 10) || ' ' || state || ' ' || amount_cents || ' ' "
	             "|| (state = 'pending' AND deadline < current_date), ',' ORDER BY reference) "
	             "FROM tax_receipt WHERE debtor_nif = '12345678Z'");

	/* A citizen files VIA-001: its fee of 180 EUR gets a payment document. */
	char *id = http_citizen_files(port, "VIA-001", "{\"form\": {\"establiment\": \"Bar Demo\", "
	                              "\"adreca\": \"Plaça Major 3, 46001 València\", \"m2\": \"12\", "
	                              "\"temporada\": \"anual\"}}");
	char cmd[300], *out;
	snprintf(cmd, sizeof(cmd), "payments fee-document %s taxa --pdf fee.pdf", id);
	cr_assert_eq(tramit(&out, cmd), 0, "%s", out);
	char fee_ref[13] = "", fee_ident[11] = "";
	cr_assert_eq(sscanf(out, "emisora 462500 reference %12s identification %10s amount 18000",
	                    fee_ref, fee_ident), 2, "%s", out);
	cr_expect_eq(strncmp(fee_ref, "8000000001", 10), 0, "%s", out);
	free(out);
	char *again;
	cr_assert_eq(tramit(&again, cmd), 0, "%s", again);
	cr_expect_eq(strstr(again, fee_ref) != NULL, true, "one document per fee: %s", again);
	free(again);
	char pdf[800];
	snprintf(pdf, sizeof(pdf), "%s/fee.pdf", cluster.dir);
	cr_expect_eq(shell_run(&out, NULL, "pdftotext -enc UTF-8 '%s' - | grep -c '%s'", pdf, fee_ref), 0,
	             "the PDF shows the reference");
	free(out);
	expect_output("payments fee-document 00000000-0000-0000-0000-000000000000 taxa", 1,
	              "tramit: expedient 00000000-0000-0000-0000-000000000000 ordered no fee payment:taxa\n");

	/* Receipt 101 is pending; 102 was paid by card (its card order settled, as the gateway's
	 * signed notification does; set here directly as the precondition). */
	char *r101 = query1("SELECT reference || ' ' || identification FROM tax_receipt WHERE "
	                    "reference LIKE '0000000101%%'");
	char *r102 = query1("SELECT reference || ' ' || identification FROM tax_receipt WHERE "
	                    "reference LIKE '0000000102%%'");
	char *r104 = query1("SELECT reference || ' ' || identification FROM tax_receipt WHERE "
	                    "reference LIKE '0000000104%%'");
	char ref101[13], ident101[11], ref102[13], ident102[11];
	cr_assert_eq(sscanf(r101, "%12s %10s", ref101, ident101), 2);
	cr_assert_eq(sscanf(r102, "%12s %10s", ref102, ident102), 2);
	char ref104[13], ident104[11];
	cr_assert_eq(sscanf(r104, "%12s %10s", ref104, ident104), 2);
	PQclear(PQexec(db, "UPDATE tax_receipt SET state = 'paid', paid_via = 'card', paid_order = "
	                   "'900000000155', paid_at = '2026-11-02 10:00+01' WHERE reference LIKE "
	                   "'0000000102%'"));
	struct conn_c60_code unknown = code_for("462500", "0000000999", 2500);
	/* Document 101 again, but for 95 EUR: its digits verify, its amount is not the receipt's. */
	struct conn_c60_code other = code_for("462500", "0000000101", 9500);

	struct file f;
	begin(&f, "000001", "462500");
	collected(&f, "462500", ref101, ident101, 9850);
	collected(&f, "462500", fee_ref, fee_ident, 18000);
	collected(&f, "462500", unknown.reference, unknown.identification, 2500);
	collected(&f, "462500", other.reference, other.identification, 9500);
	collected(&f, "462500", ref102, ident102, 6872);
	collected(&f, "462500", ref104, ident104, 4500); /* cancelled */
	end(&f, "462500");
	save(&f, "cobros.c60");

	/* Refused whole: totals that do not add up, and a file for another issuer. */
	char *before = state_now(id);
	struct file bad = f;
	memcpy(bad.text + 8 * 81 + 16, "00000000000001", 14); /* the 08's total amount */
	save(&bad, "bad.c60");
	expect_output("payments import-bank bad.c60", 1,
	              "tramit: bad.c60: line 9, total amount (positions 17-30): expected 51222 (the "
	              "sum of the block's amounts), found '00000000000001'; nothing was imported\n");
	struct file foreign;
	struct conn_c60_code theirs = code_for("999999", "0000000101", 9850);
	begin(&foreign, "000002", "999999");
	collected(&foreign, "999999", theirs.reference, theirs.identification, 9850);
	end(&foreign, "999999");
	save(&foreign, "foreign.c60");
	expect_output("payments import-bank foreign.c60", 1,
	              "tramit: foreign.c60: line 3: emisora 999999 is not this entity's (462500): the "
	              "file is for another issuer; nothing was imported\n");
	char *after = state_now(id);
	cr_expect_str_eq(after, before, "refused files change nothing");
	free(after);

	/* Until the fee is paid, the expedient cannot move on. */
	struct http_client *employee = employee_in(port);
	char *answer;
	cr_expect_eq(report_action(employee, id, &answer), 409, "%s", answer);
	cr_expect(strstr(answer, "needs fee 'taxa' paid first") != NULL, "%s", answer);
	free(answer);

	/* The file: one receipt and one fee paid, three collections for an operator. */
	char *number = query1("SELECT number FROM expedient WHERE id = '%s'", id);
	char expected[2000];
	snprintf(expected, sizeof(expected),
	         "line 3: applied: receipt %s paid at the bank on 2026-11-20\n"
	         "line 4: applied: fee taxa of expedient %s paid at the bank on 2026-11-20\n"
	         "line 5: unknown: no tax receipt or fee document has document number 0000000999 for "
	         "emisora 462500\n"
	         "line 6: mismatch: receipt %s is for 98.50 EUR (identification %s); the bank "
	         "collected 95.00 EUR with reference %s (identification %s)\n"
	         "line 7: already_paid: receipt %s was already paid (card order 900000000155, "
	         "2026-11-02): a refund of 68.72 EUR is due\n"
	         "line 8: not_payable: receipt %s is cancelled: a refund of 45.00 EUR is due\n"
	         "6 collections: 2 applied, 0 duplicates, 4 for an operator to look at (tramit "
	         "payments bank-report)\n", ref101, number, ref101, ident101, other.reference,
	         other.identification, ref102, ref104);
	expect_output("payments import-bank cobros.c60", 0, expected);

	char sql[600];
	snprintf(sql, sizeof(sql), "SELECT state || ' ' || paid_via || ' ' || coalesce(paid_order, '-') "
	         "|| ' ' || to_char(paid_at AT TIME ZONE 'Europe/Madrid', 'YYYY-MM-DD') FROM tax_receipt "
	         "WHERE reference = '%s'", ref101);
	expect_query("paid bank - 2026-11-20", sql);
	/* The fee: the same result "paid" of its payment effect as a card payment makes. */
	snprintf(sql, sizeof(sql), "SELECT vars->>'paid.taxa' FROM expedient WHERE id = '%s'", id);
	expect_query("yes", sql);
	snprintf(sql, sizeof(sql), "SELECT string_agg(actor_id || ' ' || action || ' ' || "
	         "(payload->>'outcome') || ' ' || (payload->'result'->>'amount_cents') || ' ' || "
	         "(payload->'result'->>'via'), ',') FROM event WHERE expedient_id = '%s' AND kind = "
	         "'result' AND payload->>'outcome' = 'paid'", id);
	expect_query("bank payment:taxa paid 18000 bank", sql);
	/* ... so the expedient moves on, as after a card payment. */
	cr_expect_eq(report_action(employee, id, &answer), 200, "%s", answer);
	cr_expect(strstr(answer, "\"reported\"") != NULL, "%s", answer);
	free(answer);
	http_client_free(employee);

	/* Again: the same file changes nothing; the same collections in another file are
	 * duplicates and change no payment. */
	before = state_now(id);
	char *paid_before = payments_now(id);
	char *first = query1("SELECT to_char(imported_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') FROM "
	                     "bank_file WHERE name = 'cobros.c60'");
	char twice[300];
	snprintf(twice, sizeof(twice), "cobros.c60 was already imported on %s: nothing changed\n", first);
	expect_output("payments import-bank cobros.c60", 0, twice);
	after = state_now(id);
	cr_expect_str_eq(after, before, "the same file again changes nothing");
	free(after);
	struct file copy = f;
	memcpy(copy.text + 18, "000003", 6); /* another file number: another file */
	save(&copy, "copy.c60");
	char *copied;
	cr_expect_eq(tramit(&copied, "payments import-bank copy.c60"), 0, "%s", copied);
	cr_expect(strstr(copied, "6 collections: 0 applied, 6 duplicates, 0 for an operator") != NULL,
	          "%s", copied);
	cr_expect(strstr(copied, "line 3: duplicate: the same collection was imported from "
	                         "cobros.c60, line 3\n") != NULL, "%s", copied);
	free(copied);
	expect_query("2 12", "SELECT (SELECT count(*) FROM bank_file) || ' ' || (SELECT count(*) "
	             "FROM bank_record)");
	after = payments_now(id);
	cr_expect_str_eq(after, paid_before, "no receipt, event or fee changed");
	free(paid_before);

	/* What the operator sees. */
	char report[1500];
	snprintf(report, sizeof(report),
	         "%-24s %5s %-12s %-12s %12s %-10s %s\n"
	         "%-24s %5d %-12s %-12s %12s %-10s %s\n"
	         "%-24s %5d %-12s %-12s %12s %-10s receipt %s is for 98.50 EUR (identification %s); "
	         "the bank collected 95.00 EUR with reference %s (identification %s)\n"
	         "%-24s %5d %-12s %-12s %12s %-10s receipt %s was already paid (card order "
	         "900000000155, 2026-11-02): a refund of 68.72 EUR is due\n"
	         "%-24s %5d %-12s %-12s %12s %-10s receipt %s is cancelled: a refund of 45.00 EUR is "
	         "due\n",
	         "file", "line", "outcome", "reference", "amount", "collected", "detail",
	         "cobros.c60", 5, "unknown", unknown.reference, "25.00", "2026-11-20",
	         "no tax receipt or fee document has document number 0000000999 for emisora 462500",
	         "cobros.c60", 6, "mismatch", other.reference, "95.00", "2026-11-20", ref101, ident101,
	         other.reference, other.identification,
	         "cobros.c60", 7, "already_paid", ref102, "68.72", "2026-11-20", ref102,
	         "cobros.c60", 8, "not_payable", ref104, "45.00", "2026-11-20", ref104);
	expect_output("payments bank-report", 0, report);

	free(first);
	free(before);
	free(after);
	free(number);
	free(r101);
	free(r102);
	free(r104);
	free(id);
	PQfinish(db);
	tramit_stop(server, SIGTERM);
	pgtmp_stop(&cluster);
}
