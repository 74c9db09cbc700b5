/*
 * check_message.c - unit tests of message-ids.c and message.c:
 * the Authentication-Results authserv-id, the SES Feedback-ID region and
 * the split of a saved message, then all the message.h parsers on random
 * inputs.  The From parser has its own tests in check_from.c.  Hostile
 * inputs (deep nesting, megabytes of brackets, NUL, 8-bit) must give a
 * defined answer fast.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/message.h"

#define BIG	(1024 * 1024)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Authentication-Results authserv-id ------------------------------ */

static void
authres_is_n(const char *value, size_t len, const char *want, const char *label)
{
	char out[256];
	bool ok = am_authres_authserv_id(value, len, out, sizeof(out));

	if (want == NULL) {
		ck_assert_msg(!ok, "%s: got \"%s\", want none", label, out);
		ck_assert_str_eq(out, "");
	} else {
		ck_assert_msg(ok, "%s: none, want \"%s\"", label, want);
		ck_assert_msg(strcmp(out, want) == 0, "%s: \"%s\", want \"%s\"", label, out, want);
	}
}

static void
authres_is(const char *value, const char *want)
{
	authres_is_n(value, strlen(value), want, value);
}

START_TEST(authres_ids)
{
	authres_is("mx.example.net; spf=pass", "mx.example.net");
	authres_is(" (c) mx.example.net ;", "mx.example.net");
	authres_is("\tMX.Example.NET\r\n\t; dkim=pass", "MX.Example.NET");
	authres_is("\"mx.example.net\"; none", "mx.example.net");
	authres_is("mx.example.net 1; none", "mx.example.net");
	authres_is("mx.example.net", "mx.example.net");
	authres_is("mx.example.net;spf=pass", "mx.example.net");
	authres_is("mx.example.net(comment); spf=pass", "mx.example.net");
	authres_is("  \t mx.example.net\t\t;  ", "mx.example.net");
	authres_is("\r\n mx.example.net\r\n ; none", "mx.example.net");
	authres_is("\n\tmx.example.net\n\t1\n\t; none", "mx.example.net");
	authres_is("(a (nested) \\) c)\r\n (second) mx.example.net (after) ; none",
	    "mx.example.net");
	authres_is("\"mx\\.example.net\" ; none", "mx.example.net");
	authres_is(" \"mx.example.net\"(c);", "mx.example.net");
	authres_is("\"mx.\r\n example.net\"", "mx. example.net");
	authres_is("m\xc3\xbc.example.net; none", "m\xc3\xbc.example.net");
	authres_is("(unterminated comment", NULL);
	authres_is("(unterminated comment mx.example.net; none", NULL);
	authres_is("", NULL);
	authres_is(";", NULL);
	authres_is(" ; spf=pass", NULL);
	authres_is("(c)", NULL);
	authres_is("\"\"; none", NULL);
	authres_is("\r\n", NULL);
	authres_is("\r\nmx.example.net", NULL);		/* not a fold */
	/* NUL after the id makes it uncertain (a C-string reader stops there, others not) */
	authres_is_n("mx.example.net\0evil; none", 25, NULL, "NUL");
	authres_is_n("\0mx.example.net", 15, NULL, "leading NUL");
	/* len is honoured */
	authres_is_n("mx.example.netEVIL", 14, "mx.example.net", "len");
}
END_TEST

/*
 * RFC 8601 section 5: a field that claims our authserv-id, from outside
 * our trust boundary, MUST be deleted.  An id we cannot read with
 * certainty might be ours to another reader, so it is treated as ours.
 */
static void
ours_is_n(const char *value, size_t len, bool want, const char *label)
{
	ck_assert_msg(am_authres_maybe_ours(value, len, "mx.example.net") == want,
	    "%s: maybe_ours %d, want %d", label, !want, want);
}

static void
ours_is(const char *value, bool want)
{
	ours_is_n(value, strlen(value), want, value);
}

/* depth nested comments, then tail; its length */
static size_t
nested(char *v, size_t depth, const char *tail)
{
	memset(v, '(', depth);
	memset(v + depth, ')', depth);
	strcpy(v + 2 * depth, tail);
	return strlen(v);
}

