/*
 * report-enforce.c - the readiness counts and verdicts of alignmilter-report
 * --enforce (see report-enforce.h, which also says how it fails and who
 * may call it).
 *
 * Counts are kept per From domain, per source and per UTC day, so the
 * window can end at the newest record, which is known only at the end:
 * a record older than the newest day seen minus the window cannot be in
 * the window and is not kept, and a source's days that fell out are
 * dropped as it grows, so memory follows the window, not the logs.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Policy and renderers. */
#include "policy/alignlog-read.h"
#include "policy/conf.h"
#include "policy/ses.h"

/* Application-specific. */
#include "report-enforce.h"

#define DAY	86400

/*
 * Hints that say how a source fails, in the order that breaks a tie:
 * DKIM first, since an aligned signature is what survives forwarding.
 * The domain-wide hints (dmarc-policy-none, dmarc-no-record,
 * dmarc-multiple-records) and dmarc-single-mechanism (a passing
 * message's) name no source's fault and are not counted.
 */
static const enum am_hint source_hints[] = {
	AM_HINT_SES_NO_EASY_DKIM, AM_HINT_DKIM_KEY_NOT_FOUND, AM_HINT_DKIM_CNAME_DUPLICATED_SUFFIX,
	AM_HINT_DKIM_ALIGNED_SIG_FAILED, AM_HINT_SES_DEFAULT_MAIL_FROM, AM_HINT_ASPF_STRICT_SUBDOMAIN,
	AM_HINT_FROM_INVALID,
};
#define NSOURCE_HINTS (sizeof(source_hints) / sizeof(source_hints[0]))

void
am_enforce_opts_init(struct am_enforce_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->window = 14;
	o->ready_pass = 99.0;
	o->ready_days = 7;
	o->ready_source = 1.0;
	o->psl_path = AM_DEFAULT_PSL;
	o->page_size = 100;
	o->sources = 10;
}

static bool
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*s))
		return false;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n < lo || n > hi)
		return false;
	*out = (unsigned)n;
	return true;
}

static bool
parse_pct(const char *s, double *out)
{
	char *end;
	double d;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return false;
	d = strtod(s, &end);
	if (*end == '%')
		end++;
	if (*end != '\0' || !(d >= 0.0 && d <= 100.0))
		return false;
	*out = d;
	return true;
}

bool
am_enforce_option(struct am_enforce_opts *o, int c, const char *arg, const char *prog)
{
	const char *what;

	switch (c) {
	case AM_ENFORCE_OPT_ENFORCE:
		o->on = true;
		return true;
	case AM_ENFORCE_OPT_WINDOW:
		if (parse_uint(arg, 1, AM_ENFORCE_WINDOW_MAX, &o->window))
			return true;
		what = "--window: days, 1 to 366";
		break;
	case AM_ENFORCE_OPT_READY_PASS:
		if (parse_pct(arg, &o->ready_pass))
			return true;
		what = "--ready-pass: a percentage, 0 to 100";
		break;
	case AM_ENFORCE_OPT_READY_DAYS:
		if (parse_uint(arg, 0, AM_ENFORCE_WINDOW_MAX, &o->ready_days))
			return true;
		what = "--ready-days: days, 0 to 366";
		break;
	case AM_ENFORCE_OPT_READY_SOURCE:
		if (parse_pct(arg, &o->ready_source))
			return true;
		what = "--ready-source: a percentage, 0 to 100";
		break;
	case AM_ENFORCE_OPT_NOW:
		if (am_alignlog_parse_time(arg, &o->now)) {
			o->have_now = true;
			return true;
		}
		what = "--now: an ISO 8601 date or time";
		break;
	case AM_ENFORCE_OPT_PSL:
		o->psl_path = arg;
		return true;
	case AM_ENFORCE_OPT_PAGE_SIZE:
		if (parse_uint(arg, 1, 100000, &o->page_size))
			return true;
		what = "--page-size: domains, 1 to 100000";
		break;
	case AM_ENFORCE_OPT_SOURCES:
		if (parse_uint(arg, 1, 100000, &o->sources))
			return true;
		what = "--sources: 1 to 100000";
		break;
	default:
		what = "unknown option";
		break;
	}
	fprintf(stderr, "%s: %s, not %s\n", prog, what, arg != NULL ? arg : "(none)");
	return false;
}

