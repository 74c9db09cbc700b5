/*
 * dkimfloor.c - what verifying one message's DKIM signatures costs
 * Debian's libopendkim alone, with no milter around it.
 *
 * Owns: verifying one saved message N times in one thread, as a milter
 * built on libopendkim does per message - dkim_verify, dkim_header per
 * header field, dkim_eoh, dkim_body, dkim_eom, dkim_free - with the keys
 * served from memory by dkim_set_key_lookup (no DNS: the floor, not the
 * resolver), and checking every time that every signature verified
 * (DKIM_SIGERROR_OK, DKIM_SIGFLAG_PASSED, body hash matched).  Then, to
 * split that figure, the same keys decoded N times (base64 + d2i_PUBKEY,
 * what libopendkim does with each key it fetches) and the same signatures'
 * RSA verifications N times on their header hash (recovered once from the
 * signature with EVP_PKEY_verify_recover, so each timed EVP_PKEY_verify
 * succeeds).  What is left of the first figure is canonicalisation,
 * hashing and the library's own work.  And the whole verification again
 * with each decoded key kept across messages, as alignmilter's
 * lib/auth/keycache.c does: this file defines d2i_PUBKEY_bio(), which
 * libopendkim calls for every key of every message, and the link exports
 * it (-Wl,--export-dynamic-symbol=d2i_PUBKEY_bio), so the dynamic linker
 * binds libopendkim's call here; while caching is off, and for a key not
 * yet seen, it goes on to libcrypto's own (dlsym RTLD_NEXT).
 *
 *   dkimfloor [-n N] [-w W] KEYS MESSAGE
 *     KEYS      lines "<selector>._domainkey.<domain> TAB <TXT record text>"
 *     MESSAGE   the message as signed (CRLF or LF line ends)
 *     -n N      timed messages (default 2000), after W untimed ones (default 20)
 * Output, per message, microseconds (getrusage user+sys of this process, and
 * CLOCK_MONOTONIC wall):
 *   libopendkim messages=N sigs=S cpu_us=.. user_us=.. sys_us=.. wall_us=.. failed=..
 *   cached messages=N sigs=S cpu_us=.. user_us=.. sys_us=.. wall_us=.. hits=..
 *   keydecode keys=S cpu_us=.. wall_us=..
 *   rsa sigs=S bits=.. cpu_us=.. wall_us=..
 * Exit 0 when every message verified every signature; 1 when one did not;
 * 2 on bad usage or input.  Errors go to stderr once, naming the step.
 * Threads: one.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <opendkim/dkim.h>

#define MAX_KEYS 64
#define MAX_FIELDS 256
#define MAX_SIGS 8

struct key {
	char name[256];		/* selector._domainkey.domain, lower case */
	char txt[2048];
};

struct sig {			/* one signature, as the first verification saw it */
	char name[256];
	unsigned char b[1024];	/* the decoded b= */
	size_t blen;
	unsigned char hash[64];	/* the header hash, recovered from b= */
	size_t hlen;
	EVP_PKEY *pkey;
};

static struct key keys[MAX_KEYS];
static int nkeys;
static unsigned char *fields[MAX_FIELDS];	/* header fields, no trailing CRLF */
static size_t flen[MAX_FIELDS];
static int nfields;
static unsigned char *body;
static size_t blen;
static struct sig sigs[MAX_SIGS];
static int nsigs;

/* The decoded-key cache (d2i_PUBKEY_bio below): DER bytes -> key. */
static bool cache_on;
static struct {
	unsigned char der[1024];
	long len;
	EVP_PKEY *pkey;
} cache[MAX_KEYS];
static int ncache;
static long cache_hits;

typedef EVP_PKEY *(*d2i_fn)(BIO *, EVP_PKEY **);

EVP_PKEY *d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a);