START_TEST(authres_maybe_ours_fails_closed)
{
	char v[600];
	size_t n;

	/* 65 nested comments, one past AM_NEST_MAX, before our id or another */
	n = nested(v, 65, " mx.example.net; dmarc=pass");
	ours_is_n(v, n, true, "65 nested comments, our id");
	authres_is_n(v, n, NULL, "65 nested comments");
	n = nested(v, 65, " other.example; dmarc=pass");
	ours_is_n(v, n, true, "65 nested comments, other id");
	/* 64 are still read, and the id after them is known */
	n = nested(v, 64, " mx.example.net; dmarc=pass");
	ours_is_n(v, n, true, "64 nested comments, our id");
	n = nested(v, 64, " other.example; dmarc=pass");
	ours_is_n(v, n, false, "64 nested comments, other id");
	ours_is("(bare\rCR) mx.example.net; dmarc=pass", true);
	ours_is("(bare\rCR) other.example; dmarc=pass", true);
	ours_is("(bare\nLF) other.example; dmarc=pass", true);
	ours_is("(escaped \\\rCR) other.example; dmarc=pass", false);	/* obs-qp */
	ours_is("(unterminated mx.example.net; dmarc=pass", true);
	ours_is("(unterminated other.example; dmarc=pass", true);
	ours_is("mx.example.net.; dmarc=pass", true);
	ours_is("MX.Example.NET.; dmarc=pass", true);
	ours_is("mx.example.net..; dmarc=pass", false);
	/* RFC 8601 2.2: authserv-id [CFWS authres-version]; "/" ends the token, "/1" is garbage */
	ours_is("mx.example.net/1; dmarc=pass", true);
	authres_is("mx.example.net/1; dmarc=pass", NULL);
	ours_is("other.example/1; dmarc=pass", true);
	ours_is("mx.example.net 1; dmarc=pass", true);
	ours_is("mx.example.net (c) 1 (d) ; dmarc=pass", true);
	ours_is("other.example 1; dmarc=pass", false);
	ours_is("mx.example.net 1 2; dmarc=pass", true);
	ours_is("mx.example.net (unterminated; dmarc=pass", true);
	ours_is("mx.example.net\r; dmarc=pass", true);
	ours_is("mx.example.net!x; dmarc=pass", true);	/* a stricter reader stops at '!' */
	ours_is("mx.example.net.evil; dmarc=pass", false);
	ours_is("mx.example.netx; dmarc=pass", false);
	ours_is("\"mx.example.net; dmarc=pass", true);	/* unterminated quote */
	ours_is("\"mx.example.\rnet\"; dmarc=pass", true);
	ours_is_n("\"mx.example\0.net\"; dmarc=pass", 29, true, "NUL in quotes");
	ours_is_n("mx.example\0.net; dmarc=pass", 27, true, "NUL in token");
	ours_is("\"mx.example.net\"; dmarc=pass", true);
	ours_is("\"other.example\"; dmarc=pass", false);
	ours_is("", true);
	ours_is("; dmarc=pass", true);
	ours_is("\x01mx.example.net; dmarc=pass", true);
	/* well-formed fields of others stay, with or without results */
	ours_is("other.example; spf=pass smtp.mailfrom=other.example", false);
	ours_is(" (c) other.example\r\n\t; none", false);
	ours_is("other.example", false);
	/* one trailing dot of our own AuthservID is ignored too */
	ck_assert(am_authres_maybe_ours("mx.example.net; none", 20, "MX.example.net."));
	ck_assert(!am_authres_maybe_ours("mx.example.ne; none", 19, "mx.example.net"));
}
END_TEST

START_TEST(authres_limits)
{
	char out[8], *v;
	size_t i;
	double t0 = now();

	ck_assert(!am_authres_authserv_id("mx.example.net", 14, out, sizeof(out)));
	ck_assert_str_eq(out, "");
	ck_assert(am_authres_authserv_id("mx.exam", 7, out, sizeof(out)));
	ck_assert_str_eq(out, "mx.exam");
	ck_assert(!am_authres_authserv_id("mx.exam", 7, out, 0));
	ck_assert(!am_authres_authserv_id(NULL, 0, out, sizeof(out)));

	v = malloc(BIG + 32);
	ck_assert_ptr_nonnull(v);
	memset(v, '(', BIG);
	authres_is_n(v, BIG, NULL, "1 MB (");
	for (i = 0; i < 1000; i++)
		v[i] = '(', v[1000 + i] = ')';
	memcpy(v + 2000, "mx.example.net", 14);
	authres_is_n(v, 2014, NULL, "depth 1000");
	memset(v, ' ', BIG);
	memcpy(v + BIG, "mx.example.net", 14);
	authres_is_n(v, BIG + 14, "mx.example.net", "1 MB spaces");
	memset(v, 'a', BIG);
	authres_is_n(v, BIG, NULL, "1 MB id does not fit");
	free(v);
	ck_assert_msg(now() - t0 < 1.0, "took %.2f s", now() - t0);
}
END_TEST

