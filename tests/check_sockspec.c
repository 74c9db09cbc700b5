/*
 * check_sockspec.c - unit tests of the milter socket specification parser.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "util/sockspec.h"

static char err[512];

static void
round_trip(const char *spec, const char *canonical)
{
	struct am_sockspec s;
	char buf[512];

	ck_assert_msg(am_sockspec_parse(spec, &s, err, sizeof(err)), "%s: %s", spec, err);
	am_sockspec_format(&s, buf, sizeof(buf));
	ck_assert_str_eq(buf, canonical);
}

static void
rejected(const char *spec, const char *needle)
{
	struct am_sockspec s;

	ck_assert_msg(!am_sockspec_parse(spec, &s, err, sizeof(err)), "accepted %s", spec);
	ck_assert_msg(strstr(err, needle) != NULL, "%s: \"%s\" not in \"%s\"", spec, needle, err);
}

START_TEST(inet_forms)
{
	struct am_sockspec s;

	ck_assert(am_sockspec_parse("inet:8891@127.0.0.1", &s, err, sizeof(err)));
	ck_assert_int_eq(s.family, AM_SOCK_INET);
	ck_assert_uint_eq(s.port, 8891);
	ck_assert_str_eq(s.host, "127.0.0.1");
	round_trip("inet:8891@127.0.0.1", "inet:8891@127.0.0.1");
	round_trip("INET:25@localhost", "inet:25@localhost");
	round_trip("inet:65535", "inet:65535");
	round_trip("inet6:8891@::1", "inet6:8891@::1");
}
END_TEST

START_TEST(unix_forms)
{
	struct am_sockspec s;

	round_trip("unix:/run/alignmilter/alignmilter.sock", "unix:/run/alignmilter/alignmilter.sock");
	round_trip("local:/tmp/a.sock", "unix:/tmp/a.sock");
	ck_assert(am_sockspec_parse("local:/tmp/a.sock", &s, err, sizeof(err)));
	ck_assert_int_eq(s.family, AM_SOCK_UNIX);
	ck_assert_str_eq(s.path, "/tmp/a.sock");
}
END_TEST

START_TEST(bad_specs)
{
	char longpath[300];

	rejected("8891", "lacks a type");
	rejected("tcp:8891", "unknown socket type");
	rejected("inet:", "bad port");
	rejected("inet:0", "bad port");
	rejected("inet:65536", "bad port");
	rejected("inet:12a@127.0.0.1", "bad port");
	rejected("inet:8891@", "bad host");
	rejected("inet:8891@bad host", "bad host");
	rejected("inet6:8891@127.0.0.1.x!", "bad host");
	rejected("unix:", "absolute");
	rejected("unix:sock", "absolute");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	{
		char spec[320];

		snprintf(spec, sizeof(spec), "unix:%s", longpath);
		rejected(spec, "longer than");
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sockspec");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, inet_forms);
	tcase_add_test(tc, unix_forms);
	tcase_add_test(tc, bad_specs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