/* The resolver the DMARC engine wants: asked nothing, it would time out at once. */
static struct am_dns_answer *
no_dns(void *arg, const char *name, int rrtype)
{
	(void)arg;
	(void)name;
	(void)rrtype;
	return NULL;
}

am_enforce *
am_enforce_new(const struct am_enforce_opts *o, char *err, size_t errlen)
{
	am_enforce *e = am_xcalloc(1, sizeof(*e));

	e->o = *o;
	e->res = am_resolver_new_backend(no_dns, NULL, 1);
	if ((e->dmarc = am_dmarc_new(e->res, AM_DMARC_RFC9989, o->psl_path, err, errlen)) == NULL) {
		am_resolver_free(e->res);
		free(e);
		return NULL;
	}
	e->index = am_rmap_new();
	if (o->have_now)
		e->max_day = (int32_t)(o->now / DAY);
	return e;
}

static void
free_source(struct am_esource *s)
{
	size_t h;

	free(s->label);
	free(s->region);
	free(s->network);
	free(s->helo_domain);
	free(s->bins);
	for (h = 0; h < AM_HINT_COUNT; h++) {
		free(s->fix[h]);
		free(s->records[h]);
	}
}

void
am_enforce_free(am_enforce *e)
{
	size_t i, j;

	if (e == NULL)
		return;
	for (i = 0; i < e->count; i++) {
		struct am_edomain *d = &e->domains[i];

		for (j = 0; j < d->nsources; j++)
			free_source(&d->sources[j]);
		free(d->sources);
		free(d->order);
		am_rmap_free(d->index);
		free(d->domain);
	}
	free(e->domains);
	free(e->sorted);
	am_rmap_free(e->index);
	am_dmarc_free(e->dmarc);
	am_resolver_free(e->res);
	free(e);
}

/* ---- counting ------------------------------------------------------------ */

static int32_t
day_of(time_t t)
{
	return (int32_t)(t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY));
}

static struct am_edomain *
domain_slot(am_enforce *e, const char *name)
{
	bool created;
	size_t i = am_rmap_index(e->index, name, &created);

	if (created) {
		if (e->count == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 16;
			e->domains = am_xreallocarray(e->domains, e->cap, sizeof(*e->domains));
		}
		memset(&e->domains[i], 0, sizeof(e->domains[i]));
		e->domains[i].domain = am_xstrdup(name);
		e->domains[i].index = am_rmap_new();
		e->count++;
	}
	return &e->domains[i];
}

static struct am_esource *
source_slot(am_enforce *e, struct am_edomain *d, const struct am_verdict *v)
{
	struct am_esource tmp;
	char label[AM_ENFORCE_LABEL_MAX];
	bool created;
	size_t i;

	memset(&tmp, 0, sizeof(tmp));
	am_enforce_source_of(e, v, &tmp, label);
	i = am_rmap_index(d->index, label, &created);
	if (!created) {
		free(tmp.region);
		free(tmp.network);
		free(tmp.helo_domain);
		return &d->sources[i];
	}
	if (d->nsources == d->capsources) {
		d->capsources = d->capsources ? d->capsources * 2 : 4;
		d->sources = am_xreallocarray(d->sources, d->capsources, sizeof(*d->sources));
	}
	tmp.label = am_xstrdup(label);
	d->sources[i] = tmp;
	d->nsources++;
	return &d->sources[i];
}

/* Drop the days that fell out of the window: bins stay at most about two windows. */
static void
compact(am_enforce *e, struct am_esource *s)
{
	int32_t start = e->max_day - (int32_t)e->o.window + 1;
	size_t i, n = 0;

	for (i = 0; i < s->nbins; i++)
		if (s->bins[i].day >= start)
			s->bins[n++] = s->bins[i];
	s->nbins = n;
}

