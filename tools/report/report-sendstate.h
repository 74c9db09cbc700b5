/*
 * report-sendstate.h - what alignmilter-report --send-dmarc has handed
 * to sendmail(1), so that each (Policy Domain, UTC day, destination)
 * gets a report at most once across runs and crashes.
 *
 * Owns: the state file (--state, default /var/lib/alignmilter/report-state):
 * append-only text, one line per event,
 *
 *     <event> <begin> <policy-domain> <address> <unix-time>
 *
 * with event "handing" (written and fsync'd BEFORE sendmail starts),
 * "handed" (sendmail exited 0: it has the message), "failed" (sendmail
 * exited non-zero or could not run: it did not take the message, so a
 * later run tries again) and "abandoned" (a later run found "handing"
 * as the last word: a crash between the two, so whether sendmail took
 * the message is unknown; at most once means it is never sent again,
 * and "abandoned" records that this was said once).  The last event of a
 * key decides.  An exclusive flock(2) on the file keeps two runs apart.
 * A torn last line (a crash in the middle of a write) is ignored; it is
 * completed with a newline before the next append.
 *
 * Errors: false/NULL with err ("PATH: reason"): the file cannot be
 * opened, locked (another run), read, has a malformed line, or an
 * append or fsync fails.  Nothing is logged.  Out of memory aborts.
 *
 * Threads: one; a state belongs to its caller.
 */
#ifndef AM_REPORT_SENDSTATE_H
#define AM_REPORT_SENDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AM_DEFAULT_REPORT_STATE	"/var/lib/alignmilter/report-state"

enum am_sendstate_event {
	AM_SEND_NONE = 0,	/* never tried */
	AM_SEND_HANDING,
	AM_SEND_HANDED,
	AM_SEND_FAILED,
	AM_SEND_ABANDONED,
};

struct am_sendstate;

/*
 * Open and read path.  readonly (--dry-run): no lock, no writes, and a
 * missing file is an empty state.  NULL with err.
 */
struct am_sendstate *am_sendstate_open(const char *path, bool readonly, char *err, size_t errlen);
void	am_sendstate_close(struct am_sendstate *);
/* The last event of a key. */
enum am_sendstate_event am_sendstate_get(struct am_sendstate *, time_t begin, const char *domain,
	    const char *addr);
/* Append an event and fsync it; false with err. */
bool	am_sendstate_put(struct am_sendstate *, enum am_sendstate_event, time_t begin,
	    const char *domain, const char *addr, char *err, size_t errlen);

#endif
