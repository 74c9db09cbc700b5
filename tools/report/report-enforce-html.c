/*
 * report-enforce-html.c - alignmilter-report --enforce --html: the paged
 * HTML (report-enforce.h says how the family fails and who may call it).
 *
 * Owns: the pages.  Each holds --page-size domains (not ready first, as
 * everywhere), an index table of them linking to their sections, and
 * links to the other pages (first, last and the few around it, so a page
 * stays small with thousands of domains); each domain shows at most
 * --sources sources besides those that block.  So a page's size is
 * bounded by the options, not by the logs.  Self-contained like the
 * figures page (report-html.c's style, no scripts, nothing loaded from
 * elsewhere); everything from the log is escaped.  Every figure is also
 * in data- attributes for programs:
 *   #summary[data-domains][data-page][data-pages][data-from][data-to]
 *   tr.index[data-domain][data-state]
 *   section.enforce[data-domain][data-state][data-messages][data-pass]
 *     [data-fail][data-unknown][data-days][data-next]
 *   tr.source[data-source][data-messages][data-fail][data-blocks][data-hint]
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Policy and renderers. */
#include "policy/ses.h"

/* Application-specific. */
#include "report-enforce.h"
#include "report-html.h"
#include "reportfile.h"

#define NAV_AROUND	3		/* page links either side of the current one */
#define STALE_MAX	100000		/* stale pages looked for after the last */

static const char style[] =
	"td.state,p.verdict{font-weight:bold}"
	".not-ready{color:#c0392b}.not-enough-data{color:#d68910}.ready{color:#3a7d44}"
	".enforcing{color:#5d6d7e}nav.pages{margin:1em 0}nav.pages a,nav.pages b{margin-right:.5em}"
	"tr.blocks{background:#fbe3e0}";

/* Page n (0-based) of the set named after base: base, base-2.html, ... */
static void
page_name(const char *base, size_t n, char *out, size_t len)
{
	size_t bl = strlen(base);
	const char *ext = "";

	if (n == 0) {
		snprintf(out, len, "%s", base);
		return;
	}
	if (bl >= 5 && strcmp(base + bl - 5, ".html") == 0)
		ext = ".html";
	else if (bl >= 4 && strcmp(base + bl - 4, ".htm") == 0)
		ext = ".htm";
	snprintf(out, len, "%.*s-%zu%s", (int)(bl - strlen(ext)), base, n + 1, ext);
}

static void
page_link(struct am_buf *b, const char *base, size_t n, size_t current)
{
	char name[4096];

	if (n == current) {
		am_buf_printf(b, "<b>%zu</b>", n + 1);
		return;
	}
	page_name(base, n, name, sizeof(name));
	am_buf_adds(b, "<a href=\"");
	am_buf_add_markup(b, name);
	am_buf_printf(b, "\">%zu</a>", n + 1);
}

static void
nav(struct am_buf *b, const char *base, size_t page, size_t npages)
{
	size_t n;
	bool gap = false;

	if (npages < 2)
		return;
	am_buf_printf(b, "<nav class=\"pages\">Page %zu of %zu: ", page + 1, npages);
	for (n = 0; n < npages; n++) {
		if (n == 0 || n + 1 == npages || (n + NAV_AROUND >= page && n <= page + NAV_AROUND)) {
			page_link(b, base, n, page);
			gap = false;
		} else if (!gap) {
			am_buf_adds(b, "<span>&hellip;</span> ");
			gap = true;
		}
	}
	am_buf_adds(b, "</nav>\n");
}

static void
domain_name(struct am_buf *b, const struct am_edomain *d)
{
	am_buf_add_markup(b, d->domain[0] ? d->domain : "(no From domain)");
}

