/*
 * dkim.c - DKIM verification (RFC 6376, RFC 8463, RFC 8301) with libopendkim.
 *
 * Owns: the shared DKIM_LIB and its DNS hooks (which query am_resolver and
 * hand libopendkim a synthesized DNS response packet), the per-message
 * verifier (header/body normalisation, signature selection under
 * MaximumSignatures), and the mapping of libopendkim's per-signature state
 * to struct am_dkim_sig, including the key-not-found and
 * duplicated-suffix (<s>._domainkey.<d>.<d>) probes.
 *
 * Result mapping (RFC 8601 section 2.7.1; documented in tests/dkim/EXPECTED.md):
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
 * Thread-safety: the DKIM_LIB is shared read-only after set-up; one DKIM
 * handle per am_dkim_msg; DNS query handles live for one lookup.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>

#include <dkim.h>		/* libopendkim's; milter/ is on the -iquote path only */

#include "auth/dkim.h"
#include "auth/keycache.h"
#include "util/util.h"

#define RSA_MIN_BITS	1024		/* RFC 8301 section 3.2 */
#define CLOCK_DRIFT	86400		/* t= in the future: tolerate clock/zone errors */
#define HDR_MAX		(256 * 1024)	/* longer header fields are not passed on */
#define BODY_CHUNK	8192
#define DNS_HFIXEDSZ	12
#define DNS_T_TXT	16
#define DNS_C_IN	1
#define DNS_RCODE_NXDOMAIN 3

struct am_dkim_lib {
	DKIM_LIB *lib;
	am_resolver *res;
	unsigned max_sigs;
};

/* A DKIM-Signature field as we parsed it ourselves (for reporting). */
struct rawsig {
	char	domain[AM_DOMAIN_MAX];
	char	selector[AM_SELECTOR_MAX];
	char	algorithm[32];
	char	*b;			/* b= without whitespace, for matching */
	bool	matched;
	bool	prefetched;		/* its key lookup started as the field arrived */
};

struct am_dkim_msg {
	am_dkim_lib *lib;
	DKIM	*dkim;			/* NULL when dkim_verify failed */
	char	id[64];
	bool	eoh_done;
	DKIM_STAT eoh_stat;
	bool	body_cr;		/* previous body byte was CR */
	unsigned from_count;		/* From header fields seen */
	size_t	nraw;			/* entries in raw[] */
	size_t	total;			/* DKIM-Signature fields seen */
	struct rawsig raw[AM_DKIM_REPORT_MAX];
	char	liberr[AM_REASON_MAX];	/* library error after eoh, if any */
	struct am_dkim_verdict *result;	/* kept after the first am_dkim_eom */
	am_dns_query *prefetch[AM_DKIM_REPORT_MAX]; /* key lookups started together */
	size_t	nprefetch;
};

/* One libopendkim DNS query. */
struct dkim_query {
	am_dns_query *q;		/* NULL once waited for (or never started) */
	struct am_dns_answer *ans;
	unsigned char *buf;		/* libopendkim's answer buffer */
	size_t	buflen;
	int	qtype;
	char	qname[256];
	bool	bad_name;		/* not encodable: answer NXDOMAIN */
};

/* ---- small string helpers ------------------------------------------------ */

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Find tag in an RFC 6376 tag-list (s, len) and copy its value, trimmed,
 * to out (bounded).  strip: drop all whitespace inside the value (b=, p=).
 * Returns false when the tag is absent.
 */
