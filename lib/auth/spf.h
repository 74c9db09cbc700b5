/*
 * spf.h - SPF (RFC 7208) on the envelope, with libspf2 over our resolver.
 *
 * Owns: one shared SPF_server_t whose DNS layer is am_resolver (libspf2
 * never reads resolv.conf), and the mapping of libspf2 results into
 * struct am_spf_verdict; for alignmilter-check, the record grammar check
 * and the lookup count, without libspf2.  The family: spf-int.h.
 *
 * Errors: am_spf_new() returns NULL with err; am_spf_check() always fills
 * its verdict (temperror or permerror with a reason when something
 * fails), and so does am_spf_count_lookups() its struct.  libspf2's
 * internal errors and warnings are logged (see spf.c).  Out of memory
 * aborts.
 *
 * Threads: the checker is built at start-up and then only read; checks
 * from any thread at once, one request each.
 */
#ifndef AM_SPF_H
#define AM_SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolver.h"
#include "auth/verdict.h"

typedef struct am_spf am_spf;

/* NULL on error (err filled). The resolver must outlive the checker. */
am_spf	*am_spf_new(am_resolver *, char *err, size_t errlen);
void	am_spf_free(am_spf *);

/*
 * Check the MAIL FROM identity (mail_from "local@domain", or "" / NULL
 * for the null sender, in which case the HELO identity is checked).
 * client_ip is IPv4 or IPv6 text.  Loopback clients get no exemption.
 * Always fills out (never fails): bad input becomes none/permerror with
 * a reason.
 */
void	am_spf_check(am_spf *, const char *client_ip, const char *helo,
	    const char *mail_from, struct am_spf_verdict *out);

/* ---- record inspection (alignmilter-check); no libspf2 involved ---- */

/* "v=spf1" followed by a space or the end (RFC 7208 4.5), any case. */
bool	am_spf_is_record(const char *txt);
/*
 * The RFC 7208 section 12 grammar check the milter applies to every
 * record before libspf2 sees it.  False with why (naming the first bad
 * term) when the record would be a permerror.
 */
bool	am_spf_record_check(const char *record, char *why, size_t whylen);

/* The DNS-querying terms of a record, through its include:s and redirect=. */
struct am_spf_lookups {
	unsigned lookups;	/* include, a, mx, ptr, exists, redirect (RFC 7208 4.6.4) */
	bool	dns_error;	/* a lookup failed temporarily: the count is incomplete */
	bool	macros;		/* a target with macros was counted, not followed */
	char	problem[AM_REASON_MAX];	/* first permanent error on the way, or "" */
};

/*
 * Count like check_host() would, fetching included and redirected records
 * through res; stops once the count passes the limit of 10.
 */
void	am_spf_count_lookups(am_resolver *, const char *record, struct am_spf_lookups *out);

#endif
