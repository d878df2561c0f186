/* A small definition built in C for engine and runtime tests. */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

struct eng_definition *fixture_definition(void)
{
	struct eng_definition *d = calloc(1, sizeof(*d));
	struct eng_arena *a = &d->arena;
	d->code = "TST-001";
	d->version = "1";
	d->title = (struct eng_text){"Prova", "Prueba"};
	d->family = "general";
	d->unit = "registre";
	d->applicants = ENG_APPLICANT_PERSON;
	d->resolve_months = 3;
	d->silence = ENG_SILENCE_NEGATIVE;
	strcpy(d->hash, "1111111111111111111111111111111111111111111111111111111111111111");
	d->n_sections = 1;
	d->sections = eng_arena_alloc(a, sizeof(*d->sections));
	d->sections[0] = (struct eng_section){"s", {"Secció", "Sección"}, 1};
	d->n_fields = 4;
	d->fields = eng_arena_alloc(a, sizeof(*d->fields) * 4);
	d->fields[0] = (struct eng_field){.name = "assumpte", .type = ENG_FIELD_TEXT,
		.label = {"Assumpte", "Asunto"}, .section = "s", .required = true, .has_max = true, .max = 20};
	d->fields[1] = (struct eng_field){.name = "correu", .type = ENG_FIELD_EMAIL,
		.label = {"Correu electrònic", "Correo electrónico"}, .section = "s"};
	d->fields[2] = (struct eng_field){.name = "nombre", .type = ENG_FIELD_NUMBER,
		.label = {"Nombre", "Número"}, .section = "s", .has_min = true, .min = 1, .has_max = true, .max = 10};
	struct eng_option *opts = eng_arena_alloc(a, sizeof(*opts) * 2);
	opts[0] = (struct eng_option){"a", {"Opció A", "Opción A"}};
	opts[1] = (struct eng_option){"b", {"Opció B", "Opción B"}};
	d->fields[3] = (struct eng_field){.name = "tipus", .type = ENG_FIELD_CHOICE,
		.label = {"Tipus", "Tipo"}, .section = "s", .options = opts, .n_options = 2};
	d->n_states = 4;
	d->states = eng_arena_alloc(a, sizeof(*d->states) * 4);
	struct eng_action *submit = eng_arena_alloc(a, sizeof(*submit));
	*submit = (struct eng_action){.name = "submit", .label = {"Presentar", "Presentar"},
		.by = ENG_BY_APPLICANT, .to = "submitted",
		.flags = ENG_ACTION_FORM | ENG_ACTION_REGISTER_IN | ENG_ACTION_RECEIPT};
	struct eng_action *decide = eng_arena_alloc(a, sizeof(*decide) * 2);
	decide[0] = (struct eng_action){.name = "resolve", .label = {"Resoldre", "Resolver"},
		.by = ENG_BY_ROLE, .role = "tramitador", .to = "resolved"};
	decide[1] = (struct eng_action){.name = "reject", .label = {"Denegar", "Denegar"},
		.by = ENG_BY_ROLE, .role = "tramitador", .to = "rejected"};
	d->states[0] = (struct eng_state){.name = "draft", .label = {"Esborrany", "Borrador"},
		.initial = true, .applicant_must_act = true, .actions = submit, .n_actions = 1};
	d->states[1] = (struct eng_state){.name = "submitted", .label = {"Presentada", "Presentada"},
		.actions = decide, .n_actions = 2};
	d->states[2] = (struct eng_state){.name = "resolved", .label = {"Resolta", "Resuelta"}, .final = true};
	d->states[3] = (struct eng_state){.name = "rejected", .label = {"Denegada", "Denegada"}, .final = true};
	return d;
}
