/*
 * milter.c - the libmilter adapter (see milter.h).
 *
 * Until the verification engine is connected every message is passed
 * through untouched: no verdict is made up.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "milter.h"
#include "util.h"

static atomic_uint inflight;

/* Per-connection state, behind smfi_setpriv. */
struct conn {
	char	client_ip[64];
};

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct conn *c = am_xcalloc(1, sizeof(*c));

	(void)hostname;
	(void)addr;
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return SMFIS_TEMPFAIL;
	}
	atomic_fetch_add(&inflight, 1);
	return SMFIS_CONTINUE;
}

/* Also called for sessions that never reached connect: count only ours. */
static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		smfi_setpriv(ctx, NULL);
		free(c);
		atomic_fetch_sub(&inflight, 1);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	(void)ctx;
	(void)f0;
	(void)f2;
	(void)f3;
	/* Pass-through: no actions, and skip every stage the MTA lets us skip. */
	*pf0 = 0;
	*pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOHDRS |
	    SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA);
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = PACKAGE_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = cb_connect,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

/* A unix socket's directory must exist and its path be free or a socket: say so clearly. */
static bool
check_socket_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct am_sockspec *)0)->path)];
	struct stat st;

	am_strlcpy(dir, path, sizeof(dir));
	if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory of %s does not exist", path);
		return false;
	}
	/* libmilter replaces a stale socket, but we never delete another kind of file. */
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: refusing to replace it", path);
		return false;
	}
	return true;
}

bool
am_milter_open(const struct am_conf *c, char *err, size_t errlen)
{
	char conn[512];
	mode_t old;
	int rc;

	am_sockspec_format(&c->sockspec, conn, sizeof(conn));
	if (c->sockspec.family == AM_SOCK_UNIX && !check_socket_dir(c->sockspec.path, err, errlen))
		return false;
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_register failed");
		return false;
	}
	if (smfi_setconn(conn) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_setconn %s failed", conn);
		return false;
	}
	/* The socket is created with our umask: that is how its mode is set. */
	old = umask((mode_t)(~c->socket_mode & 0777));
	errno = 0;
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s%s%s", conn, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return false;
	}
	if (c->sockspec.family == AM_SOCK_UNIX && chmod(c->sockspec.path, (mode_t)c->socket_mode) != 0) {
		snprintf(err, errlen, "chmod %s: %s", c->sockspec.path, strerror(errno));
		return false;
	}
	return true;
}

bool
am_milter_chown_socket(const struct am_conf *c, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (c->sockspec.family != AM_SOCK_UNIX)
		return true;
	if (chown(c->sockspec.path, uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", c->sockspec.path, strerror(errno));
		return false;
	}
	return true;
}

int
am_milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

void
am_milter_stop(void)
{
	(void)smfi_stop();
}

unsigned
am_milter_inflight(void)
{
	return atomic_load(&inflight);
}

void
am_milter_cleanup(const struct am_conf *c)
{
	if (c->sockspec.family == AM_SOCK_UNIX)
		(void)unlink(c->sockspec.path);
}
