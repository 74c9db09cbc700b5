/*
 * spf.h - SPF (RFC 7208) on the envelope, with libspf2 over our resolver.
 *
 * Owns: one shared SPF_server_t whose DNS layer is am_resolver (libspf2
 * never reads resolv.conf), and the mapping of libspf2 results into
 * struct am_spf_verdict.  Thread-safe: one checker shared, one request
 * per call.
 */
#ifndef AM_SPF_H
#define AM_SPF_H

#include <stddef.h>

#include "resolver.h"
#include "verdict.h"

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

#endif
