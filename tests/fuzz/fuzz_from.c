/*
 * fuzz_from.c - libFuzzer target: the From header parsers, whose answers
 * are the domains DMARC is evaluated for: the strict one (am_from_domain)
 * and the lenient one that lists every author domain of a From the
 * strict one refuses (am_from_authors_init/add, issue 16).
 *
 * The input is a From field value (folds and all).  Invariants on an OK
 * answer: the domain is a plausible DNS name (1..253 octets, labels of
 * 1..63, no upper case, no control or space, no trailing dot, no domain
 * literal, valid UTF-8), it is never truncated, and asking for the status
 * only gives the same status.  Any other answer leaves the domain empty.
 *
 * The lenient reader gets the input as one field, and split at its NUL
 * octets as several From fields of one message, each in a buffer of its
 * exact length (ASan catches a read past len).  Invariants: at most
 * AM_FROM_DOMAINS_MAX domains, each NUL-terminated inside its slot,
 * plausible as above, distinct; no more kept domains than addresses read,
 * at most AM_FROM_ADDRESSES_MAX + 1 addresses; over only past a cap;
 * adding a field keeps what earlier fields gave (same domains, same
 * places; over and incomplete stay set), and once over nothing changes;
 * a value holding NUL is refused whole (incomplete, nothing kept); the
 * same input gives the same set; and the domain the strict reader
 * accepts is one the lenient reader lists.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "auth/message.h"

static void
check_domain(const char *d)
{
	size_t n = strlen(d), i, label = 0;

	FUZZ_ASSERT(n > 0 && n <= 253);
	FUZZ_ASSERT(d[0] != '.' && d[n - 1] != '.' && d[0] != '[');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		FUZZ_ASSERT(c > ' ' && c != 0x7f);
		FUZZ_ASSERT(!(c >= 'A' && c <= 'Z'));
		if (c == '.') {
			FUZZ_ASSERT(label > 0);
			label = 0;
		} else
			FUZZ_ASSERT(++label <= 63);
	}
	FUZZ_ASSERT(utf8_ok((const unsigned char *)d, n));
}

static void
check_authors(const struct am_from_authors *a)
{
	unsigned i, j;

	FUZZ_ASSERT(a->n <= AM_FROM_DOMAINS_MAX);
	FUZZ_ASSERT(a->addresses <= AM_FROM_ADDRESSES_MAX + 1);
	FUZZ_ASSERT(a->n <= a->addresses);
	FUZZ_ASSERT(!a->over || a->n == AM_FROM_DOMAINS_MAX || a->addresses > AM_FROM_ADDRESSES_MAX);
	for (i = 0; i < a->n; i++) {
		FUZZ_ASSERT(memchr(a->domain[i], '\0', sizeof(a->domain[i])) != NULL);
		check_domain(a->domain[i]);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(a->domain[i], a->domain[j]) != 0);
	}
}

/* Add value[0..len) from a buffer of exactly len octets; then the invariants. */
static void
add_exact(struct am_from_authors *a, const uint8_t *value, size_t len)
{
	struct am_from_authors before = *a;
	char *copy = malloc(len > 0 ? len : 1);
	unsigned i;

	FUZZ_ASSERT(copy != NULL);
	memcpy(copy, value, len);
	am_from_authors_add(a, copy, len);
	free(copy);
	check_authors(a);
	FUZZ_ASSERT(a->n >= before.n && a->addresses >= before.addresses);
	FUZZ_ASSERT(a->over >= before.over && a->incomplete >= before.incomplete);
	for (i = 0; i < before.n; i++)
		FUZZ_ASSERT(strcmp(a->domain[i], before.domain[i]) == 0);
	if (before.over)
		FUZZ_ASSERT(a->n == before.n && a->addresses == before.addresses);
	if (memchr(value, '\0', len) != NULL)
		FUZZ_ASSERT(a->incomplete && a->n == before.n && a->addresses == before.addresses);
}

/* The lenient reader: the input as one field, then as fields split at NUL. */
static void
fuzz_authors(const uint8_t *data, size_t size, enum am_from_status st, const char *strict)
{
	struct am_from_authors *one = malloc(sizeof(*one)), *again = malloc(sizeof(*again));
	const uint8_t *p = data, *end = data + size, *nul;
	unsigned i, fields = 0;
	bool found = false;

	FUZZ_ASSERT(one != NULL && again != NULL);
	am_from_authors_init(one);
	FUZZ_ASSERT(one->n == 0 && one->addresses == 0 && !one->over && !one->incomplete);
	add_exact(one, data, size);
	am_from_authors_init(again);
	add_exact(again, data, size);
	FUZZ_ASSERT(memcmp(one, again, sizeof(*one)) == 0);
	if (st == AM_FROM_OK) {
		for (i = 0; i < one->n; i++)
			found = found || strcmp(one->domain[i], strict) == 0;
		FUZZ_ASSERT(found || one->over);
	}

	/* Several From fields of one message (RFC 5322 3.6 allows one). */
	am_from_authors_init(again);
	do {
		nul = memchr(p, '\0', (size_t)(end - p));
		add_exact(again, p, (size_t)((nul != NULL ? nul : end) - p));
		p = nul != NULL ? nul + 1 : end;
	} while (nul != NULL && ++fields < 64);
	free(again);
	free(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[AM_DOMAIN_MAX], *exact;
	enum am_from_status st;
	size_t n;

	memset(domain, 'X', sizeof(domain));
	st = am_from_domain((const char *)data, size, domain, sizeof(domain));
	FUZZ_ASSERT(st == AM_FROM_OK || st == AM_FROM_NO_DOMAIN || st == AM_FROM_MULTIPLE);
	FUZZ_ASSERT(am_from_domain((const char *)data, size, NULL, 0) == st);
	fuzz_authors(data, size, st, domain);
	if (st != AM_FROM_OK) {
		FUZZ_ASSERT(domain[0] == '\0');
		return 0;
	}
	check_domain(domain);
	n = strlen(domain);
	exact = malloc(n + 1);
	FUZZ_ASSERT(exact != NULL);
	FUZZ_ASSERT(am_from_domain((const char *)data, size, exact, n + 1) == AM_FROM_OK);
	FUZZ_ASSERT(strcmp(exact, domain) == 0);
	/* A buffer one byte short must never yield a truncated domain. */
	FUZZ_ASSERT(am_from_domain((const char *)data, size, exact, n) != AM_FROM_OK);
	free(exact);
	return 0;
}
