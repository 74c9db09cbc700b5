/*
 * dmarc-names.c - DMARC's domain names: the organizational domain and
 * identifier alignment (RFC 7489 3.1, 3.2).
 *
 * Owns: cleaning a name (lower case, no root dot, plausible DNS syntax),
 * the Public Suffix List (libpsl; loaded and sanity-checked once at
 * set-up), the organizational domain it gives, and our own relaxed/strict
 * alignment of two names.  Not libopendmarc's: 1.4.2 lets subdomains
 * "align" strictly and co.uk "align" with example.co.uk.
 *
 * Errors: nothing is logged.  A name that is not a plausible DNS name, or
 * a public suffix (no organizational domain), is simply "no org domain"
 * and never aligns.  am_dmarc_psl_load() returns NULL with err filled.
 *
 * Threads: any, once set up; the PSL context is only read after loading.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libpsl.h>

/* Utility library. */
#include "util/util.h"

/* Verifiers. */
#include "auth/dmarc-int.h"

/*
 * Returns false when in is not a plausible DNS name: empty, too long,
 * an empty label (leading dot, "a..b"), a label over 63 octets, or a
 * character that no host name or U-label has.
 */
bool
am_dmarc_name_clean(const char *in, char *out, size_t outlen)
{
	size_t len, i, label = 0;

	if (in == NULL)
		return false;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= outlen)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
			if (++label > 63)
				return false;
		} else
			return false;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return label > 0;
}

psl_ctx_t *
am_dmarc_psl_load(const char *path, char *err, size_t errlen)
{
	psl_ctx_t *psl;

	if ((psl = psl_load_file(path)) == NULL) {
		snprintf(err, errlen, "cannot read PublicSuffixList %s", path);
		return NULL;
	}
	/* Any text file "loads"; a real list knows co.uk is a public suffix. */
	if (psl_suffix_count(psl) <= 0 || !psl_is_public_suffix(psl, "co.uk")) {
		snprintf(err, errlen, "PublicSuffixList %s does not look like the Public Suffix List",
		    path);
		psl_free(psl);
		return NULL;
	}
	return psl;
}

void
am_dmarc_psl_free(psl_ctx_t *psl)
{
	psl_free(psl);
}

bool
am_dmarc_org_domain(const am_dmarc *d, const char *domain, char *out, size_t outlen)
{
	char buf[AM_DOMAIN_MAX];
	const char *reg;

	if (outlen > 0)
		out[0] = '\0';
	if (d == NULL || !am_dmarc_name_clean(domain, buf, sizeof(buf)))
		return false;
	/* RFC 7489 3.2: the public suffix plus one label; none for a suffix. */
	reg = psl_registrable_domain(d->psl, buf);
	if (reg == NULL || reg[0] == '\0' || strlen(reg) >= outlen)
		return false;
	am_strlcpy(out, reg, outlen);
	return true;
}

bool
am_dmarc_aligned(const am_dmarc *d, const char *from_domain, const char *other, bool strict)
{
	char a[AM_DOMAIN_MAX], b[AM_DOMAIN_MAX];
	char oa[AM_DOMAIN_MAX], ob[AM_DOMAIN_MAX];

	if (!am_dmarc_name_clean(from_domain, a, sizeof(a)) ||
	    !am_dmarc_name_clean(other, b, sizeof(b)))
		return false;
	if (strcmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	/* Relaxed: same organizational domain; a public suffix has none. */
	if (!am_dmarc_org_domain(d, a, oa, sizeof(oa)) ||
	    !am_dmarc_org_domain(d, b, ob, sizeof(ob)))
		return false;
	return strcmp(oa, ob) == 0;
}
