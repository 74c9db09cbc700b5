/*
 * spf-macro.c - SPF macro-strings and domain-specs (RFC 7208 7.1, 12),
 * checked for what libspf2 would do with them.
 *
 * Owns: the macro-string and domain-spec grammar, the bound that keeps
 * libspf2 away from CVE-2023-42118, and the limit on include/redirect
 * targets that would multiply %{d}.  The rest of a record's grammar is
 * spf-record.c's.
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
 * comes within a margin of the area (spf-record.c answers such a record
 * as permerror, such an exp text as "": no explanation).  Real records
 * are nowhere near: only terms of ~200+ characters with macros reach the
 * bound.
 *
 * Errors: pure functions over (pointer, length); they return an enum
 * spf_guard and log nothing.  Threads: any (no state).
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* Verifiers. */
#include "auth/spf-int.h"

/* libspf2 1.2.10 compiles each term into a 511-byte area (SPF_MAX_MECH_LEN,
 * SPF_MAX_MOD_LEN); see spf_macro_check(). */
#define SPF_GUARD_AREA		511
#define SPF_GUARD_MARGIN	24

static size_t
spf_macro_align4(size_t n)
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
enum spf_guard
spf_macro_check(const char *s, size_t n, bool allow_crt, bool allow_space, bool *last_macro)
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
				used += spf_macro_align4(4 + lit);
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
spf_macro_toplabel_ok(const char *s, size_t n)
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
enum spf_guard
spf_macro_domain_spec(const char *s, size_t n)
{
	enum spf_guard g;
	bool last_macro = false;
	size_t end, dot;

	if (n == 0)
		return GUARD_SYNTAX;
	if ((g = spf_macro_check(s, n, false, false, &last_macro)) != GUARD_OK)
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
	return spf_macro_toplabel_ok(s + dot, end - dot) ? GUARD_OK : GUARD_SYNTAX;
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
 * spf_macro_domain_spec() accepted the n chars at s.
 */
#define SPF_TARGET_MACROS	8

enum spf_guard
spf_macro_target_growth(const char *s, size_t n)
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
