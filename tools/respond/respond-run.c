/*
 * respond-run.c - alignmilter-respond's side effects: the spool file of a
 * report, the retry file (how many times a queue id was deferred), and
 * running a program (sendmail, alignmilter-check) with a time limit.
 *
 * Owns: the spool file's mode (0640) and atomic replacement (a temporary
 * file in the spool directory, fsync, rename); the retry file's format
 * ("QUEUE_ID COUNT FIRST_SEEN" per line), lock (fcntl write lock on the
 * file itself, so concurrent deliveries count each other) and bounds
 * (a day's entries, RSP_RETRY_MAX lines); the child's environment of
 * descriptors (stdin a pipe or /dev/null, stdout a pipe, stderr ours)
 * and its time limit (SIGKILL when it passes).
 *
 * Errors: nothing is logged; reasons go to err.  Out of memory aborts.
 *
 * Threads: single-threaded program; SIGPIPE is ignored by main so a child
 * that exits early cannot kill us.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

#include "respond-int.h"

#define RSP_RETRY_MAX	10000		/* lines kept in the retry file */
#define RSP_RETRY_AGE	86400		/* seconds an entry is kept */

static bool
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool
rsp_spool(const char *dir, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "spool %s: %s", tmp, strerror(errno));
		return false;
	}
	(void)fchmod(fd, 0640);	/* whatever the umask */
	if (!write_all(fd, text, len) || fsync(fd) != 0) {
		snprintf(err, errlen, "spool %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return false;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

/* The lines of the retry file still young, queue_id's counted once more, into out. */
static unsigned
retry_update(FILE *fp, const char *queue_id, time_t now, struct am_buf *out)
{
	char line[256], qid[128];
	unsigned count, found = 0, kept = 0;
	long long first;

	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%127s %u %lld", qid, &count, &first) != 3)
			continue;	/* a damaged line is dropped, not fatal */
		if (now - (time_t)first > RSP_RETRY_AGE || kept >= RSP_RETRY_MAX - 1)
			continue;
		if (strcmp(qid, queue_id) == 0) {
			found = count + 1;
			am_buf_printf(out, "%s %u %lld\n", qid, found, first);
		} else
			am_buf_printf(out, "%s %u %lld\n", qid, count, first);
		kept++;
	}
	if (found == 0) {
		found = 1;
		am_buf_printf(out, "%s 1 %lld\n", queue_id, (long long)now);
	}
	return found;
}

unsigned
rsp_retry_count(const char *file, const char *queue_id, time_t now, char *err, size_t errlen)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct am_buf out;
	unsigned count = 0;
	FILE *fp;
	int fd;

	if ((fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "retry file %s: %s", file, strerror(errno));
		return 0;
	}
	while (fcntl(fd, F_SETLKW, &lk) != 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "retry file %s: lock: %s", file, strerror(errno));
			close(fd);
			return 0;
		}
	}
	if ((fp = fdopen(fd, "r+")) == NULL) {
		snprintf(err, errlen, "retry file %s: %s", file, strerror(errno));
		close(fd);
		return 0;
	}
	am_buf_init(&out);
	count = retry_update(fp, queue_id, now, &out);
	/* Rewritten in place under the lock: the lock is on this inode. */
	if (fflush(fp) != 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    !write_all(fd, out.data != NULL ? out.data : "", out.len)) {
		snprintf(err, errlen, "retry file %s: %s", file, strerror(errno));
		count = 0;
	}
	am_buf_free(&out);
	fclose(fp);	/* closes fd and drops the lock */
	return count;
}

/* The child: stdin from in_fd (or /dev/null), stdout to out_fd, then exec. */
static void
child(char *const argv[], int in_fd, int out_fd)
{
	int null;

	if (in_fd < 0 && (null = open("/dev/null", O_RDONLY)) >= 0)
		in_fd = null;
	if (in_fd >= 0 && dup2(in_fd, 0) < 0)
		_exit(127);
	if (dup2(out_fd, 1) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	fprintf(stderr, "alignmilter-respond: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Feed input and collect output until the child closes its stdout or the deadline. */
static bool
pump(int *in_fd, int out_fd, const char *input, size_t inlen, struct am_buf *out, size_t outmax,
    time_t deadline)
{
	struct pollfd pfd[2];
	char chunk[4096];
	size_t done = 0;
	ssize_t n;
	int nfds, left;

	for (;;) {
		nfds = 0;
		if (*in_fd >= 0)
			pfd[nfds++] = (struct pollfd){ .fd = *in_fd, .events = POLLOUT };
		pfd[nfds++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		left = (int)(deadline - time(NULL));
		if (left <= 0 || poll(pfd, (nfds_t)nfds, left * 1000) == 0)
			return false;
		if (*in_fd >= 0 && pfd[0].revents != 0) {
			n = write(*in_fd, input + done, inlen - done > 65536 ? 65536 : inlen - done);
			if (n > 0)
				done += (size_t)n;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				done = inlen;	/* it stopped reading: its exit status tells */
			if (done == inlen) {
				close(*in_fd);
				*in_fd = -1;
			}
			continue;
		}
		n = read(out_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (*in_fd >= 0) {
				close(*in_fd);
				*in_fd = -1;
			}
			return true;
		}
		if (out != NULL && out->len < outmax)
			am_buf_add(out, chunk, (size_t)n > outmax - out->len ? outmax - out->len : (size_t)n);
	}
}

int
rsp_run(char *const argv[], const char *input, size_t inlen, struct am_buf *out, size_t outmax,
    unsigned timeout, char *err, size_t errlen)
{
	int inp[2] = { -1, -1 }, outp[2];
	time_t deadline = time(NULL) + (time_t)timeout;
	pid_t pid;
	int status;
	bool done;

	if ((input != NULL && pipe2(inp, O_CLOEXEC) != 0) || pipe2(outp, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "%s: pipe: %s", argv[0], strerror(errno));
		if (inp[0] >= 0) {
			close(inp[0]);
			close(inp[1]);
		}
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "%s: fork: %s", argv[0], strerror(errno));
		close(outp[0]);
		close(outp[1]);
		if (inp[0] >= 0) {
			close(inp[0]);
			close(inp[1]);
		}
		return -1;
	}
	if (pid == 0)
		child(argv, inp[0], outp[1]);
	close(outp[1]);
	if (inp[0] >= 0) {
		close(inp[0]);
		(void)fcntl(inp[1], F_SETFL, O_NONBLOCK);
	}
	done = pump(&inp[1], outp[0], input, inlen, out, outmax, deadline);
	close(outp[0]);
	if (inp[1] >= 0)
		close(inp[1]);
	if (!done)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!done) {
		snprintf(err, errlen, "%s: no answer within %u seconds", argv[0], timeout);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "%s: killed by signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}
