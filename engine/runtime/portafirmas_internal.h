/* Internals shared by portafirmas.c (acts, the store's hooks) and portafirmas_read.c. */
#ifndef ENG_PORTAFIRMAS_INTERNAL_H
#define ENG_PORTAFIRMAS_INTERNAL_H

#include "store.h"

int eng_store__portafirmas_read_prepare(struct eng_store *s, struct eng_error *err);

#endif
