/*
 * domaincheck-dmarc.c - the DMARC part of alignmilter-check.
 *
 * Owns: finding the record the milter would apply under DMARCStandard
 * rfc7489 (_dmarc.<domain>, else the PSL organizational domain's, RFC
 * 7489 6.6.3; under rfc9989 domaincheck-dmarcbis.c asks the engine's
 * tree walk), vetting it with the milter's own parser
 * (am_dmarc_parse_record, under the engine's standard), judging the
 * checks both standards share (p / sp / pct / rua / aspf), and writing
 * each fix as the whole corrected record: the published tags in their
 * order with one tag set or removed.
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

static bool
is_bis(const struct dc_ctx *c)
{
	return am_dmarc_standard_of(c->dmarc) == AM_DMARC_RFC9989;
}

static void
tagrec_parse(const char *rec, struct dc_tagrec *t)
{
	char *copy = am_xstrdup(rec), *tok, *next, *eq;

	memset(t, 0, sizeof(*t));
	for (tok = copy; tok != NULL && t->n < DC_DMARC_TAGS_MAX; tok = next) {
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

void
dc_tagrec_set(struct dc_tagrec *t, const char *tag, const char *value)
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
	if (value == NULL || t->n == DC_DMARC_TAGS_MAX)
		return;
	if (strcasecmp(tag, "p") == 0) {
		/* RFC 7489 6.3: p= right after v= (RFC 9989 allows it anywhere). */
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
tagrec_line(const struct dc_tagrec *t, const char *owner)
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
tagrec_drop_invalid(struct dc_tagrec *t, const char *ignored)
{
	char pat[24];
	size_t i;

	for (i = 0; i < t->n; i++) {
		snprintf(pat, sizeof(pat), " %s=", t->name[i]);
		if (t->name[i][0] != '\0' && strstr(ignored, pat) != NULL)
			t->name[i][0] = '\0';
	}
}

/*
 * A record without a usable policy: p=none where p= is broken, else no
 * sp=; under RFC 9989 also without a broken sp= or np= (4.10.1).
 */
static void
tagrec_fix_policy(struct dc_tagrec *t, const struct am_dmarc_record *d, bool bis)
{
	if (d->p_invalid || d->p[0] == '\0')
		dc_tagrec_set(t, "p", "none");
	else if (!bis)
		dc_tagrec_set(t, "sp", NULL);
	if (bis && d->sp_invalid)
		dc_tagrec_set(t, "sp", NULL);
	if (bis && d->np_invalid)
		dc_tagrec_set(t, "np", NULL);
}

size_t
dc_dmarc_count(struct dc_ctx *c, const char *domain, char **rec)
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

void
dc_dmarc_add(struct dc_dmarc_judge *j, const char *name, enum am_dc_status st, int hint,
    unsigned points, const char *detail)
{
	dc_add(j->c, AM_DC_SEC_DMARC, name, st, hint, points, NULL, "%s", detail);
	if (st != AM_DC_PASS && j->npending < sizeof(j->pending) / sizeof(j->pending[0]))
		j->pending[j->npending++] = j->c->r->count - 1;
}

void
dc_dmarc_applied(const struct dc_dmarc_judge *j, const char **tag, const char **pol)
{
	const struct am_dmarc_record *d = j->d;
	const struct am_dmarc_verdict *v = &j->f->v;

	*tag = "p";
	*pol = d->p;
	if (!j->f->treewalk) {
		if (j->f->from_org && d->sp[0] != '\0') {
			*tag = "sp";
			*pol = d->sp;
		}
		return;
	}
	if (v->policy_tag == AM_PTAG_NP && d->np[0] != '\0') {
		*tag = "np";
		*pol = d->np;
	} else if ((v->policy_tag == AM_PTAG_NP || v->policy_tag == AM_PTAG_SP) && d->sp[0] != '\0') {
		*tag = "sp";
		*pol = d->sp;
	}
}

