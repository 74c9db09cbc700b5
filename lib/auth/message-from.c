/*
 * message-from.c - the domain of a From header field (see message.h).
 *
 * Owns: the RFC 5322 section 3.4 mailbox-list of one From value, with
 * the obsolete forms of section 4 (routes, CFWS between atoms, empty
 * list elements) and RFC 6532 UTF-8, a few tolerated real-world forms
 * (display name before a bare addr-spec, redundant angle brackets), the
 * plausibility of the domain as a DNS name, and its A-label form (RFC
 * 8616, libidn2).  And, for a From that strict reading refuses, every
 * author domain a lenient reader finds (am_from_authors_add), so each
 * can be evaluated: a broken From must not hide the domain a mail
 * client shows.
 *
 * Errors: nothing is logged; am_from_domain() answers with a status and
 * never hands out a truncated domain; am_from_authors_add() marks the
 * set incomplete or over instead.  One forward pass over the tokens of
 * message-lex.c (the lenient reader: over the octets), no recursion
 * (angle brackets and comments are counted), never reads outside
 * [value, value + len), refuses NUL.
 *
 * Threads: any; all state is on the caller's stack.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <idn2.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/message-lex.h"
#include "auth/message.h"

/* RFC 1035: 63 octets per label, 253 for the name without the root dot. */
#define AM_LABEL_MAX	63
#define AM_NAME_MAX	253

/* What we keep of the first mailbox: its domain, and whether it is usable. */
struct from_state {
	struct am_lex lx;
	unsigned mailboxes;
	char	domain[AM_NAME_MAX + 2];
	size_t	domlen;
	bool	domain_ok;
};

/*
 * Length of a well-formed UTF-8 sequence at s (at most n octets), 0 when
 * malformed (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF) or a C1 control character.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned long cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0)
		return 0;
	return need;
}

/*
 * Is d (already lower-cased, no trailing dot) a plausible host name:
 * labels of 1-63 octets of letters, digits, '-', '_' or UTF-8, at most
 * 253 octets in all?  Other atext ('!', '$', '{', ...) is legal in an
 * RFC 5322 domain but no DNS name a DMARC record could be found under.
 */
static bool
domain_plausible(const char *d, size_t len)
{
	const unsigned char *s = (const unsigned char *)d;
	size_t i = 0, label = 0, n;

	if (len == 0 || len > AM_NAME_MAX)
		return false;
	while (i < len) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			i++;
			continue;
		}
		if (s[i] >= 0x80) {
			if ((n = utf8_len(s + i, len - i)) == 0)
				return false;
		} else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_')
			n = 1;
		else
			return false;
		i += n;
		label += n;
		if (label > AM_LABEL_MAX)
			return false;
	}
	return label > 0;
}

/* Append atom text to the kept domain; too long marks it unusable. */
static void
domain_append(struct from_state *st, const unsigned char *s, size_t n)
{
	size_t i;

	if (!st->domain_ok)
		return;
	if (n > sizeof(st->domain) - 1 - st->domlen) {
		st->domain_ok = false;
		return;
	}
	for (i = 0; i < n; i++)
		st->domain[st->domlen++] = (char)am_lex_lower(s[i]);
	st->domain[st->domlen] = '\0';
}

/*
 * domain = dot-atom / obs-domain (CFWS between atoms and dots), with one
 * trailing dot tolerated, or a domain-literal.  Starts at the token after
 * '@'.  keep: this is the first mailbox, remember its domain (a literal
 * is syntax but no usable domain).  Returns false on a syntax error.
 */
static bool
parse_domain(struct from_state *st, bool keep)
{
	struct am_lex *lx = &st->lx;

	if (keep) {
		st->domlen = 0;
		st->domain[0] = '\0';
		st->domain_ok = true;
	}
	if (lx->cur.type == AM_TOK_DLIT) {
		if (keep)
			st->domain_ok = false;	/* [1.2.3.4]: no DNS domain */
		am_lex_next(lx);
		return true;
	}
	if (lx->cur.type != AM_TOK_ATOM)
		return false;
	for (;;) {
		if (keep)
			domain_append(st, lx->cur.s, lx->cur.len);
		am_lex_next(lx);
		if (!am_lex_tok_is(&lx->cur, '.'))
			break;
		am_lex_next(lx);
		if (lx->cur.type != AM_TOK_ATOM)
			break;	/* "example.com." - the trailing dot is dropped */
		if (keep)
			domain_append(st, (const unsigned char *)".", 1);
	}
	if (keep && st->domain_ok)
		st->domain_ok = domain_plausible(st->domain, st->domlen);
	return true;
}

