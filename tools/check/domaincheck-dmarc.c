/*
 * domaincheck-dmarc.c - the DMARC part of alignmilter-check.
 *
 * Owns: finding the record the milter would apply (_dmarc.<domain>, else
 * the organizational domain's, RFC 7489 6.6.3), vetting it with the
 * milter's own parser (am_dmarc_parse_record), judging p / sp / pct /
 * rua / aspf, and writing each fix as the whole corrected record: the
 * published tags in their order with one tag set or removed.
 *
 * Errors: nothing is logged; a temporary DNS failure marks the run
 * failed (dc_lookup) and ends the part, anything else found is a check
 * with its points.  Out of memory aborts.  Threads: see domaincheck.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Policy and renderers. */
#include "policy/ses.h"

/* Application-specific. */
#include "domaincheck-int.h"

#define DMARC_TAGS_MAX	32

/* The published record as tag=value pairs, in order, for rewriting. */
struct tagrec {
	char	name[DMARC_TAGS_MAX][16];
	char	value[DMARC_TAGS_MAX][512];
	size_t	n;
};

static void
tagrec_parse(const char *rec, struct tagrec *t)
{
	char *copy = am_xstrdup(rec), *tok, *next, *eq;

	memset(t, 0, sizeof(*t));
	for (tok = copy; tok != NULL && t->n < DMARC_TAGS_MAX; tok = next) {
		if ((next = strchr(tok, ';')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(tok, '=')) == NULL)
			continue;
		*eq = '\0';
		am_strlcpy(t->name[t->n], am_trim(tok), sizeof(t->name[0]));
		am_strlcpy(t->value[t->n], am_trim(eq + 1), sizeof(t->value[0]));
		if (t->name[t->n][0] != '\0')
			t->n++;
	}
	free(copy);
}

/* Set tag to value in place (value NULL: remove it); a new p= goes first. */
static void
tagrec_set(struct tagrec *t, const char *tag, const char *value)
{
	size_t i, at = t->n;

	for (i = 0; i < t->n; i++)
		if (strcasecmp(t->name[i], tag) == 0) {
			if (value == NULL)
				t->name[i][0] = '\0';	/* not rendered */
			else
				am_strlcpy(t->value[i], value, sizeof(t->value[0]));
			return;
		}
	if (value == NULL || t->n == DMARC_TAGS_MAX)
		return;
	if (strcasecmp(tag, "p") == 0) {
		/* RFC 7489 6.3: p= right after v=. */
		for (at = 0; at < t->n && strcasecmp(t->name[at], "v") == 0; at++)
			;
		memmove(t->name[at + 1], t->name[at], (t->n - at) * sizeof(t->name[0]));
		memmove(t->value[at + 1], t->value[at], (t->n - at) * sizeof(t->value[0]));
	}
	am_strlcpy(t->name[at], tag, sizeof(t->name[0]));
	am_strlcpy(t->value[at], value, sizeof(t->value[0]));
	t->n++;
}

/* The zone-file line of the record (malloc'ed). */
static char *
tagrec_line(const struct tagrec *t, const char *owner)
{
	char rec[4096];
	struct am_buf b;
	size_t i;

	am_strlcpy(rec, "v=DMARC1", sizeof(rec));
	for (i = 0; i < t->n; i++) {
		if (t->name[i][0] == '\0' || strcasecmp(t->name[i], "v") == 0)
			continue;
		am_strlcat(rec, "; ", sizeof(rec));
		am_strlcat(rec, t->name[i], sizeof(rec));
		am_strlcat(rec, "=", sizeof(rec));
		am_strlcat(rec, t->value[i], sizeof(rec));
	}
	am_buf_init(&b);
	dc_zone_txt(&b, owner, rec);
	return b.data;
}

/* Drop the tags the milter ignored as invalid ("ignored invalid fo= ri="). */
static void
tagrec_drop_invalid(struct tagrec *t, const char *ignored)
{
	char pat[24];
	size_t i;

	for (i = 0; i < t->n; i++) {
		snprintf(pat, sizeof(pat), " %s=", t->name[i]);
		if (t->name[i][0] != '\0' && strstr(ignored, pat) != NULL)
			t->name[i][0] = '\0';
	}
}

/* A record without a usable policy: p=none where p= is broken, else no sp=. */
static void
tagrec_fix_policy(struct tagrec *t, const struct am_dmarc_record *d)
{
	if (d->p_invalid || d->p[0] == '\0')
		tagrec_set(t, "p", "none");
	else
		tagrec_set(t, "sp", NULL);
}

/*
 * One published record, judged by several checks: each one that loses
 * points changes "fixed", and all of them name the same fix, the record
 * with every change applied (one line to publish, not one per tag).
 */
struct dmarc_judge {
	struct dc_ctx *c;
	const struct am_dmarc_record *d;
	struct tagrec fixed;
	size_t	pending[8];	/* indexes of checks that get the fix */
	size_t	npending;
};

