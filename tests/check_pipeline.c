/*
 * check_pipeline.c - unit tests of the per-message pipeline (lib/policy/pipeline.c).
 *
 * Owns the contract of am_pipeline and am_pipeline_msg end to end over the
 * in-process fakezone: the SES-shaped messages of tests/verdict/ (signed
 * by python3-dkim, their keys in dns.txt) give the verdicts, hints and
 * rendered results alignmilter(8) describes; a message changed after
 * signing, missing or doubled From, DNS trouble and a doubled DMARC
 * record each give theirs; the verdict does not depend on how the body is
 * cut; no state leaks between checks or threads; am_pipeline_record writes
 * the alignment log.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/message.h"
#include "auth/verdict.h"
#include "policy/authres.h"
#include "policy/alignlog.h"
#include "policy/pipeline.h"
#include "policy/ses.h"
#include "policy/verdictline.h"
#include "fakezone.h"
#include "testutil.h"
#include "verdictutil.h"

static void
assert_ses_default_verdict(const struct am_verdict *v)
{
	ck_assert_str_eq(v->queue_id, "4Fx1");
	ck_assert_int_eq(v->from_status, AM_FROM_OK);
	ck_assert_str_eq(v->from_domain, "example.com");
	ck_assert_msg(v->spf.result == AM_SPF_PASS, "spf %s (%s)", am_spf_result_name(v->spf.result),
	    v->spf.reason);
	ck_assert_str_eq(v->spf.domain, "us-east-1.amazonses.com");
	ck_assert(!v->spf.helo_identity);
	ck_assert(!v->spf.aligned);
	ck_assert_uint_eq(v->dkim.count, 2);
	ck_assert_uint_eq(v->dkim.total, 2);
	ck_assert_msg(v->dkim.sig[0].result == AM_DKIM_PASS, "dkim[0] %s (%s)",
	    am_dkim_result_name(v->dkim.sig[0].result), v->dkim.sig[0].reason);
	ck_assert_str_eq(v->dkim.sig[0].domain, "example.com");
	ck_assert_str_eq(v->dkim.sig[0].selector, EASY_SEL);
	ck_assert_str_eq(v->dkim.sig[0].algorithm, "rsa-sha256");
	ck_assert(v->dkim.sig[0].aligned);
	ck_assert_msg(v->dkim.sig[1].result == AM_DKIM_PASS, "dkim[1] %s (%s)",
	    am_dkim_result_name(v->dkim.sig[1].result), v->dkim.sig[1].reason);
	ck_assert_str_eq(v->dkim.sig[1].domain, "amazonses.com");
	ck_assert_str_eq(v->dkim.sig[1].selector, SES_SEL);
	ck_assert(!v->dkim.sig[1].aligned);
	ck_assert_msg(v->dmarc.result == AM_DMARC_PASS, "dmarc %s (%s)",
	    am_dmarc_result_name(v->dmarc.result), v->dmarc.reason);
	ck_assert_int_eq(v->dmarc.policy, AM_POLICY_NONE);
	ck_assert_int_eq(v->dmarc.disposition, AM_POLICY_NONE);
	ck_assert(v->dmarc.record_found);
	ck_assert(v->dmarc.dkim_aligned);
	ck_assert(!v->dmarc.spf_aligned);
	ck_assert(v->ses.is_ses);
	ck_assert(v->ses.default_mail_from);
	ck_assert_str_eq(v->ses.region, "us-east-1");
	ck_assert(v->has_feedback_id);
	ck_assert(v->has_x_ses_outgoing);
	ck_assert_str_eq(v->feedback_id_region, "us-east-1");
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM) |
	    BIT(AM_HINT_DMARC_POLICY_NONE));
	ck_assert(v->ts > 0);
}

/* raw with one more header field in front */
static char *
prepend(const char *field, const char *raw, size_t len, size_t *outlen)
{
	size_t fl = strlen(field);
	char *out = am_xmalloc(fl + len + 1);

	memcpy(out, field, fl);
	memcpy(out + fl, raw, len);
	out[fl + len] = '\0';
	*outlen = fl + len;
	return out;
}

