/*
 * spf-dns.c - libspf2's DNS layer over am_resolver, and the RFC 7208
 * limits on a check's lookups.
 *
 * Owns: the SPF_dns_server_t whose lookups all go through am_resolver
 * (libspf2 never reads resolv.conf), the conversion of our answers into
 * libspf2's, query names cut to 253 octets (RFC 7208 4.8), and the limits
 * libspf2 gets wrong or lacks: 10 DNS-querying terms across includes, 2
 * void lookups, the first 10 PTR names (RFC 7208 4.6.4), and an overall
 * time budget of SPF_BUDGET_LOOKUPS lookup timeouts.  TXT answers go
 * through spf_record_filter() (spf-record.c) on their way.
 *
 * Errors: a lookup always answers libspf2: DNS failures, a budget that
 * ran out and lookups past a limit become TRY_AGAIN (the limits also set
 * the check's *_exceeded flags, which spf.c turns into the verdict),
 * NXDOMAIN HOST_NOT_FOUND, an empty answer NO_DATA; NULL only when
 * libspf2 cannot allocate.  Nothing is logged.
 *
 * Threads: a check's layer and its struct spf_call belong to the thread
 * running that check (libspf2 calls the layer synchronously); the
 * template's layer has no check and answers TRY_AGAIN.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/spf-int.h"

#define SPF_BUDGET_LOOKUPS	4	/* whole check: this many lookup timeouts */

/* ---- a check's state: budget, names, MX/PTR targets ---------------------- */

static void
spf_dns_deadline_set(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
spf_dns_deadline_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

void
spf_dns_call_init(struct spf_call *call, am_resolver *res, int af)
{
	memset(call, 0, sizeof(*call));
	call->res = res;
	call->af = af;
	spf_dns_deadline_set(&call->deadline, am_resolver_timeout_ms(res) * SPF_BUDGET_LOOKUPS);
}

/*
 * A domain usable as a check_host() <domain> or a query name: labels of
 * 1..63 octets, at most 253 octets, one trailing dot allowed.  With
 * multi_label, also at least two labels (RFC 7208 4.3) and no domain
 * literal.
 */
bool
spf_dns_domain_ok(const char *d, bool multi_label)
{
	size_t len, label = 0, labels = 0, i;

	if (d == NULL || *d == '\0')
		return false;
	len = strlen(d);
	if (d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
		} else if (++label > 63)
			return false;
	}
	if (label == 0)
		return false;
	labels++;
	if (multi_label && (labels < 2 || d[0] == '['))
		return false;
	return true;
}

/*
 * RFC 7208 4.8: a name longer than 253 octets (from macro expansion) loses
 * labels on the left until it fits.  Writes into buf; returns false when
 * nothing sensible is left.
 */
static bool
spf_dns_query_name(const char *domain, char *buf, size_t buflen)
{
	const char *p = domain;
	size_t len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	while (len > 253) {
		const char *dot = memchr(p, '.', len);

		if (dot == NULL)
			return false;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (len + 1 > buflen)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return spf_dns_domain_ok(buf, false);
}

static bool
spf_dns_is_subname(const struct spf_call *call, const char *name)
{
	size_t i;

	for (i = 0; i < call->nsub; i++)
		if (strcasecmp(call->sub[i], name) == 0)
			return true;
	return false;
}

static void
spf_dns_remember_subnames(struct spf_call *call, const struct am_dns_answer *a)
{
	size_t i;

	call->nsub = 0;
	for (i = 0; i < a->count && call->nsub < SPF_SUBNAMES; i++)
		am_strlcpy(call->sub[call->nsub++], (const char *)a->rr[i].data,
		    sizeof(call->sub[0]));
}

/* ---- the layer ----------------------------------------------------------- */

static SPF_dns_rr_t *
spf_dns_status(SPF_dns_server_t *layer, const char *domain, ns_type type, SPF_dns_stat_t herrno)
{
	return SPF_dns_rr_new_init(layer, domain, type, 0, herrno);
}

static int
spf_dns_am_type(ns_type type)
{
	switch (type) {
	case ns_t_a:	return AM_RR_A;
	case ns_t_aaaa:	return AM_RR_AAAA;
	case ns_t_mx:	return AM_RR_MX;
	case ns_t_ptr:	return AM_RR_PTR;
	case ns_t_txt:	return AM_RR_TXT;
	default:	return 0;
	}
}

/* Store one rdata item as rr->rr[idx]; false on allocation failure. */
static bool
spf_dns_put_rdata(SPF_dns_rr_t *rr, int idx, const void *data, size_t len, bool text)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS)
		return false;
	memcpy(rr->rr[idx], data, len);
	if (text)
		((char *)rr->rr[idx])[len] = '\0';
	return true;
}

