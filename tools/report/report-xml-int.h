/*
 * report-xml-int.h - what the files of the aggregate-report family share
 * (report-xml.c collects and writes, report-xml7489.c and
 * report-xml9990.c render one document each); nothing else includes it.
 *
 * A row is one <record>: the messages of one report (a group: a domain
 * and a UTC day) that agree on everything the record says.  Which domain
 * a group is depends on the format: the From domain for RFC 7489 (as
 * before RFC 9990), the DMARC Policy Domain for RFC 9990.
 *
 * Errors: none; rendering cannot fail.  Out of memory aborts.
 * Threads: any; the structures belong to one struct am_dmarcxml.
 */
#ifndef AM_REPORT_XML_INT_H
#define AM_REPORT_XML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/util.h"
#include "auth/dmarc.h"
#include "auth/verdict.h"

#define AM_DMARCXML_DAY 86400

struct am_xsig {
	char	*domain, *selector;
	enum am_dkim_result result;
};

/* RFC 9990's policy_evaluated beyond RFC 7489's (report-xml9990.c). */
struct am_xeval {
	const char *disposition;	/* "none", "pass", "quarantine", "reject" */
	const char *reason_type;	/* NULL: no <reason> */
	char	reason_comment[96];	/* "" : no <comment> */
};

struct am_xrow {
	char	*group;			/* the report's domain (see above) */
	char	*domain;		/* From domain */
	time_t	day;			/* its UTC midnight */
	unsigned long count;
	char	*source_ip, *envelope_from, *spf_domain;
	enum am_dmarc_policy disposition;
	bool	dkim_aligned, spf_aligned, helo_scope;
	enum am_spf_result spf;
	struct am_xsig *sigs;
	size_t	nsigs;
	size_t	policy;			/* index into pols */
	struct am_xeval eval;		/* RFC 9990 only */
};

/* What policy_published says for one group. */
struct am_xpolicy {
	bool	found;
	time_t	ts;
	char	*domain;
	char	*org_domain;		/* the From domains' organizational domain, "" when not logged */
	char	adkim, aspf;
	enum am_dmarc_policy p;		/* RFC 7489: the policy that applied */
	int	pct;
	/* RFC 9990: the record's tags (UNSPEC: absent), t=, discovery. */
	enum am_dmarc_policy pub_p, pub_sp, pub_np;
	bool	testing;
	enum am_dmarc_discovery discovery;
};

struct am_dmarcxml {
	enum am_dmarc_standard std;
	struct am_rmap *rowmap, *polmap;
	struct am_xrow *rows;
	size_t	nrows, rowcap;
	struct am_xpolicy *pols;
	size_t	npols, polcap;
	unsigned long skipped, no_policy;
};

/* One document's parts, shared by both formats. */
struct am_xdoc {
	const struct am_xrow *first;	/* of the group; rows sorted */
	const struct am_xrow *const *rows;
	size_t	nrows;
	const struct am_xpolicy *policy;
	const char *org, *email, *receiver;
};

/* <name>value</name>, value escaped. */
void	am_dmarcxml_elem(struct am_buf *, const char *indent, const char *name, const char *value);

/* RFC 7489 Appendix C, exactly as alignmilter-report always wrote it. */
void	am_dmarcxml_render7489(const struct am_xdoc *, struct am_buf *out);

/* RFC 9990 (draft-ietf-dmarc-aggregate-reporting-32). */
void	am_dmarcxml_render9990(const struct am_xdoc *, struct am_buf *out);
/* The row's RFC 9990 policy_evaluated parts for v. */
void	am_dmarcxml_eval9990(const struct am_verdict *v, struct am_xeval *out);
/* v's signatures in RFC 9990 3.1.3's order of preference, as indices into v->dkim.sig. */
void	am_dmarcxml_sig_order(const struct am_verdict *v, size_t order[AM_DKIM_REPORT_MAX]);
/* RFC 9990 3.1.1.10: the MAIL FROM domain, "" for a null reverse-path. */
const char *am_dmarcxml_envelope9990(const struct am_verdict *v);

#endif
