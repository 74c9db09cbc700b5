/*
 * resolver.h - the one place alignmilter does DNS.
 *
 * Owns: the resolver: its libunbound context (forwarders from Nameservers
 * or resolv.conf, a per-lookup deadline), the answer cache in front of it,
 * and the decoding of answers into am_dns_answer.  SPF, DKIM and DMARC all
 * query through it; none of them reads resolv.conf.
 *
 * Errors: am_resolver_new() returns NULL with err (a bad Nameservers
 * entry, libunbound's set-up).  A lookup never fails as a call: every
 * failure is an answer (SERVFAIL, TIMEOUT at the deadline, NXDOMAIN for a
 * name that cannot exist).  Queries libunbound refuses and its pump
 * thread's failures are logged (am_log, LOG_ERR).  Out of memory aborts.
 *
 * Threads: any thread may start, wait for and cancel queries at once;
 * am_resolver_new() at start-up, am_resolver_free() at shutdown once every
 * query has been waited for or cancelled.
 *
 * A resolver can also be built on a synchronous backend function (unit
 * tests: an in-process zone); the API is the same.  resolver.c is the API
 * (deadlines, cancellation, the cache front, decoding); resolver-unbound.c
 * the libunbound backend behind it (resolver-int.h between the two).
 */
#ifndef AM_RESOLVER_H
#define AM_RESOLVER_H

#include <stddef.h>
#include <stdbool.h>

/* RR types used (numeric values as on the wire). */
#define AM_RR_A		1
#define AM_RR_CNAME	5
#define AM_RR_PTR	12
#define AM_RR_MX	15
#define AM_RR_TXT	16
#define AM_RR_AAAA	28

enum am_dns_status {
	AM_DNS_OK = 0,		/* data present */
	AM_DNS_NXDOMAIN,	/* name does not exist */
	AM_DNS_NODATA,		/* name exists, no record of this type */
	AM_DNS_SERVFAIL,	/* SERVFAIL, REFUSED, bogus, other rcode */
	AM_DNS_TIMEOUT,		/* no answer within DNSTimeout */
};

/*
 * A decoded answer.  For TXT, rr[i] is the record's character-strings
 * concatenated (NUL-terminated, len excludes the NUL).  For A/AAAA, the
 * raw 4 or 16 bytes.  For MX, the exchange name as text without trailing
 * dot (pref in mx_pref[i]).  For PTR/CNAME, the name as text without
 * trailing dot.  CNAME chains are followed by the resolver.
 */
struct am_dns_rr {
	unsigned char *data;
	size_t	len;
	unsigned mx_pref;
};

struct am_dns_answer {
	enum am_dns_status status;
	int	rrtype;
	size_t	count;
	struct am_dns_rr *rr;
	unsigned ttl;
	bool	secure;		/* DNSSEC validated */
	char	canonname[256];	/* name after CNAMEs, or the query name */
};

typedef struct am_resolver am_resolver;
typedef struct am_dns_query am_dns_query;

/* Backend for tests: answer synchronously; return NULL for "timeout". */
typedef struct am_dns_answer *(*am_dns_backend_fn)(void *arg, const char *name, int rrtype);

/* The answer cache's bound when none is given (DNSCacheSize's default). */
#define AM_RESOLVER_CACHE_DEFAULT	((size_t)32 << 20)

/*
 * nameservers: NULL or "" for resolv.conf, else "IP[,IP@PORT...]".
 * timeout_ms: per lookup.  On error returns NULL and writes err.
 * The answer cache holds AM_RESOLVER_CACHE_DEFAULT bytes.
 */
am_resolver *am_resolver_new(const char *nameservers, unsigned timeout_ms, char *err, size_t errlen);
/* The same with the answer cache bounded at cache_bytes (0: no cache). */
am_resolver *am_resolver_new_sized(const char *nameservers, unsigned timeout_ms, size_t cache_bytes,
	    char *err, size_t errlen);
/* Validate a Nameservers value without building anything; false with err. */
bool	am_resolver_check_nameservers(const char *nameservers, char *err, size_t errlen);
am_resolver *am_resolver_new_backend(am_dns_backend_fn fn, void *arg, unsigned timeout_ms);
void	am_resolver_free(am_resolver *);
unsigned am_resolver_timeout_ms(const am_resolver *);

/* Start a lookup; never NULL (allocation failure aborts the process). */
am_dns_query *am_dns_start(am_resolver *, const char *name, int rrtype);
/* Wait until answered or the query's deadline; returns the answer (owned by caller). */
struct am_dns_answer *am_dns_wait(am_dns_query *);
/* Cancel (if still running) and free a query that has not been waited for. */
void	am_dns_cancel(am_dns_query *);
/* start + wait */
struct am_dns_answer *am_dns_lookup(am_resolver *, const char *name, int rrtype);
void	am_dns_answer_free(struct am_dns_answer *);

/* Helpers for backends and tests. */
struct am_dns_answer *am_dns_answer_new(enum am_dns_status, int rrtype);
void	am_dns_answer_add(struct am_dns_answer *, const void *data, size_t len, unsigned mx_pref);
const char *am_dns_status_name(enum am_dns_status);

#endif
