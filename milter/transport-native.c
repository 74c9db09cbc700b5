/*
 * transport-native.c - the native milter transport (see transport.h).
 *
 * Owns: the listener, the threads that serve MTA connections, and each
 * connection's protocol state: input buffer, negotiated flags, the
 * macros we keep, and the replies of one batch.
 *
 * Why not libmilter's loop: libmilter reads each command with its own
 * poll, two reads and a hand-off between its listener thread and a
 * worker, so a message costs ~130 system calls and dozens of context
 * switches - most of the milter's CPU.  Here one thread owns one MTA
 * connection from accept to close: it reads whatever the MTA has sent
 * (under the no-reply flags Postfix pipelines many commands), handles
 * every complete packet in the buffer, and writes all replies of the
 * batch at once.  Idle threads wait in accept(2) themselves, so a new
 * connection costs no hand-off either; a thread that takes the last
 * idle slot starts a new one.
 *
 * Stop: the listener is shut down (waking every accept), connections
 * waiting for the MTA are shut down (the MTA applies its default action
 * and retries - nothing lost), and a batch being handled runs to its end
 * so a verdict in progress still reaches the MTA.
 *
 * Errors: a protocol error, a failed read or write, or an MTA idle for
 * IDLE_TIMEOUT_SECONDS closes that connection alone and is logged (am_log:
 * LOG_WARNING, LOG_NOTICE when idle); so is a negotiation the MTA cannot
 * satisfy (LOG_ERR).  A thread that cannot start (LOG_ERR), accept()
 * failing (LOG_ERR, once) or MAX_THREADS reached (LOG_WARNING, once)
 * never stops the listener.  Out of memory aborts.
 *
 * Threads: one thread per MTA connection owns its struct mconn; the
 * registry and the thread counts are under one mutex, `stopping` and
 * each connection's `reading` are atomic; stop() may come from any thread.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* Application-specific. */
#include "listen.h"
#include "mproto.h"
#include "session.h"
#include "transport.h"

/* Seconds an MTA connection may stay silent (libmilter's default too). */
#define IDLE_TIMEOUT_SECONDS	7210
/* Threads kept waiting in accept() beyond those serving connections. */
#define MAX_IDLE_THREADS	16
#define MAX_THREADS		4096
#define INPUT_START		(16 * 1024)

struct mconn {
	int	fd;
	bool	tcp;
	atomic_bool reading;		/* waiting for the MTA (stop may shut it down) */
	struct mconn *next, *prev;	/* registry, for stop */
	am_session *session;		/* after negotiation */
	struct am_moptneg proto;	/* what was negotiated */
	char	*in;			/* unparsed input */
	size_t	inlen, incap;
	struct am_buf out;		/* replies of this batch */
	struct am_buf mail_macros;	/* macro packet data for MAIL and EOM */
	struct am_buf eom_macros;
	char	peer[64];		/* for log lines */
};

static am_pipeline *pipeline;
static int listen_fd = -1;
static bool listen_tcp;			/* accepted sockets are TCP */
static atomic_bool stopping;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned threads, idle;		/* under lock */
static struct mconn *conns;		/* under lock */
static bool warned_max;

