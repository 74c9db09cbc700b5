/*
 * domaincheck.c - the run of alignmilter-check's checks, the score and
 * the grade, and the human and JSON renderings (see domaincheck.h).
 *
 * Owns: the order of the parts (log, Easy DKIM, custom MAIL FROM, DMARC:
 * DMARC last because aspf=s matters only with a custom MAIL FROM), the
 * section caps, the DNS wrapper that turns SERVFAIL/timeouts into "could
 * not check", and zone-file quoting.  The parts live in domaincheck-*.c.
 * Errors and threads: see domaincheck.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/ses.h"

/* Application-specific. */
#include "domaincheck-int.h"

/* ---- scoring ---------------------------------------------------------------- */

unsigned
am_dc_section_cap(enum am_dc_section s)
{
	switch (s) {
	case AM_DC_SEC_DKIM:		return DC_CAP_DKIM;
	case AM_DC_SEC_MAIL_FROM:	return DC_CAP_MAIL_FROM;
	case AM_DC_SEC_DMARC:		return DC_CAP_DMARC;
	default:			return 0;
	}
}

char
am_dc_grade(unsigned score)
{
	if (score >= 90)
		return 'A';
	if (score >= 80)
		return 'B';
	if (score >= 70)
		return 'C';
	if (score >= 60)
		return 'D';
	return 'F';
}

/* Points the section has lost so far. */
static unsigned
dc_section_used(const struct am_dc_result *r, enum am_dc_section s)
{
	unsigned used = 0;
	size_t i;

	for (i = 0; i < r->count; i++)
		if (r->checks[i].section == s)
			used += r->checks[i].points;
	return used;
}

struct am_dc_check *
dc_add(struct dc_ctx *c, enum am_dc_section sec, const char *name, enum am_dc_status st,
    int hint, unsigned points, const char *fix, const char *detail_fmt, ...)
{
	struct am_dc_result *r = c->r;
	struct am_dc_check *k;
	unsigned used, cap;
	va_list ap;

	if (r->count == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->checks = am_xreallocarray(r->checks, r->cap, sizeof(*r->checks));
	}
	k = &r->checks[r->count++];
	memset(k, 0, sizeof(*k));
	am_strlcpy(k->name, name, sizeof(k->name));
	k->section = sec;
	k->status = st;
	k->hint = hint;
	k->fix = fix != NULL && fix[0] != '\0' ? am_xstrdup(fix) : NULL;
	va_start(ap, detail_fmt);
	vsnprintf(k->detail, sizeof(k->detail), detail_fmt, ap);
	va_end(ap);
	/* A pass never costs anything; each section loses at most its cap. */
	if (st == AM_DC_PASS)
		points = 0;
	used = dc_section_used(r, sec);
	cap = am_dc_section_cap(sec);
	k->points = used >= cap ? 0 : points > cap - used ? cap - used : points;
	if (k->points < points)
		am_strlcat(k->detail, k->points == 0 ? " (no points: section already at its cap)" :
		    " (points limited by the section cap)", sizeof(k->detail));
	return k;
}

/* ---- DNS -------------------------------------------------------------------- */

bool
dc_temp(const struct am_dns_answer *a)
{
	return a->status == AM_DNS_SERVFAIL || a->status == AM_DNS_TIMEOUT;
}

struct am_dns_answer *
dc_lookup(struct dc_ctx *c, const char *name, int rrtype)
{
	struct am_dns_answer *a = am_dns_lookup(c->res, name, rrtype);

	if (a == NULL)
		a = am_dns_answer_new(AM_DNS_TIMEOUT, rrtype);
	if (dc_temp(a) && !c->r->failed) {
		c->r->failed = true;
		snprintf(c->r->error, sizeof(c->r->error), "DNS %s for %s %s",
		    am_dns_status_name(a->status), name,
		    rrtype == AM_RR_TXT ? "TXT" : rrtype == AM_RR_MX ? "MX" :
		    rrtype == AM_RR_CNAME ? "CNAME" : "record");
	}
	return a;
}

