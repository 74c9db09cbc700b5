/*
 * verdict.h - the one verdict that flows through alignmilter's pipeline.
 *
 * Owns: the data model of a checked message.  The pipeline fills in the
 * envelope and the From domain, the verifiers (spf.c, dkim-result.c,
 * dmarc.c) their results, ses.c the SES part and the hints; renderers
 * (authres.c, alignlog.c, the syslog line of verdictline.c) only read it.
 * Nothing here knows about libmilter.  All strings are bounded,
 * NUL-terminated, and lower-cased where they are domain names.
 *
 * Errors: none: plain data, and names for its values (verdict.c).
 *
 * Threads: a verdict belongs to its message and to the thread handling
 * it; the name functions are pure.
 */
#ifndef AM_VERDICT_H
#define AM_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AM_DOMAIN_MAX	256	/* 253 octets + NUL, rounded */
#define AM_ADDR_MAX	512	/* envelope address */
#define AM_IP_MAX	64
#define AM_REASON_MAX	160
#define AM_SELECTOR_MAX	128
#define AM_DKIM_REPORT_MAX 50	/* signatures kept in a verdict; more are only counted */
#define AM_FROM_DOMAINS_MAX 5	/* author domains of a malformed From evaluated; more: "too many" */

enum am_spf_result {
	AM_SPF_NONE = 0,
	AM_SPF_NEUTRAL,
	AM_SPF_PASS,
	AM_SPF_FAIL,
	AM_SPF_SOFTFAIL,
	AM_SPF_TEMPERROR,
	AM_SPF_PERMERROR,
};

struct am_spf_verdict {
	enum am_spf_result result;
	bool	helo_identity;		/* MAIL FROM was <>: checked the HELO name */
	char	domain[AM_DOMAIN_MAX];	/* the domain whose record was checked */
	char	reason[AM_REASON_MAX];	/* short comment, e.g. libspf2's reason */
	char	explanation[AM_REASON_MAX]; /* exp= text on fail, if any */
	/*
	 * Set by dmarc.c: domain aligns with the From domain under aspf,
	 * whatever result says (identifier alignment, RFC 7489 3.1.2).
	 * DMARC counts it only together with a pass: dmarc.spf_aligned.
	 */
	bool	aligned;
	/* Set by dmarc.c: same organizational domain as From (relaxed). */
	bool	aligned_relaxed;
};

enum am_dkim_result {
	AM_DKIM_NONE = 0,	/* no signature at all */
	AM_DKIM_PASS,
	AM_DKIM_FAIL,
	AM_DKIM_NEUTRAL,
	AM_DKIM_POLICY,
	AM_DKIM_TEMPERROR,
	AM_DKIM_PERMERROR,
};

struct am_dkim_sig {
	enum am_dkim_result result;
	bool	verified;		/* false: beyond MaximumSignatures, not verified */
	char	domain[AM_DOMAIN_MAX];	/* d= */
	char	selector[AM_SELECTOR_MAX]; /* s= */
	char	algorithm[32];		/* a=, e.g. rsa-sha256, ed25519-sha256 */
	char	b_prefix[9];		/* first 8 characters of b= */
	unsigned keybits;		/* 0 when unknown or ed25519 */
	char	reason[AM_REASON_MAX];	/* "body hash mismatch", "key not found", ... */
	bool	key_not_found;		/* selector record does not exist (NXDOMAIN/NODATA) */
	bool	duplicated_suffix;	/* key exists at <s>._domainkey.<d>.<d> */
	/*
	 * Set by dmarc.c: d= aligns with the From domain under adkim,
	 * whatever result says, so a broken signature for the right domain
	 * reads "aligned, fail".  DMARC counts only aligned passing ones.
	 */
	bool	aligned;
	/* Set by dmarc.c: same organizational domain as From (relaxed). */
	bool	aligned_relaxed;
};

struct am_dkim_verdict {
	size_t	count;			/* entries used in sig[]; those beyond are unspecified */
	size_t	total;			/* DKIM-Signature fields seen (may exceed count) */
	struct am_dkim_sig sig[AM_DKIM_REPORT_MAX];
};

enum am_dmarc_result {
	AM_DMARC_NONE = 0,
	AM_DMARC_PASS,
	AM_DMARC_FAIL,
	AM_DMARC_TEMPERROR,
	AM_DMARC_PERMERROR,
};

enum am_dmarc_policy {
	AM_POLICY_UNSPEC = 0,		/* no record: rendered "none" */
	AM_POLICY_NONE,
	AM_POLICY_QUARANTINE,
	AM_POLICY_REJECT,
};

/* Which of the record's tags gave the policy (RFC 9989 4.10.1). */
enum am_dmarc_policy_tag {
	AM_PTAG_NONE = 0,		/* no record applied */
	AM_PTAG_P,			/* p=: the author's own record, an inherited one without
					   the sp=/np= that would apply, or a record read as p=none */
	AM_PTAG_SP,			/* sp=: inherited by an existing subdomain */
	AM_PTAG_NP,			/* np=: inherited by a non-existent subdomain (NXDOMAIN) */
};

/* How the record was found: RFC 9990's discovery_method. */
enum am_dmarc_discovery {
	AM_DISCOVERY_NONE = 0,		/* no record */
	AM_DISCOVERY_PSL,		/* RFC 7489: From domain, then its PSL org domain */
	AM_DISCOVERY_TREEWALK,		/* RFC 9989 4.10 DNS tree walk */
};

