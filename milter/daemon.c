/*
 * daemon.c - becoming a daemon (see daemon.h, which also says how it
 * fails and who may call it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Utility library. */
#include "util/util.h"

/* Policy and renderers. */
#include "policy/conf.h"

/* Application-specific. */
#include "daemon.h"

bool
am_daemonize(char *err, size_t errlen)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return false;
	}
	/* A second fork: never reacquire a controlling terminal. */
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return false;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0) {
		snprintf(err, errlen, "chdir /: %s", strerror(errno));
		return false;
	}
	if ((fd = open("/dev/null", O_RDWR)) < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return false;
	}
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return true;
}

bool
am_pidfile_write(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd, len;

	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		return false;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		snprintf(err, errlen, "PidFile %s: write: %s", path, strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

void
am_pidfile_remove(const char *path)
{
	if (path != NULL)
		(void)unlink(path);
}

bool
am_drop_privileges(const char *user_id, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (!am_conf_lookup_user(user_id, &uid, &gid, err, errlen))
		return false;
	if ((pw = getpwuid(uid)) == NULL) {
		snprintf(err, errlen, "UserID: uid %ld vanished", (long)uid);
		return false;
	}
	if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", user_id, strerror(errno));
		return false;
	}
	/* Make sure there is no way back (setuid(0) must now fail). */
	if (uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "UserID: privileges could be regained after dropping");
		return false;
	}
	return true;
}
