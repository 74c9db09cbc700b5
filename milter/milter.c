/*
 * milter.c - the libmilter adapter (see milter.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "authres.h"
#include "log.h"
#include "message.h"
#include "milter.h"
#include "netlist.h"
#include "util.h"

static am_engine *engine;		/* set once before the loop starts */

/* Per-connection state, behind smfi_setpriv; per-message state in check. */
struct conn {
	char	client_ip[64];
	char	helo[256];
	unsigned long proto;		/* negotiated SMFIP_* flags */
	bool	checking;		/* false: connection passed through unchecked */
	am_check *check;		/* the message in progress, or NULL */
	unsigned ar_seen;		/* Authentication-Results fields so far */
	unsigned *ar_forged;		/* their indexes that carry our authserv-id */
	size_t	ar_forged_count;
};

/* Stages we never need, and stages whose reply is always "continue". */
#define WANT_SKIP	(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA)
#define WANT_NOREPLY	(SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static sfsistat
reply(const struct conn *c, unsigned long nr_flag)
{
	return (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void
message_reset(struct conn *c)
{
	am_check_free(c->check);
	c->check = NULL;
	free(c->ar_forged);
	c->ar_forged = NULL;
	c->ar_forged_count = 0;
	c->ar_seen = 0;
}

/* The connection's state, made at negotiation (or at connect with an old MTA). */
static struct conn *
conn_new(SMFICTX *ctx, unsigned long proto)
{
	struct conn *c = am_xcalloc(1, sizeof(*c));

	c->proto = proto;
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		free(c);
		return NULL;
	}
	return c;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS;

	(void)f2;
	(void)f3;
	if (am_engine_conf(engine)->reject_failures)
		actions |= SMFIF_QUARANTINE;
	if ((f0 & actions) != actions) {
		am_log(LOG_ERR, "the MTA does not allow adding and changing headers: cannot work");
		return SMFIS_REJECT;
	}
	*pf0 = actions;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		(void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	/* Headers exactly as sent (DKIM c=simple needs the space after the colon). */
	*pf1 = f1 & (WANT_SKIP | WANT_NOREPLY | SMFIP_HDR_LEADSPC);
	*pf2 = 0;
	*pf3 = 0;
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
	char ip[64];

	(void)hostname;
	if (c == NULL && (c = conn_new(ctx, 0)) == NULL)
		return SMFIS_TEMPFAIL;
	/* Local submission or a unix-socket client: no address SPF could check. */
	if (!address_text(addr, ip, sizeof(ip)))
		return SMFIS_ACCEPT;
	if (am_netlist_match(&am_engine_conf(engine)->ignore_hosts, ip))
		return SMFIS_ACCEPT;
	am_strlcpy(c->client_ip, ip, sizeof(c->client_ip));
	c->checking = true;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || !c->checking)
		return SMFIS_CONTINUE;
	am_strlcpy(c->helo, helo ? helo : "", sizeof(c->helo));
	return reply(c, SMFIP_NR_HELO);
}

/* "<user@example.com>" -> "user@example.com"; "<>" -> "". */
static void
strip_angles(const char *arg, char *out, size_t outlen)
{
	size_t len;

	while (*arg == ' ')
		arg++;
	if (*arg == '<')
		arg++;
	am_strlcpy(out, arg, outlen);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '>'))
		out[--len] = '\0';
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	char mail_from[AM_ADDR_MAX];

	if (c == NULL || !c->checking)
		return SMFIS_CONTINUE;
	message_reset(c);		/* a second message on this connection */
	strip_angles(argv != NULL && argv[0] != NULL ? argv[0] : "", mail_from, sizeof(mail_from));
	c->check = am_check_new(engine, c->client_ip, c->helo, mail_from);
	return reply(c, SMFIP_NR_MAIL);
}

/* Remember Authentication-Results fields that claim to be ours (RFC 8601 5). */
static void
note_authres(struct conn *c, const char *value)
{
	char id[256];

	c->ar_seen++;
	if (!am_authres_authserv_id(value, strlen(value), id, sizeof(id)) ||
	    strcasecmp(id, am_engine_conf(engine)->authserv_id) != 0)
		return;
	c->ar_forged = am_xreallocarray(c->ar_forged, c->ar_forged_count + 1, sizeof(*c->ar_forged));
	c->ar_forged[c->ar_forged_count++] = c->ar_seen;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->check == NULL)
		return SMFIS_CONTINUE;
	if (strcasecmp(name, AM_AUTHRES_NAME) == 0)
		note_authres(c, value);
	am_check_header(c->check, name, strlen(name), value, strlen(value));
	return reply(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->check == NULL)
		return SMFIS_CONTINUE;
	am_check_eoh(c->check);
	return reply(c, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->check == NULL)
		return SMFIS_CONTINUE;
	am_check_body(c->check, buf, len);
	return reply(c, SMFIP_NR_BODY);
}

/* Only plain domain characters reach an SMTP reply text ('%' would be a format). */
static void
reply_safe(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (isalnum((unsigned char)in[i]) || in[i] == '.' || in[i] == '-') ? in[i] : '?';
	out[i] = '\0';
}