/* raw with the first old replaced by new */
static char *
replace_once(const char *raw, size_t len, const char *old, const char *new, size_t *outlen)
{
	const char *at = strstr(raw, old);
	size_t ol = strlen(old), nl = strlen(new), pre;
	char *out;

	ck_assert_ptr_nonnull(at);
	pre = (size_t)(at - raw);
	out = am_xmalloc(len - ol + nl + 1);
	memcpy(out, raw, pre);
	memcpy(out + pre, new, nl);
	memcpy(out + pre + nl, at + ol, len - pre - ol);
	*outlen = len - ol + nl;
	out[*outlen] = '\0';
	return out;
}

static void
assert_same_verdict(const struct am_verdict *a, const struct am_verdict *b, const char *what)
{
	size_t i;

	ck_assert_msg(a->spf.result == b->spf.result && a->spf.aligned == b->spf.aligned &&
	    strcmp(a->spf.domain, b->spf.domain) == 0, "%s: spf differs", what);
	ck_assert_msg(a->dkim.count == b->dkim.count, "%s: dkim count", what);
	for (i = 0; i < a->dkim.count; i++)
		ck_assert_msg(a->dkim.sig[i].result == b->dkim.sig[i].result &&
		    a->dkim.sig[i].aligned == b->dkim.sig[i].aligned &&
		    strcmp(a->dkim.sig[i].domain, b->dkim.sig[i].domain) == 0 &&
		    strcmp(a->dkim.sig[i].reason, b->dkim.sig[i].reason) == 0,
		    "%s: dkim[%zu] %s (%s) vs %s (%s)", what, i,
		    am_dkim_result_name(a->dkim.sig[i].result), a->dkim.sig[i].reason,
		    am_dkim_result_name(b->dkim.sig[i].result), b->dkim.sig[i].reason);
	ck_assert_msg(a->dmarc.result == b->dmarc.result && a->dmarc.policy == b->dmarc.policy,
	    "%s: dmarc differs", what);
	ck_assert_msg(a->hints == b->hints, "%s: hints differ", what);
	ck_assert_msg(a->ses.is_ses == b->ses.is_ses && a->ses.default_mail_from == b->ses.default_mail_from &&
	    strcmp(a->ses.region, b->ses.region) == 0, "%s: ses differs", what);
	ck_assert_msg(a->from_status == b->from_status && strcmp(a->from_domain, b->from_domain) == 0,
	    "%s: from differs", what);
}

/*
 * The SES message changed after signing, as a list or gateway changes it.
 * Easy DKIM's d=example.com still aligns (RFC 7489 3.1.1, RFC 9989 4.4.1:
 * alignment is the d= domain's) but fails, so it counts for nothing and
 * DMARC fails (RFC 7489 4.2); the log, the syslog line and the hints say
 * "aligned, fail" and why, not "unaligned".
 */
static void
assert_broken_easy_dkim(const struct am_verdict *v, const char *reason)
{
	struct am_buf b;
	struct jval *r;

	ck_assert_uint_eq(v->dkim.count, 2);
	ck_assert_int_eq(v->dkim.sig[0].result, AM_DKIM_FAIL);
	ck_assert_str_eq(v->dkim.sig[0].reason, reason);
	ck_assert(v->dkim.sig[0].aligned);
	ck_assert(!v->dkim.sig[1].aligned);
	ck_assert(!v->dmarc.dkim_aligned && !v->dmarc.spf_aligned);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_FAIL);
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_POLICY_NONE) |
	    BIT(AM_HINT_DKIM_ALIGNED_SIG_FAILED));
	am_buf_init(&b);
	am_alignlog_render(v, &b);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "result"), "fail");
	ck_assert(jget(jget(r, "dkim")->items[0], "aligned")->b);
	ck_assert_str_eq(jstr(jget(r, "dkim")->items[0], "reason"), reason);
	ck_assert_str_eq(jstr(jget(r, "dmarc"), "result"), "fail");
	jfree(r);
	am_verdictline_render(v, &b);
	ck_assert_msg(strstr(b.data, " dkim=fail (example.com/" EASY_SEL ", aligned) ") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, "dkim-aligned-signature-failed") != NULL, "%s", b.data);
	am_buf_free(&b);
}

