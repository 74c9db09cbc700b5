/*
 * dkim-result.c - the end of a DKIM verification: the verdict.
 *
 * Owns: am_dkim_eom (verify once, keep the verdict), the mapping of
 * libopendkim's per-signature state to struct am_dkim_sig, RFC 8301's
 * limits, our own parse standing in for fields the library rejected,
 * and the duplicated-suffix probe (<s>._domainkey.<d>.<d>) for keys not
 * found.
 *
 * Result mapping (RFC 8601 section 2.7.1; documented in
 * tests/dkim/EXPECTED.md):
 *   pass       PASSED flag and body hash match, algorithm and key acceptable
 *   fail       body hash mismatch or signature mismatch
 *   policy     verifies, but RFC 8301 forbids it: rsa-sha1, or RSA < 1024 bits
 *   neutral    signature tag syntax errors (8601: "contained syntax errors");
 *              signatures left unverified by MaximumSignatures
 *   temperror  key lookup failed (SERVFAIL, timeout)
 *   permerror  key missing/revoked/unusable, expired, t=s violation, and
 *              every signature of a message whose headers are unusable
 *              (no From, several From: RFC 6376 section 8.15)
 *
 * Errors: nothing is logged; every failure is a result and a reason in
 * the verdict.  Out of memory aborts (the kept verdict is am_xmalloc'ed).
 *
 * Threads: any, one am_dkim_msg per thread at a time.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dkim.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dkim-int.h"

#define RSA_MIN_BITS	1024		/* RFC 8301 section 3.2 */

static bool
rsa_alg(dkim_alg_t alg)
{
	return alg == DKIM_SIGN_RSASHA1 || alg == DKIM_SIGN_RSASHA256;
}

/* The first characters of b=, whitespace dropped (RFC 8601 header.b). */
static void
b_prefix_from(char *dst, size_t size, const char *b)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; b != NULL && *b != '\0' && o < size - 1; b++)
		if (!am_dkim_is_wsp((unsigned char)*b))
			dst[o++] = *b;
	dst[o] = '\0';
}

static void
set_result(struct am_dkim_sig *s, enum am_dkim_result r, const char *reason)
{
	s->result = r;
	am_strlcpy(s->reason, reason, sizeof(s->reason));
}

/* Map a libopendkim signature error to a result and reason. */
static void
map_error(struct am_dkim_sig *s, int err)
{
	char buf[AM_REASON_MAX];
	const char *es;

	switch (err) {
	case DKIM_SIGERROR_BADSIG:
		set_result(s, AM_DKIM_FAIL, "signature did not verify");
		return;
	case DKIM_SIGERROR_NOKEY:
		s->key_not_found = true;
		set_result(s, AM_DKIM_PERMERROR, "key not found");
		return;
	case DKIM_SIGERROR_KEYFAIL:
		set_result(s, AM_DKIM_TEMPERROR, "key query failed");
		return;
	case DKIM_SIGERROR_DNSSYNTAX:
		set_result(s, AM_DKIM_PERMERROR, "key record syntax error");
		return;
	case DKIM_SIGERROR_MULTIREPLY:
		set_result(s, AM_DKIM_PERMERROR, "multiple key records");
		return;
	case DKIM_SIGERROR_KEYREVOKED:
		set_result(s, AM_DKIM_PERMERROR, "key revoked");
		return;
	case DKIM_SIGERROR_KEYVERSION:
		set_result(s, AM_DKIM_PERMERROR, "key record: unknown version");
		return;
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
		set_result(s, AM_DKIM_PERMERROR, "key record: unknown hash");
		return;
	case DKIM_SIGERROR_KEYHASHMISMATCH:
		set_result(s, AM_DKIM_PERMERROR, "key record: hash not allowed");
		return;
	case DKIM_SIGERROR_NOTEMAILKEY:
		set_result(s, AM_DKIM_PERMERROR, "key record: not an e-mail key");
		return;
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
		set_result(s, AM_DKIM_PERMERROR, "key record: unknown key type");
		return;
	case DKIM_SIGERROR_KEYDECODE:
		set_result(s, AM_DKIM_PERMERROR, "key record: key cannot be decoded");
		return;
	case DKIM_SIGERROR_KEYTOOSMALL:
		set_result(s, AM_DKIM_POLICY, "key too small");
		return;
	case DKIM_SIGERROR_EXPIRED:
		set_result(s, AM_DKIM_PERMERROR, "signature expired");
		return;
	case DKIM_SIGERROR_FUTURE:
		set_result(s, AM_DKIM_PERMERROR, "signature timestamp in the future");
		return;
	case DKIM_SIGERROR_SUBDOMAIN:
		set_result(s, AM_DKIM_PERMERROR, "i= subdomain not allowed by key (t=s)");
		return;
	case DKIM_SIGERROR_TOOLARGE_L:
		set_result(s, AM_DKIM_PERMERROR, "l= exceeds body size");
		return;
	case DKIM_SIGERROR_MBSFAILED:
	case DKIM_SIGERROR_CONDITIONAL:
	case DKIM_SIGERROR_CONDLOOP:
		es = dkim_sig_geterrorstr(err);
		set_result(s, AM_DKIM_PERMERROR, es != NULL ? es : "unverifiable");
		return;
	default:
		/* The signature's own tags are malformed or unsupported. */
		es = dkim_sig_geterrorstr(err);
		snprintf(buf, sizeof(buf), "syntax error: %s", es != NULL ? es : "unknown");
		set_result(s, AM_DKIM_NEUTRAL, buf);
		return;
	}
}

