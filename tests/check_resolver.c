/*
 * check_resolver.c - tests of the resolver module against a real server.
 *
 * Owns: the loopback NSD fixture and the helpers the resolver tests share
 * (check_resolver.h), and the tests of what an answer holds: record
 * decoding, status mapping, configuration (forwarders, resolv.conf) and
 * the synchronous backend.  Deadlines, cancellation, threads and the
 * cache are in check_resolver_queries.c; both run in one suite.
 * main() starts a loopback NSD with the zones in tests/dns/zones
 * (tests/dns/nsd-fixture.sh) and stops it at exit, also when tests fail;
 * tests run in forked children, so they cannot take the server down with
 * them.  A failed check is reported by Check; no server is a hard error (99).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_resolver.h"
#include "fakezone.h"
#include "nsdfixture.h"
#include "dns/resolver.h"
#include "util/util.h"

#define ZONES	TOP_SRCDIR "/tests/dns/zones"

char	cr_tmpdir[64];		/* our scratch directory */
char	cr_ns_spec[64];		/* "127.0.0.1@PORT" of the main server */
static unsigned ns_port;
static pid_t main_pid;

/* ---- fixture ------------------------------------------------------------ */

/* The loopback nsd, owned by the main process (nsdfixture.c). */
unsigned
cr_server_start(const char *dir, const char *zonefiles)
{
	return nsdf_start(dir, zonefiles, main_pid);
}

