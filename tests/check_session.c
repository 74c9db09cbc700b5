/*
 * check_session.c - unit tests of the session layer (milter/session.c).
 *
 * Owns what both milter transports do per connection, driven here as
 * they drive it with the edits recorded: ignored and address-less clients
 * pass untouched, forged Authentication-Results carrying our authserv-id
 * are removed and ours inserted once, and RejectFailures enforces
 * p=reject and p=quarantine, and an over-long MAIL FROM is never cut into a
 * shorter domain.  Runs over the pipeline fixture of verdictutil.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "auth/message.h"
#include "milter/session.h"
#include "verdictutil.h"

/* The edits a transport would carry out, recorded in order. */
struct recorded {
	char	log[2048];		/* "del NAME #i;" "ins NAME=VALUE;" "quar REASON;" */
	unsigned inserts;
};

static bool
rec_delete(void *arg, const char *name, unsigned index)
{
	struct recorded *r = arg;
	char one[128];

	snprintf(one, sizeof(one), "del %s #%u;", name, index);
	am_strlcat(r->log, one, sizeof(r->log));
	return true;
}

static bool
rec_insert(void *arg, const char *name, const char *value)
{
	struct recorded *r = arg;

	r->inserts++;
	am_strlcat(r->log, "ins ", sizeof(r->log));
	am_strlcat(r->log, name, sizeof(r->log));
	am_strlcat(r->log, "=", sizeof(r->log));
	am_strlcat(r->log, value, sizeof(r->log));
	am_strlcat(r->log, ";", sizeof(r->log));
	return true;
}

static bool
rec_quarantine(void *arg, const char *reason)
{
	struct recorded *r = arg;

	am_strlcat(r->log, "quar ", sizeof(r->log));
	am_strlcat(r->log, reason, sizeof(r->log));
	am_strlcat(r->log, ";", sizeof(r->log));
	return true;
}

static bool
session_header(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	char *n = am_xstrndup(name, namelen), *v = am_xstrndup(value, valuelen);

	am_session_header(arg, n, v);
	free(n);
	free(v);
	return true;
}

/* One message through a session that is already connected; its EOM action. */
static enum am_session_action
session_message(am_session *s, const char *raw, size_t len, const char *mail_from, struct recorded *r)
{
	struct am_session_edits ed = { rec_delete, rec_insert, rec_quarantine, r };
	size_t body;
	char err[200];

	am_session_helo(s, SES_HELO);
	am_session_mail(s, mail_from);
	ck_assert_msg(am_message_split(raw, len, session_header, s, &body, err, sizeof(err)), "split: %s", err);
	am_session_eoh(s);
	am_session_body(s, (const unsigned char *)raw + body, len - body);
	return am_session_eom(s, "Q1", &ed);
}

START_TEST(session_passes_ignored_and_addressless_clients)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct recorded r = { "", 0 };
	am_session *s = am_session_new(eng, true);

	/* CONTINUE, not ACCEPT: their forged Authentication-Results still go (below) */
	ck_assert_int_eq(am_session_connect(s, NULL), AM_SESSION_CONTINUE);
	ck_assert_int_eq(am_session_connect(s, "127.0.0.1"), AM_SESSION_CONTINUE);
	ck_assert_int_eq(session_message(s, raw, len, "<" SES_ENVELOPE ">", &r), AM_SESSION_CONTINUE);
	ck_assert_str_eq(r.log, "");
	/* the same session, reconnected by a checked client, checks again */
	ck_assert_int_eq(am_session_connect(s, SES_CLIENT), AM_SESSION_CONTINUE);
	ck_assert_int_eq(session_message(s, raw, len, "<" SES_ENVELOPE ">", &r), AM_SESSION_CONTINUE);
	ck_assert_uint_eq(r.inserts, 1);
	/* and a connect from an ignored client on it does not inherit that */
	r.log[0] = '\0';
	r.inserts = 0;
	ck_assert_int_eq(am_session_connect(s, "::1"), AM_SESSION_CONTINUE);
	ck_assert_int_eq(session_message(s, raw, len, "<" SES_ENVELOPE ">", &r), AM_SESSION_CONTINUE);
	ck_assert_str_eq(r.log, "");
	am_session_free(s);
	free(raw);
}
END_TEST

