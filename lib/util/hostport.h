/*
 * hostport.h - an IP address literal with a port ("127.0.0.1:9808",
 * "[::1]:9808"), as MetricsListen takes it.
 *
 * Owns: parsing and validating that form into a socket address.  Host
 * names are refused on purpose: the address to bind must not depend on
 * DNS at start-up.
 *
 * Errors: nothing is logged; am_hostport_parse() returns false with the
 * reason in err.  Nothing is allocated.
 *
 * Threads: any; no state.
 */
#ifndef AM_HOSTPORT_H
#define AM_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct am_hostport {
	struct sockaddr_storage addr;	/* sockaddr_in or sockaddr_in6, port set */
	socklen_t addrlen;
};

/* false with a message in err when s is not "IPv4:PORT" or "[IPv6]:PORT" (port 1-65535). */
bool	am_hostport_parse(const char *s, struct am_hostport *out, char *err, size_t errlen);

#endif
