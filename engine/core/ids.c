/* Explaining identifier checks and bank/municipality checksums (DOMAIN.md section 8).
 * Invariant: for NIF, NIE, CIF and postal codes the verdict always comes from validate.c, so
 * the form layer and these reasons can never disagree on what is valid. */
#include "ids.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

/* validate.c keeps its table private; the reasons need the expected letter, so the same
 * official table (Ministerio del Interior) is repeated here. */
static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
static const char cif_letters[] = "JABCDEFGHI";

/* Describes the byte at s for a message: 'A', or "byte 0xC3" when not printable ASCII, which
 * also covers the first byte of a UTF-8 letter such as Ñ. */
static const char *show(char buf[16], char ch)
{
	unsigned char u = (unsigned char)ch;
	if (u >= 0x20 && u < 0x7f)
		snprintf(buf, 16, "'%c'", ch);
	else
		snprintf(buf, 16, "byte 0x%02X", u);
	return buf;
}

static int invalid(struct eng_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int invalid(struct eng_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = ENG_EINVALID;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ENG_EINVALID;
}

/* Reports the first non-digit in s[from, to) with its 1-based position; 0 if none. */
static int digits_at(const char *s, size_t from, size_t to, struct eng_error *err)
{
	char b[16];
	for (size_t i = from; i < to; i++)
		if (!isdigit((unsigned char)s[i]))
			return invalid(err, "character %zu should be a digit, found %s", i + 1, show(b, s[i]));
	return 0;
}

/* The control letter check shared by DNI and NIE once the 8-digit number is known. */
static int control_letter(const char *s, long number, struct eng_error *err)
{
	char want = dni_letters[number % 23], got = s[8], b[16];
	if (got == want)
		return 0;
	if (toupper((unsigned char)got) == want)
		return invalid(err, "the control letter should be upper case: %c, not %c", want, got);
	if (!isalpha((unsigned char)got))
		return invalid(err, "the 9th character should be the control letter %c, found %s", want,
		                show(b, got));
	return invalid(err, "the control letter should be %c, not %c", want, got);
}

static long number_of(const char *s, size_t n)
{
	long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int explain_dni(const char *s, struct eng_error *err)
{
	size_t n = strlen(s);
	if (n == 0)
		return invalid(err, "the value is empty: expected 8 digits and a control letter");
	if (n != 9)
		return invalid(err, "expected 9 characters (8 digits and a control letter), found %zu", n);
	int rc = digits_at(s, 0, 8, err);
	if (rc != 0)
		return rc;
	return control_letter(s, number_of(s, 8), err);
}

static int explain_nie(const char *s, struct eng_error *err)
{
	size_t n = strlen(s);
	char b[16];
	if (n == 0)
		return invalid(err, "the value is empty: expected X, Y or Z, 7 digits and a control letter");
	if (s[0] == 'x' || s[0] == 'y' || s[0] == 'z')
		return invalid(err, "the first letter should be upper case: %c, not %c",
		               toupper((unsigned char)s[0]), s[0]);
	if (!strchr("XYZ", s[0]) || s[0] == '\0')
		return invalid(err, "a NIE starts with X, Y or Z, found %s", show(b, s[0]));
	if (n != 9)
		return invalid(err, "expected 9 characters (X, Y or Z, 7 digits and a control letter), found %zu", n);
	int rc = digits_at(s, 1, 8, err);
	if (rc != 0)
		return rc;
	/* X, Y and Z stand for a leading 0, 1 and 2 of an 8-digit number. */
	return control_letter(s, (s[0] - 'X') * 10000000L + number_of(s + 1, 7), err);
}

static int explain_cif(const char *s, struct eng_error *err)
{
	size_t n = strlen(s);
	char b[16], b2[16];
	if (n == 0)
		return invalid(err, "the value is empty: expected an entity letter, 7 digits and a control character");
	if (islower((unsigned char)s[0]))
		return invalid(err, "the entity letter should be upper case: %c, not %c",
		               toupper((unsigned char)s[0]), s[0]);
	if (!strchr("ABCDEFGHJNPQRSUVW", s[0]) || s[0] == '\0')
		return invalid(err, "a legal entity's NIF starts with A-H, J, N, P-S, U, V or W, found %s",
		               show(b, s[0]));
	if (n != 9)
		return invalid(err, "expected 9 characters (entity letter, 7 digits and a control character), found %zu", n);
	int rc = digits_at(s, 1, 8, err);
	if (rc != 0)
		return rc;
	int a = 0, sum_b = 0;
	for (int i = 0; i < 7; i++) {
		int d = s[1 + i] - '0';
		if (i % 2 == 1) {
			a += d;
		} else {
			int t = 2 * d;
			sum_b += t / 10 + t % 10;
		}
	}
	int c = (10 - (a + sum_b) % 10) % 10;
	char digit = (char)('0' + c), letter = cif_letters[c], got = s[8];
	/* Same precedence as eng_cif_valid: the entity type first, then province 00. */
	if (strchr("ABEH", s[0]))
		return invalid(err, "the control character should be the digit %c, not %s (entity type %c takes a digit)",
		               digit, show(b, got), s[0]);
	if (strchr("PQRSWN", s[0]))
		return invalid(err, "the control character should be the letter %c, not %s (entity type %c takes a letter)",
		               letter, show(b, got), s[0]);
	if (s[1] == '0' && s[2] == '0')
		return invalid(err, "the control character should be the letter %c, not %s (province 00 takes a letter)",
		               letter, show(b, got));
	return invalid(err, "the control character should be %s or %s, not %s", show(b2, digit),
	               show((char[16]){0}, letter), show(b, got));
}

/* When validate.c refuses a value and no specific fault was found, say so rather than
 * claim it is valid; this keeps the verdict in one place even if the two drift apart. */
static int refused(const char *what, struct eng_error *err)
{
	return invalid(err, "not a valid %s", what);
}

int eng_dni_check(const char *s, struct eng_error *err)
{
	if (eng_dni_valid(s))
		return 0;
	return explain_dni(s, err) != 0 ? ENG_EINVALID : refused("DNI", err);
}

int eng_nie_check(const char *s, struct eng_error *err)
{
	if (eng_nie_valid(s))
		return 0;
	return explain_nie(s, err) != 0 ? ENG_EINVALID : refused("NIE", err);
}

int eng_cif_check(const char *s, struct eng_error *err)
{
	if (eng_cif_valid(s))
		return 0;
	return explain_cif(s, err) != 0 ? ENG_EINVALID : refused("legal entity NIF", err);
}

int eng_nif_check(const char *s, struct eng_error *err)
{
	if (eng_nif_valid(s))
		return 0;
	char b[16];
	unsigned char first = (unsigned char)s[0];
	int rc;
	if (first == '\0')
		return invalid(err, "the value is empty: expected a DNI, NIE or legal entity NIF");
	if (isdigit(first))
		rc = explain_dni(s, err);
	else if (strchr("XYZxyz", (char)first))
		rc = explain_nie(s, err);
	else if (strchr("KLM", (char)first))
		return invalid(err, "NIFs starting with K, L or M are not accepted: their control rule is unverified");
	else if (strchr("ABCDEFGHJNPQRSUVWabcdefghjnpqrsuvw", (char)first))
		rc = explain_cif(s, err);
	else
		return invalid(err, "a NIF starts with a digit (DNI), X, Y or Z (NIE) or an entity letter (A-H, J, N, P-S, U-W), found %s",
		               show(b, s[0]));
	return rc != 0 ? ENG_EINVALID : refused("NIF", err);
}

/* Province codes 01-52 in INE numbering (51 Ceuta, 52 Melilla). */
static int province_in_range(const char *s, const char *what, struct eng_error *err)
{
	int p = (s[0] - '0') * 10 + (s[1] - '0');
	if (p < 1 || p > 52)
		return invalid(err, "province %c%c does not exist: %s start with a province code 01-52",
		               s[0], s[1], what);
	return 0;
}

int eng_postal_check(const char *s, struct eng_error *err)
{
	if (eng_postal_valid(s))
		return 0;
	size_t n = strlen(s);
	int rc;
	if (n != 5)
		rc = invalid(err, "expected 5 digits, found %zu characters", n);
	else if ((rc = digits_at(s, 0, 5, err)) == 0)
		rc = province_in_range(s, "postal codes", err);
	return rc != 0 ? ENG_EINVALID : refused("postal code", err);
}

/* Copies s without spaces into out (cap bytes); positions[i] is the 1-based position in s of
 * out[i]. Returns the compact length, or cap if s does not fit. */
static size_t compact(char *out, size_t *positions, size_t cap, const char *s)
{
	size_t n = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == ' ')
			continue;
		if (n + 1 >= cap)
			return cap;
		positions[n] = i + 1;
		out[n++] = s[i];
	}
	out[n] = '\0';
	return n;
}

