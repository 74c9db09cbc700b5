/*
 * domaincheck.h - grading a domain's Amazon SES set-up from public DNS
 * (the checks behind alignmilter-check).
 *
 * Owns: the list of checks (Easy DKIM selectors, custom MAIL FROM MX and
 * SPF, DMARC record), the points each one costs, the grade, and the two
 * renderings (human lines, JSON).  All DNS goes through am_resolver; the
 * DMARC and SPF record grammars are the milter's own (dmarc.h, spf.h).
 * The scoring is documented in man/alignmilter-check.1; keep them equal.
 *
 * Errors: nothing is logged.  A run that cannot be judged (a temporary
 * DNS failure, an unreadable log, a bad domain name) comes back with
 * failed set and error saying why; am_dc_run() never returns NULL.  Out
 * of memory aborts.
 *
 * Threads: any; no global state, a result belongs to its caller.
 */
#ifndef AM_DOMAINCHECK_H
#define AM_DOMAINCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/dmarc.h"
#include "dns/resolver.h"
#include "util/util.h"
#include "auth/verdict.h"

#define AM_DC_SELECTORS_MAX	16	/* selectors checked per run */

enum am_dc_status { AM_DC_PASS = 0, AM_DC_WARN, AM_DC_FAIL };

/* The three parts of the score, each with a cap on the points it can lose. */
enum am_dc_section { AM_DC_SEC_DKIM = 0, AM_DC_SEC_MAIL_FROM, AM_DC_SEC_DMARC, AM_DC_SEC_COUNT };

struct am_dc_check {
	char	name[96];		/* "easy-dkim", "dkim:<sel>", "mail-from-spf", ... */
	enum am_dc_section section;
	enum am_dc_status status;
	int	hint;			/* enum am_hint, or -1 for none */
	unsigned points;		/* points lost, after the section cap */
	char	detail[512];		/* what was found; why points were lost */
	char	*fix;			/* zone-file lines ("\n" separated) or NULL */
};

struct am_dc_options {
	const char *domain;
	const char *selectors[AM_DC_SELECTORS_MAX];
	size_t	nselectors;
	const char *mail_from;		/* custom MAIL FROM domain or label; NULL: none given */
	const char *region;		/* SES region; NULL: learnt from log or MX */
	const char *log_path;		/* alignment log for selectors; NULL: none */
};

struct am_dc_result {
	char	domain[AM_DOMAIN_MAX];
	struct am_dc_check *checks;
	size_t	count, cap;
	unsigned score;			/* 100 minus the points lost */
	char	grade;			/* 'A'..'D', 'F' */
	bool	failed;			/* could not check: error says why */
	char	error[512];
};

/*
 * Run every check.  dmarc is the milter's DMARC engine: under its
 * DMARCStandard rfc7489 it gives the organizational domain (PSL), under
 * rfc9989 the record that applies and the organizational domains (the
 * DNS tree walk, RFC 9989 4.10).
 * Returns a result that is never NULL; result->failed is set on a DNS
 * temporary error, an unreadable log or an invalid domain.
 */
struct am_dc_result *am_dc_run(am_resolver *, am_dmarc *, const struct am_dc_options *);
void	am_dc_result_free(struct am_dc_result *);

/*
 * One line per check (status, name, points, hint, detail), each followed
 * by its fix as bare zone-file lines at the left margin, ready to paste.
 */
void	am_dc_render_text(const struct am_dc_result *, struct am_buf *out);
/*
 * {"domain":..,"grade":..,"score":..,"checks":[{"name","status","hint",
 * "fix","records","points","detail"}]}: fix is the zone-file lines joined
 * by "\n" (or null), records the same lines as an array.
 */
void	am_dc_render_json(const struct am_dc_result *, struct am_buf *out);

/* The grade of a score: A >= 90, B >= 80, C >= 70, D >= 60, else F. */
char	am_dc_grade(unsigned score);
/* The points a section can lose at most. */
unsigned am_dc_section_cap(enum am_dc_section);

#endif
