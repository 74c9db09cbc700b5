/*
 * check_ses.c - unit tests of SES recognition (lib/policy/ses.c).
 *
 * Owns the contract of am_ses_analyse() as alignmilter(8) states it: what
 * makes a message SES mail (a d=amazonses.com signature, the envelope, an
 * SES Feedback-ID, X-SES-Outgoing; never the HELO or a look-alike), which
 * region it names, and the two SES hints: ses-default-mail-from (with its
 * MX and SPF records) and ses-no-easy-dkim.  The other hints are
 * check_hints.c's.  Verdicts are built by hand (verdictutil.h).
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "policy/ses.h"
#include "verdictutil.h"

START_TEST(hint_clean_message_has_none)
{
	struct am_verdict v;

	clean_verdict(&v);
	v.hints = ~0u;			/* stale bits must be cleared */
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);
	ck_assert(!v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "");
}
END_TEST

START_TEST(hint_ses_default_mail_from)
{
	struct am_verdict v;

	ses_verdict(&v);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM) |
	    BIT(AM_HINT_DMARC_POLICY_NONE));
	ck_assert(v.ses.is_ses);
	ck_assert(v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "us-east-1");
	fix_has(&v, AM_HINT_SES_DEFAULT_MAIL_FROM, "mail.example.com");
	fix_has(&v, AM_HINT_SES_DEFAULT_MAIL_FROM, "us-east-1.amazonses.com");
	/* The records to publish: zone-file lines of their own, not prose. */
	records_are(&v, AM_HINT_SES_DEFAULT_MAIL_FROM,
	    "mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"");
	records_are(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "");
	records_are(&v, AM_HINT_DMARC_POLICY_NONE, "");
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "DKIM alone");
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "SPF");
	fix_has(&v, AM_HINT_DMARC_POLICY_NONE, "_dmarc.example.com");
	fix_has(&v, AM_HINT_DMARC_POLICY_NONE, "p=quarantine");

	/* SPF not passing: the mail-from hint is about alignment, not failure. */
	ses_verdict(&v);
	set_spf(&v, AM_SPF_SOFTFAIL, "us-east-1.amazonses.com", false);
	set_dmarc(&v, AM_POLICY_NONE);
	am_ses_analyse(dm, &v);
	ck_assert(!(v.hints & BIT(AM_HINT_SES_DEFAULT_MAIL_FROM)));

	/* SPF passing for amazonses.com but aligned (From under amazonses.com). */
	ses_verdict(&v);
	am_strlcpy(v.from_domain, "amazonses.com", sizeof(v.from_domain));
	set_spf(&v, AM_SPF_PASS, "us-east-1.amazonses.com", true);
	am_ses_analyse(dm, &v);
	ck_assert(!(v.hints & BIT(AM_HINT_SES_DEFAULT_MAIL_FROM)));

	/* SES with a custom MAIL FROM: SPF passes for mail.example.com, aligned. */
	ses_verdict(&v);
	am_strlcpy(v.mail_from, "bounce@mail.example.com", sizeof(v.mail_from));
	set_spf(&v, AM_SPF_PASS, "mail.example.com", true);
	set_dmarc(&v, AM_POLICY_NONE);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_POLICY_NONE));
	ck_assert(v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "us-east-1");	/* from Feedback-ID */
}
END_TEST

START_TEST(hint_ses_default_region_unknown)
{
	struct am_verdict v;

	/* us-east-1's legacy envelope is plain amazonses.com; no Feedback-ID. */
	ses_verdict(&v);
	am_strlcpy(v.mail_from, "0100018c@amazonses.com", sizeof(v.mail_from));
	set_spf(&v, AM_SPF_PASS, "amazonses.com", false);
	v.has_feedback_id = false;
	v.feedback_id_region[0] = '\0';
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses && v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "");
	ck_assert(v.hints & BIT(AM_HINT_SES_DEFAULT_MAIL_FROM));
	records_are(&v, AM_HINT_SES_DEFAULT_MAIL_FROM,
	    "mail.example.com. MX 10 feedback-smtp.<region>.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"");
}
END_TEST

