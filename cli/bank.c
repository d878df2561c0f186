/* `tramit payments import-bank FILE | bank-report [--all] | fee-document EXPEDIENT FEE [--pdf
 * OUT.pdf]`: Cuaderno 60 collection files from the collaborating bank settle tax receipts and
 * tràmit fees; what settled nothing waits in the report; a fee gets its payment document. Also
 * the demo's tax receipts. Invariant: a file that does not parse, or is for another emisora,
 * changes nothing; payment state comes from the bank's records only (engine/runtime/bank.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "connectors/c60/c60.h"
#include "engine/core/calendar.h"
#include "engine/runtime/bank.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/taxes.h"

enum { FILE_MAX = 32 << 20 };

int cli_payments_bank(int argc, char **argv);
int cli_payments_demo_seed(struct eng_store *store, const char *entity, struct eng_error *err);

static int usage(void)
{
	fprintf(stderr, "usage: tramit payments import-bank FILE\n"
	                "       tramit payments bank-report [--all]\n"
	                "       tramit payments fee-document EXPEDIENT_ID FEE [--pdf OUT.pdf]\n");
	return 2;
}

/* The issuer code the bank assigned to the entity; prints why and returns NULL if unset. */
static const char *emisora_get(void)
{
	const char *e = getenv("TRAMIT_C60_EMISORA");
	if (!e || strlen(e) != 6 || strspn(e, "0123456789") != 6) {
		fprintf(stderr, "tramit: TRAMIT_C60_EMISORA must be the 6-digit issuer code (emisora) the "
		        "collecting bank assigned to the entity, found '%s'\n", e ? e : "");
		return NULL;
	}
	return e;
}

static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	char *text = malloc(FILE_MAX + 1);
	*len = text ? fread(text, 1, FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!text || *len > FILE_MAX) {
		fprintf(stderr, "tramit: %s: expected a collection file of at most 32 MiB\n", path);
		free(text);
		return NULL;
	}
	return text;
}

/* The tràmits (a paid fee moves its expedient on) and their calendars. */
struct context {
	struct cat_catalog *catalog;
	struct eng_calendar *calendar;
	struct dsl_diags diags;
};

static void context_free(struct context *x)
{
	cat_catalog_free(x->catalog);
	eng_calendar_free(x->calendar);
	dsl_diags_free(&x->diags);
}

static int context_open(struct context *x)
{
	*x = (struct context){0};
	struct eng_error err = {0};
	size_t n_bad = 0;
	const char *dir = cli_tramits_dir();
	if (cat_catalog_load(&x->catalog, &dir, 1, &x->diags, &n_bad, &err) != 0) {
		fprintf(stderr, "tramit: loading tràmits from %s: %s\n", dir, err.msg);
		return 1;
	}
	if (eng_calendar_new(&x->calendar, &err) != 0 ||
	    cli_calendar_load_dir(x->calendar, cli_calendars_dir(NULL)) != 0)
		return 1;
	const char *local = getenv("TRAMIT_LOCAL_HOLIDAYS");
	if (local && *local && cli_calendar_add_local(x->calendar, local) != 0)
		return 1;
	return 0;
}

static const char *const modalidades[] = {"1", "2", "3"};
static const char *const channels[] = {"1", "2", "3"};

