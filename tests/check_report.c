/*
 * check_report.c - unit tests of alignmilter-report's parts: the strict
 * JSON reader (json.c) on valid and invalid vectors and hostile
 * input, the alignment-log record reader (alignlog-read.c) on the milter's own
 * records (alignlog.c round trip, the hint fixes re-rendered equal), ISO
 * 8601 times, the tallies (report.c) and the string index (reportmap.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/alignlog.h"
#include "util/json.h"
#include "policy/alignlog-read.h"
#include "tools/report/report.h"
#include "tools/report/reportmap.h"
#include "policy/ses.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct am_json_doc *
parse(const char *s, char *err, size_t errlen)
{
	return am_json_parse(s, strlen(s), err, errlen);
}

/* ---- util/json.c: valid ---------------------------------------------------- */

START_TEST(json_valid_values)
{
	char err[128];
	struct am_json_doc *d;
	const struct am_json *r, *m;
	long n;

	d = parse(" {\"a\" : [1, -2.5e1, 0, true, false, null], \"b\": \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\","
	    " \"c\": {}, \"d\": [], \"e\": \"\\u00e9\\u20ac\\ud83d\\ude00\", \"f\": \"\xc3\xa9\"} \r\n",
	    err, sizeof(err));
	ck_assert_msg(d != NULL, "parse failed: %s", err);
	r = am_json_root(d);
	ck_assert_int_eq(r->type, AM_JSON_OBJECT);
	ck_assert_uint_eq(r->count, 6);
	m = am_json_member(r, "a");
	ck_assert_int_eq(m->type, AM_JSON_ARRAY);
	ck_assert_uint_eq(m->count, 6);
	ck_assert(am_json_int(m->child, 0, 10, &n) && n == 1);
	ck_assert(m->child->next->num == -25.0);
	ck_assert(!am_json_int(m->child->next, 0, 10, &n));
	ck_assert_int_eq(m->child->next->next->next->type, AM_JSON_TRUE);
	ck_assert_int_eq(m->child->next->next->next->next->next->type, AM_JSON_NULL);
	ck_assert_str_eq(am_json_member(r, "b")->str, "x\"\\/\b\f\n\r\t");
	ck_assert_int_eq(am_json_member(r, "c")->type, AM_JSON_OBJECT);
	ck_assert_uint_eq(am_json_member(r, "c")->count, 0);
	ck_assert_str_eq(am_json_member(r, "e")->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	ck_assert_uint_eq(am_json_member(r, "e")->len, 9);
	ck_assert_str_eq(am_json_member(r, "f")->str, "\xc3\xa9");
	ck_assert(am_json_member(r, "zz") == NULL);
	ck_assert(am_json_member(m, "a") == NULL);
	am_json_free(d);

	/* Scalars are documents too. */
	d = parse("\"\"", err, sizeof(err));
	ck_assert(d != NULL && am_json_root(d)->type == AM_JSON_STRING && am_json_root(d)->len == 0);
	am_json_free(d);
	d = parse("-0.0e+0", err, sizeof(err));
	ck_assert(d != NULL && am_json_root(d)->type == AM_JSON_NUMBER);
	am_json_free(d);
	d = parse("1e400", err, sizeof(err));
	ck_assert(d != NULL && !am_json_int(am_json_root(d), 0, 100, &n));
	am_json_free(d);
}
END_TEST

/* ---- util/json.c: invalid -------------------------------------------------- */

static const struct {
	const char *text;
	size_t	len;		/* 0: strlen */
	const char *why;	/* expected in the error */
} invalid[] = {
	{ "", 0, "value expected" },
	{ "   ", 0, "value expected" },
	{ "{", 0, "member name expected" },
	{ "{\"a\":1,}", 0, "member name expected" },
	{ "[1,]", 0, "unexpected character" },
	{ "[1 2]", 0, "expected ','" },
	{ "{\"a\" 1}", 0, "expected ':'" },
	{ "{'a':1}", 0, "member name expected" },
	{ "{a:1}", 0, "member name expected" },
	{ "[01]", 0, "leading zero" },
	{ "[-]", 0, "invalid number" },
	{ "[1.]", 0, "digit expected after '.'" },
	{ "[.5]", 0, "unexpected character" },
	{ "[1e]", 0, "digit expected in exponent" },
	{ "[+1]", 0, "unexpected character" },
	{ "[NaN]", 0, "unexpected character" },
	{ "[Infinity]", 0, "unexpected character" },
	{ "[tru]", 0, "invalid literal" },
	{ "[nul]", 0, "invalid literal" },
	{ "[True]", 0, "unexpected character" },
	{ "\"abc", 0, "unterminated string" },
	{ "\"abc\\", 0, "unterminated string" },
	{ "\"a\tb\"", 0, "control character" },
	{ "\"a\nb\"", 0, "control character" },
	{ "\"\\x41\"", 0, "invalid escape" },
	{ "\"\\u12\"", 0, "truncated \\u escape" },
	{ "\"\\u12G4\"", 0, "bad hex digit" },
	{ "\"\\u12", 0, "unterminated string" },
	{ "\"\\ud800\"", 0, "unpaired high surrogate" },
	{ "\"\\ud800\\u0041\"", 0, "unpaired high surrogate" },
	{ "\"\\udc00\"", 0, "unpaired low surrogate" },
	{ "\"\\u0000\"", 0, "\\u0000" },
	{ "\"\xff\"", 0, "invalid UTF-8" },
	{ "\"\xc0\xaf\"", 0, "invalid UTF-8" },		/* overlong '/' */
	{ "\"\xe0\x80\xaf\"", 0, "invalid UTF-8" },	/* overlong */
	{ "\"\xed\xa0\x80\"", 0, "invalid UTF-8" },	/* encoded surrogate */
	{ "\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8" },	/* beyond U+10FFFF */
	{ "\"\xe2\x82\"", 0, "invalid UTF-8" },		/* truncated */
	{ "\xef\xbb\xbf{}", 0, "unexpected character" },	/* BOM */
	{ "{} {}", 0, "trailing data" },
	{ "{}x", 0, "trailing data" },
	{ "[1] // comment", 0, "trailing data" },
	{ "/* c */ []", 0, "unexpected character" },
	{ "[\"a\0b\"]", 7, "control character" },
	{ "{}\0", 3, "trailing data" },
};

START_TEST(json_invalid_vectors)
{
	char err[128];
	size_t i, len;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct am_json_doc *d;

		len = invalid[i].len ? invalid[i].len : strlen(invalid[i].text);
		d = am_json_parse(invalid[i].text, len, err, sizeof(err));
		ck_assert_msg(d == NULL, "vector %zu (%s) accepted", i, invalid[i].text);
		ck_assert_msg(strstr(err, invalid[i].why) != NULL, "vector %zu (%s): error \"%s\", want \"%s\"",
		    i, invalid[i].text, err, invalid[i].why);
		ck_assert_msg(strncmp(err, "offset ", 7) == 0, "vector %zu: no offset in \"%s\"", i, err);
	}
	ck_assert(am_json_parse(NULL, 0, err, sizeof(err)) == NULL);
}
END_TEST

