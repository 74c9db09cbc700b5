/*
 * domaincheck-dkim.c - the Easy DKIM part of alignmilter-check.
 *
 * Owns: the selectors to check (--selector, else those SES signed with in
 * the alignment log), and per selector the CNAME to
 * <sel>.dkim[.<region>].amazonses.com, the key it leads to (algorithm and
 * RSA modulus bits, read from the DER ourselves: no OpenSSL needed), the
 * duplicated suffix (<sel>._domainkey.<d>.<d>), a TXT key where the CNAME
 * belongs, and a CNAME that shares its name with a TXT record.
 *
 * What DNS lets us see: the resolver follows CNAMEs, so we ask twice,
 * once for type CNAME (never followed) and once for TXT.  A TXT answer
 * whose owner (canonname) is the queried name itself while a CNAME exists
 * there means the zone holds both, which RFC 1034 3.6.2 forbids; other
 * record types beside a CNAME are not looked for, and most servers
 * (nsd, BIND) refuse to load such a zone anyway.
 *
 * Errors: nothing is logged; a temporary DNS failure marks the run
 * failed (dc_lookup) and ends the part, anything else found is a check
 * with its points.  Out of memory aborts.  Threads: see domaincheck.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Application-specific. */
#include "domaincheck-int.h"

#define DKIM_MIN_RSA_BITS	1024	/* RFC 8301 3.2: smaller keys are not valid */

/* What the key record at the end of the CNAMEs holds. */
struct dkim_key {
	bool	found;			/* a TXT record that is a DKIM key */
	bool	usable;
	char	alg[16];		/* "rsa", "ed25519" */
	unsigned bits;
	char	problem[160];		/* why not usable */
};

/* The outcome of one selector before it becomes a check. */
struct sel_out {
	enum am_dc_status status;
	int	hint;
	unsigned points;
	struct am_buf fix;
	char	detail[512];
};

/* ---- the key: base64 and DER --------------------------------------------------- */

