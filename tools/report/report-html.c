/*
 * report-html.c - the one-page HTML report (see report-html.h, which also
 * says how it fails and who may call it).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Policy and renderers. */
#include "policy/ses.h"

/* Application-specific. */
#include "report-html.h"

#define BAR_WIDTH 200

const char am_report_html_style[] =
	"body{font-family:sans-serif;margin:2em;color:#222;background:#fff}"
	"h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;margin:.4em 0}"
	"th,td{padding:.2em .6em;text-align:left;vertical-align:top}"
	"td.n,td.pct{text-align:right;font-variant-numeric:tabular-nums}"
	"tr:nth-child(even){background:#f4f4f4}"
	"svg rect.bg{fill:#e3e3e3}svg rect.fg{fill:#3a7d44}svg rect.fg.low{fill:#c0392b}"
	"svg rect.fg.mid{fill:#d68910}svg rect.fg.neutral{fill:#5d6d7e}"
	"td.fix{font-family:monospace;font-size:.9em;max-width:60em;word-break:break-word}"
	"pre.zone{margin:.3em 0 0;padding:.3em .5em;background:#eef3ee;white-space:pre;overflow-x:auto}"
	".muted{color:#777}";

/* A horizontal bar of pct percent, coloured by how good it is (unless neutral). */
static void
bar(struct am_buf *b, double pct, bool neutral)
{
	const char *cls = neutral ? "fg neutral" : pct >= 90.0 ? "fg" : pct >= 50.0 ? "fg mid" : "fg low";

	am_buf_printf(b, "<svg width=\"%d\" height=\"12\" role=\"img\" aria-label=\"%.1f%%\">"
	    "<rect class=\"bg\" width=\"%d\" height=\"12\"/><rect class=\"%s\" width=\"%.1f\" height=\"12\"/>"
	    "</svg>", BAR_WIDTH, pct, BAR_WIDTH, cls, pct * BAR_WIDTH / 100.0);
}

static void
metric(struct am_buf *b, const char *id, const char *label, unsigned long n, unsigned long total)
{
	double pct = am_report_pct(n, total);

	am_buf_printf(b, "<tr data-metric=\"%s\" data-count=\"%lu\" data-total=\"%lu\">"
	    "<th>%s</th><td class=\"n\">%lu</td><td class=\"pct\">%.1f%%</td><td class=\"bar\">",
	    id, n, total, label, n, pct);
	bar(b, pct, strcmp(id, "ses") == 0);
	am_buf_adds(b, "</td></tr>\n");
}

static void
policy(const struct am_rdomain *d, struct am_buf *b)
{
	int p;
	bool first = true;

	am_buf_printf(b, "<p class=\"policy\" data-policy=\"%s\">DMARC policy: <b>%s</b> (most recent)",
	    am_report_policy_label(d->policy), am_report_policy_label(d->policy));
	am_buf_adds(b, "; seen:");
	for (p = AM_POLICY_UNSPEC; p <= AM_POLICY_REJECT; p++)
		if (d->policies[p]) {
			am_buf_printf(b, "%s <span data-policy-seen=\"%s\" data-count=\"%lu\">%s %lu</span>",
			    first ? "" : ",", am_report_policy_label((enum am_dmarc_policy)p), d->policies[p],
			    am_report_policy_label((enum am_dmarc_policy)p), d->policies[p]);
			first = false;
		}
	am_buf_adds(b, "</p>\n");
}

static void
regions(const struct am_rdomain *d, struct am_buf *b)
{
	size_t i;

	if (d->nregions == 0)
		return;
	am_buf_adds(b, "<p>SES regions:</p><ul class=\"regions\">\n");
	for (i = 0; i < d->nregions; i++) {
		am_buf_adds(b, "<li data-region=\"");
		am_buf_add_markup(b, d->regions[i].name);
		am_buf_printf(b, "\" data-count=\"%lu\">", d->regions[i].n);
		am_buf_add_markup(b, d->regions[i].name);
		am_buf_printf(b, ": %lu</li>\n", d->regions[i].n);
	}
	am_buf_adds(b, "</ul>\n");
}