static int import_bank(const char *path)
{
	const char *emisora = emisora_get();
	if (!emisora)
		return 1;
	size_t len = 0;
	char *bytes = file_read(path, &len);
	if (!bytes)
		return 1;
	struct conn_c60_collection c;
	struct conn_error cerr = {0};
	if (conn_c60_collection_parse(&c, bytes, len, &cerr) != 0) {
		fprintf(stderr, "tramit: %s: %s; nothing was imported\n", path, cerr.msg);
		free(bytes);
		return 1;
	}
	struct eng_arena a = {0};
	struct eng_bank_record *recs = eng_arena_alloc(&a, sizeof(*recs) * (c.n + 1));
	for (size_t i = 0; i < c.n; i++) {
		const struct conn_c60_collected *d = &c.items[i];
		recs[i] = (struct eng_bank_record){
			.line = d->line, .emisora = d->emisora, .modalidad = modalidades[d->modalidad - '1'],
			.reference = d->reference, .identification = d->identification,
			.amount_cents = d->amount_cents, .collected_on = d->collected_on, .bank = d->bank,
			.office = d->office, .channel = channels[d->channel - '1']};
	}
	const char *base = strrchr(path, '/');
	struct eng_bank_file f = {.name = base ? base + 1 : path, .bank = c.bank, .office = c.office,
	                          .created_on = c.created_on, .file_number = c.file_number,
	                          .total_cents = c.total_cents, .records = recs, .n = c.n};
	struct context x;
	struct eng_pgcluster cluster;
	struct eng_store *store = NULL;
	int status = 1;
	if (context_open(&x) != 0 || cli_store_open(&cluster, &store) != 0)
		goto done;
	eng_store_set_calendar(store, x.calendar);
	struct eng_bank_result *res = NULL;
	size_t n = 0;
	struct eng_bank_stats st;
	struct eng_error err = {0};
	int rc = eng_store_bank_import(store, &a, cli_entity(), emisora, bytes, len, &f,
	                               cat_catalog_lookup, x.catalog, &res, &n, &st, &err);
	if (rc == 0 && st.already_imported) {
		printf("%s was already imported on %s: nothing changed\n", path, st.imported_at);
		status = 0;
	} else if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			printf("line %d: %s: %s\n", res[i].line, res[i].outcome, res[i].detail);
		printf("%zu collection%s: %d applied, %d duplicate%s, %d for an operator to look at "
		       "(tramit payments bank-report)\n", n, n == 1 ? "" : "s", st.applied, st.duplicate,
		       st.duplicate == 1 ? "" : "s", st.reported);
		status = 0;
	} else {
		fprintf(stderr, "tramit: %s: %s; nothing was imported\n", path, err.msg);
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	context_free(&x);
	eng_arena_free(&a);
	conn_c60_collection_free(&c);
	free(bytes);
	return status;
}

