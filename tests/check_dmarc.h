/*
 * check_dmarc.h - what the check_dmarc*.c files share: the fixture (an
 * in-process zone, a resolver over it, an am_dmarc on the pinned PSL),
 * a message's SPF and DKIM verdicts built by hand, evaluating one, and
 * reading the tables of tests/vectors/dmarc.
 *
 *   check_dmarc.c          the fixture and helpers, am_dmarc_new()'s
 *                          errors, the suite
 *   check_dmarc_names.c    organizational domain and alignment: PSL
 *                          vectors, OpenDMARC and Mail::DMARC tables
 *   check_dmarc_records.c  record vetting and discovery: OpenDMARC
 *                          record_parse and milter scenarios, Mail::DMARC
 *                          policy records and validate cases
 *   check_dmarc_eval.c     evaluation over the fake zone
 */
#ifndef CHECK_DMARC_H
#define CHECK_DMARC_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>

#include "dns/resolver.h"
#include "auth/verdict.h"
#include "auth/dmarc.h"
#include "fakezone.h"

#define DMARC_DATA	TESTDATA_DIR "/dmarc"
#define PSL_PINNED	DMARC_DATA "/psl/public_suffix_list.dat"
#define PSL_SYSTEM	"/usr/share/publicsuffix/public_suffix_list.dat"
#define TIMEOUT_MS	400

/* The fixture of every test (check_dmarc.c): fresh for each one. */
extern struct fakezone *dt_fz;
extern am_resolver *dt_res;
extern am_dmarc *dt_dm;

/* The identifiers of one message, as the verifiers would report them. */
struct msg {
	struct am_spf_verdict spf;
	struct am_dkim_verdict dkim;
};

void	dt_msg_init(struct msg *m);
void	dt_msg_spf(struct msg *m, enum am_spf_result r, const char *domain);
/* Add one verified signature (selector "sel"). */
void	dt_msg_dkim(struct msg *m, const char *domain, enum am_dkim_result r);
/* Start the lookup for from and evaluate m against it, as the milter does. */
void	dt_eval(const char *from, struct msg *m, unsigned rnd, struct am_dmarc_verdict *v);
/* Publish one record at _dmarc.<domain>. */
void	dt_publish(const char *domain, const char *record);
/* Split a TSV line in place; returns the field count (at most max). */
int	dt_tsv_split(char *line, char **f, int max);
/* Open a file under tests/vectors/dmarc; fail the test if it is missing. */
FILE	*dt_data_open(const char *rel);
bool	dt_in_list(const char *s, const char *const *list);

/* Each file adds its tests to a test case, in the order they run. */
void	dt_names_tests(TCase *tc);
void	dt_records_tests(TCase *tc);
void	dt_eval_tests(TCase *tc);

#endif
