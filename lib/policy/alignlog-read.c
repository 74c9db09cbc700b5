/*
 * alignlog-read.c - reading an alignment log record back into a verdict
 * (see alignlog-read.h).  Each object of the record is walked once, member by
 * member, through a small table of the keys it knows.  Errors and
 * threads: see alignlog-read.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Utility library. */
#include "util/json.h"
#include "util/util.h"

/* Policy and renderers. */
#include "policy/alignlog-read.h"
#include "policy/ses.h"

struct ctx {
	struct am_verdict *v;
	char	*err;
	size_t	errlen;
	bool	authors;	/* the record had "author_domains" */
};

static bool bad(struct ctx *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool
bad(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (c->err != NULL && c->errlen > 0)
		vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- time ---------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* Exactly n decimal digits at *s, advancing it. */
static bool
num(const char **s, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (**s < '0' || **s > '9')
			return false;
		v = v * 10 + (*(*s)++ - '0');
	}
	*out = v;
	return true;
}

static bool
lit(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

static int
month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "Z", "+HH:MM", "-HHMM" or nothing (UTC): offset east of UTC in seconds. */
static bool
zone(const char **s, long *offset)
{
	int hh, mm, sign;

	*offset = 0;
	if (**s == '\0')
		return true;
	if (lit(s, 'Z') || lit(s, 'z'))
		return **s == '\0';
	if (**s != '+' && **s != '-')
		return false;
	sign = *(*s)++ == '-' ? -1 : 1;
	if (!num(s, 2, &hh))
		return false;
	(void)lit(s, ':');
	if (!num(s, 2, &mm) || hh > 23 || mm > 59 || **s != '\0')
		return false;
	*offset = sign * (hh * 3600L + mm * 60L);
	return true;
}

bool
am_alignlog_parse_time(const char *s, time_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long offset = 0;

	if (s == NULL || !num(&s, 4, &y) || !lit(&s, '-') || !num(&s, 2, &mo) || !lit(&s, '-') ||
	    !num(&s, 2, &d) || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return false;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (!num(&s, 2, &h) || !lit(&s, ':') || !num(&s, 2, &mi) || h > 23 || mi > 59)
			return false;
		if (lit(&s, ':')) {
			/* 60: a leap second, counted as the next second like timegm(3). */
			if (!num(&s, 2, &sec) || sec > 60)
				return false;
			if (lit(&s, '.') || lit(&s, ',')) {
				if (*s < '0' || *s > '9')
					return false;
				while (*s >= '0' && *s <= '9')
					s++;
			}
		}
		if (!zone(&s, &offset))
			return false;
	} else if (*s != '\0') {
		return false;
	}
	*out = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400L + h * 3600L + mi * 60L +
	    sec - offset);
	return *out >= 0;
}

/* ---- typed members ------------------------------------------------- */

static bool
want_type(struct ctx *c, const struct am_json *m, const char *path, enum am_json_type t)
{
	if (m->type == t)
		return true;
	return bad(c, "%s: %s expected, got %s", path, am_json_type_name(t), am_json_type_name(m->type));
}

static bool
get_str(struct ctx *c, const struct am_json *m, const char *path, char *dst, size_t size)
{
	if (!want_type(c, m, path, AM_JSON_STRING))
		return false;
	if (m->len >= size)
		return bad(c, "%s: longer than %zu bytes", path, size - 1);
	memcpy(dst, m->str, m->len + 1);
	return true;
}

static bool
get_bool(struct ctx *c, const struct am_json *m, const char *path, bool *out)
{
	if (m->type != AM_JSON_TRUE && m->type != AM_JSON_FALSE)
		return bad(c, "%s: boolean expected, got %s", path, am_json_type_name(m->type));
	*out = m->type == AM_JSON_TRUE;
	return true;
}

/* An enum value whose name (by namefn) is the member's string. */
static bool
get_enum(struct ctx *c, const struct am_json *m, const char *path, int first, int last,
    const char *(*namefn)(int), int *out)
{
	int i;

	if (!want_type(c, m, path, AM_JSON_STRING))
		return false;
	for (i = first; i <= last; i++)
		if (strcmp(m->str, namefn(i)) == 0) {
			*out = i;
			return true;
		}
	return bad(c, "%s: unknown value \"%.40s\"", path, m->str);
}

static const char *spf_name(int i) { return am_spf_result_name((enum am_spf_result)i); }
static const char *dkim_name(int i) { return am_dkim_result_name((enum am_dkim_result)i); }
static const char *dmarc_name(int i) { return am_dmarc_result_name((enum am_dmarc_result)i); }
static const char *policy_name(int i) { return am_dmarc_policy_name((enum am_dmarc_policy)i); }

/*
 * Walk obj's members: each key must be one of keys[] (others are
 * skipped) and appear at most once; handler gets its index.  Keys whose
 * index is flagged in required must be present.
 */
typedef bool (*member_fn)(struct ctx *, void *arg, int index, const struct am_json *m);

static bool
walk(struct ctx *c, const struct am_json *obj, const char *path, const char *const keys[], int nkeys,
    unsigned required, member_fn fn, void *arg)
{
	const struct am_json *m;
	unsigned seen = 0;
	int i;

	if (!want_type(c, obj, *path ? path : "record", AM_JSON_OBJECT))
		return false;
	for (m = obj->child; m != NULL; m = m->next) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(m->key, keys[i]) == 0)
				break;
		if (i == nkeys)
			continue;
		if (seen & (1u << i))
			return bad(c, "%s%s%s: duplicate key", path, *path ? "." : "", keys[i]);
		seen |= 1u << i;
		if (!fn(c, arg, i, m))
			return false;
	}
	for (i = 0; i < nkeys; i++)
		if ((required & (1u << i)) && !(seen & (1u << i)))
			return bad(c, "%s%s%s: missing", path, *path ? "." : "", keys[i]);
	return true;
}

