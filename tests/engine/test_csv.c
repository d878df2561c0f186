/* CSV codes: format, randomness and the check character. */
#include <criterion/criterion.h>
#include <string.h>

#include "connectors/csv/csv.h"

Test(csv, new_codes_are_well_formed_and_normalise_to_themselves)
{
	for (int i = 0; i < 1000; i++) {
		char code[CONN_CSV_DISPLAY_LEN + 1], back[CONN_CSV_DISPLAY_LEN + 1];
		cr_assert_eq(conn_csv_new(code), 0);
		cr_assert_eq(strlen(code), 29);
		for (int k = 4; k < 29; k += 5)
			cr_assert_eq(code[k], '-');
		cr_assert_eq(conn_csv_normalize(back, code), 0, "%s", code);
		cr_assert_str_eq(back, code);
	}
}

Test(csv, codes_do_not_repeat)
{
	enum { N = 5000 };
	static char codes[N][CONN_CSV_DISPLAY_LEN + 1];
	for (int i = 0; i < N; i++)
		conn_csv_new(codes[i]);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			cr_assert_str_neq(codes[i], codes[j]);
}

Test(csv, typing_is_forgiving_but_the_check_character_catches_mistakes)
{
	char code[CONN_CSV_DISPLAY_LEN + 1], out[CONN_CSV_DISPLAY_LEN + 1];
	conn_csv_new(code);
	/* Lower case and no dashes. */
	char typed[40];
	size_t n = 0;
	for (const char *p = code; *p; p++)
		if (*p != '-')
			typed[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	typed[n] = '\0';
	cr_expect_eq(conn_csv_normalize(out, typed), 0);
	cr_expect_str_eq(out, code);
	/* Every single-character substitution is caught. */
	const char *alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	for (size_t pos = 0; pos < n; pos++) {
		for (const char *a = alphabet; *a; a++) {
			char t[40];
			strcpy(t, typed);
			char orig = (char)(t[pos] >= 'a' ? t[pos] - 32 : t[pos]);
			if (*a == orig)
				continue;
			t[pos] = *a;
			cr_assert_neq(conn_csv_normalize(out, t), 0, "%s accepted", t);
		}
	}
	cr_expect_neq(conn_csv_normalize(out, "short"), 0);
	cr_expect_neq(conn_csv_normalize(out, "UUUU-UUUU-UUUU-UUUU-UUUU-UUUU"), 0);
}
