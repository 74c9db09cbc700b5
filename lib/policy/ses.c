/*
 * ses.c - recognising Amazon SES mail and naming what a sender got wrong
 * (see ses.h).  Each hint is one small predicate over the verdict; its
 * fix is words (am_hint_fix) plus, when the fix is a record to publish,
 * zone-file lines (am_hint_records) that a renderer prints on their own.
 * Errors and threads: see ses.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* Policy and renderers. */
#include "policy/ses.h"

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
	[AM_HINT_DKIM_ALIGNED_SIG_FAILED] = "dkim-aligned-signature-failed",
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


/* ---- the hints -------------------------------------------------------------- */

/*
 * Relaxed alignment of an identifier with From, as the standard in force
 * has it: RFC 7489's Public Suffix List, or the flag RFC 9989's tree
 * walks left in the verdict (dmarc-bis.c).
 */
static bool
relaxed(const am_dmarc *dm, const struct am_verdict *v, const char *id, bool walked)
{
	if (am_dmarc_standard_of(dm) == AM_DMARC_RFC7489)
		return am_dmarc_aligned(dm, v->from_domain, id, false);
	return walked;
}

/* Is any signature's d= relaxed-aligned with From, whatever its result? */
static bool
has_signature_for_from(const am_dmarc *dm, const struct am_verdict *v)
{
	size_t i;

	for (i = 0; i < v->dkim.count && i < AM_DKIM_REPORT_MAX; i++)
		if (relaxed(dm, v, v->dkim.sig[i].domain, v->dkim.sig[i].aligned_relaxed))
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
static bool sig_aligned_pass(const struct am_dkim_sig *s) { return s->aligned && s->result == AM_DKIM_PASS; }
/* fail only: a broken signature.  permerror/temperror are key or DNS trouble. */
static bool sig_aligned_fail(const struct am_dkim_sig *s) { return s->aligned && s->result == AM_DKIM_FAIL; }

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
	    relaxed(dm, v, v->spf.domain, v->spf.aligned_relaxed));
	/* Any d= of the From organization, even a failing one: Easy DKIM is set up. */
	set_hint(v, AM_HINT_SES_NO_EASY_DKIM, v->ses.is_ses && from_ok && !has_signature_for_from(dm, v));
	set_hint(v, AM_HINT_DKIM_KEY_NOT_FOUND, any_sig(v, sig_key_missing));
	set_hint(v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, any_sig(v, sig_dup_suffix));
	set_hint(v, AM_HINT_DMARC_SINGLE_MECHANISM, d->result == AM_DMARC_PASS &&
	    d->spf_aligned != d->dkim_aligned);
	set_hint(v, AM_HINT_DMARC_POLICY_NONE, d->record_found && d->policy == AM_POLICY_NONE);
	set_hint(v, AM_HINT_DMARC_NO_RECORD, from_ok && !d->record_found && !d->multiple_records &&
	    d->result == AM_DMARC_NONE);
	set_hint(v, AM_HINT_DMARC_MULTIPLE_RECORDS, from_ok && d->multiple_records);
	/* Only when it cost DKIM its say in DMARC: no aligned signature passed. */
	set_hint(v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, any_sig(v, sig_aligned_fail) &&
	    !any_sig(v, sig_aligned_pass));
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

/* ---- fixes in words ----------------------------------------------------------- */

static const char *
from_name(const struct am_verdict *v)
{
	return v->from_domain[0] ? v->from_domain : "<domain>";
}

static const char *
record_domain(const struct am_verdict *v)
{
	return v->dmarc.record_domain[0] ? v->dmarc.record_domain : from_name(v);
}

