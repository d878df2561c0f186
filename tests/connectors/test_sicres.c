/* SICRES 3.0 exchanges through `tramit registry` on a real PostgreSQL with two entities:
 * "demo" (València, L01462508) files a general application through the store and exports its
 * entry; "ajuntb" (Alacant, L01030149) imports, accepts, rejects and returns. xmllint judges the
 * file and reads its fields; openssl recomputes the annex hash. Hostile and broken files are
 * refused with the field and the reason, and leave nothing stored. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/csv/csv.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/store.h"
#include "tests/support/fixture.h"
#include "tests/support/pgtmp.h"
#include "tests/support/shell.h"

#define DEMO_DIR3 "L01462508"
#define ALACANT_DIR3 "L01030149"

static struct eng_pgcluster cluster;
static struct eng_definition *def;
static PGconn *conn;
static char dir[] = "/tmp/tramit-sicres-XXXXXX";
static char demo_number[40], yy[3];

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	(void)payload;
	return strcmp(hash, def->hash) == 0 ? def : NULL;
}

/* Files the fixture's application for Maria Puig in entity; returns its registry number. */
static void file(struct eng_store *s, const char *entity, char number[40])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char csv[CONN_CSV_DISPLAY_LEN + 1];
	cr_assert_eq(conn_csv_new(csv), 0);
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Còpia del padró"}};
	struct eng_command cmd = {
		.entity_id = entity, .def = def, .applicant_name = "Maria Puig", .lang = "ca",
		.expected_version = -1,
		.event = {.action = "submit", .actor = {.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"},
		          .time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, .form = form,
		          .n_form = 1, .csv = csv},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s", err.msg);
	snprintf(number, 40, "%s", out.registry_number);
	eng_arena_free(&arena);
}

static void sql_ok(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	def = fixture_definition();
	struct eng_store *s;
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Ajuntament de Demostració",
	                                     "Ayuntamiento de Demostración", true, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "ajuntb", "Ajuntament d'Alacant",
	                                     "Ayuntamiento de Alicante", false, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_put_definition(s, def, "-- source", &err), 0, "%s", err.msg);
	sql_ok("UPDATE entity SET dir3 = '" DEMO_DIR3 "' WHERE id = 'demo'");
	sql_ok("UPDATE entity SET dir3 = '" ALACANT_DIR3 "' WHERE id = 'ajuntb'");
	file(s, "demo", demo_number);
	eng_store_close(s);
	sql_ok("INSERT INTO person (entity_id, nif, name, email) VALUES ('demo', '12345678Z', "
	       "'Maria Puig', 'maria.puig@example.org')");
	snprintf(yy, sizeof(yy), "%.2s", demo_number + 4); /* E/2026/000001 -> "26" */
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char *out;
	shell_run(&out, NULL, "rm -rf %s", dir);
	free(out);
	PQfinish(conn);
	eng_definition_free(def);
	pgtmp_stop(&cluster);
}

TestSuite(sicres, .init = setup, .fini = teardown, .timeout = 240);

