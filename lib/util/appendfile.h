/*
 * appendfile.h - an append-only record file shared by all threads.
 *
 * Owns: the alignment log's file descriptor: opened O_APPEND with a
 * configured mode, one write(2) per record (so records from concurrent
 * threads never interleave), reopened on SIGHUP for log rotation.
 *
 * Errors: am_appendfile_open() returns NULL with err.  A failed append
 * returns false (a record cut by a full disk is lost, and the next record
 * starts on a line of its own) and is logged once per outage (am_log, LOG_ERR; LOG_NOTICE
 * when writing works again); a failed reopen is logged (LOG_ERR), returns
 * false and keeps the old descriptor.  Never stops mail.  Out of memory
 * aborts.
 *
 * Threads: append from any thread, reopen from any thread (the main
 * thread, on SIGHUP) while others append; open and close while no other
 * thread uses the file.
 */
#ifndef AM_APPENDFILE_H
#define AM_APPENDFILE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct am_appendfile am_appendfile;

/* NULL with err when path cannot be opened. */
am_appendfile *am_appendfile_open(const char *path, unsigned mode, char *err, size_t errlen);
/* Append one record (must end in '\n'); false when it could not be written. */
bool	am_appendfile_append(am_appendfile *, const char *rec, size_t len);
/* Close and open the path again (after rotation); false with the old fd kept. */
bool	am_appendfile_reopen(am_appendfile *);
void	am_appendfile_close(am_appendfile *);

#endif
