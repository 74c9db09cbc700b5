/*
 * offline.h - the -t mode: a saved message through the live pipeline.
 *
 * Owns: reading the file (at most AM_OFFLINE_MAX_BYTES), feeding it to one
 * am_pipeline_msg as a session would, and printing what the milter would
 * add and record.
 *
 * Errors: nothing is logged; an unreadable, too large or non-RFC 5322
 * file is reported on the err stream ("alignmilter: PATH: ...") and
 * am_offline_check() returns 1.  Out of memory aborts.
 *
 * Threads: the main thread of an alignmilter -t run.
 */
#ifndef AM_OFFLINE_H
#define AM_OFFLINE_H

#include <stdio.h>

#include "policy/pipeline.h"

#define AM_OFFLINE_MAX_BYTES (100u * 1024 * 1024)	/* larger files are refused */

/*
 * Check path ("-" = stdin) as if it arrived from client_ip/helo/mail_from;
 * print the Authentication-Results header and the alignment-log record to
 * out, the hints' fixes to err (per hint a "hint NAME: words" line, then
 * the records to publish as bare zone-file lines).  Returns 0, or 1 with a message on err
 * for an unreadable or non-RFC 5322 file.
 */
int	am_offline_check(am_pipeline *, const char *path, const char *client_ip,
	    const char *helo, const char *mail_from, FILE *out, FILE *err);

#endif