/* ---- SES Feedback-ID ------------------------------------------------- */

static void
ses_is(const char *value, const char *want)
{
	char r[32];
	bool ok = am_ses_feedback_region(value, strlen(value), r, sizeof(r));

	if (want == NULL) {
		ck_assert_msg(!ok, "[%s]: got \"%s\", want none", value, r);
		ck_assert_str_eq(r, "");
	} else {
		ck_assert_msg(ok, "[%s]: none, want %s", value, want);
		ck_assert_str_eq(r, want);
	}
}

START_TEST(ses_region)
{
	char r[10];

	ses_is("1.us-east-1.KlNwjB4oB5rl1ks9jOHCPUGCzd9OGPDx+3NcGJZIBHk=:AmazonSES", "us-east-1");
	ses_is(" 1.eu-west-2.abc=:AmazonSES", "eu-west-2");
	ses_is("1.eu-central-1.abc=:amazonses", "eu-central-1");
	ses_is("1.ap-southeast-2.abc=:AMAZONSES\r\n", "ap-southeast-2");
	ses_is("1.us-gov-west-1.abc=:AmazonSES", "us-gov-west-1");
	ses_is("1.us-gov-1.abc=:AmazonSES", "us-gov-1");	/* [a-z]+ = gov */
	ses_is("::1.me-south-1.abc=:AmazonSES", "me-south-1");
	ses_is("1.il-central-1.a.b.c=:AmazonSES", "il-central-1");
	ses_is("1.us-east-1.abc=:Other", NULL);
	ses_is("1.us-east-1.abc=", NULL);
	ses_is("1.us-east-1.abc=:AmazonSESx", NULL);
	ses_is("1.US-EAST-1.abc=:AmazonSES", NULL);
	ses_is("1.us-east-12.abc=:AmazonSES", NULL);
	ses_is("1.us-east.abc=:AmazonSES", NULL);
	ses_is("1.use-east-1.abc=:AmazonSES", NULL);
	ses_is("1.u-east-1.abc=:AmazonSES", NULL);
	ses_is("1.us--1.abc=:AmazonSES", NULL);
	ses_is("1.us-gov--1.abc=:AmazonSES", NULL);
	ses_is("1.us-east-1-.abc=:AmazonSES", NULL);
	ses_is("us-east-1.abc=:AmazonSES", NULL);
	ses_is("x.us-east-1.abc=:AmazonSES", NULL);
	ses_is("1.us-east-1=:AmazonSES", NULL);
	ses_is("1.us-east-1.=:AmazonSES", "us-east-1");
	ses_is("1.us-east-1.:AmazonSES", NULL);
	ses_is(":AmazonSES", NULL);
	ses_is("AmazonSES", NULL);
	ses_is("", NULL);
	ses_is("   ", NULL);
	ck_assert(!am_ses_feedback_region("1.ap-southeast-2.x=:AmazonSES", 29, r, sizeof(r)));
	ck_assert(am_ses_feedback_region("1.us-east-1.x=:AmazonSES", 24, r, sizeof(r)));
	ck_assert_str_eq(r, "us-east-1");
	ck_assert(!am_ses_feedback_region("1.us-east-1.x\0=:AmazonSES", 25, r, 0));
	ck_assert(!am_ses_feedback_region(NULL, 0, r, sizeof(r)));
}
END_TEST

/* ---- message split --------------------------------------------------- */

#define MAXF	4096

struct fields {
	size_t	n;
	size_t	stop_after;	/* 0: never stop */
	const char *name[MAXF];
	size_t	namelen[MAXF];
	const char *value[MAXF];
	size_t	valuelen[MAXF];
};

static struct fields F;
static char err[256];
static size_t body;

