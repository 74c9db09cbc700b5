/*
 * report.c - per-From-domain tallies, text and JSON (see report.h, which
 * also says how it fails and who may call it).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

/* Policy and renderers. */
#include "policy/alignlog.h"
#include "policy/ses.h"

/* Application-specific. */
#include "report.h"
#include "reportmap.h"

void
am_report_init(struct am_report *r)
{
	memset(r, 0, sizeof(*r));
	r->index = am_rmap_new();
}

void
am_report_free(struct am_report *r)
{
	size_t i, j;

	for (i = 0; i < r->count; i++) {
		struct am_rdomain *d = &r->domains[i];

		free(d->domain);
		for (j = 0; j < AM_HINT_COUNT; j++) {
			free(d->fix[j]);
			free(d->records[j]);
		}
		for (j = 0; j < d->nregions; j++)
			free(d->regions[j].name);
		free(d->regions);
	}
	free(r->domains);
	am_rmap_free(r->index);
	memset(r, 0, sizeof(*r));
}

static struct am_rdomain *
domain_slot(struct am_report *r, const char *name)
{
	bool created;
	size_t i = am_rmap_index(r->index, name, &created);

	if (created) {
		if (r->count == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->domains = am_xreallocarray(r->domains, r->cap, sizeof(*r->domains));
		}
		memset(&r->domains[i], 0, sizeof(r->domains[i]));
		r->domains[i].domain = am_xstrdup(name);
		r->count++;
	}
	return &r->domains[i];
}

static void
count_region(struct am_rdomain *d, const char *region)
{
	size_t i;

	if (region[0] == '\0')
		region = "unknown";
	for (i = 0; i < d->nregions; i++)
		if (strcmp(d->regions[i].name, region) == 0) {
			d->regions[i].n++;
			return;
		}
	/* AWS has a few dozen regions; a linear list is enough. */
	d->regions = am_xreallocarray(d->regions, d->nregions + 1, sizeof(*d->regions));
	d->regions[d->nregions].name = am_xstrdup(region);
	d->regions[d->nregions++].n = 1;
}

static void
count_hints(struct am_rdomain *d, const struct am_verdict *v)
{
	char fix[AM_REPORT_FIX_MAX];
	unsigned h;

	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (!(v->hints & (1u << h)))
			continue;
		d->hints[h]++;
		/* Keep the fix of the newest message: its DNS names are current. */
		if (d->fix[h] == NULL || v->ts >= d->fix_ts[h]) {
			am_hint_fix(v, (enum am_hint)h, fix, sizeof(fix));
			free(d->fix[h]);
			d->fix[h] = am_xstrdup(fix);
			am_hint_records(v, (enum am_hint)h, fix, sizeof(fix));
			free(d->records[h]);
			d->records[h] = am_xstrdup(fix);
			d->fix_ts[h] = v->ts;
		}
	}
}

/* The DKIM figures of one message: any pass, any aligned, any aligned pass. */
static void
count_dkim(struct am_rdomain *d, const struct am_verdict *v)
{
	bool pass = false, aligned = false, aligned_pass = false;
	size_t i;

	for (i = 0; i < v->dkim.count; i++) {
		const struct am_dkim_sig *s = &v->dkim.sig[i];

		pass = pass || s->result == AM_DKIM_PASS;
		aligned = aligned || s->aligned;
		aligned_pass = aligned_pass || (s->aligned && s->result == AM_DKIM_PASS);
	}
	d->dkim_pass += pass;
	d->dkim_aligned += aligned;
	d->dkim_aligned_pass += aligned_pass;
}

void
am_report_add(struct am_report *r, const struct am_verdict *v)
{
	struct am_rdomain *d = domain_slot(r, v->from_domain);
	enum am_dmarc_policy p = v->dmarc.record_found ? v->dmarc.policy : AM_POLICY_UNSPEC;

	r->messages++;
	d->messages++;
	d->spf_pass += v->spf.result == AM_SPF_PASS;
	d->spf_aligned += v->spf.aligned;
	d->spf_aligned_pass += v->spf.result == AM_SPF_PASS && v->spf.aligned;
	count_dkim(d, v);
	d->dmarc_pass += v->dmarc.result == AM_DMARC_PASS;
	if (v->ses.is_ses) {
		d->ses++;
		count_region(d, v->ses.region);
	}
	if ((unsigned)p > AM_POLICY_REJECT)
		p = AM_POLICY_UNSPEC;
	d->policies[p]++;
	if (d->messages == 1 || v->ts >= d->policy_ts) {
		d->policy = p;
		d->policy_ts = v->ts;
	}
	if (d->messages == 1 || v->ts < d->first)
		d->first = v->ts;
	if (d->messages == 1 || v->ts > d->last)
		d->last = v->ts;
	count_hints(d, v);
}