static struct am_ebin *
bin_slot(am_enforce *e, struct am_esource *s, int32_t day)
{
	size_t i;

	/* Logs are mostly in time order: the newest bin first. */
	for (i = s->nbins; i-- > 0;)
		if (s->bins[i].day == day)
			return &s->bins[i];
	if (s->nbins >= 2 * (size_t)e->o.window)
		compact(e, s);
	if (s->nbins == s->capbins) {
		s->capbins = s->capbins ? s->capbins * 2 : 2;
		s->bins = am_xreallocarray(s->bins, s->capbins, sizeof(*s->bins));
	}
	memset(&s->bins[s->nbins], 0, sizeof(s->bins[0]));
	s->bins[s->nbins].day = day;
	return &s->bins[s->nbins++];
}

/*
 * pass, fail or unknown (-1).  RFC 9989 4.10.1: with no record (or a
 * void one) there is no DMARC result; an enforcing record would pass the
 * message when an aligned identifier passed, which the log says.
 */
static int
outcome(const struct am_verdict *v)
{
	size_t i;

	switch (v->dmarc.result) {
	case AM_DMARC_PASS:
		return 1;
	case AM_DMARC_FAIL:
		return 0;
	case AM_DMARC_NONE:
		if (v->spf.result == AM_SPF_PASS && v->spf.aligned)
			return 1;
		for (i = 0; i < v->dkim.count; i++)
			if (v->dkim.sig[i].result == AM_DKIM_PASS && v->dkim.sig[i].aligned)
				return 1;
		return 0;
	default:
		return -1;
	}
}

/* The failing message's source hints, and each one's fix from the newest message. */
static void
count_hints(struct am_esource *s, struct am_ebin *b, const struct am_verdict *v)
{
	char buf[1024];
	size_t i;

	for (i = 0; i < NSOURCE_HINTS; i++) {
		enum am_hint h = source_hints[i];

		if (!(v->hints & (1u << h)))
			continue;
		b->hints[h]++;
		if (s->fix[h] == NULL || v->ts >= s->fix_ts[h]) {
			am_hint_fix(v, h, buf, sizeof(buf));
			free(s->fix[h]);
			s->fix[h] = am_xstrdup(buf);
			am_hint_records(v, h, buf, sizeof(buf));
			free(s->records[h]);
			s->records[h] = am_xstrdup(buf);
			s->fix_ts[h] = v->ts;
		}
	}
}

void
am_enforce_add(am_enforce *e, const struct am_verdict *v)
{
	int32_t day = day_of(v->ts);
	struct am_edomain *d;
	struct am_esource *s;
	struct am_ebin *b;

	if (e->o.have_now) {
		if (v->ts > e->o.now)
			return;
	} else if (!e->any || day > e->max_day) {
		e->max_day = day;
	}
	e->any = true;
	if (day <= e->max_day - (int32_t)e->o.window)
		return;			/* before any window that can end here */
	d = domain_slot(e, v->from_domain);
	if (d->nsources == 0 || v->ts >= d->newest) {
		d->newest = v->ts;
		d->policy = v->dmarc.record_found ? v->dmarc.policy : AM_POLICY_UNSPEC;
		d->tag = v->dmarc.policy_tag;
		d->testing = v->dmarc.testing;
	}
	s = source_slot(e, d, v);
	b = bin_slot(e, s, day);
	b->total++;
	switch (outcome(v)) {
	case 1:
		b->pass++;
		break;
	case 0:
		b->fail++;
		count_hints(s, b, v);
		break;
	default:
		b->unknown++;
		break;
	}
}

/* ---- the window's sums and the verdict ----------------------------------- */

double
am_enforce_pct_down(unsigned long n, unsigned long total)
{
	return total ? (double)((unsigned long long)n * 1000ULL / total) / 10.0 : 0.0;
}

double
am_enforce_pct_up(unsigned long n, unsigned long total)
{
	return total ? (double)(((unsigned long long)n * 1000ULL + total - 1) / total) / 10.0 : 0.0;
}