/* ---- spf ----------------------------------------------------------- */

static const char *const spf_keys[] = { "result", "domain", "aligned", "identity" };

static bool
spf_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	struct am_spf_verdict *s = arg;
	int r = 0;

	switch (i) {
	case 0:
		if (!get_enum(c, m, "spf.result", AM_SPF_NONE, AM_SPF_PERMERROR, spf_name, &r))
			return false;
		s->result = (enum am_spf_result)r;
		return true;
	case 1:
		if (!get_str(c, m, "spf.domain", s->domain, sizeof(s->domain)))
			return false;
		am_domain_normalize(s->domain);
		return true;
	case 2:
		return get_bool(c, m, "spf.aligned", &s->aligned);
	default:
		if (!want_type(c, m, "spf.identity", AM_JSON_STRING))
			return false;
		s->helo_identity = strcmp(m->str, "helo") == 0;
		return true;
	}
}

/* ---- dkim ---------------------------------------------------------- */

static const char *const sig_keys[] = { "domain", "selector", "algorithm", "result", "aligned",
	"key_bits", "reason" };

static bool
sig_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	struct am_dkim_sig *s = arg;
	long bits;
	int r = 0;

	switch (i) {
	case 0:
		if (!get_str(c, m, "dkim.domain", s->domain, sizeof(s->domain)))
			return false;
		am_domain_normalize(s->domain);
		return true;
	case 1:
		return get_str(c, m, "dkim.selector", s->selector, sizeof(s->selector));
	case 2:
		return get_str(c, m, "dkim.algorithm", s->algorithm, sizeof(s->algorithm));
	case 3:
		if (!get_enum(c, m, "dkim.result", AM_DKIM_NONE, AM_DKIM_PERMERROR, dkim_name, &r))
			return false;
		s->result = (enum am_dkim_result)r;
		return true;
	case 4:
		return get_bool(c, m, "dkim.aligned", &s->aligned);
	case 5:
		if (!am_json_int(m, 0, 1L << 20, &bits))
			return bad(c, "dkim.key_bits: not a key size");
		s->keybits = (unsigned)bits;
		return true;
	default:
		/* Reasons are free text; a long one is cut, not refused. */
		if (!want_type(c, m, "dkim.reason", AM_JSON_STRING))
			return false;
		am_strlcpy(s->reason, m->str, sizeof(s->reason));
		return true;
	}
}

