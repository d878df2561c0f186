/* Test support: a hand-built definition shaped like the general application (GEN-001), so
 * engine and runtime tests do not depend on the DSL. */
#ifndef TRAMIT_TESTS_FIXTURE_H
#define TRAMIT_TESTS_FIXTURE_H

#include "engine/core/model.h"

/* States draft (initial) -> submitted -> resolved | rejected. Fields: assumpte (text, required,
 * max 20), correu (email), nombre (number 1..10), tipus (choice a|b). The hash is fixed. */
struct eng_definition *fixture_definition(void);

#endif
