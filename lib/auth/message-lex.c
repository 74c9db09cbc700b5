/*
 * message-lex.c - the RFC 5322 lexer the message.h readers share (see
 * message-lex.h).
 *
 * Owns: folds, comments (nested, counted), quoted strings and domain
 * literals, and the token stream of a structured field value.
 *
 * Errors: nothing is logged; malformed input gives AM_TOK_ERR or false.
 * One forward pass (linear time), no recursion: nested comments are
 * counted up to AM_NEST_MAX, so a million '(' cost one pass and no
 * stack.  Never reads outside [p, end); NUL is refused wherever a
 * C-string consumer further down could read the text differently.
 *
 * Threads: any; no state outside the caller's struct am_lex.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Verifiers. */
#include "auth/message-lex.h"

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
	if (p + n == end || am_lex_is_wsp(p[n]))
		return n;
	return 0;
}

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

bool
am_lex_skip_cfws(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t n;

	while (p < end) {
		if (am_lex_is_wsp(*p))
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

void
am_lex_next(struct am_lex *lx)
{
	struct am_tok *t = &lx->cur;
	const unsigned char *p;

	memset(t, 0, sizeof(*t));
	if (!am_lex_skip_cfws(&lx->p, lx->end)) {
		t->type = AM_TOK_ERR;
		return;
	}
	p = lx->p;
	t->s = p;
	if (p >= lx->end) {
		t->type = AM_TOK_END;
		return;
	}
	if (is_atext(*p)) {
		while (p < lx->end && is_atext(*p))
			p++;
		t->type = AM_TOK_ATOM;
	} else if (*p == '"' || *p == '[') {
		if (!skip_delimited(&p, lx->end, *p == '"' ? '"' : ']')) {
			t->type = AM_TOK_ERR;
			return;
		}
		t->type = *t->s == '"' ? AM_TOK_QSTR : AM_TOK_DLIT;
	} else if (*p != '\0' && strchr("<>@,;:.", *p) != NULL) {
		t->type = AM_TOK_SPECIAL;
		t->c = *p++;
	} else {
		t->type = AM_TOK_ERR;	/* ')', '\', ']', a control character, NUL */
		return;
	}
	t->len = (size_t)(p - t->s);
	lx->p = p;
}
