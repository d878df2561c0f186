/* The pure step function. Given a definition, an expedient and an event (which carries the
 * time, the actor, the form and any random values), it computes the next state, data and
 * effects, or refuses with the precise reason. It performs no I/O and reads no clock, so
 * replaying a stored event log reproduces the expedient exactly. */
#include "step.h"

#include <stdio.h>
#include <string.h>

static int refuse(struct eng_step_result *out, int code, const char *fmt, const char *a,
                  const char *b)
{
	out->code = code;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(out->msg, sizeof(out->msg), fmt, a, b);
#pragma GCC diagnostic pop
	return code;
}

const char *eng_effect_kind_name(enum eng_effect_kind kind)
{
	static const char *const names[] = {
		[ENG_EFFECT_REGISTER_IN] = "register_in", [ENG_EFFECT_RECEIPT] = "receipt",
		[ENG_EFFECT_REGISTER_OUT] = "register_out", [ENG_EFFECT_DOCUMENT] = "document",
		[ENG_EFFECT_NOTIFY] = "notify", [ENG_EFFECT_SIGN_REQUEST] = "sign_request",
		[ENG_EFFECT_PAYMENT] = "payment", [ENG_EFFECT_BACKOFFICE] = "backoffice",
		[ENG_EFFECT_TIMER_SET] = "timer_set", [ENG_EFFECT_TIMER_CANCEL] = "timer_cancel",
	};
	return names[kind];
}

bool eng_actor_may(const struct eng_action *action, const struct eng_expedient *exp,
                   const struct eng_actor *actor)
{
	switch (action->by) {
	case ENG_BY_APPLICANT:
		return actor->kind == ENG_PRINCIPAL_CITIZEN && actor->id &&
		       (!exp->applicant_id || strcmp(actor->id, exp->applicant_id) == 0);
	case ENG_BY_ROLE:
		if (actor->kind != ENG_PRINCIPAL_EMPLOYEE)
			return false;
		for (size_t i = 0; i < actor->n_roles; i++)
			if (strcmp(actor->roles[i], action->role) == 0)
				return true;
		return false;
	case ENG_BY_SYSTEM:
		return actor->kind == ENG_PRINCIPAL_SYSTEM;
	}
	return false;
}

/* Keeps the non-empty values of the form's fields, in definition order. */
static void take_form(struct eng_step_result *out, struct eng_arena *arena,
                      const struct eng_definition *def, const struct eng_event *event)
{
	out->data = eng_arena_alloc(arena, sizeof(*out->data) * (def->n_fields + 1));
	out->n_data = 0;
	for (size_t i = 0; i < def->n_fields; i++) {
		const char *v = eng_values_get(event->form, event->n_form, def->fields[i].name);
		if (v && *v) {
			out->data[out->n_data].name = def->fields[i].name;
			out->data[out->n_data].value = eng_arena_strdup(arena, v);
			out->n_data++;
		}
	}
}

int eng_expedient_step(struct eng_step_result *out, struct eng_arena *arena,
                       const struct eng_definition *def, const struct eng_expedient *exp,
                       const struct eng_event *event)
{
	memset(out, 0, sizeof(*out));
	const struct eng_state *st = exp->state ? eng_definition_state(def, exp->state)
	                                        : eng_definition_initial(def);
	if (!st)
		return refuse(out, ENG_ECONFLICT, "expedient is in state '%s', which tràmit %s does not define",
		              exp->state ? exp->state : "(none)", def->code);
	out->from_state = st->name;
	if (event->kind != ENG_EVENT_ACTION)
		return refuse(out, ENG_EINVALID, "unknown event kind%s%s", "", "");
	const struct eng_action *action = eng_state_action(st, event->action);
	if (!action)
		return refuse(out, ENG_ECONFLICT, "action '%s' is not available in state '%s'",
		              event->action ? event->action : "(none)", st->name);
	if (!eng_actor_may(action, exp, &event->actor))
		return refuse(out, ENG_EDENIED, "'%s' may not take action '%s' here",
		              event->actor.id ? event->actor.id : "(anonymous)", action->name);

	if (action->flags & ENG_ACTION_FORM) {
		out->n_errors = eng_form_validate(def, event->form, event->n_form, out->errors,
		                                  ENG_STEP_MAX_ERRORS);
		if (out->n_errors > 0) {
			out->code = ENG_EINVALID;
			snprintf(out->msg, sizeof(out->msg), "the form has %zu invalid value(s)",
			         out->n_errors);
			return out->code;
		}
		take_form(out, arena, def, event);
	} else {
		out->data = exp->data;
		out->n_data = exp->n_data;
	}

	if (action->flags & ENG_ACTION_REGISTER_IN)
		out->effects[out->n_effects++] = (struct eng_effect){.kind = ENG_EFFECT_REGISTER_IN};
	if (action->flags & ENG_ACTION_RECEIPT) {
		if (!event->csv || !*event->csv)
			return refuse(out, ENG_EINVALID, "action '%s' issues a receipt but the event carries no CSV%s",
			              action->name, "");
		out->effects[out->n_effects++] =
			(struct eng_effect){.kind = ENG_EFFECT_RECEIPT, .csv = event->csv};
	}
	out->to_state = action->to;
	out->version = exp->version + 1;
	out->code = ENG_OK;
	return ENG_OK;
}
