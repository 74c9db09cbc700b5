/*
 * verdictutil.c - what the tests of the verdict's consumers share (see
 * verdictutil.h).
 *
 * The verdicts built here follow dmarc.c's rules (RFC 7489 3.1, 4.2) so
 * the consumers are tested on verdicts the pipeline could produce.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "util/log.h"
#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dmarc.h"
#include "auth/message.h"
#include "auth/verdict.h"
#include "policy/conf.h"
#include "policy/pipeline.h"
#include "policy/ses.h"
#include "fakezone.h"
#include "testutil.h"
#include "verdictutil.h"

/* ==== verdicts built by hand =============================================== */

static struct fakezone *fz;
static am_resolver *res;
am_dmarc *dm;

void
hints_setup(void)
{
	char err[256];

	fz = fz_new();
	res = am_resolver_new_backend(fz_backend, fz, 2000);
	dm = am_dmarc_new(res, AM_DMARC_RFC7489, PSL_PATH, err, sizeof(err));
	ck_assert_msg(dm != NULL, "am_dmarc_new: %s", err);
}

void
hints_teardown(void)
{
	am_dmarc_free(dm);
	am_resolver_free(res);
	fz_free(fz);
	dm = NULL;
	res = NULL;
	fz = NULL;
}

struct am_dkim_sig *
add_sig(struct am_verdict *v, const char *d, const char *s, enum am_dkim_result r, bool aligned)
{
	struct am_dkim_sig *sig = &v->dkim.sig[v->dkim.count++];

	v->dkim.total = v->dkim.count;
	memset(sig, 0, sizeof(*sig));
	sig->result = r;
	sig->verified = true;
	am_strlcpy(sig->domain, d, sizeof(sig->domain));
	am_strlcpy(sig->selector, s, sizeof(sig->selector));
	am_strlcpy(sig->algorithm, "rsa-sha256", sizeof(sig->algorithm));
	am_strlcpy(sig->b_prefix, "AbCdEfGh", sizeof(sig->b_prefix));
	sig->keybits = 2048;
	sig->aligned = aligned;
	return sig;
}

/* aligned: the SPF domain aligns with From, whatever r (as dmarc.c sets it). */
void
set_spf(struct am_verdict *v, enum am_spf_result r, const char *domain, bool aligned)
{
	v->spf.result = r;
	am_strlcpy(v->spf.domain, domain, sizeof(v->spf.domain));
	v->spf.aligned = aligned;
	v->dmarc.spf_aligned = aligned && r == AM_SPF_PASS;
}

/*
 * Recompute the DMARC result from the alignment flags as dmarc.c does: an
 * identifier counts when it is aligned and passes (RFC 7489 4.2).
 */
void
set_dmarc(struct am_verdict *v, enum am_dmarc_policy p)
{
	struct am_dmarc_verdict *d = &v->dmarc;
	size_t i;

	d->record_found = true;
	d->policy = p;
	d->adkim = d->adkim ? d->adkim : 'r';
	d->aspf = d->aspf ? d->aspf : 'r';
	d->pct = 100;
	am_strlcpy(d->record_domain, v->from_domain, sizeof(d->record_domain));
	d->dkim_aligned = false;
	for (i = 0; i < v->dkim.count; i++)
		if (v->dkim.sig[i].aligned && v->dkim.sig[i].result == AM_DKIM_PASS)
			d->dkim_aligned = true;
	d->spf_aligned = v->spf.aligned && v->spf.result == AM_SPF_PASS;
	d->result = d->spf_aligned || d->dkim_aligned ? AM_DMARC_PASS : AM_DMARC_FAIL;
	d->disposition = d->result == AM_DMARC_PASS ? AM_POLICY_NONE : p;
}

/*
 * A clean, non-SES message: From example.com, custom envelope
 * bounce@mail.example.com, SPF and DKIM pass and align, p=reject.
 */