static int
cmp_domain(const void *a, const void *b)
{
	const struct am_rdomain *x = *(const struct am_rdomain *const *)a;
	const struct am_rdomain *y = *(const struct am_rdomain *const *)b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

const struct am_rdomain **
am_report_sorted(const struct am_report *r)
{
	const struct am_rdomain **v = am_xcalloc(r->count + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < r->count; i++)
		v[i] = &r->domains[i];
	qsort(v, r->count, sizeof(*v), cmp_domain);
	return v;
}

size_t
am_rdomain_hints(const struct am_rdomain *d, enum am_hint order[AM_HINT_COUNT])
{
	size_t n = 0, i, j;
	unsigned h;

	/* Insertion sort of at most AM_HINT_COUNT; ties keep the enum order. */
	for (h = 0; h < AM_HINT_COUNT; h++) {
		if (d->hints[h] == 0)
			continue;
		for (i = n; i > 0 && d->hints[order[i - 1]] < d->hints[h]; i--)
			;
		for (j = n; j > i; j--)
			order[j] = order[j - 1];
		order[i] = (enum am_hint)h;
		n++;
	}
	return n;
}

const char *
am_report_policy_label(enum am_dmarc_policy p)
{
	return p == AM_POLICY_UNSPEC ? "no-record" : am_dmarc_policy_name(p);
}

double
am_report_pct(unsigned long n, unsigned long total)
{
	return total ? 100.0 * (double)n / (double)total : 0.0;
}

/* ---- text ---------------------------------------------------------- */

/* Text from the log may hold control bytes: never pass them to a terminal. */
static void
add_printable(struct am_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		am_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* "  SPF    pass  98.3% (118)   aligned ...   aligned pass ...": shares of all messages. */
static void
text_line(struct am_buf *b, const char *label, unsigned long pass, unsigned long aligned,
    unsigned long aligned_pass, unsigned long total, bool has_aligned)
{
	am_buf_printf(b, "  %-6s pass %5.1f%% (%lu)", label, am_report_pct(pass, total), pass);
	if (has_aligned) {
		am_buf_printf(b, "   aligned %5.1f%% (%lu)", am_report_pct(aligned, total), aligned);
		am_buf_printf(b, "   aligned pass %5.1f%% (%lu)", am_report_pct(aligned_pass, total),
		    aligned_pass);
	}
	am_buf_addc(b, '\n');
}

/*
 * A hint, its fix in words, then each zone-file line at the left margin:
 * a zone file reads a line that starts with a blank as one without an
 * owner name, so an indented record would not paste.
 */
static void
text_hint(const struct am_rdomain *d, enum am_hint h, struct am_buf *b)
{
	const char *p, *e;

	am_buf_printf(b, "  hint %s: %lu message%s\n    fix: ", am_hint_name(h), d->hints[h],
	    d->hints[h] == 1 ? "" : "s");
	add_printable(b, d->fix[h] ? d->fix[h] : "");
	am_buf_addc(b, '\n');
	for (p = d->records[h]; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		am_buf_printf(b, "%.*s\n", (int)(e - p), p);
	}
}

static void
text_domain(const struct am_rdomain *d, struct am_buf *b)
{
	enum am_hint order[AM_HINT_COUNT];
	size_t i, n;
	int p;

	add_printable(b, d->domain[0] ? d->domain : "(no From domain)");
	am_buf_printf(b, ": %lu message%s\n", d->messages, d->messages == 1 ? "" : "s");
	text_line(b, "SPF", d->spf_pass, d->spf_aligned, d->spf_aligned_pass, d->messages, true);
	text_line(b, "DKIM", d->dkim_pass, d->dkim_aligned, d->dkim_aligned_pass, d->messages, true);
	text_line(b, "DMARC", d->dmarc_pass, 0, 0, d->messages, false);
	am_buf_printf(b, "  policy %s (most recent); seen:", am_report_policy_label(d->policy));
	for (p = AM_POLICY_UNSPEC; p <= AM_POLICY_REJECT; p++)
		if (d->policies[p])
			am_buf_printf(b, " %s %lu", am_report_policy_label((enum am_dmarc_policy)p),
			    d->policies[p]);
	am_buf_printf(b, "\n  SES    %5.1f%% (%lu)", am_report_pct(d->ses, d->messages), d->ses);
	for (i = 0; i < d->nregions; i++) {
		am_buf_adds(b, i ? ", " : " regions: ");
		add_printable(b, d->regions[i].name);
		am_buf_printf(b, " %lu", d->regions[i].n);
	}
	am_buf_addc(b, '\n');
	n = am_rdomain_hints(d, order);
	for (i = 0; i < n; i++)
		text_hint(d, order[i], b);
}

void
am_report_text(const struct am_report *r, struct am_buf *b)
{
	const struct am_rdomain **v = am_report_sorted(r);
	size_t i;

	am_buf_printf(b, "%lu message%s from %zu From domain%s\n", r->messages,
	    r->messages == 1 ? "" : "s", r->count, r->count == 1 ? "" : "s");
	for (i = 0; i < r->count; i++) {
		am_buf_addc(b, '\n');
		text_domain(v[i], b);
	}
	free(v);
}

/* ---- JSON ---------------------------------------------------------- */

static void
json_key(struct am_buf *b, const char *key, bool comma)
{
	am_buf_printf(b, "%s\"%s\": ", comma ? ", " : "", key);
}

static void
json_str(struct am_buf *b, const char *s)
{
	am_json_string(b, s, strlen(s));
}

/* A JSON array of the lines of s ("\n" separated): [] for none. */
static void
json_lines(struct am_buf *b, const char *s)
{
	const char *e;

	am_buf_addc(b, '[');
	for (; s != NULL && *s != '\0'; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '\n')) == NULL)
			e = s + strlen(s);
		am_json_string(b, s, (size_t)(e - s));
		if (*e != '\0')
			am_buf_adds(b, ", ");
	}
	am_buf_addc(b, ']');
}

