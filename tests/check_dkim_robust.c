/*
 * check_dkim_robust.c - DKIM under hostile input and careless callers.
 *
 * Owns: junk DKIM-Signature fields (malformed tags, NUL bytes, 1 MiB
 * values), t= in the future (CLOCK_DRIFT), more signatures than
 * AM_DKIM_REPORT_MAX, and the per-message API called out of order or
 * with NULL.  Failures are Check assertions; none may crash or pass.
 * Threads: the test's.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"
#include "auth/dkim.h"
#include "check_dkim.h"
#include "fakezone.h"

static void
one_header_message(am_dkim_lib *lib, const char *name, const char *value, size_t vlen,
    struct am_dkim_verdict *v)
{
	am_dkim_msg *m = am_dkim_msg_new(lib, NULL);

	am_dkim_header(m, "From", " a@example.com", 14);
	am_dkim_header(m, name, value, vlen);
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"body\r\n", 6);
	am_dkim_eom(m, v);
	am_dkim_msg_free(m);
}

START_TEST(test_garbage)
{
	static const char *sigs[] = {
		"",
		" ",
		";;;;",
		"v=1",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=; b=",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-md5; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=; s=; h=; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=subject; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; l=99999999999999999999",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=99999999999999999999",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; x=1",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; i=@other.example",
		"v=1; a=rsa-sha256; d=..; s=x.y..z; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; q=dns/txt; c=foo/bar",
		"v=1; v=1; v=1; a=rsa-sha256; a=ed25519-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
		"v=1\r\n; a=rsa-sha256;\n d=example.com; s=x; h=from; bh=AAAA; b=AA\n AA",
		"=;=;=;==;",
		"v=1; a=ed25519-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA",
	};
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	size_t i;
	char *huge;

	fz_add_txt(ckd_fz, "x._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA");
	lib = ckd_new_lib(5);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		one_header_message(lib, "DKIM-Signature", sigs[i], strlen(sigs[i]), &v);
		if (ckd_survey) {
			char label[32];

			snprintf(label, sizeof(label), "garbage %zu", i);
			ckd_print_verdict(label, &v);
		}
		ck_assert_uint_eq(v.total, 1);
		ck_assert_uint_eq(v.count, 1);
		ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
		ck_assert_int_ne(v.sig[0].result, AM_DKIM_NONE);
	}

	/* NUL bytes in the name and the value */
	one_header_message(lib, "DKIM-Signature", "v=1; a=rsa-sha256;\0 d=example.com; s=x", 38, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	one_header_message(lib, "X-\x01Weird", "a\0b", 3, &v);
	ck_assert_uint_eq(v.total, 0);
	one_header_message(lib, "", "", 0, &v);
	ck_assert_uint_eq(v.total, 0);
	one_header_message(lib, "Subject", NULL, 5, &v);
	ck_assert_uint_eq(v.total, 0);

	/* a 1 MiB header value and a 1 MiB signature */
	huge = am_xmalloc(1 << 20);
	memset(huge, 'x', 1 << 20);
	one_header_message(lib, "Subject", huge, 1 << 20, &v);
	ck_assert_uint_eq(v.total, 0);
	memcpy(huge, "v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=", 59);
	one_header_message(lib, "DKIM-Signature", huge, 1 << 20, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	free(huge);
	am_dkim_lib_free(lib);
}
END_TEST

/* t= up to a day in the future is clock skew, not an error (CLOCK_DRIFT). */
START_TEST(test_clock_drift)
{
	am_dkim_lib *lib;
	struct am_dkim_verdict v;
	char sig[256];
	long now = (long)time(NULL);

	fz_add_txt(ckd_fz, "x._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB");
	lib = ckd_new_lib(5);
	snprintf(sig, sizeof(sig), " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=%ld",
	    now + 3600);
	one_header_message(lib, "DKIM-Signature", sig, strlen(sig), &v);
	ck_assert_str_ne(v.sig[0].reason, "signature timestamp in the future");
	snprintf(sig, sizeof(sig), " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA; t=%ld",
	    now + 3 * 86400);
	one_header_message(lib, "DKIM-Signature", sig, strlen(sig), &v);
	ck_assert_str_eq(v.sig[0].reason, "signature timestamp in the future");
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	am_dkim_lib_free(lib);
}
END_TEST

/* More DKIM-Signature fields than AM_DKIM_REPORT_MAX. */
START_TEST(test_many_signatures)
{
	am_dkim_lib *lib = ckd_new_lib(5);
	am_dkim_msg *m = am_dkim_msg_new(lib, "many");
	struct am_dkim_verdict v;
	unsigned before = fz_queries(ckd_fz);
	int i;

	am_dkim_header(m, "From", " a@example.com", 14);
	for (i = 0; i < 200; i++) {
		char sig[256];

		snprintf(sig, sizeof(sig),
		    " v=1; a=rsa-sha256; d=example.com; s=s%d; h=from; bh=AAAA; b=B%dBBBBBBBB", i, i);
		am_dkim_header(m, "DKIM-Signature", sig, strlen(sig));
	}
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"x\n", 2);
	am_dkim_eom(m, &v);
	am_dkim_msg_free(m);
	ck_assert_uint_eq(v.total, 200);
	ck_assert_uint_eq(v.count, AM_DKIM_REPORT_MAX);
	/* at most MaximumSignatures keys (prefetch + libopendkim's query) + as many suffix probes */
	ck_assert_uint_le(fz_queries(ckd_fz) - before, 3 * 5);
	for (i = 0; i < AM_DKIM_REPORT_MAX; i++)
		ck_assert_int_ne(v.sig[i].result, AM_DKIM_PASS);
	ck_assert(v.sig[0].verified);
	ck_assert(!v.sig[AM_DKIM_REPORT_MAX - 1].verified);
	am_dkim_lib_free(lib);
}
END_TEST

