/*
 * resolver.c - the one place alignmilter does DNS (see resolver.h).
 *
 * Owns: answers (construction, decoding of record data, free), the
 * resolver object and its queries: per-query deadlines, cancellation,
 * the memory of recent timeouts, the in-process answer cache in front of
 * the backend (dnscache.c), and tear-down with queries still open.  Two
 * backends sit behind the one API: libunbound (live; resolver-unbound.c,
 * through resolver-int.h) and a synchronous backend function (unit
 * tests, answered at start, bypassing cache, deadlines and name checks).
 *
 * Errors: configuration errors are written to err and NULL returned;
 * lookups never fail as calls: every failure is an answer (NXDOMAIN for a
 * name that cannot exist, SERVFAIL, TIMEOUT at the deadline).  Out of
 * memory aborts (util.h).  Nothing is logged here; the backend logs.
 * Metrics (util/metrics.h): cache hits and misses, each backend query's
 * outcome, the cache's bytes, backend send failures as DNS errors.
 *
 * Threads: any thread may start, wait for and cancel queries; the
 * backend's pump thread delivers answers.  All query state is guarded by
 * the resolver's mutex; a waiter sleeps on its query's condition variable
 * until the answer or the deadline.  The backend is never called with the
 * mutex held (see resolver-int.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Utility library. */
#include "util/metrics.h"
#include "util/util.h"

/* DNS library. */
#include "dns/dnscache.h"
#include "dns/resolver-int.h"
#include "dns/resolver.h"

/*
 * A lookup that timed out is remembered for one DNSTimeout: asking the
 * same name again within that time (SPF after its prefetch, libopendkim
 * after ours) answers TIMEOUT at once instead of waiting again, so a
 * message facing a dead nameserver waits about one DNSTimeout in all.
 */
#define RECENT_TIMEOUTS 64

struct resolver_recent_timeout {
	char	name[256];
	int	rrtype;
	struct timespec until;
};

struct am_resolver {
	unsigned timeout_ms;
	/* test backend */
	am_dns_backend_fn backend;
	void	*backend_arg;
	/* libunbound backend (resolver-unbound.c) and the queries it serves */
	am_resolver_ub *ub;
	pthread_mutex_t mu;		/* guards all query state below */
	pthread_condattr_t condattr;	/* CLOCK_MONOTONIC deadlines */
	struct am_dns_query *queries;	/* started, not yet waited/cancelled */
	struct resolver_recent_timeout recent[RECENT_TIMEOUTS]; /* ring, guarded by mu */
	unsigned recent_next;
	am_dnscache *cache;		/* warm answers without a libunbound round trip */
};

/* ---- answers ------------------------------------------------------------ */

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

/* ---- answer decoding ---------------------------------------------------- */

#define NAME_TEXT_MAX	1024	/* 255 wire octets, each at most "\DDD" */

/*
 * Decode one uncompressed wire name at p (at most len octets) into text
 * without the trailing dot ("." for the root).  A dot or backslash inside
 * a label and octets outside printable ASCII are escaped as in zone files
 * ("\.", "\032"), so the text never reads as a different name.
 * Returns octets used, 0 if malformed.
 */
static size_t
resolver_wire_name_text(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen < 2)
		return 0;
	for (;;) {
		size_t lab, k;

		if (i >= len || i >= 255)
			return 0;
		lab = p[i++];
		if (lab == 0)
			break;
		if (lab > 63 || i + lab > len)	/* pointers/extended labels never appear here */
			return 0;
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < lab; k++) {
			unsigned char c = p[i + k];

			if (o + 5 >= outlen)
				return 0;
			if (c == '.' || c == '\\')
				o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
			else
				out[o++] = (char)c;
		}
		i += lab;
		if (o + 1 >= outlen)
			return 0;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return i;
}