/* `tramit registry ARGS` as entity, in the scratch folder; stdout and stderr together. */
static int registry(char **out, const char *entity, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int registry(char **out, const char *entity, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return shell_run(out, NULL, "cd %s && TRAMIT_DATABASE_URL='%s' TRAMIT_ENTITY=%s USER=tester "
	                 "%s registry %s 2>&1", dir, cluster.conninfo, entity, TRAMIT_BINARY, args);
}

static char *query1(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static long count(const char *sql)
{
	char *v = query1(sql);
	long n = atol(v);
	free(v);
	return n;
}

/* An XPath string of the exchange file. */
static char *xpath(const char *file, const char *expr)
{
	char *out;
	int rc = shell_run(&out, NULL, "xmllint --xpath 'string(/Fichero_Intercambio_SICRES_3/%s)' %s/%s",
	                   expr, dir, file);
	cr_assert_eq(rc, 0, "xmllint --xpath %s: %s", expr, out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void expect_field(const char *file, const char *expr, const char *want)
{
	char *got = xpath(file, expr);
	cr_expect_str_eq(got, want, "%s", expr);
	free(got);
}

static char *identifier(int seq)
{
	char *id = malloc(40);
	snprintf(id, 40, DEMO_DIR3 "_%s_%08d", yy, seq);
	return id;
}

/* demo exports its entry to Alacant as file; returns the identifier (malloc'd). */
static char *export_to_alacant(const char *file, int seq)
{
	char *out, want[512], *id = identifier(seq);
	int rc = registry(&out, "demo", "export %s --to " ALACANT_DIR3 " --to-name \"Ajuntament d'Alacant\" "
	                  "-o %s --url https://seu.example.org", demo_number, file);
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(want, sizeof(want), "%s: entry %s with 2 annexes written to %s, sent to " ALACANT_DIR3 "\n",
	         id, demo_number, file);
	cr_assert_str_eq(out, want);
	free(out);
	return id;
}

Test(sicres, export_writes_the_filed_entry_with_exact_fields)
{
	char *id = export_to_alacant("out.xml", 1);
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "xmllint --noout %s/out.xml 2>&1", dir), 0, "%s", out);
	free(out);
	expect_field("out.xml", "De_Origen_o_Remitente/Codigo_Entidad_Registral_Origen", DEMO_DIR3);
	expect_field("out.xml", "De_Origen_o_Remitente/Decodificacion_Entidad_Registral_Origen",
	             "Ajuntament de Demostració");
	expect_field("out.xml", "De_Origen_o_Remitente/Numero_Registro_Entrada", demo_number);
	char *when = query1("SELECT to_char(presented_at AT TIME ZONE 'Europe/Madrid', "
	                    "'YYYYMMDDHH24MISS') FROM registry_entry WHERE entity_id = 'demo'");
	expect_field("out.xml", "De_Origen_o_Remitente/Fecha_Hora_Entrada", when);
	expect_field("out.xml", "De_Destino/Codigo_Entidad_Registral_Destino", ALACANT_DIR3);
	expect_field("out.xml", "De_Destino/Decodificacion_Entidad_Registral_Destino", "Ajuntament d'Alacant");
	expect_field("out.xml", "De_Interesado/Tipo_Documento_Identificacion_Interesado", "N");
	expect_field("out.xml", "De_Interesado/Documento_Identificacion_Interesado", "12345678Z");
	expect_field("out.xml", "De_Interesado/Nombre_Interesado", "Maria");
	expect_field("out.xml", "De_Interesado/Primer_Apellido_Interesado", "Puig");
	expect_field("out.xml", "De_Interesado/Correo_Electronico_Interesado", "maria.puig@example.org");
	char *summary = query1("SELECT summary FROM registry_entry WHERE entity_id = 'demo'");
	expect_field("out.xml", "De_Asunto/Resumen", summary);
	cr_assert_eq(shell_run(&out, NULL, "xmllint --xpath 'count(/*/De_Anexo)' %s/out.xml", dir), 0);
	cr_expect_str_eq(out, "2\n");
	free(out);
	expect_field("out.xml", "De_Anexo[1]/Tipo_MIME", "application/pdf");
	expect_field("out.xml", "De_Anexo[1]/Tipo_Documento", "02");
	expect_field("out.xml", "De_Anexo[2]/Tipo_MIME", "application/json");
	expect_field("out.xml", "De_Anexo[2]/Tipo_Documento", "03");
	char want_file_id[64];
	snprintf(want_file_id, sizeof(want_file_id), "%s_01_0001.pdf", id);
	expect_field("out.xml", "De_Anexo[1]/Identificador_Fichero", want_file_id);
	expect_field("out.xml", "De_Internos_Control/Identificador_Intercambio", id);
	expect_field("out.xml", "De_Internos_Control/Tipo_Anotacion", "02");
	expect_field("out.xml", "De_Internos_Control/Tipo_Registro", "0");
	expect_field("out.xml", "De_Internos_Control/Documentacion_Fisica", "3");
	expect_field("out.xml", "De_Internos_Control/Indicador_Prueba", "0");
	expect_field("out.xml", "De_Internos_Control/Codigo_Entidad_Registral_Inicio", DEMO_DIR3);
	expect_field("out.xml", "De_Formulario_Generico/Expone", "assumpte: Còpia del padró");
	expect_field("out.xml", "De_Formulario_Generico/Solicita", summary);

	/* The hash, recomputed by openssl from the decoded content, and the JSON annex's bytes
	 * against the stored receipt. */
	cr_assert_eq(shell_run(&out, NULL, "cd %s && xmllint --xpath 'string(//De_Anexo[1]/Anexo)' "
	                       "out.xml | base64 -d | openssl dgst -sha256 -binary | base64", dir), 0);
	char *hash = xpath("out.xml", "De_Anexo[1]/Hash");
	out[strcspn(out, "\n")] = '\0';
	cr_expect_str_eq(out, hash);
	free(out);
	free(hash);
	cr_assert_eq(shell_run(&out, NULL, "cd %s && xmllint --xpath 'string(//De_Anexo[1]/Anexo)' "
	                       "out.xml | base64 -d | head -c 5", dir), 0);
	cr_expect_str_eq(out, "%PDF-");
	free(out);
	cr_assert_eq(shell_run(&out, NULL, "cd %s && xmllint --xpath 'string(//De_Anexo[2]/Anexo)' "
	                       "out.xml | base64 -d | sha256sum | cut -c1-64", dir), 0);
	char *stored = query1("SELECT sha256 FROM document WHERE kind = 'receipt'");
	out[strcspn(out, "\n")] = '\0';
	cr_expect_str_eq(out, stored);
	free(out);
	free(stored);

	/* Refusals use no identifier: the next export takes 00000002. */
	cr_expect_eq(registry(&out, "demo", "export E/2026/999999 --to " ALACANT_DIR3 " -o x.xml"), 1);
	cr_expect_str_eq(out, "tramit: registry export: no registry entry E/2026/999999 in entity demo\n");
	free(out);
	cr_expect_eq(registry(&out, "demo", "export %s --to L01030148 -o x.xml", demo_number), 1);
	cr_expect_str_eq(out, "tramit: registry export: 'L01030148' is not an ayuntamiento's DIR3 code: "
	                 "after L01, the control digit should be 9, not 8\n");
	free(out);
	cr_expect_eq(shell_run(&out, NULL, "test -e %s/x.xml || test -e %s/x.xml.tmp", dir, dir), 1);
	free(out);
	char *second = export_to_alacant("second.xml", 2);
	cr_expect_eq(count("SELECT count(*) FROM interchange WHERE entity_id = 'demo' AND "
	                   "direction = 'out' AND state = 'sent'"), 2);
	cr_expect_eq(count("SELECT count(*) FROM interchange_event WHERE to_state = 'sent' AND "
	                   "actor = 'cli:tester'"), 2);
	free(second);
	free(when);
	free(summary);
	free(id);
}

Test(sicres, import_in_another_entity_round_trips_and_accept_takes_the_next_number)
{
	struct eng_store *s;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	char alacant_first[40];
	file(s, "ajuntb", alacant_first); /* Alacant's own E/YYYY/000001 */
	eng_store_close(s);
	char *id = export_to_alacant("out.xml", 1), *out, want[512];

	cr_assert_eq(registry(&out, "ajuntb", "import out.xml"), 0, "%s", out);
	snprintf(want, sizeof(want), "%s: received with 2 annexes; accept, reject or return it\n", id);
	cr_expect_str_eq(out, want);
	free(out);
	cr_assert_eq(registry(&out, "ajuntb", "import out.xml"), 0, "%s", out);
	snprintf(want, sizeof(want), "%s: already received (state received); nothing new stored\n", id);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(count("SELECT count(*) FROM interchange WHERE entity_id = 'ajuntb'"), 1);
	char *origin = query1("SELECT origin_code || '|' || origin_name || '|' || origin_number || '|' || "
	                      "party_nif || '|' || party_name || '|' || n_annexes FROM interchange "
	                      "WHERE entity_id = 'ajuntb'");
	snprintf(want, sizeof(want), DEMO_DIR3 "|Ajuntament de Demostració|%s|12345678Z|Maria Puig|2",
	         demo_number);
	cr_expect_str_eq(origin, want);
	free(origin);

	char next[40];
	snprintf(next, sizeof(next), "%.7s000002", alacant_first); /* E/2026/ + 000002 */
	cr_assert_eq(registry(&out, "ajuntb", "accept %s", id), 0, "%s", out);
	snprintf(want, sizeof(want), "%s: accepted as entry %s\n", id, next);
	cr_expect_str_eq(out, want);
	free(out);

	/* The entry Alacant wrote: the party, the summary and the addressee from the file. */
	char *row = query1("SELECT number || '|' || party_nif || '|' || party_name || '|' || addressee "
	                   "FROM registry_entry WHERE entity_id = 'ajuntb' AND seq = 2");
	snprintf(want, sizeof(want), "%s|12345678Z|Maria Puig|Ajuntament d'Alacant", next);
	cr_expect_str_eq(row, want);
	free(row);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry a JOIN registry_entry b ON "
	                   "a.summary = b.summary WHERE a.entity_id = 'ajuntb' AND a.seq = 2 AND "
	                   "b.entity_id = 'demo'"), 1);
	/* The annexes' bytes: the JSON equals demo's stored receipt, byte for byte; the PDF's
	 * SHA-256 is the one the file carried. */
	cr_expect_eq(count("SELECT count(*) FROM registry_entry_document l JOIN document d ON "
	                   "d.id = l.document_id JOIN document o ON o.kind = 'receipt' AND "
	                   "o.entity_id = 'demo' WHERE d.entity_id = 'ajuntb' AND l.position = 2 "
	                   "AND d.content = o.content AND d.media_type = 'application/json'"), 1);
	char *pdf_sha = query1("SELECT encode(sha256(d.content), 'base64') FROM registry_entry_document l "
	                       "JOIN document d ON d.id = l.document_id WHERE l.position = 1");
	char *hash = xpath("out.xml", "De_Anexo[1]/Hash");
	cr_expect_str_eq(pdf_sha, hash);
	free(pdf_sha);
	free(hash);

	/* Again: the same answer; another decision: refused, nothing changes. */
	cr_assert_eq(registry(&out, "ajuntb", "accept %s", id), 0, "%s", out);
	snprintf(want, sizeof(want), "%s: accepted as entry %s (already; nothing changed)\n", id, next);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(registry(&out, "ajuntb", "reject %s --reason 'Massa tard'", id), 1);
	snprintf(want, sizeof(want), "tramit: registry reject: exchange %s is already accepted as "
	         "entry %s; states only move forward\n", id, next);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry WHERE entity_id = 'ajuntb'"), 2);

	cr_assert_eq(registry(&out, "ajuntb", "list --book E --search 'maria puig'"), 0, "%s", out);
	char *when = query1("SELECT to_char(presented_at AT TIME ZONE 'Europe/Madrid', "
	                    "'YYYY-MM-DD\"T\"HH24:MI:SS') FROM registry_entry WHERE entity_id = 'ajuntb' AND seq = 2");
	char *summary = query1("SELECT summary FROM registry_entry WHERE entity_id = 'demo'");
	snprintf(want, sizeof(want), "%s\t%s\t12345678Z\tMaria Puig\t%s\t-\t%s\n", next, when, summary, id);
	cr_expect(strncmp(out, want, strlen(want)) == 0, "expected first line %s in:\n%s", want, out);
	cr_expect(strstr(out, "2 of 2 entries\n") != NULL, "%s", out);
	free(when);
	free(summary);
	free(out);
	cr_expect_eq(count("SELECT count(*) FROM interchange_event e JOIN interchange i ON "
	                   "i.id = e.interchange_id WHERE i.entity_id = 'ajuntb' AND "
	                   "e.actor = 'cli:tester' AND e.to_state IN ('received', 'accepted')"), 2);

	/* Alacant forwards the accepted entry: its annexes travel again, under their file names. */
	cr_assert_eq(registry(&out, "ajuntb", "export %s --to " DEMO_DIR3 " -o forward.xml", next), 0, "%s", out);
	snprintf(want, sizeof(want), ALACANT_DIR3 "_%s_00000001: entry %s with 2 annexes written to "
	         "forward.xml, sent to " DEMO_DIR3 "\n", yy, next);
	cr_expect_str_eq(out, want);
	free(out);
	char name[64];
	snprintf(name, sizeof(name), "justificant-E-%.4s-%s.json", demo_number + 2, demo_number + 7);
	expect_field("forward.xml", "De_Anexo[2]/Nombre_Fichero_Anexado", name);
	char *first_hash = xpath("out.xml", "De_Anexo[2]/Hash"), *again = xpath("forward.xml", "De_Anexo[2]/Hash");
	cr_expect_str_eq(again, first_hash);
	free(first_hash);
	free(again);
	free(id);
}

