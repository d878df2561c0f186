/* Built-in form validation and identifier checksums (DOMAIN.md section 8). Pure functions:
 * a value is accepted only if it is well-formed UTF-8 without control characters (except
 * newlines and tabs in long texts) and satisfies its field's type and limits. */
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

bool eng_dni_valid(const char *s)
{
	if (strlen(s) != 9 || !all_digits(s, 8))
		return false;
	long n = strtol((char[9]){s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], 0}, NULL, 10);
	return s[8] == dni_letters[n % 23];
}

bool eng_nie_valid(const char *s)
{
	if (strlen(s) != 9 || !strchr("XYZ", s[0]) || s[0] == '\0')
		return false;
	char dni[10];
	memcpy(dni, s, 10);
	dni[0] = (char)('0' + (s[0] - 'X'));
	return eng_dni_valid(dni);
}

bool eng_cif_valid(const char *s)
{
	if (strlen(s) != 9 || !strchr("ABCDEFGHJNPQRSUVW", s[0]) || s[0] == '\0' ||
	    !all_digits(s + 1, 7))
		return false;
	int a = 0, b = 0;
	for (int i = 0; i < 7; i++) {
		int d = s[1 + i] - '0';
		if (i % 2 == 1) {
			a += d;
		} else {
			int t = 2 * d;
			b += t / 10 + t % 10;
		}
	}
	int c = (10 - (a + b) % 10) % 10;
	char digit = (char)('0' + c), letter = "JABCDEFGHI"[c];
	bool letter_only = strchr("PQRSWN", s[0]) || (s[1] == '0' && s[2] == '0');
	bool digit_only = strchr("ABEH", s[0]) != NULL;
	/* The entity type decides first (B with province 00 still takes a digit: B00000000). */
	if (digit_only)
		return s[8] == digit;
	if (letter_only)
		return s[8] == letter;
	return s[8] == letter || s[8] == digit;
}

bool eng_nif_valid(const char *s)
{
	return eng_dni_valid(s) || eng_nie_valid(s) || eng_cif_valid(s);
}

bool eng_postal_valid(const char *s)
{
	if (strlen(s) != 5 || !all_digits(s, 5))
		return false;
	int province = (s[0] - '0') * 10 + (s[1] - '0');
	return province >= 1 && province <= 52;
}

