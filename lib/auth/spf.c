/*
 * spf.c - SPF (RFC 7208) on the envelope, with libspf2 over our resolver.
 *
 * Owns: libspf2's DNS layer (every lookup goes through am_resolver; libspf2
 * never reads resolv.conf), its error handler, our driver of a check
 * (which, unlike SPF_request_query_mailfrom(), gives loopback clients no
 * free pass), the RFC 7208 limits libspf2 gets wrong or lacks (10 DNS
 * terms across includes, 2 void lookups, the PTR cap, an overall time
 * budget), a filter that checks every SPF record against the RFC 7208
 * grammar before libspf2 parses it (and guards against CVE-2023-42118),
 * and the mapping of libspf2 results into struct am_spf_verdict.
 * Known differences from RFC 7208: tests/spf/DEVIATIONS.md.
 *
 * Threads: one libspf2 "template" server is built at start-up and only
 * read afterwards.  Each check copies that struct onto its own stack with
 * its own DNS layer whose hook points at the check's state (counters,
 * deadline), so the state is reachable from the request
 * (request->spf_server->resolver->hook) and nothing is shared between
 * concurrent checks.  The copy is never passed to SPF_server_free().
 * (struct SPF_server_struct is public in <spf2/spf_server.h>.)
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <spf2/spf.h>

#include "auth/spf.h"
#include "util/util.h"

#define SPF_RFC_DNS_TERMS	10	/* RFC 7208 4.6.4 */
#define SPF_RFC_VOID_LIMIT	2	/* RFC 7208 4.6.4: more is permerror */
#define SPF_RFC_PTR_NAMES	10	/* RFC 7208 4.6.4: use the first 10 PTR names */
#define SPF_BUDGET_LOOKUPS	4	/* whole check: this many lookup timeouts */
#define SPF_SUBNAMES		10	/* MX/PTR target names remembered per check */

/* libspf2 1.2.10 compiles each term into a 511-byte area (SPF_MAX_MECH_LEN,
 * SPF_MAX_MOD_LEN); see spf_guard_macro(). */
#define SPF_GUARD_AREA		511
#define SPF_GUARD_MARGIN	24

/* What replaces an SPF record the filter refuses: still one "v=spf1"
 * record (so "multiple records" logic is unchanged) that libspf2 rejects
 * as an unknown mechanism, i.e. permerror. */
#define SPF_GUARD_RECORD	"v=spf1 x-alignmilter-rejected-macro:"

struct am_spf {
	am_resolver *res;
	SPF_server_t *tmpl;		/* limits, explanation, rec_dom; no DNS */
};

/* State of one check; the per-check DNS layer's hook points here. */
struct spf_call {
	am_resolver *res;
	int	af;			/* client address family */
	struct timespec deadline;	/* overall budget of the check */
	unsigned void_lookups;
	unsigned terms;			/* DNS-querying terms, across includes */
	bool	record_seen;		/* the first SPF record (not a term) */
	bool	void_exceeded;
	bool	terms_exceeded;
	bool	budget_exceeded;
	bool	guard_unsafe;		/* a record would hit CVE-2023-42118 */
	bool	guard_syntax;		/* a record broke the RFC 7208 grammar */
	bool	guard_growth;		/* an include/redirect target could blow up %{d} */
	/* Targets of the last MX/PTR answer: their address lookups are part
	 * of that mechanism, not terms of their own (void-lookup count). */
	char	sub[SPF_SUBNAMES][AM_DOMAIN_MAX];
	size_t	nsub;
	/* libspf2 objects of the check, freed by am_spf_check(). */
	SPF_request_t *req;
	SPF_response_t *resp;
};

/* ---- libspf2 error handlers ------------------------------------------- */

/*
 * libspf2 reports internal errors (NULL-argument assertions, allocation
 * failures inside its DNS helpers) through SPF_error_handler, declared
 * noreturn; the default one abort()s.  Ours logs, then unwinds to the
 * running check (which reports temperror and leaks that check's libspf2
 * objects: their state is unknown) and aborts only outside any check.
 */
static __thread jmp_buf *spf_unwind;
static pthread_once_t spf_once = PTHREAD_ONCE_INIT;

static void spf_error_handler(const char *, int, const char *) __attribute__((noreturn));

static void
spf_error_handler(const char *file, int line, const char *msg)
{
	syslog(LOG_ERR, "libspf2 internal error at %s:%d: %s",
	    file != NULL ? file : "?", line, msg != NULL ? msg : "?");
	if (spf_unwind != NULL)
		longjmp(*spf_unwind, 1);
	abort();
}

static void
spf_warning_handler(const char *file, int line, const char *msg)
{
	syslog(LOG_DEBUG, "libspf2 warning at %s:%d: %s",
	    file != NULL ? file : "?", line, msg != NULL ? msg : "?");
}

