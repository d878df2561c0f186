/* The pure step function, as a table of (state, event) -> (state, effects | refusal). */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/core/step.h"
#include "tests/support/fixture.h"

static struct eng_definition *def;
static struct eng_arena arena;

static void setup(void)
{
	def = fixture_definition();
}

static void teardown(void)
{
	eng_definition_free(def);
	eng_arena_free(&arena);
}

TestSuite(step, .init = setup, .fini = teardown);

static const char *const tramitador[] = {"tramitador"};
static const char *const other_role[] = {"inspector"};

#define CITIZEN(nif) ((struct eng_actor){.kind = ENG_PRINCIPAL_CITIZEN, .id = (nif)})
#define EMPLOYEE(r, n) ((struct eng_actor){.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = (r), .n_roles = (n)})

static const struct eng_value good_form[] = {
	{"assumpte", "Llicència"}, {"correu", "a@b.cat"}, {"nombre", "3"}, {"tipus", "b"}};

struct step_case {
	const char *name;
	const char *state;            /* NULL: a new expedient */
	const char *applicant;
	const char *action;
	struct eng_actor actor;
	const struct eng_value *form;
	size_t n_form;
	const char *csv;
	int code;
	const char *to;
	size_t n_effects;
	const char *msg;
};

static const struct step_case cases[] = {
	{"submit creates a registered expedient with a receipt", NULL, NULL, "submit",
	 CITIZEN("12345678Z"), good_form, 4, "CSV-1", ENG_OK, "submitted", 2, ""},
	{"employee may not submit for the citizen", NULL, NULL, "submit",
	 EMPLOYEE(tramitador, 1), good_form, 4, "CSV-1", ENG_EDENIED, NULL, 0,
	 "'e1' may not take action 'submit' here"},
	{"tramitador resolves", "submitted", "12345678Z", "resolve",
	 EMPLOYEE(tramitador, 1), NULL, 0, NULL, ENG_OK, "resolved", 0, ""},
	{"tramitador rejects", "submitted", "12345678Z", "reject",
	 EMPLOYEE(tramitador, 1), NULL, 0, NULL, ENG_OK, "rejected", 0, ""},
	{"wrong role is denied", "submitted", "12345678Z", "resolve",
	 EMPLOYEE(other_role, 1), NULL, 0, NULL, ENG_EDENIED, NULL, 0,
	 "'e1' may not take action 'resolve' here"},
	{"the applicant cannot resolve", "submitted", "12345678Z", "resolve",
	 CITIZEN("12345678Z"), NULL, 0, NULL, ENG_EDENIED, NULL, 0,
	 "'12345678Z' may not take action 'resolve' here"},
	{"no action leaves a final state", "resolved", "12345678Z", "reject",
	 EMPLOYEE(tramitador, 1), NULL, 0, NULL, ENG_ECONFLICT, NULL, 0,
	 "action 'reject' is not available in state 'resolved'"},
	{"an unknown action is refused", "submitted", "12345678Z", "approve",
	 EMPLOYEE(tramitador, 1), NULL, 0, NULL, ENG_ECONFLICT, NULL, 0,
	 "action 'approve' is not available in state 'submitted'"},
	{"submitting twice is refused", "submitted", "12345678Z", "submit",
	 CITIZEN("12345678Z"), good_form, 4, "CSV-1", ENG_ECONFLICT, NULL, 0,
	 "action 'submit' is not available in state 'submitted'"},
	{"a receipt without a CSV is refused", NULL, NULL, "submit",
	 CITIZEN("12345678Z"), good_form, 4, NULL, ENG_EINVALID, NULL, 0,
	 "action 'submit' issues a receipt but the event carries no CSV"},
};

Test(step, table_of_transitions)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct step_case *k = &cases[i];
		struct eng_expedient exp = {.state = k->state, .version = k->state ? 4 : 0,
		                            .applicant_id = k->applicant};
		struct eng_event ev = {.kind = ENG_EVENT_ACTION, .action = k->action, .actor = k->actor,
		                       .time_ms = 1767225600000, .form = k->form, .n_form = k->n_form,
		                       .csv = k->csv};
		struct eng_step_result r;
		int rc = eng_expedient_step(&r, &arena, def, &exp, &ev);
		cr_expect_eq(rc, k->code, "%s: code %d, want %d (%s)", k->name, rc, k->code, r.msg);
		cr_expect_eq(r.code, rc, "%s", k->name);
		if (k->code == ENG_OK) {
			cr_expect_str_eq(r.to_state, k->to, "%s", k->name);
			cr_expect_eq(r.version, exp.version + 1, "%s", k->name);
			cr_expect_eq(r.n_effects, k->n_effects, "%s", k->name);
		} else {
			cr_expect_str_eq(r.msg, k->msg, "%s", k->name);
		}
	}
}

Test(step, submit_emits_register_then_receipt_and_keeps_the_form)
{
	struct eng_expedient exp = {0};
	struct eng_event ev = {.action = "submit", .actor = CITIZEN("12345678Z"), .form = good_form,
	                       .n_form = 4, .csv = "ABCD"};
	struct eng_step_result r;
	cr_assert_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_OK);
	cr_assert_eq(r.n_effects, 2);
	cr_expect_eq(r.effects[0].kind, ENG_EFFECT_REGISTER_IN);
	cr_expect_eq(r.effects[1].kind, ENG_EFFECT_RECEIPT);
	cr_expect_str_eq(r.effects[1].csv, "ABCD");
	cr_expect_str_eq(r.from_state, "draft");
	cr_assert_eq(r.n_data, 4);
	cr_expect_str_eq(r.data[0].name, "assumpte");
	cr_expect_str_eq(r.data[0].value, "Llicència");
	cr_expect_str_eq(r.data[3].value, "b");
}

