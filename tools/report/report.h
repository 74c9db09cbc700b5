/*
 * report.h - the per-From-domain tallies of alignmilter-report and their
 * plain-text and JSON renderings.
 *
 * Owns: what counts as a pass and as aligned (alignmilter-report(1)).  SPF
 * pass = spf.result pass; SPF aligned = spf.aligned (the SPF domain aligns
 * with From, whatever the result); SPF aligned pass = both, the SPF half
 * of DMARC.  A message is DKIM pass when any signature passed, DKIM
 * aligned when any signature's d= aligns, and DKIM aligned pass when any
 * aligned signature passed (the DKIM half of DMARC).  DMARC pass =
 * dmarc.result pass.  Also the policy seen (most recent record and the
 * set), SES share and regions, hint counts and, per hint, the fix of the
 * most recent message that raised it: its words and its zone-file lines
 * (rendered by ses.c's am_hint_fix and am_hint_records, not copied
 * here).  All counts are messages.  Text output prints each zone-file
 * line on a line of its own at the left margin, ready to paste.
 *
 * Errors: none: counting and rendering cannot fail and log nothing.  Out
 * of memory aborts.
 *
 * Threads: any; a struct am_report belongs to its caller.
 */
#ifndef AM_REPORT_H
#define AM_REPORT_H

#include <stddef.h>
#include <time.h>

#include "util/util.h"
#include "auth/verdict.h"

#define AM_REPORT_FIX_MAX 1024

struct am_rcount {
	char	*name;
	unsigned long n;
};

struct am_rdomain {
	char	*domain;		/* lower case; "" when the From had none */
	unsigned long messages, spf_pass, spf_aligned, dkim_pass, dkim_aligned, dmarc_pass, ses;
	unsigned long spf_aligned_pass, dkim_aligned_pass;
	unsigned long hints[AM_HINT_COUNT];
	char	*fix[AM_HINT_COUNT];	/* of the most recent message with the hint */
	char	*records[AM_HINT_COUNT]; /* its zone-file lines, "\n" separated; may be "" */
	time_t	fix_ts[AM_HINT_COUNT];
	unsigned long policies[AM_POLICY_REJECT + 1]; /* AM_POLICY_UNSPEC: no DMARC record */
	enum am_dmarc_policy policy;	/* of the most recent message */
	time_t	policy_ts;
	struct am_rcount *regions;	/* SES regions ("unknown" when not told) */
	size_t	nregions;
	time_t	first, last;		/* time stamps seen */
};

struct am_report {
	struct am_rmap *index;		/* domain -> domains[] */
	struct am_rdomain *domains;
	size_t	count, cap;
	unsigned long messages;
};

void	am_report_init(struct am_report *);
void	am_report_free(struct am_report *);
/* Count one message (already filtered by the caller). */
void	am_report_add(struct am_report *, const struct am_verdict *);

/* Domains, most messages first, then by name; free() the array. */
const struct am_rdomain **am_report_sorted(const struct am_report *);
/* d's hints with a count, most frequent first; returns how many. */
size_t	am_rdomain_hints(const struct am_rdomain *, enum am_hint order[AM_HINT_COUNT]);
/* "none", "quarantine", "reject", or "no-record" for AM_POLICY_UNSPEC. */
const char *am_report_policy_label(enum am_dmarc_policy);
/* 100 * n / total, 0 when total is 0. */
double	am_report_pct(unsigned long n, unsigned long total);

/* The human-readable report. */
void	am_report_text(const struct am_report *, struct am_buf *out);
/*
 * {"domains": [...]}: per domain the keys domain .. hints in that fixed
 * order, then extras (aligned-pass counts, SES, policy, fixes, records).
 */
void	am_report_json(const struct am_report *, struct am_buf *out);

#endif
