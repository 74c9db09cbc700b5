/*
 * check_resolver.c - tests of the resolver module against a real server.
 *
 * Owns: the libunbound engine's behaviour as seen through resolver.h:
 * record decoding, status mapping, deadlines, cancellation, the shared
 * cache and thread safety.  main() starts a loopback NSD with the zones in
 * tests/dns/zones (tests/dns/nsd-fixture.sh) and stops it at exit, also
 * when tests fail; tests run in forked children, so they cannot take the
 * server down with them.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fakezone.h"
#include "dns/resolver.h"
#include "util/util.h"

#define FIXTURE	TOP_SRCDIR "/tests/dns/nsd-fixture.sh"
#define ZONES	TOP_SRCDIR "/tests/dns/zones"

static char tmpdir[64];		/* our scratch directory */
static char ns_spec[64];	/* "127.0.0.1@PORT" of the main server */
static unsigned ns_port;
static pid_t main_pid;

/* ---- fixture ------------------------------------------------------------ */

/* Start nsd in dir with the given zone files; returns the port, 0 on failure. */
static unsigned
server_start(const char *dir, const char *zonefiles)
{
	char cmd[2048], line[64] = "";
	FILE *fp;
	unsigned port = 0;

	/* NSD_FIXTURE_OWNER: the server goes away with us even if we are killed */
	snprintf(cmd, sizeof(cmd), "NSD_FIXTURE_OWNER=%ld %s start %s 0 %s", (long)main_pid,
	    FIXTURE, dir, zonefiles);
	if ((fp = popen(cmd, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) != NULL)
		port = (unsigned)strtoul(line, NULL, 10);
	if (pclose(fp) != 0)
		port = 0;
	return port;
}

static void
server_stop(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s stop %s", FIXTURE, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_resolver: %s failed\n", cmd);
}

