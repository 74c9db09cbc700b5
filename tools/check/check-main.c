/*
 * check-main.c - alignmilter-check: grade a domain's Amazon SES set-up.
 *
 * Owns: the command line, the configuration it borrows from the milter
 * (-c: Nameservers, DNSTimeout, PublicSuffixList, DMARCStandard),
 * building the resolver and the DMARC engine (PSL and standard), printing
 * the result, and the exit code: 0 for grade A or
 * B, 1 for worse, 2 when the domain could not be checked (DNS failure,
 * unreadable log or configuration, bad usage).  The checks themselves
 * are in domaincheck*.c; see man/alignmilter-check.1.
 *
 * Errors: every message goes to stderr ("alignmilter-check: ..."), never
 * to syslog; the library layers' rare log lines (am_log) reach stderr
 * too, since nothing sets up the log.  Out of memory aborts.
 *
 * Threads: one (the resolver's pump thread aside).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dmarc.h"

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/conf.h"

/* Application-specific. */
#include "domaincheck.h"

#define EXIT_GOOD	0	/* grade A or B */
#define EXIT_POOR	1	/* grade C, D or F */
#define EXIT_UNCHECKED	2	/* could not check, or usage error */

struct options {
	struct am_dc_options dc;
	const char *config_path;
	bool	config_given;
	const char *nameserver;
	bool	json;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: alignmilter-check DOMAIN [--selector S]... [--mail-from SUBDOMAIN]\n"
	    "                         [--region R] [--log FILE] [-c CONFIG]\n"
	    "                         [--nameserver IP[@PORT]] [--json]\n");
}

/* 0: go on, 1: help printed, -1: usage error (message printed). */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "selector", required_argument, NULL, 's' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "region", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config_path = AM_DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:s:m:r:l:n:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; o->config_given = true; break;
		case 's':
			if (o->dc.nselectors == AM_DC_SELECTORS_MAX) {
				fprintf(stderr, "alignmilter-check: at most %d selectors\n",
				    AM_DC_SELECTORS_MAX);
				return -1;
			}
			o->dc.selectors[o->dc.nselectors++] = optarg;
			break;
		case 'm': o->dc.mail_from = optarg; break;
		case 'r': o->dc.region = optarg; break;
		case 'l': o->dc.log_path = optarg; break;
		case 'n': o->nameserver = optarg; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "alignmilter-check: %s\n", optind < argc ?
		    "exactly one DOMAIN, please" : "no DOMAIN given");
		usage(stderr);
		return -1;
	}
	o->dc.domain = argv[optind];
	return 0;
}

/* Like the milter: a named config must exist, the default one may be absent. */
static bool
load_config(const struct options *o, struct am_conf *c, char *err, size_t errlen)
{
	if (!am_conf_load_or_defaults(c, o->config_path, o->config_given, err, errlen))
		return false;
	if (o->nameserver != NULL && !am_conf_set(c, "Nameservers", o->nameserver, err, errlen))
		return false;
	return true;
}

static int
unchecked(const struct options *o, const char *why)
{
	struct am_buf b;

	fprintf(stderr, "alignmilter-check: could not check %s: %s\n", o->dc.domain, why);
	if (o->json) {
		am_buf_init(&b);
		am_buf_adds(&b, "{\"domain\":");
		am_json_string(&b, o->dc.domain, strlen(o->dc.domain));
		am_buf_adds(&b, ",\"grade\":null,\"error\":");
		am_json_string(&b, why, strlen(why));
		am_buf_adds(&b, ",\"checks\":[]}\n");
		fputs(b.data, stdout);
		am_buf_free(&b);
	}
	return EXIT_UNCHECKED;
}

static int
run(const struct options *o, const struct am_conf *conf)
{
	struct am_dc_result *r;
	am_resolver *res;
	am_dmarc *dmarc;
	struct am_buf out;
	char err[512];
	int rc;

	res = am_resolver_new(conf->nameservers, conf->dns_timeout * 1000u, err, sizeof(err));
	if (res == NULL)
		return unchecked(o, err);
	if ((dmarc = am_dmarc_new(res, conf->dmarc_standard, conf->psl_path, err, sizeof(err))) == NULL) {
		am_resolver_free(res);
		return unchecked(o, err);
	}
	r = am_dc_run(res, dmarc, &o->dc);
	if (r->failed)
		rc = unchecked(o, r->error);
	else {
		am_buf_init(&out);
		if (o->json)
			am_dc_render_json(r, &out);
		else
			am_dc_render_text(r, &out);
		fputs(out.data, stdout);
		am_buf_free(&out);
		rc = r->grade == 'A' || r->grade == 'B' ? EXIT_GOOD : EXIT_POOR;
	}
	am_dc_result_free(r);
	am_dmarc_free(dmarc);
	am_resolver_free(res);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct am_conf conf;
	char err[1024];
	int rc;

	switch (parse_options(argc, argv, &o)) {
	case 1:
		return EXIT_GOOD;
	case -1:
		return EXIT_UNCHECKED;
	default:
		break;
	}
	if (!load_config(&o, &conf, err, sizeof(err))) {
		fprintf(stderr, "alignmilter-check: %s\n", err);
		am_conf_free(&conf);
		return EXIT_UNCHECKED;
	}
	rc = run(&o, &conf);
	am_conf_free(&conf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "alignmilter-check: cannot write the result: %s\n", strerror(errno));
		return EXIT_UNCHECKED;
	}
	return rc;
}
