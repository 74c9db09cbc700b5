/*
 * check_from.c - unit tests of message-from.c: the From-domain parser,
 * with the OpenDMARC and Mail::DMARC tables from TESTDATA_DIR/dmarc.
 * Hostile inputs (deep nesting, megabytes of brackets, NUL, 8-bit) must
 * give a defined answer fast.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/message.h"

#define BIG	(1024 * 1024)

static const char *
status_name(enum am_from_status st)
{
	switch (st) {
	case AM_FROM_OK:
		return "OK";
	case AM_FROM_MISSING:
		return "MISSING";
	case AM_FROM_MULTIPLE:
		return "MULTIPLE";
	case AM_FROM_NO_DOMAIN:
		return "NO_DOMAIN";
	}
	return "?";
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- From domain ----------------------------------------------------- */

/* Expect status st (and domain dom when st is OK) for value[0..len). */
static void
expect_from_n(const char *value, size_t len, enum am_from_status st, const char *dom,
    const char *label)
{
	char d[256];
	enum am_from_status got;

	memset(d, 'x', sizeof(d));
	got = am_from_domain(value, len, d, sizeof(d));
	ck_assert_msg(got == st, "%s: status %s, want %s", label, status_name(got),
	    status_name(st));
	if (st == AM_FROM_OK)
		ck_assert_msg(strcmp(d, dom) == 0, "%s: domain \"%s\", want \"%s\"", label, d, dom);
	else
		ck_assert_msg(d[0] == '\0', "%s: domain \"%s\" set on failure", label, d);
}

static void
expect_from(const char *value, enum am_from_status st, const char *dom)
{
	expect_from_n(value, strlen(value), st, dom, value);
}

static void
from_ok(const char *value, const char *dom)
{
	expect_from(value, AM_FROM_OK, dom);
}

static void
from_none(const char *value)
{
	expect_from(value, AM_FROM_NO_DOMAIN, NULL);
}

static void
from_multi(const char *value)
{
	expect_from(value, AM_FROM_MULTIPLE, NULL);
}

/* Open a test-data file; the test fails when it is missing. */
static FILE *
open_testdata(const char *rel)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", TESTDATA_DIR, rel);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	return fp;
}

/* Split line at tabs in place; returns the number of fields (at most max). */
static int
split_tabs(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

/*
 * OpenDMARC libopendmarc/tests/test_finddomain.c: n, raw From value,
 * domain.  Rows 7 and 8 hold two mailboxes; upstream takes the first, we
 * answer MULTIPLE (tests/message/DEVIATIONS.md).
 */
START_TEST(opendmarc_finddomain)
{
	FILE *fp = open_testdata("dmarc/opendmarc/finddomain.tsv");
	char line[4096], *f[4], d[256];
	int rows = 0, same = 0, dev = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		enum am_from_status st;
		int n;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_eq(split_tabs(line, f, 4), 3);
		n = atoi(f[0]);
		rows++;
		st = am_from_domain(f[1], strlen(f[1]), d, sizeof(d));
		if (n == 7 || n == 8) {
			ck_assert_msg(st == AM_FROM_MULTIPLE, "row %d [%s]: %s, want MULTIPLE",
			    n, f[1], status_name(st));
			dev++;
			continue;
		}
		ck_assert_msg(st == AM_FROM_OK && strcmp(d, f[2]) == 0,
		    "row %d [%s]: %s \"%s\", want \"%s\"", n, f[1], status_name(st), d, f[2]);
		same++;
	}
	fclose(fp);
	ck_assert_int_eq(rows, 13);
	printf("From-domain OpenDMARC finddomain: %d/%d as expected "
	    "(%d as upstream, %d documented deviations: two mailboxes -> MULTIPLE)\n",
	    same + dev, rows, same, dev);
	fflush(stdout);
}
END_TEST

/*
 * Mail::DMARC t/01.Policy.t: "[value]<TAB>expected<TAB>note"; empty
 * expected = no usable single domain.  A leading "From:" is the header
 * name and is stripped, as the milter never sees it in the value.
 */
