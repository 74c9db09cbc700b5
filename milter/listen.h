/*
 * listen.h - the milter's listening socket, whichever transport serves it.
 *
 * Owns: the checks before a unix socket is bound (its directory exists;
 * its path is free, or a stale socket nobody answers on - never another
 * kind of file), binding our own listener for the native transport
 * (unix with SocketMode, inet, inet6, TCP_NODELAY for the accepted
 * sockets), the effective ids a unix socket is made with (the UserID
 * user's, so it is born theirs and no chmod or chown follows on a path
 * that user could swap) and removing it at the end.
 *
 * Errors: nothing is logged; am_listen_open() returns -1, the other calls
 * false, with err.  am_listen_remove() ignores failures.
 *
 * Threads: the main thread, while it is the only one (the effective ids
 * are the process's): the checks and the bind at start-up (the libmilter
 * transport uses the check and the ids too), the removal at shutdown.
 */
#ifndef AM_LISTEN_H
#define AM_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy/conf.h"

/* The ids am_listen_become() left, for am_listen_unbecome(). */
struct am_listen_ids {
	bool	switched;
	uid_t	euid;
	gid_t	egid;
	gid_t	*groups;		/* supplementary groups before */
	int	ngroups;
};

/* A unix socket path may be bound: directory exists, path free or a dead socket. */
bool	am_listen_check_unix(const char *path, char *err, size_t errlen);
/*
 * For a unix socket with UserID: take that user's effective uid, gid and
 * groups until am_listen_unbecome() (no-op otherwise, or if already so).
 */
bool	am_listen_become(const struct am_conf *, struct am_listen_ids *, char *err, size_t errlen);
/* Back to the ids before; err may be NULL. */
bool	am_listen_unbecome(struct am_listen_ids *, char *err, size_t errlen);
/* Bind and listen on the configured socket; the descriptor, or -1 with err. */
int	am_listen_open(const struct am_conf *, char *err, size_t errlen);
/* Remove a unix socket after the transport stopped (no-op for inet). */
void	am_listen_remove(const struct am_conf *);

#endif
