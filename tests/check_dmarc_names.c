/*
 * check_dmarc_names.c - the DMARC module's names: the organizational
 * domain and identifier alignment (lib/auth/dmarc-names.c).
 *
 * Owns: the official PSL test vectors (test_psl.txt and tests.txt, on the
 * pinned list and on Debian's), the OpenDMARC and Mail::DMARC
 * organizational-domain tables, the alignment cases libopendmarc 1.4.2
 * gets wrong, and the OpenDMARC and Mail::DMARC alignment tables.
 *
 * Errors: Check failures; each table prints its score and any failing
 * row on stderr.
 *
 * Threads: Check's, one test process at a time.
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <opendmarc/dmarc.h>

#include "util/util.h"
#include "auth/dmarc.h"
#include "check_dmarc.h"

/* ---- PSL test vectors ----------------------------------------------------- */

/* Parse "null" or a quoted 'x' argument of checkPublicSuffix(). */
static const char *
psl_arg(char **pp, char *buf, size_t len)
{
	char *p = *pp, *e;

	while (*p == ' ' || *p == ',' || *p == '(')
		p++;
	if (strncmp(p, "null", 4) == 0) {
		*pp = p + 4;
		return NULL;
	}
	ck_assert_msg(*p == '\'', "bad vector near %s", p);
	e = strchr(p + 1, '\'');
	ck_assert_ptr_nonnull(e);
	snprintf(buf, len, "%.*s", (int)(e - p - 1), p + 1);
	*pp = e + 1;
	return buf;
}

/* One vector: the org domain of in is want (NULL: none). */
static bool
psl_check(am_dmarc *d, const char *in, const char *want)
{
	char got[AM_DOMAIN_MAX];
	bool has = am_dmarc_org_domain(d, in, got, sizeof(got));

	if (want == NULL ? !has : has && strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "PSL vector failed: %s -> %s (want %s)\n", in ? in : "null",
	    has ? got : "null", want ? want : "null");
	return false;
}

static void
psl_vectors(am_dmarc *d, const char *label, int *passp, int *totalp)
{
	char line[512], a[256], b[256], *p;
	int pass = 0, total = 0;
	FILE *fp = dt_data_open("psl/test_psl.txt");

	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *in, *want;

		if ((p = strstr(line, "checkPublicSuffix(")) == NULL || strncmp(line, "//", 2) == 0)
			continue;
		p += strlen("checkPublicSuffix");
		in = psl_arg(&p, a, sizeof(a));
		want = psl_arg(&p, b, sizeof(b));
		total++;
		pass += psl_check(d, in, want);
	}
	fclose(fp);
	fprintf(stderr, "PSL vectors (test_psl.txt, %s): %d/%d\n", label, pass, total);
	*passp = pass;
	*totalp = total;
}

START_TEST(test_psl_vectors)
{
	char line[512], *f[3];
	int pass, total, pass2 = 0, total2 = 0;
	FILE *fp;

	psl_vectors(dt_dm, "pinned PSL", &pass, &total);
	ck_assert_int_eq(total, 78);
	ck_assert_int_eq(pass, total);

	/* The same cases in tests.txt ("input expected", null = none). */
	fp = dt_data_open("psl/tests.txt");
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *sp;

		if (strncmp(line, "//", 2) == 0 || line[0] == '\n')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		f[0] = line;
		f[1] = sp + 1;
		total2++;
		pass2 += psl_check(dt_dm, strcmp(f[0], "null") ? f[0] : NULL,
		    strcmp(f[1], "null") ? f[1] : NULL);
	}
	fclose(fp);
	fprintf(stderr, "PSL vectors (tests.txt, pinned PSL): %d/%d\n", pass2, total2);
	ck_assert_int_eq(total2, 78);
	ck_assert_int_eq(pass2, total2);
}
END_TEST

START_TEST(test_psl_vectors_system)
{
	char err[256];
	int pass, total;
	am_dmarc *d = am_dmarc_new(dt_res, AM_DMARC_RFC7489, PSL_SYSTEM, err, sizeof(err));

	if (d == NULL) {
		fprintf(stderr, "PSL vectors (system PSL): skipped, %s\n", err);
		return;
	}
	psl_vectors(d, "Debian publicsuffix", &pass, &total);
	ck_assert_int_eq(pass, total);
	am_dmarc_free(d);
}
END_TEST

/* ---- org domain tables ---------------------------------------------------- */

