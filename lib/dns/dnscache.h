/*
 * dnscache.h - the resolver's in-process answer cache.
 *
 * Owns: decoded answers (found, NXDOMAIN, NODATA) kept for their TTL, so a
 * warm lookup costs a hash probe and a copy instead of a round trip
 * through libunbound's worker thread and pipes (several system calls and
 * context switches each).  Failures are never cached here.
 *
 * Bounded in bytes, not entries: the names are the sender's to choose
 * (wildcard records), so a count bound let one domain fill gigabytes.  An
 * entry is charged every heap chunk it holds (am_dnscache_entry_bytes);
 * when a new entry does not fit, the least recently used entries go, one
 * at a time, so a flood of fresh names cycles through the cold end while
 * the names in use stay.  An entry over the per-entry cap is not kept.
 *
 * Errors: nothing fails and nothing is logged: a miss is NULL, an answer
 * not worth keeping (a failure, a zero TTL, over the cap) is not stored.
 * Out of memory aborts.
 *
 * Threads: any.  A read-write lock over the table, readers in parallel;
 * a read also moves its entry to the recent end of the LRU list, under a
 * mutex of its own that readers hold only for that splice.
 */
#ifndef AM_DNSCACHE_H
#define AM_DNSCACHE_H

#include "dns/resolver.h"

typedef struct am_dnscache am_dnscache;

/* An entry is kept only up to min(AM_DNSCACHE_ENTRY_MAX, max_bytes / 8). */
#define AM_DNSCACHE_ENTRY_MAX	(16u * 1024)

/* max_bytes: the entries' bound (0: keep nothing); the fixed table is extra. */
am_dnscache *am_dnscache_new(size_t max_bytes);
void	am_dnscache_free(am_dnscache *);
/* A copy of the cached answer for name/rrtype, or NULL. */
struct am_dns_answer *am_dnscache_get(am_dnscache *, const char *name, int rrtype);
/* Keep a copy of a (if cacheable: OK/NXDOMAIN/NODATA with a TTL). */
void	am_dnscache_put(am_dnscache *, const char *name, int rrtype, const struct am_dns_answer *a);
/* What an entry for name/a is charged: its heap chunks, headers included. */
size_t	am_dnscache_entry_bytes(const char *name, const struct am_dns_answer *a);
/* Bytes charged and entries held now (tests, diagnostics). */
void	am_dnscache_usage(am_dnscache *, size_t *bytes, size_t *entries);
/* A deep copy. */
struct am_dns_answer *am_dns_answer_copy(const struct am_dns_answer *);

#endif
