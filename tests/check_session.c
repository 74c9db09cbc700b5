/*
 * check_session.c - unit tests of the session layer (milter/session.c).
 *
 * Owns what both milter transports do per connection, driven here as
 * they drive it with the edits recorded: ignored and address-less clients
 * pass untouched, forged Authentication-Results carrying our authserv-id
 * are removed and ours inserted once, and RejectFailures enforces
 * p=reject and p=quarantine.  Runs over the pipeline fixture of verdictutil.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	ck_assert_int_eq(am_session_connect(s, NULL), AM_SESSION_ACCEPT);
	ck_assert_int_eq(am_session_connect(s, "127.0.0.1"), AM_SESSION_ACCEPT);
	ck_assert_int_eq(session_message(s, raw, len, "<" SES_ENVELOPE ">", &r), AM_SESSION_CONTINUE);
	ck_assert_str_eq(r.log, "");
	/* the same session, reconnected by a checked client, checks again */
	ck_assert_int_eq(am_session_connect(s, SES_CLIENT), AM_SESSION_CONTINUE);
	ck_assert_int_eq(session_message(s, raw, len, "<" SES_ENVELOPE ">", &r), AM_SESSION_CONTINUE);
	ck_assert_uint_eq(r.inserts, 1);
	/* and a connect from an ignored client on it does not inherit that */
	r.log[0] = '\0';
	r.inserts = 0;
	ck_assert_int_eq(am_session_connect(s, "::1"), AM_SESSION_ACCEPT);
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
	tcase_add_test(tc, session_enforces_dmarc_under_reject_failures);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
