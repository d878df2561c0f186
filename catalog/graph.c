/* The SVG of a tràmit's state machine, built as a graphviz graph and drawn by its dot layout.
 * Invariant: every state and every action of the definition appears, each state as one node
 * named by the state and each action as one edge whose label starts with the action's name. */
#include "graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

/* A label grows line by line; graphviz reads "\n" as a centred line break. */
struct label {
	char buf[1024];
	size_t len;
};

static void label_add(struct label *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void label_add(struct label *l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (l->len && l->len + 2 < sizeof(l->buf)) {
		l->buf[l->len++] = '\\';
		l->buf[l->len++] = 'n';
	}
	/* Graphviz gives a backslash in a label a meaning (\N, \G, \l...); designer text must
	 * show as typed, so each one is doubled. */
	for (const char *p = line; *p && l->len + 2 < sizeof(l->buf); p++) {
		if (*p == '\\')
			l->buf[l->len++] = '\\';
		l->buf[l->len++] = *p;
	}
	l->buf[l->len] = '\0';
}

/* cgraph takes char * for strings it only copies. */
static void set(void *obj, const char *name, const char *value)
{
	agsafeset(obj, (char *)name, (char *)value, "");
}

static void duration(char *buf, size_t size, const struct eng_duration *d)
{
	char unit[32];
	snprintf(unit, sizeof(unit), "%s", eng_duration_unit_name(d->unit));
	for (char *p = unit; *p; p++)
		if (*p == '_')
			*p = ' ';
	snprintf(buf, size, "%d %s", d->amount, unit);
}

const char *cat_graph_actor(char *buf, size_t size, const struct eng_action *a)
{
	switch (a->by) {
	case ENG_BY_APPLICANT: snprintf(buf, size, "applicant"); break;
	case ENG_BY_REPRESENTATIVE: snprintf(buf, size, "representative"); break;
	case ENG_BY_SYSTEM: snprintf(buf, size, "system"); break;
	case ENG_BY_ROLE:
		if (a->unit)
			snprintf(buf, size, "role %s (%s)", a->role ? a->role : "", a->unit);
		else
			snprintf(buf, size, "role %s", a->role ? a->role : "");
		break;
	}
	return buf;
}

static Agnode_t *state_node(Agraph_t *g, const char *name)
{
	return agnode(g, (char *)name, 1);
}

static void draw_state(Agraph_t *g, const struct eng_state *s)
{
	Agnode_t *n = state_node(g, s->name);
	struct label l = {0};
	char marks[128] = "", d[48];
	label_add(&l, "%s", s->name);
	label_add(&l, "%s", eng_text_get(&s->label, ENG_LANG_CA));
	snprintf(marks, sizeof(marks), "%s%s%s%s", s->initial ? "initial" : "",
	         s->initial && s->final ? ", " : "", s->final ? "final" : "",
	         s->applicant_must_act ? ((s->initial || s->final) ? ", applicant must act"
	                                                           : "applicant must act")
	                               : "");
	if (marks[0])
		label_add(&l, "%s", marks);
	if (s->suspends_resolution)
		label_add(&l, "resolution clock stops");
	if (s->deadline && !s->deadline->on_expiry) {
		duration(d, sizeof(d), &s->deadline->period);
		label_add(&l, "deadline %s (informs)", d);
	}
	set(n, "label", l.buf);
	if (s->final)
		set(n, "peripheries", "2");
	if (s->initial)
		set(n, "penwidth", "2");
	if (s->applicant_must_act) {
		/* The citizen's turn stands out: it is what a designer checks first. */
		set(n, "style", "rounded,filled");
		set(n, "fillcolor", "#fff2b3");
	}
}

static const char *outcome_of(const struct eng_state *s, const char *action)
{
	for (size_t i = 0; i < s->n_on; i++)
		if (strcmp(s->on[i].action, action) == 0)
			return s->on[i].outcome;
	return NULL;
}

static void draw_action(Agraph_t *g, const struct eng_state *s, const struct eng_action *a)
{
	Agedge_t *e = agedge(g, state_node(g, s->name), state_node(g, a->to), NULL, 1);
	struct label l = {0};
	char who[160];
	const char *outcome = outcome_of(s, a->name);
	if (outcome)
		label_add(&l, "on %s: %s", outcome, a->name);
	else
		label_add(&l, "%s", a->name);
	label_add(&l, "by %s", cat_graph_actor(who, sizeof(who), a));
	if (a->sign && a->sign->explicit_lines) {
		/* "cap_servei then (tecnic_a or tecnic_b) then alcaldia (approves)" */
		char lines[320] = "";
		size_t len = 0;
		for (size_t i = 0; i < a->sign->n_lines && len < sizeof(lines); i++) {
			const struct eng_sign_line *sl = &a->sign->lines[i];
			bool group = sl->n_signers > 1;
			len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%s", i ? " then " : "",
			                        group ? "(" : "");
			for (size_t k = 0; k < sl->n_signers && len < sizeof(lines); k++)
				len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%s%s",
				                        k ? (sl->any ? " or " : " and ") : "", sl->signers[k].role,
				                        sl->signers[k].approve ? " (approves)" : "");
			if (group && len < sizeof(lines))
				len += (size_t)snprintf(lines + len, sizeof(lines) - len, ")");
		}
		label_add(&l, "sign %s: %s", a->sign->document, lines);
	} else if (a->sign) {
		char signers[256] = "";
		size_t len = 0;
		const char *sep = a->sign->order == ENG_SIGN_SEQUENTIAL ? " then " : ", ";
		for (size_t i = 0; i < a->sign->n_signers && len < sizeof(signers); i++)
			len += (size_t)snprintf(signers + len, sizeof(signers) - len, "%s%s",
			                        i ? sep : "", a->sign->signers[i]);
		label_add(&l, "sign %s: %s%s", a->sign->document, signers,
		          a->sign->any ? " (any one)" : "");
	}
	set(e, "label", l.buf);
	if (outcome)
		set(e, "style", "bold");
	if (a->by == ENG_BY_APPLICANT || a->by == ENG_BY_REPRESENTATIVE)
		set(e, "color", "#1f5fa8");
}

