/*
 * reportmap.c - a string-keyed index (see reportmap.h, which also says how
 * it fails and who may call it): open addressing with linear probing over
 * FNV-1a hashes, kept at most half full.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* Application-specific. */
#include "reportmap.h"

struct am_rmap {
	size_t	*slots;		/* index + 1, 0 = empty */
	size_t	nslots;		/* a power of two */
	char	**keys;		/* by index */
	size_t	count;
	size_t	cap;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct am_rmap *
am_rmap_new(void)
{
	struct am_rmap *m = am_xcalloc(1, sizeof(*m));

	m->nslots = 64;
	m->slots = am_xcalloc(m->nslots, sizeof(*m->slots));
	return m;
}

void
am_rmap_free(struct am_rmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->count; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->slots);
	free(m);
}

/* Re-insert every key into a table twice the size. */
static void
grow(struct am_rmap *m)
{
	size_t n = m->nslots * 2, i, j;
	size_t *slots = am_xcalloc(n, sizeof(*slots));

	for (i = 0; i < m->count; i++) {
		for (j = (size_t)hash(m->keys[i]) & (n - 1); slots[j] != 0; j = (j + 1) & (n - 1))
			;
		slots[j] = i + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

size_t
am_rmap_index(struct am_rmap *m, const char *key, bool *created)
{
	size_t j;

	for (j = (size_t)hash(key) & (m->nslots - 1); m->slots[j] != 0; j = (j + 1) & (m->nslots - 1))
		if (strcmp(m->keys[m->slots[j] - 1], key) == 0) {
			if (created != NULL)
				*created = false;
			return m->slots[j] - 1;
		}
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->keys = am_xreallocarray(m->keys, m->cap, sizeof(*m->keys));
	}
	m->keys[m->count] = am_xstrdup(key);
	m->slots[j] = ++m->count;
	if (m->count * 2 > m->nslots)
		grow(m);
	if (created != NULL)
		*created = true;
	return m->count - 1;
}

size_t
am_rmap_count(const struct am_rmap *m)
{
	return m->count;
}

const char *
am_rmap_key(const struct am_rmap *m, size_t i)
{
	return i < m->count ? m->keys[i] : NULL;
}
