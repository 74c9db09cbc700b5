/*
 * respond-reply.c - what alignmilter-respond says: the human-readable
 * report of a probe's verdict, and the reply message that carries it
 * (RFC 3834: Auto-Submitted, In-Reply-To, References; MIME
 * multipart/mixed of the report, the alignment-log record as
 * application/json, and the probe's header block as text/rfc822-headers).
 *
 * Owns: the report's layout (sections SPF, DKIM, DMARC, Amazon SES, what
 * to fix, the domain grade; prose wrapped at 76 columns, zone-file lines
 * bare at the left margin so that they paste as they are), the subject
 * line, and keeping the reply's header fields clean: everything taken
 * from the probe or the log goes into a header field only through
 * clean(), which drops control characters.
 *
 * Errors: none: composing cannot fail.  Out of memory aborts.
 *
 * Threads: single-threaded program; pure over the caller's data.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/json.h"
#include "util/util.h"
#include "policy/ses.h"

#include "respond-int.h"

#define WRAP	76

/* s without control characters (header-field safe), cut to outlen. */
static void
clean(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < outlen; s++)
		if ((unsigned char)*s >= ' ' && *s != 127)
			out[o++] = *s;
	out[o] = '\0';
}

/* text wrapped at WRAP columns, first line after lead, the rest indented by indent spaces. */
static void
wrap(struct am_buf *b, const char *lead, size_t indent, const char *text)
{
	size_t col = strlen(lead), n;
	bool space = col > 0 && lead[col - 1] != ' ';
	const char *p = text;

	am_buf_adds(b, lead);
	for (;;) {
		while (*p == ' ')
			p++;
		for (n = 0; p[n] != '\0' && p[n] != ' '; n++)
			;
		if (n == 0)
			break;
		if (col > indent && col + (space ? 1 : 0) + n > WRAP) {
			am_buf_addc(b, '\n');
			for (col = 0; col < indent; col++)
				am_buf_addc(b, ' ');
		} else if (space) {
			am_buf_addc(b, ' ');
			col++;
		}
		am_buf_add(b, p, n);
		col += n;
		p += n;
		space = true;
	}
	am_buf_addc(b, '\n');
}

static const char *
yesno(bool b)
{
	return b ? "yes" : "no";
}

/* The overall DKIM word of the subject: pass when a signature passed, else the first's result. */
static const char *
dkim_word(const struct am_verdict *v)
{
	size_t i;

	for (i = 0; i < v->dkim.count; i++)
		if (v->dkim.sig[i].result == AM_DKIM_PASS)
			return "pass";
	return v->dkim.count > 0 ? am_dkim_result_name(v->dkim.sig[0].result) : "none";
}

void
rsp_subject(const struct am_verdict *v, char *buf, size_t buflen)
{
	char dom[AM_DOMAIN_MAX];

	clean(v->from_domain[0] != '\0' ? v->from_domain : "(no From domain)", dom, sizeof(dom));
	snprintf(buf, buflen, "alignmilter verdict for %s: dmarc=%s (spf=%s, dkim=%s)", dom,
	    am_dmarc_result_name(v->dmarc.result), am_spf_result_name(v->spf.result), dkim_word(v));
}

static void
report_spf(struct am_buf *b, const struct am_verdict *v)
{
	char line[1024];

	am_buf_adds(b, "\nSPF\n");
	snprintf(line, sizeof(line), "%s%s", v->spf.domain[0] != '\0' ? v->spf.domain : "(none)",
	    v->spf.helo_identity ? " (the HELO name: the envelope sender was empty)" : " (MAIL FROM)");
	wrap(b, "  domain   ", 11, line);
	snprintf(line, sizeof(line), "  result   %s\n", am_spf_result_name(v->spf.result));
	am_buf_adds(b, line);
	snprintf(line, sizeof(line), "%s (aspf=%c, From domain %s)", yesno(v->spf.aligned),
	    v->dmarc.aspf != '\0' ? v->dmarc.aspf : 'r', v->from_domain);
	wrap(b, "  aligned  ", 11, line);
	if (v->spf.reason[0] != '\0')
		wrap(b, "  reason   ", 11, v->spf.reason);
}

