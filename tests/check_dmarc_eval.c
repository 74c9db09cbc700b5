/*
 * check_dmarc_eval.c - DMARC evaluation over the fake zone
 * (lib/auth/dmarc.c): pass and fail, alignment whatever the result,
 * strict and relaxed, the organizational-domain fallback and sp=,
 * dispositions and pct sampling, missing, defective and duplicate
 * records, DNS failures, bad From domains, the lookup's life cycle.
 *
 * Errors: Check failures.
 *
 * Threads: Check's; test_threads evaluates from four threads at once.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "dns/resolver.h"
#include "auth/dmarc.h"
#include "check_dmarc.h"

/* ---- evaluation over fakezone ------------------------------------------------ */

START_TEST(test_pass_spf_only)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "mail.example.com");
	dt_msg_dkim(&m, "amazonses.com", AM_DKIM_PASS);
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert(v.spf_aligned && m.spf.aligned);
	ck_assert(!v.dkim_aligned && !m.dkim.sig[0].aligned);
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
	ck_assert_int_eq(v.disposition, AM_POLICY_NONE);
	ck_assert(v.record_found && !v.used_org_domain);
	ck_assert_str_eq(v.record_domain, "example.com");
	ck_assert_str_eq(v.org_domain, "example.com");
	ck_assert_int_eq(v.adkim, 'r');
	ck_assert_int_eq(v.aspf, 'r');
	ck_assert_int_eq(v.pct, 100);
}
END_TEST

START_TEST(test_pass_dkim_only)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_publish("example.com", "v=DMARC1; p=quarantine");
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "us-east-1.amazonses.com");	/* SES default MAIL FROM */
	dt_msg_dkim(&m, "example.com", AM_DKIM_PASS);
	dt_msg_dkim(&m, "amazonses.com", AM_DKIM_PASS);
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert(!v.spf_aligned && !m.spf.aligned);
	ck_assert(v.dkim_aligned && m.dkim.sig[0].aligned && !m.dkim.sig[1].aligned);
}
END_TEST

START_TEST(test_pass_both_and_fail_results)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "example.com");
	dt_msg_dkim(&m, "example.com", AM_DKIM_PASS);
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert(v.spf_aligned && v.dkim_aligned);
	/*
	 * Aligned domains but failed mechanisms do not count (RFC 7489 4.2,
	 * RFC 9989 4.4: an identifier counts only when it is authenticated):
	 * each identifier still reads aligned, the DMARC verdict does not.
	 */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_SOFTFAIL, "example.com");
	dt_msg_dkim(&m, "example.com", AM_DKIM_FAIL);
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert(!v.spf_aligned && !v.dkim_aligned);
	ck_assert(m.spf.aligned && m.dkim.sig[0].aligned);
	ck_assert_int_eq(v.disposition, AM_POLICY_REJECT);
}
END_TEST

/*
 * An identifier's aligned flag is identifier alignment (RFC 7489 3.1,
 * 3.1.1, 3.1.2; RFC 9989 4.4): its domain against the From domain under
 * adkim/aspf, whatever its own result.  DMARC passes only on one that is
 * aligned and passes (RFC 7489 4.2); v.spf_aligned and v.dkim_aligned say
 * that, for the aggregate report's policy_evaluated.
 */