bool eng_email_valid(const char *s)
{
	/* Deliberately simple: local@domain.tld without spaces; the mail server is the judge. */
	const char *at = strchr(s, '@');
	size_t n = strlen(s);
	if (!at || at == s || strchr(at + 1, '@') || n > 254)
		return false;
	const char *dot = strrchr(at + 1, '.');
	if (!dot || dot == at + 1 || dot[1] == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

bool eng_phone_valid(const char *s)
{
	/* Spanish numbers have 9 digits; international ones start with + and have 8 to 15. */
	size_t digits = 0;
	bool plus = s[0] == '+';
	for (const char *p = s + plus; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p != ' ' && *p != '-' && *p != '.')
			return false;
	}
	return plus ? digits >= 8 && digits <= 15 : digits == 9;
}

bool eng_date_valid(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
	    !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
		return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Counts UTF-8 characters; returns -1 for malformed UTF-8 or forbidden control characters. */
static long utf8_chars(const char *s, bool multiline)
{
	long n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (len == 0)
			return -1;
		if (len == 1 && (c < 0x20 || c == 0x7f) &&
		    !(multiline && (c == '\n' || c == '\r' || c == '\t')))
			return -1;
		if (len == 2 && c < 0xc2)
			return -1; /* overlong */
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		p += len;
		n++;
	}
	return n;
}

static bool fail(struct eng_field_error *err, const struct eng_field *f, const char *ca_fmt,
                 const char *es_fmt, long long a, long long b)
{
	if (!err)
		return false;
	err->field = f->name;
	const char *lca = eng_text_get(&f->label, ENG_LANG_CA);
	const char *les = eng_text_get(&f->label, ENG_LANG_ES);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(err->ca, sizeof(err->ca), ca_fmt, lca, a, b);
	snprintf(err->es, sizeof(err->es), es_fmt, les, a, b);
#pragma GCC diagnostic pop
	return false;
}

static bool is_option(const struct eng_field *f, const char *v)
{
	for (size_t i = 0; i < f->n_options; i++)
		if (strcmp(f->options[i].value, v) == 0)
			return true;
	return false;
}

bool eng_field_check(const struct eng_field *f, const char *v, struct eng_field_error *err)
{
	if (!v || !*v) {
		if (f->required)
			return fail(err, f, "Cal omplir «%s».", "Debe rellenar «%s».", 0, 0);
		return true;
	}
	long chars = utf8_chars(v, f->type == ENG_FIELD_LONGTEXT);
	if (chars < 0)
		return fail(err, f, "«%s» conté caràcters no vàlids.",
		            "«%s» contiene caracteres no válidos.", 0, 0);
	switch (f->type) {
	case ENG_FIELD_TEXT:
	case ENG_FIELD_LONGTEXT:
		if (f->has_max && chars > f->max)
			return fail(err, f, "«%s» no pot tindre més de %lld caràcters (en té %lld).",
			            "«%s» no puede tener más de %lld caracteres (tiene %lld).",
			            (long long)f->max, chars);
		if (f->has_min && chars < f->min)
			return fail(err, f, "«%s» ha de tindre almenys %lld caràcters.",
			            "«%s» debe tener al menos %lld caracteres.", (long long)f->min, 0);
		return true;
	case ENG_FIELD_NUMBER: {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*end || end == v || strlen(v) > 18)
			return fail(err, f, "«%s» ha de ser un número enter.",
			            "«%s» debe ser un número entero.", 0, 0);
		if ((f->has_min && n < f->min) || (f->has_max && n > f->max))
			return fail(err, f, "«%s» ha d'estar entre %lld i %lld.",
			            "«%s» debe estar entre %lld y %lld.",
			            f->has_min ? (long long)f->min : -999999999999LL,
			            f->has_max ? (long long)f->max : 999999999999LL);
		return true;
	}
	case ENG_FIELD_DATE:
		if (!eng_date_valid(v))
			return fail(err, f, "«%s» ha de ser una data vàlida (AAAA-MM-DD).",
			            "«%s» debe ser una fecha válida (AAAA-MM-DD).", 0, 0);
		return true;
	case ENG_FIELD_CHOICE:
		if (!is_option(f, v))
			return fail(err, f, "«%s»: trieu una de les opcions.",
			            "«%s»: elija una de las opciones.", 0, 0);
		return true;
	case ENG_FIELD_YESNO:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return fail(err, f, "«%s»: responeu sí o no.", "«%s»: responda sí o no.", 0, 0);
		return true;
	case ENG_FIELD_EMAIL:
		if (!eng_email_valid(v))
			return fail(err, f, "«%s» no és una adreça de correu vàlida (nom@domini.cat).",
			            "«%s» no es una dirección de correo válida (nombre@dominio.es).", 0, 0);
		return true;
	case ENG_FIELD_PHONE:
		if (!eng_phone_valid(v))
			return fail(err, f, "«%s» no és un telèfon vàlid (9 xifres, o + i el prefix del país).",
			            "«%s» no es un teléfono válido (9 cifras, o + y el prefijo del país).", 0, 0);
		return true;
	case ENG_FIELD_NIF:
		if (!eng_nif_valid(v))
			return fail(err, f, "«%s» no és un NIF o NIE vàlid: comproveu les xifres i la lletra.",
			            "«%s» no es un NIF o NIE válido: compruebe las cifras y la letra.", 0, 0);
		return true;
	case ENG_FIELD_POSTAL:
		if (!eng_postal_valid(v))
			return fail(err, f, "«%s» no és un codi postal vàlid (5 xifres, de 01000 a 52999).",
			            "«%s» no es un código postal válido (5 cifras, de 01000 a 52999).", 0, 0);
		return true;
	}
	return true;
}

const char *eng_values_get(const struct eng_value *values, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(values[i].name, name) == 0)
			return values[i].value;
	return NULL;
}

size_t eng_form_validate(const struct eng_definition *def, const struct eng_value *values,
                         size_t n_values, struct eng_field_error *errs, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		struct eng_field_error e;
		if (!eng_field_check(f, eng_values_get(values, n_values, f->name), &e)) {
			if (n < cap)
				errs[n] = e;
			n++;
		}
	}
	for (size_t i = 0; i < n_values; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || strcmp(values[j].name, values[i].name) == 0;
		if (eng_definition_field(def, values[i].name) && !dup)
			continue;
		if (n < cap) {
			errs[n].field = NULL;
			snprintf(errs[n].ca, sizeof(errs[n].ca), dup ? "El camp «%.100s» apareix dues vegades."
			         : "El formulari no té cap camp «%.100s».", values[i].name);
			snprintf(errs[n].es, sizeof(errs[n].es), dup ? "El campo «%.100s» aparece dos veces."
			         : "El formulario no tiene ningún campo «%.100s».", values[i].name);
		}
		n++;
	}
	return n;
}