static void
report_dkim(struct am_buf *b, const struct am_verdict *v)
{
	const struct am_dkim_sig *s;
	char line[1024], bits[32], lead[32];
	size_t i;

	am_buf_printf(b, "\nDKIM (%zu signature%s)\n", v->dkim.total, v->dkim.total == 1 ? "" : "s");
	if (v->dkim.count == 0)
		wrap(b, "  ", 2, "The message carries no DKIM signature.");
	for (i = 0; i < v->dkim.count; i++) {
		s = &v->dkim.sig[i];
		if (s->keybits > 0)
			snprintf(bits, sizeof(bits), ", %u-bit key", s->keybits);
		else
			bits[0] = '\0';
		snprintf(line, sizeof(line), "d=%s s=%s %s", s->domain, s->selector, s->algorithm);
		snprintf(lead, sizeof(lead), "  %zu. ", i + 1);
		wrap(b, lead, 5, line);
		snprintf(line, sizeof(line), "result %s, aligned %s%s%s", am_dkim_result_name(s->result),
		    yesno(s->aligned), bits, s->verified ? "" : " (not verified: beyond MaximumSignatures)");
		wrap(b, "     ", 5, line);
		if (s->reason[0] != '\0')
			wrap(b, "     reason: ", 5, s->reason);
	}
	if (v->dkim.total > v->dkim.count)
		am_buf_printf(b, "  (%zu more not recorded)\n", v->dkim.total - v->dkim.count);
}

/* What a receiver enforcing the record would do with this message. */
static const char *
enforcing(const struct am_verdict *v)
{
	if (v->dmarc.result == AM_DMARC_PASS)
		return "accept it: DMARC passed.";
	if (v->dmarc.result != AM_DMARC_FAIL)
		return "apply no DMARC policy: there was no usable result.";
	switch (v->dmarc.disposition) {
	case AM_POLICY_REJECT:
		return "reject it (policy reject).";
	case AM_POLICY_QUARANTINE:
		return "deliver it to spam or quarantine (policy quarantine).";
	default:
		return "deliver it and only report the failure (policy none).";
	}
}

static void
report_dmarc(struct am_buf *b, const struct am_verdict *v)
{
	static const char *const tags[] = { "none", "p", "sp", "np" };
	char line[1024];

	am_buf_adds(b, "\nDMARC\n");
	am_buf_printf(b, "  result   %s\n", am_dmarc_result_name(v->dmarc.result));
	if (v->dmarc.record_found) {
		snprintf(line, sizeof(line), "_dmarc.%s (policy %s from its %s= tag, adkim=%c, aspf=%c, pct=%d)",
		    v->dmarc.record_domain, am_dmarc_policy_name(v->dmarc.policy),
		    tags[v->dmarc.policy_tag <= AM_PTAG_NP ? v->dmarc.policy_tag : 0],
		    v->dmarc.adkim, v->dmarc.aspf, v->dmarc.pct);
		wrap(b, "  record   ", 11, line);
		am_buf_printf(b, "  testing  %s%s\n", yesno(v->dmarc.testing),
		    v->dmarc.testing ? " (t=y: the next lower policy applies)" : "");
	} else
		wrap(b, "  record   ", 11, "none found");
	snprintf(line, sizeof(line), "SPF %s, DKIM %s", v->dmarc.spf_aligned ? "passed aligned" :
	    "did not pass aligned", v->dmarc.dkim_aligned ? "passed aligned" : "did not pass aligned");
	wrap(b, "  why      ", 11, line);
	wrap(b, "  An enforcing receiver would ", 4, enforcing(v));
}

