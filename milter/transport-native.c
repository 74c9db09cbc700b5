/*
 * transport-native.c - the native milter transport (see transport.h).
 *
 * Owns: the listener, the threads that serve MTA connections, the
 * registry of connections (for the stop), and each connection's socket
 * I/O.  What a connection's bytes mean - framing, negotiation, the
 * session, the replies - is mconn.c's; how many connections are served
 * at once is connlimit.c's.
 *
 * Why not libmilter's loop: libmilter reads each command with its own
 * poll, two reads and a hand-off between its listener thread and a
 * worker, so a message costs ~130 system calls and dozens of context
 * switches - most of the milter's CPU.  Here one thread owns one MTA
 * connection from accept to close: it reads whatever the MTA has sent
 * (under the no-reply flags Postfix pipelines many commands), handles
 * every complete packet in the buffer, and writes all replies of the
 * batch at once.  Idle threads wait in accept(2) themselves, so a new
 * connection costs no hand-off either (on TCP, accept returns only once
 * the MTA's negotiation is there: one wake-up, not two); a thread that
 * takes the last idle slot starts a new one.  A thread keeps its
 * am_mconn (buffers) from one connection to the next, and the peer's
 * address becomes text only if a log line names it, so a connection
 * allocates no more than its session (callgrind: 7,700 -> 3,500
 * instructions per connection).
 *
 * Why not an event loop (workers in epoll_wait, connections armed one
 * shot at a time, none holding a thread while it waits for its MTA):
 * tried, and each wait then costs an epoll_ctl and an epoll_wait besides
 * the read: per connection 72-91 us instead of 54-65 us one client at a
 * time, 55-64 instead of 39-41 with four (miltdrive, same runs), while
 * the least a milter of either model can do (tests/bench/floormilt.c)
 * cost 47-65 and 36-42 us.  What it would save is a waiting
 * connection's stack, 8 KiB resident.
 *
 * The cap (MaxConnections): a connection over it is accepted and closed
 * at once, so the MTA sees the connection end, applies its
 * milter_default_action without waiting for a timeout, and the backlog
 * never fills.  One thread always stays in accept() for that: threads
 * number at most the cap + MAX_IDLE_THREADS.
 *
 * Timeouts (man alignmilter.8, LIMITS): a connection silent for
 * IDLE_TIMEOUT_SECONDS is closed.  Postfix keeps its milter connection
 * for the whole SMTP session and leaves it silent while it waits for the
 * client (smtpd_timeout, 300 s, per command) and while the message
 * arrives (the milter gets it once it is all there: with
 * smtpd_per_request_deadline, on under stress, at most smtpd_timeout +
 * message_size_limit / smtpd_min_data_rate, 20,780 s by default).  A day
 * is longer than both, so a live session is never cut; a peer host that
 * vanished is found by TCP keepalive, and a local user gains nothing from
 * a short limit (a byte now and then keeps any connection open: the cap
 * bounds them).  A reply the MTA does not read within
 * WRITE_TIMEOUT_SECONDS closes the connection: Postfix waits at most
 * milter_content_timeout (300 s) for one, so it gave up long before.
 *
 * Stop: the listener is shut down (waking every accept), connections
 * waiting for the MTA are shut down (the MTA applies its default action
 * and retries - nothing lost), and a batch being handled runs to its end
 * so a verdict in progress still reaches the MTA.
 *
 * Errors: a protocol error (mconn.c), a failed read or write, an MTA
 * idle for IDLE_TIMEOUT_SECONDS or not reading for WRITE_TIMEOUT_SECONDS
 * closes that connection alone and is logged (am_log: LOG_WARNING,
 * LOG_NOTICE for the timeouts).  A thread that
 * cannot start (LOG_ERR), accept() failing (LOG_ERR, once per run of
 * failures) or the cap reached (connlimit.c, once per burst) never stops
 * the listener.  Out of memory aborts.
 *
 * Threads: one thread per MTA connection owns its struct nconn; the
 * registry and the thread counts are under one mutex, `stopping` and
 * each connection's `reading` are atomic; stop() may come from any thread.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
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
#include "connlimit.h"
#include "listen.h"
#include "mconn.h"
#include "transport.h"

/* Seconds an MTA connection may stay silent: longer than a live Postfix session's silences. */
#define IDLE_TIMEOUT_SECONDS	86400
/* Seconds a reply may wait for the MTA to read it: twice milter_content_timeout. */
#define WRITE_TIMEOUT_SECONDS	600
/* Seconds the kernel holds a TCP connection that has sent nothing before accept() sees it. */
#define DEFER_ACCEPT_SECONDS	5
/* Threads kept waiting in accept() beyond those serving connections. */
#define MAX_IDLE_THREADS	16
/*
 * After a burst of at least TRIM_PEAK connections has fallen to a
 * quarter, the heap they used is handed back to the kernel.  glibc
 * returns free memory in its per-thread arenas only when asked
 * (malloc_trim): measured, 1,000 messages in flight left 110 MB resident
 * after they ended, 27 MB with the trim.  Not under a steady load: the
 * peak then stays where it is.  And when the last connection ends, at
 * most once per TRIM_QUIET_SECONDS: the heap of a steady stream stays
 * too, freed but resident in the arenas (measured: 12,000 messages, 4 at
 * a time, left 22.4 MB; 15.7 MB after the trim), so a milter gone quiet
 * gives it back.  Its cost (a walk of the free chunks, the pages faulted
 * in again) once a second at most is noise; a milter never quiet never
 * pays it.
 */
