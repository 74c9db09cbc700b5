/*
 * spf-count.c - the DNS lookups an SPF record costs, for alignmilter-check.
 *
 * Owns: am_spf_count_lookups(), which counts the DNS-querying terms of a
 * record (RFC 7208 4.6.4) like check_host() would, fetching the records
 * of its include:s and redirect= through am_resolver.  No libspf2 and no
 * message involved: targets with macros are counted, not followed.
 *
 * Errors: everything lands in struct am_spf_lookups: a temporary DNS
 * failure sets dns_error (the count is then incomplete), the first
 * permanent problem on the way (no record, several, a bad one) fills
 * problem; nothing is logged.  Threads: any; the resolver is
 * thread-safe and the state is the caller's out.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/spf-int.h"

/* The DNS-querying mechanisms and modifiers (RFC 7208 4.6.4). */
enum spf_cterm { CT_NONE, CT_LOOKUP, CT_INCLUDE, CT_REDIRECT, CT_ALL };

/* Classify one term; target and tlen: the domain-spec of include or redirect. */
static enum spf_cterm
spf_count_classify(const char *s, size_t n, const char **target, size_t *tlen)
{
	size_t k = spf_record_modifier_name(s, n);

	*target = NULL;
	*tlen = 0;
	if (k > 0) {
		if (!spf_record_word_eq(s, k, "redirect"))
			return CT_NONE;		/* exp= and unknown modifiers */
		*target = s + k + 1;
		*tlen = n - k - 1;
		return CT_REDIRECT;
	}
	if (n > 0 && strchr("+-?~", s[0]) != NULL) {
		s++;
		n--;
	}
	for (k = 0; k < n && isalnum((unsigned char)s[k]); k++)
		;
	if (spf_record_word_eq(s, k, "include") && k < n) {
		*target = s + k + 1;
		*tlen = n - k - 1;
		return CT_INCLUDE;
	}
	if (spf_record_word_eq(s, k, "all"))
		return CT_ALL;
	if (spf_record_word_eq(s, k, "a") || spf_record_word_eq(s, k, "mx") || spf_record_word_eq(s, k, "ptr") ||
	    spf_record_word_eq(s, k, "exists"))
		return CT_LOOKUP;
	return CT_NONE;
}

static void spf_count_record_terms(am_resolver *, const char *, struct am_spf_lookups *, unsigned);

static void
spf_count_problem(struct am_spf_lookups *out, const char *a, const char *b, size_t blen)
{
	if (out->problem[0] == '\0')
		snprintf(out->problem, sizeof(out->problem), "%s%.*s", a, (int)blen, b);
}

/* Fetch the SPF record of target (tlen chars) and count its terms. */
static void
spf_count_follow(am_resolver *res, const char *target, size_t tlen, struct am_spf_lookups *out,
    unsigned depth)
{
	char name[AM_DOMAIN_MAX];
	struct am_dns_answer *a;
	const char *rec = NULL;
	size_t i, nrec = 0;

	if (memchr(target, '%', tlen) != NULL) {
		out->macros = true;	/* depends on the message: cannot follow */
		return;
	}
	if (tlen >= sizeof(name) || depth >= 2 * SPF_RFC_DNS_TERMS) {
		spf_count_problem(out, "cannot follow ", target, tlen);
		return;
	}
	memcpy(name, target, tlen);
	name[tlen] = '\0';
	am_domain_normalize(name);
	if ((a = am_dns_lookup(res, name, AM_RR_TXT)) == NULL) {
		out->dns_error = true;
		return;
	}
	if (a->status == AM_DNS_SERVFAIL || a->status == AM_DNS_TIMEOUT)
		out->dns_error = true;
	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++)
		if (spf_record_is_spf((const char *)a->rr[i].data)) {
			rec = (const char *)a->rr[i].data;
			nrec++;
		}
	if (!out->dns_error && nrec == 0)
		spf_count_problem(out, "no SPF record at ", name, strlen(name));
	else if (nrec > 1)
		spf_count_problem(out, "more than one SPF record at ", name, strlen(name));
	else if (rec != NULL) {
		char why[AM_REASON_MAX];

		if (!am_spf_record_check(rec, why, sizeof(why)))
			spf_count_problem(out, "the SPF record of ", name, strlen(name));
		else
			spf_count_record_terms(res, rec, out, depth + 1);
	}
	am_dns_answer_free(a);
}

static void
spf_count_record_terms(am_resolver *res, const char *rec, struct am_spf_lookups *out,
    unsigned depth)
{
	const char *redirect = NULL, *target;
	size_t i, n = 0, len = strlen(rec), rlen = 0, tlen;
	bool has_all = false;

	for (i = 6; i < len && out->lookups <= SPF_RFC_DNS_TERMS; i += n) {
		if (rec[i] == ' ') {
			n = 1;
			continue;
		}
		n = strcspn(rec + i, " ");
		switch (spf_count_classify(rec + i, n, &target, &tlen)) {
		case CT_LOOKUP:
			out->lookups++;
			break;
		case CT_INCLUDE:
			out->lookups++;
			spf_count_follow(res, target, tlen, out, depth);
			break;
		case CT_REDIRECT:
			redirect = target;
			rlen = tlen;
			break;
		case CT_ALL:
			has_all = true;
			break;
		case CT_NONE:
			break;
		}
	}
	/* RFC 7208 6.1: redirect= counts, after the mechanisms, unless "all" is there. */
	if (redirect != NULL && !has_all && out->lookups <= SPF_RFC_DNS_TERMS) {
		out->lookups++;
		spf_count_follow(res, redirect, rlen, out, depth);
	}
}

void
am_spf_count_lookups(am_resolver *res, const char *record, struct am_spf_lookups *out)
{
	memset(out, 0, sizeof(*out));
	if (record == NULL || !spf_record_is_spf(record)) {
		spf_count_problem(out, "not an SPF record", "", 0);
		return;
	}
	spf_count_record_terms(res, record, out, 0);
}
