/*
 * listen.c - the milter's listening socket (see listen.h, which also says
 * how it fails and who may call it).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* Application-specific. */
#include "listen.h"

/* true when something accepts connections on the unix socket at path. */
static bool
unix_socket_answers(const char *path)
{
	struct sockaddr_un sun;
	bool answers;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	am_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	answers = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return answers;
}

bool
am_listen_check_unix(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct am_sockspec *)0)->path)];
	struct stat st;

	am_strlcpy(dir, path, sizeof(dir));
	if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory of %s does not exist", path);
		return false;
	}
	if (lstat(path, &st) != 0)
		return true;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: refusing to replace it", path);
		return false;
	}
	if (unix_socket_answers(path)) {
		snprintf(err, errlen, "%s: another process is listening on it", path);
		return false;
	}
	return true;
}

bool
am_listen_become(const struct am_conf *c, struct am_listen_ids *ids, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	int n;

	memset(ids, 0, sizeof(*ids));
	ids->euid = geteuid();
	ids->egid = getegid();
	if (c->sockspec.family != AM_SOCK_UNIX || c->user_id == NULL)
		return true;
	if (!am_conf_lookup_user(c->user_id, &uid, &gid, err, errlen))
		return false;
	if (uid == ids->euid && gid == ids->egid)
		return true;		/* already the user: nothing to switch */
	if ((pw = getpwuid(uid)) == NULL) {
		snprintf(err, errlen, "UserID: uid %ld vanished", (long)uid);
		return false;
	}
	if ((n = getgroups(0, NULL)) < 0) {
		snprintf(err, errlen, "getgroups: %s", strerror(errno));
		return false;
	}
	ids->groups = am_xcalloc((size_t)n + 1, sizeof(gid_t));
	ids->ngroups = getgroups(n, ids->groups);
	ids->switched = true;
	/* Its supplementary groups too: they may be what lets it write the directory. */
	if (ids->ngroups < 0 || initgroups(pw->pw_name, gid) != 0 || setegid(gid) != 0 ||
	    seteuid(uid) != 0) {
		snprintf(err, errlen, "cannot create the socket as UserID %s: %s", c->user_id,
		    strerror(errno));
		(void)am_listen_unbecome(ids, NULL, 0);
		return false;
	}
	return true;
}

bool
am_listen_unbecome(struct am_listen_ids *ids, char *err, size_t errlen)
{
	bool ok = true;

	if (ids->switched && (seteuid(ids->euid) != 0 || setegid(ids->egid) != 0 ||
	    (ids->ngroups >= 0 && setgroups((size_t)ids->ngroups, ids->groups) != 0))) {
		if (err != NULL)
			snprintf(err, errlen, "cannot switch back from UserID: %s", strerror(errno));
		ok = false;
	}
	free(ids->groups);
	memset(ids, 0, sizeof(*ids));
	return ok;
}

/*
 * No chmod or chown on the path after bind: the directory may be the run-as
 * user's, who could swap the new node for a link to any file in between.
 * The umask gives the mode at birth; am_listen_become() the owner.
 */
static int
open_unix(const struct am_conf *c, char *err, size_t errlen)
{
	const char *path = c->sockspec.path;
	struct am_listen_ids ids;
	struct sockaddr_un sun;
	mode_t old;
	int fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	am_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (!am_listen_become(c, &ids, err, errlen)) {
		close(fd);
		return -1;
	}
	if (!am_listen_check_unix(path, err, errlen)) {
		(void)am_listen_unbecome(&ids, NULL, 0);
		close(fd);
		return -1;
	}
	(void)unlink(path);		/* a stale socket: checked above */
	old = umask((mode_t)(~c->socket_mode & 0777));
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0)
		snprintf(err, errlen, "cannot listen on unix:%s%s: %s", path,
		    ids.switched ? " as UserID" : "", strerror(errno));
	if (!am_listen_unbecome(&ids, rc == 0 ? err : NULL, errlen) || rc != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
bind_inet(const struct addrinfo *ai, const char *spec, char *err, size_t errlen)
{
	int fd, on = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	/*
	 * Accepted sockets inherit TCP_NODELAY: an end-of-message answer of
	 * several packets must not wait for the MTA's delayed ACK.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
open_inet(const struct am_conf *c, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	char port[16];
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = c->sockspec.family == AM_SOCK_INET6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", c->sockspec.port);
	rc = getaddrinfo(c->sockspec.host[0] != '\0' ? c->sockspec.host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", c->socket, gai_strerror(rc));
		return -1;
	}
	fd = bind_inet(res, c->socket, err, errlen);
	freeaddrinfo(res);
	return fd;
}

int
am_listen_open(const struct am_conf *c, char *err, size_t errlen)
{
	int fd;

	fd = c->sockspec.family == AM_SOCK_UNIX ? open_unix(c, err, errlen) : open_inet(c, err, errlen);
	if (fd < 0)
		return -1;
	if (listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "listen on %s: %s", c->socket, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
am_listen_remove(const struct am_conf *c)
{
	if (c->sockspec.family == AM_SOCK_UNIX)
		(void)unlink(c->sockspec.path);
}
