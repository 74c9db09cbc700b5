/*
 * check_verdictline.c - unit tests of the syslog verdict line (lib/policy/verdictline.c).
 *
 * Owns the contract of am_verdictline_render(): one printable line with the
 * fields of alignmilter(8), exactly the man page's example for the SES
 * default case, NOQUEUE without a queue id, and every byte from mail that
 * could forge or break a log line written as \xNN.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "policy/ses.h"
#include "policy/verdictline.h"
#include "verdictutil.h"

static void
check_one_printable_line(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "byte 0x%02x in the verdict line: %s", *p, s);
}

START_TEST(verdictline_line)
{
	struct am_verdict v;
	struct am_buf b;

	ses_verdict(&v);
	am_ses_analyse(dm, &v);
	am_buf_init(&b);
	am_verdictline_render(&v, &b);
	check_one_printable_line(b.data);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert_msg(strncmp(b.data, "4Fx1: ", 6) == 0, "%s", b.data);
	ck_assert_msg(strstr(b.data, " from=example.com ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " client=54.240.8.1 ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " spf=pass (mailfrom=us-east-1.amazonses.com, unaligned) ") != NULL,
	    "%s", b.data);
	ck_assert_msg(strstr(b.data, " dkim=pass (example.com/token1, aligned) "
	    "dkim=pass (amazonses.com/224i4yxa, unaligned) ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " dmarc=pass (p=none dis=none) ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " sender=ses region=us-east-1 mail_from=default ") != NULL,
	    "%s", b.data);
	ck_assert_msg(strstr(b.data, " hints=ses-default-mail-from,dmarc-single-mechanism,"
	    "dmarc-policy-none") != NULL, "%s", b.data);
	ck_assert_msg(b.data[b.len - 1] != ' ', "trailing space: %s", b.data);
	/* exactly the example line of alignmilter(8) */
	{
		char *want = man_example(".SS Syslog verdict\n", " ", "");

		ck_assert_str_eq(b.data, want);
		free(want);
	}

	/* no queue id, unsigned, no hints, not SES */
	clean_verdict(&v);
	v.queue_id[0] = '\0';
	v.dkim.count = 0;
	am_ses_analyse(dm, &v);
	am_verdictline_render(&v, &b);
	check_one_printable_line(b.data);
	ck_assert_msg(strncmp(b.data, "NOQUEUE: from=example.com ", 26) == 0, "%s", b.data);
	ck_assert_msg(strstr(b.data, " dkim=none ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " sender=other hints=-") != NULL, "%s", b.data);
	ck_assert_ptr_null(strstr(b.data, "region="));
	am_buf_free(&b);
}
END_TEST

START_TEST(verdictline_hostile)
{
	struct am_verdict v;
	struct am_buf b;

	ses_verdict(&v);
	am_strlcpy(v.queue_id, "4Fx1\nFAKE: from=paypal.com", sizeof(v.queue_id));
	am_strlcpy(v.from_domain, "exa\r\nmple\x1b[31m\xff.com", sizeof(v.from_domain));
	am_strlcpy(v.dkim.sig[0].selector, "t\x80ok en\\", sizeof(v.dkim.sig[0].selector));
	am_strlcpy(v.client_ip, "", sizeof(v.client_ip));
	am_ses_analyse(dm, &v);
	am_buf_init(&b);
	am_verdictline_render(&v, &b);
	check_one_printable_line(b.data);
	ck_assert_msg(strncmp(b.data, "4Fx1\\x0aFAKE:\\x20from=paypal.com: ",
	    strlen("4Fx1\\x0aFAKE:\\x20from=paypal.com: ")) == 0, "%s", b.data);
	ck_assert_msg(strstr(b.data, "from=exa\\x0d\\x0ample\\x1b[31m\\xff.com ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, "/t\\x80ok\\x20en\\x5c,") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " client=- ") != NULL, "%s", b.data);
	am_buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("verdictline");
	TCase *tc = tcase_create("verdictline");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, hints_setup, hints_teardown);
	tcase_add_test(tc, verdictline_line);
	tcase_add_test(tc, verdictline_hostile);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
