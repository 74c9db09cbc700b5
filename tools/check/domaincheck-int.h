/*
 * domaincheck-int.h - what the domaincheck*.c files share among
 * themselves: the run context, the DNS wrapper that turns a temporary
 * failure into "could not check", adding checks, and zone-file text.
 * Not for other modules: use domaincheck.h.  Errors and threads: as
 * domaincheck.h; a struct dc_ctx belongs to one run.
 */
#ifndef AM_DOMAINCHECK_INT_H
#define AM_DOMAINCHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "domaincheck.h"

#define DC_REGION_MAX	32

/* What the alignment log says about the domain (domaincheck-log.c). */
struct dc_logscan {
	size_t	messages;		/* records with this From domain */
	size_t	ses_messages;		/* ... recognised as SES */
	size_t	ses_signed;		/* ... SES with a d=<domain> signature */
	size_t	ses_default_mail_from;	/* ... SES with an amazonses.com envelope */
	char	selectors[AM_DC_SELECTORS_MAX][64];	/* of d=<domain> on SES mail */
	size_t	nselectors;
	char	mail_from[AM_DOMAIN_MAX];	/* a custom envelope domain under the domain */
	char	region[DC_REGION_MAX];
};

struct dc_ctx {
	am_resolver *res;
	am_dmarc *dmarc;
	struct am_dc_result *r;
	const char *domain;		/* = r->domain, normalized */
	char	region[DC_REGION_MAX];	/* "" while unknown */
	char	mail_from[AM_DOMAIN_MAX];	/* custom MAIL FROM, "" when none */
	bool	have_log;
	struct dc_logscan log;
};

/*
 * Look name/rrtype up; never NULL.  SERVFAIL and timeouts mark the run
 * failed ("could not check") and are returned as such for the caller to
 * stop on: dc_temp(answer) is true then.
 */
struct am_dns_answer *dc_lookup(struct dc_ctx *, const char *name, int rrtype);
bool	dc_temp(const struct am_dns_answer *);

/* Append a check; fix (may be NULL) is copied.  Returns it for tweaks. */
struct am_dc_check *dc_add(struct dc_ctx *, enum am_dc_section, const char *name,
	    enum am_dc_status, int hint, unsigned points, const char *fix,
	    const char *detail_fmt, ...) __attribute__((format(printf, 8, 9)));

/* owner. TXT "text" as one zone-file line (split at 255, quotes escaped). */
void	dc_zone_txt(struct am_buf *, const char *owner, const char *text);
/* "; remove: " + line, for records to delete (zone files cannot say it). */
void	dc_zone_remove(struct am_buf *, const char *line);
/* "; remove: owner. TXT ..." for a TXT record to delete. */
void	dc_zone_remove_txt(struct am_buf *, const char *owner, const char *text);
/* A newline between fix lines. */
void	dc_zone_nl(struct am_buf *);

/* ---- the DMARC part: domaincheck-dmarc.c, domaincheck-dmarcbis.c (RFC 9989) ---- */

#define DC_DMARC_TAGS_MAX	32

/* A published record as tag=value pairs, in order, for rewriting. */
struct dc_tagrec {
	char	name[DC_DMARC_TAGS_MAX][16];
	char	value[DC_DMARC_TAGS_MAX][512];
	size_t	n;
};

/* Set tag to value in place (value NULL: remove it); a new p= goes first. */
void	dc_tagrec_set(struct dc_tagrec *, const char *tag, const char *value);

/* Where discovery found the record that applies (or did not). */
struct dc_dmarc_found {
	size_t	n;			/* DMARC records at where: 0 none, 1, or several */
	char	*rec;			/* n >= 1: the first record's text (malloc'ed) */
	char	where[AM_DOMAIN_MAX];	/* the name (without "_dmarc.") looked at last */
	bool	from_org;		/* where is not the domain itself */
	char	asked[512];		/* "_dmarc.a, _dmarc.b": the names asked, for the detail */
	/* RFC 9989 only (treewalk set): the engine's view and the walk's leftovers. */
	bool	treewalk;
	struct am_dmarc_verdict v;	/* am_dmarc_evaluate() on the domain, no identifiers */
	char	multi[AM_DOMAIN_MAX];	/* a walk name before where with several records, or "" */
	size_t	nmulti;			/* how many records there */
};

