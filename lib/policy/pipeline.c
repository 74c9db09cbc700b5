/*
 * pipeline.c - one message through SPF, DKIM and DMARC (see pipeline.h,
 * which also says how it fails and who may call it).  After set-up the
 * shared pipeline is only read, but for the pct= sampling state (atomic).
 *
 * A From that is not one clean domain (two From fields, two addresses,
 * a field the strict reader refuses) is not left outside DMARC, which
 * would let it walk past p=reject (RFC 9989 11.5): every author domain
 * a lenient reader finds is evaluated, up to AM_FROM_DOMAINS_MAX, and
 * the strictest outcome is the verdict (RFC 7489 6.6.1).
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Utility library. */
#include "util/appendfile.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

/* Verifiers. */
#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/message.h"
#include "auth/spf.h"

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/metrics-verdict.h"
#include "policy/authres.h"
#include "policy/pipeline.h"
#include "policy/ses.h"
#include "policy/verdictline.h"

struct am_pipeline {
	const struct am_conf *conf;
	am_resolver *res;
	am_spf	*spf;
	am_dkim_lib *dkim;
	am_dmarc *dmarc;
	am_appendfile *alog;
	_Atomic uint64_t pct_state;	/* pct= sampling; see pct_roll */
};

struct am_pipeline_msg {
	am_pipeline *pipeline;
	struct am_verdict v;
	am_dkim_msg *dkim;
	am_dns_query *spf_prefetch;	/* the SPF TXT, started at MAIL FROM */
	am_dmarc_lookup *dmarc;		/* started at end of headers */
	struct am_from_authors authors;	/* every From field's author domains, leniently */
	am_dmarc_lookup *author_dmarc[AM_FROM_DOMAINS_MAX]; /* theirs, for a From that is not OK */
	size_t	mail_from_overlong;	/* its length when it did not fit v.mail_from, else 0 */
	unsigned from_headers;
	bool	eoh_done;
	bool	eom_done;
	struct timespec started;	/* CLOCK_MONOTONIC at message start, when metrics are on */
};

am_pipeline *
am_pipeline_new_with_resolver(const struct am_conf *c, am_resolver *res, char *err, size_t errlen)
{
	am_pipeline *e = am_xcalloc(1, sizeof(*e));

	e->conf = c;
	e->res = res;
	atomic_init(&e->pct_state, ((uint64_t)arc4random() << 32) | arc4random());
	if ((e->spf = am_spf_new(res, err, errlen)) == NULL ||
	    (e->dkim = am_dkim_lib_new(res, c->max_signatures, err, errlen)) == NULL ||
	    (e->dmarc = am_dmarc_new(res, c->dmarc_standard, c->psl_path, err, errlen)) == NULL) {
		am_pipeline_free(e);
		return NULL;
	}
	return e;
}

am_pipeline *
am_pipeline_new(const struct am_conf *c, char *err, size_t errlen)
{
	am_resolver *res = am_resolver_new_sized(c->nameservers, c->dns_timeout * 1000u,
	    c->dns_cache_size, err, errlen);

	return res != NULL ? am_pipeline_new_with_resolver(c, res, err, errlen) : NULL;
}

void
am_pipeline_free(am_pipeline *e)
{
	if (e == NULL)
		return;
	am_appendfile_close(e->alog);
	am_dmarc_free(e->dmarc);
	am_dkim_lib_free(e->dkim);
	am_spf_free(e->spf);
	am_resolver_free(e->res);
	free(e);
}

const struct am_conf *
am_pipeline_conf(const am_pipeline *e)
{
	return e->conf;
}

bool
am_pipeline_open_log(am_pipeline *e, char *err, size_t errlen)
{
	if (e->conf->alignment_log == NULL)
		return true;
	e->alog = am_appendfile_open(e->conf->alignment_log, e->conf->alignment_log_mode, err, errlen);
	return e->alog != NULL;
}

