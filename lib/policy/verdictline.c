/*
 * verdictline.c - the one-line syslog verdict (see verdictline.h):
 *
 *   4Fx1: from=example.com client=54.240.8.1 spf=pass (mailfrom=us-east-1.amazonses.com, unaligned)
 *   dkim=pass (example.com/token1, aligned) dkim=pass (amazonses.com/224i4yxa, unaligned)
 *   dmarc=pass (p=none dis=none) sender=ses region=us-east-1 mail_from=default
 *   hints=ses-default-mail-from,dmarc-single-mechanism,dmarc-policy-none
 *
 * Errors and threads: see verdictline.h.
 */
#include "config.h"

#include <string.h>

/* Policy and renderers. */
#include "policy/ses.h"
#include "policy/verdictline.h"

/* Printable ASCII as is; anything else as \xHH, so a line stays one line. */
static void
add_safe(struct am_buf *b, const char *s)
{
	const unsigned char *p;

	if (*s == '\0') {
		am_buf_adds(b, "-");
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x21 && *p < 0x7f && *p != '\\')
			am_buf_addc(b, (char)*p);
		else
			am_buf_printf(b, "\\x%02x", *p);
	}
}

static const char *
aligned_word(bool aligned)
{
	return aligned ? "aligned" : "unaligned";
}

void
am_verdictline_render(const struct am_verdict *v, struct am_buf *b)
{
	size_t i;
	unsigned h;
	bool first = true;

	am_buf_reset(b);
	add_safe(b, v->queue_id[0] ? v->queue_id : "NOQUEUE");
	am_buf_adds(b, ": from=");
	add_safe(b, v->from_domain);
	am_buf_adds(b, " client=");
	add_safe(b, v->client_ip);
	am_buf_printf(b, " spf=%s (%s=", am_spf_result_name(v->spf.result),
	    v->spf.helo_identity ? "helo" : "mailfrom");
	add_safe(b, v->spf.domain);
	am_buf_printf(b, ", %s)", aligned_word(v->spf.aligned));
	if (v->dkim.count == 0)
		am_buf_adds(b, " dkim=none");
	for (i = 0; i < v->dkim.count; i++) {
		am_buf_printf(b, " dkim=%s (", am_dkim_result_name(v->dkim.sig[i].result));
		add_safe(b, v->dkim.sig[i].domain);
		am_buf_addc(b, '/');
		add_safe(b, v->dkim.sig[i].selector);
		am_buf_printf(b, ", %s)", aligned_word(v->dkim.sig[i].aligned));
	}
	am_buf_printf(b, " dmarc=%s (p=%s dis=%s)", am_dmarc_result_name(v->dmarc.result),
	    am_dmarc_policy_name(v->dmarc.policy), am_dmarc_policy_name(v->dmarc.disposition));
	am_buf_printf(b, " sender=%s", v->ses.is_ses ? "ses" : "other");
	if (v->ses.is_ses) {
		am_buf_adds(b, " region=");
		add_safe(b, v->ses.region);
		am_buf_printf(b, " mail_from=%s", v->ses.default_mail_from ? "default" : "custom");
	}
	am_buf_adds(b, " hints=");
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(v->hints & (1u << h)))
			continue;
		am_buf_printf(b, "%s%s", first ? "" : ",", am_hint_name((enum am_hint)h));
		first = false;
	}
	if (first)
		am_buf_adds(b, "-");
}
