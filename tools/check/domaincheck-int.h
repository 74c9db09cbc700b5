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
	const am_dmarc *dmarc;
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

#define DC_CAP_DKIM		40
#define DC_CAP_MAIL_FROM	25
#define DC_CAP_DMARC		35

#endif
