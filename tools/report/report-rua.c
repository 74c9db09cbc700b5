/*
 * report-rua.c - the destinations of an aggregate report (see
 * report-rua.h, which also says how it fails and who may call it).
 * Section numbers are draft-ietf-dmarc-aggregate-reporting-32's
 * ("draft-32") and draft-ietf-dmarc-dmarcbis-41's; RFC 9990 and RFC 9989
 * follow them.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dmarc.h"

/* Application-specific. */
#include "report-rua.h"

const char *
am_rua_state_name(enum am_rua_state s)
{
	switch (s) {
	case AM_RUA_INTERNAL: return "internal";
	case AM_RUA_AUTHORIZED: return "authorized";
	case AM_RUA_UNAUTHORIZED: return "unauthorized";
	case AM_RUA_TEMPFAIL: return "temperror";
	default: return "unusable";
	}
}

/* The TXT records at name that are DMARC records (v=DMARC1 first); -1 on a DNS failure. */
static int
dmarc_txt(am_resolver *res, const char *name, char *first, size_t firstlen, enum am_dns_status *st)
{
	struct am_dns_answer *a = am_dns_lookup(res, name, AM_RR_TXT);
	size_t i;
	int n = 0;

	*st = a != NULL ? a->status : AM_DNS_TIMEOUT;
	if (a == NULL || a->status == AM_DNS_SERVFAIL || a->status == AM_DNS_TIMEOUT) {
		am_dns_answer_free(a);
		return -1;
	}
	for (i = 0; a->status == AM_DNS_OK && i < a->count; i++) {
		if (!am_dmarc_is_record((const char *)a->rr[i].data))
			continue;
		if (n++ == 0)
			am_strlcpy(first, (const char *)a->rr[i].data, firstlen);
	}
	am_dns_answer_free(a);
	return n;
}

int
am_rua_record(am_resolver *res, const char *domain, char *rua, size_t rualen, char *why, size_t whylen)
{
	char name[AM_DOMAIN_MAX + 8], rec[4096];
	struct am_dmarc_record r;
	enum am_dns_status st;
	int n;

	rua[0] = why[0] = '\0';
	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) >= sizeof(name) || strlen(name) > 253) {
		snprintf(why, whylen, "_dmarc.%s is too long a name", domain);
		return 0;
	}
	if ((n = dmarc_txt(res, name, rec, sizeof(rec), &st)) < 0) {
		snprintf(why, whylen, "DNS %s looking up %s TXT", am_dns_status_name(st), name);
		return -1;
	}
	if (n != 1) {
		/* dmarcbis-41 4.10: several records are no record. */
		snprintf(why, whylen, n == 0 ? "no DMARC record at %s now" :
		    "more than one DMARC record at %s now", name);
		return 0;
	}
	am_dmarc_parse_record(rec, AM_DMARC_RFC9989, &r);
	am_strlcpy(rua, r.rua, rualen);
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "!10m" into bytes (dmarcbis-41 4.7 dmarc-uri: 1*DIGIT [k/m/g/t], 1024-based). */
static bool
parse_limit(const char *s, unsigned long long *out)
{
	unsigned long long n = 0;
	unsigned shift = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > 1000000000000ULL)
			return false;
		n = n * 10 + (unsigned long long)(*s - '0');
	}
	switch (tolower((unsigned char)*s)) {
	case '\0': break;
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	default: return false;
	}
	if (*s != '\0' && s[1] != '\0')
		return false;
	*out = n > (~0ULL >> shift) ? ~0ULL : n << shift;
	return true;
}

/* One URI into r (state UNUSABLE with why when it cannot be used). */
static void
parse_one(const char *uri, size_t n, struct am_rua *r)
{
	const char *bang, *end;
	size_t o = 0;
	char lim[32];

	memset(r, 0, sizeof(*r));
	snprintf(r->uri, sizeof(r->uri), "%.*s", (int)n, uri);
	bang = memchr(uri, '!', n);
	end = bang != NULL ? bang : uri + n;
	if (bang != NULL) {
		snprintf(lim, sizeof(lim), "%.*s", (int)(uri + n - bang - 1), bang + 1);
		if (!parse_limit(lim, &r->limit)) {
			snprintf(r->why, sizeof(r->why), "bad size limit \"!%s\"", lim);
			return;
		}
	}
	if ((size_t)(end - uri) <= 7 || strncasecmp(uri, "mailto:", 7) != 0) {
		snprintf(r->why, sizeof(r->why), "not a mailto: URI (only mail is sent)");
		return;
	}
	for (uri += 7; uri < end && *uri != '?' && o + 1 < sizeof(r->addr); uri++) {
		int h, l;

		if (*uri == '%' && end - uri >= 3 && (h = hexval(uri[1])) >= 0 && (l = hexval(uri[2])) >= 0) {
			r->addr[o++] = (char)(h * 16 + l);
			uri += 2;
		} else {
			r->addr[o++] = *uri;
		}
	}
	r->addr[o] = '\0';
	if (!am_mailbox_is_plain(r->addr)) {
		snprintf(r->why, sizeof(r->why), "\"%.80s\" is not a plain local@domain address", r->addr);
		r->addr[0] = '\0';
		return;
	}
	am_strlcpy(r->host, strchr(r->addr, '@') + 1, sizeof(r->host));
	am_domain_normalize(r->host);
	r->state = AM_RUA_INTERNAL;	/* until am_rua_verify() says otherwise */
}

