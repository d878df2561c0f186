/* Test support: run a shell command (the `tramit` binary, usually) and capture its output. */
#ifndef TRAMIT_TESTS_SHELL_H
#define TRAMIT_TESTS_SHELL_H

#include <stddef.h>

/* Runs the printf-formatted command with /bin/sh; *out receives its whole standard output
 * (malloc'd, NUL-terminated; the caller frees it) and *len (if not NULL) its length. Returns
 * the exit status, or -1 if it did not exit normally. Fails the test if it cannot run. */
int shell_run(char **out, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
