/*
 * message.c - reading what a message says about itself (see message.h).
 *
 * Owns: the parsers fed by untrusted message text: the From header's
 * domain (RFC 5322 section 3.4 mailbox-list, with the obsolete forms of
 * section 4 and RFC 6532 UTF-8), the authserv-id of an
 * Authentication-Results field (RFC 8601 section 2.2), the region of an
 * Amazon SES Feedback-ID, and the split of a saved message into header
 * fields and body.
 *
 * Every parser here makes one forward pass over its input (linear time),
 * never recurses (nested comments and angle brackets are counted, up to
 * AM_NEST_MAX), never reads outside [value, value + len) and treats NUL
 * as an ordinary byte of the buffer, refusing it where a C-string
 * consumer further down could read the text differently from us.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "auth/message.h"
#include "util/util.h"

/* Deepest nesting of comments or angle brackets we follow. */
#define AM_NEST_MAX	64
/* RFC 1035: 63 octets per label, 253 for the name without the root dot. */
#define AM_LABEL_MAX	63
#define AM_NAME_MAX	253

/* ---- character classes ------------------------------------------------- */

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 atext, plus every 8-bit octet (RFC 6532 UTF8-non-ascii). */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * A line end at p that folds (is followed by WSP) or that ends the
 * input; returns its length (1 or 2), 0 when p is no such line end.
 * A line end followed by anything else is a bare CR/LF: not FWS.
 */
static size_t
fold_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;

	if (*p == '\r' && p + 1 < end && p[1] == '\n')
		n = 2;
	else if (*p == '\n')
		n = 1;
	else
		return 0;
	if (p + n == end || is_wsp(p[n]))
		return n;
	return 0;
}

/* ---- lexer for RFC 5322 structured fields ------------------------------ */

enum tok_type {
	T_END,			/* end of input */
	T_ERR,			/* malformed: stray control, ')', '\', bad fold, deep comment */
	T_ATOM,			/* 1*atext */
	T_QSTR,			/* quoted-string, quotes included */
	T_DLIT,			/* domain-literal, brackets included */
	T_SPECIAL,		/* one of < > @ , ; : . */
};

struct tok {
	enum tok_type type;
	unsigned char c;	/* the character of a T_SPECIAL */
	const unsigned char *s;	/* text of the token */
	size_t	len;
};

struct lex {
	const unsigned char *p;
	const unsigned char *end;
	struct tok cur;		/* one token of look-ahead */
};

/*
 * Skip a comment starting at *pp ('(').  Nesting is counted, not
 * recursed, so an input of a million '(' costs one pass and no stack.
 */
static bool
skip_comment(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	unsigned depth = 0;
	size_t n;

	while (p < end) {
		switch (*p) {
		case '(':
			if (++depth > AM_NEST_MAX)
				return false;
			p++;
			break;
		case ')':
			p++;
			if (--depth == 0) {
				*pp = p;
				return true;
			}
			break;
		case '\\':
			/* quoted-pair; an escaped NUL or a lone '\' at the end is refused */
			if (p + 1 >= end || p[1] == '\0')
				return false;
			p += 2;
			break;
		case '\r':
		case '\n':
			if ((n = fold_len(p, end)) == 0)
				return false;
			p += n;
			break;
		case '\0':
			return false;
		default:
			p++;
			break;
		}
	}
	return false;		/* unterminated */
}

/* Skip CFWS; false on a malformed comment or a bare CR/LF. */
static bool
skip_cfws(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t n;

	while (p < end) {
		if (is_wsp(*p))
			p++;
		else if (*p == '\r' || *p == '\n') {
			if ((n = fold_len(p, end)) == 0)
				break;	/* the caller sees the stray CR/LF */
			p += n;
		} else if (*p == '(') {
			if (!skip_comment(&p, end))
				return false;
		} else
			break;
	}
	*pp = p;
	return true;
}

