/* Fuzzes the small text parsers: a typed secure verification code (conn_csv_normalize) and a
 * holiday calendar file (eng_calendar_parse). An input's first byte picks the parser.
 * Invariants: a code that normalises is 29 characters and normalises to itself; a calendar
 * either loads or says which line is wrong and stays unchanged. */
#include <stdlib.h>
#include <string.h>

#include "connectors/csv/csv.h"
#include "driver.h"
#include "engine/core/calendar.h"

static const struct fuzz_seed seeds[] = {
	{"c7K3M-QX2P-0000-1111-2222-3333", 0},
	{"c 7k3m qx2p oooo iiii llll 3333 ", 0},
	{"k2026-01-01  national  Any nou | Año nuevo\n2026-03-19  regional  Sant Josep | San José\n"
	 "# a comment\n\n2026-06-24\tlocal\tSant Joan | San Juan\n", 0},
	{"k2027-02-29  national  No | No\n", 0},
};

static const char *const dictionary[] = {
	"-", " ", "O", "I", "L", "U", "*", "~", "$", "=", "national", "regional", "local", " | ", "\n",
	"\t", "#", "2026-", "-02-29", "-13-", "99", NULL,
};

struct fuzz_harness fuzz_harness = {
	.name = "text", .seeds = seeds, .n_seeds = sizeof(seeds) / sizeof(seeds[0]),
	.dictionary = dictionary, .iterations = 300000, .max_len = 2048,
};

int fuzz_init(const char *dir)
{
	(void)dir;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] == 'c') {
		char out[CONN_CSV_DISPLAY_LEN + 1], again[CONN_CSV_DISPLAY_LEN + 1];
		if (conn_csv_normalize(out, text) == 0) {
			if (strlen(out) != CONN_CSV_DISPLAY_LEN)
				fuzz_fail("a normalised code of %zu characters", strlen(out));
			if (conn_csv_normalize(again, out) != 0 || strcmp(again, out) != 0)
				fuzz_fail("normalising '%s' again gives something else", out);
		}
	} else {
		struct eng_calendar *cal = NULL;
		struct eng_error err = {0};
		if (eng_calendar_new(&cal, &err) != 0)
			fuzz_fail("no calendar: %s", err.msg);
		if (eng_calendar_parse(cal, text, &err) != 0) {
			if (strncmp(err.msg, "line ", 5) != 0)
				fuzz_fail("a refused calendar does not name the line: %s", err.msg);
			if (eng_calendar_covers(cal, 2026) || eng_calendar_covers(cal, 2027))
				fuzz_fail("a refused calendar was changed");
		}
		eng_calendar_free(cal);
	}
	free(text);
	return 0;
}
