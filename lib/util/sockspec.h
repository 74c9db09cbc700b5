/*
 * sockspec.h - the milter socket specification of the Socket key and -p.
 *
 * Owns: parsing and validation of "inet:PORT@HOST", "inet6:PORT@HOST",
 * "unix:/path" and "local:/path", and its canonical form for libmilter.
 *
 * Errors: nothing is logged; am_sockspec_parse() returns false with the
 * reason in err.  Nothing is allocated.
 *
 * Threads: any; no state.
 */
#ifndef AM_SOCKSPEC_H
#define AM_SOCKSPEC_H

#include <stdbool.h>
#include <stddef.h>

enum am_sock_family { AM_SOCK_UNIX, AM_SOCK_INET, AM_SOCK_INET6 };

struct am_sockspec {
	enum am_sock_family family;
	unsigned port;			/* inet, inet6 */
	char	host[256];		/* inet, inet6; empty = any address */
	char	path[108];		/* unix (sun_path bound) */
};

/* false with a message in err when spec is not valid. */
bool	am_sockspec_parse(const char *spec, struct am_sockspec *out, char *err, size_t errlen);
/* The form libmilter's smfi_setconn() takes ("local:" becomes "unix:"). */
void	am_sockspec_format(const struct am_sockspec *, char *buf, size_t buflen);

#endif
