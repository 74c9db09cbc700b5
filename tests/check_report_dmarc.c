/*
 * check_report_dmarc.c - unit tests of what alignmilter-report reads and
 * decides for RFC 9989 / RFC 9990: the alignment log's RFC 9989 DMARC keys
 * (alignlog-read.c: the milter's own records read back, records written
 * before the keys, malformed values), the author domains of a From that
 * was not one clean domain (issue 16, RFC 9989 11.5: read back, bounded,
 * and counted in the report of the domain that decided), and the RFC
 * 9990 row decisions of report-xml9990.c (disposition, override reason,
 * signature order, envelope_from).
 *
 * RFC 9990 was not at hand: section numbers are those of its last draft,
 * draft-ietf-dmarc-aggregate-reporting-32, and RFC 9989's of
 * draft-ietf-dmarc-dmarcbis-41; the RFCs' may differ.  The documents
 * themselves are validated against the draft's schema in
 * tests/report-dmarc.test.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alignlog.h"
#include "policy/alignlog-read.h"
#include "policy/ses.h"
#include "tools/report/report-xml.h"
#include "tools/report/report-xml-int.h"

static struct am_verdict *
read_line(const char *line)
{
	struct am_verdict *v = calloc(1, sizeof(*v));
	char err[256];

	ck_assert(v != NULL);
	ck_assert_msg(am_alignlog_read(line, strlen(line), v, err, sizeof(err)), "refused: %s\n%s", err, line);
	return v;
}

/* A message from a subdomain that inherits an RFC 9989 record (4.10.1: sp=). */
static void
bis_verdict(struct am_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ts = 1795737600;
	am_strlcpy(v->client_ip, "192.0.2.10", sizeof(v->client_ip));
	am_strlcpy(v->helo, "mx.example.com", sizeof(v->helo));
	am_strlcpy(v->mail_from, "bounce@example.com", sizeof(v->mail_from));
	am_strlcpy(v->from_domain, "news.example.com", sizeof(v->from_domain));
	v->from_status = AM_FROM_OK;
	v->spf.result = AM_SPF_FAIL;
	am_strlcpy(v->spf.domain, "example.com", sizeof(v->spf.domain));
	v->spf.aligned = true;
	v->dmarc.result = AM_DMARC_FAIL;
	v->dmarc.policy = AM_POLICY_QUARANTINE;
	v->dmarc.disposition = AM_POLICY_NONE;
	v->dmarc.adkim = 'r';
	v->dmarc.aspf = 's';
	v->dmarc.pct = 100;
	v->dmarc.record_found = true;
	am_strlcpy(v->dmarc.record_domain, "example.com", sizeof(v->dmarc.record_domain));
	am_strlcpy(v->dmarc.org_domain, "example.com", sizeof(v->dmarc.org_domain));
	v->dmarc.policy_tag = AM_PTAG_SP;
	v->dmarc.discovery = AM_DISCOVERY_TREEWALK;
	v->dmarc.testing = true;
	v->dmarc.psd = 'n';
	v->dmarc.published_p = AM_POLICY_REJECT;
	v->dmarc.published_sp = AM_POLICY_QUARANTINE;
	v->dmarc.published_np = AM_POLICY_UNSPEC;
	v->dmarc.walks_skipped = 3;
}

/* The milter's own record (alignlog.c) reads back with every RFC 9989 key. */
START_TEST(bis_roundtrip)
{
	struct am_verdict v, *r;
	struct am_buf b;

	bis_verdict(&v);
	am_buf_init(&b);
	am_alignlog_render(&v, &b);
	ck_assert(b.len > 0);
	b.data[--b.len] = '\0';
	r = read_line(b.data);
	ck_assert_int_eq(r->dmarc.policy_tag, AM_PTAG_SP);
	ck_assert_int_eq(r->dmarc.discovery, AM_DISCOVERY_TREEWALK);
	ck_assert(r->dmarc.testing);
	ck_assert_int_eq(r->dmarc.psd, 'n');
	ck_assert_int_eq(r->dmarc.published_p, AM_POLICY_REJECT);
	ck_assert_int_eq(r->dmarc.published_sp, AM_POLICY_QUARANTINE);
	ck_assert_int_eq(r->dmarc.published_np, AM_POLICY_UNSPEC);
	ck_assert_str_eq(r->dmarc.org_domain, "example.com");
	ck_assert_uint_eq(r->dmarc.walks_skipped, 3);
	ck_assert_int_eq(r->dmarc.policy, AM_POLICY_QUARANTINE);
	ck_assert_int_eq(r->dmarc.disposition, AM_POLICY_NONE);
	ck_assert_str_eq(r->dmarc.record_domain, "example.com");
	am_buf_free(&b);
	free(r);
}
END_TEST

