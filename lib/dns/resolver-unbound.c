/*
 * resolver-unbound.c - the libunbound backend behind the resolver API
 * (see resolver-int.h; the API, deadlines and cache are resolver.c's).
 *
 * Owns: one ub_ctx per resolver in thread mode, set up from Nameservers
 * (validated entry by entry) or from resolv.conf; the pump thread that
 * waits on ub_fd() and runs ub_process(); sending and cancelling async
 * queries; and mapping a ub_result (rcode, bogus, canonname, ttl, its
 * records) to an am_dns_answer.
 *
 * Errors: set-up failures are written to err for the caller (the
 * configuration check, start-up); a query libunbound will not take is
 * logged and answered SERVFAIL (NXDOMAIN for a name it cannot encode);
 * the pump logs poll() failures and the first ub_process() failure and
 * keeps going.  All logging goes through am_log().
 *
 * Threads: am_resolver_ub_new/stop/free on the thread that creates and
 * frees the resolver; send and cancel on any thread (libunbound locks its
 * context); the callbacks only ever run on the pump thread, inside
 * ub_process().  libunbound has no per-query timeout and retries a silent
 * server for far longer than any mail check may wait, so the deadlines
 * are the API's, which cancels here.
 *
 * Lock order: the API never calls in here holding its lock (libunbound
 * takes its own locks and may block on its pipes, which the pump drains).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <unbound.h>

/* Utility library. */
#include "util/log.h"
#include "util/netlist.h"
#include "util/util.h"

/* DNS library. */
#include "dns/resolver-int.h"
#include "dns/resolver.h"

struct am_resolver_ub {
	struct ub_ctx *ctx;
	pthread_t pump;
	bool	pump_running;
	int	wake[2];		/* self-pipe: stops the pump */
};

/* TEST-NET reverse zones libunbound answers NXDOMAIN itself (RFC 6303
 * defaults).  Transparent lets them through to the nameservers, so PTR
 * records there (used by tests and documentation examples) resolve. */
