/*
 * report-main.c - alignmilter-report: per-From-domain SPF/DKIM/DMARC
 * alignment figures from one or more alignment logs.
 *
 * Owns: the command line, reading the logs line by line (bounded line
 * length), the --since/--domain filter, and choosing the output and the
 * aggregate reports' format (--dmarc-standard, default rfc9989: the tool
 * does not read alignmilter.conf, so it cannot follow its DMARCStandard).
 * Counting lives in report.c, the page in report-html.c, the DMARC
 * aggregate files in report-xml.c, the record format in alignlog-read.c,
 * the readiness to enforce (--enforce and its options) in report-enforce*.c.
 *
 * Errors: every message goes to stderr ("alignmilter-report: ..."), never
 * to syslog: a malformed line is counted and skipped with a warning
 * naming file:line (the first WARN_MAX of them); an input that cannot be
 * opened or read means no output at all.  Out of memory aborts.  Exit: 0
 * done; 1 an input could not be read or an output not written; 2 usage
 * error.
 *
 * Threads: one.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/dmarc.h"

/* Policy and renderers. */
#include "policy/alignlog-read.h"

/* Application-specific. */
#include "report-enforce.h"
#include "report-html.h"
#include "report-send.h"
#include "report-xml.h"
#include "report.h"
#include "reportmap.h"
#include "reportfile.h"

#define PROG		"alignmilter-report"
#define LINE_MAX_BYTES	(1024 * 1024)	/* longer lines are not records */
#define WARN_MAX	100		/* warnings printed before going quiet */

enum output { OUT_TEXT, OUT_JSON, OUT_HTML };

struct opts {
	bool	have_since;
	time_t	since;
	char	**domains;
	size_t	ndomains;
	enum output out;
	const char *html_path;
	const char *xml_dir;
	enum am_dmarc_standard std;	/* --dmarc-standard: the aggregate reports' format */
	char	org[256];
	char	email[320];
	struct am_enforce_opts enforce;	/* --enforce and its thresholds */
	struct am_send_cli send;	/* --send-dmarc and its settings */
};

struct input {
	const char *name;
	FILE	*f;
	char	buf[65536];		/* read-ahead */
	size_t	pos, len;
};

struct tally {
	struct am_report report;
	struct am_dmarcxml *xml;	/* NULL without --dmarc-xml */
	am_enforce *enf;		/* NULL without --enforce */
	struct am_rmap *seen;		/* host, queue id, ts of the messages counted */
	unsigned long dups;		/* records of a message already counted */
	unsigned long lines, bad, filtered, warned;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--since T] [--domain D]... [--json | --html OUT]\n"
	    "       [--dmarc-xml DIR [--dmarc-standard S] [--org NAME] [--email ADDR]] LOG...\n"
	    "  LOG        an alignment log (JSON Lines); \"-\" reads standard input\n"
	    "  --since T  only messages at or after T: 2026-11-27, 2026-11-27T05:00:00Z,\n"
	    "             or relative: 30m, 24h, 7d, 2w\n"
	    "  --domain D only this From domain (repeatable)\n"
	    "  --json     JSON on standard output instead of text\n"
	    "  --html OUT a self-contained HTML page into OUT (\"-\": standard output)\n"
	    "  --dmarc-xml DIR  DMARC aggregate reports per UTC day into DIR\n"
	    "  --dmarc-standard S  their format: rfc9989 (RFC 9990 reports per DMARC\n"
	    "             Policy Domain, the default) or rfc7489 (RFC 7489's, per From domain)\n"
	    "  --org NAME, --email ADDR  the reporter named in those reports\n"
	    AM_ENFORCE_USAGE AM_SEND_USAGE);
}

/* "24h", "7d", ...: now minus that; or an ISO 8601 time. */
static bool
parse_since(const char *s, time_t now, time_t *out)
{
	unsigned long long n = 0, unit;
	const char *p = s;

	if (am_alignlog_parse_time(s, out))
		return true;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (unsigned long long)(*p++ - '0');
		if (n > 1000000000ULL)
			return false;
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return false;
	}
	if (p[1] != '\0')
		return false;
	*out = n * unit > (unsigned long long)now ? 0 : now - (time_t)(n * unit);
	return true;
}

static void
default_reporter(struct opts *o)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		am_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (o->org[0] == '\0')
		am_strlcpy(o->org, host, sizeof(o->org));
	if (o->email[0] == '\0')
		snprintf(o->email, sizeof(o->email), "postmaster@%s", host);
}

