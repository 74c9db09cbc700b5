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
 *     -P K        hold mode: open K connections to each milter, send each a
 *                 message up to the end of the body, then (all K in flight)
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* libmilter's mfdef.h, protocol version 6. */
#define SMFI_PROT_VERSION	6
#define SMFIF_ALL		0x1ffUL
#define SMFIP_NOCONNECT		0x00000001UL
#define SMFIP_NOHELO		0x00000002UL
#define SMFIP_NOMAIL		0x00000004UL
#define SMFIP_NORCPT		0x00000008UL
#define SMFIP_NOBODY		0x00000010UL
#define SMFIP_NOHDRS		0x00000020UL
#define SMFIP_NOEOH		0x00000040UL
#define SMFIP_NR_HDR		0x00000080UL
#define SMFIP_NODATA		0x00000200UL
#define SMFIP_NR_CONN		0x00001000UL
#define SMFIP_NR_HELO		0x00002000UL
#define SMFIP_NR_MAIL		0x00004000UL
#define SMFIP_NR_RCPT		0x00008000UL
#define SMFIP_NR_DATA		0x00010000UL
#define SMFIP_NR_EOH		0x00040000UL
#define SMFIP_NR_BODY		0x00080000UL
#define SMFIP_HDR_LEADSPC	0x00100000UL
#define SMFIP_ALL		0x001fffffUL

#define MAX_MILTERS	4
#define MAX_HDRS	256
#define BODY_CHUNK	65535

struct hdr {
	char	*name;
	char	*value;		/* as in the message after the colon, folds as "\n" */
};

struct milter {
	const char *spec;
	struct sockaddr_in sin;
	double	*eom, *total;	/* per message, microseconds */
};

struct mconn {
	int	fd;
	unsigned long proto;	/* negotiated SMFIP_* */
	bool	done;		/* the milter accepted/rejected: skip the rest */
};

/* What one milter did to a message (for the next milter and -v). */
struct outcome {
	char	final;			/* a, c, r, t, d, y */
	struct hdr added[8];
	bool	top[8];			/* inserted at index 0, above the others */
	int	nadded;
};

static struct hdr hdrs[MAX_HDRS];
static int nhdrs;
static char *body;
static size_t body_len;
static const char *opt_addr = "192.0.2.10";
static const char *opt_helo = "a8-10.smtp-out.amazonses.com";
static char opt_from[512] = "bench@us-east-1.amazonses.com";
static bool opt_verbose;
static bool opt_quickack;
static long opt_mail_sleep_ms;	/* -S */
static unsigned long qid_counter = 0x1000;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "miltdrive: out of memory\n");
		exit(2);
	}
	return p;
}

/* Split MESSAGE into header fields and a CRLF body. */
static bool
load_message(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf, *p, *end;
	long len;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) <= 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		perror(path);
		return false;
	}
	buf = xmalloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fclose(fp);
		return false;
	}
	fclose(fp);
	buf[len] = '\0';
	p = buf;
	end = buf + len;
	while (p < end && !(p[0] == '\r' && p[1] == '\n') && p[0] != '\n') {
		char *colon, *eol, *v, *w;

		/* The field runs to the first line end not followed by WSP. */
		eol = p;
		for (;;) {
			eol = strchr(eol, '\n');
			if (eol == NULL || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
				break;
			eol++;
		}
		if (eol == NULL || nhdrs == MAX_HDRS)
			return false;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL)
			return false;
		hdrs[nhdrs].name = strndup(p, (size_t)(colon - p));
		v = w = xmalloc((size_t)(eol - colon) + 1);
		for (char *q = colon + 1; q < eol; q++)
			if (*q != '\r')
				*w++ = *q;
		if (w > v && w[-1] == '\n')
			w--;
		*w = '\0';
		hdrs[nhdrs++].value = v;
		p = eol + 1;
	}
	p += (p < end && p[0] == '\r') ? 2 : 1;
	/* The body with CRLF line ends. */
	body = xmalloc((size_t)(end - p) * 2 + 1);
	body_len = 0;
	for (char *q = p; q < end; q++) {
		if (*q == '\n' && (q == p || q[-1] != '\r'))
			body[body_len++] = '\r';
		body[body_len++] = *q;
	}
	return true;
}