#define TRIM_PEAK		64
#define TRIM_QUIET_SECONDS	1
/*
 * A connection thread's stack.  The deepest path (RSA verification in
 * OpenSSL under libopendkim, libspf2's include recursion) touches under
 * 40 KiB (measured: /proc/PID/smaps under the benchmark's load; the e2e,
 * robust and connlimit tests run on it);
 * glibc's default, RLIMIT_STACK (8 MiB), would reserve 8 GiB of address
 * space for 1,000 connections.  AddressSanitizer's frames are several
 * times larger: its builds keep a larger stack.
 */
#if defined(__SANITIZE_ADDRESS__)		/* gcc */
#define THREAD_STACK_SIZE	(2 * 1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)		/* clang */
#define THREAD_STACK_SIZE	(2 * 1024 * 1024)
#endif
#endif
#ifndef THREAD_STACK_SIZE
#define THREAD_STACK_SIZE	(256 * 1024)
#endif

struct nconn {
	int	fd;
	atomic_bool reading;		/* waiting for the MTA (stop may shut it down) */
	struct nconn *next, *prev;	/* registry, for stop */
	am_mconn *conversation;		/* the thread's, reused connection after connection */
};

static am_pipeline *pipeline;
static int listen_fd = -1;
static bool listen_tcp;			/* accepted sockets are TCP */
static atomic_bool stopping;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned threads, idle;		/* under lock */
static unsigned max_threads;		/* the cap + MAX_IDLE_THREADS, set by run() */
static struct nconn *conns;		/* under lock */
static unsigned busy_peak;		/* under lock: most connections served at once lately */
static time_t quiet_trimmed;		/* under lock: when the last connection's end last trimmed */
static bool warned_max;

/*
 * Bound every read and write, and probe an idle TCP peer (keepalive);
 * accepted TCP sockets inherit all of it from the listener.
 */
static void
set_timeouts(int fd, bool tcp)
{
	struct timeval rd = { IDLE_TIMEOUT_SECONDS, 0 }, wr = { WRITE_TIMEOUT_SECONDS, 0 };
	int on = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rd, sizeof(rd));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wr, sizeof(wr));
	if (tcp)
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