/*
 * Skip a quoted string or domain literal starting at *pp (at the opening
 * quote or bracket); close is '"' or ']'.  Folds are allowed, NUL is not.
 */
static bool
skip_delimited(const unsigned char **pp, const unsigned char *end, unsigned char close)
{
	const unsigned char *p = *pp + 1;
	size_t n;

	while (p < end) {
		if (*p == close) {
			*pp = p + 1;
			return true;
		}
		if (*p == '\\') {
			if (p + 1 >= end || p[1] == '\0')
				return false;
			p += 2;
		} else if (*p == '\r' || *p == '\n') {
			if ((n = fold_len(p, end)) == 0)
				return false;
			p += n;
		} else if (*p == '\0' || (close == ']' && *p == '['))
			return false;
		else
			p++;
	}
	return false;		/* unterminated */
}

/* Read the next token into lx->cur. */
static void
lex_next(struct lex *lx)
{
	struct tok *t = &lx->cur;
	const unsigned char *p;

	memset(t, 0, sizeof(*t));
	if (!skip_cfws(&lx->p, lx->end)) {
		t->type = T_ERR;
		return;
	}
	p = lx->p;
	t->s = p;
	if (p >= lx->end) {
		t->type = T_END;
		return;
	}
	if (is_atext(*p)) {
		while (p < lx->end && is_atext(*p))
			p++;
		t->type = T_ATOM;
	} else if (*p == '"' || *p == '[') {
		if (!skip_delimited(&p, lx->end, *p == '"' ? '"' : ']')) {
			t->type = T_ERR;
			return;
		}
		t->type = *t->s == '"' ? T_QSTR : T_DLIT;
	} else if (*p != '\0' && strchr("<>@,;:.", *p) != NULL) {
		t->type = T_SPECIAL;
		t->c = *p++;
	} else {
		t->type = T_ERR;	/* ')', '\', ']', a control character, NUL */
		return;
	}
	t->len = (size_t)(p - t->s);
	lx->p = p;
}

static bool
tok_is(const struct tok *t, unsigned char c)
{
	return t->type == T_SPECIAL && t->c == c;
}

static bool
tok_is_word(const struct tok *t)
{
	return t->type == T_ATOM || t->type == T_QSTR;
}

/* ---- From: mailbox-list ------------------------------------------------ */

/* What we keep of the first mailbox: its domain, and whether it is usable. */
struct from_state {
	struct lex lx;
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
		st->domain[st->domlen++] = (char)ascii_lower(s[i]);
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
	struct lex *lx = &st->lx;

