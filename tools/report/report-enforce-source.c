/*
 * report-enforce-source.c - the sending source of a message, for
 * alignmilter-report --enforce (report-enforce.h says how the family
 * fails and who may call it).
 *
 * Owns: the grouping rule of alignmilter-report(1): Amazon SES mail by
 * region and MAIL FROM kind (default: SES's own amazonses.com envelope
 * domain; custom: one of the sender's), other mail by the client's /24
 * (IPv4, also when written as an IPv4-mapped IPv6 address) or /48 (IPv6)
 * together with the organizational domain of its HELO name (the Public
 * Suffix List's, as lib/auth computes it; the HELO name itself, lower
 * case, when it has none, e.g. an address literal).  No ASN data: a
 * network and a name are what the log holds.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Application-specific. */
#include "report-enforce.h"

#define HELO_SHOWN 64			/* a HELO without an org domain, cut */

/* "192.0.2.0/24", "2001:db8:1::/48", or "" for what is not an address. */
static void
network_of(const char *ip, char *out, size_t len)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, len, "%u.%u.%u.0/24", a[0], a[1], a[2]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			snprintf(out, len, "%u.%u.%u.0/24", a[12], a[13], a[14]);
			return;
		}
		memset(a + 6, 0, 10);
		if (inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL)
			snprintf(out, len, "%s/48", text);
	}
}

static void
helo_domain_of(const am_enforce *e, const char *helo, char *out, size_t len)
{
	char name[AM_DOMAIN_MAX];

	am_strlcpy(name, helo, sizeof(name));
	am_domain_normalize(name);
	if (am_dmarc_org_domain(e->dmarc, name, out, len))
		return;
	/* No org domain (an address literal, a bare word): the name, cut. */
	snprintf(out, len, "%.*s", HELO_SHOWN, name);
}

void
am_enforce_source_of(const am_enforce *e, const struct am_verdict *v, struct am_esource *s,
    char label[AM_ENFORCE_LABEL_MAX])
{
	char net[INET6_ADDRSTRLEN + 8], helo[AM_DOMAIN_MAX];

	s->ses = v->ses.is_ses;
	if (s->ses) {
		s->default_mail_from = v->ses.default_mail_from;
		s->region = am_xstrdup(v->ses.region);
		snprintf(label, AM_ENFORCE_LABEL_MAX, "SES %s %s MAIL FROM",
		    v->ses.region[0] ? v->ses.region : "(region unknown)",
		    v->ses.default_mail_from ? "default" : "custom");
		return;
	}
	network_of(v->client_ip, net, sizeof(net));
	helo_domain_of(e, v->helo, helo, sizeof(helo));
	s->network = am_xstrdup(net);
	s->helo_domain = am_xstrdup(helo);
	snprintf(label, AM_ENFORCE_LABEL_MAX, "%s %s%s", net[0] ? net : "(unknown address)",
	    helo[0] ? "helo " : "no HELO", helo);
}
