/*
 * respond-main.c - alignmilter-respond(8): answers a probe message,
 * delivered by Postfix's pipe(8), with the verdict alignmilter reached
 * on it, read from the alignment log.
 *
 * Owns: the command line, the order of the steps (configuration, the
 * message, its record, the loop guards, whom to reply to, the rate
 * limit, the report, sendmail, the spool file) and the exit status.
 * pipe(8) bounces the probe to its sender on any status but 0 and 75,
 * so there are only those two: 75 (EX_TEMPFAIL) for a transient failure
 * (record not logged yet, sendmail failing), at most RespondRetries times
 * per queue id; everything else, including a refusal to start, spools
 * what there is to RespondSpool/QUEUE_ID.txt, logs why, and exits 0.
 *
 * Errors: each logged once (syslog, identity alignmilter-respond, and
 * standard error).  Out of memory aborts.
 *
 * Threads: single-threaded.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"
#include "policy/conf.h"

#include "respond.h"
#include "respond-int.h"

#define CHECK_TIMEOUT	30	/* seconds for alignmilter-check */
#define SENDMAIL_TIMEOUT 60	/* seconds for sendmail */
#define CHECK_OUT_MAX	(256u << 10)

struct run {
	const char *config, *sender, *client, *helo, *rcpt, *queue_id;
	bool	config_given;
	struct am_conf conf;
	bool	conf_ok;
	struct rsp_probe probe;
	bool	have_probe;
	char	spool_name[96];
};

static void
usage(void)
{
	fprintf(stderr, "usage: alignmilter-respond [-c config] -s sender -a client_address "
	    "-H client_helo -r original_recipient -q queue_id < message\n");
}

/* A Postfix queue id goes into file names: letters and digits only. */
static bool
queue_id_ok(const char *q)
{
	size_t n = strlen(q);

	if (n == 0 || n > 63)
		return false;
	for (; *q; q++)
		if (!isalnum((unsigned char)*q))
			return false;
	return true;
}

/*
 * Give up on replying: spool text (with the probe's header block after
 * it when there is no report) and exit 0.  The probe is kept, not bounced.
 */
static void __attribute__((noreturn))
finish(struct run *r, const char *why, const char *report)
{
	const char *dir = r->conf_ok ? r->conf.respond_spool : AM_DEFAULT_RESPOND_SPOOL;
	struct am_buf b;
	char err[512];

	if (!r->have_probe && !isatty(0)) {
		/* Refused before reading it: keep the probe's header block all the same. */
		(void)rsp_read_stdin(10u << 20, &r->probe, err, sizeof(err));
		r->have_probe = true;
	}
	am_buf_init(&b);
	if (report != NULL)
		am_buf_adds(&b, report);
	else {
		am_buf_printf(&b, "alignmilter-respond: no reply to queue id %s: %s\n\n",
		    r->queue_id != NULL ? r->queue_id : "(none)", why);
		if (r->have_probe)
			am_buf_add(&b, r->probe.buf, r->probe.header_len > 0 ? r->probe.header_len :
			    (r->probe.len > 65536 ? 65536 : r->probe.len));
	}
	if (!rsp_spool(dir, r->spool_name, b.data, b.len, err, sizeof(err)))
		am_log(LOG_ERR, "%s: %s", r->spool_name, err);
	else
		am_log(LOG_INFO, "%s: spooled to %s/%s.txt", r->spool_name, dir, r->spool_name);
	am_buf_free(&b);
	exit(0);
}

/* A transient failure: 75 while retries remain for this queue id, else spool and 0. */
static void __attribute__((noreturn))
transient(struct run *r, const char *why, const char *report)
{
	char err[512], file[4096];
	unsigned n;

	snprintf(file, sizeof(file), "%s.retries", r->conf.respond_state);
	n = rsp_retry_count(file, r->queue_id, time(NULL), err, sizeof(err));
	if (n == 0)
		am_log(LOG_ERR, "%s: %s", r->queue_id, err);
	else if (n <= r->conf.respond_retries) {
		am_log(LOG_WARNING, "%s: %s: deferred (try %u of %u)", r->queue_id, why, n,
		    r->conf.respond_retries);
		exit(EX_TEMPFAIL);
	}
	am_log(LOG_WARNING, "%s: %s: retries used up, not answered", r->queue_id, why);
	finish(r, why, report);
}

