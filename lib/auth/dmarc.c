/*
 * dmarc.c - DMARC (RFC 7489): set-up and evaluation.  See dmarc.h for the
 * API and dmarc-int.h for how the family divides the work.
 *
 * Owns: the am_dmarc handle (resolver, Public Suffix List, libopendmarc's
 * set-up), and the evaluation of a message: the record found by
 * dmarc-lookup.c and vetted by dmarc-record.c, the policy dmarc-policy.c
 * reads from it, our own alignment of every identifier (dmarc-names.c),
 * then pass/fail, the disposition and pct sampling (6.6.4).
 *
 * Why not libopendmarc for everything: 1.4.2 gets strict alignment wrong
 * (subdomains "align" strictly; co.uk "aligns" with example.co.uk), its
 * fetch_rua/fetch_ruf with a buffer do their own DNS (cross-domain report
 * checks), and its parser is lenient where RFC 7489 is not (p=n, pct=1.1)
 * and strict where RFC 7489 says to ignore a bad tag (6.3).  So we vet the
 * tags ourselves, hand libopendmarc a clean record, take the policy it
 * selects, and decide pass/fail with our alignment.
 *
 * Errors: nothing is logged.  am_dmarc_new() returns NULL with err (no
 * resolver or PSL path, an unreadable or bogus PSL, libopendmarc's set-up
 * failing).  am_dmarc_evaluate() always fills the verdict: none (no
 * record, or several), temperror (DNS), permerror (no valid From domain,
 * no usable policy), each with its reason.  Out of memory aborts.
 *
 * Threads: am_dmarc_new() and am_dmarc_free() at start-up and shutdown;
 * am_dmarc_evaluate() from any worker thread at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/* ---- set-up --------------------------------------------------------------- */

am_dmarc *
am_dmarc_new(am_resolver *res, enum am_dmarc_standard std, const char *psl_path, char *err,
    size_t errlen)
{
	am_dmarc *d;
	psl_ctx_t *psl;

	if (errlen > 0)
		err[0] = '\0';
	if (res == NULL || psl_path == NULL || psl_path[0] == '\0') {
		snprintf(err, errlen, "DMARC: no resolver or no PublicSuffixList path");
		return NULL;
	}
	if ((psl = am_dmarc_psl_load(psl_path, err, errlen)) == NULL)
		return NULL;
	/* Only the first path reaches libopendmarc; we never use its PSL. */
	if (!am_dmarc_policy_init(psl_path, err, errlen)) {
		am_dmarc_psl_free(psl);
		return NULL;
	}
	d = am_xcalloc(1, sizeof(*d));
	d->res = res;
	d->std = std;
	d->psl = psl;
	return d;
}

enum am_dmarc_standard
am_dmarc_standard_of(const am_dmarc *d)
{
	return d != NULL ? d->std : AM_DMARC_RFC9989;
}

bool
am_dmarc_standard_parse(const char *s, enum am_dmarc_standard *out)
{
	if (strcasecmp(s, "rfc9989") == 0)
		*out = AM_DMARC_RFC9989;
	else if (strcasecmp(s, "rfc7489") == 0)
		*out = AM_DMARC_RFC7489;
	else
		return false;
	return true;
}

const char *
am_dmarc_standard_name(enum am_dmarc_standard std)
{
	return std == AM_DMARC_RFC7489 ? "rfc7489" : "rfc9989";
}

void
am_dmarc_free(am_dmarc *d)
{
	if (d == NULL)
		return;
	am_dmarc_psl_free(d->psl);
	free(d);
}

/* ---- evaluation ----------------------------------------------------------- */

/*
 * Our alignment of every identifier; reported even without a record.
 * An identifier's aligned flag is its domain's alignment alone (RFC 7489
 * 3.1, RFC 9989 4.4), whatever its result, so a broken signature for the
 * From domain reads "aligned, fail" and not "unaligned".  DMARC counts
 * an identifier only when it is aligned and passes (RFC 7489 4.2): that
 * is what spf_aligned and dkim_aligned of the DMARC verdict say.
 */
static void
dmarc_align(const am_dmarc *d, const char *from, struct am_spf_verdict *spf,
    struct am_dkim_verdict *dkim, struct am_dmarc_verdict *out)
{
	size_t i;

	out->spf_aligned = false;
	out->dkim_aligned = false;
	if (spf != NULL) {
		spf->aligned_relaxed = from != NULL && am_dmarc_aligned(d, from, spf->domain, false);
		spf->aligned = from != NULL && am_dmarc_aligned(d, from, spf->domain, out->aspf == 's');
		out->spf_aligned = spf->aligned && spf->result == AM_SPF_PASS;
	}
	for (i = 0; dkim != NULL && i < dkim->count && i < AM_DKIM_REPORT_MAX; i++) {
		struct am_dkim_sig *s = &dkim->sig[i];

		s->aligned_relaxed = from != NULL && am_dmarc_aligned(d, from, s->domain, false);
		s->aligned = from != NULL && am_dmarc_aligned(d, from, s->domain, out->adkim == 's');
		if (s->aligned && s->result == AM_DKIM_PASS)
			out->dkim_aligned = true;
	}
}