/* Discovery: the record text (malloc'ed) and where; number of records found. */
static size_t
dmarc_find(struct dc_ctx *c, const char *domain, char **rec)
{
	char name[AM_DOMAIN_MAX + 8];
	struct am_dns_answer *a;
	size_t i, n = 0;

	*rec = NULL;
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	a = dc_lookup(c, name, AM_RR_TXT);
	for (i = 0; !c->r->failed && a->status == AM_DNS_OK && i < a->count; i++)
		if (am_dmarc_is_record((const char *)a->rr[i].data)) {
			if (n++ == 0)
				*rec = am_xstrdup((const char *)a->rr[i].data);
		}
	am_dns_answer_free(a);
	return n;
}

static void
add(struct dmarc_judge *j, const char *name, enum am_dc_status st, int hint, unsigned points,
    const char *detail)
{
	dc_add(j->c, AM_DC_SEC_DMARC, name, st, hint, points, NULL, "%s", detail);
	if (st != AM_DC_PASS && j->npending < sizeof(j->pending) / sizeof(j->pending[0]))
		j->pending[j->npending++] = j->c->r->count - 1;
}

/* p (or sp, for a record found at the organizational domain), sp, pct. */
static void
check_policy(struct dmarc_judge *j, bool from_org)
{
	const struct am_dmarc_record *d = j->d;
	bool use_sp = from_org && d->sp[0] != '\0';
	const char *pol = use_sp ? d->sp : d->p;
	char detail[512];

	if (strcmp(pol, "none") == 0) {
		snprintf(detail, sizeof(detail), "%s=none is monitoring only: receivers deliver mail "
		    "that fails DMARC; move to quarantine, then reject, once every stream aligns",
		    use_sp ? "sp" : "p");
		tagrec_set(&j->fixed, use_sp ? "sp" : "p", "quarantine");
		add(j, "dmarc-policy", AM_DC_WARN, AM_HINT_DMARC_POLICY_NONE, DC_PTS_POLICY_NONE, detail);
	} else {
		snprintf(detail, sizeof(detail), "%s=%s", use_sp ? "sp" : "p", pol);
		add(j, "dmarc-policy", AM_DC_PASS, -1, 0, detail);
	}
	/* sp=none under an enforcing p leaves every subdomain unprotected. */
	if (!from_org && strcmp(d->p, "none") != 0 && strcmp(d->sp, "none") == 0) {
		snprintf(detail, sizeof(detail), "sp=none: subdomains of %s (such as a MAIL FROM "
		    "domain) are monitoring only while p=%s", j->c->domain, d->p);
		tagrec_set(&j->fixed, "sp", NULL);
		add(j, "dmarc-sp", AM_DC_WARN, -1, DC_PTS_SP_NONE, detail);
	} else {
		snprintf(detail, sizeof(detail), "sp=%s", d->sp[0] ? d->sp : "(as p)");
		add(j, "dmarc-sp", AM_DC_PASS, -1, 0, detail);
	}
	if (d->pct < 100 && strcmp(pol, "none") != 0) {
		snprintf(detail, sizeof(detail), "pct=%u: the policy applies to %u%% of failing mail, "
		    "the rest gets the next weaker one", d->pct, d->pct);
		tagrec_set(&j->fixed, "pct", NULL);
		add(j, "dmarc-pct", AM_DC_WARN, -1, DC_PTS_PCT, detail);
	} else {
		snprintf(detail, sizeof(detail), "pct=%u", d->pct);
		add(j, "dmarc-pct", AM_DC_PASS, -1, 0, detail);
	}
}

static void
check_rua(struct dmarc_judge *j)
{
	char detail[512], rua[AM_DOMAIN_MAX + 32];

	if (j->d->rua[0] != '\0') {
		snprintf(detail, sizeof(detail), "aggregate reports to %.400s", j->d->rua);
		add(j, "dmarc-rua", AM_DC_PASS, -1, 0, detail);
		return;
	}
	snprintf(rua, sizeof(rua), "mailto:dmarc-reports@%s", j->c->domain);
	tagrec_set(&j->fixed, "rua", rua);
	add(j, "dmarc-rua", AM_DC_WARN, -1, DC_PTS_RUA, "no usable rua=: nobody receives the "
	    "aggregate reports that show which streams fail before you enforce");
}

