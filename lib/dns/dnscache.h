/*
 * dnscache.h - the resolver's in-process answer cache.
 *
 * Owns: decoded answers (found, NXDOMAIN, NODATA) kept for their TTL, so a
 * warm lookup costs a hash probe and a copy instead of a round trip
 * through libunbound's worker thread and pipes (several system calls and
 * context switches each).  Failures are never cached here.
 *
 * Errors: nothing fails and nothing is logged: a miss is NULL, an answer
 * not worth keeping (a failure, a zero TTL) is not stored.  Out of memory
 * aborts.
 *
 * Threads: any; a read-write lock, readers in parallel.
 */
#ifndef AM_DNSCACHE_H
#define AM_DNSCACHE_H

#include "dns/resolver.h"

typedef struct am_dnscache am_dnscache;

/* max_entries: beyond it expired entries go, then the oldest half. */
am_dnscache *am_dnscache_new(size_t max_entries);
void	am_dnscache_free(am_dnscache *);
/* A copy of the cached answer for name/rrtype, or NULL. */
struct am_dns_answer *am_dnscache_get(am_dnscache *, const char *name, int rrtype);
/* Keep a copy of a (if cacheable: OK/NXDOMAIN/NODATA with a TTL). */
void	am_dnscache_put(am_dnscache *, const char *name, int rrtype, const struct am_dns_answer *a);
/* A deep copy. */
struct am_dns_answer *am_dns_answer_copy(const struct am_dns_answer *);

#endif
