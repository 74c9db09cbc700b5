/*
 * fakezone.c - an in-process DNS zone for unit tests (see fakezone.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fakezone.h"
#include "util/util.h"

struct fz_rec {
	char	*name;
	int	rrtype;			/* 0 with forced status: any type */
	int	forced;			/* forced status, -1 if none */
	unsigned char *data;
	size_t	len;
	unsigned pref;
};

struct fakezone {
	struct fz_rec *rec;
	size_t	count;
	unsigned queries;
};

struct fakezone *
fz_new(void)
{
	return am_xcalloc(1, sizeof(struct fakezone));
}

void
fz_clear(struct fakezone *fz)
{
	size_t i;

	for (i = 0; i < fz->count; i++) {
		free(fz->rec[i].name);
		free(fz->rec[i].data);
	}
	free(fz->rec);
	fz->rec = NULL;
	fz->count = 0;
}

void
fz_free(struct fakezone *fz)
{
	if (fz == NULL)
		return;
	fz_clear(fz);
	free(fz);
}

static struct fz_rec *
fz_push(struct fakezone *fz, const char *name, int rrtype)
{
	struct fz_rec *r;
	char *n;

	fz->rec = am_xreallocarray(fz->rec, fz->count + 1, sizeof(*fz->rec));
	r = &fz->rec[fz->count++];
	memset(r, 0, sizeof(*r));
	n = am_xstrdup(name);
	am_domain_normalize(n);
	r->name = n;
	r->rrtype = rrtype;
	r->forced = -1;
	return r;
}

void
fz_add(struct fakezone *fz, const char *name, int rrtype, const void *data, size_t len, unsigned pref)
{
	struct fz_rec *r = fz_push(fz, name, rrtype);

	r->data = am_xmalloc(len + 1);
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	r->len = len;
	r->pref = pref;
}

void
fz_add_txt(struct fakezone *fz, const char *name, const char *text)
{
	fz_add(fz, name, AM_RR_TXT, text, strlen(text), 0);
}

void
fz_add_a(struct fakezone *fz, const char *name, const char *ipv4)
{
	unsigned char b[4];

	if (inet_pton(AF_INET, ipv4, b) == 1)
		fz_add(fz, name, AM_RR_A, b, sizeof(b), 0);
}

void
fz_add_aaaa(struct fakezone *fz, const char *name, const char *ipv6)
{
	unsigned char b[16];

	if (inet_pton(AF_INET6, ipv6, b) == 1)
		fz_add(fz, name, AM_RR_AAAA, b, sizeof(b), 0);
}

void
fz_add_mx(struct fakezone *fz, const char *name, unsigned pref, const char *host)
{
	fz_add(fz, name, AM_RR_MX, host, strlen(host), pref);
}

void
fz_add_ptr(struct fakezone *fz, const char *name, const char *host)
{
	fz_add(fz, name, AM_RR_PTR, host, strlen(host), 0);
}

void
fz_add_cname(struct fakezone *fz, const char *alias, const char *target)
{
	fz_add(fz, alias, AM_RR_CNAME, target, strlen(target), 0);
}

void
fz_set_status(struct fakezone *fz, const char *name, int rrtype, enum am_dns_status st)
{
	struct fz_rec *r = fz_push(fz, name, rrtype);

	r->forced = (int)st;
}

unsigned
fz_queries(const struct fakezone *fz)
{
	return fz->queries;
}

/* A name exists when it or a name below it owns a record. */
static int
fz_name_exists(const struct fakezone *fz, const char *name)
{
	size_t i;

	for (i = 0; i < fz->count; i++)
		if (fz->rec[i].forced < 0 && am_domain_is_under(fz->rec[i].name, name))
			return 1;
	return 0;
}

static const struct fz_rec *
fz_forced(const struct fakezone *fz, const char *name, int rrtype)
{
	size_t i;

	for (i = 0; i < fz->count; i++)
		if (fz->rec[i].forced >= 0 && strcasecmp(fz->rec[i].name, name) == 0 &&
		    (fz->rec[i].rrtype == 0 || fz->rec[i].rrtype == rrtype))
			return &fz->rec[i];
	return NULL;
}

static const struct fz_rec *
fz_cname(const struct fakezone *fz, const char *name)
{
	size_t i;

	for (i = 0; i < fz->count; i++)
		if (fz->rec[i].forced < 0 && fz->rec[i].rrtype == AM_RR_CNAME &&
		    strcasecmp(fz->rec[i].name, name) == 0)
			return &fz->rec[i];
	return NULL;
}

struct am_dns_answer *
fz_backend(void *arg, const char *qname, int rrtype)
{
	struct fakezone *fz = arg;
	struct am_dns_answer *a;
	const struct fz_rec *f, *c;
	char name[256];
	size_t i;
	int hops;

	fz->queries++;
	am_strlcpy(name, qname, sizeof(name));
	am_domain_normalize(name);
	for (hops = 0; hops < 8 && rrtype != AM_RR_CNAME && (c = fz_cname(fz, name)) != NULL; hops++)
		am_strlcpy(name, (const char *)c->data, sizeof(name));
	if ((f = fz_forced(fz, name, rrtype)) != NULL) {
		if (f->forced == AM_DNS_TIMEOUT)
			return NULL;
		a = am_dns_answer_new((enum am_dns_status)f->forced, rrtype);
		am_strlcpy(a->canonname, name, sizeof(a->canonname));
		return a;
	}
	a = am_dns_answer_new(fz_name_exists(fz, name) ? AM_DNS_NODATA : AM_DNS_NXDOMAIN, rrtype);
	am_strlcpy(a->canonname, name, sizeof(a->canonname));
	a->ttl = 300;
	for (i = 0; i < fz->count; i++)
		if (fz->rec[i].forced < 0 && fz->rec[i].rrtype == rrtype &&
		    strcasecmp(fz->rec[i].name, name) == 0)
			am_dns_answer_add(a, fz->rec[i].data, fz->rec[i].len, fz->rec[i].pref);
	return a;
}