static bool
parse_dkim(struct ctx *c, const struct am_json *arr)
{
	struct am_dkim_verdict *d = &c->v->dkim;
	const struct am_json *e;

	if (!want_type(c, arr, "dkim", AM_JSON_ARRAY))
		return false;
	for (e = arr->child; e != NULL; e = e->next) {
		struct am_dkim_sig tmp, *s;

		/* Beyond what a verdict keeps: checked, counted, not kept. */
		s = d->count < AM_DKIM_REPORT_MAX ? &d->sig[d->count] : &tmp;
		memset(s, 0, sizeof(*s));
		s->verified = true;
		/* domain and result: bits 0 and 3. */
		if (!walk(c, e, "dkim[]", sig_keys, 7, (1u << 0) | (1u << 3), sig_member, s))
			return false;
		if (s != &tmp)
			d->count++;
		d->total++;
	}
	return true;
}

/* ---- dmarc --------------------------------------------------------- */

/*
 * The RFC 9989 keys (policy_tag .. walks_skipped) follow record_domain;
 * records written before them lack them and infer() fills in RFC 7489's
 * view.
 */
enum {
	D_RESULT, D_POLICY, D_DISPOSITION, D_ADKIM, D_ASPF, D_PCT, D_RECORD_DOMAIN, D_POLICY_TAG,
	D_TESTING, D_PSD, D_DISCOVERY, D_PUBLISHED, D_ORG_DOMAIN, D_WALKS_SKIPPED, D_COUNT
};

static const char *const dmarc_keys[D_COUNT] = { "result", "policy", "disposition", "adkim", "aspf",
	"pct", "record_domain", "policy_tag", "testing", "psd", "discovery", "published", "org_domain",
	"walks_skipped" };

static bool
alignment_mode(struct ctx *c, const struct am_json *m, const char *path, char *out)
{
	if (!want_type(c, m, path, AM_JSON_STRING))
		return false;
	if (strcmp(m->str, "r") != 0 && strcmp(m->str, "s") != 0)
		return bad(c, "%s: \"r\" or \"s\" expected", path);
	*out = m->str[0];
	return true;
}

/* A string that must be one of names[0..n); its index in *out. */
static bool
one_of(struct ctx *c, const struct am_json *m, const char *path, const char *const names[], int n,
    int *out)
{
	int i;

	if (!want_type(c, m, path, AM_JSON_STRING))
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(m->str, names[i]) == 0) {
			*out = i;
			return true;
		}
	return bad(c, "%s: unknown value \"%.40s\"", path, m->str);
}

/* "published": {"p": .., "sp": .., "np": ..}, the tags the record had. */
static const char *const published_keys[] = { "p", "sp", "np" };

static bool
published_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	static const char *const paths[] = { "dmarc.published.p", "dmarc.published.sp",
		"dmarc.published.np" };
	struct am_dmarc_verdict *d = arg;
	enum am_dmarc_policy *dst[] = { &d->published_p, &d->published_sp, &d->published_np };
	int r = 0;

	if (!get_enum(c, m, paths[i], AM_POLICY_NONE, AM_POLICY_REJECT, policy_name, &r))
		return false;
	*dst[i] = (enum am_dmarc_policy)r;
	return true;
}

/* The RFC 9989 keys. */
static bool
dmarc_bis_member(struct ctx *c, struct am_dmarc_verdict *d, int i, const struct am_json *m)
{
	static const char *const tags[] = { "p", "sp", "np" };
	static const char *const psd[] = { "y", "n", "u" };
	static const char *const discovery[] = { "psl", "treewalk" };
	long n;
	int r = 0;

	switch (i) {
	case D_POLICY_TAG:
		if (!one_of(c, m, "dmarc.policy_tag", tags, 3, &r))
			return false;
		d->policy_tag = r == 0 ? AM_PTAG_P : r == 1 ? AM_PTAG_SP : AM_PTAG_NP;
		return true;
	case D_TESTING:
		return get_bool(c, m, "dmarc.testing", &d->testing);
	case D_PSD:
		if (!one_of(c, m, "dmarc.psd", psd, 3, &r))
			return false;
		d->psd = psd[r][0];
		return true;
	case D_DISCOVERY:
		if (!one_of(c, m, "dmarc.discovery", discovery, 2, &r))
			return false;
		d->discovery = r == 0 ? AM_DISCOVERY_PSL : AM_DISCOVERY_TREEWALK;
		return true;
	case D_PUBLISHED:
		return walk(c, m, "dmarc.published", published_keys, 3, 0, published_member, d);
	case D_ORG_DOMAIN:
		if (!get_str(c, m, "dmarc.org_domain", d->org_domain, sizeof(d->org_domain)))
			return false;
		am_domain_normalize(d->org_domain);
		return true;
	default:
		if (!am_json_int(m, 0, 1L << 20, &n))
			return bad(c, "dmarc.walks_skipped: not a count");
		d->walks_skipped = (unsigned)n;
		return true;
	}
}