START_TEST(session_removes_forged_results_and_inserts_ours)
{
	static const char forged[] =
	    "Authentication-Results: MX.EXAMPLE.NET; dkim=pass header.d=example.com\r\n"
	    "Authentication-Results: other.example; spf=pass\r\n"
	    "Authentication-Results: mx.example.net (forged); dmarc=pass\r\n";
	size_t len, i;
	char *raw = fixture("ses.eml", &len), *msg;
	struct recorded r;

	msg = am_xmalloc(sizeof(forged) + len);
	memcpy(msg, forged, sizeof(forged) - 1);
	memcpy(msg + sizeof(forged) - 1, raw, len);
	for (i = 0; i < 2; i++) {		/* with and without HDR_LEADSPC */
		am_session *s = am_session_new(eng, i == 0);
		char want[256];

		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(am_session_connect(s, SES_CLIENT), AM_SESSION_CONTINUE);
		ck_assert_int_eq(session_message(s, msg, sizeof(forged) - 1 + len, "<" SES_ENVELOPE ">", &r),
		    AM_SESSION_CONTINUE);
		/* ours #1 and #3 (any case), highest index first, then ours inserted once */
		snprintf(want, sizeof(want), "del Authentication-Results #3;del Authentication-Results #1;"
		    "ins Authentication-Results=%s" AUTHSERV ";", i == 0 ? " " : "");
		ck_assert_msg(strncmp(r.log, want, strlen(want)) == 0, "edits: %s", r.log);
		ck_assert_uint_eq(r.inserts, 1);
		ck_assert_ptr_nonnull(strstr(r.log, "dmarc=pass"));
		am_session_free(s);
	}
	free(msg);
	free(raw);
}
END_TEST

/*
 * Fields a reader could take for ours: #1 behind 65 nested comments (one
 * past AM_NEST_MAX), #3 behind a bare CR in a comment, #4 behind an
 * unterminated '(', #5 with a trailing dot, #6 followed by "/1" (RFC 8601
 * 2.2: authserv-id [CFWS authres-version]; "/" ends the RFC 2045 token, so
 * this is our id with garbage).  #2 is another's, well formed, and stays.
 */
#define FORGED_DELETES	"del Authentication-Results #6;del Authentication-Results #5;" \
	"del Authentication-Results #4;del Authentication-Results #3;del Authentication-Results #1;"