/* RFC 8301: no rsa-sha1, no RSA key under 1024 bits. */
static void
apply_rfc8301(struct am_dkim_sig *s, dkim_alg_t alg)
{
	char buf[AM_REASON_MAX];

	if (s->result != AM_DKIM_PASS || !rsa_alg(alg))
		return;
	if (s->keybits != 0 && s->keybits < RSA_MIN_BITS) {
		snprintf(buf, sizeof(buf), "key too small (%u bits)%s", s->keybits,
		    alg == DKIM_SIGN_RSASHA1 ? ", rsa-sha1" : "");
		set_result(s, AM_DKIM_POLICY, buf);
	} else if (alg == DKIM_SIGN_RSASHA1)
		set_result(s, AM_DKIM_POLICY, "rsa-sha1 not accepted (RFC 8301)");
}

static void
fill_from_lib(struct am_dkim_sig *s, DKIM_SIGINFO *sig, bool eom_ok)
{
	unsigned int flags = dkim_sig_getflags(sig), bits = 0;
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	const char *an, *b;

	memset(s, 0, sizeof(*s));
	am_dkim_copy_printable(s->domain, sizeof(s->domain), (const char *)dkim_sig_getdomain(sig));
	am_domain_normalize(s->domain);
	am_dkim_copy_printable(s->selector, sizeof(s->selector), (const char *)dkim_sig_getselector(sig));
	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		alg = DKIM_SIGN_UNKNOWN;
	/* a= as written (the library defaults a missing a= to rsa-sha1) */
	an = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"a");
	am_dkim_copy_printable(s->algorithm, sizeof(s->algorithm), an);
	am_lowercase(s->algorithm);
	b = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	b_prefix_from(s->b_prefix, sizeof(s->b_prefix), b);
	if (rsa_alg(alg) && dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		s->keybits = bits;
	s->verified = true;

	if ((flags & DKIM_SIGFLAG_IGNORE) != 0 && am_dkim_key_name_too_long(sig)) {
		set_result(s, AM_DKIM_PERMERROR, "key query name too long");
	} else if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
		s->verified = false;
		set_result(s, AM_DKIM_NEUTRAL, "not verified: MaximumSignatures");
	} else if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH) {
		set_result(s, AM_DKIM_PASS, "");
		apply_rfc8301(s, alg);
	} else if (bh == DKIM_SIGBH_MISMATCH) {
		set_result(s, AM_DKIM_FAIL, "body hash mismatch");
	} else if (err != DKIM_SIGERROR_UNKNOWN && err != DKIM_SIGERROR_OK) {
		map_error(s, err);
	} else if ((flags & DKIM_SIGFLAG_PROCESSED) != 0 && eom_ok) {
		set_result(s, AM_DKIM_FAIL, "signature did not verify");
	} else {
		set_result(s, AM_DKIM_NEUTRAL, "not verified");
	}
}

