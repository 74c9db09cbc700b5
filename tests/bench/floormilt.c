/*
 * floormilt.c - the least a milter can do per connection: the floor.
 *
 * Owns: a milter that verifies nothing and keeps no state beyond the
 * framing, negotiating what alignmilter negotiates (the same no-reply and
 * no-stage flags, so the MTA sends it the same packets and waits for the
 * same replies: the negotiation and each end of message), answering
 * "continue" to end of message and closing at QUIT.  What it costs per
 * connection is the kernel's part (accept, TCP, wake-ups, close) and the
 * threading model's, which no milter of that model can go below:
 *
 *   floormilt -t PORT   one thread per connection, idle threads waiting
 *                       in accept() themselves, TCP_DEFER_ACCEPT - the
 *                       model of alignmilter's native engine
 *   floormilt -e PORT   one thread, epoll, non-blocking sockets - an event
 *                       loop, where one wake-up may serve many connections
 *
 * Listens on 127.0.0.1:PORT.  Runs until killed.  For the benchmark only
 * (tests/bench/run.sh builds it and conncost.py drives it through Postfix
 * like the milters it is the floor of).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* alignmilter's negotiation (milter/mproto.h, mproto.c), so the MTA sends and awaits the same. */
#define WANT_PROTOCOL	(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | \
	SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)
#define ACTIONS		(SMFIF_ADDHDRS | SMFIF_CHGHDRS)
#define BUFSZ		(1024 * 1024 + 16)
#define OUTSZ		4096

struct conn {
	int	fd;
	uint32_t proto;			/* the flags agreed */
	size_t	len;
	unsigned char buf[BUFSZ];
};

static int listen_fd;

static void
put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Does the MTA wait for a reply to cmd under the flags agreed? */
static bool
wants_reply(unsigned char cmd, uint32_t proto)
{
	switch (cmd) {
	case SMFIC_BODYEOB:	return true;
	case SMFIC_CONNECT:	return !(proto & SMFIP_NR_CONN);
	case SMFIC_HELO:	return !(proto & SMFIP_NR_HELO);
	case SMFIC_MAIL:	return !(proto & SMFIP_NR_MAIL);
	case SMFIC_RCPT:	return !(proto & SMFIP_NR_RCPT);
	case SMFIC_DATA:	return !(proto & SMFIP_NR_DATA);
	case SMFIC_HEADER:	return !(proto & SMFIP_NR_HDR);
	case SMFIC_EOH:		return !(proto & SMFIP_NR_EOH);
	case SMFIC_BODY:	return !(proto & SMFIP_NR_BODY);
	case SMFIC_UNKNOWN:	return !(proto & SMFIP_NR_UNKN);
	default:		return false;	/* macros, abort, quit, quit_nc */
	}
}

/* Handle the complete packets in c->buf; out gets the replies.  -1: close. */
static int
handle(struct conn *c, unsigned char *out, size_t *outlen)
{
	size_t off = 0;
	int rc = 0;

	*outlen = 0;
	while (c->len - off >= 5) {
		uint32_t plen = get32(c->buf + off);
		unsigned char cmd = c->buf[off + 4];

		if (plen == 0 || plen > BUFSZ - 4)
			return -1;
		if (c->len - off < 4 + plen)
			break;
		if (cmd == SMFIC_OPTNEG && plen >= 13 && *outlen + 17 <= OUTSZ) {
			c->proto = get32(c->buf + off + 13) & WANT_PROTOCOL;
			put32(out + *outlen, 13);
			out[*outlen + 4] = SMFIC_OPTNEG;
			put32(out + *outlen + 5, 6);
			put32(out + *outlen + 9, ACTIONS);
			put32(out + *outlen + 13, c->proto);
			*outlen += 17;
		} else if (wants_reply(cmd, c->proto) && *outlen + 5 <= OUTSZ) {
			put32(out + *outlen, 1);
			out[*outlen + 4] = SMFIR_CONTINUE;
			*outlen += 5;
		} else if (cmd == SMFIC_QUIT) {
			rc = -1;
			off += 4 + plen;
			break;
		}
		off += 4 + plen;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return rc;
}

static void
send_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static int idle = 1;		/* threads waiting in accept(), under idle_lock */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;

/* Serve connection after connection; as alignmilter, a thread taking the last idle slot starts another. */
static void *
threaded(void *arg)
{
	struct conn *c = malloc(sizeof(*c));
	unsigned char out[OUTSZ];
	pthread_t tid;
	size_t outlen;
	bool spawn, done = false;

	(void)arg;
	while (!done) {
		c->fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c->fd < 0)
			continue;
		pthread_mutex_lock(&idle_lock);
		spawn = --idle == 0;
		if (spawn)
			idle++;
		pthread_mutex_unlock(&idle_lock);
		if (spawn && pthread_create(&tid, NULL, threaded, NULL) == 0)
			pthread_detach(tid);
		c->len = 0;
		c->proto = 0;
		for (;;) {
			ssize_t n = read(c->fd, c->buf + c->len, BUFSZ - c->len);
			int rc;

			if (n <= 0)
				break;
			c->len += (size_t)n;
			rc = handle(c, out, &outlen);
			if (outlen > 0)
				send_all(c->fd, out, outlen);
			if (rc < 0)
				break;
		}
		close(c->fd);
		pthread_mutex_lock(&idle_lock);
		done = arg == NULL && idle >= 16;
		if (!done)
			idle++;
		pthread_mutex_unlock(&idle_lock);
	}
	free(c);
	return NULL;
}

static void
evloop(void)
{
	struct epoll_event ev, evs[64];
	unsigned char out[OUTSZ];
	size_t outlen;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
	for (;;) {
		int k = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

				if (fd < 0)
					continue;
				c = malloc(sizeof(*c));
				c->fd = fd;
				c->proto = 0;
				c->len = 0;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			ssize_t n = read(c->fd, c->buf + c->len, BUFSZ - c->len);
			int rc = -1;

			if (n < 0 && errno == EAGAIN)
				continue;
			if (n > 0) {
				c->len += (size_t)n;
				rc = handle(c, out, &outlen);
				if (outlen > 0)
					send_all(c->fd, out, outlen);
			}
			if (rc < 0) {
				close(c->fd);	/* leaves the epoll set */
				free(c);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int on = 1, secs = 5;

	if (argc != 3 || (strcmp(argv[1], "-t") != 0 && strcmp(argv[1], "-e") != 0)) {
		fprintf(stderr, "usage: floormilt -t|-e PORT\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(listen_fd, SOMAXCONN) != 0) {
		perror("floormilt: listen");
		return 1;
	}
	if (strcmp(argv[1], "-t") == 0) {
		setsockopt(listen_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
		threaded(&on);	/* the permanent thread */
	}
	evloop();
	return 0;
}
