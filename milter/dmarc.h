/*
 * dmarc.h - DMARC (RFC 7489): policy discovery, alignment, evaluation.
 *
 * Owns: the Public Suffix List (libpsl; loaded once at start-up), the
 * organizational domain, our own relaxed/strict alignment (libopendmarc
 * 1.4.2 gets strict alignment wrong), the _dmarc TXT lookups through
 * am_resolver with fallback to the organizational domain, and the use of
 * libopendmarc to parse the record and pick the policy.  Thread-safe.
 */
#ifndef AM_DMARC_H
#define AM_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "resolver.h"
#include "verdict.h"

typedef struct am_dmarc am_dmarc;
typedef struct am_dmarc_lookup am_dmarc_lookup;

/* psl_path: PublicSuffixList file.  NULL on error (err filled). */
am_dmarc *am_dmarc_new(am_resolver *, const char *psl_path, char *err, size_t errlen);
void	am_dmarc_free(am_dmarc *);

/* Organizational domain of domain (RFC 7489 3.2) into out; false if none. */
bool	am_dmarc_org_domain(const am_dmarc *, const char *domain, char *out, size_t outlen);
/* Identifier alignment: strict = equal ignoring case; relaxed = same org domain. */
bool	am_dmarc_aligned(const am_dmarc *, const char *from_domain, const char *other, bool strict);

/* Start the _dmarc lookup for from_domain early (end of headers); never NULL. */
am_dmarc_lookup *am_dmarc_start(am_dmarc *, const char *from_domain);
void	am_dmarc_lookup_free(am_dmarc_lookup *);

/*
 * Evaluate: waits for the lookup (and the org-domain fallback if needed),
 * sets spf->aligned and each dkim sig's aligned, fills out.  pct sampling
 * uses rand_pct (0..99; pass a random value; < pct means "apply").
 */
void	am_dmarc_evaluate(am_dmarc *, am_dmarc_lookup *, const char *from_domain,
	    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
	    unsigned rand_pct, struct am_dmarc_verdict *out);

#endif