static void
fill_from_raw(struct am_dkim_sig *s, const struct am_dkim_rawsig *r, enum am_dkim_result res,
    const char *reason)
{
	memset(s, 0, sizeof(*s));
	am_strlcpy(s->domain, r->domain, sizeof(s->domain));
	am_strlcpy(s->selector, r->selector, sizeof(s->selector));
	am_strlcpy(s->algorithm, r->algorithm, sizeof(s->algorithm));
	b_prefix_from(s->b_prefix, sizeof(s->b_prefix), r->b);
	s->verified = true;
	set_result(s, res, reason);
}

/* Find our raw record of a library signature by its b= value. */
static struct am_dkim_rawsig *
match_raw_b(am_dkim_msg *m, DKIM_SIGINFO *sig)
{
	const char *b = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	size_t i;

	for (i = 0; i < m->nraw; i++) {
		struct am_dkim_rawsig *r = &m->raw[i];

		if (r->matched)
			continue;
		if (b == NULL || r->b == NULL) {
			if (b != NULL || r->b != NULL)
				continue;
		} else {
			/* libopendkim may keep whitespace in the value: compare stripped */
			const char *p = b, *q = r->b;

			while (*p != '\0' && *q != '\0') {
				if (am_dkim_is_wsp((unsigned char)*p)) {
					p++;
					continue;
				}
				if (*p != *q)
					break;
				p++;
				q++;
			}
			while (am_dkim_is_wsp((unsigned char)*p))
				p++;
			if (*p != '\0' || *q != '\0')
				continue;
		}
		r->matched = true;
		return r;
	}
	return NULL;
}

/*
 * Find our raw record of a library signature.  When the library lists as
 * many signatures as we recorded, both are in header order: take the same
 * position (b= cannot tell apart fields whose parse the library gave up
 * before b=, so one field would be reported twice); else match by b=.
 */
static struct am_dkim_rawsig *
match_raw(am_dkim_msg *m, DKIM_SIGINFO *sig, int pos, int nsigs)
{
	if (nsigs >= 0 && (size_t)nsigs == m->nraw && pos < nsigs && !m->raw[pos].matched) {
		m->raw[pos].matched = true;
		return &m->raw[pos];
	}
	return match_raw_b(m, sig);
}

/* A TXT record that looks like a DKIM key (has a p= tag or v=DKIM1). */
static bool
txt_is_key(const unsigned char *data, size_t len)
{
	char v[16], *p;
	bool r;

	p = am_xmalloc(len + 1);
	r = am_dkim_tag_find((const char *)data, len, "p", p, len + 1, true) ||
	    (am_dkim_tag_find((const char *)data, len, "v", v, sizeof(v), true) &&
	    strcmp(v, "DKIM1") == 0);
	free(p);
	return r;
}

/* The SES/DNS-provider mistake: key published at <s>._domainkey.<d>.<d>. */
static bool
probe_duplicated_suffix(am_resolver *res, const char *s, const char *d)
{
	struct am_dns_answer *a;
	char name[512];
	bool found = false;
	size_t i;
	int n;

	if (*s == '\0' || *d == '\0')
		return false;
	n = snprintf(name, sizeof(name), "%s._domainkey.%s.%s", s, d, d);
	if (n < 0 || n > 253)
		return false;
	a = am_dns_lookup(res, name, AM_RR_TXT);
	if (a != NULL && a->status == AM_DNS_OK)
		for (i = 0; i < a->count && !found; i++)
			found = txt_is_key(a->rr[i].data, a->rr[i].len);
	am_dns_answer_free(a);
	return found;
}

static void
run_probes(am_dkim_msg *m, struct am_dkim_verdict *out)
{
	size_t i, j;

	for (i = 0; i < out->count; i++) {
		struct am_dkim_sig *s = &out->sig[i];
		bool dup = false;

		if (!s->key_not_found)
			continue;
		/* one lookup per (d, s) */
		for (j = 0; j < i; j++)
			if (out->sig[j].key_not_found && strcmp(out->sig[j].domain, s->domain) == 0 &&
			    strcmp(out->sig[j].selector, s->selector) == 0) {
				s->duplicated_suffix = out->sig[j].duplicated_suffix;
				dup = true;
				break;
			}
		if (!dup && m->lib != NULL)
			s->duplicated_suffix = probe_duplicated_suffix(m->lib->res, s->selector, s->domain);
	}
}

