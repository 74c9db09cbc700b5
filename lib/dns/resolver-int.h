/*
 * resolver-int.h - between the resolver API (resolver.c) and its
 * libunbound backend (resolver-unbound.c).  Private to lib/dns: other
 * modules use resolver.h.
 *
 * Owns: the query record both sides see, the backend's calls (set up,
 * send, cancel, stop) and the two calls back into the API (decode one
 * record, deliver an answer).  The API keeps deadlines, the cache, the
 * list of open queries and its lock; the backend keeps libunbound.
 *
 * Errors: backend calls report through err/errlen or a failure answer and
 * log what no caller can report (am_log); nothing here returns NULL for
 * lack of memory (that aborts, see util.h).
 *
 * Threads: as resolver.h, plus the backend's own pump thread, the only
 * thread that calls am_resolver_deliver().
 */
#ifndef AM_RESOLVER_INT_H
#define AM_RESOLVER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dns/resolver.h"

/* One lookup.  The backend reads name and rrtype only; the rest is the API's. */
struct am_dns_query {
	/*
	 * The resolver, while the query is the libunbound backend's; NULL
	 * for a query complete when started (cache hit, impossible name,
	 * recent timeout, test backend) and once detached by
	 * am_resolver_free: such a query never touches the resolver again.
	 */
	am_resolver *res;
	bool	cond_ready;		/* cond was initialised */
	struct am_dns_answer *answer;	/* set once done */
	/* libunbound backend only (guarded by the resolver's lock): */
	bool	done;
	int	backend_id;		/* the backend's handle, for cancelling */
	int	rrtype;
	char	name[256];
	struct timespec deadline;
	pthread_cond_t cond;
	struct am_dns_query *prev, *next;
};

/* ---- the libunbound backend (resolver-unbound.c) ------------------------- */

typedef struct am_resolver_ub am_resolver_ub;

/* Validate a non-blank Nameservers value; false with err naming the entry. */
bool	am_resolver_ub_check(const char *nameservers, char *err, size_t errlen);
/* A running backend: forwarders from nameservers (NULL: resolv.conf),
 * pump thread started.  NULL with err on failure. */
am_resolver_ub *am_resolver_ub_new(const char *nameservers, char *err, size_t errlen);
/*
 * Send q's question.  NULL when sent: the answer then comes through
 * am_resolver_deliver(q, ...) on the pump thread, possibly before this
 * returns, and *id is the handle for am_resolver_ub_cancel().  Otherwise
 * the failure answer (logged), and am_resolver_deliver() is never called.
 * Never called with the resolver's lock held (libunbound takes its own).
 */
struct am_dns_answer *am_resolver_ub_send(am_resolver_ub *, am_dns_query *q, int *id);
/* true: cancelled, the answer will never be delivered; false: it is
 * being delivered now (or was).  Never called with the resolver's lock held. */
bool	am_resolver_ub_cancel(am_resolver_ub *, int id);
/* Stop the pump thread: no answer is delivered after this returns. */
void	am_resolver_ub_stop(am_resolver_ub *);
/* Free a stopped backend (NULL is fine). */
void	am_resolver_ub_free(am_resolver_ub *);

/* ---- back into the API (resolver.c) ------------------------------------- */

/* Add one record's rdata to a in resolver.h's form; false if malformed. */
bool	am_resolver_rdata_add(struct am_dns_answer *a, int rrtype, const unsigned char *d, size_t len);
/* Set a's canonname to name without its trailing dot. */
void	am_resolver_canonname(struct am_dns_answer *a, const char *name);
/* The backend's answer a (now the query's) to q.  Pump thread only. */
void	am_resolver_deliver(am_dns_query *q, struct am_dns_answer *a);

#endif
