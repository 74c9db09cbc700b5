/*
 * check_domaincheck.c - unit tests of alignmilter-check's checks and of the
 * record-inspection functions it borrows from the milter (spf.h, dmarc.h).
 *
 * The loopback-nsd script test (tests/domaincheck.test) covers the DNS
 * set-ups a real server can hold; this covers what it cannot: a CNAME that
 * shares its name with a TXT record (nsd refuses to load such a zone, some
 * providers serve it), and the exported grammar/lookup-count helpers.
 * Under DMARCStandard rfc9989: the names of a long domain's tree walk
 * (RFC 9989 4.10), a DNS failure on the walk, and a public suffix
 * operator's record (psd=y at _dmarc.com), which the fixture's com zone
 * cannot hold without changing every other script case.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "tools/check/domaincheck.h"
#include "fakezone.h"
#include "dns/resolver.h"
#include "auth/spf.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define KEY2048 "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnc0Lgtwjub8+seXFj085e2QZQfCePYdZ1mbrZlNu7oFJ" \
	"fKpb/SQenSzukNCNp7gOY7dm+Qetmb1GFBLHu6KXm71XZ4GJGVdqhNhMZ9lSd4xDYJdtDcC4uWBi0TczTWPnbxBAjEwAoQpL" \
	"KAEcssSlFQa2RbqQIdb8Y6SX75aBa7th/xizZv4qdIyPSVwNNmx1D10ku61DFeSL3wKJYAc3IaDUU11qe/AalhFJgJx++D5t" \
	"vCgiJZRGzbPYoh2pfb3JzwsEv37lPCfYdje2/tn+AdillgcKHDGtoope5HaTA0x+lmKShhwp+lnl0Y8q/m085KIK1qhL2fDV" \
	"iW4ccZ7iLQIDAQAB"
#define CONFLICT "tok-a._domainkey.conflict.example.com"

static struct fakezone *fz;

/* fakezone follows CNAMEs; at CONFLICT a broken server answers the TXT beside it. */
static struct am_dns_answer *
conflict_backend(void *arg, const char *name, int rrtype)
{
	struct am_dns_answer *a;
	const char *txt = "v=DKIM1; p=" KEY2048;

	if (rrtype == AM_RR_TXT && strcasecmp(name, CONFLICT) == 0) {
		a = am_dns_answer_new(AM_DNS_OK, AM_RR_TXT);
		am_strlcpy(a->canonname, name, sizeof(a->canonname));
		am_dns_answer_add(a, txt, strlen(txt), 0);
		return a;
	}
	return fz_backend(arg, name, rrtype);
}

static void
zone_setup(void)
{
	fz = fz_new();
	fz_add_txt(fz, "tok-a.dkim.amazonses.com", "p=" KEY2048);
	fz_add_txt(fz, "amazonses.com", "v=spf1 ip4:54.240.0.0/18 -all");
	fz_add_cname(fz, CONFLICT, "tok-a.dkim.amazonses.com");
	fz_add_mx(fz, "mail.conflict.example.com", 10, "feedback-smtp.us-east-1.amazonses.com");
	fz_add_txt(fz, "mail.conflict.example.com", "v=spf1 include:amazonses.com ~all");
	fz_add_txt(fz, "_dmarc.conflict.example.com", "v=DMARC1; p=reject; rua=mailto:d@conflict.example.com");
	/* SPF lookup counting: a chain of includes */
	fz_add_txt(fz, "inc1.example.net", "v=spf1 a mx include:inc2.example.net -all");
	fz_add_txt(fz, "inc2.example.net", "v=spf1 a mx ptr exists:%{i}.x.example.net -all");
	fz_add_txt(fz, "loop.example.net", "v=spf1 include:loop.example.net -all");
	fz_add_txt(fz, "redir.example.net", "v=spf1 redirect=inc2.example.net");
}

