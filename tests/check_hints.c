/*
 * check_hints.c - unit tests of the hints (lib/policy/ses.c, am_hint_*).
 *
 * Owns the contract of the hints of alignmilter(8) other than the two SES
 * ones (check_ses.c): their names, when each is given and when not
 * (aspf-strict-subdomain, dkim-key-not-found, dkim-cname-duplicated-suffix,
 * dmarc-single-mechanism, dmarc-policy-none, dmarc-no-record,
 * from-header-invalid, dkim-aligned-signature-failed), the words of their
 * fixes, the zone-file lines of their records (none for a name that does
 * not fit a zone file), and that fixes stay within the caller's buffer.
 * Verdicts are built by hand (verdictutil.h).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "policy/ses.h"
#include "verdictutil.h"

START_TEST(hint_names)
{
	static const char *const want[AM_HINT_COUNT] = {
		"ses-default-mail-from", "aspf-strict-subdomain", "ses-no-easy-dkim",
		"dkim-key-not-found", "dkim-cname-duplicated-suffix", "dmarc-single-mechanism",
		"dmarc-policy-none", "dmarc-no-record", "from-header-invalid",
		"dmarc-multiple-records", "dkim-aligned-signature-failed",
	};
	unsigned h;

	for (h = 0; h < AM_HINT_COUNT; h++)
		ck_assert_str_eq(am_hint_name((enum am_hint)h), want[h]);
	ck_assert_str_eq(am_hint_name(AM_HINT_COUNT), "unknown");
	ck_assert_str_eq(am_hint_name((enum am_hint)1000), "unknown");
}
END_TEST

START_TEST(hint_aspf_strict_subdomain)
{
	struct am_verdict v;

	clean_verdict(&v);
	v.dmarc.aspf = 's';
	set_spf(&v, AM_SPF_PASS, "mail.example.com", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_ASPF_STRICT_SUBDOMAIN) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_ASPF_STRICT_SUBDOMAIN, "mail.example.com");
	fix_has(&v, AM_HINT_ASPF_STRICT_SUBDOMAIN, "aspf=s");
	fix_has(&v, AM_HINT_ASPF_STRICT_SUBDOMAIN, "_dmarc.example.com");

	/* relaxed: the subdomain aligns, nothing to say */
	clean_verdict(&v);
	v.dmarc.aspf = 'r';
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);

	/* strict, but SPF passed for another organization: not this hint */
	clean_verdict(&v);
	v.dmarc.aspf = 's';
	set_spf(&v, AM_SPF_PASS, "mail.example.org", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));

	/* strict, same subdomain, SPF failed: nothing to align */
	clean_verdict(&v);
	v.dmarc.aspf = 's';
	set_spf(&v, AM_SPF_FAIL, "mail.example.com", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));

	/* strict and exactly equal: aligned, no hint */
	clean_verdict(&v);
	v.dmarc.aspf = 's';
	set_spf(&v, AM_SPF_PASS, "example.com", true);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);
}
END_TEST

