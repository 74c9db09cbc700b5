/*
 * message-ids.c - the identifiers two other header fields carry (see
 * message.h).
 *
 * Owns: the authserv-id of an Authentication-Results field (RFC 8601
 * section 2.2), which decides whether the field is a forgery of ours to
 * remove, and the region of an Amazon SES Feedback-ID.
 *
 * Errors: nothing is logged; both readers return false with an empty
 * result when there is no id, and never hand out a truncated one.  One
 * forward pass, never reads outside [value, value + len).
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
	if (!am_lex_skip_cfws(&p, end) || p >= end)
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
