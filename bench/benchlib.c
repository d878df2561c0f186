/* Shared set-up for the C benchmarks (benchlib.h). Invariant: a cluster started here is
 * stopped by the exit hook, whichever way the benchmark ends through exit(). */
#include "benchlib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dsl/dsl.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"

static struct bench_env *started; /* for the exit hook */

void bench_env_stop(void)
{
	if (!started)
		return;
	struct eng_error err = {0};
	PQfinish(started->conn);
	started->conn = NULL;
	if (eng_pgcluster_stop(&started->cluster, &err) != 0)
		fprintf(stderr, "bench: %s\n", err.msg);
	eng_definition_free(started->def);
	started = NULL;
}

_Noreturn void bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static struct eng_definition *compile(const char *path)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	if (dsl_compile_file(&def, path, NULL, &diags) != 0) {
		char line[512] = "unknown error";
		if (diags.n > 0)
			dsl_diag_format(&diags.items[0], line, sizeof(line));
		dsl_diags_free(&diags);
		bench_die("%s does not compile: %s", path, line);
	}
	dsl_diags_free(&diags);
	return def;
}

static void store_definition(struct bench_env *env, const char *path)
{
	struct eng_error err = {0};
	struct eng_store *s = NULL;
	if (eng_store_open(&s, env->conninfo, &err) != 0 ||
	    eng_store_entity_ensure(s, "bench", "Banc de proves", "Banco de pruebas", true, &err) != 0 ||
	    eng_store_put_definition(s, env->def, path, &err) != 0)
		bench_die("cannot store %s: %s", path, err.msg);
	eng_store_close(s);
}

void bench_env_start(struct bench_env *out, const char *dir, const char *tramit_path,
                     const char *pgbench)
{
	memset(out, 0, sizeof(*out));
	out->pgbench = pgbench;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		bench_die("mkdir %s: %s", dir, strerror(errno));
	/* When we are root the postmaster runs as another user, which must enter the folder. */
	if (chmod(dir, 0755) != 0)
		bench_die("chmod %s: %s", dir, strerror(errno));
	char pgdir[600];
	snprintf(pgdir, sizeof(pgdir), "%s/pg", dir);
	struct eng_pgcluster_options opts = {.dir = pgdir, .tcp = true, .quiet = true};
	struct eng_error err = {0};
	if (eng_pgcluster_start(&out->cluster, &opts, &err) != 0)
		bench_die("cannot start PostgreSQL in %s: %s", pgdir, err.msg);
	started = out;
	atexit(bench_env_stop);
	snprintf(out->conninfo, sizeof(out->conninfo),
	         "host=127.0.0.1 port=%d user=tramit dbname=tramit", out->cluster.port);
	out->conn = PQconnectdb(out->conninfo);
	if (PQstatus(out->conn) != CONNECTION_OK)
		bench_die("cannot connect to %s: %s", out->conninfo, PQerrorMessage(out->conn));
	if (eng_migrate(out->conn, NULL, NULL, &err) != 0)
		bench_die("cannot migrate: %s", err.msg);
	out->def = compile(tramit_path);
	store_definition(out, tramit_path);
	bench_sql(out, "CREATE TABLE IF NOT EXISTS bench_row (id bigserial PRIMARY KEY, "
	               "at timestamptz DEFAULT now())");
}

const struct eng_definition *bench_lookup(const char *hash, void *payload)
{
	struct bench_env *env = payload;
	return strcmp(hash, env->def->hash) == 0 ? env->def : NULL;
}