void
clean_verdict(struct am_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ts = 1795755600;
	am_strlcpy(v->queue_id, "4Fx1", sizeof(v->queue_id));
	am_strlcpy(v->client_ip, "192.0.2.10", sizeof(v->client_ip));
	am_strlcpy(v->helo, "mail.example.com", sizeof(v->helo));
	am_strlcpy(v->mail_from, "bounce@mail.example.com", sizeof(v->mail_from));
	v->from_status = AM_FROM_OK;
	am_strlcpy(v->from_domain, "example.com", sizeof(v->from_domain));
	set_spf(v, AM_SPF_PASS, "mail.example.com", true);
	add_sig(v, "example.com", "s1", AM_DKIM_PASS, true);
	set_dmarc(v, AM_POLICY_REJECT);
}

/*
 * The SES default: envelope under us-east-1.amazonses.com (SPF passes
 * there, unaligned), Easy DKIM d=example.com aligned plus SES's own
 * d=amazonses.com, Feedback-ID, p=none.
 */
void
ses_verdict(struct am_verdict *v)
{
	clean_verdict(v);
	v->dkim.count = 0;
	am_strlcpy(v->client_ip, SES_CLIENT, sizeof(v->client_ip));
	am_strlcpy(v->helo, SES_HELO, sizeof(v->helo));
	am_strlcpy(v->mail_from, "0100018c@us-east-1.amazonses.com", sizeof(v->mail_from));
	set_spf(v, AM_SPF_PASS, "us-east-1.amazonses.com", false);
	add_sig(v, "example.com", "token1", AM_DKIM_PASS, true);
	add_sig(v, "amazonses.com", "224i4yxa", AM_DKIM_PASS, false);
	v->has_feedback_id = true;
	am_strlcpy(v->feedback_id_region, "us-east-1", sizeof(v->feedback_id_region));
	set_dmarc(v, AM_POLICY_NONE);
}

/* "a,b,c" names of a hint set, for failure messages. */
const char *
hint_list(unsigned hints, char *buf, size_t len)
{
	unsigned h;

	buf[0] = '\0';
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(hints & BIT(h)))
			continue;
		if (buf[0] != '\0')
			am_strlcat(buf, ",", len);
		am_strlcat(buf, am_hint_name((enum am_hint)h), len);
	}
	if (hints >> AM_HINT_COUNT)
		am_strlcat(buf, ",<bits beyond AM_HINT_COUNT>", len);
	return buf[0] ? buf : "-";
}

void
fix_has(const struct am_verdict *v, enum am_hint h, const char *needle)
{
	char fix[1024];

	am_hint_fix(v, h, fix, sizeof(fix));
	ck_assert_msg(strstr(fix, needle) != NULL, "fix of %s lacks \"%s\": %s",
	    am_hint_name(h), needle, fix);
}

/*
 * A fix's words hold no record: a zone-file line inside prose (with its
 * quotes escaped) is what could not be pasted.
 */
static void
fix_has_no_record(const struct am_verdict *v, enum am_hint h)
{
	char fix[1024];

	am_hint_fix(v, h, fix, sizeof(fix));
	ck_assert_msg(strstr(fix, "\\\"") == NULL && strstr(fix, ". TXT ") == NULL &&
	    strstr(fix, ". MX ") == NULL && strstr(fix, ". CNAME ") == NULL && strchr(fix, '\n') == NULL,
	    "fix of %s holds a record: %s", am_hint_name(h), fix);
}

/*
 * Each line of a fix's records is one zone-file record (RFC 1035 5.1):
 * an absolute owner at the left margin, a type, data; no blank first,
 * no control byte, quotes balanced.
 */
