/* The state machine of a tràmit as a picture: states, actions with who acts, deadlines,
 * signature circuits and connector outcomes, laid out and drawn as SVG by graphviz.
 * The drawing depends only on the definition; the caller owns the bytes returned. */
#ifndef CAT_GRAPH_H
#define CAT_GRAPH_H

#include <stddef.h>

#include "engine/core/model.h"

/* Draws def as an SVG document. On success returns 0 and *out is a malloc'd, NUL-terminated
 * string of *n_out bytes (free with free()); ENG_EINTERNAL with err when graphviz fails.
 * Graphviz keeps global state, so calls must not run on several threads at once. */
int cat_graph_svg(char **out, size_t *n_out, const struct eng_definition *def,
                  struct eng_error *err);

/* What an edge of an action says about who acts: "applicant", "representative", "system",
 * "role tecnic" or "role cap (via-publica)". Writes into buf and returns it. */
const char *cat_graph_actor(char *buf, size_t size, const struct eng_action *a);

#endif