/*
 * An MTA writes its negotiation as soon as it has connected: have
 * accept() return only then, so the thread wakes once for both instead
 * of once for the connection and again for its first bytes (measured,
 * miltdrive: 80 -> 67 us of milter CPU per connection).  A TCP peer that
 * never sends stays in the kernel, holding no thread and no slot of the
 * cap, until DEFER_ACCEPT_SECONDS have passed and it answers the
 * kernel's retransmitted SYN-ACK.
 */
static void
defer_accept(int fd)
{
	int secs = DEFER_ACCEPT_SECONDS;

	if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)) != 0)
		am_log(LOG_NOTICE, "TCP_DEFER_ACCEPT on the milter socket: %s (connections cost a wake-up more)",
		    strerror(errno));
}

static bool
native_open(const struct am_conf *c, char *err, size_t errlen)
{
	listen_fd = am_listen_open(c, err, errlen);
	listen_tcp = c->sockspec.family != AM_SOCK_UNIX;
	if (listen_fd >= 0 && listen_tcp) {
		set_timeouts(listen_fd, true);
		defer_accept(listen_fd);
	}
	return listen_fd >= 0;
}

/* ---- connection registry (under lock, with the thread counts) ------------- */

static void
conn_register_locked(struct nconn *m)
{
	m->next = conns;
	m->prev = NULL;
	if (conns != NULL)
		conns->prev = m;
	conns = m;
}

static void
conn_unregister_locked(struct nconn *m)
{
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		conns = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
}

/*
 * Between batches, without the registry lock: the stop sets `stopping`
 * and then shuts down every connection it finds reading; a connection
 * sets `reading` and then looks at `stopping`.  With sequentially
 * consistent atomics one of the two always sees the other, so no
 * connection is left waiting for the MTA after a stop.  false: stopping.
 */
static bool
conn_set_reading(struct nconn *m, bool reading)
{
	atomic_store(&m->reading, reading);
	return !atomic_load(&stopping);
}

/* ---- I/O ---------------------------------------------------------------- */

static bool
write_all(struct nconn *m)
{
	size_t off = 0, len;
	const char *out = am_mconn_out(m->conversation, &len);
	ssize_t n;

	while (off < len) {
		n = send(m->fd, out + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			am_log(LOG_NOTICE, "milter connection from %s: no reply read for %d s: closing it",
			    am_mconn_peer(m->conversation), WRITE_TIMEOUT_SECONDS);
			return false;
		}
		if (n <= 0) {
			am_log(LOG_WARNING, "milter connection from %s: write: %s", am_mconn_peer(m->conversation),
			    n < 0 ? strerror(errno) : "nothing written");
			return false;
		}
		off += (size_t)n;
	}
	am_mconn_sent(m->conversation);
	return true;
}

/*
 * Under the no-reply flags the MTA writes command after command without
 * waiting for us, and Nagle holds each small write until the previous
 * one is acknowledged; with no answer to carry it, our ACK would be
 * delayed ~40 ms (measured: 320 instead of 510-660 msg/s at C=16).
 * Acknowledge at once instead.
 */
