/*
 * report-html.h - alignmilter-report's one-page HTML rendering.
 *
 * Owns: the page: self-contained (inline CSS and inline SVG bars, no
 * scripts, fonts, images or links to anything outside), one section and
 * table per From domain, and every figure also in data-* attributes so a
 * program can read it back from the DOM:
 *   section.domain[data-domain][data-messages]
 *   tr[data-metric="spf_pass"|...][data-count][data-total]
 *   tr[data-hint][data-count], li[data-region][data-count],
 *   p.policy[data-policy], #summary[data-messages][data-domains].
 * A hint's fix is its words, then its zone-file lines (HTML-escaped) in a
 * pre.zone block, one record per line, to copy as they are.
 *
 * Errors: none: rendering cannot fail and logs nothing.  Out of memory
 * aborts (am_buf).
 *
 * Threads: any; a pure function into the caller's buffer.
 */
#ifndef AM_REPORT_HTML_H
#define AM_REPORT_HTML_H

#include "report.h"
#include "util/util.h"

void	am_report_html(const struct am_report *, struct am_buf *out);
/* The pages' style sheet, shared with report-enforce-html.c so they look alike. */
extern const char am_report_html_style[];

#endif
