/*
 * dnscache.c - the resolver's in-process answer cache (see dnscache.h).
 *
 * A chained hash table keyed by (lower-cased name, type), with every
 * entry also on a doubly linked recency list (newest first).  TTLs are
 * honoured as given, capped at MAX_TTL; a zero TTL is not cached.  When a
 * new entry does not fit in max_bytes, the oldest-used entries are
 * evicted one by one until it does; they are freed after the lock is
 * dropped.  Errors and threads: see dnscache.h.
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
	struct entry *next;		/* hash chain (or the list of evicted entries) */
	struct entry *newer, *older;	/* recency list */
	uint64_t hash;
	size_t	bytes;			/* charged: am_dnscache_entry_bytes() */
	int	rrtype;
	time_t	expires;		/* CLOCK_MONOTONIC seconds */
	struct am_dns_answer *answer;
	char	name[];			/* lower case, no trailing dot */
};

struct am_dnscache {
	pthread_rwlock_t lock;		/* the table, the list ends and the counters */
	pthread_mutex_t lru_mu;		/* a reader's splice to the recent end */
	struct entry *bucket[BUCKETS];
	struct entry *newest, *oldest;
	size_t	bytes, count;		/* charged, held */
	size_t	max_bytes, entry_max;
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
am_dnscache_new(size_t max_bytes)
{
	am_dnscache *c = am_xcalloc(1, sizeof(*c));

	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->lru_mu, NULL);
	c->max_bytes = max_bytes;
	/* One answer may take an eighth at most: a single huge one cannot
	 * empty the cache, and a small cache still holds several. */
	c->entry_max = max_bytes / 8 < AM_DNSCACHE_ENTRY_MAX ? max_bytes / 8 : AM_DNSCACHE_ENTRY_MAX;
	return c;
}

/* A malloc(n) as glibc carves it on 64-bit: n plus an 8-byte header, in 16-byte steps, 32 at least. */
static size_t
chunk(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;

	return c < 32 ? 32 : c;
}

/* The entry with its key, the answer, its record array, each record (+ NUL). */
static size_t
entry_bytes(size_t klen, const struct am_dns_answer *a)
{
	size_t i, n;

	n = chunk(sizeof(struct entry) + klen + 1) + chunk(sizeof(*a));
	if (a->count > 0)
		n += chunk(a->count * sizeof(a->rr[0]));
	for (i = 0; i < a->count; i++)
		n += chunk(a->rr[i].len + 1);
	return n;
}

size_t
am_dnscache_entry_bytes(const char *name, const struct am_dns_answer *a)
{
	char key[256];

	(void)key_of(name, key, sizeof(key));
	return entry_bytes(strlen(key), a);
}

void
am_dnscache_usage(am_dnscache *c, size_t *bytes, size_t *entries)
{
	pthread_rwlock_rdlock(&c->lock);
	*bytes = c->bytes;
	*entries = c->count;
	pthread_rwlock_unlock(&c->lock);
}

/* The recency list: callers hold the write lock, or the read lock and lru_mu. */
static void
lru_unlink(am_dnscache *c, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(am_dnscache *c, struct entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
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
	pthread_mutex_destroy(&c->lru_mu);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

struct am_dns_answer *
am_dns_answer_copy(const struct am_dns_answer *a)
{
	struct am_dns_answer *c = am_dns_answer_new(a->status, a->rrtype);
	size_t i;

	/* The record array in one piece: the size entry_bytes() charges. */
	if (a->count > 0)
		c->rr = am_xreallocarray(NULL, a->count, sizeof(c->rr[0]));
	for (i = 0; i < a->count; i++) {
		c->rr[i].data = am_xmalloc(a->rr[i].len + 1);
		memcpy(c->rr[i].data, a->rr[i].data, a->rr[i].len);
		c->rr[i].data[a->rr[i].len] = '\0';
		c->rr[i].len = a->rr[i].len;
		c->rr[i].mx_pref = a->rr[i].mx_pref;
	}
	c->count = a->count;
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
				/* Used: to the recent end.  Other readers may be
				 * splicing too; the write lock keeps evictions out. */
				pthread_mutex_lock(&c->lru_mu);
				lru_unlink(c, e);
				lru_push(c, e);
				pthread_mutex_unlock(&c->lru_mu);
			}
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return copy;
}

/* Write lock held: take e out of its chain and the list, onto *dead. */
static void
evict(am_dnscache *c, struct entry **pp, struct entry **dead)
{
	struct entry *e = *pp;

	*pp = e->next;
	lru_unlink(c, e);
	c->bytes -= e->bytes;
	c->count--;
	e->next = *dead;
	*dead = e;
}

/* Write lock held: the chain slot pointing at e. */
static struct entry **
slot_of(am_dnscache *c, const struct entry *e)
{
	struct entry **pp = &c->bucket[e->hash & (BUCKETS - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	return pp;
}

void
am_dnscache_put(am_dnscache *c, const char *name, int rrtype, const struct am_dns_answer *a)
{
	char key[256];
	uint64_t h;
	struct entry *e, **pp, *dead = NULL;
	time_t now = now_seconds();
	size_t klen, bytes;

	if (a->ttl == 0 || (a->status != AM_DNS_OK && a->status != AM_DNS_NXDOMAIN &&
	    a->status != AM_DNS_NODATA))
		return;
	h = key_of(name, key, sizeof(key));
	klen = strlen(key);
	bytes = entry_bytes(klen, a);
	e = NULL;
	if (bytes <= c->entry_max) {	/* else only the stale entry below goes */
		e = am_xmalloc(sizeof(*e) + klen + 1);
		memcpy(e->name, key, klen + 1);
		e->hash = h;
		e->bytes = bytes;
		e->rrtype = rrtype;
		e->expires = now + (a->ttl > MAX_TTL ? MAX_TTL : (time_t)a->ttl);
		e->answer = am_dns_answer_copy(a);
	}
	pthread_rwlock_wrlock(&c->lock);
	/* An entry for the same key is replaced (or dropped, if e is too big). */
	for (pp = &c->bucket[h & (BUCKETS - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->rrtype == rrtype && strcmp((*pp)->name, key) == 0) {
			evict(c, pp, &dead);
			break;
		}
	if (e != NULL) {
		while (c->bytes + e->bytes > c->max_bytes && c->oldest != NULL)
			evict(c, slot_of(c, c->oldest), &dead);
		e->next = c->bucket[h & (BUCKETS - 1)];
		c->bucket[h & (BUCKETS - 1)] = e;
		lru_push(c, e);
		c->bytes += e->bytes;
		c->count++;
	}
	pthread_rwlock_unlock(&c->lock);
	while (dead != NULL) {
		e = dead->next;
		entry_free(dead);
		dead = e;
	}
}