START_TEST(maildmarc_from_domain)
{
	FILE *fp = open_testdata("dmarc/mail-dmarc/from_domain.tsv");
	char line[4096], *f[4], d[256];
	int rows = 0, good = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		enum am_from_status st;
		char *v, *close;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_ge(split_tabs(line, f, 4), 2);
		ck_assert_msg(f[0][0] == '[', "bad row %s", f[0]);
		v = f[0] + 1;
		close = strrchr(v, ']');
		ck_assert_ptr_nonnull(close);
		*close = '\0';
		if (strncasecmp(v, "From:", 5) == 0)
			v += 5;
		rows++;
		st = am_from_domain(v, strlen(v), d, sizeof(d));
		if (f[1][0] != '\0')
			ck_assert_msg(st == AM_FROM_OK && strcmp(d, f[1]) == 0,
			    "[%s]: %s \"%s\", want %s", v, status_name(st), d, f[1]);
		else
			ck_assert_msg(st != AM_FROM_OK, "[%s]: OK \"%s\", want none", v, d);
		good++;
	}
	fclose(fp);
	ck_assert_int_eq(rows, 10);
	printf("From-domain Mail::DMARC from_domain: %d/%d as expected\n", good, rows);
	fflush(stdout);
}
END_TEST

START_TEST(from_forms)
{
	from_ok("joe@joe.com", "joe.com");
	from_ok("Joe Johnson <joe@joe.com>", "joe.com");
	from_ok("\"Joe Johnson\" <joe@joe.com>", "joe.com");
	from_ok("Joe Q. Public <john.q.public@example.com>", "example.com");
	from_ok("=?utf-8?q?J=C3=B6rg?= <j@example.com>", "example.com");
	from_ok("<j@example.com>", "example.com");
	from_ok("  <j@example.com>  ", "example.com");
	from_ok("< j @ example . com >", "example.com");	/* obs CFWS everywhere */
	from_ok("j(c)@(c)example(c).(c)com(c)", "example.com");
	from_ok("\"a@b.example\"@c.example", "c.example");	/* quoted local with '@' */
	from_ok("\"quoted \\\" escape\" <j@example.com>", "example.com");
	from_ok("\"back\\\\slash\" <j@example.com>", "example.com");
	from_ok("\"a\\\"@evil.example\" <j@example.com>", "example.com");
	from_ok("first.last@example.com", "example.com");
	from_ok("first.@docomo.ne.jp", "docomo.ne.jp");	/* obs local-part */
	from_ok("J@EXAMPLE.COM", "example.com");
	from_ok("j@Example.Com.", "example.com");		/* trailing dot */
	from_ok("<j@example.com.>", "example.com");
	from_ok("j@exa_mple.example", "exa_mple.example");
	from_ok("j@localhost", "localhost");
	from_ok(", j@example.com ,,", "example.com");	/* obs-mbox-list */
	/* lenient: display name before a bare addr-spec */
	from_ok("\"Johnson, Joe <joe@joe.com>\" joe@evil.example", "evil.example");
	from_ok("Joe Johnson joe@joe.com", "joe.com");
	/* lenient: balanced redundant brackets around one address */
	from_ok("<<<><joe@joe.com>>>", "joe.com");
	from_ok("<<j@example.com>>", "example.com");
}
END_TEST

START_TEST(from_comments_and_folds)
{
	from_ok("(Joe Johnson) joe@joe.com", "joe.com");
	from_ok("(,) joe@joe.com", "joe.com");
	from_ok("(a (nested (deeper)) \\) b) joe@joe.com (trailing)", "joe.com");
	from_ok("(\"<x@evil.example>\") joe@joe.com", "joe.com");
	from_ok("Joe\r\n Johnson\r\n\t<joe@joe.com>", "joe.com");
	from_ok("Joe\n Johnson\n <joe@joe.com>", "joe.com");
	from_ok("\"Joe\r\n Johnson\" <joe@joe.com>", "joe.com");
	from_ok("(folded\r\n comment) joe@joe.com", "joe.com");
	from_ok("joe@joe.com\r\n", "joe.com");		/* a final line end */
	from_none("Joe\nJohnson <joe@joe.com>");	/* LF not followed by WSP */
	from_none("Joe\r\nJohnson <joe@joe.com>");
	from_none("Joe\rJohnson <joe@joe.com>");	/* bare CR */
	from_none("joe@joe.com\r");
	from_none("(unterminated joe@joe.com");
	from_none("joe@joe.com (unterminated");
	from_none(") joe@joe.com");
	from_none("(a \\");
	from_none("\"unterminated <joe@joe.com>");
	from_none("\\joe@joe.com");
}
END_TEST