static void
report_lib(am_dkim_msg *m, struct am_dkim_verdict *out, bool eom_ok)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i;
	size_t r;

	if (dkim_getsiglist(m->dkim, &sigs, &nsigs) != DKIM_STAT_OK || sigs == NULL)
		nsigs = 0;
	/* Library signatures, in order. */
	for (i = 0; i < nsigs && out->count < AM_DKIM_REPORT_MAX; i++) {
		struct am_dkim_sig *s = &out->sig[out->count++];
		struct am_dkim_rawsig *raw = match_raw(m, sigs[i], i, nsigs);

		fill_from_lib(s, sigs[i], eom_ok);
		if (raw != NULL) {
			/* Prefer our parse when the library lost a tag. */
			if (s->domain[0] == '\0')
				am_strlcpy(s->domain, raw->domain, sizeof(s->domain));
			if (s->selector[0] == '\0')
				am_strlcpy(s->selector, raw->selector, sizeof(s->selector));
			if (s->algorithm[0] == '\0')
				am_strlcpy(s->algorithm, raw->algorithm, sizeof(s->algorithm));
		}
	}
	/* Fields the library rejected outright: malformed signatures. */
	for (r = 0; r < m->nraw && out->count < AM_DKIM_REPORT_MAX; r++)
		if (!m->raw[r].matched)
			fill_from_raw(&out->sig[out->count++], &m->raw[r], AM_DKIM_NEUTRAL,
			    "syntax error: signature not parsed");
}

static bool
has_siglist(am_dkim_msg *m)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;

	return dkim_getsiglist(m->dkim, &sigs, &nsigs) == DKIM_STAT_OK && sigs != NULL && nsigs > 0;
}

static void
verify_and_report(am_dkim_msg *m, struct am_dkim_verdict *out)
{
	char reason[AM_REASON_MAX];
	bool eom_ok = false;
	size_t r;

	if (!m->eoh_done)
		am_dkim_eoh(m);
	out->total = m->total;
	if (m->total == 0)
		return;			/* unsigned: dkim=none */

	if (m->from_count != 1) {
		/*
		 * From is the one field every signature must cover (RFC 6376
		 * section 5.4); with several, which one did the signer mean
		 * (section 8.15)?  RFC 8601: a required field absent is
		 * permerror.  No key lookups for such messages.
		 */
		for (r = 0; r < m->nraw; r++)
			fill_from_raw(&out->sig[out->count++], &m->raw[r], AM_DKIM_PERMERROR,
			    m->from_count == 0 ? "no From header field" : "multiple From header fields");
		return;
	}
	if (m->dkim != NULL && has_siglist(m)) {
		if (m->eoh_stat == DKIM_STAT_OK) {
			bool testkey = false;
			DKIM_STAT st;

			st = dkim_eom(m->dkim, &testkey);
			eom_ok = st == DKIM_STAT_OK || st == DKIM_STAT_BADSIG ||
			    st == DKIM_STAT_NOKEY || st == DKIM_STAT_CANTVRFY ||
			    st == DKIM_STAT_REVOKED || st == DKIM_STAT_KEYFAIL;
		}
		report_lib(m, out, eom_ok);
	} else {
		/* The library could not use the message (e.g. no From). */
		if (m->liberr[0] != '\0')
			snprintf(reason, sizeof(reason), "message not verifiable: %.100s", m->liberr);
		else
			am_strlcpy(reason, "message not verifiable", sizeof(reason));
		for (r = 0; r < m->nraw; r++)
			fill_from_raw(&out->sig[out->count++], &m->raw[r], AM_DKIM_PERMERROR, reason);
	}
	run_probes(m, out);
}

/* Bytes of a verdict in use: the counts and the filled signatures. */
static size_t
verdict_used_size(const struct am_dkim_verdict *v)
{
	return offsetof(struct am_dkim_verdict, sig) + v->count * sizeof(v->sig[0]);
}

/*
 * Idempotent: the first call verifies, later calls return the same verdict.
 * Only the filled part of the verdict is written and kept (a verdict has
 * room for AM_DKIM_REPORT_MAX signatures, ~30 KB; a message has one or two).
 */
void
am_dkim_eom(am_dkim_msg *m, struct am_dkim_verdict *out)
{
	if (out == NULL)
		return;
	out->count = out->total = 0;
	if (m == NULL)
		return;
	if (m->result != NULL) {
		memcpy(out, m->result, verdict_used_size(m->result));
		return;
	}
	verify_and_report(m, out);
	m->result = am_xmalloc(verdict_used_size(out));
	memcpy(m->result, out, verdict_used_size(out));
}
