/*
 * version.h - alignmilter's version and those of the libraries it runs on.
 */
#ifndef AM_VERSION_H
#define AM_VERSION_H

#include <stdio.h>

/* Print "alignmilter X" and one line per library (-V). */
void	am_version_print(FILE *);

#endif