START_TEST(hint_dkim_key_not_found)
{
	struct am_verdict v;
	struct am_dkim_sig *s;

	/* aligned (d= is the From domain) but permerror: not dkim-aligned-signature-failed */
	clean_verdict(&v);
	v.dkim.count = 0;
	s = add_sig(&v, "example.com", "nokey", AM_DKIM_PERMERROR, true);
	s->key_not_found = true;
	am_strlcpy(s->reason, "key not found", sizeof(s->reason));
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DKIM_KEY_NOT_FOUND) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DKIM_KEY_NOT_FOUND, "nokey._domainkey.example.com");
	fix_has(&v, AM_HINT_DKIM_KEY_NOT_FOUND, "public key");
	/* not SES: the key is the signer's, no record alignmilter could name */
	records_are(&v, AM_HINT_DKIM_KEY_NOT_FOUND, "");
	/* SES: the Easy DKIM CNAME of that selector */
	v.has_x_ses_outgoing = true;
	am_ses_analyse(dm, &v);
	records_are(&v, AM_HINT_DKIM_KEY_NOT_FOUND,
	    "nokey._domainkey.example.com. CNAME nokey.dkim.amazonses.com.");

	/* permerror for another reason (revoked key): not this hint */
	clean_verdict(&v);
	v.dkim.count = 0;
	s = add_sig(&v, "example.com", "revoked", AM_DKIM_PERMERROR, true);
	am_strlcpy(s->reason, "key revoked", sizeof(s->reason));
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));

	/* the missing key is the second signature: the fix names that one */
	clean_verdict(&v);
	s = add_sig(&v, "example.org", "gone", AM_DKIM_PERMERROR, false);
	s->key_not_found = true;
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DKIM_KEY_NOT_FOUND));
	fix_has(&v, AM_HINT_DKIM_KEY_NOT_FOUND, "gone._domainkey.example.org");
}
END_TEST

START_TEST(hint_dkim_cname_duplicated_suffix)
{
	struct am_verdict v;
	struct am_dkim_sig *s;

	clean_verdict(&v);
	v.dkim.count = 0;
	s = add_sig(&v, "example.com", "dup", AM_DKIM_PERMERROR, true);
	s->key_not_found = true;
	s->duplicated_suffix = true;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DKIM_KEY_NOT_FOUND) | BIT(AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX) |
	    BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, "dup._domainkey.example.com.example.com");
	fix_has(&v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, "\"dup._domainkey\"");
	records_are(&v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, "");
	v.has_feedback_id = true;
	am_ses_analyse(dm, &v);
	records_are(&v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX,
	    "dup._domainkey.example.com. CNAME dup.dkim.amazonses.com.");
}
END_TEST

START_TEST(hint_dmarc_single_mechanism)
{
	struct am_verdict v;

	/* DKIM only */
	clean_verdict(&v);
	set_spf(&v, AM_SPF_PASS, "bounces.esp.example.org", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "DKIM alone");

	/* SPF only: the one signature is a third party's */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "esp.example.org", "s1", AM_DKIM_PASS, false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "SPF alone");

	/*
	 * SPF only, because the From domain's own signature broke: aligned,
	 * fail (RFC 7489 3.1.1: alignment is the d= domain's; 4.2: only a
	 * pass counts).  Both hints, and the single-mechanism fix points at
	 * the broken signature instead of asking for one.
	 */
	clean_verdict(&v);
	v.dkim.sig[0].result = AM_DKIM_FAIL;
	am_strlcpy(v.dkim.sig[0].reason, "body hash mismatch", sizeof(v.dkim.sig[0].reason));
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert(v.dkim.sig[0].aligned && !v.dmarc.dkim_aligned && v.dmarc.result == AM_DMARC_PASS);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM) | BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "SPF alone: the DKIM signature d=example.com aligns but failed");

	/* DKIM only, because SPF for an aligned domain failed: list the servers, not a new MAIL FROM */
	clean_verdict(&v);
	set_spf(&v, AM_SPF_FAIL, "mail.example.com", true);
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert(v.spf.aligned && !v.dmarc.spf_aligned && v.dmarc.result == AM_DMARC_PASS);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "SPF for mail.example.com aligns with example.com but gave fail");
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "sending servers");

	/* both: no hint (clean_verdict), neither: DMARC fails, no hint */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "esp.example.org", "s1", AM_DKIM_PASS, false);
	set_spf(&v, AM_SPF_PASS, "bounces.esp.example.org", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);
}
END_TEST

/*
 * The fix names the From domain in the right place (it was once appended
 * after the whole sentence: "... break DKIM and SPFexample.com)").
 */