/* The policy that applies, sp, and (RFC 7489) pct. */
static void
check_policy(struct dc_dmarc_judge *j)
{
	const struct am_dmarc_record *d = j->d;
	const char *tag, *pol;
	char detail[512];

	dc_dmarc_applied(j, &tag, &pol);
	if (strcmp(pol, "none") == 0) {
		snprintf(detail, sizeof(detail), "%s=none is monitoring only: receivers deliver mail "
		    "that fails DMARC; move to quarantine, then reject, once every stream aligns", tag);
		dc_tagrec_set(&j->fixed, tag, "quarantine");
		dc_dmarc_add(j, "dmarc-policy", AM_DC_WARN, AM_HINT_DMARC_POLICY_NONE,
		    DC_PTS_POLICY_NONE, detail);
	} else {
		snprintf(detail, sizeof(detail), "%s=%s", tag, pol);
		if (j->f->treewalk && strcmp(tag, "p") != 0)
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			    " (for %s subdomains of %s, RFC 9989 4.10.1)",
			    strcmp(tag, "np") == 0 ? "non-existent" : "existing", j->f->where);
		dc_dmarc_add(j, "dmarc-policy", AM_DC_PASS, -1, 0, detail);
	}
	/* sp=none under an enforcing p leaves every subdomain unprotected. */
	if (!j->f->from_org && strcmp(d->p, "none") != 0 && strcmp(d->sp, "none") == 0) {
		snprintf(detail, sizeof(detail), "sp=none: subdomains of %s (such as a MAIL FROM "
		    "domain) are monitoring only while p=%s", j->c->domain, d->p);
		dc_tagrec_set(&j->fixed, "sp", NULL);
		dc_dmarc_add(j, "dmarc-sp", AM_DC_WARN, -1, DC_PTS_SP_NONE, detail);
	} else {
		snprintf(detail, sizeof(detail), "sp=%s", d->sp[0] ? d->sp : "(as p)");
		dc_dmarc_add(j, "dmarc-sp", AM_DC_PASS, -1, 0, detail);
	}
	if (j->f->treewalk)
		return;		/* pct is historic: dc_dmarc_check_bis() */
	if (d->pct < 100 && strcmp(pol, "none") != 0) {
		snprintf(detail, sizeof(detail), "pct=%u: the policy applies to %u%% of failing mail, "
		    "the rest gets the next weaker one", d->pct, d->pct);
		dc_tagrec_set(&j->fixed, "pct", NULL);
		dc_dmarc_add(j, "dmarc-pct", AM_DC_WARN, -1, DC_PTS_PCT, detail);
	} else {
		snprintf(detail, sizeof(detail), "pct=%u", d->pct);
		dc_dmarc_add(j, "dmarc-pct", AM_DC_PASS, -1, 0, detail);
	}
}

static void
check_rua(struct dc_dmarc_judge *j)
{
	char detail[512], rua[AM_DOMAIN_MAX + 32];

	if (j->d->rua[0] != '\0') {
		snprintf(detail, sizeof(detail), "aggregate reports to %.400s", j->d->rua);
		dc_dmarc_add(j, "dmarc-rua", AM_DC_PASS, -1, 0, detail);
		return;
	}
	snprintf(rua, sizeof(rua), "mailto:dmarc-reports@%s", j->c->domain);
	dc_tagrec_set(&j->fixed, "rua", rua);
	dc_dmarc_add(j, "dmarc-rua", AM_DC_WARN, -1, DC_PTS_RUA, "no usable rua=: nobody receives the "
	    "aggregate reports that show which streams fail before you enforce");
}

/* aspf=s: a MAIL FROM subdomain (all SES custom MAIL FROMs are) never aligns. */
static void
check_aspf(struct dc_dmarc_judge *j)
{
	struct dc_ctx *c = j->c;
	char detail[512];

	if (j->d->aspf != 's') {
		dc_dmarc_add(j, "dmarc-aspf", AM_DC_PASS, -1, 0, "aspf=r (relaxed)");
		return;
	}
	dc_tagrec_set(&j->fixed, "aspf", NULL);
	if (c->mail_from[0] != '\0' && strcasecmp(c->mail_from, c->domain) != 0) {
		snprintf(detail, sizeof(detail), "aspf=s: SPF passes for the MAIL FROM %s, a "
		    "subdomain, which strict alignment rejects; drop aspf=s (relaxed is the default)",
		    c->mail_from);
		dc_dmarc_add(j, "dmarc-aspf", AM_DC_FAIL, AM_HINT_ASPF_STRICT_SUBDOMAIN, DC_PTS_ASPF_STRICT,
		    detail);
		return;
	}
	dc_dmarc_add(j, "dmarc-aspf", AM_DC_WARN, AM_HINT_ASPF_STRICT_SUBDOMAIN, DC_PTS_ASPF_STRICT_MAYBE,
	    "aspf=s: an SES custom MAIL FROM is always a subdomain and would never align; "
	    "drop aspf=s (relaxed is the default)");
}