START_TEST(test_orgdomain_tables)
{
	char line[512], *f[4], got[AM_DOMAIN_MAX];
	int pass = 0, total = 0;
	FILE *fp;

	/* OpenDMARC orgdomain.tsv: n, domain, expected. */
	fp = dt_data_open("opendmarc/orgdomain.tsv");
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || dt_tsv_split(line, f, 4) < 3)
			continue;
		total++;
		if (am_dmarc_org_domain(dt_dm, f[1], got, sizeof(got)) && strcmp(got, f[2]) == 0)
			pass++;
		else
			fprintf(stderr, "orgdomain %s: %s -> %s (want %s)\n", f[0], f[1], got, f[2]);
	}
	fclose(fp);
	fprintf(stderr, "OpenDMARC orgdomain: %d/%d\n", pass, total);
	ck_assert_int_eq(total, 3);
	ck_assert_int_eq(pass, total);

	/* Mail::DMARC org_domain.tsv: domain, expected. */
	pass = total = 0;
	fp = dt_data_open("mail-dmarc/org_domain.tsv");
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || dt_tsv_split(line, f, 2) < 2)
			continue;
		total++;
		if (am_dmarc_org_domain(dt_dm, f[0], got, sizeof(got)) && strcmp(got, f[1]) == 0)
			pass++;
		else
			fprintf(stderr, "org_domain: %s -> %s (want %s)\n", f[0], got, f[1]);
	}
	fclose(fp);
	fprintf(stderr, "Mail::DMARC org_domain: %d/%d\n", pass, total);
	ck_assert_int_eq(total, 5);
	ck_assert_int_eq(pass, total);
}
END_TEST

/* ---- alignment ------------------------------------------------------------ */

/*
 * The cases libopendmarc 1.4.2 gets wrong (tests/dmarc/DEVIATIONS.md): each must
 * come out right here.  The library's own answer is printed for the record.
 */
START_TEST(test_alignment_library_bugs)
{
	static const struct {
		const char *a, *b;
		bool strict, want;
	} c[] = {
		{ "example.org", "mail.example.org", true, false },
		{ "a.example.com", "b.example.com", true, false },
		{ "co.uk", "example.co.uk", false, false },
		{ "example.co.uk", "co.uk", false, false },
		{ "example.org", "mail.example.org", false, true },
		{ "a.example.com", "b.example.com", false, true },
		{ "Example.ORG.", "example.org", true, true },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int lib = opendmarc_policy_check_alignment((u_char *)c[i].a, (u_char *)c[i].b,
		    c[i].strict ? DMARC_RECORD_A_STRICT : DMARC_RECORD_A_RELAXED);

		fprintf(stderr, "alignment %s / %s %s: ours %s, libopendmarc %s\n", c[i].a, c[i].b,
		    c[i].strict ? "strict" : "relaxed", c[i].want ? "aligned" : "not aligned",
		    lib == 0 ? "aligned" : "not aligned");
		ck_assert_msg(am_dmarc_aligned(dt_dm, c[i].a, c[i].b, c[i].strict) == c[i].want,
		    "%s / %s", c[i].a, c[i].b);
	}
	/* Garbage never aligns and never crashes. */
	ck_assert(!am_dmarc_aligned(dt_dm, "", "", true));
	ck_assert(!am_dmarc_aligned(dt_dm, NULL, "example.com", false));
	ck_assert(!am_dmarc_aligned(dt_dm, "example.com", NULL, false));
	ck_assert(!am_dmarc_aligned(dt_dm, "exa mple.com", "exa mple.com", true));
	ck_assert(!am_dmarc_aligned(dt_dm, ".", ".", false));
}
END_TEST

/* OpenDMARC alignment.tsv rows where we deliberately differ: not aligned. */
static const char *const odm_align_dev[] = { "5", "6", NULL };

START_TEST(test_opendmarc_alignment_table)
{
	char line[512], *f[6];
	int pass = 0, total = 0, dev = 0;
	FILE *fp = dt_data_open("opendmarc/alignment.tsv");

	while (fgets(line, sizeof(line), fp) != NULL) {
		bool want, got;

		if (line[0] == '#' || dt_tsv_split(line, f, 6) < 5)
			continue;
		total++;
		want = strncmp(f[4], "aligned", 7) == 0;
		if (dt_in_list(f[0], odm_align_dev)) {
			want = false;	/* empty labels: not a domain name */
			dev++;
		}
		got = am_dmarc_aligned(dt_dm, f[1], f[2], strcmp(f[3], "strict") == 0);
		if (got == want)
			pass++;
		else
			fprintf(stderr, "alignment row %s: %s / %s %s -> %d\n", f[0], f[1], f[2], f[3], got);
	}
	fclose(fp);
	fprintf(stderr, "OpenDMARC alignment: %d/%d (%d documented deviations)\n", pass, total, dev);
	ck_assert_int_eq(total, 10);
	ck_assert_int_eq(pass, total);
}
END_TEST

