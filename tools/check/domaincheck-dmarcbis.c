/*
 * domaincheck-dmarcbis.c - the RFC 9989 half of alignmilter-check's DMARC
 * part (DMARCStandard rfc9989).
 *
 * Owns: discovery through the milter's engine (am_dmarc_evaluate() with
 * no identifiers: the record the DNS tree walk applies, the tag that
 * chose the policy, the organizational domain, RFC 9989 4.10), the walk
 * names holding several records (4.10 steps 2 and 6 discard them all),
 * and the checks RFC 9989 adds: np, psd (the organizational domains of
 * From and MAIL FROM, 4.10.2), t=y (testing) and the historic pct.  The
 * walk itself is the engine's; here are only the names it asks, to look
 * for what it silently discards.
 *
 * Errors: nothing is logged; a temporary DNS failure (the engine's
 * temperror, or dc_lookup) marks the run failed.  Out of memory aborts.
 * Threads: see domaincheck.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Application-specific. */
#include "domaincheck-int.h"

/* ---- discovery ----------------------------------------------------------------- */

static void
run_fail(struct dc_ctx *c, const char *what, const char *domain, const char *reason)
{
	if (c->r->failed)
		return;
	c->r->failed = true;
	snprintf(c->r->error, sizeof(c->r->error), "%s %s: %s", what, domain, reason);
}

bool
dc_dmarc_walk(struct dc_ctx *c, struct dc_dmarc_found *f)
{
	const char *names[AM_DMARC_WALK_QUERIES];
	size_t i, n, k;
	char *rec;

	f->treewalk = true;
	am_dmarc_evaluate(c->dmarc, NULL, c->domain, NULL, NULL, 0, &f->v);
	if (f->v.result == AM_DMARC_TEMPERROR) {
		run_fail(c, "DMARC tree walk for", c->domain, f->v.reason);
		return false;
	}
	n = am_dmarc_walk_names(c->domain, names);
	for (i = 0; i < n; i++) {
		size_t len = strlen(f->asked);

		if (f->v.record_found && strcmp(names[i], f->v.record_domain) == 0)
			break;
		snprintf(f->asked + len, sizeof(f->asked) - len, "%s_dmarc.%s", i ? ", " : "",
		    names[i]);
		/* Several records at a name are discarded; the walk goes on (4.10 step 2). */
		k = dc_dmarc_count(c, names[i], &rec);
		free(rec);
		if (c->r->failed)
			return false;
		if (k > 1 && f->multi[0] == '\0') {
			am_strlcpy(f->multi, names[i], sizeof(f->multi));
			f->nmulti = k;
		}
	}
	am_strlcpy(f->where, f->v.record_found ? f->v.record_domain : c->domain, sizeof(f->where));
	f->from_org = strcmp(f->where, c->domain) != 0;
	if (f->v.record_found)
		f->n = dc_dmarc_count(c, f->where, &f->rec);
	return !c->r->failed;
}

void
dc_dmarc_check_multiple(struct dc_ctx *c, const struct dc_dmarc_found *f)
{
	char fix[AM_DOMAIN_MAX + 64];

	if (f->multi[0] == '\0')
		return;
	snprintf(fix, sizeof(fix), "; keep exactly one v=DMARC1 TXT record at _dmarc.%s", f->multi);
	dc_add(c, AM_DC_SEC_DMARC, "dmarc-multiple", AM_DC_FAIL, -1, DC_PTS_DMARC_MULTI, fix,
	    "%zu DMARC records at _dmarc.%s: all are discarded (RFC 9989 4.10 step 2), so "
	    "the record at _dmarc.%s applies instead", f->nmulti, f->multi, f->where);
}

/* ---- RFC 9989's tags ----------------------------------------------------------- */

/* The value of tag as published ("" when absent). */
static const char *
published(const struct dc_dmarc_judge *j, const char *tag)
{
	size_t i;

	for (i = 0; i < j->fixed.n; i++)
		if (strcasecmp(j->fixed.name[i], tag) == 0)
			return j->fixed.value[i];
	return "";
}