/* Runs at exit of the main process only (forked test children exit too). */
static void
cleanup(void)
{
	char cmd[256];

	if (getpid() != main_pid || cr_tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "%s/main", cr_tmpdir);
	nsdf_stop(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cr_tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_resolver: cannot remove %s\n", cr_tmpdir);
	cr_tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

double
cr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

am_resolver *
cr_mkres(const char *spec, unsigned timeout_ms)
{
	char err[256] = "";
	am_resolver *r = am_resolver_new(spec, timeout_ms, err, sizeof(err));

	ck_assert_msg(r != NULL, "am_resolver_new(%s): %s", spec, err);
	return r;
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

int
cr_find_addr(const struct am_dns_answer *a, int af, const char *addr)
{
	unsigned char buf[16];
	size_t i, len = af == AF_INET ? 4 : 16;

	ck_assert_int_eq(inet_pton(af, addr, buf), 1);
	for (i = 0; i < a->count; i++)
		if (a->rr[i].len == len && memcmp(a->rr[i].data, buf, len) == 0)
			return (int)i;
	return -1;
}

struct am_dns_answer *
cr_expect(am_resolver *r, const char *name, int type, enum am_dns_status st, size_t count)
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
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a;
	char longtxt[511];

	/* one record of three strings: concatenated, no separators added */
	a = cr_expect(r, "spf.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data,
	    "v=spf1 ip4:192.0.2.0/24 include:_spf.resolver.example -all");
	ck_assert_str_eq(a->canonname, "spf.resolver.example");
	ck_assert_msg(a->ttl > 0 && a->ttl <= 300, "ttl %u", a->ttl);
	ck_assert(!a->secure);
	am_dns_answer_free(a);

	/* two records stay two */
	a = cr_expect(r, "multi.resolver.example.", AM_RR_TXT, AM_DNS_OK, 2);
	ck_assert_int_ge(find_text(a, "first record"), 0);
	ck_assert_int_ge(find_text(a, "second record"), 0);
	ck_assert_str_eq(a->canonname, "multi.resolver.example");
	am_dns_answer_free(a);

	/* two full 255-octet strings */
	memset(longtxt, 'a', 255);
	memset(longtxt + 255, 'b', 255);
	longtxt[510] = '\0';
	a = cr_expect(r, "long.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_uint_eq(a->rr[0].len, 510);
	ck_assert_str_eq((char *)a->rr[0].data, longtxt);
	am_dns_answer_free(a);

	a = cr_expect(r, "empty.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_uint_eq(a->rr[0].len, 0);
	ck_assert_str_eq((char *)a->rr[0].data, "");
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_a_aaaa)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a;

	a = cr_expect(r, "host.resolver.example", AM_RR_A, AM_DNS_OK, 2);
	ck_assert_int_ge(cr_find_addr(a, AF_INET, "192.0.2.1"), 0);
	ck_assert_int_ge(cr_find_addr(a, AF_INET, "192.0.2.2"), 0);
	am_dns_answer_free(a);
	a = cr_expect(r, "host.resolver.example", AM_RR_AAAA, AM_DNS_OK, 1);
	ck_assert_int_eq(cr_find_addr(a, AF_INET6, "2001:db8::1"), 0);
	am_dns_answer_free(a);
	/* case-insensitive names */
	a = cr_expect(r, "HOST.Resolver.EXAMPLE", AM_RR_A, AM_DNS_OK, 2);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_mx)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a = cr_expect(r, "resolver.example", AM_RR_MX, AM_DNS_OK, 2);
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
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a;

	/* TEST-NET reverse zones: libunbound would answer NXDOMAIN itself */
	a = cr_expect(r, "1.2.0.192.in-addr.arpa", AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "host.resolver.example");
	am_dns_answer_free(a);
	a = cr_expect(r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "host.resolver.example");
	am_dns_answer_free(a);
	a = cr_expect(r, "2.2.0.192.in-addr.arpa", AM_RR_PTR, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	/* octets that are special in presentation form come back escaped */
	a = cr_expect(r, "weird.resolver.example", AM_RR_PTR, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "a\\.b\\032c.resolver.example");
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

START_TEST(test_cname)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a;

	/* two CNAMEs followed to the data, canonname is the end of the chain */
	a = cr_expect(r, "alias1.resolver.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(cr_find_addr(a, AF_INET, "192.0.2.10"), 0);
	ck_assert_str_eq(a->canonname, "target.resolver.example");
	am_dns_answer_free(a);
	a = cr_expect(r, "alias1.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "at the target");
	am_dns_answer_free(a);
	/* into another zone */
	a = cr_expect(r, "cross.resolver.example", AM_RR_A, AM_DNS_OK, 1);
	ck_assert_int_eq(cr_find_addr(a, AF_INET, "198.51.100.20"), 0);
	ck_assert_str_eq(a->canonname, "www.other.example");
	am_dns_answer_free(a);
	/* asking for the CNAME itself */
	a = cr_expect(r, "alias1.resolver.example", AM_RR_CNAME, AM_DNS_OK, 1);
	ck_assert_str_eq((char *)a->rr[0].data, "alias2.resolver.example");
	am_dns_answer_free(a);
	/* a chain into NODATA */
	a = cr_expect(r, "alias1.resolver.example", AM_RR_MX, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	am_resolver_free(r);
}
END_TEST

/* ---- status mapping ----------------------------------------------------- */

START_TEST(test_nxdomain_nodata)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 3000);
	struct am_dns_answer *a;

	a = cr_expect(r, "nope.resolver.example", AM_RR_TXT, AM_DNS_NXDOMAIN, 0);
	ck_assert_str_eq(a->canonname, "nope.resolver.example");
	am_dns_answer_free(a);
	a = cr_expect(r, "nodata.resolver.example", AM_RR_TXT, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	/* an empty non-terminal exists too: NODATA, not NXDOMAIN */
	a = cr_expect(r, "resolver.example", AM_RR_AAAA, AM_DNS_NODATA, 0);
	am_dns_answer_free(a);
	/* names that cannot exist are NXDOMAIN without asking */
	a = cr_expect(r, "", AM_RR_A, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	a = cr_expect(r, "x123456789012345678901234567890123456789012345678901234567890abcd.resolver.example",
	    AM_RR_A, AM_DNS_NXDOMAIN, 0);
	am_dns_answer_free(a);
	{
		char big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		for (size_t i = 50; i < sizeof(big) - 1; i += 51)
			big[i] = '.';
		a = cr_expect(r, big, AM_RR_A, AM_DNS_NXDOMAIN, 0);
		am_dns_answer_free(a);
	}
	am_resolver_free(r);
}
END_TEST

START_TEST(test_servfail)
{
	am_resolver *r = cr_mkres(cr_ns_spec, 4000);
	struct am_dns_answer *a;
	double t0 = cr_now_ms();

	/* the server's own SERVFAIL (zone configured, failed to load) */
	a = cr_expect(r, "x.servfail.example", AM_RR_A, AM_DNS_SERVFAIL, 0);
	am_dns_answer_free(a);
	/* REFUSED (zone not served) is a server failure too */
	a = cr_expect(r, "x.notserved.example", AM_RR_TXT, AM_DNS_SERVFAIL, 0);
	am_dns_answer_free(a);
	/* both reported as such, not run into the deadline */
	ck_assert_msg(cr_now_ms() - t0 < 3000, "SERVFAIL took %.0f ms", cr_now_ms() - t0);
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
		am_resolver_free(cr_mkres(good[i], 1000));
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
	am_resolver_free(cr_mkres("", 1000));
	am_resolver_free(cr_mkres("  ", 1000));
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
	r = cr_mkres(spec, 3000);
	a = cr_expect(r, "spf.resolver.example", AM_RR_TXT, AM_DNS_OK, 1);
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
	snprintf(spec, sizeof(spec), "127.0.0.1@%u, %s", ntohs(sa.sin_port), cr_ns_spec);
	r = cr_mkres(spec, 4000);
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%d.resolver.example", i);
		am_dns_answer_free(cr_expect(r, name, AM_RR_A, AM_DNS_NXDOMAIN, 0));
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

/*
 * A query complete when started (an impossible name, a test backend's
 * answer) may be waited for or cancelled after am_resolver_free: it must
 * not touch the freed resolver (the sanitizer build catches a read).
 */
START_TEST(test_complete_queries_outlive_resolver)
{
	char name[300];
	struct fakezone *fz = fz_new();
	am_resolver *r;
	struct am_dns_answer *a;
	am_dns_query *q1, *q2;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	r = cr_mkres("127.0.0.1@9", 500);
	q1 = am_dns_start(r, name, AM_RR_TXT);		/* longer than any domain name */
	q2 = am_dns_start(r, name, AM_RR_A);
	am_resolver_free(r);
	a = am_dns_wait(q1);
	ck_assert_int_eq(a->status, AM_DNS_NXDOMAIN);
	am_dns_answer_free(a);
	am_dns_cancel(q2);

	fz_add_txt(fz, "x.example", "hello");
	r = am_resolver_new_backend(fz_backend, fz, 500);
	q1 = am_dns_start(r, "x.example", AM_RR_TXT);
	q2 = am_dns_start(r, "x.example", AM_RR_TXT);
	am_resolver_free(r);
	a = am_dns_wait(q1);
	ck_assert_int_eq(a->status, AM_DNS_OK);
	am_dns_answer_free(a);
	am_dns_cancel(q2);
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
	cr_add_query_tests(tc);	/* check_resolver_queries.c */
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_resolvconf);
	tcase_add_test(tc, test_ipv6_forwarder);
	tcase_add_test(tc, test_forwarder_list);
	tcase_add_test(tc, test_backend);
	tcase_add_test(tc, test_complete_queries_outlive_resolver);
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
	am_strlcpy(cr_tmpdir, "/tmp/check_resolver.XXXXXX", sizeof(cr_tmpdir));
	if (mkdtemp(cr_tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	snprintf(dir, sizeof(dir), "%s/main", cr_tmpdir);
	/* No root zone: a name outside the zones must get REFUSED (test_servfail). */
	setenv("NSD_FIXTURE_NO_ROOT", "1", 1);
	ns_port = cr_server_start(dir, ZONES "/resolver.example.zone " ZONES "/other.example.zone "
	    ZONES "/2.0.192.in-addr.arpa.zone " ZONES "/8.b.d.0.1.0.0.2.ip6.arpa.zone "
	    ZONES "/servfail.example.zone");
	if (ns_port == 0) {
		fprintf(stderr, "check_resolver: cannot start nsd (Debian package nsd)\n");
		return 99;	/* hard error: the tests cannot run */
	}
	snprintf(cr_ns_spec, sizeof(cr_ns_spec), "127.0.0.1@%u", ns_port);
	sr = srunner_create(resolver_suite());
	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY=verbose for per-test lines */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup();
	return failed == 0 ? 0 : 1;
}
