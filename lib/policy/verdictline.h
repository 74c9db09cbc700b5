/*
 * verdictline.h - the one-line syslog verdict of a message.
 *
 * Owns: the line's format (alignmilter(8) "Syslog verdict"): queue id,
 * header-From domain, each result with its identity and "aligned" or
 * "unaligned" (identifier alignment, whatever the result), DMARC policy,
 * SES and region, hints.
 * Values from the message are made printable (no control bytes reach
 * syslog).
 *
 * Errors: none: rendering cannot fail and logs nothing (pipeline.c logs
 * the line).  Out of memory aborts (am_buf).
 *
 * Threads: any; a pure function into the caller's buffer.
 */
#ifndef AM_VERDICTLINE_H
#define AM_VERDICTLINE_H

#include "util/util.h"
#include "auth/verdict.h"

void	am_verdictline_render(const struct am_verdict *, struct am_buf *out);

#endif
