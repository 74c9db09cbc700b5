/*
 * miltdrive.c - a milter-protocol client that times milters directly.
 *
 * Owns: replaying one saved message to one milter, or to a chain of
 * milters the way Postfix's smtpd_milters would (headers added by milter k
 * are seen by milter k+1), N times, and reporting each milter's added
 * latency; and holding many milter connections open at once to measure a
 * milter's memory with that many messages in flight.
 *
 * Protocol: milter protocol version 6 as Postfix 3.x speaks it
 * (libmilter's mfdef.h): OPTNEG offering every action and protocol flag,
 * then per message CONNECT, HELO, MAIL, RCPT, DATA, HEADER..., EOH,
 * BODY..., EOM, QUIT, each stage skipped when the milter negotiated
 * SMFIP_NO<stage> and its reply not awaited when it negotiated
 * SMFIP_NR_<stage>.  Header values go without the leading space unless
 * SMFIP_HDR_LEADSPC, folded lines joined with "\n", as Postfix sends
 * them; the body goes with CRLF line ends.  Macros: j, _, {daemon_name}
 * at CONNECT, {mail_addr} at MAIL, i (queue id) at MAIL, EOH and EOM.
 * One milter connection per message (an inbound MX's one message per SMTP
 * session); -k reuses one connection per milter for all messages.
 *
 * Times (microseconds, per message, CLOCK_MONOTONIC): "eom" = the round
 * trip of end-of-message (what the MTA waits for after the final dot);
 * "total" = from opening the connection to the final EOM reply (all the
 * waiting the MTA does on that milter for the message).  For a chain both
 * are summed over the milters, and also reported per milter.
 *
 *   miltdrive [options] MESSAGE HOST:PORT [HOST:PORT...]
 *     -n N        messages (default 1000), after -w warm-up ones (default 20)
 *     -k          one connection per milter for all messages
 *     -x ADDR     client IPv4 address (default 192.0.2.10)
 *     -H HELO     (default a8-10.smtp-out.amazonses.com)
 *     -f FROM     envelope sender (default the first line of MESSAGE.env, else
 *                 bench@us-east-1.amazonses.com)
 *     -q          TCP_QUICKACK before every read: take the MTA side's delayed
 *                 ACK out of the numbers (see README: libmilter's replies at
 *                 end of message are two packets, the second held by Nagle
 *                 until the first is ACKed, and Linux delays that ACK ~40 ms)
 *     -S MS       sleep MS milliseconds after MAIL (before the headers), so a
 *                 milter's lookups started at MAIL FROM can finish before the
 *                 end of the message (the cold-cache measurement's variant)
 *     -v          print what each milter did to the first message
 *     -m K        K messages per milter connection (default 1; -k: all on one).
 *                 -m 0: connections with no message (negotiation, CONNECT,
 *                 HELO, QUIT): N of them, timed from connect to QUIT ("conn")
 *     -a          with -m 0 (and -F): MAIL and ABORT too, as the MTA sends
 *                 for a session whose recipients it rejected
 *     -F F        flood: F child processes open no-message connections to the
 *                 first milter back to back while the messages are timed;
 *                 prints "flood connections=.. per_s=.."
 *     -P K        hold mode: open K connections to each milter, send each a
 *                 message up to the end of the body (-m 0: no message, the
 *                 connections idle after HELO), then (all K in flight)
 *                 report the resident memory of the processes given with
 *                 -p PID,PID..., then finish all K messages
 * Output: key=value lines, "milter=<addr> eom_p50_us=.. eom_p99_us=.. ..."
 * and "chain eom_p50_us=.. ..."; exit 0 when every message was answered.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "miltclient.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *label, double *v, long n)
{
	double sum = 0;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	for (long i = 0; i < n; i++)
		sum += v[i];
	printf("%s p50_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f\n", label,
	    v[n / 2], v[(size_t)((double)n * 0.99)], v[n - 1], sum / (double)n);
}

static long
rss_kb(const char *pids, const char *field)
{
	char list[256], *save = NULL;
	long total = 0;

	snprintf(list, sizeof(list), "%s", pids);
	for (char *pid = strtok_r(list, ",", &save); pid; pid = strtok_r(NULL, ",", &save)) {
		char path[64], line[256];
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%s/status", pid);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp))
			if (strncmp(line, field, strlen(field)) == 0)
				total += atol(line + strlen(field));
		fclose(fp);
	}
	return total;
}

/* Hold mode: K messages in flight per milter at once. */
static int opt_per_conn = 1;	/* -m */
static bool opt_abort;		/* -a */

