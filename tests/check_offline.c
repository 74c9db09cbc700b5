/*
 * check_offline.c - unit tests of alignmilter -t (milter/offline.c).
 *
 * Owns the contract of am_offline_check(): a saved message (CRLF or LF,
 * headers only) gives the Authentication-Results header and one JSON
 * record on out and the hints' fixes with their records on err; what is
 * not a message, or cannot be read, gives exit status 1, a reason on err
 * and nothing on out.  Runs over the pipeline fixture of verdictutil.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "milter/offline.h"
#include "testutil.h"
#include "verdictutil.h"

struct captured {
	char	*out, *err;
	size_t	outlen, errlen;
	int	rc;
};

static void
run_offline(const char *path, const char *mail_from, struct captured *cap)
{
	FILE *out, *err;

	memset(cap, 0, sizeof(*cap));
	out = open_memstream(&cap->out, &cap->outlen);
	err = open_memstream(&cap->err, &cap->errlen);
	ck_assert(out != NULL && err != NULL);
	cap->rc = am_offline_check(eng, path, SES_CLIENT, SES_HELO, mail_from, out, err);
	fclose(out);
	fclose(err);
}

static void
captured_free(struct captured *cap)
{
	free(cap->out);
	free(cap->err);
}

/* stdout: "Authentication-Results:" + folded lines, then one JSON line. */
static struct jval *
check_offline_output(const struct captured *cap)
{
	const char *json, *p;

	ck_assert_msg(cap->rc == 0, "rc %d: %s", cap->rc, cap->err);
	ck_assert_msg(strncmp(cap->out, "Authentication-Results: mx.example.net;\n", 40) == 0,
	    "%s", cap->out);
	ck_assert_msg(cap->outlen > 0 && cap->out[cap->outlen - 1] == '\n', "%s", cap->out);
	/* the header: the first line and continuation lines that start with a tab */
	for (p = strchr(cap->out, '\n') + 1; *p == '\t'; p = strchr(p, '\n') + 1)
		;
	json = p;
	ck_assert_msg(*json == '{', "no JSON line after the header: %s", cap->out);
	ck_assert_msg(strchr(json, '\n') == cap->out + cap->outlen - 1, "more than one JSON line: %s",
	    cap->out);
	{
		char *hdr = am_xstrndup(cap->out + 23, (size_t)(json - cap->out - 23 - 1));

		check_ar_structure(hdr);
		free(hdr);
	}
	return json_must_parse(json, cap->outlen - (size_t)(json - cap->out));
}

START_TEST(offline_ses_file)
{
	struct captured cap;
	struct jval *r;

	run_offline(FIX_DIR "/ses.eml", SES_ENVELOPE, &cap);
	r = check_offline_output(&cap);
	check_record_schema(r);
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "pass");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "result"), "pass");
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[1], "result"), "pass");
	ck_assert_str_eq(jstr(jget(r, "ses"), "mail_from"), "default");
	ck_assert_uint_eq(jget(r, "hints")->n, 3);
	ck_assert_msg(strstr(cap.out, "\tdkim=pass header.d=example.com header.s=tok1 ") != NULL,
	    "%s", cap.out);
	/* the fixes go to err: a line per hint, then its records as bare zone-file lines */
	ck_assert_msg(strstr(cap.err, "hint ses-default-mail-from: ") != NULL, "%s", cap.err);
	ck_assert_msg(strstr(cap.err, " publish its MX and SPF records\n"
	    "mail.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com.\n"
	    "mail.example.com. TXT \"v=spf1 include:amazonses.com ~all\"\n") != NULL, "%s", cap.err);
	ck_assert_msg(strstr(cap.err, "\\\"") == NULL, "escaped quotes on stderr: %s", cap.err);
	ck_assert_msg(strstr(cap.err, "hint dmarc-single-mechanism: ") != NULL, "%s", cap.err);
	ck_assert_msg(strstr(cap.err, "hint dmarc-policy-none: ") != NULL, "%s", cap.err);
	jfree(r);
	captured_free(&cap);
}
END_TEST