static void
report_ses(struct am_buf *b, const struct am_verdict *v)
{
	char line[512];

	am_buf_adds(b, "\nAmazon SES\n");
	if (!v->ses.is_ses) {
		wrap(b, "  ", 2, "Not recognised as sent through Amazon SES.");
		return;
	}
	snprintf(line, sizeof(line), "Sent through Amazon SES, region %s, with the %s MAIL FROM domain%s%s.",
	    v->ses.region[0] != '\0' ? v->ses.region : "unknown",
	    v->ses.default_mail_from ? "default" : "custom",
	    v->spf.domain[0] != '\0' ? " " : "", v->spf.domain);
	wrap(b, "  ", 2, line);
}

static void
report_hints(struct am_buf *b, const struct am_verdict *v)
{
	char fix[1024], records[4096];
	unsigned h;

	am_buf_adds(b, "\nWhat to fix\n");
	if (v->hints == 0) {
		wrap(b, "  ", 2, "Nothing: no hint applies to this message.");
		return;
	}
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(v->hints & (1u << h)))
			continue;
		am_hint_fix(v, (enum am_hint)h, fix, sizeof(fix));
		am_buf_printf(b, "  [%s]\n", am_hint_name((enum am_hint)h));
		wrap(b, "    ", 4, fix);
		am_hint_records(v, (enum am_hint)h, records, sizeof(records));
		if (records[0] != '\0')
			am_buf_printf(b, "\n%s\n\n", records);	/* bare: they paste into a zone file */
	}
}

/* The domain checker's --json output as text; its raw text if it is not JSON. */
static void
report_grade(struct am_buf *b, const char *grade)
{
	const struct am_json *root, *c, *m, *r;
	struct am_json_doc *doc;
	char err[128], line[1024];

	am_buf_adds(b, "\nDomain grade (alignmilter-check)\n");
	if ((doc = am_json_parse(grade, strlen(grade), err, sizeof(err))) == NULL) {
		am_buf_adds(b, grade);
		if (grade[0] != '\0' && grade[strlen(grade) - 1] != '\n')
			am_buf_addc(b, '\n');
		return;
	}
	root = am_json_root(doc);
	m = am_json_member(root, "grade");
	r = am_json_member(root, "score");
	am_buf_printf(b, "  grade %s", m != NULL && m->type == AM_JSON_STRING ? m->str : "?");
	if (r != NULL && r->type == AM_JSON_NUMBER)
		am_buf_printf(b, " (%s of 100)", r->str);
	am_buf_addc(b, '\n');
	m = am_json_member(root, "checks");
	for (c = m != NULL && m->type == AM_JSON_ARRAY ? m->child : NULL; c != NULL; c = c->next) {
		const struct am_json *name = am_json_member(c, "name"), *st = am_json_member(c, "status"),
		    *detail = am_json_member(c, "detail");

		snprintf(line, sizeof(line), "%s %s: %s",
		    st != NULL && st->type == AM_JSON_STRING ? st->str : "?",
		    name != NULL && name->type == AM_JSON_STRING ? name->str : "?",
		    detail != NULL && detail->type == AM_JSON_STRING ? detail->str : "");
		wrap(b, "  ", 4, line);
		m = am_json_member(c, "records");
		if (m != NULL && m->type == AM_JSON_ARRAY && m->count > 0) {
			am_buf_addc(b, '\n');
			for (r = m->child; r != NULL; r = r->next)
				if (r->type == AM_JSON_STRING)
					am_buf_printf(b, "%s\n", r->str);
			am_buf_addc(b, '\n');
		}
	}
	am_json_free(doc);
}

