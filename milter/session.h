/*
 * session.h - one MTA connection's mail, independent of the milter transport.
 *
 * Owns: what alignmilter does at each SMTP stage of a connection - pass
 * ignored or address-less clients through unchecked, feed the pipeline in
 * SMTP order, note Authentication-Results fields that may forge our
 * authserv-id (from every client but a TrustedAuthResClients one, checked
 * or not: RFC 8601 section 5) - and, at end of message, the edits and the
 * SMTP action: forged fields removed from the highest index down, ours
 * inserted first (checked clients only), DMARC failures rejected or
 * quarantined under RejectFailures, and there also (RejectMalformedFrom)
 * a From whose author domains cannot all be known.
 *
 * The transports (transport-libmilter.c over libmilter,
 * transport-native.c over our own protocol engine) translate their
 * callbacks or packets into these calls and carry the edits out through
 * struct am_session_edits.  Neither the verifiers nor this module see a
 * transport type.
 *
 * Errors: only a DMARC rejection or a malformed From fails a message.  An edit the transport
 * could not make is logged (am_log: LOG_ERR for our header, LOG_WARNING
 * for a removal or the quarantine) and the message goes on; removed
 * forgeries are logged (LOG_NOTICE), the verdict line by the pipeline.
 * Out of memory aborts.
 *
 * Threads: one am_session per MTA connection, used by one thread at a
 * time (the transport's); the pipeline is shared.
 */
#ifndef AM_SESSION_H
#define AM_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/pipeline.h"

typedef struct am_session am_session;

/* What the transport answers the MTA. */
enum am_session_action {
	AM_SESSION_CONTINUE,		/* go on (or nothing, under a no-reply flag) */
	AM_SESSION_ACCEPT,		/* accept; stop sending this connection or message */
	AM_SESSION_REJECT,		/* 550 5.7.1 with the text of am_session_reply_text */
	AM_SESSION_TEMPFAIL
};

/* End-of-message edits, carried out by the transport; false when it could not. */
struct am_session_edits {
	bool	(*delete_header)(void *arg, const char *name, unsigned index);
	bool	(*insert_first)(void *arg, const char *name, const char *value);
	bool	(*quarantine)(void *arg, const char *reason);
	void	*arg;
};

/* leading_space: the MTA sends header values with the space after the colon. */
am_session *am_session_new(am_pipeline *, bool leading_space);
void	am_session_free(am_session *);

/*
 * ip: the client address as text, NULL when there is none (local, unix
 * socket).  ACCEPT only when there is nothing to do: an unchecked client
 * whose fields are trusted.
 */
enum am_session_action am_session_connect(am_session *, const char *ip);
void	am_session_helo(am_session *, const char *helo);
/* argv0: the MAIL FROM argument as the MTA gives it ("<a@b>", "<>"). */
void	am_session_mail(am_session *, const char *argv0);
void	am_session_header(am_session *, const char *name, const char *value);
void	am_session_eoh(am_session *);
void	am_session_body(am_session *, const unsigned char *buf, size_t len);
/* Verdict, record, edits; the message is over whatever is returned. */
enum am_session_action am_session_eom(am_session *, const char *queue_id,
	    const struct am_session_edits *);
/* The reply text that goes with AM_SESSION_REJECT (valid until the next call). */
const char *am_session_reply_text(const am_session *);
void	am_session_abort(am_session *);

#endif