static int bank_report(bool all)
{
	struct eng_pgcluster cluster;
	struct eng_store *store = NULL;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena a = {0};
	struct eng_bank_report_row *rows;
	size_t n = 0;
	struct eng_error err = {0};
	int status = 0;
	if (eng_store_bank_report(store, &a, cli_entity(), all, &rows, &n, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		status = 1;
	} else if (n == 0) {
		printf("%s\n", all ? "no bank collection file was imported"
		                   : "nothing to look at: every imported collection settled its payment");
	} else {
		printf("%-24s %5s %-12s %-12s %12s %-10s %s\n", "file", "line", "outcome", "reference",
		       "amount", "collected", "detail");
		for (size_t i = 0; i < n; i++)
			printf("%-24.24s %5d %-12s %-12s %9lld.%02lld %-10s %s\n", rows[i].file_name,
			       rows[i].line, rows[i].outcome, rows[i].reference,
			       (long long)(rows[i].amount_cents / 100), (long long)(rows[i].amount_cents % 100),
			       rows[i].collected_on, rows[i].detail);
	}
	eng_arena_free(&a);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

/* ---- Fee documents ----------------------------------------------------------------------- */

static int digits_env(const char **out, const char *name, const char *fallback, size_t n)
{
	*out = cli_env(name, fallback);
	if (strlen(*out) != n || strspn(*out, "0123456789") != n) {
		fprintf(stderr, "tramit: %s must be %zu digits, found '%s'\n", name, n, *out);
		return 1;
	}
	return 0;
}

/* Computes the codes of a new document for the fee: document number from the store's
 * sequence, the fee's tributo, this year, a deadline TRAMIT_C60_FEE_DAYS from today. */
static int fee_codes(struct eng_store *store, struct eng_arena *a, const char *emisora,
                     struct eng_fee_document *doc)
{
	const char *tributo, *days_text = cli_env("TRAMIT_C60_FEE_DAYS", "30");
	char *end;
	long days = strtol(days_text, &end, 10);
	if (digits_env(&tributo, "TRAMIT_C60_FEE_TRIBUTO", "001", 3))
		return 1;
	if (*end || days < 1 || days > 365) {
		fprintf(stderr, "tramit: TRAMIT_C60_FEE_DAYS must be 1 to 365, found '%s'\n", days_text);
		return 1;
	}
	int64_t number;
	struct eng_error err = {0};
	if (eng_store_fee_document_number(store, &number, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		return 1;
	}
	time_t now = time(NULL), until = now + days * 86400;
	struct tm today, last;
	localtime_r(&now, &today);
	localtime_r(&until, &last);
	char document[11];
	snprintf(document, sizeof(document), "%010lld", (long long)number);
	struct conn_c60_input in = {.emisora = emisora, .document = document, .period = '1',
	                            .tributo = tributo, .ejercicio = today.tm_year + 1900,
	                            .deadline_year = last.tm_year + 1900,
	                            .deadline_month = last.tm_mon + 1, .deadline_day = last.tm_mday,
	                            .amount_cents = doc->amount_cents};
	struct conn_c60_code code;
	struct conn_error cerr = {0};
	if (conn_c60_code_make(&code, &in, &cerr) != 0) {
		fprintf(stderr, "tramit: %s\n", cerr.msg);
		return 1;
	}
	doc->emisora = emisora;
	doc->reference = eng_arena_strdup(a, code.reference);
	doc->identification = eng_arena_strdup(a, code.identification);
	doc->deadline = eng_arena_printf(a, "%04d-%02d-%02d", in.deadline_year, in.deadline_month,
	                                 in.deadline_day);
	return 0;
}

/* The document as PDF: the entity, the fee of the expedient, its applicant. */
static int fee_pdf(struct eng_store *store, struct eng_arena *a, const struct eng_fee_document *d,
                   const char *path)
{
	struct eng_entity_view ent;
	struct eng_expedient_view x;
	struct eng_error err = {0};
	if (eng_store_entity_get(store, a, cli_entity(), &ent, &err) != 0 ||
	    eng_store_expedient_get(store, a, cli_entity(), d->expedient_id, &x, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		return 1;
	}
	const char *fee = strchr(d->effect_id, ':') + 1;
	struct conn_c60_document doc = {
		.entity_va = ent.name_ca, .entity_es = ent.name_es,
		.concept_va = eng_arena_printf(a, "Taxa %s, expedient %s", fee, x.number),
		.concept_es = eng_arena_printf(a, "Tasa %s, expediente %s", fee, x.number),
		.payer_name = x.applicant_name, .payer_id = x.applicant_nif,
		.payment = {.emisora = d->emisora, .document = eng_arena_printf(a, "%.10s", d->reference),
		            .period = d->identification[0],
		            .tributo = eng_arena_printf(a, "%.3s", d->identification + 1),
		            .ejercicio = 2000 + atoi(eng_arena_printf(a, "%.2s", d->identification + 4)),
		            .amount_cents = d->amount_cents}};
	sscanf(d->deadline, "%4d-%2d-%2d", &doc.payment.deadline_year, &doc.payment.deadline_month,
	       &doc.payment.deadline_day);
	unsigned char *pdf = NULL;
	size_t len = 0;
	struct conn_error cerr = {0};
	if (conn_c60_pdf(&pdf, &len, &doc, &cerr) != 0) {
		fprintf(stderr, "tramit: %s\n", cerr.msg);
		return 1;
	}
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(pdf, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	free(pdf);
	if (!ok)
		perror(path);
	return ok ? 0 : 1;
}

static int fee_document(const char *expedient_id, const char *fee, const char *pdf_path)
{
	const char *emisora = emisora_get();
	if (!emisora)
		return 1;
	struct eng_pgcluster cluster;
	struct eng_store *store = NULL;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena a = {0};
	struct eng_error err = {0};
	const char *effect = eng_arena_printf(&a, "payment:%s", fee);
	struct eng_fee_document now, doc;
	int status = 1;
	if (eng_store_fee_document_get(store, &a, cli_entity(), expedient_id, effect, &now, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		goto done;
	}
	doc = now;
	if (!now.reference) {
		if (now.paid) {
			fprintf(stderr, "tramit: fee %s of expedient %s is already paid\n", fee, expedient_id);
			goto done;
		}
		if (fee_codes(store, &a, emisora, &doc) != 0)
			goto done;
		if (eng_store_fee_document_put(store, &a, cli_entity(), &doc, &now, &err) != 0) {
			fprintf(stderr, "tramit: %s\n", err.msg);
			goto done;
		}
	}
	printf("emisora %s reference %s identification %s amount %lld deadline %s%s\n", now.emisora,
	       now.reference, now.identification, (long long)now.amount_cents, now.deadline,
	       now.paid ? " (paid)" : "");
	status = pdf_path ? fee_pdf(store, &a, &now, pdf_path) : 0;
done:
	eng_arena_free(&a);
	eng_store_close(store);
	cli_database_close(&cluster);
	return status;
}

int cli_payments_bank(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "import-bank") == 0)
		return import_bank(argv[1]);
	if (strcmp(argv[0], "bank-report") == 0 && (argc == 1 || (argc == 2 &&
	                                            strcmp(argv[1], "--all") == 0)))
		return bank_report(argc == 2);
	if (strcmp(argv[0], "fee-document") == 0 && (argc == 3 || (argc == 5 &&
	                                             strcmp(argv[3], "--pdf") == 0)))
		return fee_document(argv[1], argv[2], argc == 5 ? argv[4] : NULL);
	return usage();
}

/* ---- Demo -------------------------------------------------------------------------------- */

/* A few receipts of the demo citizen (12345678Z) so /pagaments can be tried: two pending, one
 * past its voluntary period and one cancelled. Seeding again changes nothing; a year later the
 * pending ones' deadlines would differ and the earlier ones are kept. */
int cli_payments_demo_seed(struct eng_store *store, const char *entity, struct eng_error *err)
{
	static const struct {
		const char *document, *tributo, *ca, *es;
		int64_t cents;
		bool past, cancel;
	} demo[] = {
		{"0000000101", "001", "Taxa de recollida de fem", "Tasa de recogida de basura", 9850, false, false},
		{"0000000102", "002", "Impost sobre vehicles de tracció mecànica",
		 "Impuesto sobre vehículos de tracción mecánica", 6872, false, false},
		{"0000000103", "003", "Multa de trànsit", "Multa de tráfico", 9000, true, false},
		{"0000000104", "004", "Taxa d'ocupació de via pública", "Tasa de ocupación de vía pública",
		 4500, false, true},
	};
	enum { N = sizeof(demo) / sizeof(demo[0]) };
	const char *emisora = cli_env("TRAMIT_C60_EMISORA", "462500");
	time_t now = time(NULL), later = now + 60 * 86400;
	struct tm today, until;
	localtime_r(&now, &today);
	localtime_r(&later, &until);
	struct eng_arena a = {0};
	struct eng_tax_receipt rows[N];
	for (size_t i = 0; i < N; i++) {
		int year = demo[i].past ? today.tm_year + 1899 : until.tm_year + 1900;
		struct conn_c60_input in = {.emisora = emisora, .document = demo[i].document, .period = '1',
		                            .tributo = demo[i].tributo, .ejercicio = year,
		                            .deadline_year = year, .deadline_month = 12,
		                            .deadline_day = 31, .amount_cents = demo[i].cents};
		struct conn_c60_code code;
		struct conn_error cerr = {0};
		if (conn_c60_code_make(&code, &in, &cerr) != 0) {
			eng_arena_free(&a);
			return eng_error_set(err, ENG_EINVALID, "demo receipts: %s", cerr.msg);
		}
		rows[i] = (struct eng_tax_receipt){
			.reference = eng_arena_strdup(&a, code.reference), .emisora = emisora,
			.identification = eng_arena_strdup(&a, code.identification),
			.concept_ca = eng_arena_printf(&a, "%s, %d", demo[i].ca, year),
			.concept_es = eng_arena_printf(&a, "%s, %d", demo[i].es, year),
			.debtor_nif = "12345678Z", .debtor_name = "Maria Demo Ciutadana",
			.amount_cents = demo[i].cents, .deadline = eng_arena_printf(&a, "%d-12-31", year)};
	}
	size_t added = 0, unchanged = 0, bad = 0;
	int rc = eng_store_tax_import(store, entity, rows, N, &added, &unchanged, &bad, err);
	if (rc == ENG_ECONFLICT) /* seeded in an earlier year: keep those */
		rc = 0;
	for (size_t i = 0; !rc && added && i < N; i++)
		if (demo[i].cancel)
			rc = eng_store_tax_cancel(store, entity, rows[i].reference, err);
	if (!rc && added)
		fprintf(stderr, "tramit: demo tax receipts for NIF 12345678Z at /pagaments: %s and %s "
		        "(pending), %s (overdue), %s (cancelled)\n", rows[0].reference, rows[1].reference,
		        rows[2].reference, rows[3].reference);
	eng_arena_free(&a);
	return rc;
}
