/*
 * nsdfixture.c - the loopback nsd of the Check unit tests (see
 * nsdfixture.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "nsdfixture.h"

#define FIXTURE	TOP_SRCDIR "/tests/dns/nsd-fixture.sh"

unsigned
nsdf_start(const char *dir, const char *zonefiles, pid_t owner)
{
	char cmd[2048], line[64] = "";
	FILE *fp;
	unsigned port = 0;

	snprintf(cmd, sizeof(cmd), "NSD_FIXTURE_OWNER=%ld %s start %s 0 %s", (long)owner,
	    FIXTURE, dir, zonefiles);
	if ((fp = popen(cmd, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) != NULL)
		port = (unsigned)strtoul(line, NULL, 10);
	if (pclose(fp) != 0)
		port = 0;
	return port;
}

void
nsdf_stop(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s stop %s", FIXTURE, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "%s failed\n", cmd);
}
