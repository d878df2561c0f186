/* `tramit calendar deadline`: the due date of a period under the national + Comunitat
 * Valenciana calendar files plus the local holidays given. The files are read here and their
 * text handed to the pure parser; a year without a file is an error, never "no holidays". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli.h"
#include "engine/core/calendar.h"

/* Calendar files of the Comunitat Valenciana, one a year: es-vc-YYYY.txt. */
#define CAL_PREFIX "es-vc-"
#define CAL_SUFFIX ".txt"

static const char deadline_usage[] =
	"usage: tramit calendar deadline --from YYYY-MM-DD --amount N\n"
	"         --unit business-days|natural-days|months|years\n"
	"         [--holidays YYYY-MM-DD,...] [--calendars DIR] [--roll | --no-roll]\n";

const char *cli_calendars_dir(const char *option)
{
	if (option)
		return option;
	const char *dir = getenv("TRAMIT_CALENDARS_DIR");
	if (dir && *dir)
		return dir;
	if (access("tramits/calendars", F_OK) == 0)
		return "tramits/calendars";
	return TRAMIT_SOURCE_DIR "/tramits/calendars";
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every es-vc-*.txt of dir into c. Prints the reason and returns 1 on failure. */
int cli_calendar_load_dir(struct eng_calendar *c, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "tramit calendar: cannot open calendar folder %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t n = 0;
	int status = 1;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= strlen(CAL_PREFIX) + strlen(CAL_SUFFIX) ||
		    strncmp(e->d_name, CAL_PREFIX, strlen(CAL_PREFIX)) != 0 ||
		    strcmp(e->d_name + len - strlen(CAL_SUFFIX), CAL_SUFFIX) != 0)
			continue;
		char **more = realloc(names, (n + 1) * sizeof(*names));
		if (!more || !(more[n] = strdup(e->d_name))) {
			names = more ? more : names;
			fprintf(stderr, "tramit calendar: out of memory\n");
			goto done;
		}
		names = more;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "tramit calendar: no calendar files (" CAL_PREFIX "YYYY" CAL_SUFFIX ") in %s\n", dir);
		goto done;
	}
	/* Sorted so that errors come out in the same order on every system. */
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = cat_file_read(path, NULL);
		if (!text) {
			fprintf(stderr, "tramit calendar: cannot read %s: %s\n", path, strerror(errno));
			goto done;
		}
		struct eng_error err = {0};
		int rc = eng_calendar_parse(c, text, &err);
		free(text);
		if (rc != 0) {
			fprintf(stderr, "tramit calendar: %s: %s\n", path, err.msg);
			goto done;
		}
	}
	status = 0;
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return status;
}

/* Adds the comma-separated local holidays; returns 0 or prints why and returns 2. */
int cli_calendar_add_local(struct eng_calendar *c, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int status = 0;
	if (!copy) {
		fprintf(stderr, "tramit calendar: out of memory\n");
		return 1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct eng_error err = {0};
		int32_t day;
		if (eng_day_parse(&day, tok, &err) != 0) {
			fprintf(stderr, "tramit calendar: --holidays: %s\n", err.msg);
			status = 2;
			break;
		}
		const struct eng_holiday *h = eng_calendar_holiday(c, day);
		if (h) {
			/* A municipality cannot pick a day that is already a holiday: the list is wrong. */
			fprintf(stderr, "tramit calendar: --holidays: %s is already a holiday (%s)\n", tok, h->name_ca);
			status = 2;
			break;
		}
		if (eng_calendar_add(c, day, ENG_HOLIDAY_LOCAL, "festa local", "fiesta local", &err) != 0) {
			fprintf(stderr, "tramit calendar: --holidays: %s\n", err.msg);
			status = 1;
			break;
		}
	}
	free(copy);
	return status;
}

