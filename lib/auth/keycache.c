/*
 * keycache.c - decoded DKIM public keys kept across messages (see
 * keycache.h).
 *
 * Why: libopendkim 2.11 as Debian ships it decodes the key of every
 * signature of every message with d2i_PUBKEY_bio(), and OpenSSL 3.0's
 * decoder set-up is most of the CPU a verification costs (~60%, measured
 * with callgrind; tests/bench/README.md keeps the profile log).
 * libopendkim offers no hook for it, so this file defines
 * d2i_PUBKEY_bio() in the executable: the dynamic linker binds
 * libopendkim's call to it (ELF symbol interposition; the link exports
 * the symbol explicitly, see Makefile.am), and every call we do not
 * serve goes on to libcrypto's own, found with dlsym(RTLD_NEXT).
 *
 * Safety: the key is found by its exact DER bytes, compared in full, so
 * a changed key record is a different entry and is never served stale;
 * the cache holds its own reference and hands out new references
 * (EVP_PKEY_up_ref), which libopendkim frees as it always does.  Only
 * memory BIOs with no reuse target (a == NULL), libopendkim's call, are
 * served; anything else goes straight to OpenSSL.
 *
 * Errors: nothing is logged.  A key the cache cannot keep (too long, no
 * reference to take) is decoded and handed out uncached; out of memory
 * aborts.  Without the real d2i_PUBKEY_bio() (am_keycache_init() false)
 * every decode returns NULL.
 *
 * Threads: any.  The one process-wide table, its clock and counters are
 * guarded by a mutex; the slow decode runs outside it; the real symbol is
 * looked up once (pthread_once).
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/keycache.h"

#define KEYCACHE_SLOTS	256		/* distinct keys kept; the oldest goes first */
#define KEYCACHE_DER_MAX 4096		/* longer keys (over 16k-bit RSA) are not kept */

typedef EVP_PKEY *(*d2i_pubkey_bio_fn)(BIO *, EVP_PKEY **);

struct slot {
	uint64_t hash;
	unsigned char *der;
	size_t	len;
	EVP_PKEY *pkey;
	unsigned long used;		/* clock for eviction */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[KEYCACHE_SLOTS];
static unsigned long clock_now, hits, misses;
static d2i_pubkey_bio_fn real_d2i;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
find_real(void)
{
	real_d2i = (d2i_pubkey_bio_fn)dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

bool
am_keycache_init(void)
{
	pthread_once(&init_once, find_real);
	return real_d2i != NULL;
}

/* FNV-1a: cheap, and collisions only cost a full compare. */
static uint64_t
der_hash(const unsigned char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Called with mu held; a new reference, or NULL. */
static EVP_PKEY *
lookup(uint64_t h, const unsigned char *der, size_t len)
{
	size_t i;

	for (i = 0; i < KEYCACHE_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->pkey != NULL && s->hash == h && s->len == len && memcmp(s->der, der, len) == 0) {
			if (EVP_PKEY_up_ref(s->pkey) != 1)
				return NULL;
			s->used = ++clock_now;
			return s->pkey;
		}
	}
	return NULL;
}

static void
slot_clear(struct slot *s)
{
	EVP_PKEY_free(s->pkey);
	free(s->der);
	memset(s, 0, sizeof(*s));
}

/* Called with mu held: keep a reference of pkey under der. */
static void
store(uint64_t h, const unsigned char *der, size_t len, EVP_PKEY *pkey)
{
	struct slot *victim = &slots[0];
	size_t i;

	for (i = 0; i < KEYCACHE_SLOTS; i++) {
		if (slots[i].pkey == NULL) {
			victim = &slots[i];
			break;
		}
		if (slots[i].used < victim->used)
			victim = &slots[i];
	}
	if (EVP_PKEY_up_ref(pkey) != 1)
		return;
	slot_clear(victim);
	victim->hash = h;
	victim->der = am_xmalloc(len);
	memcpy(victim->der, der, len);
	victim->len = len;
	victim->pkey = pkey;
	victim->used = ++clock_now;
}

EVP_PKEY *d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a);

EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	const unsigned char *der = NULL;
	EVP_PKEY *pkey;
	long n;
	uint64_t h;

	if (!am_keycache_init())
		return NULL;		/* no libcrypto symbol: cannot happen with OpenSSL linked */
	if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM)
		return real_d2i(bp, a);
	n = BIO_get_mem_data(bp, (char **)&der);
	if (n <= 0 || n > KEYCACHE_DER_MAX || der == NULL)
		return real_d2i(bp, a);
	h = der_hash(der, (size_t)n);
	pthread_mutex_lock(&mu);
	pkey = lookup(h, der, (size_t)n);
	if (pkey != NULL)
		hits++;
	pthread_mutex_unlock(&mu);
	if (pkey != NULL)
		return pkey;
	/* Decode outside the lock: it is the slow part. */
	pkey = real_d2i(bp, NULL);
	pthread_mutex_lock(&mu);
	misses++;
	if (pkey != NULL)
		store(h, der, (size_t)n, pkey);
	pthread_mutex_unlock(&mu);
	return pkey;
}

void
am_keycache_stats(struct am_keycache_stats *st)
{
	size_t i;

	pthread_mutex_lock(&mu);
	st->hits = hits;
	st->misses = misses;
	st->entries = 0;
	for (i = 0; i < KEYCACHE_SLOTS; i++)
		if (slots[i].pkey != NULL)
			st->entries++;
	pthread_mutex_unlock(&mu);
}

void
am_keycache_flush(void)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < KEYCACHE_SLOTS; i++)
		slot_clear(&slots[i]);
	pthread_mutex_unlock(&mu);
}
