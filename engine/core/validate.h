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
/* Cadastral reference: 20 characters (14 of the parcel, 4 of the unit, 2 control letters). */
bool eng_cadastral_valid(const char *s);
/* Euros as a citizen types them ("12", "12,5", "1.234,50" is refused: no thousands separator;
 * "12.50" and "12,50" are both accepted) into cents. Returns false if malformed or past
 * 10^12 euros. A value that is already whole cents is written by the engine as digits only,
 * which this reads as euros: store cents, parse input. */
bool eng_money_parse(const char *s, int64_t *cents);
/* Does s match the POSIX extended regular expression `pattern` as a whole? Values longer
 * than 1000 bytes never match (the matcher's work grows with the input). Returns -1 if the
 * pattern does not compile. */
int eng_pattern_match(const char *pattern, const char *s);

/* Validates one value (NULL or "" means absent). Returns true if valid; otherwise fills err. */
bool eng_field_check(const struct eng_field *f, const char *value, struct eng_field_error *err);
/* The same with the requirement decided by the caller (conditional requirement). */
bool eng_field_check_as(const struct eng_field *f, const char *value, bool required,
                        struct eng_field_error *err);

/* The field a form value's name refers to: "name", or "group.N.name" for the N-th instance
 * (from 1) of a repeatable group, with *index set to N (0 for fields outside groups). */
const struct eng_field *eng_form_field(const struct eng_definition *def, const char *name,
                                       int *index);
/* How many instances of group the values hold: the largest N of any "group.N.field". */
int eng_group_count(const struct eng_definition *def, const struct eng_group *group,
                    const struct eng_value *values, size_t n_values);

/* Validates values against every field of def. Unknown names are errors too (a post cannot
 * smuggle data the form does not have). Writes at most cap errors to errs; returns how many
 * errors there were in all. */
size_t eng_form_validate(const struct eng_definition *def, const struct eng_value *values,
                         size_t n_values, struct eng_field_error *errs, size_t cap);

/* Returns the value named name, or NULL. */
const char *eng_values_get(const struct eng_value *values, size_t n, const char *name);

#endif
