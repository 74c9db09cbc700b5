/*
 * reportfile.h - writing one output file of alignmilter-report.
 *
 * Owns: how an output reaches its path: the bytes go to a new file made
 * beside it (O_EXCL, so never through a link) which is then renamed over
 * the path.  A link planted at the path is replaced, never written
 * through, and a reader never sees half a file.
 *
 * Errors: false with err ("PATH: reason"); the temporary file is removed.
 * Nothing is logged.
 *
 * Threads: any; nothing is shared.
 */
#ifndef AM_REPORTFILE_H
#define AM_REPORTFILE_H

#include <stdbool.h>
#include <stddef.h>

bool	am_reportfile_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
