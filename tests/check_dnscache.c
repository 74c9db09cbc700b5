/*
 * check_dnscache.c - tests of the resolver's answer cache (dnscache.c):
 * its byte bound, LRU eviction one entry at a time, the per-entry cap,
 * a wildcard flood that must neither grow the process past the bound nor
 * push out the names in use, and concurrent readers and writers.
 *
 * The "live" case floods a real resolver (libunbound) from a loopback
 * NSD serving a wildcard TXT zone of large records
 * (tests/dns/nsd-fixture.sh), measuring the process's VmRSS.  main()
 * starts the server and stops it at exit; no server is a hard error (99).
 * RSS checks are skipped under AddressSanitizer, whose quarantine keeps
 * freed memory resident on purpose.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dnscache.h"
#include "dns/resolver.h"
#include "util/util.h"

#include "nsdfixture.h"


#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

#define FLOOD_TXT	(12 * 1024)	/* just under the 16K cap: the attacker's best */

static char tmpdir[64];
static char ns_spec[64];
static pid_t main_pid;

/* ---- helpers ------------------------------------------------------------ */

/* A TXT answer of one record of len bytes (ttl 600). */
static struct am_dns_answer *
txt(size_t len)
{
	struct am_dns_answer *a = am_dns_answer_new(AM_DNS_OK, AM_RR_TXT);
	char *buf = am_xmalloc(len + 1);

	memset(buf, 'x', len);
	am_dns_answer_add(a, buf, len, 0);
	free(buf);
	a->ttl = 600;
	return a;
}

static bool
cached(am_dnscache *c, const char *name)
{
	struct am_dns_answer *a = am_dnscache_get(c, name, AM_RR_TXT);

	am_dns_answer_free(a);
	return a != NULL;
}

static size_t
usage_bytes(am_dnscache *c, size_t *entries)
{
	size_t b, n;

	am_dnscache_usage(c, &b, &n);
	if (entries != NULL)
		*entries = n;
	return b;
}

/* malloc(n) as glibc carves it on 64-bit (what dnscache.c charges). */
static size_t
chunk(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

/* The process's resident set, KiB (/proc/self/status VmRSS). */
static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(fp);
	return kib;
}

/* ---- byte accounting ---------------------------------------------------- */

START_TEST(test_accounting)
{
	am_dnscache *c = am_dnscache_new(1 << 20);
	struct am_dns_answer *empty = am_dns_answer_new(AM_DNS_NODATA, AM_RR_TXT);
	struct am_dns_answer *two = txt(100);
	size_t base, b2, n;

	empty->ttl = 600;
	am_dns_answer_add(two, "v=spf1 -all", 11, 0);
	/* The overhead of an entry is its bookkeeping alone; the trailing dot
	 * and case do not count (one key). */
	base = am_dnscache_entry_bytes("a.example", empty);
	ck_assert_uint_eq(base, am_dnscache_entry_bytes("A.Example.", empty));
	ck_assert_msg(base >= sizeof(struct am_dns_answer) && base <= 512,
	    "overhead %zu bytes per entry", base);
	/* Records add their array and each record's chunk, exactly. */
	b2 = am_dnscache_entry_bytes("a.example", two);
	ck_assert_uint_eq(b2, base + chunk(2 * sizeof(struct am_dns_rr)) + chunk(101) + chunk(12));
	/* The cache's total is the sum of its entries' charges. */
	am_dnscache_put(c, "a.example", AM_RR_TXT, empty);
	ck_assert_uint_eq(usage_bytes(c, &n), base);
	ck_assert_uint_eq(n, 1);
	am_dnscache_put(c, "b.example", AM_RR_TXT, two);
	ck_assert_uint_eq(usage_bytes(c, &n), base + b2);
	ck_assert_uint_eq(n, 2);
	/* Replacing an entry swaps its charge. */
	am_dnscache_put(c, "A.EXAMPLE.", AM_RR_TXT, two);
	ck_assert_uint_eq(usage_bytes(c, &n), 2 * b2);
	ck_assert_uint_eq(n, 2);
	am_dns_answer_free(empty);
	am_dns_answer_free(two);
	am_dnscache_free(c);
	fprintf(stderr, "# dnscache: %zu bytes per entry besides its records\n", base);
}
END_TEST