void
am_pipeline_reopen_log(am_pipeline *e)
{
	if (e->alog != NULL && am_appendfile_reopen(e->alog))
		am_log(LOG_INFO, "alignment log %s reopened", e->conf->alignment_log);
}

void
am_pipeline_record(am_pipeline *e, const struct am_verdict *v)
{
	struct am_buf b;

	am_buf_init(&b);
	am_verdictline_render(v, &b);
	am_log(LOG_INFO, "%s", b.data);
	if (e->alog != NULL) {
		am_alignlog_render(v, &b);
		/* appendfile logs the failure itself (once per episode); here it is counted. */
		if (!am_appendfile_append(e->alog, b.data, b.len))
			am_metrics_error(AM_MET_ERR_ALIGNLOG_WRITE);
	}
	am_buf_free(&b);
}

/* The domain SPF will check: the MAIL FROM domain, or the HELO name for <>. */
static const char *
spf_identity_domain(const struct am_verdict *v)
{
	const char *at = strrchr(v->mail_from, '@');

	if (v->mail_from[0] == '\0')
		return v->helo;
	return at != NULL ? at + 1 : v->mail_from;
}

/*
 * An address too long for the verdict (RFC 5321 4.5.3.1.3 allows 256
 * octets) keeps only what comes before its first '@', marked as cut:
 * a cut address would hand SPF, the record and the header a prefix of
 * its domain as if it were the domain.
 */
static void
mail_from_cut(struct am_verdict *v, const char *mail_from)
{
	size_t n = strcspn(mail_from, "@");

	if (n > sizeof(v->mail_from) - 4)
		n = sizeof(v->mail_from) - 4;
	memcpy(v->mail_from, mail_from, n);
	memcpy(v->mail_from + n, "...", 4);
}

/*
 * A message context, zeroed but for v.dkim.sig (30 KB): its entries
 * beyond v.dkim.count are unspecified (verdict.h) and each is cleared as
 * it is filled.  Zeroing it on every MAIL FROM was 36,000 of the 44,000
 * instructions of a session whose recipients are refused (callgrind),
 * and made every message in flight touch pages it seldom uses.
 */
static am_pipeline_msg *
msg_alloc(void)
{
	am_pipeline_msg *c = am_xmalloc(sizeof(*c));
	size_t sig_at = offsetof(am_pipeline_msg, v.dkim.sig), sig_end = sig_at + sizeof(c->v.dkim.sig);

	memset(c, 0, sig_at);
	memset((char *)c + sig_end, 0, sizeof(*c) - sig_end);
	return c;
}

am_pipeline_msg *
am_pipeline_msg_new(am_pipeline *e, const char *client_ip, const char *helo, const char *mail_from)
{
	am_pipeline_msg *c = msg_alloc();
	const char *domain;

	c->pipeline = e;
	if (am_metrics_on())
		(void)clock_gettime(CLOCK_MONOTONIC, &c->started);
	am_strlcpy(c->v.client_ip, client_ip ? client_ip : "", sizeof(c->v.client_ip));
	am_strlcpy(c->v.helo, helo ? helo : "", sizeof(c->v.helo));
	if (am_strlcpy(c->v.mail_from, mail_from ? mail_from : "", sizeof(c->v.mail_from)) >=
	    sizeof(c->v.mail_from)) {
		c->mail_from_overlong = strlen(mail_from);
		mail_from_cut(&c->v, mail_from);
	}
	c->v.from_status = AM_FROM_MISSING;
	c->dkim = am_dkim_msg_new(e->dkim, NULL);
	domain = spf_identity_domain(&c->v);
	/* Warm the resolver's cache: the SPF check at end of headers finds it there. */
	if (c->mail_from_overlong == 0 && domain[0] != '\0' && strchr(domain, '.') != NULL)
		c->spf_prefetch = am_dns_start(e->res, domain, AM_RR_TXT);
	return c;
}