/*
 * One published record, judged by several checks: each one that loses
 * points changes "fixed", and all of them name the same fix, the record
 * with every change applied (one line to publish, not one per tag).
 */
struct dc_dmarc_judge {
	struct dc_ctx *c;
	const struct am_dmarc_record *d;
	const struct dc_dmarc_found *f;
	struct dc_tagrec fixed;
	size_t	pending[12];		/* indexes of checks that get the fix */
	size_t	npending;
};

/*
 * The DMARC records at _dmarc.<domain>: how many, and the first one's
 * text in *rec (malloc'ed; NULL for none).  A DNS failure fails the run.
 */
size_t	dc_dmarc_count(struct dc_ctx *, const char *domain, char **rec);
/* Add a DMARC check; one that is not a pass gets the fixed record. */
void	dc_dmarc_add(struct dc_dmarc_judge *, const char *name, enum am_dc_status, int hint,
	    unsigned points, const char *detail);

/*
 * The tag whose value applies and its value ("" when void): under RFC
 * 7489 sp= for a record found at the organizational domain, else p=;
 * under RFC 9989 the engine's choice (4.10.1: p, sp, or np for a
 * non-existent domain), named by the tag written in the record that
 * holds it (np falls back to sp, then p: 4.7).
 */
void	dc_dmarc_applied(const struct dc_dmarc_judge *, const char **tag, const char **pol);
/*
 * RFC 9989 discovery: the engine's tree walk on c->domain, the record it
 * applies (looked up again, cached, for its text) and any walk name with
 * several records.  Returns false when the run failed (DNS).
 */
bool	dc_dmarc_walk(struct dc_ctx *, struct dc_dmarc_found *);
/* RFC 9989: several records at one walk name (dmarc-multiple), when a record applied anyway. */
void	dc_dmarc_check_multiple(struct dc_ctx *, const struct dc_dmarc_found *);
/* RFC 9989's own checks of a usable record: np, psd, t, historic pct. */
void	dc_dmarc_check_bis(struct dc_dmarc_judge *);

/* The three parts; each adds its checks. */
void	dc_check_dkim(struct dc_ctx *, const struct am_dc_options *);
void	dc_check_mail_from(struct dc_ctx *);
void	dc_check_dmarc(struct dc_ctx *);

/* Read path; false with why when it cannot be read. */
bool	dc_log_scan(const char *path, const char *domain, struct dc_logscan *, char *why, size_t whylen);

/* Points (see man/alignmilter-check.1). */
#define DC_PTS_EASY_DKIM_NONE	40	/* no working Easy DKIM selector */
#define DC_PTS_EASY_DKIM_UNKNOWN 15	/* nothing to check: no selector known */
#define DC_PTS_SELECTOR_FAIL	15
#define DC_PTS_SELECTOR_WARN	5
#define DC_PTS_DEFAULT_MAIL_FROM 20
#define DC_PTS_MAIL_FROM_BAD	25	/* not a subdomain of the domain */
#define DC_PTS_MX_FAIL		20
#define DC_PTS_SPF_FAIL		20
#define DC_PTS_DMARC_NONE	35	/* no record, several, or no policy */
#define DC_PTS_DMARC_AS_NONE	20	/* p= broken, read as p=none */
#define DC_PTS_DMARC_IGNORED	5	/* tags ignored as invalid */
#define DC_PTS_POLICY_NONE	15
#define DC_PTS_SP_NONE		5
#define DC_PTS_PCT		5
#define DC_PTS_RUA		5
#define DC_PTS_ASPF_STRICT	20
#define DC_PTS_ASPF_STRICT_MAYBE 5
/* RFC 9989 (DMARCStandard rfc9989) */
#define DC_PTS_DMARC_MULTI	20	/* several records at a walk name, discarded */
#define DC_PTS_NP_NONE		5
#define DC_PTS_TESTING		10	/* t=y under an enforcing policy */
#define DC_PTS_PCT_HISTORIC	5	/* pct below 100: ignored, the policy applies to all */
#define DC_PTS_ORG_SPLIT	20	/* MAIL FROM and From have other organizational domains */
#define DC_PTS_PSD_YES		5	/* psd=y on the domain's own record */

#define DC_CAP_DKIM		40
#define DC_CAP_MAIL_FROM	25
#define DC_CAP_DMARC		35

#endif