/* Returns 0, or the exit code (2 usage, or -1 for --help: exit 0). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "dmarc-xml", required_argument, NULL, 'x' },
		{ "dmarc-standard", required_argument, NULL, 'S' },
		{ "org", required_argument, NULL, 'o' },
		{ "email", required_argument, NULL, 'e' },
		AM_ENFORCE_LONGOPTS,
		AM_SEND_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c >= AM_ENFORCE_OPT_ENFORCE && c < AM_ENFORCE_OPT_LAST) {
			if (!am_enforce_option(&o->enforce, c, optarg, PROG))
				return 2;
			continue;
		}
		if (c >= AM_SEND_OPT_SEND && c < AM_SEND_OPT_LAST) {
			if (!am_send_option(&o->send, c, optarg, PROG))
				return 2;
			continue;
		}
		switch (c) {
		case 's':
			if (!parse_since(optarg, time(NULL), &o->since)) {
				fprintf(stderr, PROG ": --since: not a time: %s\n", optarg);
				return 2;
			}
			o->have_since = true;
			break;
		case 'd':
			o->domains = am_xreallocarray(o->domains, o->ndomains + 1, sizeof(*o->domains));
			o->domains[o->ndomains] = am_xstrdup(optarg);
			am_domain_normalize(o->domains[o->ndomains++]);
			break;
		case 'j':
			json = true;
			break;
		case 'H':
			o->html_path = optarg;
			break;
		case 'x':
			o->xml_dir = optarg;
			break;
		case 'S':
			if (!am_dmarc_standard_parse(optarg, &o->std)) {
				fprintf(stderr, PROG ": --dmarc-standard: rfc9989 or rfc7489, not %s\n", optarg);
				return 2;
			}
			break;
		case 'o':
			am_strlcpy(o->org, optarg, sizeof(o->org));
			o->send.org_given = true;
			break;
		case 'e':
			if (strchr(optarg, '@') == NULL || strlen(optarg) >= sizeof(o->email)) {
				fprintf(stderr, PROG ": --email: not an address: %s\n", optarg);
				return 2;
			}
			am_strlcpy(o->email, optarg, sizeof(o->email));
			o->send.email_given = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			fprintf(stderr, PROG ": unknown or incomplete option %s\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (json && o->html_path != NULL) {
		fprintf(stderr, PROG ": --json and --html exclude each other\n");
		return 2;
	}
	o->out = json ? OUT_JSON : o->html_path != NULL ? OUT_HTML : OUT_TEXT;
	/* --send-dmarc: a report covers whole UTC days; --since never cuts one short. */
	if (o->send.on && o->have_since && o->since % 86400 != 0)
		o->since += 86400 - o->since % 86400;
	if (o->send.on && o->std == AM_DMARC_RFC7489) {
		fprintf(stderr, PROG ": --send-dmarc sends RFC 9990 reports: not with --dmarc-standard rfc7489\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": no log file given\n");
		usage(stderr);
		return 2;
	}
	default_reporter(o);
	return 0;
}

/* Open every input first: a missing log fails before any output. */
static bool
open_inputs(int n, char **names, struct input *in)
{
	int i;

	for (i = 0; i < n; i++) {
		in[i].name = names[i];
		if (strcmp(names[i], "-") == 0) {
			in[i].f = stdin;
			in[i].name = "(stdin)";
		} else if ((in[i].f = fopen(names[i], "r")) == NULL) {
			fprintf(stderr, PROG ": %s: cannot open: %s\n", names[i], strerror(errno));
			while (i-- > 0)
				if (in[i].f != stdin)
					fclose(in[i].f);
			return false;
		}
	}
	return true;
}

/*
 * One line into b, without its newline.  False at end of input.  A line
 * over LINE_MAX_BYTES is read to its end but not kept, and *toolong is
 * set.  NUL bytes are kept (and make the line malformed later).
 */
static bool
read_line(struct input *in, struct am_buf *b, bool *toolong)
{
	const char *nl;
	size_t take;
	bool any = false;

	am_buf_reset(b);
	*toolong = false;
	for (;;) {
		if (in->pos == in->len) {
			in->len = fread(in->buf, 1, sizeof(in->buf), in->f);
			in->pos = 0;
			if (in->len == 0)
				break;
		}
		any = true;
		nl = memchr(in->buf + in->pos, '\n', in->len - in->pos);
		take = nl != NULL ? (size_t)(nl - (in->buf + in->pos)) : in->len - in->pos;
		if (b->len + take > LINE_MAX_BYTES)
			*toolong = true;
		else
			am_buf_add(b, in->buf + in->pos, take);
		in->pos += take;
		if (nl != NULL) {
			in->pos++;
			break;
		}
	}
	am_buf_addc(b, '\0');
	b->len--;
	return any;
}

