/* Validation of form values against a definition's fields, in C, for the built-in types.
 * Pure: no I/O. Messages are bilingual and name the field by its label. */
#ifndef ENG_VALIDATE_H
#define ENG_VALIDATE_H

#include "model.h"

struct eng_field_error {
	const char *field;  /* field name (borrowed from the definition) */
	char ca[192];
	char es[192];
};

/* Identifier checks (DOMAIN.md section 8). Return true when valid. */
bool eng_nif_valid(const char *s);      /* DNI, NIE or NIF of a legal entity */
bool eng_dni_valid(const char *s);
bool eng_nie_valid(const char *s);
bool eng_cif_valid(const char *s);
bool eng_postal_valid(const char *s);
bool eng_email_valid(const char *s);
bool eng_phone_valid(const char *s);
bool eng_date_valid(const char *s);     /* YYYY-MM-DD, a real calendar day */

/* Validates one value (NULL or "" means absent). Returns true if valid; otherwise fills err. */
bool eng_field_check(const struct eng_field *f, const char *value, struct eng_field_error *err);

/* Validates values against every field of def. Unknown names are errors too (a post cannot
 * smuggle data the form does not have). Writes at most cap errors to errs; returns how many
 * errors there were in all. */
size_t eng_form_validate(const struct eng_definition *def, const struct eng_value *values,
                         size_t n_values, struct eng_field_error *errs, size_t cap);

/* Returns the value named name, or NULL. */
const char *eng_values_get(const struct eng_value *values, size_t n, const char *name);

#endif