START_TEST(from_groups_and_routes)
{
	from_none("undisclosed: ;");
	from_none("undisclosed-recipients:;");
	from_ok("grp: a@x.example;", "x.example");
	from_ok("grp: a@x.example; ", "x.example");
	from_ok("grp: (c) a@x.example (c) ; (c)", "x.example");
	from_ok("grp: a@x.example", "x.example");	/* ';' missing at the end */
	from_ok("Mail From:<joe@joe.com>", "joe.com");
	from_ok("From: Davide D'Marco <user@blah.com>", "blah.com");
	from_ok("g1: a@x.example;, g2: ;", "x.example");
	from_ok("g1: ;, a@x.example", "x.example");
	from_multi("grp: a@x.example, b@y.example;");
	from_multi("grp: a@x.example;, b@y.example");
	from_none("g: h: a@x.example;");		/* groups do not nest */
	from_none("g: h: a@x.example;;");
	from_none("<>, a@x.example");			/* a null address is no mailbox */
	from_none("grp:;a@x.example");			/* no comma after the group */
	from_none(": a@x.example;");			/* group without a name */
	from_none("a@x.example;");			/* ';' outside a group */
	from_ok("<@a.example,@b.example:user@dom.example>", "dom.example");
	from_ok("Joe <@a.example, ,@b.example: user@Dom.Example>", "dom.example");
	from_ok("<@[192.0.2.1]:u@d.example>", "d.example");
	from_ok("<,@a.example:u@d.example>", "d.example");
	from_none("<@a.example:>");
	from_none("<@a.example u@d.example>");
	from_none("<@x.example>");
	from_none("@x.example");
}
END_TEST

START_TEST(from_refusals)
{
	from_none("");
	from_none("   ");
	from_none("(just a comment)");
	from_none("<>");
	from_none("From: <>");
	from_none("From: \"Test 1.1.5\"");
	from_none("Joe Johnson");
	from_none("a@b@c");
	from_none("a@b@c.example");
	from_none("joe@joe.com garbage");
	from_none("<joe@joe.com> garbage");
	from_none("<joe@joe.com>>");
	from_none("joe@joe.com>");
	from_none("<joe@joe.com");
	from_none("joe@joe.com)");
	from_none("<a@x.example><b@y.example>");
	from_none("<<a@x.example><b@y.example>>");
	from_none("Smith, Joe <j@example.com>");		/* unquoted comma */
	from_none("j@[192.0.2.1]");			/* domain-literal */
	from_none("j@[IPv6:2001:db8::1]");
	from_none("Joe <j@[192.0.2.1]>");
	from_none("j@.example.com");
	from_none("j@example..com");
	from_none("j@example.com..");
	from_none("j@");
	from_none("j@\"quoted.example\"");
	from_none("j@exa!mple.com");			/* atext, but no host name */
	from_none("j@exa$mple.com");
	from_none("j@x\x01.example");			/* control character */
	from_none("j@x.example\x7f");
	from_none("j@x\x7f.example");
	/* two or more mailboxes, whatever their domains */
	from_multi("a@x.example, b@x.example");
	from_multi("Joe Johnson <joe@joe.com>, ace@ace.com");
	from_multi("a@[192.0.2.1], b@x.example");
	from_multi("a@x.example, b@x.example, c@x.example");
}
END_TEST

