/*
 * check_dkim.c - unit and conformance tests of lib/auth/dkim*.c: the
 * suite, our own fixtures, key records and the key cache, and threads.
 *
 * Messages are split into header fields and body and fed through the
 * public per-message API, as the milter and the offline mode do.  Keys
 * come from the vectors' DNS data loaded into a fakezone behind
 * am_resolver_new_backend(), so the DNS hooks and the synthesized
 * response packets are exercised on every case.
 *
 * Data: TESTDATA_DIR/dkim (RFC 8463, dkimpy, Mail::DKIM corpus, OpenDKIM
 * milter scenarios; check_dkim_vectors.c) and tests/dkim/ (our fixtures
 * made by python3-dkim, see tests/dkim/gen-fixtures.py, and our
 * expectations with reasons in tests/dkim/mail-dkim-expected.tsv and
 * tests/dkim/EXPECTED.md).  Hostile input: check_dkim_robust.c; the
 * shared fixture and helpers: check_dkim_util.c.
 *
 * Failures are Check assertions; table mismatches are also named on
 * stderr.  ALIGNMILTER_DKIM_SURVEY=1 prints every verdict.  Threads:
 * test_threads runs four verifiers on one library.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dkim.h"
#include "auth/keycache.h"
#include "check_dkim.h"
#include "fakezone.h"
#include "testutil.h"

/* ---- our fixtures (python3-dkim) ------------------------------------------------ */

START_TEST(test_own_fixtures)
{
	size_t len;
	char *buf = tu_slurp(OWN_DIR "/own/expected.tsv", &len), *cur = buf, *line;
	unsigned n = 0, ok = 0;

	ck_assert(buf != NULL);
	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	while ((line = ckd_next_line(&cur)) != NULL) {
		char *file, *maxs, *expected, *flags, *reason, *save = NULL, path[512];
		struct am_dkim_verdict v;
		am_dkim_lib *lib;
		bool good;
		size_t i;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		file = strtok_r(line, "\t", &save);
		maxs = strtok_r(NULL, "\t", &save);
		expected = strtok_r(NULL, "\t", &save);
		flags = strtok_r(NULL, "\t", &save);
		reason = strtok_r(NULL, "\t", &save);
		ck_assert(file != NULL && maxs != NULL && expected != NULL && flags != NULL && reason != NULL);
		snprintf(path, sizeof(path), OWN_DIR "/own/%s", file);
		lib = ckd_new_lib((unsigned)atoi(maxs));
		/* odd chunk size: CR and LF of one line end land in different chunks */
		ck_assert(ckd_verify_file(lib, path, 33, &v));
		am_dkim_lib_free(lib);
		n++;
		if (ckd_survey)
			ckd_print_verdict(file, &v);
		good = ckd_results_match(expected, &v);
		if (strstr(flags, "duplicated_suffix") != NULL)
			good = good && v.sig[0].duplicated_suffix;
		else
			for (i = 0; i < v.count; i++)
				good = good && !v.sig[i].duplicated_suffix;
		if (strstr(flags, "key_not_found") != NULL)
			good = good && v.sig[0].key_not_found;
		if (strcmp(reason, "-") != 0)
			good = good && v.count > 0 && strstr(v.sig[0].reason, reason) != NULL;
		if (good)
			ok++;
		else {
			char got[512];

			ckd_results_string(&v, got, sizeof(got));
			fprintf(stderr, "own %s (max %s): expected %s [%s] [%s], got %s [%s]\n", file, maxs,
			    expected, flags, reason, got, v.count > 0 ? v.sig[0].reason : "");
		}
	}
	free(buf);
	printf("DKIM own python3-dkim fixtures: %u/%u as expected\n", ok, n);
	ck_assert_uint_eq(ok, n);
}
END_TEST