static bool
tag_find(const char *s, size_t len, const char *tag, char *out, size_t outlen, bool strip)
{
	size_t i = 0, taglen = strlen(tag);

	while (i < len) {
		size_t ns, ne, vs, ve, end, o;

		for (end = i; end < len && s[end] != ';'; end++)
			;
		for (ns = i; ns < end && is_wsp((unsigned char)s[ns]); ns++)
			;
		for (ne = ns; ne < end && s[ne] != '=' && !is_wsp((unsigned char)s[ne]); ne++)
			;
		for (vs = ne; vs < end && s[vs] != '='; vs++)
			;
		if (vs < end && ne - ns == taglen && strncasecmp(s + ns, tag, taglen) == 0) {
			vs++;
			while (vs < end && is_wsp((unsigned char)s[vs]))
				vs++;
			ve = end;
			while (ve > vs && is_wsp((unsigned char)s[ve - 1]))
				ve--;
			o = 0;
			for (; vs < ve && outlen > 0 && o < outlen - 1; vs++) {
				if (strip && is_wsp((unsigned char)s[vs]))
					continue;
				out[o++] = s[vs];
			}
			if (outlen > 0)
				out[o] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
}

/* Copy printable ASCII only: names in reports never carry control bytes. */
static void
copy_printable(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; src != NULL && *src != '\0' && o < size - 1; src++)
		if ((unsigned char)*src > 32 && (unsigned char)*src < 127)
			dst[o++] = *src;
	dst[o] = '\0';
}

static void
b_prefix_from(char *dst, size_t size, const char *b)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; b != NULL && *b != '\0' && o < size - 1; b++)
		if (!is_wsp((unsigned char)*b))
			dst[o++] = *b;
	dst[o] = '\0';
}

/* ---- DNS hooks: am_resolver answers turned into a response packet ------- */

/* Encode a text name as wire labels; 0 when it cannot be encoded. */
static size_t
put_name(unsigned char *p, size_t room, const char *name)
{
	size_t o = 0, total = 0;
	const char *l = name, *dot;

	if (*l == '\0' || strcmp(l, ".") == 0) {
		if (room < 1)
			return 0;
		p[0] = 0;
		return 1;
	}
	for (;;) {
		size_t n;

		dot = strchr(l, '.');
		n = dot != NULL ? (size_t)(dot - l) : strlen(l);
		if (n == 0) {
			if (dot == NULL || dot[1] != '\0')
				return 0;	/* empty label inside the name */
			break;			/* trailing dot */
		}
		if (n > 63 || o + 1 + n + 1 > room)
			return 0;
		p[o++] = (unsigned char)n;
		memcpy(p + o, l, n);
		o += n;
		total += n + 1;
		if (dot == NULL)
			break;
		l = dot + 1;
		if (*l == '\0')
			break;
	}
	if (total + 1 > 255)
		return 0;
	p[o++] = 0;
	return o;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, unsigned long v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * Append one TXT RR (owner: pointer to the question name) whose text is
 * split into <=255-byte character-strings.  Returns bytes written, 0 when
 * it does not fit.
 */
static size_t
put_txt_rr(unsigned char *p, size_t room, const unsigned char *txt, size_t len, unsigned ttl)
{
	size_t nstr = len == 0 ? 1 : (len + 254) / 255;
	size_t rdlen = len + nstr, o, off;

	if (rdlen > 65535 || 12 + rdlen > room)
		return 0;
	p[0] = 0xc0;			/* compression pointer to offset 12 */
	p[1] = DNS_HFIXEDSZ;
	put16(p + 2, DNS_T_TXT);
	put16(p + 4, DNS_C_IN);
	put32(p + 6, ttl);
	put16(p + 10, (unsigned)rdlen);
	o = 12;
	off = 0;
	do {
		size_t n = len - off > 255 ? 255 : len - off;

		p[o++] = (unsigned char)n;
		memcpy(p + o, txt + off, n);
		o += n;
		off += n;
	} while (off < len);
	return o;
}

/*
 * Build the response libopendkim's dkim_get_key_dns() parses: header
 * (rcode, counts), the question, one TXT RR per record.  Records that do
 * not fit set TC, which libopendkim treats as a key lookup failure.
 */
static size_t
synth_packet(struct dkim_query *dq, int rcode)
{
	unsigned char *p = dq->buf;
	size_t room = dq->buflen, o, n, i, ancount = 0;
	const struct am_dns_answer *a = dq->ans;
	bool tc = false;

	if (room < DNS_HFIXEDSZ + 1 + 4)
		return 0;
	memset(p, 0, DNS_HFIXEDSZ);
	o = DNS_HFIXEDSZ;
	n = dq->bad_name ? 0 : put_name(p + o, room - o - 4, dq->qname);
	if (n == 0) {
		n = put_name(p + o, room - o - 4, ".");
		rcode = DNS_RCODE_NXDOMAIN;
	}
	o += n;
	put16(p + o, (unsigned)dq->qtype);
	put16(p + o + 2, DNS_C_IN);
	o += 4;
	if (rcode == 0 && a != NULL && a->status == AM_DNS_OK && a->rrtype == dq->qtype &&
	    dq->qtype == DNS_T_TXT) {
		for (i = 0; i < a->count; i++) {
			size_t tlen = a->rr[i].len;

			/*
			 * A record longer than libopendkim's answer buffer (8 KiB)
			 * cannot be a usable key: hand over its head, which then
			 * fails to decode (permerror), rather than "no record"
			 * (which would claim the key does not exist) or a DNS error
			 * (which would invite a retry that cannot succeed).
			 */
			if (ancount == 0 && room - o > 13 && tlen + (tlen + 254) / 255 > room - o - 12)
				tlen = (room - o - 13) * 255 / 256;
			n = put_txt_rr(p + o, room - o, a->rr[i].data, tlen, a->ttl);
			if (n == 0) {
				tc = true;
				break;
			}
			o += n;
			ancount++;
		}
	}
	p[2] = 0x81 | (tc ? 0x02 : 0);	/* QR, RD, TC */
	p[3] = 0x80 | (unsigned char)(rcode & 0x0f);	/* RA, rcode */
	put16(p + 4, 1);
	put16(p + 6, (unsigned)ancount);
	return o;
}

static int
dns_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen, void **qh)
{
	struct dkim_query *dq;
	unsigned char tmp[256];

	if (srv == NULL || query == NULL || buf == NULL || qh == NULL)
		return -1;
	dq = am_xcalloc(1, sizeof(*dq));
	dq->buf = buf;
	dq->buflen = buflen;
	dq->qtype = type;
	if (am_strlcpy(dq->qname, (const char *)query, sizeof(dq->qname)) >= sizeof(dq->qname) ||
	    put_name(tmp, sizeof(tmp), dq->qname) == 0)
		dq->bad_name = true;	/* cannot exist in the DNS */
	else
		dq->q = am_dns_start(srv, dq->qname, type);
	*qh = dq;
	return 0;
}

