/* Runs commands for CLI tests, capturing all of their output however long it is. */
#include "shell.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int shell_run(char **out, size_t *len, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "cannot run: %s", cmd);
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (cap - n < 2) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	cr_assert_not_null(buf, "out of memory reading the output of: %s", cmd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t shell_peer_start(const char *const argv[], const char *ready_file, int *port)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(ready_file, "r");
		bool ok = f && fscanf(f, "%d", port) == 1;
		if (f)
			fclose(f);
		if (ok)
			return pid;
		cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "%s exited", argv[1] ? argv[1] : argv[0]);
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	cr_assert_fail("%s did not start within 10 s", argv[1] ? argv[1] : argv[0]);
	return -1;
}

void shell_tramit_variant(const char *dir, const char *source, const char *anchor,
                          const char *replacement)
{
	char path[1024], *src = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/tramits/%s", TRAMIT_SOURCE_DIR, source);
	FILE *in = fopen(path, "r");
	cr_assert_not_null(in, "%s", path);
	FILE *mem = open_memstream(&src, &len);
	for (int ch; (ch = fgetc(in)) != EOF;)
		fputc(ch, mem);
	fclose(mem);
	fclose(in);
	char *at = strstr(src, anchor);
	cr_assert_not_null(at, "%s no longer has '%s': update this test", source, anchor);
	snprintf(path, sizeof(path), "%s/tramits", dir);
	mkdir(path, 0755);
	const char *base = strrchr(source, '/');
	snprintf(path, sizeof(path), "%s/tramits/%s", dir, base ? base + 1 : source);
	FILE *out = fopen(path, "w");
	cr_assert_not_null(out, "%s", path);
	fprintf(out, "%.*s%s%s", (int)(at - src), src, replacement, at + strlen(anchor));
	fclose(out);
	free(src);
}
