/* Built-in form validation and identifier checksums (DOMAIN.md section 8). Pure functions:
 * a value is accepted only if it is well-formed UTF-8 without control characters (except
 * newlines and tabs in long texts) and satisfies its field's type and limits. */
#include "validate.h"

#include "ids.h"

#include <ctype.h>
#include <regex.h>
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

bool eng_cadastral_valid(const char *s)
{
	/* The Catastro's control letters: each is a weighted sum over 7 characters of the parcel
	 * and the 4 of the unit, letters counting by their place in the Spanish alphabet. */
	static const int weights[] = { 13, 15, 12, 5, 4, 17, 9, 21, 3, 7, 1 };
	static const char letters[] = "MQWERTYUIOPASDFGHJKLBZX";
	if (strlen(s) != 20)
		return false;
	for (int i = 0; i < 20; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'Z'))
			return false;
	for (int part = 0; part < 2; part++) {
		char chunk[11];
		memcpy(chunk, s + 7 * part, 7);
		memcpy(chunk + 7, s + 14, 4);
		int sum = 0;
		for (int i = 0; i < 11; i++) {
			char ch = chunk[i];
			int v = isdigit((unsigned char)ch) ? ch - '0' : ch - 'A' + 1 + (ch > 'N');
			sum += weights[i] * v;
		}
		if (s[18 + part] != letters[sum % 23])
			return false;
	}
	return true;
}

bool eng_money_parse(const char *s, int64_t *cents)
{
	int64_t euros = 0, frac = 0;
	size_t i = 0, digits = 0, fdigits = 0;
	for (; isdigit((unsigned char)s[i]); i++, digits++) {
		if (digits >= 12)
			return false;
		euros = euros * 10 + (s[i] - '0');
	}
	if (digits == 0)
		return false;
	if (s[i] == ',' || s[i] == '.') {
		for (i++; isdigit((unsigned char)s[i]); i++, fdigits++) {
			if (fdigits >= 2)
				return false;
			frac = frac * 10 + (s[i] - '0');
		}
		if (fdigits == 0)
			return false;
		if (fdigits == 1)
			frac *= 10;
	}
	if (s[i] != '\0')
		return false;
	*cents = euros * 100 + frac;
	return true;
}

