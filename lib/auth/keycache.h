/*
 * keycache.h - decoded DKIM public keys kept across messages.
 *
 * Owns: a bounded cache (256 keys, the least recently used goes first)
 * from the exact DER bytes of a public key to the EVP_PKEY OpenSSL
 * decoded from them.  See keycache.c for how it reaches libopendkim.
 *
 * Errors: nothing is logged (dkim.c warns when am_keycache_init() fails);
 * a key the cache cannot keep is decoded as if there were no cache.  Out
 * of memory aborts.
 *
 * Threads: any; one process-wide table under a mutex.
 */
#ifndef AM_KEYCACHE_H
#define AM_KEYCACHE_H

#include <stdbool.h>

struct am_keycache_stats {
	unsigned long hits;
	unsigned long misses;
	unsigned entries;
};

/* Find the real d2i_PUBKEY_bio; false when the cache cannot work (it then stays out of the way). */
bool	am_keycache_init(void);
void	am_keycache_stats(struct am_keycache_stats *);
/* Drop every entry (tests; never needed for correctness). */
void	am_keycache_flush(void);

#endif
