/*
 * dkim-dns.c - libopendkim's DNS hooks, answered by am_resolver.
 *
 * Owns: the query hooks of the shared DKIM_LIB (start, wait, cancel) and
 * the DNS response packet synthesised from an am_resolver answer, which
 * is what libopendkim's dkim_get_key_dns() parses: header, the question,
 * one TXT RR per record.
 *
 * Errors: nothing is logged.  SERVFAIL, timeouts and a packet that cannot
 * be built go back to libopendkim as DKIM_DNS_ERROR (it reports KEYFAIL:
 * temperror); NXDOMAIN and names that cannot exist in the DNS as an
 * NXDOMAIN packet (NOKEY: key not found); a record too long for
 * libopendkim's buffer as its head, which fails to decode (permerror).
 * Out of memory aborts.
 *
 * Threads: any; the hooks are called from the thread verifying a message,
 * and one query handle lives for one lookup.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <dkim.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dkim-int.h"

#define DNS_HFIXEDSZ	12
#define DNS_T_TXT	16
#define DNS_C_IN	1
#define DNS_RCODE_NXDOMAIN 3

/* One libopendkim DNS query. */
struct dkim_query {
	am_dns_query *q;		/* NULL once waited for (or never started) */
	struct am_dns_answer *ans;
	unsigned char *buf;		/* libopendkim's answer buffer */
	size_t	buflen;
	int	qtype;
	char	qname[256];
	bool	bad_name;		/* not encodable: answer NXDOMAIN */
};

/* Encode a text name as wire labels; 0 when it cannot be encoded. */
static size_t
put_name(unsigned char *p, size_t room, const char *name)
{
	size_t o = 0, total = 0;
	const char *l = name, *dot;

	if (*l == '\0' || strcmp(l, ".") == 0) {
		if (room < 1)
			return 0;
		p[0] = 0;
		return 1;
	}
	for (;;) {
		size_t n;

		dot = strchr(l, '.');
		n = dot != NULL ? (size_t)(dot - l) : strlen(l);
		if (n == 0) {
			if (dot == NULL || dot[1] != '\0')
				return 0;	/* empty label inside the name */
			break;			/* trailing dot */
		}
		if (n > 63 || o + 1 + n + 1 > room)
			return 0;
		p[o++] = (unsigned char)n;
		memcpy(p + o, l, n);
		o += n;
		total += n + 1;
		if (dot == NULL)
			break;
		l = dot + 1;
		if (*l == '\0')
			break;
	}
	if (total + 1 > 255)
		return 0;
	p[o++] = 0;
	return o;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, unsigned long v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * Append one TXT RR (owner: pointer to the question name) whose text is
 * split into <=255-byte character-strings.  Returns bytes written, 0 when
 * it does not fit.
 */
static size_t
put_txt_rr(unsigned char *p, size_t room, const unsigned char *txt, size_t len, unsigned ttl)
{
	size_t nstr = len == 0 ? 1 : (len + 254) / 255;
	size_t rdlen = len + nstr, o, off;

	if (rdlen > 65535 || 12 + rdlen > room)
		return 0;
	p[0] = 0xc0;			/* compression pointer to offset 12 */
	p[1] = DNS_HFIXEDSZ;
	put16(p + 2, DNS_T_TXT);
	put16(p + 4, DNS_C_IN);
	put32(p + 6, ttl);
	put16(p + 10, (unsigned)rdlen);
	o = 12;
	off = 0;
	do {
		size_t n = len - off > 255 ? 255 : len - off;

		p[o++] = (unsigned char)n;
		memcpy(p + o, txt + off, n);
		o += n;
		off += n;
	} while (off < len);
	return o;
}

/*
 * Build the response libopendkim's dkim_get_key_dns() parses: header
 * (rcode, counts), the question, one TXT RR per record.  Records that do
 * not fit set TC, which libopendkim treats as a key lookup failure.
 */
static size_t
synth_packet(struct dkim_query *dq, int rcode)
{
	unsigned char *p = dq->buf;
	size_t room = dq->buflen, o, n, i, ancount = 0;
	const struct am_dns_answer *a = dq->ans;
	bool tc = false;

	if (room < DNS_HFIXEDSZ + 1 + 4)
		return 0;
	memset(p, 0, DNS_HFIXEDSZ);
	o = DNS_HFIXEDSZ;
	n = dq->bad_name ? 0 : put_name(p + o, room - o - 4, dq->qname);
	if (n == 0) {
		n = put_name(p + o, room - o - 4, ".");
		rcode = DNS_RCODE_NXDOMAIN;
	}
	o += n;
	put16(p + o, (unsigned)dq->qtype);
	put16(p + o + 2, DNS_C_IN);
	o += 4;
	if (rcode == 0 && a != NULL && a->status == AM_DNS_OK && a->rrtype == dq->qtype &&
	    dq->qtype == DNS_T_TXT) {
		for (i = 0; i < a->count; i++) {
			size_t tlen = a->rr[i].len;

			/*
			 * A record longer than libopendkim's answer buffer (8 KiB)
			 * cannot be a usable key: hand over its head, which then
			 * fails to decode (permerror), rather than "no record"
			 * (which would claim the key does not exist) or a DNS error
			 * (which would invite a retry that cannot succeed).
			 */
			if (ancount == 0 && room - o > 13 && tlen + (tlen + 254) / 255 > room - o - 12)
				tlen = (room - o - 13) * 255 / 256;
			n = put_txt_rr(p + o, room - o, a->rr[i].data, tlen, a->ttl);
			if (n == 0) {
				tc = true;
				break;
			}
			o += n;
			ancount++;
		}
	}
	p[2] = 0x81 | (tc ? 0x02 : 0);	/* QR, RD, TC */
	p[3] = 0x80 | (unsigned char)(rcode & 0x0f);	/* RA, rcode */
	put16(p + 4, 1);
	put16(p + 6, (unsigned)ancount);
	return o;
}

static int
dns_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen, void **qh)
{
	struct dkim_query *dq;
	unsigned char tmp[256];

	if (srv == NULL || query == NULL || buf == NULL || qh == NULL)
		return -1;
	dq = am_xcalloc(1, sizeof(*dq));
	dq->buf = buf;
	dq->buflen = buflen;
	dq->qtype = type;
	if (am_strlcpy(dq->qname, (const char *)query, sizeof(dq->qname)) >= sizeof(dq->qname) ||
	    put_name(tmp, sizeof(tmp), dq->qname) == 0)
		dq->bad_name = true;	/* cannot exist in the DNS */
	else
		dq->q = am_dns_start(srv, dq->qname, type);
	*qh = dq;
	return 0;
}