/* ---- zone-file text ----------------------------------------------------------- */

void
dc_zone_nl(struct am_buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		am_buf_addc(b, '\n');
}

void
dc_zone_txt(struct am_buf *b, const char *owner, const char *text)
{
	size_t i, n = 0;

	am_buf_printf(b, "%s. TXT \"", owner);
	/* RFC 1035 character-strings hold 255 octets: longer text is split. */
	for (i = 0; text[i] != '\0'; i++) {
		if (n == 255) {
			am_buf_adds(b, "\" \"");
			n = 0;
		}
		if (text[i] == '"' || text[i] == '\\')
			am_buf_addc(b, '\\');
		am_buf_addc(b, text[i]);
		n++;
	}
	am_buf_addc(b, '"');
}

void
dc_zone_remove(struct am_buf *b, const char *line)
{
	am_buf_printf(b, "; remove: %s", line);
}

void
dc_zone_remove_txt(struct am_buf *b, const char *owner, const char *text)
{
	am_buf_adds(b, "; remove: ");
	dc_zone_txt(b, owner, text);
}

/* ---- the run -------------------------------------------------------------------- */

/* A DNS name of two or more labels, letters, digits, '-' and '_' only. */
static bool
dc_domain_ok(const char *d)
{
	size_t i, label = 0, labels = 1;

	if (d[0] == '\0' || strlen(d) > 253)
		return false;
	for (i = 0; d[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (ch == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
		} else if ((isalnum(ch) || ch == '-' || ch == '_') && ++label <= 63)
			continue;
		else
			return false;
	}
	return label > 0 && labels >= 2;
}

/* --mail-from: a full name under the domain, or one label to put before it. */
static bool
dc_mail_from_name(struct dc_ctx *c, const char *arg)
{
	char buf[AM_DOMAIN_MAX];

	if (am_strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf))
		return false;
	am_domain_normalize(buf);
	if (strchr(buf, '.') == NULL &&
	    (size_t)snprintf(c->mail_from, sizeof(c->mail_from), "%s.%s", buf, c->domain) <
	    sizeof(c->mail_from))
		return dc_domain_ok(c->mail_from);
	am_strlcpy(c->mail_from, buf, sizeof(c->mail_from));
	return dc_domain_ok(c->mail_from);
}

static void
dc_fail(struct am_dc_result *r, const char *what, const char *arg)
{
	r->failed = true;
	snprintf(r->error, sizeof(r->error), "%s%s", what, arg);
}

/* Sum the points, grade; a failed run keeps grade F and its error. */
static void
dc_score(struct am_dc_result *r)
{
	unsigned lost = 0;
	size_t i;

	for (i = 0; i < r->count; i++)
		lost += r->checks[i].points;
	r->score = lost >= 100 ? 0 : 100 - lost;
	r->grade = am_dc_grade(r->score);
}

struct am_dc_result *
am_dc_run(am_resolver *res, am_dmarc *dmarc, const struct am_dc_options *o)
{
	struct am_dc_result *r = am_xcalloc(1, sizeof(*r));
	struct dc_ctx c;
	char why[256];

	r->grade = 'F';
	memset(&c, 0, sizeof(c));
	c.res = res;
	c.dmarc = dmarc;
	c.r = r;
	c.domain = r->domain;
	if (o == NULL || o->domain == NULL ||
	    am_strlcpy(r->domain, o->domain, sizeof(r->domain)) >= sizeof(r->domain)) {
		dc_fail(r, "no domain given", "");
		return r;
	}
	am_domain_normalize(r->domain);
	if (!dc_domain_ok(r->domain)) {
		dc_fail(r, "not a domain name: ", o->domain);
		return r;
	}
	if (o->region != NULL)
		am_strlcpy(c.region, o->region, sizeof(c.region));
	if (o->mail_from != NULL && !dc_mail_from_name(&c, o->mail_from)) {
		dc_fail(r, "not a MAIL FROM domain name: ", o->mail_from);
		return r;
	}
	if (o->log_path != NULL) {
		if (!dc_log_scan(o->log_path, r->domain, &c.log, why, sizeof(why))) {
			dc_fail(r, why, "");
			return r;
		}
		c.have_log = true;
		if (c.region[0] == '\0')
			am_strlcpy(c.region, c.log.region, sizeof(c.region));
		if (c.mail_from[0] == '\0')
			am_strlcpy(c.mail_from, c.log.mail_from, sizeof(c.mail_from));
	}
	dc_check_dkim(&c, o);
	if (!r->failed)
		dc_check_mail_from(&c);
	if (!r->failed)
		dc_check_dmarc(&c);
	if (!r->failed)
		dc_score(r);
	return r;
}

