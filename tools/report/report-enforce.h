/*
 * report-enforce.h - "is it safe to enforce?": alignmilter-report
 * --enforce, the readiness of each From domain for its next DMARC policy
 * (alignmilter-report(1), section IS IT SAFE TO ENFORCE?).
 *
 * Owns: the window (whole UTC days ending with the day of the newest
 * record, or of --now), the sending sources and their counts per day
 * (report-enforce-source.c names a message's source), the pass / fail /
 * unknown split of a message (DMARC pass; fail, and for "none" an
 * aligned identifier that passed or not; temperror and permerror are
 * unknown), the thresholds and the verdict per domain.  The renderers
 * are report-enforce-text.c (text and JSON) and report-enforce-html.c
 * (the paged HTML); they only read the finished state below.
 *
 * Errors: am_enforce_new() returns NULL with err when the Public Suffix
 * List cannot be read (the HELO organizational domains need it).
 * am_enforce_option() prints a usage message to stderr and returns false
 * for a bad value.  The writers return false with err ("PATH: reason").
 * Nothing else fails; out of memory aborts.
 *
 * Threads: one; an am_enforce belongs to its caller.
 */
#ifndef AM_REPORT_ENFORCE_H
#define AM_REPORT_ENFORCE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dmarc.h"
#include "auth/verdict.h"

#include "reportmap.h"

#define AM_ENFORCE_WINDOW_MAX	366	/* --window: at most a year of days */
#define AM_ENFORCE_LABEL_MAX	384

/* getopt_long values of the options below (clear of report-main's letters). */
enum {
	AM_ENFORCE_OPT_ENFORCE = 0x1000,
	AM_ENFORCE_OPT_WINDOW,
	AM_ENFORCE_OPT_READY_PASS,
	AM_ENFORCE_OPT_READY_DAYS,
	AM_ENFORCE_OPT_READY_SOURCE,
	AM_ENFORCE_OPT_NOW,
	AM_ENFORCE_OPT_PSL,
	AM_ENFORCE_OPT_PAGE_SIZE,
	AM_ENFORCE_OPT_SOURCES,
	AM_ENFORCE_OPT_LAST
};

/* The entries report-main.c puts into its struct option table. */
#define AM_ENFORCE_LONGOPTS \
	{ "enforce", no_argument, NULL, AM_ENFORCE_OPT_ENFORCE }, \
	{ "window", required_argument, NULL, AM_ENFORCE_OPT_WINDOW }, \
	{ "ready-pass", required_argument, NULL, AM_ENFORCE_OPT_READY_PASS }, \
	{ "ready-days", required_argument, NULL, AM_ENFORCE_OPT_READY_DAYS }, \
	{ "ready-source", required_argument, NULL, AM_ENFORCE_OPT_READY_SOURCE }, \
	{ "now", required_argument, NULL, AM_ENFORCE_OPT_NOW }, \
	{ "psl", required_argument, NULL, AM_ENFORCE_OPT_PSL }, \
	{ "page-size", required_argument, NULL, AM_ENFORCE_OPT_PAGE_SIZE }, \
	{ "sources", required_argument, NULL, AM_ENFORCE_OPT_SOURCES }

#define AM_ENFORCE_USAGE \
	"  --enforce  is it safe to enforce? the readiness of each From domain for\n" \
	"             its next DMARC policy, instead of the figures\n" \
	"    --window DAYS (14)  --ready-pass PCT (99)  --ready-days N (7)\n" \
	"    --ready-source PCT (1)  --now T  --psl FILE  --sources N (10)\n" \
	"    --page-size N (100 domains a page of --html)\n"

struct am_enforce_opts {
	bool	on;			/* --enforce */
	unsigned window;		/* days */
	double	ready_pass;		/* percent of pass among pass + fail */
	unsigned ready_days;		/* days of mail needed */
	double	ready_source;		/* percent of the volume that makes a source count */
	bool	have_now;
	time_t	now;
	const char *psl_path;
	unsigned page_size;		/* domains per HTML page */
	unsigned sources;		/* sources shown per domain (text, HTML) */
};

/* One UTC day of one source. hints: among its messages that failed. */
struct am_ebin {
	int32_t	day;
	uint32_t total, pass, fail, unknown;
	uint32_t hints[AM_HINT_COUNT];
};

