/*
 * respond.h - alignmilter-respond's parts that are pure decisions, with
 * no I/O but the rate-limit state file: whom to reply to, whether a
 * message may be answered at all (RFC 3834), and how often.
 *
 * Owns: the probe address and its recipient-encoded form
 * ("check+jsmith=example.com@mx.example.net"), the authentication test a
 * reply address must pass (the verdict authenticated its domain), the
 * loop guards of RFC 3834 section 2, and the per-address and per-domain
 * rate limits (state file under an exclusive lock, survives restarts).
 * respond-rules.c and respond-rate.c implement it; respond-main.c and the
 * reply composer use it.
 *
 * Errors: nothing is logged; functions answer with a reason the caller
 * logs.  Out of memory aborts.
 *
 * Threads: alignmilter-respond is single-threaded; the rate state is
 * shared between concurrent processes through the file lock.
 */
#ifndef AM_RESPOND_H
#define AM_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth/verdict.h"

#define AM_RSP_ADDR_MAX	320	/* local@domain: 64 + 1 + 253, rounded */

/*
 * The probe recipient (Postfix's ${original_recipient}) against the
 * configured probe address ("check@mx.example.net") and recipient
 * delimiters ("+", "+-"): true when rcpt is the probe, bare or with an
 * extension.  An extension of the form "LOCAL=DOMAIN" (the reply address
 * LOCAL@DOMAIN, the last '=' standing for '@') is decoded into encoded
 * when it is a plausible mailbox (am_rsp_mailbox_ok) that fits, domain
 * lower-cased; otherwise (and when false) encoded is "", never a cut
 * address.  Postfix's rules: the probe's local part and domain compare
 * case-insensitively, the extension starts at the character right after
 * the local part if it is one of delims; the decoded local part keeps
 * its case.  Bounded (rcpt at most 2 * AM_RSP_ADDR_MAX octets); never
 * reads past the strings.
 */
bool	am_rsp_probe_match(const char *rcpt, const char *probe, const char *delims,
	    char *encoded, size_t encodedlen);

/*
 * A plausible mailbox local@domain: RFC 5321 4.1.2 Dot-string local part
 * of at most 64 octets, not starting with '-' (Postfix allow_min_user);
 * an ASCII DNS domain of two labels or more, no address literal.
 */
bool	am_rsp_mailbox_ok(const char *addr);

/*
 * Does the verdict authenticate domain (a From domain or the domain of a
 * recipient-encoded address): DMARC passed for it, or SPF or a DKIM
 * signature passed for a domain equal to it or inside its organizational
 * domain (org: the verdict's dmarc.org_domain when domain is the From
 * domain, else the caller's; "" or an org that does not hold domain, or
 * of one label, means domain itself).  DMARC counts only with a sound
 * From (from_status OK); SPF of the HELO name and unverified signatures
 * do not count.  why says which, or why not.
 */
bool	am_rsp_authenticated(const struct am_verdict *, const char *domain, const char *org,
	    char *why, size_t whylen);

/* One header field of the probe message, unfolded value. */
struct am_rsp_header {
	const char *name;
	const char *value;
};

/*
 * RFC 3834 section 2 and list conventions: NULL when the message may be
 * answered, else the reason not to (a static string citing the rule): a
 * null sender, Auto-Submitted other than "no", List-Id and the RFC 2369
 * List-* fields, Precedence bulk / list / junk, an envelope sender or
 * From of MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request,
 * *-bounces or *-owner (RFC 5230 4.6).  h may be NULL when n is 0.
 */
const char *am_rsp_loop_guard(const char *sender, const struct am_rsp_header *h, size_t n);

/* Rate limits: at most per_addr replies to one address and per_domain to one domain per window. */
struct am_rsp_limits {
	unsigned per_addr;
	unsigned per_domain;
	unsigned window;	/* seconds */
};

enum am_rsp_rate {
	AM_RSP_RATE_OK = 0,	/* counted: go ahead */
	AM_RSP_RATE_ADDR,	/* over the address limit: not counted */
	AM_RSP_RATE_DOMAIN,	/* over the domain limit: not counted */
	AM_RSP_RATE_ERROR,	/* the state file: err says why */
};

/*
 * Take one reply for addr (and its domain) at now from the state file at
 * path (created 0600 if absent; locked with fcntl while read and
 * rewritten through a temporary file and rename).  Entries older than the
 * window are dropped; the file is bounded (oldest dropped past 10,000).
 * The lock is on "<path>.lock", the temporary file "<path>.tmp"; addr is
 * counted lower-cased.  A refusal is not counted.
 */
enum am_rsp_rate am_rsp_rate_take(const char *path, const char *addr, const struct am_rsp_limits *,
	    time_t now, char *err, size_t errlen);

#endif
