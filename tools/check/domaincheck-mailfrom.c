/*
 * domaincheck-mailfrom.c - the custom MAIL FROM part of alignmilter-check.
 *
 * Owns: judging the MAIL FROM domain SES would use (--mail-from, else one
 * seen in the alignment log): a subdomain of the checked domain, its
 * "MX 10 feedback-smtp.<region>.amazonses.com" (without it SES falls back
 * to amazonses.com), and its one SPF record with include:amazonses.com,
 * valid RFC 7208 syntax (the milter's own grammar check) and at most 10
 * DNS-querying terms.  Without a custom MAIL FROM, SPF never aligns.
 *
 * Errors: nothing is logged; a temporary DNS failure marks the run
 * failed (dc_lookup) and ends the part, anything else found is a check
 * with its points.  Out of memory aborts.  Threads: see domaincheck.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Verifiers. */
#include "auth/spf.h"

/* Application-specific. */
#include "domaincheck-int.h"

#define SPF_LOOKUP_LIMIT	10	/* RFC 7208 4.6.4 */
#define SES_SPF			"v=spf1 include:amazonses.com ~all"

static const char *
region_or_placeholder(const struct dc_ctx *c)
{
	return c->region[0] != '\0' ? c->region : "<region>";
}

static void
mx_line(struct am_buf *b, const struct dc_ctx *c, const char *owner)
{
	dc_zone_nl(b);
	am_buf_printf(b, "%s. MX 10 feedback-smtp.%s.amazonses.com.", owner,
	    region_or_placeholder(c));
}

/* Region of "feedback-smtp.<region>.amazonses.com", into out; false if not that. */
static bool
feedback_region(const char *host, char *out, size_t outlen)
{
	static const char pre[] = "feedback-smtp.", suf[] = ".amazonses.com";
	size_t hl = strlen(host), pl = sizeof(pre) - 1, sl = sizeof(suf) - 1;

	if (hl <= pl + sl || strncasecmp(host, pre, pl) != 0 ||
	    strcasecmp(host + hl - sl, suf) != 0 || memchr(host + pl, '.', hl - pl - sl) != NULL)
		return false;
	snprintf(out, outlen, "%.*s", (int)(hl - pl - sl), host + pl);
	am_lowercase(out);
	return true;
}

static void
check_mx(struct dc_ctx *c)
{
	struct am_dns_answer *a = dc_lookup(c, c->mail_from, AM_RR_MX);
	char region[DC_REGION_MAX], seen[DC_REGION_MAX] = "";
	struct am_buf fix;
	unsigned pref = 0;
	size_t i;

	am_buf_init(&fix);
	if (c->r->failed)
		goto out;
	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++) {
		if (!feedback_region((const char *)a->rr[i].data, region, sizeof(region)))
			continue;
		if (seen[0] == '\0' || (c->region[0] != '\0' && strcmp(region, c->region) == 0)) {
			am_strlcpy(seen, region, sizeof(seen));
			pref = a->rr[i].mx_pref;
		}
	}
	if (seen[0] == '\0') {
		mx_line(&fix, c, c->mail_from);
		dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from-mx", AM_DC_FAIL, AM_HINT_SES_DEFAULT_MAIL_FROM,
		    DC_PTS_MX_FAIL, fix.data, "%s has %s: SES needs it to accept bounces and falls "
		    "back to its own amazonses.com MAIL FROM (SPF then never aligns)", c->mail_from,
		    a->status == AM_DNS_OK ? "no MX to feedback-smtp.<region>.amazonses.com" : "no MX record");
	} else if (c->region[0] != '\0' && strcmp(seen, c->region) != 0) {
		mx_line(&fix, c, c->mail_from);
		dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from-mx", AM_DC_FAIL, AM_HINT_SES_DEFAULT_MAIL_FROM,
		    DC_PTS_MX_FAIL, fix.data, "MX of %s points to region %s, not %s: SES in %s does "
		    "not use this MAIL FROM", c->mail_from, seen, c->region, c->region);
	} else {
		if (c->region[0] == '\0')
			am_strlcpy(c->region, seen, sizeof(c->region));
		dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from-mx", AM_DC_PASS, -1, 0, NULL,
		    "%s MX %u feedback-smtp.%s.amazonses.com", c->mail_from, pref, seen);
	}
out:
	am_buf_free(&fix);
	am_dns_answer_free(a);
}

/* The term include:amazonses.com (qualifier "+" or none) in record. */
static bool
has_ses_include(const char *rec)
{
	const char *p = rec;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		const char *t = p;

		if (n > 0 && *t == '+') {
			t++;
			n--;
		}
		if ((n == 21 && strncasecmp(t, "include:amazonses.com", 21) == 0) ||
		    (n == 22 && strncasecmp(t, "include:amazonses.com.", 22) == 0))
			return true;
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return false;
}

/* The record with include:amazonses.com put first. */
static void
spf_with_ses(struct am_buf *b, const struct dc_ctx *c, const char *rec)
{
	char *fixed = am_xmalloc(strlen(rec) + 32);

	sprintf(fixed, "v=spf1 include:amazonses.com%s", rec + 6);
	dc_zone_txt(b, c->mail_from, fixed);
	free(fixed);
}

static void
spf_add(struct dc_ctx *c, enum am_dc_status st, int hint, const struct am_buf *fix,
    const char *detail)
{
	dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from-spf", st, hint, DC_PTS_SPF_FAIL, fix->data,
	    "%s", detail);
}