#define OLD_HEAD "{\"ts\":\"2026-11-27T05:00:00Z\",\"from_domain\":\"%s\",\"spf\":{\"result\":\"pass\"},\"dkim\":[],"
#define OLD_DMARC "\"dmarc\":{\"result\":\"fail\",\"policy\":\"quarantine\",\"disposition\":\"none\"," \
	"\"adkim\":\"r\",\"aspf\":\"r\",\"pct\":50,\"record_domain\":\"example.com\"},\"hints\":[]}"

/* A record written before the RFC 9989 keys reads as RFC 7489's. */
START_TEST(old_records)
{
	char line[1024];
	struct am_verdict *r;

	snprintf(line, sizeof(line), OLD_HEAD OLD_DMARC, "example.com");
	r = read_line(line);
	ck_assert_int_eq(r->dmarc.discovery, AM_DISCOVERY_PSL);
	ck_assert(!r->dmarc.testing);
	ck_assert_int_eq(r->dmarc.psd, 'u');
	ck_assert_int_eq(r->dmarc.published_p, AM_POLICY_QUARANTINE);	/* = policy */
	ck_assert_int_eq(r->dmarc.published_sp, AM_POLICY_UNSPEC);
	ck_assert_int_eq(r->dmarc.published_np, AM_POLICY_UNSPEC);
	ck_assert_int_eq(r->dmarc.policy_tag, AM_PTAG_P);		/* its own record */
	ck_assert_uint_eq(r->dmarc.walks_skipped, 0);
	ck_assert_int_eq(r->dmarc.pct, 50);
	free(r);
	/* A subdomain under its organizational domain's record: RFC 7489 6.6.3's sp=. */
	snprintf(line, sizeof(line), OLD_HEAD OLD_DMARC, "news.example.com");
	r = read_line(line);
	ck_assert_int_eq(r->dmarc.policy_tag, AM_PTAG_SP);
	free(r);
	/* No record: nothing published, nothing discovered. */
	r = read_line("{\"ts\":\"2026-11-27\",\"from_domain\":\"a.example\",\"spf\":{\"result\":\"pass\"},"
	    "\"dkim\":[],\"dmarc\":{\"result\":\"none\",\"policy\":\"none\",\"disposition\":\"none\","
	    "\"org_domain\":\"a.example\"},\"hints\":[]}");
	ck_assert(!r->dmarc.record_found);
	ck_assert_int_eq(r->dmarc.discovery, AM_DISCOVERY_NONE);
	ck_assert_int_eq(r->dmarc.policy_tag, AM_PTAG_NONE);
	ck_assert_int_eq(r->dmarc.published_p, AM_POLICY_UNSPEC);
	ck_assert_str_eq(r->dmarc.org_domain, "a.example");
	free(r);
}
END_TEST

#define BAD_HEAD "{\"ts\":\"2026-11-27\",\"from_domain\":\"a\",\"spf\":{\"result\":\"pass\"},\"dkim\":[]," \
	"\"dmarc\":{\"result\":\"fail\",\"pct\":100,"
#define BAD_TAIL "},\"hints\":[]}"

static const struct {
	const char *line;
	const char *why;
} bad_keys[] = {
	{ BAD_HEAD "\"policy_tag\":\"rua\"" BAD_TAIL, "dmarc.policy_tag: unknown value" },
	{ BAD_HEAD "\"testing\":\"y\"" BAD_TAIL, "dmarc.testing: boolean expected" },
	{ BAD_HEAD "\"psd\":\"x\"" BAD_TAIL, "dmarc.psd: unknown value" },
	{ BAD_HEAD "\"discovery\":\"dns\"" BAD_TAIL, "dmarc.discovery: unknown value" },
	{ BAD_HEAD "\"published\":[]" BAD_TAIL, "dmarc.published: object expected" },
	{ BAD_HEAD "\"published\":{\"p\":\"reject\",\"sp\":\"block\"}" BAD_TAIL, "dmarc.published.sp: unknown" },
	{ BAD_HEAD "\"published\":{\"np\":\"none\",\"np\":\"none\"}" BAD_TAIL, "dmarc.published.np: duplicate" },
	{ BAD_HEAD "\"org_domain\":7" BAD_TAIL, "dmarc.org_domain: string expected" },
	{ BAD_HEAD "\"walks_skipped\":-1" BAD_TAIL, "dmarc.walks_skipped: not a count" },
	{ BAD_HEAD "\"testing\":false,\"testing\":true" BAD_TAIL, "dmarc.testing: duplicate key" },
};

