/* What an employee sees and may act on (engine/runtime/visibility.h), over the fixture tràmit
 * (unit registre; "resolve" by role tramitador anywhere, changed here so "reject" wants role cap
 * in via-publica and "resolve" has a circuit signed by the alcaldia). Each case: the grants as
 * the session lists them, whether they see the expedients, and on which actions they act. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "engine/runtime/visibility.h"
#include "tests/support/fixture.h"

static struct eng_definition *def;

static void setup(void)
{
	def = fixture_definition();
	struct eng_state *submitted = &def->states[1];
	submitted->actions[1].role = "cap";
	submitted->actions[1].unit = "via-publica";
	static struct eng_sign_signer signer = {.role = "alcaldia"};
	static struct eng_sign_line line = {.signers = &signer, .n_signers = 1};
	static struct eng_sign sign = {.document = "resolucio", .lines = &line, .n_lines = 1};
	submitted->actions[0].sign = &sign;
}

static void teardown(void)
{
	eng_definition_free(def);
}

TestSuite(visibility, .init = setup, .fini = teardown);

Test(visibility, units_roles_and_signers_decide_what_an_employee_sees_and_acts_on)
{
	static const struct {
		const char *grants[3];
		size_t n;
		bool sees, acts, as_tramitador, as_cap;
	} cases[] = {
		{{0}, 0, false, false, false, false},
		{{"auxiliar@registre"}, 1, true, false, false, false},   /* any role in the unit */
		{{"tramitador@padro"}, 1, true, true, true, false},      /* role "tramitador": any unit */
		{{"padro@padro"}, 1, false, false, false, false},        /* another unit, another role */
		{{"cap@via-publica"}, 1, true, true, false, true},        /* role("cap", "via-publica") */
		{{"cap@padro"}, 1, false, false, false, false},          /* cap, but not in via-publica */
		{{"alcaldia@alcaldia"}, 1, true, false, false, false},   /* a signer of its circuit */
		{{"padro@padro", "cap@via-publica"}, 2, true, true, false, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *g = cases[i].grants;
		size_t n = cases[i].n;
		cr_expect_eq(eng_grants_see(def, g, n), cases[i].sees, "case %zu: sees", i);
		cr_expect_eq(eng_grants_act(def, "submitted", g, n, NULL), cases[i].acts, "case %zu: acts", i);
		cr_expect_eq(eng_grants_act(def, "submitted", g, n, "tramitador"), cases[i].as_tramitador,
		             "case %zu: as tramitador", i);
		cr_expect_eq(eng_grants_act(def, "submitted", g, n, "cap"), cases[i].as_cap, "case %zu: as cap", i);
		/* Whoever may act sees: the invariant the 404s rest on. */
		cr_expect(!cases[i].acts || cases[i].sees, "case %zu acts unseen", i);
		/* Nobody acts by role on the applicant's draft, nor on a state the tràmit lacks. */
		cr_expect(!eng_grants_act(def, "draft", g, n, NULL), "case %zu: draft", i);
		cr_expect(!eng_grants_act(def, "nowhere", g, n, NULL), "case %zu: unknown state", i);
	}
	const char *all[] = {"tramitador@registre"};
	cr_expect(!eng_grants_see(NULL, all, 1), "no definition: nothing to see");
	const char *unit = "x";
	cr_expect_eq(eng_grant_split("cap@via-publica", &unit), 3);
	cr_expect_str_eq(unit, "via-publica");
	cr_expect_eq(eng_grant_split("cap", &unit), 3);
	cr_expect_null(unit);
}
