/*
 * dmarc.h - DMARC: policy discovery, alignment, evaluation, under RFC
 * 9989 (the default: DNS tree walk, np, psd, t) or RFC 7489
 * (DMARCStandard rfc7489: Public Suffix List, pct).
 *
 * Owns: the Public Suffix List (libpsl; loaded once at start-up), the
 * organizational domain, our own relaxed/strict alignment (libopendmarc
 * 1.4.2 gets strict alignment wrong), the _dmarc TXT lookups through
 * am_resolver (RFC 9989's walks, or RFC 7489's fallback to the
 * organizational domain), and, under RFC 7489, the use of libopendmarc
 * to parse the record and pick the policy.  Implemented by the dmarc*.c
 * family (lib/auth/dmarc-int.h says which file does what).
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

/* DMARCStandard: which rules discover the record and the org domain. */
enum am_dmarc_standard {
	AM_DMARC_RFC9989 = 0,	/* DNS tree walk, np, psd, t; pct ignored (the default) */
	AM_DMARC_RFC7489,	/* Public Suffix List, pct sampling; libopendmarc's policy */
};

/* The walk's bounds (RFC 9989 4.10: at most 8 queries a walk). */
#define AM_DMARC_WALK_QUERIES	8
#define AM_DMARC_WALKS_MAX	10	/* identifier walks a message; more do not align */
#define AM_DMARC_NAMES_MAX	32	/* distinct _dmarc names a message asks (walks share most) */

/*
 * The names an RFC 9989 tree walk from domain (clean: lower case, no root
 * dot) queries, longest first, pointing into domain (each is a suffix of
 * it); at most AM_DMARC_WALK_QUERIES (4.10 steps 3-7).
 */
size_t	am_dmarc_walk_names(const char *domain, const char *names[AM_DMARC_WALK_QUERIES]);

/*
 * psl_path: PublicSuffixList file (organizational domains under
 * rfc7489, and the relaxed alignment am_dmarc_aligned() reports).
 * NULL on error (err filled).
 */
am_dmarc *am_dmarc_new(am_resolver *, enum am_dmarc_standard, const char *psl_path,
	    char *err, size_t errlen);
enum am_dmarc_standard am_dmarc_standard_of(const am_dmarc *);
/* "rfc9989" / "rfc7489"; false for anything else. */
bool	am_dmarc_standard_parse(const char *, enum am_dmarc_standard *);
const char *am_dmarc_standard_name(enum am_dmarc_standard);
void	am_dmarc_free(am_dmarc *);

/* Organizational domain of domain by the PSL (RFC 7489 3.2) into out; false if none. */
bool	am_dmarc_org_domain(const am_dmarc *, const char *domain, char *out, size_t outlen);
/* Identifier alignment: strict = equal ignoring case; relaxed = same org domain. */
bool	am_dmarc_aligned(const am_dmarc *, const char *from_domain, const char *other, bool strict);

/* Start the _dmarc lookup for from_domain early (end of headers); never NULL. */
am_dmarc_lookup *am_dmarc_start(am_dmarc *, const char *from_domain);
void	am_dmarc_lookup_free(am_dmarc_lookup *);
/*
 * RFC 9989: start the tree walk of an identifier that will likely need
 * one (the SPF domain, known at end of headers), so its queries fly with
 * the author's.  A guess only (same Public Suffix List org domain as
 * From); evaluation walks what it needs anyway.  No-op under rfc7489.
 */
void	am_dmarc_prefetch(am_dmarc *, am_dmarc_lookup *, const char *identifier);

/*
 * Evaluate: waits for the lookup (and the org-domain fallback if needed),
 * sets spf->aligned and each dkim sig's aligned, fills out.  pct sampling
 * uses rand_pct (0..99; pass a random value; < pct means "apply").
 */
void	am_dmarc_evaluate(am_dmarc *, am_dmarc_lookup *, const char *from_domain,
	    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
	    unsigned rand_pct, struct am_dmarc_verdict *out);

/* ---- record inspection (alignmilter-check) ---- */

/* A TXT string that is a DMARC record: "v=DMARC1" first (RFC 7489 6.3, RFC 9989 4.7). */
bool	am_dmarc_is_record(const char *txt);

/* One record's tags, vetted exactly as am_dmarc_evaluate() vets them. */
struct am_dmarc_record {
	char	p[16], sp[16], np[16];	/* valid values as written, lower case; "" when absent or invalid */
	bool	p_invalid, sp_invalid, np_invalid; /* present with a value the standard does not know */
	char	adkim, aspf;		/* 'r' or 's'; 'r' when absent or invalid */
	unsigned pct;			/* 0..100; 100 when absent or invalid */
	bool	pct_present;		/* pct= written (historic under RFC 9989) */
	char	psd;			/* 'y', 'n' or 'u' ('u' when absent or invalid; RFC 9989) */
	bool	testing;		/* t=y (RFC 9989) */
	char	rua[1024];		/* the valid rua URIs, "," separated */
	char	ignored[AM_REASON_MAX];	/* "ignored invalid pct= rua=", or "" */
	bool	usable;			/* false: no DMARC processing (RFC 7489 6.6.3, RFC 9989 4.10.1) */
	bool	as_none;		/* p= missing/invalid (or sp=/np= invalid) but rua= usable: p=none */
	char	reason[AM_REASON_MAX];	/* why not usable / treated as p=none */
};

/*
 * Vet a record under a standard.  rfc7489 knows no np, psd or t (they
 * stay "", 'u', false) and needs a valid p; rfc9989 also voids an
 * invalid np.  Either way a void record with a usable rua= is p=none.
 */
void	am_dmarc_parse_record(const char *record, enum am_dmarc_standard, struct am_dmarc_record *out);


#endif