Test(step, invalid_form_is_refused_with_bilingual_messages_naming_each_field)
{
	static const struct eng_value bad[] = {{"assumpte", ""}, {"correu", "no-arroba"},
	                                       {"nombre", "11"}, {"tipus", "z"}, {"intrus", "x"}};
	struct eng_expedient exp = {0};
	struct eng_event ev = {.action = "submit", .actor = CITIZEN("12345678Z"), .form = bad,
	                       .n_form = 5, .csv = "ABCD"};
	struct eng_step_result r;
	cr_assert_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_EINVALID);
	cr_assert_eq(r.n_errors, 5);
	cr_expect_str_eq(r.msg, "the form has 5 invalid value(s)");
	cr_expect_str_eq(r.errors[0].field, "assumpte");
	cr_expect_str_eq(r.errors[0].ca, "Cal omplir «Assumpte».");
	cr_expect_str_eq(r.errors[0].es, "Debe rellenar «Asunto».");
	cr_expect_str_eq(r.errors[1].ca, "«Correu electrònic» no és una adreça de correu vàlida (nom@domini.cat).");
	cr_expect_str_eq(r.errors[2].es, "«Número» debe estar entre 1 y 10.");
	cr_expect_str_eq(r.errors[3].ca, "«Tipus»: trieu una de les opcions.");
	cr_expect_null(r.errors[4].field);
	cr_expect_str_eq(r.errors[4].es, "El formulario no tiene ningún campo «intrus».");
	cr_expect_eq(r.n_effects, 0);
}

Test(step, text_length_counts_characters_not_bytes)
{
	/* 20 characters, 40 bytes: accepted at max = 20. */
	static const struct eng_value form[] = {{"assumpte", "àààààààààààààààààààà"}};
	struct eng_expedient exp = {0};
	struct eng_event ev = {.action = "submit", .actor = CITIZEN("12345678Z"), .form = form,
	                       .n_form = 1, .csv = "X"};
	struct eng_step_result r;
	cr_expect_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_OK, "%s", r.msg);
	static const struct eng_value longer[] = {{"assumpte", "àààààààààààààààààààààa"}};
	ev.form = longer;
	cr_assert_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_EINVALID);
	cr_expect_str_eq(r.errors[0].ca, "«Assumpte» no pot tindre més de 20 caràcters (en té 22).");
}

Test(step, only_the_applicant_acts_for_the_applicant)
{
	struct eng_expedient exp = {.state = "draft", .version = 1, .applicant_id = "12345678Z"};
	struct eng_event ev = {.action = "submit", .actor = CITIZEN("00000000T"), .form = good_form,
	                       .n_form = 4, .csv = "X"};
	struct eng_step_result r;
	cr_expect_eq(eng_expedient_step(&r, &arena, def, &exp, &ev), ENG_EDENIED);
}

Test(step, replay_reproduces_the_expedient)
{
	/* Applying the same events to the same start gives the same result every time. */
	struct eng_expedient exp = {0};
	struct eng_event submit = {.action = "submit", .actor = CITIZEN("12345678Z"),
	                           .form = good_form, .n_form = 4, .csv = "C"};
	struct eng_step_result a, b;
	eng_expedient_step(&a, &arena, def, &exp, &submit);
	eng_expedient_step(&b, &arena, def, &exp, &submit);
	cr_assert_eq(a.n_data, b.n_data);
	for (size_t i = 0; i < a.n_data; i++)
		cr_expect_str_eq(a.data[i].value, b.data[i].value);
	cr_expect_str_eq(a.to_state, b.to_state);
	struct eng_expedient next = {.state = a.to_state, .version = a.version,
	                             .applicant_id = "12345678Z", .data = a.data, .n_data = a.n_data};
	struct eng_event resolve = {.action = "resolve", .actor = EMPLOYEE(tramitador, 1)};
	cr_assert_eq(eng_expedient_step(&a, &arena, def, &next, &resolve), ENG_OK);
	cr_expect_str_eq(a.to_state, "resolved");
	cr_expect_eq(a.version, 2);
	cr_expect_eq(a.n_data, 4, "data carries over unchanged");
}

Test(step, roles_held_in_a_unit_count_only_there)
{
	struct eng_action a = {.name = "grant", .by = ENG_BY_ROLE, .role = "cap", .unit = "via-publica", .to = "x"};
	struct eng_expedient exp = {.state = "reported", .version = 3};
	const char *const in_unit[] = {"tecnic@via-publica", "cap@via-publica"};
	const char *const elsewhere[] = {"cap@urbanisme"};
	const char *const plain[] = {"cap"};
	struct eng_actor e = {.kind = ENG_PRINCIPAL_EMPLOYEE, .id = "e1", .roles = in_unit, .n_roles = 2};
	cr_expect(eng_actor_may(&a, &exp, &e));
	e.roles = elsewhere;
	e.n_roles = 1;
	cr_expect(!eng_actor_may(&a, &exp, &e), "a head of urbanisme is not the head of via pública");
	e.roles = plain;
	cr_expect(!eng_actor_may(&a, &exp, &e), "a plain role needs the actor's unit");
	e.unit = "via-publica";
	cr_expect(eng_actor_may(&a, &exp, &e));
	a.unit = NULL;
	e.roles = elsewhere;
	e.unit = NULL;
	cr_expect(eng_actor_may(&a, &exp, &e), "an action that names no unit accepts the role anywhere");
}
