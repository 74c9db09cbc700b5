/*
 * report-sendstate.c - the --send-dmarc state file (see
 * report-sendstate.h, which also says how it fails and who may call it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Utility library. */
#include "util/util.h"

/* Application-specific. */
#include "report-sendstate.h"
#include "reportmap.h"

#define LINE_MAX_BYTES	2048

static const char *const words[] = { "none", "handing", "handed", "failed", "abandoned" };

struct am_sendstate {
	char	*path;
	int	fd;			/* -1: read-only */
	struct am_rmap *keys;
	unsigned char *last;		/* per key: enum am_sendstate_event */
	size_t	cap;
};

static void
key_of(time_t begin, const char *domain, const char *addr, char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld %s %s", (long long)begin, domain, addr);
}

static void
remember(struct am_sendstate *s, const char *key, enum am_sendstate_event e)
{
	size_t i = am_rmap_index(s->keys, key, NULL);

	if (i >= s->cap) {
		size_t old = s->cap;

		s->cap = s->cap ? s->cap * 2 : 64;
		while (s->cap <= i)
			s->cap *= 2;
		s->last = am_xreallocarray(s->last, s->cap, 1);
		memset(s->last + old, 0, s->cap - old);
	}
	s->last[i] = (unsigned char)e;
}

/* "<event> <begin> <domain> <addr> <time>": false when it is not that. */
static bool
parse_line(struct am_sendstate *s, char *line)
{
	char *f[5], *save = NULL, *p = line, key[LINE_MAX_BYTES];
	size_t n = 0, e;
	char *end;

	while (n < 5 && (f[n] = strtok_r(p, " ", &save)) != NULL) {
		p = NULL;
		n++;
	}
	if (n != 5 || strtok_r(NULL, " ", &save) != NULL)
		return false;
	for (e = 1; e < sizeof(words) / sizeof(words[0]); e++)
		if (strcmp(f[0], words[e]) == 0)
			break;
	if (e == sizeof(words) / sizeof(words[0]))
		return false;
	errno = 0;
	(void)strtoll(f[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[1])
		return false;
	snprintf(key, sizeof(key), "%s %s %s", f[1], f[2], f[3]);
	remember(s, key, (enum am_sendstate_event)e);
	return true;
}

/* Read every line; *torn: the file does not end in a newline. */
static bool
load(struct am_sendstate *s, FILE *f, bool *torn, char *err, size_t errlen)
{
	char line[LINE_MAX_BYTES];
	unsigned long lineno = 0;
	size_t len;

	*torn = false;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			if (feof(f)) {		/* a crash in mid-write: that event never happened */
				*torn = true;
				break;
			}
			snprintf(err, errlen, "%s:%lu: line too long", s->path, lineno);
			return false;
		}
		line[len - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!parse_line(s, line)) {
			snprintf(err, errlen, "%s:%lu: not a state line (event begin domain address time)",
			    s->path, lineno);
			return false;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", s->path, strerror(errno));
		return false;
	}
	return true;
}

static bool
append(struct am_sendstate *s, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);
	ssize_t w;

	/* One write per event: O_APPEND keeps it whole; fsync makes it outlive a crash. */
	do
		w = write(s->fd, text, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len || fsync(s->fd) != 0) {
		snprintf(err, errlen, "%s: cannot record: %s", s->path, w >= 0 && (size_t)w != len ?
		    "short write" : strerror(errno));
		return false;
	}
	return true;
}

struct am_sendstate *
am_sendstate_open(const char *path, bool readonly, char *err, size_t errlen)
{
	struct am_sendstate *s = am_xcalloc(1, sizeof(*s));
	FILE *f = NULL;
	bool torn = false, ok;
	int rfd;

	s->path = am_xstrdup(path);
	s->fd = -1;
	s->keys = am_rmap_new();
	if (!readonly) {
		if ((s->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			goto fail;
		}
		if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
			snprintf(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
			    "locked: another alignmilter-report --send-dmarc is running" : strerror(errno));
			goto fail;
		}
	}
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (readonly && errno == ENOENT)
			return s;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if ((f = fdopen(rfd, "r")) == NULL) {
		close(rfd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ok = load(s, f, &torn, err, errlen);
	fclose(f);
	if (!ok)
		goto fail;
	if (torn && !readonly && !append(s, "\n", err, errlen))
		goto fail;
	return s;
fail:
	am_sendstate_close(s);
	return NULL;
}

void
am_sendstate_close(struct am_sendstate *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);		/* and the lock with it */
	am_rmap_free(s->keys);
	free(s->last);
	free(s->path);
	free(s);
}

enum am_sendstate_event
am_sendstate_get(struct am_sendstate *s, time_t begin, const char *domain, const char *addr)
{
	char key[LINE_MAX_BYTES];
	bool created;
	size_t i;

	key_of(begin, domain, addr, key, sizeof(key));
	/* A key asked for and never recorded costs one slot: bounded by the run's reports. */
	i = am_rmap_index(s->keys, key, &created);
	return created || i >= s->cap ? AM_SEND_NONE : (enum am_sendstate_event)s->last[i];
}

bool
am_sendstate_put(struct am_sendstate *s, enum am_sendstate_event e, time_t begin, const char *domain,
    const char *addr, char *err, size_t errlen)
{
	char key[LINE_MAX_BYTES], line[LINE_MAX_BYTES + 64];

	if (s->fd < 0) {
		snprintf(err, errlen, "%s: read-only", s->path);
		return false;
	}
	key_of(begin, domain, addr, key, sizeof(key));
	snprintf(line, sizeof(line), "%s %s %lld\n", words[e], key, (long long)time(NULL));
	if (!append(s, line, err, errlen))
		return false;
	remember(s, key, e);
	return true;
}
