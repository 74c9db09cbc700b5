/*
 * dmarc.c - DMARC (RFC 7489): policy discovery, alignment, evaluation.
 *
 * Owns: the Public Suffix List (libpsl), the organizational domain, our
 * own identifier alignment, the _dmarc TXT lookups (through am_resolver,
 * never libopendmarc's resolver), the RFC 7489 6.3/6.6.3 handling of
 * defective records, and the use of libopendmarc to parse the record and
 * pick p= or sp=.  See dmarc.h for the API.
 *
 * Why not libopendmarc for everything: 1.4.2 gets strict alignment wrong
 * (subdomains "align" strictly; co.uk "aligns" with example.co.uk), its
 * fetch_rua/fetch_ruf with a buffer do their own DNS (cross-domain report
 * checks), and its parser is lenient where RFC 7489 is not (p=n, pct=1.1)
 * and strict where RFC 7489 says to ignore a bad tag (6.3).  So we vet the
 * tags ourselves, hand libopendmarc a clean record, take the policy it
 * selects, and decide pass/fail with our alignment.
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>
#include <opendmarc/dmarc.h>

#include "auth/dmarc.h"
#include "util/util.h"

struct am_dmarc {
	am_resolver *res;
	psl_ctx_t *psl;
};

struct am_dmarc_lookup {
	char	domain[AM_DOMAIN_MAX];	/* normalized From domain */
	bool	valid;			/* domain is a usable DNS name */
	am_dns_query *q;		/* pending _dmarc query, or NULL */
	struct am_dns_answer *ans;	/* its answer once waited for */
};

/* libopendmarc's PSL table and its OPENDMARC_LIB_T are process-global. */
static pthread_mutex_t odm_lock = PTHREAD_MUTEX_INITIALIZER;
static bool odm_done;
static int odm_status;
static OPENDMARC_LIB_T odm_lib;		/* the library keeps a pointer to it */

/* ---- names ---------------------------------------------------------------- */

/*
 * Copy a domain into out, lower-cased, without one trailing (root) dot.
 * Returns false when it is not a plausible DNS name: empty, too long,
 * an empty label (leading dot, "a..b"), a label over 63 octets, or a
 * character that no host name or U-label has.
 */
static bool
dmarc_domain_clean(const char *in, char *out, size_t outlen)
{
	size_t len, i, label = 0;

	if (in == NULL)
		return false;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= outlen)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
			if (++label > 63)
				return false;
		} else
			return false;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return label > 0;
}

bool
am_dmarc_org_domain(const am_dmarc *d, const char *domain, char *out, size_t outlen)
{
	char buf[AM_DOMAIN_MAX];
	const char *reg;

	if (outlen > 0)
		out[0] = '\0';
	if (d == NULL || !dmarc_domain_clean(domain, buf, sizeof(buf)))
		return false;
	/* RFC 7489 3.2: the public suffix plus one label; none for a suffix. */
	reg = psl_registrable_domain(d->psl, buf);
	if (reg == NULL || reg[0] == '\0' || strlen(reg) >= outlen)
		return false;
	am_strlcpy(out, reg, outlen);
	return true;
}

