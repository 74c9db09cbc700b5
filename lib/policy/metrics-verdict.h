/*
 * metrics-verdict.h - counts one message's verdict into the metrics
 * registry (lib/util/metrics.h).
 *
 * Owns: the mapping from a verdict to closed label sets: DMARC result and
 * disposition, SPF result, each DKIM signature's result, algorithm and
 * key-size bucket, the hints given, SES MAIL FROM kind and region.
 *
 * Errors: none.  Threads: any (the registry is lock-free).
 */
#ifndef AM_METRICS_VERDICT_H
#define AM_METRICS_VERDICT_H

#include "auth/verdict.h"

/* Counts v and observes verify_seconds; a no-op when metrics are off. */
void	am_metrics_count_verdict(const struct am_verdict *v, double verify_seconds);

/* Key-size bucket of a signature: "<1024", "1024", "2048", "4096", "ed25519", "other". */
const char *am_metrics_key_size(const char *algorithm, unsigned keybits);

#endif
