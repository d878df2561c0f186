/* Identifier checks against the vectors of DOMAIN.md section 8, and field validation. */
#include <criterion/criterion.h>

#include "engine/core/validate.h"

Test(identifiers, dni_vectors)
{
	const char *good[] = {"12345678Z", "00000000T", "99999999R", "45678901G", "00000022E"};
	for (size_t i = 0; i < 5; i++)
		cr_expect(eng_dni_valid(good[i]) && eng_nif_valid(good[i]), "%s", good[i]);
	const char *bad[] = {"12345678A", "1234567Z", "123456789", "ABCDEFGHZ", "", "12345678z"};
	for (size_t i = 0; i < 6; i++)
		cr_expect(!eng_nif_valid(bad[i]), "%s", bad[i]);
}

Test(identifiers, nie_vectors)
{
	const char *good[] = {"X1234567L", "Y1234567X", "Z1234567R", "X0000000T"};
	for (size_t i = 0; i < 4; i++)
		cr_expect(eng_nie_valid(good[i]), "%s", good[i]);
	cr_expect(!eng_nie_valid("X1234567A"));
	cr_expect(!eng_nie_valid("W1234567L"));
}

Test(identifiers, legal_entity_vectors)
{
	const char *good[] = {"A58818501", "B12345674", "P4625200C", "S4611001A", "G46082111",
	                      "G4608211A", "B00000000"};
	for (size_t i = 0; i < 7; i++)
		cr_expect(eng_cif_valid(good[i]) && eng_nif_valid(good[i]), "%s", good[i]);
	/* B needs the digit, P needs the letter. */
	cr_expect(!eng_cif_valid("B1234567D"));
	cr_expect(!eng_cif_valid("P46252003"));
	cr_expect(!eng_cif_valid("A58818502"));
}

Test(identifiers, postal_codes)
{
	cr_expect(eng_postal_valid("46001"));
	cr_expect(eng_postal_valid("03001"));
	cr_expect(eng_postal_valid("52001"));
	cr_expect(!eng_postal_valid("00123"));
	cr_expect(!eng_postal_valid("53001"));
	cr_expect(!eng_postal_valid("4600"));
	cr_expect(!eng_postal_valid("4600A"));
}

Test(identifiers, dates_phones_emails)
{
	cr_expect(eng_date_valid("2028-02-29"));
	cr_expect(!eng_date_valid("2026-02-29"));
	cr_expect(!eng_date_valid("2026-13-01"));
	cr_expect(!eng_date_valid("26-01-01"));
	cr_expect(eng_phone_valid("961 234 567"));
	cr_expect(eng_phone_valid("+34 612345678"));
	cr_expect(!eng_phone_valid("12345"));
	cr_expect(!eng_phone_valid("96123456a"));
	cr_expect(eng_email_valid("maria@example.org"));
	cr_expect(!eng_email_valid("maria@"));
	cr_expect(!eng_email_valid("maria example@x.org"));
	cr_expect(!eng_email_valid("a@b@c.org"));
}

Test(fields, control_characters_and_bad_utf8_are_refused)
{
	struct eng_field f = {.name = "t", .type = ENG_FIELD_TEXT, .label = {"Text", "Texto"}};
	struct eng_field_error e;
	cr_expect(!eng_field_check(&f, "a\x01" "b", &e));
	cr_expect_str_eq(e.ca, "«Text» conté caràcters no vàlids.");
	cr_expect(!eng_field_check(&f, "\xc3\x28", &e));
	cr_expect(!eng_field_check(&f, "a\nb", &e), "single-line text refuses newlines");
	f.type = ENG_FIELD_LONGTEXT;
	cr_expect(eng_field_check(&f, "a\nb", &e));
}