/* aspf=s: a MAIL FROM subdomain (all SES custom MAIL FROMs are) never aligns. */
static void
check_aspf(struct dmarc_judge *j)
{
	struct dc_ctx *c = j->c;
	char detail[512];

	if (j->d->aspf != 's') {
		add(j, "dmarc-aspf", AM_DC_PASS, -1, 0, "aspf=r (relaxed)");
		return;
	}
	tagrec_set(&j->fixed, "aspf", NULL);
	if (c->mail_from[0] != '\0' && strcasecmp(c->mail_from, c->domain) != 0) {
		snprintf(detail, sizeof(detail), "aspf=s: SPF passes for the MAIL FROM %s, a "
		    "subdomain, which strict alignment rejects; drop aspf=s (relaxed is the default)",
		    c->mail_from);
		add(j, "dmarc-aspf", AM_DC_FAIL, AM_HINT_ASPF_STRICT_SUBDOMAIN, DC_PTS_ASPF_STRICT,
		    detail);
		return;
	}
	add(j, "dmarc-aspf", AM_DC_WARN, AM_HINT_ASPF_STRICT_SUBDOMAIN, DC_PTS_ASPF_STRICT_MAYBE,
	    "aspf=s: an SES custom MAIL FROM is always a subdomain and would never align; "
	    "drop aspf=s (relaxed is the default)");
}

/* The record is there: vet and judge it; every check that loses points names the fixed record. */
static void
check_record(struct dc_ctx *c, const char *rec, const char *where, bool from_org)
{
	struct am_dmarc_record d;
	struct dmarc_judge *j = am_xcalloc(1, sizeof(*j));
	char owner[AM_DOMAIN_MAX + 8], detail[512], *line;
	size_t i;

	snprintf(owner, sizeof(owner), "_dmarc.%s", where);
	am_dmarc_parse_record(rec, &d);
	j->c = c;
	j->d = &d;
	tagrec_parse(rec, &j->fixed);
	if (!d.usable || d.as_none) {
		snprintf(detail, sizeof(detail), "%s: %s%s", owner, d.reason,
		    d.usable ? "" : ", so receivers apply no policy");
		tagrec_fix_policy(&j->fixed, &d);
		add(j, "dmarc-record", AM_DC_FAIL, -1, d.usable ? DC_PTS_DMARC_AS_NONE :
		    DC_PTS_DMARC_NONE, detail);
	} else if (d.ignored[0] != '\0') {
		snprintf(detail, sizeof(detail), "%s: %s (RFC 7489 6.3: receivers ignore them)",
		    owner, d.ignored);
		tagrec_drop_invalid(&j->fixed, d.ignored);
		add(j, "dmarc-record", AM_DC_WARN, -1, DC_PTS_DMARC_IGNORED, detail);
	} else {
		snprintf(detail, sizeof(detail), "%s%s: \"%.200s\"", owner,
		    from_org ? " (organizational domain)" : "", rec);
		add(j, "dmarc-record", AM_DC_PASS, -1, 0, detail);
	}
	if (d.usable) {
		if (!d.as_none)
			check_policy(j, from_org);
		check_rua(j);
		check_aspf(j);
	}
	line = tagrec_line(&j->fixed, owner);
	for (i = 0; i < j->npending; i++)
		c->r->checks[j->pending[i]].fix = am_xstrdup(line);
	free(line);
	free(j);
}

void
dc_check_dmarc(struct dc_ctx *c)
{
	char org[AM_DOMAIN_MAX] = "", *rec = NULL, detail[512];
	const char *where = c->domain;
	struct am_buf fix;
	size_t n;

	n = dmarc_find(c, c->domain, &rec);
	if (!c->r->failed && n == 0 && am_dmarc_org_domain(c->dmarc, c->domain, org, sizeof(org)) &&
	    strcmp(org, c->domain) != 0) {
		where = org;
		n = dmarc_find(c, org, &rec);
	}
	if (c->r->failed) {
		free(rec);
		return;
	}
	am_buf_init(&fix);
	if (n == 0) {
		char txt[AM_DOMAIN_MAX + 64], owner[AM_DOMAIN_MAX + 8];

		snprintf(owner, sizeof(owner), "_dmarc.%s", c->domain);
		snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=mailto:dmarc-reports@%s", c->domain);
		dc_zone_txt(&fix, owner, txt);
		snprintf(detail, sizeof(detail), "no DMARC record at _dmarc.%s%s%s: receivers apply no "
		    "policy and send no reports", c->domain, org[0] && strcmp(org, c->domain) ?
		    " nor _dmarc." : "", org[0] && strcmp(org, c->domain) ? org : "");
		dc_add(c, AM_DC_SEC_DMARC, "dmarc-record", AM_DC_FAIL, AM_HINT_DMARC_NO_RECORD,
		    DC_PTS_DMARC_NONE, fix.data, "%s", detail);
	} else if (n > 1) {
		am_buf_printf(&fix, "; keep exactly one v=DMARC1 TXT record at _dmarc.%s", where);
		snprintf(detail, sizeof(detail), "%zu DMARC records at _dmarc.%s: more than one means "
		    "no policy at all (RFC 7489 6.6.3)", n, where);
		dc_add(c, AM_DC_SEC_DMARC, "dmarc-record", AM_DC_FAIL, -1, DC_PTS_DMARC_NONE,
		    fix.data, "%s", detail);
	} else
		check_record(c, rec, where, where != c->domain);
	am_buf_free(&fix);
	free(rec);
}