START_TEST(test_aligned_whatever_the_result)
{
	static const enum am_dkim_result dres[] = { AM_DKIM_FAIL, AM_DKIM_NEUTRAL, AM_DKIM_POLICY,
		AM_DKIM_TEMPERROR, AM_DKIM_PERMERROR };
	static const enum am_spf_result sres[] = { AM_SPF_NONE, AM_SPF_NEUTRAL, AM_SPF_FAIL,
		AM_SPF_SOFTFAIL, AM_SPF_TEMPERROR, AM_SPF_PERMERROR };
	struct am_dmarc_verdict v;
	struct msg m;
	size_t i;

	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_publish("example.org", "v=DMARC1; p=reject; adkim=s; aspf=s");
	/* the From domain's signature broke; a third party's passed: DMARC fails */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "lists.example.net");
	dt_msg_dkim(&m, "example.com", AM_DKIM_FAIL);
	dt_msg_dkim(&m, "lists.example.net", AM_DKIM_PASS);
	dt_eval("example.com", &m, 0, &v);
	ck_assert(m.dkim.sig[0].aligned);		/* aligned, fail */
	ck_assert(!m.dkim.sig[1].aligned);		/* pass, unaligned */
	ck_assert(!m.spf.aligned);
	ck_assert(!v.dkim_aligned && !v.spf_aligned);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v.disposition, AM_POLICY_REJECT);
	/* every non-pass DKIM result, relaxed (a subdomain's d=): aligned, never counted */
	for (i = 0; i < sizeof(dres) / sizeof(dres[0]); i++) {
		dt_msg_init(&m);
		dt_msg_dkim(&m, "news.example.com", dres[i]);
		dt_eval("example.com", &m, 0, &v);
		ck_assert_msg(m.dkim.sig[0].aligned && !v.dkim_aligned && v.result == AM_DMARC_FAIL,
		    "dkim=%s", am_dkim_result_name(dres[i]));
	}
	/* every non-pass SPF result for the From domain itself: aligned, never counted */
	for (i = 0; i < sizeof(sres) / sizeof(sres[0]); i++) {
		dt_msg_init(&m);
		dt_msg_spf(&m, sres[i], "example.com");
		dt_eval("example.com", &m, 0, &v);
		ck_assert_msg(m.spf.aligned && !v.spf_aligned && v.result == AM_DMARC_FAIL,
		    "spf=%s", am_spf_result_name(sres[i]));
	}
	/* SPF fails for the aligned domain, DKIM passes aligned: DMARC passes on DKIM */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_FAIL, "mail.example.com");
	dt_msg_dkim(&m, "example.com", AM_DKIM_PASS);
	dt_eval("example.com", &m, 0, &v);
	ck_assert(m.spf.aligned && !v.spf_aligned && v.dkim_aligned);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	/* strict modes: a failing subdomain identifier is not aligned; the exact name is */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_FAIL, "mail.example.org");
	dt_msg_dkim(&m, "mail.example.org", AM_DKIM_FAIL);
	dt_msg_dkim(&m, "example.org", AM_DKIM_FAIL);
	dt_eval("example.org", &m, 0, &v);
	ck_assert(!m.spf.aligned && !m.dkim.sig[0].aligned && m.dkim.sig[1].aligned);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	/* without a DMARC record the flags are reported all the same */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_SOFTFAIL, "example.net");
	dt_msg_dkim(&m, "example.net", AM_DKIM_FAIL);
	dt_eval("example.net", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_NONE);
	ck_assert(m.spf.aligned && m.dkim.sig[0].aligned && !v.spf_aligned && !v.dkim_aligned);
}
END_TEST

START_TEST(test_strict_vs_relaxed)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_publish("example.org", "v=DMARC1; p=reject; adkim=s; aspf=s");
	dt_publish("example.net", "v=DMARC1; p=reject");
	/* aspf=s, MAIL FROM subdomain: libopendmarc 1.4.2 would call it aligned. */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "mail.example.org");
	dt_msg_dkim(&m, "mail.example.org", AM_DKIM_PASS);
	dt_eval("example.org", &m, 0, &v);
	ck_assert_int_eq(v.aspf, 's');
	ck_assert_int_eq(v.adkim, 's');
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert(!m.spf.aligned && !m.dkim.sig[0].aligned);
	/* The same identities under a relaxed record pass. */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "mail.example.net");
	dt_msg_dkim(&m, "mail.example.net", AM_DKIM_PASS);
	dt_eval("example.net", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert(m.spf.aligned && m.dkim.sig[0].aligned);
	/* Strict, exact (case and trailing dot ignored). */
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "EXAMPLE.org.");
	dt_eval("example.org", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
}
END_TEST

