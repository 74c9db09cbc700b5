/*
 * check_spf.c - unit and conformance tests of the SPF module (spf.c).
 *
 * Every check runs the real libspf2 through the SPF module's DNS layer (spf-dns.c) over an
 * in-process zone (fakezone), i.e. the same code path as with libunbound.
 * The conformance part runs the openspf RFC 7208 and RFC 4408 suites from
 * tests/spf/rfc7208.tsv and rfc4408.tsv (generated from the YAML in
 * tests/vectors/spf by tests/spf/yaml2tsv.py); known failures are
 * explained in tests/spf/DEVIATIONS.md.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fakezone.h"
#include "dns/resolver.h"
#include "auth/spf.h"
#include "util/util.h"

/* Conformance thresholds: what this build measured; lower means a regression. */
#define RFC7208_TOTAL		203
#define RFC7208_MIN_PASS	195
#define RFC4408_TOTAL		191
#define RFC4408_MIN_PASS	183

static struct fakezone *fz;
static am_resolver *res;
static am_spf *spf;

static void
setup(void)
{
	char err[256];

	fz = fz_new();
	res = am_resolver_new_backend(fz_backend, fz, 2000);
	ck_assert_ptr_nonnull(res);
	spf = am_spf_new(res, err, sizeof(err));
	ck_assert_msg(spf != NULL, "am_spf_new: %s", err);
}

static void
teardown(void)
{
	am_spf_free(spf);
	am_resolver_free(res);
	fz_free(fz);
}

static struct am_spf_verdict
check(const char *ip, const char *helo, const char *from)
{
	struct am_spf_verdict v;

	am_spf_check(spf, ip, helo, from, &v);
	return v;
}

#define EXPECT(v, want) ck_assert_msg((v).result == (want), \
	"got %s (%s), want %s", am_spf_result_name((v).result), (v).reason, \
	am_spf_result_name(want))

/* ---- results ------------------------------------------------------------- */

START_TEST(result_pass_fail)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.com", "v=spf1 ip4:192.0.2.0/24 -all");
	v = check("192.0.2.10", "mx.example.net", "user@example.com");
	EXPECT(v, AM_SPF_PASS);
	ck_assert_str_eq(v.domain, "example.com");
	ck_assert(!v.helo_identity);
	ck_assert(v.reason[0] != '\0');
	v = check("198.51.100.1", "mx.example.net", "user@Example.COM");
	EXPECT(v, AM_SPF_FAIL);
	ck_assert_str_eq(v.domain, "example.com");
	ck_assert_str_eq(v.explanation, "");	/* no exp=, no default text */
}
END_TEST

START_TEST(result_softfail_neutral_none)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "soft.example", "v=spf1 ~all");
	fz_add_txt(fz, "neutral.example", "v=spf1 ?all");
	fz_add_txt(fz, "empty.example", "v=spf1");	/* RFC 7208 4.5: no trailing space needed */
	fz_add_txt(fz, "other.example", "google-site-verification=abc");
	v = check("192.0.2.1", "h.example", "a@soft.example");
	EXPECT(v, AM_SPF_SOFTFAIL);
	v = check("192.0.2.1", "h.example", "a@neutral.example");
	EXPECT(v, AM_SPF_NEUTRAL);
	v = check("192.0.2.1", "h.example", "a@empty.example");
	EXPECT(v, AM_SPF_NEUTRAL);
	v = check("192.0.2.1", "h.example", "a@other.example");
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.1", "h.example", "a@nxdomain.example");
	EXPECT(v, AM_SPF_NONE);
}
END_TEST

