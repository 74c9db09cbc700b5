/*
 * check_respond.c - unit tests of alignmilter-respond's decisions
 * (tools/respond/respond-rules.c, respond-rate.c): the probe address and
 * its "LOCAL=DOMAIN" extension, the mailbox syntax (RFC 5321 4.1.2), the
 * authentication test of a reply domain (issue 17), the loop guards
 * (RFC 3834 sections 2 and 5, RFC 5230 4.6, RFC 2369, RFC 2919) and the
 * rate limiter's state file (limits, window, restarts, concurrent
 * processes, a corrupt file, the size bound).  Table-driven: one row per
 * rule, the rule's source in the row's comment.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/respond/respond.h"

#include "testutil.h"

#define PROBE	"check@mx.example.net"

/* ---- the probe address --------------------------------------------------- */

static const struct {
	const char *rcpt, *delims;
	bool	match;
	const char *encoded;
} probes[] = {
	{ "check@mx.example.net", "+", true, "" },
	{ "CHECK@MX.Example.NET", "+", true, "" },		/* Postfix folds case in lookups */
	{ "check@mx.example.net.", "+", true, "" },		/* one root dot */
	{ "check+tag@mx.example.net", "+", true, "" },		/* extension, no '=' */
	{ "check+@mx.example.net", "+", true, "" },
	{ "check+jsmith=example.com@mx.example.net", "+", true, "jsmith@example.com" },
	{ "check+JSmith=Example.COM@mx.example.net", "+", true, "JSmith@example.com" }, /* RFC 5321 2.4 */
	{ "check-jsmith=example.com@mx.example.net", "+-", true, "jsmith@example.com" },
	{ "check-jsmith=example.com@mx.example.net", "+", false, "" },
	{ "check+jo-smith=example.com@mx.example.net", "+-", true, "jo-smith@example.com" }, /* first delimiter */
	{ "check+a=b=example.com@mx.example.net", "+", true, "a=b@example.com" }, /* '=' is atext */
	{ "check+jsmith=mail.example.co.uk@mx.example.net", "+", true, "jsmith@mail.example.co.uk" },
	/* The extension is no plausible mailbox: the probe, no reply address. */
	{ "check+=example.com@mx.example.net", "+", true, "" },
	{ "check+jsmith=@mx.example.net", "+", true, "" },
	{ "check+jsmith=localhost@mx.example.net", "+", true, "" },
	{ "check+-oQ=example.com@mx.example.net", "+", true, "" },	/* allow_min_user */
	{ "check+a..b=example.com@mx.example.net", "+", true, "" },	/* RFC 5321 4.1.2 Dot-string */
	{ "check+j smith=example.com@mx.example.net", "+", true, "" },
	{ "check+jsmith=exa_mple.com@mx.example.net", "+", true, "" },
	{ "check+jsmith=[192.0.2.1]@mx.example.net", "+", true, "" },
	/* Not the probe. */
	{ "check+jsmith=example.com@other.example.net", "+", false, "" },
	{ "checker@mx.example.net", "+", false, "" },
	{ "chec@mx.example.net", "+", false, "" },
	{ "x@check@mx.example.net", "+", false, "" },
	{ "check", "+", false, "" },
	{ "", "+", false, "" },
	{ "@mx.example.net", "+", false, "" },
	{ "check+jsmith=example.com@mx.example.net", "", false, "" },
	{ "check+jsmith=example.com@mx.example.net", NULL, false, "" },
	{ "check@mx.example.net.evil", "+", false, "" },
};

START_TEST(probe_match_table)
{
	char enc[AM_RSP_ADDR_MAX + 1];
	bool m;

	memset(enc, 'x', sizeof(enc));
	m = am_rsp_probe_match(probes[_i].rcpt, PROBE, probes[_i].delims, enc, sizeof(enc));
	ck_assert_msg(m == probes[_i].match, "%s: match %d", probes[_i].rcpt, m);
	ck_assert_str_eq(enc, probes[_i].encoded);
}
END_TEST