static void
zone_teardown(void)
{
	fz_free(fz);
}

static const struct am_dc_check *
find(const struct am_dc_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	return NULL;
}

START_TEST(test_cname_and_txt)
{
	am_resolver *res = am_resolver_new_backend(conflict_backend, fz, 1000);
	char err[256];
	am_dmarc *dm = am_dmarc_new(res, AM_DMARC_RFC7489, PSL_PATH, err, sizeof(err));
	struct am_dc_options o;
	struct am_dc_result *r;
	const struct am_dc_check *k;

	ck_assert_msg(dm != NULL, "%s", err);
	memset(&o, 0, sizeof(o));
	o.domain = "conflict.example.com";
	o.selectors[o.nselectors++] = "tok-a";
	o.mail_from = "mail";
	r = am_dc_run(res, dm, &o);
	ck_assert_msg(!r->failed, "%s", r->error);
	k = find(r, "dkim:tok-a");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->status, AM_DC_FAIL);
	ck_assert_int_eq(k->hint, -1);
	ck_assert_msg(strstr(k->detail, "CNAME and other records") != NULL, "%s", k->detail);
	ck_assert_ptr_nonnull(k->fix);
	ck_assert_msg(strncmp(k->fix, "; remove: " CONFLICT ". TXT \"v=DKIM1; p=MII", 40) == 0, "%s", k->fix);
	ck_assert_msg(strstr(k->fix, "\n" CONFLICT ". CNAME tok-a.dkim.amazonses.com.") != NULL, "%s", k->fix);
	/* Its only selector is broken: no working Easy DKIM. */
	ck_assert_int_eq(find(r, "easy-dkim")->status, AM_DC_FAIL);
	ck_assert_int_eq(r->grade, 'D');
	am_dc_result_free(r);
	am_dmarc_free(dm);
	am_resolver_free(res);
}
END_TEST

START_TEST(test_timeout_is_unchecked)
{
	am_resolver *res = am_resolver_new_backend(fz_backend, fz, 1000);
	char err[256];
	am_dmarc *dm = am_dmarc_new(res, AM_DMARC_RFC7489, PSL_PATH, err, sizeof(err));
	struct am_dc_options o;
	struct am_dc_result *r;

	fz_set_status(fz, "_dmarc.conflict.example.com", 0, AM_DNS_TIMEOUT);
	memset(&o, 0, sizeof(o));
	o.domain = "conflict.example.com";
	r = am_dc_run(res, dm, &o);
	ck_assert(r->failed);
	ck_assert_msg(strstr(r->error, "_dmarc.conflict.example.com") != NULL, "%s", r->error);
	am_dc_result_free(r);
	am_dmarc_free(dm);
	am_resolver_free(res);
}
END_TEST

START_TEST(test_spf_record_check)
{
	char why[AM_REASON_MAX];

	ck_assert(am_spf_record_check("v=spf1 include:amazonses.com ~all", why, sizeof(why)));
	ck_assert(am_spf_record_check("v=spf1", why, sizeof(why)));
	ck_assert(!am_spf_record_check("v=spf1 include:amazonses.com redirect:x.example ~all",
	    why, sizeof(why)));
	ck_assert_msg(strstr(why, "redirect:x.example") != NULL, "%s", why);
	ck_assert(!am_spf_record_check("v=spf1 ip4:192.0.2.0/033 -all", why, sizeof(why)));
	ck_assert(!am_spf_record_check("v=spf1 redirect=a.example redirect=b.example", why, sizeof(why)));
	ck_assert(!am_spf_record_check("spf1 -all", why, sizeof(why)));
	ck_assert(am_spf_is_record("V=SPF1 -all"));
	ck_assert(!am_spf_is_record("v=spf10 -all"));
}
END_TEST