/* The record is there: vet and judge it; every check that loses points names the fixed record. */
static void
check_record(struct dc_ctx *c, const struct dc_dmarc_found *f)
{
	struct am_dmarc_record d;
	struct dc_dmarc_judge *j = am_xcalloc(1, sizeof(*j));
	char owner[AM_DOMAIN_MAX + 8], detail[512], *line;
	size_t i;

	snprintf(owner, sizeof(owner), "_dmarc.%s", f->where);
	am_dmarc_parse_record(f->rec, am_dmarc_standard_of(c->dmarc), &d);
	j->c = c;
	j->d = &d;
	j->f = f;
	tagrec_parse(f->rec, &j->fixed);
	if (!d.usable || d.as_none) {
		snprintf(detail, sizeof(detail), "%s: %s%s", owner, d.reason,
		    d.usable || f->treewalk ? "" : ", so receivers apply no policy");
		tagrec_fix_policy(&j->fixed, &d, f->treewalk);
		dc_dmarc_add(j, "dmarc-record", AM_DC_FAIL, -1, d.usable ? DC_PTS_DMARC_AS_NONE :
		    DC_PTS_DMARC_NONE, detail);
	} else if (d.ignored[0] != '\0') {
		snprintf(detail, sizeof(detail), "%s: %s (%s: receivers ignore them)", owner,
		    d.ignored, f->treewalk ? "RFC 9989 4.8" : "RFC 7489 6.3");
		tagrec_drop_invalid(&j->fixed, d.ignored);
		dc_dmarc_add(j, "dmarc-record", AM_DC_WARN, -1, DC_PTS_DMARC_IGNORED, detail);
	} else {
		snprintf(detail, sizeof(detail), "%s%s: \"%.200s\"", owner, !f->from_org ? "" :
		    f->treewalk ? " (a parent name, found by the DNS tree walk)" :
		    " (organizational domain)", f->rec);
		dc_dmarc_add(j, "dmarc-record", AM_DC_PASS, -1, 0, detail);
	}
	if (d.usable) {
		if (!d.as_none)
			check_policy(j);
		if (f->treewalk)
			dc_dmarc_check_bis(j);
		check_rua(j);
		check_aspf(j);
	}
	line = tagrec_line(&j->fixed, owner);
	for (i = 0; i < j->npending; i++)
		c->r->checks[j->pending[i]].fix = am_xstrdup(line);
	free(line);
	free(j);
}

/* RFC 7489 6.6.3: _dmarc.<domain>, else the PSL organizational domain's. */
static void
find_7489(struct dc_ctx *c, struct dc_dmarc_found *f)
{
	char org[AM_DOMAIN_MAX] = "";

	am_strlcpy(f->where, c->domain, sizeof(f->where));
	snprintf(f->asked, sizeof(f->asked), "_dmarc.%s", c->domain);
	f->n = dc_dmarc_count(c, c->domain, &f->rec);
	if (c->r->failed || f->n != 0 || !am_dmarc_org_domain(c->dmarc, c->domain, org, sizeof(org)) ||
	    strcmp(org, c->domain) == 0)
		return;
	am_strlcpy(f->where, org, sizeof(f->where));
	f->from_org = true;
	snprintf(f->asked + strlen(f->asked), sizeof(f->asked) - strlen(f->asked), " nor _dmarc.%s",
	    org);
	f->n = dc_dmarc_count(c, org, &f->rec);
}

void
dc_check_dmarc(struct dc_ctx *c)
{
	struct dc_dmarc_found *f = am_xcalloc(1, sizeof(*f));
	char detail[640];
	struct am_buf fix;

	if (is_bis(c))
		dc_dmarc_walk(c, f);
	else
		find_7489(c, f);
	if (c->r->failed)
		goto out;
	am_buf_init(&fix);
	if (f->n == 0 && f->multi[0] == '\0') {
		char txt[AM_DOMAIN_MAX + 64], owner[AM_DOMAIN_MAX + 8];

		snprintf(owner, sizeof(owner), "_dmarc.%s", c->domain);
		snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=mailto:dmarc-reports@%s", c->domain);
		dc_zone_txt(&fix, owner, txt);
		snprintf(detail, sizeof(detail), "no DMARC record at %s%s: receivers apply no "
		    "policy and send no reports", f->asked, f->treewalk ?
		    " (the DNS tree walk, RFC 9989 4.10)" : "");
		dc_add(c, AM_DC_SEC_DMARC, "dmarc-record", AM_DC_FAIL, AM_HINT_DMARC_NO_RECORD,
		    DC_PTS_DMARC_NONE, fix.data, "%s", detail);
	} else if (f->n == 0 || f->n > 1) {
		/* RFC 7489 6.6.3; RFC 9989 4.10 steps 2 and 6 discard them all. */
		const char *at = f->n > 1 ? f->where : f->multi;

		am_buf_printf(&fix, "; keep exactly one v=DMARC1 TXT record at _dmarc.%s", at);
		snprintf(detail, sizeof(detail), "%zu DMARC records at _dmarc.%s: more than one means "
		    "no policy at all (%s)", f->n > 1 ? f->n : f->nmulti, at, f->treewalk ?
		    "RFC 9989 4.10: all are discarded, and the tree walk found no other" :
		    "RFC 7489 6.6.3");
		dc_add(c, AM_DC_SEC_DMARC, "dmarc-record", AM_DC_FAIL, -1, DC_PTS_DMARC_NONE,
		    fix.data, "%s", detail);
	} else {
		check_record(c, f);
		if (f->treewalk)
			dc_dmarc_check_multiple(c, f);
	}
	am_buf_free(&fix);
out:
	free(f->rec);
	free(f);
}