START_TEST(from_lengths)
{
	char v[600], label[300];
	char d[16];
	size_t i;

	/* label of 63 octets is fine, 64 is not */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(v, sizeof(v), "j@%s.example", label);
	expect_from(v, AM_FROM_OK, v + 2);
	snprintf(v, sizeof(v), "j@a%s.example", label);
	from_none(v);
	/* total 253 is fine, 254 is not */
	strcpy(v, "j@");
	for (i = 0; i < 3; i++)
		strcat(v, label), strcat(v, ".");
	strcat(v, "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy"); /* 61 */
	ck_assert_uint_eq(strlen(v + 2), 253);
	expect_from(v, AM_FROM_OK, v + 2);
	strcpy(label, v + 2);
	strcat(v, ".");			/* a trailing dot does not count */
	expect_from(v, AM_FROM_OK, label);
	v[strlen(v) - 1] = 'z';
	ck_assert_uint_eq(strlen(v + 2), 254);
	from_none(v);
	/* a buffer too small gives no domain, never a truncated one */
	memset(d, 'x', sizeof(d));
	ck_assert_int_eq(am_from_domain("j@example.com", 13, d, 5), AM_FROM_NO_DOMAIN);
	ck_assert_str_eq(d, "");
	ck_assert_int_eq(am_from_domain("j@example.com", 13, d, 11), AM_FROM_NO_DOMAIN);
	ck_assert_int_eq(am_from_domain("j@example.com", 13, d, 12), AM_FROM_OK);
	ck_assert_str_eq(d, "example.com");
	/* status only */
	ck_assert_int_eq(am_from_domain("j@example.com", 13, NULL, 0), AM_FROM_OK);
	ck_assert_int_eq(am_from_domain(NULL, 0, d, sizeof(d)), AM_FROM_NO_DOMAIN);
	/* len is honoured: the rest of the C string is not read */
	expect_from_n("j@example.com, k@evil.example", 13, AM_FROM_OK, "example.com", "len");
	expect_from_n("j@example.comevil", 13, AM_FROM_OK, "example.com", "len2");
}
END_TEST

START_TEST(from_nul_and_8bit)
{
	/* NUL anywhere in the value refuses it */
	expect_from_n("joe@joe.com\0", 12, AM_FROM_NO_DOMAIN, NULL, "trailing NUL");
	expect_from_n("joe@joe.com\0, b@evil.example", 28, AM_FROM_NO_DOMAIN, NULL, "NUL list");
	expect_from_n("j@x.c\0om", 8, AM_FROM_NO_DOMAIN, NULL, "NUL in domain");
	expect_from_n("Jo\0e <j@x.example>", 18, AM_FROM_NO_DOMAIN, NULL, "NUL in name");
	expect_from_n("\"Jo\0e\" <j@x.example>", 20, AM_FROM_NO_DOMAIN, NULL, "NUL in quotes");
	expect_from_n("(Jo\0e) <j@x.example>", 20, AM_FROM_NO_DOMAIN, NULL, "NUL in comment");
	expect_from_n("\0", 1, AM_FROM_NO_DOMAIN, NULL, "NUL");
	/* 8-bit display names and UTF-8 (RFC 6532) domains */
	from_ok("J\xc3\xb6rg <j@example.com>", "example.com");
	from_ok("\"J\xc3\xb6rg\" <j@example.com>", "example.com");
	from_ok("J\xf6rg <j@example.com>", "example.com");	/* Latin-1 name: only display */
	/* UTF-8 domains come back as A-labels (RFC 8616), mapped per UTS 46 */
	from_ok("j@b\xc3\xbc" "cher.de", "xn--bcher-kva.de");
	from_ok("j@B\xc3\x9c" "CHER.DE", "xn--bcher-kva.de");
	from_ok("j@xn--bcher-kva.de", "xn--bcher-kva.de");
	from_ok("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8",
	    "xn--fsqu00a.xn--55qx5d");
	from_none("j@\xe2\x98\x83\xe2\x80\x8d.example");	/* IDNA2008 refuses a ZWJ here */
	from_ok("j@xn--bcher-kva.example", "xn--bcher-kva.example");
	from_none("j@b\xfc" "cher.de");		/* Latin-1, not UTF-8 */
	from_none("j@\xc0\xae.example");		/* overlong */
	from_none("j@\xed\xa0\x80.example");		/* surrogate */
	from_none("j@\xf4\x90\x80\x80.example");	/* past U+10FFFF */
	from_none("j@\xc2\x85.example");		/* C1 control NEL */
	from_none("j@\xe4\xbe.example");		/* truncated sequence */
	from_none("j@\xff.example");
}
END_TEST