/* Add one record's rdata to a in resolver.h's form; false if malformed. */
bool
am_resolver_rdata_add(struct am_dns_answer *a, int rrtype, const unsigned char *d, size_t len)
{
	char name[NAME_TEXT_MAX];
	unsigned char *txt;
	size_t i, o, used;

	switch (rrtype) {
	case AM_RR_A:
	case AM_RR_AAAA:
		if (len != (rrtype == AM_RR_A ? 4u : 16u))
			return false;
		am_dns_answer_add(a, d, len, 0);
		return true;
	case AM_RR_MX:
		if (len < 3)
			return false;
		used = resolver_wire_name_text(d + 2, len - 2, name, sizeof(name));
		if (used == 0 || used != len - 2)
			return false;
		am_dns_answer_add(a, name, strlen(name), ((unsigned)d[0] << 8) | d[1]);
		return true;
	case AM_RR_PTR:
	case AM_RR_CNAME:
		used = resolver_wire_name_text(d, len, name, sizeof(name));
		if (used == 0 || used != len)
			return false;
		am_dns_answer_add(a, name, strlen(name), 0);
		return true;
	case AM_RR_TXT:
		/* <len><octets> strings, concatenated: never longer than rdata */
		txt = am_xmalloc(len + 1);
		for (i = 0, o = 0; i < len; i += 1 + d[i]) {
			if (i + 1 + d[i] > len) {
				free(txt);
				return false;
			}
			memcpy(txt + o, d + i + 1, d[i]);
			o += d[i];
		}
		am_dns_answer_add(a, txt, o, 0);
		free(txt);
		return true;
	default:
		am_dns_answer_add(a, d, len, 0);
		return true;
	}
}

void
am_resolver_canonname(struct am_dns_answer *a, const char *name)
{
	size_t n = am_strlcpy(a->canonname, name, sizeof(a->canonname));

	if (n > 1 && n < sizeof(a->canonname) && a->canonname[n - 1] == '.')
		a->canonname[n - 1] = '\0';
}

/* ---- deadlines ---------------------------------------------------------- */

static void
resolver_deadline(struct timespec *ts, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
resolver_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Called with r->mu held. */
static bool
resolver_recently_timed_out(const am_resolver *r, const char *name, int rrtype)
{
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < RECENT_TIMEOUTS; i++) {
		const struct resolver_recent_timeout *t = &r->recent[i];

		if (t->rrtype == rrtype && resolver_before(&now, &t->until) &&
		    strcasecmp(t->name, name) == 0)
			return true;
	}
	return false;
}

/* Called with r->mu held. */
static void
resolver_remember_timeout(am_resolver *r, const am_dns_query *q)
{
	struct resolver_recent_timeout *t = &r->recent[r->recent_next++ % RECENT_TIMEOUTS];

	am_strlcpy(t->name, q->name, sizeof(t->name));
	t->rrtype = q->rrtype;
	resolver_deadline(&t->until, r->timeout_ms);
}

/*
 * The same name asked again while a lookup is in flight (libunbound
 * merges the two) waits no longer than the first: share its deadline.
 * Called with r->mu held.
 */
static void
resolver_share_deadline(am_resolver *r, am_dns_query *q)
{
	const am_dns_query *o;

	for (o = r->queries; o != NULL; o = o->next)
		if (!o->done && o->rrtype == q->rrtype && resolver_before(&o->deadline, &q->deadline) &&
		    strcasecmp(o->name, q->name) == 0)
			q->deadline = o->deadline;
}

/* ---- queries ------------------------------------------------------------ */

static void
resolver_query_link(am_resolver *r, am_dns_query *q)
{
	q->next = r->queries;
	if (r->queries != NULL)
		r->queries->prev = q;
	r->queries = q;
}

static void
resolver_query_unlink(am_resolver *r, am_dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->queries == q)
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static am_dns_query *
resolver_query_start(am_resolver *r, const char *name, int rrtype)
{
	am_dns_query *q = am_xcalloc(1, sizeof(*q));
	struct am_dns_answer *failed;
	size_t nlen = strlen(name);
	int id = 0;

	q->res = r;
	q->rrtype = rrtype;
	am_strlcpy(q->name, name, sizeof(q->name));
	pthread_cond_init(&q->cond, &r->condattr);
	q->cond_ready = true;
	resolver_deadline(&q->deadline, r->timeout_ms);
	/* Longer than any domain name (253 + optional dot): cannot exist. */
	if (nlen == 0 || nlen > 254 || (nlen == 254 && name[253] != '.')) {
		q->answer = am_dns_answer_new(AM_DNS_NXDOMAIN, rrtype);
		am_resolver_canonname(q->answer, q->name);
		q->done = true;
		q->res = NULL;		/* complete: may outlive the resolver */
		return q;
	}
	/* Warm: answered from our own cache, no trip through the backend's threads. */
	if ((q->answer = am_dnscache_get(r->cache, name, rrtype)) != NULL) {
		am_metrics_count(AM_MET_DNS_CACHE_HITS);
		q->done = true;
		q->res = NULL;
		return q;
	}
	am_metrics_count(AM_MET_DNS_CACHE_MISSES);
	pthread_mutex_lock(&r->mu);
	if (resolver_recently_timed_out(r, name, rrtype)) {
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
		am_resolver_canonname(q->answer, q->name);
		q->done = true;
		q->res = NULL;
		pthread_mutex_unlock(&r->mu);
		return q;
	}
	resolver_share_deadline(r, q);
	resolver_query_link(r, q);
	pthread_mutex_unlock(&r->mu);
	/* The answer may arrive (on the pump thread) before this returns. */
	failed = am_resolver_ub_send(r->ub, q, &id);
	pthread_mutex_lock(&r->mu);
	q->backend_id = id;
	if (failed != NULL) {
		q->answer = failed;
		q->done = true;
	}
	pthread_mutex_unlock(&r->mu);
	if (failed != NULL)
		am_metrics_error(AM_MET_ERR_DNS);	/* the backend logged it */
	return q;
}