/* Bound every read and write; accepted TCP sockets inherit this from the listener. */
static void
set_timeouts(int fd)
{
	struct timeval tv = { IDLE_TIMEOUT_SECONDS, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static bool
native_open(const struct am_conf *c, char *err, size_t errlen)
{
	listen_fd = am_listen_open(c, err, errlen);
	listen_tcp = c->sockspec.family != AM_SOCK_UNIX;
	if (listen_fd >= 0 && listen_tcp)
		set_timeouts(listen_fd);
	return listen_fd >= 0;
}

/* ---- connection registry ------------------------------------------------ */

static void
conn_register(struct mconn *m)
{
	pthread_mutex_lock(&lock);
	m->next = conns;
	if (conns != NULL)
		conns->prev = m;
	conns = m;
	pthread_mutex_unlock(&lock);
}

static void
conn_unregister(struct mconn *m)
{
	pthread_mutex_lock(&lock);
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		conns = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	pthread_mutex_unlock(&lock);
}

/*
 * Between batches, without the registry lock: the stop sets `stopping`
 * and then shuts down every connection it finds reading; a connection
 * sets `reading` and then looks at `stopping`.  With sequentially
 * consistent atomics one of the two always sees the other, so no
 * connection is left waiting for the MTA after a stop.  false: stopping.
 */
static bool
conn_set_reading(struct mconn *m, bool reading)
{
	atomic_store(&m->reading, reading);
	return !atomic_load(&stopping);
}

/* ---- edits and replies -------------------------------------------------- */

static bool
edit_delete(void *arg, const char *name, unsigned index)
{
	am_mproto_put_header(&((struct mconn *)arg)->out, SMFIR_CHGHEADER, index, name, NULL);
	return true;
}

static bool
edit_insert(void *arg, const char *name, const char *value)
{
	am_mproto_put_header(&((struct mconn *)arg)->out, SMFIR_INSHEADER, 0, name, value);
	return true;
}

static bool
edit_quarantine(void *arg, const char *reason)
{
	am_mproto_put_string(&((struct mconn *)arg)->out, SMFIR_QUARANTINE, reason);
	return true;
}

static void
reply_action(struct mconn *m, enum am_session_action a)
{
	char text[640];

	switch (a) {
	case AM_SESSION_ACCEPT:
		am_mproto_put(&m->out, SMFIR_ACCEPT, NULL, 0);
		break;
	case AM_SESSION_REJECT:
		snprintf(text, sizeof(text), "550 5.7.1 %s", am_session_reply_text(m->session));
		am_mproto_put_string(&m->out, SMFIR_REPLYCODE, text);
		break;
	case AM_SESSION_TEMPFAIL:
		am_mproto_put(&m->out, SMFIR_TEMPFAIL, NULL, 0);
		break;
	default:
		am_mproto_put(&m->out, SMFIR_CONTINUE, NULL, 0);
		break;
	}
}

/* Continue, for a command that wants a reply. */
static void
reply_continue(struct mconn *m, unsigned char cmd)
{
	if (am_mproto_wants_reply(cmd, m->proto.protocol))
		am_mproto_put(&m->out, SMFIR_CONTINUE, NULL, 0);
}

/* ---- the commands ------------------------------------------------------- */

enum handled { GO_ON, CLOSE };

static enum handled
protocol_error(struct mconn *m, const char *what, unsigned char cmd)
{
	am_log(LOG_WARNING, "milter connection from %s: %s (command 0x%02x): closing it",
	    m->peer, what, cmd);
	return CLOSE;
}

static enum handled
on_optneg(struct mconn *m, const struct am_mpacket *p)
{
	struct am_moptneg mta;
	uint32_t need = AM_MPROTO_NEED_ACTIONS(am_pipeline_conf(pipeline)->reject_failures);
	char err[256];
	bool symlist;

	if (!am_mproto_parse_optneg(p, &mta))
		return protocol_error(m, "malformed option negotiation", p->cmd);
	if (!am_mproto_negotiate(&mta, need, &m->proto, &symlist, err, sizeof(err))) {
		am_log(LOG_ERR, "milter connection from %s: %s", m->peer, err);
		return CLOSE;
	}
	am_session_free(m->session);
	m->session = am_session_new(pipeline, (m->proto.protocol & SMFIP_HDR_LEADSPC) != 0);
	am_mproto_put_optneg(&m->out, &m->proto, symlist);
	return GO_ON;
}

static enum handled
on_connect(struct mconn *m, const struct am_mpacket *p)
{
	struct am_mconnect c;
	const char *ip = NULL;
	enum am_session_action a;

	if (!am_mproto_parse_connect(p, &c))
		return protocol_error(m, "malformed connect information", p->cmd);
	if (c.family == SMFIA_INET || c.family == SMFIA_INET6)
		ip = c.address;
	a = am_session_connect(m->session, ip);
	if (am_mproto_wants_reply(p->cmd, m->proto.protocol))
		reply_action(m, a);
	return GO_ON;
}

static void
keep_macros(struct mconn *m, const struct am_mpacket *p)
{
	unsigned char stage;

	if (!am_mproto_parse_macros(p, &stage))
		return;
	if (stage == SMFIC_MAIL) {
		am_buf_reset(&m->mail_macros);
		am_buf_add(&m->mail_macros, p->data, p->len);
	} else if (stage == SMFIC_BODYEOB) {
		am_buf_reset(&m->eom_macros);
		am_buf_add(&m->eom_macros, p->data, p->len);
	}
}

static const char *
queue_id(const struct mconn *m)
{
	const char *qid = NULL;

	if (m->eom_macros.len > 0)
		qid = am_mproto_macro(m->eom_macros.data, m->eom_macros.len, "i");
	if (qid == NULL && m->mail_macros.len > 0)
		qid = am_mproto_macro(m->mail_macros.data, m->mail_macros.len, "i");
	return qid;
}

static void
message_over(struct mconn *m)
{
	am_buf_reset(&m->mail_macros);
	am_buf_reset(&m->eom_macros);
}

static enum handled
on_eom(struct mconn *m, const struct am_mpacket *p)
{
	struct am_session_edits edits = { edit_delete, edit_insert, edit_quarantine, m };

	if (p->len > 0)			/* a final body chunk may ride along */
		am_session_body(m->session, (const unsigned char *)p->data, p->len);
	reply_action(m, am_session_eom(m->session, queue_id(m), &edits));
	message_over(m);
	return GO_ON;
}

static enum handled
on_string_command(struct mconn *m, const struct am_mpacket *p)
{
	const char *s, *value;

	switch (p->cmd) {
	case SMFIC_HELO:
		if (!am_mproto_parse_string(p, &s))
			return protocol_error(m, "malformed HELO", p->cmd);
		am_session_helo(m->session, s);
		break;
	case SMFIC_MAIL:
		if (!am_mproto_parse_string(p, &s))
			return protocol_error(m, "malformed MAIL FROM", p->cmd);
		am_session_mail(m->session, s);
		break;
	case SMFIC_HEADER:
		if (!am_mproto_parse_header(p, &s, &value))
			return protocol_error(m, "malformed header", p->cmd);
		am_session_header(m->session, s, value);
		break;
	}
	reply_continue(m, p->cmd);
	return GO_ON;
}

static enum handled
handle(struct mconn *m, const struct am_mpacket *p)
{
	if (p->cmd == SMFIC_OPTNEG)
		return on_optneg(m, p);
	if (p->cmd == SMFIC_QUIT)
		return CLOSE;
	if (m->session == NULL)
		return protocol_error(m, "command before option negotiation", p->cmd);
	switch (p->cmd) {
	case SMFIC_MACRO:
		keep_macros(m, p);
		return GO_ON;
	case SMFIC_CONNECT:
		return on_connect(m, p);
	case SMFIC_HELO:
	case SMFIC_MAIL:
	case SMFIC_HEADER:
		return on_string_command(m, p);
	case SMFIC_RCPT:
	case SMFIC_DATA:
	case SMFIC_UNKNOWN:
		reply_continue(m, p->cmd);
		return GO_ON;
	case SMFIC_EOH:
		am_session_eoh(m->session);
		reply_continue(m, p->cmd);
		return GO_ON;
	case SMFIC_BODY:
		am_session_body(m->session, (const unsigned char *)p->data, p->len);
		reply_continue(m, p->cmd);
		return GO_ON;
	case SMFIC_BODYEOB:
		return on_eom(m, p);
	case SMFIC_ABORT:
		am_session_abort(m->session);
		message_over(m);
		return GO_ON;
	case SMFIC_QUIT_NC:		/* the same socket serves the MTA's next connection */
		am_session_free(m->session);
		m->session = am_session_new(pipeline, (m->proto.protocol & SMFIP_HDR_LEADSPC) != 0);
		message_over(m);
		return GO_ON;
	default:
		return protocol_error(m, "unknown command", p->cmd);
	}
}

/* ---- I/O ---------------------------------------------------------------- */

static bool
write_all(struct mconn *m)
{
	size_t off = 0;
	ssize_t n;

	while (off < m->out.len) {
		n = send(m->fd, m->out.data + off, m->out.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			am_log(LOG_WARNING, "milter connection from %s: write: %s", m->peer,
			    n < 0 ? strerror(errno) : "nothing written");
			return false;
		}
		off += (size_t)n;
	}
	am_buf_reset(&m->out);
	return true;
}

/* Handle every complete packet in the buffer; keep the rest. */
static enum handled
handle_batch(struct mconn *m)
{
	struct am_mpacket p;
	size_t off = 0, used;
	enum am_mframe f;

	while ((f = am_mproto_frame(m->in + off, m->inlen - off, &p, &used)) == AM_MFRAME_PACKET) {
		off += used;
		if (handle(m, &p) == CLOSE)
			return CLOSE;
	}
	if (f == AM_MFRAME_INVALID)
		return protocol_error(m, "packet length out of range", 0);
	memmove(m->in, m->in + off, m->inlen - off);
	m->inlen -= off;
	if (used > m->incap) {		/* a packet larger than the buffer: grow to fit */
		m->incap = used;
		m->in = am_xreallocarray(m->in, m->incap, 1);
	}
	return GO_ON;
}

/*
 * Under the no-reply flags the MTA writes command after command without
 * waiting for us, and Nagle holds each small write until the previous
 * one is acknowledged; with no answer to carry it, our ACK would be
 * delayed ~40 ms (measured: 320 instead of 510-660 msg/s at C=16).
 * Acknowledge at once instead.
 */
static void
ack_now(const struct mconn *m)
{
	int on = 1;

	if (m->tcp)
		(void)setsockopt(m->fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

static void
serve(struct mconn *m)
{
	ssize_t n;

	for (;;) {
		if (m->inlen == m->incap) {	/* unreachable: handle_batch grows first */
			protocol_error(m, "input buffer full", 0);
			return;
		}
		n = read(m->fd, m->in + m->inlen, m->incap - m->inlen);
		if (n < 0 && errno == EINTR)
			continue;
		(void)conn_set_reading(m, false);	/* a batch in progress outlives a stop */
		if (n == 0)
			return;			/* the MTA closed (or stop shut us down) */
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				am_log(LOG_NOTICE, "milter connection from %s: idle for %d s: closing it",
				    m->peer, IDLE_TIMEOUT_SECONDS);
			else if (errno != ECONNRESET)
				am_log(LOG_WARNING, "milter connection from %s: read: %s", m->peer, strerror(errno));
			return;
		}
		m->inlen += (size_t)n;
		if (handle_batch(m) == CLOSE) {
			(void)write_all(m);	/* replies before a QUIT still go out */
			return;
		}
		if (m->out.len > 0) {
			if (!write_all(m))
				return;
		} else {
			ack_now(m);
		}
		if (!conn_set_reading(m, true))
			return;
	}
}

static void
peer_text(const struct sockaddr_storage *ss, char *buf, size_t buflen)
{
	char host[48];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host)) != NULL)
		snprintf(buf, buflen, "%s:%u", host, ntohs(((const struct sockaddr_in *)ss)->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host)) != NULL)
		snprintf(buf, buflen, "[%s]:%u", host, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	else
		am_strlcpy(buf, "the unix socket", buflen);
}

