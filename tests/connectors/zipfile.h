/* Test support: a minimal zip writer (one stored member, optionally with traditional PKWARE
 * encryption) so the antivirus tests build their archives at run time without any tool. */
#ifndef TRAMIT_TESTS_ZIPFILE_H
#define TRAMIT_TESTS_ZIPFILE_H

#include <stddef.h>

/* Returns a malloc'd zip holding `member` with the n bytes of data, encrypted with password
 * when it is not NULL; *len receives its size. */
unsigned char *zip_one(size_t *len, const char *member, const void *data, size_t n,
                       const char *password);

#endif