static int
b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decode base64 (whitespace ignored, "=" ends it); 0 on a bad character. */
static size_t
b64_decode(const char *s, size_t n, unsigned char *out, size_t outlen)
{
	unsigned acc = 0, nbits = 0;
	size_t i, o = 0;

	for (i = 0; i < n && s[i] != '='; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			continue;
		if ((v = b64_val((unsigned char)s[i])) < 0)
			return 0;
		acc = (acc << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			if (o == outlen)
				return 0;
			out[o++] = (unsigned char)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	return o;
}

/* One DER TLV at p[0..n): its tag and contents; bytes used, 0 if malformed. */
static size_t
der_tlv(const unsigned char *p, size_t n, unsigned char *tag, const unsigned char **val,
    size_t *vlen)
{
	size_t len, hdr = 2, i;

	if (n < 2)
		return 0;
	*tag = p[0];
	len = p[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;

		if (k == 0 || k > 3 || n < 2 + k)
			return 0;
		for (len = 0, i = 0; i < k; i++)
			len = (len << 8) | p[2 + i];
		hdr += k;
	}
	if (len > n - hdr)
		return 0;
	*val = p + hdr;
	*vlen = len;
	return hdr + len;
}

/* Bits of the first INTEGER of an RSAPublicKey SEQUENCE (the modulus). */
static unsigned
der_rsa_modulus_bits(const unsigned char *p, size_t n)
{
	const unsigned char *v, *m;
	unsigned char tag;
	size_t vlen, mlen;
	unsigned bits;

	if (der_tlv(p, n, &tag, &v, &vlen) == 0 || tag != 0x30)
		return 0;
	if (der_tlv(v, vlen, &tag, &m, &mlen) == 0 || tag != 0x02)
		return 0;
	while (mlen > 0 && m[0] == 0) {
		m++;
		mlen--;
	}
	if (mlen == 0)
		return 0;
	for (bits = 0; (m[0] >> bits) != 0; bits++)
		;
	return (unsigned)(mlen - 1) * 8 + bits;
}

/*
 * RSA modulus bits of a DKIM p= value: a SubjectPublicKeyInfo (RFC 6376
 * 3.6.1) with the rsaEncryption OID, or (seen in the wild) a bare PKCS#1
 * RSAPublicKey.  0 when it is neither.
 */
static unsigned
der_rsa_bits(const unsigned char *der, size_t n)
{
	static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	const unsigned char *spki, *alg, *oid, *bs;
	unsigned char tag;
	size_t slen, alen, olen, blen, used;

	if (der_tlv(der, n, &tag, &spki, &slen) == 0 || tag != 0x30)
		return 0;
	if ((used = der_tlv(spki, slen, &tag, &alg, &alen)) == 0)
		return 0;
	if (tag == 0x02)		/* PKCS#1: SEQUENCE { INTEGER n, INTEGER e } */
		return der_rsa_modulus_bits(der, n);
	if (tag != 0x30 || der_tlv(alg, alen, &tag, &oid, &olen) == 0 || tag != 0x06 ||
	    olen != sizeof(rsa_oid) || memcmp(oid, rsa_oid, olen) != 0)
		return 0;
	if (der_tlv(spki + used, slen - used, &tag, &bs, &blen) == 0 || tag != 0x03 ||
	    blen < 2 || bs[0] != 0)
		return 0;
	return der_rsa_modulus_bits(bs + 1, blen - 1);
}

/* The value of tag name in a tag-list (RFC 6376 3.2), trimmed; false if absent. */
static bool
dkim_tag(const char *rec, const char *name, char *out, size_t outlen)
{
	const char *p = rec;
	size_t nlen = strlen(name);

	while (*p != '\0') {
		const char *end = strchr(p, ';'), *eq;
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		eq = memchr(p, '=', n);
		if (eq != NULL) {
			size_t k = (size_t)(eq - p);

			while (k > 0 && isspace((unsigned char)p[k - 1]))
				k--;
			if (k == nlen && strncmp(p, name, k) == 0) {
				const char *v = eq + 1, *ve = p + n;
				char *t;

				while (v < ve && isspace((unsigned char)*v))
					v++;
				snprintf(out, outlen, "%.*s", (int)(ve - v), v);
				t = am_trim(out);
				memmove(out, t, strlen(t) + 1);
				return true;
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return false;
}

/* Judge a key record's text (RFC 6376 3.6.1, RFC 8301, RFC 8463). */
static void
dkim_key_judge(const char *rec, struct dkim_key *k)
{
	char v[32], kt[32], *p = am_xmalloc(strlen(rec) + 1);
	unsigned char der[2048];
	size_t n;

	k->found = true;
	am_strlcpy(k->alg, "rsa", sizeof(k->alg));
	if (dkim_tag(rec, "k", kt, sizeof(kt)))
		am_strlcpy(k->alg, kt, sizeof(k->alg));
	am_lowercase(k->alg);
	if (dkim_tag(rec, "v", v, sizeof(v)) && strcmp(v, "DKIM1") != 0)
		snprintf(k->problem, sizeof(k->problem), "v=%s is not DKIM1", v);
	else if (!dkim_tag(rec, "p", p, strlen(rec) + 1))
		am_strlcpy(k->problem, "no p= tag", sizeof(k->problem));
	else if (p[0] == '\0')
		am_strlcpy(k->problem, "the key is revoked (empty p=)", sizeof(k->problem));
	else if ((n = b64_decode(p, strlen(p), der, sizeof(der))) == 0)
		am_strlcpy(k->problem, "p= is not base64", sizeof(k->problem));
	else if (strcmp(k->alg, "ed25519") == 0) {
		if (n == 32) {
			k->bits = 256;
			k->usable = true;
		} else
			am_strlcpy(k->problem, "an ed25519 key must be 32 octets", sizeof(k->problem));
	} else if (strcmp(k->alg, "rsa") == 0) {
		if ((k->bits = der_rsa_bits(der, n)) == 0)
			am_strlcpy(k->problem, "p= is not an RSA public key", sizeof(k->problem));
		else if (k->bits < DKIM_MIN_RSA_BITS)
			snprintf(k->problem, sizeof(k->problem),
			    "RSA key of %u bits: under %u bits is not valid (RFC 8301)",
			    k->bits, DKIM_MIN_RSA_BITS);
		else
			k->usable = true;
	} else
		snprintf(k->problem, sizeof(k->problem), "unknown key type k=%s", k->alg);
	free(p);
}

/* The first TXT string of an answer that looks like a DKIM key record. */
static const char *
dkim_key_text(const struct am_dns_answer *a)
{
	size_t i;

	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++) {
		const char *t = (const char *)a->rr[i].data;

		if (strstr(t, "p=") != NULL)
			return t;
	}
	return NULL;
}

/* ---- one selector ------------------------------------------------------------ */

/* <sel>.dkim.amazonses.com or <sel>.dkim.<region>.amazonses.com */
static bool
is_easy_dkim_target(const char *target, const char *sel)
{
	size_t sl = strlen(sel), tl = strlen(target), rest;
	const char *p;

	if (tl <= sl + 6 || strncasecmp(target, sel, sl) != 0 ||
	    strncasecmp(target + sl, ".dkim.", 6) != 0)
		return false;
	p = target + sl + 6;
	if (strcasecmp(p, "amazonses.com") == 0)
		return true;
	rest = strcspn(p, ".");
	return rest > 0 && strcasecmp(p + rest, ".amazonses.com") == 0;
}

static void
cname_line(struct am_buf *b, const char *name, const char *sel)
{
	dc_zone_nl(b);
	am_buf_printf(b, "%s. CNAME %s.dkim.amazonses.com.", name, sel);
}

static void sel_set(struct sel_out *, enum am_dc_status, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
sel_set(struct sel_out *s, enum am_dc_status st, int hint, const char *fmt, ...)
{
	va_list ap;

	s->status = st;
	s->hint = hint;
	s->points = st == AM_DC_FAIL ? DC_PTS_SELECTOR_FAIL :
	    st == AM_DC_WARN ? DC_PTS_SELECTOR_WARN : 0;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

static void
key_desc(const struct dkim_key *k, char *buf, size_t len)
{
	if (k->usable)
		snprintf(buf, len, "%s %u-bit key", k->alg, k->bits);
	else
		snprintf(buf, len, "unusable key: %s", k->problem);
}

/* No CNAME at name: a TXT key there, the duplicated suffix, or nothing. */
static void
sel_no_cname(struct dc_ctx *c, const char *sel, const char *name,
    const struct am_dns_answer *txt, struct sel_out *s)
{
	char dup[AM_DOMAIN_MAX * 2], desc[256], line[AM_DOMAIN_MAX * 3];
	struct am_dns_answer *dc, *dt;
	struct dkim_key k;
	const char *kt;

	memset(&k, 0, sizeof(k));
	if ((kt = dkim_key_text(txt)) != NULL) {
		dkim_key_judge(kt, &k);
		key_desc(&k, desc, sizeof(desc));
		sel_set(s, AM_DC_FAIL, AM_HINT_SES_NO_EASY_DKIM,
		    "a TXT key (%s) where Easy DKIM needs a CNAME: SES signs with its own, rotated "
		    "keys, so a copied key stops verifying (fine only for SES BYODKIM with %s)", desc, sel);
		dc_zone_remove_txt(&s->fix, name, kt);
		cname_line(&s->fix, name, sel);
		return;
	}
	/* The DNS provider may have appended the zone to a full name. */
	snprintf(dup, sizeof(dup), "%s.%s", name, c->domain);
	if (strlen(dup) <= 253) {
		dc = dc_lookup(c, dup, AM_RR_CNAME);
		dt = dc_temp(dc) ? NULL : dc_lookup(c, dup, AM_RR_TXT);
		if (c->r->failed) {
			am_dns_answer_free(dc);
			am_dns_answer_free(dt);
			return;
		}
		if (dc->status == AM_DNS_OK || dt->status == AM_DNS_OK) {
			sel_set(s, AM_DC_FAIL, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX,
			    "no record at %s, but one at %s: the DNS provider appended the domain "
			    "twice; enter the host as the selector label only", name, dup);
			if (dc->status == AM_DNS_OK && dc->count > 0)
				snprintf(line, sizeof(line), "%s. CNAME %s.", dup,
				    (const char *)dc->rr[0].data);
			else
				snprintf(line, sizeof(line), "%s. TXT \"...\"", dup);
			dc_zone_remove(&s->fix, line);
			cname_line(&s->fix, name, sel);
			am_dns_answer_free(dc);
			am_dns_answer_free(dt);
			return;
		}
		am_dns_answer_free(dc);
		am_dns_answer_free(dt);
	}
	sel_set(s, AM_DC_FAIL, AM_HINT_DKIM_KEY_NOT_FOUND,
	    "no record at %s%s: publish the Easy DKIM CNAME from the SES console", name,
	    txt->status == AM_DNS_NODATA ? " (the name exists with other types)" : "");
	cname_line(&s->fix, name, sel);
}

/* A CNAME at name pointing to target; txt is the TXT answer at name. */
static void
sel_cname(const char *sel, const char *name, const char *target,
    const struct am_dns_answer *txt, struct sel_out *s)
{
	bool easy = is_easy_dkim_target(target, sel);
	char desc[256];
	struct dkim_key k;
	const char *kt;

	memset(&k, 0, sizeof(k));
	if (txt->status == AM_DNS_OK && strcasecmp(txt->canonname, name) == 0) {
		sel_set(s, AM_DC_FAIL, -1, "%s has a CNAME and other records (TXT) at the same name%s: "
		    "a CNAME must stand alone (RFC 1034 3.6.2), resolvers answer either", name, "");
		dc_zone_remove_txt(&s->fix, name, txt->count > 0 ? (const char *)txt->rr[0].data : "");
		cname_line(&s->fix, name, sel);
		return;
	}
	if ((kt = dkim_key_text(txt)) != NULL)
		dkim_key_judge(kt, &k);
	if (!k.found) {
		sel_set(s, AM_DC_FAIL, AM_HINT_DKIM_KEY_NOT_FOUND,
		    "CNAME to %s, which holds no DKIM key%s", target, easy ?
		    ": the token is mistyped or the identity was deleted in SES" : "");
		cname_line(&s->fix, name, sel);
		return;
	}
	key_desc(&k, desc, sizeof(desc));
	if (!k.usable) {
		sel_set(s, AM_DC_FAIL, -1, "CNAME to %s: %s", target, desc);
		if (!easy)
			cname_line(&s->fix, name, sel);
		return;
	}
	if (!easy) {
		sel_set(s, AM_DC_WARN, -1, "CNAME to %s (%s), not to Easy DKIM's "
		    "<selector>.dkim.amazonses.com", target, desc);
		cname_line(&s->fix, name, sel);
		return;
	}
	sel_set(s, AM_DC_PASS, -1, "CNAME to %s, %s", target, desc);
}

static void
check_selector(struct dc_ctx *c, const char *sel, struct sel_out *s)
{
	char name[AM_DOMAIN_MAX + 80];
	struct am_dns_answer *cn, *txt;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, c->domain);
	if (strlen(name) > 253) {
		sel_set(s, AM_DC_FAIL, -1, "%s is too long for DNS%s", name, "");
		return;
	}
	cn = dc_lookup(c, name, AM_RR_CNAME);
	txt = dc_temp(cn) ? NULL : dc_lookup(c, name, AM_RR_TXT);
	if (!c->r->failed) {
		if (cn->status == AM_DNS_OK && cn->count > 0)
			sel_cname(sel, name, (const char *)cn->rr[0].data, txt, s);
		else
			sel_no_cname(c, sel, name, txt, s);
	}
	am_dns_answer_free(cn);
	am_dns_answer_free(txt);
}

/* ---- the part ------------------------------------------------------------------ */

/* Selector names are DNS labels (dots allowed, RFC 6376 3.1). */
static bool
selector_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* The aggregate check when no selector could be named. */
static void
dkim_nothing_to_check(struct dc_ctx *c)
{
	struct am_buf fix;

	am_buf_init(&fix);
	am_buf_printf(&fix, "<token>._domainkey.%s. CNAME <token>.dkim.amazonses.com.", c->domain);
	if (c->have_log && c->log.ses_messages > 0)
		dc_add(c, AM_DC_SEC_DKIM, "easy-dkim", AM_DC_FAIL, AM_HINT_SES_NO_EASY_DKIM,
		    DC_PTS_EASY_DKIM_NONE, fix.data,
		    "%zu SES message(s) from %s in the log, none signed with d=%s: verify the "
		    "domain identity with Easy DKIM and publish its three CNAMEs",
		    c->log.ses_messages, c->domain, c->domain);
	else
		dc_add(c, AM_DC_SEC_DKIM, "easy-dkim", AM_DC_WARN, -1, DC_PTS_EASY_DKIM_UNKNOWN, NULL,
		    "no selector to check%s: give --selector for each of the three Easy DKIM "
		    "tokens shown in the SES console, or --log", c->have_log ?
		    " (no SES mail from this domain in the log)" : "");
	am_buf_free(&fix);
}

void
dc_check_dkim(struct dc_ctx *c, const struct am_dc_options *o)
{
	const char *sels[AM_DC_SELECTORS_MAX];
	struct sel_out out[AM_DC_SELECTORS_MAX];
	size_t n = 0, i, passed = 0;
	char name[128];

	for (i = 0; i < o->nselectors && n < AM_DC_SELECTORS_MAX; i++)
		sels[n++] = o->selectors[i];
	if (n == 0 && c->have_log)	/* --selector wins over the log */
		for (i = 0; i < c->log.nselectors; i++)
			sels[n++] = c->log.selectors[i];
	if (n == 0) {
		dkim_nothing_to_check(c);
		return;
	}
	memset(out, 0, sizeof(out));
	for (i = 0; i < n && !c->r->failed; i++) {
		am_buf_init(&out[i].fix);
		if (!selector_ok(sels[i]))
			sel_set(&out[i], AM_DC_FAIL, -1, "\"%s\" is not a selector name%s", sels[i], "");
		else
			check_selector(c, sels[i], &out[i]);
		if (out[i].status == AM_DC_PASS)
			passed++;
	}
	if (!c->r->failed) {
		/* The summary first: when it costs the cap, the selectors say why. */
		if (passed > 0)
			dc_add(c, AM_DC_SEC_DKIM, "easy-dkim", AM_DC_PASS, -1, 0, NULL,
			    "%zu of %zu selector(s) lead to a working Easy DKIM key", passed, n);
		else
			dc_add(c, AM_DC_SEC_DKIM, "easy-dkim", AM_DC_FAIL, AM_HINT_SES_NO_EASY_DKIM,
			    DC_PTS_EASY_DKIM_NONE, NULL,
			    "none of the %zu selector(s) leads to a working Easy DKIM key: SES mail "
			    "from %s carries only SES's own amazonses.com signature", n, c->domain);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "dkim:%s", sels[i]);
			dc_add(c, AM_DC_SEC_DKIM, name, out[i].status, out[i].hint, out[i].points,
			    out[i].fix.data, "%s", out[i].detail);
		}
	}
	for (i = 0; i < n; i++)
		am_buf_free(&out[i].fix);
}
