/*
 * spf-record.c - the SPF record filter: what libspf2 gets to see of a TXT
 * record, checked against the RFC 7208 section 12 grammar.
 *
 * Owns: spf_record_filter(), which every TXT string passes through before
 * libspf2 sees it (spf-dns.c calls it), the rewrite of a valid record for
 * libspf2, and am_spf_record_check(), the same grammar for
 * alignmilter-check.  Macro-strings, domain-specs and the CVE-2023-42118
 * bound are spf-macro.c's.
 *
 * RFC 7208 syntax.  libspf2 is lenient where the RFC requires permerror
 * (non-ASCII and control characters, unknown mechanisms such as
 * "redirect:", bad domain-specs like "a:foo-bar" or "a:1.2.3.4", "%"
 * followed by other characters, CIDR lengths with leading zeros, exp=
 * or redirect= twice, macro letters c/r/t outside exp texts) and strict
 * where it must not be (unknown modifiers with "." in their name).  So the
 * filter parses each record per RFC 7208 section 12: an invalid or unsafe
 * record is answered as SPF_GUARD_RECORD; a valid one is handed on with
 * unknown modifiers dropped (RFC 6: they are ignored) and exp= and
 * redirect= moved to the end, because libspf2 evaluates redirect= where
 * it stands instead of after all mechanisms (RFC 6.1).
 *
 * Errors: a refused record becomes SPF_GUARD_RECORD (libspf2: permerror)
 * and sets the matching guard_* flag of the check, a refused exp text
 * becomes "" (no explanation); nothing is logged.  Out of memory aborts
 * (am_xmalloc).  Threads: any; spf_record_filter() writes only to its
 * own check's struct spf_call.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/spf-int.h"

/* What replaces an SPF record the filter refuses: still one "v=spf1"
 * record (so "multiple records" logic is unchanged) that libspf2 rejects
 * as an unknown mechanism, i.e. permerror. */
#define SPF_GUARD_RECORD	"v=spf1 x-alignmilter-rejected-macro:"

/* "/" ("0" / %x31-39 0*N DIGIT), value <= max; n chars after the '/'. */
static bool
spf_record_cidr_ok(const char *s, size_t n, unsigned max)
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
spf_record_cidr_suffix(const char *s, size_t n)
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
spf_record_dual_cidr_arg(const char *s, size_t n, size_t *dlen, int *c4, int *c6)
{
	size_t k;

	*c4 = *c6 = -1;
	if ((k = spf_record_cidr_suffix(s, n)) > 0 && k < n && s[n - k - 1] == '/') {
		/* "//N": the IPv6 length */
		if (!spf_record_cidr_ok(s + n - k + 1, k - 1, 128))
			return GUARD_SYNTAX;
		*c6 = atoi(s + n - k + 1);
		n -= k + 1;
		k = spf_record_cidr_suffix(s, n);
	}
	if (k > 0) {
		if (!spf_record_cidr_ok(s + n - k + 1, k - 1, 32))
			return GUARD_SYNTAX;
		*c4 = atoi(s + n - k + 1);
		n -= k;
	}
	*dlen = n;
	if (n == 0)
		return GUARD_OK;
	if (s[0] != ':')
		return GUARD_SYNTAX;
	return spf_macro_domain_spec(s + 1, n - 1);
}

