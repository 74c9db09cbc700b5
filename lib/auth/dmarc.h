/*
 * dmarc.h - DMARC (RFC 7489): policy discovery, alignment, evaluation.
 *
 * Owns: the Public Suffix List (libpsl; loaded once at start-up), the
 * organizational domain, our own relaxed/strict alignment (libopendmarc
 * 1.4.2 gets strict alignment wrong), the _dmarc TXT lookups through
 * am_resolver with fallback to the organizational domain, and the use of
 * libopendmarc to parse the record and pick the policy.  Implemented by
 * the dmarc*.c family (lib/auth/dmarc-int.h says which file does what).
 *
 * Errors: nothing is logged.  am_dmarc_new() returns NULL with err;
 * am_dmarc_evaluate() always fills the verdict (none, or temperror or
 * permerror with a reason when something fails).  Out of memory aborts.
 *
 * Threads: am_dmarc_new() and am_dmarc_free() at start-up and shutdown;
 * the rest from any thread at once, one am_dmarc_lookup per message.
 */
#ifndef AM_DMARC_H
#define AM_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolver.h"
#include "auth/verdict.h"

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

/* ---- record inspection (alignmilter-check) ---- */

/* A TXT string that is a DMARC record: "v=DMARC1" first (RFC 7489 6.3). */
bool	am_dmarc_is_record(const char *txt);

/* One record's tags, vetted exactly as am_dmarc_evaluate() vets them. */
struct am_dmarc_record {
	char	p[16], sp[16];		/* valid values as written; "" when absent or invalid */
	bool	p_invalid, sp_invalid;	/* present with a value RFC 7489 does not know */
	char	adkim, aspf;		/* 'r' or 's'; 'r' when absent or invalid */
	unsigned pct;			/* 0..100; 100 when absent or invalid */
	char	rua[1024];		/* the valid rua URIs, "," separated */
	char	ignored[AM_REASON_MAX];	/* "ignored invalid pct= rua=", or "" */
	bool	usable;			/* false: RFC 7489 6.6.3 applies no policy */
	bool	as_none;		/* p= missing/invalid but rua= usable: treated as p=none */
	char	reason[AM_REASON_MAX];	/* why not usable / treated as p=none */
};

void	am_dmarc_parse_record(const char *record, struct am_dmarc_record *out);

#endif
