/*
 * check_dkim.h - what the check_dkim*.c files share: the fixture (a
 * fakezone behind am_resolver), feeding a message through the public
 * per-message API as the milter does, loading the vectors' DNS data, and
 * comparing verdicts with expectations.
 */
#ifndef CHECK_DKIM_H
#define CHECK_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>

#include "dns/resolver.h"
#include "auth/dkim.h"
#include "fakezone.h"

#define VEC_DIR	TESTDATA_DIR "/dkim"
#define OWN_DIR	TOP_SRCDIR "/tests/dkim"

/* The fixture, set up afresh for every test by ckd_setup. */
extern bool ckd_survey;			/* ALIGNMILTER_DKIM_SURVEY: print every verdict */
extern struct fakezone *ckd_fz;
extern am_resolver *ckd_res;

void	ckd_setup(void);
void	ckd_teardown(void);
/* A library on ckd_res; fails the test when it cannot be made. */
am_dkim_lib *ckd_new_lib(unsigned max_sigs);

/*
 * Split a raw message (CRLF or LF) into header fields and body and feed
 * them.  chunk: body chunk size (exercises line ends across chunks).
 */
void	ckd_feed(am_dkim_msg *, const char *raw, size_t len, size_t chunk);
/* The file as one message; false when it cannot be read. */
bool	ckd_verify_file(am_dkim_lib *, const char *path, size_t chunk, struct am_dkim_verdict *);
/* tests/dkim/own/<file> with a library of its own. */
void	ckd_verify_own(unsigned max_sigs, const char *file, size_t chunk, struct am_dkim_verdict *);

/* "pass,fail"; "none" when unsigned. */
void	ckd_results_string(const struct am_dkim_verdict *, char *buf, size_t size);
void	ckd_print_verdict(const char *label, const struct am_dkim_verdict *);
/* expected "pass,permerror" against the verdict; "a|b" accepts either. */
bool	ckd_results_match(const char *expected, const struct am_dkim_verdict *);

/* The next line of a buffer being cut up in place (CR LF or LF); NULL at the end. */
char	*ckd_next_line(char **cur);
/* tests/dkim/own/dns.txt: name TXT value | name CNAME target | name SERVFAIL | name TIMEOUT */
void	ckd_load_own_dns(struct fakezone *, const char *path);
/*
 * Mail::DKIM FAKE_DNS.dat and OpenDKIM pubkeys: "<owner><ws><TXT value>";
 * NXDOMAIN, ~~Query timed out~~, ~~SERVFAIL~~ are statuses, "" is an
 * empty record.
 */
void	ckd_load_owner_value(struct fakezone *, const char *path);
/* Zone-file lines: name. IN TXT "a" "b" */
void	ckd_load_zonefile(struct fakezone *, const char *path);
/* A key record file holding just the TXT value. */
void	ckd_load_keyfile(struct fakezone *, const char *owner, const char *path);

/* The tests of check_dkim_vectors.c and check_dkim_robust.c, added to tc. */
void	ckd_vectors_tests(TCase *tc);
void	ckd_robust_tests(TCase *tc);

#endif
