/*
 * check_authres.c - unit tests of the Authentication-Results value
 * (lib/policy/authres.c).
 *
 * Owns the contract of am_authres_render(): the exact strings of RFC 8601
 * for each result, which reasons are rendered as comments, and that
 * hostile values from mail (CR LF, quotes, parentheses, 8-bit bytes, a
 * hostile authserv-id) are quoted or dropped so the value stays one
 * header field (check_ar_structure() in verdictutil.c).
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "policy/authres.h"
#include "verdictutil.h"

static const char *
render_ar(const struct am_verdict *v, struct am_buf *b)
{
	am_authres_render(v, AUTHSERV, b);
	return b->data;
}

START_TEST(authres_design_example)
{
	struct am_verdict v;
	struct am_buf b;

	memset(&v, 0, sizeof(v));
	v.from_status = AM_FROM_OK;
	am_strlcpy(v.from_domain, "example.com", sizeof(v.from_domain));
	am_strlcpy(v.mail_from, "bounce@mail.example.com", sizeof(v.mail_from));
	set_spf(&v, AM_SPF_PASS, "mail.example.com", true);
	add_sig(&v, "example.com", "token1", AM_DKIM_PASS, true);
	am_strlcpy(add_sig(&v, "amazonses.com", "224i4yxa", AM_DKIM_PASS, false)->b_prefix,
	    "XyZ01234", sizeof(v.dkim.sig[1].b_prefix));
	set_dmarc(&v, AM_POLICY_NONE);
	/* reasons on passing results are not rendered */
	am_strlcpy(v.spf.reason, "mechanism include matched", sizeof(v.spf.reason));
	am_strlcpy(v.dmarc.reason, "whatever", sizeof(v.dmarc.reason));
	am_buf_init(&b);
	ck_assert_str_eq(render_ar(&v, &b),
	    " mx.example.net;\n"
	    "\tspf=pass smtp.mailfrom=mail.example.com;\n"
	    "\tdkim=pass header.d=example.com header.s=token1 header.a=rsa-sha256 header.b=AbCdEfGh;\n"
	    "\tdkim=pass header.d=amazonses.com header.s=224i4yxa header.a=rsa-sha256 header.b=XyZ01234;\n"
	    "\tdmarc=pass (p=none dis=none) header.from=example.com");
	ck_assert_uint_eq(check_ar_structure(b.data), 4);
	ck_assert_uint_eq(b.len, strlen(b.data));
	am_buf_free(&b);
}
END_TEST

START_TEST(authres_unsigned_and_null_sender)
{
	struct am_verdict v;
	struct am_buf b;

	clean_verdict(&v);
	v.dkim.count = v.dkim.total = 0;
	set_dmarc(&v, AM_POLICY_REJECT);
	am_buf_init(&b);
	ck_assert_str_eq(render_ar(&v, &b),
	    " mx.example.net;\n"
	    "\tspf=pass smtp.mailfrom=mail.example.com;\n"
	    "\tdkim=none;\n"
	    "\tdmarc=pass (p=reject dis=none) header.from=example.com");

	/* null sender: the HELO identity */
	v.mail_from[0] = '\0';
	v.spf.helo_identity = true;
	set_spf(&v, AM_SPF_PASS, SES_HELO, false);
	set_dmarc(&v, AM_POLICY_REJECT);
	ck_assert_str_eq(render_ar(&v, &b),
	    " mx.example.net;\n"
	    "\tspf=pass smtp.helo=a8-1.smtp-out.amazonses.com;\n"
	    "\tdkim=none;\n"
	    "\tdmarc=fail (p=reject dis=reject) header.from=example.com");
	ck_assert_ptr_null(strstr(b.data, "smtp.mailfrom"));
	check_ar_structure(b.data);

	/* no DMARC record: dmarc=none without a policy comment */
	clean_verdict(&v);
	memset(&v.dmarc, 0, sizeof(v.dmarc));
	am_strlcpy(v.dmarc.reason, "no DMARC record for example.com", sizeof(v.dmarc.reason));
	ck_assert_str_eq(render_ar(&v, &b),
	    " mx.example.net;\n"
	    "\tspf=pass smtp.mailfrom=mail.example.com;\n"
	    "\tdkim=pass header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=AbCdEfGh;\n"
	    "\tdmarc=none header.from=example.com");
	am_buf_free(&b);
}
END_TEST

