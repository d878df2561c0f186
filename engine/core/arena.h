/* Arena allocator: many small allocations freed at once (definitions, per-request and
 * per-step work). Invariant: every pointer handed out lives until eng_arena_free. */
#ifndef ENG_ARENA_H
#define ENG_ARENA_H

#include <stddef.h>

struct eng_arena_block;

struct eng_arena {
	struct eng_arena_block *head;
};

/* Zero-initialise a struct eng_arena before use; no init call is needed. */
/* Returns zeroed memory aligned for any type; aborts on out-of-memory (like xmalloc). */
void *eng_arena_alloc(struct eng_arena *a, size_t size);
/* Copies a NUL-terminated string (NULL gives NULL). */
char *eng_arena_strdup(struct eng_arena *a, const char *s);
char *eng_arena_strndup(struct eng_arena *a, const char *s, size_t n);
/* printf into the arena. */
char *eng_arena_printf(struct eng_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees every block; the arena is empty and reusable afterwards. */
void eng_arena_free(struct eng_arena *a);

#endif
