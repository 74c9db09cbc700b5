/*
 * loadgen.c - SMTP load generator for tests/bench (XCLIENT, pipelining).
 *
 * Owns: pushing N pre-built messages at concurrency C into an SMTP server
 * (a private Postfix, or smtp-sink directly to show this tool's own
 * ceiling) and reporting messages/second and per-message latency.
 *
 * Why not smtp-source: it cannot send XCLIENT, so the MTA and the milters
 * would see a loopback client (which SPF always passes and the milters
 * skip), and it sends one fixed file.
 *
 * Model: C threads, each one blocking connection at a time.  A message is
 * taken from a shared counter (message i = pool[i % poolsize]).  By
 * default every message gets a connection of its own (connect, 220, EHLO,
 * XCLIENT, 220, EHLO, then MAIL/RCPT/DATA pipelined, the data, QUIT) as
 * an inbound MX mostly sees; -k keeps the connection for the thread's next
 * message (XCLIENT once per connection); -m K keeps it for K messages.
 * -z: sessions with no message, as a rejected recipient gives (connect,
 * EHLO, XCLIENT, EHLO, MAIL, RCPT to -R's address, which the server must
 * refuse with 4xx/5xx, QUIT); N then counts sessions.  Latency of a
 * message: from the connect (or, on a kept session, from MAIL) to the
 * reply to the final dot; of a -z session, from the connect to QUIT's reply.
 *
 * Pool file (written by pool.py): per message one line
 * "<mail-from> <length>\n" and then <length> bytes of DATA content,
 * already dot-stuffed and ending in "\r\n.\r\n".
 *
 *   loadgen -p PORT -f POOL [-h HOST] [-n N] [-c C] [-k | -m K | -z [-R RCPT]]
 *           [-x ADDR] [-H HELO] [-r RCPT] [-o LATFILE]
 * Prints one line: "sent=N ok=N errors=N seconds=S rate=R p50_ms=.. p99_ms=..".
 * Exit 0 when every message got a 2xx reply to its final dot.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct msg {
	char	from[256];
	char	*data;
	size_t	len;
};

struct conn {
	int	fd;
	char	buf[8192];
	size_t	have;
	size_t	pos;
};

static struct msg *pool;
static size_t pool_count;
static const char *opt_host = "127.0.0.1";
static int opt_port;
static long opt_n = 1000;
static int opt_c = 16;
static bool opt_keep;
static long opt_per_session = 1;	/* -m */
static bool opt_nomsg;			/* -z */
static const char *opt_reject_rcpt = "nobody@reject.bench.example";
static const char *opt_xaddr;
static const char *opt_helo = "a8-10.smtp-out.amazonses.com";
static const char *opt_rcpt = "postmaster@sink.bench.example";
static atomic_long next_msg;
static atomic_long n_ok, n_err;
static double *lat;		/* seconds per message, by message index */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
load_pool(const char *path)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 0;
	char line[512];

	if (fp == NULL) {
		perror(path);
		return false;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct msg m;
		char *sp = strrchr(line, ' ');

		if (sp == NULL || (size_t)(sp - line) >= sizeof(m.from)) {
			fprintf(stderr, "loadgen: bad pool record header\n");
			fclose(fp);
			return false;
		}
		memcpy(m.from, line, (size_t)(sp - line));
		m.from[sp - line] = '\0';
		m.len = strtoul(sp + 1, NULL, 10);
		if (m.len == 0 || m.len > 64u << 20 || (m.data = malloc(m.len)) == NULL ||
		    fread(m.data, 1, m.len, fp) != m.len) {
			fprintf(stderr, "loadgen: truncated pool file\n");
			fclose(fp);
			return false;
		}
		if (pool_count == cap) {
			cap = cap ? cap * 2 : 256;
			pool = realloc(pool, cap * sizeof(*pool));
			if (pool == NULL) {
				fclose(fp);
				return false;
			}
		}
		pool[pool_count++] = m;
	}
	fclose(fp);
	return pool_count > 0;
}

static bool
send_all(int fd, const char *p, size_t len)
{
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

/* One reply line (CRLF stripped) into out; false on EOF/error. */
static bool
read_line(struct conn *c, char *out, size_t outlen)
{
	size_t o = 0;

	for (;;) {
		if (c->pos == c->have) {
			ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return false;
			c->have = (size_t)r;
			c->pos = 0;
		}
		char ch = c->buf[c->pos++];

		if (ch == '\n') {
			if (o > 0 && out[o - 1] == '\r')
				o--;
			out[o] = '\0';
			return true;
		}
		if (o + 1 < outlen)
			out[o++] = ch;
	}
}

/* A complete (possibly multi-line) reply; returns its code, -1 on error. */
static int
read_reply(struct conn *c)
{
	char line[1024];

	for (;;) {
		if (!read_line(c, line, sizeof(line)) || strlen(line) < 3)
			return -1;
		if (line[3] != '-')
			return atoi(line);
	}
}

static bool
expect(struct conn *c, int lo, int hi)
{
	int code = read_reply(c);

	return code >= lo && code <= hi;
}

static bool
session_open(struct conn *c)
{
	struct sockaddr_in sin;
	struct timeval tv = { 60, 0 };
	char cmd[512];
	int one = 1;

	memset(c, 0, sizeof(*c));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)opt_port);
	if (inet_pton(AF_INET, opt_host, &sin.sin_addr) != 1)
		return false;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return false;
	if (!expect(c, 220, 220))
		return false;
	if (!send_all(c->fd, "EHLO client.bench.example\r\n", 27) || !expect(c, 250, 250))
		return false;
	if (opt_xaddr == NULL)
		return true;
	snprintf(cmd, sizeof(cmd), "XCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s\r\n", opt_xaddr, opt_helo);
	/* Postfix answers a new 220 greeting; smtp-sink a 250. */
	if (!send_all(c->fd, cmd, strlen(cmd)) || !expect(c, 220, 250))
		return false;
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", opt_helo);
	return send_all(c->fd, cmd, strlen(cmd)) && expect(c, 250, 250);
}