START_TEST(authres_non_pass_comments)
{
	struct am_verdict v;
	struct am_buf b;
	struct am_dkim_sig *s;

	clean_verdict(&v);
	v.dkim.count = 0;
	set_spf(&v, AM_SPF_SOFTFAIL, "mail.example.com", false);
	am_strlcpy(v.spf.reason, "192.0.2.10 is not authorized (~all)", sizeof(v.spf.reason));
	s = add_sig(&v, "example.com", "s1", AM_DKIM_FAIL, false);
	am_strlcpy(s->reason, "body hash mismatch", sizeof(s->reason));
	s = add_sig(&v, "example.com", "nokey", AM_DKIM_PERMERROR, false);
	am_strlcpy(s->reason, "key not found", sizeof(s->reason));
	s = add_sig(&v, "example.com", "s3", AM_DKIM_NEUTRAL, false);
	s->verified = false;
	am_strlcpy(s->reason, "not verified: MaximumSignatures", sizeof(s->reason));
	v.dkim.total = 7;
	set_dmarc(&v, AM_POLICY_QUARANTINE);
	am_strlcpy(v.dmarc.reason, "not rendered for fail", sizeof(v.dmarc.reason));
	am_buf_init(&b);
	ck_assert_str_eq(render_ar(&v, &b),
	    " mx.example.net;\n"
	    "\tspf=softfail smtp.mailfrom=mail.example.com (192.0.2.10 is not authorized \\(~all\\));\n"
	    "\tdkim=fail header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=AbCdEfGh"
	    " (body hash mismatch);\n"
	    "\tdkim=permerror header.d=example.com header.s=nokey header.a=rsa-sha256 header.b=AbCdEfGh"
	    " (key not found);\n"
	    "\tdkim=neutral header.d=example.com header.s=s3 header.a=rsa-sha256 header.b=AbCdEfGh"
	    " (not verified: MaximumSignatures) (4 more signatures not reported);\n"
	    "\tdmarc=fail (p=quarantine dis=quarantine) header.from=example.com");
	ck_assert_uint_eq(check_ar_structure(b.data), 5);

	/* temperror/permerror DMARC carry the reason; the policy only with a record */
	v.dmarc.result = AM_DMARC_PERMERROR;
	am_strlcpy(v.dmarc.reason, "DMARC record rejected: bad p=", sizeof(v.dmarc.reason));
	render_ar(&v, &b);
	ck_assert_msg(strstr(b.data, "\tdmarc=permerror (p=quarantine dis=quarantine) "
	    "header.from=example.com (DMARC record rejected: bad p=)") != NULL, "%s", b.data);
	v.dmarc.result = AM_DMARC_TEMPERROR;
	v.dmarc.record_found = false;
	v.dmarc.policy = v.dmarc.disposition = AM_POLICY_UNSPEC;
	am_strlcpy(v.dmarc.reason, "DNS SERVFAIL for _dmarc.example.com", sizeof(v.dmarc.reason));
	render_ar(&v, &b);
	ck_assert_msg(strstr(b.data, "\tdmarc=temperror header.from=example.com"
	    " (DNS SERVFAIL for _dmarc.example.com)") != NULL, "%s", b.data);
	v.dmarc.result = AM_DMARC_PERMERROR;
	v.from_domain[0] = '\0';
	am_strlcpy(v.dmarc.reason, "more than one From address", sizeof(v.dmarc.reason));
	render_ar(&v, &b);
	ck_assert_msg(strstr(b.data, "\tdmarc=permerror (more than one From address)")
	    != NULL, "%s", b.data);
	ck_assert_ptr_null(strstr(b.data, "header.from"));
	check_ar_structure(b.data);
	am_buf_free(&b);
}
END_TEST

START_TEST(authres_hostile_values)
{
	struct am_verdict v;
	struct am_buf b;
	struct am_dkim_sig *s;

	clean_verdict(&v);
	v.dkim.count = 0;
	set_spf(&v, AM_SPF_FAIL, "evil\r\nX-Injected: yes", false);
	am_strlcpy(v.spf.reason, "a (nested (comment) and \\ backslash \r\n and an open ( paren",
	    sizeof(v.spf.reason));
	s = add_sig(&v, "ex ample;com\"x\r\nInjected: yes\xff\x80\\", "sel;(x)", AM_DKIM_FAIL, false);
	am_strlcpy(s->b_prefix, "ab/cd+ef", sizeof(s->b_prefix));
	am_strlcpy(s->reason, ")(", sizeof(s->reason));
	s = add_sig(&v, "example.com", "s2", AM_DKIM_PASS, true);
	am_strlcpy(s->b_prefix, "AbC/dE+f", sizeof(s->b_prefix));
	am_strlcpy(s->algorithm, "rsa-sha256\n", sizeof(s->algorithm));
	set_dmarc(&v, AM_POLICY_REJECT);
	am_buf_init(&b);
	render_ar(&v, &b);
	ck_assert_uint_eq(check_ar_structure(b.data), 4);
	ck_assert_ptr_null(strchr(b.data, '\r'));
	ck_assert_ptr_null(strstr(b.data, "\nX-Injected"));
	ck_assert_ptr_null(strstr(b.data, "\nInjected"));
	/* exact forms */
	ck_assert_msg(strstr(b.data, "spf=fail smtp.mailfrom=\"evilX-Injected: yes\" "
	    "(a \\(nested \\(comment\\) and \\\\ backslash  and an open \\( paren);") != NULL,
	    "%s", b.data);
	ck_assert_msg(strstr(b.data, "header.d=\"ex ample;com\\\"xInjected: yes??\\\\\" "
	    "header.s=\"sel;(x)\"") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, "header.b=ab/cd+ef (\\)\\();") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, "header.a=\"rsa-sha256\" header.b=AbC/dE+f;") != NULL,
	    "%s", b.data);

	/* a hostile authserv-id is quoted too */
	am_authres_render(&v, "mx;example\"net\n", &b);
	ck_assert_msg(strncmp(b.data, " \"mx;example\\\"net\";\n\t", 21) == 0, "%s", b.data);
	check_ar_structure(b.data);
	am_buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authres");
	TCase *tc = tcase_create("authres");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, authres_design_example);
	tcase_add_test(tc, authres_unsigned_and_null_sender);
	tcase_add_test(tc, authres_non_pass_comments);
	tcase_add_test(tc, authres_hostile_values);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