void
am_enforce_date(int32_t day, char buf[16])
{
	time_t t = (time_t)day * DAY;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

const char *
am_enforce_state_name(enum am_enforce_state s)
{
	switch (s) {
	case AM_ENF_NOT_READY: return "not-ready";
	case AM_ENF_NO_DATA: return "not-enough-data";
	case AM_ENF_READY: return "ready";
	case AM_ENF_ENFORCING: return "enforcing";
	}
	return "not-ready";
}

static void
sum_source(const am_enforce *e, struct am_esource *s)
{
	size_t i, j, h;

	s->total = s->pass = s->fail = s->unknown = 0;
	memset(s->hints, 0, sizeof(s->hints));
	for (i = 0; i < s->nbins; i++) {
		const struct am_ebin *b = &s->bins[i];

		if (b->day < e->start_day || b->day > e->end_day)
			continue;
		s->total += b->total;
		s->pass += b->pass;
		s->fail += b->fail;
		s->unknown += b->unknown;
		for (h = 0; h < AM_HINT_COUNT; h++)
			s->hints[h] += b->hints[h];
	}
	/* The most frequent; a tie goes to the earlier in source_hints. */
	s->has_hint = false;
	for (j = 0; j < NSOURCE_HINTS; j++) {
		enum am_hint h2 = source_hints[j];

		if (s->hints[h2] > 0 && (!s->has_hint || s->hints[h2] > s->hints[s->hint])) {
			s->hint = h2;
			s->has_hint = true;
		}
	}
}

/* The days of mail: its first to its last day in the window, inclusive. */
static void
sum_domain(const am_enforce *e, struct am_edomain *d)
{
	size_t i, j;
	bool any = false;

	d->total = d->pass = d->fail = d->unknown = 0;
	for (i = 0; i < d->nsources; i++) {
		struct am_esource *s = &d->sources[i];

		sum_source(e, s);
		d->total += s->total;
		d->pass += s->pass;
		d->fail += s->fail;
		d->unknown += s->unknown;
		for (j = 0; j < s->nbins; j++) {
			int32_t day = s->bins[j].day;

			if (day < e->start_day || day > e->end_day || s->bins[j].total == 0)
				continue;
			if (!any || day < d->first_day)
				d->first_day = day;
			if (!any || day > d->last_day)
				d->last_day = day;
			any = true;
		}
	}
	d->days = any ? (unsigned)(d->last_day - d->first_day + 1) : 0;
}

static const struct am_edomain *cmp_dom;	/* qsort has no argument; one thread */

static int
cmp_source(const void *a, const void *b)
{
	const struct am_esource *x = &cmp_dom->sources[*(const size_t *)a];
	const struct am_esource *y = &cmp_dom->sources[*(const size_t *)b];

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->label, y->label);
}

/*
 * RFC 9989 4.7 and 4.10.1: the policy that applies is p (sp, np for a
 * subdomain), and t=y applies the next lower one; the next step is one
 * rung up: none -> quarantine -> reject, or dropping t=y.
 */
static void
next_step(struct am_edomain *d)
{
	d->next_drops_testing = false;
	switch (d->policy) {
	case AM_POLICY_QUARANTINE:
	case AM_POLICY_REJECT:
		if (d->testing) {
			d->next = d->policy;
			d->next_drops_testing = true;
		} else {
			d->next = d->policy == AM_POLICY_REJECT ? AM_POLICY_UNSPEC : AM_POLICY_REJECT;
		}
		break;
	default:
		d->next = AM_POLICY_QUARANTINE;
		break;
	}
}

/* "p=reject", "sp=quarantine", "p=reject without t=y". */
static void
next_label(const struct am_edomain *d, char *buf, size_t len)
{
	const char *tag = d->policy == AM_POLICY_UNSPEC ? "p" : am_dmarc_policy_tag_name(d->tag);

	snprintf(buf, len, "%s=%s%s", tag, am_dmarc_policy_name(d->next),
	    d->next_drops_testing ? " without t=y" : "");
}

static bool
source_blocks(const am_enforce *e, const struct am_edomain *d, const struct am_esource *s)
{
	unsigned long judged = s->pass + s->fail;

	return s->total > 0 && (double)s->total * 100.0 >= e->o.ready_source * (double)d->total &&
	    judged > 0 && (double)s->fail * 100.0 > (100.0 - e->o.ready_pass) * (double)judged;
}

/* The failing source the verdict names: the blocking one with most failures, else any. */
static const struct am_esource *
worst_source(const struct am_edomain *d, bool blocking)
{
	const struct am_esource *w = NULL;
	size_t i;

	for (i = 0; i < d->nsources; i++) {
		const struct am_esource *s = &d->sources[d->order[i]];

		if (s->fail > 0 && (!blocking || s->blocks) && (w == NULL || s->fail > w->fail))
			w = s;
	}
	return w;
}