START_TEST(test_spf_count_lookups)
{
	am_resolver *res = am_resolver_new_backend(fz_backend, fz, 1000);
	struct am_spf_lookups lk;

	am_spf_count_lookups(res, "v=spf1 ip4:192.0.2.1 -all", &lk);
	ck_assert_uint_eq(lk.lookups, 0);
	/* a, mx, include:inc1 (a, mx, include:inc2 (a, mx, ptr, exists)) = 10 */
	am_spf_count_lookups(res, "v=spf1 a mx include:inc1.example.net -all", &lk);
	ck_assert_uint_eq(lk.lookups, 10);
	ck_assert(!lk.macros);
	ck_assert_str_eq(lk.problem, "");
	/* an include target with macros depends on the message: counted, not followed */
	am_spf_count_lookups(res, "v=spf1 include:%{d}.example.net -all", &lk);
	ck_assert_uint_eq(lk.lookups, 1);
	ck_assert(lk.macros);
	am_spf_count_lookups(res, "v=spf1 a mx ptr include:inc1.example.net -all", &lk);
	ck_assert_uint_gt(lk.lookups, 10);
	/* redirect= counts unless "all" is there; its target is followed */
	am_spf_count_lookups(res, "v=spf1 redirect=redir.example.net", &lk);
	ck_assert_uint_eq(lk.lookups, 6);
	am_spf_count_lookups(res, "v=spf1 -all redirect=redir.example.net", &lk);
	ck_assert_uint_eq(lk.lookups, 0);
	/* a loop ends at the limit */
	am_spf_count_lookups(res, "v=spf1 include:loop.example.net", &lk);
	ck_assert_uint_gt(lk.lookups, 10);
	/* an include without a record is a permerror */
	am_spf_count_lookups(res, "v=spf1 include:none.example.net -all", &lk);
	ck_assert_msg(strstr(lk.problem, "no SPF record at none.example.net") != NULL, "%s", lk.problem);
	fz_set_status(fz, "fail.example.net", 0, AM_DNS_SERVFAIL);
	am_spf_count_lookups(res, "v=spf1 include:fail.example.net -all", &lk);
	ck_assert(lk.dns_error);
	am_resolver_free(res);
}
END_TEST

START_TEST(test_dmarc_parse_record)
{
	struct am_dmarc_record d;

	am_dmarc_parse_record("v=DMARC1; p=Reject; sp=none; aspf=s; pct=50; rua=mailto:a@example.com", AM_DMARC_RFC7489, &d);
	ck_assert(d.usable && !d.as_none);
	ck_assert_str_eq(d.p, "reject");
	ck_assert_str_eq(d.sp, "none");
	ck_assert_int_eq(d.aspf, 's');
	ck_assert_int_eq(d.adkim, 'r');
	ck_assert_uint_eq(d.pct, 50);
	ck_assert_str_eq(d.rua, "mailto:a@example.com");
	ck_assert_str_eq(d.ignored, "");

	am_dmarc_parse_record("v=DMARC1; p=reject; pct=101; fo=9", AM_DMARC_RFC7489, &d);
	ck_assert(d.usable);
	ck_assert_uint_eq(d.pct, 100);
	ck_assert_msg(strstr(d.ignored, "pct=") && strstr(d.ignored, "fo="), "%s", d.ignored);

	am_dmarc_parse_record("v=DMARC1; p=bogus", AM_DMARC_RFC7489, &d);		/* 6.6.3: no policy */
	ck_assert(!d.usable && d.p_invalid);
	am_dmarc_parse_record("v=DMARC1; rua=mailto:a@example.com", AM_DMARC_RFC7489, &d);	/* as p=none */
	ck_assert(d.usable && d.as_none);
	ck_assert(!am_dmarc_is_record("v=DMARC2; p=none"));
	ck_assert(am_dmarc_is_record("v = DMARC1;p=none"));
}
END_TEST

