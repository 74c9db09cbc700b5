/*
 * log.h - where alignmilter's messages go: syslog, and stderr with -f.
 *
 * Owns: the log destination chosen at start-up by am_log_init (syslog
 * ident and facility, stderr or not); before it, messages go to stderr.
 * Message text from mail is always passed as an argument ("%s"), never
 * as a format.
 *
 * Errors: none reported: am_log() cuts a message at 2 KB, and a failing
 * syslog or stderr goes unnoticed.  am_log_facility() returns -1 for an
 * unknown name.  am_log_fixed() allocates nothing (the out-of-memory path).
 *
 * Threads: am_log_init() on the main thread at start-up, before any other
 * thread exists; am_log() and am_log_fixed() from any thread.
 */
#ifndef AM_LOG_H
#define AM_LOG_H

#include <stdbool.h>
#include <syslog.h>

void	am_log_init(const char *ident, bool use_syslog, int facility, bool to_stderr);
void	am_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg as it is: nothing formatted, nothing allocated (the out-of-memory path). */
void	am_log_fixed(int priority, const char *msg);
/* Facility name ("mail", "local0", ...) to LOG_*; -1 if unknown. */
int	am_log_facility(const char *name);

#endif