START_TEST(test_sp_fallback)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_publish("example.com", "v=DMARC1; p=none; sp=reject");
	dt_publish("other.com", "v=DMARC1; p=quarantine");
	dt_publish("own.example.com", "v=DMARC1; p=none; sp=reject");
	dt_msg_init(&m);
	dt_eval("sub.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert(v.record_found && v.used_org_domain);
	ck_assert_str_eq(v.record_domain, "example.com");
	ck_assert_str_eq(v.org_domain, "example.com");
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
	ck_assert_int_eq(v.disposition, AM_POLICY_REJECT);
	/* The org domain itself: p=. */
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_NONE);
	ck_assert(!v.used_org_domain);
	/* A record of its own at a subdomain: its p=, not its sp=. */
	dt_eval("own.example.com", &m, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_NONE);
	ck_assert(!v.used_org_domain);
	/* Org record without sp=: p= applies to subdomains. */
	dt_eval("a.b.other.com", &m, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_QUARANTINE);
	ck_assert(v.used_org_domain);
	/* Subdomain mail aligned relaxed with the org domain passes. */
	dt_msg_spf(&m, AM_SPF_PASS, "bounce.example.com");
	dt_eval("sub.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert_int_eq(v.disposition, AM_POLICY_NONE);
}
END_TEST

START_TEST(test_dispositions)
{
	static const struct {
		const char *rec;
		enum am_dmarc_policy p;
	} c[] = {
		{ "v=DMARC1; p=none", AM_POLICY_NONE },
		{ "v=DMARC1; p=quarantine", AM_POLICY_QUARANTINE },
		{ "v=DMARC1; p=reject", AM_POLICY_REJECT },
		{ "v=DMARC1;p=REJECT;", AM_POLICY_REJECT },
		{ "v = DMARC1 ; p = Quarantine", AM_POLICY_QUARANTINE },
	};
	struct am_dmarc_verdict v;
	struct msg m;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		fz_clear(dt_fz);
		dt_publish("example.com", c[i].rec);
		dt_msg_init(&m);
		dt_msg_spf(&m, AM_SPF_FAIL, "example.com");
		dt_eval("example.com", &m, 99, &v);
		ck_assert_msg(v.result == AM_DMARC_FAIL, "%s: %s", c[i].rec, v.reason);
		ck_assert_int_eq(v.policy, c[i].p);
		ck_assert_int_eq(v.disposition, c[i].p);
		ck_assert(!v.sampled_out);
	}
}
END_TEST

START_TEST(test_pct_sampling)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_msg_init(&m);
	dt_publish("zero.example", "v=DMARC1; p=reject; pct=0");
	dt_publish("q.example", "v=DMARC1; p=quarantine; pct=0");
	dt_publish("half.example", "v=DMARC1; p=reject; pct=50");
	dt_publish("none.example", "v=DMARC1; p=none; pct=0");
	dt_eval("zero.example", &m, 0, &v);
	ck_assert_int_eq(v.pct, 0);
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
	ck_assert_int_eq(v.disposition, AM_POLICY_QUARANTINE);
	ck_assert(v.sampled_out);
	dt_eval("q.example", &m, 0, &v);
	ck_assert_int_eq(v.disposition, AM_POLICY_NONE);
	ck_assert(v.sampled_out);
	dt_eval("half.example", &m, 49, &v);
	ck_assert_int_eq(v.disposition, AM_POLICY_REJECT);
	ck_assert(!v.sampled_out);
	dt_eval("half.example", &m, 50, &v);
	ck_assert_int_eq(v.disposition, AM_POLICY_QUARANTINE);
	ck_assert(v.sampled_out);
	dt_eval("none.example", &m, 0, &v);
	ck_assert_int_eq(v.disposition, AM_POLICY_NONE);
	ck_assert(!v.sampled_out);
	/* Passing mail is never sampled. */
	dt_msg_spf(&m, AM_SPF_PASS, "zero.example");
	dt_eval("zero.example", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert_int_eq(v.disposition, AM_POLICY_NONE);
	ck_assert(!v.sampled_out);
}
END_TEST