static void
session_close(struct conn *c, bool polite)
{
	if (c->fd < 0)
		return;
	if (polite && send_all(c->fd, "QUIT\r\n", 6))
		(void)read_reply(c);
	close(c->fd);
	c->fd = -1;
}

/* Commands pipelined (RFC 2920): MAIL FROM the message's sender, RCPT TO rcpt, and more. */
static bool
send_envelope(struct conn *c, const struct msg *m, const char *rcpt, const char *more)
{
	char cmd[1024];
	int n = snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n%s", m->from, rcpt, more);

	return n >= 0 && (size_t)n < sizeof(cmd) && send_all(c->fd, cmd, (size_t)n);
}

/* MAIL, RCPT, DATA pipelined, then the content. */
static bool
transaction(struct conn *c, const struct msg *m)
{
	if (!send_envelope(c, m, opt_rcpt, "DATA\r\n") ||
	    !expect(c, 250, 250) || !expect(c, 250, 251) || !expect(c, 354, 354))
		return false;
	return send_all(c->fd, m->data, m->len) && expect(c, 200, 299);
}

/* -z: MAIL, a recipient the server refuses (the caller ends the session). */
static bool
no_message_session(struct conn *c, const struct msg *m)
{
	return send_envelope(c, m, opt_reject_rcpt, "") && expect(c, 250, 250) && expect(c, 400, 599);
}

static void *
worker(void *arg)
{
	struct conn c = { .fd = -1 };
	long on_session = 0;

	(void)arg;
	for (;;) {
		long i = atomic_fetch_add(&next_msg, 1);
		const struct msg *m;
		double t0;
		bool ok;

		if (i >= opt_n)
			break;
		t0 = now();
		ok = true;
		if (c.fd < 0)
			ok = session_open(&c);
		m = &pool[(size_t)i % pool_count];
		ok = ok && (opt_nomsg ? no_message_session(&c, m) : transaction(&c, m));
		if (ok && opt_nomsg)
			session_close(&c, true);	/* timed to QUIT's reply */
		lat[i] = now() - t0;
		if (ok) {
			atomic_fetch_add(&n_ok, 1);
			if (!opt_keep && !opt_nomsg && ++on_session >= opt_per_session) {
				session_close(&c, true);
				on_session = 0;
			}
		} else {
			on_session = 0;
			atomic_fetch_add(&n_err, 1);
			session_close(&c, false);
		}
	}
	session_close(&c, true);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -p PORT -f POOL [-h HOST] [-n N] [-c C] [-k | -m K | -z [-R RCPT]] "
	    "[-x ADDR] [-H HELO] [-r RCPT] [-o LATFILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *poolfile = NULL, *latfile = NULL;
	pthread_t *th;
	double t0, secs;
	int ch;

	while ((ch = getopt(argc, argv, "h:p:f:n:c:km:zR:x:H:r:o:")) != -1) {
		switch (ch) {
		case 'h': opt_host = optarg; break;
		case 'p': opt_port = atoi(optarg); break;
		case 'f': poolfile = optarg; break;
		case 'n': opt_n = atol(optarg); break;
		case 'c': opt_c = atoi(optarg); break;
		case 'k': opt_keep = true; break;
		case 'm': opt_per_session = atol(optarg); break;
		case 'z': opt_nomsg = true; break;
		case 'R': opt_reject_rcpt = optarg; break;
		case 'x': opt_xaddr = optarg; break;
		case 'H': opt_helo = optarg; break;
		case 'r': opt_rcpt = optarg; break;
		case 'o': latfile = optarg; break;
		default: usage();
		}
	}
	if (opt_port <= 0 || poolfile == NULL || opt_n <= 0 || opt_c <= 0 || opt_c > 4096 || opt_per_session <= 0)
		usage();
	if (!load_pool(poolfile))
		return 2;
	lat = calloc((size_t)opt_n, sizeof(*lat));
	th = calloc((size_t)opt_c, sizeof(*th));
	if (lat == NULL || th == NULL)
		return 2;
	t0 = now();
	for (int i = 0; i < opt_c; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			return 2;
		}
	for (int i = 0; i < opt_c; i++)
		pthread_join(th[i], NULL);
	secs = now() - t0;
	if (latfile != NULL) {
		FILE *fp = fopen(latfile, "w");

		if (fp != NULL) {
			for (long i = 0; i < opt_n; i++)
				fprintf(fp, "%.6f\n", lat[i]);
			fclose(fp);
		}
	}
	qsort(lat, (size_t)opt_n, sizeof(*lat), cmp_double);
	printf("sent=%ld ok=%ld errors=%ld seconds=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	    opt_n, (long)n_ok, (long)n_err, secs, (double)n_ok / secs,
	    lat[opt_n / 2] * 1e3, lat[(size_t)((double)opt_n * 0.99)] * 1e3);
	return n_err == 0 ? 0 : 1;
}