/* The fix's zone-file lines, one per line, escaped, in a block to copy whole. */
static void
zone_block(struct am_buf *b, const char *records)
{
	if (records == NULL || records[0] == '\0')
		return;
	am_buf_adds(b, "<pre class=\"zone\">");
	am_buf_add_markup(b, records);
	am_buf_adds(b, "</pre>");
}

static void
hints(const struct am_rdomain *d, struct am_buf *b)
{
	enum am_hint order[AM_HINT_COUNT];
	size_t i, n = am_rdomain_hints(d, order);

	if (n == 0) {
		am_buf_adds(b, "<p class=\"muted\">No hints.</p>\n");
		return;
	}
	am_buf_adds(b, "<table class=\"hints\">\n<tr><th>hint</th><th>messages</th><th>fix</th></tr>\n");
	for (i = 0; i < n; i++) {
		am_buf_printf(b, "<tr data-hint=\"%s\" data-count=\"%lu\"><td>%s</td><td class=\"n\">%lu</td>"
		    "<td class=\"fix\">", am_hint_name(order[i]), d->hints[order[i]], am_hint_name(order[i]),
		    d->hints[order[i]]);
		am_buf_add_markup(b, d->fix[order[i]] ? d->fix[order[i]] : "");
		zone_block(b, d->records[order[i]]);
		am_buf_adds(b, "</td></tr>\n");
	}
	am_buf_adds(b, "</table>\n");
}

static void
domain(const struct am_rdomain *d, struct am_buf *b)
{
	am_buf_adds(b, "<section class=\"domain\" data-domain=\"");
	am_buf_add_markup(b, d->domain);
	am_buf_printf(b, "\" data-messages=\"%lu\">\n<h2>", d->messages);
	am_buf_add_markup(b, d->domain[0] ? d->domain : "(no From domain)");
	am_buf_printf(b, " <span class=\"muted\">%lu message%s</span></h2>\n", d->messages,
	    d->messages == 1 ? "" : "s");
	am_buf_adds(b, "<table class=\"metrics\">\n<tr><th>check</th><th>messages</th><th>share</th>"
	    "<th></th></tr>\n");
	metric(b, "spf_pass", "SPF pass", d->spf_pass, d->messages);
	metric(b, "spf_aligned", "SPF aligned", d->spf_aligned, d->messages);
	metric(b, "spf_aligned_pass", "SPF aligned and passed", d->spf_aligned_pass, d->messages);
	metric(b, "dkim_pass", "DKIM pass", d->dkim_pass, d->messages);
	metric(b, "dkim_aligned", "DKIM aligned", d->dkim_aligned, d->messages);
	metric(b, "dkim_aligned_pass", "DKIM aligned and passed", d->dkim_aligned_pass, d->messages);
	metric(b, "dmarc_pass", "DMARC pass", d->dmarc_pass, d->messages);
	metric(b, "ses", "via Amazon SES", d->ses, d->messages);
	am_buf_adds(b, "</table>\n");
	policy(d, b);
	regions(d, b);
	hints(d, b);
	am_buf_adds(b, "</section>\n");
}

static void
utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void
am_report_html(const struct am_report *r, struct am_buf *b)
{
	const struct am_rdomain **v = am_report_sorted(r);
	char from[32] = "", to[32] = "";
	time_t first = 0, last = 0;
	size_t i;

	for (i = 0; i < r->count; i++) {
		if (i == 0 || v[i]->first < first)
			first = v[i]->first;
		if (i == 0 || v[i]->last > last)
			last = v[i]->last;
	}
	if (r->count) {
		utc(first, from, sizeof(from));
		utc(last, to, sizeof(to));
	}
	am_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<title>alignmilter alignment report</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<h1>Alignment report</h1>\n", am_report_html_style);
	am_buf_printf(b, "<p id=\"summary\" data-messages=\"%lu\" data-domains=\"%zu\">%lu message%s "
	    "from %zu From domain%s", r->messages, r->count, r->messages, r->messages == 1 ? "" : "s",
	    r->count, r->count == 1 ? "" : "s");
	if (r->count)
		am_buf_printf(b, ", %s to %s", from, to);
	am_buf_adds(b, ".</p>\n");
	for (i = 0; i < r->count; i++)
		domain(v[i], b);
	am_buf_adds(b, "</body>\n</html>\n");
	free(v);
}
