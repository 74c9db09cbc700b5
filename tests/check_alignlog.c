/*
 * check_alignlog.c - unit tests of the alignment-log record (lib/policy/alignlog.c).
 *
 * Owns the contract of am_alignlog_render() and am_json_string(): one line
 * of valid JSON (judged by the independent parser of testutil.c, and by
 * Python's json module when python3 is there), alignmilter(8)'s keys in
 * its order with its types (check_record_schema() in verdictutil.c), the
 * man page's example byte for byte, every result name and hint, and
 * hostile bytes escaped or replaced by U+FFFD.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "policy/alignlog.h"
#include "policy/alignlog-read.h"
#include "policy/ses.h"
#include "testutil.h"
#include "verdictutil.h"

#define PYTHON		"/usr/bin/python3"

/* Python's json module as a second opinion; -1 when python3 is missing. */
static int
python_json_ok(const char *s, size_t len)
{
	FILE *p;
	int st;

	if (access(PYTHON, X_OK) != 0)
		return -1;
	p = popen(PYTHON " -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode(\"utf-8\"))' "
	    "2>/dev/null", "w");
	if (p == NULL)
		return -1;
	fwrite(s, 1, len, p);
	st = pclose(p);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The alignmilter(8) example record's verdict: SES default MAIL FROM, Easy DKIM, p=none. */
static void
design_log_verdict(struct am_verdict *v)
{
	ses_verdict(v);
	v->ts = 1795755600;		/* 2026-11-27T05:00:00Z */
	am_strlcpy(v->queue_id, "4Fx1", sizeof(v->queue_id));
	am_strlcpy(v->mail_from, "0100018c@us-east-1.amazonses.com", sizeof(v->mail_from));
	v->dkim.count = v->dkim.total = 1;	/* the man page's example shows one signature */
	v->ses.is_ses = true;
	v->ses.default_mail_from = true;
	am_strlcpy(v->ses.region, "us-east-1", sizeof(v->ses.region));
	v->hints = BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM) |
	    BIT(AM_HINT_DMARC_POLICY_NONE);
}

static void
json_string_is(const char *in, size_t len, const char *want)
{
	struct am_buf b;

	am_buf_init(&b);
	am_json_string(&b, in, len);
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	    "am_json_string: got %.*s, want %s", (int)b.len, b.data, want);
	am_buf_free(&b);
}

START_TEST(alignlog_design_record_schema)
{
	struct am_verdict v;
	struct am_buf b;
	struct jval *r;

	design_log_verdict(&v);
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	ck_assert_ptr_eq(strchr(b.data, '\n'), b.data + b.len - 1);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_str_eq(jstr(r, "ts"), "2026-11-27T05:00:00Z");
	ck_assert_str_eq(jstr(r, "queue_id"), "4Fx1");
	ck_assert_str_eq(jstr(r, "client_ip"), SES_CLIENT);
	ck_assert_str_eq(jstr(r, "helo"), SES_HELO);
	ck_assert_str_eq(jstr(r, "mail_from"), "0100018c@us-east-1.amazonses.com");
	ck_assert_str_eq(jstr(r, "from_domain"), "example.com");
	ck_assert_str_eq(jstr(jget(r, "spf"), "result"), "pass");
	ck_assert_str_eq(jstr(jget(r, "spf"), "domain"), "us-east-1.amazonses.com");
	ck_assert(!jget(jget(r, "spf"), "aligned")->b);
	ck_assert_uint_eq(jget(r, "dkim")->n, 1);
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "selector"), "token1");
	ck_assert(jget(jget(r, "dkim")->items[0], "aligned")->b);
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "pass");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "policy"), "none");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "adkim"), "r");
	ck_assert_str_eq(jstr(r, "sender"), "ses");
	ck_assert_str_eq(jstr(jget(r, "ses"), "region"), "us-east-1");
	ck_assert_str_eq(jstr(jget(r, "ses"), "mail_from"), "default");
	ck_assert_uint_eq(jget(r, "hints")->n, 3);
	ck_assert_str_eq(jget(r, "hints")->items[0]->str, "ses-default-mail-from");
	ck_assert_str_eq(jget(r, "hints")->items[1]->str, "dmarc-single-mechanism");
	ck_assert_str_eq(jget(r, "hints")->items[2]->str, "dmarc-policy-none");
	jfree(r);
	am_buf_free(&b);
}
END_TEST

/*
 * alignmilter(8)'s example record, byte for byte, with alignmilter's documented
 * extensions (alignmilter(8)): dkim[].key_bits when known, dmarc.pct and
 * dmarc.record_domain when a record was found.
 */