/* ip4 / ip6 argument: ":" network [ "/" length ]; *cidr: length or -1 */
static enum spf_guard
spf_record_ip_arg(const char *s, size_t n, int af, int *cidr)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];
	size_t k = spf_record_cidr_suffix(s, n);

	*cidr = -1;
	if (k > 0) {
		if (!spf_record_cidr_ok(s + n - k + 1, k - 1, af == AF_INET ? 32 : 128))
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

bool
spf_record_word_eq(const char *s, size_t n, const char *word)
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
spf_record_rw_cat(struct spf_rewrite *rw, const char *s, size_t n)
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
spf_record_rw_str(struct spf_rewrite *rw, const char *s)
{
	spf_record_rw_cat(rw, s, strlen(s));
}

/* Start a new term with its qualifier. */
static void
spf_record_rw_term(struct spf_rewrite *rw, const char *qual)
{
	spf_record_rw_str(rw, " ");
	spf_record_rw_str(rw, qual);
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
spf_record_rw_ip(struct spf_rewrite *rw, const char *qual, const char *s, size_t n, bool v4,
    int cidr)
{
	spf_record_rw_term(rw, qual);
	if (cidr != 0) {
		spf_record_rw_cat(rw, s, n);
		return;
	}
	spf_record_rw_str(rw, v4 ? "ip4:0.0.0.0/1" : "ip6:::/1");
	spf_record_rw_term(rw, qual);
	spf_record_rw_str(rw, v4 ? "ip4:128.0.0.0/1" : "ip6:8000::/1");
}

/* name: "a" or "mx" (k chars); dom: ":" domain-spec or empty. */
static void
spf_record_rw_a_mx(struct spf_rewrite *rw, const char *qual, const char *name, size_t k,
    const char *dom, size_t dlen, int c4, int c6)
{
	char cidr[8];
	int c = rw->af == AF_INET ? c4 : c6;

	spf_record_rw_term(rw, qual);
	if (c == 0 && rw->af == AF_INET && k == 1) {
		spf_record_rw_str(rw, "exists");
		if (dlen > 0)
			spf_record_rw_cat(rw, dom, dlen);
		else
			spf_record_rw_str(rw, ":%{d}");
		return;
	}
	spf_record_rw_cat(rw, name, k);
	spf_record_rw_cat(rw, dom, dlen);
	if (c >= 0) {
		snprintf(cidr, sizeof(cidr), rw->af == AF_INET ? "/%d" : "//%d", c);
		spf_record_rw_str(rw, cidr);
	}
}

/* One directive: [ qualifier ] mechanism; appended to rw when valid. */
static enum spf_guard
spf_record_directive(struct spf_rewrite *rw, const char *s, size_t n)
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
	if (spf_record_word_eq(s, k, "all"))
		g = k == n ? GUARD_OK : GUARD_SYNTAX;
	else if (spf_record_word_eq(s, k, "include") || spf_record_word_eq(s, k, "exists")) {
		g = k < n && s[k] == ':' ? spf_macro_domain_spec(s + k + 1, n - k - 1) : GUARD_SYNTAX;
		if (g == GUARD_OK && k == 7)	/* include */
			g = spf_macro_target_growth(s + k + 1, n - k - 1);
	}
	else if (spf_record_word_eq(s, k, "a") || spf_record_word_eq(s, k, "mx")) {
		if ((g = spf_record_dual_cidr_arg(s + k, n - k, &dlen, &c4, &c6)) == GUARD_OK)
			spf_record_rw_a_mx(rw, qual, s, k, s + k, dlen, c4, c6);
		return g;
	} else if (spf_record_word_eq(s, k, "ptr"))
		g = k == n ? GUARD_OK :
		    s[k] == ':' ? spf_macro_domain_spec(s + k + 1, n - k - 1) : GUARD_SYNTAX;
	else if (spf_record_word_eq(s, k, "ip4") || spf_record_word_eq(s, k, "ip6")) {
		bool v4 = s[2] == '4';

		if ((g = spf_record_ip_arg(s + k, n - k, v4 ? AF_INET : AF_INET6, &c4)) == GUARD_OK)
			spf_record_rw_ip(rw, qual, s, n, v4, c4);
		return g;
	} else
		g = GUARD_SYNTAX;		/* unknown mechanism */
	if (g == GUARD_OK) {
		spf_record_rw_term(rw, qual);
		spf_record_rw_cat(rw, s, n);
	}
	return g;
}

/* Length of a modifier name followed by '=' at s, or 0. */
size_t
spf_record_modifier_name(const char *s, size_t n)
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
spf_record_term(struct spf_rewrite *rw, const char *s, size_t n)
{
	size_t k = spf_record_modifier_name(s, n);
	enum spf_guard g;

	if (k == 0) {
		return spf_record_directive(rw, s, n);
	}
	if (spf_record_word_eq(s, k, "redirect") || spf_record_word_eq(s, k, "exp")) {
		bool redirect = k == 8;

		if ((redirect ? rw->redirect : rw->exp) != NULL)
			return GUARD_SYNTAX;	/* RFC 7208 6: at most once */
		if ((g = spf_macro_domain_spec(s + k + 1, n - k - 1)) != GUARD_OK)
			return g;
		if (redirect && (g = spf_macro_target_growth(s + k + 1, n - k - 1)) != GUARD_OK)
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
	return spf_macro_check(s + k + 1, n - k - 1, true, false, NULL);
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
		if ((g = spf_record_term(&rw, t + i, n)) != GUARD_OK) {
			*why = g;
			free(rw.out);
			return NULL;
		}
	}
	if (rw.exp != NULL) {
		spf_record_rw_term(&rw, "");
		spf_record_rw_cat(&rw, rw.exp, rw.exp_len);
	}
	if (rw.redirect != NULL) {
		spf_record_rw_term(&rw, "");
		spf_record_rw_cat(&rw, rw.redirect, rw.redirect_len);
	}
	if (rw.len == 6)
		spf_record_rw_term(&rw, "");	/* "v=spf1 ": libspf2 wants the space */
	*why = GUARD_OK;
	return rw.out;
}

/* "v=spf1" followed by a space or the end (RFC 7208 4.5), any case. */
bool
spf_record_is_spf(const char *t)
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
char *
spf_record_filter(struct spf_call *call, const char *t, size_t len)
{
	enum spf_guard g;
	size_t i, o;
	char *out;

	if (spf_record_is_spf(t)) {
		out = spf_record_rewrite(t, len, call->af, &g);
		/*
		 * The same string can be fetched as an exp= text, which libspf2
		 * compiles whole into one 511-byte area (CVE-2023-42118 again:
		 * "stack smashing" in SPF_record_compile_macro from
		 * SPF_request_get_exp, found by tests/fuzz/fuzz_spf), so it must
		 * be safe as that too.  Only records of ~480+ characters with a
		 * macro near their end are refused by this.
		 */
		if (out != NULL && spf_macro_check(out, strlen(out), true, true, NULL) == GUARD_UNSAFE) {
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
	if (strlen(t) != len || spf_macro_check(t, len, true, true, NULL) != GUARD_OK)
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

/* ---- the grammar check for alignmilter-check ----------------------------- */

bool
am_spf_is_record(const char *txt)
{
	return txt != NULL && spf_record_is_spf(txt);
}

bool
am_spf_record_check(const char *record, char *why, size_t whylen)
{
	struct spf_rewrite rw;
	enum spf_guard g = GUARD_OK;
	size_t i, n = 0, len;

	if (whylen > 0)
		why[0] = '\0';
	if (record == NULL || !spf_record_is_spf(record)) {
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
		if ((g = spf_record_term(&rw, record + i, n)) != GUARD_OK)
			break;
	}
	free(rw.out);
	if (g == GUARD_OK)
		return true;
	snprintf(why, whylen, "%s term \"%.*s\" (RFC 7208 section 12)",
	    g == GUARD_SYNTAX ? "invalid" : "unsafe macro in", (int)(n > 80 ? 80 : n), record + i);
	return false;
}
