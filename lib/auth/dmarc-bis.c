/*
 * dmarc-bis.c - DMARC evaluation under RFC 9989 (DMARCStandard rfc9989,
 * the default).  RFC 9989 itself could not be had here; this follows the
 * last draft, draft-ietf-dmarc-dmarcbis-41, whose section numbers these
 * comments cite.
 *
 * Owns: policy discovery (4.10.1: the author domain's record, else its
 * organizational domain's, else its public suffix domain's, found by the
 * walk of dmarc-walk.c), the choice of p, sp or np (np for an author
 * domain that does not exist: NXDOMAIN, 3.2.13 / RFC 8020), t=y testing
 * (4.7: the next lower policy), relaxed alignment by comparing walk
 * organizational domains (4.10.2) under a per-message bound on walks, and
 * pass / fail / temperror.  pct, rf and ri are historic: not applied.
 *
 * Errors: nothing is logged.  The verdict always says what happened:
 * none (no record, or a void one: 4.10.1's "no DMARC processing"),
 * temperror (a DNS failure that leaves the record, the policy or a
 * needed alignment unknown), pass or fail.  Identifiers past
 * AM_DMARC_WALKS_MAX walks do not align and are counted in
 * walks_skipped.  Out of memory aborts.
 *
 * Threads: any worker thread, one message's lookup at a time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/* One message's alignment state: the author's org domain and the walks. */
struct bis_align {
	am_dmarc *d;
	am_dmarc_lookup *lk;
	const char *from;
	const char *org;		/* NULL: the author's walk failed */
	const struct am_dmarc_name *org_failed; /* why org is unknown */
	struct {
		char	domain[AM_DOMAIN_MAX];
		char	org[AM_DOMAIN_MAX];
		bool	known;		/* false: its walk failed or was cut */
	} walk[AM_DMARC_WALKS_MAX];
	size_t	nwalks;
	unsigned skipped;		/* identifiers past the bound */
	bool	unknown;		/* a passing identifier's alignment is unknown */
	char	unknown_why[AM_REASON_MAX];
};

enum bis_rel { REL_NO, REL_YES, REL_UNKNOWN };

/* "DNS <status> for _dmarc.<name>", cut to fit: a name can be longer than the field. */
static void
bis_dns_why(char *buf, size_t len, const struct am_dmarc_name *e)
{
	am_strlcpy(buf, "DNS ", len);
	am_strlcat(buf, am_dns_status_name(e->ans != NULL ? e->ans->status : AM_DNS_TIMEOUT), len);
	am_strlcat(buf, " for _dmarc.", len);
	am_strlcat(buf, e->name, len);
}

static const char *
top_label(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : name;
}

/* The org domain of id by its own walk, once per message and bounded. */
static enum bis_rel
bis_walk_org(struct bis_align *a, const char *id, const char **org)
{
	struct am_dmarc_walk w;
	size_t i;

	for (i = 0; i < a->nwalks; i++)
		if (strcmp(a->walk[i].domain, id) == 0)
			goto have;
	if (a->nwalks >= AM_DMARC_WALKS_MAX) {
		a->skipped++;
		return REL_NO;
	}
	i = a->nwalks++;
	am_strlcpy(a->walk[i].domain, id, sizeof(a->walk[i].domain));
	am_dmarc_walk_run(a->d, a->lk, id, &w);
	a->walk[i].known = w.failed == NULL && !w.full;
	if (a->walk[i].known)
		am_dmarc_walk_org(id, &w, a->walk[i].org, sizeof(a->walk[i].org));
	else if (w.full)
		a->skipped++;
	else
		bis_dns_why(a->unknown_why, sizeof(a->unknown_why), w.failed);
have:
	if (!a->walk[i].known)
		return REL_UNKNOWN;
	*org = a->walk[i].org;
	return REL_YES;
}

/*
 * Relaxed alignment of an identifier (4.10.2): same org domain as the
 * author.  An identifier's org domain is itself or one of its parents,
 * so only identifiers at or under the author's org domain need a walk.
 */
static enum bis_rel
bis_relaxed(struct bis_align *a, const char *id_in)
{
	char id[AM_DOMAIN_MAX];
	const char *org;
	enum bis_rel r;

	if (!am_dmarc_name_clean(id_in, id, sizeof(id)))
		return REL_NO;
	if (strcmp(id, a->from) == 0)
		return REL_YES;
	if (a->org == NULL)		/* the author's walk failed */
		return strcmp(top_label(id), top_label(a->from)) == 0 ? REL_UNKNOWN : REL_NO;
	if (!am_domain_is_under(id, a->org))
		return REL_NO;
	if ((r = bis_walk_org(a, id, &org)) != REL_YES)
		return r;
	return strcmp(org, a->org) == 0 ? REL_YES : REL_NO;
}

