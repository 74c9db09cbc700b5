/*
 * check_resolver_queries.c - the resolver's queries over time, against
 * the loopback NSD of check_resolver.c.
 *
 * Owns: the tests of deadlines (a black-hole server that never answers),
 * cancellation racing the answer, resolvers freed with queries open,
 * several queries in flight, many threads on one resolver, and the answer
 * cache outliving its server.  Failures are Check failures; the tests run
 * in forked children of check_resolver.c's main(), one suite.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_resolver.h"
#include "nsdfixture.h"
#include "dns/resolver.h"

/* ---- a server that never answers ---------------------------------------- */

/* A UDP port (TCP too) on 127.0.0.1 that takes queries and never answers. */
struct blackhole {
	int udp, tcp;
	unsigned port;
	char spec[64];
};

static void
blackhole_open(struct blackhole *b)
{
	int tries;

	for (tries = 0; tries < 20; tries++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		b->udp = socket(AF_INET, SOCK_DGRAM, 0);
		ck_assert_int_ge(b->udp, 0);
		ck_assert_int_eq(bind(b->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(b->udp, (struct sockaddr *)&sa, &sl), 0);
		/* TCP listener that never accepts: a TCP fallback hangs too. */
		b->tcp = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(b->tcp, 0);
		if (bind(b->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(b->tcp, 16) == 0) {
			b->port = ntohs(sa.sin_port);
			snprintf(b->spec, sizeof(b->spec), "127.0.0.1@%u", b->port);
			return;
		}
		close(b->udp);
		close(b->tcp);
	}
	ck_abort_msg("no port for the black hole");
}

/* Number of datagrams that reached the black hole (drains them). */
static unsigned
blackhole_drain(struct blackhole *b)
{
	struct pollfd p = { .fd = b->udp, .events = POLLIN };
	unsigned n = 0;
	char buf[1500];

	while (poll(&p, 1, 0) == 1 && recv(b->udp, buf, sizeof(buf), 0) >= 0)
		n++;
	return n;
}

static void
blackhole_close(struct blackhole *b)
{
	close(b->udp);
	close(b->tcp);
}

/* ---- deadlines and cancellation ----------------------------------------- */

START_TEST(test_timeout)
{
	struct blackhole b;
	am_resolver *r;
	struct am_dns_answer *a;
	double t0, el;

	blackhole_open(&b);
	r = cr_mkres(b.spec, 1000);
	ck_assert_uint_eq(am_resolver_timeout_ms(r), 1000);
	t0 = cr_now_ms();
	a = cr_expect(r, "slow.example", AM_RR_TXT, AM_DNS_TIMEOUT, 0);
	el = cr_now_ms() - t0;
	ck_assert_str_eq(a->canonname, "slow.example");
	am_dns_answer_free(a);
	ck_assert_msg(el >= 950 && el <= 2000, "timeout after %.0f ms (want 1000 + slack)", el);
	/* it really asked: the black hole got the question */
	ck_assert_uint_ge(blackhole_drain(&b), 1);
	am_resolver_free(r);
	blackhole_close(&b);
}
END_TEST

/* The deadline runs from the start, not from the wait. */
START_TEST(test_wait_after_deadline)
{
	struct blackhole b;
	am_resolver *r;
	am_dns_query *q;
	struct am_dns_answer *a;
	double t0;

	blackhole_open(&b);
	r = cr_mkres(b.spec, 300);
	q = am_dns_start(r, "late.example", AM_RR_A);
	usleep(600 * 1000);
	t0 = cr_now_ms();
	a = am_dns_wait(q);
	ck_assert_int_eq(a->status, AM_DNS_TIMEOUT);
	ck_assert_msg(cr_now_ms() - t0 < 200, "waited %.0f ms past the deadline", cr_now_ms() - t0);
	am_dns_answer_free(a);
	am_resolver_free(r);
	blackhole_close(&b);
}
END_TEST

START_TEST(test_cancel)
{
	struct blackhole b;
	am_resolver *r, *rb;
	int i;

	/* cancel right away, racing the answer: exercises both sides of
	 * ub_cancel (still queued / callback already taken) */
	r = cr_mkres(cr_ns_spec, 3000);
	for (i = 0; i < 300; i++) {
		am_dns_query *q = am_dns_start(r, i % 2 ? "host.resolver.example" : "spf.resolver.example",
		    i % 2 ? AM_RR_A : AM_RR_TXT);

		if (i % 3 == 0)
			usleep(i % 200);
		am_dns_cancel(q);
	}
	am_dns_cancel(NULL);
	/* the resolver still works afterwards */
	am_dns_answer_free(cr_expect(r, "host.resolver.example", AM_RR_A, AM_DNS_OK, 2));
	/* cancel queries that would never be answered */
	blackhole_open(&b);
	rb = cr_mkres(b.spec, 5000);
	for (i = 0; i < 5; i++)
		am_dns_cancel(am_dns_start(rb, "never.example", AM_RR_MX));
	am_resolver_free(rb);
	blackhole_close(&b);
	am_resolver_free(r);
}
END_TEST

/* Queries still open at am_resolver_free are completed as TIMEOUT. */
START_TEST(test_free_with_open_queries)
{
	struct blackhole b;
	am_resolver *r;
	am_dns_query *q1, *q2;
	struct am_dns_answer *a;

	blackhole_open(&b);
	r = cr_mkres(b.spec, 5000);
	q1 = am_dns_start(r, "a.example", AM_RR_A);
	q2 = am_dns_start(r, "b.example", AM_RR_A);
	am_resolver_free(r);
	a = am_dns_wait(q1);
	ck_assert_int_eq(a->status, AM_DNS_TIMEOUT);
	am_dns_answer_free(a);
	am_dns_cancel(q2);
	blackhole_close(&b);
}
END_TEST

START_TEST(test_start_several_then_wait)
{
	static const struct { const char *name; int type; enum am_dns_status st; size_t n; } qs[] = {
		{ "spf.resolver.example", AM_RR_TXT, AM_DNS_OK, 1 },
		{ "multi.resolver.example", AM_RR_TXT, AM_DNS_OK, 2 },
		{ "host.resolver.example", AM_RR_A, AM_DNS_OK, 2 },
		{ "host.resolver.example", AM_RR_AAAA, AM_DNS_OK, 1 },
		{ "resolver.example", AM_RR_MX, AM_DNS_OK, 2 },
		{ "1.2.0.192.in-addr.arpa", AM_RR_PTR, AM_DNS_OK, 1 },
		{ "alias1.resolver.example", AM_RR_A, AM_DNS_OK, 1 },
		{ "nope.resolver.example", AM_RR_A, AM_DNS_NXDOMAIN, 0 },
		{ "nodata.resolver.example", AM_RR_MX, AM_DNS_NODATA, 0 },
		{ "x.servfail.example", AM_RR_TXT, AM_DNS_SERVFAIL, 0 },
		{ "cross.resolver.example", AM_RR_A, AM_DNS_OK, 1 },
		{ "long.resolver.example", AM_RR_TXT, AM_DNS_OK, 1 },
	};
	enum { N = sizeof(qs) / sizeof(qs[0]) };
	am_resolver *r = cr_mkres(cr_ns_spec, 4000);
	am_dns_query *q[N];
	int i;

	for (i = 0; i < N; i++)
		q[i] = am_dns_start(r, qs[i].name, qs[i].type);
	for (i = N - 1; i >= 0; i--) {
		struct am_dns_answer *a = am_dns_wait(q[i]);

		ck_assert_msg(a->status == qs[i].st && a->count == qs[i].n, "%s/%d: %s %zu",
		    qs[i].name, qs[i].type, am_dns_status_name(a->status), a->count);
		am_dns_answer_free(a);
	}
	am_resolver_free(r);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

struct worker {
	am_resolver *r;
	int id;
	unsigned bad;
	char why[160];
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 150; i++) {
		struct am_dns_answer *a;
		bool ok;

		switch ((i + w->id) % 6) {
		case 0:
			a = am_dns_lookup(w->r, "spf.resolver.example", AM_RR_TXT);
			ok = a->status == AM_DNS_OK && a->count == 1 &&
			    strncmp((char *)a->rr[0].data, "v=spf1 ", 7) == 0;
			break;
		case 1:
			a = am_dns_lookup(w->r, "host.resolver.example", AM_RR_A);
			ok = a->status == AM_DNS_OK && a->count == 2;
			break;
		case 2:
			a = am_dns_lookup(w->r, "nope.resolver.example", AM_RR_A);
			ok = a->status == AM_DNS_NXDOMAIN;
			break;
		case 3: {
			/* per-thread names: cache misses, so the server is asked */
			char name[64];

			snprintf(name, sizeof(name), "t%d-%d.resolver.example", w->id, i);
			a = am_dns_lookup(w->r, name, AM_RR_TXT);
			ok = a->status == AM_DNS_NXDOMAIN;
			break;
		}
		case 4:
			/* cancel racing the answer, on many threads at once */
			am_dns_cancel(am_dns_start(w->r, "multi.resolver.example", AM_RR_TXT));
			a = am_dns_lookup(w->r, "multi.resolver.example", AM_RR_TXT);
			ok = a->status == AM_DNS_OK && a->count == 2;
			break;
		default: {
			am_dns_query *q1 = am_dns_start(w->r, "alias1.resolver.example", AM_RR_A);
			am_dns_query *q2 = am_dns_start(w->r, "resolver.example", AM_RR_MX);

			a = am_dns_wait(q2);
			ok = a->status == AM_DNS_OK && a->count == 2;
			am_dns_answer_free(a);
			a = am_dns_wait(q1);
			ok = ok && a->status == AM_DNS_OK && a->count == 1;
			break;
		}
		}
		if (!ok && w->bad++ == 0)
			snprintf(w->why, sizeof(w->why), "iteration %d: %s", i,
			    am_dns_status_name(a->status));
		am_dns_answer_free(a);
	}
	return NULL;
}

START_TEST(test_threads)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 5000);
	struct worker w[8];
	pthread_t t[8];
	int i;

	for (i = 0; i < 8; i++) {
		w[i] = (struct worker){ .r = r, .id = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].bad == 0, "thread %d: %u bad answers, first %s", i, w[i].bad, w[i].why);
	}
	am_resolver_free(r);
}
END_TEST

