/*
 * dnscache.c - the resolver's in-process answer cache (see dnscache.h).
 *
 * A chained hash table keyed by (lower-cased name, type).  TTLs are
 * honoured as given, capped at MAX_TTL; a zero TTL is not cached.  When
 * full, expired entries go first, then those added more than MAX_TTL / 2
 * ago, and if still full everything.  Errors and threads: see dnscache.h.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/dnscache.h"

#define BUCKETS	4096			/* power of two */
#define MAX_TTL	3600

struct entry {
	struct entry *next;
	uint64_t hash;
	int	rrtype;
	time_t	expires;		/* CLOCK_MONOTONIC seconds */
	time_t	added;
	struct am_dns_answer *answer;
	char	name[];			/* lower case, no trailing dot */
};

struct am_dnscache {
	pthread_rwlock_t lock;
	struct entry *bucket[BUCKETS];
	size_t	count, max;
};

static time_t
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Lower-cased copy without a trailing dot, and its hash (FNV-1a). */
static uint64_t
key_of(const char *name, char *out, size_t outlen)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= outlen)
		len = outlen - 1;
	for (i = 0; i < len; i++) {
		out[i] = (char)tolower((unsigned char)name[i]);
		h = (h ^ (unsigned char)out[i]) * 1099511628211ULL;
	}
	out[len] = '\0';
	return h;
}

am_dnscache *
am_dnscache_new(size_t max_entries)
{
	am_dnscache *c = am_xcalloc(1, sizeof(*c));

	pthread_rwlock_init(&c->lock, NULL);
	c->max = max_entries;
	return c;
}

static void
entry_free(struct entry *e)
{
	am_dns_answer_free(e->answer);
	free(e);
}

void
am_dnscache_free(am_dnscache *c)
{
	size_t i;
	struct entry *e, *next;

	if (c == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		for (e = c->bucket[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

struct am_dns_answer *
am_dns_answer_copy(const struct am_dns_answer *a)
{
	struct am_dns_answer *c = am_dns_answer_new(a->status, a->rrtype);
	size_t i;

	for (i = 0; i < a->count; i++)
		am_dns_answer_add(c, a->rr[i].data, a->rr[i].len, a->rr[i].mx_pref);
	c->status = a->status;
	c->ttl = a->ttl;
	c->secure = a->secure;
	memcpy(c->canonname, a->canonname, sizeof(c->canonname));
	return c;
}

struct am_dns_answer *
am_dnscache_get(am_dnscache *c, const char *name, int rrtype)
{
	char key[256];
	uint64_t h = key_of(name, key, sizeof(key));
	struct am_dns_answer *copy = NULL;
	struct entry *e;
	time_t now = now_seconds();

	pthread_rwlock_rdlock(&c->lock);
	for (e = c->bucket[h & (BUCKETS - 1)]; e != NULL; e = e->next) {
		if (e->hash == h && e->rrtype == rrtype && strcmp(e->name, key) == 0) {
			if (e->expires > now) {
				copy = am_dns_answer_copy(e->answer);
				copy->ttl = (unsigned)(e->expires - now);
			}
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return copy;
}

/* Called with the write lock: drop expired entries, then if still full, the older half. */
static void
make_room(am_dnscache *c, time_t now)
{
	size_t i;
	time_t cutoff = now;
	int pass;

	for (pass = 0; pass < 2 && c->count >= c->max; pass++) {
		if (pass == 1)		/* entries added before the midpoint of the oldest and now */
			cutoff = now - MAX_TTL / 2;
		for (i = 0; i < BUCKETS; i++) {
			struct entry **pp = &c->bucket[i], *e;

			while ((e = *pp) != NULL) {
				if ((pass == 0 && e->expires <= now) || (pass == 1 && e->added <= cutoff)) {
					*pp = e->next;
					entry_free(e);
					c->count--;
				} else
					pp = &e->next;
			}
		}
	}
	if (c->count >= c->max) {	/* everything is young: start over */
		for (i = 0; i < BUCKETS; i++) {
			struct entry *e, *next;

			for (e = c->bucket[i]; e != NULL; e = next) {
				next = e->next;
				entry_free(e);
			}
			c->bucket[i] = NULL;
		}
		c->count = 0;
	}
}

void
am_dnscache_put(am_dnscache *c, const char *name, int rrtype, const struct am_dns_answer *a)
{
	char key[256];
	uint64_t h;
	struct entry *e, **pp;
	time_t now = now_seconds();
	size_t klen;

	if (a->ttl == 0 || (a->status != AM_DNS_OK && a->status != AM_DNS_NXDOMAIN &&
	    a->status != AM_DNS_NODATA))
		return;
	h = key_of(name, key, sizeof(key));
	klen = strlen(key);
	e = am_xmalloc(sizeof(*e) + klen + 1);
	memcpy(e->name, key, klen + 1);
	e->hash = h;
	e->rrtype = rrtype;
	e->added = now;
	e->expires = now + (a->ttl > MAX_TTL ? MAX_TTL : (time_t)a->ttl);
	e->answer = am_dns_answer_copy(a);
	pthread_rwlock_wrlock(&c->lock);
	/* Replace an entry for the same key. */
	for (pp = &c->bucket[h & (BUCKETS - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && (*pp)->rrtype == rrtype && strcmp((*pp)->name, key) == 0) {
			struct entry *old = *pp;

			e->next = old->next;
			*pp = e;
			pthread_rwlock_unlock(&c->lock);
			entry_free(old);
			return;
		}
	}
	if (c->count >= c->max)
		make_room(c, now);
	e->next = c->bucket[h & (BUCKETS - 1)];
	c->bucket[h & (BUCKETS - 1)] = e;
	c->count++;
	pthread_rwlock_unlock(&c->lock);
}