/* {"hint": ["zone-file line", ...], ...} for every hint of d, [] when its fix has none. */
static void
json_records(const struct am_rdomain *d, const enum am_hint *order, size_t n, struct am_buf *b)
{
	size_t i;

	am_buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		am_buf_adds(b, i ? ", " : "");
		json_str(b, am_hint_name(order[i]));
		am_buf_adds(b, ": ");
		json_lines(b, d->records[order[i]]);
	}
	am_buf_addc(b, '}');
}

static void
json_domain(const struct am_rdomain *d, struct am_buf *b)
{
	enum am_hint order[AM_HINT_COUNT];
	size_t i, n = am_rdomain_hints(d, order);
	int p;
	bool first;

	am_buf_adds(b, "{\"domain\": ");
	json_str(b, d->domain);
	am_buf_printf(b, ", \"messages\": %lu, \"spf_pass\": %lu, \"spf_aligned\": %lu, "
	    "\"dkim_pass\": %lu, \"dkim_aligned\": %lu, \"dmarc_pass\": %lu", d->messages, d->spf_pass,
	    d->spf_aligned, d->dkim_pass, d->dkim_aligned, d->dmarc_pass);
	json_key(b, "hints", true);
	am_buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		am_buf_adds(b, i ? ", " : "");
		json_str(b, am_hint_name(order[i]));
		am_buf_printf(b, ": %lu", d->hints[order[i]]);
	}
	am_buf_addc(b, '}');
	/* Extras, after the keys alignmilter-report(1) fixes. */
	am_buf_printf(b, ", \"spf_aligned_pass\": %lu, \"dkim_aligned_pass\": %lu", d->spf_aligned_pass,
	    d->dkim_aligned_pass);
	am_buf_printf(b, ", \"ses\": %lu", d->ses);
	json_key(b, "regions", true);
	am_buf_addc(b, '{');
	for (i = 0; i < d->nregions; i++) {
		am_buf_adds(b, i ? ", " : "");
		json_str(b, d->regions[i].name);
		am_buf_printf(b, ": %lu", d->regions[i].n);
	}
	am_buf_addc(b, '}');
	json_key(b, "policy", true);
	json_str(b, am_report_policy_label(d->policy));
	json_key(b, "policies", true);
	am_buf_addc(b, '{');
	for (p = AM_POLICY_UNSPEC, first = true; p <= AM_POLICY_REJECT; p++)
		if (d->policies[p]) {
			am_buf_adds(b, first ? "" : ", ");
			json_str(b, am_report_policy_label((enum am_dmarc_policy)p));
			am_buf_printf(b, ": %lu", d->policies[p]);
			first = false;
		}
	am_buf_addc(b, '}');
	json_key(b, "fixes", true);
	am_buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		am_buf_adds(b, i ? ", " : "");
		json_str(b, am_hint_name(order[i]));
		am_buf_adds(b, ": ");
		json_str(b, d->fix[order[i]] ? d->fix[order[i]] : "");
	}
	am_buf_addc(b, '}');
	json_key(b, "records", true);
	json_records(d, order, n, b);
	am_buf_addc(b, '}');
}

void
am_report_json(const struct am_report *r, struct am_buf *b)
{
	const struct am_rdomain **v = am_report_sorted(r);
	size_t i;

	am_buf_adds(b, "{\"domains\": [");
	for (i = 0; i < r->count; i++) {
		am_buf_adds(b, i ? ",\n  " : "\n  ");
		json_domain(v[i], b);
	}
	am_buf_adds(b, r->count ? "\n]}\n" : "]}\n");
	free(v);
}