void
am_dc_result_free(struct am_dc_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->count; i++)
		free(r->checks[i].fix);
	free(r->checks);
	free(r);
}

/* ---- rendering ------------------------------------------------------------------- */

static const char *
dc_status_name(enum am_dc_status s)
{
	return s == AM_DC_PASS ? "pass" : s == AM_DC_WARN ? "warn" : "fail";
}

void
am_dc_render_text(const struct am_dc_result *r, struct am_buf *out)
{
	size_t i;

	am_buf_printf(out, "%s: grade %c (%u/100)\n", r->domain, r->grade, r->score);
	for (i = 0; i < r->count; i++) {
		const struct am_dc_check *k = &r->checks[i];
		const char *p, *e;

		am_buf_printf(out, "%-4s %s", dc_status_name(k->status), k->name);
		if (k->points > 0)
			am_buf_printf(out, " (-%u)", k->points);
		if (k->hint >= 0)
			am_buf_printf(out, " [%s]", am_hint_name((enum am_hint)k->hint));
		am_buf_printf(out, ": %s\n", k->detail);
		/*
		 * Each zone-file line on its own at the left margin, ready to
		 * paste: a zone file takes a line that starts with a blank for
		 * one without an owner name.
		 */
		for (p = k->fix; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
			e = strchr(p, '\n');
			if (e == NULL)
				e = p + strlen(p);
			am_buf_printf(out, "%.*s\n", (int)(e - p), p);
		}
	}
}

static void
dc_json_str(struct am_buf *out, const char *s)
{
	if (s == NULL)
		am_buf_adds(out, "null");
	else
		am_json_string(out, s, strlen(s));
}

/* The fix's lines as a JSON array of strings ([] for no fix). */
static void
dc_json_lines(struct am_buf *out, const char *s)
{
	const char *e;

	am_buf_addc(out, '[');
	for (; s != NULL && *s != '\0'; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '\n')) == NULL)
			e = s + strlen(s);
		am_json_string(out, s, (size_t)(e - s));
		if (*e != '\0')
			am_buf_addc(out, ',');
	}
	am_buf_addc(out, ']');
}

void
am_dc_render_json(const struct am_dc_result *r, struct am_buf *out)
{
	size_t i;

	am_buf_adds(out, "{\"domain\":");
	dc_json_str(out, r->domain);
	am_buf_printf(out, ",\"grade\":\"%c\",\"score\":%u,\"checks\":[", r->grade, r->score);
	for (i = 0; i < r->count; i++) {
		const struct am_dc_check *k = &r->checks[i];

		am_buf_adds(out, i ? ",{\"name\":" : "{\"name\":");
		dc_json_str(out, k->name);
		am_buf_printf(out, ",\"status\":\"%s\",\"hint\":", dc_status_name(k->status));
		dc_json_str(out, k->hint >= 0 ? am_hint_name((enum am_hint)k->hint) : NULL);
		am_buf_adds(out, ",\"fix\":");
		dc_json_str(out, k->fix);
		am_buf_adds(out, ",\"records\":");
		dc_json_lines(out, k->fix);
		am_buf_printf(out, ",\"points\":%u,\"detail\":", k->points);
		dc_json_str(out, k->detail);
		am_buf_addc(out, '}');
	}
	am_buf_adds(out, "]}\n");
}
