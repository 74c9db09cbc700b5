/*
 * resolver.c - the one place alignmilter does DNS (see resolver.h).
 *
 * Owns: answer construction/free, query dispatch, and the libunbound
 * engine: forwarder parsing, one ub_ctx with its pump thread, per-query
 * deadlines and cancellation, and decoding ub_result into am_dns_answer.
 * Two engines sit behind one API: libunbound (live) and a synchronous
 * backend function (unit tests, answered at start).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "dns/dnscache.h"
#include "util/netlist.h"
#include "dns/resolver.h"
#include "util/util.h"

/*
 * A lookup that timed out is remembered for one DNSTimeout: asking the
 * same name again within that time (SPF after its prefetch, libopendkim
 * after ours) answers TIMEOUT at once instead of waiting again, so a
 * message facing a dead nameserver waits about one DNSTimeout in all.
 */
#define RECENT_TIMEOUTS 64
#define DNSCACHE_ENTRIES 20000		/* answers kept in process (see dnscache.h) */

struct recent_timeout {
	char	name[256];
	int	rrtype;
	struct timespec until;
};

struct am_resolver {
	unsigned timeout_ms;
	/* backend engine (tests) */
	am_dns_backend_fn backend;
	void	*backend_arg;
	/* libunbound engine */
	struct ub_ctx *ctx;
	pthread_t pump;
	bool	pump_running;
	int	wake[2];		/* self-pipe: stops the pump */
	pthread_mutex_t mu;		/* guards all query state below */
	pthread_condattr_t condattr;	/* CLOCK_MONOTONIC deadlines */
	struct am_dns_query *queries;	/* started, not yet waited/cancelled */
	struct recent_timeout recent[RECENT_TIMEOUTS]; /* ring, guarded by mu */
	unsigned recent_next;
	am_dnscache *cache;		/* warm answers without a libunbound round trip */
};

