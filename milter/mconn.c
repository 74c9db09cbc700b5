/*
 * mconn.c - one MTA connection's milter conversation (see mconn.h, which
 * also says how it fails and who may call it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* Utility library. */
#include "util/log.h"
#include "util/util.h"

/* Application-specific. */
#include "mconn.h"
#include "mproto.h"
#include "session.h"

/* An output buffer larger than this (many edits) is given back after its batch. */
#define OUT_KEEP		(16 * 1024)
#define BUDGET_LOG_SECONDS	60

struct am_mconn {
	am_pipeline *pipeline;
	am_session *session;		/* after negotiation */
	struct am_moptneg proto;	/* what was negotiated */
	char	*in;			/* unparsed input */
	size_t	inlen, incap;
	bool	message_ended;		/* since the last batch: the buffer may shrink */
	struct am_buf out;		/* replies of this batch */
	/* The queue id ({i}) of the MAIL and end-of-message macros, as the verdict keeps it. */
	char	qid_mail[64];
	char	qid_eom[64];
	/*
	 * For log lines: the text, or (native engine) the address it is made
	 * from at the first line that names it - most connections never log.
	 */
	char	peer[64];
	struct sockaddr_storage peer_addr;
	bool	peer_pending;		/* peer[] not yet made from peer_addr */
};

/* Bytes of input buffers beyond AM_MCONN_INPUT_START, all connections. */
static atomic_size_t growth;
static atomic_llong budget_logged;	/* time of the last "budget exhausted" line */

/* ---- the input buffer ------------------------------------------------------ */

/* Resize the input buffer to size (>= inlen) within the budget; false if it cannot grow. */
static bool
resize_input(am_mconn *m, size_t size)
{
	size_t old_extra = m->incap - AM_MCONN_INPUT_START;
	size_t new_extra = size - AM_MCONN_INPUT_START;
	long long now, last;

	if (new_extra > old_extra) {
		if (atomic_fetch_add(&growth, new_extra - old_extra) + (new_extra - old_extra) >
		    AM_MCONN_GROWTH_BUDGET) {
			atomic_fetch_sub(&growth, new_extra - old_extra);
			now = (long long)time(NULL);
			last = atomic_load(&budget_logged);
			if (now - last >= BUDGET_LOG_SECONDS && atomic_compare_exchange_strong(&budget_logged, &last, now))
				am_log(LOG_WARNING, "milter connection from %s: a %zu-byte packet while the "
				    "connections' input buffers hold %zu MiB beyond their start: closing it "
				    "(said once a minute)", am_mconn_peer(m), size, (size_t)(AM_MCONN_GROWTH_BUDGET >> 20));
			return false;
		}
	} else {
		atomic_fetch_sub(&growth, old_extra - new_extra);
	}
	m->in = am_xreallocarray(m->in, size, 1);
	m->incap = size;
	return true;
}

am_mconn *
am_mconn_new(am_pipeline *pipeline, const char *peer)
{
	am_mconn *m = am_xcalloc(1, sizeof(*m));

	m->pipeline = pipeline;
	m->incap = AM_MCONN_INPUT_START;
	m->in = am_xmalloc(m->incap);
	am_buf_init(&m->out);
	am_strlcpy(m->peer, peer, sizeof(m->peer));
	return m;
}

/* peer_addr as "192.0.2.1:25", "[2001:db8::1]:25" or "the unix socket". */
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

const char *
am_mconn_peer(am_mconn *m)
{
	if (m->peer_pending) {
		peer_text(&m->peer_addr, m->peer, sizeof(m->peer));
		m->peer_pending = false;
	}
	return m->peer;
}

void
am_mconn_begin(am_mconn *m, const struct sockaddr_storage *peer)
{
	m->peer_addr = *peer;
	m->peer_pending = true;
}

