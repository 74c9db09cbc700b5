/*
 * dmarc-int.h - what the dmarc*.c files share among themselves: the
 * handle and the lookup, clean domain names, record discovery, the
 * vetted record and the policy libopendmarc picks.  Not for other
 * modules: use auth/dmarc.h.
 *
 *   dmarc.c         set-up, DMARCStandard, and RFC 7489 evaluation: the
 *                   verdict, our alignment of each identifier, pass/fail,
 *                   pct sampling
 *   dmarc-bis.c     RFC 9989 evaluation: discovery, p/sp/np, t=y, relaxed
 *                   alignment by walks under a per-message bound
 *   dmarc-walk.c    RFC 9989's DNS tree walk: a message's _dmarc names,
 *                   the walk, the organizational domain it gives
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
	enum am_dmarc_standard std;
	psl_ctx_t *psl;
};

/* RFC 9989: one _dmarc name a message's walks asked for. */
struct am_dmarc_name {
	char	name[AM_DOMAIN_MAX];	/* the domain, without "_dmarc." */
	am_dns_query *q;		/* pending, or NULL */
	struct am_dns_answer *ans;	/* once waited for */
	bool	done;			/* waited for and classified */
	int	disc;			/* enum am_dmarc_disc, once done */
	const char *rec;		/* AM_DMARC_DISC_FOUND: the record, in ans */
	char	psd;			/* AM_DMARC_DISC_FOUND: its psd= ('y', 'n', 'u') */
};

struct am_dmarc_lookup {
	char	domain[AM_DOMAIN_MAX];	/* normalized From domain */
	bool	valid;			/* domain is a usable DNS name */
	am_dns_query *q;		/* rfc7489: pending _dmarc query, or NULL */
	struct am_dns_answer *ans;	/* rfc7489: its answer once waited for */
	struct am_dmarc_name *names;	/* rfc9989: AM_DMARC_NAMES_MAX, the walks' queries */
	size_t	nnames;
	struct am_dns_answer *exist_ans; /* rfc9989: does the From domain exist (np) */
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

/* Start _dmarc.<domain> TXT; NULL when the name would be too long. */
am_dns_query *am_dmarc_query_start(am_dmarc *, const char *domain);
/* Classify an answer (NULL: timeout); *rec points into it when FOUND. */
enum am_dmarc_disc am_dmarc_answer_select(const struct am_dns_answer *, const char **rec);

/*
 * Discover the record: the From domain's (lk), else (nothing there, not
 * an error) out->org_domain's.  Sets out->record_domain and
 * out->used_org_domain, and the reason on a DNS error.  On FOUND *rec
 * points into the answer kept in lk or *org_ans (the caller frees it).
 */
enum am_dmarc_disc am_dmarc_lookup_discover(am_dmarc *, am_dmarc_lookup *lk,
	    struct am_dns_answer **org_ans, const char **rec, struct am_dmarc_verdict *out);

/* ---- dmarc-walk.c (RFC 9989 4.10) ---- */

/* A walk's outcome: the records it found, longest name first. */
struct am_dmarc_walk {
	const struct am_dmarc_name *found[AM_DMARC_WALK_QUERIES];
	size_t	nfound;
	const struct am_dmarc_name *failed; /* the query whose DNS failure ended the walk */
	bool	full;			/* the message's name table ran out: walk incomplete */
};

/* The message's entry for name, or NULL when no walk asked it. */
struct am_dmarc_name *am_dmarc_walk_find(const am_dmarc_lookup *, const char *name);
/* Start every query of domain's walk not yet asked (end of headers). */
void	am_dmarc_walk_prefetch(am_dmarc *, am_dmarc_lookup *, const char *domain);
/* Walk from domain: until a psd=y/n record, a DNS failure, or the root. */
void	am_dmarc_walk_run(am_dmarc *, am_dmarc_lookup *, const char *domain,
	    struct am_dmarc_walk *out);
/* 4.10.2: the organizational domain of domain after a complete walk. */
void	am_dmarc_walk_org(const char *domain, const struct am_dmarc_walk *, char *out,
	    size_t outlen);
/* Free a lookup's walk state (queries cancelled, answers freed). */
void	am_dmarc_walk_free(am_dmarc_lookup *);

/* ---- dmarc-bis.c ---- */

/* RFC 9989 evaluation; lk started for from (clean). */
void	am_dmarc_evaluate_bis(am_dmarc *, am_dmarc_lookup *lk, const char *from,
	    struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
	    struct am_dmarc_verdict *out);

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
