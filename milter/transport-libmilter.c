/*
 * transport-libmilter.c - the libmilter transport: libmilter's callbacks
 * fed to the session layer (see transport.h, session.h).  The only module
 * that drives libmilter (version.c only asks its version, and mproto.h
 * shares its constants).
 *
 * Owns: registering with libmilter and opening its socket, the option
 * negotiation, one am_session per connection behind smfi_setpriv, the
 * negotiated flags kept across SMFIC_QUIT_NC (below), and the count of
 * callbacks running (for the stop).
 *
 * The cap (connlimit.h) is applied at negotiation, the first callback of
 * a connection: one over it is refused and libmilter closes it at once
 * (libmilter logs that itself, a line per refusal).  libmilter accepts
 * connections before any callback, so a connection that never
 * negotiates holds a descriptor until libmilter's timeout: the native
 * engine refuses those at accept.
 *
 * Errors: open() returns false with err.  An MTA that will not let us
 * change headers is logged (LOG_ERR) and refused; a connection whose
 * session cannot be attached, or that comes back after QUIT_NC over the
 * cap, gets a tempfail; a listener left without TCP_NODELAY is a
 * LOG_WARNING; a CONNECT after QUIT_NC whose flags were lost (below) is
 * a LOG_WARNING.  Out of memory aborts.
 *
 * Threads: libmilter's: callbacks run on its worker threads, one
 * connection's at a time; `pipeline` is set before smfi_main() starts
 * them, `running` is atomic, the parked flags are under a mutex.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* Application-specific. */
#include "connlimit.h"
#include "listen.h"
#include "mproto.h"
#include "session.h"
#include "transport.h"

static am_pipeline *pipeline;		/* set once before the loop starts */

/* Per-connection state behind smfi_setpriv; each one counts under the cap. */
struct conn {
	unsigned long proto;		/* negotiated SMFIP_* flags */
	am_session *session;
};

/*
 * The negotiated flags across SMFIC_QUIT_NC.  libmilter calls xxfi_close
 * both at QUIT_NC - the connection goes on with a CONNECT and no new
 * negotiation - and when the connection ends, after which it frees the
 * ctx with no callback; the flags live only in its private ctx.  So every
 * close parks the flags under the ctx's address, a connect that finds no
 * private data takes them back, and a negotiation (a new connection,
 * perhaps at a reused address) or a close without private data drops
 * them.  A parked ctx pointer is only compared, never followed.  The
 * table is direct-mapped: a later close mapping to the same slot
 * overwrites it, which matters only between a QUIT_NC and its CONNECT
 * (then every command is answered, as without flags: logged).
 */
#define PARKED_SLOTS	1024

static struct parked {
	const SMFICTX *ctx;
	unsigned long proto;
} parked[PARKED_SLOTS];
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;

static struct parked *
parked_slot(const SMFICTX *ctx)
{
	uint64_t h = (uint64_t)(uintptr_t)ctx * 0x9E3779B97F4A7C15ULL;

	return &parked[(h >> 32) % PARKED_SLOTS];
}

static void
park(const SMFICTX *ctx, unsigned long proto)
{
	struct parked *p = parked_slot(ctx);

	pthread_mutex_lock(&parked_lock);
	p->ctx = ctx;
	p->proto = proto;
	pthread_mutex_unlock(&parked_lock);
}

/* The flags parked for ctx, removed; false if none. */
static bool
unpark(const SMFICTX *ctx, unsigned long *proto)
{
	struct parked *p = parked_slot(ctx);
	bool found;

	pthread_mutex_lock(&parked_lock);
	found = p->ctx == ctx && ctx != NULL;
	if (found) {
		*proto = p->proto;
		p->ctx = NULL;
	}
	pthread_mutex_unlock(&parked_lock);
	return found;
}

