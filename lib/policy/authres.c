/*
 * authres.c - rendering the Authentication-Results header (see authres.h).
 *
 *   Authentication-Results: mx.example.net;
 *   	spf=pass smtp.mailfrom=mail.example.com;
 *   	dkim=pass header.d=example.com header.s=token1 header.a=rsa-sha256 header.b=AbCdEfGh;
 *   	dmarc=pass (p=none dis=none) header.from=example.com
 *
 * Results that are not "pass" carry their reason as a trailing comment,
 * so the result and properties read exactly as in the contract.  Errors
 * and threads: see authres.h.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

/* Policy and renderers. */
#include "policy/authres.h"

/* RFC 2045 token characters (RFC 8601 "value"), plus '.' and '@' of domain names. */
static bool
is_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("()<>,;:\\\"/[]?=", c) == NULL;
}

static bool
needs_quoting(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (!is_token_char(*p))
			return true;
	return false;
}

/*
 * A property value: a token as is, anything else as a quoted-string
 * without controls; UTF-8 (RFC 8616) is kept, other 8-bit bytes become '?'.
 */
static void
add_value(struct am_buf *b, const char *s)
{
	const unsigned char *p;

	if (*s != '\0' && !needs_quoting(s)) {
		am_buf_adds(b, s);
		return;
	}
	am_buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p; ) {
		size_t n = am_utf8_seqlen(p, strlen((const char *)p));

		if (n == 0) {			/* not UTF-8: never put raw junk in a header */
			am_buf_addc(b, '?');
			p++;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\')
			am_buf_addc(b, '\\');
		am_buf_add(b, (const char *)p, n);
		p += n;
	}
	am_buf_addc(b, '"');
}

static void
add_prop(struct am_buf *b, const char *name, const char *value)
{
	if (value[0] == '\0')
		return;
	am_buf_printf(b, " %s=", name);
	add_value(b, value);
}

/* A comment: parentheses and backslashes escaped, controls dropped. */
static void
add_comment(struct am_buf *b, const char *text)
{
	const unsigned char *p;

	if (text[0] == '\0')
		return;
	am_buf_adds(b, " (");
	for (p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if (*p == '(' || *p == ')' || *p == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, (char)*p);
	}
	am_buf_addc(b, ')');
}

static void
render_spf(const struct am_spf_verdict *spf, struct am_buf *b)
{
	am_buf_printf(b, ";\n\tspf=%s", am_spf_result_name(spf->result));
	add_prop(b, spf->helo_identity ? "smtp.helo" : "smtp.mailfrom", spf->domain);
	if (spf->result != AM_SPF_PASS)
		add_comment(b, spf->reason);
}

/*
 * header.b: base64 as written, like OpenDKIM and the contract's example,
 * although '/' is outside RFC 2045's token; anything else is quoted.
 */
static void
add_b_prefix(struct am_buf *b, const char *prefix)
{
	const char *p;

	if (prefix[0] == '\0')
		return;
	for (p = prefix; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '/' && *p != '=')
			break;
	if (*p != '\0') {
		add_prop(b, "header.b", prefix);
		return;
	}
	am_buf_printf(b, " header.b=%s", prefix);
}

static void
render_dkim_sig(const struct am_dkim_sig *s, struct am_buf *b)
{
	am_buf_printf(b, ";\n\tdkim=%s", am_dkim_result_name(s->result));
	add_prop(b, "header.d", s->domain);
	add_prop(b, "header.s", s->selector);
	add_prop(b, "header.a", s->algorithm);
	add_b_prefix(b, s->b_prefix);
	if (s->result != AM_DKIM_PASS)
		add_comment(b, s->reason);
}

static void
render_dkim(const struct am_dkim_verdict *d, struct am_buf *b)
{
	size_t i;

	if (d->count == 0) {
		am_buf_adds(b, ";\n\tdkim=none");
		return;
	}
	for (i = 0; i < d->count; i++)
		render_dkim_sig(&d->sig[i], b);
	if (d->total > d->count)
		am_buf_printf(b, " (%zu more signatures not reported)", d->total - d->count);
}

static void
render_dmarc(const struct am_verdict *v, struct am_buf *b)
{
	const struct am_dmarc_verdict *d = &v->dmarc;

	am_buf_printf(b, ";\n\tdmarc=%s", am_dmarc_result_name(d->result));
	/*
	 * The policy comment only when a record said something: under RFC
	 * 9989 a void record (no valid p=, no rua=) says nothing.
	 */
	if (d->record_found && (d->discovery != AM_DISCOVERY_TREEWALK || d->policy_tag != AM_PTAG_NONE))
		am_buf_printf(b, " (p=%s dis=%s)", am_dmarc_policy_name(d->policy),
		    am_dmarc_policy_name(d->disposition));
	add_prop(b, "header.from", v->from_domain);
	/*
	 * RFC 9989 9.1 registers policy.dmarc: the policy after the record's
	 * options (t=y lowers it).  Only under the standard that defines it.
	 */
	if (d->discovery == AM_DISCOVERY_TREEWALK &&
	    (d->result == AM_DMARC_PASS || d->result == AM_DMARC_FAIL))
		add_prop(b, "policy.dmarc", am_dmarc_policy_name(d->testing ?
		    am_dmarc_policy_lower(d->policy) : d->policy));	/* UNSPEC: "none" */
	if (d->result == AM_DMARC_TEMPERROR || d->result == AM_DMARC_PERMERROR)
		add_comment(b, d->reason);
	else if (v->from_status != AM_FROM_OK)	/* say the From was not one clean domain */
		add_comment(b, v->from_status == AM_FROM_MULTIPLE ?
		    "several From domains: the strictest decides" :
		    "malformed From: the strictest author domain decides");
}

void
am_authres_render(const struct am_verdict *v, const char *authserv_id, struct am_buf *out)
{
	am_buf_reset(out);
	am_buf_addc(out, ' ');
	add_value(out, authserv_id);
	render_spf(&v->spf, out);
	render_dkim(&v->dkim, out);
	render_dmarc(v, out);
}