static const int ccc_weights[10] = {1, 2, 4, 8, 5, 10, 9, 7, 3, 6};

/* One CCC control digit over ten digits: 11 - (weighted sum mod 11), with 10 -> 1, 11 -> 0. */
static int ccc_digit(const char *ten)
{
	int sum = 0;
	for (int i = 0; i < 10; i++)
		sum += (ten[i] - '0') * ccc_weights[i];
	int r = 11 - sum % 11;
	return r == 10 ? 1 : r == 11 ? 0 : r;
}

static void ccc_pair(char out[3], const char *entity_branch, const char *account)
{
	char first[10] = {'0', '0'};
	memcpy(first + 2, entity_branch, 8);
	out[0] = (char)('0' + ccc_digit(first));
	out[1] = (char)('0' + ccc_digit(account));
	out[2] = '\0';
}

int eng_ccc_control(char out[3], const char *entity_branch, const char *account,
                    struct eng_error *err)
{
	if (strlen(entity_branch) != 8 || digits_at(entity_branch, 0, 8, NULL) != 0)
		return invalid(err, "expected 8 digits of entity and branch, found '%.20s'", entity_branch);
	if (strlen(account) != 10 || digits_at(account, 0, 10, NULL) != 0)
		return invalid(err, "expected 10 digits of account number, found '%.20s'", account);
	ccc_pair(out, entity_branch, account);
	return 0;
}