/* ---- cache -------------------------------------------------------------- */

/* A second server of our own that we stop half way. */
START_TEST(test_shared_cache)
{
	char dir[128], zone[192];
	FILE *fp;
	unsigned port;
	am_resolver *r;
	char spec[64];
	struct am_dns_answer *a;

	snprintf(dir, sizeof(dir), "%s/cache", cr_tmpdir);
	snprintf(zone, sizeof(zone), "%s/cache.example.zone", cr_tmpdir);
	fp = fopen(zone, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("$ORIGIN cache.example.\n$TTL 600\n"
	    "@ SOA ns hostmaster 1 3600 600 86400 600\n@ NS ns\nns A 127.0.0.1\n"
	    "www A 192.0.2.77\nspf TXT \"v=spf1 -all\"\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	port = cr_server_start(dir, zone);
	ck_assert_msg(port != 0, "second nsd did not start");
	snprintf(spec, sizeof(spec), "127.0.0.1@%u", port);
	r = cr_mkres(spec, 800);
	a = cr_expect(r, "www.cache.example", AM_RR_A, AM_DNS_OK, 1);
	am_dns_answer_free(a);
	a = cr_expect(r, "spf.cache.example", AM_RR_TXT, AM_DNS_OK, 1);
	am_dns_answer_free(a);
	nsdf_stop(dir);

	/* answered from the cache: the server is gone */
	a = cr_expect(r, "www.cache.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(cr_find_addr(a, AF_INET, "192.0.2.77"), 0);
	am_dns_answer_free(a);
	/* from another thread's query too: the cache is the resolver's */
	{
		am_dns_query *q = am_dns_start(r, "spf.cache.example", AM_RR_TXT);

		a = am_dns_wait(q);
		ck_assert_int_eq(a->status, AM_DNS_OK);
		ck_assert_str_eq((char *)a->rr[0].data, "v=spf1 -all");
		am_dns_answer_free(a);
	}
	/* ...and the server really is gone */
	a = am_dns_lookup(r, "other.cache.example", AM_RR_A);
	ck_assert_msg(a->status == AM_DNS_TIMEOUT || a->status == AM_DNS_SERVFAIL,
	    "uncached name answered %s with the server stopped", am_dns_status_name(a->status));
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

/* In check_resolver.c's order: after the status mapping tests. */
void
cr_add_query_tests(TCase *tc)
{
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_wait_after_deadline);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_with_open_queries);
	tcase_add_test(tc, test_start_several_then_wait);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_shared_cache);
}