/* Info and debug output would go to stdout: drop it. */
static void
spf_quiet_handler(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static void
spf_install_handlers(void)
{
	SPF_error_handler = spf_error_handler;
	SPF_warning_handler = spf_warning_handler;
	SPF_info_handler = spf_quiet_handler;
	SPF_debug_handler = spf_quiet_handler;
}

/* ---- small helpers ------------------------------------------------------ */

static void
spf_deadline_set(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
spf_deadline_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

/*
 * A domain usable as a check_host() <domain> or a query name: labels of
 * 1..63 octets, at most 253 octets, one trailing dot allowed.  With
 * multi_label, also at least two labels (RFC 7208 4.3) and no domain
 * literal.
 */
static bool
spf_domain_ok(const char *d, bool multi_label)
{
	size_t len, label = 0, labels = 0, i;

	if (d == NULL || *d == '\0')
		return false;
	len = strlen(d);
	if (d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
		} else if (++label > 63)
			return false;
	}
	if (label == 0)
		return false;
	labels++;
	if (multi_label && (labels < 2 || d[0] == '['))
		return false;
	return true;
}

/*
 * RFC 7208 4.8: a name longer than 253 octets (from macro expansion) loses
 * labels on the left until it fits.  Writes into buf; returns false when
 * nothing sensible is left.
 */
static bool
spf_query_name(const char *domain, char *buf, size_t buflen)
{
	const char *p = domain;
	size_t len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	while (len > 253) {
		const char *dot = memchr(p, '.', len);

		if (dot == NULL)
			return false;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (len + 1 > buflen)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return spf_domain_ok(buf, false);
}

static bool
spf_is_subname(const struct spf_call *call, const char *name)
{
	size_t i;

	for (i = 0; i < call->nsub; i++)
		if (strcasecmp(call->sub[i], name) == 0)
			return true;
	return false;
}

static void
spf_remember_subnames(struct spf_call *call, const struct am_dns_answer *a)
{
	size_t i;

	call->nsub = 0;
	for (i = 0; i < a->count && call->nsub < SPF_SUBNAMES; i++)
		am_strlcpy(call->sub[call->nsub++], (const char *)a->rr[i].data,
		    sizeof(call->sub[0]));
}

/* ---- record filter: RFC 7208 syntax and the CVE-2023-42118 guard ------- */

/*
 * Every TXT string passes through spf_txt_filter() before libspf2 sees it.
 *
 * CVE-2023-42118.  libspf2 compiles a macro-string (SPF_c_parse_macro)
 * into a fixed 511-byte area per term: 4-byte headers for each string
 * literal and each %{...} variable, literals padded to 4 bytes.  After
 * every variable it starts a new literal with `avail = 511 - used` minus
 * the 4-byte header; when the term had already used more than 507 bytes
 * that size_t subtraction wraps, the "ensure available" test never fails
 * again, and the following literal is copied past the area (stack or
 * heap).  Fixed upstream in d14abff, not in Debian's 1.2.10.  The same
 * parser compiles exp= texts (SPF_record_compile_macro, 511-byte stack
 * area).  We compute an upper bound of the compiled size up to each
 * variable of every term and exp text, and refuse the string when it
 * comes within a margin of the area: such a record is answered as
 * SPF_GUARD_RECORD (permerror), such an exp text as "" (no explanation).
 * Real records are nowhere near: only terms of ~200+ characters with
 * macros reach the bound.
 *
 * RFC 7208 syntax.  libspf2 is lenient where the RFC requires permerror
 * (non-ASCII and control characters, unknown mechanisms such as
 * "redirect:", bad domain-specs like "a:foo-bar" or "a:1.2.3.4", "%"
 * followed by other characters, CIDR lengths with leading zeros, exp=
 * or redirect= twice, macro letters c/r/t outside exp texts) and strict
 * where it must not be (unknown modifiers with "." in their name).  So the
 * filter parses each record per RFC 7208 section 12: an invalid record is
 * answered as SPF_GUARD_RECORD too; a valid one is handed on with
 * unknown modifiers dropped (RFC 6: they are ignored) and exp= and
 * redirect= moved to the end, because libspf2 evaluates redirect= where
 * it stands instead of after all mechanisms (RFC 6.1).
 */
enum spf_guard { GUARD_OK = 0, GUARD_SYNTAX, GUARD_UNSAFE, GUARD_GROWTH };

static size_t
spf_align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/*
 * Parse "{...}" of a macro-expand at s; returns chars consumed or 0.
 * Letters c, r, t only with allow_crt (exp texts, RFC 7208 7.1).
 */
static size_t
spf_macro_var(const char *s, size_t n, bool allow_crt)
{
	const char *letters = allow_crt ? "slodiphcrtvSLODIPHCRTV" : "slodiphvSLODIPHV";
	size_t i;

	if (n < 3 || s[0] != '{' || s[1] == '\0' || strchr(letters, s[1]) == NULL)
		return 0;
	i = 2;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && s[i] != '\0' && strchr(".-+,/_=", s[i]) != NULL)
		i++;
	if (i < n && s[i] == '}')
		return i + 1;
	return 0;
}

/*
 * Check a macro-string of n chars (a whole term, or an exp text with
 * spaces): syntax of RFC 7208 7.1 and the CVE bound.  *last_macro tells
 * whether it ends with a macro-expand (a domain-spec may end so).
 */
static enum spf_guard
spf_guard_macro(const char *s, size_t n, bool allow_crt, bool allow_space, bool *last_macro)
{
	size_t i = 0, used = 8, lit = 0, k;	/* 8: a CIDR block + slack */
	bool macro = false;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c != '%') {
			if (c < 0x21 || c > 0x7e) {
				if (c != ' ' || !allow_space)
					return GUARD_SYNTAX;
			}
			lit++;
			i++;
			macro = false;
			continue;
		}
		if (i + 1 >= n)
			return GUARD_SYNTAX;
		macro = true;
		switch (s[i + 1]) {
		case '%':
		case '_':
			lit++;
			i += 2;
			break;
		case '-':
			lit += 3;		/* "%20" */
			i += 2;
			break;
		case '{':
			if ((k = spf_macro_var(s + i + 1, n - i - 1, allow_crt)) == 0)
				return GUARD_SYNTAX;
			if (lit > 0)
				used += spf_align4(4 + lit);
			lit = 0;
			used += 4;
			if (used + SPF_GUARD_MARGIN >= SPF_GUARD_AREA)
				return GUARD_UNSAFE;
			i += 1 + k;
			break;
		default:
			return GUARD_SYNTAX;
		}
	}
	if (last_macro != NULL)
		*last_macro = macro;
	return GUARD_OK;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
spf_toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;
	size_t i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return alpha || memchr(s, '-', n) != NULL;
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static enum spf_guard
spf_domain_spec(const char *s, size_t n)
{
	enum spf_guard g;
	bool last_macro = false;
	size_t end, dot;

	if (n == 0)
		return GUARD_SYNTAX;
	if ((g = spf_guard_macro(s, n, false, false, &last_macro)) != GUARD_OK)
		return g;
	if (last_macro && s[n - 1] == '}')
		return GUARD_OK;
	end = n;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0)
		return GUARD_SYNTAX;		/* a single label */
	return spf_toplabel_ok(s + dot, end - dot) ? GUARD_OK : GUARD_SYNTAX;
}

/*
 * An include: or redirect= target becomes the <domain> of the next
 * check_host(), i.e. the next %{d}.  libspf2 keeps it at its expanded
 * length (RFC 7208 4.8 cuts query names to 253 octets; our DNS layer does
 * that only for the query), so a target repeating %{d} multiplies the
 * domain at every hop: "redirect=%{d}%{d}%{d}%{d}.x" made libspf2 take
 * 4 GB and 30 s within ten hops (found by tests/fuzz/fuzz_spf).  Real
 * macro targets hold one %{d} among a few macros (e.g.
 * "%{i}._ip.%{h}._ehlo.%{d}._spf.vali.email"); a target with more %{d}
 * or more than SPF_TARGET_MACROS macros is refused.  Called after
 * spf_domain_spec() accepted the n chars at s.
 */
#define SPF_TARGET_MACROS	8

static enum spf_guard
spf_target_growth(const char *s, size_t n)
{
	size_t i, macros = 0, dom = 0;

	for (i = 0; i + 2 < n; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == '{') {
			macros++;
			dom += s[i + 2] == 'd' || s[i + 2] == 'D';
		}
		i++;			/* "%%" is a literal: skip its second '%' */
	}
	return dom > 1 || macros > SPF_TARGET_MACROS ? GUARD_GROWTH : GUARD_OK;
}