/* Hostile sizes: a defined answer, linear time, no deep stack. */
START_TEST(from_hostile)
{
	char *v = malloc(BIG + 64);
	size_t i, n;
	double t0 = now();

	ck_assert_ptr_nonnull(v);
	/* depth 64 is followed, 65 and 1000 are refused */
	for (n = 0; n < 64; n++)
		v[n] = '(';
	for (i = 0; i < 64; i++)
		v[n++] = ')';
	memcpy(v + n, " j@x.example", 12);
	expect_from_n(v, n + 12, AM_FROM_OK, "x.example", "depth 64");
	for (n = 0; n < 1000; n++)
		v[n] = '(';
	for (i = 0; i < 1000; i++)
		v[n++] = ')';
	memcpy(v + n, " j@x.example", 12);
	expect_from_n(v, n + 12, AM_FROM_NO_DOMAIN, NULL, "depth 1000");
	/* a megabyte of '(' / ')' / '<' / '"' / '\' */
	memset(v, '(', BIG);
	expect_from_n(v, BIG, AM_FROM_NO_DOMAIN, NULL, "1 MB (");
	memset(v, ')', BIG);
	expect_from_n(v, BIG, AM_FROM_NO_DOMAIN, NULL, "1 MB )");
	memset(v, '<', BIG);
	expect_from_n(v, BIG, AM_FROM_NO_DOMAIN, NULL, "1 MB <");
	memset(v, '"', BIG);
	expect_from_n(v, BIG, AM_FROM_NO_DOMAIN, NULL, "1 MB \"");
	memset(v, '\\', BIG);
	expect_from_n(v, BIG, AM_FROM_NO_DOMAIN, NULL, "1 MB \\");
	/* alternating open/close at depth 1: long but valid */
	for (i = 0; i + 1 < BIG; i += 2)
		v[i] = '(', v[i + 1] = ')';
	memcpy(v + BIG, " j@x.example", 12);
	expect_from_n(v, BIG + 12, AM_FROM_OK, "x.example", "1 MB ()");
	/* a megabyte display name, then the address */
	for (i = 0; i + 1 < BIG; i += 2)
		v[i] = 'a', v[i + 1] = ' ';
	memcpy(v + BIG, "<j@x.example>", 13);
	expect_from_n(v, BIG + 13, AM_FROM_OK, "x.example", "1 MB name");
	/* a megabyte of empty list elements */
	memset(v, ',', BIG);
	memcpy(v + BIG, "j@x.example", 11);
	expect_from_n(v, BIG + 11, AM_FROM_OK, "x.example", "1 MB ,");
	/* a megabyte of folds */
	for (i = 0; i + 2 < BIG; i += 3)
		v[i] = '\r', v[i + 1] = '\n', v[i + 2] = ' ';
	memcpy(v + i, "j@x.example", 11);
	expect_from_n(v, i + 11, AM_FROM_OK, "x.example", "1 MB folds");
	/* a megabyte domain */
	memcpy(v, "j@", 2);
	for (i = 2; i + 1 < BIG; i += 2)
		v[i] = 'a', v[i + 1] = '.';
	v[i++] = 'a';
	expect_from_n(v, i, AM_FROM_NO_DOMAIN, NULL, "1 MB domain");
	/* a megabyte of mailboxes */
	for (i = 0; i + 6 <= BIG; i += 6)
		memcpy(v + i, "a@b.c,", 6);
	expect_from_n(v, i, AM_FROM_MULTIPLE, NULL, "1 MB list");
	/* every byte value as a one-byte value, and after an address */
	for (i = 0; i < 256; i++) {
		char b[32];
		enum am_from_status st;

		b[0] = (char)i;
		st = am_from_domain(b, 1, v, 256);
		ck_assert_int_ne(st, AM_FROM_OK);
		memcpy(b, "j@x.example", 11);
		b[11] = (char)i;
		st = am_from_domain(b, 12, v, 256);
		ck_assert_int_ne(st, AM_FROM_MISSING);
	}
	free(v);
	ck_assert_msg(now() - t0 < 1.5, "hostile From inputs took %.2f s", now() - t0);
}
END_TEST

/* ---- every author domain of a broken From (am_from_authors_add) ------- */

/*
 * One message's From field(s), what a lenient reader takes as its author
 * domains.  RFC 5322 3.6.2 allows one From field, 3.4 a mailbox-list in
 * it; RFC 7489 6.6.1 and RFC 9989 (draft-41) 11.5 let a receiver
 * evaluate every author domain (a few: the cap) and apply the strictest,
 * and 5.3.1 extracts the domain as an A-label.  The strict reader
 * refuses most of these, which left them outside DMARC.
 */
struct authors_row {
	const char *field[3];	/* NULL-terminated */
	const char *domains;	/* expected, "," separated, in order */
	bool	over, incomplete;
	const char *why;
};

