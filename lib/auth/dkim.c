/*
 * dkim.c - DKIM verification (RFC 6376, RFC 8463, RFC 8301) with libopendkim.
 *
 * Owns: the shared DKIM_LIB (set up with our DNS hooks, dkim-dns.c), the
 * per-message verifier up to the end of the body (header and body line
 * ends normalised to CRLF, our own parse of each DKIM-Signature field,
 * key lookups started early, signature selection under
 * MaximumSignatures), and the tag-list helpers the family shares.  The
 * verdict is dkim-result.c's (am_dkim_eom).
 *
 * Errors: am_dkim_lib_new fills err and returns NULL; a key cache that
 * cannot start is logged (am_log, LOG_WARNING) and verification goes on
 * without it.  Per message, library errors are kept in liberr for the
 * verdict to report; nothing else is logged.  Out of memory aborts.
 *
 * Threads: the DKIM_LIB is shared read-only after set-up, by any thread;
 * one DKIM handle per am_dkim_msg, used by one thread at a time.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <dkim.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dkim-int.h"
#include "auth/keycache.h"

#define CLOCK_DRIFT	86400		/* t= in the future: tolerate clock/zone errors */
#define HDR_MAX		(256 * 1024)	/* longer header fields are not passed on */
#define BODY_CHUNK	8192

/* ---- tag-list helpers (shared with dkim-result.c) ------------------------ */

bool
am_dkim_tag_find(const char *s, size_t len, const char *tag, char *out, size_t outlen, bool strip)
{
	size_t i = 0, taglen = strlen(tag);

	while (i < len) {
		size_t ns, ne, vs, ve, end, o;

		for (end = i; end < len && s[end] != ';'; end++)
			;
		for (ns = i; ns < end && am_dkim_is_wsp((unsigned char)s[ns]); ns++)
			;
		for (ne = ns; ne < end && s[ne] != '=' && !am_dkim_is_wsp((unsigned char)s[ne]); ne++)
			;
		for (vs = ne; vs < end && s[vs] != '='; vs++)
			;
		if (vs < end && ne - ns == taglen && strncasecmp(s + ns, tag, taglen) == 0) {
			vs++;
			while (vs < end && am_dkim_is_wsp((unsigned char)s[vs]))
				vs++;
			ve = end;
			while (ve > vs && am_dkim_is_wsp((unsigned char)s[ve - 1]))
				ve--;
			o = 0;
			for (; vs < ve && outlen > 0 && o < outlen - 1; vs++) {
				if (strip && am_dkim_is_wsp((unsigned char)s[vs]))
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

void
am_dkim_copy_printable(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; src != NULL && *src != '\0' && o < size - 1; src++)
		if ((unsigned char)*src > 32 && (unsigned char)*src < 127)
			dst[o++] = *src;
	dst[o] = '\0';
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
		am_log(LOG_WARNING, "DKIM key cache unavailable: every key is decoded anew");
	l->max_sigs = max_sigs;
	l->lib = dkim_init(NULL, NULL);
	if (l->lib == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(l);
		return NULL;
	}
	am_dkim_dns_install(l->lib, res);

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

/*
 * raw[] (18 KB) is read only below nraw and each entry is set as it is
 * added: zeroing it for every message cost more instructions than the
 * rest of MAIL FROM (callgrind: 23,000 of 70,000 per MAIL) and made a
 * message in flight hold pages it never uses.
 */
am_dkim_msg *
am_dkim_msg_new(am_dkim_lib *l, const char *id)
{
	am_dkim_msg *m = am_xmalloc(sizeof(*m));
	DKIM_STAT st = DKIM_STAT_OK;

	memset(m, 0, offsetof(am_dkim_msg, raw));
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
prefetch_early(am_dkim_msg *m, struct am_dkim_rawsig *r)
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
	struct am_dkim_rawsig *r;
	char *b;

	m->total++;
	if (m->nraw >= AM_DKIM_REPORT_MAX)
		return;
	r = &m->raw[m->nraw++];
	memset(r, 0, sizeof(*r));
	{
		char tmp[AM_DOMAIN_MAX];

		if (am_dkim_tag_find(v, len, "d", tmp, sizeof(tmp), true)) {
			am_dkim_copy_printable(r->domain, sizeof(r->domain), tmp);
			am_domain_normalize(r->domain);
		}
		if (am_dkim_tag_find(v, len, "s", tmp, sizeof(tmp), true))
			am_dkim_copy_printable(r->selector, sizeof(r->selector), tmp);
		if (am_dkim_tag_find(v, len, "a", tmp, sizeof(tmp), true)) {
			am_dkim_copy_printable(r->algorithm, sizeof(r->algorithm), tmp);
			am_lowercase(r->algorithm);
		}
	}
	b = am_xmalloc(len + 1);
	if (am_dkim_tag_find(v, len, "b", b, len + 1, true))
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
bool
am_dkim_key_name_too_long(DKIM_SIGINFO *sig)
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
			    am_dkim_key_name_too_long(sigs[i]))
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
