/*
 * appendfile.c - an append-only record file shared by all threads (see
 * appendfile.h).
 *
 * A read-write lock keeps the descriptor stable while threads append
 * (readers) and lets a reopen swap it (writer).  O_APPEND makes each
 * write(2) land at the end as one piece.  Errors and threads: see
 * appendfile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Utility library. */
#include "util/appendfile.h"
#include "util/log.h"
#include "util/util.h"

struct am_appendfile {
	pthread_rwlock_t lock;
	int	fd;
	char	*path;
	unsigned mode;
	atomic_bool failing;		/* an outage already reported */
};

static int
open_append(const char *path, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);

	/* O_CREAT honours the umask; the configured mode is what the admin asked for. */
	if (fd >= 0)
		(void)fchmod(fd, (mode_t)mode);
	return fd;
}

am_appendfile *
am_appendfile_open(const char *path, unsigned mode, char *err, size_t errlen)
{
	am_appendfile *lf;
	int fd;

	if ((fd = open_append(path, mode)) < 0) {
		snprintf(err, errlen, "AlignmentLog %s: %s", path, strerror(errno));
		return NULL;
	}
	lf = am_xcalloc(1, sizeof(*lf));
	pthread_rwlock_init(&lf->lock, NULL);
	lf->fd = fd;
	lf->path = am_xstrdup(path);
	lf->mode = mode;
	return lf;
}

static bool
write_all(int fd, const char *rec, size_t len)
{
	ssize_t n = write(fd, rec, len);

	/* A short write on a regular file means the disk is full: count it as failed. */
	return n >= 0 && (size_t)n == len;
}

bool
am_appendfile_append(am_appendfile *lf, const char *rec, size_t len)
{
	bool ok;
	int saved;

	pthread_rwlock_rdlock(&lf->lock);
	ok = write_all(lf->fd, rec, len);
	saved = errno;
	pthread_rwlock_unlock(&lf->lock);
	if (!ok && !atomic_exchange(&lf->failing, true))
		am_log(LOG_ERR, "AlignmentLog %s: cannot write: %s (mail keeps flowing; records are lost until it recovers)",
		    lf->path, strerror(saved));
	if (ok && atomic_exchange(&lf->failing, false))
		am_log(LOG_NOTICE, "AlignmentLog %s: writing again", lf->path);
	return ok;
}

bool
am_appendfile_reopen(am_appendfile *lf)
{
	int fd = open_append(lf->path, lf->mode);

	if (fd < 0) {
		am_log(LOG_ERR, "AlignmentLog %s: reopen failed: %s (still writing to the old file)",
		    lf->path, strerror(errno));
		return false;
	}
	pthread_rwlock_wrlock(&lf->lock);
	close(lf->fd);
	lf->fd = fd;
	pthread_rwlock_unlock(&lf->lock);
	return true;
}

void
am_appendfile_close(am_appendfile *lf)
{
	if (lf == NULL)
		return;
	close(lf->fd);
	pthread_rwlock_destroy(&lf->lock);
	free(lf->path);
	free(lf);
}