START_TEST(json_limits)
{
	char err[128];
	struct am_buf b;
	struct am_json_doc *d;
	double t0;
	int i;

	/* 64 levels are fine, 65 are not. */
	am_buf_init(&b);
	for (i = 0; i < AM_JSON_MAX_DEPTH; i++)
		am_buf_addc(&b, '[');
	for (i = 0; i < AM_JSON_MAX_DEPTH; i++)
		am_buf_addc(&b, ']');
	d = am_json_parse(b.data, b.len, err, sizeof(err));
	ck_assert_msg(d != NULL, "depth %d refused: %s", AM_JSON_MAX_DEPTH, err);
	am_json_free(d);
	am_buf_reset(&b);
	for (i = 0; i <= AM_JSON_MAX_DEPTH; i++)
		am_buf_addc(&b, '[');
	for (i = 0; i <= AM_JSON_MAX_DEPTH; i++)
		am_buf_addc(&b, ']');
	ck_assert(am_json_parse(b.data, b.len, err, sizeof(err)) == NULL);
	ck_assert(strstr(err, "nesting") != NULL);

	/* A megabyte of brackets and one of tiny values: refused, fast, no crash. */
	t0 = now();
	am_buf_reset(&b);
	for (i = 0; i < 1024 * 1024; i++)
		am_buf_addc(&b, '[');
	ck_assert(am_json_parse(b.data, b.len, err, sizeof(err)) == NULL);
	am_buf_reset(&b);
	am_buf_addc(&b, '[');
	for (i = 0; i < 300000; i++)
		am_buf_adds(&b, "0,");
	am_buf_adds(&b, "0]");
	ck_assert(am_json_parse(b.data, b.len, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "more than") != NULL, "error: %s", err);
	/* A long string is fine. */
	am_buf_reset(&b);
	am_buf_addc(&b, '"');
	for (i = 0; i < 1024 * 1024; i++)
		am_buf_addc(&b, (char)('a' + i % 26));
	am_buf_addc(&b, '"');
	d = am_json_parse(b.data, b.len, err, sizeof(err));
	ck_assert(d != NULL && am_json_root(d)->len == 1024 * 1024);
	am_json_free(d);
	ck_assert_msg(now() - t0 < 5.0, "hostile inputs took %.1fs", now() - t0);
	am_buf_free(&b);
}
END_TEST