/* What changed the message, by the reason the verifier gave (dkim.c). */
static const char *
broken_signature_cause(const char *reason)
{
	if (strcmp(reason, "body hash mismatch") == 0)
		return "the body was changed after signing, e.g. by a mailing-list footer, a security "
		    "gateway's banner or link rewriting, or re-encoding";
	if (strcmp(reason, "signature did not verify") == 0)
		return "a signed header field was changed after signing, e.g. by a mailing-list subject "
		    "tag or a gateway rewriting headers, or the published key is not the signing key";
	return "the message was changed after signing, e.g. by a mailing-list footer or subject tag, "
	    "a security gateway, or re-encoding";
}

static void
fix_aligned_sig_failed(const struct am_verdict *v, char *buf, size_t buflen)
{
	const struct am_dkim_sig *s = first_sig(v, sig_aligned_fail);
	const char *reason = s != NULL ? s->reason : "";

	snprintf(buf, buflen, "the DKIM signature d=%s s=%s aligns with %s but failed%s%s%s: %s; "
	    "sign after the last change, or exempt this stream from it",
	    s ? s->domain : "<domain>", s ? s->selector : "<selector>", from_name(v),
	    reason[0] ? " (" : "", reason, reason[0] ? ")" : "", broken_signature_cause(reason));
}

static void
fix_single_mechanism(const struct am_verdict *v, char *buf, size_t buflen)
{
	const char *from = from_name(v);
	const struct am_dkim_sig *s;

	if (v->dmarc.spf_aligned && (s = first_sig(v, sig_aligned_fail)) != NULL)
		snprintf(buf, buflen, "DMARC passes on SPF alone: the DKIM signature d=%s aligns but "
		    "failed (see dkim-aligned-signature-failed), and forwarding breaks SPF", s->domain);
	else if (v->dmarc.spf_aligned)
		snprintf(buf, buflen, "DMARC passes on SPF alone: sign with DKIM as %s too "
		    "(for SES, Easy DKIM), since forwarding breaks SPF", from);
	else if (v->spf.aligned)
		snprintf(buf, buflen, "DMARC passes on DKIM alone: SPF for %s aligns with %s but gave %s: "
		    "list the sending servers in its SPF record, since a forwarder or list that breaks "
		    "DKIM sinks DMARC", v->spf.domain, from, am_spf_result_name(v->spf.result));
	else
		snprintf(buf, buflen, "DMARC passes on DKIM alone: align SPF too with a custom MAIL FROM "
		    "under %s (for SES, e.g. mail.%s), since a forwarder or list that breaks DKIM sinks DMARC",
		    from, from);
}

static void
fix_dkim_key(const struct am_verdict *v, enum am_hint h, char *buf, size_t buflen)
{
	const struct am_dkim_sig *s = first_sig(v, h == AM_HINT_DKIM_KEY_NOT_FOUND ?
	    sig_key_missing : sig_dup_suffix);
	const char *sel = s ? s->selector : "<selector>", *dom = s ? s->domain : from_name(v);

	if (h == AM_HINT_DKIM_KEY_NOT_FOUND)
		snprintf(buf, buflen, "the DKIM key record %s._domainkey.%s does not exist: publish it "
		    "(%s%s%s)", sel, dom, v->ses.is_ses ? "for SES Easy DKIM, a CNAME to " :
		    "a TXT record with the signer's public key", v->ses.is_ses ? sel : "",
		    v->ses.is_ses ? ".dkim.amazonses.com" : "");
	else
		snprintf(buf, buflen, "the key was published at %s._domainkey.%s.%s: the DNS provider "
		    "appended the domain twice; re-enter the host as \"%s._domainkey\" without the domain",
		    sel, dom, dom, sel);
}

