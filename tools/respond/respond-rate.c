/*
 * respond-rate.c - alignmilter-respond's rate limits: at most N replies
 * per reply address and M per reply domain in a sliding window, counted
 * in a state file that every alignmilter-respond process shares and
 * that survives restarts.
 *
 * Owns: the state file (RespondState) and its lock file.  The file holds
 * one line per reply taken and key, "<unix time> <kind> <key>\n", kind
 * 'a' (the address, lower-cased) or 'd' (its domain).  A take holds an
 * exclusive fcntl lock on "<state>.lock" (F_SETLKW: processes queue, a
 * crashed holder's lock goes with it), reads the file, drops entries
 * older than the window and lines it cannot read, counts, and when
 * anything changed writes "<state>.tmp" (0600), fsyncs it, renames it
 * over the state file and fsyncs the directory: a crash leaves the old
 * file or the new one, never half of one.  The lock lives on its own
 * file because rename replaces the state file's inode, and a lock on the
 * old inode would not exclude a process that opened the new one.  The
 * file is bounded: at most AM_RSP_RATE_MAX entries (the oldest go) and
 * READ_MAX octets read (a file grown past it by hand loses its tail).
 *
 * Errors: nothing logged; AM_RSP_RATE_ERROR with the reason (path and
 * errno text) in err.  A line that does not parse is skipped, the rest
 * kept.  Out of memory aborts (lib/util).
 *
 * Threads: single-threaded callers; processes exclude each other by the
 * lock.  fcntl locks belong to the process, so two threads of one
 * process would not exclude each other.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#include "respond.h"

#define AM_RSP_RATE_MAX	10000		/* entries kept */
#define READ_MAX	(16u << 20)	/* octets read: 10,000 lines are ~3.5 MB */
#define LINE_MAX_LEN	(AM_RSP_ADDR_MAX + 40)

struct entry {
	long long ts;
	size_t	seq;			/* file order, so the sort is stable */
	char	kind;
	char	*key;
};

struct state {
	struct entry *e;
	size_t	n, cap;
	size_t	dropped;		/* expired or unreadable: the file must be rewritten */
};

static void
add_entry(struct state *st, long long ts, char kind, const char *key)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 256;
		st->e = am_xreallocarray(st->e, st->cap, sizeof(*st->e));
	}
	st->e[st->n].ts = ts;
	st->e[st->n].seq = st->n;
	st->e[st->n].kind = kind;
	st->e[st->n].key = am_xstrdup(key);
	st->n++;
}

static void
free_state(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->e[i].key);
	free(st->e);
}

/* A key as written: 1..AM_RSP_ADDR_MAX printable ASCII octets without space. */
static bool
key_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > AM_RSP_ADDR_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if ((unsigned char)k[i] <= ' ' || (unsigned char)k[i] >= 0x7f)
			return false;
	}
	return true;
}

/* One line without its newline: "<digits> <a|d> <key>"; false when it does not parse. */
static bool
parse_line(char *line, long long *ts, char *kind, char **key)
{
	char *p = line;
	long long v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (p[0] != ' ' || (p[1] != 'a' && p[1] != 'd') || p[2] != ' ')
		return false;
	if (!key_ok(p + 3, strlen(p + 3)))
		return false;
	*ts = v;
	*kind = p[1];
	*key = p + 3;
	return true;
}

/*
 * Read the entries still inside the window at now.  An entry more than a
 * window in the future cannot come from this clock: it would block its
 * key for good, so it goes like an unreadable line.
 */
static bool
read_state(const char *path, long long now, long long window, struct state *st,
    char *err, size_t errlen)
{
	char line[LINE_MAX_LEN + 2];
	size_t total = 0, len;
	long long ts;
	char kind, *key;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return true;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return false;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		len = strlen(line);
		total += len;
		if (total > READ_MAX) {
			st->dropped++;
			break;
		}
		if (len == 0 || line[len - 1] != '\n') {
			/* Over-long (or cut at the end): skip to the next line. */
			int c;

			st->dropped++;
			while ((c = getc(fp)) != EOF && c != '\n')
				total++;
			continue;
		}
		line[len - 1] = '\0';
		if (!parse_line(line, &ts, &kind, &key) || now - ts >= window || ts - now > window) {
			st->dropped++;
			continue;
		}
		add_entry(st, ts, kind, key);
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(fp);
		return false;
	}
	fclose(fp);
	return true;
}