static int
dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error, int *dnssec)
{
	struct dkim_query *dq = qh;
	size_t len;
	int rcode = 0;

	(void)srv;
	(void)to;			/* the resolver's own deadline applies */
	if (dq == NULL)
		return DKIM_DNS_INVALID;
	if (dq->q != NULL) {
		dq->ans = am_dns_wait(dq->q);
		dq->q = NULL;
	}
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = dq->ans != NULL && dq->ans->secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
	if (!dq->bad_name) {
		if (dq->ans == NULL)
			return DKIM_DNS_ERROR;
		switch (dq->ans->status) {
		case AM_DNS_OK:
		case AM_DNS_NODATA:
			break;
		case AM_DNS_NXDOMAIN:
			rcode = DNS_RCODE_NXDOMAIN;
			break;
		case AM_DNS_SERVFAIL:
		case AM_DNS_TIMEOUT:
		default:
			/* temporary: libopendkim turns this into KEYFAIL */
			return DKIM_DNS_ERROR;
		}
	}
	len = synth_packet(dq, rcode);
	if (len == 0)
		return DKIM_DNS_ERROR;
	if (bytes != NULL)
		*bytes = len;
	return DKIM_DNS_SUCCESS;
}

/* libopendkim calls this after every waitreply (and on failure paths). */
static int
dns_cancel(void *srv, void *qh)
{
	struct dkim_query *dq = qh;

	(void)srv;
	if (dq == NULL)
		return 0;
	if (dq->q != NULL)
		am_dns_cancel(dq->q);
	am_dns_answer_free(dq->ans);
	free(dq);
	return 0;
}

/* ---- library ------------------------------------------------------------ */

/* Options whose C type differs between builds: try the common widths. */
static DKIM_STAT
set_num_opt(DKIM_LIB *lib, int opt, uint64_t v)
{
	uint64_t v64 = v;
	unsigned int v32 = (unsigned int)v;

	if (dkim_options(lib, DKIM_OP_SETOPT, opt, &v64, sizeof(v64)) == DKIM_STAT_OK)
		return DKIM_STAT_OK;
	return dkim_options(lib, DKIM_OP_SETOPT, opt, &v32, sizeof(v32));
}

