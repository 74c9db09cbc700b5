/*
 * check_dkim_vectors.c - the public DKIM conformance vectors, run through
 * the public per-message API (see check_dkim.c for the data layout).
 *
 * Owns: RFC 8463 A.3, dkimpy's pre-signed messages and key records, the
 * Mail::DKIM corpus (expectations with reasons in
 * tests/dkim/mail-dkim-expected.tsv) and OpenDKIM's milter scenarios
 * (tests/dkim/EXPECTED.md).  Each run prints "DKIM <set>: n/m"; a
 * mismatch is named on stderr and fails the test.  Threads: the test's.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "auth/dkim.h"
#include "check_dkim.h"
#include "fakezone.h"
#include "testutil.h"

/* ---- RFC 8463 -------------------------------------------------------------- */

START_TEST(test_rfc8463)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	size_t chunk[] = { 1, 7, 65536 };
	size_t i;

	ckd_load_zonefile(ckd_fz, VEC_DIR "/rfc8463/dns.zone");
	lib = ckd_new_lib(5);
	for (i = 0; i < sizeof(chunk) / sizeof(chunk[0]); i++) {
		ck_assert(ckd_verify_file(lib, VEC_DIR "/rfc8463/rfc8463-A3-signed.eml", chunk[i], &v));
		if (ckd_survey)
			ckd_print_verdict("rfc8463", &v);
		ck_assert_uint_eq(v.total, 2);
		ck_assert_uint_eq(v.count, 2);
		ck_assert_int_eq(v.sig[0].result, AM_DKIM_PASS);
		ck_assert_int_eq(v.sig[1].result, AM_DKIM_PASS);
		ck_assert_str_eq(v.sig[0].algorithm, "ed25519-sha256");
		ck_assert_str_eq(v.sig[0].selector, "brisbane");
		ck_assert_str_eq(v.sig[0].domain, "football.example.com");
		ck_assert_uint_eq(v.sig[0].keybits, 0);
		ck_assert_str_eq(v.sig[1].algorithm, "rsa-sha256");
		ck_assert_str_eq(v.sig[1].selector, "test");
		/* RFC 8463 A.3: the RSA key is 1024 bits */
		ck_assert_uint_eq(v.sig[1].keybits, 1024);
		ck_assert_uint_eq(strlen(v.sig[0].b_prefix), 8);
		ck_assert(strncmp(v.sig[0].b_prefix, "9/dsDChY", 8) == 0);
		ck_assert(v.sig[0].verified && v.sig[1].verified);
	}
	ck_assert(ckd_verify_file(lib, VEC_DIR "/rfc8463/rfc8463-A3-unsigned.eml", 4096, &v));
	ck_assert_uint_eq(v.total, 0);
	ck_assert_uint_eq(v.count, 0);
	printf("DKIM RFC 8463 A.3: 2/2 signatures pass\n");
	am_dkim_lib_free(lib);
}
END_TEST

/* ---- dkimpy ------------------------------------------------------------------ */

START_TEST(test_dkimpy_presigned)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	unsigned ok = 0;

	fz_add_txt(ckd_fz, "brisbane._domainkey.football.example.com",
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	ckd_load_keyfile(ckd_fz, "test._domainkey.football.example.com", VEC_DIR "/dkimpy/test.txt");
	ckd_load_keyfile(ckd_fz, "sed._domainkey.test.ex", VEC_DIR "/dkimpy/eximtest.dns");
	ckd_load_keyfile(ckd_fz, "20120113._domainkey.gmail.com", VEC_DIR "/dkimpy/gmail-20120113.dns");
	lib = ckd_new_lib(5);

	ck_assert(ckd_verify_file(lib, VEC_DIR "/dkimpy/rfc6376.signed.msg", 4096, &v));
	if (ckd_survey)
		ckd_print_verdict("rfc6376.signed.msg", &v);
	ck_assert(ckd_results_match("pass,pass", &v));
	ok += ckd_results_match("pass,pass", &v);

	/* Exim's ed25519 signature: third-party interop */
	ck_assert(ckd_verify_file(lib, VEC_DIR "/dkimpy/ed25519test2.msg", 4096, &v));
	if (ckd_survey)
		ckd_print_verdict("ed25519test2.msg", &v);
	ck_assert(ckd_results_match("pass", &v));
	ok += ckd_results_match("pass", &v);

	/* real Gmail message, degenerate folding (Debian bug 711751) */
	ck_assert(ckd_verify_file(lib, VEC_DIR "/dkimpy/test2.message", 4096, &v));
	if (ckd_survey)
		ckd_print_verdict("test2.message", &v);
	ck_assert(ckd_results_match("pass", &v));
	ck_assert_uint_eq(v.sig[0].keybits, 2048);
	ok += ckd_results_match("pass", &v);
	printf("DKIM dkimpy pre-signed vectors: %u/3 as expected\n", ok);
	am_dkim_lib_free(lib);
}
END_TEST

