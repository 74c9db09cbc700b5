/*
 * metrics.c - the metrics registry: a fixed table of families, one C11
 * atomic per series, and the Prometheus text format 0.0.4 rendering.
 *
 * Owns: every series' storage (static arrays, sized by the product of the
 * family's closed label sets), the on/off switch, the build version label
 * and the process start time.  See metrics.h for the contract.
 *
 * Why static and relaxed: registration at run time would need a lock or
 * an allocation on the hot path; relaxed atomics are enough because each
 * series is independent and a scrape need not be a consistent snapshot.
 *
 * Errors: none (an unknown label value is "other", an index out of range
 * the last value).  Threads: any.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/metrics.h"

typedef _Atomic unsigned long long am_ctr;

enum fam_type { FAM_COUNTER, FAM_GAUGE, FAM_HISTOGRAM, FAM_INFO };

#define NLABELSETS(a) (sizeof(a) / sizeof((a)[0]))
#define SET(a) { (a), NLABELSETS(a) }

struct labelset {
	const char *const *values;
	unsigned n;
};

struct family {
	const char *name;
	const char *help;
	enum fam_type type;
	unsigned nlabels;
	const char *label[AM_METRICS_MAX_LABELS];
	struct labelset set[AM_METRICS_MAX_LABELS];
};

/* The closed label sets; the last value catches everything else. */
static const char *const dmarc_results[] = { "none", "pass", "fail", "temperror", "permerror" };
static const char *const dispositions[] = { "none", "quarantine", "reject" };
static const char *const spf_results[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" };
static const char *const dkim_results[] = {
	"none", "pass", "fail", "neutral", "policy", "temperror", "permerror" };
static const char *const dkim_algorithms[] = {
	"rsa-sha256", "ed25519-sha256", "rsa-sha1", "other" };
static const char *const key_sizes[] = {
	"<1024", "1024", "2048", "4096", "ed25519", "other" };
static const char *const hints[] = {
	"ses-default-mail-from", "aspf-strict-subdomain", "ses-no-easy-dkim",
	"dkim-key-not-found", "dkim-cname-duplicated-suffix", "dmarc-single-mechanism",
	"dmarc-policy-none", "dmarc-no-record", "from-header-invalid",
	"dmarc-multiple-records", "dkim-aligned-signature-failed", "other" };
static const char *const ses_mail_from[] = { "default", "custom" };
/* Regions where SES sends (AWS's published list), "unknown" when none was found. */
static const char *const ses_regions[] = {
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
	"sa-east-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "ap-south-1",
	"ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-5",
	"il-central-1", "me-south-1", "me-central-1", "af-south-1",
	"us-gov-west-1", "us-gov-east-1", "unknown", "other" };
static const char *const reject_actions[] = { "rejected", "quarantined" };
static const char *const dns_outcomes[] = {
	"ok", "nxdomain", "nodata", "servfail", "timeout", "other" };
static const char *const error_kinds[] = {
	"dns", "alignlog_write", "milter_protocol", "other" };

static const struct family fam[AM_MET_COUNT] = {
	[AM_MET_MESSAGES] = { "alignmilter_messages_total",
	    "Messages verified, by DMARC result and disposition.", FAM_COUNTER, 2,
	    { "dmarc_result", "disposition" }, { SET(dmarc_results), SET(dispositions) } },
	[AM_MET_SPF] = { "alignmilter_spf_results_total",
	    "SPF (MAIL FROM) results.", FAM_COUNTER, 1, { "result" }, { SET(spf_results) } },
	[AM_MET_DKIM] = { "alignmilter_dkim_signatures_total",
	    "DKIM signatures, by result, algorithm and key size.", FAM_COUNTER, 3,
	    { "result", "algorithm", "key_size" },
	    { SET(dkim_results), SET(dkim_algorithms), SET(key_sizes) } },
	[AM_MET_HINTS] = { "alignmilter_hints_total",
	    "Hints given, by hint name.", FAM_COUNTER, 1, { "hint" }, { SET(hints) } },
	[AM_MET_SES] = { "alignmilter_ses_messages_total",
	    "Messages sent through Amazon SES, by MAIL FROM kind and region.", FAM_COUNTER, 2,
	    { "mail_from", "region" }, { SET(ses_mail_from), SET(ses_regions) } },
	[AM_MET_REJECTFAILURES] = { "alignmilter_rejectfailures_total",
	    "Messages rejected or quarantined by RejectFailures.", FAM_COUNTER, 1,
	    { "action" }, { SET(reject_actions) } },
	[AM_MET_DNS_QUERIES] = { "alignmilter_dns_queries_total",
	    "DNS queries sent, by outcome.", FAM_COUNTER, 1, { "outcome" }, { SET(dns_outcomes) } },
	[AM_MET_DNS_CACHE_HITS] = { "alignmilter_dns_cache_hits_total",
	    "DNS lookups answered from the cache.", FAM_COUNTER, 0, { 0 }, { { 0 } } },
	[AM_MET_DNS_CACHE_MISSES] = { "alignmilter_dns_cache_misses_total",
	    "DNS lookups not in the cache.", FAM_COUNTER, 0, { 0 }, { { 0 } } },
	[AM_MET_DNS_CACHE_BYTES] = { "alignmilter_dns_cache_bytes",
	    "Bytes held by the DNS cache's entries.", FAM_GAUGE, 0, { 0 }, { { 0 } } },
	[AM_MET_VERIFY_SECONDS] = { "alignmilter_verify_seconds",
	    "Time from a message's start to its verdict.", FAM_HISTOGRAM, 0, { 0 }, { { 0 } } },
	[AM_MET_EOM_SECONDS] = { "alignmilter_eom_seconds",
	    "Time spent in the end-of-message callback.", FAM_HISTOGRAM, 0, { 0 }, { { 0 } } },
	[AM_MET_CONN_OPEN] = { "alignmilter_connections_open",
	    "MTA connections open.", FAM_GAUGE, 0, { 0 }, { { 0 } } },
	[AM_MET_CONN_REFUSED] = { "alignmilter_connections_refused_total",
	    "MTA connections refused at the connection limit.", FAM_COUNTER, 0, { 0 }, { { 0 } } },
	[AM_MET_ERRORS] = { "alignmilter_errors_total",
	    "Errors logged, by kind.", FAM_COUNTER, 1, { "kind" }, { SET(error_kinds) } },
	[AM_MET_BUILD_INFO] = { "alignmilter_build_info",
	    "Build information; the value is always 1.", FAM_INFO, 1, { "version" }, { { 0 } } },
	[AM_MET_START_TIME] = { "process_start_time_seconds",
	    "Start time of the process since the Unix epoch in seconds.", FAM_GAUGE, 0,
	    { 0 }, { { 0 } } },
};

/* Storage: counters and gauges share one array; offsets are fixed. */
#define N_MESSAGES	(NLABELSETS(dmarc_results) * NLABELSETS(dispositions))
#define N_SPF		NLABELSETS(spf_results)
#define N_DKIM		(NLABELSETS(dkim_results) * NLABELSETS(dkim_algorithms) * NLABELSETS(key_sizes))
#define N_HINTS		NLABELSETS(hints)
#define N_SES		(NLABELSETS(ses_mail_from) * NLABELSETS(ses_regions))
#define N_REJECT	NLABELSETS(reject_actions)
#define N_DNS		NLABELSETS(dns_outcomes)
#define N_ERRORS	NLABELSETS(error_kinds)
#define N_SERIES	(N_MESSAGES + N_SPF + N_DKIM + N_HINTS + N_SES + N_REJECT + N_DNS + \
			 N_ERRORS + 3)	/* + hits, misses, refused */