/* local-part: 1*(word / "."), which covers dot-atom, quoted and obs forms. */
static bool
parse_local_part(struct am_lex *lx)
{
	bool word = false;

	while (am_lex_tok_is_word(&lx->cur) || am_lex_tok_is(&lx->cur, '.')) {
		word |= am_lex_tok_is_word(&lx->cur);
		am_lex_next(lx);
	}
	return word;
}

/*
 * obs-route = obs-domain-list ":" where obs-domain-list is
 * *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]).  At '@'.
 */
static bool
parse_route(struct from_state *st)
{
	struct am_lex *lx = &st->lx;

	for (;;) {
		if (!am_lex_tok_is(&lx->cur, '@'))
			return false;
		am_lex_next(lx);
		if (!parse_domain(st, false))
			return false;
		while (am_lex_tok_is(&lx->cur, ','))
			am_lex_next(lx);
		if (am_lex_tok_is(&lx->cur, ':')) {
			am_lex_next(lx);
			return true;
		}
	}
}

/*
 * angle-addr = "<" [obs-route] addr-spec ">", at the token after '<'.
 * Tolerated: redundant angle brackets around or beside the address
 * ("<<<><joe@joe.com>>>"), as long as they balance and hold exactly one
 * addr-spec; that one address is what any reader of the header sees.
 */
static bool
parse_angle_addr(struct from_state *st, bool keep)
{
	struct am_lex *lx = &st->lx;
	unsigned depth = 1;
	bool found = false;

	while (depth > 0) {
		struct am_tok *t = &lx->cur;

		if (am_lex_tok_is(t, '<')) {
			if (++depth > AM_NEST_MAX)
				return false;
			am_lex_next(lx);
		} else if (am_lex_tok_is(t, '>')) {
			depth--;
			am_lex_next(lx);
		} else if (found)
			return false;	/* a second address or junk after it */
		else {
			if (am_lex_tok_is(t, ',') || am_lex_tok_is(t, '@')) {
				while (am_lex_tok_is(&lx->cur, ','))
					am_lex_next(lx);
				if (!parse_route(st))
					return false;
			}
			if (!parse_local_part(lx) || !am_lex_tok_is(&lx->cur, '@'))
				return false;
			am_lex_next(lx);
			if (!parse_domain(st, keep))
				return false;
			found = true;
		}
	}
	return found;		/* "<>" is no mailbox */
}

/*
 * One mailbox, or the display name of a group.  At the first token.
 * mailbox = name-addr / addr-spec; name-addr = [display-name] angle-addr.
 * Tolerated: a display name before an addr-spec without angle brackets
 * ("\"Joe\" joe@example.com"): the address is still unambiguous.
 * *group is set when this was "display-name :" opening a group.
 */
static bool
parse_mailbox_or_group(struct from_state *st, bool *group)
{
	struct am_lex *lx = &st->lx;
	bool keep = st->mailboxes == 0;
	bool word = false, last_word = false;

	*group = false;
	/* obs-phrase = word *(word / "." / CFWS); the last word(s) may be a local-part */
	while (am_lex_tok_is_word(&lx->cur) || am_lex_tok_is(&lx->cur, '.')) {
		last_word = am_lex_tok_is_word(&lx->cur);
		word |= last_word;
		am_lex_next(lx);
	}
	if (am_lex_tok_is(&lx->cur, '<')) {
		am_lex_next(lx);
		if (!parse_angle_addr(st, keep))
			return false;
	} else if (am_lex_tok_is(&lx->cur, '@')) {
		if (!word)
			return false;	/* "@example.com": no local-part */
		am_lex_next(lx);
		if (!parse_domain(st, keep))
			return false;
	} else if (am_lex_tok_is(&lx->cur, ':') && word && last_word) {
		am_lex_next(lx);
		*group = true;
		return true;
	} else
		return false;	/* a phrase with no address, or junk */
	st->mailboxes++;
	return true;
}

