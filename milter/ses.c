/*
 * ses.c - recognising Amazon SES mail and naming what a sender got wrong
 * (see ses.h).  Each hint is one small predicate over the verdict.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ses.h"
#include "util.h"

#define SES_DOMAIN "amazonses.com"

static const char *const hint_names[AM_HINT_COUNT] = {
	[AM_HINT_SES_DEFAULT_MAIL_FROM] = "ses-default-mail-from",
	[AM_HINT_ASPF_STRICT_SUBDOMAIN] = "aspf-strict-subdomain",
	[AM_HINT_SES_NO_EASY_DKIM] = "ses-no-easy-dkim",
	[AM_HINT_DKIM_KEY_NOT_FOUND] = "dkim-key-not-found",
	[AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX] = "dkim-cname-duplicated-suffix",
	[AM_HINT_DMARC_SINGLE_MECHANISM] = "dmarc-single-mechanism",
	[AM_HINT_DMARC_POLICY_NONE] = "dmarc-policy-none",
	[AM_HINT_DMARC_NO_RECORD] = "dmarc-no-record",
	[AM_HINT_FROM_INVALID] = "from-header-invalid",
	[AM_HINT_DMARC_MULTIPLE_RECORDS] = "dmarc-multiple-records",
};

const char *
am_hint_name(enum am_hint h)
{
	return (unsigned)h < AM_HINT_COUNT ? hint_names[h] : "unknown";
}

/* The domain of an envelope address ("" for the null sender). */
static const char *
envelope_domain(const struct am_verdict *v)
{
	const char *at = strrchr(v->mail_from, '@');

	return at != NULL ? at + 1 : "";
}

/* "us-east-1", "eu-west-2", "us-gov-west-1": a plausible AWS region name. */
static bool
looks_like_region(const char *s, size_t len)
{
	size_t i, dashes = 0;

	if (len < 6 || len > 24 || !isdigit((unsigned char)s[len - 1]))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '-')
			dashes++;
		else if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	}
	return dashes >= 2;
}

/* Region from "<region>.amazonses.com" (the envelope domain). */
static bool
region_from_envelope(const char *domain, char *region, size_t regionlen)
{
	size_t dl = strlen(domain), sl = strlen("." SES_DOMAIN);
	const char *start;

	if (dl <= sl || strcasecmp(domain + dl - sl, "." SES_DOMAIN) != 0)
		return false;
	start = domain + dl - sl;
	while (start > domain && start[-1] != '.')
		start--;
	if (!looks_like_region(start, (size_t)(domain + dl - sl - start)))
		return false;
	snprintf(region, regionlen, "%.*s", (int)(domain + dl - sl - start), start);
	return true;
}

static bool
has_ses_signature(const struct am_verdict *v)
{
	size_t i;

	for (i = 0; i < v->dkim.count; i++)
		if (am_domain_is_under(v->dkim.sig[i].domain, SES_DOMAIN))
			return true;
	return false;
}

static void
recognise_ses(struct am_verdict *v)
{
	const char *env = envelope_domain(v);
	struct am_ses_verdict *s = &v->ses;

	memset(s, 0, sizeof(*s));
	s->default_mail_from = am_domain_is_under(env, SES_DOMAIN);
	s->is_ses = s->default_mail_from || has_ses_signature(v) || v->has_feedback_id ||
	    v->has_x_ses_outgoing;
	if (!s->is_ses) {
		s->default_mail_from = false;
		return;
	}
	if (!region_from_envelope(env, s->region, sizeof(s->region)))
		am_strlcpy(s->region, v->feedback_id_region, sizeof(s->region));
}

/* Is any signature's d= relaxed-aligned with From, whatever its result? */
static bool
has_signature_for_from(const am_dmarc *dm, const struct am_verdict *v)
{
	size_t i;

	for (i = 0; i < v->dkim.count; i++)
		if (am_dmarc_aligned(dm, v->from_domain, v->dkim.sig[i].domain, false))
			return true;
	return false;
}

static bool
any_sig(const struct am_verdict *v, bool (*pred)(const struct am_dkim_sig *))
{
	size_t i;

	for (i = 0; i < v->dkim.count; i++)
		if (pred(&v->dkim.sig[i]))
			return true;
	return false;
}

static bool sig_key_missing(const struct am_dkim_sig *s) { return s->key_not_found; }
static bool sig_dup_suffix(const struct am_dkim_sig *s) { return s->duplicated_suffix; }

static void
set_hint(struct am_verdict *v, enum am_hint h, bool when)
{
	if (when)
		v->hints |= 1u << h;
}

void
am_ses_analyse(const am_dmarc *dm, struct am_verdict *v)
{
	const struct am_dmarc_verdict *d = &v->dmarc;
	bool from_ok = v->from_status == AM_FROM_OK && v->from_domain[0] != '\0';
	bool spf_pass = v->spf.result == AM_SPF_PASS;

	recognise_ses(v);
	v->hints = 0;
	set_hint(v, AM_HINT_FROM_INVALID, !from_ok);
	set_hint(v, AM_HINT_SES_DEFAULT_MAIL_FROM, v->ses.is_ses && spf_pass &&
	    am_domain_is_under(v->spf.domain, SES_DOMAIN) && !v->spf.aligned);
	set_hint(v, AM_HINT_ASPF_STRICT_SUBDOMAIN, from_ok && spf_pass && d->record_found &&
	    d->aspf == 's' && !v->spf.aligned &&
	    am_dmarc_aligned(dm, v->from_domain, v->spf.domain, false));
	set_hint(v, AM_HINT_SES_NO_EASY_DKIM, v->ses.is_ses && from_ok && !has_signature_for_from(dm, v));
	set_hint(v, AM_HINT_DKIM_KEY_NOT_FOUND, any_sig(v, sig_key_missing));
	set_hint(v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, any_sig(v, sig_dup_suffix));
	set_hint(v, AM_HINT_DMARC_SINGLE_MECHANISM, d->result == AM_DMARC_PASS &&
	    d->spf_aligned != d->dkim_aligned);
	set_hint(v, AM_HINT_DMARC_POLICY_NONE, d->record_found && d->policy == AM_POLICY_NONE);
	set_hint(v, AM_HINT_DMARC_NO_RECORD, from_ok && !d->record_found && !d->multiple_records &&
	    d->result == AM_DMARC_NONE);
	set_hint(v, AM_HINT_DMARC_MULTIPLE_RECORDS, from_ok && d->multiple_records);
}