static void
check_zone_lines(const char *recs)
{
	const char *p, *e;

	for (p = recs; *p != '\0'; p = *e ? e + 1 : e) {
		size_t n, i, quotes = 0;

		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		ck_assert_msg(n > 0 && p[0] != ' ' && p[0] != '\t', "blank or indented line in: %s", recs);
		ck_assert_msg(memchr(p, ' ', n) != NULL && ((const char *)memchr(p, ' ', n))[-1] == '.',
		    "owner not absolute in: %s", recs);
		for (i = 0; i < n; i++) {
			ck_assert_msg((unsigned char)p[i] >= 0x20 && p[i] != 0x7f, "control byte in: %s", recs);
			quotes += p[i] == '"';
		}
		ck_assert_msg(quotes % 2 == 0, "unbalanced quotes in: %s", recs);
		ck_assert_msg(strstr(p, " MX 10 ") != NULL || strstr(p, " TXT \"") != NULL ||
		    strstr(p, " CNAME ") != NULL, "not a record line: %.*s", (int)n, p);
	}
}

/* The records of hint h for v are exactly want (lines joined by "\n"). */
void
records_are(const struct am_verdict *v, enum am_hint h, const char *want)
{
	char recs[1024];

	memset(recs, 'X', sizeof(recs));
	am_hint_records(v, h, recs, sizeof(recs));
	ck_assert_msg(strcmp(recs, want) == 0, "records of %s:\n%s\nwant:\n%s", am_hint_name(h),
	    recs, want);
	check_zone_lines(recs);
	fix_has_no_record(v, h);
}

/* ==== what the renderers write ============================================= */

/*
 * The value must stay one header field: folds only as "\n\t" right after
 * a ';' that ends a resinfo, no other control bytes, quotes and comments
 * balanced, 8-bit bytes only inside quoted strings.  Returns the number
 * of ';' separators outside quotes and comments.
 */
unsigned
check_ar_structure(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool inq = false;
	int depth = 0;
	unsigned semis = 0;
	char prev_sig = 0;		/* last non-space byte outside quotes/comments */

	for (; *p; p++) {
		if (inq) {
			ck_assert_msg(*p >= 0x20 && *p != 0x7f, "control 0x%02x in quoted string: %s", *p, s);
			if (*p == '\\') {
				p++;
				ck_assert_msg(*p >= 0x20 && *p != 0x7f, "bad quoted-pair: %s", s);
			} else if (*p == '"')
				inq = false;
			continue;
		}
		if (depth > 0) {
			ck_assert_msg(*p >= 0x20 && *p < 0x7f, "byte 0x%02x in comment: %s", *p, s);
			if (*p == '\\') {
				p++;
				ck_assert_msg(*p >= 0x20 && *p < 0x7f, "bad quoted-pair in comment: %s", s);
			} else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			continue;
		}
		if (*p == '\n') {
			ck_assert_msg(p[1] == '\t', "line end not followed by a tab: %s", s);
			ck_assert_msg(prev_sig == ';', "fold not after ';': %s", s);
			continue;
		}
		ck_assert_msg(*p == '\t' || (*p >= 0x20 && *p < 0x7f),
		    "byte 0x%02x outside quotes: %s", *p, s);
		if (*p == '"')
			inq = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')')
			ck_assert_msg(0, "unbalanced ')': %s", s);
		else if (*p == ';')
			semis++;
		if (*p != ' ' && *p != '\t')
			prev_sig = (char)*p;
	}
	ck_assert_msg(!inq, "unterminated quoted string: %s", s);
	ck_assert_msg(depth == 0, "unterminated comment: %s", s);
	return semis;
}

/*
 * The example of section heading in alignmilter(8), unwrapped: the first
 * .EX block after the heading, its lines joined by sep with the leading
 * blanks of continuation lines dropped, groff's "\-" read as "-", tail
 * appended.  The man page is the contract: renderers must produce it.
 */
char *
man_example(const char *heading, const char *sep, const char *tail)
{
	size_t len;
	char *man = tu_slurp(TOP_SRCDIR "/man/alignmilter.8", &len), *p, *end;
	struct am_buf b;

	ck_assert_ptr_nonnull(man);
	p = strstr(man, heading);
	ck_assert_msg(p != NULL, "alignmilter.8 has no %s", heading);
	p = strstr(p, ".EX\n");
	ck_assert_ptr_nonnull(p);
	p += 4;
	end = strstr(p, ".EE\n");
	ck_assert_ptr_nonnull(end);
	am_buf_init(&b);
	for (; p < end; p++) {
		if (*p == '\n') {
			while (p + 1 < end && p[1] == ' ')
				p++;
			if (p + 1 < end)
				am_buf_adds(&b, sep);
			continue;
		}
		if (p[0] == '\\' && p[1] == '-')
			p++;
		am_buf_addc(&b, *p);
	}
	am_buf_adds(&b, tail);
	free(man);
	return b.data;
}

