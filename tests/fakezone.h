/*
 * fakezone.h - an in-process DNS zone for unit tests.
 *
 * Owns: a small list of records answered through am_resolver_new_backend(),
 * so unit tests exercise the real SPF/DKIM/DMARC code paths over the
 * resolver API without a server.  End-to-end tests use a real nameserver.
 */
#ifndef FAKEZONE_H
#define FAKEZONE_H

#include "dns/resolver.h"

struct fakezone;

struct fakezone *fz_new(void);
void	fz_free(struct fakezone *);
void	fz_clear(struct fakezone *);
/* Add one record; data is raw rdata as am_dns_answer carries it. */
void	fz_add(struct fakezone *, const char *name, int rrtype, const void *data, size_t len, unsigned mx_pref);
void	fz_add_txt(struct fakezone *, const char *name, const char *text);
void	fz_add_a(struct fakezone *, const char *name, const char *ipv4);
void	fz_add_aaaa(struct fakezone *, const char *name, const char *ipv6);
void	fz_add_mx(struct fakezone *, const char *name, unsigned pref, const char *host);
void	fz_add_ptr(struct fakezone *, const char *name, const char *host);
void	fz_add_cname(struct fakezone *, const char *alias, const char *target);
/* Force a status for name/type (rrtype 0: every type): SERVFAIL, TIMEOUT. */
void	fz_set_status(struct fakezone *, const char *name, int rrtype, enum am_dns_status);
/* Number of queries answered so far. */
unsigned fz_queries(const struct fakezone *);
/* The backend function for am_resolver_new_backend(fn, fz, ...). */
struct am_dns_answer *fz_backend(void *fz, const char *name, int rrtype);

#endif