START_TEST(test_no_record)
{
	struct am_dmarc_verdict v;
	struct msg m;
	unsigned q0 = fz_queries(dt_fz);

	fz_add_txt(dt_fz, "example.com", "v=spf1 -all");
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "bounce.sub.example.com");
	dt_msg_dkim(&m, "example.com", AM_DKIM_PASS);
	dt_eval("sub.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_NONE);
	ck_assert_int_eq(v.policy, AM_POLICY_UNSPEC);
	ck_assert(!v.record_found && !v.used_org_domain);
	ck_assert_str_eq(v.record_domain, "");
	ck_assert_str_eq(v.org_domain, "example.com");
	ck_assert_int_eq(fz_queries(dt_fz) - q0, 2);	/* _dmarc.sub, then _dmarc.example.com */
	/* Alignment is reported anyway (relaxed). */
	ck_assert(m.spf.aligned && m.dkim.sig[0].aligned);
	ck_assert(v.spf_aligned && v.dkim_aligned);
	ck_assert_str_ne(v.reason, "");
}
END_TEST

START_TEST(test_garbage_records)
{
	struct am_dmarc_verdict v;
	struct msg m;

	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "example.com");
	/* Not starting with v=DMARC1: not DMARC records at all. */
	dt_publish("example.com", "hello world");
	dt_publish("example.com", "v=spf1 -all");
	dt_publish("example.com", "p=reject; v=DMARC1");
	dt_publish("example.com", " v=DMARC1; p=reject");
	dt_publish("example.com", "v=DMARC10; p=reject");
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_NONE);
	ck_assert(!v.record_found);
	/* A DMARC record with a bad p= and no rua=: permerror, with a reason. */
	dt_publish("example.com", "v=DMARC1; p=garbage");
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PERMERROR);
	ck_assert(v.record_found);
	ck_assert_msg(strstr(v.reason, "p=") != NULL, "%s", v.reason);
	/* Missing p= with a usable rua=: as if p=none (6.6.3). */
	fz_clear(dt_fz);
	dt_publish("example.com", "v=DMARC1; rua=mailto:d@example.com");
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PASS);
	ck_assert_int_eq(v.policy, AM_POLICY_NONE);
	/* Bad optional tags are ignored, defaults used (6.3). */
	fz_clear(dt_fz);
	dt_publish("example.com", "v=DMARC1; p=reject; pct=500; adkim=x; fo=zz; rf=;");
	dt_msg_init(&m);
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v.pct, 100);
	ck_assert_int_eq(v.adkim, 'r');
	ck_assert_int_eq(v.disposition, AM_POLICY_REJECT);
	ck_assert_msg(strstr(v.reason, "pct=") != NULL, "%s", v.reason);
	/* A huge record and binary junk do not hurt. */
	{
		char big[4000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "v=DMARC1; p=none; rua=mailto:", 29);
		fz_clear(dt_fz);
		dt_publish("example.com", big);
		dt_eval("example.com", &m, 0, &v);
		ck_assert(v.result == AM_DMARC_FAIL || v.result == AM_DMARC_PERMERROR);
		fz_clear(dt_fz);
		fz_add(dt_fz, "_dmarc.example.com", AM_RR_TXT, "v=DMARC1; p=reject\0\xff\x01", 21, 0);
		dt_eval("example.com", &m, 0, &v);
		ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	}
}
END_TEST