START_TEST(bis_errors)
{
	struct am_verdict *v = malloc(sizeof(*v));
	char err[256];
	size_t i;

	ck_assert(v != NULL);
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		ck_assert_msg(!am_alignlog_read(bad_keys[i].line, strlen(bad_keys[i].line), v, err, sizeof(err)),
		    "record %zu accepted: %s", i, bad_keys[i].line);
		ck_assert_msg(strstr(err, bad_keys[i].why) != NULL, "record %zu: error \"%s\", want \"%s\"", i,
		    err, bad_keys[i].why);
	}
	free(v);
}
END_TEST

/* ---- author_domains: a malformed From keeps its domains (issue 16) ---------- */

/* v as the milter logs it, read back. */
static struct am_verdict *
roundtrip(const struct am_verdict *v)
{
	struct am_verdict *r;
	struct am_buf b;

	am_buf_init(&b);
	am_alignlog_render(v, &b);
	ck_assert(b.len > 0 && b.data[b.len - 1] == '\n');
	b.data[--b.len] = '\0';
	r = read_line(b.data);
	am_buf_free(&b);
	return r;
}

/*
 * "From: a@attacker.example, b@bank.example": the pipeline evaluated both
 * (RFC 7489 6.6.1, RFC 9989 11.5) and the bank's fail under p=reject
 * decided, so from_domain is the bank's.
 */
static void
spoof_verdict(struct am_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ts = 1795755600;
	am_strlcpy(v->client_ip, "203.0.113.62", sizeof(v->client_ip));
	am_strlcpy(v->helo, "mail.attacker.example", sizeof(v->helo));
	am_strlcpy(v->mail_from, "bounce@attacker.example", sizeof(v->mail_from));
	v->from_status = AM_FROM_MULTIPLE;
	am_strlcpy(v->author_domains[0], "attacker.example", sizeof(v->author_domains[0]));
	am_strlcpy(v->author_domains[1], "bank.example", sizeof(v->author_domains[1]));
	v->n_author_domains = 2;
	am_strlcpy(v->from_domain, "bank.example", sizeof(v->from_domain));
	v->spf.result = AM_SPF_PASS;
	am_strlcpy(v->spf.domain, "attacker.example", sizeof(v->spf.domain));
	v->dmarc.result = AM_DMARC_FAIL;
	v->dmarc.policy = v->dmarc.disposition = AM_POLICY_REJECT;
	v->dmarc.adkim = v->dmarc.aspf = 'r';
	v->dmarc.pct = 100;
	v->dmarc.record_found = true;
	am_strlcpy(v->dmarc.record_domain, "bank.example", sizeof(v->dmarc.record_domain));
	am_strlcpy(v->dmarc.org_domain, "bank.example", sizeof(v->dmarc.org_domain));
	v->dmarc.policy_tag = AM_PTAG_P;
	v->dmarc.discovery = AM_DISCOVERY_TREEWALK;
	v->dmarc.psd = 'u';
	v->dmarc.published_p = AM_POLICY_REJECT;
	v->dmarc.published_sp = v->dmarc.published_np = AM_POLICY_UNSPEC;
	v->hints = 1u << AM_HINT_FROM_INVALID;
}

/*
 * The milter's record of such a From reads back with every author
 * domain, the deciding one as from_domain, and a status that gives the
 * hint's fix the same words; one naming a single domain the strict
 * reader refused reads back as NO_DOMAIN; one without any, as before.
 */