/* "/" ("0" / %x31-39 0*N DIGIT), value <= max; n chars after the '/'. */
static bool
spf_cidr_ok(const char *s, size_t n, unsigned max)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max;
}

/* Length of a trailing "/N" (digits only) in s[0..n), 0 if none. */
static size_t
spf_cidr_suffix(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == n || i == 0 || s[i - 1] != '/')
		return 0;
	return n - i + 1;
}

/*
 * a / mx argument after the name: [ ":" domain-spec ] [ dual-cidr-length ].
 * *dlen: length of the ":" domain-spec part; *c4, *c6: lengths or -1.
 */
static enum spf_guard
spf_dual_cidr_arg(const char *s, size_t n, size_t *dlen, int *c4, int *c6)
{
	size_t k;

	*c4 = *c6 = -1;
	if ((k = spf_cidr_suffix(s, n)) > 0 && k < n && s[n - k - 1] == '/') {
		/* "//N": the IPv6 length */
		if (!spf_cidr_ok(s + n - k + 1, k - 1, 128))
			return GUARD_SYNTAX;
		*c6 = atoi(s + n - k + 1);
		n -= k + 1;
		k = spf_cidr_suffix(s, n);
	}
	if (k > 0) {
		if (!spf_cidr_ok(s + n - k + 1, k - 1, 32))
			return GUARD_SYNTAX;
		*c4 = atoi(s + n - k + 1);
		n -= k;
	}
	*dlen = n;
	if (n == 0)
		return GUARD_OK;
	if (s[0] != ':')
		return GUARD_SYNTAX;
	return spf_domain_spec(s + 1, n - 1);
}

/* ip4 / ip6 argument: ":" network [ "/" length ]; *cidr: length or -1 */
static enum spf_guard
spf_ip_arg(const char *s, size_t n, int af, int *cidr)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];
	size_t k = spf_cidr_suffix(s, n);

	*cidr = -1;
	if (k > 0) {
		if (!spf_cidr_ok(s + n - k + 1, k - 1, af == AF_INET ? 32 : 128))
			return GUARD_SYNTAX;
		*cidr = atoi(s + n - k + 1);
	}
	n -= k;
	if (n < 2 || s[0] != ':' || n - 1 >= sizeof(buf))
		return GUARD_SYNTAX;
	memcpy(buf, s + 1, n - 1);
	buf[n - 1] = '\0';
	return inet_pton(af, buf, addr) == 1 ? GUARD_OK : GUARD_SYNTAX;
}

static bool
spf_word_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

struct spf_rewrite {
	char	*out;		/* directives so far */
	size_t	len, cap;
	int	af;		/* client address family */
	const char *redirect, *exp;
	size_t	redirect_len, exp_len;
};

/* Append n bytes to the rewritten record. */
static void
spf_rw_cat(struct spf_rewrite *rw, const char *s, size_t n)
{
	if (rw->len + n + 1 > rw->cap) {
		rw->cap = (rw->len + n + 1) * 2;
		rw->out = am_xreallocarray(rw->out, rw->cap, 1);
	}
	memcpy(rw->out + rw->len, s, n);
	rw->len += n;
	rw->out[rw->len] = '\0';
}

static void
spf_rw_str(struct spf_rewrite *rw, const char *s)
{
	spf_rw_cat(rw, s, strlen(s));
}

/* Start a new term with its qualifier. */
static void
spf_rw_term(struct spf_rewrite *rw, const char *qual)
{
	spf_rw_str(rw, " ");
	spf_rw_str(rw, qual);
}

/*
 * libspf2 refuses a CIDR length of 0 (RFC 7208 allows it).  Equivalent
 * terms: ip4:X/0 is ip4:0.0.0.0/1 plus ip4:128.0.0.0/1 (ip6 alike); a
 * length for the other address family than the client's is irrelevant
 * and dropped; a/0 for an IPv4 client is exists: (any A record matches).
 * Only mx/0 (IPv4) and a//0, mx//0 (IPv6) have no equivalent: handed on,
 * they stay permerror (see tests/spf/DEVIATIONS.md).
 */
static void
spf_rw_ip(struct spf_rewrite *rw, const char *qual, const char *s, size_t n, bool v4, int cidr)
{
	spf_rw_term(rw, qual);
	if (cidr != 0) {
		spf_rw_cat(rw, s, n);
		return;
	}
	spf_rw_str(rw, v4 ? "ip4:0.0.0.0/1" : "ip6:::/1");
	spf_rw_term(rw, qual);
	spf_rw_str(rw, v4 ? "ip4:128.0.0.0/1" : "ip6:8000::/1");
}

/* name: "a" or "mx" (k chars); dom: ":" domain-spec or empty. */
static void
spf_rw_a_mx(struct spf_rewrite *rw, const char *qual, const char *name, size_t k,
    const char *dom, size_t dlen, int c4, int c6)
{
	char cidr[8];
	int c = rw->af == AF_INET ? c4 : c6;

	spf_rw_term(rw, qual);
	if (c == 0 && rw->af == AF_INET && k == 1) {
		spf_rw_str(rw, "exists");
		if (dlen > 0)
			spf_rw_cat(rw, dom, dlen);
		else
			spf_rw_str(rw, ":%{d}");
		return;
	}
	spf_rw_cat(rw, name, k);
	spf_rw_cat(rw, dom, dlen);
	if (c >= 0) {
		snprintf(cidr, sizeof(cidr), rw->af == AF_INET ? "/%d" : "//%d", c);
		spf_rw_str(rw, cidr);
	}
}

/* One directive: [ qualifier ] mechanism; appended to rw when valid. */
static enum spf_guard
spf_directive(struct spf_rewrite *rw, const char *s, size_t n)
{
	char qual[2] = "";
	enum spf_guard g;
	size_t k = 0, dlen;
	int c4, c6;

	if (n > 0 && strchr("+-?~", s[0]) != NULL) {
		qual[0] = s[0];
		s++;
		n--;
	}
	while (k < n && isalnum((unsigned char)s[k]))
		k++;
	if (spf_word_eq(s, k, "all"))
		g = k == n ? GUARD_OK : GUARD_SYNTAX;
	else if (spf_word_eq(s, k, "include") || spf_word_eq(s, k, "exists")) {
		g = k < n && s[k] == ':' ? spf_domain_spec(s + k + 1, n - k - 1) : GUARD_SYNTAX;
		if (g == GUARD_OK && k == 7)	/* include */
			g = spf_target_growth(s + k + 1, n - k - 1);
	}
	else if (spf_word_eq(s, k, "a") || spf_word_eq(s, k, "mx")) {
		if ((g = spf_dual_cidr_arg(s + k, n - k, &dlen, &c4, &c6)) == GUARD_OK)
			spf_rw_a_mx(rw, qual, s, k, s + k, dlen, c4, c6);
		return g;
	} else if (spf_word_eq(s, k, "ptr"))
		g = k == n ? GUARD_OK :
		    s[k] == ':' ? spf_domain_spec(s + k + 1, n - k - 1) : GUARD_SYNTAX;
	else if (spf_word_eq(s, k, "ip4") || spf_word_eq(s, k, "ip6")) {
		bool v4 = s[2] == '4';

		if ((g = spf_ip_arg(s + k, n - k, v4 ? AF_INET : AF_INET6, &c4)) == GUARD_OK)
			spf_rw_ip(rw, qual, s, n, v4, c4);
		return g;
	} else
		g = GUARD_SYNTAX;		/* unknown mechanism */
	if (g == GUARD_OK) {
		spf_rw_term(rw, qual);
		spf_rw_cat(rw, s, n);
	}
	return g;
}