static bool
blank(const struct am_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i] != ' ' && b->data[i] != '\t' && b->data[i] != '\r')
			return false;
	return true;
}

static void
warn_line(struct tally *t, const char *file, unsigned long line, const char *why)
{
	t->bad++;
	if (t->warned++ < WARN_MAX)
		fprintf(stderr, PROG ": %s:%lu: skipped: %s\n", file, line, why);
	else if (t->warned == WARN_MAX + 1)
		fprintf(stderr, PROG ": further malformed lines are counted, not shown\n");
}

static bool
wanted(const struct opts *o, const struct am_verdict *v)
{
	size_t i;

	if (o->have_since && v->ts < o->since)
		return false;
	if (o->ndomains == 0)
		return true;
	for (i = 0; i < o->ndomains; i++)
		if (strcmp(o->domains[i], v->from_domain) == 0)
			return true;
	return false;
}

/*
 * Logs of several MX hosts, or overlapping copies of one, count each
 * message once: a record with a host and a queue id is the message
 * (host, queue_id, ts).  One without a queue id (alignmilter -t), or
 * written before the host key (its queue id may be another host's too),
 * cannot be told apart and always counts, as it always did.  The time
 * stamp keeps a short Postfix queue id that a host reuses days later
 * from passing for the same message.
 */
static bool
first_time(struct tally *t, const struct am_verdict *v)
{
	struct am_buf k;
	bool created;

	if (v->queue_id[0] == '\0' || v->host[0] == '\0')
		return true;
	am_buf_init(&k);
	am_buf_printf(&k, "%zu:%s%zu:%s%lld", strlen(v->host), v->host, strlen(v->queue_id), v->queue_id,
	    (long long)v->ts);
	(void)am_rmap_index(t->seen, k.data, &created);
	am_buf_free(&k);
	return created;
}

/* Returns false on a read error (reported). */
static bool
read_log(const struct opts *o, struct input *in, struct tally *t, struct am_verdict *v)
{
	struct am_buf line;
	unsigned long lineno = 0;
	char err[256];
	bool toolong, ok = true;

	am_buf_init(&line);
	while (read_line(in, &line, &toolong)) {
		lineno++;
		if (toolong) {
			warn_line(t, in->name, lineno, "line longer than 1 MiB");
			continue;
		}
		if (blank(&line))
			continue;
		t->lines++;
		if (strlen(line.data) != line.len) {
			warn_line(t, in->name, lineno, "NUL byte in line");
			continue;
		}
		if (!am_alignlog_read(line.data, line.len, v, err, sizeof(err))) {
			warn_line(t, in->name, lineno, err);
			continue;
		}
		if (!wanted(o, v)) {
			t->filtered++;
			continue;
		}
		if (!first_time(t, v)) {
			t->dups++;
			continue;
		}
		am_report_add(&t->report, v);
		if (t->enf != NULL)
			am_enforce_add(t->enf, v);
		if (t->xml != NULL)
			am_dmarcxml_add(t->xml, v);
	}
	if (ferror(in->f)) {
		fprintf(stderr, PROG ": %s: read error: %s\n", in->name, strerror(errno));
		ok = false;
	}
	am_buf_free(&line);
	return ok;
}

static bool
write_all(FILE *f, const char *name, const struct am_buf *b)
{
	if ((b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len) || fflush(f) != 0) {
		fprintf(stderr, PROG ": %s: write error: %s\n", name, strerror(errno));
		return false;
	}
	return true;
}

/* --enforce: the readiness report instead of the figures (report-enforce.h). */
static bool
write_enforce(const struct opts *o, const struct tally *t)
{
	struct am_buf b;
	char err[600];
	unsigned pages;
	bool ok;

	am_enforce_finish(t->enf);
	if (o->out == OUT_HTML) {
		if (!(ok = am_enforce_html_write(t->enf, o->html_path, &pages, err, sizeof(err))))
			fprintf(stderr, PROG ": cannot write %s\n", err);
		return ok;
	}
	am_buf_init(&b);
	if (o->out == OUT_JSON)
		am_enforce_json(t->enf, &b);
	else
		am_enforce_text(t->enf, &b);
	ok = write_all(stdout, "standard output", &b);
	am_buf_free(&b);
	return ok;
}