bool
am_dmarc_aligned(const am_dmarc *d, const char *from_domain, const char *other, bool strict)
{
	char a[AM_DOMAIN_MAX], b[AM_DOMAIN_MAX];
	char oa[AM_DOMAIN_MAX], ob[AM_DOMAIN_MAX];

	if (!dmarc_domain_clean(from_domain, a, sizeof(a)) ||
	    !dmarc_domain_clean(other, b, sizeof(b)))
		return false;
	if (strcmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	/* Relaxed: same organizational domain; a public suffix has none. */
	if (!am_dmarc_org_domain(d, a, oa, sizeof(oa)) ||
	    !am_dmarc_org_domain(d, b, ob, sizeof(ob)))
		return false;
	return strcmp(oa, ob) == 0;
}

/* ---- set-up --------------------------------------------------------------- */

static bool
dmarc_library_init(const char *psl_path, char *err, size_t errlen)
{
	bool ok;

	pthread_mutex_lock(&odm_lock);
	if (!odm_done) {
		odm_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		am_strlcpy((char *)odm_lib.tld_source_file, psl_path,
		    sizeof(odm_lib.tld_source_file));
		odm_status = opendmarc_policy_library_init(&odm_lib);
		odm_done = true;
	}
	ok = odm_status == DMARC_PARSE_OKAY;
	pthread_mutex_unlock(&odm_lock);
	if (!ok)
		snprintf(err, errlen, "libopendmarc initialisation failed: %s",
		    opendmarc_policy_status_to_str(odm_status));
	return ok;
}

am_dmarc *
am_dmarc_new(am_resolver *res, const char *psl_path, char *err, size_t errlen)
{
	am_dmarc *d;
	psl_ctx_t *psl;

	if (errlen > 0)
		err[0] = '\0';
	if (res == NULL || psl_path == NULL || psl_path[0] == '\0') {
		snprintf(err, errlen, "DMARC: no resolver or no PublicSuffixList path");
		return NULL;
	}
	if ((psl = psl_load_file(psl_path)) == NULL) {
		snprintf(err, errlen, "cannot read PublicSuffixList %s", psl_path);
		return NULL;
	}
	/* Any text file "loads"; a real list knows co.uk is a public suffix. */
	if (psl_suffix_count(psl) <= 0 || !psl_is_public_suffix(psl, "co.uk")) {
		snprintf(err, errlen, "PublicSuffixList %s does not look like the Public Suffix List",
		    psl_path);
		psl_free(psl);
		return NULL;
	}
	/* Only the first path reaches libopendmarc; we never use its PSL. */
	if (!dmarc_library_init(psl_path, err, errlen)) {
		psl_free(psl);
		return NULL;
	}
	d = am_xcalloc(1, sizeof(*d));
	d->res = res;
	d->psl = psl;
	return d;
}

void
am_dmarc_free(am_dmarc *d)
{
	if (d == NULL)
		return;
	psl_free(d->psl);
	free(d);
}

/* ---- lookups -------------------------------------------------------------- */

/* Start _dmarc.<domain> TXT; NULL when the name would be too long. */
static am_dns_query *
dmarc_query_start(am_dmarc *d, const char *domain)
{
	char name[AM_DOMAIN_MAX + 8];

	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) > 253)
		return NULL;
	return am_dns_start(d->res, name, AM_RR_TXT);
}

am_dmarc_lookup *
am_dmarc_start(am_dmarc *d, const char *from_domain)
{
	am_dmarc_lookup *lk = am_xcalloc(1, sizeof(*lk));

	lk->valid = d != NULL && dmarc_domain_clean(from_domain, lk->domain, sizeof(lk->domain));
	if (lk->valid)
		lk->q = dmarc_query_start(d, lk->domain);
	return lk;
}

void
am_dmarc_lookup_free(am_dmarc_lookup *lk)
{
	if (lk == NULL)
		return;
	am_dns_cancel(lk->q);
	am_dns_answer_free(lk->ans);
	free(lk);
}

/* The answer of a started lookup, waiting for it once. */
static const struct am_dns_answer *
dmarc_lookup_answer(am_dmarc_lookup *lk)
{
	if (lk->q != NULL) {
		lk->ans = am_dns_wait(lk->q);
		lk->q = NULL;
	}
	return lk->ans;
}

/* ---- record selection (RFC 7489 6.6.3 steps 2-5) ---------------------------- */