/* Writes dir/name: the text of src with the first `from` replaced by `to`. */
static void variant(const char *src, const char *name, const char *from, const char *to)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, src);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	char *at = strstr(text, from);
	cr_assert_not_null(at, "%s not in %s", from, src);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fwrite(text, 1, (size_t)(at - text), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	fclose(f);
	free(text);
}

/* many followed by the segment it was put before (static buffer). */
static const char *many_then_subject(const char *many)
{
	static char buf[5000 * 4 + 16];
	snprintf(buf, sizeof(buf), "%s<De_Asunto>", many);
	return buf;
}

static void expect_refused(const char *file, const char *reason)
{
	char *out, want[1024];
	cr_expect_eq(registry(&out, "ajuntb", "import %s", file), 1, "%s", out);
	snprintf(want, sizeof(want), "tramit: registry import: %s: %s; nothing stored\n", file, reason);
	cr_expect_str_eq(out, want);
	free(out);
}

Test(sicres, hostile_and_broken_files_are_refused_naming_the_field_and_store_nothing)
{
	free(export_to_alacant("out.xml", 1));
	char *out;
	/* A changed byte of the PDF: "%PDF" is "JVBE" in base64. */
	variant("out.xml", "tampered.xml", "<Anexo>JVBE", "<Anexo>JVBF");
	cr_assert_eq(registry(&out, "ajuntb", "import tampered.xml"), 1);
	cr_expect(strstr(out, "tramit: registry import: tampered.xml: De_Anexo[1]/Hash: is ") == out, "%s", out);
	cr_expect(strstr(out, ": the annex was altered; nothing stored\n") != NULL, "%s", out);
	free(out);
	variant("out.xml", "no-summary.xml", "<Resumen>", "<Resum>");
	variant("no-summary.xml", "no-summary2.xml", "</Resumen>", "</Resum>");
	expect_refused("no-summary2.xml", "De_Asunto/Resumen: required field missing");
	variant("out.xml", "entity.xml", "<Fichero_Intercambio_SICRES_3>",
	        "<!DOCTYPE Fichero_Intercambio_SICRES_3 [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
	        "<Fichero_Intercambio_SICRES_3>");
	expect_refused("entity.xml", "DOCTYPE refused: exchange files may not carry a DTD or entity declarations");
	variant("out.xml", "laughs.xml", "<Fichero_Intercambio_SICRES_3>",
	        "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
	        "<Fichero_Intercambio_SICRES_3>");
	expect_refused("laughs.xml", "DOCTYPE refused: exchange files may not carry a DTD or entity declarations");
	/* Too many elements, refused before any field is read. */
	char *many = calloc(5001, 4);
	for (int i = 0; i < 5000; i++)
		memcpy(many + 4 * i, "<x/>", 4);
	variant("out.xml", "many.xml", "<De_Asunto>", many_then_subject(many));
	cr_assert_eq(shell_run(&out, NULL, "xmllint --xpath 'count(//*)' %s/out.xml", dir), 0);
	char many_reason[96];
	snprintf(many_reason, sizeof(many_reason), "the file has %ld elements, at most 5000",
	         atol(out) + 5000);
	free(out);
	expect_refused("many.xml", many_reason);
	free(many);
	variant("out.xml", "two-subjects.xml", "<De_Asunto>", "<De_Asunto><Resumen>x</Resumen></De_Asunto><De_Asunto>");
	expect_refused("two-subjects.xml", "De_Asunto: occurs 2 times, expected once");
	variant("out.xml", "bad-dir3.xml", "<Codigo_Entidad_Registral_Origen>" DEMO_DIR3,
	        "<Codigo_Entidad_Registral_Origen>L01462509");
	expect_refused("bad-dir3.xml", "De_Origen_o_Remitente/Codigo_Entidad_Registral_Origen: 'L01462509' "
	               "is not an ayuntamiento's DIR3 code: after L01, the control digit should be 8, not 9");
	char *when = query1("SELECT to_char(presented_at AT TIME ZONE 'Europe/Madrid', "
	                    "'YYYYMMDDHH24MISS') FROM registry_entry WHERE entity_id = 'demo'");
	char from[64], to[64], reason[160];
	snprintf(from, sizeof(from), "<Fecha_Hora_Entrada>%s", when);
	snprintf(to, sizeof(to), "<Fecha_Hora_Entrada>%.4s1301%s", when, when + 8); /* month 13 */
	variant("out.xml", "bad-date.xml", from, to);
	snprintf(reason, sizeof(reason), "De_Origen_o_Remitente/Fecha_Hora_Entrada: '%.4s1301%s' is "
	         "not a real date and time", when, when + 8);
	expect_refused("bad-date.xml", reason);
	free(when);
	/* One byte over the limit, refused before it is read. */
	cr_assert_eq(shell_run(&out, NULL, "cd %s && cp out.xml big.xml && truncate -s 16777217 big.xml", dir), 0);
	free(out);
	expect_refused("big.xml", "the file is 16777217 bytes; the limit is 16777216 bytes");
	/* Addressed to Alacant, imported by demo. */
	cr_expect_eq(registry(&out, "demo", "import out.xml"), 1);
	cr_expect_str_eq(out, "tramit: registry import: out.xml: De_Destino/Codigo_Entidad_Registral_Destino: "
	                 "the file is addressed to " ALACANT_DIR3 ", but this entity's registry office is "
	                 DEMO_DIR3 "; nothing stored\n");
	free(out);
	cr_expect_eq(count("SELECT count(*) FROM interchange WHERE direction = 'in'"), 0);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry WHERE entity_id = 'ajuntb'"), 0);
}