static am_ctr series[N_SERIES];
static unsigned offset[AM_MET_COUNT];
static _Atomic long long gauges[AM_MET_COUNT];	/* gauges by family */

/* Histogram upper bounds in microseconds; +Inf is the extra last bucket. */
static const unsigned long long bound_us[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000 };
#define NBOUNDS	NLABELSETS(bound_us)

struct histogram {
	am_ctr bucket[NBOUNDS + 1];	/* not cumulative: rendering sums */
	am_ctr sum_us;
};
static struct histogram hist[2];	/* VERIFY_SECONDS, EOM_SECONDS */

static atomic_bool enabled;
static char version[64] = PACKAGE_VERSION;
static _Atomic long long start_time;

static void
init_offsets(void)
{
	unsigned off = 0;

	for (unsigned m = 0; m < AM_MET_COUNT; m++) {
		unsigned n = 1;

		offset[m] = off;
		if (fam[m].type != FAM_COUNTER)
			continue;
		for (unsigned d = 0; d < fam[m].nlabels; d++)
			n *= fam[m].set[d].n;
		off += n;
	}
}

/* Offsets are constants of the table; computed once before main. */
__attribute__((constructor)) static void
metrics_init(void)
{
	init_offsets();
	atomic_store_explicit(&start_time, (long long)time(NULL), memory_order_relaxed);
}

