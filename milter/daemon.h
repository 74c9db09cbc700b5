/*
 * daemon.h - becoming a daemon: detaching, PID file, dropping privileges.
 *
 * Owns: the double fork and setsid with stdio on /dev/null, the PID file
 * (whatever is there replaced, then created O_EXCL), and the switch to
 * UserID for good (its supplementary groups, no way back to root).
 *
 * Errors: nothing is logged; each call returns false with err for main.c
 * to log.  am_pidfile_remove() ignores failures.
 *
 * Threads: not thread-safe: the main thread at start-up (am_daemonize()
 * forks, so it runs before any other thread exists), and
 * am_pidfile_remove() at shutdown.
 */
#ifndef AM_DAEMON_H
#define AM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Detach from the terminal (fork, setsid, stdio to /dev/null); false with err. */
bool	am_daemonize(char *err, size_t errlen);
/* Write our PID to path (0644, replacing a stale file); false with err. */
bool	am_pidfile_write(const char *path, char *err, size_t errlen);
void	am_pidfile_remove(const char *path);
/* Switch to uid/gid for good (supplementary groups of the user); false with err. */
bool	am_drop_privileges(const char *user_id, char *err, size_t errlen);

#endif
