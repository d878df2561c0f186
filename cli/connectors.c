/* `tramit connectors [--check FILE]`: lists the built-in connectors with their capabilities
 * and configuration schema, or validates a connectors configuration file the way `serve`
 * would at start-up (opening each configured connector), exiting 1 with the message. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "connectors/connector.h"

static void list_one(const struct conn_type *c)
{
	char caps[64];
	conn_capabilities_format(c->capabilities, caps, sizeof(caps));
	printf("%s\n  capabilities: %s\n", c->name, caps[0] ? caps : "none");
	printf("  effect kinds:");
	if (!c->effect_kinds || !c->effect_kinds[0])
		printf(" none");
	for (const char *const *k = c->effect_kinds; k && *k; k++)
		printf(" %s", *k);
	if (c->medium)
		printf(" (when the effect's medium is \"%s\")", c->medium);
	printf("\n");
	/* describe() is several lines; indent each under the name. */
	const char *text = c->describe();
	while (*text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);
		printf("  %.*s\n", n, text);
		text += n + (nl ? 1 : 0);
	}
}

static int check(const char *path)
{
	struct conn_set *set = NULL;
	struct conn_error err = {0};
	if (conn_set_open_file(&set, path, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("%s: ok; configured:", path);
	int n = 0;
	for (const struct conn_type *const *c = conn_builtin; *c; c++)
		if (conn_set_configured(set, (*c)->name))
			printf(" %s", (*c)->name), n++;
	printf("%s\n", n ? "" : " none");
	conn_set_close(set);
	return 0;
}

int cli_connectors(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--check") == 0)
		return check(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: tramit connectors [--check FILE]\n");
		return 2;
	}
	struct conn_error err = {0};
	if (conn_table_check(&err) != 0) {
		fprintf(stderr, "tramit: the built-in connector table is broken: %s\n", err.msg);
		return 1;
	}
	for (const struct conn_type *const *c = conn_builtin; *c; c++) {
		if (c != conn_builtin)
			printf("\n");
		list_one(*c);
	}
	return 0;
}