static DKIM_CBSTAT prescreen(DKIM *, DKIM_SIGINFO **, int);

am_dkim_lib *
am_dkim_lib_new(am_resolver *res, unsigned max_sigs, char *err, size_t errlen)
{
	am_dkim_lib *l;
	unsigned int flags;
	unsigned tmo;

	if (res == NULL) {
		snprintf(err, errlen, "dkim: no resolver");
		return NULL;
	}
	l = am_xcalloc(1, sizeof(*l));
	l->res = res;
	if (!am_keycache_init())
		syslog(LOG_WARNING, "DKIM key cache unavailable: every key is decoded anew");
	l->max_sigs = max_sigs;
	l->lib = dkim_init(NULL, NULL);
	if (l->lib == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(l);
		return NULL;
	}
	/*
	 * Our resolver, our hooks.  The default close hook would call
	 * res_nclose() on our pointer inside dkim_close(): clear them all.
	 */
	dkim_dns_set_init(l->lib, NULL);
	dkim_dns_set_close(l->lib, NULL);
	dkim_dns_set_nslist(l->lib, NULL);
	dkim_dns_set_config(l->lib, NULL);
	dkim_dns_set_trustanchor(l->lib, NULL);
	(void)dkim_dns_set_query_service(l->lib, res);
	dkim_dns_set_query_start(l->lib, dns_start);
	dkim_dns_set_query_waitreply(l->lib, dns_waitreply);
	dkim_dns_set_query_cancel(l->lib, dns_cancel);

	/*
	 * Minimum key size: libopendkim would refuse RSA keys under
	 * DKIM_OPTS_MINKEYBITS before verifying.  We set it to 0 and apply
	 * RFC 8301's 1024 bits ourselves after verification (apply_rfc8301),
	 * so a weak key that verifies is "policy" while a broken signature
	 * stays "fail".
	 *
	 * BADSIGHANDLES: signatures with syntax errors stay in the list so
	 * they are reported.  No FIXCRLF: we normalise line ends ourselves
	 * (its header path keeps the unexpanded length).
	 */
	flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	tmo = (am_resolver_timeout_ms(res) + 999) / 1000;
	if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    set_num_opt(l->lib, DKIM_OPTS_TIMEOUT, tmo == 0 ? 1 : tmo) != DKIM_STAT_OK ||
	    set_num_opt(l->lib, DKIM_OPTS_CLOCKDRIFT, CLOCK_DRIFT) != DKIM_STAT_OK ||
	    set_num_opt(l->lib, DKIM_OPTS_MINKEYBITS, 0) != DKIM_STAT_OK ||
	    dkim_set_prescreen(l->lib, prescreen) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_options failed");
		dkim_close(l->lib);
		free(l);
		return NULL;
	}
	return l;
}

void
am_dkim_lib_free(am_dkim_lib *l)
{
	if (l == NULL)
		return;
	dkim_close(l->lib);
	free(l);
}

/* ---- per message ---------------------------------------------------------- */

am_dkim_msg *
am_dkim_msg_new(am_dkim_lib *l, const char *id)
{
	am_dkim_msg *m = am_xcalloc(1, sizeof(*m));
	DKIM_STAT st = DKIM_STAT_OK;

	m->lib = l;
	am_strlcpy(m->id, id != NULL && *id != '\0' ? id : "-", sizeof(m->id));
	if (l != NULL && l->lib != NULL) {
		m->dkim = dkim_verify(l->lib, (const unsigned char *)m->id, NULL, &st);
		if (m->dkim != NULL && st == DKIM_STAT_OK)
			(void)dkim_set_user_context(m->dkim, m);
		else {
			if (m->dkim != NULL)
				dkim_free(m->dkim);
			m->dkim = NULL;
			snprintf(m->liberr, sizeof(m->liberr), "dkim_verify: %s", dkim_getresultstr(st));
		}
	}
	return m;
}

static void	prefetch_start(am_dkim_msg *, const char *d, const char *s);

/*
 * Start the key lookup as soon as the signature field arrives: the SPF
 * check runs at end of headers, and its lookups then overlap the keys'
 * instead of queueing behind them.  Only the first MaximumSignatures
 * fields (the most the library verifies); prescreen starts any other it
 * chooses.
 */