static void
index_table(struct am_buf *b, const am_enforce *e, size_t lo, size_t hi)
{
	size_t i;

	am_buf_adds(b, "<table class=\"index\">\n<tr><th>domain</th><th>verdict</th><th>messages</th></tr>\n");
	for (i = lo; i < hi; i++) {
		const struct am_edomain *d = e->sorted[i];
		const char *st = am_enforce_state_name(d->state);

		am_buf_adds(b, "<tr class=\"index\" data-domain=\"");
		am_buf_add_markup(b, d->domain);
		am_buf_printf(b, "\" data-state=\"%s\"><td><a href=\"#d%zu\">", st, i);
		domain_name(b, d);
		am_buf_printf(b, "</a></td><td class=\"state %s\">", st);
		am_buf_add_markup(b, d->verdict);
		am_buf_printf(b, "</td><td class=\"n\">%lu</td></tr>\n", d->total);
	}
	am_buf_adds(b, "</table>\n");
}

static void
source_row(struct am_buf *b, const struct am_edomain *d, const struct am_esource *s)
{
	am_buf_printf(b, "<tr class=\"source%s\" data-source=\"", s->blocks ? " blocks" : "");
	am_buf_add_markup(b, s->label);
	am_buf_printf(b, "\" data-messages=\"%lu\" data-pass=\"%lu\" data-fail=\"%lu\" data-blocks=\"%s\" "
	    "data-hint=\"%s\"><td>", s->total, s->pass, s->fail, s->blocks ? "yes" : "no",
	    s->has_hint ? am_hint_name(s->hint) : "");
	am_buf_add_markup(b, s->label);
	am_buf_printf(b, "</td><td class=\"pct\">%.1f%% (%lu)</td><td class=\"pct\">%.1f%% (%lu)</td>"
	    "<td class=\"fix\">", am_enforce_pct_up(s->total, d->total), s->total,
	    am_enforce_pct_up(s->fail, s->pass + s->fail), s->fail);
	if (s->has_hint) {
		am_buf_printf(b, "<b>%s</b>: ", am_hint_name(s->hint));
		am_buf_add_markup(b, s->fix[s->hint] ? s->fix[s->hint] : "");
		if (s->records[s->hint] != NULL && s->records[s->hint][0] != '\0') {
			am_buf_adds(b, "<pre class=\"zone\">");
			am_buf_add_markup(b, s->records[s->hint]);
			am_buf_adds(b, "</pre>");
		}
	}
	am_buf_adds(b, "</td></tr>\n");
}

static void
section(struct am_buf *b, const am_enforce *e, const struct am_edomain *d, size_t id)
{
	const char *st = am_enforce_state_name(d->state);
	unsigned long more = 0, more_msgs = 0;
	size_t i;

	am_buf_printf(b, "<section class=\"enforce\" id=\"d%zu\" data-domain=\"", id);
	am_buf_add_markup(b, d->domain);
	am_buf_printf(b, "\" data-state=\"%s\" data-messages=\"%lu\" data-pass=\"%lu\" data-fail=\"%lu\" "
	    "data-unknown=\"%lu\" data-days=\"%u\" data-next=\"%s\">\n<h2>", st, d->total, d->pass, d->fail,
	    d->unknown, d->days, d->next == AM_POLICY_UNSPEC ? "" : am_dmarc_policy_name(d->next));
	domain_name(b, d);
	am_buf_printf(b, "</h2>\n<p class=\"verdict %s\" data-state=\"%s\">", st, st);
	am_buf_add_markup(b, d->verdict);
	am_buf_printf(b, "</p>\n<p>Policy %s", d->policy == AM_POLICY_UNSPEC ? "none (no DMARC record)" :
	    am_dmarc_policy_name(d->policy));
	if (d->policy != AM_POLICY_UNSPEC)
		am_buf_printf(b, " (%s=%s)", am_dmarc_policy_tag_name(d->tag), d->testing ? ", t=y" : "");
	am_buf_printf(b, "; %lu message%s over %u day%s: %lu pass, %lu fail, %lu unknown "
	    "(temperror, permerror).</p>\n", d->total, d->total == 1 ? "" : "s", d->days,
	    d->days == 1 ? "" : "s", d->pass, d->fail, d->unknown);
	am_buf_adds(b, "<table class=\"sources\">\n<tr><th>source</th><th>of the mail</th><th>fails</th>"
	    "<th>most frequent hint and its fix</th></tr>\n");
	for (i = 0; i < d->nactive; i++) {
		const struct am_esource *s = &d->sources[d->order[i]];

		if (i < e->o.sources || s->blocks) {
			source_row(b, d, s);
		} else {
			more++;
			more_msgs += s->total;
		}
	}
	am_buf_adds(b, "</table>\n");
	if (more)
		am_buf_printf(b, "<p class=\"muted more\" data-sources=\"%lu\">and %lu more source%s: %lu "
		    "message%s</p>\n", more, more, more == 1 ? "" : "s", more_msgs, more_msgs == 1 ? "" : "s");
	am_buf_adds(b, "</section>\n");
}