START_TEST(alignlog_design_example_exact)
{
	struct am_verdict v;
	struct am_buf b;
	char *want = man_example(".SS Alignment log\n", "", "\n");

	design_log_verdict(&v);
	v.dkim.sig[0].keybits = 2048;
	v.dmarc.record_found = true;
	v.dmarc.pct = 100;
	am_strlcpy(v.dmarc.record_domain, "example.com", sizeof(v.dmarc.record_domain));
	/* What RFC 9989 evaluation (the default) adds for the domain's own record. */
	v.dmarc.policy_tag = AM_PTAG_P;
	v.dmarc.discovery = AM_DISCOVERY_TREEWALK;
	v.dmarc.psd = 'u';
	v.dmarc.published_p = AM_POLICY_NONE;
	am_strlcpy(v.dmarc.org_domain, "example.com", sizeof(v.dmarc.org_domain));
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	ck_assert_str_eq(b.data, want);
	am_buf_free(&b);
	free(want);
}
END_TEST

START_TEST(alignlog_variants)
{
	struct am_verdict v;
	struct am_buf b;
	struct jval *r;

	/* non-SES, unsigned, null sender, no DMARC record */
	clean_verdict(&v);
	v.dkim.count = v.dkim.total = 0;
	v.mail_from[0] = '\0';
	v.spf.helo_identity = true;
	set_spf(&v, AM_SPF_NEUTRAL, "mail.example.com", false);
	am_strlcpy(v.spf.reason, "neutral", sizeof(v.spf.reason));
	memset(&v.dmarc, 0, sizeof(v.dmarc));
	am_ses_analyse(dm, &v);
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_str_eq(jstr(r, "sender"), "other");
	ck_assert_int_eq(jget(r, "ses")->type, J_NULL);
	ck_assert_uint_eq(jget(r, "dkim")->n, 0);
	ck_assert_str_eq(jstr(r, "mail_from"), "");
	ck_assert_str_eq(jstr(jget(r, "spf"), "result"), "neutral");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "none");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "policy"), "none");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "adkim"), "r");	/* 0 is rendered as the default */
	ck_assert_uint_eq(jget(r, "hints")->n, 1);
	ck_assert_str_eq(jget(r, "hints")->items[0]->str, "dmarc-no-record");
	jfree(r);

	/* every result name and every hint at once */
	design_log_verdict(&v);
	v.hints = (1u << AM_HINT_COUNT) - 1;
	v.dkim.count = v.dkim.total = 0;
	add_sig(&v, "a.example", "s", AM_DKIM_NONE, false);
	add_sig(&v, "a.example", "s", AM_DKIM_FAIL, false);
	add_sig(&v, "a.example", "s", AM_DKIM_NEUTRAL, false);
	add_sig(&v, "a.example", "s", AM_DKIM_POLICY, false);
	add_sig(&v, "a.example", "s", AM_DKIM_TEMPERROR, false);
	add_sig(&v, "a.example", "s", AM_DKIM_PERMERROR, false)->keybits = 0;
	v.dmarc.result = AM_DMARC_PERMERROR;
	am_strlcpy(v.dmarc.reason, "bad record", sizeof(v.dmarc.reason));
	am_alignlog_render(&v, &b);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_uint_eq(jget(r, "hints")->n, AM_HINT_COUNT);
	ck_assert_uint_eq(jget(r, "dkim")->n, 6);
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "result"), "none");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[3], "result"), "policy");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "permerror");
	jfree(r);
	am_buf_free(&b);
}
END_TEST

