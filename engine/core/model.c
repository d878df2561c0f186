/* Accessors for the engine model (model.h). Lookups are linear: definitions hold tens of
 * states and fields, where a scan beats a hash table. */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eng_error_set(struct eng_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *eng_text_get(const struct eng_text *t, enum eng_lang lang)
{
	const char *first = lang == ENG_LANG_ES ? t->es : t->ca;
	const char *second = lang == ENG_LANG_ES ? t->ca : t->es;
	if (first && *first)
		return first;
	if (second && *second)
		return second;
	return "";
}

static const char *const field_type_names[] = {
	[ENG_FIELD_TEXT] = "text",     [ENG_FIELD_LONGTEXT] = "longtext",
	[ENG_FIELD_NUMBER] = "number", [ENG_FIELD_DATE] = "date",
	[ENG_FIELD_CHOICE] = "choice", [ENG_FIELD_YESNO] = "yesno",
	[ENG_FIELD_EMAIL] = "email",   [ENG_FIELD_PHONE] = "phone",
	[ENG_FIELD_NIF] = "nif",       [ENG_FIELD_POSTAL] = "postal",
	[ENG_FIELD_MONEY] = "money",   [ENG_FIELD_MULTICHOICE] = "multichoice",
	[ENG_FIELD_PERSON_NIF] = "person_nif", [ENG_FIELD_COMPANY_NIF] = "company_nif",
	[ENG_FIELD_IBAN] = "iban",     [ENG_FIELD_MUNICIPALITY] = "municipality",
	[ENG_FIELD_CADASTRAL] = "cadastral", [ENG_FIELD_ADDRESS] = "address",
	[ENG_FIELD_FILE] = "file",
};

int eng_field_type_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(field_type_names) / sizeof(field_type_names[0]); i++)
		if (name && strcmp(name, field_type_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *eng_field_type_name(enum eng_field_type type)
{
	return field_type_names[type];
}

void eng_definition_free(struct eng_definition *def)
{
	if (!def)
		return;
	eng_arena_free(&def->arena);
	free(def);
}

const struct eng_state *eng_definition_state(const struct eng_definition *def, const char *name)
{
	for (size_t i = 0; name && i < def->n_states; i++)
		if (strcmp(def->states[i].name, name) == 0)
			return &def->states[i];
	return NULL;
}

const struct eng_state *eng_definition_initial(const struct eng_definition *def)
{
	for (size_t i = 0; i < def->n_states; i++)
		if (def->states[i].initial)
			return &def->states[i];
	return NULL;
}

const struct eng_field *eng_definition_field(const struct eng_definition *def, const char *name)
{
	for (size_t i = 0; name && i < def->n_fields; i++)
		if (strcmp(def->fields[i].name, name) == 0)
			return &def->fields[i];
	return NULL;
}

const struct eng_action *eng_state_action(const struct eng_state *st, const char *name)
{
	for (size_t i = 0; name && i < st->n_actions; i++)
		if (strcmp(st->actions[i].name, name) == 0)
			return &st->actions[i];
	return NULL;
}

const struct eng_fee *eng_definition_fee(const struct eng_definition *def, const char *name)
{
	for (size_t i = 0; name && i < def->n_fees; i++)
		if (strcmp(def->fees[i].name, name) == 0)
			return &def->fees[i];
	return NULL;
}

const struct eng_group *eng_definition_group(const struct eng_definition *def, const char *name)
{
	for (size_t i = 0; name && i < def->n_groups; i++)
		if (strcmp(def->groups[i].name, name) == 0)
			return &def->groups[i];
	return NULL;
}

static const char *const unit_names[] = {
	[ENG_UNIT_NONE] = "",
	[ENG_UNIT_BUSINESS_DAYS] = "business_days",
	[ENG_UNIT_NATURAL_DAYS] = "natural_days",
	[ENG_UNIT_MONTHS] = "months",
	[ENG_UNIT_YEARS] = "years",
	[ENG_UNIT_HOURS] = "hours",
};

const char *eng_duration_unit_name(enum eng_duration_unit unit)
{
	return unit_names[unit];
}

int eng_duration_unit_from_name(const char *name)
{
	for (size_t i = 1; i < sizeof(unit_names) / sizeof(unit_names[0]); i++)
		if (name && strcmp(name, unit_names[i]) == 0)
			return (int)i;
	return -1;
}
