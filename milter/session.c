/*
 * session.c - one MTA connection's mail (see session.h, which also says
 * how it fails and who may call it).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Utility library. */
#include "util/log.h"
#include "util/metrics.h"
#include "util/netlist.h"
#include "util/util.h"

/* Verifiers. */
#include "auth/message.h"

/* Policy and renderers. */
#include "policy/authres.h"

/* Application-specific. */
#include "session.h"

struct am_session {
	am_pipeline *pipeline;
	bool	leading_space;		/* header values arrive with their leading space */
	bool	checking;		/* false: connection passed through unchecked */
	bool	keep_authres;		/* TrustedAuthResClients: its A-R under our id stay */
	bool	in_message;		/* between MAIL and the message's end, checked or not */
	char	client_ip[64];
	char	helo[256];
	am_pipeline_msg *check;		/* the message in progress, or NULL */
	unsigned ar_seen;		/* Authentication-Results fields so far */
	unsigned *ar_forged;		/* their indexes that carry our authserv-id */
	size_t	ar_forged_count;
	size_t	ar_forged_cap;
	char	reply[512];		/* text of a rejection */
};

am_session *
am_session_new(am_pipeline *pipeline, bool leading_space)
{
	am_session *s = am_xcalloc(1, sizeof(*s));

	s->pipeline = pipeline;
	s->leading_space = leading_space;
	return s;
}

static void
message_reset(am_session *s)
{
	am_pipeline_msg_free(s->check);
	s->check = NULL;
	s->ar_forged_count = 0;
	s->ar_seen = 0;
	s->in_message = false;
}

void
am_session_free(am_session *s)
{
	if (s == NULL)
		return;
	message_reset(s);
	free(s->ar_forged);
	free(s);
}

enum am_session_action
am_session_connect(am_session *s, const char *ip)
{
	const struct am_conf *conf = am_pipeline_conf(s->pipeline);

	/* A connect on a used session (an MTA that skips QUIT_NC) starts afresh. */
	message_reset(s);
	s->checking = false;
	s->client_ip[0] = s->helo[0] = '\0';
	/*
	 * RFC 8601 section 5: fields under our id survive only from a trusted
	 * MTA; not verifying a client (below) is not trusting its fields.
	 */
	s->keep_authres = ip != NULL && am_netlist_match(&conf->trusted_authres, ip);
	/*
	 * Local submission or a unix-socket client: no address SPF could check.
	 * Unchecked, but followed to the end for the forged fields' sake.
	 */
	if (ip == NULL || *ip == '\0' || am_netlist_match(&conf->ignore_hosts, ip))
		return s->keep_authres ? AM_SESSION_ACCEPT : AM_SESSION_CONTINUE;
	am_strlcpy(s->client_ip, ip, sizeof(s->client_ip));
	s->checking = true;
	return AM_SESSION_CONTINUE;
}

void
am_session_helo(am_session *s, const char *helo)
{
	if (s->checking)
		am_strlcpy(s->helo, helo != NULL ? helo : "", sizeof(s->helo));
}

/*
 * "<user@example.com>" -> "user@example.com"; "<>" -> "".  Whole, never
 * cut: a cut address would have SPF check a prefix of its domain; the
 * pipeline decides what an over-long one gets.
 */
static char *
strip_angles(const char *arg)
{
	char *out;
	size_t len;

	while (*arg == ' ')
		arg++;
	if (*arg == '<')
		arg++;
	out = am_xstrdup(arg);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '>'))
		out[--len] = '\0';
	return out;
}

void
am_session_mail(am_session *s, const char *argv0)
{
	char *mail_from;

	message_reset(s);		/* a second message on this connection */
	s->in_message = true;
	if (!s->checking)
		return;
	mail_from = strip_angles(argv0 != NULL ? argv0 : "");
	s->check = am_pipeline_msg_new(s->pipeline, s->client_ip, s->helo, mail_from);
	free(mail_from);
}

/*
 * Remember Authentication-Results fields that may be ours (RFC 8601 5),
 * including those whose authserv-id cannot be read with certainty.
 */