/* Strict: the same name (4.4); relaxed as above.  Sets both flags. */
static bool
bis_align_one(struct bis_align *a, const char *id, bool strict, bool counts, bool *relaxed)
{
	char clean[AM_DOMAIN_MAX];
	enum bis_rel r = bis_relaxed(a, id);

	*relaxed = r == REL_YES;
	if (r == REL_UNKNOWN && counts && !strict) {
		a->unknown = true;
		if (a->unknown_why[0] == '\0' && a->org_failed != NULL)
			bis_dns_why(a->unknown_why, sizeof(a->unknown_why), a->org_failed);
	}
	if (strict)
		return am_dmarc_name_clean(id, clean, sizeof(clean)) && strcmp(clean, a->from) == 0;
	return *relaxed;
}

/*
 * Every identifier's alignment: those that pass first, SPF before DKIM,
 * so that many signatures cannot use up the walks DMARC's answer needs.
 */
static void
bis_align_all(struct bis_align *a, struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
    struct am_dmarc_verdict *out)
{
	size_t i, n = dkim != NULL ? dkim->count : 0;
	int pass;

	if (n > AM_DKIM_REPORT_MAX)
		n = AM_DKIM_REPORT_MAX;
	for (pass = 1; pass >= 0; pass--) {
		if (spf != NULL && spf->domain[0] != '\0' && (spf->result == AM_SPF_PASS) == pass) {
			spf->aligned = bis_align_one(a, spf->domain, out->aspf == 's', pass,
			    &spf->aligned_relaxed);
			out->spf_aligned = spf->aligned && pass;
		}
		for (i = 0; i < n; i++) {
			struct am_dkim_sig *s = &dkim->sig[i];

			if ((s->result == AM_DKIM_PASS) != pass)
				continue;
			s->aligned = bis_align_one(a, s->domain, out->adkim == 's', pass,
			    &s->aligned_relaxed);
			if (s->aligned && pass)
				out->dkim_aligned = true;
		}
	}
	out->walks_skipped = a->skipped;
}

/*
 * No policy applies: no alignment to evaluate (4.10.2's note), so no
 * walks.  aligned says "the same name"; aligned_relaxed, which only the
 * hints read, falls back to the Public Suffix List's org domains so that
 * a sender without a DMARC record still hears what would align.
 */
static void
bis_align_without_policy(const am_dmarc *d, const char *from, struct am_spf_verdict *spf,
    struct am_dkim_verdict *dkim)
{
	size_t i;

	if (spf != NULL) {
		spf->aligned = am_dmarc_aligned(d, from, spf->domain, true);
		spf->aligned_relaxed = am_dmarc_aligned(d, from, spf->domain, false);
	}
	for (i = 0; dkim != NULL && i < dkim->count && i < AM_DKIM_REPORT_MAX; i++) {
		dkim->sig[i].aligned = am_dmarc_aligned(d, from, dkim->sig[i].domain, true);
		dkim->sig[i].aligned_relaxed = am_dmarc_aligned(d, from, dkim->sig[i].domain, false);
	}
}

/* Does the author domain exist?  Only NXDOMAIN says no (3.2.13). */
static enum bis_rel
bis_author_exists(am_dmarc *d, am_dmarc_lookup *lk, const char *from)
{
	const struct am_dmarc_name *own = am_dmarc_walk_find(lk, from);

	/* _dmarc.<from> answered, not NXDOMAIN: from exists (RFC 8020). */
	if (own != NULL && own->done && own->ans != NULL &&
	    (own->ans->status == AM_DNS_OK || own->ans->status == AM_DNS_NODATA))
		return REL_YES;
	/* A CNAME query is not followed: NXDOMAIN is the name's own. */
	if (lk->exist_ans == NULL)
		lk->exist_ans = am_dns_wait(am_dns_start(d->res, from, AM_RR_CNAME));
	switch (lk->exist_ans != NULL ? lk->exist_ans->status : AM_DNS_TIMEOUT) {
	case AM_DNS_OK:
	case AM_DNS_NODATA:	return REL_YES;
	case AM_DNS_NXDOMAIN:	return REL_NO;
	default:		return REL_UNKNOWN;
	}
}

/*
 * 4.10.1: p for the author domain's own record; an inherited one gives
 * sp to an existing subdomain and np to one that does not exist, each
 * falling back to p.  *unknown when existence decides and is unknown:
 * the milder of the two is taken meanwhile.
 */
static void
bis_select(am_dmarc *d, am_dmarc_lookup *lk, const char *from, const struct am_dmarc_record *r,
    struct am_dmarc_verdict *out, bool *unknown)
{
	enum am_dmarc_policy p = am_dmarc_policy_parse(r->p), sp = am_dmarc_policy_parse(r->sp);
	enum am_dmarc_policy np = am_dmarc_policy_parse(r->np);
	enum am_dmarc_policy for_existing = sp != AM_POLICY_UNSPEC ? sp : p;

