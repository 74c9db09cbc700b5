/*
 * report-xml.h - DMARC aggregate reports (RFC 7489 section 7.2 and
 * Appendix C) built from the alignment log.
 *
 * Owns: grouping messages per From domain and UTC day into one
 * <feedback> document each, rows grouped by source IP, disposition, the
 * DMARC-aligned DKIM/SPF results and the raw auth_results (DKIM d=/s=/
 * result of every signature, SPF domain/scope/result); policy_published
 * from the newest message of that day that found a DMARC record (or
 * p=none for the From domain when none did); file names
 * "<receiver>!<From domain>!<begin>!<end>.xml" with begin/end the
 * day's first and last second.  Messages without a From domain have no
 * policy domain and are not reported.
 *
 * Errors: nothing is logged; am_dmarcxml_write() returns -1 with err when
 * the directory cannot be made or a file not written (files already
 * written stay).  Out of memory aborts.
 *
 * Threads: any; a struct am_dmarcxml belongs to its caller.
 */
#ifndef AM_REPORT_XML_H
#define AM_REPORT_XML_H

#include <stddef.h>

#include "auth/verdict.h"

struct am_dmarcxml;

struct am_dmarcxml *am_dmarcxml_new(void);
void	am_dmarcxml_free(struct am_dmarcxml *);
void	am_dmarcxml_add(struct am_dmarcxml *, const struct am_verdict *);
/* Messages not reportable (no From domain). */
unsigned long am_dmarcxml_skipped(const struct am_dmarcxml *);
/*
 * Write every report into dir (created if missing).  org and email go to
 * report_metadata; the receiver in file names is email's domain.
 * Returns the number of files written, or -1 with a reason in err.
 */
int	am_dmarcxml_write(const struct am_dmarcxml *, const char *dir, const char *org,
	    const char *email, char *err, size_t errlen);

#endif