Test(sicres, reject_and_return_need_a_reason_and_write_no_entry)
{
	char *first = export_to_alacant("one.xml", 1), *second = export_to_alacant("two.xml", 2);
	char *out, want[512];
	cr_assert_eq(registry(&out, "ajuntb", "import one.xml"), 0, "%s", out);
	free(out);
	cr_assert_eq(registry(&out, "ajuntb", "import two.xml"), 0, "%s", out);
	free(out);
	cr_expect_eq(registry(&out, "ajuntb", "reject %s", first), 1);
	cr_expect_str_eq(out, "tramit: registry reject: a reason is required to reject an exchange\n");
	free(out);
	cr_expect_eq(registry(&out, "ajuntb", "return %s --reason '  '", second), 1);
	cr_expect_str_eq(out, "tramit: registry return: a reason is required to return an exchange\n");
	free(out);
	cr_assert_eq(registry(&out, "ajuntb", "reject %s --reason 'No és competència municipal'", first), 0);
	snprintf(want, sizeof(want), "%s: rejected: No és competència municipal\n", first);
	cr_expect_str_eq(out, want);
	free(out);
	cr_assert_eq(registry(&out, "ajuntb", "return %s --reason 'Correspon a la Diputació'", second), 0);
	snprintf(want, sizeof(want), "%s: returned: Correspon a la Diputació\n", second);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(registry(&out, "ajuntb", "accept %s", first), 1);
	snprintf(want, sizeof(want), "tramit: registry accept: exchange %s is already rejected; states "
	         "only move forward\n", first);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(count("SELECT count(*) FROM registry_entry WHERE entity_id = 'ajuntb'"), 0);
	cr_expect_eq(count("SELECT count(*) FROM document WHERE entity_id = 'ajuntb'"), 0);
	char *states = query1("SELECT string_agg(state || ':' || reason, ',' ORDER BY identifier) "
	                      "FROM interchange WHERE entity_id = 'ajuntb'");
	cr_expect_str_eq(states, "rejected:No és competència municipal,returned:Correspon a la Diputació");
	free(states);
	/* The sender records the receiver's answer on its outgoing exchange. */
	cr_assert_eq(registry(&out, "demo", "reject %s --outgoing --reason 'Rebutjat per Alacant'", first), 0);
	snprintf(want, sizeof(want), "%s: rejected: Rebutjat per Alacant\n", first);
	cr_expect_str_eq(out, want);
	free(out);
	cr_expect_eq(registry(&out, "demo", "accept %s", first), 1);
	snprintf(want, sizeof(want), "tramit: registry accept: no incoming exchange %s in entity demo\n", first);
	cr_expect_str_eq(out, want);
	free(out);
	/* A database rule, not only the code, keeps final states final. */
	PGresult *r = PQexec(conn, "UPDATE interchange SET state = 'sent' WHERE direction = 'out' AND "
	                           "state = 'rejected'");
	cr_expect_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	free(first);
	free(second);
}

