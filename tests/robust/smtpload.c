/*
 * smtpload.c - a small SMTP load generator for the robustness tests.
 *
 * Owns: sending N copies of one message file to an SMTP server over C
 * concurrent connections, each session opened with EHLO, XCLIENT
 * ADDR/NAME/HELO (so Postfix and the milter see a TEST-NET client) and
 * EHLO again, then up to PER_CONN messages before QUIT.  Each copy gets
 * its own first header "Message-ID: <TAG.INDEX@robust.e2e.example>"
 * (outside the DKIM signature of the file, which stays valid).  A 4xx
 * reply or a broken connection is retried on a new connection (after a
 * short pause), so every index is finally accepted or refused with a 5xx;
 * nothing is sent twice once it got 250.  Prints one summary line:
 *   sent N accepted A rejected R retries T errors E seconds S rate X/s
 *   latency_ms p50 P p99 Q max M
 * Exit 0 when every index was accepted, 1 otherwise, 2 on usage error.
 *
 *   smtpload HOST PORT N C MSGFILE TAG CLIENT_IP HELO MAIL_FROM RCPT [PER_CONN]
 *
 * Test tool only (built by tests/robust/lib.sh with cc -O2 -pthread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_RETRIES 200

struct job {
	const char *host;
	int	port;
	unsigned n, per_conn;
	const char *tag, *client_ip, *helo, *mail_from, *rcpt;
	char	*data;			/* dot-stuffed message, CRLF, no final dot */
	size_t	datalen;
	atomic_uint next;
	atomic_uint accepted, rejected, retries, errors;
	double	*lat_ms;		/* per index, end of DATA to reply */
};