static const struct authors_row authors_rows[] = {
	{ { "PayPal, Inc. <service@paypal.com>" }, "paypal.com", false, false,
	  "RFC 5322 3.2.5: ',' is no phrase character; a client still shows the address" },
	{ { " <service@paypal.com> (PayPal" }, "paypal.com", false, false,
	  "RFC 5322 3.2.2: unterminated comment after the address" },
	{ { "a@x.example, b@y.example" }, "x.example,y.example", false, false,
	  "RFC 5322 3.6.2: a mailbox-list of two authors" },
	{ { "a@x.example", "b@Y.Example." }, "x.example,y.example", false, false,
	  "RFC 5322 3.6: two From fields; case and trailing dot cleaned" },
	{ { "a@X.example, b@x.EXAMPLE", "c@x.example" }, "x.example", false, false,
	  "distinct domains, case-insensitive" },
	{ { "PayPal <service@paypal.com" }, "paypal.com", false, false, "missing '>'" },
	{ { "PayPal,\r\n Inc. <service@paypal.com>" }, "paypal.com", false, false, "folded" },
	{ { "<@relay.example,@r2.example:joe@x.example>" }, "x.example", false, false,
	  "RFC 5322 4.4 obs-route: route domains are no authors" },
	{ { "undisclosed: a@x.example, b@y.example;" }, "x.example,y.example", false, false,
	  "RFC 5322 3.4 group" },
	{ { "joe (c) @ paypal (x) . com, b@y.example" }, "paypal.com,y.example", false, false,
	  "RFC 5322 4.4 obs-local-part/obs-domain: CFWS around '@' and '.'" },
	{ { "\"j d\"@x.example, b@y.example" }, "x.example,y.example", false, false,
	  "RFC 5322 3.4.1 quoted local-part" },
	{ { "\"service@paypal.com\" <joe@evil.example>, b@y.example" }, "evil.example,y.example",
	  false, false, "an address in a quoted display name is display text (RFC 9989 11.4)" },
	{ { "joe@evil.example (service@paypal.com" }, "evil.example", false, false,
	  "an address in a comment is display text" },
	{ { "\"PayPal <service@paypal.com>" }, "", false, false,
	  "unterminated quote: the rest is its text, no author" },
	{ { "(PayPal <service@paypal.com>" }, "", false, false,
	  "unterminated comment: no author" },
	{ { "a@b\xc3\xbc" "cher.example, b@x.example" }, "xn--bcher-kva.example,x.example", false, false,
	  "RFC 9989 5.3.1 / RFC 8616: U-label to A-label" },
	{ { "a@[192.0.2.1], b@x.example" }, "x.example", false, true,
	  "RFC 5322 3.4.1 domain-literal: no DNS domain" },
	{ { "a@exa!mple.com, b@x.example" }, "x.example", false, true, "not a plausible DNS name" },
	{ { "a@, b@x.example" }, "x.example", false, true, "an address without a domain" },
	{ { "a@x..example, b@x.example" }, "x.example", false, true, "an empty label" },
	{ { "@x.example" }, "", false, false, "no local-part: no address" },
	{ { "a@a.example, b@b.example, c@c.example, d@d.example, e@e.example" },
	  "a.example,b.example,c.example,d.example,e.example", false, false, "five: the cap" },
	{ { "a@a.example, b@b.example, c@c.example", "d@d.example, e@e.example, f@f.example" },
	  "a.example,b.example,c.example,d.example,e.example", true, false, "six: over the cap" },
	{ { "" }, "", false, false, "empty" },
};

static void
authors_check(const struct am_from_authors *a, const char *domains, bool over, bool incomplete,
    const char *label)
{
	char got[AM_FROM_DOMAINS_MAX * AM_DOMAIN_MAX] = "";
	unsigned i;

	for (i = 0; i < a->n; i++) {
		if (i > 0)
			strcat(got, ",");
		strcat(got, a->domain[i]);
	}
	ck_assert_msg(strcmp(got, domains) == 0 && a->over == over && a->incomplete == incomplete,
	    "%s: domains \"%s\" over %d incomplete %d, want \"%s\" %d %d", label, got, a->over,
	    a->incomplete, domains, over, incomplete);
}

START_TEST(from_authors_table)
{
	size_t i, j;

	for (i = 0; i < sizeof(authors_rows) / sizeof(authors_rows[0]); i++) {
		const struct authors_row *r = &authors_rows[i];
		struct am_from_authors a;

		am_from_authors_init(&a);
		for (j = 0; j < 3 && r->field[j] != NULL; j++)
			am_from_authors_add(&a, r->field[j], strlen(r->field[j]));
		authors_check(&a, r->domains, r->over, r->incomplete, r->why);
	}
}
END_TEST

