/* `tramit validate KIND VALUE`: checks one identifier and prints "valid" (exit 0) or
 * "invalid: reason" (exit 1) on stdout, so designers and scripts get the verdict and the why
 * from the same checks the forms use. Usage errors go to stderr with exit 2. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/core/ids.h"

static const struct {
	const char *kind;
	int (*check)(const char *s, struct eng_error *err);
	const char *what;
} kinds[] = {
	{"nif", eng_nif_check, "DNI, NIE or legal entity NIF"},
	{"dni", eng_dni_check, "DNI: 8 digits and a control letter"},
	{"nie", eng_nie_check, "NIE: X, Y or Z, 7 digits and a control letter"},
	{"cif", eng_cif_check, "legal entity NIF: entity letter, 7 digits and a control character"},
	{"iban", eng_iban_check, "IBAN, spaces allowed"},
	{"ccc", eng_ccc_check, "Spanish bank account code, 20 digits"},
	{"postal", eng_postal_check, "postal code, 5 digits from 01000 to 52999"},
	{"ine", eng_ine_check, "INE municipality code and control digit, 6 digits"},
	{"dir3", eng_dir3_municipality_check, "DIR3 code of an ayuntamiento, L01 + INE + control"},
};

static void usage(void)
{
	fprintf(stderr, "usage: tramit validate KIND VALUE\n\nkinds:\n");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(stderr, "  %-7s %s\n", kinds[i].kind, kinds[i].what);
}

int cli_validate(int argc, char **argv)
{
	if (argc != 3) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(argv[1], kinds[i].kind) != 0)
			continue;
		struct eng_error err = {0};
		if (kinds[i].check(argv[2], &err) == 0) {
			printf("valid\n");
			return 0;
		}
		printf("invalid: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr, "tramit validate: unknown kind '%s'\n", argv[1]);
	usage();
	return 2;
}
