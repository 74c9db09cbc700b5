/*
 * report-mime.c - an aggregate report as an email message (see
 * report-mime.h, which also says how it fails and who may call it).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

/* Utility library. */
#include "util/util.h"

/* Application-specific. */
#include "report-mime.h"

bool
am_reportmime_gzip(const void *data, size_t len, struct am_buf *out, char *err, size_t errlen)
{
	unsigned char chunk[16384];
	z_stream z;
	int rc;

	am_buf_reset(out);
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip wrapper (RFC 1952), not zlib's own. */
	if ((rc = deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)) != Z_OK) {
		snprintf(err, errlen, "zlib: deflateInit2: %d", rc);
		return false;
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	if ((size_t)z.avail_in != len) {
		deflateEnd(&z);
		snprintf(err, errlen, "zlib: report of %zu bytes is too large", len);
		return false;
	}
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR) {
			deflateEnd(&z);
			snprintf(err, errlen, "zlib: deflate failed");
			return false;
		}
		am_buf_add(out, (const char *)chunk, sizeof(chunk) - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return true;
}

static void
base64(struct am_buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		am_buf_addc(b, tab[v >> 18 & 63]);
		am_buf_addc(b, tab[v >> 12 & 63]);
		am_buf_addc(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		am_buf_addc(b, i + 2 < n ? tab[v & 63] : '=');
		/* RFC 2045 6.8: lines of at most 76 characters. */
		if ((col += 4) == 76) {
			am_buf_addc(b, '\n');
			col = 0;
		}
	}
	if (col > 0)
		am_buf_addc(b, '\n');
}

/* The RFC 5322 date-time, or the UTC day alone. */
static void
utc(time_t t, bool date_time, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (date_time)
		strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	else
		strftime(out, outlen, "%Y-%m-%d", &tm);
}

/* 32 bits of FNV-1a: a short tag that tells destinations apart in the Message-ID. */
static unsigned long
fnv(const char *s)
{
	unsigned long h = 2166136261UL;

	for (; *s; s++)
		h = ((h ^ (unsigned char)*s) * 16777619UL) & 0xffffffffUL;
	return h;
}

/* A display name as an RFC 5322 quoted-string: printable ASCII only, so no header can be forged. */
static void
quoted(struct am_buf *b, const char *s)
{
	am_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, c >= ' ' && c < 127 ? (char)c : '?');
	}
	am_buf_addc(b, '"');
}

void
am_reportmime_build(const struct am_reportmime *m, const void *gz, size_t gzlen, struct am_buf *b)
{
	char date[64], day[32], boundary[64];
	const char *at = strrchr(m->report_id, '@');

	am_buf_reset(b);
	utc(m->date, true, date, sizeof(date));
	utc(m->begin, false, day, sizeof(day));
	/* Base64 has no '_' and the note is ours: the boundary cannot occur inside. */
	snprintf(boundary, sizeof(boundary), "=_alignmilter_report_%08lx", fnv(m->file_name));
	am_buf_adds(b, "From: ");
	if (m->from_name[0] != '\0') {
		quoted(b, m->from_name);
		am_buf_addc(b, ' ');
	}
	am_buf_printf(b, "<%s>\n", m->from);
	am_buf_printf(b, "To: <%s>\n", m->to);
	/* 3.5.2's dmarc-subject, folded as the draft's example. */
	am_buf_printf(b, "Subject: Report Domain: %s\n Submitter: %s\n Report-ID: <%s>\n",
	    m->domain, m->submitter, m->report_id);
	am_buf_printf(b, "Date: %s\n", date);
	/* 3.5.2: the Report-ID may be part of the Message-ID; one per destination. */
	am_buf_printf(b, "Message-ID: <%.*s.%08lx%s>\n", at != NULL ? (int)(at - m->report_id) :
	    (int)strlen(m->report_id), m->report_id, fnv(m->to), at != NULL ? at : "@localhost");
	am_buf_adds(b, "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n");
	am_buf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n", boundary);
	am_buf_adds(b, "This is a DMARC aggregate report in MIME format.\n\n");
	am_buf_printf(b, "--%s\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n\n", boundary);
	am_buf_printf(b, "DMARC aggregate report (RFC 9990) for the domain %s\n"
	    "from %s, for the UTC day %s: %lu message%s.\n"
	    "The report is the attached file %s.\n\n", m->domain, m->submitter, day, m->messages,
	    m->messages == 1 ? "" : "s", m->file_name);
	am_buf_printf(b, "--%s\nContent-Type: application/gzip; name=\"%s\"\n"
	    "Content-Disposition: attachment; filename=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\n\n", boundary, m->file_name, m->file_name);
	base64(b, gz, gzlen);
	am_buf_printf(b, "\n--%s--\n", boundary);
}