START_TEST(result_permerror)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "syntax.example", "v=spf1 ip4:192.0.2.300 -all");
	fz_add_txt(fz, "unknown.example", "v=spf1 frobnicate:x.example -all");
	fz_add_txt(fz, "two.example", "v=spf1 -all");
	fz_add_txt(fz, "two.example", "v=spf1 +all");
	fz_add_txt(fz, "badmacro.example", "v=spf1 a:%{z}.example -all");
	v = check("192.0.2.1", "h.example", "a@syntax.example");
	EXPECT(v, AM_SPF_PERMERROR);
	v = check("192.0.2.1", "h.example", "a@unknown.example");
	EXPECT(v, AM_SPF_PERMERROR);
	v = check("192.0.2.1", "h.example", "a@two.example");
	EXPECT(v, AM_SPF_PERMERROR);
	ck_assert_msg(strstr(v.reason, "multiple") != NULL, "reason %s", v.reason);
	v = check("192.0.2.1", "h.example", "a@badmacro.example");
	EXPECT(v, AM_SPF_PERMERROR);
}
END_TEST

START_TEST(result_temperror)
{
	struct am_spf_verdict v;

	fz_set_status(fz, "servfail.example", AM_RR_TXT, AM_DNS_SERVFAIL);
	fz_set_status(fz, "timeout.example", 0, AM_DNS_TIMEOUT);
	fz_add_txt(fz, "inc.example", "v=spf1 include:servfail.example -all");
	fz_add_txt(fz, "amech.example", "v=spf1 a:timeout.example -all");
	v = check("192.0.2.1", "h.example", "a@servfail.example");
	EXPECT(v, AM_SPF_TEMPERROR);
	v = check("192.0.2.1", "h.example", "a@timeout.example");
	EXPECT(v, AM_SPF_TEMPERROR);
	v = check("192.0.2.1", "h.example", "a@inc.example");
	EXPECT(v, AM_SPF_TEMPERROR);
	v = check("192.0.2.1", "h.example", "a@amech.example");
	EXPECT(v, AM_SPF_TEMPERROR);
}
END_TEST

/* ---- mechanisms and modifiers ---------------------------------------------- */

START_TEST(include_redirect)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.com", "v=spf1 include:_spf.example.net -all");
	fz_add_txt(fz, "_spf.example.net", "v=spf1 ip4:203.0.113.0/24 -all");
	fz_add_txt(fz, "redir.example.com", "v=spf1 redirect=_spf.example.net");
	fz_add_txt(fz, "badinc.example.com", "v=spf1 include:nothing.example.net -all");
	v = check("203.0.113.5", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_PASS);
	v = check("198.51.100.5", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("203.0.113.5", "h.example", "a@redir.example.com");
	EXPECT(v, AM_SPF_PASS);
	ck_assert_str_eq(v.domain, "redir.example.com");
	v = check("198.51.100.5", "h.example", "a@redir.example.com");
	EXPECT(v, AM_SPF_FAIL);
	/* include of a domain without a record: permerror (RFC 7208 5.2) */
	v = check("198.51.100.5", "h.example", "a@badinc.example.com");
	EXPECT(v, AM_SPF_PERMERROR);
}
END_TEST

START_TEST(a_mx_exists_macro)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.org", "v=spf1 mx a:relay.example.org exists:%{i}._ip.%{d} -all");
	fz_add_mx(fz, "example.org", 10, "mx1.example.org");
	fz_add_a(fz, "mx1.example.org", "192.0.2.25");
	fz_add_a(fz, "relay.example.org", "192.0.2.26");
	fz_add_a(fz, "198.51.100.7._ip.example.org", "127.0.0.2");
	v = check("192.0.2.25", "h.example", "a@example.org");
	EXPECT(v, AM_SPF_PASS);
	v = check("192.0.2.26", "h.example", "a@example.org");
	EXPECT(v, AM_SPF_PASS);
	v = check("198.51.100.7", "h.example", "a@example.org");
	EXPECT(v, AM_SPF_PASS);
	v = check("198.51.100.8", "h.example", "a@example.org");
	EXPECT(v, AM_SPF_FAIL);
}
END_TEST

