/*
 * report-xml.h - DMARC aggregate reports built from the alignment log,
 * in either of two formats (alignmilter-report(1) --dmarc-standard):
 *
 *   rfc9989 (default): RFC 9990, DMARC Aggregate Reporting, the
 *   companion of RFC 9989 (checked against its last draft,
 *   draft-ietf-dmarc-aggregate-reporting-32, and its schema
 *   tests/report/dmarc-xml-0.2.xsd).  One <feedback> document per DMARC
 *   Policy Domain and UTC day (RFC 9990 3.1: "a separate report MUST be
 *   generated for each DMARC Policy Domain"), a record per From domain
 *   and group of messages; the namespace urn:ietf:params:xml:ns:dmarc-2.0;
 *   policy_published with discovery_method, p, sp, np, adkim, aspf and
 *   testing (no pct); messages that found no DMARC record have no Policy
 *   Domain and are not reported.
 *
 *   rfc7489: RFC 7489 section 7.2 and Appendix C, byte for byte what
 *   alignmilter-report wrote before RFC 9990: one document per From
 *   domain and UTC day, messages without a record under p=none.
 *
 * Owns: grouping messages into documents and rows (source IP,
 * disposition, the DMARC-aligned DKIM/SPF results, the raw auth_results:
 * DKIM d=/s=/result of every signature, SPF domain/scope/result);
 * policy_published from the newest message of the group that found a
 * DMARC record; file names "<receiver>!<domain>!<begin>!<end>.xml" with
 * begin/end the day's first and last second.  Messages without a From
 * domain have no policy domain and are not reported.
 *
 * Errors: nothing is logged; am_dmarcxml_write() returns -1 with err when
 * the directory cannot be made or a file not written (files already
 * written stay).  Out of memory aborts.
 *
 * Threads: any; a struct am_dmarcxml belongs to its caller.
 */
#ifndef AM_REPORT_XML_H
#define AM_REPORT_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth/dmarc.h"
#include "auth/verdict.h"

struct am_dmarcxml;

/* AM_DMARC_RFC9989: RFC 9990 documents; AM_DMARC_RFC7489: RFC 7489's. */
struct am_dmarcxml *am_dmarcxml_new(enum am_dmarc_standard);
void	am_dmarcxml_free(struct am_dmarcxml *);
void	am_dmarcxml_add(struct am_dmarcxml *, const struct am_verdict *);
/* Messages not reportable: no From domain; (RFC 9990) no DMARC record. */
unsigned long am_dmarcxml_skipped(const struct am_dmarcxml *);
unsigned long am_dmarcxml_no_policy(const struct am_dmarcxml *);
/*
 * Write every report into dir (created if missing).  org and email go to
 * report_metadata; the receiver in file names is email's domain.
 * Returns the number of files written, or -1 with a reason in err.
 */
int	am_dmarcxml_write(const struct am_dmarcxml *, const char *dir, const char *org,
	    const char *email, char *err, size_t errlen);

/* One rendered report, as am_dmarcxml_each() hands it over (valid during the call). */
struct am_dmarcxml_report {
	const char *domain;		/* the report's domain (RFC 9990: the Policy Domain) */
	const char *org_domain;		/* its organizational domain as logged; "" when not */
	time_t	begin, end;		/* the UTC day's first and last second */
	const char *file_name;		/* "receiver!domain!begin!end[!unique].xml" */
	bool	name_ok;		/* false: the name did not fit (not unique; do not use) */
	const char *xml;
	size_t	len;
	unsigned long messages;		/* the messages it counts */
};
/* Return false to stop. */
typedef bool (*am_dmarcxml_fn)(void *arg, const struct am_dmarcxml_report *);
/*
 * Render every report, by domain then day, and hand each to fn.  Returns
 * the number handed over, or -1 when fn stopped the walk.
 */
int	am_dmarcxml_each(const struct am_dmarcxml *, const char *org, const char *email,
	    am_dmarcxml_fn fn, void *arg);

#endif