START_TEST(json_string_escapes)
{
	json_string_is("", 0, "\"\"");
	json_string_is("plain", 5, "\"plain\"");
	json_string_is("a\0b", 3, "\"a\\u0000b\"");			/* NUL inside len */
	json_string_is("q\"b\\", 4, "\"q\\\"b\\\\\"");
	json_string_is("\x01\x1f\x7f\n\r\t", 6, "\"\\u0001\\u001f\\u007f\\u000a\\u000d\\u0009\"");
	json_string_is("\xc3\xa9", 2, "\"\xc3\xa9\"");			/* é */
	json_string_is("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");		/* € */
	json_string_is("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");	/* U+1F600 */
	json_string_is("\xff", 1, "\"\\ufffd\"");
	json_string_is("a\x80z", 3, "\"a\\ufffdz\"");			/* lone continuation */
	json_string_is("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	json_string_is("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong, 3 bytes */
	json_string_is("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate D800 */
	json_string_is("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	json_string_is("\xf5\x80", 2, "\"\\ufffd\\ufffd\"");
	json_string_is("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");		/* truncated at the end */
	json_string_is("\xe2\x82" "A", 3, "\"\\ufffd\\ufffdA\"");		/* truncated mid-string */
	json_string_is("\xc3\xa9" "\xc3", 2, "\"\xc3\xa9\"");		/* len stops before */
}
END_TEST

START_TEST(alignlog_hostile_bytes)
{
	struct am_verdict v;
	struct am_buf b;
	struct jval *r;
	unsigned c;
	char all[256];
	int py;

	design_log_verdict(&v);
	/* every byte value 1..255 in the HELO */
	for (c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = '\0';
	am_strlcpy(v.helo, all, sizeof(v.helo));
	am_strlcpy(v.queue_id, "4F\"x\\1\n", sizeof(v.queue_id));
	am_strlcpy(v.mail_from, "\"a b\"@ex\xc3\xa9mple.com\xff", sizeof(v.mail_from));
	am_strlcpy(v.dkim.sig[0].domain, "\xed\xa0\x80.example", sizeof(v.dkim.sig[0].domain));
	am_strlcpy(v.dkim.sig[0].selector, "s\x1b[31m", sizeof(v.dkim.sig[0].selector));
	v.dkim.sig[0].result = AM_DKIM_FAIL;
	am_strlcpy(v.dkim.sig[0].reason, "bad \xc0\xaf \"quoted\" \\", sizeof(v.dkim.sig[0].reason));
	am_strlcpy(v.ses.region, "us-east-1\x7f", sizeof(v.ses.region));
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	ck_assert_ptr_eq(strchr(b.data, '\n'), b.data + b.len - 1);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_str_eq(jstr(r, "queue_id"), "4F\"x\\1\n");
	ck_assert_str_eq(jstr(r, "mail_from"), "\"a b\"@ex\xc3\xa9mple.com\xef\xbf\xbd");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "domain"),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.example");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "selector"), "s\x1b[31m");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "reason"),
	    "bad \xef\xbf\xbd\xef\xbf\xbd \"quoted\" \\");
	ck_assert_str_eq(jstr(jget(r, "ses"), "region"), "us-east-1\x7f");
	/* the HELO: ASCII kept, each byte >= 0x80 (none valid UTF-8 alone) became U+FFFD */
	{
		const struct jval *h = jget(r, "helo");
		size_t i, fffd = 0;

		for (i = 0; i + 2 < h->slen; i++)
			if (memcmp(h->str + i, "\xef\xbf\xbd", 3) == 0)
				fffd++;
		ck_assert_uint_eq(fffd, 128);
		ck_assert_uint_eq(h->slen, 127 + 3 * 128);
		ck_assert_int_eq(h->str[0], 1);
	}
	jfree(r);
	py = python_json_ok(b.data, b.len);
	ck_assert_msg(py != 0, "python's json module rejects the record: %s", b.data);
	am_buf_free(&b);
}
END_TEST

/* "host" (ReportingHost) follows queue_id when set, and reads back; absent: "" (old records). */
START_TEST(alignlog_host_roundtrip)
{
	struct am_verdict v, *back = malloc(sizeof(*back));
	struct am_buf b;
	char err[200];

	ck_assert_ptr_nonnull(back);
	design_log_verdict(&v);
	am_strlcpy(v.queue_id, "4XyZ1Q", sizeof(v.queue_id));
	am_strlcpy(v.host, "mx1.example.net", sizeof(v.host));
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	ck_assert_msg(strstr(b.data, "\"queue_id\":\"4XyZ1Q\",\"host\":\"mx1.example.net\",\"client_ip\"") != NULL,
	    "%s", b.data);
	ck_assert_msg(am_alignlog_read(b.data, b.len - 1, back, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(back->host, "mx1.example.net");
	ck_assert_str_eq(back->queue_id, "4XyZ1Q");
	v.host[0] = '\0';
	am_alignlog_render(&v, &b);
	ck_assert_ptr_null(strstr(b.data, "\"host\""));
	ck_assert_msg(am_alignlog_read(b.data, b.len - 1, back, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(back->host, "");
	am_buf_free(&b);
	free(back);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("alignlog");
	TCase *tc = tcase_create("alignlog");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, hints_setup, hints_teardown);
	tcase_add_test(tc, alignlog_design_record_schema);
	tcase_add_test(tc, alignlog_design_example_exact);
	tcase_add_test(tc, alignlog_variants);
	tcase_add_test(tc, json_string_escapes);
	tcase_add_test(tc, alignlog_hostile_bytes);
	tcase_add_test(tc, alignlog_host_roundtrip);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