struct worker {
	const char *raw;
	size_t	len;
	unsigned failures;
};

/* Checks on one shared pipeline from several threads: each verdict its own. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct am_verdict *v = new_verdict();
	unsigned i;

	for (i = 0; i < 6; i++) {
		bool custom = i % 2 == 1;

		check_message(w->raw, w->len, SES_CLIENT, SES_HELO,
		    custom ? "0100018c@mail.example.com" : SES_ENVELOPE, i == 3 ? SIZE_MAX : 0, v);
		if (v->dmarc.result != AM_DMARC_PASS || v->dkim.count != 2 ||
		    v->dkim.sig[0].result != AM_DKIM_PASS || v->dkim.sig[1].result != AM_DKIM_PASS ||
		    v->spf.result != AM_SPF_PASS || v->spf.aligned != custom ||
		    v->ses.default_mail_from == custom ||
		    v->hints != (custom ? BIT(AM_HINT_DMARC_POLICY_NONE) :
		    BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DMARC_SINGLE_MECHANISM) |
		    BIT(AM_HINT_DMARC_POLICY_NONE)))
			w->failures++;
	}
	free(v);
	return NULL;
}

START_TEST(pipeline_ses_default)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *v = new_verdict();
	struct am_buf b;
	struct jval *r;

	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	assert_ses_default_verdict(v);

	am_buf_init(&b);
	am_authres_render(v, AUTHSERV, &b);
	ck_assert_msg(strncmp(b.data, " mx.example.net;\n"
	    "\tspf=pass smtp.mailfrom=us-east-1.amazonses.com;\n"
	    "\tdkim=pass header.d=example.com header.s=tok1 header.a=rsa-sha256 header.b=", 124) == 0,
	    "%s", b.data);
	ck_assert_msg(strstr(b.data, ";\n\tdkim=pass header.d=amazonses.com header.s=" SES_SEL
	    " header.a=rsa-sha256 header.b=") != NULL, "%s", b.data);
	ck_assert_msg(strstr(b.data, ";\n\tdmarc=pass (p=none dis=none) header.from=example.com") != NULL,
	    "%s", b.data);
	ck_assert_uint_eq(check_ar_structure(b.data), 4);

	am_alignlog_render(v, &b);
	r = json_must_parse(b.data, b.len);
	check_record_schema(r);
	ck_assert_str_eq(jstr(r, "mail_from"), SES_ENVELOPE);
	jfree(r);
	am_buf_free(&b);
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_ses_custom_mail_from)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *v = new_verdict();

	check_message(raw, len, SES_CLIENT, SES_HELO, "0100018c1a2b@mail.example.com", 0, v);
	ck_assert_int_eq(v->spf.result, AM_SPF_PASS);
	ck_assert_str_eq(v->spf.domain, "mail.example.com");
	ck_assert(v->spf.aligned);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_PASS);
	ck_assert(v->dmarc.spf_aligned && v->dmarc.dkim_aligned);
	ck_assert(v->ses.is_ses);
	ck_assert(!v->ses.default_mail_from);
	ck_assert_str_eq(v->ses.region, "us-east-1");	/* from the Feedback-ID */
	ck_hints(v, BIT(AM_HINT_DMARC_POLICY_NONE));
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_ses_without_easy_dkim)
{
	size_t len;
	char *raw = fixture("ses-no-easy-dkim.eml", &len);
	struct am_verdict *v = new_verdict();

	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_uint_eq(v->dkim.count, 1);
	ck_assert_int_eq(v->dkim.sig[0].result, AM_DKIM_PASS);
	ck_assert(!v->dkim.sig[0].aligned);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v->dmarc.disposition, AM_POLICY_NONE);
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_SES_NO_EASY_DKIM) |
	    BIT(AM_HINT_DMARC_POLICY_NONE));
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_two_from_headers)
{
	size_t len, len2;
	char *raw = fixture("ses.eml", &len), *two = prepend("From: other@example.org\r\n", raw, len, &len2);
	struct am_verdict *v = new_verdict();
	struct am_buf b;

	check_message(two, len2, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_int_eq(v->from_status, AM_FROM_MULTIPLE);
	/*
	 * RFC 7489 6.6.1, RFC 9989 (draft-41) 11.5: each author domain is
	 * evaluated and the strictest outcome decides.  libopendkim refuses
	 * the signatures (below), so example.com's p=none fails, which is
	 * stricter than example.org's none (no record).
	 */
	ck_assert_uint_eq(v->n_author_domains, 2);
	ck_assert_str_eq(v->author_domains[0], "example.org");
	ck_assert_str_eq(v->author_domains[1], "example.com");
	ck_assert_str_eq(v->from_domain, "example.com");
	ck_assert_msg(v->dmarc.result == AM_DMARC_FAIL, "dmarc %s (%s)", am_dmarc_result_name(v->dmarc.result),
	    v->dmarc.reason);
	ck_assert_int_eq(v->dmarc.disposition, AM_POLICY_NONE);
	ck_assert(v->hints & BIT(AM_HINT_FROM_INVALID));
	ck_assert(!(v->hints & BIT(AM_HINT_DMARC_NO_RECORD)));
	ck_assert(!(v->hints & BIT(AM_HINT_SES_NO_EASY_DKIM)));
	ck_assert(!(v->hints & BIT(AM_HINT_DMARC_SINGLE_MECHANISM)));
	ck_assert(v->ses.is_ses);
	ck_assert_uint_eq(v->dkim.count, 2);
	ck_assert_int_eq(v->dkim.sig[0].result, AM_DKIM_PERMERROR);	/* RFC 6376 5.4 */
	am_buf_init(&b);
	am_authres_render(v, AUTHSERV, &b);
	ck_assert_msg(strstr(b.data, "\tdmarc=fail (p=none dis=none) header.from=example.com") != NULL,
	    "%s", b.data);
	check_ar_structure(b.data);
	am_buf_free(&b);

	/* one From field with two addresses is the same case */
	free(two);
	two = replace_once(raw, len, "From: Example News <news@example.com>",
	    "From: news@example.com, other@example.org", &len2);
	check_message(two, len2, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_int_eq(v->from_status, AM_FROM_MULTIPLE);
	ck_assert_uint_eq(v->n_author_domains, 2);
	/* the changed From broke the signature: example.com's fail beats example.org's none */
	ck_assert_msg(v->dmarc.result == AM_DMARC_FAIL, "dmarc %s (%s)", am_dmarc_result_name(v->dmarc.result),
	    v->dmarc.reason);
	ck_assert_str_eq(v->from_domain, "example.com");
	ck_assert(v->hints & BIT(AM_HINT_FROM_INVALID));
	free(v);
	free(two);
	free(raw);
}
END_TEST

START_TEST(pipeline_no_from)
{
	size_t len;
	char *raw = fixture("ses.eml", &len), *p;
	struct am_verdict *v = new_verdict();

	/* rename the field, keeping the length: the message has no From */
	p = strstr(raw, "\nFrom: ");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 1, "Xrom", 4);
	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_int_eq(v->from_status, AM_FROM_MISSING);
	ck_assert_str_eq(v->from_domain, "");
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_PERMERROR);
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_FROM_INVALID));
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_body_chunks)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 64, 4096, SIZE_MAX };
	size_t len, i;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *whole = new_verdict(), *v = new_verdict();
	char what[64];

	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, whole);
	assert_ses_default_verdict(whole);
	for (i = 0; i < NELEM(sizes); i++) {
		snprintf(what, sizeof(what), "chunk %zu", sizes[i]);
		check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, sizes[i], v);
		assert_same_verdict(whole, v, what);
	}
	free(v);
	free(whole);
	free(raw);
}
END_TEST

