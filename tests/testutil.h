/*
 * testutil.h - small helpers shared by the Check unit tests.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stddef.h>

/* The whole file, NUL-terminated (len excludes the NUL); NULL if unreadable. */
char	*tu_slurp(const char *path, size_t *len);

#endif