void
am_hint_fix(const struct am_verdict *v, enum am_hint h, char *buf, size_t buflen)
{
	const char *from = from_name(v);

	switch (h) {
	case AM_HINT_SES_DEFAULT_MAIL_FROM:
		snprintf(buf, buflen, "SPF passes only for SES's own domain %s, which never aligns with %s: "
		    "set a custom MAIL FROM domain such as mail.%s in SES and publish its MX and SPF records",
		    v->spf.domain, from, from);
		break;
	case AM_HINT_ASPF_STRICT_SUBDOMAIN:
		snprintf(buf, buflen, "SPF passes for %s but the DMARC record of %s says aspf=s, so the "
		    "subdomain does not align: drop aspf=s from _dmarc.%s (relaxed is the default)",
		    v->spf.domain, from, record_domain(v));
		break;
	case AM_HINT_SES_NO_EASY_DKIM:
		snprintf(buf, buflen, "no DKIM signature for %s, only SES's own: verify the domain identity "
		    "with Easy DKIM in SES and publish the three CNAME records it shows, one per token", from);
		break;
	case AM_HINT_DKIM_KEY_NOT_FOUND:
	case AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX:
		fix_dkim_key(v, h, buf, buflen);
		break;
	case AM_HINT_DMARC_SINGLE_MECHANISM:
		fix_single_mechanism(v, buf, buflen);
		break;
	case AM_HINT_DMARC_POLICY_NONE:
		snprintf(buf, buflen, "p=none is monitoring only: move _dmarc.%s to p=quarantine, then p=reject, "
		    "once every sending stream aligns", record_domain(v));
		break;
	case AM_HINT_DMARC_NO_RECORD:
		snprintf(buf, buflen, "no DMARC record: publish one at _dmarc.%s, monitoring (p=none) with "
		    "aggregate reports to start with", from);
		break;
	case AM_HINT_DMARC_MULTIPLE_RECORDS:
		/* RFC 9989 4.10 step 2: the walk discards them and goes on to the parents. */
		if (v->dmarc.discovery == AM_DISCOVERY_TREEWALK || v->dmarc.result != AM_DMARC_NONE)
			snprintf(buf, buflen, "more than one v=DMARC1 record at _dmarc.%s, so all of "
			    "them are ignored: remove all but one", from_name(v));
		else
			snprintf(buf, buflen, "more than one v=DMARC1 record at _dmarc.%s, so no policy "
			    "applies: remove all but one", record_domain(v));
		break;
	case AM_HINT_FROM_INVALID:
		snprintf(buf, buflen, "%s", v->from_status == AM_FROM_MULTIPLE ?
		    "more than one From address or header: DMARC needs exactly one" :
		    v->from_status == AM_FROM_MISSING ? "no From header: DMARC needs exactly one" :
		    v->n_author_domains > 0 ? "the From header does not parse (RFC 5322 3.4): quote a "
		    "display name with commas or dots and close every comment; DMARC judged each "
		    "domain in it and kept the strictest" :
		    "the From header has no usable domain");
		break;
	case AM_HINT_DKIM_ALIGNED_SIG_FAILED:
		fix_aligned_sig_failed(v, buf, buflen);
		break;
	case AM_HINT_COUNT:
	default:
		snprintf(buf, buflen, "unknown hint");
		break;
	}
}

/* ---- fixes as zone-file lines ------------------------------------------------ */

/*
 * A name that can stand in a zone file as is: ASCII letters, digits, '-'
 * and '_', labels of 1..63 octets, 253 in all.  The placeholders "<token>"
 * and "<region>" are allowed as whole labels: the reader replaces them.
 * Anything else (a From domain with a quote, a space, a control byte)
 * gets no record line, so a printed line is never a broken one.
 */
static size_t
placeholder_len(const char *s)
{
	if (strncmp(s, "<token>", 7) == 0)
		return 7;
	return strncmp(s, "<region>", 8) == 0 ? 8 : 0;
}

static bool
zone_name_ok(const char *name)
{
	size_t i, n, label = 0;

	if (name[0] == '\0' || strlen(name) > 253)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (label == 0 && (n = placeholder_len(name + i)) > 0) {
			label = n;
			i += n - 1;
		} else if (!(isalnum(c) || c == '-' || c == '_') || ++label > 63)
			return false;
	}
	return label > 0;
}

/*
 * One line "owner. TYPE data" appended to buf (lines "\n" separated) when
 * the names are clean and the whole line fits: never half a record.
 */