static bool
write_report(const struct opts *o, const struct tally *t)
{
	struct am_buf b;
	char err[600];
	bool ok;

	if (t->enf != NULL)
		return write_enforce(o, t);
	am_buf_init(&b);
	if (o->out == OUT_JSON)
		am_report_json(&t->report, &b);
	else if (o->out == OUT_HTML)
		am_report_html(&t->report, &b);
	else
		am_report_text(&t->report, &b);
	if (o->out != OUT_HTML || strcmp(o->html_path, "-") == 0) {
		ok = write_all(stdout, "standard output", &b);
	} else if (!(ok = am_reportfile_write(o->html_path, b.data, b.len, err, sizeof(err)))) {
		fprintf(stderr, PROG ": cannot write %s\n", err);
	}
	am_buf_free(&b);
	return ok;
}

/* " (N messages without ... and M without ... left out)" for the counts that are not 0. */
static void
left_out(unsigned long n1, const char *why1, unsigned long n2, const char *why2)
{
	if (n1 == 0 && n2 == 0)
		return;
	fputs(" (", stderr);
	if (n1 > 0)
		fprintf(stderr, "%lu message%s %s", n1, n1 == 1 ? "" : "s", why1);
	if (n1 > 0 && n2 > 0)
		fputs(" and ", stderr);
	if (n2 > 0)
		fprintf(stderr, "%lu message%s %s", n2, n2 == 1 ? "" : "s", why2);
	fputs(" left out)", stderr);
}

static bool
write_xml(const struct opts *o, const struct tally *t)
{
	char err[512];
	int n;

	if (t->xml == NULL || o->xml_dir == NULL)
		return true;
	if ((n = am_dmarcxml_write(t->xml, o->xml_dir, o->org, o->email, err, sizeof(err))) < 0) {
		fprintf(stderr, PROG ": --dmarc-xml: %s\n", err);
		return false;
	}
	fprintf(stderr, PROG ": wrote %d DMARC aggregate report%s (%s) into %s", n, n == 1 ? "" : "s",
	    o->std == AM_DMARC_RFC7489 ? "RFC 7489" : "RFC 9990", o->xml_dir);
	left_out(am_dmarcxml_skipped(t->xml), "without a From domain", am_dmarcxml_no_policy(t->xml),
	    "without a DMARC record");
	fputc('\n', stderr);
	return true;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct tally t;
	struct input *in;
	struct am_verdict *v;
	char err[512];
	int rc, i, n;

	memset(&o, 0, sizeof(o));
	am_enforce_opts_init(&o.enforce);
	/* DMARCStandard's default: the tool reads logs, not alignmilter.conf. */
	o.std = AM_DMARC_RFC9989;
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc < 0 ? 0 : rc;
	n = argc - optind;
	in = am_xcalloc((size_t)n, sizeof(*in));
	if (!open_inputs(n, argv + optind, in))
		return 1;
	memset(&t, 0, sizeof(t));
	am_report_init(&t.report);
	t.xml = o.xml_dir != NULL || o.send.on ? am_dmarcxml_new(o.std) : NULL;
	t.seen = am_rmap_new();
	if (o.enforce.on && (t.enf = am_enforce_new(&o.enforce, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": --enforce: %s\n", err);
		return 1;
	}
	/* A verdict holds 50 signatures: too big for the stack of a small tool. */
	v = am_xmalloc(sizeof(*v));
	rc = 0;
	for (i = 0; i < n; i++) {
		if (!read_log(&o, &in[i], &t, v))
			rc = 1;
		if (in[i].f != stdin)
			fclose(in[i].f);
	}
	if (t.bad > 0)
		fprintf(stderr, PROG ": %lu malformed line%s skipped\n", t.bad, t.bad == 1 ? "" : "s");
	if (t.dups > 0)
		fprintf(stderr, PROG ": %lu record%s of messages already counted (same host, queue id and"
		    " time) left out\n", t.dups, t.dups == 1 ? "" : "s");
	/* --send-dmarc mails the reports instead of printing the figures. */
	if (rc == 0 && o.send.on)
		rc = am_send_main(&o.send, t.xml, o.org, o.email);
	else if (rc == 0 && (!write_report(&o, &t) || !write_xml(&o, &t)))
		rc = 1;
	if (rc == 0 && o.send.on && !write_xml(&o, &t))
		rc = 1;
	free(v);
	am_dmarcxml_free(t.xml);
	am_rmap_free(t.seen);
	am_enforce_free(t.enf);
	am_report_free(&t.report);
	for (i = 0; (size_t)i < o.ndomains; i++)
		free(o.domains[i]);
	free(o.domains);
	free(in);
	return rc;
}
