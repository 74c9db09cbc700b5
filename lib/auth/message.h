/*
 * message.h - reading what a message says about itself.
 *
 * Owns: RFC 5322 parsing that the verdict needs and that is fed by
 * untrusted input.  One header for a family of files:
 *   message-from.c   the From header's domain, and every author domain
 *                    of a From the strict reading refuses
 *   message-ids.c    the authserv-id of an Authentication-Results header
 *                    and whether it may be ours (forgery removal), the
 *                    SES Feedback-ID region
 *   message.c        splitting a saved message (offline -t) into header
 *                    fields and body
 *   message-lex.c    the RFC 5322 lexer they share (message-lex.h)
 *
 * Errors: nothing is logged; each function answers with its return
 * value (and err text for the split).  Every parser makes one forward
 * pass (linear time), never recurses, never reads outside the buffer it
 * is given and treats NUL as an ordinary byte of it.
 *
 * Threads: any.  Pure functions: no I/O, no shared state, no allocation
 * that outlives a call.
 */
#ifndef AM_MESSAGE_H
#define AM_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/verdict.h"

/*
 * The domain of one From header field value (as received after the
 * colon, folds allowed).  Handles display names, quoted strings,
 * comments, angle addresses, groups, obsolete routes.  Lower-cases the
 * domain, drops a trailing dot and domain-literal brackets are refused;
 * a UTF-8 domain comes back as its A-label (xn--...) form (RFC 8616).
 * Returns AM_FROM_OK, AM_FROM_NO_DOMAIN (no address or no domain), or
 * AM_FROM_MULTIPLE (more than one mailbox).
 */
enum am_from_status am_from_domain(const char *value, size_t len, char *domain, size_t domainlen);

/* Addresses read from the From field(s) of one message; more count as too many. */
#define AM_FROM_ADDRESSES_MAX	64

/*
 * Every author domain the From field(s) of one message name, for the
 * values am_from_domain() cannot reduce to one domain (RFC 7489 6.6.1,
 * RFC 9989 11.5: evaluate each, apply the strictest).  Lenient, as a
 * mail client reads a broken field: an address is a word (atom, dotted
 * atoms or quoted string) followed by '@' and a domain, outside quoted
 * strings and comments; an unquoted comma in a display name, a missing
 * '>' or an unterminated comment or quote (the rest is its text) do not
 * hide it.  Route domains ("@a.example:" with no local part before the
 * '@') and display text are no author domains.  Each domain is cleaned
 * as am_from_domain() cleans it (lower case, trailing dot dropped,
 * plausible DNS name, A-label); distinct domains are kept in order of
 * appearance, at most AM_FROM_DOMAINS_MAX.
 */
struct am_from_authors {
	char	domain[AM_FROM_DOMAINS_MAX][AM_DOMAIN_MAX];
	unsigned n;		/* distinct domains kept */
	unsigned addresses;	/* addresses read, up to AM_FROM_ADDRESSES_MAX + 1 */
	/* more than AM_FROM_DOMAINS_MAX distinct domains or AM_FROM_ADDRESSES_MAX addresses */
	bool	over;
	/*
	 * Some author is unknown: an address without a usable domain (none,
	 * a domain literal, not a plausible DNS name, too long, refused by
	 * IDNA), or a value holding NUL (refused whole: a C-string reader
	 * further down would read it differently).  The set is then not
	 * every domain a reader may see.
	 */
	bool	incomplete;
};

/* Start an empty set (or memset it to zero). */
void	am_from_authors_init(struct am_from_authors *);
/*
 * Add the author domains of one From field value (as received after the
 * colon, folds allowed).  One forward pass, no recursion, never reads
 * outside [value, value + len); stops reading once over is set.
 */
void	am_from_authors_add(struct am_from_authors *, const char *value, size_t len);

/*
 * The authserv-id of an Authentication-Results field value: the first
 * token (RFC 2045, so "/" ends it), comments (RFC 5322 CFWS) skipped,
 * quoted-string unquoted.  false when there is none or it is not certain:
 * a broken comment before or after it, NUL or a bare CR/LF, an
 * unterminated quote, or anything but [version] and ";" after it.
 */
bool	am_authres_authserv_id(const char *value, size_t len, char *out, size_t outlen);
/*
 * Could this Authentication-Results field be ours (RFC 8601 section 5)?
 * true when its authserv-id is ours (any case, one trailing dot ignored,
 * or ours followed by a character no host name has) and whenever
 * am_authres_authserv_id cannot read one: fail closed.
 */
bool	am_authres_maybe_ours(const char *value, size_t len, const char *ours);

/* Region of a Feedback-ID such as "1.us-east-1.abc=:AmazonSES"; false if not SES. */
bool	am_ses_feedback_region(const char *value, size_t len, char *region, size_t regionlen);

/*
 * A saved message, split.  The callback gets each header field: name
 * (not NUL-terminated, namelen), value exactly as after the colon
 * (folds kept, no final line end).  Return false from it to stop.
 */
typedef bool (*am_header_fn)(void *arg, const char *name, size_t namelen,
	    const char *value, size_t valuelen);

/*
 * Parse buf: an optional leading mbox "From " line is skipped; header
 * fields until the first empty line; *body_off is where the body starts
 * (len when there is none).  Lines may end in CRLF or LF.  false with
 * err when buf is not an RFC 5322 message (empty, no header field, a
 * line before the first field that is not a field, a field name with
 * characters outside printable US-ASCII minus ':').
 */
bool	am_message_split(const char *buf, size_t len, am_header_fn fn, void *arg,
	    size_t *body_off, char *err, size_t errlen);

#endif