void
am_metrics_enable(bool on)
{
	atomic_store_explicit(&enabled, on, memory_order_relaxed);
}

bool
am_metrics_on(void)
{
	return atomic_load_explicit(&enabled, memory_order_relaxed);
}

void
am_metrics_set_version(const char *v)
{
	am_strlcpy(version, v != NULL ? v : "", sizeof(version));
}

unsigned
am_metrics_label(enum am_metric m, unsigned dim, const char *value)
{
	const struct labelset *s;

	if ((unsigned)m >= AM_MET_COUNT || dim >= fam[m].nlabels || fam[m].set[dim].n == 0)
		return 0;
	s = &fam[m].set[dim];
	for (unsigned i = 0; value != NULL && i < s->n; i++)
		if (strcmp(s->values[i], value) == 0)
			return i;
	return s->n - 1;
}

/* The series index of a label combination; out-of-range indices clamp to the last value. */
static unsigned
series_index(enum am_metric m, const unsigned l[AM_METRICS_MAX_LABELS])
{
	unsigned idx = 0;

	for (unsigned d = 0; d < fam[m].nlabels; d++) {
		unsigned n = fam[m].set[d].n;

		idx = idx * n + (l[d] < n ? l[d] : n - 1);
	}
	return offset[m] + idx;
}

void
am_metrics_add(enum am_metric m, unsigned l0, unsigned l1, unsigned l2, unsigned long long n)
{
	unsigned l[AM_METRICS_MAX_LABELS] = { l0, l1, l2 };

	if (!am_metrics_on() || (unsigned)m >= AM_MET_COUNT || fam[m].type != FAM_COUNTER)
		return;
	atomic_fetch_add_explicit(&series[series_index(m, l)], n, memory_order_relaxed);
}

void
am_metrics_inc(enum am_metric m, unsigned l0, unsigned l1, unsigned l2)
{
	am_metrics_add(m, l0, l1, l2, 1);
}

void
am_metrics_gauge_add(enum am_metric m, long long delta)
{
	if (!am_metrics_on() || (unsigned)m >= AM_MET_COUNT || fam[m].type != FAM_GAUGE)
		return;
	atomic_fetch_add_explicit(&gauges[m], delta, memory_order_relaxed);
}

void
am_metrics_gauge_set(enum am_metric m, long long value)
{
	if (!am_metrics_on() || (unsigned)m >= AM_MET_COUNT || fam[m].type != FAM_GAUGE)
		return;
	atomic_store_explicit(&gauges[m], value, memory_order_relaxed);
}

static struct histogram *
histogram_of(enum am_metric m)
{
	if (m == AM_MET_VERIFY_SECONDS)
		return &hist[0];
	if (m == AM_MET_EOM_SECONDS)
		return &hist[1];
	return NULL;
}

