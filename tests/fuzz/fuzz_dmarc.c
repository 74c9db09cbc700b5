/*
 * fuzz_dmarc.c - libFuzzer target: RFC 9989 DMARC evaluation (the DNS
 * tree walk, record discovery, p/sp/np, t=y, relaxed alignment through
 * bounded walks) over a DNS world the input makes up, and the record
 * vetting of both standards.
 *
 * The input is lines; the first character says what a line is:
 *   F domain        the author (From) domain (the last F wins)
 *   S domain        the SPF domain, SPF pass;  s domain: SPF fail
 *   D domain        a DKIM signature, pass;    d domain: fail (at most 60)
 *   T name\ttext    a TXT record at _dmarc.name (repeat for several)
 *   E name          _dmarc.name answers SERVFAIL;  X name: times out
 *   A name          name has an A record (exists)
 *   N name          every query for name answers SERVFAIL
 * served by an in-process fakezone; the names are anything the input says.
 * Invariants:
 *   - the result and policies are in range; pass only with an aligned,
 *     passing identifier; fail only with a record found;
 *   - record_domain and org_domain are the author domain or one of its
 *     parents; every string is NUL-terminated within its field;
 *   - at most AM_DMARC_NAMES_MAX _dmarc queries and one existence query
 *     per message, however many identifiers (the walk bound);
 *   - walks_skipped never exceeds the identifiers;
 *   - am_dmarc_parse_record() of every TXT text, under both standards:
 *     psd in y/n/u, p/sp/np empty or a policy word, usable when as_none.
 */
#include "config.h"

#include <string.h>

#include "auth/dmarc.h"
#include "fakezone.h"
#include "fuzz.h"
#include "util/util.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

