/* `tramit employee add|password|grant|revoke|roles`: back-office accounts of the entity the
 * server serves (TRAMIT_ENTITY) and the roles they hold in its units. A password is read from
 * standard input only, never from the command line (where `ps` and shell history would show
 * it), and is never printed. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "engine/runtime/migrate.h"
#include "engine/runtime/queries.h"
#include "engine/runtime/units.h"

bool cli_code_ok(const char *what, const char *code); /* cli/units.c */

enum { PASSWORD_MIN_CHARS = 12, PASSWORD_MAX_BYTES = 1024 };

static int usage(void)
{
	fprintf(stderr, "usage: tramit employee add USERNAME --name NAME [--role ROLE@UNIT ...]\n"
	                "       tramit employee password USERNAME   (the password is read from stdin)\n"
	                "       tramit employee grant|revoke USERNAME ROLE UNIT\n"
	                "       tramit employee roles USERNAME   (as they apply: units below included)\n");
	return 2;
}

/* Usernames appear in logs and URLs: keep them to a plain, lower-case alphabet. */
static bool username_ok(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}



static int employee_add(int argc, char **argv)
{
	if (argc < 2 || !username_ok(argv[1])) {
		if (argc >= 2)
			fprintf(stderr, "tramit: username '%s' must be 1 to 64 characters from a-z, 0-9, '.', '-' and '_'\n",
			        argv[1]);
		return usage();
	}
	const char *name = NULL;
	const char **roles = calloc((size_t)argc, sizeof(char *));
	size_t n_roles = 0;
	int status = 2;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc && *argv[i + 1]) {
			name = argv[++i];
		} else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			const char *r = argv[++i], *at = strchr(r, '@');
			if (!at || at == r || !at[1] || strchr(at + 1, '@')) {
				fprintf(stderr, "tramit: --role expects ROLE@UNIT (tramitador@registre), not '%s'\n", r);
				goto done;
			}
			roles[n_roles++] = r;
		} else {
			usage();
			goto done;
		}
	}
	if (!name) {
		fprintf(stderr, "tramit: employee add needs --name NAME\n");
		goto done;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	status = 1;
	if (cli_store_open(&cluster, &store) != 0)
		goto done;
	struct eng_error err = {0};
	if (eng_store_employee_add(store, cli_entity(), argv[1], name, roles, n_roles, &err) != 0)
		fprintf(stderr, "tramit: adding employee %s: %s\n", argv[1], err.msg);
	else {
		printf("employee %s (%s) in entity %s with %zu role%s; set a password with "
		       "`tramit employee password %s`\n", argv[1], name, cli_entity(), n_roles,
		       n_roles == 1 ? "" : "s", argv[1]);
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	free(roles);
	return status;
}

/* Reads one line from stdin without echo when it is a terminal. Returns 0, or prints why
 * and returns 1. */
static int read_password(char *buf, size_t size, const char *username)
{
	bool tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty) {
		fprintf(stderr, "New password for %s (at least %d characters): ", username, PASSWORD_MIN_CHARS);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	bool got = fgets(buf, (int)size, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got) {
		fprintf(stderr, "tramit: no password on standard input\n");
		return 1;
	}
	size_t len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == size - 1) {
		fprintf(stderr, "tramit: the password is longer than %d bytes\n", PASSWORD_MAX_BYTES);
		return 1;
	}
	buf[len] = '\0';
	return 0;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80;
	return n;
}

static int employee_password(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	char password[PASSWORD_MAX_BYTES + 2];
	char hash[ENG_PASSWORD_HASH_MAX];
	struct eng_error err = {0};
	int status = 1;
	if (read_password(password, sizeof(password), argv[1]) != 0)
		goto done;
	size_t chars = utf8_chars(password);
	if (chars < PASSWORD_MIN_CHARS) {
		fprintf(stderr, "tramit: the password must have at least %d characters; it has %zu. "
		                "Nothing was changed.\n", PASSWORD_MIN_CHARS, chars);
		goto done;
	}
	if (eng_password_hash(hash, password, &err) != 0) {
		fprintf(stderr, "tramit: %s\n", err.msg);
		goto done;
	}
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		goto done;
	if (eng_store_employee_password_set(store, cli_entity(), argv[1], hash, &err) != 0)
		fprintf(stderr, "tramit: setting the password: %s; add the employee first with "
		                "`tramit employee add`\n", err.msg);
	else {
		printf("password set for employee %s in entity %s\n", argv[1], cli_entity());
		status = 0;
	}
	eng_store_close(store);
	cli_database_close(&cluster);
done:
	explicit_bzero(password, sizeof(password));
	explicit_bzero(hash, sizeof(hash));
	return status;
}

/* grant or revoke USERNAME ROLE UNIT. */
static int employee_grant(int argc, char **argv, bool grant)
{
	if (argc != 4)
		return usage();
	const char *user = argv[1], *role = argv[2], *unit = argv[3];
	if (!username_ok(user)) {
		fprintf(stderr, "tramit: username '%s' must be 1 to 64 characters from a-z, 0-9, '.', '-' and '_'\n",
		        user);
		return 2;
	}
	if (!cli_code_ok("role", role) || !cli_code_ok("unit code", unit))
		return 2;
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_error err = {0};
	bool added = false;
	int rc = grant ? eng_store_grant_add(store, cli_entity(), user, role, unit, &added, &err)
	               : eng_store_grant_revoke(store, cli_entity(), user, role, unit, &err);
	if (rc)
		fprintf(stderr, "tramit: %s %s@%s %s %s: %s; nothing was changed\n", grant ? "granting" : "revoking",
		        role, unit, grant ? "to" : "from", user, err.msg);
	else if (grant)
		printf("%s %s role %s in unit %s (and the units below it)\n", user,
		       added ? "now holds" : "already held", role, unit);
	else
		printf("%s no longer holds role %s in unit %s\n", user, role, unit);
	eng_store_close(store);
	cli_database_close(&cluster);
	return rc ? 1 : 0;
}

static int employee_roles(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	struct eng_pgcluster cluster;
	struct eng_store *store;
	if (cli_store_open(&cluster, &store) != 0)
		return 1;
	struct eng_arena arena = {0};
	struct eng_employee_view e;
	struct eng_error err = {0};
	int rc = eng_store_employee_get(store, &arena, cli_entity(), argv[1], &e, &err);
	if (rc)
		fprintf(stderr, "tramit: %s\n", err.msg);
	for (size_t i = 0; rc == 0 && i < e.n_roles; i++)
		printf("%s\n", e.roles[i]);
	eng_arena_free(&arena);
	eng_store_close(store);
	cli_database_close(&cluster);
	return rc ? 1 : 0;
}

int cli_employee(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "grant") == 0 || strcmp(argv[1], "revoke") == 0))
		return employee_grant(argc - 1, argv + 1, strcmp(argv[1], "grant") == 0);
	if (argc >= 2 && strcmp(argv[1], "roles") == 0)
		return employee_roles(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return employee_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "password") == 0)
		return employee_password(argc - 1, argv + 1);
	return usage();
}
