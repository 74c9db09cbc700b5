/*
 * fuzz_from.c - libFuzzer target: the From header parser (am_from_domain),
 * whose answer is the domain DMARC is evaluated for.
 *
 * The input is a From field value (folds and all).  Invariants on an OK
 * answer: the domain is a plausible DNS name (1..253 octets, labels of
 * 1..63, no upper case, no control or space, no trailing dot, no domain
 * literal, valid UTF-8), it is never truncated, and asking for the status
 * only gives the same status.  Any other answer leaves the domain empty.
 */
#include "config.h"

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