/*
 * Make sure the backend will never touch q again.  Called and returns
 * with r->mu held.  If the backend cannot cancel, the pump thread has
 * taken the query and is delivering its answer: wait for it.
 */
static void
resolver_query_settle(am_resolver *r, am_dns_query *q)
{
	bool cancelled;

	if (q->done)
		return;
	pthread_mutex_unlock(&r->mu);
	cancelled = am_resolver_ub_cancel(r->ub, q->backend_id);
	pthread_mutex_lock(&r->mu);
	if (cancelled)
		return;
	while (!q->done)
		pthread_cond_wait(&q->cond, &r->mu);
}

static void
resolver_query_free(am_dns_query *q)
{
	pthread_cond_destroy(&q->cond);
	am_dns_answer_free(q->answer);
	free(q);
}

/* Metrics: a backend query's outcome (metrics.h's closed set). */
static void
resolver_count_outcome(const struct am_dns_answer *a)
{
	static const unsigned outcome[] = {
		[AM_DNS_OK] = AM_MET_DNS_OK, [AM_DNS_NXDOMAIN] = AM_MET_DNS_NXDOMAIN,
		[AM_DNS_NODATA] = AM_MET_DNS_NODATA, [AM_DNS_SERVFAIL] = AM_MET_DNS_SERVFAIL,
		[AM_DNS_TIMEOUT] = AM_MET_DNS_TIMEOUT,
	};

	if (!am_metrics_on() || a == NULL)
		return;
	am_metrics_count1(AM_MET_DNS_QUERIES, (unsigned)a->status < sizeof(outcome) / sizeof(outcome[0])
	    ? outcome[a->status] : AM_MET_DNS_OTHER);
}

static struct am_dns_answer *
resolver_query_wait(am_resolver *r, am_dns_query *q)
{
	struct am_dns_answer *a;

	pthread_mutex_lock(&r->mu);
	while (!q->done) {
		if (pthread_cond_timedwait(&q->cond, &r->mu, &q->deadline) == ETIMEDOUT)
			break;
	}
	if (!q->done) {
		resolver_query_settle(r, q);
		resolver_remember_timeout(r, q);
		/* Either cancelled or answered after the deadline: too late. */
		am_dns_answer_free(q->answer);
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, q->rrtype);
		am_resolver_canonname(q->answer, q->name);
		q->done = true;
	}
	resolver_query_unlink(r, q);
	pthread_mutex_unlock(&r->mu);
	a = q->answer;
	q->answer = NULL;
	resolver_query_free(q);
	resolver_count_outcome(a);
	return a;
}

static void
resolver_query_cancel(am_resolver *r, am_dns_query *q)
{
	pthread_mutex_lock(&r->mu);
	resolver_query_settle(r, q);
	resolver_query_unlink(r, q);
	pthread_mutex_unlock(&r->mu);
	resolver_query_free(q);
}

/* Runs on the pump thread: the backend's answer to q. */
void
am_resolver_deliver(am_dns_query *q, struct am_dns_answer *a)
{
	am_resolver *r = q->res;

	am_dnscache_put(r->cache, q->name, q->rrtype, a);
	if (am_metrics_on()) {
		size_t bytes, entries;

		/* The pump thread, not a message's: the cache's read lock is no hot-path cost. */
		am_dnscache_usage(r->cache, &bytes, &entries);
		am_metrics_gauge_set(AM_MET_DNS_CACHE_BYTES, (long long)bytes);
	}
	pthread_mutex_lock(&r->mu);
	q->answer = a;
	q->done = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&r->mu);
	/* q may be freed by its waiter from here on. */
}