/* libopendkim's key decoding, interposed: served from the cache while cache_on. */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	static d2i_fn real;
	unsigned char der[sizeof(cache[0].der)];
	char *data = NULL;
	long len;
	EVP_PKEY *k;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
	if (real == NULL)
		return NULL;
	if (!cache_on || a != NULL || (len = BIO_get_mem_data(bp, &data)) <= 0 || data == NULL ||
	    len > (long)sizeof(cache[0].der))
		return real(bp, a);
	for (int i = 0; i < ncache; i++)
		if (cache[i].len == len && memcmp(cache[i].der, data, (size_t)len) == 0 &&
		    EVP_PKEY_up_ref(cache[i].pkey) == 1) {
			cache_hits++;
			return cache[i].pkey;
		}
	memcpy(der, data, (size_t)len);		/* before the decoder reads the BIO */
	k = real(bp, NULL);
	if (k != NULL && ncache < MAX_KEYS && EVP_PKEY_up_ref(k) == 1) {
		memcpy(cache[ncache].der, der, (size_t)len);
		cache[ncache].len = len;
		cache[ncache++].pkey = k;
	}
	return k;
}

static void
die(const char *what)
{
	fprintf(stderr, "dkimfloor: %s\n", what);
	exit(2);
}

static double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double
user_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
}

static double
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void
load_keys(const char *path)
{
	char line[2400];
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		die("cannot open the key file");
	while (fgets(line, sizeof(line), fp) != NULL && nkeys < MAX_KEYS) {
		char *tab = strchr(line, '\t');

		line[strcspn(line, "\r\n")] = '\0';
		if (tab == NULL || (size_t)(tab - line) >= sizeof(keys[0].name) ||
		    strlen(tab + 1) >= sizeof(keys[0].txt))
			continue;
		*tab = '\0';
		memcpy(keys[nkeys].name, line, strlen(line) + 1);	/* lengths checked above */
		lower(keys[nkeys].name);
		memcpy(keys[nkeys].txt, tab + 1, strlen(tab + 1) + 1);
		nkeys++;
	}
	fclose(fp);
	if (nkeys == 0)
		die("no keys in the key file");
}

static const struct key *
find_key(const char *name)
{
	char n[256];

	snprintf(n, sizeof(n), "%s", name);
	lower(n);
	for (int i = 0; i < nkeys; i++)
		if (strcmp(keys[i].name, n) == 0)
			return &keys[i];
	return NULL;
}

/* The message with every line end CRLF, split into header fields and body. */
static void
load_message(const char *path)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *raw, *m, *p, *end;
	long size;
	size_t n = 0;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) <= 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		die("cannot read the message");
	raw = malloc((size_t)size);
	m = malloc(2 * (size_t)size + 2);
	if (raw == NULL || m == NULL || fread(raw, 1, (size_t)size, fp) != (size_t)size)
		die("cannot read the message");
	fclose(fp);
	for (long i = 0; i < size; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			m[n++] = '\r';
		m[n++] = raw[i];
	}
	free(raw);
	end = m + n;
	for (p = m; p < end && !(end - p >= 2 && p[0] == '\r' && p[1] == '\n');) {
		unsigned char *f = p;

		/* A field runs to the CRLF not followed by a space or tab. */
		for (;;) {
			unsigned char *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);

			if (crlf == NULL)
				die("header without an end");
			p = crlf + 2;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
		}
		if (nfields == MAX_FIELDS)
			die("too many header fields");
		fields[nfields] = f;
		flen[nfields++] = (size_t)(p - 2 - f);
	}
	if (p >= end)
		die("message without a body separator");
	body = p + 2;
	blen = (size_t)(end - body);
}

/* libopendkim's key lookup: the TXT record from memory. */
static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	char name[512];
	const struct key *k;

	(void)dkim;
	snprintf(name, sizeof(name), "%s._domainkey.%s", (const char *)dkim_sig_getselector(sig),
	    (const char *)dkim_sig_getdomain(sig));
	if ((k = find_key(name)) == NULL)
		return DKIM_CBSTAT_NOTFOUND;
	if (strlen(k->txt) >= buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, k->txt, strlen(k->txt) + 1);
	return DKIM_CBSTAT_CONTINUE;
}

/* base64 with white space (a b= tag, a p= tag) into out; its length, or 0. */
static size_t
unbase64(const char *in, unsigned char *out, size_t outlen)
{
	char clean[2048];
	size_t n = 0, pad = 0;
	int got;

	for (; *in && *in != ';'; in++)
		if (!isspace((unsigned char)*in) && n < sizeof(clean) - 1)
			clean[n++] = *in;
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen)
		return 0;
	pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	return got < 0 ? 0 : (size_t)got - pad;
}