/* A saved message with LF line ends (as most tools save them) checks the same. */
START_TEST(offline_lf_file)
{
	char path[] = "/tmp/check_offline_lf_XXXXXX";
	int fd = mkstemp(path);
	size_t len, i, o = 0;
	char *raw = fixture("ses.eml", &len), *lf = am_xmalloc(len + 1);
	struct captured cap;
	struct jval *r;

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < len; i++)
		if (!(raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
			lf[o++] = raw[i];
	ck_assert_int_eq(write(fd, lf, o), (ssize_t)o);
	close(fd);
	run_offline(path, SES_ENVELOPE, &cap);
	unlink(path);
	r = check_offline_output(&cap);
	ck_assert_msg(strcmp(jstr(jget(r, "dkim")->items[0], "result"), "pass") == 0 &&
	    strcmp(jstr(jget(r, "dkim")->items[1], "result"), "pass") == 0, "%s", cap.out);
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "pass");
	jfree(r);
	captured_free(&cap);
	free(lf);
	free(raw);
}
END_TEST

/* Header fields only, no empty line, no body: still a message. */
START_TEST(offline_headers_only)
{
	static const char msg[] = "From: Carol <carol@example.com>\nSubject: no body";
	char path[] = "/tmp/check_offline_hdr_XXXXXX";
	int fd = mkstemp(path);
	struct captured cap;
	struct jval *r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, msg, sizeof(msg) - 1), (ssize_t)(sizeof(msg) - 1));
	close(fd);
	run_offline(path, "bounce@example.com", &cap);
	unlink(path);
	r = check_offline_output(&cap);
	ck_assert_str_eq(jstr(r, "from_domain"), "example.com");
	ck_assert_str_eq(jstr(jget(r, "spf"), "result"), "fail");	/* example.com: v=spf1 -all */
	/* the envelope domain is the From domain: aligned, whatever the result (RFC 7489 3.1.2) */
	ck_assert(jget(jget(r, "spf"), "aligned")->b);
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "fail");
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "policy"), "none");
	ck_assert_str_eq(jstr(r, "sender"), "other");
	ck_assert_msg(strstr(cap.out, "\tdkim=none;\n") != NULL, "%s", cap.out);
	jfree(r);
	captured_free(&cap);
}
END_TEST

START_TEST(offline_errors)
{
	static const char *const bad[] = {
		"this is not a message\n",
		"",
		"\r\n\r\nbody only\r\n",
		"Bad Header Name: x\r\n\r\nbody\r\n",
	};
	char path[] = "/tmp/check_offline_bad_XXXXXX";
	struct captured cap;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		int fd = mkstemp(path);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		run_offline(path, SES_ENVELOPE, &cap);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		ck_assert_msg(cap.rc == 1, "case %zu: rc %d, out %s", i, cap.rc, cap.out);
		ck_assert_msg(cap.outlen == 0, "case %zu: output on error: %s", i, cap.out);
		ck_assert_msg(strstr(cap.err, "not an RFC 5322 message") != NULL, "case %zu: %s", i, cap.err);
		ck_assert_msg(cap.err[cap.errlen - 1] == '\n', "case %zu: %s", i, cap.err);
		captured_free(&cap);
	}
	run_offline("/nonexistent/dir/message.eml", SES_ENVELOPE, &cap);
	ck_assert_int_eq(cap.rc, 1);
	ck_assert_uint_eq(cap.outlen, 0);
	ck_assert_msg(strstr(cap.err, "/nonexistent/dir/message.eml") != NULL &&
	    strstr(cap.err, "No such file") != NULL, "%s", cap.err);
	captured_free(&cap);
	/* a directory cannot be read as a message */
	run_offline("/", SES_ENVELOPE, &cap);
	ck_assert_int_eq(cap.rc, 1);
	ck_assert_uint_eq(cap.outlen, 0);
	ck_assert_uint_gt(cap.errlen, 0);
	captured_free(&cap);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("offline");
	TCase *tc = tcase_create("offline");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, offline_ses_file);
	tcase_add_test(tc, offline_lf_file);
	tcase_add_test(tc, offline_headers_only);
	tcase_add_test(tc, offline_errors);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