/* Parse a rendered record or fail the test with the record in the message. */
struct jval *
json_must_parse(const char *s, size_t len)
{
	char err[200];
	struct jval *v = json_parse(s, len, err, sizeof(err));

	ck_assert_msg(v != NULL, "not valid JSON (%s): %.*s", err, (int)len, s);
	return v;
}

struct keyspec {
	const char *key;
	enum jtype type;
};

/*
 * obj has the required keys (in this order, with these types) and
 * otherwise only keys from extra[].  Returns the number of extra keys.
 */
static unsigned
check_keys(const struct jval *obj, const char *what, const struct keyspec *req, size_t nreq,
    const struct keyspec *extra, size_t nextra)
{
	size_t i, j, ri = 0;
	unsigned extras = 0;

	ck_assert_msg(obj != NULL && obj->type == J_OBJ, "%s is not an object", what);
	for (i = 0; i < obj->n; i++) {
		const char *k = obj->keys[i];
		bool known = false;

		for (j = i + 1; j < obj->n; j++)
			ck_assert_msg(strcmp(k, obj->keys[j]) != 0, "%s: duplicate key %s", what, k);
		if (ri < nreq && strcmp(k, req[ri].key) == 0) {
			ck_assert_msg(obj->items[i]->type == req[ri].type, "%s.%s: wrong type %d",
			    what, k, obj->items[i]->type);
			ri++;
			continue;
		}
		for (j = 0; j < nextra; j++) {
			if (strcmp(k, extra[j].key) == 0) {
				ck_assert_msg(obj->items[i]->type == extra[j].type,
				    "%s.%s: wrong type %d", what, k, obj->items[i]->type);
				known = true;
			}
		}
		ck_assert_msg(known, "%s: unexpected or out-of-order key \"%s\"", what, k);
		extras++;
	}
	ck_assert_msg(ri == nreq, "%s: required key \"%s\" missing", what, req[ri < nreq ? ri : 0].key);
	return extras;
}

static const struct keyspec top_keys[] = {
	{ "ts", J_STR }, { "queue_id", J_STR }, { "client_ip", J_STR }, { "helo", J_STR },
	{ "mail_from", J_STR }, { "from_domain", J_STR }, { "spf", J_OBJ }, { "dkim", J_ARR },
	{ "dmarc", J_OBJ }, { "sender", J_STR },
};
static const struct keyspec spf_keys[] = { { "result", J_STR }, { "domain", J_STR }, { "aligned", J_BOOL } };
static const struct keyspec spf_extra[] = { { "identity", J_STR }, { "reason", J_STR } };
static const struct keyspec dkim_keys[] = {
	{ "domain", J_STR }, { "selector", J_STR }, { "algorithm", J_STR }, { "result", J_STR },
	{ "aligned", J_BOOL },
};
static const struct keyspec dkim_extra[] = { { "key_bits", J_NUM }, { "reason", J_STR } };
static const struct keyspec dmarc_keys[] = {
	{ "result", J_STR }, { "policy", J_STR }, { "disposition", J_STR }, { "adkim", J_STR },
	{ "aspf", J_STR },
};
static const struct keyspec dmarc_extra[] = {
	{ "pct", J_NUM }, { "record_domain", J_STR }, { "policy_tag", J_STR }, { "testing", J_BOOL },
	{ "psd", J_STR }, { "discovery", J_STR }, { "published", J_OBJ }, { "org_domain", J_STR },
	{ "walks_skipped", J_NUM }, { "reason", J_STR },
};
static const struct keyspec ses_keys[] = { { "region", J_STR }, { "mail_from", J_STR } };