/* dkimpy's key-record files paired with a fresh signature by test.private */
START_TEST(test_dkimpy_keyrecords)
{
	static const struct {
		const char *file;
		const char *expected;
		const char *reason;
	} t[] = {
		{ "test.txt", "pass", "" },
		{ "test2.txt", "pass", "" },		/* no k=: rsa is the default */
		{ "test_bad.txt", "fail|permerror", "" }, /* p= corrupted */
		{ "badversion.txt", "permerror", "" },	/* "v=DKIM1:" */
		{ "badk.txt", "permerror", "key type" },	/* k=ed25519-sha256 */
		{ "test_tlsrpt.txt", "permerror", "e-mail" }, /* s=tlsrpt */
	};
	size_t i;
	unsigned ok = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		am_dkim_lib *lib;
		struct am_dkim_verdict v;
		char path[512];

		fz_clear(ckd_fz);
		snprintf(path, sizeof(path), VEC_DIR "/dkimpy/%s", t[i].file);
		ckd_load_keyfile(ckd_fz, "test._domainkey.example.com", path);
		lib = ckd_new_lib(5);
		ck_assert(ckd_verify_file(lib, OWN_DIR "/own/dkimpy-test.eml", 4096, &v));
		if (ckd_survey)
			ckd_print_verdict(t[i].file, &v);
		ck_assert_msg(ckd_results_match(t[i].expected, &v), "%s: got %s (%s)", t[i].file,
		    am_dkim_result_name(v.sig[0].result), v.sig[0].reason);
		ck_assert_msg(strstr(v.sig[0].reason, t[i].reason) != NULL, "%s: reason %s",
		    t[i].file, v.sig[0].reason);
		ok++;
		am_dkim_lib_free(lib);
	}
	printf("DKIM dkimpy key records: %u/%zu as expected\n", ok, sizeof(t) / sizeof(t[0]));
}
END_TEST

/* ---- Mail::DKIM corpus ------------------------------------------------------ */

START_TEST(test_mail_dkim_corpus)
{
	size_t len;
	char *buf = tu_slurp(OWN_DIR "/mail-dkim-expected.tsv", &len), *cur = buf, *line;
	am_dkim_lib *lib;
	unsigned n = 0, ok = 0;

	ck_assert(buf != NULL);
	ckd_load_owner_value(ckd_fz, VEC_DIR "/mail-dkim/FAKE_DNS.dat");
	lib = ckd_new_lib(5);
	while ((line = ckd_next_line(&cur)) != NULL) {
		char *file, *expected, *save = NULL, path[512], got[512];
		struct am_dkim_verdict v;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		file = strtok_r(line, "\t", &save);
		expected = strtok_r(NULL, "\t", &save);
		if (file == NULL || expected == NULL)
			continue;
		snprintf(path, sizeof(path), VEC_DIR "/mail-dkim/corpus/%s", file);
		n++;
		ck_assert_msg(ckd_verify_file(lib, path, 4096, &v), "cannot read %s", path);
		ckd_results_string(&v, got, sizeof(got));
		if (ckd_survey)
			ckd_print_verdict(file, &v);
		if (ckd_results_match(expected, &v))
			ok++;
		else
			fprintf(stderr, "Mail::DKIM %s: expected %s, got %s\n", file, expected, got);
	}
	free(buf);
	am_dkim_lib_free(lib);
	printf("DKIM Mail::DKIM corpus: %u/%u as expected\n", ok, n);
	ck_assert_uint_eq(n, 79);
	ck_assert_uint_eq(ok, n);
}
END_TEST

/* ---- OpenDKIM milter scenarios ------------------------------------------------ */

START_TEST(test_opendkim_scenarios)
{
	/* Our mapping of each upstream scenario: see tests/dkim/EXPECTED.md */
	static const struct {
		const char *file;
		const char *expected;
		const char *reason;
	} t[] = {
		{ "t-verify-ss.eml", "pass", "" },
		{ "t-verify-ss-bad.eml", "fail", "" },
		{ "t-verify-report.eml", "fail", "" },
		{ "t-verify-revoked.eml", "permerror", "revoked" },
		{ "t-verify-double-from.eml", "permerror", "multiple From" },
		{ "t-verify-syntax.eml", "neutral", "syntax" },
		{ "t-verify-ss-atps.eml", "pass", "" },
		{ "t-verify-unsigned.eml", "none", "" },
		{ "t-verify-unspec.eml", "none", "" },
		{ "t-verify-malformed.eml", "none", "" },
	};
	am_dkim_lib *lib;
	size_t i;
	unsigned ok = 0;

	ckd_load_owner_value(ckd_fz, VEC_DIR "/opendkim-milter/pubkeys.txt");
	lib = ckd_new_lib(5);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct am_dkim_verdict v;
		char path[512], got[256];

		snprintf(path, sizeof(path), VEC_DIR "/opendkim-milter/messages/%s", t[i].file);
		ck_assert(ckd_verify_file(lib, path, 4096, &v));
		if (ckd_survey)
			ckd_print_verdict(t[i].file, &v);
		ckd_results_string(&v, got, sizeof(got));
		if (ckd_results_match(t[i].expected, &v) &&
		    (t[i].reason[0] == '\0' || (v.count > 0 && strstr(v.sig[0].reason, t[i].reason) != NULL)))
			ok++;
		else
			fprintf(stderr, "OpenDKIM %s: expected %s, got %s\n", t[i].file, t[i].expected, got);
	}
	printf("DKIM OpenDKIM milter scenarios: %u/%zu as expected\n", ok, sizeof(t) / sizeof(t[0]));
	ck_assert_uint_eq(ok, sizeof(t) / sizeof(t[0]));
	am_dkim_lib_free(lib);
}
END_TEST

void
ckd_vectors_tests(TCase *tc)
{
	tcase_add_test(tc, test_rfc8463);
	tcase_add_test(tc, test_dkimpy_presigned);
	tcase_add_test(tc, test_dkimpy_keyrecords);
	tcase_add_test(tc, test_mail_dkim_corpus);
	tcase_add_test(tc, test_opendkim_scenarios);
}