/* The policy that applies, when it enforces anything: tag and value, else NULL. */
static const char *
enforcing(const struct dc_dmarc_judge *j, const char **tag)
{
	const char *pol;

	dc_dmarc_applied(j, tag, &pol);
	return !j->d->as_none && pol[0] != '\0' && strcmp(pol, "none") != 0 ? pol : NULL;
}

/* np= (4.7): the policy for non-existent subdomains, what spoofers make up. */
static void
check_np(struct dc_dmarc_judge *j)
{
	const struct am_dmarc_record *d = j->d;
	char detail[512];

	if (!j->f->from_org && strcmp(d->np, "none") == 0 && strcmp(d->p, "none") != 0 &&
	    !d->as_none) {
		snprintf(detail, sizeof(detail), "np=none: mail from non-existent subdomains of %s "
		    "(names a spoofer makes up) is monitoring only while p=%s (RFC 9989 4.7)",
		    j->c->domain, d->p);
		dc_tagrec_set(&j->fixed, "np", NULL);
		dc_dmarc_add(j, "dmarc-np", AM_DC_WARN, -1, DC_PTS_NP_NONE, detail);
		return;
	}
	if (d->np[0] != '\0')
		snprintf(detail, sizeof(detail), "np=%s", d->np);
	else
		snprintf(detail, sizeof(detail), "np=(as %s)", d->sp[0] != '\0' ? "sp" : "p");
	dc_dmarc_add(j, "dmarc-np", AM_DC_PASS, -1, 0, detail);
}

/*
 * The record that applies is a public suffix operator's (psd=y, found at
 * a parent name): the domain has none of its own (4.10.1), so its owner
 * gets no reports.  The fix is a record of its own with the same policy.
 */
static void
psd_operator(struct dc_dmarc_judge *j, const char *org)
{
	struct dc_ctx *c = j->c;
	const char *tag, *pol;
	char txt[AM_DOMAIN_MAX + 96], owner[AM_DOMAIN_MAX + 8];
	struct am_buf fix;

	dc_dmarc_applied(j, &tag, &pol);
	snprintf(owner, sizeof(owner), "_dmarc.%s", org);
	snprintf(txt, sizeof(txt), "v=DMARC1; p=%s; rua=mailto:dmarc-reports@%s",
	    pol[0] != '\0' ? pol : "none", org);
	am_buf_init(&fix);
	dc_zone_txt(&fix, owner, txt);
	dc_add(c, AM_DC_SEC_DMARC, "dmarc-psd", AM_DC_WARN, -1, DC_PTS_PSD_YES, fix.data,
	    "psd=y: the record at _dmarc.%s is a public suffix operator's; %s has no record "
	    "of its own (organizational domain %s, RFC 9989 4.10.2), so its owner gets no "
	    "reports", j->f->where, c->domain, org);
	am_buf_free(&fix);
}

/*
 * psd= and the organizational domains (4.10.2): SPF aligns relaxed only
 * when the MAIL FROM and From have the same one; psd=y on the domain's
 * own record makes each subdomain its own.
 */