static void
ack_now(const struct nconn *m)
{
	int on = 1;

	if (listen_tcp)
		(void)setsockopt(m->fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

static void
serve(struct nconn *m)
{
	size_t room, pending;
	ssize_t n;
	char *space;

	for (;;) {
		space = am_mconn_space(m->conversation, &room);
		n = read(m->fd, space, room);
		if (n < 0 && errno == EINTR)
			continue;
		(void)conn_set_reading(m, false);	/* a batch in progress outlives a stop */
		if (n == 0)
			return;			/* the MTA closed (or stop shut us down) */
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				am_log(LOG_NOTICE, "milter connection from %s: idle for %d s: closing it",
				    am_mconn_peer(m->conversation), IDLE_TIMEOUT_SECONDS);
			else if (errno != ECONNRESET)
				am_log(LOG_WARNING, "milter connection from %s: read: %s",
				    am_mconn_peer(m->conversation), strerror(errno));
			return;
		}
		if (am_mconn_feed(m->conversation, (size_t)n) == AM_MCONN_CLOSE) {
			(void)write_all(m);	/* replies before a QUIT still go out */
			return;
		}
		(void)am_mconn_out(m->conversation, &pending);
		if (pending > 0) {
			if (!write_all(m))
				return;
		} else {
			ack_now(m);
		}
		if (!conn_set_reading(m, true))
			return;
	}
}

/* m is registered; the caller unregisters it, then closes it (stop() may shut down a registered m->fd). */
static void
serve_connection(struct nconn *m, const struct sockaddr_storage *peer)
{
	am_mconn_begin(m->conversation, peer);
	if (!listen_tcp)
		set_timeouts(m->fd, false);
	if (conn_set_reading(m, true))		/* not when accepted as the stop began */
		serve(m);
	am_mconn_end(m->conversation);
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

	if (threads >= max_threads) {	/* unreachable while the cap holds */
		if (!warned_max)
			am_log(LOG_WARNING, "%u threads for MTA connections: no more started", max_threads);
		warned_max = true;
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void)pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
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

/*
 * A connection just ended (done: its thread ends too): has a burst
 * fallen to a quarter, or has the milter gone quiet?
 */
static bool
trim_due_locked(bool done)
{
	unsigned busy = threads - idle - (done ? 1 : 0);
	time_t now;

	if (busy_peak >= TRIM_PEAK && busy <= busy_peak / 4) {
		busy_peak = busy;
		return true;
	}
	if (busy > 0 || (now = time(NULL)) - quiet_trimmed < TRIM_QUIET_SECONDS)
		return false;
	quiet_trimmed = now;
	return true;
}

/* accept() failed: logged once until an accept succeeds again. */
static atomic_bool accept_warned;

static bool
accept_failed(int err)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	if (atomic_load(&stopping))
		return true;
	/* EAGAIN: the listener's SO_RCVTIMEO (inherited by accepted sockets) bounds accept() too. */
	if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EAGAIN || err == EWOULDBLOCK)
		return false;
	/* Out of descriptors or memory: say so once, back off, go on. */
	if (!atomic_exchange(&accept_warned, true))
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
	struct nconn m;
	socklen_t len;
	bool done, trim;
	int fd;

	memset(&m, 0, sizeof(m));
	atomic_init(&m.reading, false);
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
		atomic_store(&accept_warned, false);
		/* Over the cap: closed at once, the MTA applies milter_default_action. */
		if (!am_connlimit_admit()) {
			close(fd);
			continue;
		}
		/* Made at the thread's first connection, kept for its next ones. */
		if (m.conversation == NULL)
			m.conversation = am_mconn_new(pipeline, "");
		m.fd = fd;
		pthread_mutex_lock(&lock);
		idle--;
		if (idle == 0 && !atomic_load(&stopping))
			spawn_locked();
		conn_register_locked(&m);
		if (threads - idle > busy_peak)
			busy_peak = threads - idle;
		pthread_mutex_unlock(&lock);

		serve_connection(&m, &peer);

		pthread_mutex_lock(&lock);
		conn_unregister_locked(&m);
		atomic_store(&m.reading, false);
		done = atomic_load(&stopping) || (permanent == NULL && idle >= MAX_IDLE_THREADS);
		if (!done)
			idle++;
		trim = trim_due_locked(done);
		pthread_mutex_unlock(&lock);
		close(m.fd);			/* unregistered: stop() no longer sees it */
		am_connlimit_release();
		if (trim)
			(void)malloc_trim(0);
		if (done) {
			pthread_mutex_lock(&lock);
			break;
		}
	}
	am_mconn_free(m.conversation);
	threads--;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int
native_run(am_pipeline *e, unsigned max_connections)
{
	static int permanent;

	pipeline = e;
	pthread_mutex_lock(&lock);
	max_threads = max_connections + MAX_IDLE_THREADS;
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
	struct nconn *m;

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
