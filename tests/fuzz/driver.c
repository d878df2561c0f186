/* The fuzzing driver (driver.h). */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Under AddressSanitizer its report ends the process without a signal: its death callback
 * saves the input instead. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define HAVE_SANITIZER_HOOKS 1
#endif

/* The input being run, for the crash handlers (set before each call). */
static const uint8_t *current;
static size_t current_len;
static char crash_path[512];

/* Writes the current input where a person can replay it; only async-signal-safe calls. */
static void save_crash(void)
{
	if (!current || !crash_path[0])
		return;
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	for (size_t off = 0; off < current_len;) {
		ssize_t w = write(fd, current + off, current_len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	static const char msg[] = "fuzz: the input that failed is in ";
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, crash_path, strlen(crash_path));
	(void)!write(2, "\n", 1);
}

static void on_signal(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz: %s: invariant broken: ", fuzz_harness.name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* xorshift64*: fast, and the same sequence for the same seed everywhere. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}
static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static void insert(struct buf *b, size_t at, const void *p, size_t n)
{
	if (b->len + n > b->cap)
		n = b->cap - b->len;
	memmove(b->data + at + n, b->data + at, b->len - at);
	memcpy(b->data + at, p, n);
	b->len += n;
}

static void erase(struct buf *b, size_t at, size_t n)
{
	if (at + n > b->len)
		n = b->len - at;
	memmove(b->data + at, b->data + at + n, b->len - at - n);
	b->len -= n;
}

static const struct fuzz_seed *seed_at(const struct fuzz_seed *s, size_t i, size_t *len)
{
	*len = s[i].len ? s[i].len : strlen(s[i].data);
	return &s[i];
}

/* One to eight stacked mutations of b. */
static void mutate(struct buf *b)
{
	static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, '\n', '\r', '%', '&', '=', '<',
	                                      '>', '"', '\'', '\\', '/', ';', ':', '-', ' ', 0xc3, 0xe2};
	const char *const *dict = fuzz_harness.dictionary;
	size_t n_dict = 0;
	while (dict && dict[n_dict])
		n_dict++;
	for (int k = 1 + (int)below(8); k > 0; k--) {
		size_t at = below(b->len + 1);
		switch (below(9)) {
		case 0: /* flip a bit */
			if (b->len)
				b->data[below(b->len)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* an interesting byte */
			if (b->len)
				b->data[below(b->len)] = interesting[below(sizeof(interesting))];
			break;
		case 2: { /* a random byte inserted */
			uint8_t c = (uint8_t)rnd();
			insert(b, at, &c, 1);
			break;
		}
		case 3: /* a run deleted */
			erase(b, at, 1 + below(16));
			break;
		case 4: { /* a run copied elsewhere */
			if (!b->len)
				break;
			size_t from = below(b->len), n = 1 + below(32);
			if (from + n > b->len)
				n = b->len - from;
			uint8_t tmp[32];
			memcpy(tmp, b->data + from, n);
			insert(b, at, tmp, n);
			break;
		}
		case 5: case 6: /* a dictionary token */
			if (n_dict) {
				const char *t = dict[below(n_dict)];
				insert(b, at, t, strlen(t));
			}
			break;
		case 7: { /* the tail of another seed spliced in */
			size_t len;
			const struct fuzz_seed *s = seed_at(fuzz_harness.seeds, below(fuzz_harness.n_seeds), &len);
			size_t from = below(len + 1);
			b->len = at;
			insert(b, at, s->data + from, len - from);
			break;
		}
		default: /* cut short */
			b->len = at;
		}
	}
}

int main(int argc, char **argv)
{
	const char *it = getenv("TRAMIT_FUZZ_ITERATIONS"), *sd = getenv("TRAMIT_FUZZ_SEED");
	long iterations = it && *it ? atol(it) : fuzz_harness.iterations;
	uint64_t seed = sd && *sd ? strtoull(sd, NULL, 10) : 20261127;
	rng_state = seed ? seed : 1;
	if (fuzz_init(argc > 1 ? argv[1] : NULL) != 0) {
		fprintf(stderr, "fuzz: %s: set-up failed\n", fuzz_harness.name);
		return 2;
	}
	int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
#ifdef HAVE_SANITIZER_HOOKS
	__sanitizer_set_death_callback(save_crash);
#endif
	size_t max = fuzz_harness.max_len ? fuzz_harness.max_len : 4096;
	struct buf b = {.data = malloc(max + 1), .cap = max};
	if (!b.data)
		return 2;
	/* Every seed once as it is, then mutants. */
	for (long i = 0; i < (long)fuzz_harness.n_seeds + iterations; i++) {
		size_t len;
		const struct fuzz_seed *s = seed_at(fuzz_harness.seeds, (size_t)i % fuzz_harness.n_seeds, &len);
		b.len = len < max ? len : max;
		memcpy(b.data, s->data, b.len);
		if (i >= (long)fuzz_harness.n_seeds)
			mutate(&b);
		snprintf(crash_path, sizeof(crash_path), "crash-%s-%llu-%ld.bin", fuzz_harness.name,
		         (unsigned long long)seed, i);
		/* A copy of exactly len bytes, so a read past the end is the sanitizer's to see. */
		uint8_t *input = malloc(b.len ? b.len : 1);
		memcpy(input, b.data, b.len);
		current = input;
		current_len = b.len;
		LLVMFuzzerTestOneInput(input, b.len);
		current = NULL;
		free(input);
	}
	free(b.data);
	printf("fuzz: %s: %ld inputs (%zu seeds, seed %llu), no failure\n", fuzz_harness.name,
	       (long)fuzz_harness.n_seeds + iterations, fuzz_harness.n_seeds, (unsigned long long)seed);
	return 0;
}