START_TEST(explanation)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.com", "v=spf1 -all exp=explain.example.com");
	fz_add_txt(fz, "explain.example.com", "%{i} is not allowed to send for %{d}");
	fz_add_txt(fz, "ctl.example.com", "v=spf1 -all exp=ctl-exp.example.com");
	fz_add_txt(fz, "ctl-exp.example.com", "bad\x01text");
	fz_add_txt(fz, "soft.example.com", "v=spf1 ~all exp=explain.example.com");
	v = check("198.51.100.1", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	ck_assert_str_eq(v.explanation, "198.51.100.1 is not allowed to send for example.com");
	/* control characters make the exp text invalid: no explanation */
	v = check("198.51.100.1", "h.example", "a@ctl.example.com");
	EXPECT(v, AM_SPF_FAIL);
	ck_assert_str_eq(v.explanation, "");
	/* none on anything but fail */
	v = check("192.0.2.1", "h.example", "a@soft.example.com");
	EXPECT(v, AM_SPF_SOFTFAIL);
	ck_assert_str_eq(v.explanation, "");
}
END_TEST

START_TEST(null_sender_helo_identity)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "mail.example.org", "v=spf1 a -all");
	fz_add_a(fz, "mail.example.org", "192.0.2.40");
	v = check("192.0.2.40", "mail.example.org", "");
	EXPECT(v, AM_SPF_PASS);
	ck_assert(v.helo_identity);
	ck_assert_str_eq(v.domain, "mail.example.org");
	v = check("192.0.2.41", "Mail.Example.Org", NULL);
	EXPECT(v, AM_SPF_FAIL);
	ck_assert(v.helo_identity);
	ck_assert_str_eq(v.domain, "mail.example.org");
	/* no usable identity: none, not an error */
	v = check("192.0.2.41", "", "");
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.41", NULL, NULL);
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.41", "[192.0.2.41]", "");
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.41", "localhost", "");
	EXPECT(v, AM_SPF_NONE);
}
END_TEST

START_TEST(ipv6_client)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "v6.example", "v=spf1 ip6:2001:db8:1::/48 a:host.v6.example -all");
	fz_add_aaaa(fz, "host.v6.example", "2001:db8:2::25");
	v = check("2001:db8:1::1", "h.example", "a@v6.example");
	EXPECT(v, AM_SPF_PASS);
	v = check("2001:DB8:2::25", "h.example", "a@v6.example");
	EXPECT(v, AM_SPF_PASS);
	v = check("2001:db8:3::1", "h.example", "a@v6.example");
	EXPECT(v, AM_SPF_FAIL);
	/* IPv4-mapped IPv6 is checked as IPv4 */
	fz_add_txt(fz, "v4.example", "v=spf1 ip4:192.0.2.0/24 -all");
	v = check("::ffff:192.0.2.9", "h.example", "a@v4.example");
	EXPECT(v, AM_SPF_PASS);
}
END_TEST

START_TEST(loopback_not_exempt)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.com", "v=spf1 -all");
	v = check("127.0.0.1", "localhost.example.com", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("127.1.2.3", "localhost.example.com", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("::1", "localhost.example.com", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	ck_assert_msg(fz_queries(fz) >= 3, "the record was not read");
}
END_TEST

START_TEST(bad_input)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "example.com", "v=spf1 -all");
	v = check("not-an-ip", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_NONE);
	v = check(NULL, "h.example", "a@example.com");
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.1", "h.example", "a@exa..mple.com");
	EXPECT(v, AM_SPF_NONE);
	v = check("192.0.2.1", "h.example", "user-without-domain@");
	EXPECT(v, AM_SPF_NONE);
	am_spf_check(NULL, "192.0.2.1", "h", "a@example.com", &v);
	EXPECT(v, AM_SPF_TEMPERROR);
}
END_TEST