static void
serve_connection(int fd, const struct sockaddr_storage *peer)
{
	struct mconn m;

	memset(&m, 0, sizeof(m));
	m.fd = fd;
	m.tcp = listen_tcp;
	m.incap = INPUT_START;
	m.in = am_xmalloc(m.incap);
	am_buf_init(&m.out);
	am_buf_init(&m.mail_macros);
	am_buf_init(&m.eom_macros);
	peer_text(peer, m.peer, sizeof(m.peer));
	if (!listen_tcp)
		set_timeouts(fd);

	atomic_init(&m.reading, false);
	conn_register(&m);
	if (conn_set_reading(&m, true))		/* not when accepted as the stop began */
		serve(&m);
	conn_unregister(&m);
	close(fd);
	am_session_free(m.session);
	free(m.in);
	am_buf_free(&m.out);
	am_buf_free(&m.mail_macros);
	am_buf_free(&m.eom_macros);
}

/* ---- threads ------------------------------------------------------------ */

static void *acceptor(void *);

/* Start one more thread waiting in accept(); called with lock held. */
static void
spawn_locked(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	if (threads >= MAX_THREADS) {
		if (!warned_max)
			am_log(LOG_WARNING, "%d MTA connections at once: further ones wait", MAX_THREADS);
		warned_max = true;
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* pthread_create returns its error; it does not set errno. */
	if ((rc = pthread_create(&tid, &attr, acceptor, NULL)) == 0) {
		threads++;
		idle++;
	} else {
		am_log(LOG_ERR, "cannot start a thread for MTA connections: %s", strerror(rc));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

static bool
accept_failed(int err)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	static atomic_bool warned;

	if (atomic_load(&stopping))
		return true;
	if (err == EINTR || err == ECONNABORTED || err == EPROTO)
		return false;
	/* Out of descriptors or memory: say so once, back off, go on. */
	if (!atomic_exchange(&warned, true))
		am_log(LOG_ERR, "accept on the milter socket: %s", strerror(err));
	nanosleep(&pause, NULL);
	return false;
}

/*
 * Wait in accept(), serve, repeat.  permanent: the thread of run(), which
 * ends only with a stop; others end when enough threads are idle.
 */
static void *
acceptor(void *permanent)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(peer);
		fd = accept4(listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (!accept_failed(errno))
				continue;
			pthread_mutex_lock(&lock);
			idle--;
			break;
		}
		pthread_mutex_lock(&lock);
		idle--;
		if (idle == 0 && !atomic_load(&stopping))
			spawn_locked();
		pthread_mutex_unlock(&lock);

		serve_connection(fd, &peer);

		pthread_mutex_lock(&lock);
		if (atomic_load(&stopping) || (permanent == NULL && idle >= MAX_IDLE_THREADS))
			break;
		idle++;
		pthread_mutex_unlock(&lock);
	}
	threads--;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int
native_run(am_pipeline *e)
{
	static int permanent;

	pipeline = e;
	pthread_mutex_lock(&lock);
	threads++;
	idle++;
	pthread_mutex_unlock(&lock);
	(void)acceptor(&permanent);
	return 0;
}

/* Wake every accept() and every connection waiting for the MTA. */
static void
native_stop(void)
{
	struct mconn *m;

	atomic_store(&stopping, true);
	(void)shutdown(listen_fd, SHUT_RDWR);
	pthread_mutex_lock(&lock);
	for (m = conns; m != NULL; m = m->next) {
		if (atomic_load(&m->reading))
			(void)shutdown(m->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&lock);
}

/* After a stop: threads still finishing a batch (they touch the pipeline). */
static unsigned
native_inflight(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = threads;
	pthread_mutex_unlock(&lock);
	return n;
}

const struct am_transport am_transport_native = {
	.name = "native",
	.open = native_open,
	.run = native_run,
	.stop = native_stop,
	.inflight = native_inflight,
	.inflight_what = "connection thread(s)",
};
