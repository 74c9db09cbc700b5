/*
 * nsdfixture.h - the loopback nsd of the Check unit tests that need a real
 * DNS server: tests/dns/nsd-fixture.sh, started on a free port with the
 * given zone files and stopped again.
 *
 * Errors: nsdf_start() returns 0 when the server did not start;
 * nsdf_stop() reports a failed stop on stderr.  Threads: the test
 * program's main process, or its forked test children.
 */
#ifndef NSDFIXTURE_H
#define NSDFIXTURE_H

#include <sys/types.h>

/*
 * Start nsd in dir serving zonefiles (space-separated paths); its port,
 * 0 on failure.  The server also goes away when owner exits, even if it
 * is killed (NSD_FIXTURE_OWNER).
 */
unsigned nsdf_start(const char *dir, const char *zonefiles, pid_t owner);
void	nsdf_stop(const char *dir);

#endif