/* ---- verdicts for the round trip ---------------------------------------- */

static void
ses_verdict(struct am_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ts = 1795755600;	/* 2026-11-27T05:00:00Z */
	am_strlcpy(v->queue_id, "4Fx1", sizeof(v->queue_id));
	am_strlcpy(v->client_ip, "54.240.8.1", sizeof(v->client_ip));
	am_strlcpy(v->helo, "a8-1.smtp-out.amazonses.com", sizeof(v->helo));
	am_strlcpy(v->mail_from, "0100018c@us-east-1.amazonses.com", sizeof(v->mail_from));
	am_strlcpy(v->from_domain, "example.com", sizeof(v->from_domain));
	v->spf.result = AM_SPF_PASS;
	am_strlcpy(v->spf.domain, "us-east-1.amazonses.com", sizeof(v->spf.domain));
	v->dkim.count = v->dkim.total = 3;
	v->dkim.sig[0].result = AM_DKIM_PASS;
	v->dkim.sig[0].aligned = true;
	v->dkim.sig[0].keybits = 2048;
	am_strlcpy(v->dkim.sig[0].domain, "example.com", sizeof(v->dkim.sig[0].domain));
	am_strlcpy(v->dkim.sig[0].selector, "token1", sizeof(v->dkim.sig[0].selector));
	am_strlcpy(v->dkim.sig[0].algorithm, "rsa-sha256", sizeof(v->dkim.sig[0].algorithm));
	v->dkim.sig[1].result = AM_DKIM_PASS;
	am_strlcpy(v->dkim.sig[1].domain, "amazonses.com", sizeof(v->dkim.sig[1].domain));
	am_strlcpy(v->dkim.sig[1].selector, "224i4yxa", sizeof(v->dkim.sig[1].selector));
	am_strlcpy(v->dkim.sig[1].algorithm, "ed25519-sha256", sizeof(v->dkim.sig[1].algorithm));
	v->dkim.sig[2].result = AM_DKIM_PERMERROR;
	v->dkim.sig[2].key_not_found = true;
	v->dkim.sig[2].duplicated_suffix = true;
	am_strlcpy(v->dkim.sig[2].domain, "example.com", sizeof(v->dkim.sig[2].domain));
	am_strlcpy(v->dkim.sig[2].selector, "gone", sizeof(v->dkim.sig[2].selector));
	am_strlcpy(v->dkim.sig[2].algorithm, "rsa-sha256", sizeof(v->dkim.sig[2].algorithm));
	am_strlcpy(v->dkim.sig[2].reason, "key not found", sizeof(v->dkim.sig[2].reason));
	v->dmarc.result = AM_DMARC_PASS;
	v->dmarc.policy = AM_POLICY_NONE;
	v->dmarc.disposition = AM_POLICY_NONE;
	v->dmarc.adkim = 'r';
	v->dmarc.aspf = 's';
	v->dmarc.pct = 50;
	v->dmarc.record_found = true;
	v->dmarc.dkim_aligned = true;
	am_strlcpy(v->dmarc.record_domain, "example.com", sizeof(v->dmarc.record_domain));
	v->ses.is_ses = true;
	v->ses.default_mail_from = true;
	am_strlcpy(v->ses.region, "us-east-1", sizeof(v->ses.region));
	v->hints = (1u << AM_HINT_SES_DEFAULT_MAIL_FROM) | (1u << AM_HINT_DMARC_SINGLE_MECHANISM) |
	    (1u << AM_HINT_DMARC_POLICY_NONE) | (1u << AM_HINT_DKIM_KEY_NOT_FOUND) |
	    (1u << AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX);
}

static struct am_verdict *
roundtrip(const struct am_verdict *v)
{
	struct am_verdict *back = malloc(sizeof(*back));
	struct am_buf b;
	char err[256];
	bool ok;

	ck_assert(back != NULL);
	am_buf_init(&b);
	am_alignlog_render(v, &b);
	ck_assert(b.len > 0 && b.data[b.len - 1] == '\n');
	ok = am_alignlog_read(b.data, b.len - 1, back, err, sizeof(err));
	ck_assert_msg(ok, "the milter's own record refused: %s\n%s", err, b.data);
	am_buf_free(&b);
	return back;
}