Test(sicres, an_annex_declared_as_html_is_stored_as_plain_bytes)
{
	char *id = export_to_alacant("out.xml", 1), *out;
	variant("out.xml", "html.xml", "<Tipo_MIME>application/pdf", "<Tipo_MIME>text/html");
	cr_assert_eq(registry(&out, "ajuntb", "import html.xml"), 0, "%s", out);
	free(out);
	cr_assert_eq(registry(&out, "ajuntb", "accept %s", id), 0, "%s", out);
	free(out);
	char *types = query1("SELECT string_agg(d.media_type, ',' ORDER BY l.position) FROM "
	                     "registry_entry_document l JOIN document d ON d.id = l.document_id");
	cr_expect_str_eq(types, "application/octet-stream,application/json");
	free(types);
	free(id);
}

Test(sicres, exports_at_the_same_time_take_consecutive_identifiers)
{
	char *out;
	cr_assert_eq(shell_run(&out, NULL, "cd %s && for i in 1 2 3 4; do TRAMIT_DATABASE_URL='%s' "
	                       "TRAMIT_ENTITY=demo %s registry export %s --to " ALACANT_DIR3 " -o p$i.xml "
	                       "> p$i.log 2>&1 & done; wait; cat p*.log | grep -c 'written to'", dir,
	                       cluster.conninfo, TRAMIT_BINARY, demo_number), 0, "%s", out);
	cr_expect_str_eq(out, "4\n");
	free(out);
	char *ids = query1("SELECT string_agg(right(identifier, 8), ',' ORDER BY identifier) FROM "
	                   "interchange WHERE entity_id = 'demo'");
	cr_expect_str_eq(ids, "00000001,00000002,00000003,00000004");
	free(ids);
}
