/*
 * version.h - alignmilter's version and those of the libraries it runs on.
 *
 * Owns: the -V output.  Errors: none; a library that cannot tell shows
 * 0.0.0.  Threads: any; it only writes to the stream it is given.
 */
#ifndef AM_VERSION_H
#define AM_VERSION_H

#include <stdio.h>

/* Print "alignmilter X" and one line per library (-V). */
void	am_version_print(FILE *);

#endif