/* ---- LRU ---------------------------------------------------------------- */

/* A cache holding exactly 8 entries of one size, filled with n0..n7. */
static am_dnscache *
eight(struct am_dns_answer **ap, size_t *eb)
{
	char name[32];
	am_dnscache *c;
	int i;

	*ap = txt(1000);
	*eb = am_dnscache_entry_bytes("n0.example", *ap);
	/* an entry may take an eighth: 8 of them fill it */
	c = am_dnscache_new(8 * *eb);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		am_dnscache_put(c, name, AM_RR_TXT, *ap);
	}
	return c;
}

START_TEST(test_read_refreshes)
{
	struct am_dns_answer *a;
	size_t eb, n;
	am_dnscache *c = eight(&a, &eb);

	/* n0 is the oldest put, but read now: n1 is the least recently used */
	ck_assert(cached(c, "n0.example"));
	am_dnscache_put(c, "n8.example", AM_RR_TXT, a);
	ck_assert_msg(cached(c, "n0.example"), "a read did not refresh n0: evicted");
	ck_assert_msg(!cached(c, "n1.example"), "n1, least recently used, still cached");
	ck_assert_msg(cached(c, "n2.example") && cached(c, "n7.example") && cached(c, "n8.example"),
	    "more than one entry evicted");
	ck_assert_uint_eq(usage_bytes(c, &n), 8 * eb);
	ck_assert_uint_eq(n, 8);
	am_dns_answer_free(a);
	am_dnscache_free(c);
}
END_TEST

START_TEST(test_evict_one_at_a_time)
{
	struct am_dns_answer *a;
	char name[32];
	size_t eb, n;
	int i, j, bad = -1;
	am_dnscache *c = eight(&a, &eb);

	/* each new name pushes out exactly the oldest-used one */
	for (i = 8; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		am_dnscache_put(c, name, AM_RR_TXT, a);
		(void)usage_bytes(c, &n);
		if (n != 8 && bad < 0)
			bad = i;
	}
	/* which leaves n12..n19, in order of use (probe newest first so
	 * the probes themselves do not reorder what is still to be probed) */
	for (j = 19; j >= 0; j--) {
		snprintf(name, sizeof(name), "n%d.example", j);
		ck_assert_msg(cached(c, name) == (j >= 12), "%s %s", name, j >= 12 ? "evicted" : "kept");
	}
	ck_assert_msg(bad < 0, "after n%d: not 8 entries", bad);
	ck_assert_uint_eq(usage_bytes(c, &n), 8 * eb);
	am_dns_answer_free(a);
	am_dnscache_free(c);
}
END_TEST

/* ---- the per-entry cap -------------------------------------------------- */

