/*
 * message.c - a saved message split into header fields and body
 * (see message.h), for the offline -t mode.
 *
 * Owns: the lines of the message (CRLF or LF), an optional leading mbox
 * "From " line, field names (RFC 5322 ftext, obsolete WSP before the
 * colon), folded continuation lines, and where the body starts.
 *
 * Errors: nothing is logged; am_message_split() returns false with
 * "line N ..." or a plain reason in the caller's err buffer (truncated
 * to fit).  One forward pass, never reads outside [buf, buf + len); NUL
 * and 8-bit octets in values pass through to the callback.
 *
 * Threads: any; no state outside the caller's buffers.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/message-lex.h"
#include "auth/message.h"

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
	while (i < n && am_lex_is_wsp((unsigned char)s[i]))
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
		if (open && ln.len > 0 && am_lex_is_wsp((unsigned char)buf[off])) {
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
