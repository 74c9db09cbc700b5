/*
 * reportfile.c - writing one output file of alignmilter-report (see
 * reportfile.h, which also says how it fails and who may call it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Application-specific. */
#include "reportfile.h"

static bool
fail(const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	return false;
}

/* Create a fresh file beside path: O_EXCL creates or fails, a link included. */
static int
create_beside(const char *path, char *tmp, size_t tmplen)
{
	unsigned i;
	int fd;

	for (i = 0; i < 100; i++) {
		if ((size_t)snprintf(tmp, tmplen, "%s.tmp%ld.%u", path, (long)getpid(), i) >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

bool
am_reportfile_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	const char *p = data;
	char tmp[4200];
	ssize_t n;
	int fd, e;

	if ((fd = create_beside(path, tmp, sizeof(tmp))) < 0)
		return fail(path, errno, err, errlen);
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			goto undo;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto undo;
	}
	/* rename() replaces whatever name is at path, a symbolic link included. */
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto undo;
	}
	return true;
undo:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return fail(path, e, err, errlen);
}