static bool
collect(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	struct fields *f = arg;

	ck_assert_uint_lt(f->n, MAXF);
	f->name[f->n] = name;
	f->namelen[f->n] = namelen;
	f->value[f->n] = value;
	f->valuelen[f->n] = valuelen;
	f->n++;
	return f->stop_after == 0 || f->n < f->stop_after;
}

static bool
split_n(const char *buf, size_t len)
{
	memset(&F, 0, sizeof(F));
	strcpy(err, "untouched");
	body = 12345;
	return am_message_split(buf, len, collect, &F, &body, err, sizeof(err));
}

static bool
split(const char *buf)
{
	return split_n(buf, strlen(buf));
}

static void
field_is(size_t i, const char *name, const char *value, size_t valuelen)
{
	ck_assert_uint_gt(F.n, i);
	ck_assert_msg(F.namelen[i] == strlen(name) &&
	    memcmp(F.name[i], name, F.namelen[i]) == 0,
	    "field %zu name \"%.*s\", want \"%s\"", i, (int)F.namelen[i], F.name[i], name);
	ck_assert_msg(F.valuelen[i] == valuelen && memcmp(F.value[i], value, valuelen) == 0,
	    "field %zu value \"%.*s\" (%zu), want \"%s\"", i, (int)F.valuelen[i],
	    F.value[i], F.valuelen[i], value);
}

#define FIELD_IS(i, name, value) field_is((i), (name), (value), sizeof(value) - 1)

static void
split_fails(const char *buf, size_t len, const char *needle)
{
	ck_assert_msg(!split_n(buf, len), "accepted: %.*s", (int)len, buf);
	ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
}

START_TEST(split_crlf_and_lf)
{
	const char *m = "From: a@x.example\r\nSubject: hi\r\n there\r\n\tagain\r\n"
	    "To: b@y.example\r\n\r\nbody\r\n";
	const char *l = "From: a@x.example\nSubject: hi\n there\n\tagain\n"
	    "To: b@y.example\n\nbody\n";

	ck_assert(split(m));
	ck_assert_uint_eq(F.n, 3);
	FIELD_IS(0, "From", " a@x.example");
	FIELD_IS(1, "Subject", " hi\r\n there\r\n\tagain");
	FIELD_IS(2, "To", " b@y.example");
	ck_assert_str_eq(m + body, "body\r\n");

	ck_assert(split(l));
	ck_assert_uint_eq(F.n, 3);
	FIELD_IS(1, "Subject", " hi\n there\n\tagain");
	ck_assert_str_eq(l + body, "body\n");

	/* mixed line ends, each kept as it is */
	ck_assert(split("A: 1\r\n 2\n 3\r\nB:4\n\r\nrest"));
	FIELD_IS(0, "A", " 1\r\n 2\n 3");
	FIELD_IS(1, "B", "4");
	ck_assert_uint_eq(body, 19);
}
END_TEST

START_TEST(split_mbox_and_obsolete)
{
	const char *m = "From sender@x.example Mon Jan  1 00:00:00 2024\n"
	    "Return-Path: <sender@x.example>\nSubject : spaced\n\nbody";

	ck_assert(split(m));
	ck_assert_uint_eq(F.n, 2);
	FIELD_IS(0, "Return-Path", " <sender@x.example>");
	FIELD_IS(1, "Subject", " spaced");	/* WSP before ':' stripped from the name */
	ck_assert_str_eq(m + body, "body");

	/* "From :" is a field in the obsolete syntax, not an mbox line */
	ck_assert(split("From : a@x.example\nTo: b@y.example\n\n"));
	ck_assert_uint_eq(F.n, 2);
	FIELD_IS(0, "From", " a@x.example");
	ck_assert(split("From\t: a@x.example\n"));
	FIELD_IS(0, "From", " a@x.example");
	/* line numbers count the mbox line */
	split_fails("From x\nA: b\nbad\n\n", 17, "line 3 is not a header field");
	split_fails("From x\n", 7, "no header field");
	split_fails("From x\n\nbody", 12, "no header field");
	/* only the first line can be an mbox line */
	split_fails("A: b\nFrom x y\n\n", 15, "line 2 is not a header field");
}
END_TEST