/* Length of a modifier name followed by '=' at s, or 0. */
static size_t
spf_modifier_name(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
		i++;
	return i < n && s[i] == '=' ? i : 0;
}

/* One term: a modifier or a directive. */
static enum spf_guard
spf_term(struct spf_rewrite *rw, const char *s, size_t n)
{
	size_t k = spf_modifier_name(s, n);
	enum spf_guard g;

	if (k == 0) {
		return spf_directive(rw, s, n);
	}
	if (spf_word_eq(s, k, "redirect") || spf_word_eq(s, k, "exp")) {
		bool redirect = k == 8;

		if ((redirect ? rw->redirect : rw->exp) != NULL)
			return GUARD_SYNTAX;	/* RFC 7208 6: at most once */
		if ((g = spf_domain_spec(s + k + 1, n - k - 1)) != GUARD_OK)
			return g;
		if (redirect && (g = spf_target_growth(s + k + 1, n - k - 1)) != GUARD_OK)
			return g;
		if (redirect) {
			rw->redirect = s;
			rw->redirect_len = n;
		} else {
			rw->exp = s;
			rw->exp_len = n;
		}
		return GUARD_OK;
	}
	/* unknown-modifier = name "=" macro-string: checked, then dropped */
	return spf_guard_macro(s + k + 1, n - k - 1, true, false, NULL);
}

/*
 * Validate a "v=spf1" record of len bytes and rewrite it for libspf2
 * (af: the client's address family, for CIDR lengths of 0).
 * Returns a malloc'ed record, or NULL with *why set.
 */
static char *
spf_record_rewrite(const char *t, size_t len, int af, enum spf_guard *why)
{
	struct spf_rewrite rw;
	enum spf_guard g;
	size_t i, n;

	*why = GUARD_SYNTAX;
	if (strlen(t) != len)
		return NULL;		/* NUL inside the record */
	memset(&rw, 0, sizeof(rw));
	rw.af = af;
	rw.cap = len + 16;
	rw.out = am_xmalloc(rw.cap);
	am_strlcpy(rw.out, "v=spf1", rw.cap);
	rw.len = 6;
	for (i = 6; i < len; i += n) {
		if (t[i] == ' ') {
			n = 1;
			continue;
		}
		n = strcspn(t + i, " ");
		if ((g = spf_term(&rw, t + i, n)) != GUARD_OK) {
			*why = g;
			free(rw.out);
			return NULL;
		}
	}
	if (rw.exp != NULL) {
		spf_rw_term(&rw, "");
		spf_rw_cat(&rw, rw.exp, rw.exp_len);
	}
	if (rw.redirect != NULL) {
		spf_rw_term(&rw, "");
		spf_rw_cat(&rw, rw.redirect, rw.redirect_len);
	}
	if (rw.len == 6)
		spf_rw_term(&rw, "");	/* "v=spf1 ": libspf2 wants the space */
	*why = GUARD_OK;
	return rw.out;
}

/* "v=spf1" followed by a space or the end (RFC 7208 4.5), any case. */
static bool
spf_is_record(const char *t)
{
	return strncasecmp(t, "v=spf1", 6) == 0 && (t[6] == ' ' || t[6] == '\0');
}

/*
 * Rewrite one TXT string of len bytes for libspf2 into a malloc'ed string:
 * an SPF record per spf_record_rewrite() (SPF_GUARD_RECORD when refused);
 * any other string can only be an exp= text: one that is unsafe or not a
 * valid explain-string becomes empty (RFC 7208 6.2: no explanation), and
 * spaces become "%_" because libspf2's macro parser otherwise turns each
 * space into '%'.
 */
static char *
spf_txt_filter(struct spf_call *call, const char *t, size_t len)
{
	enum spf_guard g;
	size_t i, o;
	char *out;

	if (spf_is_record(t)) {
		out = spf_record_rewrite(t, len, call->af, &g);
		/*
		 * The same string can be fetched as an exp= text, which libspf2
		 * compiles whole into one 511-byte area (CVE-2023-42118 again:
		 * "stack smashing" in SPF_record_compile_macro from
		 * SPF_request_get_exp, found by tests/fuzz/fuzz_spf), so it must
		 * be safe as that too.  Only records of ~480+ characters with a
		 * macro near their end are refused by this.
		 */
		if (out != NULL && spf_guard_macro(out, strlen(out), true, true, NULL) == GUARD_UNSAFE) {
			free(out);
			out = NULL;
			g = GUARD_UNSAFE;
		}
		if (out != NULL)
			return out;
		if (g == GUARD_UNSAFE)
			call->guard_unsafe = true;
		else if (g == GUARD_GROWTH)
			call->guard_growth = true;
		else
			call->guard_syntax = true;
		return am_xstrdup(SPF_GUARD_RECORD);
	}
	if (strlen(t) != len || spf_guard_macro(t, len, true, true, NULL) != GUARD_OK)
		return am_xstrdup("");
	out = am_xmalloc(2 * len + 1);
	for (i = o = 0; i < len; i++) {
		if (t[i] == ' ') {
			out[o++] = '%';
			out[o++] = '_';
		} else
			out[o++] = t[i];
	}
	out[o] = '\0';
	return out;
}

/* ---- the DNS layer -------------------------------------------------------- */

static SPF_dns_rr_t *
spf_rr_status(SPF_dns_server_t *layer, const char *domain, ns_type type, SPF_dns_stat_t herrno)
{
	return SPF_dns_rr_new_init(layer, domain, type, 0, herrno);
}

static int
spf_am_type(ns_type type)
{
	switch (type) {
	case ns_t_a:	return AM_RR_A;
	case ns_t_aaaa:	return AM_RR_AAAA;
	case ns_t_mx:	return AM_RR_MX;
	case ns_t_ptr:	return AM_RR_PTR;
	case ns_t_txt:	return AM_RR_TXT;
	default:	return 0;
	}
}