/* Runs at exit of the main process only (forked test children exit too). */
static void
cleanup(void)
{
	char cmd[256];

	if (getpid() != main_pid || tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "%s/main", tmpdir);
	server_stop(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_resolver: cannot remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static am_resolver *
mkres(const char *spec, unsigned timeout_ms)
{
	char err[256] = "";
	am_resolver *r = am_resolver_new(spec, timeout_ms, err, sizeof(err));

	ck_assert_msg(r != NULL, "am_resolver_new(%s): %s", spec, err);
	return r;
}

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

/* Find rr with this text content (TXT/MX/PTR/CNAME); -1 if none. */
static int
find_text(const struct am_dns_answer *a, const char *text)
{
	size_t i;

	for (i = 0; i < a->count; i++)
		if (a->rr[i].len == strlen(text) && memcmp(a->rr[i].data, text, a->rr[i].len) == 0)
			return (int)i;
	return -1;
}

static int
find_addr(const struct am_dns_answer *a, int af, const char *addr)
{
	unsigned char buf[16];
	size_t i, len = af == AF_INET ? 4 : 16;

	ck_assert_int_eq(inet_pton(af, addr, buf), 1);
	for (i = 0; i < a->count; i++)
		if (a->rr[i].len == len && memcmp(a->rr[i].data, buf, len) == 0)
			return (int)i;
	return -1;
}

static struct am_dns_answer *
expect(am_resolver *r, const char *name, int type, enum am_dns_status st, size_t count)
{
	struct am_dns_answer *a = am_dns_lookup(r, name, type);

	ck_assert_ptr_nonnull(a);
	ck_assert_msg(a->status == st, "%s/%d: status %s, expected %s", name, type,
	    am_dns_status_name(a->status), am_dns_status_name(st));
	ck_assert_msg(a->count == count, "%s/%d: %zu records, expected %zu", name, type,
	    a->count, count);
	ck_assert_int_eq(a->rrtype, type);
	return a;
}

/* ---- record decoding ---------------------------------------------------- */

START_TEST(test_txt)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a;
	char longtxt[511];

	/* one record of three strings: concatenated, no separators added */
	a = expect(r, "spf.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data,
	    "v=spf1 ip4:192.0.2.0/24 include:_spf.resolver.example -all");
	ck_assert_str_eq(a->canonname, "spf.resolver.example");
	ck_assert_msg(a->ttl > 0 && a->ttl <= 300, "ttl %u", a->ttl);
	ck_assert(!a->secure);
	am_dns_answer_free(a);

	/* two records stay two */
	a = expect(r, "multi.resolver.example.", AM_RR_TXT, AM_DNS_OK, 2);
	ck_assert_int_ge(find_text(a, "first record"), 0);
	ck_assert_int_ge(find_text(a, "second record"), 0);
	ck_assert_str_eq(a->canonname, "multi.resolver.example");
	am_dns_answer_free(a);

	/* two full 255-octet strings */
	memset(longtxt, 'a', 255);
	memset(longtxt + 255, 'b', 255);
	longtxt[510] = '\0';
	a = expect(r, "long.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_uint_eq(a->rr[0].len, 510);
	ck_assert_str_eq((char *)a->rr[0].data, longtxt);
	am_dns_answer_free(a);

	a = expect(r, "empty.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_uint_eq(a->rr[0].len, 0);
	ck_assert_str_eq((char *)a->rr[0].data, "");
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_a_aaaa)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a;

	a = expect(r, "host.resolver.example", AM_RR_A, AM_DNS_OK, 2);
	ck_assert_int_ge(find_addr(a, AF_INET, "192.0.2.1"), 0);
	ck_assert_int_ge(find_addr(a, AF_INET, "192.0.2.2"), 0);
	am_dns_answer_free(a);
	a = expect(r, "host.resolver.example", AM_RR_AAAA, AM_DNS_OK, 1);
	ck_assert_int_eq(find_addr(a, AF_INET6, "2001:db8::1"), 0);
	am_dns_answer_free(a);
	/* case-insensitive names */
	a = expect(r, "HOST.Resolver.EXAMPLE", AM_RR_A, AM_DNS_OK, 2);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_mx)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a = expect(r, "resolver.example", AM_RR_MX, AM_DNS_OK, 2);
	int i1 = find_text(a, "mx1.resolver.example"), i2 = find_text(a, "mx2.example.net");

	ck_assert_int_ge(i1, 0);
	ck_assert_int_ge(i2, 0);
	ck_assert_uint_eq(a->rr[i1].mx_pref, 10);
	ck_assert_uint_eq(a->rr[i2].mx_pref, 20);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_ptr)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a;

	/* TEST-NET reverse zones: libunbound would answer NXDOMAIN itself */
	a = expect(r, "1.2.0.192.in-addr.arpa", AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "host.resolver.example");
	am_dns_answer_free(a);
	a = expect(r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "host.resolver.example");
	am_dns_answer_free(a);
	a = expect(r, "2.2.0.192.in-addr.arpa", AM_RR_PTR, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	/* octets that are special in presentation form come back escaped */
	a = expect(r, "weird.resolver.example", AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "a\\.b\\032c.resolver.example");
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_cname)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a;

	/* two CNAMEs followed to the data, canonname is the end of the chain */
	a = expect(r, "alias1.resolver.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(find_addr(a, AF_INET, "192.0.2.10"), 0);
	ck_assert_str_eq(a->canonname, "target.resolver.example");
	am_dns_answer_free(a);
	a = expect(r, "alias1.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "at the target");
	am_dns_answer_free(a);
	/* into another zone */
	a = expect(r, "cross.resolver.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(find_addr(a, AF_INET, "198.51.100.20"), 0);
	ck_assert_str_eq(a->canonname, "www.other.example");
	am_dns_answer_free(a);
	/* asking for the CNAME itself */
	a = expect(r, "alias1.resolver.example", AM_RR_CNAME, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "alias2.resolver.example");
	am_dns_answer_free(a);
	/* a chain into NODATA */
	a = expect(r, "alias1.resolver.example", AM_RR_MX, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

/* ---- status mapping ----------------------------------------------------- */

START_TEST(test_nxdomain_nodata)
{
	am_resolver *r = mkres(ns_spec, 3000);
	struct am_dns_answer *a;

	a = expect(r, "nope.resolver.example", AM_RR_TXT, AM_DNS_NXDOMAIN, 0);
	ck_assert_str_eq(a->canonname, "nope.resolver.example");
	am_dns_answer_free(a);
	a = expect(r, "nodata.resolver.example", AM_RR_TXT, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	/* an empty non-terminal exists too: NODATA, not NXDOMAIN */
	a = expect(r, "resolver.example", AM_RR_AAAA, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	/* names that cannot exist are NXDOMAIN without asking */
	a = expect(r, "", AM_RR_A, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	a = expect(r, "x123456789012345678901234567890123456789012345678901234567890abcd.resolver.example",
	    AM_RR_A, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	{
		char big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		for (size_t i = 50; i < sizeof(big) - 1; i += 51)
			big[i] = '.';
		a = expect(r, big, AM_RR_A, AM_DNS_NXDOMAIN, 0);
		am_dns_answer_free(a);
	}
	am_resolver_free(r);
}
END_TEST

START_TEST(test_servfail)
{
	am_resolver *r = mkres(ns_spec, 4000);
	struct am_dns_answer *a;
	double t0 = now_ms();

	/* the server's own SERVFAIL (zone configured, failed to load) */
	a = expect(r, "x.servfail.example", AM_RR_A, AM_DNS_SERVFAIL, 0);
	am_dns_answer_free(a);
	/* REFUSED (zone not served) is a server failure too */
	a = expect(r, "x.notserved.example", AM_RR_TXT, AM_DNS_SERVFAIL, 0);
	am_dns_answer_free(a);
	/* both reported as such, not run into the deadline */
	ck_assert_msg(now_ms() - t0 < 3000, "SERVFAIL took %.0f ms", now_ms() - t0);
	am_resolver_free(r);
}
END_TEST

/* ---- deadlines and cancellation ----------------------------------------- */

START_TEST(test_timeout)
{
	struct blackhole b;
	am_resolver *r;
	struct am_dns_answer *a;
	double t0, el;

	blackhole_open(&b);
	r = mkres(b.spec, 1000);
	ck_assert_uint_eq(am_resolver_timeout_ms(r), 1000);
	t0 = now_ms();
	a = expect(r, "slow.example", AM_RR_TXT, AM_DNS_TIMEOUT, 0);
	el = now_ms() - t0;
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
	r = mkres(b.spec, 300);
	q = am_dns_start(r, "late.example", AM_RR_A);
	usleep(600 * 1000);
	t0 = now_ms();
	a = am_dns_wait(q);
	ck_assert_int_eq(a->status, AM_DNS_TIMEOUT);
	ck_assert_msg(now_ms() - t0 < 200, "waited %.0f ms past the deadline", now_ms() - t0);
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
	r = mkres(ns_spec, 3000);
	for (i = 0; i < 300; i++) {
		am_dns_query *q = am_dns_start(r, i % 2 ? "host.resolver.example" : "spf.resolver.example",
		    i % 2 ? AM_RR_A : AM_RR_TXT);

		if (i % 3 == 0)
			usleep(i % 200);
		am_dns_cancel(q);
	}
	am_dns_cancel(NULL);
	/* the resolver still works afterwards */
	am_dns_answer_free(expect(r, "host.resolver.example", AM_RR_A, AM_DNS_OK, 2));
	/* cancel queries that would never be answered */
	blackhole_open(&b);
	rb = mkres(b.spec, 5000);
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
	r = mkres(b.spec, 5000);
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
	am_resolver *r = mkres(ns_spec, 4000);
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
	am_resolver *r = mkres(ns_spec, 5000);
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

	snprintf(dir, sizeof(dir), "%s/cache", tmpdir);
	snprintf(zone, sizeof(zone), "%s/cache.example.zone", tmpdir);
	fp = fopen(zone, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("$ORIGIN cache.example.\n$TTL 600\n"
	    "@ SOA ns hostmaster 1 3600 600 86400 600\n@ NS ns\nns A 127.0.0.1\n"
	    "www A 192.0.2.77\nspf TXT \"v=spf1 -all\"\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	port = server_start(dir, zone);
	ck_assert_msg(port != 0, "second nsd did not start");
	snprintf(spec, sizeof(spec), "127.0.0.1@%u", port);
	r = mkres(spec, 800);
	a = expect(r, "www.cache.example", AM_RR_A, AM_DNS_OK, 1);
	am_dns_answer_free(a);
	a = expect(r, "spf.cache.example", AM_RR_TXT, AM_DNS_OK, 1);
	am_dns_answer_free(a);
	server_stop(dir);

	/* answered from the cache: the server is gone */
	a = expect(r, "www.cache.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(find_addr(a, AF_INET, "192.0.2.77"), 0);
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

/* ---- configuration ------------------------------------------------------ */

START_TEST(test_bad_specs)
{
	static const struct { const char *spec, *want; } bad[] = {
		{ "1.2.3", "entry 1 \"1.2.3\"" },
		{ "foo.example", "entry 1 \"foo.example\"" },
		{ "127.0.0.1,1.2.3.4@", "entry 2 \"1.2.3.4@\"" },
		{ "1.2.3.4@0", "entry 1 \"1.2.3.4@0\"" },
		{ "1.2.3.4@65536", "entry 1 \"1.2.3.4@65536\"" },
		{ "1.2.3.4@53x", "entry 1 \"1.2.3.4@53x\"" },
		{ "1.2.3.4@-1", "entry 1 \"1.2.3.4@-1\"" },
		{ "1.2.3.4,,5.6.7.8", "entry 2 is empty" },
		{ "1.2.3.4,", "entry 2 is empty" },
		{ "[::1]:53", "entry 1" },
		{ "::1@", "entry 1 \"::1@\"" },
		{ "1.2.3.4 5.6.7.8", "entry 1" },
		{ "@53", "entry 1" },
		{ "fe80::1::2", "entry 1" },
	};
	static const char *good[] = {
		"127.0.0.1", "127.0.0.1@5353", "::1@5353", "::1", " 127.0.0.1 , ::1@53 ",
		"192.0.2.1@65535,2001:db8::53",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		am_resolver *r;

		err[0] = '\0';
		r = am_resolver_new(bad[i].spec, 1000, err, sizeof(err));
		ck_assert_msg(r == NULL, "\"%s\" accepted", bad[i].spec);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "\"%s\": error \"%s\" lacks \"%s\"",
		    bad[i].spec, err, bad[i].want);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		am_resolver_free(mkres(good[i], 1000));
}
END_TEST

/* NULL, empty or blank: the system resolv.conf (not asked here). */
START_TEST(test_resolvconf)
{
	char err[256];
	am_resolver *r;

	if (access("/etc/resolv.conf", R_OK) != 0)
		return;
	r = am_resolver_new(NULL, 1000, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	am_resolver_free(r);
	am_resolver_free(mkres("", 1000));
	am_resolver_free(mkres("  ", 1000));
}
END_TEST

START_TEST(test_ipv6_forwarder)
{
	char spec[64];
	am_resolver *r;
	struct am_dns_answer *a;
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "check_resolver: no ::1 here, IPv6 forwarder test skipped\n");
		if (s >= 0)
			close(s);
		return;
	}
	close(s);
	snprintf(spec, sizeof(spec), "::1@%u", ns_port);
	r = mkres(spec, 3000);
	a = expect(r, "spf.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

/* The second forwarder answers when the first is a closed port. */
START_TEST(test_forwarder_list)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char spec[96];
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	am_resolver *r;

	/* a port nobody listens on: bind, learn it, close */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	snprintf(spec, sizeof(spec), "127.0.0.1@%u, %s", ntohs(sa.sin_port), ns_spec);
	r = mkres(spec, 4000);
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%d.resolver.example", i);
		am_dns_answer_free(expect(r, name, AM_RR_A, AM_DNS_NXDOMAIN, 0));
	}
	am_resolver_free(r);
}
END_TEST

/* The synchronous backend (other modules' unit tests) still works. */
START_TEST(test_backend)
{
	struct fakezone *fz = fz_new();
	am_resolver *r = am_resolver_new_backend(fz_backend, fz, 1234);
	struct am_dns_answer *a;
	am_dns_query *q;

	fz_add_txt(fz, "x.example", "hello");
	ck_assert_uint_eq(am_resolver_timeout_ms(r), 1234);
	a = am_dns_lookup(r, "x.example", AM_RR_TXT);
	ck_assert_int_eq(a->status, AM_DNS_OK);
	ck_assert_str_eq((char *)a->rr[0].data, "hello");
	am_dns_answer_free(a);
	q = am_dns_start(r, "x.example", AM_RR_TXT);
	am_dns_cancel(q);
	am_resolver_free(r);
	fz_free(fz);
}
END_TEST

static Suite *
resolver_suite(void)
{
	Suite *s = suite_create("resolver");
	TCase *tc = tcase_create("libunbound");

	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_txt);
	tcase_add_test(tc, test_a_aaaa);
	tcase_add_test(tc, test_mx);
	tcase_add_test(tc, test_ptr);
	tcase_add_test(tc, test_cname);
	tcase_add_test(tc, test_nxdomain_nodata);
	tcase_add_test(tc, test_servfail);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_wait_after_deadline);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_with_open_queries);
	tcase_add_test(tc, test_start_several_then_wait);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_shared_cache);
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_resolvconf);
	tcase_add_test(tc, test_ipv6_forwarder);
	tcase_add_test(tc, test_forwarder_list);
	tcase_add_test(tc, test_backend);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char dir[128];
	SRunner *sr;
	int failed;

	main_pid = getpid();
	am_strlcpy(tmpdir, "/tmp/check_resolver.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	snprintf(dir, sizeof(dir), "%s/main", tmpdir);
	ns_port = server_start(dir, ZONES "/resolver.example.zone " ZONES "/other.example.zone "
	    ZONES "/2.0.192.in-addr.arpa.zone " ZONES "/8.b.d.0.1.0.0.2.ip6.arpa.zone "
	    ZONES "/servfail.example.zone");
	if (ns_port == 0) {
		fprintf(stderr, "check_resolver: cannot start nsd (Debian package nsd)\n");
		return 99;	/* hard error: the tests cannot run */
	}
	snprintf(ns_spec, sizeof(ns_spec), "127.0.0.1@%u", ns_port);
	sr = srunner_create(resolver_suite());
	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY=verbose for per-test lines */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup();
	return failed == 0 ? 0 : 1;
}