START_TEST(split_bodies)
{
	const char *m;

	/* header only, with the empty line: no body */
	m = "A: b\r\n\r\n";
	ck_assert(split(m));
	ck_assert_uint_eq(body, strlen(m));
	/* no empty line: the message ends inside the header block */
	m = "A: b\r\nC: d";
	ck_assert(split(m));
	ck_assert_uint_eq(F.n, 2);
	FIELD_IS(1, "C", " d");
	ck_assert_uint_eq(body, strlen(m));
	m = "A: b\n c\n";
	ck_assert(split(m));
	FIELD_IS(0, "A", " b\n c");
	ck_assert_uint_eq(body, strlen(m));
	/* the body starts right after the empty line, even with WSP */
	m = "A:b\n\n body\n\nmore: x\n";
	ck_assert(split(m));
	ck_assert_uint_eq(F.n, 1);
	FIELD_IS(0, "A", "b");
	ck_assert_uint_eq(body, 5);
	/* empty value, and a whitespace-only continuation line */
	ck_assert(split("A:\nB: x\n \t\n y\n\n"));
	FIELD_IS(0, "A", "");
	FIELD_IS(1, "B", " x\n \t\n y");
	/* a bare CR stays inside the line */
	ck_assert(split("A: x\ry\r\n\r\n"));
	FIELD_IS(0, "A", " x\ry");
	/* NUL and 8-bit in values pass through */
	ck_assert(split_n("A: x\0y\xff\n\nb\0dy", 13));
	field_is(0, "A", " x\0y\xff", 5);
	ck_assert_uint_eq(body, 9);
}
END_TEST

START_TEST(split_errors)
{
	char small[8];

	split_fails("", 0, "empty message");
	ck_assert_uint_eq(body, 0);
	split_fails("\nbody", 5, "no header field");
	split_fails("\r\nbody\r\n", 8, "no header field");
	split_fails("hello world\nA: b\n\n", 18, "line 1 is not a header field");
	split_fails(" A: b\n\n", 7, "line 1 is not a header field");
	split_fails("A: b\nC: d\nnot a field\n\nbody", 27, "line 3 is not a header field");
	split_fails("Sub ject: x\n\n", 13, "line 1 is not a header field");
	split_fails("Subj\xe9: x\n\n", 10, "line 1 is not a header field");
	split_fails(": x\n\n", 5, "line 1 is not a header field");
	split_fails("A\0: x\n\n", 7, "line 1 is not a header field");
	split_fails("A: b\nC\n\n", 8, "line 2 is not a header field");
	ck_assert(!am_message_split(NULL, 0, collect, &F, &body, err, sizeof(err)));
	/* a short err buffer is truncated, not overrun */
	ck_assert(!am_message_split("x\n", 2, collect, &F, &body, small, sizeof(small)));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	/* NULL callback, err and body_off are allowed */
	ck_assert(am_message_split("A: b\n\n", 6, NULL, NULL, NULL, NULL, 0));
	ck_assert(!am_message_split("x\n", 2, NULL, NULL, NULL, NULL, 0));
	/* the callback can stop the walk */
	memset(&F, 0, sizeof(F));
	F.stop_after = 2;
	ck_assert(!am_message_split("A: 1\nB: 2\n 2\nC: 3\n\nbody", 23, collect, &F, &body,
	    err, sizeof(err)));
	ck_assert_uint_eq(F.n, 2);
	ck_assert_msg(strstr(err, "line 2") && strstr(err, "callback"), "err \"%s\"", err);
	ck_assert_uint_eq(body, 13);
}
END_TEST

