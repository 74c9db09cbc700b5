/*
 * alignlog.c - the alignment log record (see alignlog.h, which also says
 * how it fails and who may call it).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/ses.h"

void
am_json_string(struct am_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t n;

	am_buf_addc(b, '"');
	while (p < end) {
		if (*p == '"' || *p == '\\') {
			am_buf_addc(b, '\\');
			am_buf_addc(b, (char)*p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			am_buf_printf(b, "\\u%04x", *p++);
		} else if ((n = am_utf8_seqlen(p, (size_t)(end - p))) == 0) {
			am_buf_adds(b, "\\ufffd");
			p++;
		} else {
			am_buf_add(b, (const char *)p, n);
			p += n;
		}
	}
	am_buf_addc(b, '"');
}

static void
key_str(struct am_buf *b, const char *key, const char *value, bool comma)
{
	if (comma)
		am_buf_addc(b, ',');
	am_buf_addc(b, '"');
	am_buf_adds(b, key);
	am_buf_adds(b, "\":");
	am_json_string(b, value, strlen(value));
}

static void
key_bool(struct am_buf *b, const char *key, bool value)
{
	am_buf_adds(b, ",\"");
	am_buf_adds(b, key);
	am_buf_adds(b, value ? "\":true" : "\":false");
}

static void
render_spf(const struct am_spf_verdict *s, struct am_buf *b)
{
	am_buf_adds(b, ",\"spf\":{");
	key_str(b, "result", am_spf_result_name(s->result), false);
	key_str(b, "domain", s->domain, true);
	key_bool(b, "aligned", s->aligned);
	if (s->helo_identity)
		key_str(b, "identity", "helo", true);
	if (s->result != AM_SPF_PASS && s->reason[0])
		key_str(b, "reason", s->reason, true);
	am_buf_addc(b, '}');
}

static void
render_dkim(const struct am_dkim_verdict *d, struct am_buf *b)
{
	size_t i;

	am_buf_adds(b, ",\"dkim\":[");
	for (i = 0; i < d->count; i++) {
		const struct am_dkim_sig *s = &d->sig[i];

		am_buf_adds(b, i ? ",{" : "{");
		key_str(b, "domain", s->domain, false);
		key_str(b, "selector", s->selector, true);
		key_str(b, "algorithm", s->algorithm, true);
		key_str(b, "result", am_dkim_result_name(s->result), true);
		key_bool(b, "aligned", s->aligned);
		if (s->keybits)
			am_buf_printf(b, ",\"key_bits\":%u", s->keybits);
		if (s->result != AM_DKIM_PASS && s->reason[0])
			key_str(b, "reason", s->reason, true);
		am_buf_addc(b, '}');
	}
	am_buf_addc(b, ']');
}

/* What the applied record said and how it was found (RFC 9989, RFC 9990). */
static void
render_dmarc_record(const struct am_dmarc_verdict *d, struct am_buf *b)
{
	char psd[2] = { d->psd ? d->psd : 'u', 0 };

	/* A void record (no valid p=, no rua=) found but applied no policy. */
	if (d->policy_tag != AM_PTAG_NONE)
		key_str(b, "policy_tag", am_dmarc_policy_tag_name(d->policy_tag), true);
	key_bool(b, "testing", d->testing);
	key_str(b, "psd", psd, true);
	key_str(b, "discovery", d->discovery == AM_DISCOVERY_TREEWALK ? "treewalk" : "psl", true);
	if (d->policy_tag == AM_PTAG_NONE)
		return;
	am_buf_adds(b, ",\"published\":{");
	key_str(b, "p", am_dmarc_policy_name(d->published_p), false);
	if (d->published_sp != AM_POLICY_UNSPEC)
		key_str(b, "sp", am_dmarc_policy_name(d->published_sp), true);
	if (d->published_np != AM_POLICY_UNSPEC)
		key_str(b, "np", am_dmarc_policy_name(d->published_np), true);
	am_buf_addc(b, '}');
}