static void
parse_args(struct run *r, int argc, char **argv)
{
	int ch;

	r->config = AM_DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, ":c:s:a:H:r:q:")) != -1) {
		switch (ch) {
		case 'c': r->config = optarg; r->config_given = true; break;
		case 's': r->sender = optarg; break;
		case 'a': r->client = optarg; break;
		case 'H': r->helo = optarg; break;
		case 'r': r->rcpt = optarg; break;
		case 'q': r->queue_id = optarg; break;
		default:
			usage();
			am_log(LOG_ERR, "bad command line (option -%c)", optopt);
			finish(r, "bad command line", NULL);
		}
	}
	if (optind != argc || r->rcpt == NULL || r->queue_id == NULL || r->sender == NULL) {
		usage();
		am_log(LOG_ERR, "bad command line (-s, -r and -q are required, nothing else)");
		finish(r, "bad command line", NULL);
	}
	if (!queue_id_ok(r->queue_id)) {
		am_log(LOG_ERR, "bad queue id \"%.64s\"", r->queue_id);
		finish(r, "bad queue id", NULL);
	}
	am_strlcpy(r->spool_name, r->queue_id, sizeof(r->spool_name));
	if (r->client == NULL)
		r->client = "unknown";
	if (r->helo == NULL)
		r->helo = "unknown";
}

/* Configuration, then the message; every failure here ends in finish(). */
static void
load(struct run *r)
{
	char err[4096];
	enum rsp_read rd;

	if (!am_conf_load_or_defaults(&r->conf, r->config, r->config_given, err, sizeof(err))) {
		am_log(LOG_ERR, "refusing to start: %s", err);
		finish(r, "the configuration has errors", NULL);
	}
	r->conf_ok = true;
	am_log_init("alignmilter-respond", r->conf.syslog, r->conf.syslog_facility, true);
	rd = rsp_read_stdin(r->conf.respond_max_size, &r->probe, err, sizeof(err));
	r->have_probe = true;
	if (r->conf.alignment_log == NULL || r->conf.respond_probe == NULL) {
		am_log(LOG_ERR, "%s: refusing to start: %s is not set in %s", r->queue_id,
		    r->conf.alignment_log == NULL ? "AlignmentLog" : "RespondProbe", r->config);
		finish(r, "AlignmentLog or RespondProbe not set", NULL);
	}
	if (rd != RSP_READ_OK) {
		am_log(LOG_ERR, "%s: %s", r->queue_id, err);
		finish(r, err, NULL);
	}
	if (!rsp_probe_parse(&r->probe, r->conf.authserv_id, err, sizeof(err))) {
		am_log(LOG_ERR, "%s: not a message: %s", r->queue_id, err);
		finish(r, "not a message", NULL);
	}
}