struct am_esource {
	char	*label;			/* "SES us-east-1 default MAIL FROM", "192.0.2.0/24 helo example.net" */
	bool	ses;
	bool	default_mail_from;	/* ses */
	char	*region;		/* ses: "" when unknown */
	char	*network;		/* other: "192.0.2.0/24", "2001:db8:1::/48", "" unknown */
	char	*helo_domain;		/* other: the HELO's org domain, else the HELO; "" none */
	struct am_ebin *bins;
	size_t	nbins, capbins;
	char	*fix[AM_HINT_COUNT];	/* of its newest failing message with the hint */
	char	*records[AM_HINT_COUNT];
	time_t	fix_ts[AM_HINT_COUNT];
	/* Set by am_enforce_finish(): the window's sums. */
	unsigned long total, pass, fail, unknown;
	unsigned long hints[AM_HINT_COUNT];
	bool	has_hint;
	enum am_hint hint;		/* the most frequent among its failures */
	bool	blocks;			/* >= ready_source of the volume and fails > 100 - ready_pass */
};

enum am_enforce_state {
	AM_ENF_NOT_READY = 0,
	AM_ENF_NO_DATA,			/* fewer days of mail than ready_days */
	AM_ENF_READY,
	AM_ENF_ENFORCING,		/* p=reject (without t=y) applies already */
};

struct am_edomain {
	char	*domain;
	struct am_rmap *index;		/* source label -> sources[] */
	struct am_esource *sources;
	size_t	nsources, capsources;
	time_t	newest;			/* of the policy below */
	enum am_dmarc_policy policy;	/* that applied to its newest message (UNSPEC: no record) */
	enum am_dmarc_policy_tag tag;
	bool	testing;		/* t=y */
	/* Set by am_enforce_finish(). */
	unsigned long total, pass, fail, unknown;
	int32_t	first_day, last_day;
	unsigned days;			/* first_day .. last_day, inclusive */
	enum am_enforce_state state;
	enum am_dmarc_policy next;	/* the next step (UNSPEC when enforcing) */
	bool	next_drops_testing;	/* the next step is the same policy without t=y */
	size_t	*order;			/* sources by volume */
	size_t	nactive;		/* those of order[] with mail in the window */
	const struct am_esource *blocker; /* the failing source the verdict names, or NULL */
	char	verdict[1024];		/* the verdict line */
};

typedef struct am_enforce am_enforce;

struct am_enforce {
	struct am_enforce_opts o;
	am_dmarc *dmarc;		/* PSL only: HELO organizational domains */
	am_resolver *res;	/* a backend that never answers: no DNS is asked */
	struct am_rmap *index;		/* domain -> domains[] */
	struct am_edomain *domains;
	size_t	count, cap;
	bool	any;
	int32_t	max_day;		/* the newest day seen (or --now's) */
	/* Set by am_enforce_finish(). */
	int32_t	start_day, end_day;
	const struct am_edomain **sorted; /* with mail in the window, not ready first */
	size_t	nsorted;
	unsigned long states[AM_ENF_ENFORCING + 1];
};

/* The defaults of alignmilter-report(1). */
void	am_enforce_opts_init(struct am_enforce_opts *);
/* One of the AM_ENFORCE_LONGOPTS; false (after a message to stderr) on a bad value. */
bool	am_enforce_option(struct am_enforce_opts *, int c, const char *arg, const char *prog);

am_enforce *am_enforce_new(const struct am_enforce_opts *, char *err, size_t errlen);
void	am_enforce_free(am_enforce *);
/* Count one message (already filtered by --since and --domain). */
void	am_enforce_add(am_enforce *, const struct am_verdict *);
/* The window's sums, the verdicts and the order; once, after the last add. */
void	am_enforce_finish(am_enforce *);

/* "not-ready", "not-enough-data", "ready", "enforcing". */
const char *am_enforce_state_name(enum am_enforce_state);
/* Percentages of the verdict: pass rounded down, fail rounded up, to 0.1. */
double	am_enforce_pct_down(unsigned long n, unsigned long total);
double	am_enforce_pct_up(unsigned long n, unsigned long total);
/* "YYYY-MM-DD" of a day number. */
void	am_enforce_date(int32_t day, char buf[16]);

/* report-enforce-source.c: the source of a message into s (label and parts). */
void	am_enforce_source_of(const am_enforce *, const struct am_verdict *, struct am_esource *s,
	    char label[AM_ENFORCE_LABEL_MAX]);

/* report-enforce-text.c */
void	am_enforce_text(const am_enforce *, struct am_buf *out);
void	am_enforce_json(const am_enforce *, struct am_buf *out);

/*
 * report-enforce-html.c: the pages.  path "-": one page with every domain
 * on standard output; else path is page 1 and page N is path with "-N"
 * before its ".html" (stale higher pages of an earlier run are removed).
 * *pages says how many were written.
 */
bool	am_enforce_html_write(const am_enforce *, const char *path, unsigned *pages, char *err,
	    size_t errlen);
/*
 * Page number page (0-based) of npages, per_page domains each, into out;
 * links to the other pages name them after base (a file name, no path).
 */
void	am_enforce_html_page(const am_enforce *, size_t page, size_t npages, size_t per_page,
	    const char *base, struct am_buf *out);

#endif
