/*
 * report-send.c - mailing the aggregate reports (see report-send.h, which
 * also says how it fails and who may call it).  Section numbers are
 * draft-ietf-dmarc-aggregate-reporting-32's ("draft-32").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Utility library. */
#include "util/util.h"

/* Application-specific. */
#include "report-mime.h"
#include "report-rua.h"
#include "report-send.h"
#include "reportfile.h"

#define PROG	"alignmilter-report"

struct run {
	const struct am_send_opts *o;
	unsigned long sent, notes, errors, later;
	bool	stop;				/* the state file failed */
	/* The report at hand. */
	const struct am_dmarcxml_report *r;
	char	day[16];
	struct am_buf gz, msg;
	char	gzname[1100], report_id[300], submitter[AM_DOMAIN_MAX];
};

static void
say(struct run *u, bool error, const char *addr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "alignmilter-report: <domain> <day>[ -> <address>]: ..." on stderr. */
static void
say(struct run *u, bool error, const char *addr, const char *fmt, ...)
{
	va_list ap;

	if (error)
		u->errors++;
	else
		u->notes++;
	fprintf(stderr, PROG ": %s%s %s%s%s: ", error ? "error: " : "", u->r->domain, u->day,
	    addr != NULL ? " -> " : "", addr != NULL ? addr : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A DNS name of host-name characters: it goes into a Subject, a file name, a query. */
static bool
plain_domain(const char *d)
{
	const char *p;

	if (d[0] == '\0' || strlen(d) > 253 || d[0] == '.' || d[0] == '-')
		return false;
	for (p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_'))
			return false;
	return strstr(d, "..") == NULL;
}

/* The XML's report_id: the Subject and Message-ID carry the same (draft-32 3.5.1). */
static void
report_id(const char *xml, size_t len, char *out, size_t outlen)
{
	const char *s = memmem(xml, len, "<report_id>", 11), *e;

	out[0] = '\0';
	if (s == NULL || (e = memmem(s, len - (size_t)(s - xml), "</report_id>", 12)) == NULL)
		return;
	s += 11;
	snprintf(out, outlen, "%.*s", (int)(e - s), s);
}

/* Write all of b to fd; false on error (errno). */
static bool
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* sendmail -oi -f FROM -- RCPT < msg: true when it exited 0; why otherwise. */
static bool
run_sendmail(const struct am_send_opts *o, const char *rcpt, const struct am_buf *msg, char *why,
    size_t whylen)
{
	int p[2], st, e = 0;
	pid_t pid;
	bool wrote;

	if (pipe(p) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return false;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		char *argv[] = { (char *)o->sendmail, "-oi", "-f", (char *)o->from, "--", (char *)rcpt, NULL };

		if (dup2(p[0], 0) < 0)
			_exit(127);
		close(p[0]);
		close(p[1]);
		execv(o->sendmail, argv);
		_exit(127);
	}
	close(p[0]);
	wrote = write_all(p[1], msg->data, msg->len);
	if (!wrote)
		e = errno;
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return false;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && wrote)
		return true;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		snprintf(why, whylen, "%s could not be run", o->sendmail);
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		snprintf(why, whylen, "%s exited %d", o->sendmail, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(why, whylen, "%s killed by signal %d", o->sendmail, WTERMSIG(st));
	else
		snprintf(why, whylen, "writing to %s: %s", o->sendmail, strerror(e));
	return false;
}

/* --dry-run: DIR/<report name>!<address>.eml instead of sendmail. */
static void
dry_run(struct run *u, const char *addr)
{
	char path[4096], err[600];
	size_t base = strlen(u->r->file_name) - 4;	/* without ".xml" */

	snprintf(path, sizeof(path), "%s/%.*s!%s.eml", u->o->dry_dir, (int)base, u->r->file_name, addr);
	if (strchr(addr, '/') != NULL || !am_reportfile_write(path, u->msg.data, u->msg.len, err, sizeof(err)))
		say(u, true, addr, "cannot write %s", strchr(addr, '/') != NULL ? path : err);
	else {
		u->sent++;
		fprintf(stderr, PROG ": %s %s -> %s: dry run: %s (%zu bytes)\n", u->r->domain, u->day, addr,
		    path, u->msg.len);
	}
}

/* At most once per (Policy Domain, day, destination): see report-sendstate.h. */
static void
hand_over(struct run *u, const char *addr)
{
	const struct am_send_opts *o = u->o;
	char why[600], err[600];
	bool ok;

	if (!am_sendstate_put(o->state, AM_SEND_HANDING, u->r->begin, u->r->domain, addr, err, sizeof(err))) {
		fprintf(stderr, PROG ": error: %s: stopping: nothing is sent without a record\n", err);
		u->errors++;
		u->stop = true;
		return;
	}
	ok = run_sendmail(o, addr, &u->msg, why, sizeof(why));
	if (!am_sendstate_put(o->state, ok ? AM_SEND_HANDED : AM_SEND_FAILED, u->r->begin, u->r->domain,
	    addr, err, sizeof(err))) {
		fprintf(stderr, PROG ": error: %s: stopping\n", err);
		u->errors++;
		u->stop = true;
	}
	if (!ok) {
		say(u, true, addr, "not sent: %s; tried again next run", why);
		return;
	}
	u->sent++;
	fprintf(stderr, PROG ": %s %s -> %s: sent (%zu bytes, %lu message%s)\n", u->r->domain, u->day, addr,
	    u->msg.len, u->r->messages, u->r->messages == 1 ? "" : "s");
}

/* Whether the state lets this destination have the report now. */
static bool
state_allows(struct run *u, const char *addr)
{
	char err[600];

	if (u->o->state == NULL)
		return true;
	switch (am_sendstate_get(u->o->state, u->r->begin, u->r->domain, addr)) {
	case AM_SEND_HANDED:
	case AM_SEND_ABANDONED:
		return false;		/* sent, or said once that it may have been */
	case AM_SEND_HANDING:
		say(u, false, addr, "a run stopped while handing this report to sendmail: whether it"
		    " went out is unknown, so it is not sent again (at most once)");
		if (u->o->dry_dir == NULL && !am_sendstate_put(u->o->state, AM_SEND_ABANDONED, u->r->begin,
		    u->r->domain, addr, err, sizeof(err))) {
			fprintf(stderr, PROG ": error: %s: stopping\n", err);
			u->errors++;
			u->stop = true;
		}
		return false;
	default:
		return true;
	}
}

static void
one_destination(struct run *u, struct am_rua *d, const struct am_rua *all, size_t i)
{
	const struct am_send_opts *o = u->o;
	struct am_reportmime m;
	size_t j;

	am_rua_verify(o->res, u->r->domain, u->r->org_domain, d);
	switch (d->state) {
	case AM_RUA_UNUSABLE:
		say(u, false, NULL, "rua %s skipped: %s", d->uri, d->why);
		return;
	case AM_RUA_UNAUTHORIZED:
		say(u, false, d->addr, "not sent: %s", d->why);
		return;
	case AM_RUA_TEMPFAIL:
		say(u, true, d->addr, "not sent: %s", d->why);
		return;
	default:
		break;
	}
	for (j = 0; j < i; j++)
		if ((all[j].state == AM_RUA_INTERNAL || all[j].state == AM_RUA_AUTHORIZED) &&
		    strcasecmp(all[j].addr, d->addr) == 0)
			return;		/* the same mailbox twice: one report */
	if (!state_allows(u, d->addr))
		return;
	memset(&m, 0, sizeof(m));
	m.from = o->from;
	m.from_name = o->org;
	m.to = d->addr;
	m.domain = u->r->domain;
	m.submitter = u->submitter;
	m.report_id = u->report_id;
	m.file_name = u->gzname;
	m.begin = u->r->begin;
	m.end = u->r->end;
	m.date = o->now;
	m.messages = u->r->messages;
	am_reportmime_build(&m, u->gz.data, u->gz.len, &u->msg);
	/* dmarcbis-41 4.7 dmarc-uri "!size": the message as handed over must fit. */
	if (d->limit > 0 && u->msg.len > d->limit) {
		say(u, false, d->addr, "not sent: the report message is %zu bytes, over the limit of %llu"
		    " bytes its rua= URI sets (%s)", u->msg.len, d->limit, d->uri);
		return;
	}
	if (o->dry_dir != NULL)
		dry_run(u, d->addr);
	else
		hand_over(u, d->addr);
}

static bool
one_report(void *arg, const struct am_dmarcxml_report *r)
{
	struct run *u = arg;
	struct am_rua dest[AM_RUA_MAX];
	char rua[1024], why[300], err[300];
	struct tm tm;
	size_t n, i;
	int found;

	u->r = r;
	gmtime_r(&r->begin, &tm);
	strftime(u->day, sizeof(u->day), "%Y-%m-%d", &tm);
	/* Only whole UTC days: today's report would be cut short and could not be sent again. */
	if (r->end >= u->o->now) {
		u->later++;
		return true;
	}
	if (!plain_domain(r->domain) || !r->name_ok) {
		say(u, true, NULL, "not a domain name that can be reported");
		return true;
	}
	/* draft-32 3.4: the rua= of the Policy Domain's record, as published now. */
	if ((found = am_rua_record(u->o->res, r->domain, rua, sizeof(rua), why, sizeof(why))) <= 0) {
		say(u, found < 0, NULL, "not sent: %s", why);
		return true;
	}
	if (rua[0] == '\0') {
		say(u, false, NULL, "not sent: its DMARC record asks for no aggregate reports (no rua=)");
		return true;
	}
	/* draft-32 3.5.2: gzip, the file name plus ".gz", the report's own report_id. */
	if (!am_reportmime_gzip(r->xml, r->len, &u->gz, err, sizeof(err))) {
		say(u, true, NULL, "%s", err);
		return true;
	}
	snprintf(u->gzname, sizeof(u->gzname), "%s.gz", r->file_name);
	report_id(r->xml, r->len, u->report_id, sizeof(u->report_id));
	snprintf(u->submitter, sizeof(u->submitter), "%.*s", (int)strcspn(r->file_name, "!"), r->file_name);
	n = am_rua_parse(rua, dest, AM_RUA_MAX);
	for (i = 0; i < n && !u->stop; i++)
		one_destination(u, &dest[i], dest, i);
	return !u->stop;
}

int
am_send_reports(const struct am_dmarcxml *x, const struct am_send_opts *o)
{
	struct run u;
	int n;

	memset(&u, 0, sizeof(u));
	u.o = o;
	am_buf_init(&u.gz);
	am_buf_init(&u.msg);
	/* A sendmail that dies early must not kill the run: write() says EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	if (o->dry_dir != NULL && mkdir(o->dry_dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, PROG ": error: --dry-run %s: %s\n", o->dry_dir, strerror(errno));
		return 1;
	}
	n = am_dmarcxml_each(x, o->org, o->from, one_report, &u);
	fprintf(stderr, PROG ": %s %lu message%s for %d report%s; %lu not sent by the rules (above);"
	    " %lu error%s; %lu report%s of a day not over yet\n", o->dry_dir != NULL ? "dry run: wrote" :
	    "sent", u.sent, u.sent == 1 ? "" : "s", n < 0 ? 0 : n, n == 1 ? "" : "s", u.notes, u.errors,
	    u.errors == 1 ? "" : "s", u.later, u.later == 1 ? "" : "s");
	am_buf_free(&u.gz);
	am_buf_free(&u.msg);
	return u.errors > 0 ? 1 : 0;
}