START_TEST(hint_single_mechanism_fix_text)
{
	struct am_verdict v;

	/* SPF alone: sign with d=<From domain> */
	clean_verdict(&v);
	v.dkim.count = 0;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "sign with DKIM as example.com too");
	/* DKIM alone: a custom MAIL FROM under <From domain> */
	clean_verdict(&v);
	set_spf(&v, AM_SPF_PASS, "bounces.esp.example.org", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "a custom MAIL FROM under example.com (");
	fix_has(&v, AM_HINT_DMARC_SINGLE_MECHANISM, "mail.example.com");
	{
		char fix[1024];

		am_hint_fix(&v, AM_HINT_DMARC_SINGLE_MECHANISM, fix, sizeof(fix));
		ck_assert_msg(fix[strlen(fix) - 1] != 'm' && strstr(fix, "DMARCexample") == NULL &&
		    strstr(fix, "SPFexample") == NULL, "domain glued to the end: %s", fix);
	}
}
END_TEST

START_TEST(hint_dmarc_policy_none)
{
	struct am_verdict v;

	clean_verdict(&v);
	set_dmarc(&v, AM_POLICY_NONE);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_POLICY_NONE));

	/* p=none and failing: still monitoring only */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "esp.example.org", "s1", AM_DKIM_PASS, false);
	set_spf(&v, AM_SPF_FAIL, "mail.example.com", true);
	set_dmarc(&v, AM_POLICY_NONE);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_POLICY_NONE));

	clean_verdict(&v);
	set_dmarc(&v, AM_POLICY_QUARANTINE);
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);
}
END_TEST

START_TEST(hint_dmarc_no_record)
{
	struct am_verdict v;

	clean_verdict(&v);
	memset(&v.dmarc, 0, sizeof(v.dmarc));
	v.dmarc.result = AM_DMARC_NONE;
	v.dmarc.adkim = v.dmarc.aspf = 'r';
	v.spf.aligned = v.dkim.sig[0].aligned = true;
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_NO_RECORD));
	fix_has(&v, AM_HINT_DMARC_NO_RECORD, "_dmarc.example.com");
	records_are(&v, AM_HINT_DMARC_NO_RECORD,
	    "_dmarc.example.com. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com\"");

	/* DNS trouble is not "no record" */
	v.dmarc.result = AM_DMARC_TEMPERROR;
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);
}
END_TEST

START_TEST(hint_from_header_invalid)
{
	static const enum am_from_status bad[] = { AM_FROM_MISSING, AM_FROM_MULTIPLE, AM_FROM_NO_DOMAIN };
	static const char *const text[] = { "no From header", "more than one From", "no usable domain" };
	struct am_verdict v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clean_verdict(&v);
		v.from_status = bad[i];
		v.from_domain[0] = '\0';
		memset(&v.dmarc, 0, sizeof(v.dmarc));
		v.dmarc.result = AM_DMARC_PERMERROR;
		v.has_x_ses_outgoing = true;	/* SES, yet no Easy DKIM hint without a From */
		v.dkim.count = 0;
		am_ses_analyse(dm, &v);
		ck_hints(&v, BIT(AM_HINT_FROM_INVALID));
		fix_has(&v, AM_HINT_FROM_INVALID, text[i]);
	}
	/* OK status but an empty domain is just as unusable */
	clean_verdict(&v);
	v.from_domain[0] = '\0';
	memset(&v.dmarc, 0, sizeof(v.dmarc));
	v.dmarc.result = AM_DMARC_PERMERROR;
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_FROM_INVALID));
}
END_TEST

/*
 * dkim-aligned-signature-failed: the From domain's own signature (aligned:
 * its d= aligns under adkim, RFC 7489 3.1.1, RFC 9989 4.4.1) failed, and
 * no aligned signature passed, so DKIM gave DMARC nothing (RFC 7489 4.2).
 * The fix names the signature, the verifier's reason, what changes a
 * message after signing, and the way out.
 */