struct conn {
	int	fd;
	char	buf[8192];
	size_t	have;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
conn_open(struct conn *c, const char *host, int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 300, 0 };
	int one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->have = 0;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
send_all(struct conn *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One reply (multi-line joined away); returns the code or -1. */
static int
read_reply(struct conn *c)
{
	for (;;) {
		char *nl;

		while ((nl = memchr(c->buf, '\n', c->have)) != NULL) {
			size_t linelen = (size_t)(nl - c->buf) + 1;
			int code = -1, last = 0;

			if (linelen >= 4) {
				code = atoi(c->buf);
				last = c->buf[3] != '-';
			}
			memmove(c->buf, c->buf + linelen, c->have - linelen);
			c->have -= linelen;
			if (last)
				return code;
		}
		if (c->have == sizeof(c->buf))
			c->have = 0;	/* an absurd line: drop it */
		ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->have += (size_t)n;
	}
}

static int
command(struct conn *c, const char *line)
{
	if (send_all(c, line, strlen(line)) != 0 || send_all(c, "\r\n", 2) != 0)
		return -1;
	return read_reply(c);
}

/* Greeting, EHLO, XCLIENT, EHLO: 0 or -1. */
static int
session_start(struct job *j, struct conn *c)
{
	char line[512];

	if (conn_open(c, j->host, j->port) != 0 || read_reply(c) != 220)
		return -1;
	if (command(c, "EHLO load.robust.example") != 250)
		return -1;
	snprintf(line, sizeof(line), "XCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s", j->client_ip, j->helo);
	if (command(c, line) != 220)
		return -1;
	snprintf(line, sizeof(line), "EHLO %s", j->helo);
	return command(c, line) == 250 ? 0 : -1;
}

/* One message: the final reply code, or -1 when the connection broke. */
static int
send_one(struct job *j, struct conn *c, unsigned idx)
{
	char line[512];
	double t0;
	int code;

	snprintf(line, sizeof(line), "MAIL FROM:<%s>", j->mail_from);
	if ((code = command(c, line)) != 250)
		return code;
	snprintf(line, sizeof(line), "RCPT TO:<%s>", j->rcpt);
	if ((code = command(c, line)) != 250)
		return code;
	if ((code = command(c, "DATA")) != 354)
		return code;
	snprintf(line, sizeof(line), "Message-ID: <%s.%u@robust.e2e.example>\r\n", j->tag, idx);
	if (send_all(c, line, strlen(line)) != 0 || send_all(c, j->data, j->datalen) != 0)
		return -1;
	t0 = now_s();
	if (send_all(c, ".\r\n", 3) != 0)
		return -1;
	code = read_reply(c);
	j->lat_ms[idx] = (now_s() - t0) * 1000.0;
	return code;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct conn c = { -1, { 0 }, 0 };
	unsigned idx, in_conn = 0, tries = 0;
	int code;

	idx = atomic_fetch_add(&j->next, 1);
	while (idx < j->n) {
		if (c.fd < 0) {
			if (session_start(j, &c) != 0) {
				conn_close(&c);
				atomic_fetch_add(&j->retries, 1);
				if (++tries > MAX_RETRIES) {
					atomic_fetch_add(&j->errors, 1);
					idx = atomic_fetch_add(&j->next, 1);
					tries = 0;
				}
				usleep(200000);
				continue;
			}
			in_conn = 0;
		}
		code = send_one(j, &c, idx);
		if (code == 250) {
			atomic_fetch_add(&j->accepted, 1);
		} else if (code >= 500) {
			atomic_fetch_add(&j->rejected, 1);
			fprintf(stderr, "smtpload: %s.%u: reply %d\n", j->tag, idx, code);
		} else {
			/* 4xx or broken: the same index again, on a new connection. */
			conn_close(&c);
			atomic_fetch_add(&j->retries, 1);
			if (++tries > MAX_RETRIES) {
				atomic_fetch_add(&j->errors, 1);
				fprintf(stderr, "smtpload: %s.%u: gave up (last reply %d)\n", j->tag, idx, code);
			} else {
				usleep(200000);
				continue;
			}
		}
		tries = 0;
		idx = atomic_fetch_add(&j->next, 1);
		if (++in_conn >= j->per_conn && c.fd >= 0) {
			(void)command(&c, "QUIT");
			conn_close(&c);
		}
	}
	if (c.fd >= 0) {
		(void)command(&c, "QUIT");
		conn_close(&c);
	}
	return NULL;
}

/* The file, CRLF line ends, dot-stuffed, ending in CRLF. */
static int
load_message(struct job *j, const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *raw, *out;
	long len;
	size_t i, o = 0;
	int bol = 1;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0) {
		perror(path);
		return -1;
	}
	rewind(fp);
	raw = malloc((size_t)len + 1);
	out = malloc((size_t)len * 3 + 4);
	if (raw == NULL || out == NULL || fread(raw, 1, (size_t)len, fp) != (size_t)len) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	for (i = 0; i < (size_t)len; i++) {
		if (bol && raw[i] == '.')
			out[o++] = '.';
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
		bol = raw[i] == '\n';
	}
	if (o < 2 || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	free(raw);
	j->data = out;
	j->datalen = o;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct job j;
	pthread_t *tids;
	unsigned c, i, have = 0;
	double t0, secs, *lat;

	if (argc < 11 || argc > 12) {
		fprintf(stderr, "usage: smtpload HOST PORT N C MSGFILE TAG CLIENT_IP HELO MAIL_FROM RCPT [PER_CONN]\n");
		return 2;
	}
	memset(&j, 0, sizeof(j));
	j.host = argv[1];
	j.port = atoi(argv[2]);
	j.n = (unsigned)strtoul(argv[3], NULL, 10);
	c = (unsigned)strtoul(argv[4], NULL, 10);
	j.tag = argv[6];
	j.client_ip = argv[7];
	j.helo = argv[8];
	j.mail_from = argv[9];
	j.rcpt = argv[10];
	j.per_conn = argc > 11 ? (unsigned)strtoul(argv[11], NULL, 10) : 50;
	if (j.n == 0 || c == 0 || j.per_conn == 0 || load_message(&j, argv[5]) != 0)
		return 2;
	j.lat_ms = calloc(j.n, sizeof(double));
	tids = calloc(c, sizeof(pthread_t));
	if (j.lat_ms == NULL || tids == NULL)
		return 2;
	t0 = now_s();
	for (i = 0; i < c; i++)
		pthread_create(&tids[i], NULL, worker, &j);
	for (i = 0; i < c; i++)
		pthread_join(tids[i], NULL);
	secs = now_s() - t0;
	lat = calloc(j.n, sizeof(double));
	for (i = 0; i < j.n; i++)
		if (j.lat_ms[i] > 0)
			lat[have++] = j.lat_ms[i];
	qsort(lat, have, sizeof(double), cmp_double);
	printf("sent %u accepted %u rejected %u retries %u errors %u seconds %.1f rate %.1f/s "
	    "latency_ms p50 %.1f p99 %.1f max %.1f\n",
	    j.n, atomic_load(&j.accepted), atomic_load(&j.rejected), atomic_load(&j.retries),
	    atomic_load(&j.errors), secs, secs > 0 ? j.n / secs : 0.0,
	    have ? lat[have / 2] : 0.0, have ? lat[(size_t)(have * 0.99)] : 0.0, have ? lat[have - 1] : 0.0);
	return atomic_load(&j.accepted) == j.n ? 0 : 1;
}
