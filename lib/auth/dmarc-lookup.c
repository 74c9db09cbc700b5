/*
 * dmarc-lookup.c - finding the DMARC record (RFC 7489 6.6.3 steps 2-5).
 *
 * Owns: the _dmarc.<domain> TXT lookups, through am_resolver (never
 * libopendmarc's resolver), started early at the end of the headers and
 * waited for at evaluation; the selection of the one DMARC record among
 * an answer's TXT strings; and the fallback to the organizational domain
 * when the From domain has none.  What the record says is dmarc-record.c's.
 *
 * Errors: nothing is logged.  SERVFAIL or a timeout is a temporary error
 * (AM_DMARC_DISC_TEMP) with "DNS <status> for _dmarc.<domain>" as the
 * verdict's reason, and never falls through to the organizational domain;
 * NXDOMAIN, NODATA and a name too long for the DNS are "no record"; more
 * than one record is AM_DMARC_DISC_MULTI.  Out of memory aborts.
 *
 * Threads: any.  A lookup handle is used by one thread at a time (the
 * session that started it); the resolver is shared.
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

am_dns_query *
am_dmarc_query_start(am_dmarc *d, const char *domain)
{
	char name[AM_DOMAIN_MAX + 8];

	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) > 253)
		return NULL;
	return am_dns_start(d->res, name, AM_RR_TXT);
}

am_dmarc_lookup *
am_dmarc_start(am_dmarc *d, const char *from_domain)
{
	am_dmarc_lookup *lk = am_xcalloc(1, sizeof(*lk));

	lk->valid = d != NULL && am_dmarc_name_clean(from_domain, lk->domain, sizeof(lk->domain));
	if (!lk->valid)
		return lk;
	if (d->std == AM_DMARC_RFC9989)
		am_dmarc_walk_prefetch(d, lk, lk->domain);	/* the whole walk at once */
	else
		lk->q = am_dmarc_query_start(d, lk->domain);
	return lk;
}

void
am_dmarc_lookup_free(am_dmarc_lookup *lk)
{
	if (lk == NULL)
		return;
	am_dns_cancel(lk->q);
	am_dns_answer_free(lk->ans);
	am_dmarc_walk_free(lk);
	free(lk);
}

/* The answer of a started lookup, waiting for it once. */
static const struct am_dns_answer *
lookup_answer(am_dmarc_lookup *lk)
{
	if (lk->q != NULL) {
		lk->ans = am_dns_wait(lk->q);
		lk->q = NULL;
	}
	return lk->ans;
}

enum am_dmarc_disc
am_dmarc_answer_select(const struct am_dns_answer *a, const char **rec)
{
	size_t i, n = 0;

	*rec = NULL;
	if (a == NULL)
		return AM_DMARC_DISC_TEMP;
	switch (a->status) {
	case AM_DNS_OK:
		break;
	case AM_DNS_NXDOMAIN:
	case AM_DNS_NODATA:
		return AM_DMARC_DISC_NONE;
	case AM_DNS_SERVFAIL:
	case AM_DNS_TIMEOUT:
	default:
		return AM_DMARC_DISC_TEMP;
	}
	for (i = 0; i < a->count; i++) {
		/* rdata is NUL-terminated; an embedded NUL ends the text. */
		const char *t = (const char *)a->rr[i].data;

		if (am_dmarc_is_record(t)) {
			n++;
			*rec = t;
		}
	}
	if (n > 1) {
		*rec = NULL;
		return AM_DMARC_DISC_MULTI;
	}
	return n == 1 ? AM_DMARC_DISC_FOUND : AM_DMARC_DISC_NONE;
}

enum am_dmarc_disc
am_dmarc_lookup_discover(am_dmarc *d, am_dmarc_lookup *lk, struct am_dns_answer **org_ans,
    const char **rec, struct am_dmarc_verdict *out)
{
	enum am_dmarc_disc r;

	am_strlcpy(out->record_domain, lk->domain, sizeof(out->record_domain));
	if (lk->q == NULL && lk->ans == NULL)	/* name too long for DNS */
		r = AM_DMARC_DISC_NONE;
	else
		r = am_dmarc_answer_select(lookup_answer(lk), rec);
	if (r == AM_DMARC_DISC_TEMP) {
		am_dmarc_reason_set(out, "DNS ", am_dns_status_name(lk->ans != NULL ?
		    lk->ans->status : AM_DNS_TIMEOUT), " for _dmarc.", lk->domain);
		return r;		/* never fall through to the org domain */
	}
	if (r != AM_DMARC_DISC_NONE || out->org_domain[0] == '\0' ||
	    strcmp(out->org_domain, lk->domain) == 0)
		return r;
	/* RFC 7489 6.6.3 step 3: the organizational domain. */
	{
		am_dns_query *q = am_dmarc_query_start(d, out->org_domain);

		*org_ans = q != NULL ? am_dns_wait(q) : NULL;
	}
	am_strlcpy(out->record_domain, out->org_domain, sizeof(out->record_domain));
	out->used_org_domain = true;
	r = am_dmarc_answer_select(*org_ans, rec);
	if (r == AM_DMARC_DISC_TEMP)
		am_dmarc_reason_set(out, "DNS ", am_dns_status_name(*org_ans != NULL ?
		    (*org_ans)->status : AM_DNS_TIMEOUT), " for _dmarc.", out->org_domain);
	return r;
}