void
am_mconn_end(am_mconn *m)
{
	am_session_free(m->session);
	m->session = NULL;
	memset(&m->proto, 0, sizeof(m->proto));
	m->inlen = 0;
	m->message_ended = false;
	m->qid_mail[0] = m->qid_eom[0] = '\0';
	if (m->incap != AM_MCONN_INPUT_START)
		(void)resize_input(m, AM_MCONN_INPUT_START);	/* shrinking always succeeds */
	if (m->out.cap > OUT_KEEP)
		am_buf_free(&m->out);
	else
		am_buf_reset(&m->out);
}

void
am_mconn_free(am_mconn *m)
{
	if (m == NULL)
		return;
	atomic_fetch_sub(&growth, m->incap - AM_MCONN_INPUT_START);
	am_session_free(m->session);
	free(m->in);
	am_buf_free(&m->out);
	free(m);
}

size_t
am_mconn_growth_used(void)
{
	return atomic_load(&growth);
}

size_t
am_mconn_input_capacity(const am_mconn *m)
{
	return m->incap;
}

char *
am_mconn_space(am_mconn *m, size_t *room)
{
	*room = m->incap - m->inlen;
	return m->in + m->inlen;
}

const char *
am_mconn_out(const am_mconn *m, size_t *len)
{
	*len = m->out.len;
	return m->out.data;
}

void
am_mconn_sent(am_mconn *m)
{
	if (m->out.cap > OUT_KEEP)
		am_buf_free(&m->out);
	else
		am_buf_reset(&m->out);
}

/* ---- edits and replies -------------------------------------------------- */

static bool
edit_delete(void *arg, const char *name, unsigned index)
{
	am_mproto_put_header(&((am_mconn *)arg)->out, SMFIR_CHGHEADER, index, name, NULL);
	return true;
}

static bool
edit_insert(void *arg, const char *name, const char *value)
{
	am_mproto_put_header(&((am_mconn *)arg)->out, SMFIR_INSHEADER, 0, name, value);
	return true;
}

static bool
edit_quarantine(void *arg, const char *reason)
{
	am_mproto_put_string(&((am_mconn *)arg)->out, SMFIR_QUARANTINE, reason);
	return true;
}

static void
reply_action(am_mconn *m, enum am_session_action a)
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
reply_continue(am_mconn *m, unsigned char cmd)
{
	if (am_mproto_wants_reply(cmd, m->proto.protocol))
		am_mproto_put(&m->out, SMFIR_CONTINUE, NULL, 0);
}

/* ---- the commands ------------------------------------------------------- */

static enum am_mconn_status
protocol_error(am_mconn *m, const char *what, unsigned char cmd)
{
	am_log(LOG_WARNING, "milter connection from %s: %s (command 0x%02x): closing it",
	    am_mconn_peer(m), what, cmd);
	return AM_MCONN_CLOSE;
}

static void
new_session(am_mconn *m)
{
	am_session_free(m->session);
	m->session = am_session_new(m->pipeline, (m->proto.protocol & SMFIP_HDR_LEADSPC) != 0);
}

static enum am_mconn_status
on_optneg(am_mconn *m, const struct am_mpacket *p)
{
	struct am_moptneg mta;
	uint32_t need = AM_MPROTO_NEED_ACTIONS(am_pipeline_conf(m->pipeline)->reject_failures);
	char err[256];
	bool symlist;

	if (!am_mproto_parse_optneg(p, &mta))
		return protocol_error(m, "malformed option negotiation", p->cmd);
	if (!am_mproto_negotiate(&mta, need, &m->proto, &symlist, err, sizeof(err))) {
		am_log(LOG_ERR, "milter connection from %s: %s", am_mconn_peer(m), err);
		return AM_MCONN_CLOSE;
	}
	new_session(m);
	am_mproto_put_optneg(&m->out, &m->proto, symlist);
	return AM_MCONN_OPEN;
}

static enum am_mconn_status
on_connect(am_mconn *m, const struct am_mpacket *p)
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
	return AM_MCONN_OPEN;
}

