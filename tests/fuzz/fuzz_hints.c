/*
 * fuzz_hints.c - libFuzzer target: the hint logic and the three renderers
 * fed random verdicts.
 *
 * The input bytes fill a struct am_verdict: every result, policy and flag,
 * and every string (domains, selectors, reasons, envelope, HELO, queue
 * id), each either picked from a small dictionary of meaningful values
 * (SES and PSL corner cases, so the hints fire) or taken raw from the
 * input (any byte but NUL, up to the field's size).  Then
 * am_ses_analyse() (with a real am_dmarc: Debian's PSL over a fakezone
 * resolver), am_hint_fix() and am_hint_records() for every hint,
 * am_authres_render(), am_alignlog_render() and am_verdictline_render().
 * Invariants:
 *   - hints only name known bits; every fix text fits its buffer; every
 *     record is a whole zone-file line (absolute owner at the left
 *     margin, printable ASCII, quotes balanced), never cut;
 *   - the Authentication-Results value has no CR, and every LF is the
 *     "\n\t" of a fold; no other control byte;
 *   - the JSON record is one line, valid JSON, valid UTF-8;
 *   - the syslog line is printable ASCII without a line end.
 */
#include "config.h"

#include <string.h>

#include "policy/authres.h"
#include "auth/dmarc.h"
#include "fakezone.h"
#include "fuzz.h"
#include "policy/alignlog.h"
#include "policy/ses.h"
#include "policy/verdictline.h"
#include "util/util.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

static struct fakezone *fz;
static am_resolver *res;
static am_dmarc *dm;

/* ---- reading the input ---------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t	n;
};

static uint8_t
rd_byte(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const domains[] = {
	"example.com", "mail.example.com", "a.b.example.com", "EXAMPLE.COM", "example.org",
	"amazonses.com", "us-east-1.amazonses.com", "eu-west-2.amazonses.com",
	"us-gov-west-1.amazonses.com", "mail.example.com.example.com", "co.uk",
	"example.co.uk", "a.example.co.uk", "com", "", ".", "example.com.",
	"xn--bcher-kva.example", ("b\xc3\xbc" "cher.example"), "localhost", "s3.amazonaws.com",
};
static const char *const addresses[] = {
	"", "0100018c@us-east-1.amazonses.com", "bounce@amazonses.com", "a@mail.example.com",
	"postmaster@example.com", "x@eu-west-2.amazonses.com", "a@", "@example.com",
	"a@b@c.example", "\"a b\"@example.com",
};
static const char *const regions[] = { "", "us-east-1", "eu-west-2", "us-gov-west-1", "x" };
static const char *const selectors[] = { "token1", "224i4yxa", "s1", "" };
static const char *const algorithms[] = { "rsa-sha256", "ed25519-sha256", "rsa-sha1", "" };
static const char *const reasons[] = {
	"", "body hash mismatch", "signature did not verify", "key not found",
	("SPF record refused: macro too long for libspf2 "
	"(CVE-2023-42118)"), "a (comment) with \\ and \"quotes\"",
};

/*
 * A string: high bit set picks dict[b & 0x7f]; else b bytes of input
 * (0x7f: 127 + the next byte), cut at the field size; NUL ends it early,
 * as it would in any C string a verifier produced.
 */
static void
rd_str(struct rd *r, char *dst, size_t dstlen, const char *const *dict, size_t ndict)
{
	uint8_t b = rd_byte(r);
	size_t len;

	if ((b & 0x80) && ndict > 0) {
		am_strlcpy(dst, dict[(b & 0x7f) % ndict], dstlen);
		return;
	}
	len = b & 0x7f;
	if (len == 0x7f)
		len += rd_byte(r);
	if (len > r->n)
		len = r->n;
	if (len > dstlen - 1)
		len = dstlen - 1;
	memcpy(dst, r->p, len);
	dst[len] = '\0';
	r->p += len;
	r->n -= len;
}