void
am_enforce_html_page(const am_enforce *e, size_t page, size_t npages, size_t per_page,
    const char *base, struct am_buf *b)
{
	size_t lo = page * per_page, hi = lo + per_page, i;
	char from[16], to[16];

	if (lo > e->nsorted)
		lo = e->nsorted;
	if (hi > e->nsorted)
		hi = e->nsorted;
	am_enforce_date(e->start_day, from);
	am_enforce_date(e->end_day, to);
	am_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<title>Is it safe to enforce? Page %zu of %zu</title>\n<style>%s%s</style>\n</head>\n<body>\n"
	    "<h1>Is it safe to enforce?</h1>\n", page + 1, npages, am_report_html_style, style);
	am_buf_printf(b, "<p id=\"summary\" data-domains=\"%zu\" data-page=\"%zu\" data-pages=\"%zu\" "
	    "data-from=\"%s\" data-to=\"%s\">%zu From domain%s, %s to %s: not ready %lu, not enough data "
	    "%lu, ready %lu, enforcing %lu.  Ready: at least %g%% pass over at least %u day%s of mail, "
	    "and no source of at least %g%% of the mail failing more than %g%%.</p>\n", e->nsorted, page + 1,
	    npages, from, to, e->nsorted, e->nsorted == 1 ? "" : "s", from, to,
	    e->states[AM_ENF_NOT_READY], e->states[AM_ENF_NO_DATA], e->states[AM_ENF_READY],
	    e->states[AM_ENF_ENFORCING], e->o.ready_pass, e->o.ready_days, e->o.ready_days == 1 ? "" : "s",
	    e->o.ready_source, 100.0 - e->o.ready_pass);
	nav(b, base, page, npages);
	index_table(b, e, lo, hi);
	for (i = lo; i < hi; i++)
		section(b, e, e->sorted[i], i);
	nav(b, base, page, npages);
	am_buf_adds(b, "</body>\n</html>\n");
}

/* Pages past the last of an earlier, longer run would be stale: remove them. */
static void
remove_stale(const char *path, size_t npages)
{
	char name[4096];
	size_t n;

	for (n = npages; n < npages + STALE_MAX; n++) {
		page_name(path, n, name, sizeof(name));
		if (unlink(name) != 0)
			break;
	}
}

bool
am_enforce_html_write(const am_enforce *e, const char *path, unsigned *pages, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t per = e->o.page_size, npages, n;
	char name[4096];
	struct am_buf b;
	bool ok = true;

	am_buf_init(&b);
	if (strcmp(path, "-") == 0) {
		am_enforce_html_page(e, 0, 1, e->nsorted, base, &b);
		if ((b.len > 0 && fwrite(b.data, 1, b.len, stdout) != b.len) || fflush(stdout) != 0) {
			snprintf(err, errlen, "standard output: %s", strerror(errno));
			ok = false;
		}
		*pages = 1;
		am_buf_free(&b);
		return ok;
	}
	if (strlen(path) + 24 >= sizeof(name)) {
		snprintf(err, errlen, "%.64s...: name too long", path);
		am_buf_free(&b);
		return false;
	}
	npages = e->nsorted == 0 ? 1 : (e->nsorted + per - 1) / per;
	for (n = 0; n < npages && ok; n++) {
		am_buf_reset(&b);
		am_enforce_html_page(e, n, npages, per, base, &b);
		page_name(path, n, name, sizeof(name));
		ok = am_reportfile_write(name, b.data, b.len, err, errlen);
	}
	if (ok)
		remove_stale(path, npages);
	*pages = (unsigned)n;
	am_buf_free(&b);
	return ok;
}
