/*
 * dmarc-int.h - what the dmarc*.c files share among themselves: the
 * handle and the lookup, clean domain names, record discovery, the
 * vetted record and the policy libopendmarc picks.  Not for other
 * modules: use auth/dmarc.h.
 *
 *   dmarc.c         set-up and evaluation: the verdict, our alignment of
 *                   each identifier, pass/fail, pct sampling
 *   dmarc-names.c   domain names: cleaning, the Public Suffix List, the
 *                   organizational domain, alignment of two names
 *   dmarc-lookup.c  the _dmarc TXT lookups and record discovery
 *                   (RFC 7489 6.6.3: selection, org-domain fallback)
 *   dmarc-record.c  record text: "v=DMARC1", tag vetting (6.3, 6.4,
 *                   6.6.3), the clean record, inspection for the checker
 *   dmarc-policy.c  libopendmarc: its process-global set-up and the
 *                   policy (p= or sp=), adkim, aspf, pct it reads
 *
 * Errors and threads: as dmarc.h; each file's header says its part.
 */
#ifndef AM_DMARC_INT_H
#define AM_DMARC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpsl.h>

#include "dns/resolver.h"
#include "auth/verdict.h"
#include "auth/dmarc.h"

struct am_dmarc {
	am_resolver *res;
	psl_ctx_t *psl;
};

struct am_dmarc_lookup {
	char	domain[AM_DOMAIN_MAX];	/* normalized From domain */
	bool	valid;			/* domain is a usable DNS name */
	am_dns_query *q;		/* pending _dmarc query, or NULL */
	struct am_dns_answer *ans;	/* its answer once waited for */
};

/* ---- dmarc-names.c ---- */

/*
 * Copy a domain into out, lower-cased, without one trailing (root) dot.
 * False when it is not a plausible DNS name.
 */
bool	am_dmarc_name_clean(const char *in, char *out, size_t outlen);
/* The Public Suffix List at path; NULL with err when unreadable or not the PSL. */
psl_ctx_t *am_dmarc_psl_load(const char *path, char *err, size_t errlen);
void	am_dmarc_psl_free(psl_ctx_t *);

/* ---- dmarc-lookup.c ---- */

enum am_dmarc_disc {
	AM_DMARC_DISC_NONE,	/* no DMARC record at this name */
	AM_DMARC_DISC_FOUND,	/* exactly one */
	AM_DMARC_DISC_MULTI,	/* more than one: no policy */
	AM_DMARC_DISC_TEMP,	/* DNS temporary error */
};

/*
 * Discover the record: the From domain's (lk), else (nothing there, not
 * an error) out->org_domain's.  Sets out->record_domain and
 * out->used_org_domain, and the reason on a DNS error.  On FOUND *rec
 * points into the answer kept in lk or *org_ans (the caller frees it).
 */
enum am_dmarc_disc am_dmarc_lookup_discover(am_dmarc *, am_dmarc_lookup *lk,
	    struct am_dns_answer **org_ans, const char **rec, struct am_dmarc_verdict *out);

/* ---- dmarc-record.c ---- */

/*
 * The record libopendmarc is to parse, built from the vetted tags only.
 * False (reason filled) when RFC 7489 6.6.3 applies no policy; reason
 * also names ignored tags, or the "treated as p=none" case.
 */
bool	am_dmarc_record_clean(const char *rec, char *out, size_t outlen, char *reason,
	    size_t rlen);

/* ---- dmarc-policy.c ---- */

/* libopendmarc's one-time set-up (the first psl_path wins); false with err. */
bool	am_dmarc_policy_init(const char *psl_path, char *err, size_t errlen);
/*
 * Parse the clean record with libopendmarc and fill out->policy (p=, or
 * sp= for an org-domain record: org non-NULL), adkim, aspf and pct.
 * False with out->reason on a parse error or no usable policy.
 */
bool	am_dmarc_policy_select(const char *from, const char *record, const char *org,
	    const struct am_spf_verdict *spf, const struct am_dkim_verdict *dkim,
	    struct am_dmarc_verdict *out);

/* ---- dmarc.c ---- */

/* out->reason = a b c e, truncated to fit: a domain can be longer than the field. */
void	am_dmarc_reason_set(struct am_dmarc_verdict *out, const char *a, const char *b,
	    const char *c, const char *e);

#endif