enum disc {
	DISC_NONE,		/* no DMARC record at this name */
	DISC_FOUND,		/* exactly one */
	DISC_MULTI,		/* more than one: no policy */
	DISC_TEMP,		/* DNS temporary error */
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * A DMARC record starts with the v tag: "v" *WSP "=" *WSP "DMARC1", the
 * version matched exactly (6.3: "MUST match precisely"), then the end,
 * WSP or ";".  Anything else is some other TXT record.
 */
static bool
is_dmarc_record(const char *s)
{
	if (*s != 'v' && *s != 'V')
		return false;
	for (s++; is_wsp(*s); s++)
		;
	if (*s++ != '=')
		return false;
	while (is_wsp(*s))
		s++;
	if (strncmp(s, "DMARC1", 6) != 0)
		return false;
	s += 6;
	while (is_wsp(*s))
		s++;
	return *s == '\0' || *s == ';';
}

/* Classify an answer; *rec points into it when DISC_FOUND. */
static enum disc
dmarc_select(const struct am_dns_answer *a, const char **rec)
{
	size_t i, n = 0;

	*rec = NULL;
	if (a == NULL)
		return DISC_TEMP;
	switch (a->status) {
	case AM_DNS_OK:
		break;
	case AM_DNS_NXDOMAIN:
	case AM_DNS_NODATA:
		return DISC_NONE;
	case AM_DNS_SERVFAIL:
	case AM_DNS_TIMEOUT:
	default:
		return DISC_TEMP;
	}
	for (i = 0; i < a->count; i++) {
		/* rdata is NUL-terminated; an embedded NUL ends the text. */
		const char *t = (const char *)a->rr[i].data;

		if (t != NULL && is_dmarc_record(t)) {
			n++;
			*rec = t;
		}
	}
	if (n > 1) {
		*rec = NULL;
		return DISC_MULTI;
	}
	return n == 1 ? DISC_FOUND : DISC_NONE;
}

/* ---- tag vetting (RFC 7489 6.3, 6.4, 6.6.3) --------------------------------- */

struct dmarc_tags {
	const char *p, *sp, *adkim, *aspf, *pct;
	bool	p_bad, sp_bad;
	char	rua[1024];		/* the syntactically valid rua URIs, "," separated */
	char	notes[AM_REASON_MAX];	/* what was ignored, for the reason */
};

static void
tags_note(struct dmarc_tags *t, const char *name)
{
	if (t->notes[0] == '\0')
		am_strlcpy(t->notes, "ignored invalid", sizeof(t->notes));
	am_strlcat(t->notes, " ", sizeof(t->notes));
	am_strlcat(t->notes, name, sizeof(t->notes));
	am_strlcat(t->notes, "=", sizeof(t->notes));
}

static bool
one_of(const char *v, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasecmp(v, *words) == 0)
			return true;
	return false;
}

/* 1*max DIGIT with a value <= limit. */
static bool
is_number(const char *v, size_t max, unsigned long long limit)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if (!isdigit((unsigned char)v[i]) || i >= max)
			return false;
		n = n * 10 + (unsigned)(v[i] - '0');
		if (n > limit)
			return false;
	}
	return i > 0;
}

/* A list of items separated by sep (with optional WSP), each valid per fn. */
static bool
is_list(const char *v, char sep, bool (*fn)(const char *, size_t))
{
	const char *e;

	for (;;) {
		size_t n;

		while (is_wsp(*v))
			v++;
		e = strchr(v, sep);
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		if (!fn(v, n))
			return false;
		if (e == NULL)
			return true;
		v = e + 1;
	}
}

static bool
fo_item(const char *v, size_t n)
{
	return n == 1 && strchr("01dDsS", v[0]) != NULL;
}

static bool
rf_item(const char *v, size_t n)
{
	return (n == 4 && strncasecmp(v, "afrf", 4) == 0) ||
	    (n == 5 && strncasecmp(v, "iodef", 5) == 0);
}

/*
 * dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].  We accept
 * the schemes receivers can use: mailto: with an addr-spec, http(s)://
 * with a host.  No spaces, no commas, no control characters.
 */