/* RFC 7208 4.3: a domain past 253 octets is "none", and is not reported cut to fit. */
START_TEST(overlong_domain_not_cut)
{
	struct am_spf_verdict v;
	char from[400], *p = from;
	int i;

	p += sprintf(p, "a@");
	for (i = 0; i < 5; i++) {
		memset(p, 'x', 59);
		p += 59;
		*p++ = '.';
	}
	strcpy(p, "example.com");	/* 300 + 11 octets, every label under 64 */
	v = check("192.0.2.1", "h.example", from);
	EXPECT(v, AM_SPF_NONE);
	ck_assert_str_eq(v.domain, "");
	ck_assert_str_eq(v.reason, "domain longer than 253 octets");
}
END_TEST

/* ---- limits ---------------------------------------------------------------- */

START_TEST(dns_lookup_limit)
{
	struct am_spf_verdict v;
	char rec[512], name[64];
	int i;

	/* 10 DNS terms are allowed, the 11th is permerror (RFC 7208 4.6.4) */
	am_strlcpy(rec, "v=spf1", sizeof(rec));
	for (i = 1; i <= 11; i++) {
		snprintf(name, sizeof(name), "h%d.example.com", i);
		fz_add_a(fz, name, "192.0.2.1");
		snprintf(name, sizeof(name), " a:h%d.example.com", i);
		am_strlcat(rec, name, sizeof(rec));
		if (i == 10) {
			fz_add_txt(fz, "ten.example.com", rec);
			am_strlcpy(rec + strlen(rec), " -all", 6);
			fz_add_txt(fz, "ten-all.example.com", rec);
			rec[strlen(rec) - 5] = '\0';
		}
	}
	am_strlcat(rec, " -all", sizeof(rec));
	fz_add_txt(fz, "eleven.example.com", rec);
	v = check("198.51.100.1", "h.example", "a@ten-all.example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("198.51.100.1", "h.example", "a@eleven.example.com");
	EXPECT(v, AM_SPF_PERMERROR);
}
END_TEST

START_TEST(dns_lookup_limit_across_includes)
{
	struct am_spf_verdict v;

	/* libspf2 restarts its count in each include; we do not: 1 include
	 * + 5 terms in it + 5 more here = 11 */
	fz_add_txt(fz, "example.com", "v=spf1 include:inc.example.com a:h1.example.com "
	    "a:h2.example.com a:h3.example.com a:h4.example.com a:h5.example.com ip4:192.0.2.1 -all");
	fz_add_txt(fz, "inc.example.com", "v=spf1 a:h1.example.com a:h2.example.com "
	    "a:h3.example.com a:h4.example.com a:h5.example.com -all");
	fz_add_txt(fz, "ok.example.com", "v=spf1 include:inc.example.com a:h1.example.com "
	    "a:h2.example.com a:h3.example.com a:h4.example.com ip4:192.0.2.1 -all");
	fz_add_a(fz, "h1.example.com", "198.51.100.1");
	fz_add_a(fz, "h2.example.com", "198.51.100.2");
	fz_add_a(fz, "h3.example.com", "198.51.100.3");
	fz_add_a(fz, "h4.example.com", "198.51.100.4");
	fz_add_a(fz, "h5.example.com", "198.51.100.5");
	v = check("192.0.2.1", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_PERMERROR);
	ck_assert_msg(strstr(v.reason, "10") != NULL, "reason %s", v.reason);
	v = check("192.0.2.1", "h.example", "a@ok.example.com");
	EXPECT(v, AM_SPF_PASS);
}
END_TEST

START_TEST(void_lookup_limit)
{
	struct am_spf_verdict v;

	fz_add_txt(fz, "two.example.com", "v=spf1 a:n1.example.com a:n2.example.com -all");
	fz_add_txt(fz, "three.example.com",
	    "v=spf1 a:n1.example.com mx:n2.example.com a:n3.example.com ip4:192.0.2.1 -all");
	fz_add_txt(fz, "nodata.example.com",
	    "v=spf1 a:txtonly.example.com a:txtonly.example.com exists:txtonly.example.com -all");
	fz_add_txt(fz, "txtonly.example.com", "hello");
	v = check("192.0.2.1", "h.example", "a@two.example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("192.0.2.1", "h.example", "a@three.example.com");
	EXPECT(v, AM_SPF_PERMERROR);
	ck_assert_msg(strstr(v.reason, "void") != NULL, "reason %s", v.reason);
	v = check("192.0.2.1", "h.example", "a@nodata.example.com");
	EXPECT(v, AM_SPF_PERMERROR);
}
END_TEST

START_TEST(mx_targets_not_void_terms)
{
	struct am_spf_verdict v;

	/* four MX hosts without AAAA: one "mx" term, not four void lookups */
	fz_add_txt(fz, "example.com", "v=spf1 mx -all");
	fz_add_mx(fz, "example.com", 10, "m1.example.com");
	fz_add_mx(fz, "example.com", 20, "m2.example.com");
	fz_add_mx(fz, "example.com", 30, "m3.example.com");
	fz_add_mx(fz, "example.com", 40, "m4.example.com");
	fz_add_a(fz, "m1.example.com", "192.0.2.1");
	fz_add_a(fz, "m2.example.com", "192.0.2.2");
	fz_add_a(fz, "m3.example.com", "192.0.2.3");
	fz_add_a(fz, "m4.example.com", "192.0.2.4");
	v = check("2001:db8::1", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_FAIL);
	v = check("192.0.2.4", "h.example", "a@example.com");
	EXPECT(v, AM_SPF_PASS);
}
END_TEST

/* ---- CVE-2023-42118 guard -------------------------------------------------- */

/*
 * prefix + two chunks of 200 literal characters and a variable + n3
 * characters and a variable + tail characters + suffix.  With n3 = 84 the
 * term has used 508 of libspf2's 511 bytes after the third variable, and
 * Debian's libspf2 1.2.10 copies the tail past its stack buffer
 * ("stack smashing detected" with a 8000-character tail).
 */
static char *
macro_record(const char *prefix, size_t n3, size_t tail, const char *suffix)
{
	size_t cap = strlen(prefix) + 2 * 204 + n3 + 4 + tail + strlen(suffix) + 1;
	char *s = am_xmalloc(cap), *p;
	int i;

	am_strlcpy(s, prefix, cap);
	p = s + strlen(s);
	for (i = 0; i < 2; i++) {
		memset(p, 'a', 200);
		memcpy(p + 200, "%{d}", 4);
		p += 204;
	}
	memset(p, 'a', n3);
	memcpy(p + n3, "%{d}", 4);
	p += n3 + 4;
	memset(p, 'b', tail);
	p += tail;
	*p = '\0';
	am_strlcat(s, suffix, cap);
	return s;
}

START_TEST(cve_2023_42118_guard)
{
	struct am_spf_verdict v;
	char *rec;

	rec = macro_record("v=spf1 exists:", 84, 8000, ".example -all");
	fz_add_txt(fz, "evil.example", rec);
	free(rec);
	rec = macro_record("v=spf1 ip4:192.0.2.0/24 x=", 84, 3000, "");
	fz_add_txt(fz, "evilmod.example", rec);
	free(rec);
	fz_add_txt(fz, "evilexp.example", "v=spf1 -all exp=exp.evilexp.example");
	rec = macro_record("", 84, 8000, " text");
	fz_add_txt(fz, "exp.evilexp.example", rec);
	free(rec);
	v = check("192.0.2.1", "h.example", "a@evil.example");
	EXPECT(v, AM_SPF_PERMERROR);
	ck_assert_msg(strstr(v.reason, "CVE-2023-42118") != NULL, "reason %s", v.reason);
	/* also in a modifier libspf2 would otherwise compile and ignore */
	v = check("192.0.2.1", "h.example", "a@evilmod.example");
	EXPECT(v, AM_SPF_PERMERROR);
	ck_assert_msg(strstr(v.reason, "CVE-2023-42118") != NULL, "reason %s", v.reason);
	/* an unsafe exp= text only loses the explanation */
	v = check("192.0.2.1", "h.example", "a@evilexp.example");
	EXPECT(v, AM_SPF_FAIL);
	ck_assert_str_eq(v.explanation, "");
	/* long macro terms below the bound still work */
	rec = macro_record("v=spf1 exists:", 0, 0, ".example -all");
	fz_add_txt(fz, "longok.example", rec);
	free(rec);
	v = check("192.0.2.1", "h.example", "a@longok.example");
	EXPECT(v, AM_SPF_FAIL);
}
END_TEST

/* ---- concurrency: per-check state ------------------------------------------ */

static void *
worker(void *arg)
{
	struct am_spf_verdict v;
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < 200; i++) {
		am_spf_check(spf, "192.0.2.1", "h.example", "a@three.example.com", &v);
		bad += v.result != AM_SPF_PERMERROR;
		am_spf_check(spf, "192.0.2.1", "h.example", "a@two.example.com", &v);
		bad += v.result != AM_SPF_FAIL;
		am_spf_check(spf, "192.0.2.1", "h.example", "a@pass.example.com", &v);
		bad += v.result != AM_SPF_PASS;
	}
	return (void *)(long)bad;
}

START_TEST(threads_share_checker)
{
	pthread_t t[4];
	void *ret;
	long bad = 0;
	int i;

	fz_add_txt(fz, "two.example.com", "v=spf1 a:n1.example.com a:n2.example.com -all");
	fz_add_txt(fz, "three.example.com",
	    "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com ip4:192.0.2.1 -all");
	fz_add_txt(fz, "pass.example.com", "v=spf1 a:n1.example.com ip4:192.0.2.1 -all");
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		bad += (long)ret;
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* ---- conformance suites ------------------------------------------------------ */

/* Undo yaml2tsv.py's escaping in place; returns the length. */
static size_t
unescape(char *s)
{
	char *o = s, *p = s;
	unsigned x;

	while (*p != '\0') {
		if (p[0] == '\\' && p[1] == '\\') {
			*o++ = '\\';
			p += 2;
		} else if (p[0] == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &x) == 1) {
			*o++ = (char)x;
			p += 4;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return (size_t)(o - s);
}

static int
split(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, '\t')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

static int
rrtype_of(const char *t)
{
	static const struct { const char *n; int t; } map[] = {
		{ "A", AM_RR_A }, { "AAAA", AM_RR_AAAA }, { "MX", AM_RR_MX },
		{ "PTR", AM_RR_PTR }, { "CNAME", AM_RR_CNAME }, { "TXT", AM_RR_TXT },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].n, t) == 0)
			return map[i].t;
	return 0;
}

static void
zone_line(char **f, int n)
{
	size_t len;
	char *d;

	if (n < 4)
		return;
	unescape(f[1]);
	len = unescape(f[3]);
	if (strcmp(f[2], "TXT") == 0) {
		fz_add(fz, f[1], AM_RR_TXT, f[3], len, 0);
		return;
	}
	if (strcmp(f[2], "TIMEOUT") == 0) {
		fz_set_status(fz, f[1], rrtype_of(f[3]), AM_DNS_TIMEOUT);
		return;
	}
	if (strcmp(f[2], "MX") == 0) {
		if (n < 5)
			return;
		d = f[4];
		unescape(d);
		am_domain_normalize(d);
		fz_add_mx(fz, f[1], (unsigned)atoi(f[3]), d);
		return;
	}
	if (strcmp(f[2], "A") == 0)
		fz_add_a(fz, f[1], f[3]);
	else if (strcmp(f[2], "AAAA") == 0)
		fz_add_aaaa(fz, f[1], f[3]);
	else {
		/* names in answers come without the trailing dot */
		am_domain_normalize(f[3]);
		if (strcmp(f[2], "PTR") == 0)
			fz_add_ptr(fz, f[1], f[3]);
		else if (strcmp(f[2], "CNAME") == 0)
			fz_add_cname(fz, f[1], f[3]);
	}
}

static bool
result_ok(const char *want, const char *got)
{
	char buf[256], *tok, *save = NULL;

	am_strlcpy(buf, want, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, got) == 0)
			return true;
	return false;
}

