/*
 * resolver.c - the one place alignmilter does DNS (see resolver.h).
 *
 * Owns: answer construction/free and query dispatch.  Two engines sit
 * behind one API: libunbound (live; resolver_unbound part below) and a
 * synchronous backend function (unit tests).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver.h"
#include "util.h"

struct am_resolver {
	unsigned timeout_ms;
	am_dns_backend_fn backend;
	void	*backend_arg;
};

struct am_dns_query {
	am_resolver *res;
	struct am_dns_answer *answer;	/* backend: answered at start */
};

const char *
am_dns_status_name(enum am_dns_status s)
{
	switch (s) {
	case AM_DNS_OK:		return "ok";
	case AM_DNS_NXDOMAIN:	return "nxdomain";
	case AM_DNS_NODATA:	return "nodata";
	case AM_DNS_SERVFAIL:	return "servfail";
	case AM_DNS_TIMEOUT:	return "timeout";
	}
	return "unknown";
}

struct am_dns_answer *
am_dns_answer_new(enum am_dns_status status, int rrtype)
{
	struct am_dns_answer *a = am_xcalloc(1, sizeof(*a));

	a->status = status;
	a->rrtype = rrtype;
	return a;
}

void
am_dns_answer_add(struct am_dns_answer *a, const void *data, size_t len, unsigned mx_pref)
{
	struct am_dns_rr *rr;

	a->rr = am_xreallocarray(a->rr, a->count + 1, sizeof(*a->rr));
	rr = &a->rr[a->count++];
	rr->data = am_xmalloc(len + 1);
	memcpy(rr->data, data, len);
	rr->data[len] = '\0';
	rr->len = len;
	rr->mx_pref = mx_pref;
	a->status = AM_DNS_OK;
}

void
am_dns_answer_free(struct am_dns_answer *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->count; i++)
		free(a->rr[i].data);
	free(a->rr);
	free(a);
}

am_resolver *
am_resolver_new_backend(am_dns_backend_fn fn, void *arg, unsigned timeout_ms)
{
	am_resolver *r = am_xcalloc(1, sizeof(*r));

	r->backend = fn;
	r->backend_arg = arg;
	r->timeout_ms = timeout_ms;
	return r;
}

am_resolver *
am_resolver_new(const char *nameservers, unsigned timeout_ms, char *err, size_t errlen)
{
	(void)nameservers;
	(void)timeout_ms;
	snprintf(err, errlen, "libunbound resolver not built yet");
	return NULL;
}

void
am_resolver_free(am_resolver *r)
{
	free(r);
}

unsigned
am_resolver_timeout_ms(const am_resolver *r)
{
	return r->timeout_ms;
}

am_dns_query *
am_dns_start(am_resolver *r, const char *name, int rrtype)
{
	am_dns_query *q = am_xcalloc(1, sizeof(*q));

	q->res = r;
	q->answer = r->backend(r->backend_arg, name, rrtype);
	if (q->answer == NULL)
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
	if (q->answer->canonname[0] == '\0')
		am_strlcpy(q->answer->canonname, name, sizeof(q->answer->canonname));
	return q;
}

struct am_dns_answer *
am_dns_wait(am_dns_query *q)
{
	struct am_dns_answer *a = q->answer;

	free(q);
	return a;
}

void
am_dns_cancel(am_dns_query *q)
{
	if (q == NULL)
		return;
	am_dns_answer_free(q->answer);
	free(q);
}

struct am_dns_answer *
am_dns_lookup(am_resolver *r, const char *name, int rrtype)
{
	return am_dns_wait(am_dns_start(r, name, rrtype));
}