static void
prefetch_early(am_dkim_msg *m, struct rawsig *r)
{
	if (m->lib == NULL || m->dkim == NULL || m->nprefetch >= m->lib->max_sigs || r->domain[0] == '\0' ||
	    r->selector[0] == '\0' || strlen(r->selector) + strlen("._domainkey.") + strlen(r->domain) > 253)
		return;
	prefetch_start(m, r->domain, r->selector);
	r->prefetched = true;
}

/* Remember a DKIM-Signature field for reporting and matching. */
static void
note_signature(am_dkim_msg *m, const char *v, size_t len)
{
	struct rawsig *r;
	char *b;

	m->total++;
	if (m->nraw >= AM_DKIM_REPORT_MAX)
		return;
	r = &m->raw[m->nraw++];
	memset(r, 0, sizeof(*r));
	{
		char tmp[AM_DOMAIN_MAX];

		if (tag_find(v, len, "d", tmp, sizeof(tmp), true)) {
			copy_printable(r->domain, sizeof(r->domain), tmp);
			am_domain_normalize(r->domain);
		}
		if (tag_find(v, len, "s", tmp, sizeof(tmp), true))
			copy_printable(r->selector, sizeof(r->selector), tmp);
		if (tag_find(v, len, "a", tmp, sizeof(tmp), true)) {
			copy_printable(r->algorithm, sizeof(r->algorithm), tmp);
			am_lowercase(r->algorithm);
		}
	}
	b = am_xmalloc(len + 1);
	if (tag_find(v, len, "b", b, len + 1, true))
		r->b = b;
	else
		free(b);
	prefetch_early(m, r);
}

/*
 * Build "Name:value" with bare LF turned into CRLF and any trailing line
 * end dropped (dkim_header wants no trailing CRLF).  Returns the length.
 */
static size_t
build_field(char **out, const char *name, const char *value, size_t vlen)
{
	size_t nlen = strlen(name), i, o, cap;
	char *p;

	while (vlen > 0 && (value[vlen - 1] == '\n' || value[vlen - 1] == '\r'))
		vlen--;
	cap = nlen + 1 + 2 * vlen + 1;
	p = am_xmalloc(cap);
	memcpy(p, name, nlen);
	o = nlen;
	p[o++] = ':';
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			p[o++] = '\r';
		p[o++] = value[i];
	}
	p[o] = '\0';
	*out = p;
	return o;
}

void
am_dkim_header(am_dkim_msg *m, const char *name, const char *value, size_t vlen)
{
	char *field;
	size_t len;
	bool is_sig;

	if (m == NULL || m->eoh_done)
		return;
	if (name == NULL)
		name = "";
	if (value == NULL)
		vlen = 0;
	if (strcasecmp(name, "From") == 0)
		m->from_count++;
	is_sig = strcasecmp(name, "DKIM-Signature") == 0;
	if (is_sig) {
		/*
		 * Every signature costs canonicalisation work even when not
		 * verified: fields beyond AM_DKIM_REPORT_MAX are only counted.
		 */
		if (m->total >= AM_DKIM_REPORT_MAX) {
			m->total++;
			return;
		}
		note_signature(m, value != NULL ? value : "", vlen);
	}
	if (m->dkim == NULL || strlen(name) + vlen > HDR_MAX)
		return;
	len = build_field(&field, name, value != NULL ? value : "", vlen);
	/* Per-field errors (bad name, bad tags) leave the handle usable. */
	(void)dkim_header(m->dkim, (unsigned char *)field, len);
	free(field);
}

static bool
rsa_alg(dkim_alg_t alg)
{
	return alg == DKIM_SIGN_RSASHA1 || alg == DKIM_SIGN_RSASHA256;
}

/*
 * libopendkim fetches the keys one after another; start them all now so
 * they are answered in one round trip (its own queries join ours).
 */