/* Bounds: a long extension is refused, a small buffer gets "", never a cut address. */
START_TEST(probe_match_bounds)
{
	char rcpt[2048], enc[AM_RSP_ADDR_MAX + 1], small[10], lab[64];

	memset(lab, 'a', 63);
	lab[63] = '\0';
	/* RFC 5321 4.5.3.1.1: a 64-octet local part decodes, 65 does not. */
	snprintf(rcpt, sizeof(rcpt), "check+%.64s=example.com@mx.example.net",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert(am_rsp_probe_match(rcpt, PROBE, "+", enc, sizeof(enc)));
	ck_assert_uint_eq(strlen(enc), 64 + 12);
	snprintf(rcpt, sizeof(rcpt), "check+%.65s=example.com@mx.example.net",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert(am_rsp_probe_match(rcpt, PROBE, "+", enc, sizeof(enc)));
	ck_assert_str_eq(enc, "");
	/* A 253-octet domain decodes; 255 does not (RFC 1035 2.3.4). */
	snprintf(rcpt, sizeof(rcpt), "check+j=%s.%s.%s.%.61s@mx.example.net", lab, lab, lab,
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	ck_assert(am_rsp_probe_match(rcpt, PROBE, "+", enc, sizeof(enc)));
	ck_assert_uint_eq(strlen(enc), 2 + 253);
	snprintf(rcpt, sizeof(rcpt), "check+j=%s.%s.%s.%.63s@mx.example.net", lab, lab, lab, lab);
	ck_assert(am_rsp_probe_match(rcpt, PROBE, "+", enc, sizeof(enc)));
	ck_assert_str_eq(enc, "");
	/* Too small a buffer: "" rather than a truncated address. */
	ck_assert(am_rsp_probe_match("check+jsmith=example.com@mx.example.net", PROBE, "+",
	    small, sizeof(small)));
	ck_assert_str_eq(small, "");
	ck_assert(am_rsp_probe_match("check+jsmith=example.com@mx.example.net", PROBE, "+", NULL, 0));
	/* An over-long recipient is refused whole. */
	memset(rcpt, 'a', sizeof(rcpt) - 1);
	rcpt[sizeof(rcpt) - 1] = '\0';
	memcpy(rcpt, "check+", 6);
	memcpy(rcpt + sizeof(rcpt) - 1 - 16, "@mx.example.net", 16);
	ck_assert(!am_rsp_probe_match(rcpt, PROBE, "+", enc, sizeof(enc)));
	ck_assert(!am_rsp_probe_match(NULL, PROBE, "+", enc, sizeof(enc)));
	ck_assert(!am_rsp_probe_match(PROBE, NULL, "+", enc, sizeof(enc)));
}
END_TEST

/* ---- the mailbox --------------------------------------------------------- */

static const struct {
	const char *addr;
	bool	ok;
} mailboxes[] = {
	/* RFC 5321 4.1.2: Dot-string local parts, Let-dig [Ldh-str] labels. */
	{ "jsmith@example.com", true },
	{ "j.smith@example.com", true },
	{ "j+tag@example.com", true },
	{ "o'brien@example.ie", true },
	{ "a!#$%&'*+/=?^_`{|}~-@example.com", true },		/* every atext (RFC 5322 3.2.3) */
	{ "x@xn--bcher-kva.example", true },			/* an A-label */
	{ "x@a-b.example.com", true },
	{ "x@123.example", true },
	{ "X@EXAMPLE.COM", true },
	{ "", false },
	{ "jsmith", false },
	{ "@example.com", false },
	{ "jsmith@", false },
	{ ".j@example.com", false },
	{ "j.@example.com", false },
	{ "j..s@example.com", false },
	{ "\"j s\"@example.com", false },			/* Quoted-string: refused */
	{ "j s@example.com", false },
	{ "j<x>@example.com", false },
	{ "j,k@example.com", false },
	{ "j;k@example.com", false },
	{ "j\\k@example.com", false },
	{ "j\n@example.com", false },
	{ "-oQ@example.com", false },				/* Postfix allow_min_user = no */
	{ "j@localhost", false },				/* one label */
	{ "j@example", false },
	{ "j@[192.0.2.1]", false },				/* address literal */
	{ "j@192.0.2.1", false },				/* RFC 3696 2: numeric TLD */
	{ "j@-example.com", false },
	{ "j@example-.com", false },
	{ "j@exa_mple.com", false },
	{ "j@example..com", false },
	{ "j@.example.com", false },
	{ "j@example.com.", false },
	{ "a@b@example.com", false },
	{ "j\xc3\xa9@example.com", false },			/* UTF-8 (RFC 6531) not sent */
	{ "j@ex\xc3\xa4mple.com", false },
};

START_TEST(mailbox_table)
{
	ck_assert_msg(am_rsp_mailbox_ok(mailboxes[_i].addr) == mailboxes[_i].ok, "%s",
	    mailboxes[_i].addr);
}
END_TEST

/* RFC 5321 4.5.3.1: 64-octet local part, 63-octet label, 253-octet domain. */
START_TEST(mailbox_lengths)
{
	char a[600], lab[64];

	memset(lab, 'a', 63);
	lab[63] = '\0';
	snprintf(a, sizeof(a), "%s@example.com", lab);
	ck_assert(am_rsp_mailbox_ok(a));
	snprintf(a, sizeof(a), "%sb@example.com", lab);
	ck_assert(am_rsp_mailbox_ok(a));		/* 64 */
	snprintf(a, sizeof(a), "%sbc@example.com", lab);
	ck_assert(!am_rsp_mailbox_ok(a));		/* 65 */
	snprintf(a, sizeof(a), "j@%s.com", lab);
	ck_assert(am_rsp_mailbox_ok(a));
	snprintf(a, sizeof(a), "j@%sb.com", lab);
	ck_assert(!am_rsp_mailbox_ok(a));		/* 64-octet label */
	snprintf(a, sizeof(a), "j@%s.%s.%s.%.61s", lab, lab, lab, lab);
	ck_assert(am_rsp_mailbox_ok(a));		/* 253 */
	snprintf(a, sizeof(a), "j@%s.%s.%s.%.62s", lab, lab, lab, lab);
	ck_assert(!am_rsp_mailbox_ok(a));		/* 254 */
	ck_assert(!am_rsp_mailbox_ok(NULL));
}
END_TEST

/* ---- authentication (issue 17: whom to reply to) ------------------------- */

struct sig {
	const char *d;
	enum am_dkim_result r;
	bool	verified;
};

static const struct {
	const char *name;
	const char *from;
	enum am_from_status fs;
	enum am_dmarc_result dmarc;
	const char *spf_domain;
	enum am_spf_result spf;
	bool	helo;
	struct sig sig[2];
	size_t	nsig;
	const char *domain, *org;
	bool	ok;
	const char *why;
} auths[] = {
	{ "dmarc pass", "example.com", AM_FROM_OK, AM_DMARC_PASS, "mail.example.com", AM_SPF_PASS, false,
	  { { "example.com", AM_DKIM_PASS, true } }, 1, "example.com", "example.com", true, "dmarc=pass" },
	{ "dmarc pass, trailing dot and case", "example.com", AM_FROM_OK, AM_DMARC_PASS, "", AM_SPF_NONE, false,
	  { { NULL, 0, false } }, 0, "Example.COM.", "", true, "dmarc=pass" },
	{ "dmarc pass is for the From domain only", "example.com", AM_FROM_OK, AM_DMARC_PASS,
	  "amazonses.com", AM_SPF_PASS, false, { { "example.com", AM_DKIM_PASS, true } }, 1,
	  "example.org", "", false, "nothing authenticated" },
	{ "dmarc pass of a doubled From does not count", "example.com", AM_FROM_MULTIPLE, AM_DMARC_PASS,
	  "", AM_SPF_NONE, false, { { NULL, 0, false } }, 0, "example.com", "", false, NULL },
	{ "aspf=s: spf pass for the custom MAIL FROM", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "bounce.example.com", AM_SPF_PASS, false, { { NULL, 0, false } }, 0,
	  "example.com", "example.com", true, "spf=pass for bounce.example.com" },
	{ "broken Easy DKIM, working custom MAIL FROM", "example.com", AM_FROM_OK, AM_DMARC_PASS,
	  "mail.example.com", AM_SPF_PASS, false, { { "example.com", AM_DKIM_FAIL, true } }, 1,
	  "example.com", "example.com", true, NULL },
	{ "broken Easy DKIM, default MAIL FROM", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "us-east-1.amazonses.com", AM_SPF_PASS, false,
	  { { "example.com", AM_DKIM_FAIL, true }, { "amazonses.com", AM_DKIM_PASS, true } }, 2,
	  "example.com", "example.com", false, "nothing authenticated example.com" },
	{ "adkim=s: dkim pass for a parent", "news.example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "amazonses.com", AM_SPF_PASS, false, { { "example.com", AM_DKIM_PASS, true } }, 1,
	  "news.example.com", "example.com", true, "dkim=pass for d=example.com" },
	{ "without the org domain, only the domain and below", "news.example.com", AM_FROM_OK,
	  AM_DMARC_FAIL, "bounce.example.com", AM_SPF_PASS, false, { { NULL, 0, false } }, 0,
	  "news.example.com", "", false, NULL },
	{ "an org that does not hold the domain is ignored", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "example.org", AM_SPF_PASS, false, { { NULL, 0, false } }, 0,
	  "example.com", "example.org", false, NULL },
	{ "a single-label org is ignored", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "attacker.com", AM_SPF_PASS, false, { { NULL, 0, false } }, 0, "example.com", "com", false, NULL },
	{ "forged: spf and dkim pass for another domain", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "attacker.net", AM_SPF_PASS, false, { { "attacker.net", AM_DKIM_PASS, true } }, 1,
	  "example.com", "example.com", false, NULL },
	{ "a look-alike is not inside", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "notexample.com", AM_SPF_PASS, false, { { "xexample.com", AM_DKIM_PASS, true } }, 1,
	  "example.com", "example.com", false, NULL },
	{ "an unverified signature does not count", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "", AM_SPF_NONE, false, { { "example.com", AM_DKIM_PASS, false } }, 1,
	  "example.com", "example.com", false, NULL },
	{ "a signature past count does not count", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "", AM_SPF_NONE, false, { { "example.com", AM_DKIM_PASS, true } }, 0,
	  "example.com", "example.com", false, NULL },
	{ "spf pass of the HELO name does not count", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "mx.example.com", AM_SPF_PASS, true, { { NULL, 0, false } }, 0,
	  "example.com", "example.com", false, NULL },
	{ "spf softfail does not count", "example.com", AM_FROM_OK, AM_DMARC_FAIL,
	  "example.com", AM_SPF_SOFTFAIL, false, { { NULL, 0, false } }, 0,
	  "example.com", "example.com", false, "spf=softfail for example.com" },
	{ "dmarc temperror does not count", "example.com", AM_FROM_OK, AM_DMARC_TEMPERROR,
	  "", AM_SPF_TEMPERROR, false, { { "example.com", AM_DKIM_TEMPERROR, true } }, 1,
	  "example.com", "example.com", false, "dmarc=temperror" },
	{ "encoded address inside the From's org", "example.com", AM_FROM_OK, AM_DMARC_PASS,
	  "bounce.example.com", AM_SPF_PASS, false, { { "example.com", AM_DKIM_PASS, true } }, 1,
	  "ops.example.com", "example.com", true, NULL },
	{ "no domain", "example.com", AM_FROM_OK, AM_DMARC_PASS, "", AM_SPF_NONE, false,
	  { { NULL, 0, false } }, 0, "", "", false, "no reply domain" },
};

START_TEST(authenticated_table)
{
	struct am_verdict *v = calloc(1, sizeof(*v));
	char why[256];
	size_t k;
	bool ok;

	ck_assert_ptr_nonnull(v);
	strcpy(v->from_domain, auths[_i].from);
	v->from_status = auths[_i].fs;
	v->dmarc.result = auths[_i].dmarc;
	strcpy(v->spf.domain, auths[_i].spf_domain);
	v->spf.result = auths[_i].spf;
	v->spf.helo_identity = auths[_i].helo;
	for (k = 0; k < 2; k++) {
		if (auths[_i].sig[k].d == NULL)
			continue;
		strcpy(v->dkim.sig[k].domain, auths[_i].sig[k].d);
		v->dkim.sig[k].result = auths[_i].sig[k].r;
		v->dkim.sig[k].verified = auths[_i].sig[k].verified;
	}
	v->dkim.count = v->dkim.total = auths[_i].nsig;
	ok = am_rsp_authenticated(v, auths[_i].domain, auths[_i].org, why, sizeof(why));
	ck_assert_msg(ok == auths[_i].ok, "%s: %d (%s)", auths[_i].name, ok, why);
	ck_assert_msg(why[0] != '\0', "%s: no reason", auths[_i].name);
	if (auths[_i].why != NULL)
		ck_assert_msg(strstr(why, auths[_i].why) != NULL, "%s: %s", auths[_i].name, why);
	/* A short or absent buffer is fine. */
	ck_assert(am_rsp_authenticated(v, auths[_i].domain, auths[_i].org, why, 4) == ok);
	ck_assert_uint_le(strlen(why), 3);
	ck_assert(am_rsp_authenticated(v, auths[_i].domain, auths[_i].org, NULL, 0) == ok);
	free(v);
}
END_TEST

/* ---- loop guards (RFC 3834) ---------------------------------------------- */

#define SES_SENDER "0100018c1a2b3c4d-5e6f7a8b@us-east-1.amazonses.com"

static const struct {
	const char *sender;
	const char *name, *value;	/* one extra field beside From and Subject */
	const char *from;
	const char *why;		/* NULL: may answer; else a word of the reason */
} guards[] = {
	{ SES_SENDER, "X-SES-Outgoing", "2024.01.01-54.240.8.1", "Ops <ops@example.com>", NULL },
	{ "ops@example.com", "Auto-Submitted", "no", "ops@example.com", NULL },	/* RFC 3834 5 */
	{ "ops@example.com", "auto-submitted", "No (a person)", "ops@example.com", NULL },
	{ "ops@example.com", "Auto-Submitted", " no; x=y", "ops@example.com", NULL },
	{ "ops@example.com", "Precedence", "first-class", "ops@example.com", NULL },
	{ "ops@example.com", "Precedence", "bulky", "ops@example.com", NULL },
	{ "owner@example.com", NULL, NULL, "requester@example.com", NULL },	/* no role by prefix */
	{ "bounces@example.com", NULL, NULL, "ops@example.com", NULL },
	/* RFC 3834 section 2: MUST NOT answer a null return path. */
	{ "", NULL, NULL, "ops@example.com", "null envelope sender" },
	{ "<>", NULL, NULL, "ops@example.com", "null envelope sender" },
	{ NULL, NULL, NULL, "ops@example.com", "null envelope sender" },
	/* RFC 3834 sections 2 and 5: Auto-Submitted other than "no". */
	{ "ops@example.com", "Auto-Submitted", "auto-replied", "ops@example.com", "Auto-Submitted" },
	{ "ops@example.com", "Auto-Submitted", "auto-generated", "ops@example.com", "Auto-Submitted" },
	{ "ops@example.com", "AUTO-SUBMITTED", "auto-notified", "ops@example.com", "Auto-Submitted" },
	{ "ops@example.com", "Auto-Submitted", "", "ops@example.com", "Auto-Submitted" },
	{ "ops@example.com", "Auto-Submitted", "nope", "ops@example.com", "Auto-Submitted" },
	/* RFC 3834 section 2: Precedence bulk, list, junk. */
	{ "ops@example.com", "Precedence", "bulk", "ops@example.com", "Precedence" },
	{ "ops@example.com", "Precedence", " List", "ops@example.com", "Precedence" },
	{ "ops@example.com", "precedence", "JUNK", "ops@example.com", "Precedence" },
	/* RFC 3834 section 2 and RFC 2919: List-Id; RFC 5230 4.6 and RFC 2369: the others. */
	{ "ops@example.com", "List-Id", "<news.example.com>", "ops@example.com", "List-Id" },
	{ "ops@example.com", "list-unsubscribe", "<mailto:u@example.com>", "ops@example.com", "List-*" },
	{ "ops@example.com", "List-Post", "<mailto:l@example.com>", "ops@example.com", "List-*" },
	{ "ops@example.com", "List-Help", "<mailto:h@example.com>", "ops@example.com", "List-*" },
	{ "ops@example.com", "List-Subscribe", "<mailto:s@example.com>", "ops@example.com", "List-*" },
	{ "ops@example.com", "List-Owner", "<mailto:o@example.com>", "ops@example.com", "List-*" },
	{ "ops@example.com", "List-Archive", "<https://example.com/>", "ops@example.com", "List-*" },
	/* RFC 5230 4.6: role senders, envelope or From; Mailman's -bounces and -owner. */
	{ "MAILER-DAEMON@mx.example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "mailer-daemon", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "owner-news@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "news-request@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "news-bounces+ops=example.com@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "news-owner@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "LISTSERV@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "majordomo@example.com", NULL, NULL, "ops@example.com", "envelope sender" },
	{ "ops@example.com", NULL, NULL, "Mail Delivery System <MAILER-DAEMON@mx.example.com>", "From" },
	{ "ops@example.com", NULL, NULL, "<news-request@example.com>", "From" },
	{ "ops@example.com", NULL, NULL, "owner-news@example.com", "From" },
};

START_TEST(loop_guard_table)
{
	struct am_rsp_header h[3] = {
		{ "From", guards[_i].from },
		{ "Subject", "test" },
		{ guards[_i].name, guards[_i].value },
	};
	const char *why = am_rsp_loop_guard(guards[_i].sender, h, guards[_i].name != NULL ? 3 : 2);

	if (guards[_i].why == NULL)
		ck_assert_msg(why == NULL, "row %d: refused: %s", _i, why);
	else {
		ck_assert_msg(why != NULL, "row %d: answered", _i);
		ck_assert_msg(strstr(why, guards[_i].why) != NULL, "row %d: %s", _i, why);
		ck_assert_msg(strstr(why, "RFC") != NULL, "row %d: no rule cited: %s", _i, why);
	}
}
END_TEST

START_TEST(loop_guard_no_headers)
{
	ck_assert_ptr_null(am_rsp_loop_guard(SES_SENDER, NULL, 0));
	ck_assert_ptr_nonnull(am_rsp_loop_guard("", NULL, 0));
}
END_TEST

/* ---- the rate limiter ---------------------------------------------------- */

static char dir[64], state[128];
static const struct am_rsp_limits lim = { 3, 5, 3600 };

static void
rate_setup(void)
{
	strcpy(dir, "/tmp/check_respond.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
}

static void
rate_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static enum am_rsp_rate
take(const char *addr, time_t now)
{
	char err[256];
	enum am_rsp_rate r = am_rsp_rate_take(state, addr, &lim, now, err, sizeof(err));

	ck_assert_msg(r != AM_RSP_RATE_ERROR, "%s", err);
	return r;
}

static size_t
lines_of(const char *path)
{
	size_t len, n = 0, i;
	char *s = tu_slurp(path, &len);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

START_TEST(rate_limits)
{
	struct stat sb;

	/* per address 3, per domain 5 */
	ck_assert_int_eq(take("a@example.com", 1000), AM_RSP_RATE_OK);
	ck_assert_int_eq(stat(state, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(take("A@Example.COM", 1001), AM_RSP_RATE_OK);	/* one key, any case */
	ck_assert_int_eq(take("a@example.com", 1002), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("a@example.com", 1003), AM_RSP_RATE_ADDR);
	ck_assert_int_eq(take("b@example.com", 1004), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("c@example.com", 1005), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("d@example.com", 1006), AM_RSP_RATE_DOMAIN);
	ck_assert_int_eq(take("d@sub.example.com", 1007), AM_RSP_RATE_OK);	/* another domain */
	ck_assert_int_eq(take("a@example.org", 1008), AM_RSP_RATE_OK);
	ck_assert_uint_eq(lines_of(state), 2 * 7);	/* refusals are not counted */
}
END_TEST

START_TEST(rate_window)
{
	/* A sliding window: each reply counts for window seconds, with a fake now. */
	ck_assert_int_eq(take("a@example.com", 10000), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("a@example.com", 11000), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("a@example.com", 12000), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("a@example.com", 13599), AM_RSP_RATE_ADDR);
	ck_assert_int_eq(take("a@example.com", 13600), AM_RSP_RATE_OK);	/* 10000 expired */
	ck_assert_int_eq(take("a@example.com", 13601), AM_RSP_RATE_ADDR);
	ck_assert_uint_eq(lines_of(state), 2 * 3);	/* the expired entry is gone */
	ck_assert_int_eq(take("a@example.com", 20000), AM_RSP_RATE_OK);
	ck_assert_uint_eq(lines_of(state), 2);
}
END_TEST

/* Restarts: every take is a new process reading the file. */
START_TEST(rate_restart)
{
	int i, st;
	pid_t pid;

	for (i = 0; i < 4; i++) {
		if ((pid = fork()) == 0) {
			char err[256];

			_exit(am_rsp_rate_take(state, "a@example.com", &lim, 5000 + i, err, sizeof(err)));
		}
		ck_assert_int_ge(pid, 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), i < 3 ? AM_RSP_RATE_OK : AM_RSP_RATE_ADDR);
	}
	ck_assert_int_eq(take("a@example.com", 5010), AM_RSP_RATE_ADDR);
}
END_TEST

/* Concurrent processes: the total of replies taken never passes the limit. */
START_TEST(rate_concurrent)
{
	static const struct am_rsp_limits wide = { 7, 1000, 3600 };
	enum { CHILDREN = 12, TAKES = 6 };
	pid_t pids[CHILDREN];
	int i, st, ok = 0;

	for (i = 0; i < CHILDREN; i++) {
		if ((pids[i] = fork()) == 0) {
			char err[256];
			int k, mine = 0;
			enum am_rsp_rate r;

			for (k = 0; k < TAKES; k++) {
				r = am_rsp_rate_take(state, "a@example.com", &wide, 7000, err, sizeof(err));
				if (r == AM_RSP_RATE_ERROR)
					_exit(100);
				mine += r == AM_RSP_RATE_OK;
			}
			_exit(mine);
		}
		ck_assert_int_ge(pids[i], 0);
	}
	for (i = 0; i < CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st));
		ck_assert_int_ne(WEXITSTATUS(st), 100);
		ok += WEXITSTATUS(st);
	}
	ck_assert_int_eq(ok, 7);
	ck_assert_uint_eq(lines_of(state), 14);
}
END_TEST

/* A corrupt line is skipped, the rest kept; the rewrite holds only good lines. */
START_TEST(rate_corrupt)
{
	char path[160];
	FILE *fp = fopen(state, "w");
	size_t len;
	char *s;
	int i;

	ck_assert_ptr_nonnull(fp);
	fputs("garbage\n", fp);
	fputs("1000 a a@example.com\n", fp);
	fputs("1001 x a@example.com\n", fp);			/* unknown kind */
	fputs("99999999999999999999999 a a@example.com\n", fp);	/* overflow */
	fputs("1002 a \n", fp);					/* empty key */
	fputs("1003 a a@exa mple.com\n", fp);
	fputc('1', fp);
	for (i = 0; i < 2000; i++)				/* over-long */
		fputc('x', fp);
	fputc('\n', fp);
	fputs("-5 a a@example.com\n", fp);
	fputs("1004 a a@example.com\n", fp);
	fputs("1005 a a@example.com", fp);			/* cut: no newline */
	fclose(fp);
	/* two good entries of a@example.com: one more, then the limit */
	ck_assert_int_eq(take("a@example.com", 2000), AM_RSP_RATE_OK);
	ck_assert_int_eq(take("a@example.com", 2001), AM_RSP_RATE_ADDR);
	s = tu_slurp(state, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "1000 a a@example.com\n1004 a a@example.com\n"
	    "2000 a a@example.com\n2000 d example.com\n");
	free(s);
	/* An entry from more than a window ahead cannot block an address for good. */
	fp = fopen(state, "w");
	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < 3; i++)
		fprintf(fp, "%d a b@example.com\n", 900000 + i);
	fclose(fp);
	ck_assert_int_eq(take("b@example.com", 3000), AM_RSP_RATE_OK);
	/* Errors: no directory, not an address. */
	snprintf(path, sizeof(path), "%s/none/state", dir);
	ck_assert_int_eq(am_rsp_rate_take(path, "a@example.com", &lim, 1, path, sizeof(path)),
	    AM_RSP_RATE_ERROR);
	ck_assert_ptr_nonnull(strstr(path, "No such file"));
	ck_assert_int_eq(am_rsp_rate_take(state, "no-at-sign", &lim, 1, path, sizeof(path)),
	    AM_RSP_RATE_ERROR);
	ck_assert_int_eq(am_rsp_rate_take(state, "a b@example.com", &lim, 1, NULL, 0),
	    AM_RSP_RATE_ERROR);
}
END_TEST

/* Bounded: at most 10,000 entries, the oldest dropped. */
START_TEST(rate_bounded)
{
	static const struct am_rsp_limits wide = { 1000, 100000, 100000 };
	FILE *fp = fopen(state, "w");
	char err[256], *s, *last;
	size_t len;
	int i;

	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < 10100; i++)
		fprintf(fp, "%d a u%d@example.com\n", 50000 + i, i);
	fclose(fp);
	ck_assert_int_eq(am_rsp_rate_take(state, "new@example.net", &wide, 60200, err, sizeof(err)),
	    AM_RSP_RATE_OK);
	ck_assert_uint_eq(lines_of(state), 10000);
	s = tu_slurp(state, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(strstr(s, " u101@"));		/* the oldest went */
	ck_assert_ptr_nonnull(strstr(s, "50102 a u102@example.com\n"));
	ck_assert_uint_gt(len, 30);
	s[len - 1] = '\0';
	last = strrchr(s, '\n');
	ck_assert_ptr_nonnull(last);
	ck_assert(strcmp(last + 1, "60200 d example.net") == 0 ||
	    strcmp(last + 1, "60200 a new@example.net") == 0);
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("respond");
	TCase *tc = tcase_create("rules");
	TCase *tr = tcase_create("rate");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, probe_match_table, 0, sizeof(probes) / sizeof(probes[0]));
	tcase_add_test(tc, probe_match_bounds);
	tcase_add_loop_test(tc, mailbox_table, 0, sizeof(mailboxes) / sizeof(mailboxes[0]));
	tcase_add_test(tc, mailbox_lengths);
	tcase_add_loop_test(tc, authenticated_table, 0, sizeof(auths) / sizeof(auths[0]));
	tcase_add_loop_test(tc, loop_guard_table, 0, sizeof(guards) / sizeof(guards[0]));
	tcase_add_test(tc, loop_guard_no_headers);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, rate_setup, rate_teardown);
	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, rate_limits);
	tcase_add_test(tr, rate_window);
	tcase_add_test(tr, rate_restart);
	tcase_add_test(tr, rate_concurrent);
	tcase_add_test(tr, rate_corrupt);
	tcase_add_test(tr, rate_bounded);
	suite_add_tcase(s, tr);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