int eng_pattern_match(const char *pattern, const char *s)
{
	regex_t re;
	size_t n = strlen(pattern);
	char anchored[600];
	if (n > 500)
		return -1;
	snprintf(anchored, sizeof(anchored), "^(%s)$", pattern);
	if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	int ok = strlen(s) <= 1000 && regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
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

static bool has_option(const struct eng_field *f, const char *v, size_t len)
{
	for (size_t i = 0; i < f->n_options; i++)
		if (strlen(f->options[i].value) == len && strncmp(f->options[i].value, v, len) == 0)
			return true;
	return false;
}

/* "a,b,c": every item one of the options, none twice, as many as min/max allow. */
static bool check_multichoice(const struct eng_field *f, const char *v, struct eng_field_error *err)
{
	long long n = 0;
	for (const char *p = v; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (!has_option(f, p, len))
			return fail(err, f, "«%s»: trieu només entre les opcions.",
			            "«%s»: elija solo entre las opciones.", 0, 0);
		for (const char *q = v; q < p; q++)
			if ((q == v || q[-1] == ',') && strncmp(q, p, len) == 0 &&
			    (q[len] == ',' || q[len] == '\0'))
				return fail(err, f, "«%s»: una opció apareix dues vegades.",
				            "«%s»: una opción aparece dos veces.", 0, 0);
		n++;
		p = comma ? comma + 1 : p + len;
	}
	if ((f->has_min && n < f->min) || (f->has_max && n > f->max))
		return fail(err, f, "«%s»: trieu entre %lld i %lld opcions.",
		            "«%s»: elija entre %lld y %lld opciones.",
		            f->has_min ? (long long)f->min : 0,
		            f->has_max ? (long long)f->max : (long long)f->n_options);
	return true;
}

static bool ends_with_ci(const char *s, size_t n, const char *ext)
{
	size_t m = strlen(ext);
	if (n < m + 1 || s[n - m - 1] != '.')
		return false;
	for (size_t i = 0; i < m; i++)
		if (tolower((unsigned char)s[n - m + i]) != ext[i])
			return false;
	return true;
}

/* One line per file, "name|bytes|sha256": the type by the name's extension, the size, how many. */
static bool check_files(const struct eng_field *f, const char *v, struct eng_field_error *err)
{
	long long n = 0;
	for (const char *p = v; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *bar1 = memchr(p, '|', len);
		const char *bar2 = bar1 ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - p)) : NULL;
		if (!bar1 || !bar2 || bar1 == p || (size_t)(p + len - (bar2 + 1)) != 64 ||
		    !all_digits(bar1 + 1, (size_t)(bar2 - bar1 - 1)) || bar2 == bar1 + 1)
			return fail(err, f, "«%s»: el fitxer no ha arribat bé; torneu a adjuntar-lo.",
			            "«%s»: el fichero no ha llegado bien; vuelva a adjuntarlo.", 0, 0);
		bool accepted = f->n_accept == 0;
		for (size_t i = 0; i < f->n_accept; i++)
			accepted = accepted || ends_with_ci(p, (size_t)(bar1 - p), f->accept[i]);
		if (!accepted)
			return fail(err, f, "«%s»: aquest tipus de fitxer no s'accepta.",
			            "«%s»: este tipo de fichero no se acepta.", 0, 0);
		long long bytes = strtoll(bar1 + 1, NULL, 10);
		if (f->max_bytes > 0 && bytes > f->max_bytes)
			return fail(err, f, "«%s»: cada fitxer pot ocupar com a màxim %lld KiB.",
			            "«%s»: cada fichero puede ocupar como máximo %lld KiB.",
			            (long long)(f->max_bytes / 1024), 0);
		n++;
		p = nl ? nl + 1 : p + len;
	}
	if (f->has_max && n > f->max)
		return fail(err, f, "«%s»: podeu adjuntar com a màxim %lld fitxers.",
		            "«%s»: puede adjuntar como máximo %lld ficheros.", (long long)f->max, 0);
	if (f->has_min && n < f->min)
		return fail(err, f, "«%s»: cal adjuntar almenys %lld fitxers.",
		            "«%s»: debe adjuntar al menos %lld ficheros.", (long long)f->min, 0);
	return true;
}

/* An address names its postal code: a run of exactly 5 digits with a valid province. */
static bool address_has_postal(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p > v && isdigit((unsigned char)p[-1])))
			continue;
		size_t n = 0;
		while (isdigit((unsigned char)p[n]))
			n++;
		char code[6];
		if (n == 5) {
			memcpy(code, p, 5);
			code[5] = '\0';
			if (eng_postal_valid(code))
				return true;
		}
	}
	return false;
}

bool eng_field_check(const struct eng_field *f, const char *v, struct eng_field_error *err)
{
	return eng_field_check_as(f, v, f->required, err);
}

static bool check_type(const struct eng_field *f, const char *v, long chars,
                       struct eng_field_error *err);