START_TEST(pipeline_changed_after_signing)
{
	size_t len, len2;
	char *raw = fixture("ses.eml", &len), *changed;
	struct am_verdict *v = new_verdict();

	/* a footer-like change of the body */
	changed = replace_once(raw, len, "Hello Bob,", "Hello Bob, [scanned]", &len2);
	check_message(changed, len2, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	assert_broken_easy_dkim(v, "body hash mismatch");
	free(changed);
	/* a subject tag: a signed header changed */
	changed = replace_once(raw, len, "Subject: November", "Subject: [news] November", &len2);
	check_message(changed, len2, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	assert_broken_easy_dkim(v, "signature did not verify");
	free(changed);
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_no_state_leaks)
{
	static const char plain[] =
	    "From: Carol <carol@other.example>\r\n"
	    "To: bob@example.net\r\n"
	    "Subject: plain\r\n"
	    "Feedback-ID: 123:456:newsletter:mailchimp\r\n"	/* not SES's form */
	    "\r\n"
	    "hi\r\n";
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *first = new_verdict(), *v = new_verdict();

	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, first);
	assert_ses_default_verdict(first);
	/* a plain message on the same pipeline: nothing of the SES one remains */
	check_message(plain, sizeof(plain) - 1, "192.0.2.99", "mx.other.example", "carol@other.example",
	    7, v);
	ck_assert_str_eq(v->from_domain, "other.example");
	ck_assert_int_eq(v->spf.result, AM_SPF_NONE);
	ck_assert_uint_eq(v->dkim.count, 0);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_NONE);
	ck_assert(!v->ses.is_ses);
	ck_assert(!v->has_feedback_id && !v->has_x_ses_outgoing);
	ck_assert_str_eq(v->feedback_id_region, "");
	ck_hints(v, BIT(AM_HINT_DMARC_NO_RECORD));
	/* and the SES one again: the same verdict as the first time */
	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 13, v);
	assert_ses_default_verdict(v);
	assert_same_verdict(first, v, "second run");
	free(v);
	free(first);
	free(raw);
}
END_TEST