/* Judge the one SPF record rec of the MAIL FROM domain. */
static void
check_spf_record(struct dc_ctx *c, const char *rec, struct am_buf *fix)
{
	struct am_spf_lookups lk;
	char why[AM_REASON_MAX], detail[512];

	if (!am_spf_record_check(rec, why, sizeof(why))) {
		snprintf(detail, sizeof(detail), "the SPF record of %s is a permerror: %s",
		    c->mail_from, why);
		dc_zone_remove_txt(fix, c->mail_from, rec);
		dc_zone_nl(fix);
		dc_zone_txt(fix, c->mail_from, SES_SPF);
		spf_add(c, AM_DC_FAIL, -1, fix, detail);
		return;
	}
	if (!has_ses_include(rec)) {
		snprintf(detail, sizeof(detail), "the SPF record of %s lacks include:amazonses.com: "
		    "SES's servers fail SPF for it", c->mail_from);
		dc_zone_remove_txt(fix, c->mail_from, rec);
		dc_zone_nl(fix);
		spf_with_ses(fix, c, rec);
		spf_add(c, AM_DC_FAIL, AM_HINT_SES_DEFAULT_MAIL_FROM, fix, detail);
		return;
	}
	am_spf_count_lookups(c->res, rec, &lk);
	if (lk.dns_error) {
		c->r->failed = true;
		snprintf(c->r->error, sizeof(c->r->error),
		    "DNS failure while following the SPF record of %s", c->mail_from);
		return;
	}
	if (lk.problem[0] != '\0') {
		snprintf(detail, sizeof(detail), "the SPF record of %s is a permerror: %s",
		    c->mail_from, lk.problem);
		spf_add(c, AM_DC_FAIL, -1, fix, detail);
	} else if (lk.lookups > SPF_LOOKUP_LIMIT) {
		snprintf(detail, sizeof(detail), "the SPF record of %s needs more than %d DNS "
		    "lookups (RFC 7208 4.6.4): a permerror; flatten or drop includes",
		    c->mail_from, SPF_LOOKUP_LIMIT);
		spf_add(c, AM_DC_FAIL, -1, fix, detail);
	} else {
		snprintf(detail, sizeof(detail), "\"%.300s\", %u of %d DNS lookups%s", rec, lk.lookups,
		    SPF_LOOKUP_LIMIT, lk.macros ? " (terms with macros counted, not followed)" : "");
		spf_add(c, AM_DC_PASS, -1, fix, detail);
	}
}

static void
check_spf(struct dc_ctx *c)
{
	struct am_dns_answer *a = dc_lookup(c, c->mail_from, AM_RR_TXT);
	const char *rec = NULL;
	struct am_buf fix;
	char detail[512];
	size_t i, n = 0;

	am_buf_init(&fix);
	if (c->r->failed)
		goto out;
	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++)
		if (am_spf_is_record((const char *)a->rr[i].data)) {
			rec = (const char *)a->rr[i].data;
			n++;
		}
	if (n == 0) {
		dc_zone_txt(&fix, c->mail_from, SES_SPF);
		snprintf(detail, sizeof(detail), "%s has no SPF record: SPF is none for SES's mail",
		    c->mail_from);
		spf_add(c, AM_DC_FAIL, AM_HINT_SES_DEFAULT_MAIL_FROM, &fix, detail);
	} else if (n > 1) {
		for (i = 0; i < a->count; i++)
			if (am_spf_is_record((const char *)a->rr[i].data)) {
				dc_zone_nl(&fix);
				dc_zone_remove_txt(&fix, c->mail_from, (const char *)a->rr[i].data);
			}
		dc_zone_nl(&fix);
		dc_zone_txt(&fix, c->mail_from, SES_SPF);
		snprintf(detail, sizeof(detail), "%s has %zu SPF records: more than one is a "
		    "permerror (RFC 7208 4.5); merge them into one", c->mail_from, n);
		spf_add(c, AM_DC_FAIL, -1, &fix, detail);
	} else
		check_spf_record(c, rec, &fix);
out:
	am_buf_free(&fix);
	am_dns_answer_free(a);
}

/* No custom MAIL FROM: SES sends as <id>@<region>.amazonses.com. */
static void
default_mail_from(struct dc_ctx *c)
{
	char owner[AM_DOMAIN_MAX + 8];
	struct am_buf fix;

	am_buf_init(&fix);
	snprintf(owner, sizeof(owner), "mail.%s", c->domain);
	mx_line(&fix, c, owner);
	dc_zone_nl(&fix);
	dc_zone_txt(&fix, owner, SES_SPF);
	dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from", AM_DC_WARN, AM_HINT_SES_DEFAULT_MAIL_FROM,
	    DC_PTS_DEFAULT_MAIL_FROM, fix.data,
	    "no custom MAIL FROM domain%s: SES uses amazonses.com, so SPF never aligns with %s and "
	    "DMARC rests on DKIM alone; set one (e.g. mail.%s) in SES and publish its MX and TXT",
	    c->have_log && c->log.ses_default_mail_from > 0 ? " (the log shows SES mail with the "
	    "default MAIL FROM)" : " given (--mail-from)", c->domain, c->domain);
	am_buf_free(&fix);
}

void
dc_check_mail_from(struct dc_ctx *c)
{
	if (c->mail_from[0] == '\0') {
		default_mail_from(c);
		return;
	}
	if (!am_domain_is_under(c->mail_from, c->domain) || strcasecmp(c->mail_from, c->domain) == 0) {
		dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from", AM_DC_FAIL, -1, DC_PTS_MAIL_FROM_BAD, NULL,
		    "%s is not a subdomain of %s: SES requires one (and DMARC alignment needs it)",
		    c->mail_from, c->domain);
		return;
	}
	dc_add(c, AM_DC_SEC_MAIL_FROM, "mail-from", AM_DC_PASS, -1, 0, NULL,
	    "custom MAIL FROM %s", c->mail_from);
	check_mx(c);
	if (!c->r->failed)
		check_spf(c);
}