static bool
dmarc_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	struct am_dmarc_verdict *d = arg;
	long pct;
	int r = 0;

	switch (i) {
	case D_RESULT:
		if (!get_enum(c, m, "dmarc.result", AM_DMARC_NONE, AM_DMARC_PERMERROR, dmarc_name, &r))
			return false;
		d->result = (enum am_dmarc_result)r;
		return true;
	case D_POLICY:
	case D_DISPOSITION:
		/* From NONE up, so "none" reads as a published p=none. */
		if (!get_enum(c, m, i == D_POLICY ? "dmarc.policy" : "dmarc.disposition", AM_POLICY_NONE,
		    AM_POLICY_REJECT, policy_name, &r))
			return false;
		*(i == D_POLICY ? &d->policy : &d->disposition) = (enum am_dmarc_policy)r;
		return true;
	case D_ADKIM:
		return alignment_mode(c, m, "dmarc.adkim", &d->adkim);
	case D_ASPF:
		return alignment_mode(c, m, "dmarc.aspf", &d->aspf);
	case D_PCT:
		if (!am_json_int(m, 0, 100, &pct))
			return bad(c, "dmarc.pct: not an integer 0..100");
		d->pct = (int)pct;
		d->record_found = true;
		return true;
	case D_RECORD_DOMAIN:
		if (!get_str(c, m, "dmarc.record_domain", d->record_domain, sizeof(d->record_domain)))
			return false;
		am_domain_normalize(d->record_domain);
		d->record_found = true;
		return true;
	default:
		return dmarc_bis_member(c, d, i, m);
	}
}

/* ---- ses and hints ------------------------------------------------- */

static const char *const ses_keys[] = { "region", "mail_from" };

static bool
ses_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	struct am_ses_verdict *s = arg;

	if (i == 0)
		return get_str(c, m, "ses.region", s->region, sizeof(s->region));
	if (!want_type(c, m, "ses.mail_from", AM_JSON_STRING))
		return false;
	s->default_mail_from = strcmp(m->str, "default") == 0;
	return true;
}

static bool
parse_hints(struct ctx *c, const struct am_json *arr)
{
	const struct am_json *e;
	unsigned h;

	if (!want_type(c, arr, "hints", AM_JSON_ARRAY))
		return false;
	for (e = arr->child; e != NULL; e = e->next) {
		if (!want_type(c, e, "hints[]", AM_JSON_STRING))
			return false;
		for (h = 0; h < AM_HINT_COUNT; h++)
			if (strcmp(e->str, am_hint_name((enum am_hint)h)) == 0)
				c->v->hints |= 1u << h;
	}
	return true;
}

/* ---- author_domains ------------------------------------------------- */

/*
 * Every author domain of a From that was not one clean domain, as the
 * milter wrote them: strings, each a domain that fits, normalized as
 * from_domain is.  Bounded: the first AM_FROM_DOMAINS_MAX distinct ones
 * are kept, more (a newer writer with a higher cap) set over, so a line
 * cannot make the reader keep more than the verdict holds.
 */
