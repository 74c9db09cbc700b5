/*
 * message-lex.h - the RFC 5322 lexer the message.h readers share.
 *
 * Owns: the character classes of RFC 5322 structured fields (WSP, atext
 * with RFC 6532 8-bit, folds) and a tokenizer over one field value that
 * skips CFWS between tokens.  For the message-*.c files only; other
 * modules use message.h.
 *
 * Errors: nothing is logged; a malformed token (stray control, ')',
 * '\', bad fold, unterminated or too deeply nested comment, NUL) comes
 * back as AM_TOK_ERR, a malformed CFWS as false.
 *
 * Threads: any; a struct am_lex belongs to one caller, nothing is shared.
 */
#ifndef AM_MESSAGE_LEX_H
#define AM_MESSAGE_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting of comments or angle brackets we follow. */
#define AM_NEST_MAX	64

enum am_tok_type {
	AM_TOK_END,		/* end of input */
	AM_TOK_ERR,		/* malformed: stray control, ')', '\', bad fold, deep comment */
	AM_TOK_ATOM,		/* 1*atext */
	AM_TOK_QSTR,		/* quoted-string, quotes included */
	AM_TOK_DLIT,		/* domain-literal, brackets included */
	AM_TOK_SPECIAL,		/* one of < > @ , ; : . */
};

struct am_tok {
	enum am_tok_type type;
	unsigned char c;	/* the character of an AM_TOK_SPECIAL */
	const unsigned char *s;	/* text of the token */
	size_t	len;
};

/* Set p and end to the value, then call am_lex_next() for the first token. */
struct am_lex {
	const unsigned char *p;
	const unsigned char *end;
	struct am_tok cur;	/* one token of look-ahead */
};

/* Inline: the parsers call these once per octet or token. */
static inline bool
am_lex_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char
am_lex_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static inline bool
am_lex_tok_is(const struct am_tok *t, unsigned char c)
{
	return t->type == AM_TOK_SPECIAL && t->c == c;
}

static inline bool
am_lex_tok_is_word(const struct am_tok *t)
{
	return t->type == AM_TOK_ATOM || t->type == AM_TOK_QSTR;
}

/*
 * Skip CFWS at *pp; false on a malformed comment.  A bare CR/LF (not
 * followed by WSP) outside a comment ends the skip: the caller sees it.
 */
bool	am_lex_skip_cfws(const unsigned char **pp, const unsigned char *end);

/* Read the next token into lx->cur. */
void	am_lex_next(struct am_lex *lx);

#endif
