/*
 * report-rua.h - where an aggregate report may go: the Policy Domain's
 * DMARC record as published when sending, its rua= mailto: URIs, their
 * size limits, and the verification of destinations outside the Policy
 * Domain's organizational domain (draft-ietf-dmarc-aggregate-reporting-32
 * section 4, "Verifying External Destinations"; RFC 9990 follows it).
 *
 * Owns: the _dmarc TXT lookup at the Policy Domain (exactly one
 * "v=DMARC1" record, vetted by lib/auth's record parser as the milter
 * vets it), decoding a mailto: URI into one address (percent-decoding,
 * no "?" header fields, a plain local@domain), the "!size" suffix
 * (k/m/g/t, 1024-based), and the <policy-domain>._report._dmarc.<host>
 * TXT check with its rua= override (same destination host only).  Every
 * lookup goes through the resolver of lib/dns.
 *
 * Errors: nothing is logged; results and reasons are returned for the
 * caller to print.  Out of memory aborts.
 *
 * Threads: any; nothing is shared beyond the resolver.
 */
#ifndef AM_REPORT_RUA_H
#define AM_REPORT_RUA_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolver.h"
#include "auth/verdict.h"

#define AM_RUA_MAX	16	/* destinations used per report; more are ignored */

enum am_rua_state {
	AM_RUA_UNUSABLE = 0,	/* not a mailto: URI we can send to (why says) */
	AM_RUA_INTERNAL,	/* under the Policy Domain's organizational domain */
	AM_RUA_AUTHORIZED,	/* external, and the destination's TXT record says yes */
	AM_RUA_UNAUTHORIZED,	/* external without the authorising record: nothing goes there */
	AM_RUA_TEMPFAIL,	/* the check met a DNS failure: not this run */
};

struct am_rua {
	char	uri[512];		/* as published */
	char	addr[AM_ADDR_MAX];	/* the decoded mailbox */
	char	host[AM_DOMAIN_MAX];	/* its domain, lower case */
	unsigned long long limit;	/* "!size" in bytes; 0: none */
	enum am_rua_state state;
	char	why[400];
};

/*
 * The DMARC record at _dmarc.<domain> now: 1 found (rua, "," separated
 * valid URIs, may be ""), 0 none (no record, or several), -1 a DNS
 * failure.  why says what for 0 and -1.
 */
int	am_rua_record(am_resolver *, const char *domain, char *rua, size_t rualen, char *why,
	    size_t whylen);
/* Split a rua list into out[0..max); returns how many.  Unusable ones say why. */
size_t	am_rua_parse(const char *list, struct am_rua *out, size_t max);
/*
 * Set r->state (INTERNAL, AUTHORIZED, UNAUTHORIZED or TEMPFAIL) for a
 * report on policy_domain whose organizational domain is org_domain ("":
 * the Policy Domain itself).  An override in the authorising record
 * replaces addr and limit.
 */
void	am_rua_verify(am_resolver *, const char *policy_domain, const char *org_domain,
	    struct am_rua *r);
/* "internal", "authorized", ... */
const char *am_rua_state_name(enum am_rua_state);

#endif