static void
note_authres(am_session *s, const char *value)
{
	s->ar_seen++;
	if (!am_authres_maybe_ours(value, strlen(value), am_pipeline_conf(s->pipeline)->authserv_id))
		return;
	if (s->ar_forged_count == s->ar_forged_cap) {
		s->ar_forged_cap = s->ar_forged_cap ? 2 * s->ar_forged_cap : 4;
		s->ar_forged = am_xreallocarray(s->ar_forged, s->ar_forged_cap, sizeof(*s->ar_forged));
	}
	s->ar_forged[s->ar_forged_count++] = s->ar_seen;
}

void
am_session_header(am_session *s, const char *name, const char *value)
{
	if (!s->in_message)
		return;
	if (!s->keep_authres && strcasecmp(name, AM_AUTHRES_NAME) == 0)
		note_authres(s, value);
	if (s->check != NULL)
		am_pipeline_msg_header(s->check, name, strlen(name), value, strlen(value));
}

void
am_session_eoh(am_session *s)
{
	if (s->check != NULL)
		am_pipeline_msg_eoh(s->check);
}

void
am_session_body(am_session *s, const unsigned char *buf, size_t len)
{
	if (s->check != NULL)
		am_pipeline_msg_body(s->check, buf, len);
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

/*
 * A From whose authors cannot all be known: none (no From, no usable
 * domain), more than the pipeline evaluates, or an address without a
 * usable domain.  RFC 9989 11.5: its DMARC evaluation is incomplete and
 * a reader may be shown any domain; RFC 7489 6.6.1 lets the receiver
 * reject it.  A From naming a few domains, all evaluated, is not
 * malformed here: the strictest of their outcomes stands.
 */
static const char *
from_unusable(const struct am_verdict *v)
{
	if (v->from_status == AM_FROM_OK)
		return NULL;
	if (v->from_status == AM_FROM_MISSING)
		return "the message has no From header field";
	if (v->author_domains_over)
		return "the From header field names too many author domains";
	if (v->n_author_domains == 0)
		return "no author domain can be read from the From header field";
	if (v->author_domains_incomplete)
		return "an address in the From header field has no usable domain";
	return NULL;
}

/*
 * RejectFailures: reject or quarantine a DMARC failure as its policy
 * asks, and (RejectMalformedFrom) reject a From whose authors are not
 * all known, after a DMARC reject, whose text names the domain.
 */
static enum am_session_action
enforce_failures(am_session *s, const struct am_verdict *v, const struct am_session_edits *ed)
{
	const struct am_conf *conf = am_pipeline_conf(s->pipeline);
	char domain[AM_DOMAIN_MAX], text[512];
	const char *malformed = from_unusable(v);

	if (v->dmarc.result != AM_DMARC_FAIL || v->dmarc.disposition != AM_POLICY_REJECT) {
		if (malformed != NULL && conf->reject_malformed_from) {
			snprintf(s->reply, sizeof(s->reply), "Malformed From: %s, so DMARC cannot "
			    "be checked (RFC 5322 3.6.2 requires one From with its author addresses)", malformed);
			return AM_SESSION_REJECT;
		}
	}
	if (v->dmarc.result != AM_DMARC_FAIL)
		return AM_SESSION_CONTINUE;
	reply_safe(v->from_domain, domain, sizeof(domain));
	if (v->dmarc.disposition == AM_POLICY_REJECT) {
		snprintf(s->reply, sizeof(s->reply), "DMARC policy of %s (%s=reject) rejects this message: "
		    "neither SPF nor DKIM passed aligned with the From domain", domain,
		    am_dmarc_policy_tag_name(v->dmarc.policy_tag));
		return AM_SESSION_REJECT;
	}
	if (v->dmarc.disposition == AM_POLICY_QUARANTINE) {
		snprintf(text, sizeof(text), "DMARC fail for %s under %s=%s%s", domain,
		    am_dmarc_policy_tag_name(v->dmarc.policy_tag), am_dmarc_policy_name(v->dmarc.policy),
		    v->dmarc.testing ? " in testing mode (t=y)" : "");
		if (ed->quarantine(ed->arg, text))
			am_metrics_count1(AM_MET_REJECTFAILURES, AM_MET_QUARANTINED);
		else {
			am_log(LOG_WARNING, "%s: quarantine failed", v->queue_id);
			am_metrics_error(AM_MET_ERR_MILTER_PROTOCOL);
		}
	}
	return AM_SESSION_CONTINUE;
}

/* enforce_failures when RejectFailures is on; counts the rejections (metrics). */
static enum am_session_action
enforce(am_session *s, const struct am_verdict *v, const struct am_session_edits *ed)
{
	const struct am_conf *conf = am_pipeline_conf(s->pipeline);
	enum am_session_action rc;

	if (!conf->reject_failures)
		return AM_SESSION_CONTINUE;
	rc = enforce_failures(s, v, ed);
	if (rc == AM_SESSION_REJECT)
		am_metrics_count1(AM_MET_REJECTFAILURES, AM_MET_REJECTED);
	return rc;
}

/* Delete forged headers from the highest index down, so indexes stay valid. */
static void
remove_forged(const am_session *s, const struct am_session_edits *ed, const char *qid)
{
	size_t i;

	for (i = s->ar_forged_count; i > 0; i--) {
		if (!ed->delete_header(ed->arg, AM_AUTHRES_NAME, s->ar_forged[i - 1]))
			am_log(LOG_WARNING, "%s: cannot remove forged Authentication-Results #%u",
			    qid, s->ar_forged[i - 1]);
	}
	if (s->ar_forged_count > 0)
		am_log(LOG_NOTICE, "%s: removed %zu Authentication-Results header(s) forging our authserv-id",
		    qid, s->ar_forged_count);
}

static void
add_header(const am_session *s, const struct am_session_edits *ed, const struct am_verdict *v)
{
	struct am_buf b;
	const char *value;

	am_buf_init(&b);
	am_authres_render(v, am_pipeline_conf(s->pipeline)->authserv_id, &b);
	/* Without HDR_LEADSPC the MTA adds the space after the colon itself. */
	value = s->leading_space ? b.data : b.data + 1;
	if (!ed->insert_first(ed->arg, AM_AUTHRES_NAME, value)) {
		am_log(LOG_ERR, "%s: cannot add Authentication-Results", v->queue_id);
		am_metrics_error(AM_MET_ERR_MILTER_PROTOCOL);
	}
	am_buf_free(&b);
}

/* Metrics: end-of-message latency since t0 (zero: metrics were off at the start). */
static void
observe_since(const struct timespec *t0)
{
	struct timespec now;

	if (t0->tv_sec == 0 || !am_metrics_on() || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return;
	am_metrics_observe(AM_MET_EOM_SECONDS,
	    (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9);
}

enum am_session_action
am_session_eom(am_session *s, const char *queue_id, const struct am_session_edits *ed)
{
	const struct am_verdict *v;
	enum am_session_action rc;
	struct timespec t0 = { 0, 0 };

	if (s->check == NULL) {		/* unchecked: only the forgeries go */
		if (s->in_message)
			remove_forged(s, ed, queue_id != NULL && *queue_id ? queue_id : "NOQUEUE");
		message_reset(s);
		return AM_SESSION_CONTINUE;
	}
	if (am_metrics_on())
		(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	am_pipeline_msg_set_queue_id(s->check, queue_id);
	v = am_pipeline_msg_eom(s->check);
	am_pipeline_record(s->pipeline, v);
	rc = enforce(s, v, ed);
	if (rc == AM_SESSION_CONTINUE) {
		remove_forged(s, ed, v->queue_id);
		add_header(s, ed, v);
	}
	message_reset(s);
	observe_since(&t0);
	return rc;
}

const char *
am_session_reply_text(const am_session *s)
{
	return s->reply;
}

void
am_session_abort(am_session *s)
{
	message_reset(s);
}