/* Whom to answer: the encoded address or the From address, if authenticated; NULL: nobody. */
static const char *
reply_address(struct run *r, const struct am_verdict *v, char *addr, size_t addrlen,
    char *why, size_t whylen)
{
	char enc[AM_RSP_ADDR_MAX], w[256], dom[AM_DOMAIN_MAX];
	const char *at;

	if (am_rsp_probe_match(r->rcpt, r->conf.respond_probe, r->conf.respond_delimiters,
	    enc, sizeof(enc)) && enc[0] != '\0') {
		at = strrchr(enc, '@');
		am_strlcpy(dom, at != NULL ? at + 1 : "", sizeof(dom));
		am_lowercase(dom);
		if (am_rsp_mailbox_ok(enc) && am_rsp_authenticated(v, dom, NULL, w, sizeof(w))) {
			am_strlcpy(addr, enc, addrlen);
			snprintf(why, whylen, "This reply goes to %s, the address your probe's recipient "
			    "named, because %s.", enc, w);
			return addr;
		}
		snprintf(why, whylen, "The recipient named %s, but %s; ", enc,
		    am_rsp_mailbox_ok(enc) ? w : "that is not a usable address");
	} else
		why[0] = '\0';
	if (r->probe.from_addr[0] == '\0' || !am_rsp_mailbox_ok(r->probe.from_addr)) {
		snprintf(why + strlen(why), whylen - strlen(why), "the From field holds no single usable address.");
		return NULL;
	}
	if (strcasecmp(r->probe.from_domain, v->from_domain) != 0) {
		snprintf(why + strlen(why), whylen - strlen(why), "the From domain %s is not the one "
		    "the record names (%s).", r->probe.from_domain, v->from_domain);
		return NULL;
	}
	if (!am_rsp_authenticated(v, v->from_domain, v->dmarc.org_domain, w, sizeof(w))) {
		snprintf(why + strlen(why), whylen - strlen(why), "the From domain %s is not "
		    "authenticated: %s.", v->from_domain, w);
		return NULL;
	}
	am_strlcpy(addr, r->probe.from_addr, addrlen);
	snprintf(why + strlen(why), whylen - strlen(why), "This reply goes to the From address %s "
	    "because %s (not to the envelope sender: for Amazon SES that is a bounce address).",
	    addr, w);
	return addr;
}

/*
 * The domain grade: alignmilter-check DOMAIN --json, told what the message
 * showed (the From domain's DKIM selectors, the custom MAIL FROM domain,
 * the SES region) so that it grades those; or NULL.
 */
static char *
grade(struct run *r, const struct am_verdict *v)
{
	char *argv[20];
	struct am_buf out;
	char err[512];
	size_t n = 0, i;
	int st;

	if (r->conf.respond_check == NULL || v->from_domain[0] == '\0')
		return NULL;
	argv[n++] = r->conf.respond_check;
	argv[n++] = (char *)v->from_domain;
	argv[n++] = "--json";
	for (i = 0; i < v->dkim.count && n < 12; i++)
		if (strcmp(v->dkim.sig[i].domain, v->from_domain) == 0 && v->dkim.sig[i].selector[0] != '\0') {
			argv[n++] = "--selector";
			argv[n++] = (char *)v->dkim.sig[i].selector;
		}
	if (am_domain_is_under(v->spf.domain, v->from_domain) && strcmp(v->spf.domain, v->from_domain) != 0) {
		argv[n++] = "--mail-from";
		argv[n++] = (char *)v->spf.domain;
	}
	if (v->ses.region[0] != '\0') {
		argv[n++] = "--region";
		argv[n++] = (char *)v->ses.region;
	}
	if (r->config_given) {
		argv[n++] = "-c";
		argv[n++] = (char *)r->config;
	}
	argv[n] = NULL;
	am_buf_init(&out);
	st = rsp_run(argv, NULL, 0, &out, CHECK_OUT_MAX, CHECK_TIMEOUT, err, sizeof(err));
	am_buf_addc(&out, '\0');
	if (st < 0 || out.len <= 1) {
		am_log(LOG_WARNING, "%s: no domain grade: %s", r->queue_id,
		    st < 0 ? err : "alignmilter-check printed nothing");
		am_buf_free(&out);
		return NULL;
	}
	return out.data;
}