void
am_pipeline_msg_set_queue_id(am_pipeline_msg *c, const char *queue_id)
{
	am_strlcpy(c->v.queue_id, queue_id ? queue_id : "", sizeof(c->v.queue_id));
	/* A queue id names a message on one MX: the record says which (ReportingHost). */
	if (c->pipeline->conf->reporting_host != NULL)
		am_strlcpy(c->v.host, c->pipeline->conf->reporting_host, sizeof(c->v.host));
}

static bool
name_is(const char *name, size_t namelen, const char *want)
{
	return namelen == strlen(want) && strncasecmp(name, want, namelen) == 0;
}

static void
note_from(am_pipeline_msg *c, const char *value, size_t valuelen)
{
	enum am_from_status st;
	char domain[AM_DOMAIN_MAX];

	am_from_authors_add(&c->authors, value, valuelen);
	if (++c->from_headers > 1) {
		c->v.from_status = AM_FROM_MULTIPLE;
		c->v.from_domain[0] = '\0';
		return;
	}
	st = am_from_domain(value, valuelen, domain, sizeof(domain));
	c->v.from_status = st;
	if (st == AM_FROM_OK)
		am_strlcpy(c->v.from_domain, domain, sizeof(c->v.from_domain));
}

void
am_pipeline_msg_header(am_pipeline_msg *c, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	char nbuf[128];

	if (c->eoh_done)
		return;
	if (name_is(name, namelen, "From"))
		note_from(c, value, valuelen);
	else if (name_is(name, namelen, "Feedback-ID")) {
		/* Other senders use Feedback-ID too: only SES's own form counts. */
		if (am_ses_feedback_region(value, valuelen, c->v.feedback_id_region,
		    sizeof(c->v.feedback_id_region)))
			c->v.has_feedback_id = true;
	} else if (name_is(name, namelen, "X-SES-Outgoing"))
		c->v.has_x_ses_outgoing = true;
	/* libopendkim wants a NUL-terminated name; longer names are no DKIM input anyway. */
	if (namelen >= sizeof(nbuf))
		return;
	memcpy(nbuf, name, namelen);
	nbuf[namelen] = '\0';
	am_dkim_header(c->dkim, nbuf, value, valuelen);
}

static void
run_spf(am_pipeline_msg *c)
{
	if (c->spf_prefetch != NULL) {
		am_dns_answer_free(am_dns_wait(c->spf_prefetch));
		c->spf_prefetch = NULL;
	}
	if (c->mail_from_overlong != 0) {
		/* RFC 7208 4.3 (and 2.6.1): no valid domain to check is "none". */
		memset(&c->v.spf, 0, sizeof(c->v.spf));
		c->v.spf.result = AM_SPF_NONE;
		snprintf(c->v.spf.reason, sizeof(c->v.spf.reason),
		    "MAIL FROM of %zu octets is too long: no domain checked", c->mail_from_overlong);
		return;
	}
	am_spf_check(c->pipeline->spf, c->v.client_ip, c->v.helo, c->v.mail_from, &c->v.spf);
}

/*
 * A From that is not OK: keep its author domains in the verdict and
 * start each one's lookup now, so their DNS flies together with the
 * SPF and DKIM queries.
 */
static void
start_authors(am_pipeline_msg *c)
{
	const struct am_from_authors *a = &c->authors;
	unsigned i;

	c->v.n_author_domains = a->n;
	c->v.author_domains_over = a->over;
	c->v.author_domains_incomplete = a->incomplete;
	for (i = 0; i < a->n; i++) {
		am_strlcpy(c->v.author_domains[i], a->domain[i], sizeof(c->v.author_domains[i]));
		c->author_dmarc[i] = am_dmarc_start(c->pipeline->dmarc, a->domain[i]);
	}
}