static void
check_psd(struct dc_dmarc_judge *j)
{
	struct dc_ctx *c = j->c;
	const struct am_dmarc_record *d = j->d;
	const char *org = j->f->v.org_domain;
	bool own_y = !j->f->from_org && d->psd == 'y';
	struct am_dmarc_verdict mv;
	char detail[1400];	/* four names; the check keeps what fits */

	if (org[0] == '\0') {
		/* The engine applied the domain's own record though the rest of the walk failed. */
		run_fail(c, "DMARC tree walk for", c->domain,
		    "a DNS failure past its own name leaves the organizational domain unknown");
		return;
	}
	if (c->mail_from[0] != '\0' && strcasecmp(c->mail_from, c->domain) != 0) {
		am_dmarc_evaluate(c->dmarc, NULL, c->mail_from, NULL, NULL, 0, &mv);
		if (mv.result == AM_DMARC_TEMPERROR) {
			run_fail(c, "DMARC tree walk for", c->mail_from, mv.reason);
			return;
		}
		if (strcasecmp(mv.org_domain, org) != 0) {
			snprintf(detail, sizeof(detail), "SPF passes for the MAIL FROM %s but never "
			    "aligns: its organizational domain is %s, %s's is %s (RFC 9989 4.10.2)%s",
			    c->mail_from, mv.org_domain[0] ? mv.org_domain : "(none)", c->domain, org,
			    own_y ? "; psd=y does that: drop it" : "");
			if (own_y) {
				dc_tagrec_set(&j->fixed, "psd", NULL);
				dc_dmarc_add(j, "dmarc-psd", AM_DC_FAIL, -1, DC_PTS_ORG_SPLIT, detail);
			} else	/* the record to change is not this one */
				dc_add(c, AM_DC_SEC_DMARC, "dmarc-psd", AM_DC_FAIL, -1,
				    DC_PTS_ORG_SPLIT, NULL, "%s", detail);
			return;
		}
	}
	if (j->f->from_org && d->psd == 'y') {
		psd_operator(j, org);
		return;
	}
	if (own_y) {
		snprintf(detail, sizeof(detail), "psd=y marks %s as a public suffix domain: each "
		    "subdomain is its own organizational domain (RFC 9989 4.10.2), so a custom MAIL "
		    "FROM under it never aligns; drop psd=y unless you run a public suffix", c->domain);
		dc_tagrec_set(&j->fixed, "psd", NULL);
		dc_dmarc_add(j, "dmarc-psd", AM_DC_WARN, -1, DC_PTS_PSD_YES, detail);
		return;
	}
	snprintf(detail, sizeof(detail), "psd=%c: organizational domain %s (RFC 9989 4.10.2)",
	    d->psd, org);
	dc_dmarc_add(j, "dmarc-psd", AM_DC_PASS, -1, 0, detail);
}

/* t=y (4.7): failing mail gets the next lower policy while the owner tests. */
static void
check_testing(struct dc_dmarc_judge *j)
{
	const char *tag, *pol = enforcing(j, &tag);
	char detail[512];

	if (!j->d->testing) {
		dc_dmarc_add(j, "dmarc-testing", AM_DC_PASS, -1, 0, "t=n");
		return;
	}
	if (pol == NULL) {
		dc_dmarc_add(j, "dmarc-testing", AM_DC_PASS, -1, 0, "t=y (no effect on a none policy)");
		return;
	}
	snprintf(detail, sizeof(detail), "t=y: testing mode, receivers give failing mail the next "
	    "lower policy, %s instead of %s=%s (RFC 9989 4.7); drop t=y once every stream aligns",
	    strcmp(pol, "reject") == 0 ? "quarantine" : "none", tag, pol);
	dc_tagrec_set(&j->fixed, "t", NULL);
	dc_dmarc_add(j, "dmarc-testing", AM_DC_WARN, -1, DC_PTS_TESTING, detail);
}

/* pct= is historic (9.3, A.6): ignored, the policy applies to all failing mail. */
static void
check_pct(struct dc_dmarc_judge *j)
{
	const char *tag, *pol = enforcing(j, &tag);
	char detail[512], written[40];

	if (!j->d->pct_present)
		return;
	am_strlcpy(written, published(j, "pct"), sizeof(written));
	dc_tagrec_set(&j->fixed, "pct", NULL);
	if (pol != NULL && j->d->pct < 100) {
		snprintf(detail, sizeof(detail), "pct=%u is historic (RFC 9989 9.3): receivers ignore "
		    "it and apply %s=%s to all failing mail; drop it (t=y asks for the next lower "
		    "policy while you test)", j->d->pct, tag, pol);
		dc_dmarc_add(j, "dmarc-pct", AM_DC_WARN, -1, DC_PTS_PCT_HISTORIC, detail);
		return;
	}
	snprintf(detail, sizeof(detail), "pct=%s is historic (RFC 9989 9.3): receivers ignore it; "
	    "drop it", written);
	dc_dmarc_add(j, "dmarc-pct", AM_DC_WARN, -1, 0, detail);
}

void
dc_dmarc_check_bis(struct dc_dmarc_judge *j)
{
	check_np(j);
	check_psd(j);
	if (j->c->r->failed)
		return;
	check_testing(j);
	check_pct(j);
}
