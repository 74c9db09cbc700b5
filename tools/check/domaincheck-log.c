/*
 * domaincheck-log.c - what the alignment log tells alignmilter-check.
 *
 * Owns: reading an alignment log (JSON Lines, alignmilter(8) "Alignment
 * log") and, for one From domain, collecting the DKIM selectors SES
 * signed with under d=<domain>, the custom MAIL FROM domain and region
 * SES used, and how much of the domain's mail was SES mail.  Records are
 * read back into verdicts by alignlog-read.c, the reader
 * alignmilter-report uses too.
 *
 * Errors: nothing is logged; dc_log_scan() returns false with why when
 * the log cannot be opened or read; a line it cannot read is skipped, not
 * fatal.  Out of memory aborts.  Threads: see domaincheck.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Policy and renderers. */
#include "policy/alignlog-read.h"

/* Application-specific. */
#include "domaincheck-int.h"

/* ---- collecting ------------------------------------------------------------ */

static void
add_selector(struct dc_logscan *s, const char *sel)
{
	size_t i;

	if (sel[0] == '\0')
		return;
	for (i = 0; i < s->nselectors; i++)
		if (strcasecmp(s->selectors[i], sel) == 0)
			return;
	if (s->nselectors < AM_DC_SELECTORS_MAX)
		am_strlcpy(s->selectors[s->nselectors++], sel, sizeof(s->selectors[0]));
}

static void
take_record(struct dc_logscan *s, struct am_verdict *v, const char *domain)
{
	const char *at = strrchr(v->mail_from, '@');
	char env[AM_DOMAIN_MAX];
	bool ses, signed_ = false;
	size_t i;

	am_domain_normalize(v->from_domain);
	if (strcmp(v->from_domain, domain) != 0)
		return;
	s->messages++;
	am_strlcpy(env, at != NULL ? at + 1 : v->mail_from, sizeof(env));
	am_domain_normalize(env);
	ses = v->ses.is_ses || am_domain_is_under(env, "amazonses.com");
	for (i = 0; i < v->dkim.count; i++)
		if (am_domain_is_under(v->dkim.sig[i].domain, "amazonses.com"))
			ses = true;
	if (!ses)
		return;		/* other senders' selectors are not Easy DKIM's */
	s->ses_messages++;
	for (i = 0; i < v->dkim.count; i++) {
		am_domain_normalize(v->dkim.sig[i].domain);
		if (strcmp(v->dkim.sig[i].domain, domain) == 0) {
			add_selector(s, v->dkim.sig[i].selector);
			signed_ = true;
		}
	}
	if (signed_)
		s->ses_signed++;
	if (am_domain_is_under(env, "amazonses.com"))
		s->ses_default_mail_from++;
	else if (am_domain_is_under(env, domain) && strcmp(env, domain) != 0)
		am_strlcpy(s->mail_from, env, sizeof(s->mail_from));
	if (v->ses.region[0] != '\0')
		am_strlcpy(s->region, v->ses.region, sizeof(s->region));
}

bool
dc_log_scan(const char *path, const char *domain, struct dc_logscan *s, char *why, size_t whylen)
{
	struct am_verdict *v = am_xmalloc(sizeof(*v));
	char *line = NULL, err[128];
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	memset(s, 0, sizeof(*s));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		free(v);
		return false;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (am_alignlog_read(line, (size_t)n, v, err, sizeof(err)))
			take_record(s, v, domain);
	}
	if (ferror(fp)) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		fclose(fp);
		free(line);
		free(v);
		return false;
	}
	fclose(fp);
	free(line);
	free(v);
	return true;
}