void
am_pipeline_msg_eoh(am_pipeline_msg *c)
{
	if (c->eoh_done)
		return;
	c->eoh_done = true;
	/* A domainless or doubled From still gets a defined DMARC verdict below. */
	if (c->v.from_status == AM_FROM_OK) {
		c->dmarc = am_dmarc_start(c->pipeline->dmarc, c->v.from_domain);
		/* A custom MAIL FROM subdomain's walk flies with the author's. */
		if (c->mail_from_overlong == 0)
			am_dmarc_prefetch(c->pipeline->dmarc, c->dmarc, spf_identity_domain(&c->v));
	} else
		start_authors(c);
	/*
	 * SPF first: its record was asked at MAIL FROM and the DKIM keys as
	 * their signature fields arrived, so the SPF chain (include:,
	 * redirect=) now runs while the keys are in flight; libopendkim
	 * then finds them answered (measured cold: 3 -> 2 round trips).
	 */
	run_spf(c);
	am_dkim_eoh(c->dkim);
}

void
am_pipeline_msg_body(am_pipeline_msg *c, const unsigned char *buf, size_t len)
{
	if (!c->eoh_done)
		am_pipeline_msg_eoh(c);
	am_dkim_body(c->dkim, buf, len);
}

/*
 * 0-99 for DMARC's pct= sampling.  glibc 2.36's arc4random is a system
 * call per draw; a splitmix64 sequence from one random seed is enough for
 * sampling and costs no system call per message.
 */
static unsigned
pct_roll(am_pipeline *e)
{
	uint64_t z = atomic_fetch_add(&e->pct_state, 0x9E3779B97F4A7C15ull) + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (unsigned)(z % 100);
}

static const char *
bad_from_text(const struct am_verdict *v)
{
	return v->from_status == AM_FROM_MULTIPLE ? "more than one From address" :
	    v->from_status == AM_FROM_MISSING ? "no From header" : "From has no usable domain";
}

/* No author domain to evaluate: permerror, no deciding domain. */
static void
dmarc_for_bad_from(am_pipeline_msg *c)
{
	struct am_dmarc_verdict *d = &c->v.dmarc;

	memset(d, 0, sizeof(*d));
	d->result = AM_DMARC_PERMERROR;
	d->adkim = d->aspf = 'r';
	snprintf(d->reason, sizeof(d->reason), "%s", bad_from_text(&c->v));
	c->v.from_domain[0] = '\0';
}

/*
 * How strict an outcome is, for a From naming several author domains
 * (RFC 7489 6.6.1, RFC 9989 11.5: apply the most strict policy among
 * the checks that fail).  Highest first:
 *   fail, by disposition (reject > quarantine > none): what enforcement
 *     applies, so a spoof of a p=reject domain is rejected whatever
 *     other domain rides along;
 *   temperror: the policy is unknown and could be reject, which a retry
 *     may show (a failing domain's DNS trouble must not buy a pass);
 *   permerror: no policy can apply to that domain;
 *   none: that domain asks for nothing;
 *   pass: only when every author domain passes.
 * The first of equals (in From order) decides.
 */
static unsigned
strictness(const struct am_dmarc_verdict *d)
{
	switch (d->result) {
	case AM_DMARC_FAIL:
		return 4 + (unsigned)d->disposition;	/* UNSPEC 0 .. REJECT 3 */
	case AM_DMARC_TEMPERROR:
		return 3;
	case AM_DMARC_PERMERROR:
		return 2;
	case AM_DMARC_NONE:
		return 1;
	case AM_DMARC_PASS:
		break;
	}
	return 0;
}

/*
 * A From that is not one clean domain: evaluate each author domain on a
 * copy of the SPF and DKIM results (evaluation marks their alignment
 * with the domain it evaluates) and keep the strictest; the verdict's
 * from_domain, dmarc and alignment flags are then that domain's.  A set
 * that is over the cap or incomplete never reads pass or none: its
 * evaluation is incomplete (RFC 9989 11.5), permerror unless it failed.
 */