START_TEST(hint_dkim_aligned_signature_failed)
{
	struct am_verdict v;
	struct am_dkim_sig *s;

	/* forwarded through a list that added a footer: SPF for the list, DKIM broken */
	clean_verdict(&v);
	v.dkim.count = 0;
	s = add_sig(&v, "example.com", "s1", AM_DKIM_FAIL, true);
	am_strlcpy(s->reason, "body hash mismatch", sizeof(s->reason));
	set_spf(&v, AM_SPF_PASS, "lists.example.org", false);
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));
	ck_assert_str_eq(am_hint_name(AM_HINT_DKIM_ALIGNED_SIG_FAILED), "dkim-aligned-signature-failed");
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED,
	    "the DKIM signature d=example.com s=s1 aligns with example.com but failed (body hash mismatch): "
	    "the body was changed after signing");
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "mailing-list footer");
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "re-encoding");
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "sign after the last change, or exempt this stream");
	records_are(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "");

	/* a header changed (subject tag): the other reason, its own cause */
	am_strlcpy(s->reason, "signature did not verify", sizeof(s->reason));
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "failed (signature did not verify): a signed header");
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "subject tag");

	/* relaxed: a subdomain's signature aligns too */
	clean_verdict(&v);
	v.dkim.count = 0;
	add_sig(&v, "news.example.com", "s1", AM_DKIM_FAIL, true);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_assert(v.hints & BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "d=news.example.com s=s1 aligns with example.com but failed:");

	/* another aligned signature passed: DKIM still carries DMARC, no hint */
	clean_verdict(&v);
	add_sig(&v, "example.com", "old", AM_DKIM_FAIL, true);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);

	/* a third party's broken signature: not aligned, not this hint */
	clean_verdict(&v);
	add_sig(&v, "esp.example.org", "s", AM_DKIM_FAIL, false);
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, 0u);

	/* aligned but temperror or policy: DNS or key trouble, not a changed message */
	clean_verdict(&v);
	v.dkim.sig[0].result = AM_DKIM_TEMPERROR;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_DMARC_SINGLE_MECHANISM));

	/*
	 * SES mail whose Easy DKIM signature broke: DMARC fails and two hints
	 * say why (SPF unaligned, DKIM broken); ses-no-easy-dkim stays quiet,
	 * since Easy DKIM is set up.
	 */
	ses_verdict(&v);
	v.dkim.sig[0].result = AM_DKIM_FAIL;
	am_strlcpy(v.dkim.sig[0].reason, "body hash mismatch", sizeof(v.dkim.sig[0].reason));
	v.dkim.sig[1].result = AM_DKIM_FAIL;
	set_dmarc(&v, AM_POLICY_NONE);
	ck_assert_int_eq(v.dmarc.result, AM_DMARC_FAIL);
	am_ses_analyse(dm, &v);
	ck_hints(&v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_POLICY_NONE) |
	    BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));
	fix_has(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, "d=example.com s=token1");
}
END_TEST

/*
 * Record lines only when every name fits a zone file: a From domain with a
 * quote, a space or a control byte gets words but no line, and so does one
 * too long for "mail." in front.
 */
