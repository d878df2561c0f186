/* Identifier checks that explain themselves (DOMAIN.md section 8): IBAN, CCC, INE codes, and
 * the reason a NIF, NIE or postal code fails. Pure, libc only, thread-safe. Invariant: each
 * *_check accepts exactly what the matching validate.h / *_valid accepts; it adds the why. */
#ifndef ENG_IDS_H
#define ENG_IDS_H

#include <stdbool.h>

#include "model.h"

/* Each *_check returns 0 when s is valid, or ENG_EINVALID with one English sentence in
 * err->msg saying what was expected and what was found (for example "the control letter
 * should be Z, not A"). s must not be NULL. */

/* DNI (8 digits + letter), NIE (X/Y/Z + 7 digits + letter), legal-entity NIF ("CIF"), or any
 * of the three. The verdict is validate.h's (eng_dni_valid and friends); NIFs starting with
 * K, L or M are refused because their rule is UNVERIFIED (DOMAIN.md 8.2). */
int eng_dni_check(const char *s, struct eng_error *err);
int eng_nie_check(const char *s, struct eng_error *err);
int eng_cif_check(const char *s, struct eng_error *err);
int eng_nif_check(const char *s, struct eng_error *err);

/* Postal code: 5 digits starting with a province code 01-52 (verdict of eng_postal_valid). */
int eng_postal_check(const char *s, struct eng_error *err);

/* IBAN in electronic form or printed in groups (spaces are ignored): a two-letter country,
 * check digits 02-98, the length that country uses when known, and ISO 7064 mod 97-10 giving
 * 1. A Spanish IBAN must also carry a valid CCC (its own control digits). */
int eng_iban_check(const char *s, struct eng_error *err);
bool eng_iban_valid(const char *s);
/* The Spanish IBAN of a valid 20-digit CCC: "ES", 98 - (CCC || "142800") mod 97, the CCC.
 * ENG_EINVALID, with the CCC's fault, when ccc is not valid. */
int eng_iban_es_from_ccc(char out[25], const char *ccc, struct eng_error *err);

/* CCC: 20 digits (spaces ignored), entity 4 + branch 4 + control 2 + account 10. */
int eng_ccc_check(const char *s, struct eng_error *err);
bool eng_ccc_valid(const char *s);
/* The two control digits for an 8-digit entity+branch and a 10-digit account. */
int eng_ccc_control(char out[3], const char *entity_branch, const char *account,
                    struct eng_error *err);

/* INE municipality code with its control digit: 6 digits, province 01-52, municipality
 * 001-999, then the digit eng_ine_control gives. */
int eng_ine_check(const char *s, struct eng_error *err);
bool eng_ine_valid(const char *s);
/* The control digit of a 5-digit INE code (province + municipality). */
int eng_ine_control(int *out, const char *ine5, struct eng_error *err);
/* DIR3 code of an ayuntamiento: "L01" + INE code + control digit. */
int eng_dir3_municipality_check(const char *s, struct eng_error *err);

/* DOMAIN.md 8.5: a postal code must lie in the province of the municipality. ine is the
 * 5-digit code or the 6-digit one with control digit; both values must be valid on their own
 * (checked here too). */
int eng_postal_ine_check(const char *postal, const char *ine, struct eng_error *err);

#endif