void
am_dmarc_reason_set(struct am_dmarc_verdict *out, const char *a, const char *b, const char *c,
    const char *e)
{
	am_strlcpy(out->reason, a, sizeof(out->reason));
	am_strlcat(out->reason, b, sizeof(out->reason));
	am_strlcat(out->reason, c, sizeof(out->reason));
	am_strlcat(out->reason, e, sizeof(out->reason));
}

/* What the record publishes and which tag applied, for the log and reports. */
static void
dmarc_published(const char *rec, struct am_dmarc_verdict *out)
{
	struct am_dmarc_record r;

	am_dmarc_parse_record(rec, AM_DMARC_RFC7489, &r);
	out->discovery = AM_DISCOVERY_PSL;
	out->published_p = r.as_none ? AM_POLICY_NONE : am_dmarc_policy_parse(r.p);
	out->published_sp = am_dmarc_policy_parse(r.sp);
	out->policy_tag = out->used_org_domain && out->published_sp != AM_POLICY_UNSPEC ?
	    AM_PTAG_SP : AM_PTAG_P;
}

void
am_dmarc_evaluate(am_dmarc *d, am_dmarc_lookup *lk_in, const char *from_domain,
    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
    unsigned rand_pct, struct am_dmarc_verdict *out)
{
	am_dmarc_lookup *lk = lk_in, *own = NULL;
	struct am_dns_answer *org_ans = NULL;
	const char *rec = NULL;
	char from[AM_DOMAIN_MAX], clean[2048], notes[AM_REASON_MAX];
	enum am_dmarc_disc r;

	memset(out, 0, sizeof(*out));
	out->adkim = 'r';
	out->aspf = 'r';
	out->pct = 100;
	out->psd = 'u';
	if (d == NULL || !am_dmarc_name_clean(from_domain, from, sizeof(from))) {
		dmarc_align(d, NULL, spf, dkim, out);
		out->result = AM_DMARC_PERMERROR;
		am_strlcpy(out->reason, "no valid From domain", sizeof(out->reason));
		return;
	}
	/* A lookup for another name (or none) is not ours to reuse. */
	if (lk == NULL || !lk->valid || strcmp(lk->domain, from) != 0)
		lk = own = am_dmarc_start(d, from);
	if (d->std == AM_DMARC_RFC9989) {
		am_dmarc_evaluate_bis(d, lk, from, spf, dkim, out);
		am_dmarc_lookup_free(own);
		return;
	}
	(void)am_dmarc_org_domain(d, from, out->org_domain, sizeof(out->org_domain));

	r = am_dmarc_lookup_discover(d, lk, &org_ans, &rec, out);
	switch (r) {
	case AM_DMARC_DISC_TEMP:
		out->result = AM_DMARC_TEMPERROR;
		break;
	case AM_DMARC_DISC_MULTI:
		out->result = AM_DMARC_NONE;
		out->multiple_records = true;
		am_dmarc_reason_set(out, "more than one DMARC record at _dmarc.", out->record_domain,
		    "", "");
		break;
	case AM_DMARC_DISC_NONE:
		out->result = AM_DMARC_NONE;
		out->used_org_domain = false;
		out->record_domain[0] = '\0';
		am_dmarc_reason_set(out, "no DMARC record for ", from, "", "");
		break;
	case AM_DMARC_DISC_FOUND:
		out->record_found = true;
		if (!am_dmarc_record_clean(rec, clean, sizeof(clean), out->reason, sizeof(out->reason))) {
			out->result = AM_DMARC_PERMERROR;
			break;
		}
		am_strlcpy(notes, out->reason, sizeof(notes));
		if (!am_dmarc_policy_select(from, clean, out->used_org_domain ? out->org_domain : NULL,
		    spf, dkim, out)) {
			out->result = AM_DMARC_PERMERROR;
			break;
		}
		am_strlcpy(out->reason, notes, sizeof(out->reason));
		dmarc_published(rec, out);
		break;
	}
	dmarc_align(d, from, spf, dkim, out);
	if (r == AM_DMARC_DISC_FOUND && out->result != AM_DMARC_PERMERROR) {
		if (out->spf_aligned || out->dkim_aligned) {
			out->result = AM_DMARC_PASS;
			out->disposition = AM_POLICY_NONE;
		} else {
			out->result = AM_DMARC_FAIL;
			out->disposition = out->policy;
			/* 6.6.4: messages outside pct get the next lower policy. */
			if (rand_pct % 100 >= (unsigned)out->pct && out->policy > AM_POLICY_NONE) {
				out->disposition = am_dmarc_policy_lower(out->policy);
				out->sampled_out = true;
			}
		}
	}
	am_dns_answer_free(org_ans);
	am_dmarc_lookup_free(own);
}
