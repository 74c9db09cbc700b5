/*
 * message-ids.c - the identifiers two other header fields carry (see
 * message.h).
 *
 * Owns: the authserv-id of an Authentication-Results field (RFC 8601
 * section 2.2) and whether the field may be ours, which decides whether
 * it is a forgery to remove, and the region of an Amazon SES Feedback-ID.
 *
 * Errors: nothing is logged; both readers return false with an empty
 * result when there is no id, and never hand out a truncated one.  An
 * authserv-id that cannot be read with certainty counts as ours (fail
 * closed: another reader might see ours in it).  One forward pass, never
 * reads outside [value, value + len).
 *
 * Threads: any; no state outside the caller's buffers.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Verifiers. */
#include "auth/message-lex.h"
#include "auth/message.h"

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

/* RFC 2045 tspecials: authserv-id = value = token / quoted-string. */
static bool
is_tspecial(unsigned char c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* A fold (CRLF or LF, then WSP) at p; its line-end length, else 0. */
static size_t
fold_at(const unsigned char *p, const unsigned char *end)
{
	size_t n = (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : (*p == '\n' ? 1 : 0);

	return (n > 0 && p + n < end && am_lex_is_wsp(p[n])) ? n : 0;
}

/* token: ends at SP, a control (checked by the caller) or a tspecial. */
static bool
authserv_token(const unsigned char **pp, const unsigned char *end, char *out,
    size_t outlen, size_t *n)
{
	const unsigned char *p;

	for (p = *pp; p < end && *p > ' ' && *p != 0x7f && !is_tspecial(*p); p++)
		if (!out_put(out, outlen, n, *p))
			return false;
	*pp = p;
	return true;
}

/*
 * quoted-string, unquoted: escapes resolved, folds dropped (the WSP
 * stays).  Unfolding comes first (RFC 5322 2.2.3): a backslash before a
 * fold escapes the WSP after it.  NUL, a bare CR or LF, or no closing
 * quote: false, since readers disagree on what such a string says.
 */
static bool
authserv_quoted(const unsigned char **pp, const unsigned char *end, char *out,
    size_t outlen, size_t *n)
{
	const unsigned char *p;
	size_t f;

	for (p = *pp + 1; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		if ((f = fold_at(p, end)) > 0)
			p += f;		/* FWS = CRLF WSP: the WSP stays */
		else if (*p == '\r' || *p == '\n' || *p == '\0')
			return false;
		if (p >= end || !out_put(out, outlen, n, *p))
			return false;
	}
	if (p >= end)
		return false;
	*pp = p + 1;
	return true;
}

/*
 * After the id, RFC 8601 2.2 allows [CFWS [authres-version]] [CFWS],
 * then ";" or the end.  Anything else ("mx.example.net/1", a control, a
 * broken comment) makes the id uncertain.
 */
static bool
authserv_rest(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *id_end = p;

	if (!am_lex_skip_cfws(&p, end))
		return false;
	if (p < end && *p >= '0' && *p <= '9' && p > id_end) {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (!am_lex_skip_cfws(&p, end))
			return false;
	}
	return p == end || *p == ';';
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
	if (!am_lex_skip_cfws(&p, end) || p >= end)
		return false;	/* nothing, or a broken comment (too deep, bare CR, unterminated) */
	if (*p == '"')
		ok = authserv_quoted(&p, end, out, outlen, &n);
	else
		ok = authserv_token(&p, end, out, outlen, &n);
	if (!ok || n == 0 || !authserv_rest(p, end)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* The characters AuthservID may hold (conf.c). */
static bool
is_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_';
}

bool
am_authres_maybe_ours(const char *value, size_t len, const char *ours)
{
	char id[256];
	size_t i, idlen = 0, ourlen = strlen(ours);

	if (!am_authres_authserv_id(value, len, id, sizeof(id)))
		return true;
	/* "ours!x" could read as ours to a reader that stops earlier than RFC 2045 */
	while (is_id_char((unsigned char)id[idlen]))
		idlen++;
	/* a trailing dot names the same host (RFC 1034 3.1) */
	if (idlen > 0 && id[idlen - 1] == '.')
		idlen--;
	if (ourlen > 0 && ours[ourlen - 1] == '.')
		ourlen--;
	if (idlen != ourlen)
		return false;
	for (i = 0; i < idlen; i++)
		if (am_lex_lower((unsigned char)id[i]) != am_lex_lower((unsigned char)ours[i]))
			return false;
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
	while (s < end && (am_lex_is_wsp(*s) || *s == '\r' || *s == '\n'))
		s++;
	while (end > s && (am_lex_is_wsp(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((size_t)(end - s) <= slen)
		return false;
	end -= slen;
	for (i = 0; i < slen; i++)
		if (am_lex_lower(end[i]) != (unsigned char)suffix[i])
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
