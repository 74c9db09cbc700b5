/*
 * dmarcwalk.h - the RFC 9989 tree-walk case table (tests/dmarc/walk/cases.txt)
 * for tests/check_dmarc_walk.c: reading it, writing its zones for the
 * loopback nsd, and evaluating one case's message through am_dmarc on a
 * libunbound resolver pointed at that nsd (optionally behind a counting
 * backend that records every query the DMARC module makes).
 *
 * Errors: dw_load() and dw_write_zones() return false with err (a table
 * line it cannot read, a file it cannot write).  dw_eval() cannot fail
 * short of a broken test set-up, which aborts.
 *
 * Threads: the test program's; the counting backend takes a lock, as
 * the DMARC module may query from more than one thread.
 */
#ifndef DMARCWALK_H
#define DMARCWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "auth/verdict.h"

#define DW_CASES_MAX	256
#define DW_ZONES_MAX	32
#define DW_RRS_MAX	512
#define DW_EXPECT_MAX	40	/* key=value expectations of one case */

struct dw_rr {
	char	owner[AM_DOMAIN_MAX];
	char	type[8];		/* A, CNAME, MX, TXT */
	char	data[600];
};

struct dw_zone {
	char	name[AM_DOMAIN_MAX];
	bool	broken;			/* nsd answers SERVFAIL for the whole zone */
};

/* One expectation: key=value as written ("?" = not asserted). */
struct dw_expect {
	char	key[16];
	char	value[700];
};

struct dw_case {
	char	name[64];
	int	line;			/* of "case" in the table */
	char	from[AM_DOMAIN_MAX];
	bool	has_spf;
	struct am_spf_verdict spf;	/* result and domain filled */
	struct am_dkim_verdict dkim;	/* result, domain, verified filled */
	enum dw_ns { DW_NS_MAIN = 0, DW_NS_DEAD, DW_NS_NOROOT } ns; /* which server (ns=) */
	size_t	nexpect;
	struct dw_expect expect[DW_EXPECT_MAX];
};

struct dw_table {
	size_t	nzones, nrrs, ncases;
	struct dw_zone zones[DW_ZONES_MAX];
	struct dw_rr rrs[DW_RRS_MAX];
	struct dw_case cases[DW_CASES_MAX];
};

/* The servers a case's resolver can point at ("127.0.0.1@PORT"). */
struct dw_servers {
	char	main[64];		/* nsd with the table's zones and an empty root: NXDOMAIN outside */
	char	dead[64];		/* a bound UDP port never read: every query times out */
	char	noroot[64];		/* nsd with the zones, no root: REFUSED outside them */
};

/* What one evaluation gave, and the queries it made (counting mode). */
struct dw_outcome {
	struct am_dmarc_verdict v;
	struct am_spf_verdict spf;
	struct am_dkim_verdict dkim;
	bool	counted;		/* queries below are complete */
	size_t	nq;
	char	(*qname)[AM_DOMAIN_MAX];
	int	*qtype;
};

/* Read the table at path into t (static-sized; large: allocate it). */
bool	dw_load(const char *path, struct dw_table *t, char *err, size_t errlen);
/* The expectation key's value, or NULL when the case does not name it. */
const char *dw_expect_get(const struct dw_case *, const char *key);
/* Write one ZONE.zone per zone into dir; zonefiles gets their paths, space-separated. */
bool	dw_write_zones(const struct dw_table *, const char *dir, char *zonefiles, size_t len,
	    char *err, size_t errlen);
/*
 * Evaluate c with am_dmarc (rfc9989, psl_path) on a resolver at the server
 * the case names.  counting: through a backend that logs each query and
 * has no cache of its own, so out->nq is every query made.
 */
void	dw_eval(const struct dw_case *c, const struct dw_servers *,
	    const char *psl_path, bool counting, struct dw_outcome *out);
void	dw_outcome_free(struct dw_outcome *);
/* One JSON line for tests/dmarc/mailauth/compare.js. */
void	dw_json(FILE *, const struct dw_case *, const struct dw_outcome *);

#endif