static bool
send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

static bool
recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r;

		/* -q: ACK at once, so a milter's Nagle-held second packet is not
		 * kept waiting for our delayed ACK (Linux re-arms the delay). */
		if (opt_quickack) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		}
		r = recv(fd, p, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

/* One packet: 4-byte length (command included), command, data. */
static bool
put(int fd, char cmd, const void *data, size_t len)
{
	char stackbuf[8192];
	char *pkt = len + 5 <= sizeof(stackbuf) ? stackbuf : xmalloc(len + 5);
	uint32_t n = htonl((uint32_t)(len + 1));
	bool ok;

	memcpy(pkt, &n, 4);
	pkt[4] = cmd;
	if (len > 0)
		memcpy(pkt + 5, data, len);
	ok = send_all(fd, pkt, len + 5);
	if (pkt != stackbuf)
		free(pkt);
	return ok;
}

/* One reply packet into *cmd and a malloc'ed buffer (caller frees). */
static bool
get(int fd, char *cmd, char **data, size_t *len)
{
	uint32_t n;

	if (!recv_all(fd, &n, 4))
		return false;
	n = ntohl(n);
	if (n == 0 || n > (1u << 24))
		return false;
	*len = n - 1;
	*data = xmalloc(*len + 1);
	if (!recv_all(fd, cmd, 1) || !recv_all(fd, *data, *len)) {
		free(*data);
		return false;
	}
	(*data)[*len] = '\0';
	return true;
}

/* Build "a\0b\0..." from count strings into buf; returns its length. */
static size_t
nul_list(char *buf, size_t buflen, int count, ...)
{
	va_list ap;
	size_t o = 0;

	va_start(ap, count);
	for (int i = 0; i < count; i++) {
		const char *s = va_arg(ap, const char *);
		size_t l = strlen(s) + 1;

		if (o + l > buflen)
			break;
		memcpy(buf + o, s, l);
		o += l;
	}
	va_end(ap);
	return o;
}

/* Read replies to a stage; 'c' continues, anything final ends the message. */
static bool
await(struct mconn *mc, struct outcome *out)
{
	for (;;) {
		char cmd, *data;
		size_t len;

		if (!get(mc->fd, &cmd, &data, &len))
			return false;
		switch (cmd) {
		case 'c':
		case 's':	/* skip: no more body */
			if (out != NULL)
				out->final = cmd;
			free(data);
			return true;
		case 'p':	/* progress */
			free(data);
			continue;
		case 'h':	/* add header: name\0value\0, appended */
		case 'i':	/* insert header: index, name\0value\0 */
			if (out != NULL && out->nadded < 8) {
				const char *d = cmd == 'i' && len >= 4 ? data + 4 : data;
				uint32_t idx = 0;

				if (cmd == 'i' && len >= 4) {
					memcpy(&idx, data, 4);
					idx = ntohl(idx);
				}
				out->added[out->nadded].name = strdup(d);
				out->added[out->nadded].value = strdup(d + strlen(d) + 1);
				out->top[out->nadded] = cmd == 'i' && idx == 0;
				out->nadded++;
			}
			free(data);
			continue;
		case 'm': case 'q': case 'e': case '+': case '-': case '2': case 'b': case 'l':
			if (opt_verbose && out != NULL)
				fprintf(stderr, "  modification '%c' (%zu bytes)\n", cmd, len);
			free(data);
			continue;
		default:	/* a r t d y: final for this message */
			if (out != NULL)
				out->final = cmd;
			if (opt_verbose && cmd == 'y')
				fprintf(stderr, "  reply: %s\n", data);
			free(data);
			mc->done = true;
			return true;
		}
	}
}

/* Send one stage and, unless the milter asked for no reply, read it. */
static bool
stage(struct mconn *mc, char cmd, const void *data, size_t len, unsigned long nr_flag, struct outcome *out)
{
	if (!put(mc->fd, cmd, data, len))
		return false;
	if (mc->proto & nr_flag)
		return true;
	return await(mc, out);
}

static bool
macro(struct mconn *mc, char stagecmd, const char *buf, size_t len)
{
	char tmp[1024];

	if (len + 1 > sizeof(tmp))
		return false;
	tmp[0] = stagecmd;
	memcpy(tmp + 1, buf, len);
	return put(mc->fd, 'D', tmp, len + 1);
}

static bool
mconn_open(struct mconn *mc, const struct milter *m)
{
	unsigned char opt[12];
	uint32_t v[3] = { htonl(SMFI_PROT_VERSION), htonl(SMFIF_ALL), htonl(SMFIP_ALL) };
	struct timeval tv = { 60, 0 };
	int one = 1;
	char cmd, *data;
	size_t len;

	memset(mc, 0, sizeof(*mc));
	mc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (mc->fd < 0)
		return false;
	setsockopt(mc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(mc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(mc->fd, (const struct sockaddr *)&m->sin, sizeof(m->sin)) != 0) {
		close(mc->fd);
		return false;
	}
	memcpy(opt, v, sizeof(opt));
	if (!put(mc->fd, 'O', opt, sizeof(opt)) || !get(mc->fd, &cmd, &data, &len))
		return false;
	if (cmd != 'O' || len < 12) {
		free(data);
		return false;
	}
	memcpy(v, data, sizeof(v));
	mc->proto = ntohl(v[2]);
	free(data);
	return true;
}

/* CONNECT and HELO: once per milter connection. */
static bool
mconn_session(struct mconn *mc)
{
	char buf[1024];
	size_t n;
	uint16_t port = htons(45678);

	n = nul_list(buf, sizeof(buf), 6, "j", "mx.bench.example", "{daemon_name}", "smtpd",
	    "_", "unknown [192.0.2.10]");
	if (!(mc->proto & SMFIP_NOCONNECT)) {
		if (!macro(mc, 'C', buf, n))
			return false;
		n = strlen("unknown") + 1;
		memcpy(buf, "unknown", n);
		buf[n++] = '4';
		memcpy(buf + n, &port, 2);
		n += 2;
		memcpy(buf + n, opt_addr, strlen(opt_addr) + 1);
		n += strlen(opt_addr) + 1;
		if (!stage(mc, 'C', buf, n, SMFIP_NR_CONN, NULL))
			return false;
	}
	if (!mc->done && !(mc->proto & SMFIP_NOHELO) &&
	    !stage(mc, 'H', opt_helo, strlen(opt_helo) + 1, SMFIP_NR_HELO, NULL))
		return false;
	return true;
}

/* One message, MAIL to EOM; extra headers go in front of the message's. */
static bool
mconn_message(struct mconn *mc, const struct hdr *extra, int nextra, int extra_top,
    struct outcome *out, double *eom_us, bool stop_before_eom)
{
	char buf[2048], qid[32], addr[600];
	size_t n;
	const char *rcpt = "<postmaster@sink.bench.example>";

	snprintf(qid, sizeof(qid), "%lX", qid_counter++);
	snprintf(addr, sizeof(addr), "<%s>", opt_from);
	if (!mc->done && !(mc->proto & SMFIP_NOMAIL)) {
		n = nul_list(buf, sizeof(buf), 4, "{mail_addr}", opt_from, "i", qid);
		if (!macro(mc, 'M', buf, n) ||
		    !stage(mc, 'M', addr, strlen(addr) + 1, SMFIP_NR_MAIL, out))
			return false;
		/* -S: as a slow client would, give MAIL FROM's lookups a head start. */
		if (opt_mail_sleep_ms > 0)
			usleep((useconds_t)opt_mail_sleep_ms * 1000);
	}
	if (!mc->done && !(mc->proto & SMFIP_NORCPT) &&
	    !stage(mc, 'R', rcpt, strlen(rcpt) + 1, SMFIP_NR_RCPT, out))
		return false;
	if (!mc->done && !(mc->proto & SMFIP_NODATA) && !stage(mc, 'T', NULL, 0, SMFIP_NR_DATA, out))
		return false;
	if (!mc->done && !(mc->proto & SMFIP_NOHDRS)) {
		for (int pass = 0; pass < 3 && !mc->done; pass++) {
			/* pass 0: extra headers inserted at the top; 1: the message's; 2: appended extras */
			int from = pass == 1 ? 0 : pass == 0 ? 0 : extra_top;
			int to = pass == 1 ? nhdrs : pass == 0 ? extra_top : nextra;
			const struct hdr *h = pass == 1 ? hdrs : extra;

			for (int i = from; i < to && !mc->done; i++) {
				const char *v = h[i].value;
				char *pkt;
				size_t nl = strlen(h[i].name) + 1;

				if (!(mc->proto & SMFIP_HDR_LEADSPC))
					while (*v == ' ' || *v == '\t')
						v++;
				pkt = xmalloc(nl + strlen(v) + 1);
				memcpy(pkt, h[i].name, nl);
				memcpy(pkt + nl, v, strlen(v) + 1);
				if (!stage(mc, 'L', pkt, nl + strlen(v) + 1, SMFIP_NR_HDR, out)) {
					free(pkt);
					return false;
				}
				free(pkt);
			}
		}
	}
	if (!mc->done && !(mc->proto & SMFIP_NOEOH)) {
		n = nul_list(buf, sizeof(buf), 2, "i", qid);
		if (!macro(mc, 'N', buf, n) || !stage(mc, 'N', NULL, 0, SMFIP_NR_EOH, out))
			return false;
	}
	if (!mc->done && !(mc->proto & SMFIP_NOBODY)) {
		for (size_t o = 0; o < body_len && !mc->done; o += BODY_CHUNK) {
			size_t l = body_len - o < BODY_CHUNK ? body_len - o : BODY_CHUNK;

			if (!stage(mc, 'B', body + o, l, SMFIP_NR_BODY, out))
				return false;
		}
	}
	if (stop_before_eom)
		return true;
	if (!mc->done) {
		double t0;

		n = nul_list(buf, sizeof(buf), 2, "i", qid);
		if (!macro(mc, 'E', buf, n))
			return false;
		t0 = now_us();
		if (!put(mc->fd, 'E', NULL, 0) || !await(mc, out))
			return false;
		*eom_us = now_us() - t0;
	} else {
		*eom_us = 0;
	}
	return true;
}

static void
mconn_close(struct mconn *mc)
{
	if (mc->fd >= 0) {
		(void)put(mc->fd, 'Q', NULL, 0);
		close(mc->fd);
	}
	mc->fd = -1;
}

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
			    !mconn_message(c, NULL, 0, 0, NULL, &dummy, true)) {
				fprintf(stderr, "miltdrive: hold connection %d to %s failed\n", j, ms[m].spec);
				bad++;
			}
		}
	usleep(300000);	/* let the milters settle on what they were given */
	printf("hold connections=%d rss_kb=%ld\n", k, pids ? rss_kb(pids, "VmRSS:") : -1L);
	for (int j = 0; j < k * nm; j++) {
		double eom;
		struct outcome out = { 0 };

		if (mc[j].fd >= 0 && !mc[j].done) {
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
	    "[-v] [-P K -p PIDS] MESSAGE HOST:PORT...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct milter ms[MAX_MILTERS];
	struct mconn keep[MAX_MILTERS];
	long n = 1000, warm = 20;
	int nm, ch, holdk = 0, failures = 0;
	bool opt_keep = false, from_set = false;
	const char *pids = NULL;
	double *chain_eom, *chain_total;

	while ((ch = getopt(argc, argv, "n:w:kqS:x:H:f:vP:p:")) != -1) {
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
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > MAX_MILTERS || n <= 0 || warm < 0 || opt_mail_sleep_ms < 0)
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
	if (holdk > 0)
		return hold(ms, nm, holdk, pids);
	chain_eom = xmalloc(sizeof(double) * (size_t)n);
	chain_total = xmalloc(sizeof(double) * (size_t)n);
	for (int m = 0; m < nm; m++)
		keep[m].fd = -1;
	for (long i = -warm; i < n; i++) {
		struct hdr extra[8 * MAX_MILTERS];
		int nextra = 0, extra_top = 0;
		double ce = 0, ct = 0;

		for (int m = 0; m < nm; m++) {
			struct mconn local, *mc = opt_keep ? &keep[m] : &local;
			struct outcome out = { 0 };
			double t0 = now_us(), eom = 0;
			bool ok;

			if (!opt_keep || mc->fd < 0) {
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
			if (!opt_keep)
				mconn_close(mc);
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
	for (int m = 0; m < nm; m++) {
		char label[128];

		if (opt_keep)
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