/* ---- life cycle --------------------------------------------------------- */

/*
 * Tear down.  With the pump stopped no answer can arrive any more, so
 * queries still outstanding are completed as TIMEOUT and detached: a
 * late am_dns_wait/am_dns_cancel on them then touches only the query.
 */
static void
resolver_free(am_resolver *r)
{
	am_dns_query *q, *next;

	am_resolver_ub_stop(r->ub);
	pthread_mutex_lock(&r->mu);
	for (q = r->queries; q != NULL; q = next) {
		next = q->next;
		if (!q->done) {
			q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, q->rrtype);
			am_resolver_canonname(q->answer, q->name);
			q->done = true;
		}
		q->res = NULL;
		q->prev = q->next = NULL;
	}
	r->queries = NULL;
	pthread_mutex_unlock(&r->mu);
	am_resolver_ub_free(r->ub);
	am_dnscache_free(r->cache);
	pthread_condattr_destroy(&r->condattr);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

bool
am_resolver_check_nameservers(const char *nameservers, char *err, size_t errlen)
{
	return am_resolver_ub_check(nameservers, err, errlen);
}

am_resolver *
am_resolver_new(const char *nameservers, unsigned timeout_ms, char *err, size_t errlen)
{
	return am_resolver_new_sized(nameservers, timeout_ms, AM_RESOLVER_CACHE_DEFAULT, err, errlen);
}

am_resolver *
am_resolver_new_sized(const char *nameservers, unsigned timeout_ms, size_t cache_bytes,
    char *err, size_t errlen)
{
	am_resolver *r;

	/* Blank means the system's resolv.conf. */
	if (nameservers != NULL && nameservers[strspn(nameservers, " \t")] == '\0')
		nameservers = NULL;
	/* Validate before building anything: the error names the entry. */
	if (nameservers != NULL && !am_resolver_ub_check(nameservers, err, errlen))
		return NULL;
	r = am_xcalloc(1, sizeof(*r));
	r->timeout_ms = timeout_ms;
	r->cache = am_dnscache_new(cache_bytes);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&r->condattr);
	pthread_condattr_setclock(&r->condattr, CLOCK_MONOTONIC);
	if ((r->ub = am_resolver_ub_new(nameservers, err, errlen)) == NULL) {
		resolver_free(r);
		return NULL;
	}
	return r;
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

void
am_resolver_free(am_resolver *r)
{
	if (r == NULL)
		return;
	if (r->backend != NULL) {
		free(r);
		return;
	}
	resolver_free(r);
}

unsigned
am_resolver_timeout_ms(const am_resolver *r)
{
	return r->timeout_ms;
}

static am_dns_query *
resolver_backend_start(am_resolver *r, const char *name, int rrtype)
{
	am_dns_query *q = am_xcalloc(1, sizeof(*q));

	/* Complete at once: q->res stays NULL, q may outlive r. */
	q->answer = r->backend(r->backend_arg, name, rrtype);
	if (q->answer == NULL)
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
	if (q->answer->canonname[0] == '\0')
		am_strlcpy(q->answer->canonname, name, sizeof(q->answer->canonname));
	q->done = true;
	resolver_count_outcome(q->answer);
	return q;
}

am_dns_query *
am_dns_start(am_resolver *r, const char *name, int rrtype)
{
	if (r->backend != NULL)
		return resolver_backend_start(r, name, rrtype);
	return resolver_query_start(r, name, rrtype);
}

struct am_dns_answer *
am_dns_wait(am_dns_query *q)
{
	struct am_dns_answer *a;

	/* Queries complete when started, and those detached by
	 * am_resolver_free, own no backend state (q->res is NULL). */
	if (q->res != NULL)
		return resolver_query_wait(q->res, q);
	a = q->answer;
	q->answer = NULL;
	if (q->cond_ready)
		pthread_cond_destroy(&q->cond);
	free(q);
	return a;
}

void
am_dns_cancel(am_dns_query *q)
{
	if (q == NULL)
		return;
	if (q->res != NULL) {
		resolver_query_cancel(q->res, q);
		return;
	}
	am_dns_answer_free(am_dns_wait(q));
}

struct am_dns_answer *
am_dns_lookup(am_resolver *r, const char *name, int rrtype)
{
	return am_dns_wait(am_dns_start(r, name, rrtype));
}
