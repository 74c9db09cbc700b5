/*
 * jsonlog.c - the alignment log record (see jsonlog.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonlog.h"
#include "ses.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

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
		} else if ((n = utf8_len(p, (size_t)(end - p))) == 0) {
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
	am_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
	am_json_string(b, value, strlen(value));
}

static void
key_bool(struct am_buf *b, const char *key, bool value)
{
	am_buf_printf(b, ",\"%s\":%s", key, value ? "true" : "false");
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
	}
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

void
am_jsonlog_render(const struct am_verdict *v, struct am_buf *b)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&v->ts, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	am_buf_reset(b);
	am_buf_addc(b, '{');
	key_str(b, "ts", ts, false);
	key_str(b, "queue_id", v->queue_id, true);
	key_str(b, "client_ip", v->client_ip, true);
	key_str(b, "helo", v->helo, true);
	key_str(b, "mail_from", v->mail_from, true);
	key_str(b, "from_domain", v->from_domain, true);
	render_spf(&v->spf, b);
	render_dkim(&v->dkim, b);
	render_dmarc(&v->dmarc, b);
	render_ses(v, b);
	render_hints(v->hints, b);
	am_buf_adds(b, "}\n");
}