/* Only the queue id is kept: a macro packet may be as large as any other. */
static void
keep_queue_id(am_mconn *m, const struct am_mpacket *p)
{
	const char *qid;
	unsigned char stage;

	if (!am_mproto_parse_macros(p, &stage) || (stage != SMFIC_MAIL && stage != SMFIC_BODYEOB))
		return;
	qid = am_mproto_macro(p->data, p->len, "i");
	am_strlcpy(stage == SMFIC_MAIL ? m->qid_mail : m->qid_eom, qid != NULL ? qid : "",
	    sizeof(m->qid_mail));
}

static void
message_over(am_mconn *m)
{
	m->qid_mail[0] = m->qid_eom[0] = '\0';
	m->message_ended = true;
}

static enum am_mconn_status
on_eom(am_mconn *m, const struct am_mpacket *p)
{
	struct am_session_edits edits = { edit_delete, edit_insert, edit_quarantine, m };
	const char *qid = m->qid_eom[0] != '\0' ? m->qid_eom : m->qid_mail[0] != '\0' ? m->qid_mail : NULL;

	if (p->len > 0)			/* a final body chunk may ride along */
		am_session_body(m->session, (const unsigned char *)p->data, p->len);
	reply_action(m, am_session_eom(m->session, qid, &edits));
	message_over(m);
	return AM_MCONN_OPEN;
}

static enum am_mconn_status
on_string_command(am_mconn *m, const struct am_mpacket *p)
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
	return AM_MCONN_OPEN;
}

static enum am_mconn_status
handle(am_mconn *m, const struct am_mpacket *p)
{
	if (p->cmd == SMFIC_OPTNEG)
		return on_optneg(m, p);
	if (p->cmd == SMFIC_QUIT)
		return AM_MCONN_CLOSE;
	if (m->session == NULL)
		return protocol_error(m, "command before option negotiation", p->cmd);
	switch (p->cmd) {
	case SMFIC_MACRO:
		keep_queue_id(m, p);
		return AM_MCONN_OPEN;
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
		return AM_MCONN_OPEN;
	case SMFIC_EOH:
		am_session_eoh(m->session);
		reply_continue(m, p->cmd);
		return AM_MCONN_OPEN;
	case SMFIC_BODY:
		am_session_body(m->session, (const unsigned char *)p->data, p->len);
		reply_continue(m, p->cmd);
		return AM_MCONN_OPEN;
	case SMFIC_BODYEOB:
		return on_eom(m, p);
	case SMFIC_ABORT:
		am_session_abort(m->session);
		message_over(m);
		return AM_MCONN_OPEN;
	case SMFIC_QUIT_NC:		/* the same socket serves the MTA's next connection */
		new_session(m);		/* under the flags negotiated before */
		message_over(m);
		return AM_MCONN_OPEN;
	default:
		return protocol_error(m, "unknown command", p->cmd);
	}
}

/* ---- a batch ------------------------------------------------------------ */

/*
 * Size the buffer for what is left: cut back to the start size once a
 * message ended, grown to fit a packet that is not all here yet.
 */
static enum am_mconn_status
fit_input(am_mconn *m, size_t needed)
{
	size_t want = m->incap;

	if (m->message_ended && m->inlen <= AM_MCONN_INPUT_START)
		want = AM_MCONN_INPUT_START;
	m->message_ended = false;
	if (needed > want)
		want = needed;
	if (want != m->incap && !resize_input(m, want))
		return AM_MCONN_CLOSE;
	return AM_MCONN_OPEN;
}

enum am_mconn_status
am_mconn_feed(am_mconn *m, size_t n)
{
	struct am_mpacket p;
	size_t off = 0, used;
	enum am_mframe f;

	m->inlen += n;
	while ((f = am_mproto_frame(m->in + off, m->inlen - off, &p, &used)) == AM_MFRAME_PACKET) {
		off += used;
		if (handle(m, &p) == AM_MCONN_CLOSE)
			return AM_MCONN_CLOSE;
	}
	if (f == AM_MFRAME_INVALID)
		return protocol_error(m, "packet length out of range", 0);
	memmove(m->in, m->in + off, m->inlen - off);
	m->inlen -= off;
	/* used: the whole size of the packet begun, 0 while its length is not all here */
	return fit_input(m, used);
}
