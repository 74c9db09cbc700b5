/*
 * miltclient.c - the milter-protocol client of miltdrive (see miltclient.h).
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

#include "miltclient.h"

struct hdr hdrs[MAX_HDRS];
int nhdrs;
char *body;
size_t body_len;
const char *opt_addr = "192.0.2.10";
const char *opt_helo = "a8-10.smtp-out.amazonses.com";
char opt_from[512] = "bench@us-east-1.amazonses.com";
bool opt_verbose;
bool opt_quickack;
long opt_mail_sleep_ms;	/* -S */
static unsigned long qid_counter = 0x1000;

double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void *
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
bool
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
bool
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
bool
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

bool
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
bool
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
bool
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

/* MAIL, then ABORT: a session whose recipients the MTA rejected. */
bool
mconn_mail_abort(struct mconn *mc)
{
	char buf[1024], addr[600];
	size_t n;

	snprintf(addr, sizeof(addr), "<%s>", opt_from);
	if (!mc->done && !(mc->proto & SMFIP_NOMAIL)) {
		n = nul_list(buf, sizeof(buf), 2, "{mail_addr}", opt_from);
		if (!macro(mc, 'M', buf, n) || !stage(mc, 'M', addr, strlen(addr) + 1, SMFIP_NR_MAIL, NULL))
			return false;
	}
	return put(mc->fd, 'A', NULL, 0);
}

void
mconn_close(struct mconn *mc)
{
	if (mc->fd >= 0) {
		(void)put(mc->fd, 'Q', NULL, 0);
		close(mc->fd);
	}
	mc->fd = -1;
}
