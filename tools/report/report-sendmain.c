/*
 * report-sendmain.c - the --send-dmarc command line of alignmilter-report:
 * its options, the alignmilter.conf settings it reads (Nameservers,
 * DNSTimeout, ReportFrom, ReportOrg, through lib/policy/conf as the
 * milter reads them), the resolver, the state file; then report-send.c.
 *
 * Precedence: --report-from, else ReportFrom, else --email (whose
 * default is postmaster@<host name>); --org, else ReportOrg, else the
 * host name.  --nameservers over Nameservers.  --config FILE must exist;
 * without it /etc/alignmilter.conf is read when present.
 *
 * Errors: a bad option or setting goes to stderr and returns 2; a state
 * file that cannot be opened or is locked returns 1.  Out of memory aborts.
 *
 * Threads: one.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Policy and renderers. */
#include "policy/conf.h"

/* Application-specific. */
#include "report-send.h"
#include "report-sendstate.h"

bool
am_send_option(struct am_send_cli *c, int opt, const char *arg, const char *prog)
{
	switch (opt) {
	case AM_SEND_OPT_SEND:
		c->on = true;
		return true;
	case AM_SEND_OPT_STATE:
		c->state = arg;
		return true;
	case AM_SEND_OPT_SENDMAIL:
		if (arg[0] != '/') {
			fprintf(stderr, "%s: --sendmail: an absolute path, not %s\n", prog, arg);
			return false;
		}
		c->sendmail = arg;
		return true;
	case AM_SEND_OPT_REPORT_FROM:
		c->report_from = arg;
		return true;
	case AM_SEND_OPT_DRY_RUN:
		c->dry_dir = arg;
		return true;
	case AM_SEND_OPT_CONFIG:
		c->config = arg;
		return true;
	default:
		c->nameservers = arg;
		return true;
	}
}

/* ReportFrom's rule (alignmilter.conf(5)), for --report-from and --email alike. */
static bool
valid_from(const char *from)
{
	struct am_conf probe;
	char err[300];
	bool ok;

	am_conf_defaults(&probe);
	ok = am_conf_set(&probe, "ReportFrom", from, err, sizeof(err));
	am_conf_free(&probe);
	return ok;
}

int
am_send_main(const struct am_send_cli *c, const struct am_dmarcxml *x, const char *org, const char *email)
{
	struct am_send_opts o;
	struct am_conf conf;
	const char *ns;
	char err[2048];
	int rc;

	if (!am_conf_load_or_defaults(&conf, c->config != NULL ? c->config : AM_DEFAULT_CONFIG,
	    c->config != NULL, err, sizeof(err))) {
		fprintf(stderr, "alignmilter-report: %s\n", err);
		am_conf_free(&conf);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.sendmail = c->sendmail != NULL ? c->sendmail : AM_DEFAULT_REPORT_SENDMAIL;
	o.from = c->report_from != NULL ? c->report_from :
	    conf.report_from != NULL && !c->email_given ? conf.report_from : email;
	o.org = c->org_given || conf.report_org == NULL ? org : conf.report_org;
	o.dry_dir = c->dry_dir;
	o.now = time(NULL);
	if (!valid_from(o.from)) {
		fprintf(stderr, "alignmilter-report: report sender \"%s\" is not a plain local@domain"
		    " address (--report-from, ReportFrom)\n", o.from);
		am_conf_free(&conf);
		return 2;
	}
	ns = c->nameservers != NULL ? c->nameservers : conf.nameservers;
	if ((o.res = am_resolver_new(ns, conf.dns_timeout * 1000, err, sizeof(err))) == NULL) {
		fprintf(stderr, "alignmilter-report: resolver: %s\n", err);
		am_conf_free(&conf);
		return 2;
	}
	/* --dry-run reads the state (what would still go out) but never writes it. */
	if (c->dry_dir == NULL || c->state != NULL) {
		o.state = am_sendstate_open(c->state != NULL ? c->state : AM_DEFAULT_REPORT_STATE,
		    c->dry_dir != NULL, err, sizeof(err));
		if (o.state == NULL) {
			fprintf(stderr, "alignmilter-report: error: state file %s\n", err);
			am_resolver_free(o.res);
			am_conf_free(&conf);
			return 1;
		}
	}
	rc = am_send_reports(x, &o);
	am_sendstate_close(o.state);
	am_resolver_free(o.res);
	am_conf_free(&conf);
	return rc;
}
