/* Running expedients follow a new version of GEN-001 in which state "submitted" became
 * "review": refused without a map, moved with one (final ones stay), and afterwards the
 * hash chains verify, every expedient replays across the move, and the moved ones go on
 * under the new version. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/migrate.h"
#include "dsl/dsl.h"
#include "engine/runtime/audit.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/replay.h"
#include "tests/support/pgtmp.h"

static struct eng_pgcluster cluster;
static struct eng_definition *v1, *v2;
static PGconn *conn;

static const struct eng_definition *lookup(const char *hash, void *payload)
{
	return strcmp(hash, v1->hash) == 0 ? v1 : strcmp(hash, v2->hash) == 0 ? v2 : NULL;
}

static struct eng_definition *compile(const char *path)
{
	struct eng_definition *d = NULL;
	struct dsl_diags diags = {0};
	cr_assert_eq(dsl_compile_file(&d, path, NULL, &diags), 0, "%s", path);
	dsl_diags_free(&diags);
	return d;
}

static long long count(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long long n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static void setup(void)
{
	struct eng_error err = {0};
	cr_assert_eq(pgtmp_start(&cluster, &err), 0, "%s", err.msg);
	conn = pgtmp_connect(&cluster);
	cr_assert_eq(eng_migrate(conn, NULL, NULL, &err), 0, "%s", err.msg);
	v1 = compile(TRAMIT_SOURCE_DIR "/tramits/general/instancia-general.lua");
	v2 = compile(TRAMIT_SOURCE_DIR "/tests/fixtures/diff/removed-state.lua");
}

static void teardown(void)
{
	PQfinish(conn);
	eng_definition_free(v1);
	eng_definition_free(v2);
	pgtmp_stop(&cluster);
}

TestSuite(migrate, .init = setup, .fini = teardown, .timeout = 120);

static const char *const tramitador[] = {"tramitador@registre"};

static void act(struct eng_store *s, const struct eng_definition *def, const char *id, const char *action,
                char out_id[40])
{
	struct eng_arena arena = {0};
	struct eng_value form[] = {{"assumpte", "Migrable"}, {"exposa", "Fets"}, {"solicita", "Res"},
	                           {"idioma", "ca"}};
	bool citizen = !id;
	struct eng_command cmd = {
		.entity_id = "demo", .expedient_id = id, .def = def, .applicant_name = "Maria", .lang = "ca",
		.expected_version = -1,
		.event = {.action = action, .time_ms = 1767225600000, .form = citizen ? form : NULL,
		          .n_form = citizen ? 4 : 0, .csv = citizen ? out_id : NULL,
		          .actor = citizen ? (struct eng_actor){.kind = ENG_PRINCIPAL_CITIZEN, .id = "12345678Z"}
		                           : (struct eng_actor){.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1",
		                                                .roles = tramitador, .n_roles = 1}},
	};
	struct eng_outcome out;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_apply(s, &arena, &cmd, lookup, NULL, &out, &err), 0, "%s: %s", action, err.msg);
	if (citizen)
		snprintf(out_id, 40, "%s", out.expedient_id);
	eng_arena_free(&arena);
}

Test(migrate, a_breaking_change_moves_running_expedients_only_with_a_map)
{
	struct eng_store *s;
	struct eng_error err = {0};
	cr_assert_eq(eng_store_open(&s, cluster.conninfo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_store_entity_ensure(s, "demo", "Demo", "Demo", true, &err), 0);
	cr_assert_eq(eng_store_put_definition(s, v1, "--", &err), 0);
	cr_assert_eq(eng_store_put_definition(s, v2, "--", &err), 0);
	char a[40] = "CSV-A", b[40] = "CSV-B", c[40] = "CSV-C";
	act(s, v1, NULL, "submit", a);
	act(s, v1, NULL, "submit", b);
	act(s, v1, NULL, "submit", c);
	act(s, v1, c, "resolve", NULL);

	char *lines = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&lines, &len);
	struct cat_migration_report rep;
	cr_expect_eq(cat_migrate(s, "demo", v1, v2, NULL, "", "cli:test", false, out, &rep, &err), ENG_EINVALID);
	cr_expect_str_eq(err.msg, "the change is breaking and there is no migration map: see tramit diff ");
	cr_expect_eq(count("SELECT count(*) FROM event WHERE kind = 'migration'"), 0, "nothing moved");

	const char *text = "state submitted -> review\n";
	struct cat_map *map = NULL;
	cr_assert_eq(cat_map_parse(&map, "removed-state.map", text, strlen(text), &err), 0, "%s", err.msg);
	cr_assert_eq(cat_migrate(s, "demo", v1, v2, map, "removed-state.map", "cli:test", false, out, &rep, &err),
	             0, "%s", err.msg);
	fclose(out);
	cr_expect_eq(rep.moved, 2);
	cr_expect_eq(rep.kept_final, 1);
	cr_expect_str_eq(lines, "2026/000001: submitted -> review\n2026/000002: submitted -> review\n");
	free(lines);
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM expedient WHERE definition_hash = '%s' AND state = 'review' "
	         "AND version = 2", v2->hash);
	cr_expect_eq(count(sql), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM expedient WHERE definition_hash = '%s' AND state = 'resolved'",
	         v1->hash);
	cr_expect_eq(count(sql), 1, "the resolved one keeps the version it ended with");

	/* The moved expedients go on under the new version. */
	act(s, v2, a, "resolve", NULL);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM expedient WHERE id = '%s' AND state = 'resolved' AND version = 3", a);
	cr_expect_eq(count(sql), 1);

	struct eng_audit_report ar;
	FILE *sink = fopen("/dev/null", "w");
	cr_assert_eq(eng_audit_verify(s, sink, &ar, &err), 0, "%s", err.msg);
	cr_expect_eq(ar.broken, 0);
	struct eng_replay_report rr;
	char *why = NULL;
	size_t wl = 0;
	FILE *wf = open_memstream(&why, &wl);
	cr_assert_eq(eng_replay_all(s, lookup, NULL, NULL, wf, &rr, &err), 0, "%s", err.msg);
	fclose(wf);
	fclose(sink);
	cr_expect_eq(rr.expedients, 3);
	cr_expect_eq(rr.events, 7, "3 submissions, 2 resolutions, 2 migrations");
	cr_expect_eq(rr.mismatched, 0, "%s", why);
	free(why);
	cat_map_free(map);
	eng_store_close(s);
}