/* Convert an OK answer into libspf2's form. */
static SPF_dns_rr_t *
spf_dns_from_answer(SPF_dns_server_t *layer, struct spf_call *call, const char *domain,
    ns_type type, const struct am_dns_answer *a)
{
	SPF_dns_rr_t *rr;
	size_t i, max = a->count;
	int n = 0;
	char *t;
	bool ok;

	rr = SPF_dns_rr_new_init(layer, domain, type, (int)a->ttl, NETDB_SUCCESS);
	if (rr == NULL)
		return NULL;
	if (type == ns_t_ptr && max > SPF_RFC_PTR_NAMES)
		max = SPF_RFC_PTR_NAMES;	/* RFC: ignore the rest, not permerror */
	for (i = 0; i < max; i++) {
		const struct am_dns_rr *r = &a->rr[i];

		switch (type) {
		case ns_t_a:
			ok = r->len != 4 || spf_dns_put_rdata(rr, n, r->data, 4, false);
			if (r->len == 4 && ok)
				n++;
			break;
		case ns_t_aaaa:
			ok = r->len != 16 || spf_dns_put_rdata(rr, n, r->data, 16, false);
			if (r->len == 16 && ok)
				n++;
			break;
		case ns_t_txt:
			t = spf_record_filter(call, (const char *)r->data, r->len);
			ok = spf_dns_put_rdata(rr, n, t, strlen(t), true);
			free(t);
			if (ok)
				n++;
			break;
		default:	/* MX, PTR: names as text, no trailing dot */
			ok = spf_dns_put_rdata(rr, n, r->data, strnlen((const char *)r->data, r->len), true);
			if (ok)
				n++;
			break;
		}
		if (!ok) {
			SPF_dns_rr_free(rr);
			return NULL;
		}
	}
	rr->num_rr = n;
	return rr;
}

/* Void-lookup accounting (RFC 7208 4.6.4) for terms' A/AAAA/MX/PTR queries. */
static void
spf_dns_count_void(struct spf_call *call, ns_type type, const char *name, bool is_void)
{
	if (type == ns_t_txt)
		return;		/* record lookups: a missing one is none/permerror */
	if ((type == ns_t_a || type == ns_t_aaaa) && spf_dns_is_subname(call, name))
		return;		/* an MX/PTR target, not a term */
	if (is_void && ++call->void_lookups > SPF_RFC_VOID_LIMIT)
		call->void_exceeded = true;
}

/*
 * RFC 7208 4.6.4: at most 10 terms that query DNS (include, a, mx, ptr,
 * exists, redirect) per check.  libspf2 counts them per record only (an
 * include starts from zero), so we count the lookups: every MX and PTR
 * query, every A/AAAA query except those for MX/PTR targets, and every
 * TXT answer holding an SPF record except the first (the checked
 * domain's own).  TXT answers without one are exp= texts (not terms) or
 * targets without a record (permerror anyway).  Returns false when this
 * lookup is one too many.
 */
static bool
spf_dns_count_term(struct spf_call *call, ns_type type, const char *name)
{
	if (type == ns_t_txt)
		return true;		/* counted by spf_dns_count_record() */
	if ((type == ns_t_a || type == ns_t_aaaa) && spf_dns_is_subname(call, name))
		return true;
	if (++call->terms > SPF_RFC_DNS_TERMS)
		call->terms_exceeded = true;
	return !call->terms_exceeded;
}