START_TEST(record_roundtrip_ses)
{
	struct am_verdict v, *r;
	char f1[AM_REPORT_FIX_MAX], f2[AM_REPORT_FIX_MAX];
	unsigned h;
	size_t i;

	ses_verdict(&v);
	r = roundtrip(&v);
	ck_assert(r->ts == v.ts);
	ck_assert_str_eq(r->queue_id, "4Fx1");
	ck_assert_str_eq(r->client_ip, v.client_ip);
	ck_assert_str_eq(r->helo, v.helo);
	ck_assert_str_eq(r->mail_from, v.mail_from);
	ck_assert_str_eq(r->from_domain, "example.com");
	ck_assert_int_eq(r->spf.result, AM_SPF_PASS);
	ck_assert_str_eq(r->spf.domain, v.spf.domain);
	ck_assert(!r->spf.aligned);
	ck_assert_uint_eq(r->dkim.count, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(r->dkim.sig[i].result, v.dkim.sig[i].result);
		ck_assert_str_eq(r->dkim.sig[i].domain, v.dkim.sig[i].domain);
		ck_assert_str_eq(r->dkim.sig[i].selector, v.dkim.sig[i].selector);
		ck_assert_str_eq(r->dkim.sig[i].algorithm, v.dkim.sig[i].algorithm);
		ck_assert_int_eq(r->dkim.sig[i].aligned, v.dkim.sig[i].aligned);
		ck_assert_uint_eq(r->dkim.sig[i].keybits, v.dkim.sig[i].keybits);
	}
	ck_assert(r->dkim.sig[2].key_not_found && r->dkim.sig[2].duplicated_suffix);
	ck_assert(!r->dkim.sig[0].key_not_found);
	ck_assert_int_eq(r->dmarc.result, AM_DMARC_PASS);
	ck_assert_int_eq(r->dmarc.policy, AM_POLICY_NONE);
	ck_assert_int_eq(r->dmarc.aspf, 's');
	ck_assert_int_eq(r->dmarc.pct, 50);
	ck_assert(r->dmarc.record_found && r->dmarc.dkim_aligned && !r->dmarc.spf_aligned);
	ck_assert_str_eq(r->dmarc.record_domain, "example.com");
	ck_assert(r->ses.is_ses && r->ses.default_mail_from);
	ck_assert_str_eq(r->ses.region, "us-east-1");
	ck_assert_uint_eq(r->hints, v.hints);
	/* The report shows the very fix text and records the milter would give. */
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(v.hints & (1u << h)))
			continue;
		am_hint_fix(&v, (enum am_hint)h, f1, sizeof(f1));
		am_hint_fix(r, (enum am_hint)h, f2, sizeof(f2));
		ck_assert_msg(strcmp(f1, f2) == 0, "hint %s: fix \"%s\" read back as \"%s\"",
		    am_hint_name((enum am_hint)h), f1, f2);
		am_hint_records(&v, (enum am_hint)h, f1, sizeof(f1));
		am_hint_records(r, (enum am_hint)h, f2, sizeof(f2));
		ck_assert_msg(strcmp(f1, f2) == 0, "hint %s: records \"%s\" read back as \"%s\"",
		    am_hint_name((enum am_hint)h), f1, f2);
	}
	free(r);
}
END_TEST

/*
 * A broken signature for the From domain: "aligned":true with "result":
 * "fail" reads back as such, DMARC's view (aligned and passing) stays
 * false, and the new hint's fix names the reason the log kept.
 */
START_TEST(record_roundtrip_aligned_fail)
{
	struct am_verdict v, *r;
	char f1[AM_REPORT_FIX_MAX], f2[AM_REPORT_FIX_MAX];

	ses_verdict(&v);
	v.dkim.count = v.dkim.total = 1;
	v.dkim.sig[0].result = AM_DKIM_FAIL;
	am_strlcpy(v.dkim.sig[0].reason, "body hash mismatch", sizeof(v.dkim.sig[0].reason));
	v.spf.result = AM_SPF_FAIL;
	v.spf.aligned = true;
	am_strlcpy(v.spf.domain, "example.com", sizeof(v.spf.domain));
	v.dmarc.result = AM_DMARC_FAIL;
	v.dmarc.dkim_aligned = false;
	v.hints = (1u << AM_HINT_DKIM_ALIGNED_SIG_FAILED) | (1u << AM_HINT_DMARC_POLICY_NONE);
	r = roundtrip(&v);
	ck_assert(r->dkim.sig[0].aligned && r->dkim.sig[0].result == AM_DKIM_FAIL);
	ck_assert(r->spf.aligned && r->spf.result == AM_SPF_FAIL);
	ck_assert(!r->dmarc.dkim_aligned && !r->dmarc.spf_aligned);
	ck_assert_uint_eq(r->hints, v.hints);
	am_hint_fix(&v, AM_HINT_DKIM_ALIGNED_SIG_FAILED, f1, sizeof(f1));
	am_hint_fix(r, AM_HINT_DKIM_ALIGNED_SIG_FAILED, f2, sizeof(f2));
	ck_assert_str_eq(f1, f2);
	ck_assert_msg(strstr(f2, "d=example.com s=token1") != NULL && strstr(f2, "(body hash mismatch)") != NULL,
	    "%s", f2);
	free(r);
}
END_TEST