static bool
parse_authors(struct ctx *c, const struct am_json *arr)
{
	struct am_verdict *v = c->v;
	const struct am_json *e;
	char d[AM_DOMAIN_MAX];
	unsigned i;

	if (!want_type(c, arr, "author_domains", AM_JSON_ARRAY))
		return false;
	c->authors = true;
	for (e = arr->child; e != NULL; e = e->next) {
		if (!get_str(c, e, "author_domains[]", d, sizeof(d)))
			return false;
		am_domain_normalize(d);
		if (d[0] == '\0')
			return bad(c, "author_domains[]: empty");
		for (i = 0; i < v->n_author_domains; i++)
			if (strcmp(v->author_domains[i], d) == 0)
				break;
		if (i < v->n_author_domains)
			continue;
		if (v->n_author_domains == AM_FROM_DOMAINS_MAX) {
			v->author_domains_over = true;
			continue;
		}
		am_strlcpy(v->author_domains[v->n_author_domains++], d, sizeof(v->author_domains[0]));
	}
	return true;
}

/*
 * from_domain is the author domain that decided, so one of them; "" only
 * when none could be read.  A record saying otherwise would count a
 * message under a domain its From never named.
 */
static bool
check_authors(struct ctx *c)
{
	const struct am_verdict *v = c->v;
	unsigned i;

	if (!c->authors || (v->n_author_domains == 0 && v->from_domain[0] == '\0'))
		return true;
	for (i = 0; i < v->n_author_domains; i++)
		if (strcmp(v->author_domains[i], v->from_domain) == 0)
			return true;
	return bad(c, "from_domain: \"%.60s\" is not one of author_domains", v->from_domain);
}

/* ---- the record ---------------------------------------------------- */

enum {
	K_TS, K_QUEUE_ID, K_CLIENT_IP, K_HELO, K_MAIL_FROM, K_FROM_DOMAIN, K_SPF, K_DKIM, K_DMARC,
	K_SENDER, K_SES, K_HINTS, K_AUTHORS, K_HOST, K_COUNT
};

static const char *const top_keys[K_COUNT] = { "ts", "queue_id", "client_ip", "helo", "mail_from",
	"from_domain", "spf", "dkim", "dmarc", "sender", "ses", "hints", "author_domains", "host" };

static bool
top_member(struct ctx *c, void *arg, int i, const struct am_json *m)
{
	struct am_verdict *v = c->v;

	(void)arg;
	switch (i) {
	case K_TS:
		if (!want_type(c, m, "ts", AM_JSON_STRING))
			return false;
		if (!am_alignlog_parse_time(m->str, &v->ts))
			return bad(c, "ts: not an ISO 8601 time: \"%.40s\"", m->str);
		return true;
	case K_QUEUE_ID:
		return get_str(c, m, "queue_id", v->queue_id, sizeof(v->queue_id));
	case K_CLIENT_IP:
		return get_str(c, m, "client_ip", v->client_ip, sizeof(v->client_ip));
	case K_HELO:
		return get_str(c, m, "helo", v->helo, sizeof(v->helo));
	case K_MAIL_FROM:
		return get_str(c, m, "mail_from", v->mail_from, sizeof(v->mail_from));
	case K_FROM_DOMAIN:
		if (!get_str(c, m, "from_domain", v->from_domain, sizeof(v->from_domain)))
			return false;
		am_domain_normalize(v->from_domain);
		return true;
	case K_SPF:
		return walk(c, m, "spf", spf_keys, 4, 1u << 0, spf_member, &v->spf);
	case K_DKIM:
		return parse_dkim(c, m);
	case K_DMARC:
		return walk(c, m, "dmarc", dmarc_keys, D_COUNT, 1u << D_RESULT, dmarc_member, &v->dmarc);
	case K_SENDER:
		if (!want_type(c, m, "sender", AM_JSON_STRING))
			return false;
		v->ses.is_ses = v->ses.is_ses || strcmp(m->str, "ses") == 0;
		return true;
	case K_SES:
		if (m->type == AM_JSON_NULL)
			return true;
		v->ses.is_ses = true;
		return walk(c, m, "ses", ses_keys, 2, 0, ses_member, &v->ses);
	case K_AUTHORS:
		return parse_authors(c, m);
	case K_HOST:
		return get_str(c, m, "host", v->host, sizeof(v->host));
	default:
		return parse_hints(c, m);
	}
}

