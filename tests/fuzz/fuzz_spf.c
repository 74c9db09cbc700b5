/*
 * fuzz_spf.c - libFuzzer target: hostile SPF records through our DNS layer
 * into libspf2 (Debian's 1.2.10, which lacks the CVE-2023-42118 fix).
 *
 * Input: one flag byte, then TXT data.  The data up to the first LF is
 * the TXT record of the MAIL FROM domain (and of the HELO name); the rest
 * (or the same record, when there is no LF) answers a TXT query for any
 * other name, i.e. every include:, redirect= and exp= target, however the
 * fuzzer spells it.  Other record types come from a fixed fakezone.  All
 * of it goes through am_resolver, spf-dns.c's DNS layer and record filter
 * (the CVE guard), then libspf2's compiler, interpreter and macro
 * expander, under ASan and UBSan.  libspf2 itself is not instrumented:
 * ASan sees our code and every heap block (its malloc is ASan's), and a
 * stack overflow inside libspf2 ends in the stack protector's abort.
 *
 * Flag byte: bit 0 IPv6 client, bit 1 null sender (HELO identity),
 * bit 2 the MAIL FROM domain's TXT answer is a SERVFAIL, bit 3 the other
 * names' TXT answers time out.
 *
 * Invariants: the verdict is one of the results, its strings end inside
 * their fields, and the explanation is printable.
 */
#include "config.h"

#include <string.h>

#include "fakezone.h"
#include "fuzz.h"
#include "dns/resolver.h"
#include "auth/spf.h"
#include "util/util.h"

#define MAILFROM_DOMAIN	"fuzz.example"
#define HELO_NAME	"helo.fuzz.example"

static struct fakezone *fz;
static am_resolver *res;
static am_spf *spf;

/* The input of the running iteration, answered by backend(). */
static struct {
	const uint8_t *rec0, *rec1;
	size_t	len0, len1;
	unsigned flags;
} cur;

static struct am_dns_answer *
txt_answer(const char *name, const uint8_t *data, size_t len)
{
	struct am_dns_answer *a = am_dns_answer_new(AM_DNS_OK, AM_RR_TXT);

	am_strlcpy(a->canonname, name, sizeof(a->canonname));
	a->ttl = 300;
	am_dns_answer_add(a, data, len, 0);
	return a;
}

/* TXT from the input; everything else from the fixed zone. */
static struct am_dns_answer *
backend(void *arg, const char *name, int rrtype)
{
#ifdef FUZZ_TRACE
	fprintf(stderr, "query %d %zu %.80s\n", rrtype, strlen(name), name);
#endif
	if (rrtype != AM_RR_TXT)
		return fz_backend(arg, name, rrtype);
	if (strcasecmp(name, MAILFROM_DOMAIN) == 0 || strcasecmp(name, HELO_NAME) == 0) {
		if (cur.flags & 4)
			return am_dns_answer_new(AM_DNS_SERVFAIL, AM_RR_TXT);
		return txt_answer(name, cur.rec0, cur.len0);
	}
	if (cur.flags & 8)
		return NULL;	/* timeout */
	return txt_answer(name, cur.rec1, cur.len1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fz = fz_new();
	fz_add_a(fz, MAILFROM_DOMAIN, "192.0.2.1");
	fz_add_aaaa(fz, MAILFROM_DOMAIN, "2001:db8::1");
	fz_add_mx(fz, MAILFROM_DOMAIN, 10, "mx.fuzz.example");
	fz_add_a(fz, "mx.fuzz.example", "192.0.2.2");
	fz_add_a(fz, HELO_NAME, "192.0.2.1");
	fz_add_ptr(fz, "1.2.0.192.in-addr.arpa", HELO_NAME);
	fz_add_ptr(fz, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    HELO_NAME);
	fz_add_aaaa(fz, HELO_NAME, "2001:db8::1");
	fz_add_a(fz, "1.2.0.192.fuzz.example", "127.0.0.2");
	res = am_resolver_new_backend(backend, fz, 1000);
	if ((spf = am_spf_new(res, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_spf: %s\n", err);
		exit(1);
	}
	return 0;
}

static void
check_verdict(const struct am_spf_verdict *v)
{
	const char *p;

	FUZZ_ASSERT(v->result >= AM_SPF_NONE && v->result <= AM_SPF_PERMERROR);
	FUZZ_ASSERT(memchr(v->domain, '\0', sizeof(v->domain)) != NULL);
	FUZZ_ASSERT(memchr(v->reason, '\0', sizeof(v->reason)) != NULL);
	FUZZ_ASSERT(memchr(v->explanation, '\0', sizeof(v->explanation)) != NULL);
	for (p = v->explanation; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	if (v->result != AM_SPF_FAIL)
		FUZZ_ASSERT(v->explanation[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_spf_verdict v;
	const uint8_t *lf;

	if (size < 1)
		return 0;
	cur.flags = data[0];
	data++;
	size--;
	cur.rec0 = data;
	if ((lf = memchr(data, '\n', size)) != NULL) {
		cur.len0 = (size_t)(lf - data);
		cur.rec1 = lf + 1;
		cur.len1 = size - cur.len0 - 1;
	} else {
		cur.len0 = cur.len1 = size;
		cur.rec1 = data;
	}
	memset(&v, 'X', sizeof(v));
	am_spf_check(spf, (cur.flags & 1) ? "2001:db8::1" : "192.0.2.1", HELO_NAME,
	    (cur.flags & 2) ? "" : "user@" MAILFROM_DOMAIN, &v);
	check_verdict(&v);
	return 0;
}