START_TEST(record_roundtrip_plain)
{
	struct am_verdict v, *r;
	char f1[AM_REPORT_FIX_MAX], f2[AM_REPORT_FIX_MAX];

	/* Null sender (HELO identity), no DKIM, no DMARC record, odd bytes in fields. */
	memset(&v, 0, sizeof(v));
	v.ts = 0;
	am_strlcpy(v.helo, "mx.\"quoted\"\\.example", sizeof(v.helo));
	am_strlcpy(v.queue_id, "q\x01\x7f\xff", sizeof(v.queue_id));
	am_strlcpy(v.from_domain, "other.example", sizeof(v.from_domain));
	v.spf.result = AM_SPF_SOFTFAIL;
	v.spf.helo_identity = true;
	am_strlcpy(v.spf.domain, "mx.example", sizeof(v.spf.domain));
	am_strlcpy(v.spf.reason, "not permitted", sizeof(v.spf.reason));
	v.dmarc.result = AM_DMARC_NONE;
	v.hints = 1u << AM_HINT_DMARC_NO_RECORD;
	r = roundtrip(&v);
	ck_assert(r->ts == 0);
	ck_assert_str_eq(r->helo, v.helo);
	/* Invalid UTF-8 was written as U+FFFD: read back as such. */
	ck_assert_str_eq(r->queue_id, "q\x01\x7f\xef\xbf\xbd");
	ck_assert(r->spf.helo_identity);
	ck_assert_int_eq(r->spf.result, AM_SPF_SOFTFAIL);
	ck_assert_uint_eq(r->dkim.count, 0);
	ck_assert(!r->dmarc.record_found);
	ck_assert_int_eq(r->dmarc.policy, AM_POLICY_UNSPEC);
	ck_assert(!r->ses.is_ses);
	am_hint_fix(&v, AM_HINT_DMARC_NO_RECORD, f1, sizeof(f1));
	am_hint_fix(r, AM_HINT_DMARC_NO_RECORD, f2, sizeof(f2));
	ck_assert_str_eq(f1, f2);
	free(r);
}
END_TEST

/* ---- record errors ------------------------------------------------------ */

#define GOOD_REST "\"spf\":{\"result\":\"pass\"},\"dkim\":[],\"dmarc\":{\"result\":\"none\"},\"hints\":[]"

static const struct {
	const char *line;
	const char *why;
} bad_records[] = {
	{ "[]", "object expected" },
	{ "{\"from_domain\":\"a.example\"," GOOD_REST "}", "ts: missing" },
	{ "{\"ts\":\"2026-11-27T05:00:00Z\"," GOOD_REST "}", "from_domain: missing" },
	{ "{\"ts\":\"2026-11-27T05:00:00Z\",\"from_domain\":\"a\",\"dkim\":[],\"dmarc\":{\"result\":\"none\"},"
	    "\"hints\":[]}", "spf: missing" },
	{ "{\"ts\":\"2026-11-27T05:00:00Z\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\"}}", "hints: missing" },
	{ "{\"ts\":\"2026-11-27T05:00:00Z\",\"from_domain\":\"a\",\"spf\":{},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[]}", "spf.result: missing" },
	{ "{\"ts\":\"2026-11-27\",\"ts\":\"2026-11-27\",\"from_domain\":\"a\"," GOOD_REST "}", "ts: duplicate key" },
	{ "{\"ts\":1795755600,\"from_domain\":\"a\"," GOOD_REST "}", "ts: string expected, got number" },
	{ "{\"ts\":\"2026-13-01T00:00:00Z\",\"from_domain\":\"a\"," GOOD_REST "}", "ts: not an ISO 8601" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":null," GOOD_REST "}", "from_domain: string expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"PASS\"},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[]}", "spf.result: unknown value" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\",\"aligned\":1},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[]}", "spf.aligned: boolean expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":{},"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[]}", "dkim: array expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[{\"domain\":\"a\"}],"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[]}", "dkim[].result: missing" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\",\"pct\":101},\"hints\":[]}", "dmarc.pct" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\",\"aspf\":\"x\"},\"hints\":[]}", "dmarc.aspf" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\"," GOOD_REST ",\"hints\":[]}", "hints: duplicate key" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[],"
	    "\"dmarc\":{\"result\":\"none\"},\"hints\":[1]}", "hints[]: string expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"ses\":[]," GOOD_REST "}", "ses: object expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"queue_id\":"
	    "\"0123456789012345678901234567890123456789012345678901234567890123456789\"," GOOD_REST "}",
	    "queue_id: longer than 63 bytes" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",", "not JSON" },
	/* author_domains (docs/alignment-log.md): strings, domains that fit, from_domain among them. */
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"author_domains\":\"a\"," GOOD_REST "}",
	    "author_domains: array expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"author_domains\":[\"a\",null]," GOOD_REST "}",
	    "author_domains[]: string expected" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"author_domains\":[\"a\",\"\"]," GOOD_REST "}",
	    "author_domains[]: empty" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"b.example\",\"author_domains\":[\"a.example\"]," GOOD_REST "}",
	    "from_domain: \"b.example\" is not one of author_domains" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"\",\"author_domains\":[\"a.example\"]," GOOD_REST "}",
	    "is not one of author_domains" },
	{ "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"author_domains\":[],\"author_domains\":[]," GOOD_REST "}",
	    "author_domains: duplicate key" },
};