int
main(int argc, char **argv)
{
	static struct run r;
	struct am_verdict v;
	struct am_rsp_limits lim;
	struct rsp_reply rep;
	struct am_buf report, msg;
	char err[1024], why[1024], addr[AM_RSP_ADDR_MAX];
	char *line = NULL, *checked;
	const char *guard, *to;
	char *sm_argv[7];
	int st;

	signal(SIGPIPE, SIG_IGN);
	am_log_init("alignmilter-respond", true, LOG_MAIL, true);
	snprintf(r.spool_name, sizeof(r.spool_name), "noqueueid-%lld-%ld", (long long)time(NULL),
	    (long)getpid());
	parse_args(&r, argc, argv);
	load(&r);

	switch (rsp_log_find(r.conf.alignment_log, r.queue_id, &v, &line, err, sizeof(err))) {
	case RSP_FIND_FOUND:
		break;
	case RSP_FIND_NOT_FOUND:
		transient(&r, err, NULL);
	case RSP_FIND_ERROR:
		am_log(LOG_ERR, "%s: %s", r.queue_id, err);
		transient(&r, err, NULL);
	}
	if (!r.probe.authres_found)
		am_log(LOG_WARNING, "%s: no Authentication-Results field of %s: using the record",
		    r.queue_id, r.conf.authserv_id);
	else if (strcmp(r.probe.authres_dmarc, am_dmarc_result_name(v.dmarc.result)) != 0)
		am_log(LOG_WARNING, "%s: Authentication-Results says dmarc=%s, the record %s: using the record",
		    r.queue_id, r.probe.authres_dmarc, am_dmarc_result_name(v.dmarc.result));

	guard = am_rsp_loop_guard(r.sender, r.probe.hdr, r.probe.nhdr);
	to = NULL;
	if (guard != NULL)
		snprintf(why, sizeof(why), "No reply was sent: %s.", guard);
	else if ((to = reply_address(&r, &v, addr, sizeof(addr), why, sizeof(why))) == NULL)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " No reply was sent.");

	memset(&rep, 0, sizeof(rep));
	rep = (struct rsp_reply){ .v = &v, .probe = &r.probe, .record = line, .why = why,
	    .from = r.conf.respond_from != NULL ? r.conf.respond_from : r.conf.respond_probe,
	    .to = to, .sender = r.sender, .client = r.client, .helo = r.helo,
	    .queue_id = r.queue_id, .now = time(NULL) };
	checked = to != NULL ? grade(&r, &v) : NULL;
	rep.grade = checked;
	am_buf_init(&report);
	rsp_report(&report, &rep);
	am_buf_addc(&report, '\0');
	if (to == NULL) {
		am_log(LOG_NOTICE, "%s: no reply: %s", r.queue_id, why);
		finish(&r, why, report.data);
	}

	lim = (struct am_rsp_limits){ r.conf.respond_rate_limit, r.conf.respond_domain_rate_limit,
	    r.conf.respond_window };
	switch (am_rsp_rate_take(r.conf.respond_state, to, &lim, rep.now, err, sizeof(err))) {
	case AM_RSP_RATE_OK:
		break;
	case AM_RSP_RATE_ADDR:
	case AM_RSP_RATE_DOMAIN:
		am_log(LOG_NOTICE, "%s: no reply to %s: over the rate limit", r.queue_id, to);
		finish(&r, "over the rate limit", report.data);
	case AM_RSP_RATE_ERROR:
		am_log(LOG_ERR, "%s: rate state: %s", r.queue_id, err);
		transient(&r, err, report.data);
	}

	am_buf_init(&msg);
	rsp_compose(&msg, &rep, report.data);
	sm_argv[0] = r.conf.respond_sendmail;
	sm_argv[1] = "-i";
	sm_argv[2] = "-f";
	sm_argv[3] = "";		/* Postfix: an empty sender is the null sender */
	sm_argv[4] = "--";
	sm_argv[5] = addr;
	sm_argv[6] = NULL;
	st = rsp_run(sm_argv, msg.data, msg.len, NULL, 0, SENDMAIL_TIMEOUT, err, sizeof(err));
	if (st != 0) {
		if (st > 0)
			snprintf(err, sizeof(err), "%s exited with status %d", r.conf.respond_sendmail, st);
		am_log(LOG_ERR, "%s: reply to %s not sent: %s", r.queue_id, to, err);
		transient(&r, "sendmail failed", report.data);
	}
	am_log(LOG_INFO, "%s: replied to %s: dmarc=%s for %s", r.queue_id, to,
	    am_dmarc_result_name(v.dmarc.result), v.from_domain);
	finish(&r, "replied", report.data);
}
