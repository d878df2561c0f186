/* The fuzzing driver shared by every harness in tests/fuzz: each harness defines the libFuzzer
 * entry point (so the same file also builds under clang's -fsanitize=fuzzer) plus its seeds
 * and dictionary; the driver mutates the seeds (bit flips, byte changes, insertions and
 * deletions, copies, dictionary tokens, splices of two seeds) with a seeded generator, so a
 * run is repeatable from its seed, and calls the entry point. A harness aborts on any broken
 * invariant; a crash, a sanitizer report or an abort fails the test, and the input that did
 * it is written next to the binary as crash-<harness>-<seed>-<iteration>.bin.
 * TRAMIT_FUZZ_ITERATIONS (default: the harness's own) and TRAMIT_FUZZ_SEED choose the run. */
#ifndef TESTS_FUZZ_DRIVER_H
#define TESTS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_seed {
	const char *data;
	size_t len; /* 0: strlen(data) */
};

struct fuzz_harness {
	const char *name;
	const struct fuzz_seed *seeds;
	size_t n_seeds;
	const char *const *dictionary; /* NULL-terminated; may be NULL */
	long iterations;               /* default per run */
	size_t max_len;                /* inputs are cut to this length */
};

/* Defined by each harness. */
extern struct fuzz_harness fuzz_harness; /* fuzz_init may add seeds made at run time */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: called once before the first input, with the seed files' folder (argv[1]) or NULL. */
int fuzz_init(const char *dir);

/* Aborts with a message: for a harness's broken invariant. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