bool eng_field_check_as(const struct eng_field *f, const char *v, bool required,
                        struct eng_field_error *err)
{
	if (!v || !*v) {
		if (required)
			return fail(err, f, "Cal omplir «%s».", "Debe rellenar «%s».", 0, 0);
		return true;
	}
	long chars = utf8_chars(v, f->type == ENG_FIELD_LONGTEXT || f->type == ENG_FIELD_ADDRESS ||
	                               f->type == ENG_FIELD_FILE);
	if (chars < 0)
		return fail(err, f, "«%s» conté caràcters no vàlids.",
		            "«%s» contiene caracteres no válidos.", 0, 0);
	if (!check_type(f, v, chars, err))
		return false;
	if (f->pattern && eng_pattern_match(f->pattern, v) != 1) {
		if (err) {
			fail(err, f, "«%s» no té la forma esperada", "«%s» no tiene la forma esperada", 0, 0);
			if (f->pattern_msg.ca) {
				size_t n = strlen(err->ca);
				snprintf(err->ca + n, sizeof(err->ca) - n, ": %s", f->pattern_msg.ca);
				n = strlen(err->es);
				snprintf(err->es + n, sizeof(err->es) - n, ": %s",
				         f->pattern_msg.es ? f->pattern_msg.es : f->pattern_msg.ca);
			} else {
				strcat(err->ca, ".");
				strcat(err->es, ".");
			}
		}
		return false;
	}
	return true;
}