static struct fakezone *fz;
static am_resolver *res;
static am_dmarc *dm;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fz = fz_new();
	res = am_resolver_new_backend(fz_backend, fz, 1000);
	if ((dm = am_dmarc_new(res, AM_DMARC_RFC9989, PSL_PATH, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_dmarc: %s\n", err);
		exit(1);
	}
	return 0;
}

static bool
is_self_or_parent(const char *author, const char *d)
{
	size_t a = strlen(author), n = strlen(d);

	if (n == 0 || n > a)
		return false;
	return strcmp(author + a - n, d) == 0 && (n == a || author[a - n - 1] == '.');
}

static bool
word_ok(const char *w)
{
	return w[0] == '\0' || !strcmp(w, "none") || !strcmp(w, "quarantine") || !strcmp(w, "reject");
}

static void
check_record(const char *text)
{
	struct am_dmarc_record r;
	int std;

	for (std = 0; std < 2; std++) {
		am_dmarc_parse_record(text, std == 0 ? AM_DMARC_RFC9989 : AM_DMARC_RFC7489, &r);
		FUZZ_ASSERT(r.psd == 'y' || r.psd == 'n' || r.psd == 'u');
		FUZZ_ASSERT(word_ok(r.p) && word_ok(r.sp) && word_ok(r.np));
		FUZZ_ASSERT(r.adkim == 'r' || r.adkim == 's');
		FUZZ_ASSERT(r.aspf == 'r' || r.aspf == 's');
		FUZZ_ASSERT(r.pct <= 100);
		FUZZ_ASSERT(!r.as_none || r.usable);
		FUZZ_ASSERT(memchr(r.reason, '\0', sizeof(r.reason)) != NULL);
		FUZZ_ASSERT(memchr(r.rua, '\0', sizeof(r.rua)) != NULL);
	}
}

/* One line of the input into the zone or the identifiers. */
static void
take_line(char *line, char *author, struct am_spf_verdict *spf, struct am_dkim_verdict *dkim,
    size_t *ids)
{
	char name[300], *tab;
	char kind = line[0];
	const char *arg = line[0] != '\0' ? line + 1 : line;

	while (*arg == ' ')
		arg++;
	switch (kind) {
	case 'F':
		am_strlcpy(author, arg, AM_DOMAIN_MAX);
		break;
	case 'S':
	case 's':
		am_strlcpy(spf->domain, arg, sizeof(spf->domain));
		spf->result = kind == 'S' ? AM_SPF_PASS : AM_SPF_FAIL;
		(*ids)++;
		break;
	case 'D':
	case 'd':
		if (dkim->count < AM_DKIM_REPORT_MAX) {
			struct am_dkim_sig *s = &dkim->sig[dkim->count++];

			am_strlcpy(s->domain, arg, sizeof(s->domain));
			s->result = kind == 'D' ? AM_DKIM_PASS : AM_DKIM_FAIL;
			dkim->total = dkim->count;
			(*ids)++;
		}
		break;
	case 'T':
		if ((tab = strchr(arg, '\t')) == NULL)
			break;
		*tab = '\0';
		snprintf(name, sizeof(name), "_dmarc.%s", arg);
		fz_add_txt(fz, name, tab + 1);
		check_record(tab + 1);
		break;
	case 'E':
	case 'X':
		snprintf(name, sizeof(name), "_dmarc.%s", arg);
		fz_set_status(fz, name, AM_RR_TXT, kind == 'E' ? AM_DNS_SERVFAIL : AM_DNS_TIMEOUT);
		break;
	case 'A':
		fz_add_a(fz, arg, "192.0.2.1");
		break;
	case 'N':
		fz_set_status(fz, arg, 0, AM_DNS_SERVFAIL);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct am_dkim_verdict dkim;
	struct am_spf_verdict spf;
	struct am_dmarc_verdict out;
	char author[AM_DOMAIN_MAX] = "example.com", *text, *line, *next;
	am_dmarc_lookup *lk;
	unsigned before;
	size_t ids = 0, i;

	if (size > 16384)
		return 0;
	text = malloc(size + 1);
	FUZZ_ASSERT(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	fz_clear(fz);
	memset(&spf, 0, sizeof(spf));
	memset(&dkim, 0, sizeof(dkim));
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		take_line(line, author, &spf, &dkim, &ids);
	}
	before = fz_queries(fz);
	lk = am_dmarc_start(dm, author);
	am_dmarc_evaluate(dm, lk, author, &spf, &dkim, 0, &out);
	am_dmarc_lookup_free(lk);
	FUZZ_ASSERT(fz_queries(fz) - before <= AM_DMARC_NAMES_MAX + 1);
	FUZZ_ASSERT(out.result <= AM_DMARC_PERMERROR);
	FUZZ_ASSERT(out.policy <= AM_POLICY_REJECT && out.disposition <= out.policy);
	FUZZ_ASSERT(out.policy_tag <= AM_PTAG_NP);
	FUZZ_ASSERT(out.result != AM_DMARC_PASS || out.spf_aligned || out.dkim_aligned);
	FUZZ_ASSERT(out.result != AM_DMARC_FAIL || out.record_found);
	FUZZ_ASSERT(out.walks_skipped <= ids);
	FUZZ_ASSERT(memchr(out.reason, '\0', sizeof(out.reason)) != NULL);
	FUZZ_ASSERT(memchr(out.record_domain, '\0', sizeof(out.record_domain)) != NULL);
	FUZZ_ASSERT(memchr(out.org_domain, '\0', sizeof(out.org_domain)) != NULL);
	if (out.record_found) {
		char clean[AM_DOMAIN_MAX];
		size_t n = strlen(author);

		/* the author as the engine saw it: lower case, no root dot */
		am_strlcpy(clean, author, sizeof(clean));
		if (n > 0 && clean[n - 1] == '.')
			clean[n - 1] = '\0';
		am_lowercase(clean);
		FUZZ_ASSERT(is_self_or_parent(clean, out.record_domain));
		FUZZ_ASSERT(out.org_domain[0] == '\0' || is_self_or_parent(clean, out.org_domain));
		FUZZ_ASSERT(out.discovery == AM_DISCOVERY_TREEWALK);
	}
	for (i = 0; i < dkim.count; i++)
		FUZZ_ASSERT(!dkim.sig[i].aligned || dkim.sig[i].domain[0] != '\0');
	free(text);
	return 0;
}