static void
render_dmarc(const struct am_dmarc_verdict *d, struct am_buf *b)
{
	char adkim[2] = { d->adkim ? d->adkim : 'r', 0 }, aspf[2] = { d->aspf ? d->aspf : 'r', 0 };

	am_buf_adds(b, ",\"dmarc\":{");
	key_str(b, "result", am_dmarc_result_name(d->result), false);
	key_str(b, "policy", am_dmarc_policy_name(d->policy), true);
	key_str(b, "disposition", am_dmarc_policy_name(d->disposition), true);
	key_str(b, "adkim", adkim, true);
	key_str(b, "aspf", aspf, true);
	if (d->record_found) {
		am_buf_printf(b, ",\"pct\":%d", d->pct);
		key_str(b, "record_domain", d->record_domain, true);
		render_dmarc_record(d, b);
	}
	if (d->org_domain[0] != '\0')
		key_str(b, "org_domain", d->org_domain, true);
	if (d->walks_skipped > 0)
		am_buf_printf(b, ",\"walks_skipped\":%u", d->walks_skipped);
	if ((d->result == AM_DMARC_TEMPERROR || d->result == AM_DMARC_PERMERROR) && d->reason[0])
		key_str(b, "reason", d->reason, true);
	am_buf_addc(b, '}');
}

static void
render_ses(const struct am_verdict *v, struct am_buf *b)
{
	key_str(b, "sender", v->ses.is_ses ? "ses" : "other", true);
	if (!v->ses.is_ses) {
		am_buf_adds(b, ",\"ses\":null");
		return;
	}
	am_buf_adds(b, ",\"ses\":{");
	key_str(b, "region", v->ses.region, false);
	key_str(b, "mail_from", v->ses.default_mail_from ? "default" : "custom", true);
	am_buf_addc(b, '}');
}

static void
render_hints(unsigned hints, struct am_buf *b)
{
	unsigned h;
	bool first = true;

	am_buf_adds(b, ",\"hints\":[");
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(hints & (1u << h)))
			continue;
		if (!first)
			am_buf_addc(b, ',');
		am_json_string(b, am_hint_name((enum am_hint)h), strlen(am_hint_name((enum am_hint)h)));
		first = false;
	}
	am_buf_addc(b, ']');
}

/*
 * "author_domains": every author domain of a From that is not one clean
 * domain (missing, repeated, several addresses, refused by the strict
 * reader), present iff from_status is not OK, so a reader tells a
 * malformed From by the key alone; [] when none could be read.
 * from_domain is then the one whose outcome decided.
 */
static void
render_author_domains(const struct am_verdict *v, struct am_buf *b)
{
	unsigned i;

	if (v->from_status == AM_FROM_OK)
		return;
	am_buf_adds(b, ",\"author_domains\":[");
	for (i = 0; i < v->n_author_domains && i < AM_FROM_DOMAINS_MAX; i++) {
		if (i > 0)
			am_buf_addc(b, ',');
		am_json_string(b, v->author_domains[i], strlen(v->author_domains[i]));
	}
	am_buf_addc(b, ']');
}

void
am_alignlog_render(const struct am_verdict *v, struct am_buf *b)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&v->ts, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	am_buf_reset(b);
	am_buf_addc(b, '{');
	key_str(b, "ts", ts, false);
	key_str(b, "queue_id", v->queue_id, true);
	/* host + queue_id name the message across the logs of several MX hosts. */
	if (v->host[0] != '\0')
		key_str(b, "host", v->host, true);
	key_str(b, "client_ip", v->client_ip, true);
	key_str(b, "helo", v->helo, true);
	key_str(b, "mail_from", v->mail_from, true);
	key_str(b, "from_domain", v->from_domain, true);
	render_author_domains(v, b);
	render_spf(&v->spf, b);
	render_dkim(&v->dkim, b);
	render_dmarc(&v->dmarc, b);
	render_ses(v, b);
	render_hints(v->hints, b);
	am_buf_adds(b, "}\n");
}