START_TEST(test_entry_cap)
{
	am_dnscache *c = am_dnscache_new(1 << 20);
	am_dnscache *none = am_dnscache_new(0);
	struct am_dns_answer *small = txt(100), *big = txt(AM_DNSCACHE_ENTRY_MAX);
	size_t n;

	am_dnscache_put(c, "big.example", AM_RR_TXT, small);
	ck_assert(cached(c, "big.example"));
	/* over the cap: not kept, and the stale smaller answer goes too */
	am_dnscache_put(c, "big.example", AM_RR_TXT, big);
	ck_assert_msg(!cached(c, "big.example"), "an answer over the cap was cached");
	ck_assert_uint_eq(usage_bytes(c, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* the cap is an eighth of a small cache */
	am_dnscache_free(c);
	c = am_dnscache_new(8 * am_dnscache_entry_bytes("s.example", small) - 1);
	am_dnscache_put(c, "s.example", AM_RR_TXT, small);
	ck_assert(!cached(c, "s.example"));
	/* size 0: no cache */
	am_dnscache_put(none, "s.example", AM_RR_TXT, small);
	ck_assert(!cached(none, "s.example"));
	am_dns_answer_free(small);
	am_dns_answer_free(big);
	am_dnscache_free(c);
	am_dnscache_free(none);
}
END_TEST

/* ---- a flood of distinct names ------------------------------------------ */

#define WORKING_SET	20
#define FLOOD_NAMES	20000

START_TEST(test_flood_keeps_working_set)
{
	const size_t bound = 1 << 20;
	am_dnscache *c = am_dnscache_new(bound);
	struct am_dns_answer *legit = txt(200), *junk = txt(FLOOD_TXT);
	char name[64];
	size_t n, high = 0;
	unsigned misses = 0;
	long before, after;
	int i, j;

	for (j = 0; j < WORKING_SET; j++) {
		snprintf(name, sizeof(name), "ws%d.example.net", j);
		am_dnscache_put(c, name, AM_RR_TXT, legit);
	}
	before = rss_kib();
	for (i = 0; i < FLOOD_NAMES; i++) {
		snprintf(name, sizeof(name), "r%d.flood.example", i);
		am_dnscache_put(c, name, AM_RR_TXT, junk);
		if (usage_bytes(c, NULL) > high)
			high = usage_bytes(c, NULL);
		/* legitimate mail keeps asking for its names between the junk */
		if (i % 20 == 19)
			for (j = 0; j < WORKING_SET; j++) {
				snprintf(name, sizeof(name), "ws%d.example.net", j);
				if (!cached(c, name)) {
					misses++;
					am_dnscache_put(c, name, AM_RR_TXT, legit);
				}
			}
	}
	after = rss_kib();
	fprintf(stderr, "# dnscache flood: %d x %d-byte answers, bound %zu: peak %zu bytes, "
	    "RSS %ld -> %ld KiB, working-set misses %u\n", FLOOD_NAMES, FLOOD_TXT, bound, high,
	    before, after, misses);
	ck_assert_msg(high <= bound, "peak %zu bytes over the bound %zu", high, bound);
	ck_assert_msg(misses == 0, "%u working-set lookups missed during the flood", misses);
	if (RSS_MEANINGFUL)
		ck_assert_msg(after - before <= (long)(bound / 1024) + 4096,
		    "RSS grew %ld KiB for a %zu-byte cache", after - before, bound);
	(void)usage_bytes(c, &n);
	ck_assert_msg(n >= WORKING_SET, "only %zu entries left", n);
	am_dns_answer_free(legit);
	am_dns_answer_free(junk);
	am_dnscache_free(c);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

struct worker {
	am_dnscache *c;
	int	id;
	struct am_dns_answer *a;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	char name[64];
	int i;

	for (i = 0; i < 20000; i++) {
		/* shared names read (LRU splices under the read lock) ... */
		snprintf(name, sizeof(name), "shared%d.example", i % 16);
		if (!cached(w->c, name))
			am_dnscache_put(w->c, name, AM_RR_TXT, w->a);
		/* ... while own names evict */
		snprintf(name, sizeof(name), "t%d-%d.example", w->id, i);
		am_dnscache_put(w->c, name, AM_RR_TXT, w->a);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct am_dns_answer *a = txt(300);
	size_t eb = am_dnscache_entry_bytes("t0-0.example", a), n, b;
	am_dnscache *c = am_dnscache_new(64 * eb);
	struct worker w[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .c = c, .id = i, .a = a };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	b = usage_bytes(c, &n);
	ck_assert_msg(b <= 64 * eb && n <= 64, "%zu bytes in %zu entries, bound %zu", b, n, 64 * eb);
	am_dns_answer_free(a);
	am_dnscache_free(c);	/* walks every chain: a torn list would show under ASan */
}
END_TEST

/* ---- live: libunbound against a wildcard zone --------------------------- */

#define LIVE_BOUND	((size_t)2 << 20)
#define LIVE_FLOOD	1500
#define LIVE_MARGIN_KIB	(8 * 1024)	/* libunbound's own rrset cache (4M) and slack */

static void
live_check(struct am_dns_answer *a, const char *name, size_t want_len)
{
	ck_assert_msg(a->status == AM_DNS_OK && a->count == 1 && a->rr[0].len == want_len,
	    "%s: %s, %zu records", name, am_dns_status_name(a->status), a->count);
	am_dns_answer_free(a);
}

/* Names prefix0..prefix(n-1), 8 queries in flight at a time (as a busy milter has). */
static void
live_flood(am_resolver *r, const char *prefix, int n)
{
	am_dns_query *q[8];
	char name[64];
	int i, j, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < 8 && i + k < n; k++) {
			snprintf(name, sizeof(name), "%s%d.flood.example", prefix, i + k);
			q[k] = am_dns_start(r, name, AM_RR_TXT);
		}
		for (j = 0; j < k; j++)
			live_check(am_dns_wait(q[j]), prefix, FLOOD_TXT);
	}
}

START_TEST(test_live_flood)
{
	char err[256] = "";
	am_resolver *r = am_resolver_new_sized(ns_spec, 3000, LIVE_BOUND, err, sizeof(err));
	long before, after;
	int i;

	ck_assert_msg(r != NULL, "resolver: %s", err);
	/* warm up libunbound (threads, buffers, its own caches) first */
	live_flood(r, "w", 100);
	before = rss_kib();
	live_flood(r, "r", LIVE_FLOOD);
	after = rss_kib();
	/* an answer over the cap is still answered, every time */
	for (i = 0; i < 2; i++)
		live_check(am_dns_lookup(r, "big.flood.example", AM_RR_TXT), "big", 2 * FLOOD_TXT);
	fprintf(stderr, "# dnscache live flood: %d x %d-byte TXT, cache bound %zu: "
	    "RSS %ld -> %ld KiB (+%ld)\n", LIVE_FLOOD, FLOOD_TXT, LIVE_BOUND, before, after,
	    after - before);
	if (RSS_MEANINGFUL)
		ck_assert_msg(after - before <= (long)(LIVE_BOUND / 1024) + LIVE_MARGIN_KIB,
		    "RSS grew %ld KiB over %d lookups (cache bound %zu KiB + %d KiB margin)",
		    after - before, LIVE_FLOOD, LIVE_BOUND / 1024, LIVE_MARGIN_KIB);
	am_resolver_free(r);
}
END_TEST

/* The wildcard zone: TXT of FLOOD_TXT bytes (big: twice that) in 192-byte strings. */
static bool
write_zone(const char *path)
{
	FILE *fp = fopen(path, "w");
	int i, k;

	if (fp == NULL)
		return false;
	fputs("$ORIGIN flood.example.\n$TTL 3600\n"
	    "@ SOA ns hostmaster 1 3600 600 86400 600\n@ NS ns\nns A 127.0.0.1\n", fp);
	for (k = 1; k <= 2; k++) {
		fputs(k == 1 ? "* TXT (" : "big TXT (", fp);
		for (i = 0; i < k * FLOOD_TXT / 192; i++)
			fprintf(fp, " \"%0192d\"", 0);
		fputs(" )\n", fp);
	}
	return fclose(fp) == 0;
}

static void
cleanup(void)
{
	char cmd[256];

	if (getpid() != main_pid || tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "%s/ns", tmpdir);
	nsdf_stop(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_dnscache: cannot remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The loopback server; its port, 0 on failure. */
static unsigned
server_start(void)
{
	char dir[128], zone[128];

	snprintf(zone, sizeof(zone), "%s/flood.example.zone", tmpdir);
	if (!write_zone(zone))
		return 0;
	snprintf(dir, sizeof(dir), "%s/ns", tmpdir);
	return nsdf_start(dir, zone, main_pid);
}

static Suite *
dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc = tcase_create("cache"), *live = tcase_create("live");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_accounting);
	tcase_add_test(tc, test_read_refreshes);
	tcase_add_test(tc, test_evict_one_at_a_time);
	tcase_add_test(tc, test_entry_cap);
	tcase_add_test(tc, test_flood_keeps_working_set);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	tcase_set_timeout(live, 60);
	tcase_add_test(live, test_live_flood);
	suite_add_tcase(s, live);
	return s;
}

int
main(void)
{
	SRunner *sr;
	unsigned port;
	int failed;

	main_pid = getpid();
	am_strlcpy(tmpdir, "/tmp/check_dnscache.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if ((port = server_start()) == 0) {
		fprintf(stderr, "check_dnscache: cannot start nsd (Debian package nsd)\n");
		return 99;
	}
	snprintf(ns_spec, sizeof(ns_spec), "127.0.0.1@%u", port);
	sr = srunner_create(dnscache_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup();
	return failed == 0 ? 0 : 1;
}