/* "a (fail) + b (pass)" or "d" (result in dt_res) into m's signatures. */
static void
parse_sigs(struct msg *m, const char *list, const char *res_col)
{
	char buf[256], *tok, *save = NULL;

	if (strstr(list, "no signatures") != NULL)
		return;
	am_strlcpy(buf, list, sizeof(buf));
	for (tok = strtok_r(buf, "+", &save); tok != NULL; tok = strtok_r(NULL, "+", &save)) {
		char dom[128] = "", r[16] = "";
		enum am_dkim_result dr;

		if (sscanf(tok, " %127s (%15[a-z])", dom, r) < 1)
			continue;
		if (r[0] == '\0')
			am_strlcpy(r, res_col, sizeof(r));
		dr = strcmp(r, "pass") == 0 ? AM_DKIM_PASS : AM_DKIM_FAIL;
		dt_msg_dkim(m, dom, dr);
	}
}

START_TEST(test_maildmarc_alignment_table)
{
	char line[512], *f[8];
	int pass = 0, total = 0;
	FILE *fp = dt_data_open("mail-dmarc/alignment_cases.tsv");

	while (fgets(line, sizeof(line), fp) != NULL) {
		struct am_dmarc_verdict v;
		struct msg m;
		bool want, got;
		char rec[128];

		if (line[0] == '#' || dt_tsv_split(line, f, 8) < 7)
			continue;
		total++;
		fz_clear(dt_fz);
		dt_msg_init(&m);
		want = strncmp(f[6], "aligned", 7) == 0 || strncmp(f[6], "dmarc aligned", 13) == 0;
		if (strncmp(f[0], "agg-", 4) == 0) {
			/* "spf=pass dkim=fail": identities of example.com. */
			dt_publish("example.com", "v=DMARC1; p=reject");
			dt_msg_spf(&m, strstr(f[2], "spf=pass") ? AM_SPF_PASS : AM_SPF_FAIL, "example.com");
			dt_msg_dkim(&m, "example.com", strstr(f[2], "dkim=pass") ? AM_DKIM_PASS : AM_DKIM_FAIL);
			dt_eval("example.com", &m, 0, &v);
			got = v.result == AM_DMARC_PASS;
		} else if (strncmp(f[2], "spf", 3) == 0) {
			snprintf(rec, sizeof(rec), "v=DMARC1; p=reject%s",
			    strcmp(f[5], "aspf=r") == 0 ? "; aspf=r" : "");
			dt_publish(f[1], rec);
			dt_msg_spf(&m, strcmp(f[4], "pass") == 0 ? AM_SPF_PASS : AM_SPF_FAIL, f[3]);
			dt_eval(f[1], &m, 0, &v);
			got = m.spf.aligned && v.spf_aligned;
			if (strstr(f[6], "strict") != NULL)
				ck_assert(am_dmarc_aligned(dt_dm, f[1], f[3], true));
		} else {
			size_t i;

			/* Alignment is reported even without a DMARC record. */
			parse_sigs(&m, f[3], f[4]);
			dt_eval(f[1], &m, 0, &v);
			got = false;
			for (i = 0; i < m.dkim.count; i++)
				got |= m.dkim.sig[i].aligned && m.dkim.sig[i].result == AM_DKIM_PASS;
			ck_assert(got == v.dkim_aligned);
		}
		if (got == want)
			pass++;
		else
			fprintf(stderr, "Mail::DMARC alignment %s: got %d want %d\n", f[0], got, want);
	}
	fclose(fp);
	fprintf(stderr, "Mail::DMARC alignment: %d/%d\n", pass, total);
	ck_assert_int_eq(total, 13);
	ck_assert_int_eq(pass, total);
}
END_TEST

void
dt_names_tests(TCase *tc)
{
	tcase_add_test(tc, test_psl_vectors);
	tcase_add_test(tc, test_psl_vectors_system);
	tcase_add_test(tc, test_orgdomain_tables);
	tcase_add_test(tc, test_alignment_library_bugs);
	tcase_add_test(tc, test_opendmarc_alignment_table);
	tcase_add_test(tc, test_maildmarc_alignment_table);
}