/* Store one rdata item as rr->rr[idx]; false on allocation failure. */
static bool
spf_rr_put(SPF_dns_rr_t *rr, int idx, const void *data, size_t len, bool text)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS)
		return false;
	memcpy(rr->rr[idx], data, len);
	if (text)
		((char *)rr->rr[idx])[len] = '\0';
	return true;
}

/* Convert an OK answer into libspf2's form. */
static SPF_dns_rr_t *
spf_rr_from_answer(SPF_dns_server_t *layer, struct spf_call *call, const char *domain,
    ns_type type, const struct am_dns_answer *a)
{
	SPF_dns_rr_t *rr;
	size_t i, max = a->count;
	int n = 0;
	char *t;
	bool ok;

	rr = SPF_dns_rr_new_init(layer, domain, type, (int)a->ttl, NETDB_SUCCESS);
	if (rr == NULL)
		return NULL;
	if (type == ns_t_ptr && max > SPF_RFC_PTR_NAMES)
		max = SPF_RFC_PTR_NAMES;	/* RFC: ignore the rest, not permerror */
	for (i = 0; i < max; i++) {
		const struct am_dns_rr *r = &a->rr[i];

		switch (type) {
		case ns_t_a:
			ok = r->len != 4 || spf_rr_put(rr, n, r->data, 4, false);
			if (r->len == 4 && ok)
				n++;
			break;
		case ns_t_aaaa:
			ok = r->len != 16 || spf_rr_put(rr, n, r->data, 16, false);
			if (r->len == 16 && ok)
				n++;
			break;
		case ns_t_txt:
			t = spf_txt_filter(call, (const char *)r->data, r->len);
			ok = spf_rr_put(rr, n, t, strlen(t), true);
			free(t);
			if (ok)
				n++;
			break;
		default:	/* MX, PTR: names as text, no trailing dot */
			ok = spf_rr_put(rr, n, r->data, strnlen((const char *)r->data, r->len), true);
			if (ok)
				n++;
			break;
		}
		if (!ok) {
			SPF_dns_rr_free(rr);
			return NULL;
		}
	}
	rr->num_rr = n;
	return rr;
}

/* Void-lookup accounting (RFC 7208 4.6.4) for terms' A/AAAA/MX/PTR queries. */
static void
spf_count_void(struct spf_call *call, ns_type type, const char *name, bool is_void)
{
	if (type == ns_t_txt)
		return;		/* record lookups: a missing one is none/permerror */
	if ((type == ns_t_a || type == ns_t_aaaa) && spf_is_subname(call, name))
		return;		/* an MX/PTR target, not a term */
	if (is_void && ++call->void_lookups > SPF_RFC_VOID_LIMIT)
		call->void_exceeded = true;
}

/*
 * RFC 7208 4.6.4: at most 10 terms that query DNS (include, a, mx, ptr,
 * exists, redirect) per check.  libspf2 counts them per record only (an
 * include starts from zero), so we count the lookups: every MX and PTR
 * query, every A/AAAA query except those for MX/PTR targets, and every
 * TXT answer holding an SPF record except the first (the checked
 * domain's own).  TXT answers without one are exp= texts (not terms) or
 * targets without a record (permerror anyway).  Returns false when this
 * lookup is one too many.
 */
static bool
spf_count_term(struct spf_call *call, ns_type type, const char *name)
{
	if (type == ns_t_txt)
		return true;		/* counted by spf_count_record() */
	if ((type == ns_t_a || type == ns_t_aaaa) && spf_is_subname(call, name))
		return true;
	if (++call->terms > SPF_RFC_DNS_TERMS)
		call->terms_exceeded = true;
	return !call->terms_exceeded;
}

static bool
spf_count_record(struct spf_call *call, const struct am_dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->count; i++)
		if (spf_is_record((const char *)a->rr[i].data))
			break;
	if (i == a->count)
		return true;
	if (!call->record_seen) {
		call->record_seen = true;
		return true;
	}
	if (++call->terms > SPF_RFC_DNS_TERMS)
		call->terms_exceeded = true;
	return !call->terms_exceeded;
}

static SPF_dns_rr_t *
spf_layer_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type, int should_cache)
{
	struct spf_call *call = layer->hook;
	struct am_dns_answer *a;
	SPF_dns_rr_t *rr;
	char name[AM_DOMAIN_MAX];
	int amtype;
	bool is_void;

	(void)should_cache;		/* the resolver caches */
	if (domain == NULL)
		domain = "";
	/* RFC 7208 3.1: type SPF (99) is not queried; answering "no data"
	 * makes libspf2 go on with TXT at once. */
	if (call == NULL || (amtype = spf_am_type(type)) == 0)
		return spf_rr_status(layer, domain, type, call == NULL ? TRY_AGAIN : NO_DATA);
	if (!spf_query_name(domain, name, sizeof(name))) {
		spf_count_void(call, type, domain, true);
		return spf_rr_status(layer, domain, type, HOST_NOT_FOUND);
	}
	/* Past a limit the result is already decided (permerror, or
	 * temperror for the budget): stop querying. */
	if (call->void_exceeded || call->terms_exceeded || !spf_count_term(call, type, name))
		return spf_rr_status(layer, domain, type, TRY_AGAIN);
	if (spf_deadline_passed(&call->deadline)) {
		call->budget_exceeded = true;
		return spf_rr_status(layer, domain, type, TRY_AGAIN);
	}
	a = am_dns_lookup(call->res, name, amtype);
	if (a == NULL)
		return spf_rr_status(layer, domain, type, TRY_AGAIN);
	switch (a->status) {
	case AM_DNS_OK:
		if (type == ns_t_txt && !spf_count_record(call, a)) {
			rr = spf_rr_status(layer, domain, type, TRY_AGAIN);
			break;
		}
		is_void = a->count == 0;
		spf_count_void(call, type, name, is_void);
		if (type == ns_t_mx || type == ns_t_ptr)
			spf_remember_subnames(call, a);
		rr = is_void ? spf_rr_status(layer, domain, type, NO_DATA) :
		    spf_rr_from_answer(layer, call, domain, type, a);
		break;
	case AM_DNS_NXDOMAIN:
		spf_count_void(call, type, name, true);
		rr = spf_rr_status(layer, domain, type, HOST_NOT_FOUND);
		break;
	case AM_DNS_NODATA:
		spf_count_void(call, type, name, true);
		rr = spf_rr_status(layer, domain, type, NO_DATA);
		break;
	default:		/* SERVFAIL, TIMEOUT */
		rr = spf_rr_status(layer, domain, type, TRY_AGAIN);
		break;
	}
	am_dns_answer_free(a);
	return rr;
}