static int
hold(struct milter *ms, int nm, int k, const char *pids)
{
	struct mconn *mc = calloc((size_t)(k * nm), sizeof(*mc));
	int bad = 0;

	if (mc == NULL)
		return 2;
	for (int j = 0; j < k; j++)
		for (int m = 0; m < nm; m++) {
			struct mconn *c = &mc[j * nm + m];
			double dummy;

			if (!mconn_open(c, &ms[m]) || !mconn_session(c) ||
			    (opt_per_conn > 0 && !mconn_message(c, NULL, 0, 0, NULL, &dummy, true))) {
				fprintf(stderr, "miltdrive: hold connection %d to %s failed\n", j, ms[m].spec);
				bad++;
			}
		}
	usleep(300000);	/* let the milters settle on what they were given */
	printf("hold connections=%d rss_kb=%ld\n", k, pids ? rss_kb(pids, "VmRSS:") : -1L);
	for (int j = 0; j < k * nm; j++) {
		double eom;
		struct outcome out = { 0 };

		if (mc[j].fd >= 0 && !mc[j].done && opt_per_conn > 0) {
			if (!put(mc[j].fd, 'E', NULL, 0) || !await(&mc[j], &out))
				bad++;
			(void)eom;
		}
		mconn_close(&mc[j]);
	}
	printf("hold after rss_kb=%ld hwm_kb=%ld failed=%d\n",
	    pids ? rss_kb(pids, "VmRSS:") : -1L, pids ? rss_kb(pids, "VmHWM:") : -1L, bad);
	free(mc);
	return bad ? 1 : 0;
}

/* One no-message connection: negotiation, CONNECT, HELO (-a: MAIL, ABORT), QUIT. */
static bool
bare_connection(const struct milter *m)
{
	struct mconn mc;

	if (!mconn_open(&mc, m) || !mconn_session(&mc) || (opt_abort && !mconn_mail_abort(&mc))) {
		if (mc.fd >= 0)
			close(mc.fd);
		return false;
	}
	mconn_close(&mc);
	return true;
}

/* -m 0: n timed no-message connections to each milter in turn. */
static int
connections_only(struct milter *ms, int nm, long n, long warm)
{
	int failures = 0;
	char label[128];

	for (long i = -warm; i < n; i++)
		for (int m = 0; m < nm; m++) {
			double t0 = now_us();

			if (!bare_connection(&ms[m]))
				failures++;
			if (i >= 0)
				ms[m].total[i] = now_us() - t0;
		}
	for (int m = 0; m < nm; m++) {
		snprintf(label, sizeof(label), "milter=%s conn", ms[m].spec);
		report(label, ms[m].total, n);
	}
	printf("connections=%ld failures=%d\n", n * nm, failures);
	return failures ? 1 : 0;
}

/* -F: children flooding the milter with no-message connections until SIGTERM. */
static volatile sig_atomic_t flood_stop;
static long *flood_count;	/* shared with the children */

static void
on_term(int sig)
{
	(void)sig;
	flood_stop = 1;
}