/* The p= of a key record, decoded into a public key. */
static EVP_PKEY *
decode_key(const char *txt)
{
	unsigned char der[1024];
	const unsigned char *q = der;
	const char *p = strstr(txt, "p=");
	size_t n;

	while (p != NULL && p != txt && p[-1] != ';' && !isspace((unsigned char)p[-1]))
		p = strstr(p + 2, "p=");
	if (p == NULL || (n = unbase64(p + 2, der, sizeof(der))) == 0)
		return NULL;
	return d2i_PUBKEY(NULL, &q, (long)n);
}

/* One message through libopendkim; the number of signatures that verified, -1 if any did not. */
static int
verify_once(DKIM_LIB *lib, bool keep)
{
	DKIM_STAT st;
	DKIM *d = dkim_verify(lib, (const unsigned char *)"floor", NULL, &st);
	DKIM_SIGINFO **list;
	int n, good = 0;
	_Bool testkey;

	if (d == NULL || st != DKIM_STAT_OK)
		return -1;
	for (int i = 0; i < nfields; i++)
		(void)dkim_header(d, fields[i], flen[i]);
	st = dkim_eoh(d);
	if (st == DKIM_STAT_OK)
		st = dkim_body(d, body, blen);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, &testkey);
	if (st != DKIM_STAT_OK || dkim_getsiglist(d, &list, &n) != DKIM_STAT_OK) {
		const char *e = dkim_geterror(d);

		fprintf(stderr, "dkimfloor: %s%s%s\n", dkim_getresultstr(st), e != NULL && *e ? ": " : "", e != NULL ? e : "");
		dkim_free(d);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		DKIM_SIGINFO *s = list[i];

		if (dkim_sig_geterror(s) != DKIM_SIGERROR_OK || !(dkim_sig_getflags(s) & DKIM_SIGFLAG_PASSED) ||
		    dkim_sig_getbh(s) != DKIM_SIGBH_MATCH) {
			fprintf(stderr, "dkimfloor: d=%s s=%s: %s\n", dkim_sig_getdomain(s), dkim_sig_getselector(s),
			    dkim_sig_geterrorstr(dkim_sig_geterror(s)));
			good = -1;
			break;
		}
		good++;
		if (keep && nsigs < MAX_SIGS) {
			struct sig *g = &sigs[nsigs++];
			const char *b = (const char *)dkim_sig_gettagvalue(s, false, (u_char *)"b");

			snprintf(g->name, sizeof(g->name), "%s._domainkey.%s", dkim_sig_getselector(s),
			    dkim_sig_getdomain(s));
			g->blen = b != NULL ? unbase64(b, g->b, sizeof(g->b)) : 0;
		}
	}
	dkim_free(d);
	return good;
}

/* Per signature: its key and the header hash its b= carries (rsa-sha256). */
static bool
prepare_rsa(struct sig *g)
{
	const struct key *k = find_key(g->name);
	EVP_PKEY_CTX *c;
	bool ok;

	if (k == NULL || g->blen == 0 || (g->pkey = decode_key(k->txt)) == NULL ||
	    (c = EVP_PKEY_CTX_new(g->pkey, NULL)) == NULL)
		return false;
	g->hlen = sizeof(g->hash);
	ok = EVP_PKEY_verify_recover_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify_recover(c, g->hash, &g->hlen, g->b, g->blen) == 1 && g->hlen == 32;
	EVP_PKEY_CTX_free(c);
	return ok;
}

static bool
rsa_verify(const struct sig *g)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g->pkey, NULL);
	bool ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(c, g->b, g->blen, g->hash, g->hlen) == 1;

	EVP_PKEY_CTX_free(c);
	return ok;
}