static bool
spf_dns_count_record(struct spf_call *call, const struct am_dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->count; i++)
		if (spf_record_is_spf((const char *)a->rr[i].data))
			break;
	if (i == a->count)
		return true;
	if (!call->record_seen) {
		call->record_seen = true;
		return true;
	}
	if (++call->terms > SPF_RFC_DNS_TERMS)
		call->terms_exceeded = true;
	return !call->terms_exceeded;
}

static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type, int should_cache)
{
	struct spf_call *call = layer->hook;
	struct am_dns_answer *a;
	SPF_dns_rr_t *rr;
	char name[AM_DOMAIN_MAX];
	int amtype;
	bool is_void;

	(void)should_cache;		/* the resolver caches */
	if (domain == NULL)
		domain = "";
	/* RFC 7208 3.1: type SPF (99) is not queried; answering "no data"
	 * makes libspf2 go on with TXT at once. */
	if (call == NULL || (amtype = spf_dns_am_type(type)) == 0)
		return spf_dns_status(layer, domain, type, call == NULL ? TRY_AGAIN : NO_DATA);
	if (!spf_dns_query_name(domain, name, sizeof(name))) {
		spf_dns_count_void(call, type, domain, true);
		return spf_dns_status(layer, domain, type, HOST_NOT_FOUND);
	}
	/* Past a limit the result is already decided (permerror, or
	 * temperror for the budget): stop querying. */
	if (call->void_exceeded || call->terms_exceeded || !spf_dns_count_term(call, type, name))
		return spf_dns_status(layer, domain, type, TRY_AGAIN);
	if (spf_dns_deadline_passed(&call->deadline)) {
		call->budget_exceeded = true;
		return spf_dns_status(layer, domain, type, TRY_AGAIN);
	}
	a = am_dns_lookup(call->res, name, amtype);
	if (a == NULL)
		return spf_dns_status(layer, domain, type, TRY_AGAIN);
	switch (a->status) {
	case AM_DNS_OK:
		if (type == ns_t_txt && !spf_dns_count_record(call, a)) {
			rr = spf_dns_status(layer, domain, type, TRY_AGAIN);
			break;
		}
		is_void = a->count == 0;
		spf_dns_count_void(call, type, name, is_void);
		if (type == ns_t_mx || type == ns_t_ptr)
			spf_dns_remember_subnames(call, a);
		rr = is_void ? spf_dns_status(layer, domain, type, NO_DATA) :
		    spf_dns_from_answer(layer, call, domain, type, a);
		break;
	case AM_DNS_NXDOMAIN:
		spf_dns_count_void(call, type, name, true);
		rr = spf_dns_status(layer, domain, type, HOST_NOT_FOUND);
		break;
	case AM_DNS_NODATA:
		spf_dns_count_void(call, type, name, true);
		rr = spf_dns_status(layer, domain, type, NO_DATA);
		break;
	default:		/* SERVFAIL, TIMEOUT */
		rr = spf_dns_status(layer, domain, type, TRY_AGAIN);
		break;
	}
	am_dns_answer_free(a);
	return rr;
}

static void
spf_dns_layer_destroy(SPF_dns_server_t *layer)
{
	free(layer);
}

/* Per-check layers live on the stack and are never destroyed by libspf2. */
void
spf_dns_layer_init(SPF_dns_server_t *layer, struct spf_call *call)
{
	memset(layer, 0, sizeof(*layer));
	layer->destroy = spf_dns_layer_destroy;
	layer->lookup = spf_dns_lookup;
	layer->get_spf = NULL;
	layer->get_exp = NULL;
	layer->add_cache = NULL;
	layer->layer_below = NULL;
	layer->name = "alignmilter";
	layer->debug = 0;
	layer->hook = call;
}
