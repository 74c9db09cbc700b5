/*
 * metrics.h - the process-wide metrics registry (Prometheus counters,
 * gauges and histograms) and its text rendering.
 *
 * Owns: a fixed table of metric families (enum am_metric), each with a
 * closed set of label values per label (never a domain name or an
 * address: per-domain detail is the alignment log's job); one C11 atomic
 * per series, updated with memory_order_relaxed, so the hot path gains no
 * lock and no allocation; the rendering in the Prometheus text exposition
 * format 0.0.4 (# HELP, # TYPE, escaped label values, cumulative
 * histogram buckets with _sum and _count).
 *
 * Metrics are off until am_metrics_enable(true) (MetricsListen set): off,
 * every update costs one relaxed load and returns.
 *
 * Errors: none; an out-of-range label index counts as the family's last
 * label value ("other" in every open-ended set).
 *
 * Threads: any; updates are lock-free; rendering reads each atomic once
 * (a scrape is not a consistent snapshot across series, as usual).
 */
#ifndef AM_METRICS_H
#define AM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* Every metric family; order is the rendering order. */
enum am_metric {
	AM_MET_MESSAGES,		/* {dmarc_result, disposition} */
	AM_MET_SPF,			/* {result} */
	AM_MET_DKIM,			/* {result, algorithm, key_size} */
	AM_MET_HINTS,			/* {hint} */
	AM_MET_SES,			/* {mail_from, region} */
	AM_MET_REJECTFAILURES,		/* {action} */
	AM_MET_DNS_QUERIES,		/* {outcome} */
	AM_MET_DNS_CACHE_HITS,
	AM_MET_DNS_CACHE_MISSES,
	AM_MET_DNS_CACHE_BYTES,		/* gauge */
	AM_MET_VERIFY_SECONDS,		/* histogram */
	AM_MET_EOM_SECONDS,		/* histogram */
	AM_MET_CONN_OPEN,		/* gauge */
	AM_MET_CONN_REFUSED,
	AM_MET_ERRORS,			/* {kind} */
	AM_MET_BUILD_INFO,		/* gauge {version} = 1 */
	AM_MET_START_TIME,		/* gauge, seconds since the epoch */
	AM_MET_COUNT
};

/* Label value indices for the families whose sets are small and fixed. */
enum am_met_dns_outcome {
	AM_MET_DNS_OK, AM_MET_DNS_NXDOMAIN, AM_MET_DNS_NODATA,
	AM_MET_DNS_SERVFAIL, AM_MET_DNS_TIMEOUT, AM_MET_DNS_OTHER
};
enum am_met_reject_action { AM_MET_REJECTED, AM_MET_QUARANTINED };
enum am_met_error_kind {
	AM_MET_ERR_DNS, AM_MET_ERR_ALIGNLOG_WRITE, AM_MET_ERR_MILTER_PROTOCOL,
	AM_MET_ERR_OTHER
};

#define AM_METRICS_MAX_LABELS	3

/* On/off switch; off by default. am_metrics_on is the hot-path test. */
void	am_metrics_enable(bool on);
bool	am_metrics_on(void);
/* The name metrics.md uses for am_metrics_enable. */
static inline void am_metrics_enabled(bool on) { am_metrics_enable(on); }

/*
 * Index of value in label dim of metric m; the last index ("other") when
 * the value is not in the closed set or is NULL.  A linear scan of a
 * short table: call it only when metrics are on.
 */
unsigned am_metrics_label(enum am_metric m, unsigned dim, const char *value);

/*
 * Updates; label indices in the order of the family's labels (pass 0 for
 * labels the family does not have).  All are no-ops when metrics are off.
 */
void	am_metrics_inc(enum am_metric m, unsigned l0, unsigned l1, unsigned l2);
void	am_metrics_add(enum am_metric m, unsigned l0, unsigned l1, unsigned l2,
	    unsigned long long n);
/* Gauges without labels. */
void	am_metrics_gauge_add(enum am_metric m, long long delta);
void	am_metrics_gauge_set(enum am_metric m, long long value);
/* Histograms (no labels): seconds, counted in whole microseconds. */
void	am_metrics_observe(enum am_metric m, double seconds);

/* Shorthands for the label-less counters and one-label families. */
static inline void am_metrics_count(enum am_metric m) { am_metrics_inc(m, 0, 0, 0); }
static inline void am_metrics_count1(enum am_metric m, unsigned l0) { am_metrics_inc(m, l0, 0, 0); }
/* Errors by kind (am_met_error_kind). */
static inline void am_metrics_error(enum am_met_error_kind k) { am_metrics_inc(AM_MET_ERRORS, (unsigned)k, 0, 0); }

/* build_info's version label (default PACKAGE_VERSION); copied, truncated to 63 bytes. */
void	am_metrics_set_version(const char *version);

/* Prometheus text exposition format 0.0.4, every family, appended to out. */
void	am_metrics_render(struct am_buf *out);
/* One family only (tests). */
void	am_metrics_render_family(struct am_buf *out, enum am_metric m);
/* Label value escaped per the format: backslash, double quote, newline. */
void	am_metrics_escape_label(struct am_buf *out, const char *value);
/* Zero every series and restart the clock (tests; not thread-safe with updates). */
void	am_metrics_reset(void);

#endif
