/*
 * fuzz_authres.c - libFuzzer target: the authserv-id of an inbound
 * Authentication-Results field (am_authres_authserv_id), which decides
 * whether the header is a forgery of ours and gets removed.
 *
 * The input is the field value as received (not NUL-terminated: libFuzzer
 * hands an exactly sized heap buffer, so ASan sees any over-read).
 * Invariants: an id is never empty, never truncated (it fits, or the call
 * fails), holds no NUL, CR or LF, and the result does not depend on the
 * size of the output buffer beyond "fits or not".
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "auth/message.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[256], again[256], *exact;
	size_t n;
	bool ok;

	ok = am_authres_authserv_id((const char *)data, size, id, sizeof(id));
	FUZZ_ASSERT(memchr(id, '\0', sizeof(id)) != NULL);
	if (!ok) {
		FUZZ_ASSERT(id[0] == '\0');
		return 0;
	}
	n = strlen(id);
	FUZZ_ASSERT(n > 0 && n < sizeof(id));
	FUZZ_ASSERT(strchr(id, '\r') == NULL && strchr(id, '\n') == NULL);
	/* Same answer again (no hidden state). */
	FUZZ_ASSERT(am_authres_authserv_id((const char *)data, size, again, sizeof(again)));
	FUZZ_ASSERT(strcmp(id, again) == 0);
	/* Exactly sized buffer: still fits; one byte less: refused, never cut short. */
	exact = malloc(n + 1);
	FUZZ_ASSERT(exact != NULL);
	FUZZ_ASSERT(am_authres_authserv_id((const char *)data, size, exact, n + 1));
	FUZZ_ASSERT(strcmp(exact, id) == 0);
	FUZZ_ASSERT(!am_authres_authserv_id((const char *)data, size, exact, n));
	FUZZ_ASSERT(exact[0] == '\0');
	free(exact);
	return 0;
}