static void
fill_verdict(struct rd *r, struct am_verdict *v)
{
	size_t i;
	uint8_t f;

	v->ts = (time_t)((uint32_t)rd_byte(r) << 24 | (uint32_t)rd_byte(r) << 16 |
	    (uint32_t)rd_byte(r) << 8 | rd_byte(r));
	rd_str(r, v->queue_id, sizeof(v->queue_id), NULL, 0);
	rd_str(r, v->client_ip, sizeof(v->client_ip), NULL, 0);
	rd_str(r, v->helo, sizeof(v->helo), domains, NELEM(domains));
	rd_str(r, v->mail_from, sizeof(v->mail_from), addresses, NELEM(addresses));
	v->from_status = (enum am_from_status)(rd_byte(r) % 4);
	rd_str(r, v->from_domain, sizeof(v->from_domain), domains, NELEM(domains));

	f = rd_byte(r);
	v->spf.result = (enum am_spf_result)(f % 7);
	v->spf.helo_identity = f & 0x08;
	v->spf.aligned = f & 0x10;
	rd_str(r, v->spf.domain, sizeof(v->spf.domain), domains, NELEM(domains));
	rd_str(r, v->spf.reason, sizeof(v->spf.reason), reasons, NELEM(reasons));
	rd_str(r, v->spf.explanation, sizeof(v->spf.explanation), reasons, NELEM(reasons));

	v->dkim.count = rd_byte(r) % (AM_DKIM_REPORT_MAX + 1);
	v->dkim.total = v->dkim.count + rd_byte(r) % 4;
	for (i = 0; i < v->dkim.count; i++) {
		struct am_dkim_sig *s = &v->dkim.sig[i];

		f = rd_byte(r);
		s->result = (enum am_dkim_result)(f % 7);
		s->verified = f & 0x08;
		s->key_not_found = f & 0x10;
		s->duplicated_suffix = f & 0x20;
		s->aligned = f & 0x40;
		rd_str(r, s->domain, sizeof(s->domain), domains, NELEM(domains));
		rd_str(r, s->selector, sizeof(s->selector), selectors, NELEM(selectors));
		rd_str(r, s->algorithm, sizeof(s->algorithm), algorithms, NELEM(algorithms));
		rd_str(r, s->b_prefix, sizeof(s->b_prefix), NULL, 0);
		s->keybits = (unsigned)rd_byte(r) * 32;
		rd_str(r, s->reason, sizeof(s->reason), reasons, NELEM(reasons));
	}

	f = rd_byte(r);
	v->dmarc.result = (enum am_dmarc_result)(f % 5);
	v->dmarc.record_found = f & 0x08;
	v->dmarc.used_org_domain = f & 0x10;
	v->dmarc.sampled_out = f & 0x20;
	v->dmarc.spf_aligned = f & 0x40;
	v->dmarc.dkim_aligned = f & 0x80;
	f = rd_byte(r);
	v->dmarc.policy = (enum am_dmarc_policy)(f % 4);
	v->dmarc.disposition = (enum am_dmarc_policy)((f >> 2) % 4);
	v->dmarc.adkim = (f & 0x10) ? 's' : 'r';
	v->dmarc.aspf = (f & 0x20) ? 's' : 'r';
	v->dmarc.pct = rd_byte(r) % 101;
	rd_str(r, v->dmarc.org_domain, sizeof(v->dmarc.org_domain), domains, NELEM(domains));
	rd_str(r, v->dmarc.record_domain, sizeof(v->dmarc.record_domain), domains, NELEM(domains));
	rd_str(r, v->dmarc.reason, sizeof(v->dmarc.reason), reasons, NELEM(reasons));

	f = rd_byte(r);
	v->has_feedback_id = f & 1;
	v->has_x_ses_outgoing = f & 2;
	rd_str(r, v->feedback_id_region, sizeof(v->feedback_id_region), regions, NELEM(regions));
	/* leftovers of the input: SES fields am_ses_analyse must overwrite */
	rd_str(r, v->ses.region, sizeof(v->ses.region), NULL, 0);
	v->hints = (unsigned)rd_byte(r) << 24;
}

/* ---- checking the output ---------------------------------------------------- */

/* A small JSON (RFC 8259) syntax checker; depth is bounded by the record's shape. */
struct js {
	const char *p, *end;
};

static void
js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t'))
		j->p++;
}

static bool
js_lit(struct js *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
js_string(struct js *j)
{
	int k;

	if (j->p >= j->end || *j->p != '"')
		return false;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (++j->p >= j->end)
			return false;
		if (*j->p == 'u') {
			for (k = 0; k < 4; k++)
				if (++j->p >= j->end || strchr("0123456789abcdefABCDEF", *j->p) == NULL ||
				    *j->p == '\0')
					return false;
		} else if (strchr("\"\\/bfnrt", *j->p) == NULL || *j->p == '\0')
			return false;
	}
	return false;
}

static bool
js_number(struct js *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s && j->p[-1] != '-';
}

static bool js_value(struct js *, int);

static bool
js_container(struct js *j, int depth, char close, bool object)
{
	j->p++;
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		js_ws(j);
		if (object) {
			if (!js_string(j))
				return false;
			js_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!js_value(j, depth + 1))
			return false;
		js_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool
js_value(struct js *j, int depth)
{
	if (depth > 8)
		return false;	/* the record is 3 levels deep */
	js_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return js_container(j, depth, '}', true);
	case '[':
		return js_container(j, depth, ']', false);
	case '"':
		return js_string(j);
	case 't':
		return js_lit(j, "true");
	case 'f':
		return js_lit(j, "false");
	case 'n':
		return js_lit(j, "null");
	default:
		return js_number(j);
	}
}

