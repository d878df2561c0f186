/* Test support: run a shell command (the `tramit` binary, usually) and capture its output. */
#ifndef TRAMIT_TESTS_SHELL_H
#define TRAMIT_TESTS_SHELL_H

#include <stddef.h>
#include <sys/types.h>

/* Runs the printf-formatted command with /bin/sh; *out receives its whole standard output
 * (malloc'd, NUL-terminated; the caller frees it) and *len (if not NULL) its length. Returns
 * the exit status, or -1 if it did not exit normally. Fails the test if it cannot run. */
int shell_run(char **out, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Starts a peer program (argv[0] its path, NULL-terminated) that writes the port it listens
 * on into ready_file; returns its pid and the port in *port, or fails the test after 10 s. */
pid_t shell_peer_start(const char *const argv[], const char *ready_file, int *port);

/* Writes dir/tramits/NAME: the catalogue's tràmit at source (relative to tramits/, e.g.
 * "general/instancia-general.lua") with its first `anchor` replaced by `replacement`, so a
 * test can add one thing to a real tràmit. Fails the test if the anchor is gone. */
void shell_tramit_variant(const char *dir, const char *source, const char *anchor,
                          const char *replacement);

#endif
