/*
 * spf-int.h - what the spf*.c files share among themselves: the RFC 7208
 * limits, the state of one check (struct spf_call), and the entry points
 * each file offers the others.  Not for other modules: use spf.h.
 *
 * The family:
 *   spf.c         checker lifetime, one check, result mapping, libspf2's
 *                 error hooks
 *   spf-dns.c     libspf2's DNS layer over am_resolver, with the RFC 7208
 *                 4.6.4 limit counters and the time budget
 *   spf-record.c  the record filter: RFC 7208 section 12 grammar, rewrite
 *                 for libspf2, exp= texts
 *   spf-macro.c   macro-strings and domain-specs, the CVE-2023-42118 bound
 *   spf-count.c   counting a record's DNS lookups (alignmilter-check)
 *
 * Errors and threads: as spf.h; each file's header says its part.
 */
#ifndef AM_SPF_INT_H
#define AM_SPF_INT_H

/* <spf2/spf.h> is not self-contained. */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <spf2/spf.h>

#include "dns/resolver.h"
#include "auth/spf.h"

#define SPF_RFC_DNS_TERMS	10	/* RFC 7208 4.6.4 */
#define SPF_RFC_VOID_LIMIT	2	/* RFC 7208 4.6.4: more is permerror */
#define SPF_RFC_PTR_NAMES	10	/* RFC 7208 4.6.4: use the first 10 PTR names */
#define SPF_SUBNAMES		10	/* MX/PTR target names remembered per check */

/* State of one check; the per-check DNS layer's hook points here. */
struct spf_call {
	am_resolver *res;
	int	af;			/* client address family */
	struct timespec deadline;	/* overall budget of the check */
	unsigned void_lookups;
	unsigned terms;			/* DNS-querying terms, across includes */
	bool	record_seen;		/* the first SPF record (not a term) */
	bool	void_exceeded;
	bool	terms_exceeded;
	bool	budget_exceeded;
	/* Set by spf_record_filter(); spf.c turns them into reasons. */
	bool	guard_unsafe;		/* a record would hit CVE-2023-42118 */
	bool	guard_syntax;		/* a record broke the RFC 7208 grammar */
	bool	guard_growth;		/* an include/redirect target could blow up %{d} */
	/* Targets of the last MX/PTR answer: their address lookups are part
	 * of that mechanism, not terms of their own (void-lookup count). */
	char	sub[SPF_SUBNAMES][AM_DOMAIN_MAX];
	size_t	nsub;
	/* libspf2 objects of the check, freed by am_spf_check(). */
	SPF_request_t *req;
	SPF_response_t *resp;
};

/* Verdict of the grammar and safety checks on a record or a piece of one. */
enum spf_guard { GUARD_OK = 0, GUARD_SYNTAX, GUARD_UNSAFE, GUARD_GROWTH };

/* ---- spf-dns.c ---- */

/* Zero call and start its time budget. */
void	spf_dns_call_init(struct spf_call *, am_resolver *, int af);
/* A layer whose hook is call (NULL: the template's, which answers TRY_AGAIN). */
void	spf_dns_layer_init(SPF_dns_server_t *layer, struct spf_call *call);
/* A usable check_host() <domain> (multi_label) or query name. */
bool	spf_dns_domain_ok(const char *d, bool multi_label);

/* ---- spf-record.c ---- */

/* "v=spf1" followed by a space or the end; t not NULL. */
bool	spf_record_is_spf(const char *t);
/* One TXT string of len bytes as libspf2 may see it; malloc'ed. */
char	*spf_record_filter(struct spf_call *, const char *t, size_t len);
/* Length of a modifier name followed by '=' at s, or 0. */
size_t	spf_record_modifier_name(const char *s, size_t n);
/* s[0..n) is word, any case. */
bool	spf_record_word_eq(const char *s, size_t n, const char *word);

/* ---- spf-macro.c ---- */

enum spf_guard spf_macro_check(const char *s, size_t n, bool allow_crt, bool allow_space,
	    bool *last_macro);
enum spf_guard spf_macro_domain_spec(const char *s, size_t n);
enum spf_guard spf_macro_target_growth(const char *s, size_t n);

#endif
