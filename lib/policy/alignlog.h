/*
 * alignlog.h - the alignment log record (JSON Lines) of alignmilter(8)
 * and docs/alignment-log.md.
 *
 * Owns: the record's keys and their order, and JSON string escaping of
 * everything that came from the message or the DNS (always valid UTF-8
 * out, whatever bytes came in).  spf.aligned and dkim[].aligned are
 * identifier alignment, whatever the result (verdict.h); a reader wanting
 * DMARC's view takes aligned and "result":"pass" together.
 *
 * Errors: none: rendering cannot fail and logs nothing.  Out of memory
 * aborts (am_buf).
 *
 * Threads: any; pure functions into the caller's buffer.
 */
#ifndef AM_ALIGNLOG_H
#define AM_ALIGNLOG_H

#include "util/util.h"
#include "auth/verdict.h"

/* One record, ending in "\n". */
void	am_alignlog_render(const struct am_verdict *, struct am_buf *out);
/* A JSON string (with quotes) of len bytes of s; invalid UTF-8 becomes U+FFFD. */
void	am_json_string(struct am_buf *, const char *s, size_t len);

#endif