/*
 * The record's schema: alignmilter(8)'s keys, in its order, with their types;
 * nested objects may carry only the known optional keys.  Returns the
 * number of keys beyond the example's.
 */
unsigned
check_record_schema(const struct jval *r)
{
	const struct jval *ses, *hints, *dkim, *ts;
	unsigned extras = 0;
	size_t i, k, skip = 0;

	ck_assert_msg(r->type == J_OBJ, "record is not an object");
	for (i = k = 0; i < NELEM(top_keys); i++, k++) {
		/* host, right after queue_id, when the milter logged it for an MTA (ReportingHost) */
		if (i == 2 && k < r->n && strcmp(r->keys[k], "host") == 0) {
			ck_assert_msg(r->items[k]->type == J_STR, "host: wrong type");
			k++;
			skip++;
			extras++;
		}
		/* author_domains, right after from_domain, only when the From was not one domain */
		if (i == 6 && k < r->n && strcmp(r->keys[k], "author_domains") == 0) {
			ck_assert_msg(r->items[k]->type == J_ARR, "author_domains: wrong type");
			k++;
			skip++;
			extras++;
		}
		ck_assert_msg(k < r->n, "record ends before %s", top_keys[i].key);
		ck_assert_str_eq(r->keys[k], top_keys[i].key);
		ck_assert_msg(r->items[k]->type == top_keys[i].type, "%s: wrong type", top_keys[i].key);
	}
	ck_assert_uint_eq(r->n, NELEM(top_keys) + 2 + skip);
	i = k;
	ck_assert_str_eq(r->keys[i], "ses");
	ses = r->items[i];
	ck_assert_str_eq(r->keys[i + 1], "hints");
	hints = r->items[i + 1];
	ts = jget(r, "ts");
	ck_assert_uint_eq(ts->slen, 20);
	ck_assert_msg(ts->str[4] == '-' && ts->str[7] == '-' && ts->str[10] == 'T' &&
	    ts->str[13] == ':' && ts->str[16] == ':' && ts->str[19] == 'Z', "ts %s", ts->str);
	extras += check_keys(jget(r, "spf"), "spf", spf_keys, NELEM(spf_keys), spf_extra, NELEM(spf_extra));
	dkim = jget(r, "dkim");
	for (i = 0; i < dkim->n; i++)
		extras += check_keys(dkim->items[i], "dkim[]", dkim_keys, NELEM(dkim_keys),
		    dkim_extra, NELEM(dkim_extra));
	extras += check_keys(jget(r, "dmarc"), "dmarc", dmarc_keys, NELEM(dmarc_keys),
	    dmarc_extra, NELEM(dmarc_extra));
	if (strcmp(jstr(r, "sender"), "ses") == 0)
		check_keys(ses, "ses", ses_keys, NELEM(ses_keys), NULL, 0);
	else
		ck_assert_msg(ses->type == J_NULL, "ses of non-SES mail is not null");
	ck_assert_msg(hints->type == J_ARR, "hints is not an array");
	for (i = 0; i < hints->n; i++)
		ck_assert_msg(hints->items[i]->type == J_STR, "hint %zu not a string", i);
	return extras;
}

/* ==== the pipeline over the fakezone ========================================= */

struct am_conf conf;
am_pipeline *eng;
struct fakezone *pz;

/* tests/verdict/dns.txt: name TXT value | name CNAME target */
void
load_dns(struct fakezone *z, const char *path, bool with_cnames)
{
	size_t len;
	char *buf = tu_slurp(path, &len), *line, *save = NULL;

	ck_assert_msg(buf != NULL, "cannot read %s", path);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *sp1, *sp2;

		if (line[0] == '#')
			continue;
		sp1 = strchr(line, ' ');
		ck_assert_ptr_nonnull(sp1);
		*sp1 = '\0';
		sp2 = strchr(sp1 + 1, ' ');
		ck_assert_ptr_nonnull(sp2);
		*sp2 = '\0';
		if (strcmp(sp1 + 1, "TXT") == 0)
			fz_add_txt(z, line, sp2 + 1);
		else if (strcmp(sp1 + 1, "CNAME") == 0) {
			if (with_cnames)
				fz_add_cname(z, line, sp2 + 1);
		}
		else
			ck_abort_msg("dns.txt: unknown type %s", sp1 + 1);
	}
	free(buf);
}