START_TEST(record_errors)
{
	struct am_verdict *v = malloc(sizeof(*v));
	char err[256];
	size_t i;

	ck_assert(v != NULL);
	for (i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]); i++) {
		ck_assert_msg(!am_alignlog_read(bad_records[i].line, strlen(bad_records[i].line), v, err,
		    sizeof(err)), "record %zu accepted: %s", i, bad_records[i].line);
		ck_assert_msg(strstr(err, bad_records[i].why) != NULL, "record %zu: error \"%s\", want \"%s\"", i,
		    err, bad_records[i].why);
	}
	/* Unknown keys and hint names are a newer milter's, not errors. */
	{
		static const char rec[] = "{\"ts\":\"2026-11-27\",\"from_domain\":\"A.Example.\","
		    "\"new\":{\"x\":[1]},\"spf\":{\"result\":\"pass\",\"new\":1},\"dkim\":[],"
		    "\"dmarc\":{\"result\":\"none\"},\"hints\":[\"some-future-hint\",\"dmarc-no-record\"]}";

		ck_assert_msg(am_alignlog_read(rec, strlen(rec), v, err, sizeof(err)), "%s", err);
	}
	ck_assert_str_eq(v->from_domain, "a.example");
	ck_assert_uint_eq(v->hints, 1u << AM_HINT_DMARC_NO_RECORD);
	ck_assert(v->ts == 1795737600);
	free(v);
}
END_TEST

/* Random mutations of a real record: every outcome is defined, nothing crashes. */
START_TEST(record_fuzz)
{
	struct am_verdict *v = malloc(sizeof(*v)), sv;
	struct am_buf b, m;
	char err[256];
	unsigned seed = 12345, ok = 0, i, j;
	double t0 = now();

	ck_assert(v != NULL);
	ses_verdict(&sv);
	am_buf_init(&b);
	am_buf_init(&m);
	am_alignlog_render(&sv, &b);
	for (i = 0; i < 20000; i++) {
		am_buf_reset(&m);
		am_buf_add(&m, b.data, b.len - 1);
		for (j = 0; j < 1 + i % 4; j++) {
			size_t pos = (size_t)rand_r(&seed) % m.len;

			switch (rand_r(&seed) % 3) {
			case 0:	/* flip a byte */
				m.data[pos] = (char)rand_r(&seed);
				break;
			case 1:	/* cut */
				m.len = pos;
				break;
			default: { /* duplicate a piece (copied first: adding may move m.data) */
				char *piece = am_xstrndup(m.data + pos, (m.len - pos) / 2);

				am_buf_add(&m, piece, (m.len - pos) / 2);
				free(piece);
				break;
			}
			}
			if (m.len == 0)
				break;
		}
		if (am_alignlog_read(m.data, m.len, v, err, sizeof(err)))
			ok++;
		else
			ck_assert_msg(err[0] != '\0', "a refused record without a reason");
	}
	/* Some mutations (in a reason, a selector) leave a valid record. */
	ck_assert(ok > 0 && ok < 20000);
	ck_assert_msg(now() - t0 < 20.0, "fuzzing took %.1fs", now() - t0);
	am_buf_free(&b);
	am_buf_free(&m);
	free(v);
}
END_TEST

/* ---- ISO 8601 ----------------------------------------------------------- */