static void
spf_layer_destroy(SPF_dns_server_t *layer)
{
	free(layer);
}

/* Per-check layers live on the stack and are never destroyed by libspf2. */
static void
spf_layer_init(SPF_dns_server_t *layer, struct spf_call *call)
{
	memset(layer, 0, sizeof(*layer));
	layer->destroy = spf_layer_destroy;
	layer->lookup = spf_layer_lookup;
	layer->get_spf = NULL;
	layer->get_exp = NULL;
	layer->add_cache = NULL;
	layer->layer_below = NULL;
	layer->name = "alignmilter";
	layer->debug = 0;
	layer->hook = call;
}

/* ---- checker lifetime ----------------------------------------------------- */

static void
spf_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		am_strlcpy(err, msg, errlen);
}

/*
 * SPF_server_new_dns() leaves the layer to its creator (destroy_resolver
 * is 0): free it ourselves unless libspf2 did.
 */
static void
spf_template_free(SPF_server_t *srv)
{
	SPF_dns_server_t *layer = srv->resolver;
	bool owned = srv->destroy_resolver != 0;

	SPF_server_free(srv);
	if (!owned)
		free(layer);
}

/* Build the template server; separate so that setjmp() covers only it. */
static SPF_server_t *
spf_template_new(void)
{
	SPF_dns_server_t *layer;
	SPF_server_t *srv;
	SPF_response_t *resp = NULL;
	SPF_errcode_t e;

	layer = am_xcalloc(1, sizeof(*layer));
	spf_layer_init(layer, NULL);
	if ((srv = SPF_server_new_dns(layer, 0)) == NULL) {
		free(layer);
		return NULL;
	}
	SPF_server_set_max_dns_mech(srv, SPF_RFC_DNS_TERMS);
	SPF_server_set_max_dns_ptr(srv, SPF_RFC_PTR_NAMES);
	SPF_server_set_max_dns_mx(srv, 10);
	/* No default explanation: only a record's exp= text is reported. */
	e = SPF_server_set_explanation(srv, "", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	if (e != SPF_E_SUCCESS) {
		spf_template_free(srv);
		return NULL;
	}
	return srv;
}

am_spf *
am_spf_new(am_resolver *res, char *err, size_t errlen)
{
	jmp_buf jb;
	am_spf *spf;
	SPF_server_t *volatile srv = NULL;

	if (res == NULL) {
		spf_err(err, errlen, "spf: no resolver");
		return NULL;
	}
	pthread_once(&spf_once, spf_install_handlers);
	if (setjmp(jb) != 0) {
		spf_unwind = NULL;
		spf_err(err, errlen, "spf: libspf2 failed to initialise");
		return NULL;
	}
	spf_unwind = &jb;
	srv = spf_template_new();
	spf_unwind = NULL;
	if (srv == NULL) {
		spf_err(err, errlen, "spf: cannot create the libspf2 server");
		return NULL;
	}
	spf = am_xcalloc(1, sizeof(*spf));
	spf->res = res;
	spf->tmpl = srv;
	return spf;
}

void
am_spf_free(am_spf *spf)
{
	if (spf == NULL)
		return;
	if (spf->tmpl != NULL)
		spf_template_free(spf->tmpl);
	free(spf);
}

/* ---- one check -------------------------------------------------------------- */

static void
spf_reason(struct am_spf_verdict *out, const char *text)
{
	am_strlcpy(out->reason, text != NULL ? text : "", sizeof(out->reason));
}

static void
spf_reason2(struct am_spf_verdict *out, const char *prefix, const char *text)
{
	snprintf(out->reason, sizeof(out->reason), "%s%s", prefix, text != NULL ? text : "");
}

/* Printable ASCII only: the explanation is attacker-chosen text. */
static void
spf_copy_explanation(struct am_spf_verdict *out, const char *exp)
{
	size_t i;

	if (exp == NULL)
		return;
	am_strlcpy(out->explanation, exp, sizeof(out->explanation));
	for (i = 0; out->explanation[i] != '\0'; i++)
		if ((unsigned char)out->explanation[i] < 0x20 ||
		    (unsigned char)out->explanation[i] > 0x7e)
			out->explanation[i] = '?';
}

/*
 * Like SPF_request_query_mailfrom() minus its "localhost is always
 * allowed" shortcut (RFC 7208 has no such exemption): fetch the record of
 * the request's domain and interpret it.
 */
static SPF_errcode_t
spf_query(SPF_request_t *req, SPF_response_t *resp, bool *interpreted)
{
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	*interpreted = false;
	req->use_helo = 0;
	req->cur_dom = req->env_from_dp;
	if (req->cur_dom == NULL)
		return SPF_E_NOT_CONFIG;
	err = SPF_server_get_record(req->spf_server, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec != NULL)
			SPF_record_free(rec);
		return err;
	}
	resp->spf_record_exp = rec;
	err = SPF_record_interpret(rec, req, resp, 0);
	*interpreted = true;
	SPF_record_free(rec);
	resp->spf_record_exp = NULL;	/* may point at a freed redirect target */
	return err;
}

/* A compile error other than "not an SPF record" among the messages. */
static SPF_errcode_t
spf_compile_error(SPF_response_t *resp)
{
	SPF_error_t *e;
	int i, n = SPF_response_messages(resp);

	for (i = 0; i < n; i++) {
		e = SPF_response_message(resp, i);
		if (e != NULL && SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF)
			return SPF_error_code(e);
	}
	return SPF_E_SUCCESS;
}

/* The record could not be fetched or compiled. */
static void
spf_map_record_error(SPF_response_t *resp, SPF_errcode_t err, struct am_spf_verdict *out)
{
	SPF_errcode_t ce;

	if (err == SPF_E_DNS_ERROR) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "DNS error fetching the SPF record");
	} else if (err == SPF_E_MULTIPLE_RECORDS || resp->result == SPF_RESULT_PERMERROR) {
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, "multiple SPF records");
	} else if (err == SPF_E_NOT_SPF && (ce = spf_compile_error(resp)) != SPF_E_SUCCESS) {
		out->result = AM_SPF_PERMERROR;
		spf_reason2(out, "invalid SPF record: ", SPF_strerror(ce));
	} else if (err == SPF_E_NOT_SPF) {
		out->result = AM_SPF_NONE;
		spf_reason(out, "no SPF record");
	} else if (err == SPF_E_NO_MEMORY) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
	} else {
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, SPF_strerror(err));
	}
}

