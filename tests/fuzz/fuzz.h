/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share.
 *
 * Owns: the entry point declaration, a UTF-8 oracle, and FUZZ_ASSERT, which reports a
 * broken invariant and abort()s so libFuzzer records the input as a crash.
 */
#ifndef AM_FUZZ_H
#define AM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * Valid UTF-8 (RFC 3629) of n octets: the targets' own oracle, written
 * apart from util.c's so a bug there cannot hide itself.
 */
static inline bool
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, need, k;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 4, cp = s[i] & 0x07;
		else
			return false;
		if (n - i < need)
			return false;
		for (k = 1; k < need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += need;
	}
	return true;
}

#endif
