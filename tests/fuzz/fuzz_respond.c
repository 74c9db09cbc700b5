/*
 * fuzz_respond.c - libFuzzer target: alignmilter-respond's recipient
 * address decoding (am_rsp_probe_match, the "LOCAL=DOMAIN" extension)
 * and its mailbox syntax (am_rsp_mailbox_ok), plus the loop guard over
 * the same text as sender and From.
 *
 * Input: octet 0 sizes the output buffer (0..510, allocated to exactly
 * that size so ASan catches a write past it), octet 1 picks the
 * recipient delimiters, the rest is "PROBE\nRCPT" or just RCPT (probe
 * check@mx.example.net), each copied to a buffer of its exact length.
 *
 * Invariants: the decoded address is NUL-terminated inside its buffer,
 * "" unless matched; a match exactly when this file's own reading of
 * Postfix's rules says the recipient is the probe (local part equal, or
 * followed by a delimiter; domain equal, case-insensitively, one root
 * dot aside) and the strings are within bounds; a decoded address is at
 * most AM_RSP_ADDR_MAX, a plausible mailbox, and is what the extension
 * spells (probe local, delimiter, LOCAL '=' DOMAIN); am_rsp_mailbox_ok
 * agrees with an oracle of RFC 5321 4.1.2 written apart; the loop guard
 * answers NULL or a reason citing an RFC.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "tools/respond/respond.h"

#define RCPT_MAX	(2 * AM_RSP_ADDR_MAX)	/* respond-rules.c's bound */

static const char *const delim_sets[] = { "+", "+-", "", "-=+@." };

static char *
dup_exact(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_ASSERT(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* RFC 5321 4.1.2 (Dot-string, Let-dig labels), the rules respond-rules.c documents. */
static bool
oracle_mailbox(const char *a)
{
	const char *at = strchr(a, '@'), *p, *label;
	size_t ln, dn, n;
	bool digits_only = true;

	if (at == NULL || strlen(a) > AM_RSP_ADDR_MAX)
		return false;
	ln = (size_t)(at - a);
	dn = strlen(at + 1);
	if (ln < 1 || ln > 64 || dn < 1 || dn > 253 || a[0] == '-')
		return false;
	for (p = a; p < at; p++) {
		if (*p == '.') {
			if (p == a || p + 1 == at || p[1] == '.')
				return false;
		} else if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			return false;
	}
	if (strchr(at + 1, '.') == NULL)
		return false;
	for (label = at + 1;; label = p + 1) {
		p = strchr(label, '.');
		n = p != NULL ? (size_t)(p - label) : strlen(label);
		if (n < 1 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			return false;
		digits_only = true;
		for (size_t i = 0; i < n; i++) {
			char c = label[i];

			if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
			    !(c >= '0' && c <= '9') && c != '-')
				return false;
			if (!(c >= '0' && c <= '9'))
				digits_only = false;
		}
		if (p == NULL)
			break;
	}
	return !digits_only;
}

static size_t
dom_len(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && d[n - 1] == '.' ? n - 1 : n;
}

/* Is rcpt the probe, by this file's reading; *ext set to the extension or NULL. */
static bool
oracle_match(const char *rcpt, const char *probe, const char *delims, const char **ext)
{
	const char *ra = strrchr(rcpt, '@'), *pa = strrchr(probe, '@');
	size_t pl, rl, rd, pd;

	*ext = NULL;
	if (strlen(rcpt) > RCPT_MAX || strlen(probe) > AM_RSP_ADDR_MAX || ra == NULL || pa == NULL)
		return false;
	pl = (size_t)(pa - probe);
	rl = (size_t)(ra - rcpt);
	rd = dom_len(ra + 1);
	pd = dom_len(pa + 1);
	if (pl == 0 || rl < pl || rd == 0 || rd != pd || strncasecmp(ra + 1, pa + 1, rd) != 0)
		return false;
	if (strncasecmp(rcpt, probe, pl) != 0)
		return false;
	if (rl == pl)
		return true;
	if (delims == NULL || strchr(delims, rcpt[pl]) == NULL)
		return false;
	*ext = rcpt + pl + 1;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t enclen, rest;
	const uint8_t *nl;
	const char *delims, *ext, *why;
	char *probe, *rcpt, *enc = NULL;
	struct am_rsp_header h[1];
	bool m, om;

	if (size < 2)
		return 0;
	enclen = (size_t)data[0] * 2;
	delims = delim_sets[data[1] % (sizeof(delim_sets) / sizeof(delim_sets[0]))];
	data += 2;
	rest = size - 2;
	if ((nl = memchr(data, '\n', rest)) != NULL) {
		probe = dup_exact(data, (size_t)(nl - data));
		rcpt = dup_exact(nl + 1, rest - (size_t)(nl - data) - 1);
	} else {
		probe = dup_exact((const uint8_t *)"check@mx.example.net", 20);
		rcpt = dup_exact(data, rest);
	}
	if (enclen > 0) {
		enc = malloc(enclen);
		FUZZ_ASSERT(enc != NULL);
		memset(enc, 'x', enclen);
	}

	m = am_rsp_probe_match(rcpt, probe, delims, enc, enclen);
	om = oracle_match(rcpt, probe, delims, &ext);
	FUZZ_ASSERT(m == om);
	if (enc != NULL) {
		size_t n;

		FUZZ_ASSERT(memchr(enc, '\0', enclen) != NULL);
		n = strlen(enc);
		FUZZ_ASSERT(n < enclen && n <= AM_RSP_ADDR_MAX);
		if (!m || ext == NULL)
			FUZZ_ASSERT(n == 0);
		if (n > 0) {
			const char *at = strchr(enc, '@');
			size_t ln;

			FUZZ_ASSERT(am_rsp_mailbox_ok(enc));
			FUZZ_ASSERT(oracle_mailbox(enc));
			FUZZ_ASSERT(at != NULL);
			ln = (size_t)(at - enc);
			/* What the extension spells: LOCAL '=' DOMAIN '@' probe domain. */
			FUZZ_ASSERT(strncmp(ext, enc, ln) == 0 && ext[ln] == '=');
			FUZZ_ASSERT(strncasecmp(ext + ln + 1, at + 1, strlen(at + 1)) == 0);
			FUZZ_ASSERT(ext[ln + 1 + strlen(at + 1)] == '@');
			for (const char *p = at + 1; *p != '\0'; p++)
				FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
		}
	}

	FUZZ_ASSERT(am_rsp_mailbox_ok(rcpt) == oracle_mailbox(rcpt));
	FUZZ_ASSERT(am_rsp_mailbox_ok(probe) == oracle_mailbox(probe));

	h[0].name = "From";
	h[0].value = rcpt;
	why = am_rsp_loop_guard(rcpt, h, 1);
	FUZZ_ASSERT(why == NULL || strstr(why, "RFC") != NULL);
	if (rcpt[0] == '\0')
		FUZZ_ASSERT(why != NULL);

	free(enc);
	free(probe);
	free(rcpt);
	return 0;
}
