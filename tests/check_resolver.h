/*
 * check_resolver.h - what the two halves of the resolver tests share:
 * the loopback NSD fixture and the lookup helpers (check_resolver.c), and
 * the query tests' entry (check_resolver_queries.c).  Helpers fail the
 * running test through Check's assertions.
 */
#ifndef CHECK_RESOLVER_H
#define CHECK_RESOLVER_H

#include <check.h>
#include <stddef.h>

#include "dns/resolver.h"

extern char cr_tmpdir[64];	/* scratch directory, removed at exit */
extern char cr_ns_spec[64];	/* "127.0.0.1@PORT" of the main server */

/* Start nsd in dir with the given zone files; returns the port, 0 on failure. */
unsigned cr_server_start(const char *dir, const char *zonefiles);
/* CLOCK_MONOTONIC in milliseconds. */
double	cr_now_ms(void);
/* A resolver on spec, or the test fails. */
am_resolver *cr_mkres(const char *spec, unsigned timeout_ms);
/* Index of the A (af AF_INET) or AAAA record holding addr; -1 if none. */
int	cr_find_addr(const struct am_dns_answer *a, int af, const char *addr);
/* Look name/type up; the test fails unless status and count are these. */
struct am_dns_answer *cr_expect(am_resolver *r, const char *name, int type,
	    enum am_dns_status st, size_t count);

/* check_resolver_queries.c: deadlines, cancellation, threads, the cache. */
void	cr_add_query_tests(TCase *tc);

#endif
