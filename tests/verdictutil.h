/*
 * verdictutil.h - what the tests of the verdict's consumers share.
 *
 * Owns: verdicts built by hand as dmarc.c would fill them, with the hints
 * fixture (a DMARC context over an empty fakezone) for am_ses_analyse();
 * the checks of what the renderers write (one Authentication-Results
 * field, the alignment-log record's schema, alignmilter(8)'s examples);
 * and the pipeline fixture (tests/verdict/'s zone plus SES's and
 * example.com's records) with one message run through it.  Used by
 * check_ses, check_hints, check_authres, check_alignlog, check_verdictline,
 * check_pipeline, check_offline and check_session.  Every failure is a
 * Check assertion, so these run only inside a test or fixture.
 */
#ifndef VERDICTUTIL_H
#define VERDICTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <check.h>

#include "auth/dmarc.h"
#include "auth/verdict.h"
#include "policy/conf.h"
#include "policy/pipeline.h"
#include "policy/ses.h"
#include "fakezone.h"
#include "testutil.h"

#define FIX_DIR		TOP_SRCDIR "/tests/verdict"
#define PSL_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"
#define AUTHSERV	"mx.example.net"

#define SES_CLIENT	"54.240.8.1"
#define SES_HELO	"a8-1.smtp-out.amazonses.com"
#define SES_ENVELOPE	"0100018c1a2b3c4d-5e6f7a8b@us-east-1.amazonses.com"
#define EASY_SEL	"tok1"
#define SES_SEL		"224i4yxa5dv7c2xz3womw6peuasteono"

#define BIT(h)		(1u << (h))
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- verdicts built by hand ---------------------------------------------- */

/* The hints fixture's DMARC context (organizational domains for am_ses_analyse). */
extern am_dmarc *dm;

void	hints_setup(void);
void	hints_teardown(void);
/* Append a verified signature (rsa-sha256, 2048 bits, b=AbCdEfGh). */
struct am_dkim_sig *add_sig(struct am_verdict *, const char *d, const char *s,
	    enum am_dkim_result, bool aligned);
/* aligned: the SPF domain aligns with From, whatever r (as dmarc.c sets it). */
void	set_spf(struct am_verdict *, enum am_spf_result r, const char *domain, bool aligned);
/* The DMARC result from the alignment flags, as dmarc.c computes it. */
void	set_dmarc(struct am_verdict *, enum am_dmarc_policy);
/* Non-SES mail that passes: SPF and DKIM pass and align, p=reject. */
void	clean_verdict(struct am_verdict *);
/* The SES default: SPF unaligned for amazonses.com, Easy DKIM aligned, p=none. */
void	ses_verdict(struct am_verdict *);

/* "a,b,c" names of a hint set, for failure messages. */
const char *hint_list(unsigned hints, char *buf, size_t len);
/* A test's hint set is exactly want, naming both sets when not. */
#define ck_hints(v, want) do { \
	char hb_got_[512], hb_want_[512]; \
	ck_assert_msg((v)->hints == (want), "hints: got {%s}, want {%s}", \
	    hint_list((v)->hints, hb_got_, sizeof(hb_got_)), \
	    hint_list((want), hb_want_, sizeof(hb_want_))); \
} while (0)
/* The fix of hint h for v holds needle. */
void	fix_has(const struct am_verdict *, enum am_hint h, const char *needle);
/* The records of hint h are exactly want, each line a zone-file record, none in the fix. */
void	records_are(const struct am_verdict *, enum am_hint h, const char *want);

/* ---- what the renderers write -------------------------------------------- */

/* One Authentication-Results field; the number of ';' outside quotes and comments. */
unsigned check_ar_structure(const char *s);
/* The .EX example under heading in man/alignmilter.8, lines joined by sep (free it). */
char	*man_example(const char *heading, const char *sep, const char *tail);
/* Parse a rendered record or fail the test with the record in the message. */
struct jval *json_must_parse(const char *s, size_t len);
/* alignmilter(8)'s record schema; the number of keys beyond the example's. */
unsigned check_record_schema(const struct jval *record);

/* ---- the pipeline over the fakezone ---------------------------------------- */

/* The pipeline fixture's configuration, pipeline and zone (tests change them). */
extern struct am_conf conf;
extern am_pipeline *eng;
extern struct fakezone *pz;

void	pipe_setup(void);
void	pipe_teardown(void);
/* tests/verdict/dns.txt into z: name TXT value | name CNAME target. */
void	load_dns(struct fakezone *z, const char *path, bool with_cnames);
/* am_message_split's callback feeding an am_pipeline_msg. */
bool	feed_header(void *check, const char *name, size_t namelen, const char *value,
	    size_t valuelen);
/*
 * Run raw through a fresh check on eng and copy the verdict into out.
 * chunk 0: the body in one piece; SIZE_MAX: in odd sizes 1, 2, 3, 5, ...
 */
void	check_message(const char *raw, size_t len, const char *client, const char *helo,
	    const char *mail_from, size_t chunk, struct am_verdict *out);
/* tests/verdict/name, read whole (free it). */
char	*fixture(const char *name, size_t *len);
/* A zeroed verdict on the heap (free it). */
struct am_verdict *new_verdict(void);

#endif