/* First signature matching pred, for naming selector and domain in fixes. */
static const struct am_dkim_sig *
first_sig(const struct am_verdict *v, bool (*pred)(const struct am_dkim_sig *))
{
	size_t i;

	for (i = 0; i < v->dkim.count; i++)
		if (pred(&v->dkim.sig[i]))
			return &v->dkim.sig[i];
	return NULL;
}

void
am_hint_fix(const struct am_verdict *v, enum am_hint h, char *buf, size_t buflen)
{
	const char *from = v->from_domain[0] ? v->from_domain : "<domain>";
	const char *region = v->ses.region[0] ? v->ses.region : "<region>";
	const struct am_dkim_sig *s;

	switch (h) {
	case AM_HINT_SES_DEFAULT_MAIL_FROM:
		snprintf(buf, buflen, "SPF passes only for SES's own domain %s, which never aligns with %s: "
		    "set a custom MAIL FROM domain such as mail.%s and publish "
		    "\"mail.%s. MX 10 feedback-smtp.%s.amazonses.com.\" and "
		    "\"mail.%s. TXT \\\"v=spf1 include:amazonses.com ~all\\\"\"",
		    v->spf.domain, from, from, from, region, from);
		break;
	case AM_HINT_ASPF_STRICT_SUBDOMAIN:
		snprintf(buf, buflen, "SPF passes for %s but the DMARC record of %s says aspf=s, so the "
		    "subdomain does not align: drop aspf=s from _dmarc.%s (relaxed is the default)",
		    v->spf.domain, from, v->dmarc.record_domain[0] ? v->dmarc.record_domain : from);
		break;
	case AM_HINT_SES_NO_EASY_DKIM:
		snprintf(buf, buflen, "no DKIM signature for %s, only SES's own: verify the domain identity "
		    "with Easy DKIM in SES and publish its three CNAME records "
		    "\"<token>._domainkey.%s. CNAME <token>.dkim.amazonses.com.\"", from, from);
		break;
	case AM_HINT_DKIM_KEY_NOT_FOUND:
		s = first_sig(v, sig_key_missing);
		snprintf(buf, buflen, "the DKIM key record %s._domainkey.%s does not exist: publish it "
		    "(for SES Easy DKIM a CNAME to %s.dkim.amazonses.com.)",
		    s ? s->selector : "<selector>", s ? s->domain : from, s ? s->selector : "<selector>");
		break;
	case AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX:
		s = first_sig(v, sig_dup_suffix);
		snprintf(buf, buflen, "the key was published at %s._domainkey.%s.%s: the DNS provider "
		    "appended the domain twice; re-enter the host as \"%s._domainkey\" without the domain",
		    s ? s->selector : "<selector>", s ? s->domain : from, s ? s->domain : from,
		    s ? s->selector : "<selector>");
		break;
	case AM_HINT_DMARC_SINGLE_MECHANISM:
		if (v->dmarc.spf_aligned)
			snprintf(buf, buflen, "DMARC passes on SPF alone: sign with DKIM as %s too "
			    "(for SES, Easy DKIM), since forwarding breaks SPF", from);
		else
			snprintf(buf, buflen, "DMARC passes on DKIM alone: align SPF too with a custom MAIL FROM "
			    "under %s (for SES, e.g. mail.%s), since a forwarder or list that breaks DKIM sinks DMARC",
			    from, from);
		break;
	case AM_HINT_DMARC_POLICY_NONE:
		snprintf(buf, buflen, "p=none is monitoring only: move _dmarc.%s to p=quarantine, then p=reject, "
		    "once every sending stream aligns", v->dmarc.record_domain[0] ? v->dmarc.record_domain : from);
		break;
	case AM_HINT_DMARC_NO_RECORD:
		snprintf(buf, buflen, "no DMARC record: publish \"_dmarc.%s. TXT \\\"v=DMARC1; p=none; "
		    "rua=mailto:dmarc-reports@%s\\\"\"", from, from);
		break;
	case AM_HINT_DMARC_MULTIPLE_RECORDS:
		snprintf(buf, buflen, "more than one v=DMARC1 record at _dmarc.%s, so no policy applies: "
		    "remove all but one", v->dmarc.record_domain[0] ? v->dmarc.record_domain : from);
		break;
	case AM_HINT_FROM_INVALID:
		snprintf(buf, buflen, "%s", v->from_status == AM_FROM_MULTIPLE ?
		    "more than one From address or header: DMARC needs exactly one" :
		    v->from_status == AM_FROM_MISSING ? "no From header: DMARC needs exactly one" :
		    "the From header has no usable domain");
		break;
	case AM_HINT_COUNT:
	default:
		snprintf(buf, buflen, "unknown hint");
		break;
	}
}
