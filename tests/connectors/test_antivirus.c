/* The antivirus connector against the real libclamav, with a signature database the test
 * writes itself: the EICAR file by MD5 (.hdb) and a made-up marker by body pattern (.ndb).
 * Every path that is not a clean scan must come out not clean, with a stable reason. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/antivirus/antivirus.h"
#include "zipfile.h"

#define MARKER "TRAMIT-TEST-MARKER-7f3a9c51"

static char dbdir[256];
static char eicar[69];

/* Assembled at run time, so the source and the test binary never hold the EICAR file whole. */
static void make_eicar(void)
{
	snprintf(eicar, sizeof(eicar), "%s%s", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD",
	         "-ANTIVIRUS-TEST-FILE!$H+H*");
	cr_assert_eq(strlen(eicar), 68);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void make_database(void)
{
	make_eicar();
	snprintf(dbdir, sizeof(dbdir), "/tmp/tramit-av-XXXXXX");
	cr_assert_not_null(mkdtemp(dbdir));
	write_file(dbdir, "tramit-test.hdb", "44d88612fea8a8f36de82e1278abb02f:68:Tramit.Test.EICAR\n");
	char hex[2 * sizeof(MARKER) + 1] = "";
	for (size_t i = 0; i < strlen(MARKER); i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)MARKER[i]);
	char ndb[256];
	snprintf(ndb, sizeof(ndb), "Tramit.Test.Marker:0:*:%s\n", hex);
	write_file(dbdir, "tramit-test.ndb", ndb);
}

static void remove_database(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dbdir);
	cr_assert_eq(system(cmd), 0);
}

static struct conn_av *open_with(struct conn_av_config cfg)
{
	struct conn_av *av = NULL;
	struct conn_error err = {0};
	cfg.database_dir = dbdir;
	cr_assert_eq(conn_av_open(&av, &cfg, &err), 0, "open: %s", err.msg);
	cr_assert_eq(conn_av_signatures(av), 2);
	return av;
}

static struct conn_av *open_default(void)
{
	return open_with((struct conn_av_config){0});
}

TestSuite(antivirus, .init = make_database, .fini = remove_database);

Test(antivirus, eicar_is_infected_with_the_signature_name)
{
	struct conn_av *av = open_default();
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, eicar, strlen(eicar), "eicar.com", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_INFECTED);
	cr_assert_eq(r.reason, CONN_AV_REASON_SIGNATURE);
	cr_assert_str_eq(r.signature, "Tramit.Test.EICAR.UNOFFICIAL");
	cr_assert_str_eq(conn_av_reason_code(r.reason), "signature");
	cr_assert_str_eq(r.msg, "eicar.com is infected: Tramit.Test.EICAR.UNOFFICIAL");
	conn_av_close(av);
}

Test(antivirus, custom_marker_signature_matches_inside_a_document)
{
	struct conn_av *av = open_default();
	const char *doc = "Sol·licitud de llicència d'obres.\nRef: " MARKER "\nGràcies.\n";
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, doc, strlen(doc), "sollicitud.txt", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_INFECTED);
	cr_assert_str_eq(r.signature, "Tramit.Test.Marker.UNOFFICIAL");
	conn_av_close(av);
}

Test(antivirus, eicar_inside_a_zip_is_infected)
{
	struct conn_av *av = open_default();
	size_t len;
	unsigned char *zip = zip_one(&len, "docs/annex.com", eicar, strlen(eicar), NULL);
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, zip, len, "annexos.zip", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_INFECTED);
	cr_assert_str_eq(r.signature, "Tramit.Test.EICAR.UNOFFICIAL");
	free(zip);
	conn_av_close(av);
}

Test(antivirus, eicar_inside_a_zip_inside_a_zip_is_infected)
{
	struct conn_av *av = open_default();
	size_t inner_len, len;
	unsigned char *inner = zip_one(&inner_len, "annex.com", eicar, strlen(eicar), NULL);
	unsigned char *zip = zip_one(&len, "inner.zip", inner, inner_len, NULL);
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, zip, len, "outer.zip", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_INFECTED);
	cr_assert_str_eq(r.signature, "Tramit.Test.EICAR.UNOFFICIAL");
	free(inner);
	free(zip);
	conn_av_close(av);
}

Test(antivirus, clean_text_and_clean_zip_are_clean)
{
	struct conn_av *av = open_default();
	const char *text = "Declaració responsable: les dades són certes.\n";
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, text, strlen(text), "declaracio.txt", &r), 0);
	cr_assert_eq(r.verdict, CONN_AV_CLEAN);
	cr_assert_eq(r.reason, CONN_AV_REASON_NONE);
	cr_assert_str_eq(r.msg, "declaracio.txt is clean");
	size_t len;
	unsigned char *zip = zip_one(&len, "declaracio.txt", text, strlen(text), NULL);
	cr_assert_eq(conn_av_scan_buffer(av, zip, len, "declaracio.zip", &r), 0, "%s", r.msg);
	cr_assert_eq(r.verdict, CONN_AV_CLEAN);
	free(zip);
	conn_av_close(av);
}