	*unknown = false;
	out->published_p = r->as_none ? AM_POLICY_NONE : p;
	out->published_sp = r->as_none ? AM_POLICY_UNSPEC : sp;
	out->published_np = r->as_none ? AM_POLICY_UNSPEC : np;
	out->policy = out->published_p;
	out->policy_tag = AM_PTAG_P;
	if (r->as_none || strcmp(out->record_domain, from) == 0)
		return;
	out->policy = for_existing;
	out->policy_tag = sp != AM_POLICY_UNSPEC ? AM_PTAG_SP : AM_PTAG_P;
	if (np == AM_POLICY_UNSPEC || np == for_existing)
		return;
	switch (bis_author_exists(d, lk, from)) {
	case REL_NO:
		out->policy = np;
		out->policy_tag = AM_PTAG_NP;
		break;
	case REL_UNKNOWN:
		*unknown = true;
		if (np < for_existing) {
			out->policy = np;
			out->policy_tag = AM_PTAG_NP;
		}
		break;
	case REL_YES:
		break;
	}
}

/* The record that applies (4.10.1): the author's, the org domain's, the PSD's. */
static const struct am_dmarc_name *
bis_discover(const char *from, const struct am_dmarc_walk *w, const char *org)
{
	size_t i;

	if (w->nfound > 0 && strcmp(w->found[0]->name, from) == 0)
		return w->found[0];
	for (i = 0; i < w->nfound; i++)
		if (strcmp(w->found[i]->name, org) == 0)
			return w->found[i];
	if (w->nfound > 0 && w->found[w->nfound - 1]->psd == 'y')
		return w->found[w->nfound - 1];
	return NULL;
}


/* The author's own name answered with several records (a hint's input). */
static bool
bis_author_multiple(const am_dmarc_lookup *lk, const char *from)
{
	const struct am_dmarc_name *own = am_dmarc_walk_find(lk, from);

	return own != NULL && own->done && own->disc == AM_DMARC_DISC_MULTI;
}

void
am_dmarc_evaluate_bis(am_dmarc *d, am_dmarc_lookup *lk, const char *from,
    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim, struct am_dmarc_verdict *out)
{
	struct bis_align *a;
	struct am_dmarc_walk w;
	struct am_dmarc_record r;
	const struct am_dmarc_name *rec;
	char org[AM_DOMAIN_MAX];
	bool exist_unknown = false;

	a = am_xcalloc(1, sizeof(*a));
	a->d = d;
	a->lk = lk;
	a->from = from;
	am_dmarc_walk_run(d, lk, from, &w);
	out->multiple_records = bis_author_multiple(lk, from);
	/* A record at the author domain applies even if the rest of the walk failed. */
	if (w.failed != NULL || w.full) {
		if (w.nfound == 0 || strcmp(w.found[0]->name, from) != 0) {
			out->result = AM_DMARC_TEMPERROR;
			if (w.failed != NULL)
				bis_dns_why(out->reason, sizeof(out->reason), w.failed);
			else
				am_strlcpy(out->reason, "DMARC tree walk over its bound", sizeof(out->reason));
			goto align;
		}
		a->org_failed = w.failed;
		rec = w.found[0];
	} else {
		am_dmarc_walk_org(from, &w, org, sizeof(org));
		am_strlcpy(out->org_domain, org, sizeof(out->org_domain));
		a->org = out->org_domain;
		rec = bis_discover(from, &w, org);
	}
	if (rec == NULL) {
		out->result = AM_DMARC_NONE;
		am_dmarc_reason_set(out, "no DMARC record for ", from, "", "");
		goto align;
	}
	out->record_found = true;
	out->discovery = AM_DISCOVERY_TREEWALK;
	am_strlcpy(out->record_domain, rec->name, sizeof(out->record_domain));
	am_dmarc_parse_record(rec->rec, AM_DMARC_RFC9989, &r);
	out->psd = r.psd;
	out->pct = (int)r.pct;
	out->adkim = r.adkim;
	out->aspf = r.aspf;
	if (!r.usable) {		/* 4.10.1: no DMARC processing */
		out->result = AM_DMARC_NONE;
		am_strlcpy(out->reason, r.reason, sizeof(out->reason));
		goto align;
	}
	out->testing = r.testing;
	bis_select(d, lk, from, &r, out, &exist_unknown);
	am_strlcpy(out->reason, r.as_none ? r.reason : r.ignored, sizeof(out->reason));
	bis_align_all(a, spf, dkim, out);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = AM_DMARC_PASS;
		out->disposition = AM_POLICY_NONE;
	} else if (a->unknown || exist_unknown) {
		out->result = AM_DMARC_TEMPERROR;
		if (a->unknown)
			am_strlcpy(out->reason, a->unknown_why, sizeof(out->reason));
		else
			am_dmarc_reason_set(out, "DNS failure: does ", from, " exist?", "");
	} else {
		out->result = AM_DMARC_FAIL;
		out->disposition = out->testing ? am_dmarc_policy_lower(out->policy) : out->policy;
	}
	goto done;
align:
	bis_align_without_policy(d, from, spf, dkim);
done:
	free(a);
}
