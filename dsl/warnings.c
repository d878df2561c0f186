/* Warnings about a compiled definition: things that are legal but almost always a mistake.
 * They never stop a tràmit from running, so they are reported apart from errors.
 * Invariant: the same definition gives the same warnings in the same order. */
#include "dsl/sandbox.h"

#include <stdlib.h>
#include <string.h>

static int state_index(const struct eng_definition *def, const char *name)
{
	for (size_t i = 0; name && i < def->n_states; i++)
		if (strcmp(def->states[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Every state one step from state i: action targets, the deadline's expiry target, and the
 * silence target once the resolution clock can run. */
static size_t next_states(const struct eng_definition *def, size_t i, int *out)
{
	const struct eng_state *st = &def->states[i];
	size_t n = 0;
	for (size_t j = 0; j < st->n_actions; j++)
		out[n++] = state_index(def, st->actions[j].to);
	if (st->deadline && st->deadline->on_expiry)
		out[n++] = state_index(def, st->deadline->on_expiry);
	if (def->on_silence && !st->final && !st->initial)
		out[n++] = state_index(def, def->on_silence);
	return n;
}

/* A text that reads the same in both languages and has more than one word was probably left
 * untranslated (single words such as "Presentar" are often the same). */
static void check_text(const struct eng_definition *def, const struct eng_text *t, int line,
                       const char *what, struct dsl_diags *out)
{
	if (t->ca && t->es && strcmp(t->ca, t->es) == 0 && strchr(t->ca, ' '))
		dsl__diag_add(out, def->source_path, line,
		              "warning: %s reads the same in ca and es ('%.60s'); is it translated?", what,
		              t->ca);
}

void dsl_definition_warnings(const struct eng_definition *def, struct dsl_diags *out)
{
	size_t n = def->n_states;
	if (n == 0)
		return;
	bool *reached = calloc(n, sizeof(*reached));
	bool *ends = calloc(n, sizeof(*ends));
	size_t most = 2;
	for (size_t i = 0; i < n; i++)
		most += def->states[i].n_actions;
	int *next = calloc(most, sizeof(*next));
	int *queue = calloc(n + 1, sizeof(*queue));
	if (!reached || !ends || !next || !queue)
		goto done;
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < n; i++)
		if (def->states[i].initial) {
			reached[i] = true;
			queue[tail++] = (int)i;
		}
	while (head < tail) {
		size_t i = (size_t)queue[head++];
		size_t k = next_states(def, i, next);
		for (size_t j = 0; j < k; j++)
			if (next[j] >= 0 && !reached[next[j]]) {
				reached[next[j]] = true;
				queue[tail++] = next[j];
			}
	}
	/* Which states can end: final ones, then any with a step to one that can, until stable. */
	for (size_t i = 0; i < n; i++)
		ends[i] = def->states[i].final;
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (ends[i])
				continue;
			size_t k = next_states(def, i, next);
			for (size_t j = 0; j < k && !ends[i]; j++)
				if (next[j] >= 0 && ends[next[j]])
					ends[i] = changed = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct eng_state *st = &def->states[i];
		if (!reached[i])
			dsl__diag_add(out, def->source_path, st->line,
			              "warning: state '%.60s' cannot be reached from the initial state",
			              st->name);
		else if (!ends[i])
			dsl__diag_add(out, def->source_path, st->line,
			              "warning: state '%.60s' has no way out to a final state", st->name);
		if (st->deadline && !st->deadline->on_expiry)
			dsl__diag_add(out, def->source_path, st->line,
			              "warning: the deadline of state '%.60s' has no on_expiry target",
			              st->name);
		check_text(def, &st->label, st->line, "the label of this state", out);
		for (size_t j = 0; j < st->n_actions; j++)
			check_text(def, &st->actions[j].label, st->actions[j].line, "the label of this action",
			           out);
	}
	check_text(def, &def->title, 0, "the title", out);
	for (size_t i = 0; i < def->n_fields; i++)
		check_text(def, &def->fields[i].label, def->fields[i].line, "the label of this field", out);
	for (size_t i = 0; i < def->n_sections; i++)
		check_text(def, &def->sections[i].label, def->sections[i].line,
		           "the label of this section", out);
done:
	free(reached);
	free(ends);
	free(next);
	free(queue);
}