/* Run the checker on domain under rfc9989 over the fake zone (no selectors, no MAIL FROM). */
static struct am_dc_result *
run_9989(const char *domain, const char *mail_from)
{
	am_resolver *res = am_resolver_new_backend(fz_backend, fz, 1000);
	char err[256];
	am_dmarc *dm = am_dmarc_new(res, AM_DMARC_RFC9989, PSL_PATH, err, sizeof(err));
	struct am_dc_options o;
	struct am_dc_result *r;

	ck_assert_msg(dm != NULL, "%s", err);
	memset(&o, 0, sizeof(o));
	o.domain = domain;
	o.mail_from = mail_from;
	r = am_dc_run(res, dm, &o);
	am_dmarc_free(dm);
	am_resolver_free(res);
	return r;
}

/* RFC 9989 4.10: the example's eight queries, and no record on any of them. */
START_TEST(test_walk_names_long)
{
	struct am_dc_result *r = run_9989("a.b.c.d.e.f.g.h.i.j.mail.example.com", NULL);
	const struct am_dc_check *k;

	ck_assert_msg(!r->failed, "%s", r->error);
	k = find(r, "dmarc-record");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->status, AM_DC_FAIL);
	ck_assert_int_eq(k->hint, AM_HINT_DMARC_NO_RECORD);
	ck_assert_msg(strstr(k->detail, "no DMARC record at _dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com, "
	    "_dmarc.g.h.i.j.mail.example.com, _dmarc.h.i.j.mail.example.com, _dmarc.i.j.mail.example.com, "
	    "_dmarc.j.mail.example.com, _dmarc.mail.example.com, _dmarc.example.com, _dmarc.com (the DNS "
	    "tree walk, RFC 9989 4.10)") == k->detail, "%s", k->detail);
	am_dc_result_free(r);
	/* 8 labels: cut straight to the last 7 (step 4). */
	r = run_9989("b.c.d.e.f.g.example.com", NULL);
	k = find(r, "dmarc-record");
	ck_assert_msg(strstr(k->detail, "at _dmarc.b.c.d.e.f.g.example.com, _dmarc.c.d.e.f.g.example.com, "
	    "_dmarc.d.e.f.g.example.com,") != NULL, "%s", k->detail);
	am_dc_result_free(r);
}
END_TEST

/* A walk name that fails (SERVFAIL) leaves the policy unknown: could not check. */
START_TEST(test_walk_servfail)
{
	struct am_dc_result *r;

	fz_add_a(fz, "shop.walk.example.com", "192.0.2.1");
	fz_add_txt(fz, "_dmarc.example.com", "v=DMARC1; p=reject");
	fz_set_status(fz, "_dmarc.walk.example.com", 0, AM_DNS_SERVFAIL);
	r = run_9989("shop.walk.example.com", NULL);
	ck_assert(r->failed);
	ck_assert_msg(strstr(r->error, "walk.example.com") != NULL, "%s", r->error);
	am_dc_result_free(r);
	/* Its own record applies, but the organizational domain (4.10.2) stays unknown. */
	fz_add_txt(fz, "_dmarc.own.example.org", "v=DMARC1; p=reject; rua=mailto:d@own.example.org");
	fz_set_status(fz, "_dmarc.example.org", 0, AM_DNS_SERVFAIL);
	r = run_9989("own.example.org", NULL);
	ck_assert(r->failed);
	ck_assert_msg(strstr(r->error, "organizational domain unknown") != NULL, "%s", r->error);
	am_dc_result_free(r);
}
END_TEST

/*
 * RFC 9989 4.10.1, 4.10.2: only a public suffix operator's record (psd=y
 * at _dmarc.com) applies; the organizational domain is the name one label
 * below it; the fix is a record of the domain's own.
 */