static void
check_json(const struct am_buf *b)
{
	struct js j;

	FUZZ_ASSERT(b->len >= 3 && strlen(b->data) == b->len);
	FUZZ_ASSERT(b->data[b->len - 1] == '\n');
	FUZZ_ASSERT(memchr(b->data, '\n', b->len - 1) == NULL);
	FUZZ_ASSERT(memchr(b->data, '\r', b->len) == NULL);
	FUZZ_ASSERT(utf8_ok((const unsigned char *)b->data, b->len));
	j.p = b->data;
	j.end = b->data + b->len - 1;
	FUZZ_ASSERT(*j.p == '{' && js_value(&j, 0));
	js_ws(&j);
	FUZZ_ASSERT(j.p == j.end);
}

static void
check_authres(const struct am_buf *b)
{
	size_t i;

	FUZZ_ASSERT(b->len > 0 && strlen(b->data) == b->len && b->data[0] == ' ');
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		FUZZ_ASSERT(c != '\r' && c != 0x7f);
		if (c == '\n')
			FUZZ_ASSERT(i + 1 < b->len && b->data[i + 1] == '\t');
		else if (c == '\t')
			FUZZ_ASSERT(i > 0 && b->data[i - 1] == '\n');
		else
			FUZZ_ASSERT(c >= 0x20);
	}
	FUZZ_ASSERT(b->data[b->len - 1] != '\n' && b->data[b->len - 1] != '\t');
}

/* Each "\n"-separated line: "owner. TYPE data", printable ASCII, quotes paired. */
static void
check_records(const char *recs)
{
	const char *p = recs;

	while (*p != '\0') {
		const char *e = strchr(p, '\n'), *sp;
		size_t n, i, quotes = 0;

		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		sp = memchr(p, ' ', n);
		FUZZ_ASSERT(n > 0 && p[0] != ' ' && sp != NULL && sp > p && sp[-1] == '.');
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT((unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f);
			quotes += p[i] == '"';
		}
		FUZZ_ASSERT(quotes % 2 == 0);
		FUZZ_ASSERT(strncmp(sp, " MX 10 ", 7) == 0 || strncmp(sp, " TXT \"", 6) == 0 ||
		    strncmp(sp, " CNAME ", 7) == 0);
		p = *e ? e + 1 : e;
	}
}

static void
check_verdictline(const struct am_buf *b)
{
	size_t i;

	FUZZ_ASSERT(b->len > 0 && strlen(b->data) == b->len);
	for (i = 0; i < b->len; i++)
		FUZZ_ASSERT((unsigned char)b->data[i] >= 0x20 && (unsigned char)b->data[i] < 0x7f);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fz = fz_new();
	res = am_resolver_new_backend(fz_backend, fz, 1000);
	if ((dm = am_dmarc_new(res, AM_DMARC_RFC7489, PSL_PATH, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_hints: %s\n", err);
		exit(1);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "mx.example.net", "mx", "a-b_c.example" };
	struct am_verdict *v = calloc(1, sizeof(*v));
	struct rd r = { data, size };
	struct am_buf b;
	char fix[1024], tiny[8];
	unsigned h;

	FUZZ_ASSERT(v != NULL);
	fill_verdict(&r, v);
	am_ses_analyse(dm, v);
	FUZZ_ASSERT((v->hints & ~((1u << AM_HINT_COUNT) - 1)) == 0);
	FUZZ_ASSERT(memchr(v->ses.region, '\0', sizeof(v->ses.region)) != NULL);
	FUZZ_ASSERT(v->ses.is_ses || (!v->ses.default_mail_from && v->ses.region[0] == '\0'));
	for (h = 0; h < AM_HINT_COUNT; h++) {
		FUZZ_ASSERT(am_hint_name((enum am_hint)h) != NULL);
		memset(fix, 'X', sizeof(fix));
		am_hint_fix(v, (enum am_hint)h, fix, sizeof(fix));
		FUZZ_ASSERT(memchr(fix, '\0', sizeof(fix)) != NULL && fix[0] != '\0');
		memset(tiny, 'X', sizeof(tiny));
		am_hint_fix(v, (enum am_hint)h, tiny, sizeof(tiny));
		FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
		memset(fix, 'X', sizeof(fix));
		am_hint_records(v, (enum am_hint)h, fix, sizeof(fix));
		FUZZ_ASSERT(memchr(fix, '\0', sizeof(fix)) != NULL);
		check_records(fix);
		memset(tiny, 'X', sizeof(tiny));
		am_hint_records(v, (enum am_hint)h, tiny, sizeof(tiny));
		FUZZ_ASSERT(tiny[0] == '\0');	/* no record fits in 8 bytes: none, not half */
	}
	am_buf_init(&b);
	am_authres_render(v, ids[size % NELEM(ids)], &b);
	check_authres(&b);
	am_alignlog_render(v, &b);
	check_json(&b);
	am_verdictline_render(v, &b);
	check_verdictline(&b);
	am_buf_free(&b);
	free(v);
	return 0;
}