START_TEST(authors_roundtrip)
{
	struct am_verdict v, *r;
	char f1[256], f2[256];

	spoof_verdict(&v);
	r = roundtrip(&v);
	ck_assert_str_eq(r->from_domain, "bank.example");
	ck_assert_uint_eq(r->n_author_domains, 2);
	ck_assert_str_eq(r->author_domains[0], "attacker.example");
	ck_assert_str_eq(r->author_domains[1], "bank.example");
	ck_assert(!r->author_domains_over);
	ck_assert_int_eq(r->from_status, AM_FROM_MULTIPLE);
	ck_assert_int_eq(r->dmarc.result, AM_DMARC_FAIL);
	am_hint_fix(&v, AM_HINT_FROM_INVALID, f1, sizeof(f1));
	am_hint_fix(r, AM_HINT_FROM_INVALID, f2, sizeof(f2));
	ck_assert_str_eq(f1, f2);
	free(r);

	/* "PayPal, Inc. <service@bank.example>": one domain, strict reading refused. */
	v.from_status = AM_FROM_NO_DOMAIN;
	v.n_author_domains = 1;
	am_strlcpy(v.author_domains[0], "bank.example", sizeof(v.author_domains[0]));
	r = roundtrip(&v);
	ck_assert_uint_eq(r->n_author_domains, 1);
	ck_assert_int_eq(r->from_status, AM_FROM_NO_DOMAIN);
	am_hint_fix(&v, AM_HINT_FROM_INVALID, f1, sizeof(f1));
	am_hint_fix(r, AM_HINT_FROM_INVALID, f2, sizeof(f2));
	ck_assert_str_eq(f1, f2);
	free(r);

	/* "From: undisclosed": none readable, from_domain "", the key with []. */
	v.n_author_domains = 0;
	v.from_domain[0] = '\0';
	v.dmarc.result = AM_DMARC_PERMERROR;
	v.dmarc.record_found = false;
	r = roundtrip(&v);
	ck_assert_uint_eq(r->n_author_domains, 0);
	ck_assert_str_eq(r->from_domain, "");
	ck_assert_int_eq(r->from_status, AM_FROM_NO_DOMAIN);
	free(r);

	/* A clean From writes no key and reads back OK. */
	bis_verdict(&v);
	r = roundtrip(&v);
	ck_assert_int_eq(r->from_status, AM_FROM_OK);
	ck_assert_uint_eq(r->n_author_domains, 0);
	free(r);
}
END_TEST

#define AUTH_REST "\"spf\":{\"result\":\"pass\"},\"dkim\":[],\"dmarc\":{\"result\":\"none\"},\"hints\":[]}"

/*
 * Bounded: a newer writer's longer list keeps the first
 * AM_FROM_DOMAINS_MAX distinct domains (normalized, repeats once) and
 * says there were more; a domain must fit; a record from before the key
 * reads as before.
 */
START_TEST(authors_bounded)
{
	static const char many[] = "{\"ts\":\"2026-11-27\",\"from_domain\":\"C.Example.\","
	    "\"author_domains\":[\"a.example\",\"A.EXAMPLE.\",\"b.example\",\"c.example\",\"d.example\","
	    "\"e.example\",\"f.example\",\"g.example\"]," AUTH_REST;
	static const char old[] = "{\"ts\":\"2026-11-27\",\"from_domain\":\"\",\"spf\":{\"result\":\"pass\"},"
	    "\"dkim\":[],\"dmarc\":{\"result\":\"permerror\",\"reason\":\"more than one From address\"},"
	    "\"hints\":[\"from-header-invalid\"]}";
	struct am_verdict *v;
	struct am_buf b;
	char err[256];
	unsigned i;

	v = read_line(many);
	ck_assert_uint_eq(v->n_author_domains, AM_FROM_DOMAINS_MAX);
	ck_assert(v->author_domains_over);
	ck_assert_str_eq(v->author_domains[0], "a.example");
	ck_assert_str_eq(v->author_domains[1], "b.example");
	ck_assert_str_eq(v->author_domains[AM_FROM_DOMAINS_MAX - 1], "e.example");
	ck_assert_str_eq(v->from_domain, "c.example");
	ck_assert_int_eq(v->from_status, AM_FROM_MULTIPLE);
	for (i = 0; i < AM_FROM_DOMAINS_MAX; i++)
		ck_assert(memchr(v->author_domains[i], '\0', sizeof(v->author_domains[i])) != NULL);
	free(v);

	/* AM_DOMAIN_MAX - 1 octets fit, one more does not. */
	am_buf_init(&b);
	for (i = AM_DOMAIN_MAX - 1; i <= AM_DOMAIN_MAX; i++) {
		size_t j;

		am_buf_reset(&b);
		am_buf_adds(&b, "{\"ts\":\"2026-11-27\",\"from_domain\":\"");
		for (j = 0; j < i; j++)
			am_buf_addc(&b, 'a');
		am_buf_adds(&b, "\",\"author_domains\":[\"");
		for (j = 0; j < i; j++)
			am_buf_addc(&b, 'a');
		am_buf_adds(&b, "\"]," AUTH_REST);
		v = calloc(1, sizeof(*v));
		ck_assert(v != NULL);
		if (i < AM_DOMAIN_MAX) {
			ck_assert_msg(am_alignlog_read(b.data, b.len, v, err, sizeof(err)), "%s", err);
			ck_assert_uint_eq(strlen(v->author_domains[0]), i);
		} else {
			ck_assert(!am_alignlog_read(b.data, b.len, v, err, sizeof(err)));
			ck_assert_msg(strstr(err, "longer than") != NULL, "%s", err);
		}
		free(v);
	}
	am_buf_free(&b);

	/* Written before author_domains: a bad From had from_domain "", and still reads. */
	v = read_line(old);
	ck_assert_uint_eq(v->n_author_domains, 0);
	ck_assert(!v->author_domains_over);
	ck_assert_int_eq(v->from_status, AM_FROM_NO_DOMAIN);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_PERMERROR);
	free(v);
}
END_TEST