/*
 * address-list of one From value: mailboxes and groups separated by
 * commas, empty elements allowed (obs-mbox-list).  A group may lack its
 * closing ';' at the very end: values pasted with their header name
 * ("From: a@example.com") read as such a group, which gives the right
 * mailbox.
 */
static bool
parse_from(struct from_state *st)
{
	struct am_lex *lx = &st->lx;
	bool in_group = false, group;

	am_lex_next(lx);
	for (;;) {
		if (lx->cur.type == AM_TOK_END)
			return true;
		if (am_lex_tok_is(&lx->cur, ',')) {
			am_lex_next(lx);
			continue;
		}
		if (in_group && am_lex_tok_is(&lx->cur, ';')) {
			in_group = false;
			am_lex_next(lx);
		} else {
			if (!parse_mailbox_or_group(st, &group))
				return false;
			if (group) {
				if (in_group)
					return false;	/* groups do not nest */
				in_group = true;
				continue;	/* the group-list follows at once */
			}
		}
		/* after an element: a separator, the group's end, or the end */
		if (lx->cur.type != AM_TOK_END && !am_lex_tok_is(&lx->cur, ',') &&
		    !(in_group && am_lex_tok_is(&lx->cur, ';')))
			return false;
	}
}

/* LDH labels of 1-63 octets, 253 in all: what an A-label domain must be. */
static bool
ascii_hostname(const char *d)
{
	size_t n = strlen(d), label = 0, i;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((isalnum((unsigned char)d[i]) || d[i] == '-') && ++label <= 63)
			continue;
		else
			return false;
	}
	return label > 0;
}

/*
 * RFC 8616: a From domain written in UTF-8 (U-labels) is the same domain
 * as its A-label form, which is what DNS and DKIM d= use: convert it, so
 * DMARC finds the domain's record and alignment compares like with like.
 * A name IDNA2008 (with UTS 46 mapping) refuses has no usable domain.
 */
static bool
to_alabel(char *domain, size_t domainlen)
{
	const unsigned char *p;
	char *ascii = NULL;
	bool ok;

	for (p = (const unsigned char *)domain; *p != '\0' && *p < 0x80; p++)
		continue;
	if (*p == '\0')
		return true;
	if (idn2_to_ascii_8z(domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
		return false;
	/* UTS 46 may map characters away (U+00AD) or to dots (U+3002): check what came out. */
	ok = strlen(ascii) < domainlen && ascii_hostname(ascii);
	if (ok) {
		am_strlcpy(domain, ascii, domainlen);
		am_lowercase(domain);
	}
	idn2_free(ascii);
	return ok;
}

enum am_from_status
am_from_domain(const char *value, size_t len, char *domain, size_t domainlen)
{
	struct from_state st;
	char local[AM_DOMAIN_MAX];

	if (domain != NULL && domainlen > 0)
		domain[0] = '\0';
	if (value == NULL)
		return AM_FROM_NO_DOMAIN;
	memset(&st, 0, sizeof(st));
	st.lx.p = (const unsigned char *)value;
	st.lx.end = st.lx.p + len;
	if (!parse_from(&st) || st.mailboxes == 0)
		return AM_FROM_NO_DOMAIN;
	if (st.mailboxes > 1)
		return AM_FROM_MULTIPLE;
	if (!st.domain_ok)
		return AM_FROM_NO_DOMAIN;
	/* The final (A-label) form decides, also when only the status is asked for. */
	if (st.domlen >= sizeof(local))
		return AM_FROM_NO_DOMAIN;
	memcpy(local, st.domain, st.domlen + 1);
	if (!to_alabel(local, sizeof(local)))
		return AM_FROM_NO_DOMAIN;
	if (domain == NULL)
		return AM_FROM_OK;
	if (strlen(local) >= domainlen)
		return AM_FROM_NO_DOMAIN;	/* never hand out a truncated domain */
	memcpy(domain, local, strlen(local) + 1);
	return AM_FROM_OK;
}

/* ---- every author domain of a broken From, leniently ------------------ */

/* RFC 5322 atext plus 8-bit (RFC 6532), as message-lex.c reads it. */
static bool
lenient_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Past a comment (p at '('; nesting counted, not recursed), a quoted
 * string (at '"') or a domain literal (at '[').  Unterminated: the rest
 * of the value is its text, as a reader showing it would take it.
 */
static const unsigned char *
lenient_skip(const unsigned char *p, const unsigned char *end)
{
	unsigned char close = *p == '(' ? ')' : *p == '"' ? '"' : ']';
	size_t depth = 1;

	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				break;
		} else if (close == ')' && *p == '(')
			depth++;
		else if (*p == close && --depth == 0)
			return p + 1;
	}
	return end;
}

