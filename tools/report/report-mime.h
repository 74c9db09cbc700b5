/*
 * report-mime.h - one aggregate report as an email message
 * (draft-ietf-dmarc-aggregate-reporting-32 section 3.5.2, "Email"; RFC
 * 9990 follows it).
 *
 * Owns: gzip (RFC 1952, through zlib) of the XML, and the RFC 5322 /
 * RFC 2045 message: From, To, Date, Message-ID, the Subject "Report
 * Domain: <policy-domain> Submitter: <receiver> Report-ID: <id>" folded
 * as the draft shows, multipart/mixed with a text/plain note and the
 * report as an application/gzip attachment named
 * "<receiver>!<policy-domain>!<begin>!<end>[!unique].xml.gz", base64
 * in lines of 76.  Lines end in LF: sendmail(1) takes local mail so.
 *
 * Errors: am_reportmime_gzip() returns false with err (zlib); building
 * cannot fail.  Nothing is logged.  Out of memory aborts.
 *
 * Threads: any; nothing is shared.
 */
#ifndef AM_REPORT_MIME_H
#define AM_REPORT_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/util.h"

/* gzip of data[0..len) into out (reset first); false with err. */
bool	am_reportmime_gzip(const void *data, size_t len, struct am_buf *out, char *err, size_t errlen);

struct am_reportmime {
	const char *from;		/* ReportFrom: local@domain */
	const char *from_name;		/* display name (the organisation); may be "" */
	const char *to;			/* the destination mailbox */
	const char *domain;		/* the Policy Domain */
	const char *submitter;		/* the receiver's domain name */
	const char *report_id;		/* as in the XML's report_id */
	const char *file_name;		/* the attachment's name, ".xml.gz" */
	time_t	begin, end, date;	/* the report's range; the Date field */
	unsigned long messages;		/* for the text note */
};

/* The whole message into out (reset first). */
void	am_reportmime_build(const struct am_reportmime *, const void *gz, size_t gzlen, struct am_buf *out);

#endif
