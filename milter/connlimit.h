/*
 * connlimit.h - how many MTA connections the milter serves at once.
 *
 * Owns: the file-descriptor budget (RLIMIT_NOFILE's soft limit raised to
 * the hard one at start-up; descriptors kept back for DNS, whose
 * libunbound opens a socket per query in flight, and for the files the
 * milter opens later: the alignment log reopened on SIGHUP, syslog),
 * the connection cap derived from it or from MaxConnections, and the
 * count of connections admitted under that cap, for both engines.
 *
 * Why a total and not a cap per peer: on inet:127.0.0.1 every local user
 * and Postfix share one peer address, so a cap per peer would let one
 * user starve Postfix.  A connection over the cap is refused at once
 * (native: accepted and closed; libmilter: closed at negotiation): the
 * MTA applies its milter_default_action without waiting out a timeout,
 * the descriptors DNS needs stay free, and once connections close new
 * ones are admitted again.
 *
 * Errors: nothing fails.  Logged (am_log): the limits chosen (LOG_INFO),
 * a MaxConnections the descriptors cannot carry (LOG_WARNING, lowered),
 * and refusals once per burst: the first refusal (LOG_WARNING, at most
 * once a minute) and, when a connection is admitted again, how many were
 * refused (LOG_NOTICE) - never a line per connection.
 *
 * Threads: am_connlimit_init() on the main thread at start-up, before the
 * transport runs; admit and release from any thread (one mutex).
 */
#ifndef AM_CONNLIMIT_H
#define AM_CONNLIMIT_H

#include <stdbool.h>

#include "policy/conf.h"

/* The cap when MaxConnections is auto and the descriptors allow more. */
#define AM_CONNLIMIT_AUTO_MAX	1024
/* The most MaxConnections may say (a thread per connection, native engine). */
#define AM_CONNLIMIT_MAX	AM_CONF_MAX_CONNECTIONS

/* What am_connlimit_init() found and chose. */
struct am_connlimit_info {
	unsigned long nofile;		/* the soft RLIMIT_NOFILE now */
	unsigned long open;		/* descriptors open at start-up */
	unsigned long reserved;		/* kept for DNS and later files */
	unsigned max_connections;	/* the cap */
};

/*
 * Raise the descriptor limit, count what is open, choose the cap:
 * configured (MaxConnections; 0 = auto) lowered to what the descriptors
 * carry.  Call once the pipeline is up (its resolver and log are open).
 */
void	am_connlimit_init(unsigned configured, struct am_connlimit_info *);
/* One more MTA connection: false when at the cap (refuse it). */
bool	am_connlimit_admit(void);
/* An admitted connection is gone. */
void	am_connlimit_release(void);

#endif