START_TEST(pipeline_threads_share_pipeline)
{
	enum { NTHREADS = 4 };
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	size_t len;
	char *raw = fixture("ses.eml", &len);
	int i;

	for (i = 0; i < NTHREADS; i++) {
		w[i].raw = raw;
		w[i].len = len;
		w[i].failures = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(w[i].failures == 0, "thread %d: %u wrong verdicts", i, w[i].failures);
	}
	free(raw);
}
END_TEST

START_TEST(pipeline_dmarc_servfail)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *v = new_verdict();
	struct am_buf b;

	fz_set_status(pz, "_dmarc.example.com", AM_RR_TXT, AM_DNS_SERVFAIL);
	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_msg(v->dmarc.result == AM_DMARC_TEMPERROR, "dmarc %s (%s)",
	    am_dmarc_result_name(v->dmarc.result), v->dmarc.reason);
	ck_assert_int_eq(v->dkim.sig[0].result, AM_DKIM_PASS);
	/* no record-based hints from a lookup that failed */
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM));
	am_buf_init(&b);
	am_authres_render(v, AUTHSERV, &b);
	ck_assert_msg(strstr(b.data, "\tdmarc=temperror header.from=example.com (DNS ") != NULL,
	    "%s", b.data);
	check_ar_structure(b.data);
	am_buf_free(&b);
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_dkim_key_missing_and_dup_suffix)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *v = new_verdict();
	char fix[1024];

	/*
	 * The customer entered the Easy DKIM CNAME with the zone appended:
	 * tok1._domainkey.example.com.example.com instead of tok1._domainkey.example.com.
	 */
	fz_clear(pz);
	load_dns(pz, FIX_DIR "/dns.txt", false);
	fz_add_txt(pz, "amazonses.com", "v=spf1 ip4:54.240.0.0/18 -all");
	fz_add_txt(pz, "us-east-1.amazonses.com", "v=spf1 include:amazonses.com -all");
	fz_add_txt(pz, "_dmarc.example.com", "v=DMARC1; p=reject");
	fz_add_cname(pz, "tok1._domainkey.example.com.example.com", "tok1.dkim.amazonses.com");
	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_int_eq(v->dkim.sig[0].result, AM_DKIM_PERMERROR);
	ck_assert(v->dkim.sig[0].key_not_found);
	ck_assert(v->dkim.sig[0].duplicated_suffix);
	ck_assert_int_eq(v->dkim.sig[1].result, AM_DKIM_PASS);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v->dmarc.disposition, AM_POLICY_REJECT);
	/* the signature exists, its key does not: Easy DKIM is set up, just wrongly */
	ck_hints(v, BIT(AM_HINT_SES_DEFAULT_MAIL_FROM) | BIT(AM_HINT_DKIM_KEY_NOT_FOUND) |
	    BIT(AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX));
	am_hint_fix(v, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX, fix, sizeof(fix));
	ck_assert_msg(strstr(fix, "tok1._domainkey.example.com.example.com") != NULL, "%s", fix);
	free(v);
	free(raw);
}
END_TEST