START_TEST(hint_ses_no_easy_dkim)
{
	struct am_verdict v;

	/* SES with custom MAIL FROM, but only SES's own signature */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "amazonses.com", SES_SEL, AM_DKIM_PASS, false);
	v.has_x_ses_outgoing = true;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_SES_NO_EASY_DKIM) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_SES_NO_EASY_DKIM, "Easy DKIM");
	records_are(&v, AM_HINT_SES_NO_EASY_DKIM,
	    "<token>._domainkey.example.com. CNAME <token>.dkim.amazonses.com.");

	/* unsigned SES mail: same hint */
	clean_verdict(&v);
	v.dkim.count = v.dkim.total = 0;
	v.has_x_ses_outgoing = true;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_assert(v.hints & BIT(AM_HINT_SES_NO_EASY_DKIM));

	/*
	 * A d= under the From organization counts (relaxed), even a failing
	 * one: Easy DKIM is set up.  DMARC fails all the same, and the
	 * broken signature's own hint says so.
	 */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "amazonses.com", SES_SEL, AM_DKIM_PASS, false);
	add_sig(&v, "news.example.com", EASY_SEL, AM_DKIM_FAIL, true);
	set_spf(&v, AM_SPF_PASS, "bounces.esp.example.org", false);
	v.has_x_ses_outgoing = true;
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));

	/* adkim=s: the subdomain's signature is not aligned, yet Easy DKIM is there */
	clean_verdict(&v);
	v.dkim.count = 0;
	v.dmarc.adkim = 's';
	add_sig(&v, "amazonses.com", SES_SEL, AM_DKIM_PASS, false);
	add_sig(&v, "news.example.com", EASY_SEL, AM_DKIM_PASS, false);
	v.has_x_ses_outgoing = true;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_assert(!(v.hints & BIT(AM_HINT_SES_NO_EASY_DKIM)));

	/* not SES: never this hint */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "esp.example.org", "s", AM_DKIM_PASS, false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	ck_assert(!v.ses.is_ses);
}
END_TEST

START_TEST(ses_recognition)
{
	struct am_verdict v;

	/* 1. a d=amazonses.com signature alone */
	clean_verdict(&v);
	add_sig(&v, "amazonses.com", SES_SEL, AM_DKIM_PASS, false);
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "");
	ck_hints(&v, 0u);

	/* 2. the envelope alone (region from it) */
	clean_verdict(&v);
	am_strlcpy(v.mail_from, "0100018c@us-east-1.amazonses.com", sizeof(v.mail_from));
	set_spf(&v, AM_SPF_NONE, "us-east-1.amazonses.com", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses);
	ck_assert(v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "us-east-1");

	/* envelope region wins over a Feedback-ID region */
	v.has_feedback_id = true;
	am_strlcpy(v.feedback_id_region, "eu-west-1", sizeof(v.feedback_id_region));
	am_ses_analyse(dm, &v);
	ck_assert_str_eq(v.ses.region, "us-east-1");
	am_strlcpy(v.mail_from, "0100018c@bounces.ap-southeast-2.amazonses.com", sizeof(v.mail_from));
	am_ses_analyse(dm, &v);
	ck_assert_str_eq(v.ses.region, "ap-southeast-2");
	am_strlcpy(v.mail_from, "0100018c@us-gov-west-1.AmazonSES.com", sizeof(v.mail_from));
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "us-gov-west-1");

	/* 3. an SES Feedback-ID alone (region from it) */
	clean_verdict(&v);
	v.has_feedback_id = true;
	am_strlcpy(v.feedback_id_region, "eu-west-1", sizeof(v.feedback_id_region));
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "eu-west-1");

	/* 4. X-SES-Outgoing alone */
	clean_verdict(&v);
	v.has_x_ses_outgoing = true;
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);
	ck_assert_str_eq(v.ses.region, "");

	/* look-alikes are not SES */
	clean_verdict(&v);
	am_strlcpy(v.mail_from, "x@amazonses.com.evil.example", sizeof(v.mail_from));
	add_sig(&v, "notamazonses.com", "s", AM_DKIM_PASS, false);
	add_sig(&v, "amazonses.com.evil.example", "s", AM_DKIM_PASS, false);
	am_ses_analyse(dm, &v);
	ck_assert(!v.ses.is_ses);
	ck_assert(!v.ses.default_mail_from);

	/* a region-shaped label that is no region is not taken */
	clean_verdict(&v);
	am_strlcpy(v.mail_from, "x@bounce.amazonses.com", sizeof(v.mail_from));
	am_ses_analyse(dm, &v);
	ck_assert(v.ses.is_ses);
	ck_assert_str_eq(v.ses.region, "");
}
END_TEST

START_TEST(ses_hints_not_for_other_mail)
{
	struct am_verdict v;

	/*
	 * Null sender: SPF checked the HELO a8-1.smtp-out.amazonses.com and
	 * passed unaligned; nothing else says SES.  The HELO is no SES
	 * evidence, so neither SES hint.
	 */
	clean_verdict(&v);
	v.mail_from[0] = '\0';
	v.spf.helo_identity = true;
	set_spf(&v, AM_SPF_PASS, SES_HELO, false);
	v.dkim.count = v.dkim.total = 0;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_assert(!v.ses.is_ses);
	ck_hints(&v, 0u);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);

	/* A non-SES sender with only a third-party signature: no Easy DKIM hint. */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "sendgrid.example.net", "s1", AM_DKIM_PASS, false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ses");
	TCase *tc = tcase_create("ses");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, hints_setup, hints_teardown);
	tcase_add_test(tc, hint_clean_message_has_none);
	tcase_add_test(tc, hint_ses_default_mail_from);
	tcase_add_test(tc, hint_ses_default_region_unknown);
	tcase_add_test(tc, hint_ses_no_easy_dkim);
	tcase_add_test(tc, ses_recognition);
	tcase_add_test(tc, ses_hints_not_for_other_mail);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
