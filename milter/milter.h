/*
 * milter.h - the libmilter adapter: the only module that sees libmilter.
 *
 * Owns: registration with libmilter and protocol negotiation, the
 * listening socket (mode, stale unix socket removal), the per-connection
 * context behind smfi_setpriv that feeds the pipeline in SMTP order,
 * removal of forged Authentication-Results headers, insertion of ours,
 * the SMTP action for DMARC failures, and the count of callbacks in
 * flight so a stop can let them finish.
 */
#ifndef AM_MILTER_H
#define AM_MILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "pipeline.h"

/* Register and open the socket (as root, before dropping privileges). */
bool	am_milter_open(const struct am_conf *, char *err, size_t errlen);
/* Hand the unix socket to the user we will run as. */
bool	am_milter_chown_socket(const struct am_conf *, uid_t, gid_t, char *err, size_t errlen);
/* Run libmilter's loop over engine until am_milter_stop(); 0 on a clean stop. */
int	am_milter_run(am_engine *);
void	am_milter_stop(void);
/*
 * Callbacks running now: after am_milter_stop() libmilter serves no more
 * commands, even on open connections, so only these can still finish.
 */
unsigned am_milter_inflight(void);
/* Remove a unix socket after the loop ended. */
void	am_milter_cleanup(const struct am_conf *);

#endif