static void draw_deadline(Agraph_t *g, const struct eng_state *s)
{
	const struct eng_deadline *dl = s->deadline;
	if (!dl || !dl->on_expiry)
		return;
	Agedge_t *e = agedge(g, state_node(g, s->name), state_node(g, dl->on_expiry), NULL, 1);
	struct label l = {0};
	char d[48];
	duration(d, sizeof(d), &dl->period);
	label_add(&l, "deadline %s", d);
	if (dl->alert.unit != ENG_UNIT_NONE) {
		duration(d, sizeof(d), &dl->alert);
		label_add(&l, "alert after %s", d);
	}
	set(e, "label", l.buf);
	set(e, "style", "dashed");
}

static const char *silence_name(enum eng_silence s)
{
	switch (s) {
	case ENG_SILENCE_POSITIVE: return "positive";
	case ENG_SILENCE_NEGATIVE: return "negative";
	case ENG_SILENCE_LAPSE: return "lapse";
	case ENG_SILENCE_NONE: break;
	}
	return "none";
}

static void build(Agraph_t *g, const struct eng_definition *def)
{
	struct label title = {0};
	label_add(&title, "%s (version %s): %s", def->code, def->version ? def->version : "",
	          eng_text_get(&def->title, ENG_LANG_CA));
	set(g, "label", title.buf);
	set(g, "labelloc", "t");
	set(g, "rankdir", "TB");
	agattr(g, AGNODE, "shape", "box");
	agattr(g, AGNODE, "style", "rounded");
	agattr(g, AGNODE, "fontname", "sans-serif");
	agattr(g, AGEDGE, "fontname", "sans-serif");
	agattr(g, AGRAPH, "fontname", "sans-serif");
	agattr(g, AGNODE, "fontsize", "11");
	agattr(g, AGEDGE, "fontsize", "9");
	/* Nodes are created in file order first, so the layout follows the designer's order. */
	for (size_t i = 0; i < def->n_states; i++)
		draw_state(g, &def->states[i]);
	const struct eng_state *initial = eng_definition_initial(def);
	if (initial) {
		/* Pseudo nodes start with "__": state names start with a letter, so none collides. */
		Agnode_t *start = agnode(g, "__start", 1);
		set(start, "shape", "point");
		set(start, "width", "0.15");
		set(start, "label", "");
		agedge(g, start, state_node(g, initial->name), NULL, 1);
	}
	for (size_t i = 0; i < def->n_states; i++) {
		const struct eng_state *s = &def->states[i];
		for (size_t j = 0; j < s->n_actions; j++)
			draw_action(g, s, &s->actions[j]);
		draw_deadline(g, s);
	}
	if (def->on_silence && def->resolve_within.unit != ENG_UNIT_NONE) {
		Agnode_t *clock = agnode(g, "__resolution", 1);
		struct label l = {0};
		char d[48];
		set(clock, "shape", "plaintext");
		set(clock, "label", "resolution time");
		duration(d, sizeof(d), &def->resolve_within);
		label_add(&l, "silence (%s) after %s", silence_name(def->silence), d);
		Agedge_t *e = agedge(g, clock, state_node(g, def->on_silence), NULL, 1);
		set(e, "label", l.buf);
		set(e, "style", "dashed");
	}
}

int cat_graph_svg(char **out, size_t *n_out, const struct eng_definition *def,
                  struct eng_error *err)
{
	*out = NULL;
	*n_out = 0;
	int rc = 0;
	char *data = NULL;
	unsigned int len = 0;
	bool laid_out = false;
	GVC_t *gvc = gvContext();
	Agraph_t *g = gvc ? agopen((char *)def->code, Agdirected, NULL) : NULL;
	if (!g) {
		rc = eng_error_set(err, ENG_EINTERNAL, "graphviz: cannot create a graph for %s",
		                   def->code);
		goto done;
	}
	build(g, def);
	if (gvLayout(gvc, g, "dot") != 0) {
		rc = eng_error_set(err, ENG_EINTERNAL, "graphviz: dot layout failed for %s (is the "
		                   "graphviz plugin configuration installed?)", def->code);
		goto done;
	}
	laid_out = true;
	if (gvRenderData(gvc, g, "svg", &data, &len) != 0 || !data) {
		rc = eng_error_set(err, ENG_EINTERNAL, "graphviz: SVG rendering failed for %s",
		                   def->code);
		goto done;
	}
	/* Graphviz's buffer goes back to graphviz; the caller gets one of ours (STYLE.md). */
	*out = malloc((size_t)len + 1);
	if (!*out) {
		rc = eng_error_set(err, ENG_EINTERNAL, "out of memory");
		goto done;
	}
	memcpy(*out, data, len);
	(*out)[len] = '\0';
	*n_out = len;
done:
	if (data)
		gvFreeRenderData(data);
	if (laid_out)
		gvFreeLayout(gvc, g);
	if (g)
		agclose(g);
	if (gvc)
		gvFreeContext(gvc);
	return rc;
}