static int
dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error, int *dnssec)
{
	struct dkim_query *dq = qh;
	size_t len;
	int rcode = 0;

	(void)srv;
	(void)to;			/* the resolver's own deadline applies */
	if (dq == NULL)
		return DKIM_DNS_INVALID;
	if (dq->q != NULL) {
		dq->ans = am_dns_wait(dq->q);
		dq->q = NULL;
	}
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = dq->ans != NULL && dq->ans->secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
	if (!dq->bad_name) {
		if (dq->ans == NULL)
			return DKIM_DNS_ERROR;
		switch (dq->ans->status) {
		case AM_DNS_OK:
		case AM_DNS_NODATA:
			break;
		case AM_DNS_NXDOMAIN:
			rcode = DNS_RCODE_NXDOMAIN;
			break;
		case AM_DNS_SERVFAIL:
		case AM_DNS_TIMEOUT:
		default:
			/* temporary: libopendkim turns this into KEYFAIL */
			return DKIM_DNS_ERROR;
		}
	}
	len = synth_packet(dq, rcode);
	if (len == 0)
		return DKIM_DNS_ERROR;
	if (bytes != NULL)
		*bytes = len;
	return DKIM_DNS_SUCCESS;
}

/* libopendkim calls this after every waitreply (and on failure paths). */
static int
dns_cancel(void *srv, void *qh)
{
	struct dkim_query *dq = qh;

	(void)srv;
	if (dq == NULL)
		return 0;
	if (dq->q != NULL)
		am_dns_cancel(dq->q);
	am_dns_answer_free(dq->ans);
	free(dq);
	return 0;
}

void
am_dkim_dns_install(DKIM_LIB *lib, am_resolver *res)
{
	/*
	 * Our resolver, our hooks.  The default close hook would call
	 * res_nclose() on our pointer inside dkim_close(): clear them all.
	 */
	dkim_dns_set_init(lib, NULL);
	dkim_dns_set_close(lib, NULL);
	dkim_dns_set_nslist(lib, NULL);
	dkim_dns_set_config(lib, NULL);
	dkim_dns_set_trustanchor(lib, NULL);
	(void)dkim_dns_set_query_service(lib, res);
	dkim_dns_set_query_start(lib, dns_start);
	dkim_dns_set_query_waitreply(lib, dns_waitreply);
	dkim_dns_set_query_cancel(lib, dns_cancel);
}
