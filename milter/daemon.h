/*
 * daemon.h - becoming a daemon: detaching, PID file, dropping privileges.
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
