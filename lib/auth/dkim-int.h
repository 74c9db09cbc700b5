/*
 * dkim-int.h - what the dkim*.c files share among themselves: the
 * library and per-message state, the DNS hooks, and the tag-list helpers
 * both the header path and the verdict use.  Not for other modules: use
 * auth/dkim.h.
 *
 *   dkim.c         the shared DKIM_LIB, signature selection, per-message
 *                  header/body streaming
 *   dkim-dns.c     libopendkim's DNS hooks over am_resolver
 *   dkim-result.c  end of message: libopendkim's signatures mapped to
 *                  struct am_dkim_sig, the duplicated-suffix probe
 *
 * Errors and threads: as dkim.h; each file's header says its part.
 */
#ifndef AM_DKIM_INT_H
#define AM_DKIM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <dkim.h>		/* libopendkim's; ours is "auth/dkim.h", on the -iquote path only */

#include "dns/resolver.h"
#include "auth/dkim.h"
#include "auth/verdict.h"

struct am_dkim_lib {
	DKIM_LIB *lib;
	am_resolver *res;
	unsigned max_sigs;
};

/* A DKIM-Signature field as we parsed it ourselves (for reporting). */
struct am_dkim_rawsig {
	char	domain[AM_DOMAIN_MAX];
	char	selector[AM_SELECTOR_MAX];
	char	algorithm[32];
	char	*b;			/* b= without whitespace, for matching */
	bool	matched;
	bool	prefetched;		/* its key lookup started as the field arrived */
};

struct am_dkim_msg {
	am_dkim_lib *lib;
	DKIM	*dkim;			/* NULL when dkim_verify failed */
	char	id[64];
	bool	eoh_done;
	DKIM_STAT eoh_stat;
	bool	body_cr;		/* previous body byte was CR */
	unsigned from_count;		/* From header fields seen */
	size_t	nraw;			/* entries in raw[] */
	size_t	total;			/* DKIM-Signature fields seen */
	char	liberr[AM_REASON_MAX];	/* library error after eoh, if any */
	struct am_dkim_verdict *result;	/* kept after the first am_dkim_eom */
	am_dns_query *prefetch[AM_DKIM_REPORT_MAX]; /* key lookups started together */
	size_t	nprefetch;
	/*
	 * Last, and not zeroed at creation (18 KB): only entries below nraw
	 * are read, each set as it is added, so a message touches the pages
	 * of the signatures it has.
	 */
	struct am_dkim_rawsig raw[AM_DKIM_REPORT_MAX];
};

/* dkim-dns.c: point lib's DNS hooks at res (libopendkim's own resolver unused). */
void	am_dkim_dns_install(DKIM_LIB *lib, am_resolver *res);

/* RFC 6376 whitespace as the tag-list parsers skip it; inline: called per byte. */
static inline bool
am_dkim_is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * dkim.c: find tag in an RFC 6376 tag-list (s, len) and copy its value,
 * trimmed, to out (bounded).  strip: drop all whitespace inside the value
 * (b=, p=).  Returns false when the tag is absent.
 */
bool	am_dkim_tag_find(const char *s, size_t len, const char *tag, char *out, size_t outlen,
	    bool strip);
/* dkim.c: copy printable ASCII only: names in reports never carry control bytes. */
void	am_dkim_copy_printable(char *dst, size_t size, const char *src);
/* dkim.c: "<s>._domainkey.<d>" past a DNS name's 253 characters? */
bool	am_dkim_key_name_too_long(DKIM_SIGINFO *sig);

#endif