size_t
am_rua_parse(const char *list, struct am_rua *out, size_t max)
{
	size_t n = 0;

	/* draft-32 3.5: every URI in the order given, up to the receiver's limit. */
	while (*list != '\0' && n < max) {
		const char *e = strchr(list, ',');
		size_t len = e != NULL ? (size_t)(e - list) : strlen(list);

		while (len > 0 && (*list == ' ' || *list == '\t')) {
			list++;
			len--;
		}
		while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
			len--;
		if (len > 0)
			parse_one(list, len, &out[n++]);
		if (e == NULL)
			break;
		list = e + 1;
	}
	return n;
}

/*
 * draft-32 4 step 9: the authorising record's rua= replaces the URI, but
 * only with URIs of the same destination host; one naming another host
 * voids both.  The first usable one is taken.
 */
static void
apply_override(struct am_rua *r, const char *rec)
{
	struct am_dmarc_record d;
	struct am_rua o[AM_RUA_MAX];
	size_t n, i;

	am_dmarc_parse_record(rec, AM_DMARC_RFC9989, &d);
	if (d.rua[0] == '\0')
		return;
	n = am_rua_parse(d.rua, o, AM_RUA_MAX);
	for (i = 0; i < n; i++) {
		if (o[i].state != AM_RUA_UNUSABLE && strcmp(o[i].host, r->host) != 0) {
			r->state = AM_RUA_UNAUTHORIZED;
			snprintf(r->why, sizeof(r->why), "the authorising record's rua= names another host"
			    " (%.80s): neither gets the report (draft-32 4)", o[i].host);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		if (o[i].state == AM_RUA_UNUSABLE)
			continue;
		am_strlcpy(r->addr, o[i].addr, sizeof(r->addr));
		r->limit = o[i].limit;
		snprintf(r->why, sizeof(r->why), "authorised; its record overrides the address (draft-32 4 step 9)");
		return;
	}
}

void
am_rua_verify(am_resolver *res, const char *policy_domain, const char *org_domain, struct am_rua *r)
{
	const char *org = org_domain != NULL && org_domain[0] != '\0' ? org_domain : policy_domain;
	char name[600], rec[4096];
	enum am_dns_status st;
	int n;

	if (r->state == AM_RUA_UNUSABLE)
		return;
	/* draft-32 4: only a host outside the Policy Domain's organizational domain is checked. */
	if (am_domain_is_under(r->host, org)) {
		r->state = AM_RUA_INTERNAL;
		return;
	}
	/* Steps 1-4: <policy-domain>._report._dmarc.<destination host>, within DNS limits. */
	if ((size_t)snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain, r->host) >=
	    sizeof(name) || strlen(name) > 253) {
		r->state = AM_RUA_UNAUTHORIZED;
		snprintf(r->why, sizeof(r->why), "the authorising name would be over 253 octets (draft-32 4 step 4)");
		return;
	}
	/* Steps 5-8: at least one TXT record starting v=DMARC1. */
	if ((n = dmarc_txt(res, name, rec, sizeof(rec), &st)) < 0) {
		r->state = AM_RUA_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "DNS %s looking up %.200s TXT: tried again next run",
		    am_dns_status_name(st), name);
		return;
	}
	if (n == 0) {
		r->state = AM_RUA_UNAUTHORIZED;
		snprintf(r->why, sizeof(r->why), "external destination not authorised: no v=DMARC1 TXT"
		    " record at %.200s (draft-32 4)", name);
		return;
	}
	r->state = AM_RUA_AUTHORIZED;
	snprintf(r->why, sizeof(r->why), "authorised by %.200s", name);
	apply_override(r, rec);
}