/* Connect from ip and send one message that starts with those six fields; the edits in r. */
static enum am_session_action
send_forged(am_session *s, const char *ip, struct recorded *r)
{
	static const char *const rest[] = {
		" other.example; spf=pass smtp.mailfrom=other.example",
		" (bare\rCR) " AUTHSERV "; dmarc=pass header.from=example.com",
		" (unterminated " AUTHSERV "; dmarc=pass header.from=example.com",
		" " AUTHSERV ".; dmarc=pass header.from=example.com",
		" " AUTHSERV "/1; dmarc=pass header.from=example.com",
	};
	struct am_session_edits ed = { rec_delete, rec_insert, rec_quarantine, r };
	char nest[256], err[200];
	size_t i, len, body;
	char *raw = fixture("ses.eml", &len);
	enum am_session_action a;

	memset(r, 0, sizeof(*r));
	memset(nest, '(', 66);
	memset(nest + 66, ')', 65);
	nest[0] = ' ';
	am_strlcpy(nest + 131, " " AUTHSERV "; dmarc=pass header.from=example.com", sizeof(nest) - 131);
	/* an ACCEPT at connect is not always heard (SMFIP_NR_CONN): the MTA may go on */
	a = am_session_connect(s, ip);
	am_session_helo(s, SES_HELO);
	am_session_mail(s, "<" SES_ENVELOPE ">");
	am_session_header(s, "Authentication-Results", nest);
	for (i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		am_session_header(s, "Authentication-Results", rest[i]);
	ck_assert_msg(am_message_split(raw, len, session_header, s, &body, err, sizeof(err)), "split: %s", err);
	am_session_eoh(s);
	am_session_body(s, (const unsigned char *)raw + body, len - body);
	ck_assert_int_eq(am_session_eom(s, "Q1", &ed), AM_SESSION_CONTINUE);
	free(raw);
	return a;
}

/*
 * RFC 8601 section 5: an MTA "MUST delete any discovered instance of this
 * header field that claims ... to have been added within its trust
 * boundary but that did not come directly from another trusted MTA".
 * Not verifying a client (IgnoreHosts, no address) is not trusting it.
 */
START_TEST(session_removes_uncertain_and_forged_results_from_every_client)
{
	static const char *const unchecked[] = { NULL, "", "127.0.0.1", "::1" };
	struct recorded r;
	am_session *s = am_session_new(eng, true);
	size_t i;

	ck_assert_int_eq(send_forged(s, SES_CLIENT, &r), AM_SESSION_CONTINUE);
	ck_assert_msg(strncmp(r.log, FORGED_DELETES "ins ", strlen(FORGED_DELETES) + 4) == 0, "edits: %s", r.log);
	ck_assert_uint_eq(r.inserts, 1);
	for (i = 0; i < sizeof(unchecked) / sizeof(unchecked[0]); i++) {
		/* unchecked, no header of ours, but the forgeries go */
		ck_assert_int_eq(send_forged(s, unchecked[i], &r), AM_SESSION_CONTINUE);
		ck_assert_msg(strcmp(r.log, FORGED_DELETES) == 0, "client %s: edits: %s",
		    unchecked[i] ? unchecked[i] : "(none)", r.log);
	}
	am_session_free(s);
}
END_TEST

START_TEST(session_keeps_results_of_trusted_authres_clients)
{
	struct recorded r;
	am_session *s = am_session_new(eng, false);
	char err[200];

	ck_assert_msg(am_conf_set(&conf, "TrustedAuthResClients", "127.0.0.1, 192.0.2.0/24", err, sizeof(err)),
	    "%s", err);
	/* a re-injecting content filter in IgnoreHosts: nothing to do at all */
	ck_assert_int_eq(send_forged(s, "127.0.0.1", &r), AM_SESSION_ACCEPT);
	ck_assert_str_eq(r.log, "");
	/* trusted and checked: its fields stay, ours is added */
	ck_assert_int_eq(send_forged(s, "192.0.2.7", &r), AM_SESSION_CONTINUE);
	ck_assert_msg(strncmp(r.log, "ins ", 4) == 0, "edits: %s", r.log);
	ck_assert_uint_eq(r.inserts, 1);
	/* not listed: removed, whether ignored or checked; no address is never trusted */
	ck_assert_int_eq(send_forged(s, "::1", &r), AM_SESSION_CONTINUE);
	ck_assert_str_eq(r.log, FORGED_DELETES);
	ck_assert_int_eq(send_forged(s, NULL, &r), AM_SESSION_CONTINUE);
	ck_assert_str_eq(r.log, FORGED_DELETES);
	ck_assert_int_eq(send_forged(s, SES_CLIENT, &r), AM_SESSION_CONTINUE);
	ck_assert_msg(strncmp(r.log, FORGED_DELETES "ins ", strlen(FORGED_DELETES) + 4) == 0, "edits: %s", r.log);
	am_session_free(s);
}
END_TEST

START_TEST(session_enforces_dmarc_under_reject_failures)
{
	static const char msg_reject[] =
	    "From: a@reject.example\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n";
	static const char msg_quarantine[] =
	    "From: a@quarantine.example\r\nTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n";
	struct recorded r;
	am_session *s = am_session_new(eng, true);

	fz_add_txt(pz, "_dmarc.reject.example", "v=DMARC1; p=reject");
	fz_add_txt(pz, "_dmarc.quarantine.example", "v=DMARC1; p=quarantine");
	ck_assert_int_eq(am_session_connect(s, "192.0.2.99"), AM_SESSION_CONTINUE);

	/* RejectFailures no: reported, never enforced */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(session_message(s, msg_reject, sizeof(msg_reject) - 1, "<a@reject.example>", &r),
	    AM_SESSION_CONTINUE);
	ck_assert_ptr_nonnull(strstr(r.log, "dmarc=fail"));

	conf.reject_failures = true;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(session_message(s, msg_reject, sizeof(msg_reject) - 1, "<a@reject.example>", &r),
	    AM_SESSION_REJECT);
	ck_assert_str_eq(r.log, "");		/* a rejected message gets no header */
	ck_assert_str_eq(am_session_reply_text(s), "DMARC policy of reject.example (p=reject) rejects this "
	    "message: neither SPF nor DKIM passed aligned with the From domain");

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(session_message(s, msg_quarantine, sizeof(msg_quarantine) - 1,
	    "<a@quarantine.example>", &r), AM_SESSION_CONTINUE);
	ck_assert_msg(strncmp(r.log, "quar DMARC fail for quarantine.example under p=quarantine;ins ", 62) == 0,
	    "edits: %s", r.log);
	conf.reject_failures = false;
	am_session_free(s);
}
END_TEST

/*
 * A 600-octet MAIL FROM.  Cut at 511 octets it would read
 * "aaa...@us-east-1.amazonses.com", whose SPF passes SES_CLIENT; whole,
 * it is past RFC 5321's 256 octets and gives no domain to check, which
 * RFC 7208 4.3 (and 2.6.1) make "none".
 */
START_TEST(session_overlong_mail_from_checks_no_cut_domain)
{
	char path[] = "/tmp/check_session_log_XXXXXX", err[256], mail_from[700], *p;
	size_t len, loglen;
	char *raw = fixture("ses.eml", &len), *log;
	struct recorded r = { "", 0 };
	struct jval *rec;
	am_session *s;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert(am_conf_set(&conf, "AlignmentLog", path, err, sizeof(err)));
	ck_assert_msg(am_pipeline_open_log(eng, err, sizeof(err)), "%s", err);
	p = mail_from;
	*p++ = '<';
	memset(p, 'a', 487);
	p += 487;
	p += sprintf(p, "@us-east-1.amazonses.com.");
	memset(p, 'b', 40);
	p += 40;
	*p++ = '.';
	memset(p, 'c', 39);
	p += 39;
	strcpy(p, ".example>");
	ck_assert_uint_eq(strlen(mail_from), 602);

	s = am_session_new(eng, true);
	ck_assert_int_eq(am_session_connect(s, SES_CLIENT), AM_SESSION_CONTINUE);
	ck_assert_int_eq(session_message(s, raw, len, mail_from, &r), AM_SESSION_CONTINUE);
	ck_assert_msg(strstr(r.log, "spf=none (MAIL FROM of 600 octets is too long") != NULL, "edits: %s", r.log);
	ck_assert_msg(strstr(r.log, "smtp.mailfrom=") == NULL, "edits: %s", r.log);
	am_session_free(s);

	log = tu_slurp(path, &loglen);
	unlink(path);
	ck_assert_ptr_nonnull(log);
	rec = json_must_parse(log, loglen);
	ck_assert_str_eq(jstr(jget(rec, "spf"), "result"), "none");
	ck_assert_str_eq(jstr(jget(rec, "spf"), "domain"), "");
	ck_assert_ptr_null(strchr(jstr(rec, "mail_from"), '@'));
	ck_assert_ptr_null(strstr(log, "us-east-1.amazonses.com\""));
	jfree(rec);
	free(log);
	free(raw);
}
END_TEST

/*
 * Spoofs of a p=reject domain behind a From the strict reader refuses
 * (issue 16, item 1).  RFC 7489 6.6.1 and RFC 9989 (draft-41) 11.5:
 * evaluate every author domain and apply the strictest policy; before,
 * each of these ended as dmarc=permerror and was delivered under
 * RejectFailures.  RFC 5322 3.6.2: one From field; 3.4: its mailboxes.
 */
static const char *const spoofs[] = {
	"From: PayPal, Inc. <service@paypal.example>\r\n",	/* unquoted comma */
	"From: <service@paypal.example> (PayPal\r\n",		/* unterminated comment */
	"From: a@evil.example, service@paypal.example\r\n",	/* two addresses */
	"From: a@evil.example\r\nFrom: service@paypal.example\r\n", /* two From fields */
};

/* A message with the given From line(s); free it. */
static char *
spoof_message(const char *from, size_t *len)
{
	char *m = am_xmalloc(strlen(from) + 128);

	*len = (size_t)sprintf(m, "%sTo: b@example.net\r\nSubject: x\r\n\r\nbody\r\n", from);
	return m;
}

START_TEST(session_rejects_malformed_from_spoofs)
{
	struct recorded r;
	am_session *s = am_session_new(eng, true);
	size_t i, len;

	fz_add_txt(pz, "_dmarc.paypal.example", "v=DMARC1; p=reject");
	fz_add_txt(pz, "_dmarc.evil.example", "v=DMARC1; p=none");
	ck_assert_int_eq(am_session_connect(s, "192.0.2.99"), AM_SESSION_CONTINUE);
	for (i = 0; i < NELEM(spoofs); i++) {
		char *m = spoof_message(spoofs[i], &len);
		struct am_verdict *v = new_verdict();

		/* the verdict: the strictest author domain decides */
		check_message(m, len, "192.0.2.99", "mx.evil.example", "a@evil.example", 0, v);
		ck_assert_msg(v->from_status != AM_FROM_OK, "%s: from ok", spoofs[i]);
		ck_assert_msg(v->dmarc.result == AM_DMARC_FAIL && v->dmarc.disposition == AM_POLICY_REJECT,
		    "%s: dmarc=%s (%s)", spoofs[i], am_dmarc_result_name(v->dmarc.result), v->dmarc.reason);
		ck_assert_str_eq(v->from_domain, "paypal.example");
		ck_assert(v->hints & BIT(AM_HINT_FROM_INVALID));
		free(v);

		/* RejectFailures no: delivered, the verdict in the header */
		conf.reject_failures = false;
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(session_message(s, m, len, "<a@evil.example>", &r), AM_SESSION_CONTINUE);
		ck_assert_msg(strstr(r.log, "dmarc=fail (p=reject dis=reject) header.from=paypal.example") != NULL,
		    "%s: edits %s", spoofs[i], r.log);
		/* RejectFailures yes: 550 5.7.1 naming the spoofed domain */
		conf.reject_failures = true;
		memset(&r, 0, sizeof(r));
		ck_assert_msg(session_message(s, m, len, "<a@evil.example>", &r) == AM_SESSION_REJECT,
		    "%s: not rejected", spoofs[i]);
		ck_assert_str_eq(r.log, "");
		ck_assert_str_eq(am_session_reply_text(s), "DMARC policy of paypal.example (p=reject) rejects "
		    "this message: neither SPF nor DKIM passed aligned with the From domain");
		conf.reject_failures = false;
		free(m);
	}
	am_session_free(s);
}
END_TEST

/*
 * No author domain can be read, too many, or one address without a
 * usable domain: the evaluation is incomplete (RFC 9989 11.5), so under
 * RejectFailures (RejectMalformedFrom yes, the default) it is rejected;
 * without RejectFailures, or with RejectMalformedFrom no, delivered with
 * the verdict in the header.
 */
START_TEST(session_rejects_unreadable_from)
{
	static const char *const froms[] = {
		"From: (PayPal <service@paypal.example>\r\n",	/* all comment */
		"From: \"PayPal <service@paypal.example>\r\n",	/* all quoted */
		"From: a@a.example, b@b.example, c@c.example, d@d.example, e@e.example, f@f.example\r\n",
		"From: a@[192.0.2.1], b@evil.example\r\n",	/* a domain literal beside it */
		"",						/* no From at all */
	};
	struct recorded r;
	am_session *s = am_session_new(eng, true);
	char err[128];
	size_t i, len;

	fz_add_txt(pz, "_dmarc.evil.example", "v=DMARC1; p=none");
	ck_assert_int_eq(am_session_connect(s, "192.0.2.99"), AM_SESSION_CONTINUE);
	for (i = 0; i < NELEM(froms); i++) {
		char *m = spoof_message(froms[i], &len);

		conf.reject_failures = false;
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(session_message(s, m, len, "<a@evil.example>", &r), AM_SESSION_CONTINUE);
		ck_assert_msg(r.inserts == 1 && strstr(r.log, "dmarc=pass") == NULL, "%s: edits %s",
		    froms[i], r.log);
		conf.reject_failures = true;
		memset(&r, 0, sizeof(r));
		ck_assert_msg(session_message(s, m, len, "<a@evil.example>", &r) == AM_SESSION_REJECT,
		    "%s: not rejected", froms[i]);
		ck_assert_str_eq(r.log, "");
		ck_assert_msg(strncmp(am_session_reply_text(s), "Malformed From: ", 16) == 0, "%s",
		    am_session_reply_text(s));
		ck_assert(am_conf_set(&conf, "RejectMalformedFrom", "no", err, sizeof(err)));
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(session_message(s, m, len, "<a@evil.example>", &r), AM_SESSION_CONTINUE);
		ck_assert_uint_eq(r.inserts, 1);
		ck_assert(am_conf_set(&conf, "RejectMalformedFrom", "yes", err, sizeof(err)));
		conf.reject_failures = false;
		free(m);
	}
	am_session_free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, session_passes_ignored_and_addressless_clients);
	tcase_add_test(tc, session_removes_forged_results_and_inserts_ours);
	tcase_add_test(tc, session_removes_uncertain_and_forged_results_from_every_client);
	tcase_add_test(tc, session_keeps_results_of_trusted_authres_clients);
	tcase_add_test(tc, session_enforces_dmarc_under_reject_failures);
	tcase_add_test(tc, session_overlong_mail_from_checks_no_cut_domain);
	tcase_add_test(tc, session_rejects_malformed_from_spoofs);
	tcase_add_test(tc, session_rejects_unreadable_from);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