/* Checks a compact 20-digit CCC; positions map back to the caller's text. */
static int ccc_compact_check(const char *c, const size_t *positions, size_t n,
                             struct eng_error *err)
{
	char b[16];
	if (n != 20)
		return invalid(err, "expected 20 digits (entity 4, branch 4, control 2, account 10), found %zu", n);
	for (size_t i = 0; i < 20; i++)
		if (!isdigit((unsigned char)c[i]))
			return invalid(err, "character %zu should be a digit, found %s", positions[i], show(b, c[i]));
	char want[3];
	ccc_pair(want, c, c + 10);
	bool first_ok = c[8] == want[0], second_ok = c[9] == want[1];
	if (first_ok && second_ok)
		return 0;
	if (!first_ok && !second_ok)
		return invalid(err, "the control digits should be %s, not %c%c", want, c[8], c[9]);
	if (!first_ok)
		return invalid(err, "the first control digit (over entity and branch %.4s %.4s) should be %c, not %c",
		               c, c + 4, want[0], c[8]);
	return invalid(err, "the second control digit (over account %.10s) should be %c, not %c",
	               c + 10, want[1], c[9]);
}

int eng_ccc_check(const char *s, struct eng_error *err)
{
	char c[64];
	size_t pos[64];
	size_t n = compact(c, pos, sizeof(c), s);
	if (n == sizeof(c))
		return invalid(err, "expected 20 digits (entity 4, branch 4, control 2, account 10), found more than 60");
	return ccc_compact_check(c, pos, n, err);
}

bool eng_ccc_valid(const char *s)
{
	return eng_ccc_check(s, NULL) == 0;
}

/* IBAN lengths of the SEPA countries and a few frequent others (ECBS/SWIFT IBAN registry).
 * Countries not listed are held to the general 15-34 characters only. */
