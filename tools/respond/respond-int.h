/*
 * respond-int.h - the parts of alignmilter-respond that do I/O, shared by
 * its files only: reading the probe and its alignment-log record
 * (respond-input.c), composing the report and the reply
 * (respond-reply.c), and the outside world: spool files, the retry file,
 * subprocesses (respond-run.c).  respond-main.c drives them; the pure
 * decisions are respond.h's.
 *
 * Errors: nothing here is logged; every function answers with a reason
 * in err that respond-main.c logs once.  Out of memory aborts.
 *
 * Threads: alignmilter-respond is single-threaded.
 */
#ifndef AM_RESPOND_INT_H
#define AM_RESPOND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/util.h"
#include "auth/verdict.h"
#include "respond.h"

#define RSP_FIELD_MAX	998	/* RFC 5322 2.1.1 line limit: values kept up to this */
#define RSP_HEADERS_MAX	16	/* the fields the loop guard reads */

/* The probe message as read from standard input. */
struct rsp_probe {
	char	*buf;			/* the message, NUL-terminated */
	size_t	len;
	size_t	header_len;		/* the header block: buf[0..header_len) */
	char	message_id[RSP_FIELD_MAX];	/* unfolded, "" if none */
	char	subject[RSP_FIELD_MAX];
	char	from[RSP_FIELD_MAX];
	char	from_addr[AM_RSP_ADDR_MAX];	/* the From address, "" unless exactly one */
	char	from_domain[AM_DOMAIN_MAX];
	bool	authres_found;		/* our Authentication-Results field */
	char	authres_dmarc[32];	/* its dmarc= result, "" if none */
	struct am_rsp_header hdr[RSP_HEADERS_MAX];	/* for am_rsp_loop_guard */
	size_t	nhdr;
};

/* What reading standard input gave. */
enum rsp_read {
	RSP_READ_OK = 0,
	RSP_READ_OVERSIZE,		/* more than the cap: buf holds the first cap bytes */
	RSP_READ_ERROR,
};

/* What looking up the record gave. */
enum rsp_find {
	RSP_FIND_FOUND = 0,
	RSP_FIND_NOT_FOUND,		/* not (yet) in the log or its .1 */
	RSP_FIND_ERROR,			/* the log unreadable, or the record malformed */
};

/* respond-input.c */
enum rsp_read rsp_read_stdin(size_t cap, struct rsp_probe *, char *err, size_t errlen);
bool	rsp_probe_parse(struct rsp_probe *, const char *authserv_id, char *err, size_t errlen);
void	rsp_probe_free(struct rsp_probe *);
/*
 * The last record for queue_id in path, else in path.1; the line (without
 * newline) into *line (caller frees), parsed into *v.
 */
enum rsp_find rsp_log_find(const char *path, const char *queue_id, struct am_verdict *v,
	    char **line, char *err, size_t errlen);

/* respond-reply.c */
struct rsp_reply {
	const struct am_verdict *v;
	const struct rsp_probe *probe;
	const char *record;		/* the alignment-log line as read */
	const char *grade;		/* the domain checker's text, or NULL */
	const char *why;		/* why the reply goes where it goes, or why not at all */
	const char *from;		/* RespondFrom */
	const char *to;			/* the reply address, or NULL: report only */
	const char *sender, *client, *helo, *queue_id;	/* the envelope, from pipe(8) */
	time_t	now;
};
/* "alignmilter verdict for example.com: dmarc=pass (spf=pass, dkim=pass)" */
void	rsp_subject(const struct am_verdict *, char *buf, size_t buflen);
/* The human-readable report, lines wrapped at 76. */
void	rsp_report(struct am_buf *, const struct rsp_reply *);
/* The whole reply message (RFC 5322, CRLF-free: sendmail -i takes LF). */
void	rsp_compose(struct am_buf *, const struct rsp_reply *, const char *report);

/* respond-run.c */
/* dir/name.txt written through a temporary file and rename, mode 0640. */
bool	rsp_spool(const char *dir, const char *name, const char *text, size_t len,
	    char *err, size_t errlen);
/*
 * One more transient failure for queue_id, counted in file (created 0600,
 * locked with fcntl; entries older than a day dropped): the count so far,
 * 0 on an error (err says why; the caller then gives up: spools).
 */
unsigned rsp_retry_count(const char *file, const char *queue_id, time_t now, char *err, size_t errlen);
/*
 * Run argv[0] with argv, input on its standard input, its standard
 * output into out (at most outmax bytes kept), standard error to ours;
 * killed after timeout seconds.  The exit status, or -1 with err.
 */
int	rsp_run(char *const argv[], const char *input, size_t inlen, struct am_buf *out, size_t outmax,
	    unsigned timeout, char *err, size_t errlen);

#endif