static void
spf_map_result(SPF_response_t *resp, SPF_errcode_t err, struct am_spf_verdict *out)
{
	const char *how = resp->reason == SPF_REASON_DEFAULT ?
	    "no mechanism matched, default result" : "mechanism matched";

	switch (resp->result) {
	case SPF_RESULT_PASS:
		out->result = AM_SPF_PASS;
		spf_reason(out, how);
		break;
	case SPF_RESULT_FAIL:
		out->result = AM_SPF_FAIL;
		spf_reason(out, how);
		if (resp->explanation != NULL && resp->explanation[0] != '\0')
			spf_copy_explanation(out, resp->explanation);
		break;
	case SPF_RESULT_SOFTFAIL:
		out->result = AM_SPF_SOFTFAIL;
		spf_reason(out, how);
		break;
	case SPF_RESULT_NEUTRAL:
		out->result = AM_SPF_NEUTRAL;
		spf_reason(out, how);
		break;
	case SPF_RESULT_NONE:
		out->result = AM_SPF_NONE;
		spf_reason(out, "no SPF record");
		break;
	case SPF_RESULT_TEMPERROR:
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, SPF_strerror(resp->err != SPF_E_SUCCESS ? resp->err : err));
		break;
	default:		/* PERMERROR, INVALID */
		out->result = AM_SPF_PERMERROR;
		spf_reason(out, SPF_strerror(resp->err != SPF_E_SUCCESS ? resp->err : err));
		break;
	}
}

/* Our limits override what libspf2 concluded after them. */
static void
spf_apply_limits(const struct spf_call *call, struct am_spf_verdict *out)
{
	if (call->guard_unsafe && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record refused: macro too long for libspf2 (CVE-2023-42118)");
	} else if (call->guard_growth && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record refused: include/redirect target repeats %{d} (unbounded in libspf2)");
	} else if (call->guard_syntax && out->result == AM_SPF_PERMERROR) {
		spf_reason(out, "SPF record syntax error (RFC 7208)");
	}
	if (call->terms_exceeded) {
		out->result = AM_SPF_PERMERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "more than 10 DNS-querying terms (RFC 7208 4.6.4)");
	} else if (call->void_exceeded) {
		out->result = AM_SPF_PERMERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "more than 2 void DNS lookups (RFC 7208 4.6.4)");
	} else if (call->budget_exceeded && out->result == AM_SPF_TEMPERROR) {
		spf_reason(out, "SPF check ran out of time");
	}
}

/* Fill the request; false (reason set) when libspf2 refused an input. */
static bool
spf_request_fill(SPF_request_t *req, int af, const char *ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	SPF_errcode_t e;

	e = af == AF_INET ? SPF_request_set_ipv4_str(req, ip) : SPF_request_set_ipv6_str(req, ip);
	if (e != SPF_E_SUCCESS) {
		spf_reason(out, "invalid client address");
		return false;
	}
	/* env-from first: set_helo_dom() fills an unset env-from itself. */
	if (!out->helo_identity && SPF_request_set_env_from(req, mail_from) != 0) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return false;
	}
	/* %{h} must expand to something: never leave helo_dom NULL. */
	if (SPF_request_set_helo_dom(req, helo != NULL && *helo != '\0' ? helo : "unknown") != SPF_E_SUCCESS ||
	    (out->helo_identity && SPF_request_set_env_from(req, "") != 0)) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return false;
	}
	return true;
}

/*
 * The libspf2 part of a check.  Everything it allocates is reachable
 * from call->req / call->resp, which the caller frees unless libspf2
 * unwound.
 */
static void
spf_run(am_spf *spf, struct spf_call *call, int af, const char *ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	SPF_request_t **reqp = &call->req;
	SPF_response_t **respp = &call->resp;
	SPF_dns_server_t layer;
	SPF_server_t srv;
	SPF_errcode_t err;
	bool interpreted;

	spf_layer_init(&layer, call);
	srv = *spf->tmpl;		/* shares read-only parts of the template */
	srv.resolver = &layer;
	srv.destroy_resolver = 0;
	if ((*reqp = SPF_request_new(&srv)) == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return;
	}
	if (!spf_request_fill(*reqp, af, ip, helo, mail_from, out))
		return;
	if ((*respp = SPF_response_new(*reqp)) == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "out of memory");
		return;
	}
	err = spf_query(*reqp, *respp, &interpreted);
	if (interpreted)
		spf_map_result(*respp, err, out);
	else
		spf_map_record_error(*respp, err, out);
	spf_apply_limits(call, out);
}

static int
spf_parse_ip(const char *ip, char *buf, size_t buflen)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (ip == NULL || *ip == '\0')
		return AF_UNSPEC;
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		ip += 5;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		am_strlcpy(buf, ip, buflen);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return AF_UNSPEC;
	/* An IPv4-mapped IPv6 client is checked as the IPv4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		if (inet_ntop(AF_INET, &a4, buf, (socklen_t)buflen) == NULL)
			return AF_UNSPEC;
		return AF_INET;
	}
	am_strlcpy(buf, ip, buflen);
	return AF_INET6;
}

void
am_spf_check(am_spf *spf, const char *client_ip, const char *helo,
    const char *mail_from, struct am_spf_verdict *out)
{
	struct spf_call call;
	jmp_buf jb;
	char ip[AM_IP_MAX];
	const char *at;
	int af;

	memset(out, 0, sizeof(*out));
	out->result = AM_SPF_NONE;
	out->helo_identity = mail_from == NULL || *mail_from == '\0';
	if (out->helo_identity)
		am_strlcpy(out->domain, helo != NULL ? helo : "", sizeof(out->domain));
	else {
		at = strrchr(mail_from, '@');
		am_strlcpy(out->domain, at != NULL ? at + 1 : mail_from, sizeof(out->domain));
	}
	am_domain_normalize(out->domain);
	if (spf == NULL) {
		out->result = AM_SPF_TEMPERROR;
		spf_reason(out, "SPF checker not initialised");
		return;
	}
	if ((af = spf_parse_ip(client_ip, ip, sizeof(ip))) == AF_UNSPEC) {
		spf_reason(out, "invalid client address");
		return;
	}
	/* RFC 7208 4.3: a malformed or single-label domain is "none". */
	if (!spf_domain_ok(out->domain, true)) {
		spf_reason(out, out->domain[0] == '\0' ? "no domain to check" :
		    "malformed domain");
		return;
	}

	memset(&call, 0, sizeof(call));
	call.res = spf->res;
	call.af = af;
	spf_deadline_set(&call.deadline, am_resolver_timeout_ms(spf->res) * SPF_BUDGET_LOOKUPS);

	if (setjmp(jb) != 0) {
		/* libspf2 called its error handler: its objects are in an
		 * unknown state, leak them rather than touch them. */
		spf_unwind = NULL;
		out->result = AM_SPF_TEMPERROR;
		out->explanation[0] = '\0';
		spf_reason(out, "libspf2 internal error");
		return;
	}
	spf_unwind = &jb;
	spf_run(spf, &call, af, ip, helo, mail_from, out);
	spf_unwind = NULL;
	if (call.resp != NULL)
		SPF_response_free(call.resp);
	if (call.req != NULL)
		SPF_request_free(call.req);
}