static bool check_type(const struct eng_field *f, const char *v, long chars,
                       struct eng_field_error *err)
{
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
	case ENG_FIELD_MONEY: {
		int64_t cents;
		if (!eng_money_parse(v, &cents))
			return fail(err, f, "«%s» ha de ser un import en euros (per exemple 12,50).",
			            "«%s» debe ser un importe en euros (por ejemplo 12,50).", 0, 0);
		if ((f->has_min && cents < f->min) || (f->has_max && cents > f->max))
			return fail(err, f, "«%s» ha d'estar entre %lld i %lld cèntims.",
			            "«%s» debe estar entre %lld y %lld céntimos.",
			            f->has_min ? (long long)f->min : 0,
			            f->has_max ? (long long)f->max : 100000000000000LL);
		return true;
	}
	case ENG_FIELD_MULTICHOICE:
		return check_multichoice(f, v, err);
	case ENG_FIELD_PERSON_NIF:
		if (!eng_dni_valid(v) && !eng_nie_valid(v))
			return fail(err, f, "«%s» no és un DNI o NIE vàlid: comproveu les xifres i la lletra.",
			            "«%s» no es un DNI o NIE válido: compruebe las cifras y la letra.", 0, 0);
		return true;
	case ENG_FIELD_COMPANY_NIF:
		if (!eng_cif_valid(v))
			return fail(err, f, "«%s» no és un NIF d'entitat vàlid (una lletra, 7 xifres i el control).",
			            "«%s» no es un NIF de entidad válido (una letra, 7 cifras y el control).", 0, 0);
		return true;
	case ENG_FIELD_IBAN:
		if (!eng_iban_valid(v))
			return fail(err, f, "«%s» no és un IBAN vàlid: comproveu-ne les xifres.",
			            "«%s» no es un IBAN válido: compruebe sus cifras.", 0, 0);
		return true;
	case ENG_FIELD_MUNICIPALITY:
		if (!eng_ine_valid(v))
			return fail(err, f, "«%s» no és un codi de municipi de l'INE vàlid (6 xifres).",
			            "«%s» no es un código de municipio del INE válido (6 cifras).", 0, 0);
		return true;
	case ENG_FIELD_CADASTRAL:
		if (!eng_cadastral_valid(v))
			return fail(err, f, "«%s» no és una referència cadastral vàlida (20 caràcters).",
			            "«%s» no es una referencia catastral válida (20 caracteres).", 0, 0);
		return true;
	case ENG_FIELD_ADDRESS:
		if (chars > 300 || !address_has_postal(v))
			return fail(err, f, "«%s»: escriviu l'adreça amb el codi postal.",
			            "«%s»: escriba la dirección con el código postal.", 0, 0);
		return true;
	case ENG_FIELD_FILE:
		return check_files(f, v, err);
	case ENG_FIELD__COUNT:
		break;
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

const struct eng_field *eng_form_field(const struct eng_definition *def, const char *name,
                                       int *index)
{
	*index = 0;
	const char *dot = strchr(name, '.');
	if (!dot) {
		const struct eng_field *f = eng_definition_field(def, name);
		return f && !f->group ? f : NULL;
	}
	char *end;
	long n = strtol(dot + 1, &end, 10);
	if (end == dot + 1 || *end != '.' || n < 1 || n > 1000 || dot[1] == '0')
		return NULL;
	const struct eng_field *f = eng_definition_field(def, end + 1);
	if (!f || !f->group || strlen(f->group) != (size_t)(dot - name) ||
	    strncmp(f->group, name, (size_t)(dot - name)) != 0)
		return NULL;
	*index = (int)n;
	return f;
}

int eng_group_count(const struct eng_definition *def, const struct eng_group *group,
                    const struct eng_value *values, size_t n_values)
{
	int count = 0;
	for (size_t i = 0; i < n_values; i++) {
		int index;
		const struct eng_field *f = eng_form_field(def, values[i].name, &index);
		if (f && index > count && strcmp(f->group, group->name) == 0)
			count = index;
	}
	return count;
}

static void add_error(struct eng_field_error *errs, size_t cap, size_t *n,
                      const struct eng_field_error *e)
{
	if (*n < cap)
		errs[*n] = *e;
	(*n)++;
}

size_t eng_form_validate(const struct eng_definition *def, const struct eng_value *values,
                         size_t n_values, struct eng_field_error *errs, size_t cap)
{
	size_t n = 0;
	char name[200];
	for (size_t i = 0; i < def->n_fields; i++) {
		const struct eng_field *f = &def->fields[i];
		struct eng_field_error e;
		if (f->group || f->computed_fn)
			continue;
		if (!eng_field_check(f, eng_values_get(values, n_values, f->name), &e))
			add_error(errs, cap, &n, &e);
	}
	for (size_t g = 0; g < def->n_groups; g++) {
		const struct eng_group *grp = &def->groups[g];
		int count = eng_group_count(def, grp, values, n_values);
		for (int k = 1; k <= count; k++) {
			for (size_t i = 0; i < def->n_fields; i++) {
				const struct eng_field *f = &def->fields[i];
				struct eng_field_error e;
				if (!f->group || strcmp(f->group, grp->name) != 0 || f->computed_fn)
					continue;
				snprintf(name, sizeof(name), "%s.%d.%s", grp->name, k, f->name);
				if (!eng_field_check(f, eng_values_get(values, n_values, name), &e)) {
					e.field = f->name;
					add_error(errs, cap, &n, &e);
				}
			}
		}
		if ((count < grp->min) || (grp->max > 0 && count > grp->max)) {
			struct eng_field_error e = { .field = grp->name };
			snprintf(e.ca, sizeof(e.ca), "«%.100s»: n'hi ha d'haver entre %lld i %lld.",
			         eng_text_get(&grp->label, ENG_LANG_CA), (long long)grp->min,
			         (long long)grp->max);
			snprintf(e.es, sizeof(e.es), "«%.100s»: debe haber entre %lld y %lld.",
			         eng_text_get(&grp->label, ENG_LANG_ES), (long long)grp->min,
			         (long long)grp->max);
			add_error(errs, cap, &n, &e);
		}
	}
	for (size_t i = 0; i < n_values; i++) {
		bool dup = false;
		int index;
		for (size_t j = 0; j < i; j++)
			dup = dup || strcmp(values[j].name, values[i].name) == 0;
		const struct eng_field *f = eng_form_field(def, values[i].name, &index);
		if (f && !f->computed_fn && !dup)
			continue;
		struct eng_field_error e = { .field = NULL };
		snprintf(e.ca, sizeof(e.ca), dup ? "El camp «%.100s» apareix dues vegades."
		         : "El formulari no té cap camp «%.100s».", values[i].name);
		snprintf(e.es, sizeof(e.es), dup ? "El campo «%.100s» aparece dos veces."
		         : "El formulario no tiene ningún campo «%.100s».", values[i].name);
		add_error(errs, cap, &n, &e);
	}
	return n;
}