START_TEST(split_big)
{
	size_t cap = 2 * BIG, n = 0, i;
	char *m = malloc(cap);
	double t0 = now();

	ck_assert_ptr_nonnull(m);
	/* one 300 KB header line */
	n = (size_t)sprintf(m, "X-Long: ");
	memset(m + n, 'a', 300000);
	n += 300000;
	n += (size_t)sprintf(m + n, "\r\nSubject: s\r\n\r\nbody");
	ck_assert(split_n(m, n));
	ck_assert_uint_eq(F.n, 2);
	ck_assert_uint_eq(F.valuelen[0], 300001);
	ck_assert_str_eq(m + body, "body");

	/* 300 KB folded into 3000 lines */
	n = (size_t)sprintf(m, "X-Folded:");
	for (i = 0; i < 3000; i++) {
		memset(m + n, 'b', 98);
		n += 98;
		n += (size_t)sprintf(m + n, "\r\n ");
	}
	n += (size_t)sprintf(m + n, "end\r\n\r\n");
	ck_assert(split_n(m, n));
	ck_assert_uint_eq(F.n, 1);
	ck_assert_uint_eq(F.valuelen[0], n - 9 - 4);
	ck_assert_uint_eq(body, n);

	/* 2000 fields */
	n = 0;
	for (i = 0; i < 2000; i++)
		n += (size_t)sprintf(m + n, "X-H%zu: v%zu\n", i, i);
	n += (size_t)sprintf(m + n, "\nbody");
	ck_assert(split_n(m, n));
	ck_assert_uint_eq(F.n, 2000);
	FIELD_IS(0, "X-H0", " v0");
	FIELD_IS(1999, "X-H1999", " v1999");
	ck_assert_str_eq(m + body, "body");

	/* a megabyte of empty-ish lines after one field: all continuation */
	n = (size_t)sprintf(m, "A: b\n");
	for (i = 0; i < BIG / 2; i++)
		m[n++] = ' ', m[n++] = '\n';
	ck_assert(split_n(m, n));
	ck_assert_uint_eq(F.n, 1);
	ck_assert_uint_eq(body, n);
	free(m);
	ck_assert_msg(now() - t0 < 1.0, "big messages took %.2f s", now() - t0);
}
END_TEST

/* ---- fuzz: all parsers on random inputs in exact-size heap buffers --- */

static bool
ignore_field(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	size_t *sum = arg;

	ck_assert_uint_ge(namelen, 1);
	*sum += namelen + valuelen + (size_t)(name[0] != 0) + (valuelen ? (size_t)value[0] : 0);
	return true;
}

/*
 * Random strings over the characters that steer the parsers; each goes
 * through every parser from a malloc'd buffer of exactly its length, so
 * under --enable-sanitizers any read past the end is caught.  The
 * checks are the invariants: OK always comes with a plausible domain.
 */
START_TEST(fuzz_all)
{
	static const char alphabet[] = "aZ9.@<>,;:()\\\"[] \t\r\n\r\n-_!\x80\xc3\xbc\xff\x01";
	unsigned seed = 12345;
	int iter;
	size_t sum = 0;

	for (iter = 0; iter < 30000; iter++) {
		size_t len, i, off;
		char *b, d[256], r[32];
		enum am_from_status st;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % 48;
		b = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(b);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (seed >> 16) % 64 < 4 ? '\0' :
			    alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		st = am_from_domain(b, len, d, sizeof(d));
		if (st == AM_FROM_OK) {
			ck_assert_uint_gt(strlen(d), 0);
			ck_assert_uint_le(strlen(d), 253);
			ck_assert_msg(strpbrk(d, "@<>()[]\" ,;:\\ \t\r\n!") == NULL, "domain \"%s\"", d);
			ck_assert_msg(d[0] != '.' && d[strlen(d) - 1] != '.', "domain \"%s\"", d);
		} else
			ck_assert_str_eq(d, "");
		if (am_authres_authserv_id(b, len, d, sizeof(d)))
			ck_assert_msg(strpbrk(d, "; \t\r\n(") == NULL ||
			    memchr(b, '"', len) != NULL, "id \"%s\"", d);
		(void)am_ses_feedback_region(b, len, r, sizeof(r));
		if (am_message_split(b, len, ignore_field, &sum, &off, d, sizeof(d)))
			ck_assert_uint_le(off, len);
		free(b);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("message");
	TCase *ta = tcase_create("authres");
	TCase *tm = tcase_create("split");
	SRunner *sr;
	int failed;

	tcase_add_test(ta, authres_ids);
	tcase_add_test(ta, authres_maybe_ours_fails_closed);
	tcase_add_test(ta, authres_limits);
	tcase_add_test(ta, ses_region);
	suite_add_tcase(s, ta);
	tcase_add_test(tm, split_crlf_and_lf);
	tcase_add_test(tm, split_mbox_and_obsolete);
	tcase_add_test(tm, split_bodies);
	tcase_add_test(tm, split_errors);
	tcase_add_test(tm, split_big);
	tcase_add_test(tm, fuzz_all);
	tcase_set_timeout(tm, 20);
	suite_add_tcase(s, tm);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