struct am_dns_query {
	am_resolver *res;		/* NULL once detached by am_resolver_free */
	struct am_dns_answer *answer;	/* set once done */
	/* libunbound engine only: */
	bool	done;
	int	async_id;
	int	rrtype;
	char	name[256];
	struct timespec deadline;
	pthread_cond_t cond;
	struct am_dns_query *prev, *next;
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

/* ------------------------------------------------------------------------
 * libunbound engine.
 *
 * One ub_ctx per resolver in thread mode; one pump thread waits on
 * ub_fd() and runs ub_process(), which calls ub_answer_cb() for each
 * answer.  Callbacks therefore only ever run on the pump thread.  All
 * query state is guarded by the resolver's mutex; a waiter sleeps on its
 * query's condition variable until the answer or the query's deadline,
 * then cancels: libunbound has no per-query timeout and retries a silent
 * server for far longer than any mail check may wait.
 *
 * Lock order: never call into libunbound while holding r->mu (it takes
 * its own locks and may block on its pipes, which the pump drains).
 * ------------------------------------------------------------------------
 */

/* TEST-NET reverse zones libunbound answers NXDOMAIN itself (RFC 6303
 * defaults).  Transparent lets them through to the nameservers, so PTR
 * records there (used by tests and documentation examples) resolve. */
static const char *const transparent_zones[] = {
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

#define FWD_ENTRY_MAX	80	/* longest "IPv6@PORT" plus room for spaces */

static void
timespec_deadline(struct timespec *ts, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Validate the whole Nameservers list and hand each entry to ctx (ctx may
 * be NULL to only validate).  Entries are comma separated; spaces around
 * them are ignored; an empty entry is an error (a stray comma is a typo).
 */
static bool
fwd_list_apply(const char *spec, struct ub_ctx *ctx, char *err, size_t errlen)
{
	const char *p = spec;
	unsigned n = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char entry[FWD_ENTRY_MAX], ip[64];
		char *e;
		unsigned port;
		int rc;

		n++;
		if (len >= sizeof(entry)) {
			snprintf(err, errlen, "Nameservers entry %u is too long", n);
			return false;
		}
		memcpy(entry, p, len);
		entry[len] = '\0';
		e = am_trim(entry);
		if (*e == '\0') {
			snprintf(err, errlen, "Nameservers entry %u is empty", n);
			return false;
		}
		if (!am_nameserver_parse(e, strlen(e), ip, sizeof(ip), &port)) {
			snprintf(err, errlen, "Nameservers entry %u \"%s\": expected an IPv4 or IPv6 "
			    "address, optionally @PORT (1-65535)", n, e);
			return false;
		}
		if (ctx != NULL && (rc = ub_ctx_set_fwd(ctx, e)) != 0) {
			snprintf(err, errlen, "Nameservers entry %u \"%s\": %s", n, e, ub_strerror(rc));
			return false;
		}
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

static bool
ub_configure(struct ub_ctx *ctx, const char *nameservers, char *err, size_t errlen)
{
	char zone[128];
	size_t i;
	int rc;

	if ((rc = ub_ctx_async(ctx, 1)) != 0) {
		snprintf(err, errlen, "libunbound thread mode: %s", ub_strerror(rc));
		return false;
	}
	/* Loopback forwarders (a local unbound, systemd-resolved, tests)
	 * are silently skipped unless this is off. */
	if ((rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0) {
		snprintf(err, errlen, "libunbound do-not-query-localhost: %s", ub_strerror(rc));
		return false;
	}
	for (i = 0; i < sizeof(transparent_zones) / sizeof(transparent_zones[0]); i++) {
		snprintf(zone, sizeof(zone), "%s transparent", transparent_zones[i]);
		if ((rc = ub_ctx_set_option(ctx, "local-zone:", zone)) != 0) {
			snprintf(err, errlen, "libunbound local-zone %s: %s", zone, ub_strerror(rc));
			return false;
		}
	}
	if (nameservers == NULL || *nameservers == '\0') {
		if ((rc = ub_ctx_resolvconf(ctx, NULL)) != 0) {
			snprintf(err, errlen, "cannot use /etc/resolv.conf: %s%s%s", ub_strerror(rc),
			    rc == UB_READFILE ? ": " : "", rc == UB_READFILE ? strerror(errno) : "");
			return false;
		}
		return true;
	}
	return fwd_list_apply(nameservers, ctx, err, errlen);
}

/* ---- answer decoding -------------------------------------------------- */

#define NAME_TEXT_MAX	1024	/* 255 wire octets, each at most "\DDD" */

/*
 * Decode one uncompressed wire name at p (at most len octets) into text
 * without the trailing dot ("." for the root).  A dot or backslash inside
 * a label and octets outside printable ASCII are escaped as in zone files
 * ("\.", "\032"), so the text never reads as a different name.
 * Returns octets used, 0 if malformed.
 */
static size_t
wire_name_text(const unsigned char *p, size_t len, char *out, size_t outlen)
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
static bool
answer_add_rdata(struct am_dns_answer *a, int rrtype, const unsigned char *d, size_t len)
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
		used = wire_name_text(d + 2, len - 2, name, sizeof(name));
		if (used == 0 || used != len - 2)
			return false;
		am_dns_answer_add(a, name, strlen(name), ((unsigned)d[0] << 8) | d[1]);
		return true;
	case AM_RR_PTR:
	case AM_RR_CNAME:
		used = wire_name_text(d, len, name, sizeof(name));
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

static void
set_canonname(struct am_dns_answer *a, const char *name)
{
	size_t n = am_strlcpy(a->canonname, name, sizeof(a->canonname));

	if (n > 1 && n < sizeof(a->canonname) && a->canonname[n - 1] == '.')
		a->canonname[n - 1] = '\0';
}

/* Map one libunbound result (NULL when err != 0) to an answer. */
static struct am_dns_answer *
answer_from_ub(const char *qname, int rrtype, int err, const struct ub_result *res)
{
	struct am_dns_answer *a;
	size_t i;

	if (err != 0 || res == NULL) {
		/* A name libunbound cannot even encode cannot exist. */
		a = am_dns_answer_new(err == UB_SYNTAX ? AM_DNS_NXDOMAIN : AM_DNS_SERVFAIL, rrtype);
		set_canonname(a, qname);
		return a;
	}
	if (res->bogus)
		a = am_dns_answer_new(AM_DNS_SERVFAIL, rrtype);
	else if (res->rcode == 3 || res->nxdomain)
		a = am_dns_answer_new(AM_DNS_NXDOMAIN, rrtype);
	else if (res->rcode != 0)
		a = am_dns_answer_new(AM_DNS_SERVFAIL, rrtype);
	else
		a = am_dns_answer_new(AM_DNS_NODATA, rrtype);
	set_canonname(a, res->canonname != NULL ? res->canonname : qname);
	a->ttl = (unsigned)(res->ttl > 0 ? res->ttl : 0);
	a->secure = res->secure != 0 && res->bogus == 0;
	if (a->status != AM_DNS_NODATA || !res->havedata || res->data == NULL)
		return a;
	for (i = 0; res->data[i] != NULL; i++) {
		if (res->len[i] < 0 || !answer_add_rdata(a, rrtype,
		    (const unsigned char *)res->data[i], (size_t)res->len[i]))
			continue;	/* malformed record: skip it, keep the others */
	}
	/* Records were there but none was usable: never let garbage read as
	 * "does not exist" (permanent); report a temporary failure. */
	if (a->count == 0)
		a->status = AM_DNS_SERVFAIL;
	return a;
}

/* ---- queries ---------------------------------------------------------- */

/* Runs on the pump thread inside ub_process(). */
static void
ub_answer_cb(void *arg, int err, struct ub_result *res)
{
	am_dns_query *q = arg;
	am_resolver *r = q->res;
	struct am_dns_answer *a = answer_from_ub(q->name, q->rrtype, err, res);

	ub_resolve_free(res);
	am_dnscache_put(r->cache, q->name, q->rrtype, a);
	pthread_mutex_lock(&r->mu);
	q->answer = a;
	q->done = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&r->mu);
	/* q may be freed by its waiter from here on. */
}

/* The warm-up query's answer: nobody waits for it. */
static void
ub_warmup_cb(void *arg, int err, struct ub_result *res)
{
	(void)arg;
	(void)err;
	ub_resolve_free(res);
}

static void
query_link(am_resolver *r, am_dns_query *q)
{
	q->next = r->queries;
	if (r->queries != NULL)
		r->queries->prev = q;
	r->queries = q;
}

static void
query_unlink(am_resolver *r, am_dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (r->queries == q)
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static bool
timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Called with r->mu held. */
static bool
recently_timed_out(const am_resolver *r, const char *name, int rrtype)
{
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < RECENT_TIMEOUTS; i++) {
		const struct recent_timeout *t = &r->recent[i];

		if (t->rrtype == rrtype && timespec_before(&now, &t->until) &&
		    strcasecmp(t->name, name) == 0)
			return true;
	}
	return false;
}

/* Called with r->mu held. */
static void
remember_timeout(am_resolver *r, const am_dns_query *q)
{
	struct recent_timeout *t = &r->recent[r->recent_next++ % RECENT_TIMEOUTS];

	am_strlcpy(t->name, q->name, sizeof(t->name));
	t->rrtype = q->rrtype;
	timespec_deadline(&t->until, r->timeout_ms);
}

/*
 * The same name asked again while a lookup is in flight (libunbound
 * merges the two) waits no longer than the first: share its deadline.
 * Called with r->mu held.
 */
static void
share_deadline(am_resolver *r, am_dns_query *q)
{
	const am_dns_query *o;

	for (o = r->queries; o != NULL; o = o->next)
		if (!o->done && o->rrtype == q->rrtype && timespec_before(&o->deadline, &q->deadline) &&
		    strcasecmp(o->name, q->name) == 0)
			q->deadline = o->deadline;
}

static am_dns_query *
ub_query_start(am_resolver *r, const char *name, int rrtype)
{
	am_dns_query *q = am_xcalloc(1, sizeof(*q));
	size_t nlen = strlen(name);
	int rc, id = 0;

	q->res = r;
	q->rrtype = rrtype;
	am_strlcpy(q->name, name, sizeof(q->name));
	pthread_cond_init(&q->cond, &r->condattr);
	timespec_deadline(&q->deadline, r->timeout_ms);
	/* Longer than any domain name (253 + optional dot): cannot exist. */
	if (nlen == 0 || nlen > 254 || (nlen == 254 && name[253] != '.')) {
		q->answer = am_dns_answer_new(AM_DNS_NXDOMAIN, rrtype);
		set_canonname(q->answer, q->name);
		q->done = true;
		return q;
	}
	/* Warm: answered from our own cache, no trip through libunbound's threads. */
	if ((q->answer = am_dnscache_get(r->cache, name, rrtype)) != NULL) {
		q->done = true;
		return q;
	}
	pthread_mutex_lock(&r->mu);
	if (recently_timed_out(r, name, rrtype)) {
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
		set_canonname(q->answer, q->name);
		q->done = true;
		pthread_mutex_unlock(&r->mu);
		return q;
	}
	share_deadline(r, q);
	query_link(r, q);
	pthread_mutex_unlock(&r->mu);
	/* The answer may arrive (on the pump thread) before this returns. */
	rc = ub_resolve_async(r->ctx, name, rrtype, 1, q, ub_answer_cb, &id);
	pthread_mutex_lock(&r->mu);
	q->async_id = id;
	if (rc != 0) {
		syslog(LOG_ERR, "DNS query %s/%d not started: %s", name, rrtype, ub_strerror(rc));
		q->answer = answer_from_ub(name, rrtype, rc, NULL);
		q->done = true;
	}
	pthread_mutex_unlock(&r->mu);
	return q;
}

/*
 * Make sure the callback will never touch q again.  Called and returns
 * with r->mu held.  If ub_cancel() finds the query gone, the pump thread
 * has taken it and is about to call (or is in) the callback: wait for it.
 */
static void
ub_query_settle(am_resolver *r, am_dns_query *q)
{
	int rc;

	if (q->done)
		return;
	pthread_mutex_unlock(&r->mu);
	rc = ub_cancel(r->ctx, q->async_id);
	pthread_mutex_lock(&r->mu);
	if (rc == UB_NOERROR)
		return;
	while (!q->done)
		pthread_cond_wait(&q->cond, &r->mu);
}

static void
ub_query_free(am_dns_query *q)
{
	pthread_cond_destroy(&q->cond);
	am_dns_answer_free(q->answer);
	free(q);
}

static struct am_dns_answer *
ub_query_wait(am_resolver *r, am_dns_query *q)
{
	struct am_dns_answer *a;

	pthread_mutex_lock(&r->mu);
	while (!q->done) {
		if (pthread_cond_timedwait(&q->cond, &r->mu, &q->deadline) == ETIMEDOUT)
			break;
	}
	if (!q->done) {
		ub_query_settle(r, q);
		remember_timeout(r, q);
		/* Either cancelled or answered after the deadline: too late. */
		am_dns_answer_free(q->answer);
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, q->rrtype);
		set_canonname(q->answer, q->name);
		q->done = true;
	}
	query_unlink(r, q);
	pthread_mutex_unlock(&r->mu);
	a = q->answer;
	q->answer = NULL;
	ub_query_free(q);
	return a;
}

static void
ub_query_cancel(am_resolver *r, am_dns_query *q)
{
	pthread_mutex_lock(&r->mu);
	ub_query_settle(r, q);
	query_unlink(r, q);
	pthread_mutex_unlock(&r->mu);
	ub_query_free(q);
}

/* ---- the pump thread -------------------------------------------------- */

static void *
ub_pump_main(void *arg)
{
	am_resolver *r = arg;
	struct pollfd pfd[2];
	bool complained = false;

	pfd[0].fd = ub_fd(r->ctx);
	pfd[0].events = POLLIN;
	pfd[1].fd = r->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		int rc;

		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			syslog(LOG_ERR, "DNS pump: poll: %m");
			usleep(10000);		/* never spin */
			continue;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		if ((rc = ub_process(r->ctx)) != 0) {
			if (!complained)
				syslog(LOG_ERR, "DNS pump: ub_process: %s", ub_strerror(rc));
			complained = true;
			usleep(10000);
		}
	}
	return NULL;
}

/* Start the pump with every signal blocked: signals belong to the
 * milter's signal thread, not to helper threads. */
static bool
ub_pump_start(am_resolver *r, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (pipe(r->wake) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		r->wake[0] = r->wake[1] = -1;
		return false;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->pump, NULL, ub_pump_main, r);
	if (rc == 0) {
		r->pump_running = true;
		/* First query: finalizes the config and creates libunbound's
		 * worker thread now, also with signals blocked, so bad
		 * settings show here rather than at the first mail. */
		rc = ub_resolve_async(r->ctx, "localhost.", AM_RR_A, 1, NULL, ub_warmup_cb, NULL);
		if (rc != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "libunbound start: %s", ub_strerror(rc));
			return false;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "DNS thread: %s", strerror(rc));
		return false;
	}
	return true;
}

static void
ub_pump_stop(am_resolver *r)
{
	if (r->pump_running) {
		ssize_t n;

		do
			n = write(r->wake[1], "x", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(r->pump, NULL);
		r->pump_running = false;
	}
	if (r->wake[0] >= 0)
		close(r->wake[0]);
	if (r->wake[1] >= 0)
		close(r->wake[1]);
	r->wake[0] = r->wake[1] = -1;
}

/*
 * Tear down.  With the pump stopped no callback can run any more, so
 * queries still outstanding are completed as TIMEOUT and detached: a
 * late am_dns_wait/am_dns_cancel on them then touches only the query.
 */
static void
ub_resolver_free(am_resolver *r)
{
	am_dns_query *q, *next;

	ub_pump_stop(r);
	pthread_mutex_lock(&r->mu);
	for (q = r->queries; q != NULL; q = next) {
		next = q->next;
		if (!q->done) {
			q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, q->rrtype);
			set_canonname(q->answer, q->name);
			q->done = true;
		}
		q->res = NULL;
		q->prev = q->next = NULL;
	}
	r->queries = NULL;
	pthread_mutex_unlock(&r->mu);
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	am_dnscache_free(r->cache);
	pthread_condattr_destroy(&r->condattr);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

bool
am_resolver_check_nameservers(const char *nameservers, char *err, size_t errlen)
{
	return fwd_list_apply(nameservers, NULL, err, errlen);
}

am_resolver *
am_resolver_new(const char *nameservers, unsigned timeout_ms, char *err, size_t errlen)
{
	am_resolver *r;

	/* Blank means the system's resolv.conf. */
	if (nameservers != NULL && nameservers[strspn(nameservers, " \t")] == '\0')
		nameservers = NULL;
	/* Validate before building anything: the error names the entry. */
	if (nameservers != NULL && !fwd_list_apply(nameservers, NULL, err, errlen))
		return NULL;
	r = am_xcalloc(1, sizeof(*r));
	r->timeout_ms = timeout_ms;
	r->cache = am_dnscache_new(DNSCACHE_ENTRIES);
	r->wake[0] = r->wake[1] = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&r->condattr);
	pthread_condattr_setclock(&r->condattr, CLOCK_MONOTONIC);
	if ((r->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "libunbound: cannot create a context");
		ub_resolver_free(r);
		return NULL;
	}
	if (!ub_configure(r->ctx, nameservers, err, errlen) || !ub_pump_start(r, err, errlen)) {
		ub_resolver_free(r);
		return NULL;
	}
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
	ub_resolver_free(r);
}

unsigned
am_resolver_timeout_ms(const am_resolver *r)
{
	return r->timeout_ms;
}

static am_dns_query *
backend_query_start(am_resolver *r, const char *name, int rrtype)
{
	am_dns_query *q = am_xcalloc(1, sizeof(*q));

	q->res = r;
	q->answer = r->backend(r->backend_arg, name, rrtype);
	if (q->answer == NULL)
		q->answer = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
	if (q->answer->canonname[0] == '\0')
		am_strlcpy(q->answer->canonname, name, sizeof(q->answer->canonname));
	q->done = true;
	return q;
}

am_dns_query *
am_dns_start(am_resolver *r, const char *name, int rrtype)
{
	if (r->backend != NULL)
		return backend_query_start(r, name, rrtype);
	return ub_query_start(r, name, rrtype);
}

struct am_dns_answer *
am_dns_wait(am_dns_query *q)
{
	struct am_dns_answer *a;

	/* Backend queries, and queries detached by am_resolver_free, are
	 * complete already and own no libunbound state. */
	if (q->res != NULL && q->res->backend == NULL)
		return ub_query_wait(q->res, q);
	a = q->answer;
	q->answer = NULL;
	if (q->res == NULL)
		pthread_cond_destroy(&q->cond);
	free(q);
	return a;
}

void
am_dns_cancel(am_dns_query *q)
{
	if (q == NULL)
		return;
	if (q->res != NULL && q->res->backend == NULL) {
		ub_query_cancel(q->res, q);
		return;
	}
	am_dns_answer_free(am_dns_wait(q));
}

struct am_dns_answer *
am_dns_lookup(am_resolver *r, const char *name, int rrtype)
{
	return am_dns_wait(am_dns_start(r, name, rrtype));
}