/*
 * Two v=DMARC1 records at _dmarc.example.com: RFC 7489 6.6.3 says apply
 * no policy.  Not "dmarc-no-record" (whose fix would say "publish"), but
 * dmarc-multiple-records, whose fix says to remove all but one.
 */
START_TEST(pipeline_two_dmarc_records)
{
	size_t len;
	char *raw = fixture("ses.eml", &len);
	struct am_verdict *v = new_verdict();

	fz_add_txt(pz, "_dmarc.example.com", "v=DMARC1; p=reject");
	check_message(raw, len, SES_CLIENT, SES_HELO, SES_ENVELOPE, 0, v);
	ck_assert_int_eq(v->dmarc.result, AM_DMARC_NONE);
	ck_assert_msg(!(v->hints & BIT(AM_HINT_DMARC_NO_RECORD)),
	    "dmarc-no-record for a domain that publishes two records (%s)", v->dmarc.reason);
	ck_assert(v->dmarc.multiple_records);
	ck_assert(v->hints & BIT(AM_HINT_DMARC_MULTIPLE_RECORDS));
	free(v);
	free(raw);
}
END_TEST

START_TEST(pipeline_record_to_log)
{
	char path[] = "/tmp/check_pipeline_log_XXXXXX", err[256];
	int fd = mkstemp(path);
	size_t len, loglen;
	char *raw, *log;
	am_pipeline_msg *c;
	struct jval *r;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert(am_conf_set(&conf, "AlignmentLog", path, err, sizeof(err)));
	ck_assert_msg(am_pipeline_open_log(eng, err, sizeof(err)), "%s", err);
	raw = fixture("ses.eml", &len);
	c = am_pipeline_msg_new(eng, SES_CLIENT, SES_HELO, SES_ENVELOPE);
	am_pipeline_msg_set_queue_id(c, "4Fx1");
	ck_assert(am_message_split(raw, len, feed_header, c, &loglen, err, sizeof(err)));
	am_pipeline_msg_body(c, (const unsigned char *)raw + loglen, len - loglen);	/* eoh implied */
	am_pipeline_record(eng, am_pipeline_msg_eom(c));
	am_pipeline_record(eng, am_pipeline_msg_eom(c));
	am_pipeline_msg_free(c);
	log = tu_slurp(path, &loglen);
	unlink(path);
	ck_assert_ptr_nonnull(log);
	/* two records, one per line */
	ck_assert_ptr_nonnull(strchr(log, '\n'));
	ck_assert_uint_eq(loglen % 2, 0);
	ck_assert_int_eq(memcmp(log, log + loglen / 2, loglen / 2), 0);
	r = json_must_parse(log, loglen / 2);
	check_record_schema(r);
	ck_assert_str_eq(jstr(r, "queue_id"), "4Fx1");
	ck_assert_str_eq(jstr(jget(r, "ses"), "region"), "us-east-1");
	jfree(r);
	free(log);
	free(raw);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("pipeline");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, pipe_setup, pipe_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pipeline_ses_default);
	tcase_add_test(tc, pipeline_ses_custom_mail_from);
	tcase_add_test(tc, pipeline_ses_without_easy_dkim);
	tcase_add_test(tc, pipeline_two_from_headers);
	tcase_add_test(tc, pipeline_no_from);
	tcase_add_test(tc, pipeline_body_chunks);
	tcase_add_test(tc, pipeline_changed_after_signing);
	tcase_add_test(tc, pipeline_no_state_leaks);
	tcase_add_test(tc, pipeline_threads_share_pipeline);
	tcase_add_test(tc, pipeline_dmarc_servfail);
	tcase_add_test(tc, pipeline_dkim_key_missing_and_dup_suffix);
	tcase_add_test(tc, pipeline_two_dmarc_records);
	tcase_add_test(tc, pipeline_record_to_log);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