static void
prefetch_start(am_dkim_msg *m, const char *d, const char *s)
{
	char name[256];
	int n;

	if (m->nprefetch >= AM_DKIM_REPORT_MAX)
		return;
	n = snprintf(name, sizeof(name), "%s._domainkey.%s", s, d);
	if (n <= 0 || (size_t)n >= sizeof(name))
		return;
	m->prefetch[m->nprefetch++] = am_dns_start(m->lib->res, name, AM_RR_TXT);
}

/* Started already when its field arrived? */
static bool
prefetched_early(const am_dkim_msg *m, const char *d, const char *s)
{
	char dn[AM_DOMAIN_MAX];
	size_t i;

	am_strlcpy(dn, d, sizeof(dn));
	am_domain_normalize(dn);
	for (i = 0; i < m->nraw; i++)
		if (m->raw[i].prefetched && strcmp(m->raw[i].domain, dn) == 0 &&
		    strcasecmp(m->raw[i].selector, s) == 0)
			return true;
	return false;
}

static void
prefetch_key(am_dkim_msg *m, DKIM_SIGINFO *sig)
{
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);

	if (d == NULL || s == NULL || prefetched_early(m, d, s))
		return;
	prefetch_start(m, d, s);
}

static void
prefetch_done(am_dkim_msg *m)
{
	size_t i;

	for (i = 0; i < m->nprefetch; i++)
		am_dns_cancel(m->prefetch[i]);
	m->nprefetch = 0;
}

/*
 * "<s>._domainkey.<d>" longer than a DNS name can be (RFC 1035: 253
 * characters): libopendkim would fail the whole message in dkim_eoh ("key
 * query name too large"), so one junk field must not cost the valid
 * signatures their verdict; it is ignored and reported as permerror.
 */
static bool
key_name_too_long(DKIM_SIGINFO *sig)
{
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);

	return d != NULL && s != NULL && strlen(s) + strlen("._domainkey.") + strlen(d) > 253;
}

/*
 * Choose the signatures to verify: at most max_sigs, those whose d= is
 * related to the From domain first, then document order.  Signatures that
 * already carry a (syntax) error cost nothing and are left to be reported.
 */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	am_dkim_msg *m = dkim_get_user_context(dkim);
	const char *from = (const char *)dkim_getdomain(dkim);
	unsigned max = m != NULL && m->lib != NULL ? m->lib->max_sigs : 0;
	unsigned chosen = 0;
	bool *keep;
	int pass, i;

	if (nsigs <= 0)
		return DKIM_CBSTAT_CONTINUE;
	keep = am_xcalloc((size_t)nsigs, sizeof(bool));
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nsigs; i++) {
			const char *d = (const char *)dkim_sig_getdomain(sigs[i]);
			bool related;

			if (keep[i] || dkim_sig_geterror(sigs[i]) != DKIM_SIGERROR_UNKNOWN ||
			    key_name_too_long(sigs[i]))
				continue;
			related = from != NULL && d != NULL &&
			    (am_domain_is_under(d, from) || am_domain_is_under(from, d));
			if (pass == 0 && !related)
				continue;
			if (chosen < max) {
				keep[i] = true;
				chosen++;
			}
		}
	}
	for (i = 0; i < nsigs; i++) {
		if (!keep[i] && dkim_sig_geterror(sigs[i]) == DKIM_SIGERROR_UNKNOWN)
			dkim_sig_ignore(sigs[i]);
		else if (keep[i] && m != NULL)
			prefetch_key(m, sigs[i]);
	}
	free(keep);
	return DKIM_CBSTAT_CONTINUE;
}

void
am_dkim_eoh(am_dkim_msg *m)
{
	if (m == NULL || m->eoh_done)
		return;
	m->eoh_done = true;
	m->eoh_stat = DKIM_STAT_NOSIG;
	/* unsigned, or reported as permerror without lookups (see am_dkim_eom) */
	if (m->dkim == NULL || m->total == 0 || m->from_count != 1)
		return;
	m->eoh_stat = dkim_eoh(m->dkim);
	prefetch_done(m);
	if (m->eoh_stat != DKIM_STAT_OK && m->eoh_stat != DKIM_STAT_NOSIG) {
		const char *e = dkim_geterror(m->dkim);
		char *p;

		snprintf(m->liberr, sizeof(m->liberr), "%s",
		    e != NULL && *e != '\0' ? e : dkim_getresultstr(m->eoh_stat));
		for (p = m->liberr; *p != '\0'; p++)
			if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
				*p = '?';
	}
}

