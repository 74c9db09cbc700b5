/*
 * respond-input.c - what alignmilter-respond reads: the probe message on
 * standard input (capped), the header fields it needs from it, and the
 * probe's record in the alignment log.
 *
 * Owns: the input cap; picking our Authentication-Results field (the
 * first whose authserv-id is AuthservID: the milter adds its own at the
 * top and removes forged ones) and its dmarc= result; the From address;
 * the fields the loop guard reads; the bounded backward scan of the
 * alignment log and of its rotated ".1" for the newest record of a queue
 * id (the tail RSP_LOG_SCAN bytes of each: a probe is answered within
 * minutes of being logged, so an older record is not worth a full read).
 *
 * Errors: nothing is logged; reasons go to err (respond-int.h).
 * Out of memory aborts.
 *
 * Threads: single-threaded program.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "auth/message.h"
#include "policy/alignlog-read.h"

#include "respond-int.h"

#define RSP_LOG_SCAN	(16u << 20)	/* bytes of a log file's tail searched */

enum rsp_read
rsp_read_stdin(size_t cap, struct rsp_probe *p, char *err, size_t errlen)
{
	size_t size = 65536;
	ssize_t n;
	char extra;

	memset(p, 0, sizeof(*p));
	p->buf = am_xmalloc(size + 1);
	for (;;) {
		if (p->len == size && size < cap) {
			size = size * 2 > cap ? cap : size * 2;
			p->buf = am_xreallocarray(p->buf, size + 1, 1);
		}
		if (p->len == cap) {
			/* One more byte tells "exactly cap" from "over cap". */
			while ((n = read(0, &extra, 1)) < 0 && errno == EINTR)
				;
			p->buf[p->len] = '\0';
			if (n > 0) {
				snprintf(err, errlen, "message larger than RespondMaxSize (%zu bytes)", cap);
				return RSP_READ_OVERSIZE;
			}
			break;
		}
		n = read(0, p->buf + p->len, size - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p->buf[p->len] = '\0';
			snprintf(err, errlen, "reading the message: %s", strerror(errno));
			return RSP_READ_ERROR;
		}
		if (n == 0)
			break;
		p->len += (size_t)n;
	}
	p->buf[p->len] = '\0';
	return RSP_READ_OK;
}

/* value[0..len) unfolded (line ends dropped), trimmed, NUL-free, into out. */
static void
unfold(const char *value, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < outlen; i++) {
		if (value[i] == '\r' || value[i] == '\n')
			continue;
		out[o++] = value[i] == '\0' || value[i] == '\t' ? ' ' : value[i];
	}
	out[o] = '\0';
	memmove(out, am_trim(out), strlen(am_trim(out)) + 1);
}

/* The dmarc= result of an Authentication-Results value ("" if none). */
static void
authres_dmarc(const char *value, char *out, size_t outlen)
{
	const char *p = value;
	size_t n = 0;

	out[0] = '\0';
	while ((p = strcasestr(p, "dmarc=")) != NULL) {
		if (p == value || p[-1] == ';' || isspace((unsigned char)p[-1]))
			break;
		p++;
	}
	if (p == NULL)
		return;
	for (p += 6; isalpha((unsigned char)*p) && n + 1 < outlen; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	out[n] = '\0';
}

/* The address of a From value: inside <>, else the value without comments. */
static void
from_address(const char *value, char *out, size_t outlen)
{
	const char *lt = strrchr(value, '<'), *gt;
	char tmp[RSP_FIELD_MAX], *at;
	size_t n = 0;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		n = (size_t)(gt - lt - 1);
		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1;
		memcpy(tmp, lt + 1, n);
		tmp[n] = '\0';
	} else {
		am_strlcpy(tmp, value, sizeof(tmp));
		if ((at = strchr(tmp, '(')) != NULL)
			*at = '\0';
	}
	at = am_trim(tmp);
	if (strpbrk(at, " \t,;<>\"") != NULL || strlen(at) >= outlen) {
		out[0] = '\0';	/* a group, a list, a quoted local part: not a reply address */
		return;
	}
	am_strlcpy(out, at, outlen);
	if ((at = strrchr(out, '@')) != NULL)
		am_lowercase(at);
}

static const char *const guard_fields[] = {
	"Auto-Submitted", "List-Id", "List-Unsubscribe", "List-Post", "List-Help",
	"List-Owner", "List-Subscribe", "List-Archive", "Precedence", "From", "Sender",
	"X-Auto-Response-Suppress",
};

struct field_ctx {
	struct rsp_probe *p;
	const char *authserv_id;
	unsigned froms;
};

