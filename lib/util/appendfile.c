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
#include <sys/uio.h>
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
	atomic_bool line_open;		/* a cut record left the file inside a line */
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

/*
 * One record, in one writev(2) so concurrent records never interleave.
 * A short write on a regular file means the disk is full: the record is
 * lost and the file ends inside a line; the next record then starts with
 * a newline of its own, so a reader loses the cut record only.
 */
static bool
write_record(am_appendfile *lf, const char *rec, size_t len)
{
	struct iovec iov[2] = { { (void *)"\n", 1 }, { (void *)rec, len } };
	bool lead = atomic_load(&lf->line_open);
	size_t want = len + (lead ? 1 : 0);
	ssize_t n = writev(lf->fd, lead ? iov : iov + 1, lead ? 2 : 1);

	if (n >= 0 && (size_t)n == want) {
		if (lead)
			atomic_store(&lf->line_open, false);
		return true;
	}
	if (n >= 0) {
		/* Only the leading newline made it: the file ends on a whole line. */
		if (n > 0)
			atomic_store(&lf->line_open, !(lead && n == 1));
		errno = ENOSPC;
	}
	return false;
}

bool
am_appendfile_append(am_appendfile *lf, const char *rec, size_t len)
{
	bool ok;
	int saved;

	pthread_rwlock_rdlock(&lf->lock);
	ok = write_record(lf, rec, len);
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
	atomic_store(&lf->line_open, false);	/* a new file starts on a whole line */
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