Test(antivirus, encrypted_zip_is_not_clean)
{
	struct conn_av *av = open_default();
	const char *text = "Res a amagar, però xifrat.\n";
	size_t len;
	unsigned char *zip = zip_one(&len, "secret.txt", text, strlen(text), "contrasenya");
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, zip, len, "secret.zip", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_ERROR);
	cr_assert_eq(r.reason, CONN_AV_REASON_ENCRYPTED, "reason %d: %s", r.reason, r.msg);
	cr_assert_str_eq(conn_av_reason_code(r.reason), "encrypted");
	cr_assert(strncmp(r.signature, "Heuristics.Encrypted", 20) == 0, "%s", r.signature);
	cr_assert(strstr(r.msg, "secret.zip is encrypted") == r.msg, "%s", r.msg);
	free(zip);
	conn_av_close(av);
}

Test(antivirus, missing_database_refuses_open_and_every_scan)
{
	struct conn_av *av = (struct conn_av *)1;
	struct conn_error err = {0};
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/absent", dbdir);
	struct conn_av_config cfg = {.database_dir = missing};
	cr_assert_eq(conn_av_open(&av, &cfg, &err), CONN_EUNAVAILABLE);
	cr_assert_null(av);
	char want[600];
	snprintf(want, sizeof(want), "database_dir: %s is not usable (No such file or directory)",
	         missing);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	struct conn_av_result r;
	const char *text = "clean text";
	cr_assert_eq(conn_av_scan_buffer(av, text, strlen(text), "a.txt", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_ERROR);
	cr_assert_eq(r.reason, CONN_AV_REASON_UNAVAILABLE);
	cr_assert_str_eq(conn_av_reason_code(r.reason), "unavailable");
}

Test(antivirus, empty_database_dir_refuses_open)
{
	char empty[300];
	snprintf(empty, sizeof(empty), "%s/empty", dbdir);
	cr_assert_eq(mkdir(empty, 0700), 0);
	struct conn_av *av = NULL;
	struct conn_error err = {0};
	struct conn_av_config cfg = {.database_dir = empty};
	cr_assert_eq(conn_av_open(&av, &cfg, &err), CONN_EUNAVAILABLE);
	cr_assert_null(av);
	cr_assert(strstr(err.msg, "database_dir: ") == err.msg, "%s", err.msg);
	cr_assert(strstr(err.msg, empty), "%s", err.msg);
	cr_assert(strstr(err.msg, "uploads are refused"), "%s", err.msg);
}

Test(antivirus, file_over_max_file_size_is_not_clean)
{
	struct conn_av *av = open_with((struct conn_av_config){.max_file_size = 1024});
	char big[4096];
	memset(big, 'a', sizeof(big));
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, big, sizeof(big), "big.txt", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_ERROR);
	cr_assert_eq(r.reason, CONN_AV_REASON_LIMIT);
	cr_assert_str_eq(r.msg, "big.txt is 4096 bytes, over max_file_size (1024)");
	conn_av_close(av);
}

Test(antivirus, zip_over_max_scan_size_is_not_clean)
{
	/* The archive fits max_file_size; what it unpacks does not fit max_scan_size. */
	struct conn_av *av = open_with((struct conn_av_config){.max_scan_size = 1024});
	char big[4096];
	memset(big, 'a', sizeof(big));
	size_t len;
	unsigned char *zip = zip_one(&len, "big.txt", big, sizeof(big), NULL);
	struct conn_av_result r;
	cr_assert_eq(conn_av_scan_buffer(av, zip, len, "big.zip", &r), -1);
	cr_assert_eq(r.verdict, CONN_AV_ERROR);
	cr_assert_eq(r.reason, CONN_AV_REASON_LIMIT, "reason %d: %s", r.reason, r.msg);
	cr_assert(strncmp(r.signature, "Heuristics.Limits.Exceeded", 26) == 0, "%s", r.signature);
	free(zip);
	conn_av_close(av);
}

struct worker_arg {
	struct conn_av *av;
	int wrong;
};

static void *scan_many(void *p)
{
	struct worker_arg *a = p;
	const char *clean = "Un fitxer net per a l'expedient.\n";
	for (int i = 0; i < 50; i++) {
		struct conn_av_result r;
		bool dirty = i % 2 == 0;
		int rc = dirty ? conn_av_scan_buffer(a->av, eicar, strlen(eicar), "e.com", &r)
		               : conn_av_scan_buffer(a->av, clean, strlen(clean), "c.txt", &r);
		if (dirty ? (rc != -1 || r.verdict != CONN_AV_INFECTED) : (rc != 0 || r.verdict != CONN_AV_CLEAN))
			a->wrong++;
	}
	return NULL;
}

Test(antivirus, one_engine_scans_on_four_threads_at_once)
{
	struct conn_av *av = open_default();
	pthread_t t[4];
	struct worker_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){av, 0};
		cr_assert_eq(pthread_create(&t[i], NULL, scan_many, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(args[i].wrong, 0, "thread %d got %d wrong verdicts", i, args[i].wrong);
	}
	conn_av_close(av);
}