static const char *const resolver_ub_transparent_zones[] = {
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

#define FWD_ENTRY_MAX	80	/* longest "IPv6@PORT" plus room for spaces */

/* ---- set-up ------------------------------------------------------------- */

/*
 * Validate the whole Nameservers list and hand each entry to ctx (ctx may
 * be NULL to only validate).  Entries are comma separated; spaces around
 * them are ignored; an empty entry is an error (a stray comma is a typo).
 */
static bool
resolver_ub_fwd_apply(const char *spec, struct ub_ctx *ctx, char *err, size_t errlen)
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
resolver_ub_configure(struct ub_ctx *ctx, const char *nameservers, char *err, size_t errlen)
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
	for (i = 0; i < sizeof(resolver_ub_transparent_zones) / sizeof(resolver_ub_transparent_zones[0]); i++) {
		snprintf(zone, sizeof(zone), "%s transparent", resolver_ub_transparent_zones[i]);
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
	return resolver_ub_fwd_apply(nameservers, ctx, err, errlen);
}

bool
am_resolver_ub_check(const char *nameservers, char *err, size_t errlen)
{
	return resolver_ub_fwd_apply(nameservers, NULL, err, errlen);
}

/* ---- answers ------------------------------------------------------------ */

/* Map one libunbound result (NULL when err != 0) to an answer. */
static struct am_dns_answer *
resolver_ub_answer(const char *qname, int rrtype, int err, const struct ub_result *res)
{
	struct am_dns_answer *a;
	size_t i;

	if (err != 0 || res == NULL) {
		/* A name libunbound cannot even encode cannot exist. */
		a = am_dns_answer_new(err == UB_SYNTAX ? AM_DNS_NXDOMAIN : AM_DNS_SERVFAIL, rrtype);
		am_resolver_canonname(a, qname);
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
	am_resolver_canonname(a, res->canonname != NULL ? res->canonname : qname);
	a->ttl = (unsigned)(res->ttl > 0 ? res->ttl : 0);
	a->secure = res->secure != 0 && res->bogus == 0;
	if (a->status != AM_DNS_NODATA || !res->havedata || res->data == NULL)
		return a;
	for (i = 0; res->data[i] != NULL; i++) {
		if (res->len[i] < 0 || !am_resolver_rdata_add(a, rrtype,
		    (const unsigned char *)res->data[i], (size_t)res->len[i]))
			continue;	/* malformed record: skip it, keep the others */
	}
	/* Records were there but none was usable: never let garbage read as
	 * "does not exist" (permanent); report a temporary failure. */
	if (a->count == 0)
		a->status = AM_DNS_SERVFAIL;
	return a;
}

/* Runs on the pump thread inside ub_process(). */
static void
resolver_ub_answer_cb(void *arg, int err, struct ub_result *res)
{
	am_dns_query *q = arg;
	struct am_dns_answer *a = resolver_ub_answer(q->name, q->rrtype, err, res);

	ub_resolve_free(res);
	am_resolver_deliver(q, a);
	/* q may be freed by its waiter from here on. */
}

/* The warm-up query's answer: nobody waits for it. */
static void
resolver_ub_warmup_cb(void *arg, int err, struct ub_result *res)
{
	(void)arg;
	(void)err;
	ub_resolve_free(res);
}

/* ---- queries ------------------------------------------------------------ */

struct am_dns_answer *
am_resolver_ub_send(am_resolver_ub *ub, am_dns_query *q, int *id)
{
	int rc = ub_resolve_async(ub->ctx, q->name, q->rrtype, 1, q, resolver_ub_answer_cb, id);

	if (rc == 0)
		return NULL;
	am_log(LOG_ERR, "DNS query %s/%d not started: %s", q->name, q->rrtype, ub_strerror(rc));
	return resolver_ub_answer(q->name, q->rrtype, rc, NULL);
}

/* Not UB_NOERROR: the pump thread has taken the query and is about to call
 * (or is in) its callback. */
bool
am_resolver_ub_cancel(am_resolver_ub *ub, int id)
{
	return ub_cancel(ub->ctx, id) == UB_NOERROR;
}

/* ---- the pump thread ---------------------------------------------------- */

static void *
resolver_ub_pump_main(void *arg)
{
	am_resolver_ub *ub = arg;
	struct pollfd pfd[2];
	bool complained = false;

	pfd[0].fd = ub_fd(ub->ctx);
	pfd[0].events = POLLIN;
	pfd[1].fd = ub->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		int rc;

		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			am_log(LOG_ERR, "DNS pump: poll: %s", strerror(errno));
			usleep(10000);		/* never spin */
			continue;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		if ((rc = ub_process(ub->ctx)) != 0) {
			if (!complained)
				am_log(LOG_ERR, "DNS pump: ub_process: %s", ub_strerror(rc));
			complained = true;
			usleep(10000);
		}
	}
	return NULL;
}

/* Start the pump with every signal blocked: signals belong to the
 * milter's signal thread, not to helper threads. */
static bool
resolver_ub_pump_start(am_resolver_ub *ub, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (pipe(ub->wake) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		ub->wake[0] = ub->wake[1] = -1;
		return false;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ub->pump, NULL, resolver_ub_pump_main, ub);
	if (rc == 0) {
		ub->pump_running = true;
		/* First query: finalizes the config and creates libunbound's
		 * worker thread now, also with signals blocked, so bad
		 * settings show here rather than at the first mail. */
		rc = ub_resolve_async(ub->ctx, "localhost.", AM_RR_A, 1, NULL, resolver_ub_warmup_cb, NULL);
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

void
am_resolver_ub_stop(am_resolver_ub *ub)
{
	if (ub == NULL)
		return;
	if (ub->pump_running) {
		ssize_t n;

		do
			n = write(ub->wake[1], "x", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(ub->pump, NULL);
		ub->pump_running = false;
	}
	if (ub->wake[0] >= 0)
		close(ub->wake[0]);
	if (ub->wake[1] >= 0)
		close(ub->wake[1]);
	ub->wake[0] = ub->wake[1] = -1;
}

/* ---- life cycle --------------------------------------------------------- */

am_resolver_ub *
am_resolver_ub_new(const char *nameservers, char *err, size_t errlen)
{
	am_resolver_ub *ub = am_xcalloc(1, sizeof(*ub));

	ub->wake[0] = ub->wake[1] = -1;
	if ((ub->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "libunbound: cannot create a context");
		am_resolver_ub_free(ub);
		return NULL;
	}
	if (!resolver_ub_configure(ub->ctx, nameservers, err, errlen) ||
	    !resolver_ub_pump_start(ub, err, errlen)) {
		am_resolver_ub_stop(ub);
		am_resolver_ub_free(ub);
		return NULL;
	}
	return ub;
}

void
am_resolver_ub_free(am_resolver_ub *ub)
{
	if (ub == NULL)
		return;
	if (ub->ctx != NULL)
		ub_ctx_delete(ub->ctx);
	free(ub);
}