/* Option value for --name VALUE or --name=VALUE at argv[*i]; NULL if argv[*i] is not --name. */
static const char *option(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

enum unit { UNIT_BUSINESS_DAYS, UNIT_NATURAL_DAYS, UNIT_MONTHS, UNIT_YEARS };

static int deadline(int argc, char **argv)
{
	const char *from = NULL, *amount = NULL, *unit = NULL, *holidays = NULL, *dir = NULL;
	int roll = -1; /* -1: the unit's default */
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if ((v = option(argc, argv, &i, "--from", &missing)))
			from = v;
		else if ((v = option(argc, argv, &i, "--amount", &missing)))
			amount = v;
		else if ((v = option(argc, argv, &i, "--unit", &missing)))
			unit = v;
		else if ((v = option(argc, argv, &i, "--holidays", &missing)))
			holidays = v;
		else if ((v = option(argc, argv, &i, "--calendars", &missing)))
			dir = v;
		else if (!missing && strcmp(argv[i], "--roll") == 0)
			roll = 1;
		else if (!missing && strcmp(argv[i], "--no-roll") == 0)
			roll = 0;
		else {
			if (missing)
				fprintf(stderr, "tramit calendar: %s needs a value\n", argv[i]);
			else
				fprintf(stderr, "tramit calendar: unknown option '%s'\n", argv[i]);
			fprintf(stderr, "%s", deadline_usage);
			return 2;
		}
	}
	if (!from || !amount || !unit) {
		fprintf(stderr, "tramit calendar: --from, --amount and --unit are required\n%s", deadline_usage);
		return 2;
	}
	struct eng_error err = {0};
	int32_t start, due = 0;
	if (eng_day_parse(&start, from, &err) != 0) {
		fprintf(stderr, "tramit calendar: --from: %s\n", err.msg);
		return 2;
	}
	char *end;
	errno = 0;
	long n = strtol(amount, &end, 10);
	if (*amount == '\0' || *end || errno || n < 1 || n > 36500) {
		fprintf(stderr, "tramit calendar: --amount: expected a whole number from 1 to 36500, found '%s'\n", amount);
		return 2;
	}
	static const char *const units[] = {"business-days", "natural-days", "months", "years"};
	int u = -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(unit, units[i]) == 0)
			u = i;
	if (u < 0) {
		fprintf(stderr, "tramit calendar: --unit: expected business-days, natural-days, months or years, found '%s'\n", unit);
		return 2;
	}
	if (u == UNIT_BUSINESS_DAYS && roll == 0) {
		fprintf(stderr, "tramit calendar: --no-roll makes no sense for business days: they always end on one\n");
		return 2;
	}
	/* Art. 30.5 rolls month and year periods; natural-day periods do not roll unless asked
	 * (DOMAIN.md 6.2: the notification access window must not). */
	enum eng_roll how = roll == 1 || (roll == -1 && u >= UNIT_MONTHS) ? ENG_ROLL_NEXT_BUSINESS_DAY
	                                                                    : ENG_ROLL_NONE;

	struct eng_calendar *c = NULL;
	int status = 1, rc;
	const char *where = cli_calendars_dir(dir);
	if (eng_calendar_new(&c, &err) != 0) {
		fprintf(stderr, "tramit calendar: %s\n", err.msg);
		return 1;
	}
	if (cli_calendar_load_dir(c, where) != 0)
		goto done;
	if (holidays && (status = cli_calendar_add_local(c, holidays)) != 0)
		goto done;
	status = 1;
	switch ((enum unit)u) {
	case UNIT_BUSINESS_DAYS:
		rc = eng_calendar_add_business_days(&due, c, start, (int)n, &err);
		break;
	case UNIT_NATURAL_DAYS:
		rc = eng_calendar_add_natural_days(&due, c, start, (int)n, how, &err);
		break;
	case UNIT_MONTHS:
		rc = eng_calendar_add_months(&due, c, start, (int)n, how, &err);
		break;
	case UNIT_YEARS:
	default:
		rc = eng_calendar_add_years(&due, c, start, (int)n, how, &err);
		break;
	}
	if (rc == ENG_ENOTFOUND) {
		fprintf(stderr, "tramit calendar: %s; calendars are read from %s/" CAL_PREFIX "YYYY" CAL_SUFFIX "\n",
		        err.msg, where);
	} else if (rc != 0) {
		fprintf(stderr, "tramit calendar: %s\n", err.msg);
		status = rc == ENG_EINVALID ? 2 : 1;
	} else {
		char out[11];
		eng_day_format(out, due);
		printf("%s\n", out);
		status = 0;
	}
done:
	eng_calendar_free(c);
	return status;
}

int cli_calendar(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "deadline") == 0)
		return deadline(argc - 1, argv + 1);
	if (argc >= 2)
		fprintf(stderr, "tramit calendar: unknown subcommand '%s'\n", argv[1]);
	fprintf(stderr, "%s", deadline_usage);
	return 2;
}