void
pipe_setup(void)
{
	char err[256];

	am_log_init("alignmilter-test", false, LOG_MAIL, false);
	am_conf_defaults(&conf);
	ck_assert_msg(am_conf_set(&conf, "AuthservID", AUTHSERV, err, sizeof(err)), "%s", err);
	ck_assert_msg(am_conf_set(&conf, "PublicSuffixList", PSL_PATH, err, sizeof(err)), "%s", err);
	pz = fz_new();
	load_dns(pz, FIX_DIR "/dns.txt", true);
	/* SES's SPF: the regional envelope domain includes amazonses.com */
	fz_add_txt(pz, "amazonses.com", "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 "
	    "ip4:54.240.0.0/18 ip4:69.169.224.0/20 -all");
	fz_add_txt(pz, "us-east-1.amazonses.com", "v=spf1 include:amazonses.com -all");
	/* the customer's custom MAIL FROM and DMARC record */
	fz_add_txt(pz, "mail.example.com", "v=spf1 include:amazonses.com ~all");
	fz_add_mx(pz, "mail.example.com", 10, "feedback-smtp.us-east-1.amazonses.com");
	fz_add_txt(pz, "_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:dmarc@example.com");
	fz_add_txt(pz, "example.com", "v=spf1 -all");
	eng = am_pipeline_new_with_resolver(&conf, am_resolver_new_backend(fz_backend, pz, 2000),
	    err, sizeof(err));
	ck_assert_msg(eng != NULL, "am_pipeline_new_with_resolver: %s", err);
}

void
pipe_teardown(void)
{
	am_pipeline_free(eng);
	fz_free(pz);
	am_conf_free(&conf);
	eng = NULL;
	pz = NULL;
}

bool
feed_header(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	am_pipeline_msg_header(arg, name, namelen, value, valuelen);
	return true;
}

/*
 * Run raw through a fresh check and copy the verdict into out.  chunk 0:
 * the body in one piece; SIZE_MAX: in odd sizes 1, 2, 3, 5, 7, 11, 13, ...
 */
void
check_message(const char *raw, size_t len, const char *client, const char *helo,
    const char *mail_from, size_t chunk, struct am_verdict *out)
{
	static const size_t odd[] = { 1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 997 };
	am_pipeline_msg *c = am_pipeline_msg_new(eng, client, helo, mail_from);
	size_t body, off, n, k = 0;
	char err[200];
	const struct am_verdict *v, *again;

	am_pipeline_msg_set_queue_id(c, "4Fx1");
	ck_assert_msg(am_message_split(raw, len, feed_header, c, &body, err, sizeof(err)), "split: %s", err);
	am_pipeline_msg_eoh(c);
	for (off = body; off < len; off += n) {
		n = chunk == 0 ? len - off : chunk == SIZE_MAX ? odd[k++ % NELEM(odd)] : chunk;
		if (n > len - off)
			n = len - off;
		am_pipeline_msg_body(c, (const unsigned char *)raw + off, n);
	}
	v = am_pipeline_msg_eom(c);
	again = am_pipeline_msg_eom(c);
	ck_assert_ptr_eq(v, again);
	memcpy(out, v, sizeof(*out));
	am_pipeline_msg_free(c);
}

char *
fixture(const char *name, size_t *len)
{
	char path[512];
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", FIX_DIR, name);
	buf = tu_slurp(path, len);
	ck_assert_msg(buf != NULL, "cannot read %s", path);
	return buf;
}

struct am_verdict *
new_verdict(void)
{
	return am_xcalloc(1, sizeof(struct am_verdict));
}
