/*
 * reportmap.h - a string-keyed index for the report's tallies.
 *
 * Owns: finding the slot number of a key (a From domain, a DMARC row key)
 * in amortised constant time, whatever the log holds: keys are copied,
 * may contain any bytes but NUL, and the table grows as needed.
 *
 * Errors: none; out of memory aborts.  Threads: any; a map belongs to
 * its caller.
 */
#ifndef AM_REPORTMAP_H
#define AM_REPORTMAP_H

#include <stdbool.h>
#include <stddef.h>

struct am_rmap;

struct am_rmap *am_rmap_new(void);
void	am_rmap_free(struct am_rmap *);
/*
 * The index of key, assigning the next free one (0, 1, 2, ...) when it is
 * new; *created tells which (may be NULL).
 */
size_t	am_rmap_index(struct am_rmap *, const char *key, bool *created);
/* Number of keys; the key of index i. */
size_t	am_rmap_count(const struct am_rmap *);
const char *am_rmap_key(const struct am_rmap *, size_t i);

#endif