START_TEST(hint_records_only_for_clean_names)
{
	static const char *const bad[] = {
		"ex\"ample.com", "exa mple.com", "example.com\n", "example..com", ".example.com",
		"b\xc3\xbc" "cher.example", "ex;ample.com", "ex(ample).com",
	};
	static const enum am_hint with_records[] = {
		AM_HINT_SES_DEFAULT_MAIL_FROM, AM_HINT_SES_NO_EASY_DKIM, AM_HINT_DMARC_NO_RECORD,
	};
	struct am_verdict v;
	char recs[1024], label[64];
	size_t i, j;

	for (i = 0; i < NELEM(bad); i++) {
		ses_verdict(&v);
		am_strlcpy(v.from_domain, bad[i], sizeof(v.from_domain));
		for (j = 0; j < NELEM(with_records); j++) {
			am_hint_records(&v, with_records[j], recs, sizeof(recs));
			ck_assert_msg(recs[0] == '\0', "%s for From %s: %s",
			    am_hint_name(with_records[j]), bad[i], recs);
		}
	}
	/* 251 octets: a name, but "_dmarc." or "mail." in front is over 253 */
	ses_verdict(&v);
	memset(label, 'a', 61);
	label[61] = '\0';
	snprintf(recs, sizeof(recs), "%s.%s.%s.%s.com", label, label, label, label);
	am_strlcpy(v.from_domain, recs, sizeof(v.from_domain));
	am_hint_records(&v, AM_HINT_DMARC_NO_RECORD, recs, sizeof(recs));
	ck_assert_str_eq(recs, "");
	am_hint_records(&v, AM_HINT_SES_DEFAULT_MAIL_FROM, recs, sizeof(recs));
	ck_assert_str_eq(recs, "");
	/* a region that is no region name becomes the placeholder */
	ses_verdict(&v);
	am_ses_analyse(dm, &v);
	am_strlcpy(v.ses.region, "x\"y", sizeof(v.ses.region));
	records_are(&v, AM_HINT_SES_DEFAULT_MAIL_FROM,
	    "mail.example.com. MX 10 feedback-smtp.<region>.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"");
	/* a buffer too small for a whole line holds none: never half a record */
	am_hint_records(&v, AM_HINT_SES_DEFAULT_MAIL_FROM, label, 40);
	ck_assert_str_eq(label, "");
	am_hint_records(&v, AM_HINT_SES_DEFAULT_MAIL_FROM, recs, 80);
	ck_assert_str_eq(recs, "mail.example.com. MX 10 feedback-smtp.<region>.amazonses.com.");
}
END_TEST

START_TEST(hint_fix_bounded)
{
	struct am_verdict v;
	char small[24], one[1];
	unsigned h;

	ses_verdict(&v);
	v.dkim.sig[0].key_not_found = v.dkim.sig[0].duplicated_suffix = true;
	am_ses_analyse(dm, &v);
	for (h = 0; h <= AM_HINT_COUNT; h++) {
		memset(small, 'X', sizeof(small));
		am_hint_fix(&v, (enum am_hint)h, small, sizeof(small));
		ck_assert_msg(memchr(small, '\0', sizeof(small)) != NULL, "hint %u unterminated", h);
		ck_assert_uint_gt(strlen(small), 0);
		one[0] = 'X';
		am_hint_fix(&v, (enum am_hint)h, one, sizeof(one));
		ck_assert_int_eq(one[0], '\0');
	}
	/* every fix for an empty verdict names placeholders, never crashes */
	memset(&v, 0, sizeof(v));
	for (h = 0; h < AM_HINT_COUNT; h++) {
		char fix[1024];

		am_hint_fix(&v, (enum am_hint)h, fix, sizeof(fix));
		ck_assert_uint_gt(strlen(fix), 10);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hints");
	TCase *tc = tcase_create("hints");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, hints_setup, hints_teardown);
	tcase_add_test(tc, hint_names);
	tcase_add_test(tc, hint_aspf_strict_subdomain);
	tcase_add_test(tc, hint_dkim_key_not_found);
	tcase_add_test(tc, hint_dkim_cname_duplicated_suffix);
	tcase_add_test(tc, hint_dmarc_single_mechanism);
	tcase_add_test(tc, hint_single_mechanism_fix_text);
	tcase_add_test(tc, hint_dmarc_policy_none);
	tcase_add_test(tc, hint_dmarc_no_record);
	tcase_add_test(tc, hint_from_header_invalid);
	tcase_add_test(tc, hint_dkim_aligned_signature_failed);
	tcase_add_test(tc, hint_records_only_for_clean_names);
	tcase_add_test(tc, hint_fix_bounded);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