/* ---- record inspection (alignmilter-check) ---------------------------------- */

bool
am_spf_is_record(const char *txt)
{
	return txt != NULL && spf_is_record(txt);
}

bool
am_spf_record_check(const char *record, char *why, size_t whylen)
{
	struct spf_rewrite rw;
	enum spf_guard g = GUARD_OK;
	size_t i, n = 0, len;

	if (whylen > 0)
		why[0] = '\0';
	if (record == NULL || !spf_is_record(record)) {
		snprintf(why, whylen, "not an SPF record (must start with \"v=spf1\")");
		return false;
	}
	/* The same term walk as spf_record_rewrite(), keeping the bad term. */
	len = strlen(record);
	memset(&rw, 0, sizeof(rw));
	rw.af = AF_INET;
	for (i = 6; i < len; i += n) {
		if (record[i] == ' ') {
			n = 1;
			continue;
		}
		n = strcspn(record + i, " ");
		if ((g = spf_term(&rw, record + i, n)) != GUARD_OK)
			break;
	}
	free(rw.out);
	if (g == GUARD_OK)
		return true;
	snprintf(why, whylen, "%s term \"%.*s\" (RFC 7208 section 12)",
	    g == GUARD_SYNTAX ? "invalid" : "unsafe macro in", (int)(n > 80 ? 80 : n), record + i);
	return false;
}

/* The DNS-querying mechanisms and modifiers (RFC 7208 4.6.4). */
enum spf_cterm { CT_NONE, CT_LOOKUP, CT_INCLUDE, CT_REDIRECT, CT_ALL };

/* Classify one term; target and tlen: the domain-spec of include or redirect. */
static enum spf_cterm
spf_classify(const char *s, size_t n, const char **target, size_t *tlen)
{
	size_t k = spf_modifier_name(s, n);

	*target = NULL;
	*tlen = 0;
	if (k > 0) {
		if (!spf_word_eq(s, k, "redirect"))
			return CT_NONE;		/* exp= and unknown modifiers */
		*target = s + k + 1;
		*tlen = n - k - 1;
		return CT_REDIRECT;
	}
	if (n > 0 && strchr("+-?~", s[0]) != NULL) {
		s++;
		n--;
	}
	for (k = 0; k < n && isalnum((unsigned char)s[k]); k++)
		;
	if (spf_word_eq(s, k, "include") && k < n) {
		*target = s + k + 1;
		*tlen = n - k - 1;
		return CT_INCLUDE;
	}
	if (spf_word_eq(s, k, "all"))
		return CT_ALL;
	if (spf_word_eq(s, k, "a") || spf_word_eq(s, k, "mx") || spf_word_eq(s, k, "ptr") ||
	    spf_word_eq(s, k, "exists"))
		return CT_LOOKUP;
	return CT_NONE;
}

static void spf_count_record_terms(am_resolver *, const char *, struct am_spf_lookups *, unsigned);

static void
spf_count_problem(struct am_spf_lookups *out, const char *a, const char *b, size_t blen)
{
	if (out->problem[0] == '\0')
		snprintf(out->problem, sizeof(out->problem), "%s%.*s", a, (int)blen, b);
}

/* Fetch the SPF record of target (tlen chars) and count its terms. */
static void
spf_count_follow(am_resolver *res, const char *target, size_t tlen, struct am_spf_lookups *out,
    unsigned depth)
{
	char name[AM_DOMAIN_MAX];
	struct am_dns_answer *a;
	const char *rec = NULL;
	size_t i, nrec = 0;

	if (memchr(target, '%', tlen) != NULL) {
		out->macros = true;	/* depends on the message: cannot follow */
		return;
	}
	if (tlen >= sizeof(name) || depth >= 2 * SPF_RFC_DNS_TERMS) {
		spf_count_problem(out, "cannot follow ", target, tlen);
		return;
	}
	memcpy(name, target, tlen);
	name[tlen] = '\0';
	am_domain_normalize(name);
	if ((a = am_dns_lookup(res, name, AM_RR_TXT)) == NULL) {
		out->dns_error = true;
		return;
	}
	if (a->status == AM_DNS_SERVFAIL || a->status == AM_DNS_TIMEOUT)
		out->dns_error = true;
	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++)
		if (spf_is_record((const char *)a->rr[i].data)) {
			rec = (const char *)a->rr[i].data;
			nrec++;
		}
	if (!out->dns_error && nrec == 0)
		spf_count_problem(out, "no SPF record at ", name, strlen(name));
	else if (nrec > 1)
		spf_count_problem(out, "more than one SPF record at ", name, strlen(name));
	else if (rec != NULL) {
		char why[AM_REASON_MAX];

		if (!am_spf_record_check(rec, why, sizeof(why)))
			spf_count_problem(out, "the SPF record of ", name, strlen(name));
		else
			spf_count_record_terms(res, rec, out, depth + 1);
	}
	am_dns_answer_free(a);
}

static void
spf_count_record_terms(am_resolver *res, const char *rec, struct am_spf_lookups *out,
    unsigned depth)
{
	const char *redirect = NULL, *target;
	size_t i, n = 0, len = strlen(rec), rlen = 0, tlen;
	bool has_all = false;

	for (i = 6; i < len && out->lookups <= SPF_RFC_DNS_TERMS; i += n) {
		if (rec[i] == ' ') {
			n = 1;
			continue;
		}
		n = strcspn(rec + i, " ");
		switch (spf_classify(rec + i, n, &target, &tlen)) {
		case CT_LOOKUP:
			out->lookups++;
			break;
		case CT_INCLUDE:
			out->lookups++;
			spf_count_follow(res, target, tlen, out, depth);
			break;
		case CT_REDIRECT:
			redirect = target;
			rlen = tlen;
			break;
		case CT_ALL:
			has_all = true;
			break;
		case CT_NONE:
			break;
		}
	}
	/* RFC 7208 6.1: redirect= counts, after the mechanisms, unless "all" is there. */
	if (redirect != NULL && !has_all && out->lookups <= SPF_RFC_DNS_TERMS) {
		out->lookups++;
		spf_count_follow(res, redirect, rlen, out, depth);
	}
}

void
am_spf_count_lookups(am_resolver *res, const char *record, struct am_spf_lookups *out)
{
	memset(out, 0, sizeof(*out));
	if (record == NULL || !spf_is_record(record)) {
		spf_count_problem(out, "not an SPF record", "", 0);
		return;
	}
	spf_count_record_terms(res, record, out, 0);
}
