/*
 * log.c - where alignmilter's messages go (see log.h).
 *
 * Owns: the destination set by am_log_init(), kept in plain statics:
 * written once before other threads start, only read afterwards.
 * Errors and threads: see log.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/log.h"

static bool log_syslog;
static bool log_stderr = true;		/* before am_log_init: tell the user */
static const char *log_ident = "alignmilter";

void
am_log_init(const char *ident, bool use_syslog, int facility, bool to_stderr)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_stderr = to_stderr;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void
am_log(int priority, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(priority, "%s", buf);
	if (log_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, buf);
}

/*
 * No format and no buffer, so nothing here allocates: util.c reports
 * running out of memory through this.  (glibc's syslog() allocates when
 * it first runs in a process, for the time zone, and copes if it cannot.)
 */
void
am_log_fixed(int priority, const char *msg)
{
	if (log_syslog)
		syslog(priority, "%s", msg);
	if (log_stderr) {
		/* stderr is unbuffered: four writes, kept together by the lock */
		flockfile(stderr);
		fputs(log_ident, stderr);
		fputs(": ", stderr);
		fputs(msg, stderr);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
}

static const struct {
	const char *name;
	int	facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
am_log_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}
