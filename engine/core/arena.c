/* Arena allocator: bump allocation in growing blocks, freed all at once.
 * Invariant: blocks form a singly linked list; nothing is freed individually. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eng_arena_block {
	struct eng_arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

enum { ARENA_MIN_BLOCK = 8192 };

void *eng_arena_alloc(struct eng_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) / align * align;
	struct eng_arena_block *b = a->head;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_MIN_BLOCK ? size : ARENA_MIN_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			abort();
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *eng_arena_strndup(struct eng_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = eng_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *eng_arena_strdup(struct eng_arena *a, const char *s)
{
	return s ? eng_arena_strndup(a, s, strlen(s)) : NULL;
}

char *eng_arena_printf(struct eng_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *p = eng_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void eng_arena_free(struct eng_arena *a)
{
	struct eng_arena_block *b = a->head;
	while (b) {
		struct eng_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}