static bool
on_field(void *arg, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	struct field_ctx *c = arg;
	struct rsp_probe *p = c->p;
	char v[RSP_FIELD_MAX], id[256];
	size_t i;

#define IS(n) (namelen == sizeof(n) - 1 && strncasecmp(name, n, namelen) == 0)
	unfold(value, valuelen, v, sizeof(v));
	if (IS("Message-ID") && p->message_id[0] == '\0')
		am_strlcpy(p->message_id, v, sizeof(p->message_id));
	else if (IS("Subject") && p->subject[0] == '\0')
		am_strlcpy(p->subject, v, sizeof(p->subject));
	else if (IS("From")) {
		if (c->froms++ == 0)
			am_strlcpy(p->from, v, sizeof(p->from));
	} else if (IS("Authentication-Results") && !p->authres_found &&
	    am_authres_authserv_id(value, valuelen, id, sizeof(id)) &&
	    strcasecmp(id, c->authserv_id) == 0) {
		p->authres_found = true;
		authres_dmarc(v, p->authres_dmarc, sizeof(p->authres_dmarc));
	}
#undef IS
	for (i = 0; i < sizeof(guard_fields) / sizeof(guard_fields[0]) && p->nhdr < RSP_HEADERS_MAX; i++) {
		if (strlen(guard_fields[i]) != namelen || strncasecmp(name, guard_fields[i], namelen) != 0)
			continue;
		p->hdr[p->nhdr].name = guard_fields[i];
		p->hdr[p->nhdr].value = am_xstrdup(v);
		p->nhdr++;
		break;
	}
	return true;
}

bool
rsp_probe_parse(struct rsp_probe *p, const char *authserv_id, char *err, size_t errlen)
{
	struct field_ctx c = { p, authserv_id, 0 };
	char *at;

	if (!am_message_split(p->buf, p->len, on_field, &c, &p->header_len, err, errlen))
		return false;
	if (c.froms == 1) {
		from_address(p->from, p->from_addr, sizeof(p->from_addr));
		if ((at = strrchr(p->from_addr, '@')) != NULL)
			am_strlcpy(p->from_domain, at + 1, sizeof(p->from_domain));
		else
			p->from_addr[0] = '\0';
	}
	return true;
}

void
rsp_probe_free(struct rsp_probe *p)
{
	size_t i;

	for (i = 0; i < p->nhdr; i++)
		free((char *)p->hdr[i].value);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* The tail of path (at most RSP_LOG_SCAN bytes) into a new buffer; false with err. */
static bool
read_tail(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	off_t start;
	ssize_t n;
	size_t got = 0, want;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	start = st.st_size > (off_t)RSP_LOG_SCAN ? st.st_size - (off_t)RSP_LOG_SCAN : 0;
	want = (size_t)(st.st_size - start);
	*buf = am_xmalloc(want + 1);
	while (got < want && (n = pread(fd, *buf + got, want - got, start + (off_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(*buf);
			close(fd);
			return false;
		}
		got += (size_t)n;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return true;
}

/* The newest line of buf holding queue_id's record, parsed; RSP_FIND_*. */
static enum rsp_find
scan(const char *buf, size_t len, const char *queue_id, struct am_verdict *v, char **line,
    char *err, size_t errlen)
{
	char needle[96], why[256];
	const char *end = buf + len, *start;

	snprintf(needle, sizeof(needle), "\"queue_id\":\"%s\"", queue_id);
	while (end > buf) {
		for (start = end; start > buf && start[-1] != '\n'; start--)
			;
		if ((size_t)(end - start) > strlen(needle) &&
		    memmem(start, (size_t)(end - start), needle, strlen(needle)) != NULL) {
			if (!am_alignlog_read(start, (size_t)(end - start), v, why, sizeof(why))) {
				snprintf(err, errlen, "the record of %s is malformed: %s", queue_id, why);
				return RSP_FIND_ERROR;
			}
			if (strcmp(v->queue_id, queue_id) == 0) {
				*line = am_xstrndup(start, (size_t)(end - start));
				return RSP_FIND_FOUND;
			}
		}
		end = start > buf ? start - 1 : buf;
	}
	return RSP_FIND_NOT_FOUND;
}

enum rsp_find
rsp_log_find(const char *path, const char *queue_id, struct am_verdict *v, char **line,
    char *err, size_t errlen)
{
	char rotated[4096], e2[512];
	enum rsp_find r = RSP_FIND_NOT_FOUND;
	const char *files[2];
	char *buf;
	size_t len, i, unreadable = 0;

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	files[0] = path;
	files[1] = rotated;
	err[0] = '\0';
	for (i = 0; i < 2 && r == RSP_FIND_NOT_FOUND; i++) {
		if (!read_tail(files[i], &buf, &len, e2, sizeof(e2))) {
			/* No rotated file is normal; an unreadable current log is not. */
			if (i == 0 || errno != ENOENT) {
				unreadable++;
				am_strlcpy(err, e2, errlen);
			}
			continue;
		}
		r = scan(buf, len, queue_id, v, line, err, errlen);
		free(buf);
	}
	if (r == RSP_FIND_NOT_FOUND && unreadable > 0)
		return RSP_FIND_ERROR;
	if (r == RSP_FIND_NOT_FOUND)
		snprintf(err, errlen, "no record for queue id %s in %s or %s", queue_id, path, rotated);
	return r;
}