int
main(int argc, char **argv)
{
	long n = 2000, warm = 20;
	int ch, bad = 0, want = -1;
	double c0, u0, w0, c1, u1, w1;
	DKIM_LIB *lib;

	while ((ch = getopt(argc, argv, "n:w:")) != -1) {
		switch (ch) {
		case 'n': n = atol(optarg); break;
		case 'w': warm = atol(optarg); break;
		default: die("usage: dkimfloor [-n N] [-w W] KEYS MESSAGE");
		}
	}
	if (argc - optind != 2 || n <= 0 || warm < 0)
		die("usage: dkimfloor [-n N] [-w W] KEYS MESSAGE");
	load_keys(argv[optind]);
	load_message(argv[optind + 1]);
	if ((lib = dkim_init(NULL, NULL)) == NULL || dkim_set_key_lookup(lib, key_lookup) != DKIM_STAT_OK)
		die("dkim_init failed");

	/* Untimed: the signatures' b= kept, caches warm, the expected count. */
	want = verify_once(lib, true);
	if (want <= 0) {
		fprintf(stderr, "dkimfloor: the message does not verify with these keys\n");
		return 1;
	}
	for (long i = 0; i < warm; i++)
		if (verify_once(lib, false) != want)
			bad++;
	c0 = cpu_us(), u0 = user_us(), w0 = wall_us();
	for (long i = 0; i < n; i++)
		if (verify_once(lib, false) != want)
			bad++;
	c1 = cpu_us(), u1 = user_us(), w1 = wall_us();
	printf("libopendkim messages=%ld sigs=%d cpu_us=%.1f user_us=%.1f sys_us=%.1f wall_us=%.1f failed=%d\n",
	    n, want, (c1 - c0) / (double)n, (u1 - u0) / (double)n, (c1 - c0 > u1 - u0 ? c1 - c0 - (u1 - u0) : 0) / (double)n,
	    (w1 - w0) / (double)n, bad);

	/* Again with each decoded key kept (alignmilter's keycache.c). */
	cache_on = true;
	for (long i = 0; i < warm + 1; i++)
		if (verify_once(lib, false) != want)
			bad++;
	cache_hits = 0;
	c0 = cpu_us(), u0 = user_us(), w0 = wall_us();
	for (long i = 0; i < n; i++)
		if (verify_once(lib, false) != want)
			bad++;
	c1 = cpu_us(), u1 = user_us(), w1 = wall_us();
	cache_on = false;
	printf("cached messages=%ld sigs=%d cpu_us=%.1f user_us=%.1f sys_us=%.1f wall_us=%.1f hits=%ld\n",
	    n, want, (c1 - c0) / (double)n, (u1 - u0) / (double)n, (c1 - c0 > u1 - u0 ? c1 - c0 - (u1 - u0) : 0) / (double)n,
	    (w1 - w0) / (double)n, cache_hits);
	if (cache_hits < n * want) {
		fprintf(stderr, "dkimfloor: the key cache was not used (%ld hits): "
		    "link with -Wl,--export-dynamic-symbol=d2i_PUBKEY_bio\n", cache_hits);
		bad++;
	}
	dkim_close(lib);

	/* The split: key decoding, then the RSA verifications alone. */
	for (int s = 0; s < nsigs; s++)
		if (!prepare_rsa(&sigs[s]))
			die("cannot recover a signature's hash (not rsa-sha256?)");
	c0 = cpu_us(), w0 = wall_us();
	for (long i = 0; i < n; i++)
		for (int s = 0; s < nsigs; s++) {
			EVP_PKEY *k = decode_key(find_key(sigs[s].name)->txt);

			if (k == NULL)
				bad++;
			EVP_PKEY_free(k);
		}
	c1 = cpu_us(), w1 = wall_us();
	printf("keydecode keys=%d cpu_us=%.1f wall_us=%.1f\n", nsigs, (c1 - c0) / (double)n, (w1 - w0) / (double)n);
	c0 = cpu_us(), w0 = wall_us();
	for (long i = 0; i < n; i++)
		for (int s = 0; s < nsigs; s++)
			if (!rsa_verify(&sigs[s]))
				bad++;
	c1 = cpu_us(), w1 = wall_us();
	printf("rsa sigs=%d bits=%d cpu_us=%.1f wall_us=%.1f\n", nsigs, EVP_PKEY_get_bits(sigs[0].pkey),
	    (c1 - c0) / (double)n, (w1 - w0) / (double)n);
	for (int s = 0; s < nsigs; s++)
		EVP_PKEY_free(sigs[s].pkey);
	for (int i = 0; i < ncache; i++)
		EVP_PKEY_free(cache[i].pkey);
	if (bad)
		fprintf(stderr, "dkimfloor: %d verifications failed\n", bad);
	return bad ? 1 : 0;
}