struct am_dmarc_verdict {
	enum am_dmarc_result result;
	enum am_dmarc_policy policy;	/* p= (or sp= when it applied) */
	enum am_dmarc_policy disposition; /* what the policy asks for this message, after pct */
	char	adkim;			/* 'r' or 's' */
	char	aspf;			/* 'r' or 's' */
	int	pct;			/* 0..100 */
	bool	record_found;
	bool	multiple_records;	/* more than one v=DMARC1 record at the From domain
					   (rfc7489: or its org domain): all ignored */
	bool	used_org_domain;	/* record came from the organizational domain */
	bool	sampled_out;		/* fail, but pct sampling chose the next-lower policy */
	char	org_domain[AM_DOMAIN_MAX];
	char	record_domain[AM_DOMAIN_MAX]; /* domain whose _dmarc record applied */
	char	reason[AM_REASON_MAX];
	/*
	 * The DMARC mechanism's view (RFC 7489 3.1, 4.2): SPF passed and is
	 * aligned; some DKIM signature passed and is aligned.  DMARC passes
	 * on either; the aggregate report's policy_evaluated says these.
	 */
	bool	spf_aligned;
	bool	dkim_aligned;
	/*
	 * RFC 9989 (DMARCStandard rfc9989; zero under rfc7489 except
	 * discovery and the published policies).  policy above is the one
	 * policy_tag selected, before t=; with testing (t=y) the disposition
	 * of a failing message, and A-R's policy.dmarc, is the next lower one.
	 */
	enum am_dmarc_policy_tag policy_tag;
	enum am_dmarc_discovery discovery;
	bool	testing;		/* t=y */
	char	psd;			/* the applied record's psd=: 'y', 'n', or 'u' (default) */
	enum am_dmarc_policy published_p, published_sp, published_np; /* UNSPEC: absent */
	unsigned walks_skipped;		/* identifiers past the per-message walk bound: not aligned */
};

enum am_from_status {
	AM_FROM_OK = 0,
	AM_FROM_MISSING,		/* no From header */
	AM_FROM_MULTIPLE,		/* more than one From header or address */
	AM_FROM_NO_DOMAIN,		/* From without a usable domain */
};

/* Hints: bit positions; names and fixes live in ses.c. */
enum am_hint {
	AM_HINT_SES_DEFAULT_MAIL_FROM = 0,
	AM_HINT_ASPF_STRICT_SUBDOMAIN,
	AM_HINT_SES_NO_EASY_DKIM,
	AM_HINT_DKIM_KEY_NOT_FOUND,
	AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX,
	AM_HINT_DMARC_SINGLE_MECHANISM,
	AM_HINT_DMARC_POLICY_NONE,
	AM_HINT_DMARC_NO_RECORD,
	AM_HINT_FROM_INVALID,		/* missing/multiple/domainless From */
	AM_HINT_DMARC_MULTIPLE_RECORDS,	/* two or more v=DMARC1 records */
	AM_HINT_DKIM_ALIGNED_SIG_FAILED,	/* an aligned signature failed, none passed */
	AM_HINT_COUNT
};

struct am_ses_verdict {
	bool	is_ses;
	bool	default_mail_from;	/* envelope domain under amazonses.com */
	char	region[32];		/* e.g. us-east-1; empty when unknown */
};

struct am_verdict {
	time_t	ts;
	char	queue_id[64];
	char	host[AM_DOMAIN_MAX];	/* ReportingHost of the MX that logged it; "" for -t */
	char	client_ip[AM_IP_MAX];
	char	helo[AM_DOMAIN_MAX];
	char	mail_from[AM_ADDR_MAX];	/* without angle brackets; empty for <> */
	enum am_from_status from_status;
	char	from_domain[AM_DOMAIN_MAX];
	struct am_spf_verdict spf;
	struct am_dkim_verdict dkim;
	struct am_dmarc_verdict dmarc;
	struct am_ses_verdict ses;
	unsigned hints;			/* bit set of 1u << enum am_hint */
	/* Inputs the hint logic needs that are not results. */
	bool	has_feedback_id;
	bool	has_x_ses_outgoing;
	char	feedback_id_region[32];
	/*
	 * Every distinct author domain the From field(s) name, filled by the
	 * pipeline when from_status is not OK (a malformed, multi-address or
	 * doubled From): each is evaluated and the strictest outcome is
	 * from_domain and dmarc (RFC 7489 6.6.1, RFC 9989 11.5).
	 * over: more than AM_FROM_DOMAINS_MAX (or AM_FROM_ADDRESSES_MAX
	 * addresses); incomplete: an address without a usable domain, or
	 * NUL.  Either way the evaluation is incomplete (RFC 9989 11.5).
	 */
	char	author_domains[AM_FROM_DOMAINS_MAX][AM_DOMAIN_MAX];
	unsigned n_author_domains;
	bool	author_domains_over;
	bool	author_domains_incomplete;
};

const char *am_spf_result_name(enum am_spf_result);
const char *am_dkim_result_name(enum am_dkim_result);
const char *am_dmarc_result_name(enum am_dmarc_result);
const char *am_dmarc_policy_name(enum am_dmarc_policy);
/* "none", "quarantine", "reject" (any case) to the policy; UNSPEC for anything else. */
enum am_dmarc_policy am_dmarc_policy_parse(const char *);
/* The record tag a policy came from: "p", "sp", "np" ("p" for AM_PTAG_NONE). */
const char *am_dmarc_policy_tag_name(enum am_dmarc_policy_tag);
/* The policy one step lower (t=y, pct): reject -> quarantine -> none. */
enum am_dmarc_policy am_dmarc_policy_lower(enum am_dmarc_policy);

#endif