START_TEST(test_own_details)
{
	struct am_dkim_verdict v;
	size_t i;

	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");

	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	ck_assert_uint_eq(v.sig[0].keybits, 2048);
	ck_assert_str_eq(v.sig[0].domain, "example.com");
	ck_assert_str_eq(v.sig[0].selector, "rsa2048");
	ck_assert_str_eq(v.sig[0].algorithm, "rsa-sha256");
	ck_assert_str_eq(v.sig[0].reason, "");

	ckd_verify_own(5, "ed25519.eml", 1, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	ck_assert_str_eq(v.sig[0].algorithm, "ed25519-sha256");
	ck_assert_uint_eq(v.sig[0].keybits, 0);

	/* verified first (libopendkim's own minimum is off), then RFC 8301 */
	ckd_verify_own(5, "rsa512.eml", 4096, &v);
	ck_assert_uint_eq(v.sig[0].keybits, 512);
	ck_assert_str_eq(v.sig[0].reason, "key too small (512 bits)");

	/* MaximumSignatures: total counts all, unverified ones are marked */
	ckd_verify_own(5, "seven-sigs.eml", 4096, &v);
	ck_assert_uint_eq(v.total, 7);
	ck_assert_uint_eq(v.count, 7);
	ck_assert(!v.sig[0].verified);
	ck_assert_str_eq(v.sig[0].domain, "amazonses.com");
	ck_assert_str_eq(v.sig[0].reason, "not verified: MaximumSignatures");
	for (i = 1; i < 6; i++)
		ck_assert(v.sig[i].verified);
	ck_assert(!v.sig[6].verified);

	/* Only 5 verified, each key asked twice here (our prefetch and
	 * libopendkim's own query; a live resolver merges them), plus the
	 * key of the first field, started as it arrived (the first 5 fields
	 * are) but not chosen: the From domain comes later.  The 7th field's
	 * key is never asked: 11, not 14. */
	{
		unsigned before = fz_queries(ckd_fz);

		ckd_verify_own(5, "seven-sigs.eml", 4096, &v);
		ck_assert_uint_eq(fz_queries(ckd_fz) - before, 2 * 5 + 1);
	}

	/* am_dkim_eom twice: the same verdict, no new lookups */
	{
		am_dkim_lib *lib = ckd_new_lib(5);
		am_dkim_msg *m = am_dkim_msg_new(lib, "twice");
		struct am_dkim_verdict v2;
		size_t len;
		char *raw = tu_slurp(OWN_DIR "/own/dup-suffix.eml", &len);
		unsigned q;

		ck_assert(raw != NULL);
		ckd_feed(m, raw, len, 4096);
		am_dkim_eom(m, &v);
		q = fz_queries(ckd_fz);
		am_dkim_eom(m, &v2);
		ck_assert_uint_eq(fz_queries(ckd_fz), q);
		/* the filled part is what a verdict holds (sig[] beyond count is unused) */
		ck_assert_uint_eq(v.count, v2.count);
		ck_assert_uint_eq(v.total, v2.total);
		ck_assert(memcmp(v.sig, v2.sig, v.count * sizeof(v.sig[0])) == 0);
		ck_assert(v.sig[0].duplicated_suffix);
		am_dkim_msg_free(m);
		am_dkim_lib_free(lib);
		free(raw);
	}

	/* the duplicated-suffix probe asks the resolver exactly once more
	 * (the key itself twice: prefetch and libopendkim) */
	{
		unsigned before = fz_queries(ckd_fz);

		ckd_verify_own(5, "unknown-selector.eml", 4096, &v);
		ck_assert_uint_eq(fz_queries(ckd_fz) - before, 3);
		ck_assert(v.sig[0].key_not_found);
		ck_assert(!v.sig[0].duplicated_suffix);
	}
}
END_TEST

/*
 * The decoded-key cache (keycache.c) must serve a key again only for the
 * very same key bytes: after the DNS record changes, the old key is never
 * used, and the message signed with the old key stops verifying.
 */
START_TEST(test_key_cache_never_stale)
{
	static const char small_key[] = "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALzKRSptjmnRT95I9ZeZ5ir/"
	    "706A0lAcHzgudUGTfWZO++rB4KOQXeCpaJwxFcWCPA2Mh4EUFNglVgtlt1hZXpkCAwEAAQ==";
	struct am_dkim_verdict v;
	struct am_keycache_stats before, after;

	ck_assert_msg(am_keycache_init(), "d2i_PUBKEY_bio is not interposed in this binary");
	am_keycache_flush();
	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	am_keycache_stats(&before);
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
	am_keycache_stats(&after);
	/* libopendkim's decode went through the cache: one miss, then a hit */
	ck_assert_uint_ge(after.misses - before.misses, 1);
	ck_assert_uint_ge(after.hits - before.hits, 1);

	/* The selector now publishes another key: the cached one must not be used. */
	fz_clear(ckd_fz);
	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", small_key);
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* And back: the original key verifies again. */
	fz_clear(ckd_fz);
	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
}
END_TEST

/* NODATA (name exists, no TXT) is "key not found" just like NXDOMAIN. */
START_TEST(test_key_nodata)
{
	struct am_dkim_verdict v;

	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	fz_add_a(ckd_fz, "nokey._domainkey.example.com", "192.0.2.1");
	ckd_verify_own(5, "unknown-selector.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	ck_assert(v.sig[0].key_not_found);
}
END_TEST

/* Revoked (empty p=), several TXT records, a key too big for a packet. */
START_TEST(test_key_records)
{
	struct am_dkim_verdict v;
	char *big;

	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", "v=DKIM1; k=rsa; p=");
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	ck_assert_str_eq(v.sig[0].reason, "key revoked");
	ck_assert(!v.sig[0].key_not_found);

	/* two TXT records at the selector: the key is ambiguous */
	fz_clear(ckd_fz);
	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB");
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	if (ckd_survey)
		ckd_print_verdict("two TXT records", &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* a record that cannot fit libopendkim's 8 KiB answer buffer */
	fz_clear(ckd_fz);
	big = am_xmalloc(20001);
	memset(big, 'A', 20000);
	big[20000] = '\0';
	memcpy(big, "v=DKIM1; p=", 11);
	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", big);
	free(big);
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	if (ckd_survey)
		ckd_print_verdict("20 KB key record", &v);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);

	/* empty TXT record */
	fz_clear(ckd_fz);
	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", "");
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	if (ckd_survey)
		ckd_print_verdict("empty key record", &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);

	/* garbage TXT record */
	fz_clear(ckd_fz);
	fz_add_txt(ckd_fz, "rsa2048._domainkey.example.com", "\x01\xff;;==;p");
	ckd_verify_own(5, "rsa2048.eml", 4096, &v);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
}
END_TEST

/* The library is shared by threads in the milter; a loop here catches leaks
 * (under ASan) and checks per-message state does not bleed over. */
START_TEST(test_repeat)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	int i;

	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	lib = ckd_new_lib(5);
	for (i = 0; i < 50; i++) {
		ck_assert(ckd_verify_file(lib, OWN_DIR "/own/dual.eml", 4096, &v));
		ck_assert(ckd_results_match("pass,pass", &v));
		ck_assert(ckd_verify_file(lib, OWN_DIR "/own/tampered-body.eml", 4096, &v));
		ck_assert(ckd_results_match("fail", &v));
	}
	am_dkim_lib_free(lib);
}
END_TEST

/* One shared library, several threads, as in the milter's worker pool. */
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;

static struct am_dns_answer *
locked_backend(void *arg, const char *name, int rrtype)
{
	struct am_dns_answer *a;

	pthread_mutex_lock(&zone_lock);
	a = fz_backend(arg, name, rrtype);
	pthread_mutex_unlock(&zone_lock);
	return a;
}

static void *
thread_main(void *arg)
{
	am_dkim_lib *lib = arg;
	struct am_dkim_verdict v;
	long bad = 0;
	int i;

	for (i = 0; i < 25; i++) {
		if (!ckd_verify_file(lib, OWN_DIR "/own/dual.eml", 100, &v) || !ckd_results_match("pass,pass", &v))
			bad++;
		if (!ckd_verify_file(lib, OWN_DIR "/own/dup-suffix.eml", 100, &v) ||
		    !ckd_results_match("permerror", &v) || !v.sig[0].duplicated_suffix)
			bad++;
	}
	return (void *)bad;
}

START_TEST(test_threads)
{
	am_resolver *lres;
	am_dkim_lib *lib;
	pthread_t t[4];
	char err[128];
	size_t i;

	ckd_load_own_dns(ckd_fz, OWN_DIR "/own/dns.txt");
	lres = am_resolver_new_backend(locked_backend, ckd_fz, 2000);
	lib = am_dkim_lib_new(lres, 5, err, sizeof(err));
	ck_assert(lib != NULL);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, lib), 0);
	for (i = 0; i < 4; i++) {
		void *bad;

		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_int_eq((long)bad, 0);
	}
	am_dkim_lib_free(lib);
	am_resolver_free(lres);
}
END_TEST

static Suite *
dkim_suite(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("dkim");

	tcase_add_checked_fixture(tc, ckd_setup, ckd_teardown);
	tcase_set_timeout(tc, 60);
	ckd_vectors_tests(tc);			/* first: their counts lead the output */
	tcase_add_test(tc, test_own_fixtures);
	tcase_add_test(tc, test_own_details);
	tcase_add_test(tc, test_key_cache_never_stale);
	tcase_add_test(tc, test_key_nodata);
	tcase_add_test(tc, test_key_records);
	ckd_robust_tests(tc);
	tcase_add_test(tc, test_repeat);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