/*
 * The DMARC keys a record may lack.  Without a record nothing was
 * published.  With one, a record written before the RFC 9989 keys is
 * RFC 7489's: found through the PSL, no t=, psd unknown ('u', the
 * default), its own p= the policy that applied (the log cannot tell an
 * sp= apart), and that policy came from p= at the From domain itself
 * and from sp= at its organizational domain (RFC 7489 6.6.3).
 */
static void
infer_dmarc(struct am_verdict *v)
{
	struct am_dmarc_verdict *d = &v->dmarc;

	if (!d->record_found) {
		d->policy = d->disposition = AM_POLICY_UNSPEC;
		if (d->pct == 0)
			d->pct = 100;
		d->policy_tag = AM_PTAG_NONE;
		d->discovery = AM_DISCOVERY_NONE;
		d->published_p = d->published_sp = d->published_np = AM_POLICY_UNSPEC;
		return;
	}
	if (d->record_domain[0] == '\0')
		am_strlcpy(d->record_domain, v->from_domain, sizeof(d->record_domain));
	if (d->discovery == AM_DISCOVERY_NONE)
		d->discovery = AM_DISCOVERY_PSL;
	if (d->psd == '\0')
		d->psd = 'u';
	if (d->published_p == AM_POLICY_UNSPEC)
		d->published_p = d->policy;
	if (d->policy_tag == AM_PTAG_NONE)
		d->policy_tag = strcmp(d->record_domain, v->from_domain) == 0 ? AM_PTAG_P : AM_PTAG_SP;
}

/*
 * What the log leaves out but the hint fixes name: which signature's key
 * was missing (or published under a doubled suffix), and the DMARC view
 * of alignment (an identifier counts when aligned and passing).
 */
static void
infer(const struct ctx *c, struct am_verdict *v)
{
	bool missing = v->hints & (1u << AM_HINT_DKIM_KEY_NOT_FOUND);
	bool doubled = v->hints & (1u << AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX);
	size_t i;

	/*
	 * author_domains is there exactly when the From was not one clean
	 * domain; several of them were several addresses or fields.  Older
	 * records tell it by the hint alone (and an empty from_domain).
	 */
	if (c->authors)
		v->from_status = v->n_author_domains > 1 || v->author_domains_over ?
		    AM_FROM_MULTIPLE : AM_FROM_NO_DOMAIN;
	else
		v->from_status = v->from_domain[0] != '\0' && !(v->hints & (1u << AM_HINT_FROM_INVALID)) ?
		    AM_FROM_OK : AM_FROM_NO_DOMAIN;
	if (!v->ses.is_ses)
		v->ses.default_mail_from = false;
	infer_dmarc(v);
	v->dmarc.spf_aligned = v->spf.result == AM_SPF_PASS && v->spf.aligned;
	for (i = 0; i < v->dkim.count; i++) {
		struct am_dkim_sig *s = &v->dkim.sig[i];

		if (s->result == AM_DKIM_PASS && s->aligned)
			v->dmarc.dkim_aligned = true;
		if ((missing || doubled) && s->result != AM_DKIM_PASS &&
		    strcmp(s->reason, "key not found") == 0) {
			s->key_not_found = true;
			s->duplicated_suffix = doubled;
		}
	}
}

bool
am_alignlog_read(const char *line, size_t len, struct am_verdict *v, char *err, size_t errlen)
{
	struct am_json_doc *doc;
	struct ctx c = { v, err, errlen, false };
	char jerr[96];
	bool ok;

	memset(v, 0, sizeof(*v));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((doc = am_json_parse(line, len, jerr, sizeof(jerr))) == NULL)
		return bad(&c, "not JSON: %s", jerr);
	ok = walk(&c, am_json_root(doc), "", top_keys, K_COUNT,
	    (1u << K_TS) | (1u << K_FROM_DOMAIN) | (1u << K_SPF) | (1u << K_DKIM) | (1u << K_DMARC) |
	    (1u << K_HINTS), top_member, NULL);
	am_json_free(doc);
	if (ok)
		ok = check_authors(&c);
	if (ok)
		infer(&c, v);
	return ok;
}