static bool
uri_item(const char *v, size_t n)
{
	const char *bang, *rest;
	size_t i, ulen;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == ',' || v[i] == ';')
			return false;
	bang = memchr(v, '!', n);
	ulen = bang != NULL ? (size_t)(bang - v) : n;
	if (bang != NULL) {
		size_t j = 1, tail = n - ulen;

		while (j < tail && isdigit((unsigned char)bang[j]))
			j++;
		if (j == 1 || (j < tail && !(j + 1 == tail && strchr("kmgtKMGT", bang[j]) != NULL)))
			return false;
	}
	if (ulen > 7 && strncasecmp(v, "mailto:", 7) == 0) {
		const char *at = memchr(v + 7, '@', ulen - 7);

		return at != NULL && at > v + 7 && at < v + ulen - 1;
	}
	if (ulen > 7 && strncasecmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (ulen > 8 && strncasecmp(v, "https://", 8) == 0)
		rest = v + 8;
	else
		return false;
	return rest < v + ulen && *rest != '/';
}

/* Keep the valid URIs of a rua value; false if it had an invalid one. */
static bool
rua_collect(const char *v, char *out, size_t outlen)
{
	bool all = true;

	for (;;) {
		const char *e;
		size_t n;

		while (is_wsp(*v))
			v++;
		e = strchr(v, ',');
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
		if (uri_item(v, n) && strlen(out) + n + 2 < outlen) {
			if (out[0] != '\0')
				am_strlcat(out, ",", outlen);
			strncat(out, v, n);
		} else
			all = false;
		if (e == NULL)
			return all;
		v = e + 1;
	}
}

/* Vet one tag; valid values are remembered (pointing into the copy). */
static void
tags_one(struct dmarc_tags *t, const char *name, const char *v)
{
	static const char *const pol[] = { "none", "quarantine", "reject", NULL };
	static const char *const mode[] = { "r", "s", NULL };

	if (strcasecmp(name, "p") == 0) {
		t->p_bad = !one_of(v, pol);
		t->p = t->p_bad ? NULL : v;
	} else if (strcasecmp(name, "sp") == 0) {
		t->sp_bad = !one_of(v, pol);
		t->sp = t->sp_bad ? NULL : v;
	} else if (strcasecmp(name, "adkim") == 0) {
		if (one_of(v, mode))
			t->adkim = v;
		else
			tags_note(t, "adkim");
	} else if (strcasecmp(name, "aspf") == 0) {
		if (one_of(v, mode))
			t->aspf = v;
		else
			tags_note(t, "aspf");
	} else if (strcasecmp(name, "pct") == 0) {
		if (is_number(v, 3, 100))
			t->pct = v;
		else
			tags_note(t, "pct");
	} else if (strcasecmp(name, "ri") == 0) {
		if (!is_number(v, 32, 4294967295ULL))
			tags_note(t, "ri");
	} else if (strcasecmp(name, "fo") == 0) {
		if (!is_list(v, ':', fo_item))
			tags_note(t, "fo");
	} else if (strcasecmp(name, "rf") == 0) {
		if (!is_list(v, ':', rf_item))
			tags_note(t, "rf");
	} else if (strcasecmp(name, "rua") == 0) {
		if (!rua_collect(v, t->rua, sizeof(t->rua)))
			tags_note(t, "rua");
	} else if (strcasecmp(name, "ruf") == 0) {
		char scratch[1024] = "";

		if (!rua_collect(v, scratch, sizeof(scratch)))
			tags_note(t, "ruf");
	}
	/* v (already checked) and unknown tags: ignored (6.3). */
}

/* Split copy (modified in place) into tags; tokens without "=" are ignored. */
static void
tags_scan(char *copy, struct dmarc_tags *t)
{
	char *tok, *next, *eq, *name, *val;

	memset(t, 0, sizeof(*t));
	for (tok = copy; tok != NULL; tok = next) {
		if ((next = strchr(tok, ';')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(tok, '=')) == NULL)
			continue;
		*eq = '\0';
		name = am_trim(tok);
		val = am_trim(eq + 1);
		if (name[0] != '\0')
			tags_one(t, name, val);
	}
}