START_TEST(test_psd_operator)
{
	struct am_dc_result *r;
	const struct am_dc_check *k;

	fz_add_txt(fz, "_dmarc.com", "v=DMARC1; p=reject; psd=y; rua=mailto:pso@nic.example");
	fz_add_a(fz, "shop.pso.com", "192.0.2.1");
	r = run_9989("shop.pso.com", NULL);
	ck_assert_msg(!r->failed, "%s", r->error);
	k = find(r, "dmarc-record");
	ck_assert_int_eq(k->status, AM_DC_PASS);
	ck_assert_msg(strstr(k->detail, "_dmarc.com (a parent name") != NULL, "%s", k->detail);
	k = find(r, "dmarc-psd");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->status, AM_DC_WARN);
	ck_assert_uint_eq(k->points, 5);
	ck_assert_msg(strstr(k->detail, "organizational domain pso.com") != NULL, "%s", k->detail);
	ck_assert_str_eq(k->fix, "_dmarc.pso.com. TXT \"v=DMARC1; p=reject; rua=mailto:dmarc-reports@pso.com\"");
	/* The policy the operator's record gives an existing subdomain: sp=, else p= (4.10.1). */
	k = find(r, "dmarc-policy");
	ck_assert_msg(strncmp(k->detail, "p=reject", 8) == 0, "%s", k->detail);
	am_dc_result_free(r);
}
END_TEST

/* The checker's parser calls: RFC 9989 keeps pct only to warn; RFC 7489 validates it. */
START_TEST(test_dmarc_parse_record_9989)
{
	struct am_dmarc_record d;

	am_dmarc_parse_record("v=DMARC1; p=reject; np=none; psd=n; t=y; pct=0", AM_DMARC_RFC9989, &d);
	ck_assert(d.usable && !d.as_none && d.testing && d.pct_present);
	ck_assert_str_eq(d.np, "none");
	ck_assert_int_eq(d.psd, 'n');
	ck_assert_uint_eq(d.pct, 0);
	ck_assert_str_eq(d.ignored, "");
	am_dmarc_parse_record("v=DMARC1; p=reject; pct=x", AM_DMARC_RFC9989, &d);
	ck_assert(d.pct_present && d.pct == 100);
	ck_assert_str_eq(d.ignored, "");		/* historic: never named invalid (9.3) */
	am_dmarc_parse_record("v=DMARC1; p=reject; pct=x", AM_DMARC_RFC7489, &d);
	ck_assert_str_eq(d.ignored, "ignored invalid pct=");
}
END_TEST

START_TEST(test_grades)
{
	ck_assert_int_eq(am_dc_grade(100), 'A');
	ck_assert_int_eq(am_dc_grade(90), 'A');
	ck_assert_int_eq(am_dc_grade(89), 'B');
	ck_assert_int_eq(am_dc_grade(80), 'B');
	ck_assert_int_eq(am_dc_grade(70), 'C');
	ck_assert_int_eq(am_dc_grade(60), 'D');
	ck_assert_int_eq(am_dc_grade(59), 'F');
	ck_assert_uint_eq(am_dc_section_cap(AM_DC_SEC_DKIM) + am_dc_section_cap(AM_DC_SEC_MAIL_FROM) +
	    am_dc_section_cap(AM_DC_SEC_DMARC), 100);
}
END_TEST

static Suite *
domaincheck_suite(void)
{
	Suite *s = suite_create("domaincheck");
	TCase *tc = tcase_create("checks");

	tcase_add_checked_fixture(tc, zone_setup, zone_teardown);
	tcase_add_test(tc, test_cname_and_txt);
	tcase_add_test(tc, test_timeout_is_unchecked);
	tcase_add_test(tc, test_spf_record_check);
	tcase_add_test(tc, test_spf_count_lookups);
	tcase_add_test(tc, test_dmarc_parse_record);
	tcase_add_test(tc, test_grades);
	tcase_add_test(tc, test_walk_names_long);
	tcase_add_test(tc, test_walk_servfail);
	tcase_add_test(tc, test_psd_operator);
	tcase_add_test(tc, test_dmarc_parse_record_9989);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(domaincheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
