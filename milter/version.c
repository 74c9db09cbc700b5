/*
 * version.c - alignmilter's version and its libraries' (see version.h).
 *
 * Versions are asked of the libraries at run time where they can tell;
 * libopendmarc cannot, so its build-time package version is shown.
 * Errors and threads: see version.h.
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <stdint.h>
#include <stdio.h>

#include <libmilter/mfapi.h>
#include <dkim.h>
#include <spf2/spf.h>
#include <dmarc.h>
#include <unbound.h>
#include <libpsl.h>

/* Application-specific. */
#include "version.h"

void
am_version_print(FILE *fp)
{
	unsigned int mmaj = 0, mmin = 0, mpl = 0;
	uint32_t dv = dkim_libversion();
	int smaj = 0, smin = 0, spl = 0;

	(void)smfi_version(&mmaj, &mmin, &mpl);
	SPF_get_lib_version(&smaj, &smin, &spl);
	fprintf(fp, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	fprintf(fp, "libmilter %u.%u.%u (sendmail %s)\n", mmaj, mmin, mpl, MILTER_PKG_VERSION);
	fprintf(fp, "libopendkim %u.%u.%u\n", (unsigned)(dv >> 24) & 0xff,
	    (unsigned)(dv >> 16) & 0xff, (unsigned)(dv >> 8) & 0xff);
	fprintf(fp, "libspf2 %d.%d.%d\n", smaj, smin, spl);
	fprintf(fp, "libopendmarc %s\n", OPENDMARC_PKG_VERSION);
	fprintf(fp, "libunbound %s\n", ub_version());
	fprintf(fp, "libpsl %s\n", psl_get_version());
}