/* Append "; name=value" when value is set. */
static void
record_add(char *out, size_t outlen, const char *name, const char *value)
{
	if (value == NULL)
		return;
	am_strlcat(out, "; ", outlen);
	am_strlcat(out, name, outlen);
	am_strlcat(out, "=", outlen);
	am_strlcat(out, value, outlen);
}

/*
 * Build the record libopendmarc parses: only vetted tags.  Returns false
 * (reason filled) when 6.6.3 says to apply no policy: p= missing or
 * invalid, or sp= invalid, without a usable rua=.  With one, act as if
 * "v=DMARC1; p=none" had been published.
 */
static bool
dmarc_clean_record(const char *rec, char *out, size_t outlen, char *reason, size_t rlen)
{
	struct dmarc_tags t;
	char *copy = am_xstrdup(rec);
	bool ok = true;

	tags_scan(copy, &t);
	if (t.p == NULL || t.p_bad || t.sp_bad) {
		const char *what = t.p == NULL && !t.p_bad ? "missing p=" :
		    t.p_bad ? "invalid p=" : "invalid sp=";

		if (t.rua[0] == '\0') {
			snprintf(reason, rlen, "DMARC record has %s and no usable rua=", what);
			ok = false;
		} else {
			snprintf(out, outlen, "v=DMARC1; p=none; rua=%s", t.rua);
			snprintf(reason, rlen, "DMARC record has %s; treated as p=none (RFC 7489 6.6.3)", what);
		}
		free(copy);
		return ok;
	}
	snprintf(out, outlen, "v=DMARC1; p=%s", t.p);
	record_add(out, outlen, "sp", t.sp);
	record_add(out, outlen, "adkim", t.adkim);
	record_add(out, outlen, "aspf", t.aspf);
	record_add(out, outlen, "pct", t.pct);
	record_add(out, outlen, "rua", t.rua[0] != '\0' ? t.rua : NULL);
	am_strlcpy(reason, t.notes, rlen);
	free(copy);
	return true;
}

/* ---- evaluation ----------------------------------------------------------- */

static enum am_dmarc_policy
policy_from_lib(int p)
{
	switch (p) {
	case DMARC_RECORD_P_NONE:	return AM_POLICY_NONE;
	case DMARC_RECORD_P_QUARANTINE:	return AM_POLICY_QUARANTINE;
	case DMARC_RECORD_P_REJECT:	return AM_POLICY_REJECT;
	default:			return AM_POLICY_UNSPEC;
	}
}