/* Past whitespace, line ends and comments. */
static const unsigned char *
lenient_cfws(const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		if (*p == '(')
			p = lenient_skip(p, end);
		else if (am_lex_is_wsp(*p) || *p == '\r' || *p == '\n')
			p++;
		else
			break;
	}
	return p;
}

/* Keep domain (final form) once; a new one past the cap sets over. */
static void
authors_keep(struct am_from_authors *a, const char *domain)
{
	unsigned i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->domain[i], domain) == 0)
			return;
	if (a->n == AM_FROM_DOMAINS_MAX) {
		a->over = true;
		return;
	}
	am_strlcpy(a->domain[a->n++], domain, sizeof(a->domain[0]));
}

/*
 * The domain after an address's '@' (p just past it): dot-atom, or the
 * obsolete form with CFWS around the dots (RFC 5322 4.4), one trailing
 * dot dropped.  Kept when usable, else the set is incomplete.  Returns
 * where reading goes on.
 */
static const unsigned char *
lenient_domain(struct am_from_authors *a, const unsigned char *p, const unsigned char *end)
{
	char d[AM_NAME_MAX + 2];
	size_t n = 0;
	bool fits = true;

	p = lenient_cfws(p, end);
	if (p < end && *p == '[') {
		a->incomplete = true;		/* [192.0.2.1]: no DNS domain */
		return lenient_skip(p, end);
	}
	for (;;) {
		const unsigned char *q;

		for (; p < end && (lenient_atext(*p) || *p == '.'); p++) {
			if (n + 1 < sizeof(d))
				d[n++] = (char)am_lex_lower(*p);
			else
				fits = false;
		}
		/* obs-domain: CFWS only around a dot */
		q = lenient_cfws(p, end);
		if (n == 0 || q == p || q == end || (d[n - 1] != '.' && *q != '.') ||
		    !(lenient_atext(*q) || *q == '.'))
			break;
		p = q;
	}
	if (n > 0 && d[n - 1] == '.')
		n--;
	d[n] = '\0';
	if (fits && domain_plausible(d, n) && to_alabel(d, sizeof(d)) && strlen(d) < AM_DOMAIN_MAX)
		authors_keep(a, d);
	else
		a->incomplete = true;
	return p;
}

void
am_from_authors_init(struct am_from_authors *a)
{
	memset(a, 0, sizeof(*a));
}

void
am_from_authors_add(struct am_from_authors *a, const char *value, size_t len)
{
	const unsigned char *p = (const unsigned char *)value, *end;
	bool word = false;	/* a word (a local-part) came last, CFWS aside */

	if (value == NULL || memchr(value, '\0', len) != NULL) {
		a->incomplete = true;
		return;
	}
	for (end = p + len; p < end && !a->over;) {
		if (*p == '(' || am_lex_is_wsp(*p) || *p == '\r' || *p == '\n') {
			p = lenient_cfws(p, end);	/* obs-local-part: CFWS before '@' */
		} else if (*p == '"') {
			p = lenient_skip(p, end);
			word = true;
		} else if (lenient_atext(*p) || *p == '.') {
			while (p < end && (lenient_atext(*p) || *p == '.'))
				p++;
			word = true;
		} else if (*p == '@') {
			/* no local-part before it: a route ("<@relay:a@b>") or "@b" */
			if (word && ++a->addresses > AM_FROM_ADDRESSES_MAX)
				a->over = true;
			else if (word)
				p = lenient_domain(a, p + 1, end) - 1;
			p++;
			word = false;
		} else {
			/* a special (< > , ; : [ ] ) \) or a control ends the word */
			p = *p == '[' ? lenient_skip(p, end) : p + 1;
			word = false;
		}
	}
}