static int
by_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* fsync the directory holding path, so the rename itself is durable. */
static bool
sync_dir(const char *path, char *err, size_t errlen)
{
	char *dir = am_xstrdup(path), *slash = strrchr(dir, '/');
	int fd;
	bool ok = true;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		ok = false;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return ok;
}

static bool
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Entries [first, n) to path through path.tmp, fsync and rename. */
static bool
write_state(const char *path, const struct state *st, size_t first, char *err, size_t errlen)
{
	struct am_buf b;
	char *tmp;
	size_t i;
	int fd;
	bool ok = false;

	am_buf_init(&b);
	for (i = first; i < st->n; i++)
		am_buf_printf(&b, "%lld %c %s\n", st->e[i].ts, st->e[i].kind, st->e[i].key);
	tmp = am_xmalloc(strlen(path) + 5);
	strcpy(tmp, path);
	strcat(tmp, ".tmp");
	/* O_NOFOLLOW: a link planted at the temporary name is not followed. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || !write_all(fd, b.data != NULL ? b.data : "", b.len) ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: rename to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ok = sync_dir(path, err, errlen);
out:
	free(tmp);
	am_buf_free(&b);
	return ok;
}

/* The exclusive lock on path.lock; the descriptor, or -1 with err set. */
static int
lock_state(const char *path, char *err, size_t errlen)
{
	struct flock fl;
	char *lock = am_xmalloc(strlen(path) + 6);
	int fd;

	strcpy(lock, path);
	strcat(lock, ".lock");
	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		free(lock);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLKW, &fl) != 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "%s: lock: %s", lock, strerror(errno));
		close(fd);
		free(lock);
		return -1;
	}
	free(lock);
	return fd;
}

enum am_rsp_rate
am_rsp_rate_take(const char *path, const char *addr, const struct am_rsp_limits *lim,
    time_t now, char *err, size_t errlen)
{
	char key[AM_RSP_ADDR_MAX + 1];
	const char *domain;
	struct state st = { NULL, 0, 0, 0 };
	enum am_rsp_rate r = AM_RSP_RATE_OK;
	unsigned per_addr = 0, per_domain = 0;
	size_t i, n, first = 0;
	int lockfd;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (err == NULL)
		errlen = 0;
	n = addr != NULL ? strnlen(addr, sizeof(key)) : 0;
	if (path == NULL || lim == NULL || !key_ok(addr, n) ||
	    (domain = strrchr(addr, '@')) == NULL || domain[1] == '\0') {
		snprintf(err, errlen, "not an address: %.80s", addr != NULL ? addr : "(null)");
		return AM_RSP_RATE_ERROR;
	}
	memcpy(key, addr, n + 1);
	am_lowercase(key);
	domain = strrchr(key, '@') + 1;

	if ((lockfd = lock_state(path, err, errlen)) < 0)
		return AM_RSP_RATE_ERROR;
	if (!read_state(path, (long long)now, (long long)lim->window, &st, err, errlen)) {
		r = AM_RSP_RATE_ERROR;
		goto out;
	}
	for (i = 0; i < st.n; i++) {
		if (st.e[i].kind == 'a' && strcmp(st.e[i].key, key) == 0)
			per_addr++;
		else if (st.e[i].kind == 'd' && strcmp(st.e[i].key, domain) == 0)
			per_domain++;
	}
	if (per_addr >= lim->per_addr)
		r = AM_RSP_RATE_ADDR;
	else if (per_domain >= lim->per_domain)
		r = AM_RSP_RATE_DOMAIN;
	else {
		add_entry(&st, (long long)now, 'a', key);
		add_entry(&st, (long long)now, 'd', domain);
	}
	qsort(st.e, st.n, sizeof(*st.e), by_time);
	if (st.n > AM_RSP_RATE_MAX)
		first = st.n - AM_RSP_RATE_MAX;
	/* A refusal stays one if only the clean-up cannot be written. */
	if ((r == AM_RSP_RATE_OK || st.dropped > 0 || first > 0) &&
	    !write_state(path, &st, first, err, errlen) && r == AM_RSP_RATE_OK)
		r = AM_RSP_RATE_ERROR;
out:
	free_state(&st);
	close(lockfd);			/* releases the lock */
	return r;
}