static int
spf_to_lib(enum am_spf_result r)
{
	switch (r) {
	case AM_SPF_PASS:	return DMARC_POLICY_SPF_OUTCOME_PASS;
	case AM_SPF_FAIL:
	case AM_SPF_SOFTFAIL:	return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case AM_SPF_TEMPERROR:	return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

static int
dkim_to_lib(enum am_dkim_result r)
{
	switch (r) {
	case AM_DKIM_PASS:	return DMARC_POLICY_DKIM_OUTCOME_PASS;
	case AM_DKIM_FAIL:	return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	case AM_DKIM_TEMPERROR:	return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_DKIM_OUTCOME_NONE;
	}
}

/*
 * Hand everything to libopendmarc and read back the parsed record and the
 * policy token it selects (p, or sp for an org-domain record with sp=).
 * Its own pass/fail (get_policy_to_enforce) rests on its broken alignment
 * and is not used.  False with reason on a parse error.
 */
static bool
dmarc_lib_policy(const char *from, const char *record, const char *org,
    const struct am_spf_verdict *spf, const struct am_dkim_verdict *dkim,
    struct am_dmarc_verdict *out)
{
	DMARC_POLICY_T *pctx;
	int st, p = 0, sp = 0, adkim = 0, aspf = 0, pct = -1;
	size_t i;

	/* The client address is only stored by the library. */
	if ((pctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0)) == NULL) {
		am_strlcpy(out->reason, "libopendmarc: out of memory", sizeof(out->reason));
		return false;
	}
	(void)opendmarc_policy_store_from_domain(pctx, (u_char *)from);
	for (i = 0; dkim != NULL && i < dkim->count && i < AM_DKIM_REPORT_MAX; i++)
		if (dkim->sig[i].domain[0] != '\0')
			(void)opendmarc_policy_store_dkim(pctx, (u_char *)dkim->sig[i].domain,
			    (u_char *)dkim->sig[i].selector, dkim_to_lib(dkim->sig[i].result), NULL);
	if (spf != NULL && spf->domain[0] != '\0')	/* once: a second call leaks */
		(void)opendmarc_policy_store_spf(pctx, (u_char *)spf->domain,
		    spf_to_lib(spf->result), spf->helo_identity ?
		    DMARC_POLICY_SPF_ORIGIN_HELO : DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	/* Third argument: the From domain; a non-NULL fourth makes sp= apply. */
	st = opendmarc_policy_store_dmarc(pctx, (u_char *)record, (u_char *)from, (u_char *)org);
	if (st != DMARC_PARSE_OKAY) {
		snprintf(out->reason, sizeof(out->reason), "DMARC record rejected: %s",
		    opendmarc_policy_status_to_str(st));
		opendmarc_policy_connect_shutdown(pctx);
		return false;
	}
	(void)opendmarc_get_policy_to_enforce(pctx);
	(void)opendmarc_policy_fetch_p(pctx, &p);
	(void)opendmarc_policy_fetch_sp(pctx, &sp);
	(void)opendmarc_policy_fetch_adkim(pctx, &adkim);
	(void)opendmarc_policy_fetch_aspf(pctx, &aspf);
	(void)opendmarc_policy_fetch_pct(pctx, &pct);
	/*
	 * No opendmarc_policy_fetch_rua/ruf: with a buffer they query DNS
	 * themselves (cross-domain report authorisation); with a NULL buffer
	 * and a size they crash (CVE-2024-25768).  We vetted rua= ourselves.
	 */
	if (opendmarc_get_policy_token_used(pctx) == DMARC_USED_POLICY_IS_SP)
		out->policy = policy_from_lib(sp);
	else
		out->policy = policy_from_lib(p);
	opendmarc_policy_connect_shutdown(pctx);
	out->adkim = adkim == DMARC_RECORD_A_STRICT ? 's' : 'r';
	out->aspf = aspf == DMARC_RECORD_A_STRICT ? 's' : 'r';
	out->pct = pct >= 0 && pct <= 100 ? pct : 100;
	if (out->policy == AM_POLICY_UNSPEC) {
		am_strlcpy(out->reason, "DMARC record without a usable policy", sizeof(out->reason));
		return false;
	}
	return true;
}

/*
 * Our alignment of every identifier; reported even without a record.
 * An identifier's aligned flag is its domain's alignment alone (RFC 7489
 * 3.1, RFC 9989 4.4), whatever its result, so a broken signature for the
 * From domain reads "aligned, fail" and not "unaligned".  DMARC counts
 * an identifier only when it is aligned and passes (RFC 7489 4.2): that
 * is what spf_aligned and dkim_aligned of the DMARC verdict say.
 */
static void
dmarc_align(const am_dmarc *d, const char *from, struct am_spf_verdict *spf,
    struct am_dkim_verdict *dkim, struct am_dmarc_verdict *out)
{
	size_t i;

	out->spf_aligned = false;
	out->dkim_aligned = false;
	if (spf != NULL) {
		spf->aligned = from != NULL && am_dmarc_aligned(d, from, spf->domain, out->aspf == 's');
		out->spf_aligned = spf->aligned && spf->result == AM_SPF_PASS;
	}
	for (i = 0; dkim != NULL && i < dkim->count && i < AM_DKIM_REPORT_MAX; i++) {
		struct am_dkim_sig *s = &dkim->sig[i];

		s->aligned = from != NULL && am_dmarc_aligned(d, from, s->domain, out->adkim == 's');
		if (s->aligned && s->result == AM_DKIM_PASS)
			out->dkim_aligned = true;
	}
}

static enum am_dmarc_policy
policy_lower(enum am_dmarc_policy p)
{
	switch (p) {
	case AM_POLICY_REJECT:		return AM_POLICY_QUARANTINE;
	case AM_POLICY_QUARANTINE:	return AM_POLICY_NONE;
	default:			return p;
	}
}

/* The reason, truncated to fit: a domain can be longer than the field. */
static void
reason_set(struct am_dmarc_verdict *out, const char *a, const char *b, const char *c,
    const char *e)
{
	am_strlcpy(out->reason, a, sizeof(out->reason));
	am_strlcat(out->reason, b, sizeof(out->reason));
	am_strlcat(out->reason, c, sizeof(out->reason));
	am_strlcat(out->reason, e, sizeof(out->reason));
}

/*
 * Discover the record: the From domain's, else (nothing there, not an
 * error) the organizational domain's.  Returns the outcome; on
 * DISC_FOUND *rec points into the answer kept in lk or *org_ans.
 */
static enum disc
dmarc_discover(am_dmarc *d, am_dmarc_lookup *lk, struct am_dns_answer **org_ans,
    const char **rec, struct am_dmarc_verdict *out)
{
	enum disc r;

	am_strlcpy(out->record_domain, lk->domain, sizeof(out->record_domain));
	if (lk->q == NULL && lk->ans == NULL)	/* name too long for DNS */
		r = DISC_NONE;
	else
		r = dmarc_select(dmarc_lookup_answer(lk), rec);
	if (r == DISC_TEMP) {
		reason_set(out, "DNS ", am_dns_status_name(lk->ans != NULL ?
		    lk->ans->status : AM_DNS_TIMEOUT), " for _dmarc.", lk->domain);
		return r;		/* never fall through to the org domain */
	}
	if (r != DISC_NONE || out->org_domain[0] == '\0' ||
	    strcmp(out->org_domain, lk->domain) == 0)
		return r;
	/* RFC 7489 6.6.3 step 3: the organizational domain. */
	{
		am_dns_query *q = dmarc_query_start(d, out->org_domain);

		*org_ans = q != NULL ? am_dns_wait(q) : NULL;
	}
	am_strlcpy(out->record_domain, out->org_domain, sizeof(out->record_domain));
	out->used_org_domain = true;
	r = dmarc_select(*org_ans, rec);
	if (r == DISC_TEMP)
		reason_set(out, "DNS ", am_dns_status_name(*org_ans != NULL ?
		    (*org_ans)->status : AM_DNS_TIMEOUT), " for _dmarc.", out->org_domain);
	return r;
}

void
am_dmarc_evaluate(am_dmarc *d, am_dmarc_lookup *lk_in, const char *from_domain,
    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
    unsigned rand_pct, struct am_dmarc_verdict *out)
{
	am_dmarc_lookup *lk = lk_in, *own = NULL;
	struct am_dns_answer *org_ans = NULL;
	const char *rec = NULL;
	char from[AM_DOMAIN_MAX], clean[2048], notes[AM_REASON_MAX];
	enum disc r;

	memset(out, 0, sizeof(*out));
	out->adkim = 'r';
	out->aspf = 'r';
	out->pct = 100;
	if (d == NULL || !dmarc_domain_clean(from_domain, from, sizeof(from))) {
		dmarc_align(d, NULL, spf, dkim, out);
		out->result = AM_DMARC_PERMERROR;
		am_strlcpy(out->reason, "no valid From domain", sizeof(out->reason));
		return;
	}
	(void)am_dmarc_org_domain(d, from, out->org_domain, sizeof(out->org_domain));
	/* A lookup for another name (or none) is not ours to reuse. */
	if (lk == NULL || !lk->valid || strcmp(lk->domain, from) != 0)
		lk = own = am_dmarc_start(d, from);

	r = dmarc_discover(d, lk, &org_ans, &rec, out);
	switch (r) {
	case DISC_TEMP:
		out->result = AM_DMARC_TEMPERROR;
		break;
	case DISC_MULTI:
		out->result = AM_DMARC_NONE;
		out->multiple_records = true;
		reason_set(out, "more than one DMARC record at _dmarc.", out->record_domain, "", "");
		break;
	case DISC_NONE:
		out->result = AM_DMARC_NONE;
		out->used_org_domain = false;
		out->record_domain[0] = '\0';
		reason_set(out, "no DMARC record for ", from, "", "");
		break;
	case DISC_FOUND:
		out->record_found = true;
		if (!dmarc_clean_record(rec, clean, sizeof(clean), out->reason, sizeof(out->reason))) {
			out->result = AM_DMARC_PERMERROR;
			break;
		}
		am_strlcpy(notes, out->reason, sizeof(notes));
		if (!dmarc_lib_policy(from, clean, out->used_org_domain ? out->org_domain : NULL,
		    spf, dkim, out)) {
			out->result = AM_DMARC_PERMERROR;
			break;
		}
		am_strlcpy(out->reason, notes, sizeof(out->reason));
		break;
	}
	dmarc_align(d, from, spf, dkim, out);
	if (r == DISC_FOUND && out->result != AM_DMARC_PERMERROR) {
		if (out->spf_aligned || out->dkim_aligned) {
			out->result = AM_DMARC_PASS;
			out->disposition = AM_POLICY_NONE;
		} else {
			out->result = AM_DMARC_FAIL;
			out->disposition = out->policy;
			/* 6.6.4: messages outside pct get the next lower policy. */
			if (rand_pct % 100 >= (unsigned)out->pct && out->policy > AM_POLICY_NONE) {
				out->disposition = policy_lower(out->policy);
				out->sampled_out = true;
			}
		}
	}
	am_dns_answer_free(org_ans);
	am_dmarc_lookup_free(own);
}

/* ---- record inspection (alignmilter-check) ------------------------------------ */

bool
am_dmarc_is_record(const char *txt)
{
	return txt != NULL && is_dmarc_record(txt);
}

void
am_dmarc_parse_record(const char *record, struct am_dmarc_record *out)
{
	struct dmarc_tags t;
	char *copy, clean[2048], reason[AM_REASON_MAX] = "";

	memset(out, 0, sizeof(*out));
	out->adkim = 'r';
	out->aspf = 'r';
	out->pct = 100;
	if (record == NULL || !is_dmarc_record(record)) {
		am_strlcpy(out->reason, "not a DMARC record", sizeof(out->reason));
		return;
	}
	copy = am_xstrdup(record);
	tags_scan(copy, &t);
	if (t.p != NULL)
		am_strlcpy(out->p, t.p, sizeof(out->p));
	if (t.sp != NULL)
		am_strlcpy(out->sp, t.sp, sizeof(out->sp));
	am_lowercase(out->p);
	am_lowercase(out->sp);
	out->p_invalid = t.p_bad;
	out->sp_invalid = t.sp_bad;
	if (t.adkim != NULL)
		out->adkim = (char)tolower((unsigned char)t.adkim[0]);
	if (t.aspf != NULL)
		out->aspf = (char)tolower((unsigned char)t.aspf[0]);
	if (t.pct != NULL)
		out->pct = (unsigned)strtoul(t.pct, NULL, 10);
	am_strlcpy(out->rua, t.rua, sizeof(out->rua));
	am_strlcpy(out->ignored, t.notes, sizeof(out->ignored));
	free(copy);
	/* The same decision the milter makes (6.6.3). */
	out->usable = dmarc_clean_record(record, clean, sizeof(clean), reason, sizeof(reason));
	out->as_none = out->usable && (out->p[0] == '\0' || out->p_invalid || out->sp_invalid);
	if (!out->usable || out->as_none)
		am_strlcpy(out->reason, reason, sizeof(out->reason));
}