static void
dmarc_for_authors(am_pipeline_msg *c)
{
	struct am_verdict *v = &c->v;
	struct am_spf_verdict spf;
	struct am_dkim_verdict *dkim = am_xmalloc(sizeof(*dkim)), *best_dkim = am_xmalloc(sizeof(*best_dkim));
	struct am_dmarc_verdict d;
	char why[AM_REASON_MAX];
	unsigned i, best = 0, rank, best_rank = 0;

	for (i = 0; i < v->n_author_domains; i++) {
		spf = v->spf;
		memcpy(dkim, &v->dkim, sizeof(*dkim));
		am_dmarc_evaluate(c->pipeline->dmarc, c->author_dmarc[i], v->author_domains[i], &spf, dkim,
		    pct_roll(c->pipeline), &d);
		rank = strictness(&d);
		if (i == 0 || rank > best_rank) {
			best = i;
			best_rank = rank;
			v->dmarc = d;
			v->spf.aligned = spf.aligned;
			v->spf.aligned_relaxed = spf.aligned_relaxed;
			memcpy(best_dkim, dkim, sizeof(*best_dkim));
		}
	}
	memcpy(&v->dkim, best_dkim, sizeof(v->dkim));
	free(best_dkim);
	free(dkim);
	am_strlcpy(v->from_domain, v->author_domains[best], sizeof(v->from_domain));
	snprintf(why, sizeof(why), "%s%s; strictest of %u author domain%s", bad_from_text(v),
	    v->author_domains_over ? ", too many author domains" :
	    v->author_domains_incomplete ? ", an author without a usable domain" : "",
	    v->n_author_domains, v->n_author_domains == 1 ? "" : "s");
	if ((v->author_domains_over || v->author_domains_incomplete) && v->dmarc.result != AM_DMARC_FAIL) {
		v->dmarc.result = AM_DMARC_PERMERROR;
		v->dmarc.disposition = AM_POLICY_UNSPEC;
		v->dmarc.spf_aligned = v->dmarc.dkim_aligned = false;
	}
	if (v->dmarc.reason[0] != '\0') {
		am_strlcat(why, ": ", sizeof(why));
		am_strlcat(why, v->dmarc.reason, sizeof(why));
	}
	am_strlcpy(v->dmarc.reason, why, sizeof(v->dmarc.reason));
}

/* Metrics: the verdict and the time from message start to it (0 if metrics came on mid-message). */
static void
count_verdict(const am_pipeline_msg *c)
{
	struct timespec now;
	double secs = 0;

	if (!am_metrics_on())
		return;
	if (c->started.tv_sec != 0 && clock_gettime(CLOCK_MONOTONIC, &now) == 0)
		secs = (double)(now.tv_sec - c->started.tv_sec) + (now.tv_nsec - c->started.tv_nsec) / 1e9;
	am_metrics_count_verdict(&c->v, secs);
}

const struct am_verdict *
am_pipeline_msg_eom(am_pipeline_msg *c)
{
	if (c->eom_done)
		return &c->v;
	c->eom_done = true;
	if (!c->eoh_done)
		am_pipeline_msg_eoh(c);
	am_dkim_eom(c->dkim, &c->v.dkim);
	if (c->v.from_status == AM_FROM_OK) {
		am_dmarc_evaluate(c->pipeline->dmarc, c->dmarc, c->v.from_domain, &c->v.spf, &c->v.dkim,
		    pct_roll(c->pipeline), &c->v.dmarc);
	} else if (c->v.n_author_domains > 0) {
		dmarc_for_authors(c);
	} else {
		dmarc_for_bad_from(c);
	}
	am_ses_analyse(c->pipeline->dmarc, &c->v);
	c->v.ts = time(NULL);
	count_verdict(c);
	return &c->v;
}

void
am_pipeline_msg_free(am_pipeline_msg *c)
{
	unsigned i;

	if (c == NULL)
		return;
	am_dns_cancel(c->spf_prefetch);
	am_dmarc_lookup_free(c->dmarc);
	for (i = 0; i < AM_FROM_DOMAINS_MAX; i++)
		am_dmarc_lookup_free(c->author_dmarc[i]);
	am_dkim_msg_free(c->dkim);
	free(c);
}
