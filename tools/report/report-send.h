/*
 * report-send.h - alignmilter-report --send-dmarc: every aggregate report
 * of a completed UTC day mailed to the rua= destinations its Policy
 * Domain publishes when sending (alignmilter-report(1) "SENDING
 * REPORTS"; draft-ietf-dmarc-aggregate-reporting-32 sections 3.5 and 4,
 * which RFC 9990 follows).
 *
 * Owns: the flow per report and destination: the record lookup and the
 * external-destination check (report-rua.c), the message (report-mime.c),
 * the "!size" limit (the whole message as handed over must fit), the
 * at-most-once bookkeeping around each sendmail(1) run
 * (report-sendstate.c: "handing" fsync'd before sendmail starts,
 * "handed" or "failed" after), running "sendmail -oi -f <ReportFrom> --
 * <address>" with the message on its standard input, or writing it as a
 * .eml file under --dry-run.
 *
 * Errors: everything goes to stderr, one line per report and destination
 * ("alignmilter-report: <domain> <day> -> <address>: ..."): not sent by
 * the rules (no record, no rua=, an unauthorised destination, a size
 * limit, an unknown outcome after a crash) is a note; a DNS failure, a
 * failing sendmail or an unwritable .eml is an error for that report,
 * and the others still go out.  A state file that cannot be written
 * stops the run (nothing more is handed over without a record).  Returns
 * 0, or 1 when any report met an error.  Out of memory aborts.
 *
 * Threads: one (it runs sendmail as a child process and waits for it).
 */
#ifndef AM_REPORT_SEND_H
#define AM_REPORT_SEND_H

#include <stdbool.h>
#include <time.h>

#include "dns/resolver.h"

#include "report-sendstate.h"
#include "report-xml.h"

#define AM_DEFAULT_REPORT_SENDMAIL	"/usr/sbin/sendmail"

struct am_send_opts {
	am_resolver *res;
	const char *sendmail;		/* --sendmail */
	const char *from;		/* ReportFrom: envelope and From */
	const char *org;		/* org_name, the From display name */
	const char *dry_dir;		/* --dry-run DIR; NULL: send */
	struct am_sendstate *state;	/* NULL only under --dry-run without --state */
	time_t	now;			/* reports of days ending before it */
};

int	am_send_reports(const struct am_dmarcxml *, const struct am_send_opts *);

/* ---- the command line (report-sendmain.c) ---- */

enum {
	AM_SEND_OPT_SEND = 0x2000,
	AM_SEND_OPT_STATE,
	AM_SEND_OPT_SENDMAIL,
	AM_SEND_OPT_REPORT_FROM,
	AM_SEND_OPT_DRY_RUN,
	AM_SEND_OPT_CONFIG,
	AM_SEND_OPT_NAMESERVERS,
	AM_SEND_OPT_LAST
};

/* The entries report-main.c puts into its struct option table. */
#define AM_SEND_LONGOPTS \
	{ "send-dmarc", no_argument, NULL, AM_SEND_OPT_SEND }, \
	{ "state", required_argument, NULL, AM_SEND_OPT_STATE }, \
	{ "sendmail", required_argument, NULL, AM_SEND_OPT_SENDMAIL }, \
	{ "report-from", required_argument, NULL, AM_SEND_OPT_REPORT_FROM }, \
	{ "dry-run", required_argument, NULL, AM_SEND_OPT_DRY_RUN }, \
	{ "config", required_argument, NULL, AM_SEND_OPT_CONFIG }, \
	{ "nameservers", required_argument, NULL, AM_SEND_OPT_NAMESERVERS }

#define AM_SEND_USAGE \
	"  --send-dmarc  mail each completed UTC day's RFC 9990 report to the rua=\n" \
	"             of its Policy Domain, at most once (see SENDING REPORTS)\n" \
	"    --state FILE (" AM_DEFAULT_REPORT_STATE ")  --sendmail PATH (" \
	AM_DEFAULT_REPORT_SENDMAIL ")\n" \
	"    --report-from ADDR  --dry-run DIR (.eml files, nothing sent)\n" \
	"    --config FILE (alignmilter.conf: Nameservers, DNSTimeout, ReportFrom,\n" \
	"             ReportOrg)  --nameservers IP[@PORT],...\n"

struct am_send_cli {
	bool	on;
	const char *state, *sendmail, *report_from, *dry_dir, *config, *nameservers;
	bool	org_given, email_given;	/* --org, --email on the command line */
};

/* One of the AM_SEND_LONGOPTS; false (after a message to stderr) on a bad value. */
bool	am_send_option(struct am_send_cli *, int c, const char *arg, const char *prog);
/*
 * Read alignmilter.conf, make the resolver, open the state, send.  org
 * and email are report-main.c's (--org, --email or their defaults).
 * Returns the exit status: 0, 1 (an error, see above), 2 (bad settings).
 */
int	am_send_main(const struct am_send_cli *, const struct am_dmarcxml *, const char *org,
	    const char *email);

#endif
