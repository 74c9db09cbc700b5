/*
 * ses.h - recognising Amazon SES mail and naming what a sender got wrong.
 *
 * Owns: SES recognition (amazonses.com DKIM signature, envelope domain
 * under amazonses.com, Feedback-ID / X-SES-Outgoing), the region and
 * MAIL FROM kind, and the hints of alignmilter(8) with the fix each names:
 * words, and the records to publish as zone-file lines.
 * Reads a filled verdict; writes only ses and hints.
 *
 * Errors: none: nothing is logged; fixes and records are cut to the
 * caller's buffer (a record whose names do not fit a zone file is "").
 *
 * Threads: any; pure functions over the caller's verdict.
 */
#ifndef AM_SES_H
#define AM_SES_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/dmarc.h"
#include "auth/verdict.h"

/* Fill v->ses and v->hints from the rest of v (dmarc: for org domains). */
void	am_ses_analyse(const am_dmarc *, struct am_verdict *v);

/* The hint's contract name, e.g. "ses-default-mail-from". */
const char *am_hint_name(enum am_hint);
/* The fix for this message in words (one line, no record in it); into buf. */
void	am_hint_fix(const struct am_verdict *, enum am_hint, char *buf, size_t buflen);
/*
 * The records the fix publishes, as zone-file lines with absolute owner
 * names and no TTL ("mail.example.com. MX 10 feedback-smtp.<region>.
 * amazonses.com."), "\n" between lines, none at the end; "" when the fix
 * is no record or a name is not fit for a zone file.  <token> and
 * <region> stand for what the message cannot tell.
 */
void	am_hint_records(const struct am_verdict *, enum am_hint, char *buf, size_t buflen);

#endif