/* Returns whether the test passed; prints failures. */
static bool
test_line(const char *suite, char **f, int n)
{
	struct am_spf_verdict v;
	const char *got;
	bool ok;
	int i;

	if (n < 7)
		return false;
	for (i = 1; i < 7; i++)
		unescape(f[i]);
	am_spf_check(spf, f[2], f[3], f[4], &v);
	got = am_spf_result_name(v.result);
	ok = result_ok(f[5], got);
	/* "DEFAULT" names the implementation's default text: ours is none */
	if (ok && v.result == AM_SPF_FAIL && strcmp(f[6], "-") != 0 &&
	    strcmp(f[6], "DEFAULT") != 0 && strcmp(f[6], v.explanation) != 0) {
		printf("  %s %-28s expected exp \"%s\", got \"%s\"\n", suite, f[1], f[6],
		    v.explanation);
		return false;
	}
	if (!ok)
		printf("  %s %-28s expected %-20s got %-9s (%s)\n", suite, f[1], f[5], got,
		    v.reason);
	return ok;
}

static int
run_suite(const char *suite, const char *file, int *total)
{
	char path[1024], line[8192], *f[8];
	FILE *fp;
	int n, passed = 0;

	snprintf(path, sizeof(path), "%s/tests/spf/%s", TOP_SRCDIR, file);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	*total = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		n = split(line, f, 8);
		if (strcmp(f[0], "S") == 0)
			fz_clear(fz);
		else if (strcmp(f[0], "Z") == 0)
			zone_line(f, n);
		else if (strcmp(f[0], "T") == 0) {
			(*total)++;
			passed += test_line(suite, f, n);
		}
	}
	fclose(fp);
	return passed;
}