static void
zone_line(char *buf, size_t buflen, const char *owner, const char *type, const char *pre,
    const char *target, const char *post)
{
	char line[AM_DOMAIN_MAX * 2 + 128];
	int n;

	if (!zone_name_ok(owner) || (target != NULL && !zone_name_ok(target)))
		return;
	n = snprintf(line, sizeof(line), "%s%s. %s %s%s%s", buf[0] ? "\n" : "", owner, type, pre,
	    target ? target : "", post);
	if (n > 0 && (size_t)n < sizeof(line) && strlen(buf) + (size_t)n < buflen)
		am_strlcat(buf, line, buflen);
}

/* "<label>.<domain>" into out; "" when it does not fit. */
static void
name_under(char *out, size_t outlen, const char *label, const char *domain)
{
	if ((size_t)snprintf(out, outlen, "%s.%s", label, domain) >= outlen)
		out[0] = '\0';
}

static void
records_mail_from(const struct am_verdict *v, char *buf, size_t buflen)
{
	char owner[AM_DOMAIN_MAX], mx[AM_DOMAIN_MAX];
	const char *region = looks_like_region(v->ses.region, strlen(v->ses.region)) ?
	    v->ses.region : "<region>";

	name_under(owner, sizeof(owner), "mail", v->from_domain);
	if (!zone_name_ok(owner))
		return;
	snprintf(mx, sizeof(mx), "feedback-smtp.%s.amazonses.com", region);
	zone_line(buf, buflen, owner, "MX", "10 ", mx, ".");
	zone_line(buf, buflen, owner, "TXT", "\"v=spf1 include:amazonses.com ~all\"", NULL, "");
}

/* The Easy DKIM CNAME of selector sel under domain (SES mail only). */
static void
records_easy_dkim(char *buf, size_t buflen, const char *sel, const char *domain)
{
	char owner[AM_DOMAIN_MAX], target[AM_DOMAIN_MAX], label[AM_SELECTOR_MAX + 16];

	if (am_domain_is_under(domain, SES_DOMAIN))
		return;		/* SES's own signature: not the sender's to publish */
	snprintf(label, sizeof(label), "%s._domainkey", sel);
	name_under(owner, sizeof(owner), label, domain);
	name_under(target, sizeof(target), sel, "dkim.amazonses.com");
	zone_line(buf, buflen, owner, "CNAME", "", target, ".");
}

static void
records_dmarc(const struct am_verdict *v, char *buf, size_t buflen)
{
	char owner[AM_DOMAIN_MAX], txt[AM_DOMAIN_MAX + 64];

	if (!zone_name_ok(v->from_domain))
		return;
	name_under(owner, sizeof(owner), "_dmarc", v->from_domain);
	snprintf(txt, sizeof(txt), "\"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"", v->from_domain);
	zone_line(buf, buflen, owner, "TXT", txt, NULL, "");
}

void
am_hint_records(const struct am_verdict *v, enum am_hint h, char *buf, size_t buflen)
{
	const struct am_dkim_sig *s;

	if (buflen == 0)
		return;
	buf[0] = '\0';
	switch (h) {
	case AM_HINT_SES_DEFAULT_MAIL_FROM:
		records_mail_from(v, buf, buflen);
		break;
	case AM_HINT_SES_NO_EASY_DKIM:
		records_easy_dkim(buf, buflen, "<token>", v->from_domain);
		break;
	case AM_HINT_DKIM_KEY_NOT_FOUND:
	case AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX:
		s = first_sig(v, h == AM_HINT_DKIM_KEY_NOT_FOUND ? sig_key_missing : sig_dup_suffix);
		if (s != NULL && v->ses.is_ses)
			records_easy_dkim(buf, buflen, s->selector, s->domain);
		break;
	case AM_HINT_DMARC_NO_RECORD:
		records_dmarc(v, buf, buflen);
		break;
	default:
		break;		/* the fix changes or removes what is there: words only */
	}
}