static void
source_words(const struct am_esource *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s fails %.1f%%%s%s%s", s->label,
	    am_enforce_pct_up(s->fail, s->pass + s->fail), s->has_hint ? " (" : "",
	    s->has_hint ? am_hint_name(s->hint) : "", s->has_hint ? ")" : "");
}

static void
verdict(const am_enforce *e, struct am_edomain *d)
{
	unsigned long judged = d->pass + d->fail;
	double pass = am_enforce_pct_down(d->pass, judged);
	char next[64], src[AM_ENFORCE_LABEL_MAX + 64];
	const struct am_esource *w;
	size_t i;

	next_step(d);
	for (i = 0; i < d->nsources; i++)
		d->sources[i].blocks = source_blocks(e, d, &d->sources[i]);
	d->blocker = NULL;
	if (d->next == AM_POLICY_UNSPEC) {
		d->state = AM_ENF_ENFORCING;
		snprintf(d->verdict, sizeof(d->verdict), "enforcing already: %s=reject, %.1f%% pass over "
		    "%u day%s", am_dmarc_policy_tag_name(d->tag), pass, d->days, d->days == 1 ? "" : "s");
		return;
	}
	next_label(d, next, sizeof(next));
	if (d->days < e->o.ready_days || judged == 0) {
		d->state = AM_ENF_NO_DATA;
		if (judged == 0)
			snprintf(d->verdict, sizeof(d->verdict), "not enough data: no message with a DMARC "
			    "result");
		else
			snprintf(d->verdict, sizeof(d->verdict), "not enough data: %u day%s of mail (need %u)",
			    d->days, d->days == 1 ? "" : "s", e->o.ready_days);
		return;
	}
	if ((w = worst_source(d, true)) != NULL) {
		d->state = AM_ENF_NOT_READY;
		d->blocker = w;
		source_words(w, src, sizeof(src));
		snprintf(d->verdict, sizeof(d->verdict), "not ready for %s: %s", next, src);
		return;
	}
	if ((double)d->pass * 100.0 < e->o.ready_pass * (double)judged) {
		d->state = AM_ENF_NOT_READY;
		d->blocker = w = worst_source(d, false);
		if (w != NULL)
			source_words(w, src, sizeof(src));
		else
			am_strlcpy(src, "none", sizeof(src));
		snprintf(d->verdict, sizeof(d->verdict), "not ready for %s: %.1f%% pass (need %g%%); "
		    "no source of %g%% of the mail fails, the most failures: %s", next, pass,
		    e->o.ready_pass, e->o.ready_source, src);
		return;
	}
	d->state = AM_ENF_READY;
	snprintf(d->verdict, sizeof(d->verdict), "ready for %s: %.1f%% pass over %u day%s", next, pass,
	    d->days, d->days == 1 ? "" : "s");
}

static int
cmp_domain(const void *a, const void *b)
{
	const struct am_edomain *x = *(const struct am_edomain *const *)a;
	const struct am_edomain *y = *(const struct am_edomain *const *)b;

	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

void
am_enforce_finish(am_enforce *e)
{
	size_t i, j;

	e->end_day = e->max_day;
	e->start_day = e->max_day - (int32_t)e->o.window + 1;
	e->sorted = am_xcalloc(e->count + 1, sizeof(*e->sorted));
	for (i = 0; i < e->count; i++) {
		struct am_edomain *d = &e->domains[i];

		sum_domain(e, d);
		if (d->total == 0)
			continue;	/* no mail in the window */
		d->order = am_xcalloc(d->nsources + 1, sizeof(*d->order));
		for (j = 0; j < d->nsources; j++)
			d->order[j] = j;
		cmp_dom = d;
		qsort(d->order, d->nsources, sizeof(*d->order), cmp_source);
		for (d->nactive = 0; d->nactive < d->nsources &&
		    d->sources[d->order[d->nactive]].total > 0; d->nactive++)
			;
		verdict(e, d);
		e->states[d->state]++;
		e->sorted[e->nsorted++] = d;
	}
	qsort(e->sorted, e->nsorted, sizeof(*e->sorted), cmp_domain);
}
