/* Fuzzes the tràmit compiler with hostile designer Lua (dsl_compile_string): the sandbox's
 * limits hold, and every refusal is a diagnostic a designer can act on. Seeds are the demo
 * tràmits' shapes, cut short. Invariants: a compiled definition has a code, states and a
 * canonical form; a refused one has at least one diagnostic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "dsl/dsl.h"

static const struct fuzz_seed seeds[] = {
	{"tramit \"FZ-001\" { version = \"1\", title = { ca = \"Prova\", es = \"Prueba\" },\n"
	 " summary = { ca = \"P\", es = \"P\" }, family = \"general\", unit = \"registre\",\n"
	 " applicant = { \"person\" }, identification = \"low\",\n"
	 " legal = { basis = \"Llei 39/2015\", silence = \"negative\", resolve_within = months(3) },\n"
	 " form = { section \"s\" { label = { ca = \"S\", es = \"S\" }, text \"assumpte\" {\n"
	 "   label = { ca = \"Assumpte\", es = \"Asunto\" }, required = true, max = 200 } } },\n"
	 " states = { state \"draft\" { initial = true, label = { ca = \"E\", es = \"B\" },\n"
	 "   action \"submit\" { label = { ca = \"P\", es = \"P\" }, by = applicant, to = \"done\",\n"
	 "   form = true, register = \"in\", receipt = true } },\n"
	 "  state \"done\" { final = true, label = { ca = \"F\", es = \"F\" } } } }\n", 0},
	{"local t = {}; for i = 1, 10 do t[i] = string.rep('x', i) end\ntramit \"FZ-002\" { version = \"1\" }\n", 0},
};

static const char *const dictionary[] = {
	"while true do end", "string.rep('x', 1e9)", "os.execute('id')", "io.open('/etc/passwd')",
	"require 'os'", "load(", "debug.", "setmetatable({}, {__index = function(t, k) return t[k] end})",
	"collectgarbage()", "coroutine.wrap(", "{", "}", "(", ")", "\"", "'", "=", ",", "\n", "[[", "]]",
	"--[[", "function(f) return f.x end", "nil", "true", "1e308", "-0", "months(", "business_days(",
	"state \"", "action \"", "to = \"", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "dsl", .seeds = seeds, .n_seeds = sizeof(seeds) / sizeof(seeds[0]),
	.dictionary = dictionary, .iterations = 1500, .max_len = 4096,
};

/* The first seed must compile, or the harness would only ever test refusals. */
int fuzz_init(const char *dir)
{
	(void)dir;
	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	int rc = dsl_compile_string(&def, "seed.lua", seeds[0].data, strlen(seeds[0].data), NULL, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char line[512];
		dsl_diag_format(&diags.items[i], line, sizeof(line));
		fprintf(stderr, "fuzz: dsl: seed: %s\n", line);
	}
	eng_definition_free(def);
	dsl_diags_free(&diags);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eng_definition *def = NULL;
	struct dsl_diags diags = {0};
	int rc = dsl_compile_string(&def, "fuzz.lua", (const char *)data, size, NULL, &diags);
	if (rc == 0) {
		if (!def || !def->code || def->n_states == 0)
			fuzz_fail("a compiled definition without a code or states");
		char *canon = NULL;
		size_t n = 0;
		if (dsl_definition_canonical(&canon, &n, def) != 0 || n == 0)
			fuzz_fail("a compiled definition without a canonical form");
		free(canon);
		eng_definition_free(def);
	} else if (diags.n == 0 || def) {
		fuzz_fail("a refused file without a diagnostic");
	}
	dsl_diags_free(&diags);
	return 0;
}