/*
 * The aggregate report goes to the domain that decided: the spoof is a
 * row of bank.example's report, header_from the bank, in both formats
 * (RFC 9990 3.1: per DMARC Policy Domain; RFC 7489: per From domain).
 * A From with no author domain has nothing to report to.
 */
START_TEST(authors_reported)
{
	static const enum am_dmarc_standard std[] = { AM_DMARC_RFC9989, AM_DMARC_RFC7489 };
	struct am_verdict v, *r;
	struct am_dmarcxml *x;
	size_t i;

	for (i = 0; i < 2; i++) {
		x = am_dmarcxml_new(std[i]);
		spoof_verdict(&v);
		r = roundtrip(&v);
		am_dmarcxml_add(x, r);
		free(r);
		v.n_author_domains = 0;
		v.from_domain[0] = '\0';
		v.dmarc.result = AM_DMARC_PERMERROR;
		v.dmarc.record_found = false;
		r = roundtrip(&v);
		am_dmarcxml_add(x, r);
		free(r);
		ck_assert_uint_eq(x->nrows, 1);
		ck_assert_str_eq(x->rows[0].group, "bank.example");
		ck_assert_str_eq(x->rows[0].domain, "bank.example");
		ck_assert_uint_eq(x->rows[0].count, 1);
		ck_assert_int_eq(x->rows[0].disposition, AM_POLICY_REJECT);
		ck_assert_uint_eq(am_dmarcxml_skipped(x), 1);
		am_dmarcxml_free(x);
	}
}
END_TEST

/* ---- RFC 9990 rows ---------------------------------------------------------- */

static void
eval(struct am_verdict *v, enum am_dmarc_result res, enum am_dmarc_policy pol, enum am_dmarc_policy disp,
    bool testing, int pct, struct am_xeval *e)
{
	v->dmarc.result = res;
	v->dmarc.policy = pol;
	v->dmarc.disposition = disp;
	v->dmarc.testing = testing;
	v->dmarc.pct = pct;
	am_dmarcxml_eval9990(v, e);
}

/*
 * 3.1.1.9 and the schema's ActionDispositionType: "pass" for a passing
 * message under an enforcing policy; a reason when a failing message was
 * not given the configured policy: policy_test_mode for t=y (3.1.6,
 * RFC 9989 4.7), other for RFC 7489's pct sampling and for a temperror.
 */
