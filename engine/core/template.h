/* Document templates (issue 6): the placeholders a tràmit's bilingual templates may name, the
 * check the compiler runs on them, and the filling the runtime does when it issues a document.
 * Pure: no I/O, no clock; the same context always gives the same text.
 *
 * A template text is UTF-8 with placeholders in braces: {expedient.number}, {data.FIELD}, ...
 * "{{" writes a literal "{"; a "}" outside a placeholder is literal. Names:
 *   expedient.number, expedient.date   the expedient's number and the day it was opened
 *   tramit.code, tramit.title          the procedure
 *   applicant.name, applicant.nif      the party
 *   registry.number, registry.date     the entry that filed the application
 *   entity.name                        the municipality, in the text's language
 *   document.date, document.csv        the day of issue and the document's own CSV
 *   data.FIELD                         a form field outside repeatable groups, as the citizen
 *                                      reads it (an option's label, money in euros, a date
 *                                      as DD/MM/YYYY, "Sí"/"No")
 *   data.GROUP.FIELD                   that field of every instance of a repeatable group,
 *                                      separated by commas
 *   data.GROUP                         every instance of the group, one per line:
 *                                      "1. Label: value; Label: value"
 * Thread-safety: all functions are reentrant. */
#ifndef ENG_TEMPLATE_H
#define ENG_TEMPLATE_H

#include <stddef.h>

#include "model.h"

/* "requirement", "resolution", "certificate", "silence_certificate", "proposal", "other". */
const char *eng_doc_kind_name(enum eng_doc_kind kind);
/* The enum for a name, or -1 when unknown. */
int eng_doc_kind_from_name(const char *name);
/* The ENI TipoDocumental of a kind (DOMAIN 10.1): TD01 resolution, TD11 certificates,
 * TD06 requirement, TD99 the rest. */
const char *eng_doc_kind_eni_type(enum eng_doc_kind kind);

/* The definition's template called name, or NULL. */
const struct eng_template *eng_definition_template(const struct eng_definition *def,
                                                   const char *name);

/* Checks every placeholder of text against def. Returns 0, or ENG_EINVALID with msg (cap
 * bytes) saying what is wrong: "unknown placeholder {x.y}; use expedient.number|date, ...",
 * "placeholder {data.x} names no field or group of the form ...", "unclosed { at character N". */
int eng_template_check(const struct eng_definition *def, const char *text, char *msg, size_t cap);

/* What placeholders are filled with. Strings are UTF-8; NULL or "" prints as an em dash. */
struct eng_template_context {
	const struct eng_definition *def;
	const struct eng_value *data;  /* the expedient's form values */
	size_t n_data;
	const char *expedient_number;
	const char *expedient_date;    /* YYYY-MM-DD */
	const char *applicant_name, *applicant_nif;
	const char *registry_number;
	const char *registry_date;     /* YYYY-MM-DD */
	const char *document_date;     /* YYYY-MM-DD */
	const char *document_csv;
	struct eng_text entity_name;
};

/* A stored form value of field f as the citizen reads it, as {data.FIELD} writes it (an option's
 * label, money in euros from its cents, a date as DD/MM/YYYY, "Sí"/"No", files by name); NULL or
 * "" gives an em dash. Allocated in a. */
const char *eng_field_display(struct eng_arena *a, const struct eng_field *f, const char *value,
                              enum eng_lang lang);

/* The text with its placeholders filled for lang, allocated in a. A placeholder the check
 * would refuse is left as written (the compiler refuses such templates first). */
const char *eng_template_fill(struct eng_arena *a, const char *text,
                              const struct eng_template_context *ctx, enum eng_lang lang);

#endif