START_TEST(rfc7208_suite)
{
	int total, passed;

	passed = run_suite("rfc7208", "rfc7208.tsv", &total);
	printf("SPF RFC 7208 suite: %d/%d passed\n", passed, total);
	fflush(stdout);
	ck_assert_int_eq(total, RFC7208_TOTAL);
	ck_assert_int_ge(passed, RFC7208_MIN_PASS);
}
END_TEST

START_TEST(rfc4408_suite)
{
	int total, passed;

	passed = run_suite("rfc4408", "rfc4408.tsv", &total);
	printf("SPF RFC 4408 suite: %d/%d passed\n", passed, total);
	fflush(stdout);
	ck_assert_int_eq(total, RFC4408_TOTAL);
	ck_assert_int_ge(passed, RFC4408_MIN_PASS);
}
END_TEST

static Suite *
spf_suite(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("unit");
	TCase *conf = tcase_create("conformance");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, result_pass_fail);
	tcase_add_test(tc, result_softfail_neutral_none);
	tcase_add_test(tc, result_permerror);
	tcase_add_test(tc, result_temperror);
	tcase_add_test(tc, include_redirect);
	tcase_add_test(tc, a_mx_exists_macro);
	tcase_add_test(tc, explanation);
	tcase_add_test(tc, null_sender_helo_identity);
	tcase_add_test(tc, ipv6_client);
	tcase_add_test(tc, loopback_not_exempt);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, overlong_domain_not_cut);
	tcase_add_test(tc, dns_lookup_limit);
	tcase_add_test(tc, dns_lookup_limit_across_includes);
	tcase_add_test(tc, void_lookup_limit);
	tcase_add_test(tc, mx_targets_not_void_terms);
	tcase_add_test(tc, cve_2023_42118_guard);
	tcase_add_test(tc, threads_share_checker);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(conf, setup, teardown);
	tcase_set_timeout(conf, 60);
	tcase_add_test(conf, rfc7208_suite);
	tcase_add_test(conf, rfc4408_suite);
	suite_add_tcase(s, conf);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