START_TEST(dispositions)
{
	struct am_verdict v;
	struct am_xeval e;

	bis_verdict(&v);
	eval(&v, AM_DMARC_PASS, AM_POLICY_REJECT, AM_POLICY_NONE, false, 100, &e);
	ck_assert_str_eq(e.disposition, "pass");
	ck_assert(e.reason_type == NULL);
	eval(&v, AM_DMARC_PASS, AM_POLICY_NONE, AM_POLICY_NONE, false, 100, &e);
	ck_assert_str_eq(e.disposition, "none");
	/* t=y lowers quarantine to none: no enforcing policy applied to a pass. */
	eval(&v, AM_DMARC_PASS, AM_POLICY_QUARANTINE, AM_POLICY_NONE, true, 100, &e);
	ck_assert_str_eq(e.disposition, "none");
	eval(&v, AM_DMARC_FAIL, AM_POLICY_REJECT, AM_POLICY_REJECT, false, 100, &e);
	ck_assert_str_eq(e.disposition, "reject");
	ck_assert(e.reason_type == NULL);
	eval(&v, AM_DMARC_FAIL, AM_POLICY_REJECT, AM_POLICY_QUARANTINE, true, 100, &e);
	ck_assert_str_eq(e.disposition, "quarantine");
	ck_assert_str_eq(e.reason_type, "policy_test_mode");
	/* t=y under p=none changes nothing: no reason. */
	eval(&v, AM_DMARC_FAIL, AM_POLICY_NONE, AM_POLICY_NONE, true, 100, &e);
	ck_assert(e.reason_type == NULL);
	eval(&v, AM_DMARC_FAIL, AM_POLICY_QUARANTINE, AM_POLICY_NONE, false, 25, &e);
	ck_assert_str_eq(e.disposition, "none");
	ck_assert_str_eq(e.reason_type, "other");
	ck_assert_str_eq(e.reason_comment, "sampled out by pct=25 (RFC 7489)");
	eval(&v, AM_DMARC_TEMPERROR, AM_POLICY_REJECT, AM_POLICY_NONE, false, 100, &e);
	ck_assert_str_eq(e.disposition, "none");
	ck_assert_str_eq(e.reason_type, "other");
	ck_assert_str_eq(e.reason_comment, "DMARC temperror: no policy applied");
}
END_TEST

static void
add_sig(struct am_verdict *v, const char *d, enum am_dkim_result r, bool aligned)
{
	struct am_dkim_sig *s = &v->dkim.sig[v->dkim.count++];

	memset(s, 0, sizeof(*s));
	am_strlcpy(s->domain, d, sizeof(s->domain));
	s->result = r;
	s->aligned = aligned;
}

/* 3.1.3: pass strict, pass relaxed, other passes, the rest; stable within a rank. */
START_TEST(signature_order)
{
	static const size_t want[] = { 4, 2, 1, 5, 0, 3 };
	struct am_verdict v;
	size_t order[AM_DKIM_REPORT_MAX], i;

	bis_verdict(&v);
	add_sig(&v, "news.example.com", AM_DKIM_FAIL, true);	/* 0: aligned but failed */
	add_sig(&v, "esp.example", AM_DKIM_PASS, false);	/* 1: a third party */
	add_sig(&v, "example.com", AM_DKIM_PASS, true);		/* 2: relaxed */
	add_sig(&v, "esp.example", AM_DKIM_TEMPERROR, false);	/* 3 */
	add_sig(&v, "news.example.com", AM_DKIM_PASS, true);	/* 4: strict */
	add_sig(&v, "other.example", AM_DKIM_PASS, false);	/* 5 */
	am_dmarcxml_sig_order(&v, order);
	for (i = 0; i < 6; i++)
		ck_assert_msg(order[i] == want[i], "position %zu: signature %zu, want %zu", i, order[i], want[i]);
}
END_TEST

/* 3.1.1.10: envelope_from is the MAIL FROM domain, "" for a null reverse-path. */
START_TEST(envelope_from)
{
	struct am_verdict v;

	bis_verdict(&v);
	ck_assert_str_eq(am_dmarcxml_envelope9990(&v), "example.com");
	v.mail_from[0] = '\0';
	v.spf.helo_identity = true;
	am_strlcpy(v.spf.domain, "mx.example.com", sizeof(v.spf.domain));
	ck_assert_str_eq(am_dmarcxml_envelope9990(&v), "");
}
END_TEST

static Suite *
report_dmarc_suite(void)
{
	Suite *s = suite_create("report_dmarc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bis_roundtrip);
	tcase_add_test(tc, old_records);
	tcase_add_test(tc, bis_errors);
	tcase_add_test(tc, authors_roundtrip);
	tcase_add_test(tc, authors_bounded);
	tcase_add_test(tc, authors_reported);
	tcase_add_test(tc, dispositions);
	tcase_add_test(tc, signature_order);
	tcase_add_test(tc, envelope_from);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_dmarc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