static PGresult *run_sql(struct bench_env *env, const char *fmt, va_list ap)
{
	char sql[4096];
	int n = vsnprintf(sql, sizeof(sql), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(sql))
		bench_die("SQL longer than %zu bytes", sizeof(sql));
	PGresult *r = PQexec(env->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		bench_die("%s: %s", sql, PQresultErrorMessage(r));
	return r;
}

void bench_sql(struct bench_env *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PQclear(run_sql(env, fmt, ap));
	va_end(ap);
}

double bench_sql_number(struct bench_env *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PGresult *r = run_sql(env, fmt, ap);
	va_end(ap);
	double v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? atof(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	return v;
}

void bench_sql_numbers(struct bench_env *env, double *out, int n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PGresult *r = run_sql(env, fmt, ap);
	va_end(ap);
	if (PQntuples(r) < 1 || PQnfields(r) < n)
		bench_die("a query answered %d rows of %d columns, not 1 of %d: %s", PQntuples(r),
		          PQnfields(r), n, fmt);
	for (int i = 0; i < n; i++)
		out[i] = PQgetisnull(r, 0, i) ? 0 : atof(PQgetvalue(r, 0, i));
	PQclear(r);
}

void bench_reset(struct bench_env *env)
{
	bench_sql(env, "TRUNCATE expedient, event, timer, outbox, registry_entry, document, command, "
	               "bench_row CASCADE; CHECKPOINT");
}

void bench_expedients_make(struct bench_env *env, const char *prefix, int64_t from, int64_t to,
                           int deadline, int64_t due_ms, int64_t step_us)
{
	/* The due time as the engine keeps it: a string in vars, a bigint in the timer row. */
	char due[200];
	snprintf(due, sizeof(due), "(%lld::bigint + (g - %lld) * %lld::bigint / 1000)",
	         (long long)due_ms, (long long)from, (long long)step_us);
	char vars[300];
	if (deadline)
		snprintf(vars, sizeof(vars), "jsonb_build_object('due.open', %s::text)", due);
	else
		snprintf(vars, sizeof(vars), "'{}'::jsonb");
	char sql[2048];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO expedient (entity_id, number, tramit_code, definition_hash, state, "
	         "version, applicant_nif, applicant_name, lang, data, created_at, updated_at, "
	         "last_hash, vars) SELECT 'bench', '%s/' || g, 'BENCH-001', '%s', 'open', 1, "
	         "'00000000T', 'Bench', 'ca', '{\"assumpte\": \"Prova\"}', now(), now(), "
	         "repeat('0', 64), %s FROM generate_series(%lld, %lld) g",
	         prefix, env->def->hash, vars, (long long)from, (long long)to);
	if (!deadline) {
		bench_sql(env, "%s", sql);
		return;
	}
	bench_sql(env,
	          "WITH e AS (%s RETURNING id, (vars->>'due.open')::bigint AS due) "
	          "INSERT INTO timer (entity_id, expedient_id, name, due_ms, due_at) "
	          "SELECT 'bench', id, 'deadline.open', due, to_timestamp(due / 1000.0) FROM e",
	          sql);
}

/* Reads the child's whole output into buf (NUL-terminated, truncated to fit). */
static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, buf + len, size - 1 - len)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && (len += (size_t)n) == size - 1)
			break;
	buf[len] = '\0';
}

int bench_run_capture(char *out, size_t size, const char *const *argv)
{
	int fds[2];
	if (pipe(fds) != 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	read_all(fds[0], out, size);
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

double bench_pgbench_tps(struct bench_env *env, const char *script, int clients, int seconds)
{
	char port[16], c[16], j[16], t[16];
	snprintf(port, sizeof(port), "%d", env->cluster.port);
	snprintf(c, sizeof(c), "%d", clients);
	snprintf(j, sizeof(j), "%d", clients < 2 ? 1 : 2);
	snprintf(t, sizeof(t), "%d", seconds);
	const char *argv[] = {env->pgbench, "-n", "-h", "127.0.0.1", "-p", port, "-U", "tramit",
	                      "-c", c, "-j", j, "-T", t, "-f", script, "tramit", NULL};
	char out[8192];
	int status = bench_run_capture(out, sizeof(out), argv);
	const char *tps = strstr(out, "tps = ");
	if (status != 0 || !tps)
		bench_die("pgbench failed (status %d): %s", status, out);
	return atof(tps + 6);
}

int64_t bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double bench_clock_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long bench_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

void bench_print_command(int argc, char **argv)
{
	printf("command:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
}