	if (keep) {
		st->domlen = 0;
		st->domain[0] = '\0';
		st->domain_ok = true;
	}
	if (lx->cur.type == T_DLIT) {
		if (keep)
			st->domain_ok = false;	/* [1.2.3.4]: no DNS domain */
		lex_next(lx);
		return true;
	}
	if (lx->cur.type != T_ATOM)
		return false;
	for (;;) {
		if (keep)
			domain_append(st, lx->cur.s, lx->cur.len);
		lex_next(lx);
		if (!tok_is(&lx->cur, '.'))
			break;
		lex_next(lx);
		if (lx->cur.type != T_ATOM)
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
parse_local_part(struct lex *lx)
{
	bool word = false;

	while (tok_is_word(&lx->cur) || tok_is(&lx->cur, '.')) {
		word |= tok_is_word(&lx->cur);
		lex_next(lx);
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
	struct lex *lx = &st->lx;

	for (;;) {
		if (!tok_is(&lx->cur, '@'))
			return false;
		lex_next(lx);
		if (!parse_domain(st, false))
			return false;
		while (tok_is(&lx->cur, ','))
			lex_next(lx);
		if (tok_is(&lx->cur, ':')) {
			lex_next(lx);
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
	struct lex *lx = &st->lx;
	unsigned depth = 1;
	bool found = false;

	while (depth > 0) {
		struct tok *t = &lx->cur;

		if (tok_is(t, '<')) {
			if (++depth > AM_NEST_MAX)
				return false;
			lex_next(lx);
		} else if (tok_is(t, '>')) {
			depth--;
			lex_next(lx);
		} else if (found)
			return false;	/* a second address or junk after it */
		else {
			if (tok_is(t, ',') || tok_is(t, '@')) {
				while (tok_is(&lx->cur, ','))
					lex_next(lx);
				if (!parse_route(st))
					return false;
			}
			if (!parse_local_part(lx) || !tok_is(&lx->cur, '@'))
				return false;
			lex_next(lx);
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
	struct lex *lx = &st->lx;
	bool keep = st->mailboxes == 0;
	bool word = false, last_word = false;

	*group = false;
	/* obs-phrase = word *(word / "." / CFWS); the last word(s) may be a local-part */
	while (tok_is_word(&lx->cur) || tok_is(&lx->cur, '.')) {
		last_word = tok_is_word(&lx->cur);
		word |= last_word;
		lex_next(lx);
	}
	if (tok_is(&lx->cur, '<')) {
		lex_next(lx);
		if (!parse_angle_addr(st, keep))
			return false;
	} else if (tok_is(&lx->cur, '@')) {
		if (!word)
			return false;	/* "@example.com": no local-part */
		lex_next(lx);
		if (!parse_domain(st, keep))
			return false;
	} else if (tok_is(&lx->cur, ':') && word && last_word) {
		lex_next(lx);
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
	struct lex *lx = &st->lx;
	bool in_group = false, group;

	lex_next(lx);
	for (;;) {
		if (lx->cur.type == T_END)
			return true;
		if (tok_is(&lx->cur, ',')) {
			lex_next(lx);
			continue;
		}
		if (in_group && tok_is(&lx->cur, ';')) {
			in_group = false;
			lex_next(lx);
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
		if (lx->cur.type != T_END && !tok_is(&lx->cur, ',') &&
		    !(in_group && tok_is(&lx->cur, ';')))
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

/* ---- Authentication-Results authserv-id --------------------------------- */

/*
 * Append one octet to out; false when it does not fit (a truncated id
 * could falsely equal ours, so the caller gives up instead).
 */
static bool
out_put(char *out, size_t outlen, size_t *n, unsigned char c)
{
	if (*n + 1 >= outlen)
		return false;
	out[(*n)++] = (char)c;
	out[*n] = '\0';
	return true;
}

/*
 * The id ends at WSP, a line end, '(' (CFWS), ';', or a control
 * character; NUL in particular ends it as it would for any C-string
 * reader, so "mx.example.net\0x" is recognised as our id and removed.
 */
static bool
authserv_token(const unsigned char *p, const unsigned char *end, char *out,
    size_t outlen, size_t *n)
{
	for (; p < end; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '(' || *p == ';')
			break;
		if (!out_put(out, outlen, n, *p))
			return false;
	}
	return true;
}

/*
 * quoted-string, unquoted: escapes resolved, folds (CRLF/LF) dropped.
 * Unfolding comes first (RFC 5322 2.2.3): a backslash before a fold
 * escapes the WSP after it, so a CR or LF never reaches the id.
 */
static bool
authserv_quoted(const unsigned char *p, const unsigned char *end, char *out,
    size_t outlen, size_t *n)
{
	for (p++; p < end && *p != '"' && *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			continue;	/* FWS = CRLF WSP: the WSP stays */
		if (*p == '\\') {
			do
				p++;
			while (p < end && (*p == '\r' || *p == '\n'));
			if (p >= end || *p == '\0')
				break;
		}
		if (!out_put(out, outlen, n, *p))
			return false;
	}
	return true;
}

bool
am_authres_authserv_id(const char *value, size_t len, char *out, size_t outlen)
{
	const unsigned char *p, *end;
	size_t n = 0;
	bool ok;

	if (out == NULL || outlen == 0)
		return false;
	out[0] = '\0';
	if (value == NULL)
		return false;
	p = (const unsigned char *)value;
	end = p + len;
	if (!skip_cfws(&p, end) || p >= end)
		return false;	/* nothing, or an unterminated comment */
	if (*p == '"')
		ok = authserv_quoted(p, end, out, outlen, &n);
	else
		ok = authserv_token(p, end, out, outlen, &n);
	if (!ok || n == 0) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* ---- Amazon SES Feedback-ID --------------------------------------------- */

static bool
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

/* "-" [a-z]+ "-" [0-9] is the whole of s[i..n). */
static bool
region_tail(const unsigned char *s, size_t n, size_t i)
{
	if (i >= n || s[i++] != '-' || i >= n || !is_lower(s[i]))
		return false;
	while (i < n && is_lower(s[i]))
		i++;
	if (i >= n || s[i++] != '-')
		return false;
	return i + 1 == n && s[i] >= '0' && s[i] <= '9';
}

/* [a-z]{2}(-gov)?-[a-z]+-[0-9] is the whole of s[0..n). */
static bool
region_ok(const unsigned char *s, size_t n)
{
	if (n < 2 || !is_lower(s[0]) || !is_lower(s[1]))
		return false;
	if (region_tail(s, n, 2))
		return true;
	return n > 6 && memcmp(s + 2, "-gov", 4) == 0 && region_tail(s, n, 6);
}

/*
 * "1.us-east-1.<base64>=:AmazonSES", possibly with empty leading fields
 * of the Feedback-ID convention ("::1.us-east-1...:AmazonSES"); only the
 * colon-separated field before ":AmazonSES" is read.
 */
bool
am_ses_feedback_region(const char *value, size_t len, char *region, size_t regionlen)
{
	static const char suffix[] = ":amazonses";
	const unsigned char *s = (const unsigned char *)value, *end, *f, *dot1, *dot2;
	size_t i, rlen, slen = sizeof(suffix) - 1;

	if (region == NULL || regionlen == 0)
		return false;
	region[0] = '\0';
	if (value == NULL)
		return false;
	end = s + len;
	while (s < end && (is_wsp(*s) || *s == '\r' || *s == '\n'))
		s++;
	while (end > s && (is_wsp(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((size_t)(end - s) <= slen)
		return false;
	end -= slen;
	for (i = 0; i < slen; i++)
		if (ascii_lower(end[i]) != (unsigned char)suffix[i])
			return false;
	/* the last colon-separated field before the suffix */
	for (f = end; f > s && f[-1] != ':'; f--)
		;
	/* 1*DIGIT "." region "." rest */
	for (dot1 = f; dot1 < end && *dot1 >= '0' && *dot1 <= '9'; dot1++)
		;
	if (dot1 == f || dot1 >= end || *dot1 != '.')
		return false;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (dot2 == NULL || dot2 + 1 >= end)
		return false;
	rlen = (size_t)(dot2 - dot1 - 1);
	if (!region_ok(dot1 + 1, rlen) || rlen >= regionlen)
		return false;
	memcpy(region, dot1 + 1, rlen);
	region[rlen] = '\0';
	return true;
}

/* ---- splitting a saved message ------------------------------------------ */

/* One line of buf: [start, start + len) without its line end; next: after it. */
struct line {
	size_t	start;
	size_t	len;
	size_t	next;
};

static void
line_at(const char *buf, size_t len, size_t off, struct line *ln)
{
	const char *nl = memchr(buf + off, '\n', len - off);

	ln->start = off;
	if (nl == NULL) {
		ln->len = len - off;
		ln->next = len;
		return;
	}
	ln->next = (size_t)(nl - buf) + 1;
	ln->len = (size_t)(nl - buf) - off;
	if (ln->len > 0 && buf[off + ln->len - 1] == '\r')
		ln->len--;
}

/* RFC 5322 ftext: printable US-ASCII except ':'. */
static bool
is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/*
 * The field name of a line: 1*ftext, then optional WSP (obsolete syntax),
 * then ':'.  Sets *namelen and *colon (offset of the ':' in the line).
 */
static bool
field_name(const char *s, size_t n, size_t *namelen, size_t *colon)
{
	size_t i = 0;

	while (i < n && is_ftext((unsigned char)s[i]))
		i++;
	if (i == 0)
		return false;
	*namelen = i;
	while (i < n && is_wsp((unsigned char)s[i]))
		i++;
	if (i >= n || s[i] != ':')
		return false;
	*colon = i;
	return true;
}

/* err = "line N <what>" (what carries its own leading word). */
static void
line_err(char *err, size_t errlen, unsigned long lineno, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "line %lu %s", lineno, what);
}

static void
plain_err(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		am_strlcpy(err, what, errlen);
}

/*
 * An mbox separator ("From sender date"), not a "From :" field in the
 * obsolete syntax with space before the colon.
 */
static bool
is_mbox_from(const char *buf, size_t len)
{
	struct line ln;
	size_t namelen, colon;

	if (len < 5 || memcmp(buf, "From ", 5) != 0)
		return false;
	line_at(buf, len, 0, &ln);
	return !field_name(buf, ln.len, &namelen, &colon);
}

/* The field collected so far, handed to the callback. */
struct field {
	size_t	start;		/* offset of the name */
	size_t	namelen;
	size_t	vstart;		/* offset after the colon */
	size_t	vend;		/* end of the last line, before its line end */
	unsigned long lineno;
};

static bool
deliver(const char *buf, const struct field *f, am_header_fn fn, void *arg,
    char *err, size_t errlen)
{
	if (fn == NULL || fn(arg, buf + f->start, f->namelen, buf + f->vstart,
	    f->vend - f->vstart))
		return true;
	line_err(err, errlen, f->lineno, "ends where the header callback stopped");
	return false;
}

/*
 * Fields are delivered as soon as their last continuation line is seen,
 * so fn may have run for the fields before a line that turns out bad.
 * When fn returns false we stop and return false, err naming the line of
 * that field and *body_off just after it.
 */
bool
am_message_split(const char *buf, size_t len, am_header_fn fn, void *arg,
    size_t *body_off, char *err, size_t errlen)
{
	struct line ln;
	struct field f;
	size_t off = 0, colon;
	unsigned long lineno = 1, fields = 0;
	bool open = false;	/* f is being collected */

	memset(&f, 0, sizeof(f));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (body_off != NULL)
		*body_off = len;
	if (buf == NULL || len == 0) {
		plain_err(err, errlen, "empty message");
		return false;
	}
	if (is_mbox_from(buf, len)) {
		line_at(buf, len, 0, &ln);
		off = ln.next;
		lineno++;
	}
	for (; off < len; off = ln.next, lineno++) {
		line_at(buf, len, off, &ln);
		if (open && ln.len > 0 && is_wsp((unsigned char)buf[off])) {
			f.vend = ln.start + ln.len;	/* continuation: the fold stays in */
			continue;
		}
		if (open) {
			open = false;
			fields++;
			if (!deliver(buf, &f, fn, arg, err, errlen)) {
				if (body_off != NULL)
					*body_off = off;
				return false;
			}
		}
		if (ln.len == 0) {		/* the empty line: the body follows */
			off = ln.next;
			break;
		}
		if (!field_name(buf + off, ln.len, &f.namelen, &colon)) {
			line_err(err, errlen, lineno, "is not a header field");
			return false;
		}
		open = true;
		f.start = off;
		f.vstart = off + colon + 1;
		f.vend = ln.start + ln.len;
		f.lineno = lineno;
	}
	if (open) {			/* the message ended inside the header */
		fields++;
		if (!deliver(buf, &f, fn, arg, err, errlen))
			return false;
		off = len;
	}
	if (fields == 0) {
		plain_err(err, errlen, "no header field");
		return false;
	}
	if (body_off != NULL)
		*body_off = off;
	return true;
}