static bool
flood_start(const struct milter *m, int f, pid_t *kids)
{
	flood_count = mmap(NULL, sizeof(long) * (size_t)f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (flood_count == MAP_FAILED)
		return false;
	for (int k = 0; k < f; k++) {
		if ((kids[k] = fork()) < 0)
			return false;
		if (kids[k] == 0) {
			signal(SIGTERM, on_term);
			while (!flood_stop)
				if (bare_connection(m))
					flood_count[k]++;
			_exit(0);
		}
	}
	usleep(200000);		/* the flood under way before the first message */
	return true;
}

static void
flood_end(int f, const pid_t *kids, double seconds)
{
	long total = 0;

	for (int k = 0; k < f; k++) {
		kill(kids[k], SIGTERM);
		waitpid(kids[k], NULL, 0);
		total += flood_count[k];
	}
	printf("flood connections=%ld per_s=%.0f\n", total, (double)total / seconds);
}

static bool
parse_spec(struct milter *m, const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return false;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&m->sin, 0, sizeof(m->sin));
	m->sin.sin_family = AF_INET;
	m->sin.sin_port = htons((unsigned short)atoi(colon + 1));
	m->spec = spec;
	return inet_pton(AF_INET, host, &m->sin.sin_addr) == 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: miltdrive [-n N] [-w W] [-k] [-q] [-S MS] [-x ADDR] [-H HELO] [-f FROM] "
	    "[-v] [-m K] [-a] [-F F] [-P K -p PIDS] MESSAGE HOST:PORT...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct milter ms[MAX_MILTERS];
	struct mconn keep[MAX_MILTERS];
	long n = 1000, warm = 20;
	int nm, ch, holdk = 0, failures = 0, flood = 0;
	pid_t kids[64];
	double t_start;
	long on_conn[MAX_MILTERS] = { 0 };
	bool opt_keep = false, from_set = false;
	const char *pids = NULL;
	double *chain_eom, *chain_total;

	while ((ch = getopt(argc, argv, "n:w:kqS:x:H:f:vP:p:m:aF:")) != -1) {
		switch (ch) {
		case 'n': n = atol(optarg); break;
		case 'w': warm = atol(optarg); break;
		case 'k': opt_keep = true; break;
		case 'x': opt_addr = optarg; break;
		case 'H': opt_helo = optarg; break;
		case 'f': snprintf(opt_from, sizeof(opt_from), "%s", optarg); from_set = true; break;
		case 'v': opt_verbose = true; break;
		case 'q': opt_quickack = true; break;
		case 'S': opt_mail_sleep_ms = atol(optarg); break;
		case 'P': holdk = atoi(optarg); break;
		case 'p': pids = optarg; break;
		case 'm': opt_per_conn = atoi(optarg); break;
		case 'a': opt_abort = true; break;
		case 'F': flood = atoi(optarg); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > MAX_MILTERS || n <= 0 || warm < 0 || opt_mail_sleep_ms < 0 ||
	    opt_per_conn < 0 || flood < 0 || flood > 64)
		usage();
	if (!load_message(argv[0])) {
		fprintf(stderr, "miltdrive: cannot parse %s\n", argv[0]);
		return 2;
	}
	if (!from_set) {
		char envp[1024];
		FILE *fp;

		snprintf(envp, sizeof(envp), "%.*s.env", (int)(strlen(argv[0]) - 4), argv[0]);
		if ((fp = fopen(envp, "r")) != NULL) {
			if (fgets(opt_from, sizeof(opt_from), fp))
				opt_from[strcspn(opt_from, "\r\n")] = '\0';
			fclose(fp);
		}
	}
	nm = argc - 1;
	for (int m = 0; m < nm; m++) {
		if (!parse_spec(&ms[m], argv[m + 1]))
			usage();
		ms[m].eom = xmalloc(sizeof(double) * (size_t)n);
		ms[m].total = xmalloc(sizeof(double) * (size_t)n);
	}
	if (holdk > 0) {
		struct rlimit rl;

		/* K connections per milter, and some to spare. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		return hold(ms, nm, holdk, pids);
	}
	if (opt_per_conn == 0 && flood == 0)
		return connections_only(ms, nm, n, warm);
	if (opt_per_conn == 0 || (flood > 0 && !flood_start(&ms[0], flood, kids)))
		usage();
	t_start = now_us();
	chain_eom = xmalloc(sizeof(double) * (size_t)n);
	chain_total = xmalloc(sizeof(double) * (size_t)n);
	for (int m = 0; m < nm; m++)
		keep[m].fd = -1;
	for (long i = -warm; i < n; i++) {
		struct hdr extra[8 * MAX_MILTERS];
		int nextra = 0, extra_top = 0;
		double ce = 0, ct = 0;

		for (int m = 0; m < nm; m++) {
			struct mconn local = { .fd = -1 }, *mc = opt_keep ? &keep[m] : &local;
			struct outcome out = { 0 };
			double t0 = now_us(), eom = 0;
			bool ok;

			if (opt_per_conn > 1 && !opt_keep && on_conn[m] > 0)
				mc = &keep[m];		/* the connection's next message */
			if ((!opt_keep && opt_per_conn == 1) || mc->fd < 0) {
				ok = mconn_open(mc, &ms[m]) && mconn_session(mc);
			} else {
				ok = true;
				mc->done = false;
			}
			ok = ok && mconn_message(mc, extra, nextra, extra_top, &out, &eom, false);
			if (!ok) {
				failures++;
				fprintf(stderr, "miltdrive: message %ld to %s failed\n", i, ms[m].spec);
				if (mc->fd >= 0)
					close(mc->fd);
				mc->fd = -1;
				continue;
			}
			if (opt_per_conn > 1 && !opt_keep) {
				on_conn[m] = (on_conn[m] + 1) % opt_per_conn;
				keep[m] = *mc;
				if (on_conn[m] == 0)
					mconn_close(&keep[m]);
			} else if (!opt_keep) {
				mconn_close(mc);
			}
			double total = now_us() - t0;

			if (opt_verbose && i == -warm) {
				fprintf(stderr, "%s: proto=0x%lx final='%c'\n", ms[m].spec, mc->proto,
				    out.final ? out.final : '?');
				for (int h = 0; h < out.nadded; h++)
					fprintf(stderr, "  added %s:%s\n", out.added[h].name, out.added[h].value);
			}
			/* What this milter added, the next one sees (Postfix chains milters). */
			for (int h = 0; h < out.nadded && nextra < 8 * MAX_MILTERS; h++) {
				if (out.top[h]) {
					memmove(&extra[extra_top + 1], &extra[extra_top],
					    sizeof(extra[0]) * (size_t)(nextra - extra_top));
					extra[extra_top++] = out.added[h];
				} else {
					extra[nextra] = out.added[h];
				}
				nextra++;
			}
			if (i >= 0) {
				ms[m].eom[i] = eom;
				ms[m].total[i] = total;
			}
			ce += eom;
			ct += total;
		}
		if (i >= 0) {
			chain_eom[i] = ce;
			chain_total[i] = ct;
		}
		/* The added headers' strings are not freed: a few per message, bounded by n. */
	}
	if (flood > 0)
		flood_end(flood, kids, (now_us() - t_start) / 1e6);
	for (int m = 0; m < nm; m++) {
		char label[128];

		if (opt_keep || opt_per_conn > 1)
			mconn_close(&keep[m]);
		snprintf(label, sizeof(label), "milter=%s eom", ms[m].spec);
		report(label, ms[m].eom, n);
		snprintf(label, sizeof(label), "milter=%s total", ms[m].spec);
		report(label, ms[m].total, n);
	}
	report("chain eom", chain_eom, n);
	report("chain total", chain_total, n);
	printf("messages=%ld failures=%d\n", n, failures);
	return failures ? 1 : 0;
}
