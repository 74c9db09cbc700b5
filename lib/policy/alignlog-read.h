/*
 * alignlog-read.h - reading an alignment log record (the JSON line that
 * alignlog.c writes, alignmilter(8) "Alignment log") back into a verdict.
 *
 * Owns: which keys a record must have and of what type, the mapping of
 * result names back to the verdict's enums, and UTC time stamps in the
 * ISO 8601 forms the tools accept.  Keys it does not know are ignored
 * (newer milters may add some); a known key twice, a wrong type or an
 * unknown result name make the record malformed.  Hint names it does
 * not know are ignored too.
 *
 * The log does not carry every verdict field: key_not_found and
 * duplicated_suffix of a signature are inferred from the record's hints
 * (the failing signatures whose reason is "key not found"), so that
 * am_hint_fix() names the right selector; and DMARC's view
 * (dmarc.spf_aligned, dmarc.dkim_aligned) is aligned and passing, since
 * the record's aligned is identifier alignment alone.
 *
 * The DMARC keys of RFC 9989 (policy_tag, testing, psd, discovery,
 * published, org_domain, walks_skipped: docs/alignment-log.md) are read
 * when present; a record written before them reads as RFC 7489's:
 * discovery psl, testing false, psd 'u', published p = the policy that
 * applied, policy_tag p at the From domain's own record and sp at its
 * organizational domain's.
 *
 * "author_domains" (every author domain of a From that was not one clean
 * domain; from_domain is then the one whose outcome decided) is read
 * when present, at most AM_FROM_DOMAINS_MAX kept (more set
 * author_domains_over), and makes from_status MULTIPLE (several) or
 * NO_DOMAIN; a from_domain that is not one of them (unless both are
 * empty) makes the record malformed.  A record written before the key
 * has from_domain "" for such a From, and reads as before.
 *
 * "host" (the ReportingHost of the MX that wrote the record) is read
 * when present; a record without it has host "".
 *
 * Errors: nothing is logged.  am_alignlog_read() returns false with the
 * reason in err (the verdict is then partly filled); am_alignlog_parse_time()
 * returns false.  Out of memory aborts (the JSON reader).
 *
 * Threads: any; no state outside the caller's verdict.
 */
#ifndef AM_ALIGNLOG_READ_H
#define AM_ALIGNLOG_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth/verdict.h"

/*
 * Parse line[0..len) (without the newline) into *v, which is cleared
 * first.  Returns false with a reason in err for a malformed record.
 */
bool	am_alignlog_read(const char *line, size_t len, struct am_verdict *v, char *err, size_t errlen);

/*
 * "2026-11-27", "2026-11-27T05:00:00Z", "2026-11-27T05:00:00+01:00" (also
 * with a space for the T, and with fractional seconds): seconds since the
 * epoch, UTC.  A date alone is its midnight UTC.  False for anything else.
 */
bool	am_alignlog_parse_time(const char *s, time_t *out);

#endif