START_TEST(test_two_records)
{
	struct am_dmarc_verdict v;
	struct msg m;
	unsigned q0;

	dt_publish("sub.example.com", "v=DMARC1; p=reject");
	dt_publish("sub.example.com", "v=DMARC1; p=none");
	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_msg_init(&m);
	q0 = fz_queries(dt_fz);
	dt_eval("sub.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_NONE);
	ck_assert_int_eq(v.policy, AM_POLICY_UNSPEC);
	ck_assert_int_eq(v.disposition, AM_POLICY_UNSPEC);
	/* Discovery ends there: no fall-through to the org domain. */
	ck_assert_int_eq(fz_queries(dt_fz) - q0, 1);
	ck_assert_msg(strstr(v.reason, "more than one") != NULL, "%s", v.reason);
	/* A DMARC record next to other TXT records is fine. */
	fz_clear(dt_fz);
	fz_add_txt(dt_fz, "_dmarc.example.com", "google-site-verification=abc");
	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_eval("example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
}
END_TEST

START_TEST(test_servfail_is_temperror)
{
	struct am_dmarc_verdict v;
	struct msg m;
	unsigned q0;

	fz_set_status(dt_fz, "_dmarc.sub.example.com", AM_RR_TXT, AM_DNS_SERVFAIL);
	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "example.com");
	q0 = fz_queries(dt_fz);
	dt_eval("sub.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_TEMPERROR);
	ck_assert_int_eq(fz_queries(dt_fz) - q0, 1);	/* org domain NOT queried */
	ck_assert(!v.used_org_domain && !v.record_found);
	ck_assert_msg(strstr(v.reason, "servfail") != NULL, "%s", v.reason);
	ck_assert(m.spf.aligned);	/* still reported */
	/* A SERVFAIL at the org domain (after NXDOMAIN) is temperror too. */
	fz_clear(dt_fz);
	fz_set_status(dt_fz, "_dmarc.example.com", 0, AM_DNS_SERVFAIL);
	dt_eval("x.example.com", &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_TEMPERROR);
	ck_assert(v.used_org_domain);
}
END_TEST

START_TEST(test_timeout_is_temperror)
{
	struct am_dmarc_verdict v;
	struct msg m;
	struct timespec t0, t1;
	unsigned q0;
	long ms;

	fz_set_status(dt_fz, "_dmarc.slow.example.com", AM_RR_TXT, AM_DNS_TIMEOUT);
	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_msg_init(&m);
	q0 = fz_queries(dt_fz);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dt_eval("slow.example.com", &m, 0, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_eq(v.result, AM_DMARC_TEMPERROR);
	ck_assert_int_eq(fz_queries(dt_fz) - q0, 1);
	ck_assert_msg(ms <= TIMEOUT_MS + 1000, "took %ld ms", ms);
	ck_assert_msg(strstr(v.reason, "timeout") != NULL, "%s", v.reason);
}
END_TEST

START_TEST(test_bad_from_domains)
{
	static const char *const bad[] = {
		"", ".", "..", "a..b.com", ".example.com", "exa mple.com", "user@example.com",
		"example.com;", "\x01\x02", "<>", NULL,
	};
	struct am_dmarc_verdict v;
	struct msg m;
	char longname[400];
	size_t i;

	dt_msg_init(&m);
	dt_msg_spf(&m, AM_SPF_PASS, "example.com");
	dt_msg_dkim(&m, "example.com", AM_DKIM_PASS);
	m.spf.aligned = m.dkim.sig[0].aligned = true;
	for (i = 0; bad[i] != NULL; i++) {
		dt_eval(bad[i], &m, 0, &v);
		ck_assert_msg(v.result == AM_DMARC_PERMERROR, "[%s]", bad[i]);
		ck_assert(!m.spf.aligned && !m.dkim.sig[0].aligned);
		ck_assert_str_ne(v.reason, "");
	}
	am_dmarc_evaluate(dt_dm, NULL, NULL, &m.spf, &m.dkim, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PERMERROR);
	am_dmarc_evaluate(dt_dm, NULL, "example.com", NULL, NULL, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_NONE);
	/* Over 253 octets: not a domain. */
	memset(longname, 'a', sizeof(longname));
	for (i = 60; i < 300; i += 61)
		longname[i] = '.';
	longname[300] = '\0';
	dt_eval(longname, &m, 0, &v);
	ck_assert_int_eq(v.result, AM_DMARC_PERMERROR);
	/* 250 octets: valid, but _dmarc.<it> is too long to ask; org fallback. */
	longname[250] = '\0';
	memcpy(longname + 246, ".com", 4);
	dt_publish("aa.com", "v=DMARC1; p=quarantine");
	dt_eval(longname, &m, 0, &v);
	ck_assert_msg(v.result == AM_DMARC_FAIL, "%s", v.reason);
	ck_assert(v.used_org_domain);
	ck_assert_int_eq(v.policy, AM_POLICY_QUARANTINE);
}
END_TEST

START_TEST(test_lookup_lifecycle)
{
	struct am_dmarc_verdict v;
	struct msg m;
	am_dmarc_lookup *lk;

	dt_publish("example.com", "v=DMARC1; p=reject");
	dt_publish("example.org", "v=DMARC1; p=none");
	dt_msg_init(&m);
	/* Started and never evaluated: freed (cancelled) cleanly. */
	am_dmarc_lookup_free(am_dmarc_start(dt_dm, "example.com"));
	am_dmarc_lookup_free(am_dmarc_start(dt_dm, ""));
	am_dmarc_lookup_free(NULL);
	/* A lookup for another domain is not used for this one. */
	lk = am_dmarc_start(dt_dm, "example.org");
	am_dmarc_evaluate(dt_dm, lk, "example.com", &m.spf, &m.dkim, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
	/* Evaluating twice with one lookup gives the same answer. */
	am_dmarc_evaluate(dt_dm, lk, "example.org", &m.spf, &m.dkim, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_NONE);
	am_dmarc_evaluate(dt_dm, lk, "EXAMPLE.org.", &m.spf, &m.dkim, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_NONE);
	am_dmarc_lookup_free(lk);
	/* No lookup at all: evaluate starts its own. */
	am_dmarc_evaluate(dt_dm, NULL, "example.com", &m.spf, &m.dkim, 0, &v);
	ck_assert_int_eq(v.policy, AM_POLICY_REJECT);
}
END_TEST

/* Many threads evaluating at once (the milter's worker pool). */
static void *
thread_eval(void *arg)
{
	long ok = 0;
	int i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		struct am_dmarc_verdict v;
		struct msg m;

		dt_msg_init(&m);
		dt_msg_spf(&m, AM_SPF_PASS, i % 2 ? "mail.example.com" : "amazonses.com");
		dt_msg_dkim(&m, "amazonses.com", AM_DKIM_PASS);
		dt_eval(i % 3 ? "example.com" : "sub.example.com", &m, (unsigned)i % 100, &v);
		if (v.result == (i % 2 ? AM_DMARC_PASS : AM_DMARC_FAIL) &&
		    v.policy == (i % 3 ? AM_POLICY_QUARANTINE : AM_POLICY_REJECT))
			ok++;
	}
	return (void *)ok;
}

START_TEST(test_threads)
{
	pthread_t t[4];
	void *ok;
	size_t i;

	dt_publish("example.com", "v=DMARC1; p=quarantine; sp=reject");
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_eval, NULL), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ok), 0);
		ck_assert_int_eq((long)ok, 200);
	}
}
END_TEST

void
dt_eval_tests(TCase *tc)
{
	tcase_add_test(tc, test_pass_spf_only);
	tcase_add_test(tc, test_pass_dkim_only);
	tcase_add_test(tc, test_pass_both_and_fail_results);
	tcase_add_test(tc, test_aligned_whatever_the_result);
	tcase_add_test(tc, test_strict_vs_relaxed);
	tcase_add_test(tc, test_sp_fallback);
	tcase_add_test(tc, test_dispositions);
	tcase_add_test(tc, test_pct_sampling);
	tcase_add_test(tc, test_no_record);
	tcase_add_test(tc, test_garbage_records);
	tcase_add_test(tc, test_two_records);
	tcase_add_test(tc, test_servfail_is_temperror);
	tcase_add_test(tc, test_timeout_is_temperror);
	tcase_add_test(tc, test_bad_from_domains);
	tcase_add_test(tc, test_lookup_lifecycle);
	tcase_add_test(tc, test_threads);
}