void
rsp_report(struct am_buf *b, const struct rsp_reply *r)
{
	const struct am_verdict *v = r->v;
	char subject[1024], line[4096];

	rsp_subject(v, subject, sizeof(subject));
	am_buf_printf(b, "%s\n\n", subject);
	snprintf(line, sizeof(line), "Your message %s (Subject: %s) came from %s (HELO %s) with the "
	    "envelope sender <%s>; the receiving server's queue id was %s.",
	    r->probe->message_id[0] != '\0' ? r->probe->message_id : "(no Message-ID)",
	    r->probe->subject, r->client, r->helo, r->sender, r->queue_id);
	wrap(b, "", 0, line);
	am_buf_addc(b, '\n');
	wrap(b, "", 0, r->why);
	report_spf(b, v);
	report_dkim(b, v);
	report_dmarc(b, v);
	report_ses(b, v);
	report_hints(b, v);
	if (r->grade != NULL)
		report_grade(b, r->grade);
	am_buf_adds(b, "\nThe alignment-log record and the header block of your message are\n"
	    "attached.  This is an automatic reply (RFC 3834) to a message sent to\n"
	    "a test address: do not answer it.\n");
}

/* Base64 (RFC 2045 6.8) in lines of 76. */
static void
base64(struct am_buf *b, const unsigned char *p, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;
	unsigned long n;

	for (i = 0; i < len; i += 3) {
		n = (unsigned long)p[i] << 16 | (i + 1 < len ? (unsigned long)p[i + 1] << 8 : 0) |
		    (i + 2 < len ? p[i + 2] : 0);
		am_buf_addc(b, abc[n >> 18 & 63]);
		am_buf_addc(b, abc[n >> 12 & 63]);
		am_buf_addc(b, i + 1 < len ? abc[n >> 6 & 63] : '=');
		am_buf_addc(b, i + 2 < len ? abc[n & 63] : '=');
		if ((col += 4) == WRAP) {
			am_buf_addc(b, '\n');
			col = 0;
		}
	}
	if (col > 0)
		am_buf_addc(b, '\n');
}

/* The probe's Message-ID if it is one "<...>" token, for In-Reply-To. */
static bool
msgid_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 2 && n < 990 && id[0] == '<' && id[n - 1] == '>' && strchr(id + 1, '<') == NULL &&
	    strpbrk(id, " \t\r\n\"") == NULL;
}

void
rsp_compose(struct am_buf *b, const struct rsp_reply *r, const char *report)
{
	char subject[1024], date[64], bound[96], host[AM_DOMAIN_MAX];
	const char *at = strrchr(r->from, '@');
	struct tm tm;

	rsp_subject(r->v, subject, sizeof(subject));
	clean(at != NULL ? at + 1 : "localhost", host, sizeof(host));
	gmtime_r(&r->now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(bound, sizeof(bound), "=_alignmilter-respond_%lld_%ld", (long long)r->now, (long)getpid());
	am_buf_printf(b, "From: alignmilter-respond <%s>\nTo: <%s>\nSubject: %s\nDate: %s\n",
	    r->from, r->to, subject, date);
	am_buf_printf(b, "Message-ID: <alignmilter-respond.%lld.%ld.%s@%s>\n", (long long)r->now,
	    (long)getpid(), r->queue_id, host);
	am_buf_adds(b, "Auto-Submitted: auto-replied\n");
	if (msgid_ok(r->probe->message_id))
		am_buf_printf(b, "In-Reply-To: %s\nReferences: %s\n", r->probe->message_id,
		    r->probe->message_id);
	am_buf_printf(b, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"%s\"\n\n", bound);
	am_buf_adds(b, "This is a MIME message: the report, the alignment-log record, and the\n"
	    "header block of the message it answers.\n");
	am_buf_printf(b, "\n--%s\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n", bound);
	am_buf_adds(b, report);
	am_buf_printf(b, "\n--%s\nContent-Type: application/json; charset=utf-8\n"
	    "Content-Disposition: attachment; filename=\"alignment-log.json\"\n"
	    "Content-Transfer-Encoding: base64\n\n", bound);
	base64(b, (const unsigned char *)r->record, strlen(r->record));
	am_buf_printf(b, "\n--%s\nContent-Type: text/rfc822-headers; charset=utf-8\n"
	    "Content-Disposition: inline\nContent-Transfer-Encoding: 8bit\n\n", bound);
	am_buf_add(b, r->probe->buf, r->probe->header_len);
	am_buf_printf(b, "\n--%s--\n", bound);
}
