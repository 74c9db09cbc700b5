/*
 * dmarc-walk.c - the DNS tree walk of RFC 9989 4.10 (DMARCStandard
 * rfc9989): which _dmarc names a walk asks, asking them, and the
 * organizational domain a walk gives (4.10.2).
 *
 * Owns: a message's table of _dmarc names (struct am_dmarc_name in its
 * am_dmarc_lookup): each name is queried once per message, however many
 * walks pass it (the author domain's, each identifier's), and all the
 * names of a walk are started together, so a cold walk costs one round
 * trip rather than one per label; answers also go through the resolver's
 * cache.  The table is bounded (AM_DMARC_NAMES_MAX); a walk that needs
 * a name past it is incomplete ("full") and its caller does not use it.
 *
 * Walk rules (4.10): start at the domain; then its parent, but a name of
 * 8 or more labels is first cut to its last 7; then one label less each
 * time, down to the top-level name: at most 8 queries.  An answer with
 * more than one DMARC record counts as none (steps 2, 6).  The walk
 * stops at a record with psd=y or psd=n, at a DNS failure (the caller
 * decides what that leaves unknown), or after the last label.
 *
 * Errors: nothing is logged; failures are in the walk's outcome.  Out of
 * memory aborts.
 *
 * Threads: a lookup and its table belong to one message and its thread;
 * the resolver is shared.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

/* Utility library. */
#include "util/util.h"

/* DNS library. */
#include "dns/resolver.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/* ---- the names of a walk ---------------------------------------------------- */

static size_t
label_count(const char *domain)
{
	size_t n = 1;

	for (; *domain != '\0'; domain++)
		if (*domain == '.')
			n++;
	return n;
}

/* The name one label shorter, or NULL at the top-level name. */
static const char *
parent_of(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot != NULL ? dot + 1 : NULL;
}

size_t
am_dmarc_walk_names(const char *domain, const char *names[AM_DMARC_WALK_QUERIES])
{
	const char *name = domain;
	size_t n = 0, labels = label_count(domain);

	names[n++] = name;
	/* Step 4: 8 or more labels are cut to the last 7 at once. */
	if (labels >= 8) {
		while (labels-- > 7)
			name = parent_of(name);
	} else {
		name = parent_of(name);
	}
	for (; name != NULL && n < AM_DMARC_WALK_QUERIES; name = parent_of(name))
		names[n++] = name;
	return n;
}

/* ---- the message's table of names -------------------------------------------- */

struct am_dmarc_name *
am_dmarc_walk_find(const am_dmarc_lookup *lk, const char *name)
{
	size_t i;

	for (i = 0; lk->names != NULL && i < lk->nnames; i++)
		if (strcmp(lk->names[i].name, name) == 0)
			return &lk->names[i];
	return NULL;
}

/* The entry for name, started if new; NULL when the table is full. */
static struct am_dmarc_name *
name_entry(am_dmarc *d, am_dmarc_lookup *lk, const char *name)
{
	struct am_dmarc_name *e;

	if ((e = am_dmarc_walk_find(lk, name)) != NULL)
		return e;
	if (lk->names == NULL)
		lk->names = am_xcalloc(AM_DMARC_NAMES_MAX, sizeof(*lk->names));
	if (lk->nnames >= AM_DMARC_NAMES_MAX)
		return NULL;
	e = &lk->names[lk->nnames++];
	am_strlcpy(e->name, name, sizeof(e->name));
	e->q = am_dmarc_query_start(d, name);
	if (e->q == NULL) {		/* _dmarc.<name> too long for the DNS: no record */
		e->done = true;
		e->disc = AM_DMARC_DISC_NONE;
	}
	return e;
}

/* Wait for an entry's answer once and classify it. */
static void
name_settle(struct am_dmarc_name *e)
{
	struct am_dmarc_record r;

	if (e->done)
		return;
	e->ans = am_dns_wait(e->q);
	e->q = NULL;
	e->done = true;
	e->disc = am_dmarc_answer_select(e->ans, &e->rec);
	e->psd = 'u';
	if (e->disc == AM_DMARC_DISC_FOUND) {
		am_dmarc_parse_record(e->rec, AM_DMARC_RFC9989, &r);
		e->psd = r.psd;
	}
}

void
am_dmarc_walk_prefetch(am_dmarc *d, am_dmarc_lookup *lk, const char *domain)
{
	const char *names[AM_DMARC_WALK_QUERIES];
	size_t i, n = am_dmarc_walk_names(domain, names);

	for (i = 0; i < n; i++)
		if (name_entry(d, lk, names[i]) == NULL)
			return;
}

void
am_dmarc_prefetch(am_dmarc *d, am_dmarc_lookup *lk, const char *identifier)
{
	char id[AM_DOMAIN_MAX];

	if (d == NULL || lk == NULL || !lk->valid || d->std != AM_DMARC_RFC9989 ||
	    !am_dmarc_name_clean(identifier, id, sizeof(id)) || strcmp(id, lk->domain) == 0 ||
	    !am_dmarc_aligned(d, lk->domain, id, false))
		return;
	am_dmarc_walk_prefetch(d, lk, id);
}

void
am_dmarc_walk_run(am_dmarc *d, am_dmarc_lookup *lk, const char *domain, struct am_dmarc_walk *out)
{
	const char *names[AM_DMARC_WALK_QUERIES];
	struct am_dmarc_name *e;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	am_dmarc_walk_prefetch(d, lk, domain);
	n = am_dmarc_walk_names(domain, names);
	for (i = 0; i < n; i++) {
		if ((e = name_entry(d, lk, names[i])) == NULL) {
			out->full = true;
			return;
		}
		name_settle(e);
		if (e->disc == AM_DMARC_DISC_TEMP) {
			out->failed = e;
			return;
		}
		if (e->disc != AM_DMARC_DISC_FOUND)
			continue;		/* none, or several: discarded */
		out->found[out->nfound++] = e;
		if (e->psd == 'y' || e->psd == 'n')
			return;
	}
}

/*
 * 4.10.2, over the records from the longest name to the shortest: psd=n
 * is the organizational domain; psd=y other than at the start makes the
 * name one label below it the organizational domain; otherwise the
 * record with the fewest labels; no record at all: the domain itself.
 */
void
am_dmarc_walk_org(const char *domain, const struct am_dmarc_walk *w, char *out, size_t outlen)
{
	const char *org = domain;
	size_t i;

	for (i = 0; i < w->nfound; i++) {
		const struct am_dmarc_name *e = w->found[i];

		if (e->psd == 'n') {
			am_strlcpy(out, e->name, outlen);
			return;
		}
		if (e->psd == 'y' && strcmp(e->name, domain) != 0) {
			size_t want = label_count(e->name) + 1, have = label_count(domain);

			for (org = domain; have > want; have--)
				org = parent_of(org);
			am_strlcpy(out, org, outlen);
			return;
		}
	}
	if (w->nfound > 0)
		org = w->found[w->nfound - 1]->name;
	am_strlcpy(out, org, outlen);
}

void
am_dmarc_walk_free(am_dmarc_lookup *lk)
{
	size_t i;

	for (i = 0; lk->names != NULL && i < lk->nnames; i++) {
		am_dns_cancel(lk->names[i].q);
		am_dns_answer_free(lk->names[i].ans);
	}
	free(lk->names);
	lk->names = NULL;
	lk->nnames = 0;
	am_dns_answer_free(lk->exist_ans);
	lk->exist_ans = NULL;
}