/* Bounds: never past len, NUL refused, the address cap, hostile sizes fast. */
START_TEST(from_authors_bounds)
{
	char *v = malloc(BIG + 64);
	struct am_from_authors a;
	size_t i;
	double t0 = now();

	ck_assert_ptr_nonnull(v);
	/* len ends the value: the bytes after it are not read */
	am_from_authors_init(&a);
	am_from_authors_add(&a, "a@x.examplezzz.invalid", 11);
	authors_check(&a, "x.example", false, false, "len");
	/* NUL: the value is refused whole, the set incomplete; other fields still count */
	am_from_authors_init(&a);
	am_from_authors_add(&a, "a@x.example", 11);
	am_from_authors_add(&a, "b@paypal.com\0c@y.example", 24);
	authors_check(&a, "x.example", false, true, "NUL");
	/* 64 addresses of one domain are fine, the 65th is too many */
	for (i = 0; i < 64; i++)
		memcpy(v + 6 * i, "a@b.c,", 6);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, 6 * 64);
	authors_check(&a, "b.c", false, false, "64 addresses");
	am_from_authors_add(&a, "a@b.c", 5);
	authors_check(&a, "b.c", true, false, "65 addresses");
	/* a domain past 253 octets */
	memcpy(v, "a@", 2);
	for (i = 2; i < 2 + 300; i++)
		v[i] = (i % 10 == 0) ? '.' : 'a';
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, 302);
	authors_check(&a, "", false, true, "300-octet domain");
	/* megabytes: of '(' / '"' / '@' / '\' / a list / one domain */
	memset(v, '(', BIG);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, BIG);
	authors_check(&a, "", false, false, "1 MB (");
	memset(v, '"', BIG);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, BIG);
	authors_check(&a, "", false, false, "1 MB \"");
	memset(v, '@', BIG);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, BIG);
	authors_check(&a, "", false, false, "1 MB @");
	memset(v, '\\', BIG);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, BIG);
	authors_check(&a, "", false, false, "1 MB \\");
	for (i = 0; i + 6 <= BIG; i += 6)
		memcpy(v + i, "a@b.c,", 6);
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, i);
	authors_check(&a, "b.c", true, false, "1 MB list");
	memcpy(v, "j@", 2);
	for (i = 2; i + 1 < BIG; i += 2)
		v[i] = 'a', v[i + 1] = '.';
	am_from_authors_init(&a);
	am_from_authors_add(&a, v, i);
	authors_check(&a, "", false, true, "1 MB domain");
	free(v);
	ck_assert_msg(now() - t0 < 1.5, "hostile From inputs took %.2f s", now() - t0);
}
END_TEST

/* Where the strict reader finds one domain, the lenient one finds it alone. */
START_TEST(from_authors_agree_with_strict)
{
	FILE *fp = open_testdata("dmarc/opendmarc/finddomain.tsv");
	char line[4096], *f[4], d[256];
	int rows = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		struct am_from_authors a;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_eq(split_tabs(line, f, 4), 3);
		if (am_from_domain(f[1], strlen(f[1]), d, sizeof(d)) != AM_FROM_OK)
			continue;
		am_from_authors_init(&a);
		am_from_authors_add(&a, f[1], strlen(f[1]));
		authors_check(&a, d, false, false, f[1]);
		rows++;
	}
	fclose(fp);
	ck_assert_int_gt(rows, 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("from");
	TCase *tf = tcase_create("from");
	SRunner *sr;
	int failed;

	tcase_add_test(tf, opendmarc_finddomain);
	tcase_add_test(tf, maildmarc_from_domain);
	tcase_add_test(tf, from_forms);
	tcase_add_test(tf, from_comments_and_folds);
	tcase_add_test(tf, from_groups_and_routes);
	tcase_add_test(tf, from_refusals);
	tcase_add_test(tf, from_lengths);
	tcase_add_test(tf, from_nul_and_8bit);
	tcase_add_test(tf, from_hostile);
	tcase_add_test(tf, from_authors_table);
	tcase_add_test(tf, from_authors_bounds);
	tcase_add_test(tf, from_authors_agree_with_strict);
	tcase_set_timeout(tf, 20);
	suite_add_tcase(s, tf);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