/* Does buf hold an LF not preceded by CR (prev_cr: the previous chunk ended in CR)? */
static bool
has_bare_lf(const unsigned char *buf, size_t len, bool prev_cr)
{
	const unsigned char *p = buf, *end = buf + len, *lf;

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == buf ? !prev_cr : lf[-1] != '\r')
			return true;
		p = lf + 1;
	}
	return false;
}

void
am_dkim_body(am_dkim_msg *m, const unsigned char *buf, size_t len)
{
	unsigned char out[BODY_CHUNK + 2];
	size_t i, o = 0;

	if (m == NULL || buf == NULL || len == 0)
		return;
	if (!m->eoh_done)
		am_dkim_eoh(m);
	if (m->dkim == NULL || m->eoh_stat != DKIM_STAT_OK)
		return;
	/* The MTA sends CRLF lines: such a chunk goes to the library as it is. */
	if (!has_bare_lf(buf, len, m->body_cr)) {
		(void)dkim_body(m->dkim, (unsigned char *)buf, len);
		m->body_cr = buf[len - 1] == '\r';
		return;
	}
	/* Bare LF -> CRLF, also when the CR ended the previous chunk. */
	for (i = 0; i < len; i++) {
		bool prev_cr = i > 0 ? buf[i - 1] == '\r' : m->body_cr;

		if (buf[i] == '\n' && !prev_cr)
			out[o++] = '\r';
		out[o++] = buf[i];
		if (o >= BODY_CHUNK) {
			(void)dkim_body(m->dkim, out, o);
			o = 0;
		}
	}
	if (o > 0)
		(void)dkim_body(m->dkim, out, o);
	m->body_cr = buf[len - 1] == '\r';
}

/* ---- reporting ------------------------------------------------------------ */

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
	copy_printable(s->domain, sizeof(s->domain), (const char *)dkim_sig_getdomain(sig));
	am_domain_normalize(s->domain);
	copy_printable(s->selector, sizeof(s->selector), (const char *)dkim_sig_getselector(sig));
	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		alg = DKIM_SIGN_UNKNOWN;
	/* a= as written (the library defaults a missing a= to rsa-sha1) */
	an = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"a");
	copy_printable(s->algorithm, sizeof(s->algorithm), an);
	am_lowercase(s->algorithm);
	b = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	b_prefix_from(s->b_prefix, sizeof(s->b_prefix), b);
	if (rsa_alg(alg) && dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		s->keybits = bits;
	s->verified = true;

	if ((flags & DKIM_SIGFLAG_IGNORE) != 0 && key_name_too_long(sig)) {
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
fill_from_raw(struct am_dkim_sig *s, const struct rawsig *r, enum am_dkim_result res, const char *reason)
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
static struct rawsig *
match_raw_b(am_dkim_msg *m, DKIM_SIGINFO *sig)
{
	const char *b = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	size_t i;

	for (i = 0; i < m->nraw; i++) {
		struct rawsig *r = &m->raw[i];

		if (r->matched)
			continue;
		if (b == NULL || r->b == NULL) {
			if (b != NULL || r->b != NULL)
				continue;
		} else {
			/* libopendkim may keep whitespace in the value: compare stripped */
			const char *p = b, *q = r->b;

			while (*p != '\0' && *q != '\0') {
				if (is_wsp((unsigned char)*p)) {
					p++;
					continue;
				}
				if (*p != *q)
					break;
				p++;
				q++;
			}
			while (is_wsp((unsigned char)*p))
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
static struct rawsig *
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
	r = tag_find((const char *)data, len, "p", p, len + 1, true) ||
	    (tag_find((const char *)data, len, "v", v, sizeof(v), true) && strcmp(v, "DKIM1") == 0);
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
		struct rawsig *raw = match_raw(m, sigs[i], i, nsigs);

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

static void verify_and_report(am_dkim_msg *, struct am_dkim_verdict *);

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

void
am_dkim_msg_free(am_dkim_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	prefetch_done(m);
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	for (i = 0; i < m->nraw; i++)
		free(m->raw[i].b);
	free(m->result);
	free(m);
}
