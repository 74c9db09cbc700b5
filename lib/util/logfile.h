/*
 * logfile.h - an append-only record file shared by all threads.
 *
 * Owns: the alignment log's file descriptor: opened O_APPEND with a
 * configured mode, one write(2) per record (so records from concurrent
 * threads never interleave), reopened on SIGHUP for log rotation.  A
 * failure to write is reported once per outage, never stops mail.
 */
#ifndef AM_LOGFILE_H
#define AM_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct am_logfile am_logfile;

/* NULL with err when path cannot be opened. */
am_logfile *am_logfile_open(const char *path, unsigned mode, char *err, size_t errlen);
/* Append one record (must end in '\n'); false when it could not be written. */
bool	am_logfile_append(am_logfile *, const char *rec, size_t len);
/* Close and open the path again (after rotation); false with the old fd kept. */
bool	am_logfile_reopen(am_logfile *);
void	am_logfile_close(am_logfile *);

#endif
