/*
 * listen.h - the milter's listening socket, whichever transport serves it.
 *
 * Owns: the checks before a unix socket is bound (its directory exists;
 * its path is free, or a stale socket nobody answers on - never another
 * kind of file), binding our own listener for the native transport
 * (unix with SocketMode, inet, inet6, TCP_NODELAY for the accepted
 * sockets), handing a unix socket to the run-as user and removing it at
 * the end.
 *
 * Errors: nothing is logged; am_listen_open() returns -1, the other calls
 * false, with err.  am_listen_remove() ignores failures.
 *
 * Threads: the main thread: the checks and the bind at start-up as root
 * (the libmilter transport uses the unix socket check too), the chown
 * before dropping privileges, the removal at shutdown.
 */
#ifndef AM_LISTEN_H
#define AM_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/conf.h"

/* A unix socket path may be bound: directory exists, path free or a dead socket. */
bool	am_listen_check_unix(const char *path, char *err, size_t errlen);
/* Bind and listen on the configured socket; the descriptor, or -1 with err. */
int	am_listen_open(const struct am_conf *, char *err, size_t errlen);
/* Hand the unix socket to the user we will run as (no-op for inet). */
bool	am_listen_chown(const struct am_conf *, uid_t, gid_t, char *err, size_t errlen);
/* Remove a unix socket after the transport stopped (no-op for inet). */
void	am_listen_remove(const struct am_conf *);

#endif
