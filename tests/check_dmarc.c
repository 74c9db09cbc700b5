/*
 * check_dmarc.c - tests of the DMARC module (lib/auth/dmarc*.c): the
 * shared fixture and helpers, am_dmarc_new()'s errors, and the suite
 * the other check_dmarc*.c files add their tests to (check_dmarc.h).
 *
 * Owns: the organizational domain against the official PSL test vectors,
 * our alignment against the OpenDMARC and Mail::DMARC tables, record
 * vetting against the OpenDMARC parse table and Mail::DMARC's policy
 * records, policy discovery and evaluation over an in-process zone
 * (tests/fakezone.h).  Expectations that differ from an upstream table on
 * purpose are listed in tests/dmarc/DEVIATIONS.md and in the tables.
 * From-header extraction tables (OpenDMARC finddomain.tsv, Mail::DMARC
 * from_domain.tsv) belong to the header parser and are skipped here.
 *
 * Errors: Check failures; each table prints its score ("PSL vectors
 * ...: 78/78") and any failing row on stderr.  Exits non-zero when a
 * test fails.
 *
 * Threads: Check runs each test in its own process; test_threads
 * evaluates from several threads at once.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "dns/resolver.h"
#include "auth/dmarc.h"
#include "fakezone.h"
#include "check_dmarc.h"

struct fakezone *dt_fz;
am_resolver *dt_res;
am_dmarc *dt_dm;

static void
setup(void)
{
	char err[256];

	dt_fz = fz_new();
	dt_res = am_resolver_new_backend(fz_backend, dt_fz, TIMEOUT_MS);
	dt_dm = am_dmarc_new(dt_res, AM_DMARC_RFC7489, PSL_PINNED, err, sizeof(err));
	ck_assert_msg(dt_dm != NULL, "am_dmarc_new: %s", err);
}

static void
teardown(void)
{
	am_dmarc_free(dt_dm);
	am_resolver_free(dt_res);
	fz_free(dt_fz);
}

/* ---- helpers (check_dmarc.h) ---------------------------------------------- */

void
dt_msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
}

void
dt_msg_spf(struct msg *m, enum am_spf_result r, const char *domain)
{
	m->spf.result = r;
	am_strlcpy(m->spf.domain, domain, sizeof(m->spf.domain));
}

void
dt_msg_dkim(struct msg *m, const char *domain, enum am_dkim_result r)
{
	struct am_dkim_sig *s = &m->dkim.sig[m->dkim.count++];

	m->dkim.total++;
	s->result = r;
	s->verified = true;
	am_strlcpy(s->domain, domain, sizeof(s->domain));
	am_strlcpy(s->selector, "sel", sizeof(s->selector));
}

void
dt_eval(const char *from, struct msg *m, unsigned rnd, struct am_dmarc_verdict *v)
{
	am_dmarc_lookup *lk = am_dmarc_start(dt_dm, from);

	am_dmarc_evaluate(dt_dm, lk, from, &m->spf, &m->dkim, rnd, v);
	am_dmarc_lookup_free(lk);
}

/* Publish one record at _dmarc.<domain>. */
void
dt_publish(const char *domain, const char *record)
{
	char name[300];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	fz_add_txt(dt_fz, name, record);
}

/* Split a TSV line in place; returns the field count (at most max). */
int
dt_tsv_split(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	f[n++] = line;
	while (n < max && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

/* Open a data file; fail the test if it is missing. */
FILE *
dt_data_open(const char *rel)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", DMARC_DATA, rel);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	return fp;
}

bool
dt_in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* ---- set-up ------------------------------------------------------------- */

START_TEST(test_new_errors)
{
	char err[256];
	am_dmarc *d;

	d = am_dmarc_new(dt_res, AM_DMARC_RFC7489, "/nonexistent/psl.dat", err, sizeof(err));
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(err, "/nonexistent/psl.dat") != NULL, "err: %s", err);
	d = am_dmarc_new(dt_res, AM_DMARC_RFC7489, "/etc/hostname", err, sizeof(err));
	ck_assert_ptr_null(d);
	ck_assert_str_ne(err, "");
	d = am_dmarc_new(dt_res, AM_DMARC_RFC7489, NULL, err, sizeof(err));
	ck_assert_ptr_null(d);
	/* A second instance (other PSL) works alongside the first. */
	d = am_dmarc_new(dt_res, AM_DMARC_RFC7489, PSL_SYSTEM, err, sizeof(err));
	if (d != NULL)
		am_dmarc_free(d);
}
END_TEST

static Suite *
dmarc_suite(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc = tcase_create("conformance");
	TCase *te = tcase_create("evaluate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_errors);
	dt_names_tests(tc);
	dt_records_tests(tc);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(te, setup, teardown);
	dt_eval_tests(te);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dmarc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
