/* Shared set-up for the C benchmarks: an embedded PostgreSQL cluster in a folder (with a TCP
 * port, so pgbench and Node can reach it), migrated, with the bench entity and the BENCH-001
 * definition stored; bulk expedients made with set-based SQL; pgbench runs; medians.
 * A benchmark aborts on the first failure (bench_die), after stopping the cluster it started.
 * Not thread-safe: call from the main thread only. */
#ifndef BENCH_BENCHLIB_H
#define BENCH_BENCHLIB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/runtime/pgcluster.h"
#include "engine/runtime/store.h"

struct bench_env {
	struct eng_pgcluster cluster;
	char conninfo[1100];            /* over TCP, as pgbench and the workers use it */
	PGconn *conn;                   /* the benchmark's own connection */
	struct eng_definition *def;     /* BENCH-001 */
	const char *pgbench;            /* the pgbench binary */
};

/* Starts a cluster in dir (created; must not hold one yet), migrates it and stores the tràmit
 * compiled from tramit_path. Dies on failure; the cluster is stopped at exit. */
void bench_env_start(struct bench_env *out, const char *dir, const char *tramit_path,
                     const char *pgbench);

/* Stops the cluster bench_env_start started and frees what it holds; also runs at exit.
 * The env passed to bench_env_start must live until then (make it static). */
void bench_env_stop(void);

/* The definition lookup the workers need: only BENCH-001 is known. payload: struct bench_env. */
const struct eng_definition *bench_lookup(const char *hash, void *payload);

/* Prints "bench: <message>" to stderr and exits 1 (the cluster is stopped by an exit hook). */
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs SQL (several statements allowed) on the benchmark's connection; dies on failure. */
void bench_sql(struct bench_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs a query answering one number (first row, first column; NULL is 0); dies on failure. */
double bench_sql_number(struct bench_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a query and stores the first row's first n columns as numbers (NULL is 0); dies on
 * failure or when no row comes back. */
void bench_sql_numbers(struct bench_env *env, double *out, int n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Empties everything expedients touch (TRUNCATE ... CASCADE), then CHECKPOINT. */
void bench_reset(struct bench_env *env);

/* Creates expedients numbered prefix/from .. prefix/to in state "open" of BENCH-001, set-based.
 * With a deadline, each one gets the armed timer "deadline.open" and the matching engine
 * bookkeeping (vars due.open): due at due_ms + (k - from) * step_us / 1000 for number k.
 * Without, vars are empty and no timer is made. The hash chain starts from the genesis
 * hash (64 zeros), as for an expedient with no event yet. */
void bench_expedients_make(struct bench_env *env, const char *prefix, int64_t from, int64_t to,
                           int deadline, int64_t due_ms, int64_t step_us);

/* Runs argv (argv[0] looked up in PATH) and reads its standard output into out
 * (NUL-terminated, cut to fit); standard error passes through. Returns its exit status. */
int bench_run_capture(char *out, size_t size, const char *const *argv);

/* Runs pgbench with `clients` clients for `seconds` on script (a file path); returns its tps
 * (dies if pgbench fails). */
double bench_pgbench_tps(struct bench_env *env, const char *script, int clients, int seconds);

/* Wall-clock milliseconds since the epoch, and a monotonic clock in seconds. */
int64_t bench_now_ms(void);
double bench_clock_s(void);
void bench_sleep_ms(int64_t ms);

/* The median of n values (sorts v in place); 0 when n is 0. */
double bench_median(double *v, int n);

/* This process's resident set size in kB (VmRSS of /proc/self/status), or -1. */
long bench_rss_kb(void);

/* Prints the command line that reproduces this run. */
void bench_print_command(int argc, char **argv);

#endif