/* RejectFailures: reject or quarantine a DMARC failure as its policy asks. */
static sfsistat
enforce(SMFICTX *ctx, const struct am_verdict *v)
{
	char domain[AM_DOMAIN_MAX], text[512];

	if (!am_engine_conf(engine)->reject_failures || v->dmarc.result != AM_DMARC_FAIL)
		return SMFIS_CONTINUE;
	reply_safe(v->from_domain, domain, sizeof(domain));
	if (v->dmarc.disposition == AM_POLICY_REJECT) {
		snprintf(text, sizeof(text), "DMARC policy of %s (p=reject) rejects this message: "
		    "neither SPF nor DKIM passed aligned with the From domain", domain);
		(void)smfi_setreply(ctx, "550", "5.7.1", text);
		return SMFIS_REJECT;
	}
	if (v->dmarc.disposition == AM_POLICY_QUARANTINE) {
		snprintf(text, sizeof(text), "DMARC fail for %s under p=quarantine", domain);
		if (smfi_quarantine(ctx, text) != MI_SUCCESS)
			am_log(LOG_WARNING, "%s: quarantine failed", v->queue_id);
	}
	return SMFIS_CONTINUE;
}

/* Delete forged headers from the highest index down, so indexes stay valid. */
static void
remove_forged(SMFICTX *ctx, const struct conn *c, const char *qid)
{
	size_t i;

	for (i = c->ar_forged_count; i > 0; i--) {
		if (smfi_chgheader(ctx, AM_AUTHRES_NAME, (int)c->ar_forged[i - 1], NULL) != MI_SUCCESS)
			am_log(LOG_WARNING, "%s: cannot remove forged Authentication-Results #%u",
			    qid, c->ar_forged[i - 1]);
	}
	if (c->ar_forged_count > 0)
		am_log(LOG_NOTICE, "%s: removed %zu Authentication-Results header(s) forging our authserv-id",
		    qid, c->ar_forged_count);
}

static void
add_header(SMFICTX *ctx, const struct conn *c, const struct am_verdict *v)
{
	struct am_buf b;
	const char *value;

	am_buf_init(&b);
	am_authres_render(v, am_engine_conf(engine)->authserv_id, &b);
	/* Without HDR_LEADSPC the MTA adds the space after the colon itself. */
	value = (c->proto & SMFIP_HDR_LEADSPC) ? b.data : b.data + 1;
	if (smfi_insheader(ctx, 0, AM_AUTHRES_NAME, (char *)value) != MI_SUCCESS)
		am_log(LOG_ERR, "%s: cannot add Authentication-Results", v->queue_id);
	am_buf_free(&b);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	const struct am_verdict *v;
	const char *qid;
	sfsistat rc;

	if (c == NULL || c->check == NULL)
		return SMFIS_CONTINUE;
	qid = smfi_getsymval(ctx, "i");
	if (qid == NULL)
		qid = smfi_getsymval(ctx, "{i}");
	am_check_set_queue_id(c->check, qid);
	v = am_check_eom(c->check);
	am_engine_record(engine, v);
	rc = enforce(ctx, v);
	if (rc == SMFIS_CONTINUE) {
		remove_forged(ctx, c, v->queue_id);
		add_header(ctx, c, v);
	}
	message_reset(c);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		message_reset(c);
	return SMFIS_CONTINUE;
}

/* Also called for sessions that never reached negotiation: nothing to free then. */
static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		smfi_setpriv(ctx, NULL);
		message_reset(c);
		free(c);
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

/* A unix socket's directory must exist and its path be free or a socket: say so clearly. */
static bool
check_socket_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct am_sockspec *)0)->path)];
	struct stat st;

	am_strlcpy(dir, path, sizeof(dir));
	if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory of %s does not exist", path);
		return false;
	}
	/* libmilter replaces a stale socket, but we never delete another kind of file. */
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: refusing to replace it", path);
		return false;
	}
	return true;
}

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

bool
am_milter_open(const struct am_conf *c, char *err, size_t errlen)
{
	char conn[512];
	mode_t old;
	int rc;

	am_sockspec_format(&c->sockspec, conn, sizeof(conn));
	if (c->sockspec.family == AM_SOCK_UNIX && !check_socket_dir(c->sockspec.path, err, errlen))
		return false;
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_register failed");
		return false;
	}
	if (smfi_setconn(conn) != MI_SUCCESS) {
		snprintf(err, errlen, "smfi_setconn %s failed", conn);
		return false;
	}
	/* The socket is created with our umask: that is how its mode is set. */
	old = umask((mode_t)(~c->socket_mode & 0777));
	errno = 0;
	rc = smfi_opensocket(true);
	umask(old);
	if (rc != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s%s%s", conn, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return false;
	}
	if (c->sockspec.family != AM_SOCK_UNIX)
		set_listener_nodelay();
	if (c->sockspec.family == AM_SOCK_UNIX && chmod(c->sockspec.path, (mode_t)c->socket_mode) != 0) {
		snprintf(err, errlen, "chmod %s: %s", c->sockspec.path, strerror(errno));
		return false;
	}
	return true;
}

bool
am_milter_chown_socket(const struct am_conf *c, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (c->sockspec.family != AM_SOCK_UNIX)
		return true;
	if (chown(c->sockspec.path, uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", c->sockspec.path, strerror(errno));
		return false;
	}
	return true;
}

int
am_milter_run(am_engine *e)
{
	engine = e;
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

void
am_milter_stop(void)
{
	(void)smfi_stop();
}

unsigned
am_milter_inflight(void)
{
	return atomic_load(&running);
}

void
am_milter_cleanup(const struct am_conf *c)
{
	if (c->sockspec.family == AM_SOCK_UNIX)
		(void)unlink(c->sockspec.path);
}