static sfsistat
reply(const struct conn *c, unsigned long nr_flag)
{
	return (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
action(enum am_session_action a)
{
	switch (a) {
	case AM_SESSION_ACCEPT:
		return SMFIS_ACCEPT;
	case AM_SESSION_REJECT:
		return SMFIS_REJECT;
	case AM_SESSION_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	default:
		return SMFIS_CONTINUE;
	}
}

/*
 * The connection's state, made at negotiation (and again at the CONNECT
 * after a QUIT_NC); NULL when over the cap or not attached.
 */
static struct conn *
conn_new(SMFICTX *ctx, unsigned long proto)
{
	struct conn *c;

	if (!am_connlimit_admit())
		return NULL;
	c = am_xcalloc(1, sizeof(*c));
	c->proto = proto;
	c->session = am_session_new(pipeline, (proto & SMFIP_HDR_LEADSPC) != 0);
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		am_session_free(c->session);
		free(c);
		am_connlimit_release();
		return NULL;
	}
	return c;
}

static void
conn_free(SMFICTX *ctx, struct conn *c)
{
	(void)smfi_setpriv(ctx, NULL);
	am_session_free(c->session);
	free(c);
	am_connlimit_release();
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long actions = AM_MPROTO_NEED_ACTIONS(am_pipeline_conf(pipeline)->reject_failures);
	unsigned long stale;
	struct conn *c = smfi_getpriv(ctx);

	(void)f2;
	(void)f3;
	(void)unpark(ctx, &stale);		/* a new connection: nothing carries over */
	if (c != NULL)
		conn_free(ctx, c);
	if ((f0 & actions) != actions) {
		am_log(LOG_ERR, "the MTA does not allow adding and changing headers: cannot work");
		return SMFIS_REJECT;
	}
	*pf0 = actions;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		(void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	*pf1 = f1 & AM_MPROTO_WANT_PROTOCOL;
	*pf2 = 0;
	*pf3 = 0;
	/* Over the cap (or not attached): libmilter closes the connection. */
	if (conn_new(ctx, *pf1) == NULL)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static bool
address_text(const _SOCK_ADDR *addr, char *buf, size_t buflen)
{
	const struct sockaddr *sa = (const struct sockaddr *)addr;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, buf, (socklen_t)buflen) != NULL;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, buf, (socklen_t)buflen) != NULL;
	return false;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct conn *c = smfi_getpriv(ctx);
	unsigned long proto = 0;
	char ip[64];

	(void)hostname;
	if (c == NULL) {
		/* After QUIT_NC: the same connection, under the flags negotiated before. */
		if (!unpark(ctx, &proto))
			am_log(LOG_WARNING, "milter connection: CONNECT without its negotiated protocol "
			    "flags: answering every command");
		if ((c = conn_new(ctx, proto)) == NULL)
			return SMFIS_TEMPFAIL;
	}
	return action(am_session_connect(c->session, address_text(addr, ip, sizeof(ip)) ? ip : NULL));
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	am_session_helo(c->session, helo);
	return reply(c, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	am_session_mail(c->session, argv != NULL ? argv[0] : NULL);
	return reply(c, SMFIP_NR_MAIL);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	am_session_header(c->session, name, value);
	return reply(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	am_session_eoh(c->session);
	return reply(c, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	am_session_body(c->session, buf, len);
	return reply(c, SMFIP_NR_BODY);
}

static bool
edit_delete(void *arg, const char *name, unsigned index)
{
	return smfi_chgheader(arg, (char *)name, (int)index, NULL) == MI_SUCCESS;
}

static bool
edit_insert(void *arg, const char *name, const char *value)
{
	return smfi_insheader(arg, 0, (char *)name, (char *)value) == MI_SUCCESS;
}

static bool
edit_quarantine(void *arg, const char *reason)
{
	return smfi_quarantine(arg, (char *)reason) == MI_SUCCESS;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct am_session_edits edits = { edit_delete, edit_insert, edit_quarantine, ctx };
	enum am_session_action a;
	const char *qid;

	if (c == NULL)
		return SMFIS_CONTINUE;
	qid = smfi_getsymval(ctx, "i");
	if (qid == NULL)
		qid = smfi_getsymval(ctx, "{i}");
	a = am_session_eom(c->session, qid, &edits);
	if (a == AM_SESSION_REJECT)
		(void)smfi_setreply(ctx, "550", "5.7.1", (char *)am_session_reply_text(c->session));
	return action(a);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		am_session_abort(c->session);
	return SMFIS_CONTINUE;
}

/*
 * At QUIT_NC and at the end of a connection alike (see parked[]); also
 * for connections refused or never negotiated: nothing to free then.
 */
static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	unsigned long stale;

	if (c != NULL) {
		park(ctx, c->proto);
		conn_free(ctx, c);
	} else {
		(void)unpark(ctx, &stale);
	}
	return SMFIS_CONTINUE;
}

/*
 * Callbacks running right now.  After smfi_stop() libmilter reads no
 * more commands, not even on connections already open (they are dropped
 * when the process exits and the MTA applies milter_default_action), so
 * a stop waits for these, not for the connections to close.
 */
static atomic_uint running;

#define GUARDED(cb, params, args)					\
	static sfsistat cb##_guarded params				\
	{								\
		sfsistat rc;						\
									\
		atomic_fetch_add(&running, 1);				\
		rc = cb args;						\
		atomic_fetch_sub(&running, 1);				\
		return rc;						\
	}
GUARDED(cb_negotiate, (SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3), (ctx, f0, f1, f2, f3, pf0, pf1, pf2, pf3))
GUARDED(cb_connect, (SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr), (ctx, hostname, addr))
GUARDED(cb_helo, (SMFICTX *ctx, char *helo), (ctx, helo))
GUARDED(cb_envfrom, (SMFICTX *ctx, char **argv), (ctx, argv))
GUARDED(cb_header, (SMFICTX *ctx, char *name, char *value), (ctx, name, value))
GUARDED(cb_eoh, (SMFICTX *ctx), (ctx))
GUARDED(cb_body, (SMFICTX *ctx, unsigned char *buf, size_t len), (ctx, buf, len))
GUARDED(cb_eom, (SMFICTX *ctx), (ctx))
GUARDED(cb_abort, (SMFICTX *ctx), (ctx))
GUARDED(cb_close, (SMFICTX *ctx), (ctx))

static struct smfiDesc milter_desc = {
	.xxfi_name = PACKAGE_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = cb_connect_guarded,
	.xxfi_helo = cb_helo_guarded,
	.xxfi_envfrom = cb_envfrom_guarded,
	.xxfi_header = cb_header_guarded,
	.xxfi_eoh = cb_eoh_guarded,
	.xxfi_body = cb_body_guarded,
	.xxfi_eom = cb_eom_guarded,
	.xxfi_abort = cb_abort_guarded,
	.xxfi_close = cb_close_guarded,
	.xxfi_negotiate = cb_negotiate_guarded,
};

/*
 * libmilter answers end of message in two writes (our header, then the
 * verdict) on sockets without TCP_NODELAY: Nagle holds the second until
 * the MTA acknowledges the first, and the MTA delays that ACK (~40 ms on
 * Linux) - per message.  libmilter does not hand out its sockets, but
 * Linux copies TCP_NODELAY from a listening socket to the ones it
 * accepts, so set it on the listener, found among our descriptors.
 */
static void
set_listener_nodelay(void)
{
	int fd, on = 1, listening, domain;
	socklen_t len;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
		    (domain != AF_INET && domain != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
			am_log(LOG_WARNING, "TCP_NODELAY on the milter socket: %s", strerror(errno));
	}
}

static bool
libmilter_open(const struct am_conf *c, char *err, size_t errlen)
{
	struct am_listen_ids ids;
	char conn[512];
	mode_t old;
	int rc;

	am_sockspec_format(&c->sockspec, conn, sizeof(conn));
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_register failed");
		return false;
	}
	if (smfi_setconn(conn) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_setconn %s failed", conn);
		return false;
	}
	/*
	 * libmilter binds the path itself: let it do so as the UserID user,
	 * with SocketMode as the umask, so the socket is born right and no
	 * chmod or chown follows on a path that user could swap (listen.h).
	 */
	if (!am_listen_become(c, &ids, err, errlen))
		return false;
	if (c->sockspec.family == AM_SOCK_UNIX && !am_listen_check_unix(c->sockspec.path, err, errlen)) {
		(void)am_listen_unbecome(&ids, NULL, 0);
		return false;
	}
	old = umask((mode_t)(~c->socket_mode & 0777));
	errno = 0;
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS)
		snprintf(err, errlen, "cannot listen on %s%s%s%s", conn, ids.switched ? " as UserID" : "",
		    errno ? ": " : "", errno ? strerror(errno) : "");
	if (!am_listen_unbecome(&ids, rc == MI_SUCCESS ? err : NULL, errlen) || rc != MI_SUCCESS)
		return false;
	if (c->sockspec.family != AM_SOCK_UNIX)
		set_listener_nodelay();
	return true;
}

static int
libmilter_run(am_pipeline *e, unsigned max_connections)
{
	(void)max_connections;		/* connlimit.c counts them */
	pipeline = e;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

static void
libmilter_stop(void)
{
	(void)smfi_stop();
}

static unsigned
libmilter_inflight(void)
{
	return atomic_load(&running);
}

const struct am_transport am_transport_libmilter = {
	.name = "libmilter",
	.open = libmilter_open,
	.run = libmilter_run,
	.stop = libmilter_stop,
	.inflight = libmilter_inflight,
	.inflight_what = "callback(s)",
};