/* Unsigned messages, calls out of order, NULL arguments. */
START_TEST(test_api_edges)
{
	am_dkim_lib *lib = ckd_new_lib(5);
	am_dkim_msg *m;
	struct am_dkim_verdict v;

	/* unsigned */
	m = am_dkim_msg_new(lib, "u");
	am_dkim_header(m, "From", " a@example.com", 14);
	am_dkim_eoh(m);
	am_dkim_body(m, (const unsigned char *)"x\r\n", 3);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.count, 0);
	ck_assert_uint_eq(v.total, 0);
	am_dkim_msg_free(m);

	/* no headers at all, body before eoh, eom twice, header after eoh */
	m = am_dkim_msg_new(lib, NULL);
	am_dkim_body(m, (const unsigned char *)"x", 1);
	am_dkim_header(m, "DKIM-Signature", "v=1", 3);
	am_dkim_eom(m, &v);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 0);
	am_dkim_msg_free(m);

	/* eom without eoh or body */
	m = am_dkim_msg_new(lib, "x");
	am_dkim_header(m, "DKIM-Signature", " v=1; d=example.com; s=s; b=AAAA", 32);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 1);
	ck_assert_int_ne(v.sig[0].result, AM_DKIM_PASS);
	am_dkim_eom(m, &v);
	ck_assert_uint_eq(v.total, 1);
	am_dkim_msg_free(m);

	/* a message with a signature but no From header */
	m = am_dkim_msg_new(lib, "nofrom");
	am_dkim_header(m, "DKIM-Signature",
	    " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=AAAA; b=AAAA", 62);
	am_dkim_eoh(m);
	am_dkim_eom(m, &v);
	if (ckd_survey)
		ckd_print_verdict("no From", &v);
	ck_assert_uint_eq(v.count, 1);
	ck_assert_int_eq(v.sig[0].result, AM_DKIM_PERMERROR);
	am_dkim_msg_free(m);

	am_dkim_header(NULL, "a", "b", 1);
	am_dkim_eoh(NULL);
	am_dkim_body(NULL, NULL, 0);
	am_dkim_eom(NULL, &v);
	ck_assert_uint_eq(v.count, 0);
	am_dkim_msg_free(NULL);
	am_dkim_lib_free(NULL);
	am_dkim_lib_free(lib);
	{
		char err[64];

		ck_assert(am_dkim_lib_new(NULL, 5, err, sizeof(err)) == NULL);
	}
}
END_TEST

void
ckd_robust_tests(TCase *tc)
{
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_clock_drift);
	tcase_add_test(tc, test_many_signatures);
	tcase_add_test(tc, test_api_edges);
}