START_TEST(iso_times)
{
	static const struct { const char *s; long long t; } good[] = {
		{ "1970-01-01", 0 },
		{ "2026-11-27", 1795737600 },
		{ "2026-11-27T05:00:00Z", 1795755600 },
		{ "2026-11-27t05:00:00z", 1795755600 },
		{ "2026-11-27 05:00:00Z", 1795755600 },
		{ "2026-11-27T05:00:00.123Z", 1795755600 },
		{ "2026-11-27T05:00Z", 1795755600 },
		{ "2026-11-27T05:00:00", 1795755600 },
		{ "2026-11-27T06:00:00+01:00", 1795755600 },
		{ "2026-11-27T00:30:00-0430", 1795755600 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2000-03-01", 951868800 },
		{ "2100-03-01", 4107542400LL },
	};
	static const char *const bad[] = { "", "2026", "2026-11", "2026-11-27T", "2026-11-27T5:00:00Z",
		"2026-13-01", "2026-00-10", "2026-02-29", "2023-02-29", "2100-02-29", "2026-04-31",
		"2026-11-27T24:00:00Z", "2026-11-27T05:60:00Z", "2026-11-27T05:00:61Z", "2026-11-27T05:00:00Zx",
		"2026-11-27T05:00:00+25:00", "2026-11-27T05:00:00.Z", "1969-12-31", "26-11-27", "2026/11/27",
		"2026-11-27x", "yesterday", "2026-11-27T05:00:00 Z", "1970-01-01T00:00:00+01:00" };
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(am_alignlog_parse_time(good[i].s, &t), "%s refused", good[i].s);
		ck_assert_msg((long long)t == good[i].t, "%s = %lld, want %lld", good[i].s, (long long)t, good[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!am_alignlog_parse_time(bad[i], &t), "%s accepted", bad[i]);
	ck_assert(!am_alignlog_parse_time(NULL, &t));
}
END_TEST

/* ---- tallies ------------------------------------------------------------ */

START_TEST(report_counts)
{
	struct am_report r;
	struct am_verdict v;
	const struct am_rdomain **sorted;
	enum am_hint order[AM_HINT_COUNT];
	struct am_json_doc *doc;
	const struct am_json *d;
	struct am_buf b;
	char err[128];
	int i;

	am_report_init(&r);
	/* 4 SES messages: DKIM aligned; SPF passes unaligned; one has a failing extra sig. */
	for (i = 0; i < 4; i++) {
		ses_verdict(&v);
		v.ts += i;
		v.dkim.count = i == 3 ? 3 : 2;
		am_report_add(&r, &v);
	}
	/* 1 message from b.example failing all, newer policy reject, no SES. */
	memset(&v, 0, sizeof(v));
	v.ts = 1;
	am_strlcpy(v.from_domain, "b.example", sizeof(v.from_domain));
	v.spf.result = AM_SPF_FAIL;
	v.dkim.count = 1;
	v.dkim.sig[0].result = AM_DKIM_FAIL;
	v.dkim.sig[0].aligned = true;	/* aligned but not passing: aligned, not aligned pass */
	v.spf.aligned = true;		/* SPF fails for an aligned domain: the same */
	v.dmarc.result = AM_DMARC_FAIL;
	v.dmarc.record_found = true;
	v.dmarc.policy = AM_POLICY_REJECT;
	am_report_add(&r, &v);
	ck_assert_uint_eq(r.messages, 5);
	ck_assert_uint_eq(r.count, 2);
	sorted = am_report_sorted(&r);
	ck_assert_str_eq(sorted[0]->domain, "example.com");
	ck_assert_uint_eq(sorted[0]->messages, 4);
	ck_assert_uint_eq(sorted[0]->spf_pass, 4);
	ck_assert_uint_eq(sorted[0]->spf_aligned, 0);
	ck_assert_uint_eq(sorted[0]->spf_aligned_pass, 0);
	ck_assert_uint_eq(sorted[0]->dkim_pass, 4);
	ck_assert_uint_eq(sorted[0]->dkim_aligned, 4);
	ck_assert_uint_eq(sorted[0]->dkim_aligned_pass, 4);
	ck_assert_uint_eq(sorted[0]->dmarc_pass, 4);
	ck_assert_uint_eq(sorted[0]->ses, 4);
	ck_assert_uint_eq(sorted[0]->nregions, 1);
	ck_assert_uint_eq(sorted[0]->hints[AM_HINT_SES_DEFAULT_MAIL_FROM], 4);
	ck_assert(sorted[0]->fix[AM_HINT_SES_DEFAULT_MAIL_FROM] != NULL &&
	    strstr(sorted[0]->fix[AM_HINT_SES_DEFAULT_MAIL_FROM], "custom MAIL FROM"));
	ck_assert_str_eq(sorted[0]->records[AM_HINT_SES_DEFAULT_MAIL_FROM],
	    "mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"");
	ck_assert_uint_eq(am_rdomain_hints(sorted[0], order), 5);
	ck_assert_uint_eq(sorted[1]->dkim_aligned, 1);
	ck_assert_uint_eq(sorted[1]->dkim_aligned_pass, 0);
	ck_assert_uint_eq(sorted[1]->dkim_pass, 0);
	ck_assert_uint_eq(sorted[1]->spf_aligned, 1);
	ck_assert_uint_eq(sorted[1]->spf_aligned_pass, 0);
	ck_assert_uint_eq(sorted[1]->dmarc_pass, 0);
	ck_assert_int_eq(sorted[1]->policy, AM_POLICY_REJECT);
	free(sorted);

	/* The JSON, read back with our own reader: the fixed keys first, in order. */
	am_buf_init(&b);
	am_report_json(&r, &b);
	doc = am_json_parse(b.data, b.len, err, sizeof(err));
	ck_assert_msg(doc != NULL, "report JSON refused: %s\n%s", err, b.data);
	ck_assert_uint_eq(am_json_root(doc)->count, 1);
	d = am_json_member(am_json_root(doc), "domains")->child;
	{
		static const char *const keys[] = { "domain", "messages", "spf_pass", "spf_aligned",
			"dkim_pass", "dkim_aligned", "dmarc_pass", "hints" };
		const struct am_json *m = d->child;

		for (i = 0; i < 8; i++, m = m->next)
			ck_assert_str_eq(m->key, keys[i]);
	}
	ck_assert_str_eq(am_json_member(d, "domain")->str, "example.com");
	ck_assert(am_json_member(am_json_member(d, "hints"), "dkim-key-not-found")->num == 4.0);
	ck_assert(am_json_member(d, "messages")->num == 4.0);
	ck_assert(am_json_member(d, "spf_aligned")->num == 0.0);
	ck_assert(am_json_member(d, "dkim_aligned_pass")->num == 4.0);
	/* each fix's records as an array of zone-file lines */
	{
		const struct am_json *recs = am_json_member(am_json_member(d, "records"),
		    "ses-default-mail-from");

		ck_assert(recs != NULL && recs->type == AM_JSON_ARRAY && recs->count == 2);
		ck_assert_str_eq(recs->child->str,
		    "mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.");
		ck_assert_str_eq(recs->child->next->str,
		    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"");
		recs = am_json_member(am_json_member(d, "records"), "dmarc-policy-none");
		ck_assert(recs != NULL && recs->type == AM_JSON_ARRAY && recs->count == 0);
	}
	d = d->next;
	ck_assert(am_json_member(d, "dkim_aligned")->num == 1.0);
	ck_assert(am_json_member(d, "dkim_aligned_pass")->num == 0.0);
	am_json_free(doc);

	/*
	 * The text: three figures per mechanism; each record a line of its own
	 * at the left margin right after the fix's words, never inside them
	 * with escaped quotes.
	 */
	am_buf_reset(&b);
	am_report_text(&r, &b);
	ck_assert_msg(strstr(b.data, "  DKIM   pass 100.0% (4)   aligned 100.0% (4)   aligned pass 100.0% (4)\n")
	    != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, "  DKIM   pass   0.0% (0)   aligned 100.0% (1)   aligned pass   0.0% (0)\n")
	    != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, " publish its MX and SPF records\n"
	    "mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"\n") != NULL, "%s", b.data);
	ck_assert_msg(strchr(b.data, '\\') == NULL, "a backslash in the text: %s", b.data);
	am_buf_free(&b);
	am_report_free(&r);
}
END_TEST

START_TEST(rmap_many)
{
	struct am_rmap *m = am_rmap_new();
	char key[32];
	bool created;
	size_t i;

	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "d%zu.example", i);
		ck_assert_uint_eq(am_rmap_index(m, key, &created), i);
		ck_assert(created);
	}
	for (i = 0; i < 50000; i += 7) {
		snprintf(key, sizeof(key), "d%zu.example", i);
		ck_assert_uint_eq(am_rmap_index(m, key, &created), i);
		ck_assert(!created);
	}
	ck_assert_uint_eq(am_rmap_count(m), 50000);
	ck_assert_str_eq(am_rmap_key(m, 123), "d123.example");
	ck_assert(am_rmap_key(m, 50000) == NULL);
	am_rmap_free(m);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, json_valid_values);
	tcase_add_test(tc, json_invalid_vectors);
	tcase_add_test(tc, json_limits);
	tcase_add_test(tc, record_roundtrip_ses);
	tcase_add_test(tc, record_roundtrip_aligned_fail);
	tcase_add_test(tc, record_roundtrip_plain);
	tcase_add_test(tc, record_errors);
	tcase_add_test(tc, record_fuzz);
	tcase_add_test(tc, iso_times);
	tcase_add_test(tc, report_counts);
	tcase_add_test(tc, rmap_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