static const struct {
	char country[3];
	int length;
} iban_lengths[] = {
	{"AD", 24}, {"AE", 23}, {"AT", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BR", 29},
	{"CH", 21}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"EE", 20}, {"ES", 24},
	{"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
	{"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27}, {"LI", 21},
	{"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MT", 31}, {"NL", 18}, {"NO", 15},
	{"PL", 28}, {"PT", 25}, {"RO", 24}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
	{"SM", 27}, {"TR", 26}, {"VA", 22},
};

/* ISO 7064 mod 97-10 of the IBAN rearranged (first four characters moved to the end), with
 * A = 10 ... Z = 35. Digit by digit, so no big integers are needed. */
static int iban_mod97(const char *iban, size_t n)
{
	int r = 0;
	for (size_t k = 0; k < n; k++) {
		char ch = iban[(k + 4) % n];
		if (isdigit((unsigned char)ch)) {
			r = (r * 10 + (ch - '0')) % 97;
		} else {
			int v = ch - 'A' + 10;
			r = (r * 100 + v) % 97;
		}
	}
	return r;
}

int eng_iban_check(const char *s, struct eng_error *err)
{
	char c[64], b[16];
	size_t pos[64];
	size_t n = compact(c, pos, sizeof(c), s);
	if (n == 0)
		return invalid(err, "the value is empty: expected an IBAN such as ES91 2100 0418 4502 0005 1332");
	if (n == sizeof(c))
		return invalid(err, "an IBAN has at most 34 characters, found more than 60");
	if (n > 34)
		return invalid(err, "an IBAN has at most 34 characters, found %zu", n);
	for (size_t i = 0; i < 2 && i < n; i++) {
		if (islower((unsigned char)c[i]))
			return invalid(err, "the country code should be upper case: %c%c",
			               toupper((unsigned char)c[0]), n > 1 ? toupper((unsigned char)c[1]) : ' ');
		if (!isupper((unsigned char)c[i]))
			return invalid(err, "an IBAN starts with a two-letter country code, found %s at character %zu",
			               show(b, c[i]), pos[i]);
	}
	if (n < 4)
		return invalid(err, "an IBAN has at least 15 characters, found %zu", n);
	for (size_t i = 2; i < 4; i++)
		if (!isdigit((unsigned char)c[i]))
			return invalid(err, "characters 3-4 are the check digits, found %s at character %zu",
			               show(b, c[i]), pos[i]);
	int expected = 0;
	for (size_t i = 0; i < sizeof(iban_lengths) / sizeof(iban_lengths[0]); i++)
		if (memcmp(iban_lengths[i].country, c, 2) == 0)
			expected = iban_lengths[i].length;
	if (expected && (int)n != expected)
		return invalid(err, "an IBAN from %.2s has %d characters, found %zu", c, expected, n);
	if (n < 15)
		return invalid(err, "an IBAN has at least 15 characters, found %zu", n);
	bool spanish = memcmp(c, "ES", 2) == 0;
	for (size_t i = 4; i < n; i++) {
		unsigned char u = (unsigned char)c[i];
		if (spanish && !isdigit(u))
			return invalid(err, "a Spanish IBAN has only digits after ES and the check digits, found %s at character %zu",
			               show(b, c[i]), pos[i]);
		if (!isdigit(u) && !isupper(u))
			return invalid(err, "character %zu should be a digit or an upper-case letter, found %s",
			               pos[i], show(b, c[i]));
	}
	int check = (c[2] - '0') * 10 + (c[3] - '0');
	/* mod 97 cannot tell 00 from 97 or 01 from 98; the standard only issues 02-98. */
	if (check < 2 || check > 98)
		return invalid(err, "check digits %c%c are out of range: IBAN check digits are 02 to 98", c[2], c[3]);
	int r = iban_mod97(c, n);
	if (r != 1)
		return invalid(err, "mod 97 check gives %d, not 1", r);
	if (spanish) {
		int rc = ccc_compact_check(c + 4, pos + 4, n - 4, err);
		if (rc != 0) {
			if (err) {
				char inner[sizeof(err->msg)];
				snprintf(inner, sizeof(inner), "%s", err->msg);
				invalid(err, "the account inside (CCC) is wrong: %.200s", inner);
			}
			return ENG_EINVALID;
		}
	}
	return 0;
}

bool eng_iban_valid(const char *s)
{
	return eng_iban_check(s, NULL) == 0;
}

int eng_iban_es_from_ccc(char out[25], const char *ccc, struct eng_error *err)
{
	char c[64];
	size_t pos[64];
	size_t n = compact(c, pos, sizeof(c), ccc);
	int rc = n == sizeof(c) ? invalid(err, "expected 20 digits, found more than 60")
	                        : ccc_compact_check(c, pos, n, err);
	if (rc != 0)
		return rc;
	char iban[25] = "ES00";
	memcpy(iban + 4, c, 21); /* 20 digits and the NUL, checked above */
	/* With 00 as placeholder, 98 - (mod 97) is the check that makes the whole give 1. */
	int check = 98 - iban_mod97(iban, 24);
	iban[2] = (char)('0' + check / 10);
	iban[3] = (char)('0' + check % 10);
	memcpy(out, iban, 25);
	return 0;
}

/* DOMAIN.md 8.6: tables C, B, A, C, B over digits 1-5, DC = (10 - sum mod 10) mod 10. */
static int ine_digit(const char *five)
{
	static const char *const tables[5] = {"0246813579", "0382741596", "0123456789",
	                                      "0246813579", "0382741596"};
	int sum = 0;
	for (int i = 0; i < 5; i++)
		sum += tables[i][five[i] - '0'] - '0';
	return (10 - sum % 10) % 10;
}

static int ine_code_check(const char *s, struct eng_error *err)
{
	int rc = digits_at(s, 0, 5, err);
	if (rc != 0)
		return rc;
	if ((rc = province_in_range(s, "INE municipality codes", err)) != 0)
		return rc;
	if (memcmp(s + 2, "000", 3) == 0)
		return invalid(err, "municipality number 000 does not exist: INE numbers start at 001");
	return 0;
}

int eng_ine_control(int *out, const char *ine5, struct eng_error *err)
{
	size_t n = strlen(ine5);
	if (n != 5)
		return invalid(err, "expected 5 digits (province and municipality), found %zu characters", n);
	int rc = ine_code_check(ine5, err);
	if (rc == 0)
		*out = ine_digit(ine5);
	return rc;
}

int eng_ine_check(const char *s, struct eng_error *err)
{
	size_t n = strlen(s);
	if (n == 5) {
		int rc = ine_code_check(s, err);
		if (rc != 0)
			return rc;
		return invalid(err, "expected 6 digits (code and control digit), found 5: the control digit of %s is %d",
		               s, ine_digit(s));
	}
	if (n != 6)
		return invalid(err, "expected 6 digits (2 province, 3 municipality, 1 control), found %zu characters", n);
	int rc = ine_code_check(s, err);
	if (rc != 0)
		return rc;
	if ((rc = digits_at(s, 5, 6, err)) != 0)
		return rc;
	int want = ine_digit(s);
	if (s[5] - '0' != want)
		return invalid(err, "the control digit should be %d, not %c", want, s[5]);
	return 0;
}

bool eng_ine_valid(const char *s)
{
	return eng_ine_check(s, NULL) == 0;
}

int eng_dir3_municipality_check(const char *s, struct eng_error *err)
{
	size_t n = strlen(s);
	if (n != 9 || strncmp(s, "L01", 3) != 0)
		return invalid(err, "an ayuntamiento's DIR3 code is L01, the 5-digit INE code and its control digit (9 characters), found '%.40s'",
		               s);
	/* Check the digits here so that positions count from the start of the whole code. */
	int rc = digits_at(s, 3, 9, err);
	if (rc != 0)
		return rc;
	rc = eng_ine_check(s + 3, err);
	if (rc != 0 && err) {
		char inner[sizeof(err->msg)];
		snprintf(inner, sizeof(inner), "%s", err->msg);
		invalid(err, "after L01, %.200s", inner);
	}
	return rc;
}

int eng_postal_ine_check(const char *postal, const char *ine, struct eng_error *err)
{
	int rc = eng_postal_check(postal, err);
	if (rc != 0)
		return rc;
	size_t n = strlen(ine);
	rc = n == 5 ? ine_code_check(ine, err) : eng_ine_check(ine, err);
	if (rc != 0)
		return rc;
	if (memcmp(postal, ine, 2) != 0)
		return invalid(err, "postal code %s is in province %.2s but municipality %.5s is in province %.2s",
		               postal, postal, ine, ine);
	return 0;
}
