/* Internal to engine/core: how a step reads a submitted form. Split from step.c so each file
 * keeps one job; nothing outside engine/core includes it. */
#ifndef ENG_FORM_H
#define ENG_FORM_H

#include "step.h"

struct eng__step;

/* Runs designer function fn over data (value: the value under check, for ENG_FN_CHECK), or
 * takes its recorded result; on failure it has already filled the step's refusal. */
typedef int (*eng__fn_runner)(struct eng__step *s, struct eng_fn_record **out, int fn,
                              const struct eng_value *data, size_t n_data, const char *value);

/* Validates the event's form against def: visibility and conditional requirement (designer
 * functions), built-in checks, custom checks, repeatable groups, unknown or repeated names.
 * On success sets out->data (visible values in definition order, money in cents, computed
 * values added) and returns 0; otherwise fills out->errors and returns ENG_EINVALID, or the
 * runner's code when a function failed. */
int eng__step_form(struct eng_step_result *out, struct eng_arena *arena,
                   const struct eng_definition *def, const struct eng_event *ev,
                   struct eng__step *s, eng__fn_runner run);

#endif