void
am_metrics_observe(enum am_metric m, double seconds)
{
	struct histogram *h;
	unsigned long long us;
	unsigned b = 0;

	if (!am_metrics_on() || (h = histogram_of(m)) == NULL)
		return;
	/* Negative or NaN (a clock step): zero; absurdly large: capped. */
	us = !(seconds > 0) ? 0 : seconds > 1e9 ? 1000000000000000ULL
	    : (unsigned long long)(seconds * 1e6 + 0.5);
	while (b < NBOUNDS && us > bound_us[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
am_metrics_escape_label(struct am_buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			am_buf_adds(out, "\\\\");
		else if (*v == '"')
			am_buf_adds(out, "\\\"");
		else if (*v == '\n')
			am_buf_adds(out, "\\n");
		else
			am_buf_addc(out, *v);
	}
}

/* Seconds from microseconds, exact: "1.000250". */
static void
add_seconds(struct am_buf *out, unsigned long long us)
{
	am_buf_printf(out, "%llu.%06llu", us / 1000000, us % 1000000);
}

static void
render_counter(struct am_buf *out, enum am_metric m)
{
	const struct family *f = &fam[m];
	unsigned total = 1;

	for (unsigned d = 0; d < f->nlabels; d++)
		total *= f->set[d].n;
	for (unsigned i = 0; i < total; i++) {
		unsigned long long v = atomic_load_explicit(&series[offset[m] + i], memory_order_relaxed);
		unsigned rest = i, idx[AM_METRICS_MAX_LABELS];

		/* Combinations of several labels: only those seen, or the page is mostly zeros. */
		if (v == 0 && f->nlabels > 1)
			continue;
		for (unsigned d = f->nlabels; d-- > 0;) {
			idx[d] = rest % f->set[d].n;
			rest /= f->set[d].n;
		}
		am_buf_adds(out, f->name);
		for (unsigned d = 0; d < f->nlabels; d++) {
			am_buf_printf(out, "%s%s=\"", d == 0 ? "{" : ",", f->label[d]);
			am_metrics_escape_label(out, f->set[d].values[idx[d]]);
			am_buf_addc(out, '"');
		}
		am_buf_printf(out, "%s %llu\n", f->nlabels > 0 ? "}" : "", v);
	}
}

static void
render_histogram(struct am_buf *out, enum am_metric m)
{
	const struct histogram *h = histogram_of(m);
	unsigned long long cum = 0;

	for (unsigned b = 0; b <= NBOUNDS; b++) {
		cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
		am_buf_printf(out, "%s_bucket{le=\"", fam[m].name);
		if (b < NBOUNDS) {
			/* Trailing zeros dropped: le="0.0001", le="1", le="2.5". */
			char s[32];
			size_t n;

			snprintf(s, sizeof(s), "%llu.%06llu", bound_us[b] / 1000000, bound_us[b] % 1000000);
			n = strlen(s);
			while (s[n - 1] == '0')
				s[--n] = '\0';
			if (s[n - 1] == '.')
				s[--n] = '\0';
			am_buf_adds(out, s);
		} else
			am_buf_adds(out, "+Inf");
		am_buf_printf(out, "\"} %llu\n", cum);
	}
	am_buf_printf(out, "%s_sum ", fam[m].name);
	add_seconds(out, atomic_load_explicit(&h->sum_us, memory_order_relaxed));
	am_buf_printf(out, "\n%s_count %llu\n", fam[m].name, cum);
}

void
am_metrics_render_family(struct am_buf *out, enum am_metric m)
{
	static const char *const tname[] = { "counter", "gauge", "histogram", "gauge" };
	const struct family *f;

	if ((unsigned)m >= AM_MET_COUNT)
		return;
	f = &fam[m];
	am_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, tname[f->type]);
	switch (f->type) {
	case FAM_COUNTER:
		render_counter(out, m);
		break;
	case FAM_GAUGE:
		am_buf_printf(out, "%s %lld\n", f->name, m == AM_MET_START_TIME
		    ? atomic_load_explicit(&start_time, memory_order_relaxed)
		    : atomic_load_explicit(&gauges[m], memory_order_relaxed));
		break;
	case FAM_HISTOGRAM:
		render_histogram(out, m);
		break;
	case FAM_INFO:
		am_buf_printf(out, "%s{%s=\"", f->name, f->label[0]);
		am_metrics_escape_label(out, version);
		am_buf_adds(out, "\"} 1\n");
		break;
	}
}

void
am_metrics_render(struct am_buf *out)
{
	for (unsigned m = 0; m < AM_MET_COUNT; m++)
		am_metrics_render_family(out, (enum am_metric)m);
}

void
am_metrics_reset(void)
{
	for (size_t i = 0; i < N_SERIES; i++)
		atomic_store_explicit(&series[i], 0, memory_order_relaxed);
	for (unsigned m = 0; m < AM_MET_COUNT; m++)
		atomic_store_explicit(&gauges[m], 0, memory_order_relaxed);
	for (unsigned h = 0; h < 2; h++) {
		for (unsigned b = 0; b <= NBOUNDS; b++)
			atomic_store_explicit(&hist[h].bucket[b], 0, memory_order_relaxed);
		atomic_store_explicit(&hist[h].sum_us, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&start_time, (long long)time(NULL), memory_order_relaxed);
}
